/* SPDX-License-Identifier: MIT */
/* store.c - XenStore helpers for the rendezvous modes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

int ivc__xs_read(struct xst x, uint32_t t, const char *path, char **val)
{
	*val = NULL;
	return x.ops->store_read(x.s, t, path, val);
}

/* dir/key as a NUL-terminated string (caller frees), NULL if unreadable;
 * *err says why (0 when read). */
char *ivc__xs_get_err(struct xst x, uint32_t t, const char *dir, const char *key, int *err)
{
	char path[512], *v = NULL;

	snprintf(path, sizeof path, "%s/%s", dir, key);
	*err = ivc__xs_read(x, t, path, &v);
	return *err ? NULL : v;
}

char *ivc__xs_get(struct xst x, uint32_t t, const char *dir, const char *key)
{
	int err;

	return ivc__xs_get_err(x, t, dir, key, &err);
}

int ivc__xs_put(struct xst x, uint32_t t, const char *dir, const char *key, const char *val)
{
	char path[512];

	snprintf(path, sizeof path, "%s/%s", dir, key);
	return x.ops->store_write(x.s, t, path, val);
}

/* A domU's processes share one XenStore connection (the kernel's), and
 * XenStore limits the transactions open on it (C xenstored 4.17: 10):
 * a start refused with ENOSPC waits for the others' to end, for up to
 * about this long, napping 0.5, 1, 2 .. 32 ms. */
#define TXN_BUSY_US 2000000

static int txn_start(struct xst x, uint32_t *t)
{
	unsigned slept = 0, us = 500;
	int err;

	while ((err = x.ops->store_txn_start(x.s, t)) == -ENOSPC && x.ops->nap &&
	       slept < TXN_BUSY_US) {
		x.ops->nap(us);
		slept += us;
		us = us < 32000 ? 2 * us : us;
	}
	return err;
}

/* Runs body in a XenStore transaction, again while the commit answers
 * EAGAIN (someone else wrote in between). body returns 0, or a negative
 * errno to abort the transaction and fail. */
int ivc__xs_txn(struct xst x, ivc__txn_body body, void *arg)
{
	for (int tries = 0;; tries++) {
		uint32_t t;
		int err = txn_start(x, &t);

		if (err)
			return err;
		err = body(x, t, arg);
		if (err) {
			x.ops->store_txn_end(x.s, t, true);
			return err;
		}
		err = x.ops->store_txn_end(x.s, t, false);
		if (err != -EAGAIN || tries > 100)
			return err;
	}
}

/* Removes a node through the context's connection; 0 (also if it was
 * gone) or -errno. */
int ivc__rm_node(struct ivc_ctx *ctx, const char *path)
{
	int err = ctx->ops->store_rm(ctx->xs, 0, path);

	return err == -ENOENT ? 0 : err;
}
