/*
 * Shares: every pair recombines, one alone does not, and a corrupted,
 * duplicated, relabelled or foreign share is refused and named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cer.h"

static const uint8_t secret[16] = "0123456789abcdef";

static void
split3(enum cer_secret kind, struct cer_share *sh)
{
	assert_int_equal(cer_share_split(kind, secret, sizeof(secret), 2, 3,
	    sh), CER_OK);
}

static void
roundtrip(const struct cer_share *in, struct cer_share *out)
{
	char text[CER_SHARE_MAX_TEXT], err[CER_MAX_ERR];

	assert_int_equal(cer_share_encode(in, text, sizeof(text)), CER_OK);
	assert_int_equal(cer_share_decode((uint8_t *)text, strlen(text), out,
	    err, sizeof(err)), CER_OK);
	assert_memory_equal(in->payload, out->payload, in->len);
	assert_int_equal(in->index, out->index);
}

static void
test_every_pair(void **state)
{
	static const int pairs[3][2] = { { 0, 1 }, { 0, 2 }, { 1, 2 } };
	const char *names[2] = { "a", "b" };
	struct cer_share sh[3], two[2];
	uint8_t out[32];
	char err[CER_MAX_ERR];
	size_t len, i;

	split3(CER_SECRET_USER_PIN, sh);
	for (i = 0; i < 3; i++) {
		roundtrip(&sh[pairs[i][0]], &two[0]);
		roundtrip(&sh[pairs[i][1]], &two[1]);
		assert_int_equal(cer_share_combine(two, names, 2,
		    CER_SECRET_USER_PIN, sh[0].id, out, &len, err,
		    sizeof(err)), CER_OK);
		assert_int_equal(len, sizeof(secret));
		assert_memory_equal(out, secret, sizeof(secret));
	}
}

static void
test_one_alone(void **state)
{
	const char *names[1] = { "only.share" };
	struct cer_share sh[3];
	uint8_t out[32];
	char err[CER_MAX_ERR];
	size_t len;

	split3(CER_SECRET_USER_PIN, sh);
	assert_int_equal(cer_share_combine(sh, names, 1, CER_SECRET_USER_PIN,
	    NULL, out, &len, err, sizeof(err)), CER_FAIL);
	assert_non_null(strstr(err, "2 needed"));
}

static void
test_corrupted(void **state)
{
	struct cer_share sh[3], out;
	char text[CER_SHARE_MAX_TEXT], err[CER_MAX_ERR];

	split3(CER_SECRET_SO_PIN, sh);
	assert_int_equal(cer_share_encode(&sh[1], text, sizeof(text)), CER_OK);
	/* One mistyped character. */
	text[5] = text[5] == 'A' ? 'B' : 'A';
	assert_int_equal(cer_share_decode((uint8_t *)text, strlen(text), &out,
	    err, sizeof(err)), CER_FAIL);
	assert_non_null(strstr(err, "checksum"));
	/* One character missing. */
	assert_int_equal(cer_share_encode(&sh[1], text, sizeof(text)), CER_OK);
	text[strlen(text) - 1] = '\0';
	assert_int_equal(cer_share_decode((uint8_t *)text, strlen(text), &out,
	    err, sizeof(err)), CER_FAIL);
	/* Not base32. */
	assert_int_equal(cer_share_decode((uint8_t *)"AB1C", 4, &out, err,
	    sizeof(err)), CER_FAIL);
	assert_non_null(strstr(err, "'1'"));
}

static void
test_duplicate_and_foreign(void **state)
{
	const char *names[2] = { "alice.share", "bob.share" };
	struct cer_share a[3], b[3], v[2];
	uint8_t out[32];
	char err[CER_MAX_ERR];
	size_t len;

	split3(CER_SECRET_USER_PIN, a);
	split3(CER_SECRET_USER_PIN, b);
	v[0] = a[0];
	v[1] = a[0];
	assert_int_equal(cer_share_combine(v, names, 2, CER_SECRET_USER_PIN,
	    NULL, out, &len, err, sizeof(err)), CER_FAIL);
	assert_non_null(strstr(err, "bob.share: duplicates alice.share"));
	/* A share of another secret (another ceremony). */
	v[1] = b[1];
	assert_int_equal(cer_share_combine(v, names, 2, CER_SECRET_USER_PIN,
	    a[0].id, out, &len, err, sizeof(err)), CER_FAIL);
	assert_non_null(strstr(err, "bob.share: belongs to secret"));
	/* Relabelled: an SO-PIN share offered as a user-PIN share. */
	split3(CER_SECRET_SO_PIN, b);
	v[1] = b[1];
	assert_int_equal(cer_share_combine(v, names, 2, CER_SECRET_USER_PIN,
	    NULL, out, &len, err, sizeof(err)), CER_FAIL);
	assert_non_null(strstr(err, "bob.share: is a SO-PIN share"));
}

static void
test_file_form(void **state)
{
	struct cer_share sh[3], out;
	char text[CER_SHARE_MAX_TEXT], file[CER_SHARE_MAX_TEXT * 2];
	char err[CER_MAX_ERR], *qr;
	size_t i;

	split3(CER_SECRET_KEK, sh);
	assert_int_equal(cer_share_encode(&sh[2], text, sizeof(text)), CER_OK);
	assert_non_null(qr = cer_share_qr(text));
	snprintf(file, sizeof(file), "# comment\n%s%s\n", qr, text);
	free(qr);
	/* Lowercase and dashes are accepted as typed. */
	for (i = 0; file[i] != '\0'; i++)
		if (file[i] == ' ' && i > 0 && file[i - 1] != '#')
			file[i] = '-';
	assert_int_equal(cer_share_decode((uint8_t *)file, strlen(file), &out,
	    err, sizeof(err)), CER_OK);
	assert_int_equal(out.kind, CER_SECRET_KEK);
	assert_int_equal(out.index, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_pair),
		cmocka_unit_test(test_one_alone),
		cmocka_unit_test(test_corrupted),
		cmocka_unit_test(test_duplicate_and_foreign),
		cmocka_unit_test(test_file_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
