/*
 * ACME rate limits in the SQLite ledger (issue 20, signet/ledger_acme.h
 * ledger_acme_limit): "n per window" as a bucket of n refilled evenly;
 * the refusal's retry is when the next token is there; a peek changes
 * nothing, a give undoes a take; the budget outlives the ledger handle
 * (a restart of the engine reopens the ledger and must still refuse);
 * full buckets are swept as takes go, so keys nobody charges any more
 * do not stay; bad arguments are refused.  The PostgreSQL side, with two
 * nodes sharing one budget, is tests/unit/ledger_pgsql/
 * test_ledger_pgsql_acme_limit.c.
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
#include <sqlite3.h>

#include <signet/ledger.h>
#include <signet/ledger_acme.h>

#include "certgen.h"
#include "ledgerfx.h"

#define S	1000000LL		/* microseconds a second */
#define T0	(1700000000LL * S)

static int
setup(void **state)
{
	static struct sqfx fx;

	if (sqfx_open(&fx, "lim") != 0)
		return -1;
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	sqfx_close(*state);
	return 0;
}

static int64_t
rows(const struct sqfx *fx)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM"
	    " acme_limits", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* 3 per hour: three taken, the fourth refused for 20 minutes. */
static void
test_budget(void **state)
{
	struct sqfx *fx = *state;
	int64_t retry = 0;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(charge(fx->l, "o:acct1", 3, 3600, T0,
		    LAL_TAKE, NULL), LEDGER_OK);
	assert_int_equal(charge(fx->l, "o:acct1", 3, 3600, T0, LAL_TAKE,
	    &retry), LEDGER_ERR_STATE);
	assert_int_equal(retry, 1200);
	/* Another key has its own budget. */
	assert_int_equal(charge(fx->l, "o:acct2", 3, 3600, T0, LAL_TAKE,
	    NULL), LEDGER_OK);
	/* A peek sees the empty bucket and changes nothing. */
	assert_int_equal(charge(fx->l, "o:acct1", 3, 3600, T0 + 3 * S,
	    LAL_PEEK, &retry), LEDGER_ERR_STATE);
	assert_int_equal(retry, 1197);
	assert_int_equal(charge(fx->l, "o:acct1", 3, 3600, T0, LAL_TAKE,
	    &retry), LEDGER_ERR_STATE);
	assert_int_equal(retry, 1200);
	/* A give undoes one take. */
	assert_int_equal(charge(fx->l, "o:acct1", 3, 3600, T0, LAL_GIVE,
	    NULL), LEDGER_OK);
	assert_int_equal(charge(fx->l, "o:acct1", 3, 3600, T0, LAL_PEEK,
	    NULL), LEDGER_OK);
	assert_int_equal(charge(fx->l, "o:acct1", 3, 3600, T0, LAL_TAKE,
	    NULL), LEDGER_OK);
	assert_int_equal(charge(fx->l, "o:acct1", 3, 3600, T0, LAL_TAKE,
	    NULL), LEDGER_ERR_STATE);
	/* 20 minutes later exactly one more token is there. */
	assert_int_equal(charge(fx->l, "o:acct1", 3, 3600,
	    T0 + 1200 * S, LAL_TAKE, NULL), LEDGER_OK);
	assert_int_equal(charge(fx->l, "o:acct1", 3, 3600,
	    T0 + 1201 * S, LAL_TAKE, &retry), LEDGER_ERR_STATE);
	assert_int_equal(retry, 1199);
	/* A key never charged: a peek finds a full bucket. */
	assert_int_equal(charge(fx->l, "f:acct3", 2, 60, T0, LAL_PEEK,
	    NULL), LEDGER_OK);
}

/* The engine restarts: a new handle on the same file still refuses. */
static void
test_survives_reopen(void **state)
{
	struct sqfx *fx = *state;
	int64_t retry = 0;

	assert_int_equal(charge(fx->l, "a:7f000001", 2, 86400, T0, LAL_TAKE,
	    NULL), LEDGER_OK);
	assert_int_equal(charge(fx->l, "a:7f000001", 2, 86400, T0, LAL_TAKE,
	    NULL), LEDGER_OK);
	ledger_close(fx->l);
	fx->l = NULL;
	assert_int_equal(ledger_open("sqlite", fx->path, &fx->l), LEDGER_OK);
	assert_int_equal(charge(fx->l, "a:7f000001", 2, 86400, T0 + S,
	    LAL_TAKE, &retry), LEDGER_ERR_STATE);
	assert_int_equal(retry, 43200 - 1);
}

/* Full buckets are removed as takes go: growth is bounded. */
static void
test_sweep(void **state)
{
	struct sqfx *fx = *state;
	char key[32];
	int i;

	for (i = 0; i < 3 * LEDGER_ACME_LIMIT_SWEEP; i++) {
		snprintf(key, sizeof(key), "a:%08x", i);
		assert_int_equal(charge(fx->l, key, 5, 10, T0, LAL_TAKE,
		    NULL), LEDGER_OK);
	}
	assert_int_equal(rows(fx), 3 * LEDGER_ACME_LIMIT_SWEEP);
	/* A minute later every one of them is full again. */
	assert_int_equal(charge(fx->l, "o:x", 5, 10, T0 + 60 * S, LAL_TAKE,
	    NULL), LEDGER_OK);
	assert_int_equal(rows(fx), 2 * LEDGER_ACME_LIMIT_SWEEP + 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(charge(fx->l, "o:x", 5, 10,
		    T0 + (61 + i) * S, LAL_TAKE, NULL), LEDGER_OK);
	assert_int_equal(rows(fx), 1);
	/* Nor is a bucket still filling ever swept: 3 of 5 are left. */
	for (i = 0; i < 3; i++)
		assert_int_equal(charge(fx->l, "o:x", 5, 10, T0 + 64 * S,
		    LAL_TAKE, NULL), LEDGER_OK);
	assert_int_equal(charge(fx->l, "o:x", 5, 10, T0 + 64 * S, LAL_TAKE,
	    NULL), LEDGER_ERR_STATE);
}

static void
test_args(void **state)
{
	struct sqfx *fx = *state;
	char key[LEDGER_ACME_LIMIT_KEY + 2];

	assert_int_equal(charge(fx->l, "k", 0, 60, T0, LAL_TAKE, NULL),
	    LEDGER_ERR_ARG);
	assert_int_equal(charge(fx->l, "k", 1, 0, T0, LAL_TAKE, NULL),
	    LEDGER_ERR_ARG);
	assert_int_equal(charge(fx->l, "", 1, 60, T0, LAL_TAKE, NULL),
	    LEDGER_ERR_ARG);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(charge(fx->l, key, 1, 60, T0, LAL_TAKE, NULL),
	    LEDGER_ERR_ARG);
	assert_int_equal(charge(fx->l, "k", 1, 60, T0,
	    (enum ledger_acme_limit_mode)7, NULL), LEDGER_ERR_ARG);
	assert_int_equal(ledger_acme_limit(fx->l, NULL), LEDGER_ERR_ARG);
	/* Wall-clock now when none is given. */
	assert_int_equal(charge(fx->l, "k", 1, 60, 0, LAL_TAKE, NULL),
	    LEDGER_OK);
	assert_int_equal(charge(fx->l, "k", 1, 60, 0, LAL_TAKE, NULL),
	    LEDGER_ERR_STATE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_survives_reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
