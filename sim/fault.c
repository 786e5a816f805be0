/* SPDX-License-Identifier: MIT */
/* fault.c - the sim host's fault rules (see fault.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

struct rule {
	uint32_t domid;
	pid_t pid; /* 0: any process of the domain */
	unsigned call;
	uint32_t from, to;
	int action; /* an errno, or FAULT_KILL */
	uint32_t seen, fired;
	char text[96];
};

static struct rule rules[FAULT_MAX_RULES];
static unsigned nrules;

static const struct {
	const char *name;
	unsigned call;
} calls[] = {
	{ "host", FC_HOST },
	{ "grant-share", FC_GRANT_SHARE },
	{ "grant-map", FC_GRANT_MAP },
	{ "evtchn-alloc", FC_EVTCHN_ALLOC },
	{ "evtchn-bind", FC_EVTCHN_BIND },
	{ "xs", FC_XS },
	{ "xs-read", FC_XS_READ },
	{ "xs-write", FC_XS_WRITE },
	{ "xs-mkdir", FC_XS_MKDIR },
	{ "xs-rm", FC_XS_RM },
	{ "xs-dir", FC_XS_DIR },
	{ "xs-perms", FC_XS_PERMS },
	{ "xs-watch", FC_XS_WATCH },
	{ "xs-txn-start", FC_XS_TXN_START },
	{ "xs-commit", FC_XS_COMMIT },
};

/* The errors XenStore and the host's calls can give. */
static const struct {
	const char *name;
	int err;
} errs[] = {
	{ "EACCES", EACCES }, { "EAGAIN", EAGAIN }, { "EBUSY", EBUSY }, { "E2BIG", E2BIG },
	{ "EEXIST", EEXIST }, { "EINVAL", EINVAL }, { "EIO", EIO },     { "ENOENT", ENOENT },
	{ "ENOMEM", ENOMEM }, { "ENOSPC", ENOSPC }, { "EPERM", EPERM }, { "ESRCH", ESRCH },
	{ "EMFILE", EMFILE }, { "ENOSYS", ENOSYS },
};

int fault_errno(const char *name)
{
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
		if (!strcmp(name, errs[i].name))
			return errs[i].err;
	return 0;
}

const char *fault_errname(int err)
{
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
		if (errs[i].err == err)
			return errs[i].name;
	return "?";
}

/* A decimal number 1..UINT32_MAX, all of it. */
static bool number(const char *s, const char *end, uint32_t *out)
{
	uint64_t v = 0;

	if (s == end || *s == '0')
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || (v = v * 10 + (uint64_t)(*s - '0')) > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool parse_range(const char *s, struct rule *r)
{
	const char *dash = strchr(s, '-'), *end = s + strlen(s);

	if (end > s && end[-1] == '+') {
		r->to = UINT32_MAX;
		return number(s, end - 1, &r->from);
	}
	if (!dash)
		return number(s, end, &r->from) && (r->to = r->from, true);
	return number(s, dash, &r->from) && number(dash + 1, end, &r->to) && r->from <= r->to;
}

static bool parse_who(const char *s, struct rule *r)
{
	const char *colon = strchr(s, ':'), *end = colon ? colon : s + strlen(s);
	uint32_t pid = 0;

	if (end - s == 1 && *s == '0')
		r->domid = 0;
	else if (!number(s, end, &r->domid))
		return false;
	if (colon && !number(colon + 1, colon + strlen(colon), &pid))
		return false;
	r->pid = (pid_t)pid;
	return true;
}

static unsigned call_named(const char *s)
{
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
		if (!strcmp(s, calls[i].name))
			return calls[i].call;
	return 0;
}

/* Splits text into exactly four words in w[]; buf holds them. */
static bool words(const char *text, char *buf, size_t size, char *w[4])
{
	char *save = NULL;
	int n = 0;

	if (strlen(text) >= size)
		return false;
	strcpy(buf, text);
	for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == 4)
			return false;
		w[n++] = t;
	}
	return n == 4;
}

unsigned fault_kinds(const char *text)
{
	char buf[96], *w[4];

	return words(text, buf, sizeof buf, w) ? call_named(w[1]) : 0;
}

int fault_add(const char *text, char *why, size_t wsize)
{
	struct rule r = { 0 };
	char buf[96], *w[4];

	if (!words(text, buf, sizeof buf, w))
		return snprintf(why, wsize, "want: DOMID[:PID] CALL N[-M|+] ACTION"), -EINVAL;
	if (!parse_who(w[0], &r))
		return snprintf(why, wsize, "bad domain or pid '%s'", w[0]), -EINVAL;
	if (!(r.call = call_named(w[1])))
		return snprintf(why, wsize, "unknown call '%s'", w[1]), -EINVAL;
	if (!parse_range(w[2], &r))
		return snprintf(why, wsize, "bad call numbers '%s' (N, N-M or N+)", w[2]), -EINVAL;
	if (!strcmp(w[3], "kill"))
		r.action = FAULT_KILL;
	else if (!(r.action = fault_errno(w[3])))
		return snprintf(why, wsize, "unknown action '%s' (kill or an errno name)", w[3]),
		       -EINVAL;
	if (nrules == FAULT_MAX_RULES)
		return snprintf(why, wsize, "at most %d rules", FAULT_MAX_RULES), -ENOSPC;
	snprintf(r.text, sizeof r.text, "%s %s %s %s", w[0], w[1], w[2], w[3]);
	rules[nrules++] = r;
	return 0;
}

void fault_clear(void)
{
	nrules = 0;
}

int fault_check(uint32_t domid, pid_t pid, unsigned call, bool can_fail)
{
	int act = 0;

	for (unsigned i = 0; i < nrules; i++) {
		struct rule *r = &rules[i];

		if (r->domid != domid || (r->pid && r->pid != pid) || !(r->call & call) ||
		    (!can_fail && r->action != FAULT_KILL))
			continue;
		if (r->seen < UINT32_MAX)
			r->seen++;
		if (r->seen < r->from || r->seen > r->to || act)
			continue;
		r->fired++;
		act = r->action;
	}
	return act;
}

void fault_list(char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < nrules && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s seen %u fired %u\n", rules[i].text,
				      rules[i].seen, rules[i].fired);
}
