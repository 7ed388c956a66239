/*
 * Logging for signet-engine: one line per event, key=value after the
 * level, on stderr, which the parent collects.  Nothing secret is ever
 * passed here: callers log names, serials and reasons, never PINs or
 * token secrets.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <signet/engine.h>

static const char *ca_log_ident = "signet-engine";
static int ca_log_debug_on;

void
ca_log_init(const char *ident, int debug)
{
	if (ident != NULL)
		ca_log_ident = ident;
	ca_log_debug_on = debug;
}

static void __attribute__((format(printf, 2, 0)))
ca_vlog(const char *level, const char *fmt, va_list ap)
{
	char msg[1024], ts[32];
	struct timespec now;
	struct tm tm;
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s[%ld] level=%s %s\n", ts, ca_log_ident,
	    (long)getpid(), level, msg);
	errno = saved;
}

void
ca_log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ca_vlog("info", fmt, ap);
	va_end(ap);
}

void
ca_log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ca_vlog("warn", fmt, ap);
	va_end(ap);
}

void
ca_log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!ca_log_debug_on)
		return;
	va_start(ap, fmt);
	ca_vlog("debug", fmt, ap);
	va_end(ap);
}

void
ca_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ca_vlog("fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
