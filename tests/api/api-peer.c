/* SPDX-License-Identifier: MIT */
/*
 * api-peer: one domain's side of libIVC's API tests, run under ivc-sim.
 *
 *   api-peer serve SCENARIO [ARGS]           (listening side)
 *   api-peer connect SERVER SCENARIO [ARGS]  (connecting side)
 *   api-peer now                             (CLOCK_MONOTONIC in ms)
 *
 * Scenarios: dirmode, sizes, bulk, mismatch, inflight, timeouts, poll,
 * many, victim, evloop, ... (see test-api.sh). Exit 0 when every expectation held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ivc.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#define CONNECT_MS 10000
#define IO_MS 10000

static struct ivc_ctx *ctx;
static int connect_ms = CONNECT_MS; /* IVC_TEST_CONNECT_MS overrides */
static bool server;
static uint32_t peer_dom;
static const char *scenario;

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s %s (dom%u): ", server ? "serve" : "connect", scenario,
		ctx ? ivc_domid(ctx) : 0u);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#include "check.h"

static int64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
	return now_us() / 1000;
}

/* A pattern both sides can regenerate: byte i of stream s. */
static uint8_t pat(uint64_t s, uint64_t i)
{
	uint64_t x = (i / 8 + 1) * 0x9e3779b97f4a7c15ull ^ (s * 0xbf58476d1ce4e5b9ull);
	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	return (uint8_t)(x >> (8 * (i % 8)));
}

static void fill(uint8_t *b, uint64_t s, uint64_t pos, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = pat(s, pos + i);
}

static bool check(const uint8_t *b, uint64_t s, uint64_t pos, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(s, pos + i))
			return false;
	return true;
}

/* The listener for name, accepting one channel; or the connection to it. */
static struct ivc_chan *rendezvous(const char *name, const struct ivc_type *t, enum ivc_dir ldir,
				   const struct ivc_opts *o)
{
	struct ivc_chan *c;
	int err;

	if (server) {
		struct ivc_listener *l;
		CHECK_EQ(ivc_listen(ctx, name, t, ldir, o, &l), 0);
		err = ivc_accept(l, connect_ms, &c);
		/* IVC_TEST_KEEP_LISTENER: the service stays (and its watch with
		 * it) until the process ends. */
		if (!getenv("IVC_TEST_KEEP_LISTENER"))
			ivc_listener_close(l);
	} else {
		enum ivc_dir cdir = ldir == IVC_IN ? IVC_OUT : ldir == IVC_OUT ? IVC_IN : IVC_INOUT;
		err = ivc_connect(ctx, peer_dom, name, t, cdir, NULL, connect_ms, &c);
	}
	if (err) {
		printf("rendezvous error %s\n", strerror(-err));
		fflush(stdout);
		fail("rendezvous on %s: %s", name, strerror(-err));
	}
	return c;
}

/* Sends n messages (or bytes in stream mode) of stream s; zero-length
 * messages included. */
static void send_all(struct ivc_chan *c, enum ivc_mode m, uint64_t s, uint64_t total, size_t max)
{
	static uint8_t buf[1 << 16];
	uint64_t pos = 0, seed = s + 7;

	for (uint64_t k = 0; pos < total; k++) {
		size_t len =
		    (size_t)((seed = seed * 6364136223846793005ull + 1442695040888963407ull) >>
			     40) %
		    (max + 1);
		if (len > total - pos)
			len = (size_t)(total - pos);
		if (m == IVC_STREAM && len == 0)
			len = 1;
		fill(buf, s, pos, len);
		if (m == IVC_MESSAGE) {
			CHECK_EQ(ivc_send(c, buf, len, IO_MS), 0);
			pos += len;
		} else {
			ssize_t w = ivc_write(c, buf, len, IO_MS);
			if (w <= 0)
				fail("write: %s", strerror((int)-w));
			pos += (uint64_t)w;
		}
	}
}

static void recv_all(struct ivc_chan *c, enum ivc_mode m, uint64_t s, uint64_t total, size_t max)
{
	static uint8_t buf[1 << 16];
	uint64_t pos = 0, seed = s + 7;

	while (pos < total) {
		if (m == IVC_MESSAGE) {
			size_t len = (size_t)((seed = seed * 6364136223846793005ull +
						      1442695040888963407ull) >>
					      40) %
				     (max + 1);
			if (len > total - pos)
				len = (size_t)(total - pos);
			ssize_t r = ivc_recv(c, buf, sizeof buf, IO_MS);
			CHECK_EQ(r, (ssize_t)len);
			if (!check(buf, s, pos, len))
				fail("message at %llu corrupt", (unsigned long long)pos);
			pos += len;
		} else {
			ssize_t r = ivc_read(c, buf, max, IO_MS);
			if (r <= 0)
				fail("read: %s", r ? strerror((int)-r) : "EOF");
			if (!check(buf, s, pos, (size_t)r))
				fail("stream at %llu corrupt", (unsigned long long)pos);
			pos += (uint64_t)r;
		}
	}
}

/* ---- scenarios ---- */

/* Every direction x mode: data flows where declared, nowhere else;
 * message sizes 0..max, and max+1 refused. */
static void sc_dirmode(void)
{
	static const enum ivc_dir dirs[] = { IVC_IN, IVC_OUT, IVC_INOUT };
	uint8_t b[8] = { 0 };
	struct ivc_type ty = { "test.opts", 1, IVC_MESSAGE };
	struct ivc_opts future = { .reserved = { 0, 0, 7 } };
	struct ivc_listener *fl;
	struct ivc_chan *fc;

	/* An option this library does not know (a reserved word set) is
	 * refused, not ignored. */
	CHECK_EQ(ivc_listen(ctx, "opts", &ty, IVC_INOUT, &future, &fl), -EINVAL);
	CHECK_EQ(ivc_connect(ctx, 0, "opts", &ty, IVC_INOUT, &future, 0, &fc), -EINVAL);

	for (int m = 0; m < 2; m++)
		for (int d = 0; d < 3; d++) {
			char name[32];
			struct ivc_type t = { "test.dirmode", 1, m ? IVC_STREAM : IVC_MESSAGE };
			struct ivc_opts o = { .tx_ring = 16384,
					      .rx_ring = 16384,
					      .max_msg = m ? 0 : 4000 };
			snprintf(name, sizeof name, "dm%d%d", m, d);
			struct ivc_chan *c = rendezvous(name, &t, dirs[d], &o);
			enum ivc_dir me = ivc_chan_dir(c);
			uint64_t total = m ? 300000 : 200000;
			/* Listener's stream is 1, client's 2; sequentially, listener
			 * first, so a one-way channel never waits on itself. */
			bool lsend = dirs[d] & IVC_OUT, csend = dirs[d] & IVC_IN;
			if (server && lsend)
				send_all(c, t.mode, 1, total, m ? 9000 : 4000);
			if (!server && lsend)
				recv_all(c, t.mode, 1, total, m ? 9000 : 4000);
			if (!server && csend)
				send_all(c, t.mode, 2, total, m ? 9000 : 4000);
			if (server && csend)
				recv_all(c, t.mode, 2, total, m ? 9000 : 4000);
			if (!(me & IVC_OUT))
				CHECK_EQ(m ? ivc_write(c, b, 1, 0) : ivc_send(c, b, 1, 0), -EBADF);
			if (!(me & IVC_IN))
				CHECK_EQ(m ? ivc_read(c, b, 1, 0) : ivc_recv(c, b, 1, 0), -EBADF);
			if (!m && (me & IVC_OUT)) {
				static uint8_t big[4001];
				CHECK_EQ(ivc_send(c, big, 4001, 0), -EMSGSIZE);
				CHECK_EQ(ivc_send(c, big, 4000, IO_MS), 0);
				CHECK_EQ(ivc_send(c, big, 0, IO_MS), 0);
			}
			if (!m && (me & IVC_IN) && (server ? csend : lsend)) {
				/* the peer's last two: max size, then empty */
				static uint8_t big[4000];
				CHECK_EQ(ivc_recv(c, big, 3999, IO_MS),
					 -EMSGSIZE); /* stays queued */
				CHECK_EQ(ivc_recv(c, big, 4000, IO_MS), 4000);
				CHECK_EQ(ivc_recv(c, big, 0, IO_MS), 0);
			}
			if (dirs[d] & IVC_IN) {
				/* The listener can receive: it waits for the client's
				 * close, so the client first sees nothing, not EOF. */
				if (!server) {
					CHECK_EQ(m ? ivc_read(c, b, 1, 0) : ivc_recv(c, b, 1, 0),
						 me & IVC_IN ? -EAGAIN : -EBADF);
				} else {
					CHECK_EQ(m ? ivc_read(c, b, 1, IO_MS)
						   : ivc_recv(c, b, 1, IO_MS),
						 m ? 0 : -EPIPE);
				}
			} else if (!server) {
				/* An OUT-only listener closes at once: the client
				 * drains, then sees end of stream. */
				CHECK_EQ(m ? ivc_read(c, b, 1, IO_MS) : ivc_recv(c, b, 1, IO_MS),
					 m ? 0 : -EPIPE);
			}
			CHECK_EQ(ivc_chan_close(c), 0);
		}
}

/* Ring sizes from one page to 16 MiB: a maximum-size message each way. */
static void sc_sizes(void)
{
	static uint8_t buf[16u << 20];

	for (uint32_t order = 12; order <= 24; order++) {
		uint32_t size = 1u << order, max = size - 4;
		struct ivc_type t = { "test.sizes", 1, IVC_MESSAGE };
		struct ivc_opts o = { .tx_ring = size, .rx_ring = size, .max_msg = max };
		char name[32];
		snprintf(name, sizeof name, "size%u", order);
		struct ivc_chan *c = rendezvous(name, &t, IVC_INOUT, &o);
		struct ivc_stats st;
		memset(&st, 0xa5, sizeof st);
		CHECK_EQ(ivc_stats(c, &st), 0);
		for (size_t k = 0; k < sizeof st.reserved / sizeof st.reserved[0]; k++)
			CHECK_EQ(st.reserved[k], 0); /* room to grow reads zero */
		CHECK_EQ(st.tx_ring, size);
		CHECK_EQ(st.rx_ring, size);
		CHECK_EQ(st.max_msg_tx, max);
		for (int round = 0; round < 2; round++) {
			if (server == (round == 0)) {
				fill(buf, order, round, max);
				CHECK_EQ(ivc_send(c, buf, max, IO_MS), 0);
			} else {
				CHECK_EQ(ivc_recv(c, buf, max, IO_MS), (ssize_t)max);
				if (!check(buf, order, (uint64_t)round, max))
					fail("order %u corrupt", order);
			}
		}
		/* random traffic, three ring-fulls */
		if (server)
			send_all(c, IVC_MESSAGE, order, 3ull * size, max < 65536 ? max : 65536);
		else
			recv_all(c, IVC_MESSAGE, order, 3ull * size, max < 65536 ? max : 65536);
		if (!server) /* the listener closes last */
			CHECK_EQ(ivc_chan_close(c), 0);
		else {
			CHECK_EQ(ivc_recv(c, buf, 1, IO_MS), -EPIPE);
			CHECK_EQ(ivc_chan_close(c), 0);
		}
	}
}

/* 1 GiB (or BYTES) checksummed each way at once on one channel, driven
 * with timeout 0 and epoll on the channel's fd. */
static void sc_bulk(uint64_t total, enum ivc_mode m)
{
	struct ivc_type t = { "test.bulk", 1, m };
	struct ivc_opts o = { .tx_ring = 1u << 18,
			      .rx_ring = 1u << 18,
			      .max_msg = m == IVC_MESSAGE ? 65536 : 0 };
	struct ivc_chan *c = rendezvous("bulk", &t, IVC_INOUT, &o);
	static uint8_t out[65536], in[65536];
	uint64_t ts = server ? 11 : 12, rs = server ? 12 : 11;
	uint64_t sent = 0, rcvd = 0, tseed = ts, rseed = rs;
	size_t want = 0, expect = 0;
	bool have_want = false, have_expect = false;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	int64_t t0 = now_ms();

	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, ivc_chan_fd(c), &ev), 0);
	while (sent < total || rcvd < total) {
		bool moved = false;
		while (sent < total) {
			if (!have_want) {
				want =
				    (size_t)((tseed = tseed * 6364136223846793005ull + 1) >> 40) %
				    65536;
				if (want > total - sent)
					want = (size_t)(total - sent);
				if (m == IVC_STREAM && !want)
					want = 1;
				fill(out, ts, sent, want);
				have_want = true;
			}
			long r = m == IVC_MESSAGE ? ivc_send(c, out, want, 0)
						  : ivc_write(c, out, want, 0);
			if (r == -EAGAIN)
				break;
			if (r < 0)
				fail("send: %s", strerror((int)-r));
			if (m == IVC_STREAM && (size_t)r < want) {
				memmove(out, out + r, want - (size_t)r);
				want -= (size_t)r;
			} else {
				have_want = false;
			}
			sent += m == IVC_MESSAGE ? want : (uint64_t)r;
			moved = true;
		}
		while (rcvd < total) {
			long r;
			if (m == IVC_MESSAGE) {
				if (!have_expect) {
					expect =
					    (size_t)((rseed = rseed * 6364136223846793005ull + 1) >>
						     40) %
					    65536;
					if (expect > total - rcvd)
						expect = (size_t)(total - rcvd);
					have_expect = true;
				}
				r = ivc_recv(c, in, sizeof in, 0);
				if (r >= 0) {
					CHECK_EQ(r, (long)expect);
					have_expect = false;
				}
			} else {
				r = ivc_read(c, in, sizeof in, 0);
			}
			if (r == -EAGAIN)
				break;
			if (r < 0)
				fail("recv: %s", strerror((int)-r));
			if (!check(in, rs, rcvd, (size_t)r))
				fail("corrupt at %llu", (unsigned long long)rcvd);
			rcvd += (uint64_t)r;
			moved = true;
		}
		if (!moved && epoll_wait(ep, &ev, 1, IO_MS) == 0)
			fail("epoll: no event in %d ms (sent %llu, received %llu)", IO_MS,
			     (unsigned long long)sent, (unsigned long long)rcvd);
	}
	struct ivc_stats st;
	CHECK_EQ(ivc_stats(c, &st), 0);
	CHECK_EQ(st.tx_bytes, total);
	CHECK_EQ(st.rx_bytes, total);
	printf("bulk %s: %llu bytes each way in %.2f s, %llu signals sent, %llu sleeps\n",
	       m == IVC_MESSAGE ? "message" : "stream", (unsigned long long)total,
	       (double)(now_ms() - t0) / 1000.0, (unsigned long long)st.notify_tx,
	       (unsigned long long)st.waits);
	close(ep);
	if (!server)
		CHECK_EQ(ivc_chan_close(c), 0);
	else {
		CHECK_EQ(m == IVC_MESSAGE ? ivc_recv(c, in, 1, IO_MS) : ivc_read(c, in, 1, IO_MS),
			 m == IVC_MESSAGE ? -EPIPE : 0);
		CHECK_EQ(ivc_chan_close(c), 0);
	}
}

/* Mismatched type, version, mode, direction or sizes are refused with
 * their errors; the listener keeps serving and a right client gets in. */
static void sc_mismatch(void)
{
	struct ivc_type t = { "test.typed", 3, IVC_MESSAGE };

	if (server) {
		struct ivc_listener *l;
		struct ivc_chan *c;
		struct ivc_opts o = { .tx_ring = 8192, .rx_ring = 8192, .max_msg = 1000 };
		CHECK_EQ(ivc_listen(ctx, "typed", &t, IVC_OUT, &o, &l), 0);
		CHECK_EQ(ivc_listen(ctx, "typed", &t, IVC_OUT, &o, &l) == -EEXIST, 1);
		/* Service names are XenStore path elements: no '.', no '/'. */
		CHECK_EQ(ivc_listen(ctx, "my.typed", &t, IVC_OUT, &o, &l), -EINVAL);
		CHECK_EQ(ivc_accept(l, CONNECT_MS, &c), 0);
		CHECK_EQ(ivc_send(c, "ok", 2, IO_MS), 0);
		/* Until the client has closed (sending is one-way here). */
		char b[4];
		while (ivc_send(c, b, 0, 50) == 0)
			usleep(1000);
		ivc_chan_close(c);
		ivc_listener_close(l);
		return;
	}
	struct ivc_chan *c;
	struct ivc_type bad_name = { "test.other", 3, IVC_MESSAGE };
	struct ivc_type bad_ver = { "test.typed", 4, IVC_MESSAGE };
	struct ivc_type bad_mode = { "test.typed", 3, IVC_STREAM };
	struct ivc_opts too_big = { .tx_ring = 0, .rx_ring = 16384, .max_msg = 0 },
			msg_big = { .tx_ring = 0, .rx_ring = 0, .max_msg = 2000 };
	CHECK_EQ(ivc_connect(ctx, peer_dom, "typed", &bad_name, IVC_IN, NULL, CONNECT_MS, &c),
		 -EPROTOTYPE);
	CHECK_EQ(ivc_connect(ctx, peer_dom, "typed", &bad_ver, IVC_IN, NULL, CONNECT_MS, &c),
		 -EPROTOTYPE);
	CHECK_EQ(ivc_connect(ctx, peer_dom, "typed", &bad_mode, IVC_IN, NULL, CONNECT_MS, &c),
		 -EPROTOTYPE);
	CHECK_EQ(ivc_connect(ctx, peer_dom, "typed", &t, IVC_OUT, NULL, CONNECT_MS, &c),
		 -EPROTOTYPE);
	CHECK_EQ(ivc_connect(ctx, peer_dom, "typed", &t, IVC_INOUT, NULL, CONNECT_MS, &c),
		 -EPROTOTYPE);
	CHECK_EQ(ivc_connect(ctx, peer_dom, "typed", &t, IVC_IN, &too_big, CONNECT_MS, &c),
		 -EMSGSIZE);
	CHECK_EQ(ivc_connect(ctx, peer_dom, "typed", &t, IVC_IN, &msg_big, CONNECT_MS, &c),
		 -EMSGSIZE);
	CHECK_EQ(ivc_connect(ctx, peer_dom, "nosuch", &t, IVC_IN, NULL, 300, &c), -ETIMEDOUT);
	CHECK_EQ(ivc_connect(ctx, peer_dom, "bad/name", &t, IVC_IN, NULL, 300, &c), -EINVAL);
	CHECK_EQ(ivc_connect(ctx, peer_dom, "typed", &t, IVC_IN, NULL, CONNECT_MS, &c), 0);
	char b[8];
	CHECK_EQ(ivc_recv(c, b, sizeof b, IO_MS), 2);
	CHECK_EQ(memcmp(b, "ok", 2), 0);
	CHECK_EQ(ivc_chan_type(c)->version, 3);
	ivc_chan_close(c);
}

/* Close with data in flight: everything sent before close arrives. */
static void sc_inflight(void)
{
	for (int m = 0; m < 2; m++) {
		struct ivc_type t = { "test.inflight", 1, m ? IVC_STREAM : IVC_MESSAGE };
		struct ivc_opts o = { .tx_ring = 1u << 20,
				      .rx_ring = 4096,
				      .max_msg = m ? 0 : 1000 };
		struct ivc_chan *c = rendezvous(m ? "inflight-s" : "inflight-m", &t, IVC_OUT, &o);
		uint64_t total = m ? 900000 : 500000;
		uint8_t b[2000];
		if (server) {
			send_all(c, t.mode, 5, total, 1000); /* fits in the 1 MiB ring */
			CHECK_EQ(ivc_chan_close(c), 0);      /* at once, data still queued */
		} else {
			usleep(300000); /* let the listener close first */
			recv_all(c, t.mode, 5, total, 1000);
			CHECK_EQ(m ? ivc_read(c, b, sizeof b, IO_MS)
				   : ivc_recv(c, b, sizeof b, IO_MS),
				 m ? 0 : -EPIPE);
			CHECK_EQ(m ? ivc_read(c, b, sizeof b, 0) : ivc_recv(c, b, sizeof b, 0),
				 m ? 0 : -EPIPE);
			CHECK_EQ(ivc_chan_close(c), 0);
		}
	}
}

/* Timeouts and non-blocking calls answer in time. */
static void sc_timeouts(void)
{
	struct ivc_type t = { "test.time", 1, IVC_MESSAGE };
	struct ivc_opts o = { .tx_ring = 4096, .rx_ring = 4096, .max_msg = 1000 };
	uint8_t b[1000] = { 0 };

	if (server) {
		struct ivc_listener *l;
		struct ivc_chan *c;
		CHECK_EQ(ivc_listen(ctx, "time", &t, IVC_INOUT, &o, &l), 0);
		int64_t t0 = now_ms();
		CHECK_EQ(ivc_accept(l, 0, &c), -EAGAIN);
		CHECK_EQ(ivc_accept(l, 200, &c), -ETIMEDOUT);
		if (now_ms() - t0 < 190 || now_ms() - t0 > 1500)
			fail("accept timeout took %lld ms", (long long)(now_ms() - t0));
		printf("listener-ready\n");
		fflush(stdout);
		CHECK_EQ(ivc_accept(l, CONNECT_MS, &c), 0);
		/* fill the client's ring; it does not read yet */
		while (ivc_send(c, b, 1000, 0) == 0)
			;
		CHECK_EQ(ivc_send(c, b, 1000, 0), -EAGAIN);
		t0 = now_ms();
		CHECK_EQ(ivc_send(c, b, 1000, 150), -ETIMEDOUT);
		if (now_ms() - t0 < 140 || now_ms() - t0 > 1500)
			fail("send timeout took %lld ms", (long long)(now_ms() - t0));
		CHECK_EQ(ivc_send(c, b, 1, IO_MS), 0); /* unblocks once the client reads */
		CHECK_EQ(ivc_recv(c, b, sizeof b, IO_MS), -EPIPE);
		ivc_chan_close(c);
		ivc_listener_close(l);
		return;
	}
	struct ivc_chan *c;
	usleep(1000000); /* after the listener's accept timeouts */
	CHECK_EQ(ivc_connect(ctx, peer_dom, "time", &t, IVC_INOUT, NULL, CONNECT_MS, &c), 0);
	usleep(400000); /* the listener fills our ring and times out */
	CHECK_EQ(ivc_recv(c, b, sizeof b, 0), 1000);
	int n = 1;
	while (ivc_recv(c, b, sizeof b, 1000) >= 0 && ++n < 5)
		;
	/* nothing more will come */
	while (ivc_recv(c, b, sizeof b, 0) >= 0)
		;
	int64_t t0 = now_ms();
	CHECK_EQ(ivc_recv(c, b, sizeof b, 150), -ETIMEDOUT);
	if (now_ms() - t0 < 140 || now_ms() - t0 > 1500)
		fail("recv timeout took %lld ms", (long long)(now_ms() - t0));
	CHECK_EQ(ivc_recv(c, b, sizeof b, 0), -EAGAIN);
	ivc_chan_close(c);
}

/* Many channels: each of the domains listed connects to each, several
 * channels per pair, all at once; each carries an echo exchange. */
struct job {
	struct ivc_chan *c;
	bool serve;
	int ok;
};

static void *echo_job(void *arg)
{
	struct job *j = arg;
	uint8_t b[3000], r[3000];

	for (int i = 0; i < 300; i++) {
		size_t len = (size_t)(i * 37) % sizeof b;
		if (j->serve) {
			ssize_t n = ivc_recv(j->c, b, sizeof b, IO_MS);
			if (n < 0)
				return NULL;
			if (ivc_send(j->c, b, (size_t)n, IO_MS))
				return NULL;
		} else {
			fill(b, (uint64_t)i, 0, len);
			if (ivc_send(j->c, b, len, IO_MS) ||
			    ivc_recv(j->c, r, sizeof r, IO_MS) != (ssize_t)len || memcmp(b, r, len))
				return NULL;
		}
	}
	j->ok = 1;
	return NULL;
}

/* The jobs of sc_many, filled by the connecting main thread and the
 * accepting thread. */
static struct job jobs[512];
static pthread_t job_th[512];
static int njobs;
static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;

static void job_start(struct ivc_chan *c, bool serve)
{
	pthread_mutex_lock(&jobs_lock);
	jobs[njobs] = (struct job){ c, serve, 0 };
	pthread_create(&job_th[njobs], NULL, echo_job, &jobs[njobs]);
	njobs++;
	pthread_mutex_unlock(&jobs_lock);
}

struct acceptor {
	struct ivc_listener *l;
	int expect, got, err;
};

/* Accepts the expected clients while the main thread connects: a
 * listener that only answers between its own connects can fall into step
 * with its peers doing the same, each waiting for the other (seen under
 * ASan with four domains). */
static void *acceptor(void *arg)
{
	struct acceptor *a = arg;

	while (a->got < a->expect) {
		struct ivc_chan *c;
		a->err = ivc_accept(a->l, CONNECT_MS, &c);
		if (a->err)
			return NULL;
		job_start(c, true);
		a->got++;
	}
	return NULL;
}

static void sc_many(int argc, char **argv)
{
	/* argv: per-pair channel count, then the domids of all participants */
	int per = atoi(argv[0]), n = argc - 1, me_idx = -1;
	uint32_t doms[64];
	struct ivc_type t = { "test.many", 1, IVC_MESSAGE };
	struct ivc_opts o = { .tx_ring = 16384, .rx_ring = 16384, .max_msg = 3000 };
	struct acceptor acc = { 0 };
	pthread_t ath;

	for (int i = 0; i < n; i++) {
		doms[i] = (uint32_t)atoi(argv[i + 1]);
		if (doms[i] == ivc_domid(ctx))
			me_idx = i;
	}
	if (me_idx < 0)
		fail("not in the list");
	CHECK_EQ(ivc_listen(ctx, "many", &t, IVC_INOUT, &o, &acc.l), 0);
	acc.expect = per * (n - 1);
	pthread_create(&ath, NULL, acceptor, &acc);
	/* Connect to every other domain `per` times. */
	for (int k = 0; k < per; k++)
		for (int i = 0; i < n; i++) {
			struct ivc_chan *c;
			int err;
			if (i == me_idx)
				continue;
			err =
			    ivc_connect(ctx, doms[i], "many", &t, IVC_INOUT, NULL, connect_ms, &c);
			if (err)
				fail("connect to dom%u: %s", doms[i], strerror(-err));
			job_start(c, false);
		}
	pthread_join(ath, NULL);
	if (acc.err)
		fail("accept %d/%d: %s", acc.got, acc.expect, strerror(-acc.err));
	int bad = 0, nj = njobs;
	for (int i = 0; i < nj; i++) {
		pthread_join(job_th[i], NULL);
		bad += !jobs[i].ok;
	}
	/* Clients close first, then the serving ends see EOF and close. */
	for (int i = 0; i < nj; i++)
		if (!jobs[i].serve)
			ivc_chan_close(jobs[i].c);
	for (int i = 0; i < nj; i++)
		if (jobs[i].serve) {
			uint8_t b[4];
			if (ivc_recv(jobs[i].c, b, sizeof b, IO_MS) != -EPIPE)
				bad++;
			ivc_chan_close(jobs[i].c);
		}
	ivc_listener_close(acc.l);
	if (bad)
		fail("%d of %d channels failed", bad, nj);
	printf("many: dom%u ran %d channels\n", ivc_domid(ctx), nj);
}

/* victim: stream to the peer until one of us is killed; the survivor's
 * blocked call must fail with ECONNRESET (it prints when). */
static void sc_victim(void)
{
	struct ivc_type t = { "test.victim", 1, IVC_MESSAGE };
	struct ivc_opts o = { .tx_ring = 8192, .rx_ring = 8192, .max_msg = 2000 };
	struct ivc_chan *c = rendezvous("victim", &t, IVC_INOUT, &o);
	uint8_t b[2000] = { 0 };
	char fdp[64], kind[128] = "";

	/* What the channel's fd is (an eventfd the library's pump sets):
	 * shown in the log; the test counts watches with ivc-sim stats. */
	snprintf(fdp, sizeof fdp, "/proc/self/fd/%d", ivc_chan_fd(c));
	if (readlink(fdp, kind, sizeof kind - 1) < 0)
		snprintf(kind, sizeof kind, "?");
	printf("chan-fd %s\n", kind);
	printf("ready\n");
	fflush(stdout);
	for (uint64_t i = 0;; i++) {
		long r;
		/* Alternate sending and blocking receives, slowly enough that
		 * each side spends most of its time blocked. */
		if (server) {
			r = ivc_send(c, b, i % 2000, -1);
			if (!r && i % 64 == 0)
				usleep(2000);
		} else {
			r = ivc_recv(c, b, sizeof b, -1);
		}
		if (r < 0) {
			printf("error %s at %lld\n", strerror((int)-r), (long long)now_ms());
			fflush(stdout);
			/* IVC_TEST_HOST_STOPS: the sim host is stopped under us
			 * (its domains die with it): the call must end, with
			 * the platform's error, or the peer's death if seen
			 * first. */
			if (getenv("IVC_TEST_HOST_STOPS") && r == -ESRCH)
				r = -ECONNRESET;
			CHECK_EQ(r, -ECONNRESET);
			if (getenv("IVC_TEST_HOST_STOPS"))
				ivc_chan_close(c); /* releases what it can */
			else
				CHECK_EQ(ivc_chan_close(c), 0);
			return;
		}
	}
}

/* bigwrite: a stream write larger than the whole ring, on a full ring,
 * honours its timeout (it used to spin) and then goes through in parts. */
static void sc_bigwrite(void)
{
	struct ivc_type t = { "test.bigwrite", 1, IVC_STREAM };
	struct ivc_opts o = { .tx_ring = 4096, .rx_ring = 0, .max_msg = 0 };
	struct ivc_chan *c = rendezvous("bigwrite", &t, IVC_OUT, &o);
	static uint8_t buf[100000];

	if (server) {
		CHECK_EQ(ivc_write(c, buf, 4096, IO_MS), 4096);
		int64_t t0 = now_ms();
		CHECK_EQ(ivc_write(c, buf, sizeof buf, 0), -EAGAIN);
		if (now_ms() - t0 > 100)
			fail("non-blocking write took %lld ms", (long long)(now_ms() - t0));
		t0 = now_ms();
		CHECK_EQ(ivc_write(c, buf, sizeof buf, 300), -ETIMEDOUT);
		if (now_ms() - t0 < 290 || now_ms() - t0 > 1500)
			fail("write timeout took %lld ms", (long long)(now_ms() - t0));
		printf("full\n");
		fflush(stdout);
		size_t done = 0;
		while (done < sizeof buf) {
			ssize_t w = ivc_write(c, buf + done, sizeof buf - done, IO_MS);
			if (w <= 0)
				fail("write: %s", strerror((int)-w));
			done += (size_t)w;
		}
		CHECK_EQ(ivc_chan_close(c), 0);
		return;
	}
	usleep(800000); /* let the listener fill the ring and time out */
	size_t got = 0;
	ssize_t r;
	while ((r = ivc_read(c, buf, sizeof buf, IO_MS)) > 0)
		got += (size_t)r;
	CHECK_EQ(r, 0);
	CHECK_EQ(got, 4096 + sizeof buf);
	CHECK_EQ(ivc_chan_close(c), 0);
}

/* poller: like victim, but the survivor only polls its fd and calls with
 * timeout 0; it must still learn of the peer's death. */
static void sc_poller(void)
{
	struct ivc_type t = { "test.poller", 1, IVC_MESSAGE };
	struct ivc_chan *c = rendezvous("poller", &t, IVC_INOUT, NULL);
	uint8_t b[64];

	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd pfd = { .fd = ivc_chan_fd(c), .events = POLLIN };
		long r;
		poll(&pfd, 1, 20);
		r = server ? ivc_send(c, b, 8, 0) : ivc_recv(c, b, sizeof b, 0);
		if (r == -EAGAIN || r >= 0)
			continue;
		printf("error %s at %lld\n", strerror((int)-r), (long long)now_ms());
		fflush(stdout);
		CHECK_EQ(r, -ECONNRESET);
		CHECK_EQ(ivc_chan_close(c), 0);
		return;
	}
}

/* duplex: the listener sends N checked messages through a 4 KiB ring
 * and waits for one answer, with timeout-0 calls and poll() on the
 * channel's descriptor only (one descriptor serves both directions); the
 * client reads them (blocking) and answers at the end. After each full
 * ring the listener pauses before its receive call, so that the client's
 * room signal lands in between: a receive call that cleared that wake-up
 * left the listener asleep for ever (ivc cat/serve did). */
static void sc_duplex(void)
{
	struct ivc_type t = { "test.duplex", 1, IVC_MESSAGE };
	struct ivc_opts o = { .tx_ring = 4096, .rx_ring = 4096 };
	struct ivc_chan *c = rendezvous("duplex", &t, IVC_INOUT, server ? &o : NULL);
	enum { N = 2000 };
	uint8_t buf[512];
	long i, r, answers = 0;

	for (i = 0; !server && i < N; i++) {
		if (i % 40 == 0)
			usleep(3000); /* let the listener fill the ring */
		r = ivc_recv(c, buf, sizeof buf, 10000);
		CHECK_EQ(r, 1 + i * 7 % 500);
		if (buf[0] != (uint8_t)i || buf[r - 1] != (uint8_t)i)
			fail("message %ld: wrong bytes", i);
	}
	if (!server) {
		CHECK_EQ(ivc_send(c, "done", 4, 10000), 0);
		CHECK_EQ(ivc_recv(c, buf, sizeof buf, 10000), -EPIPE);
	}
	for (i = 0; server && (i < N || !answers);) {
		for (; i < N; i++) {
			size_t len = 1 + (size_t)(i * 7 % 500);
			memset(buf, (int)(i & 0xff), len);
			r = ivc_send(c, buf, len, 0);
			if (r == -EAGAIN) {
				usleep(2000); /* the client makes room and signals */
				break;
			}
			CHECK_EQ(r, 0);
		}
		r = ivc_recv(c, buf, sizeof buf, 0);
		if (r == 4)
			answers++;
		else
			CHECK_EQ(r, -EAGAIN);
		if (i < N || !answers) {
			struct pollfd p = { ivc_chan_fd(c), POLLIN, 0 };
			CHECK_EQ(poll(&p, 1, -1), 1);
		}
	}
	printf("duplex: %d messages, checked\n", N);
	fflush(stdout);
	CHECK_EQ(ivc_chan_close(c), 0);
}

/* spin: ivc_chan_set_spin. The client spins (10 ms, the most) in its
 * receives of a ping-pong with an echoing listener that answers after
 * 100 us, then in sends into a full 4 KiB ring that the listener drains
 * a message per 100 us. The spins must find the ring ready (spin_won) and spare the
 * sleeps: a receive that sleeps counts a wait, and without spinning
 * every receive of the ping-pong would. Bad arguments, timeout 0 and a
 * spin cut short by the call's timeout are checked on the way. */
static void sc_spin(void)
{
	struct ivc_type t = { "test.spin", 1, IVC_MESSAGE };
	struct ivc_opts o = { .tx_ring = 4096, .rx_ring = 4096 };
	struct ivc_chan *c = rendezvous("spin", &t, IVC_INOUT, server ? &o : NULL);
	enum { N = 300, M = 200 };
	struct ivc_stats s0, s1, s2;
	uint8_t buf[1024];
	ssize_t r;

	if (server) {
		/* Each echo and each receive 100 us late: the client always
		 * waits, well within its spin, however the machine schedules
		 * the two (a loaded one delayed the client past the echo, and
		 * its receives found the reply there without spinning). */
		for (int i = 0; i < N; i++) {
			CHECK_EQ(r = ivc_recv(c, buf, sizeof buf, IO_MS), 64);
			usleep(100);
			CHECK_EQ(ivc_send(c, buf, (size_t)r, IO_MS), 0);
		}
		for (int i = 0; i < M; i++) {
			usleep(100);
			CHECK_EQ(ivc_recv(c, buf, sizeof buf, IO_MS), 1000);
			if (buf[0] != (uint8_t)i || buf[999] != (uint8_t)i)
				fail("message %d: wrong bytes", i);
		}
		CHECK_EQ(ivc_recv(c, buf, sizeof buf, IO_MS), -EPIPE);
		CHECK_EQ(ivc_chan_close(c), 0);
		return;
	}
	CHECK_EQ(ivc_chan_set_spin(NULL, 0), -EINVAL);
	CHECK_EQ(ivc_chan_set_spin(c, IVC_SPIN_MAX_US + 1), -EINVAL);
	CHECK_EQ(ivc_chan_set_spin(c, IVC_SPIN_MAX_US), 0);
	CHECK_EQ(ivc_stats(c, &s0), 0);
	CHECK_EQ(ivc_recv(c, buf, sizeof buf, 0), -EAGAIN);    /* timeout 0: no spin */
	CHECK_EQ(ivc_recv(c, buf, sizeof buf, 5), -ETIMEDOUT); /* spins 5 ms only */
	CHECK_EQ(ivc_stats(c, &s1), 0);
	CHECK_EQ(s1.spin_won, s0.spin_won);
	CHECK_EQ(s1.spin_lost, s0.spin_lost + 1);
	for (int i = 0; i < N; i++) {
		memset(buf, i & 0xff, 64);
		CHECK_EQ(ivc_send(c, buf, 64, IO_MS), 0);
		CHECK_EQ(ivc_recv(c, buf, sizeof buf, IO_MS), 64);
		if (buf[0] != (uint8_t)i || buf[63] != (uint8_t)i)
			fail("echo %d: wrong bytes", i);
	}
	CHECK_EQ(ivc_stats(c, &s2), 0);
	printf("spin: ping-pong: %llu won, %llu lost, %llu sleeps for %d receives\n",
	       (unsigned long long)(s2.spin_won - s1.spin_won),
	       (unsigned long long)(s2.spin_lost - s1.spin_lost),
	       (unsigned long long)(s2.waits - s1.waits), N);
	if (s2.spin_won - s1.spin_won < N / 3 || s2.waits - s1.waits > N / 2)
		fail("spinning did not spare the sleeps");
	for (int i = 0; i < M; i++) {
		memset(buf, i & 0xff, 1000);
		CHECK_EQ(ivc_send(c, buf, 1000, IO_MS), 0);
	}
	CHECK_EQ(ivc_stats(c, &s1), 0);
	printf("spin: full ring: %llu won, %llu lost for %d sends\n",
	       (unsigned long long)(s1.spin_won - s2.spin_won),
	       (unsigned long long)(s1.spin_lost - s2.spin_lost), M);
	if (s1.spin_won == s2.spin_won)
		fail("no send spun into room");
	fflush(stdout);
	CHECK_EQ(ivc_chan_close(c), 0);
}

/* linger: a stream reader that drains what it was sent and finds the
 * ring empty naps before it asks for a signal (ivc_recv(3), NOTES); one
 * that answers between reads, or spins, never does. The client writes
 * 8 KiB in 64 B writes, three times; the listener reads each whole and
 * then once more into the empty ring (that read times out): after the
 * first (all of it in the ring by then) it must have napped, after the
 * second (a spin set) not, and in the third, 1 KiB pieces each answered
 * by a byte, not either. */
static uint64_t linger_round(struct ivc_chan *c, int round)
{
	enum { TOTAL = 8192, PIECE = 1024 };
	struct ivc_stats st;
	uint8_t buf[PIECE];
	size_t got = 0;

	if (round < 2)
		usleep(100000); /* the writer fills the ring meanwhile */

	while (got < TOTAL) {
		ssize_t r = ivc_read(c, buf, round == 2 ? PIECE - got % PIECE : sizeof buf, IO_MS);
		if (r <= 0)
			fail("round %d: read: %s", round, strerror((int)-r));
		for (ssize_t k = 0; k < r; k++)
			if (buf[k] != (uint8_t)(got + (size_t)k + (size_t)round))
				fail("round %d: byte %zu wrong", round, got + (size_t)k);
		got += (size_t)r;
		if (round == 2 && got % PIECE == 0)
			CHECK_EQ(ivc_write(c, "a", 1, IO_MS), 1);
	}
	CHECK_EQ(ivc_read(c, buf, 1, 50), -ETIMEDOUT);
	CHECK_EQ(ivc_stats(c, &st), 0);
	return st.lingers;
}

static void sc_linger(void)
{
	struct ivc_type t = { "test.linger", 1, IVC_STREAM };
	struct ivc_opts o = { .tx_ring = 4096, .rx_ring = 16384 };
	struct ivc_chan *c = rendezvous("linger", &t, IVC_INOUT, server ? &o : NULL);
	uint8_t buf[64];

	if (server) {
		uint64_t l0 = linger_round(c, 0);
		CHECK_EQ(ivc_write(c, "n", 1, IO_MS), 1);
		CHECK_EQ(ivc_chan_set_spin(c, 100), 0);
		uint64_t l1 = linger_round(c, 1);
		CHECK_EQ(ivc_chan_set_spin(c, 0), 0);
		CHECK_EQ(ivc_write(c, "n", 1, IO_MS), 1);
		uint64_t l2 = linger_round(c, 2);
		printf("linger: naps %llu, then %llu spinning, %llu answering\n",
		       (unsigned long long)l0, (unsigned long long)(l1 - l0),
		       (unsigned long long)(l2 - l1));
		fflush(stdout);
		if (l0 == 0 || l1 != l0 || l2 != l1)
			fail("naps: %llu, %llu, %llu", (unsigned long long)l0,
			     (unsigned long long)l1, (unsigned long long)l2);
		CHECK_EQ(ivc_chan_close(c), 0);
		return;
	}
	for (int round = 0; round < 3; round++) {
		for (size_t off = 0; off < 8192; off += sizeof buf) {
			for (size_t k = 0; k < sizeof buf; k++)
				buf[k] = (uint8_t)(off + k + (size_t)round);
			CHECK_EQ(ivc_write(c, buf, sizeof buf, IO_MS), (ssize_t)sizeof buf);
			if (round == 2 && (off + sizeof buf) % 1024 == 0)
				CHECK_EQ(ivc_read(c, buf, 1, IO_MS), 1);
		}
		if (round < 2)
			CHECK_EQ(ivc_read(c, buf, 1, IO_MS), 1);
	}
	CHECK_EQ(ivc_read(c, buf, 1, IO_MS), 0); /* the listener closed */
	CHECK_EQ(ivc_chan_close(c), 0);
}

/* lingerspin: a reader that finds the ring empty right after a large
 * message (16 KiB or more) spins before it naps (ivc_recv(3)), and the
 * spin finds the next message when the writer is at it. The client sends
 * phases of N messages, each after a 10 us pause, busy (a sleep would
 * outlast the spin): 32 KiB ones, whose empty rings must spin and mostly
 * see the next one come; 4 KiB ones, which do not spin while naps are
 * short (nap_ns at most 150 us); 32 KiB ones to a reader with a spin of
 * its own set, which takes that instead; and 4 KiB ones again, to a
 * reader whose naps a timer slack of 1 ms has made slow, which must
 * spin. A loaded machine can hold the writer off past every spin, or the
 * reader till the writer has sent all: a phase is run again, up to 8
 * times in all, after a pause growing from 0.2 s, until its spins find
 * the messages (the first and last) or its reader met an empty ring (the
 * second); the last one first reruns at once till a slow nap is timed. */
static void busy_us(int64_t us)
{
	int64_t end = now_us() + us;

	while (now_us() < end)
		;
}

static int64_t phase_us; /* how long the listener took for the last phase */

/* One phase; then the listener, from its figures since *st (updated),
 * tells the client whether to go on ('n') or to run it again ('r'). */
static char lingerspin_phase(struct ivc_chan *c, int phase, size_t len, uint8_t *buf,
			     struct ivc_stats *st,
			     char (*verdict)(const struct ivc_stats *, const struct ivc_stats *))
{
	enum { N = 200 };
	struct ivc_stats now;
	char v = 'n';
	int64_t t0 = now_us();

	if (!server) /* once: filling a message costs more than the pause */
		fill(buf, (uint64_t)phase, 0, len);
	for (int i = 0; i < N; i++) {
		uint32_t seq = (uint32_t)i;
		if (server) {
			CHECK_EQ(ivc_recv(c, buf, 65536, IO_MS), (ssize_t)len);
			for (size_t k = sizeof seq; k < len; k += 509)
				if (buf[k] != pat((uint64_t)phase, k))
					fail("phase %d, message %d: byte %zu wrong", phase, i, k);
			memcpy(&seq, buf, sizeof seq);
			if (seq != (uint32_t)i || buf[len - 1] != pat((uint64_t)phase, len - 1))
				fail("phase %d, message %d: wrong number or last byte", phase, i);
		} else {
			memcpy(buf, &seq, sizeof seq);
			busy_us(10);
			CHECK_EQ(ivc_send(c, buf, len, IO_MS), 0);
		}
	}
	if (server) { /* the next phase starts once these numbers are taken */
		phase_us = now_us() - t0;
		CHECK_EQ(ivc_stats(c, &now), 0);
		v = verdict(st, &now);
		*st = now;
		CHECK_EQ(ivc_send(c, &v, 1, IO_MS), 0);
	} else {
		CHECK_EQ(ivc_recv(c, buf, 65536, IO_MS), 1);
		v = (char)buf[0];
	}
	return v;
}

static int spin_tries;

static char large_spun(const struct ivc_stats *a, const struct ivc_stats *b)
{
	uint64_t spins = b->linger_spins - a->linger_spins, naps = b->lingers - a->lingers;

	printf("lingerspin: 32 KiB, try %d: %llu spins, %llu of them then napped, in %lld us\n",
	       ++spin_tries, (unsigned long long)spins, (unsigned long long)naps,
	       (long long)phase_us);
	fflush(stdout);
	if (spins >= 20 && naps <= spins / 2)
		return 'n';
	if (spin_tries < 8)
		return 'r';
	fail("32 KiB messages: the spins did not find the next one in 8 tries");
}

#define NAP_SLOW_NS 150000u /* libIVC/src/io.c */

static int small_tries;

/* A phase in which the reader never found the ring empty (held off by
 * load till the writer had sent all) tells nothing: run again ('r'). */
static char small_no_spin(const struct ivc_stats *a, const struct ivc_stats *b)
{
	uint64_t spins = b->linger_spins - a->linger_spins, naps = b->lingers - a->lingers;

	printf("lingerspin: 4 KiB, try %d: %llu spins, %llu naps, naps of %llu us\n", ++small_tries,
	       (unsigned long long)spins, (unsigned long long)naps,
	       (unsigned long long)(b->nap_ns / 1000));
	fflush(stdout);
	if (b->lingers && !b->nap_ns)
		fail("naps, none timed");
	if (b->nap_ns > NAP_SLOW_NS) /* a loaded machine: spins allowed */
		return 'n';
	if (spins)
		fail("4 KiB messages spun, naps of %llu us",
		     (unsigned long long)(b->nap_ns / 1000));
	if (naps)
		return 'n';
	if (small_tries < 8)
		return 'r';
	fail("4 KiB messages: the reader never found the ring empty in 8 tries");
}

/* Till a slow nap has been timed (one in eight; a phase naps only a few
 * times, each a millisecond while messages gather) the phase runs again
 * at once ('p'), up to 32 times; then as the first phase. */
static int primes;

static char small_slow_spun(const struct ivc_stats *a, const struct ivc_stats *b)
{
	uint64_t spins = b->linger_spins - a->linger_spins, naps = b->lingers - a->lingers;
	bool slow = b->nap_ns > NAP_SLOW_NS, priming = !slow && naps;

	printf("lingerspin: 4 KiB, slow naps, %s %d: %llu spins, %llu naps, naps of %llu us\n",
	       priming ? "priming" : "try", priming ? ++primes : ++spin_tries,
	       (unsigned long long)spins, (unsigned long long)naps,
	       (unsigned long long)(b->nap_ns / 1000));
	fflush(stdout);
	if (priming && primes < 32)
		return 'p';
	if (priming)
		fail("naps with a timer slack of 1 ms never timed above %u us", NAP_SLOW_NS / 1000);
	if (slow && spins >= 20 && naps <= spins / 2)
		return 'n';
	if (spin_tries < 8)
		return 'r';
	fail("4 KiB messages with slow naps: no spins found the next one in 8 tries");
}

/* A phase until the listener's verdict is 'n'. Both sides pause before
 * each 'r' (longer each time: passing load ends), not before a 'p'. */
static void phase_until(struct ivc_chan *c, int phase, size_t len, uint8_t *buf,
			struct ivc_stats *st,
			char (*verdict)(const struct ivc_stats *, const struct ivc_stats *))
{
	char v;

	for (int try = 1; (v = lingerspin_phase(c, phase, len, buf, st, verdict)) != 'n';)
		if (v == 'r') {
			nanosleep(&(struct timespec){ try / 5, try % 5 * 200000000L }, NULL);
			try++;
		}
}

static char own_spin(const struct ivc_stats *a, const struct ivc_stats *b)
{
	printf("lingerspin: own spin set: %llu linger spins, %llu naps, %llu own spins won\n",
	       (unsigned long long)(b->linger_spins - a->linger_spins),
	       (unsigned long long)(b->lingers - a->lingers),
	       (unsigned long long)(b->spin_won - a->spin_won));
	fflush(stdout);
	if (b->linger_spins != a->linger_spins || b->lingers != a->lingers)
		fail("a reader with its own spin lingered");
	if (b->spin_won == a->spin_won)
		fail("a reader with its own spin did not spin");
	return 'n';
}

/* The listener on the first CPU it may use, the client on the second:
 * on one CPU the reader's spin holds off the writer it waits for, and
 * the scheduler now and then put both there (a try of 18 spins, 17 of
 * them lost). Left to the scheduler with fewer than two CPUs. */
static void lingerspin_pin(void)
{
	cpu_set_t all, one;
	int want = server ? 0 : 1, seen = 0;

	if (sched_getaffinity(0, sizeof all, &all))
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &all) && seen++ == want) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			if (sched_setaffinity(0, sizeof one, &one) == 0)
				printf("lingerspin: on CPU %d\n", cpu);
			return;
		}
}

static void sc_lingerspin(void)
{
	struct ivc_type t = { "test.lingerspin", 1, IVC_MESSAGE };
	struct ivc_opts o = { .tx_ring = 4096, .rx_ring = 1 << 20 };
	struct ivc_chan *c = rendezvous("lingerspin", &t, IVC_INOUT, server ? &o : NULL);
	uint8_t *buf = malloc(65536);
	struct ivc_stats st;

	if (!buf)
		fail("memory");
	lingerspin_pin();
	CHECK_EQ(ivc_stats(c, &st), 0);
	phase_until(c, 0, 32768, buf, &st, large_spun);
	phase_until(c, 1, 4096, buf, &st, small_no_spin);
	if (server)
		CHECK_EQ(ivc_chan_set_spin(c, 1000), 0);
	lingerspin_phase(c, 2, 32768, buf, &st, own_spin);
	/* Naps made slow the way some platforms' timers make them: the
	 * reader's timer slack (its own thread's) at 1 ms. */
	if (server) {
		CHECK_EQ(ivc_chan_set_spin(c, 0), 0);
		if (prctl(PR_SET_TIMERSLACK, 1000000UL, 0, 0, 0))
			fail("PR_SET_TIMERSLACK: %s", strerror(errno));
	}
	spin_tries = 0;
	phase_until(c, 3, 4096, buf, &st, small_slow_spun);
	if (server)
		prctl(PR_SET_TIMERSLACK, 0UL, 0, 0, 0); /* 0: back to the default */
	CHECK_EQ(ivc_chan_close(c), 0);
	free(buf);
}

/* idle: a receiver that slept through a busy ping-pong (on sim, each
 * sleep then needs no timer: a tick bounds it, sim.c) and is then left
 * idle wakes only for its liveness checks, not at each tick besides.
 * Each check (every 50 ms) costs its thread three voluntary context
 * switches in sim: the sleep's end and two questions to the host (port
 * status, domain alive), each a round trip. Measured over 3 s: 175-odd;
 * with the ticks left on, 240-odd. The bound: 3.5 per 50 ms waited. */
static long own_switches(void)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/thread-self/status", "r");

	if (!f)
		fail("/proc/thread-self/status: %s", strerror(errno));
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
			break;
	fclose(f);
	if (v < 0)
		fail("/proc/thread-self/status: no voluntary_ctxt_switches");
	return v;
}

static void sc_idle(void)
{
	struct ivc_type t = { "test.idle", 1, IVC_MESSAGE };
	struct ivc_chan *c = rendezvous("idle", &t, IVC_INOUT, NULL);
	enum { N = 500, IDLE_MS = 3000 };
	uint8_t buf[64];
	long w0, w1, max;
	int64_t t0, took;

	if (server) {
		for (int i = 0; i < N; i++) {
			CHECK_EQ(ivc_recv(c, buf, sizeof buf, IO_MS), 64);
			CHECK_EQ(ivc_send(c, buf, 64, IO_MS), 0);
		}
		w0 = own_switches();
		t0 = now_ms();
		CHECK_EQ(ivc_recv(c, buf, sizeof buf, IO_MS), 4);
		w1 = own_switches();
		took = now_ms() - t0;
		max = (long)(took * 7 / 100); /* 3.5 per 50 ms */
		printf("idle: woke %ld times in %lld ms of waiting (at most %ld)\n", w1 - w0,
		       (long long)took, max);
		fflush(stdout);
		if (took < IDLE_MS / 2)
			fail("the wait ended too soon to count");
		if (w1 - w0 > max)
			fail("an idle receiver woke more than 3.5 times per 50 ms");
		CHECK_EQ(ivc_recv(c, buf, sizeof buf, IO_MS), -EPIPE);
		CHECK_EQ(ivc_chan_close(c), 0);
		return;
	}
	for (int i = 0; i < N; i++) {
		memset(buf, i & 0xff, sizeof buf);
		CHECK_EQ(ivc_send(c, buf, 64, IO_MS), 0);
		CHECK_EQ(ivc_recv(c, buf, sizeof buf, IO_MS), 64);
		if (buf[0] != (uint8_t)i || buf[63] != (uint8_t)i)
			fail("echo %d: wrong bytes", i);
	}
	nanosleep(&(struct timespec){ .tv_sec = IDLE_MS / 1000 }, NULL);
	CHECK_EQ(ivc_send(c, "wake", 4, IO_MS), 0);
	CHECK_EQ(ivc_chan_close(c), 0);
}

/* The pattern of the big stream scenarios (fill, check). */
#define BIG_STREAM 11u

/* Waits until the listener's receive ring of `ring` bytes is full. */
static void wait_full(struct ivc_chan *c, uint32_t ring, struct ivc_stats *s)
{
	for (int k = 0; k < 1000; k++) {
		CHECK_EQ(ivc_stats(c, s), 0);
		if (s->rx_used == ring)
			return;
		usleep(10000);
	}
	fail("the ring never filled: %u bytes", s->rx_used);
}

/* Reads from `got` bytes to `len`, then checks them all. */
static void read_to(struct ivc_chan *c, uint8_t *buf, size_t got, size_t len)
{
	while (got < len) {
		ssize_t r = ivc_read(c, buf + got, len - got, IO_MS);

		if (r <= 0)
			fail("read after %zu bytes: %zd", got, r);
		got += (size_t)r;
	}
	if (!check(buf, BIG_STREAM, 0, len))
		fail("%zu bytes read, not those written", len);
}

/* bigread: one ivc_read larger than 64 KiB of a full 1 MiB ring returns
 * all that is there, in order, and publishes its progress piece by piece
 * (ivc_read(3), NOTES: rx_msgs counts each piece), so that the writer,
 * blocked on the full ring meanwhile, is woken and finishes. */
static void sc_bigread(void)
{
	enum { RING = 1 << 20, MORE = 256 << 10, W = 4096, PIECES = RING / 65536 };
	struct ivc_type t = { "test.bigread", 1, IVC_STREAM };
	struct ivc_opts o = { .tx_ring = 4096, .rx_ring = RING };
	struct ivc_chan *c = rendezvous("bigread", &t, IVC_INOUT, server ? &o : NULL);
	uint8_t *buf = malloc(RING + MORE);
	struct ivc_stats s0, s1;
	ssize_t r;

	if (!buf)
		fail("memory");
	if (!server) {
		for (size_t off = 0; off < RING + MORE; off += W) {
			fill(buf, BIG_STREAM, off, W);
			CHECK_EQ(ivc_write(c, buf, W, IO_MS), (ssize_t)W);
		}
		CHECK_EQ(ivc_read(c, buf, 1, IO_MS), 0); /* the listener closed */
		CHECK_EQ(ivc_chan_close(c), 0);
		free(buf);
		return;
	}
	wait_full(c, RING, &s0);
	usleep(100000);
	r = ivc_read(c, buf, RING + MORE, IO_MS);
	CHECK_EQ(ivc_stats(c, &s1), 0);
	printf("bigread: first read %zd bytes in %llu pieces\n", r,
	       (unsigned long long)(s1.rx_msgs - s0.rx_msgs));
	fflush(stdout);
	if (r < RING)
		fail("first read: %zd bytes, %d were there", r, RING);
	if (s1.rx_msgs - s0.rx_msgs < PIECES)
		fail("first read published in %llu pieces, not %d or more",
		     (unsigned long long)(s1.rx_msgs - s0.rx_msgs), PIECES);
	read_to(c, buf, (size_t)r, RING + MORE);
	CHECK_EQ(ivc_chan_close(c), 0);
	free(buf);
}

/* writepieces: one ivc_write larger than 64 KiB fills the ring in pieces,
 * each published before the next is copied (ivc_write(3): tx_msgs counts
 * each piece), so its reader can start on the first. The listener reads
 * nothing until its 1 MiB ring is full: the write took at least the ring,
 * in at least 16 pieces, and every byte arrives in order. */
static void sc_writepieces(void)
{
	enum { RING = 1 << 20, MORE = 100 << 10, PIECES = RING / 65536 };
	struct ivc_type t = { "test.writepieces", 1, IVC_STREAM };
	struct ivc_opts o = { .tx_ring = 4096, .rx_ring = RING };
	struct ivc_chan *c = rendezvous("writepieces", &t, IVC_INOUT, server ? &o : NULL);
	uint8_t *buf = malloc(RING + MORE);
	struct ivc_stats s0, s1;
	size_t got = 0;
	ssize_t r;

	if (!buf)
		fail("memory");
	if (!server) {
		fill(buf, BIG_STREAM, 0, RING + MORE);
		CHECK_EQ(ivc_stats(c, &s0), 0);
		r = ivc_write(c, buf, RING + MORE, IO_MS);
		CHECK_EQ(ivc_stats(c, &s1), 0);
		printf("writepieces: first write %zd bytes in %llu pieces\n", r,
		       (unsigned long long)(s1.tx_msgs - s0.tx_msgs));
		fflush(stdout);
		if (r < RING || r > RING + MORE)
			fail("first write: %zd bytes into an empty %d-byte ring", r, RING);
		if (s1.tx_msgs - s0.tx_msgs < PIECES)
			fail("first write published in %llu pieces, not %d or more",
			     (unsigned long long)(s1.tx_msgs - s0.tx_msgs), PIECES);
		for (got = (size_t)r; got < RING + MORE; got += (size_t)r)
			if ((r = ivc_write(c, buf + got, RING + MORE - got, IO_MS)) <= 0)
				fail("write after %zu bytes: %zd", got, r);
		CHECK_EQ(ivc_read(c, buf, 1, IO_MS), 0); /* the listener closed */
		CHECK_EQ(ivc_chan_close(c), 0);
		free(buf);
		return;
	}
	wait_full(c, RING, &s0);
	read_to(c, buf, 0, RING + MORE);
	CHECK_EQ(ivc_chan_close(c), 0);
	free(buf);
}

/* ghost: a client that rings the doorbell by hand and dies before it
 * attaches. The listener must withdraw its offer, release the channel and
 * go on: accept ends at its deadline, nothing left behind. */
static void sc_ghost(void)
{
	struct ivc_type t = { "test.ghost", 1, IVC_MESSAGE };
	char path[256];

	if (server && getenv("IVC_TEST_GHOST_WAIT")) {
		/* The same ghost, served by an ivc_wait loop that calls
		 * ivc_accept only when the listener is reported: the listener
		 * must be reported while the offer is outstanding, or the
		 * offer would never be withdrawn. */
		struct ivc_listener *l;
		struct ivc_chan *c;
		struct ivc_ready r[4];
		unsigned int n = 1;
		int reports = 0;
		CHECK_EQ(ivc_listen(ctx, "ghost", &t, IVC_INOUT, NULL, &l), 0);
		for (int64_t end = now_ms() + 7500; now_ms() < end;) {
			int k = ivc_wait(ctx, r, 4, 200);
			for (int i = 0; i < k; i++)
				if (r[i].listener) {
					reports++;
					CHECK_EQ(ivc_accept(l, 0, &c), -EAGAIN);
				}
		}
		struct xs_handle *xs = xs_open(0);
		snprintf(path, sizeof path, "/local/domain/%u/data/ivc/ghost/conn", ivc_domid(ctx));
		free(xs_directory(xs, XBT_NULL, path, &n));
		printf("ghost: listener reported %d times\n", reports);
		CHECK_EQ(n, 0); /* the offer was withdrawn */
		xs_close(xs);
		ivc_listener_close(l);
		return;
	}
	if (server) {
		struct ivc_listener *l;
		struct ivc_chan *c;
		unsigned int n = 1;
		CHECK_EQ(ivc_listen(ctx, "ghost", &t, IVC_INOUT, NULL, &l), 0);
		/* Non-blocking accepts answer at once, offer outstanding or not. */
		int64_t end = now_ms() + 1500;
		while (now_ms() < end) {
			int64_t t1 = now_ms();
			CHECK_EQ(ivc_accept(l, 0, &c), -EAGAIN);
			if (now_ms() - t1 > 100)
				fail("non-blocking accept took %lld ms",
				     (long long)(now_ms() - t1));
			struct pollfd pfd = { .fd = ivc_listener_fd(l), .events = POLLIN };
			poll(&pfd, 1, 100);
		}
		int64_t t0 = now_ms();
		CHECK_EQ(ivc_accept(l, 3000, &c), -ETIMEDOUT);
		if (now_ms() - t0 > 8000)
			fail("accept took %lld ms", (long long)(now_ms() - t0));
		/* Idle: the listener's fd does not poll readable. */
		struct pollfd pfd = { .fd = ivc_listener_fd(l), .events = POLLIN };
		CHECK_EQ(poll(&pfd, 1, 300), 0);
		struct xs_handle *xs = xs_open(0);
		snprintf(path, sizeof path, "/local/domain/%u/data/ivc/ghost/conn", ivc_domid(ctx));
		free(xs_directory(xs, XBT_NULL, path, &n));
		CHECK_EQ(n, 0); /* the offer was withdrawn */
		xs_close(xs);
		ivc_listener_close(l);
		return;
	}
	struct xs_handle *xs = xs_open(0);
	struct xs_permissions perms[2] = { { ivc_domid(ctx), XS_PERM_NONE },
					   { peer_dom, XS_PERM_READ | XS_PERM_WRITE } };
	const char *req = "type=test.ghost version=1 mode=message dir=inout";
	snprintf(path, sizeof path, "/local/domain/%u/data/ivc/ghost/protocol", peer_dom);
	for (int i = 0; i < 200; i++) {
		unsigned int len;
		char *v = xs_read(xs, XBT_NULL, path, &len);
		free(v);
		if (v)
			break;
		usleep(10000);
	}
	/* First a request whose nonce is not 1-16 lowercase hex digits (spec
	 * 9.3 item 2): it must get no answer at all. Then a genuine one. */
	static const char *const nonces[2] = { "no_hex", "1" };
	for (int k = 0; k < 2; k++) {
		char id[32];
		snprintf(id, sizeof id, "%u-%s", ivc_domid(ctx), nonces[k]);
		/* As the library does: the presence node (spec 9.3 item 3), then
		 * the doorbell, each in one transaction (the listener must never
		 * see a node before its permissions are set). */
		for (int step = 0; step < 2; step++) {
			if (step == 0)
				snprintf(path, sizeof path,
					 "/local/domain/%u/data/ivc-client/%u_%s_ghost",
					 ivc_domid(ctx), peer_dom, id);
			else
				snprintf(path, sizeof path,
					 "/local/domain/%u/data/ivc/ghost/requests/%s", peer_dom,
					 id);
			const char *v = step ? req : "";
			for (;;) {
				xs_transaction_t tx = xs_transaction_start(xs);
				CHECK_EQ(xs_write(xs, tx, path, v, strlen(v)), true);
				CHECK_EQ(xs_set_permissions(xs, tx, path, perms, 2), true);
				if (xs_transaction_end(xs, tx, false))
					break;
				CHECK_EQ(errno, EAGAIN);
			}
		}
	}
	usleep(300000); /* the offer arrives; we never attach */
	char bad[160];
	unsigned int blen;
	snprintf(bad, sizeof bad, "/local/domain/%u/data/ivc/ghost/conn/%u-no_hex", peer_dom,
		 ivc_domid(ctx));
	char *answer = xs_read(xs, XBT_NULL, bad, &blen);
	if (answer)
		fail("a request with a malformed nonce was answered");
	xs_close(xs);
	/* IVC_TEST_GHOST_WAIT: alive and silent past the listener's check, so
	 * that only the 5 s attach bound can end the offer. */
	if (getenv("IVC_TEST_GHOST_WAIT"))
		usleep(9000000);
	_exit(0); /* the domain dies with the offer unanswered */
}

/* hostile rendezvous, the honest side (test-api.sh group hostile):
 *  serve hold SECONDS: a listener of "test.hold" v1 inout message that
 *    accepts for that long; each client sends one message, checked.
 *    Prints "held N" (channels served); at least one is expected.
 *  connect DOM hold: one such client.
 *  connect DOM expect SERVICE ERRNO: connecting to SERVICE (type
 *    "test.hostile" v1 message inout) fails with that errno (a number),
 *    within IVC_TEST_CONNECT_MS.
 *  connect DOM ring SERVICE NAME VALUE [private]: a raw request, written
 *    as a client writes one (one transaction, permissions nC,bS), or
 *    with `private` readable and removable by nobody but us. */
static const struct ivc_type hold_type = { "test.hold", 1, IVC_MESSAGE };

static void sc_hold(int argc, char **argv)
{
	uint8_t b[64];
	struct ivc_chan *c;

	if (!server) {
		CHECK_EQ(
		    ivc_connect(ctx, peer_dom, "hold", &hold_type, IVC_INOUT, NULL, connect_ms, &c),
		    0);
		fill(b, 42, 0, sizeof b);
		CHECK_EQ(ivc_send(c, b, sizeof b, IO_MS), 0);
		CHECK_EQ(ivc_recv(c, b, sizeof b, IO_MS), -EPIPE); /* the listener closes */
		CHECK_EQ(ivc_chan_close(c), 0);
		return;
	}
	struct ivc_listener *l;
	int64_t end = now_ms() + 1000 * (argc > 3 ? atoll(argv[3]) : 10);
	int held = 0;

	CHECK_EQ(ivc_listen(ctx, "hold", &hold_type, IVC_INOUT, NULL, &l), 0);
	printf("ready\n");
	fflush(stdout);
	while (now_ms() < end) {
		int err = ivc_accept(l, 200, &c);
		if (err == -ETIMEDOUT)
			continue;
		CHECK_EQ(err, 0);
		CHECK_EQ(ivc_recv(c, b, sizeof b, IO_MS), (long)sizeof b);
		if (!check(b, 42, 0, sizeof b))
			fail("hold: message corrupted");
		CHECK_EQ(ivc_chan_close(c), 0);
		held++;
	}
	ivc_listener_close(l);
	printf("held %d\n", held);
	if (held < 1)
		fail("hold: no client served");
}

static void sc_expect(int argc, char **argv)
{
	static const struct ivc_type t = { "test.hostile", 1, IVC_MESSAGE };
	struct ivc_chan *c = NULL;
	int err;

	if (server || argc < 5)
		fail("usage: connect DOM expect SERVICE ERRNO");
	err = ivc_connect(ctx, peer_dom, argv[3], &t, IVC_INOUT, NULL, connect_ms, &c);
	printf("connect %s: %s\n", argv[3], err ? strerror(-err) : "ok");
	if (!err)
		ivc_chan_close(c);
	CHECK_EQ(err, -atoi(argv[4]));
}

/* Writes one raw request as a client writes one (one transaction), with
 * permissions nC,bS, or nC only (`private`: nobody else may read or
 * remove it). */
static void ring_one(struct xs_handle *xs, const char *path, const char *val, bool private)
{
	struct xs_permissions perms[2] = { { ivc_domid(ctx), XS_PERM_NONE },
					   { peer_dom, XS_PERM_READ | XS_PERM_WRITE } };

	for (int tries = 0;; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);
		bool ok = t != XBT_NULL && xs_write(xs, t, path, val, strlen(val)) &&
			  xs_set_permissions(xs, t, path, perms, private ? 1 : 2);
		if (t != XBT_NULL && xs_transaction_end(xs, t, !ok) && ok)
			return;
		if (ok && errno == EAGAIN && tries < 100)
			continue;
		fail("ring %s: %s", path, strerror(errno));
	}
}

/* base/name, or base/name<k in hex> for k >= 0. */
static void ring_path(char *path, size_t size, const char *base, const char *name, int k)
{
	if (k < 0)
		snprintf(path, size, "%s/%s", base, name);
	else
		snprintf(path, size, "%s/%s%x", base, name, (unsigned)k);
}

/* connect DOM ring SERVICE NAME VALUE [private|shared [COUNT]]: COUNT
 * requests named NAME<i in hex> (one, named NAME, by default), then waits
 * until the listener has taken them all: once this domain is gone,
 * XenStore gives its nodes to dom0 and they are no longer this client's. */
static void sc_ring(int argc, char **argv)
{
	struct xs_handle *xs = xs_open(0);
	bool private = argc > 6 && !strcmp(argv[6], "private");
	int count = argc > 7 ? atoi(argv[7]) : 1;
	char base[256], path[1024];

	if (server || argc < 6 || !xs || count < 1)
		fail("usage: connect DOM ring SERVICE NAME VALUE [private|shared [COUNT]]");
	snprintf(base, sizeof base, "/local/domain/%u/data/ivc/%s/requests", peer_dom, argv[3]);
	for (int k = 0; k < count; k++) {
		ring_path(path, sizeof path, base, argv[4], count == 1 ? -1 : k);
		ring_one(xs, path, argv[5], private);
	}
	for (int k = 0; k < count; k++) {
		ring_path(path, sizeof path, base, argv[4], count == 1 ? -1 : k);
		for (int i = 0; i < 100; i++) {
			unsigned int len;
			char *v = xs_read(xs, XBT_NULL, path, &len);
			free(v);
			/* Gone reads EACCES: requests/ is not ours to read. */
			if (!v && (errno == ENOENT || errno == EACCES))
				break;
			usleep(50000);
		}
	}
	xs_close(xs);
}

/* fds N: N channels open at once between the two sides; each prints its
 * descriptor count ("fds K"), then "ready", holds them 2 s (for the host's
 * statistics) and closes them. What a context costs per channel. */
static int count_fds(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 65536; fd++) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

static void sc_fds(int argc, char **argv)
{
	static const struct ivc_type t = { "test.fds", 1, IVC_MESSAGE };
	struct ivc_opts o = { .tx_ring = 4096, .rx_ring = 4096, .max_msg = 0 };
	int n = argc > 3 ? atoi(argv[3]) : 10, base = count_fds();
	struct ivc_chan **c = calloc((size_t)n, sizeof *c);
	struct ivc_listener *l = NULL;

	if (!c)
		fail("out of memory");
	if (server)
		CHECK_EQ(ivc_listen(ctx, "fds", &t, IVC_INOUT, &o, &l), 0);
	for (int i = 0; i < n; i++)
		CHECK_EQ(server ? ivc_accept(l, connect_ms, &c[i])
				: ivc_connect(ctx, peer_dom, "fds", &t, IVC_INOUT, NULL, connect_ms,
					      &c[i]),
			 0);
	printf("fds %d (%d before the channels)\nready\n", count_fds(), base);
	fflush(stdout);
	usleep(2000000);
	for (int i = 0; i < n; i++)
		CHECK_EQ(ivc_chan_close(c[i]), 0);
	if (l)
		ivc_listener_close(l);
	free(c);
}

/* Scenarios that take no arguments beyond their name. */
/* threads: NTHR channels between the two sides; on the listener's side one
 * thread per channel blocks in ivc_recv (and one waits in poll on its
 * channel's descriptor instead), all on one context, so one of them
 * polls the platform for all. The client sends NMSG messages to channels
 * in a shuffled order, each stamped with its send time; a receiver that
 * missed a wake-up would only wake at the 50 ms liveness tick, so more
 * than a few late messages (over 40 ms) fail the test. */
#define NTHR 8
#define NMSG 400
struct thr {
	struct ivc_chan *c;
	bool use_fd;
	int got, late;
	int64_t worst;
};

static void *thr_recv(void *arg)
{
	struct thr *t = arg;
	int64_t stamp;

	while (t->got < NMSG / NTHR) {
		long r;
		if (t->use_fd) {
			struct pollfd pfd = { .fd = ivc_chan_fd(t->c), .events = POLLIN };
			r = ivc_recv(t->c, &stamp, sizeof stamp, 0);
			if (r == -EAGAIN) {
				if (poll(&pfd, 1, IO_MS) <= 0)
					fail("threads: poll on the channel's fd: nothing in %d ms",
					     IO_MS);
				continue;
			}
		} else
			r = ivc_recv(t->c, &stamp, sizeof stamp, IO_MS);
		if (r != (long)sizeof stamp)
			fail("threads: recv: %ld", r);
		int64_t lat = now_ms() - stamp;
		if (lat > t->worst)
			t->worst = lat;
		t->late += lat > 40;
		t->got++;
	}
	return NULL;
}

static void sc_threads(void)
{
	static const struct ivc_type ty = { "test.threads", 1, IVC_MESSAGE };
	struct ivc_opts o = { .tx_ring = 4096, .rx_ring = 4096, .max_msg = 64 };
	struct thr t[NTHR] = { 0 };
	pthread_t th[NTHR];
	struct ivc_listener *l = NULL;
	int late = 0;
	int64_t worst = 0;

	if (server)
		CHECK_EQ(ivc_listen(ctx, "threads", &ty, IVC_IN, &o, &l), 0);
	for (int i = 0; i < NTHR; i++)
		CHECK_EQ(server ? ivc_accept(l, connect_ms, &t[i].c)
				: ivc_connect(ctx, peer_dom, "threads", &ty, IVC_OUT, NULL,
					      connect_ms, &t[i].c),
			 0);
	if (!server) {
		/* Each channel learns its index from its first message. */
		uint32_t seed = 12345;
		for (int k = 0; k < NMSG; k++) {
			int i = (int)((seed = seed * 1103515245u + 12345u) >> 16) % NTHR;
			static int sent[NTHR];
			while (sent[i] == NMSG / NTHR)
				i = (i + 1) % NTHR;
			sent[i]++;
			int64_t stamp = now_ms();
			CHECK_EQ(ivc_send(t[i].c, &stamp, sizeof stamp, IO_MS), 0);
			usleep(2000);
		}
	} else {
		ivc_listener_close(l);
		for (int i = 0; i < NTHR; i++) {
			t[i].use_fd = i == 0;
			pthread_create(&th[i], NULL, thr_recv, &t[i]);
		}
		for (int i = 0; i < NTHR; i++) {
			pthread_join(th[i], NULL);
			late += t[i].late;
			worst = t[i].worst > worst ? t[i].worst : worst;
		}
		printf("threads: %d messages over %d threads, %d over 40 ms, worst %lld ms\n", NMSG,
		       NTHR, late, (long long)worst);
		if (late > NMSG / 20)
			fail("threads: %d of %d messages late (lost wake-ups?)", late, NMSG);
	}
	for (int i = 0; i < NTHR; i++)
		CHECK_EQ(ivc_chan_close(t[i].c), 0);
}

/* Fault walks (test-fault.sh): one attempt under an injected fault, then,
 * whatever it did, a second one that must work. Between them the test
 * checks that the failed attempt left nothing behind in this live
 * process's domain. Both speak examples/echo's protocol. */
static const struct ivc_type echo_type = { "org.libivc.echo", 1, IVC_MESSAGE };

/* Waits until $IVC_SIM_DIR/NAME.<domid> exists. */
static void wait_file(const char *name)
{
	char path[512];

	snprintf(path, sizeof path, "%s/%s.%u", getenv("IVC_SIM_DIR"), name, ivc_domid(ctx));
	while (access(path, F_OK))
		usleep(10000);
}

static void say(const char *what, int err)
{
	printf("%s %s\n", what, err ? strerror(-err) : "ok");
	fflush(stdout);
}

/* Echoes messages until the peer closes: 0, or the error that ended it. */
static int echo_until_eof(struct ivc_chan *c)
{
	uint8_t b[4096];
	long n;

	while ((n = ivc_recv(c, b, sizeof b, IO_MS)) >= 0)
		if ((n = ivc_send(c, b, (size_t)n, IO_MS)) < 0)
			break;
	return n == -EPIPE ? 0 : (int)n;
}

static int serve_once(void)
{
	struct ivc_listener *l;
	struct ivc_chan *c;
	int err = ivc_listen(ctx, "fault", &echo_type, IVC_INOUT, NULL, &l);

	if (err)
		return say("listen", err), err;
	say("listening", 0);
	err = ivc_accept(l, connect_ms, &c);
	ivc_listener_close(l);
	if (err)
		return say("accept", err), err;
	err = echo_until_eof(c);
	ivc_chan_close(c);
	return say("echo", err), err;
}

static int connect_once(void)
{
	uint8_t b[256], r[256];
	struct ivc_chan *c;
	int err = ivc_connect(ctx, peer_dom, "fault", &echo_type, IVC_INOUT, NULL, connect_ms, &c);

	if (err)
		return say("connect", err), err;
	for (int i = 0; i < 3 && !err; i++) {
		long n;

		fill(b, 7, (uint64_t)i * sizeof b, sizeof b);
		if ((n = ivc_send(c, b, sizeof b, IO_MS)) < 0 ||
		    (n = ivc_recv(c, r, sizeof r, IO_MS)) < 0)
			err = (int)n;
		else if (n != (long)sizeof b || memcmp(b, r, sizeof b))
			fail("echo corrupted");
	}
	ivc_chan_close(c);
	return say("echo", err), err;
}

static void sc_retry(void)
{
	int (*once)(void) = server ? serve_once : connect_once;

	say("open", 0);
	wait_file("go");
	if (once() == 0)
		return say("done first", 0);
	printf("failed\n");
	fflush(stdout);
	wait_file("again");
	CHECK_EQ(once(), 0);
	say("done second", 0);
}

/* evloop: the client mixes blocking receives with an event loop on
 * ivc_fd (made after the first blocking receive): every message must
 * make the descriptor readable. A blocking wait leaves the port it took
 * masked until the next wait (wait.c, unmask_later): a program polling
 * ivc_fd waits on the device itself, so the mask must be gone by then,
 * or the next message never wakes it. The listener sends one message
 * every 30 ms and waits for the client's "done". */
static void sc_evloop(void)
{
	struct ivc_type t = { "test.evloop", 1, IVC_MESSAGE };
	struct ivc_chan *c = rendezvous("evloop", &t, IVC_INOUT, NULL);
	enum { N = 12 };
	uint8_t b[64];
	int fd = -1;

	for (int i = 0; server && i < N; i++) {
		usleep(30000);
		b[0] = (uint8_t)i;
		CHECK_EQ(ivc_send(c, b, 1, IO_MS), 0);
	}
	if (server) {
		CHECK_EQ(ivc_recv(c, b, sizeof b, IO_MS), 4);
		CHECK_EQ(ivc_chan_close(c), 0);
		return;
	}
	for (int i = 0; i < N; i++) {
		long r;

		if (i % 3 == 0) { /* blocking: the wait that may leave a mask */
			r = ivc_recv(c, b, sizeof b, IO_MS);
		} else {
			struct ivc_ready rd[4];
			struct pollfd p;

			if (fd < 0 && (fd = ivc_fd(ctx)) < 0)
				fail("ivc_fd: %s", strerror(-fd));
			p = (struct pollfd){ fd, POLLIN, 0 };
			while ((r = ivc_recv(c, b, sizeof b, 0)) == -EAGAIN) {
				if (poll(&p, 1, 3000) != 1)
					fail("message %d: ivc_fd not readable in 3 s", i);
				while (ivc_wait(ctx, rd, 4, 0) > 0) {
				}
			}
		}
		CHECK_EQ(r, 1);
		if (b[0] != (uint8_t)i)
			fail("message %d: got %u", i, b[0]);
	}
	CHECK_EQ(ivc_send(c, "done", 4, IO_MS), 0);
	CHECK_EQ(ivc_recv(c, b, sizeof b, IO_MS), -EPIPE);
	CHECK_EQ(ivc_chan_close(c), 0);
}

static const struct {
	const char *name;
	void (*fn)(void);
} plain[] = {
	{ "dirmode", sc_dirmode },
	{ "sizes", sc_sizes },
	{ "mismatch", sc_mismatch },
	{ "inflight", sc_inflight },
	{ "timeouts", sc_timeouts },
	{ "victim", sc_victim },
	{ "ghost", sc_ghost },
	{ "bigwrite", sc_bigwrite },
	{ "poller", sc_poller },
	{ "threads", sc_threads },
	{ "retry", sc_retry },
	{ "duplex", sc_duplex },
	{ "spin", sc_spin },
	{ "linger", sc_linger },
	{ "bigread", sc_bigread },
	{ "writepieces", sc_writepieces },
	{ "lingerspin", sc_lingerspin },
	{ "evloop", sc_evloop },
	{ "idle", sc_idle },
};

/* A scenario that has not ended after IVC_TEST_LIMIT_S seconds fails by
 * name, whatever it is blocked on (the test script bounds it too, but
 * cannot say where it stood). */
static void on_alarm(int sig)
{
	static const char m[] =
	    "FAIL: scenario still running at its time limit (IVC_TEST_LIMIT_S)\n";

	(void)sig;
	if (write(2, m, sizeof m - 1) < 0)
		_exit(1);
	_exit(1);
}

int main(int argc, char **argv)
{
	int err;

	signal(SIGPIPE, SIG_IGN);
	if (getenv("IVC_TEST_CONNECT_MS"))
		connect_ms = atoi(getenv("IVC_TEST_CONNECT_MS"));
	if (argc >= 2 && !strcmp(argv[1], "now")) {
		printf("%lld\n", (long long)now_ms());
		return 0;
	}
	if (argc < 3)
		return fprintf(stderr, "usage: see api-peer.c\n"), 2;
	server = !strcmp(argv[1], "serve");
	if (!server) {
		if (argc < 4)
			return 2;
		peer_dom = (uint32_t)atoi(argv[2]);
		argv++;
		argc--;
	}
	scenario = argv[2];
	if (getenv("IVC_TEST_LIMIT_S") && atoi(getenv("IVC_TEST_LIMIT_S")) > 0) {
		signal(SIGALRM, on_alarm);
		alarm((unsigned)atoi(getenv("IVC_TEST_LIMIT_S")));
	}
	err = ivc_open(&ctx, NULL);
	if (err)
		fail("ivc_open: %s", strerror(-err));
	if (!strcmp(scenario, "bulk"))
		sc_bulk(argc > 3 ? strtoull(argv[3], NULL, 0) : 1ull << 30,
			argc > 4 && !strcmp(argv[4], "stream") ? IVC_STREAM : IVC_MESSAGE);
	else if (!strcmp(scenario, "many"))
		sc_many(argc - 3, argv + 3);
	else if (!strcmp(scenario, "hold"))
		sc_hold(argc, argv);
	else if (!strcmp(scenario, "expect"))
		sc_expect(argc, argv);
	else if (!strcmp(scenario, "ring"))
		sc_ring(argc, argv);
	else if (!strcmp(scenario, "fds"))
		sc_fds(argc, argv);
	else {
		size_t i = 0;
		while (i < sizeof plain / sizeof plain[0] && strcmp(plain[i].name, scenario))
			i++;
		if (i == sizeof plain / sizeof plain[0])
			fail("unknown scenario");
		plain[i].fn();
	}
	ivc_close(ctx);
	return 0;
}
