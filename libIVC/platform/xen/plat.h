/* SPDX-License-Identifier: MIT */
/*
 * plat.h - the xen platform's handle, shared by its files: xen.c (grants,
 * event channels, domains, monitoring) and sleep.c (how a sleep blocks
 * and what ends it). Private to platform/xen.
 */
#ifndef IVC_PLATFORM_XEN_PLAT_H
#define IVC_PLATFORM_XEN_PLAT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* Xen's public headers under xenctrl.h need GNU C (see xen.c); the
 * includer has its libc headers in already. */
#undef __STRICT_ANSI__
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>

#include "../linux/linux.h"

struct ivc_plat_share {
	uint64_t index; /* offset in the gntalloc file */
	uint32_t npages;
	uint32_t notify_page; /* page holding the notify, or NO_PAGE */
	void *addr;
	struct ivc_plat_share *next;
};

struct ivc_plat_map {
	uint64_t index; /* offset in the gntdev file */
	uint32_t npages;
	void *addr;
	struct ivc_plat_map *next;
};

struct ivc_plat {
	struct ivc_linux_base b; /* first: the shared Linux code's view */
	/* The lists below and xch, for the context's many threads; the
	 * replay queue is only touched under b.lock (the library's pump,
	 * unbind). */
	pthread_mutex_t mu;
	uint32_t domid;
	int gntalloc, gntdev;
	xenevtchn_handle *xce;
	struct xs_handle *xs;
	xc_interface *xch;             /* opened on first use; NULL if unavailable */
	xenforeignmemory_handle *fmem; /* monitoring: likewise */
	bool fmem_tried;
	bool xch_tried, no_getinfo, no_introduced;
	struct ivc_plat_share *shares; /* still granted: undone by close() */
	struct ivc_plat_map *maps;
	uint32_t *ports; /* bound through this handle */
	size_t nports, cap;
	uint32_t *replay; /* reported pending after a queue overflow */
	size_t nreplay;
	/* Ports read from the device but not handed out yet (under b.lock,
	 * like replay). One read takes all that are pending, and one that
	 * came back short says the queue was empty: the pump's last look
	 * costs no system call (a 20-40 us one in a PV domain). */
	uint32_t ahead[32];
	size_t nahead;
	bool drained;
	/* A sleep without a deadline is one blocking read (sleep.c):
	 * who reads the device is decided under rd. */
	pthread_mutex_t rd;
	atomic_bool asleep;   /* written under rd: a thread is in the read */
	atomic_int asleep_ms; /* its sleep's length (-1: no end) */
	atomic_uint sleep_no; /* counts the sleeps: the helper tells them apart */
	uint32_t got[32];     /* under rd: what the sleeper read */
	size_t ngot;
	bool overflow;             /* under rd: the sleeper's read said EFBIG */
	bool loop_ok;              /* loopback bound: sleeps may block */
	uint32_t loop_tx, loop_rx; /* notified to end a sleep; its other end */
	struct ivc_plat_note *ctl; /* wakes the helper */
	atomic_bool helper_on;     /* read by the pump of any thread */
	bool helper_failed;
	pthread_t helper;
	atomic_bool woken, xs_rung, stop, parked;
	atomic_bool xs_due; /* a wait took xs_rung, or polled the store itself */
	atomic_int xsfd;    /* the store's descriptor, for the helper */
};

/* The event device's read and unmask (a write of the port) as bare
 * system calls. read() and write() are cancellation points: in a process
 * with threads (the helper's) each wraps the call in two atomic updates
 * of the thread's state, about 1% of a dom0 server's time in a lab round
 * trip; and a thread cancelled inside would keep the poller's role. */
static inline ssize_t ivc_xen_dev_read(const struct ivc_plat *p, uint32_t *ports, size_t n)
{
	return syscall(SYS_read, p->b.evfd, ports, n * sizeof *ports);
}

static inline int ivc_xen_dev_unmask(const struct ivc_plat *p, uint32_t port)
{
	return syscall(SYS_write, p->b.evfd, &port, sizeof port) == sizeof port ? 0 : -1;
}

/* sleep.c */
void ivc_xen_loop_setup(struct ivc_plat *p);
void ivc_xen_helper_stop(struct ivc_plat *p);
int ivc_xen_wait(struct ivc_plat *p, struct ivc_plat_store *s, int ms);
void ivc_xen_wake(struct ivc_plat *p);
int ivc_xen_store_event(struct ivc_plat_store *s, char *token, size_t tsize, char *path,
			size_t psize);

#endif
