/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the sim platform: this process is a domain of an ivc-simd host
 * (IVC_SIM_DIR, default /run/ivc-sim; domain IVC_SIM_DOMID, default 0, as
 * set by `ivc-sim run`). Grants arrive as memfds and are mmapped the way
 * gntalloc/gntdev map granted pages; events come on a socket that behaves
 * like /dev/xen/evtchn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../linux/linux.h"
#include "simd-proto.h"

#define PAGE 4096u

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

static int evt_open(struct ivc_plat *p)
{
	unsigned n = 1;
	int fd = -1, err;

	if (p->b.evfd >= 0)
		return 0;
	err = rpc(p, SIMD_EVT_OPEN, &fd, &n);
	if (err)
		return err;
	if (n != 1)
		return -EPROTO;
	p->b.evfd = fd;
	return 0;
}

static void sim_close(struct ivc_plat *p)
{
	if (!p)
		return;
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
	p->fd = -1;
	err = ivc_linux_base_init(&p->b);
	if (err) {
		free(p);
		return err;
	}
	pthread_mutex_init(&p->mu, NULL);
	p->req = calloc(1, SIMD_MSG_MAX);
	p->rsp = calloc(1, SIMD_MSG_MAX);
	p->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (!p->req || !p->rsp || p->fd < 0) {
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

static int do_evtchn_alloc_unbound(struct ivc_plat *p, uint32_t remote, uint32_t *port)
{
	int err;

	p->req->a[0] = remote;
	err = rpc(p, SIMD_EVT_ALLOC_UNBOUND, NULL, NULL);
	if (!err)
		err = mark_bound(p, *port = p->rsp->a[0], true);
	return err;
}

static int do_evtchn_bind(struct ivc_plat *p, uint32_t remote, uint32_t remote_port, uint32_t *port)
{
	int err;

	p->req->a[0] = remote;
	p->req->a[1] = remote_port;
	err = rpc(p, SIMD_EVT_BIND, NULL, NULL);
	if (!err)
		err = mark_bound(p, *port = p->rsp->a[0], true);
	return err;
}

static int port_op(struct ivc_plat *p, uint32_t op, uint32_t port)
{
	p->req->a[0] = port;
	return rpc(p, op, NULL, NULL);
}

static int do_evtchn_unbind(struct ivc_plat *p, uint32_t port)
{
	int err = port_op(p, SIMD_EVT_UNBIND, port);

	if (!err)
		mark_bound(p, port, false);
	return err;
}

/* One way, as a hypercall: the sender does not wait for the host. Only
 * the check that the port is ours takes the lock; the message itself goes
 * in one send, which keeps its place among this connection's requests
 * (a close's notify is not overtaken by its unbind). */
static int sim_evtchn_notify(struct ivc_plat *p, uint32_t port)
{
	struct simd_msg m = { .op = SIMD_EVT_SEND, .a = { port } };
	bool ours;
	ssize_t r;

	pthread_mutex_lock(&p->mu);
	ours = port < SIMD_MAX_PORTS && (p->bound[port / 8] >> (port % 8)) & 1;
	pthread_mutex_unlock(&p->mu);
	if (!ours)
		return -EINVAL;
	do
		r = send(p->fd, &m, sizeof m, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EPIPE || errno == ECONNRESET ? -ESRCH : -errno;
	return 0;
}

static int sim_evtchn_pending(struct ivc_plat *p, uint32_t *port)
{
	ssize_t r;

	if (p->b.evfd < 0)
		return -EAGAIN;
	do
		r = recv(p->b.evfd, port, sizeof *port, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r == sizeof *port)
		return 0;
	if (r == 0)
		return -ESRCH;
	return r < 0 ? -errno : -EPROTO;
}

static int sim_evtchn_unmask(struct ivc_plat *p, uint32_t port)
{
	if (p->b.evfd < 0)
		return -EBADF;
	if (send(p->b.evfd, &port, sizeof port, MSG_NOSIGNAL) != sizeof port)
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
	.store_open = ivc_linux_store_open,
	.store_close = ivc_linux_store_close,
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
	.evtchn_alloc_unbound = sim_evtchn_alloc_unbound,
	.evtchn_bind = sim_evtchn_bind,
	.evtchn_notify = sim_evtchn_notify,
	.evtchn_unbind = sim_evtchn_unbind,
	.evtchn_pending = sim_evtchn_pending,
	.evtchn_unmask = sim_evtchn_unmask,
	.evtchn_status = sim_evtchn_status,
	.domain_alive = sim_domain_alive,
};
