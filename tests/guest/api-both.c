/* SPDX-License-Identifier: MIT */
/*
 * api-both: the parts of ivc.h the echo programs leave out, between two
 * copies of this program: a stream channel (ivc_write/ivc_read, 1 MiB
 * each way at once, then end of stream both ways), zero copy in message
 * mode (ivc_reserve/ivc_commit out, ivc_peek/ivc_consume back, 200
 * messages of 0..8000 bytes echoed in place), and a timeout (ivc_recv on
 * a quiet channel). Every byte is checked. The same source builds as a
 * Linux program (tests in sim) and as a guest (guest-api, Xen lab).
 *
 * usage: api-both serve NAME | api-both connect DOMID NAME
 * Prints "api-both: ... ok" lines; exit 0 when everything held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ivc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_BYTES (1u << 20)
#define ZC_MSGS 200
#define ZC_MAX 8000
#define QUIET_MS 300

static struct ivc_ctx *ctx;
static int serving;
static uint32_t peer;
static const char *name;
static char buf[65536];

static int fail(const char *what, long err)
{
	fprintf(stderr, "api-both: %s: %s\n", what, err < 0 ? strerror((int)-err) : "wrong");
	exit(1);
}

static uint8_t pat(uint32_t seed, uint64_t pos)
{
	uint64_t x = (pos + 1) * 0x9e3779b97f4a7c15ull ^ seed;

	return (uint8_t)(x >> 29);
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* One channel named `name`-suffix: accepted, or connected to. */
static struct ivc_chan *channel(const char *suffix, const struct ivc_type *t,
				const struct ivc_opts *o)
{
	char n[64];
	struct ivc_chan *c;
	int err;

	snprintf(n, sizeof n, "%s-%s", name, suffix);
	if (serving) {
		struct ivc_listener *l;
		if ((err = ivc_listen(ctx, n, t, IVC_INOUT, o, &l)))
			fail("listen", err);
		printf("api-both: serving %s\n", n);
		fflush(stdout);
		err = ivc_accept(l, 60000, &c);
		ivc_listener_close(l);
	} else {
		err = ivc_connect(ctx, peer, n, t, IVC_INOUT, NULL, 60000, &c);
	}
	if (err)
		fail(serving ? "accept" : "connect", err);
	return c;
}

/* 1 MiB each way at once. Then the server closes: the client must still
 * read whatever was left, and then end of stream. */
static void stream(void)
{
	static const struct ivc_type t = { "test.both-stream", 1, IVC_STREAM };
	const struct ivc_opts o = { .tx_ring = 65536, .rx_ring = 65536 };
	struct ivc_chan *c = channel("stream", &t, &o);
	uint32_t ts = serving ? 1 : 2, rs = serving ? 2 : 1;
	uint64_t sent = 0, got = 0;
	static char in[7000];
	ssize_t r;

	while (sent < STREAM_BYTES || got < STREAM_BYTES) {
		bool moved = false;
		if (sent < STREAM_BYTES) {
			size_t n = STREAM_BYTES - sent < 5000 ? STREAM_BYTES - sent : 5000;
			for (size_t i = 0; i < n; i++)
				buf[i] = (char)pat(ts, sent + i);
			if ((r = ivc_write(c, buf, n, 0)) < 0 && r != -EAGAIN)
				fail("write", r);
			if (r > 0) {
				sent += (uint64_t)r;
				moved = true;
			}
		}
		if (got < STREAM_BYTES) {
			if ((r = ivc_read(c, in, sizeof in, 0)) < 0 && r != -EAGAIN)
				fail("read", r);
			if (r == 0)
				fail("end of stream before the last byte", 0);
			for (ssize_t i = 0; i < r; i++)
				if ((uint8_t)in[i] != pat(rs, got + (uint64_t)i))
					fail("stream data", 0);
			if (r > 0) {
				got += (uint64_t)r;
				moved = true;
			}
		}
		if (!moved) {
			struct ivc_ready ready;
			int n = ivc_wait(ctx, &ready, 1, 30000);
			if (n < 0)
				fail("wait", n);
		}
	}
	if (!serving && (r = ivc_read(c, in, sizeof in, 30000)) != 0)
		fail("end of stream after the last byte", r);
	ivc_chan_close(c);
	printf("api-both: stream: %u bytes each way at once%s: ok\n", STREAM_BYTES,
	       serving ? "" : ", then end of stream");
}

/* The client reserves and commits; the server peeks, checks, and echoes
 * the message from ring to ring (reserve, copy, commit, consume). */
static void zero_copy(void)
{
	static const struct ivc_type t = { "test.both-zc", 1, IVC_MESSAGE };
	const struct ivc_opts o = { .tx_ring = 32768, .rx_ring = 32768, .max_msg = ZC_MAX };
	struct ivc_chan *c = channel("zc", &t, &o);
	uint64_t seed = 7;

	for (unsigned m = 0; m < ZC_MSGS; m++) {
		struct iovec in[2], out[2];
		size_t len =
		    (size_t)((seed = seed * 6364136223846793005ull + 1) >> 33) % (ZC_MAX + 1);
		int err;

		if (!serving) {
			if ((err = ivc_reserve(c, len, out, 10000)))
				fail("reserve", err);
			for (size_t i = 0; i < len; i++) {
				uint8_t v = pat(m, i);
				if (i < out[0].iov_len)
					((uint8_t *)out[0].iov_base)[i] = v;
				else
					((uint8_t *)out[1].iov_base)[i - out[0].iov_len] = v;
			}
			if ((err = ivc_commit(c)))
				fail("commit", err);
		}
		ssize_t n = ivc_peek(c, in, 10000);
		if (n < 0)
			fail("peek", n);
		if ((size_t)n != len || in[0].iov_len + in[1].iov_len != len)
			fail("peek length", 0);
		/* copied out before it is checked: the peer may still write */
		memcpy(buf, in[0].iov_base, in[0].iov_len);
		memcpy(buf + in[0].iov_len, in[1].iov_base, in[1].iov_len);
		for (size_t i = 0; i < len; i++)
			if ((uint8_t)buf[i] != pat(m, i))
				fail("zero-copy data", 0);
		if (serving) {
			if ((err = ivc_reserve(c, len, out, 10000)))
				fail("reserve (echo)", err);
			memcpy(out[0].iov_base, buf, out[0].iov_len);
			memcpy(out[1].iov_base, buf + out[0].iov_len, out[1].iov_len);
			if ((err = ivc_commit(c)))
				fail("commit (echo)", err);
		}
		if ((err = ivc_consume(c)))
			fail("consume", err);
	}
	printf("api-both: zero copy: %u messages of 0..%u bytes, reserved, peeked, echoed in "
	       "place: ok\n",
	       ZC_MSGS, ZC_MAX);
	/* The timeout: the server stays quiet for QUIET_MS and more, then
	 * says one last message; the client's bounded recv must time out
	 * first, then get it. */
	if (serving) {
		ssize_t r = ivc_recv(c, buf, sizeof buf, 30000); /* "quiet now" */
		if (r != 0)
			fail("quiet mark", r);
		uint64_t t0 = now_ms();
		while (now_ms() - t0 < 3 * QUIET_MS)
			(void)ivc_recv(c, buf, sizeof buf, QUIET_MS);
		if ((r = ivc_send(c, "last", 4, 10000)))
			fail("send last", r);
		if ((r = ivc_recv(c, buf, sizeof buf, 30000)) != -EPIPE)
			fail("end", r);
	} else {
		ssize_t r = ivc_send(c, "", 0, 10000);
		if (r)
			fail("send quiet mark", r);
		uint64_t t0 = now_ms();
		r = ivc_recv(c, buf, sizeof buf, QUIET_MS);
		uint64_t took = now_ms() - t0;
		if (r != -ETIMEDOUT || took < QUIET_MS)
			fail("recv on a quiet channel: not -ETIMEDOUT after its timeout", r);
		if ((r = ivc_recv(c, buf, sizeof buf, 30000)) != 4 || memcmp(buf, "last", 4))
			fail("last message", r);
		printf("api-both: timeout: recv on a quiet channel gave ETIMEDOUT after %llu ms "
		       "(asked %u): ok\n",
		       (unsigned long long)took, QUIET_MS);
	}
	ivc_chan_close(c);
}

int main(int argc, char **argv)
{
	int err;

	if (argc == 3 && !strcmp(argv[1], "serve")) {
		serving = 1;
		name = argv[2];
	} else if (argc == 4 && !strcmp(argv[1], "connect")) {
		peer = (uint32_t)strtoul(argv[2], NULL, 10);
		name = argv[3];
	} else {
		fprintf(stderr, "usage: api-both serve NAME | api-both connect DOMID NAME\n");
		return 2;
	}
	if ((err = ivc_open(&ctx, NULL)))
		fail("ivc_open", err);
	printf("api-both: dom%u on %s, %s of %s\n", ivc_domid(ctx), ivc_platform(ctx),
	       serving ? "server" : "client", name);
	stream();
	zero_copy();
	ivc_close(ctx);
	printf("api-both: all ok\n");
	return 0;
}
