/*
 * ACME rate limits in the PostgreSQL ledger (issue 20, ledger_acme_limit)
 * as two nodes on one database ("a1", "b2": two ledger handles, two
 * writer connections, as two appliances): the nodes spend one budget,
 * not one each; threads of both nodes charging one key at the same
 * instant get exactly n tokens between them, every time; a node that
 * restarts (a new handle) still refuses; a refusal's retry is when the
 * next token is there; full buckets are swept.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <signet/ledger.h>
#include <signet/ledger_acme.h>

#include "pgfx.h"
#include "ledgerfx.h"

#define S		1000000LL
#define T0		(1700000000LL * S)
#define RACE_THREADS	3	/* per node */
#define RACE_TRIES	20	/* takes per thread */
#define RACE_N		25	/* the budget they share */

static int
setup(void **state)
{
	static struct pgfx fx;

	pgfx_init(&fx);
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	pgfx_fini(*state);
	return 0;
}

/* 4 per hour across two nodes: 2 on each, then both refuse. */
static void
test_one_budget(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	int64_t retry = 0;

	assert_int_equal(charge(a, "o:acct", 4, 3600, T0, LAL_TAKE, NULL),
	    LEDGER_OK);
	assert_int_equal(charge(b, "o:acct", 4, 3600, T0, LAL_TAKE, NULL),
	    LEDGER_OK);
	assert_int_equal(charge(a, "o:acct", 4, 3600, T0, LAL_TAKE, NULL),
	    LEDGER_OK);
	assert_int_equal(charge(b, "o:acct", 4, 3600, T0, LAL_TAKE, NULL),
	    LEDGER_OK);
	assert_int_equal(charge(a, "o:acct", 4, 3600, T0, LAL_TAKE, &retry),
	    LEDGER_ERR_STATE);
	assert_int_equal(retry, 900);
	assert_int_equal(charge(b, "o:acct", 4, 3600, T0 + 100 * S,
	    LAL_TAKE, &retry), LEDGER_ERR_STATE);
	assert_int_equal(retry, 800);
	assert_int_equal(charge(b, "o:acct", 4, 3600, T0, LAL_PEEK, NULL),
	    LEDGER_ERR_STATE);
	/* What b gives back, a may take. */
	assert_int_equal(charge(b, "o:acct", 4, 3600, T0, LAL_GIVE, NULL),
	    LEDGER_OK);
	assert_int_equal(charge(a, "o:acct", 4, 3600, T0, LAL_PEEK, NULL),
	    LEDGER_OK);
	assert_int_equal(charge(a, "o:acct", 4, 3600, T0, LAL_TAKE, NULL),
	    LEDGER_OK);
	assert_int_equal(charge(b, "o:acct", 4, 3600, T0, LAL_TAKE, NULL),
	    LEDGER_ERR_STATE);
	/* A restarted node still refuses. */
	ledger_close(a);
	a = pgfx_open(fx, "a1", 0);
	assert_int_equal(charge(a, "o:acct", 4, 3600, T0 + S, LAL_TAKE,
	    NULL), LEDGER_ERR_STATE);
	/* 15 minutes on, one token, for whichever node asks first. */
	assert_int_equal(charge(b, "o:acct", 4, 3600, T0 + 900 * S,
	    LAL_TAKE, NULL), LEDGER_OK);
	assert_int_equal(charge(a, "o:acct", 4, 3600, T0 + 900 * S,
	    LAL_TAKE, NULL), LEDGER_ERR_STATE);
	ledger_close(a);
	ledger_close(b);
}

struct racer {
	struct ledger	*l;
	char		 key[32];
	int		 taken;
	int		 errors;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	int i, rc;

	for (i = 0; i < RACE_TRIES; i++) {
		rc = charge(r->l, r->key, RACE_N, 86400, T0, LAL_TAKE, NULL);
		if (rc == LEDGER_OK)
			r->taken++;
		else if (rc != LEDGER_ERR_STATE)
			r->errors++;
	}
	return NULL;
}

/* Threads of both nodes at once: exactly RACE_N taken, every round. */
static void
test_race(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *l[2];
	struct racer r[2 * RACE_THREADS];
	pthread_t t[2 * RACE_THREADS];
	int round, i, taken;

	l[0] = pgfx_open(fx, "a1", 0);
	l[1] = pgfx_open(fx, "b2", 0);
	for (round = 0; round < 5; round++) {
		memset(r, 0, sizeof(r));
		for (i = 0; i < 2 * RACE_THREADS; i++) {
			r[i].l = l[i % 2];
			snprintf(r[i].key, sizeof(r[i].key), "a:race%d",
			    round);
			assert_int_equal(pthread_create(&t[i], NULL, race,
			    &r[i]), 0);
		}
		taken = 0;
		for (i = 0; i < 2 * RACE_THREADS; i++) {
			assert_int_equal(pthread_join(t[i], NULL), 0);
			assert_int_equal(r[i].errors, 0);
			taken += r[i].taken;
		}
		assert_int_equal(taken, RACE_N);
		/* Both nodes took some (the race ran on both). */
		assert_true(r[0].taken + r[2].taken + r[4].taken > 0);
		assert_true(r[1].taken + r[3].taken + r[5].taken > 0);
	}
	ledger_close(l[0]);
	ledger_close(l[1]);
}

/* Full buckets go as takes come, on whichever node. */
static void
test_sweep(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	char key[32];
	int i;

	for (i = 0; i < 2 * LEDGER_ACME_LIMIT_SWEEP; i++) {
		snprintf(key, sizeof(key), "a:%08x", i);
		assert_int_equal(charge(i % 2 ? a : b, key, 5, 10, T0,
		    LAL_TAKE, NULL), LEDGER_OK);
	}
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM acme_limits"),
	    2 * LEDGER_ACME_LIMIT_SWEEP);
	assert_int_equal(charge(a, "o:x", 5, 10, T0 + 60 * S, LAL_TAKE,
	    NULL), LEDGER_OK);
	assert_int_equal(charge(b, "o:x", 5, 10, T0 + 61 * S, LAL_TAKE,
	    NULL), LEDGER_OK);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM acme_limits"),
	    1);
	ledger_close(a);
	ledger_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_budget, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
	};

	pgfx_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
