/* SPDX-License-Identifier: MIT */
/*
 * fuzz-policy.c - libFuzzer on ivc-rendezvousd's policy parser
 * (rendezvous/policy.c), the input being the file. Oracle: a refused file
 * gets at least one "NAME:LINE: what" error and an accepted one none;
 * every accepted rule is within what ivc-rendezvous.policy(5) allows;
 * the rules printed back in canonical form read to the very same rules;
 * each rule decides (or one above it does) a request made of its own
 * fields, and every decision names a rule of the request's verb with the
 * action returned. LeakSanitizer checks policy_free.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.policy"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz-policy: %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static struct policy *parse(const void *text, size_t size, char **errs, size_t *errlen)
{
	/* fmemopen() refuses an empty buffer: one byte, read as nothing. */
	FILE *f = fmemopen((void *)(size ? text : "x"), size ? size : 1, "r");
	FILE *e = open_memstream(errs, errlen);
	struct policy *p;

	CHECK(f && e);
	if (!size)
		fgetc(f);
	p = policy_read(f, NAME, e);
	fclose(f);
	fclose(e);
	return p;
}

static void check_dom(const struct pol_dom *d)
{
	switch (d->kind) {
	case PD_ANY:
	case PD_NONE:
		break;
	case PD_ID:
		CHECK(d->id <= IVC_DOMID_MAX);
		break;
	case PD_NAME: {
		size_t n = strnlen(d->name, sizeof d->name);

		CHECK(n >= 1 && n < sizeof d->name);
		CHECK(d->name[0] != '@' && !isdigit((unsigned char)d->name[0]));
		CHECK(strcmp(d->name, "-") && !strpbrk(d->name, " \t\r\n#"));
		break;
	}
	default:
		CHECK(!"bad domain kind");
	}
}

static void check_rule(const struct pol_rule *r, int prev_line, int lines)
{
	size_t n = strnlen(r->service, sizeof r->service);

	CHECK(r->line > prev_line && r->line <= lines);
	CHECK(r->verb == POL_LISTEN || r->verb == POL_CONNECT);
	CHECK(n >= 1 && n <= NAME_MAX_LEN);
	for (size_t i = 0; i < n; i++)
		CHECK(isalnum((unsigned char)r->service[i]) || strchr("_-*?[]!", r->service[i]));
	check_dom(&r->src);
	check_dom(&r->dst);
	CHECK(r->src.kind != PD_NONE);
	CHECK((r->verb == POL_LISTEN) == (r->dst.kind == PD_NONE));
}

static const char *dom_text(const struct pol_dom *d, char *buf, size_t size)
{
	switch (d->kind) {
	case PD_ANY:
		return "@anyvm";
	case PD_NONE:
		return "-";
	case PD_ID:
		snprintf(buf, size, "%u", d->id);
		return buf;
	default:
		return d->name;
	}
}

/* Printed back and read again: the same rules, one a line. */
static void check_round_trip(const struct policy *p)
{
	char *text = NULL, *errs = NULL, a[16], b[16];
	size_t len = 0, errlen = 0;
	FILE *f = open_memstream(&text, &len);
	struct policy *q;

	CHECK(f);
	for (int i = 0; i < p->n; i++) {
		const struct pol_rule *r = &p->rules[i];

		fprintf(f, "%s %s %s %s %s\n", r->verb == POL_LISTEN ? "listen" : "connect",
			r->service, dom_text(&r->src, a, sizeof a), dom_text(&r->dst, b, sizeof b),
			r->allow ? "allow" : "deny");
	}
	fclose(f);
	q = parse(text, len, &errs, &errlen);
	CHECK(q && q->n == p->n && errlen == 0);
	for (int i = 0; i < p->n; i++) {
		const struct pol_rule *r = &p->rules[i], *s = &q->rules[i];

		CHECK(s->line == i + 1 && s->verb == r->verb && s->allow == r->allow);
		CHECK(!strcmp(s->service, r->service));
		CHECK(s->src.kind == r->src.kind && s->src.id == r->src.id &&
		      !strcmp(s->src.name, r->src.name));
		CHECK(s->dst.kind == r->dst.kind && s->dst.id == r->dst.id &&
		      !strcmp(s->dst.name, r->dst.name));
	}
	policy_free(q);
	free(text);
	free(errs);
}

/* Someone whom d matches. */
static struct pol_who who_of(const struct pol_dom *d, uint32_t other)
{
	switch (d->kind) {
	case PD_ID:
		return (struct pol_who){ d->id, "" };
	case PD_NAME:
		return (struct pol_who){ other, d->name };
	default:
		return (struct pol_who){ other, "Domain-0" };
	}
}

/* The decision must come from a rule of verb v that says so. */
static const struct pol_rule *decide(const struct policy *p, enum pol_verb v, const char *service,
				     struct pol_who src, struct pol_who dst)
{
	int line = -1;
	bool ok = policy_allows(p, v, service, src, dst, &line);

	if (line == 0) {
		CHECK(!ok);
		return NULL;
	}
	for (int i = 0; i < p->n; i++)
		if (p->rules[i].line == line) {
			CHECK(p->rules[i].verb == v && p->rules[i].allow == ok);
			return &p->rules[i];
		}
	CHECK(!"a decision by no rule");
	return NULL;
}

static void check_decisions(const struct policy *p)
{
	for (int i = 0; i < p->n; i++) {
		const struct pol_rule *r = &p->rules[i], *by;

		by = decide(p, r->verb, r->service, who_of(&r->src, (uint32_t)i),
			    who_of(&r->dst, IVC_DOMID_MAX - (uint32_t)i));
		/* A name without pattern characters matches itself. */
		if (!strpbrk(r->service, "*?["))
			CHECK(by && by <= r);
		decide(p, r->verb == POL_LISTEN ? POL_CONNECT : POL_LISTEN, r->service,
		       (struct pol_who){ (uint32_t)i, NULL }, (struct pol_who){ 0, "" });
	}
	decide(p, POL_CONNECT, "echo", (struct pol_who){ 5, "" },
	       (struct pol_who){ 0, "Domain-0" });
	decide(p, POL_LISTEN, "sys-x", (struct pol_who){ 0, "Domain-0" },
	       (struct pol_who){ 0, "" });
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *errs = NULL;
	size_t errlen = 0, k;
	int lines = 1;
	struct policy *p = parse(data, size, &errs, &errlen);

	for (k = 0; k < size; k++)
		lines += data[k] == '\n';
	if (!p) {
		/* Each error on its own line, naming the file and a line of it. */
		CHECK(errlen > 0 && errs[errlen - 1] == '\n');
		for (char *l = errs; *l; l = strchr(l, '\n') + 1) {
			int line = 0;

			CHECK(!strncmp(l, NAME ":", strlen(NAME ":")));
			line = atoi(l + strlen(NAME ":"));
			CHECK(line >= 1 && line <= lines);
		}
		free(errs);
		return 0;
	}
	CHECK(errlen == 0 && p->path && !strcmp(p->path, NAME));
	CHECK(p->n >= 0 && (p->n == 0 || p->rules));
	for (int i = 0; i < p->n; i++)
		check_rule(&p->rules[i], i ? p->rules[i - 1].line : 0, lines);
	/* The manual: lines of at most 1022 characters, text (no NUL). */
	for (k = 0; k < size;) {
		const uint8_t *nl = memchr(data + k, '\n', size - k);
		size_t end = nl ? (size_t)(nl - data) : size;

		CHECK(end - k <= 1022);
		CHECK(!memchr(data + k, 0, end - k));
		k = end + 1;
	}
	check_round_trip(p);
	check_decisions(p);
	policy_free(p);
	free(errs);
	return 0;
}
