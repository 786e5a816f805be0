/* SPDX-License-Identifier: MIT */
/*
 * ivc_core.h - the freestanding ring core shared by every platform.
 *
 * Only <stdint.h>, <stddef.h>, <stdbool.h> and <stdatomic.h>; no libc calls
 * except memcpy; the caller supplies every byte of memory. The core never
 * blocks and never talks to a hypervisor: it tells its caller when to signal
 * the peer (ivc_core_notify_check) and when it may sleep
 * (ivc_core_prepare_wait). Platform code does the signalling and sleeping.
 *
 * Errors are negative Linux errno values (see IVC_CORE_E*), because the
 * freestanding core cannot include <errno.h>; hosted code asserts they match.
 *
 * Thread safety: none. A struct ivc_core is used by one thread at a time;
 * the library above it serialises callers. The two sides of a channel are
 * two struct ivc_core, usually in two domains, and run fully concurrently.
 */
#ifndef IVC_CORE_H
#define IVC_CORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ivc/wire.h"

enum {
	IVC_CORE_EBADF = 9,
	IVC_CORE_EAGAIN = 11,
	IVC_CORE_EINVAL = 22,
	IVC_CORE_EPIPE = 32,
	IVC_CORE_EPROTO = 71,
	IVC_CORE_EMSGSIZE = 90,
	IVC_CORE_EPROTONOSUPPORT = 93,
	IVC_CORE_ECONNRESET = 104,
	IVC_CORE_ECONNREFUSED = 111,
};

/* Channel geometry, as agreed at rendezvous and written in the header. */
struct ivc_core_params {
	uint32_t mode;       /* enum ivc_wire_mode */
	uint32_t order[2];   /* per ring: IVC_WIRE_ORDER_NONE or MIN..MAX */
	uint32_t max_msg[2]; /* per ring, message mode only; 0 in stream mode */
	uint32_t ctrl_pages; /* filled in by ivc_core_params_check/read_params */
};

/* A contiguous piece of ring memory (a message may wrap: two spans). */
struct ivc_core_span {
	uint8_t *base;
	uint32_t len;
};

/* A piece of caller memory for vectored sends. */
struct ivc_core_seg {
	const void *base;
	size_t len;
};

/* One direction as seen by one side. Fields are local and authoritative:
 * the shared copies are written from them and never read back. */
struct ivc_core_ring {
	uint8_t *data;
	uint32_t size, mask, max_msg;
	uint32_t idx;           /* our index: prod (tx) or cons (rx) */
	uint32_t peer_idx;      /* the peer's index as last loaded and checked */
	uint32_t req;           /* our notification-request counter */
	uint32_t peer_req_seen; /* peer's request counter last answered */
	bool moved;             /* idx published since the last notify check */
	bool have_hdr;          /* rx: hdr_len is the validated length at idx */
	uint32_t hdr_len;
	bool reserved; /* tx: a reserve() awaits its commit() */
	uint32_t resv_len;
	uint64_t msgs, bytes; /* cumulative, mirrored into shared memory */
	/* Fields in shared memory; addresses computed from validated local
	 * values, never from anything the peer wrote. */
	uint32_t *sh_idx, *sh_req, *sh_req_side;   /* ours (requests: both places) */
	const uint32_t *sh_peer_idx, *sh_peer_req; /* the peer's (req: where read) */
	uint64_t *sh_msgs, *sh_bytes;              /* ours */
};

struct ivc_core_stats {
	uint64_t tx_msgs, tx_bytes, rx_msgs, rx_bytes;
	uint64_t notifies; /* times notify_check answered true */
	uint64_t waits;    /* times prepare_wait answered "sleep" */
	uint32_t tx_size, tx_used, rx_size, rx_used;
};

struct ivc_core {
	struct ivc_wire_ctrl *ctrl;
	unsigned side; /* 0 = granting side, 1 = mapping side */
	uint32_t mode;
	struct ivc_core_ring tx, rx;
	bool peer_was_live;
	int peer_final; /* 0, or CLOSED/DEAD once observed: sticky */
	bool closed;
	int error; /* sticky: first protocol violation seen */
	uint64_t notifies, waits;
	uint32_t features; /* in use: offered and accepted (spec 8.1) */
	bool features_known;
	/* What every call checks, folded for its fast path (gates()): no
	 * error, not closed, the direction present, and for tx the peer seen
	 * up with its features known and no final state. */
	bool tx_gate, rx_gate;
};

/* The optional features this core implements (spec 8.1). */
#define IVC_CORE_FEATURES IVC_WIRE_FEATURE_SIDE_REQ

enum ivc_core_peer {
	IVC_CORE_PEER_WAITING = 0, /* side 1 has not attached yet */
	IVC_CORE_PEER_UP = 1,
	IVC_CORE_PEER_CLOSED = 2, /* orderly close: drain, then EOF */
	IVC_CORE_PEER_DEAD = 3,   /* mapping gone without a close */
};

/* prepare_wait / poll event bits. */
#define IVC_CORE_WAIT_RX 1u /* a message (or stream bytes) to read, or EOF/error */
#define IVC_CORE_WAIT_TX 2u /* room for `need` payload bytes, or error */

/* Checks params and fills p->ctrl_pages. 0 or -EINVAL. */
int ivc_core_params_check(struct ivc_core_params *p);

/* Bytes of data area of ring r (0 if absent). */
static inline uint32_t ivc_core_ring_bytes(const struct ivc_core_params *p, unsigned r)
{
	return p->order[r] == IVC_WIRE_ORDER_NONE ? 0u : 1u << p->order[r];
}

/* Side 0: lays out a fresh control area (ctrl_len >= ctrl_pages * PAGE) and
 * marks side 0 live. data0/data1 are the ring areas (NULL if absent). The
 * caller then fills in the grant references (ivc_core_grefs) and publishes. */
int ivc_core_create(struct ivc_core *c, void *ctrl, size_t ctrl_len,
		    const struct ivc_core_params *p, void *data0, void *data1);

/* Side 1, step 1: reads the header of a mapped control area exactly once,
 * validates it and returns a local copy. -EPROTO for a malformed area,
 * -EPROTONOSUPPORT for another version. */
/* Side 0, before the control area is published: when the channel was
 * made (Unix time in ms), for monitors (spec 11). */
void ivc_core_set_created(struct ivc_core *c, uint64_t unix_ms);
int ivc_core_read_params(const void *ctrl, size_t ctrl_len, struct ivc_core_params *out);

/* Side 1, step 2: attaches with the params from step 1 (never re-read) and
 * marks side 1 live. -ECONNREFUSED if side 0 is not live or closed, or the
 * area was attached before. */
int ivc_core_attach(struct ivc_core *c, void *ctrl, size_t ctrl_len,
		    const struct ivc_core_params *p, void *data0, void *data1);

/* The grant reference slots in the control area: n = pages(0) + pages(1). */
static inline uint32_t *ivc_core_grefs(void *ctrl)
{
	return (uint32_t *)((uint8_t *)ctrl + IVC_WIRE_GREF_OFFSET);
}

/* Message mode. send: 0, -EAGAIN (no room now), -EMSGSIZE, -EPIPE (peer
 * closed), -ECONNRESET (peer dead), -EPROTO, -EBADF (no tx ring). */
int ivc_core_send(struct ivc_core *c, const void *buf, size_t len);
int ivc_core_sendv(struct ivc_core *c, const struct ivc_core_seg *seg, unsigned nseg);

/* recv: payload length (>= 0), -EAGAIN (nothing yet), -EMSGSIZE (cap too
 * small; the message stays), -EPIPE (peer closed, all drained),
 * -ECONNRESET (peer died, all drained), -EPROTO. */
int ivc_core_recv(struct ivc_core *c, void *buf, size_t cap);
/* Length of the next message without consuming it; errors as recv. */
int ivc_core_peek_len(struct ivc_core *c);

/* Zero copy, message mode. reserve: spans for a payload of len bytes
 * (second span empty unless it wraps); fill them, then commit. Nothing is
 * visible to the peer before commit. Errors as send. */
int ivc_core_reserve(struct ivc_core *c, size_t len, struct ivc_core_span span[2]);
int ivc_core_commit(struct ivc_core *c);
/* peek: spans of the next message in shared memory; the peer can still
 * write there, so callers copy what they must trust. consume releases it.
 * Returns the length or an error as recv. */
int ivc_core_peek(struct ivc_core *c, struct ivc_core_span span[2]);
int ivc_core_consume(struct ivc_core *c);

/* Stream mode: partial transfers. write returns bytes accepted (>0) or
 * -EAGAIN when full; read returns bytes (>0), -EAGAIN, -EPIPE at EOF. */
int ivc_core_write(struct ivc_core *c, const void *buf, size_t len);
int ivc_core_read(struct ivc_core *c, void *buf, size_t cap);

/* After any I/O call (or a batch of them): true if the peer asked to be
 * woken and must now be signalled. Cheap when nothing moved. */
bool ivc_core_notify_check(struct ivc_core *c);

/* send then notify_check: 1 sent and the peer must be signalled, 0 sent,
 * or send's error (nothing sent, nothing to signal). */
int ivc_core_send_check(struct ivc_core *c, const void *buf, size_t len);
/* recv then notify_check: recv's result; *signal is whether the peer must
 * be signalled (false on an error). */
int ivc_core_recv_check(struct ivc_core *c, void *buf, size_t cap, bool *signal);
/* write then notify_check, as recv_check. */
int ivc_core_write_check(struct ivc_core *c, const void *buf, size_t len, bool *signal);

/* Before sleeping for `events` (need: payload bytes a blocked sender wants
 * to send). Asks the peer for a wake-up, then re-checks. 1: sleep until
 * signalled, then retry; 0: ready now, do not sleep; <0: sticky error. */
int ivc_core_prepare_wait(struct ivc_core *c, unsigned events, size_t need);

/* Which of `events` are ready now, without asking for a wake-up. */
unsigned ivc_core_poll(struct ivc_core *c, unsigned events, size_t need);

/* State of the peer (enum ivc_core_peer) from its side line, or -EPROTO.
 * CLOSED and DEAD are sticky once observed. */
int ivc_core_peer(struct ivc_core *c);

/* The platform found the peer's domain gone (spec 6.1 item 4: unmap-notify
 * cannot fire when a whole domain dies). From now on the peer is DEAD. */
void ivc_core_set_peer_dead(struct ivc_core *c);

/* Side 0, also after its close: whether side 1 may still map the area,
 * i.e. its live byte is still set (its unmap-notify clears it once its
 * last mapping, the control area's, is gone). ctrl must still be ours. */
bool ivc_core_peer_maps(const struct ivc_wire_ctrl *ctrl);

/* Orderly close: no more data will be sent. The caller must signal the
 * peer afterwards, unconditionally, then unmap/ungrant. */
void ivc_core_close(struct ivc_core *c);

void ivc_core_get_stats(struct ivc_core *c, struct ivc_core_stats *st);

#endif /* IVC_CORE_H */
