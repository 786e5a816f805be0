/* SPDX-License-Identifier: MIT */
/*
 * fuzz-guest-xs.c - libFuzzer on the guest's reading of what xenstored
 * writes into the ring (guest/lib/xs_frame.c). Input: a byte N, N chunk
 * size bytes, then the stream; the stream goes to xs_frame_feed in those
 * chunk sizes (cycled; none: one feed), then again in one feed. Oracle:
 * both deliver the same messages and end the same; every body is at most
 * XENSTORE_PAYLOAD_MAX and NUL-terminated at its len; and on each body
 * xs_frame_event, xs_frame_dir, xs_frame_perms and xs_frame_u32 agree
 * with a plain reading of the bytes: what they accept and refuse, the
 * counts with and without out (and with a short out), every pointer
 * inside the body, every permission printing back to its entry, every
 * number to its string.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz-guest-xs: %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A payload of len bytes has at most len entries (one per NUL): out
 * has room for them and one more, only that much reset per message (a
 * whole array each time made long inputs of many messages slow). */
#define MAXENT (XENSTORE_PAYLOAD_MAX + 1)

struct run {
	unsigned n;     /* messages delivered */
	uint64_t hash;  /* over every header and body, in order */
	uint64_t bytes; /* their payload bytes */
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3u; /* FNV-1a */
	return h;
}

/* The entries of a NUL-separated list, as the bytes say: -EIO unless the
 * payload is empty or ends in NUL; empty entries counted apart. */
static int entries(const char *body, uint32_t len, unsigned *empty)
{
	int n = 0;

	*empty = 0;
	if (len && body[len - 1])
		return -EIO;
	for (uint32_t i = 0; i < len; i++)
		if (!body[i]) {
			n++;
			if (i == 0 || !body[i - 1])
				(*empty)++;
		}
	return n;
}

/* Whether s is the canonical decimal of a number <= max. */
static int plain_u32(const char *s, uint32_t max, uint32_t *v)
{
	size_t l = strlen(s);
	uint64_t x = 0;

	if (!l || l > 10 || (s[0] == '0' && l > 1))
		return 0;
	for (size_t i = 0; i < l; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = (uint32_t)x;
	return x <= max;
}

static void check_u32(const char *s, uint32_t max)
{
	uint32_t v = 0, w = 0;
	int rc = xs_frame_u32(s, max, &v);
	char back[16];

	CHECK(rc == 0 || rc == -EINVAL);
	CHECK((rc == 0) == plain_u32(s, max, &w));
	if (rc == 0) {
		CHECK(v == w && v <= max);
		snprintf(back, sizeof back, "%u", v);
		CHECK(!strcmp(back, s));
	}
}

static void check_event(const char *body, uint32_t len)
{
	const char *path = NULL, *token = NULL;
	int rc = xs_frame_event(body, len, &path, &token);
	const char *nul = memchr(body, 0, len);
	int two = nul && memchr(nul + 1, 0, len - (size_t)(nul + 1 - body));

	CHECK(rc == 0 || rc == -EIO);
	CHECK((rc == 0) == !!two);
	if (rc == 0) {
		CHECK(path == body);
		CHECK(token == nul + 1);
		CHECK(token > body && token < body + len);
		CHECK(token + strlen(token) < body + len); /* its NUL inside len */
	}
}

static void check_dir(const char *body, uint32_t len)
{
	static const char *out[MAXENT + 1];
	unsigned empty;
	int want = entries(body, len, &empty), n = xs_frame_dir(body, len, NULL, 0);

	if (want > 0 && empty)
		want = -EIO;
	CHECK(n == want);
	for (unsigned i = 0; i <= len; i++)
		out[i] = NULL;
	CHECK(xs_frame_dir(body, len, out, MAXENT) == n);
	if (n < 0)
		return;
	const char *at = body;
	for (int i = 0; i < n; i++) {
		CHECK(out[i] == at);
		CHECK(out[i] >= body && out[i] < body + len && *out[i]);
		at += strlen(at) + 1;
	}
	CHECK(at == body + len);
	CHECK(!out[n]);
	/* A short out: the same count, only the first half filled. */
	unsigned half = (unsigned)n / 2;
	for (unsigned i = 0; i <= len; i++)
		out[i] = NULL;
	CHECK(xs_frame_dir(body, len, out, half) == n);
	for (unsigned i = 0; i < (unsigned)n; i++)
		CHECK(i < half ? out[i] != NULL : out[i] == NULL);
}

static void check_perms(const char *body, uint32_t len)
{
	static uint32_t out[MAXENT + 1][2];
	static const char letters[] = "nrwb";
	unsigned empty;
	int want = entries(body, len, &empty), n = xs_frame_perms(body, len, NULL, 0);
	/* Good: at least one entry, each a letter and a domid <= 65535. */
	int good = want > 0 && !empty;

	for (const char *e = body; good && e < body + len; e += strlen(e) + 1) {
		uint32_t v;
		good = strchr(letters, e[0]) && plain_u32(e + 1, 0xffff, &v);
	}
	CHECK(n == (good ? want : -EIO));
	memset(out, 0xff, sizeof out[0] * (len + 1));
	CHECK(xs_frame_perms(body, len, out, MAXENT) == n);
	if (n < 0)
		return;
	const char *e = body;
	for (int i = 0; i < n; i++, e += strlen(e) + 1) {
		char back[16];
		CHECK(out[i][0] <= 0xffff && out[i][1] <= 3);
		snprintf(back, sizeof back, "%c%u", letters[out[i][1]], out[i][0]);
		CHECK(!strcmp(back, e));
	}
	CHECK(e == body + len);
	CHECK(out[n][0] == UINT32_MAX && out[n][1] == UINT32_MAX);
	/* A short out: the same count, nothing written past it. */
	unsigned half = (unsigned)n / 2;
	memset(out, 0xff, sizeof out[0] * (len + 1));
	CHECK(xs_frame_perms(body, len, out, half) == n);
	for (unsigned i = 0; i < (unsigned)n; i++)
		CHECK(i < half ? out[i][1] <= 3
			       : out[i][0] == UINT32_MAX && out[i][1] == UINT32_MAX);
}

static void deliver(const struct xsd_sockmsg *hdr, const char *body, void *arg)
{
	struct run *r = arg;
	uint32_t len = hdr->len;

	CHECK(len <= XENSTORE_PAYLOAD_MAX);
	CHECK(body[len] == 0);
	r->n++;
	r->bytes += len;
	r->hash = mix(mix(r->hash, hdr, sizeof *hdr), body, len);

	check_event(body, len);
	check_dir(body, len);
	check_perms(body, len);
	/* The body as a number (up to its first NUL), under a few bounds. */
	check_u32(body, UINT32_MAX);
	check_u32(body, 0xffff);
	check_u32(body, hdr->req_id);
	if (memchr(body, 0, len)) /* and each entry, where there are several */
		for (const char *e = body; e < body + len; e += strlen(e) + 1)
			check_u32(e, hdr->tx_id);
}

static struct xs_frame frame;

static void start(struct xs_frame *f)
{
	memset(f, 0, sizeof *f);
	memset(f->body, 0xa5, sizeof f->body); /* the NUL at len must be written */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	size_t nsizes = data[0];
	if (nsizes > size - 1)
		nsizes = size - 1;
	const uint8_t *sizes = data + 1;
	const char *stream = (const char *)data + 1 + nsizes;
	size_t n = size - 1 - nsizes;
	struct run a = { 0, 0xcbf29ce484222325u, 0 }, b = a;
	int rca = 0, rcb;
	uint32_t got;

	/* In chunks: a size byte s is s bytes below 128 and (s - 127) * 64
	 * above, up to 8 KiB; 0 is a feed of nothing. All zero: one feed. */
	int any = 0;
	for (size_t i = 0; i < nsizes; i++)
		any |= sizes[i];
	start(&frame);
	for (size_t at = 0, i = 0; at < n || (!any && i == 0); i++) {
		size_t k = n - at;
		if (any) {
			uint8_t s = sizes[i % nsizes];
			k = s < 128 ? s : (size_t)(s - 127) * 64;
			k = k < n - at ? k : n - at;
		}
		int rc = xs_frame_feed(&frame, stream + at, k, deliver, &a);
		CHECK(rc == 0 || rc == -EIO);
		CHECK(rca == 0 || rc == -EIO); /* once -EIO, always */
		rca = rc;
		at += k;
	}
	got = frame.got;
	CHECK(got <= sizeof frame.hdr + XENSTORE_PAYLOAD_MAX);

	/* Once more in one feed, then a feed of nothing. */
	start(&frame);
	rcb = xs_frame_feed(&frame, stream, n, deliver, &b);
	CHECK(rcb == 0 || rcb == -EIO);
	CHECK(xs_frame_feed(&frame, stream, 0, deliver, &b) == rcb);
	CHECK(rca == rcb);
	CHECK(a.n == b.n && a.hash == b.hash && a.bytes == b.bytes);
	CHECK(frame.got == got);
	/* -EIO exactly when a whole header said too much; then nothing more
	 * was taken than that header. */
	CHECK((rcb == -EIO) == frame.broken);
	CHECK((rcb == -EIO) == (got >= sizeof frame.hdr && frame.hdr.len > XENSTORE_PAYLOAD_MAX));
	if (rcb == -EIO)
		CHECK(got == sizeof frame.hdr);
	/* All the stream taken unless it broke: messages plus what is left. */
	if (rcb == 0)
		CHECK(b.n * sizeof frame.hdr + b.bytes + got == n);
	return 0;
}
