/* SPDX-License-Identifier: MIT */
/* log.c - messages to stderr or syslog, by syslog level. */
#define _GNU_SOURCE
#include <stdio.h>
#include <syslog.h>

#include "broker.h"

static int to = LOG_TO_STDERR, verbose = 6; /* LOG_INFO */

void log_setup(int where, int verbosity)
{
	to = where;
	verbose = verbosity;
	if (to == LOG_TO_SYSLOG)
		openlog("ivc-rendezvousd", LOG_PID, LOG_DAEMON);
}

void logmsg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > verbose)
		return;
	va_start(ap, fmt);
	if (to == LOG_TO_SYSLOG)
		vsyslog(level, fmt, ap);
	else {
		static const char *const tag[] = { "emerg",   "alert",  "crit", "error",
						   "warning", "notice", "info", "debug" };
		fprintf(stderr, "ivc-rendezvousd: %s: ", tag[level & 7]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
