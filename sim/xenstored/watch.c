/* Watches: registration, matching and permission-filtered delivery of events. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "xsd.h"

static struct xsd_perm xsd_intro_p0 = { 0, 0 }, xsd_release_p0 = { 0, 0 };
static struct xsd_perms xsd_intro_perms = { 1, &xsd_intro_p0 };
static struct xsd_perms xsd_release_perms = { 1, &xsd_release_p0 };

struct xsd_perms *xsd_special_perms(const char *name)
{
	if (!strcmp(name, "@introduceDomain"))
		return &xsd_intro_perms;
	if (!strcmp(name, "@releaseDomain"))
		return &xsd_release_perms;
	return NULL;
}

static void xsd_special_drop(struct xsd_perms *p, uint32_t domid)
{
	unsigned i, k = 1;

	for (i = 1; i < p->num; i++)
		if (p->p[i].id != domid)
			p->p[k++] = p->p[i];
	p->num = k;
}

void xsd_special_drop_domain(uint32_t domid)
{
	xsd_special_drop(&xsd_intro_perms, domid);
	xsd_special_drop(&xsd_release_perms, domid);
}

void xsd_special_set(struct xsd_perms *sp, const struct xsd_perms *perms)
{
	if (sp->p != &xsd_intro_p0 && sp->p != &xsd_release_p0)
		free(sp->p);
	*sp = *perms;
}

/* Back to the defaults, so that tests/fuzz-xsd.c can start afresh. */
void xsd_special_free(void)
{
	xsd_special_set(&xsd_intro_perms, &(struct xsd_perms){ 1, &xsd_intro_p0 });
	xsd_special_set(&xsd_release_perms, &(struct xsd_perms){ 1, &xsd_release_p0 });
}

int xsd_watch_add(struct xsd_conn *c, const char *path, const char *token)
{
	struct xsd_watch *w, **pp;
	bool relative = path[0] != '/' && path[0] != '@';
	char *canon = xsd_canon(c, path);

	for (pp = &c->watches; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->path, canon) && !strcmp((*pp)->token, token)) {
			free(canon);
			return EEXIST;
		}
	/* C xenstored tests the count before adding, so quota + 1 watches fit. */
	if (!xsd_conn_privileged(c) && c->dom->watches > xsd_cfg.quota_watches) {
		free(canon);
		return E2BIG;
	}
	w = xsd_calloc(1, sizeof(*w));
	w->path = canon;
	w->token = xsd_strdup(token);
	w->strip = relative ? strlen(canon) - strlen(path) : 0;
	*pp = w;
	c->dom->watches++;
	return 0;
}

static void xsd_watch_free(struct xsd_conn *c, struct xsd_watch *w)
{
	c->dom->watches--;
	free(w->path);
	free(w->token);
	free(w);
}

int xsd_watch_del(struct xsd_conn *c, const char *path, const char *token)
{
	struct xsd_watch **pp, *w;
	char *canon = xsd_canon(c, path);

	for (pp = &c->watches; *pp; pp = &(*pp)->next) {
		w = *pp;
		if (!strcmp(w->path, canon) && !strcmp(w->token, token)) {
			*pp = w->next;
			xsd_watch_free(c, w);
			free(canon);
			return 0;
		}
	}
	free(canon);
	return ENOENT;
}

void xsd_watch_free_all(struct xsd_conn *c)
{
	while (c->watches) {
		struct xsd_watch *w = c->watches;

		c->watches = w->next;
		xsd_watch_free(c, w);
	}
}

void xsd_event_free(struct xsd_event *e)
{
	free(e->path);
	xsd_node_free(e->old);
	xsd_node_free(e->parent_old);
	free(e);
}

static void xsd_event_send(struct xsd_conn *c, const struct xsd_watch *w, const char *path)
{
	struct xsd_buf b = { 0 };

	xsd_buf_addstr(&b, path + w->strip);
	xsd_buf_addstr(&b, w->token);
	xsd_send(c, XS_WATCH_EVENT, 0, 0, b.p, b.len);
	xsd_buf_free(&b);
}

static bool xsd_is_child(const char *child, const char *parent)
{
	size_t len = strlen(parent);

	if (!strcmp(parent, "/"))
		return true;
	return !strncmp(child, parent, len) && (child[len] == '/' || child[len] == '\0');
}

static bool xsd_readable(const struct xsd_conn *c, const struct xsd_node *n)
{
	return n && (xsd_perm_for(c, n) & XSD_PERM_READ);
}

void xsd_fire_now(const char *path, bool exact, const struct xsd_node *old,
		  const struct xsd_node *parent_old)
{
	const struct xsd_node *node = xsd_main_get(path), *parent;
	char *pname = xsd_parent(path);
	struct xsd_conn *c;

	parent = xsd_main_get(pname);
	free(pname);
	for (c = xsd_conns; c; c = c->next) {
		struct xsd_watch *w;
		int allowed = -1; /* decided on the first matching watch */

		if (c->dead)
			continue;
		for (w = c->watches; w; w = w->next) {
			if (exact ? strcmp(w->path, path) : !xsd_is_child(path, w->path))
				continue;
			/* The node, its parent, or (on a change) its old perms must be readable. */
			if (allowed < 0)
				allowed =
				    xsd_conn_privileged(c) || xsd_readable(c, old) ||
				    xsd_readable(c, node) || (node && xsd_readable(c, parent)) ||
				    (old &&
				     (xsd_readable(c, parent_old) || xsd_readable(c, parent)));
			if (allowed)
				xsd_event_send(c, w, path);
		}
	}
}

void xsd_fire(struct xsd_trans *t, const char *path, bool exact, const struct xsd_node *old,
	      const struct xsd_node *parent_old)
{
	struct xsd_event *e;

	if (!t) {
		xsd_fire_now(path, exact, old, parent_old);
		return;
	}
	/* Inside a transaction the events wait for the commit. */
	e = xsd_calloc(1, sizeof(*e));
	e->path = xsd_strdup(path);
	e->exact = exact;
	e->old = old ? xsd_node_copy(old) : NULL;
	e->parent_old = parent_old ? xsd_node_copy(parent_old) : NULL;
	*t->events_tail = e;
	t->events_tail = &e->next;
}

void xsd_fire_special(const char *name)
{
	const struct xsd_perms *p = xsd_special_perms(name);
	struct xsd_conn *c;

	for (c = xsd_conns; c; c = c->next) {
		struct xsd_watch *w;

		if (c->dead || !(xsd_perms_check(c, p) & XSD_PERM_READ))
			continue;
		for (w = c->watches; w; w = w->next)
			if (!strcmp(w->path, name))
				xsd_event_send(c, w, name);
	}
}
