/* SPDX-License-Identifier: MIT */
/*
 * A hostile peer: every value it controls is set out of range, and the
 * victim must answer with a clean error (sticky -EPROTO for violations),
 * never crash, over-read, or spin. Guard pages surround every shared
 * region, so a stray access faults even without ASan.
 *  1. named cases, one per rule of protocol-spec section 7;
 *  2. a peer rewriting a message header and prod while the victim reads;
 *  3. IVC_FUZZ_RUNS (default 20000) random hostile sessions (tests/lib/fuzzops.c,
 *     the same interpreter the libFuzzer target drives).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "fuzzops.h"
#include "harness.h"

static struct th_pair pair;
static struct th_end a, b;
static struct ivc_wire_ctrl *w;

static void open_pair(uint32_t mode, uint32_t max_msg)
{
	struct ivc_core_params p = { mode, { 12, 12 }, { max_msg, max_msg }, 0 };

	th_pair_destroy(&pair);
	TH_EQ(th_pair_create(&pair, &p), 0);
	TH_EQ(th_end_open(&a, &pair, 0), 0);
	TH_EQ(th_end_open(&b, &pair, 1), 0);
	w = pair.ctrl;
}

static void expect_sticky(struct ivc_core *c)
{
	uint8_t buf[8] = { 0 };

	TH_EQ(c->error, -EPROTO);
	TH_EQ(ivc_core_send(c, buf, 1), -EPROTO);
	TH_EQ(ivc_core_recv(c, buf, sizeof buf), -EPROTO);
	TH_EQ(ivc_core_prepare_wait(c, IVC_CORE_WAIT_RX, 0), -EPROTO);
	TH_EQ(ivc_core_poll(c, IVC_CORE_WAIT_RX, 0), IVC_CORE_WAIT_RX); /* wakes to see it */
}

static int read_params_after(void (*edit)(struct ivc_wire_header *))
{
	struct ivc_core_params q;

	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	edit(&w->hdr);
	return ivc_core_read_params(pair.ctrl, pair.ctrl_len, &q);
}

static void bad_magic(struct ivc_wire_header *h)
{
	h->magic ^= 1;
}
static void bad_version(struct ivc_wire_header *h)
{
	h->version = 2;
}
static void bad_mode(struct ivc_wire_header *h)
{
	h->mode = 2;
}
static void bad_order_small(struct ivc_wire_header *h)
{
	h->ring[0].order = 11;
}
static void bad_order_big(struct ivc_wire_header *h)
{
	h->ring[1].order = 25;
}
static void bad_order_huge(struct ivc_wire_header *h)
{
	h->ring[1].order = 0xffffffffu;
}
static void bad_no_rings(struct ivc_wire_header *h)
{
	h->ring[0].order = h->ring[1].order = 0;
}
static void bad_max_msg(struct ivc_wire_header *h)
{
	h->ring[0].max_msg = 4093;
}
static void bad_stream_max(struct ivc_wire_header *h)
{
	h->mode = IVC_WIRE_MODE_STREAM;
}
static void bad_pages(struct ivc_wire_header *h)
{
	h->ctrl_pages = 2;
}
static void bad_pages_zero(struct ivc_wire_header *h)
{
	h->ctrl_pages = 0;
}
/* Claims 16 MiB rings: consistent, but more control pages than mapped. */
static void bad_too_big_for_map(struct ivc_wire_header *h)
{
	h->ring[0].order = h->ring[1].order = 24;
	h->ctrl_pages = IVC_WIRE_MAX_CTRL_PAGES;
}
static void ok_reserved(struct ivc_wire_header *h)
{
	memset(h->reserved, 0xff, sizeof h->reserved);
}

static void named_cases(void)
{
	uint8_t buf[8192] = { 0 };

	/* Header validation at attach. */
	TH_EQ(read_params_after(bad_magic), -EPROTO);
	TH_EQ(read_params_after(bad_version), -EPROTONOSUPPORT);
	TH_EQ(read_params_after(bad_mode), -EPROTO);
	TH_EQ(read_params_after(bad_order_small), -EPROTO);
	TH_EQ(read_params_after(bad_order_big), -EPROTO);
	TH_EQ(read_params_after(bad_order_huge), -EPROTO);
	TH_EQ(read_params_after(bad_no_rings), -EPROTO);
	TH_EQ(read_params_after(bad_max_msg), -EPROTO);
	TH_EQ(read_params_after(bad_stream_max), -EPROTO);
	TH_EQ(read_params_after(bad_pages), -EPROTO);
	TH_EQ(read_params_after(bad_pages_zero), -EPROTO);
	TH_EQ(read_params_after(bad_too_big_for_map), -EPROTO);
	TH_EQ(read_params_after(ok_reserved), 0); /* reserved bytes are ignored */

	/* Consumer: prod more than a ring ahead. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	w->ring[0].p.prod = 4097;
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), -EPROTO);
	w->ring[0].p.prod = 0; /* putting it back does not heal the channel */
	expect_sticky(&b.core);

	/* Consumer: prod behind cons (u32 wrap makes it huge). */
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	TH_EQ(ivc_core_send(&a.core, buf, 10), 0);
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), 10);
	w->ring[0].p.prod = 13;
	TH_EQ(ivc_core_peek_len(&b.core), -EPROTO);
	expect_sticky(&b.core);

	/* Consumer: a partial header published. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	w->ring[0].p.prod = 3;
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), -EPROTO);

	/* Consumer: a length above the negotiated maximum... */
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	TH_EQ(ivc_core_send(&a.core, buf, 100), 0);
	((uint8_t *)pair.data[0])[0] = 101;
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), -EPROTO);
	/* ...larger than the ring... */
	open_pair(IVC_WIRE_MODE_MESSAGE, 4092);
	TH_EQ(ivc_core_send(&a.core, buf, 100), 0);
	memcpy(pair.data[0], "\xff\xff\xff\xff", 4);
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), -EPROTO);
	/* ...or longer than what was published. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	TH_EQ(ivc_core_send(&a.core, buf, 50), 0);
	((uint8_t *)pair.data[0])[0] = 51;
	struct ivc_core_span sp[2];
	TH_EQ(ivc_core_peek(&b.core, sp), -EPROTO);

	/* A header rewritten after it was read changes nothing: the victim
	 * uses the length it validated. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	TH_EQ(ivc_core_send(&a.core, buf, 20), 0);
	TH_EQ(ivc_core_send(&a.core, buf, 30), 0);
	TH_EQ(ivc_core_peek_len(&b.core), 20);
	((uint8_t *)pair.data[0])[0] = 99;
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), 20);
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), 30); /* boundary intact */

	/* Producer: cons beyond prod, or more than a ring behind. The
	 * producer reuses the cons it last checked while that leaves room
	 * (a stale cons only understates it), so a bad one is found at the
	 * next load: once the room it knows of runs out (39 messages of
	 * 100 + 4 bytes fit in 4 KiB). */
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	TH_EQ(ivc_core_send(&a.core, buf, 10), 0);
	w->ring[0].c.cons = 0x80000000u; /* far beyond prod */
	int sent = 0, r;
	while ((r = ivc_core_send(&a.core, buf, 100)) == 0 && sent < 100)
		sent++;
	TH_EQ(r, -EPROTO);
	TH_EQ(sent, 39);
	expect_sticky(&a.core);
	open_pair(IVC_WIRE_MODE_STREAM, 0);
	TH_EQ(ivc_core_write(&a.core, buf, 100), 100);
	w->ring[0].c.cons = (uint32_t)(100 - 4097);
	TH_EQ(ivc_core_write(&a.core, buf, 1), 1);          /* within the room known */
	TH_EQ(ivc_core_write(&a.core, buf, 4000), -EPROTO); /* more: cons loaded */
	/* Stream consumer: prod too far. */
	open_pair(IVC_WIRE_MODE_STREAM, 0);
	w->ring[1].p.prod = 0x80000000u;
	TH_EQ(ivc_core_read(&a.core, buf, sizeof buf), -EPROTO);
	/* ...and in poll/prepare_wait, which must not ask to sleep on it. */
	open_pair(IVC_WIRE_MODE_STREAM, 0);
	w->ring[1].p.prod = 5000;
	TH_EQ(ivc_core_prepare_wait(&a.core, IVC_CORE_WAIT_RX, 0), 0);
	TH_EQ(a.core.error, -EPROTO);

	/* State bytes other than 0/1. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	w->side[1].live = 2;
	TH_EQ(ivc_core_send(&a.core, buf, 1), -EPROTO);
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	w->side[0].closed = 0xff;
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), -EPROTO);

	/* A peer that clears `attached` after being seen is still dead. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	TH_EQ(ivc_core_peer(&a.core), IVC_CORE_PEER_UP);
	w->side[1].live = 0;
	w->side[1].attached = 0;
	TH_EQ(ivc_core_peer(&a.core), IVC_CORE_PEER_DEAD);

	/* Side 0 holds its grants at close while side 1's live byte says it
	 * maps them (chan.c): any value but 0, a hostile one included. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	TH_CHECK(ivc_core_peer_maps(w));
	w->side[1].live = 0xff;
	TH_CHECK(ivc_core_peer_maps(w));
	w->side[1].live = 0;
	TH_CHECK(!ivc_core_peer_maps(w));

	/* Request counters are harmless: at most one signal per operation. */
	open_pair(IVC_WIRE_MODE_MESSAGE, 100);
	int signals = 0;
	for (int i = 0; i < 100; i++) {
		w->ring[0].c.data_req = (uint32_t)i * 7919u;
		TH_EQ(ivc_core_send(&a.core, buf, 1), 0);
		signals += ivc_core_notify_check(&a.core);
		TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), 1);
	}
	TH_CHECK(signals <= 100);
	printf("ok - named hostile cases\n");
}

/* ---- a peer that rewrites while the victim reads ---- */

static atomic_int stop;
static atomic_long attacks;

static void *flipper(void *arg)
{
	uint64_t s = 12345;
	uint8_t *d = pair.data[0];
	(void)arg;

	while (!atomic_load(&stop)) {
		uint64_t r = th_rand(&s);
		uint32_t cons = atomic_load((_Atomic uint32_t *)&w->ring[0].c.cons);
		uint32_t at = cons & 4095;

		switch (r % 5) {
		case 0: /* a plausible length at the message the victim reads */
			d[at] = (uint8_t)(r >> 8);
			d[(at + 1) & 4095] = (uint8_t)(r >> 16) & 0x0f;
			break;
		case 4: { /* a valid message, then publish it */
			uint32_t len = (uint32_t)(r >> 8) % 200;
			d[at] = (uint8_t)len;
			d[(at + 1) & 4095] = d[(at + 2) & 4095] = d[(at + 3) & 4095] = 0;
			atomic_store((_Atomic uint32_t *)&w->ring[0].p.prod, cons + 4 + len);
			break;
		}
		case 1: /* prod somewhere around cons, sometimes impossible */
			atomic_store((_Atomic uint32_t *)&w->ring[0].p.prod,
				     cons + (uint32_t)((r >> 8) % 5000));
			break;
		case 2:
			d[(at + (r >> 8) % 8) & 4095] = (uint8_t)(r >> 24);
			break;
		default:
			atomic_store((_Atomic uint32_t *)&w->ring[0].p.prod,
				     cons + (uint32_t)(r >> 32));
			break;
		}
		atomic_fetch_add(&attacks, 1);
	}
	return NULL;
}

static void concurrent_rewrite(void)
{
	const long min_attacks = 200000, max_spin = 100000000;
	long ok = 0, proto = 0, again = 0, i;
	uint8_t *buf = malloc(4000);
	pthread_t t;

	TH_CHECK(buf);
	open_pair(IVC_WIRE_MODE_MESSAGE, 4000);
	atomic_store(&stop, 0);
	atomic_store(&attacks, 0);
	TH_EQ(pthread_create(&t, NULL, flipper, NULL), 0);
	/* One read per attack (the attacker keeps writing during the read),
	 * so the outcome does not depend on how the scheduler shares the
	 * cores between the two threads. */
	for (i = 0; i < min_attacks; i++) {
		long seen = atomic_load(&attacks);
		for (long spin = 0; atomic_load(&attacks) == seen && spin < max_spin; spin++)
			if (spin % 64 == 63)
				sched_yield();
		int r = ivc_core_recv(&b.core, buf, 4000);

		if (r >= 0) {
			TH_CHECK(r <= 4000);
			ok++;
		} else if (r == -EAGAIN || r == -EMSGSIZE) {
			again++;
		} else {
			TH_EQ(r, -EPROTO);
			proto++;
			/* Start over on a fresh channel in the same memory. */
			struct ivc_core_params q;
			TH_EQ(ivc_core_create(&a.core, pair.ctrl, pair.ctrl_len, &pair.params,
					      pair.data[0], pair.data[1]),
			      0);
			TH_EQ(ivc_core_read_params(pair.ctrl, pair.ctrl_len, &q), 0);
			TH_EQ(ivc_core_attach(&b.core, pair.ctrl, pair.ctrl_len, &q, pair.data[0],
					      pair.data[1]),
			      0);
		}
	}
	atomic_store(&stop, 1);
	TH_EQ(pthread_join(t, NULL), 0);
	free(buf);
	printf("ok - concurrent rewrite: %ld reads, %ld messages, %ld violations caught, %ld "
	       "empty\n",
	       i, ok, proto, again);
	TH_CHECK(proto >= 100 && ok >= 100); /* the attack really happened, both ways */
}

static void random_sessions(void)
{
	const char *env = getenv("IVC_FUZZ_RUNS");
	long runs = env ? atol(env) : 20000;
	uint64_t s = 777;
	uint8_t in[512];

	for (long i = 0; i < runs; i++) {
		size_t n = (size_t)(th_rand(&s) % sizeof in);
		for (size_t j = 0; j < n; j++)
			in[j] = (uint8_t)(th_rand(&s) >> 56);
		th_fuzz_one(in, n);
	}
	printf("ok - %ld random hostile sessions\n", runs);
}

int main(void)
{
	named_cases();
	concurrent_rewrite();
	random_sessions();
	th_pair_destroy(&pair);
	return 0;
}
