/* SPDX-License-Identifier: MIT */
/*
 * ring-demo: two processes exchange checksummed messages over one libIVC
 * ring pair (the protocol's shared-memory layout in a shared mapping,
 * eventfds standing in for event channels) and report what they did.
 *
 * usage: ring-demo [messages]    (default 50000 each way)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_MSG 8192u
#define WAIT_MS 10000

struct msg_hdr {
	uint32_t seq;
	uint32_t len;      /* payload bytes after this header */
	uint64_t checksum; /* FNV-1a 64 of the payload */
};

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int run_side(struct th_pair *pair, unsigned side, long count)
{
	const char *me = side ? "bob  " : "alice";
	uint8_t out[MAX_MSG], in[MAX_MSG];
	struct msg_hdr *h = (struct msg_hdr *)out;
	uint64_t seed = 42 + side, bytes = 0;
	long sent = 0, rcvd = 0, bad = 0;
	struct th_end e;
	int r;

	if (side == 1)
		while (!((volatile struct ivc_wire_ctrl *)pair->ctrl)->side[0].live)
			usleep(1000);
	r = th_end_open(&e, pair, side);
	if (r) {
		fprintf(stderr, "%s: cannot open the channel: %s\n", me, strerror(-r));
		return 1;
	}
	printf("%s: side %u (pid %d) up\n", me, side, (int)getpid());
	fflush(stdout);
	double t0 = now();
	/* Alternate: send a burst, receive what is there, sleep only when
	 * neither direction can move. */
	while (sent < count || rcvd < count) {
		int moved = 0;

		while (sent < count) {
			uint32_t len = (uint32_t)(th_rand(&seed) % (MAX_MSG - sizeof *h));
			for (uint32_t i = 0; i < len; i++)
				out[sizeof *h + i] = (uint8_t)(th_rand(&seed) >> 56);
			h->seq = (uint32_t)sent;
			h->len = len;
			h->checksum = fnv1a(out + sizeof *h, len);
			r = ivc_core_send(&e.core, out, sizeof *h + len);
			if (r == -EAGAIN)
				break;
			if (r) {
				fprintf(stderr, "%s: send: %s\n", me, strerror(-r));
				return 1;
			}
			sent++;
			moved = 1;
		}
		while (rcvd < count && (r = ivc_core_recv(&e.core, in, sizeof in)) >= 0) {
			const struct msg_hdr *m = (const struct msg_hdr *)in;
			if ((size_t)r < sizeof *m || m->len != r - sizeof *m || m->seq != rcvd ||
			    fnv1a(in + sizeof *m, m->len) != m->checksum)
				bad++;
			bytes += (uint64_t)r;
			rcvd++;
			moved = 1;
		}
		if (rcvd < count && r != -EAGAIN) {
			fprintf(stderr, "%s: recv: %s\n", me, strerror(-r));
			return 1;
		}
		th_kick(&e);
		if (moved)
			continue;
		unsigned ev =
		    (sent < count ? IVC_CORE_WAIT_TX : 0) | (rcvd < count ? IVC_CORE_WAIT_RX : 0);
		r = ivc_core_prepare_wait(&e.core, ev, MAX_MSG);
		if (r == 1 && th_wait(&e, WAIT_MS)) {
			fprintf(stderr, "%s: peer silent for %d ms\n", me, WAIT_MS);
			return 1;
		}
	}
	double dt = now() - t0;

	/* Orderly close: alice closes, bob drains to end-of-stream. */
	if (side == 1) {
		r = th_io(&e, TH_RECV, in, sizeof in, WAIT_MS);
		printf("%s: after the last message: %s\n", me,
		       r == -EPIPE ? "end-of-stream (peer closed)" : strerror(-r));
	}
	th_close(&e);

	struct ivc_core_stats st;
	ivc_core_get_stats(&e.core, &st);
	printf("%s: sent %ld, received %ld messages (%.1f MiB) in %.2f s; "
	       "%ld bad checksums; %llu wake-up signals sent\n",
	       me, sent, rcvd, (double)bytes / 1048576.0, dt, bad, (unsigned long long)e.signals);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 50000;
	struct ivc_core_params p = { IVC_WIRE_MODE_MESSAGE, { 16, 16 }, { MAX_MSG, MAX_MSG }, 0 };
	struct th_pair pair;
	int status, rc;

	if (th_pair_create(&pair, &p)) {
		fprintf(stderr, "ring-demo: cannot set up shared memory\n");
		return 1;
	}
	printf("ring-demo: %ld checksummed messages each way, 64 KiB rings, protocol v%u\n", count,
	       IVC_WIRE_VERSION);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		rc = run_side(&pair, 1, count);
		fflush(stdout);
		_exit(rc);
	}
	rc = run_side(&pair, 0, count);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		rc = 1;
	th_pair_destroy(&pair);
	printf("ring-demo: %s\n", rc ? "FAILED" : "all messages delivered intact");
	return rc;
}
