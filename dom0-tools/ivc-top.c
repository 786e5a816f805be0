/* SPDX-License-Identifier: MIT */
/*
 * ivc-top - libIVC's channels live, as xentop shows domains: a curses table
 * refreshed every interval, or plain text and JSON Lines for scripts (-b,
 * --json). Runs in dom0 and reads the host with ivc_mon_scan(3); everything
 * it shows comes from domains that may lie, so every string is sanitised
 * (screen, text) or escaped (JSON) on the way out. See ivc-top(1).
 */
#define _GNU_SOURCE
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <ivc.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monjson.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 64 };
enum { VIEW_CHANS, VIEW_DOMS, NVIEWS };
enum { EDIT_NONE, EDIT_FILTER, EDIT_INTERVAL };

#define SPARK_N 20 /* throughput samples kept per channel */
#define TEXT_MAX 64
#define NAME_LEN (IVC_MON_NAME_MAX + 1)
#define ID_LEN sizeof(((struct ivc_mon_chan *)0)->id)
#define CELL 256 /* one formatted cell, UTF-8 */
#define MAX_COLS 24
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A channel's past, carried from scan to scan by its id. */
struct hist {
	char id[ID_LEN + 1];
	bool counted; /* the counters below were read, at time t */
	int64_t t;
	uint64_t msgs[2], bytes[2], notifies[2];
	double spark[SPARK_N]; /* bytes/s, oldest first; NAN: not known */
	int nspark;
};

/* A channel as shown: the snapshot's entry, its past, what follows. */
struct row {
	const struct ivc_mon_chan *c;
	const struct hist *h;
	char id[ID_LEN + 1], service[NAME_LEN], type[NAME_LEN]; /* sanitised */
	double msgs_s[2], bytes_s[2], notifies_s;               /* NAN: not known */
	int64_t age_ms;                                         /* -1: not known */
};

/* A domain: its share of the host's channels. [0] in, [1] out. */
struct dom {
	uint32_t domid;
	const struct ivc_mon_domain *raw; /* the snapshot's entry; NULL: not listed */
	char name[NAME_LEN];              /* sanitised; "" if none */
	unsigned services, listens, clients, rated;
	double bytes_s[2], msgs_s[2]; /* sums of the rates known */
};

struct totals {
	double msgs_s, bytes_s, notifies_s;
	uint64_t msgs, bytes;
	size_t open, rated;
};

/* "=N": channels with an end in domain N (the domain itself, in the
 * domain view); else a substring of the service (domain) name. */
struct filter {
	bool by_domid;
	uint32_t domid;
	char text[TEXT_MAX];
};

struct top;

typedef void fmt_fn(const struct top *t, const void *row, int arg, int width, char *buf, size_t n);
typedef int cmp_fn(const void *a, const void *b);

/* A column of the screen: the most important (lowest prio) are kept
 * when the terminal is narrow (see layout). */
struct col {
	const char *title;
	int min, want, max, prio;
	bool left;
	fmt_fn *fmt;
	int arg;                      /* the direction, for the per-ring columns */
	int (*attr)(const void *row); /* colour; NULL: none */
};

struct sortkey {
	const char *name;
	int key; /* the letter that selects it */
	cmp_fn *cmp;
	bool desc; /* largest first unless reversed */
};

struct view {
	const char *what; /* "channels", "domains" */
	const struct col *cols;
	size_t ncols;
	const struct sortkey *keys;
	size_t nkeys;
};

struct top {
	struct ivc_ctx *ctx;
	struct ivc_mon *mon;
	struct ivc_mon_snap snap;
	struct hist *hist;  /* one per channel of snap, in its order */
	struct hist **byid; /* the same, sorted by id, to find a channel's past */
	struct row *rows;
	struct dom *doms; /* sorted by domid */
	size_t ndoms;
	struct totals tot;
	const void **shown; /* the view's rows or doms, filtered and sorted */
	size_t nshown, first;
	/* settings */
	double interval;
	long iters; /* scans to make; negative: forever */
	int view;
	size_t sort[NVIEWS];
	bool reverse[NVIEWS];
	struct filter filter;
	bool paused, utf8, help, quit, json;
	int edit;
	char ebuf[TEXT_MAX];
	const char *msg;
	int64_t next_scan;
};

static volatile sig_atomic_t stop_signal;

/* ---- pure helpers: time, numbers, strings ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Counts per second between two readings; NAN when it cannot be told
 * (no time passed, or a counter went back: a lying or restarted peer). */
static double rate(uint64_t now, uint64_t before, int64_t dt_ms)
{
	if (dt_ms <= 0 || now < before)
		return NAN;
	return (double)(now - before) * 1000.0 / (double)dt_ms;
}

/* 65536 -> "64K", 1536 -> "1.5K", 999 -> "999": base 1024 (K M G ...) for
 * bytes, 1000 (k M G ...) for counts. NAN -> "-". */
static void fmt_num(char *buf, size_t n, double v, bool bytes)
{
	const char *units = bytes ? "KMGTPE" : "kMGTPE";
	double base = bytes ? 1024 : 1000;
	int u = -1;

	if (isnan(v) || v < 0) {
		snprintf(buf, n, "-");
		return;
	}
	while (v >= base - 0.5 && units[u + 1]) {
		v /= base;
		u++;
	}
	if (v < 9.95 && fabs(v - round(v)) >= 0.05)
		snprintf(buf, n, "%.1f", v);
	else
		snprintf(buf, n, "%.0f", v);
	if (u >= 0)
		snprintf(buf + strlen(buf), n - strlen(buf), "%c", units[u]);
}

/* A rate with its unit: "1.2M/s". */
static void fmt_rate(char *buf, size_t n, double v, bool bytes)
{
	fmt_num(buf, n, v, bytes);
	if (!isnan(v))
		snprintf(buf + strlen(buf), n - strlen(buf), "/s");
}

/* 45s, 12m05s, 3h04m, 2d03h; "-" when not known. */
static void fmt_age(char *buf, size_t n, int64_t ms)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, n, "-");
	else if (s < 60)
		snprintf(buf, n, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, n, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, n, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, n, "%" PRId64 "d%02" PRId64 "h", s / 86400, s / 3600 % 24);
}

/* Copies at most max bytes of s (it may lack its NUL), each byte that is
 * not printable ASCII replaced by '?' and spaces by '_': a name from a
 * hostile domain can neither drive the terminal nor split a column. */
static void sanitize(char *dst, size_t dn, const char *s, size_t max)
{
	size_t i;

	for (i = 0; i + 1 < dn && i < max && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];
		dst[i] = ch == ' ' ? '_' : ch > 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[i] = 0;
}

/* Terminal cells of a UTF-8 string (ours only hold 1-cell characters). */
static int cells(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* src cut or padded to exactly w cells. */
static void fit(char *dst, size_t n, const char *src, int w, bool left)
{
	int have = cells(src), pad = w > have ? w - have : 0;
	size_t len = 0;

	if (!left)
		for (; pad > 0 && len + 1 < n; pad--)
			dst[len++] = ' ';
	for (int c = 0; *src && len + 4 < n; src++) {
		if (((unsigned char)*src & 0xc0) != 0x80 && c++ == w)
			break;
		dst[len++] = *src;
	}
	for (; pad > 0 && len + 1 < n; pad--)
		dst[len++] = ' ';
	dst[len] = 0;
}

/* Length of the UTF-8 sequence at p (at most n bytes), 0 if p does not
 * start a valid one (overlong, surrogate, beyond U+10FFFF, cut short). */
static bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !isfinite(v) || v < 0.01 || v > 86400)
		return false;
	*out = v;
	return true;
}

static void parse_filter(struct filter *f, const char *s)
{
	char *end;

	memset(f, 0, sizeof *f);
	snprintf(f->text, sizeof f->text, "%s", s);
	if (s[0] == '=' && s[1] >= '0' && s[1] <= '9') {
		unsigned long d = strtoul(s + 1, &end, 10);
		f->by_domid = !*end && d <= UINT32_MAX;
		f->domid = (uint32_t)d;
	}
}

static bool match_chan(const struct filter *f, const struct row *r)
{
	if (f->by_domid)
		return r->c->listener == f->domid || r->c->client == f->domid;
	return strstr(r->service, f->text) != NULL;
}

static bool match_dom(const struct filter *f, const struct dom *d)
{
	if (f->by_domid)
		return d->domid == f->domid;
	return strstr(d->name, f->text) != NULL;
}

static bool has(const struct ivc_mon_chan *c, uint32_t flag)
{
	return (c->flags & flag) != 0;
}

static const char *state_name(enum ivc_mon_state s)
{
	const char *n = ivc_mon_state_name(s);

	return n ? n : "?";
}

static const char *dir_name(enum ivc_dir d)
{
	return d == IVC_IN ? "in" : d == IVC_OUT ? "out" : d == IVC_INOUT ? "inout" : "?";
}

static const char *mode_name(enum ivc_mode m)
{
	return m == IVC_MESSAGE ? "msg" : m == IVC_STREAM ? "stream" : "?";
}

static double sum2(const double v[2])
{
	return isnan(v[0]) || isnan(v[1]) ? NAN : v[0] + v[1];
}

/* ---- scanning: rates, domains, totals ---- */

static int cmp_hist_id(const void *a, const void *b)
{
	return strcmp((*(struct hist *const *)a)->id, (*(struct hist *const *)b)->id);
}

static const struct hist *find_hist(const struct top *t, const char *id)
{
	struct hist key, *kp = &key, **found;

	if (!t->byid)
		return NULL;
	snprintf(key.id, sizeof key.id, "%s", id);
	found = bsearch(&kp, t->byid, t->snap.nchans, sizeof *t->byid, cmp_hist_id);
	return found ? *found : NULL;
}

static void push_spark(struct hist *h, double v)
{
	if (h->nspark == SPARK_N) {
		memmove(h->spark, h->spark + 1, sizeof h->spark - sizeof h->spark[0]);
		h->nspark--;
	}
	h->spark[h->nspark++] = v;
}

/* Carries a channel's past into h and works out r's rates from it: first
 * sight (no old) leaves them unknown. */
static void advance(struct hist *h, const struct hist *old, struct row *r, int64_t now)
{
	const struct ivc_mon_chan *c = r->c;
	int64_t dt = old ? now - old->t : 0;

	memset(h, 0, sizeof *h);
	snprintf(h->id, sizeof h->id, "%s", r->id);
	if (old) {
		memcpy(h->spark, old->spark, sizeof h->spark);
		h->nspark = old->nspark;
	}
	for (int d = 0; d < 2; d++)
		r->msgs_s[d] = r->bytes_s[d] = NAN;
	r->notifies_s = NAN;
	if (!has(c, IVC_MON_COUNTERS))
		return;
	h->counted = true;
	h->t = now;
	memcpy(h->msgs, c->msgs, sizeof h->msgs);
	memcpy(h->bytes, c->bytes, sizeof h->bytes);
	memcpy(h->notifies, c->notifies, sizeof h->notifies);
	if (!old || !old->counted)
		return;
	for (int d = 0; d < 2; d++) {
		r->msgs_s[d] = rate(c->msgs[d], old->msgs[d], dt);
		r->bytes_s[d] = rate(c->bytes[d], old->bytes[d], dt);
	}
	r->notifies_s = sum2((double[2]){ rate(c->notifies[0], old->notifies[0], dt),
					  rate(c->notifies[1], old->notifies[1], dt) });
	push_spark(h, sum2(r->bytes_s));
}

static void fill_row(struct row *r, const struct ivc_mon_chan *c, int64_t wall)
{
	r->c = c;
	sanitize(r->id, sizeof r->id, c->id, sizeof c->id);
	sanitize(r->service, sizeof r->service, c->service, sizeof c->service);
	if (has(c, IVC_MON_TYPED))
		sanitize(r->type, sizeof r->type, c->type, sizeof c->type);
	else
		snprintf(r->type, sizeof r->type, "?");
	r->age_ms = has(c, IVC_MON_COUNTERS) && c->created > 0 && wall >= c->created
			? wall - c->created
			: -1;
}

static int cmp_dom_id(const void *a, const void *b)
{
	const struct dom *x = a, *y = b;

	if (x->domid != y->domid)
		return x->domid < y->domid ? -1 : 1;
	return (y->raw != NULL) - (x->raw != NULL); /* the listed one first */
}

static struct dom *find_dom(const struct top *t, uint32_t domid)
{
	for (size_t lo = 0, hi = t->ndoms; lo < hi;) {
		size_t mid = (lo + hi) / 2;
		if (t->doms[mid].domid == domid)
			return &t->doms[mid];
		if (t->doms[mid].domid < domid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Every domain the snapshot names, with or without a channel, and every
 * domain a channel or service names, listed or not. */
static int list_doms(struct top *t)
{
	const struct ivc_mon_snap *s = &t->snap;
	size_t n = 0, cap = s->ndomains + 2 * s->nchans + s->nservices + 1;
	struct dom *d = calloc(cap, sizeof *d);

	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < s->ndomains; i++, n++) {
		d[n].domid = s->domains[i].domid;
		d[n].raw = &s->domains[i];
		sanitize(d[n].name, sizeof d[n].name, s->domains[i].name,
			 sizeof s->domains[i].name);
	}
	for (size_t i = 0; i < s->nchans; i++) {
		d[n++].domid = s->chans[i].listener;
		d[n++].domid = s->chans[i].client;
	}
	for (size_t i = 0; i < s->nservices; i++)
		d[n++].domid = s->services[i].domid;
	qsort(d, n, sizeof *d, cmp_dom_id);
	t->ndoms = 0;
	for (size_t i = 0; i < n; i++)
		if (!t->ndoms || d[t->ndoms - 1].domid != d[i].domid)
			d[t->ndoms++] = d[i];
	free(t->doms);
	t->doms = d;
	return 0;
}

/* One ring's rate, seen from its sender (out) and its receiver (in). */
static void add_flow(struct dom *from, struct dom *to, double bytes, double msgs)
{
	if (isnan(bytes) || isnan(msgs))
		return;
	from->bytes_s[1] += bytes;
	from->msgs_s[1] += msgs;
	to->bytes_s[0] += bytes;
	to->msgs_s[0] += msgs;
}

static void count_doms(struct top *t)
{
	for (size_t i = 0; i < t->snap.nservices; i++)
		find_dom(t, t->snap.services[i].domid)->services++;
	for (size_t i = 0; i < t->snap.nchans; i++) {
		const struct row *r = &t->rows[i];
		struct dom *l = find_dom(t, r->c->listener), *c = find_dom(t, r->c->client);
		l->listens++;
		c->clients++;
		add_flow(l, c, r->bytes_s[0], r->msgs_s[0]);
		add_flow(c, l, r->bytes_s[1], r->msgs_s[1]);
		if (!isnan(sum2(r->bytes_s))) {
			l->rated++;
			c->rated += c != l;
		}
	}
}

/* Each sum over the channels whose figure is known. */
static void count_totals(struct top *t)
{
	struct totals *o = &t->tot;

	memset(o, 0, sizeof *o);
	for (size_t i = 0; i < t->snap.nchans; i++) {
		const struct row *r = &t->rows[i];
		const struct ivc_mon_chan *c = r->c;
		o->open += c->state == IVC_MON_OPEN;
		if (has(c, IVC_MON_COUNTERS)) {
			o->msgs += c->msgs[0] + c->msgs[1];
			o->bytes += c->bytes[0] + c->bytes[1];
		}
		for (int d = 0; d < 2; d++) {
			o->msgs_s += isnan(r->msgs_s[d]) ? 0 : r->msgs_s[d];
			o->bytes_s += isnan(r->bytes_s[d]) ? 0 : r->bytes_s[d];
		}
		o->notifies_s += isnan(r->notifies_s) ? 0 : r->notifies_s;
		o->rated += !isnan(r->notifies_s) || !isnan(sum2(r->bytes_s));
	}
}

static void refresh_view(struct top *t);

/* Takes a new snapshot: each channel's past found by id, rates, domains,
 * totals, and the view rebuilt. */
static int take(struct top *t, const struct ivc_mon_snap *s)
{
	size_t n = s->nchans ? s->nchans : 1, m = n > s->ndomains ? n : s->ndomains;
	struct hist *h = calloc(n, sizeof *h), **by = calloc(n, sizeof *by);
	struct row *r = calloc(n, sizeof *r);
	const void **shown = calloc(m + 2 * n + s->nservices + 1, sizeof *shown);

	if (!h || !by || !r || !shown) {
		free(h), free(by), free(r), free(shown);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->nchans; i++) {
		fill_row(&r[i], &s->chans[i], s->wall_ms);
		advance(&h[i], find_hist(t, r[i].id), &r[i], s->time_ms);
		r[i].h = &h[i];
		by[i] = &h[i];
	}
	qsort(by, s->nchans, sizeof *by, cmp_hist_id);
	free(t->hist), free(t->byid), free(t->rows), free(t->shown);
	t->hist = h, t->byid = by, t->rows = r, t->shown = shown;
	t->snap = *s;
	if (list_doms(t))
		return -ENOMEM;
	count_doms(t);
	count_totals(t);
	refresh_view(t);
	return 0;
}

static int scan(struct top *t)
{
	struct ivc_mon_snap s;
	int err = ivc_mon_scan(t->mon, &s);

	return err ? err : take(t, &s);
}

/* ---- sorting and the views ---- */

static int cmp_num(double a, double b)
{
	a = isnan(a) ? -1 : a;
	b = isnan(b) ? -1 : b;
	return a < b ? -1 : a > b;
}

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

#define ROW(p) (*(const struct row *const *)(p))
#define DOM(p) (*(const struct dom *const *)(p))

static double fill_of(const struct ivc_mon_chan *c)
{
	double f = -1;

	for (int d = 0; has(c, IVC_MON_COUNTERS) && d < 2; d++)
		if (c->ring[d] && (double)c->used[d] / c->ring[d] > f)
			f = (double)c->used[d] / c->ring[d];
	return f;
}

static int by_service(const void *a, const void *b)
{
	return strcmp(ROW(a)->service, ROW(b)->service);
}

static int by_listener(const void *a, const void *b)
{
	return cmp_u32(ROW(a)->c->listener, ROW(b)->c->listener);
}

static int by_client(const void *a, const void *b)
{
	return cmp_u32(ROW(a)->c->client, ROW(b)->c->client);
}

static int by_state(const void *a, const void *b)
{
	return cmp_u32(ROW(a)->c->state, ROW(b)->c->state);
}

static int by_bytes(const void *a, const void *b)
{
	return cmp_num(sum2(ROW(a)->bytes_s), sum2(ROW(b)->bytes_s));
}

static int by_msgs(const void *a, const void *b)
{
	return cmp_num(sum2(ROW(a)->msgs_s), sum2(ROW(b)->msgs_s));
}

static int by_notifies(const void *a, const void *b)
{
	return cmp_num(ROW(a)->notifies_s, ROW(b)->notifies_s);
}

static int by_fill(const void *a, const void *b)
{
	return cmp_num(fill_of(ROW(a)->c), fill_of(ROW(b)->c));
}

static int by_age(const void *a, const void *b)
{
	return cmp_num((double)ROW(a)->age_ms, (double)ROW(b)->age_ms);
}

static int by_type(const void *a, const void *b)
{
	return strcmp(ROW(a)->type, ROW(b)->type);
}

static int by_domid(const void *a, const void *b)
{
	return cmp_u32(DOM(a)->domid, DOM(b)->domid);
}

static int by_dname(const void *a, const void *b)
{
	return strcmp(DOM(a)->name, DOM(b)->name);
}

static int by_dbytes(const void *a, const void *b)
{
	return cmp_num(DOM(a)->bytes_s[0] + DOM(a)->bytes_s[1],
		       DOM(b)->bytes_s[0] + DOM(b)->bytes_s[1]);
}

static int by_dchans(const void *a, const void *b)
{
	return cmp_u32(DOM(a)->listens + DOM(a)->clients, DOM(b)->listens + DOM(b)->clients);
}

static int by_dservices(const void *a, const void *b)
{
	return cmp_u32(DOM(a)->services, DOM(b)->services);
}

static const struct sortkey chan_keys[] = {
	{ "service", 'S', by_service, false },    { "type", 'Y', by_type, false },
	{ "listener", 'L', by_listener, false },  { "client", 'C', by_client, false },
	{ "state", 'T', by_state, false },        { "fill", 'F', by_fill, true },
	{ "msgs/s", 'M', by_msgs, true },         { "bytes/s", 'B', by_bytes, true },
	{ "notifies/s", 'N', by_notifies, true }, { "age", 'A', by_age, true },
};

static const struct sortkey dom_keys[] = {
	{ "domid", 'I', by_domid, false },       { "name", 'N', by_dname, false },
	{ "services", 'S', by_dservices, true }, { "channels", 'C', by_dchans, true },
	{ "bytes/s", 'B', by_dbytes, true },
};

/* The tie-breakers: the channel's id, the domain's id. */
static int tie(const struct top *t, const void *a, const void *b)
{
	if (t->view == VIEW_CHANS)
		return strcmp(ROW(a)->id, ROW(b)->id);
	return by_domid(a, b);
}

static const struct view views[NVIEWS];

static int cmp_shown(const void *a, const void *b, void *arg)
{
	const struct top *t = arg;
	const struct sortkey *k = &views[t->view].keys[t->sort[t->view]];
	int r = k->cmp(a, b);

	if (k->desc != t->reverse[t->view])
		r = -r;
	return r ? r : tie(t, a, b);
}

/* The current view's rows, filtered and sorted, into t->shown. */
static void refresh_view(struct top *t)
{
	t->nshown = 0;
	if (t->view == VIEW_CHANS) {
		for (size_t i = 0; i < t->snap.nchans; i++)
			if (match_chan(&t->filter, &t->rows[i]))
				t->shown[t->nshown++] = &t->rows[i];
	} else {
		for (size_t i = 0; i < t->ndoms; i++)
			if (match_dom(&t->filter, &t->doms[i]))
				t->shown[t->nshown++] = &t->doms[i];
	}
	qsort_r(t->shown, t->nshown, sizeof *t->shown, cmp_shown, t);
}

static bool find_sortkey(struct top *t, int view, const char *name)
{
	for (size_t i = 0; i < views[view].nkeys; i++)
		if (!strcmp(views[view].keys[i].name, name)) {
			t->sort[view] = i;
			return true;
		}
	return false;
}

/* ---- cells: one formatter per kind of column ---- */

static const char *dom_name(const struct top *t, uint32_t domid)
{
	const struct dom *d = find_dom(t, domid);

	return d ? d->name : "";
}

static void f_service(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	(void)t, (void)arg, (void)w;
	snprintf(b, n, "%s", ((const struct row *)p)->service);
}

static void f_type(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	const struct row *r = p;

	(void)t, (void)arg, (void)w;
	if (has(r->c, IVC_MON_TYPED))
		snprintf(b, n, "%s:%" PRIu32, r->type, r->c->version);
	else
		snprintf(b, n, "?");
}

/* arg 0: the listener, 1: the client; "1:name", or "1" without a name. */
static void f_end(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	const struct row *r = p;
	uint32_t d = arg ? r->c->client : r->c->listener;
	const char *name = dom_name(t, d);

	(void)w;
	snprintf(b, n, "%" PRIu32 "%s%s", d, *name ? ":" : "", name);
}

static void f_mode(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	const struct row *r = p;

	(void)t, (void)arg, (void)w;
	snprintf(b, n, "%s", has(r->c, IVC_MON_TYPED) ? mode_name(r->c->mode) : "?");
}

static void f_rdv(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	(void)t, (void)arg, (void)w;
	snprintf(b, n, "%s",
		 has(((const struct row *)p)->c, IVC_MON_BROKERED) ? "brokered" : "direct");
}

static void f_dir(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	const struct row *r = p;

	(void)t, (void)arg, (void)w;
	snprintf(b, n, "%s", has(r->c, IVC_MON_TYPED) ? dir_name(r->c->dir) : "?");
}

static void f_state(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	(void)t, (void)arg, (void)w;
	snprintf(b, n, "%s", state_name(((const struct row *)p)->c->state));
}

/* "12K/64K": queued / ring size; "-" for a direction the channel lacks. */
static void f_ring(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	const struct ivc_mon_chan *c = ((const struct row *)p)->c;
	char used[16], size[16];

	(void)t, (void)w;
	if (!has(c, IVC_MON_COUNTERS) || !c->ring[arg]) {
		snprintf(b, n, "%s", has(c, IVC_MON_COUNTERS) ? "-" : "?");
		return;
	}
	fmt_num(used, sizeof used, c->used[arg], true);
	fmt_num(size, sizeof size, c->ring[arg], true);
	snprintf(b, n, "%s/%s", used, size);
}

/* "[###   ]": how full the ring is, over the cell's width. */
static void f_fill(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	const struct ivc_mon_chan *c = ((const struct row *)p)->c;
	int inner = w - 2, full;

	(void)t;
	if (!has(c, IVC_MON_COUNTERS) || !c->ring[arg] || inner < 1 || (size_t)w >= n) {
		snprintf(b, n, "%s", has(c, IVC_MON_COUNTERS) ? "-" : "?");
		return;
	}
	full = (int)lround((double)c->used[arg] / c->ring[arg] * inner);
	full = c->used[arg] && !full ? 1 : full > inner ? inner : full;
	b[0] = '[';
	for (int i = 0; i < inner; i++)
		b[1 + i] = i < full ? '#' : ' ';
	b[w - 1] = ']';
	b[w] = 0;
}

static void f_rate(char *b, size_t n, const struct row *r, double v, bool bytes)
{
	if (!has(r->c, IVC_MON_COUNTERS))
		snprintf(b, n, "?");
	else
		fmt_num(b, n, v, bytes);
}

static void f_bytes(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	(void)t, (void)w;
	f_rate(b, n, p, ((const struct row *)p)->bytes_s[arg], true);
}

static void f_msgs(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	(void)t, (void)w;
	f_rate(b, n, p, ((const struct row *)p)->msgs_s[arg], false);
}

static void f_notifies(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	(void)t, (void)arg, (void)w;
	f_rate(b, n, p, ((const struct row *)p)->notifies_s, false);
}

static void f_age(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	(void)t, (void)arg, (void)w;
	fmt_age(b, n, ((const struct row *)p)->age_ms);
}

/* b: brokered, c: counters read, t: typed; '-' for each absent. */
static void f_flags(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	const struct ivc_mon_chan *c = ((const struct row *)p)->c;

	(void)t, (void)arg, (void)w;
	snprintf(b, n, "%c%c%c", has(c, IVC_MON_BROKERED) ? 'b' : '-',
		 has(c, IVC_MON_COUNTERS) ? 'c' : '-', has(c, IVC_MON_TYPED) ? 't' : '-');
}

/* The last w samples of bytes/s, scaled to the largest of them. */
static void f_spark(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	static const char *const blocks[] = { " ",      "\u2581", "\u2582", "\u2583", "\u2584",
					      "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char *const ascii[] = { " ", ".", ":", "-", "=", "+", "*", "#" };
	const char *const *lv = t->utf8 ? blocks : ascii;
	int nlv = t->utf8 ? (int)ARRAY_SIZE(blocks) : (int)ARRAY_SIZE(ascii);
	const struct hist *h = ((const struct row *)p)->h;
	int k = h->nspark < w ? h->nspark : w, from = h->nspark - k;
	double max = 0;
	size_t len = 0;

	(void)arg;
	for (int i = from; i < h->nspark; i++)
		max = h->spark[i] > max ? h->spark[i] : max;
	b[0] = 0;
	for (int i = 0; i < w - k && len + 2 < n; i++)
		b[len++] = ' ', b[len] = 0;
	for (int i = from; i < h->nspark && len + 4 < n; i++) {
		double v = h->spark[i];
		int l = isnan(v) || v <= 0 || max <= 0 ? 0 : 1 + (int)(v / max * (nlv - 1) - 1e-9);
		len += (size_t)snprintf(b + len, n - len, "%s", lv[l < nlv ? l : nlv - 1]);
	}
}

static void f_domid(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	(void)t, (void)arg, (void)w;
	snprintf(b, n, "%" PRIu32, ((const struct dom *)p)->domid);
}

static void f_dname(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	const struct dom *d = p;

	(void)t, (void)arg, (void)w;
	snprintf(b, n, "%s", d->name[0] ? d->name : "-");
}

/* arg: 0 services, 1 channels as listener, 2 as client. */
static void f_dcount(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	const struct dom *d = p;

	(void)t, (void)w;
	snprintf(b, n, "%u", arg == 0 ? d->services : arg == 1 ? d->listens : d->clients);
}

/* arg: direction (0 in, 1 out) + 2 for messages. */
static void f_drate(const struct top *t, const void *p, int arg, int w, char *b, size_t n)
{
	const struct dom *d = p;
	double v = arg < 2 ? d->bytes_s[arg] : d->msgs_s[arg - 2];

	(void)t, (void)w;
	fmt_num(b, n, d->rated ? v : NAN, arg < 2);
}

static int attr_state(const void *p)
{
	static const int pair[] = { [IVC_MON_CONNECTING] = 2,
				    [IVC_MON_OPEN] = 1,
				    [IVC_MON_DRAINING] = 2,
				    [IVC_MON_CLOSED] = 3,
				    [IVC_MON_PEER_DEAD] = 3 };
	unsigned s = ((const struct row *)p)->c->state;

	return s < ARRAY_SIZE(pair) && has_colors() ? (int)COLOR_PAIR(pair[s]) : 0;
}

/* Screen order; prio says which stay when the terminal is narrow. */
static const struct col chan_cols[] = {
	{ "SERVICE", 8, 12, 24, 0, true, f_service, 0, NULL },
	{ "TYPE", 12, 20, 24, 19, true, f_type, 0, NULL },
	{ "LISTENER", 5, 10, 16, 2, true, f_end, 0, NULL },
	{ "CLIENT", 5, 10, 16, 3, true, f_end, 1, NULL },
	{ "MODE", 6, 6, 6, 17, true, f_mode, 0, NULL },
	{ "RDV", 8, 8, 8, 18, true, f_rdv, 0, NULL },
	{ "DIR", 5, 5, 5, 16, true, f_dir, 0, NULL },
	{ "STATE", 10, 10, 10, 1, true, f_state, 0, attr_state },
	{ "RING>C", 9, 9, 9, 14, false, f_ring, 0, NULL },
	{ "FILL>C", 8, 8, 12, 6, true, f_fill, 0, NULL },
	{ "RING>L", 9, 9, 9, 15, false, f_ring, 1, NULL },
	{ "FILL>L", 8, 8, 12, 7, true, f_fill, 1, NULL },
	{ "MSG/S>C", 7, 7, 7, 11, false, f_msgs, 0, NULL },
	{ "MSG/S>L", 7, 7, 7, 12, false, f_msgs, 1, NULL },
	{ "B/S>C", 6, 6, 6, 4, false, f_bytes, 0, NULL },
	{ "B/S>L", 6, 6, 6, 5, false, f_bytes, 1, NULL },
	{ "NTF/S", 6, 6, 6, 13, false, f_notifies, 0, NULL },
	{ "AGE", 6, 6, 6, 10, false, f_age, 0, NULL },
	{ "FLG", 3, 3, 3, 8, true, f_flags, 0, NULL },
	{ "HISTORY", 8, 12, SPARK_N, 9, true, f_spark, 0, NULL },
};

static const struct col dom_cols[] = {
	{ "DOMID", 5, 5, 5, 0, false, f_domid, 0, NULL },
	{ "NAME", 8, 16, 32, 1, true, f_dname, 0, NULL },
	{ "SERVICES", 8, 8, 8, 4, false, f_dcount, 0, NULL },
	{ "LISTENS", 7, 7, 7, 5, false, f_dcount, 1, NULL },
	{ "CLIENTS", 7, 7, 7, 6, false, f_dcount, 2, NULL },
	{ "B/S IN", 7, 7, 7, 2, false, f_drate, 0, NULL },
	{ "B/S OUT", 7, 7, 7, 3, false, f_drate, 1, NULL },
	{ "MSG/S IN", 8, 8, 8, 7, false, f_drate, 2, NULL },
	{ "MSG/S OUT", 9, 9, 9, 8, false, f_drate, 3, NULL },
};

_Static_assert(ARRAY_SIZE(chan_cols) <= MAX_COLS && ARRAY_SIZE(dom_cols) <= MAX_COLS,
	       "MAX_COLS too small");

static const struct view views[NVIEWS] = {
	[VIEW_CHANS] = { "channels", chan_cols, ARRAY_SIZE(chan_cols), chan_keys,
			 ARRAY_SIZE(chan_keys) },
	[VIEW_DOMS] = { "domains", dom_cols, ARRAY_SIZE(dom_cols), dom_keys, ARRAY_SIZE(dom_keys) },
};

/* Which columns fit in `width`, most important first, and how wide: w[i]
 * 0 for a column left out. Each gets the width it wants if there is room
 * for it, else its least; room left over widens them up to their most. */
static void layout(const struct col *cols, size_t n, int width, int *w)
{
	int used = -1; /* n columns take n - 1 separators */

	for (size_t p = 0; p < n; p++)
		for (size_t i = 0; i < n; i++) {
			int room = width - used - 1;
			if ((size_t)cols[i].prio != p)
				continue;
			w[i] = room >= cols[i].want  ? cols[i].want
			       : room >= cols[i].min ? cols[i].min
						     : 0;
			used += w[i] ? w[i] + 1 : 0;
		}
	for (size_t p = 0; p < n; p++)
		for (size_t i = 0; i < n; i++) {
			int grow = cols[i].max - w[i];
			if ((size_t)cols[i].prio != p || !w[i] || grow <= 0)
				continue;
			grow = grow < width - used ? grow : width - used;
			w[i] += grow;
			used += grow;
		}
}

/* ---- batch: plain text and JSON ---- */

static void b_str(char *b, size_t n, const char *s)
{
	snprintf(b, n, "%s", *s ? s : "-");
}

static void b_u64(char *b, size_t n, bool known, uint64_t v)
{
	if (known)
		snprintf(b, n, "%" PRIu64, v);
	else
		snprintf(b, n, "?");
}

static void b_rate(char *b, size_t n, bool known, double v)
{
	if (!known)
		snprintf(b, n, "?");
	else if (isnan(v))
		snprintf(b, n, "-");
	else
		snprintf(b, n, "%.1f", v);
}

typedef void bfmt_fn(const struct top *t, const struct row *r, int arg, char *b, size_t n);

static void bf_text(const struct top *t, const struct row *r, int arg, char *b, size_t n)
{
	const struct ivc_mon_chan *c = r->c;
	bool typed = has(c, IVC_MON_TYPED);
	const char *s[] = { r->service,
			    r->type,
			    typed ? mode_name(c->mode) : "?",
			    has(c, IVC_MON_BROKERED) ? "brokered" : "direct",
			    typed ? dir_name(c->dir) : "?",
			    state_name(c->state),
			    dom_name(t, c->listener),
			    dom_name(t, c->client),
			    r->id };

	b_str(b, n, s[arg]);
}

static void bf_num(const struct top *t, const struct row *r, int arg, char *b, size_t n)
{
	const struct ivc_mon_chan *c = r->c;
	bool k = has(c, IVC_MON_COUNTERS);
	const struct {
		bool known;
		uint64_t v;
	} v[] = { { has(c, IVC_MON_TYPED), c->version },
		  { true, c->listener },
		  { true, c->client },
		  { k, c->ring[0] },
		  { k, c->used[0] },
		  { k, c->ring[1] },
		  { k, c->used[1] },
		  { k, c->msgs[0] },
		  { k, c->msgs[1] },
		  { k, c->bytes[0] },
		  { k, c->bytes[1] },
		  { k, c->notifies[0] },
		  { k, c->notifies[1] } };

	(void)t;
	b_u64(b, n, v[arg].known, v[arg].v);
}

static void bf_rate(const struct top *t, const struct row *r, int arg, char *b, size_t n)
{
	const double v[] = { r->msgs_s[0], r->msgs_s[1], r->bytes_s[0], r->bytes_s[1],
			     r->notifies_s };

	(void)t;
	b_rate(b, n, has(r->c, IVC_MON_COUNTERS), v[arg]);
}

static void bf_age(const struct top *t, const struct row *r, int arg, char *b, size_t n)
{
	(void)t, (void)arg;
	if (r->age_ms < 0)
		snprintf(b, n, "-");
	else
		snprintf(b, n, "%.1f", (double)r->age_ms / 1000);
}

static void bf_flags(const struct top *t, const struct row *r, int arg, char *b, size_t n)
{
	f_flags(t, r, arg, 0, b, n);
}

static const struct bcol {
	const char *title;
	int width;
	bfmt_fn *fmt;
	int arg;
} bcols[] = {
	{ "SERVICE", -12, bf_text, 0 }, { "TYPE", -16, bf_text, 1 },  { "VER", 3, bf_num, 0 },
	{ "MODE", -6, bf_text, 2 },     { "RDV", -8, bf_text, 3 },    { "DIR", -5, bf_text, 4 },
	{ "STATE", -10, bf_text, 5 },   { "LDOM", 5, bf_num, 1 },     { "LNAME", -10, bf_text, 6 },
	{ "CDOM", 5, bf_num, 2 },       { "CNAME", -10, bf_text, 7 }, { "RING>C", 8, bf_num, 3 },
	{ "USED>C", 8, bf_num, 4 },     { "RING>L", 8, bf_num, 5 },   { "USED>L", 8, bf_num, 6 },
	{ "MSGS>C", 10, bf_num, 7 },    { "MSGS>L", 10, bf_num, 8 },  { "BYTES>C", 12, bf_num, 9 },
	{ "BYTES>L", 12, bf_num, 10 },  { "NTF>C", 8, bf_num, 11 },   { "NTF>L", 8, bf_num, 12 },
	{ "MSG/S>C", 9, bf_rate, 0 },   { "MSG/S>L", 9, bf_rate, 1 }, { "B/S>C", 11, bf_rate, 2 },
	{ "B/S>L", 11, bf_rate, 3 },    { "NTF/S", 8, bf_rate, 4 },   { "AGE", 8, bf_age, 0 },
	{ "FLG", -3, bf_flags, 0 },     { "ID", -1, bf_text, 8 },
};

static void print_wall(FILE *f, int64_t wall_ms)
{
	time_t s = (time_t)(wall_ms / 1000);
	struct tm tm;
	char buf[32];

	if (!localtime_r(&s, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(buf, sizeof buf, "-");
	fputs(buf, f);
}

static void print_text(const struct top *t, FILE *f)
{
	const struct totals *o = &t->tot;
	char cell[CELL];

	fputs("ivc-top time ", f);
	print_wall(f, t->snap.wall_ms);
	fprintf(f,
		" domains %zu services %zu channels %zu open %zu msgs/s %.1f bytes/s %.1f "
		"notifies/s %.1f msgs %" PRIu64 " bytes %" PRIu64 "\n",
		t->snap.ndomains, t->snap.nservices, t->snap.nchans, o->open, o->msgs_s, o->bytes_s,
		o->notifies_s, o->msgs, o->bytes);
	for (size_t i = 0; i < ARRAY_SIZE(bcols); i++)
		fprintf(f, "%*s%s", bcols[i].width, bcols[i].title,
			i + 1 < ARRAY_SIZE(bcols) ? " " : "\n");
	for (size_t r = 0; r < t->nshown; r++)
		for (size_t i = 0; i < ARRAY_SIZE(bcols); i++) {
			bcols[i].fmt(t, t->shown[r], bcols[i].arg, cell, sizeof cell);
			fprintf(f, "%*s%s", bcols[i].width, cell,
				i + 1 < ARRAY_SIZE(bcols) ? " " : "\n");
		}
}

static void json_num(FILE *f, const char *key, double v)
{
	fprintf(f, ",\"%s\":", key);
	if (isfinite(v))
		fprintf(f, "%.3f", v);
	else
		fputs("null", f);
}

static void json_rates(FILE *f, const char *key, const double v[2])
{
	fprintf(f, ",\"%s\":[", key);
	for (int d = 0; d < 2; d++) {
		if (isfinite(v[d]))
			fprintf(f, "%s%.3f", d ? "," : "", v[d]);
		else
			fprintf(f, "%snull", d ? "," : "");
	}
	fputc(']', f);
}

static void json_chan(FILE *f, const struct row *r)
{
	mj_chan(f, r->c);
	json_num(f, "age_s", r->age_ms < 0 ? NAN : (double)r->age_ms / 1000);
	json_rates(f, "msgs_per_s", r->msgs_s);
	json_rates(f, "bytes_per_s", r->bytes_s);
	json_num(f, "notifies_per_s", r->notifies_s);
	fputc('}', f);
}

static void json_dom(FILE *f, const struct top *t, const struct dom *d)
{
	const struct ivc_mon_domain *raw = d->raw;

	(void)t;
	fprintf(f, "{\"domid\":%" PRIu32 ",\"name\":", d->domid);
	if (raw)
		mj_str(f, raw->name, sizeof raw->name);
	else
		fputs("null", f);
	fprintf(f, ",\"listed\":%s", raw ? "true" : "false");
	fprintf(f, ",\"services\":%u,\"channels_as_listener\":%u,\"channels_as_client\":%u",
		d->services, d->listens, d->clients);
	json_num(f, "bytes_in_per_s", d->rated ? d->bytes_s[0] : NAN);
	json_num(f, "bytes_out_per_s", d->rated ? d->bytes_s[1] : NAN);
	json_num(f, "msgs_in_per_s", d->rated ? d->msgs_s[0] : NAN);
	json_num(f, "msgs_out_per_s", d->rated ? d->msgs_s[1] : NAN);
	fputc('}', f);
}

static void json_totals(FILE *f, const struct top *t)
{
	const struct totals *o = &t->tot;

	fprintf(f,
		",\"totals\":{\"domains\":%zu,\"services\":%zu,\"channels\":%zu,\"open\":%zu,"
		"\"rated\":%zu,\"msgs\":%" PRIu64 ",\"bytes\":%" PRIu64,
		t->snap.ndomains, t->snap.nservices, t->snap.nchans, o->open, o->rated, o->msgs,
		o->bytes);
	json_num(f, "msgs_per_s", o->rated ? o->msgs_s : NAN);
	json_num(f, "bytes_per_s", o->rated ? o->bytes_s : NAN);
	json_num(f, "notifies_per_s", o->rated ? o->notifies_s : NAN);
	fputc('}', f);
}

/* One line: the whole host as this scan saw it (docs/ivc-top-json.md). */
static void print_json(const struct top *t, FILE *f)
{
	mj_head(f, ivc_platform(t->ctx), &t->snap);
	json_num(f, "interval_s", t->interval);
	json_totals(f, t);
	fputs(",\"domains\":[", f);
	for (size_t i = 0; i < t->ndoms; i++) {
		fputs(i ? "," : "", f);
		json_dom(f, t, &t->doms[i]);
	}
	fputs("],\"services\":[", f);
	for (size_t i = 0; i < t->snap.nservices; i++) {
		fputs(i ? "," : "", f);
		mj_service(f, &t->snap.services[i]);
	}
	fputs("],\"channels\":[", f);
	for (size_t i = 0; i < t->nshown; i++) {
		fputs(i ? "," : "", f);
		json_chan(f, t->shown[i]);
	}
	fputs("]}\n", f);
}

static void sleep_until(int64_t when_ms)
{
	struct timespec ts = { (time_t)(when_ms / 1000), (long)(when_ms % 1000) * 1000000 };

	while (!stop_signal && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int batch(struct top *t)
{
	int64_t start = now_ms();
	int err = 0;

	for (long i = 0; !stop_signal && (t->iters < 0 || i < t->iters); i++) {
		if (i)
			sleep_until(start + (int64_t)llround(i * t->interval * 1000));
		if (stop_signal || (i && (err = scan(t))))
			break;
		if (t->json)
			print_json(t, stdout);
		else
			print_text(t, stdout);
		if (fflush(stdout) || ferror(stdout)) {
			fprintf(stderr, "ivc-top: standard output: %s\n", strerror(errno));
			return EXIT_FAIL;
		}
	}
	if (err)
		fprintf(stderr, "ivc-top: scan: %s\n", strerror(-err));
	return err ? EXIT_FAIL : EXIT_OK;
}

/* ---- the screen ---- */

/* One line at y, cut to the screen; the last line stops a cell short
 * (writing the bottom-right corner scrolls some terminals). */
static void put_line(int y, const char *s, int attr)
{
	int w = COLS - (y == LINES - 1);

	attron(attr);
	mvaddnstr(y, 0, s, w);
	for (int x = getcurx(stdscr); attr && x < w; x++)
		addch(' ');
	attroff(attr);
}

static void draw_header(const struct top *t)
{
	const struct view *v = &views[t->view];
	const struct totals *o = &t->tot;
	char line[512], msgs[32], bytes[32], ntf[32], hms[16] = "--:--:--";
	time_t s = (time_t)(t->snap.wall_ms / 1000);
	struct tm tm;

	if (localtime_r(&s, &tm))
		strftime(hms, sizeof hms, "%H:%M:%S", &tm);
	snprintf(line, sizeof line,
		 "ivc-top - %s  %s dom%" PRIu32 "  interval %gs  %s by %s %s%s%s%s", hms,
		 ivc_platform(t->ctx), ivc_domid(t->ctx), t->interval, v->what,
		 v->keys[t->sort[t->view]].name,
		 v->keys[t->sort[t->view]].desc != t->reverse[t->view] ? "v" : "^",
		 t->filter.text[0] ? "  filter " : "", t->filter.text, t->paused ? "  PAUSED" : "");
	put_line(0, line, A_BOLD);
	fmt_rate(msgs, sizeof msgs, o->rated ? o->msgs_s : NAN, false);
	fmt_rate(bytes, sizeof bytes, o->rated ? o->bytes_s : NAN, true);
	fmt_rate(ntf, sizeof ntf, o->rated ? o->notifies_s : NAN, false);
	snprintf(line, sizeof line,
		 "Domains %zu  Services %zu  Channels %zu (%zu open)  Msgs %s  Bytes %s  "
		 "Ntf %s",
		 t->snap.ndomains, t->snap.nservices, t->snap.nchans, o->open, msgs, bytes, ntf);
	put_line(1, line, 0);
}

static const char *prompt(const struct top *t)
{
	return t->edit == EDIT_FILTER ? "Filter (service substring or =domid; Esc clears): "
				      : "Interval in seconds: ";
}

/* Line 2: the prompt being typed, else the last message. */
static void draw_prompt(const struct top *t)
{
	char line[128];

	if (t->edit)
		snprintf(line, sizeof line, "%s%s", prompt(t), t->ebuf);
	else
		snprintf(line, sizeof line, "%s", t->msg ? t->msg : "");
	put_line(2, line, t->msg && !t->edit ? A_BOLD : 0);
	if (t->edit)
		curs_set(1);
}

static void draw_cells(const struct top *t, int y, const void *row, const int *w)
{
	const struct view *v = &views[t->view];
	char cell[CELL], out[CELL];
	int x = 0;

	for (size_t i = 0; i < v->ncols; i++) {
		if (!w[i])
			continue;
		if (row)
			v->cols[i].fmt(t, row, v->cols[i].arg, w[i], cell, sizeof cell);
		fit(out, sizeof out, row ? cell : v->cols[i].title, w[i], v->cols[i].left);
		int a = row && v->cols[i].attr ? v->cols[i].attr(row) : 0;
		attron(a);
		mvaddstr(y, x, out);
		attroff(a);
		x += w[i] + 1;
	}
}

static void draw_table(struct top *t)
{
	const struct view *v = &views[t->view];
	int w[MAX_COLS] = { 0 }, y0 = 4, rows = LINES - 1 - y0;

	layout(v->cols, v->ncols, COLS, w);
	put_line(y0 - 1, "", A_REVERSE);
	attron(A_REVERSE);
	draw_cells(t, y0 - 1, NULL, w);
	attroff(A_REVERSE);
	if (t->first + (size_t)rows > t->nshown)
		t->first = t->nshown > (size_t)rows ? t->nshown - (size_t)rows : 0;
	for (int i = 0; i < rows && t->first + (size_t)i < t->nshown; i++)
		draw_cells(t, y0 + i, t->shown[t->first + (size_t)i], w);
	if (!t->nshown)
		mvaddnstr(y0, 0, t->filter.text[0] ? "(nothing matches the filter)" : "(none)",
			  COLS);
}

/* ---- keys ---- */

static void k_quit(struct top *t, int key)
{
	(void)key;
	t->quit = true;
}

static void k_help(struct top *t, int key)
{
	(void)key;
	t->help = true;
}

static void k_sort(struct top *t, int key)
{
	size_t n = views[t->view].nkeys;

	t->sort[t->view] = (t->sort[t->view] + (key == '>' ? 1 : n - 1)) % n;
	t->reverse[t->view] = false; /* a new key starts in its natural order */
}

static void k_reverse(struct top *t, int key)
{
	(void)key;
	t->reverse[t->view] = !t->reverse[t->view];
}

static void k_pause(struct top *t, int key)
{
	(void)key;
	t->paused = !t->paused;
	t->next_scan = now_ms(); /* resuming scans at once */
}

static void k_view(struct top *t, int key)
{
	(void)key;
	t->view = t->view == VIEW_CHANS ? VIEW_DOMS : VIEW_CHANS;
	t->first = 0;
}

static void set_interval(struct top *t, double s)
{
	t->next_scan += (int64_t)llround((s - t->interval) * 1000);
	t->interval = s;
}

/* + and - step through the usual intervals. */
static void k_interval(struct top *t, int key)
{
	static const double steps[] = { 0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 30, 60 };
	double s = t->interval;

	for (size_t i = 0; key == '+' && i < ARRAY_SIZE(steps) && s == t->interval; i++)
		s = steps[i] > t->interval + 1e-9 ? steps[i] : s;
	for (size_t i = ARRAY_SIZE(steps); key == '-' && i-- > 0 && s == t->interval;)
		s = steps[i] < t->interval - 1e-9 ? steps[i] : s;
	set_interval(t, s);
}

static void k_edit(struct top *t, int key)
{
	t->edit = key == '/' ? EDIT_FILTER : EDIT_INTERVAL;
	t->ebuf[0] = 0;
	if (key == '/')
		snprintf(t->ebuf, sizeof t->ebuf, "%s", t->filter.text);
}

static void k_scroll(struct top *t, int key)
{
	size_t page = LINES > 6 ? (size_t)LINES - 6 : 1,
	       d = key == KEY_UP || key == KEY_DOWN ? 1 : page;

	if (key == KEY_HOME)
		t->first = 0;
	else if (key == KEY_END)
		t->first = t->nshown;
	else if (key == KEY_UP || key == KEY_PPAGE)
		t->first = t->first > d ? t->first - d : 0;
	else
		t->first += d;
}

static void k_redraw(struct top *t, int key)
{
	(void)t, (void)key;
	clear();
}

/* The keys, and the help screen's text. */
static const struct key {
	int key;
	void (*fn)(struct top *t, int key);
	const char *names, *help; /* NULL: an alias of the key above */
} keys[] = {
	{ 'q', k_quit, "q", "quit" },
	{ 'h', k_help, "h ?", "this help" },
	{ '?', k_help, NULL, NULL },
	{ '<', k_sort, "< >", "sort by the previous / next key" },
	{ '>', k_sort, NULL, NULL },
	{ 'r', k_reverse, "r", "reverse the order" },
	{ '/', k_edit, "/", "filter: service substring, or =N for domain N (Esc clears)" },
	{ 'p', k_pause, "p space", "pause: no new scans, the display frozen" },
	{ ' ', k_pause, NULL, NULL },
	{ '+', k_interval, "+ -", "longer / shorter refresh interval" },
	{ '-', k_interval, NULL, NULL },
	{ 'i', k_edit, "i", "type the refresh interval, in seconds" },
	{ 'd', k_view, "d", "channels / per-domain view" },
	{ KEY_UP, k_scroll, "arrows", "scroll; also PgUp PgDn Home End" },
	{ KEY_DOWN, k_scroll, NULL, NULL },
	{ KEY_PPAGE, k_scroll, NULL, NULL },
	{ KEY_NPAGE, k_scroll, NULL, NULL },
	{ KEY_HOME, k_scroll, NULL, NULL },
	{ KEY_END, k_scroll, NULL, NULL },
	{ 12, k_redraw, "^L", "redraw" },
	{ 0, NULL, NULL, NULL },
};

static void draw_help(const struct top *t)
{
	const struct view *v = &views[t->view];
	char line[160];
	int y = 0;

	put_line(y++, "ivc-top - keys (any key returns)", A_BOLD);
	for (size_t i = 0; keys[i].fn; i++) {
		if (!keys[i].help)
			continue;
		snprintf(line, sizeof line, "  %-8s %s", keys[i].names, keys[i].help);
		put_line(y++, line, 0);
	}
	snprintf(line, sizeof line,
		 "  Sort keys of the %s view (again: the other order):", v->what);
	put_line(y++, line, 0);
	line[0] = 0;
	for (size_t i = 0; i < v->nkeys; i++) {
		size_t len = strlen(line);
		if (len && (int)len + 16 > COLS) {
			put_line(y++, line, 0);
			line[0] = 0, len = 0;
		}
		snprintf(line + len, sizeof line - len, "    %c %s", v->keys[i].key,
			 v->keys[i].name);
	}
	put_line(y++, line, 0);
	put_line(++y, "  >C: listener to client, >L: client to listener; ?: not read, -: not", 0);
	put_line(++y, "  known yet (first sight) or absent. Every column: ivc-top(1).", 0);
}

static void draw(struct top *t)
{
	erase();
	curs_set(0);
	if (LINES < 6 || COLS < 24) {
		mvaddnstr(0, 0, "ivc-top: terminal too small", COLS - 1);
	} else if (t->help) {
		draw_help(t);
	} else {
		draw_header(t);
		draw_table(t);
		draw_prompt(t);
		put_line(LINES - 1,
			 "h help  q quit  d domains  / filter  < > sort  r reverse  p pause  + - "
			 "interval",
			 A_DIM);
		if (t->edit)
			move(2, cells(prompt(t)) + (int)strlen(t->ebuf));
	}
	refresh();
}

/* A sort key's letter: that key, in its natural order; again, the other
 * order. */
static bool sort_letter(struct top *t, int key)
{
	const struct view *v = &views[t->view];

	for (size_t i = 0; i < v->nkeys; i++) {
		if (v->keys[i].key != key)
			continue;
		t->reverse[t->view] = t->sort[t->view] == i && !t->reverse[t->view];
		t->sort[t->view] = i;
		return true;
	}
	return false;
}

static void edit_done(struct top *t, bool cancel)
{
	double s;

	t->msg = NULL;
	if (t->edit == EDIT_FILTER) {
		parse_filter(&t->filter, cancel ? "" : t->ebuf);
		t->first = 0;
	} else if (!cancel && t->ebuf[0]) {
		if (parse_seconds(t->ebuf, &s))
			set_interval(t, s);
		else
			t->msg = "Not an interval: give seconds, 0.01 to 86400";
	}
	t->edit = EDIT_NONE;
}

static void edit_key(struct top *t, int key)
{
	size_t len = strlen(t->ebuf);

	if (key == 27)
		edit_done(t, true);
	else if (key == '\n' || key == '\r' || key == KEY_ENTER)
		edit_done(t, false);
	else if ((key == KEY_BACKSPACE || key == 127 || key == 8) && len)
		t->ebuf[len - 1] = 0;
	else if (key >= 0x20 && key < 0x7f && len + 1 < sizeof t->ebuf)
		t->ebuf[len] = (char)key, t->ebuf[len + 1] = 0;
}

static void on_key(struct top *t, int key)
{
	if (key == KEY_RESIZE) {
		clear();
		return;
	}
	if (t->help) {
		t->help = false;
		return;
	}
	if (t->edit) {
		edit_key(t, key);
		refresh_view(t);
		return;
	}
	t->msg = NULL;
	for (size_t i = 0; keys[i].fn; i++)
		if (keys[i].key == key) {
			keys[i].fn(t, key);
			refresh_view(t);
			return;
		}
	if (!sort_letter(t, key))
		t->msg = "Unknown key: h for help";
	refresh_view(t);
}

static void curses_start(void)
{
	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(1, COLOR_GREEN, -1);
		init_pair(2, COLOR_YELLOW, -1);
		init_pair(3, COLOR_RED, -1);
	}
}

static int interactive(struct top *t)
{
	int err = 0;

	curses_start();
	t->next_scan = now_ms() + (int64_t)llround(t->interval * 1000);
	draw(t);
	while (!t->quit && !stop_signal) {
		int64_t wait = t->paused ? 500 : t->next_scan - now_ms();
		timeout(wait < 0 ? 0 : wait > 500 ? 500 : (int)wait);
		int key = getch();
		if (key != ERR)
			on_key(t, key);
		if (!t->paused && now_ms() >= t->next_scan) {
			if (t->iters >= 0 && --t->iters <= 0)
				break;
			if ((err = scan(t)))
				break;
			t->next_scan += (int64_t)llround(t->interval * 1000);
			if (t->next_scan < now_ms())
				t->next_scan = now_ms();
		} else if (key == ERR) {
			continue;
		}
		draw(t);
	}
	endwin();
	if (err)
		fprintf(stderr, "ivc-top: scan: %s\n", strerror(-err));
	return err ? EXIT_FAIL : EXIT_OK;
}

/* ---- the command line ---- */

static void usage(FILE *f)
{
	fprintf(f, "usage: ivc-top [-d SECONDS] [-n ITER] [-s KEY] [-r] [-f FILTER]\n"
		   "       ivc-top -b [--json] [-d SECONDS] [-n ITER] [-s KEY] [-r] [-f FILTER]\n"
		   "libIVC's channels, live (in dom0; in sim: ivc-sim run --domid 0 -- ivc-top).\n"
		   "  -b, --batch           plain text, no screen handling, one table per scan\n"
		   "      --json            JSON Lines: one document per scan (implies -b)\n"
		   "  -d, --delay SECONDS   between scans (default 1; fractions allowed)\n"
		   "  -n, --iterations N    scans before exiting (default: forever)\n"
		   "  -s, --sort KEY        service type listener client state fill msgs/s\n"
		   "                        bytes/s notifies/s age (default bytes/s)\n"
		   "  -r, --reverse         the other order\n"
		   "  -f, --filter TEXT     service names containing TEXT; =N: domain N's\n"
		   "  -h, --help            this help;  --version: the version\n"
		   "Keys on screen: h. Exit status: 0 ok, 1 runtime error, 64 usage.\n");
}

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "ivc-top: %s: %s\n", what, arg);
	usage(stderr);
	return EXIT_USAGE;
}

static bool parse_iters(const char *s, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 1)
		return false;
	*out = v;
	return true;
}

/* -1 to run, else the exit status. */
static int parse_args(struct top *t, int argc, char **argv, bool *batch_mode)
{
	enum { OPT_JSON = 256, OPT_VERSION };
	static const struct option opts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "filter", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "+bd:n:s:rf:h", opts, NULL)) != -1) {
		if (o == 'b' || o == OPT_JSON)
			*batch_mode = true, t->json |= o == OPT_JSON;
		else if (o == 'd' && !parse_seconds(optarg, &t->interval))
			return usage_error("-d: not a number of seconds (0.01 to 86400)", optarg);
		else if (o == 'n' && !parse_iters(optarg, &t->iters))
			return usage_error("-n: not a positive count", optarg);
		else if (o == 's' && !find_sortkey(t, VIEW_CHANS, optarg))
			return usage_error("-s: no such sort key", optarg);
		else if (o == 'r')
			t->reverse[VIEW_CHANS] = true;
		else if (o == 'f')
			parse_filter(&t->filter, optarg);
		else if (o == 'h')
			return usage(stdout), EXIT_OK;
		else if (o == OPT_VERSION)
			return printf("ivc-top (libIVC) %d.%d\n", IVC_VERSION_MAJOR,
				      IVC_VERSION_MINOR),
			       EXIT_OK;
		else if (o == '?' || o == ':')
			return usage(stderr), EXIT_USAGE;
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	return -1;
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* The platform, the monitor and the first scan: any failure says what
 * to do about it. */
static int start(struct top *t)
{
	int err = ivc_open(&t->ctx, NULL);

	if (err) {
		fprintf(stderr,
			"ivc-top: no XenStore: %s (run it in dom0 of a Xen host, or in sim: "
			"ivc-sim run --domid 0 -- ivc-top)\n",
			strerror(-err));
		return EXIT_FAIL;
	}
	if ((err = ivc_mon_open(t->ctx, &t->mon))) {
		fprintf(stderr, "ivc-top: %s: %s\n",
			err == -EACCES || err == -EPERM ? "monitoring needs dom0" : "ivc_mon_open",
			strerror(-err));
		return EXIT_FAIL;
	}
	if ((err = scan(t))) {
		fprintf(stderr, "ivc-top: scan: %s\n", strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static void finish(struct top *t)
{
	if (t->mon)
		ivc_mon_close(t->mon);
	if (t->ctx)
		ivc_close(t->ctx);
	free(t->hist), free(t->byid), free(t->rows), free(t->doms), free(t->shown);
}

int main(int argc, char **argv)
{
	static struct top t = { .interval = 1, .iters = -1 };
	bool batch_mode = false;
	int rc;

	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C"); /* JSON and scripts want 0.5, not 0,5 */
	find_sortkey(&t, VIEW_CHANS, "bytes/s");
	find_sortkey(&t, VIEW_DOMS, "domid");
	rc = parse_args(&t, argc, argv, &batch_mode);
	if (rc >= 0)
		return rc;
#ifdef IVC_TOP_WIDE
	t.utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
#endif
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	rc = start(&t);
	if (rc == EXIT_OK)
		rc = batch_mode ? batch(&t) : interactive(&t);
	finish(&t);
	return rc;
}
