/* SPDX-License-Identifier: MIT */
/*
 * test-parse.c - the parsers of what XenStore holds (spec Appendix B),
 * one case per class of bent input found by the outside hostile peer
 * (issue 14), and the round trip: whatever they accept prints back to the
 * same string.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static void u32(const char *s, uint32_t max, int want, uint32_t value)
{
	uint32_t v = 12345;
	int r = ivc__parse_u32(s, max, &v);

	if (r != want || (r == 0 && v != value))
		fail("parse_u32(\"%s\", %u) = %d (%u), want %d (%u)", s, max, r, v, want, value);
}

static void id(const char *s, int want, uint32_t dom)
{
	uint32_t d = 7;
	int r = ivc__parse_id(s, &d);

	if (r != want || (r == 0 && d != dom))
		fail("parse_id(\"%s\") = %d (%u), want %d", s, r, d, want);
}

static void request(const char *s, int want)
{
	struct ivc_request rq;
	int r = ivc__parse_request(s, &rq);
	char back[256];

	if (r != want)
		fail("parse_request(\"%s\") = %d, want %d", s, r, want);
	if (r == 0) {
		snprintf(back, sizeof back, "type=%s version=%u mode=%s dir=%s", rq.type,
			 rq.version, rq.mode, rq.dir);
		if (strcmp(back, s))
			fail("parse_request(\"%s\") prints back as \"%s\"", s, back);
	}
}

static void refs(const char *s, int want, uint32_t n)
{
	uint32_t r[IVC_WIRE_MAX_CTRL_PAGES], k = 0;
	int e = ivc__parse_refs(s, r, &k);

	if (e != want || (e == 0 && k != n))
		fail("parse_refs(\"%s\") = %d (%u refs), want %d (%u)", s, e, k, want, n);
}

static void monitor(const char *s, int want, uint32_t ref)
{
	struct ivc_monitor_rec r = { 0 };
	int e = ivc__parse_monitor(s, &r);

	if (e != want || (e == 0 && r.ref != ref))
		fail("parse_monitor(\"%s\") = %d (ref %u), want %d (%u)", s, e, r.ref, want, ref);
}

int main(void)
{
	/* Numbers: 2^32 and more, signs, spaces, leading zeros, trailing
	 * text, empty, and the range. */
	u32("0", UINT32_MAX, 0, 0);
	u32("4096", UINT32_MAX, 0, 4096);
	u32("4294967295", UINT32_MAX, 0, 4294967295u);
	u32("4294967296", UINT32_MAX, -EPROTO, 0);
	u32("4294971392", UINT32_MAX, -EPROTO, 0);
	u32("99999999999", UINT32_MAX, -EPROTO, 0);
	u32("+4096", UINT32_MAX, -EPROTO, 0);
	u32("-1", UINT32_MAX, -EPROTO, 0);
	u32(" 4096", UINT32_MAX, -EPROTO, 0);
	u32("4096 ", UINT32_MAX, -EPROTO, 0);
	u32("04096", UINT32_MAX, -EPROTO, 0);
	u32("00", UINT32_MAX, -EPROTO, 0);
	u32("4096x", UINT32_MAX, -EPROTO, 0);
	u32("0x10", UINT32_MAX, -EPROTO, 0);
	u32("", UINT32_MAX, -EPROTO, 0);
	u32("32751", IVC_DOMID_MAX, 0, 32751);
	u32("32752", IVC_DOMID_MAX, -EPROTO, 0);
	/* Request ids: the domain id of the name, the nonce. */
	id("3-1", 0, 3);
	id("0-0", 0, 0);
	id("32751-ffffffffffffffff", 0, 32751);
	id("4294967299-1", -EPROTO, 0);
	id("32752-1", -EPROTO, 0);
	id("03-1", -EPROTO, 0);
	id("3-01", -EPROTO, 0);
	id("3-ABC", -EPROTO, 0);
	id("3-12345678901234567", -EPROTO, 0);
	id("3-", -EPROTO, 0);
	id("-1", -EPROTO, 0);
	id("3-1-1", -EPROTO, 0);
	id("3", -EPROTO, 0);
	id("+3-1", -EPROTO, 0);
	/* Request values. */
	request("type=org.example.echo version=1 mode=message dir=inout", 0);
	request("type=t version=4294967295 mode=stream dir=in", 0);
	request("type=t version=4294967297 mode=message dir=inout", -EPROTO);
	request("type=t version=01 mode=message dir=inout", -EPROTO);
	request("type=t  version=1 mode=message dir=inout", -EPROTO);
	request("type=t version=1 mode=message dir=inout ", -EPROTO);
	request("type=t version=1 mode=message dir=inout x=1", -EPROTO);
	request("type=t version=1 dir=inout mode=message", -EPROTO);
	request("type=t/x version=1 mode=message dir=inout", -EPROTO);
	request("type= version=1 mode=message dir=inout", -EPROTO);
	request("", -EPROTO);
	/* ring-ref lists. */
	refs("8", 0, 1);
	refs("8,9,10", 0, 3);
	refs("1,2,3,4,5,6,7,8,9", 0, 9);
	refs("1,2,3,4,5,6,7,8,9,10", -EPROTO, 0);
	refs("4294967304", -EPROTO, 0);
	refs("-1", -EPROTO, 0);
	refs("8,", -EPROTO, 0);
	refs(",8", -EPROTO, 0);
	refs("8,,9", -EPROTO, 0);
	refs("8 ,9", -EPROTO, 0);
	refs("", -EPROTO, 0);
	/* The listener presence value of spec 11.2. */
	monitor("ctrl-ref=8 type=org.libivc.echo version=1", 0, 8);
	monitor("", -ENOENT, 0);
	monitor("ctrl-ref=4294967304 type=t version=1", -EPROTO, 0);
	monitor("ctrl-ref=08 type=t version=1", -EPROTO, 0);
	monitor("ctrl-ref=8 type=t version=1 ", -EPROTO, 0);
	monitor("ctrl-ref=8  type=t version=1", -EPROTO, 0);
	monitor("ctrl-ref=8 type=a/b version=1", -EPROTO, 0);
	monitor("type=t ctrl-ref=8 version=1", -EPROTO, 0);
	monitor("ctrl-ref=8 type=t", -EPROTO, 0);
	if (failures)
		return 1;
	printf("ok - every parser of Appendix B, %s\n", "all cases");
	return 0;
}
