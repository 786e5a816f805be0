/*
 * Transactions: a copy-on-write overlay of the nodes a transaction changed, plus the
 * generation of every node it looked at. Commit fails with EAGAIN when any of those
 * changed meanwhile (C xenstored 4.17 does the same with per-node generation counts).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "xsd.h"

char xsd_gone_marker;

void xsd_trans_seen(struct xsd_trans *t, const char *path, const struct xsd_node *main_node)
{
	uint64_t *g;

	if (xsd_map_has(&t->seen, path))
		return;
	g = xsd_malloc(sizeof(*g));
	*g = main_node ? main_node->gen : XSD_NO_GEN;
	xsd_map_put(&t->seen, path, g);
}

struct xsd_trans *xsd_trans_find(struct xsd_conn *c, uint32_t id)
{
	struct xsd_trans *t;

	for (t = c->trans; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

int xsd_trans_start(struct xsd_conn *c, uint32_t *id)
{
	struct xsd_trans *t;

	/* Counted per domain: in Xen all of a guest's users share its one ring. */
	if (!xsd_conn_privileged(c) && c->dom->trans > xsd_cfg.quota_trans)
		return ENOSPC;
	t = xsd_calloc(1, sizeof(*t));
	do {
		t->id = c->next_trans_id++;
	} while (t->id == 0 || xsd_trans_find(c, t->id));
	t->events_tail = &t->events;
	t->next = c->trans;
	c->trans = t;
	c->dom->trans++;
	*id = t->id;
	return 0;
}

static void xsd_node_free_v(void *n)
{
	xsd_node_free(n);
}

static void xsd_trans_free(struct xsd_conn *c, struct xsd_trans *t)
{
	struct xsd_trans **pp;
	struct xsd_event *e, *next;

	for (pp = &c->trans; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	c->dom->trans--;
	xsd_map_clear(&t->nodes, xsd_node_free_v);
	xsd_map_clear(&t->snap, xsd_node_free_v);
	xsd_map_clear(&t->seen, free);
	for (e = t->events; e; e = next) {
		next = e->next;
		xsd_event_free(e);
	}
	free(t);
}

static int xsd_trans_check(struct xsd_conn *c, struct xsd_trans *t)
{
	size_t n, i;
	const char **keys = xsd_map_keys(&t->seen, &n);
	long delta = 0;
	int err = 0;

	for (i = 0; i < n && !err; i++) {
		const struct xsd_node *m = xsd_main_get(keys[i]);
		uint64_t *seen = xsd_map_get(&t->seen, keys[i]);

		if ((m ? m->gen : XSD_NO_GEN) != *seen)
			err = EAGAIN;
	}
	free(keys);
	if (err || xsd_conn_privileged(c))
		return err;
	/* The node quota is checked at commit, as C xenstored does. */
	keys = xsd_map_keys(&t->nodes, &n);
	for (i = 0; i < n; i++) {
		const struct xsd_node *m = xsd_main_get(keys[i]);
		const struct xsd_node *o = xsd_map_get(&t->nodes, keys[i]);

		if (m && m->perms.p[0].id == c->domid)
			delta--;
		if ((void *)o != XSD_GONE && o->perms.p[0].id == c->domid)
			delta++;
	}
	free(keys);
	if (delta > 0 && c->dom->nodes + (unsigned long)delta > xsd_cfg.quota_nodes)
		return ENOSPC;
	return 0;
}

int xsd_trans_end(struct xsd_conn *c, struct xsd_trans *t, bool commit)
{
	size_t n, i;
	const char **keys;
	struct xsd_event *e;
	int err = commit ? xsd_trans_check(c, t) : 0;

	if (!commit || err) {
		xsd_trans_free(c, t);
		return err;
	}
	keys = xsd_map_keys(&t->nodes, &n);
	for (i = 0; i < n; i++) {
		struct xsd_node *o = xsd_map_get(&t->nodes, keys[i]);

		if ((void *)o == XSD_GONE) {
			xsd_main_del(keys[i]);
		} else {
			xsd_map_put(&t->nodes, keys[i], XSD_GONE); /* now owned by the tree */
			xsd_main_put(o);
		}
	}
	free(keys);
	for (e = t->events; e; e = e->next)
		xsd_fire_now(e->path, e->exact, e->old, e->parent_old);
	xsd_trans_free(c, t);
	return 0;
}

void xsd_trans_free_all(struct xsd_conn *c)
{
	while (c->trans)
		xsd_trans_free(c, c->trans);
}
