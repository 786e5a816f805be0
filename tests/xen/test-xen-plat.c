/* SPDX-License-Identifier: MIT */
/*
 * test-xen-plat - the xen platform against the real thing.
 *
 * Without Xen (no /dev/xen/evtchn): open() must fail with -ENODEV, cleanly.
 * With Xen, as root: this domain grants pages to itself and maps them,
 * and loops an event channel back to itself, checking the semantics
 * platform.h promises, among them how a sleep ends. Exit 0 pass, 1
 * fail, 77 skip (not root).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xen.h"

#define PAGE 4096u
#define NOBODY 32751u /* DOMID_FIRST_RESERVED - 1: surely not a live domain */

static const struct ivc_plat_ops *ops = &ivc_plat_xen;
static struct ivc_plat *plat;
static uint32_t self;

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#include "check.h"

static long long now_ms(void)
{
	return ops->now_ns() / 1000000;
}

/* The next pending port within timeout_ms, or -EAGAIN. pending() may say
 * -EAGAIN while the descriptor still polls readable (platform.h): look
 * again until the time is up. */
static long wait_port(int timeout_ms)
{
	struct pollfd pfd = { .fd = ops->evtchn_fd(plat), .events = POLLIN };
	long long end = now_ms() + timeout_ms;
	uint32_t port;
	int err;

	while ((err = ops->evtchn_pending(plat, &port)) == -EAGAIN) {
		long long left = end - now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
	}
	return err ? err : (long)port;
}

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, sig);
}

/* Whether writing *p faults. In-process: a PV domain's gntdev mappings
 * are not inherited by fork()ed children. */
static bool write_faults(volatile uint8_t *p)
{
	struct sigaction sa = { .sa_handler = on_fault }, old_segv, old_bus;
	bool faulted = false;

	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (sigsetjmp(fault_jmp, 1) == 0)
		*p = 0x5a;
	else
		faulted = true;
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return faulted;
}

static uint8_t pattern(uint32_t page, uint32_t i)
{
	return (uint8_t)(page * 31u + i * 7u + 1u);
}

/* a and b: an event channel looped back to this domain (a <-> b). */
static void test_evtchn(uint32_t *pa, uint32_t *pb)
{
	uint32_t a, b, other, st, rd, rp, tmp;
	int err;

	CHECK_EQ(ops->evtchn_alloc_unbound(plat, self, &a), 0);
	CHECK_EQ(ops->evtchn_notify(plat, a), 0); /* unbound: dropped */
	CHECK_EQ(wait_port(100), -EAGAIN);
	err = ops->evtchn_status(plat, a, &st, &rd, &rp);
	if (err == -ENOSYS) {
		printf("note: evtchn_status unavailable (no privcmd)\n");
	} else {
		CHECK_EQ(err, 0);
		CHECK_EQ(st, IVC_PLAT_EVTCHN_UNBOUND);
		CHECK_EQ(rd, self);
	}
	CHECK_EQ(ops->evtchn_bind(plat, self, a, &b), 0);
	if (err == 0) {
		CHECK_EQ(ops->evtchn_status(plat, a, &st, &rd, &rp), 0);
		CHECK_EQ(st, IVC_PLAT_EVTCHN_INTERDOMAIN);
		CHECK_EQ(rd, self);
		CHECK_EQ(rp, b);
	}
	/* Xen makes a newly bound port pending at once (a notification sent
	 * to the unbound port might have been lost): once, then quiet. */
	CHECK_EQ(wait_port(2000), b);
	CHECK_EQ(ops->evtchn_unmask(plat, b), 0);
	CHECK_EQ(wait_port(100), -EAGAIN);

	/* Delivered once, then masked until unmasked. */
	CHECK_EQ(ops->evtchn_notify(plat, b), 0);
	CHECK_EQ(wait_port(2000), a);
	CHECK_EQ(ops->evtchn_notify(plat, b), 0);
	CHECK_EQ(wait_port(200), -EAGAIN);
	CHECK_EQ(ops->evtchn_unmask(plat, a), 0);
	CHECK_EQ(wait_port(2000), a); /* the one that came while masked */
	CHECK_EQ(ops->evtchn_unmask(plat, a), 0);
	CHECK_EQ(ops->evtchn_notify(plat, a), 0);
	CHECK_EQ(wait_port(2000), b);
	CHECK_EQ(ops->evtchn_unmask(plat, b), 0);
	CHECK_EQ(wait_port(100), -EAGAIN);

	/* Bad ports; a port offered to someone else; a domain that is not. */
	CHECK_EQ(ops->evtchn_notify(plat, 0x7ffffff), -EINVAL);
	CHECK_EQ(ops->evtchn_unbind(plat, 0x7ffffff), -EINVAL);
	CHECK_EQ(ops->evtchn_alloc_unbound(plat, NOBODY, &other), 0);
	CHECK_EQ(ops->evtchn_bind(plat, self, other, &tmp), -EINVAL);
	CHECK_EQ(ops->evtchn_bind(plat, NOBODY, 1, &tmp), -ESRCH);
	CHECK_EQ(ops->evtchn_unbind(plat, other), 0);
	*pa = a;
	*pb = b;
}

/* After delay_ms: notify port, or (port 0) call wake(). */
struct later {
	int delay_ms;
	uint32_t port;
};

static void *later_main(void *v)
{
	const struct later *l = v;

	usleep((useconds_t)l->delay_ms * 1000);
	if (l->port)
		ops->evtchn_notify(plat, l->port);
	else
		ops->wake(plat);
	return NULL;
}

static pthread_t later(struct later *l)
{
	pthread_t t;

	if (pthread_create(&t, NULL, later_main, l))
		fail("pthread_create");
	return t;
}

static void *sleeper_main(void *v)
{
	__atomic_store_n((int *)v, ops->wait(plat, NULL, -1), __ATOMIC_SEQ_CST);
	return NULL;
}

/* Sleeps until got(), for at most 5 s; the time it took. */
static long long sleep_until(struct ivc_plat_store *s, int ms, bool (*got)(struct ivc_plat_store *))
{
	long long t0 = now_ms();

	while (!got(s) && now_ms() - t0 < 5000)
		if (ops->wait(plat, s, ms) < 0)
			fail("wait failed");
	return now_ms() - t0;
}

static uint32_t want_port;

static bool port_came(struct ivc_plat_store *s)
{
	uint32_t port;

	(void)s;
	if (ops->evtchn_pending(plat, &port) != 0)
		return false;
	CHECK_EQ(port, want_port);
	CHECK_EQ(ops->evtchn_unmask(plat, port), 0);
	return true;
}

static bool watch_fired(struct ivc_plat_store *s)
{
	char tok[16];

	return ops->store_event(s, tok, sizeof tok, NULL, 0) == 1 && !strcmp(tok, "t");
}

/* A sleep ends on an event, on wake(), on a watch event and, if it has a
 * length, within it; pending() never blocks (the xen platform sleeps in a
 * blocking read where it can: platform/xen/sleep.c). alarm():
 * a sleep or a pending() that never ends fails the test. */
static void test_sleep(uint32_t a, uint32_t b)
{
	struct ivc_plat_store *s;
	struct later l = { 200, b };
	pthread_t t;
	uint32_t port;
	long long t0, took;
	int r = -1;

	alarm(60);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(ops->evtchn_pending(plat, &port), -EAGAIN);
	/* An event ends a sleep without end. */
	want_port = a;
	t = later(&l);
	took = sleep_until(NULL, -1, port_came);
	pthread_join(t, NULL);
	if (took < 150 || took >= 5000)
		fail("a notified port ended a sleep after %lld ms (200 expected)", took);
	CHECK_EQ(ops->evtchn_pending(plat, &port), -EAGAIN);
	/* wake() ends one, and is no port. */
	l.port = 0;
	t = later(&l);
	t0 = now_ms();
	CHECK_EQ(ops->wait(plat, NULL, -1), 1);
	took = now_ms() - t0;
	pthread_join(t, NULL);
	if (took < 150 || took >= 5000)
		fail("wake() ended a sleep after %lld ms (200 expected)", took);
	CHECK_EQ(ops->evtchn_pending(plat, &port), -EAGAIN);
	/* A sleep with a length is over within it (it may end sooner). */
	for (int ms = 1; ms <= 300; ms *= 3) {
		t0 = now_ms();
		r = ops->wait(plat, NULL, ms);
		took = now_ms() - t0;
		if (r < 0 || took > ms + 100)
			fail("wait(%d ms) = %d after %lld ms", ms, r, took);
	}
	/* Another thread asleep (nothing pending first): it stays asleep,
	 * pending() answers at once, and the event ends the sleep and is
	 * handed out. */
	for (long q; (q = wait_port(100)) >= 0;)
		CHECK_EQ(ops->evtchn_unmask(plat, (uint32_t)q), 0);
	r = -1;
	if (pthread_create(&t, NULL, sleeper_main, &r))
		fail("pthread_create");
	usleep(300000);
	CHECK_EQ(__atomic_load_n(&r, __ATOMIC_SEQ_CST), -1);
	CHECK_EQ(ops->evtchn_pending(plat, &port), -EAGAIN);
	CHECK_EQ(ops->evtchn_notify(plat, b), 0);
	pthread_join(t, NULL);
	CHECK_EQ(r, 1);
	CHECK_EQ(wait_port(2000), a);
	CHECK_EQ(ops->evtchn_unmask(plat, a), 0);
	/* A XenStore watch event ends a sleep without end. */
	CHECK_EQ(ops->store_open(plat, &s), 0);
	CHECK_EQ(ops->store_write(s, 0, "data/ivc-plat-test", "0"), 0);
	CHECK_EQ(ops->store_watch(s, "data/ivc-plat-test", "t"), 0);
	took = sleep_until(s, -1, watch_fired); /* the watch's first event */
	if (took >= 5000)
		fail("a watch's first event did not end a sleep");
	t0 = now_ms();
	CHECK_EQ(ops->store_write(s, 0, "data/ivc-plat-test", "1"), 0);
	took = sleep_until(s, -1, watch_fired);
	if (took >= 5000)
		fail("a watch event did not end a sleep");
	printf("a watch event ended a sleep in %lld ms\n", now_ms() - t0);
	CHECK_EQ(ops->store_unwatch(s, "data/ivc-plat-test", "t"), 0);
	CHECK_EQ(ops->store_rm(s, 0, "data/ivc-plat-test"), 0);
	ops->store_close(s);
	alarm(0);
}

/* Monitoring (spec 11.3): dom0 reads a page granted to anyone, by its
 * own rights. A domU may not read another domain's (its own pages it may
 * see: privcmd lets it map its own frames). */
static void test_peek(void *mem, uint32_t gref, uint32_t bogus)
{
	struct ivc_plat_peek *pk;
	const void *view;
	int err;

	if (self != 0) {
		err = ops->peek(plat, 0, gref, &view, &pk);
		if (err != -EPERM && err != -ENOSYS)
			fail("a domU's peek at dom0's grant table: %d, want EPERM or ENOSYS", err);
	}
	((uint8_t *)mem)[17] = 0x5a;
	err = ops->peek(plat, self, gref, &view, &pk);
	if (self != 0 && (err == -EPERM || err == -ENOSYS))
		return;
	if (err) {
		fail("peek at our own grant (to another domain): %s", strerror(-err));
		return;
	}
	CHECK_EQ(((const uint8_t *)view)[17], 0x5a);
	((uint8_t *)mem)[17] = 0xa5; /* live, not a copy */
	CHECK_EQ(((const volatile uint8_t *)view)[17], 0xa5);
	if (!write_faults((void *)((uintptr_t)view + 17)))
		fail("writing through a peek did not fault");
	ops->unpeek(plat, pk);
	CHECK_EQ(ops->peek(plat, self, bogus, &view, &pk), -EINVAL);
}

static void test_grants(uint32_t a, uint32_t b)
{
	struct ivc_plat_share *s, *s2;
	struct ivc_plat_map *m, *m2;
	uint32_t grefs[3], g1, g_ro, bogus = 0x7ffffff;
	uint8_t *mem, *view;
	void *addr;
	int err;

	/* Three pages, writable, to ourselves; zeroed, then a pattern. */
	CHECK_EQ(ops->share(plat, self, 3, false, &addr, grefs, &s), 0);
	mem = addr;
	for (uint32_t i = 0; i < 3 * PAGE; i++)
		CHECK_EQ(mem[i], 0);
	for (uint32_t p = 0; p < 3; p++)
		for (uint32_t i = 0; i < PAGE; i++)
			mem[p * PAGE + i] = pattern(p, i);

	err = ops->map(plat, self, grefs, 3, false, &addr, &m);
	if (err)
		fail("mapping our own grants: %s (does this Xen refuse self-maps?)",
		     strerror(-err));
	view = addr;
	for (uint32_t p = 0; p < 3; p++)
		for (uint32_t i = 0; i < PAGE; i++)
			if (view[p * PAGE + i] != pattern(p, i))
				fail("page %u byte %u differs through the mapping", p, i);
	view[PAGE + 9] = 0xee; /* both ways */
	CHECK_EQ(mem[PAGE + 9], 0xee);

	/* Mapper's notify, set after the fact in the middle page: clears the
	 * byte and sends on a (to b) when the mapping goes. */
	view[PAGE + 100] = 1;
	CHECK_EQ(ops->map_notify(plat, m, PAGE + 100, 3, a), 0);
	CHECK_EQ(ops->map_notify(plat, m, 5 * PAGE, IVC_PLAT_NOTIFY_CLEAR_BYTE, a), -EINVAL);
	CHECK_EQ(ops->map_notify(plat, m, 0, 4, a), -EINVAL);
	CHECK_EQ(ops->unmap(plat, m), 0);
	CHECK_EQ(mem[PAGE + 100], 0);
	CHECK_EQ(wait_port(2000), b);
	CHECK_EQ(ops->evtchn_unmask(plat, b), 0);

	/* Read-only mapping of a writable grant: reads, writes fault. */
	CHECK_EQ(ops->map(plat, self, grefs, 3, true, &addr, &m), 0);
	view = addr;
	CHECK_EQ(view[2 * PAGE + 7], pattern(2, 7));
	if (!write_faults(view + 2 * PAGE + 7))
		fail("writing a read-only mapping did not fault");
	CHECK_EQ(mem[2 * PAGE + 7], pattern(2, 7));
	CHECK_EQ(ops->map_notify(plat, m, 0, IVC_PLAT_NOTIFY_CLEAR_BYTE, a), -EINVAL);
	CHECK_EQ(ops->unmap(plat, m), 0);

	/* Granter's notify, moved from page 0 to page 2: only the last one
	 * fires. Ending access while mapped is deferred on Xen, not refused. */
	CHECK_EQ(ops->map(plat, self, grefs, 3, false, &addr, &m), 0);
	view = addr;
	mem[5] = 1;
	mem[2 * PAGE + 5] = 1;
	CHECK_EQ(ops->share_notify(plat, s, 5, IVC_PLAT_NOTIFY_CLEAR_BYTE, 0), 0);
	CHECK_EQ(ops->share_notify(plat, s, 2 * PAGE + 5, 3, a), 0);
	CHECK_EQ(ops->share_notify(plat, s, 3 * PAGE, IVC_PLAT_NOTIFY_CLEAR_BYTE, a), -EINVAL);
	CHECK_EQ(ops->share_notify(plat, s, 0, IVC_PLAT_NOTIFY_SEND_EVENT, 0x7ffffff), -EINVAL);
	CHECK_EQ(ops->unshare(plat, s), 0);
	CHECK_EQ(view[2 * PAGE + 5], 0);
	CHECK_EQ(view[5], 1);
	CHECK_EQ(view[PAGE + 9], 0xee); /* the pages live on while mapped */
	CHECK_EQ(wait_port(2000), b);
	CHECK_EQ(ops->evtchn_unmask(plat, b), 0);
	CHECK_EQ(ops->unmap(plat, m), 0);

	/* A read-only grant cannot be mapped writable. */
	CHECK_EQ(ops->share(plat, self, 1, true, &addr, &g_ro, &s), 0);
	((uint8_t *)addr)[0] = 42;
	CHECK_EQ(ops->map(plat, self, &g_ro, 1, false, &addr, &m), -EPERM);
	CHECK_EQ(ops->map(plat, self, &g_ro, 1, true, &addr, &m), 0);
	CHECK_EQ(((uint8_t *)addr)[0], 42);

	/* Granted to someone else; unknown reference; no such domain. */
	CHECK_EQ(ops->share(plat, NOBODY, 1, false, &addr, &g1, &s2), 0);
	test_peek(addr, g1, bogus);
	CHECK_EQ(ops->map(plat, self, &g1, 1, false, &addr, &m2), -EPERM);
	CHECK_EQ(ops->map(plat, self, &g1, 1, true, &addr, &m2), -EPERM);
	CHECK_EQ(ops->map(plat, self, &bogus, 1, false, &addr, &m2), -EINVAL);
	CHECK_EQ(ops->map(plat, NOBODY, &g1, 1, false, &addr, &m2), -EINVAL);
	CHECK_EQ(ops->map(plat, self, &g1, 0, false, &addr, &m2), -EINVAL);
	ops->unshare_defer(plat, s2);

	/* The read-only share and its mapping are left for close(). */
}

int main(void)
{
	uint32_t a, b;
	int err;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (access("/dev/xen/evtchn", F_OK) != 0) {
		plat = NULL;
		CHECK_EQ(ops->open(&plat), -ENODEV);
		if (plat)
			fail("open() failed but set its handle");
		printf("ok - no Xen here: open() = -ENODEV\n");
		return 0;
	}
	err = ops->open(&plat);
	if (err == -EACCES || err == -EPERM) {
		printf("SKIP: %s (run as root)\n", strerror(-err));
		return 77;
	}
	CHECK_EQ(err, 0);
	self = ops->domid(plat);
	printf("domain %u\n", self);
	CHECK_EQ(ops->domain_alive(plat, self), 1);
	CHECK_EQ(ops->domain_alive(plat, 0x7ff0), 0);
	/* dom0 may ask Xen; an unprivileged domU may not (-ENOSYS: libIVC
	 * then reads the peer's presence node in XenStore). */
	err = ops->domain_alive(plat, NOBODY);
	if (self == 0 ? err != 0 : err != 0 && err != -ENOSYS)
		fail("domain_alive(%u) = %d", NOBODY, err);
	printf("domain_alive(%u) = %d%s\n", NOBODY, err, err ? " (cannot tell here)" : "");

	test_evtchn(&a, &b);
	printf("ok - event channels\n");
	test_sleep(a, b);
	printf("ok - sleeping\n");
	test_grants(a, b);
	printf("ok - grants\n");
	CHECK_EQ(ops->evtchn_unbind(plat, b), 0);
	CHECK_EQ(ops->evtchn_unbind(plat, a), 0);
	ops->close(plat);
	printf("ok - all\n");
	return 0;
}
