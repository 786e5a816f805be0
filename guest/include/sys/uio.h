/* SPDX-License-Identifier: MIT */
/* sys/uio.h - struct iovec for ivc_sendv in a guest (Linux's layout). */
#ifndef IVC_GUEST_SYS_UIO_H
#define IVC_GUEST_SYS_UIO_H

#include <stddef.h>

struct iovec {
	void *iov_base;
	size_t iov_len;
};

#endif
