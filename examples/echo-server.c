/* SPDX-License-Identifier: MIT */
/*
 * echo-server: serves "echo" (type org.libivc.echo v1, messages, both
 * ways) and sends every message back. Many clients at once, one thread:
 * the listener's and the channels' file descriptors go into poll(2), and
 * the calls use timeout 0.
 *
 * usage: echo-server [--name NAME] [--clients N]   (exit after N clients)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ivc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CLIENTS 256
#define MAX_MSG 65536

static const struct ivc_type echo_type = { "org.libivc.echo", 1, IVC_MESSAGE };

int main(int argc, char **argv)
{
	const char *name = "echo";
	long quota = -1, served = 0;
	struct ivc_chan *cl[MAX_CLIENTS] = { 0 };
	struct ivc_listener *l;
	struct ivc_ctx *ctx;
	static char buf[MAX_MSG];
	int err, n = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
			quota = atol(argv[++i]);
		else {
			fprintf(stderr, "usage: echo-server [--name NAME] [--clients N]\n");
			return 2;
		}
	}
	if ((err = ivc_open(&ctx, NULL))) {
		fprintf(stderr, "echo-server: ivc_open: %s\n", strerror(-err));
		return 1;
	}
	/* 128 KiB rings, so that messages of a full 64 KiB fit. */
	const struct ivc_opts opts = { .tx_ring = 128 * 1024,
				       .rx_ring = 128 * 1024,
				       .max_msg = MAX_MSG };
	if ((err = ivc_listen(ctx, name, &echo_type, IVC_INOUT, &opts, &l))) {
		fprintf(stderr, "echo-server: listen on %s: %s\n", name, strerror(-err));
		ivc_close(ctx);
		return 1;
	}
	printf("echo-server: dom%u serving \"%s\" on %s\n", ivc_domid(ctx), name,
	       ivc_platform(ctx));
	fflush(stdout);

	while (quota < 0 || served < quota || n > 0) {
		struct pollfd pfd[MAX_CLIENTS + 1];
		int k = 0;

		pfd[k++] = (struct pollfd){ .fd = ivc_listener_fd(l), .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (cl[i])
				pfd[k++] =
				    (struct pollfd){ .fd = ivc_chan_fd(cl[i]), .events = POLLIN };
		if (poll(pfd, (nfds_t)k, 1000) < 0 && errno != EINTR)
			break;

		struct ivc_chan *c;
		while ((quota < 0 || served < quota) && ivc_accept(l, 0, &c) == 0) {
			int i = 0;
			while (i < MAX_CLIENTS && cl[i])
				i++;
			if (i == MAX_CLIENTS) {
				ivc_chan_close(c);
				continue;
			}
			cl[i] = c;
			n++;
			served++;
			printf("echo-server: client dom%u connected\n", ivc_peer_domid(c));
			fflush(stdout);
		}
		/* Echo whatever is there; a send that would block waits (a client
		 * that does not read its replies only stalls itself... and us:
		 * a real server would queue). */
		for (int i = 0; i < MAX_CLIENTS; i++) {
			ssize_t r;
			if (!cl[i])
				continue;
			while ((r = ivc_recv(cl[i], buf, sizeof buf, 0)) >= 0)
				if ((err = ivc_send(cl[i], buf, (size_t)r, 5000)) < 0) {
					r = err;
					break;
				}
			if (r == -EAGAIN)
				continue;
			struct ivc_stats st;
			ivc_stats(cl[i], &st);
			printf("echo-server: client dom%u %s after %llu messages\n",
			       ivc_peer_domid(cl[i]),
			       r == -EPIPE        ? "closed"
			       : r == -ECONNRESET ? "died"
						  : strerror((int)-r),
			       (unsigned long long)st.rx_msgs);
			fflush(stdout);
			ivc_chan_close(cl[i]);
			cl[i] = NULL;
			n--;
		}
	}
	ivc_listener_close(l);
	ivc_close(ctx);
	return 0;
}
