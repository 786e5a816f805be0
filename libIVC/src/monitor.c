/* SPDX-License-Identifier: MIT */
/*
 * monitor.c - every channel and service on the host, as dom0 sees it
 * (spec section 11): ivc_mon_open/scan/close.
 *
 * A scan lists XenStore: direct-mode services and presence nodes under
 * every /local/domain/<D>/data, brokered-mode records and channel ends
 * under /rendezvous. Each channel's control page is then read through a
 * privileged, read-only "peek" of the listener's grant (the platform's
 * peek op): the figures come from the page itself, without the peers'
 * help. Peeks are kept from scan to scan, keyed by channel id and
 * checked against the reference published for it. Everything read, from
 * XenStore or the page, was written by a domain that may lie: it is
 * parsed strictly, copied once, and only ever displayed.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ivc_mon_chan.flags, inside a scan only: a direct channel's type name and
 * version are known (its presence value), its mode and direction not yet. */
#define F_TYPENAME 0x80000000u

struct peek {
	char id[48];
	uint32_t domid, gref;
	const void *addr;
	struct ivc_plat_peek *pk;
	bool seen;
};

/* A growing array of n elements of size sz. */
struct vec {
	void *v;
	size_t n, cap, sz;
};

/* A brokered channel end (9.11.1), before the two ends are paired. */
struct bend {
	uint32_t domid;
	char x[40]; /* the channel name, without l/c */
	bool listener;
	bool typed; /* listener ends: the listen record was found */
	struct ivc_svc_rec svc;
	uint32_t peer;
	char state[16];
	char offer[IVC_WIRE_MAX_CTRL_PAGES * 11 + 32];
};

struct ivc_mon {
	struct ivc_ctx *ctx;
	struct vec peeks, doms, svcs, chans, ends;
};

static struct xst mxs(const struct ivc_mon *m)
{
	return (struct xst){ m->ctx->ops, m->ctx->xs };
}

static void *vec_add(struct vec *a)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		void *v = realloc(a->v, cap * a->sz);
		if (!v)
			return NULL;
		a->v = v;
		a->cap = cap;
	}
	return memset((char *)a->v + a->n++ * a->sz, 0, a->sz);
}

/* Strings from domains are shown to people: printable ASCII only. */
static void copy_clean(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < cap; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = 0;
}

/* Paths: root, then the domain id unless NOD, then the parts that are
 * not NULL, each after a "/". */
#define NOD UINT32_MAX
#define LD "/local/domain"
#define RDV "/rendezvous"

static void mkpath(char *buf, size_t cap, const char *root, uint32_t d, const char *a,
		   const char *b, const char *c)
{
	const char *part[3] = { a, b, c };
	size_t n = (size_t)snprintf(buf, cap, "%s", root);

	if (d != NOD && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, "/%u", d);
	for (int i = 0; i < 3; i++)
		if (part[i] && n < cap)
			n += (size_t)snprintf(buf + n, cap - n, "/%s", part[i]);
}

/* A node's value, or NULL (a missing node and a refusal look alike here). */
static char *get(struct ivc_mon *m, const char *root, uint32_t d, const char *a, const char *b,
		 const char *c)
{
	char path[512], *v = NULL;

	mkpath(path, sizeof path, root, d, a, b, c);
	if (ivc__xs_read(mxs(m), 0, path, &v)) {
		free(v);
		return NULL;
	}
	return v;
}

/* A directory's entries (none if it cannot be listed). */
static void list(struct ivc_mon *m, char ***ents, unsigned *n, const char *root, uint32_t d,
		 const char *a, const char *b)
{
	char path[512];

	mkpath(path, sizeof path, root, d, a, b, NULL);
	*ents = NULL;
	*n = 0;
	if (m->ctx->ops->store_dir(m->ctx->xs, 0, path, ents, n)) {
		*ents = NULL;
		*n = 0;
	}
}

/* ---- domains -------------------------------------------------------- */

static int scan_domains(struct ivc_mon *m)
{
	char **ents;
	unsigned n;
	int err = m->ctx->ops->store_dir(m->ctx->xs, 0, LD, &ents, &n);

	for (unsigned i = 0; i < n && !err; i++) {
		uint32_t d;
		if (ivc__parse_u32(ents[i], IVC_DOMID_MAX, &d))
			continue;
		struct ivc_mon_domain *md = vec_add(&m->doms);
		if (!md) {
			err = -ENOMEM;
			break;
		}
		char *name = get(m, LD, d, "name", NULL, NULL);
		md->domid = d;
		copy_clean(md->name, sizeof md->name, name);
		free(name);
	}
	free(ents);
	return err;
}

/* ---- direct mode ---------------------------------------------------- */

/* B/key as a number, or -EPROTO. */
static int adv_u32(struct ivc_mon *m, uint32_t d, const char *svc, const char *key, uint32_t *out)
{
	char *v = get(m, LD, d, "data/ivc", svc, key);
	int err = v ? ivc__parse_u32(v, UINT32_MAX, out) : -EPROTO;

	free(v);
	return err;
}

static int adv_str(struct ivc_mon *m, uint32_t d, const char *svc, const char *key, char *out,
		   size_t cap)
{
	char *v = get(m, LD, d, "data/ivc", svc, key);
	int err = v && strlen(v) < cap ? 0 : -EPROTO;

	if (!err)
		memcpy(out, v, strlen(v) + 1);
	free(v);
	return err;
}

/* An advertisement (9.2) as a service record; -EPROTO unless complete
 * and one a listener could have made (9.5 item 2). */
static int read_adv(struct ivc_mon *m, uint32_t d, const char *name, struct ivc_svc_rec *s)
{
	static const char *const nums[4] = { "ring0-bytes", "ring1-bytes", "ring0-max-msg",
					     "ring1-max-msg" };
	uint32_t *out[4] = { &s->ring[0], &s->ring[1], &s->max[0], &s->max[1] };
	uint32_t proto;
	enum ivc_dir ld;
	int err = adv_u32(m, d, name, "protocol", &proto);

	if (!err && proto != IVC_WIRE_VERSION)
		err = -EPROTO;
	if (!err)
		err = adv_str(m, d, name, "type", s->t.type, sizeof s->t.type);
	if (!err)
		err = adv_u32(m, d, name, "version", &s->t.version);
	if (!err)
		err = adv_str(m, d, name, "mode", s->t.mode, sizeof s->t.mode);
	if (!err)
		err = adv_str(m, d, name, "direction", s->t.dir, sizeof s->t.dir);
	for (int i = 0; i < 4 && !err; i++)
		err = adv_u32(m, d, name, nums[i], out[i]);
	if (!err && (!ivc__name_ok(s->t.type) || ivc__dir_parse(s->t.dir, &ld) ||
		     !ivc__geometry_ok(s->t.mode, ld, s->ring, s->max)))
		err = -EPROTO;
	snprintf(s->name, sizeof s->name, "%s", name);
	return err;
}

/* What both modes' records say of a service, in the public form. */
static void svc_fill(struct ivc_mon_service *o, uint32_t d, uint32_t flags,
		     const struct ivc_svc_rec *s)
{
	enum ivc_dir dir = IVC_INOUT;

	ivc__dir_parse(s->t.dir, &dir);
	o->domid = d;
	o->flags = flags | IVC_MON_TYPED;
	copy_clean(o->name, sizeof o->name, s->name);
	copy_clean(o->type, sizeof o->type, s->t.type);
	o->version = s->t.version;
	o->mode = strcmp(s->t.mode, "stream") ? IVC_MESSAGE : IVC_STREAM;
	o->dir = dir;
	memcpy(o->ring, s->ring, sizeof o->ring);
	memcpy(o->max_msg, s->max, sizeof o->max_msg);
}

static int direct_services(struct ivc_mon *m, uint32_t d)
{
	char **ents;
	unsigned n;
	int err = 0;

	list(m, &ents, &n, LD, d, "data/ivc", NULL);
	for (unsigned i = 0; i < n && !err; i++) {
		struct ivc_svc_rec s = { 0 };
		struct ivc_mon_service *o;
		if (!ivc__service_ok(ents[i]) || read_adv(m, d, ents[i], &s))
			continue; /* not (yet) a whole advertisement */
		o = vec_add(&m->svcs);
		if (!o)
			err = -ENOMEM;
		else
			svc_fill(o, d, 0, &s);
	}
	free(ents);
	return err;
}

/* The public record of a new channel; NULL without memory. */
static struct ivc_mon_chan *chan_add(struct ivc_mon *m, const char *id, uint32_t l, uint32_t c,
				     const char *service, uint32_t flags)
{
	struct ivc_mon_chan *ch = vec_add(&m->chans);

	if (ch) {
		copy_clean(ch->id, sizeof ch->id, id);
		ch->listener = l;
		ch->client = c;
		copy_clean(ch->service, sizeof ch->service, service);
		ch->flags = flags;
		ch->state = IVC_MON_OPEN;
	}
	return ch;
}

/* A presence node's name, "<id>_<service>" (listener, 9.4) or
 * "<S>_<id>_<service>" (client, 9.3 item 3), split; -EPROTO if it is
 * neither. */
static int split_presence(const char *name, bool client, uint32_t *server, char *id, size_t icap,
			  char *svc, size_t scap)
{
	const char *p = name, *u;
	uint32_t c;
	char num[12];

	if (client) {
		u = strchr(p, '_');
		if (!u || (size_t)(u - p) >= sizeof num)
			return -EPROTO;
		memcpy(num, p, (size_t)(u - p));
		num[u - p] = 0;
		if (ivc__parse_u32(num, IVC_DOMID_MAX, server))
			return -EPROTO;
		p = u + 1;
	}
	u = strchr(p, '_');
	if (!u || (size_t)(u - p) >= icap || strlen(u + 1) >= scap)
		return -EPROTO;
	memcpy(id, p, (size_t)(u - p));
	id[u - p] = 0;
	memcpy(svc, u + 1, strlen(u + 1) + 1);
	return ivc__parse_id(id, &c) || !ivc__service_ok(svc) ? -EPROTO : 0;
}

/* Calls fn for every presence node of d's `kind` ("ivc-listener" or
 * "ivc-client"), in every bucket. */
typedef int (*presence_fn)(struct ivc_mon *m, uint32_t d, const char *bucket, const char *name);

static int each_presence(struct ivc_mon *m, uint32_t d, const char *kind, presence_fn fn)
{
	char **bk, **ents, sub[64];
	unsigned nb, n;
	int err = 0;

	list(m, &bk, &nb, LD, d, "data", kind);
	for (unsigned b = 0; b < nb && !err; b++) {
		if (strlen(bk[b]) != 2)
			continue;
		snprintf(sub, sizeof sub, "%s/%s", kind, bk[b]);
		list(m, &ents, &n, LD, d, "data", sub);
		for (unsigned i = 0; i < n && !err; i++)
			err = fn(m, d, sub, ents[i]);
		free(ents);
	}
	free(bk);
	return err;
}

/* The counters' home: channel id -> (domain, grant) to peek at. Kept in
 * the id's slot of m->peeks (made here). */
static struct peek *peek_find(struct ivc_mon *m, const char *id)
{
	struct peek *p = m->peeks.v;

	for (size_t i = 0; i < m->peeks.n; i++)
		if (!strcmp(p[i].id, id))
			return &p[i];
	return NULL;
}

static struct peek *peek_slot(struct ivc_mon *m, const char *id)
{
	struct peek *p = peek_find(m, id);

	if (p)
		return p;
	p = vec_add(&m->peeks);
	if (p)
		snprintf(p->id, sizeof p->id, "%s", id);
	return p;
}

static void want_peek(struct ivc_mon *m, const char *id, uint32_t domid, uint32_t gref)
{
	struct peek *p = peek_slot(m, id);

	if (!p)
		return;
	if (p->pk && (p->domid != domid || p->gref != gref)) {
		m->ctx->ops->unpeek(m->ctx->plat, p->pk);
		p->pk = NULL;
	}
	p->domid = domid;
	p->gref = gref;
	p->seen = true;
}

static int listener_presence(struct ivc_mon *m, uint32_t d, const char *sub, const char *name)
{
	char id[40], svc[NAME_MAX_LEN + 1], cid[48], *v;
	struct ivc_monitor_rec r;
	struct ivc_mon_chan *ch;
	uint32_t client;

	if (split_presence(name, false, NULL, id, sizeof id, svc, sizeof svc))
		return 0;
	ivc__parse_id(id, &client);
	snprintf(cid, sizeof cid, "%u:%s", d, id);
	ch = chan_add(m, cid, d, client, svc, 0);
	if (!ch)
		return -ENOMEM;
	v = get(m, LD, d, "data", sub, name);
	if (v && ivc__parse_monitor(v, &r) == 0) {
		ch->flags |= F_TYPENAME;
		copy_clean(ch->type, sizeof ch->type, r.type);
		ch->version = r.version;
		want_peek(m, cid, d, r.ref);
	}
	free(v);
	return 0;
}

static struct ivc_mon_chan *chan_find(struct ivc_mon *m, const char *id)
{
	struct ivc_mon_chan *ch = m->chans.v;

	for (size_t i = 0; i < m->chans.n; i++)
		if (!strcmp(ch[i].id, id))
			return &ch[i];
	return NULL;
}

static bool dom_known(const struct ivc_mon *m, uint32_t d)
{
	const struct ivc_mon_domain *md = m->doms.v;

	for (size_t i = 0; i < m->doms.n; i++)
		if (md[i].domid == d)
			return true;
	return false;
}

/* A client's presence without its listener's: the request is still
 * waiting (its doorbell or the offer is there), or the listener's end is
 * gone (with its domain: the peer died). */
static int client_presence(struct ivc_mon *m, uint32_t d, const char *bucket, const char *name)
{
	char id[40], svc[NAME_MAX_LEN + 1], cid[48], node[96], *rq, *of = NULL;
	struct ivc_mon_chan *ch;
	uint32_t server;

	(void)bucket;
	if (split_presence(name, true, &server, id, sizeof id, svc, sizeof svc))
		return 0;
	snprintf(cid, sizeof cid, "%u:%s", server, id);
	if (chan_find(m, cid))
		return 0;
	ch = chan_add(m, cid, server, d, svc, 0);
	if (!ch)
		return -ENOMEM;
	snprintf(node, sizeof node, "requests/%s", id);
	rq = get(m, LD, server, "data/ivc", svc, node);
	if (!rq) {
		snprintf(node, sizeof node, "conn/%s", id);
		of = get(m, LD, server, "data/ivc", svc, node);
	}
	ch->state = rq || of                ? IVC_MON_CONNECTING
		    : !dom_known(m, server) ? IVC_MON_PEER_DEAD
					    : IVC_MON_CLOSED;
	free(rq);
	free(of);
	return 0;
}

/* ---- brokered mode -------------------------------------------------- */

static int broker_services(struct ivc_mon *m, uint32_t d)
{
	char **ents, *v, *a;
	unsigned n;
	int err = 0;

	list(m, &ents, &n, RDV, d, "req", NULL);
	for (unsigned i = 0; i < n && !err; i++) {
		struct ivc_listen_rec r;
		struct ivc_mon_service *o;
		v = get(m, RDV, d, "req", ents[i], NULL);
		a = get(m, RDV, d, "ans", ents[i], NULL);
		if (v && a && !strcmp(a, "ok") && ivc__parse_listen(v, &r) == 0) {
			o = vec_add(&m->svcs);
			if (!o)
				err = -ENOMEM;
			else
				svc_fill(o, d, IVC_MON_BROKERED, &r.svc);
		}
		free(v);
		free(a);
	}
	free(ents);
	return err;
}

/* A listener end's service: the record of the listen key it names. */
static bool lend_service(struct ivc_mon *m, uint32_t d, const char *key, struct ivc_svc_rec *s)
{
	struct ivc_listen_rec r;
	char *v = get(m, RDV, d, "req", key, NULL);
	bool ok = v && ivc__parse_listen(v, &r) == 0;

	if (ok)
		*s = r.svc;
	free(v);
	return ok;
}

static int read_end(struct ivc_mon *m, uint32_t d, const char *e, struct bend *b)
{
	char *v = get(m, RDV, d, "chan", e, NULL), *st, *of;
	struct ivc_lend_rec lr;
	struct ivc_cend_rec cr;
	int err = -EPROTO;

	b->domid = d;
	b->listener = e[0] == 'l';
	snprintf(b->x, sizeof b->x, "%s", e + 1);
	if (v && b->listener && ivc__parse_lend(v, &lr) == 0) {
		b->peer = lr.peer;
		b->typed = lend_service(m, d, lr.listen, &b->svc);
		err = 0;
	} else if (v && !b->listener && ivc__parse_cend(v, &cr) == 0) {
		b->peer = cr.peer;
		b->svc = cr.svc;
		b->typed = true;
		of = get(m, RDV, d, "chan", e, "offer");
		copy_clean(b->offer, sizeof b->offer, of);
		free(of);
		err = 0;
	}
	st = get(m, RDV, d, "chan", e, "state");
	copy_clean(b->state, sizeof b->state, st);
	free(st);
	free(v);
	return err;
}

static int broker_ends(struct ivc_mon *m, uint32_t d)
{
	char **ents;
	unsigned n;
	int err = 0;

	list(m, &ents, &n, RDV, d, "chan", NULL);
	for (unsigned i = 0; i < n && !err; i++) {
		uint32_t c;
		struct bend b = { 0 }, *o;
		if ((ents[i][0] != 'l' && ents[i][0] != 'c') || ivc__parse_id(ents[i] + 1, &c) ||
		    read_end(m, d, ents[i], &b))
			continue;
		o = vec_add(&m->ends);
		if (!o)
			err = -ENOMEM;
		else
			*o = b;
	}
	free(ents);
	return err;
}

/* Without the page, the ends' states say what they can (9.11.3-4). */
static enum ivc_mon_state broker_state(const char *ls, const char *cs)
{
	if (!strcmp(ls, "dead") || !strcmp(cs, "dead"))
		return IVC_MON_PEER_DEAD;
	if (!strcmp(ls, "closed") || !strcmp(cs, "closed"))
		return IVC_MON_CLOSED;
	if (!strcmp(ls, "open") && !strcmp(cs, "open"))
		return IVC_MON_OPEN;
	return IVC_MON_CONNECTING;
}

static void chan_type(struct ivc_mon_chan *ch, const struct ivc_svc_rec *s)
{
	ch->flags |= IVC_MON_TYPED;
	copy_clean(ch->type, sizeof ch->type, s->t.type);
	ch->version = s->t.version;
	ch->mode = strcmp(s->t.mode, "stream") ? IVC_MESSAGE : IVC_STREAM;
	ivc__dir_parse(s->t.dir, &ch->dir);
}

/* Channel X from its ends (either may be gone already). */
static int broker_chan(struct ivc_mon *m, const struct bend *l, const struct bend *c)
{
	struct ivc_mon_chan *ch =
	    chan_add(m, (l ? l : c)->x, l ? l->domid : c->peer, c ? c->domid : l->peer,
		     c          ? c->svc.name
		     : l->typed ? l->svc.name
				: "?",
		     IVC_MON_BROKERED);
	struct ivc_offer_rec of;
	uint32_t refs[IVC_WIRE_MAX_CTRL_PAGES], n;

	if (!ch)
		return -ENOMEM;
	if (c || l->typed)
		chan_type(ch, c ? &c->svc : &l->svc);
	ch->state = broker_state(l ? l->state : "closed", c ? c->state : "closed");
	/* An end gone with its domain: that peer died. */
	if ((!l && !dom_known(m, ch->listener)) || (!c && !dom_known(m, ch->client)))
		ch->state = IVC_MON_PEER_DEAD;
	if (c && ivc__parse_offer(c->offer, &of) == 0 && ivc__parse_refs(of.refs, refs, &n) == 0)
		want_peek(m, ch->id, ch->listener, refs[0]);
	return 0;
}

/* Pairs the ends of each channel X: the listener's in S's area, the
 * client's in C's. */
static int broker_pair(struct ivc_mon *m)
{
	const struct bend *e = m->ends.v;
	int err = 0;

	for (size_t i = 0; i < m->ends.n && !err; i++) {
		const struct bend *other = NULL;
		size_t k;
		for (k = 0; k < m->ends.n; k++)
			if (k != i && e[k].listener != e[i].listener && !strcmp(e[k].x, e[i].x))
				break;
		if (k < i)
			continue; /* made with its other end */
		if (k < m->ends.n)
			other = &e[k];
		err = e[i].listener ? broker_chan(m, &e[i], other) : broker_chan(m, other, &e[i]);
	}
	return err;
}

/* ---- the control pages ---------------------------------------------- */

/* Single loads of fields the peers keep changing. Relaxed: the figures
 * are shown, never acted on, so no order between them is needed. */
static uint64_t ld64(const uint64_t *p)
{
	return atomic_load_explicit((const _Atomic uint64_t *)p, memory_order_relaxed);
}

static uint32_t ld32(const uint32_t *p)
{
	return atomic_load_explicit((const _Atomic uint32_t *)p, memory_order_relaxed);
}

static uint8_t ld8(const uint8_t *p)
{
	return atomic_load_explicit((const _Atomic uint8_t *)p, memory_order_relaxed);
}

static enum ivc_mon_state page_state(const struct ivc_wire_ctrl *w, const uint32_t used[2])
{
	uint8_t l0 = ld8(&w->side[0].live), l1 = ld8(&w->side[1].live);
	uint8_t c0 = ld8(&w->side[0].closed), c1 = ld8(&w->side[1].closed);
	uint8_t a1 = ld8(&w->side[1].attached);

	if (c0 == IVC_WIRE_CLOSED_YES || c1 == IVC_WIRE_CLOSED_YES)
		return used[0] || used[1] ? IVC_MON_DRAINING : IVC_MON_CLOSED;
	if (l0 != IVC_WIRE_LIVE_UP || (a1 == IVC_WIRE_ATTACHED_YES && l1 != IVC_WIRE_LIVE_UP))
		return IVC_MON_PEER_DEAD;
	return a1 == IVC_WIRE_ATTACHED_YES ? IVC_MON_OPEN : IVC_MON_CONNECTING;
}

/* The page's figures into ch; false if the page is not (or no longer)
 * a control area that fits what XenStore said. Each field is loaded once
 * and checked before use. */
static bool read_page(const struct ivc_wire_ctrl *w, struct ivc_mon_chan *out)
{
	uint32_t mode = ld32(&w->hdr.mode);
	struct ivc_mon_chan t = *out, *ch = &t;

	if (ld32(&w->hdr.magic) != IVC_WIRE_MAGIC || ld32(&w->hdr.version) != IVC_WIRE_VERSION ||
	    mode > IVC_WIRE_MODE_STREAM)
		return false;
	if (ld32(&w->hdr.ring[0].order) == IVC_WIRE_ORDER_NONE &&
	    ld32(&w->hdr.ring[1].order) == IVC_WIRE_ORDER_NONE)
		return false; /* no channel has neither ring */
	for (int r = 0; r < 2; r++) {
		uint32_t o = ld32(&w->hdr.ring[r].order);
		if (o != IVC_WIRE_ORDER_NONE && (o < IVC_WIRE_MIN_ORDER || o > IVC_WIRE_MAX_ORDER))
			return false;
		ch->ring[r] = o ? 1u << o : 0;
		/* cons before prod: both move while we look, and prod never
		 * passes the cons of before, so the difference is never negative;
		 * it may exceed the ring by what moved in between (or a lie). */
		uint32_t cons = ld32(&w->ring[r].c.cons);
		ch->used[r] = ld32(&w->ring[r].p.prod) - cons;
		if (ch->used[r] > ch->ring[r])
			ch->used[r] = ch->ring[r];
		ch->msgs[r] = ld64(&w->ring[r].p.msgs);
		ch->bytes[r] = ld64(&w->ring[r].p.bytes);
		ch->notifies[r] = ld64(&w->side[r].notifies);
	}
	if ((ch->flags & IVC_MON_TYPED) &&
	    (ch->mode != (mode == IVC_WIRE_MODE_STREAM ? IVC_STREAM : IVC_MESSAGE) ||
	     (ch->ring[0] != 0) != ((ch->dir & IVC_OUT) != 0) ||
	     (ch->ring[1] != 0) != ((ch->dir & IVC_IN) != 0)))
		return false;
	ch->mode = mode == IVC_WIRE_MODE_STREAM ? IVC_STREAM : IVC_MESSAGE;
	if (!(ch->flags & IVC_MON_TYPED))
		ch->dir = (ch->ring[0] ? IVC_OUT : 0) | (ch->ring[1] ? IVC_IN : 0);
	ch->created = (int64_t)ld64(&w->hdr.created);
	ch->state = page_state(w, ch->used);
	*out = t;
	return true;
}

/* A direct channel whose page could not be read: mode and direction
 * from its service's advertisement, if it is still there and the same. */
static void type_from_service(struct ivc_mon *m, struct ivc_mon_chan *ch)
{
	const struct ivc_mon_service *s = m->svcs.v;

	for (size_t i = 0; i < m->svcs.n; i++)
		if (!(s[i].flags & IVC_MON_BROKERED) && s[i].domid == ch->listener &&
		    !strcmp(s[i].name, ch->service) && !strcmp(s[i].type, ch->type) &&
		    s[i].version == ch->version) {
			ch->mode = s[i].mode;
			ch->dir = s[i].dir;
			ch->flags |= IVC_MON_TYPED;
		}
}

static void counters(struct ivc_mon *m, struct ivc_mon_chan *ch)
{
	const struct ivc_plat_ops *ops = m->ctx->ops;
	struct peek *p = peek_find(m, ch->id);

	if (p && p->seen && !p->pk && ops->peek(m->ctx->plat, p->domid, p->gref, &p->addr, &p->pk))
		p->pk = NULL;
	if (p && p->seen && p->pk && read_page(p->addr, ch))
		ch->flags |= IVC_MON_COUNTERS | (ch->flags & F_TYPENAME ? IVC_MON_TYPED : 0);
	else if (ch->flags & F_TYPENAME)
		type_from_service(m, ch);
	ch->flags &= ~F_TYPENAME;
}

/* ---- the scan ------------------------------------------------------- */

static void count_service(struct ivc_mon *m, const struct ivc_mon_chan *ch)
{
	struct ivc_mon_service *s = m->svcs.v;

	for (size_t i = 0; i < m->svcs.n; i++)
		if (s[i].domid == ch->listener && !strcmp(s[i].name, ch->service) &&
		    (s[i].flags & IVC_MON_BROKERED) == (ch->flags & IVC_MON_BROKERED))
			s[i].channels++;
}

static int scan_areas(struct ivc_mon *m)
{
	const struct ivc_mon_domain *d = m->doms.v;
	char **ents;
	unsigned n;
	int err = 0;

	for (size_t i = 0; i < m->doms.n && !err; i++) {
		err = direct_services(m, d[i].domid);
		if (!err)
			err = each_presence(m, d[i].domid, "ivc-listener", listener_presence);
	}
	for (size_t i = 0; i < m->doms.n && !err; i++)
		err = each_presence(m, d[i].domid, "ivc-client", client_presence);
	/* Brokered mode: every area the daemon made (also of domains gone
	 * from /local/domain that it has not cleaned up yet). */
	list(m, &ents, &n, RDV, NOD, NULL, NULL);
	for (unsigned i = 0; i < n && !err; i++) {
		uint32_t dd;
		if (ivc__parse_u32(ents[i], IVC_DOMID_MAX, &dd))
			continue;
		err = broker_services(m, dd);
		if (!err)
			err = broker_ends(m, dd);
	}
	free(ents);
	return err ? err : broker_pair(m);
}

/* Shell sort (the guest's libc has no qsort): n elements of size sz. */
static void sort(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
	static const size_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
	char *b = base, tmp[sizeof(struct ivc_mon_chan)];

	for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++)
		for (size_t i = gaps[g]; i < n; i++) {
			size_t j = i;
			memcpy(tmp, b + i * sz, sz);
			for (; j >= gaps[g] && cmp(b + (j - gaps[g]) * sz, tmp) > 0; j -= gaps[g])
				memcpy(b + j * sz, b + (j - gaps[g]) * sz, sz);
			memcpy(b + j * sz, tmp, sz);
		}
}

static int dom_cmp(const void *a, const void *b)
{
	const struct ivc_mon_domain *x = a, *y = b;

	return x->domid < y->domid ? -1 : x->domid > y->domid;
}

static int chan_cmp(const void *a, const void *b)
{
	const struct ivc_mon_chan *x = a, *y = b;

	if (x->listener != y->listener)
		return x->listener < y->listener ? -1 : 1;
	int c = strcmp(x->service, y->service);
	return c ? c : strcmp(x->id, y->id);
}

static int svc_cmp(const void *a, const void *b)
{
	const struct ivc_mon_service *x = a, *y = b;

	if (x->domid != y->domid)
		return x->domid < y->domid ? -1 : 1;
	int c = strcmp(x->name, y->name);
	return c ? c : (int)(x->flags & IVC_MON_BROKERED) - (int)(y->flags & IVC_MON_BROKERED);
}

/* Peeks of channels this scan did not see go. */
static void peeks_sweep(struct ivc_mon *m)
{
	struct peek *p = m->peeks.v;
	size_t k = 0;

	for (size_t i = 0; i < m->peeks.n; i++) {
		if (!p[i].seen) {
			if (p[i].pk)
				m->ctx->ops->unpeek(m->ctx->plat, p[i].pk);
			continue;
		}
		p[i].seen = false;
		p[k++] = p[i];
	}
	m->peeks.n = k;
}

int ivc_mon_scan(struct ivc_mon *m, struct ivc_mon_snap *snap)
{
	int err;

	if (!m || !snap)
		return -EINVAL;
	m->doms.n = m->svcs.n = m->chans.n = m->ends.n = 0;
	err = scan_domains(m);
	if (!err)
		err = scan_areas(m);
	if (!err) {
		struct ivc_mon_chan *ch = m->chans.v;
		for (size_t i = 0; i < m->chans.n; i++) {
			counters(m, &ch[i]);
			count_service(m, &ch[i]);
		}
		sort(ch, m->chans.n, sizeof *ch, chan_cmp);
		sort(m->svcs.v, m->svcs.n, sizeof(struct ivc_mon_service), svc_cmp);
		sort(m->doms.v, m->doms.n, sizeof(struct ivc_mon_domain), dom_cmp);
	}
	peeks_sweep(m);
	if (err)
		return err;
	*snap = (struct ivc_mon_snap){ m->doms.v,           m->doms.n,
				       m->svcs.v,           m->svcs.n,
				       m->chans.v,          m->chans.n,
				       ivc__now_ms(m->ctx), m->ctx->ops->wall_ms() };
	return 0;
}

int ivc_mon_open(struct ivc_ctx *ctx, struct ivc_mon **out)
{
	struct ivc_mon *m;
	char **ents = NULL;
	unsigned n = 0;
	int err;

	if (!ctx || !out)
		return -EINVAL;
	/* Only a domain that may list every area sees the host. */
	err = ctx->ops->store_dir(ctx->xs, 0, "/local/domain", &ents, &n);
	free(ents);
	if (err)
		return err == -ENOENT ? -EACCES : err;
	m = calloc(1, sizeof *m);
	if (!m)
		return -ENOMEM;
	m->ctx = ctx;
	m->peeks.sz = sizeof(struct peek);
	m->doms.sz = sizeof(struct ivc_mon_domain);
	m->svcs.sz = sizeof(struct ivc_mon_service);
	m->chans.sz = sizeof(struct ivc_mon_chan);
	m->ends.sz = sizeof(struct bend);
	_Static_assert(sizeof(struct ivc_mon_chan) >= sizeof(struct ivc_mon_service) &&
			   sizeof(struct ivc_mon_chan) >= sizeof(struct ivc_mon_domain),
		       "sort()'s buffer holds any element");
	*out = m;
	return 0;
}

void ivc_mon_close(struct ivc_mon *m)
{
	if (!m)
		return;
	struct peek *p = m->peeks.v;
	for (size_t i = 0; i < m->peeks.n; i++)
		if (p[i].pk)
			m->ctx->ops->unpeek(m->ctx->plat, p[i].pk);
	free(m->peeks.v);
	free(m->doms.v);
	free(m->svcs.v);
	free(m->chans.v);
	free(m->ends.v);
	free(m);
}

const char *ivc_mon_state_name(enum ivc_mon_state s)
{
	static const char *const names[] = { "connecting", "open", "draining", "closed",
					     "peer-dead" };

	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}
