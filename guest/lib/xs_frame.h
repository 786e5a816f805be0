/* SPDX-License-Identifier: MIT */
/*
 * xs_frame.h - what the guest reads from xenstored, taken apart without
 * trusting it: messages cut out of the ring's byte stream, watch events,
 * directory listings, permissions and numbers. Pure code (no ring, no
 * hypercall), so that a host program fuzzes it (tests/fuzz).
 */
#ifndef GUEST_XS_FRAME_H
#define GUEST_XS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

struct xs_frame {
	uint32_t got; /* bytes of the current message so far */
	struct xsd_sockmsg hdr;
	char body[XENSTORE_PAYLOAD_MAX + 1]; /* NUL after the payload */
	bool broken;                         /* a header said more than XENSTORE_PAYLOAD_MAX */
};

typedef void xs_deliver_fn(const struct xsd_sockmsg *hdr, const char *body, void *arg);

/* Takes n bytes of the stream; calls deliver for each whole message
 * (body[hdr->len] is NUL). 0, or -EIO once the stream makes no sense:
 * then nothing more is taken. */
int xs_frame_feed(struct xs_frame *f, const char *data, size_t n, xs_deliver_fn *deliver,
		  void *arg);

/* A watch event's payload: "path\0token\0". 0, or -EIO. */
int xs_frame_event(const char *body, uint32_t len, const char **path, const char **token);

/* Decimal, digits only, no leading zero but "0", at most max. 0 or -EINVAL. */
int xs_frame_u32(const char *s, uint32_t max, uint32_t *v);

/* A directory listing (names each followed by NUL) or a permission list
 * ("<n|r|w|b><domid>" each followed by NUL): the count of entries, or
 * -EIO. With out non-NULL, fills out[count]: pointers into body for a
 * listing; for permissions, domid and XenStore's letter as bits (r 1,
 * w 2, b 3, n 0). */
int xs_frame_dir(const char *body, uint32_t len, const char **out, unsigned max);
int xs_frame_perms(const char *body, uint32_t len, uint32_t (*out)[2], unsigned max);

#endif
