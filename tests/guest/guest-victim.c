/* SPDX-License-Identifier: MIT */
/*
 * guest-victim: a guest that connects, one after the other, to services
 * that a hostile listener in another domain bends (the Xen lab's section
 * 8d writes them with the real xenstore tools): for each it prints the
 * error ivc_connect returned, then exits 0. Whatever the listener wrote,
 * the guest must come back with an error, never fault (the runtime would
 * print an exception and exit 126) nor hang (each connect is bounded).
 *
 * usage (the domain's cmdline): DOMID MS NAME...
 *   connects to each NAME on DOMID (type "test.hostile" v1, messages,
 *   both ways) with a timeout of MS; prints "victim NAME: ERRNO".
 * or: ring DOMID NAME...
 *   connects to each NAME (type "test.ring" v1, a tests/guest/ring-
 *   hostile listener), reads "hello", answers "go", then reads once more
 *   (and if that is "now", sends until a send fails, at most 20 times):
 *   prints "victim NAME: ERRNO" for what the last call returned (0: it
 *   went through).
 */
#include <errno.h>
#include <ivc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ivc_type hostile = { "test.hostile", 1, IVC_MESSAGE };
static const struct ivc_type ring_type = { "test.ring", 1, IVC_MESSAGE };

/* One channel to a ring-hostile listener: the error of the call that met
 * the attack, or 0. */
static long ring_victim(struct ivc_ctx *ctx, uint32_t dom, const char *name)
{
	struct ivc_chan *c;
	char b[1000];
	long r = ivc_connect(ctx, dom, name, &ring_type, IVC_INOUT, NULL, 120000, &c);

	if (r)
		return r;
	if ((r = ivc_recv(c, b, sizeof b, 30000)) == 5 && !memcmp(b, "hello", 5) &&
	    !(r = ivc_send(c, "go", 2, 10000))) {
		r = ivc_recv(c, b, sizeof b, 30000);
		if (r == 3 && !memcmp(b, "now", 3)) {
			/* A sender loads the peer's cons only when the room it
			 * knew of runs out (8 such messages fit in 8 KiB). */
			for (int i = 0; i < 20 && !(r = ivc_send(c, b, sizeof b, 10000)); i++)
				;
		} else if (r == 3 && !memcmp(b, "bye", 3))
			r = 0;
	} else if (r >= 0)
		r = -EIO; /* not the first message agreed */
	ivc_chan_close(c);
	return r;
}

int main(int argc, char **argv)
{
	struct ivc_ctx *ctx;
	int err;

	if (argc < 4) {
		fprintf(stderr, "usage: guest-victim DOMID MS NAME... | ring DOMID NAME...\n");
		return 2;
	}
	if (!strcmp(argv[1], "ring")) {
		uint32_t dom = (uint32_t)strtoul(argv[2], NULL, 10);
		if ((err = ivc_open(&ctx, NULL))) {
			printf("victim: ivc_open: %d\n", err);
			return 1;
		}
		for (int i = 3; i < argc; i++)
			printf("victim %s: %ld\n", argv[i], -ring_victim(ctx, dom, argv[i]));
		ivc_close(ctx);
		printf("victim: done\n");
		return 0;
	}
	uint32_t dom = (uint32_t)strtoul(argv[1], NULL, 10);
	int ms = atoi(argv[2]);
	if ((err = ivc_open(&ctx, NULL))) {
		printf("victim: ivc_open: %d\n", err);
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		struct ivc_chan *c;
		err = ivc_connect(ctx, dom, argv[i], &hostile, IVC_INOUT, NULL, ms, &c);
		if (!err)
			ivc_chan_close(c);
		printf("victim %s: %d\n", argv[i], -err);
	}
	ivc_close(ctx);
	printf("victim: done\n");
	return 0;
}
