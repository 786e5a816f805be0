/* SPDX-License-Identifier: MIT */
/*
 * check.h - the one assertion of the test programs. CHECK_EQ(expr, want)
 * evaluates both once, as integers; when they differ it calls the
 * program's own fail(fmt, ...) (which must not return) with the place,
 * the expression, both values and, for a negative errno, its name.
 * Define fail before including this.
 */
#ifndef IVC_TEST_CHECK_H
#define IVC_TEST_CHECK_H

#include <string.h>

#define CHECK_EQ(expr, want)                                                                       \
	do {                                                                                       \
		long long got_ = (long long)(expr), want_ = (long long)(want);                     \
		if (got_ != want_)                                                                 \
			fail("%s:%d: %s = %lld (%s), expected %lld", __FILE__, __LINE__, #expr,    \
			     got_, got_ < 0 ? strerror((int)-got_) : "", want_);                   \
	} while (0)

#endif
