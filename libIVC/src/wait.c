/* SPDX-License-Identifier: MIT */
/* wait.c - a channel's events, sleeping, and noticing a dead peer. */
#include <errno.h>

#include "internal.h"

/* Clears what is pending: 0, or the platform's error where its event
 * device has gone for good (the sim host stopped: ESRCH; on Xen it never
 * does). Such a device polls readable forever, so waiting on it would
 * spin. Other errors (a transient failure to recover an overflowed queue)
 * are left to the next round, as before. */
int ivc__drain_events(struct ivc_chan *c)
{
	uint32_t port;
	int r;

	while ((r = c->ctx->ops->evtchn_pending(c->plat, &port)) == 0) {
		c->ctx->ops->evtchn_unmask(c->plat, port);
		c->notify_rx++;
	}
	return r == -ESRCH || r == -EPIPE || r == -ECONNRESET || r == -EBADF ? r : 0;
}

int ivc__kick(struct ivc_chan *c)
{
	if (!ivc_core_notify_check(&c->core))
		return 0;
	return c->ctx->ops->evtchn_notify(c->plat, c->port);
}

/* The peer's watch fired: if the rendezvous shows its end gone and the
 * peer's side line still says up, the peer's domain died. The rendezvous
 * is read before the shared state, so an orderly close (closed flag set,
 * then the rendezvous state removed) is reported as a close. */
void ivc__peer_watch_check(struct ivc_chan *c)
{
	const struct ivc_rdv_ops *rdv = c->ctx->rdv;

	if (rdv->peer_watch_fired(c) && rdv->peer_gone(c) &&
	    ivc_core_peer(&c->core) == IVC_CORE_PEER_UP)
		ivc_core_set_peer_dead(&c->core);
}

/* The peer's domain is gone although no unmap-notify told us (a whole
 * domain died; Xen runs no kernel of it to send one): tell the core, so
 * that calls report -ECONNRESET. */
void ivc__check_peer_domain(struct ivc_chan *c)
{
	const struct ivc_plat_ops *ops = c->ctx->ops;
	const struct ivc_rdv_ops *rdv = c->ctx->rdv;
	uint32_t st, rd, rp;
	int alive;

	c->checked_ms = ivc__now_ms(c->ctx);
	alive = ops->domain_alive(c->plat, c->peer);
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
	/* An unprivileged domain may not be able to ask about other domains;
	 * its own port can: Xen reverts it to unbound when the peer's end
	 * closes, which a dead domain's does. (An orderly close is seen
	 * first: the core reports CLOSED before DEAD.) */
	if (ivc_core_peer(&c->core) == IVC_CORE_PEER_UP &&
	    ops->evtchn_status(c->plat, c->port, &st, &rd, &rp) == 0 &&
	    st != IVC_PLAT_EVTCHN_INTERDOMAIN)
		ivc_core_set_peer_dead(&c->core);
}

/* Sleeps until an event, the deadline, or a liveness tick. 0: retry;
 * -ETIMEDOUT: deadline passed. */
int ivc__chan_sleep(struct ivc_chan *c, int64_t deadline)
{
	const struct ivc_plat_ops *ops = c->ctx->ops;
	int ms = ivc__left_ms(c->ctx, deadline), r;

	if (ms == 0)
		return -ETIMEDOUT;
	if (ms < 0 || ms > LIVENESS_MS)
		ms = LIVENESS_MS;
	c->waits++;
	r = c->ws ? ops->waitset_wait(c->ws, ms) : ops->evtchn_wait(c->plat, ms);
	if (r < 0)
		return r;
	/* Also when events keep coming: they must not starve the check. */
	if (r == 0 || ivc__now_ms(c->ctx) - c->checked_ms >= LIVENESS_MS)
		ivc__check_peer_domain(c);
	return 0;
}
