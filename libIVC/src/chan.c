/* SPDX-License-Identifier: MIT */
/*
 * chan.c - a channel from typed values. A listener's end: fresh pages
 * granted to the client, an unbound event channel, the core created in
 * them (chan_offer). A client's end: the control pages mapped, the header
 * checked against what was agreed, the rings mapped, the port bound
 * (chan_attach). The rendezvous mode carries the references and the port
 * between them; nothing here knows how.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Until the rendezvous hands it out (ivc__obj_kind), a channel is
 * OBJ_OTHER: ivc_wait does not report it. */
static struct ivc_chan *chan_new(struct ivc_ctx *ctx, const struct chan_spec *spec, uint32_t peer)
{
	struct ivc_chan *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->ctx = ctx;
	c->peer = peer;
	c->dir = spec->dir;
	snprintf(c->type_name, sizeof c->type_name, "%s", spec->type.name);
	c->type = (struct ivc_type){ c->type_name, spec->type.version, spec->type.mode };
	c->obj = (struct ivc_obj){ .kind = OBJ_OTHER, .self = c };
	ctx->ops->lock(ctx->plat);
	c->next = ctx->chans;
	if (c->next)
		c->next->prev = c;
	ctx->chans = c;
	ctx->ops->unlock(ctx->plat);
	return c;
}

/* The port is c's: its events wake c's waiters. */
static int own_port(struct ivc_chan *c, int err)
{
	if (err)
		return err;
	err = ivc__port_own(c->ctx, c->port, &c->obj);
	if (err) {
		c->ctx->ops->evtchn_unbind(c->ctx->plat, c->port);
		c->port = 0;
	}
	return err;
}

/* -ENOMEM, -ENOSPC or -EIO: what ivc_accept reports for our own failures. */
static int offer_error(int err)
{
	return err == -ENOMEM || err == -ENOSPC ? err : -EIO;
}

/* ---- grants the peer still maps at close (spec 6.6) ----------------------
 *
 * Side 0 may end access only once the peer has unmapped. On Linux,
 * gntalloc takes a release it cannot do yet onto the kernel's deferred
 * list, and that list frees ten grants a second: a dom0 service whose
 * clients unmap just after it closes (the usual order) ran out of grant
 * references after about 60 channels of 1 MiB rings (Xen lab, both with
 * libIVC and libxenvchan). Where the platform says so (hold_mapped), the
 * share is held here instead, with the channel's port, and released once
 * the peer's live byte says it unmapped, its domain is gone, or the
 * context closes. The peer's unmap signals that port (spec 6.1 item 3),
 * now owned by ctx->held_obj: whoever pumps the event reaps (wait.c), and
 * so do the next channel's offer and close. At most HELD_MAX are held: a
 * peer that keeps its mappings holds no more of ours than that; the rest
 * go to the kernel's list as before. */
#define HELD_MAX 64u

struct ivc_held {
	struct ivc_held *next;
	struct ivc_plat_share *share;
	const struct ivc_wire_ctrl *ctrl; /* in the share: valid until released */
	uint32_t peer, port;
};

static void held_release(struct ivc_ctx *ctx, struct ivc_held *h)
{
	if (ctx->ops->unshare(ctx->plat, h->share) == -EBUSY)
		ctx->ops->unshare_defer(ctx->plat, h->share);
	if (h->port) {
		ivc__port_disown(ctx, h->port);
		ctx->ops->evtchn_unbind(ctx->plat, h->port);
	}
	free(h);
}

static bool has_peer(const uint32_t *v, unsigned n, uint32_t peer)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i] == peer)
			return true;
	return false;
}

/* Into dead: the peers, still mapping, whose domain is gone (Xen then
 * unmapped for them, and nobody clears the live byte). Asked outside the
 * lock, once per domain: each is a hypercall. */
static unsigned held_dead(struct ivc_ctx *ctx, uint32_t *dead)
{
	uint32_t peer[HELD_MAX];
	unsigned n = 0, nd = 0;

	ivc__lock(ctx);
	for (const struct ivc_held *h = ctx->held; h && n < HELD_MAX; h = h->next)
		if (ivc_core_peer_maps(h->ctrl) && !has_peer(peer, n, h->peer))
			peer[n++] = h->peer;
	ivc__unlock(ctx);
	for (unsigned i = 0; i < n; i++)
		if (ctx->ops->domain_alive(ctx->plat, peer[i]) == 0)
			dead[nd++] = peer[i];
	return nd;
}

/* Releases what may go (everything if `all`); the number still held. */
static unsigned held_reap(struct ivc_ctx *ctx, bool all)
{
	struct ivc_held *go = NULL, **pp;
	uint32_t dead[HELD_MAX];
	unsigned left, nd;

	if (!ctx->ops->hold_mapped)
		return 0; /* nothing is ever held (held_add) */
	nd = all ? 0 : held_dead(ctx, dead);
	ivc__lock(ctx);
	pp = &ctx->held;
	while (*pp) {
		struct ivc_held *h = *pp;
		if (all || !ivc_core_peer_maps(h->ctrl) || has_peer(dead, nd, h->peer)) {
			*pp = h->next;
			h->next = go;
			go = h;
			ctx->nheld--;
		} else
			pp = &h->next;
	}
	left = ctx->nheld;
	ivc__unlock(ctx);
	while (go) {
		struct ivc_held *h = go;
		go = h->next;
		held_release(ctx, h);
	}
	return left;
}

void ivc__held_reap(struct ivc_ctx *ctx)
{
	held_reap(ctx, false);
}

/* True if c's share and port are now held (the caller releases them
 * otherwise, and reaps after: an unmap before the port was ours
 * signalled the channel, not us). */
static bool held_add(struct ivc_chan *c)
{
	struct ivc_ctx *ctx = c->ctx;
	struct ivc_held *h;
	bool held = false;

	if (!ctx->ops->hold_mapped || c->core.side != 0 || !c->core.ctrl ||
	    !ivc_core_peer_maps(c->core.ctrl) || !(h = calloc(1, sizeof *h)))
		return false;
	*h = (struct ivc_held){
		.share = c->share, .ctrl = c->core.ctrl, .peer = c->peer, .port = c->port
	};
	ivc__lock(ctx);
	if (ctx->nheld < HELD_MAX) {
		h->next = ctx->held;
		ctx->held = h;
		ctx->nheld++;
		if (c->port && c->port < ctx->nport)
			ctx->port[c->port] = &ctx->held_obj;
		held = true;
	}
	ivc__unlock(ctx);
	if (!held)
		free(h);
	return held;
}

/* At ivc_close: waits up to HELD_WAIT_MS for the peers to unmap, then
 * leaves the rest to the platform. */
#define HELD_WAIT_MS 2000

void ivc__held_close(struct ivc_ctx *ctx)
{
	int64_t until;

	if (!ctx->held)
		return;
	until = ctx->ops->now_ns() + (int64_t)HELD_WAIT_MS * 1000000;
	while (held_reap(ctx, false) && ctx->ops->nap && ctx->ops->now_ns() < until)
		ctx->ops->nap(10000);
	held_reap(ctx, true);
}

static int chan_offer(struct ivc_ctx *ctx, const struct chan_spec *spec, uint32_t client,
		      struct ivc_chan **out, uint32_t *ctrl_refs, uint32_t *nctrl)
{
	const struct ivc_plat_ops *ops = ctx->ops;
	const struct ivc_core_params *p = &spec->params;
	uint32_t n0 = ivc_wire_ring_pages(p->order[0]), n1 = ivc_wire_ring_pages(p->order[1]);
	uint32_t npages = p->ctrl_pages + n0 + n1;
	uint32_t *grefs = calloc(npages, sizeof *grefs);
	struct ivc_chan *c = chan_new(ctx, spec, client);
	void *addr;
	uint8_t *mem;
	int err = grefs && c ? 0 : -ENOMEM;

	if (!err)
		err = own_port(c, ops->evtchn_alloc_unbound(ctx->plat, client, &c->port));
	if (!err)
		err = ops->share(ctx->plat, client, npages, false, &addr, grefs, &c->share);
	/* Unmap-notify is armed before the live byte is set (spec 6.1): if
	 * this process goes, the client sees side 0 down. */
	if (!err)
		err = ops->share_notify(ctx->plat, c->share, IVC_WIRE_LIVE_OFFSET(0),
					IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT,
					c->port);
	if (!err) {
		mem = addr;
		err = ivc_core_create(&c->core, mem, (size_t)p->ctrl_pages * PAGE, p,
				      n0 ? mem + (size_t)p->ctrl_pages * PAGE : NULL,
				      n1 ? mem + (size_t)(p->ctrl_pages + n0) * PAGE : NULL);
	}
	if (!err)
		ivc_core_set_created(&c->core, (uint64_t)ops->wall_ms());
	if (err) {
		free(grefs);
		if (c)
			ivc__chan_release(c, false);
		return offer_error(err);
	}
	memcpy(ivc_core_grefs(mem), grefs + p->ctrl_pages, (size_t)(n0 + n1) * 4);
	memcpy(ctrl_refs, grefs, (size_t)p->ctrl_pages * 4);
	*nctrl = p->ctrl_pages;
	free(grefs);
	*out = c;
	return 0;
}

int ivc__chan_offer(struct ivc_ctx *ctx, const struct chan_spec *spec, uint32_t client,
		    struct ivc_chan **out, uint32_t *ctrl_refs, uint32_t *nctrl)
{
	held_reap(ctx, false); /* closed channels' grants, before new ones are taken */
	return chan_offer(ctx, spec, client, out, ctrl_refs, nctrl);
}

/* The header must say what the rendezvous said: mode and directions (both
 * sides check the type; a server that says one thing and maps another is
 * refused), and the sizes the client agreed to (spec 7.1). */
static int header_matches(const struct ivc_core_params *p, const struct chan_spec *spec)
{
	if (p->mode !=
		(spec->type.mode == IVC_STREAM ? IVC_WIRE_MODE_STREAM : IVC_WIRE_MODE_MESSAGE) ||
	    (spec->dir & IVC_IN) != (p->order[0] ? IVC_IN : 0) ||
	    (spec->dir & IVC_OUT) != (p->order[1] ? IVC_OUT : 0))
		return -EPROTOTYPE;
	for (int r = 0; r < 2; r++)
		if (ivc_core_ring_bytes(p, (unsigned)r) != spec->ring_bytes[r] ||
		    p->max_msg[r] != spec->params.max_msg[r])
			return -EPROTO;
	return 0;
}

/* Maps both rings; their references come from the validated header,
 * copied out of shared memory once. */
static int map_rings(struct ivc_chan *c, uint32_t server, void *ctrl,
		     const struct ivc_core_params *p, void *ring[2])
{
	uint32_t n[2] = { ivc_wire_ring_pages(p->order[0]), ivc_wire_ring_pages(p->order[1]) };
	uint32_t *refs = malloc((size_t)(n[0] + n[1]) * 4);
	int err = 0;

	if (!refs)
		return -ENOMEM;
	memcpy(refs, ivc_core_grefs(ctrl), (size_t)(n[0] + n[1]) * 4);
	for (int r = 0; r < 2 && !err; r++)
		if (n[r])
			err = c->ctx->ops->map(c->ctx->plat, server, refs + (r ? n[0] : 0), n[r],
					       false, &ring[r], &c->ring_map[r]);
	free(refs);
	return err;
}

static int attach(struct ivc_chan *c, const struct chan_spec *spec, uint32_t server,
		  const uint32_t *ctrl_refs, uint32_t nctrl, uint32_t rport)
{
	const struct ivc_plat_ops *ops = c->ctx->ops;
	struct ivc_plat *plat = c->ctx->plat;
	struct ivc_core_params p;
	void *ctrl, *ring[2] = { NULL, NULL };
	int err;

	if (nctrl == 0 || nctrl > IVC_WIRE_MAX_CTRL_PAGES)
		return -EPROTO;
	err = ops->map(plat, server, ctrl_refs, nctrl, false, &ctrl, &c->ctrl_map);
	if (!err)
		err = ivc_core_read_params(ctrl, (size_t)nctrl * PAGE, &p);
	if (!err)
		err = header_matches(&p, spec);
	if (!err)
		err = map_rings(c, server, ctrl, &p, ring);
	if (!err)
		err = own_port(c, ops->evtchn_bind(plat, server, rport, &c->port));
	if (!err)
		err = ops->map_notify(plat, c->ctrl_map, IVC_WIRE_LIVE_OFFSET(1),
				      IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT,
				      c->port);
	if (!err)
		err = ivc_core_attach(&c->core, ctrl, (size_t)nctrl * PAGE, &p, ring[0], ring[1]);
	if (!err)
		ops->evtchn_notify(plat, c->port); /* tell the listener */
	return err;
}

int ivc__chan_attach(struct ivc_ctx *ctx, const struct chan_spec *spec, uint32_t server,
		     const uint32_t *ctrl_refs, uint32_t nctrl, uint32_t port,
		     struct ivc_chan **out)
{
	struct ivc_chan *c = chan_new(ctx, spec, server);
	int err;

	if (!c)
		return -ENOMEM;
	err = attach(c, spec, server, ctrl_refs, nctrl, port);
	if (err) {
		ivc__chan_release(c, false);
		return err;
	}
	*out = c;
	return 0;
}

/* Off the context's list, and no longer anyone's to be handed out, before
 * anything is released: ivc_wait's liveness tick walks the list. */
static void chan_unlink(struct ivc_chan *c)
{
	struct ivc_ctx *ctx = c->ctx;

	ctx->ops->lock(ctx->plat);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctx->chans = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->obj.kind = OBJ_OTHER;
	c->obj.parent = NULL;
	ctx->ops->unlock(ctx->plat);
	ivc__obj_forget(ctx, &c->obj); /* off the ready list, its note closed */
}

/* Releases everything; 0 or the first error met. */
int ivc__chan_release(struct ivc_chan *c, bool orderly)
{
	struct ivc_ctx *ctx = c->ctx;
	const struct ivc_plat_ops *ops = ctx->ops;
	struct ivc_plat *p = ctx->plat;
	int err = 0, r;
	bool held;

	chan_unlink(c);
	if (orderly && c->core.ctrl) {
		ivc_core_close(&c->core);
		/* The peer may be asleep: wake it whatever it asked for. */
		if (c->port)
			ops->evtchn_notify(p, c->port);
	}
	if (c->rdv)
		err = c->ctx->rdv->chan_release(c);
	for (int i = 0; i < 2; i++)
		if (c->ring_map[i] && (r = ops->unmap(p, c->ring_map[i])) && !err)
			err = r;
	if (c->ctrl_map && (r = ops->unmap(p, c->ctrl_map)) && !err)
		err = r;
	held = c->share && held_add(c); /* then the share and port are held */
	if (c->share && !held && ops->unshare(p, c->share) == -EBUSY)
		/* The peer still maps it: Xen ends access once it unmaps. */
		ops->unshare_defer(p, c->share);
	if (c->port && !held) {
		ivc__port_disown(ctx, c->port);
		if ((r = ops->evtchn_unbind(p, c->port)) && !err)
			err = r;
	}
	free(c);
	held_reap(ctx, false); /* ours if the peer unmapped meanwhile, and older ones */
	return err;
}

int ivc_chan_close(struct ivc_chan *c)
{
	if (!c)
		return -EINVAL;
	return ivc__chan_release(c, true);
}
