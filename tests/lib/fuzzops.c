/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "fuzzops.h"

#include <errno.h>
#include <string.h>

#include "harness.h"

/* A 4 KiB ring each way fits every geometry the fuzzer picks. */
static struct th_pair pair;

struct input {
	const uint8_t *p;
	size_t n;
};

static uint32_t take(struct input *in, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v = v << 8 | (in->n ? *in->p : 0);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

static int is_err(int r, const int *ok)
{
	for (; *ok; ok++)
		if (r == -*ok)
			return 1;
	return 0;
}

static const int tx_errs[] = { EAGAIN, EMSGSIZE, EPIPE, ECONNRESET, EPROTO, EINVAL, EBADF, 0 };
static const int rx_errs[] = { EAGAIN, EMSGSIZE, EPIPE, ECONNRESET, EPROTO, EINVAL, EBADF, 0 };

static volatile uint32_t sink;

static void touch(const struct ivc_core_span *sp, int write)
{
	for (int i = 0; i < 2; i++)
		for (uint32_t j = 0; j < sp[i].len; j++) {
			if (write)
				sp[i].base[j] = (uint8_t)j;
			else
				sink += sp[i].base[j];
		}
}

void th_fuzz_one(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct ivc_core victim, peer;
	struct ivc_core_params p, q;
	struct ivc_wire_ctrl *w;
	struct ivc_core_span sp[2];
	uint8_t *buf;
	int sticky = 0, r;

	if (!pair.ctrl) {
		struct ivc_core_params g = { IVC_WIRE_MODE_STREAM, { 12, 12 }, { 0, 0 }, 0 };
		if (th_pair_create(&pair, &g))
			TH_FAIL("pair");
	}
	w = pair.ctrl;

	/* Geometry: mode, which rings exist, max message sizes. */
	uint32_t cfg = take(&in, 1);
	p.mode = cfg & 1;
	p.order[0] = (cfg & 6) == 2 ? 0 : 12;
	p.order[1] = (cfg & 6) == 4 ? 0 : 12;
	for (int i = 0; i < 2; i++)
		p.max_msg[i] = p.mode == IVC_WIRE_MODE_STREAM || !p.order[i]
				   ? 0
				   : take(&in, 2) % (4096 - 4 + 1);
	unsigned vside = (cfg >> 3) & 1;
	if (ivc_core_params_check(&p))
		TH_FAIL("fuzzer built bad params");

	/* Not zeroed: create and attach must set every field themselves (a
	 * bool left as it was once made UBSan fail at random). */
	memset(&victim, 0x6b, sizeof victim);
	memset(&peer, 0x6b, sizeof peer);
	/* Side 0 is honest at creation; then the hostile side may rewrite
	 * the header before a victim side 1 reads it. */
	TH_EQ(ivc_core_create(vside ? &peer : &victim, pair.ctrl, pair.ctrl_len, &p, pair.data[0],
			      pair.data[1]),
	      0);
	if (vside == 1) {
		unsigned k = take(&in, 1) % 4;
		for (unsigned i = 0; i < k; i++) {
			uint32_t off = take(&in, 1) % (sizeof(struct ivc_wire_header) / 4);
			((uint32_t *)w)[off] = take(&in, 4);
		}
		r = ivc_core_read_params(pair.ctrl, pair.ctrl_len, &q);
		if (r) {
			TH_CHECK(r == -EPROTO || r == -EPROTONOSUPPORT);
			return;
		}
		/* The header may say anything valid. A real side 1 maps the pages
		 * it names; this pair has one page a ring, so a header naming more
		 * ends the session (attaching would overrun the mapping). */
		for (unsigned i = 0; i < 2; i++)
			if (ivc_core_ring_bytes(&q, i) > IVC_WIRE_PAGE_SIZE)
				return;
		r = ivc_core_attach(&victim, pair.ctrl, pair.ctrl_len, &q, pair.data[0],
				    pair.data[1]);
		if (r)
			return;
		p = q;
	} else {
		TH_EQ(ivc_core_attach(&peer, pair.ctrl, pair.ctrl_len, &p, pair.data[0],
				      pair.data[1]),
		      0);
	}
	uint32_t rxmax = victim.rx.max_msg;
	struct ivc_wire_ring *vtx = &w->ring[vside], *vrx = &w->ring[vside ^ 1];

	while (in.n) {
		uint32_t op = take(&in, 1) % 14;
		uint32_t len = take(&in, 2) % 4200;

		switch (op) {
		case 0: /* victim send */
			buf = malloc(len + 1);
			memset(buf, 0x5a, len + 1);
			r = ivc_core_send(&victim, buf, len);
			free(buf);
			TH_CHECK(r == 0 || is_err(r, tx_errs));
			break;
		case 1: /* victim recv into exactly `len` bytes */
			buf = malloc(len ? len : 1);
			r = ivc_core_recv(&victim, buf, len);
			free(buf);
			TH_CHECK((r >= 0 && (uint32_t)r <= len && (uint32_t)r <= rxmax) ||
				 is_err(r, rx_errs));
			break;
		case 2: /* victim zero-copy read, touching every byte */
			r = ivc_core_peek(&victim, sp);
			if (r >= 0) {
				TH_CHECK((uint32_t)r <= rxmax &&
					 sp[0].len + sp[1].len == (uint32_t)r);
				touch(sp, 0);
				if (len & 1)
					TH_CHECK(ivc_core_consume(&victim) == 0 || sticky);
			} else {
				TH_CHECK(is_err(r, rx_errs));
			}
			break;
		case 3: /* victim zero-copy write */
			r = ivc_core_reserve(&victim, len, sp);
			if (r == 0) {
				TH_CHECK(sp[0].len + sp[1].len == len);
				touch(sp, 1);
				r = ivc_core_commit(&victim);
			}
			TH_CHECK(r == 0 || is_err(r, tx_errs));
			break;
		case 4: /* victim stream write */
			buf = calloc(1, len + 1);
			r = ivc_core_write(&victim, buf, len);
			free(buf);
			TH_CHECK((r >= 0 && (uint32_t)r <= len) || is_err(r, tx_errs));
			break;
		case 5: /* victim stream read */
			buf = malloc(len ? len : 1);
			r = ivc_core_read(&victim, buf, len);
			free(buf);
			TH_CHECK((r >= 0 && (uint32_t)r <= len) || is_err(r, rx_errs));
			break;
		case 6: { /* victim bookkeeping calls */
			struct ivc_core_stats st;
			(void)ivc_core_notify_check(&victim);
			(void)ivc_core_poll(&victim, 3, len);
			r = ivc_core_prepare_wait(&victim, 3, len);
			TH_CHECK(r == 0 || r == 1 || r == -EPROTO);
			ivc_core_get_stats(&victim, &st);
			TH_CHECK(st.tx_used <= st.tx_size && st.rx_used <= st.rx_size);
			r = ivc_core_peer(&victim);
			TH_CHECK((r >= 0 && r <= IVC_CORE_PEER_DEAD) || r == -EPROTO);
			break;
		}
		case 7: /* honest peer traffic, ignoring its own errors */
			buf = calloc(1, len + 1);
			(void)ivc_core_send(&peer, buf, len);
			(void)ivc_core_write(&peer, buf, len);
			free(buf);
			break;
		case 8:
			buf = malloc(4096);
			(void)ivc_core_recv(&peer, buf, 4096);
			(void)ivc_core_read(&peer, buf, 4096);
			free(buf);
			break;
		case 9: /* hostile: rewrite the peer's index or request counter */
		case 10: {
			uint32_t v = take(&in, 4);
			uint32_t *f[] = { &vrx->p.prod, &vtx->c.cons, &vrx->p.space_req,
					  &vtx->c.data_req };
			uint32_t *t = f[len % 4];
			/* Small moves are the interesting ones. */
			*t = op == 9 ? v : *t + (int32_t)(int8_t)v;
			break;
		}
		case 11: /* hostile: state bytes */
			((uint8_t *)&w->side[vside ^ 1])[len % 3] = (uint8_t)take(&in, 1) % 3;
			break;
		case 12: /* hostile: bytes in the victim's rx ring (headers) */
			if (pair.data[vside ^ 1] && p.order[vside ^ 1]) {
				uint8_t *d = pair.data[vside ^ 1];
				uint32_t at = (victim.rx.idx + (len & 7)) & 4095;
				d[at] = (uint8_t)take(&in, 1);
			}
			break;
		default: /* hostile: header after attach must not matter */
			((uint32_t *)w)[len % 8] = take(&in, 4);
			break;
		}
		/* A protocol error, once reported, is all the victim ever says. */
		if (victim.error) {
			TH_EQ(victim.error, -EPROTO);
			if (sticky) {
				buf = malloc(16);
				TH_EQ(ivc_core_send(&victim, buf, 1), -EPROTO);
				TH_EQ(ivc_core_recv(&victim, buf, 16), -EPROTO);
				free(buf);
			}
			sticky = 1;
		}
	}
}
