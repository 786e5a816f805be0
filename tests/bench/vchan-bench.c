/* SPDX-License-Identifier: MIT */
/*
 * vchan-bench: the libxenvchan baseline for ivc-bench on Xen (the Xen
 * lab): the same message throughput and ping-pong tests, over Debian's
 * libxenvchan between the same two domains, written as CSV rows in
 * ivc-bench's format ("vchan-msg", "vchan-rtt") for one table.
 *
 *   vchan-bench serve CLIENT_DOMID [CLIENTS]       the server (grants the rings)
 *                                                  for CLIENTS runs in turn
 *   vchan-bench run SERVER_DOMID [--sizes S,S] [--reps N] [--bytes N] [--rtts N]
 *
 * Round trips per ping-pong: --rtts (default 2000), a tenth of it from
 * 64 KiB up: ivc-bench's rule, so that both medians are of as many.
 * Rings are 1 MiB each way, libxenvchan's largest: compare with ivc-bench
 * run against `ivc-bench serve --ring 1048576`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libxenvchan.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#define RING (1u << 20)
#define MAX_SIZES 16
#define MAX_REPS 64

enum { OP_SINK = 1, OP_ECHO, OP_QUIT };
struct cmd {
	uint32_t op, size;
	uint64_t count; /* OP_SINK: bytes; OP_ECHO: round trips */
};

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

__attribute__((noreturn)) static void die(const char *what)
{
	fprintf(stderr, "vchan-bench: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

/* Exactly n bytes (libxenvchan_recv/send need n <= the ring). */
static void get(struct libxenvchan *v, void *buf, size_t n)
{
	for (size_t off = 0; off < n;) {
		int r = libxenvchan_read(v, (char *)buf + off, n - off);
		if (r <= 0)
			die("read");
		off += (size_t)r;
	}
}

static void put(struct libxenvchan *v, const void *buf, size_t n)
{
	for (size_t off = 0; off < n;) {
		int r = libxenvchan_write(v, (const char *)buf + off, n - off);
		if (r <= 0)
			die("write");
		off += (size_t)r;
	}
}

/* This domain's id, as XenStore says ("domid" under its home path). */
static unsigned my_domid(void)
{
	struct xs_handle *xs = xs_open(0);
	unsigned int len;
	char *v = xs ? xs_read(xs, XBT_NULL, "domid", &len) : NULL;
	unsigned id = v ? (unsigned)strtoul(v, NULL, 10) : 0;

	if (xs)
		xs_close(xs);
	if (!v)
		die("reading domid from XenStore");
	free(v);
	return id;
}

static void path_of(char *p, size_t size, unsigned server, unsigned client)
{
	snprintf(p, size, "/local/domain/%u/data/vchan/%u/bench", server, client);
}

/* One client: a fresh vchan (libxenvchan serves one client per vchan). */
static void serve_one(unsigned client, const char *path)
{
	static uint8_t buf[RING];
	struct libxenvchan *v = libxenvchan_server_init(NULL, (int)client, path, RING, RING);

	if (!v)
		die("libxenvchan_server_init");
	v->blocking = 1;
	printf("vchan-bench: serving dom%u at %s\n", client, path);
	fflush(stdout);
	for (;;) {
		struct cmd k;
		uint64_t ack = 0;
		get(v, &k, sizeof k);
		if (k.op == OP_QUIT || k.size == 0 || k.size > RING / 2)
			break;
		if (k.op == OP_SINK)
			for (uint64_t got = 0; got < k.count; got += k.size)
				get(v, buf, k.size);
		else
			for (uint64_t i = 0; i < k.count; i++) {
				get(v, buf, k.size);
				put(v, buf, k.size);
			}
		put(v, &ack, sizeof ack);
	}
	libxenvchan_close(v);
}

static int serve(unsigned client, long clients)
{
	char path[128];

	path_of(path, sizeof path, my_domid(), client);
	for (long c = 0; c < clients; c++)
		serve_one(client, path);
	return 0;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void row(const char *test, const char *unit, uint32_t size, double *v, int n, double p99,
		double p999)
{
	double lo = v[0], hi = v[0], med;

	for (int i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	qsort(v, (size_t)n, sizeof *v, cmpd);
	med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	printf("%s,%u,%.4f,%.4f,%.4f,%s,0,0,%.2f,%.2f,%d,0,0,0\n", test, size, med, lo, hi, unit,
	       p99, p999, n);
}

static int run(int argc, char **argv)
{
	uint32_t sizes[MAX_SIZES] = { 64, 4096, 65536 };
	int nsizes = 3, reps = 3, rtts = 2000;
	uint64_t bytes = 16u << 20;
	static uint8_t buf[RING];
	char path[128];
	struct libxenvchan *v;
	unsigned server = (unsigned)atoi(argv[2]), me = my_domid();
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--sizes")) {
			char *s = argv[i + 1], *end;
			for (nsizes = 0; *s && nsizes < MAX_SIZES; s = *end ? end + 1 : end) {
				sizes[nsizes] = (uint32_t)strtoul(s, &end, 0);
				if (sizes[nsizes] == 0 || sizes[nsizes] > RING / 2)
					return fprintf(stderr, "vchan-bench: bad size\n"), 2;
				nsizes++;
			}
		} else if (!strcmp(argv[i], "--reps"))
			reps = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--bytes"))
			bytes = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--rtts"))
			rtts = atoi(argv[i + 1]);
		else
			return fprintf(stderr, "vchan-bench: unknown option %s\n", argv[i]), 2;
	}
	if (reps < 1 || reps > MAX_REPS || rtts < 10)
		return 2;
	path_of(path, sizeof path, server, me);
	for (int k = 0; k < 100 && !(v = libxenvchan_client_init(NULL, (int)server, path)); k++)
		usleep(100000); /* the server may not be up yet */
	if (!v)
		die("libxenvchan_client_init");
	v->blocking = 1;
	memset(buf, 1, sizeof buf);
	for (int i = 0; i < nsizes; i++) {
		uint32_t sz = sizes[i];
		double tput[MAX_REPS], rtt[MAX_REPS], p99 = 0, p999 = 0;
		uint64_t ack, total = bytes / sz * sz;
		int n = sz >= 65536 ? rtts / 10 : rtts; /* as ivc-bench */
		for (int r = 0; r < reps; r++) {
			struct cmd k = { OP_SINK, sz, total };
			int64_t t0 = now_ns();
			put(v, &k, sizeof k);
			for (uint64_t sent = 0; sent < total; sent += sz)
				put(v, buf, sz);
			get(v, &ack, sizeof ack);
			tput[r] = (double)total / (double)(now_ns() - t0);

			double *rt = malloc((size_t)n * sizeof *rt);
			if (!rt)
				die("memory");
			k = (struct cmd){ OP_ECHO, sz, (uint64_t)n };
			put(v, &k, sizeof k);
			for (int j = 0; j < n; j++) {
				int64_t t1 = now_ns();
				put(v, buf, sz);
				get(v, buf, sz);
				rt[j] = (double)(now_ns() - t1) / 1000.0;
			}
			get(v, &ack, sizeof ack);
			qsort(rt, (size_t)n, sizeof *rt, cmpd);
			rtt[r] = rt[n / 2];
			p99 = rt[(int)(n * 0.99)];
			p999 = rt[(int)(n * 0.999)];
			free(rt);
		}
		row("vchan-msg", "GB/s", sz, tput, reps, 0, 0);
		row("vchan-rtt", "us", sz, rtt, reps, p99, p999);
	}
	struct cmd q = { OP_QUIT, 0, 0 };
	put(v, &q, sizeof q);
	libxenvchan_close(v);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "serve")) {
		long clients = argc == 4 ? strtol(argv[3], NULL, 10) : 1;
		if (clients >= 1 && clients <= 100000)
			return serve((unsigned)atoi(argv[2]), clients);
	}
	if (argc >= 3 && !strcmp(argv[1], "run"))
		return run(argc, argv);
	fprintf(stderr, "usage: vchan-bench serve CLIENT_DOMID [CLIENTS]\n"
			"       vchan-bench run SERVER_DOMID [--sizes S,S] [--reps N] "
			"[--bytes N] [--rtts N]\n");
	return 2;
}
