/* SPDX-License-Identifier: MIT */
/*
 * ring-demo: two domains exchange checksummed messages over one libIVC
 * ring pair, using the platform directly (grant pages, an event channel,
 * XenStore), the way libivc does underneath. Run it by hand on a sim
 * host:
 *
 *   ivc-sim run --domid 1 -- ring-demo serve 2 [COUNT] &
 *   ivc-sim run --domid 2 -- ring-demo connect 1 [COUNT]
 *
 * The serving side (protocol side 0) grants the control area and both
 * rings to its peer and publishes the grant references and the event
 * channel under its own data/ directory in XenStore, readable only by the
 * peer. The connecting side (side 1) maps them, validates the header and
 * attaches. Each sends COUNT messages (default 50000); each message carries
 * a sequence number and an FNV-1a checksum that the receiver verifies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "ivc_core.h"
#include "platform.h"

#define MAX_MSG 8192u
#define ORDER 16u /* 64 KiB each way */
#define WAIT_MS 10000

static const struct ivc_plat_ops *ops = &ivc_plat_sim;

struct end {
	struct ivc_plat *plat;
	struct ivc_core core;
	uint32_t port;
	int evfd;
	uint64_t signals;
};

struct msg_hdr {
	uint32_t seq;
	uint32_t len;      /* payload bytes after this header */
	uint64_t checksum; /* FNV-1a 64 of the payload */
};

static const char *me = "ring-demo";

static void die(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", me, what, strerror(err < 0 ? -err : err));
	exit(1);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void kick(struct end *e)
{
	if (ivc_core_notify_check(&e->core)) {
		int err = ops->evtchn_notify(e->plat, e->port);
		if (err)
			die("notify", err);
		e->signals++;
	}
}

/* Sleeps until the event channel fires (0) or timeout_ms (-ETIMEDOUT). */
static int wait_event(struct end *e, int timeout_ms)
{
	struct pollfd pfd = { .fd = e->evfd, .events = POLLIN };
	uint32_t port;
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	while (ops->evtchn_pending(e->plat, &port) == 0)
		ops->evtchn_unmask(e->plat, port);
	return 0;
}

static char *xs_path(uint32_t domid, const char *key)
{
	static char buf[128];

	snprintf(buf, sizeof buf, "/local/domain/%u/data/ring-demo%s%s", domid, key ? "/" : "",
		 key ? key : "");
	return buf;
}

/* Side 0: grant everything to the peer and publish it in XenStore. */
static void serve(struct end *e, struct xs_handle *xs, uint32_t peer)
{
	struct ivc_core_params p = {
		IVC_WIRE_MODE_MESSAGE, { ORDER, ORDER }, { MAX_MSG, MAX_MSG }, 0
	};
	struct ivc_plat_share *share;
	uint32_t grefs[64], ring_pages = 1u << (ORDER - 12), n;
	uint8_t *mem;
	void *addr;
	int err;

	if (ivc_core_params_check(&p))
		die("params", EINVAL);
	n = p.ctrl_pages + 2 * ring_pages;
	err = ops->share(e->plat, peer, n, false, &addr, grefs, &share);
	if (err)
		die("share pages", err);
	mem = addr;
	err = ivc_core_create(&e->core, mem, (size_t)p.ctrl_pages * 4096, &p,
			      mem + (size_t)p.ctrl_pages * 4096,
			      mem + (size_t)(p.ctrl_pages + ring_pages) * 4096);
	if (err)
		die("lay out the control area", err);
	/* Data page references go into the control area (spec section 2). */
	memcpy(ivc_core_grefs(mem), grefs + p.ctrl_pages, 2 * ring_pages * 4u);
	err = ops->evtchn_alloc_unbound(e->plat, peer, &e->port);
	if (err)
		die("event channel", err);
	/* If we die, the peer sees our live byte cleared and is woken. */
	err = ops->share_notify(e->plat, share, IVC_WIRE_LIVE_OFFSET(0),
				IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT, e->port);
	if (err)
		die("unmap-notify", err);

	/* Publish in one transaction, readable by the peer only. */
	struct xs_permissions perms[2] = { { ops->domid(e->plat), XS_PERM_NONE },
					   { peer, XS_PERM_READ } };
	char refs[64 * 12] = "", port[16];
	for (uint32_t i = 0; i < p.ctrl_pages; i++)
		snprintf(refs + strlen(refs), sizeof refs - strlen(refs), "%s%u", i ? "," : "",
			 grefs[i]);
	snprintf(port, sizeof port, "%u", e->port);
	for (;;) {
		xs_transaction_t t = xs_transaction_start(xs);
		bool ok =
		    t != XBT_NULL && xs_mkdir(xs, t, xs_path(ops->domid(e->plat), NULL)) &&
		    xs_set_permissions(xs, t, xs_path(ops->domid(e->plat), NULL), perms, 2) &&
		    xs_write(xs, t, xs_path(ops->domid(e->plat), "ring-ref"), refs, strlen(refs)) &&
		    xs_write(xs, t, xs_path(ops->domid(e->plat), "event-channel"), port,
			     strlen(port));
		if (!ok)
			die("publish in XenStore", errno);
		if (xs_transaction_end(xs, t, false))
			break;
		if (errno != EAGAIN)
			die("XenStore transaction", errno);
	}
	printf("%s: dom%u granted %u pages to dom%u (ring-ref %s, event channel %u)\n", me,
	       ops->domid(e->plat), n, peer, refs, e->port);
	fflush(stdout);
	/* The peer signals once it has attached. */
	while (ivc_core_peer(&e->core) == IVC_CORE_PEER_WAITING)
		if (wait_event(e, WAIT_MS))
			die("peer did not attach", ETIMEDOUT);
}

/* Side 1: find the peer's offer, map it, validate, attach. */
static void connect_to(struct end *e, struct xs_handle *xs, uint32_t peer)
{
	struct ivc_core_params p;
	struct ivc_plat_map *ctrl_map, *ring_map[2];
	uint32_t ctrl_refs[16], nctrl = 0, rport;
	static uint32_t data_refs[2 * 4096];
	void *ctrl, *ring[2];
	unsigned int len;
	char *v = NULL;
	int err;

	/* Wait for the offer with a watch, not by polling. */
	if (!xs_watch(xs, xs_path(peer, "event-channel"), "offer"))
		die("watch", errno);
	for (double end = now() + WAIT_MS / 1000.0; now() < end;) {
		v = xs_read(xs, XBT_NULL, xs_path(peer, "event-channel"), &len);
		if (v)
			break;
		struct pollfd pfd = { .fd = xs_fileno(xs), .events = POLLIN };
		if (poll(&pfd, 1, 200) > 0) {
			unsigned int num;
			free(xs_read_watch(xs, &num));
		}
	}
	xs_unwatch(xs, xs_path(peer, "event-channel"), "offer");
	if (!v)
		die("no offer from the peer", ETIMEDOUT);
	rport = (uint32_t)strtoul(v, NULL, 10);
	free(v);
	v = xs_read(xs, XBT_NULL, xs_path(peer, "ring-ref"), &len);
	if (!v)
		die("read ring-ref", errno);
	for (char *s = v, *tok; (tok = strsep(&s, ",")) && nctrl < 16;)
		ctrl_refs[nctrl++] = (uint32_t)strtoul(tok, NULL, 10);
	free(v);

	err = ops->map(e->plat, peer, ctrl_refs, nctrl, false, &ctrl, &ctrl_map);
	if (err)
		die("map the control area", err);
	err = ivc_core_read_params(ctrl, (size_t)nctrl * 4096, &p);
	if (err)
		die("control area refused", err);
	/* Copy the data page references out once; the peer could change
	 * them under us. Their number comes from the validated header. */
	uint32_t n0 = ivc_wire_ring_pages(p.order[0]), n1 = ivc_wire_ring_pages(p.order[1]);
	memcpy(data_refs, ivc_core_grefs(ctrl), (n0 + n1) * 4u);
	err = ops->map(e->plat, peer, data_refs, n0, false, &ring[0], &ring_map[0]);
	if (!err)
		err = ops->map(e->plat, peer, data_refs + n0, n1, false, &ring[1], &ring_map[1]);
	if (err)
		die("map the rings", err);
	err = ops->evtchn_bind(e->plat, peer, rport, &e->port);
	if (err)
		die("bind the event channel", err);
	err = ops->map_notify(e->plat, ctrl_map, IVC_WIRE_LIVE_OFFSET(1),
			      IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT, e->port);
	if (err)
		die("unmap-notify", err);
	err = ivc_core_attach(&e->core, ctrl, (size_t)nctrl * 4096, &p, ring[0], ring[1]);
	if (err)
		die("attach", err);
	ops->evtchn_notify(e->plat, e->port);
	printf("%s: dom%u mapped dom%u's %u control + %u ring pages, protocol v%u\n", me,
	       ops->domid(e->plat), peer, nctrl, n0 + n1, IVC_WIRE_VERSION);
	fflush(stdout);
}

static int exchange(struct end *e, unsigned side, long count)
{
	static uint8_t out[MAX_MSG], in[MAX_MSG];
	struct msg_hdr *h = (struct msg_hdr *)out;
	uint64_t seed = 42 + side, bytes = 0;
	long sent = 0, rcvd = 0, bad = 0;
	double t0 = now();
	int r = 0;

	while (sent < count || rcvd < count) {
		int moved = 0;

		while (sent < count) {
			uint32_t len = (uint32_t)(rnd(&seed) % (MAX_MSG - sizeof *h));
			for (uint32_t i = 0; i < len; i += 8) {
				uint64_t x = rnd(&seed);
				memcpy(out + sizeof *h + i, &x, len - i < 8 ? len - i : 8);
			}
			h->seq = (uint32_t)sent;
			h->len = len;
			h->checksum = fnv1a(out + sizeof *h, len);
			r = ivc_core_send(&e->core, out, sizeof *h + len);
			if (r == -EAGAIN)
				break;
			if (r)
				die("send", r);
			sent++;
			moved = 1;
		}
		while (rcvd < count && (r = ivc_core_recv(&e->core, in, sizeof in)) >= 0) {
			const struct msg_hdr *m = (const struct msg_hdr *)in;
			if ((size_t)r < sizeof *m || m->len != r - sizeof *m || m->seq != rcvd ||
			    fnv1a(in + sizeof *m, m->len) != m->checksum)
				bad++;
			bytes += (uint64_t)r;
			rcvd++;
			moved = 1;
		}
		if (rcvd < count && r != -EAGAIN && r < 0)
			die("recv", r);
		kick(e);
		if (moved)
			continue;
		unsigned ev =
		    (sent < count ? IVC_CORE_WAIT_TX : 0) | (rcvd < count ? IVC_CORE_WAIT_RX : 0);
		r = ivc_core_prepare_wait(&e->core, ev, MAX_MSG);
		if (r < 0)
			die("wait", r);
		if (r == 1 && wait_event(e, WAIT_MS))
			die("peer silent", ETIMEDOUT);
	}
	printf("%s: sent %ld, received %ld messages (%.1f MiB) in %.2f s; %ld bad checksums; "
	       "%llu wake-up signals\n",
	       me, sent, rcvd, (double)bytes / 1048576.0, now() - t0, bad,
	       (unsigned long long)e->signals);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct end e = { 0 };
	struct xs_handle *xs;
	uint32_t peer;
	long count;
	int serving, rc, err;

	if (argc < 3 || (strcmp(argv[1], "serve") && strcmp(argv[1], "connect"))) {
		fprintf(stderr, "usage: ring-demo serve|connect PEER_DOMID [COUNT]\n");
		return 2;
	}
	serving = !strcmp(argv[1], "serve");
	peer = (uint32_t)strtoul(argv[2], NULL, 10);
	count = argc > 3 ? atol(argv[3]) : 50000;
	me = serving ? "serve  " : "connect";
	err = ops->open(&e.plat);
	if (err)
		die("sim platform (run me under ivc-sim run)", err);
	e.evfd = ops->evtchn_fd(e.plat);
	if (e.evfd < 0)
		die("event channels", e.evfd);
	xs = xs_open(0);
	if (!xs)
		die("XenStore", errno);

	if (serving)
		serve(&e, xs, peer);
	else
		connect_to(&e, xs, peer);
	rc = exchange(&e, serving ? 0 : 1, count);

	/* Orderly close: the server closes, the client drains to EOF. */
	if (!serving) {
		int r;
		while ((r = ivc_core_recv(&e.core, NULL, 0)) == -EAGAIN)
			if (ivc_core_prepare_wait(&e.core, IVC_CORE_WAIT_RX, 0) == 1 &&
			    wait_event(&e, WAIT_MS))
				break;
		printf("%s: after the last message: %s\n", me,
		       r == -EPIPE ? "end-of-stream (peer closed)" : strerror(-r));
	}
	ivc_core_close(&e.core);
	ops->evtchn_notify(e.plat, e.port);
	if (serving) {
		/* Wait for the peer to go before removing our offer; the
		 * platform releases pages and port when we exit. */
		while (ivc_core_peer(&e.core) == IVC_CORE_PEER_UP)
			if (wait_event(&e, WAIT_MS))
				break;
		xs_rm(xs, XBT_NULL, xs_path(ops->domid(e.plat), NULL));
	}
	xs_close(xs);
	ops->close(e.plat);
	return rc;
}
