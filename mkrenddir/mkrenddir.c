/* SPDX-License-Identifier: MIT */
/*
 * mkrenddir - creates, checks, repairs or removes /rendezvous in XenStore,
 * the tree of libIVC's brokered mode (protocol-spec 9.11.1). See
 * mkrenddir(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#define ROOT "/rendezvous"
#define PROTOCOL "1"

enum { OK = 0, WRONG = 1, FAILED = 2, USAGE = 64 };

static bool quiet;
static int problems;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static void wrong(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void wrong(const char *fmt, ...)
{
	va_list ap;

	problems++;
	fputs("mkrenddir: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *why(int err)
{
	return err == EACCES || err == EPERM
		   ? "permission denied (mkrenddir must run in dom0, as root)"
		   : strerror(err);
}

/* What a node's permissions must be: owner 0 with `others`, and at most
 * two further entries. */
struct want {
	int n;
	struct xs_permissions p[3];
};

static void perm_str(char *buf, size_t size, const struct xs_permissions *p, unsigned n)
{
	static const char c[] = "nrwb";
	size_t len = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < n && len + 16 < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%c%u", i ? "," : "",
					c[p[i].perms & 3], p[i].id);
}

/* Compares path's permissions with w: true if they match. */
static bool check_perms(struct xs_handle *xs, const char *path, const struct want *w, bool report)
{
	unsigned n = 0;
	struct xs_permissions *p = xs_get_permissions(xs, XBT_NULL, path, &n);
	char have[128], need[128];
	bool same = p && n == (unsigned)w->n;

	for (unsigned i = 0; same && i < n; i++)
		same = p[i].id == w->p[i].id && (p[i].perms & 3) == (w->p[i].perms & 3);
	if (!same && report) {
		perm_str(have, sizeof have, p, p ? n : 0);
		perm_str(need, sizeof need, w->p, (unsigned)w->n);
		if (p)
			wrong("%s: permissions are %s, should be %s", path, have, need);
		else
			wrong("%s: cannot read its permissions: %s", path, why(errno));
	}
	free(p);
	return same;
}

static bool set_perms(struct xs_handle *xs, const char *path, const struct want *w)
{
	if (xs_set_permissions(xs, XBT_NULL, path, (struct xs_permissions *)w->p, (unsigned)w->n))
		return true;
	fprintf(stderr, "mkrenddir: %s: cannot set permissions: %s\n", path, why(errno));
	return false;
}

/* Checks path's permissions: reported when wrong, or with repair set
 * right (a failure to is a problem too). */
static void fix(struct xs_handle *xs, const char *path, const struct want *w, bool repair)
{
	if (check_perms(xs, path, w, !repair) || !repair)
		return;
	if (set_perms(xs, path, w))
		say("repaired %s\n", path);
	else
		problems++;
}

static const struct want root_want = { 1, { { 0, XS_PERM_NONE } } };
static const struct want public_want = { 1, { { 0, XS_PERM_READ } } };

/* Checks a domain's area (made by the daemon), reporting what is wrong;
 * with repair, sets the permissions that are wrong. */
static void check_area(struct xs_handle *xs, const char *dom, bool repair)
{
	static const struct {
		const char *sub;
		unsigned perm;
	} parts[] = { { "", XS_PERM_READ },
		      { "/req", XS_PERM_READ | XS_PERM_WRITE },
		      { "/ans", XS_PERM_READ },
		      { "/chan", XS_PERM_READ } };
	unsigned long d = strtoul(dom, NULL, 10);

	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		char path[128];
		struct want w = { 2, { { 0, XS_PERM_NONE }, { (unsigned)d, parts[i].perm } } };
		snprintf(path, sizeof path, ROOT "/%s%s", dom, parts[i].sub);
		fix(xs, path, &w, repair);
	}
}

static bool is_domid(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 5 && !s[n] && (s[0] != '0' || !s[1]) && strtoul(s, NULL, 10) < 32752;
}

/* The tree below the root: the protocol, the daemon's marker and, with
 * `areas`, the domains' areas (the daemon makes and mends those; a
 * guest may even remove its own req/, which only --check reports). */
static void check_children(struct xs_handle *xs, bool repair, bool areas)
{
	unsigned n = 0;
	char **ents = xs_directory(xs, XBT_NULL, ROOT, &n), *v;
	unsigned len;

	v = xs_read(xs, XBT_NULL, ROOT "/protocol", &len);
	if (!v)
		wrong(ROOT "/protocol: missing (%s)", why(errno));
	else if (strcmp(v, PROTOCOL))
		wrong(ROOT "/protocol is \"%s\", should be \"" PROTOCOL "\"", v);
	else
		fix(xs, ROOT "/protocol", &public_want, repair);
	free(v);
	for (unsigned i = 0; ents && i < n; i++) {
		if (!strcmp(ents[i], "protocol"))
			continue;
		if (!strcmp(ents[i], "daemon")) {
			fix(xs, ROOT "/daemon", &public_want, repair);
		} else if (is_domid(ents[i])) {
			if (areas)
				check_area(xs, ents[i], repair);
		} else
			wrong(ROOT "/%s: unexpected node", ents[i]);
	}
	free(ents);
}

static int do_check(struct xs_handle *xs)
{
	unsigned len;
	char *v = xs_read(xs, XBT_NULL, ROOT, &len);

	if (!v) {
		int err = errno;
		wrong(ROOT ": %s", err == ENOENT ? "missing (run mkrenddir)" : why(err));
		return err == ENOENT ? WRONG : FAILED;
	}
	free(v);
	check_perms(xs, ROOT, &root_want, true);
	check_children(xs, false, true);
	if (problems)
		return WRONG;
	say(ROOT ": fine\n");
	return OK;
}

static int do_create(struct xs_handle *xs, bool repair)
{
	unsigned len;
	char *v = xs_read(xs, XBT_NULL, ROOT, &len);
	bool existed = v != NULL;

	free(v);
	if (!existed && errno != ENOENT) {
		wrong(ROOT ": %s", why(errno));
		return FAILED;
	}
	for (int tries = 0; !existed && tries < 100; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);
		bool ok =
		    t != XBT_NULL && xs_write(xs, t, ROOT, "", 0) &&
		    xs_set_permissions(xs, t, ROOT, (struct xs_permissions *)root_want.p, 1) &&
		    xs_write(xs, t, ROOT "/protocol", PROTOCOL, 1) &&
		    xs_set_permissions(xs, t, ROOT "/protocol",
				       (struct xs_permissions *)public_want.p, 1);
		int err = errno;
		if (t == XBT_NULL || !ok) {
			if (t != XBT_NULL)
				xs_transaction_end(xs, t, true);
			wrong("cannot create " ROOT ": %s", why(err));
			return FAILED;
		}
		if (xs_transaction_end(xs, t, false)) {
			say("created " ROOT "\n");
			return OK;
		}
		if (errno != EAGAIN) {
			wrong("cannot create " ROOT ": %s", why(errno));
			return FAILED;
		}
	}
	/* It exists: fine as it is, repaired if asked, else an error. */
	fix(xs, ROOT, &root_want, repair);
	v = xs_read(xs, XBT_NULL, ROOT "/protocol", &len);
	if (!v && errno == ENOENT && repair) {
		if (xs_write(xs, XBT_NULL, ROOT "/protocol", PROTOCOL, 1) &&
		    set_perms(xs, ROOT "/protocol", &public_want))
			say("repaired " ROOT "/protocol\n");
	}
	free(v);
	check_children(xs, repair, repair);
	if (problems) {
		fprintf(stderr, "mkrenddir: " ROOT " exists but is not right; "
				"mkrenddir --repair fixes the permissions\n");
		return WRONG;
	}
	if (!repair)
		say(ROOT " exists and is fine\n");
	return OK;
}

static int do_remove(struct xs_handle *xs, bool force)
{
	unsigned len;
	char *v = xs_read(xs, XBT_NULL, ROOT "/daemon", &len);

	if (v && !force) {
		wrong("the rendezvous daemon (pid %s) is running: stop it first, or --force", v);
		free(v);
		return FAILED;
	}
	free(v);
	if (!xs_rm(xs, XBT_NULL, ROOT)) {
		if (errno == ENOENT) {
			say("there is no " ROOT " to remove\n");
			return OK;
		}
		wrong("cannot remove " ROOT ": %s", why(errno));
		return FAILED;
	}
	say("removed " ROOT "\n");
	return OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mkrenddir [--repair] [-q]    create /rendezvous (or check it is right)\n"
		"       mkrenddir --check [-q]       report everything wrong; exit 1 if any\n"
		"       mkrenddir --remove [--force] remove /rendezvous and everything in it\n"
		"Exit status: 0 fine, 1 something is wrong, 2 it could not be done, 64 usage.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "repair", no_argument, NULL, 'r' },
		{ "remove", no_argument, NULL, 'R' },
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool check = false, repair = false, remove = false, force = false;
	struct xs_handle *xs;
	int o, rc;

	while ((o = getopt_long(argc, argv, "qh", opts, NULL)) != -1)
		switch (o) {
		case 'c':
			check = true;
			break;
		case 'r':
			repair = true;
			break;
		case 'R':
			remove = true;
			break;
		case 'f':
			force = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return OK;
		default:
			usage(stderr);
			return USAGE;
		}
	if (optind != argc || check + repair + remove > 1 || (force && !remove)) {
		usage(stderr);
		return USAGE;
	}
	errno = 0;
	xs = xs_open(0);
	if (!xs) {
		fprintf(stderr,
			"mkrenddir: cannot reach XenStore: %s (is xenstored running? "
			"in sim: ivc-sim run --domid 0 -- mkrenddir)\n",
			strerror(errno ? errno : ENOENT));
		return FAILED;
	}
	rc = check ? do_check(xs) : remove ? do_remove(xs, force) : do_create(xs, repair);
	xs_close(xs);
	return rc;
}
