/*
 * The expiry notification queue (issue 19, signet/ledger_notify.h) on a
 * real SQLite file: which certificates a threshold queues, idempotent
 * scans, claims with leases that survive a restart, settlement by the
 * current claim only, backoff, giving up, the counts for metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <signet/audit.h>
#include <signet/ledger.h>
#include <signet/ledger_notify.h>
#include <signet/sconf.h>

#include "certgen.h"
#include "testutil.h"

#define T0 1700000000LL

struct fx {
	char		 dir[256];
	char		 db[300];
	EVP_PKEY	*key;
	struct ledger	*l;
};

static void
reopen(struct fx *fx)
{
	ledger_close(fx->l);
	fx->l = NULL;
	assert_int_equal(ledger_open("sqlite", fx->db, &fx->l), LEDGER_OK);
}

static int
setup(void **state)
{
	static struct fx fx;

	memset(&fx, 0, sizeof(fx));
	tu_tmpdir(fx.dir, sizeof(fx.dir));
	snprintf(fx.db, sizeof(fx.db), "%s/ledger.db", fx.dir);
	fx.key = tu_p256();
	reopen(&fx);
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	ledger_close(fx->l);
	tu_rmtree(fx->dir);
	EVP_PKEY_free(fx->key);
	return 0;
}

static uint64_t
enqueue(struct fx *fx, const char *thr, int64_t now)
{
	struct ledger_notify_rule r = { "acme", "service", thr, 0, 0,
	    "http://hooks.example/a" };
	uint64_t added = 99;

	assert_int_equal(sconf_threshold(thr, &r.secs, &r.permille), 0);
	assert_int_equal(ledger_notify_enqueue(fx->l, &r, now, &added),
	    LEDGER_OK);
	return added;
}

/*
 * A: 1000 s of life, crosses "50%" at T0 + 500; B: 100000 s, crosses
 * "1d" at T0 + 13600; C: like A but revoked; D: like A in another
 * tenant.  A never gets a "1d" notice (it never lived a day).
 */
static void
test_notify_enqueue(void **state)
{
	struct fx *fx = *state;
	struct test_cert a, b, c, d;
	struct audit_record rec;
	uint64_t n;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 1000, &a);
	certgen(fx->key, 2, "acme", "b.example", T0, T0 + 100000, &b);
	certgen(fx->key, 3, "acme", "c.example", T0, T0 + 1000, &c);
	certgen(fx->key, 4, "other", "d.example", T0, T0 + 1000, &d);
	assert_int_equal(certgen_issue(fx->l, &a), LEDGER_OK);
	assert_int_equal(certgen_issue(fx->l, &b), LEDGER_OK);
	assert_int_equal(certgen_issue(fx->l, &c), LEDGER_OK);
	assert_int_equal(certgen_issue(fx->l, &d), LEDGER_OK);
	certgen_audit(&c, &rec);
	rec.action = AUDIT_REVOKE;
	assert_int_equal(ledger_revoke(fx->l, "acme", &c.in.serial, 1, T0 + 1,
	    &rec), LEDGER_OK);

	assert_int_equal(enqueue(fx, "50%", T0 + 499), 0);
	assert_int_equal(enqueue(fx, "50%", T0 + 500), 1);	/* A */
	assert_int_equal(enqueue(fx, "50%", T0 + 501), 0);	/* once */
	assert_int_equal(enqueue(fx, "1d", T0 + 500), 0);
	assert_int_equal(enqueue(fx, "1d", T0 + 13599), 0);
	assert_int_equal(enqueue(fx, "1d", T0 + 13600), 1);	/* B, not A */
	/* An expired certificate is not queued any more. */
	assert_int_equal(enqueue(fx, "12.5%", T0 + 1000), 0);
	assert_int_equal(ledger_notify_expiring(fx->l, "acme", "service", 86400,
	    0, T0 + 13600, &n), LEDGER_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ledger_notify_expiring(fx->l, "acme", "service", 0,
	    500, T0 + 500, &n), LEDGER_OK);
	assert_int_equal(n, 1);	/* A; C is revoked */
	certgen_free(&a);
	certgen_free(&b);
	certgen_free(&c);
	certgen_free(&d);
}

/*
 * Claims: one holder at a time for the lease, re-offered after it (also
 * across a restart), settled only by the current claim; backoff; given
 * up; counts.
 */
static void
test_notify_claims(void **state)
{
	struct fx *fx = *state;
	struct test_cert a;
	struct ledger_notify n;
	struct ledger_notify_counts k;
	char hex[2 * LEDGER_SERIAL_MAX + 1], want[2 * LEDGER_SERIAL_MAX + 1];
	int64_t t = T0 + 500;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 1000, &a);
	assert_int_equal(certgen_issue(fx->l, &a), LEDGER_OK);
	assert_int_equal(ledger_notify_claim(fx->l, t, 60, &n),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(enqueue(fx, "50%", t), 1);
	assert_int_equal(ledger_notify_claim(fx->l, t, 60, &n), LEDGER_OK);
	assert_int_equal(n.attempts, 1);
	assert_string_equal(n.tenant, "acme");
	assert_string_equal(n.profile, "service");
	assert_string_equal(n.threshold, "50%");
	assert_string_equal(n.webhook, "http://hooks.example/a");
	assert_string_equal(n.names, "a.example,www.a.example");
	assert_int_equal(n.not_after, T0 + 1000);
	ledger_serial_hex(&n.serial, hex, sizeof(hex));
	ledger_serial_hex(&a.in.serial, want, sizeof(want));
	assert_string_equal(hex, want);
	/* Leased: nobody else gets it, until the lease ends. */
	assert_int_equal(ledger_notify_claim(fx->l, t + 59, 60, &n),
	    LEDGER_ERR_NOTFOUND);
	/* A restart (the engine killed) keeps the lease and the row. */
	reopen(fx);
	assert_int_equal(ledger_notify_claim(fx->l, t + 60, 60, &n),
	    LEDGER_OK);
	assert_int_equal(n.attempts, 2);
	/* The first claim is stale: it settles nothing. */
	assert_int_equal(ledger_notify_settle(fx->l, n.id, 1, 1, 0, NULL),
	    LEDGER_ERR_STATE);
	/* Failed: due again at the backoff, not before. */
	assert_int_equal(ledger_notify_settle(fx->l, n.id, 2, 0, t + 70,
	    "HTTP status 500"), LEDGER_OK);
	assert_int_equal(ledger_notify_settle(fx->l, n.id, 2, 0, t + 70,
	    "again"), LEDGER_ERR_STATE);
	assert_int_equal(ledger_notify_claim(fx->l, t + 69, 60, &n),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_notify_claim(fx->l, t + 70, 60, &n),
	    LEDGER_OK);
	assert_int_equal(n.attempts, 3);
	assert_int_equal(ledger_notify_counts(fx->l, &k), LEDGER_OK);
	assert_int_equal(k.pending, 1);
	assert_int_equal(k.delivered, 0);
	/* Delivered: never offered again, not even after the lease. */
	assert_int_equal(ledger_notify_settle(fx->l, n.id, 3, 1, 0, NULL),
	    LEDGER_OK);
	assert_int_equal(ledger_notify_claim(fx->l, t + 1000, 60, &n),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(enqueue(fx, "50%", t + 100), 0);
	assert_int_equal(ledger_notify_counts(fx->l, &k), LEDGER_OK);
	assert_int_equal(k.pending, 0);
	assert_int_equal(k.delivered, 1);
	/* Kept a day after expiry, then removed by a scan. */
	assert_int_equal(enqueue(fx, "50%", T0 + 1000 + 86399), 0);
	assert_int_equal(ledger_notify_counts(fx->l, &k), LEDGER_OK);
	assert_int_equal(k.delivered, 1);
	assert_int_equal(enqueue(fx, "50%", T0 + 1000 + 86400), 0);
	assert_int_equal(ledger_notify_counts(fx->l, &k), LEDGER_OK);
	assert_int_equal(k.delivered, 0);
	certgen_free(&a);
}

static void
test_notify_give_up_and_args(void **state)
{
	struct fx *fx = *state;
	struct test_cert a;
	struct ledger_notify n;
	struct ledger_notify_counts k;
	struct ledger_notify_rule both = { "acme", "service", "x", 10, 500,
	    "http://hooks.example/a" };
	uint64_t added;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 1000, &a);
	assert_int_equal(certgen_issue(fx->l, &a), LEDGER_OK);
	assert_int_equal(enqueue(fx, "50%", T0 + 600), 1);
	assert_int_equal(ledger_notify_claim(fx->l, T0 + 600, 60, &n),
	    LEDGER_OK);
	assert_int_equal(ledger_notify_settle(fx->l, n.id, n.attempts, 0, 0,
	    "connection refused"), LEDGER_OK);
	assert_int_equal(ledger_notify_claim(fx->l, T0 + 9000, 60, &n),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_notify_counts(fx->l, &k), LEDGER_OK);
	assert_int_equal(k.failed, 1);
	assert_int_equal(ledger_notify_enqueue(fx->l, &both, T0, &added),
	    LEDGER_ERR_ARG);
	both.permille = 1000;
	both.secs = 0;
	assert_int_equal(ledger_notify_enqueue(fx->l, &both, T0, &added),
	    LEDGER_ERR_ARG);
	assert_int_equal(ledger_notify_claim(fx->l, T0, 0, &n), LEDGER_ERR_ARG);
	assert_int_equal(ledger_notify_settle(fx->l, 0, 1, 1, 0, NULL),
	    LEDGER_ERR_ARG);
	certgen_free(&a);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_notify_enqueue),
		T(test_notify_claims),
		T(test_notify_give_up_and_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
