/* SPDX-License-Identifier: MIT */
/*
 * Streams IVC_TEST_BYTES (default 1 GiB) each way at once between two
 * threads or two processes, in message or stream mode, with random message
 * and chunk sizes; every byte is checked against a pattern both sides know,
 * and in message mode every message boundary too. Then side 0 closes and
 * side 1 must see end-of-stream. A lost wake-up shows up as a 10 s wait timing out.
 *
 * usage: test-stream threads|procs message|stream
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_MSG 65536u
#define WAIT_MS 10000

static struct th_pair pair;
static uint32_t mode;
static uint64_t total;

/* Both sides draw the same length sequence from the same seed. */
static uint32_t next_len(uint64_t *s)
{
	uint64_t r = th_rand(s);

	return (uint32_t)((r & 1) ? (r >> 8) % 257 : (r >> 8) % (MAX_MSG + 1));
}

/* Segments of the pattern at stream position pos (it wraps once at most). */
static unsigned pattern_segs(uint64_t pos, uint32_t len, struct ivc_core_seg seg[2])
{
	size_t off = pos % TH_PATTERN_LEN;
	size_t first = TH_PATTERN_LEN - off < len ? TH_PATTERN_LEN - off : len;

	seg[0] = (struct ivc_core_seg){ th_pattern() + off, first };
	seg[1] = (struct ivc_core_seg){ th_pattern(), len - first };
	return 2;
}

static void *side_main(void *arg)
{
	unsigned side = (unsigned)(uintptr_t)arg;
	struct th_end e;
	uint64_t tx_seed = 1 + side, rx_seed = 2 - side; /* peer's tx seed */
	uint64_t sent = 0, rcvd = 0, cap_seed = 99 + side;
	uint32_t want = next_len(&tx_seed), expect = next_len(&rx_seed);
	uint8_t *buf = malloc(MAX_MSG);
	struct ivc_core_seg seg[2];
	int r;

	TH_CHECK(buf);
	if (side == 1) { /* side 1 attaches once side 0 has laid out the area */
		while (!((volatile struct ivc_wire_ctrl *)pair.ctrl)->side[0].live)
			usleep(1000);
	}
	TH_EQ(th_end_open(&e, &pair, side), 0);

	while (sent < total || rcvd < total) {
		int progress = 0;

		while (sent < total) {
			uint32_t len = want < total - sent ? want : (uint32_t)(total - sent);

			pattern_segs(sent, len, seg);
			if (mode == IVC_WIRE_MODE_MESSAGE) {
				r = ivc_core_sendv(&e.core, seg, 2);
				if (r == -EAGAIN)
					break;
				TH_EQ(r, 0);
				sent += len;
				want = next_len(&tx_seed);
			} else {
				uint32_t n = (uint32_t)(th_rand(&cap_seed) % MAX_MSG) + 1;
				if (n > len)
					n = len ? len : 1;
				if (n > seg[0].len)
					n = (uint32_t)seg[0].len;
				r = ivc_core_write(&e.core, seg[0].base, n);
				if (r == -EAGAIN)
					break;
				TH_CHECK(r > 0);
				sent += (uint64_t)r;
			}
			progress = 1;
		}
		while (rcvd < total) {
			if (mode == IVC_WIRE_MODE_MESSAGE) {
				uint32_t len =
				    expect < total - rcvd ? expect : (uint32_t)(total - rcvd);
				r = ivc_core_recv(&e.core, buf, MAX_MSG);
				if (r == -EAGAIN)
					break;
				TH_EQ(r, len); /* boundaries preserved */
				expect = next_len(&rx_seed);
			} else {
				size_t cap = (size_t)(th_rand(&cap_seed) % MAX_MSG) + 1;
				r = ivc_core_read(&e.core, buf, cap);
				if (r == -EAGAIN)
					break;
				TH_CHECK(r > 0 && (size_t)r <= cap);
			}
			if (!th_pattern_check(buf, rcvd, (size_t)r))
				TH_FAIL("side %u: corrupt data at byte %llu", side,
					(unsigned long long)rcvd);
			rcvd += (uint64_t)r;
			progress = 1;
		}
		th_kick(&e);
		if (progress)
			continue;
		unsigned ev =
		    (sent < total ? IVC_CORE_WAIT_TX : 0) | (rcvd < total ? IVC_CORE_WAIT_RX : 0);
		r = ivc_core_prepare_wait(&e.core, ev, want);
		TH_CHECK(r >= 0);
		if (r == 1 && th_wait(&e, WAIT_MS) < 0)
			TH_FAIL("side %u: no wake-up in %d ms (sent %llu, received %llu)", side,
				WAIT_MS, (unsigned long long)sent, (unsigned long long)rcvd);
	}

	/* Side 0 closes first; side 1 must then see end-of-stream, not more
	 * data and not a reset, and closes in turn. */
	if (side == 1) {
		r = th_io(&e, mode == IVC_WIRE_MODE_MESSAGE ? TH_RECV : TH_READ, buf, MAX_MSG,
			  WAIT_MS);
		TH_EQ(r, -EPIPE);
	}
	th_close(&e);

	struct ivc_core_stats st;
	ivc_core_get_stats(&e.core, &st);
	TH_EQ(st.tx_bytes, total);
	TH_EQ(st.rx_bytes, total);
	printf("side %u: sent %llu and received %llu bytes (%llu / %llu messages); "
	       "%llu signals, %llu waits\n",
	       side, (unsigned long long)st.tx_bytes, (unsigned long long)st.rx_bytes,
	       (unsigned long long)st.tx_msgs, (unsigned long long)st.rx_msgs,
	       (unsigned long long)e.signals, (unsigned long long)st.waits);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *env = getenv("IVC_TEST_BYTES");
	struct timespec t0, t1;
	int procs;

	if (argc != 3)
		TH_FAIL("usage: %s threads|procs message|stream", argv[0]);
	procs = !strcmp(argv[1], "procs");
	mode = !strcmp(argv[2], "stream") ? IVC_WIRE_MODE_STREAM : IVC_WIRE_MODE_MESSAGE;
	total = env ? strtoull(env, NULL, 0) : 1ull << 30;

	struct ivc_core_params p = { mode, { 18, 18 }, { 0, 0 }, 0 };
	if (mode == IVC_WIRE_MODE_MESSAGE)
		p.max_msg[0] = p.max_msg[1] = MAX_MSG;
	TH_EQ(th_pair_create(&pair, &p), 0);
	th_pattern();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (procs) {
		pid_t pid = fork();
		int status;

		TH_CHECK(pid >= 0);
		if (pid == 0) {
			side_main((void *)1);
			fflush(stdout);
			_exit(0);
		}
		side_main((void *)0);
		TH_EQ(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			TH_FAIL("side 1 process failed (status %#x)", status);
	} else {
		pthread_t t;
		TH_EQ(pthread_create(&t, NULL, side_main, (void *)1), 0);
		side_main((void *)0);
		TH_EQ(pthread_join(t, NULL), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("ok - %s %s: %llu bytes each way in %.2f s (%.0f MiB/s each way, incl. checking)\n",
	       argv[1], argv[2], (unsigned long long)total, s, (double)total / s / 1048576.0);
	th_pair_destroy(&pair);
	return 0;
}
