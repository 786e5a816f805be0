/* SPDX-License-Identifier: MIT */
/* stdlib.h - the guest's heap (mem.c) and its way out (start.c). */
#ifndef IVC_GUEST_STDLIB_H
#define IVC_GUEST_STDLIB_H

#include <stddef.h>

/* One heap over the RAM Xen gave the domain past the image: first fit,
 * 16-byte alignment, neighbours merged when freed. */
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);
/* align: a power of two, at least 16. */
void *aligned_alloc(size_t align, size_t size);

/* Decimal (strtoul: base 0, 8, 10 or 16 as C says); no errno here. */
long atol(const char *s);
int atoi(const char *s);
unsigned long strtoul(const char *s, char **end, int base);

/* In place, not stable. */
void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* A guest has no environment: always NULL. */
char *getenv(const char *name);

/* Ends the guest: SCHEDOP_shutdown, poweroff for 0, crash otherwise,
 * after "guest: exit CODE" on the console and CODE in XenStore as
 * data/exit-code, where dom0 reads it. Channels still open are closed
 * as a dying Linux process's are (their peers see this side down). */
__attribute__((noreturn)) void exit(int code);

#endif
