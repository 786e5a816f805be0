/* SPDX-License-Identifier: MIT */
/*
 * Notification suppression and wake-ups.
 *  - scripted, exact: nobody waiting means no signal; one wait means one
 *    signal however much traffic follows; a writer waiting for space gets
 *    one signal; prepare_wait never asks to sleep when ready;
 *  - threads: a saturated stream sends far fewer signals than messages,
 *    and never more signals than the peer asked for;
 *  - threads: blocked readers and blocked writers are always woken
 *    (ping-pong and a tiny ring; a lost wake-up times out and fails);
 *  - side-line requests (spec 8.2): offered, accepted, and read where
 *    they are in use: the side line between two cores of today, the
 *    index lines with a peer that predates the feature on either side.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "harness.h"

#define WAIT_MS 10000

static struct th_pair pair;
static struct th_end a, b;

static void open_pair(uint32_t order, uint32_t max_msg)
{
	struct ivc_core_params p = {
		IVC_WIRE_MODE_MESSAGE, { order, order }, { max_msg, max_msg }, 0
	};

	th_pair_destroy(&pair);
	TH_EQ(th_pair_create(&pair, &p), 0);
	TH_EQ(th_end_open(&a, &pair, 0), 0);
	TH_EQ(th_end_open(&b, &pair, 1), 0);
}

static void scripted(void)
{
	uint8_t buf[1024] = { 0 };
	int n;

	/* Saturated, nobody waits: not a single signal either way. */
	open_pair(16, 1024);
	for (int i = 0; i < 10000; i++) {
		TH_EQ(ivc_core_send(&a.core, buf, 32), 0);
		TH_CHECK(!ivc_core_notify_check(&a.core));
		if (i % 300 == 299) { /* the reader drains in bursts */
			for (int j = 0; j < 300; j++)
				TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), 32);
			TH_CHECK(!ivc_core_notify_check(&b.core));
		}
	}
	TH_CHECK(!ivc_core_notify_check(&a.core)); /* nothing moved since */

	/* The reader waits once: exactly one signal for 100 messages. */
	open_pair(16, 1024);
	TH_EQ(ivc_core_prepare_wait(&b.core, IVC_CORE_WAIT_RX, 0), 1);
	n = 0;
	for (int i = 0; i < 100; i++) {
		TH_EQ(ivc_core_send(&a.core, buf, 100), 0);
		n += ivc_core_notify_check(&a.core);
	}
	TH_EQ(n, 1);
	/* Two requests before the writer looks: still one signal. */
	while (ivc_core_recv(&b.core, buf, sizeof buf) >= 0)
		;
	TH_EQ(ivc_core_prepare_wait(&b.core, IVC_CORE_WAIT_RX, 0), 1);
	TH_EQ(ivc_core_prepare_wait(&b.core, IVC_CORE_WAIT_RX, 0), 1);
	TH_EQ(ivc_core_send(&a.core, buf, 1), 0);
	TH_CHECK(ivc_core_notify_check(&a.core));
	TH_EQ(ivc_core_send(&a.core, buf, 1), 0);
	TH_CHECK(!ivc_core_notify_check(&a.core));

	/* The writer waits for space: one signal however much is drained. */
	open_pair(12, 1000);
	while (ivc_core_send(&a.core, buf, 100) == 0)
		;
	TH_EQ(ivc_core_prepare_wait(&a.core, IVC_CORE_WAIT_TX, 100), 1);
	n = 0;
	for (int i = 0; i < 30; i++) {
		TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), 100);
		n += ivc_core_notify_check(&b.core);
	}
	TH_EQ(n, 1);
	/* A writer that needs more than is free keeps sleeping. */
	open_pair(12, 1000);
	while (ivc_core_send(&a.core, buf, 1000) == 0)
		;
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), 1000);
	TH_EQ(ivc_core_prepare_wait(&a.core, IVC_CORE_WAIT_TX, 1000), 0); /* 1004 free */
	TH_EQ(ivc_core_send(&a.core, buf, 1000), 0);
	TH_EQ(ivc_core_prepare_wait(&a.core, IVC_CORE_WAIT_TX, 1000), 1);

	/* Ready already: never told to sleep (the request may cost one
	 * spurious signal later, never a lost one). */
	open_pair(12, 1000);
	TH_EQ(ivc_core_send(&a.core, buf, 10), 0);
	TH_EQ(ivc_core_prepare_wait(&b.core, IVC_CORE_WAIT_RX, 0), 0);
	TH_EQ(ivc_core_prepare_wait(&a.core, IVC_CORE_WAIT_TX, 10), 0);
	/* Closing wakes a reader: the closer signals unconditionally. */
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), 10);
	TH_EQ(ivc_core_prepare_wait(&b.core, IVC_CORE_WAIT_RX, 0), 1);
	uint64_t before = a.signals;
	th_close(&a);
	TH_EQ(a.signals, before + 1);
	TH_EQ(th_wait(&b, 0), 0);
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), -EPIPE);
	printf("ok - scripted suppression counts\n");
}

/* The calls with the notify check built in (the public calls' fast path)
 * signal exactly when the separate check would: once per request, and
 * never for a failed call. */
static void combined(void)
{
	uint8_t buf[1024] = { 0 };
	bool sig;
	int n = 0;

	open_pair(12, 1000);
	TH_EQ(ivc_core_prepare_wait(&b.core, IVC_CORE_WAIT_RX, 0), 1);
	for (int i = 0; i < 10; i++)
		n += ivc_core_send_check(&a.core, buf, 100);
	TH_EQ(n, 1);
	TH_EQ(ivc_core_send_check(&a.core, buf, 1001), -EMSGSIZE);
	while (ivc_core_send_check(&a.core, buf, 100) == 0)
		;
	TH_EQ(ivc_core_send_check(&a.core, buf, 100), -EAGAIN);
	TH_EQ(ivc_core_prepare_wait(&a.core, IVC_CORE_WAIT_TX, 100), 1);
	n = 0;
	for (int i = 0; i < 5; i++) {
		TH_EQ(ivc_core_recv_check(&b.core, buf, sizeof buf, &sig), 100);
		n += sig;
	}
	TH_EQ(n, 1);
	TH_EQ(ivc_core_recv_check(&b.core, buf, 10, &sig), -EMSGSIZE);
	TH_CHECK(!sig);
	while (ivc_core_recv_check(&b.core, buf, sizeof buf, &sig) >= 0)
		TH_CHECK(!sig);
	TH_CHECK(!ivc_core_notify_check(&a.core) && !ivc_core_notify_check(&b.core));

	/* Stream writes: as many bytes as fit, one signal per request. */
	struct ivc_core_params p = { IVC_WIRE_MODE_STREAM, { 12, 12 }, { 0, 0 }, 0 };
	th_pair_destroy(&pair);
	TH_EQ(th_pair_create(&pair, &p), 0);
	TH_EQ(th_end_open(&a, &pair, 0), 0);
	TH_EQ(th_end_open(&b, &pair, 1), 0);
	TH_EQ(ivc_core_prepare_wait(&b.core, IVC_CORE_WAIT_RX, 0), 1);
	n = 0;
	for (int i = 0; i < 8; i++) {
		TH_EQ(ivc_core_write_check(&a.core, buf, 500, &sig), 500);
		n += sig;
	}
	TH_EQ(n, 1);
	TH_EQ(ivc_core_write_check(&a.core, buf, 500, &sig), 96); /* 4096 - 4000 */
	TH_CHECK(!sig);
	TH_EQ(ivc_core_write_check(&a.core, buf, 1, &sig), -EAGAIN);
	TH_CHECK(!sig);
	TH_EQ(ivc_core_recv_check(&b.core, buf, 1, &sig), -EINVAL); /* wrong mode */
	TH_CHECK(!sig);
	printf("ok - send, recv and write with the notify check\n");
}

/* ---- threaded ---- */

enum { SATURATE, PINGPONG, TINY };
static int scenario;
static long count;

static void *peer_thread(void *arg)
{
	uint8_t buf[4096];
	(void)arg;

	for (long i = 0; i < count; i++) {
		int r = th_io(&b, TH_RECV, buf, sizeof buf, WAIT_MS);
		if (r == -ETIMEDOUT)
			TH_FAIL("reader never woken at message %ld", i);
		TH_CHECK(r >= 0);
		TH_EQ(((uint32_t *)buf)[0], (uint32_t)i);
		if (scenario == PINGPONG && th_io(&b, TH_SEND, buf, 4, WAIT_MS) != 0)
			TH_FAIL("reply %ld not sent", i);
	}
	return NULL;
}

static void threaded(int sc, long n, uint32_t order, size_t len)
{
	uint8_t buf[4096] = { 0 };
	pthread_t t;

	scenario = sc;
	count = n;
	open_pair(order, 4000);
	TH_EQ(pthread_create(&t, NULL, peer_thread, NULL), 0);
	for (long i = 0; i < n; i++) {
		((uint32_t *)buf)[0] = (uint32_t)i;
		int r = th_io(&a, TH_SEND, buf, len, WAIT_MS);
		if (r == -ETIMEDOUT)
			TH_FAIL("writer never woken at message %ld", i);
		TH_EQ(r, 0);
		if (sc == PINGPONG) {
			r = th_io(&a, TH_RECV, buf, sizeof buf, WAIT_MS);
			if (r == -ETIMEDOUT)
				TH_FAIL("ping-pong reader never woken at %ld", i);
			TH_EQ(r, 4);
			TH_EQ(((uint32_t *)buf)[0], (uint32_t)i);
		}
	}
	TH_EQ(pthread_join(t, NULL), 0);

	struct ivc_core_stats sa, sb;
	ivc_core_get_stats(&a.core, &sa);
	ivc_core_get_stats(&b.core, &sb);
	/* At most one signal per request the peer made. A request that finds
	 * the ring ready does not sleep but may still be answered, so the
	 * bound is on requests (the core's counters), not on sleeps. */
	TH_CHECK(a.signals <= (uint64_t)b.core.rx.req + b.core.tx.req);
	TH_CHECK(b.signals <= (uint64_t)a.core.rx.req + a.core.tx.req);
	printf("  %s: %ld messages, signals %llu+%llu, waits %llu+%llu\n",
	       sc == SATURATE   ? "saturated"
	       : sc == PINGPONG ? "ping-pong"
				: "tiny ring",
	       n, (unsigned long long)a.signals, (unsigned long long)b.signals,
	       (unsigned long long)sa.waits, (unsigned long long)sb.waits);
	if (sc == SATURATE)
		TH_CHECK((long)(a.signals + b.signals) < n / 4);
}

/* Side 1 asks for data; whether side 0 answers when only the copy in
 * `keep` holds the request (the other copy put back to 0). */
static bool answered_from(bool keep_side_line)
{
	struct ivc_wire_ctrl *w = pair.ctrl;
	uint8_t buf[8] = { 0 };

	TH_EQ(ivc_core_prepare_wait(&b.core, IVC_CORE_WAIT_RX, 0), 1);
	TH_EQ(w->ring[0].c.data_req, 1u); /* both copies written */
	TH_EQ(w->side[1].req[0], 1u);
	if (keep_side_line)
		w->ring[0].c.data_req = 0;
	else
		w->side[1].req[0] = 0;
	TH_EQ(ivc_core_send(&a.core, buf, sizeof buf), 0);
	return ivc_core_notify_check(&a.core);
}

static void side_requests(void)
{
	struct ivc_core_params p = { IVC_WIRE_MODE_MESSAGE, { 12, 12 }, { 100, 100 }, 0 };
	struct ivc_wire_ctrl *w;

	/* Both sides implement it: offered, accepted, in use on both. */
	open_pair(12, 100);
	w = pair.ctrl;
	TH_EQ(w->hdr.features, IVC_WIRE_FEATURE_SIDE_REQ);
	TH_EQ(w->side[1].features, IVC_WIRE_FEATURE_SIDE_REQ);
	TH_EQ(b.core.features, IVC_WIRE_FEATURE_SIDE_REQ);
	TH_EQ(ivc_core_peer(&a.core), IVC_CORE_PEER_UP); /* side 0 learns here */
	TH_EQ(a.core.features, IVC_WIRE_FEATURE_SIDE_REQ);
	TH_CHECK(answered_from(true));
	open_pair(12, 100);
	TH_EQ(ivc_core_peer(&a.core), IVC_CORE_PEER_UP);
	TH_CHECK(!answered_from(false)); /* the index line is no longer read */

	/* Side 1 predates it (accepts nothing): side 0 reads the index line. */
	th_pair_destroy(&pair);
	TH_EQ(th_pair_create(&pair, &p), 0);
	TH_EQ(th_end_open(&a, &pair, 0), 0);
	TH_EQ(th_end_open(&b, &pair, 1), 0);
	w = pair.ctrl;
	w->side[1].features = 0;
	TH_EQ(ivc_core_peer(&a.core), IVC_CORE_PEER_UP);
	TH_EQ(a.core.features, 0u);
	TH_CHECK(answered_from(false));

	/* Side 0 predates it (offers nothing): side 1 accepts nothing and
	 * reads side 0's requests from the index line. */
	th_pair_destroy(&pair);
	TH_EQ(th_pair_create(&pair, &p), 0);
	TH_EQ(th_end_open(&a, &pair, 0), 0);
	w = pair.ctrl;
	w->hdr.features = 0;
	TH_EQ(th_end_open(&b, &pair, 1), 0);
	TH_EQ(w->side[1].features, 0u);
	uint8_t buf[100] = { 0 };
	while (ivc_core_send(&a.core, buf, sizeof buf) == 0)
		;
	TH_EQ(ivc_core_prepare_wait(&a.core, IVC_CORE_WAIT_TX, sizeof buf), 1);
	w->side[0].req[0] = 0; /* as a side 0 of before would have it */
	TH_EQ(ivc_core_recv(&b.core, buf, sizeof buf), (long long)sizeof buf);
	TH_CHECK(ivc_core_notify_check(&b.core));
	/* ...and, the feature not in use, writes nothing in its side line's
	 * words, reserved to such a side 0 (spec 2.1 item 7). */
	while (ivc_core_recv(&b.core, buf, sizeof buf) >= 0)
		;
	TH_EQ(ivc_core_prepare_wait(&b.core, IVC_CORE_WAIT_RX, 0), 1);
	TH_EQ(w->ring[0].c.data_req, 1u);
	TH_EQ(w->side[1].req[0], 0u);
}

int main(void)
{
	scripted();
	combined();
	side_requests();
	threaded(SATURATE, 1000000, 16, 32);
	threaded(PINGPONG, 20000, 12, 64);
	threaded(TINY, 100000, 12, 1900); /* two per ring: the writer blocks all the time */
	th_pair_destroy(&pair);
	printf("ok - notify\n");
	return 0;
}
