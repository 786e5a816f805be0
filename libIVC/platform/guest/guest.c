/* SPDX-License-Identifier: MIT */
/*
 * guest.c - the guest platform: libIVC inside a PVH unikernel (guest/),
 * on the runtime's grant table, event channels and XenStore client. One
 * thread, no descriptors: waiting is SCHEDOP_poll on the handle's ports
 * and XenStore's. What Linux does for a dying process (unmap-notify,
 * ending grants), exit() does here through runtime_exit_hook.
 */
#include <errno.h>
#include <stdint.h> /* before Xen's headers, which use it */
#include <stdlib.h>
#include <string.h>
#include <xen/io/xs_wire.h>

#include "guest.h"
#include "platform.h"
#include "runtime.h"
#include "xs_frame.h"

#define PAGE 4096u
#define MAX_POLL 128 /* SCHEDOP_poll's limit */
#define NO_REF UINT32_MAX

struct notify {
	uint32_t offset, port;
	unsigned flags; /* 0: none armed */
};

struct ivc_plat_share {
	struct ivc_plat_share *next; /* live, or deferred */
	uint8_t *addr;
	uint32_t npages, remote;
	bool readonly;
	struct notify nt;
	uint32_t refs[]; /* NO_REF once ended */
};

struct ivc_plat_map {
	struct ivc_plat_map *next;
	uint8_t *addr;
	uint64_t pfn;
	uint32_t npages;
	struct notify nt;
	uint32_t handles[];
};

struct port {
	uint32_t port;
	bool masked; /* handed out by pending(), not yet unmasked */
};

struct ivc_plat {
	struct ivc_plat *next;
	uint32_t domid;
	bool woken;
	struct port *ports;
	unsigned nports, cap, turn;
	struct ivc_plat_share *shares;
	struct ivc_plat_map *maps;
};

struct ivc_plat_store {
	char prefix[16]; /* before every token this store watches with */
};

static struct ivc_plat *handles; /* for exit() */
/* Shares whose peer still maps a page: ended once it unmaps (any
 * handle's wait() looks, since a closed handle's may remain). */
static struct ivc_plat_share *deferred;
static unsigned store_ids;

/* ---- the handle ------------------------------------------------------ */

/* Does for one handle what a dying Linux process's kernel does. */
static void fire(struct notify *nt, uint8_t *addr)
{
	if (nt->flags & IVC_PLAT_NOTIFY_CLEAR_BYTE)
		__atomic_store_n(addr + nt->offset, 0, __ATOMIC_RELEASE);
	if (nt->flags & IVC_PLAT_NOTIFY_SEND_EVENT)
		(void)evt_send(nt->port);
	nt->flags = 0;
}

static void at_exit(void)
{
	for (struct ivc_plat *p = handles; p; p = p->next) {
		for (struct ivc_plat_share *s = p->shares; s; s = s->next)
			fire(&s->nt, s->addr);
		for (struct ivc_plat_map *m = p->maps; m; m = m->next)
			fire(&m->nt, m->addr);
	}
}

static int g_open(struct ivc_plat **out)
{
	struct ivc_plat *p = calloc(1, sizeof *p);
	char v[16];
	int err;

	if (!p)
		return -ENOMEM;
	if ((err = xs_read("domid", v, sizeof v)) ||
	    (err = xs_frame_u32(v, 0x7fef, &p->domid) ? -EPROTO : 0)) {
		free(p);
		return err;
	}
	p->next = handles;
	handles = p;
	runtime_exit_hook = at_exit;
	*out = p;
	return 0;
}

static void g_unshare_defer(struct ivc_plat *p, struct ivc_plat_share *s);
static int g_unmap(struct ivc_plat *p, struct ivc_plat_map *m);
static int g_evtchn_unbind(struct ivc_plat *p, uint32_t port);

static void g_close(struct ivc_plat *p)
{
	if (!p)
		return;
	while (p->maps)
		(void)g_unmap(p, p->maps);
	while (p->shares) {
		struct ivc_plat_share *s = p->shares;
		g_unshare_defer(p, s); /* moves it to deferred */
	}
	while (p->nports)
		(void)g_evtchn_unbind(p, p->ports[0].port);
	/* What a peer still maps stays granted: Xen's table outlives us. */
	for (struct ivc_plat **h = &handles; *h; h = &(*h)->next)
		if (*h == p) {
			*h = p->next;
			break;
		}
	free(p->ports);
	free(p);
}

static uint32_t g_domid(struct ivc_plat *p)
{
	return p->domid;
}

/* ---- grants ---------------------------------------------------------- */

static uint64_t pfn_of(const void *addr)
{
	return (uint64_t)(uintptr_t)addr / PAGE; /* boot.S maps one to one */
}

/* Ends every page's access: 0, or -EBUSY. give_back: all or nothing
 * (what was ended is granted again); else every page that can end does,
 * the rest stay (NO_REF marks the ended). */
static int end_all(struct ivc_plat_share *s, bool give_back)
{
	int busy = 0;

	for (uint32_t i = 0; i < s->npages; i++) {
		if (s->refs[i] == NO_REF || !gnt_end(s->refs[i])) {
			if (!give_back)
				s->refs[i] = NO_REF;
			continue;
		}
		if (!give_back) {
			busy = -EBUSY; /* the next ones may still end */
			continue;
		}
		for (uint32_t k = 0; k < i; k++)
			gnt_regrant(s->refs[k], s->readonly);
		return -EBUSY;
	}
	return busy;
}

static void share_free(struct ivc_plat_share *s)
{
	free(s->addr);
	free(s);
}

static int g_share(struct ivc_plat *p, uint32_t remote, uint32_t npages, bool readonly, void **addr,
		   uint32_t *grefs, struct ivc_plat_share **out)
{
	struct ivc_plat_share *s;
	int err = 0;

	if (!npages || npages > (1u << 20) / sizeof(uint32_t))
		return -EINVAL;
	if (!(s = calloc(1, sizeof *s + npages * sizeof(uint32_t))))
		return -ENOMEM;
	if (!(s->addr = aligned_alloc(PAGE, (size_t)npages * PAGE))) {
		free(s);
		return -ENOMEM;
	}
	memset(s->addr, 0, (size_t)npages * PAGE);
	s->npages = npages;
	s->remote = remote;
	s->readonly = readonly;
	for (uint32_t i = 0; i < npages; i++)
		s->refs[i] = NO_REF;
	for (uint32_t i = 0; i < npages && !err; i++)
		err = gnt_grant(remote, pfn_of(s->addr) + i, readonly, &s->refs[i]);
	if (err) {
		/* Nobody was told the refs, but a peer may guess and map them:
		 * what it maps stays ours until it lets go. */
		if (end_all(s, false)) {
			s->next = deferred;
			deferred = s;
		} else
			share_free(s);
		return err;
	}
	memcpy(grefs, s->refs, npages * sizeof(uint32_t));
	s->next = p->shares;
	p->shares = s;
	*addr = s->addr;
	*out = s;
	return 0;
}

static int arm(struct notify *nt, uint32_t npages, uint32_t offset, unsigned flags, uint32_t port)
{
	if (flags & ~(IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT))
		return -EINVAL;
	if ((flags & IVC_PLAT_NOTIFY_CLEAR_BYTE) && offset >= npages * PAGE)
		return -EINVAL;
	*nt = (struct notify){ offset, port, flags };
	return 0;
}

static int g_share_notify(struct ivc_plat *p, struct ivc_plat_share *s, uint32_t offset,
			  unsigned flags, uint32_t port)
{
	(void)p;
	return arm(&s->nt, s->npages, offset, flags, port);
}

static void unlink_share(struct ivc_plat_share **list, struct ivc_plat_share *s)
{
	for (; *list; list = &(*list)->next)
		if (*list == s) {
			*list = s->next;
			return;
		}
}

static int g_unshare(struct ivc_plat *p, struct ivc_plat_share *s)
{
	if (end_all(s, true))
		return -EBUSY; /* still valid, nothing said to the peer */
	fire(&s->nt, s->addr); /* as munmap of a gntalloc mapping */
	unlink_share(&p->shares, s);
	share_free(s);
	return 0;
}

static void g_unshare_defer(struct ivc_plat *p, struct ivc_plat_share *s)
{
	fire(&s->nt, s->addr);
	unlink_share(&p->shares, s);
	if (!end_all(s, false)) {
		share_free(s);
		return;
	}
	s->next = deferred;
	deferred = s;
}

/* Ends what waited for its peer to unmap (each wait() looks). */
static void tick_deferred(void)
{
	for (struct ivc_plat_share **d = &deferred; *d;) {
		struct ivc_plat_share *s = *d;
		if (end_all(s, false)) {
			d = &s->next;
			continue;
		}
		*d = s->next;
		share_free(s);
	}
}

static int unmap_pages(struct ivc_plat_map *m, uint32_t n)
{
	int err = 0, r;

	for (uint32_t i = 0; i < n; i++)
		if ((r = gnt_unmap(m->pfn + i, m->handles[i])) && !err)
			err = r;
	return err;
}

static int g_map(struct ivc_plat *p, uint32_t domid, const uint32_t *grefs, uint32_t npages,
		 bool readonly, void **addr, struct ivc_plat_map **out)
{
	struct ivc_plat_map *m;
	uint32_t i;
	int err = 0;

	if (!npages || npages > 4096)
		return -EINVAL;
	if (!(m = calloc(1, sizeof *m + npages * sizeof(uint32_t))))
		return -ENOMEM;
	if (!(m->pfn = mem_hole_alloc(npages))) {
		free(m);
		return -ENOMEM;
	}
	for (i = 0; i < npages && !err; i++)
		if ((err = gnt_map(domid, grefs[i], m->pfn + i, readonly, &m->handles[i])))
			break;
	if (err) {
		/* The hole's pages are reused only if Xen unmapped them all. */
		if (!unmap_pages(m, i))
			mem_hole_free(m->pfn, npages);
		free(m);
		return err;
	}
	m->npages = npages;
	m->addr = (uint8_t *)(uintptr_t)(m->pfn * PAGE);
	m->next = p->maps;
	p->maps = m;
	*addr = m->addr;
	*out = m;
	return 0;
}

static int g_map_notify(struct ivc_plat *p, struct ivc_plat_map *m, uint32_t offset, unsigned flags,
			uint32_t port)
{
	(void)p;
	return arm(&m->nt, m->npages, offset, flags, port);
}

static int g_unmap(struct ivc_plat *p, struct ivc_plat_map *m)
{
	struct notify nt = m->nt;
	int err;

	/* gntdev's order: the byte while mapped, then unmap, then the event */
	nt.flags &= IVC_PLAT_NOTIFY_CLEAR_BYTE;
	fire(&nt, m->addr);
	err = unmap_pages(m, m->npages);
	m->nt.flags &= IVC_PLAT_NOTIFY_SEND_EVENT;
	fire(&m->nt, m->addr);
	for (struct ivc_plat_map **l = &p->maps; *l; l = &(*l)->next)
		if (*l == m) {
			*l = m->next;
			break;
		}
	if (!err)
		mem_hole_free(m->pfn, m->npages); /* else never reused: Xen may still map it */
	free(m);
	return err;
}

static int g_peek(struct ivc_plat *p, uint32_t domid, uint32_t gref, const void **addr,
		  struct ivc_plat_peek **out)
{
	(void)p, (void)domid, (void)gref, (void)addr, (void)out;
	return -ENOSYS; /* monitoring is dom0's */
}

static void g_unpeek(struct ivc_plat *p, struct ivc_plat_peek *pk)
{
	(void)p, (void)pk;
}

/* ---- event channels -------------------------------------------------- */

static int g_evtchn_fd(struct ivc_plat *p)
{
	(void)p;
	return -ENOSYS;
}

static int own(struct ivc_plat *p, uint32_t port)
{
	if (p->nports == p->cap) {
		unsigned cap = p->cap ? p->cap * 2 : 8;
		struct port *n = realloc(p->ports, cap * sizeof *n);
		if (!n)
			return -ENOMEM;
		p->ports = n;
		p->cap = cap;
	}
	p->ports[p->nports++] = (struct port){ port, false };
	return 0;
}

static struct port *find(struct ivc_plat *p, uint32_t port)
{
	for (unsigned i = 0; i < p->nports; i++)
		if (p->ports[i].port == port)
			return &p->ports[i];
	return NULL;
}

static int g_evtchn_alloc_unbound(struct ivc_plat *p, uint32_t remote, uint32_t *port)
{
	int err = evt_alloc_unbound(remote, port);

	if (!err && (err = own(p, *port)))
		(void)evt_close(*port);
	return err;
}

static int g_evtchn_bind(struct ivc_plat *p, uint32_t remote, uint32_t remote_port, uint32_t *port)
{
	int err = evt_bind(remote, remote_port, port);

	if (!err && (err = own(p, *port)))
		(void)evt_close(*port);
	return err;
}

static int g_evtchn_notify(struct ivc_plat *p, uint32_t port)
{
	(void)p;
	return evt_send(port);
}

static int g_evtchn_unbind(struct ivc_plat *p, uint32_t port)
{
	struct port *e = find(p, port);

	if (!e)
		return -EINVAL;
	*e = p->ports[--p->nports];
	return evt_close(port);
}

static int g_evtchn_pending(struct ivc_plat *p, uint32_t *port)
{
	for (unsigned k = 0; k < p->nports; k++) {
		struct port *e = &p->ports[(p->turn + k) % p->nports];
		if (e->masked || !evt_test_and_clear(e->port))
			continue;
		e->masked = true;
		p->turn = (p->turn + k + 1) % p->nports; /* the next starts after it */
		*port = e->port;
		return 0;
	}
	return -EAGAIN;
}

static int g_evtchn_unmask(struct ivc_plat *p, uint32_t port)
{
	struct port *e = find(p, port);

	if (!e)
		return -EINVAL;
	e->masked = false;
	return 0;
}

static int g_evtchn_status(struct ivc_plat *p, uint32_t port, uint32_t *state, uint32_t *remote,
			   uint32_t *remote_port)
{
	(void)p;
	return evt_status(port, state, remote, remote_port);
}

static int g_domain_alive(struct ivc_plat *p, uint32_t domid)
{
	(void)p, (void)domid;
	return -ENOSYS; /* a domU may not ask */
}

/* ---- XenStore -------------------------------------------------------- */

static int g_store_open(struct ivc_plat *p, struct ivc_plat_store **out)
{
	struct ivc_plat_store *s = calloc(1, sizeof *s);

	(void)p;
	if (!s)
		return -ENOMEM;
	snprintf(s->prefix, sizeof s->prefix, "g%u/", ++store_ids);
	*out = s;
	return 0;
}

static void g_store_close(struct ivc_plat_store *s)
{
	if (!s)
		return;
	xs_unwatch_all(s->prefix);
	free(s);
}

static int g_store_read(struct ivc_plat_store *s, uint32_t txn, const char *path, char **val)
{
	uint32_t len;
	int err;

	(void)s;
	if ((err = xs_call_str(XS_READ, txn, path, NULL, false, val, &len)))
		return err;
	if (memchr(*val, 0, len)) { /* a NUL would hide the tail from parsers */
		free(*val);
		*val = NULL;
		return -EPROTO;
	}
	return 0;
}

static int g_store_write(struct ivc_plat_store *s, uint32_t txn, const char *path, const char *val)
{
	(void)s;
	return xs_call_str(XS_WRITE, txn, path, val, false, NULL, NULL);
}

static int g_store_mkdir(struct ivc_plat_store *s, uint32_t txn, const char *path)
{
	(void)s;
	return xs_call_str(XS_MKDIR, txn, path, NULL, false, NULL, NULL);
}

static int g_store_rm(struct ivc_plat_store *s, uint32_t txn, const char *path)
{
	(void)s;
	return xs_call_str(XS_RM, txn, path, NULL, false, NULL, NULL);
}

static int g_store_dir(struct ivc_plat_store *s, uint32_t txn, const char *path, char ***ents,
		       unsigned *n)
{
	char *r, **out;
	uint32_t len;
	int err, cnt;

	(void)s;
	if ((err = xs_call_str(XS_DIRECTORY, txn, path, NULL, false, &r, &len)))
		return err;
	if ((cnt = xs_frame_dir(r, len, NULL, 0)) < 0) {
		free(r);
		return -EPROTO;
	}
	/* one allocation: the pointers, then the names */
	if (!(out = malloc((size_t)cnt * sizeof *out + len + 1))) {
		free(r);
		return -ENOMEM;
	}
	memcpy(out + cnt, r, len + 1);
	(void)xs_frame_dir((char *)(out + cnt), len, (const char **)out, (unsigned)cnt);
	free(r);
	*ents = out;
	*n = (unsigned)cnt;
	return 0;
}

static int g_store_get_perms(struct ivc_plat_store *s, uint32_t txn, const char *path,
			     struct ivc_plat_perm **perms, unsigned *n)
{
	uint32_t(*pv)[2], len;
	char *r;
	int err, cnt;

	(void)s;
	if ((err = xs_call_str(XS_GET_PERMS, txn, path, NULL, false, &r, &len)))
		return err;
	if ((cnt = xs_frame_perms(r, len, NULL, 0)) < 0) {
		free(r);
		return -EPROTO;
	}
	pv = malloc((size_t)cnt * sizeof *pv);
	*perms = malloc((size_t)cnt * sizeof **perms);
	if (!pv || !*perms) {
		free(pv);
		free(*perms);
		free(r);
		return -ENOMEM;
	}
	(void)xs_frame_perms(r, len, pv, (unsigned)cnt);
	for (int i = 0; i < cnt; i++)
		(*perms)[i] = (struct ivc_plat_perm){ pv[i][0], pv[i][1] };
	free(pv);
	free(r);
	*n = (unsigned)cnt;
	return 0;
}

static int g_store_set_perms(struct ivc_plat_store *s, uint32_t txn, const char *path,
			     const struct ivc_plat_perm *perms, unsigned n)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t at = strlen(path) + 1;

	(void)s;
	if (!n || n > 8 || at > sizeof buf)
		return -EINVAL;
	memcpy(buf, path, at);
	for (unsigned i = 0; i < n; i++) {
		if (perms[i].perm > 3 || sizeof buf - at < 16)
			return -EINVAL;
		at += (size_t)snprintf(buf + at, sizeof buf - at, "%c%u", "nrwb"[perms[i].perm],
				       perms[i].domid) +
		      1;
	}
	return xs_call(XS_SET_PERMS, txn, buf, (uint32_t)at, NULL, NULL);
}

static int g_store_txn_start(struct ivc_plat_store *s, uint32_t *txn)
{
	char *r;
	int err;

	(void)s;
	if ((err = xs_call(XS_TRANSACTION_START, 0, "", 1, &r, NULL)))
		return err;
	err = xs_frame_u32(r, UINT32_MAX, txn) || !*txn ? -EPROTO : 0;
	free(r);
	return err;
}

static int g_store_txn_end(struct ivc_plat_store *s, uint32_t txn, bool abort)
{
	(void)s;
	return xs_call(XS_TRANSACTION_END, txn, abort ? "F" : "T", 2, NULL, NULL);
}

static int tokened(const struct ivc_plat_store *s, const char *token, char *buf, size_t cap)
{
	return (size_t)snprintf(buf, cap, "%s%s", s->prefix, token) < cap ? 0 : -E2BIG;
}

static int g_store_watch(struct ivc_plat_store *s, const char *path, const char *token)
{
	char t[128];
	int err = tokened(s, token, t, sizeof t);

	return err ? err : xs_watch(path, t);
}

static int g_store_unwatch(struct ivc_plat_store *s, const char *path, const char *token)
{
	char t[128];
	int err = tokened(s, token, t, sizeof t);

	return err ? err : xs_unwatch(path, t);
}

static int g_store_event(struct ivc_plat_store *s, char *token, size_t tsize, char *path,
			 size_t psize)
{
	int err = xs_pump();

	if (err)
		return err;
	return xs_event_take(s->prefix, token, tsize, path, psize);
}

/* ---- waiting --------------------------------------------------------- */

/* 1 if something is there, 0 if not, or the store's error (a ring that
 * made no sense: for good). */
static int ready(struct ivc_plat *p, struct ivc_plat_store *s)
{
	int err;

	if (p->woken) {
		p->woken = false;
		return 1;
	}
	if (s && (err = xs_pump()) < 0)
		return err;
	if (s && xs_event_ready(s->prefix))
		return 1;
	for (unsigned i = 0; i < p->nports; i++)
		if (!p->ports[i].masked && evt_is_pending(p->ports[i].port))
			return 1;
	return 0;
}

static int g_wait(struct ivc_plat *p, struct ivc_plat_store *s, int ms)
{
	uint64_t deadline = ms > 0 ? guest_now_ns() + (uint64_t)ms * 1000000u : 0;
	uint32_t ports[MAX_POLL];
	int r;

	for (;;) {
		unsigned n = 0;
		uint64_t until = deadline;

		tick_deferred();
		if ((r = ready(p, s)))
			return r;
		if (ms == 0 || (ms > 0 && guest_now_ns() >= deadline))
			return 0;
		if (s) {
			ports[n++] = xs_evtchn();
			/* cleared, then looked at: what comes later wakes us */
			(void)evt_test_and_clear(xs_evtchn());
			if ((r = ready(p, s)))
				return r;
		}
		for (unsigned i = 0; i < p->nports && n < MAX_POLL; i++)
			if (!p->ports[i].masked)
				ports[n++] = p->ports[i].port;
		if (n == MAX_POLL) { /* more than Xen polls: look again soon */
			uint64_t soon = guest_now_ns() + 10000000u;
			until = until && until < soon ? until : soon;
		}
		if (deferred) { /* a peer's unmap raises no event here */
			uint64_t soon = guest_now_ns() + 100000000u;
			until = until && until < soon ? until : soon;
		}
		(void)evt_poll(ports, n, until);
	}
}

static void g_wake(struct ivc_plat *p)
{
	p->woken = true;
}

static int g_cond_wait(struct ivc_plat *p, int ms)
{
	(void)p, (void)ms;
	return 0; /* one thread: never another to wait for */
}

static void g_nop(struct ivc_plat *p)
{
	(void)p;
}

static int g_note_new(struct ivc_plat *p, struct ivc_plat_note **out)
{
	(void)p, (void)out;
	return -ENOSYS;
}

static void g_note_nop(struct ivc_plat_note *n)
{
	(void)n;
}

static int g_note_fd(const struct ivc_plat_note *n)
{
	(void)n;
	return -ENOSYS;
}

static int g_waitset_new(struct ivc_plat *p, struct ivc_plat_store *s, struct ivc_plat_note *n,
			 struct ivc_plat_waitset **out)
{
	(void)p, (void)s, (void)n, (void)out;
	return -ENOSYS;
}

static void g_waitset_free(struct ivc_plat_waitset *ws)
{
	(void)ws;
}

static int g_waitset_fd(const struct ivc_plat_waitset *ws)
{
	(void)ws;
	return -ENOSYS;
}

static int g_thread_start(struct ivc_plat *p, void (*fn)(void *), void *arg)
{
	(void)p, (void)fn, (void)arg;
	return -ENOSYS;
}

static int64_t g_now_ns(void)
{
	return (int64_t)guest_now_ns();
}

static int64_t g_wall_ms(void)
{
	return (int64_t)guest_wall_ms();
}

static uint64_t g_seed(void)
{
	uint64_t x = guest_now_ns() ^ (uint64_t)handles * 0x9e3779b97f4a7c15ull;

	for (struct ivc_plat *p = handles; p; p = p->next)
		x ^= (uint64_t)p->domid << 48;
	return x;
}

const struct ivc_plat_ops ivc_plat_guest = {
	.name = "guest",
	.open = g_open,
	.close = g_close,
	.domid = g_domid,
	.share = g_share,
	.share_notify = g_share_notify,
	.unshare = g_unshare,
	.unshare_defer = g_unshare_defer,
	.map = g_map,
	.map_notify = g_map_notify,
	.unmap = g_unmap,
	.peek = g_peek,
	.unpeek = g_unpeek,
	.evtchn_fd = g_evtchn_fd,
	.evtchn_alloc_unbound = g_evtchn_alloc_unbound,
	.evtchn_bind = g_evtchn_bind,
	.evtchn_notify = g_evtchn_notify,
	.evtchn_unbind = g_evtchn_unbind,
	.evtchn_pending = g_evtchn_pending,
	.evtchn_unmask = g_evtchn_unmask,
	.evtchn_status = g_evtchn_status,
	.domain_alive = g_domain_alive,
	.store_open = g_store_open,
	.store_close = g_store_close,
	.store_read = g_store_read,
	.store_write = g_store_write,
	.store_mkdir = g_store_mkdir,
	.store_rm = g_store_rm,
	.store_dir = g_store_dir,
	.store_get_perms = g_store_get_perms,
	.store_set_perms = g_store_set_perms,
	.store_txn_start = g_store_txn_start,
	.store_txn_end = g_store_txn_end,
	.store_watch = g_store_watch,
	.store_unwatch = g_store_unwatch,
	.store_event = g_store_event,
	.wait = g_wait,
	.wake = g_wake,
	.cond_wait = g_cond_wait,
	.cond_broadcast = g_nop,
	.note_new = g_note_new,
	.note_free = g_note_nop,
	.note_fd = g_note_fd,
	.note_set = g_note_nop,
	.note_clear = g_note_nop,
	.waitset_new = g_waitset_new,
	.waitset_free = g_waitset_free,
	.waitset_fd = g_waitset_fd,
	.thread_start = g_thread_start,
	.thread_join = g_nop,
	.now_ns = g_now_ns,
	.wall_ms = g_wall_ms,
	.seed = g_seed,
	.lock = g_nop,
	.unlock = g_nop,
};

const struct ivc_plat_ops *ivc_plat_named(const char *name)
{
	return name && !strcmp(name, "guest") ? &ivc_plat_guest : NULL;
}

const struct ivc_plat_ops *ivc_plat_default(void)
{
	return &ivc_plat_guest;
}

int ivc_plat_open_default(const struct ivc_plat_ops **ops, struct ivc_plat **p)
{
	*ops = &ivc_plat_guest;
	return ivc_plat_guest.open(p);
}
