/* SPDX-License-Identifier: MIT */
/*
 * broker.c - brokered rendezvous, the daemon's side (spec 9.11).
 *
 * Everything that matters is in XenStore under /rendezvous: a restarted
 * daemon reads it back (broker_start). In memory there is only what can
 * be rebuilt: the registered listeners (for name lookups), an event
 * channel bound to the liveness port of every context with a listener or
 * a channel end, and which domains have an area. Paths:
 *   /rendezvous/<D>/req/<k>        D's requests (D's nodes)
 *   /rendezvous/<D>/ans/<k>        our answers; ans/<lk>/<X>: clients
 *                                  waiting for listener lk
 *   /rendezvous/<S>/chan/l<X>      a listener's end of channel X
 *   /rendezvous/<C>/chan/c<X>      a client's end (with the offer)
 * where X = "<C>-<k>" names the channel by its client's request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"

#define DOMS (IVC_DOMID_MAX + 1)
#define PATH 256

/* A context, known by its liveness port (9.11.1 item 5): our end of an
 * event channel bound to that port stays interdomain while it lives. Kept
 * until the context or its domain goes. */
struct own {
	struct own *next;
	uint32_t dom, rport, lport;
	bool suspect; /* broker_tick: found gone */
};

struct lst {
	struct lst *next;
	uint32_t dom;
	char key[IVC_KEY_LEN];
	struct ivc_listen_rec rec;
	struct own *own;
};

/* The domains a domain has had channels with: a superset (a closed
 * channel's pair stays until either domain goes). */
struct peerset {
	uint16_t *v;
	unsigned n, cap;
};

struct broker {
	struct xs_handle *xs;
	const struct ivc_plat_ops *ops;
	struct ivc_plat *plat;
	struct broker_opts o;
	struct lst *lsts;
	struct own *owns;
	unsigned rr;           /* round robin among listeners of one name */
	uint8_t *area;         /* domains with an area: AREA, maybe | RECHECK */
	struct peerset *peers; /* [DOMS]: whom to tell first when one goes */
	int lost;              /* errno once the XenStore connection is gone */
	int64_t released;      /* wall clock (ms) of the @releaseDomain being handled, else 0 */
};

/* area[d]: d has an area (AREA); RECHECK: d was alive but not in
 * /local/domain, so which incarnation it is is looked at again once it
 * is listed (a domain dying, or one made between our listing and our
 * look: its predecessor's area must go). */
#define AREA 1
#define RECHECK 2

/* ---- XenStore, briefly ------------------------------------------------ */

static int __attribute__((format(printf, 2, 0))) vfmt(char *buf, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, PATH, fmt, ap);

	return n < 0 || n >= PATH ? -ENAMETOOLONG : 0;
}

/* A node's value (caller frees), NULL if it cannot be read. */
static char *__attribute__((format(printf, 3, 4)))
rd(struct broker *b, xs_transaction_t t, const char *fmt, ...)
{
	char path[PATH], *v;
	unsigned len;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vfmt(path, fmt, ap);
	va_end(ap);
	if (err)
		return NULL;
	v = xs_read(b->xs, t, path, &len);
	if (!v && (errno == EPIPE || errno == EBADF || errno == ECONNRESET))
		b->lost = errno;      /* xenstored went away */
	if (v && memchr(v, 0, len)) { /* a value with a NUL hides its tail */
		free(v);
		v = NULL;
	}
	return v;
}

static bool __attribute__((format(printf, 4, 5)))
wr(struct broker *b, xs_transaction_t t, const char *val, const char *fmt, ...)
{
	char path[PATH];
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vfmt(path, fmt, ap);
	va_end(ap);
	return !err && xs_write(b->xs, t, path, val, strlen(val));
}

/* Removes a node and everything below it; gone already is fine. */
static bool __attribute__((format(printf, 3, 4)))
rm(struct broker *b, xs_transaction_t t, const char *fmt, ...)
{
	char path[PATH];
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vfmt(path, fmt, ap);
	va_end(ap);
	return !err && (xs_rm(b->xs, t, path) || errno == ENOENT);
}

static char **__attribute__((format(printf, 4, 5)))
ls(struct broker *b, xs_transaction_t t, unsigned *n, const char *fmt, ...)
{
	char path[PATH];
	va_list ap;
	int err;

	*n = 0;
	va_start(ap, fmt);
	err = vfmt(path, fmt, ap);
	va_end(ap);
	return err ? NULL : xs_directory(b->xs, t, path, n);
}

/* Owner dom0, nobody else, `a` with access pa, `c` with pc (c: optional). */
static bool __attribute__((format(printf, 7, 8)))
perms(struct broker *b, xs_transaction_t t, uint32_t a, int pa, uint32_t c, int pc, const char *fmt,
      ...)
{
	struct xs_permissions p[3] = { { 0, XS_PERM_NONE }, { a, pa }, { c, pc } };
	char path[PATH];
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vfmt(path, fmt, ap);
	va_end(ap);
	return !err && xs_set_permissions(b->xs, t, path, p, pc ? 3 : 2);
}

/* Runs body in a transaction, again on EAGAIN. */
static bool txn(struct broker *b, bool (*body)(struct broker *b, xs_transaction_t t, void *arg),
		void *arg)
{
	for (int tries = 0; tries < 100; tries++) {
		xs_transaction_t t = xs_transaction_start(b->xs);
		bool ok;

		if (t == XBT_NULL) {
			if (errno == EPIPE || errno == EBADF || errno == ECONNRESET)
				b->lost = errno; /* xenstored went away */
			return false;
		}
		ok = body(b, t, arg);
		if (xs_transaction_end(b->xs, t, !ok))
			return ok;
		if (!ok || errno != EAGAIN)
			return false;
	}
	return false;
}

/* ---- domains and their areas (9.11.1 item 3) ------------------------- */

/* Which incarnation of a domain id an area is for: a node of ours in the
 * domain's own /local/domain/<d>, which the toolstack removes with the
 * domain. An area without it was made for an earlier domain of that id
 * (XenStore, since XSA-322, no longer lets the new domain use nodes whose
 * permissions named the old one). */
#define MARK "/local/domain/%u/ivc-rendezvous"

static bool area_body(struct broker *b, xs_transaction_t t, void *arg)
{
	uint32_t d = *(uint32_t *)arg;
	char *v = rd(b, t, "/local/domain/%u", d);
	bool ok = v != NULL;

	free(v); /* a domain that went meanwhile gets no area (nor a new /local/domain) */
	if (!ok)
		return false;
	ok = wr(b, t, "", MARK, d);
	v = rd(b, t, "/rendezvous/%u", d);

	if (!v) /* owner dom0, D reads it */
		ok = wr(b, t, "", "/rendezvous/%u", d) &&
		     perms(b, t, d, XS_PERM_READ, 0, 0, "/rendezvous/%u", d);
	free(v);
	static const char *const sub[] = { "req", "ans", "chan", "gone" };
	for (int i = 0; i < 4 && ok; i++) {
		v = rd(b, t, "/rendezvous/%u/%s", d, sub[i]);
		if (!v) /* D writes requests; reads the rest */
			ok = wr(b, t, "", "/rendezvous/%u/%s", d, sub[i]) &&
			     perms(b, t, d, i ? XS_PERM_READ : XS_PERM_READ | XS_PERM_WRITE, 0, 0,
				   "/rendezvous/%u/%s", d, sub[i]);
		free(v);
	}
	return ok;
}

static void area_make(struct broker *b, uint32_t d)
{
	if (!txn(b, area_body, &d)) {
		if (!b->lost)
			logmsg(3, "cannot make /rendezvous/%u: %s", d, strerror(errno));
		return;
	}
	if (!b->area[d])
		logmsg(7, "area of domain %u ready", d);
	b->area[d] = AREA;
}

/* The platform's monotonic clock in ms (timings in the log). */
static int64_t mono_ms(const struct broker *b)
{
	return b->ops->now_ns() / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static bool dom_alive(struct broker *b, uint32_t d)
{
	int a = b->ops->domain_alive(b->plat, d);

	if (a >= 0)
		return a == 1;
	return d == 0 || xs_is_domain_introduced(b->xs, d);
}

static bool domid_of(const char *s, uint32_t *d)
{
	return ivc__parse_u32(s, IVC_DOMID_MAX, d) == 0;
}

static bool peerset_add(struct peerset *s, uint32_t d)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->v[i] == d)
			return true;
	if (s->n == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 4;
		uint16_t *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return false;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (uint16_t)d;
	return true;
}

/* Domains a and c have a channel. Out of memory: the death of either is
 * told from the listing of its ends, a little later. */
static void peers_add(struct broker *b, uint32_t a, uint32_t c)
{
	if (a == c || a >= DOMS || c >= DOMS)
		return;
	if (!peerset_add(&b->peers[a], c) || !peerset_add(&b->peers[c], a))
		logmsg(4, "out of memory: the death of domain %u or %u will be told later", a, c);
}

static void peers_forget(struct broker *b, uint32_t p)
{
	struct peerset *s = &b->peers[p];

	for (unsigned i = 0; i < s->n; i++) {
		struct peerset *o = &b->peers[s->v[i]];
		for (unsigned j = 0; j < o->n; j++)
			if (o->v[j] == p) {
				o->v[j] = o->v[--o->n];
				break;
			}
	}
	free(s->v);
	*s = (struct peerset){ 0 };
}

/* A domain's name, for the policy ("" if it has none). */
static void dom_name(struct broker *b, uint32_t d, char *buf, size_t size)
{
	char *v = rd(b, XBT_NULL, "/local/domain/%u/name", d);

	snprintf(buf, size, "%s", v ? v : "");
	free(v);
}

/* ---- contexts and their liveness (9.11.1 item 5) ----------------------- */

static bool own_live(struct broker *b, const struct own *o)
{
	uint32_t st, rd_, rp;

	return b->ops->evtchn_status(b->plat, o->lport, &st, &rd_, &rp) == 0 &&
	       st == IVC_PLAT_EVTCHN_INTERDOMAIN && rd_ == o->dom && rp == o->rport;
}

static void own_unlink(struct broker *b, struct own *o)
{
	for (struct own **pp = &b->owns; *pp; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			return;
		}
}

static void own_free(struct broker *b, struct own *o)
{
	own_unlink(b, o);
	b->ops->evtchn_unbind(b->plat, o->lport);
	free(o);
}

static void own_died(struct broker *b, struct own *o);

/* The context of d whose liveness port is rport: 0, or -ECONNREFUSED when
 * it has gone (or never held that port for us). A context of that port
 * found gone is dealt with first (own_died: it may drop listeners, so no
 * caller walks them). */
static int own_get(struct broker *b, uint32_t d, uint32_t rport, struct own **out)
{
	struct own *o = b->owns;

	while (o && (o->dom != d || o->rport != rport))
		o = o->next;
	if (o && own_live(b, o)) {
		*out = o;
		return 0;
	}
	if (o) /* it went; the number may be another context's now */
		own_died(b, o);
	o = calloc(1, sizeof *o);
	if (!o)
		return -ENOMEM;
	if (b->ops->evtchn_bind(b->plat, d, rport, &o->lport)) {
		free(o);
		return -ECONNREFUSED;
	}
	o->dom = d;
	o->rport = rport;
	o->next = b->owns;
	b->owns = o;
	*out = o;
	return 0;
}

/* The liveness port named in request record v: 0 if none. */
static uint32_t port_of_request(const char *v)
{
	struct ivc_connect_rec c;
	struct ivc_listen_rec l;

	if (!ivc__parse_connect(v, &c))
		return c.port;
	return ivc__parse_listen(v, &l) ? 0 : l.port;
}

/* The liveness port named in end record v (its owner's; 0 if none), and
 * into *peer, if asked, the peer's domain (DOMS if none). */
static uint32_t port_of_end(const char *name, const char *v, uint32_t *peer)
{
	struct ivc_lend_rec le;
	struct ivc_cend_rec ce;
	uint32_t port = 0, dom = DOMS;

	if (name[0] == 'l' && !ivc__parse_lend(v, &le)) {
		port = le.port;
		dom = le.peer;
	} else if (name[0] == 'c' && !ivc__parse_cend(v, &ce)) {
		port = ce.port;
		dom = ce.peer;
	}
	if (peer)
		*peer = dom;
	return port;
}

static struct lst **lst_find(struct broker *b, uint32_t d, const char *key)
{
	struct lst **pp = &b->lsts;

	while (*pp && ((*pp)->dom != d || strcmp((*pp)->key, key)))
		pp = &(*pp)->next;
	return pp;
}

/* The other end of the end `name` ("l<X>" or "c<X>") of domain d, from its
 * record: the peer domain and the other end's name. */
static bool other_end(struct broker *b, uint32_t d, const char *name, uint32_t *peer, char *other,
		      size_t size, char *lkey)
{
	char *v = rd(b, XBT_NULL, "/rendezvous/%u/chan/%s", d, name);
	struct ivc_lend_rec le;
	struct ivc_cend_rec ce;
	bool ok = false;

	if (!v)
		return false;
	if (name[0] == 'l' && !ivc__parse_lend(v, &le)) {
		*peer = le.peer;
		snprintf(lkey, IVC_KEY_LEN, "%s", le.listen);
		ok = true;
	} else if (name[0] == 'c' && !ivc__parse_cend(v, &ce)) {
		*peer = ce.peer;
		lkey[0] = 0;
		ok = true;
	}
	free(v);
	snprintf(other, size, "%c%s", name[0] == 'l' ? 'c' : 'l', name + 1);
	return ok;
}

/* A client's end: its request and our answer go with it. */
static void rm_client_end(struct broker *b, uint32_t c, const char *name)
{
	uint32_t cd;
	const char *k = strchr(name, '-');

	rm(b, XBT_NULL, "/rendezvous/%u/chan/%s", c, name);
	if (k && !ivc__parse_id(name + 1, &cd) && cd == c) {
		rm(b, XBT_NULL, "/rendezvous/%u/req/%s", c, k + 1);
		rm(b, XBT_NULL, "/rendezvous/%u/ans/%s", c, k + 1);
	}
}

/* The listener ends l<p>-... of p's clients, with their domains. */
struct partner {
	char name[64];
	uint32_t dom;
};

static int partner_cmp(const void *x, const void *y)
{
	return strcmp(((const struct partner *)x)->name, ((const struct partner *)y)->name);
}

/* Adds to *v the ends l<p>-... in domain s. */
static bool partners_in(struct broker *b, uint32_t p, uint32_t s, struct partner **v, unsigned *n)
{
	char prefix[16];
	unsigned k;
	size_t plen = (size_t)snprintf(prefix, sizeof prefix, "l%u-", p);
	char **ents = ls(b, XBT_NULL, &k, "/rendezvous/%u/chan", s);
	bool ok = true;

	for (unsigned i = 0; ents && ok && i < k; i++) {
		if (strncmp(ents[i], prefix, plen) || strlen(ents[i]) >= sizeof(*v)->name)
			continue;
		struct partner *g = realloc(*v, (*n + 1) * sizeof **v);
		if ((ok = g != NULL)) {
			*v = g;
			snprintf(g[*n].name, sizeof g->name, "%s", ents[i]);
			g[(*n)++].dom = s;
		}
	}
	free(ents);
	return ok;
}

/* Where the other ends of p's `clients` client ends are: a listing of
 * each listener's domain (one request each) instead of a read of every
 * end's record, when that is fewer requests; only the daemon names ends,
 * so a name there is the end. NULL: read the records. */
static struct partner *partners_of(struct broker *b, uint32_t p, unsigned clients, unsigned *n)
{
	uint8_t *seen = calloc(DOMS, 1);
	unsigned doms = 0;
	struct partner *v = NULL;
	bool ok = seen != NULL;

	*n = 0;
	for (struct lst *l = b->lsts; ok && l; l = l->next)
		if (l->dom != p && !seen[l->dom]) {
			seen[l->dom] = 1;
			doms++;
		}
	for (struct lst *l = b->lsts; ok && doms < clients && l; l = l->next)
		if (seen[l->dom] && (ok = partners_in(b, p, l->dom, &v, n)))
			seen[l->dom] = 0; /* listed */
	free(seen);
	if (!ok || doms >= clients) {
		free(v);
		*n = 0;
		return NULL;
	}
	if (*n)
		qsort(v, *n, sizeof *v, partner_cmp);
	return v;
}

/* p's end `name`'s other end: its domain into *q and its name into
 * other; false if not known. */
static bool partner(struct broker *b, uint32_t p, const char *name, const struct partner *v,
		    unsigned nv, uint32_t *q, char other[64])
{
	char lkey[IVC_KEY_LEN];
	struct partner key, *f;

	if (name[0] == 'l') /* a listener's end names its client's domain */
		return !ivc__parse_id(name + 1, q) && snprintf(other, 64, "c%s", name + 1) < 64;
	if (name[0] != 'c')
		return false;
	if (v && snprintf(key.name, sizeof key.name, "l%s", name + 1) < (int)sizeof key.name &&
	    (f = bsearch(&key, v, nv, sizeof *v, partner_cmp))) {
		*q = f->dom;
		snprintf(other, 64, "%s", f->name);
		return true;
	}
	return other_end(b, p, name, q, other, 64, lkey);
}

/* The notice (9.11.5 item 2) that p is gone, in q's area, once
 * (survivor[q] |= NOTICE); not in p's own, nor in the area of a domain
 * gone before (a write would make it again). Whether it was written now. */
#define FOUND 1u
#define NOTICE 2u
static bool notice_write(struct broker *b, uint32_t p, uint32_t q, uint8_t *survivor)
{
	if (q == p || !b->area[q] || (survivor[q] & NOTICE))
		return false;
	survivor[q] |= NOTICE;
	wr(b, XBT_NULL, "", "/rendezvous/%u/gone/%u", q, p);
	return true;
}

/* Notices in the areas of the domains that had channels with p as far as
 * we know (b->peers), before anything is listed. How many. */
static unsigned survivors_tell_known(struct broker *b, uint32_t p, uint8_t *survivor)
{
	const struct peerset *s = &b->peers[p];
	unsigned told = 0;

	for (unsigned i = 0; i < s->n; i++)
		told += notice_write(b, p, s->v[i], survivor);
	return told;
}

/* The other ends of p's ends `ents`: their domains into peer (p: none)
 * and names into other; each of those domains not told yet is told, with
 * one write however many channels it had with p. How many domains had
 * channels with p. */
static unsigned survivors_tell(struct broker *b, uint32_t p, char **ents, unsigned n,
			       uint32_t *peer, char (*other)[64], uint8_t *survivor)
{
	unsigned nv = 0, clients = 0, found = 0;
	struct partner *v;

	for (unsigned i = 0; i < n; i++)
		clients += ents[i][0] == 'c';
	v = clients ? partners_of(b, p, clients, &nv) : NULL;
	for (unsigned i = 0; i < n; i++) {
		uint32_t q = p;
		if (!partner(b, p, ents[i], v, nv, &q, other[i]) || q >= DOMS)
			q = p;
		peer[i] = q;
		if (q == p || !b->area[q] || (survivor[q] & FOUND))
			continue;
		survivor[q] |= FOUND;
		found++;
	}
	free(v);
	for (uint32_t q = 0; q < DOMS; q++)
		if (survivor[q] & FOUND) /* those not known to b->peers */
			notice_write(b, p, q, survivor);
	return found;
}

/* Domain p is gone (9.11.6): every end elsewhere whose peer it was is
 * told, then its area goes. */
static void domain_gone(struct broker *b, uint32_t p)
{
	int64_t t0 = mono_ms(b);
	uint8_t *survivor = calloc(DOMS, 1);
	/* First, before any listing: the domains it had channels with. */
	unsigned known = survivor ? survivors_tell_known(b, p, survivor) : 0;
	int64_t tk = mono_ms(b), after = b->released ? wall_ms() - b->released : -1;
	unsigned n;
	char **ents = ls(b, XBT_NULL, &n, "/rendezvous/%u/chan", p);
	unsigned told = ents ? n : 0;
	uint32_t *peer = ents && survivor ? calloc(n ? n : 1, sizeof *peer) : NULL;
	char(*oth)[64] = peer ? calloc(n ? n : 1, sizeof *oth) : NULL;
	unsigned nsurv;

	if (!oth && ents) { /* nobody is told: their rings and ports still tell */
		logmsg(3, "domain %u gone: out of memory, its peers not told", p);
		free(peer);
		peer = NULL;
	}
	nsurv = oth ? survivors_tell(b, p, ents, n, peer, oth, survivor) : 0;
	int64_t t1 = mono_ms(b);
	for (unsigned i = 0; oth && i < n; i++)
		if (peer[i] != p)
			rm(b, XBT_NULL, "/rendezvous/%u/chan/%s/peer", peer[i], oth[i]);
	free(oth);
	for (unsigned i = 0; peer && i < n; i++) {
		uint32_t q = peer[i], q2;
		char other[64], lk2[IVC_KEY_LEN], o2[64];
		if (q == p)
			continue;
		snprintf(other, sizeof other, "%c%s", ents[i][0] == 'l' ? 'c' : 'l', ents[i] + 1);
		/* An end taken already (its state not empty) stays for its
		 * owner to close, and its marker went, or goes, when its state
		 * changed (9.11.3 item 4): nothing more to do here. */
		char *st = rd(b, XBT_NULL, "/rendezvous/%u/chan/%s/state", q, other);
		if (st && *st) {
			free(st);
			continue;
		}
		/* A client of p's that waited for a listener in q: its marker. */
		if (ents[i][0] == 'c' && other_end(b, q, other, &q2, o2, sizeof o2, lk2))
			rm(b, XBT_NULL, "/rendezvous/%u/ans/%s/%s", q, lk2, ents[i] + 1);
		/* An end nobody took yet (state still empty) will never be
		 * looked at: it goes. */
		if (st && other[0] == 'c')
			rm_client_end(b, q, other);
		else if (st)
			rm(b, XBT_NULL, "/rendezvous/%u/chan/%s", q, other);
		free(st);
	}
	free(peer);
	free(ents);
	for (uint32_t q = 0; survivor && q < DOMS; q++)
		if ((survivor[q] & NOTICE) && !rm(b, XBT_NULL, "/rendezvous/%u/gone/%u", q, p))
			/* It would be read as true of a later domain p, until a
			 * restart sweeps it (9.11.7). */
			logmsg(3, "cannot remove the notice of domain %u in domain %u's area: %s",
			       p, q, strerror(errno));
	free(survivor);
	for (struct lst **pp = &b->lsts; *pp;) {
		struct lst *l = *pp;
		if (l->dom == p) {
			*pp = l->next;
			free(l);
		} else
			pp = &l->next;
	}
	for (struct own *o = b->owns, *next; o; o = next) {
		next = o->next;
		if (o->dom == p)
			own_free(b, o);
	}
	rm(b, XBT_NULL, "/rendezvous/%u", p);
	b->area[p] = 0;
	peers_forget(b, p);
	logmsg(6,
	       "domain %u gone: %u domains told in %lld ms (%lld ms after @releaseDomain), the %u "
	       "domains of the peers of its %u channel ends found in %lld ms, all cleaned up in "
	       "%lld ms (@releaseDomain seen at %lld, wall clock ms)",
	       p, known, (long long)(tk - t0), (long long)after, nsurv, told, (long long)(t1 - t0),
	       (long long)(mono_ms(b) - t0), (long long)b->released);
}

/* Areas for the domains XenStore knows; the gone ones' areas removed, and
 * those of an earlier domain whose id has been used again. `all`: look at
 * every domain (at start, and when one was released: an id may have been
 * reused); else only at domains without an area yet, so that a host
 * creating many domains costs one listing per event, not one
 * transaction per domain. */
static void domains_scan(struct broker *b, bool all)
{
	unsigned n;
	char **ents = ls(b, XBT_NULL, &n, "/local/domain"), *v;
	uint8_t *present = calloc(DOMS, 1);
	uint32_t d;

	if (!ents || !present) {
		free(ents);
		free(present);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		if (domid_of(ents[i], &d))
			present[d] = 1;
	present[0] = 1;
	/* Areas of domains no longer in /local/domain (the toolstack removes
	 * a domain's directory when it destroys it), first: their survivors
	 * are waiting to be told. */
	for (d = 1; d < DOMS; d++)
		if (b->area[d] && !present[d]) {
			if (!dom_alive(b, d))
				domain_gone(b, d);
			else
				b->area[d] |= RECHECK;
		}
	for (unsigned i = 0; i < n; i++) {
		if (!domid_of(ents[i], &d) || (b->area[d] == AREA && !all))
			continue;
		v = rd(b, XBT_NULL, MARK, d);
		if (v) {
			free(v);
			if (b->area[d]) {
				b->area[d] = AREA;
				continue; /* ours, as it was */
			}
		} else if ((v = rd(b, XBT_NULL, "/rendezvous/%u", d))) {
			free(v);
			logmsg(6, "domain %u is a new domain: its predecessor's area goes", d);
			domain_gone(b, d);
		}
		if (dom_alive(b, d))
			area_make(b, d);
	}
	free(ents);
	if (!b->area[0])
		area_make(b, 0);
	if (all) { /* also areas we did not know of: left from before a restart */
		ents = ls(b, XBT_NULL, &n, "/rendezvous");
		for (unsigned i = 0; ents && i < n; i++)
			if (domid_of(ents[i], &d) && !b->area[d] && !present[d])
				domain_gone(b, d);
		free(ents);
	}
	free(present);
}

/* ---- answers ---------------------------------------------------------- */

static void answer(struct broker *b, uint32_t d, const char *k, const char *err)
{
	char v[32];

	snprintf(v, sizeof v, err ? "error=%s" : "ok", err);
	if (!wr(b, XBT_NULL, v, "/rendezvous/%u/ans/%s", d, k))
		logmsg(4, "domain %u request %s: cannot answer: %s", d, k, strerror(errno));
	else if (err)
		logmsg(6, "domain %u request %s refused: %s", d, k, err);
}

/* ---- listeners (9.11.2) ----------------------------------------------- */

static bool lst_live(struct broker *b, const struct lst *l)
{
	return l->own && own_live(b, l->own);
}

/* Refuses the clients waiting for l: their ends' peer nodes go, and the
 * listener's ends that were never taken with them. */
static void lst_refuse_waiting(struct broker *b, const struct lst *l)
{
	unsigned n;
	char **ents = ls(b, XBT_NULL, &n, "/rendezvous/%u/ans/%s", l->dom, l->key);

	for (unsigned i = 0; ents && i < n; i++) {
		uint32_t c;
		if (ivc__parse_id(ents[i], &c))
			continue;
		rm(b, XBT_NULL, "/rendezvous/%u/chan/l%s", l->dom, ents[i]);
		rm(b, XBT_NULL, "/rendezvous/%u/chan/c%s/peer", c, ents[i]);
	}
	free(ents);
}

/* l is closed or gone: unregistered; its request and answer removed. */
static void lst_drop(struct broker *b, struct lst *l, const char *why)
{
	struct lst **pp = lst_find(b, l->dom, l->key);

	logmsg(6, "service %s of domain %u %s", l->rec.svc.name, l->dom, why);
	lst_refuse_waiting(b, l);
	rm(b, XBT_NULL, "/rendezvous/%u/ans/%s", l->dom, l->key);
	rm(b, XBT_NULL, "/rendezvous/%u/req/%s", l->dom, l->key);
	if (*pp == l)
		*pp = l->next;
	free(l);
}

static struct lst *lst_named(struct broker *b, uint32_t d, const char *name)
{
	for (struct lst *l = b->lsts; l; l = l->next)
		if (l->dom == d && !strcmp(l->rec.svc.name, name))
			return l;
	return NULL;
}

/* Registers listener k of d: 0, the refusal, or -ESRCH (its context has
 * gone: its request is to be removed). Also for a listener accepted before
 * a restart (9.11.7), whose policy and liveness are looked at again. */
static int do_listen(struct broker *b, uint32_t d, const char *k, const char *val)
{
	struct ivc_listen_rec r;
	struct lst *l, *old;
	enum ivc_dir ld;
	char name[64];
	int line;

	if (ivc__parse_listen(val, &r) || ivc__dir_parse(r.svc.t.dir, &ld) ||
	    (strcmp(r.svc.t.mode, "message") && strcmp(r.svc.t.mode, "stream")) ||
	    !ivc__geometry_ok(r.svc.t.mode, ld, r.svc.ring, r.svc.max))
		return -EPROTO;
	dom_name(b, d, name, sizeof name);
	/* Also after a restart: a policy made stricter meanwhile applies. */
	if (!policy_allows(b->o.policy, POL_LISTEN, r.svc.name, (struct pol_who){ d, name },
			   (struct pol_who){ 0, "" }, &line))
		return -EACCES;
	old = lst_named(b, d, r.svc.name);
	if (old && lst_live(b, old))
		return -EEXIST;
	if (old)
		lst_drop(b, old, "replaced (its listener had gone)");
	l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->dom = d;
	snprintf(l->key, sizeof l->key, "%s", k);
	l->rec = r;
	/* Its liveness port. One we cannot bind is a context that went
	 * before its answer (or while we were away), or a lie: its request
	 * goes unanswered, as a connect's does (9.11.2 item 2). */
	int err = own_get(b, d, r.port, &l->own);
	if (err) {
		free(l);
		return err == -ENOMEM ? err : -ESRCH;
	}
	l->next = b->lsts;
	b->lsts = l;
	logmsg(6, "service %s of domain %u (%s %u, %s, %s)", r.svc.name, d, r.svc.t.type,
	       r.svc.t.version, r.svc.t.mode, r.svc.t.dir);
	return 0;
}

/* ---- connects (9.11.3) -------------------------------------------------- */

struct newchan {
	const struct lst *l;
	uint32_t c;
	const char *k;
	const struct ivc_connect_rec *want;
};

static bool newchan_body(struct broker *b, xs_transaction_t t, void *arg)
{
	const struct newchan *nc = arg;
	const struct lst *l = nc->l;
	const struct ivc_svc_rec *s = &l->rec.svc;
	uint32_t S = l->dom, C = nc->c;
	char lend[128], cend[512];

	snprintf(lend, sizeof lend, "role=listener listen=%s peer=%u port=%u", l->key, C,
		 l->rec.port);
	snprintf(cend, sizeof cend,
		 "role=client peer=%u port=%u name=%s type=%s version=%u mode=%s dir=%s "
		 "ring0-bytes=%u ring1-bytes=%u ring0-max-msg=%u ring1-max-msg=%u",
		 S, nc->want->port, s->name, s->t.type, s->t.version, s->t.mode, s->t.dir,
		 s->ring[0], s->ring[1], s->max[0], s->max[1]);
	return wr(b, t, lend, "/rendezvous/%u/chan/l%u-%s", S, C, nc->k) &&
	       wr(b, t, "", "/rendezvous/%u/chan/l%u-%s/peer", S, C, nc->k) &&
	       wr(b, t, "", "/rendezvous/%u/chan/l%u-%s/state", S, C, nc->k) &&
	       perms(b, t, S, XS_PERM_READ | XS_PERM_WRITE, 0, 0,
		     "/rendezvous/%u/chan/l%u-%s/state", S, C, nc->k) &&
	       wr(b, t, cend, "/rendezvous/%u/chan/c%u-%s", C, C, nc->k) &&
	       wr(b, t, "", "/rendezvous/%u/chan/c%u-%s/peer", C, C, nc->k) &&
	       wr(b, t, "", "/rendezvous/%u/chan/c%u-%s/state", C, C, nc->k) &&
	       perms(b, t, C, XS_PERM_READ | XS_PERM_WRITE, 0, 0,
		     "/rendezvous/%u/chan/c%u-%s/state", C, C, nc->k) &&
	       wr(b, t, "", "/rendezvous/%u/chan/c%u-%s/offer", C, C, nc->k) &&
	       /* XenStore takes the first entry naming a domain: one for both
		* when a domain connects to itself. */
	       (S == C ? perms(b, t, C, XS_PERM_READ | XS_PERM_WRITE, 0, 0,
			       "/rendezvous/%u/chan/c%u-%s/offer", C, C, nc->k)
		       : perms(b, t, C, XS_PERM_READ, S, XS_PERM_WRITE,
			       "/rendezvous/%u/chan/c%u-%s/offer", C, C, nc->k)) &&
	       wr(b, t, "", "/rendezvous/%u/ans/%s/%u-%s", S, l->key, C, nc->k) &&
	       wr(b, t, "ok", "/rendezvous/%u/ans/%s", C, nc->k);
}

/* Clients waiting for listener k of d. */
static unsigned count_waiting(struct broker *b, uint32_t d, const char *k)
{
	unsigned n;
	char **ents = ls(b, XBT_NULL, &n, "/rendezvous/%u/ans/%s", d, k);

	free(ents);
	return ents ? n : 0;
}

static unsigned count_ends(struct broker *b, uint32_t d)
{
	unsigned n;
	char **ents = ls(b, XBT_NULL, &n, "/rendezvous/%u/chan", d);

	free(ents);
	return ents ? n : 0;
}

/* Whether client c may have l (9.11.3 item 2, steps 3 to 7): 0 or why not. */
static int try_listener(struct broker *b, struct lst *l, uint32_t c, const char *cname,
			const struct ivc_connect_rec *want)
{
	char sname[64];
	int line, err;

	dom_name(b, l->dom, sname, sizeof sname);
	if (!policy_allows(b->o.policy, POL_CONNECT, want->name, (struct pol_who){ c, cname },
			   (struct pol_who){ l->dom, sname }, &line))
		return -EACCES;
	err = ivc__svc_fit(&l->rec.svc, want);
	if (err)
		return err;
	if (count_waiting(b, l->dom, l->key) >= l->rec.backlog)
		return -EBUSY;
	if (!lst_live(b, l))
		return -ECONNREFUSED;
	if (count_ends(b, l->dom) >= b->o.max_chans || count_ends(b, c) >= b->o.max_chans)
		return -ENOSPC;
	return 0;
}

static int do_connect(struct broker *b, uint32_t c, const char *k, const char *val)
{
	struct ivc_connect_rec want;
	struct lst *cand[64];
	unsigned n = 0, first;
	int err = -ENOENT, denied = 0;
	char cname[64];

	if (ivc__parse_connect(val, &want))
		return -EPROTO;
	/* Its context, watched for as long as it lives: one that is gone
	 * (or never held the port for us) gets no answer; its request goes,
	 * which is a refusal (9.11.5 item 4). First: this may drop
	 * listeners. */
	struct own *co;
	err = own_get(b, c, want.port, &co);
	if (err)
		return err == -ENOMEM ? err : -ESRCH;
	err = -ENOENT;
	for (struct lst *l = b->lsts; l && n < 64; l = l->next)
		if (!strcmp(l->rec.svc.name, want.name) &&
		    (want.server == IVC_DOMID_ANY || want.server == l->dom))
			cand[n++] = l;
	dom_name(b, c, cname, sizeof cname);
	first = n ? b->rr++ % n : 0;
	for (unsigned i = 0; i < n; i++) {
		struct lst *l = cand[(first + i) % n];
		int e = try_listener(b, l, c, cname, &want);
		if (e == 0) {
			struct newchan nc = { l, c, k, &want };
			peers_add(b, c, l->dom);
			if (!txn(b, newchan_body, &nc))
				return -EIO; /* answered ECONNREFUSED */
			logmsg(6, "channel %u-%s: domain %u to service %s of domain %u", c, k, c,
			       want.name, l->dom);
			return 0;
		}
		if (e == -ECONNREFUSED)
			lst_drop(b, l, "gone (its liveness port closed)");
		if (e == -EACCES)
			denied++;
		else if (err == -ENOENT)
			err = e; /* the first candidate's reason */
	}
	return n && denied == (int)n ? -EACCES : err;
}

/* ---- requests and states ------------------------------------------------- */

/* A request of d with no answer yet. */
static void do_request(struct broker *b, uint32_t d, const char *k, bool restart)
{
	char *v = rd(b, XBT_NULL, "/rendezvous/%u/req/%s", d, k), *a;
	int err;

	if (!v || !ivc__nonce_ok(k)) {
		if (v || errno != ENOENT)
			logmsg(4, "domain %u request %s ignored: %s", d, k,
			       v ? "not a key" : strerror(errno));
		free(v);
		return;
	}
	a = rd(b, XBT_NULL, "/rendezvous/%u/ans/%s", d, k);
	if (a) { /* answered: a listener we knew, if it is one */
		struct own *o;
		uint32_t port = restart && strcmp(a, "ok") ? port_of_request(v) : 0;
		if (restart && !strcmp(a, "ok") && !strncmp(v, "op=listen ", 10))
			err = do_listen(b, d, k, v);
		else if (port) /* a refusal not yet collected */
			err = own_get(b, d, port, &o);
		else
			err = 0;
		if (err && err != -ENOMEM) { /* it went while we were away */
			rm(b, XBT_NULL, "/rendezvous/%u/ans/%s", d, k);
			rm(b, XBT_NULL, "/rendezvous/%u/req/%s", d, k);
		}
		free(a);
		free(v);
		return;
	}
	if (!strncmp(v, "op=listen ", 10))
		err = do_listen(b, d, k, v);
	else
		err = do_connect(b, d, k, v);
	free(v);
	if (err == -ENOMEM)
		return; /* try again on its next event */
	if (err == -ESRCH) {
		logmsg(6, "domain %u request %s removed: its context has gone", d, k);
		rm(b, XBT_NULL, "/rendezvous/%u/req/%s", d, k);
		return;
	}
	answer(b, d, k, err ? ivc__refusal_name(err) : NULL);
}

/* Request k of d went (9.11.2 item 3, 9.11.3 item 5). */
static void request_gone(struct broker *b, uint32_t d, const char *k)
{
	struct lst **pp = lst_find(b, d, k);
	char name[64], *st;

	if (*pp) {
		lst_drop(b, *pp, "closed");
		return;
	}
	rm(b, XBT_NULL, "/rendezvous/%u/ans/%s", d, k);
	/* A client that gave up before attaching: nothing of it stays. */
	snprintf(name, sizeof name, "c%u-%s", d, k);
	st = rd(b, XBT_NULL, "/rendezvous/%u/chan/%s/state", d, name);
	if (st && !*st) {
		free(st);
		st = strdup("closed");
		if (st)
			wr(b, XBT_NULL, st, "/rendezvous/%u/chan/%s/state", d, name);
	}
	free(st);
}

/* End `name` of d closed (9.11.4 item 2). */
static void end_closed(struct broker *b, uint32_t d, const char *name, bool dead)
{
	char other[64], lkey[IVC_KEY_LEN], lk2[IVC_KEY_LEN], o2[64], *ost;
	uint32_t p, p2;

	if (!other_end(b, d, name, &p, other, sizeof other, lkey)) {
		rm(b, XBT_NULL, "/rendezvous/%u/chan/%s", d, name);
		return;
	}
	/* The marker of a client that was waiting. */
	if (name[0] == 'l')
		rm(b, XBT_NULL, "/rendezvous/%u/ans/%s/%s", d, lkey, name + 1);
	else if (other_end(b, p, other, &p2, o2, sizeof o2, lk2))
		rm(b, XBT_NULL, "/rendezvous/%u/ans/%s/%s", p, lk2, name + 1);
	/* The other end first, this one last: a daemon killed in between
	 * finds this end's state again when it restarts, and the survivor
	 * is told all the same (found by the model, rendezvous.pml). */
	ost = rd(b, XBT_NULL, "/rendezvous/%u/chan/%s/state", p, other);
	if (ost && (dead || !*ost || !strcmp(ost, "offered"))) { /* handshake unfinished */
		if (other[0] == 'c')
			rm_client_end(b, p, other);
		else
			rm(b, XBT_NULL, "/rendezvous/%u/chan/%s", p, other);
	} else if (ost)
		rm(b, XBT_NULL, "/rendezvous/%u/chan/%s/peer", p, other);
	free(ost);
	if (name[0] == 'c')
		rm_client_end(b, d, name);
	else
		rm(b, XBT_NULL, "/rendezvous/%u/chan/%s", d, name);
}

static void state_changed(struct broker *b, uint32_t d, const char *name)
{
	char *st = rd(b, XBT_NULL, "/rendezvous/%u/chan/%s/state", d, name);
	char other[64], lkey[IVC_KEY_LEN];
	uint32_t p;

	if (!st)
		return;
	if (!strcmp(st, "closed") || !strcmp(st, "dead"))
		end_closed(b, d, name, !strcmp(st, "dead"));
	/* Offered: the client no longer waits. By the time we read it, it
	 * may say open already. */
	else if ((!strcmp(st, "offered") || !strcmp(st, "open")) && name[0] == 'l' &&
		 other_end(b, d, name, &p, other, sizeof other, lkey))
		rm(b, XBT_NULL, "/rendezvous/%u/ans/%s/%s", d, lkey, name + 1);
	free(st);
}

/* ---- events ---------------------------------------------------------------- */

/* One path under /rendezvous/<d>/. */
static void event(struct broker *b, const char *path)
{
	char comp[4][80];
	int n = 0;
	uint32_t d;
	const char *p = path + strlen("/rendezvous");

	while (*p == '/' && n < 4) {
		size_t len = strcspn(p + 1, "/");
		if (len >= sizeof comp[0])
			return;
		memcpy(comp[n], p + 1, len);
		comp[n++][len] = 0;
		p += 1 + len;
	}
	if (n < 1 || !domid_of(comp[0], &d) || !b->area[d])
		return;
	if (n == 1 || (n == 2 && (!strcmp(comp[1], "req") || !strcmp(comp[1], "ans") ||
				  !strcmp(comp[1], "chan")))) {
		char *v = rd(b, XBT_NULL, "/rendezvous/%u/req", d);
		if (!v && dom_alive(b, d))
			area_make(b, d); /* it removed its own req/: back it comes */
		free(v);
		return;
	}
	if (n == 3 && !strcmp(comp[1], "req")) {
		char *v = rd(b, XBT_NULL, "/rendezvous/%u/req/%s", d, comp[2]);
		if (v)
			do_request(b, d, comp[2], false);
		else if (errno == ENOENT)
			request_gone(b, d, comp[2]);
		else /* left until a restart: say so */
			logmsg(4, "domain %u request %s: cannot read it: %s", d, comp[2],
			       strerror(errno));
		free(v);
	} else if (n == 4 && !strcmp(comp[1], "chan") && !strcmp(comp[3], "state"))
		state_changed(b, d, comp[2]);
}

int broker_events(struct broker *b)
{
	char **ev;

	while (!b->lost && (ev = xs_check_watch(b->xs))) {
		const char *path = ev[XS_WATCH_PATH];
		if (!strcmp(path, "@releaseDomain")) {
			/* For the log: survivors' reports are compared with it. */
			b->released = wall_ms();
			domains_scan(b, true);
			b->released = 0;
		} else if (!strcmp(path, "@introduceDomain"))
			domains_scan(b, false);
		else if (!strncmp(path, "/rendezvous/", 12))
			event(b, path);
		free(ev);
	}
	return -b->lost;
}

int broker_tick(struct broker *b)
{
	/* An idle daemon gets no event when xenstored goes: look. */
	free(rd(b, XBT_NULL, "/rendezvous/protocol"));
	for (struct lst *l = b->lsts, *next; l && !b->lost; l = next) {
		next = l->next;
		if (count_waiting(b, l->dom, l->key) && !lst_live(b, l))
			lst_drop(b, l, "gone (its liveness port closed)");
	}
	/* Contexts that went: their channel ends close (9.11.4 item 4).
	 * Not those whose domain is going: domain_gone() tells their peers
	 * with far fewer XenStore requests, all survivors first. */
	for (struct own *o = b->owns; o; o = o->next)
		o->suspect = (o->suspect || !own_live(b, o)) && dom_alive(b, o->dom);
	for (;;) {
		struct own *o = b->owns;
		while (o && !o->suspect)
			o = o->next;
		if (!o || b->lost)
			break;
		own_died(b, o);
	}
	return -b->lost;
}

/* o's context has gone without closing what it had (9.11.4 item 4): its
 * listeners are dropped, its channel ends closed as if it had written
 * `closed`, and its refused requests that it never collected removed.
 * Listeners one at a time from the start: each drop may change the list. */
static void own_died(struct broker *b, struct own *o)
{
	unsigned n;
	char **ents, *v;
	struct lst *l;

	own_unlink(b, o); /* out of sight: a new context may get its port */
	for (;;) {
		for (l = b->lsts; l && l->own != o; l = l->next)
			;
		if (!l)
			break;
		lst_drop(b, l, "gone (its liveness port closed)");
	}
	ents = ls(b, XBT_NULL, &n, "/rendezvous/%u/chan", o->dom);
	for (unsigned i = 0; ents && i < n; i++) {
		v = rd(b, XBT_NULL, "/rendezvous/%u/chan/%s", o->dom, ents[i]);
		if (v && port_of_end(ents[i], v, NULL) == o->rport) {
			logmsg(6, "domain %u end %s: its owner has gone (its liveness port closed)",
			       o->dom, ents[i]);
			end_closed(b, o->dom, ents[i], false);
		}
		free(v);
	}
	free(ents);
	ents = ls(b, XBT_NULL, &n, "/rendezvous/%u/ans", o->dom);
	for (unsigned i = 0; ents && i < n; i++) {
		char *a = rd(b, XBT_NULL, "/rendezvous/%u/ans/%s", o->dom, ents[i]);
		v = a && !strncmp(a, "error=", 6)
			? rd(b, XBT_NULL, "/rendezvous/%u/req/%s", o->dom, ents[i])
			: NULL;
		if (v && port_of_request(v) == o->rport) {
			rm(b, XBT_NULL, "/rendezvous/%u/req/%s", o->dom, ents[i]);
			rm(b, XBT_NULL, "/rendezvous/%u/ans/%s", o->dom, ents[i]);
		}
		free(a);
		free(v);
	}
	free(ents);
	own_free(b, o);
}

/* End `name` of d found at a restart: its owner watched again, or, gone
 * while we were away, its end closed (9.11.4 item 4); its peer's domain
 * noted, to be told first if d goes. */
static void end_owner(struct broker *b, uint32_t d, const char *name)
{
	char *v = rd(b, XBT_NULL, "/rendezvous/%u/chan/%s", d, name);
	struct own *o;
	uint32_t peer = DOMS, port = v ? port_of_end(name, v, &peer) : 0;
	int err = v ? own_get(b, d, port, &o) : 0;

	free(v);
	if (peer < DOMS)
		peers_add(b, d, peer);
	if (err && err != -ENOMEM) {
		logmsg(6, "domain %u end %s: its owner went while we were away", d, name);
		end_closed(b, d, name, false);
	}
}

/* ---- start and stop ------------------------------------------------------------ */

int broker_open(struct broker **out, const struct broker_opts *o)
{
	struct broker *b = calloc(1, sizeof *b);
	const char *plat = getenv("IVC_PLATFORM");
	char *v;
	int err;

	if (!b)
		return -ENOMEM;
	b->o = *o;
	b->area = calloc(DOMS, 1);
	b->peers = calloc(DOMS, sizeof *b->peers);
	b->ops = plat && *plat ? ivc_plat_named(plat) : ivc_plat_default();
	err = !b->area || !b->peers ? -ENOMEM : !b->ops ? -ENODEV : b->ops->open(&b->plat);
	if (err) {
		free(b->area);
		free(b->peers);
		free(b);
		return err;
	}
	b->xs = xs_open(0);
	if (!b->xs) {
		err = errno ? -errno : -ENOENT;
		goto fail;
	}
	v = rd(b, XBT_NULL, "/rendezvous/protocol");
	if (!v || strcmp(v, "1")) {
		logmsg(3, "/rendezvous is %s: run mkrenddir first",
		       v ? "for another protocol version" : "missing");
		free(v);
		err = -ENOENT;
		goto fail;
	}
	free(v);
	*out = b;
	return 0;
fail:
	if (b->xs)
		xs_close(b->xs);
	b->ops->close(b->plat);
	free(b->area);
	free(b->peers);
	free(b);
	return err;
}

/* Notices (9.11.5 item 2) left by a daemon killed while it dealt with a
 * domain: that is done again by now, so any left is stale, and must go
 * before a channel is made (a guest reads a notice as true of every end
 * it had of that domain). */
static void notices_sweep(struct broker *b)
{
	unsigned n;
	uint32_t d;
	char **ents;

	for (d = 0; d < DOMS; d++) {
		if (!b->area[d])
			continue;
		ents = ls(b, XBT_NULL, &n, "/rendezvous/%u/gone", d);
		for (unsigned i = 0; ents && i < n; i++)
			rm(b, XBT_NULL, "/rendezvous/%u/gone/%s", d, ents[i]);
		free(ents);
	}
}

int broker_start(struct broker *b)
{
	unsigned nd, n;
	char **doms, **ents, pid[16];
	uint32_t d;

	if (!xs_watch(b->xs, "/rendezvous", "r") || !xs_watch(b->xs, "@releaseDomain", "d") ||
	    !xs_watch(b->xs, "@introduceDomain", "i"))
		return errno ? -errno : -EIO;
	domains_scan(b, true);
	notices_sweep(b);
	/* Listeners first, then what was asked while we were away, then the
	 * states that changed meanwhile. */
	doms = ls(b, XBT_NULL, &nd, "/rendezvous");
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; doms && i < nd; i++) {
			if (!domid_of(doms[i], &d) || !b->area[d])
				continue;
			ents = ls(b, XBT_NULL, &n, "/rendezvous/%u/req", d);
			for (unsigned j = 0; ents && j < n; j++) {
				char *v = rd(b, XBT_NULL, "/rendezvous/%u/req/%s", d, ents[j]);
				bool listen = v && !strncmp(v, "op=listen ", 10);
				free(v);
				if (listen == (pass == 0))
					do_request(b, d, ents[j], true);
			}
			free(ents);
		}
	for (unsigned i = 0; doms && i < nd; i++) {
		if (!domid_of(doms[i], &d) || !b->area[d])
			continue;
		ents = ls(b, XBT_NULL, &n, "/rendezvous/%u/chan", d);
		for (unsigned j = 0; ents && j < n; j++) {
			state_changed(b, d, ents[j]);
			end_owner(b, d, ents[j]);
		}
		free(ents);
		/* Answers whose request went while we were away. */
		ents = ls(b, XBT_NULL, &n, "/rendezvous/%u/ans", d);
		for (unsigned j = 0; ents && j < n; j++) {
			char *v = rd(b, XBT_NULL, "/rendezvous/%u/req/%s", d, ents[j]);
			if (!v)
				request_gone(b, d, ents[j]);
			free(v);
		}
		free(ents);
	}
	free(doms);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	/* Everyone reads it: it says brokered mode is on (9.11.1 item 4). */
	struct xs_permissions everyone = { 0, XS_PERM_READ };
	if (!wr(b, XBT_NULL, pid, "/rendezvous/daemon") ||
	    !xs_set_permissions(b->xs, XBT_NULL, "/rendezvous/daemon", &everyone, 1))
		return errno ? -errno : -EIO;
	return 0;
}

int broker_fd(struct broker *b)
{
	return xs_fileno(b->xs);
}

/* A new policy applies to the services already offered too: those it no
 * longer allows are dropped (their listeners' accept calls then fail). */
void broker_set_policy(struct broker *b, struct policy *p)
{
	char name[64];
	int line;

	policy_free(b->o.policy);
	b->o.policy = p;
	for (struct lst *l = b->lsts, *next; l; l = next) {
		next = l->next;
		dom_name(b, l->dom, name, sizeof name);
		if (!policy_allows(p, POL_LISTEN, l->rec.svc.name, (struct pol_who){ l->dom, name },
				   (struct pol_who){ 0, "" }, &line))
			lst_drop(b, l, "no longer allowed by the policy");
	}
}

void broker_close(struct broker *b)
{
	if (!b)
		return;
	rm(b, XBT_NULL, "/rendezvous/daemon");
	while (b->lsts) {
		struct lst *l = b->lsts;
		b->lsts = l->next;
		free(l);
	}
	while (b->owns)
		own_free(b, b->owns);
	xs_close(b->xs);
	b->ops->close(b->plat);
	policy_free(b->o.policy);
	for (uint32_t d = 0; b->peers && d < DOMS; d++)
		free(b->peers[d].v);
	free(b->peers);
	free(b->area);
	free(b);
}
