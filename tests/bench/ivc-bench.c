/* SPDX-License-Identifier: MIT */
/*
 * ivc-bench: throughput and latency of libIVC channels, with the baselines
 * measured in the same run, on the same sizes and the same placement (two
 * processes): memcpy, a plain shared ring, an AF_UNIX stream socket pair,
 * a pipe, a spinning shared cache line (the latency floor) and an eventfd
 * round trip (the blocking floor).
 *
 *   ivc-bench serve [--name NAME] [--ring BYTES] [--clients N]   the peer
 *   ivc-bench run PEER_DOMID [options]                 measure; see usage()
 *
 * Output: a markdown table on stdout, and CSV (--csv FILE): one row per
 * (test, size) with the median, minimum and maximum over the repetitions.
 * Performance is read from this output, never asserted by a test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ivc.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZES 16
#define MAX_REPS 64
#define NEX 7 /* the extra columns */

static const struct ivc_type msg_type = { "org.libivc.bench", 1, IVC_MESSAGE };
static const struct ivc_type str_type = { "org.libivc.bench-stream", 1, IVC_STREAM };

enum op { OP_SINK = 1, OP_SINK_STREAM, OP_ECHO, OP_QUIT };

/* A command on the message channel; the server answers each with a
 * struct reply once done. */
struct cmd {
	uint32_t op, size;
	uint64_t count; /* OP_SINK_STREAM: bytes; OP_ECHO: round trips */
	uint32_t spin_us;
	uint32_t pad;
};

struct reply {
	uint64_t cpu_ns;    /* the server's CPU time for the command */
	uint64_t notify_tx; /* its signals sent during the command */
	uint64_t bytes;
	uint64_t waits, lingers; /* its sleeps and naps during the command */
};

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

__attribute__((noreturn)) static void die(const char *what, long err)
{
	fprintf(stderr, "ivc-bench: %s: %s\n", what, err < 0 ? strerror((int)-err) : "failed");
	exit(1);
}

static struct ivc_stats stats(struct ivc_chan *c)
{
	struct ivc_stats st;
	int err = ivc_stats(c, &st);

	if (err)
		die("ivc_stats", err);
	return st;
}

/* Blocking calls on both channels spin for spin_us before they sleep
 * (spin-then-block, done by the library: ivc_chan_set_spin). */
static void set_spin(struct ivc_chan *m, struct ivc_chan *s, uint32_t spin_us)
{
	int err;

	if ((err = ivc_chan_set_spin(m, spin_us)) || (err = ivc_chan_set_spin(s, spin_us)))
		die("--spin-us", err);
}

/* ---- the server ---------------------------------------------------------- */

static void serve_cmd(struct ivc_chan *m, struct ivc_chan *s, const struct cmd *k, uint8_t *buf,
		      size_t cap)
{
	uint64_t c0 = cpu_ns();
	struct ivc_stats m0 = stats(m), s0 = stats(s), m1, s1;
	struct reply rp = { 0 };
	ssize_t r;

	set_spin(m, s, k->spin_us);
	switch (k->op) {
	case OP_SINK: /* messages until an empty one */
		while ((r = ivc_recv(m, buf, cap, -1)) > 0)
			rp.bytes += (uint64_t)r;
		if (r < 0)
			die("sink: recv", r);
		break;
	case OP_SINK_STREAM:
		while (rp.bytes < k->count) {
			r = ivc_read(s, buf, cap, -1);
			if (r <= 0)
				die("sink: read", r ? r : -EPIPE);
			rp.bytes += (uint64_t)r;
		}
		break;
	case OP_ECHO:
		for (uint64_t i = 0; i < k->count; i++) {
			r = ivc_recv(m, buf, cap, -1);
			if (r < 0)
				die("echo: recv", r);
			if ((r = ivc_send(m, buf, (size_t)r, -1)) < 0)
				die("echo: send", r);
		}
		break;
	}
	rp.cpu_ns = cpu_ns() - c0;
	m1 = stats(m);
	s1 = stats(s);
	rp.notify_tx = m1.notify_tx - m0.notify_tx + s1.notify_tx - s0.notify_tx;
	rp.waits = m1.waits - m0.waits + s1.waits - s0.waits;
	rp.lingers = m1.lingers - m0.lingers + s1.lingers - s0.lingers;
	if ((r = ivc_send(m, &rp, sizeof rp, -1)) < 0)
		die("reply", r);
}

/* One client: its commands until it quits or goes away. */
static void serve_client(struct ivc_listener *lm, struct ivc_listener *ls, uint8_t *buf,
			 uint32_t ring)
{
	struct ivc_chan *m, *s;
	long err;

	if ((err = ivc_accept(lm, -1, &m)) || (err = ivc_accept(ls, -1, &s)))
		die("accept", err);
	for (;;) {
		struct cmd k;
		ssize_t r = ivc_recv(m, &k, sizeof k, -1);
		if (r == -EPIPE)
			break;
		if (r != (ssize_t)sizeof k)
			die("command", r < 0 ? r : -EPROTO);
		if (k.op == OP_QUIT)
			break;
		serve_cmd(m, s, &k, buf, ring);
	}
	ivc_chan_close(m);
	ivc_chan_close(s);
}

static int serve(const char *name, uint32_t ring, long clients)
{
	struct ivc_opts o = { .tx_ring = ring, .rx_ring = ring, .max_msg = ring / 2 };
	char sname[80];
	struct ivc_listener *lm, *ls;
	struct ivc_ctx *ctx;
	uint8_t *buf = malloc(ring);
	long err;

	if (!buf)
		die("memory", -ENOMEM);
	if ((err = ivc_open(&ctx, NULL)))
		die("ivc_open", err);
	snprintf(sname, sizeof sname, "%s-stream", name);
	if ((err = ivc_listen(ctx, name, &msg_type, IVC_INOUT, &o, &lm)) ||
	    (err = ivc_listen(ctx, sname, &str_type, IVC_INOUT,
			      &(struct ivc_opts){ .tx_ring = ring, .rx_ring = ring }, &ls)))
		die("listen", err);
	printf("ivc-bench: serving \"%s\" in dom%u\n", name, ivc_domid(ctx));
	fflush(stdout);
	for (long c = 0; c < clients; c++)
		serve_client(lm, ls, buf, ring);
	ivc_listener_close(lm);
	ivc_listener_close(ls);
	ivc_close(ctx);
	free(buf);
	return 0;
}

/* ---- results --------------------------------------------------------------- */

struct point {
	const char *test, *unit;
	uint32_t size;
	double v[MAX_REPS];
	int n;
	/* per test: cpu ns/byte, notifies/MiB, p99, p99.9, and the writer's
	 * sleeps, the reader's sleeps and its naps per MiB (medians) */
	double ex[NEX][MAX_REPS];
};

static struct point pts[256];
static int npts;
/* Placement: the CPUs we were given (before --cpu), --cpu and --peer-cpu
 * (-1: not set). A baseline's second process runs on peer_cpu, or on
 * any of `given` (not on --cpu's, as it would by inheritance). */
static cpu_set_t given;
static int run_cpu = -1, peer_cpu = -1;

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	double t[MAX_REPS];

	memcpy(t, v, (size_t)n * sizeof *t);
	qsort(t, (size_t)n, sizeof *t, cmpd);
	return n ? (n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2) : 0;
}

/* The median of n samples (upper, as the p99 takes): sorts v. */
static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmpd);
	return v[n / 2];
}

/* The point of a test at a size (any_size: its first), or NULL. */
static struct point *find(const char *test, uint32_t size, bool any_size)
{
	for (int i = 0; i < npts; i++)
		if (!strcmp(pts[i].test, test) && (any_size || pts[i].size == size))
			return &pts[i];
	return NULL;
}

static struct point *point(const char *test, const char *unit, uint32_t size)
{
	struct point *p = find(test, size, false);

	if (p)
		return p;
	pts[npts] = (struct point){ .test = test, .unit = unit, .size = size };
	return &pts[npts++];
}

/* The smallest and largest of n > 0 values. */
static void span(const double *v, int n, double *lo, double *hi)
{
	*lo = *hi = v[0];
	for (int k = 1; k < n; k++) {
		*lo = v[k] < *lo ? v[k] : *lo;
		*hi = v[k] > *hi ? v[k] : *hi;
	}
}

static void add(const char *test, const char *unit, uint32_t size, double v, const double *ex)
{
	struct point *p = point(test, unit, size);

	if (p->n == MAX_REPS)
		return;
	for (int i = 0; ex && i < NEX; i++)
		p->ex[i][p->n] = ex[i];
	p->v[p->n++] = v;
}

/* ---- baselines ------------------------------------------------------------- */

/* How many operations of `size` bytes a timed loop does between two
 * clock reads: a MiB's worth (at least one). Where a clock read is a
 * system call (40 us in the lab's PV domUs) reading it more often would
 * be part of what is measured. */
static int per_mib(uint32_t size)
{
	return size == 0 ? 32 : size >= 1048576 ? 1 : (int)(1048576 / size);
}

/* memcpy bandwidth, one thread, GB/s. */
static double bl_memcpy(uint32_t size, int64_t ms)
{
	size_t n = size < 4096 ? 4096 : size;
	uint8_t *a = malloc(n), *b = malloc(n);
	uint64_t bytes = 0;
	int64_t t0 = now_ns(), t;
	/* (a clock read every 64 small copies made this a measure of the clock) */
	int batch = per_mib(size) > 64 ? per_mib(size) : 64;

	if (!a || !b)
		die("memory", -ENOMEM);
	memset(a, 1, n);
	do {
		for (int i = 0; i < batch; i++) {
			memcpy(b, a, size);
			a[i % size] = b[(i * 7) % size]; /* keep the copies alive */
		}
		bytes += (uint64_t)batch * size;
	} while ((t = now_ns()) - t0 < ms * 1000000);
	free(a);
	free(b);
	return (double)bytes / (double)(t - t0);
}

/* Pins this process to CPU n; dies if it cannot. */
static void pin(int n, const char *what)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(n, &set);
	if (sched_setaffinity(0, sizeof set, &set))
		die(what, -errno);
}

/* Whether we were placed with both sides on one CPU, where the spinning
 * baselines (spin-rtt, ring) would wait for each other's time slice at
 * every hand-off. */
static bool one_cpu(void)
{
	return run_cpu >= 0 && peer_cpu == run_cpu;
}

/* The baselines' second process, placed as the server is (--peer-cpu).
 * It dies with us: an eventfd's reader would wait for ever. */
static pid_t fork_peer(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	if (peer_cpu >= 0)
		pin(peer_cpu, "--peer-cpu");
	else if (sched_setaffinity(0, sizeof given, &given))
		_exit(1);
	return 0;
}

/* A plain shared-memory ring between two processes, as libIVC's is
 * placed: this process writes messages of the size for ms, a forked one
 * copies them out, both spinning, no framing, no checks, no sleeps. What
 * any two-copy ring could do here; its cross-CPU copies drift with the
 * machine (3-40 GB/s at 64 KiB on one shared host in an hour). GB/s
 * taken out by the reader. */
struct ring_ctl {
	_Alignas(64) _Atomic uint64_t prod;
	_Alignas(64) _Atomic uint64_t cons;
	_Alignas(64) _Atomic int stop;
};

/* Copies n bytes into the ring at pos, or out of it, across its end. */
static void ring_in(uint8_t *ring, size_t rsize, uint64_t pos, const uint8_t *src, size_t n)
{
	size_t off = (size_t)(pos % rsize), first = n < rsize - off ? n : rsize - off;

	memcpy(ring + off, src, first);
	memcpy(ring, src + first, n - first);
}

static void ring_out(const uint8_t *ring, size_t rsize, uint64_t pos, uint8_t *dst, size_t n)
{
	size_t off = (size_t)(pos % rsize), first = n < rsize - off ? n : rsize - off;

	memcpy(dst, ring + off, first);
	memcpy(dst + first, ring, n - first);
}

static double bl_ring(uint32_t size, size_t rsize, int64_t ms)
{
	struct ring_ctl *c =
	    mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *ring =
	    mmap(NULL, rsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *buf = malloc(size);
	uint64_t p = 0, c0, c1;
	int64_t t0, t1;
	pid_t pid;

	if (c == MAP_FAILED || ring == MAP_FAILED || !buf || size > rsize)
		die("ring set-up", -ENOMEM);
	memset(ring, 0, rsize);
	memset(buf, 7, size);
	pid = fork_peer();
	if (pid == 0) {
		uint64_t at = 0, end;
		for (;;) {
			while ((end = atomic_load_explicit(&c->prod, memory_order_acquire)) == at)
				if (atomic_load_explicit(&c->stop, memory_order_relaxed))
					_exit(0);
			for (; at < end; at += size) {
				ring_out(ring, rsize, at, buf, size);
				atomic_store_explicit(&c->cons, at + size, memory_order_release);
			}
		}
	}
	if (pid < 0)
		die("fork", -errno);
	c0 = atomic_load(&c->cons);
	t0 = now_ns();
	do
		for (int i = 0; i < 16; i++) {
			while (p + size - atomic_load_explicit(&c->cons, memory_order_acquire) >
			       rsize)
				;
			ring_in(ring, rsize, p, buf, size);
			p += size;
			atomic_store_explicit(&c->prod, p, memory_order_release);
		}
	while ((t1 = now_ns()) - t0 < ms * 1000000);
	c1 = atomic_load(&c->cons);
	atomic_store(&c->stop, 1);
	waitpid(pid, NULL, 0);
	free(buf);
	munmap(ring, rsize);
	munmap(c, sizeof *c);
	return (double)(c1 - c0) / (double)(t1 - t0);
}

/* A writer process sends for ms, the reader counts: GB/s at the reader.
 * fds: a connected pair (socketpair or pipe). */
static double bl_stream(int rfd, int wfd, uint32_t size, int64_t ms)
{
	uint8_t *buf = malloc(size);
	uint64_t bytes = 0;
	int64_t t0, t1;
	pid_t pid;

	if (!buf)
		die("memory", -ENOMEM);
	memset(buf, 7, size);
	pid = fork_peer();
	if (pid == 0) {
		int64_t until = now_ns() + ms * 1000000;
		close(rfd);
		while (now_ns() < until)
			for (int i = 0; i < 16; i++)
				for (size_t off = 0; off < size;) {
					ssize_t r = write(wfd, buf + off, size - off);
					if (r <= 0)
						_exit(1);
					off += (size_t)r;
				}
		_exit(0);
	}
	close(wfd);
	t0 = now_ns();
	for (;;) {
		ssize_t r = read(rfd, buf, size);
		if (r <= 0)
			break;
		bytes += (uint64_t)r;
	}
	t1 = now_ns();
	close(rfd);
	waitpid(pid, NULL, 0);
	free(buf);
	return (double)bytes / (double)(t1 - t0);
}

static double bl_unix(uint32_t size, int64_t ms)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair", -errno);
	return bl_stream(sv[0], sv[1], size, ms);
}

static double bl_pipe(uint32_t size, int64_t ms)
{
	int p[2];

	if (pipe(p))
		die("pipe", -errno);
	return bl_stream(p[0], p[1], size, ms);
}

/* Round trips between two processes spinning on a shared cache line, in
 * microseconds (median of n): the latency floor. */
static double bl_spin_rtt(int n)
{
	_Atomic uint64_t *line =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double *rt = malloc((size_t)n * sizeof *rt);
	pid_t pid;

	if (line == MAP_FAILED || !rt)
		die("ping-pong set-up", -errno);
	atomic_store(line, 0);
	pid = fork_peer();
	if (pid == 0) {
		for (int i = 0; i < n; i++) {
			while (atomic_load_explicit(line, memory_order_acquire) != 2u * i + 1)
				;
			atomic_store_explicit(line, 2u * i + 2, memory_order_release);
		}
		_exit(0);
	}
	for (int i = 0; i < n; i++) {
		int64_t t0 = now_ns();
		atomic_store_explicit(line, 2u * i + 1, memory_order_release);
		while (atomic_load_explicit(line, memory_order_acquire) != 2u * i + 2)
			;
		rt[i] = (double)(now_ns() - t0) / 1000.0;
	}
	waitpid(pid, NULL, 0);
	double med = median_of(rt, n);
	free(rt);
	munmap((void *)line, 4096);
	return med;
}

/* Round trips between two processes blocking on eventfds (the floor for
 * one that sleeps), in blocks: the answering child is kept between them
 * (blocked in read, it takes no CPU). */
struct efd {
	int ab, ba;
	pid_t pid;
};

static void efd_start(struct efd *e, int n)
{
	e->ab = eventfd(0, 0);
	e->ba = eventfd(0, 0);
	if (e->ab < 0 || e->ba < 0)
		die("eventfd", -errno);
	e->pid = fork_peer();
	if (e->pid == 0) {
		uint64_t v;
		for (int i = 0; i < n; i++)
			if (read(e->ab, &v, sizeof v) != sizeof v ||
			    write(e->ba, &v, sizeof v) != sizeof v)
				_exit(1);
		_exit(0);
	}
	if (e->pid < 0)
		die("fork", -errno);
}

static void efd_block(struct efd *e, int k, double *rt)
{
	for (int i = 0; i < k; i++) {
		int64_t t0 = now_ns();
		uint64_t v = 1;
		if (write(e->ab, &v, sizeof v) != sizeof v || read(e->ba, &v, sizeof v) != sizeof v)
			die("eventfd ping-pong", -errno);
		rt[i] = (double)(now_ns() - t0) / 1000.0;
	}
}

static void efd_stop(struct efd *e)
{
	waitpid(e->pid, NULL, 0);
	close(e->ab);
	close(e->ba);
}

static double bl_eventfd_rtt(int n)
{
	double *rt = malloc((size_t)n * sizeof *rt);
	struct efd e;

	if (!rt)
		die("memory", -ENOMEM);
	efd_start(&e, n);
	efd_block(&e, n, rt);
	efd_stop(&e);
	double med = median_of(rt, n);
	free(rt);
	return med;
}

/* ---- libIVC -------------------------------------------------------------------- */

struct bench {
	struct ivc_chan *m, *s;
	uint8_t *buf;
	uint32_t ring, spin_us;
	int64_t ms;
	uint64_t stream_bytes;
};

/* Every command carries the spin time: the server sets it for its side. */
static void command(struct bench *b, struct cmd k)
{
	long r;

	k.spin_us = b->spin_us;
	if ((r = ivc_send(b->m, &k, sizeof k, -1)) < 0)
		die("command", r);
}

static struct reply await_reply(struct bench *b)
{
	struct reply rp;
	ssize_t r = ivc_recv(b->m, &rp, sizeof rp, 30000);

	if (r != (ssize_t)sizeof rp)
		die("reply", r < 0 ? r : -EPROTO);
	return rp;
}

/* The writer's sleeps and the reader's sleeps and naps per MiB in ex[4],
 * ex[5], ex[6]: the writer is this side (its stats before and after), the
 * reader the server. */
static void sleeps(const struct ivc_stats *w0, const struct ivc_stats *w1, const struct reply *rp,
		   uint64_t bytes, double ex[NEX])
{
	double mib = (double)bytes / 1048576.0;

	ex[4] = (double)(w1->waits - w0->waits) / mib;
	ex[5] = (double)rp->waits / mib;
	ex[6] = (double)rp->lingers / mib;
}

/* Messages of `size` for ms: GB/s, and CPU ns per byte of both sides and
 * signals per MiB in ex[0], ex[1]; sleeps in ex[4..6]. */
static double ivc_msg_tput(struct bench *b, uint32_t size, double ex[NEX])
{
	uint64_t bytes = 0, c0, n0;
	int64_t t0, t1, until;
	struct ivc_stats w0, w1;
	struct reply rp;
	long r;

	command(b, (struct cmd){ .op = OP_SINK });
	memset(b->buf, 3, size);
	w0 = stats(b->m);
	c0 = cpu_ns();
	n0 = w0.notify_tx;
	t0 = now_ns();
	until = t0 + b->ms * 1000000;
	/* (one clock read per 32 small messages was a third of the time
	 * measured in the lab, and vchan-bench reads none; one per MiB, at
	 * 1 GB/s there, would still be a 40 us system call per ms: 8 MiB) */
	int batch = per_mib(size) * 8;
	do {
		for (int i = 0; i < batch; i++) {
			if ((r = ivc_send(b->m, b->buf, size, -1)) < 0)
				die("send", r);
			bytes += size;
		}
	} while (now_ns() < until);
	if ((r = ivc_send(b->m, b->buf, 0, -1)) < 0)
		die("send", r);
	w1 = stats(b->m); /* not the sleep for the reply */
	rp = await_reply(b);
	t1 = now_ns();
	if (rp.bytes != bytes)
		die("sink: byte count differs", -EPROTO);
	ex[0] = (double)(cpu_ns() - c0 + rp.cpu_ns) / (double)bytes;
	ex[1] = (double)(stats(b->m).notify_tx - n0 + rp.notify_tx) / ((double)bytes / 1048576.0);
	sleeps(&w0, &w1, &rp, bytes, ex);
	return (double)bytes / (double)(t1 - t0);
}

static double ivc_stream_tput(struct bench *b, uint32_t size, double ex[NEX])
{
	uint64_t bytes = 0, c0, n0, total = b->stream_bytes;
	int64_t t0, t1;
	struct ivc_stats w0, w1;
	struct reply rp;
	long r;

	command(b, (struct cmd){ .op = OP_SINK_STREAM, .count = total });
	memset(b->buf, 5, size);
	w0 = stats(b->s);
	c0 = cpu_ns();
	n0 = w0.notify_tx;
	t0 = now_ns();
	while (bytes < total) {
		size_t n = total - bytes < size ? (size_t)(total - bytes) : size;
		for (size_t off = 0; off < n;) {
			if ((r = ivc_write(b->s, b->buf + off, n - off, -1)) < 0)
				die("write", r);
			off += (size_t)r;
		}
		bytes += n;
	}
	rp = await_reply(b);
	t1 = now_ns();
	w1 = stats(b->s); /* the reply came on b->m */
	ex[0] = (double)(cpu_ns() - c0 + rp.cpu_ns) / (double)bytes;
	ex[1] = (double)(w1.notify_tx - n0 + rp.notify_tx) / ((double)bytes / 1048576.0);
	sleeps(&w0, &w1, &rp, bytes, ex);
	return (double)bytes / (double)(t1 - t0);
}

/* k round trips of size-byte messages, each in us into rt[]. */
static void ivc_rtt_block(struct bench *b, uint32_t size, int k, double *rt)
{
	long r;

	command(b, (struct cmd){ .op = OP_ECHO, .count = (uint64_t)k });
	memset(b->buf, 9, size);
	for (int i = 0; i < k; i++) {
		int64_t t0 = now_ns();
		if ((r = ivc_send(b->m, b->buf, size, -1)) < 0)
			die("send", r);
		if ((r = ivc_recv(b->m, b->buf, b->ring, -1)) != (long)size)
			die("echo", r < 0 ? r : -EPROTO);
		rt[i] = (double)(now_ns() - t0) / 1000.0;
	}
	await_reply(b);
}

/* The median of n round trips; p99, p99.9 in ex[2], ex[3]. Sorts rt. */
static double rtt_stats(double *rt, int n, double ex[NEX])
{
	double med = median_of(rt, n);

	ex[2] = rt[(int)((double)n * 0.99)];
	ex[3] = rt[(int)((double)n * 0.999)];
	return med;
}

/* Ping-pong: the median round trip in us; p99, p99.9 in ex[2], ex[3]. */
static double ivc_rtt(struct bench *b, uint32_t size, int n, double ex[NEX])
{
	double *rt = malloc((size_t)n * sizeof *rt);

	if (!rt)
		die("memory", -ENOMEM);
	ivc_rtt_block(b, size, n, rt);
	double med = rtt_stats(rt, n, ex);
	free(rt);
	return med;
}

/* ivc-rtt and eventfd-rtt in RTT_BLOCKS alternating blocks (the order
 * flipping each time), n round trips each; eventfd-rtt's median in *efd.
 * Across two CPUs a round trip that sleeps costs mostly the host's
 * wake-up of an idle CPU, which drifts within a run (eventfd-rtt 30 us
 * after spin-rtt, 41-53 us after ivc-rtt in the same hour): measured
 * apart, the two met different drifts, 0.8x-1.3x for the same library. */
#define RTT_BLOCKS 10
static double rtt_pair(struct bench *b, uint32_t size, int n, double ex[NEX], double *efd)
{
	int per = n / RTT_BLOCKS;
	double *rt = malloc((size_t)n * sizeof *rt), *et = malloc((size_t)n * sizeof *et);
	struct efd e;

	if (!rt || !et)
		die("memory", -ENOMEM);
	efd_start(&e, per * RTT_BLOCKS);
	for (int k = 0; k < RTT_BLOCKS; k++) {
		if (k % 2)
			efd_block(&e, per, et + k * per);
		ivc_rtt_block(b, size, per, rt + k * per);
		if (k % 2 == 0)
			efd_block(&e, per, et + k * per);
	}
	efd_stop(&e);
	*efd = median_of(et, per * RTT_BLOCKS);
	double med = rtt_stats(rt, per * RTT_BLOCKS, ex);
	free(rt);
	free(et);
	return med;
}

/* ---- run ------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: ivc-bench serve [--name NAME] [--ring BYTES] [--clients N]\n"
		"       ivc-bench run PEER_DOMID [--name NAME] [--ring BYTES] [--sizes S,S,...]\n"
		"                 [--reps N] [--ms MS] [--rtts N] [--stream-bytes N]\n"
		"                 [--spin-us US] [--csv FILE] [--cpu N] [--peer-cpu N]\n"
		"                 [--tests T,T,...]\n");
	exit(2);
}

/* The test names ivc-bench knows, for --tests. */
static const char *const test_names[] = { "ivc-msg", "ivc-stream", "ivc-rtt",  "memcpy",     "ring",
					  "unix",    "pipe",       "spin-rtt", "eventfd-rtt" };

/* Whether `name` is in the comma-separated `list` (NULL: every test). */
static bool on(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	return !list;
}

/* --tests: every name known, else usage. */
static const char *check_tests(const char *list)
{
	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		size_t len = strcspn(p, ","), k = 0;
		while (k < sizeof test_names / sizeof *test_names &&
		       (strlen(test_names[k]) != len || strncmp(p, test_names[k], len)))
			k++;
		if (k == sizeof test_names / sizeof *test_names) {
			fprintf(stderr, "ivc-bench: --tests: unknown test \"%.*s\"\n", (int)len, p);
			usage();
		}
	}
	return list;
}

static int parse_sizes(const char *s, uint32_t *out)
{
	int n = 0;

	while (*s && n < MAX_SIZES) {
		char *end;
		unsigned long v = strtoul(s, &end, 0);
		if (end == s || v == 0 || v > (1u << 24))
			usage();
		out[n++] = (uint32_t)v;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

static void print_results(FILE *csv)
{
	printf("\n| test | size | median | min | max | unit | cpu ns/B | signals/MiB | p99 us | "
	       "p99.9 us | sleeps/MiB: writer, reader, naps |\n"
	       "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|\n");
	if (csv)
		fprintf(csv, "test,size,median,min,max,unit,cpu_ns_per_byte,signals_per_mib,p99_us,"
			     "p999_us,reps,writer_sleeps_per_mib,reader_sleeps_per_mib,"
			     "reader_naps_per_mib\n");
	for (int i = 0; i < npts; i++) {
		struct point *p = &pts[i];
		double lo, hi, e[NEX];
		span(p->v, p->n, &lo, &hi);
		for (int k = 0; k < NEX; k++)
			e[k] = median(p->ex[k], p->n);
		char c0[32] = "-", c1[32] = "-", c2[32] = "-", c3[32] = "-", c4[64] = "-";
		if (e[0] > 0)
			snprintf(c0, sizeof c0, "%.3f", e[0]);
		if (e[0] > 0)
			snprintf(c1, sizeof c1, "%.2f", e[1]);
		if (e[2] > 0)
			snprintf(c2, sizeof c2, "%.1f", e[2]);
		if (e[2] > 0)
			snprintf(c3, sizeof c3, "%.1f", e[3]);
		if (e[0] > 0)
			snprintf(c4, sizeof c4, "%.2f, %.2f, %.2f", e[4], e[5], e[6]);
		printf("| %s | %u | %.3f | %.3f | %.3f | %s | %s | %s | %s | %s | %s |\n", p->test,
		       p->size, median(p->v, p->n), lo, hi, p->unit, c0, c1, c2, c3, c4);
		if (csv)
			fprintf(csv,
				"%s,%u,%.4f,%.4f,%.4f,%s,%.4f,%.3f,%.2f,%.2f,%d,%.3f,%.3f,%.3f\n",
				p->test, p->size, median(p->v, p->n), lo, hi, p->unit, e[0], e[1],
				e[2], e[3], p->n, e[4], e[5], e[6]);
	}
}

/* A CPU number of ours (in `given`), or usage: a child pinned to one we
 * may not use would die, and its parent wait for ever. */
static int cpu_arg(const char *v)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v < '0' || *v > '9' || *end || n >= CPU_SETSIZE || !CPU_ISSET((int)n, &given)) {
		fprintf(stderr, "ivc-bench: CPU \"%s\" is not one this process may use\n", v);
		usage();
	}
	return (int)n;
}

/* Ratios of libIVC to its baselines: taken within each repetition (the
 * two rows measured a second or so apart), then the median over the
 * repetitions, so that a machine whose speed drifts during a run moves
 * both sides of each ratio alike. Round trips at the first size only,
 * against the baselines' one row. */
static const struct {
	const char *num, *den;
	bool first;
} ratio_defs[] = {
	{ "ivc-msg", "unix", false },       { "ivc-msg", "memcpy", false },
	{ "ivc-stream", "unix", false },    { "ivc-msg", "ring", false },
	{ "ivc-rtt", "eventfd-rtt", true }, { "ivc-rtt", "spin-rtt", true },
	{ "ring", "unix", false }, /* what the machine let any two-copy ring do */
};

static void print_ratios(void)
{
	bool head = false;

	for (size_t d = 0; d < sizeof ratio_defs / sizeof *ratio_defs; d++)
		for (int i = 0; i < npts; i++) {
			struct point *p = &pts[i], *q;
			double r[MAX_REPS], lo, hi;
			if (strcmp(p->test, ratio_defs[d].num) ||
			    (ratio_defs[d].first && p != find(p->test, 0, true)))
				continue;
			q = find(ratio_defs[d].den, p->size, ratio_defs[d].first);
			if (!q || q->n != p->n || !p->n)
				continue;
			int m = 0;
			for (int k = 0; k < p->n; k++)
				if (q->v[k] > 0) /* a baseline that moved nothing: no ratio */
					r[m++] = p->v[k] / q->v[k];
			if (!m)
				continue;
			span(r, m, &lo, &hi);
			if (!head)
				printf("\n| ratio, per repetition | size | median | min | max |\n"
				       "|---|---:|---:|---:|---:|\n");
			head = true;
			printf("| %s / %s | %u | %.2f | %.2f | %.2f |\n", p->test, q->test, p->size,
			       median(r, m), lo, hi);
		}
}

static int run(int argc, char **argv)
{
	uint32_t sizes[MAX_SIZES] = { 64, 512, 4096, 65536, 1048576 };
	int nsizes = 5, reps = 5, rtts = 2000;
	const char *name = "bench", *csvpath = NULL, *tests = NULL;
	struct bench b = { .ring = 4u << 20, .ms = 300, .stream_bytes = 64u << 20 };
	struct ivc_ctx *ctx;
	uint32_t peer;
	char sname[80];
	long err;

	if (argc < 3)
		usage();
	if (sched_getaffinity(0, sizeof given, &given))
		die("sched_getaffinity", -errno);
	peer = (uint32_t)strtoul(argv[2], NULL, 10);
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--name"))
			name = v;
		else if (!strcmp(a, "--ring"))
			b.ring = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(a, "--sizes"))
			nsizes = parse_sizes(v, sizes);
		else if (!strcmp(a, "--reps"))
			reps = atoi(v);
		else if (!strcmp(a, "--ms"))
			b.ms = atol(v);
		else if (!strcmp(a, "--rtts"))
			rtts = atoi(v);
		else if (!strcmp(a, "--stream-bytes"))
			b.stream_bytes = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--spin-us"))
			b.spin_us = (uint32_t)atoi(v);
		else if (!strcmp(a, "--csv"))
			csvpath = v;
		else if (!strcmp(a, "--tests"))
			tests = check_tests(v);
		else if (!strcmp(a, "--cpu"))
			run_cpu = cpu_arg(v);
		else if (!strcmp(a, "--peer-cpu"))
			peer_cpu = cpu_arg(v);
		else
			usage();
	}
	if (reps < 1 || reps > MAX_REPS || rtts < 10 || b.ms < 1)
		usage();
	if (run_cpu >= 0)
		pin(run_cpu, "--cpu");
	if (one_cpu() && (on(tests, "spin-rtt") || on(tests, "ring")))
		fprintf(stderr, "ivc-bench: spin-rtt and ring left out: on one CPU, each side "
				"would wait for the other's time slice\n");
	b.buf = malloc(b.ring);
	if (!b.buf)
		die("memory", -ENOMEM);
	if ((err = ivc_open(&ctx, NULL)))
		die("ivc_open", err);
	snprintf(sname, sizeof sname, "%s-stream", name);
	if ((err = ivc_connect(ctx, peer, name, &msg_type, IVC_INOUT, NULL, 10000, &b.m)) ||
	    (err = ivc_connect(ctx, peer, sname, &str_type, IVC_INOUT, NULL, 10000, &b.s)))
		die("connect", err);
	set_spin(b.m, b.s, b.spin_us);
	fprintf(stderr, "ivc-bench: dom%u -> dom%u on %s, rings %u bytes, %d repetitions\n",
		ivc_domid(ctx), peer, ivc_platform(ctx), b.ring, reps);
	for (int rep = 0; rep < reps; rep++)
		for (int i = 0; i < nsizes; i++) {
			uint32_t sz = sizes[i];
			double e1[NEX] = { 0 }, e2[NEX] = { 0 }, e3[NEX] = { 0 };
			int n = sz >= 65536 ? rtts / 10 : rtts;
			if (sz <= b.ring / 2 && on(tests, "ivc-msg"))
				add("ivc-msg", "GB/s", sz, ivc_msg_tput(&b, sz, e1), e1);
			if (sz <= b.ring / 2 && on(tests, "ivc-stream"))
				add("ivc-stream", "GB/s", sz, ivc_stream_tput(&b, sz, e2), e2);
			/* At the first size, eventfd-rtt in turns with ivc-rtt. */
			bool pair = i == 0 && sz <= b.ring / 2 && n >= RTT_BLOCKS &&
				    on(tests, "ivc-rtt") && on(tests, "eventfd-rtt");
			double efd = 0;
			if (pair)
				add("ivc-rtt", "us", sz, rtt_pair(&b, sz, n, e3, &efd), e3);
			else if (sz <= b.ring / 2 && on(tests, "ivc-rtt"))
				add("ivc-rtt", "us", sz, ivc_rtt(&b, sz, n, e3), e3);
			if (on(tests, "memcpy"))
				add("memcpy", "GB/s", sz, bl_memcpy(sz, b.ms), NULL);
			if (sz <= b.ring && !one_cpu() && on(tests, "ring"))
				add("ring", "GB/s", sz, bl_ring(sz, b.ring, b.ms), NULL);
			if (on(tests, "unix"))
				add("unix", "GB/s", sz, bl_unix(sz, b.ms), NULL);
			if (on(tests, "pipe"))
				add("pipe", "GB/s", sz, bl_pipe(sz, b.ms), NULL);
			if (i == 0 && !one_cpu() && on(tests, "spin-rtt"))
				add("spin-rtt", "us", 8, bl_spin_rtt(rtts), NULL);
			if (i == 0 && on(tests, "eventfd-rtt"))
				add("eventfd-rtt", "us", 8, pair ? efd : bl_eventfd_rtt(rtts),
				    NULL);
			fprintf(stderr, "ivc-bench: repetition %d, %u bytes done\n", rep + 1, sz);
		}
	command(&b, (struct cmd){ .op = OP_QUIT });
	ivc_chan_close(b.m);
	ivc_chan_close(b.s);
	ivc_close(ctx);
	FILE *csv = csvpath ? fopen(csvpath, "w") : NULL;
	if (csvpath && !csv)
		die(csvpath, -errno);
	print_results(csv);
	print_ratios();
	if (csv)
		fclose(csv);
	free(b.buf);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && !strcmp(argv[1], "serve")) {
		const char *name = "bench";
		uint32_t ring = 4u << 20;
		long clients = 1;
		for (int i = 2; i + 1 < argc; i += 2)
			if (!strcmp(argv[i], "--name"))
				name = argv[i + 1];
			else if (!strcmp(argv[i], "--ring"))
				ring = (uint32_t)strtoul(argv[i + 1], NULL, 0);
			else if (!strcmp(argv[i], "--clients"))
				clients = strtol(argv[i + 1], NULL, 10);
			else
				usage();
		if (clients < 1 || clients > 100000 || (argc - 2) % 2)
			usage();
		return serve(name, ring, clients);
	}
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return run(argc, argv);
	usage();
}
