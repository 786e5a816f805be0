/* SPDX-License-Identifier: MIT */
/* string.h - the string functions of the guest (string.c). */
#ifndef IVC_GUEST_STRING_H
#define IVC_GUEST_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
size_t strcspn(const char *s, const char *reject);
void *memchr(const void *s, int c, size_t n);
/* The message of an errno.h number, as glibc words it. */
char *strerror(int err);

#endif
