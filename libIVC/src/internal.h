/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what libIVC's own files share; nothing here is public.
 *
 * The layers, top down:
 *   rendezvous.c  the public listen/accept/connect calls: arguments checked,
 *                 then handed to the context's rendezvous mode (struct
 *                 ivc_rdv_ops); direct.c is direct mode (spec section 9).
 *   io.c          the public I/O calls: the ring core, waiting while it
 *                 says EAGAIN (wait.c).
 *   wait.c        the pump (every port and watch event of the context to
 *                 its owner), waiting (one thread polls the platform, the
 *                 others sleep on the lock's condition), descriptors for
 *                 event loops, noticing a peer that died; ivc_wait.
 *   chan.c        a channel from typed values (grant references, port,
 *                 geometry, type): made by a listener (chan_offer) or
 *                 attached by a client (chan_attach); released.
 *   context.c     ivc_open/ivc_close: the platform handle and XenStore
 *                 connection that every channel of the context shares.
 *   store.c       XenStore helpers used by the rendezvous modes.
 *   util.c        time, names, directions.
 * Everything below, XenStore, waiting and the clock included, comes from
 * the platform (platform.h): this directory includes nothing else, so the
 * guest builds it unchanged (tests/scripts/check-includes.sh).
 */
#ifndef IVC_INTERNAL_H
#define IVC_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ivc.h"
#include "ivc_core.h"
#include "platform.h"

#define PAGE 4096u
#define NAME_MAX_LEN 64
#define DEFAULT_RING (64u * 1024)
#define DEFAULT_MAX_MSG (64u * 1024)
/* While blocked, look at the peer's domain this often: bounds how long a
 * peer whose whole domain died (no unmap-notify can fire) goes unnoticed. */
#define LIVENESS_MS 50

struct ivc_rdv_ops;

/* Something threads wait for: a channel, a listener, a connect under way.
 * Every event of the context arrives on one event channel handle and one
 * XenStore connection; the pump (wait.c) hands each to its owner here.
 * All fields under the context's lock. */
enum obj_kind { OBJ_CHAN, OBJ_LISTENER, OBJ_OTHER };
struct ivc_obj {
	enum obj_kind kind;
	void *self;                 /* the channel or listener */
	void *user;                 /* ivc_chan_set_user / ivc_listener_set_user */
	uint64_t events, fired;     /* port events, watch events */
	struct ivc_obj *parent;     /* woken too: a pending offer's listener */
	struct ivc_plat_note *note; /* ivc_chan_fd / ivc_listener_fd */
	bool queued;                /* on the context's ready list */
	struct ivc_obj *next_ready;
	struct ivc_obj *next_note; /* ctx->notes: objects with a note */
};

struct ivc_ctx {
	const struct ivc_plat_ops *ops;
	struct ivc_plat *plat; /* one handle: every channel's grants and ports */
	const struct ivc_rdv_ops *rdv;
	struct ivc_plat_store *xs; /* one connection: every watch */
	uint32_t domid;
	/* Under the platform's lock from here on. */
	uint64_t nonce;
	int peer_watches;      /* channels holding a presence watch */
	struct ivc_obj **port; /* port number -> owner */
	uint32_t nport;
	struct ivc_obj **watch; /* watch token "w<n>" -> owner n */
	uint32_t nwatch;
	struct ivc_obj *ready, *ready_tail; /* for ivc_wait, each once */
	struct ivc_obj any;                 /* its count moves when one is queued */
	struct ivc_plat_note *ready_note;   /* ivc_fd's: set while ready */
	struct ivc_plat_waitset *ws;        /* ivc_fd */
	uint32_t unmask[16];                /* left masked by a wake-up (wait.c) */
	unsigned nunmask;
	atomic_bool unmask_due; /* nunmask > 0; read without the lock */
	struct ivc_held *held;  /* grants the peer still maps (chan.c) */
	unsigned nheld;
	struct ivc_obj held_obj; /* owns their ports: the peer's unmap signals */
	uint64_t held_seen;      /* held_obj.events when last reaped */
	struct ivc_chan *chans;  /* every channel, for ivc_wait */
	struct ivc_obj *notes;   /* every object with a note */
	struct ivc_obj stale;    /* owns watch slots that would not go */
	/* Brokered mode: one watch on our area (token "b"); each event goes
	 * to the owner of the key its path names (routes), or to `area`. */
	struct ivc_route **routes; /* ROUTE_BUCKETS chains */
	struct ivc_obj area;
	char area_path[32]; /* "/rendezvous/<domid>" */
	uint32_t bport;     /* our liveness port for the daemon (9.11.1 item 5) */
	/* Domains a notice (9.11.5 item 2) was heard of, and, once read,
	 * showed gone: our ends of them made before `seq` lost their peer.
	 * A small cache: an end it does not cover reads its `peer` node. */
	struct {
		uint32_t dom;
		uint64_t seq; /* 0: not read yet */
		bool heard;   /* a notice event came since the last read */
	} gone[8];
	unsigned gone_next;
	uint64_t bseq;     /* counts brokered ends made, for `gone` */
	int64_t tick_ms;   /* ivc_wait's last liveness tick */
	bool no_alive;     /* the platform may not ask (a domU) */
	bool polling;      /* a thread waits on the platform */
	unsigned sleepers; /* threads on the lock's condition */
	bool bg, bg_stop;  /* the pump thread (descriptors) */
	int dead;          /* the platform's error once its event device is gone */
};

/* The context's lock: the platform's, held by the pump and around the
 * fields above marked as under it. */
static inline void ivc__lock(struct ivc_ctx *ctx)
{
	ctx->ops->lock(ctx->plat);
}

static inline void ivc__unlock(struct ivc_ctx *ctx)
{
	ctx->ops->unlock(ctx->plat);
}

/* What both ends agree on before a channel exists: its type, this end's
 * direction, and the geometry: what a listener grants, or what a client
 * was told (ring_bytes and params.max_msg; it checks the header against
 * them). */
struct chan_spec {
	struct ivc_type type; /* name points at storage that outlives the call */
	enum ivc_dir dir;
	struct ivc_core_params params;
	uint32_t ring_bytes[2]; /* ring 0: listener -> client; 0: absent */
};

struct ivc_chan {
	struct ivc_ctx *ctx;
	struct ivc_obj obj;
	struct ivc_chan *prev, *next; /* ctx->chans */
	struct ivc_core core;
	uint32_t peer, port;
	struct ivc_plat_share *share;
	struct ivc_plat_map *ctrl_map, *ring_map[2];
	/* The rendezvous mode's state for this channel (what it published,
	 * how it watches the peer); released by its chan_release. */
	void *rdv;
	uint64_t fired_seen; /* obj.fired when the peer watch was last looked at */
	bool dead_queued;    /* ivc_wait reported its peer's domain gone */
	char type_name[NAME_MAX_LEN + 1];
	struct ivc_type type;
	enum ivc_dir dir;
	uint64_t waits;
	uint32_t spin_us;               /* ivc_chan_set_spin */
	uint64_t spin_won, spin_lost;   /* what the spins came to */
	uint64_t lingers, linger_spins; /* io.c: linger() */
	int64_t checked_ms;             /* last liveness check */
	unsigned clockless;             /* sleeps since the clock was last read */
	bool quiet;                     /* the last sleep ended with nothing for us */
	/* What the last non-blocking call of each direction could not do
	 * (want_tx: bytes of room, 0 none): one descriptor serves both, so
	 * a call of one direction that clears it looks for the other's. */
	size_t want_tx;
	bool want_rx;
	/* Bytes received since this channel last slept or sent: a reader
	 * that takes much and sends nothing is a stream's (io.c, linger). */
	size_t rx_run;
	size_t rx_last; /* bytes of the last piece received (io.c, linger) */
	int64_t nap_ns; /* how long its naps take, on average (io.c, nap) */
};

struct ivc_listener {
	struct ivc_ctx *ctx;
	struct ivc_obj obj;
	char name[NAME_MAX_LEN + 1];
	char type_name[NAME_MAX_LEN + 1];
	struct chan_spec spec;
	uint32_t backlog; /* brokered mode: clients that may wait */
	void *rdv;        /* the rendezvous mode's state */
};

/* A client's request, as the public call gave it (checked). */
struct conn_req {
	uint32_t server;
	const char *name;
	const struct ivc_type *type;
	enum ivc_dir dir;
	const struct ivc_opts *opts; /* never NULL */
};

/* A rendezvous mode. Every function returns 0 or a negative errno. */
struct ivc_rdv_ops {
	const char *name;
	/* Publishes l (name, spec filled in). */
	int (*listen)(struct ivc_listener *l);
	/* The next client's channel, attached; -ETIMEDOUT/-EAGAIN at the
	 * deadline (-1: none). */
	int (*accept)(struct ivc_listener *l, int64_t deadline, int timeout_ms,
		      struct ivc_chan **out);
	/* Withdraws l and what it published; frees its state. */
	void (*unlisten)(struct ivc_listener *l);
	int (*connect)(struct ivc_ctx *ctx, const struct conn_req *rq, int64_t deadline,
		       struct ivc_chan **out);
	/* Liveness where the platform cannot tell: true if the rendezvous
	 * shows the peer's end gone (the caller then reads the shared
	 * state, which tells a close from a death). */
	bool (*peer_gone)(struct ivc_chan *c);
	/* True if a watch reports the peer's end going (no need to look);
	 * its events count in c->obj.fired. */
	bool (*peer_watched)(const struct ivc_chan *c);
	/* Removes what was published for c; 0 or the first error. */
	int (*chan_release)(struct ivc_chan *c);
};

extern const struct ivc_rdv_ops ivc_rdv_direct;
extern const struct ivc_rdv_ops ivc_rdv_brokered;

/* util.c */
int64_t ivc__now_ms(const struct ivc_ctx *ctx);
int ivc__left_ms(const struct ivc_ctx *ctx, int64_t deadline);
int64_t ivc__deadline_of(const struct ivc_ctx *ctx, int timeout_ms);
bool ivc__name_ok(const char *s);
bool ivc__service_ok(const char *s);
bool ivc__type_ok(const struct ivc_type *t);
const char *ivc__dir_str(enum ivc_dir d);
int ivc__dir_parse(const char *s, enum ivc_dir *d);
bool ivc__dirs_fit(enum ivc_dir listener, enum ivc_dir client);
uint32_t ivc__order_of(uint32_t bytes);
/* FNV-1a of n bytes: the same value in every domain (presence buckets). */
uint32_t ivc__fnv1a(const void *p, size_t n);

/* parse.c: spec Appendix B. 0 or -EPROTO (nonce_ok: true or false). */
int ivc__parse_u32(const char *s, uint32_t max, uint32_t *out);
bool ivc__nonce_ok(const char *s);
int ivc__parse_id(const char *id, uint32_t *client); /* "<domid>-<nonce>" */
struct ivc_request {
	char type[NAME_MAX_LEN + 1];
	uint32_t version;
	char mode[16], dir[16];
};
int ivc__parse_request(const char *s, struct ivc_request *rq);
int ivc__parse_refs(const char *s, uint32_t *refs, uint32_t *n); /* n <= 9 */

/* Brokered mode's records (spec 9.11.9), each read whole; 0 or -EPROTO.
 * Numbers as ivc__parse_u32; strings checked as their grammar says. */
#define IVC_BACKLOG_MAX 256u
#define IVC_BACKLOG_DEFAULT 128u
#define IVC_KEY_LEN 17 /* a nonce and its NUL */
struct ivc_svc_rec {   /* a service as a listener offers it */
	char name[NAME_MAX_LEN + 1];
	struct ivc_request t; /* dir: the listener's */
	uint32_t ring[2], max[2];
};
struct ivc_listen_rec {
	struct ivc_svc_rec svc;
	uint32_t backlog, port;
};
struct ivc_connect_rec {
	uint32_t server; /* IVC_DOMID_ANY: "any" */
	char name[NAME_MAX_LEN + 1];
	struct ivc_request t; /* dir: the client's */
	uint32_t min[2], min_msg, port;
};
struct ivc_lend_rec {
	char listen[IVC_KEY_LEN];
	uint32_t peer, port; /* port: its owner's liveness port */
};
struct ivc_cend_rec {
	uint32_t peer, port;
	struct ivc_svc_rec svc;
};
struct ivc_offer_rec {
	char refs[IVC_WIRE_MAX_CTRL_PAGES * 11];
	uint32_t port;
};
int ivc__parse_listen(const char *s, struct ivc_listen_rec *r);
int ivc__parse_connect(const char *s, struct ivc_connect_rec *r);
int ivc__parse_lend(const char *s, struct ivc_lend_rec *r);
int ivc__parse_cend(const char *s, struct ivc_cend_rec *r);
int ivc__parse_offer(const char *s, struct ivc_offer_rec *r);
int ivc__parse_error(const char *s, char *name, size_t cap);
struct ivc_monitor_rec { /* spec 11.2 */
	uint32_t ref, version;
	char type[NAME_MAX_LEN + 1];
};
int ivc__parse_monitor(const char *s, struct ivc_monitor_rec *r);
/* The daemon's refusal names (9.11.8) and their errors: unknown names
 * read as -ECONNREFUSED, unknown errors as "ECONNREFUSED". */
int ivc__refusal_err(const char *name);
const char *ivc__refusal_name(int err);
bool ivc__geometry_ok(const char *mode, enum ivc_dir ldir, const uint32_t ring[2],
		      const uint32_t max[2]);
int ivc__svc_fit(const struct ivc_svc_rec *s, const struct ivc_connect_rec *c);
/* Largest domain id a request may name: DOMID_FIRST_RESERVED - 1. */
#define IVC_DOMID_MAX 32751u

/* store.c: a XenStore connection as the library uses it, the platform's
 * ops with one of its stores. */
struct xst {
	const struct ivc_plat_ops *ops;
	struct ivc_plat_store *s;
};
int ivc__xs_read(struct xst x, uint32_t t, const char *path, char **val);
char *ivc__xs_get(struct xst x, uint32_t t, const char *dir, const char *key);
char *ivc__xs_get_err(struct xst x, uint32_t t, const char *dir, const char *key, int *err);
int ivc__xs_put(struct xst x, uint32_t t, const char *dir, const char *key, const char *val);
typedef int (*ivc__txn_body)(struct xst x, uint32_t t, void *arg);
int ivc__xs_txn(struct xst x, ivc__txn_body body, void *arg);
int ivc__rm_node(struct ivc_ctx *ctx, const char *path);

/* chan.c */
int ivc__chan_offer(struct ivc_ctx *ctx, const struct chan_spec *spec, uint32_t client,
		    struct ivc_chan **out, uint32_t *ctrl_refs, uint32_t *nctrl);
int ivc__chan_attach(struct ivc_ctx *ctx, const struct chan_spec *spec, uint32_t server,
		     const uint32_t *ctrl_refs, uint32_t nctrl, uint32_t port,
		     struct ivc_chan **out);
int ivc__chan_release(struct ivc_chan *c, bool orderly);
/* Releases the grants held for peers that still mapped them (chan.c):
 * those whose peers have unmapped since, or all at ivc_close. */
void ivc__held_reap(struct ivc_ctx *ctx);
void ivc__held_close(struct ivc_ctx *ctx);

/* offers.c: a listener's offers waiting for their clients. */
#define IVC_ATTACH_MS 5000 /* a client that has not attached by then is dropped */
#define IVC_MAX_OFFERS 16  /* per listener; more requests wait their turn */
struct ivc_offer {
	struct ivc_chan *c;
	int64_t attach_by;
};
struct ivc_offers {
	struct ivc_offer v[IVC_MAX_OFFERS];
	int n;
	bool ask_rdv; /* ask the rendezvous even where the platform can tell */
};
void ivc__offers_add(struct ivc_offers *o, struct ivc_chan *c);
/* The first attached channel (then on_attach(c)), or NULL; withdraws
 * the offers whose client is gone or late. */
struct ivc_chan *ivc__offers_check(struct ivc_offers *o, void (*on_attach)(struct ivc_chan *c));
void ivc__offers_close(struct ivc_offers *o);

/* wait.c: the pump, waiting, owners of ports and watches. */
void ivc__pump(struct ivc_ctx *ctx);          /* under the lock */
void ivc__unmask_queued(struct ivc_ctx *ctx); /* under the lock: before a wait on the device */
void ivc__unmask_now(struct ivc_ctx *ctx);    /* not under it */

/* After a send's signal, or a receive that found its data waiting: the
 * ports the last wake-up left masked are unmasked now (wait.c,
 * unmask_later). */
static inline void ivc__unmask_soon(struct ivc_ctx *ctx)
{
	if (atomic_load_explicit(&ctx->unmask_due, memory_order_relaxed))
		ivc__unmask_now(ctx);
}
uint64_t ivc__obj_seq(struct ivc_ctx *ctx, const struct ivc_obj *o);
int ivc__wait_obj(struct ivc_ctx *ctx, struct ivc_obj *o, uint64_t seen, int ms);
int ivc__port_own(struct ivc_ctx *ctx, uint32_t port, struct ivc_obj *o);
void ivc__port_disown(struct ivc_ctx *ctx, uint32_t port);
int ivc__watch(struct ivc_ctx *ctx, const char *path, struct ivc_obj *o, int *slot);
void ivc__unwatch(struct ivc_ctx *ctx, const char *path, int slot);
/* Brokered mode: events under area_path/ans/<key> and area_path/chan/<key>
 * go to o (a later add of the same key replaces the owner). */
int ivc__route_add(struct ivc_ctx *ctx, const char *key, struct ivc_obj *o);
/* The same for a channel end whose peer is in domain `peer`: a notice that
 * that domain is gone (9.11.5 item 2) goes to o too. */
int ivc__route_chan(struct ivc_ctx *ctx, const char *key, struct ivc_obj *o, uint32_t peer);
void ivc__route_del(struct ivc_ctx *ctx, const char *key, const struct ivc_obj *o);
/* Where ctx->gone holds domain dom: its index, or 8 (under the lock). */
unsigned ivc__gone_slot(const struct ivc_ctx *ctx, uint32_t dom);
void ivc__routes_free(struct ivc_ctx *ctx);
void ivc__obj_ready(struct ivc_ctx *ctx, struct ivc_obj *o);
void ivc__obj_queue(struct ivc_ctx *ctx, struct ivc_obj *o); /* under the lock */
void ivc__obj_kind(struct ivc_ctx *ctx, struct ivc_obj *o, enum obj_kind kind,
		   struct ivc_obj *parent);
void ivc__kick_waiters(struct ivc_ctx *ctx); /* under the lock */
void ivc__obj_forget(struct ivc_ctx *ctx, struct ivc_obj *o);
int ivc__obj_fd(struct ivc_ctx *ctx, struct ivc_obj *o);
uint64_t ivc__obj_arm(struct ivc_ctx *ctx, struct ivc_obj *o);
void ivc__bg_stop(struct ivc_ctx *ctx);
int ivc__ctx_dead(struct ivc_ctx *ctx);
void ivc__check_peer_domain(struct ivc_chan *c);
void ivc__peer_watch_check(struct ivc_chan *c);
/* ivc__chan_arm returns with the context's lock held; ivc__chan_sleep
 * takes it so, and returns without it. */
uint64_t ivc__chan_arm(struct ivc_chan *c);
int ivc__chan_sleep(struct ivc_chan *c, uint64_t seen, int64_t deadline);

#endif
