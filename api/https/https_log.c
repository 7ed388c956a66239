/*
 * Logging for signet-https: one key=value line per event on stderr, which
 * the parent collects (to its own stderr or syslog).  Front ends never log
 * request bodies, tokens or CSRs, only what happened and to whom.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "https_local.h"

static int https_log_verbose;

void
https_log_init(int debug)
{
	https_log_verbose = debug;
}

static void __attribute__((format(printf, 2, 0)))
https_vlog(const char *level, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "signet-https[%ld]: level=%s %s\n", (long)getpid(),
	    level, line);
}

void
https_log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	https_vlog("info", fmt, ap);
	va_end(ap);
}

void
https_log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	https_vlog("warn", fmt, ap);
	va_end(ap);
}

void
https_log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!https_log_verbose)
		return;
	va_start(ap, fmt);
	https_vlog("debug", fmt, ap);
	va_end(ap);
}

uint64_t
https_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
