/* SPDX-License-Identifier: MIT */
/* time.h - the guest's clocks (events.c): Xen's system time. */
#ifndef IVC_GUEST_TIME_H
#define IVC_GUEST_TIME_H

#include <stdint.h>

typedef long time_t;
typedef int clockid_t;

struct timespec {
	time_t tv_sec;
	long tv_nsec;
};

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1

/* CLOCK_MONOTONIC: Xen's system time; CLOCK_REALTIME: the wall clock
 * Xen keeps for the domain. 0, or -1 for another clock (no errno). */
int clock_gettime(clockid_t clock, struct timespec *ts);

#endif
