/* SPDX-License-Identifier: MIT */
/* find.c - a platform by name, for every build: the names are the same
 * everywhere, what each build holds is its ivc_plat_named's. */
#include <errno.h>
#include <string.h>

#include "platform.h"

int ivc_plat_find(const char *name, const struct ivc_plat_ops **out)
{
	if (strcmp(name, "sim") && strcmp(name, "xen") && strcmp(name, "guest"))
		return -EINVAL;
	*out = ivc_plat_named(name);
	/* xen not built in; guest outside a unikernel; sim or xen in one */
	return *out ? 0 : -ENODEV;
}
