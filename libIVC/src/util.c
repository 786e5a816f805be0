/* SPDX-License-Identifier: MIT */
/* util.c - time, names and directions. */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* The platform's monotonic clock, in milliseconds. */
int64_t ivc__now_ms(const struct ivc_ctx *ctx)
{
	return ctx->ops->now_ns() / 1000000;
}

/* Milliseconds left before deadline (-1: forever). */
int ivc__left_ms(const struct ivc_ctx *ctx, int64_t deadline)
{
	int64_t l;

	if (deadline < 0)
		return -1;
	l = deadline - ivc__now_ms(ctx);
	return l < 0 ? 0 : l > 1000000000 ? 1000000000 : (int)l;
}

int64_t ivc__deadline_of(const struct ivc_ctx *ctx, int timeout_ms)
{
	return timeout_ms < 0 ? -1 : ivc__now_ms(ctx) + timeout_ms;
}

bool ivc__name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Service names become XenStore path elements, where '.' is refused. */
bool ivc__service_ok(const char *s)
{
	return ivc__name_ok(s) && !strchr(s, '.');
}

bool ivc__type_ok(const struct ivc_type *t)
{
	return t && ivc__name_ok(t->name) && (t->mode == IVC_MESSAGE || t->mode == IVC_STREAM);
}

const char *ivc__dir_str(enum ivc_dir d)
{
	return d == IVC_IN ? "in" : d == IVC_OUT ? "out" : "inout";
}

int ivc__dir_parse(const char *s, enum ivc_dir *d)
{
	if (!strcmp(s, "in"))
		*d = IVC_IN;
	else if (!strcmp(s, "out"))
		*d = IVC_OUT;
	else if (!strcmp(s, "inout"))
		*d = IVC_INOUT;
	else
		return -EPROTO;
	return 0;
}

bool ivc__dirs_fit(enum ivc_dir listener, enum ivc_dir client)
{
	return (listener == IVC_IN && client == IVC_OUT) ||
	       (listener == IVC_OUT && client == IVC_IN) ||
	       (listener == IVC_INOUT && client == IVC_INOUT);
}

/* log2 of a power of two; 0 for anything else. */
uint32_t ivc__order_of(uint32_t bytes)
{
	uint32_t o = 0;

	while ((1u << o) < bytes && o < 31)
		o++;
	return (1u << o) == bytes ? o : 0;
}

/* A geometry a listener could have made (spec 9.5 item 2): each ring 0 or
 * a power of two the wire allows, present exactly where the listener's
 * direction says, max-msg as section 3 says. */
bool ivc__geometry_ok(const char *mode, enum ivc_dir ldir, const uint32_t ring[2],
		      const uint32_t max[2])
{
	struct ivc_core_params p = { .mode = strcmp(mode, "stream") ? IVC_WIRE_MODE_MESSAGE
								    : IVC_WIRE_MODE_STREAM };

	for (int r = 0; r < 2; r++) {
		p.order[r] = ivc__order_of(ring[r]);
		p.max_msg[r] = max[r];
		if ((ring[r] != 0) != (p.order[r] != 0))
			return false; /* not a power of two (or 1) */
	}
	return (ring[0] != 0) == ((ldir & IVC_OUT) != 0) &&
	       (ring[1] != 0) == ((ldir & IVC_IN) != 0) && ivc_core_params_check(&p) == 0;
}

/* Whether a client's connect record fits a service (spec 9.5 items 2-4,
 * 9.11.3 item 2): 0, -EPROTO (no listener makes that geometry),
 * -EPROTOTYPE, -EMSGSIZE. */
int ivc__svc_fit(const struct ivc_svc_rec *s, const struct ivc_connect_rec *c)
{
	enum ivc_dir ld, cd;

	if (ivc__dir_parse(s->t.dir, &ld) || !ivc__geometry_ok(s->t.mode, ld, s->ring, s->max))
		return -EPROTO;
	if (strcmp(s->t.type, c->t.type) || s->t.version != c->t.version ||
	    strcmp(s->t.mode, c->t.mode) || ivc__dir_parse(c->t.dir, &cd) || !ivc__dirs_fit(ld, cd))
		return -EPROTOTYPE;
	if ((c->min[0] && s->ring[0] < c->min[0]) || (c->min[1] && s->ring[1] < c->min[1]) ||
	    (c->min_msg && !strcmp(s->t.mode, "message") &&
	     ((cd & IVC_OUT && s->max[1] < c->min_msg) || (cd & IVC_IN && s->max[0] < c->min_msg))))
		return -EMSGSIZE;
	return 0;
}

uint32_t ivc__fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}
