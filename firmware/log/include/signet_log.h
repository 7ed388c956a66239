/*
 * signet_log: the one log of every Signet daemon (signetd, signet-engine,
 * signet-https, signet-coap), after relayd and OpenSMTPD.
 *
 * One event is one line:
 *
 *	2026-12-06T09:10:35Z signet-https[4242] level=info msg="ready" k=v
 *
 * a UTC timestamp, the process and its pid, the level, then the caller's
 * key=value fields.  On syslog the timestamp, ident and pid are syslog's
 * and the line starts at level=.  Each line is written with one write(2)
 * of at most LOG_LINE_MAX bytes (<= PIPE_BUF), so that the children,
 * which share one stderr, never cut into each other's lines.  Control
 * bytes in a message are written as \xNN, a line that does not fit is cut
 * and ends in LOG_TRUNCATED.  Every function keeps errno.
 *
 * Daemons stop with fatal/fatalx only at start-up or on a broken
 * invariant (STYLE.md 10); per-request failures are answers, not exits.
 * Nothing secret is ever passed here: callers log names, serials and
 * reasons, never PINs, tokens, keys or request bodies.
 */
#ifndef SIGNET_LOG_H
#define SIGNET_LOG_H

#include <stddef.h>

#define LOG_LINE_MAX	2048		/* bytes of one line, newline included */
#define LOG_QUOTE_MAX	256		/* bytes of one log_quote() result */
#define LOG_QUOTE_SLOTS	8		/* log_quote() results alive at once */
#define LOG_REPORT_ENV	"SIGNET_REPORT_FD" /* fatal lines for signetd */
#define LOG_TRUNCATED	" [truncated]"	/* ends a line that was cut */

enum log_dest {
	LOG_TO_STDERR,		/* children: signetd collects their stderr */
	LOG_TO_SYSLOG		/* the parent with log = syslog */
};

/*
 * Names the process (ident is kept, not copied), chooses where lines go
 * and whether log_debug writes (verbose != 0).  May be called again, e.g.
 * once the configuration has been read.
 */
void	log_init(const char *ident, enum log_dest dest, int verbose);
/* Changes only the verbosity. */
void	log_setverbose(int verbose);
int	log_getverbose(void);

/* level=warn; log_warn appends error="strerror(errno)". */
void	log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* Written only when verbose. */
void	log_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/*
 * level=fatal, then exit(1); fatal appends error="strerror(errno)".  In
 * a child of signetd the line also goes, without its prefix, to the
 * descriptor LOG_REPORT_ENV named at log_init: signetd's reason for the
 * exit, shown in /v1/health if the child keeps failing (issue 18).
 */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/*
 * At a syslog priority, for the adapters that route a library's own log
 * (libcoap, libevent): LOG_DEBUG is debug, LOG_INFO and LOG_NOTICE info,
 * anything more urgent warn.  Never exits.
 */
void	log_pri(int pri, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * An untrusted string as one quoted value: "..." with \" \\ and \xNN for
 * control bytes, cut to LOG_QUOTE_MAX with "..." before the closing
 * quote; NULL is "-".  The result lives in one of LOG_QUOTE_SLOTS
 * per-thread buffers, reused round-robin: use it in the next log call.
 */
const char *log_quote(const char *s);

/*
 * key=value fields built up before one log call, when a line's fields
 * depend on the path taken:
 *
 *	struct log_fields f;
 *	log_fields_init(&f);
 *	log_field(&f, "serial", "%s", hex);
 *	log_field_str(&f, "cn", untrusted_cn);
 *	log_info("msg=\"issued\" %s", log_fields(&f));
 *
 * Fields that do not fit are dropped and the result ends in LOG_TRUNCATED.
 */
struct log_fields {
	char	buf[LOG_LINE_MAX];
	size_t	len;
	int	cut;
};

void	log_fields_init(struct log_fields *f);
/* key=value, the value formatted verbatim (trusted: numbers, names). */
void	log_field(struct log_fields *f, const char *key, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* key="value" through log_quote's escaping (untrusted). */
void	log_field_str(struct log_fields *f, const char *key, const char *s);
const char *log_fields(const struct log_fields *f);

#endif
