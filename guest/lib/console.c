/* SPDX-License-Identifier: MIT */
/*
 * console.c - the Xen console ring (xen/io/console.h) whose page and
 * event channel the toolstack gives in HVM_PARAM_CONSOLE_PFN/_EVTCHN;
 * until then, or without it, Xen's own console (console_io), which Xen
 * shows for a domU only in a debug build.
 */
#include <stdint.h> /* before Xen's headers, which use it */
#include <xen/event_channel.h>
#include <xen/hvm/params.h>
#include <xen/io/console.h>
#include <xen/sched.h>

#include "guest.h"
#include "runtime.h"
#include "xen.h"

static volatile struct xencons_interface *ring;
static evtchn_port_t port;

void console_init(void)
{
	uint64_t pfn = hvm_param(HVM_PARAM_CONSOLE_PFN);

	port = (evtchn_port_t)hvm_param(HVM_PARAM_CONSOLE_EVTCHN);
	if (pfn && pfn < (1u << 20)) /* within the 4 GiB boot.S maps */
		ring = (volatile struct xencons_interface *)(uintptr_t)(pfn << 12);
}

static void kick(void)
{
	struct evtchn_send s = { .port = port };

	hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_send, (unsigned long)&s);
}

static void yield(void)
{
	hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, 0);
}

void console_write(const char *s, size_t n)
{
	if (!ring) {
		hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, n, (unsigned long)s);
		return;
	}
	for (size_t i = 0; i < n;) {
		XENCONS_RING_IDX cons = ring->out_cons, prod = ring->out_prod;
		__atomic_thread_fence(__ATOMIC_ACQUIRE); /* cons before the bytes it frees */
		if (prod - cons >= sizeof ring->out) {
			kick();
			yield();
			continue;
		}
		for (; i < n && prod - cons < sizeof ring->out; i++)
			ring->out[MASK_XENCONS_IDX(prod++, ring->out)] = s[i];
		__atomic_thread_fence(__ATOMIC_RELEASE); /* the bytes before prod */
		ring->out_prod = prod;
		kick();
	}
}

/* Waits (a bounded while) until the backend has read everything: a
 * domain that shuts down takes its ring with it. */
void console_flush(void)
{
	for (int k = 0; ring && k < 100000 && ring->out_cons != ring->out_prod; k++)
		yield();
}
