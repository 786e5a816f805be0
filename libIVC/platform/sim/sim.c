/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the sim platform: this process is a domain of an ivc-simd host
 * (IVC_SIM_DIR, default /run/ivc-sim; domain IVC_SIM_DOMID, default 0, as
 * set by `ivc-sim run`). Grants arrive as memfds and are mmapped the way
 * gntalloc/gntdev map granted pages; events come on a socket that behaves
 * like /dev/xen/evtchn.
 *
 * Events also have a fast path that skips the host (simd-proto.h): the
 * handle has a doorbell (an eventfd) and a page of pending bits, one per
 * port. A peer sets the bit of the port it notifies and rings the doorbell
 * if the bit was clear; we take the bits when the doorbell rings. A port
 * so taken is delivered as the socket's ports are: once, then masked (here,
 * not in the host) until unmasked, with a notify while masked kept
 * pending. Our notifies do the same to the peer's handle: its doorbell
 * and bits are asked for once per binding (a table of generations says
 * when a binding changed) and kept per peer handle, so that descriptors do
 * not grow with channels.
 *
 * The device's descriptor is an epoll set of the socket and the doorbell.
 * The library's sleeps use a second set of the same, the wake-up eventfd
 * and the store, and take what woke them at once: one system call to
 * sleep, none to take the doorbell (edge-triggered, never read), where
 * poll() on the device and then a look into it would take three.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "../linux/linux.h"
#include "simd-proto.h"

#define PAGE 4096u
#define GEN_BYTES (SIMD_MAX_PORTS * 4u)
#define WORDS (SIMD_MAX_PORTS / 64) /* of pending bits */
#define AHEAD 64u                   /* ports from the socket, not yet handed out */
#define EV_BATCH 8                  /* epoll events per look */
#define PEERS 64                    /* peer handles whose doorbells we keep */
enum { KEY_SOCK, KEY_BELL, KEY_WAKE, KEY_STORE, KEY_TICK }; /* epoll data */

/* A port of ours, as the fast path knows it (under mu). */
struct sim_port {
	uint32_t gen;      /* the host's generation of this port when asked */
	uint32_t rport;    /* the peer's port then */
	uint8_t peer;      /* 1 + its handle in peers[], 0: none (the slow way) */
	bool known, bound; /* asked (at gen); bound then */
	bool masked, pending, slow_masked;
};

/* A peer handle we ring: its doorbell and pending bits, for `refs` ports. */
struct sim_peer {
	uint32_t id; /* the host's name for it */
	unsigned refs;
	int bell;
	_Atomic uint64_t *bits;
};

struct ivc_plat {
	struct ivc_linux_base b; /* first: the shared Linux code's view */
	pthread_mutex_t mu;      /* one request at a time: req and rsp */
	int fd;
	/* Ports bound through this handle (under mu), so that a notify can
	 * go one way and still refuse a port that is not ours, as Xen's
	 * evtchn device does. */
	uint8_t bound[SIMD_MAX_PORTS / 8];
	uint32_t domid;
	struct simd_msg *req, *rsp;
	int sock;               /* the host's event device */
	int bell;               /* our doorbell */
	_Atomic uint64_t *bits; /* our pending bits, set by peers */
	int wep;                /* the epoll set sleeps use */
	int wep_store;          /* the store's fd in it, -1 none yet */
	int tick;               /* a timerfd in it (sim_wait), -1 none */
	bool ticking;           /* armed: sleeps of TICK_MS or more need no timer */
	const uint32_t *gen;    /* the host's generations, read-only */
	struct sim_port *port;  /* [SIMD_MAX_PORTS], under mu as all below */
	struct sim_peer peers[PEERS];
	uint32_t ahead[AHEAD]; /* from the socket */
	unsigned nahead;
	uint64_t rung[WORDS]; /* taken from our bits, to hand out */
	unsigned nrung;
	bool drained; /* the last look found all there was: the next says none */
};

struct ivc_plat_share {
	uint32_t id, npages;
	void *addr;
};

struct ivc_plat_map {
	uint32_t id, npages;
	void *addr;
};

/* One request, one reply; fds received go to fds[] (closed by caller). */
static int rpc(struct ivc_plat *p, uint32_t op, int *fds, unsigned *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SIMD_MAX_FDS)];
	struct iovec iov = { p->rsp, SIMD_MSG_MAX };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
	};
	ssize_t r;

	p->req->op = op;
	p->req->err = 0;
	do
		r = send(p->fd, p->req, sizeof *p->req + 4u * p->req->n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EPIPE || errno == ECONNRESET ? -ESRCH : -errno;
	do
		r = recvmsg(p->fd, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r == 0 ? -ESRCH : -errno; /* host gone or domain destroyed */
	if ((size_t)r < sizeof *p->rsp || p->rsp->op != op || p->rsp->n > SIMD_MAX_DATA)
		return -EPROTO;
	unsigned got = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			unsigned k = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int *in = (int *)CMSG_DATA(cm);
			for (unsigned i = 0; i < k; i++) {
				if (fds && nfds && got < *nfds)
					fds[got++] = in[i];
				else
					close(in[i]);
			}
		}
	if (nfds)
		*nfds = got;
	p->req->n = 0;
	return p->rsp->err;
}

/* The doorbell is edge-triggered and never read: each ring (a write to
 * the eventfd) is an event in both sets, and taking it costs no system
 * call of its own. Its count only grows, by one a ring (2^64 is out of
 * reach; a peer that writes more stalls the rings of its own channels,
 * and ours, which the sim does not guard against: see ivc-sim(1)). */
static int ep_add(int epfd, int fd, uint64_t key)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = key };

	if (key == KEY_BELL)
		ev.events |= EPOLLET;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The device, the generations, and the epoll set we wait on. */
static int evt_open(struct ivc_plat *p)
{
	unsigned n = 4;
	int fds[4] = { -1, -1, -1, -1 }, err;
	void *gen = MAP_FAILED, *bits = MAP_FAILED;

	err = rpc(p, SIMD_EVT_OPEN, fds, &n);
	if (!err && n != 4)
		err = -EPROTO;
	/* Kept at once: sim_close() closes them if a step below fails. */
	p->sock = fds[0];
	p->bell = fds[2];
	if (!err) {
		gen = mmap(NULL, GEN_BYTES, PROT_READ, MAP_SHARED, fds[1], 0);
		bits = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[3], 0);
		err = gen == MAP_FAILED || bits == MAP_FAILED ? -errno : 0;
	}
	if (gen != MAP_FAILED)
		p->gen = gen;
	if (bits != MAP_FAILED)
		p->bits = bits;
	if (fds[1] >= 0)
		close(fds[1]);
	if (fds[3] >= 0)
		close(fds[3]);
	if (!err) {
		p->b.evfd = epoll_create1(EPOLL_CLOEXEC);
		p->wep = epoll_create1(EPOLL_CLOEXEC);
		err = p->b.evfd < 0 || p->wep < 0 ? -errno : 0;
	}
	for (int k = 0; !err && k < 2; k++) {
		int ep = k ? p->wep : p->b.evfd;
		if (!(err = ep_add(ep, p->sock, KEY_SOCK)))
			err = ep_add(ep, p->bell, KEY_BELL);
	}
	if (!err)
		err = ep_add(p->wep, p->b.wakefd, KEY_WAKE);
	/* Without it every sleep has a timer of its own, as before. */
	p->tick = err ? -1 : timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->tick >= 0 && ep_add(p->wep, p->tick, KEY_TICK)) {
		close(p->tick);
		p->tick = -1;
	}
	return err;
}

static void port_forget(struct ivc_plat *p, uint32_t port);

static void sim_close(struct ivc_plat *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; p->port && i < SIMD_MAX_PORTS; i++)
		port_forget(p, i);
	free(p->port);
	if (p->gen)
		munmap((void *)p->gen, GEN_BYTES);
	if (p->bits)
		munmap((void *)p->bits, PAGE);
	if (p->bell >= 0)
		close(p->bell);
	if (p->sock >= 0)
		close(p->sock);
	if (p->wep >= 0)
		close(p->wep);
	if (p->tick >= 0)
		close(p->tick);
	if (p->b.evfd >= 0)
		close(p->b.evfd);
	if (p->fd >= 0)
		close(p->fd);
	free(p->req);
	free(p->rsp);
	pthread_mutex_destroy(&p->mu);
	ivc_linux_base_destroy(&p->b);
	free(p);
}

static int sim_open(struct ivc_plat **out)
{
	const char *dir = getenv("IVC_SIM_DIR");
	const char *dom = getenv("IVC_SIM_DOMID");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ivc_plat *p = calloc(1, sizeof *p);
	int err;

	if (!p)
		return -ENOMEM;
	p->fd = p->sock = p->bell = p->wep = p->wep_store = p->tick = -1;
	err = ivc_linux_base_init(&p->b);
	if (err) {
		free(p);
		return err;
	}
	pthread_mutex_init(&p->mu, NULL);
	p->req = calloc(1, SIMD_MSG_MAX);
	p->rsp = calloc(1, SIMD_MSG_MAX);
	p->port = calloc(SIMD_MAX_PORTS, sizeof *p->port);
	p->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (!p->req || !p->rsp || !p->port || p->fd < 0) {
		err = p->fd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/host/dom%s.sock",
		 dir ? dir : SIMD_DEFAULT_DIR, dom ? dom : "0");
	if (connect(p->fd, (struct sockaddr *)&sa, sizeof sa)) {
		err = errno == ENOENT || errno == ECONNREFUSED ? -EHOSTDOWN : -errno;
		goto fail;
	}
	err = rpc(p, SIMD_HELLO, NULL, NULL);
	if (err)
		goto fail;
	p->domid = p->rsp->a[0];
	/* The event channel device now: a context that cannot wait is no
	 * context. */
	err = evt_open(p);
	if (err)
		goto fail;
	*out = p;
	return 0;
fail:
	sim_close(p);
	return err;
}

static uint32_t sim_domid(struct ivc_plat *p)
{
	return p->domid;
}

static int do_share(struct ivc_plat *p, uint32_t remote, uint32_t npages, bool readonly,
		    void **addr, uint32_t *grefs, struct ivc_plat_share **out)
{
	struct ivc_plat_share *s = calloc(1, sizeof *s);
	int fd = -1, err;
	unsigned nfd = 1;

	if (!s)
		return -ENOMEM;
	p->req->a[0] = remote;
	p->req->a[1] = npages;
	p->req->a[2] = readonly;
	err = rpc(p, SIMD_GNT_ALLOC, &fd, &nfd);
	if (!err && (nfd != 1 || p->rsp->n != npages))
		err = -EPROTO;
	if (!err) {
		s->addr =
		    mmap(NULL, (size_t)npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (s->addr == MAP_FAILED)
			err = -errno;
	}
	if (nfd == 1 && fd >= 0)
		close(fd);
	if (err) {
		if (p->rsp->a[0] && err != -EPROTO) {
			p->req->a[0] = p->rsp->a[0];
			p->req->a[1] = 1;
			rpc(p, SIMD_GNT_FREE, NULL, NULL);
		}
		free(s);
		return err;
	}
	s->id = p->rsp->a[0];
	s->npages = npages;
	memcpy(grefs, p->rsp->data, npages * 4u);
	*addr = s->addr;
	*out = s;
	return 0;
}

static int do_share_notify(struct ivc_plat *p, struct ivc_plat_share *s, uint32_t offset,
			   unsigned flags, uint32_t port)
{
	p->req->a[0] = s->id;
	p->req->a[1] = offset;
	p->req->a[2] = flags;
	p->req->a[3] = port;
	return rpc(p, SIMD_GNT_ALLOC_NOTIFY, NULL, NULL);
}

static int share_end(struct ivc_plat *p, struct ivc_plat_share *s, bool defer)
{
	int err;

	p->req->a[0] = s->id;
	p->req->a[1] = defer;
	err = rpc(p, SIMD_GNT_FREE, NULL, NULL);
	if (err == -EBUSY && !defer)
		return err;
	munmap(s->addr, (size_t)s->npages * PAGE);
	free(s);
	return err == -EBUSY ? 0 : err;
}

static int do_unshare(struct ivc_plat *p, struct ivc_plat_share *s)
{
	return share_end(p, s, false);
}

static void do_unshare_defer(struct ivc_plat *p, struct ivc_plat_share *s)
{
	(void)share_end(p, s, true);
}

static int do_map(struct ivc_plat *p, uint32_t domid, const uint32_t *grefs, uint32_t npages,
		  bool readonly, void **addr, struct ivc_plat_map **out)
{
	int fds[SIMD_MAX_FDS];
	unsigned nfds = SIMD_MAX_FDS;
	struct ivc_plat_map *m;
	uint8_t *base;
	int err;

	if (npages == 0 || npages > SIMD_MAX_PAGES)
		return -EINVAL;
	m = calloc(1, sizeof *m);
	if (!m)
		return -ENOMEM;
	p->req->a[0] = domid;
	p->req->a[1] = readonly;
	memcpy(p->req->data, grefs, npages * 4u);
	p->req->n = npages;
	err = rpc(p, SIMD_GNT_MAP, fds, &nfds);
	if (err) {
		free(m);
		return err;
	}
	m->id = p->rsp->a[0];
	m->npages = npages;
	/* Reserve the range, then place runs of consecutive pages of one
	 * memfd into it: one contiguous view, as gntdev gives. */
	base = mmap(NULL, (size_t)npages * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	err = base == MAP_FAILED ? -errno : p->rsp->n == 2 * npages ? 0 : -EPROTO;
	for (uint32_t i = 0; !err && i < npages;) {
		uint32_t fi = p->rsp->data[2 * i], pg = p->rsp->data[2 * i + 1], run = 1;
		while (i + run < npages && p->rsp->data[2 * (i + run)] == fi &&
		       p->rsp->data[2 * (i + run) + 1] == pg + run)
			run++;
		if (fi >= nfds ||
		    mmap(base + (size_t)i * PAGE, (size_t)run * PAGE,
			 PROT_READ | (readonly ? 0 : PROT_WRITE), MAP_SHARED | MAP_FIXED, fds[fi],
			 (off_t)pg * PAGE) == MAP_FAILED)
			err = fi >= nfds ? -EPROTO : -errno;
		i += run;
	}
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	if (err) {
		if (base != MAP_FAILED)
			munmap(base, (size_t)npages * PAGE);
		p->req->a[0] = m->id;
		rpc(p, SIMD_GNT_UNMAP, NULL, NULL);
		free(m);
		return err;
	}
	m->addr = base;
	*addr = base;
	*out = m;
	return 0;
}

struct ivc_plat_peek {
	void *addr;
};

static int do_peek(struct ivc_plat *p, uint32_t domid, uint32_t gref, const void **addr,
		   struct ivc_plat_peek **out)
{
	int fd = -1;
	unsigned nfds = 1;
	struct ivc_plat_peek *pk;
	int err;

	p->req->a[0] = domid;
	p->req->a[1] = gref;
	err = rpc(p, SIMD_GNT_PEEK, &fd, &nfds);
	if (!err && nfds != 1)
		err = -EPROTO;
	if (err) {
		if (nfds == 1)
			close(fd);
		return err;
	}
	pk = malloc(sizeof *pk);
	if (pk)
		pk->addr = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, (off_t)p->rsp->a[0] * PAGE);
	err = !pk ? -ENOMEM : pk->addr == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err) {
		free(pk);
		return err;
	}
	*addr = pk->addr;
	*out = pk;
	return 0;
}

static void sim_unpeek(struct ivc_plat *p, struct ivc_plat_peek *pk)
{
	(void)p;
	munmap(pk->addr, PAGE);
	free(pk);
}

static int do_map_notify(struct ivc_plat *p, struct ivc_plat_map *m, uint32_t offset,
			 unsigned flags, uint32_t port)
{
	p->req->a[0] = m->id;
	p->req->a[1] = offset;
	p->req->a[2] = flags;
	p->req->a[3] = port;
	return rpc(p, SIMD_GNT_MAP_NOTIFY, NULL, NULL);
}

static int do_unmap(struct ivc_plat *p, struct ivc_plat_map *m)
{
	int err;

	munmap(m->addr, (size_t)m->npages * PAGE);
	p->req->a[0] = m->id;
	err = rpc(p, SIMD_GNT_UNMAP, NULL, NULL);
	free(m);
	return err;
}

static int sim_evtchn_fd(struct ivc_plat *p)
{
	return p->b.evfd;
}

/* Under mu. A port the host gave us beyond the table is refused. */
static int mark_bound(struct ivc_plat *p, uint32_t port, bool on)
{
	if (port >= SIMD_MAX_PORTS)
		return -EPROTO;
	if (on)
		p->bound[port / 8] |= (uint8_t)(1u << (port % 8));
	else
		p->bound[port / 8] &= (uint8_t) ~(1u << (port % 8));
	return 0;
}

static bool is_bound(const struct ivc_plat *p, uint32_t port)
{
	return port < SIMD_MAX_PORTS && (p->bound[port / 8] >> (port % 8)) & 1;
}

/* Under mu: the port's hold on a peer handle goes (its doorbell and bits
 * with the last). */
static void peer_drop(struct ivc_plat *p, struct sim_port *sp)
{
	struct sim_peer *pe = sp->peer ? &p->peers[sp->peer - 1] : NULL;

	sp->peer = 0;
	if (!pe || --pe->refs)
		return;
	close(pe->bell);
	munmap((void *)pe->bits, PAGE);
	*pe = (struct sim_peer){ .bell = -1 };
}

/* Under mu: the port is no longer ours. */
static void port_forget(struct ivc_plat *p, uint32_t port)
{
	struct sim_port *sp = &p->port[port];
	unsigned k = 0;

	peer_drop(p, sp);
	*sp = (struct sim_port){ 0 };
	for (unsigned i = 0; i < p->nahead; i++)
		if (p->ahead[i] != port)
			p->ahead[k++] = p->ahead[i];
	p->nahead = k;
	if (p->rung[port / 64] >> (port % 64) & 1) {
		p->rung[port / 64] &= ~(1ull << (port % 64));
		p->nrung--;
	}
}

/* Under mu: a port made by op. Its bit may be set already (a peer that
 * rang at once): harmless, as any early event. */
static int port_new(struct ivc_plat *p, uint32_t op, uint32_t *port)
{
	int err = rpc(p, op, NULL, NULL);

	if (!err)
		err = mark_bound(p, *port = p->rsp->a[0], true);
	return err;
}

static int do_evtchn_alloc_unbound(struct ivc_plat *p, uint32_t remote, uint32_t *port)
{
	p->req->a[0] = remote;
	return port_new(p, SIMD_EVT_ALLOC_UNBOUND, port);
}

static int do_evtchn_bind(struct ivc_plat *p, uint32_t remote, uint32_t remote_port, uint32_t *port)
{
	p->req->a[0] = remote;
	p->req->a[1] = remote_port;
	return port_new(p, SIMD_EVT_BIND, port);
}

static int port_op(struct ivc_plat *p, uint32_t op, uint32_t port)
{
	p->req->a[0] = port;
	return rpc(p, op, NULL, NULL);
}

static int do_evtchn_unbind(struct ivc_plat *p, uint32_t port)
{
	int err = port_op(p, SIMD_EVT_UNBIND, port);

	if (!err) {
		mark_bound(p, port, false);
		port_forget(p, port);
	}
	return err;
}

/* Under mu: the peer handle named id, from the doorbell and bits the
 * host sent (kept, or closed if we have them already); 0 when we keep no
 * more peers: that port goes the slow way. */
static uint8_t peer_get(struct ivc_plat *p, uint32_t id, const int fds[2])
{
	int k, slot = -1;
	void *bits;

	for (k = 0; k < PEERS; k++) {
		if (p->peers[k].refs && p->peers[k].id == id)
			break;
		if (!p->peers[k].refs && slot < 0)
			slot = k;
	}
	if (k == PEERS && slot >= 0 &&
	    (bits = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0)) !=
		MAP_FAILED) {
		p->peers[slot] = (struct sim_peer){ .id = id, .bell = fds[0], .bits = bits };
		k = slot;
	} else {
		close(fds[0]);
	}
	close(fds[1]);
	if (k == PEERS)
		return 0;
	p->peers[k].refs++;
	return (uint8_t)(k + 1);
}

/* Under mu: asks the host for the peer's doorbell of our port. */
static void bell_fetch(struct ivc_plat *p, uint32_t port)
{
	struct sim_port *sp = &p->port[port];
	int fds[2] = { -1, -1 }, err;
	unsigned n = 2;

	peer_drop(p, sp);
	p->req->a[0] = port;
	err = rpc(p, SIMD_EVT_BELL, fds, &n);
	sp->known = !err;
	sp->gen = p->rsp->a[0];
	sp->bound = p->rsp->a[1];
	sp->rport = p->rsp->a[2];
	if (!err && n == 2 && sp->bound && sp->rport < SIMD_MAX_PORTS) {
		sp->peer = peer_get(p, p->rsp->a[3], fds);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

/* Sets port's bit in a handle's pending bits and rings its doorbell if
 * the bit was clear (a bit already set is the handle's to take after a
 * ring still to come). Sequentially consistent: orders the ring's stores
 * before the bit, and the bit before the look that clears it. 0, or
 * -errno of the ring (EAGAIN, the count at its top, counts as rung: only
 * a hostile writer gets it there, and its channels pay; see ep_add()). */
static int bit_ring(_Atomic uint64_t *bits, int bell, uint32_t port)
{
	static const uint64_t one = 1;
	uint64_t bit = 1ull << (port % 64);

	if (atomic_fetch_or(&bits[port / 64], bit) & bit)
		return 0;
	return write(bell, &one, sizeof one) == sizeof one || errno == EAGAIN ? 0 : -errno;
}

/* Under mu: 0 when signalled (or dropped, as Xen drops a notify on an
 * unbound port), 1 for the slow way, -EINVAL for a port not ours. Word 0
 * of the generations says the host must see every notify (fault rules). */
static int fast_notify(struct ivc_plat *p, uint32_t port)
{
	struct sim_port *sp = &p->port[port];
	struct sim_peer *pe;

	if (!is_bound(p, port))
		return -EINVAL;
	/* Acquire: a generation seen here orders the host's binding before
	 * our use of what it told us (it bumps after changing it). */
	if (__atomic_load_n(&p->gen[0], __ATOMIC_ACQUIRE))
		return 1;
	if (!sp->known || sp->gen != __atomic_load_n(&p->gen[port], __ATOMIC_ACQUIRE))
		bell_fetch(p, port);
	if (!sp->known)
		return 1;
	if (!sp->peer)
		return sp->bound ? 1 : 0;
	pe = &p->peers[sp->peer - 1];
	return bit_ring(pe->bits, pe->bell, sp->rport) ? 1 : 0;
}

/* One way, as a hypercall: the sender does not wait for the host or the
 * peer. The slow way is one message to the host, which keeps its place
 * among this connection's requests (a close's notify is not overtaken by
 * its unbind). */
static int sim_evtchn_notify(struct ivc_plat *p, uint32_t port)
{
	struct simd_msg m = { .op = SIMD_EVT_SEND, .a = { port } };
	ssize_t r;
	int fast;

	pthread_mutex_lock(&p->mu);
	fast = port < SIMD_MAX_PORTS ? fast_notify(p, port) : -EINVAL;
	pthread_mutex_unlock(&p->mu);
	if (fast <= 0)
		return fast;
	do
		r = send(p->fd, &m, sizeof m, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EPIPE || errno == ECONNRESET ? -ESRCH : -errno;
	return 0;
}

/* Under mu: ports the host delivered, while there is room; 1 when it may
 * have more, 0 when empty, -ESRCH when the host is gone. */
static int sock_drain(struct ivc_plat *p)
{
	uint32_t port;
	ssize_t r;

	while (p->nahead < AHEAD) {
		r = recv(p->sock, &port, sizeof port, MSG_DONTWAIT);
		if (r == sizeof port) {
			if (port < SIMD_MAX_PORTS)
				p->port[port].slow_masked = true;
			p->ahead[p->nahead++] = port;
		} else if (r == 0) {
			return -ESRCH;
		} else if (r > 0) {
			return -EPROTO;
		} else if (errno != EINTR) {
			return errno == EAGAIN ? 0 : -errno;
		}
	}
	return 1;
}

/* Under mu: a port taken from our bits. Delivered once, then masked; a
 * notify while masked leaves it pending for the unmask. */
static void bell_rang(struct ivc_plat *p, uint32_t port)
{
	struct sim_port *sp = &p->port[port];

	if (sp->masked) {
		sp->pending = true;
		return;
	}
	sp->masked = true;
	p->rung[port / 64] |= 1ull << (port % 64);
	p->nrung++;
}

/* Under mu: the doorbell rang: every bit set since the last look. */
static void bits_take(struct ivc_plat *p)
{
	for (unsigned w = 0; w < WORDS; w++) {
		/* A relaxed look first: most words are clear, and writing
		 * each would pull every line of the page to us. */
		if (!atomic_load_explicit(&p->bits[w], memory_order_relaxed))
			continue;
		/* Acquire: the peer's ring stores before its bit. */
		uint64_t v = atomic_exchange_explicit(&p->bits[w], 0, memory_order_acq_rel);
		for (; v; v &= v - 1)
			bell_rang(p, w * 64u + (uint32_t)__builtin_ctzll(v));
	}
}

/* Under mu: a rung port (nrung > 0). */
static uint32_t rung_pop(struct ivc_plat *p)
{
	unsigned w = 0;

	while (!p->rung[w])
		w++;
	uint32_t port = w * 64u + (uint32_t)__builtin_ctzll(p->rung[w]);
	p->rung[w] &= p->rung[w] - 1;
	p->nrung--;
	return port;
}

/* Under mu: takes what n events of an epoll set say; 0, or an error. */
static int take(struct ivc_plat *p, const struct epoll_event *ev, int n)
{
	bool more = false;
	uint64_t v;
	int r;

	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == KEY_WAKE) {
			if (read(p->b.wakefd, &v, sizeof v) < 0) {
				/* EAGAIN: another waiter took it */
			}
		} else if (ev[i].data.u64 == KEY_STORE) {
			/* the library's pump reads it */
		} else if (ev[i].data.u64 == KEY_SOCK) {
			r = sock_drain(p);
			if (r < 0)
				return r;
			more |= r;
		} else if (ev[i].data.u64 == KEY_BELL) {
			bits_take(p);
		}
	}
	p->drained = n < EV_BATCH && !more;
	return 0;
}

/* Under mu: one look at the device; 0, or an error. */
static int look(struct ivc_plat *p)
{
	struct epoll_event ev[EV_BATCH];
	int n;

	do
		n = epoll_wait(p->b.evfd, ev, EV_BATCH, 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : take(p, ev, n);
}

/* A sleep with a timeout arms and cancels a kernel timer each time: 0.7
 * us of a 5 us round trip between two processes on one CPU (against a
 * blocking read of an eventfd: 4.6 us). So while sleeps end by events (a
 * busy channel), the timerfd in the set ticks every TICK_MS and a sleep
 * of TICK_MS or more has no timeout: the tick ends it in time, maybe
 * sooner, as the wait operation allows. The first sleep that nothing but
 * a tick or its timeout ended stops it: an idle channel's sleeps (50 ms,
 * the library's LIVENESS_MS, which TICK_MS must not exceed for this to
 * apply) end at their own ends only, as before; a longer sleep after a
 * busy spell may end once more, at the tick. One thread sleeps at a time:
 * `ticking` is its own. */
#define TICK_MS 50

static void tick_set(struct ivc_plat *p, bool on)
{
	struct itimerspec t = { 0 };

	if (on)
		t.it_value.tv_nsec = t.it_interval.tv_nsec = TICK_MS * 1000000L;
	if (!timerfd_settime(p->tick, 0, &t, NULL))
		p->ticking = on;
}

/* The ticks among n events, read so the timer is quiet until the next. */
static int ticks_take(struct ivc_plat *p, const struct epoll_event *ev, int n)
{
	uint64_t v;
	int t = 0;

	for (int i = 0; i < n; i++)
		if (ev[i].data.u64 == KEY_TICK) {
			t++;
			if (read(p->tick, &v, sizeof v) < 0) {
				/* EAGAIN: disarmed since it fired */
			}
		}
	return t;
}

/* The library's sleep (not under its lock): 1 when something came, 0
 * after ms (or at a tick), or an error. The store is the context's, for
 * its life: it joins the set at the first sleep. */
static int sim_wait(struct ivc_plat *p, struct ivc_plat_store *s, int ms)
{
	struct epoll_event ev[EV_BATCH];
	int n, err, sfd = s ? ivc_linux_store_fd(s) : -1;
	bool came;

	if (sfd != p->wep_store) {
		if (p->wep_store >= 0)
			epoll_ctl(p->wep, EPOLL_CTL_DEL, p->wep_store, NULL);
		p->wep_store = -1;
		if (sfd >= 0 && (err = ep_add(p->wep, sfd, KEY_STORE)))
			return err;
		p->wep_store = sfd;
	}
	n = epoll_wait(p->wep, ev, EV_BATCH, p->ticking && (ms < 0 || ms >= TICK_MS) ? -1 : ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	came = n > ticks_take(p, ev, n);
	if (p->tick >= 0 && came != p->ticking)
		tick_set(p, came);
	pthread_mutex_lock(&p->mu);
	err = take(p, ev, n);
	pthread_mutex_unlock(&p->mu);
	return err ? err : came;
}

static int do_evtchn_pending(struct ivc_plat *p, uint32_t *port)
{
	int err;

	for (;;) {
		if (p->nahead) {
			*port = p->ahead[--p->nahead];
			return 0;
		}
		if (p->nrung) {
			*port = rung_pop(p);
			return 0;
		}
		if (p->drained) {
			p->drained = false;
			return -EAGAIN;
		}
		err = look(p);
		if (err)
			return err;
		if (!p->nahead && !p->nrung) {
			p->drained = false;
			return -EAGAIN;
		}
	}
}

/* A port the host delivered goes back to it; a doorbell's mask is ours. */
static int do_evtchn_unmask(struct ivc_plat *p, uint32_t port)
{
	struct sim_port *sp = port < SIMD_MAX_PORTS ? &p->port[port] : NULL;

	if (sp && sp->masked) {
		sp->masked = false;
		/* Notified while masked: our own bit and doorbell again, as
		 * Xen delivers a pending port on unmask. */
		if (sp->pending) {
			sp->pending = false;
			(void)bit_ring(p->bits, p->bell, port);
		}
	}
	if (sp && !sp->slow_masked)
		return 0;
	if (sp)
		sp->slow_masked = false;
	if (send(p->sock, &port, sizeof port, MSG_NOSIGNAL) != sizeof port)
		return -errno;
	return 0;
}

static int do_evtchn_status(struct ivc_plat *p, uint32_t port, uint32_t *state, uint32_t *remote,
			    uint32_t *remote_port)
{
	int err = port_op(p, SIMD_EVT_STATUS, port);

	if (err == -EPERM)
		return -ENOSYS; /* a domU: as the xen platform says it */
	if (!err) {
		*state = p->rsp->a[0];
		*remote = p->rsp->a[1];
		*remote_port = p->rsp->a[2];
	}
	return err;
}

static int do_domain_alive(struct ivc_plat *p, uint32_t domid)
{
	int err;

	if (domid == p->domid)
		return 1;
	err = port_op(p, SIMD_DOMAIN_ALIVE, domid);
	if (err == -EPERM)
		return -ENOSYS; /* a domU cannot know, as on Xen */
	return err ? err : (int)p->rsp->a[0];
}

/* Every request and its reply go through p->req and p->rsp: one at a
 * time, whichever thread of the context asks. */
#define LOCKED(name, params, args)                                                                 \
	static int sim_##name params                                                               \
	{                                                                                          \
		pthread_mutex_lock(&p->mu);                                                        \
		int r = do_##name args;                                                            \
		pthread_mutex_unlock(&p->mu);                                                      \
		return r;                                                                          \
	}
LOCKED(share,
       (struct ivc_plat * p, uint32_t remote, uint32_t npages, bool ro, void **addr,
	uint32_t *grefs, struct ivc_plat_share **out),
       (p, remote, npages, ro, addr, grefs, out))
LOCKED(share_notify,
       (struct ivc_plat * p, struct ivc_plat_share *s, uint32_t offset, unsigned flags,
	uint32_t port),
       (p, s, offset, flags, port))
LOCKED(unshare, (struct ivc_plat * p, struct ivc_plat_share *s), (p, s))
LOCKED(map,
       (struct ivc_plat * p, uint32_t domid, const uint32_t *grefs, uint32_t npages, bool ro,
	void **addr, struct ivc_plat_map **out),
       (p, domid, grefs, npages, ro, addr, out))
LOCKED(map_notify,
       (struct ivc_plat * p, struct ivc_plat_map *m, uint32_t offset, unsigned flags,
	uint32_t port),
       (p, m, offset, flags, port))
LOCKED(unmap, (struct ivc_plat * p, struct ivc_plat_map *m), (p, m))
LOCKED(peek,
       (struct ivc_plat * p, uint32_t domid, uint32_t gref, const void **addr,
	struct ivc_plat_peek **out),
       (p, domid, gref, addr, out))
LOCKED(evtchn_alloc_unbound, (struct ivc_plat * p, uint32_t remote, uint32_t *port),
       (p, remote, port))
LOCKED(evtchn_bind, (struct ivc_plat * p, uint32_t remote, uint32_t rport, uint32_t *port),
       (p, remote, rport, port))
LOCKED(evtchn_unbind, (struct ivc_plat * p, uint32_t port), (p, port))
LOCKED(evtchn_pending, (struct ivc_plat * p, uint32_t *port), (p, port))
LOCKED(evtchn_unmask, (struct ivc_plat * p, uint32_t port), (p, port))
LOCKED(evtchn_status,
       (struct ivc_plat * p, uint32_t port, uint32_t *state, uint32_t *remote, uint32_t *rport),
       (p, port, state, remote, rport))
LOCKED(domain_alive, (struct ivc_plat * p, uint32_t domid), (p, domid))

static void sim_unshare_defer(struct ivc_plat *p, struct ivc_plat_share *s)
{
	pthread_mutex_lock(&p->mu);
	do_unshare_defer(p, s);
	pthread_mutex_unlock(&p->mu);
}

const struct ivc_plat_ops ivc_plat_sim = {
	IVC_LINUX_COMMON_OPS,
	.wake = ivc_linux_wake,
	.store_open = ivc_linux_store_open,
	.store_close = ivc_linux_store_close,
	.store_event = ivc_linux_store_event,
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.domid = sim_domid,
	.share = sim_share,
	.share_notify = sim_share_notify,
	.unshare = sim_unshare,
	.unshare_defer = sim_unshare_defer,
	.map = sim_map,
	.map_notify = sim_map_notify,
	.unmap = sim_unmap,
	.peek = sim_peek,
	.unpeek = sim_unpeek,
	.evtchn_fd = sim_evtchn_fd,
	.wait = sim_wait,
	.evtchn_alloc_unbound = sim_evtchn_alloc_unbound,
	.evtchn_bind = sim_evtchn_bind,
	.evtchn_notify = sim_evtchn_notify,
	.evtchn_unbind = sim_evtchn_unbind,
	.evtchn_pending = sim_evtchn_pending,
	.evtchn_unmask = sim_evtchn_unmask,
	.evtchn_status = sim_evtchn_status,
	.domain_alive = sim_domain_alive,
};
