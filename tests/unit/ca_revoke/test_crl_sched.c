/*
 * The CRL rebuild schedule, with injected time: a revocation is published
 * within the debounce window, a burst costs one rebuild, a revocation
 * during a build gets its own window, and a CRL is replaced at two
 * thirds of its lifetime whatever happens.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signet/ca_revoke.h>

#define T0 1700000000
#define DAY 86400

static void
build(struct ca_crl_sched *s, time_t now)
{
	uint64_t gen = ca_crl_sched_begin(s);

	ca_crl_sched_built(s, gen, now, now + DAY);
}

static void
test_first_build_is_due_now(void **state)
{
	struct ca_crl_sched s;

	(void)state;
	assert_int_equal(ca_crl_sched_init(&s, 0), CA_OK);
	assert_int_equal(s.debounce, CA_CRL_DEBOUNCE);
	assert_true(ca_crl_sched_should_build(&s, T0));
	build(&s, T0);
	assert_false(ca_crl_sched_should_build(&s, T0 + 1));
}

static void
test_limits(void **state)
{
	struct ca_crl_sched s;

	(void)state;
	assert_int_equal(ca_crl_sched_init(&s, CA_CRL_MAX_DELAY + 1),
	    CA_ERR_ARG);
	assert_int_equal(ca_crl_sched_init(&s, -1), CA_ERR_ARG);
	assert_int_equal(ca_crl_sched_init(&s, CA_CRL_MAX_DELAY), CA_OK);
}

/* A burst of revocations: one rebuild, within 60 s of the first. */
static void
test_debounce(void **state)
{
	struct ca_crl_sched s;
	int i;

	(void)state;
	assert_int_equal(ca_crl_sched_init(&s, 30), CA_OK);
	build(&s, T0);
	for (i = 0; i < 100; i++)
		ca_crl_sched_revoked(&s, T0 + 100 + i / 5);
	assert_int_equal(ca_crl_sched_due(&s), T0 + 130);
	assert_false(ca_crl_sched_should_build(&s, T0 + 129));
	assert_true(ca_crl_sched_should_build(&s, T0 + 130));
	assert_true(ca_crl_sched_due(&s) - (T0 + 100) <= CA_CRL_MAX_DELAY);
	build(&s, T0 + 130);
	assert_false(ca_crl_sched_should_build(&s, T0 + 131));
	/* Clean again: next due at two thirds of the new CRL's life. */
	assert_int_equal(ca_crl_sched_due(&s), T0 + 130 + DAY * 2 / 3);
}

/* A revocation that lands while the CRL is built is not in it. */
static void
test_revoked_during_build(void **state)
{
	struct ca_crl_sched s;
	uint64_t gen;

	(void)state;
	assert_int_equal(ca_crl_sched_init(&s, 30), CA_OK);
	build(&s, T0);
	ca_crl_sched_revoked(&s, T0 + 10);
	gen = ca_crl_sched_begin(&s);
	ca_crl_sched_revoked(&s, T0 + 41);
	ca_crl_sched_built(&s, gen, T0 + 40, T0 + 40 + DAY);
	assert_true(s.dirty);
	assert_int_equal(ca_crl_sched_due(&s), T0 + 71);
	build(&s, T0 + 71);
	assert_false(s.dirty);
}

/* RFC 5280 5.1.2.5: replaced well before nextUpdate without revocations. */
static void
test_before_next_update(void **state)
{
	struct ca_crl_sched s;
	uint64_t gen;

	(void)state;
	assert_int_equal(ca_crl_sched_init(&s, 0), CA_OK);
	gen = ca_crl_sched_begin(&s);
	ca_crl_sched_built(&s, gen, T0, T0 + 3 * 3600);
	assert_false(ca_crl_sched_should_build(&s, T0 + 2 * 3600 - 1));
	assert_true(ca_crl_sched_should_build(&s, T0 + 2 * 3600));
	/* A revocation near the end: the earlier deadline wins. */
	ca_crl_sched_revoked(&s, T0 + 2 * 3600 - 10);
	assert_int_equal(ca_crl_sched_due(&s), T0 + 2 * 3600);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_build_is_due_now),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_debounce),
		cmocka_unit_test(test_revoked_during_build),
		cmocka_unit_test(test_before_next_update),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
