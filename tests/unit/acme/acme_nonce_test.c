/*
 * Nonces (RFC 8555 6.5) with an injected clock: single use, expiry, the
 * replay window's bound, forgeries; and problem documents (6.7).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme.h"

static const uint8_t key[ACME_NONCE_KEY] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void
test_single_use(void **state)
{
	struct acme_nonce_store *st = malloc(sizeof(*st));
	char a[ACME_NONCE_LEN + 1], b[ACME_NONCE_LEN + 1];

	(void)state;
	assert_int_equal(acme_nonce_init(st, key, sizeof(key), 600), ACME_OK);
	assert_int_equal(acme_nonce_issue(st, 1000, a), ACME_OK);
	assert_int_equal(acme_nonce_issue(st, 1000, b), ACME_OK);
	assert_int_equal(strlen(a), ACME_NONCE_LEN);
	assert_string_not_equal(a, b);
	/* Out of order is fine; twice is not. */
	assert_int_equal(acme_nonce_redeem(st, 1001, b, strlen(b)), ACME_OK);
	assert_int_equal(acme_nonce_redeem(st, 1001, b, strlen(b)),
	    ACME_E_NONCE);
	assert_int_equal(acme_nonce_redeem(st, 1600, a, strlen(a)), ACME_OK);
	assert_int_equal(acme_nonce_redeem(st, 1600, a, strlen(a)),
	    ACME_E_NONCE);
	/* Expired, and from the future (a clock that went back). */
	assert_int_equal(acme_nonce_issue(st, 1000, a), ACME_OK);
	assert_int_equal(acme_nonce_redeem(st, 1601, a, strlen(a)),
	    ACME_E_NONCE);
	assert_int_equal(acme_nonce_issue(st, 2000, a), ACME_OK);
	assert_int_equal(acme_nonce_redeem(st, 1999, a, strlen(a)),
	    ACME_E_NONCE);
	assert_int_equal(acme_nonce_redeem(st, 2000, a, strlen(a)), ACME_OK);
	acme_nonce_wipe(st);
	free(st);
}

static void
test_forgeries(void **state)
{
	struct acme_nonce_store *st = malloc(sizeof(*st));
	struct acme_nonce_store *other = malloc(sizeof(*other));
	uint8_t k2[ACME_NONCE_KEY] = { 9 };
	char a[ACME_NONCE_LEN + 1], c[ACME_NONCE_LEN + 2];

	(void)state;
	assert_int_equal(acme_nonce_init(st, key, 16, 600), ACME_E_VALUE);
	assert_int_equal(acme_nonce_init(st, key, sizeof(key), 0),
	    ACME_E_VALUE);
	assert_int_equal(acme_nonce_init(st, key, sizeof(key), 600), ACME_OK);
	assert_int_equal(acme_nonce_init(other, k2, sizeof(k2), 600), ACME_OK);
	/* Another key's nonce (an earlier run's) fails its tag. */
	assert_int_equal(acme_nonce_issue(other, 10, a), ACME_OK);
	assert_int_equal(acme_nonce_issue(st, 10, c), ACME_OK);
	assert_int_equal(acme_nonce_redeem(st, 10, a, strlen(a)),
	    ACME_E_NONCE);
	/* One flipped character; truncated; extended; not base64url. */
	memcpy(a, c, sizeof(a));
	a[5] = a[5] == 'A' ? 'B' : 'A';
	assert_int_equal(acme_nonce_redeem(st, 10, a, strlen(a)),
	    ACME_E_NONCE);
	assert_int_equal(acme_nonce_redeem(st, 10, c, strlen(c) - 1),
	    ACME_E_NONCE);
	c[ACME_NONCE_LEN] = 'A';
	c[ACME_NONCE_LEN + 1] = '\0';
	assert_int_equal(acme_nonce_redeem(st, 10, c, strlen(c)),
	    ACME_E_NONCE);
	assert_int_equal(acme_nonce_redeem(st, 10, "!", 1), ACME_E_NONCE);
	c[ACME_NONCE_LEN] = '\0';
	assert_int_equal(acme_nonce_redeem(st, 10, c, strlen(c)), ACME_OK);
	free(st);
	free(other);
}

static void
test_window(void **state)
{
	struct acme_nonce_store *st = malloc(sizeof(*st));
	char first[ACME_NONCE_LEN + 1], last[ACME_NONCE_LEN + 1],
	    n[ACME_NONCE_LEN + 1], old[ACME_NONCE_LEN + 1];
	size_t i;

	(void)state;
	assert_int_equal(acme_nonce_init(st, key, sizeof(key), 600), ACME_OK);
	assert_int_equal(acme_nonce_issue(st, 5, first), ACME_OK);
	assert_int_equal(acme_nonce_issue(st, 5, old), ACME_OK);
	assert_int_equal(acme_nonce_redeem(st, 5, old, strlen(old)), ACME_OK);
	/* The window holds exactly ACME_NONCE_WINDOW issued nonces. */
	for (i = 2; i < ACME_NONCE_WINDOW; i++)
		assert_int_equal(acme_nonce_issue(st, 5, n), ACME_OK);
	memcpy(last, n, sizeof(n));
	assert_int_equal(acme_nonce_redeem(st, 5, last, strlen(last)),
	    ACME_OK);
	assert_int_equal(acme_nonce_redeem(st, 5, first, strlen(first)),
	    ACME_OK);
	assert_int_equal(acme_nonce_issue(st, 5, first), ACME_OK);
	/* `old` has fallen out: refused, though its slot was reused. */
	assert_int_equal(acme_nonce_issue(st, 5, n), ACME_OK);
	assert_int_equal(acme_nonce_redeem(st, 5, old, strlen(old)),
	    ACME_E_NONCE);
	assert_int_equal(acme_nonce_redeem(st, 5, n, strlen(n)), ACME_OK);
	assert_int_equal(acme_nonce_redeem(st, 5, n, strlen(n)), ACME_E_NONCE);
	assert_int_equal(acme_nonce_redeem(st, 5, last, strlen(last)),
	    ACME_E_NONCE);
	free(st);
}

static void
test_problems(void **state)
{
	char out[ACME_MAX_PROBLEM], small[40], *longd;
	struct acme_json *j;
	const char *s;
	uint64_t v;
	size_t n;
	int p;

	(void)state;
	assert_int_equal(acme_problem_render(ACME_P_BAD_NONCE, "nonce \"x\"\n"
	    "used \xc3\xa9", out, sizeof(out), &n), ACME_OK);
	assert_int_equal(n, strlen(out));
	assert_string_equal(out, "{\"type\":\"urn:ietf:params:acme:error:"
	    "badNonce\",\"detail\":\"nonce \\\"x\\\"\\u000aused ??\","
	    "\"status\":400}");
	assert_int_equal(acme_problem_render(ACME_P_EXTERNAL_ACCOUNT_REQUIRED,
	    NULL, out, sizeof(out), &n), ACME_OK);
	assert_string_equal(out, "{\"type\":\"urn:ietf:params:acme:error:"
	    "externalAccountRequired\",\"status\":403}");
	assert_int_equal(acme_problem_render(ACME_P_MALFORMED, "x", small,
	    sizeof(small), &n), ACME_E_SPACE);
	/* Every type renders as JSON our own strict reader accepts. */
	longd = malloc(4 * ACME_MAX_DETAIL);
	memset(longd, '"', 4 * ACME_MAX_DETAIL - 1);
	longd[4 * ACME_MAX_DETAIL - 1] = '\0';
	for (p = 0; p < ACME_P__COUNT; p++) {
		/* The worst detail: every byte escaped as \u00XX. */
		memset(longd, p % 2 ? '"' : '\x01', 4 * ACME_MAX_DETAIL - 1);
		assert_int_equal(acme_problem_render(p, longd, out, sizeof(out),
		    &n), ACME_OK);
		assert_int_equal(acme_json_parse((const uint8_t *)out, n, &j),
		    ACME_OK);
		assert_int_equal(acme_json_str(acme_json_root(j), "type", &s,
		    NULL), ACME_OK);
		assert_true(strncmp(s, "urn:ietf:params:acme:error:", 27) == 0);
		assert_string_equal(s + 27, acme_problem_type(p));
		assert_int_equal(acme_json_u64(acme_json_root(j), "status", &v),
		    ACME_OK);
		assert_int_equal((int)v, acme_problem_status(p));
		acme_json_free(j);
	}
	free(longd);
	assert_int_equal(acme_problem_for(ACME_E_NONCE), ACME_P_BAD_NONCE);
	assert_int_equal(acme_problem_for(ACME_E_ALG),
	    ACME_P_BAD_SIGNATURE_ALGORITHM);
	assert_int_equal(acme_problem_for(ACME_E_DUP), ACME_P_MALFORMED);
	assert_int_equal(acme_problem_for(ACME_E_KEY), ACME_P_BAD_PUBLIC_KEY);
	assert_int_equal(acme_problem_for(ACME_E_MEM), ACME_P_SERVER_INTERNAL);
	assert_string_equal(acme_problem_type(ACME_P__COUNT), "serverInternal");
	assert_int_equal(acme_problem_status(ACME_P__COUNT), 500);
	assert_int_equal(acme_problem_render(ACME_P__COUNT, NULL, out,
	    sizeof(out), &n), ACME_OK);
	assert_true(strstr(out, "serverInternal") != NULL);
	/* The detail itself does not fit. */
	assert_int_equal(acme_problem_render(ACME_P_MALFORMED, "0123456789"
	    "0123456789012345678901234567890123456789", out, 80, &n),
	    ACME_E_SPACE);
	assert_int_equal(acme_problem_status(ACME_P_RATE_LIMITED), 429);
	assert_string_equal(acme_problem_type(ACME_P_REJECTED_IDENTIFIER),
	    "rejectedIdentifier");
}

/*
 * Cluster nonces (issue 20): minted under the shared key, checked
 * without state; the id is what the ledger keeps; a wrong key, a changed
 * octet, an old or future nonce and a bad length are refused.
 */
static void
test_cluster(void **state)
{
	static const uint8_t other[ACME_NONCE_KEY] = { 9 };
	static const uint8_t rnd[ACME_NONCE_RND] = { 1, 1, 2, 3, 5, 8, 13 };
	static const uint8_t rnd2[ACME_NONCE_RND] = { 2 };
	char n[ACME_NONCE_LEN + 1], n2[ACME_NONCE_LEN + 1];
	uint8_t id[ACME_NONCE_ID], id2[ACME_NONCE_ID];
	uint64_t exp;

	(void)state;
	assert_int_equal(acme_nonce_mint(key, rnd, 1000, n), ACME_OK);
	assert_int_equal(strlen(n), ACME_NONCE_LEN);
	assert_int_equal(acme_nonce_check(key, 1000, 600, n, strlen(n), id,
	    &exp), ACME_OK);
	assert_int_equal(exp, 1600);
	assert_memory_equal(id, rnd, ACME_NONCE_RND);
	/* Stateless: a second check passes too; single use is the ledger's. */
	assert_int_equal(acme_nonce_check(key, 1600, 600, n, strlen(n), id2,
	    &exp), ACME_OK);
	assert_memory_equal(id, id2, sizeof(id));
	assert_int_equal(acme_nonce_mint(key, rnd2, 1000, n2), ACME_OK);
	assert_int_equal(acme_nonce_check(key, 1000, 600, n2, strlen(n2),
	    id2, &exp), ACME_OK);
	assert_memory_not_equal(id, id2, sizeof(id));
	assert_int_equal(acme_nonce_check(other, 1000, 600, n, strlen(n), id,
	    &exp), ACME_E_NONCE);
	assert_int_equal(acme_nonce_check(key, 1601, 600, n, strlen(n), id,
	    &exp), ACME_E_NONCE);
	assert_int_equal(acme_nonce_check(key, 999, 600, n, strlen(n), id,
	    &exp), ACME_E_NONCE);
	assert_int_equal(acme_nonce_check(key, 1000, 600, n, strlen(n) - 1,
	    id, &exp), ACME_E_NONCE);
	n[5] = n[5] == 'A' ? 'B' : 'A';
	assert_int_equal(acme_nonce_check(key, 1000, 600, n, strlen(n), id,
	    &exp), ACME_E_NONCE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_use),
		cmocka_unit_test(test_forgeries),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_problems),
		cmocka_unit_test(test_cluster),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
