/*
 * ivc-xenstored behaviour tests: test-xsd DAEMON GROUP. Groups: watches, transactions,
 * limits, robust, stats. Each starts its own daemon. Exit 0 pass, 1 fail.
 * Expected answers were taken from C xenstored 4.17 run against the same requests.
 */
#define _GNU_SOURCE
#define _DEFAULT_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

#include "xsd-test.h"

static struct xt_daemon dmn;

static struct xs_handle *xt_xs(unsigned domid)
{
	setenv("XENSTORED_PATH", xt_sock(&dmn, domid), 1);
	return xs_open(0);
}

/* Introduces domid and gives it a home like libxl: dom0-owned, data/ owned by it. */
static void xt_domain(struct xt_conn *d0, unsigned domid)
{
	struct xt_reply r;
	char id[16], home[64], data[80], rperm[16], nperm[16];

	snprintf(id, sizeof(id), "%u", domid);
	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	snprintf(data, sizeof(data), "%s/data", home);
	snprintf(rperm, sizeof(rperm), "r%u", domid);
	snprintf(nperm, sizeof(nperm), "n%u", domid);
	xt_reqs(d0, XS_INTRODUCE, 0, &r, id, "0", "1", NULL);
	XT_EXPECT(&r, "OK", "introduce");
	xt_reqs(d0, XS_MKDIR, 0, &r, home, NULL);
	xt_reqs(d0, XS_SET_PERMS, 0, &r, home, "n0", rperm, NULL);
	xt_reqs(d0, XS_MKDIR, 0, &r, data, NULL);
	xt_reqs(d0, XS_SET_PERMS, 0, &r, data, nperm, NULL);
	XT_EXPECT(&r, "OK", "data perms");
}

static void xt_write(struct xt_conn *c, const char *path, const char *val, const char *want)
{
	struct xt_reply r;
	char buf[4200];
	size_t l = strlen(path) + 1;

	memcpy(buf, path, l);
	memcpy(buf + l, val, strlen(val));
	xt_req(c, XS_WRITE, 0, buf, l + strlen(val), &r);
	XT_EXPECT(&r, want, path);
}

static void group_watches(void)
{
	struct xt_conn a, d1, d2, d3, d3b;
	struct xt_reply r;
	struct xs_handle *xs;

	xt_connect(&a, xt_sock(&dmn, 0));
	xt_reqs(&a, XS_WATCH, 0, &r, "/w", "tok", NULL);
	XT_EXPECT(&r, "OK", "watch");
	xt_events(&a, 200);
	XT_CHECK(xt_has_event(&a, "/w", "tok"), "initial firing");
	xt_clear_events(&a);
	xt_write(&a, "/w/a/b", "v", "OK");
	xt_reqs(&a, XS_WATCH, 0, &r, "/w/a/b", "deep", NULL);
	xt_events(&a, 200);
	XT_CHECK(xt_has_event(&a, "/w/a/b", "tok"), "child change fires parent watch");
	xt_clear_events(&a);
	xt_reqs(&a, XS_RM, 0, &r, "/w/a", NULL);
	xt_events(&a, 200);
	XT_CHECK(xt_has_event(&a, "/w/a", "tok"), "rm fires the parent watch for the top node");
	XT_CHECK(xt_has_event(&a, "/w/a/b", "deep"), "rm fires watches on removed nodes");
	XT_CHECK(a.nevents == 2, "rm: %zu events, want 2", a.nevents);
	xt_clear_events(&a);

	/* Special watches, with libxenstore doing the introduce and release. */
	xt_reqs(&a, XS_WATCH, 0, &r, "@introduceDomain", "I", NULL);
	xt_reqs(&a, XS_WATCH, 0, &r, "@releaseDomain", "R", NULL);
	xt_events(&a, 200);
	xt_clear_events(&a);
	xs = xt_xs(0);
	XT_CHECK(xs && xs_introduce_domain(xs, 3, 0, 1), "xs_introduce_domain");
	xt_events(&a, 200);
	XT_CHECK(xt_has_event(&a, "@introduceDomain", "I"), "@introduceDomain fired");
	XT_CHECK(xt_connect(&d3, xt_sock(&dmn, 3)) == 0, "dom3.sock exists");
	xt_connect(&d3b, xt_sock(&dmn, 3));
	xt_reqs(&d3, XS_WATCH, 0, &r, "/local", "l", NULL);
	xt_reqs(&d3b, XS_WATCH, 0, &r, "@releaseDomain", "r", NULL);
	XT_CHECK(xt_stat(&a, 3, "watches") == 2, "dom3 has 2 watches");
	XT_CHECK(xt_stat(&a, 3, "connections") == 2, "dom3 has 2 connections");
	xt_clear_events(&a);
	XT_CHECK(xs && xs_release_domain(xs, 3), "xs_release_domain");
	xt_events(&a, 200);
	XT_CHECK(xt_has_event(&a, "@releaseDomain", "R"), "@releaseDomain fired");
	XT_CHECK(xt_stat(&a, 3, "watches") == 0, "released domain's watches gone");
	XT_CHECK(xt_stat(&a, 3, "connections") == 0, "released domain's connections gone");
	XT_CHECK(xt_req(&d3, XS_READ, 0, "/\0", 2, &r) < 0, "released connection closed");
	XT_CHECK(access(xt_sock(&dmn, 3), F_OK) != 0, "dom3.sock removed");
	xt_close(&d3);
	xt_close(&d3b);
	if (xs)
		xs_close(xs);

	/* Events only reach domains that may read the node (or its parent). */
	xt_domain(&a, 1);
	xt_domain(&a, 2);
	xt_connect(&d1, xt_sock(&dmn, 1));
	xt_connect(&d2, xt_sock(&dmn, 2));
	xt_write(&d1, "data/x", "1", "OK");
	xt_reqs(&d2, XS_WATCH, 0, &r, "/local/domain/1/data/x", "w", NULL);
	XT_EXPECT(&r, "OK", "watch on unreadable node is allowed");
	xt_reqs(&d1, XS_WATCH, 0, &r, "data", "rel", NULL);
	xt_events(&d2, 200);
	xt_events(&d1, 200);
	XT_CHECK(xt_has_event(&d1, "data", "rel"), "relative watch fires with relative path");
	xt_clear_events(&d1);
	xt_clear_events(&d2);
	xt_write(&d1, "data/x", "2", "OK");
	xt_events(&d2, 300);
	XT_CHECK(d2.nevents == 0, "unreadable node: no event to dom2 (%zu)", d2.nevents);
	xt_events(&d1, 200);
	XT_CHECK(xt_has_event(&d1, "data/x", "rel"), "owner sees its change, relative");
	xt_reqs(&d1, XS_SET_PERMS, 0, &r, "data/x", "n1", "r2", NULL);
	XT_EXPECT(&r, "OK", "grant r2");
	xt_events(&d2, 200);
	xt_clear_events(&d2);
	xt_write(&d1, "data/x", "3", "OK");
	xt_events(&d2, 200);
	XT_CHECK(xt_has_event(&d2, "/local/domain/1/data/x", "w"), "readable now: event");

	/* RESET_WATCHES drops them all. */
	xt_reqs(&d2, XS_RESET_WATCHES, 0, &r, NULL);
	XT_EXPECT(&r, "OK", "reset watches");
	XT_CHECK(xt_stat(&a, 2, "watches") == 0, "no watches after reset");
	xt_clear_events(&d2);
	xt_write(&d1, "data/x", "4", "OK");
	xt_events(&d2, 300);
	XT_CHECK(d2.nevents == 0, "no events after reset (%zu)", d2.nevents);
	xt_close(&d1);
	xt_close(&d2);
	xt_close(&a);
}

static void group_transactions(void)
{
	struct xs_handle *xs = xt_xs(0), *xs2 = xt_xs(0);
	xs_transaction_t t, t2;
	unsigned len;
	char *v;
	struct xt_conn a;
	struct xt_reply r;

	XT_CHECK(xs && xs2, "xs_open");
	if (!xs || !xs2)
		return;
	t = xs_transaction_start(xs);
	XT_CHECK(t != XBT_NULL, "transaction start");
	XT_CHECK(xs_write(xs, t, "/t/a", "in", 2), "write in transaction");
	v = xs_read(xs, t, "/t/a", &len);
	XT_CHECK(v && len == 2 && !memcmp(v, "in", 2), "transaction sees its own write");
	free(v);
	v = xs_read(xs2, XBT_NULL, "/t/a", &len);
	XT_CHECK(!v && errno == ENOENT, "others do not see it before commit");
	free(v);
	XT_CHECK(xs_transaction_end(xs, t, false), "commit");
	v = xs_read(xs2, XBT_NULL, "/t/a", &len);
	XT_CHECK(v && len == 2, "others see it after commit");
	free(v);

	t = xs_transaction_start(xs);
	xs_write(xs, t, "/t/b", "x", 1);
	XT_CHECK(xs_transaction_end(xs, t, true), "abort");
	v = xs_read(xs2, XBT_NULL, "/t/b", &len);
	XT_CHECK(!v && errno == ENOENT, "abort discards");
	free(v);

	t = xs_transaction_start(xs);
	v = xs_read(xs, t, "/t/a", &len);
	free(v);
	XT_CHECK(xs_write(xs2, XBT_NULL, "/t/a", "other", 5), "write outside");
	xs_write(xs, t, "/t/c", "y", 1);
	XT_CHECK(!xs_transaction_end(xs, t, false) && errno == EAGAIN, "conflict gives EAGAIN");
	v = xs_read(xs2, XBT_NULL, "/t/c", &len);
	XT_CHECK(!v, "failed commit applied nothing");
	free(v);

	/* Two transactions writing the same node: the second commit conflicts. */
	t = xs_transaction_start(xs);
	t2 = xs_transaction_start(xs2);
	xs_write(xs, t, "/t/a", "1", 1);
	xs_write(xs2, t2, "/t/a", "2", 1);
	XT_CHECK(xs_transaction_end(xs, t, false), "first commit");
	XT_CHECK(!xs_transaction_end(xs2, t2, false) && errno == EAGAIN, "second gets EAGAIN");

	xt_connect(&a, xt_sock(&dmn, 0));
	xt_reqs(&a, XS_TRANSACTION_END, 77, &r, "T", NULL);
	XT_EXPECT(&r, "ENOENT", "unknown transaction");
	xt_reqs(&a, XS_READ, 77, &r, "/t/a", NULL);
	XT_EXPECT(&r, "ENOENT", "request in unknown transaction");
	XT_CHECK(xt_stat(&a, 0, "transactions") == 0, "no transaction left");
	xt_close(&a);
	xs_close(xs);
	xs_close(xs2);
}

static void group_limits(void)
{
	struct xt_conn a, d1, s;
	struct xt_reply r;
	char path[4200], name[32];
	int i;

	xt_connect(&a, xt_sock(&dmn, 0));
	xt_domain(&a, 1);
	xt_connect(&d1, xt_sock(&dmn, 1));
	/* --quota-nodes 5: data/ is dom1's already, so four more fit. */
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "data/n%d", i);
		xt_write(&d1, name, "v", i < 4 ? "OK" : "ENOSPC");
	}
	XT_CHECK(xt_stat(&a, 1, "nodes") == 5, "dom1 owns 5 nodes");
	xt_reqs(&d1, XS_RM, 0, &r, "data/n0", NULL);
	xt_write(&d1, "data/again", "v", "OK");
	xt_write(&a, "/local/domain/1/data/by0", "v", "OK"); /* dom0 is exempt */
	/* --quota-watches 3: xenstored checks before adding, so 4 fit. */
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		xt_reqs(&d1, XS_WATCH, 0, &r, "data", name, NULL);
		XT_EXPECT(&r, i < 4 ? "OK" : "E2BIG", "watch quota");
	}
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		xt_reqs(&a, XS_WATCH, 0, &r, "/", name, NULL);
		XT_EXPECT(&r, "OK", "dom0 watches are not limited");
	}
	/* --quota-transactions 2: 3 fit. */
	for (i = 0; i < 4; i++) {
		xt_reqs(&d1, XS_TRANSACTION_START, 0, &r, "", NULL);
		XT_CHECK(i < 3 ? r.type == XS_TRANSACTION_START : !strcmp(xt_text(&r), "ENOSPC"),
			 "transaction %d: %s", i, xt_text(&r));
	}
	/* Node size (2048 with header), perms per node (5). */
	memset(path, 'x', 2016);
	path[2016] = '\0';
	xt_write(&d1, "data/again", path, "ENOSPC");
	path[2015] = '\0';
	xt_write(&d1, "data/again", path, "OK");
	xt_reqs(&d1, XS_SET_PERMS, 0, &r, "data/n1", "n1", "r2", "r3", "r4", "r5", "r6", NULL);
	XT_EXPECT(&r, "ENOSPC", "6 perms");
	xt_reqs(&d1, XS_SET_PERMS, 0, &r, "data/n1", "n1", "r2", "r3", "r4", "r5", NULL);
	XT_EXPECT(&r, "OK", "5 perms");
	/* Paths: 2048 characters at most (below /local/domain/N/), valid characters only. */
	path[0] = '/';
	memset(path + 1, 'a', 2047);
	path[2048] = '\0';
	xt_write(&a, path, "v", "OK");
	path[2048] = 'a';
	path[2049] = '\0';
	xt_write(&a, path, "v", "EINVAL");
	snprintf(path, sizeof(path), "/local/domain/1/");
	memset(path + 16, 'b', 2048);
	path[16 + 2048] = '\0';
	xt_write(&a, path, "v", "OK");
	xt_write(&a, "/bad char", "v", "EINVAL");
	xt_write(&a, "/bad.char", "v", "EINVAL");
	xt_write(&a, "/trailing/", "v", "EINVAL");
	xt_write(&a, "/dou//ble", "v", "EINVAL");
	xt_write(&a, "/ok-_@9Z", "v", "OK");
	xt_reqs(&a, XS_RM, 0, &r, "/", NULL);
	XT_EXPECT(&r, "EINVAL", "rm /");
	/* A directory listing over the payload maximum: E2BIG (libxenstore then pages). */
	for (i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/big/%04dxxxxxxxxxxxxxxxxxxxx", i);
		xt_write(&a, path, "", "OK");
	}
	xt_reqs(&a, XS_DIRECTORY, 0, &r, "/big", NULL);
	XT_EXPECT(&r, "E2BIG", "huge directory");
	/* Payload over XENSTORE_PAYLOAD_MAX: the connection is dropped. */
	xt_connect(&s, xt_sock(&dmn, 0));
	memset(path, '/', 4097);
	XT_CHECK(xt_req(&s, XS_READ, 0, path, 4097, &r) < 0, "oversize message drops connection");
	xt_close(&s);
	xt_connect(&s, xt_sock(&dmn, 0));
	memcpy(path, "/max", 5);
	memset(path + 5, 'm', 4091);
	xt_req(&s, XS_WRITE, 0, path, 4096, &r);
	XT_EXPECT(&r, "OK", "4096-byte payload");
	xt_reqs(&s, XS_READ, 0, &r, "/max", NULL);
	XT_CHECK(r.type == XS_READ && r.len == 4091, "read back 4091 bytes");
	xt_close(&s);
	xt_reqs(&a, XS_READ, 0, &r, "/ok-_@9Z", NULL);
	XT_EXPECT(&r, "v", "daemon still alive");
	xt_close(&d1);
	xt_close(&a);
}

static void group_robust(void)
{
	static struct xt_conn many[200];
	struct xt_conn a, g, slow;
	struct xt_reply r;
	struct xsd_sockmsg h;
	unsigned char junk[4200];
	unsigned seed = 12345;
	int i, ok;

	xt_connect(&a, xt_sock(&dmn, 0));
	xt_domain(&a, 1);
	xt_req(&a, 30, 0, "/\0", 2, &r);
	XT_EXPECT(&r, "ENOSYS", "unknown type");
	xt_req(&a, XS_INVALID, 0, "", 0, &r);
	XT_EXPECT(&r, "ENOSYS", "XS_INVALID");
	xt_req(&a, XS_WATCH_EVENT, 0, "/\0t\0", 4, &r);
	XT_EXPECT(&r, "ENOSYS", "client sends an event");
	xt_req(&a, XS_READ, 0, "/tool", 5, &r);
	XT_EXPECT(&r, "EINVAL", "no NUL");
	xt_req(&a, XS_READ, 0, "/tool\0junk", 10, &r);
	XT_EXPECT(&r, "EINVAL", "trailing junk");
	xt_req(&a, XS_WRITE, 0, "", 0, &r);
	XT_EXPECT(&r, "EINVAL", "empty write");
	xt_reqs(&a, XS_SET_PERMS, 0, &r, "/tool", "q0", NULL);
	XT_EXPECT(&r, "EINVAL", "bad perm letter");
	xt_reqs(&a, XS_CONTROL, 0, &r, "no-such-command", NULL);
	XT_EXPECT(&r, "EINVAL", "unknown control");

	/* Random messages from a guest, and from dom0 on a scratch subtree. */
	for (int round = 0; round < 2; round++) {
		xt_connect(&g, xt_sock(&dmn, round ? 0 : 1));
		for (i = 0; i < 3000; i++) {
			size_t len = (size_t)(rand_r(&seed) % 64), k;
			uint32_t type = (uint32_t)(rand_r(&seed) % 26);
			static const char alphabet[] = "/a\0@-_x.1";

			for (k = 0; k < len; k++)
				junk[k] =
				    (unsigned char)alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
			if (round && len)
				junk[0] =
				    'f'; /* dom0: relative paths only, under /local/domain/0 */
			if (type == XS_INTRODUCE || type == XS_RELEASE || type == XS_RESET_WATCHES)
				type = XS_READ;
			if (xt_req(&g, type, (uint32_t)(rand_r(&seed) % 3), junk, len, &r) < 0)
				break;
		}
		XT_CHECK(i == 3000, "fuzz round %d stopped at %d", round, i);
		xt_close(&g);
	}
	/* Abrupt disconnects mid-header and mid-payload. */
	for (i = 0; i < 20; i++) {
		xt_connect(&g, xt_sock(&dmn, i % 2));
		h = (struct xsd_sockmsg){ XS_WRITE, 1, 0, 100 };
		if (write(g.fd, &h, i < 10 ? 7 : sizeof(h)) < 0 ||
		    (i >= 10 && write(g.fd, "/abc\0", 5) < 0))
			XT_CHECK(0, "write");
		xt_close(&g);
	}
	/* 200 connections open at once, all answered. */
	ok = 0;
	for (i = 0; i < 200; i++)
		if (xt_connect(&many[i], xt_sock(&dmn, i % 2)) == 0)
			ok++;
	XT_CHECK(ok == 200, "%d of 200 connections", ok);
	for (i = 0; i < 200; i++) {
		h = (struct xsd_sockmsg){ XS_GET_DOMAIN_PATH, (uint32_t)i, 0, 2 };
		if (write(many[i].fd, &h, sizeof(h)) < 0 || write(many[i].fd, "7", 2) < 0)
			XT_CHECK(0, "write %d", i);
	}
	ok = 0;
	for (i = 0; i < 200; i++) {
		struct xsd_sockmsg rh;
		char buf[64];

		if (read(many[i].fd, &rh, sizeof(rh)) == sizeof(rh) && rh.req_id == (uint32_t)i &&
		    rh.len < sizeof(buf) && read(many[i].fd, buf, rh.len) == (ssize_t)rh.len &&
		    !strcmp(buf, "/local/domain/7"))
			ok++;
		xt_close(&many[i]);
	}
	XT_CHECK(ok == 200, "%d of 200 answered", ok);
	usleep(200000); /* let the daemon see the hang-ups */
	XT_CHECK(xt_stat(&a, 0, "connections") == 1 && xt_stat(&a, 1, "connections") == 0,
		 "closed connections are gone");

	/* A watcher that never reads must not hold the daemon up. */
	xt_connect(&slow, xt_sock(&dmn, 0));
	xt_reqs(&slow, XS_WATCH, 0, &r, "/slow", "s", NULL);
	{
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < 20000; i++) {
			if (xt_req(&a, XS_WRITE, 0, "/slow/x\0v", 9, &r) < 0)
				break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		XT_CHECK(i == 20000, "writes with a stalled watcher stopped at %d", i);
		XT_CHECK(t1.tv_sec - t0.tv_sec < 60, "took %lds", (long)(t1.tv_sec - t0.tv_sec));
	}
	xt_close(&slow);
	xt_reqs(&a, XS_READ, 0, &r, "/slow/x", NULL);
	XT_EXPECT(&r, "v", "daemon alive");
	xt_close(&a);
}

static void group_stats(void)
{
	struct xt_conn a, d, d2;
	struct xt_reply r;
	long n0;

	xt_connect(&a, xt_sock(&dmn, 0));
	XT_CHECK(xt_stat(&a, 0, "nodes") == 3, "fresh store: /, /tool, /tool/xenstored");
	XT_CHECK(xt_stat(&a, 0, "connections") == 1, "one dom0 connection");
	xt_domain(&a, 5);
	n0 = xt_stat(&a, 0, "nodes");
	XT_CHECK(xt_stat(&a, 5, "nodes") == 1, "data/ is dom5's");
	xt_connect(&d, xt_sock(&dmn, 5));
	xt_connect(&d2, xt_sock(&dmn, 5));
	xt_write(&d, "data/a", "1", "OK");
	xt_write(&d, "data/b/c", "1", "OK"); /* two nodes: b and b/c */
	xt_reqs(&d, XS_WATCH, 0, &r, "data", "t1", NULL);
	xt_reqs(&d2, XS_WATCH, 0, &r, "/local/domain/5", "t2", NULL);
	xt_reqs(&d2, XS_TRANSACTION_START, 0, &r, "", NULL);
	XT_CHECK(xt_stat(&a, 5, "nodes") == 4, "nodes %ld", xt_stat(&a, 5, "nodes"));
	XT_CHECK(xt_stat(&a, 5, "watches") == 2, "watches");
	XT_CHECK(xt_stat(&a, 5, "transactions") == 1, "transactions");
	XT_CHECK(xt_stat(&a, 5, "connections") == 2, "connections");
	xt_reqs(&d, XS_RM, 0, &r, "data/b", NULL);
	XT_CHECK(xt_stat(&a, 5, "nodes") == 2, "after rm");
	xt_reqs(&d, XS_UNWATCH, 0, &r, "data", "t1", NULL);
	XT_CHECK(xt_stat(&a, 5, "watches") == 1, "after unwatch");
	xt_close(&d2);
	xt_events(&d, 100);
	XT_CHECK(xt_stat(&a, 5, "connections") == 1 && xt_stat(&a, 5, "transactions") == 0 &&
		     xt_stat(&a, 5, "watches") == 0,
		 "closing a connection drops its watch and transaction");
	xt_reqs(&a, XS_RELEASE, 0, &r, "5", NULL);
	XT_EXPECT(&r, "OK", "release");
	/* As C xenstored 4.17: the released domain's own nodes go with it. */
	XT_CHECK(xt_stat(&a, 5, "nodes") == 0 && xt_stat(&a, 5, "watches") == 0 &&
		     xt_stat(&a, 5, "connections") == 0 && xt_stat(&a, 5, "transactions") == 0,
		 "all zero after release");
	XT_CHECK(xt_stat(&a, 0, "nodes") == n0, "dom0's nodes stay (%ld vs %ld)",
		 xt_stat(&a, 0, "nodes"), n0);
	xt_reqs(&a, XS_READ, 0, &r, "/local/domain/5/data", NULL);
	XT_EXPECT(&r, "ENOENT", "domain-owned data removed on release");
	xt_reqs(&a, XS_RELEASE, 0, &r, "5", NULL);
	XT_EXPECT(&r, "ENOENT", "release twice");
	xt_close(&d);
	xt_close(&a);
}

int main(int argc, char **argv)
{
	static const char *const quotas[] = {
		"--quota-nodes", "5", "--quota-watches", "3", "--quota-transactions", "2", NULL
	};
	const char *group;

	if (argc != 3) {
		fprintf(stderr, "usage: test-xsd DAEMON GROUP\n");
		return 1;
	}
	group = argv[2];
	signal(SIGPIPE, SIG_IGN);
	if (xt_start(&dmn, argv[1], !strcmp(group, "limits") ? quotas : NULL) < 0) {
		printf("not ok - cannot start %s\n", argv[1]);
		return 1;
	}
	if (!strcmp(group, "watches"))
		group_watches();
	else if (!strcmp(group, "transactions"))
		group_transactions();
	else if (!strcmp(group, "limits"))
		group_limits();
	else if (!strcmp(group, "robust"))
		group_robust();
	else if (!strcmp(group, "stats"))
		group_stats();
	else
		XT_CHECK(0, "unknown group %s", group);
	if (xt_stop(&dmn) < 0)
		xt_failures++;
	printf("%s - %s (%d failures)\n", xt_failures ? "not ok" : "ok", group, xt_failures);
	return xt_failures ? 1 : 0;
}
