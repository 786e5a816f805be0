/* SPDX-License-Identifier: MIT */
/* stdio.h - the guest's formatted output (printf.c), on the Xen console. */
#ifndef IVC_GUEST_STDIO_H
#define IVC_GUEST_STDIO_H

#include <stdarg.h>
#include <stddef.h>

/* %d %i %u %x %X %o %c %s %p %%, with l/ll/z, width, '-' and '0'.
 * printf writes at most 511 bytes per call and returns the full length. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int puts(const char *s);

/* Both streams are the console, unbuffered: fflush has nothing to do. */
typedef struct guest_file FILE;
extern FILE *const stdout, *const stderr;
int fprintf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vfprintf(FILE *f, const char *fmt, va_list ap);
int fputs(const char *s, FILE *f);
int fflush(FILE *f);

#endif
