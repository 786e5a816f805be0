/* SPDX-License-Identifier: MIT */
/* printf.c - a small formatter: %d %i %u %x %X %o %c %s %p %%, the l, ll
 * and z sizes, a width, '-' and '0'. */
#include <stdbool.h>

#include "guest.h"
#include "runtime.h"

struct out {
	char *buf;
	size_t size, n; /* n counts every byte, written or not */
};

static void put(struct out *o, char c)
{
	if (o->n + 1 < o->size)
		o->buf[o->n] = c;
	o->n++;
}

static void pad(struct out *o, char c, int w)
{
	while (w-- > 0)
		put(o, c);
}

/* A field: s (len bytes) padded to width on the left or the right. */
static void field(struct out *o, const char *s, int len, int width, bool left, char fill)
{
	if (!left)
		pad(o, fill, width - len);
	for (int i = 0; i < len; i++)
		put(o, s[i]);
	if (left)
		pad(o, ' ', width - len);
}

static int number(char *tmp, unsigned long long v, unsigned base, bool upper, bool neg)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char rev[24];
	int n = 0, k = 0;

	do
		rev[n++] = digits[v % base];
	while ((v /= base));
	if (neg)
		tmp[k++] = '-';
	while (n)
		tmp[k++] = rev[--n];
	return k;
}

/* The argument of a conversion of `size` (0 int, 1 long, 2 long long, 3
 * size_t), signed or not. */
static unsigned long long arg(va_list *ap, int size, bool sign, bool *neg)
{
	long long s;

	*neg = false;
	if (!sign)
		return size == 2                ? va_arg(*ap, unsigned long long)
		       : size == 1 || size == 3 ? va_arg(*ap, unsigned long)
						: va_arg(*ap, unsigned);
	s = size == 2 ? va_arg(*ap, long long) : size ? va_arg(*ap, long) : va_arg(*ap, int);
	*neg = s < 0;
	return *neg ? 0ull - (unsigned long long)s : (unsigned long long)s;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap0)
{
	struct out o = { buf, size, 0 };
	va_list ap;

	va_copy(ap, ap0);
	for (; *fmt; fmt++) {
		bool left = false, neg;
		char fill = ' ', tmp[32], c;
		int width = 0, sz = 0, len;
		const char *s;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++)
			*fmt == '-' ? (void)(left = true) : (void)(fill = '0');
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			sz = *fmt == 'z' ? 3 : sz + 1;
		switch ((c = *fmt)) {
		case 'd':
		case 'i':
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			unsigned long long v = arg(&ap, sz, c == 'd' || c == 'i', &neg);
			unsigned base = c == 'x' || c == 'X' ? 16 : c == 'o' ? 8 : 10;
			len = number(tmp, v, base, c == 'X', neg);
			field(&o, tmp, len, width, left, left ? ' ' : fill);
			break;
		}
		case 'p':
			tmp[0] = '0';
			tmp[1] = 'x';
			len = 2 + number(tmp + 2, (uintptr_t)va_arg(ap, void *), 16, false, false);
			field(&o, tmp, len, width, left, ' ');
			break;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			field(&o, tmp, 1, width, left, ' ');
			break;
		case 's':
			s = va_arg(ap, const char *);
			s = s ? s : "(null)";
			field(&o, s, (int)strlen(s), width, left, ' ');
			break;
		case '%':
			put(&o, '%');
			break;
		default: /* unknown: shown as it was written */
			put(&o, '%');
			if (!c)
				fmt--;
			else
				put(&o, c);
		}
	}
	va_end(ap);
	if (size)
		buf[o.n < size ? o.n : size - 1] = 0;
	return (int)o.n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

struct guest_file {
	int unused;
};
static struct guest_file console_file;
FILE *const stdout = &console_file, *const stderr = &console_file;

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof buf, fmt, ap);

	(void)f;
	console_write(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
	return n;
}

int fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}

int fputs(const char *s, FILE *f)
{
	(void)f;
	console_write(s, strlen(s));
	return 0;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(stdout, fmt, ap);
	va_end(ap);
	return n;
}

int puts(const char *s)
{
	fputs(s, stdout);
	return fputs("\n", stdout);
}

int fflush(FILE *f)
{
	(void)f;
	return 0;
}
