/* Domains: introduce/release, their sockets, and the per-domain counters. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xsd.h"

static struct xsd_map xsd_domains; /* "<domid>" -> struct xsd_domain */

struct xsd_domain *xsd_domain_find(uint32_t domid)
{
	char key[16];

	snprintf(key, sizeof(key), "%u", domid);
	return xsd_map_get(&xsd_domains, key);
}

struct xsd_domain *xsd_domain_get(uint32_t domid)
{
	struct xsd_domain *d = xsd_domain_find(domid);
	char key[16];

	if (d)
		return d;
	d = xsd_calloc(1, sizeof(*d));
	d->domid = domid;
	/* Dom0 is there from the start; others count from when first named. */
	d->gen = domid == 0 ? 0 : ++xsd_generation;
	d->listen_fd = -1;
	snprintf(key, sizeof(key), "%u", domid);
	xsd_map_put(&xsd_domains, key, d);
	return d;
}

bool xsd_domain_privileged(uint32_t domid)
{
	return domid == 0 || domid == xsd_cfg.priv_domid;
}

static void xsd_domain_free(void *p)
{
	struct xsd_domain *d = p;

	if (d->listen_fd >= 0)
		close(d->listen_fd);
	if (d->sock_path) {
		unlink(d->sock_path);
		free(d->sock_path);
	}
	free(d);
}

void xsd_domains_free(void)
{
	xsd_map_clear(&xsd_domains, xsd_domain_free);
}

void xsd_domain_each(void (*fn)(struct xsd_domain *, void *), void *arg)
{
	size_t n, i;
	const char **keys = xsd_map_keys(&xsd_domains, &n);

	for (i = 0; i < n; i++)
		fn(xsd_map_get(&xsd_domains, keys[i]), arg);
	free(keys);
}

static int xsd_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

char *xsd_domains_stats(void)
{
	size_t n, i, k = 0;
	const char **keys = xsd_map_keys(&xsd_domains, &n);
	uint32_t *ids = xsd_calloc(n, sizeof(*ids));
	struct xsd_buf b = { 0 };
	char tmp[160];

	for (i = 0; i < n; i++) {
		struct xsd_domain *d = xsd_map_get(&xsd_domains, keys[i]);

		if (d->domid == 0 || d->introduced || d->nodes || d->watches || d->trans ||
		    d->conns)
			ids[k++] = d->domid;
	}
	free(keys);
	qsort(ids, k, sizeof(*ids), xsd_cmp_u32);
	xsd_buf_add(&b, "{\"domains\":{", 12);
	for (i = 0; i < k; i++) {
		struct xsd_domain *d = xsd_domain_find(ids[i]);
		int len =
		    snprintf(tmp, sizeof(tmp),
			     "%s\"%u\":{\"nodes\":%u,\"watches\":%u,\"transactions\":%u,"
			     "\"connections\":%u}",
			     i ? "," : "", d->domid, d->nodes, d->watches, d->trans, d->conns);

		xsd_buf_add(&b, tmp, (size_t)len);
	}
	xsd_buf_add(&b, "}}", 3);
	free(ids);
	return b.p;
}

int xsd_domain_introduce(uint32_t domid, bool *fresh)
{
	struct xsd_domain *d = xsd_domain_get(domid);
	char *path;
	int fd;

	*fresh = false;
	if (d->introduced || domid == 0)
		return 0; /* C xenstored answers OK to a repeated introduce */
	path = xsd_printf("%s/xs/dom%u.sock", xsd_dir, domid);
	fd = xsd_listen(path);
	if (fd < 0) {
		free(path);
		return EIO;
	}
	d->listen_fd = fd;
	d->sock_path = path;
	d->introduced = true;
	*fresh = true;
	return 0;
}

static int xsd_cmp_len(const void *a, const void *b)
{
	size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);

	return x < y ? -1 : x > y;
}

/* On release C xenstored 4.17 deletes the nodes the domain owns (unless -K). */
static void xsd_remove_orphans(uint32_t domid)
{
	size_t n, i;
	const char **keys = xsd_main_paths(&n);
	char **owned = xsd_calloc(n, sizeof(*owned));
	size_t k = 0;

	for (i = 0; i < n; i++) {
		struct xsd_node *node = xsd_main_get(keys[i]);

		if (node->perms.p[0].id == domid && strcmp(keys[i], "/"))
			owned[k++] = xsd_strdup(keys[i]);
	}
	free(keys);
	/* Ancestors first, so each owned subtree goes in one removal as in Xen. */
	qsort(owned, k, sizeof(*owned), xsd_cmp_len);
	for (i = 0; i < k; i++) {
		struct xsd_node *node = xsd_main_get(owned[i]);

		/* Gone already when an owned ancestor took it along. */
		if (node && node->perms.p[0].id == domid) {
			if (xsd_cfg.keep_orphans) {
				struct xsd_node *c = xsd_node_copy(node);

				c->perms.p[0].id = xsd_cfg.priv_domid;
				xsd_main_put(c);
			} else {
				xsd_remove_tree(NULL, owned[i]);
			}
		}
		free(owned[i]);
	}
	free(owned);
}

int xsd_domain_release(uint32_t domid)
{
	struct xsd_domain *d = xsd_domain_find(domid);
	char key[16];

	if (!d || !d->introduced)
		return ENOENT;
	xsd_close_domain_conns(domid);
	close(d->listen_fd);
	d->listen_fd = -1;
	unlink(d->sock_path);
	free(d->sock_path);
	d->sock_path = NULL;
	d->introduced = false;
	xsd_remove_orphans(domid);
	xsd_special_drop_domain(domid);
	xsd_fire_special("@releaseDomain");
	/* Forget it: a later domain with this id must not inherit its grants. */
	if (!d->nodes && !d->conns) {
		snprintf(key, sizeof(key), "%u", domid);
		xsd_map_del(&xsd_domains, key);
		xsd_domain_free(d);
	} else {
		d->gen = ++xsd_generation;
	}
	return 0;
}
