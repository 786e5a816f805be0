/* SPDX-License-Identifier: MIT */
/*
 * guest.h - what a libIVC guest program (a PVH unikernel on Xen) gets
 * from the runtime besides ivc.h: the C subset (stdio.h, stdlib.h,
 * string.h), its command line, a clock, XenStore and its exit. The
 * program defines `int main(int argc, char **argv)` (argv[0] "guest",
 * then the words of the domain's `cmdline`) or `int main(void)`; its
 * return value is its exit code.
 */
#ifndef IVC_GUEST_H
#define IVC_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The `cmdline` of the domain's configuration ("" if none). */
const char *guest_cmdline(void);

/* The value of `key=value` among the command line's words, copied into
 * buf (cut to fit): 0, or -ENOENT. */
int guest_arg(const char *key, char *buf, size_t cap);

/* Xen's system time: nanoseconds since the domain's host booted. */
uint64_t guest_now_ns(void);

/* Blocks the domain (SCHEDOP_poll on Xen's timer) for ms milliseconds.
 * Channels are not served meanwhile: to wait for them, ivc_wait. */
void guest_sleep_ms(unsigned ms);

/* XenStore: a relative path is under /local/domain/<this domain>. 0 or
 * a negative errno (errno.h): XenStore's, -ENOSYS without a store. */
int xs_read(const char *path, char *buf, size_t cap);
int xs_write(const char *path, const char *value);

#endif
