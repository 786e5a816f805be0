/* SPDX-License-Identifier: MIT */
/* errno.h - the error numbers guests use, with Linux's values (libIVC
 * returns them negated, on every platform alike). */
#ifndef IVC_GUEST_ERRNO_H
#define IVC_GUEST_ERRNO_H

#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EIO 5
#define E2BIG 7
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EISDIR 21
#define EINVAL 22
#define ENOSPC 28
#define EROFS 30
#define EPIPE 32
#define ENOSYS 38
#define ENOTEMPTY 39
#define EPROTO 71
#define EMSGSIZE 90
#define EPROTOTYPE 91
#define EPROTONOSUPPORT 93
#define ECONNABORTED 103
#define ECONNRESET 104
#define EISCONN 106
#define ETIMEDOUT 110
#define ECONNREFUSED 111
#define EHOSTDOWN 112
#define EALREADY 114
#define EDQUOT 122

#endif
