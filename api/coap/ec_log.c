/*
 * Logging of signet-coap: one line per event, "key=value" after the
 * message, to stderr (signetd collects its children's stderr).  libcoap's
 * own messages are routed here too so they share the format.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include "ec_local.h"

static int ec_debug;

static void
coap_logger(coap_log_t level, const char *message)
{
	/* libcoap ends its messages with a newline; ours add one. */
	if ((int)level <= LOG_WARNING || ec_debug)
		fprintf(stderr, "signet-coap: libcoap: %s", message);
}

void
ec_log_init(int debug)
{
	ec_debug = debug;
	coap_set_log_handler(coap_logger);
	coap_set_log_level(debug ? LOG_DEBUG : LOG_WARNING);
	coap_dtls_set_log_level(debug ? LOG_INFO : LOG_ERR);
}

/*
 * One fprintf per line: stderr is unbuffered, so each call is a write(2)
 * of its own, and the other children write to the same file; a line
 * written in pieces came out interleaved with theirs.
 */
static void __attribute__((format(printf, 2, 0)))
ec_vlog(const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "signet-coap: %s%s\n", prefix, line);
}

void
ec_log(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio == LOG_DEBUG && !ec_debug)
		return;
	va_start(ap, fmt);
	ec_vlog("", fmt, ap);
	va_end(ap);
}

void
ec_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ec_vlog("fatal: ", fmt, ap);
	va_end(ap);
	exit(1);
}

int64_t
ec_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
