/*
 * Checks the SQLite and PostgreSQL ledger tests share, header-only (they
 * use cmocka's asserts): the ACME rate-limit tests' one call
 * (test_ledger_acme_limit.c, test_ledger_pgsql_acme_limit.c) and a
 * token's every field (test_ledger_tokens.c, test_ledger_pgsql.c).
 */
#ifndef SIGNET_TEST_LEDGERFX_H
#define SIGNET_TEST_LEDGERFX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <signet/ledger.h>
#include <signet/ledger_acme.h>

/* One charge; the ledger's rc, *retry the refusal's seconds. */
static inline int
charge(struct ledger *l, const char *key, int64_t n, int64_t window,
    int64_t now, enum ledger_acme_limit_mode mode, int64_t *retry)
{
	struct ledger_acme_limit lim;
	int rc;

	memset(&lim, 0, sizeof(lim));
	lim.key = key;
	lim.n = n;
	lim.window = window;
	lim.now_us = now;
	lim.mode = mode;
	rc = ledger_acme_limit(l, &lim);
	if (retry != NULL)
		*retry = lim.retry;
	return rc;
}

/* Every field of got is what was created, the verifier included. */
static inline void
assert_token_equal(const struct ledger_token *want,
    const struct ledger_token *got)
{
	assert_string_equal(got->id, want->id);
	assert_memory_equal(got->hash, want->hash, LEDGER_HASH_LEN);
	assert_string_equal(got->tenant, want->tenant);
	assert_string_equal(got->profile, want->profile);
	assert_string_equal(got->names, want->names);
	assert_int_equal(got->created, want->created);
	assert_int_equal(got->expires, want->expires);
	assert_int_equal(got->uses_left, want->uses_left);
}

#endif
