/* SPDX-License-Identifier: MIT */
/*
 * events.c - the shared info page (mapped into the hole), Xen's system
 * clock from it, and event channels without interrupts: every port is
 * masked, so Xen never raises an upcall, and the guest blocks in
 * SCHEDOP_poll, which wakes on a port's pending bit whatever its mask.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h> /* before Xen's headers, which use it */
#include <xen/event_channel.h>
#include <xen/memory.h>
#include <xen/sched.h>

#include <time.h>

#include "guest.h"
#include "runtime.h"
#include "xen.h"

#define NPORTS (sizeof(xen_ulong_t) * 8 * sizeof(xen_ulong_t) * 8) /* 2-level ABI */

static volatile struct shared_info *shinfo;

int events_init(void)
{
	uint64_t pfn = mem_hole_alloc(1);
	struct xen_add_to_physmap x = {
		.domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 0, .gpfn = pfn
	};

	if (!pfn)
		return -ENOMEM;
	if (hypercall2(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, (unsigned long)&x))
		return -EIO;
	shinfo = (volatile struct shared_info *)(uintptr_t)(pfn << 12);
	/* No upcalls: we have no interrupt handler, and poll for events. */
	shinfo->vcpu_info[0].evtchn_upcall_mask = 1;
	return 0;
}

/* ---- the clock ------------------------------------------------------- */

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

uint64_t guest_now_ns(void)
{
	volatile struct vcpu_time_info *t;
	uint32_t v, mul;
	uint64_t stamp, sys, d;
	int8_t shift;

	if (!shinfo)
		return 0;
	t = &shinfo->vcpu_info[0].time;
	do {
		v = t->version;
		/* version (even: no update under way) before the fields */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		stamp = t->tsc_timestamp;
		sys = t->system_time;
		mul = t->tsc_to_system_mul;
		shift = t->tsc_shift;
		d = rdtsc();
		/* the fields before version is read again */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((v & 1) || v != t->version);
	d -= stamp;
	d = shift < 0 ? d >> -shift : d << shift;
	return sys + (uint64_t)(((unsigned __int128)d * mul) >> 32);
}

uint64_t guest_wall_ms(void)
{
	uint32_t v, sec, nsec;

	if (!shinfo)
		return 0;
	do {
		v = shinfo->wc_version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE); /* as in guest_now_ns */
		sec = shinfo->wc_sec;
		nsec = shinfo->wc_nsec;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((v & 1) || v != shinfo->wc_version);
	/* wc_* is the wall time at system time 0 */
	return (uint64_t)sec * 1000 + nsec / 1000000 + guest_now_ns() / 1000000;
}

/* ---- event channels ------------------------------------------------- */

static long evtchn_op(unsigned cmd, void *arg)
{
	return hypercall2(__HYPERVISOR_event_channel_op, cmd, (unsigned long)arg);
}

void evt_mask(uint32_t port)
{
	if (shinfo && port < NPORTS)
		__atomic_fetch_or(&shinfo->evtchn_mask[port / 64], 1ull << (port % 64),
				  __ATOMIC_SEQ_CST);
}

bool evt_test_and_clear(uint32_t port)
{
	uint64_t bit = 1ull << (port % 64);

	if (!shinfo || port >= NPORTS)
		return false;
	return __atomic_fetch_and(&shinfo->evtchn_pending[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit;
}

bool evt_is_pending(uint32_t port)
{
	if (!shinfo || port >= NPORTS)
		return false;
	return __atomic_load_n(&shinfo->evtchn_pending[port / 64], __ATOMIC_ACQUIRE) >>
		   (port % 64) &
	       1;
}

int evt_alloc_unbound(uint32_t remote, uint32_t *port)
{
	struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = (domid_t)remote };
	long r = evtchn_op(EVTCHNOP_alloc_unbound, &a);

	if (r)
		return (int)r;
	evt_mask(a.port);
	*port = a.port;
	return 0;
}

int evt_bind(uint32_t remote, uint32_t remote_port, uint32_t *port)
{
	struct evtchn_bind_interdomain b = { .remote_dom = (domid_t)remote,
					     .remote_port = remote_port };
	long r = evtchn_op(EVTCHNOP_bind_interdomain, &b);

	if (r)
		return (int)r;
	evt_mask(b.local_port);
	*port = b.local_port;
	return 0;
}

int evt_send(uint32_t port)
{
	struct evtchn_send s = { .port = port };

	return (int)evtchn_op(EVTCHNOP_send, &s);
}

int evt_close(uint32_t port)
{
	struct evtchn_close c = { .port = port };
	int r = (int)evtchn_op(EVTCHNOP_close, &c);

	if (!r)
		(void)evt_test_and_clear(port); /* the next owner starts clean */
	return r;
}

int evt_status(uint32_t port, uint32_t *state, uint32_t *remote, uint32_t *remote_port)
{
	struct evtchn_status s = { .dom = DOMID_SELF, .port = port };
	long r = evtchn_op(EVTCHNOP_status, &s);

	if (r)
		return (int)r;
	*state = s.status;
	*remote = s.status == EVTCHNSTAT_interdomain ? s.u.interdomain.dom
		  : s.status == EVTCHNSTAT_unbound   ? s.u.unbound.dom
						     : 0;
	*remote_port = s.status == EVTCHNSTAT_interdomain ? s.u.interdomain.port : 0;
	return 0;
}

int evt_poll(const uint32_t *ports, unsigned n, uint64_t deadline_ns)
{
	struct sched_poll p = { .nr_ports = n, .timeout = deadline_ns };

	set_xen_guest_handle(p.ports, (evtchn_port_t *)ports);
	if (shinfo)
		shinfo->vcpu_info[0].evtchn_upcall_pending = 0; /* no upcall to take */
	return (int)hypercall2(__HYPERVISOR_sched_op, SCHEDOP_poll, (unsigned long)&p);
}

int clock_gettime(clockid_t clock, struct timespec *ts)
{
	uint64_t ns;

	if (clock == CLOCK_MONOTONIC)
		ns = guest_now_ns();
	else if (clock == CLOCK_REALTIME)
		ns = guest_wall_ms() * 1000000u;
	else
		return -1;
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
	return 0;
}

void guest_sleep_ms(unsigned ms)
{
	uint64_t until = guest_now_ns() + (uint64_t)ms * 1000000u;

	/* No ports: any event of the domain ends the poll early, hence the
	 * loop; Xen's timer ends it at `until`. */
	while (guest_now_ns() < until)
		(void)evt_poll(NULL, 0, until);
}
