/*
 * The node tree, stored like C xenstored does it: a flat map from full path to a node that
 * carries its data, permissions and the names of its children. Transactions see it
 * through an overlay (trans.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsd.h"

static struct xsd_map xsd_tree;

void xsd_node_free(struct xsd_node *n)
{
	if (!n || (void *)n == XSD_GONE)
		return;
	free(n->name);
	free(n->data);
	free(n->perms.p);
	free(n->children);
	free(n);
}

static void xsd_node_free_v(void *n)
{
	xsd_node_free(n);
}

bool xsd_perm_valid(const struct xsd_node *n, unsigned i)
{
	const struct xsd_domain *d;

	if (i == 0 || n->perms.p[i].id == 0)
		return true;
	/* A grant outlives neither its domain nor a domid reused later (XSA-322). */
	d = xsd_domain_find(n->perms.p[i].id);
	return d && d->gen <= n->gen;
}

/* The permissions in force on n, without entries for vanished domains. */
static void xsd_perms_effective(struct xsd_perms *dst, const struct xsd_node *n)
{
	unsigned i;

	dst->p = xsd_calloc(n->perms.num, sizeof(*dst->p));
	dst->num = 0;
	for (i = 0; i < n->perms.num; i++)
		if (xsd_perm_valid(n, i))
			dst->p[dst->num++] = n->perms.p[i];
}

void xsd_perms_copy(struct xsd_perms *dst, const struct xsd_perms *src)
{
	dst->num = src->num;
	dst->p = xsd_calloc(src->num, sizeof(*dst->p));
	memcpy(dst->p, src->p, src->num * sizeof(*dst->p));
}

struct xsd_node *xsd_node_copy(const struct xsd_node *n)
{
	struct xsd_node *c = xsd_calloc(1, sizeof(*c));

	c->name = xsd_strdup(n->name);
	c->data = xsd_memdup(n->data, n->datalen);
	c->datalen = n->datalen;
	xsd_perms_effective(&c->perms, n);
	c->children = xsd_memdup(n->children, n->childlen);
	c->childlen = n->childlen;
	c->gen = n->gen;
	return c;
}

static void xsd_count_owner(const struct xsd_node *n, int delta)
{
	struct xsd_domain *d = xsd_domain_get(n->perms.p[0].id);

	d->nodes += delta;
}

struct xsd_node *xsd_main_get(const char *path)
{
	return xsd_map_get(&xsd_tree, path);
}

void xsd_main_put(struct xsd_node *n)
{
	struct xsd_node *old;

	n->gen = ++xsd_generation;
	xsd_count_owner(n, 1);
	old = xsd_map_put(&xsd_tree, n->name, n);
	if (old) {
		xsd_count_owner(old, -1);
		xsd_node_free(old);
	}
}

void xsd_main_del(const char *path)
{
	struct xsd_node *old = xsd_map_del(&xsd_tree, path);

	if (old) {
		xsd_count_owner(old, -1);
		xsd_node_free(old);
	}
}

const char **xsd_main_paths(size_t *n)
{
	return xsd_map_keys(&xsd_tree, n);
}

struct xsd_node *xsd_store_get(struct xsd_trans *t, const char *path)
{
	struct xsd_node *n;

	if (!t)
		return xsd_main_get(path);
	n = xsd_map_get(&t->nodes, path);
	if (!n)
		n = xsd_map_get(&t->snap, path);
	if (n)
		return (void *)n == XSD_GONE ? NULL : n;
	/* A transaction keeps seeing what it read first, as in C xenstored. */
	n = xsd_main_get(path);
	xsd_trans_seen(t, path, n);
	n = n ? xsd_node_copy(n) : XSD_GONE;
	xsd_map_put(&t->snap, path, n);
	return (void *)n == XSD_GONE ? NULL : n;
}

void xsd_store_put(struct xsd_trans *t, struct xsd_node *n)
{
	if (!t) {
		xsd_main_put(n);
		return;
	}
	xsd_trans_seen(t, n->name, xsd_main_get(n->name));
	xsd_node_free(xsd_map_del(&t->snap, n->name));
	n->gen = ++xsd_generation;
	xsd_node_free(xsd_map_put(&t->nodes, n->name, n));
}

void xsd_store_del(struct xsd_trans *t, const char *path)
{
	if (!t) {
		xsd_main_del(path);
		return;
	}
	xsd_trans_seen(t, path, xsd_main_get(path));
	xsd_node_free(xsd_map_del(&t->snap, path));
	xsd_node_free(xsd_map_put(&t->nodes, path, XSD_GONE));
}

static struct xsd_node *xsd_node_new(const char *name, const struct xsd_perms *perms)
{
	struct xsd_node *n = xsd_calloc(1, sizeof(*n));

	n->name = xsd_strdup(name);
	n->data = xsd_strdup("");
	n->children = xsd_strdup("");
	xsd_perms_copy(&n->perms, perms);
	return n;
}

/* A fresh xenstored 4.17 holds "/", "/tool" and "/tool/xenstored", all "n0". */
void xsd_store_init(void)
{
	struct xsd_perm p0 = { 0, 0 };
	struct xsd_perms perms = { 1, &p0 };
	struct xsd_node *root = xsd_node_new("/", &perms);
	struct xsd_node *tool = xsd_node_new("/tool", &perms);

	xsd_child_add(root, "tool");
	xsd_child_add(tool, "xenstored");
	xsd_main_put(root);
	xsd_main_put(tool);
	xsd_main_put(xsd_node_new("/tool/xenstored", &perms));
}

void xsd_store_free(void)
{
	xsd_map_clear(&xsd_tree, xsd_node_free_v);
}

unsigned xsd_perms_check(const struct xsd_conn *c, const struct xsd_perms *p)
{
	const struct xsd_domain *d = c->dom;
	unsigned i;

	if (xsd_conn_privileged(c) || p->p[0].id == c->domid ||
	    (d && d->has_target && p->p[0].id == d->target))
		return XSD_PERM_READ | XSD_PERM_WRITE | XSD_PERM_OWNER;
	for (i = 1; i < p->num; i++)
		if (p->p[i].id == c->domid || (d && d->has_target && p->p[i].id == d->target))
			return p->p[i].acc;
	return p->p[0].acc;
}

unsigned xsd_perm_for(const struct xsd_conn *c, const struct xsd_node *n)
{
	struct xsd_perms eff;
	unsigned r;

	xsd_perms_effective(&eff, n);
	r = xsd_perms_check(c, &eff);
	free(eff.p);
	return r;
}

size_t xsd_node_size(const struct xsd_node *n)
{
	/* The size of C xenstored's database record: 24 byte header, 8 bytes a perm. */
	return 24 + 8 * (size_t)n->perms.num + n->datalen + n->childlen;
}

char *xsd_parent(const char *path)
{
	const char *slash = strrchr(path + 1, '/');

	if (!slash)
		return xsd_strdup("/");
	return xsd_memdup(path, (size_t)(slash - path));
}

const char *xsd_basename(const char *path)
{
	return strrchr(path, '/') + 1;
}

/* C xenstored's is_valid_nodename with the default path-max of XENSTORE_REL_PATH_MAX. */
bool xsd_valid_path(const char *path)
{
	static const char ok[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@";
	size_t len = strlen(path), local = 0;
	const char *p;

	if (path[0] != '/')
		return false;
	if (len > 1 && path[len - 1] == '/')
		return false;
	if (strstr(path, "//"))
		return false;
	/* Under /local/domain/<id>/ only the part below the domain counts. */
	if (!strncmp(path, "/local/domain/", 14)) {
		size_t digits = 0;

		p = path + 14;
		while (digits < 5 && isdigit((unsigned char)p[digits]))
			digits++;
		if (digits && p[digits] == '/')
			local = 14 + digits + 1;
	}
	if (len > local + XENSTORE_REL_PATH_MAX)
		return false;
	return strspn(path, ok) == len;
}

char *xsd_canon(const struct xsd_conn *c, const char *path)
{
	if (path[0] == '/' || path[0] == '@')
		return xsd_strdup(path);
	return xsd_printf("/local/domain/%u/%s", c->domid, path);
}

void xsd_child_add(struct xsd_node *n, const char *name)
{
	size_t l = strlen(name) + 1;

	n->children = xsd_realloc(n->children, n->childlen + l + 1);
	memcpy(n->children + n->childlen, name, l);
	n->childlen += l;
	n->children[n->childlen] = '\0';
}

void xsd_child_del(struct xsd_node *n, const char *name)
{
	size_t off = 0, l;

	while (off < n->childlen) {
		l = strlen(n->children + off) + 1;
		if (!strcmp(n->children + off, name)) {
			memmove(n->children + off, n->children + off + l, n->childlen - off - l);
			n->childlen -= l;
			n->children[n->childlen] = '\0';
			return;
		}
		off += l;
	}
}

static bool xsd_parse_domid(const char *s, uint32_t *out)
{
	unsigned long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

int xsd_perms_parse(const char *s, size_t len, unsigned num, struct xsd_perms *out)
{
	unsigned i;

	out->num = num;
	out->p = xsd_calloc(num, sizeof(*out->p));
	for (i = 0; i < num; i++) {
		size_t l = strnlen(s, len);

		switch (s[0]) {
		case 'n':
			out->p[i].acc = 0;
			break;
		case 'r':
			out->p[i].acc = XSD_PERM_READ;
			break;
		case 'w':
			out->p[i].acc = XSD_PERM_WRITE;
			break;
		case 'b':
			out->p[i].acc = XSD_PERM_READ | XSD_PERM_WRITE;
			break;
		default:
			goto bad;
		}
		if (!xsd_parse_domid(s + 1, &out->p[i].id))
			goto bad;
		s += l + 1;
		len -= l + 1;
	}
	return 0;
bad:
	free(out->p);
	out->p = NULL;
	return EINVAL;
}

void xsd_perms_text(const struct xsd_node *n, struct xsd_buf *out)
{
	static const char letters[] = "nrwb";
	unsigned i;
	char tmp[16];

	for (i = 0; i < n->perms.num; i++) {
		if (!xsd_perm_valid(n, i))
			continue;
		snprintf(tmp, sizeof(tmp), "%c%u", letters[n->perms.p[i].acc & 3],
			 n->perms.p[i].id);
		xsd_buf_addstr(out, tmp);
	}
}

struct xsd_node *xsd_lookup(struct xsd_conn *c, struct xsd_trans *t, const char *path,
			    unsigned need, int *err)
{
	struct xsd_node *n = xsd_store_get(t, path);
	char *anc;

	if (n) {
		if ((xsd_perm_for(c, n) & need) == need)
			return n;
		*err = EACCES;
		return NULL;
	}
	/* Say ENOENT only to those allowed to learn it: the nearest ancestor decides. */
	*err = ENOENT;
	anc = xsd_strdup(path);
	while (strcmp(anc, "/")) {
		char *up = xsd_parent(anc);

		free(anc);
		anc = up;
		n = xsd_store_get(t, anc);
		if (n)
			break;
	}
	free(anc);
	if (!n || !(xsd_perm_for(c, n) & need))
		*err = EACCES;
	return NULL;
}

/* Post-order list of the paths below (not including) path. */
static void xsd_collect(struct xsd_trans *t, const struct xsd_node *n, struct xsd_buf *out)
{
	size_t off;

	for (off = 0; off < n->childlen; off += strlen(n->children + off) + 1) {
		char *cp = strcmp(n->name, "/") ? xsd_printf("%s/%s", n->name, n->children + off)
						: xsd_printf("/%s", n->children + off);
		struct xsd_node *cn = xsd_store_get(t, cp);

		if (cn)
			xsd_collect(t, cn, out);
		xsd_buf_addstr(out, cp);
		free(cp);
	}
}

void xsd_remove_tree(struct xsd_trans *t, const char *path)
{
	struct xsd_buf list = { 0 };
	struct xsd_node *top = xsd_store_get(t, path), *parent, *topcopy, *pcopy;
	char *pname = xsd_parent(path);
	size_t off;

	if (!top) {
		free(pname);
		return;
	}
	xsd_collect(t, top, &list);
	/* Nodes below: leaf first, each firing only the watches set on it. */
	for (off = 0; off < list.len; off += strlen(list.p + off) + 1) {
		const char *cp = list.p + off;
		struct xsd_node *cn = xsd_store_get(t, cp), *cc;
		char *cpp;
		struct xsd_node *cpn, *cpc = NULL;

		if (!cn)
			continue;
		cc = xsd_node_copy(cn);
		cpp = xsd_parent(cp);
		cpn = xsd_store_get(t, cpp);
		if (cpn)
			cpc = xsd_node_copy(cpn);
		xsd_store_del(t, cp);
		xsd_fire(t, cp, true, cc, cpc);
		xsd_node_free(cc);
		xsd_node_free(cpc);
		free(cpp);
	}
	xsd_buf_free(&list);
	topcopy = xsd_node_copy(top);
	parent = xsd_store_get(t, pname);
	pcopy = parent ? xsd_node_copy(parent) : NULL;
	xsd_store_del(t, path);
	if (parent) {
		struct xsd_node *np = xsd_node_copy(parent);

		xsd_child_del(np, xsd_basename(path));
		xsd_store_put(t, np);
	}
	xsd_fire(t, path, false, topcopy, pcopy);
	xsd_node_free(topcopy);
	xsd_node_free(pcopy);
	free(pname);
}
