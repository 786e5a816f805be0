/* SPDX-License-Identifier: MIT */
/*
 * ivc.h - libIVC: typed inter-VM communication channels for Xen.
 *
 * A context (struct ivc_ctx) binds a process to a platform: "xen" (Linux
 * dom0 or domU on Xen) or "sim" (a domain of an ivc-sim host). A service
 * listens under a name with a type; clients connect to (server domid, name)
 * and get one channel each. Types, directions and ring sizes are written to
 * XenStore at rendezvous and checked by both sides.
 *
 * Conventions
 *  - Every function that can fail returns 0 (or a count) on success and a
 *    negative errno value on failure; errno itself is not used.
 *  - timeout_ms: negative waits forever, 0 never waits (-EAGAIN if it
 *    would; ivc_connect: -ETIMEDOUT), > 0 waits at most that long
 *    (-ETIMEDOUT). A peer whose domain died is noticed within about 50 ms
 *    by calls that wait, and by calls with timeout 0 made at least that
 *    often.
 *  - End of stream: ivc_recv() returns -EPIPE, ivc_read() returns 0, once
 *    everything the peer sent before closing has been read. A peer that
 *    died: -ECONNRESET, after what it sent has been read.
 *
 * Thread safety
 *  - ivc_open/ivc_close: not concurrently with other calls on the context.
 *  - ivc_listen, ivc_accept, ivc_connect, ivc_chan_close: safe from
 *    several threads on one context (the context serialises XenStore).
 *  - A channel and a listener are used by one thread at a time. Different
 *    channels may be used from different threads concurrently.
 *  - ivc_chan_fd, ivc_peer_domid, ivc_chan_type, ivc_chan_dir, and the user
 *    pointer calls of channels and listeners, ivc_listener_fd: any thread,
 *    any time while the channel or listener is open.
 *  - ivc_wait, ivc_fd: any thread; several threads may block on channels
 *    of one context at once (one of them waits on the platform for all).
 *  - ivc_stats: from the thread using the channel, like the I/O calls.
 */
#ifndef IVC_H
#define IVC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IVC_VERSION_MAJOR 0
#define IVC_VERSION_MINOR 1

struct ivc_ctx;
struct ivc_listener;
struct ivc_chan;

/* Direction, from the point of view of the endpoint that declares it. */
enum ivc_dir {
	IVC_IN = 1,    /* this endpoint only receives */
	IVC_OUT = 2,   /* this endpoint only sends */
	IVC_INOUT = 3, /* both */
};

enum ivc_mode {
	IVC_MESSAGE = 0, /* whole messages, boundaries kept, zero length allowed */
	IVC_STREAM = 1,  /* a byte stream, partial reads and writes */
};

/* A channel type. Both ends must agree on name, version and mode. */
struct ivc_type {
	const char *name; /* [A-Za-z0-9._-], 1..64 chars, e.g. "org.example.echo" */
	uint32_t version;
	enum ivc_mode mode;
};

/* Options; a zeroed struct means the defaults. Sizes are in bytes, from
 * the listener's point of view, and decided by the listener (it grants the
 * memory); a client's options only bound what it accepts.
 * Room to grow: options to come take the reserved words, where zero keeps
 * today's behaviour. Zero the whole struct (= {0} or memset); a library
 * that does not know an option refuses a non-zero word with -EINVAL. */
struct ivc_opts {
	uint32_t tx_ring;     /* listener -> client ring: power of two, 4 KiB..16 MiB;
				 0: 64 KiB. Client: the least it accepts (0: any). */
	uint32_t rx_ring;     /* client -> listener ring, likewise */
	uint32_t max_msg;     /* message mode: largest message; 0: min(ring - 4, 64 KiB).
				 Client: the least it accepts (0: any). */
	uint32_t backlog;     /* listener, brokered mode: clients that may wait to be
				 accepted, 1..256 (more get -EBUSY); 0: 128. Client:
				 zero. Direct mode ignores it. */
	uint32_t reserved[4]; /* zero */
};

/* ---- context ---- */

/* Opens a context on `platform` ("xen", "sim") or, if NULL, on
 * $IVC_PLATFORM, else xen when /dev/xen/evtchn exists, else sim when a sim
 * host is reachable. The rendezvous mode is chosen here for the context's
 * life: brokered while the rendezvous daemon runs, else direct;
 * $IVC_RENDEZVOUS=direct or =brokered forces one. -ENODEV: no platform
 * available; -EHOSTDOWN: sim chosen but no host running; -EINVAL: unknown
 * platform name or IVC_RENDEZVOUS value; -ENOENT: brokered forced but no
 * daemon. */
int ivc_open(struct ivc_ctx **ctx, const char *platform);
/* Closes the context. Close its channels and listeners first. */
void ivc_close(struct ivc_ctx *ctx);
/* "xen" or "sim". */
const char *ivc_platform(const struct ivc_ctx *ctx);
/* This domain's id. */
uint32_t ivc_domid(const struct ivc_ctx *ctx);

/* ---- rendezvous ---- */

/* Publishes a service `name` of `type`: in this domain's XenStore area
 * (direct mode) or through the rendezvous daemon (brokered mode). dir is
 * the listener's direction. -EEXIST: already listening on `name`;
 * -EINVAL: bad name, type or options; brokered: -EACCES (the daemon's
 * policy), -ETIMEDOUT (no answer from the daemon). */
int ivc_listen(struct ivc_ctx *ctx, const char *name, const struct ivc_type *type, enum ivc_dir dir,
	       const struct ivc_opts *opts, struct ivc_listener **out);
/* Waits for the next client and returns its channel, once the client has
 * attached. Requests that do not match the service's type, mode or
 * direction are refused (the client gets -EPROTOTYPE) and not returned.
 * Brokered: -ECONNABORTED once the daemon has dropped the service. */
int ivc_accept(struct ivc_listener *l, int timeout_ms, struct ivc_chan **out);
/* Readable when a client may be waiting; then call ivc_accept(l, 0, ...). */
int ivc_listener_fd(const struct ivc_listener *l);
/* Stops listening and removes the service from XenStore. Channels already
 * accepted stay open. */
void ivc_listener_close(struct ivc_listener *l);

/* ivc_connect's server: whichever domain offers the name (brokered mode
 * only: the rendezvous daemon picks one; -EINVAL in direct mode). */
#define IVC_DOMID_ANY 0xffffffffu

/* Connects to service `name` of domain `server` (or IVC_DOMID_ANY). dir
 * is this client's direction: the complement of the listener's (IN with
 * OUT, INOUT with INOUT). -ETIMEDOUT: no answer in time (direct mode: also
 * no such service); -ENOENT: no such service (brokered, at once);
 * -EPROTOTYPE: type name, version, mode or direction do not match;
 * -EMSGSIZE: the listener's sizes are below what opts asks for;
 * -EACCES: denied by the daemon's policy; -EBUSY: the listener's backlog
 * is full; -ECONNREFUSED: the listener refused or went away. */
int ivc_connect(struct ivc_ctx *ctx, uint32_t server, const char *name, const struct ivc_type *type,
		enum ivc_dir dir, const struct ivc_opts *opts, int timeout_ms,
		struct ivc_chan **out);

/* ---- channel I/O ---- */

/* Message mode. send: 0, or -EAGAIN/-ETIMEDOUT (no room), -EMSGSIZE (over
 * the maximum), -EPIPE (peer closed), -ECONNRESET (peer died), -EPROTO
 * (peer broke the protocol), -EBADF (channel has no send direction),
 * -EINVAL (stream channel). */
int ivc_send(struct ivc_chan *c, const void *buf, size_t len, int timeout_ms);
/* sendv: at most IVC_IOV_MAX pieces (-EINVAL beyond). */
#define IVC_IOV_MAX 64
int ivc_sendv(struct ivc_chan *c, const struct iovec *iov, int iovcnt, int timeout_ms);
/* recv: the message's length (>= 0), or -EMSGSIZE (cap too small; the
 * message stays), -EPIPE (end of stream), -ECONNRESET, -EPROTO, -EAGAIN,
 * -ETIMEDOUT, -EBADF, -EINVAL. */
ssize_t ivc_recv(struct ivc_chan *c, void *buf, size_t cap, int timeout_ms);

/* Stream mode. write: bytes accepted (>= 1; fewer than len when the ring
 * fills), or an error as send; len 0 returns 0 at once. read: bytes read
 * (>= 1), 0 at end of stream, or an error as recv; cap 0 returns 0 at
 * once (check end of stream with cap >= 1). */
ssize_t ivc_write(struct ivc_chan *c, const void *buf, size_t len, int timeout_ms);
ssize_t ivc_read(struct ivc_chan *c, void *buf, size_t cap, int timeout_ms);

/* Zero copy, message mode. reserve: room for a message of len bytes as up
 * to two pieces of ring memory (iov[1].iov_len is 0 unless it wraps); fill
 * them, then commit to send. Errors as send. peek: the next message in
 * place, length returned; consume releases it. The peer can still write
 * ring memory: copy what you must trust before checking it. */
int ivc_reserve(struct ivc_chan *c, size_t len, struct iovec iov[2], int timeout_ms);
int ivc_commit(struct ivc_chan *c);
ssize_t ivc_peek(struct ivc_chan *c, struct iovec iov[2], int timeout_ms);
int ivc_consume(struct ivc_chan *c);

/* A file descriptor that polls readable when the channel may have become
 * readable or writable, or the peer closed or died; then retry with
 * timeout 0 until -EAGAIN. Made on first use (the context then runs a
 * thread that delivers its events); owned by the channel. -ENOSYS on a
 * platform without descriptors. */
int ivc_chan_fd(const struct ivc_chan *c);

/* Spin-then-block: a blocking call (timeout not 0) that finds nothing to
 * do polls the ring for up to spin_us microseconds, without asking the
 * peer for a wake-up, before it sleeps. A peer that answers within that
 * time costs no signal and no sleep, at the price of the CPU spent
 * spinning (counted in ivc_stats). 0 (the default): sleep at once.
 * -EINVAL: spin_us over IVC_SPIN_MAX_US. */
#define IVC_SPIN_MAX_US 10000u
int ivc_chan_set_spin(struct ivc_chan *c, unsigned spin_us);

/* Orderly close: the peer can still read everything sent, then sees end of
 * stream. Releases everything: grants, mappings, event channel, XenStore
 * keys. Returns 0, or the first error met while releasing (everything is
 * released or handed to the platform to release anyway). */
int ivc_chan_close(struct ivc_chan *c);

/* ---- waiting on many channels ---- */

/* What ivc_wait() reports: a channel or a listener (the other is NULL) and
 * the pointer set with ivc_chan_set_user/ivc_listener_set_user. */
struct ivc_ready {
	struct ivc_chan *chan;
	struct ivc_listener *listener;
	void *user;
};

/* Waits until channels or listeners of the context may be ready, and
 * reports up to max of them: how many (>= 1), or -EAGAIN (timeout 0),
 * -ETIMEDOUT, -EINVAL. Each is reported once per burst of events: call
 * its I/O (or ivc_accept) with timeout 0 until -EAGAIN before waiting
 * again. A channel whose peer's domain died is reported within about
 * 50 ms. Works on every platform, without descriptors or threads. */
int ivc_wait(struct ivc_ctx *ctx, struct ivc_ready *out, int max, int timeout_ms);
/* One descriptor for the whole context, for event loops: polls readable
 * when ivc_wait(ctx, ..., 0) may report something. Owned by the context.
 * -ENOSYS on a platform without descriptors. */
int ivc_fd(struct ivc_ctx *ctx);
void ivc_chan_set_user(struct ivc_chan *c, void *user);
void *ivc_chan_user(const struct ivc_chan *c);
void ivc_listener_set_user(struct ivc_listener *l, void *user);
void *ivc_listener_user(const struct ivc_listener *l);

/* ---- information ---- */

/* Room to grow: counters to come take reserved words, which read zero
 * until then; the struct's size and the offsets below never change. */
struct ivc_stats {
	uint64_t tx_msgs, tx_bytes; /* sent: messages (stream: writes, per 64 KiB), payload bytes */
	uint64_t rx_msgs, rx_bytes; /* received (stream: reads, per 64 KiB) */
	uint64_t notify_tx;         /* event-channel signals sent */
	uint64_t notify_rx;         /* wake-ups received */
	uint64_t waits;             /* times a call slept */
	uint32_t tx_ring, rx_ring;  /* ring sizes (0: direction absent) */
	uint32_t tx_used, rx_used;  /* bytes queued now */
	uint32_t max_msg_tx, max_msg_rx;
	uint64_t spin_won;     /* spins after which the call went on (ivc_chan_set_spin) */
	uint64_t spin_lost;    /* spins that ran out, then asked for a wake-up */
	uint64_t lingers;      /* naps of a stream reader before it asked (ivc_stats(3)) */
	uint64_t linger_spins; /* its spins first, after a large piece (ivc_stats(3)) */
	uint64_t nap_ns;       /* how long its naps take, on average (0: none timed) */
	uint64_t reserved[3];  /* zero */
};

int ivc_stats(const struct ivc_chan *c, struct ivc_stats *st);
uint32_t ivc_peer_domid(const struct ivc_chan *c);
/* The channel's type, direction (this end) and mode as negotiated. */
const struct ivc_type *ivc_chan_type(const struct ivc_chan *c);
enum ivc_dir ivc_chan_dir(const struct ivc_chan *c);

/* ---- monitoring (dom0) ---- */

/* Every channel and service on the host, as a privileged domain sees it
 * (spec section 11): from XenStore in both rendezvous modes, with each
 * channel's figures read from its control page, which dom0 maps read-only
 * without the peers' help. For ivc-top(1) and ivc(1); any dom0 program may
 * use it. A snapshot holds what one scan found; it stays valid until the
 * next scan or ivc_mon_close. Everything in it comes from domains that
 * may lie: names and figures are checked for form, not for truth. */
struct ivc_mon;

enum ivc_mon_state {
	IVC_MON_CONNECTING = 0, /* offered; the client has not attached yet */
	IVC_MON_OPEN = 1,
	IVC_MON_DRAINING = 2,  /* a side closed; data is still queued */
	IVC_MON_CLOSED = 3,    /* a side closed; nothing queued */
	IVC_MON_PEER_DEAD = 4, /* a side's process or domain died */
};

/* ivc_mon_chan.flags and ivc_mon_service.flags */
#define IVC_MON_BROKERED 1u /* set up through ivc-rendezvousd; else direct */
#define IVC_MON_COUNTERS 2u /* ring, used, msgs, bytes, notifies, created read */
#define IVC_MON_TYPED 4u    /* type, version, mode and dir are known */

#define IVC_MON_NAME_MAX 64

struct ivc_mon_domain {
	uint32_t domid;
	char name[IVC_MON_NAME_MAX + 1]; /* the toolstack's name; "" if none */
};

struct ivc_mon_service {
	uint32_t domid; /* the listener's */
	uint32_t flags;
	char name[IVC_MON_NAME_MAX + 1];
	char type[IVC_MON_NAME_MAX + 1];
	uint32_t version;
	enum ivc_mode mode;
	enum ivc_dir dir; /* the listener's */
	uint32_t ring[2]; /* bytes; ring 0: listener -> client; 0: absent */
	uint32_t max_msg[2];
	uint32_t channels; /* of this snapshot's channels, those of this service */
};

struct ivc_mon_chan {
	char id[48]; /* the same for the channel's life, unique on the host */
	uint32_t flags;
	uint32_t listener, client; /* domain ids */
	char service[IVC_MON_NAME_MAX + 1];
	char type[IVC_MON_NAME_MAX + 1]; /* IVC_MON_TYPED */
	uint32_t version;
	enum ivc_mode mode;
	enum ivc_dir dir; /* the listener's */
	enum ivc_mon_state state;
	/* IVC_MON_COUNTERS; index 0 is ring 0 (listener -> client). */
	uint32_t ring[2];           /* bytes; 0: direction absent */
	uint32_t used[2];           /* bytes queued */
	uint64_t msgs[2], bytes[2]; /* sent into the ring since it was made */
	uint64_t notifies[2];       /* signals sent by the listener, by the client */
	int64_t created;            /* Unix time in ms; 0: unknown */
	uint64_t reserved[4];       /* zero */
};

struct ivc_mon_snap {
	const struct ivc_mon_domain *domains;
	size_t ndomains;
	const struct ivc_mon_service *services;
	size_t nservices;
	const struct ivc_mon_chan *chans;
	size_t nchans;
	int64_t time_ms; /* when the scan ended: a monotonic clock, for rates */
	int64_t wall_ms; /* the same instant as Unix time, for ages */
};

/* -EACCES unless the context's domain may list every domain's XenStore
 * area (dom0). */
int ivc_mon_open(struct ivc_ctx *ctx, struct ivc_mon **out);
/* Scans the host. A channel whose figures cannot be read is still listed,
 * without IVC_MON_COUNTERS. Errors: XenStore's own (-EIO, -ENOMEM). */
int ivc_mon_scan(struct ivc_mon *m, struct ivc_mon_snap *snap);
void ivc_mon_close(struct ivc_mon *m);
/* "connecting", "open", "draining", "closed", "peer-dead" */
const char *ivc_mon_state_name(enum ivc_mon_state s);

#ifdef __cplusplus
}
#endif

#endif /* IVC_H */
