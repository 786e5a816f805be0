/* SPDX-License-Identifier: MIT */
/*
 * Message framing and the basic contract of the core, both sides driven
 * from one thread: wrap-around of header and payload, an exactly full ring,
 * zero-length and maximum-size messages, vectored and zero-copy paths,
 * one-way channels, orderly close (drain, then EOF) and peer death.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "harness.h"

static struct th_pair pair;
static struct th_end a, b; /* a = side 0, b = side 1 */

static void open_pair(uint32_t mode, uint32_t o0, uint32_t o1, uint32_t m0, uint32_t m1)
{
	struct ivc_core_params p = { mode, { o0, o1 }, { m0, m1 }, 0 };

	th_pair_destroy(&pair);
	TH_EQ(th_pair_create(&pair, &p), 0);
	TH_EQ(th_end_open(&a, &pair, 0), 0);
	TH_EQ(th_end_open(&b, &pair, 1), 0);
}

static void roundtrip(struct ivc_core *tx, struct ivc_core *rx, uint64_t pos, size_t len)
{
	static uint8_t out[1 << 16], in[1 << 16];

	th_pattern_fill(out, pos, len);
	memset(in, 0xa5, len + 1);
	TH_EQ(ivc_core_send(tx, out, len), 0);
	TH_EQ(ivc_core_peek_len(rx), (long long)len);
	TH_EQ(ivc_core_recv(rx, in, sizeof in), (long long)len);
	TH_CHECK(th_pattern_check(in, pos, len));
	TH_EQ(in[len], 0xa5); /* nothing written past the message */
}

/* Every header offset modulo 4 relative to the ring end, so that the
 * 4-byte header itself is split 1+3, 2+2 and 3+1, and payloads wrap. */
static void test_wrap(void)
{
	const uint32_t size = 4096;
	uint64_t pos = 0;

	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 12, 4092, 4092);
	for (int i = 0; i < 5000; i++) {
		size_t len = (size_t)(i * 37) % 1500;
		roundtrip(&a.core, &b.core, pos, len);
		roundtrip(&b.core, &a.core, pos + 1, len);
		pos += len;
	}
	TH_CHECK(a.core.tx.idx > 4 * size); /* indexes went round many times */
	/* Free-running indexes crossing 2^32: start both near the top. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 12, 4092, 4092);
	struct ivc_wire_ctrl *w = pair.ctrl;
	a.core.tx.idx = b.core.rx.idx = 0xfffff000u - 2;
	a.core.tx.peer_idx = b.core.rx.peer_idx = 0xfffff000u - 2; /* as last loaded */
	w->ring[0].p.prod = w->ring[0].c.cons = 0xfffff000u - 2;
	for (int i = 0; i < 3000; i++)
		roundtrip(&a.core, &b.core, (uint64_t)i, (size_t)(i * 13) % 3000);
	TH_CHECK(a.core.tx.idx < 0x10000000u); /* wrapped past zero */
}

/* Every length the core copies itself (up to 256 bytes, see copy() in
 * ring.c) and a little beyond, at every offset in the ring's first and
 * last bytes, through both the plain calls and the ones with the notify
 * check: each byte arrives, none past the message is written. */
static void test_small_copies(void)
{
	static uint8_t out[512], in[512];
	uint64_t pos = 0;

	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 12, 4092, 4092);
	for (int round = 0; round < 6; round++)
		for (size_t len = 0; len <= 300; len++) {
			bool sig;

			if (round % 2 == 0) {
				roundtrip(&a.core, &b.core, pos, len);
				pos += len;
				continue;
			}
			th_pattern_fill(out, pos, len);
			memset(in, 0xa5, sizeof in);
			TH_EQ(ivc_core_send_check(&a.core, out, len), 0); /* nobody asked */
			TH_EQ(ivc_core_recv_check(&b.core, in + 1, len, &sig), (long long)len);
			TH_CHECK(!sig);
			TH_CHECK(th_pattern_check(in + 1, pos, len));
			TH_EQ(in[0], 0xa5);
			TH_EQ(in[len + 1], 0xa5);
			pos += len;
		}
	TH_CHECK(a.core.tx.idx > 40 * 4096); /* many wraps, at many offsets */
}

static void test_full(void)
{
	uint8_t buf[4096];
	int n = 0;

	/* 1020 payload + 4 header = 1024: exactly four fill a 4 KiB ring. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 12, 4092, 4092);
	th_pattern_fill(buf, 0, sizeof buf);
	while (ivc_core_send(&a.core, buf, 1020) == 0)
		n++;
	TH_EQ(n, 4);
	TH_EQ(ivc_core_send(&a.core, buf, 1020), -EAGAIN);
	TH_EQ(ivc_core_send(&a.core, buf, 0), -EAGAIN); /* even a header does not fit */
	TH_EQ(ivc_core_poll(&a.core, IVC_CORE_WAIT_TX, 0), 0u);
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), 1020);
	TH_EQ(ivc_core_poll(&a.core, IVC_CORE_WAIT_TX, 1020), IVC_CORE_WAIT_TX);
	TH_EQ(ivc_core_poll(&a.core, IVC_CORE_WAIT_TX, 1021), 0u);
	TH_EQ(ivc_core_send(&a.core, buf, 1021), -EAGAIN);
	TH_EQ(ivc_core_send(&a.core, buf, 1020), 0);

	/* A single maximum-size message fills the ring exactly. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 12, 4092, 4092);
	th_pattern_fill(buf, 7, 4092);
	TH_EQ(ivc_core_send(&a.core, buf, 4092), 0);
	TH_EQ(ivc_core_send(&a.core, buf, 0), -EAGAIN);
	TH_EQ(ivc_core_send(&a.core, buf, 4093), -EMSGSIZE);
	memset(buf, 0, sizeof buf);
	TH_EQ(ivc_core_recv(&b.core, buf, 4091), -EMSGSIZE); /* stays queued */
	TH_EQ(ivc_core_recv(&b.core, buf, 4092), 4092);
	TH_CHECK(th_pattern_check(buf, 7, 4092));
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), -EAGAIN);

	/* Stream mode: exactly size bytes fit, the rest is refused. */
	open_pair(IVC_WIRE_MODE_STREAM, 12, 12, 0, 0);
	th_pattern_fill(buf, 0, sizeof buf);
	TH_EQ(ivc_core_write(&a.core, buf, 3000), 3000);
	TH_EQ(ivc_core_write(&a.core, buf, 3000), 1096);
	TH_EQ(ivc_core_write(&a.core, buf, 1), -EAGAIN);
	TH_EQ(ivc_core_read(&b.core, buf, 4096), 4096);
	TH_EQ(ivc_core_read(&b.core, buf, 4096), -EAGAIN);
}

static void test_zero_length(void)
{
	uint8_t buf[16];

	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 12, 100, 100);
	for (int i = 0; i < 1024; i++) /* 1024 empty messages = 4096 bytes */
		TH_EQ(ivc_core_send(&a.core, NULL, 0), 0);
	TH_EQ(ivc_core_send(&a.core, NULL, 0), -EAGAIN);
	for (int i = 0; i < 1024; i++)
		TH_EQ(ivc_core_recv(&b.core, NULL, 0), 0);
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), -EAGAIN);
	struct ivc_core_stats st;
	ivc_core_get_stats(&b.core, &st);
	TH_EQ(st.rx_msgs, 1024);
	TH_EQ(st.rx_bytes, 0);
	/* The shared monitoring counters say the same. */
	TH_EQ(pair.ctrl ? ((struct ivc_wire_ctrl *)pair.ctrl)->ring[0].p.msgs : 0, 1024);
	TH_EQ(((struct ivc_wire_ctrl *)pair.ctrl)->ring[0].c.msgs, 1024);
}

static void test_vectored_and_zero_copy(void)
{
	uint8_t buf[3000], in[3000];
	struct ivc_core_span sp[2];
	struct ivc_core_seg seg[3];
	uint64_t pos = 0;

	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 12, 2048, 2048);
	th_pattern_fill(buf, 0, sizeof buf);
	for (int i = 0; i < 500; i++) {
		size_t l0 = (size_t)i % 7, l1 = (size_t)(i * 31) % 1500, l2 = (size_t)i % 300;
		seg[0] = (struct ivc_core_seg){ buf, l0 };
		seg[1] = (struct ivc_core_seg){ buf + l0, l1 };
		seg[2] = (struct ivc_core_seg){ buf + l0 + l1, l2 };
		TH_EQ(ivc_core_sendv(&a.core, seg, 3), 0);
		/* zero-copy read: spans cover exactly the message */
		int len = ivc_core_peek(&b.core, sp);
		TH_EQ(len, (long long)(l0 + l1 + l2));
		TH_EQ(sp[0].len + sp[1].len, (long long)len);
		memcpy(in, sp[0].base, sp[0].len);
		memcpy(in + sp[0].len, sp[1].base, sp[1].len);
		TH_CHECK(memcmp(in, buf, (size_t)len) == 0);
		TH_EQ(ivc_core_consume(&b.core), 0);
		TH_EQ(ivc_core_consume(&b.core), -EINVAL);

		/* zero-copy write the other way */
		size_t l = (size_t)(i * 53) % 2049;
		TH_EQ(ivc_core_reserve(&b.core, l, sp), 0);
		TH_EQ(sp[0].len + sp[1].len, (long long)l);
		th_pattern_fill(sp[0].base, pos, sp[0].len);
		th_pattern_fill(sp[1].base, pos + sp[0].len, sp[1].len);
		TH_EQ(ivc_core_peek_len(&a.core), -EAGAIN); /* nothing before commit */
		TH_EQ(ivc_core_commit(&b.core), 0);
		TH_EQ(ivc_core_commit(&b.core), -EINVAL);
		TH_EQ(ivc_core_recv(&a.core, in, sizeof in), (long long)l);
		TH_CHECK(th_pattern_check(in, pos, l));
		pos += l;
	}
	seg[0] = (struct ivc_core_seg){ buf, 2000 };
	seg[1] = (struct ivc_core_seg){ buf, 49 };
	TH_EQ(ivc_core_sendv(&a.core, seg, 2), -EMSGSIZE);
	TH_EQ(ivc_core_reserve(&a.core, 2049, sp), -EMSGSIZE);
}

static void test_modes_and_one_way(void)
{
	uint8_t buf[64] = { 0 };

	open_pair(IVC_WIRE_MODE_STREAM, 12, 12, 0, 0);
	TH_EQ(ivc_core_send(&a.core, buf, 1), -EINVAL);
	TH_EQ(ivc_core_recv(&b.core, buf, 1), -EINVAL);
	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 12, 64, 64);
	TH_EQ(ivc_core_write(&a.core, buf, 1), -EINVAL);
	TH_EQ(ivc_core_read(&b.core, buf, 1), -EINVAL);

	/* Ring 1 absent: side 1 may only receive, side 0 only send. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 0, 64, 0);
	TH_EQ(pair.data[1], NULL);
	TH_EQ(ivc_core_send(&b.core, buf, 1), -EBADF);
	TH_EQ(ivc_core_recv(&a.core, buf, 1), -EBADF);
	TH_EQ(ivc_core_send(&a.core, buf, 10), 0);
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), 10);
	TH_EQ(((struct ivc_wire_ctrl *)pair.ctrl)->hdr.ctrl_pages, 1);

	/* Bad parameters are refused up front. */
	struct ivc_core_params p[] = {
		{ 2, { 12, 12 }, { 0, 0 }, 0 },
		{ IVC_WIRE_MODE_MESSAGE, { 0, 0 }, { 0, 0 }, 0 },
		{ IVC_WIRE_MODE_MESSAGE, { 11, 12 }, { 0, 0 }, 0 },
		{ IVC_WIRE_MODE_MESSAGE, { 25, 12 }, { 0, 0 }, 0 },
		{ IVC_WIRE_MODE_MESSAGE, { 12, 12 }, { 4093, 0 }, 0 },
		{ IVC_WIRE_MODE_MESSAGE, { 12, 0 }, { 4, 4 }, 0 },
		{ IVC_WIRE_MODE_STREAM, { 12, 12 }, { 1, 0 }, 0 },
	};
	for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
		TH_EQ(ivc_core_params_check(&p[i]), -EINVAL);
	struct ivc_core_params big = { IVC_WIRE_MODE_STREAM, { 24, 24 }, { 0, 0 }, 0 };
	TH_EQ(ivc_core_params_check(&big), 0);
	TH_EQ(big.ctrl_pages, IVC_WIRE_MAX_CTRL_PAGES);
}

static void test_close_drains(void)
{
	uint8_t buf[256];

	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 12, 200, 200);
	th_pattern_fill(buf, 0, sizeof buf);
	for (int i = 0; i < 10; i++)
		TH_EQ(ivc_core_send(&a.core, buf, (size_t)i * 20), 0);
	TH_EQ(ivc_core_peer(&b.core), IVC_CORE_PEER_UP);
	ivc_core_close(&a.core);
	TH_EQ(ivc_core_send(&a.core, buf, 1), -EBADF);
	TH_EQ(ivc_core_peer(&b.core), IVC_CORE_PEER_CLOSED);
	TH_EQ(ivc_core_send(&b.core, buf, 1), -EPIPE);
	TH_EQ(ivc_core_poll(&b.core, IVC_CORE_WAIT_TX, 1), IVC_CORE_WAIT_TX);
	for (int i = 0; i < 10; i++) { /* everything sent before close arrives */
		TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), i * 20);
		TH_CHECK(th_pattern_check(buf, 0, (size_t)i * 20));
	}
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), -EPIPE);
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), -EPIPE);
	TH_EQ(ivc_core_poll(&b.core, IVC_CORE_WAIT_RX, 0), IVC_CORE_WAIT_RX);
	TH_EQ(ivc_core_prepare_wait(&b.core, IVC_CORE_WAIT_RX, 0), 0); /* never sleeps on EOF */

	/* Stream mode the same, reads may be partial. */
	open_pair(IVC_WIRE_MODE_STREAM, 12, 12, 0, 0);
	TH_EQ(ivc_core_write(&b.core, buf, 100), 100);
	ivc_core_close(&b.core);
	TH_EQ(ivc_core_read(&a.core, buf, 60), 60);
	TH_EQ(ivc_core_read(&a.core, buf, 60), 40);
	TH_EQ(ivc_core_read(&a.core, buf, 60), -EPIPE);
}

static void test_peer_death(void)
{
	struct ivc_wire_ctrl *w;
	uint8_t buf[64];

	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 12, 64, 64);
	w = pair.ctrl;
	TH_EQ(ivc_core_send(&b.core, buf, 5), 0);
	/* What unmap-notify does when side 1's process dies. */
	w->side[1].live = IVC_WIRE_LIVE_DOWN;
	TH_EQ(ivc_core_peer(&a.core), IVC_CORE_PEER_DEAD);
	TH_EQ(ivc_core_send(&a.core, buf, 1), -ECONNRESET);
	TH_EQ(ivc_core_recv(&a.core, buf, sizeof buf), 5); /* drained first */
	TH_EQ(ivc_core_recv(&a.core, buf, sizeof buf), -ECONNRESET);
	TH_EQ(ivc_core_prepare_wait(&a.core, IVC_CORE_WAIT_RX | IVC_CORE_WAIT_TX, 1), 0);

	/* Before side 1 attaches, side 0 sees a peer that is waiting, not dead,
	 * and may already queue data. */
	struct ivc_core_params p = { IVC_WIRE_MODE_MESSAGE, { 12, 12 }, { 64, 64 }, 0 };
	th_pair_destroy(&pair);
	TH_EQ(th_pair_create(&pair, &p), 0);
	TH_EQ(th_end_open(&a, &pair, 0), 0);
	TH_EQ(ivc_core_peer(&a.core), IVC_CORE_PEER_WAITING);
	TH_EQ(ivc_core_send(&a.core, buf, 3), 0);
	TH_EQ(ivc_core_recv(&a.core, buf, sizeof buf), -EAGAIN);
	TH_EQ(th_end_open(&b, &pair, 1), 0);
	TH_EQ(ivc_core_peer(&a.core), IVC_CORE_PEER_UP);
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), 3);

	/* An area serves one attachment: a second side 1 is refused. */
	struct th_end again;
	TH_EQ(th_end_open(&again, &pair, 1), -ECONNREFUSED);

	/* The platform reports the peer's domain gone (no unmap-notify can
	 * fire then): the peer is dead from now on, after a drain. */
	TH_EQ(ivc_core_send(&b.core, buf, 2), 0);
	ivc_core_set_peer_dead(&a.core);
	TH_EQ(ivc_core_peer(&a.core), IVC_CORE_PEER_DEAD);
	TH_EQ(ivc_core_recv(&a.core, buf, sizeof buf), 2);
	TH_EQ(ivc_core_recv(&a.core, buf, sizeof buf), -ECONNRESET);
	/* Sticky: a later `closed` from that peer changes nothing. */
	((struct ivc_wire_ctrl *)pair.ctrl)->side[1].closed = IVC_WIRE_CLOSED_YES;
	TH_EQ(ivc_core_peer(&a.core), IVC_CORE_PEER_DEAD);

	/* Side 1 refuses a control area whose side 0 is gone or closed. */
	th_pair_destroy(&pair);
	TH_EQ(th_pair_create(&pair, &p), 0);
	TH_EQ(th_end_open(&a, &pair, 0), 0);
	w = pair.ctrl;
	w->side[0].live = IVC_WIRE_LIVE_DOWN;
	TH_EQ(th_end_open(&b, &pair, 1), -ECONNREFUSED);
	w->side[0].live = IVC_WIRE_LIVE_UP;
	w->side[0].closed = IVC_WIRE_CLOSED_YES;
	TH_EQ(th_end_open(&b, &pair, 1), -ECONNREFUSED);
}

/* The writer sends its last message and closes while the reader polls:
 * whichever load order the reader hits, the message must come before
 * end-of-stream. The race window is a few instructions, so this runs many
 * rounds; the Promela model (EOF_NO_REREAD) covers it exhaustively. */
static pthread_barrier_t round_start;
static const int race_rounds = 20000;

static void *race_writer(void *arg)
{
	uint8_t m = 0x42;
	(void)arg;

	for (int i = 0; i < race_rounds; i++) {
		pthread_barrier_wait(&round_start);
		TH_EQ(ivc_core_send(&a.core, &m, 1), 0);
		ivc_core_close(&a.core);
		pthread_barrier_wait(&round_start);
	}
	return NULL;
}

static void test_close_race(void)
{
	struct ivc_core_params q;
	pthread_t t;
	uint8_t buf[8];

	open_pair(IVC_WIRE_MODE_MESSAGE, 12, 12, 64, 64);
	TH_EQ(pthread_barrier_init(&round_start, NULL, 2), 0);
	TH_EQ(pthread_create(&t, NULL, race_writer, NULL), 0);
	for (int i = 0; i < race_rounds; i++) {
		int r;

		TH_EQ(ivc_core_create(&a.core, pair.ctrl, pair.ctrl_len, &pair.params, pair.data[0],
				      pair.data[1]),
		      0);
		TH_EQ(ivc_core_read_params(pair.ctrl, pair.ctrl_len, &q), 0);
		TH_EQ(ivc_core_attach(&b.core, pair.ctrl, pair.ctrl_len, &q, pair.data[0],
				      pair.data[1]),
		      0);
		pthread_barrier_wait(&round_start);
		while ((r = ivc_core_recv(&b.core, buf, sizeof buf)) == -EAGAIN)
			;
		if (r != 1)
			TH_FAIL("round %d: got %d before the last message", i, r);
		/* The close may land a moment after the message: EAGAIN until
		 * then, and nothing but EPIPE after. */
		while ((r = ivc_core_recv(&b.core, buf, sizeof buf)) == -EAGAIN)
			;
		TH_EQ(r, -EPIPE);
		pthread_barrier_wait(&round_start);
	}
	TH_EQ(pthread_join(t, NULL), 0);
	pthread_barrier_destroy(&round_start);
}

int main(void)
{
	test_wrap();
	test_small_copies();
	test_full();
	test_zero_length();
	test_vectored_and_zero_copy();
	test_modes_and_one_way();
	test_close_drains();
	test_peer_death();
	test_close_race();
	th_pair_destroy(&pair);
	printf("ok - framing\n");
	return 0;
}
