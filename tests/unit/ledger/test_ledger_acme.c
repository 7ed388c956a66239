/*
 * ACME state in the SQLite ledger (issue 20): the single-node backend
 * says it is not shared and refuses the cluster's nonce statements
 * (LEDGER_ERR_ARG: the engine keeps nonces in memory); an authorization
 * validated within the window is found and reused by copy; a copy of one
 * that is no longer valid fails the whole order.  The PostgreSQL side is
 * tests/unit/ledger_pgsql/test_ledger_pgsql_acme.c.
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

#include <signet/ledger.h>
#include <signet/ledger_acme.h>

#include "certgen.h"

#define T0	1700000000LL

static int
setup(void **state)
{
	static struct sqfx fx;

	if (sqfx_open(&fx, "acme") != 0)
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

static void
step(struct ledger_acme_step *s, enum ledger_acme_stmt stmt, int one)
{
	memset(s, 0, sizeof(*s));
	s->stmt = stmt;
	s->one = one;
}

static void
add(struct ledger_acme_step *s, struct ledger_val v)
{
	s->v[s->n++] = v;
}

static int
count(const struct ledger_val *v, size_t n, void *arg)
{
	(void)v;
	(void)n;
	(*(int *)arg)++;
	return 0;
}

static void
test_not_shared(void **state)
{
	struct sqfx *fx = *state;
	struct ledger_acme_step st;
	uint8_t id[16] = { 0 };
	int n = 0;

	assert_false(ledger_acme_shared(fx->l));
	step(&st, LA_NONCE_USE, 1);
	add(&st, ledger_vb(id, sizeof(id)));
	add(&st, ledger_vi(T0));
	assert_int_equal(ledger_acme_write(fx->l, &st, 1, NULL),
	    LEDGER_ERR_ARG);
	assert_int_equal(ledger_acme_read(fx->l, LA_NONCE_KEY, NULL, 0, count,
	    &n), LEDGER_ERR_ARG);
	assert_int_equal(n, 0);
}

struct hit {
	char	id[32];
	int64_t	validated;
	int	n;
};

static int
hit_row(const struct ledger_val *v, size_t n, void *arg)
{
	struct hit *h = arg;

	assert_int_equal(n, 2);
	snprintf(h->id, sizeof(h->id), "%s", v[0].s);
	h->validated = v[1].i;
	h->n++;
	return 0;
}

static void
order(struct ledger_acme_step *st, const char *id)
{
	step(st, LA_ORDER_INSERT, 1);
	add(st, ledger_vt(id));
	add(st, ledger_vt("acct"));
	add(st, ledger_vt("a.example"));
	add(st, ledger_vi(T0 + 3600));
	add(st, ledger_vi(T0));
	add(st, ledger_vt(""));
}

static void
test_authz_reuse(void **state)
{
	struct sqfx *fx = *state;
	struct ledger_acme_step st[3];
	struct ledger_val args[4];
	struct hit h;
	static const uint8_t key[] = { 0x30 };
	int n;

	step(&st[0], LA_ACCT_INSERT, 1);
	add(&st[0], ledger_vt("acct"));
	add(&st[0], ledger_vt("dev-acme"));
	add(&st[0], ledger_vt("dev"));
	add(&st[0], ledger_vt("acme"));
	add(&st[0], ledger_vt("thumb"));
	add(&st[0], ledger_vb(key, sizeof(key)));
	add(&st[0], ledger_vt("[]"));
	add(&st[0], ledger_vt("kid"));
	add(&st[0], ledger_vi(T0));
	assert_int_equal(ledger_acme_write(fx->l, st, 1, NULL), LEDGER_OK);
	order(&st[0], "o1");
	step(&st[1], LA_AUTHZ_INSERT, 1);
	add(&st[1], ledger_vt("z1"));
	add(&st[1], ledger_vt("o1"));
	add(&st[1], ledger_vt("acct"));
	add(&st[1], ledger_vt("dns"));
	add(&st[1], ledger_vt("a.example"));
	add(&st[1], ledger_vi(T0 + 3600));
	add(&st[1], ledger_vt("c1"));
	add(&st[1], ledger_vt("c1"));
	step(&st[2], LA_CHALL_START, 1);
	add(&st[2], ledger_vt("c1"));
	add(&st[2], ledger_vt("acct"));
	add(&st[2], ledger_vt("http-01"));
	assert_int_equal(ledger_acme_write(fx->l, st, 3, NULL), LEDGER_OK);
	args[0] = ledger_vt("acct");
	args[1] = ledger_vt("dns");
	args[2] = ledger_vt("a.example");
	args[3] = ledger_vi(T0);
	memset(&h, 0, sizeof(h));
	assert_int_equal(ledger_acme_read(fx->l, LA_AUTHZ_REUSABLE, args, 4,
	    hit_row, &h), LEDGER_OK);
	assert_int_equal(h.n, 0);	/* processing, not valid */
	step(&st[0], LA_CHALL_DONE, 1);
	add(&st[0], ledger_vt("c1"));
	add(&st[0], ledger_vt("valid"));
	add(&st[0], ledger_vi(T0 + 100));
	add(&st[0], ledger_vt(""));
	assert_int_equal(ledger_acme_write(fx->l, st, 1, NULL), LEDGER_OK);
	args[3] = ledger_vi(T0 + 101);	/* the window began after it */
	assert_int_equal(ledger_acme_read(fx->l, LA_AUTHZ_REUSABLE, args, 4,
	    hit_row, &h), LEDGER_OK);
	assert_int_equal(h.n, 0);
	args[3] = ledger_vi(T0 + 100);
	assert_int_equal(ledger_acme_read(fx->l, LA_AUTHZ_REUSABLE, args, 4,
	    hit_row, &h), LEDGER_OK);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.id, "z1");
	assert_int_equal(h.validated, T0 + 100);
	order(&st[0], "o2");
	step(&st[1], LA_AUTHZ_REUSE, 1);
	add(&st[1], ledger_vt("z2"));
	add(&st[1], ledger_vt("o2"));
	add(&st[1], ledger_vt("c2"));
	add(&st[1], ledger_vt("z1"));
	add(&st[1], ledger_vi(T0 + 1800));
	assert_int_equal(ledger_acme_write(fx->l, st, 2, NULL), LEDGER_OK);
	n = 0;
	args[0] = ledger_vt("o2");
	assert_int_equal(ledger_acme_read(fx->l, LA_AUTHZ_OF_ORDER, args, 1,
	    count, &n), LEDGER_OK);
	assert_int_equal(n, 1);
	/* No such valid authorization: the copy, and its order, fail. */
	order(&st[0], "o3");
	st[1].v[0] = ledger_vt("z3");
	st[1].v[1] = ledger_vt("o3");
	st[1].v[2] = ledger_vt("c3");
	st[1].v[3] = ledger_vt("nonexistent");
	assert_int_equal(ledger_acme_write(fx->l, st, 2, NULL),
	    LEDGER_ERR_STATE);
	n = 0;
	args[0] = ledger_vt("o3");
	args[1] = ledger_vt("acct");
	assert_int_equal(ledger_acme_read(fx->l, LA_ORDER_GET, args, 2, count,
	    &n), LEDGER_OK);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_not_shared, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_authz_reuse, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
