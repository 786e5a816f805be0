/* SPDX-License-Identifier: MIT */
/*
 * echo-client: connects to an echo-server, sends COUNT messages of random
 * sizes, checks every echo byte for byte and reports round-trip times.
 *
 * usage: echo-client SERVER_DOMID|any [--name NAME] [--count N] [--max BYTES]
 *                    [--timeout MS]   (for the connect; default 10000)
 *
 * The same source builds as a Linux program and as a guest (guest-ping:
 * the arguments come from the domain's cmdline); it needs nothing the
 * guest runtime lacks (integer arithmetic only: a guest has no floating
 * point).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ivc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct ivc_type echo_type = { "org.libivc.echo", 1, IVC_MESSAGE };

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *name = "echo";
	long count = 1000;
	int timeout_ms = 10000;
	size_t max = 4096;
	struct ivc_ctx *ctx;
	struct ivc_chan *c;
	uint64_t seed = 1;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: echo-client SERVER_DOMID|any [--name NAME] [--count N] "
				"[--max BYTES] [--timeout MS]\n");
		return 2;
	}
	/* "any": whichever domain serves the name (brokered mode). */
	uint32_t server =
	    strcmp(argv[1], "any") ? (uint32_t)strtoul(argv[1], NULL, 10) : IVC_DOMID_ANY;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--name"))
			name = argv[i + 1];
		else if (!strcmp(argv[i], "--count"))
			count = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--max"))
			max = (size_t)atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--timeout"))
			timeout_ms = atoi(argv[i + 1]);
	}
	if (max < 1 || max > 65536 || count < 1)
		return 2;
	if ((err = ivc_open(&ctx, NULL))) {
		fprintf(stderr, "echo-client: ivc_open: %s\n", strerror(-err));
		return 1;
	}
	err = ivc_connect(ctx, server, name, &echo_type, IVC_INOUT, NULL, timeout_ms, &c);
	if (err) {
		/* ivc_connect(3) says what each refusal means. */
		const char *why = err == -EACCES       ? " (refused by the rendezvous policy)"
				  : err == -ENOENT     ? " (no such service)"
				  : err == -EPROTOTYPE ? " (the service has another type)"
				  : err == -EBUSY      ? " (the listener is full)"
						       : "";
		if (server == IVC_DOMID_ANY)
			fprintf(stderr, "echo-client: connect to %s: %s%s\n", name, strerror(-err),
				why);
		else
			fprintf(stderr, "echo-client: connect to dom%u/%s: %s%s\n", server, name,
				strerror(-err), why);
		ivc_close(ctx);
		return 1;
	}
	unsigned char *out = malloc(max), *in = malloc(max);
	uint64_t *rtt = malloc(sizeof(uint64_t) * (size_t)count);
	long bad = 0, done = 0;
	if (!out || !in || !rtt) {
		fprintf(stderr, "echo-client: no memory for %ld round-trip times\n", count);
		err = -ENOMEM;
	}
	for (; !err && done < count; done++) {
		size_t len = (size_t)((seed = seed * 6364136223846793005ull + 1) >> 33) % (max + 1);
		for (size_t k = 0; k < len; k++)
			out[k] = (unsigned char)(done + k * 7);
		uint64_t t0 = now_ns();
		if ((err = ivc_send(c, out, len, 5000)) < 0) {
			fprintf(stderr, "echo-client: send: %s\n", strerror(-err));
			break;
		}
		ssize_t r = ivc_recv(c, in, max, 5000);
		if (r < 0) {
			err = (int)r;
			fprintf(stderr, "echo-client: recv: %s\n", strerror(-err));
			break;
		}
		rtt[done] = now_ns() - t0;
		if ((size_t)r != len || memcmp(in, out, len))
			bad++;
	}
	if (!err) {
		qsort(rtt, (size_t)count, sizeof *rtt, cmp);
		printf(
		    "echo-client: dom%u <-> dom%u on %s: %ld messages, %ld bad; round trip median "
		    "%llu.%llu us, p99 %llu.%llu us\n",
		    ivc_domid(ctx), ivc_peer_domid(c), ivc_platform(ctx), count, bad,
		    (unsigned long long)rtt[count / 2] / 1000,
		    (unsigned long long)rtt[count / 2] % 1000 / 100,
		    (unsigned long long)rtt[count * 99 / 100] / 1000,
		    (unsigned long long)rtt[count * 99 / 100] % 1000 / 100);
	} else if (err != -ENOMEM)
		fprintf(stderr, "echo-client: stopped after %ld messages\n", done);
	/* Closed on every path: the channel's records go with it. */
	ivc_chan_close(c);
	ivc_close(ctx);
	free(out);
	free(in);
	free(rtt);
	return err || bad ? 1 : 0;
}
