/* SPDX-License-Identifier: MIT */
/*
 * ring.c - the freestanding ring core (protocol-spec/ivc-protocol.md).
 *
 * Rules kept throughout, because the peer may be hostile:
 *  - every value the peer writes is loaded at most once per operation
 *    into a local, through the helpers below (the length header through
 *    volatile bytes), and validated before use; the peer's index may be
 *    the one loaded and validated earlier (spec 4 item 8);
 *  - our own indexes live in local state and are only ever stored to
 *    shared memory, never read back from it;
 *  - geometry (size, mask, max_msg) comes from the validated local copy
 *    made at create/attach time;
 *  - a violation makes the channel fail with a sticky -EPROTO.
 */
#include "ivc_core.h"

/* The one libc function the core needs; a freestanding build supplies it. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);

/* The steps of a send or a receive that finds room or data: one function
 * each, with no calls inside but memcpy above SMALL_COPY bytes. */
#define HOT static inline __attribute__((always_inline))

/* ---- memory ordering ------------------------------------------------ */

/* Load an index the peer publishes. Acquire: every access to ring memory
 * that depends on this value (reading data below prod, overwriting space
 * below cons) happens after the load, never speculatively before it. */
static inline uint32_t load_peer_idx(const uint32_t *p)
{
	return atomic_load_explicit((const _Atomic uint32_t *)p, memory_order_acquire);
}

/* Publish our own index. Release: our writes of payload (producer) or our
 * reads of payload (consumer) are complete before the peer can see the
 * index move, so it never reads unwritten data nor overwrites unread data. */
static inline void store_own_idx(uint32_t *p, uint32_t v)
{
	atomic_store_explicit((_Atomic uint32_t *)p, v, memory_order_release);
}

/* A peer value with no data depending on it (its request counter). Relaxed:
 * ordering comes from the full fence that precedes every such load. */
static inline uint32_t load_peer_word(const uint32_t *p)
{
	return atomic_load_explicit((const _Atomic uint32_t *)p, memory_order_relaxed);
}

/* Our request counter. Relaxed: the full fence that follows orders it. */
static inline void store_own_word(uint32_t *p, uint32_t v)
{
	atomic_store_explicit((_Atomic uint32_t *)p, v, memory_order_relaxed);
}

/* Monitoring counters: nobody orders anything on them. */
static inline void store_counter(uint64_t *p, uint64_t v)
{
	atomic_store_explicit((_Atomic uint64_t *)p, v, memory_order_relaxed);
}

/* Peer state bytes. Acquire: the peer stores `closed` with release after
 * its last index update, so once we see it, a re-read of the index sees
 * everything it ever published. */
static inline uint8_t load_peer_byte(const uint8_t *p)
{
	return atomic_load_explicit((const _Atomic uint8_t *)p, memory_order_acquire);
}

/* Our state bytes. Release: every index we published precedes the state
 * change (matters for `closed`: the peer drains before it reports EOF). */
static inline void store_own_byte(uint8_t *p, uint8_t v)
{
	atomic_store_explicit((_Atomic uint8_t *)p, v, memory_order_release);
}

/* Header fields: no ordering needed (publication is done by the platform),
 * but they must be single loads the compiler cannot repeat. */
static inline uint32_t load_hdr_word(const uint32_t *p)
{
	return atomic_load_explicit((const _Atomic uint32_t *)p, memory_order_relaxed);
}

/* Full fence, the Dekker step of the notification protocol. It orders our
 * preceding store (an index, or a request counter) before our following
 * load (the peer's request counter, or the peer's index). The peer runs
 * the mirror image, so at least one of us sees the other's store and no
 * wake-up is lost. */
static inline void full_fence(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

_Static_assert(sizeof(_Atomic uint32_t) == 4 && _Alignof(_Atomic uint32_t) == 4,
	       "atomic u32 must overlay a wire u32");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "atomic u64 must overlay a wire u64");
_Static_assert(sizeof(_Atomic uint8_t) == 1, "atomic u8 must overlay a wire u8");

/* ---- helpers ---------------------------------------------------------- */

/* Recomputes the gates after any field they fold changed. */
static void gates(struct ivc_core *c)
{
	bool open = !c->error && !c->closed;

	c->rx_gate = open && c->rx.data;
	c->tx_gate = open && c->tx.data && c->peer_was_live && c->features_known && !c->peer_final;
}

static int fail(struct ivc_core *c, int err)
{
	if (!c->error)
		c->error = err;
	gates(c);
	return c->error;
}

/* The little-endian length header of the message at idx, byte by byte
 * (it may straddle the ring's end): four stores or loads, where a copy
 * through a buffer cost two calls per message. Each byte is read once;
 * the caller checks the assembled value. */
static inline void hdr_put(struct ivc_core_ring *r, uint32_t idx, uint32_t v)
{
	uint32_t off = idx & r->mask;
	uint8_t *p = r->data + off;

	if (off <= r->size - IVC_WIRE_MSG_HDR) { /* compilers make this one store */
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
		p[2] = (uint8_t)(v >> 16);
		p[3] = (uint8_t)(v >> 24);
		return;
	}
	for (unsigned i = 0; i < IVC_WIRE_MSG_HDR; i++)
		r->data[(idx + i) & r->mask] = (uint8_t)(v >> (8 * i));
}

/* Volatile: the compiler may not load a byte again later (the peer can
 * change it between two loads; only the value checked may be used). */
static inline uint32_t hdr_get(const struct ivc_core_ring *r, uint32_t idx)
{
	const volatile uint8_t *d = r->data;
	uint32_t off = idx & r->mask, v = 0;

	if (off <= r->size - IVC_WIRE_MSG_HDR) { /* four loads, no loop: most headers */
		d += off;
		return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
		       (uint32_t)d[3] << 24;
	}
	for (unsigned i = 0; i < IVC_WIRE_MSG_HDR; i++)
		v |= (uint32_t)d[(idx + i) & r->mask] << (8 * i);
	return v;
}

/* Copies of at most SMALL_COPY bytes are done here: a call to memcpy
 * through the PLT and back is two indirect branches, and under emulation
 * (the Xen lab's TCG: each one a lookup of the next translated block)
 * they cost a 64-byte message more than the copy. Sixteen-byte pieces,
 * the last one overlapping; bytes may be read or written twice, which
 * changes nothing for payload. */
#define SMALL_COPY 256u

HOT void move(uint8_t *d, const uint8_t *s, uint32_t n)
{
	uint8_t t[16];

	__builtin_memcpy(t, s, n); /* n is a constant below: plain loads */
	__builtin_memcpy(d, t, n);
}

HOT void copy(void *dst, const void *src, uint32_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (n > SMALL_COPY) {
		memcpy(dst, src, n);
	} else if (n >= 16) {
		for (uint32_t at = 0; at + 16 < n; at += 16) {
			move(d + at, s + at, 16);
			/* A compiler barrier only: keeps the loop from being
			 * recognised as a copy and turned back into memcpy. */
			atomic_signal_fence(memory_order_seq_cst);
		}
		move(d + n - 16, s + n - 16, 16);
	} else if (n >= 8) {
		move(d, s, 8);
		move(d + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		move(d, s, 4);
		move(d + n - 4, s + n - 4, 4);
	} else {
		for (uint32_t i = 0; i < n; i++)
			d[i] = s[i];
	}
}

/* Copies in and out of ring memory at a free-running index. One that
 * wraps the ring's end (rare) is two plain memcpy calls. */
HOT void ring_put(struct ivc_core_ring *r, uint32_t idx, const void *src, uint32_t n)
{
	uint32_t off = idx & r->mask, first = r->size - off;

	if (n <= first) {
		copy(r->data + off, src, n);
		return;
	}
	memcpy(r->data + off, src, first);
	memcpy(r->data, (const uint8_t *)src + first, n - first);
}

HOT void ring_get(const struct ivc_core_ring *r, uint32_t idx, void *dst, uint32_t n)
{
	uint32_t off = idx & r->mask, first = r->size - off;

	if (n <= first) {
		copy(dst, r->data + off, n);
		return;
	}
	memcpy(dst, r->data + off, first);
	memcpy((uint8_t *)dst + first, r->data, n - first);
}

static void ring_spans(const struct ivc_core_ring *r, uint32_t idx, uint32_t n,
		       struct ivc_core_span span[2])
{
	uint32_t off = idx & r->mask;
	uint32_t first = r->size - off < n ? r->size - off : n;

	span[0].base = r->data + off;
	span[0].len = first;
	span[1].base = r->data;
	span[1].len = n - first;
}

/* Advance our index by `adv` ring bytes carrying `payload` bytes. */
static inline void publish(struct ivc_core_ring *r, uint32_t adv, uint32_t payload)
{
	r->msgs++;
	r->bytes += payload;
	store_counter(r->sh_msgs, r->msgs);
	store_counter(r->sh_bytes, r->bytes);
	r->idx += adv;
	store_own_idx(r->sh_idx, r->idx);
	r->moved = true;
}

/* ---- setup ------------------------------------------------------------ */

int ivc_core_params_check(struct ivc_core_params *p)
{
	if (p->mode != IVC_WIRE_MODE_MESSAGE && p->mode != IVC_WIRE_MODE_STREAM)
		return -IVC_CORE_EINVAL;
	if (p->order[0] == IVC_WIRE_ORDER_NONE && p->order[1] == IVC_WIRE_ORDER_NONE)
		return -IVC_CORE_EINVAL;
	for (unsigned r = 0; r < 2; r++) {
		uint32_t o = p->order[r];

		if (o == IVC_WIRE_ORDER_NONE) {
			if (p->max_msg[r] != 0)
				return -IVC_CORE_EINVAL;
			continue;
		}
		if (o < IVC_WIRE_MIN_ORDER || o > IVC_WIRE_MAX_ORDER)
			return -IVC_CORE_EINVAL;
		if (p->mode == IVC_WIRE_MODE_STREAM ? p->max_msg[r] != 0
						    : p->max_msg[r] > (1u << o) - IVC_WIRE_MSG_HDR)
			return -IVC_CORE_EINVAL;
	}
	p->ctrl_pages = ivc_wire_ctrl_pages(p->order[0], p->order[1]);
	return 0;
}

/* Ring n of the control area ctl, as side `side` sees it. */
static void ring_setup(struct ivc_core_ring *r, struct ivc_wire_ctrl *ctl, unsigned n,
		       unsigned side, void *data, uint32_t order, uint32_t max_msg)
{
	struct ivc_wire_ring *w = &ctl->ring[n];
	bool producer = n == side;

	r->data = order == IVC_WIRE_ORDER_NONE ? (uint8_t *)0 : (uint8_t *)data;
	r->size = order == IVC_WIRE_ORDER_NONE ? 0u : 1u << order;
	r->mask = r->size ? r->size - 1 : 0;
	r->max_msg = max_msg;
	r->idx = 0;
	r->peer_idx = 0;
	r->req = 0;
	r->peer_req_seen = 0;
	r->moved = false;
	r->have_hdr = false;
	r->hdr_len = 0;
	r->reserved = false;
	r->resv_len = 0;
	r->msgs = 0;
	r->bytes = 0;
	if (producer) {
		r->sh_idx = &w->p.prod;
		r->sh_req = &w->p.space_req;
		r->sh_peer_idx = &w->c.cons;
		r->sh_peer_req = &w->c.data_req;
		r->sh_msgs = &w->p.msgs;
		r->sh_bytes = &w->p.bytes;
	} else {
		r->sh_idx = &w->c.cons;
		r->sh_req = &w->c.data_req;
		r->sh_peer_idx = &w->p.prod;
		r->sh_peer_req = &w->p.space_req;
		r->sh_msgs = &w->c.msgs;
		r->sh_bytes = &w->c.bytes;
	}
	r->sh_req_side = &ctl->side[side].req[n];
}

/* Features now in use (spec 8.1 item 4): from here on the peer's requests
 * are read where SIDE_REQ puts them. Both copies hold the same count, so
 * the switch loses none. */
static void features_in_use(struct ivc_core *c, uint32_t f)
{
	c->features = f & IVC_CORE_FEATURES;
	c->features_known = true;
	gates(c);
	if (c->features & IVC_WIRE_FEATURE_SIDE_REQ) {
		const uint32_t *peer = c->ctrl->side[c->side ^ 1u].req;

		c->tx.sh_peer_req = &peer[c->side];
		c->rx.sh_peer_req = &peer[c->side ^ 1u];
	}
}

static void core_setup(struct ivc_core *c, void *ctrl, unsigned side,
		       const struct ivc_core_params *p, void *data0, void *data1)
{
	struct ivc_wire_ctrl *w = ctrl;
	void *data[2] = { data0, data1 };
	unsigned peer = side ^ 1u;

	c->ctrl = w;
	c->side = side;
	c->mode = p->mode;
	c->peer_was_live = false;
	c->peer_final = 0;
	c->closed = false;
	c->error = 0;
	c->notifies = 0;
	c->waits = 0;
	/* Side 0 learns them when side 1 attaches (ivc_core_peer); c need not
	 * come zeroed, and a stale features_known would skip that. */
	c->features = 0;
	c->features_known = false;
	/* Ring `side` carries our data to the peer; ring `peer` the reverse. */
	ring_setup(&c->tx, w, side, side, data[side], p->order[side], p->max_msg[side]);
	ring_setup(&c->rx, w, peer, side, data[peer], p->order[peer], p->max_msg[peer]);
	gates(c);
}

static bool ctrl_ok(const void *ctrl, size_t ctrl_len, uint32_t pages)
{
	return ctrl && ((uintptr_t)ctrl & (IVC_WIRE_PAGE_SIZE - 1)) == 0 &&
	       ctrl_len / IVC_WIRE_PAGE_SIZE >= pages;
}

static bool data_ok(const struct ivc_core_params *p, const void *data0, const void *data1)
{
	return (p->order[0] == IVC_WIRE_ORDER_NONE || data0) &&
	       (p->order[1] == IVC_WIRE_ORDER_NONE || data1);
}

int ivc_core_create(struct ivc_core *c, void *ctrl, size_t ctrl_len,
		    const struct ivc_core_params *p, void *data0, void *data1)
{
	struct ivc_core_params q = *p;
	struct ivc_wire_ctrl *w = ctrl;

	if (ivc_core_params_check(&q) || !ctrl_ok(ctrl, ctrl_len, q.ctrl_pages) ||
	    !data_ok(&q, data0, data1))
		return -IVC_CORE_EINVAL;

	/* Zero the whole control area word by word. Atomic stores keep the
	 * compiler from turning this into a call to memset, which a
	 * freestanding build does not have. */
	_Atomic uint32_t *words = ctrl;
	for (size_t i = 0; i < (size_t)q.ctrl_pages * IVC_WIRE_PAGE_SIZE / 4; i++)
		atomic_store_explicit(&words[i], 0, memory_order_relaxed);

	w->hdr.magic = IVC_WIRE_MAGIC;
	w->hdr.version = IVC_WIRE_VERSION;
	w->hdr.mode = q.mode;
	w->hdr.ctrl_pages = q.ctrl_pages;
	w->hdr.features = IVC_CORE_FEATURES; /* offered */
	for (unsigned r = 0; r < 2; r++) {
		w->hdr.ring[r].order = q.order[r];
		w->hdr.ring[r].max_msg = q.max_msg[r];
	}
	core_setup(c, ctrl, 0, &q, data0, data1);
	/* live before attached: spec 6.1, see ivc_core_peer */
	store_own_byte(&w->side[0].live, IVC_WIRE_LIVE_UP);
	store_own_byte(&w->side[0].attached, IVC_WIRE_ATTACHED_YES);
	return 0;
}

void ivc_core_set_created(struct ivc_core *c, uint64_t unix_ms)
{
	if (c->side == 0)
		store_counter(&c->ctrl->hdr.created, unix_ms);
}

int ivc_core_read_params(const void *ctrl, size_t ctrl_len, struct ivc_core_params *out)
{
	const struct ivc_wire_header *h = ctrl;
	struct ivc_core_params q;
	uint32_t magic, version, pages;

	if (!ctrl_ok(ctrl, ctrl_len, 1))
		return -IVC_CORE_EINVAL;
	/* One load per field; from here on only the locals are used. */
	magic = load_hdr_word(&h->magic);
	version = load_hdr_word(&h->version);
	q.mode = load_hdr_word(&h->mode);
	pages = load_hdr_word(&h->ctrl_pages);
	for (unsigned r = 0; r < 2; r++) {
		q.order[r] = load_hdr_word(&h->ring[r].order);
		q.max_msg[r] = load_hdr_word(&h->ring[r].max_msg);
	}
	if (magic != IVC_WIRE_MAGIC)
		return -IVC_CORE_EPROTO;
	if (version != IVC_WIRE_VERSION)
		return -IVC_CORE_EPROTONOSUPPORT;
	if (ivc_core_params_check(&q) || pages != q.ctrl_pages ||
	    ctrl_len / IVC_WIRE_PAGE_SIZE < pages)
		return -IVC_CORE_EPROTO;
	*out = q;
	return 0;
}

int ivc_core_attach(struct ivc_core *c, void *ctrl, size_t ctrl_len,
		    const struct ivc_core_params *p, void *data0, void *data1)
{
	struct ivc_core_params q = *p;
	struct ivc_wire_ctrl *w = ctrl;

	if (ivc_core_params_check(&q) || !ctrl_ok(ctrl, ctrl_len, q.ctrl_pages) ||
	    !data_ok(&q, data0, data1))
		return -IVC_CORE_EINVAL;
	/* Side 0 must be up and not closed; side 1's own line must be unused
	 * (an area serves exactly one attachment). */
	if (load_peer_byte(&w->side[0].live) != IVC_WIRE_LIVE_UP ||
	    load_peer_byte(&w->side[0].closed) != IVC_WIRE_CLOSED_NO ||
	    load_peer_byte(&w->side[1].live) || load_peer_byte(&w->side[1].closed) ||
	    load_peer_byte(&w->side[1].attached))
		return -IVC_CORE_ECONNREFUSED;
	core_setup(c, ctrl, 1, &q, data0, data1);
	c->peer_was_live = true;
	/* Accepted: what side 0 offers and we implement. The release store
	 * of `attached` below publishes it. */
	features_in_use(c, load_hdr_word(&w->hdr.features));
	store_own_word(&w->side[1].features, c->features);
	store_own_byte(&w->side[1].live, IVC_WIRE_LIVE_UP);
	store_own_byte(&w->side[1].attached, IVC_WIRE_ATTACHED_YES);
	return 0;
}

/* ---- peer state ------------------------------------------------------- */

static int set_peer_final(struct ivc_core *c, int st)
{
	c->peer_final = st;
	gates(c);
	return st;
}

bool ivc_core_peer_maps(const struct ivc_wire_ctrl *ctrl)
{
	return load_peer_byte(&ctrl->side[1].live) != IVC_WIRE_LIVE_DOWN;
}

int ivc_core_peer(struct ivc_core *c)
{
	const struct ivc_wire_side *s = &c->ctrl->side[c->side ^ 1u];
	uint8_t attached, live, closed;

	if (c->peer_final)
		return c->peer_final;
	/* Spec 6.3: attached, then live, then closed. The peer stores live
	 * before attached and closed before its live byte is cleared, so in
	 * this order neither an attach nor a close racing with us can make a
	 * healthy peer look dead. */
	attached = load_peer_byte(&s->attached);
	live = load_peer_byte(&s->live);
	closed = load_peer_byte(&s->closed);
	if (closed > IVC_WIRE_CLOSED_YES || live > IVC_WIRE_LIVE_UP ||
	    attached > IVC_WIRE_ATTACHED_YES)
		return fail(c, -IVC_CORE_EPROTO);
	/* Side 0: what side 1 accepted, once it has attached (the acquire
	 * load of `attached` orders this load after its store). A bit we did
	 * not offer is ignored. */
	if (attached && !c->features_known)
		features_in_use(c, load_peer_word(&s->features));
	if (closed)
		return set_peer_final(c, IVC_CORE_PEER_CLOSED);
	if (live) {
		if (!c->peer_was_live) {
			c->peer_was_live = true;
			gates(c);
		}
		return IVC_CORE_PEER_UP;
	}
	/* Once seen up, always known: a peer that later clears `attached`
	 * still reads as dead, not as not-yet-attached. */
	if (c->peer_was_live || attached)
		return set_peer_final(c, IVC_CORE_PEER_DEAD);
	return IVC_CORE_PEER_WAITING;
}

/* ivc_core_peer's usual answer, inline for every send: a peer seen up
 * whose three bytes still say so (same loads, same order), else the full
 * look. */
static inline int peer_state(struct ivc_core *c)
{
	const struct ivc_wire_side *s = &c->ctrl->side[c->side ^ 1u];

	if (c->tx_gate) {
		uint8_t attached = load_peer_byte(&s->attached);
		uint8_t live = load_peer_byte(&s->live);
		uint8_t closed = load_peer_byte(&s->closed);

		if (((attached ^ IVC_WIRE_ATTACHED_YES) | (live ^ IVC_WIRE_LIVE_UP) | closed) == 0)
			return IVC_CORE_PEER_UP;
	}
	return ivc_core_peer(c);
}

void ivc_core_set_peer_dead(struct ivc_core *c)
{
	if (!c->peer_final)
		set_peer_final(c, IVC_CORE_PEER_DEAD);
}

/* ---- transmit --------------------------------------------------------- */

/* What a closed gate hides: the sticky error, a closed channel or an
 * absent direction, the wrong mode; 0 if none of those (tx: the peer's
 * state is what closed it). */
static int gate_error(const struct ivc_core *c, const struct ivc_core_ring *r, uint32_t mode)
{
	if (c->error)
		return c->error;
	if (c->closed || !r->data)
		return -IVC_CORE_EBADF;
	if (c->mode != mode)
		return -IVC_CORE_EINVAL;
	return 0;
}

static inline int tx_begin(struct ivc_core *c, uint32_t mode)
{
	int st;

	/* An open gate in the right mode stands for the checks it folds. */
	if ((!c->tx_gate || c->mode != mode) && (st = gate_error(c, &c->tx, mode)))
		return st;
	st = peer_state(c);
	if (st < 0)
		return st;
	if (st == IVC_CORE_PEER_CLOSED)
		return -IVC_CORE_EPIPE;
	if (st == IVC_CORE_PEER_DEAD)
		return -IVC_CORE_ECONNRESET;
	return 0;
}

/* Free bytes in our ring. The peer's cons as last seen serves while it
 * leaves `want` bytes: its line is written by the peer on every message,
 * and loading it on every send would pull that line across each time.
 * Safe because the peer's cons only grows: a stale one shows less room.
 * -EPROTO if the peer's index is impossible. */
static inline int64_t tx_space(struct ivc_core *c, uint64_t want)
{
	struct ivc_core_ring *r = &c->tx;
	uint32_t used = r->idx - r->peer_idx, cons;

	if (r->size - used >= want)
		return r->size - used;
	cons = load_peer_idx(r->sh_peer_idx);
	used = r->idx - cons;
	if (used > r->size)
		return fail(c, -IVC_CORE_EPROTO);
	r->peer_idx = cons;
	return r->size - used;
}

/* Whether a message of `total` payload bytes can be sent now: 0, or the
 * error to return (the peer's state first, then the size, then room). */
HOT int msg_room(struct ivc_core *c, size_t total)
{
	int64_t space;
	int err = tx_begin(c, IVC_WIRE_MODE_MESSAGE);

	if (err)
		return err;
	if (total > c->tx.max_msg)
		return -IVC_CORE_EMSGSIZE;
	space = tx_space(c, IVC_WIRE_MSG_HDR + total);
	if (space < 0)
		return (int)space;
	return (uint64_t)space < IVC_WIRE_MSG_HDR + total ? -IVC_CORE_EAGAIN : 0;
}

int ivc_core_sendv(struct ivc_core *c, const struct ivc_core_seg *seg, unsigned nseg)
{
	struct ivc_core_ring *r = &c->tx;
	size_t total = 0;
	uint32_t idx;
	int err;

	for (unsigned i = 0; i < nseg; i++) {
		if (seg[i].len > r->max_msg - total) {
			total = (size_t)r->max_msg + 1; /* too long, whatever follows */
			break;
		}
		total += seg[i].len;
	}
	if ((err = msg_room(c, total)))
		return err;
	r->reserved = false;
	hdr_put(r, r->idx, (uint32_t)total);
	idx = r->idx + IVC_WIRE_MSG_HDR;
	for (unsigned i = 0; i < nseg; i++) {
		ring_put(r, idx, seg[i].base, (uint32_t)seg[i].len);
		idx += (uint32_t)seg[i].len;
	}
	publish(r, IVC_WIRE_MSG_HDR + (uint32_t)total, (uint32_t)total);
	return 0;
}

/* sendv of one piece, without its loops: the commonest call. */
HOT int send_one(struct ivc_core *c, const void *buf, size_t len)
{
	struct ivc_core_ring *r = &c->tx;
	int err = msg_room(c, len);

	if (err)
		return err;
	r->reserved = false;
	hdr_put(r, r->idx, (uint32_t)len);
	ring_put(r, r->idx + IVC_WIRE_MSG_HDR, buf, (uint32_t)len);
	publish(r, IVC_WIRE_MSG_HDR + (uint32_t)len, (uint32_t)len);
	return 0;
}

int ivc_core_send(struct ivc_core *c, const void *buf, size_t len)
{
	return send_one(c, buf, len);
}

int ivc_core_reserve(struct ivc_core *c, size_t len, struct ivc_core_span span[2])
{
	struct ivc_core_ring *r = &c->tx;
	int err = msg_room(c, len);

	if (err)
		return err;
	ring_spans(r, r->idx + IVC_WIRE_MSG_HDR, (uint32_t)len, span);
	r->reserved = true;
	r->resv_len = (uint32_t)len;
	return 0;
}

int ivc_core_commit(struct ivc_core *c)
{
	struct ivc_core_ring *r = &c->tx;
	int err = tx_begin(c, IVC_WIRE_MODE_MESSAGE);

	if (err)
		return err;
	if (!r->reserved)
		return -IVC_CORE_EINVAL;
	/* The space was ours at reserve time and only we can shrink it. */
	r->reserved = false;
	hdr_put(r, r->idx, r->resv_len);
	publish(r, IVC_WIRE_MSG_HDR + r->resv_len, r->resv_len);
	return 0;
}

HOT int write_some(struct ivc_core *c, const void *buf, size_t len)
{
	struct ivc_core_ring *r = &c->tx;
	int64_t space;
	uint32_t n;
	int err = tx_begin(c, IVC_WIRE_MODE_STREAM);

	if (err)
		return err;
	if (len == 0)
		return 0;
	space = tx_space(c, len);
	if (space < 0)
		return (int)space;
	if (space == 0)
		return -IVC_CORE_EAGAIN;
	n = (uint64_t)space < len ? (uint32_t)space : (uint32_t)len;
	ring_put(r, r->idx, buf, n);
	publish(r, n, n);
	return (int)n;
}

int ivc_core_write(struct ivc_core *c, const void *buf, size_t len)
{
	return write_some(c, buf, len);
}

/* ---- receive ---------------------------------------------------------- */

static inline int rx_begin(struct ivc_core *c, uint32_t mode)
{
	if (c->rx_gate && c->mode == mode)
		return 0;
	return gate_error(c, &c->rx, mode);
}

/* As tx_space, for bytes readable: the peer's prod as last seen serves
 * while it shows `want` bytes (at least one: message mode publishes whole
 * messages, so any prod the peer wrote ends one). The acquire load that
 * brought it made those bytes visible. */
static inline int64_t rx_avail(struct ivc_core *c, uint64_t want)
{
	struct ivc_core_ring *r = &c->rx;
	uint32_t avail = r->peer_idx - r->idx, prod;

	if (avail && avail >= want)
		return avail;
	prod = load_peer_idx(r->sh_peer_idx);
	avail = prod - r->idx;
	if (avail > r->size)
		return fail(c, -IVC_CORE_EPROTO);
	r->peer_idx = prod;
	return avail;
}

/* Called when the ring looked empty. -EAGAIN while the peer is up; else,
 * after one more look at the ring (the acquire on the state byte makes all
 * the peer ever published visible), EOF or reset. >0: data arrived. */
static int64_t rx_empty(struct ivc_core *c)
{
	int64_t avail;
	int st = ivc_core_peer(c);

	if (st < 0)
		return st;
	if (st == IVC_CORE_PEER_UP || st == IVC_CORE_PEER_WAITING)
		return -IVC_CORE_EAGAIN;
	avail = rx_avail(c, 1);
	if (avail)
		return avail;
	return st == IVC_CORE_PEER_CLOSED ? -IVC_CORE_EPIPE : -IVC_CORE_ECONNRESET;
}

/* Bytes readable now, or a negative code when there are none. */
static inline int64_t rx_ready(struct ivc_core *c, uint64_t want)
{
	int64_t avail = rx_avail(c, want);

	return avail ? avail : rx_empty(c);
}

/* Length of the message at our cons, validated and cached so that every
 * later step uses the same value even if the peer rewrites the header. */
HOT int rx_next(struct ivc_core *c)
{
	struct ivc_core_ring *r = &c->rx;
	uint32_t len;
	int64_t avail;
	int err = rx_begin(c, IVC_WIRE_MODE_MESSAGE);

	if (err)
		return err;
	if (r->have_hdr)
		return (int)r->hdr_len;
	avail = rx_ready(c, 1);
	if (avail < 0)
		return (int)avail;
	if (avail < IVC_WIRE_MSG_HDR)
		return fail(c, -IVC_CORE_EPROTO); /* partial header published */
	len = hdr_get(r, r->idx);
	if (len > r->max_msg || len > avail - IVC_WIRE_MSG_HDR)
		return fail(c, -IVC_CORE_EPROTO);
	r->have_hdr = true;
	r->hdr_len = len;
	return (int)len;
}

static void rx_consume(struct ivc_core_ring *r)
{
	r->have_hdr = false;
	publish(r, IVC_WIRE_MSG_HDR + r->hdr_len, r->hdr_len);
}

int ivc_core_peek_len(struct ivc_core *c)
{
	return rx_next(c);
}

HOT int recv_one(struct ivc_core *c, void *buf, size_t cap)
{
	struct ivc_core_ring *r = &c->rx;
	int len = rx_next(c);

	if (len < 0)
		return len;
	if ((size_t)len > cap)
		return -IVC_CORE_EMSGSIZE;
	ring_get(r, r->idx + IVC_WIRE_MSG_HDR, buf, (uint32_t)len);
	rx_consume(r);
	return len;
}

int ivc_core_recv(struct ivc_core *c, void *buf, size_t cap)
{
	return recv_one(c, buf, cap);
}

int ivc_core_peek(struct ivc_core *c, struct ivc_core_span span[2])
{
	int len = rx_next(c);

	if (len < 0)
		return len;
	ring_spans(&c->rx, c->rx.idx + IVC_WIRE_MSG_HDR, (uint32_t)len, span);
	return len;
}

int ivc_core_consume(struct ivc_core *c)
{
	int err = rx_begin(c, IVC_WIRE_MODE_MESSAGE);

	if (err)
		return err;
	if (!c->rx.have_hdr)
		return -IVC_CORE_EINVAL;
	rx_consume(&c->rx);
	return 0;
}

int ivc_core_read(struct ivc_core *c, void *buf, size_t cap)
{
	struct ivc_core_ring *r = &c->rx;
	int64_t avail;
	uint32_t n;
	int err = rx_begin(c, IVC_WIRE_MODE_STREAM);

	if (err)
		return err;
	if (cap == 0)
		return 0;
	avail = rx_ready(c, cap);
	if (avail < 0)
		return (int)avail;
	n = (uint64_t)avail < cap ? (uint32_t)avail : (uint32_t)cap;
	ring_get(r, r->idx, buf, n);
	publish(r, n, n);
	return (int)n;
}

/* ---- notification ----------------------------------------------------- */

/* Answer the peer's request counter on ring r if it changed since we last
 * answered it. Call only after the full fence. */
static bool answer(struct ivc_core_ring *r)
{
	uint32_t req;

	if (!r->moved)
		return false;
	r->moved = false;
	req = load_peer_word(r->sh_peer_req);
	if (req == r->peer_req_seen)
		return false;
	r->peer_req_seen = req;
	return true;
}

HOT bool notify_check(struct ivc_core *c)
{
	bool tx, rx;

	if (!c->tx.moved && !c->rx.moved)
		return false;
	full_fence(); /* our index stores before the loads of the peer's requests */
	tx = answer(&c->tx);
	rx = answer(&c->rx);
	if (tx || rx) {
		c->notifies++;
		store_counter(&c->ctrl->side[c->side].notifies, c->notifies);
	}
	return tx || rx;
}

bool ivc_core_notify_check(struct ivc_core *c)
{
	return notify_check(c);
}

/* send, recv or write, then notify_check, in one call: the public calls' fast
 * path, which this saves two calls and returns (see copy()). */
int ivc_core_send_check(struct ivc_core *c, const void *buf, size_t len)
{
	int err = send_one(c, buf, len);

	return err ? err : notify_check(c);
}

int ivc_core_recv_check(struct ivc_core *c, void *buf, size_t cap, bool *signal)
{
	int len = recv_one(c, buf, cap);

	*signal = len >= 0 && notify_check(c);
	return len;
}

int ivc_core_write_check(struct ivc_core *c, const void *buf, size_t len, bool *signal)
{
	int n = write_some(c, buf, len);

	*signal = n >= 0 && notify_check(c);
	return n;
}

unsigned ivc_core_poll(struct ivc_core *c, unsigned events, size_t need)
{
	unsigned ready = 0;

	if (c->error || c->closed)
		return events; /* the next call reports it */
	if (events & IVC_CORE_WAIT_RX) {
		if (!c->rx.data || c->rx.have_hdr || rx_ready(c, 1) != -IVC_CORE_EAGAIN)
			ready |= IVC_CORE_WAIT_RX;
	}
	if (events & IVC_CORE_WAIT_TX) {
		size_t want =
		    c->mode == IVC_WIRE_MODE_MESSAGE ? IVC_WIRE_MSG_HDR + need : (need ? need : 1);
		int st = ivc_core_peer(c);
		int64_t space = c->tx.data ? tx_space(c, want) : -1;

		/* A request larger than the ring can never be met: report it
		 * ready so that the caller's next send fails with EMSGSIZE. */
		if (space < 0 || (uint64_t)space >= want || want > c->tx.size ||
		    (st != IVC_CORE_PEER_UP && st != IVC_CORE_PEER_WAITING))
			ready |= IVC_CORE_WAIT_TX;
	}
	return ready;
}

int ivc_core_prepare_wait(struct ivc_core *c, unsigned events, size_t need)
{
	if (c->error)
		return c->error;
	/* The side-line copy too (spec 8.2) where the peer may read it: side
	 * 0 does not know yet whether side 1 will. */
	bool side = c->side == 0 || (c->features & IVC_WIRE_FEATURE_SIDE_REQ);

	if ((events & IVC_CORE_WAIT_RX) && c->rx.data) {
		store_own_word(c->rx.sh_req, ++c->rx.req);
		if (side)
			store_own_word(c->rx.sh_req_side, c->rx.req);
	}
	if ((events & IVC_CORE_WAIT_TX) && c->tx.data) {
		store_own_word(c->tx.sh_req, ++c->tx.req);
		if (side)
			store_own_word(c->tx.sh_req_side, c->tx.req);
	}
	full_fence(); /* our request stores before the re-check of the peer's indexes */
	if (ivc_core_poll(c, events, need))
		return 0;
	c->waits++;
	return 1;
}

/* ---- close and stats -------------------------------------------------- */

void ivc_core_close(struct ivc_core *c)
{
	if (c->closed)
		return;
	c->closed = true;
	gates(c);
	store_own_byte(&c->ctrl->side[c->side].closed, IVC_WIRE_CLOSED_YES);
}

static uint32_t used_for_stats(uint32_t used, uint32_t size)
{
	/* Display only: an impossible value is reported by the next I/O call. */
	return used > size ? size : used;
}

void ivc_core_get_stats(struct ivc_core *c, struct ivc_core_stats *st)
{
	st->tx_msgs = c->tx.msgs;
	st->tx_bytes = c->tx.bytes;
	st->rx_msgs = c->rx.msgs;
	st->rx_bytes = c->rx.bytes;
	st->notifies = c->notifies;
	st->waits = c->waits;
	st->tx_size = c->tx.size;
	st->rx_size = c->rx.size;
	st->tx_used = c->tx.data
			  ? used_for_stats(c->tx.idx - load_peer_idx(c->tx.sh_peer_idx), c->tx.size)
			  : 0;
	st->rx_used = c->rx.data
			  ? used_for_stats(load_peer_idx(c->rx.sh_peer_idx) - c->rx.idx, c->rx.size)
			  : 0;
}
