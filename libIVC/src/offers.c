/* SPDX-License-Identifier: MIT */
/*
 * offers.c - a listener's offers whose clients have not attached yet
 * (spec 9.6 listener step 6, 9.11.3 item 6), for both rendezvous modes:
 * the first client to attach is handed out; an offer whose client died,
 * whose domain went, or that waited more than IVC_ATTACH_MS is withdrawn.
 */
#include "internal.h"

void ivc__offers_add(struct ivc_offers *o, struct ivc_chan *c)
{
	o->v[o->n++] = (struct ivc_offer){ c, ivc__now_ms(c->ctx) + IVC_ATTACH_MS };
}

static bool attached(int st)
{
	return st == IVC_CORE_PEER_UP || st == IVC_CORE_PEER_CLOSED;
}

/* 1 attached (or attached and closed since), 0 not yet, -1 gone or too
 * late. Where the platform cannot say whether the client's domain lives
 * (or always, with ask_rdv), the rendezvous is asked whether the client's
 * end is gone; the shared state, read after, tells an attach-and-close
 * from a death (spec 9.8). */
static int offer_state(const struct ivc_offers *o, const struct ivc_offer *p)
{
	struct ivc_chan *c = p->c;
	int st, alive;

	if (ivc__ctx_dead(c->ctx))
		return -1; /* the platform's event device is gone: so is the offer */
	st = ivc_core_peer(&c->core);
	if (attached(st))
		return 1;
	alive = c->ctx->ops->domain_alive(c->ctx->plat, c->peer);
	if (alive == 0)
		return -1;
	if ((alive < 0 || o->ask_rdv) && c->ctx->rdv->peer_gone(c))
		return attached(ivc_core_peer(&c->core)) ? 1 : -1;
	return st < 0 || st == IVC_CORE_PEER_DEAD || ivc__now_ms(c->ctx) > p->attach_by ? -1 : 0;
}

/* Offer i leaves the list: released, or the caller's. */
static struct ivc_chan *offers_take(struct ivc_offers *o, int i, bool release)
{
	struct ivc_chan *c = o->v[i].c;

	o->v[i] = o->v[--o->n];
	if (release) {
		ivc__chan_release(c, false); /* the mode removes what it published */
		return NULL;
	}
	ivc__obj_kind(c->ctx, &c->obj, OBJ_CHAN, NULL);
	return c;
}

struct ivc_chan *ivc__offers_check(struct ivc_offers *o, void (*on_attach)(struct ivc_chan *c))
{
	for (int i = 0; i < o->n; i++) {
		int st = offer_state(o, &o->v[i]);
		if (st > 0) {
			struct ivc_chan *c = offers_take(o, i, false);
			on_attach(c);
			/* What arrived while it was pending woke the listener
			 * only: the caller's next ivc_wait reports it once. */
			ivc__obj_ready(c->ctx, &c->obj);
			return c;
		}
		if (st < 0)
			offers_take(o, i--, true);
	}
	return NULL;
}

void ivc__offers_close(struct ivc_offers *o)
{
	/* An orderly close: a client that attached meanwhile sees end of
	 * stream, not a reset. */
	while (o->n)
		ivc__chan_release(o->v[--o->n].c, true);
}
