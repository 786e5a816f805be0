/* SPDX-License-Identifier: MIT */
/* io.c - the public I/O calls: the ring core, sleeping while it says
 * EAGAIN; and what a channel tells about itself. */
#include <errno.h>

#include "internal.h"

enum op { OP_SEND, OP_SENDV, OP_RECV, OP_WRITE, OP_READ, OP_RESERVE, OP_PEEK };

struct io {
	const void *cbuf;
	void *buf;
	size_t len;
	const struct ivc_core_seg *segs;
	unsigned nseg;
	struct ivc_core_span *span;
};

static long core_op(struct ivc_chan *c, enum op op, struct io *io)
{
	switch (op) {
	case OP_SEND:
		return ivc_core_send(&c->core, io->cbuf, io->len);
	case OP_SENDV:
		return ivc_core_sendv(&c->core, io->segs, io->nseg);
	case OP_RECV:
		return ivc_core_recv(&c->core, io->buf, io->len);
	case OP_WRITE:
		return ivc_core_write(&c->core, io->cbuf, io->len);
	case OP_READ:
		return ivc_core_read(&c->core, io->buf, io->len);
	case OP_RESERVE:
		return ivc_core_reserve(&c->core, io->len, io->span);
	default:
		return ivc_core_peek(&c->core, io->span);
	}
}

/* Called with timeout 0 at least every LIVENESS_MS: learns of a peer whose
 * domain died (its watch, or asking), as a blocked call would. True if
 * that changed what the core says. */
static bool poll_tick(struct ivc_chan *c, bool tx)
{
	if (ivc__now_ms(c->ctx) - c->checked_ms < LIVENESS_MS)
		return false;
	c->ctx->ops->lock(c->ctx->plat);
	ivc__pump(c->ctx); /* nobody may be waiting to do it */
	c->ctx->ops->unlock(c->ctx->plat);
	ivc__peer_watch_check(c);
	ivc__check_peer_domain(c);
	return ivc_core_poll(&c->core, tx ? IVC_CORE_WAIT_TX : IVC_CORE_WAIT_RX, 1);
}

/* The channel's descriptor was just cleared for one direction, and with
 * it maybe the other direction's wake-up. Set it again if that direction's
 * last -EAGAIN is over already; if not, ask the peer again: the wake-up
 * cleared may have answered the request, and the peer signals once per
 * request (a sender waiting for more room than one signal made would
 * sleep for ever). */
static void other_way(struct ivc_chan *c, bool tx)
{
	unsigned ev = tx ? IVC_CORE_WAIT_RX : IVC_CORE_WAIT_TX;
	size_t need = tx ? 0 : c->want_tx;

	if (tx ? !c->want_rx : !c->want_tx)
		return;
	if (!ivc_core_poll(&c->core, ev, need) && ivc_core_prepare_wait(&c->core, ev, need) == 1)
		return;
	ivc__lock(c->ctx);
	if (c->obj.note)
		c->ctx->ops->note_set(c->obj.note);
	ivc__unlock(c->ctx);
}

/* A hint to the CPU that we spin (a sibling hyperthread gets the core,
 * and leaving the loop does not flush the pipeline). */
static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Polls the ring without asking the peer for a wake-up, for US
 * microseconds but never past the call's timeout: true once ready. The
 * clock is read every 64 looks only, as on some guests a read is a system
 * call. */
static bool spin_for(struct ivc_chan *c, unsigned ev, size_t need, unsigned us, int timeout_ms)
{
	const struct ivc_plat_ops *ops = c->ctx->ops;
	int64_t ns = (int64_t)us * 1000, until;

	if (timeout_ms > 0 && ns > (int64_t)timeout_ms * 1000000)
		ns = (int64_t)timeout_ms * 1000000;
	until = ops->now_ns() + ns;
	for (unsigned i = 1;; i++) {
		if (ivc_core_poll(&c->core, ev, need))
			return true;
		relax();
		if (i % 64 == 0 && ops->now_ns() >= until)
			return false;
	}
}

/* The channel's own spin (ivc_chan_set_spin), counted. */
static bool spin(struct ivc_chan *c, unsigned ev, size_t need, int timeout_ms)
{
	bool won = spin_for(c, ev, need, c->spin_us, timeout_ms);

	if (won)
		c->spin_won++;
	else
		c->spin_lost++;
	return won;
}

int ivc_chan_set_spin(struct ivc_chan *c, unsigned spin_us)
{
	if (!c || spin_us > IVC_SPIN_MAX_US)
		return -EINVAL;
	c->spin_us = spin_us;
	return 0;
}

static void want(struct ivc_chan *c, bool tx, size_t need, bool on)
{
	if (tx)
		c->want_tx = on ? (need ? need : 1) : 0;
	else
		c->want_rx = on;
}

/* Signals the peer if it asked (the core says), after every operation
 * that may have moved an index. Here, inline: every call takes it. */
static inline int kick(struct ivc_chan *c)
{
	if (!ivc_core_notify_check(&c->core))
		return 0;
	return c->ctx->ops->evtchn_notify(c->ctx->plat, c->port);
}

/* The operation went through, or failed for good: nothing is wanted any
 * more, and the peer is signalled if the core's notify check (made by the
 * caller) said so. A failure to signal shows up on the next call, not as
 * the failure of this one: the data moved. */
static inline long done(struct ivc_chan *c, bool tx, long r, bool signal)
{
	if (r > 0 && !tx) {
		c->rx_run += (size_t)r;
		c->rx_last = (size_t)r;
	} else if (r >= 0 && tx)
		c->rx_run = 0;
	want(c, tx, 0, false);
	if (signal)
		c->ctx->ops->evtchn_notify(c->ctx->plat, c->port);
	if (tx) /* after the signal: an answer's peer is on its way */
		ivc__unmask_soon(c->ctx);
	return r;
}

static long finish(struct ivc_chan *c, bool tx, long r)
{
	return done(c, tx, r, ivc_core_notify_check(&c->core));
}

/* A receiver that took at least LINGER_MIN bytes since it last slept or
 * sent, and finds the ring empty, is reading a stream that its writer
 * fills more slowly than it drains: asleep at once, it would ask for a
 * signal every few messages (a system call for the writer, a wake-up for
 * us, and both sides on the same lines meanwhile). It first naps
 * LINGER_US without asking, and looks again; the next empty ring sleeps
 * as usual. Never after a send (a request's reply: its peer waits for
 * us), nor with a spin set (the caller chose latency), nor for timeout 0.
 *
 * A nap lasts at least a timer's wake-up, 70 us on a PC and 250 us in a
 * PV domain under emulation, where a 64 KiB message is written in 30 us:
 * a reader that naps there idles while its writer fills the ring, and
 * the writer then sleeps too. So a reader whose last piece was large
 * (LINGER_SPIN_MIN: few pieces per second, each worth a short spin)
 * first spins up to LINGER_SPIN_US, and naps only if nothing came. After
 * small pieces it never spins: it would take each write as it lands, the
 * two sides pulling the same lines across at every one (sim, 64 B stream:
 * 0.43x).
 *
 * Where naps are slow (NAP_SLOW_NS: on average more than twice the spin
 * they would replace), pieces from LINGER_SLOW_SPIN_MIN up spin first
 * too. There a nap cost a 4 KiB message stream a tenth of its speed
 * (Xen lab, dom0 reader: about 100 us of CPU each, and the ring left to
 * fill); in sim the same spin cost 4 KiB messages 0.4x, and its naps are
 * short. One nap in NAP_TIMED is timed: the clock is a system call on
 * some guests. */
#define LINGER_MIN 1024u
#define LINGER_US 20u
#define LINGER_SPIN_MIN 16384u
#define LINGER_SPIN_US 50u
#define LINGER_SLOW_SPIN_MIN 4096u
#define NAP_SLOW_NS 150000
#define NAP_TIMED 8u

/* A nap, timed now and then: nap_ns is a running average (weight 1/4). */
static void nap(struct ivc_chan *c)
{
	const struct ivc_plat_ops *ops = c->ctx->ops;
	bool timed = c->lingers % NAP_TIMED == 0;
	int64_t t0 = timed ? ops->now_ns() : 0, took;

	ops->nap(LINGER_US);
	c->lingers++;
	if (!timed)
		return;
	took = ops->now_ns() - t0;
	c->nap_ns = c->lingers == 1 ? took : (3 * c->nap_ns + took) / 4;
}

static bool linger(struct ivc_chan *c, bool tx, int timeout_ms)
{
	bool on =
	    !tx && timeout_ms != 0 && !c->spin_us && c->rx_run >= LINGER_MIN && c->ctx->ops->nap;
	size_t spin_min = c->nap_ns > NAP_SLOW_NS ? LINGER_SLOW_SPIN_MIN : LINGER_SPIN_MIN;

	if (on && c->rx_last >= spin_min) {
		c->rx_last = 0; /* once, until a large piece comes again */
		c->linger_spins++;
		if (spin_for(c, IVC_CORE_WAIT_RX, 0, LINGER_SPIN_US, timeout_ms))
			return true; /* rx_run kept: the next empty ring may nap */
	}
	c->rx_run = 0;
	if (on)
		nap(c);
	return on;
}

/* Runs a core operation, sleeping while it says -EAGAIN. The calls below
 * try the core once themselves first: most calls go through at once, and
 * this costs a good part of a small message's time. `tried`: theirs said
 * -EAGAIN just now, so the first look here is skipped. */
static long run(struct ivc_chan *c, enum op op, struct io *io, int timeout_ms, bool tried)
{
	bool tx = op == OP_SEND || op == OP_SENDV || op == OP_WRITE || op == OP_RESERVE;
	/* A stream writer can use any room; a message needs all of it. */
	size_t need = op == OP_WRITE ? 1 : tx ? io->len : 0;
	unsigned ev = tx ? IVC_CORE_WAIT_TX : IVC_CORE_WAIT_RX;
	int64_t deadline = -1;
	bool timed = false, spun = false;

	if (!c)
		return -EINVAL;
	for (;; tried = false) {
		long r = tried ? -EAGAIN : core_op(c, op, io);
		uint64_t seen;
		int w;

		if (r != -EAGAIN)
			return finish(c, tx, r);
		/* Once per call, before anything that costs a lock or a
		 * wake-up: the peer may answer in a moment. The deadline runs
		 * from before the spin, so the call keeps to its timeout. */
		if (timeout_ms != 0 && c->spin_us && !spun) {
			spun = true;
			deadline = ivc__deadline_of(c->ctx, timeout_ms);
			timed = true;
			if (spin(c, ev, need, timeout_ms))
				continue;
		}
		if (linger(c, tx, timeout_ms))
			continue;
		/* Note what has arrived first: whatever arrives after this point
		 * moves the count and sets the descriptor, so no wake-up is
		 * lost between the look below and the sleep. The lock it
		 * takes is held until the sleep (or let go here). */
		seen = ivc__chan_arm(c); /* a death found: the wait below says ready */
		w = ivc_core_prepare_wait(&c->core, ev, need);
		if (w != 1 || timeout_ms == 0)
			ivc__unlock(c->ctx);
		if (w < 0)
			return w;
		if (w == 0)
			continue;
		if (timeout_ms == 0) {
			if ((w = ivc__ctx_dead(c->ctx)))
				return w;
			if (poll_tick(c, tx))
				continue;
			want(c, tx, need, true);
			other_way(c, tx);
			return -EAGAIN;
		}
		/* From the first sleep on: a call that need not sleep reads no
		 * clock (a system call on some guests, 40 us under emulation). */
		if (!timed) {
			deadline = ivc__deadline_of(c->ctx, timeout_ms);
			timed = true;
		}
		w = ivc__chan_sleep(c, seen, deadline);
		if (w < 0)
			return w;
	}
}

int ivc_send(struct ivc_chan *c, const void *buf, size_t len, int timeout_ms)
{
	int r;

	if (!c)
		return -EINVAL;
	r = ivc_core_send_check(&c->core, buf, len);
	if (r >= 0) /* the core's notify check made: 1 signal */
		return (int)done(c, true, 0, r);
	if (r == -EAGAIN) {
		struct io io = { .cbuf = buf, .len = len };
		return (int)run(c, OP_SEND, &io, timeout_ms, true);
	}
	return (int)finish(c, true, r);
}

int ivc_sendv(struct ivc_chan *c, const struct iovec *iov, int iovcnt, int timeout_ms)
{
	struct ivc_core_seg seg[64];
	struct io io = { .segs = seg };

	if (iovcnt < 0 || iovcnt > 64 || (iovcnt && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		seg[i] = (struct ivc_core_seg){ iov[i].iov_base, iov[i].iov_len };
		io.len += iov[i].iov_len; /* what a blocked sender waits for */
	}
	io.nseg = (unsigned)iovcnt;
	return (int)run(c, OP_SENDV, &io, timeout_ms, false);
}

ssize_t ivc_recv(struct ivc_chan *c, void *buf, size_t cap, int timeout_ms)
{
	bool now;
	int r;

	if (!c)
		return -EINVAL;
	r = ivc_core_recv_check(&c->core, buf, cap, &now);
	if (r >= 0) {
		ivc__unmask_soon(c->ctx);
		return done(c, false, r, now);
	}
	if (r == -EAGAIN) {
		struct io io = { .buf = buf, .len = cap };
		return run(c, OP_RECV, &io, timeout_ms, true);
	}
	return finish(c, false, r);
}

/* Reads and writes take the ring in pieces of at most PIECE bytes, each
 * published, and the peer signalled if it asked, before the next is
 * copied. Taken whole, a read of up to the ring's size freed nothing
 * until its copy ended: a writer that found the ring full slept through
 * the copy and then a wake-up (in the Xen lab, reads of up to 1 MiB
 * against 4 KiB writes: 20 writer sleeps per 32 MiB, a third of the
 * speed of 4 KiB reads). A write taken whole kept its reader waiting for
 * the last byte before it could copy the first; by then the first had
 * left the writer's cache (sim, 1 MiB writes: 7-14 GB/s, 64 KiB ones
 * 19-27). */
#define PIECE 65536u

static size_t piece(size_t left)
{
	return left < PIECE ? left : PIECE;
}

/* The pieces after the first, while the ring has data (or room) and the
 * buffer room (or bytes). Never waits; an error or end of stream ends it,
 * for the next call to report. */
static long rest(struct ivc_chan *c, bool tx, const uint8_t *src, uint8_t *dst, size_t len)
{
	long got = 0;

	while ((size_t)got < len) {
		size_t n = piece(len - (size_t)got);
		long r = tx ? ivc_core_write(&c->core, src + got, n)
			    : ivc_core_read(&c->core, dst + got, n);

		if (r <= 0)
			break;
		finish(c, tx, r);
		got += r;
		if ((size_t)r < n)
			break;
	}
	return got;
}

ssize_t ivc_write(struct ivc_chan *c, const void *buf, size_t len, int timeout_ms)
{
	size_t first = piece(len);
	bool now;
	long r;

	if (len == 0)
		return 0;
	if (!c)
		return -EINVAL;
	r = ivc_core_write_check(&c->core, buf, first, &now);
	if (r >= 0) {
		r = done(c, true, r, now);
	} else if (r == -EAGAIN) {
		struct io io = { .cbuf = buf, .len = first };
		r = run(c, OP_WRITE, &io, timeout_ms, true);
	} else {
		return finish(c, true, r);
	}
	if (r == (long)first && len > first)
		r += rest(c, true, (const uint8_t *)buf + r, NULL, len - first);
	return r;
}

ssize_t ivc_read(struct ivc_chan *c, void *buf, size_t cap, int timeout_ms)
{
	size_t first = piece(cap);
	long r;

	if (cap == 0)
		return 0;
	r = c ? ivc_core_read(&c->core, buf, first) : -EINVAL;
	if (r == -EAGAIN) {
		struct io io = { .buf = buf, .len = first };
		r = run(c, OP_READ, &io, timeout_ms, true);
	} else if (c) {
		if (r > 0)
			ivc__unmask_soon(c->ctx);
		r = finish(c, false, r);
	}
	if (r == (long)first && cap > first)
		r += rest(c, false, NULL, (uint8_t *)buf + r, cap - first);
	return r == -EPIPE ? 0 : r; /* end of stream reads as 0, as read(2) */
}

int ivc_reserve(struct ivc_chan *c, size_t len, struct iovec iov[2], int timeout_ms)
{
	struct ivc_core_span sp[2];
	struct io io = { .len = len, .span = sp };
	long r = run(c, OP_RESERVE, &io, timeout_ms, false);

	if (r == 0)
		for (int i = 0; i < 2; i++)
			iov[i] = (struct iovec){ sp[i].base, sp[i].len };
	return (int)r;
}

int ivc_commit(struct ivc_chan *c)
{
	int r;

	if (!c)
		return -EINVAL;
	r = ivc_core_commit(&c->core);
	kick(c);
	return r;
}

ssize_t ivc_peek(struct ivc_chan *c, struct iovec iov[2], int timeout_ms)
{
	struct ivc_core_span sp[2];
	struct io io = { .span = sp };
	long r = run(c, OP_PEEK, &io, timeout_ms, false);

	if (r >= 0)
		for (int i = 0; i < 2; i++)
			iov[i] = (struct iovec){ sp[i].base, sp[i].len };
	return r;
}

int ivc_consume(struct ivc_chan *c)
{
	int r;

	if (!c)
		return -EINVAL;
	r = ivc_core_consume(&c->core);
	kick(c);
	return r;
}

/* Made on first use: the channel is const to the caller, not to us. */
int ivc_chan_fd(const struct ivc_chan *c)
{
	struct ivc_chan *m = (struct ivc_chan *)c;

	return ivc__obj_fd(m->ctx, &m->obj);
}

int ivc_stats(const struct ivc_chan *c, struct ivc_stats *st)
{
	struct ivc_core_stats cs;

	if (!c || !st)
		return -EINVAL;
	struct ivc_ctx *ctx = c->ctx;
	uint64_t events;

	ctx->ops->lock(ctx->plat);
	events = c->obj.events; /* counted by whichever thread pumps */
	ctx->ops->unlock(ctx->plat);
	ivc_core_get_stats((struct ivc_core *)&c->core, &cs);
	*st = (struct ivc_stats){
		.tx_msgs = cs.tx_msgs,
		.tx_bytes = cs.tx_bytes,
		.rx_msgs = cs.rx_msgs,
		.rx_bytes = cs.rx_bytes,
		.notify_tx = cs.notifies,
		.notify_rx = events,
		.waits = c->waits,
		.tx_ring = cs.tx_size,
		.rx_ring = cs.rx_size,
		.tx_used = cs.tx_used,
		.rx_used = cs.rx_used,
		.max_msg_tx = c->core.tx.max_msg,
		.max_msg_rx = c->core.rx.max_msg,
		.spin_won = c->spin_won,
		.spin_lost = c->spin_lost,
		.lingers = c->lingers,
		.linger_spins = c->linger_spins,
		.nap_ns = (uint64_t)c->nap_ns, /* a monotonic clock's differences */
	};
	return 0;
}

uint32_t ivc_peer_domid(const struct ivc_chan *c)
{
	return c->peer;
}

const struct ivc_type *ivc_chan_type(const struct ivc_chan *c)
{
	return &c->type;
}

enum ivc_dir ivc_chan_dir(const struct ivc_chan *c)
{
	return c->dir;
}
