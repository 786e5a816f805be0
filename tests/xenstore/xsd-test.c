/* Test helpers: daemon lifecycle and a raw XenStore wire client. */
#define _GNU_SOURCE
#include "xsd-test.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

int xt_failures;

int xt_start(struct xt_daemon *d, const char *exe, const char *const *extra)
{
	int pfd[2], n = 0;
	char fdarg[16], c;
	const char *argv[32];

	const char *tmp = getenv("TMPDIR");

	snprintf(d->dir, sizeof(d->dir), "%s/ivc-xsd-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d->dir) || pipe(pfd) < 0)
		return -1;
	snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
	argv[n++] = exe;
	argv[n++] = "--dir";
	argv[n++] = d->dir;
	argv[n++] = "--ready-fd";
	argv[n++] = fdarg;
	while (extra && *extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	d->pid = fork();
	if (d->pid == 0) {
		/* The daemon must not outlive a test that dies. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		close(pfd[0]);
		fprintf(stderr, "daemon did not become ready\n");
		return -1;
	}
	close(pfd[0]);
	return 0;
}

int xt_stop(struct xt_daemon *d)
{
	int st = 0, rc = -1;
	char cmd[128];

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		if (waitpid(d->pid, &st, 0) == d->pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			rc = 0;
		else
			printf("not ok - daemon exit status %#x\n", st);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	if (system(cmd) != 0)
		rc = -1;
	return rc;
}

char *xt_sock(const struct xt_daemon *d, unsigned domid)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s/xs/dom%u.sock", d->dir, domid);
	return buf;
}

int xt_connect(struct xt_conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	c->req = 1000;
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

void xt_close(struct xt_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int xt_read_full(int fd, void *p, size_t n, int ms)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&pfd, 1, ms) <= 0)
			return -1;
		r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Reads one message; returns -1 on timeout/EOF. */
static int xt_read_msg(struct xt_conn *c, struct xsd_sockmsg *h, struct xt_reply *r, int ms)
{
	if (xt_read_full(c->fd, h, sizeof(*h), ms) < 0)
		return -1;
	if (h->len > sizeof(r->data) - 1 || xt_read_full(c->fd, r->data, h->len, 5000) < 0)
		return -1;
	r->type = h->type;
	r->len = h->len;
	r->data[h->len] = '\0';
	if (h->type == XS_WATCH_EVENT && c->nevents < 64) {
		const char *tok = r->data + strlen(r->data) + 1;

		snprintf(c->events[c->nevents++], sizeof(c->events[0]), "%.250s %.250s", r->data,
			 tok < r->data + r->len ? tok : "");
	}
	return 0;
}

int xt_req(struct xt_conn *c, uint32_t type, uint32_t tx, const void *p, size_t len,
	   struct xt_reply *r)
{
	struct xsd_sockmsg h = { type, ++c->req, tx, (uint32_t)len };
	uint32_t want = h.req_id;

	if (write(c->fd, &h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    (len && write(c->fd, p, len) != (ssize_t)len))
		return -1;
	for (;;) {
		if (xt_read_msg(c, &h, r, 10000) < 0) {
			r->type = XS_INVALID;
			snprintf(r->data, sizeof(r->data), "(no reply)");
			r->len = (uint32_t)strlen(r->data);
			return -1;
		}
		if (h.type != XS_WATCH_EVENT && h.req_id == want)
			return 0;
	}
}

int xt_reqs(struct xt_conn *c, uint32_t type, uint32_t tx, struct xt_reply *r, ...)
{
	char buf[4200];
	size_t len = 0;
	const char *s;
	va_list ap;

	va_start(ap, r);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t l = strlen(s) + 1;

		if (len + l > sizeof(buf))
			break;
		memcpy(buf + len, s, l);
		len += l;
	}
	va_end(ap);
	return xt_req(c, type, tx, buf, len, r);
}

const char *xt_text(const struct xt_reply *r)
{
	static char buf[4200];
	size_t i, n = r->len;

	if (n && r->data[n - 1] == '\0')
		n--;
	for (i = 0; i < n && i < sizeof(buf) - 1; i++)
		buf[i] = r->data[i] ? r->data[i] : ' ';
	buf[i] = '\0';
	return buf;
}

size_t xt_events(struct xt_conn *c, int ms)
{
	struct xsd_sockmsg h;
	struct xt_reply r;

	while (xt_read_msg(c, &h, &r, ms) == 0)
		;
	return c->nevents;
}

bool xt_has_event(const struct xt_conn *c, const char *path, const char *token)
{
	char want[512];
	size_t i;

	snprintf(want, sizeof(want), "%.250s %.250s", path, token);
	for (i = 0; i < c->nevents; i++)
		if (!strcmp(c->events[i], want))
			return true;
	return false;
}

void xt_clear_events(struct xt_conn *c)
{
	c->nevents = 0;
}

long xt_stat(struct xt_conn *dom0, unsigned domid, const char *field)
{
	struct xt_reply r;
	char key[32], fkey[64];
	const char *p, *f;

	if (xt_reqs(dom0, XS_CONTROL, 0, &r, "ivc-stats", NULL) < 0 || r.type != XS_CONTROL)
		return -1;
	snprintf(key, sizeof(key), "\"%u\":{", domid);
	p = strstr(r.data, key);
	if (!p)
		return 0;
	snprintf(fkey, sizeof(fkey), "\"%s\":", field);
	f = strstr(p, fkey);
	if (!f || f > strchr(p, '}'))
		return -1;
	return strtol(f + strlen(fkey), NULL, 10);
}
