/* SPDX-License-Identifier: MIT */
/*
 * monjson.c - the JSON of a monitoring snapshot (ivc_mon_scan(3)), one
 * shape for ivc-top --json and ivc ls/info --json: docs/ivc-top-json.md,
 * checked by docs/schema/ivc-mon.schema.json.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "monjson.h"

static const char *dir_name(enum ivc_dir d)
{
	return d == IVC_IN ? "in" : d == IVC_OUT ? "out" : d == IVC_INOUT ? "inout" : "?";
}

size_t mj_utf8_len(const unsigned char *p, size_t n)
{
	size_t k = p[0] < 0x80 ? 1 : p[0] < 0xc2 ? 0 : p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;

	if (!k || k > n || p[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return k;
}

/* s (at most max bytes) as a JSON string: valid UTF-8 kept, quotes,
 * backslashes and controls escaped, anything else U+FFFD. */
void mj_str(FILE *f, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strnlen(s, max);

	fputc('"', f);
	while (p < end) {
		size_t k = mj_utf8_len(p, (size_t)(end - p));
		if (k == 1 && (*p == '"' || *p == '\\'))
			fprintf(f, "\\%c", *p);
		else if (k == 1 && (*p < 0x20 || *p == 0x7f))
			fprintf(f, "\\u%04x", *p);
		else if (k)
			fwrite(p, 1, k, f);
		else
			fputs("\\ufffd", f);
		p += k ? k : 1;
	}
	fputc('"', f);
}

static void json_pair(FILE *f, const char *key, const uint64_t v[2], bool known)
{
	if (known)
		fprintf(f, ",\"%s\":[%" PRIu64 ",%" PRIu64 "]", key, v[0], v[1]);
	else
		fprintf(f, ",\"%s\":null", key);
}

static void json_bool(FILE *f, const char *key, bool v)
{
	fprintf(f, ",\"%s\":%s", key, v ? "true" : "false");
}

/* type, version, mode, dir: null unless known. */
static void json_typed(FILE *f, bool typed, const char *type, uint32_t version, enum ivc_mode mode,
		       enum ivc_dir dir)
{
	if (!typed) {
		fputs(",\"type\":null,\"version\":null,\"mode\":null,\"dir\":null", f);
		return;
	}
	fputs(",\"type\":", f);
	mj_str(f, type, IVC_MON_NAME_MAX + 1);
	fprintf(f, ",\"version\":%" PRIu32 ",\"mode\":\"%s\",\"dir\":\"%s\"", version,
		mode == IVC_STREAM    ? "stream"
		: mode == IVC_MESSAGE ? "message"
				      : "?",
		dir_name(dir));
}

void mj_service(FILE *f, const struct ivc_mon_service *s)
{
	uint64_t ring[2] = { s->ring[0], s->ring[1] }, max[2] = { s->max_msg[0], s->max_msg[1] };

	fprintf(f, "{\"domid\":%" PRIu32 ",\"flags\":%" PRIu32, s->domid, s->flags);
	json_bool(f, "brokered", s->flags & IVC_MON_BROKERED);
	json_bool(f, "typed", s->flags & IVC_MON_TYPED);
	fputs(",\"name\":", f);
	mj_str(f, s->name, sizeof s->name);
	json_typed(f, s->flags & IVC_MON_TYPED, s->type, s->version, s->mode, s->dir);
	json_pair(f, "ring", ring, true);
	json_pair(f, "max_msg", max, true);
	fprintf(f, ",\"channels\":%" PRIu32 "}", s->channels);
}

void mj_head(FILE *f, const char *platform, const struct ivc_mon_snap *s)
{
	fprintf(f,
		"{\"version\":1,\"platform\":\"%s\",\"time_ms\":%" PRId64 ",\"wall_ms\":%" PRId64,
		platform, s->time_ms, s->wall_ms);
}

/* Every field of the struct; the caller adds its own and the '}'. */
void mj_chan(FILE *f, const struct ivc_mon_chan *c)
{
	bool k = c->flags & IVC_MON_COUNTERS, t = c->flags & IVC_MON_TYPED;
	uint64_t ring[2] = { c->ring[0], c->ring[1] }, used[2] = { c->used[0], c->used[1] };
	const char *st = ivc_mon_state_name(c->state);

	fputs("{\"id\":", f);
	mj_str(f, c->id, sizeof c->id);
	fprintf(f, ",\"flags\":%" PRIu32, c->flags);
	json_bool(f, "brokered", c->flags & IVC_MON_BROKERED);
	json_bool(f, "counters", k);
	json_bool(f, "typed", t);
	fprintf(f, ",\"listener\":%" PRIu32 ",\"client\":%" PRIu32 ",\"service\":", c->listener,
		c->client);
	mj_str(f, c->service, sizeof c->service);
	json_typed(f, t, c->type, c->version, c->mode, c->dir);
	fprintf(f, ",\"state\":\"%s\",\"state_code\":%d", st ? st : "?", (int)c->state);
	json_pair(f, "ring", ring, k);
	json_pair(f, "used", used, k);
	json_pair(f, "msgs", c->msgs, k);
	json_pair(f, "bytes", c->bytes, k);
	json_pair(f, "notifies", c->notifies, k);
	if (k && c->created)
		fprintf(f, ",\"created\":%" PRId64, c->created);
	else
		fputs(",\"created\":null", f);
}
