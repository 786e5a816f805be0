/* SPDX-License-Identifier: MIT */
/*
 * brokered.c - brokered rendezvous (protocol-spec section 9.11): requests
 * go to the rendezvous daemon in dom0 through our domain's own area,
 * /rendezvous/<D>; the daemon resolves names, checks types and its
 * policy, and makes each channel a small area that only its two peers
 * share. The channel itself is set up as in direct mode (chan.c). The
 * context watches its area once (token "b"); the pump hands each event to
 * the key its path names (wait.c, routes).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Offers (offers.c): the other clients wait with the daemon, up to the
 * listener's backlog (then EBUSY). */
/* How long listen waits for the daemon (it may be restarting). */
#define LISTEN_MS 10000
/* Looked at again this often even without an event: a safety net for an
 * event lost to a daemon restart, not how anything is noticed. */
#define SLICE_MS 1000

/* A channel's brokered state. */
struct bchan {
	char x[48];   /* our end's name: "l<X>" or "c<X>", X = "<client>-<key>" */
	char end[96]; /* <area>/chan/<x> */
	uint64_t seq; /* when it was made (ctx->bseq) */
};

struct blistener {
	char key[IVC_KEY_LEN];
	struct ivc_offers offers; /* waiting for their clients */
};

static struct bchan *bch(const struct ivc_chan *c)
{
	return c->rdv;
}

static struct xst ctx_xs(struct ivc_ctx *ctx)
{
	return (struct xst){ ctx->ops, ctx->xs };
}

/* <area>/<fmt...> into buf; false if it does not fit. */
static bool __attribute__((format(printf, 4, 5)))
apath(struct ivc_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int a = snprintf(buf, size, "%s/", ctx->area_path), n;

	va_start(ap, fmt);
	n = vsnprintf(buf + a, size - (size_t)a, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)(a + n) < size;
}

static void new_key(struct ivc_ctx *ctx, char key[IVC_KEY_LEN])
{
	ivc__lock(ctx);
	snprintf(key, IVC_KEY_LEN, "%llx", (unsigned long long)ctx->nonce++);
	ivc__unlock(ctx);
}

/* A node's value (caller frees), or NULL with *err set. */
static char *get(struct ivc_ctx *ctx, const char *path, int *err)
{
	char *v = NULL;

	*err = ivc__xs_read(ctx_xs(ctx), 0, path, &v);
	return *err ? NULL : v;
}

/* Until look() returns non-zero or the deadline passes, waking on o's
 * events. */
static int await(struct ivc_ctx *ctx, struct ivc_obj *o, int64_t deadline,
		 int (*look)(struct ivc_ctx *ctx, void *arg), void *arg)
{
	for (;;) {
		uint64_t seen = ivc__obj_seq(ctx, o);
		int r = look(ctx, arg), ms;

		if (r)
			return r < 0 ? r : 0;
		ms = ivc__left_ms(ctx, deadline);
		if (ms == 0)
			return -ETIMEDOUT;
		r = ivc__wait_obj(ctx, o, seen, ms < 0 || ms > SLICE_MS ? SLICE_MS : ms);
		if (r)
			return r;
	}
}

/* ---- requests and answers (9.11.2, 9.11.3) ------------------------------ */

struct req {
	const char *key, *rec;
	char path[96];
};

static int req_body(struct xst x, uint32_t t, void *arg)
{
	struct req *q = arg;
	char *old = NULL;

	if (ivc__xs_read(x, t, q->path, &old) == 0) {
		free(old);
		return -EEXIST; /* another context of our domain drew the same key */
	}
	return x.ops->store_write(x.s, t, q->path, q->rec);
}

/* 1 once our area can take requests, 0 not yet. */
static int look_area(struct ivc_ctx *ctx, void *arg)
{
	char path[64], *v;
	int err;

	(void)arg;
	apath(ctx, path, sizeof path, "req");
	v = get(ctx, path, &err);
	free(v);
	return err ? 0 : 1;
}

/* Writes request `rec` under a new key (into key). The daemon makes our
 * area when it first sees our domain: a domain just created may have to
 * wait for it. */
static int put_request(struct ivc_ctx *ctx, char key[IVC_KEY_LEN], const char *rec,
		       int64_t deadline)
{
	struct req q = { key, rec, "" };
	int err;

	for (int tries = 0; tries < 8; tries++) {
		new_key(ctx, key);
		apath(ctx, q.path, sizeof q.path, "req/%s", key);
		err = ivc__xs_txn(ctx_xs(ctx), req_body, &q);
		if (err == -ENOENT || err == -EACCES) {
			err = await(ctx, &ctx->area, deadline, look_area, NULL);
			if (err)
				return err == -ETIMEDOUT ? -ECONNREFUSED : err;
			continue;
		}
		if (err != -EEXIST)
			return err;
	}
	/* Eight keys drawn twice is not chance: the area takes no request
	 * from us, as when XenStore refuses the write (9.11.8). */
	return -ECONNREFUSED;
}

static void rm_request(struct ivc_ctx *ctx, const char *key)
{
	char path[96];

	apath(ctx, path, sizeof path, "req/%s", key);
	ivc__rm_node(ctx, path);
}

/* The daemon's refusal as the caller's error (9.11.8). */
static int refusal(const char *name)
{
	int err = ivc__refusal_err(name);

	/* The daemon's channel limit: to the caller the listener refused
	 * (ivc_connect(3)). */
	return err == -ENOSPC ? -ECONNREFUSED : err;
}

/* 1: the answer to key is "ok"; 0 not there yet; or the refusal. */
static int look_answer(struct ivc_ctx *ctx, void *arg)
{
	const char *key = arg;
	char path[96], name[16], *v;
	int err;

	apath(ctx, path, sizeof path, "ans/%s", key);
	v = get(ctx, path, &err);
	if (!v) {
		/* Our request gone before its answer: the daemon ended it (the
		 * listener withdrew or went) and will not answer. */
		apath(ctx, path, sizeof path, "req/%s", key);
		v = get(ctx, path, &err);
		free(v);
		return err == -ENOENT ? -ECONNREFUSED : 0;
	}
	if (!strcmp(v, "ok"))
		err = 1;
	else
		err = ivc__parse_error(v, name, sizeof name) ? -EPROTO : refusal(name);
	free(v);
	return err;
}

/* ---- a channel's end ------------------------------------------------------ */

/* Our end's state (9.11.4); the daemon may have removed the end already. */
static void set_state(struct ivc_ctx *ctx, const struct bchan *b, const char *state)
{
	char path[128];

	snprintf(path, sizeof path, "%s/state", b->end);
	ctx->ops->store_write(ctx->xs, 0, path, state);
}

static struct bchan *bchan_new(struct ivc_ctx *ctx, const char *x)
{
	struct bchan *b = calloc(1, sizeof *b);

	if (!b)
		return NULL;
	snprintf(b->x, sizeof b->x, "%s", x);
	apath(ctx, b->end, sizeof b->end, "chan/%s", x);
	ivc__lock(ctx);
	b->seq = ++ctx->bseq;
	ivc__unlock(ctx);
	return b;
}

/* Whether a notice says that the peer of an end made at `seq` is gone:
 * one read per gone domain, whatever the number of ends. The notice is
 * there only while the daemon deals with that domain (9.11.6), and it
 * makes no channel meanwhile: every end made before the read that names
 * that domain is of the domain that went (or of a later one gone too). */
static bool notice_says_gone(struct ivc_ctx *ctx, uint32_t peer, uint64_t seq)
{
	char path[64], *v;
	uint64_t now = 0;
	unsigned i;
	int err;

	ivc__lock(ctx);
	i = ivc__gone_slot(ctx, peer);
	bool known = i < 8 && ctx->gone[i].seq && seq < ctx->gone[i].seq;
	bool look = i < 8 && !known && ctx->gone[i].heard;
	if (look) { /* one read per notice heard of */
		ctx->gone[i].heard = false;
		now = ctx->bseq + 1; /* every end made so far is older */
	}
	ivc__unlock(ctx);
	if (!look)
		return known;
	apath(ctx, path, sizeof path, "gone/%u", peer);
	v = get(ctx, path, &err);
	free(v);
	if (err)
		return false; /* gone already: the `peer` node tells */
	ivc__lock(ctx);
	if (ctx->gone[i].dom == peer && ctx->gone[i].seq < now)
		ctx->gone[i].seq = now;
	ivc__unlock(ctx);
	return true;
}

/* The daemon removes our `peer` node when the other end goes: closed, or
 * its domain gone (9.11.5 item 3). */
static bool peer_gone(struct ivc_chan *c)
{
	char path[128], *v;
	int err;

	if (!bch(c))
		return false;
	if (notice_says_gone(c->ctx, c->peer, bch(c)->seq))
		return true;
	snprintf(path, sizeof path, "%s/peer", bch(c)->end);
	v = get(c->ctx, path, &err);
	free(v);
	return err == -ENOENT;
}

/* Every change to the peer's end comes as an event on our area. */
static bool peer_watched(const struct ivc_chan *c)
{
	return bch(c) != NULL;
}

static int broker_chan_release(struct ivc_chan *c)
{
	struct bchan *b = bch(c);
	bool dead = c->core.ctrl && ivc_core_peer(&c->core) == IVC_CORE_PEER_DEAD;

	set_state(c->ctx, b, dead ? "dead" : "closed");
	ivc__route_del(c->ctx, b->x, &c->obj);
	free(b);
	c->rdv = NULL;
	return 0;
}

/* ---- listener -------------------------------------------------------------- */

static int broker_listen(struct ivc_listener *l)
{
	struct ivc_ctx *ctx = l->ctx;
	const struct chan_spec *s = &l->spec;
	struct blistener *bl = calloc(1, sizeof *bl);
	char rec[512];
	int err;

	if (!bl)
		return -ENOMEM;
	/* A client's end going is what tells us of it (domain_alive or not). */
	bl->offers.ask_rdv = true;
	l->rdv = bl;
	snprintf(rec, sizeof rec,
		 "op=listen name=%s type=%s version=%u mode=%s dir=%s ring0-bytes=%u "
		 "ring1-bytes=%u ring0-max-msg=%u ring1-max-msg=%u backlog=%u port=%u",
		 l->name, s->type.name, s->type.version,
		 s->type.mode == IVC_STREAM ? "stream" : "message", ivc__dir_str(s->dir),
		 s->ring_bytes[0], s->ring_bytes[1], s->params.max_msg[0], s->params.max_msg[1],
		 l->backlog, ctx->bport);
	int64_t deadline = ivc__deadline_of(ctx, LISTEN_MS);
	err = put_request(ctx, bl->key, rec, deadline);
	if (err)
		goto out;
	err = ivc__route_add(ctx, bl->key, &l->obj);
	if (!err)
		err = await(ctx, &l->obj, deadline, look_answer, bl->key);
	if (err) {
		ivc__route_del(ctx, bl->key, &l->obj);
		rm_request(ctx, bl->key);
	}
out:
	if (err) {
		free(bl);
		l->rdv = NULL;
	}
	return err;
}

/* Makes the channel whose end here is x ("l<X>") for a client of domain
 * `client` and offers it (9.11.3 item 4): 0, or our own failure to report. */
static int offer(struct ivc_listener *l, const char *x, uint32_t client)
{
	struct ivc_ctx *ctx = l->ctx;
	struct blistener *bl = l->rdv;
	uint32_t refs[IVC_WIRE_MAX_CTRL_PAGES], nrefs;
	char rs[IVC_WIRE_MAX_CTRL_PAGES * 11] = "", val[160], path[128];
	struct ivc_chan *c;
	struct bchan *b = bchan_new(ctx, x);
	int err = b ? ivc__chan_offer(ctx, &l->spec, client, &c, refs, &nrefs) : -ENOMEM;

	snprintf(path, sizeof path, "/rendezvous/%u/chan/c%s/offer", client, x + 1);
	if (err) {
		if (b) {
			ctx->ops->store_write(ctx->xs, 0, path, "error=ENOSPC");
			set_state(ctx, b, "closed");
		}
		free(b);
		return err;
	}
	c->rdv = b;
	ivc__obj_kind(ctx, &c->obj, OBJ_OTHER, &l->obj);
	err = ivc__route_chan(ctx, x, &c->obj, client);
	for (uint32_t i = 0; i < nrefs; i++)
		snprintf(rs + strlen(rs), sizeof rs - strlen(rs), "%s%u", i ? "," : "", refs[i]);
	snprintf(val, sizeof val, "ring-ref=%s event-channel=%u", rs, c->port);
	if (!err)
		err = ctx->ops->store_write(ctx->xs, 0, path, val);
	if (err) {
		ivc__chan_release(c, false);     /* our state: closed */
		return err == -ENOMEM ? err : 0; /* else the client's end went */
	}
	set_state(ctx, b, "offered");
	ivc__offers_add(&bl->offers, c);
	return 0;
}

/* Takes the clients the daemon put under our answer (9.11.3 item 3). */
static int take_clients(struct ivc_listener *l)
{
	struct ivc_ctx *ctx = l->ctx;
	struct blistener *bl = l->rdv;
	char path[128], **ents = NULL, *v;
	unsigned n = 0;
	int err, gerr;

	apath(ctx, path, sizeof path, "ans/%s", bl->key);
	err = ctx->ops->store_dir(ctx->xs, 0, path, &ents, &n);
	if (err == -ENOENT)
		return -ECONNABORTED; /* the daemon dropped the service */
	for (unsigned i = 0; !err && i < n && bl->offers.n < IVC_MAX_OFFERS; i++) {
		struct ivc_lend_rec rec;
		uint32_t client;
		bool taken = false;
		char x[48];

		if (ivc__parse_id(ents[i], &client))
			continue;
		snprintf(x, sizeof x, "l%s", ents[i]);
		for (int k = 0; k < bl->offers.n; k++)
			taken |= !strcmp(bch(bl->offers.v[k].c)->x, x);
		/* Taken already if our end has a state (the marker goes after). */
		if (taken || !apath(ctx, path, sizeof path, "chan/%s/state", x) ||
		    !(v = get(ctx, path, &gerr)))
			continue;
		taken = *v;
		free(v);
		apath(ctx, path, sizeof path, "chan/%s", x);
		if (taken || !(v = get(ctx, path, &gerr)))
			continue;
		bool mine =
		    !ivc__parse_lend(v, &rec) && !strcmp(rec.listen, bl->key) && rec.peer == client;
		free(v);
		if (mine)
			err = offer(l, x, client);
	}
	free(ents);
	return err == -ENOMEM || err == -ENOSPC || err == -EIO ? err : 0;
}

/* Its peer node is looked at once. */
static void on_attach(struct ivc_chan *c)
{
	set_state(c->ctx, bch(c), "open");
	c->fired_seen = UINT64_MAX;
}

static int broker_accept(struct ivc_listener *l, int64_t deadline, int timeout_ms,
			 struct ivc_chan **out)
{
	struct blistener *bl = l->rdv;

	for (;;) {
		struct ivc_chan *c;
		uint64_t seen;
		int err, ms;

		seen = ivc__obj_arm(l->ctx, &l->obj);
		/* Clients already attached are handed out even when the
		 * daemon has dropped the service meanwhile. */
		err = take_clients(l);
		c = ivc__offers_check(&bl->offers, on_attach);
		if (c) {
			*out = c;
			return 0;
		}
		if (err)
			return err;
		ms = ivc__left_ms(l->ctx, deadline);
		if (ms == 0)
			return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
		if (bl->offers.n && (ms < 0 || ms > LIVENESS_MS))
			ms = LIVENESS_MS;
		err = ivc__wait_obj(l->ctx, &l->obj, seen, ms < 0 || ms > SLICE_MS ? SLICE_MS : ms);
		if (err < 0)
			return err;
	}
}

static void broker_unlisten(struct ivc_listener *l)
{
	struct blistener *bl = l->rdv;
	struct ivc_ctx *ctx = l->ctx;

	ivc__offers_close(&bl->offers);
	/* The daemon refuses the clients still waiting (9.11.2 item 3). */
	rm_request(ctx, bl->key);
	ivc__route_del(ctx, bl->key, &l->obj);
	free(bl);
	l->rdv = NULL;
}

/* ---- client ------------------------------------------------------------------ */

struct client {
	struct ivc_ctx *ctx;
	struct ivc_obj obj; /* events of our key and our channel's name */
	char key[IVC_KEY_LEN], x[48], end[96];
	struct ivc_offer_rec offer;
};

/* 1 with k->offer once the listener has offered; 0 not yet; or an error:
 * refused, or the listener's end gone (9.11.5 item 4). */
static int look_offer(struct ivc_ctx *ctx, void *arg)
{
	struct client *k = arg;
	char path[128], *v, name[16];
	int err;

	snprintf(path, sizeof path, "%s/offer", k->end);
	v = get(ctx, path, &err);
	if (!v)
		return err == -ENOENT ? -ECONNREFUSED : 0;
	if (!*v) {
		free(v);
		snprintf(path, sizeof path, "%s/peer", k->end);
		v = get(ctx, path, &err);
		free(v);
		return err == -ENOENT ? -ECONNREFUSED : 0;
	}
	if (!ivc__parse_error(v, name, sizeof name))
		err = -ECONNREFUSED;
	else
		err = ivc__parse_offer(v, &k->offer) ? -EPROTO : 1;
	free(v);
	return err;
}

/* Our end's record: the listener and its service as the daemon found it,
 * checked as an advertisement is (9.11.3 item 5). */
static int read_end(struct client *k, const struct ivc_connect_rec *want, struct chan_spec *spec,
		    uint32_t *server)
{
	struct ivc_cend_rec rec;
	int err;
	char *v = get(k->ctx, k->end, &err);

	if (!v)
		return err == -ENOENT ? -ECONNREFUSED : err;
	err = ivc__parse_cend(v, &rec) ? -EPROTO : ivc__svc_fit(&rec.svc, want);
	free(v);
	if (!err && (strcmp(rec.svc.name, want->name) ||
		     (want->server != IVC_DOMID_ANY && rec.peer != want->server)))
		err = -EPROTO;
	if (err)
		return err;
	*server = rec.peer;
	for (int r = 0; r < 2; r++) {
		spec->ring_bytes[r] = rec.svc.ring[r];
		spec->params.order[r] = ivc__order_of(rec.svc.ring[r]);
		spec->params.max_msg[r] = rec.svc.max[r];
	}
	return 0;
}

static void connect_rec(const struct ivc_ctx *ctx, const struct conn_req *rq,
			struct ivc_connect_rec *r, char *buf, size_t size)
{
	char server[16];

	memset(r, 0, sizeof *r);
	r->server = rq->server;
	snprintf(r->name, sizeof r->name, "%s", rq->name);
	snprintf(r->t.type, sizeof r->t.type, "%s", rq->type->name);
	r->t.version = rq->type->version;
	snprintf(r->t.mode, sizeof r->t.mode, "%s",
		 rq->type->mode == IVC_STREAM ? "stream" : "message");
	snprintf(r->t.dir, sizeof r->t.dir, "%s", ivc__dir_str(rq->dir));
	r->min[0] = rq->opts->tx_ring;
	r->min[1] = rq->opts->rx_ring;
	r->min_msg = rq->opts->max_msg;
	r->port = ctx->bport;
	if (rq->server == IVC_DOMID_ANY)
		snprintf(server, sizeof server, "any");
	else
		snprintf(server, sizeof server, "%u", rq->server);
	snprintf(buf, size,
		 "op=connect server=%s name=%s type=%s version=%u mode=%s dir=%s min0=%u min1=%u "
		 "min-msg=%u port=%u",
		 server, r->name, r->t.type, r->t.version, r->t.mode, r->t.dir, r->min[0],
		 r->min[1], r->min_msg, r->port);
}

static int connect_steps(struct client *k, const struct conn_req *rq,
			 const struct ivc_connect_rec *want, int64_t deadline,
			 struct ivc_chan **out)
{
	struct ivc_ctx *ctx = k->ctx;
	struct chan_spec spec = { .type = *rq->type, .dir = rq->dir };
	uint32_t refs[IVC_WIRE_MAX_CTRL_PAGES], n = 0, server = 0;
	int err = await(ctx, &k->obj, deadline, look_answer, k->key);

	if (!err)
		err = read_end(k, want, &spec, &server);
	if (!err)
		err = await(ctx, &k->obj, deadline, look_offer, k);
	if (!err)
		err = ivc__parse_refs(k->offer.refs, refs, &n);
	if (!err)
		err = ivc__chan_attach(ctx, &spec, server, refs, n, k->offer.port, out);
	return err;
}

static int broker_connect(struct ivc_ctx *ctx, const struct conn_req *rq, int64_t deadline,
			  struct ivc_chan **out)
{
	struct client k = { .ctx = ctx, .obj = { .kind = OBJ_OTHER } };
	struct ivc_connect_rec want;
	struct ivc_chan *c = NULL;
	struct bchan *b;
	char rec[512];
	int err;

	connect_rec(ctx, rq, &want, rec, sizeof rec);
	err = put_request(ctx, k.key, rec, deadline);
	if (err)
		return err;
	snprintf(k.x, sizeof k.x, "c%u-%s", ctx->domid, k.key);
	apath(ctx, k.end, sizeof k.end, "chan/%s", k.x);
	err = ivc__route_add(ctx, k.key, &k.obj);
	if (!err)
		err = ivc__route_add(ctx, k.x, &k.obj);
	if (!err)
		err = connect_steps(&k, rq, &want, deadline, &c);
	b = c ? bchan_new(ctx, k.x) : NULL;
	if (c && !b) {
		ivc__chan_release(c, false);
		c = NULL;
		err = -ENOMEM;
	}
	if (c) {
		c->rdv = b;
		ivc__route_chan(ctx, k.x, &c->obj, c->peer); /* hands the name on */
		set_state(ctx, b, "open");
		c->fired_seen = UINT64_MAX; /* look at the peer node once */
	} else {
		struct bchan tmp;
		snprintf(tmp.end, sizeof tmp.end, "%s", k.end);
		set_state(ctx, &tmp, "closed");
		ivc__route_del(ctx, k.x, &k.obj);
	}
	rm_request(ctx, k.key);
	ivc__route_del(ctx, k.key, &k.obj);
	if (c) {
		ivc__obj_kind(ctx, &c->obj, OBJ_CHAN, NULL);
		ivc__obj_ready(ctx, &c->obj);
		*out = c;
	}
	return err;
}

const struct ivc_rdv_ops ivc_rdv_brokered = {
	.name = "brokered",
	.listen = broker_listen,
	.accept = broker_accept,
	.unlisten = broker_unlisten,
	.connect = broker_connect,
	.peer_gone = peer_gone,
	.peer_watched = peer_watched,
	.chan_release = broker_chan_release,
};
