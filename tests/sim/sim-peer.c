/* SPDX-License-Identifier: MIT */
/*
 * sim-peer: one domain's part in the sim platform tests, run under
 * `ivc-sim run`. Peers meet through files in a shared directory.
 *
 *   sim-peer grant PEER NPAGES DIR rw|ro [deathwatch]
 *   sim-peer map GRANTER DIR rw|ro [die]
 *   sim-peer probe GRANTER DIR         (a third domain: must be refused)
 *   sim-peer evt-a PEER DIR
 *   sim-peer evt-b PEER DIR
 *
 * Exit 0 when every expectation held; messages on stderr say which did not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"

#define PAGE 4096u
#define TIMEOUT_MS 10000
/* Control bytes in page 0 of a share. */
#define OFF_GRANTER_LIVE 0
#define OFF_MAPPER_LIVE 4
#define OFF_REPLY 8

static const struct ivc_plat_ops *ops = &ivc_plat_sim;
static struct ivc_plat *plat;
static const char *dir;
static const char *me = "sim-peer";

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s (dom%u): ", me, plat ? ops->domid(plat) : 0u);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#include "check.h"

static void path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static void touch(const char *name)
{
	char p[512], t[520];
	FILE *f;

	path_of(p, sizeof p, name);
	snprintf(t, sizeof t, "%s.tmp", p);
	f = fopen(t, "w");
	if (!f || fclose(f) || rename(t, p))
		fail("cannot create %s", p);
}

static void wait_file(const char *name)
{
	char p[512];

	path_of(p, sizeof p, name);
	for (int i = 0; i < TIMEOUT_MS / 5; i++) {
		if (access(p, F_OK) == 0)
			return;
		usleep(5000);
	}
	fail("timed out waiting for %s", p);
}

/* After the fd polled readable: the pending port. -EAGAIN may end a batch
 * (platform.h); then the fd must still poll readable. */
static int take_pending(uint32_t *got)
{
	struct pollfd pfd = { .fd = ops->evtchn_fd(plat), .events = POLLIN };
	int r = ops->evtchn_pending(plat, got);

	if (r != -EAGAIN)
		return r;
	CHECK_EQ(poll(&pfd, 1, 0), 1);
	return ops->evtchn_pending(plat, got);
}

/* Waits for an event on `port`; returns 0, or -ETIMEDOUT. */
static int wait_event(uint32_t port, int timeout_ms)
{
	struct pollfd pfd = { .fd = ops->evtchn_fd(plat), .events = POLLIN };
	uint32_t got;

	if (pfd.fd < 0)
		fail("evtchn fd: %s", strerror(-pfd.fd));
	for (;;) {
		int r = poll(&pfd, 1, timeout_ms);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno != EINTR)
			fail("poll: %s", strerror(errno));
		if (r > 0 && ops->evtchn_pending(plat, &got) == 0) {
			CHECK_EQ(ops->evtchn_unmask(plat, got), 0);
			if (got == port)
				return 0;
		}
	}
}

static uint8_t pattern(uint32_t page, uint32_t i)
{
	return (uint8_t)(page * 131u + i * 7u + 1u);
}

/* Polls (dom0 only) until our end of an event channel reverts to
 * unbound, as Xen does when the peer's end goes; up to 5 s. */
static void wait_unbound(uint32_t port)
{
	uint32_t st = 0, rd, rp;

	for (int i = 0; i < 500; i++) {
		CHECK_EQ(ops->evtchn_status(plat, port, &st, &rd, &rp), 0);
		if (st == IVC_PLAT_EVTCHN_UNBOUND)
			return;
		usleep(10000);
	}
	CHECK_EQ(st, IVC_PLAT_EVTCHN_UNBOUND);
}

static int do_grant(int argc, char **argv)
{
	uint32_t peer = (uint32_t)atoi(argv[0]), n = (uint32_t)atoi(argv[1]);
	bool ro = !strcmp(argv[3], "ro"), deathwatch = argc > 4;
	bool destroyed = deathwatch && !strcmp(argv[4], "destroywatch");
	uint32_t *grefs = calloc(n, 4), port;
	struct ivc_plat_share *s;
	uint8_t *mem;
	void *addr;

	CHECK_EQ(ops->share(plat, peer, n, ro, &addr, grefs, &s), 0);
	mem = addr;
	for (uint32_t p = 0; p < n; p++)
		for (uint32_t i = 0; i < PAGE; i++)
			mem[p * PAGE + i] = pattern(p, i);
	mem[OFF_GRANTER_LIVE] = 1;
	mem[OFF_MAPPER_LIVE] = 0;
	mem[OFF_REPLY] = 0;
	CHECK_EQ(ops->evtchn_alloc_unbound(plat, peer, &port), 0);
	CHECK_EQ(ops->share_notify(plat, s, OFF_GRANTER_LIVE,
				   IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT, port),
		 0);
	/* Publish: my domid, port, page count, refs. */
	char p[512];
	path_of(p, sizeof p, "grant.tmp");
	FILE *f = fopen(p, "w");
	if (!f)
		fail("cannot write %s", p);
	fprintf(f, "%u %u %u", ops->domid(plat), port, n);
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, " %u", grefs[i]);
	fprintf(f, "\n");
	fclose(f);
	char q[512];
	path_of(q, sizeof q, "grant");
	if (rename(p, q))
		fail("rename");

	if (wait_event(port, TIMEOUT_MS))
		fail("no event from the mapper");
	if (!ro)
		CHECK_EQ(mem[OFF_REPLY], 0xab);

	if (destroyed) {
		/* The mapper's whole domain is destroyed (ivc-sim destroy, as
		 * `xl destroy`): no kernel of it runs its unmap-notify, so
		 * neither the byte nor an event tells us. dom0 sees its port
		 * revert to unbound and the domain gone. */
		uint32_t got;
		touch("mapped-seen");
		wait_unbound(port);
		CHECK_EQ(ops->domain_alive(plat, peer), 0);
		usleep(100000);
		CHECK_EQ(ops->evtchn_pending(plat, &got), -EAGAIN);
		CHECK_EQ(mem[OFF_MAPPER_LIVE], 1);
		/* Xen released the dead domain's mappings: access can end. */
		CHECK_EQ(ops->unshare(plat, s), 0);
		CHECK_EQ(ops->evtchn_unbind(plat, port), 0);
		touch("death-seen");
		free(grefs);
		return 0;
	}
	if (deathwatch) {
		/* The mapper is SIGKILLed mid-transfer: its unmap-notify must
		 * clear its live byte and signal us; then the host has reclaimed
		 * its mapping and we can end access. */
		touch("mapped-seen");
		if (wait_event(port, TIMEOUT_MS))
			fail("no unmap-notify event after the mapper died");
		CHECK_EQ(mem[OFF_MAPPER_LIVE], 0);
		CHECK_EQ(ops->unshare(plat, s), 0);
		/* Once the host has destroyed the domain, our end of its event
		 * channel reverts to unbound, as in Xen; only dom0 may ask (a
		 * Linux domU's privcmd refuses, and Xen's domain list is
		 * privileged). */
		uint32_t st = 0, rd, rp;
		if (ops->domid(plat) != 0) {
			CHECK_EQ(ops->evtchn_status(plat, port, &st, &rd, &rp), -ENOSYS);
			CHECK_EQ(ops->domain_alive(plat, peer), -ENOSYS);
			CHECK_EQ(ops->domain_alive(plat, ops->domid(plat)), 1);
			touch("death-seen");
			free(grefs);
			return 0;
		}
		wait_unbound(port);
		/* The port went with the process; the domain goes a little
		 * later, when its `ivc-sim run` sees its command end. */
		int alive = 1;
		for (int i = 0; i < 500 && alive == 1; i++) {
			alive = ops->domain_alive(plat, peer);
			if (alive == 1)
				usleep(10000);
		}
		CHECK_EQ(alive, 0);
		touch("death-seen");
		free(grefs);
		return 0;
	}
	/* Ending access while mapped is refused, as Xen does. */
	CHECK_EQ(ops->unshare(plat, s), -EBUSY);
	CHECK_EQ(mem[0 + 100], pattern(0, 100)); /* share still intact */
	touch("busy-ok");
	wait_file("unmapped");
	/* The read-only share is also probed by a third domain, which must
	 * find it still granted (to someone else). */
	if (ro)
		wait_file("probe-done");
	CHECK_EQ(ops->unshare(plat, s), 0);
	CHECK_EQ(ops->evtchn_unbind(plat, port), 0);
	free(grefs);
	return 0;
}

struct grant_info {
	uint32_t domid, port, n;
	uint32_t grefs[8192];
};

static void read_grant(struct grant_info *g)
{
	char p[512];
	FILE *f;

	wait_file("grant");
	path_of(p, sizeof p, "grant");
	f = fopen(p, "r");
	if (!f || fscanf(f, "%u %u %u", &g->domid, &g->port, &g->n) != 3 || g->n > 8192)
		fail("bad grant file");
	for (uint32_t i = 0; i < g->n; i++)
		if (fscanf(f, "%u", &g->grefs[i]) != 1)
			fail("bad grant file");
	fclose(f);
}

static int do_map(int argc, char **argv)
{
	static struct grant_info g;
	bool ro = !strcmp(argv[2], "ro"), die = argc > 3;
	struct ivc_plat_map *m;
	uint32_t port;
	uint8_t *mem;
	void *addr;

	read_grant(&g);
	CHECK_EQ(g.domid, (uint32_t)atoi(argv[0]));
	if (ro) /* a read-only grant cannot be mapped writable */
		CHECK_EQ(ops->map(plat, g.domid, g.grefs, g.n, false, &addr, &m), -EPERM);
	CHECK_EQ(ops->map(plat, g.domid, g.grefs, g.n, ro, &addr, &m), 0);
	mem = addr;
	for (uint32_t p = 0; p < g.n; p++)
		for (uint32_t i = 16; i < PAGE; i++)
			if (mem[p * PAGE + i] != pattern(p, i))
				fail("page %u byte %u: %#x, expected %#x", p, i, mem[p * PAGE + i],
				     pattern(p, i));
	CHECK_EQ(mem[OFF_GRANTER_LIVE], 1);
	CHECK_EQ(ops->evtchn_bind(plat, g.domid, g.port, &port), 0);
	if (ro) {
		/* A write must fault: try it in a child. */
		pid_t pid = fork();
		if (pid == 0) {
			signal(SIGSEGV, SIG_DFL);
			((volatile uint8_t *)mem)[100] = 0;
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
		if (!WIFSIGNALED(st) || (WTERMSIG(st) != SIGSEGV && WTERMSIG(st) != SIGBUS))
			fail("writing a read-only mapping did not fault (status %#x)", st);
		CHECK_EQ(mem[100], pattern(0, 100));
		/* ...and gntdev refuses to clear a byte it could not write. */
		CHECK_EQ(
		    ops->map_notify(plat, m, OFF_MAPPER_LIVE, IVC_PLAT_NOTIFY_CLEAR_BYTE, port),
		    -EINVAL);
	} else {
		mem[OFF_MAPPER_LIVE] = 1;
		CHECK_EQ(ops->map_notify(plat, m, OFF_MAPPER_LIVE,
					 IVC_PLAT_NOTIFY_CLEAR_BYTE | IVC_PLAT_NOTIFY_SEND_EVENT,
					 port),
			 0);
		mem[OFF_REPLY] = 0xab;
	}
	CHECK_EQ(ops->evtchn_notify(plat, port), 0);
	if (die) {
		char p[512];
		path_of(p, sizeof p, "mapper.pid");
		FILE *f = fopen(p, "w");
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
		/* Keep writing until killed: death comes mid-transfer. */
		for (uint32_t i = 0;; i++) {
			mem[PAGE + (i % (PAGE * (g.n - 1)))] = (uint8_t)i;
			if (i % 4096 == 0)
				usleep(100);
		}
	}
	wait_file("busy-ok");
	CHECK_EQ(ops->unmap(plat, m), 0);
	CHECK_EQ(ops->evtchn_unbind(plat, port), 0);
	touch("unmapped");
	return 0;
}

static int do_probe(char **argv)
{
	static struct grant_info g;
	struct ivc_plat_map *m;
	void *addr;
	uint32_t bogus = 7777, port;

	read_grant(&g);
	CHECK_EQ(g.domid, (uint32_t)atoi(argv[0]));
	/* Granted to someone else. */
	CHECK_EQ(ops->map(plat, g.domid, g.grefs, g.n, false, &addr, &m), -EPERM);
	CHECK_EQ(ops->map(plat, g.domid, g.grefs, 1, true, &addr, &m), -EPERM);
	/* Unknown reference; a domain that does not exist. */
	CHECK_EQ(ops->map(plat, g.domid, &bogus, 1, false, &addr, &m), -EINVAL);
	CHECK_EQ(ops->map(plat, 4321, g.grefs, 1, false, &addr, &m), -EINVAL);
	/* Its event channel was offered to another domain. */
	CHECK_EQ(ops->evtchn_bind(plat, g.domid, g.port, &port), -EINVAL);
	touch("probe-done");
	return 0;
}

static int do_evt_a(char **argv)
{
	uint32_t peer = (uint32_t)atoi(argv[0]), port, st, rd, rp, got;
	int fd;

	CHECK_EQ(ops->evtchn_alloc_unbound(plat, peer, &port), 0);
	CHECK_EQ(ops->evtchn_status(plat, port, &st, &rd, &rp), 0);
	CHECK_EQ(st, IVC_PLAT_EVTCHN_UNBOUND);
	CHECK_EQ(rd, peer);
	/* Notifying an unbound port is silently dropped, as in Xen. */
	CHECK_EQ(ops->evtchn_notify(plat, port), 0);
	char p[512];
	path_of(p, sizeof p, "evt-port");
	FILE *f = fopen(p, "w");
	fprintf(f, "%u\n", port);
	fclose(f);
	touch("evt-ready");

	/* b sends one event (wait_event unmasks it). */
	if (wait_event(port, TIMEOUT_MS))
		fail("first event lost");
	touch("evt-got1");
	/* b sends one more: delivered, and the port stays masked... */
	wait_file("evt-sent2");
	fd = ops->evtchn_fd(plat);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	CHECK_EQ(poll(&pfd, 1, TIMEOUT_MS), 1);
	CHECK_EQ(take_pending(&got), 0);
	CHECK_EQ(got, port);
	touch("evt-masked");
	/* ...so the two b sends now only leave it pending: nothing until we
	 * unmask (the fd may wake us, but no port comes, and then it is
	 * quiet)... */
	wait_file("evt-sent4");
	CHECK_EQ(ops->evtchn_pending(plat, &got), -EAGAIN);
	CHECK_EQ(ops->evtchn_pending(plat, &got), -EAGAIN);
	CHECK_EQ(poll(&pfd, 1, 200), 0);
	CHECK_EQ(ops->evtchn_unmask(plat, port), 0);
	/* ...and then exactly one more. */
	CHECK_EQ(poll(&pfd, 1, TIMEOUT_MS), 1);
	CHECK_EQ(take_pending(&got), 0);
	CHECK_EQ(got, port);
	CHECK_EQ(ops->evtchn_unmask(plat, port), 0);
	CHECK_EQ(ops->evtchn_pending(plat, &got), -EAGAIN);
	CHECK_EQ(ops->evtchn_pending(plat, &got), -EAGAIN);
	CHECK_EQ(poll(&pfd, 1, 200), 0);
	touch("evt-unmasked");

	/* b unbinds: our end reverts to unbound with b as its remote. */
	wait_file("evt-b-closed");
	CHECK_EQ(ops->evtchn_status(plat, port, &st, &rd, &rp), 0);
	CHECK_EQ(st, IVC_PLAT_EVTCHN_UNBOUND);
	CHECK_EQ(ops->evtchn_notify(plat, port), 0);
	/* b binds our port again: our notifies reach the new end, not the
	 * old one's doorbell (the sim's fast path must see the change). */
	touch("evt-a-dropped");
	wait_file("evt-b-rebound");
	CHECK_EQ(ops->evtchn_notify(plat, port), 0);
	wait_file("evt-b-closed2");
	CHECK_EQ(ops->evtchn_unbind(plat, port), 0);
	/* Notifying a closed port is an error. */
	CHECK_EQ(ops->evtchn_notify(plat, port), -EINVAL);
	CHECK_EQ(ops->evtchn_unbind(plat, port), -EINVAL);
	return 0;
}

static int do_evt_b(char **argv)
{
	uint32_t peer = (uint32_t)atoi(argv[0]), rport, port, st, rd, rp;
	char p[512];
	FILE *f;

	wait_file("evt-ready");
	path_of(p, sizeof p, "evt-port");
	f = fopen(p, "r");
	if (!f || fscanf(f, "%u", &rport) != 1)
		fail("bad evt-port");
	fclose(f);
	CHECK_EQ(ops->evtchn_bind(plat, peer, rport, &port), 0);
	/* As Xen: the new port is pending at once, and only once. */
	if (wait_event(port, TIMEOUT_MS))
		fail("no event on the freshly bound port");
	CHECK_EQ(wait_event(port, 200), -ETIMEDOUT);
	CHECK_EQ(ops->evtchn_bind(plat, peer, rport, &port), -EINVAL); /* already bound */
	if (ops->domid(plat) != 0) {
		/* A domU may not ask (its privcmd refuses, as on Xen). */
		CHECK_EQ(ops->evtchn_status(plat, port, &st, &rd, &rp), -ENOSYS);
	} else {
		CHECK_EQ(ops->evtchn_status(plat, port, &st, &rd, &rp), 0);
		CHECK_EQ(st, IVC_PLAT_EVTCHN_INTERDOMAIN);
		CHECK_EQ(rd, peer);
		CHECK_EQ(rp, rport);
	}
	CHECK_EQ(ops->evtchn_notify(plat, port), 0);
	wait_file("evt-got1");
	CHECK_EQ(ops->evtchn_notify(plat, port), 0);
	touch("evt-sent2");
	wait_file("evt-masked");
	for (int i = 0; i < 2; i++)
		CHECK_EQ(ops->evtchn_notify(plat, port), 0);
	usleep(50000);
	touch("evt-sent4");
	wait_file("evt-unmasked");
	CHECK_EQ(ops->evtchn_unbind(plat, port), 0);
	touch("evt-b-closed");
	wait_file("evt-a-dropped");
	CHECK_EQ(ops->evtchn_bind(plat, peer, rport, &port), 0);
	if (wait_event(port, TIMEOUT_MS)) /* pending at once */
		fail("no event on the port bound again");
	touch("evt-b-rebound");
	if (wait_event(port, TIMEOUT_MS))
		fail("a's notify after the second bind lost");
	CHECK_EQ(ops->evtchn_unbind(plat, port), 0);
	touch("evt-b-closed2");
	return 0;
}

int main(int argc, char **argv)
{
	int err;

	if (argc < 4) {
		fprintf(stderr, "usage: see the comment at the top of sim-peer.c\n");
		return 2;
	}
	me = argv[1];
	dir = !strcmp(argv[1], "grant") && argc >= 6 ? argv[4] : argv[3];
	err = ops->open(&plat);
	if (err)
		fail("cannot open the sim platform: %s", strerror(-err));
	if (!strcmp(argv[1], "grant") && argc >= 6)
		err = do_grant(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "map") && argc >= 5)
		err = do_map(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "probe"))
		err = do_probe(argv + 2);
	else if (!strcmp(argv[1], "evt-a"))
		err = do_evt_a(argv + 2);
	else if (!strcmp(argv[1], "evt-b"))
		err = do_evt_b(argv + 2);
	else
		fail("unknown role");
	ops->close(plat);
	return err;
}
