/* SPDX-License-Identifier: MIT */
/*
 * parse.c - the parsers of everything read from XenStore (spec Appendix
 * B): numbers, nonces, request ids, request values, ring-ref lists. Each
 * takes the whole string and accepts exactly the grammar, nothing else;
 * tests/fuzz-parse.c checks that whatever they accept prints back to the
 * very same string.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* The one parser for numbers read from XenStore (spec, Appendix B):
 * decimal digits only, no sign, no spaces, no leading zero unless the
 * number is 0, the whole string, at most `max`. 0, or -EPROTO. */
int ivc__parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	if (!s || !*s || (s[0] == '0' && s[1]))
		return -EPROTO;
	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(s[n] - '0');
	}
	if (v > max)
		return -EPROTO;
	*out = (uint32_t)v;
	return 0;
}

/* A nonce (Appendix B): 1 to 16 lowercase hexadecimal digits, no leading
 * zero unless it is 0, the whole string. */
bool ivc__nonce_ok(const char *s)
{
	size_t n = 0;

	if (!s || !*s || (s[0] == '0' && s[1]))
		return false;
	for (; s[n]; n++)
		if (n >= 16 || !((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return true;
}

/* A request id (Appendix B): "<domid>-<nonce>"; the domain id, or -EPROTO. */
int ivc__parse_id(const char *id, uint32_t *client)
{
	char dom[8];
	size_t n = strcspn(id, "-");

	if (n == 0 || n >= sizeof dom || id[n] != '-' || !ivc__nonce_ok(id + n + 1))
		return -EPROTO;
	memcpy(dom, id, n);
	dom[n] = 0;
	return ivc__parse_u32(dom, IVC_DOMID_MAX, client);
}

/* One "<key>=<value>" field, then a single space or the end of the
 * string: its value copied (at most cap - 1 bytes, else -EPROTO). */
static const char *field(const char *s, const char *key, char *val, size_t cap)
{
	size_t k = strlen(key), n;

	if (!s || strncmp(s, key, k) || s[k] != '=')
		return NULL;
	s += k + 1;
	n = strcspn(s, " ");
	if (n == 0 || n >= cap)
		return NULL;
	memcpy(val, s, n);
	val[n] = 0;
	s += n;
	return *s == ' ' && s[1] ? s + 1 : *s ? NULL : s;
}

/* Exactly "type=<name> version=<n> mode=<m> dir=<d>" (spec 9.3 item 4),
 * the version a number as Appendix B says. */
int ivc__parse_request(const char *s, struct ivc_request *rq)
{
	char version[16];

	s = field(s, "type", rq->type, sizeof rq->type);
	s = field(s, "version", version, sizeof version);
	s = field(s, "mode", rq->mode, sizeof rq->mode);
	s = field(s, "dir", rq->dir, sizeof rq->dir);
	if (!s || *s || !ivc__name_ok(rq->type))
		return -EPROTO;
	return ivc__parse_u32(version, UINT32_MAX, &rq->version);
}

/* "r0,r1,...": 1 to IVC_WIRE_MAX_CTRL_PAGES decimal references. */
int ivc__parse_refs(const char *s, uint32_t *refs, uint32_t *n)
{
	char num[12];

	for (*n = 0;; s += strlen(num) + 1) {
		size_t len = strcspn(s, ",");
		if (*n == IVC_WIRE_MAX_CTRL_PAGES || len >= sizeof num)
			return -EPROTO;
		memcpy(num, s, len);
		num[len] = 0;
		if (ivc__parse_u32(num, UINT32_MAX, &refs[(*n)++]))
			return -EPROTO;
		if (!s[len])
			return 0;
	}
}

/* ---- brokered mode records (spec 9.11.9) ---------------------------- */

static bool service_ok(const char *s)
{
	return ivc__service_ok(s);
}

/* One field of a record: the key, what its value must be, and where it
 * goes (a uint32_t, or a buffer of cap bytes). */
enum rec_kind { REC_LIT, REC_U32, REC_SERVER, REC_STR };
struct rec_field {
	const char *key;
	enum rec_kind kind;
	const void *arg; /* REC_LIT: the literal; REC_STR: its check; REC_U32: &max */
	void *out;
	size_t cap;
};

static int rec_value(const struct rec_field *f, const char *v)
{
	switch (f->kind) {
	case REC_LIT:
		return strcmp(v, f->arg) ? -EPROTO : 0;
	case REC_U32:
		return ivc__parse_u32(v, *(const uint32_t *)f->arg, f->out);
	case REC_SERVER:
		if (!strcmp(v, "any")) {
			*(uint32_t *)f->out = IVC_DOMID_ANY;
			return 0;
		}
		return ivc__parse_u32(v, IVC_DOMID_MAX, f->out);
	case REC_STR:
		if (strlen(v) >= f->cap || !((bool (*)(const char *))f->arg)(v))
			return -EPROTO;
		memcpy(f->out, v, strlen(v) + 1);
		return 0;
	}
	return -EPROTO;
}

/* Exactly the fields given, in order, single spaces, the whole string. */
static int rec_parse(const char *s, const struct rec_field *f, unsigned n)
{
	char v[128];

	for (unsigned i = 0; i < n; i++) {
		s = field(s, f[i].key, v, sizeof v);
		if (!s || rec_value(&f[i], v))
			return -EPROTO;
	}
	return s && !*s ? 0 : -EPROTO;
}

static bool word_ok(const char *s)
{
	return *s && strlen(s) < 16;
}

static bool refs_ok(const char *s)
{
	uint32_t refs[IVC_WIRE_MAX_CTRL_PAGES], n;

	return ivc__parse_refs(s, refs, &n) == 0;
}

static const uint32_t any_u32 = UINT32_MAX, domid_max = IVC_DOMID_MAX;
static const uint32_t backlog_max = IVC_BACKLOG_MAX;

#define F_TYPE(t)                                                                                  \
	{ "type", REC_STR, (const void *)ivc__name_ok, (t)->type, sizeof(t)->type },               \
	    { "version", REC_U32, &any_u32, &(t)->version, 0 },                                    \
	    { "mode", REC_STR, (const void *)word_ok, (t)->mode, sizeof(t)->mode },                \
	{                                                                                          \
		"dir", REC_STR, (const void *)word_ok, (t)->dir, sizeof(t)->dir                    \
	}
#define F_GEOMETRY(g)                                                                              \
	{ "ring0-bytes", REC_U32, &any_u32, &(g)->ring[0], 0 },                                    \
	    { "ring1-bytes", REC_U32, &any_u32, &(g)->ring[1], 0 },                                \
	    { "ring0-max-msg", REC_U32, &any_u32, &(g)->max[0], 0 },                               \
	{                                                                                          \
		"ring1-max-msg", REC_U32, &any_u32, &(g)->max[1], 0                                \
	}

int ivc__parse_listen(const char *s, struct ivc_listen_rec *r)
{
	struct ivc_svc_rec *v = &r->svc;
	const struct rec_field f[] = {
		{ "op", REC_LIT, "listen", NULL, 0 },
		{ "name", REC_STR, (const void *)service_ok, v->name, sizeof v->name },
		F_TYPE(&v->t),
		F_GEOMETRY(v),
		{ "backlog", REC_U32, &backlog_max, &r->backlog, 0 },
		{ "port", REC_U32, &any_u32, &r->port, 0 },
	};
	int err = rec_parse(s, f, sizeof f / sizeof f[0]);

	return err || r->backlog == 0 || r->port == 0 ? -EPROTO : 0;
}

int ivc__parse_connect(const char *s, struct ivc_connect_rec *r)
{
	const struct rec_field f[] = {
		{ "op", REC_LIT, "connect", NULL, 0 },
		{ "server", REC_SERVER, NULL, &r->server, 0 },
		{ "name", REC_STR, (const void *)service_ok, r->name, sizeof r->name },
		F_TYPE(&r->t),
		{ "min0", REC_U32, &any_u32, &r->min[0], 0 },
		{ "min1", REC_U32, &any_u32, &r->min[1], 0 },
		{ "min-msg", REC_U32, &any_u32, &r->min_msg, 0 },
		{ "port", REC_U32, &any_u32, &r->port, 0 },
	};
	int err = rec_parse(s, f, sizeof f / sizeof f[0]);

	return err || r->port == 0 ? -EPROTO : 0;
}

int ivc__parse_lend(const char *s, struct ivc_lend_rec *r)
{
	const struct rec_field f[] = {
		{ "role", REC_LIT, "listener", NULL, 0 },
		{ "listen", REC_STR, (const void *)ivc__nonce_ok, r->listen, sizeof r->listen },
		{ "peer", REC_U32, &domid_max, &r->peer, 0 },
		{ "port", REC_U32, &any_u32, &r->port, 0 },
	};
	int err = rec_parse(s, f, sizeof f / sizeof f[0]);

	return err || r->port == 0 ? -EPROTO : 0;
}

int ivc__parse_cend(const char *s, struct ivc_cend_rec *r)
{
	struct ivc_svc_rec *v = &r->svc;
	const struct rec_field f[] = {
		{ "role", REC_LIT, "client", NULL, 0 },
		{ "peer", REC_U32, &domid_max, &r->peer, 0 },
		{ "port", REC_U32, &any_u32, &r->port, 0 },
		{ "name", REC_STR, (const void *)service_ok, v->name, sizeof v->name },
		F_TYPE(&v->t),
		F_GEOMETRY(v),
	};
	int err = rec_parse(s, f, sizeof f / sizeof f[0]);

	return err || r->port == 0 ? -EPROTO : 0;
}

/* An answer or an offer's refusal: "error=<word>"; else -EPROTO. */
int ivc__parse_error(const char *s, char *name, size_t cap)
{
	const struct rec_field f[] = {
		{ "error", REC_STR, (const void *)word_ok, name, cap },
	};

	return rec_parse(s, f, 1);
}

int ivc__parse_offer(const char *s, struct ivc_offer_rec *r)
{
	const struct rec_field f[] = {
		{ "ring-ref", REC_STR, (const void *)refs_ok, r->refs, sizeof r->refs },
		{ "event-channel", REC_U32, &any_u32, &r->port, 0 },
	};
	int err = rec_parse(s, f, sizeof f / sizeof f[0]);

	return err || r->port == 0 ? -EPROTO : 0;
}

static const struct {
	const char *name;
	int err;
} refusals[] = {
	{ "ENOENT", -ENOENT },     { "EACCES", -EACCES }, { "EPROTOTYPE", -EPROTOTYPE },
	{ "EMSGSIZE", -EMSGSIZE }, { "EBUSY", -EBUSY },   { "EEXIST", -EEXIST },
	{ "EPROTO", -EPROTO },     { "ENOSPC", -ENOSPC }, { "ECONNREFUSED", -ECONNREFUSED },
};

int ivc__refusal_err(const char *name)
{
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
		if (!strcmp(name, refusals[i].name))
			return refusals[i].err;
	return -ECONNREFUSED;
}

const char *ivc__refusal_name(int err)
{
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
		if (err == refusals[i].err)
			return refusals[i].name;
	return "ECONNREFUSED";
}

/* A direct-mode listener's presence value (spec 11.2): "" (a listener
 * without monitoring) reads as -ENOENT, anything malformed as -EPROTO. */
int ivc__parse_monitor(const char *s, struct ivc_monitor_rec *r)
{
	const struct rec_field f[] = {
		{ "ctrl-ref", REC_U32, &any_u32, &r->ref, 0 },
		{ "type", REC_STR, (const void *)ivc__name_ok, r->type, sizeof r->type },
		{ "version", REC_U32, &any_u32, &r->version, 0 },
	};

	if (!*s)
		return -ENOENT;
	return rec_parse(s, f, sizeof f / sizeof f[0]);
}
