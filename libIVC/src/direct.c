/* SPDX-License-Identifier: MIT */
/*
 * direct.c - direct rendezvous (protocol-spec section 9): a listener in
 * domain S publishes under B = /local/domain/S/data/ivc/<name>; a client
 * C rings a doorbell it owns under B/requests/, the listener answers with
 * an offer (or a refusal) under B/conn/<id> readable only by C. Each side
 * keeps a presence node in its own domain's area that the other may read
 * and remove. This file turns those XenStore strings into the typed values
 * chan.c works with, and back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Refusals kept under B/conn for their clients to read (spec 9.4): at
 * most this many, each at most REFUSAL_MS, so that a client ringing
 * mismatching requests cannot fill the listener's XenStore quota. */
#define MAX_REFUSALS 64
#define REFUSAL_MS 10000
/* Channels per context that watch their peer's presence node. XenStore
 * counts watches per domain (C xenstored: 128 for a domU, shared with its
 * kernel and other processes); the rest of the domain's listeners and
 * connects need theirs, so beyond this channels read the node instead. */
#define MAX_PEER_WATCHES 32
/* Control pages' references: decimal, comma-separated. */
#define REFS_MAX (IVC_WIRE_MAX_CTRL_PAGES * 11)

/* What B/protocol holds, written last by the listener and checked by the
 * client: the wire version. */
_Static_assert(IVC_WIRE_VERSION == 1u, "B/protocol below says 1");
static const char protocol_str[] = "1";

/* A channel's direct-mode state. */
struct dchan {
	char offer[224]; /* listener: the offer directory to remove */
	/* The peer's presence node: in its domain's area, it lives as long
	 * as the peer's end and its domain (spec 9.8). Where Xen will not
	 * say whether the peer's domain lives (a domU), its disappearance
	 * is the sign of death. */
	char peer_node[224];
	char own_node[224]; /* our presence node, to remove */
	/* Where the peer's domain cannot be asked about: the context's
	 * XenStore connection watches peer_node for the channel (its events
	 * count in c->obj.fired), in watch slot wslot. */
	bool watching;
	int wslot;
};

struct dlistener {
	int wslot; /* the requests watch, for l->obj */
	char base[128];
	struct ivc_offers offers; /* waiting for their clients */
	struct refusal {
		char conn[224]; /* B/conn/<id> */
		int64_t until;
	} refused[MAX_REFUSALS]; /* oldest first */
	int nrefused;
};

static struct dchan *dch(const struct ivc_chan *c)
{
	return c->rdv;
}

/* The context's XenStore connection (safe from several threads). */
static struct xst ctx_xs(struct ivc_ctx *ctx)
{
	return (struct xst){ ctx->ops, ctx->xs };
}

/* Presence nodes are spread over PRESENCE_BUCKETS directories by their
 * request id (spec 9.3): XenStore counts a directory's child names against
 * its 2048-byte node size, which one directory would reach at about 80
 * channels. FNV-1a, so that both ends find the same bucket. */
#define PRESENCE_BUCKETS 64u
static unsigned bucket_of(const char *id)
{
	return ivc__fnv1a(id, strlen(id)) % PRESENCE_BUCKETS;
}

/* The client's presence node (spec 9.3): in its own domain's area, so
 * that the toolstack removes it with the domain. Neither the domain id
 * nor the request id holds a '_', so the name reads back unambiguously. */
static void presence_path(char *buf, size_t size, uint32_t client, uint32_t server,
			  const char *name, const char *id)
{
	snprintf(buf, size, "/local/domain/%u/data/ivc-client/%02x/%u_%s_%s", client, bucket_of(id),
		 server, id, name);
}

/* The listener's, for one channel; the id names the client. */
static void lpresence_path(char *buf, size_t size, uint32_t server, const char *name,
			   const char *id)
{
	snprintf(buf, size, "/local/domain/%u/data/ivc-listener/%02x/%s_%s", server, bucket_of(id),
		 id, name);
}

/* ---- the peer's presence ------------------------------------------- */

/* True if the peer's node is gone from XenStore: its end closed (then the
 * core says so first) or the toolstack removed its domain's area. A node
 * we may read that is gone reads as EACCES when its nearest remaining
 * ancestor is not ours to read (xenstored hides what it would reveal):
 * /local/domain itself, once the whole area has gone. */
static bool peer_gone(struct ivc_chan *c)
{
	struct dchan *d = dch(c);
	struct ivc_ctx *ctx = c->ctx;
	char *v = NULL;
	int err;

	if (!d || !d->peer_node[0])
		return false;
	err = ivc__xs_read(ctx_xs(ctx), 0, d->peer_node, &v);
	free(v);
	return err == -ENOENT || err == -EACCES;
}

static bool peer_watched(const struct ivc_chan *c)
{
	return dch(c) && dch(c)->watching;
}

static void watches_add(struct ivc_ctx *ctx, int n)
{
	ctx->ops->lock(ctx->plat);
	ctx->peer_watches += n;
	ctx->ops->unlock(ctx->plat);
}

/* Ends the watch of watch_peer(). */
static void unwatch_peer(struct ivc_chan *c)
{
	struct dchan *d = dch(c);

	ivc__unwatch(c->ctx, d->peer_node, d->wslot);
	d->watching = false;
	watches_add(c->ctx, -1);
}

/* Where this domain may not ask whether the peer's domain lives (a domU),
 * a watch on the peer's presence node tells us when the toolstack removes
 * it, without polling XenStore (spec 9.8). Best effort: if XenStore will
 * not have it (its per-domain watch quota), the liveness tick reads the
 * node instead. */
static void watch_peer(struct ivc_chan *c)
{
	const struct ivc_plat_ops *ops = c->ctx->ops;
	struct dchan *d = dch(c);
	bool room;

	if (!d->peer_node[0] || ops->domain_alive(c->ctx->plat, c->peer) >= 0 ||
	    ivc_core_peer(&c->core) != IVC_CORE_PEER_UP)
		return;
	ops->lock(c->ctx->plat);
	room = c->ctx->peer_watches < MAX_PEER_WATCHES;
	if (room)
		c->ctx->peer_watches++;
	ops->unlock(c->ctx->plat);
	if (!room)
		return;
	/* Its first event (XenStore sends one) wakes the channel once. */
	if (ivc__watch(c->ctx, d->peer_node, &c->obj, &d->wslot) == 0)
		d->watching = true;
	else
		watches_add(c->ctx, -1);
}

/* Removes a presence node, and its bucket once empty (in one transaction:
 * a node being added to the bucket meanwhile makes it retry). */
static int rm_presence_body(struct xst x, uint32_t t, void *arg)
{
	char *path = arg, *slash = strrchr(path, '/'), **ents = NULL;
	unsigned n = 1;
	int err = x.ops->store_rm(x.s, t, path);

	if (err && err != -ENOENT)
		return err;
	*slash = 0;
	if (!x.ops->store_dir(x.s, t, path, &ents, &n) && n == 0)
		x.ops->store_rm(x.s, t, path); /* not ours (EACCES): it stays */
	*slash = '/';
	free(ents);
	return 0;
}

static int rm_presence(struct ivc_ctx *ctx, char *path)
{
	return ivc__xs_txn(ctx_xs(ctx), rm_presence_body, path);
}

static int direct_chan_release(struct ivc_chan *c)
{
	struct dchan *d = dch(c);
	int err = 0, r;

	if (d->offer[0] && (r = ivc__rm_node(c->ctx, d->offer)) && !err)
		err = r;
	if (d->own_node[0] && (r = rm_presence(c->ctx, d->own_node)) && !err)
		err = r;
	/* A peer whose process died cannot remove its presence node; we
	 * may (it gave us write access) once its end is known dead. */
	if (d->peer_node[0] && c->core.ctrl && ivc_core_peer(&c->core) == IVC_CORE_PEER_DEAD)
		rm_presence(c->ctx, d->peer_node);
	if (d->watching)
		unwatch_peer(c);
	free(d);
	c->rdv = NULL;
	return err;
}

/* ---- listener: the advertisement ------------------------------------ */

/* The advertisement is readable by every domain; requests/ may be written
 * (not listed) by every domain; conn/ is the listener's alone. */
/* A directory with one permission entry: its owner and everyone's rights. */
static int mkdir_perm(struct xst x, uint32_t t, const char *path, uint32_t owner, uint32_t others)
{
	struct ivc_plat_perm p[1] = { { owner, others } };
	int err = x.ops->store_mkdir(x.s, t, path);

	return err ? err : x.ops->store_set_perms(x.s, t, path, p, 1);
}

static int advertise_body(struct xst x, uint32_t t, void *arg)
{
	const struct ivc_listener *l = arg;
	const struct dlistener *dl = l->rdv;
	const struct chan_spec *s = &l->spec;
	uint32_t me = l->ctx->domid;
	char path[192], key[32], v[32], *old = NULL;
	int err = ivc__xs_read(x, t, dl->base, &old);

	free(old);
	if (!err)
		return -EEXIST;
	snprintf(v, sizeof v, "%u", s->type.version);
	err = mkdir_perm(x, t, dl->base, me, IVC_PLAT_PERM_READ);
	if (!err)
		err = ivc__xs_put(x, t, dl->base, "type", s->type.name);
	if (!err)
		err = ivc__xs_put(x, t, dl->base, "version", v);
	if (!err)
		err = ivc__xs_put(x, t, dl->base, "mode",
				  s->type.mode == IVC_STREAM ? "stream" : "message");
	if (!err)
		err = ivc__xs_put(x, t, dl->base, "direction", ivc__dir_str(s->dir));
	for (int r = 0; r < 2 && !err; r++) {
		snprintf(key, sizeof key, "ring%d-bytes", r);
		snprintf(v, sizeof v, "%u", s->ring_bytes[r]);
		err = ivc__xs_put(x, t, dl->base, key, v);
		snprintf(key, sizeof key, "ring%d-max-msg", r);
		snprintf(v, sizeof v, "%u", s->params.max_msg[r]);
		if (!err)
			err = ivc__xs_put(x, t, dl->base, key, v);
	}
	snprintf(path, sizeof path, "%s/requests", dl->base);
	if (!err)
		err = mkdir_perm(x, t, path, me, IVC_PLAT_PERM_WRITE);
	snprintf(path, sizeof path, "%s/conn", dl->base);
	if (!err)
		err = mkdir_perm(x, t, path, me, IVC_PLAT_PERM_NONE);
	/* Written last: a client that sees it sees all of the above. */
	if (!err)
		err = ivc__xs_put(x, t, dl->base, "protocol", protocol_str);
	return err;
}

static int direct_listen(struct ivc_listener *l)
{
	struct ivc_ctx *ctx = l->ctx;
	struct dlistener *dl = calloc(1, sizeof *dl);
	char path[192];
	int err;

	if (!dl)
		return -ENOMEM;
	snprintf(dl->base, sizeof dl->base, "/local/domain/%u/data/ivc/%s", ctx->domid, l->name);
	l->rdv = dl;
	err = ivc__xs_txn(ctx_xs(ctx), advertise_body, l);
	snprintf(path, sizeof path, "%s/requests", dl->base);
	if (!err)
		err = ivc__watch(ctx, path, &l->obj, &dl->wslot);
	if (err) {
		if (err != -EEXIST)
			ivc__rm_node(ctx, dl->base);
		free(dl);
		l->rdv = NULL;
	}
	return err;
}

/* ---- listener: requests and offers ---------------------------------- */

/* The answer to one request: an offer (keys) or a refusal, readable by the
 * client only. */
struct answer {
	uint32_t me, client, port;
	const char *dir, *refs, *error, *presence;
	const char *monitor; /* the presence node's value (spec 11) */
};

static int answer_body(struct xst x, uint32_t t, void *arg)
{
	const struct answer *a = arg;
	struct ivc_plat_perm perms[2] = { { a->me, IVC_PLAT_PERM_NONE },
					  { a->client, IVC_PLAT_PERM_READ } };
	char v[16];
	int err = x.ops->store_mkdir(x.s, t, a->dir);

	if (!err)
		err = x.ops->store_set_perms(x.s, t, a->dir, perms, 2);
	snprintf(v, sizeof v, "%u", a->port);
	if (!err && a->error)
		err = ivc__xs_put(x, t, a->dir, "error", a->error);
	if (!err && !a->error)
		err = ivc__xs_put(x, t, a->dir, "ring-ref", a->refs);
	if (!err && !a->error)
		err = ivc__xs_put(x, t, a->dir, "event-channel", v);
	if (!err && a->presence) {
		/* Ours for the channel's life: outside B, which goes when the
		 * service closes while its channels live on. */
		struct ivc_plat_perm pp[2] = { { a->me, IVC_PLAT_PERM_NONE },
					       { a->client,
						 IVC_PLAT_PERM_READ | IVC_PLAT_PERM_WRITE } };
		err = x.ops->store_write(x.s, t, a->presence, a->monitor);
		if (!err)
			err = x.ops->store_set_perms(x.s, t, a->presence, pp, 2);
	}
	return err;
}

static int write_answer(struct ivc_ctx *ctx, const struct answer *a)
{
	return ivc__xs_txn(ctx_xs(ctx), answer_body, (void *)a);
}

/* Removes the refusals whose time is up (all with `all`), oldest first. */
static void refusals_expire(struct ivc_listener *l, bool all)
{
	struct dlistener *dl = l->rdv;
	int64_t now = ivc__now_ms(l->ctx);
	int k = 0;

	while (k < dl->nrefused && (all || dl->refused[k].until <= now))
		ivc__rm_node(l->ctx, dl->refused[k++].conn);
	memmove(dl->refused, dl->refused + k, (size_t)(dl->nrefused - k) * sizeof dl->refused[0]);
	dl->nrefused -= k;
}

static void refuse(struct ivc_listener *l, const char *conn, uint32_t client, const char *why)
{
	struct dlistener *dl = l->rdv;
	struct answer a = { l->ctx->domid, client, 0, conn, NULL, why, NULL, NULL };

	if (dl->nrefused == MAX_REFUSALS) { /* the oldest makes room */
		ivc__rm_node(l->ctx, dl->refused[0].conn);
		memmove(dl->refused, dl->refused + 1, (MAX_REFUSALS - 1) * sizeof dl->refused[0]);
		dl->nrefused--;
	}
	if (write_answer(l->ctx, &a))
		ivc__rm_node(l->ctx, conn); /* a half-written answer helps nobody */
	else {
		struct refusal *r = &dl->refused[dl->nrefused++];
		snprintf(r->conn, sizeof r->conn, "%s", conn);
		r->until = ivc__now_ms(l->ctx) + REFUSAL_MS;
	}
}

/* Builds the channel for an accepted request and publishes the offer; the
 * client's attach is awaited by ivc_accept without blocking. */
static int offer(struct ivc_listener *l, uint32_t client, const char *id)
{
	struct ivc_ctx *ctx = l->ctx;
	struct dlistener *dl = l->rdv;
	uint32_t refs[IVC_WIRE_MAX_CTRL_PAGES], nrefs;
	char conn[224], rs[REFS_MAX + 1] = "";
	struct ivc_chan *c;
	struct dchan *d = calloc(1, sizeof *d);
	int err = d ? ivc__chan_offer(ctx, &l->spec, client, &c, refs, &nrefs) : -ENOMEM;

	snprintf(conn, sizeof conn, "%s/conn/%s", dl->base, id);
	if (err) {
		/* Our own failure (out of memory or grant pages): refuse this
		 * client at once and tell the caller. The refusal stays until
		 * the listener closes. */
		free(d);
		refuse(l, conn, client, err == -EIO ? "EIO" : "ENOSPC");
		return err;
	}
	c->rdv = d;
	/* Its events wake the listener, and ivc_wait does not hand it out,
	 * until ivc_accept does: set before the client can know of it. */
	ivc__obj_kind(ctx, &c->obj, OBJ_OTHER, &l->obj);
	for (uint32_t i = 0; i < nrefs; i++)
		snprintf(rs + strlen(rs), sizeof rs - strlen(rs), "%s%u", i ? "," : "", refs[i]);
	/* Set before the write: a half-written offer is removed with it. */
	snprintf(d->offer, sizeof d->offer, "%s", conn);
	presence_path(d->peer_node, sizeof d->peer_node, client, ctx->domid, l->name, id);
	lpresence_path(d->own_node, sizeof d->own_node, ctx->domid, l->name, id);
	/* For dom0's monitors: where the channel's figures are, and what it
	 * carries once the advertisement has gone (spec 11.2). */
	char mon[160];
	snprintf(mon, sizeof mon, "ctrl-ref=%u type=%s version=%u", refs[0], l->spec.type.name,
		 l->spec.type.version);
	struct answer a = { ctx->domid, client, c->port, conn, rs, NULL, d->own_node, mon };
	err = write_answer(ctx, &a);
	if (err) {
		ivc__chan_release(c, false); /* removes a half-written offer */
		refuse(l, conn, client, "EIO");
		return err == -ENOMEM || err == -ENOSPC ? err : -EIO;
	}
	ivc__offers_add(&dl->offers, c);
	return 0;
}

/* The client has read the offer: it would only take room under conn/
 * while the channel lives (spec 9.4). */
static void on_attach(struct ivc_chan *c)
{
	ivc__rm_node(c->ctx, dch(c)->offer);
	dch(c)->offer[0] = 0;
	watch_peer(c);
}

/* The requests/ directory must be writable by every domain, so any domain
 * may remove it (XenStore checks removal on the node itself); put it back
 * whenever it goes. */
static int requests_body(struct xst x, uint32_t t, void *arg)
{
	const struct ivc_listener *l = arg;
	char path[192];

	snprintf(path, sizeof path, "%s/requests", ((const struct dlistener *)l->rdv)->base);
	return mkdir_perm(x, t, path, l->ctx->domid, IVC_PLAT_PERM_WRITE);
}

static void requests_restore(struct ivc_listener *l)
{
	ivc__xs_txn(ctx_xs(l->ctx), requests_body, l);
}

/* Removes requests/ with whatever is in it (we own it, so we may) and
 * makes it anew, in one transaction; unless an entry we may read is in
 * it: a request that arrived after our pass (clients write theirs in one
 * transaction, readable to us from the start). Then -EALREADY: the watch
 * brings another pass, which takes it first. So junk costs no genuine
 * request. */
static int renew_body(struct xst x, uint32_t t, void *arg)
{
	const struct ivc_listener *l = arg;
	char path[192], entry[512], **ents = NULL, *v;
	unsigned n = 0;
	int err;

	snprintf(path, sizeof path, "%s/requests", ((const struct dlistener *)l->rdv)->base);
	if (!x.ops->store_dir(x.s, t, path, &ents, &n)) {
		for (unsigned i = 0; i < n; i++) {
			int len = snprintf(entry, sizeof entry, "%s/%s", path, ents[i]);
			if (len < 0 || (size_t)len >= sizeof entry || ivc__xs_read(x, t, entry, &v))
				continue;
			free(v);
			free(ents);
			return -EALREADY;
		}
		free(ents);
	}
	err = x.ops->store_rm(x.s, t, path);
	return err && err != -ENOENT ? err : requests_body(x, t, arg);
}

static void requests_renew(struct ivc_listener *l)
{
	ivc__xs_txn(ctx_xs(l->ctx), renew_body, l);
}

/* An error of XenStore's own (not: the node is gone, or not ours to read). */
static bool transient(int err)
{
	return err && err != -ENOENT && err != -EACCES;
}

/* Reads and removes one doorbell, whatever its name (spec 9.3 item 5): 1
 * if it could not be removed, else 0. *val: its value if the request is
 * genuine (its id parses, and the domain it names owns the node, which
 * XenStore will not let anyone forge), else NULL. */
static int take_doorbell(struct ivc_listener *l, const char *id, uint32_t *client, char **val)
{
	struct dlistener *dl = l->rdv;
	struct ivc_ctx *ctx = l->ctx;
	struct xst x = ctx_xs(ctx);
	struct ivc_plat_perm *perms = NULL;
	unsigned np = 0;
	bool named = ivc__parse_id(id, client) == 0;
	char path[256];
	int stuck, len;

	*val = NULL;
	len = snprintf(path, sizeof path, "%s/requests/%s", dl->base, id);
	if (len < 0 || (size_t)len >= sizeof path)
		return 1; /* a name too long to address: only renewal removes it */
	int ep = named ? x.ops->store_get_perms(x.s, 0, path, &perms, &np) : 0;
	int er = named ? ivc__xs_read(x, 0, path, val) : 0;
	if (ep)
		perms = NULL;
	if (transient(ep) || transient(er)) {
		/* XenStore failed us, not the client: keep its request for
		 * the next scan (at most a second away) rather than drop it
		 * unanswered. */
		free(perms);
		free(*val);
		*val = NULL;
		return 0;
	}
	int erm = x.ops->store_rm(x.s, 0, path);
	stuck = erm == -EACCES;
	/* Answered only once removed: a request still there is read again,
	 * and must not get a second offer. */
	bool genuine = named && !erm && perms && np >= 1 && perms[0].domid == *client && *val;
	free(perms);
	if (!genuine) {
		free(*val);
		*val = NULL;
	}
	return stuck;
}

/* Answers one genuine request: refused (type or format), or offered.
 * 0, or our own failure to report (-ENOMEM, -ENOSPC, -EIO). */
static int answer_request(struct ivc_listener *l, const char *id, uint32_t client, char *val)
{
	struct dlistener *dl = l->rdv;
	const struct ivc_type *t = &l->spec.type;
	struct ivc_request rq;
	char conn[224];
	enum ivc_dir cdir;
	bool parsed = ivc__parse_request(val, &rq) == 0;
	int err;

	free(val);
	snprintf(conn, sizeof conn, "%s/conn/%s", dl->base, id);
	if (!parsed) {
		refuse(l, conn, client, "EPROTO");
		return 0;
	}
	if (strcmp(rq.type, t->name) || rq.version != t->version ||
	    strcmp(rq.mode, t->mode == IVC_STREAM ? "stream" : "message") ||
	    ivc__dir_parse(rq.dir, &cdir) || !ivc__dirs_fit(l->spec.dir, cdir)) {
		refuse(l, conn, client, "EPROTOTYPE");
		return 0;
	}
	err = offer(l, client, id);
	if (err && err != -ENOMEM && err != -ENOSPC && err != -EIO)
		err = 0; /* that client's trouble, not ours */
	return err;
}

/* Reads, removes and answers the doorbells waiting under requests/. */
static int take_requests(struct ivc_listener *l)
{
	struct dlistener *dl = l->rdv;
	struct ivc_ctx *ctx = l->ctx;
	char path[256];
	unsigned n = 0;
	char **ents = NULL;
	int err = 0, stuck = 0;

	snprintf(path, sizeof path, "%s/requests", dl->base);
	err = ctx->ops->store_dir(ctx->xs, 0, path, &ents, &n);
	if (err)
		ents = NULL;
	if (err == -ENOENT)
		requests_restore(l);
	err = 0;
	for (unsigned i = 0; ents && i < n && dl->offers.n < IVC_MAX_OFFERS && !err; i++) {
		uint32_t client;
		char *val;

		stuck += take_doorbell(l, ents[i], &client, &val);
		if (val) /* else forged, malformed or vanished: no answer */
			err = answer_request(l, ents[i], client, val);
	}
	free(ents);
	/* Entries we may not remove (a domain that made its node unwritable
	 * to us) would fill requests/ up to XenStore's node size limit and
	 * lock every client out: start it afresh. The readable ones have
	 * been taken; a request written meanwhile is lost (its client times
	 * out), which is the lesser harm. */
	if (stuck)
		requests_renew(l);
	return err;
}

static int direct_accept(struct ivc_listener *l, int64_t deadline, int timeout_ms,
			 struct ivc_chan **out)
{
	struct dlistener *dl = l->rdv;

	for (;;) {
		struct ivc_chan *c;
		uint64_t seen;
		int err, ms;

		/* Note what has arrived first, so that the listener's fd only
		 * polls readable again for what arrives after this point. */
		seen = ivc__obj_arm(l->ctx, &l->obj);
		refusals_expire(l, false);
		err = take_requests(l);
		if (err)
			return err;
		c = ivc__offers_check(&dl->offers, on_attach);
		if (c) {
			*out = c;
			return 0;
		}
		ms = ivc__left_ms(l->ctx, deadline);
		if (ms == 0)
			return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
		/* Sleep on the requests watch and every outstanding offer's event
		 * channel, waking now and then to check on the clients. */
		if (dl->offers.n && (ms < 0 || ms > LIVENESS_MS))
			ms = LIVENESS_MS;
		if (dl->nrefused) { /* wake when the oldest refusal is due */
			int64_t due = dl->refused[0].until - ivc__now_ms(l->ctx);
			int dms = due < 0 ? 0 : due > REFUSAL_MS ? REFUSAL_MS : (int)due;
			if (ms < 0 || ms > dms)
				ms = dms;
		}
		err = ivc__wait_obj(l->ctx, &l->obj, seen, ms < 0 || ms > 1000 ? 1000 : ms);
		if (err < 0)
			return err;
	}
}

static void direct_unlisten(struct ivc_listener *l)
{
	struct dlistener *dl = l->rdv;
	char path[192];

	ivc__offers_close(&dl->offers);
	refusals_expire(l, true);
	snprintf(path, sizeof path, "%s/requests", dl->base);
	ivc__unwatch(l->ctx, path, dl->wslot);
	ivc__rm_node(l->ctx, dl->base);
	free(dl);
	l->rdv = NULL;
}

/* ---- client ------------------------------------------------------------ */

/* A connect under way. */
struct client {
	struct ivc_ctx *ctx;
	const struct conn_req *rq;
	struct xst xs;
	struct ivc_obj obj; /* its watches' events */
	int64_t deadline;
	char base[128], id[48], presence[224], offer[224];
	struct chan_spec spec; /* as advertised */
};

/* Until `path` can be read (watching it), the deadline, or an error: calls
 * look(k, path) after each event, at the latest every slice_ms; it returns
 * 0 to go on waiting. */
static int watch_until(struct client *k, const char *path, int slice_ms,
		       int (*look)(struct client *k, void *arg), void *arg)
{
	int slot, err = ivc__watch(k->ctx, path, &k->obj, &slot);

	if (err)
		return err;
	for (;;) {
		uint64_t seen = ivc__obj_seq(k->ctx, &k->obj);
		int ms;

		err = look(k, arg);
		if (err)
			break;
		ms = ivc__left_ms(k->ctx, k->deadline);
		if (ms == 0) {
			err = -ETIMEDOUT;
			break;
		}
		err = ivc__wait_obj(k->ctx, &k->obj, seen, ms < 0 || ms > slice_ms ? slice_ms : ms);
		if (err)
			break;
	}
	ivc__unwatch(k->ctx, path, slot);
	return err;
}

/* dir/key, NULL if absent or unreadable. A failure of XenStore's own
 * goes to *xerr (the first one): the caller reports it, not a malformed
 * advertisement. */
static char *adv_get(struct xst x, const char *dir, const char *key, int *xerr)
{
	int err;
	char *v = ivc__xs_get_err(x, 0, dir, key, &err);

	if (transient(err) && !*xerr)
		*xerr = err;
	return v;
}

/* A number from dir/key, as Appendix B says, at most max. */
static int read_u32(struct xst x, const char *dir, const char *key, uint32_t max, uint32_t *out,
		    int *xerr)
{
	char *v = adv_get(x, dir, key, xerr);
	int err = v ? ivc__parse_u32(v, max, out) : -EPROTO;

	free(v);
	return err;
}

/* Checks the advertisement against what the client wants, and keeps the
 * geometry it promises (the header is checked against it at attach). */
static int check_service(struct client *k)
{
	const struct conn_req *rq = k->rq;
	const struct ivc_opts *o = rq->opts;
	int xerr = 0;
	char *tname = adv_get(k->xs, k->base, "type", &xerr);
	char *mode = adv_get(k->xs, k->base, "mode", &xerr);
	char *ldir = adv_get(k->xs, k->base, "direction", &xerr);
	uint32_t version, ring[2] = { 0, 0 }, max[2] = { 0, 0 };
	enum ivc_dir d;
	int err = 0;

	if (!tname || !mode || !ldir ||
	    read_u32(k->xs, k->base, "version", UINT32_MAX, &version, &xerr) ||
	    read_u32(k->xs, k->base, "ring0-bytes", UINT32_MAX, &ring[0], &xerr) ||
	    read_u32(k->xs, k->base, "ring1-bytes", UINT32_MAX, &ring[1], &xerr) ||
	    read_u32(k->xs, k->base, "ring0-max-msg", UINT32_MAX, &max[0], &xerr) ||
	    read_u32(k->xs, k->base, "ring1-max-msg", UINT32_MAX, &max[1], &xerr) ||
	    ivc__dir_parse(ldir, &d) || !ivc__geometry_ok(mode, d, ring, max))
		err = xerr ? xerr : -EPROTO;
	else if (strcmp(tname, rq->type->name) || version != rq->type->version ||
		 strcmp(mode, rq->type->mode == IVC_STREAM ? "stream" : "message") ||
		 !ivc__dirs_fit(d, rq->dir))
		err = -EPROTOTYPE;
	else if ((o->tx_ring && ring[0] < o->tx_ring) || (o->rx_ring && ring[1] < o->rx_ring) ||
		 (o->max_msg && rq->type->mode == IVC_MESSAGE &&
		  ((rq->dir & IVC_OUT && max[1] < o->max_msg) ||
		   (rq->dir & IVC_IN && max[0] < o->max_msg))))
		err = -EMSGSIZE;
	k->spec.type = *rq->type;
	k->spec.dir = rq->dir;
	for (int r = 0; r < 2; r++) {
		k->spec.ring_bytes[r] = ring[r];
		k->spec.params.order[r] = ivc__order_of(ring[r]);
		k->spec.params.max_msg[r] = max[r];
	}
	free(tname);
	free(mode);
	free(ldir);
	return err;
}

/* B/protocol, once the service is there: 1 (and checked), 0 not yet. */
static int look_for_service(struct client *k, void *arg)
{
	const char *path = arg;
	char *v = NULL;
	int err;

	if (ivc__xs_read(k->xs, 0, path, &v))
		return 0;
	err = strcmp(v, protocol_str) ? -EPROTONOSUPPORT : 1;
	free(v);
	return err;
}

/* Waits for the service to appear and checks it. */
static int find_service(struct client *k)
{
	char path[224];
	int err;

	snprintf(path, sizeof path, "%s/protocol", k->base);
	err = watch_until(k, path, 1000, look_for_service, path);
	return err < 0 ? err : check_service(k);
}

/* The client's request: a node it owns, readable and removable by the
 * listener only. */
struct doorbell {
	const char *path, *req;
	struct ivc_plat_perm perms[2];
};

static int doorbell_body(struct xst x, uint32_t t, void *arg)
{
	const struct doorbell *d = arg;
	int err = x.ops->store_write(x.s, t, d->path, d->req);

	return err ? err : x.ops->store_set_perms(x.s, t, d->path, d->perms, 2);
}

/* Our presence node first (the listener may count on it from the moment
 * it reads the request), then the request. */
static int ring_doorbell(struct client *k)
{
	const struct conn_req *rq = k->rq;
	struct ivc_ctx *ctx = k->ctx;
	char req[160], path[224];
	int err;

	ctx->ops->lock(ctx->plat);
	snprintf(k->id, sizeof k->id, "%u-%llx", ctx->domid, (unsigned long long)ctx->nonce++);
	ctx->ops->unlock(ctx->plat);
	snprintf(req, sizeof req, "type=%s version=%u mode=%s dir=%s", rq->type->name,
		 rq->type->version, rq->type->mode == IVC_STREAM ? "stream" : "message",
		 ivc__dir_str(rq->dir));
	presence_path(k->presence, sizeof k->presence, ctx->domid, rq->server, rq->name, k->id);
	struct doorbell here = { k->presence,
				 "",
				 { { ctx->domid, IVC_PLAT_PERM_NONE },
				   { rq->server, IVC_PLAT_PERM_READ | IVC_PLAT_PERM_WRITE } } };
	err = ivc__xs_txn(k->xs, doorbell_body, &here);
	if (err) {
		k->presence[0] = 0; /* not ours to remove */
		return err;
	}
	snprintf(path, sizeof path, "%s/requests/%s", k->base, k->id);
	struct doorbell bell = { path,
				 req,
				 { { ctx->domid, IVC_PLAT_PERM_NONE },
				   { rq->server, IVC_PLAT_PERM_READ | IVC_PLAT_PERM_WRITE } } };
	err = ivc__xs_txn(k->xs, doorbell_body, &bell);
	/* requests/ not writable (no service) or full: refused (9.3 item 4). */
	return err == -EACCES || err == -ENOSPC || err == -E2BIG ? -ECONNREFUSED : err;
}

struct answer_got {
	uint32_t port;
	char *refs;
};

/* One look at the answer: 1 with the port and refs (caller frees) once
 * the offer is complete, 0 not yet, or an error (a refusal, or the
 * service gone). */
static int look_for_answer(struct client *k, void *arg)
{
	struct answer_got *got = arg;
	uint32_t *port = &got->port;
	char **refs = &got->refs;
	char path[224], *v;
	int err;

	v = ivc__xs_get(k->xs, 0, k->offer, "error");
	if (v) {
		err = !strcmp(v, "EPROTOTYPE") ? -EPROTOTYPE : -ECONNREFUSED;
		free(v);
		return err;
	}
	v = ivc__xs_get(k->xs, 0, k->offer, "event-channel");
	if (v) {
		err = ivc__parse_u32(v, UINT32_MAX, port);
		err = err || *port == 0 ? -EPROTO : 0; /* port 0 is never bound */
		free(v);
		int xerr = 0;
		*refs = err ? NULL : adv_get(k->xs, k->offer, "ring-ref", &xerr);
		return err ? err : *refs ? 1 : xerr ? xerr : -EPROTO;
	}
	/* A listener that died never answers; its advertisement going is
	 * the sign (a failure of XenStore's own is not: look again). */
	snprintf(path, sizeof path, "%s/protocol", k->base);
	err = ivc__xs_read(k->xs, 0, path, &v);
	if (err)
		return transient(err) ? 0 : -ECONNREFUSED;
	free(v);
	return 0;
}

/* Waits for the listener's answer under conn/<id>, readable by us alone;
 * in short slices, since a listener that died is seen by looking. */
static int await_answer(struct client *k, struct answer_got *got)
{
	int err;

	snprintf(k->offer, sizeof k->offer, "%s/conn/%s", k->base, k->id);
	err = watch_until(k, k->offer, 200, look_for_answer, got);
	return err < 0 ? err : 0;
}

static int attach(struct client *k, uint32_t port, const char *rs, struct ivc_chan **out)
{
	uint32_t refs[IVC_WIRE_MAX_CTRL_PAGES], n;
	struct dchan *d;
	struct ivc_chan *c;
	int err = ivc__parse_refs(rs, refs, &n);

	if (err)
		return err;
	d = calloc(1, sizeof *d);
	if (!d)
		return -ENOMEM;
	err = ivc__chan_attach(k->ctx, &k->spec, k->rq->server, refs, n, port, &c);
	if (err) {
		free(d);
		return err;
	}
	c->rdv = d;
	snprintf(d->own_node, sizeof d->own_node, "%s", k->presence);
	lpresence_path(d->peer_node, sizeof d->peer_node, k->rq->server, k->rq->name, k->id);
	watch_peer(c);
	*out = c;
	return 0;
}

static int direct_connect(struct ivc_ctx *ctx, const struct conn_req *rq, int64_t deadline,
			  struct ivc_chan **out)
{
	struct client k = { .ctx = ctx, .rq = rq, .xs = ctx_xs(ctx), .deadline = deadline };
	struct answer_got got = { 0, NULL };
	struct ivc_chan *c = NULL;
	char path[224];
	int err;

	k.obj.kind = OBJ_OTHER;
	if (rq->server == IVC_DOMID_ANY)
		return -EINVAL; /* names are per domain here (9.11.3 is brokered) */
	snprintf(k.base, sizeof k.base, "/local/domain/%u/data/ivc/%s", rq->server, rq->name);
	err = find_service(&k);
	if (err)
		return err;
	err = ring_doorbell(&k);
	if (!err)
		err = await_answer(&k, &got);
	if (!err)
		err = attach(&k, got.port, got.refs, &c);
	free(got.refs);
	/* The listener removes the doorbell when it reads it; make sure. */
	snprintf(path, sizeof path, "%s/requests/%s", k.base, k.id);
	ivc__rm_node(ctx, path);
	if (!c && k.presence[0])
		rm_presence(ctx, k.presence);
	if (c) {
		/* The caller's from now on: ivc_wait reports it once, for what
		 * arrived while it was being set up. */
		ivc__obj_kind(ctx, &c->obj, OBJ_CHAN, NULL);
		ivc__obj_ready(ctx, &c->obj);
		*out = c;
	}
	return err;
}

const struct ivc_rdv_ops ivc_rdv_direct = {
	.name = "direct",
	.listen = direct_listen,
	.accept = direct_accept,
	.unlisten = direct_unlisten,
	.connect = direct_connect,
	.peer_gone = peer_gone,
	.peer_watched = peer_watched,
	.chan_release = direct_chan_release,
};
