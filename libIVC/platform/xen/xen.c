/* SPDX-License-Identifier: MIT */
/*
 * xen.c - the xen platform (see xen.h for what differs from sim).
 *
 * Why the Linux devices and not libxengnttab: libIVC sets unmap-notify
 * after the pages exist (once the connection is up), at any byte of a
 * region of many pages. libxengnttab can only ask for it when it creates
 * a one-page share or mapping (xengntshr_share_page_notify,
 * xengnttab_map_grant_ref_notify). The ioctls underneath can do more: both
 * IOCTL_GNTALLOC_SET_UNMAP_NOTIFY and IOCTL_GNTDEV_SET_UNMAP_NOTIFY take,
 * at any time, the device file offset of any byte of the pages. So this
 * file speaks the Linux UAPI (<xen/gntalloc.h>, <xen/gntdev.h>) itself.
 * Event channels go through libxenevtchn, which is a thin wrapper over
 * /dev/xen/evtchn anyway.
 *
 * What it relies on, read in Linux's drivers/xen/{gntalloc,gntdev,evtchn}.c
 * (mainline; what is used here holds since 5.17, which moved deferred
 * grant release into the grant-table core, so for Debian 12's 6.1), Xen's
 * xen/common/{grant_table,event_channel}.c, tools/libs/{evtchn,store} and
 * tools/helpers/xen-init-dom0.c:
 *
 * gntalloc: ALLOC_GREF allocates zeroed pages, grants them to one domain
 *   (read-only unless GNTALLOC_FLAG_WRITABLE) and returns their file
 *   offset ("index"); -ENOSPC past the module's `limit` (1024 pages for
 *   the whole domain by default) or when the grant table cannot grow.
 *   mmap() at the index must be MAP_SHARED and is always writable here.
 *   A page is released when both its mapping and its file entry
 *   (DEALLOC_GREF, or close) are gone; only then does its unmap-notify
 *   fire. Ending foreign access never fails: if the peer still maps the
 *   page, gnttab_end_foreign_access() queues it and a kernel timer retries
 *   until the peer unmaps. No interface reports that state to user space.
 *   One notify per page; SET_UNMAP_NOTIFY on another page adds a second.
 *   The notify offset keeps 12 bits, so pages must be 4 KiB.
 * gntdev: MAP_GRANT_REF only records the references (-EINVAL for count 0
 *   or above the module's per-request `limit`, since 5.5; before, a global
 *   limit gave -ENOMEM); the hypercall happens at
 *   mmap(), which must cover exactly that count. Without PROT_WRITE the
 *   grants are mapped GNTMAP_readonly. Any GNTST_* failure of any page
 *   comes back from mmap() as EINVAL, so the cause is asked of Xen again
 *   with a one-byte GNTTABOP_copy per reference (IOCTL_GNTDEV_GRANT_COPY),
 *   which runs the same checks and reports the GNTST_ status. One notify
 *   per mapping: CLEAR_BYTE when the page is unmapped (-EINVAL on a
 *   read-only mapping), SEND_EVENT when the mapping is freed (munmap and
 *   UNMAP_GRANT_REF, or close). In PV domains the mapping is VM_DONTCOPY:
 *   a child after fork() does not have it.
 * Xen map/copy statuses: GNTST_bad_domain (no such domain), _bad_gntref
 *   (reference beyond the granter's table), _general_error (entry not
 *   granted to us, never granted, or read-only asked writable),
 *   _no_device_space (our maptrack table is full).
 * evtchn: a delivered port is queued once and stays masked until its
 *   number is written back (xenevtchn_unmask); read() blocks unless the fd
 *   is O_NONBLOCK; a full queue makes read() fail EFBIG and poll() report
 *   POLLERR until IOCTL_EVTCHN_RESET. Ports not bound through this fd give
 *   ENOTCONN. Notifying a port still unbound is dropped by Xen. Ports named
 *   in an unmap-notify are reference-counted by the kernel, so the event
 *   still goes out after the process is gone. A port bound to another of
 *   our own (unbound for our domid, then bound to it) is a loopback; Xen
 *   makes a port pending as it binds it.
 * XenStore: "domid" under the domain's home path is written by libxl for
 *   guests (libxl__build_post) and by xen-init-dom0 for dom0; a relative
 *   path is resolved under that home. Current xenstored and oxenstored
 *   refuse XS_IS_DOMAIN_INTRODUCED to unprivileged domains (EACCES); it is
 *   used where allowed. XEN_SYSCTL_getdomaininfolist is privileged;
 *   EVTCHNOP_status on one's own ports (DOMID_SELF, XSM_TARGET) is allowed
 *   to any domain, but libxenctrl needs the privcmd device.
 * Monitoring (peek, spec 11.3): dom0 maps the frame of the listener's
 *   shared grant table that holds the reference (XENMEM_acquire_resource,
 *   Linux 4.18+ privcmd), reads the version 1 entry once, and maps its
 *   frame read-only through privcmd: no grant mapping, so the listener's
 *   gntalloc release never waits for a monitor. A domain using grant
 *   table version 2 is not read (its entries have another layout).
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64 /* gntalloc's offsets only ever grow */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Xen's public headers under xenctrl.h need GNU C (anonymous unions,
 * aligned attributes) and refuse strict ISO mode; nothing else in this file
 * depends on __STRICT_ANSI__, and glibc's headers are already in. */
#undef __STRICT_ANSI__
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xentoollog.h>

#include <xen/grant_table.h> /* Xen's: grant_ref_t, GNTCOPY_*, GNTST_*, grant_entry_v1 */
#include <xen/memory.h>      /* XENMEM_resource_grant_table */

#include <xen/evtchn.h> /* Linux UAPI from here on */
#include <xen/gntalloc.h>
#include <xen/gntdev.h>

#include "../linux/linux.h"
#include "plat.h"
#include "xen.h"

#define PAGE 4096u
/* The largest region libIVC shares at once: two 16 MiB rings and their
 * control area (IVC_WIRE_MAX_DATA_PAGES + IVC_WIRE_MAX_CTRL_PAGES), as sim. */
#define MAX_PAGES 16384u
#define NO_PAGE UINT32_MAX

_Static_assert(IVC_PLAT_NOTIFY_CLEAR_BYTE == UNMAP_NOTIFY_CLEAR_BYTE, "notify flags");
_Static_assert(IVC_PLAT_NOTIFY_SEND_EVENT == UNMAP_NOTIFY_SEND_EVENT, "notify flags");
_Static_assert(IVC_PLAT_EVTCHN_UNBOUND == EVTCHNSTAT_unbound, "evtchn states");
_Static_assert(IVC_PLAT_EVTCHN_INTERDOMAIN == EVTCHNSTAT_interdomain, "evtchn states");

/* libxenctrl logs failures to stderr unless given a logger. */
static void quiet_vmessage(struct xentoollog_logger *logger, xentoollog_level level, int errnoval,
			   const char *context, const char *format, va_list al)
{
	(void)logger;
	(void)level;
	(void)errnoval;
	(void)context;
	(void)format;
	(void)al;
}

static void quiet_destroy(struct xentoollog_logger *logger)
{
	(void)logger;
}

static struct xentoollog_logger quiet_logger = {
	.vmessage = quiet_vmessage,
	.destroy = quiet_destroy,
};

static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* A missing device node, or a node without its driver, means no Xen here
 * (or the module is not loaded). */
static int dev_errno(void)
{
	if (errno == ENOENT || errno == ENXIO || errno == ENODEV || errno == ENOTDIR)
		return -ENODEV;
	return neg_errno();
}

static int open_dev(const char *path, int *fd)
{
	*fd = open(path, O_RDWR | O_CLOEXEC);
	return *fd < 0 ? dev_errno() : 0;
}

static xc_interface *xch_get(struct ivc_plat *p)
{
	pthread_mutex_lock(&p->mu);
	if (!p->xch_tried) {
		p->xch_tried = true;
		p->xch = xc_interface_open(&quiet_logger, &quiet_logger, 0);
	}
	pthread_mutex_unlock(&p->mu);
	return p->xch;
}

/* /proc/xen/capabilities says "control_d" in dom0 (when xenfs is mounted). */
static bool is_control_domain(void)
{
	char buf[64] = "";
	FILE *f = fopen("/proc/xen/capabilities", "re");

	if (!f)
		return false;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, "control_d") != NULL;
}

static int read_domid(struct ivc_plat *p)
{
	unsigned int len = 0;
	char *s = xs_read(p->xs, XBT_NULL, "domid", &len), *end;
	unsigned long v;
	bool bad;

	if (!s) {
		int err = neg_errno();
		/* dom0 before xen-init-dom0 has run */
		if (is_control_domain()) {
			p->domid = 0;
			return 0;
		}
		return err;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	bad = end == s || *end || errno || v >= DOMID_FIRST_RESERVED;
	free(s);
	if (bad)
		return -EPROTO;
	p->domid = (uint32_t)v;
	return 0;
}

static void xen_close(struct ivc_plat *p)
{
	if (!p)
		return;
	ivc_xen_helper_stop(p);
	/* Unmapping first lets closing the devices free everything: the
	 * kernel then ends the grants (deferred while the peer maps them),
	 * unmaps foreign pages and fires the unmap-notifies, as at exit. */
	while (p->shares) {
		struct ivc_plat_share *s = p->shares;
		p->shares = s->next;
		munmap(s->addr, (size_t)s->npages * PAGE);
		free(s);
	}
	while (p->maps) {
		struct ivc_plat_map *m = p->maps;
		p->maps = m->next;
		munmap(m->addr, (size_t)m->npages * PAGE);
		free(m);
	}
	if (p->gntdev >= 0)
		close(p->gntdev);
	if (p->gntalloc >= 0)
		close(p->gntalloc);
	if (p->xce)
		xenevtchn_close(p->xce);
	if (p->xs)
		xs_close(p->xs);
	if (p->xch)
		xc_interface_close(p->xch);
	if (p->fmem)
		xenforeignmemory_close(p->fmem);
	free(p->ports);
	free(p->replay);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->rd);
	ivc_linux_base_destroy(&p->b);
	free(p);
}

static int xen_open(struct ivc_plat **out)
{
	struct ivc_plat *p;
	int err, fl;

	/* Checked before any library is asked: no Xen, no noise. */
	if (access("/dev/xen/evtchn", F_OK) != 0)
		return dev_errno();
	if (sysconf(_SC_PAGESIZE) != PAGE)
		return -EOPNOTSUPP; /* gntalloc's notify offset assumes 4 KiB */
	p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->gntalloc = p->gntdev = -1;
	atomic_init(&p->xsfd, -1);
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->rd, NULL);
	err = ivc_linux_base_init(&p->b);
	if (err) {
		pthread_mutex_destroy(&p->mu);
		pthread_mutex_destroy(&p->rd);
		free(p);
		return err;
	}

	p->xce = xenevtchn_open(&quiet_logger, 0);
	if (!p->xce) {
		err = dev_errno();
		goto fail;
	}
	/* libxenevtchn leaves the fd blocking: pending() must not wait. */
	p->b.evfd = xenevtchn_fd(p->xce);
	fl = fcntl(p->b.evfd, F_GETFL);
	if (fl < 0 || fcntl(p->b.evfd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = neg_errno();
		goto fail;
	}
	err = open_dev("/dev/xen/gntalloc", &p->gntalloc);
	if (!err)
		err = open_dev("/dev/xen/gntdev", &p->gntdev);
	if (err)
		goto fail;
	p->xs = xs_open(0);
	if (!p->xs) {
		/* xenstored not running (dom0) or no xenbus device */
		err = errno == ENOENT || errno == ECONNREFUSED ? -EHOSTDOWN : neg_errno();
		goto fail;
	}
	err = read_domid(p);
	if (err)
		goto fail;
	ivc_xen_loop_setup(p);
	*out = p;
	return 0;
fail:
	xen_close(p);
	return err;
}

static uint32_t xen_domid(struct ivc_plat *p)
{
	return p->domid;
}

/* ---- grants: gntalloc ------------------------------------------------ */

static int gntalloc_dealloc(struct ivc_plat *p, uint64_t index, uint32_t npages)
{
	struct ioctl_gntalloc_dealloc_gref op = { .index = index, .count = npages };

	return ioctl(p->gntalloc, IOCTL_GNTALLOC_DEALLOC_GREF, &op) < 0 ? neg_errno() : 0;
}

static int xen_share(struct ivc_plat *p, uint32_t remote, uint32_t npages, bool readonly,
		     void **addr, uint32_t *grefs, struct ivc_plat_share **out)
{
	/* The reference array trails the struct (declared gref_ids[1]). */
	const size_t ids_at = offsetof(struct ioctl_gntalloc_alloc_gref, gref_ids);
	struct ioctl_gntalloc_alloc_gref *op;
	struct ivc_plat_share *s;
	size_t opsize = ids_at + (size_t)npages * sizeof(uint32_t);
	int err = 0;

	if (npages == 0 || npages > MAX_PAGES || remote >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	op = calloc(1, opsize > sizeof *op ? opsize : sizeof *op);
	s = calloc(1, sizeof *s);
	if (!op || !s) {
		err = -ENOMEM;
		goto out;
	}
	op->domid = (uint16_t)remote;
	op->flags = readonly ? 0 : GNTALLOC_FLAG_WRITABLE;
	op->count = npages;
	if (ioctl(p->gntalloc, IOCTL_GNTALLOC_ALLOC_GREF, op) < 0) {
		err = neg_errno(); /* -ENOSPC: gntalloc's limit, see xen.h */
		goto out;
	}
	s->index = op->index;
	s->npages = npages;
	s->notify_page = NO_PAGE;
	s->addr = mmap(NULL, (size_t)npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, p->gntalloc,
		       (off_t)op->index);
	if (s->addr == MAP_FAILED) {
		err = neg_errno();
		gntalloc_dealloc(p, s->index, npages);
		goto out;
	}
	memcpy(grefs, (const char *)op + ids_at, (size_t)npages * sizeof(uint32_t));
	pthread_mutex_lock(&p->mu);
	s->next = p->shares;
	p->shares = s;
	pthread_mutex_unlock(&p->mu);
	*addr = s->addr;
	*out = s;
	s = NULL;
out:
	free(op);
	free(s);
	return err;
}

static int gntalloc_notify(struct ivc_plat *p, uint64_t index, unsigned action, uint32_t port)
{
	struct ioctl_gntalloc_unmap_notify op = { .index = index,
						  .action = action,
						  .event_channel_port = port };

	return ioctl(p->gntalloc, IOCTL_GNTALLOC_SET_UNMAP_NOTIFY, &op) < 0 ? neg_errno() : 0;
}

static int xen_share_notify(struct ivc_plat *p, struct ivc_plat_share *s, uint32_t offset,
			    unsigned flags, uint32_t port)
{
	uint64_t size = (uint64_t)s->npages * PAGE;
	uint32_t page;
	int err;

	if (flags & ~(IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT))
		return -EINVAL;
	if ((flags & IVC_PLAT_NOTIFY_CLEAR_BYTE) && offset >= size)
		return -EINVAL;
	if (!flags) {
		if (s->notify_page != NO_PAGE) {
			err = gntalloc_notify(p, s->index + (uint64_t)s->notify_page * PAGE, 0, 0);
			if (err)
				return err;
		}
		s->notify_page = NO_PAGE;
		return 0;
	}
	/* An event alone may sit on any page: the first, if offset is off. */
	if (offset >= size)
		offset = 0;
	page = offset / PAGE;
	err = gntalloc_notify(p, s->index + offset, flags, port);
	if (err)
		return err; /* -EINVAL: port not bound through /dev/xen/evtchn */
	/* The kernel keeps one notify per page: a share has one in all. */
	if (s->notify_page != NO_PAGE && s->notify_page != page)
		(void)gntalloc_notify(p, s->index + (uint64_t)s->notify_page * PAGE, 0, 0);
	s->notify_page = page;
	return 0;
}

/* Ends access at once, or, while the peer maps a page, as soon as it
 * unmaps it: the kernel decides and does not say which (see xen.h). */
static int release_share(struct ivc_plat *p, struct ivc_plat_share *s)
{
	int err;

	pthread_mutex_lock(&p->mu);
	for (struct ivc_plat_share **pp = &p->shares; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	pthread_mutex_unlock(&p->mu);
	munmap(s->addr, (size_t)s->npages * PAGE);
	err = gntalloc_dealloc(p, s->index, s->npages);
	free(s);
	return err;
}

static int xen_unshare(struct ivc_plat *p, struct ivc_plat_share *s)
{
	return release_share(p, s);
}

static void xen_unshare_defer(struct ivc_plat *p, struct ivc_plat_share *s)
{
	(void)release_share(p, s);
}

/* ---- grants: gntdev ---------------------------------------------------- */

static void gntdev_unmap(struct ivc_plat *p, uint64_t index, uint32_t npages)
{
	struct ioctl_gntdev_unmap_grant_ref op = { .index = index, .count = npages };

	(void)ioctl(p->gntdev, IOCTL_GNTDEV_UNMAP_GRANT_REF, &op);
}

/*
 * mmap() said EINVAL: some page failed. Xen's answer for each reference,
 * by a one-byte copy out of it into a local byte (read access only, so
 * nothing of the peer's is touched). The grants may have changed since the
 * mapping failed; this is a diagnosis, not a guarantee.
 */
static int why_map_failed(struct ivc_plat *p, uint32_t domid, const uint32_t *grefs,
			  uint32_t npages, bool readonly)
{
	struct gntdev_grant_copy_segment seg[32];
	uint8_t byte;
	bool denied = false;

	for (uint32_t i = 0; i < npages;) {
		uint32_t n = npages - i < 32 ? npages - i : 32;
		struct ioctl_gntdev_grant_copy op = { .count = n, .segments = seg };

		memset(seg, 0, sizeof seg);
		for (uint32_t k = 0; k < n; k++) {
			seg[k].source.foreign.ref = grefs[i + k];
			seg[k].source.foreign.domid = (domid_t)domid;
			seg[k].dest.virt = &byte;
			seg[k].len = 1;
			seg[k].flags = GNTCOPY_source_gref;
		}
		if (ioctl(p->gntdev, IOCTL_GNTDEV_GRANT_COPY, &op) < 0)
			return -EINVAL; /* cannot ask: say what gntdev said */
		for (uint32_t k = 0; k < n; k++)
			switch (seg[k].status) {
			case GNTST_okay:
				break;
			case GNTST_bad_domain:
			case GNTST_bad_gntref:
				return -EINVAL;
			case GNTST_general_error: /* not granted to us */
			case GNTST_permission_denied:
				denied = true;
				break;
			case GNTST_eagain: /* page paged out */
				return -EAGAIN;
			default:
				return -EIO;
			}
		i += n;
	}
	if (denied || !readonly)
		return -EPERM; /* readable by us, so: read-only asked writable */
	/* Every page readable, and still a read-only map failed: most likely
	 * our maptrack table is full (GNTST_no_device_space). */
	return -ENOSPC;
}

static int xen_map(struct ivc_plat *p, uint32_t domid, const uint32_t *grefs, uint32_t npages,
		   bool readonly, void **addr, struct ivc_plat_map **out)
{
	const size_t refs_at = offsetof(struct ioctl_gntdev_map_grant_ref, refs);
	struct ioctl_gntdev_map_grant_ref *op;
	struct ioctl_gntdev_grant_ref *refs;
	struct ivc_plat_map *m;
	size_t opsize = refs_at + (size_t)npages * sizeof *refs;
	int err = 0;

	if (npages == 0 || npages > MAX_PAGES || domid >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	op = calloc(1, opsize > sizeof *op ? opsize : sizeof *op);
	m = calloc(1, sizeof *m);
	if (!op || !m) {
		err = -ENOMEM;
		goto out;
	}
	refs = (struct ioctl_gntdev_grant_ref *)((char *)op + refs_at);
	for (uint32_t i = 0; i < npages; i++) {
		refs[i].domid = domid;
		refs[i].ref = grefs[i];
	}
	op->count = npages;
	if (ioctl(p->gntdev, IOCTL_GNTDEV_MAP_GRANT_REF, op) < 0) {
		/* With count > 0, EINVAL only means over gntdev's limit. */
		err = errno == EINVAL ? -ENOSPC : neg_errno();
		goto out;
	}
	m->index = op->index;
	m->npages = npages;
	m->addr = mmap(NULL, (size_t)npages * PAGE, PROT_READ | (readonly ? 0 : PROT_WRITE),
		       MAP_SHARED, p->gntdev, (off_t)op->index);
	if (m->addr == MAP_FAILED) {
		int e = errno;
		gntdev_unmap(p, m->index, npages);
		err = e == EINVAL ? why_map_failed(p, domid, grefs, npages, readonly) : -e;
		goto out;
	}
	pthread_mutex_lock(&p->mu);
	m->next = p->maps;
	p->maps = m;
	pthread_mutex_unlock(&p->mu);
	*addr = m->addr;
	*out = m;
	m = NULL;
out:
	free(op);
	free(m);
	return err;
}

static int xen_map_notify(struct ivc_plat *p, struct ivc_plat_map *m, uint32_t offset,
			  unsigned flags, uint32_t port)
{
	uint64_t size = (uint64_t)m->npages * PAGE;
	struct ioctl_gntdev_unmap_notify op = { .action = flags, .event_channel_port = port };

	if (flags & ~(IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT))
		return -EINVAL;
	if ((flags & IVC_PLAT_NOTIFY_CLEAR_BYTE) && offset >= size)
		return -EINVAL;
	/* One notify per mapping: a new one (or none, flags 0) replaces it.
	 * The offset only has to fall inside the mapping. */
	op.index = m->index + (offset < size ? offset : 0);
	if (ioctl(p->gntdev, IOCTL_GNTDEV_SET_UNMAP_NOTIFY, &op) < 0)
		return neg_errno(); /* -EINVAL: bad port, or CLEAR_BYTE read-only */
	return 0;
}

static int xen_unmap(struct ivc_plat *p, struct ivc_plat_map *m)
{
	struct ioctl_gntdev_unmap_grant_ref op = { .index = m->index, .count = m->npages };
	int err = 0;

	pthread_mutex_lock(&p->mu);
	for (struct ivc_plat_map **pp = &p->maps; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	pthread_mutex_unlock(&p->mu);
	/* munmap first: UNMAP_GRANT_REF then frees the grants at once. */
	munmap(m->addr, (size_t)m->npages * PAGE);
	if (ioctl(p->gntdev, IOCTL_GNTDEV_UNMAP_GRANT_REF, &op) < 0)
		err = neg_errno();
	free(m);
	return err;
}

/* ---- event channels ------------------------------------------------------ */

static int port_track(struct ivc_plat *p, uint32_t port)
{
	int err = 0;

	pthread_mutex_lock(&p->mu);
	if (p->nports == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		uint32_t *n = realloc(p->ports, cap * sizeof *n);
		if (n) {
			p->ports = n;
			p->cap = cap;
		} else
			err = -ENOMEM;
	}
	if (!err)
		p->ports[p->nports++] = port;
	pthread_mutex_unlock(&p->mu);
	return err;
}

static void port_drop(uint32_t *v, size_t *n, uint32_t port)
{
	for (size_t i = 0; i < *n;)
		if (v[i] == port)
			v[i] = v[--*n];
		else
			i++;
}

/* libxenevtchn returns -1 and sets errno; the kernel says ENOTCONN for a
 * port not bound through this handle, where Xen and sim say EINVAL. */
static int evt_errno(void)
{
	return errno == ENOTCONN ? -EINVAL : neg_errno();
}

static int xen_evtchn_fd(struct ivc_plat *p)
{
	return p->b.evfd;
}

static int bound(struct ivc_plat *p, xenevtchn_port_or_error_t r, uint32_t *port)
{
	int err;

	if (r < 0)
		return evt_errno();
	err = port_track(p, (uint32_t)r);
	if (err) {
		xenevtchn_unbind(p->xce, (evtchn_port_t)r);
		return err;
	}
	*port = (uint32_t)r;
	return 0;
}

static int xen_evtchn_alloc_unbound(struct ivc_plat *p, uint32_t remote, uint32_t *port)
{
	/* The ioctl narrows the domain id to 16 bits: check it here. */
	if (remote >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	return bound(p, xenevtchn_bind_unbound_port(p->xce, remote), port);
}

static int xen_evtchn_bind(struct ivc_plat *p, uint32_t remote, uint32_t remote_port,
			   uint32_t *port)
{
	if (remote >= DOMID_FIRST_RESERVED)
		return -ESRCH; /* as Xen for a domain that does not exist */
	/* Xen: -ESRCH no such domain; -EINVAL port not offered to us. */
	return bound(p, xenevtchn_bind_interdomain(p->xce, remote, remote_port), port);
}

/* The device's ioctl, as xenevtchn_notify makes it: once per message at
 * most, and under emulation every call and return costs. */
static int xen_evtchn_notify(struct ivc_plat *p, uint32_t port)
{
	struct ioctl_evtchn_notify n = { .port = port };

	return ioctl(p->b.evfd, IOCTL_EVTCHN_NOTIFY, &n) < 0 ? evt_errno() : 0;
}

static int xen_evtchn_unbind(struct ivc_plat *p, uint32_t port)
{
	if (xenevtchn_unbind(p->xce, port) < 0)
		return evt_errno();
	pthread_mutex_lock(&p->mu);
	port_drop(p->ports, &p->nports, port);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_lock(&p->b.lock);
	port_drop(p->replay, &p->nreplay, port);
	port_drop(p->ahead, &p->nahead, port);
	pthread_mutex_unlock(&p->b.lock);
	pthread_mutex_lock(&p->rd);
	port_drop(p->got, &p->ngot, port);
	pthread_mutex_unlock(&p->rd);
	return 0;
}

/*
 * The queue of delivered ports overflowed: deliveries were lost and their
 * ports stay masked. Empty it and report every port once; a spurious event
 * costs a look at a ring, a lost one a hang.
 */
static int evtchn_recover(struct ivc_plat *p)
{
	uint32_t *r;

	if (ioctl(p->b.evfd, IOCTL_EVTCHN_RESET, NULL) < 0)
		return neg_errno();
	pthread_mutex_lock(&p->mu);
	r = p->nports ? realloc(p->replay, p->nports * sizeof *r) : p->replay;
	if (r) {
		memcpy(r, p->ports, p->nports * sizeof *r);
		p->replay = r;
		p->nreplay = p->nports;
	}
	pthread_mutex_unlock(&p->mu);
	return r || !p->nports ? 0 : -ENOMEM;
}

/* The device's read() hands out as many pending ports as fit, each once
 * (what xenevtchn_pending does one at a time). After a short read the
 * queue was empty: the next call says so without reading, and the one
 * after reads again. Ports delivered meanwhile keep the descriptor
 * readable, so the next wait sees them. >0 ports read, or -errno. */
static int took(struct ivc_plat *p, size_t n)
{
	p->nahead = n;
	p->drained = n < sizeof p->ahead / sizeof p->ahead[0];
	return (int)n;
}

static int read_ahead(struct ivc_plat *p)
{
	ssize_t r;

	do
		r = ivc_xen_dev_read(p, p->ahead, sizeof p->ahead / sizeof p->ahead[0]);
	while (r < 0 && errno == EINTR);
	if (r == 0) /* the device reads whole ports or fails */
		return -EPROTO;
	if (r < 0)
		return neg_errno(); /* -EAGAIN: none pending */
	return took(p, (size_t)r / sizeof p->ahead[0]);
}

/* With the loopback, the device blocks: a sleeper's ports are taken from
 * it, and the device is read only when it polls readable and nobody
 * sleeps in it (a sleeper reads them itself). */
static int fill_ahead(struct ivc_plat *p)
{
	int r;

	if (!p->loop_ok)
		return read_ahead(p);
	pthread_mutex_lock(&p->rd);
	if (p->ngot || p->overflow) {
		memcpy(p->ahead, p->got, p->ngot * sizeof p->got[0]);
		r = took(p, p->ngot);
		if (p->overflow)
			r = -EFBIG;
		p->ngot = 0;
		p->overflow = false;
	} else if (atomic_load(&p->asleep) || ivc_linux_wait_fd(p->b.evfd, 0) != 1) {
		r = -EAGAIN;
	} else {
		r = read_ahead(p);
	}
	pthread_mutex_unlock(&p->rd);
	return r;
}

static int xen_evtchn_pending(struct ivc_plat *p, uint32_t *port)
{
	int r, err;

	for (;;) {
		if (p->nreplay || p->nahead) {
			*port = p->nreplay ? p->replay[--p->nreplay] : p->ahead[--p->nahead];
			if (!p->loop_ok || (*port != p->loop_tx && *port != p->loop_rx))
				return 0;
			ivc_xen_dev_unmask(p, *port); /* ours: it ended a sleep */
			continue;
		}
		if (p->drained) {
			p->drained = false;
			return -EAGAIN;
		}
		r = fill_ahead(p);
		if (r > 0)
			continue;
		if (r != -EFBIG)
			return r;
		err = evtchn_recover(p);
		if (err)
			return err;
		if (!p->nreplay)
			return -EAGAIN;
	}
}

static int xen_evtchn_unmask(struct ivc_plat *p, uint32_t port)
{
	return ivc_xen_dev_unmask(p, port) < 0 ? neg_errno() : 0;
}

static int xen_evtchn_status(struct ivc_plat *p, uint32_t port, uint32_t *state, uint32_t *remote,
			     uint32_t *remote_port)
{
	xc_evtchn_status_t st = { .dom = DOMID_SELF, .port = port };

	if (!xch_get(p))
		return -ENOSYS;
	if (xc_evtchn_status(p->xch, &st) < 0)
		return errno == EPERM || errno == EACCES || errno == ENOSYS ? -ENOSYS : neg_errno();
	*state = st.status; /* > 2: pirq, virq or ipi: not libIVC's */
	*remote = 0;
	*remote_port = 0;
	if (st.status == EVTCHNSTAT_unbound) {
		*remote = st.u.unbound.dom;
	} else if (st.status == EVTCHNSTAT_interdomain) {
		*remote = st.u.interdomain.dom;
		*remote_port = st.u.interdomain.port;
	}
	return 0;
}

/* ---- domains ------------------------------------------------------------- */

static int xen_domain_alive(struct ivc_plat *p, uint32_t domid)
{
	if (domid >= DOMID_FIRST_RESERVED)
		return 0;
	if (domid == p->domid)
		return 1;
	/* Xen itself, where we may ask (dom0). A domain that is dying or has
	 * shut down (crashed, halted, suspending) is gone for libIVC. */
	if (!p->no_getinfo && xch_get(p)) {
		xc_domaininfo_t info;
		int n = xc_domain_getinfolist(p->xch, domid, 1, &info);

		if (n >= 0)
			return n == 1 && info.domain == domid &&
			       !(info.flags & (XEN_DOMINF_dying | XEN_DOMINF_shutdown));
		if (errno != EPERM && errno != EACCES)
			return neg_errno();
		p->no_getinfo = true;
	}
	/* XenStore's view (a domain stays introduced until it dies). */
	if (!p->no_introduced) {
		errno = 0;
		if (xs_is_domain_introduced(p->xs, domid))
			return 1;
		if (errno == 0)
			return 0; /* the answer was "F" */
		if (errno != EACCES && errno != EPERM)
			return neg_errno();
		p->no_introduced = true;
	}
	/* An unprivileged domU cannot know (and Debian 12's kernel refuses it
	 * every privcmd hypercall): the caller falls back on XenStore. */
	return -ENOSYS;
}

/* The context's store is the platform's own connection. */
static int xen_store_open(struct ivc_plat *p, struct ivc_plat_store **out)
{
	return ivc_linux_store_wrap(p->xs, p, out);
}

/* ---- monitoring: dom0 reads a granted page by its own rights ------- */

struct ivc_plat_peek {
	void *addr;
};

static xenforeignmemory_handle *fmem_get(struct ivc_plat *p)
{
	pthread_mutex_lock(&p->mu);
	if (!p->fmem_tried) {
		p->fmem_tried = true;
		p->fmem = xenforeignmemory_open(&quiet_logger, 0);
	}
	pthread_mutex_unlock(&p->mu);
	return p->fmem;
}

/* A granted frame from an entry read once: -EINVAL unless it is a live
 * permit_access (the domain may rewrite it meanwhile). */
static int entry_frame(const grant_entry_v1_t *tab, uint32_t gref, xen_pfn_t *frame)
{
	grant_entry_v1_t e;

	memcpy(&e, tab + gref, sizeof e);
	if ((e.flags & GTF_type_mask) != GTF_permit_access)
		return -EINVAL;
	*frame = e.frame;
	return 0;
}

/* Our own table: Xen's acquire_resource takes only other domains, so
 * libxenctrl maps it (GNTTABOP_setup_table at its current size, then
 * the frames), for DOMID_SELF: Xen refuses a domain naming itself as a
 * foreign one. */
static int own_frame(struct ivc_plat *p, uint32_t gref, xen_pfn_t *frame)
{
	xc_interface *xch = xch_get(p);
	grant_entry_v1_t *tab;
	int n = 0, err;

	if (!xch)
		return -EPERM;
	tab = xc_gnttab_map_table_v1(xch, DOMID_SELF, &n);
	if (!tab)
		return errno == EPERM || errno == EACCES ? -EPERM : -EINVAL;
	err = gref < (uint32_t)n ? entry_frame(tab, gref, frame) : -EINVAL;
	munmap(tab, ((size_t)n * sizeof *tab + PAGE - 1) / PAGE * PAGE);
	return err;
}

/* The frame that `domid` granted as `gref`, from its grant table (shared
 * frames, version 1 entries): only the table's frame that holds the
 * entry is mapped, read-only, for the moment it takes to read it. */
static int granted_frame(xenforeignmemory_handle *fm, uint32_t domid, uint32_t gref,
			 xen_pfn_t *frame)
{
	const uint32_t per = PAGE / sizeof(grant_entry_v1_t);
	xenforeignmemory_resource_handle *res;
	void *tab = NULL;
	int err;

	res = xenforeignmemory_map_resource(fm, (domid_t)domid, XENMEM_resource_grant_table,
					    XENMEM_resource_grant_table_id_shared, gref / per, 1,
					    &tab, PROT_READ, 0);
	if (!res)
		return errno == EPERM || errno == EACCES                           ? -EPERM
		       : errno == EOPNOTSUPP || errno == ENOSYS || errno == ENOTTY ? -ENOSYS
										   : -EINVAL;
	err = entry_frame(tab, gref % per, frame);
	xenforeignmemory_unmap_resource(fm, res);
	return err;
}

static int xen_peek(struct ivc_plat *p, uint32_t domid, uint32_t gref, const void **addr,
		    struct ivc_plat_peek **out)
{
	xenforeignmemory_handle *fm = fmem_get(p);
	struct ivc_plat_peek *pk;
	xen_pfn_t frame;
	int err, perr = 0;

	if (!fm)
		return errno == ENOENT ? -ENOSYS : -EPERM;
	bool self = domid == p->domid;

	err = self ? own_frame(p, gref, &frame) : granted_frame(fm, domid, gref, &frame);
	if (err)
		return err;
	pk = malloc(sizeof *pk);
	if (!pk)
		return -ENOMEM;
	pk->addr = xenforeignmemory_map(fm, self ? DOMID_SELF : domid, PROT_READ, 1, &frame, &perr);
	if (!pk->addr || perr) {
		err = !pk->addr ? -errno : perr < 0 ? perr : -perr;
		if (pk->addr)
			xenforeignmemory_unmap(fm, pk->addr, 1);
		free(pk);
		return err ? err : -EINVAL;
	}
	*addr = pk->addr;
	*out = pk;
	return 0;
}

static void xen_unpeek(struct ivc_plat *p, struct ivc_plat_peek *pk)
{
	xenforeignmemory_unmap(p->fmem, pk->addr, 1);
	free(pk);
}

const struct ivc_plat_ops ivc_plat_xen = {
	IVC_LINUX_COMMON_OPS,
	.wait = ivc_xen_wait,
	.wake = ivc_xen_wake,
	.store_open = xen_store_open,
	.store_close = ivc_linux_store_close,
	.store_event = ivc_xen_store_event,
	.name = "xen",
	.open = xen_open,
	.close = xen_close,
	.domid = xen_domid,
	.share = xen_share,
	.share_notify = xen_share_notify,
	.unshare = xen_unshare,
	.unshare_defer = xen_unshare_defer,
	.hold_mapped = true,
	.map = xen_map,
	.map_notify = xen_map_notify,
	.unmap = xen_unmap,
	.peek = xen_peek,
	.unpeek = xen_unpeek,
	.evtchn_fd = xen_evtchn_fd,
	.evtchn_alloc_unbound = xen_evtchn_alloc_unbound,
	.evtchn_bind = xen_evtchn_bind,
	.evtchn_notify = xen_evtchn_notify,
	.evtchn_unbind = xen_evtchn_unbind,
	.evtchn_pending = xen_evtchn_pending,
	.evtchn_unmask = xen_evtchn_unmask,
	.evtchn_status = xen_evtchn_status,
	.domain_alive = xen_domain_alive,
};
