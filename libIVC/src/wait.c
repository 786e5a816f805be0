/* SPDX-License-Identifier: MIT */
/*
 * wait.c - the events of a context and the threads that wait for them.
 *
 * Every port of the context is bound through one event channel handle and
 * every watch is set on one XenStore connection, so one pump sorts what
 * arrives: a port to the object that owns it (ctx->port), a watch event to
 * the object its token names ("w<n>": ctx->watch[n]). Each object counts
 * its events; a thread waiting for one remembers the count it saw.
 *
 * One thread at a time waits on the platform (the poller); the others
 * sleep on the lock's condition. The poller pumps, then wakes them all,
 * and the one leaving (its object moved, or its time is up) hands the role
 * on by that same broadcast. A pump thread runs only once someone has
 * asked for a descriptor (ivc_chan_fd, ivc_listener_fd, ivc_fd): then the
 * notes behind those descriptors are set without anyone calling in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Ports and watch slots beyond these are refused (XenStore's and Xen's own
 * limits are far lower for one domain; this bounds our tables). */
#define MAX_PORT (1u << 20)
#define MAX_WATCH 4096u

/* Puts o on the ready list for ivc_wait, once (under the lock). */
void ivc__obj_queue(struct ivc_ctx *ctx, struct ivc_obj *o)
{
	if (o->queued)
		return;
	o->queued = true;
	o->next_ready = NULL;
	if (ctx->ready_tail)
		ctx->ready_tail->next_ready = o;
	else
		ctx->ready = o;
	ctx->ready_tail = o;
	ctx->any.events++;
	if (ctx->ready_note)
		ctx->ops->note_set(ctx->ready_note);
}

/* o moved: its descriptor polls readable, and ivc_wait reports it once. */
static void obj_wake(struct ivc_ctx *ctx, struct ivc_obj *o)
{
	if (o->note)
		ctx->ops->note_set(o->note);
	if (o->kind != OBJ_OTHER)
		ivc__obj_queue(ctx, o);
}

/* The lock's condition, with its sleepers counted: a broadcast that
 * nobody sleeps on (two per channel sleep in a program with one thread
 * per context) is not made. Both under the lock. */
static int cond_sleep(struct ivc_ctx *ctx, int ms)
{
	int err;

	ctx->sleepers++;
	err = ctx->ops->cond_wait(ctx->plat, ms);
	ctx->sleepers--;
	return err;
}

static void broadcast(struct ivc_ctx *ctx)
{
	if (ctx->sleepers)
		ctx->ops->cond_broadcast(ctx->plat);
}

/* Someone other than the poller moved a count: the sleepers look again,
 * and so does the poller, which may have missed the events just taken. */
void ivc__kick_waiters(struct ivc_ctx *ctx)
{
	broadcast(ctx);
	if (ctx->polling)
		ctx->ops->wake(ctx->plat);
}

void ivc__obj_ready(struct ivc_ctx *ctx, struct ivc_obj *o)
{
	ivc__lock(ctx);
	obj_wake(ctx, o);
	ivc__kick_waiters(ctx);
	ivc__unlock(ctx);
}

/* What o is (a listener's pending channel is OBJ_OTHER: its events wake
 * the parent, and ivc_wait does not hand it out). */
void ivc__obj_kind(struct ivc_ctx *ctx, struct ivc_obj *o, enum obj_kind kind,
		   struct ivc_obj *parent)
{
	ivc__lock(ctx);
	o->kind = kind;
	o->parent = parent;
	ivc__unlock(ctx);
}

static void deliver(struct ivc_ctx *ctx, struct ivc_obj *o, bool watch)
{
	if (watch)
		o->fired++;
	else
		o->events++;
	obj_wake(ctx, o);
	if (o->parent) {
		o->parent->events++;
		obj_wake(ctx, o->parent);
	}
}

/* A device that has gone for good (the sim host stopped: ESRCH; on Xen it
 * never does) polls readable forever: waiting on it would spin. */
static bool gone(int err)
{
	return err == -ESRCH || err == -EPIPE || err == -ECONNRESET || err == -EBADF;
}

/* The platform's device has gone: every descriptor polls readable, so
 * that programs waiting on them call in and learn of it. */
static void all_notes(struct ivc_ctx *ctx)
{
	for (struct ivc_obj *o = ctx->notes; o; o = o->next_note)
		ctx->ops->note_set(o->note);
	if (ctx->ready_note)
		ctx->ops->note_set(ctx->ready_note);
}

/* ---- brokered mode's routes ------------------------------------------- */

#define ROUTE_BUCKETS 256u
struct ivc_route {
	struct ivc_route *next;
	struct ivc_obj *o;
	uint32_t peer; /* a channel end's peer domain, else NO_PEER */
	char key[48];
};

#define NO_PEER UINT32_MAX

static struct ivc_route **route_find(struct ivc_ctx *ctx, const char *key, size_t n)
{
	struct ivc_route **pp = &ctx->routes[ivc__fnv1a(key, n) % ROUTE_BUCKETS];

	while (*pp && (strlen((*pp)->key) != n || memcmp((*pp)->key, key, n)))
		pp = &(*pp)->next;
	return pp;
}

int ivc__route_add(struct ivc_ctx *ctx, const char *key, struct ivc_obj *o)
{
	return ivc__route_chan(ctx, key, o, NO_PEER);
}

int ivc__route_chan(struct ivc_ctx *ctx, const char *key, struct ivc_obj *o, uint32_t peer)
{
	size_t n = strlen(key);
	struct ivc_route **pp, *r;
	int err = 0;

	if (n >= sizeof r->key)
		return -EINVAL;
	ivc__lock(ctx);
	if (!ctx->routes)
		ctx->routes = calloc(ROUTE_BUCKETS, sizeof *ctx->routes);
	pp = ctx->routes ? route_find(ctx, key, n) : NULL;
	if (pp && *pp) {
		(*pp)->o = o;
		(*pp)->peer = peer;
	} else if (pp && (r = calloc(1, sizeof *r))) {
		memcpy(r->key, key, n + 1);
		r->o = o;
		r->peer = peer;
		*pp = r;
	} else
		err = -ENOMEM;
	ivc__unlock(ctx);
	return err;
}

/* Only o's route goes: the key may have been handed on since. */
void ivc__route_del(struct ivc_ctx *ctx, const char *key, const struct ivc_obj *o)
{
	struct ivc_route **pp, *r;

	ivc__lock(ctx);
	pp = ctx->routes ? route_find(ctx, key, strlen(key)) : NULL;
	if (pp && *pp && (*pp)->o == o) {
		r = *pp;
		*pp = r->next;
		free(r);
	}
	ivc__unlock(ctx);
}

void ivc__routes_free(struct ivc_ctx *ctx)
{
	for (unsigned i = 0; ctx->routes && i < ROUTE_BUCKETS; i++)
		while (ctx->routes[i]) {
			struct ivc_route *r = ctx->routes[i];
			ctx->routes[i] = r->next;
			free(r);
		}
	free(ctx->routes);
	ctx->routes = NULL;
}

/* The owner of an event in our area: "<area>/ans/<key>[/...]" and
 * "<area>/chan/<key>[/...]" name the key; anything else (the area coming
 * or going) is the area's. Under the lock. */
static struct ivc_obj *route_of(struct ivc_ctx *ctx, const char *path)
{
	size_t a = strlen(ctx->area_path), n;
	struct ivc_route **pp;
	const char *k;

	if (strncmp(path, ctx->area_path, a) || path[a] != '/' || !ctx->routes)
		return &ctx->area;
	k = path + a + 1;
	if (!strncmp(k, "ans/", 4))
		k += 4;
	else if (!strncmp(k, "chan/", 5))
		k += 5;
	else
		return &ctx->area;
	n = strcspn(k, "/");
	pp = route_find(ctx, k, n);
	return *pp ? (*pp)->o : &ctx->area;
}

/* Where ctx->gone holds domain p: its index, or 8. Under the lock. */
unsigned ivc__gone_slot(const struct ivc_ctx *ctx, uint32_t p)
{
	unsigned i = 0;

	while (i < 8 && ctx->gone[i].dom != p)
		i++;
	return i;
}

/* Notes that a notice names p, so that the next end of p to look reads it
 * (brokered.c); ends read nothing while no notice was heard of. */
static void gone_heard(struct ivc_ctx *ctx, uint32_t p)
{
	unsigned i = ivc__gone_slot(ctx, p);

	if (i < 8) {
		ctx->gone[i].heard = true;
		return;
	}
	ctx->gone[ctx->gone_next].dom = p;
	ctx->gone[ctx->gone_next].seq = 0;
	ctx->gone[ctx->gone_next].heard = true;
	ctx->gone_next = (ctx->gone_next + 1) % 8;
}

/* "<area>/gone/<P>" (9.11.5 item 2): a notice that domain P is gone;
 * every end of ours whose peer it was looks again (ivc__peer_watch_check:
 * the notice, then its `peer` node). Under the lock. */
static bool gone_notice(struct ivc_ctx *ctx, const char *path)
{
	size_t a = strlen(ctx->area_path);
	uint32_t p;

	if (strncmp(path, ctx->area_path, a) || strncmp(path + a, "/gone/", 6) ||
	    ivc__parse_u32(path + a + 6, IVC_DOMID_MAX, &p))
		return false;
	gone_heard(ctx, p);
	for (unsigned i = 0; ctx->routes && i < ROUTE_BUCKETS; i++)
		for (struct ivc_route *r = ctx->routes[i]; r; r = r->next)
			if (r->peer == p)
				deliver(ctx, r->o, true);
	return true;
}

/* A port read from the device stays masked until unmasked, and the
 * unmask is a system call (20-40 us in a PV domain under emulation) that
 * nothing needs before a thread waits on the device again. So the poller
 * leaves it to its next wait (unmask_queued), after the answer the event
 * brought has gone out, not before: its peer is waiting for that. An
 * event meanwhile stays pending in Xen and comes at the unmask. Whoever
 * polls next makes it: the poller looping, or a follower the poller's
 * leaving wakes. Not for a pump outside the poller (the poller may be
 * asleep on the device and not see the port again), nor while ivc_fd's
 * descriptor exists (the program waits on the device itself). A send
 * unmasks after its signal (ivc__unmask_soon: the answer is out), and so
 * does a receive that finds its data already there (a stream's reader,
 * which answers nothing): a writer woken by room kept its port masked
 * while it filled the ring again, and in the lab 64 B messages went at
 * 0.91x of before; with the unmask at its first send, 1.00x. Under the
 * lock. */
static void unmask_later(struct ivc_ctx *ctx, uint32_t port, bool poller)
{
	unsigned i = 0;

	if (!poller || ctx->ws || ctx->nunmask == sizeof ctx->unmask / sizeof ctx->unmask[0]) {
		ctx->ops->evtchn_unmask(ctx->plat, port);
		return;
	}
	while (i < ctx->nunmask && ctx->unmask[i] != port)
		i++;
	if (i == ctx->nunmask)
		ctx->unmask[ctx->nunmask++] = port;
	atomic_store_explicit(&ctx->unmask_due, true, memory_order_relaxed);
}

void ivc__unmask_queued(struct ivc_ctx *ctx)
{
	while (ctx->nunmask)
		ctx->ops->evtchn_unmask(ctx->plat, ctx->unmask[--ctx->nunmask]);
	atomic_store_explicit(&ctx->unmask_due, false, memory_order_relaxed);
}

void ivc__unmask_now(struct ivc_ctx *ctx)
{
	ivc__lock(ctx);
	ivc__unmask_queued(ctx);
	ivc__unlock(ctx);
}

/* Hands out what has arrived; true if any count moved. */
static bool pump(struct ivc_ctx *ctx, bool poller)
{
	const struct ivc_plat_ops *ops = ctx->ops;
	uint32_t port, n;
	bool moved = false;
	char tok[16], path[160];
	int r;

	while ((r = ops->evtchn_pending(ctx->plat, &port)) == 0) {
		unmask_later(ctx, port, poller);
		if (port < ctx->nport && ctx->port[port]) {
			deliver(ctx, ctx->port[port], false);
			moved = true;
		}
	}
	if (gone(r) && !ctx->dead) {
		ctx->dead = r;
		all_notes(ctx);
		moved = true;
	}
	/* Tokens are ours, but what comes back from XenStore is checked. */
	while (ops->store_event(ctx->xs, tok, sizeof tok, path, sizeof path) == 1)
		if (tok[0] == 'w' && ivc__parse_u32(tok + 1, MAX_WATCH, &n) == 0 &&
		    n < ctx->nwatch && ctx->watch[n]) {
			deliver(ctx, ctx->watch[n], true);
			moved = true;
		} else if (!strcmp(tok, "b")) {
			if (!gone_notice(ctx, path))
				deliver(ctx, route_of(ctx, path), true);
			moved = true;
		}
	return moved;
}

/* A pump outside the poller: whoever waits for what it took looks again. */
void ivc__pump(struct ivc_ctx *ctx)
{
	if (pump(ctx, false))
		ivc__kick_waiters(ctx);
}

/* The platform's error once its event device has gone for good, else 0. */
int ivc__ctx_dead(struct ivc_ctx *ctx)
{
	int v;

	ivc__lock(ctx);
	v = ctx->dead;
	ivc__unlock(ctx);
	return v;
}

uint64_t ivc__obj_seq(struct ivc_ctx *ctx, const struct ivc_obj *o)
{
	uint64_t v;

	ivc__lock(ctx);
	v = o->events + o->fired;
	ivc__unlock(ctx);
	return v;
}

/* Polls the platform as the one poller, then pumps and wakes the others.
 * Called and returns under the lock. */
static int poll_once(struct ivc_ctx *ctx, int ms)
{
	int r;

	ivc__unmask_queued(ctx);
	ctx->polling = true;
	ivc__unlock(ctx);
	r = ctx->ops->wait(ctx->plat, ctx->xs, ms);
	ivc__lock(ctx);
	ctx->polling = false;
	pump(ctx, true);
	if (ctx->held_obj.events != ctx->held_seen) { /* a peer unmapped: reap */
		ctx->held_seen = ctx->held_obj.events;
		ivc__unlock(ctx);
		ivc__held_reap(ctx);
		ivc__lock(ctx);
	}
	broadcast(ctx);            /* whatever moved */
	if (r < 0 && !ctx->dead) { /* cannot wait any more: as if gone */
		ctx->dead = r;
		all_notes(ctx);
	}
	return r < 0 ? r : 0;
}

/* Waits until o's count is no longer `seen`, or ms pass (ms >= 0) from
 * `now` (the clock when the caller looked): 0 (the caller looks again
 * either way), or the platform's error; *moved (if not NULL): whether
 * the count moved. Called under the lock; returns without it. The clock
 * is read again only
 * when something else woke us: on some guests each read is a system
 * call. */
static int wait_obj_held(struct ivc_ctx *ctx, struct ivc_obj *o, uint64_t seen, int ms, int64_t now,
			 bool *moved)
{
	int64_t until = now + ms, left = ms;
	int err = 0;

	for (;;) {
		if (ctx->dead) {
			err = ctx->dead;
			break;
		}
		if (o->events + o->fired != seen || left <= 0)
			break;
		if (ctx->polling)
			err = cond_sleep(ctx, (int)left);
		else
			err = poll_once(ctx, (int)left);
		if (err)
			break;
		if (o->events + o->fired == seen && !ctx->dead)
			left = until - ivc__now_ms(ctx);
	}
	/* Leaving as a follower may leave nobody polling: let another try. */
	broadcast(ctx);
	if (moved)
		*moved = o->events + o->fired != seen;
	ivc__unlock(ctx);
	return err;
}

int ivc__wait_obj(struct ivc_ctx *ctx, struct ivc_obj *o, uint64_t seen, int ms)
{
	int64_t now = ivc__now_ms(ctx);

	ivc__lock(ctx);
	return wait_obj_held(ctx, o, seen, ms, now, NULL);
}

/* ---- owners ------------------------------------------------------------ */

int ivc__port_own(struct ivc_ctx *ctx, uint32_t port, struct ivc_obj *o)
{
	int err = 0;

	if (port >= MAX_PORT)
		return -ENOSPC;
	ivc__lock(ctx);
	if (port >= ctx->nport) {
		uint32_t n = ctx->nport ? ctx->nport : 64;
		while (n <= port)
			n *= 2;
		struct ivc_obj **t = realloc(ctx->port, n * sizeof *t);
		if (t) {
			for (uint32_t i = ctx->nport; i < n; i++)
				t[i] = NULL;
			ctx->port = t;
			ctx->nport = n;
		} else
			err = -ENOMEM;
	}
	if (!err)
		ctx->port[port] = o;
	ivc__unlock(ctx);
	return err;
}

void ivc__port_disown(struct ivc_ctx *ctx, uint32_t port)
{
	ivc__lock(ctx);
	if (port < ctx->nport)
		ctx->port[port] = NULL;
	for (unsigned i = 0; i < ctx->nunmask; i++)
		if (ctx->unmask[i] == port) /* it may be bound again, unmasked */
			ctx->unmask[i--] = ctx->unmask[--ctx->nunmask];
	ivc__unlock(ctx);
}

static int slot_take(struct ivc_ctx *ctx, struct ivc_obj *o)
{
	uint32_t i = 0;

	while (i < ctx->nwatch && ctx->watch[i])
		i++;
	if (i == ctx->nwatch) {
		uint32_t n = ctx->nwatch ? 2 * ctx->nwatch : 16;
		struct ivc_obj **t = n <= MAX_WATCH ? realloc(ctx->watch, n * sizeof *t) : NULL;
		if (!t)
			return -ENOMEM;
		for (uint32_t k = ctx->nwatch; k < n; k++)
			t[k] = NULL;
		ctx->watch = t;
		ctx->nwatch = n;
	}
	ctx->watch[i] = o;
	return (int)i;
}

/* Watches path for o on the context's connection; *slot names it. */
int ivc__watch(struct ivc_ctx *ctx, const char *path, struct ivc_obj *o, int *slot)
{
	char tok[16];
	int s, err;

	ivc__lock(ctx);
	s = slot_take(ctx, o);
	ivc__unlock(ctx);
	if (s < 0)
		return s;
	snprintf(tok, sizeof tok, "w%d", s);
	err = ctx->ops->store_watch(ctx->xs, path, tok);
	if (err) {
		ivc__lock(ctx);
		ctx->watch[s] = NULL;
		ivc__unlock(ctx);
		return err;
	}
	*slot = s;
	return 0;
}

/* Events of the old watch may still be queued: they wake whoever takes
 * the slot next, once, which costs a look. */
void ivc__unwatch(struct ivc_ctx *ctx, const char *path, int slot)
{
	char tok[16];
	int err;

	snprintf(tok, sizeof tok, "w%d", slot);
	err = ctx->ops->store_unwatch(ctx->xs, path, tok);
	ivc__lock(ctx);
	/* A watch that would not go keeps firing: its slot stays taken. */
	ctx->watch[slot] = err && err != -ENOENT ? &ctx->stale : NULL;
	ivc__unlock(ctx);
}

/* o is going: off the ready list, its descriptor closed. */
void ivc__obj_forget(struct ivc_ctx *ctx, struct ivc_obj *o)
{
	ivc__lock(ctx);
	for (struct ivc_obj **pp = &ctx->notes; *pp; pp = &(*pp)->next_note)
		if (*pp == o) {
			*pp = o->next_note;
			break;
		}
	if (o->queued) {
		struct ivc_obj **pp = &ctx->ready, *prev = NULL;
		while (*pp != o) {
			prev = *pp;
			pp = &(*pp)->next_ready;
		}
		*pp = o->next_ready;
		if (ctx->ready_tail == o)
			ctx->ready_tail = prev;
		o->queued = false;
	}
	struct ivc_plat_note *n = o->note;
	o->note = NULL;
	ivc__unlock(ctx);
	if (n)
		ctx->ops->note_free(n);
}

/* ---- descriptors ------------------------------------------------------- */

/* The pump thread: polls whenever nobody else does, until ivc_close. */
static void bg_main(void *arg)
{
	struct ivc_ctx *ctx = arg;

	ivc__lock(ctx);
	while (!ctx->bg_stop && !ctx->dead) {
		if (ctx->polling)
			cond_sleep(ctx, -1);
		else if (poll_once(ctx, -1) < 0)
			break;
	}
	broadcast(ctx);
	ivc__unlock(ctx);
}

static int bg_start(struct ivc_ctx *ctx)
{
	int err;

	if (ctx->bg)
		return 0;
	err = ctx->ops->thread_start(ctx->plat, bg_main, ctx);
	if (!err)
		ctx->bg = true;
	return err;
}

void ivc__bg_stop(struct ivc_ctx *ctx)
{
	if (!ctx->bg)
		return;
	ivc__lock(ctx);
	ctx->bg_stop = true;
	broadcast(ctx);
	ivc__unlock(ctx);
	ctx->ops->wake(ctx->plat);
	ctx->ops->thread_join(ctx->plat);
	ctx->bg = false;
}

/* o's descriptor, made on first use (set: the caller looks once). */
int ivc__obj_fd(struct ivc_ctx *ctx, struct ivc_obj *o)
{
	int err = 0;

	ivc__lock(ctx);
	if (!o->note) {
		err = ctx->ops->note_new(ctx->plat, &o->note);
		if (!err)
			err = bg_start(ctx);
		if (err && o->note) {
			ctx->ops->note_free(o->note);
			o->note = NULL;
		}
		if (!err) {
			ctx->ops->note_set(o->note);
			o->next_note = ctx->notes;
			ctx->notes = o;
		}
	}
	ivc__unlock(ctx);
	return err ? err : ctx->ops->note_fd(o->note);
}

/* Before looking at o's state and waiting, in one lock section: its
 * descriptor cleared (whatever arrives after this sets it again, so no
 * wake-up is lost between the look and the wait), and the count to wait
 * on. arm_held: the same, under the lock. */
static uint64_t arm_held(struct ivc_ctx *ctx, struct ivc_obj *o)
{
	if (o->note)
		ctx->ops->note_clear(o->note);
	return o->events + o->fired;
}

uint64_t ivc__obj_arm(struct ivc_ctx *ctx, struct ivc_obj *o)
{
	uint64_t seen;

	ivc__lock(ctx);
	seen = arm_held(ctx, o);
	ivc__unlock(ctx);
	return seen;
}

/* ---- channels: signalling, sleeping, a peer that died ----------------- */

/* An unprivileged domain may not be able to ask about other domains; its
 * own port can: Xen reverts it to unbound when the peer's end closes,
 * which a dead domain's does. Read before the shared state, so that an
 * orderly close (closed flag set, then the port closed) is seen as one. */
static bool port_reverted(struct ivc_chan *c)
{
	uint32_t st, rd, rp;

	return c->ctx->ops->evtchn_status(c->ctx->plat, c->port, &st, &rd, &rp) == 0 &&
	       st != IVC_PLAT_EVTCHN_INTERDOMAIN;
}

/* The peer's watch fired: if the rendezvous shows its end gone and the
 * peer's side line still says up, the peer's domain died. The rendezvous
 * is read before the shared state, so an orderly close (closed flag set,
 * then the rendezvous state removed) is reported as a close. */
static bool peer_fire_new(const struct ivc_chan *c, uint64_t fired)
{
	return fired != c->fired_seen && c->ctx->rdv->peer_watched(c);
}

static void peer_fired(struct ivc_chan *c, uint64_t fired)
{
	if (!peer_fire_new(c, fired))
		return;
	c->fired_seen = fired;
	if (ivc_core_peer(&c->core) == IVC_CORE_PEER_UP && c->ctx->rdv->peer_gone(c) &&
	    ivc_core_peer(&c->core) == IVC_CORE_PEER_UP) /* read after the rendezvous */
		ivc_core_set_peer_dead(&c->core);
}

void ivc__peer_watch_check(struct ivc_chan *c)
{
	uint64_t fired;

	if (!c->ctx->rdv->peer_watched(c))
		return;
	ivc__lock(c->ctx);
	fired = c->obj.fired;
	ivc__unlock(c->ctx);
	peer_fired(c, fired);
}

/* Before a channel looks at its ring and sleeps: what ivc__obj_arm does,
 * and the peer watch looked at (ivc__peer_watch_check) with the count
 * read in the same lock section. Returns with the lock held, so that the
 * look and the sleep after it take no lock section of their own; it is
 * let go only when the watch fired (reading the rendezvous). */
uint64_t ivc__chan_arm(struct ivc_chan *c)
{
	struct ivc_ctx *ctx = c->ctx;
	uint64_t seen;

	ivc__lock(ctx);
	seen = arm_held(ctx, &c->obj);
	if (peer_fire_new(c, c->obj.fired)) {
		uint64_t fired = c->obj.fired;
		ivc__unlock(ctx);
		peer_fired(c, fired);
		ivc__lock(ctx);
	}
	return seen;
}

/* The peer's domain is gone although no unmap-notify told us (a whole
 * domain died; Xen runs no kernel of it to send one): tell the core, so
 * that calls report -ECONNRESET. */
void ivc__check_peer_domain(struct ivc_chan *c)
{
	const struct ivc_plat_ops *ops = c->ctx->ops;
	const struct ivc_rdv_ops *rdv = c->ctx->rdv;
	int alive;

	c->checked_ms = ivc__now_ms(c->ctx);
	alive = ops->domain_alive(c->ctx->plat, c->peer);
	if (alive == 0) {
		ivc_core_set_peer_dead(&c->core);
		return;
	}
	/* A domU may not ask Xen: the rendezvous tells, through its watch,
	 * or here where there is none. It is read before the shared state,
	 * so an orderly close is reported as such, not as a death. */
	if (alive < 0 && !rdv->peer_watched(c) && rdv->peer_gone(c) &&
	    ivc_core_peer(&c->core) == IVC_CORE_PEER_UP) {
		ivc_core_set_peer_dead(&c->core);
		return;
	}
	if (ivc_core_peer(&c->core) == IVC_CORE_PEER_UP && port_reverted(c) &&
	    ivc_core_peer(&c->core) == IVC_CORE_PEER_UP) /* read after the port */
		ivc_core_set_peer_dead(&c->core);
}

/* Sleeps without a deadline need the clock only for the liveness tick:
 * after a sleep in which nothing came for the channel (the tick may be
 * due) and every CLOCKLESS-th sleep; the others skip it (a system call of
 * 20-40 us in a PV domain, one per round trip and side). A sleep ended by
 * the channel's own event had a live peer (a dead domain signals
 * nothing; its watch event ends the sleep as an event, and the peer
 * watch is read before each sleep), so a dead peer's channel reads the
 * clock at its first quiet sleep: CLOCKLESS only bounds how long a
 * channel that keeps getting events goes unchecked. */
#define CLOCKLESS 64u

static bool clockless(struct ivc_chan *c, int64_t deadline)
{
	if (deadline >= 0 || c->quiet || ++c->clockless >= CLOCKLESS) {
		c->clockless = 0;
		c->quiet = false;
		return false;
	}
	return true;
}

/* Sleeps until an event (the count moved from `seen`), the deadline, or a
 * liveness tick. 0: look again; -ETIMEDOUT: deadline passed. At most one
 * clock read per sleep. Called under the lock (ivc__chan_arm's); returns
 * without it. */
int ivc__chan_sleep(struct ivc_chan *c, uint64_t seen, int64_t deadline)
{
	int64_t now, ms;
	bool moved = true;
	int err;

	if (clockless(c, deadline)) {
		/* `now` only bounds re-sleeps after others' events: a stale
		 * one ends them early, and the caller looks again. */
		now = c->checked_ms;
		ms = LIVENESS_MS;
	} else {
		now = ivc__now_ms(c->ctx);
		ms = deadline < 0 ? LIVENESS_MS : deadline - now;
		/* Every LIVENESS_MS a sleep gives way to the check, also when
		 * events keep coming (they must not starve it); the caller
		 * looks again. */
		if (ms <= 0 || now - c->checked_ms >= LIVENESS_MS) {
			ivc__unlock(c->ctx);
			if (ms <= 0)
				return -ETIMEDOUT;
			ivc__check_peer_domain(c);
			return 0;
		}
	}
	c->waits++;
	err = wait_obj_held(c->ctx, &c->obj, seen, ms > LIVENESS_MS ? LIVENESS_MS : (int)ms, now,
			    &moved);
	c->quiet = !moved; /* nothing came: the tick may be due by the next sleep */
	return err;
}
