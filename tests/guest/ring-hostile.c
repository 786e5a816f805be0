/* SPDX-License-Identifier: MIT */
/*
 * ring-hostile: a listener (dom0, Linux) that turns hostile on its own
 * channel once the client has read a first message: it writes into the
 * control area it shares (found from the ring address ivc_reserve hands
 * out, checked by the magic; layout from ivc/wire.h) what a malicious
 * peer would, and then waits for the client to go. The client is a guest
 * (guest-victim ring ...), which must answer each attack with EPROTO and
 * go on living. Spec section 7's rules, on real Xen, with a guest victim.
 *
 * usage: ring-hostile NAME ATTACK
 *   none  a well-behaved second message ("bye")
 *   prod  ring 0's prod index beyond what the ring can hold
 *   len   a message header whose length is above max-msg
 *   cons  ring 1's cons index beyond what the client produced, then a
 *         message "now" (the client sends until it meets it: when the
 *         room it knew of runs out and it loads the cons)
 * The client reads "hello", answers "go", and the attack follows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ivc.h>
#include <ivc/wire.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ORDER 13 /* 8 KiB rings */

static int fail(const char *what, long err)
{
	fprintf(stderr, "ring-hostile: %s: %s\n", what, err < 0 ? strerror((int)-err) : "wrong");
	return 1;
}

int main(int argc, char **argv)
{
	static const struct ivc_type t = { "test.ring", 1, IVC_MESSAGE };
	const struct ivc_opts o = { .tx_ring = 1u << ORDER,
				    .rx_ring = 1u << ORDER,
				    .max_msg = 1000 };
	struct ivc_ctx *ctx;
	struct ivc_listener *l;
	struct ivc_chan *c;
	struct iovec iov[2];
	char b[1000];
	long err;

	if (argc != 3)
		return fprintf(stderr, "usage: ring-hostile NAME none|prod|len|cons\n"), 2;
	const char *attack = argv[2];
	if ((err = ivc_open(&ctx, NULL)) || (err = ivc_listen(ctx, argv[1], &t, IVC_INOUT, &o, &l)))
		return fail("listen", err);
	printf("ring-hostile: serving %s (%s)\n", argv[1], attack);
	fflush(stdout);
	if ((err = ivc_accept(l, 120000, &c)))
		return fail("accept", err);
	ivc_listener_close(l);
	/* The first message: its payload starts 4 bytes into ring 0 (ours,
	 * as side 0), which follows the control pages. */
	if ((err = ivc_reserve(c, 5, iov, 10000)))
		return fail("reserve", err);
	uint8_t *ring0 = (uint8_t *)iov[0].iov_base - IVC_WIRE_MSG_HDR;
	volatile struct ivc_wire_ctrl *w =
	    (volatile void *)(ring0 - IVC_WIRE_PAGE_SIZE * ivc_wire_ctrl_pages(ORDER, ORDER));
	if (w->hdr.magic != IVC_WIRE_MAGIC)
		return fail("control area not found", 0);
	memcpy(iov[0].iov_base, "hello", 5);
	if ((err = ivc_commit(c)))
		return fail("commit", err);
	if ((err = ivc_recv(c, b, sizeof b, 60000)) != 2)
		return fail("the client's go", err);
	uint32_t prod = w->ring[0].p.prod;
	if (!strcmp(attack, "none")) {
		if ((err = ivc_send(c, "bye", 3, 10000)))
			return fail("send", err);
	} else if (!strcmp(attack, "prod")) {
		w->ring[0].p.prod = prod + (1u << ORDER) + 64;
	} else if (!strcmp(attack, "len")) {
		uint32_t bad = 0xfffffff0u;
		memcpy(ring0 + (prod & ((1u << ORDER) - 1)), &bad, sizeof bad);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		w->ring[0].p.prod = prod + IVC_WIRE_MSG_HDR + 8;
	} else if (!strcmp(attack, "cons")) {
		/* then "now": the client's next send meets it */
		w->ring[1].c.cons = w->ring[1].c.cons + 100000;
		if ((err = ivc_send(c, "now", 3, 10000)))
			return fail("send", err);
	} else {
		return fail("unknown attack", 0);
	}
	printf("ring-hostile: %s: attacked\n", attack);
	fflush(stdout);
	/* Until the client goes (EPIPE, or ECONNRESET). After the cons
	 * attack a receive would write our cons and undo it: a send tells
	 * that the client went as well. */
	for (int i = 0; i < 600; i++) {
		if (strcmp(attack, "cons"))
			err = ivc_recv(c, b, sizeof b, 100);
		else if ((err = ivc_send(c, "x", 1, 0)) == 0 || err == -EAGAIN) {
			usleep(100000);
			err = -ETIMEDOUT;
		}
		if (err != -ETIMEDOUT)
			break;
	}
	printf("ring-hostile: %s: the client went (%s)\n", attack, strerror((int)-err));
	ivc_chan_close(c);
	ivc_close(ctx);
	return 0;
}
