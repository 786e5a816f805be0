/* SPDX-License-Identifier: MIT */
/*
 * sleep.c - the xen platform's sleeps: one blocking read of the event
 * device, ended by a loopback event channel (see below).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "plat.h"

/* ---- sleeping ------------------------------------------------------------
 *
 * A sleep of TICK_MS or more (a channel's without a deadline, the
 * background thread's) is one blocking read of the event device, as
 * libxenvchan's is: poll() first would be a system call more per sleep,
 * 20-40 us in a PV domain, about a tenth of a round trip in the lab. What
 * else must end such a sleep arrives as an event on a loopback channel of
 * our own: wake() rings it, and a helper thread that polls the XenStore
 * connection and keeps the time rings it on a watch event and at the last
 * tick (every TICK_MS) before the sleep's end. Shorter sleeps poll as
 * before.
 * Where the loopback cannot be bound, every sleep polls, and the device
 * stays non-blocking.
 */
#define TICK_MS 50

void ivc_xen_loop_setup(struct ivc_plat *p)
{
	xenevtchn_port_or_error_t a, b;
	int fl = fcntl(p->b.evfd, F_GETFL);

	a = ivc_linux_note_new(p, &p->ctl) ? -1 : xenevtchn_bind_unbound_port(p->xce, p->domid);
	b = a < 0 ? -1 : xenevtchn_bind_interdomain(p->xce, p->domid, (evtchn_port_t)a);
	if (b < 0 || fl < 0 || fcntl(p->b.evfd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		if (b >= 0)
			xenevtchn_unbind(p->xce, (evtchn_port_t)b);
		if (a >= 0)
			xenevtchn_unbind(p->xce, (evtchn_port_t)a);
		return; /* every sleep polls */
	}
	p->loop_tx = (uint32_t)b;
	p->loop_rx = (uint32_t)a;
	p->loop_ok = true;
}

static void ring_if_asleep(struct ivc_plat *p)
{
	if (atomic_load(&p->asleep))
		xenevtchn_notify(p->xce, p->loop_tx);
}

static int64_t mono_ms(void)
{
	return ivc_linux_now_ns() / 1000000;
}

/* Whether the helper may stop ticking: no sleep with an end for
 * PARK_TICKS ticks. A sleeper that finds it parked pokes it (a system
 * call once per idle spell, not per sleep); parked and asleep are a
 * Dekker pair. */
#define PARK_TICKS 20

static bool timed_sleep(struct ivc_plat *p)
{
	return atomic_load(&p->asleep) && atomic_load(&p->asleep_ms) >= 0;
}

static bool helper_park(struct ivc_plat *p)
{
	atomic_store(&p->parked, true);
	if (!timed_sleep(p))
		return true;
	atomic_store(&p->parked, false);
	return false;
}

/* Whether the sleep in progress must end at this tick (now): the next
 * one might come after its end. The sleeper reads no clock, so a sleep
 * first seen at this tick is taken to have begun at the last (`prev`):
 * no later than it did, so that it ends early, never late (the caller
 * sleeps again for what is left). A listener's sleep of a second is rung
 * once, not at each of 20 ticks: an idle process stays asleep. */
struct seen_sleep {
	unsigned no;
	int64_t start;
};

static bool sleep_due(struct ivc_plat *p, int64_t now, int64_t prev, struct seen_sleep *s)
{
	unsigned no;
	int ms;

	if (!timed_sleep(p))
		return false;
	no = atomic_load(&p->sleep_no);
	ms = atomic_load(&p->asleep_ms);
	if (no != s->no) {
		s->no = no;
		s->start = prev;
	}
	return now + TICK_MS > s->start + ms;
}

/* Rings for a XenStore event (then leaves the connection alone until the
 * sleeper has taken it: a sleep clears xs_rung and pokes us), and at the
 * last tick before the end of a sleep that has one. */
static void *helper_main(void *arg)
{
	struct ivc_plat *p = arg;
	int64_t now = mono_ms(), tick = now + TICK_MS, prev = now;
	struct seen_sleep seen = { atomic_load(&p->sleep_no) - 1, now };
	unsigned idle = 0;

	while (!atomic_load(&p->stop)) {
		bool park = idle >= PARK_TICKS && helper_park(p);
		struct pollfd pfd[2] = { { .fd = ivc_linux_note_fd(p->ctl), .events = POLLIN },
					 { .fd = atomic_load(&p->xs_rung) ? -1
									  : atomic_load(&p->xsfd),
					   .events = POLLIN } };
		int n = poll(pfd, 2, park ? -1 : tick > now ? (int)(tick - now) : 0);

		atomic_store(&p->parked, false);
		now = mono_ms();
		if (n > 0 && (pfd[0].revents & POLLIN))
			ivc_linux_note_clear(p->ctl);
		if (n > 0 && pfd[1].revents) {
			atomic_store(&p->xs_rung, true);
			ring_if_asleep(p);
		}
		if (park) {
			/* Poked awake: tick from now on. `prev` stays before the
			 * sleep that poked us. */
			tick = now + TICK_MS;
			idle = 0;
		} else if (now >= tick) {
			tick = now + TICK_MS;
			idle = timed_sleep(p) ? 0 : idle + 1;
			if (sleep_due(p, now, prev, &seen))
				ring_if_asleep(p);
			prev = now;
		}
	}
	return NULL;
}

static bool helper_up(struct ivc_plat *p, struct ivc_plat_store *s)
{
	int fd = s ? ivc_linux_store_fd(s) : -1;

	if (atomic_exchange(&p->xsfd, fd) != fd && p->helper_on)
		ivc_linux_note_set(p->ctl);
	if (!p->helper_on && !p->helper_failed) {
		p->helper_on = pthread_create(&p->helper, NULL, helper_main, p) == 0;
		p->helper_failed = !p->helper_on;
	}
	return p->helper_on;
}

void ivc_xen_helper_stop(struct ivc_plat *p)
{
	if (p->helper_on) {
		atomic_store(&p->stop, true);
		ivc_linux_note_set(p->ctl);
		pthread_join(p->helper, NULL);
		p->helper_on = false;
	}
	ivc_linux_note_free(p->ctl);
	p->ctl = NULL;
}

/* A XenStore event the helper saw: the pump looks for it now (xs_due),
 * and the helper watches the connection again. */
static bool took_rung(struct ivc_plat *p)
{
	if (!atomic_exchange(&p->xs_rung, false))
		return false;
	atomic_store(&p->xs_due, true);
	ivc_linux_note_set(p->ctl);
	return true;
}

/* The sleep itself. Whoever ends it (wake(), the helper) sets its flag
 * and then looks at `asleep`; we set `asleep` and then look at the flags
 * (all sequentially consistent): one of the two sees the other. */
static int block_wait(struct ivc_plat *p, int ms)
{
	uint32_t buf[32];
	ssize_t r = 0;
	int err = 0;
	bool go;

	if (took_rung(p))
		return 1;
	pthread_mutex_lock(&p->rd);
	atomic_store(&p->asleep_ms, ms);
	atomic_store(&p->sleep_no, atomic_load(&p->sleep_no) + 1); /* one sleeper at a time */
	atomic_store(&p->asleep, true);
	go = !atomic_exchange(&p->woken, false) && !atomic_load(&p->xs_rung) && !p->ngot &&
	     !p->overflow;
	pthread_mutex_unlock(&p->rd);
	if (go && ms >= 0 && atomic_load(&p->parked))
		ivc_linux_note_set(p->ctl); /* our sleep has an end: the helper must tick */
	if (go)
		r = ivc_xen_dev_read(p, buf, sizeof buf / sizeof buf[0]);
	if (r < 0)
		err = errno;
	pthread_mutex_lock(&p->rd);
	atomic_store(&p->asleep, false);
	if (r > 0) {
		p->ngot = (size_t)r / sizeof buf[0];
		memcpy(p->got, buf, p->ngot * sizeof buf[0]);
	} else if (err == EFBIG) {
		p->overflow = true;
	}
	pthread_mutex_unlock(&p->rd);
	if (r == 0 && go)
		return -EPROTO;
	return r < 0 && err != EINTR && err != EFBIG ? -err : 1;
}

int ivc_xen_wait(struct ivc_plat *p, struct ivc_plat_store *s, int ms)
{
	int r;

	if (p->loop_ok && (ms < 0 || ms >= TICK_MS) && helper_up(p, s))
		return block_wait(p, ms);
	r = ivc_linux_wait(p, s, ms); /* it polls the store itself */
	atomic_store(&p->xs_due, true);
	return r;
}

/* The pump asks at every wake-up, and libxenstore's check takes its
 * lock and registers a cancellation handler (under emulation a good part
 * of the library's own time in a round trip). While the helper watches
 * the connection (xs_rung clear), an event queued there makes it ring,
 * and the next wait takes that (xs_due): until then there is nothing the
 * pump must see, and an event it does not see yet keeps the connection
 * readable for the helper. */
int ivc_xen_store_event(struct ivc_plat_store *s, char *token, size_t tsize, char *path,
			size_t psize)
{
	struct ivc_plat *p = ivc_linux_store_owner(s); /* always: xen_store_open */
	int r;

	if (p->helper_on && !atomic_load(&p->xs_rung) && !atomic_load(&p->xs_due))
		return 0;
	r = ivc_linux_store_event(s, token, tsize, path, psize);
	if (r == 0)
		atomic_store(&p->xs_due, false); /* all taken */
	return r;
}

void ivc_xen_wake(struct ivc_plat *p)
{
	ivc_linux_wake(p); /* for a sleep that polls */
	if (!p->loop_ok)
		return;
	atomic_store(&p->woken, true);
	ring_if_asleep(p);
}
