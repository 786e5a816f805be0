/* SPDX-License-Identifier: MIT */
/*
 * ivc-simd - the sim platform's host: Linux processes act as Xen domains.
 *
 * It plays the parts of the hypervisor and the toolstack that libIVC
 * needs: grant tables (pages are memfds; a read-only grant hands out a
 * read-only fd, so a write really faults), event channels (Linux evtchn
 * device semantics: a pending port is delivered once and stays masked until
 * unmasked), unmap-notify (clear a byte and/or send an event when a share
 * or mapping goes away, including by process death), and domain lifecycle
 * (XenStore entries and XS_INTRODUCE/XS_RELEASE through the real
 * libxenstore against ivc-xenstored, as libxl does).
 *
 * One thread, one poll loop. A connection's domain is the socket it came
 * in on, never something the client says.
 *
 * Events have a fast path that skips this daemon. Each event channel
 * handle has a doorbell (an eventfd) and a page of pending bits, one per
 * port; a peer that asks (SIMD_EVT_BELL) gets both, sets the bit of the
 * port it notifies and rings the doorbell when the bit was clear. Each
 * domain has a read-only table of binding generations, bumped whenever a
 * port's binding changes, so that a sender knows when to ask again; word 0
 * set means every notify comes here (fault rules count them, or
 * IVC_SIM_SLOW_EVENTS=1 in the environment).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "fault.h"
#include "platform.h"
#include "simd-proto.h"

#define PAGE 4096u
#define FIRST_GREF 8u    /* Xen reserves the first grant entries */
#define MAX_GREFS 65536u /* per granting domain */
#define MAX_PORTS SIMD_MAX_PORTS
#define MAX_CONNS 1024

enum conn_kind { C_LISTEN_ADMIN, C_LISTEN_HOST, C_ADMIN, C_HOST, C_EVT };

struct conn {
	int fd;
	enum conn_kind kind;
	uint32_t domid;
	struct conn *evt;  /* C_HOST: its event channel handle (daemon end) */
	struct conn *host; /* C_EVT: the connection that opened it */
	uint32_t life_of;  /* C_ADMIN: domain whose lifetime this is, or ~0 */
	bool silent;       /* C_HOST: its whole domain died: no unmap-notify */
	pid_t pid;         /* the process at the other end, for fault rules */
	/* C_EVT: ports delivered while the socket was full, sent as it
	 * drains. Each port is here at most once (masked until read back),
	 * so at most MAX_PORTS: Linux's evtchn device queues every port of
	 * its file, and so must we (one socket serves a whole context). */
	uint32_t *backlog;
	unsigned nback;
	int bell, bits;  /* C_EVT: the doorbell eventfd and pending bits' memfd */
	uint32_t evt_id; /* C_EVT: names the handle to senders (never reused) */
};

struct notify {
	unsigned flags;
	uint32_t offset, port;
};

struct alloc {
	uint32_t id, domid, remote, npages;
	bool ro;
	int fd; /* memfd, read-write */
	uint32_t *grefs;
	struct conn *owner; /* NULL once freed by its owner (deferred) */
	uint32_t mapped;    /* mapped pages, all mappings together */
	struct notify notify;
	struct alloc *next;
};

struct mapping {
	uint32_t id, domid, npages;
	bool ro;
	struct alloc **al; /* per page */
	uint32_t *page;    /* per page: page index within al[i] */
	struct conn *owner;
	struct notify notify;
	struct mapping *next;
};

enum { P_FREE = IVC_PLAT_EVTCHN_CLOSED, P_UNBOUND, P_INTER };

struct port {
	int state;
	uint32_t remote_dom, remote_port;
	struct conn *owner; /* the C_EVT handle it delivers to */
	bool pending, masked;
};

struct domain {
	uint32_t domid;
	bool live;
	char name[64];
	pid_t pgid;
	time_t since;
	struct conn *listen;
	struct alloc **grefs; /* by gref */
	struct port *ports;   /* by port number, [0] unused */
	uint32_t *gen;        /* binding generations by port; [0] slow events */
	int genfd;            /* gen's memfd */
	struct domain *next;
};

static const char *dir;
static struct conn *conns[MAX_CONNS];
static struct alloc *allocs;
static struct mapping *mappings;
static struct domain *domains;
static uint32_t next_id = 1;
static struct xs_handle *xs;
static pid_t xenstored_pid;
static FILE *logfp;
static bool stopping;
static struct simd_msg *req, *rsp;
static bool slow_env;    /* IVC_SIM_SLOW_EVENTS=1: never the fast path */
static bool fault_rules; /* host fault rules are set: they count notifies */

__attribute__((format(printf, 1, 2))) static void logmsg(const char *fmt, ...)
{
	va_list ap;
	time_t t = time(NULL);
	char ts[32];

	if (!logfp)
		return;
	strftime(ts, sizeof ts, "%H:%M:%S", localtime(&t));
	fprintf(logfp, "%s ", ts);
	va_start(ap, fmt);
	vfprintf(logfp, fmt, ap);
	va_end(ap);
	fputc('\n', logfp);
	fflush(logfp);
}

static void die(const char *what)
{
	logmsg("fatal: %s: %s", what, strerror(errno));
	fprintf(stderr, "ivc-simd: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- connections ---------------------------------------------------- */

static struct conn *conn_add(int fd, enum conn_kind kind, uint32_t domid)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (!conns[i]) {
			struct conn *c = calloc(1, sizeof *c);
			if (!c)
				return NULL;
			c->fd = fd;
			c->kind = kind;
			c->domid = domid;
			c->life_of = ~0u;
			conns[i] = c;
			return c;
		}
	return NULL;
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (strlen(path) >= sizeof sa.sun_path) {
		close(fd);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64)) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static void host_sock_path(char *buf, size_t n, uint32_t domid)
{
	snprintf(buf, n, "%s/host/dom%u.sock", dir, domid);
}

/* ---- domains ---------------------------------------------------------- */

static struct domain *dom_find(uint32_t domid)
{
	for (struct domain *d = domains; d; d = d->next)
		if (d->domid == domid)
			return d;
	return NULL;
}

static struct domain *dom_live(uint32_t domid)
{
	struct domain *d = dom_find(domid);

	return d && d->live ? d : NULL;
}

/* Whether every notify goes through the daemon (word 0 of the tables). */
static bool slow_events(void)
{
	return slow_env || fault_rules;
}

static struct domain *dom_new(uint32_t domid, const char *name)
{
	struct domain *d = calloc(1, sizeof *d);
	char path[256];
	int fd;

	if (!d)
		return NULL;
	d->grefs = calloc(MAX_GREFS, sizeof *d->grefs);
	d->ports = calloc(MAX_PORTS, sizeof *d->ports);
	d->gen = MAP_FAILED;
	d->genfd = memfd_create("ivc-sim-evtgen", MFD_CLOEXEC);
	if (d->genfd >= 0 && ftruncate(d->genfd, MAX_PORTS * sizeof *d->gen) == 0)
		d->gen = mmap(NULL, MAX_PORTS * sizeof *d->gen, PROT_READ | PROT_WRITE, MAP_SHARED,
			      d->genfd, 0);
	host_sock_path(path, sizeof path, domid);
	fd = d->gen == MAP_FAILED ? -1 : listen_at(path);
	if (!d->grefs || !d->ports || fd < 0 || !(d->listen = conn_add(fd, C_LISTEN_HOST, domid))) {
		if (fd >= 0)
			close(fd);
		if (d->gen != MAP_FAILED)
			munmap(d->gen, MAX_PORTS * sizeof *d->gen);
		if (d->genfd >= 0)
			close(d->genfd);
		free(d->grefs);
		free(d->ports);
		free(d);
		return NULL;
	}
	d->gen[0] = slow_events();
	d->domid = domid;
	d->live = true;
	d->since = time(NULL);
	snprintf(d->name, sizeof d->name, "%s", name);
	d->next = domains;
	domains = d;
	return d;
}

/* ---- event channels --------------------------------------------------- */

/* Port's binding changed: a sender holding its peer's doorbell asks again.
 * The release orders the new binding before the bump for a client that
 * reads the table and then asks (the daemon itself is one thread). */
static void port_bump(uint32_t domid, uint32_t port)
{
	struct domain *d = dom_find(domid);

	if (d && port && port < MAX_PORTS)
		__atomic_store_n(&d->gen[port], d->gen[port] + 1, __ATOMIC_RELEASE);
}

/* Word 0 of every table, after the rules changed. */
static void slow_events_set(void)
{
	for (struct domain *d = domains; d; d = d->next)
		__atomic_store_n(&d->gen[0], slow_events(), __ATOMIC_RELEASE);
}

static struct port *port_get(uint32_t domid, uint32_t port)
{
	struct domain *d = dom_find(domid);

	if (!d || port == 0 || port >= MAX_PORTS)
		return NULL;
	return &d->ports[port];
}

/* Sends what waits in e's backlog, in order, while the socket takes it. */
static void evt_flush(struct conn *e)
{
	unsigned k = 0;

	while (k < e->nback && send(e->fd, &e->backlog[k], sizeof e->backlog[k],
				    MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof e->backlog[k])
		k++;
	memmove(e->backlog, e->backlog + k, (e->nback - k) * sizeof *e->backlog);
	e->nback -= k;
}

static void evt_send(struct conn *e, uint32_t port)
{
	if (!e->nback &&
	    send(e->fd, &port, sizeof port, MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof port)
		return;
	if (!e->backlog) {
		e->backlog = calloc(MAX_PORTS, sizeof *e->backlog);
		if (!e->backlog)
			die("out of memory");
	}
	if (e->nback < MAX_PORTS) /* each port once: never full */
		e->backlog[e->nback++] = port;
}

static void port_deliver(uint32_t port, struct port *p)
{
	/* As the Linux evtchn device: deliver once, then keep the port
	 * masked until the reader unmasks it; more events only set pending. */
	if (p->masked || !p->owner || p->owner->fd < 0) {
		p->pending = true;
		return;
	}
	p->pending = false;
	p->masked = true;
	evt_send(p->owner, port);
}

static int port_notify(uint32_t domid, uint32_t port)
{
	struct port *p = port_get(domid, port), *q;

	if (!p || p->state == P_FREE)
		return -EINVAL;
	if (p->state == P_UNBOUND)
		return 0; /* Xen drops it silently */
	q = port_get(p->remote_dom, p->remote_port);
	if (q && q->state == P_INTER)
		port_deliver(p->remote_port, q);
	return 0;
}

static void port_close(uint32_t domid, uint32_t port)
{
	struct port *p = port_get(domid, port), *q;

	if (!p || p->state == P_FREE)
		return;
	if (p->state == P_INTER) {
		/* The peer's end reverts to unbound, as Xen does. */
		q = port_get(p->remote_dom, p->remote_port);
		if (q && q->state == P_INTER) {
			q->state = P_UNBOUND;
			q->remote_dom = domid;
			q->remote_port = 0;
			port_bump(p->remote_dom, p->remote_port);
		}
	}
	memset(p, 0, sizeof *p);
	port_bump(domid, port);
}

static int port_alloc(uint32_t domid, struct conn *evt, uint32_t *out)
{
	struct domain *d = dom_live(domid);

	if (!d)
		return -ESRCH;
	for (uint32_t i = 1; i < MAX_PORTS; i++)
		if (d->ports[i].state == P_FREE) {
			memset(&d->ports[i], 0, sizeof d->ports[i]);
			d->ports[i].owner = evt;
			*out = i;
			return 0;
		}
	return -ENOSPC;
}

/* ---- grants ----------------------------------------------------------- */

/* A read-only descriptor of memfd fd: PROT_WRITE on a shared mapping of
 * it fails, so writes through it really fault. -1 and errno on failure. */
static int dup_ro(int fd)
{
	char p[64];

	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	return open(p, O_RDONLY | O_CLOEXEC);
}

static void alloc_free(struct alloc *al)
{
	struct domain *d = dom_find(al->domid);

	for (uint32_t i = 0; i < al->npages; i++)
		if (d && al->grefs[i] < MAX_GREFS && d->grefs[al->grefs[i]] == al)
			d->grefs[al->grefs[i]] = NULL;
	for (struct alloc **pp = &allocs; *pp; pp = &(*pp)->next)
		if (*pp == al) {
			*pp = al->next;
			break;
		}
	close(al->fd);
	free(al->grefs);
	free(al);
}

static void fire_notify(const struct notify *n, int fd, uint64_t byte_off, uint32_t domid)
{
	static const uint8_t zero;

	if ((n->flags & IVC_PLAT_NOTIFY_CLEAR_BYTE) && fd >= 0)
		if (pwrite(fd, &zero, 1, (off_t)byte_off) != 1)
			logmsg("unmap-notify: clear byte failed: %s", strerror(errno));
	if (n->flags & IVC_PLAT_NOTIFY_SEND_EVENT)
		(void)port_notify(domid, n->port);
}

static void mapping_release(struct mapping *m, bool notify)
{
	if (notify && m->notify.flags) {
		uint32_t pg = m->notify.offset / PAGE;
		fire_notify(&m->notify, pg < m->npages ? m->al[pg]->fd : -1,
			    pg < m->npages ? (uint64_t)m->page[pg] * PAGE + m->notify.offset % PAGE
					   : 0,
			    m->domid);
	}
	for (uint32_t i = 0; i < m->npages; i++) {
		struct alloc *al = m->al[i];
		if (--al->mapped == 0 && !al->owner)
			alloc_free(al); /* deferred end of access completes */
	}
	for (struct mapping **pp = &mappings; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	free(m->al);
	free(m->page);
	free(m);
}

static int gnt_alloc(struct conn *c, int *fd_out)
{
	struct domain *d = dom_live(c->domid);
	uint32_t remote = req->a[0], n = req->a[1];
	struct alloc *al;
	uint32_t got = 0;
	char name[32];

	if (!d)
		return -ESRCH;
	if (n == 0 || n > SIMD_MAX_PAGES || remote > SIMD_MAX_DOMID)
		return -EINVAL;
	al = calloc(1, sizeof *al);
	if (!al || !(al->grefs = calloc(n, sizeof *al->grefs))) {
		free(al);
		return -ENOMEM;
	}
	snprintf(name, sizeof name, "ivc-grant-d%u", c->domid);
	al->fd = memfd_create(name, MFD_CLOEXEC);
	if (al->fd < 0 || ftruncate(al->fd, (off_t)n * PAGE)) {
		int e = -errno;
		if (al->fd >= 0)
			close(al->fd);
		free(al->grefs);
		free(al);
		return e;
	}
	for (uint32_t g = FIRST_GREF; g < MAX_GREFS && got < n; g++)
		if (!d->grefs[g]) {
			d->grefs[g] = al;
			al->grefs[got++] = g;
		}
	al->id = next_id++;
	al->domid = c->domid;
	al->remote = remote;
	al->npages = got;
	al->ro = req->a[2] != 0;
	al->owner = c;
	al->next = allocs;
	allocs = al;
	if (got < n) {
		alloc_free(al);
		return -ENOSPC;
	}
	rsp->a[0] = al->id;
	memcpy(rsp->data, al->grefs, n * 4u);
	rsp->n = n;
	*fd_out = al->fd;
	return 0;
}

static struct alloc *alloc_of(struct conn *c, uint32_t id)
{
	for (struct alloc *al = allocs; al; al = al->next)
		if (al->id == id && al->owner == c)
			return al;
	return NULL;
}

static struct mapping *mapping_of(struct conn *c, uint32_t id)
{
	for (struct mapping *m = mappings; m; m = m->next)
		if (m->id == id && m->owner == c)
			return m;
	return NULL;
}

static int set_notify(struct notify *n, uint32_t size, uint32_t domid)
{
	unsigned flags = req->a[2];

	if (flags & ~(IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT))
		return -EINVAL;
	if ((flags & IVC_PLAT_NOTIFY_CLEAR_BYTE) && req->a[1] >= size)
		return -EINVAL;
	if (flags & IVC_PLAT_NOTIFY_SEND_EVENT) {
		struct port *p = port_get(domid, req->a[3]);
		if (!p || p->state == P_FREE)
			return -EINVAL;
	}
	n->flags = flags;
	n->offset = req->a[1];
	n->port = req->a[3];
	return 0;
}

/* Map grefs of domain req->a[0]: one fd per distinct memfd, and for each
 * page which fd and which page in it. */
static int gnt_map(struct conn *c, int *fds, unsigned *nfds)
{
	uint32_t domid = req->a[0], n = req->n;
	bool ro = req->a[1] != 0;
	struct domain *g = dom_find(domid);
	struct alloc *seen[SIMD_MAX_FDS];
	struct mapping *m;
	int err = 0;

	if (!dom_live(c->domid))
		return -ESRCH;
	if (n == 0 || n > SIMD_MAX_PAGES)
		return -EINVAL;
	if (!g)
		return -EINVAL;
	m = calloc(1, sizeof *m);
	if (!m || !(m->al = calloc(n, sizeof *m->al)) || !(m->page = calloc(n, 4))) {
		if (m)
			free(m->al);
		free(m);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n && !err; i++) {
		uint32_t ref = req->data[i];
		struct alloc *al = ref < MAX_GREFS ? g->grefs[ref] : NULL;

		if (!al)
			err = -EINVAL; /* GNTST_bad_gntref */
		else if (al->remote != c->domid || (al->ro && !ro))
			err = -EPERM; /* GNTST_permission_denied */
		if (err)
			break;
		m->al[i] = al;
		for (uint32_t k = 0; k < al->npages; k++)
			if (al->grefs[k] == ref)
				m->page[i] = k;
	}
	*nfds = 0;
	for (uint32_t i = 0; i < n && !err; i++) {
		unsigned k;
		for (k = 0; k < *nfds; k++)
			if (seen[k] == m->al[i])
				break;
		if (k == *nfds) {
			if (k == SIMD_MAX_FDS) {
				err = -E2BIG;
				break;
			}
			seen[k] = m->al[i];
			/* A read-only mapping gets a read-only fd. */
			fds[k] = ro ? dup_ro(m->al[i]->fd) : dup(m->al[i]->fd);
			if (fds[k] < 0) {
				err = -errno;
				break;
			}
			(*nfds)++;
		}
		rsp->data[2 * i] = k;
		rsp->data[2 * i + 1] = m->page[i];
	}
	if (err) {
		for (unsigned k = 0; k < *nfds; k++)
			close(fds[k]);
		*nfds = 0;
		free(m->al);
		free(m->page);
		free(m);
		return err;
	}
	for (uint32_t i = 0; i < n; i++)
		m->al[i]->mapped++;
	m->id = next_id++;
	m->domid = c->domid;
	m->npages = n;
	m->ro = ro;
	m->owner = c;
	m->next = mappings;
	mappings = m;
	rsp->a[0] = m->id;
	rsp->n = 2 * n;
	return 0;
}

/* ---- toolstack (XenStore) --------------------------------------------- */

static int xs_create_domain(uint32_t domid, const char *name)
{
	char path[64], val[16];
	struct xs_permissions dom_perms[2] = { { 0, XS_PERM_NONE }, { domid, XS_PERM_READ } };
	struct xs_permissions data_perms[1] = { { domid, XS_PERM_NONE } };
	xs_transaction_t t;

	/* As libxl: the domain path belongs to dom0 and is readable by the
	 * domain; data/ belongs to the domain. Retried on EAGAIN. */
	for (int tries = 0; tries < 100; tries++) {
		t = xs_transaction_start(xs);
		if (t == XBT_NULL)
			return -errno;
		snprintf(path, sizeof path, "/local/domain/%u", domid);
		bool ok = xs_mkdir(xs, t, path) && xs_set_permissions(xs, t, path, dom_perms, 2);
		snprintf(path, sizeof path, "/local/domain/%u/name", domid);
		ok = ok && xs_write(xs, t, path, name, strlen(name)) &&
		     xs_set_permissions(xs, t, path, dom_perms, 2);
		snprintf(path, sizeof path, "/local/domain/%u/domid", domid);
		snprintf(val, sizeof val, "%u", domid);
		ok = ok && xs_write(xs, t, path, val, strlen(val)) &&
		     xs_set_permissions(xs, t, path, dom_perms, 2);
		snprintf(path, sizeof path, "/local/domain/%u/data", domid);
		ok = ok && xs_mkdir(xs, t, path) && xs_set_permissions(xs, t, path, data_perms, 1);
		if (!ok) {
			int e = errno;
			xs_transaction_end(xs, t, true);
			return -e;
		}
		if (xs_transaction_end(xs, t, false))
			break;
		if (errno != EAGAIN)
			return -errno;
	}
	if (!xs_introduce_domain(xs, domid, 0, 0))
		return -errno;
	return 0;
}

static void xs_destroy_domain(uint32_t domid)
{
	char path[64];

	snprintf(path, sizeof path, "/local/domain/%u", domid);
	if (!xs_rm(xs, XBT_NULL, path) && errno != ENOENT)
		logmsg("rm %s: %s", path, strerror(errno));
	if (!xs_release_domain(xs, domid))
		logmsg("release dom%u: %s", domid, strerror(errno));
}

/* ---- connection teardown ---------------------------------------------- */

static void conn_close(struct conn *c);

static void reclaim_conn(struct conn *c)
{
	/* Unmap-notify first (it may send events on ports still open), then
	 * ports, then the memory. Unmap-notify is the dying process's kernel
	 * at work: when Xen destroys a whole domain, no kernel runs it, and
	 * the peer learns nothing from the grant or the event channel. */
	for (struct mapping *m = mappings, *nx; m; m = nx) {
		nx = m->next;
		if (m->owner == c)
			mapping_release(m, !c->silent);
	}
	for (struct alloc *al = allocs, *nx; al; al = nx) {
		nx = al->next;
		if (al->owner != c)
			continue;
		if (al->notify.flags && !c->silent)
			fire_notify(&al->notify, al->fd, al->notify.offset, al->domid);
		al->owner = NULL;
		if (!al->mapped)
			alloc_free(al);
	}
	if (c->evt) {
		struct domain *d = dom_find(c->domid);
		for (uint32_t i = 1; d && i < MAX_PORTS; i++)
			if (d->ports[i].state != P_FREE && d->ports[i].owner == c->evt)
				port_close(c->domid, i);
		struct conn *e = c->evt;
		c->evt = NULL;
		e->host = NULL;
		conn_close(e);
	}
}

/* The other end of a socket has gone (even with data left unread). */
static bool hung_up(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	return fd < 0 || (poll(&pfd, 1, 0) == 1 && pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void domain_destroy(struct domain *d)
{
	if (!d->live)
		return;
	logmsg("dom%u (%s) dies", d->domid, d->name);
	d->live = false;
	/* A process that already exited ran its kernel's unmap-notify (its
	 * hang-up is merely not read yet); the ones still running now die
	 * with the domain, as under `xl destroy`: silently. */
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = conns[i];
		if (c && c->domid == d->domid && c->kind == C_HOST)
			c->silent = !hung_up(c->fd);
	}
	if (d->pgid > 1) /* never kill(-1): every process we may signal */
		kill(-d->pgid, SIGKILL);
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = conns[i];
		if (!c)
			continue;
		/* The life connection of `ivc-sim run` outlives the domain
		 * after `ivc-sim destroy`: it must not end a new domain of the
		 * same id. */
		if (c->kind == C_ADMIN && c->life_of == d->domid)
			c->life_of = ~0u;
		else if (c->domid == d->domid && c->kind == C_HOST)
			conn_close(c); /* frees c */
	}
	/* Ports of processes that never opened a handle cannot exist; close
	 * whatever is left (the peers' ends revert to unbound). */
	for (uint32_t i = 1; i < MAX_PORTS; i++)
		port_close(d->domid, i);
	if (d->listen) {
		char path[256];
		host_sock_path(path, sizeof path, d->domid);
		unlink(path);
		conn_close(d->listen);
		d->listen = NULL;
	}
	xs_destroy_domain(d->domid);
	for (struct domain **pp = &domains; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	/* Shares of the dead domain still mapped by others stay (deferred);
	 * they no longer belong to a gref table. */
	for (struct alloc *al = allocs; al; al = al->next)
		if (al->domid == d->domid)
			for (uint32_t i = 0; i < al->npages; i++)
				al->grefs[i] = ~0u;
	munmap(d->gen, MAX_PORTS * sizeof *d->gen);
	close(d->genfd);
	free(d->grefs);
	free(d->ports);
	free(d);
}

static void conn_close(struct conn *c)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i] == c)
			conns[i] = NULL;
	if (c->kind == C_EVT && c->host) {
		/* A dying process closes its sockets in no set order, but Linux
		 * tears down its mappings (unmap-notify fires, possibly sending
		 * on these ports) before it unbinds its event channels. So the
		 * ports stay until the host connection goes; only the socket
		 * goes now. (Our client never closes one without the other.) */
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return;
	}
	if (c->kind == C_HOST)
		reclaim_conn(c);
	if (c->kind == C_ADMIN && c->life_of != ~0u) {
		struct domain *d = dom_find(c->life_of);
		if (d)
			domain_destroy(d);
	}
	if (c->fd >= 0)
		close(c->fd);
	if (c->kind == C_EVT) {
		close(c->bell);
		close(c->bits);
	}
	free(c->backlog);
	free(c);
}

/* ---- requests --------------------------------------------------------- */

static int send_reply(struct conn *c, const int *fds, unsigned nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SIMD_MAX_FDS)];
	struct iovec iov = { rsp, sizeof *rsp + 4u * rsp->n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		memset(cbuf, 0, sizeof cbuf);
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	/* Replies are small next to the socket buffer; a client that does not
	 * read them is dropped rather than allowed to stall the host. */
	if (sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

static void dump_text(const char *s)
{
	size_t len = strlen(s) + 1;

	if (len > 4u * SIMD_MAX_DATA)
		len = 4u * SIMD_MAX_DATA;
	memcpy(rsp->data, s, len);
	((char *)rsp->data)[len - 1] = 0;
	rsp->n = (uint32_t)((len + 3) / 4);
}

static int do_ls(void)
{
	static char out[4 * SIMD_MAX_DATA];
	size_t o = 0;

	o += (size_t)snprintf(out + o, sizeof out - o, "%-6s %-20s %-8s %s\n", "DOMID", "NAME",
			      "PGID", "UP(s)");
	o += (size_t)snprintf(out + o, sizeof out - o, "%-6u %-20s %-8s %s\n", 0u, "Domain-0", "-",
			      "-");
	for (struct domain *d = domains; d && o < sizeof out - 128; d = d->next)
		if (d->domid != 0 && d->live)
			o += (size_t)snprintf(out + o, sizeof out - o, "%-6u %-20s %-8d %ld\n",
					      d->domid, d->name, (int)d->pgid,
					      (long)(time(NULL) - d->since));
	dump_text(out);
	return 0;
}

struct dstat {
	uint32_t domid;
	long grants, mappings, evtchns, nodes, watches;
	long xs_conns, host_conns; /* connections to XenStore and to us */
};

static struct dstat *stat_slot(struct dstat *st, int *n, uint32_t domid)
{
	for (int i = 0; i < *n; i++)
		if (st[i].domid == domid)
			return &st[i];
	if (*n >= 512)
		return NULL;
	st[*n] = (struct dstat){ .domid = domid };
	return &st[(*n)++];
}

/* Pulls "<key>":<number> for domain `domid` out of ivc-xenstored's JSON. */
static long json_num(const char *js, uint32_t domid, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof pat, "\"%u\":{", domid);
	p = js ? strstr(js, pat) : NULL;
	if (!p)
		return 0;
	const char *end = strchr(p, '}');
	snprintf(pat, sizeof pat, "\"%s\":", key);
	p = strstr(p, pat);
	if (!p || (end && p > end))
		return 0;
	return strtol(p + strlen(pat), NULL, 10);
}

static int do_stats(bool json)
{
	static struct dstat st[512];
	static char out[4 * SIMD_MAX_DATA];
	int n = 0;
	size_t o = 0;
	struct dstat *s;
	char *js = xs_control_command(xs, "ivc-stats", NULL, 0);

	stat_slot(st, &n, 0);
	for (struct domain *d = domains; d; d = d->next) {
		if (!(s = stat_slot(st, &n, d->domid)))
			continue;
		for (uint32_t i = 1; i < MAX_PORTS; i++)
			s->evtchns += d->ports[i].state != P_FREE;
	}
	for (struct alloc *al = allocs; al; al = al->next)
		if ((s = stat_slot(st, &n, al->domid)))
			s->grants += al->npages;
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i] && conns[i]->kind == C_HOST &&
		    (s = stat_slot(st, &n, conns[i]->domid)))
			s->host_conns++;
	for (struct mapping *m = mappings; m; m = m->next)
		if ((s = stat_slot(st, &n, m->domid)))
			s->mappings += m->npages;
	/* Domains that only XenStore still knows about. */
	for (const char *p = js; p && (p = strstr(p, "\":{")); p += 3) {
		const char *q = p;
		while (q > js && q[-1] != '"')
			q--;
		if (q > js && q < p)
			stat_slot(st, &n, (uint32_t)strtoul(q, NULL, 10));
	}
	for (int i = 0; i < n; i++) {
		st[i].nodes = json_num(js, st[i].domid, "nodes");
		st[i].watches = json_num(js, st[i].domid, "watches");
		st[i].xs_conns = json_num(js, st[i].domid, "connections");
	}
	free(js);
	if (json)
		o += (size_t)snprintf(out + o, sizeof out - o, "{\"domains\":[");
	else
		o += (size_t)snprintf(out + o, sizeof out - o, "%-6s %8s %8s %8s %8s %8s %8s %8s\n",
				      "DOMID", "GRANTS", "MAPPED", "EVTCHNS", "XSNODES", "WATCHES",
				      "XSCONNS", "HOSTCONN");
	for (int i = 0; i < n && o < sizeof out - 256; i++) {
		s = &st[i];
		if (json)
			o += (size_t)snprintf(
			    out + o, sizeof out - o,
			    "%s{\"domid\":%u,\"live\":%s,\"grants\":%ld,"
			    "\"mappings\":%ld,\"evtchns\":%ld,\"xs_nodes\":%ld,"
			    "\"xs_watches\":%ld,\"xs_connections\":%ld,\"host_connections\":%ld}",
			    i ? "," : "", s->domid,
			    s->domid == 0 || dom_live(s->domid) ? "true" : "false", s->grants,
			    s->mappings, s->evtchns, s->nodes, s->watches, s->xs_conns,
			    s->host_conns);
		else
			o += (size_t)snprintf(out + o, sizeof out - o,
					      "%-6u %8ld %8ld %8ld %8ld %8ld %8ld %8ld\n", s->domid,
					      s->grants, s->mappings, s->evtchns, s->nodes,
					      s->watches, s->xs_conns, s->host_conns);
	}
	if (json)
		snprintf(out + o, sizeof out - o, "]}\n");
	dump_text(out);
	return 0;
}

static int do_domain_create(struct conn *c)
{
	uint32_t domid = req->a[0];
	char name[64] = "";
	struct domain *d;
	int err;

	if (c->life_of != ~0u)
		return -EISCONN;
	if (domid == 0 || domid > SIMD_MAX_DOMID)
		return -EINVAL;
	if (dom_find(domid))
		return -EEXIST;
	if (req->n) {
		size_t len = req->n * 4u < sizeof name ? req->n * 4u : sizeof name - 1;
		memcpy(name, req->data, len);
		name[sizeof name - 1] = 0;
	}
	if (!name[0])
		snprintf(name, sizeof name, "dom%u", domid);
	d = dom_new(domid, name);
	if (!d)
		return -ENOMEM;
	err = xs_create_domain(domid, name);
	if (err) {
		logmsg("dom%u: xenstore: %s", domid, strerror(-err));
		d->live = true;
		domain_destroy(d);
		return err;
	}
	c->life_of = domid;
	logmsg("dom%u (%s) created", domid, name);
	return 0;
}

/* ---- requests: one function per op, dispatched through tables ------- */

/* What a reply carries besides rsp: descriptors passed to the client (ours
 * are closed once sent), and the one that stays ours (a share's memfd). */
struct out {
	int fds[SIMD_MAX_FDS];
	unsigned nfds;
	int keep;
};

typedef int (*op_fn)(struct conn *c, struct out *o);

static int op_hello(struct conn *c, struct out *o)
{
	(void)o;
	rsp->a[0] = c->domid;
	return 0;
}

static int op_gnt_alloc(struct conn *c, struct out *o)
{
	return gnt_alloc(c, &o->keep);
}

static int op_gnt_alloc_notify(struct conn *c, struct out *o)
{
	struct alloc *al = alloc_of(c, req->a[0]);

	(void)o;
	return al ? set_notify(&al->notify, al->npages * PAGE, c->domid) : -ENOENT;
}

static int op_gnt_free(struct conn *c, struct out *o)
{
	struct alloc *al = alloc_of(c, req->a[0]);

	(void)o;
	if (!al)
		return -ENOENT;
	if (al->mapped && !req->a[1])
		return -EBUSY; /* Xen refuses to end access to a mapped page */
	/* gntalloc fires the notify when the share is released, not only at
	 * process exit. Deferred if still mapped: freed at the last unmap,
	 * as gntalloc does. */
	if (al->notify.flags)
		fire_notify(&al->notify, al->fd, al->notify.offset, al->domid);
	al->notify.flags = 0;
	al->owner = NULL;
	if (!al->mapped)
		alloc_free(al);
	return 0;
}

static int op_gnt_map(struct conn *c, struct out *o)
{
	return gnt_map(c, o->fds, &o->nfds);
}

static int op_gnt_peek(struct conn *c, struct out *o)
{
	struct domain *g = dom_find(req->a[0]);
	uint32_t ref = req->a[1];
	struct alloc *al = g && ref < MAX_GREFS ? g->grefs[ref] : NULL;

	if (c->domid != 0)
		return -EPERM; /* dom0's rights over every domain's memory */
	if (!al)
		return -EINVAL;
	for (uint32_t k = 0; k < al->npages; k++)
		if (al->grefs[k] == ref)
			rsp->a[0] = k;
	o->fds[0] = dup_ro(al->fd);
	if (o->fds[0] < 0)
		return -errno;
	o->nfds = 1;
	return 0;
}

static int op_gnt_map_notify(struct conn *c, struct out *o)
{
	struct mapping *m = mapping_of(c, req->a[0]);

	(void)o;
	if (!m)
		return -ENOENT;
	if (m->ro && (req->a[2] & IVC_PLAT_NOTIFY_CLEAR_BYTE))
		return -EINVAL; /* gntdev refuses: it could not write */
	return set_notify(&m->notify, m->npages * PAGE, c->domid);
}

static int op_gnt_unmap(struct conn *c, struct out *o)
{
	struct mapping *m = mapping_of(c, req->a[0]);

	(void)o;
	if (!m)
		return -ENOENT;
	mapping_release(m, true);
	return 0;
}

/* The fast path's parts of a new handle: its doorbell and a zeroed page
 * of pending bits; 0 or -errno (nothing left open). */
static int evt_parts(int *bell, int *bits)
{
	*bell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	*bits = memfd_create("ivc-sim-pending", MFD_CLOEXEC);
	if (*bell >= 0 && *bits >= 0 && ftruncate(*bits, PAGE) == 0)
		return 0;
	int err = -errno;
	if (*bell >= 0)
		close(*bell);
	if (*bits >= 0)
		close(*bits);
	return err;
}

/* -> fds: the device (a socket), the domain's generation table read-only,
 * the handle's doorbell and pending bits (simd-proto.h). */
static int op_evt_open(struct conn *c, struct out *o)
{
	static uint32_t next_evt_id;
	struct domain *d = dom_find(c->domid);
	int sv[2], bell, bits, err;
	struct conn *e;

	if (c->evt)
		return -EBUSY;
	if (!d)
		return -ESRCH;
	err = evt_parts(&bell, &bits);
	if (err)
		return err;
	/* Every descriptor first: nothing is recorded for a request that
	 * fails (handle() closes what o holds). */
	o->fds[1] = dup_ro(d->genfd);
	o->fds[2] = dup(bell);
	o->fds[3] = dup(bits);
	o->nfds = 4;
	err = o->fds[1] < 0 || o->fds[2] < 0 || o->fds[3] < 0 ? -errno : 0;
	if (!err && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		err = -errno;
	e = err ? NULL : conn_add(sv[0], C_EVT, c->domid);
	if (!err && !e) {
		close(sv[0]);
		close(sv[1]);
		err = -EMFILE;
	}
	if (err) {
		o->fds[0] = -1;
		close(bell);
		close(bits);
		return err;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	e->host = c;
	e->bell = bell;
	e->bits = bits;
	e->evt_id = ++next_evt_id;
	c->evt = e;
	o->fds[0] = sv[1];
	return 0;
}

static int op_evt_alloc_unbound(struct conn *c, struct out *o)
{
	struct port *p;
	int err;

	(void)o;
	if (!c->evt)
		return -EBADF;
	if (req->a[0] > SIMD_MAX_DOMID)
		return -EINVAL;
	err = port_alloc(c->domid, c->evt, &rsp->a[0]);
	if (!err) {
		p = port_get(c->domid, rsp->a[0]);
		p->state = P_UNBOUND;
		p->remote_dom = req->a[0];
		port_bump(c->domid, rsp->a[0]);
	}
	return err;
}

static int op_evt_bind(struct conn *c, struct out *o)
{
	struct port *p, *q = port_get(req->a[0], req->a[1]);
	int err;

	(void)o;
	if (!c->evt)
		return -EBADF;
	if (!dom_live(req->a[0]) && req->a[0] != 0)
		return -ESRCH;
	if (!q || q->state != P_UNBOUND || q->remote_dom != c->domid)
		return -EINVAL;
	err = port_alloc(c->domid, c->evt, &rsp->a[0]);
	if (err)
		return err;
	p = port_get(c->domid, rsp->a[0]);
	q = port_get(req->a[0], req->a[1]);
	p->state = q->state = P_INTER;
	p->remote_dom = req->a[0];
	p->remote_port = req->a[1];
	q->remote_dom = c->domid;
	q->remote_port = rsp->a[0];
	port_bump(c->domid, rsp->a[0]);
	port_bump(req->a[0], req->a[1]);
	/* As Xen (evtchn_bind_interdomain): the new port is pending at once,
	 * in case the peer signalled the unbound port before. */
	port_deliver(rsp->a[0], p);
	return 0;
}

static int op_evt_notify(struct conn *c, struct out *o)
{
	struct port *p = port_get(c->domid, req->a[0]);

	(void)o;
	return p && c->evt && p->owner == c->evt ? port_notify(c->domid, req->a[0]) : -EINVAL;
}

/* The fast path's lookup (see the top): a0 our port -> a0 its generation
 * now, a1 1 when bound, a2 the peer's port, a3 its handle's id; fds: that
 * handle's doorbell and pending bits. */
static int op_evt_bell(struct conn *c, struct out *o)
{
	struct domain *d = dom_find(c->domid);
	struct port *p = port_get(c->domid, req->a[0]), *q;

	if (!d || !p || !c->evt || p->state == P_FREE || p->owner != c->evt)
		return -EINVAL;
	rsp->a[0] = d->gen[req->a[0]];
	rsp->a[1] = p->state == P_INTER;
	q = p->state == P_INTER ? port_get(p->remote_dom, p->remote_port) : NULL;
	if (!q || q->state != P_INTER || !q->owner || q->owner->bell < 0)
		return 0;
	rsp->a[2] = p->remote_port;
	rsp->a[3] = q->owner->evt_id;
	o->fds[0] = dup(q->owner->bell);
	o->fds[1] = dup(q->owner->bits);
	o->nfds = 2;
	return o->fds[0] < 0 || o->fds[1] < 0 ? -errno : 0;
}

static int op_evt_unbind(struct conn *c, struct out *o)
{
	struct port *p = port_get(c->domid, req->a[0]);

	(void)o;
	if (!p || p->state == P_FREE || p->owner != c->evt)
		return -EINVAL;
	port_close(c->domid, req->a[0]);
	return 0;
}

static int op_evt_status(struct conn *c, struct out *o)
{
	struct port *p;

	(void)o;
	/* Xen allows it, but a Linux domU's privcmd refuses every hypercall
	 * until the toolstack gives it a target domain (Debian 12's kernel):
	 * as seen in the Xen lab. */
	if (c->domid != 0)
		return -EPERM;
	p = port_get(c->domid, req->a[0]);
	if (!p)
		return -EINVAL;
	rsp->a[0] = (uint32_t)p->state;
	rsp->a[1] = p->remote_dom;
	rsp->a[2] = p->remote_port;
	return 0;
}

static int op_domain_alive(struct conn *c, struct out *o)
{
	(void)o;
	/* Xen's domain list is dom0's alone (getdomaininfo). */
	if (c->domid != 0)
		return -EPERM;
	rsp->a[0] = req->a[0] == 0 || dom_live(req->a[0]);
	return 0;
}

/* host/dom<N>.sock, by op. */
static const op_fn host_ops[] = {
	[SIMD_HELLO] = op_hello,
	[SIMD_GNT_ALLOC] = op_gnt_alloc,
	[SIMD_GNT_ALLOC_NOTIFY] = op_gnt_alloc_notify,
	[SIMD_GNT_FREE] = op_gnt_free,
	[SIMD_GNT_MAP] = op_gnt_map,
	[SIMD_GNT_MAP_NOTIFY] = op_gnt_map_notify,
	[SIMD_GNT_UNMAP] = op_gnt_unmap,
	[SIMD_EVT_OPEN] = op_evt_open,
	[SIMD_EVT_ALLOC_UNBOUND] = op_evt_alloc_unbound,
	[SIMD_EVT_BIND] = op_evt_bind,
	[SIMD_EVT_NOTIFY] = op_evt_notify,
	[SIMD_EVT_UNBIND] = op_evt_unbind,
	[SIMD_EVT_STATUS] = op_evt_status,
	[SIMD_EVT_BELL] = op_evt_bell,
	[SIMD_DOMAIN_ALIVE] = op_domain_alive,
	[SIMD_GNT_PEEK] = op_gnt_peek,
};

static int op_domain_create(struct conn *c, struct out *o)
{
	(void)o;
	return do_domain_create(c);
}

static int op_domain_pgid(struct conn *c, struct out *o)
{
	struct domain *d = c->life_of != ~0u ? dom_find(c->life_of) : NULL;

	(void)o;
	if (!d)
		return -ENOENT;
	d->pgid = (pid_t)req->a[0];
	return 0;
}

static int op_ls(struct conn *c, struct out *o)
{
	(void)c;
	(void)o;
	return do_ls();
}

static int op_stats(struct conn *c, struct out *o)
{
	(void)c;
	(void)o;
	return do_stats(req->a[0] != 0);
}

static int op_stop(struct conn *c, struct out *o)
{
	(void)c;
	(void)o;
	stopping = true;
	return 0;
}

/* The live domain a0 names; dom0 can be neither destroyed nor killed. */
static int domain_arg(struct domain **d)
{
	*d = req->a[0] ? dom_live(req->a[0]) : NULL;
	return *d ? 0 : req->a[0] ? -ESRCH : -EPERM;
}

static int op_domain_destroy(struct conn *c, struct out *o)
{
	struct domain *d;
	int err = domain_arg(&d);

	(void)c;
	(void)o;
	if (!err)
		domain_destroy(d);
	return err;
}

static int op_domain_kill(struct conn *c, struct out *o)
{
	struct domain *d;
	int err = domain_arg(&d);

	(void)c;
	(void)o;
	if (err)
		return err;
	if (req->a[1] < 1 || req->a[1] > 64)
		return -EINVAL;
	if (d->pgid <= 1)
		return -EAGAIN; /* `ivc-sim run` has not told us yet */
	return kill(-d->pgid, (int)req->a[1]) ? -errno : 0;
}

/* A rule (sim/fault.h) goes to the daemon that sees its calls. */
static int op_fault(struct conn *c, struct out *o)
{
	char text[128], why[128] = "";
	size_t len = req->n * 4u < sizeof text ? req->n * 4u : sizeof text - 1;
	int err;

	(void)c;
	(void)o;
	memcpy(text, req->data, len);
	text[len] = 0;
	if (fault_kinds(text) & FC_XS_ALL) {
		char *r = xs_control_command(xs, "fault", text, (unsigned)strlen(text) + 1);

		if (!r)
			return -errno;
		err = strcmp(r, "OK") ? -EINVAL : 0;
		snprintf(why, sizeof why, "%s", r);
		free(r);
	} else {
		err = fault_add(text, why, sizeof why);
		fault_rules |= !err;
		slow_events_set();
	}
	if (err)
		dump_text(why);
	else
		logmsg("fault: %s", text);
	return err;
}

static int op_fault_clear(struct conn *c, struct out *o)
{
	char *r = xs_control_command(xs, "fault-clear", NULL, 0);

	(void)c;
	(void)o;
	fault_clear();
	fault_rules = false;
	slow_events_set();
	dump_text("");
	free(r);
	return r ? 0 : -errno;
}

static int op_fault_ls(struct conn *c, struct out *o)
{
	static char list[2 * FAULT_MAX_RULES * 160];
	char *r = xs_control_command(xs, "fault-ls", NULL, 0);

	(void)c;
	(void)o;
	fault_list(list, sizeof list);
	if (r)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s", r);
	free(r);
	dump_text(list);
	return 0;
}

/* admin.sock, by op - SIMD_DOMAIN_CREATE. */
static const op_fn admin_ops[] = {
	[SIMD_DOMAIN_CREATE - SIMD_DOMAIN_CREATE] = op_domain_create,
	[SIMD_DOMAIN_PGID - SIMD_DOMAIN_CREATE] = op_domain_pgid,
	[SIMD_LS - SIMD_DOMAIN_CREATE] = op_ls,
	[SIMD_STATS - SIMD_DOMAIN_CREATE] = op_stats,
	[SIMD_STOP - SIMD_DOMAIN_CREATE] = op_stop,
	[SIMD_DOMAIN_DESTROY - SIMD_DOMAIN_CREATE] = op_domain_destroy,
	[SIMD_DOMAIN_KILL - SIMD_DOMAIN_CREATE] = op_domain_kill,
	[SIMD_FAULT - SIMD_DOMAIN_CREATE] = op_fault,
	[SIMD_FAULT_CLEAR - SIMD_DOMAIN_CREATE] = op_fault_clear,
	[SIMD_FAULT_LS - SIMD_DOMAIN_CREATE] = op_fault_ls,
};

static op_fn op_for(const struct conn *c, uint32_t op)
{
	if (c->kind == C_HOST)
		return op < sizeof host_ops / sizeof host_ops[0] ? host_ops[op] : NULL;
	op -= SIMD_DOMAIN_CREATE; /* wraps below it: out of range */
	return op < sizeof admin_ops / sizeof admin_ops[0] ? admin_ops[op] : NULL;
}

/* The fault rules' kind of each host request (besides FC_HOST). */
static const unsigned host_fault_kind[] = {
	[SIMD_GNT_ALLOC] = FC_GRANT_SHARE,
	[SIMD_GNT_MAP] = FC_GRANT_MAP,
	[SIMD_EVT_ALLOC_UNBOUND] = FC_EVTCHN_ALLOC,
	[SIMD_EVT_BIND] = FC_EVTCHN_BIND,
};

/* Applies the fault rules to the request in req: 0, an errno to answer
 * instead, or FAULT_KILL (the caller was killed and its connection
 * closed, as its death would: unmap-notify runs). */
static int host_fault(struct conn *c)
{
	unsigned kind = FC_HOST;
	int act;

	if (req->op < sizeof host_fault_kind / sizeof host_fault_kind[0])
		kind |= host_fault_kind[req->op];
	act = c->pid > 0 ? fault_check(c->domid, c->pid, kind, req->op != SIMD_EVT_SEND) : 0;
	if (act == FAULT_KILL) {
		logmsg("fault: dom%u pid %d killed at op %u", c->domid, (int)c->pid, req->op);
		kill(c->pid, SIGKILL);
		conn_close(c);
	}
	return act;
}

static void handle(struct conn *c)
{
	struct out o = { .nfds = 0, .keep = -1 };
	int err, fault;
	ssize_t r = recv(c->fd, req, SIMD_MSG_MAX, MSG_DONTWAIT);
	op_fn fn;

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		conn_close(c);
		return;
	}
	if ((size_t)r < sizeof *req || req->n > SIMD_MAX_DATA ||
	    (size_t)r < sizeof *req + 4u * req->n) {
		conn_close(c); /* malformed: drop, as xenstored does */
		return;
	}
	fault = c->kind == C_HOST ? host_fault(c) : 0;
	if (fault == FAULT_KILL)
		return; /* conn_close'd: the process is dead */
	if (c->kind == C_HOST && req->op == SIMD_EVT_SEND) {
		if (dom_live(c->domid) || c->domid == 0)
			op_evt_notify(c, &o);
		return; /* one way */
	}
	memset(rsp, 0, sizeof *rsp);
	rsp->op = req->op;
	fn = op_for(c, req->op);
	if (fault)
		err = -fault;
	else if (c->kind == C_HOST && !dom_live(c->domid) && c->domid != 0)
		err = -ESRCH;
	else
		err = fn ? fn(c, &o) : -ENOSYS;
	rsp->err = err;
	if (o.keep >= 0) {
		o.fds[0] = o.keep;
		o.nfds = 1;
	}
	if (send_reply(c, o.fds, err ? 0 : o.nfds) < 0) {
		logmsg("dom%u: reply failed, dropping connection", c->domid);
		conn_close(c);
	}
	/* Our copies of fds handed out are not needed (except the memfd). */
	for (unsigned i = 0; i < o.nfds; i++)
		if (o.fds[i] != o.keep)
			close(o.fds[i]);
}

static void handle_evt(struct conn *e)
{
	uint32_t port;
	ssize_t r = recv(e->fd, &port, sizeof port, MSG_DONTWAIT);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r != sizeof port) {
		conn_close(e);
		return;
	}
	struct port *p = port_get(e->domid, port);
	if (p && p->state != P_FREE && p->owner == e) {
		p->masked = false;
		if (p->pending)
			port_deliver(port, p);
	}
}

static void accept_on(struct conn *l)
{
	int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	struct conn *c = conn_add(fd, l->kind == C_LISTEN_ADMIN ? C_ADMIN : C_HOST, l->domid);
	struct ucred cr;
	socklen_t len = sizeof cr;

	if (!c)
		close(fd);
	else if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		c->pid = cr.pid;
}

/* ---- start and stop ----------------------------------------------------- */

static const char *find_xenstored(void)
{
	static char buf[4096];
	const char *env = getenv("IVC_XENSTORED");
	char *slash;
	ssize_t n;

	if (env)
		return env;
	n = readlink("/proc/self/exe", buf, sizeof buf - 32);
	buf[n > 0 ? n : 0] = 0;
	slash = strrchr(buf, '/');
	if (slash) {
		strcpy(slash + 1, "ivc-xenstored");
		if (access(buf, X_OK) == 0)
			return buf;
		strcpy(slash + 1, "xenstored/ivc-xenstored"); /* build tree */
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return "ivc-xenstored";
}

static void start_xenstored(void)
{
	int pfd[2];
	char rfd[16], c;
	const char *bin = find_xenstored();

	if (pipe2(pfd, O_CLOEXEC))
		die("pipe");
	xenstored_pid = fork();
	if (xenstored_pid < 0)
		die("fork");
	if (xenstored_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		fcntl(pfd[1], F_SETFD, 0);
		snprintf(rfd, sizeof rfd, "%d", pfd[1]);
		execlp(bin, "ivc-xenstored", "--dir", dir, "--ready-fd", rfd, (char *)NULL);
		fprintf(stderr, "ivc-simd: cannot run %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		errno = ECHILD;
		die("ivc-xenstored did not start");
	}
	close(pfd[0]);
	char path[256];
	snprintf(path, sizeof path, "%s/xs/dom0.sock", dir);
	setenv("XENSTORED_PATH", path, 1);
	xs = xs_open(0);
	if (!xs)
		die("xs_open");
	/* What xen-init-dom0 writes on a real host. */
	if (!xs_write(xs, XBT_NULL, "/local/domain/0/name", "Domain-0", 8) ||
	    !xs_write(xs, XBT_NULL, "/local/domain/0/domid", "0", 1))
		die("xenstore: dom0 entries");
}

static void shutdown_all(void)
{
	for (struct domain *d = domains, *nx; d; d = nx) {
		nx = d->next;
		if (d->domid != 0)
			domain_destroy(d);
	}
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i])
			conn_close(conns[i]);
	while (domains) { /* dom0: its listener went with the connections */
		struct domain *d = domains;
		domains = d->next;
		munmap(d->gen, MAX_PORTS * sizeof *d->gen);
		close(d->genfd);
		free(d->grefs);
		free(d->ports);
		free(d);
	}
	while (mappings)
		mapping_release(mappings, false);
	while (allocs)
		alloc_free(allocs);
	if (xs)
		xs_close(xs);
	if (xenstored_pid > 0) {
		int st;
		kill(xenstored_pid, SIGTERM);
		waitpid(xenstored_pid, &st, 0);
	}
	char path[256];
	snprintf(path, sizeof path, "%s/admin.sock", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/host/dom0.sock", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/simd.pid", dir);
	unlink(path);
	logmsg("stopped");
}

static volatile sig_atomic_t got_term;

/* --owner: the host lives only as long as that process. A test that
 * starts a host and then dies in any way (SIGKILL, a timeout) must not
 * leave the host and its domains running. A pidfd (Linux 5.3) polls
 * readable when the process exits; without one, look every second. */
static pid_t owner;
static int owner_fd = -1;

static void owner_open(void)
{
	if (owner <= 0)
		return;
	owner_fd = (int)syscall(SYS_pidfd_open, owner, 0);
	if (owner_fd < 0 && errno == ESRCH)
		die("owner process not found");
}

static bool owner_gone(void)
{
	struct pollfd p = { .fd = owner_fd, .events = POLLIN };

	if (owner <= 0)
		return false;
	if (owner_fd >= 0)
		return poll(&p, 1, 0) == 1;
	return kill(owner, 0) && errno == ESRCH;
}

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

int main(int argc, char **argv)
{
	int ready_fd = -1;
	static const struct option opts[] = { { "dir", required_argument, 0, 'd' },
					      { "ready-fd", required_argument, 0, 'r' },
					      { "owner", required_argument, 0, 'o' },
					      { 0, 0, 0, 0 } };
	int o;
	char path[512];

	while ((o = getopt_long(argc, argv, "d:r:o:", opts, NULL)) != -1) {
		if (o == 'd')
			dir = optarg;
		else if (o == 'r')
			ready_fd = atoi(optarg);
		else if (o == 'o')
			owner = (pid_t)atoi(optarg);
		else
			return 2;
	}
	if (!dir)
		dir = getenv("IVC_SIM_DIR") ? getenv("IVC_SIM_DIR") : SIMD_DEFAULT_DIR;
	slow_env = getenv("IVC_SIM_SLOW_EVENTS") && !strcmp(getenv("IVC_SIM_SLOW_EVENTS"), "1");
	req = malloc(SIMD_MSG_MAX);
	rsp = malloc(SIMD_MSG_MAX);
	if (!req || !rsp)
		die("malloc");
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/host", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/simd.log", dir);
	logfp = fopen(path, "a");
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	owner_open();
	start_xenstored();
	struct domain *d0 = dom_new(0, "Domain-0");
	if (!d0)
		die("dom0");
	snprintf(path, sizeof path, "%s/admin.sock", dir);
	int afd = listen_at(path);
	if (afd < 0 || !conn_add(afd, C_LISTEN_ADMIN, 0)) {
		errno = afd < 0 ? -afd : EMFILE;
		die("admin socket");
	}
	snprintf(path, sizeof path, "%s/simd.pid", dir);
	FILE *pf = fopen(path, "w");
	if (pf) {
		fprintf(pf, "%d\n", (int)getpid());
		fclose(pf);
	}
	logmsg("started in %s", dir);
	if (ready_fd >= 0) {
		if (write(ready_fd, "r", 1) != 1)
			logmsg("ready-fd: %s", strerror(errno));
		close(ready_fd);
	}

	while (!stopping && !got_term) {
		struct pollfd pfds[MAX_CONNS + 1];
		struct conn *who[MAX_CONNS];
		int n = 0;

		if (owner_gone()) {
			logmsg("owner %d exited; stopping", (int)owner);
			break;
		}

		for (int i = 0; i < MAX_CONNS; i++)
			if (conns[i]) {
				pfds[n] = (struct pollfd){ .fd = conns[i]->fd, .events = POLLIN };
				if (conns[i]->nback)
					pfds[n].events |= POLLOUT;
				who[n++] = conns[i];
			}
		/* The owner's pidfd last: it wakes the loop, owner_gone() acts. */
		if (owner_fd >= 0)
			pfds[n] = (struct pollfd){ .fd = owner_fd, .events = POLLIN };
		if (poll(pfds, (nfds_t)n + (owner_fd >= 0), 1000) < 0 && errno != EINTR)
			die("poll");
		for (int i = 0; i < n; i++) {
			struct conn *c = who[i];
			bool live = false;
			/* An earlier handler in this round may have closed it. */
			for (int k = 0; k < MAX_CONNS && !live; k++)
				live = conns[k] == c;
			if (live && c->nback && (pfds[i].revents & POLLOUT))
				evt_flush(c);
			if (!live || !(pfds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (c->kind == C_LISTEN_ADMIN || c->kind == C_LISTEN_HOST)
				accept_on(c);
			else if (c->kind == C_EVT)
				handle_evt(c);
			else
				handle(c);
		}
		if (xenstored_pid > 0 && waitpid(xenstored_pid, NULL, WNOHANG) == xenstored_pid) {
			logmsg("ivc-xenstored exited; stopping");
			xenstored_pid = 0;
			break;
		}
	}
	shutdown_all();
	free(req);
	free(rsp);
	if (logfp)
		fclose(logfp);
	return 0;
}
