/*
 * The engine's token buckets (ca_limit.c): burst, refill, Retry-After,
 * independence of keys, give back after success, bounded memory under a
 * flood of identities; and source keys (IPv4, IPv4-mapped, one /64 per
 * IPv6 subscriber).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ca_limit.h"

static void
test_burst_refill(void **state)
{
	struct ca_buckets *t = calloc(1, sizeof(*t));
	unsigned retry;
	int i;

	assert_non_null(t);
	for (i = 0; i < 5; i++)
		assert_true(ca_bucket_take(t, "c:a", 1000, 2, 5, &retry));
	assert_false(ca_bucket_take(t, "c:a", 1000, 2, 5, &retry));
	assert_int_equal(retry, 1);
	/* Another key has its own bucket. */
	assert_true(ca_bucket_take(t, "c:b", 1000, 2, 5, &retry));
	/* 2 per second: after 500 ms one more. */
	assert_true(ca_bucket_take(t, "c:a", 1500, 2, 5, &retry));
	assert_false(ca_bucket_take(t, "c:a", 1500, 2, 5, &retry));
	/* Refill caps at the burst. */
	for (i = 0; i < 5; i++)
		assert_true(ca_bucket_take(t, "c:a", 100000, 2, 5, &retry));
	assert_false(ca_bucket_take(t, "c:a", 100000, 2, 5, &retry));
	free(t);
}

static void
test_slow_rate_retry(void **state)
{
	struct ca_buckets *t = calloc(1, sizeof(*t));
	unsigned retry;

	assert_non_null(t);
	assert_true(ca_bucket_take(t, "t:x", 0, 0.1, 1, &retry));
	assert_false(ca_bucket_take(t, "t:x", 0, 0.1, 1, &retry));
	assert_true(retry >= 10 && retry <= 11);
	free(t);
}

/*
 * The failure budget takes before authentication and gives back on
 * success: successes never empty it, failures do, and a give never
 * raises a bucket above its burst.
 */
static void
test_take_give(void **state)
{
	struct ca_buckets *t = calloc(1, sizeof(*t));
	unsigned retry;
	int i;

	assert_non_null(t);
	for (i = 0; i < 10; i++) {
		assert_true(ca_bucket_take(t, "4:7f000002", 0, 1, 2, &retry));
		ca_bucket_give(t, "4:7f000002", 0, 1, 2);
	}
	ca_bucket_give(t, "4:7f000002", 0, 1, 2);
	assert_true(ca_bucket_take(t, "4:7f000002", 0, 1, 2, &retry));
	assert_true(ca_bucket_take(t, "4:7f000002", 0, 1, 2, &retry));
	assert_false(ca_bucket_take(t, "4:7f000002", 0, 1, 2, &retry));
	assert_int_equal(retry, 1);
	assert_true(ca_bucket_take(t, "4:7f000002", 1000, 1, 2, &retry));
	free(t);
}

static void
test_unlimited_and_flood(void **state)
{
	struct ca_buckets *t = calloc(1, sizeof(*t));
	char key[32];
	unsigned retry;
	int i;

	assert_non_null(t);
	for (i = 0; i < 100; i++) {
		assert_true(ca_bucket_take(t, "c:a", 0, 0, 0, &retry));
		assert_true(ca_bucket_take(t, "", 0, 1, 1, &retry));
	}
	for (i = 0; i < 3 * CA_LIMIT_SLOTS; i++) {
		snprintf(key, sizeof(key), "c:%d", i);
		assert_true(ca_bucket_take(t, key, (uint64_t)i, 1, 1, &retry));
	}
	assert_true(t->used <= CA_LIMIT_SLOTS);
	free(t);
}

static void
test_source_keys(void **state)
{
	const uint8_t v4[4] = { 127, 0, 0, 2 };
	const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff, 127, 0, 0, 2 };
	uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2 };
	char k1[CA_LIMIT_KEY], k2[CA_LIMIT_KEY], txt[64];

	ca_limit_source_key(v4, 4, k1);
	assert_string_equal(k1, "4:7f000002");
	ca_limit_source_key(mapped, 16, k2);
	assert_string_equal(k1, k2);
	ca_limit_source_key(NULL, 0, k1);
	assert_string_equal(k1, "");
	/* Two addresses of one /64 are one source; another /64 is not. */
	a[15] = 1;
	ca_limit_source_key(a, 16, k1);
	a[15] = 0xfe;
	a[9] = 7;
	ca_limit_source_key(a, 16, k2);
	assert_string_equal(k1, k2);
	assert_string_equal(k1, "6:20010db800010002");
	a[7] = 3;
	ca_limit_source_key(a, 16, k2);
	assert_string_not_equal(k1, k2);
	ca_limit_source_text(v4, 4, txt, sizeof(txt));
	assert_string_equal(txt, "127.0.0.2");
	ca_limit_source_text(a, 16, txt, sizeof(txt));
	assert_string_equal(txt, "2001:db8:1:3::/64");
	ca_limit_source_text(NULL, 0, txt, sizeof(txt));
	assert_string_equal(txt, "-");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_refill),
		cmocka_unit_test(test_slow_rate_retry),
		cmocka_unit_test(test_take_give),
		cmocka_unit_test(test_unlimited_and_flood),
		cmocka_unit_test(test_source_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
