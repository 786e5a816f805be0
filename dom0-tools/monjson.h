/* SPDX-License-Identifier: MIT */
/* monjson.h - a monitoring snapshot as JSON (docs/ivc-top-json.md). */
#ifndef IVC_MONJSON_H
#define IVC_MONJSON_H

#include <ivc.h>
#include <stddef.h>
#include <stdio.h>

/* Bytes of the UTF-8 sequence at p (of n), 0 if it is not valid. */
size_t mj_utf8_len(const unsigned char *p, size_t n);
/* s, at most max bytes, as a JSON string (invalid UTF-8: U+FFFD). */
void mj_str(FILE *f, const char *s, size_t max);
/* A document's opening: {"version":1,"platform":...,"time_ms":...,"wall_ms":... */
void mj_head(FILE *f, const char *platform, const struct ivc_mon_snap *s);
void mj_service(FILE *f, const struct ivc_mon_service *s);
/* A channel object without its closing '}'. */
void mj_chan(FILE *f, const struct ivc_mon_chan *c);

#endif
