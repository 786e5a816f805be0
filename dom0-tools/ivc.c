/* SPDX-License-Identifier: MIT */
/*
 * ivc - libIVC from the shell: list services and channels (ls, info;
 * dom0), connect stdin/stdout to a service (cat), serve a command to
 * every client (serve). See ivc(1).
 *
 * cat and serve speak the "pipe" type unless told otherwise:
 * org.libivc.pipe version 1, message mode, both ways. Each message
 * carries bytes; an empty message says "no more from me" (a half-close,
 * which the channel protocol itself does not have). A side closes the
 * channel once it has both sent and received that end mark.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ivc.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monjson.h"

#define EX_USAGE 64
#define PIPE_TYPE "org.libivc.pipe"
#define CHUNK 65536
#define MAX_CLIENTS_LIMIT 1024

static const char *prog = "ivc";
static bool json;

static int usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "%s %s: %s\nTry '%s %s --help'.\n", prog, cmd, msg, prog, cmd);
	return EX_USAGE;
}

/* What a libIVC error means to someone at a shell. */
static const char *why(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such service";
	case -EACCES:
		return "denied (rendezvous policy, or not dom0)";
	case -EPROTOTYPE:
		return "the service has another type (see --type)";
	case -EBUSY:
		return "the listener is full";
	case -ETIMEDOUT:
		return "timed out";
	case -ECONNREFUSED:
		return "refused (the listener went, or would not take us)";
	case -EMSGSIZE:
		return "the service's rings are smaller than asked";
	case -EEXIST:
		return "this domain already offers that name";
	case -ECONNABORTED:
		return "the service was withdrawn (by ivc-rendezvousd)";
	default:
		return strerror(-err);
	}
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, why(err));
	return 1;
}

static int open_ctx(struct ivc_ctx **ctx)
{
	int err = ivc_open(ctx, NULL);

	if (err)
		fprintf(stderr, "%s: cannot open libIVC (no XenStore or sim host?): %s\n", prog,
			strerror(-err));
	return err;
}

/* ---- ls and info ---------------------------------------------------- */

static int open_mon(struct ivc_ctx **ctx, struct ivc_mon **m, struct ivc_mon_snap *snap)
{
	int err = open_ctx(ctx);

	if (err)
		return 1;
	err = ivc_mon_open(*ctx, m);
	if (err == -EACCES) {
		fprintf(stderr, "%s: listing the host needs dom0: %s\n", prog, strerror(-err));
		ivc_close(*ctx);
		return 1;
	}
	if (!err)
		err = ivc_mon_scan(*m, snap);
	if (err) {
		if (*m)
			ivc_mon_close(*m);
		ivc_close(*ctx);
		return fail("scan", err);
	}
	return 0;
}

static const char *dir_name(enum ivc_dir d)
{
	return d == IVC_IN ? "in" : d == IVC_OUT ? "out" : d == IVC_INOUT ? "inout" : "?";
}

static const char *mode_name(enum ivc_mode m)
{
	return m == IVC_STREAM ? "stream" : "message";
}

static const char *rdv_name(uint32_t flags)
{
	return flags & IVC_MON_BROKERED ? "brokered" : "direct";
}

static const char *dom_name(const struct ivc_mon_snap *s, uint32_t d)
{
	for (size_t i = 0; i < s->ndomains; i++)
		if (s->domains[i].domid == d)
			return s->domains[i].name;
	return "";
}

/* The snapshot as one JSON document, the shape of ivc-top --json without
 * its rates (docs/ivc-top-json.md): the services and channels that
 * `only` names (service name or channel id), or all. */
static void json_snap(struct ivc_ctx *ctx, const struct ivc_mon_snap *s, const char *only)
{
	bool first = true;

	mj_head(stdout, ivc_platform(ctx), s);
	printf(",\"domains\":[");
	for (size_t i = 0; i < s->ndomains; i++) {
		printf("%s{\"domid\":%u,\"name\":", i ? "," : "", s->domains[i].domid);
		mj_str(stdout, s->domains[i].name, sizeof s->domains[i].name);
		putchar('}');
	}
	printf("],\"services\":[");
	for (size_t i = 0; i < s->nservices; i++)
		if (!only || !strcmp(only, s->services[i].name)) {
			printf("%s", first ? "" : ",");
			mj_service(stdout, &s->services[i]);
			first = false;
		}
	printf("],\"channels\":[");
	first = true;
	for (size_t i = 0; i < s->nchans; i++)
		if (!only || !strcmp(only, s->chans[i].id)) {
			printf("%s", first ? "" : ",");
			mj_chan(stdout, &s->chans[i]);
			putchar('}');
			first = false;
		}
	printf("]}\n");
}

/* 64K, 1M, 512 */
static const char *size_str(char *buf, size_t cap, uint64_t v)
{
	if (v >= (1u << 20) && v % (1u << 20) == 0)
		snprintf(buf, cap, "%lluM", (unsigned long long)(v >> 20));
	else if (v >= 1024 && v % 1024 == 0)
		snprintf(buf, cap, "%lluK", (unsigned long long)(v >> 10));
	else
		snprintf(buf, cap, "%llu", (unsigned long long)v);
	return buf;
}

static void print_service(const struct ivc_mon_service *s)
{
	char r0[16], r1[16], t[80];

	snprintf(t, sizeof t, "%s:%u", s->type, s->version);
	printf("%-5u %-20s %-28s %-7s %-5s %-8s %6s %6s %4u\n", s->domid, s->name, t,
	       mode_name(s->mode), dir_name(s->dir), rdv_name(s->flags),
	       size_str(r0, sizeof r0, s->ring[0]), size_str(r1, sizeof r1, s->ring[1]),
	       s->channels);
}

static void print_chan(const struct ivc_mon_chan *c)
{
	char f[2][40], t[80];

	snprintf(t, sizeof t, "%s:%u", c->type, c->version);
	for (int r = 0; r < 2; r++) {
		char a[16], b[16];
		if (!(c->flags & IVC_MON_COUNTERS))
			snprintf(f[r], sizeof f[r], "?");
		else if (!c->ring[r])
			snprintf(f[r], sizeof f[r], "-");
		else
			snprintf(f[r], sizeof f[r], "%s/%s", size_str(a, sizeof a, c->used[r]),
				 size_str(b, sizeof b, c->ring[r]));
	}
	printf("%-22s %-16s %5u %5u %-10s %-8s %-24s %12s %12s\n", c->id, c->service, c->listener,
	       c->client, ivc_mon_state_name(c->state), rdv_name(c->flags),
	       c->flags & IVC_MON_TYPED ? t : "?", f[0], f[1]);
}

static int do_ls_print(struct ivc_ctx *ctx, const struct ivc_mon_snap *s, bool svcs, bool chans)
{
	if (json) {
		json_snap(ctx, s, NULL);
		return 0;
	}
	if (svcs) {
		printf("%-5s %-20s %-28s %-7s %-5s %-8s %6s %6s %4s\n", "DOM", "SERVICE", "TYPE",
		       "MODE", "DIR", "RDV", "RING0", "RING1", "CHAN");
		for (size_t i = 0; i < s->nservices; i++)
			print_service(&s->services[i]);
	}
	if (svcs && chans)
		putchar('\n');
	if (chans) {
		printf("%-22s %-16s %5s %5s %-10s %-8s %-24s %12s %12s\n", "CHANNEL", "SERVICE",
		       "LDOM", "CDOM", "STATE", "RDV", "TYPE", "FILL0", "FILL1");
		for (size_t i = 0; i < s->nchans; i++)
			print_chan(&s->chans[i]);
	}
	return 0;
}

static const struct option ls_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "services", no_argument, NULL, 's' },
	{ "channels", no_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int cmd_ls(int argc, char **argv)
{
	bool svcs = false, chans = false;
	struct ivc_ctx *ctx;
	struct ivc_mon *m = NULL;
	struct ivc_mon_snap s;
	int o, r;

	opterr = 0; /* our messages, not getopt's too */
	while ((o = getopt_long(argc, argv, "jsch", ls_opts, NULL)) != -1) {
		if (o == 'j')
			json = true;
		else if (o == 's')
			svcs = true;
		else if (o == 'c')
			chans = true;
		else if (o == 'h') {
			printf("usage: ivc ls [--json] [--services | --channels]\n"
			       "Lists the host's services and channels (dom0 only).\n");
			return 0;
		} else
			return usage_error("ls", "unknown option");
	}
	if (optind != argc)
		return usage_error("ls", "takes no arguments");
	if (!svcs && !chans)
		svcs = chans = true;
	if ((r = open_mon(&ctx, &m, &s)))
		return r;
	r = do_ls_print(ctx, &s, svcs, chans);
	ivc_mon_close(m);
	ivc_close(ctx);
	return r;
}

static void info_service(const struct ivc_mon_snap *s, const struct ivc_mon_service *v)
{
	printf("service %s\n  domain: %u (%s)\n  rendezvous: %s\n  type: %s version %u, %s\n"
	       "  listener direction: %s\n  rings: %u bytes to clients, %u from clients\n"
	       "  max message: %u to clients, %u from clients\n  channels: %u\n",
	       v->name, v->domid, dom_name(s, v->domid), rdv_name(v->flags), v->type, v->version,
	       mode_name(v->mode), dir_name(v->dir), v->ring[0], v->ring[1], v->max_msg[0],
	       v->max_msg[1], v->channels);
}

static void info_chan(const struct ivc_mon_snap *s, const struct ivc_mon_chan *c)
{
	printf("channel %s\n  service: %s\n  listener: domain %u (%s)\n  client: domain %u (%s)\n"
	       "  rendezvous: %s\n  state: %s\n",
	       c->id, c->service, c->listener, dom_name(s, c->listener), c->client,
	       dom_name(s, c->client), rdv_name(c->flags), ivc_mon_state_name(c->state));
	if (c->flags & IVC_MON_TYPED)
		printf("  type: %s version %u, %s, listener direction %s\n", c->type, c->version,
		       mode_name(c->mode), dir_name(c->dir));
	else
		printf("  type: unknown\n");
	if (!(c->flags & IVC_MON_COUNTERS)) {
		printf("  figures: not readable\n");
		return;
	}
	for (int r = 0; r < 2; r++)
		if (c->ring[r])
			printf(
			    "  ring %d (%s): %u bytes, %u queued, %llu messages, %llu bytes sent\n",
			    r, r ? "client to listener" : "listener to client", c->ring[r],
			    c->used[r], (unsigned long long)c->msgs[r],
			    (unsigned long long)c->bytes[r]);
	printf("  signals sent: %llu by the listener, %llu by the client\n",
	       (unsigned long long)c->notifies[0], (unsigned long long)c->notifies[1]);
	if (c->created && s->wall_ms >= c->created)
		printf("  age: %lld s\n", (long long)(s->wall_ms - c->created) / 1000);
}

static int cmd_info(int argc, char **argv)
{
	struct ivc_ctx *ctx;
	struct ivc_mon *m = NULL;
	struct ivc_mon_snap s;
	int o, r, found = 0;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "jh", ls_opts, NULL)) != -1) {
		if (o == 'j')
			json = true;
		else if (o == 'h') {
			printf("usage: ivc info [--json] SERVICE|CHANNEL\n"
			       "Everything known about the services of that name (in every\n"
			       "domain) or the channel of that id (dom0 only).\n");
			return 0;
		} else
			return usage_error("info", "unknown option");
	}
	if (optind + 1 != argc)
		return usage_error("info", "needs one SERVICE or CHANNEL");
	if ((r = open_mon(&ctx, &m, &s)))
		return r;
	for (size_t i = 0; i < s.nservices; i++)
		if (!strcmp(s.services[i].name, argv[optind]) && found++ >= 0 && !json) {
			if (found > 1)
				putchar('\n');
			info_service(&s, &s.services[i]);
		}
	for (size_t i = 0; i < s.nchans; i++)
		if (!strcmp(s.chans[i].id, argv[optind]) && found++ >= 0 && !json) {
			if (found > 1)
				putchar('\n');
			info_chan(&s, &s.chans[i]);
		}
	if (found && json)
		json_snap(ctx, &s, argv[optind]);
	if (!found)
		fprintf(stderr, "%s: %s: no such service or channel\n", prog, argv[optind]);
	ivc_mon_close(m);
	ivc_close(ctx);
	return found ? 0 : 1;
}

/* ---- the bridge: a channel and two descriptors ---------------------- */

/* Bytes from `in` go out as messages (stream: writes); what arrives goes
 * to `out`. One message is held while `out` cannot take it. */
struct bridge {
	struct ivc_chan *c;
	int in, out;
	bool pipe_proto;   /* the end marks of org.libivc.pipe */
	bool close_on_end; /* serve, other types: done when the command's output is */
	int in_fl, out_fl; /* their flags before (restored: a shared terminal) */
	bool stream;
	bool sent_end, got_end; /* marks sent / received (or their equivalent) */
	char *tx;
	size_t tx_cap; /* the largest message the channel takes */
	size_t tx_len; /* held, not yet sent (a full ring) */
	bool tx_held;
	bool marking; /* what is held is the end mark */
	char *rx;
	size_t rx_cap;
	size_t rx_len, rx_off; /* held, not yet written to out */
	int err;               /* first failure */
};

static int bridge_init(struct bridge *b, struct ivc_chan *c, int in, int out, bool pipe_proto)
{
	struct ivc_stats st;

	*b = (struct bridge){ .c = c, .in = in, .out = out, .pipe_proto = pipe_proto };
	b->stream = ivc_chan_type(c)->mode == IVC_STREAM;
	ivc_stats(c, &st);
	b->tx_cap = b->stream || !st.max_msg_tx ? CHUNK : st.max_msg_tx;
	b->rx_cap = b->stream || !st.max_msg_rx ? CHUNK : st.max_msg_rx;
	b->tx = malloc(b->tx_cap);
	b->rx = malloc(b->rx_cap);
	b->in_fl = in >= 0 ? fcntl(in, F_GETFL) : -1;
	b->out_fl = out >= 0 ? fcntl(out, F_GETFL) : -1;
	if (b->in_fl >= 0)
		fcntl(in, F_SETFL, b->in_fl | O_NONBLOCK);
	if (b->out_fl >= 0)
		fcntl(out, F_SETFL, b->out_fl | O_NONBLOCK);
	if (!(ivc_chan_dir(c) & IVC_OUT))
		b->sent_end = true; /* nothing to send on a receive-only channel */
	if (!(ivc_chan_dir(c) & IVC_IN))
		b->got_end = true;
	return b->tx && b->rx ? 0 : -ENOMEM;
}

static void bridge_free(struct bridge *b)
{
	if (b->in >= 0 && b->in_fl >= 0)
		fcntl(b->in, F_SETFL, b->in_fl);
	if (b->out >= 0 && b->out_fl >= 0)
		fcntl(b->out, F_SETFL, b->out_fl);
	free(b->tx);
	free(b->rx);
	b->tx = b->rx = NULL;
}

/* Sends what is held; true when nothing is (sent, or failed). */
static bool flush_tx(struct bridge *b)
{
	while (b->tx_held) {
		ssize_t r = b->stream ? ivc_write(b->c, b->tx, b->tx_len, 0)
				      : ivc_send(b->c, b->tx, b->tx_len, 0);
		if (r == -EAGAIN)
			return false;
		if (r < 0) {
			b->err = b->err ? b->err : (int)r;
			b->tx_held = false;
		} else if (b->stream && (size_t)r < b->tx_len) {
			memmove(b->tx, b->tx + r, b->tx_len - (size_t)r);
			b->tx_len -= (size_t)r;
		} else {
			b->tx_held = false;
			b->sent_end = b->sent_end || b->marking;
		}
	}
	return true;
}

/* stdin (or the command's output) to the channel. */
static void pump_tx(struct bridge *b)
{
	while (!b->sent_end && flush_tx(b) && !b->sent_end && !b->err) {
		ssize_t n = read(b->in, b->tx, b->tx_cap);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0 && !b->err)
			b->err = -errno; /* reported; the end is still sent */
		if (n <= 0 && !b->pipe_proto) {
			b->sent_end = true; /* no way to say so: the peer closes */
			return;
		}
		/* An empty message after EOF is the pipe type's end mark. */
		b->marking = n <= 0;
		b->tx_len = n > 0 ? (size_t)n : 0;
		b->tx_held = true;
	}
}

/* Writes what is held to out; true when nothing is. */
static bool flush_rx(struct bridge *b)
{
	while (b->rx_off < b->rx_len) {
		ssize_t w = write(b->out, b->rx + b->rx_off, b->rx_len - b->rx_off);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (w < 0) { /* the reader went: drop the rest, as nc does */
			if (errno != EPIPE && !b->err)
				b->err = -errno; /* a full disk is not a reader gone */
			b->rx_off = b->rx_len;
			b->got_end = true;
			return true;
		}
		b->rx_off += (size_t)w;
	}
	return true;
}

/* The channel to stdout (or the command's input). */
static void pump_rx(struct bridge *b)
{
	while (!b->got_end && flush_rx(b)) {
		ssize_t n = b->stream ? ivc_read(b->c, b->rx, b->rx_cap, 0)
				      : ivc_recv(b->c, b->rx, b->rx_cap, 0);
		if (n == -EAGAIN)
			return;
		b->rx_off = 0;
		b->rx_len = n > 0 ? (size_t)n : 0;
		/* The peer's end mark, its close (EPIPE, or 0 from a stream)
		 * or its death: no more to come. */
		if ((n == 0 && (b->pipe_proto || b->stream)) || n < 0) {
			if (n < 0 && n != -EPIPE && !b->err)
				b->err = (int)n;
			b->got_end = true;
		}
	}
	if (b->got_end && flush_rx(b) && b->out >= 0 && b->out != STDOUT_FILENO) {
		close(b->out); /* the command sees end of input */
		b->out = -1;
	}
}

static bool bridge_done(const struct bridge *b)
{
	bool sent = b->sent_end && !b->tx_held;

	return sent && (b->close_on_end || (b->got_end && b->rx_off >= b->rx_len));
}

/* The bridge's descriptors for poll(): the channel's, in unless a message
 * is held, out while one is. */
static int bridge_fds(const struct bridge *b, struct pollfd *p)
{
	int n = 0;

	/* The channel's descriptor stays set until a call says EAGAIN: poll
	 * it only while a call is due, or poll() would spin. */
	if (b->tx_held || (!b->got_end && b->rx_off >= b->rx_len))
		p[n++] = (struct pollfd){ ivc_chan_fd(b->c), POLLIN, 0 };
	if (!b->sent_end && !b->tx_held)
		p[n++] = (struct pollfd){ b->in, POLLIN, 0 };
	if (b->rx_off < b->rx_len && b->out >= 0)
		p[n++] = (struct pollfd){ b->out, POLLOUT, 0 };
	return n;
}

/* ---- cat ------------------------------------------------------------ */

/* "NAME[:VERSION]" into t (name points into s). */
static int parse_type(char *s, struct ivc_type *t)
{
	char *colon = strrchr(s, ':'), *end;

	t->name = s;
	t->version = 1;
	if (colon) {
		*colon = 0;
		errno = 0;
		unsigned long v = strtoul(colon + 1, &end, 10);
		if (!colon[1] || *end || errno || v > UINT32_MAX || colon[1] == '-')
			return -EINVAL;
		t->version = (uint32_t)v;
	}
	return *s ? 0 : -EINVAL;
}

struct conn_opts {
	struct ivc_type type;
	bool pipe_proto;
	enum ivc_dir dir;
	uint32_t domid;
	int timeout_ms;
	long max_clients;
};

static const struct option conn_optv[] = {
	{ "domid", required_argument, NULL, 'd' },
	{ "type", required_argument, NULL, 't' },
	{ "stream", no_argument, NULL, 's' },
	{ "dir", required_argument, NULL, 'D' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "max-clients", required_argument, NULL, 'm' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int num_arg(const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int dir_arg(const char *s, enum ivc_dir *d)
{
	*d = !strcmp(s, "in")      ? IVC_IN
	     : !strcmp(s, "out")   ? IVC_OUT
	     : !strcmp(s, "inout") ? IVC_INOUT
				   : 0;
	return *d ? 0 : -EINVAL;
}

/* Options shared by cat and serve; 0, or an exit status. */
static int conn_parse(const char *cmd, const char *optstr, const char *help, int argc, char **argv,
		      struct conn_opts *o)
{
	int c;
	long v;

	*o = (struct conn_opts){
		{ PIPE_TYPE, 1, IVC_MESSAGE }, true, IVC_INOUT, IVC_DOMID_ANY, 10000, 16
	};
	opterr = 0; /* our messages, not getopt's too */
	while ((c = getopt_long(argc, argv, optstr, conn_optv, NULL)) != -1) {
		if (c != '?' && c != ':' && !strchr(optstr, c))
			c = '?'; /* another command's option */
		switch (c) {
		case 'd':
			if (num_arg(optarg, 0, 32751, &v))
				return usage_error(cmd, "--domid wants a domain id");
			o->domid = (uint32_t)v;
			break;
		case 't':
			if (parse_type(optarg, &o->type))
				return usage_error(cmd, "--type wants NAME[:VERSION]");
			o->pipe_proto = !strcmp(o->type.name, PIPE_TYPE);
			break;
		case 's':
			o->type.mode = IVC_STREAM;
			break;
		case 'D':
			if (dir_arg(optarg, &o->dir))
				return usage_error(cmd, "--dir wants in, out or inout");
			break;
		case 'T':
			if (num_arg(optarg, -1, 3600000, &v))
				return usage_error(cmd, "--timeout wants milliseconds (-1: none)");
			o->timeout_ms = (int)v;
			break;
		case 'm':
			if (num_arg(optarg, 1, MAX_CLIENTS_LIMIT, &v))
				return usage_error(cmd, "--max-clients wants 1 to 1024");
			o->max_clients = v;
			break;
		case 'h':
			fputs(help, stdout);
			return -1;
		default:
			return usage_error(cmd, "unknown option, or one without its value");
		}
	}
	if (o->pipe_proto && (o->type.mode != IVC_MESSAGE || o->type.version != 1))
		return usage_error(cmd, PIPE_TYPE " is version 1, message mode");
	return 0;
}

/* Runs bridges until each is done; serve adds its listener. */
static int run_bridge(struct bridge *b)
{
	struct pollfd p[3];

	for (;;) {
		pump_tx(b);
		pump_rx(b);
		if (bridge_done(b) || b->err)
			return b->err;
		if (poll(p, (nfds_t)bridge_fds(b, p), -1) < 0 && errno != EINTR)
			return -errno;
	}
}

static const char cat_help[] =
    "usage: ivc cat [--domid N] [--type NAME[:VERSION]] [--stream] [--dir in|out|inout]\n"
    "               [--timeout MS] SERVICE\n"
    "Connects to SERVICE (in domain N, or whichever offers it) and copies stdin\n"
    "to it and what it sends to stdout, until both sides are done. The default\n"
    "type is " PIPE_TYPE ":1, which `ivc serve` speaks.\n";

static int cmd_cat(int argc, char **argv)
{
	struct conn_opts o;
	struct ivc_ctx *ctx;
	struct ivc_chan *c;
	struct bridge b;
	int r = conn_parse("cat", "d:t:sD:T:h", cat_help, argc, argv, &o);

	if (r)
		return r < 0 ? 0 : r;
	if (optind + 1 != argc)
		return usage_error("cat", "needs one SERVICE");
	if (open_ctx(&ctx))
		return 1;
	r = ivc_connect(ctx, o.domid, argv[optind], &o.type, o.dir, NULL, o.timeout_ms, &c);
	if (r == -EINVAL && o.domid == IVC_DOMID_ANY) {
		fprintf(stderr,
			"%s: %s: invalid: a malformed name or type, or direct mode without "
			"--domid (a service is found by name alone through ivc-rendezvousd)\n",
			prog, argv[optind]);
		ivc_close(ctx);
		return 1;
	}
	if (r) {
		ivc_close(ctx);
		return fail(argv[optind], r);
	}
	signal(SIGPIPE, SIG_IGN); /* stdout gone: EPIPE, handled */
	r = bridge_init(&b, c, STDIN_FILENO, STDOUT_FILENO, o.pipe_proto);
	if (!r)
		r = run_bridge(&b);
	bridge_free(&b);
	ivc_chan_close(c);
	ivc_close(ctx);
	if (r == -EPIPE)
		fprintf(stderr, "%s: %s: the service closed before taking everything\n", prog,
			argv[optind]);
	else if (r)
		fprintf(stderr, "%s: %s: %s\n", prog, argv[optind], strerror(-r));
	return r ? 1 : 0;
}

/* ---- serve ---------------------------------------------------------- */

struct client {
	struct bridge b;
	pid_t pid;
};

/* CMD with its stdin and stdout on pipes that the bridge drives; a
 * direction the channel lacks is /dev/null (input) or ours (output). */
static int spawn(char **cmd, enum ivc_dir dir, struct client *k)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err = 0;

	if (((dir & IVC_IN) ? pipe2(in, O_CLOEXEC)
			    : (in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC))) < 0 ||
	    ((dir & IVC_OUT) && pipe2(out, O_CLOEXEC)))
		err = -errno;
	if (!err && (k->pid = fork()) < 0)
		err = errno == EAGAIN ? -ENOMEM : -errno; /* not "no client waiting" */
	if (!err && k->pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		dup2(in[0], STDIN_FILENO);
		if (out[1] >= 0)
			dup2(out[1], STDOUT_FILENO);
		execvp(cmd[0], cmd);
		fprintf(stderr, "%s serve: %s: %s\n", prog, cmd[0], strerror(errno));
		_exit(127);
	}
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0 && (err || i == 0))
			close(in[i]);
		if (out[i] >= 0 && (err || i == 1))
			close(out[i]);
	}
	if (!err) {
		k->b.out = in[1];
		k->b.in = out[0];
	}
	return err;
}

/* The command is reaped by serve_loop whenever it ends: one that lives
 * on after its output closed does not hold the others up. */
static void client_end(struct client *k)
{
	if (k->b.out >= 0)
		close(k->b.out);
	if (k->b.in >= 0)
		close(k->b.in);
	ivc_chan_close(k->b.c);
	bridge_free(&k->b);
}

static int take_client(struct ivc_listener *l, const struct conn_opts *o, char **cmd,
		       struct client *k)
{
	struct ivc_chan *c;
	int err = ivc_accept(l, 0, &c);

	if (err)
		return err;
	err = bridge_init(&k->b, c, -1, -1, o->pipe_proto);
	k->b.close_on_end = !o->pipe_proto && (o->dir & IVC_OUT);
	if (!err)
		err = spawn(cmd, o->dir, k);
	if (!err) {
		if (k->b.in >= 0)
			fcntl(k->b.in, F_SETFL, O_NONBLOCK);
		if (k->b.out >= 0)
			fcntl(k->b.out, F_SETFL, O_NONBLOCK);
		return 0;
	}
	bridge_free(&k->b);
	ivc_chan_close(c);
	return err;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* One poll over the listener (while there is room) and every client. */
static int serve_poll(struct ivc_listener *l, bool room, struct client *k, int n)
{
	struct pollfd p[1 + 3 * MAX_CLIENTS_LIMIT];
	nfds_t np = 0;

	if (room)
		p[np++] = (struct pollfd){ ivc_listener_fd(l), POLLIN, 0 };
	for (int i = 0; i < n; i++)
		np += (nfds_t)bridge_fds(&k[i].b, p + np);
	return poll(p, np, -1) < 0 && errno != EINTR ? -errno : 0;
}

static int serve_loop(struct ivc_listener *l, const struct conn_opts *o, char **cmd)
{
	struct client *k = calloc((size_t)o->max_clients, sizeof *k);
	int n = 0, err = 0;

	if (!k)
		return -ENOMEM;
	while (!stop && !err) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		while (n < o->max_clients) {
			int r = take_client(l, o, cmd, &k[n]);
			if (r == -EAGAIN || r == -ETIMEDOUT)
				break;
			if (r == -ENOMEM || r == -ENOSPC || r == -EIO || r == -EMFILE ||
			    r == -ENFILE) {
				/* this client's cost; the next may fare better */
				fprintf(stderr, "%s serve: a client: %s\n", prog, why(r));
				break;
			}
			if (r) {
				err = r; /* the listener itself is gone */
				break;
			}
			n++;
		}
		for (int i = 0; i < n && !err; i++) {
			pump_tx(&k[i].b);
			pump_rx(&k[i].b);
			if (bridge_done(&k[i].b) || k[i].b.err) {
				client_end(&k[i]);
				k[i--] = k[--n];
			}
		}
		if (!err)
			err = serve_poll(l, n < o->max_clients, k, n);
	}
	while (n > 0)
		client_end(&k[--n]);
	free(k);
	return err;
}

static const char serve_help[] =
    "usage: ivc serve SERVICE [--type NAME[:VERSION]] [--stream] [--dir in|out|inout]\n"
    "                 [--max-clients N] -- CMD [ARGS...]\n"
    "Offers SERVICE and runs CMD for each client, its stdin and stdout on the\n"
    "channel (as inetd does), at most N clients at once (default 16). Runs\n"
    "until interrupted.\n";

/* Options go anywhere before "--"; the command's own after it. */
static int cmd_serve(int argc, char **argv)
{
	struct conn_opts o;
	struct ivc_ctx *ctx;
	struct ivc_listener *l;
	int dd = 1, r;

	while (dd < argc && strcmp(argv[dd], "--"))
		dd++;
	r = conn_parse("serve", "t:sD:m:h", serve_help, dd, argv, &o);
	if (r)
		return r < 0 ? 0 : r;
	if (dd >= argc - 1)
		return usage_error("serve", "needs -- CMD [ARGS...] after SERVICE");
	if (optind + 1 != dd)
		return usage_error("serve", "needs one SERVICE");
	char *name = argv[optind];
	optind = dd + 1;
	if (open_ctx(&ctx))
		return 1;
	r = ivc_listen(ctx, name, &o.type, o.dir, NULL, &l);
	if (r) {
		ivc_close(ctx);
		return fail(name, r);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	r = serve_loop(l, &o, argv + optind);
	ivc_listener_close(l);
	ivc_close(ctx);
	return r ? fail(name, r) : 0;
}

/* ---- main ----------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} cmds[] = {
	{ "ls", cmd_ls, "list services and channels (dom0)" },
	{ "info", cmd_info, "everything known about a service or channel (dom0)" },
	{ "cat", cmd_cat, "connect stdin and stdout to a service" },
	{ "serve", cmd_serve, "run a command for every client of a service" },
};

static int help(FILE *f)
{
	fprintf(f, "usage: ivc COMMAND [OPTIONS] [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-6s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f, "\n'ivc COMMAND --help' for a command's options; ivc(1).\n");
	return f == stdout ? 0 : EX_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return help(stderr);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return help(stdout);
	if (!strcmp(argv[1], "--version")) {
		printf("ivc %d.%d\n", IVC_VERSION_MAJOR, IVC_VERSION_MINOR);
		return 0;
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
	return help(stderr);
}
