/* SPDX-License-Identifier: MIT */
/*
 * fuzz-parse.c - libFuzzer on the parsers of spec Appendix B and of the
 * brokered mode's records (9.11.9). The first
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
	struct ivc_listen_rec lr;
	struct ivc_connect_rec cr;
	struct ivc_cend_rec ce;
	struct ivc_lend_rec le;
	struct ivc_offer_rec of;
	struct ivc_monitor_rec mr;
	const struct ivc_svc_rec *sv;

	if (size < 1 || size > sizeof s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	back[0] = 0;
	switch (data[0] % 10) {
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
	case 5:
		if (ivc__parse_listen(s, &lr))
			return 0;
		if (lr.backlog < 1 || lr.backlog > IVC_BACKLOG_MAX || lr.port == 0)
			abort();
		sv = &lr.svc;
		snprintf(back, sizeof back,
			 "op=listen name=%s type=%s version=%u mode=%s dir=%s ring0-bytes=%u "
			 "ring1-bytes=%u ring0-max-msg=%u ring1-max-msg=%u backlog=%u port=%u",
			 sv->name, sv->t.type, sv->t.version, sv->t.mode, sv->t.dir, sv->ring[0],
			 sv->ring[1], sv->max[0], sv->max[1], lr.backlog, lr.port);
		break;
	case 6: {
		char server[16];
		if (ivc__parse_connect(s, &cr))
			return 0;
		if (cr.server != IVC_DOMID_ANY && cr.server > IVC_DOMID_MAX)
			abort();
		if (cr.server == IVC_DOMID_ANY)
			snprintf(server, sizeof server, "any");
		else
			snprintf(server, sizeof server, "%u", cr.server);
		snprintf(back, sizeof back,
			 "op=connect server=%s name=%s type=%s version=%u mode=%s dir=%s min0=%u "
			 "min1=%u min-msg=%u port=%u",
			 server, cr.name, cr.t.type, cr.t.version, cr.t.mode, cr.t.dir, cr.min[0],
			 cr.min[1], cr.min_msg, cr.port);
		if (cr.port == 0)
			abort();
		break;
	}
	case 7: /* the daemon's end records */
		if (!ivc__parse_lend(s, &le)) {
			if (le.peer > IVC_DOMID_MAX || le.port == 0)
				abort();
			snprintf(back, sizeof back, "role=listener listen=%s peer=%u port=%u",
				 le.listen, le.peer, le.port);
			break;
		}
		if (ivc__parse_cend(s, &ce))
			return 0;
		if (ce.peer > IVC_DOMID_MAX || ce.port == 0)
			abort();
		sv = &ce.svc;
		snprintf(back, sizeof back,
			 "role=client peer=%u port=%u name=%s type=%s version=%u mode=%s dir=%s "
			 "ring0-bytes=%u ring1-bytes=%u ring0-max-msg=%u ring1-max-msg=%u",
			 ce.peer, ce.port, sv->name, sv->t.type, sv->t.version, sv->t.mode,
			 sv->t.dir, sv->ring[0], sv->ring[1], sv->max[0], sv->max[1]);
		break;
	case 8:
		if (ivc__parse_offer(s, &of))
			return 0;
		if (of.port == 0)
			abort();
		snprintf(back, sizeof back, "ring-ref=%s event-channel=%u", of.refs, of.port);
		break;
	case 9:
		if (ivc__parse_monitor(s, &mr))
			return 0;
		snprintf(back, sizeof back, "ctrl-ref=%u type=%s version=%u", mr.ref, mr.type,
			 mr.version);
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
