/* SPDX-License-Identifier: MIT */
/*
 * fault.h - fault injection in the sim host, shared by ivc-simd (grants,
 * event channels) and ivc-xenstored (XenStore requests). A rule names a
 * caller (a domain, optionally one process of it), a kind of call, which
 * of those calls (counted from when the rule was set) and what happens
 * to them: an error instead of the answer, or the caller killed before it
 * gets one. Set with `ivc-sim fault`; see ivc-sim(1).
 *
 * Rule text: DOMID[:PID] CALL N[-M|+] ACTION
 *   CALL    one of fault_calls[] below (`host` and `xs` match any call of
 *           their daemon)
 *   N-M     the Nth to the Mth such call (1 = the next); N+ every one
 *           from the Nth; N alone only the Nth
 *   ACTION  kill, or an errno name (ENOMEM, ENOSPC, EAGAIN, EACCES, ...)
 */
#ifndef IVC_SIM_FAULT_H
#define IVC_SIM_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a call is, as bits: a rule matches a call sharing one. */
enum fault_call {
	FC_HOST = 1u << 0, /* every ivc-simd request of a domain */
	FC_GRANT_SHARE = 1u << 1,
	FC_GRANT_MAP = 1u << 2,
	FC_EVTCHN_ALLOC = 1u << 3,
	FC_EVTCHN_BIND = 1u << 4,
	FC_XS = 1u << 8, /* every XenStore request */
	FC_XS_READ = 1u << 9,
	FC_XS_WRITE = 1u << 10,
	FC_XS_MKDIR = 1u << 11,
	FC_XS_RM = 1u << 12,
	FC_XS_DIR = 1u << 13,
	FC_XS_PERMS = 1u << 14,
	FC_XS_WATCH = 1u << 15,
	FC_XS_TXN_START = 1u << 16,
	FC_XS_COMMIT = 1u << 17, /* transaction end, commit or abort */
};
#define FC_HOST_ALL 0x000ffu
#define FC_XS_ALL 0xfff00u

#define FAULT_KILL (-1)
#define FAULT_MAX_RULES 16

/* Adds a rule; 0, or -EINVAL (a message in why[wsize]) or -ENOSPC. */
int fault_add(const char *text, char *why, size_t wsize);
void fault_clear(void);
/* Whether the rules touch calls of this kind at all (forwarding). */
unsigned fault_kinds(const char *text);
/* For one call: 0 (go on), a positive errno to fail it with, or
 * FAULT_KILL. Counts the call against every matching rule; a call that
 * cannot fail (a one-way event send: Xen does not lose events) matches
 * kill rules only. */
int fault_check(uint32_t domid, pid_t pid, unsigned call, bool can_fail);
/* The rules, one per line with how often each fired, into buf. */
void fault_list(char *buf, size_t size);
/* errno from a name such as "ENOSPC" (0 if unknown), and back. */
int fault_errno(const char *name);
const char *fault_errname(int err);

#endif
