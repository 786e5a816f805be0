/* SPDX-License-Identifier: MIT */
/*
 * ivc.c - libIVC's public API on top of the ring core and a platform.
 *
 * Rendezvous (direct mode, protocol-spec section 9): a listener in domain
 * S publishes under /local/domain/S/data/ivc/<name>; a client C rings a
 * doorbell it owns under requests/, the listener answers with an offer
 * under conn/ readable only by C. See the spec for the keys.
 */
#define _GNU_SOURCE
#include "ivc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "ivc_core.h"
#include "platform.h"
#ifdef IVC_HAVE_XEN
#include "xen.h"
#endif

_Static_assert(IVC_CORE_EAGAIN == EAGAIN && IVC_CORE_EPIPE == EPIPE && IVC_CORE_EPROTO == EPROTO &&
		   IVC_CORE_EMSGSIZE == EMSGSIZE && IVC_CORE_ECONNRESET == ECONNRESET &&
		   IVC_CORE_EBADF == EBADF && IVC_CORE_EINVAL == EINVAL &&
		   IVC_CORE_ECONNREFUSED == ECONNREFUSED &&
		   IVC_CORE_EPROTONOSUPPORT == EPROTONOSUPPORT,
	       "core error codes are Linux errno values");

#define PAGE 4096u
#define NAME_MAX_LEN 64
#define DEFAULT_RING (64u * 1024)
#define DEFAULT_MAX_MSG (64u * 1024)
/* While blocked, look at the peer's domain this often: bounds how long a
 * peer whose whole domain died (no unmap-notify can fire) goes unnoticed. */
#define LIVENESS_MS 50
/* How long an accepted client gets to map and attach. */
#define ATTACH_MS 5000
/* Offers outstanding at once per listener; more requests wait their turn. */
#define MAX_PENDING 16
/* Channels per context that watch their peer's presence node. XenStore
 * counts watches per domain (C xenstored: 128 for a domU, shared with its
 * kernel and other processes); the rest of the domain's listeners and
 * connects need theirs, so beyond this channels read the node instead. */
#define MAX_PEER_WATCHES 32
#define ID_MAX 40

struct ivc_ctx {
	const struct ivc_plat_ops *ops;
	struct ivc_plat *plat;
	struct xs_handle *xs;
	pthread_mutex_t lock; /* serialises xs and plat */
	uint32_t domid;
	uint64_t nonce;
	int peer_watches; /* channels holding a presence watch (under lock) */
};

struct ivc_listener {
	struct ivc_ctx *ctx;
	struct xs_handle *xs; /* own handle: its fd carries this listener's watch */
	char name[NAME_MAX_LEN + 1];
	char type_name[NAME_MAX_LEN + 1];
	struct ivc_type type;
	enum ivc_dir dir;
	struct ivc_core_params params;
	char base[128];
	/* Offers made, waiting for their clients to attach. */
	struct pending {
		struct ivc_chan *c;
		int64_t attach_by;
		char conn[224];
	} pend[MAX_PENDING];
	int npend;
	int epfd; /* the watch and every pending offer's event channel */
};

struct ivc_chan {
	struct ivc_ctx *ctx;
	struct ivc_plat *plat; /* own handle: its evtchn fd is ivc_chan_fd() */
	struct ivc_core core;
	uint32_t peer, port;
	int evfd;
	unsigned side;
	struct ivc_plat_share *share;
	struct ivc_plat_map *ctrl_map, *ring_map[2];
	char offer[160]; /* side 0: the offer directory to remove */
	/* The peer's presence node: in its domain's area, it lives as long
	 * as the peer's end and its domain (spec 9.8). Where Xen will not
	 * say whether the peer's domain lives (a domU), its disappearance
	 * is the sign of death. */
	char peer_node[224];
	char own_node[224]; /* our presence node, to remove */
	/* Where the peer's domain cannot be asked about: our own XenStore
	 * handle watching peer_node, and an epoll set of the event channel
	 * and that watch (what ivc_chan_fd() then returns). */
	struct xs_handle *wxs;
	int pollfd;
	char type_name[NAME_MAX_LEN + 1];
	struct ivc_type type;
	enum ivc_dir dir;
	uint64_t notify_tx, notify_rx, waits;
	int64_t checked_ms; /* last liveness check */
};

/* ---- small helpers -------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (-1: forever). */
static int left_ms(int64_t deadline)
{
	int64_t l;

	if (deadline < 0)
		return -1;
	l = deadline - now_ms();
	return l < 0 ? 0 : l > 1000000000 ? 1000000000 : (int)l;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Service names become XenStore path elements, where '.' is refused. */
static bool service_ok(const char *s)
{
	return name_ok(s) && !strchr(s, '.');
}

static bool type_ok(const struct ivc_type *t)
{
	return t && name_ok(t->name) && (t->mode == IVC_MESSAGE || t->mode == IVC_STREAM);
}

static const char *dir_str(enum ivc_dir d)
{
	return d == IVC_IN ? "in" : d == IVC_OUT ? "out" : "inout";
}

static int dir_parse(const char *s, enum ivc_dir *d)
{
	if (!strcmp(s, "in"))
		*d = IVC_IN;
	else if (!strcmp(s, "out"))
		*d = IVC_OUT;
	else if (!strcmp(s, "inout"))
		*d = IVC_INOUT;
	else
		return -EPROTO;
	return 0;
}

static bool dirs_fit(enum ivc_dir listener, enum ivc_dir client)
{
	return (listener == IVC_IN && client == IVC_OUT) ||
	       (listener == IVC_OUT && client == IVC_IN) ||
	       (listener == IVC_INOUT && client == IVC_INOUT);
}

static uint32_t order_of(uint32_t bytes)
{
	uint32_t o = 0;

	while ((1u << o) < bytes && o < 31)
		o++;
	return (1u << o) == bytes ? o : 0;
}

/* Reads a XenStore value as a NUL-terminated string (caller frees). */
static char *xs_get(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key)
{
	char path[512];
	unsigned int len;

	snprintf(path, sizeof path, "%s/%s", dir, key);
	return xs_read(xs, t, path, &len);
}

static bool xs_put(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
		   const char *val)
{
	char path[512];

	snprintf(path, sizeof path, "%s/%s", dir, key);
	return xs_write(xs, t, path, val, strlen(val));
}

/* Waits until `fd` is readable or ms pass; 1 readable, 0 not, <0 error. */
static int wait_fd(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&pfd, 1, ms);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* Runs body in a XenStore transaction, again while the commit answers
 * EAGAIN (someone else wrote in between). body returns 0, or a negative
 * errno to abort the transaction and fail. */
typedef int (*txn_body)(struct xs_handle *xs, xs_transaction_t t, void *arg);

static int xs_txn(struct xs_handle *xs, txn_body body, void *arg)
{
	for (int tries = 0;; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);
		int err;

		if (t == XBT_NULL)
			return -errno;
		err = body(xs, t, arg);
		if (err) {
			xs_transaction_end(xs, t, true);
			return err;
		}
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN || tries > 100)
			return -errno;
	}
}

/* ---- context -------------------------------------------------------- */

static const struct ivc_plat_ops *pick_platform(const char *name)
{
	if (!strcmp(name, "sim"))
		return &ivc_plat_sim;
#ifdef IVC_HAVE_XEN
	if (!strcmp(name, "xen"))
		return &ivc_plat_xen;
#endif
	return NULL;
}

int ivc_open(struct ivc_ctx **out, const char *platform)
{
	struct ivc_ctx *ctx;
	int err;

	if (!out)
		return -EINVAL;
	if (!platform)
		platform = getenv("IVC_PLATFORM");
	ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return -ENOMEM;
	if (platform && *platform) {
		if (strcmp(platform, "sim") && strcmp(platform, "xen")) {
			free(ctx);
			return -EINVAL;
		}
		ctx->ops = pick_platform(platform);
		if (!ctx->ops) { /* xen asked for, not built in */
			free(ctx);
			return -ENODEV;
		}
		err = ctx->ops->open(&ctx->plat);
	} else {
		err = -ENODEV;
#ifdef IVC_HAVE_XEN
		if (access("/dev/xen/evtchn", F_OK) == 0) {
			ctx->ops = &ivc_plat_xen;
			err = ctx->ops->open(&ctx->plat);
		}
#endif
		if (!ctx->ops) {
			ctx->ops = &ivc_plat_sim;
			err = ctx->ops->open(&ctx->plat);
			if (err == -EHOSTDOWN)
				err = -ENODEV; /* neither Xen nor a sim host */
		}
	}
	if (err) {
		free(ctx);
		return err;
	}
	ctx->xs = xs_open(0);
	if (!ctx->xs) {
		err = errno ? -errno : -ENOENT;
		ctx->ops->close(ctx->plat);
		free(ctx);
		return err;
	}
	ctx->domid = ctx->ops->domid(ctx->plat);
	ctx->nonce = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 20);
	pthread_mutex_init(&ctx->lock, NULL);
	*out = ctx;
	return 0;
}

void ivc_close(struct ivc_ctx *ctx)
{
	if (!ctx)
		return;
	xs_close(ctx->xs);
	ctx->ops->close(ctx->plat);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

const char *ivc_platform(const struct ivc_ctx *ctx)
{
	return ctx->ops->name;
}

uint32_t ivc_domid(const struct ivc_ctx *ctx)
{
	return ctx->domid;
}

/* The client's presence node (spec 9.3): in its own domain's area, so
 * that the toolstack removes it with the domain. Neither the domain id
 * nor the request id holds a '_', so the name reads back unambiguously. */
static void presence_path(char *buf, size_t size, uint32_t client, uint32_t server,
			  const char *name, const char *id)
{
	snprintf(buf, size, "/local/domain/%u/data/ivc-client/%u_%s_%s", client, server, id, name);
}

/* The listener's, for one channel; the id names the client. */
static void lpresence_path(char *buf, size_t size, uint32_t server, const char *name,
			   const char *id)
{
	snprintf(buf, size, "/local/domain/%u/data/ivc-listener/%s_%s", server, id, name);
}

/* ---- channels: events and waiting ------------------------------------ */

/* Clears what is pending: 0, or the platform's error where its event
 * device has gone for good (the sim host stopped; on Xen it never does).
 * Such a device polls readable forever, so waiting on it would spin. */
static int drain_events(struct ivc_chan *c)
{
	uint32_t port;
	int r;

	while ((r = c->ctx->ops->evtchn_pending(c->plat, &port)) == 0) {
		c->ctx->ops->evtchn_unmask(c->plat, port);
		c->notify_rx++;
	}
	return r == -EAGAIN ? 0 : r;
}

static int kick(struct ivc_chan *c)
{
	if (!ivc_core_notify_check(&c->core))
		return 0;
	c->notify_tx++;
	return c->ctx->ops->evtchn_notify(c->plat, c->port);
}

/* 1 if the peer's node is gone from XenStore: its end closed (then the
 * core says so first) or the toolstack removed its domain's area. A node
 * we may read that is gone reads as EACCES when its nearest remaining
 * ancestor is not ours to read (xenstored hides what it would reveal):
 * /local/domain itself, once the whole area has gone. */
static int peer_node_gone(struct ivc_chan *c)
{
	unsigned int len;
	char *v;
	int gone;

	if (!c->peer_node[0])
		return 0;
	/* Our own watch handle needs no lock (libxenstore serialises it). */
	if (!c->wxs)
		pthread_mutex_lock(&c->ctx->lock);
	v = xs_read(c->wxs ? c->wxs : c->ctx->xs, XBT_NULL, c->peer_node, &len);
	gone = !v && (errno == ENOENT || errno == EACCES);
	if (!c->wxs)
		pthread_mutex_unlock(&c->ctx->lock);
	free(v);
	return gone;
}

/* Ends the watch of watch_peer() (or its half-made set-up). */
static void unwatch_peer(struct ivc_chan *c)
{
	if (c->wxs)
		xs_close(c->wxs); /* and its watch */
	if (c->pollfd >= 0)
		close(c->pollfd);
	c->wxs = NULL;
	c->pollfd = -1;
	pthread_mutex_lock(&c->ctx->lock);
	c->ctx->peer_watches--;
	pthread_mutex_unlock(&c->ctx->lock);
}

/* The peer's node changed (its watch fired): if it is gone and the peer's
 * side line still says up, the peer's domain died. The node is read before
 * the shared state, so an orderly close (closed flag set, then the node
 * removed) is reported as a close. */
static void peer_watch_check(struct ivc_chan *c)
{
	unsigned int n;
	bool fired = false;

	if (!c->wxs)
		return;
	while (wait_fd(xs_fileno(c->wxs), 0) > 0) {
		free(xs_read_watch(c->wxs, &n));
		fired = true;
	}
	if (fired && peer_node_gone(c) && ivc_core_peer(&c->core) == IVC_CORE_PEER_UP)
		ivc_core_set_peer_dead(&c->core);
}

/* Where this domain may not ask whether the peer's domain lives (a domU),
 * a watch on the peer's presence node tells us when the toolstack removes
 * it, without polling XenStore (spec 9.8). Best effort: if XenStore will
 * not have it (its per-domain watch quota), the liveness tick reads the
 * node instead. */
static void watch_peer(struct ivc_chan *c)
{
	struct epoll_event ev = { .events = EPOLLIN };

	bool room;

	if (!c->peer_node[0] || c->ctx->ops->domain_alive(c->plat, c->peer) >= 0 ||
	    ivc_core_peer(&c->core) != IVC_CORE_PEER_UP)
		return;
	pthread_mutex_lock(&c->ctx->lock);
	room = c->ctx->peer_watches < MAX_PEER_WATCHES;
	if (room)
		c->ctx->peer_watches++;
	pthread_mutex_unlock(&c->ctx->lock);
	if (!room)
		return;
	c->wxs = xs_open(0);
	c->pollfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->wxs && c->pollfd >= 0 && xs_watch(c->wxs, c->peer_node, "ivc-peer") &&
	    epoll_ctl(c->pollfd, EPOLL_CTL_ADD, c->evfd, &ev) == 0 &&
	    epoll_ctl(c->pollfd, EPOLL_CTL_ADD, xs_fileno(c->wxs), &ev) == 0)
		return; /* its first event (XenStore sends one) makes the fd ready */
	unwatch_peer(c);
}

/* The peer's domain is gone although no unmap-notify told us (a whole
 * domain died; Xen runs no kernel of it to send one): tell the core, so
 * that calls report -ECONNRESET. */
static void check_peer_domain(struct ivc_chan *c)
{
	const struct ivc_plat_ops *ops = c->ctx->ops;
	uint32_t st, rd, rp;
	int alive;

	c->checked_ms = now_ms();
	alive = ops->domain_alive(c->plat, c->peer);
	if (alive == 0) {
		ivc_core_set_peer_dead(&c->core);
		return;
	}
	/* A domU may not ask Xen: XenStore tells, through the watch, or here
	 * where there is none. The node is read before the shared state, so
	 * an orderly close (closed flag set, then the node removed) is
	 * reported as such, not as a death. */
	if (alive < 0 && !c->wxs && peer_node_gone(c) &&
	    ivc_core_peer(&c->core) == IVC_CORE_PEER_UP) {
		ivc_core_set_peer_dead(&c->core);
		return;
	}
	/* An unprivileged domain may not be able to ask about other domains;
	 * its own port can: Xen reverts it to unbound when the peer's end
	 * closes, which a dead domain's does. (An orderly close is seen
	 * first: the core reports CLOSED before DEAD.) */
	if (ivc_core_peer(&c->core) == IVC_CORE_PEER_UP &&
	    ops->evtchn_status(c->plat, c->port, &st, &rd, &rp) == 0 &&
	    st != IVC_PLAT_EVTCHN_INTERDOMAIN)
		ivc_core_set_peer_dead(&c->core);
}

/* Sleeps until an event, the deadline, or a liveness tick. 0: retry;
 * -ETIMEDOUT: deadline passed. */
static int chan_sleep(struct ivc_chan *c, int64_t deadline)
{
	int ms = left_ms(deadline), r;

	if (ms == 0)
		return -ETIMEDOUT;
	if (ms < 0 || ms > LIVENESS_MS)
		ms = LIVENESS_MS;
	c->waits++;
	r = wait_fd(c->pollfd >= 0 ? c->pollfd : c->evfd, ms);
	if (r < 0)
		return r;
	/* Also when events keep coming: they must not starve the check. */
	if (r == 0 || now_ms() - c->checked_ms >= LIVENESS_MS)
		check_peer_domain(c);
	return 0;
}

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

/* Runs a core operation, sleeping while it says -EAGAIN. */
static long run(struct ivc_chan *c, enum op op, struct io *io, int timeout_ms)
{
	bool tx = op == OP_SEND || op == OP_SENDV || op == OP_WRITE || op == OP_RESERVE;
	int64_t deadline = deadline_of(timeout_ms);

	if (!c)
		return -EINVAL;
	for (;;) {
		long r = core_op(c, op, io);
		int w;

		if (r != -EAGAIN) {
			/* The data has moved: a failure to signal shows up on the
			 * next call, not as the failure of this one. */
			kick(c);
			return r;
		}
		/* Clear what is pending first: whatever arrives after this point
		 * leaves the fd readable, so no wake-up is lost. */
		w = drain_events(c);
		if (w < 0)
			return w;
		peer_watch_check(c); /* a death found: the wait below says ready */
		/* A stream writer can use any room; a message needs all of it. */
		w = ivc_core_prepare_wait(&c->core, tx ? IVC_CORE_WAIT_TX : IVC_CORE_WAIT_RX,
					  op == OP_WRITE ? 1
					  : tx           ? io->len
							 : 0);
		if (w < 0)
			return w;
		if (w == 0)
			continue;
		if (timeout_ms == 0) {
			/* Pollers calling with timeout 0 still learn of a peer whose
			 * domain died, within the same bound as blocked callers. */
			if (now_ms() - c->checked_ms >= LIVENESS_MS) {
				check_peer_domain(c);
				if (ivc_core_poll(&c->core,
						  tx ? IVC_CORE_WAIT_TX : IVC_CORE_WAIT_RX, 1))
					continue;
			}
			return -EAGAIN;
		}
		w = chan_sleep(c, deadline);
		if (w < 0)
			return w;
	}
}

int ivc_send(struct ivc_chan *c, const void *buf, size_t len, int timeout_ms)
{
	struct io io = { .cbuf = buf, .len = len };

	return (int)run(c, OP_SEND, &io, timeout_ms);
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
	return (int)run(c, OP_SENDV, &io, timeout_ms);
}

ssize_t ivc_recv(struct ivc_chan *c, void *buf, size_t cap, int timeout_ms)
{
	struct io io = { .buf = buf, .len = cap };

	return run(c, OP_RECV, &io, timeout_ms);
}

ssize_t ivc_write(struct ivc_chan *c, const void *buf, size_t len, int timeout_ms)
{
	struct io io = { .cbuf = buf, .len = len };

	if (len == 0)
		return 0;
	return run(c, OP_WRITE, &io, timeout_ms);
}

ssize_t ivc_read(struct ivc_chan *c, void *buf, size_t cap, int timeout_ms)
{
	struct io io = { .buf = buf, .len = cap };
	long r;

	if (cap == 0)
		return 0;
	r = run(c, OP_READ, &io, timeout_ms);
	return r == -EPIPE ? 0 : r; /* end of stream reads as 0, as read(2) */
}

int ivc_reserve(struct ivc_chan *c, size_t len, struct iovec iov[2], int timeout_ms)
{
	struct ivc_core_span sp[2];
	struct io io = { .len = len, .span = sp };
	long r = run(c, OP_RESERVE, &io, timeout_ms);

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
	long r = run(c, OP_PEEK, &io, timeout_ms);

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

int ivc_chan_fd(const struct ivc_chan *c)
{
	return c->pollfd >= 0 ? c->pollfd : c->evfd;
}

int ivc_stats(const struct ivc_chan *c, struct ivc_stats *st)
{
	struct ivc_core_stats cs;

	if (!c || !st)
		return -EINVAL;
	ivc_core_get_stats((struct ivc_core *)&c->core, &cs);
	*st = (struct ivc_stats){
		.tx_msgs = cs.tx_msgs,
		.tx_bytes = cs.tx_bytes,
		.rx_msgs = cs.rx_msgs,
		.rx_bytes = cs.rx_bytes,
		.notify_tx = c->notify_tx,
		.notify_rx = c->notify_rx,
		.waits = c->waits,
		.tx_ring = cs.tx_size,
		.rx_ring = cs.rx_size,
		.tx_used = cs.tx_used,
		.rx_used = cs.rx_used,
		.max_msg_tx = c->core.tx.max_msg,
		.max_msg_rx = c->core.rx.max_msg,
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

/* ---- channel setup and release --------------------------------------- */

static struct ivc_chan *chan_new(struct ivc_ctx *ctx, const struct ivc_type *t, enum ivc_dir dir,
				 uint32_t peer)
{
	struct ivc_chan *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->ctx = ctx;
	c->peer = peer;
	c->dir = dir;
	c->evfd = -1;
	c->pollfd = -1;
	snprintf(c->type_name, sizeof c->type_name, "%s", t->name);
	c->type = (struct ivc_type){ c->type_name, t->version, t->mode };
	if (ctx->ops->open(&c->plat)) {
		free(c);
		return NULL;
	}
	c->evfd = ctx->ops->evtchn_fd(c->plat);
	if (c->evfd < 0) {
		ctx->ops->close(c->plat);
		free(c);
		return NULL;
	}
	return c;
}

/* Removes a node through the context's handle; 0 (also if it was gone)
 * or -errno. */
static int rm_node(struct ivc_ctx *ctx, const char *path)
{
	int err = 0;

	pthread_mutex_lock(&ctx->lock);
	if (!xs_rm(ctx->xs, XBT_NULL, path) && errno != ENOENT)
		err = -errno;
	pthread_mutex_unlock(&ctx->lock);
	return err;
}

/* Releases everything; 0 or the first error met. */
static int chan_release(struct ivc_chan *c, bool orderly)
{
	const struct ivc_plat_ops *ops = c->ctx->ops;
	int err = 0, r;

	if (orderly && c->core.ctrl) {
		ivc_core_close(&c->core);
		/* The peer may be asleep: wake it whatever it asked for. */
		if (c->port)
			ops->evtchn_notify(c->plat, c->port);
	}
	if (c->offer[0] && (r = rm_node(c->ctx, c->offer)) && !err)
		err = r;
	if (c->own_node[0] && (r = rm_node(c->ctx, c->own_node)) && !err)
		err = r;
	/* A peer whose process died cannot remove its presence node; we
	 * may (it gave us write access) once its end is known dead. */
	if (c->peer_node[0] && c->core.ctrl && ivc_core_peer(&c->core) == IVC_CORE_PEER_DEAD)
		rm_node(c->ctx, c->peer_node);
	for (int i = 0; i < 2; i++)
		if (c->ring_map[i] && (r = ops->unmap(c->plat, c->ring_map[i])) && !err)
			err = r;
	if (c->ctrl_map && (r = ops->unmap(c->plat, c->ctrl_map)) && !err)
		err = r;
	if (c->share && ops->unshare(c->plat, c->share) == -EBUSY)
		/* The peer still maps it: Xen ends access once it unmaps. */
		ops->unshare_defer(c->plat, c->share);
	if (c->port && (r = ops->evtchn_unbind(c->plat, c->port)) && !err)
		err = r;
	if (c->wxs)
		unwatch_peer(c);
	ops->close(c->plat);
	free(c);
	return err;
}

int ivc_chan_close(struct ivc_chan *c)
{
	if (!c)
		return -EINVAL;
	return chan_release(c, true);
}

/* ---- listener ---------------------------------------------------------- */

/* The advertisement is readable by every domain; requests/ may be written
 * (not listed) by every domain; conn/ is the listener's alone. */
struct advertise {
	struct ivc_listener *l;
	const struct ivc_type *type;
	enum ivc_dir dir;
	uint32_t ring[2];
};

static int advertise_body(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct advertise *a = arg;
	const struct ivc_listener *l = a->l;
	uint32_t me = l->ctx->domid;
	struct xs_permissions pub[1] = { { me, XS_PERM_READ } };
	struct xs_permissions req[1] = { { me, XS_PERM_WRITE } };
	struct xs_permissions own[1] = { { me, XS_PERM_NONE } };
	char path[192], key[32], v[32];
	unsigned int len;
	char *old = xs_read(xs, t, l->base, &len);
	bool ok;

	if (old) {
		free(old);
		return -EEXIST;
	}
	snprintf(v, sizeof v, "%u", a->type->version);
	ok = xs_mkdir(xs, t, l->base) && xs_set_permissions(xs, t, l->base, pub, 1) &&
	     xs_put(xs, t, l->base, "type", a->type->name) &&
	     xs_put(xs, t, l->base, "version", v) &&
	     xs_put(xs, t, l->base, "mode", a->type->mode == IVC_STREAM ? "stream" : "message") &&
	     xs_put(xs, t, l->base, "direction", dir_str(a->dir));
	for (int r = 0; r < 2 && ok; r++) {
		snprintf(key, sizeof key, "ring%d-bytes", r);
		snprintf(v, sizeof v, "%u", a->ring[r]);
		ok = xs_put(xs, t, l->base, key, v);
		snprintf(key, sizeof key, "ring%d-max-msg", r);
		snprintf(v, sizeof v, "%u", l->params.max_msg[r]);
		ok = ok && xs_put(xs, t, l->base, key, v);
	}
	snprintf(path, sizeof path, "%s/requests", l->base);
	ok = ok && xs_mkdir(xs, t, path) && xs_set_permissions(xs, t, path, req, 1);
	snprintf(path, sizeof path, "%s/conn", l->base);
	ok = ok && xs_mkdir(xs, t, path) && xs_set_permissions(xs, t, path, own, 1);
	/* Written last: a client that sees it sees all of the above. */
	snprintf(v, sizeof v, "%u", IVC_WIRE_VERSION);
	ok = ok && xs_put(xs, t, l->base, "protocol", v);
	return ok ? 0 : -errno;
}

int ivc_listen(struct ivc_ctx *ctx, const char *name, const struct ivc_type *type, enum ivc_dir dir,
	       const struct ivc_opts *opts, struct ivc_listener **out)
{
	static const struct ivc_opts none;
	struct ivc_listener *l;
	struct ivc_core_params *p;
	uint32_t ring[2];
	int err = 0;

	if (!ctx || !out || !service_ok(name) || !type_ok(type) || dir < IVC_IN || dir > IVC_INOUT)
		return -EINVAL;
	if (!opts)
		opts = &none;
	l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->ctx = ctx;
	l->dir = dir;
	snprintf(l->name, sizeof l->name, "%s", name);
	snprintf(l->type_name, sizeof l->type_name, "%s", type->name);
	l->type = (struct ivc_type){ l->type_name, type->version, type->mode };
	/* Ring 0 carries listener -> client, ring 1 client -> listener. */
	ring[0] = dir & IVC_OUT ? (opts->tx_ring ? opts->tx_ring : DEFAULT_RING) : 0;
	ring[1] = dir & IVC_IN ? (opts->rx_ring ? opts->rx_ring : DEFAULT_RING) : 0;
	p = &l->params;
	p->mode = type->mode == IVC_STREAM ? IVC_WIRE_MODE_STREAM : IVC_WIRE_MODE_MESSAGE;
	for (int r = 0; r < 2; r++) {
		p->order[r] = ring[r] ? order_of(ring[r]) : 0;
		if (ring[r] && !p->order[r]) {
			free(l);
			return -EINVAL;
		}
		if (ring[r] && p->mode == IVC_WIRE_MODE_MESSAGE) {
			uint32_t dflt =
			    ring[r] - 4 < DEFAULT_MAX_MSG ? ring[r] - 4 : DEFAULT_MAX_MSG;
			p->max_msg[r] = opts->max_msg ? opts->max_msg : dflt;
		}
	}
	if (ivc_core_params_check(p)) {
		free(l);
		return -EINVAL;
	}
	l->xs = xs_open(0);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!l->xs || l->epfd < 0) {
		err = -errno;
		if (l->xs)
			xs_close(l->xs);
		if (l->epfd >= 0)
			close(l->epfd);
		free(l);
		return err;
	}
	struct epoll_event wev = { .events = EPOLLIN };
	epoll_ctl(l->epfd, EPOLL_CTL_ADD, xs_fileno(l->xs), &wev);
	snprintf(l->base, sizeof l->base, "/local/domain/%u/data/ivc/%s", ctx->domid, name);

	struct advertise a = { l, type, dir, { ring[0], ring[1] } };
	char path[192];
	pthread_mutex_lock(&ctx->lock);
	err = xs_txn(ctx->xs, advertise_body, &a);
	pthread_mutex_unlock(&ctx->lock);
	snprintf(path, sizeof path, "%s/requests", l->base);
	if (!err && !xs_watch(l->xs, path, "ivc-requests"))
		err = -errno;
	if (err) {
		if (err != -EEXIST) {
			pthread_mutex_lock(&ctx->lock);
			xs_rm(ctx->xs, XBT_NULL, l->base);
			pthread_mutex_unlock(&ctx->lock);
		}
		close(l->epfd);
		xs_close(l->xs);
		free(l);
		return err;
	}
	*out = l;
	return 0;
}

int ivc_listener_fd(const struct ivc_listener *l)
{
	return l->epfd;
}

/* A request: "type=<name> version=<n> mode=<m> dir=<d>". */
struct request {
	char type[NAME_MAX_LEN + 1];
	uint32_t version;
	char mode[16], dir[16];
};

static int parse_request(const char *s, struct request *rq)
{
	return sscanf(s, "type=%64s version=%u mode=%15s dir=%15s", rq->type, &rq->version,
		      rq->mode, rq->dir) == 4
		   ? 0
		   : -EPROTO;
}

/* Writes the answer to one request: an offer (keys) or a refusal, readable
 * by the client only. */
struct answer {
	uint32_t me, client, port;
	const char *dir, *refs, *error, *presence;
};

static int answer_body(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct answer *a = arg;
	struct xs_permissions perms[2] = { { a->me, XS_PERM_NONE }, { a->client, XS_PERM_READ } };
	char v[16];
	bool ok = xs_mkdir(xs, t, a->dir) && xs_set_permissions(xs, t, a->dir, perms, 2);

	snprintf(v, sizeof v, "%u", a->port);
	if (a->error)
		ok = ok && xs_put(xs, t, a->dir, "error", a->error);
	else
		ok = ok && xs_put(xs, t, a->dir, "ring-ref", a->refs) &&
		     xs_put(xs, t, a->dir, "event-channel", v);
	if (a->presence) {
		/* Ours for the channel's life: outside B, which goes when the
		 * service closes while its channels live on. */
		struct xs_permissions pp[2] = { { a->me, XS_PERM_NONE },
						{ a->client, XS_PERM_READ | XS_PERM_WRITE } };
		ok = ok && xs_write(xs, t, a->presence, "", 0) &&
		     xs_set_permissions(xs, t, a->presence, pp, 2);
	}
	return ok ? 0 : -errno;
}

static int write_offer(struct ivc_ctx *ctx, const char *dir, uint32_t client, const char *refs,
		       uint32_t port, const char *error, const char *presence)
{
	struct answer a = { ctx->domid, client, port, dir, refs, error, presence };
	int err;

	pthread_mutex_lock(&ctx->lock);
	err = xs_txn(ctx->xs, answer_body, &a);
	pthread_mutex_unlock(&ctx->lock);
	return err;
}

/* Builds the channel for an accepted request and publishes the offer; the
 * client's attach is awaited by ivc_accept without blocking. */
static int offer_channel(struct ivc_listener *l, uint32_t client, const char *id,
			 struct pending *pd)
{
	struct ivc_ctx *ctx = l->ctx;
	const struct ivc_plat_ops *ops = ctx->ops;
	const struct ivc_core_params *p = &l->params;
	uint32_t n0 = ivc_wire_ring_pages(p->order[0]), n1 = ivc_wire_ring_pages(p->order[1]);
	uint32_t npages = p->ctrl_pages + n0 + n1;
	uint32_t *grefs = calloc(npages, sizeof *grefs);
	struct ivc_chan *c = chan_new(ctx, &l->type, l->dir, client);
	char refs[IVC_WIRE_MAX_CTRL_PAGES * 12] = "";
	void *addr;
	uint8_t *mem;
	int err = grefs && c ? 0 : -ENOMEM;

	snprintf(pd->conn, sizeof pd->conn, "%s/conn/%s", l->base, id);
	if (!err)
		err = ops->evtchn_alloc_unbound(c->plat, client, &c->port);
	if (!err)
		err = ops->share(c->plat, client, npages, false, &addr, grefs, &c->share);
	if (err) {
		/* Our own failure (out of memory or grant pages): refuse this
		 * client at once and tell the caller. The refusal stays until
		 * the listener closes. */
		write_offer(ctx, pd->conn, client, NULL, 0, "ENOSPC", NULL);
		free(grefs);
		if (c)
			chan_release(c, false);
		return err == -ENOMEM || err == -ENOSPC ? err : -EIO;
	}
	c->side = 0;
	snprintf(c->offer, sizeof c->offer, "%s", pd->conn);
	presence_path(c->peer_node, sizeof c->peer_node, client, ctx->domid, l->name, id);
	mem = addr;
	/* Unmap-notify is armed before the live byte is set (spec 6.1): if
	 * this process goes, the client sees side 0 down. */
	err = ops->share_notify(c->plat, c->share, IVC_WIRE_LIVE_OFFSET(0),
				IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT, c->port);
	if (!err)
		err = ivc_core_create(&c->core, mem, (size_t)p->ctrl_pages * PAGE, p,
				      n0 ? mem + (size_t)p->ctrl_pages * PAGE : NULL,
				      n1 ? mem + (size_t)(p->ctrl_pages + n0) * PAGE : NULL);
	if (!err) {
		memcpy(ivc_core_grefs(mem), grefs + p->ctrl_pages, (size_t)(n0 + n1) * 4);
		for (uint32_t i = 0; i < p->ctrl_pages; i++)
			snprintf(refs + strlen(refs), sizeof refs - strlen(refs), "%s%u",
				 i ? "," : "", grefs[i]);
		/* Set before the write: a half-written offer is removed with it. */
		lpresence_path(c->own_node, sizeof c->own_node, ctx->domid, l->name, id);
		err = write_offer(ctx, c->offer, client, refs, c->port, NULL, c->own_node);
	}
	free(grefs);
	if (err) {
		chan_release(c, false); /* removes a half-written offer */
		write_offer(ctx, pd->conn, client, NULL, 0, "EIO", NULL);
		return err == -ENOMEM || err == -ENOSPC ? err : -EIO;
	}
	pd->c = c;
	pd->attach_by = now_ms() + ATTACH_MS;
	return 0;
}

static void pending_drop(struct ivc_listener *l, int i, bool release)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->pend[i].c->evfd, NULL);
	if (release)
		chan_release(l->pend[i].c, false); /* removes the offer too */
	l->pend[i] = l->pend[--l->npend];
}

/* Looks at the outstanding offers: returns an attached channel, drops the
 * ones whose client died or took too long. */
static struct ivc_chan *pending_check(struct ivc_listener *l)
{
	for (int i = 0; i < l->npend; i++) {
		struct ivc_chan *c = l->pend[i].c;
		int st;

		if (drain_events(c) < 0) {
			/* The platform's event device is gone: so is the offer. */
			pending_drop(l, i--, true);
			continue;
		}
		st = ivc_core_peer(&c->core);
		if (st == IVC_CORE_PEER_UP || st == IVC_CORE_PEER_CLOSED) {
			pending_drop(l, i, false);
			watch_peer(c);
			return c;
		}
		int alive = c->ctx->ops->domain_alive(c->plat, c->peer);
		if (alive < 0 && peer_node_gone(c)) {
			/* Gone, or attached and closed since we looked: the
			 * shared state, read after, tells which (spec 9.8). */
			st = ivc_core_peer(&c->core);
			if (st == IVC_CORE_PEER_UP || st == IVC_CORE_PEER_CLOSED) {
				pending_drop(l, i, false);
				watch_peer(c);
				return c;
			}
			alive = 0;
		}
		if (st < 0 || st == IVC_CORE_PEER_DEAD || now_ms() > l->pend[i].attach_by ||
		    alive == 0)
			pending_drop(l, i--, true);
	}
	return NULL;
}

/* The requests/ directory must be writable by every domain, so any domain
 * may remove it (XenStore checks removal on the node itself); put it back
 * whenever it goes. */
static void requests_restore(struct ivc_listener *l, const char *path)
{
	struct xs_permissions req[1] = { { l->ctx->domid, XS_PERM_WRITE } };
	xs_transaction_t t = xs_transaction_start(l->ctx->xs);

	if (t == XBT_NULL)
		return;
	if (!xs_mkdir(l->ctx->xs, t, path) || !xs_set_permissions(l->ctx->xs, t, path, req, 1)) {
		xs_transaction_end(l->ctx->xs, t, true);
		return;
	}
	xs_transaction_end(l->ctx->xs, t, false);
}

/* Reads, removes and answers the doorbells waiting under requests/. */
static int take_requests(struct ivc_listener *l)
{
	char path[256];
	unsigned int n = 0;
	char **ents;
	int err = 0;

	snprintf(path, sizeof path, "%s/requests", l->base);
	pthread_mutex_lock(&l->ctx->lock);
	ents = xs_directory(l->ctx->xs, XBT_NULL, path, &n);
	if (!ents && errno == ENOENT)
		requests_restore(l, path);
	pthread_mutex_unlock(&l->ctx->lock);
	for (unsigned i = 0; ents && i < n && l->npend < MAX_PENDING && !err; i++) {
		struct xs_permissions *perms;
		unsigned int np = 0, len;
		struct request rq;
		uint32_t client;
		char *val, *end, conn[224];
		enum ivc_dir cdir;

		if (strlen(ents[i]) > ID_MAX)
			continue; /* not one of ours: ignore it (it is not removable) */
		/* The entry is "<domid>-<nonce>"; the domain is trusted only if
		 * XenStore says it owns the node, which it cannot forge. */
		client = (uint32_t)strtoul(ents[i], &end, 10);
		snprintf(path, sizeof path, "%s/requests/%s", l->base, ents[i]);
		snprintf(conn, sizeof conn, "%s/conn/%s", l->base, ents[i]);
		pthread_mutex_lock(&l->ctx->lock);
		perms = xs_get_permissions(l->ctx->xs, XBT_NULL, path, &np);
		val = xs_read(l->ctx->xs, XBT_NULL, path, &len);
		xs_rm(l->ctx->xs, XBT_NULL, path);
		pthread_mutex_unlock(&l->ctx->lock);
		/* The nonce: 1 to 16 lowercase hex digits (spec 9.3 item 2),
		 * which keeps presence node names unambiguous. */
		size_t nl = end != ents[i] && *end == '-' ? strlen(end + 1) : 0;
		bool genuine = nl >= 1 && nl <= 16 && strspn(end + 1, "0123456789abcdef") == nl &&
			       perms && np >= 1 && perms[0].id == client && val;
		free(perms);
		if (!genuine) {
			free(val);
			continue; /* forged or vanished: no answer */
		}
		bool parsed = parse_request(val, &rq) == 0;
		free(val);
		if (!parsed) {
			write_offer(l->ctx, conn, client, NULL, 0, "EPROTO", NULL);
			continue;
		}
		if (strcmp(rq.type, l->type.name) || rq.version != l->type.version ||
		    strcmp(rq.mode, l->type.mode == IVC_STREAM ? "stream" : "message") ||
		    dir_parse(rq.dir, &cdir) || !dirs_fit(l->dir, cdir)) {
			write_offer(l->ctx, conn, client, NULL, 0, "EPROTOTYPE", NULL);
			continue;
		}
		err = offer_channel(l, client, ents[i], &l->pend[l->npend]);
		if (!err) {
			struct epoll_event ev = { .events = EPOLLIN };
			epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->pend[l->npend].c->evfd, &ev);
			l->npend++;
		} else if (err != -ENOMEM && err != -ENOSPC && err != -EIO)
			err = 0; /* that client's trouble, not ours */
	}
	free(ents);
	return err;
}

int ivc_accept(struct ivc_listener *l, int timeout_ms, struct ivc_chan **out)
{
	int64_t deadline = deadline_of(timeout_ms);
	unsigned int num;

	if (!l || !out)
		return -EINVAL;
	for (;;) {
		struct ivc_chan *c;
		int err, ms;

		/* Consume the watch events first, so that the listener's fd only
		 * polls readable for requests that arrive after this point. */
		while (wait_fd(xs_fileno(l->xs), 0) > 0)
			free(xs_read_watch(l->xs, &num));
		err = take_requests(l);
		if (err)
			return err;
		c = pending_check(l);
		if (c) {
			*out = c;
			return 0;
		}
		ms = left_ms(deadline);
		if (ms == 0)
			return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
		/* Sleep on the requests watch and every outstanding offer's event
		 * channel, waking now and then to check on the clients. */
		if (l->npend && (ms < 0 || ms > LIVENESS_MS))
			ms = LIVENESS_MS;
		if (wait_fd(l->epfd, ms) < 0)
			return -errno;
	}
}

void ivc_listener_close(struct ivc_listener *l)
{
	if (!l)
		return;
	/* Outstanding offers end in an orderly close: a client that already
	 * attached sees end of stream, not a reset. */
	while (l->npend) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->pend[0].c->evfd, NULL);
		chan_release(l->pend[0].c, true);
		l->pend[0] = l->pend[--l->npend];
	}
	pthread_mutex_lock(&l->ctx->lock);
	xs_rm(l->ctx->xs, XBT_NULL, l->base);
	pthread_mutex_unlock(&l->ctx->lock);
	close(l->epfd);
	xs_close(l->xs);
	free(l);
}

/* ---- client ------------------------------------------------------------ */

/* Waits until `path` can be read (watching it), or the deadline. */
static char *wait_read(struct xs_handle *xs, const char *path, const char *token, int64_t deadline)
{
	unsigned int len, num;
	char *v;

	if (!xs_watch(xs, path, token))
		return NULL;
	for (;;) {
		v = xs_read(xs, XBT_NULL, path, &len);
		if (v)
			break;
		int ms = left_ms(deadline);
		if (ms == 0) {
			errno = ETIMEDOUT;
			break;
		}
		if (wait_fd(xs_fileno(xs), ms) > 0)
			free(xs_read_watch(xs, &num));
	}
	int e = errno;
	xs_unwatch(xs, path, token);
	errno = e;
	return v;
}

static int read_u32(struct xs_handle *xs, const char *dir, const char *key, uint32_t *out)
{
	char *v = xs_get(xs, XBT_NULL, dir, key), *end;
	int err = 0;

	if (!v)
		return -EPROTO;
	*out = (uint32_t)strtoul(v, &end, 10);
	if (end == v || *end)
		err = -EPROTO;
	free(v);
	return err;
}

/* Checks the advertisement against what the client wants. */
struct advert {
	uint32_t ring[2], max[2]; /* as advertised; ring 0: listener -> client */
};

static int check_service(struct xs_handle *xs, const char *base, const struct ivc_type *type,
			 enum ivc_dir dir, const struct ivc_opts *opts, struct advert *adv)
{
	char *tname = xs_get(xs, XBT_NULL, base, "type");
	char *mode = xs_get(xs, XBT_NULL, base, "mode");
	char *ldir = xs_get(xs, XBT_NULL, base, "direction");
	uint32_t version, ring[2] = { 0, 0 }, max[2] = { 0, 0 };
	enum ivc_dir d;
	int err = 0;

	if (!tname || !mode || !ldir || read_u32(xs, base, "version", &version) ||
	    read_u32(xs, base, "ring0-bytes", &ring[0]) ||
	    read_u32(xs, base, "ring1-bytes", &ring[1]) ||
	    read_u32(xs, base, "ring0-max-msg", &max[0]) ||
	    read_u32(xs, base, "ring1-max-msg", &max[1]) || dir_parse(ldir, &d))
		err = -EPROTO;
	else if (strcmp(tname, type->name) || version != type->version ||
		 strcmp(mode, type->mode == IVC_STREAM ? "stream" : "message") || !dirs_fit(d, dir))
		err = -EPROTOTYPE;
	else if (opts && ((opts->tx_ring && ring[0] < opts->tx_ring) ||
			  (opts->rx_ring && ring[1] < opts->rx_ring) ||
			  (opts->max_msg && type->mode == IVC_MESSAGE &&
			   ((dir & IVC_OUT && max[1] < opts->max_msg) ||
			    (dir & IVC_IN && max[0] < opts->max_msg)))))
		err = -EMSGSIZE;
	*adv = (struct advert){ { ring[0], ring[1] }, { max[0], max[1] } };
	free(tname);
	free(mode);
	free(ldir);
	return err;
}

static int attach_channel(struct ivc_chan *c, uint32_t server, const char *refs_s, uint32_t rport,
			  const struct ivc_type *type, enum ivc_dir dir, const struct advert *adv)
{
	const struct ivc_plat_ops *ops = c->ctx->ops;
	struct ivc_core_params p;
	uint32_t ctrl_refs[IVC_WIRE_MAX_CTRL_PAGES], nctrl = 0;
	uint32_t *data_refs;
	void *ctrl, *ring[2] = { NULL, NULL };
	char *copy = strdup(refs_s), *s = copy, *tok;
	int err;

	if (!copy)
		return -ENOMEM;
	while ((tok = strsep(&s, ",")) && nctrl < IVC_WIRE_MAX_CTRL_PAGES) {
		char *end;
		ctrl_refs[nctrl++] = (uint32_t)strtoul(tok, &end, 10);
		if (end == tok || *end)
			nctrl = IVC_WIRE_MAX_CTRL_PAGES + 1;
	}
	free(copy);
	if (nctrl == 0 || nctrl > IVC_WIRE_MAX_CTRL_PAGES || tok)
		return -EPROTO;
	err = ops->map(c->plat, server, ctrl_refs, nctrl, false, &ctrl, &c->ctrl_map);
	if (err)
		return err;
	err = ivc_core_read_params(ctrl, (size_t)nctrl * PAGE, &p);
	if (err)
		return err;
	/* The header must say what the advertisement said (both sides check
	 * the type; a server that says one thing and maps another is refused). */
	if (p.mode != (type->mode == IVC_STREAM ? IVC_WIRE_MODE_STREAM : IVC_WIRE_MODE_MESSAGE) ||
	    (dir & IVC_IN) != (p.order[0] ? IVC_IN : 0) ||
	    (dir & IVC_OUT) != (p.order[1] ? IVC_OUT : 0))
		return -EPROTOTYPE;
	/* ...and the sizes the client agreed to (spec 7.1). */
	for (int r = 0; r < 2; r++)
		if (ivc_core_ring_bytes(&p, (unsigned)r) != adv->ring[r] ||
		    p.max_msg[r] != adv->max[r])
			return -EPROTO;
	uint32_t n0 = ivc_wire_ring_pages(p.order[0]), n1 = ivc_wire_ring_pages(p.order[1]);
	/* Copied out once; their number comes from the validated header. */
	data_refs = malloc((size_t)(n0 + n1) * 4);
	if (!data_refs)
		return -ENOMEM;
	memcpy(data_refs, ivc_core_grefs(ctrl), (size_t)(n0 + n1) * 4);
	for (int r = 0; r < 2 && !err; r++)
		if (r ? n1 : n0)
			err = ops->map(c->plat, server, data_refs + (r ? n0 : 0), r ? n1 : n0,
				       false, &ring[r], &c->ring_map[r]);
	free(data_refs);
	if (!err)
		err = ops->evtchn_bind(c->plat, server, rport, &c->port);
	if (!err)
		err = ops->map_notify(c->plat, c->ctrl_map, IVC_WIRE_LIVE_OFFSET(1),
				      IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT,
				      c->port);
	if (!err)
		err = ivc_core_attach(&c->core, ctrl, (size_t)nctrl * PAGE, &p, ring[0], ring[1]);
	if (!err) {
		c->side = 1;
		ops->evtchn_notify(c->plat, c->port); /* tell the listener */
	}
	return err;
}

/* The client's request: a node it owns, readable and removable by the
 * listener only. */
struct doorbell {
	const char *path, *req;
	struct xs_permissions perms[2];
};

static int doorbell_body(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct doorbell *d = arg;

	return xs_write(xs, t, d->path, d->req, strlen(d->req)) &&
		       xs_set_permissions(xs, t, d->path, (struct xs_permissions *)d->perms, 2)
		   ? 0
		   : -errno;
}

int ivc_connect(struct ivc_ctx *ctx, uint32_t server, const char *name, const struct ivc_type *type,
		enum ivc_dir dir, const struct ivc_opts *opts, int timeout_ms,
		struct ivc_chan **out)
{
	int64_t deadline = deadline_of(timeout_ms);
	char base[128], path[224], id[48], req[160], *v;
	struct xs_handle *xs;
	struct ivc_chan *c = NULL;
	uint32_t rport;
	int err;

	if (!ctx || !out || !service_ok(name) || !type_ok(type) || dir < IVC_IN || dir > IVC_INOUT)
		return -EINVAL;
	xs = xs_open(0); /* own handle: its watches are ours alone */
	if (!xs)
		return -errno;
	snprintf(base, sizeof base, "/local/domain/%u/data/ivc/%s", server, name);
	snprintf(path, sizeof path, "%s/protocol", base);
	v = wait_read(xs, path, "ivc-service", deadline);
	if (!v) {
		err = errno == ETIMEDOUT ? -ETIMEDOUT : -errno;
		goto out;
	}
	err = strcmp(v, "1") ? -EPROTONOSUPPORT : 0;
	free(v);
	struct advert adv;
	if (!err)
		err = check_service(xs, base, type, dir, opts, &adv);
	if (err)
		goto out;

	/* Ring the doorbell. */
	pthread_mutex_lock(&ctx->lock);
	snprintf(id, sizeof id, "%u-%llx", ctx->domid, (unsigned long long)ctx->nonce++);
	pthread_mutex_unlock(&ctx->lock);
	snprintf(req, sizeof req, "type=%s version=%u mode=%s dir=%s", type->name, type->version,
		 type->mode == IVC_STREAM ? "stream" : "message", dir_str(dir));
	/* Our presence node first: the listener may count on it from the
	 * moment it reads the request. */
	char presence[224];
	struct doorbell here = { presence,
				 "",
				 { { ctx->domid, XS_PERM_NONE },
				   { server, XS_PERM_READ | XS_PERM_WRITE } } };
	presence_path(presence, sizeof presence, ctx->domid, server, name, id);
	err = xs_txn(xs, doorbell_body, &here);
	if (err)
		goto out;
	snprintf(path, sizeof path, "%s/requests/%s", base, id);
	struct doorbell bell = { path,
				 req,
				 { { ctx->domid, XS_PERM_NONE },
				   { server, XS_PERM_READ | XS_PERM_WRITE } } };
	err = xs_txn(xs, doorbell_body, &bell);
	if (err == -EACCES)
		err = -ECONNREFUSED; /* requests/ is not writable: not a service */
	if (err)
		goto out_req; /* the presence node goes too */

	/* The answer appears under conn/<id>, readable by us alone: an offer
	 * (event-channel last in its transaction... all in one) or an error. */
	char offer[224];
	snprintf(offer, sizeof offer, "%s/conn/%s", base, id);
	if (!xs_watch(xs, offer, "ivc-offer")) {
		err = -errno;
		goto out_req;
	}
	for (;;) {
		unsigned int len, num;
		char *e = xs_get(xs, XBT_NULL, offer, "error");
		if (e) {
			err = !strcmp(e, "EPROTOTYPE") ? -EPROTOTYPE : -ECONNREFUSED;
			free(e);
			break;
		}
		v = xs_get(xs, XBT_NULL, offer, "event-channel");
		if (v)
			break;
		int ms = left_ms(deadline);
		if (ms == 0) {
			err = -ETIMEDOUT;
			break;
		}
		/* Short slices: a listener that died never answers, and its
		 * advertisement disappearing is the sign. */
		if (wait_fd(xs_fileno(xs), ms < 0 || ms > 200 ? 200 : ms) > 0)
			free(xs_read_watch(xs, &num));
		snprintf(path, sizeof path, "%s/protocol", base);
		char *alive = xs_read(xs, XBT_NULL, path, &len);
		if (!alive) {
			err = -ECONNREFUSED;
			break;
		}
		free(alive);
	}
	xs_unwatch(xs, offer, "ivc-offer");
	if (err)
		goto out_req;
	char *end;
	rport = (uint32_t)strtoul(v, &end, 10);
	err = end == v || *end ? -EPROTO : 0;
	free(v);
	if (err)
		goto out_req;
	v = xs_get(xs, XBT_NULL, offer, "ring-ref");
	if (!v) {
		err = -EPROTO;
		goto out_req;
	}
	c = chan_new(ctx, type, dir, server);
	if (!c) {
		free(v);
		err = -ENOMEM;
		goto out_req;
	}
	err = attach_channel(c, server, v, rport, type, dir, &adv);
	free(v);
	if (err) {
		chan_release(c, false);
		c = NULL;
	} else {
		snprintf(c->own_node, sizeof c->own_node, "%s", presence);
		lpresence_path(c->peer_node, sizeof c->peer_node, server, name, id);
		watch_peer(c);
	}
out_req:
	/* The listener removes the doorbell when it reads it; make sure. */
	snprintf(path, sizeof path, "%s/requests/%s", base, id);
	xs_rm(xs, XBT_NULL, path);
	if (!c)
		xs_rm(xs, XBT_NULL, presence);
out:
	xs_close(xs);
	if (c)
		*out = c;
	return err;
}
