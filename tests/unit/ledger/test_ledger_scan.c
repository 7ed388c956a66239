/*
 * The SQLite ledger's scan lane: a scan (the CRL's revoked rows, the
 * audit chain) runs on a read connection of its own, so a point read (a
 * token by id, as every DTLS PSK handshake does; a certificate by serial)
 * returns while the scan is in the middle of its rows.  The scan's
 * callback holds it open until another thread's point reads have
 * returned, or gives up after HOLD_SECS: with one read connection under
 * one lock the reads wait for the scan, the callback gives up, and the
 * test fails.  No timing is asserted: the deadline only ends the wait.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <signet/audit.h>
#include <signet/ledger.h>

#include "certgen.h"

#define T0		1700000000LL
#define HOLD_SECS	10

struct fx {
	struct sqfx		 sq;
	EVP_PKEY		*key;
	struct test_cert	 c;
};

/* The point reads of thread B, and the scan's wait for them. */
struct hold {
	struct ledger		*l;
	const struct ledger_serial *serial;
	pthread_mutex_t		 m;
	pthread_cond_t		 cv;
	pthread_t		 b;
	int			 started;
	int			 b_done;
	int			 gave_up;	/* the scan waited HOLD_SECS */
	int			 rows;		/* seen by the scan */
	int			 tok_rc;
	int			 get_rc;
	struct ledger_token	 tok;
};

static void *
point_reads(void *arg)
{
	struct hold *h = arg;
	struct ledger_cert row;
	int tok_rc, get_rc;

	tok_rc = ledger_token_get_id(h->l, "tok1", &h->tok);
	get_rc = ledger_get(h->l, "acme", h->serial, &row);
	if (get_rc == LEDGER_OK)
		ledger_cert_clear(&row);
	pthread_mutex_lock(&h->m);
	h->tok_rc = tok_rc;
	h->get_rc = get_rc;
	h->b_done = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->m);
	return NULL;
}

static void
hold_init(struct hold *h, struct fx *fx)
{
	memset(h, 0, sizeof(*h));
	h->l = fx->sq.l;
	h->serial = &fx->c.in.serial;
	h->tok_rc = h->get_rc = -1;
	assert_int_equal(pthread_mutex_init(&h->m, NULL), 0);
	assert_int_equal(pthread_cond_init(&h->cv, NULL), 0);
}

/*
 * Inside the scan, at its first row: start B and wait until its reads
 * have returned, HOLD_SECS at most.  Not an assertion here: a failure
 * must not unwind through SQLite's step.
 */
static void
hold_row(struct hold *h)
{
	struct timespec until;
	int rc = 0;

	h->rows++;
	if (h->started)
		return;
	if (pthread_create(&h->b, NULL, point_reads, h) != 0)
		return;
	h->started = 1;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HOLD_SECS;
	pthread_mutex_lock(&h->m);
	while (!h->b_done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&h->cv, &h->m, &until);
	if (!h->b_done)
		h->gave_up = 1;
	pthread_mutex_unlock(&h->m);
}

/* After the scan: B finishes either way (the lock is free now). */
static void
hold_check(struct hold *h)
{
	assert_true(h->started);
	assert_int_equal(pthread_join(h->b, NULL), 0);
	assert_int_equal(h->gave_up, 0);
	assert_int_equal(h->tok_rc, LEDGER_OK);
	assert_string_equal(h->tok.id, "tok1");
	assert_int_equal(h->get_rc, LEDGER_OK);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->m);
}

static int
setup(void **state)
{
	struct fx *fx;
	struct audit_record rec;
	struct ledger_token t;

	fx = test_calloc(1, sizeof(*fx));
	assert_non_null(fx);
	assert_int_equal(sqfx_open(&fx->sq, "scan"), 0);
	fx->key = EVP_EC_gen("P-256");
	assert_non_null(fx->key);
	certgen(fx->key, 1, "acme", "r.example", T0, T0 + 86400 * 365 * 50,
	    &fx->c);
	assert_int_equal(certgen_issue(fx->sq.l, &fx->c), LEDGER_OK);
	certgen_audit(&fx->c, &rec);
	rec.action = AUDIT_REVOKE;
	assert_int_equal(ledger_revoke(fx->sq.l, "acme", &fx->c.in.serial, 1,
	    T0 + 100, &rec), LEDGER_OK);
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "tok1");
	memset(t.hash, 0xaa, sizeof(t.hash));
	snprintf(t.tenant, sizeof(t.tenant), "acme");
	snprintf(t.profile, sizeof(t.profile), "device");
	snprintf(t.names, sizeof(t.names), "d1.example.com");
	t.created = T0;
	t.expires = T0 + 600;
	t.uses_left = 1;
	memset(&rec, 0, sizeof(rec));
	rec.actor = "op";
	rec.action = AUDIT_CONFIG;
	rec.result = "ok";
	assert_int_equal(ledger_token_create(fx->sq.l, &t, &rec), LEDGER_OK);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	certgen_free(&fx->c);
	EVP_PKEY_free(fx->key);
	sqfx_close(&fx->sq);
	test_free(fx);
	return 0;
}

static int
revoked_row(const struct ledger_revoked *r, void *arg)
{
	(void)r;
	hold_row(arg);
	return 0;
}

/* The CRL build's scan holds its rows; the PSK lookup still answers. */
static void
test_point_reads_beside_crl_scan(void **state)
{
	struct fx *fx = *state;
	struct hold h;

	hold_init(&h, fx);
	assert_int_equal(ledger_list_revoked(fx->sq.l, "ica-1", T0, revoked_row,
	    &h), LEDGER_OK);
	assert_int_equal(h.rows, 1);
	hold_check(&h);
}

static int
audit_row(const struct audit_entry *e, void *arg)
{
	(void)e;
	hold_row(arg);
	return 0;
}

/* The audit API's query, the same. */
static void
test_point_reads_beside_audit_query(void **state)
{
	struct fx *fx = *state;
	struct audit_query q;
	struct audit_page page;
	struct hold h;

	hold_init(&h, fx);
	memset(&q, 0, sizeof(q));
	q.limit = 10;
	assert_int_equal(ledger_audit_query(fx->sq.l, &q, audit_row, &h,
	    &page), LEDGER_OK);
	/* The issuance, the revocation, the token's creation. */
	assert_int_equal(h.rows, 3);
	hold_check(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_point_reads_beside_crl_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_point_reads_beside_audit_query, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
