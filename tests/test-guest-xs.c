/* SPDX-License-Identifier: MIT */
/*
 * test-guest-xs.c - the guest's reading of what xenstored writes
 * (guest/lib/xs_frame.c) on the host. xs_frame_feed: a stream of
 * messages (empty, short, XENSTORE_PAYLOAD_MAX long) cut at every byte
 * boundary, byte by byte and in random chunks delivers the very same
 * messages as in one feed, each body NUL-terminated at its len (over a
 * body full of junk); a header whose len is over XENSTORE_PAYLOAD_MAX is
 * -EIO, whole or split, after a good message or not, and nothing is
 * delivered after it. Then the payload parsers, good and bent: watch
 * events, xs_frame_u32, directory listings and permission lists.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_frame.h"

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail(__VA_ARGS__);                                                         \
	} while (0)

/* What the deliver callback saw: the messages one after the other. */
#define MAXMSG 16
struct seen {
	unsigned n;
	struct xsd_sockmsg hdr[MAXMSG];
	char body[MAXMSG][XENSTORE_PAYLOAD_MAX + 1];
	int unterminated; /* a body without its NUL at len */
};

static void deliver(const struct xsd_sockmsg *hdr, const char *body, void *arg)
{
	struct seen *s = arg;

	if (body[hdr->len] != 0)
		s->unterminated++;
	if (s->n < MAXMSG) {
		s->hdr[s->n] = *hdr;
		memcpy(s->body[s->n], body, hdr->len);
	}
	s->n++;
}

static int same(const struct seen *a, const struct seen *b)
{
	if (a->n != b->n || a->unterminated || b->unterminated)
		return 0;
	for (unsigned i = 0; i < a->n && i < MAXMSG; i++)
		if (memcmp(&a->hdr[i], &b->hdr[i], sizeof a->hdr[i]) ||
		    memcmp(a->body[i], b->body[i], a->hdr[i].len))
			return 0;
	return 1;
}

/* A fresh frame whose body is junk: the NUL at len must be written. */
static void frame_init(struct xs_frame *f)
{
	memset(f, 0, sizeof *f);
	memset(f->body, 'J', sizeof f->body);
}

/* Appends one message to buf at *n. */
static void put(char *buf, size_t *n, uint32_t type, uint32_t req, uint32_t len, const void *pay)
{
	struct xsd_sockmsg h = { type, req, 7, len };

	memcpy(buf + *n, &h, sizeof h);
	*n += sizeof h;
	if (pay)
		memcpy(buf + *n, pay, len);
	*n += pay ? len : 0;
}

static struct xs_frame fr;
static struct seen whole, cut;
static char stream[3 * (XENSTORE_PAYLOAD_MAX + 64)];

/* Feeds stream[0, n) in the chunk sizes given (cycled), into cut. */
static int feed_chunks(size_t n, const size_t *sizes, unsigned nsizes)
{
	int rc = 0;

	frame_init(&fr);
	memset(&cut, 0, sizeof cut);
	for (size_t at = 0, i = 0; at < n; i++) {
		size_t k = sizes[i % nsizes];
		k = k < n - at ? k : n - at;
		rc = xs_frame_feed(&fr, stream + at, k, deliver, &cut);
		if (rc)
			break;
		at += k;
	}
	return rc;
}

static void test_split(void)
{
	static char big[XENSTORE_PAYLOAD_MAX];
	size_t n = 0;

	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	put(stream, &n, XS_READ, 1, 5, "hello");                /* no NUL of its own */
	put(stream, &n, XS_WATCH_EVENT, 0, 10, "a/b\0token\0"); /* event */
	put(stream, &n, XS_WRITE, 2, 0, "");                    /* empty */
	put(stream, &n, XS_READ, 3, XENSTORE_PAYLOAD_MAX, big); /* the largest */
	put(stream, &n, XS_DIRECTORY, 4, 8, "one\0two\0");      /* a listing */
	put(stream, &n, XS_ERROR, 5, 7, "ENOENT\0");            /* an error */

	frame_init(&fr);
	memset(&whole, 0, sizeof whole);
	CHECK(xs_frame_feed(&fr, stream, n, deliver, &whole) == 0, "one feed: not 0");
	CHECK(whole.n == 6, "one feed: %u messages, not 6", whole.n);
	CHECK(!whole.unterminated, "one feed: %d bodies not NUL-terminated at len",
	      whole.unterminated);
	CHECK(fr.got == 0, "one feed: %u bytes left over", fr.got);
	CHECK(whole.hdr[0].type == XS_READ && whole.hdr[0].req_id == 1 && whole.hdr[0].tx_id == 7 &&
		  whole.hdr[0].len == 5 && !memcmp(whole.body[0], "hello", 5),
	      "one feed: the first message is wrong");
	CHECK(whole.hdr[3].len == XENSTORE_PAYLOAD_MAX &&
		  !memcmp(whole.body[3], big, XENSTORE_PAYLOAD_MAX),
	      "one feed: the largest message is wrong");
	CHECK(whole.hdr[2].len == 0 && whole.hdr[2].req_id == 2, "one feed: the empty message");

	/* Two feeds, cut at every byte boundary (0 and n: a feed of 0). */
	for (size_t k = 0; k <= n; k++) {
		frame_init(&fr);
		memset(&cut, 0, sizeof cut);
		int a = xs_frame_feed(&fr, stream, k, deliver, &cut);
		int b = xs_frame_feed(&fr, stream + k, n - k, deliver, &cut);
		if (a || b || !same(&whole, &cut) || fr.got) {
			fail("cut at %zu of %zu: %d %d, %u messages", k, n, a, b, cut.n);
			break;
		}
	}
	/* Byte by byte, and some fixed chunk patterns. */
	static const size_t one[] = { 1 }, odd[] = { 3, 1, 17, 4111, 2 },
			    hdr[] = { 16, 5, 16, 10 }, grow[] = { 1,    2,    4,    8,   16,
								  32,   64,   128,  256, 512,
								  1024, 2048, 4096, 8192 };
	CHECK(feed_chunks(n, one, 1) == 0 && same(&whole, &cut), "byte by byte differs");
	CHECK(feed_chunks(n, odd, 5) == 0 && same(&whole, &cut), "odd chunks differ");
	CHECK(feed_chunks(n, hdr, 4) == 0 && same(&whole, &cut), "header-sized chunks differ");
	CHECK(feed_chunks(n, grow, 14) == 0 && same(&whole, &cut), "growing chunks differ");
	/* Random chunks, fixed seed. */
	srand(1);
	for (int r = 0; r < 200; r++) {
		size_t sizes[32];
		for (int i = 0; i < 32; i++)
			sizes[i] = 1 + (size_t)rand() % (r % 2 ? 40 : 5000);
		if (feed_chunks(n, sizes, 32) || !same(&whole, &cut)) {
			fail("random chunks (round %d) differ", r);
			break;
		}
	}
	/* A message still incomplete is not delivered. */
	frame_init(&fr);
	memset(&cut, 0, sizeof cut);
	CHECK(xs_frame_feed(&fr, stream, 16 + 4, deliver, &cut) == 0 && cut.n == 0 && fr.got == 20,
	      "a part message: delivered %u, got %u", cut.n, fr.got);
}

static void test_two_in_one(void)
{
	size_t n = 0;
	static struct seen s;

	put(stream, &n, XS_READ, 10, 3, "abc");
	put(stream, &n, XS_READ, 11, 1, "d");
	frame_init(&fr);
	CHECK(xs_frame_feed(&fr, stream, n, deliver, &s) == 0, "two in one feed: not 0");
	CHECK(s.n == 2 && s.hdr[0].req_id == 10 && s.hdr[1].req_id == 11 &&
		  !memcmp(s.body[0], "abc", 3) && !memcmp(s.body[1], "d", 1),
	      "two in one feed: %u messages", s.n);
	/* The second, shorter, body is cut at its own len, not the first's. */
	CHECK(!s.unterminated && fr.body[1] == 0, "two in one feed: body not terminated at len");
}

static void test_too_long(void)
{
	size_t n = 0;
	static struct seen s;

	/* Alone: -EIO, nothing delivered, nothing more taken. */
	put(stream, &n, XS_READ, 1, XENSTORE_PAYLOAD_MAX + 1, NULL);
	put(stream, &n, XS_READ, 2, 2, "ok");
	frame_init(&fr);
	CHECK(xs_frame_feed(&fr, stream, n, deliver, &s) == -EIO, "len MAX + 1: not -EIO");
	CHECK(s.n == 0, "len MAX + 1: %u delivered", s.n);
	CHECK(xs_frame_feed(&fr, stream + 16, n - 16, deliver, &s) == -EIO && s.n == 0,
	      "after -EIO: a good message is taken");
	CHECK(xs_frame_feed(&fr, stream, 0, deliver, &s) == -EIO, "after -EIO: a feed of 0 is 0");

	/* Followed by as many bytes as it said and a good message: still
	 * nothing (taking them would overrun the body by one). */
	static char after[XENSTORE_PAYLOAD_MAX + 1 + 64];
	n = 0;
	put(stream, &n, XS_READ, 1, XENSTORE_PAYLOAD_MAX + 1, NULL);
	memset(after, 'x', sizeof after);
	put(stream, &n, XS_READ, 2, XENSTORE_PAYLOAD_MAX + 1, after);
	put(stream, &n, XS_READ, 3, 2, "ok");
	frame_init(&fr);
	memset(&s, 0, sizeof s);
	CHECK(xs_frame_feed(&fr, stream, n, deliver, &s) == -EIO && s.n == 0,
	      "len MAX + 1 and its bytes: %u delivered", s.n);
	frame_init(&fr);
	memset(&s, 0, sizeof s);
	CHECK(xs_frame_feed(&fr, stream, 16, deliver, &s) == -EIO &&
		  xs_frame_feed(&fr, stream + 16, n - 16, deliver, &s) == -EIO && s.n == 0,
	      "len MAX + 1, then its bytes: %u delivered", s.n);

	/* Split in the header: 0 until the header is whole. */
	n = 0;
	put(stream, &n, XS_READ, 1, XENSTORE_PAYLOAD_MAX + 1, NULL);
	put(stream, &n, XS_READ, 2, 2, "ok");
	for (size_t k = 1; k < 16; k++) {
		frame_init(&fr);
		memset(&s, 0, sizeof s);
		int a = xs_frame_feed(&fr, stream, k, deliver, &s);
		int b = xs_frame_feed(&fr, stream + k, n - k, deliver, &s);
		CHECK(a == 0 && b == -EIO && s.n == 0, "len MAX + 1 cut at %zu: %d %d %u", k, a, b,
		      s.n);
	}

	/* After a good message in the same feed: it is delivered, then -EIO. */
	n = 0;
	put(stream, &n, XS_READ, 1, 2, "ok");
	put(stream, &n, XS_READ, 2, UINT32_MAX, NULL);
	put(stream, &n, XS_READ, 3, 2, "no");
	frame_init(&fr);
	memset(&s, 0, sizeof s);
	CHECK(xs_frame_feed(&fr, stream, n, deliver, &s) == -EIO && s.n == 1 &&
		  s.hdr[0].req_id == 1,
	      "good then len 2^32-1: %u delivered", s.n);

	/* XENSTORE_PAYLOAD_MAX itself is fine (test_split delivers one). */
}

static void test_event(void)
{
	const char *p = NULL, *t = NULL;
	static const char good[] = "a/b\0tok\0";

	CHECK(xs_frame_event(good, 8, &p, &t) == 0 && p == good && t == good + 4 &&
		  !strcmp(p, "a/b") && !strcmp(t, "tok"),
	      "event: a/b tok");
	CHECK(xs_frame_event("p\0\0", 3, &p, &t) == 0 && !strcmp(p, "p") && !*t,
	      "event: an empty token");
	/* Bent: the NULs must be inside len, whatever follows in memory. */
	static const struct {
		const char *s;
		uint32_t len;
	} bad[] = {
		{ "", 0 },         { "\0", 1 },         { "abc", 3 },        { "abc\0", 4 },
		{ "abc\0tok", 7 }, { "a/b\0tok\0", 7 }, { "a/b\0tok\0", 3 }, { "a/b\0tok\0", 4 },
	};
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK(xs_frame_event(bad[i].s, bad[i].len, &p, &t) == -EIO,
		      "event %u (len %u) accepted", i, bad[i].len);
	}
}

static void test_u32(void)
{
	static const struct {
		const char *s;
		uint32_t max, v;
	} good[] = {
		{ "0", UINT32_MAX, 0 },
		{ "0", 0, 0 },
		{ "7", 7, 7 },
		{ "10", 100, 10 },
		{ "65535", 65535, 65535 },
		{ "4294967295", UINT32_MAX, UINT32_MAX },
	};
	static const struct {
		const char *s;
		uint32_t max;
	} bad[] = {
		{ "", UINT32_MAX },
		{ "01", UINT32_MAX },
		{ "00", UINT32_MAX },
		{ "+1", UINT32_MAX },
		{ "-1", UINT32_MAX },
		{ " 1", UINT32_MAX },
		{ "1 ", UINT32_MAX },
		{ "1a", UINT32_MAX },
		{ "0x1", UINT32_MAX },
		{ "4294967296", UINT32_MAX },
		{ "18446744073709551617", UINT32_MAX }, /* 2^64 + 1: wraps a uint64_t */
		{ "99999999999999999999999999", UINT32_MAX },
		{ "1", 0 },
		{ "65536", 65535 },
		{ "101", 100 },
	};
	for (unsigned i = 0; i < sizeof good / sizeof *good; i++) {
		uint32_t v = 12345;
		CHECK(xs_frame_u32(good[i].s, good[i].max, &v) == 0 && v == good[i].v,
		      "u32 \"%s\" (max %u): %u", good[i].s, good[i].max, v);
	}
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
		uint32_t v = 12345;
		CHECK(xs_frame_u32(bad[i].s, bad[i].max, &v) == -EINVAL,
		      "u32 \"%s\" (max %u) accepted: %u", bad[i].s, bad[i].max, v);
	}
}

static void test_dir(void)
{
	const char *out[8];
	static const char three[] = "a\0bb\0c\0";

	CHECK(xs_frame_dir(three, 7, NULL, 0) == 3, "dir: three, counted");
	for (int i = 0; i < 8; i++)
		out[i] = NULL;
	CHECK(xs_frame_dir(three, 7, out, 8) == 3 && out[0] == three && out[1] == three + 2 &&
		  out[2] == three + 5 && !out[3],
	      "dir: three, filled");
	/* More entries than room: all counted, max filled, none beyond. */
	for (int i = 0; i < 8; i++)
		out[i] = NULL;
	CHECK(xs_frame_dir(three, 7, out, 2) == 3 && out[0] == three && out[1] == three + 2 &&
		  !out[2],
	      "dir: three into two");
	CHECK(xs_frame_dir("", 0, out, 8) == 0, "dir: empty listing");
	CHECK(xs_frame_dir("x\0", 2, out, 8) == 1 && out[0][0] == 'x', "dir: one name");
	static const struct {
		const char *s;
		uint32_t len;
	} bad[] = {
		{ "\0", 1 },         /* an empty name */
		{ "a\0\0b\0", 5 },   /* an empty name between */
		{ "a\0b\0\0", 5 },   /* an empty name at the end */
		{ "a\0b", 3 },       /* no trailing NUL */
		{ "abc", 3 },        /* no NUL at all */
		{ "a\0bb\0c\0", 6 }, /* the last NUL outside len */
	};
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(xs_frame_dir(bad[i].s, bad[i].len, out, 8) == -EIO &&
			  xs_frame_dir(bad[i].s, bad[i].len, NULL, 0) == -EIO,
		      "dir %u (len %u) accepted", i, bad[i].len);
}

static void test_perms(void)
{
	uint32_t out[8][2];
	static const char two[] = "n0\0r5\0";
	static const char all[] = "w7\0b65535\0n12\0r0\0";

	memset(out, 0xff, sizeof out);
	CHECK(xs_frame_perms(two, 6, NULL, 0) == 2, "perms: n0 r5, counted");
	CHECK(xs_frame_perms(two, 6, out, 8) == 2 && out[0][0] == 0 && out[0][1] == 0 &&
		  out[1][0] == 5 && out[1][1] == 1 && out[2][0] == UINT32_MAX,
	      "perms: n0 r5, filled");
	memset(out, 0xff, sizeof out);
	CHECK(xs_frame_perms(all, sizeof all - 1, out, 8) == 4 && out[0][0] == 7 &&
		  out[0][1] == 2 && out[1][0] == 65535 && out[1][1] == 3 && out[2][0] == 12 &&
		  out[2][1] == 0 && out[3][0] == 0 && out[3][1] == 1,
	      "perms: w b n r");
	memset(out, 0xff, sizeof out);
	CHECK(xs_frame_perms(all, sizeof all - 1, out, 1) == 4 && out[0][0] == 7 &&
		  out[1][0] == UINT32_MAX,
	      "perms: four into one");
	static const struct {
		const char *s;
		uint32_t len;
	} bad[] = {
		{ "", 0 },               /* no owner */
		{ "x0\0", 3 },           /* a bad letter */
		{ "N0\0", 3 },           /* letters are lower case */
		{ "n0\0q1\0", 6 },       /* a bad letter second */
		{ "n0\0r5", 5 },         /* no trailing NUL */
		{ "n0\0r5\0", 5 },       /* the NUL outside len */
		{ "\0", 1 },             /* an empty entry */
		{ "n0\0\0", 4 },         /* an empty entry after */
		{ "n0\0\0r1\0", 7 },     /* an empty entry between */
		{ "n\0", 2 },            /* no domid */
		{ "n65536\0", 7 },       /* domid > 65535 */
		{ "r4294967296\0", 12 }, /* more than 32 bits */
		{ "n01\0", 4 },          /* a leading zero */
		{ "n-1\0", 4 },          /* a sign */
		{ "n 1\0", 4 },          /* a space */
		{ "nr1\0", 4 },          /* two letters */
	};
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(xs_frame_perms(bad[i].s, bad[i].len, out, 8) == -EIO &&
			  xs_frame_perms(bad[i].s, bad[i].len, NULL, 0) == -EIO,
		      "perms %u (len %u) accepted", i, bad[i].len);
}

int main(void)
{
	test_split();
	test_two_in_one();
	test_too_long();
	test_event();
	test_u32();
	test_dir();
	test_perms();
	if (failures) {
		printf("FAIL: %d failures\n", failures);
		return 1;
	}
	printf("ok - guest xs_frame\n");
	return 0;
}
