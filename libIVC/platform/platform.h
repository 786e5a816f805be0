/* SPDX-License-Identifier: MIT */
/*
 * platform.h - the one small internal interface between libIVC and a
 * platform (sim, xen, and the guest to come). Grants and event channels
 * are modelled on Linux's gntalloc/gntdev/evtchn devices, which is what the
 * xen platform drives: the sim platform must be indistinguishable through
 * them. The platform also supplies XenStore, waiting, the clock and a lock,
 * so that libIVC/src needs nothing but the C library's basics.
 *
 * Every function returns 0 or a negative errno unless it says otherwise.
 * A context opens one handle and one store, however many channels it
 * has, and its threads use them at once: grants, event channels and the
 * store must be safe to call from several threads (the platform locks
 * what it shares inside). evtchn_pending/unmask and store_event are only
 * called under lock() (the library's pump), so they need no lock of
 * their own.
 */
#ifndef IVC_PLATFORM_H
#define IVC_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ivc_plat;
struct ivc_plat_share;   /* pages this domain grants (gntalloc) */
struct ivc_plat_map;     /* pages of another domain mapped here (gntdev) */
struct ivc_plat_store;   /* a XenStore connection */
struct ivc_plat_waitset; /* sources to wait on together, as one descriptor */
struct ivc_plat_note;    /* a flag with a descriptor */
struct ivc_plat_peek;    /* a page of another domain seen by dom0 (monitoring) */

/* XenStore permissions, as on the wire. */
#define IVC_PLAT_PERM_NONE 0u
#define IVC_PLAT_PERM_READ 1u
#define IVC_PLAT_PERM_WRITE 2u
struct ivc_plat_perm {
	uint32_t domid;
	uint32_t perm;
};
#define IVC_PLAT_TXN_NONE 0u

/* What unmap-notify does when the mapping or share goes away, including
 * when the process dies (Linux UNMAP_NOTIFY_CLEAR_BYTE / _SEND_EVENT). */
#define IVC_PLAT_NOTIFY_CLEAR_BYTE 1u
#define IVC_PLAT_NOTIFY_SEND_EVENT 2u

enum ivc_plat_evtchn_state {
	IVC_PLAT_EVTCHN_CLOSED = 0,
	IVC_PLAT_EVTCHN_UNBOUND = 1,
	IVC_PLAT_EVTCHN_INTERDOMAIN = 2,
};

struct ivc_plat_ops {
	const char *name;
	int (*open)(struct ivc_plat **out);
	void (*close)(struct ivc_plat *p);
	uint32_t (*domid)(struct ivc_plat *p);

	/* Grant npages fresh zeroed pages to `remote`; *addr is their
	 * contiguous mapping here, grefs[npages] their references. */
	int (*share)(struct ivc_plat *p, uint32_t remote, uint32_t npages, bool readonly,
		     void **addr, uint32_t *grefs, struct ivc_plat_share **out);
	int (*share_notify)(struct ivc_plat *p, struct ivc_plat_share *s, uint32_t offset,
			    unsigned flags, uint32_t port);
	/* Ends access. -EBUSY while the peer still maps a page: the share
	 * then stays valid (retry later, or unshare_defer). */
	int (*unshare)(struct ivc_plat *p, struct ivc_plat_share *s);
	/* Ends access as soon as the peer unmaps (gntalloc's behaviour);
	 * always succeeds and frees the handle. */
	void (*unshare_defer)(struct ivc_plat *p, struct ivc_plat_share *s);
	/* True where ending access to a page the peer still maps leaves it to
	 * a slow path (Linux frees such grants ten a second): the library
	 * then holds the share until the peer has unmapped (chan.c). The sim
	 * host ends such a grant the moment the peer unmaps: false there. */
	bool hold_mapped;

	/* Map npages granted by `domid` contiguously. -EPERM: granted to
	 * someone else or read-only asked writable; -EINVAL: unknown ref. */
	int (*map)(struct ivc_plat *p, uint32_t domid, const uint32_t *grefs, uint32_t npages,
		   bool readonly, void **addr, struct ivc_plat_map **out);
	int (*map_notify)(struct ivc_plat *p, struct ivc_plat_map *m, uint32_t offset,
			  unsigned flags, uint32_t port);
	int (*unmap)(struct ivc_plat *p, struct ivc_plat_map *m);

	/* Monitoring (spec 11), privileged: maps read-only the page that
	 * `domid` granted as `gref`, whoever it was granted to, through
	 * dom0's own rights and not a grant mapping (the granting side sees
	 * no mapping: its unshare never waits for us). The page may change
	 * meaning once the grant ends. -EPERM: not privileged; -EINVAL: no
	 * such live grant; -ENOSYS: the platform cannot. */
	int (*peek)(struct ivc_plat *p, uint32_t domid, uint32_t gref, const void **addr,
		    struct ivc_plat_peek **out);
	void (*unpeek)(struct ivc_plat *p, struct ivc_plat_peek *pk);

	/* Event channels. The fd polls readable when a port is pending;
	 * pending() returns one (-EAGAIN if none), which stays masked until
	 * unmask(). -EAGAIN may also end a batch while ports are still
	 * pending (xen: after a short read of the device, or the ports a
	 * sleep read): callers poll the fd again, or wait(), before they
	 * sleep, and the fd still polls readable. */
	int (*evtchn_fd)(struct ivc_plat *p);
	int (*evtchn_alloc_unbound)(struct ivc_plat *p, uint32_t remote, uint32_t *port);
	int (*evtchn_bind)(struct ivc_plat *p, uint32_t remote, uint32_t remote_port,
			   uint32_t *port);
	int (*evtchn_notify)(struct ivc_plat *p, uint32_t port);
	/* Never under lock(): it may take it (xen: its replay queue). */
	int (*evtchn_unbind)(struct ivc_plat *p, uint32_t port);
	int (*evtchn_pending)(struct ivc_plat *p, uint32_t *port);
	int (*evtchn_unmask)(struct ivc_plat *p, uint32_t port);
	/* -ENOSYS where the domain may not ask (a Linux domU's privcmd). */
	int (*evtchn_status)(struct ivc_plat *p, uint32_t port, uint32_t *state, uint32_t *remote,
			     uint32_t *remote_port);

	/* 1 if the domain exists, 0 if not, -ENOSYS if this domain may not
	 * ask (an unprivileged domU, on Xen and in sim alike). */
	int (*domain_alive)(struct ivc_plat *p, uint32_t domid);

	/* XenStore. txn IVC_PLAT_TXN_NONE is no transaction. Strings and
	 * arrays handed out are the caller's to free(); a directory's
	 * entries are one allocation (free the array only). -ENOENT,
	 * -EACCES, -EEXIST, -EAGAIN (transaction conflict) as XenStore says. */
	int (*store_open)(struct ivc_plat *p, struct ivc_plat_store **out);
	void (*store_close)(struct ivc_plat_store *s);
	int (*store_read)(struct ivc_plat_store *s, uint32_t txn, const char *path, char **val);
	int (*store_write)(struct ivc_plat_store *s, uint32_t txn, const char *path,
			   const char *val);
	int (*store_mkdir)(struct ivc_plat_store *s, uint32_t txn, const char *path);
	int (*store_rm)(struct ivc_plat_store *s, uint32_t txn, const char *path);
	int (*store_dir)(struct ivc_plat_store *s, uint32_t txn, const char *path, char ***ents,
			 unsigned *n);
	int (*store_get_perms)(struct ivc_plat_store *s, uint32_t txn, const char *path,
			       struct ivc_plat_perm **perms, unsigned *n);
	int (*store_set_perms)(struct ivc_plat_store *s, uint32_t txn, const char *path,
			       const struct ivc_plat_perm *perms, unsigned n);
	int (*store_txn_start)(struct ivc_plat_store *s, uint32_t *txn);
	int (*store_txn_end)(struct ivc_plat_store *s, uint32_t txn, bool abort);
	/* Watches: XenStore fires each once when set, then on every change
	 * at or below the path. */
	int (*store_watch)(struct ivc_plat_store *s, const char *path, const char *token);
	int (*store_unwatch)(struct ivc_plat_store *s, const char *path, const char *token);
	/* Pops one watch event that has arrived: 1 with its token in
	 * token[tsize] and the path that changed in path[psize] (each cut to
	 * fit), 0 if none, or an error. It may say 0 for an event that a
	 * wait will end for (xen: one its helper has not seen yet). */
	int (*store_event)(struct ivc_plat_store *s, char *token, size_t tsize, char *path,
			   size_t psize);

	/* Waiting. One thread at a time waits (the library elects it): 1
	 * when a port of p is pending, a watch event of s has arrived or
	 * wake() was called; 0 when ms pass (-1: no limit); or an error.
	 * It may also end sooner (xen: a sleep of 50 ms or more ends at its
	 * helper's next tick; sim: at its timer's, while the timer runs),
	 * never later: callers look, then wait again.
	 * wake() may be called from any thread. */
	int (*wait)(struct ivc_plat *p, struct ivc_plat_store *s, int ms);
	void (*wake)(struct ivc_plat *p);
	/* The others sleep on a condition of p's lock (held): 0 when woken
	 * by cond_broadcast or after ms. A platform without threads never
	 * has another thread to wait for (the guest: never called). */
	int (*cond_wait)(struct ivc_plat *p, int ms);
	void (*cond_broadcast)(struct ivc_plat *p);
	/* Sleeps about us microseconds, waiting for nothing (a stream
	 * reader letting data gather: io.c); NULL where the platform cannot
	 * (the guest). */
	void (*nap)(unsigned us);

	/* Descriptors for event loops; -ENOSYS where the platform has none
	 * (the guest). A note is a flag with a descriptor that polls
	 * readable while it is set (an eventfd); a wait set's descriptor
	 * polls readable when wait() would return 1 or its note is set. */
	int (*note_new)(struct ivc_plat *p, struct ivc_plat_note **out);
	void (*note_free)(struct ivc_plat_note *n);
	int (*note_fd)(const struct ivc_plat_note *n);
	void (*note_set)(struct ivc_plat_note *n);
	void (*note_clear)(struct ivc_plat_note *n);
	int (*waitset_new)(struct ivc_plat *p, struct ivc_plat_store *s, struct ivc_plat_note *n,
			   struct ivc_plat_waitset **out);
	void (*waitset_free)(struct ivc_plat_waitset *ws);
	int (*waitset_fd)(const struct ivc_plat_waitset *ws);
	/* One background thread per handle, running fn(arg) until it
	 * returns; join waits for that. -ENOSYS without threads. */
	int (*thread_start)(struct ivc_plat *p, void (*fn)(void *), void *arg);
	void (*thread_join)(struct ivc_plat *p);

	/* A monotonic clock in nanoseconds (bounded spinning needs better
	 * than milliseconds); a seed that differs between processes
	 * (request nonces); a mutex per handle. */
	int64_t (*now_ns)(void);
	/* Unix time in ms, 0 where the platform has no wall clock. */
	int64_t (*wall_ms)(void);
	uint64_t (*seed)(void);
	void (*lock)(struct ivc_plat *p);
	void (*unlock)(struct ivc_plat *p);
};

extern const struct ivc_plat_ops ivc_plat_sim;

/* The platform called `name` if built in, else NULL; the one to use when
 * none is named (Linux: xen where /dev/xen/evtchn exists, else sim; a
 * guest: guest). */
const struct ivc_plat_ops *ivc_plat_named(const char *name);
const struct ivc_plat_ops *ivc_plat_default(void);

/* What ivc_open does with them. find: -EINVAL if no platform anywhere
 * has that name ("xen", "sim", "guest"), -ENODEV if this build lacks
 * it. open_default: opens the default platform's handle; -ENODEV where
 * there is none at all (Linux: no Xen device and no sim host). */
int ivc_plat_find(const char *name, const struct ivc_plat_ops **out);
int ivc_plat_open_default(const struct ivc_plat_ops **ops, struct ivc_plat **p);

#endif
