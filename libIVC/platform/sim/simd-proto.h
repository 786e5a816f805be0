/* SPDX-License-Identifier: MIT */
/*
 * simd-proto.h - the sim host daemon's protocol (internal; both ends are
 * built from this tree). SOCK_SEQPACKET Unix sockets: one message per
 * request, one per reply, file descriptors as SCM_RIGHTS.
 *
 * Run directory layout (IVC_SIM_DIR, default /run/ivc-sim):
 *   admin.sock          ivc-sim CLI and `ivc-sim run`
 *   host/dom<N>.sock    grant and event channel service for domain N
 *                       (a connection's domain is the socket it came in on)
 *   xs/dom<N>.sock      XenStore for domain N (ivc-xenstored)
 *   simd.pid, simd.log
 */
#ifndef IVC_SIMD_PROTO_H
#define IVC_SIMD_PROTO_H

#include <stdint.h>

#define SIMD_DEFAULT_DIR "/run/ivc-sim"
#define SIMD_MAX_PAGES 16384u /* per share or map: two 16 MiB rings and their control area */
#define SIMD_MAX_DATA (2u * SIMD_MAX_PAGES + 16u) /* u32 words: 2 per mapped page */
#define SIMD_MAX_FDS 250u
#define SIMD_MAX_DOMID 32751u /* DOMID_FIRST_RESERVED - 1 */
#define SIMD_MAX_PORTS 4096u  /* per domain, as the 2-level ABI on x86-64 */

enum simd_op {
	/* host/dom<N>.sock */
	SIMD_HELLO = 1,        /* -> a0 = domid */
	SIMD_GNT_ALLOC,        /* a0 remote, a1 npages, a2 readonly -> a0 handle, data grefs, fd */
	SIMD_GNT_ALLOC_NOTIFY, /* a0 handle, a1 offset, a2 flags, a3 port */
	SIMD_GNT_FREE,         /* a0 handle, a1 defer -> -EBUSY if mapped and !defer */
	SIMD_GNT_MAP, /* a0 domid, a1 readonly, data grefs -> a0 handle, data (fdidx,page)*, fds */
	SIMD_GNT_MAP_NOTIFY, /* a0 handle, a1 offset, a2 flags, a3 port */
	SIMD_GNT_UNMAP,      /* a0 handle */
	/* -> fds: the device (delivers u32 ports; write u32 port to unmask),
	 * the domain's table of binding generations, read-only (u32 by port,
	 * bumped whenever that port's binding changes; [0] nonzero: notify
	 * through the daemon only, SIMD_EVT_SEND), and the handle's fast
	 * path: its doorbell (an eventfd) and a page of pending bits (bit N
	 * of u64 word N / 64: port N), which peers set and ring. */
	SIMD_EVT_OPEN,
	SIMD_EVT_ALLOC_UNBOUND, /* a0 remote -> a0 port */
	SIMD_EVT_BIND,          /* a0 remote, a1 remote port -> a0 port */
	SIMD_EVT_NOTIFY,        /* a0 port */
	SIMD_EVT_UNBIND,        /* a0 port */
	SIMD_EVT_STATUS,        /* a0 port -> a0 state, a1 remote, a2 remote port */
	SIMD_DOMAIN_ALIVE,      /* a0 domid -> a0 0/1 */
	/* As SIMD_EVT_NOTIFY, but one way: no reply (errors are dropped).
	 * A hypercall does not wait for the receiver; neither does this, and
	 * it keeps its place among the connection's requests. */
	SIMD_EVT_SEND, /* a0 port */
	/* dom0 only (monitoring): a0 domid, a1 gref -> a0 page index, a
	 * read-only fd of the grant's pages. No mapping is recorded: the
	 * granting side sees none, as with a privileged foreign mapping. */
	SIMD_GNT_PEEK,
	/* a0 our port -> a0 its generation, a1 1 if bound; when bound, a2 the
	 * peer's port, a3 its handle's id (never reused) and fds: that
	 * handle's doorbell and pending bits (as SIMD_EVT_OPEN's). */
	SIMD_EVT_BELL,
	/* admin.sock */
	SIMD_DOMAIN_CREATE =
	    100,          /* a0 domid, a1 pgid, data name -> the connection is the domain's life */
	SIMD_DOMAIN_PGID, /* a0 pgid: the domain's process group, for kill on death */
	SIMD_LS,          /* -> data text */
	SIMD_STATS,       /* a0 json -> data text */
	SIMD_STOP,
	SIMD_DOMAIN_DESTROY, /* a0 domid: as `xl destroy` (no unmap-notify runs) */
	SIMD_DOMAIN_KILL,    /* a0 domid, a1 signal: to the domain's processes;
			      * -EAGAIN until `ivc-sim run` has told their group */
	SIMD_FAULT,          /* data rule text (sim/fault.h) -> data why, if -EINVAL */
	SIMD_FAULT_CLEAR,    /* every rule, of both daemons */
	SIMD_FAULT_LS,       /* -> data text: the rules and how often each fired */
};

struct simd_msg {
	uint32_t op;
	int32_t err; /* replies: 0 or -errno */
	uint32_t a[6];
	uint32_t n; /* words used in data */
	uint32_t data[];
};

#define SIMD_MSG_MAX (sizeof(struct simd_msg) + 4u * SIMD_MAX_DATA)

#endif
