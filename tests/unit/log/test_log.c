/*
 * firmware/log: what a reader of signetd's log sees.  Lines are captured
 * by pointing stderr at a pipe; write(2) is wrapped (-Wl,--wrap=write) so
 * each case can count the writes one log call makes: one per line, since
 * the daemons share one stderr and a line in pieces interleaves.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "signet_log.h"

ssize_t	__real_write(int, const void *, size_t);
ssize_t	__wrap_write(int, const void *, size_t);

static int nwrites;		/* writes to stderr while capturing */
static int cap_pipe[2] = { -1, -1 }, cap_saved = -1;

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
	if (fd == STDERR_FILENO && cap_saved != -1)
		nwrites++;
	return __real_write(fd, buf, n);
}

static void
cap_begin(void)
{
	assert_int_equal(pipe(cap_pipe), 0);
	cap_saved = dup(STDERR_FILENO);
	assert_true(cap_saved >= 0);
	assert_int_equal(dup2(cap_pipe[1], STDERR_FILENO), STDERR_FILENO);
	nwrites = 0;
}

/* Restores stderr and returns what was written, NUL-terminated. */
static size_t
cap_end(char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	dup2(cap_saved, STDERR_FILENO);
	close(cap_saved);
	cap_saved = -1;
	close(cap_pipe[1]);
	while (got + 1 < size &&
	    (n = read(cap_pipe[0], buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	close(cap_pipe[0]);
	buf[got] = '\0';
	return got;
}

static int
nlines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static int
setup(void **state)
{
	(void)state;
	log_init("test-log", LOG_TO_STDERR, 0);
	return 0;
}

static void
test_format(void **state)
{
	char buf[4096], want[64];
	const char *p;

	(void)state;
	cap_begin();
	log_info("msg=\"ready\" port=%d", 8443);
	cap_end(buf, sizeof(buf));
	assert_int_equal(nwrites, 1);
	assert_int_equal(nlines(buf), 1);
	/* 2026-12-06T09:10:35Z test-log[pid] level=info msg=... */
	assert_int_equal(strlen(buf) > 21 && buf[4] == '-' && buf[10] == 'T' &&
	    buf[19] == 'Z' && buf[20] == ' ', 1);
	snprintf(want, sizeof(want), " test-log[%ld] level=info ",
	    (long)getpid());
	assert_non_null(p = strstr(buf, want));
	assert_string_equal(p + strlen(want), "msg=\"ready\" port=8443\n");
}

static void
test_levels(void **state)
{
	char buf[4096];

	(void)state;
	cap_begin();
	log_debug("msg=hidden");
	log_pri(LOG_DEBUG, "msg=hidden2");
	log_warnx("msg=w");
	log_pri(LOG_ERR, "msg=e");
	log_pri(LOG_NOTICE, "msg=n");
	cap_end(buf, sizeof(buf));
	assert_null(strstr(buf, "hidden"));
	assert_non_null(strstr(buf, "level=warn msg=w\n"));
	assert_non_null(strstr(buf, "level=warn msg=e\n"));
	assert_non_null(strstr(buf, "level=info msg=n\n"));
	assert_int_equal(nwrites, 3);

	log_setverbose(1);
	assert_int_equal(log_getverbose(), 1);
	cap_begin();
	log_debug("msg=shown");
	log_pri(LOG_DEBUG + 2, "msg=shown2");
	cap_end(buf, sizeof(buf));
	log_setverbose(0);
	assert_non_null(strstr(buf, "level=debug msg=shown\n"));
	assert_non_null(strstr(buf, "level=debug msg=shown2\n"));
}

static void
test_warn_errno(void **state)
{
	char buf[4096];

	(void)state;
	cap_begin();
	errno = ENOENT;
	log_warn("msg=\"cannot open\" file=%s", "/x");
	/* errno survives a log call, so a caller may log then return it. */
	assert_int_equal(errno, ENOENT);
	cap_end(buf, sizeof(buf));
	assert_int_equal(nwrites, 1);
	assert_non_null(strstr(buf, "level=warn msg=\"cannot open\" file=/x "
	    "error=\"No such file or directory\"\n"));
}

static void
test_escape(void **state)
{
	char buf[4096];

	(void)state;
	cap_begin();
	/* A forged second line and a terminal escape stay in this line. */
	log_info("msg=\"x\" cn=%s", "a\nZ level=info forged\x1b[2J\t\x7f");
	cap_end(buf, sizeof(buf));
	assert_int_equal(nlines(buf), 1);
	assert_non_null(strstr(buf, "cn=a\\x0aZ level=info "
	    "forged\\x1b[2J\\x09\\x7f\n"));
	assert_null(strchr(buf, '\x1b'));
}

static void
test_truncate(void **state)
{
	char *big, buf[3 * LOG_LINE_MAX];
	size_t n;

	(void)state;
	big = malloc(3 * LOG_LINE_MAX);
	assert_non_null(big);
	memset(big, 'a', 3 * LOG_LINE_MAX - 1);
	big[3 * LOG_LINE_MAX - 1] = '\0';
	cap_begin();
	log_warnx("msg=%s", big);
	/* Escapes that would straddle the limit are dropped whole. */
	memset(big, '\n', LOG_LINE_MAX);
	big[LOG_LINE_MAX] = '\0';
	log_info("msg=%s", big);
	n = cap_end(buf, sizeof(buf));
	free(big);
	assert_int_equal(nwrites, 2);
	assert_int_equal(nlines(buf), 2);
	assert_int_equal(strchr(buf, '\n') - buf + 1, LOG_LINE_MAX);
	assert_memory_equal(buf + LOG_LINE_MAX - sizeof(LOG_TRUNCATED),
	    LOG_TRUNCATED "\n", sizeof(LOG_TRUNCATED));
	assert_true(n <= 2 * LOG_LINE_MAX);
	assert_int_equal(buf[n - 1], '\n');
	assert_memory_equal(buf + n - sizeof(LOG_TRUNCATED),
	    LOG_TRUNCATED "\n", sizeof(LOG_TRUNCATED));
	assert_memory_equal(buf + n - sizeof(LOG_TRUNCATED) - 4, "\\x0a", 4);
}

static void
test_fatal(void **state)
{
	char buf[4096];
	pid_t pid;
	int st;

	(void)state;
	cap_begin();
	if ((pid = fork()) == 0)
		fatalx("msg=\"bad config\" n=%d", 1);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if ((pid = fork()) == 0) {
		errno = EACCES;
		fatal("msg=\"cannot read\"");
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	cap_end(buf, sizeof(buf));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_non_null(strstr(buf, "level=fatal msg=\"bad config\" n=1\n"));
	assert_non_null(strstr(buf, "level=fatal msg=\"cannot read\" "
	    "error=\"Permission denied\"\n"));
}

/*
 * A child of signetd (issue 18): the fatal line, without time stamp, pid
 * or level, also goes to the descriptor LOG_REPORT_ENV names; nothing
 * else does, and the variable is gone after log_init.
 */
static void
test_fatal_report(void **state)
{
	char buf[4096], fdbuf[16];
	int rp[2], st;
	ssize_t n;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(rp), 0);
	cap_begin();
	if ((pid = fork()) == 0) {
		close(rp[0]);
		snprintf(fdbuf, sizeof(fdbuf), "%d", rp[1]);
		setenv(LOG_REPORT_ENV, fdbuf, 1);
		log_init("test", LOG_TO_STDERR, 0);
		if (getenv(LOG_REPORT_ENV) != NULL)
			_exit(3);
		log_warnx("msg=\"not for signetd\"");
		errno = EACCES;
		fatal("msg=\"cannot read\" path=%s", "/x");
	}
	assert_true(pid > 0);
	close(rp[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	n = read(rp[0], buf, sizeof(buf) - 1);
	close(rp[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_string_equal(buf, "msg=\"cannot read\" path=/x "
	    "error=\"Permission denied\"");
	cap_end(buf, sizeof(buf));
	assert_non_null(strstr(buf, "level=fatal msg=\"cannot read\""));
}

/* CLOCK_REALTIME's second (what the log reads), shown as the log does. */
static void
utc_now(time_t *t, char *ts, size_t size)
{
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	*t = now.tv_sec;
	assert_non_null(gmtime_r(t, &tm));
	strftime(ts, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * The prefix's pid and time stamp are kept between lines (issue 17), so
 * they must not go stale: a fork's child logs under its own pid, and a
 * line logged in a later second carries that second.
 */
static void
test_prefix_fresh(void **state)
{
	char buf[4096], want0[96], want1[96], ts0[32], ts1[32];
	time_t t, t0, t1;
	pid_t pid;
	int st;

	(void)state;
	cap_begin();
	utc_now(&t, ts0, sizeof(ts0));
	log_info("msg=parent");		/* the pid and second are kept */
	if ((pid = fork()) == 0) {
		log_info("msg=child");
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	do {
		usleep(10000);
		utc_now(&t0, ts0, sizeof(ts0));
	} while (t0 <= t + 1);	/* past the parent line's second, surely */
	log_info("msg=later");
	utc_now(&t1, ts1, sizeof(ts1));
	cap_end(buf, sizeof(buf));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(want0, sizeof(want0), " test-log[%ld] level=info msg=child\n",
	    (long)pid);
	assert_non_null(strstr(buf, want0));
	snprintf(want0, sizeof(want0), " test-log[%ld] level=info "
	    "msg=parent\n", (long)getpid());
	assert_non_null(strstr(buf, want0));
	/* The second of the line is between the two readings around it. */
	snprintf(want0, sizeof(want0), "%s test-log[%ld] level=info "
	    "msg=later\n", ts0, (long)getpid());
	snprintf(want1, sizeof(want1), "%s test-log[%ld] level=info "
	    "msg=later\n", ts1, (long)getpid());
	if (strstr(buf, want0) == NULL && strstr(buf, want1) == NULL)
		fail_msg("no line \"%s\" in \"%s\"", want0, buf);
}

static void
test_quote(void **state)
{
	char big[1000];
	const char *q[LOG_QUOTE_SLOTS];
	size_t n;
	int i;

	(void)state;
	assert_string_equal(log_quote("plain"), "\"plain\"");
	assert_string_equal(log_quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\x0ad\"");
	assert_string_equal(log_quote(NULL), "-");
	assert_string_equal(log_quote(""), "\"\"");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = strlen(log_quote(big));
	assert_true(n < LOG_QUOTE_MAX);
	assert_string_equal(log_quote(big) + n - 4, "...\"");
	/* LOG_QUOTE_SLOTS results are alive at once. */
	for (i = 0; i < LOG_QUOTE_SLOTS; i++) {
		snprintf(big, sizeof(big), "v%d", i);
		q[i] = log_quote(big);
	}
	for (i = 0; i < LOG_QUOTE_SLOTS; i++) {
		snprintf(big, sizeof(big), "\"v%d\"", i);
		assert_string_equal(q[i], big);
	}
}

static void
test_fields(void **state)
{
	struct log_fields f;
	char big[LOG_LINE_MAX];
	int i;

	(void)state;
	log_fields_init(&f);
	assert_string_equal(log_fields(&f), "");
	log_field(&f, "serial", "%s", "0a1b");
	log_field(&f, "n", "%d", 3);
	log_field_str(&f, "cn", "evil\" x=1");
	assert_string_equal(log_fields(&f),
	    "serial=0a1b n=3 cn=\"evil\\\" x=1\"");

	log_fields_init(&f);
	memset(big, 'v', 100);
	big[100] = '\0';
	for (i = 0; i < 100; i++)
		log_field(&f, "k", "%s", big);
	assert_true(strlen(log_fields(&f)) < LOG_LINE_MAX);
	assert_string_equal(log_fields(&f) + strlen(log_fields(&f)) -
	    strlen(LOG_TRUNCATED), LOG_TRUNCATED);
}

/*
 * Several processes log long lines to one pipe at once, as signetd's
 * children do to their shared stderr: every line read back is whole.
 */
#define WRITERS	4
#define LINES	200
static void
test_interleave(void **state)
{
	char pad[1500], *buf, *line, *nl;
	size_t size = (size_t)WRITERS * LINES * LOG_LINE_MAX, got = 0;
	pid_t pid[WRITERS];
	ssize_t n;
	int i, j, count[WRITERS] = { 0 }, st;

	(void)state;
	buf = malloc(size);
	assert_non_null(buf);
	cap_begin();
	for (i = 0; i < WRITERS; i++) {
		if ((pid[i] = fork()) == 0) {
			close(cap_pipe[0]);
			memset(pad, 'a' + i, sizeof(pad) - 1);
			pad[sizeof(pad) - 1] = '\0';
			for (j = 0; j < LINES; j++)
				log_info("w=%d j=%d pad=%s end=%d", i, j,
				    pad, i);
			_exit(0);
		}
		assert_true(pid[i] > 0);
	}
	/* Our copies of the write end go, so EOF comes when they exit. */
	dup2(cap_saved, STDERR_FILENO);
	close(cap_saved);
	cap_saved = -1;
	close(cap_pipe[1]);
	while (got < size - 1 &&
	    (n = read(cap_pipe[0], buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	close(cap_pipe[0]);
	buf[got] = '\0';
	for (i = 0; i < WRITERS; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		char *w = strstr(line, " w=");
		int k;

		*nl = '\0';
		assert_non_null(w);
		k = w[3] - '0';
		assert_true(k >= 0 && k < WRITERS);
		memset(pad, 'a' + k, sizeof(pad) - 1);
		pad[sizeof(pad) - 1] = '\0';
		assert_non_null(strstr(w, pad));
		assert_int_equal(nl[-1] - '0', k);
		assert_memory_equal(nl - 6, " end=", 5);
		count[k]++;
	}
	assert_int_equal(*line, '\0');
	for (i = 0; i < WRITERS; i++)
		assert_int_equal(count[i], LINES);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_format, setup),
		cmocka_unit_test_setup(test_levels, setup),
		cmocka_unit_test_setup(test_warn_errno, setup),
		cmocka_unit_test_setup(test_escape, setup),
		cmocka_unit_test_setup(test_truncate, setup),
		cmocka_unit_test_setup(test_fatal, setup),
		cmocka_unit_test_setup(test_fatal_report, setup),
		cmocka_unit_test_setup(test_prefix_fresh, setup),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_fields),
		cmocka_unit_test_setup(test_interleave, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
