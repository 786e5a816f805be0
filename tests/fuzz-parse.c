/* SPDX-License-Identifier: MIT */
/*
 * fuzz-parse.c - libFuzzer on the parsers of spec Appendix B. The first
 * byte picks the parser, the rest is the string. Oracle: whatever a
 * parser accepts prints back to the very same string (so it accepted
 * exactly the grammar's canonical form), and values respect their range.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[256], back[512];
	uint32_t v = 0, refs[IVC_WIRE_MAX_CTRL_PAGES], n = 0;
	struct ivc_request rq;

	if (size < 1 || size > sizeof s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	back[0] = 0;
	switch (data[0] % 5) {
	case 0:
		if (ivc__parse_u32(s, UINT32_MAX, &v))
			return 0;
		snprintf(back, sizeof back, "%u", v);
		break;
	case 1:
		if (ivc__parse_u32(s, IVC_DOMID_MAX, &v))
			return 0;
		if (v > IVC_DOMID_MAX)
			abort();
		snprintf(back, sizeof back, "%u", v);
		break;
	case 2:
		if (ivc__parse_id(s, &v))
			return 0;
		snprintf(back, sizeof back, "%u-%s", v, strchr(s, '-') + 1);
		break;
	case 3:
		if (ivc__parse_request(s, &rq))
			return 0;
		snprintf(back, sizeof back, "type=%s version=%u mode=%s dir=%s", rq.type,
			 rq.version, rq.mode, rq.dir);
		break;
	default:
		if (ivc__parse_refs(s, refs, &n))
			return 0;
		if (n < 1 || n > IVC_WIRE_MAX_CTRL_PAGES)
			abort();
		for (uint32_t i = 0; i < n; i++)
			snprintf(back + strlen(back), sizeof back - strlen(back), "%s%u",
				 i ? "," : "", refs[i]);
	}
	if (strcmp(back, s))
		abort(); /* accepted something that is not the canonical form */
	return 0;
}
