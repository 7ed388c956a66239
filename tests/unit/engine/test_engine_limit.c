/*
 * The engine's token buckets (eng_limit.c): burst, refill, Retry-After,
 * independence of keys, give back after success, bounded memory under a
 * flood of identities; source keys (IPv4, IPv4-mapped, one /64 per
 * IPv6 subscriber); and failed authentications aggregated per source and
 * window (eng_authfail.c), bounded whatever the number of sources.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eng_authfail.h"
#include "eng_limit.h"
#include "eng_stats.h"

static void
test_burst_refill(void **state)
{
	struct eng_buckets *t = calloc(1, sizeof(*t));
	unsigned retry;
	int i;

	assert_non_null(t);
	for (i = 0; i < 5; i++)
		assert_true(eng_bucket_take(t, "c:a", 1000, 2, 5, &retry));
	assert_false(eng_bucket_take(t, "c:a", 1000, 2, 5, &retry));
	assert_int_equal(retry, 1);
	/* Another key has its own bucket. */
	assert_true(eng_bucket_take(t, "c:b", 1000, 2, 5, &retry));
	/* 2 per second: after 500 ms one more. */
	assert_true(eng_bucket_take(t, "c:a", 1500, 2, 5, &retry));
	assert_false(eng_bucket_take(t, "c:a", 1500, 2, 5, &retry));
	/* Refill caps at the burst. */
	for (i = 0; i < 5; i++)
		assert_true(eng_bucket_take(t, "c:a", 100000, 2, 5, &retry));
	assert_false(eng_bucket_take(t, "c:a", 100000, 2, 5, &retry));
	free(t);
}

static void
test_slow_rate_retry(void **state)
{
	struct eng_buckets *t = calloc(1, sizeof(*t));
	unsigned retry;

	assert_non_null(t);
	assert_true(eng_bucket_take(t, "t:x", 0, 0.1, 1, &retry));
	assert_false(eng_bucket_take(t, "t:x", 0, 0.1, 1, &retry));
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
	struct eng_buckets *t = calloc(1, sizeof(*t));
	unsigned retry;
	int i;

	assert_non_null(t);
	for (i = 0; i < 10; i++) {
		assert_true(eng_bucket_take(t, "4:7f000002", 0, 1, 2, &retry));
		eng_bucket_give(t, "4:7f000002", 0, 1, 2);
	}
	eng_bucket_give(t, "4:7f000002", 0, 1, 2);
	assert_true(eng_bucket_take(t, "4:7f000002", 0, 1, 2, &retry));
	assert_true(eng_bucket_take(t, "4:7f000002", 0, 1, 2, &retry));
	assert_false(eng_bucket_take(t, "4:7f000002", 0, 1, 2, &retry));
	assert_int_equal(retry, 1);
	assert_true(eng_bucket_take(t, "4:7f000002", 1000, 1, 2, &retry));
	free(t);
}

static void
test_unlimited_and_flood(void **state)
{
	struct eng_buckets *t = calloc(1, sizeof(*t));
	char key[32];
	unsigned retry;
	int i;

	assert_non_null(t);
	for (i = 0; i < 100; i++) {
		assert_true(eng_bucket_take(t, "c:a", 0, 0, 0, &retry));
		assert_true(eng_bucket_take(t, "", 0, 1, 1, &retry));
	}
	for (i = 0; i < 3 * ENG_LIMIT_SLOTS; i++) {
		snprintf(key, sizeof(key), "c:%d", i);
		assert_true(eng_bucket_take(t, key, (uint64_t)i, 1, 1, &retry));
	}
	assert_true(t->used <= ENG_LIMIT_SLOTS);
	free(t);
}

/*
 * The appliance-wide bucket (rate_ocsp_sign): starts full, refills, and
 * is its own, so no flood of source keys in a table evicts it back to
 * full (which would let many sources sign at the sum of their budgets).
 */
static void
test_one_bucket(void **state)
{
	struct eng_buckets *t = calloc(1, sizeof(*t));
	struct eng_bucket all;
	char key[ENG_LIMIT_KEY];
	unsigned retry;
	int i, signed_ = 0;

	assert_non_null(t);
	memset(&all, 0, sizeof(all));
	/* 64 sources, each well within its own budget of 1000. */
	for (i = 0; i < 64 * 20; i++) {
		snprintf(key, sizeof(key), "4:7f0000%02x", i % 64);
		if (eng_bucket_take(t, key, 5000, 1000, 1000, &retry) &&
		    eng_bucket_take1(&all, 5000, 1, 2, &retry))
			signed_++;
	}
	assert_int_equal(signed_, 2);
	assert_int_equal(retry, 1);
	/* One per second after that. */
	assert_true(eng_bucket_take1(&all, 6000, 1, 2, &retry));
	assert_false(eng_bucket_take1(&all, 6000, 1, 2, &retry));
	/* rate 0: no cap. */
	assert_true(eng_bucket_take1(&all, 6000, 0, 0, &retry));
	free(t);
}

/* Per-target counts: bounded rows, the "" row for the rest. */
static void
test_stats_rows(void **state)
{
	struct eng_stats *s = eng_stats_new();
	struct proto_health_rep *h = calloc(1, sizeof(*h));
	char name[32];
	size_t i;

	assert_non_null(s);
	assert_non_null(h);
	eng_stats_count(s, "dev", "device", ENG_ST_ISSUED, PROTO_R_OK);
	eng_stats_count(s, "dev", "device", ENG_ST_REFUSED,
	    PROTO_R_FORBIDDEN);
	eng_stats_count(s, NULL, NULL, ENG_ST_REFUSED, PROTO_R_UNAUTHORIZED);
	eng_stats_count(s, "dev", "device", ENG_ST_REVOKED, PROTO_R_OK);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "p%zu", i);
		eng_stats_count(s, "dev", name, ENG_ST_ISSUED, PROTO_R_OK);
	}
	eng_stats_health(s, h);
	assert_int_equal(h->ntargets, PROTO_MAX_TARGETS);
	assert_string_equal(h->targets[0].tenant, "dev");
	assert_int_equal(h->targets[0].issued, 1);
	assert_int_equal(h->targets[0].revoked, 1);
	assert_int_equal(h->targets[0].refused[PROTO_R_FORBIDDEN], 1);
	assert_string_equal(h->targets[1].tenant, "");
	assert_int_equal(h->targets[1].refused[PROTO_R_UNAUTHORIZED], 1);
	/* 61 more profiles got rows; the other 139 count in "". */
	assert_int_equal(h->targets[1].issued, 200 - (PROTO_MAX_TARGETS - 2));
	free(h);
	eng_stats_free(s);
}

static void
test_source_keys(void **state)
{
	const uint8_t v4[4] = { 127, 0, 0, 2 };
	const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff, 127, 0, 0, 2 };
	uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2 };
	char k1[ENG_LIMIT_KEY], k2[ENG_LIMIT_KEY], txt[64];

	eng_limit_source_key(v4, 4, k1);
	assert_string_equal(k1, "4:7f000002");
	eng_limit_source_key(mapped, 16, k2);
	assert_string_equal(k1, k2);
	eng_limit_source_key(NULL, 0, k1);
	assert_string_equal(k1, "");
	/* Two addresses of one /64 are one source; another /64 is not. */
	a[15] = 1;
	eng_limit_source_key(a, 16, k1);
	a[15] = 0xfe;
	a[9] = 7;
	eng_limit_source_key(a, 16, k2);
	assert_string_equal(k1, k2);
	assert_string_equal(k1, "6:20010db800010002");
	a[7] = 3;
	eng_limit_source_key(a, 16, k2);
	assert_string_not_equal(k1, k2);
	eng_limit_source_text(v4, 4, txt, sizeof(txt));
	assert_string_equal(txt, "127.0.0.2");
	eng_limit_source_text(a, 16, txt, sizeof(txt));
	assert_string_equal(txt, "2001:db8:1:3::/64");
	eng_limit_source_text(NULL, 0, txt, sizeof(txt));
	assert_string_equal(txt, "-");
}

/*
 * Failures of one source: the first of a window is written, the rest
 * counted; the count comes out once the window has passed (or when the
 * next window opens), and a window of 0 writes every failure.
 */
static void
test_authfail_window(void **state)
{
	struct eng_af_table *t = calloc(1, sizeof(*t));
	struct eng_af_summary sum, due[4];
	int have, i;

	assert_non_null(t);
	assert_int_equal(eng_af_note(t, "4:7f000002", "127.0.0.2", "r0", 100,
	    60, &sum, &have), 1);
	assert_int_equal(have, 0);
	for (i = 1; i <= 1000; i++)
		assert_int_equal(eng_af_note(t, "4:7f000002", "127.0.0.2",
		    i == 1000 ? "the last" : "r", 100 + (uint64_t)i % 60, 60,
		    &sum, &have), 0);
	/* Another source is written on its own. */
	assert_int_equal(eng_af_note(t, "4:7f000003", "127.0.0.3", "x", 120,
	    60, &sum, &have), 1);
	assert_int_equal(eng_af_due(t, 159, 60, 0, due, 4), 0);
	assert_int_equal(eng_af_due(t, 160, 60, 0, due, 4), 1);
	assert_string_equal(due[0].text, "127.0.0.2");
	assert_int_equal(due[0].count, 1000);
	assert_int_equal(due[0].window_s, 60);
	assert_string_equal(due[0].reason, "the last");
	/* Written once: the next failure opens a new window. */
	assert_int_equal(eng_af_due(t, 161, 60, 0, due, 4), 0);
	assert_int_equal(eng_af_note(t, "4:7f000002", "127.0.0.2", "r", 161,
	    60, &sum, &have), 1);
	assert_int_equal(eng_af_note(t, "4:7f000002", "127.0.0.2", "r", 162,
	    60, &sum, &have), 0);
	/* A late failure brings the old count with it. */
	assert_int_equal(eng_af_note(t, "4:7f000002", "127.0.0.2", "r", 500,
	    60, &sum, &have), 1);
	assert_int_equal(have, 1);
	assert_int_equal(sum.count, 1);
	/* Shutdown writes what is counted, window over or not. */
	assert_int_equal(eng_af_note(t, "4:7f000002", "127.0.0.2", "r", 501,
	    60, &sum, &have), 0);
	assert_int_equal(eng_af_due(t, 502, 60, 1, due, 4), 1);
	assert_int_equal(due[0].count, 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(eng_af_note(t, "4:7f000002", "127.0.0.2", "r",
		    600, 0, &sum, &have), 1);
	free(t);
}

/* Many sources: the table stays bounded, the rest share one entry. */
static void
test_authfail_sources(void **state)
{
	struct eng_af_table *t = calloc(1, sizeof(*t));
	struct eng_af_summary sum, *due = calloc(ENG_AF_SOURCES + 1,
	    sizeof(*due));
	char key[ENG_LIMIT_KEY];
	size_t n, i;
	uint64_t written = 0, counted = 0;
	int have, k;

	assert_non_null(t);
	assert_non_null(due);
	for (k = 0; k < 3; k++)
		for (i = 0; i < 4 * ENG_AF_SOURCES; i++) {
			snprintf(key, sizeof(key), "4:%08zx", i);
			if (eng_af_note(t, key, key + 2, "r", 10, 60, &sum,
			    &have))
				written++;
			else
				counted++;
		}
	/* At most one row per tracked source and one for the others. */
	assert_true(written <= ENG_AF_SOURCES + 1);
	/* And every counted failure comes out in one summary row or another. */
	n = eng_af_due(t, 70, 60, 0, due, ENG_AF_SOURCES + 1);
	assert_true(n <= ENG_AF_SOURCES + 1);
	for (i = 0; i < n; i++)
		counted -= due[i].count;
	assert_int_equal(counted, 0);
	free(due);
	free(t);
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
		cmocka_unit_test(test_one_bucket),
		cmocka_unit_test(test_stats_rows),
		cmocka_unit_test(test_authfail_window),
		cmocka_unit_test(test_authfail_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
