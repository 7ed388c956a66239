/*
 * Logging for signetd: one line per event, key=value after the message,
 * to stderr (with a timestamp) or syslog.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "parent.h"

static const char *log_ident = "signetd";
static int log_syslog, log_debug_on;

void
log_init(const char *ident, int to_syslog, int debug)
{
	log_ident = ident;
	log_syslog = to_syslog;
	log_debug_on = debug;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void __attribute__((format(printf, 3, 0)))
vlog(int pri, const char *level, const char *fmt, va_list ap, int with_errno)
{
	char msg[1024], ts[32];
	int saved = errno;
	struct timespec now;
	struct tm tm;
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, " error=\"%s\"",
		    strerror(saved));
	}
	if (log_syslog) {
		syslog(pri, "level=%s %s", level, msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s[%ld] level=%s %s\n", ts, log_ident,
	    (long)getpid(), level, msg);
}

#define LOGFN(name, pri, level, err) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		vlog(pri, level, fmt, ap, err); \
		va_end(ap); \
	}
LOGFN(log_info, LOG_INFO, "info", 0)
LOGFN(log_warnx, LOG_WARNING, "warn", 0)
LOGFN(log_warn, LOG_WARNING, "warn", 1)
#undef LOGFN

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, "debug", fmt, ap, 0);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal", fmt, ap, 1);
	va_end(ap);
	exit(1);
}
