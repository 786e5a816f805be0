/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

_Static_assert(IVC_CORE_EBADF == EBADF && IVC_CORE_EAGAIN == EAGAIN && IVC_CORE_EINVAL == EINVAL &&
		   IVC_CORE_EPIPE == EPIPE && IVC_CORE_EPROTO == EPROTO &&
		   IVC_CORE_EMSGSIZE == EMSGSIZE && IVC_CORE_EPROTONOSUPPORT == EPROTONOSUPPORT &&
		   IVC_CORE_ECONNRESET == ECONNRESET && IVC_CORE_ECONNREFUSED == ECONNREFUSED,
	       "core error codes are Linux errno values");

#define PG IVC_WIRE_PAGE_SIZE

int th_pair_create(struct th_pair *p, const struct ivc_core_params *params)
{
	size_t len[3], off;

	memset(p, 0, sizeof *p);
	p->efd[0] = p->efd[1] = -1;
	p->params = *params;
	if (ivc_core_params_check(&p->params))
		return -EINVAL;
	len[0] = (size_t)p->params.ctrl_pages * PG;
	len[1] = ivc_core_ring_bytes(&p->params, 0);
	len[2] = ivc_core_ring_bytes(&p->params, 1);
	/* guard | ctrl | guard | data0 | guard | data1 | guard */
	p->map_len = PG + len[0] + PG + len[1] + PG + len[2] + PG;
	p->map = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->map == MAP_FAILED)
		return -errno;
	off = 0;
	for (int i = 0; i < 3; i++) {
		mprotect(p->map + off, PG, PROT_NONE);
		off += PG;
		if (i == 0) {
			p->ctrl = p->map + off;
			p->ctrl_len = len[0];
		} else {
			p->data[i - 1] = len[i] ? p->map + off : NULL;
		}
		off += len[i];
	}
	mprotect(p->map + off, PG, PROT_NONE);
	for (int i = 0; i < 2; i++) {
		p->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->efd[i] < 0) {
			int err = -errno;
			th_pair_destroy(p);
			return err;
		}
	}
	return 0;
}

void th_pair_destroy(struct th_pair *p)
{
	for (int i = 0; i < 2; i++)
		if (p->efd[i] >= 0)
			close(p->efd[i]);
	if (p->map && p->map != MAP_FAILED)
		munmap(p->map, p->map_len);
	memset(p, 0, sizeof *p);
	p->efd[0] = p->efd[1] = -1;
}

int th_end_open(struct th_end *e, struct th_pair *p, unsigned side)
{
	struct ivc_core_params q;
	int r;

	memset(e, 0, sizeof *e);
	e->pair = p;
	e->side = side;
	if (side == 0)
		return ivc_core_create(&e->core, p->ctrl, p->ctrl_len, &p->params, p->data[0],
				       p->data[1]);
	r = ivc_core_read_params(p->ctrl, p->ctrl_len, &q);
	if (r)
		return r;
	return ivc_core_attach(&e->core, p->ctrl, p->ctrl_len, &q, p->data[0], p->data[1]);
}

void th_signal(struct th_end *e)
{
	uint64_t one = 1;

	if (write(e->pair->efd[e->side ^ 1], &one, sizeof one) != sizeof one)
		TH_FAIL("eventfd write: %s", strerror(errno));
	e->signals++;
}

void th_kick(struct th_end *e)
{
	if (ivc_core_notify_check(&e->core))
		th_signal(e);
}

int th_wait(struct th_end *e, int timeout_ms)
{
	struct pollfd pfd = { .fd = e->pair->efd[e->side], .events = POLLIN };
	uint64_t v;
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		TH_FAIL("poll: %s", strerror(errno));
	if (r == 0)
		return -ETIMEDOUT;
	/* Reading clears the count: the eventfd is a sticky pending bit. */
	if (read(pfd.fd, &v, sizeof v) < 0 && errno != EAGAIN)
		TH_FAIL("eventfd read: %s", strerror(errno));
	e->wakeups++;
	return 0;
}

int th_io(struct th_end *e, enum th_op op, void *buf, size_t len, int timeout_ms)
{
	for (;;) {
		unsigned ev = op == TH_SEND || op == TH_WRITE ? IVC_CORE_WAIT_TX : IVC_CORE_WAIT_RX;
		int r, w;

		switch (op) {
		case TH_SEND:
			r = ivc_core_send(&e->core, buf, len);
			break;
		case TH_RECV:
			r = ivc_core_recv(&e->core, buf, len);
			break;
		case TH_WRITE:
			r = ivc_core_write(&e->core, buf, len);
			break;
		default:
			r = ivc_core_read(&e->core, buf, len);
			break;
		}
		if (r != -EAGAIN) {
			th_kick(e);
			return r;
		}
		w = ivc_core_prepare_wait(&e->core, ev, op == TH_SEND ? len : 1);
		if (w < 0)
			return w;
		if (w == 1 && th_wait(e, timeout_ms) < 0)
			return -ETIMEDOUT;
	}
}

void th_close(struct th_end *e)
{
	ivc_core_close(&e->core);
	th_signal(e);
}

static uint8_t pattern[TH_PATTERN_LEN];

const uint8_t *th_pattern(void)
{
	if (!pattern[0] && !pattern[1]) {
		uint64_t s = 0x9e3779b97f4a7c15ull;
		for (size_t i = 0; i < TH_PATTERN_LEN; i++)
			pattern[i] = (uint8_t)(th_rand(&s) >> 56);
		pattern[0] |= 1;
	}
	return pattern;
}

void th_pattern_fill(uint8_t *dst, uint64_t pos, size_t len)
{
	const uint8_t *pat = th_pattern();
	size_t off = pos % TH_PATTERN_LEN;

	while (len) {
		size_t n = TH_PATTERN_LEN - off < len ? TH_PATTERN_LEN - off : len;
		memcpy(dst, pat + off, n);
		dst += n;
		len -= n;
		off = 0;
	}
}

int th_pattern_check(const uint8_t *buf, uint64_t pos, size_t len)
{
	const uint8_t *pat = th_pattern();
	size_t off = pos % TH_PATTERN_LEN;

	while (len) {
		size_t n = TH_PATTERN_LEN - off < len ? TH_PATTERN_LEN - off : len;
		if (memcmp(buf, pat + off, n))
			return 0;
		buf += n;
		len -= n;
		off = 0;
	}
	return 1;
}
