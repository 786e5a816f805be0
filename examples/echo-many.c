/* SPDX-License-Identifier: MIT */
/*
 * echo-many: opens N channels to an echo-server from one context, sends a
 * checksummed message on every channel each round and checks every echo,
 * waiting on all of them with ivc_wait(). Prints the process's descriptor
 * count with all channels open: a context costs a fixed number of
 * descriptors and one XenStore connection, whatever N is.
 *
 * usage: echo-many SERVER_DOMID [--name NAME] [--channels N] [--rounds R]
 *                  [--hold MS]   (pause with everything open, for a look)
 *                  [--timeout MS] (for each connect; default 10000)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ivc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG 64
#define BATCH 64

static const struct ivc_type echo_type = { "org.libivc.echo", 1, IVC_MESSAGE };

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = -1; /* the directory's own descriptor */

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2; /* . and .. */
}

/* Message of channel i in round r: its numbers, a pattern, a checksum. */
static void make(uint8_t *m, uint32_t i, uint32_t r)
{
	uint32_t sum = 0;

	memcpy(m, &i, 4);
	memcpy(m + 4, &r, 4);
	for (int k = 8; k < MSG - 4; k++)
		m[k] = (uint8_t)(i * 131 + r * 7 + (uint32_t)k);
	for (int k = 0; k < MSG - 4; k++)
		sum = sum * 31 + m[k];
	memcpy(m + MSG - 4, &sum, 4);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "echo-many: %s: %s\n", what, strerror(-err));
	return 1;
}

/* Receives the echo of round r on every channel. */
static int collect(struct ivc_ctx *ctx, struct ivc_chan **c, long n, uint32_t r, char *got)
{
	long left = n;

	memset(got, 0, (size_t)n);
	while (left > 0) {
		struct ivc_ready rd[BATCH];
		int k = ivc_wait(ctx, rd, BATCH, 10000);

		if (k < 0)
			return fail("waiting for echoes", k);
		for (int j = 0; j < k; j++) {
			uint32_t i = (uint32_t)(uintptr_t)rd[j].user - 1;
			uint8_t m[MSG], want[MSG];
			ssize_t len;

			while ((len = ivc_recv(c[i], m, sizeof m, 0)) >= 0) {
				make(want, i, r);
				if (len != MSG || memcmp(m, want, MSG) || got[i])
					return fprintf(stderr, "echo-many: channel %u: bad echo\n",
						       i),
					       1;
				got[i] = 1;
				left--;
			}
			if (len != -EAGAIN)
				return fail("receiving", (int)len);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = "echo";
	long n = 100, rounds = 3, hold = 0;
	int timeout_ms = 10000;
	struct ivc_ctx *ctx;
	struct ivc_chan **c;
	uint32_t server;
	char *got;
	int err, fds0;

	if (argc < 2)
		goto usage;
	server = (uint32_t)strtoul(argv[1], NULL, 10);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--channels") && i + 1 < argc)
			n = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atol(argv[++i]);
		else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			hold = atol(argv[++i]);
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_ms = atoi(argv[++i]);
		else
			goto usage;
	}
	if (n < 1)
		goto usage;
	fds0 = count_fds(); /* before ivc_open: the difference is libIVC's */
	if ((err = ivc_open(&ctx, NULL)))
		return fail("ivc_open", err);
	c = calloc((size_t)n, sizeof *c);
	got = malloc((size_t)n);
	if (!c || !got)
		return fail("memory", -ENOMEM);
	for (long i = 0; i < n; i++) {
		err =
		    ivc_connect(ctx, server, name, &echo_type, IVC_INOUT, NULL, timeout_ms, &c[i]);
		if (err) {
			fprintf(stderr, "echo-many: channel %ld: ", i);
			return fail("connect", err);
		}
		ivc_chan_set_user(c[i], (void *)(uintptr_t)(i + 1));
	}
	for (long r = 0; r < rounds; r++) {
		for (long i = 0; i < n; i++) {
			uint8_t m[MSG];
			make(m, (uint32_t)i, (uint32_t)r);
			if ((err = ivc_send(c[i], m, MSG, 10000)))
				return fail("send", err);
		}
		if (collect(ctx, c, n, (uint32_t)r, got))
			return 1;
		if (r == 0) {
			/* Everything open and used once: what it costs. */
			printf("echo-many: %ld channels open, %d descriptors (%d before)\n", n,
			       count_fds(), fds0);
			fflush(stdout);
			if (hold > 0) {
				struct timespec t = { hold / 1000, (hold % 1000) * 1000000 };
				nanosleep(&t, NULL);
			}
		}
	}
	for (long i = 0; i < n; i++)
		if ((err = ivc_chan_close(c[i])))
			return fail("close", err);
	printf("echo-many: %ld channels x %ld rounds: every echo checked\n", n, rounds);
	free(c);
	free(got);
	ivc_close(ctx);
	return 0;
usage:
	fprintf(stderr, "usage: echo-many SERVER_DOMID [--name NAME] [--channels N] "
			"[--rounds R] [--hold MS] [--timeout MS]\n");
	return 2;
}
