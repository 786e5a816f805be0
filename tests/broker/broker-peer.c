/* SPDX-License-Identifier: MIT */
/*
 * broker-peer: one domain's side of the brokered-mode tests (test-broker.sh),
 * run under ivc-sim with the rendezvous daemon up.
 *
 *   broker-peer serve NAME [-t TYPE] [-V VER] [-m MODE] [-d DIR] [-r RING]
 *                          [-n CLIENTS] [-b BACKLOG] [-A] [-D] [-C] [-e ERR]
 *   broker-peer connect SERVER|any NAME [-t TYPE] [-V VER] [-m MODE] [-d DIR]
 *                          [-k CHANNELS] [-c MSGS] [-S MS] [-M MINRING]
 *                          [-T TIMEOUT_MS] [-e ERR] [-H | -W] [-L] [-C]
 *   broker-peer now | wall
 *
 * now and wall print the monotonic and the wall clock in ms.
 * serve echoes every message on every channel (ivc_wait) and exits once
 * CLIENTS channels have ended (0: never), printing "ended=N resets=R
 * last_reset_ms=T" (monotonic), last_reset_wall_ms, first_reset_wall_ms and
 * mid_reset_wall_ms (wall clock; the last and the middle one to the batch of
 * ivc_wait) and late_events (events of channels that had ended); -C
 * answers each message with its wall clock instead; -A listens without ever accepting; -D closes
 * the channels that ended only once all have (and adds "close_ms=C": their closing time), so that T
 * is when the last one was reported. connect opens CHANNELS channels and checks MSGS echoed
 * messages on each (or keeps going for MS milliseconds with -S); -H then holds them open until the
 * process is killed, -W waits until every one reports ECONNRESET; -L
 * prints each connect's latency ("connect_us N"); -C asks a `serve -C`
 * for its wall clock MSGS times and prints how far ours is ahead
 * ("clock_offset_us=O rtt_us=R", from the shortest round trip). -e ERR (an errno name): the
 * listen or connect must fail with exactly that error. Exit 0 when every expectation held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ivc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXCH 2048

static struct ivc_ctx *ctx;

static int64_t clock_ms(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t clock_us(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "broker-peer (dom%u): ", ctx ? ivc_domid(ctx) : 0u);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static const struct {
	const char *name;
	int err;
} errs[] = {
	{ "ENOENT", ENOENT },
	{ "EACCES", EACCES },
	{ "EPROTOTYPE", EPROTOTYPE },
	{ "EMSGSIZE", EMSGSIZE },
	{ "EBUSY", EBUSY },
	{ "EEXIST", EEXIST },
	{ "EPROTO", EPROTO },
	{ "ECONNREFUSED", ECONNREFUSED },
	{ "ETIMEDOUT", ETIMEDOUT },
	{ "EINVAL", EINVAL },
	{ "ECONNABORTED", ECONNABORTED },
	{ "ENOSPC", ENOSPC },
};

static const char *err_name(int e)
{
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
		if (errs[i].err == e)
			return errs[i].name;
	return strerror(e);
}

static int err_of(const char *name)
{
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
		if (!strcmp(errs[i].name, name))
			return errs[i].err;
	fail("unknown error name %s", name);
}

struct opts {
	const char *type, *expect;
	uint32_t version, ring, minring, backlog;
	enum ivc_mode mode;
	enum ivc_dir dir;
	long clients, chans, msgs, hold_ms, timeout_ms;
	int no_accept, hold, await_reset, latency, defer_close, clock;
};

static void parse(int argc, char **argv, int first, struct opts *o)
{
	*o = (struct opts){ .type = "org.libivc.test",
			    .version = 1,
			    .mode = IVC_MESSAGE,
			    .dir = IVC_INOUT,
			    .chans = 1,
			    .msgs = 100,
			    .timeout_ms = 10000 };
	for (int i = first; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-A"))
			o->no_accept = 1;
		else if (!strcmp(a, "-D"))
			o->defer_close = 1;
		else if (!strcmp(a, "-C"))
			o->clock = 1;
		else if (!strcmp(a, "-H"))
			o->hold = 1;
		else if (!strcmp(a, "-W"))
			o->await_reset = 1;
		else if (!strcmp(a, "-L"))
			o->latency = 1;
		else if (!v)
			fail("option %s needs a value", a);
		else {
			i++;
			if (!strcmp(a, "-t"))
				o->type = v;
			else if (!strcmp(a, "-V"))
				o->version = (uint32_t)strtoul(v, NULL, 10);
			else if (!strcmp(a, "-m"))
				o->mode = strcmp(v, "stream") ? IVC_MESSAGE : IVC_STREAM;
			else if (!strcmp(a, "-d"))
				o->dir = !strcmp(v, "in")    ? IVC_IN
					 : !strcmp(v, "out") ? IVC_OUT
							     : IVC_INOUT;
			else if (!strcmp(a, "-r"))
				o->ring = (uint32_t)strtoul(v, NULL, 10);
			else if (!strcmp(a, "-b"))
				o->backlog = (uint32_t)strtoul(v, NULL, 10);
			else if (!strcmp(a, "-M"))
				o->minring = (uint32_t)strtoul(v, NULL, 10);
			else if (!strcmp(a, "-n"))
				o->clients = atol(v);
			else if (!strcmp(a, "-k"))
				o->chans = atol(v);
			else if (!strcmp(a, "-c"))
				o->msgs = atol(v);
			else if (!strcmp(a, "-S"))
				o->hold_ms = atol(v);
			else if (!strcmp(a, "-T"))
				o->timeout_ms = atol(v);
			else if (!strcmp(a, "-e"))
				o->expect = v;
			else
				fail("unknown option %s", a);
		}
	}
	if (o->chans < 1 || o->chans > MAXCH)
		fail("-k: 1 to %d", MAXCH);
}

/* ---- serve ---------------------------------------------------------------- */

/* The echo, or with -C our wall clock (us) instead. */
static int reply(struct ivc_chan *c, const uint8_t *buf, size_t len, int clock)
{
	int64_t t = clock_us(CLOCK_REALTIME);

	return clock ? ivc_send(c, &t, sizeof t, 5000) : ivc_send(c, buf, len, 5000);
}

/* Marks a channel that ended but stays open (-D): later events of it are
 * counted, not looked at. */
static char ended_mark;

static int serve(const char *name, const struct opts *o)
{
	struct ivc_type t = { o->type, o->version, o->mode };
	struct ivc_opts io = { .tx_ring = o->ring, .rx_ring = o->ring, .backlog = o->backlog };
	struct ivc_listener *l;
	struct ivc_ready rd[64];
	static uint8_t buf[65536];
	long ended = 0, resets = 0, open = 0, late = 0;
	static int64_t reset_wall[MAXCH];
	int64_t last_reset = 0, last_reset_wall = 0, first_reset_wall = 0, close_ms = 0;
	static struct ivc_chan *ended_chans[MAXCH];
	int err = ivc_listen(ctx, name, &t, o->dir, &io, &l);

	if (o->expect) {
		if (err != -err_of(o->expect))
			fail("listen: got %s, want %s", err ? err_name(-err) : "success",
			     o->expect);
		printf("listen refused: %s\n", o->expect);
		return 0;
	}
	if (err)
		fail("listen %s: %s", name, err_name(-err));
	printf("serving %s\n", name);
	fflush(stdout);
	if (o->no_accept)
		for (;;)
			pause();
	while (!o->clients || ended < o->clients) {
		int n = ivc_wait(ctx, rd, 64, -1);
		long resets0 = resets;
		if (n < 0)
			fail("ivc_wait: %s", err_name(-n));
		for (int i = 0; i < n; i++) {
			struct ivc_chan *c;

			if (rd[i].listener) {
				while ((err = ivc_accept(l, 0, &c)) == 0)
					open++;
				if (err != -EAGAIN)
					fail("accept: %s", err_name(-err));
				continue;
			}
			c = rd[i].chan;
			if (rd[i].user == &ended_mark) {
				late++;
				continue; /* it ended: later events of it say no more */
			}
			ssize_t r;
			while ((r = ivc_recv(c, buf, sizeof buf, 0)) >= 0)
				if ((err = reply(c, buf, (size_t)r, o->clock)) && err != -EPIPE &&
				    err != -ECONNRESET)
					fail("echo: %s", err_name(-err));
			if (r == -EAGAIN)
				continue;
			if (r == -ECONNRESET) {
				if (!resets++)
					first_reset_wall = clock_ms(CLOCK_REALTIME);
			} else if (r != -EPIPE)
				fail("recv: %s", err_name((int)-r));
			if (o->defer_close && ended < MAXCH) {
				ended_chans[ended] = c;
				ivc_chan_set_user(c, &ended_mark);
			} else
				ivc_chan_close(c);
			ended++;
			open--;
		}
		/* Once per batch: a clock read may be a system call (40 us
		 * each in a PV domU under the lab's emulation), and one per
		 * channel would be much of what is measured. */
		if (resets > resets0) {
			last_reset = now_ms();
			last_reset_wall = clock_ms(CLOCK_REALTIME);
			for (long k = resets0; k < resets && k < MAXCH; k++)
				reset_wall[k] = last_reset_wall;
		}
	}
	if (o->defer_close) {
		int64_t t0 = now_ms();
		for (long i = 0; i < ended && i < MAXCH; i++)
			ivc_chan_close(ended_chans[i]);
		close_ms = now_ms() - t0;
	}
	ivc_listener_close(l);
	printf("ended=%ld resets=%ld last_reset_ms=%lld close_ms=%lld last_reset_wall_ms=%lld "
	       "first_reset_wall_ms=%lld mid_reset_wall_ms=%lld late_events=%ld\n",
	       ended, resets, (long long)last_reset, (long long)close_ms,
	       (long long)last_reset_wall, (long long)first_reset_wall,
	       (long long)(resets ? reset_wall[(resets < MAXCH ? resets : MAXCH) / 2] : 0), late);
	return 0;
}

/* ---- connect ---------------------------------------------------------------- */

static void msg_fill(uint8_t *b, size_t len, long ch, long i)
{
	for (size_t k = 0; k < len; k++)
		b[k] = (uint8_t)(ch * 131 + i * 7 + (long)k);
}

/* -C: how far our wall clock is ahead of a `serve -C` peer's, from the
 * exchange of `n` with the shortest round trip (its error is at most half
 * that round trip). */
static int clock_offset(struct ivc_chan *c, long n)
{
	int64_t best_rtt = INT64_MAX, best_off = 0, t2;

	for (long i = 0; i < n; i++) {
		int64_t t1 = clock_us(CLOCK_REALTIME);
		int err = ivc_send(c, &t1, sizeof t1, 10000);
		ssize_t r = err ? err : ivc_recv(c, &t2, sizeof t2, 10000);
		int64_t t3 = clock_us(CLOCK_REALTIME);
		if (r != (ssize_t)sizeof t2)
			fail("clock exchange %ld: %s", i,
			     r < 0 ? err_name((int)-r) : "short reply");
		if (t3 - t1 < best_rtt) {
			best_rtt = t3 - t1;
			best_off = (t1 + t3) / 2 - t2;
		}
	}
	printf("clock_offset_us=%lld rtt_us=%lld\n", (long long)best_off, (long long)best_rtt);
	ivc_chan_close(c);
	return 0;
}

static int connect_(const char *server, const char *name, const struct opts *o)
{
	struct ivc_type t = { o->type, o->version, o->mode };
	struct ivc_opts io = { .tx_ring = o->minring };
	uint32_t sd = strcmp(server, "any") ? (uint32_t)strtoul(server, NULL, 10) : IVC_DOMID_ANY;
	static struct ivc_chan *ch[MAXCH];
	static uint8_t out[1024], in[1024];
	int64_t until = o->hold_ms ? now_ms() + o->hold_ms : 0;
	long total = 0;
	int err;

	for (long k = 0; k < o->chans; k++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = ivc_connect(ctx, sd, name, &t, o->dir, &io, (int)o->timeout_ms, &ch[k]);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (o->latency && !err)
			printf("connect_us %lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000 +
							(t1.tv_nsec - t0.tv_nsec) / 1000);
		if (o->expect) {
			if (err != -err_of(o->expect))
				fail("connect: got %s, want %s", err ? err_name(-err) : "success",
				     o->expect);
			printf("connect refused: %s\n", o->expect);
			return 0;
		}
		if (err)
			fail("connect %s/%s (channel %ld): %s", server, name, k, err_name(-err));
	}
	printf("connected %ld to dom%u\n", o->chans, ivc_peer_domid(ch[0]));
	fflush(stdout);
	if (o->clock)
		return clock_offset(ch[0], o->msgs);
	for (long i = 0; i < o->msgs || (until && now_ms() < until); i++)
		for (long k = 0; k < o->chans; k++) {
			size_t len = 1 + (size_t)((i * 37 + k) % (long)sizeof out);
			msg_fill(out, len, k, i);
			if ((err = ivc_send(ch[k], out, len, 10000)))
				fail("send (channel %ld, message %ld): %s", k, i, err_name(-err));
			ssize_t r = ivc_recv(ch[k], in, sizeof in, 10000);
			if (r != (ssize_t)len || memcmp(in, out, len))
				fail("echo %ld on channel %ld: %s", i, k,
				     r < 0 ? err_name((int)-r) : "bytes differ");
			total++;
		}
	printf("verified %ld messages\n", total);
	fflush(stdout);
	if (o->hold)
		for (;;)
			pause();
	/* -W: the server's domain is to die: every channel must say so. */
	for (long k = 0; o->await_reset && k < o->chans; k++) {
		ssize_t r = ivc_recv(ch[k], in, sizeof in, 30000);
		if (r != -ECONNRESET)
			fail("channel %ld: %s, want ECONNRESET", k,
			     r < 0 ? err_name((int)-r) : "data");
	}
	if (o->await_reset)
		printf("reset seen at %lld\n", (long long)now_ms());
	for (long k = 0; k < o->chans; k++)
		ivc_chan_close(ch[k]);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && (!strcmp(argv[1], "now") || !strcmp(argv[1], "wall"))) {
		printf("%lld\n",
		       (long long)(argv[1][0] == 'n' ? now_ms() : clock_ms(CLOCK_REALTIME)));
		return 0;
	}
	if (argc < 3 || (strcmp(argv[1], "serve") && strcmp(argv[1], "connect")) ||
	    (!strcmp(argv[1], "connect") && argc < 4)) {
		fprintf(stderr, "usage: broker-peer serve NAME [...] | connect SERVER NAME [...] | "
				"now | wall\n");
		return 2;
	}
	err = ivc_open(&ctx, NULL);
	if (err)
		fail("ivc_open: %s", err_name(-err));
	if (!strcmp(argv[1], "serve")) {
		parse(argc, argv, 3, &o);
		err = serve(argv[2], &o);
	} else {
		parse(argc, argv, 4, &o);
		err = connect_(argv[2], argv[3], &o);
	}
	ivc_close(ctx);
	return err;
}
