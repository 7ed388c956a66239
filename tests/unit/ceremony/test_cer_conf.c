/*
 * The ceremony file: unknown keys and bad values are errors naming the
 * file and the line; relative paths are taken from the file's directory.
 */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_bad_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
