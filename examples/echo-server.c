/* SPDX-License-Identifier: MIT */
/*
 * echo-server: serves "echo" (type org.libivc.echo v1, messages, both
 * ways) and sends every message back. Any number of clients, one thread,
 * no descriptor per client: ivc_wait() reports the listener and the
 * channels that may be ready, and the calls use timeout 0 until -EAGAIN.
 *
 * usage: echo-server [--name NAME] [--clients N] [--ring BYTES]
 *        (exit after N clients have come and gone; rings of BYTES each way)
 *
 * The same source builds as a Linux program and as a guest (guest-echo:
 * the arguments come from the domain's cmdline).
 */
#define _GNU_SOURCE
#if __STDC_HOSTED__ /* Linux; a guest is freestanding */
#include <dirent.h>
#endif
#include <errno.h>
#include <ivc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MSG 65536
#define BATCH 64

static const struct ivc_type echo_type = { "org.libivc.echo", 1, IVC_MESSAGE };
static char buf[MAX_MSG];

struct server {
	struct ivc_listener *l;
	long quota, served, open;
	int fds0; /* descriptors before ivc_open */
};

/* This process's open descriptors (Linux): what libIVC costs shows in
 * the difference from before ivc_open, whatever the process inherited. */
static int count_fds(void)
{
#if !__STDC_HOSTED__
	return 0; /* a guest has none */
#else
	DIR *d = opendir("/proc/self/fd");
	int n = -3; /* ., .. and the directory's own descriptor */

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
#endif
}

static void accept_all(struct server *s)
{
	struct ivc_chan *c;

	while ((s->quota < 0 || s->served < s->quota) && ivc_accept(s->l, 0, &c) == 0) {
		s->open++;
		s->served++;
		ivc_chan_set_user(c, c); /* anything but NULL: a channel */
		if (s->quota < 0 || s->quota <= 16 || s->served == s->quota) {
			printf("echo-server: client dom%u connected (%ld open, %d descriptors, "
			       "%d before)\n",
			       ivc_peer_domid(c), s->open, count_fds(), s->fds0);
			fflush(stdout);
		}
	}
}

/* Echoes whatever is there; a send that would block waits (a client that
 * does not read its replies stalls us: a real server would queue). */
static void echo(struct server *s, struct ivc_chan *c)
{
	struct ivc_stats st;
	ssize_t r;
	int err;

	while ((r = ivc_recv(c, buf, sizeof buf, 0)) >= 0)
		if ((err = ivc_send(c, buf, (size_t)r, 5000)) < 0) {
			r = err;
			break;
		}
	if (r == -EAGAIN)
		return;
	ivc_stats(c, &st);
	if (s->quota < 0 || s->quota <= 16 || s->open == 1)
		printf("echo-server: client dom%u %s after %llu messages\n", ivc_peer_domid(c),
		       r == -EPIPE        ? "closed"
		       : r == -ECONNRESET ? "died"
					  : strerror((int)-r),
		       (unsigned long long)st.rx_msgs);
	fflush(stdout);
	ivc_chan_close(c);
	s->open--;
}

int main(int argc, char **argv)
{
	const char *name = "echo";
	struct server s = { .quota = -1 };
	uint32_t ring = 128 * 1024;
	struct ivc_ctx *ctx;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
			s.quota = atol(argv[++i]);
		else if (!strcmp(argv[i], "--ring") && i + 1 < argc)
			ring = (uint32_t)strtoul(argv[++i], NULL, 0);
		else {
			fprintf(stderr,
				"usage: echo-server [--name NAME] [--clients N] [--ring BYTES]\n");
			return 2;
		}
	}
	s.fds0 = count_fds();
	if ((err = ivc_open(&ctx, NULL))) {
		fprintf(stderr, "echo-server: ivc_open: %s\n", strerror(-err));
		return 1;
	}
	/* By default 128 KiB rings, so that messages of a full 64 KiB fit. */
	const struct ivc_opts opts = { .tx_ring = ring,
				       .rx_ring = ring,
				       .max_msg = ring < 2 * MAX_MSG ? ring / 2 : MAX_MSG };
	if ((err = ivc_listen(ctx, name, &echo_type, IVC_INOUT, &opts, &s.l))) {
		fprintf(stderr, "echo-server: listen on %s: %s\n", name, strerror(-err));
		ivc_close(ctx);
		return 1;
	}
	printf("echo-server: dom%u serving \"%s\" on %s\n", ivc_domid(ctx), name,
	       ivc_platform(ctx));
	fflush(stdout);

	while (s.quota < 0 || s.served < s.quota || s.open > 0) {
		struct ivc_ready r[BATCH];
		int n = ivc_wait(ctx, r, BATCH, 1000);

		if (n == -ETIMEDOUT)
			continue;
		if (n < 0) {
			fprintf(stderr, "echo-server: ivc_wait: %s\n", strerror(-n));
			break;
		}
		for (int i = 0; i < n; i++)
			if (r[i].listener)
				accept_all(&s);
			else
				echo(&s, r[i].chan);
	}
	ivc_listener_close(s.l);
	ivc_close(ctx);
	return 0;
}
