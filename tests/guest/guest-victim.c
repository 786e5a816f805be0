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
 */
#include <errno.h>
#include <ivc.h>
#include <stdio.h>
#include <stdlib.h>

static const struct ivc_type hostile = { "test.hostile", 1, IVC_MESSAGE };

int main(int argc, char **argv)
{
	struct ivc_ctx *ctx;
	int err;

	if (argc < 4) {
		fprintf(stderr, "usage: guest-victim DOMID MS NAME...\n");
		return 2;
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
