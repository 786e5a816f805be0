/* The requests: argument checks, permissions and replies as C xenstored 4.17 gives them. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fault.h"
#include "xsd.h"

struct xsd_req {
	struct xsd_conn *c;
	struct xsd_trans *t;
	const char *p;
	size_t len;
};

static void xsd_reply(struct xsd_req *r, uint32_t type, const void *data, size_t len)
{
	if (len > XENSTORE_PAYLOAD_MAX) {
		static const char e2big[] = "E2BIG";

		xsd_send(r->c, XS_ERROR, r->c->msg.req_id, r->c->msg.tx_id, e2big, sizeof(e2big));
		return;
	}
	xsd_send(r->c, type, r->c->msg.req_id, r->c->msg.tx_id, data, len);
}

static void xsd_ack(struct xsd_req *r)
{
	xsd_reply(r, r->c->msg.type, "OK", 3);
}

static void xsd_error(struct xsd_conn *c, int err)
{
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			break;
	if (i == sizeof(xsd_errors) / sizeof(xsd_errors[0]))
		i = 0; /* EINVAL, like xenstored for an untranslatable error */
	xsd_send(c, XS_ERROR, c->msg.req_id, c->msg.tx_id, xsd_errors[i].errstring,
		 strlen(xsd_errors[i].errstring) + 1);
}

/* The payload must be exactly one NUL-terminated string. */
static const char *xsd_onearg(const struct xsd_req *r)
{
	if (!r->len || memchr(r->p, 0, r->len) != r->p + r->len - 1)
		return NULL;
	return r->p;
}

/* Counts the NUL-terminated strings, storing up to max of them. */
static unsigned xsd_strings(const struct xsd_req *r, const char **vec, unsigned max)
{
	size_t off = 0;
	unsigned n = 0;

	while (off < r->len) {
		const char *nul = memchr(r->p + off, 0, r->len - off);

		if (!nul)
			break;
		if (n < max)
			vec[n] = r->p + off;
		n++;
		off = (size_t)(nul - r->p) + 1;
	}
	return n;
}

/* atoi() as xenstored uses it for domids: garbage reads as 0. */
static uint32_t xsd_atoid(const char *s)
{
	return (uint32_t)atoi(s);
}

static char *xsd_path_arg(struct xsd_req *r, const char *arg, int *err)
{
	char *path;

	if (!arg) {
		*err = EINVAL;
		return NULL;
	}
	path = xsd_canon(r->c, arg);
	if (!xsd_valid_path(path)) {
		free(path);
		*err = EINVAL;
		return NULL;
	}
	return path;
}

static int op_read(struct xsd_req *r)
{
	int err = 0;
	char *path = xsd_path_arg(r, xsd_onearg(r), &err);
	struct xsd_node *n;

	if (!path)
		return err;
	n = xsd_lookup(r->c, r->t, path, XSD_PERM_READ, &err);
	free(path);
	if (!n)
		return err;
	xsd_reply(r, XS_READ, n->data, n->datalen);
	return 0;
}

static int op_directory(struct xsd_req *r)
{
	int err = 0;
	char *path = xsd_path_arg(r, xsd_onearg(r), &err);
	struct xsd_node *n;

	if (!path)
		return err;
	n = xsd_lookup(r->c, r->t, path, XSD_PERM_READ, &err);
	free(path);
	if (!n)
		return err;
	xsd_reply(r, XS_DIRECTORY, n->children, n->childlen);
	return 0;
}

static int op_directory_part(struct xsd_req *r)
{
	const char *vec[2];
	int err = 0;
	char *path;
	struct xsd_node *n;
	unsigned off;
	size_t len = 0, maxlen;
	struct xsd_buf b = { 0 };
	char gen[32];

	if (xsd_strings(r, vec, 2) != 2)
		return EINVAL;
	path = xsd_path_arg(r, vec[0], &err);
	if (!path)
		return err;
	n = xsd_lookup(r->c, r->t, path, XSD_PERM_READ, &err);
	free(path);
	if (!n)
		return err;
	off = (unsigned)atoi(vec[1]); /* a byte offset into the child list */
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)n->gen);
	xsd_buf_addstr(&b, gen);
	if (off < n->childlen) {
		/* Whole names only; the closing empty string only once the list ends. */
		maxlen = XENSTORE_PAYLOAD_MAX - b.len - 1;
		while (off + len < n->childlen) {
			size_t l = strlen(n->children + off + len) + 1;

			if (len + l > maxlen)
				break;
			len += l;
		}
		xsd_buf_add(&b, n->children + off, len);
		if (off + len == n->childlen)
			xsd_buf_add(&b, "", 1);
	} else {
		xsd_buf_add(&b, "", 1);
	}
	xsd_reply(r, XS_DIRECTORY_PART, b.p, b.len);
	xsd_buf_free(&b);
	return 0;
}

static int op_get_perms(struct xsd_req *r)
{
	int err = 0;
	char *path = xsd_path_arg(r, xsd_onearg(r), &err);
	struct xsd_node *n;
	struct xsd_buf b = { 0 };

	if (!path)
		return err;
	n = xsd_lookup(r->c, r->t, path, XSD_PERM_READ, &err);
	free(path);
	if (!n)
		return err;
	xsd_perms_text(n, &b);
	xsd_reply(r, XS_GET_PERMS, b.p, b.len);
	xsd_buf_free(&b);
	return 0;
}

static bool xsd_too_big(const struct xsd_conn *c, const struct xsd_node *n)
{
	return !xsd_conn_privileged(c) && xsd_node_size(n) >= xsd_cfg.quota_entry_size;
}

/* Creates path and its missing ancestors, each inheriting its parent's perms. */
static int xsd_create(struct xsd_req *r, const char *path, const char *data, size_t datalen)
{
	struct xsd_conn *c = r->c;
	char **chain = NULL;
	size_t depth = 0, i;
	struct xsd_node *anc, **made;
	char *cur = xsd_strdup(path);
	int err = 0;

	for (;;) {
		char *up = xsd_parent(cur);

		chain = xsd_realloc(chain, (depth + 1) * sizeof(*chain));
		chain[depth++] = cur;
		cur = up;
		anc = xsd_store_get(r->t, cur);
		if (anc)
			break;
	}
	free(cur);
	/* chain[depth-1] is the topmost missing node. */
	if (!r->t && !xsd_conn_privileged(c) && c->dom->nodes + depth > xsd_cfg.quota_nodes) {
		err = ENOSPC;
		goto out;
	}
	made = xsd_calloc(depth + 1, sizeof(*made));
	made[0] = xsd_node_copy(anc);
	for (i = 0; i < depth; i++) {
		const char *name = chain[depth - 1 - i];
		struct xsd_node *n = xsd_calloc(1, sizeof(*n));

		n->name = xsd_strdup(name);
		n->data = i == depth - 1 ? xsd_memdup(data, datalen) : xsd_strdup("");
		n->datalen = i == depth - 1 ? datalen : 0;
		n->children = xsd_strdup("");
		xsd_perms_copy(&n->perms, &made[i]->perms);
		if (!xsd_conn_privileged(c))
			n->perms.p[0].id = c->domid;
		xsd_child_add(made[i], xsd_basename(name));
		made[i + 1] = n;
	}
	for (i = 0; i <= depth; i++)
		if (xsd_too_big(c, made[i]))
			err = ENOSPC;
	for (i = 0; i <= depth; i++) {
		if (err)
			xsd_node_free(made[i]);
		else
			xsd_store_put(r->t, made[i]);
	}
	free(made);
	if (!err)
		xsd_fire(r->t, path, false, NULL, NULL);
out:
	for (i = 0; i < depth; i++)
		free(chain[i]);
	free(chain);
	return err;
}

static int op_write(struct xsd_req *r)
{
	const char *nul = memchr(r->p, 0, r->len);
	int err = 0;
	char *path;
	struct xsd_node *n;
	size_t off;

	if (!nul)
		return EINVAL;
	off = (size_t)(nul - r->p) + 1;
	path = xsd_path_arg(r, r->p, &err);
	if (!path)
		return err;
	n = xsd_lookup(r->c, r->t, path, XSD_PERM_WRITE, &err);
	if (n) {
		struct xsd_node *m = xsd_node_copy(n);

		free(m->data);
		m->data = xsd_memdup(r->p + off, r->len - off);
		m->datalen = r->len - off;
		if (xsd_too_big(r->c, m)) {
			xsd_node_free(m);
			err = ENOSPC;
		} else {
			xsd_store_put(r->t, m);
			xsd_fire(r->t, path, false, NULL, NULL);
			err = 0;
		}
	} else if (err == ENOENT) {
		err = xsd_create(r, path, r->p + off, r->len - off);
	}
	free(path);
	if (!err)
		xsd_ack(r);
	return err;
}

static int op_mkdir(struct xsd_req *r)
{
	int err = 0;
	char *path = xsd_path_arg(r, xsd_onearg(r), &err);
	struct xsd_node *n;

	if (!path)
		return err;
	n = xsd_lookup(r->c, r->t, path, XSD_PERM_WRITE, &err);
	if (n)
		err = 0; /* already there: fine, and no event */
	else if (err == ENOENT)
		err = xsd_create(r, path, "", 0);
	free(path);
	if (!err)
		xsd_ack(r);
	return err;
}

static int op_rm(struct xsd_req *r)
{
	int err = 0;
	char *path = xsd_path_arg(r, xsd_onearg(r), &err), *parent;
	struct xsd_node *n;

	if (!path)
		return err;
	n = xsd_lookup(r->c, r->t, path, XSD_PERM_WRITE, &err);
	if (!n) {
		/* Removing what is not there is fine if its parent is. */
		if (err == ENOENT) {
			parent = xsd_parent(path);
			if (xsd_store_get(r->t, parent))
				err = 0;
			free(parent);
		}
	} else if (!strcmp(path, "/")) {
		err = EINVAL;
	} else {
		xsd_remove_tree(r->t, path);
		err = 0;
	}
	free(path);
	if (!err)
		xsd_ack(r);
	return err;
}

static int op_set_perms(struct xsd_req *r)
{
	const char *vec[1];
	unsigned num = xsd_strings(r, vec, 1), i;
	struct xsd_perms perms;
	struct xsd_node *n, *m, *old;
	int err = 0;
	char *path;
	size_t first;

	if (num < 2)
		return EINVAL;
	num--;
	if (!xsd_conn_privileged(r->c) && num > xsd_cfg.quota_perms)
		return ENOSPC;
	first = strlen(r->p) + 1;
	err = xsd_perms_parse(r->p + first, r->len - first, num, &perms);
	if (err)
		return err;
	/* Name every domain now, so the grants are valid on the node written next. */
	for (i = 0; i < num; i++)
		xsd_domain_get(perms.p[i].id);
	if (r->p[0] == '@') {
		struct xsd_perms *sp = xsd_special_perms(r->p);

		if (!sp || !xsd_conn_privileged(r->c)) {
			free(perms.p);
			return EINVAL;
		}
		xsd_special_set(sp, &perms);
		xsd_ack(r);
		return 0;
	}
	path = xsd_path_arg(r, r->p, &err);
	if (!path) {
		free(perms.p);
		return err;
	}
	n = xsd_lookup(r->c, r->t, path, XSD_PERM_WRITE | XSD_PERM_OWNER, &err);
	if (!n)
		goto out;
	if (!xsd_conn_privileged(r->c) && perms.p[0].id != n->perms.p[0].id) {
		err = EPERM; /* a guest may not give its nodes away */
		goto out;
	}
	old = xsd_node_copy(n);
	m = xsd_node_copy(n);
	free(m->perms.p);
	m->perms = perms;
	perms.p = NULL;
	if (xsd_too_big(r->c, m)) {
		xsd_node_free(m);
		xsd_node_free(old);
		err = ENOSPC;
		goto out;
	}
	xsd_store_put(r->t, m);
	xsd_fire(r->t, path, false, old, NULL);
	xsd_node_free(old);
	xsd_ack(r);
out:
	free(perms.p);
	free(path);
	return err;
}

static int op_watch(struct xsd_req *r)
{
	const char *vec[2];
	int err = 0;
	struct xsd_watch *w;

	if (xsd_strings(r, vec, 2) != 2)
		return EINVAL;
	if (vec[0][0] == '@') {
		if (strlen(vec[0]) > XENSTORE_REL_PATH_MAX)
			return EINVAL;
	} else {
		char *path = xsd_path_arg(r, vec[0], &err);

		if (!path)
			return err;
		free(path);
	}
	err = xsd_watch_add(r->c, vec[0], vec[1]);
	if (err)
		return err;
	xsd_ack(r);
	/* The first firing follows the reply, for the watch just added (the last one). */
	for (w = r->c->watches; w->next; w = w->next)
		;
	{
		struct xsd_buf b = { 0 };

		xsd_buf_addstr(&b, w->path + w->strip);
		xsd_buf_addstr(&b, w->token);
		xsd_send(r->c, XS_WATCH_EVENT, 0, 0, b.p, b.len);
		xsd_buf_free(&b);
	}
	return 0;
}

static int op_unwatch(struct xsd_req *r)
{
	const char *vec[2];
	int err;

	if (xsd_strings(r, vec, 2) != 2)
		return EINVAL;
	err = xsd_watch_del(r->c, vec[0], vec[1]);
	if (!err)
		xsd_ack(r);
	return err;
}

static int op_transaction_start(struct xsd_req *r)
{
	uint32_t id;
	char buf[16];
	int err;

	if (r->t)
		return EBUSY;
	err = xsd_trans_start(r->c, &id);
	if (err)
		return err;
	snprintf(buf, sizeof(buf), "%u", id);
	xsd_reply(r, XS_TRANSACTION_START, buf, strlen(buf) + 1);
	return 0;
}

static int op_transaction_end(struct xsd_req *r)
{
	const char *arg = xsd_onearg(r);
	int err;

	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return EINVAL;
	if (!r->t)
		return ENOENT;
	err = xsd_trans_end(r->c, r->t, arg[0] == 'T');
	r->t = NULL;
	if (!err)
		xsd_ack(r);
	return err;
}

static int op_get_domain_path(struct xsd_req *r)
{
	const char *arg = xsd_onearg(r);
	char buf[40];

	if (!arg)
		return EINVAL;
	snprintf(buf, sizeof(buf), "/local/domain/%u", xsd_atoid(arg));
	xsd_reply(r, XS_GET_DOMAIN_PATH, buf, strlen(buf) + 1);
	return 0;
}

static int op_is_domain_introduced(struct xsd_req *r)
{
	const char *arg = xsd_onearg(r);
	uint32_t domid;
	const struct xsd_domain *d;

	if (!xsd_conn_privileged(r->c))
		return EACCES;
	if (!arg)
		return EINVAL;
	domid = xsd_atoid(arg);
	d = xsd_domain_find(domid);
	xsd_reply(r, XS_IS_DOMAIN_INTRODUCED, domid == 0 || (d && d->introduced) ? "T" : "F", 2);
	return 0;
}

static int op_introduce(struct xsd_req *r)
{
	const char *vec[3];
	uint32_t domid;
	char *end;
	bool fresh;
	int err;

	if (!xsd_conn_privileged(r->c))
		return EACCES;
	if (xsd_strings(r, vec, 3) < 3)
		return EINVAL;
	/* The mfn is ignored (as 4.17 does: it maps the grant); the port must parse. */
	if (!vec[2][0])
		return EINVAL;
	(void)strtoul(vec[2], &end, 10);
	if (*end)
		return EINVAL;
	domid = xsd_atoid(vec[0]);
	if (domid > 0xffff)
		return EINVAL;
	err = xsd_domain_introduce(domid, &fresh);
	if (err)
		return err;
	if (fresh)
		xsd_fire_special("@introduceDomain");
	xsd_ack(r);
	return 0;
}

/* The domain argument of RELEASE and RESUME: 0 or garbage is EINVAL. */
static int xsd_domain_arg(struct xsd_req *r, uint32_t *domid)
{
	const char *arg = xsd_onearg(r);
	const struct xsd_domain *d;

	if (!xsd_conn_privileged(r->c))
		return EACCES;
	if (!arg)
		return EINVAL;
	*domid = xsd_atoid(arg);
	if (!*domid)
		return EINVAL;
	d = xsd_domain_find(*domid);
	if (!d || !d->introduced)
		return ENOENT;
	return 0;
}

static int op_release(struct xsd_req *r)
{
	uint32_t domid;
	int err = xsd_domain_arg(r, &domid);

	if (err)
		return err;
	err = xsd_domain_release(domid);
	if (!err)
		xsd_ack(r);
	return err;
}

static int op_resume(struct xsd_req *r)
{
	uint32_t domid;
	int err = xsd_domain_arg(r, &domid);

	if (!err)
		xsd_ack(r);
	return err;
}

static int op_set_target(struct xsd_req *r)
{
	const char *vec[2];
	struct xsd_domain *d, *t;

	if (!xsd_conn_privileged(r->c))
		return EACCES;
	if (xsd_strings(r, vec, 2) < 2)
		return EINVAL;
	d = xsd_domain_find(xsd_atoid(vec[0]));
	t = xsd_domain_find(xsd_atoid(vec[1]));
	if (!d || !d->introduced || !t || !t->introduced)
		return ENOENT;
	d->has_target = true;
	d->target = t->domid;
	xsd_ack(r);
	return 0;
}

static int op_reset_watches(struct xsd_req *r)
{
	xsd_watch_free_all(r->c);
	xsd_trans_free_all(r->c);
	r->t = NULL;
	xsd_ack(r);
	return 0;
}

static int op_control(struct xsd_req *r)
{
	static const char help[] =
	    "ivc-stats\nprint\t<string>\nlog\ton|off\nfault\t<rule>\nfault-clear\n"
	    "fault-ls\nhelp\n";
	const char *vec[2];
	unsigned n;

	if (!xsd_conn_privileged(r->c))
		return EACCES;
	n = xsd_strings(r, vec, 2);
	if (n == 0)
		return EINVAL;
	if (!strcmp(vec[0], "ivc-stats")) {
		char *json = xsd_domains_stats();

		xsd_reply(r, XS_CONTROL, json, strlen(json) + 1);
		free(json);
	} else if (!strcmp(vec[0], "print") || !strcmp(vec[0], "log")) {
		if (n < 2)
			return EINVAL;
		xsd_ack(r);
	} else if (!strcmp(vec[0], "fault")) {
		char why[128];

		if (n != 2)
			return EINVAL;
		if (fault_add(vec[1], why, sizeof why) < 0) {
			xsd_reply(r, XS_CONTROL, why, strlen(why) + 1);
			return 0;
		}
		xsd_ack(r);
	} else if (!strcmp(vec[0], "fault-clear")) {
		fault_clear();
		xsd_ack(r);
	} else if (!strcmp(vec[0], "fault-ls")) {
		static char list[FAULT_MAX_RULES * 160];

		fault_list(list, sizeof list);
		xsd_reply(r, XS_CONTROL, list, strlen(list) + 1);
	} else if (!strcmp(vec[0], "help")) {
		xsd_reply(r, XS_CONTROL, help, sizeof(help));
	} else {
		return EINVAL;
	}
	return 0;
}

typedef int xsd_op(struct xsd_req *r);

static const struct {
	xsd_op *fn;
	bool uses_tx;   /* looks the transaction id up (unknown ids: ENOENT) */
	unsigned fault; /* its kind for fault rules (fault.h), besides FC_XS */
} xsd_ops[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { op_control, false, 0 },
	[XS_DIRECTORY] = { op_directory, true, FC_XS_DIR },
	[XS_READ] = { op_read, true, FC_XS_READ },
	[XS_GET_PERMS] = { op_get_perms, true, FC_XS_PERMS },
	[XS_WATCH] = { op_watch, false, FC_XS_WATCH },
	[XS_UNWATCH] = { op_unwatch, false, FC_XS_WATCH },
	[XS_TRANSACTION_START] = { op_transaction_start, true, FC_XS_TXN_START },
	[XS_TRANSACTION_END] = { op_transaction_end, true, FC_XS_COMMIT },
	[XS_INTRODUCE] = { op_introduce, false, 0 },
	[XS_RELEASE] = { op_release, false, 0 },
	[XS_GET_DOMAIN_PATH] = { op_get_domain_path, false, 0 },
	[XS_WRITE] = { op_write, true, FC_XS_WRITE },
	[XS_MKDIR] = { op_mkdir, true, FC_XS_MKDIR },
	[XS_RM] = { op_rm, true, FC_XS_RM },
	[XS_SET_PERMS] = { op_set_perms, true, FC_XS_PERMS },
	[XS_IS_DOMAIN_INTRODUCED] = { op_is_domain_introduced, false, 0 },
	[XS_RESUME] = { op_resume, false, 0 },
	[XS_SET_TARGET] = { op_set_target, false, 0 },
	[XS_RESET_WATCHES] = { op_reset_watches, false, 0 },
	[XS_DIRECTORY_PART] = { op_directory_part, true, FC_XS_DIR },
};

/* Applies the fault rules (ivc-sim fault) to a request: true if it got
 * an injected error or its process was killed. Never to the host's own
 * connection (pid 0: see xsd_peer_pid) nor to XS_CONTROL, so that rules
 * can always be cleared. */
static bool xsd_fault(struct xsd_conn *c, uint32_t type)
{
	int act;

	if (type == XS_CONTROL || !c->pid)
		return false;
	act = fault_check(c->domid, c->pid, FC_XS | xsd_ops[type].fault, true);
	if (act == FAULT_KILL) {
		/* Dead before the answer: nothing more of its is processed. */
		kill(c->pid, SIGKILL);
		xsd_conn_kill(c);
		return true;
	}
	if (act && type == XS_TRANSACTION_END && c->msg.tx_id) {
		/* A commit that fails ends its transaction, as in xenstored. */
		struct xsd_trans *t = xsd_trans_find(c, c->msg.tx_id);

		if (t)
			xsd_trans_end(c, t, false);
	}
	if (act)
		xsd_error(c, act);
	return act != 0;
}

void xsd_process(struct xsd_conn *c)
{
	struct xsd_req r = { c, NULL, c->in, c->msg.len };
	uint32_t type = c->msg.type;
	int err;

	if (type >= XS_TYPE_COUNT || !xsd_ops[type].fn) {
		xsd_error(c, ENOSYS);
		return;
	}
	if (xsd_fault(c, type))
		return;
	if (xsd_ops[type].uses_tx && c->msg.tx_id) {
		r.t = xsd_trans_find(c, c->msg.tx_id);
		if (!r.t) {
			xsd_error(c, ENOENT);
			return;
		}
	}
	err = xsd_ops[type].fn(&r);
	if (err)
		xsd_error(c, err);
}
