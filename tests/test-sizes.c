/* SPDX-License-Identifier: MIT */
/*
 * Every ring size from one page to 16 MiB, in both modes and both
 * directions: the ring fills to exactly its size, a maximum-size message
 * (size - 4) goes through both aligned and wrapped, and random traffic of
 * about three ring-fulls keeps every byte intact.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "harness.h"

static uint8_t *out, *in;

static void one_way(struct ivc_core *tx, struct ivc_core *rx, uint32_t mode, uint32_t size)
{
	uint64_t s = size, pos = 0, rpos = 0;

	if (mode == IVC_WIRE_MODE_MESSAGE) {
		uint32_t max = size - IVC_WIRE_MSG_HDR;

		/* Aligned maximum message: fills the ring exactly. */
		th_pattern_fill(out, 1, max);
		TH_EQ(ivc_core_send(tx, out, max), 0);
		TH_EQ(ivc_core_send(tx, out, 0), -EAGAIN);
		TH_EQ(ivc_core_recv(rx, in, max), (long long)max);
		TH_CHECK(th_pattern_check(in, 1, max));
		/* Offset by 5 bytes, so the next maximum message wraps. */
		TH_EQ(ivc_core_send(tx, out, 1), 0);
		TH_EQ(ivc_core_recv(rx, in, max), 1);
		th_pattern_fill(out, 2, max);
		TH_EQ(ivc_core_send(tx, out, max), 0);
		TH_EQ(ivc_core_recv(rx, in, max), (long long)max);
		TH_CHECK(th_pattern_check(in, 2, max));
		/* Random sizes, up to half the ring, three ring-fulls. */
		while (rpos < 3ull * size) {
			uint32_t len = (uint32_t)(th_rand(&s) % (size / 2));
			int r;

			th_pattern_fill(out, pos, len);
			r = ivc_core_send(tx, out, len);
			if (r == 0) {
				pos += len;
				continue;
			}
			TH_EQ(r, -EAGAIN);
			while ((r = ivc_core_recv(rx, in, max)) >= 0) {
				TH_CHECK(th_pattern_check(in, rpos, (size_t)r));
				rpos += (uint64_t)r;
			}
			TH_EQ(r, -EAGAIN);
		}
	} else {
		/* Exactly size bytes fit. */
		th_pattern_fill(out, 0, size);
		TH_EQ(ivc_core_write(tx, out, size + 1000), (long long)size);
		TH_EQ(ivc_core_write(tx, out, 1), -EAGAIN);
		TH_EQ(ivc_core_read(rx, in, size), (long long)size);
		TH_CHECK(th_pattern_check(in, 0, size));
		/* Random partial writes and reads across the wrap point. */
		while (rpos < 3ull * size) {
			uint32_t w = (uint32_t)(th_rand(&s) % size) + 1;
			uint32_t rd = (uint32_t)(th_rand(&s) % size) + 1;
			int r;

			th_pattern_fill(out, pos, w);
			r = ivc_core_write(tx, out, w);
			if (r > 0)
				pos += (uint64_t)r;
			else
				TH_EQ(r, -EAGAIN);
			r = ivc_core_read(rx, in, rd);
			if (r > 0) {
				TH_CHECK(th_pattern_check(in, rpos, (size_t)r));
				rpos += (uint64_t)r;
			} else {
				TH_EQ(r, -EAGAIN);
			}
		}
	}
}

int main(void)
{
	out = malloc(16u << 20);
	in = malloc(16u << 20);
	TH_CHECK(out && in);
	for (uint32_t order = IVC_WIRE_MIN_ORDER; order <= IVC_WIRE_MAX_ORDER; order++) {
		for (uint32_t mode = 0; mode < 2; mode++) {
			uint32_t size = 1u << order;
			uint32_t max = mode == IVC_WIRE_MODE_MESSAGE ? size - 4 : 0;
			struct ivc_core_params p = { mode, { order, order }, { max, max }, 0 };
			struct th_pair pair;
			struct th_end a, b;

			TH_EQ(th_pair_create(&pair, &p), 0);
			TH_EQ(th_end_open(&a, &pair, 0), 0);
			TH_EQ(th_end_open(&b, &pair, 1), 0);
			one_way(&a.core, &b.core, mode, size);
			one_way(&b.core, &a.core, mode, size);
			th_pair_destroy(&pair);
		}
		printf("ok - order %u (%u KiB)\n", order, (1u << order) >> 10);
	}
	free(out);
	free(in);
	return 0;
}
