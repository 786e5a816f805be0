/* SPDX-License-Identifier: MIT */
/*
 * xen.h - the xen platform: libIVC on real Xen, from a Linux dom0 or domU.
 *
 * It drives Linux's /dev/xen/gntalloc, /dev/xen/gntdev and /dev/xen/evtchn
 * (the latter through libxenevtchn), reads its own domain id from XenStore
 * (libxenstore) and, where the domain may use them, asks the hypervisor
 * through libxenctrl. It needs root (the devices are 0600) and the kernel
 * modules xen-gntalloc, xen-gntdev and xen-evtchn.
 *
 * Where it differs from the sim platform, through platform.h:
 *
 *  - unshare() never returns -EBUSY: Linux's gntalloc gives user space no
 *    way to learn whether the peer still maps a page, and ends access
 *    itself as soon as the peer unmaps. unshare() is unshare_defer().
 *  - share() fails with -ENOSPC beyond gntalloc's limit on pages granted
 *    through /dev/xen/gntalloc by the whole domain: 1024 by default, far
 *    below one connection with 16 MiB rings (2 x 4096 + 9 pages). Raise it
 *    with `modprobe xen-gntalloc limit=N`, at run time through
 *    /sys/module/xen_gntalloc/parameters/limit, or xen_gntalloc.limit=N on
 *    the kernel command line if built in. map() fails with -ENOSPC beyond
 *    gntdev's limit on pages per mapping request, 65536 by default since
 *    Linux 5.5 (`modprobe xen-gntdev limit=N`,
 *    /sys/module/xen_gntdev/parameters/limit, xen_gntdev.limit=N). Xen's
 *    own per-domain limits (gnttab_max_frames, gnttab_max_maptrack_frames,
 *    set by xl.cfg max_grant_frames / max_maptrack_frames) also end in
 *    -ENOSPC.
 *  - map() cannot tell a reference never granted from one granted to
 *    another domain (Xen answers both with GNTST_general_error): both give
 *    -EPERM, unless the reference lies beyond the granter's grant table
 *    (-EINVAL, as an unknown domain).
 *  - map_notify() with IVC_PLAT_NOTIFY_CLEAR_BYTE on a read-only mapping
 *    fails with -EINVAL (the kernel has nothing it may write).
 *  - evtchn_status() needs libxenctrl (the privcmd device): -ENOSYS without,
 *    and in a domU of a kernel that blocks privcmd there (Debian 12's 6.1).
 *  - Binding an interdomain port leaves it pending at once (Xen assumes
 *    a notification to the unbound port might have been lost).
 *  - domain_alive() is exact only where the domain may ask Xen or
 *    XenStore about others (dom0); elsewhere it answers -ENOSYS, and
 *    libIVC reads the peer's presence node in XenStore instead (spec 9.8).
 *  - If the kernel's queue of pending ports overflows (poll() reports
 *    POLLERR on evtchn_fd()), evtchn_pending() resets it and reports every
 *    port this handle holds once: call it on POLLERR as on POLLIN (it may
 *    first say -EAGAIN once, ending the batch of its last short read).
 */
#ifndef IVC_PLATFORM_XEN_H
#define IVC_PLATFORM_XEN_H

#include "../platform.h"

extern const struct ivc_plat_ops ivc_plat_xen;

#endif
