/* SPDX-License-Identifier: MIT */
/* stdlib.c - the heap's C face, numbers from strings, sorting, error
 * messages. */
#include <errno.h>
#include <stdbool.h>

#include "guest.h"
#include "heap.h"

void *aligned_alloc(size_t align, size_t size)
{
	return heap_alloc(align, size);
}

void *malloc(size_t size)
{
	return heap_alloc(16, size ? size : 1);
}

void *calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > (size_t)-1 / size)
		return NULL;
	if ((p = malloc(n * size)))
		memset(p, 0, n * size);
	return p;
}

void free(void *p)
{
	if (p)
		heap_free(p);
}

void *realloc(void *p, size_t size)
{
	void *q;

	if (!p)
		return malloc(size);
	size_t have = heap_usable(p);
	if (size <= have)
		return p;
	if ((q = malloc(size))) {
		memcpy(q, p, have);
		free(p);
	}
	return q;
}

char *getenv(const char *name)
{
	(void)name;
	return NULL;
}

unsigned long strtoul(const char *s, char **end, int base)
{
	unsigned long v = 0;
	bool neg = false, any = false;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	} else if (base == 0)
		base = s[0] == '0' ? 8 : 10;
	for (;; s++, any = true) {
		int d = *s >= '0' && *s <= '9'   ? *s - '0'
			: *s >= 'a' && *s <= 'z' ? *s - 'a' + 10
			: *s >= 'A' && *s <= 'Z' ? *s - 'A' + 10
						 : 99;
		if (d >= base)
			break;
		v = v * (unsigned long)base + (unsigned long)d;
	}
	if (end)
		*end = (char *)s;
	(void)any;
	return neg ? 0ul - v : v;
}

long atol(const char *s)
{
	return (long)strtoul(s, NULL, 10);
}

int atoi(const char *s)
{
	return (int)atol(s);
}

static void swap(char *a, char *b, size_t size)
{
	while (size--) {
		char t = *a;
		*a++ = *b;
		*b++ = t;
	}
}

/* Heap sort: n log n at worst, no recursion, no memory. */
static void sift(char *base, size_t at, size_t n, size_t size,
		 int (*cmp)(const void *, const void *))
{
	for (size_t child; (child = 2 * at + 1) < n; at = child) {
		if (child + 1 < n && cmp(base + child * size, base + (child + 1) * size) < 0)
			child++;
		if (cmp(base + at * size, base + child * size) >= 0)
			return;
		swap(base + at * size, base + child * size, size);
	}
}

void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	char *b = base;

	for (size_t i = n / 2; i-- > 0;)
		sift(b, i, n, size, cmp);
	for (size_t end = n; end > 1; end--) {
		swap(b, b + (end - 1) * size, size);
		sift(b, 0, end - 1, size, cmp);
	}
}

static const struct {
	int err;
	const char *msg;
} messages[] = {
	{ EPERM, "Operation not permitted" },
	{ ENOENT, "No such file or directory" },
	{ ESRCH, "No such process" },
	{ EIO, "Input/output error" },
	{ E2BIG, "Argument list too long" },
	{ EBADF, "Bad file descriptor" },
	{ EAGAIN, "Resource temporarily unavailable" },
	{ ENOMEM, "Cannot allocate memory" },
	{ EACCES, "Permission denied" },
	{ EBUSY, "Device or resource busy" },
	{ EEXIST, "File exists" },
	{ ENODEV, "No such device" },
	{ EISDIR, "Is a directory" },
	{ EINVAL, "Invalid argument" },
	{ ENOSPC, "No space left on device" },
	{ EROFS, "Read-only file system" },
	{ EPIPE, "Broken pipe" },
	{ ENOSYS, "Function not implemented" },
	{ ENOTEMPTY, "Directory not empty" },
	{ EPROTO, "Protocol error" },
	{ EMSGSIZE, "Message too long" },
	{ EPROTOTYPE, "Protocol wrong type for socket" },
	{ EPROTONOSUPPORT, "Protocol not supported" },
	{ ECONNABORTED, "Software caused connection abort" },
	{ ECONNRESET, "Connection reset by peer" },
	{ EISCONN, "Transport endpoint is already connected" },
	{ ETIMEDOUT, "Connection timed out" },
	{ ECONNREFUSED, "Connection refused" },
	{ EHOSTDOWN, "Host is down" },
	{ EALREADY, "Operation already in progress" },
	{ EDQUOT, "Disk quota exceeded" },
};

char *strerror(int err)
{
	static char unknown[32];

	for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++)
		if (messages[i].err == err)
			return (char *)messages[i].msg;
	snprintf(unknown, sizeof unknown, "Unknown error %d", err);
	return unknown;
}
