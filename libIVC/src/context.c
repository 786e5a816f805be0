/* SPDX-License-Identifier: MIT */
/* context.c - a context: the platform, XenStore, the rendezvous mode. */
#include <errno.h>
#include <stdio.h>
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

	if (!platform || !*platform)
		return ivc_plat_open_default(&ctx->ops, &ctx->plat);
	if ((err = ivc_plat_find(platform, &ctx->ops)))
		return err;
	return ctx->ops->open(&ctx->plat);
}

/* The rendezvous mode (spec 9.11.1 item 4): brokered while the daemon
 * runs, else direct; $IVC_RENDEZVOUS=direct or =brokered forces one. */
static int choose_rdv(struct ivc_ctx *ctx)
{
	const char *want = getenv("IVC_RENDEZVOUS");
	bool forced = want && !strcmp(want, "brokered");
	char *v = NULL;
	int err;

	snprintf(ctx->area_path, sizeof ctx->area_path, "/rendezvous/%u", ctx->domid);
	ctx->rdv = &ivc_rdv_direct;
	if (want && *want && strcmp(want, "auto") && strcmp(want, "direct") && !forced)
		return -EINVAL;
	if (want && !strcmp(want, "direct"))
		return 0;
	err = ctx->ops->store_read(ctx->xs, 0, "/rendezvous/daemon", &v);
	free(v);
	if (err) /* forced: ENOENT is no daemon; any other error says itself */
		return forced ? err : 0;
	/* One watch for everything brokered: our area, whether or not the
	 * daemon has made it yet. */
	err = ctx->ops->store_watch(ctx->xs, ctx->area_path, "b");
	if (err)
		return forced ? err : 0;
	/* Our liveness, for the daemon: this port closes when we do, in any
	 * way, crashes included (9.11.1 item 5). */
	err = ctx->ops->evtchn_alloc_unbound(ctx->plat, 0, &ctx->bport);
	if (err) {
		ctx->ops->store_unwatch(ctx->xs, ctx->area_path, "b");
		return forced ? err : 0;
	}
	ctx->rdv = &ivc_rdv_brokered;
	return 0;
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
	ctx->any.kind = OBJ_OTHER;
	ctx->held_obj.kind = OBJ_OTHER;
	ctx->stale.kind = OBJ_OTHER;
	ctx->area.kind = OBJ_OTHER;
	ctx->domid = ctx->ops->domid(ctx->plat);
	ctx->nonce = ctx->ops->seed();
	err = choose_rdv(ctx);
	if (err) {
		ctx->ops->store_close(ctx->xs);
		ctx->ops->close(ctx->plat);
		free(ctx);
		return err;
	}
	*out = ctx;
	return 0;
}

void ivc_close(struct ivc_ctx *ctx)
{
	if (!ctx)
		return;
	ivc__bg_stop(ctx);
	ivc__held_close(ctx);
	if (ctx->ws)
		ctx->ops->waitset_free(ctx->ws);
	if (ctx->ready_note)
		ctx->ops->note_free(ctx->ready_note);
	if (ctx->rdv == &ivc_rdv_brokered) {
		ctx->ops->store_unwatch(ctx->xs, ctx->area_path, "b");
		ctx->ops->evtchn_unbind(ctx->plat, ctx->bport);
	}
	ctx->ops->store_close(ctx->xs);
	ctx->ops->close(ctx->plat);
	ivc__routes_free(ctx);
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
