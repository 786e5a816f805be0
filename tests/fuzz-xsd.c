/* SPDX-License-Identifier: MIT */
/*
 * fuzz-xsd.c - libFuzzer on ivc-xenstored, run in-process: the wire
 * parser (xsd_input) and every request, from several connections at once.
 *
 * Input: byte 0 the settings (bit 0 --keep-orphans, bit 1 small quotas,
 * bit 2 --priv-domid 2), then commands of one byte: bits 0-1 the
 * connection (0 dom0, 1 domain 1, 2 domain 2, 3 a second one of domain
 * 1), bits 2-4 what happens:
 *   0-3, 7  a length byte and that many raw bytes, fed up to each message
 *           end in turn so that every request is checked on its own;
 *   4       the same, fed in one piece (several requests per read);
 *   5       the client hangs up;
 *   6       it connects again (a domU only while introduced, as through
 *           its socket).
 * Domains 1 and 2 start introduced. Oracle, after every request: the
 * tree is whole (each node's parent lists it, each listed child exists),
 * the per-domain counts of nodes, watches, transactions and connections
 * are what exists, the quotas hold, transactions' overlays are
 * consistent; every request has exactly one reply, to its asker, with its
 * ids, and watch events reach only a watch that matches them. Everything
 * is freed after each input, so LeakSanitizer sees what a request leaks.
 * Seeds: tests/corpus/xsd. FUZZ_XSD_TRACE=1 prints every message sent to
 * a client, to read what an input does.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "xsd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSLOT 4
static const uint32_t slot_dom[NSLOT] = { 0, 1, 2, 1 };
static struct xsd_conn *slot[NSLOT];
static struct xsd_config defaults;
static char dir[256], xsdir[300];
static bool trace; /* FUZZ_XSD_TRACE=1: print what each connection is sent */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz-xsd: %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void cleanup(void)
{
	/* Each input's reset unlinked its sockets: both are empty. */
	rmdir(xsdir);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	/* XS_INTRODUCE makes a real listening socket per domain. */
	snprintf(dir, sizeof dir, "%s/fuzz-xsd.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("fuzz-xsd: mkdtemp");
		exit(1);
	}
	snprintf(xsdir, sizeof xsdir, "%s/xs", dir);
	if (mkdir(xsdir, 0700) < 0) {
		perror("fuzz-xsd: mkdir");
		rmdir(dir);
		exit(1);
	}
	atexit(cleanup);
	xsd_dir = dir;
	defaults = xsd_cfg;
	trace = getenv("FUZZ_XSD_TRACE") != NULL;
	return 0;
}

/* As xsd_accept() does, without a socket: the fd is only ever closed. */
static struct xsd_conn *conn_new(uint32_t domid)
{
	struct xsd_conn *c = xsd_calloc(1, sizeof(*c)), **pp;

	c->fd = -1;
	c->domid = domid;
	c->dom = xsd_domain_get(domid);
	c->dom->conns++;
	c->next_trans_id = 1;
	for (pp = &xsd_conns; *pp; pp = &(*pp)->next)
		;
	*pp = c;
	return c;
}

/* A domain and what was found of it. */
struct tally {
	struct xsd_domain *d;
	unsigned nodes, watches, trans, conns;
};
struct tallies {
	struct tally *t;
	size_t n;
};

static void add_domain(struct xsd_domain *d, void *arg)
{
	struct tallies *all = arg;

	all->t = xsd_realloc(all->t, (all->n + 1) * sizeof(*all->t));
	all->t[all->n++] = (struct tally){ d, 0, 0, 0, 0 };
}

static struct tally *tally_of(struct tallies *all, uint32_t domid)
{
	for (size_t i = 0; i < all->n; i++)
		if (all->t[i].d->domid == domid)
			return &all->t[i];
	return NULL;
}

/* The per-domain counts against what exists; the quotas. */
static void check_domains(void)
{
	struct tallies all = { NULL, 0 };
	size_t n, i;
	const char **paths = xsd_main_paths(&n);
	const struct xsd_conn *c;

	xsd_domain_each(add_domain, &all);
	for (i = 0; i < n; i++) {
		struct tally *t = tally_of(&all, xsd_main_get(paths[i])->perms.p[0].id);

		CHECK(t); /* its owner is a known domain */
		t->nodes++;
	}
	free(paths);
	for (c = xsd_conns; c; c = c->next) {
		struct tally *t;
		const struct xsd_watch *w;
		const struct xsd_trans *tr;

		if (c->dead)
			continue;
		t = tally_of(&all, c->domid);
		CHECK(t && t->d == c->dom);
		t->conns++;
		for (w = c->watches; w; w = w->next)
			t->watches++;
		for (tr = c->trans; tr; tr = tr->next)
			t->trans++;
	}
	for (i = 0; i < all.n; i++) {
		const struct tally *t = &all.t[i];
		const struct xsd_domain *d = t->d;

		CHECK(xsd_domain_find(d->domid) == d);
		CHECK(d->gen <= xsd_generation);
		if (d->domid != 0) {
			CHECK(d->introduced == (d->listen_fd >= 0));
			CHECK(d->introduced == (d->sock_path != NULL));
		}
		CHECK(d->nodes == t->nodes);
		CHECK(d->watches == t->watches);
		CHECK(d->trans == t->trans);
		CHECK(d->conns == t->conns);
		/* The quotas are tested before adding: one more fits. */
		if (!xsd_domain_privileged(d->domid)) {
			CHECK(d->watches <= xsd_cfg.quota_watches + 1);
			CHECK(d->trans <= xsd_cfg.quota_trans + 1);
		}
	}
	free(all.t);
}

static void check_node(const char *path, const struct xsd_node *n, size_t *nchildren)
{
	size_t off, k;

	CHECK(n && !strcmp(n->name, path));
	CHECK(xsd_valid_path(path));
	CHECK(n->gen >= 1 && n->gen <= xsd_generation);
	CHECK(n->perms.num >= 1 && n->perms.p);
	for (k = 0; k < n->perms.num; k++)
		CHECK(!(n->perms.p[k].acc & ~(XSD_PERM_READ | XSD_PERM_WRITE)));
	CHECK(n->data && n->children && n->children[n->childlen] == '\0');
	for (off = 0; off < n->childlen; off += strlen(n->children + off) + 1) {
		const char *name = n->children + off;
		char *cp;

		CHECK(*name && !strchr(name, '/'));
		cp = strcmp(path, "/") ? xsd_printf("%s/%s", path, name) : xsd_printf("/%s", name);
		CHECK(xsd_main_get(cp));
		free(cp);
		(*nchildren)++;
	}
	if (strcmp(path, "/")) {
		char *up = xsd_parent(path);
		const struct xsd_node *p = xsd_main_get(up);
		const char *base = xsd_basename(path);
		bool listed = false;

		CHECK(p);
		for (off = 0; off < p->childlen && !listed; off += strlen(p->children + off) + 1)
			listed = !strcmp(p->children + off, base);
		CHECK(listed);
		free(up);
	}
}

/* An overlay map: path -> a copy of that node, or XSD_GONE. */
static void check_overlay(const struct xsd_trans *t, const struct xsd_map *m, bool is_snap)
{
	size_t n, i;
	const char **keys = xsd_map_keys(m, &n);

	for (i = 0; i < n; i++) {
		const struct xsd_node *o = xsd_map_get(m, keys[i]);

		CHECK(xsd_map_has(&t->seen, keys[i]));
		if (is_snap)
			CHECK(!xsd_map_has(&t->nodes, keys[i]));
		if ((void *)o != XSD_GONE)
			CHECK(!strcmp(o->name, keys[i]) && o->perms.num >= 1);
	}
	free(keys);
}

static void check_conn(const struct xsd_conn *c)
{
	const struct xsd_watch *w;
	const struct xsd_trans *t;

	CHECK(c->dom == xsd_domain_find(c->domid));
	CHECK(c->fd == -1);
	CHECK(c->hdr_used <= sizeof(c->hdr));
	CHECK((c->hdr_used == sizeof(c->hdr)) == (c->in != NULL));
	if (c->in)
		CHECK(c->msg.len <= XENSTORE_PAYLOAD_MAX && c->in_used < c->msg.len);
	for (w = c->watches; w; w = w->next) {
		CHECK(w->token);
		if (w->path[0] == '@') {
			CHECK(strlen(w->path) <= XENSTORE_REL_PATH_MAX && !w->strip);
		} else {
			CHECK(xsd_valid_path(w->path));
			CHECK(w->strip < strlen(w->path));
		}
	}
	for (t = c->trans; t; t = t->next) {
		struct xsd_event *const *tail = &t->events;

		CHECK(t->id && xsd_trans_find((struct xsd_conn *)c, t->id) == t);
		while (*tail)
			tail = &(*tail)->next;
		CHECK(t->events_tail == tail);
		check_overlay(t, &t->nodes, false);
		check_overlay(t, &t->snap, true);
	}
}

static void check_state(void)
{
	size_t n, i, nchildren = 0;
	const char **paths = xsd_main_paths(&n);
	const struct xsd_conn *c;

	CHECK(xsd_main_get("/"));
	for (i = 0; i < n; i++)
		check_node(paths[i], xsd_main_get(paths[i]), &nchildren);
	free(paths);
	/* Every node but the root is listed once: no name twice in a list. */
	CHECK(nchildren == n - 1);
	check_domains();
	for (c = xsd_conns; c; c = c->next)
		if (!c->dead)
			check_conn(c);
	CHECK(xsd_special_perms("@introduceDomain")->num >= 1);
	CHECK(xsd_special_perms("@releaseDomain")->num >= 1);
}

/* Whether the event (path as sent, after a relative watch's prefix) is for w. */
static bool event_for(const struct xsd_watch *w, const char *path)
{
	char *full;
	size_t len = strlen(w->path);
	bool ok;

	if (w->path[0] == '@')
		return !strcmp(w->path, path);
	full = xsd_printf("%.*s%s", (int)w->strip, w->path, path);
	ok = !strcmp(w->path, "/") ||
	     (!strncmp(full, w->path, len) && (full[len] == '/' || full[len] == '\0'));
	free(full);
	return ok;
}

static void check_event(const struct xsd_conn *c, const struct xsd_sockmsg *m, const char *p,
			bool exact)
{
	size_t l1;
	const char *token;
	const struct xsd_watch *w;

	CHECK(m->req_id == 0 && m->tx_id == 0);
	CHECK(m->len >= 2 && p[m->len - 1] == '\0');
	l1 = strlen(p);
	CHECK(l1 + 1 < m->len);
	token = p + l1 + 1;
	CHECK(l1 + 1 + strlen(token) + 1 == m->len);
	if (!exact || c->dead)
		return;
	for (w = c->watches; w; w = w->next)
		if (!strcmp(w->token, token) && event_for(w, p))
			return;
	CHECK(!"an event for no watch of this connection");
}

/*
 * What the daemon queued since the outputs were last dropped. asker: the
 * connection fed; one: a single request was completed (its header is
 * still in asker->msg) and must have had exactly one reply.
 */
static void check_output(const struct xsd_conn *asker, bool one)
{
	const struct xsd_conn *c;

	for (c = xsd_conns; c; c = c->next) {
		size_t off = 0;
		unsigned replies = 0;

		while (off < c->out.len) {
			struct xsd_sockmsg m;
			const char *p;

			CHECK(c->out.len - off >= sizeof(m));
			memcpy(&m, c->out.p + off, sizeof(m));
			off += sizeof(m);
			CHECK(m.len <= XENSTORE_PAYLOAD_MAX && m.len <= c->out.len - off);
			p = c->out.p + off;
			off += m.len;
			if (trace) {
				fprintf(stderr, "dom%u %p: type %u req %u tx %u:", c->domid,
					(void *)c, m.type, m.req_id, m.tx_id);
				for (size_t k = 0; k < m.len && k < 80; k++)
					fputc(p[k] ? p[k] : ' ', stderr);
				fputc('\n', stderr);
			}
			if (m.type == XS_WATCH_EVENT) {
				check_event(c, &m, p, asker && one);
				continue;
			}
			CHECK(c == asker);
			replies++;
			if (m.type == XS_ERROR) {
				size_t k;

				CHECK(m.len && p[m.len - 1] == '\0');
				for (k = 0; k < sizeof(xsd_errors) / sizeof(xsd_errors[0]); k++)
					if (!strcmp(p, xsd_errors[k].errstring))
						break;
				CHECK(k < sizeof(xsd_errors) / sizeof(xsd_errors[0]));
			}
			if (one) {
				CHECK(m.req_id == c->msg.req_id && m.tx_id == c->msg.tx_id);
				CHECK(m.type == c->msg.type || m.type == XS_ERROR);
			}
		}
		if (one && c == asker && !c->dead)
			CHECK(replies == 1);
	}
}

/* As if every client had read all it was sent. */
static void drop_output(void)
{
	struct xsd_conn *c;

	for (c = xsd_conns; c; c = c->next)
		c->out.len = c->out_off = 0;
}

static void feed(struct xsd_conn *c, const uint8_t *p, size_t n, bool whole)
{
	if (!c || c->dead)
		return; /* nobody reads a closed socket */
	if (whole) {
		drop_output();
		xsd_input(c, p, n);
		check_output(c, false);
		check_state();
		return;
	}
	while (n && !c->dead) {
		size_t take = c->hdr_used < sizeof(c->hdr) ? sizeof(c->hdr) - c->hdr_used
							   : c->msg.len - c->in_used;

		if (take > n)
			take = n;
		drop_output();
		xsd_input(c, p, take);
		p += take;
		n -= take;
		/* Back at a header's start: a request was processed. */
		check_output(c, !c->dead && c->hdr_used == 0);
		if (c->dead || c->hdr_used == 0)
			check_state();
	}
}

static void reset(void)
{
	xsd_io_free();
	xsd_domains_free(); /* closes and unlinks the domains' sockets */
	xsd_store_free();
	xsd_special_free();
	fault_clear();
	xsd_generation = 0;
	xsd_cfg = defaults;
	memset(slot, 0, sizeof slot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i = 1;
	bool fresh;

	if (size < 1)
		return 0;
	xsd_cfg.keep_orphans = data[0] & 1;
	if (data[0] & 2) {
		/* Small enough for a short input to reach each limit. */
		xsd_cfg.quota_nodes = 12;
		xsd_cfg.quota_watches = 3;
		xsd_cfg.quota_trans = 2;
		xsd_cfg.quota_entry_size = 160;
		xsd_cfg.quota_perms = 3;
	}
	if (data[0] & 4)
		xsd_cfg.priv_domid = 2;
	xsd_store_init();
	xsd_domain_introduce(1, &fresh);
	xsd_domain_introduce(2, &fresh);
	for (unsigned s = 0; s < NSLOT; s++)
		slot[s] = conn_new(slot_dom[s]);
	check_state();
	while (i < size) {
		unsigned s = data[i] & 3, act = (data[i] >> 2) & 7;
		const struct xsd_domain *d;
		size_t len;

		i++;
		switch (act) {
		case 5:
			if (!slot[s]->dead) {
				xsd_conn_kill(slot[s]);
				check_state();
			}
			break;
		case 6:
			d = xsd_domain_find(slot_dom[s]);
			if (slot[s]->dead && (slot_dom[s] == 0 || (d && d->introduced))) {
				slot[s] = conn_new(slot_dom[s]);
				check_state();
			}
			break;
		default:
			len = i < size ? data[i++] : 0;
			if (len > size - i)
				len = size - i;
			feed(slot[s], data + i, len, act == 4);
			i += len;
		}
	}
	reset();
	return 0;
}
