/*
 * ACME state in the PostgreSQL ledger (issue 20) through the public API
 * (signet/ledger_acme.h), as two nodes on one database ("a1", "b2": two
 * ledger handles, two writer connections, as two appliances): an order
 * made on one node is read and advanced on the other; racing finalizes
 * of one order on both nodes let exactly one through, every time; a
 * nonce's replay id is redeemed once across the two connections, also
 * when both try at the same instant; both nodes agree on one nonce key;
 * the expiry sweep is bounded; a certificate is replaced by one order
 * even when two nodes race; a valid authorization is reused by copy.
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
#include <libpq-fe.h>

#include <signet/ledger.h>
#include <signet/ledger_acme.h>

#include "pgfx.h"

#define T0	1700000000LL
#define RACES	20

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

/* An account "acct" with EAB key "kid1", made on l. */
static void
make_account(struct ledger *l)
{
	struct ledger_acme_step st[3];
	static const uint8_t key[] = { 0x30, 0x59, 0x01 };

	step(&st[0], LA_EAB_INSERT, 1);
	add(&st[0], ledger_vt("kid1"));
	add(&st[0], ledger_vt("dev"));
	add(&st[0], ledger_vt("acme"));
	add(&st[0], ledger_vt("dev-acme"));
	add(&st[0], ledger_vi(T0));
	add(&st[0], ledger_vi(0));
	assert_int_equal(ledger_acme_write(l, st, 1, NULL), LEDGER_OK);
	step(&st[0], LA_EAB_USE, 1);
	add(&st[0], ledger_vt("acct"));
	add(&st[0], ledger_vt("kid1"));
	add(&st[0], ledger_vi(T0));
	step(&st[1], LA_ACCT_INSERT, 1);
	add(&st[1], ledger_vt("acct"));
	add(&st[1], ledger_vt("dev-acme"));
	add(&st[1], ledger_vt("dev"));
	add(&st[1], ledger_vt("acme"));
	add(&st[1], ledger_vt("thumb"));
	add(&st[1], ledger_vb(key, sizeof(key)));
	add(&st[1], ledger_vt("[]"));
	add(&st[1], ledger_vt("kid1"));
	add(&st[1], ledger_vi(T0));
	assert_int_equal(ledger_acme_write(l, st, 2, NULL), LEDGER_OK);
}

/* Order id with one authorization "z-<id>", challenge "c-<id>". */
static int
make_order(struct ledger *l, const char *id, const char *replaces)
{
	struct ledger_acme_step st[2];
	char zid[64], cid[64];

	snprintf(zid, sizeof(zid), "z-%s", id);
	snprintf(cid, sizeof(cid), "c-%s", id);
	step(&st[0], LA_ORDER_INSERT, 1);
	add(&st[0], ledger_vt(id));
	add(&st[0], ledger_vt("acct"));
	add(&st[0], ledger_vt("a.example"));
	add(&st[0], ledger_vi(T0 + 86400));
	add(&st[0], ledger_vi(T0));
	add(&st[0], ledger_vt(replaces));
	step(&st[1], LA_AUTHZ_INSERT, 1);
	add(&st[1], ledger_vt(zid));
	add(&st[1], ledger_vt(id));
	add(&st[1], ledger_vt("acct"));
	add(&st[1], ledger_vt("dns"));
	add(&st[1], ledger_vt("a.example"));
	add(&st[1], ledger_vi(T0 + 86400));
	add(&st[1], ledger_vt(cid));
	add(&st[1], ledger_vt(cid));
	return ledger_acme_write(l, st, 2, NULL);
}

static int
set_status(struct ledger *l, const char *id, const char *to, const char *from)
{
	struct ledger_acme_step st;

	step(&st, LA_ORDER_STATUS, 1);
	add(&st, ledger_vt(id));
	add(&st, ledger_vt(to));
	add(&st, ledger_vt(from));
	add(&st, ledger_vt(""));
	return ledger_acme_write(l, &st, 1, NULL);
}

struct row {
	int	n;
	char	s[8][64];
	int64_t	i[8];
	size_t	blen;
};

static int
grab(const struct ledger_val *v, size_t n, void *arg)
{
	struct row *r = arg;
	size_t k;

	r->n++;
	for (k = 0; k < n && k < 8; k++) {
		if (v[k].type == LV_TEXT)
			snprintf(r->s[k], sizeof(r->s[k]), "%s", v[k].s);
		else if (v[k].type == LV_INT)
			r->i[k] = v[k].i;
		else if (v[k].type == LV_BLOB)
			r->blen = v[k].len;
	}
	return 0;
}

static void
read_order(struct ledger *l, const char *id, struct row *r)
{
	struct ledger_val a[2] = { ledger_vt(id), ledger_vt("acct") };

	memset(r, 0, sizeof(*r));
	assert_int_equal(ledger_acme_read(l, LA_ORDER_GET, a, 2, grab, r),
	    LEDGER_OK);
}

/* An order made on a1 is seen, validated and made ready on b2. */
static void
test_order_across_nodes(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct ledger_acme_step st[2];
	struct ledger_val arg;
	struct row r;

	assert_true(ledger_acme_shared(a));
	make_account(a);
	assert_int_equal(make_order(a, "o1", ""), LEDGER_OK);
	read_order(b, "o1", &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.s[0], "pending");
	assert_int_equal(r.i[2], T0 + 86400);
	/* The EAB key is used: a second account with it fails on b2. */
	step(&st[0], LA_EAB_USE, 1);
	add(&st[0], ledger_vt("acct2"));
	add(&st[0], ledger_vt("kid1"));
	add(&st[0], ledger_vi(T0));
	assert_int_equal(ledger_acme_write(b, st, 1, NULL), LEDGER_ERR_STATE);
	/* Challenge started on b2, taken by one validator, done on a1. */
	step(&st[0], LA_CHALL_START, 1);
	add(&st[0], ledger_vt("c-o1"));
	add(&st[0], ledger_vt("acct"));
	add(&st[0], ledger_vt("http-01"));
	assert_int_equal(ledger_acme_write(b, st, 1, NULL), LEDGER_OK);
	assert_int_equal(ledger_acme_write(a, st, 1, NULL), LEDGER_ERR_STATE);
	step(&st[0], LA_VA_TAKE, 1);
	add(&st[0], ledger_vt("c-o1"));
	add(&st[0], ledger_vi(T0 + 10));
	add(&st[0], ledger_vi(T0 + 5));
	assert_int_equal(ledger_acme_write(a, st, 1, NULL), LEDGER_OK);
	assert_int_equal(ledger_acme_write(b, st, 1, NULL), LEDGER_ERR_STATE);
	step(&st[0], LA_CHALL_DONE, 1);
	add(&st[0], ledger_vt("c-o1"));
	add(&st[0], ledger_vt("valid"));
	add(&st[0], ledger_vi(T0 + 11));
	add(&st[0], ledger_vt(""));
	step(&st[1], LA_ORDER_STATUS, 1);
	add(&st[1], ledger_vt("o1"));
	add(&st[1], ledger_vt("ready"));
	add(&st[1], ledger_vt("pending"));
	add(&st[1], ledger_vt(""));
	assert_int_equal(ledger_acme_write(a, st, 2, NULL), LEDGER_OK);
	read_order(b, "o1", &r);
	assert_string_equal(r.s[0], "ready");
	memset(&r, 0, sizeof(r));
	arg = ledger_vt("o1");
	assert_int_equal(ledger_acme_read(b, LA_AUTHZ_OF_ORDER, &arg, 1, grab,
	    &r), LEDGER_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.s[3], "valid");
	ledger_close(a);
	ledger_close(b);
}

struct racer {
	struct ledger		*l;
	const char		*order;
	pthread_barrier_t	*go;
	int			 rc;
};

static void *
finalize(void *arg)
{
	struct racer *r = arg;
	struct ledger_acme_step st;
	static const uint8_t serial[] = { 1, 2, 3 }, der[] = { 0x30, 0 };

	pthread_barrier_wait(r->go);
	/* eng_acme_finalize: claim, then (only the winner) record. */
	if ((r->rc = set_status(r->l, r->order, "processing", "ready")) !=
	    LEDGER_OK)
		return NULL;
	step(&st, LA_ORDER_CERT, 1);
	add(&st, ledger_vt(r->order));
	add(&st, ledger_vb(serial, sizeof(serial)));
	add(&st, ledger_vb(der, sizeof(der)));
	r->rc = ledger_acme_write(r->l, &st, 1, NULL);
	return NULL;
}

/*
 * Finalize of one order on both nodes at once, RACES times: exactly one
 * claims it and records its certificate, the other is refused.
 */
static void
test_finalize_race(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	pthread_barrier_t go;
	pthread_t t[2];
	struct racer r[2];
	char id[32];
	int k, i, won;
	struct row o;

	make_account(a);
	for (k = 0; k < RACES; k++) {
		snprintf(id, sizeof(id), "race%d", k);
		assert_int_equal(make_order(a, id, ""), LEDGER_OK);
		assert_int_equal(set_status(a, id, "ready", "pending"),
		    LEDGER_OK);
		pthread_barrier_init(&go, NULL, 2);
		for (i = 0; i < 2; i++) {
			r[i].l = i ? b : a;
			r[i].order = id;
			r[i].go = &go;
			r[i].rc = -100;
			assert_int_equal(pthread_create(&t[i], NULL, finalize,
			    &r[i]), 0);
		}
		for (i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&go);
		won = (r[0].rc == LEDGER_OK) + (r[1].rc == LEDGER_OK);
		assert_int_equal(won, 1);
		assert_int_equal(r[0].rc == LEDGER_OK ? r[1].rc : r[0].rc,
		    LEDGER_ERR_STATE);
		read_order(a, id, &o);
		assert_string_equal(o.s[0], "valid");
		assert_int_equal(o.blen, 2);
	}
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM acme_orders"
	    " WHERE status = 'valid' AND cert IS NOT NULL"), RACES);
	ledger_close(a);
	ledger_close(b);
}

static int
nonce_use(struct ledger *l, const uint8_t id[16], int64_t expires)
{
	struct ledger_acme_step st[2];

	step(&st[0], LA_NONCE_SWEEP, 0);
	add(&st[0], ledger_vi(T0));
	step(&st[1], LA_NONCE_USE, 1);
	add(&st[1], ledger_vb(id, 16));
	add(&st[1], ledger_vi(expires));
	return ledger_acme_write(l, st, 2, NULL);
}

struct nracer {
	struct ledger		*l;
	const uint8_t		*id;
	pthread_barrier_t	*go;
	int			 rc;
};

static void *
redeem(void *arg)
{
	struct nracer *r = arg;

	pthread_barrier_wait(r->go);
	r->rc = nonce_use(r->l, r->id, T0 + 600);
	return NULL;
}

static int
key_row(const struct ledger_val *v, size_t n, void *arg)
{
	if (n == 1 && v[0].type == LV_BLOB && v[0].len == 32)
		memcpy(arg, v[0].b, 32);
	return 1;
}

/*
 * Nonces: both nodes end up with the key the first one stored; a replay
 * id is redeemed once whichever connection tries first or second, also
 * when both try at the same instant; expired ids are swept, at most 64
 * per redeem.
 */
static void
test_nonce_single_use(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct ledger_acme_step st;
	uint8_t k1[32], k2[32], ka[32], kb[32], id[16];
	pthread_barrier_t go;
	pthread_t t[2];
	struct nracer r[2];
	int k, i;

	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	memset(ka, 0, sizeof(ka));
	memset(kb, 0, sizeof(kb));
	assert_int_equal(ledger_acme_read(b, LA_NONCE_KEY, NULL, 0, key_row,
	    kb), LEDGER_OK);
	assert_memory_equal(ka, kb, 32);	/* none yet */
	step(&st, LA_NONCE_KEY_INIT, 0);
	add(&st, ledger_vb(k1, sizeof(k1)));
	assert_int_equal(ledger_acme_write(a, &st, 1, NULL), LEDGER_OK);
	st.v[0] = ledger_vb(k2, sizeof(k2));
	assert_int_equal(ledger_acme_write(b, &st, 1, NULL), LEDGER_OK);
	assert_int_equal(ledger_acme_read(a, LA_NONCE_KEY, NULL, 0, key_row,
	    ka), LEDGER_OK);
	assert_int_equal(ledger_acme_read(b, LA_NONCE_KEY, NULL, 0, key_row,
	    kb), LEDGER_OK);
	assert_memory_equal(ka, k1, 32);
	assert_memory_equal(kb, k1, 32);

	memset(id, 0xa5, sizeof(id));
	assert_int_equal(nonce_use(a, id, T0 + 600), LEDGER_OK);
	assert_int_equal(nonce_use(b, id, T0 + 600), LEDGER_ERR_STATE);
	assert_int_equal(nonce_use(a, id, T0 + 600), LEDGER_ERR_STATE);
	for (k = 0; k < RACES; k++) {
		memset(id, k, sizeof(id));
		pthread_barrier_init(&go, NULL, 2);
		for (i = 0; i < 2; i++) {
			r[i].l = i ? b : a;
			r[i].id = id;
			r[i].go = &go;
			r[i].rc = -100;
			assert_int_equal(pthread_create(&t[i], NULL, redeem,
			    &r[i]), 0);
		}
		for (i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&go);
		assert_int_equal((r[0].rc == LEDGER_OK) +
		    (r[1].rc == LEDGER_OK), 1);
		assert_int_equal((r[0].rc == LEDGER_ERR_STATE) +
		    (r[1].rc == LEDGER_ERR_STATE), 1);
	}
	/* 100 expired ids: one redeem sweeps 64 of them, the next the rest. */
	assert_int_equal(pgfx_sql(fx, "INSERT INTO acme_nonces"
	    " SELECT decode(lpad(to_hex(g), 32, 'f'), 'hex'), 1"
	    " FROM generate_series(1, 100) g"), 0);
	memset(id, 0xb1, sizeof(id));
	assert_int_equal(nonce_use(b, id, T0 + 600), LEDGER_OK);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM acme_nonces"
	    " WHERE expires < 1000"), 36);
	memset(id, 0xb2, sizeof(id));
	assert_int_equal(nonce_use(a, id, T0 + 600), LEDGER_OK);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM acme_nonces"
	    " WHERE expires < 1000"), 0);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM acme_nonces"),
	    1 + RACES + 2);
	ledger_close(a);
	ledger_close(b);
}

struct oracer {
	struct ledger		*l;
	const char		*id;
	pthread_barrier_t	*go;
	int			 rc;
};

static void *
replace(void *arg)
{
	struct oracer *r = arg;

	pthread_barrier_wait(r->go);
	r->rc = make_order(r->l, r->id, "AAAA.BBBB");
	return NULL;
}

/* RFC 9773 5: two nodes ordering a replacement of one certificate. */
static void
test_replaces_race(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	pthread_barrier_t go;
	pthread_t t[2];
	struct oracer r[2] = { { a, "ra", &go, -100 }, { b, "rb", &go, -100 } };
	int i;

	make_account(a);
	pthread_barrier_init(&go, NULL, 2);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, replace, &r[i]),
		    0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	assert_int_equal((r[0].rc == LEDGER_OK) + (r[1].rc == LEDGER_OK), 1);
	assert_int_equal((r[0].rc == LEDGER_ERR_STATE) +
	    (r[1].rc == LEDGER_ERR_STATE), 1);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM acme_orders"
	    " WHERE replaces = 'AAAA.BBBB'"), 1);
	/* Once that order is invalid, a new one may replace it. */
	assert_int_equal(set_status(a, r[0].rc == LEDGER_OK ? "ra" : "rb",
	    "invalid", "pending"), LEDGER_OK);
	assert_int_equal(make_order(b, "rc", "AAAA.BBBB"), LEDGER_OK);
	ledger_close(a);
	ledger_close(b);
}

/* A valid authorization is found within the window and copied. */
static void
test_authz_reuse(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct ledger_acme_step st[2];
	struct ledger_val args[4];
	struct row r;

	make_account(a);
	assert_int_equal(make_order(a, "o1", ""), LEDGER_OK);
	assert_int_equal(pgfx_sql(fx, "UPDATE acme_authz SET status = 'valid',"
	    " chall_status = 'valid', validated = 1700000100"), 0);
	args[0] = ledger_vt("acct");
	args[1] = ledger_vt("dns");
	args[2] = ledger_vt("a.example");
	args[3] = ledger_vi(T0 + 101);	/* validated before the window */
	memset(&r, 0, sizeof(r));
	assert_int_equal(ledger_acme_read(b, LA_AUTHZ_REUSABLE, args, 4, grab,
	    &r), LEDGER_OK);
	assert_int_equal(r.n, 0);
	args[3] = ledger_vi(T0 + 100);
	assert_int_equal(ledger_acme_read(b, LA_AUTHZ_REUSABLE, args, 4, grab,
	    &r), LEDGER_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.s[0], "z-o1");
	assert_int_equal(r.i[1], T0 + 100);
	step(&st[0], LA_ORDER_INSERT, 1);
	add(&st[0], ledger_vt("o2"));
	add(&st[0], ledger_vt("acct"));
	add(&st[0], ledger_vt("a.example"));
	add(&st[0], ledger_vi(T0 + 3600));
	add(&st[0], ledger_vi(T0 + 200));
	add(&st[0], ledger_vt(""));
	step(&st[1], LA_AUTHZ_REUSE, 1);
	add(&st[1], ledger_vt("z-o2"));
	add(&st[1], ledger_vt("o2"));
	add(&st[1], ledger_vt("c-o2"));
	add(&st[1], ledger_vt("z-o1"));
	add(&st[1], ledger_vi(T0 + 3600));
	assert_int_equal(ledger_acme_write(b, st, 2, NULL), LEDGER_OK);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM acme_authz"
	    " WHERE id = 'z-o2' AND order_id = 'o2' AND status = 'valid'"
	    " AND validated = 1700000100 AND token = 'c-o1'"), 1);
	/* A copy of an authorization that is not valid adds nothing. */
	assert_int_equal(pgfx_sql(fx, "UPDATE acme_authz SET status ="
	    " 'deactivated' WHERE id = 'z-o1'"), 0);
	st[0].v[0] = ledger_vt("o3");
	st[1].v[0] = ledger_vt("z-o3");
	st[1].v[1] = ledger_vt("o3");
	st[1].v[2] = ledger_vt("c-o3");
	assert_int_equal(ledger_acme_write(a, st, 2, NULL), LEDGER_ERR_STATE);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM acme_orders"
	    " WHERE id = 'o3'"), 0);
	ledger_close(a);
	ledger_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PGFX_TEST(test_order_across_nodes),
		PGFX_TEST(test_finalize_race),
		PGFX_TEST(test_nonce_single_use),
		PGFX_TEST(test_replaces_race),
		PGFX_TEST(test_authz_reuse),
	};

	pgfx_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
