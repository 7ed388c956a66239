/*
 * The CoAP front end's exchange cache (api/coap/ec_dup.c): a retransmitted
 * CON finds its exchange in flight or its answer; the bounds per session,
 * in all and in bytes push out only answered exchanges, never one in
 * flight; answers expire after EXCHANGE_LIFETIME; a session's end forgets
 * its exchanges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "signet/ec_dup.h"

static const uint8_t tok_a[] = { 1, 2, 3, 4 };
static const uint8_t tok_b[] = { 5, 6 };
static int sess[EC_DUP_MAX + 8];	/* distinct session addresses */

static void
answer(struct ec_dup *d, struct ec_dup_entry *e, size_t len, int64_t now)
{
	struct ec_answer a;

	memset(&a, 0, sizeof(a));
	a.code = 204;
	if (len > 0) {
		assert_non_null(a.data = malloc(len));
		memset(a.data, 0xa5, len);
		a.len = len;
	}
	ec_dup_done(d, e, &a, now);
	assert_null(a.data);
}

static void
test_find(void **state)
{
	struct ec_dup d;
	struct ec_dup_entry *e;

	ec_dup_init(&d);
	assert_non_null(e = ec_dup_start(&d, &sess[0], 7, tok_a,
	    sizeof(tok_a)));
	assert_int_equal(e->state, EC_DUP_INFLIGHT);
	/* The retransmission: same session, message id and token. */
	assert_ptr_equal(ec_dup_find(&d, &sess[0], 7, tok_a, sizeof(tok_a)),
	    e);
	assert_ptr_equal(ec_dup_byid(&d, e->id), e);
	/* Not a retransmission: another session, id or token. */
	assert_null(ec_dup_find(&d, &sess[1], 7, tok_a, sizeof(tok_a)));
	assert_null(ec_dup_find(&d, &sess[0], 8, tok_a, sizeof(tok_a)));
	assert_null(ec_dup_find(&d, &sess[0], 7, tok_b, sizeof(tok_b)));
	assert_null(ec_dup_find(&d, &sess[0], 7, tok_a, 3));
	answer(&d, e, 100, 1000);
	e = ec_dup_find(&d, &sess[0], 7, tok_a, sizeof(tok_a));
	assert_non_null(e);
	assert_int_equal(e->state, EC_DUP_DONE);
	assert_int_equal(e->ans.code, 204);
	assert_int_equal(e->ans.len, 100);
	assert_int_equal(d.bytes, 100);
	/* Too long a token is no CoAP token. */
	assert_null(ec_dup_start(&d, &sess[0], 9, tok_a, EC_DUP_TOKEN + 1));
	ec_dup_free(&d);
	assert_int_equal(d.n, 0);
}

static void
test_session_bound(void **state)
{
	struct ec_dup d;
	struct ec_dup_entry *e[EC_DUP_SESSION], *x;
	uint64_t first;
	int i;

	ec_dup_init(&d);
	for (i = 0; i < EC_DUP_SESSION; i++)
		assert_non_null(e[i] = ec_dup_start(&d, &sess[0],
		    (uint16_t)i, tok_a, sizeof(tok_a)));
	/* All in flight: no room, and nothing was pushed out. */
	assert_null(ec_dup_start(&d, &sess[0], 100, tok_a, sizeof(tok_a)));
	assert_int_equal(d.n, EC_DUP_SESSION);
	/* Another session is not charged for this one. */
	assert_non_null(x = ec_dup_start(&d, &sess[1], 100, tok_a,
	    sizeof(tok_a)));
	ec_dup_forget(&d, x);
	/* An answer not yet sent (app set) is never pushed out. */
	e[0]->app = &sess[0];
	answer(&d, e[0], 10, 0);
	assert_null(ec_dup_start(&d, &sess[0], 100, tok_a, sizeof(tok_a)));
	/* Once one is answered, it makes room: the oldest answered goes. */
	first = e[1]->id;
	answer(&d, e[1], 10, 0);
	answer(&d, e[2], 10, 0);
	assert_non_null(x = ec_dup_start(&d, &sess[0], 100, tok_a,
	    sizeof(tok_a)));
	assert_null(ec_dup_byid(&d, first));
	assert_non_null(ec_dup_find(&d, &sess[0], 2, tok_a, sizeof(tok_a)));
	assert_non_null(ec_dup_find(&d, &sess[0], 0, tok_a, sizeof(tok_a)));
	assert_int_equal(d.evicted, 1);
	assert_int_equal(d.bytes, 20);
	ec_dup_free(&d);
}

static void
test_total_bound(void **state)
{
	struct ec_dup d;
	struct ec_dup_entry *e, *first = NULL;
	uint64_t first_id;
	int i;

	ec_dup_init(&d);
	for (i = 0; i < EC_DUP_MAX; i++) {
		assert_non_null(e = ec_dup_start(&d, &sess[i], 1, tok_a,
		    sizeof(tok_a)));
		if (first == NULL)
			first = e;
	}
	assert_int_equal(d.n, EC_DUP_MAX);
	assert_null(ec_dup_start(&d, &sess[EC_DUP_MAX], 1, tok_a,
	    sizeof(tok_a)));
	first_id = first->id;
	answer(&d, first, 1, 0);
	assert_non_null(ec_dup_start(&d, &sess[EC_DUP_MAX], 1, tok_a,
	    sizeof(tok_a)));
	assert_null(ec_dup_byid(&d, first_id));
	assert_int_equal(d.n, EC_DUP_MAX);
	ec_dup_free(&d);
}

static void
test_byte_bound(void **state)
{
	struct ec_dup d;
	struct ec_dup_entry *e;
	size_t len = EC_DUP_BYTES / 4 + 1;
	uint64_t ids[4];
	int i;

	ec_dup_init(&d);
	for (i = 0; i < 4; i++) {
		assert_non_null(e = ec_dup_start(&d, &sess[i], 1, tok_a,
		    sizeof(tok_a)));
		ids[i] = e->id;
		answer(&d, e, len, 0);
		assert_true(d.bytes <= EC_DUP_BYTES);
	}
	/* The fourth answer pushed out the first, and only it. */
	assert_null(ec_dup_byid(&d, ids[0]));
	for (i = 1; i < 4; i++)
		assert_non_null(ec_dup_byid(&d, ids[i]));
	assert_int_equal(d.bytes, 3 * len);
	/* An answer larger than the bound alone is still kept to be sent. */
	assert_non_null(e = ec_dup_start(&d, &sess[9], 1, tok_a,
	    sizeof(tok_a)));
	ids[0] = e->id;
	answer(&d, e, EC_DUP_BYTES + 1, 0);
	assert_non_null(ec_dup_byid(&d, ids[0]));
	assert_int_equal(d.n, 1);
	ec_dup_free(&d);
	assert_int_equal(d.bytes, 0);
}

static void
test_expire_and_session_end(void **state)
{
	struct ec_dup d;
	struct ec_dup_entry *e, *f;

	ec_dup_init(&d);
	assert_non_null(e = ec_dup_start(&d, &sess[0], 1, tok_a,
	    sizeof(tok_a)));
	assert_non_null(f = ec_dup_start(&d, &sess[0], 2, tok_b,
	    sizeof(tok_b)));
	answer(&d, e, 5, 1000);
	/* Kept for EXCHANGE_LIFETIME, in-flight ones whatever the time. */
	ec_dup_expire(&d, 1000 + EC_DUP_KEEP_MS);
	assert_int_equal(d.n, 2);
	ec_dup_expire(&d, 1001 + EC_DUP_KEEP_MS);
	assert_int_equal(d.n, 1);
	assert_ptr_equal(ec_dup_find(&d, &sess[0], 2, tok_b, sizeof(tok_b)),
	    f);
	assert_non_null(ec_dup_start(&d, &sess[1], 2, tok_b, sizeof(tok_b)));
	ec_dup_drop_session(&d, &sess[0]);
	assert_int_equal(d.n, 1);
	assert_null(ec_dup_find(&d, &sess[0], 2, tok_b, sizeof(tok_b)));
	assert_non_null(ec_dup_find(&d, &sess[1], 2, tok_b, sizeof(tok_b)));
	ec_dup_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_session_bound),
		cmocka_unit_test(test_total_bound),
		cmocka_unit_test(test_byte_bound),
		cmocka_unit_test(test_expire_and_session_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
