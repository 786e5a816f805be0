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
