/*
 * Connections and the event loop: non-blocking Unix sockets, one poll() over the listening
 * sockets and every connection, a growable output queue per connection so that a client
 * that does not read never blocks the daemon.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xsd.h"

/* A client this far behind is not reading: drop it rather than grow without bound. */
#define XSD_OUT_MAX (64u << 20)

struct xsd_conn *xsd_conns;
const char *xsd_dir;
static volatile sig_atomic_t xsd_stop;

bool xsd_conn_privileged(const struct xsd_conn *c)
{
	return xsd_domain_privileged(c->domid);
}

int xsd_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ivc-xenstored: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
		perror("ivc-xenstored: bind/listen");
		close(fd);
		return -1;
	}
	return fd;
}

static void xsd_flush(struct xsd_conn *c)
{
	while (!c->dead && c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				xsd_conn_kill(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out.len) {
		c->out.len = c->out_off = 0;
	} else if (c->out_off > (1u << 16) && c->out_off > c->out.len / 2) {
		memmove(c->out.p, c->out.p + c->out_off, c->out.len - c->out_off);
		c->out.len -= c->out_off;
		c->out_off = 0;
	}
}

void xsd_send(struct xsd_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *data,
	      size_t len)
{
	struct xsd_sockmsg m = { type, req_id, tx_id, (uint32_t)len };

	if (c->dead)
		return;
	if (c->out.len - c->out_off > XSD_OUT_MAX) {
		xsd_conn_kill(c);
		return;
	}
	xsd_buf_add(&c->out, &m, sizeof(m));
	xsd_buf_add(&c->out, data, len);
}

/* Drops watches and transactions at once (the stats see it), frees the rest later. */
void xsd_conn_kill(struct xsd_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	xsd_watch_free_all(c);
	xsd_trans_free_all(c);
	c->dom->conns--;
	close(c->fd);
	c->fd = -1;
}

void xsd_close_domain_conns(uint32_t domid)
{
	struct xsd_conn *c;

	for (c = xsd_conns; c; c = c->next)
		if (c->domid == domid)
			xsd_conn_kill(c);
}

static void xsd_reap(void)
{
	struct xsd_conn **pp = &xsd_conns;

	while (*pp) {
		struct xsd_conn *c = *pp;

		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		free(c->in);
		xsd_buf_free(&c->out);
		free(c);
	}
}

/* The peer process, for fault rules; 0 if unknown, and for the host
 * (ivc-simd, our parent), whose requests are never faulted. */
static int xsd_peer_pid(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) || cr.pid == getppid())
		return 0;
	return (int)cr.pid;
}

static void xsd_accept(int lfd, uint32_t domid)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct xsd_conn *c, **pp;

		if (fd < 0)
			return;
		c = xsd_calloc(1, sizeof(*c));
		c->fd = fd;
		c->domid = domid;
		c->pid = xsd_peer_pid(fd);
		c->dom = xsd_domain_get(domid);
		c->dom->conns++;
		c->next_trans_id = 1;
		for (pp = &xsd_conns; *pp; pp = &(*pp)->next)
			;
		*pp = c;
	}
}

/* Feeds received bytes through the header/payload state machine. */
void xsd_input(struct xsd_conn *c, const unsigned char *p, size_t n)
{
	while (n && !c->dead) {
		size_t take;

		if (c->hdr_used < sizeof(c->hdr)) {
			take = sizeof(c->hdr) - c->hdr_used;
			if (take > n)
				take = n;
			memcpy(c->hdr + c->hdr_used, p, take);
			c->hdr_used += take;
			p += take;
			n -= take;
			if (c->hdr_used < sizeof(c->hdr))
				return;
			memcpy(&c->msg, c->hdr, sizeof(c->msg));
			/* Like xenstored: a message over the maximum ends the connection. */
			if (c->msg.len > XENSTORE_PAYLOAD_MAX) {
				xsd_conn_kill(c);
				return;
			}
			c->in = xsd_malloc(c->msg.len + 1);
			c->in_used = 0;
		}
		take = c->msg.len - c->in_used;
		if (take > n)
			take = n;
		memcpy(c->in + c->in_used, p, take);
		c->in_used += take;
		p += take;
		n -= take;
		if (c->in_used == c->msg.len) {
			c->in[c->msg.len] = '\0';
			xsd_process(c);
			free(c->in);
			c->in = NULL;
			c->hdr_used = 0;
		}
	}
}

static void xsd_read(struct xsd_conn *c)
{
	static unsigned char buf[1u << 16];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		xsd_conn_kill(c);
		return;
	}
	if (n > 0)
		xsd_input(c, buf, (size_t)n);
}

static void xsd_on_signal(int sig)
{
	(void)sig;
	xsd_stop = 1;
}

struct xsd_pollset {
	struct pollfd *fds;
	uint32_t *domids;
	size_t n, cap;
};

static void xsd_pollset_add(struct xsd_pollset *ps, int fd, short events, uint32_t domid)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 64;
		ps->fds = xsd_realloc(ps->fds, ps->cap * sizeof(*ps->fds));
		ps->domids = xsd_realloc(ps->domids, ps->cap * sizeof(*ps->domids));
	}
	ps->fds[ps->n] = (struct pollfd){ .fd = fd, .events = events };
	ps->domids[ps->n++] = domid;
}

static void xsd_add_listener(struct xsd_domain *d, void *arg)
{
	if (d->listen_fd >= 0)
		xsd_pollset_add(arg, d->listen_fd, POLLIN, d->domid);
}

int xsd_run(int dom0_fd, int ready_fd)
{
	struct sigaction sa = { .sa_handler = xsd_on_signal };
	sigset_t block, orig;
	struct xsd_pollset ps = { 0 };
	struct xsd_conn **conns = NULL;
	size_t nconns_cap = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Signals arrive only inside ppoll, so none is lost between check and wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);

	xsd_domain_get(0)->listen_fd = dom0_fd;
	if (ready_fd >= 0) {
		char b = 1;

		if (write(ready_fd, &b, 1) != 1)
			perror("ivc-xenstored: ready-fd");
		close(ready_fd);
	}
	while (!xsd_stop) {
		size_t nl, i, k;
		struct xsd_conn *c;

		ps.n = 0;
		xsd_domain_each(xsd_add_listener, &ps);
		nl = ps.n;
		k = 0;
		for (c = xsd_conns; c; c = c->next) {
			if (k == nconns_cap) {
				nconns_cap = nconns_cap ? nconns_cap * 2 : 64;
				conns = xsd_realloc(conns, nconns_cap * sizeof(*conns));
			}
			conns[k++] = c;
			xsd_pollset_add(&ps, c->fd,
					(short)(POLLIN | (c->out_off < c->out.len ? POLLOUT : 0)),
					c->domid);
		}
		if (ppoll(ps.fds, ps.n, NULL, &orig) < 0) {
			if (errno == EINTR)
				continue;
			perror("ivc-xenstored: poll");
			break;
		}
		for (i = 0; i < nl; i++)
			if (ps.fds[i].revents & POLLIN)
				xsd_accept(ps.fds[i].fd, ps.domids[i]);
		for (i = nl; i < ps.n; i++) {
			c = conns[i - nl];
			if (c->dead)
				continue;
			if (ps.fds[i].revents & POLLOUT)
				xsd_flush(c);
			if (ps.fds[i].revents & (POLLIN | POLLHUP | POLLERR))
				xsd_read(c);
		}
		/* Replies and events queued this round go out now if the socket takes them. */
		for (c = xsd_conns; c; c = c->next)
			if (!c->dead && c->out_off < c->out.len)
				xsd_flush(c);
		xsd_reap();
	}
	free(ps.fds);
	free(ps.domids);
	free(conns);
	return 0;
}

void xsd_io_free(void)
{
	struct xsd_conn *c;

	for (c = xsd_conns; c; c = c->next)
		xsd_conn_kill(c);
	xsd_reap();
}
