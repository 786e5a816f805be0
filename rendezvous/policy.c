/* SPDX-License-Identifier: MIT */
/*
 * policy.c - who may listen on which names and connect to what: rules
 * matched top to bottom, the first match deciding; no match denies.
 *
 *   # verb    service  source   target   action
 *   listen    echo     0        -        allow
 *   connect   echo     @anyvm   0        allow
 *   connect   *        @anyvm   @anyvm   deny
 *
 * service: a pattern (fnmatch(3): *, ?, [...]) of service names;
 * source/target: @anyvm, a domain id (digits), or a domain name as in
 * /local/domain/<id>/name; target is "-" for listen.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

static bool dom_parse(const char *s, struct pol_dom *d)
{
	memset(d, 0, sizeof *d);
	if (!strcmp(s, "@anyvm"))
		d->kind = PD_ANY;
	else if (!strcmp(s, "-"))
		d->kind = PD_NONE;
	else if (isdigit((unsigned char)s[0]))
		return d->kind = PD_ID, ivc__parse_u32(s, IVC_DOMID_MAX, &d->id) == 0;
	else if (s[0] == '@' || strlen(s) >= sizeof d->name)
		return false;
	else {
		d->kind = PD_NAME;
		memcpy(d->name, s, strlen(s) + 1);
	}
	return true;
}

/* A service pattern: the characters of a name and of fnmatch patterns. */
static bool pattern_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-*?[]!", s[i]))
			return false;
	return true;
}

/* One line into r: 1 a rule, 0 nothing (blank, comment), -1 an error. */
static int parse_line(char *line, struct pol_rule *r, const char **why)
{
	char *f[6], *save = NULL;
	int n = 0;

	line[strcspn(line, "#\n")] = 0;
	for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save))
		if (n < 6)
			f[n++] = t;
		else
			return *why = "too many fields (want: verb service source target action)",
			       -1;
	if (n == 0)
		return 0;
	if (n != 5)
		return *why = "want 5 fields: verb service source target action", -1;
	if (!strcmp(f[0], "listen"))
		r->verb = POL_LISTEN;
	else if (!strcmp(f[0], "connect"))
		r->verb = POL_CONNECT;
	else
		return *why = "verb is neither listen nor connect", -1;
	if (!pattern_ok(f[1]))
		return *why = "bad service pattern", -1;
	memcpy(r->service, f[1], strlen(f[1]) + 1);
	if (!dom_parse(f[2], &r->src) || r->src.kind == PD_NONE)
		return *why = "bad source (want @anyvm, a domain id or a domain name)", -1;
	if (!dom_parse(f[3], &r->dst))
		return *why = "bad target (want @anyvm, a domain id, a domain name, or -)", -1;
	if ((r->verb == POL_LISTEN) != (r->dst.kind == PD_NONE))
		return *why = r->verb == POL_LISTEN ? "listen takes no target: write -"
						    : "connect needs a target",
		       -1;
	if (!strcmp(f[4], "allow"))
		r->allow = true;
	else if (!strcmp(f[4], "deny"))
		r->allow = false;
	else
		return *why = "action is neither allow nor deny", -1;
	return 1;
}

#define LINE_MAX_LEN 1022 /* ivc-rendezvous.policy(5) */

/*
 * One line, without its newline, into line[LINE_MAX_LEN + 1]; false at the
 * end of the file. Not fgets(), which stops at a NUL byte: the rest of a
 * last line was ignored unseen, and elsewhere the next line was taken for
 * the rest of this one and never checked.
 */
static bool read_line(FILE *f, char *line, const char **why)
{
	size_t n = 0;
	int c;

	*why = NULL;
	while ((c = getc(f)) != EOF && c != '\n') {
		if (c == 0)
			*why = "NUL byte in line";
		else if (n < LINE_MAX_LEN)
			line[n++] = (char)c;
		else if (!*why)
			*why = "line too long";
	}
	line[n] = 0;
	return c != EOF || n > 0 || *why;
}

struct policy *policy_read(FILE *f, const char *path, FILE *errs)
{
	struct policy *p = calloc(1, sizeof *p);
	char line[LINE_MAX_LEN + 1];
	const char *why;
	int lineno = 0, bad = 0, cap = 0;

	if (!p) {
		fprintf(errs, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	while (read_line(f, line, &why)) {
		struct pol_rule r = { .line = ++lineno };
		int k = why ? -1 : parse_line(line, &r, &why);

		if (k < 0) {
			fprintf(errs, "%s:%d: %s\n", path, lineno, why);
			bad++;
		} else if (k > 0) {
			if (p->n == cap) {
				cap = cap ? 2 * cap : 16;
				struct pol_rule *t = realloc(p->rules, (size_t)cap * sizeof *t);
				if (!t) {
					fprintf(errs, "%s: %s\n", path, strerror(ENOMEM));
					bad++;
					break;
				}
				p->rules = t;
			}
			p->rules[p->n++] = r;
		}
	}
	p->path = strdup(path);
	if (bad || !p->path) {
		policy_free(p);
		return NULL;
	}
	return p;
}

struct policy *policy_load(const char *path, FILE *errs)
{
	FILE *f = fopen(path, "r");
	struct policy *p;

	if (!f) {
		fprintf(errs, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	p = policy_read(f, path, errs);
	fclose(f);
	return p;
}

/* Without a file: every domain may listen on any name and connect to any
 * service, as in direct mode. */
struct policy *policy_default(void)
{
	static const struct pol_rule all[] = {
		{ 0, POL_LISTEN, "*", { PD_ANY, 0, "" }, { PD_NONE, 0, "" }, true },
		{ 0, POL_CONNECT, "*", { PD_ANY, 0, "" }, { PD_ANY, 0, "" }, true },
	};
	struct policy *p = calloc(1, sizeof *p);

	if (p && (p->rules = malloc(sizeof all))) {
		memcpy(p->rules, all, sizeof all);
		p->n = 2;
		return p;
	}
	free(p);
	return NULL;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->rules);
	free(p->path);
	free(p);
}

static bool dom_match(const struct pol_dom *d, struct pol_who w)
{
	switch (d->kind) {
	case PD_ANY:
		return true;
	case PD_ID:
		return d->id == w.id;
	case PD_NAME:
		return w.name && !strcmp(d->name, w.name);
	case PD_NONE:
		return true;
	}
	return false;
}

bool policy_allows(const struct policy *p, enum pol_verb v, const char *service, struct pol_who src,
		   struct pol_who dst, int *line)
{
	for (int i = 0; p && i < p->n; i++) {
		const struct pol_rule *r = &p->rules[i];
		if (r->verb == v && fnmatch(r->service, service, 0) == 0 &&
		    dom_match(&r->src, src) && dom_match(&r->dst, dst)) {
			*line = r->line;
			return r->allow;
		}
	}
	*line = 0;
	return false;
}
