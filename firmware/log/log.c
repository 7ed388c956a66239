/*
 * signet_log: formats one line and writes it with one write(2) to stderr,
 * or hands it to syslog(3).  The children of signetd share one stderr: a
 * line written in pieces (prefix, message, newline) came out interleaved
 * with another child's, and a test grepping for a line failed in CI.
 * A write of at most PIPE_BUF bytes to a pipe is atomic (POSIX), so a
 * line is never longer than that.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "signet_log.h"
#include "log_local.h"

_Static_assert(LOG_LINE_MAX <= PIPE_BUF, "a line must be one atomic write");

static const char *log_ident = "signet";
static enum log_dest log_to = LOG_TO_STDERR;
static int log_verbose;
static int log_report_fd = -1;	/* signetd's start-up report pipe */

/*
 * The prefix's parts that change rarely, kept instead of made per line
 * (issue 17: the per-request line was 2.6% of the engine's profile):
 * the "[pid] " text, made again by a fork's child, and each thread's last
 * timestamp, remade when the second changes.
 */
static char log_pid[24];
static pthread_once_t log_pid_once = PTHREAD_ONCE_INIT;
static _Thread_local time_t log_ts_sec = -1;
static _Thread_local char log_ts[32];

static void
log_pid_set(void)
{
	snprintf(log_pid, sizeof(log_pid), "[%ld] ", (long)getpid());
}

/* Once per process; a fork's child (one thread then) sets its own. */
static void
log_pid_init(void)
{
	log_pid_set();
	(void)pthread_atfork(NULL, NULL, log_pid_set);
}

/*
 * signetd hands each child the write end of a pipe (LOG_REPORT_ENV names
 * it) to learn why the child stopped: a fatal line is written there too,
 * without the prefix, and signetd shows it in /v1/health (issue 18).
 */
static void
log_report_init(void)
{
	const char *v;
	char *end;
	long fd;

	if (log_report_fd != -1 || (v = getenv(LOG_REPORT_ENV)) == NULL)
		return;
	errno = 0;
	fd = strtol(v, &end, 10);
	if (errno == 0 && end != v && *end == '\0' && fd > STDERR_FILENO &&
	    fd < INT_MAX)
		log_report_fd = (int)fd;
	unsetenv(LOG_REPORT_ENV);
}

void
log_init(const char *ident, enum log_dest dest, int verbose)
{
	int saved = errno;

	if (ident != NULL)
		log_ident = ident;
	/*
	 * glibc reads the time zone on the first gmtime_r; read it now,
	 * before a front end enters its chroot and seccomp filter.
	 */
	tzset();
	log_report_init();
	if (dest == LOG_TO_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (log_to == LOG_TO_SYSLOG)
		closelog();
	log_to = dest;
	log_verbose = verbose;
	errno = saved;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

/* Appends s, control bytes as \xNN (quote: also \" and \\). */
void
log_buf_esc(struct log_buf *b, const char *s, int quote)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	char e[4];
	size_t n;

	for (p = (const unsigned char *)s; *p != '\0' && !b->cut; p++) {
		n = 0;
		if (*p < 0x20 || *p == 0x7f) {
			e[n++] = '\\';
			e[n++] = 'x';
			e[n++] = hex[*p >> 4];
			e[n++] = hex[*p & 0xf];
		} else if (quote && (*p == '"' || *p == '\\')) {
			e[n++] = '\\';
			e[n++] = (char)*p;
		} else
			e[n++] = (char)*p;
		log_buf_put(b, e, n);
	}
}

/* Appends n bytes, or marks the buffer cut if they do not fit. */
void
log_buf_put(struct log_buf *b, const char *s, size_t n)
{
	if (b->cut || n > b->cap - b->len) {
		b->cut = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
log_buf_str(struct log_buf *b, const char *s)
{
	log_buf_put(b, s, strlen(s));
}

static void
log_prefix(struct log_buf *b, const char *level)
{
	struct timespec now;
	struct tm tm;

	if (log_to == LOG_TO_STDERR) {
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec != log_ts_sec) {
			if (gmtime_r(&now.tv_sec, &tm) == NULL ||
			    strftime(log_ts, sizeof(log_ts),
			    "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
				snprintf(log_ts, sizeof(log_ts), "%lld",
				    (long long)now.tv_sec);
			log_ts_sec = now.tv_sec;
		}
		(void)pthread_once(&log_pid_once, log_pid_init);
		log_buf_str(b, log_ts);
		log_buf_str(b, " ");
		log_buf_str(b, log_ident);
		log_buf_str(b, log_pid);
	}
	log_buf_str(b, "level=");
	log_buf_str(b, level);
	log_buf_str(b, " ");
}

/* One write(2), retried only if a signal interrupted it before any byte. */
static void
log_write(const char *line, size_t len)
{
	ssize_t w;

	do
		w = write(STDERR_FILENO, line, len);
	while (w == -1 && errno == EINTR);
}

static void __attribute__((format(printf, 4, 0)))
log_emit(int pri, const char *level, int err, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX];
	struct log_buf b;
	size_t body;
	int saved = errno, n;

	/* Room for the marker and the newline is kept back. */
	b.p = line;
	b.len = 0;
	b.cap = sizeof(line) - 1 - (sizeof(LOG_TRUNCATED) - 1);
	b.cut = 0;
	log_prefix(&b, level);
	body = b.len;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		msg[0] = '\0';
	log_buf_esc(&b, msg, 0);
	if (n >= (int)sizeof(msg))
		b.cut = 1;
	if (err) {
		log_buf_str(&b, " error=\"");
		log_buf_esc(&b, strerror(saved), 1);
		log_buf_str(&b, "\"");
	}
	if (b.cut) {
		memcpy(line + b.len, LOG_TRUNCATED, sizeof(LOG_TRUNCATED) - 1);
		b.len += sizeof(LOG_TRUNCATED) - 1;
	}
	if (strcmp(level, "fatal") == 0 && log_report_fd != -1 &&
	    write(log_report_fd, line + body, b.len - body) < 0)
		log_report_fd = -1;	/* signetd will say "see the log" */
	if (log_to == LOG_TO_SYSLOG) {
		line[b.len] = '\0';
		syslog(pri, "%s", line);
	} else {
		line[b.len++] = '\n';
		log_write(line, b.len);
	}
	errno = saved;
}

#define LOG_FN(name, pri, level, err)				\
	void							\
	name(const char *fmt, ...)				\
	{							\
		va_list ap;					\
								\
		va_start(ap, fmt);				\
		log_emit(pri, level, err, fmt, ap);		\
		va_end(ap);					\
	}
LOG_FN(log_warn, LOG_WARNING, "warn", 1)
LOG_FN(log_warnx, LOG_WARNING, "warn", 0)
LOG_FN(log_info, LOG_INFO, "info", 0)
#undef LOG_FN

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, "debug", 0, fmt, ap);
	va_end(ap);
}

void
log_pri(int pri, const char *fmt, ...)
{
	va_list ap;

	if (pri >= LOG_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	if (pri >= LOG_DEBUG)
		log_emit(LOG_DEBUG, "debug", 0, fmt, ap);
	else if (pri >= LOG_NOTICE)
		log_emit(pri, "info", 0, fmt, ap);
	else
		log_emit(pri, "warn", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal", 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
