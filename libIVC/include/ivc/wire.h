/* SPDX-License-Identifier: MIT */
/*
 * ivc/wire.h - libIVC shared-memory layout, protocol version 1.
 *
 * This header is the machine-readable half of protocol-spec/ivc-protocol.md
 * (section 2). It is self-contained: fixed-width types only, explicit
 * padding, no pointers, no bitfields, every offset checked at compile time.
 *
 * A channel is one control area (IVC_WIRE_PAGE_SIZE-byte pages) plus up to
 * two data rings. Side 0 (the granting side) allocates and grants all of it;
 * side 1 maps it. Ring 0 carries side 0 -> side 1, ring 1 side 1 -> side 0.
 * Multi-byte fields are little-endian (both sides run on the same host).
 *
 * Every line below marked "side N writes" is written by exactly that side;
 * the other side only reads it. Writers never read back their own fields
 * from shared memory: a hostile peer could have changed them.
 */
#ifndef IVC_WIRE_H
#define IVC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define IVC_WIRE_MAGIC 0x31435649u /* "IVC1" as little-endian bytes */
#define IVC_WIRE_VERSION 1u

#define IVC_WIRE_PAGE_SHIFT 12
#define IVC_WIRE_PAGE_SIZE 4096u

/* Ring data areas are 2^order bytes: one page up to 16 MiB. Order 0 means
 * the direction is absent (a one-way channel). */
#define IVC_WIRE_MIN_ORDER 12u
#define IVC_WIRE_MAX_ORDER 24u
#define IVC_WIRE_ORDER_NONE 0u

/* Spacing of single-writer fields. 128 rather than 64 bytes because the
 * adjacent-line prefetcher of common x86 cores pulls cache lines in pairs;
 * two writers 64 bytes apart would still ping-pong. */
#define IVC_WIRE_LINE 128u

/* Message-mode framing: a little-endian u32 length, then the payload. */
#define IVC_WIRE_MSG_HDR 4u

enum ivc_wire_mode {
	IVC_WIRE_MODE_MESSAGE = 0,
	IVC_WIRE_MODE_STREAM = 1,
};

/* Values of ivc_wire_side.live / .closed. Anything else is a violation. */
#define IVC_WIRE_LIVE_DOWN 0u /* never attached, gone, or unmapped (notify) */
#define IVC_WIRE_LIVE_UP 1u
#define IVC_WIRE_CLOSED_NO 0u
#define IVC_WIRE_CLOSED_YES 1u /* sent its last byte; drain, then EOF */
#define IVC_WIRE_ATTACHED_NO 0u
#define IVC_WIRE_ATTACHED_YES 1u /* set once on create/attach, never cleared */

/* Per-direction geometry. Written once by side 0 before the control area is
 * published; side 1 reads it once, validates it and keeps a local copy. */
struct ivc_wire_ring_cfg {
	uint32_t order;   /* IVC_WIRE_ORDER_NONE or MIN..MAX */
	uint32_t max_msg; /* message mode: max payload, <= 2^order - 4; stream: 0 */
};

/* Optional features (spec 8.1): side 0 offers bits in hdr.features, side
 * 1 accepts a subset in side[1].features before it sets `attached`; a
 * feature is in use only when offered and accepted. A peer that knows no
 * feature (or treats the words as reserved) offers and accepts none, and
 * stays compatible. */
#define IVC_WIRE_FEATURES_V1 0u
/* Bit 0, side-line requests (spec 8.2): each side also keeps its request
 * counters in its side line (ivc_wire_side.req), which it writes only
 * when it sleeps or signals, and the peer reads them there. In the
 * index lines they share a line with an index that moves on every
 * message, so a check of the peer's request cost a cache-line transfer
 * per message. */
#define IVC_WIRE_FEATURE_SIDE_REQ 0x1u

/* Line 0: immutable header (side 0 writes before publishing). */
struct ivc_wire_header {
	uint32_t magic;      /* IVC_WIRE_MAGIC */
	uint32_t version;    /* IVC_WIRE_VERSION */
	uint32_t mode;       /* enum ivc_wire_mode, same for both rings */
	uint32_t ctrl_pages; /* pages in the control area, see ivc_wire_ctrl_pages() */
	struct ivc_wire_ring_cfg ring[2];
	uint32_t features; /* offered by side 0; none in v1 */
	uint32_t pad0;     /* zero */
	/* Monitoring only (spec 11): when side 0 made the channel, Unix time
	 * in ms, 0 if it has no wall clock. No side acts on it. */
	uint64_t created;
	uint8_t reserved[IVC_WIRE_LINE - 48]; /* zero in v1; receivers ignore */
};

/* Per-side state line (side N writes side[N]). `live` is the byte that the
 * platform's unmap-notify clears when side N's mapping goes away, including
 * when its process dies; the death of a whole domain must be detected by
 * platform means instead (spec 6.1). `closed` is set only by an
 * orderly close and `attached` once when side N comes up; neither is ever
 * cleared, so the peer can tell "not attached yet", "closed" and "died"
 * apart even if it never saw `live` at 1. */
struct ivc_wire_side {
	uint8_t live;
	uint8_t closed;
	uint8_t attached;
	uint8_t pad;       /* zero */
	uint32_t features; /* side 1: accepted of hdr.features; side 0: zero */
	/* Monitoring only (spec 11): event-channel signals side N has sent
	 * on this channel. The peer never reads it. */
	uint64_t notifies;
	/* Side N's request counters (spec 8.2): req[N] its space_req of
	 * ring N, req[1 - N] its data_req of the other ring, always equal
	 * to those. Read by the peer only while IVC_WIRE_FEATURE_SIDE_REQ
	 * is in use; zero where a side does not implement it. */
	uint32_t req[2];
	uint8_t reserved[IVC_WIRE_LINE - 24];
};

/* Producer line of a ring (the producing side writes it). */
struct ivc_wire_prod {
	uint32_t prod;      /* free-running byte index: bytes ever published */
	uint32_t space_req; /* bumped by the producer when it waits for space */
	uint64_t msgs;      /* cumulative messages published (monitoring) */
	uint64_t bytes;     /* cumulative payload bytes published (monitoring) */
	uint8_t reserved[IVC_WIRE_LINE - 24];
};

/* Consumer line of a ring (the consuming side writes it). */
struct ivc_wire_cons {
	uint32_t cons;     /* free-running byte index: bytes ever consumed */
	uint32_t data_req; /* bumped by the consumer when it waits for data */
	uint64_t msgs;     /* cumulative messages consumed (monitoring) */
	uint64_t bytes;    /* cumulative payload bytes consumed (monitoring) */
	uint8_t reserved[IVC_WIRE_LINE - 24];
};

struct ivc_wire_ring {
	struct ivc_wire_prod p; /* ring 0: side 0 writes; ring 1: side 1 */
	struct ivc_wire_cons c; /* ring 0: side 1 writes; ring 1: side 0 */
};

/* First page of the control area. The grant references of the data pages
 * follow at IVC_WIRE_GREF_OFFSET and may run on into further control pages:
 * ring 0's pages in order, then ring 1's. */
struct ivc_wire_ctrl {
	struct ivc_wire_header hdr;   /* 0x000 */
	struct ivc_wire_side side[2]; /* 0x080, 0x100 */
	struct ivc_wire_ring ring[2]; /* 0x180 .. 0x37f */
	uint8_t reserved[0x400 - 0x380];
	/* 0x400: uint32_t grefs[] */
};

#define IVC_WIRE_GREF_OFFSET 0x400u

/* Largest possible control area: two 16 MiB rings. */
#define IVC_WIRE_MAX_DATA_PAGES (2u << (IVC_WIRE_MAX_ORDER - IVC_WIRE_PAGE_SHIFT))
#define IVC_WIRE_MAX_CTRL_PAGES                                                                    \
	((IVC_WIRE_GREF_OFFSET + 4u * IVC_WIRE_MAX_DATA_PAGES + IVC_WIRE_PAGE_SIZE - 1) /          \
	 IVC_WIRE_PAGE_SIZE)

/* Data pages of one ring of the given order (0 for an absent ring). */
static inline uint32_t ivc_wire_ring_pages(uint32_t order)
{
	return order == IVC_WIRE_ORDER_NONE ? 0u : 1u << (order - IVC_WIRE_PAGE_SHIFT);
}

/* Control pages needed to list every data page's grant reference. Orders
 * must already be valid. */
static inline uint32_t ivc_wire_ctrl_pages(uint32_t order0, uint32_t order1)
{
	uint32_t grefs = ivc_wire_ring_pages(order0) + ivc_wire_ring_pages(order1);
	return (IVC_WIRE_GREF_OFFSET + 4u * grefs + IVC_WIRE_PAGE_SIZE - 1) / IVC_WIRE_PAGE_SIZE;
}

/* Byte offsets of the fields the platform needs by number (unmap-notify). */
#define IVC_WIRE_SIDE_OFFSET(n) (offsetof(struct ivc_wire_ctrl, side) + (n)*IVC_WIRE_LINE)
#define IVC_WIRE_LIVE_OFFSET(n) (IVC_WIRE_SIDE_OFFSET(n) + offsetof(struct ivc_wire_side, live))

_Static_assert(sizeof(struct ivc_wire_ring_cfg) == 8, "ring cfg size");
_Static_assert(offsetof(struct ivc_wire_ring_cfg, order) == 0, "cfg.order");
_Static_assert(offsetof(struct ivc_wire_ring_cfg, max_msg) == 4, "cfg.max_msg");

_Static_assert(sizeof(struct ivc_wire_header) == IVC_WIRE_LINE, "header size");
_Static_assert(offsetof(struct ivc_wire_header, magic) == 0x00, "hdr.magic");
_Static_assert(offsetof(struct ivc_wire_header, version) == 0x04, "hdr.version");
_Static_assert(offsetof(struct ivc_wire_header, mode) == 0x08, "hdr.mode");
_Static_assert(offsetof(struct ivc_wire_header, ctrl_pages) == 0x0c, "hdr.ctrl_pages");
_Static_assert(offsetof(struct ivc_wire_header, ring) == 0x10, "hdr.ring");
_Static_assert(offsetof(struct ivc_wire_header, features) == 0x20, "hdr.features");
_Static_assert(offsetof(struct ivc_wire_header, pad0) == 0x24, "hdr.pad0");
_Static_assert(offsetof(struct ivc_wire_header, created) == 0x28, "hdr.created");
_Static_assert(offsetof(struct ivc_wire_header, reserved) == 0x30, "hdr.reserved");

_Static_assert(sizeof(struct ivc_wire_side) == IVC_WIRE_LINE, "side size");
_Static_assert(offsetof(struct ivc_wire_side, live) == 0, "side.live");
_Static_assert(offsetof(struct ivc_wire_side, closed) == 1, "side.closed");
_Static_assert(offsetof(struct ivc_wire_side, attached) == 2, "side.attached");
_Static_assert(offsetof(struct ivc_wire_side, pad) == 3, "side.pad");
_Static_assert(offsetof(struct ivc_wire_side, features) == 4, "side.features");
_Static_assert(offsetof(struct ivc_wire_side, notifies) == 8, "side.notifies");
_Static_assert(offsetof(struct ivc_wire_side, req) == 16, "side.req");
_Static_assert(offsetof(struct ivc_wire_side, reserved) == 24, "side.reserved");

_Static_assert(sizeof(struct ivc_wire_prod) == IVC_WIRE_LINE, "prod line size");
_Static_assert(offsetof(struct ivc_wire_prod, prod) == 0, "prod.prod");
_Static_assert(offsetof(struct ivc_wire_prod, space_req) == 4, "prod.space_req");
_Static_assert(offsetof(struct ivc_wire_prod, msgs) == 8, "prod.msgs");
_Static_assert(offsetof(struct ivc_wire_prod, bytes) == 16, "prod.bytes");

_Static_assert(sizeof(struct ivc_wire_cons) == IVC_WIRE_LINE, "cons line size");
_Static_assert(offsetof(struct ivc_wire_cons, cons) == 0, "cons.cons");
_Static_assert(offsetof(struct ivc_wire_cons, data_req) == 4, "cons.data_req");
_Static_assert(offsetof(struct ivc_wire_cons, msgs) == 8, "cons.msgs");
_Static_assert(offsetof(struct ivc_wire_cons, bytes) == 16, "cons.bytes");

_Static_assert(sizeof(struct ivc_wire_ring) == 2 * IVC_WIRE_LINE, "ring size");
_Static_assert(offsetof(struct ivc_wire_ring, p) == 0, "ring.p");
_Static_assert(offsetof(struct ivc_wire_ring, c) == IVC_WIRE_LINE, "ring.c");

_Static_assert(offsetof(struct ivc_wire_ctrl, hdr) == 0x000, "ctrl.hdr");
_Static_assert(offsetof(struct ivc_wire_ctrl, side) == 0x080, "ctrl.side");
_Static_assert(offsetof(struct ivc_wire_ctrl, ring) == 0x180, "ctrl.ring");
_Static_assert(offsetof(struct ivc_wire_ctrl, reserved) == 0x380, "ctrl.reserved");
_Static_assert(sizeof(struct ivc_wire_ctrl) == IVC_WIRE_GREF_OFFSET, "ctrl size");
_Static_assert(IVC_WIRE_LIVE_OFFSET(0) == 0x080, "side 0 live byte");
_Static_assert(IVC_WIRE_LIVE_OFFSET(1) == 0x100, "side 1 live byte");
_Static_assert(IVC_WIRE_MAX_DATA_PAGES == 8192, "max data pages");
_Static_assert(IVC_WIRE_MAX_CTRL_PAGES == 9, "max control pages");
_Static_assert((1ull << IVC_WIRE_MAX_ORDER) < (1ull << 31),
	       "free-running u32 indexes need size < 2^31");

#endif /* IVC_WIRE_H */
