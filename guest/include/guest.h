/* SPDX-License-Identifier: MIT */
/*
 * guest.h - what a libIVC guest program (a PVH unikernel on Xen) gets
 * from the runtime besides ivc.h: its console and its exit. The program
 * defines `int main(void)`; its return value is its exit code.
 */
#ifndef IVC_GUEST_H
#define IVC_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* printf-style output on the Xen console: %d %i %u %x %X %o %c %s %p %%,
 * with l/ll/z, width, '-' and '0'. Returns the bytes written. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int puts(const char *s);

/* XenStore: a relative path is under /local/domain/<this domain>. 0 or
 * a negative errno (errno.h): XenStore's, -ENOSYS without a store. */
int xs_read(const char *path, char *buf, size_t cap);
int xs_write(const char *path, const char *value);

/* Ends the guest: SCHEDOP_shutdown, poweroff for 0, crash otherwise,
 * after "guest: exit CODE" on the console and CODE in XenStore as
 * data/exit-code, where dom0 reads it. */
__attribute__((noreturn)) void exit(int code);

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

#endif
