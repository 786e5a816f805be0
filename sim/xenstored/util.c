/* Allocation helpers, a byte buffer and a string-keyed hash map. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsd.h"

static void *xsd_check(void *p)
{
	/* A store daemon that half-applies a change is worse than one that stops. */
	if (!p) {
		fputs("ivc-xenstored: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xsd_malloc(size_t n)
{
	return xsd_check(malloc(n ? n : 1));
}

void *xsd_calloc(size_t n, size_t sz)
{
	return xsd_check(calloc(n ? n : 1, sz ? sz : 1));
}

void *xsd_realloc(void *p, size_t n)
{
	return xsd_check(realloc(p, n ? n : 1));
}

char *xsd_strdup(const char *s)
{
	return xsd_memdup(s, strlen(s) + 1);
}

char *xsd_memdup(const void *p, size_t n)
{
	char *r = xsd_malloc(n + 1);

	if (n)
		memcpy(r, p, n);
	r[n] = '\0';
	return r;
}

char *xsd_printf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *r, probe[1];

	va_start(ap, fmt);
	n = vsnprintf(probe, sizeof(probe), fmt, ap);
	va_end(ap);
	r = xsd_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(r, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return r;
}

void xsd_buf_add(struct xsd_buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < b->len + n)
			cap *= 2;
		b->p = xsd_realloc(b->p, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

void xsd_buf_addstr(struct xsd_buf *b, const char *s)
{
	xsd_buf_add(b, s, strlen(s) + 1);
}

void xsd_buf_free(struct xsd_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static size_t xsd_hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static struct xsd_entry **xsd_map_slot(const struct xsd_map *m, const char *key)
{
	struct xsd_entry **e;

	if (!m->nslots)
		return NULL;
	for (e = &m->slots[xsd_hash(key) & (m->nslots - 1)]; *e; e = &(*e)->next)
		if (!strcmp((*e)->key, key))
			return e;
	return e;
}

void *xsd_map_get(const struct xsd_map *m, const char *key)
{
	struct xsd_entry **e = xsd_map_slot(m, key);

	return e && *e ? (*e)->val : NULL;
}

bool xsd_map_has(const struct xsd_map *m, const char *key)
{
	struct xsd_entry **e = xsd_map_slot(m, key);

	return e && *e;
}

static void xsd_map_grow(struct xsd_map *m)
{
	size_t n = m->nslots ? m->nslots * 2 : 64, i;
	struct xsd_entry **slots = xsd_calloc(n, sizeof(*slots));

	for (i = 0; i < m->nslots; i++) {
		struct xsd_entry *e = m->slots[i], *next;

		for (; e; e = next) {
			size_t s = xsd_hash(e->key) & (n - 1);

			next = e->next;
			e->next = slots[s];
			slots[s] = e;
		}
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
}

void *xsd_map_put(struct xsd_map *m, const char *key, void *val)
{
	struct xsd_entry **e, *n;
	void *old;

	if (m->count >= m->nslots)
		xsd_map_grow(m);
	e = xsd_map_slot(m, key);
	if (*e) {
		old = (*e)->val;
		(*e)->val = val;
		return old;
	}
	n = xsd_malloc(sizeof(*n));
	n->key = xsd_strdup(key);
	n->val = val;
	n->next = NULL;
	*e = n;
	m->count++;
	return NULL;
}

void *xsd_map_del(struct xsd_map *m, const char *key)
{
	struct xsd_entry **e = xsd_map_slot(m, key), *n;
	void *val;

	if (!e || !*e)
		return NULL;
	n = *e;
	*e = n->next;
	val = n->val;
	free(n->key);
	free(n);
	m->count--;
	return val;
}

void xsd_map_clear(struct xsd_map *m, void (*fn)(void *))
{
	size_t i;

	for (i = 0; i < m->nslots; i++) {
		struct xsd_entry *e = m->slots[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (fn)
				fn(e->val);
			free(e->key);
			free(e);
		}
	}
	free(m->slots);
	m->slots = NULL;
	m->nslots = m->count = 0;
}

const char **xsd_map_keys(const struct xsd_map *m, size_t *n)
{
	const char **keys = xsd_calloc(m->count, sizeof(*keys));
	size_t i, k = 0;

	for (i = 0; i < m->nslots; i++) {
		struct xsd_entry *e;

		for (e = m->slots[i]; e; e = e->next)
			keys[k++] = e->key;
	}
	*n = k;
	return keys;
}
