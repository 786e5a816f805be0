/* SPDX-License-Identifier: MIT */
/*
 * platform.h - the one small internal interface between libIVC and a
 * platform (sim, xen). Modelled on Linux's gntalloc/gntdev/evtchn devices,
 * which is what the xen platform drives: the sim platform must be
 * indistinguishable through it.
 *
 * Every function returns 0 or a negative errno. Not thread-safe: the
 * library serialises calls on one struct ivc_plat.
 */
#ifndef IVC_PLATFORM_H
#define IVC_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ivc_plat;
struct ivc_plat_share; /* pages this domain grants (gntalloc) */
struct ivc_plat_map;   /* pages of another domain mapped here (gntdev) */

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

	/* Map npages granted by `domid` contiguously. -EPERM: granted to
	 * someone else or read-only asked writable; -EINVAL: unknown ref. */
	int (*map)(struct ivc_plat *p, uint32_t domid, const uint32_t *grefs, uint32_t npages,
		   bool readonly, void **addr, struct ivc_plat_map **out);
	int (*map_notify)(struct ivc_plat *p, struct ivc_plat_map *m, uint32_t offset,
			  unsigned flags, uint32_t port);
	int (*unmap)(struct ivc_plat *p, struct ivc_plat_map *m);

	/* Event channels. The fd polls readable when a port is pending;
	 * pending() returns one (-EAGAIN if none), which stays masked until
	 * unmask(). */
	int (*evtchn_fd)(struct ivc_plat *p);
	int (*evtchn_alloc_unbound)(struct ivc_plat *p, uint32_t remote, uint32_t *port);
	int (*evtchn_bind)(struct ivc_plat *p, uint32_t remote, uint32_t remote_port,
			   uint32_t *port);
	int (*evtchn_notify)(struct ivc_plat *p, uint32_t port);
	int (*evtchn_unbind)(struct ivc_plat *p, uint32_t port);
	int (*evtchn_pending)(struct ivc_plat *p, uint32_t *port);
	int (*evtchn_unmask)(struct ivc_plat *p, uint32_t port);
	/* -ENOSYS where the domain may not ask (a Linux domU's privcmd). */
	int (*evtchn_status)(struct ivc_plat *p, uint32_t port, uint32_t *state, uint32_t *remote,
			     uint32_t *remote_port);

	/* 1 if the domain exists, 0 if not, -ENOSYS if this domain may not
	 * ask (an unprivileged domU, on Xen and in sim alike). */
	int (*domain_alive)(struct ivc_plat *p, uint32_t domid);
};

extern const struct ivc_plat_ops ivc_plat_sim;

#endif
