/* SPDX-License-Identifier: MIT */
/*
 * xenstore.c - a XenStore client over the shared ring (xen/io/xs_wire.h)
 * whose page and event channel the toolstack gives in
 * HVM_PARAM_STORE_PFN/_EVTCHN. One request at a time, answered before
 * the next; watch events that arrive meanwhile or between requests are
 * queued (bounded) for whoever polls them. The other end is xenstored;
 * its indexes and lengths are still checked before they are used
 * (xs_frame.c takes the stream apart).
 */
#include <errno.h>
#include <stdint.h> /* before Xen's headers, which use it */
#include <xen/hvm/params.h>

#include "guest.h"
#include "runtime.h"
#include "xen.h"
#include "xs_frame.h"

static volatile struct xenstore_domain_interface *xs;
static uint32_t xs_port;
static uint32_t req_id;
static struct xs_frame frame;
static bool in_call; /* a request is on the ring, its answer awaited */

/* The request waiting for its answer. */
static struct answer {
	uint32_t id, type;
	bool done;
	int err;
	char *data;
	uint32_t len;
} want;

/* Watch events: a copy of each payload, oldest first, one per (token,
 * path) pair: a repeat of one still queued adds nothing, so the queue is
 * bounded by the nodes that exist. A watch whose event found no memory is
 * marked lost, and fires once more (its own path) when next asked: a
 * watcher looks again either way. */
struct event {
	char *buf;
	const char *path, *token;
};
static struct event *queue;
static unsigned queued, queue_cap;

struct watch {
	struct watch *next;
	bool lost;
	char *path, *token;
};
static struct watch *watches;

void xenstore_init(void)
{
	uint64_t pfn = hvm_param(HVM_PARAM_STORE_PFN);

	xs_port = (uint32_t)hvm_param(HVM_PARAM_STORE_EVTCHN);
	if (pfn && pfn < (1u << 20)) /* within the 4 GiB boot.S maps */
		xs = (volatile struct xenstore_domain_interface *)(uintptr_t)(pfn << 12);
	evt_mask(xs_port);
}

uint32_t xs_evtchn(void)
{
	return xs_port;
}

/* Clears the port, runs `ready` and, if it says no, sleeps until
 * xenstored signals: nothing it signals after the clear is missed. */
static void wait_xs(bool (*ready)(void))
{
	uint32_t port = xs_port;

	(void)evt_test_and_clear(port);
	if (!ready())
		(void)evt_poll(&port, 1, 0);
}

/* ---- what arrives ---------------------------------------------------- */

static struct watch *watch_of(const char *token)
{
	for (struct watch *w = watches; w; w = w->next)
		if (!strcmp(w->token, token))
			return w;
	return NULL;
}

static void queue_event(const char *body, uint32_t len)
{
	const char *path, *token;
	struct watch *w;
	char *copy;

	if (xs_frame_event(body, len, &path, &token) || !(w = watch_of(token)))
		return; /* malformed, or a watch already gone */
	for (unsigned i = 0; i < queued; i++)
		if (!strcmp(queue[i].token, token) && !strcmp(queue[i].path, path))
			return;
	if (queued == queue_cap) {
		unsigned cap = queue_cap ? 2 * queue_cap : 16;
		struct event *q = realloc(queue, cap * sizeof *q);
		if (!q) {
			w->lost = true;
			return;
		}
		queue = q;
		queue_cap = cap;
	}
	if (!(copy = malloc(len))) {
		w->lost = true;
		return;
	}
	memcpy(copy, body, len);
	queue[queued].buf = copy;
	queue[queued].path = copy;
	queue[queued].token = copy + (token - body);
	queued++;
}

static int error_of(const char *name)
{
	for (size_t i = 0; i < sizeof xsd_errors / sizeof xsd_errors[0]; i++)
		if (!strcmp(name, xsd_errors[i].errstring))
			return -xsd_errors[i].errnum;
	return -EIO;
}

static void deliver(const struct xsd_sockmsg *h, const char *body, void *arg)
{
	(void)arg;
	if (h->type == XS_WATCH_EVENT) {
		queue_event(body, h->len);
		return;
	}
	if (want.done || h->req_id != want.id)
		return; /* an answer nobody waits for */
	want.done = true;
	if (h->type == XS_ERROR)
		want.err = error_of(body);
	else if (h->type != want.type)
		want.err = -EIO;
	else if (!(want.data = malloc(h->len + 1)))
		want.err = -ENOMEM;
	else {
		memcpy(want.data, body, h->len + 1);
		want.len = h->len;
	}
}

/* Takes whatever xenstored has written: 0, or -EIO for good once its
 * indexes or a length make no sense. */
int xs_pump(void)
{
	char buf[256];

	if (!xs)
		return -ENOSYS;
	for (;;) {
		XENSTORE_RING_IDX cons = xs->rsp_cons, prod = xs->rsp_prod;
		uint32_t n = 0;

		/* prod before the bytes it covers */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (prod - cons > XENSTORE_RING_SIZE)
			frame.broken = true;
		if (frame.broken)
			return -EIO;
		if (prod == cons)
			return 0;
		for (; cons != prod && n < sizeof buf; n++, cons++)
			buf[n] = xs->rsp[MASK_XENSTORE_IDX(cons)];
		/* our reads before the space is given back */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		xs->rsp_cons = cons;
		(void)evt_send(xs_port);
		if (xs_frame_feed(&frame, buf, n, deliver, NULL))
			return -EIO;
	}
}

/* ---- requests -------------------------------------------------------- */

/* Room to write, or a ring gone bad; what xenstored answers meanwhile
 * is taken, so that it never waits on us while we wait on it. */
static bool req_space(void)
{
	return xs_pump() < 0 || xs->req_prod - xs->req_cons < XENSTORE_RING_SIZE;
}

static void put(const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		XENSTORE_RING_IDX cons = xs->req_cons, prod = xs->req_prod;
		/* cons before we reuse the space it frees */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (prod - cons >= XENSTORE_RING_SIZE) {
			if (frame.broken)
				return;
			wait_xs(req_space);
			continue;
		}
		for (; len && prod - cons < XENSTORE_RING_SIZE; len--)
			xs->req[MASK_XENSTORE_IDX(prod++)] = *p++;
		/* the bytes before prod */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		xs->req_prod = prod;
		(void)evt_send(xs_port);
	}
}

static bool answered(void)
{
	return xs_pump() < 0 || want.done;
}

int xs_call(uint32_t type, uint32_t txn, const char *payload, uint32_t len, char **reply,
	    uint32_t *rlen)
{
	struct xsd_sockmsg h = { type, ++req_id, txn, len };

	if (!xs)
		return -ENOSYS;
	if (len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	if (frame.broken)
		return -EIO;
	if (in_call)
		return -EBUSY; /* exit() from a trap inside a request */
	in_call = true;
	want = (struct answer){ .id = h.req_id, .type = type };
	put(&h, sizeof h);
	put(payload, len);
	while (!answered())
		wait_xs(answered);
	in_call = false;
	if (!want.done)
		return -EIO;
	if (want.err || !reply)
		free(want.data);
	else {
		*reply = want.data;
		if (rlen)
			*rlen = want.len;
	}
	return want.err;
}

int xs_call_str(uint32_t type, uint32_t txn, const char *a, const char *b, bool b_nul, char **reply,
		uint32_t *rlen)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t la = strlen(a) + 1, lb = b ? strlen(b) + b_nul : 0;

	if (la + lb > sizeof buf)
		return -E2BIG;
	memcpy(buf, a, la);
	if (b)
		memcpy(buf + la, b, lb);
	return xs_call(type, txn, buf, (uint32_t)(la + lb), reply, rlen);
}

/* ---- watches --------------------------------------------------------- */

int xs_watch(const char *path, const char *token)
{
	struct watch *w;
	int err;

	if (watch_of(token))
		return -EEXIST;
	if (!(w = calloc(1, sizeof *w)) || !(w->path = malloc(strlen(path) + 1)) ||
	    !(w->token = malloc(strlen(token) + 1))) {
		if (w)
			free(w->path);
		free(w);
		return -ENOMEM;
	}
	memcpy(w->path, path, strlen(path) + 1);
	memcpy(w->token, token, strlen(token) + 1);
	w->next = watches;
	watches = w; /* before the request: its first event may come first */
	if ((err = xs_call_str(XS_WATCH, 0, path, token, true, NULL, NULL))) {
		watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	return err;
}

static void drop_event(unsigned i)
{
	free(queue[i].buf);
	memmove(&queue[i], &queue[i + 1], (queued - i - 1) * sizeof queue[0]);
	queued--;
}

int xs_unwatch(const char *path, const char *token)
{
	int err = xs_call_str(XS_UNWATCH, 0, path, token, true, NULL, NULL);

	/* as libxenstore: its events go too; then the watch (token may be
	 * the watch's own) */
	for (unsigned i = queued; i-- > 0;)
		if (!strcmp(queue[i].token, token))
			drop_event(i);
	for (struct watch **p = &watches; *p; p = &(*p)->next)
		if (!strcmp((*p)->token, token)) {
			struct watch *w = *p;
			*p = w->next;
			free(w->path);
			free(w->token);
			free(w);
			break;
		}
	return err;
}

static void copy_out(char *dst, size_t cap, const char *src)
{
	if (cap)
		snprintf(dst, cap, "%s", src);
}

/* The first event for tokens starting with prefix: a lost watch's (*w)
 * or a queued one (*i). */
static bool find_event(const char *prefix, struct watch **w, unsigned *i)
{
	size_t pl = strlen(prefix);

	for (*w = watches; *w; *w = (*w)->next)
		if ((*w)->lost && !strncmp((*w)->token, prefix, pl))
			return true;
	for (*i = 0; *i < queued; ++*i)
		if (!strncmp(queue[*i].token, prefix, pl))
			return true;
	return false;
}

int xs_event_take(const char *prefix, char *token, size_t tsize, char *path, size_t psize)
{
	size_t pl = strlen(prefix);
	struct watch *w;
	unsigned i;

	if (!find_event(prefix, &w, &i))
		return 0;
	if (w) {
		w->lost = false;
		copy_out(token, tsize, w->token + pl);
		copy_out(path, psize, w->path);
	} else {
		copy_out(token, tsize, queue[i].token + pl);
		copy_out(path, psize, queue[i].path);
		drop_event(i);
	}
	return 1;
}

bool xs_event_ready(const char *prefix)
{
	struct watch *w;
	unsigned i;

	return find_event(prefix, &w, &i);
}

/* ---- for programs ---------------------------------------------------- */

int xs_read(const char *path, char *buf, size_t cap)
{
	char *r;
	int err = xs_call_str(XS_READ, 0, path, NULL, false, &r, NULL);

	if (!err) {
		copy_out(buf, cap, r);
		free(r);
	}
	return err;
}

int xs_write(const char *path, const char *value)
{
	return xs_call_str(XS_WRITE, 0, path, value, false, NULL, NULL);
}

void xs_unwatch_all(const char *prefix)
{
	size_t pl = strlen(prefix);

	for (struct watch *w = watches, *next; w; w = next) {
		next = w->next;
		if (!strncmp(w->token, prefix, pl))
			(void)xs_unwatch(w->path, w->token);
	}
}
