/* SPDX-License-Identifier: MIT */
/* context.c - a context: the platform, XenStore, the rendezvous mode. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

_Static_assert(IVC_CORE_EAGAIN == EAGAIN && IVC_CORE_EPIPE == EPIPE && IVC_CORE_EPROTO == EPROTO &&
		   IVC_CORE_EMSGSIZE == EMSGSIZE && IVC_CORE_ECONNRESET == ECONNRESET &&
		   IVC_CORE_EBADF == EBADF && IVC_CORE_EINVAL == EINVAL &&
		   IVC_CORE_ECONNREFUSED == ECONNREFUSED &&
		   IVC_CORE_EPROTONOSUPPORT == EPROTONOSUPPORT,
	       "core error codes are Linux errno values");

/* The platform named, or the default one: 0 or -errno. */
static int open_platform(struct ivc_ctx *ctx, const char *platform)
{
	int err;

	if (platform && *platform) {
		if (strcmp(platform, "sim") && strcmp(platform, "xen"))
			return -EINVAL;
		ctx->ops = ivc_plat_named(platform);
		if (!ctx->ops) /* xen asked for, not built in */
			return -ENODEV;
		return ctx->ops->open(&ctx->plat);
	}
	ctx->ops = ivc_plat_default();
	err = ctx->ops->open(&ctx->plat);
	if (err == -EHOSTDOWN && ctx->ops == &ivc_plat_sim)
		err = -ENODEV; /* neither Xen nor a sim host */
	return err;
}

int ivc_open(struct ivc_ctx **out, const char *platform)
{
	struct ivc_ctx *ctx;
	int err;

	if (!out)
		return -EINVAL;
	if (!platform)
		platform = getenv("IVC_PLATFORM");
	ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return -ENOMEM;
	err = open_platform(ctx, platform);
	if (err) {
		free(ctx);
		return err;
	}
	err = ctx->ops->store_open(ctx->plat, &ctx->xs);
	if (err) {
		ctx->ops->close(ctx->plat);
		free(ctx);
		return err;
	}
	ctx->rdv = &ivc_rdv_direct;
	ctx->any.kind = OBJ_OTHER;
	ctx->stale.kind = OBJ_OTHER;
	ctx->domid = ctx->ops->domid(ctx->plat);
	ctx->nonce = ctx->ops->seed();
	*out = ctx;
	return 0;
}

void ivc_close(struct ivc_ctx *ctx)
{
	if (!ctx)
		return;
	ivc__bg_stop(ctx);
	if (ctx->ws)
		ctx->ops->waitset_free(ctx->ws);
	if (ctx->ready_note)
		ctx->ops->note_free(ctx->ready_note);
	ctx->ops->store_close(ctx->xs);
	ctx->ops->close(ctx->plat);
	free(ctx->port);
	free(ctx->watch);
	free(ctx);
}

const char *ivc_platform(const struct ivc_ctx *ctx)
{
	return ctx->ops->name;
}

uint32_t ivc_domid(const struct ivc_ctx *ctx)
{
	return ctx->domid;
}
