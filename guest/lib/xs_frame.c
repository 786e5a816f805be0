/* SPDX-License-Identifier: MIT */
/* xs_frame.c - see xs_frame.h. */
#include <errno.h>
#include <string.h>

#include "xs_frame.h"

int xs_frame_feed(struct xs_frame *f, const char *data, size_t n, xs_deliver_fn *deliver, void *arg)
{
	while (n && !f->broken) {
		size_t take;

		if (f->got < sizeof f->hdr) {
			take = sizeof f->hdr - f->got;
			take = take < n ? take : n;
			memcpy((char *)&f->hdr + f->got, data, take);
		} else {
			take = sizeof f->hdr + f->hdr.len - f->got;
			take = take < n ? take : n;
			memcpy(f->body + (f->got - sizeof f->hdr), data, take);
		}
		f->got += (uint32_t)take;
		data += take;
		n -= take;
		if (f->got == sizeof f->hdr && f->hdr.len > XENSTORE_PAYLOAD_MAX)
			f->broken = true;
		else if (f->got >= sizeof f->hdr && f->got == sizeof f->hdr + f->hdr.len) {
			f->body[f->hdr.len] = 0;
			f->got = 0;
			deliver(&f->hdr, f->body, arg);
		}
	}
	return f->broken ? -EIO : 0;
}

int xs_frame_event(const char *body, uint32_t len, const char **path, const char **token)
{
	const char *end = body + len, *nul = memchr(body, 0, len);

	if (!nul || !memchr(nul + 1, 0, (size_t)(end - nul - 1)))
		return -EIO;
	*path = body;
	*token = nul + 1;
	return 0;
}

int xs_frame_u32(const char *s, uint32_t max, uint32_t *v)
{
	uint64_t x = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
		if (x > max)
			return -EINVAL;
	}
	*v = (uint32_t)x;
	return 0;
}

/* Each entry ends in NUL; the payload ends with the last one (an empty
 * payload is no entry). */
static int each(const char *body, uint32_t len, int (*fn)(const char *e, unsigned i, void *arg),
		void *arg)
{
	unsigned n = 0;

	if (len && body[len - 1])
		return -EIO;
	for (uint32_t at = 0; at < len; n++) {
		const char *e = body + at;
		size_t l = strlen(e);
		if (fn && fn(e, n, arg))
			return -EIO;
		at += (uint32_t)l + 1;
	}
	return (int)n;
}

struct dir_out {
	const char **out;
	unsigned max;
};

static int dir_one(const char *e, unsigned i, void *arg)
{
	struct dir_out *d = arg;

	if (!*e)
		return -EIO;
	if (d->out && i < d->max)
		d->out[i] = e;
	return 0;
}

int xs_frame_dir(const char *body, uint32_t len, const char **out, unsigned max)
{
	struct dir_out d = { out, max };

	return each(body, len, dir_one, &d);
}

struct perm_out {
	uint32_t (*out)[2];
	unsigned max;
};

static int perm_one(const char *e, unsigned i, void *arg)
{
	struct perm_out *p = arg;
	const char *letters = "nrwb", *at = *e ? strchr(letters, e[0]) : NULL;
	uint32_t dom;

	if (!at || xs_frame_u32(e + 1, 0xffff, &dom))
		return -EIO;
	if (p->out && i < p->max) {
		p->out[i][0] = dom;
		p->out[i][1] = (uint32_t)(at - letters);
	}
	return 0;
}

int xs_frame_perms(const char *body, uint32_t len, uint32_t (*out)[2], unsigned max)
{
	struct perm_out p = { out, max };
	int n = each(body, len, perm_one, &p);

	return n == 0 ? -EIO : n; /* a node always has an owner */
}
