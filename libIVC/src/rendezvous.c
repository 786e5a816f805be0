/* SPDX-License-Identifier: MIT */
/*
 * rendezvous.c - the public listen/accept/connect calls: arguments
 * checked and turned into typed values (a listener's geometry), then
 * handed to the context's rendezvous mode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* Options the library does not know are refused, not ignored. */
static bool opts_ok(const struct ivc_opts *o)
{
	for (size_t i = 0; o && i < sizeof o->reserved / sizeof o->reserved[0]; i++)
		if (o->reserved[i])
			return false;
	return true;
}

/* What listen and connect both check of their arguments. */
static bool args_ok(const char *name, const struct ivc_type *type, enum ivc_dir dir,
		    const struct ivc_opts *opts)
{
	return ivc__service_ok(name) && ivc__type_ok(type) && dir >= IVC_IN && dir <= IVC_INOUT &&
	       opts_ok(opts) && (!opts || opts->backlog <= IVC_BACKLOG_MAX);
}

/* The listener's geometry from its options. Ring 0 carries listener ->
 * client, ring 1 client -> listener. */
static int listener_spec(struct chan_spec *s, const struct ivc_opts *opts)
{
	struct ivc_core_params *p = &s->params;

	s->ring_bytes[0] = s->dir & IVC_OUT ? (opts->tx_ring ? opts->tx_ring : DEFAULT_RING) : 0;
	s->ring_bytes[1] = s->dir & IVC_IN ? (opts->rx_ring ? opts->rx_ring : DEFAULT_RING) : 0;
	p->mode = s->type.mode == IVC_STREAM ? IVC_WIRE_MODE_STREAM : IVC_WIRE_MODE_MESSAGE;
	for (int r = 0; r < 2; r++) {
		uint32_t bytes = s->ring_bytes[r];
		p->order[r] = bytes ? ivc__order_of(bytes) : 0;
		if (bytes && !p->order[r])
			return -EINVAL;
		if (bytes && p->mode == IVC_WIRE_MODE_MESSAGE) {
			uint32_t dflt = bytes - 4 < DEFAULT_MAX_MSG ? bytes - 4 : DEFAULT_MAX_MSG;
			p->max_msg[r] = opts->max_msg ? opts->max_msg : dflt;
		}
	}
	return ivc_core_params_check(p) ? -EINVAL : 0;
}

int ivc_listen(struct ivc_ctx *ctx, const char *name, const struct ivc_type *type, enum ivc_dir dir,
	       const struct ivc_opts *opts, struct ivc_listener **out)
{
	static const struct ivc_opts none;
	struct ivc_listener *l;
	int err;

	if (!ctx || !out || !args_ok(name, type, dir, opts))
		return -EINVAL;
	l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->ctx = ctx;
	l->obj = (struct ivc_obj){ .kind = OBJ_LISTENER, .self = l };
	snprintf(l->name, sizeof l->name, "%s", name);
	snprintf(l->type_name, sizeof l->type_name, "%s", type->name);
	l->spec.type = (struct ivc_type){ l->type_name, type->version, type->mode };
	l->spec.dir = dir;
	l->backlog = opts && opts->backlog ? opts->backlog : IVC_BACKLOG_DEFAULT;
	err = listener_spec(&l->spec, opts ? opts : &none);
	if (!err)
		err = ctx->rdv->listen(l);
	if (err) {
		/* Its events while it waited for an answer may have queued it. */
		ivc__obj_forget(ctx, &l->obj);
		free(l);
		return err;
	}
	*out = l;
	return 0;
}

int ivc_accept(struct ivc_listener *l, int timeout_ms, struct ivc_chan **out)
{
	if (!l || !out)
		return -EINVAL;
	return l->ctx->rdv->accept(l, ivc__deadline_of(l->ctx, timeout_ms), timeout_ms, out);
}

/* Made on first use: the listener is const to the caller, not to us. */
int ivc_listener_fd(const struct ivc_listener *l)
{
	struct ivc_listener *m = (struct ivc_listener *)l;

	return ivc__obj_fd(m->ctx, &m->obj);
}

void ivc_listener_close(struct ivc_listener *l)
{
	if (!l)
		return;
	l->ctx->rdv->unlisten(l);
	ivc__obj_forget(l->ctx, &l->obj);
	free(l);
}

int ivc_connect(struct ivc_ctx *ctx, uint32_t server, const char *name, const struct ivc_type *type,
		enum ivc_dir dir, const struct ivc_opts *opts, int timeout_ms,
		struct ivc_chan **out)
{
	static const struct ivc_opts none;
	struct conn_req rq = { server, name, type, dir, opts ? opts : &none };

	if (!ctx || !out || !args_ok(name, type, dir, opts) || (opts && opts->backlog))
		return -EINVAL;
	return ctx->rdv->connect(ctx, &rq, ivc__deadline_of(ctx, timeout_ms), out);
}
