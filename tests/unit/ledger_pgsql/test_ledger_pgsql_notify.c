/*
 * The expiry notification queue (issue 19, signet/ledger_notify.h) on a
 * real PostgreSQL ledger, as one node and as two ("a1", "b2": two
 * handles on one database, as two appliances would be): which
 * certificates a threshold queues, idempotent scans on both nodes at
 * once, claims with leases that survive a restart, settlement by the
 * current claim only, backoff, giving up, the counts for metrics; and
 * threads of both nodes racing for claims: while a lease holds, no row
 * is handed out twice, and one claim settles once.
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
#include <openssl/evp.h>

#include <signet/audit.h>
#include <signet/ledger.h>
#include <signet/ledger_notify.h>
#include <signet/sconf.h>

#include "certgen.h"
#include "pgfx.h"

#define T0		1700000000LL
#define RACE_ROWS	400	/* deliveries the claim race hands out */
#define RACE_THREADS	4	/* per node */

static uint64_t
enqueue(struct ledger *l, const char *thr, int64_t now)
{
	struct ledger_notify_rule r = { "acme", "service", thr, 0, 0,
	    "http://hooks.example/a" };
	uint64_t added = 99;

	assert_int_equal(sconf_threshold(thr, &r.secs, &r.permille), 0);
	assert_int_equal(ledger_notify_enqueue(l, &r, now, &added),
	    LEDGER_OK);
	return added;
}

/*
 * A: 1000 s of life, crosses "50%" at T0 + 500; B: 100000 s, crosses
 * "1d" at T0 + 13600; C: like A but revoked; D: like A in another
 * tenant.  A never gets a "1d" notice (it never lived a day).  Node b2
 * scans what a1 issued, and a scan of a1 after it adds nothing.
 */
static void
test_notify_enqueue(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct test_cert c[4];
	struct audit_record rec;
	uint64_t n;
	int i;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 1000, &c[0]);
	certgen(fx->key, 2, "acme", "b.example", T0, T0 + 100000, &c[1]);
	certgen(fx->key, 3, "acme", "c.example", T0, T0 + 1000, &c[2]);
	certgen(fx->key, 4, "other", "d.example", T0, T0 + 1000, &c[3]);
	for (i = 0; i < 4; i++)
		assert_int_equal(certgen_issue(a, &c[i]), LEDGER_OK);
	certgen_audit(&c[2], &rec);
	rec.action = AUDIT_REVOKE;
	assert_int_equal(ledger_revoke(a, "acme", &c[2].in.serial, 1, T0 + 1,
	    &rec), LEDGER_OK);

	assert_int_equal(enqueue(b, "50%", T0 + 499), 0);
	assert_int_equal(enqueue(b, "50%", T0 + 500), 1);	/* A */
	assert_int_equal(enqueue(b, "50%", T0 + 501), 0);	/* once */
	assert_int_equal(enqueue(a, "50%", T0 + 502), 0);	/* on a1 too */
	assert_int_equal(enqueue(a, "1d", T0 + 500), 0);
	assert_int_equal(enqueue(a, "1d", T0 + 13599), 0);
	assert_int_equal(enqueue(a, "1d", T0 + 13600), 1);	/* B, not A */
	/* An expired certificate is not queued any more. */
	assert_int_equal(enqueue(a, "12.5%", T0 + 1000), 0);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM notify_queue"), 2);
	assert_int_equal(ledger_notify_expiring(b, "acme", "service", 86400, 0,
	    T0 + 13600, &n), LEDGER_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ledger_notify_expiring(b, "acme", "service", 0, 500,
	    T0 + 500, &n), LEDGER_OK);
	assert_int_equal(n, 1);	/* A; C is revoked */
	ledger_close(a);
	ledger_close(b);
	for (i = 0; i < 4; i++)
		certgen_free(&c[i]);
}

/*
 * Claims: one holder at a time for the lease, re-offered after it (also
 * across a restart and to the other node), settled only by the current
 * claim; backoff; counts; removal a day after expiry.
 */
static void
test_notify_claims(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 1);
	struct test_cert c;
	struct ledger_notify n;
	struct ledger_notify_counts k;
	char hex[2 * LEDGER_SERIAL_MAX + 1], want[2 * LEDGER_SERIAL_MAX + 1];
	int64_t t = T0 + 500;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 1000, &c);
	assert_int_equal(certgen_issue(a, &c), LEDGER_OK);
	assert_int_equal(ledger_notify_claim(a, t, 60, &n),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(enqueue(a, "50%", t), 1);
	assert_int_equal(ledger_notify_claim(a, t, 60, &n), LEDGER_OK);
	assert_int_equal(n.attempts, 1);
	assert_string_equal(n.tenant, "acme");
	assert_string_equal(n.profile, "service");
	assert_string_equal(n.threshold, "50%");
	assert_string_equal(n.webhook, "http://hooks.example/a");
	assert_string_equal(n.names, "a.example,www.a.example");
	assert_int_equal(n.not_before, T0);
	assert_int_equal(n.not_after, T0 + 1000);
	ledger_serial_hex(&n.serial, hex, sizeof(hex));
	ledger_serial_hex(&c.in.serial, want, sizeof(want));
	assert_string_equal(hex, want);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM notify_queue"
	    " WHERE node = 'a1' AND claimed = 1"), 1);
	/* Leased: neither node gets it until the lease ends. */
	assert_int_equal(ledger_notify_claim(a, t + 59, 60, &n),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_notify_claim(b, t + 59, 60, &n),
	    LEDGER_ERR_NOTFOUND);
	/* a1 dies (closed); after the lease b2 takes the row over. */
	ledger_close(a);
	assert_int_equal(ledger_notify_claim(b, t + 60, 60, &n), LEDGER_OK);
	assert_int_equal(n.attempts, 2);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM notify_queue"
	    " WHERE node = 'b2' AND claimed = 2"), 1);
	a = pgfx_open(fx, "a1", 0);
	/* a1's late answer of the first claim settles nothing. */
	assert_int_equal(ledger_notify_settle(a, n.id, 1, 1, 0, NULL),
	    LEDGER_ERR_STATE);
	/* Failed: due again at the backoff, not before. */
	assert_int_equal(ledger_notify_settle(b, n.id, 2, 0, t + 70,
	    "HTTP status 500"), LEDGER_OK);
	assert_int_equal(ledger_notify_settle(b, n.id, 2, 0, t + 70,
	    "again"), LEDGER_ERR_STATE);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM notify_queue"
	    " WHERE error = 'HTTP status 500' AND due = 1700000570"), 1);
	assert_int_equal(ledger_notify_claim(a, t + 69, 60, &n),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_notify_claim(a, t + 70, 60, &n), LEDGER_OK);
	assert_int_equal(n.attempts, 3);
	assert_int_equal(ledger_notify_counts(b, &k), LEDGER_OK);
	assert_int_equal(k.pending, 1);
	assert_int_equal(k.delivered, 0);
	/* Delivered: never offered again, not even after the lease. */
	assert_int_equal(ledger_notify_settle(a, n.id, 3, 1, 0, NULL),
	    LEDGER_OK);
	assert_int_equal(ledger_notify_claim(b, t + 1000, 60, &n),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(enqueue(b, "50%", t + 100), 0);
	assert_int_equal(ledger_notify_counts(a, &k), LEDGER_OK);
	assert_int_equal(k.pending, 0);
	assert_int_equal(k.delivered, 1);
	/* Kept a day after expiry, then removed by a scan. */
	assert_int_equal(enqueue(b, "50%", T0 + 1000 + 86399), 0);
	assert_int_equal(ledger_notify_counts(a, &k), LEDGER_OK);
	assert_int_equal(k.delivered, 1);
	assert_int_equal(enqueue(b, "50%", T0 + 1000 + 86400), 0);
	assert_int_equal(ledger_notify_counts(a, &k), LEDGER_OK);
	assert_int_equal(k.delivered, 0);
	ledger_close(a);
	ledger_close(b);
	certgen_free(&c);
}

static void
test_notify_give_up_and_args(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct test_cert c;
	struct ledger_notify n;
	struct ledger_notify_counts k;
	struct ledger_notify_rule both = { "acme", "service", "x", 10, 500,
	    "http://hooks.example/a" };
	uint64_t added;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 1000, &c);
	assert_int_equal(certgen_issue(a, &c), LEDGER_OK);
	assert_int_equal(enqueue(a, "50%", T0 + 600), 1);
	assert_int_equal(ledger_notify_claim(a, T0 + 600, 60, &n), LEDGER_OK);
	assert_int_equal(ledger_notify_settle(a, n.id, n.attempts, 0, 0,
	    "connection refused"), LEDGER_OK);
	assert_int_equal(ledger_notify_claim(a, T0 + 9000, 60, &n),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_notify_counts(a, &k), LEDGER_OK);
	assert_int_equal(k.failed, 1);
	assert_int_equal(k.pending, 0);
	assert_int_equal(ledger_notify_enqueue(a, &both, T0, &added),
	    LEDGER_ERR_ARG);
	both.permille = 1000;
	both.secs = 0;
	assert_int_equal(ledger_notify_enqueue(a, &both, T0, &added),
	    LEDGER_ERR_ARG);
	assert_int_equal(ledger_notify_claim(a, T0, 0, &n), LEDGER_ERR_ARG);
	assert_int_equal(ledger_notify_settle(a, 0, 1, 1, 0, NULL),
	    LEDGER_ERR_ARG);
	ledger_close(a);
	certgen_free(&c);
}

/* The race: each thread claims until nothing is due, noting each id. */
struct racer {
	struct ledger	*l;
	int64_t		 now;
	int		*seen;		/* per id: claims seen, shared */
	pthread_mutex_t	*lock;
	int		 claims;
	int		 errors;
	pthread_barrier_t *go;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct ledger_notify n;
	int rc;

	pthread_barrier_wait(r->go);
	while ((rc = ledger_notify_claim(r->l, r->now, 600, &n)) ==
	    LEDGER_OK) {
		r->claims++;
		pthread_mutex_lock(r->lock);
		if (n.id >= 1 && n.id <= RACE_ROWS)
			r->seen[n.id]++;
		else
			r->errors++;
		pthread_mutex_unlock(r->lock);
	}
	if (rc != LEDGER_ERR_NOTFOUND)
		r->errors++;
	return NULL;
}

/* Every thread of both nodes claims at now; returns ids claimed twice. */
static int
race_round(struct ledger *a, struct ledger *b, int64_t now, int *claims,
    int *per_node)
{
	static int seen[RACE_ROWS + 1];
	struct racer r[2 * RACE_THREADS];
	pthread_t tid[2 * RACE_THREADS];
	pthread_barrier_t go;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int i, twice = 0;

	memset(seen, 0, sizeof(seen));
	pthread_barrier_init(&go, NULL, 2 * RACE_THREADS);
	for (i = 0; i < 2 * RACE_THREADS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].l = i % 2 ? b : a;
		r[i].now = now;
		r[i].seen = seen;
		r[i].lock = &lock;
		r[i].go = &go;
		assert_int_equal(pthread_create(&tid[i], NULL, race, &r[i]),
		    0);
	}
	*claims = per_node[0] = per_node[1] = 0;
	for (i = 0; i < 2 * RACE_THREADS; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(r[i].errors, 0);
		*claims += r[i].claims;
		per_node[i % 2] += r[i].claims;
	}
	pthread_barrier_destroy(&go);
	for (i = 1; i <= RACE_ROWS; i++)
		twice += seen[i] > 1;
	return twice;
}

/*
 * Four threads on each node claim RACE_ROWS due deliveries at once: every
 * row is handed out exactly once while its lease holds; when the leases
 * end, every row once more (attempt 2); a claim settles once, whichever
 * node reports it, and a stale attempt on neither.  Node a1 batches its claims
 * (group commit), b2 runs one per transaction.
 */
static void
test_notify_claim_race(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 1);
	struct ledger_notify n;
	int claims, per_node[2], i, ok;
	char sql[512];

	snprintf(sql, sizeof(sql), "INSERT INTO notify_queue(serial,"
	    " threshold, webhook, tenant, profile, names, not_before,"
	    " not_after, due, created) SELECT int8send(i), '50%%',"
	    " 'http://hooks.example/a', 'acme', 'service', 'x.example',"
	    " %lld, %lld, %lld, %lld FROM generate_series(1, %d) AS i",
	    T0, T0 + 1000, T0 + 500, T0 + 500, RACE_ROWS);
	assert_int_equal(pgfx_sql(fx, sql), 0);
	assert_int_equal(pgfx_int(fx, "SELECT max(id) FROM notify_queue"),
	    RACE_ROWS);

	assert_int_equal(race_round(a, b, T0 + 500, &claims, per_node), 0);
	assert_int_equal(claims, RACE_ROWS);
	print_message("# claims: a1 %d, b2 %d\n", per_node[0], per_node[1]);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM notify_queue"
	    " WHERE attempts = 1 AND claimed = 1"), RACE_ROWS);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM notify_queue"
	    " WHERE node = 'a1'"), per_node[0]);
	/* Within the lease: nothing for anyone. */
	assert_int_equal(race_round(a, b, T0 + 1099, &claims, per_node), 0);
	assert_int_equal(claims, 0);
	/* After it: each row once more, as attempt 2. */
	assert_int_equal(race_round(a, b, T0 + 1100, &claims, per_node), 0);
	assert_int_equal(claims, RACE_ROWS);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM notify_queue"
	    " WHERE attempts = 2 AND claimed = 2"), RACE_ROWS);

	/* The stale attempt 1 settles nothing, on either node. */
	for (i = 1; i <= 3; i++) {
		assert_int_equal(ledger_notify_settle(a, i, 1, 1, 0, NULL),
		    LEDGER_ERR_STATE);
		assert_int_equal(ledger_notify_settle(b, i, 1, 1, 0, NULL),
		    LEDGER_ERR_STATE);
	}
	/* Attempt 2 settles once: the second answer is refused. */
	ok = ledger_notify_settle(b, 1, 2, 1, 0, NULL) == LEDGER_OK;
	ok += ledger_notify_settle(a, 1, 2, 1, 0, NULL) == LEDGER_OK;
	assert_int_equal(ok, 1);
	assert_int_equal(pgfx_int(fx, "SELECT state FROM notify_queue"
	    " WHERE id = 1"), 1);
	/* A settled row is never claimed again, after any lease. */
	while (ledger_notify_claim(a, T0 + 9000, 600, &n) == LEDGER_OK)
		assert_int_not_equal(n.id, 1);
	ledger_close(a);
	ledger_close(b);
}

/*
 * Scans of both nodes at once, four threads each, of the same rules over
 * the same certificates: every (serial, threshold, webhook) once, and
 * the rows each scan reports as added sum to the rows there are.
 */
struct scanner {
	struct ledger		*l;
	const char		*thr;
	uint64_t		 added;
	int			 rc;
	pthread_barrier_t	*go;
};

static void *
scan(void *arg)
{
	struct scanner *s = arg;
	struct ledger_notify_rule r = { "acme", "service", s->thr, 0, 0,
	    "http://hooks.example/a" };
	uint64_t n;
	int i;

	sconf_threshold(s->thr, &r.secs, &r.permille);
	pthread_barrier_wait(s->go);
	for (i = 0; i < 5 && s->rc == LEDGER_OK; i++) {
		s->rc = ledger_notify_enqueue(s->l, &r, T0 + 120000, &n);
		s->added += n;
	}
	return NULL;
}

static void
test_notify_scans_race(void **state)
{
	static const char *const thr[2] = { "50%", "1d" };
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 1);
	struct test_cert c[20];
	struct scanner s[8];
	pthread_t tid[8];
	pthread_barrier_t go;
	uint64_t total = 0;
	int i;

	/* 20 certificates that crossed both thresholds at T0 + 120000. */
	for (i = 0; i < 20; i++) {
		certgen(fx->key, 100 + i, "acme", "s.example", T0,
		    T0 + 200000, &c[i]);
		assert_int_equal(certgen_issue(i % 2 ? b : a, &c[i]),
		    LEDGER_OK);
	}
	pthread_barrier_init(&go, NULL, 8);
	for (i = 0; i < 8; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].l = i % 2 ? b : a;
		s[i].thr = thr[(i / 2) % 2];
		s[i].go = &go;
		assert_int_equal(pthread_create(&tid[i], NULL, scan, &s[i]),
		    0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(s[i].rc, LEDGER_OK);
		total += s[i].added;
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM notify_queue"), 40);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM notify_queue"
	    " WHERE threshold = '1d'"), 20);
	assert_int_equal(total, 40);
	ledger_close(a);
	ledger_close(b);
	for (i = 0; i < 20; i++)
		certgen_free(&c[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PGFX_TEST(test_notify_enqueue),
		PGFX_TEST(test_notify_claims),
		PGFX_TEST(test_notify_give_up_and_args),
		PGFX_TEST(test_notify_claim_race),
		PGFX_TEST(test_notify_scans_race),
	};

	pgfx_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
