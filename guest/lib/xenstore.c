/* SPDX-License-Identifier: MIT */
/*
 * xenstore.c - a XenStore client over the shared ring (xen/io/xs_wire.h)
 * whose page and event channel the toolstack gives in
 * HVM_PARAM_STORE_PFN/_EVTCHN: one request at a time, answered before
 * the next, waiting by SCHEDOP_yield. The other end is xenstored; its
 * indexes and lengths are still checked before they are used.
 */
#include <errno.h>
#include <stdint.h> /* before Xen's headers, which use it */
#include <xen/event_channel.h>
#include <xen/hvm/params.h>
#include <xen/io/xs_wire.h>
#include <xen/sched.h>

#include "guest.h"
#include "runtime.h"
#include "xen.h"

static volatile struct xenstore_domain_interface *xs;
static evtchn_port_t xs_port;
static uint32_t req_id;
static char reply[XENSTORE_PAYLOAD_MAX + 1];

void xenstore_init(void)
{
	uint64_t pfn = hvm_param(HVM_PARAM_STORE_PFN);

	xs_port = (evtchn_port_t)hvm_param(HVM_PARAM_STORE_EVTCHN);
	if (pfn && pfn < (1u << 20)) /* within the 4 GiB boot.S maps */
		xs = (volatile struct xenstore_domain_interface *)(uintptr_t)(pfn << 12);
}

static void notify(void)
{
	struct evtchn_send s = { .port = xs_port };

	hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_send, (unsigned long)&s);
}

static void yield(void)
{
	hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, 0);
}

static void put(const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		XENSTORE_RING_IDX cons = xs->req_cons, prod = xs->req_prod;
		__atomic_thread_fence(__ATOMIC_ACQUIRE); /* cons before reusing what it frees */
		if (prod - cons >= XENSTORE_RING_SIZE) {
			notify();
			yield();
			continue;
		}
		for (; len && prod - cons < XENSTORE_RING_SIZE; len--)
			xs->req[MASK_XENSTORE_IDX(prod++)] = *p++;
		__atomic_thread_fence(__ATOMIC_RELEASE); /* the bytes before prod */
		xs->req_prod = prod;
		notify();
	}
}

/* len bytes of reply into data (NULL: dropped); -EIO if xenstored's
 * indexes make no sense. */
static int get(void *data, size_t len)
{
	char *p = data;

	while (len) {
		XENSTORE_RING_IDX cons = xs->rsp_cons, prod = xs->rsp_prod;
		__atomic_thread_fence(__ATOMIC_ACQUIRE); /* prod before the bytes it covers */
		if (prod - cons > XENSTORE_RING_SIZE)
			return -EIO;
		if (prod == cons) {
			yield();
			continue;
		}
		for (; len && cons != prod; len--, cons++)
			if (p)
				*p++ = xs->rsp[MASK_XENSTORE_IDX(cons)];
		__atomic_thread_fence(__ATOMIC_RELEASE); /* our reads before cons */
		xs->rsp_cons = cons;
		notify();
	}
	return 0;
}

/* XenStore's error names (xs_wire.h's table) as negative errnos. */
static int error_of(const char *name)
{
	for (size_t i = 0; i < sizeof xsd_errors / sizeof xsd_errors[0]; i++)
		if (!strcmp(name, xsd_errors[i].errstring))
			return -xsd_errors[i].errnum;
	return -EIO;
}

/* One request of `type`: a, NUL, then b (no NUL); its reply's payload in
 * `reply`, NUL-terminated. Watch events in between are dropped. */
static int request(uint32_t type, const char *a, const char *b)
{
	struct xsd_sockmsg h = { type, ++req_id, 0,
				 (uint32_t)(strlen(a) + 1 + (b ? strlen(b) : 0)) };
	int err;

	if (!xs)
		return -ENOSYS;
	if (h.len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	put(&h, sizeof h);
	put(a, strlen(a) + 1);
	if (b)
		put(b, strlen(b));
	for (;;) {
		struct xsd_sockmsg r;
		if ((err = get(&r, sizeof r)))
			return err;
		if (r.len > XENSTORE_PAYLOAD_MAX)
			return -EIO; /* the ring is out of step: nothing more makes sense */
		if ((err = get(reply, r.len)))
			return err;
		reply[r.len] = 0;
		if (r.type == XS_WATCH_EVENT || r.req_id != h.req_id)
			continue;
		return r.type == XS_ERROR ? error_of(reply) : r.type == type ? 0 : -EIO;
	}
}

int xs_read(const char *path, char *buf, size_t cap)
{
	int err = request(XS_READ, path, NULL);

	if (!err && cap)
		snprintf(buf, cap, "%s", reply);
	return err;
}

int xs_write(const char *path, const char *value)
{
	return request(XS_WRITE, path, value);
}
