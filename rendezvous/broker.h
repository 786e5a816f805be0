/* SPDX-License-Identifier: MIT */
/*
 * broker.h - ivc-rendezvousd's parts: the broker (spec 9.11, all its
 * state in XenStore), the policy, the log.
 */
#ifndef IVC_BROKER_H
#define IVC_BROKER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <xenstore.h>

#include "internal.h"

/* ---- log.c ---- */
enum { LOG_TO_STDERR, LOG_TO_SYSLOG };
void log_setup(int where, int verbosity);
void logmsg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- policy.c ---- */
enum pol_verb { POL_LISTEN, POL_CONNECT };
struct pol_dom {
	enum { PD_ANY, PD_ID, PD_NAME, PD_NONE } kind;
	uint32_t id;
	char name[64];
};
struct pol_rule {
	int line;
	enum pol_verb verb;
	char service[NAME_MAX_LEN + 1]; /* a pattern: fnmatch(3) */
	struct pol_dom src, dst;
	bool allow;
};
struct policy {
	struct pol_rule *rules;
	int n;
	char *path; /* NULL: the built-in default */
};
/* Reads a policy file; each error goes to errs as "FILE:LINE: what" and
 * the result is NULL. */
struct policy *policy_load(const char *path, FILE *errs);
/* The same from an open stream; path names it in errors and p->path. */
struct policy *policy_read(FILE *f, const char *path, FILE *errs);
struct policy *policy_default(void);
void policy_free(struct policy *p);
/* Who is asking (names from /local/domain/<id>/name, "" if unknown). */
struct pol_who {
	uint32_t id;
	const char *name;
};
/* The first matching rule's action (and its line in *line, 0 if none). */
bool policy_allows(const struct policy *p, enum pol_verb v, const char *service, struct pol_who src,
		   struct pol_who dst, int *line);

/* ---- broker.c ---- */
struct broker;
struct broker_opts {
	unsigned max_chans; /* channel ends per domain */
	struct policy *policy;
};
int broker_open(struct broker **out, const struct broker_opts *o);
/* Rebuilds from XenStore and answers what is pending (9.11.7); then the
 * daemon is up (/rendezvous/daemon written). */
int broker_start(struct broker *b);
int broker_fd(struct broker *b);
/* Handles the watch events that have arrived: 0, or the error that
 * ended the XenStore connection. */
int broker_events(struct broker *b);
/* Once a second: listeners with clients waiting (9.11.2 item 5 (c)), and
 * whether XenStore is still there: 0, or the error that ended it. */
int broker_tick(struct broker *b);
void broker_set_policy(struct broker *b, struct policy *p);
/* Orderly stop: removes /rendezvous/daemon; everything else stays. */
void broker_close(struct broker *b);

#endif
