/* SPDX-License-Identifier: MIT */
/*
 * echo-stage: one stage of a pipeline. Serves IN and connects to OUT (both of
 * type org.libivc.echo v1: messages, both ways), then passes every
 * message on, IN to OUT and OUT back to IN, until either side closes.
 * Chained, stages carry an echo-client's messages to an echo-server and
 * its echoes back; each stage prints a checksum (FNV-1a) of what it
 * passed each way, so that every hop can be shown to have carried the
 * same bytes.
 *
 * usage: echo-stage --in NAME --out NAME [--to DOMID|any] [--timeout MS]
 *        (OUT on DOMID, or by name alone through the rendezvous daemon;
 *        default any; MS bounds the wait for OUT and for IN's client)
 *
 * The same source builds as a Linux program and as a guest
 * (guest-stage: the arguments come from the domain's cmdline).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ivc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MSG 4096

static const struct ivc_type echo_type = { "org.libivc.echo", 1, IVC_MESSAGE };
static char buf[MAX_MSG];

struct way {
	struct ivc_chan *from, *to;
	unsigned long long msgs, bytes;
	uint32_t fnv;
};

static void sum(struct way *w, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w->fnv = (w->fnv ^ (unsigned char)p[i]) * 16777619u;
	w->msgs++;
	w->bytes += n;
}

/* Passes on what is there: 0 (-EAGAIN: nothing more now) or the error
 * that ends the pipeline (-EPIPE: the sender closed). */
static int pass(struct way *w)
{
	ssize_t r;
	int err;

	while ((r = ivc_recv(w->from, buf, sizeof buf, 0)) >= 0) {
		sum(w, buf, (size_t)r);
		if ((err = ivc_send(w->to, buf, (size_t)r, 10000)) < 0)
			return err;
	}
	return r == -EAGAIN ? 0 : (int)r;
}

/* OUT, waiting while nobody offers it yet (brokered: ENOENT at once). */
static int connect_out(struct ivc_ctx *ctx, uint32_t to, const char *out, int ms,
		       struct ivc_chan **c)
{
	struct ivc_ready r;
	int err;

	for (int waited = 0;; waited += 100) {
		err = ivc_connect(ctx, to, out, &echo_type, IVC_INOUT, NULL, ms - waited, c);
		if (err != -ENOENT || waited >= ms)
			return err;
		(void)ivc_wait(ctx, &r, 1, 100); /* a pause; nothing to report yet */
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: echo-stage --in NAME --out NAME [--to DOMID|any] [--timeout MS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	uint32_t to = IVC_DOMID_ANY;
	int ms = 60000, err;
	struct ivc_ctx *ctx;
	struct ivc_listener *l;
	struct way fwd = { .fnv = 2166136261u }, back = { .fnv = 2166136261u };

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--in"))
			in = argv[i + 1];
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
		else if (!strcmp(argv[i], "--to"))
			to = strcmp(argv[i + 1], "any") ? (uint32_t)strtoul(argv[i + 1], NULL, 10)
							: IVC_DOMID_ANY;
		else if (!strcmp(argv[i], "--timeout"))
			ms = atoi(argv[i + 1]);
		else
			return usage();
	}
	if (!in || !out || argc % 2 == 0)
		return usage();
	if ((err = ivc_open(&ctx, NULL))) {
		fprintf(stderr, "echo-stage: ivc_open: %s\n", strerror(-err));
		return 1;
	}
	const struct ivc_opts opts = { .tx_ring = 16384, .rx_ring = 16384, .max_msg = MAX_MSG };
	if ((err = ivc_listen(ctx, in, &echo_type, IVC_INOUT, &opts, &l))) {
		fprintf(stderr, "echo-stage: listen on %s: %s\n", in, strerror(-err));
		ivc_close(ctx);
		return 1;
	}
	if ((err = connect_out(ctx, to, out, ms, &fwd.to))) {
		fprintf(stderr, "echo-stage: connect to %s: %s\n", out, strerror(-err));
		ivc_listener_close(l);
		ivc_close(ctx);
		return 1;
	}
	printf("echo-stage: dom%u: %s -> %s (dom%u) on %s\n", ivc_domid(ctx), in, out,
	       ivc_peer_domid(fwd.to), ivc_platform(ctx));
	fflush(stdout);
	if ((err = ivc_accept(l, ms, &fwd.from))) {
		fprintf(stderr, "echo-stage: accept on %s: %s\n", in, strerror(-err));
		ivc_chan_close(fwd.to);
		ivc_listener_close(l);
		ivc_close(ctx);
		return 1;
	}
	ivc_listener_close(l); /* one client: the stage before */
	ivc_chan_set_user(fwd.from, &fwd);
	ivc_chan_set_user(fwd.to, &back);
	back.from = fwd.to;
	back.to = fwd.from;
	for (err = 0; !err;) {
		struct ivc_ready r[2];
		int n = ivc_wait(ctx, r, 2, 1000);

		if (n == -ETIMEDOUT)
			continue;
		if (n < 0) {
			err = n;
			break;
		}
		for (int i = 0; i < n && !err; i++)
			if (r[i].chan)
				err = pass(ivc_chan_user(r[i].chan));
	}
	printf(
	    "echo-stage: %s -> %s: %llu messages, %llu bytes, fnv %08x; back: %llu messages, %llu "
	    "bytes, fnv %08x; ended by %s\n",
	    in, out, fwd.msgs, fwd.bytes, fwd.fnv, back.msgs, back.bytes, back.fnv, strerror(-err));
	ivc_chan_close(fwd.from);
	ivc_chan_close(fwd.to);
	ivc_close(ctx);
	return err == -EPIPE ? 0 : 1;
}
