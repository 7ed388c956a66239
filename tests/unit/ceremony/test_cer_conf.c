/*
 * The ceremony file: unknown keys and bad values are errors naming the
 * file and the line; relative paths are taken from the file's directory.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cer.h"
#include "../sconf/sconf_durtest.h"

static const char good[] =
    "# a comment\n"
    "state = \"st/state\"\n"
    "transcript = \"st/transcript\"\n"
    "token {\n\tlabel = \"root\"\n}\n"
    "root {\n\tcert = \"out/root.pem\"\n\tsubject {\n\t\tCN = \"R\"\n\t}\n}\n"
    "custody {\n\tcustodians = { \"a\", \"b\", \"c\" }\n"
    "\tshares_dir = \"/abs/shares\"\n}\n";

static int
load(const char *text, struct cer_conf **c, char *err, size_t errlen)
{
	char path[] = "/tmp/cer-conf-XXXXXX";
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = cer_conf_load(path, c, err, errlen);
	unlink(path);
	return rc;
}

static void
test_good(void **state)
{
	struct cer_conf *c = NULL;
	char err[CER_MAX_ERR];

	assert_int_equal(load(good, &c, err, sizeof(err)), CER_OK);
	assert_string_equal(c->token_label, "root");
	assert_string_equal(c->root_cert, "/tmp/out/root.pem");
	assert_string_equal(c->shares_dir, "/abs/shares");
	assert_string_equal(c->key_type, "p256");
	assert_int_equal(c->root_validity, 3650LL * 86400);
	assert_int_equal(c->path_length, 0);
	cer_conf_free(c);
}

static void
test_unknown_key(void **state)
{
	struct cer_conf *c = NULL;
	char err[CER_MAX_ERR], text[2048];

	snprintf(text, sizeof(text), "%s# more\nroot {\n\tpin = \"1234\"\n}\n",
	    good);
	assert_int_equal(load(text, &c, err, sizeof(err)), CER_FAIL);
	assert_null(c);
	/* good has 16 lines: the bad key is on line 19. */
	assert_non_null(strstr(err, ":19:"));
	assert_non_null(strstr(err, "pin"));
}

static void
test_bad_values(void **state)
{
	struct cer_conf *c = NULL;
	char err[CER_MAX_ERR], text[2048];

	snprintf(text, sizeof(text), "%sroot {\n\tkey = \"ed25519\"\n}\n",
	    good);
	assert_int_equal(load(text, &c, err, sizeof(err)), CER_FAIL);
	assert_non_null(strstr(err, "ed25519"));
	snprintf(text, sizeof(text), "%sintermediate {\n\tvalidity = \"5 "
	    "years\"\n}\n", good);
	assert_int_equal(load(text, &c, err, sizeof(err)), CER_FAIL);
	assert_non_null(strstr(err, "not a duration"));
	assert_int_equal(load("token {\n\tlabel = \"x\"\n}\n", &c, err,
	    sizeof(err)), CER_FAIL);
	assert_non_null(strstr(err, "custodians"));
}

/* The ceremony's parser before the fold into sconf_cfg.c, verbatim. */
static int64_t
old_cer_duration(const char *s)
{
	char *end;
	long long v;
	int64_t mul = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	case 'y': mul = 365 * 86400LL; break;
	default: return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v <= 0 || v > INT64_MAX / mul)
		return -1;
	return (int64_t)v * mul;
}

/*
 * The ceremony: h, d, y or none, above 0, a digit first; signetd's s and
 * m are not units here.  Same answers as before the fold on every short
 * string.
 */
static void
test_duration_unchanged(void **state)
{
	(void)state;
	assert_int_equal(cer_duration("10y"), 10 * 365 * 86400LL);
	assert_int_equal(cer_duration("720h"), 720 * 3600);
	assert_int_equal(cer_duration("3650d"), 3650 * 86400LL);
	assert_int_equal(cer_duration("1"), 1);
	assert_int_equal(cer_duration("0"), -1);
	assert_int_equal(cer_duration("0d"), -1);
	assert_int_equal(cer_duration("60s"), -1);
	assert_int_equal(cer_duration("5m"), -1);
	assert_int_equal(cer_duration(" 5d"), -1);
	assert_int_equal(cer_duration(NULL), -1);
	assert_int_equal(cer_duration("292471208677y"),
	    292471208677LL * 365 * 86400);
	assert_int_equal(cer_duration("292471208678y"), -1);
	assert_true(dur_compare(cer_duration, old_cer_duration) > 30000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_duration_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
