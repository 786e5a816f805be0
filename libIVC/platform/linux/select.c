/* SPDX-License-Identifier: MIT */
/* select.c - which platform a Linux process runs on. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "linux.h"
#ifdef IVC_HAVE_XEN
#include "../xen/xen.h"
#endif

const struct ivc_plat_ops *ivc_plat_named(const char *name)
{
	if (!strcmp(name, "sim"))
		return &ivc_plat_sim;
#ifdef IVC_HAVE_XEN
	if (!strcmp(name, "xen"))
		return &ivc_plat_xen;
#endif
	return NULL;
}

/* xen where Linux has the Xen event channel device, else sim. */
const struct ivc_plat_ops *ivc_plat_default(void)
{
#ifdef IVC_HAVE_XEN
	if (access("/dev/xen/evtchn", F_OK) == 0)
		return &ivc_plat_xen;
#endif
	return &ivc_plat_sim;
}

int ivc_plat_open_default(const struct ivc_plat_ops **ops, struct ivc_plat **p)
{
	int err;

	*ops = ivc_plat_default();
	err = (*ops)->open(p);
	if (err == -EHOSTDOWN && *ops == &ivc_plat_sim)
		err = -ENODEV; /* neither Xen nor a sim host */
	return err;
}
