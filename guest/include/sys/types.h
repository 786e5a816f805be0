/* SPDX-License-Identifier: MIT */
/* sys/types.h - what ivc.h needs of it in a guest. */
#ifndef IVC_GUEST_SYS_TYPES_H
#define IVC_GUEST_SYS_TYPES_H

#include <stddef.h>

typedef long ssize_t;

#endif
