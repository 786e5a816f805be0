/* SPDX-License-Identifier: MIT */
/*
 * ready.c - waiting on every channel and listener of a context at once:
 * ivc_wait (any platform) and ivc_fd (one descriptor for event loops).
 * The pump queues each object whose events moved, once, on the context's
 * ready list; ivc_wait hands them out.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

/* Queues o as ready, as the pump would, and wakes other waiters (under
 * the lock). */
static void queue(struct ivc_ctx *ctx, struct ivc_obj *o)
{
	ivc__obj_queue(ctx, o);
	ivc__kick_waiters(ctx);
}

/* Peers whose domains died send no event: every LIVENESS_MS, ask once per
 * peer domain (where the platform may), and report the channels whose
 * peer's domain is gone; their next call finds it so. The question is
 * asked without the lock (it may be a round trip); the channels are then
 * looked up again, since one may have gone meanwhile. Nothing of a
 * channel's own state is touched here: its thread may be using it. */
#define TICK_DOMS 16
static void liveness_tick(struct ivc_ctx *ctx)
{
	uint32_t dom[TICK_DOMS];
	int n = 0, ndead = 0;
	bool cannot = false;

	if (ivc__now_ms(ctx) - ctx->tick_ms < LIVENESS_MS)
		return;
	ctx->tick_ms = ivc__now_ms(ctx);
	/* A listener with offers outstanding: only ivc_accept withdraws
	 * those whose client died or never came, so report it now and then. */
	for (struct ivc_chan *c = ctx->chans; c; c = c->next)
		if (c->obj.kind == OBJ_OTHER && c->obj.parent)
			queue(ctx, c->obj.parent);
	if (ctx->no_alive)
		return;
	for (struct ivc_chan *c = ctx->chans; c && n < TICK_DOMS; c = c->next) {
		int i = 0;
		if (c->obj.kind != OBJ_CHAN || c->dead_queued)
			continue;
		while (i < n && dom[i] != c->peer)
			i++;
		if (i == n)
			dom[n++] = c->peer;
	}
	ivc__unlock(ctx);
	for (int i = 0; i < n; i++) {
		int a = ctx->ops->domain_alive(ctx->plat, dom[i]);
		if (a == -ENOSYS) {
			cannot = true;
			break;
		}
		if (a == 0)
			dom[ndead++] = dom[i];
	}
	ivc__lock(ctx);
	if (cannot) /* a domU: its presence watches tell instead */
		ctx->no_alive = true;
	for (struct ivc_chan *c = ctx->chans; c && ndead; c = c->next)
		for (int i = 0; i < ndead; i++)
			if (c->obj.kind == OBJ_CHAN && !c->dead_queued && c->peer == dom[i]) {
				c->dead_queued = true;
				queue(ctx, &c->obj);
			}
}

/* Takes up to max from the ready list. */
static int take(struct ivc_ctx *ctx, struct ivc_ready *out, int max)
{
	int n = 0;

	while (n < max && ctx->ready) {
		struct ivc_obj *o = ctx->ready;

		ctx->ready = o->next_ready;
		if (!ctx->ready)
			ctx->ready_tail = NULL;
		o->queued = false;
		out[n++] = (struct ivc_ready){
			.chan = o->kind == OBJ_CHAN ? o->self : NULL,
			.listener = o->kind == OBJ_LISTENER ? o->self : NULL,
			.user = o->user,
		};
	}
	if (!ctx->ready && ctx->ready_note)
		ctx->ops->note_clear(ctx->ready_note);
	return n;
}

int ivc_wait(struct ivc_ctx *ctx, struct ivc_ready *out, int max, int timeout_ms)
{
	int64_t deadline;

	if (!ctx || !out || max <= 0)
		return -EINVAL;
	deadline = ivc__deadline_of(ctx, timeout_ms);
	for (;;) {
		uint64_t seen;
		int n, ms, err;

		ivc__lock(ctx);
		ivc__pump(ctx);
		liveness_tick(ctx);
		n = take(ctx, out, max);
		seen = ctx->any.events;
		err = ctx->dead;
		ivc__unlock(ctx);
		if (n)
			return n;
		if (err)
			return err;
		ms = ivc__left_ms(ctx, deadline);
		if (ms == 0)
			return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
		if (ms < 0 || ms > LIVENESS_MS)
			ms = LIVENESS_MS;
		err = ivc__wait_obj(ctx, &ctx->any, seen, ms);
		if (err)
			return err;
	}
}

int ivc_fd(struct ivc_ctx *ctx)
{
	int err = 0;

	if (!ctx)
		return -EINVAL;
	ivc__lock(ctx);
	if (!ctx->ws) {
		err = ctx->ops->note_new(ctx->plat, &ctx->ready_note);
		if (!err)
			err = ctx->ops->waitset_new(ctx->plat, ctx->xs, ctx->ready_note, &ctx->ws);
		if (err && ctx->ready_note) {
			ctx->ops->note_free(ctx->ready_note);
			ctx->ready_note = NULL;
		}
		if (!err && ctx->ready)
			ctx->ops->note_set(ctx->ready_note);
		if (!err)
			ivc__unmask_queued(ctx); /* the program may wait on the device now */
	}
	ivc__unlock(ctx);
	return err ? err : ctx->ops->waitset_fd(ctx->ws);
}

void ivc_chan_set_user(struct ivc_chan *c, void *user)
{
	ivc__lock(c->ctx);
	c->obj.user = user;
	ivc__unlock(c->ctx);
}

void *ivc_chan_user(const struct ivc_chan *c)
{
	void *u;

	ivc__lock(c->ctx);
	u = c->obj.user;
	ivc__unlock(c->ctx);
	return u;
}

void ivc_listener_set_user(struct ivc_listener *l, void *user)
{
	ivc__lock(l->ctx);
	l->obj.user = user;
	ivc__unlock(l->ctx);
}

void *ivc_listener_user(const struct ivc_listener *l)
{
	void *u;

	ivc__lock(l->ctx);
	u = l->obj.user;
	ivc__unlock(l->ctx);
	return u;
}
