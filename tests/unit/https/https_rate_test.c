/*
 * Token buckets: burst, refill, Retry-After, independence of keys, and
 * bounded memory under a flood of identities.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "https.h"

static void
test_burst_refill(void **state)
{
	struct https_rate *r = malloc(sizeof(*r));
	unsigned retry;
	int i;

	assert_non_null(r);
	https_rate_init(r, 2, 5);
	for (i = 0; i < 5; i++)
		assert_true(https_rate_take(r, "c:a", 1000, &retry));
	assert_false(https_rate_take(r, "c:a", 1000, &retry));
	assert_int_equal(retry, 1);
	/* Another key has its own bucket. */
	assert_true(https_rate_take(r, "c:b", 1000, &retry));
	/* 2 per second: after 500 ms one more. */
	assert_true(https_rate_take(r, "c:a", 1500, &retry));
	assert_false(https_rate_take(r, "c:a", 1500, &retry));
	/* Refill caps at the burst. */
	for (i = 0; i < 5; i++)
		assert_true(https_rate_take(r, "c:a", 100000, &retry));
	assert_false(https_rate_take(r, "c:a", 100000, &retry));
	free(r);
}

static void
test_slow_rate_retry(void **state)
{
	struct https_rate *r = malloc(sizeof(*r));
	unsigned retry;

	assert_non_null(r);
	https_rate_init(r, 0.1, 1);
	assert_true(https_rate_take(r, "t:x", 0, &retry));
	assert_false(https_rate_take(r, "t:x", 0, &retry));
	assert_true(retry >= 10 && retry <= 11);
	free(r);
}

static void
test_unlimited_and_flood(void **state)
{
	struct https_rate *r = malloc(sizeof(*r));
	char key[32];
	unsigned retry;
	int i;

	assert_non_null(r);
	https_rate_init(r, 0, 0);
	for (i = 0; i < 100; i++)
		assert_true(https_rate_take(r, "c:a", 0, &retry));
	https_rate_init(r, 1, 1);
	for (i = 0; i < 3 * HTTPS_RATE_SLOTS; i++) {
		snprintf(key, sizeof(key), "c:%d", i);
		assert_true(https_rate_take(r, key, (uint64_t)i, &retry));
	}
	assert_true(r->used <= HTTPS_RATE_SLOTS);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_refill),
		cmocka_unit_test(test_slow_rate_retry),
		cmocka_unit_test(test_unlimited_and_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
