/* SPDX-License-Identifier: MIT */
/*
 * harness.h - a channel between two threads or processes of one Linux host,
 * for testing the ring core before any platform exists: the control area and
 * rings sit in one shared anonymous mapping (guard pages around each part, so
 * a stray access faults even without ASan) and an eventfd per side stands in
 * for the event channel.
 */
#ifndef IVC_TEST_HARNESS_H
#define IVC_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ivc_core.h"

struct th_pair {
	struct ivc_core_params params;
	uint8_t *map;
	size_t map_len;
	void *ctrl;
	size_t ctrl_len;
	void *data[2];
	int efd[2]; /* efd[n] wakes side n */
};

struct th_end {
	struct ivc_core core;
	struct th_pair *pair;
	unsigned side;
	uint64_t signals; /* event-channel signals this side sent */
	uint64_t wakeups; /* times this side slept and was woken */
};

/* Creates the mapping and eventfds (no side attached yet). 0 or -errno. */
int th_pair_create(struct th_pair *p, const struct ivc_core_params *params);
void th_pair_destroy(struct th_pair *p);

/* Side 0 lays out the control area; side 1 validates and attaches. */
int th_end_open(struct th_end *e, struct th_pair *p, unsigned side);

/* Signals the peer if the core says it asked to be woken. */
void th_kick(struct th_end *e);
/* Signals the peer unconditionally. */
void th_signal(struct th_end *e);
/* Sleeps until signalled or timeout_ms passes: 0, or -ETIMEDOUT. */
int th_wait(struct th_end *e, int timeout_ms);

enum th_op { TH_SEND, TH_RECV, TH_WRITE, TH_READ };
/* Blocking I/O on top of the core: retries through prepare_wait / wait
 * until the operation stops answering -EAGAIN or timeout_ms passes per
 * sleep. Returns what the core returned, or -ETIMEDOUT. */
int th_io(struct th_end *e, enum th_op op, void *buf, size_t len, int timeout_ms);

/* Orderly close, then wakes the peer. */
void th_close(struct th_end *e);

/* A fixed pseudo-random pattern both sides know; PATTERN_LEN is prime so
 * that a misplaced chunk never matches by accident of alignment. */
#define TH_PATTERN_LEN 1048573u
const uint8_t *th_pattern(void);
/* Copy of pattern bytes starting at stream position pos (any length). */
void th_pattern_fill(uint8_t *dst, uint64_t pos, size_t len);
/* 1 if buf equals the pattern from position pos. */
int th_pattern_check(const uint8_t *buf, uint64_t pos, size_t len);

/* xorshift64* */
static inline uint64_t th_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

#define TH_FAIL(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                               \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fprintf(stderr, "\n");                                                             \
		exit(1);                                                                           \
	} while (0)

#define TH_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			TH_FAIL("check failed: %s", #cond);                                        \
	} while (0)

#define TH_EQ(a, b)                                                                                \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_)                                                                      \
			TH_FAIL("%s == %lld, expected %s == %lld", #a, a_, #b, b_);                \
	} while (0)

#endif
