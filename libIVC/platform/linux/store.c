/* SPDX-License-Identifier: MIT */
/* store.c - XenStore for the Linux platforms, through libxenstore. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "linux.h"

_Static_assert(IVC_PLAT_PERM_NONE == XS_PERM_NONE && IVC_PLAT_PERM_READ == XS_PERM_READ &&
		   IVC_PLAT_PERM_WRITE == XS_PERM_WRITE,
	       "permission bits as XenStore's");

struct ivc_plat_store {
	struct xs_handle *xs;
	int fd;        /* xs_fileno's, which takes a lock at every call */
	bool borrowed; /* the platform's own connection: it closes it */
	void *owner;   /* the platform that wrapped it (xen), or NULL */
};

/* libxenstore reports failures in errno; 0 is never a failure. */
static int fail(void)
{
	return errno ? -errno : -EIO;
}

/* A store on connection xs; with an owner, the connection is that
 * platform's own, which it closes itself. */
static int store_new(struct xs_handle *xs, void *owner, struct ivc_plat_store **out)
{
	struct ivc_plat_store *s;

	/* libxenstore makes its watch pipe on first use: now, so that a
	 * context's descriptors are the same from its start. */
	int fd = xs_fileno(xs);

	if (fd < 0)
		return errno ? -errno : -EIO;
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->xs = xs;
	s->fd = fd;
	s->borrowed = owner != NULL;
	s->owner = owner;
	*out = s;
	return 0;
}

int ivc_linux_store_open(struct ivc_plat *p, struct ivc_plat_store **out)
{
	struct xs_handle *xs;
	int err;

	(void)p; /* XENSTORED_PATH (sim) or the xenbus device (xen) */
	errno = 0;
	xs = xs_open(0);
	if (!xs)
		return errno ? -errno : -ENOENT;
	err = store_new(xs, NULL, out);
	if (err)
		xs_close(xs);
	return err;
}

int ivc_linux_store_wrap(struct xs_handle *xs, void *owner, struct ivc_plat_store **out)
{
	return store_new(xs, owner, out);
}

void *ivc_linux_store_owner(const struct ivc_plat_store *s)
{
	return s->owner;
}

void ivc_linux_store_close(struct ivc_plat_store *s)
{
	if (!s)
		return;
	if (!s->borrowed)
		xs_close(s->xs); /* and its watches */
	free(s);
}

int ivc_linux_store_fd(const struct ivc_plat_store *s)
{
	return s->fd; /* the watch pipe's, made once (store_new) */
}

int ivc_linux_store_read(struct ivc_plat_store *s, uint32_t txn, const char *path, char **val)
{
	unsigned int len;

	*val = xs_read(s->xs, txn, path, &len);
	if (!*val)
		return fail();
	/* A value is a string: one with a NUL inside would hide its tail from
	 * every parser (spec Appendix B, "the whole string"). */
	if (memchr(*val, 0, len)) {
		free(*val);
		*val = NULL;
		return -EPROTO;
	}
	return 0;
}

int ivc_linux_store_write(struct ivc_plat_store *s, uint32_t txn, const char *path, const char *val)
{
	return xs_write(s->xs, txn, path, val, strlen(val)) ? 0 : fail();
}

int ivc_linux_store_mkdir(struct ivc_plat_store *s, uint32_t txn, const char *path)
{
	return xs_mkdir(s->xs, txn, path) ? 0 : fail();
}

int ivc_linux_store_rm(struct ivc_plat_store *s, uint32_t txn, const char *path)
{
	return xs_rm(s->xs, txn, path) ? 0 : fail();
}

int ivc_linux_store_dir(struct ivc_plat_store *s, uint32_t txn, const char *path, char ***ents,
			unsigned *n)
{
	unsigned int num = 0;

	*ents = xs_directory(s->xs, txn, path, &num);
	*n = num;
	return *ents ? 0 : fail();
}

int ivc_linux_store_get_perms(struct ivc_plat_store *s, uint32_t txn, const char *path,
			      struct ivc_plat_perm **perms, unsigned *n)
{
	unsigned int num = 0;
	struct xs_permissions *p = xs_get_permissions(s->xs, txn, path, &num);
	struct ivc_plat_perm *out;

	if (!p)
		return fail();
	out = calloc(num ? num : 1, sizeof *out);
	if (!out) {
		free(p);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < num; i++)
		out[i] = (struct ivc_plat_perm){ p[i].id, p[i].perms };
	free(p);
	*perms = out;
	*n = num;
	return 0;
}

int ivc_linux_store_set_perms(struct ivc_plat_store *s, uint32_t txn, const char *path,
			      const struct ivc_plat_perm *perms, unsigned n)
{
	struct xs_permissions p[8];

	if (n == 0 || n > 8)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		p[i] = (struct xs_permissions){ perms[i].domid, perms[i].perm };
	return xs_set_permissions(s->xs, txn, path, p, n) ? 0 : fail();
}

int ivc_linux_store_txn_start(struct ivc_plat_store *s, uint32_t *txn)
{
	xs_transaction_t t = xs_transaction_start(s->xs);

	if (t == XBT_NULL)
		return fail();
	*txn = t;
	return 0;
}

int ivc_linux_store_txn_end(struct ivc_plat_store *s, uint32_t txn, bool abort)
{
	return xs_transaction_end(s->xs, txn, abort) ? 0 : fail();
}

int ivc_linux_store_watch(struct ivc_plat_store *s, const char *path, const char *token)
{
	return xs_watch(s->xs, path, token) ? 0 : fail();
}

int ivc_linux_store_unwatch(struct ivc_plat_store *s, const char *path, const char *token)
{
	return xs_unwatch(s->xs, path, token) ? 0 : fail();
}

/* libxenstore's reader thread queues watch events; its fd polls readable
 * while the queue is not empty. */
int ivc_linux_store_event(struct ivc_plat_store *s, char *token, size_t tsize, char *path,
			  size_t psize)
{
	char **ev;

	errno = 0;
	ev = xs_check_watch(s->xs);
	if (!ev)
		return errno == EAGAIN || errno == 0 ? 0 : -errno;
	if (tsize)
		snprintf(token, tsize, "%s", ev[XS_WATCH_TOKEN]);
	if (psize)
		snprintf(path, psize, "%s", ev[XS_WATCH_PATH]);
	free(ev);
	return 1;
}
