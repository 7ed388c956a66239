/*
 * The PostgreSQL ledger under load and under a database restart:
 * group commit with threads on two nodes (one contested serial wins
 * once), counters from many threads never repeat, and a restart of the
 * server while a writer loops: calls fail fast with LEDGER_ERR_DOWN, then
 * succeed again on the same handle, and nothing is half-written.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <signet/audit.h>
#include <signet/ledger.h>

#include "certgen.h"
#include "pgfx.h"

#define T0 1700000000LL
#define NODES 2
#define THREADS 4		/* per node */
#define PER_THREAD 100
#define MAX_WRITES 20000

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct worker {
	struct ledger		*l;
	struct test_cert	*certs;
	const struct test_cert	*contested;
	int			 failures;
	int			 contested_rc;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		if (i == PER_THREAD / 2)
			w->contested_rc = ledger_reserve(w->l,
			    &w->contested->in);
		if (certgen_issue(w->l, &w->certs[i]) != LEDGER_OK)
			w->failures++;
	}
	return NULL;
}

static void
test_group_commit_two_nodes(void **state)
{
	static struct test_cert certs[NODES * THREADS * PER_THREAD];
	struct pgfx *fx = *state;
	struct ledger *l[NODES];
	struct worker w[NODES * THREADS];
	pthread_t tid[NODES * THREADS];
	struct test_cert contested;
	struct ledger_stats st;
	struct ledger_counts n;
	const int total = NODES * THREADS * PER_THREAD;
	int i, won = 0;

	l[0] = pgfx_open(fx, "a1", 0);
	l[1] = pgfx_open(fx, "b2", 0);
	for (i = 0; i < total; i++)
		certgen(fx->key, (uint64_t)i + 1, i % 2 ? "acme" : "globex",
		    "t.example", T0, T0 + 3600, &certs[i]);
	certgen(fx->key, 999999, "acme", "contested.example", T0, T0 + 60,
	    &contested);
	for (i = 0; i < NODES * THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].l = l[i / THREADS];
		w[i].certs = &certs[i * PER_THREAD];
		w[i].contested = &contested;
		assert_int_equal(pthread_create(&tid[i], NULL, work, &w[i]),
		    0);
	}
	for (i = 0; i < NODES * THREADS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
		if (w[i].contested_rc == LEDGER_OK)
			won++;
		else
			assert_int_equal(w[i].contested_rc,
			    LEDGER_ERR_DUPLICATE);
	}
	/* Two nodes raced for one serial: the constraint let one win. */
	assert_int_equal(won, 1);
	for (i = 0; i < NODES; i++) {
		ledger_stats(l[i], &st);
		assert_int_equal(st.ops, 2 * THREADS * PER_THREAD + THREADS);
		assert_true(st.transactions < st.ops);
		fprintf(stderr, "node %d: %llu ops in %llu transactions\n", i,
		    (unsigned long long)st.ops,
		    (unsigned long long)st.transactions);
	}
	assert_int_equal(ledger_count(l[0], NULL, &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], total);
	assert_int_equal(n.n[LEDGER_RESERVED], 1);
	ledger_close(l[0]);
	ledger_close(l[1]);
	pgfx_chain_ok(fx, "a1", THREADS * PER_THREAD);
	pgfx_chain_ok(fx, "b2", THREADS * PER_THREAD);
	for (i = 0; i < total; i++)
		certgen_free(&certs[i]);
	certgen_free(&contested);
}

struct counting {
	struct ledger	*l;
	uint64_t	 got[50];
	int		 rc;
};

static void *
count_work(void *arg)
{
	struct counting *c = arg;
	int i;

	for (i = 0; i < 50 && c->rc == LEDGER_OK; i++)
		c->rc = ledger_next_counter(c->l, "crl:ica-1", &c->got[i]);
	return NULL;
}

static void
test_counter_threads_two_nodes(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *l[NODES];
	struct counting c[8];
	pthread_t tid[8];
	uint8_t seen[401];
	int i, j;

	l[0] = pgfx_open(fx, "a1", 0);
	l[1] = pgfx_open(fx, "b2", 1);	/* one transaction per op */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 8; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].l = l[i % NODES];
		assert_int_equal(pthread_create(&tid[i], NULL, count_work,
		    &c[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(c[i].rc, LEDGER_OK);
		for (j = 0; j < 50; j++) {
			assert_true(c[i].got[j] >= 1 && c[i].got[j] <= 400);
			assert_int_equal(seen[c[i].got[j]], 0);
			seen[c[i].got[j]] = 1;
			/* Each caller sees its own values strictly rise. */
			if (j > 0)
				assert_true(c[i].got[j] > c[i].got[j - 1]);
		}
	}
	ledger_close(l[0]);
	ledger_close(l[1]);
}

struct write_log {
	int		rc;	/* the first failing call's, or LEDGER_OK */
	int64_t		ms;	/* how long the failing call took */
};

struct writer {
	struct ledger		*l;
	EVP_PKEY		*key;
	atomic_int		 stop;
	atomic_int		 ok;
	atomic_int		 n;
	struct write_log	*log;
};

static void *
write_loop(void *arg)
{
	struct writer *w = arg;
	struct audit_record rec;
	struct test_cert c;
	int64_t t;
	int i, rc;

	for (i = 0; i < MAX_WRITES && !atomic_load(&w->stop); i++) {
		certgen(w->key, (uint64_t)i + 1, "acme", "r.example", T0,
		    T0 + 3600, &c);
		certgen_audit(&c, &rec);
		t = now_ms();
		if ((rc = ledger_reserve(w->l, &c.in)) == LEDGER_OK)
			rc = ledger_commit(w->l, &c.in.serial, c.der,
			    c.der_len, &rec);
		w->log[i].rc = rc;
		w->log[i].ms = now_ms() - t;
		certgen_free(&c);
		atomic_store(&w->n, i + 1);
		if (rc == LEDGER_OK)
			atomic_fetch_add(&w->ok, 1);
		usleep(rc == LEDGER_OK ? 2000 : 20000);
	}
	return NULL;
}

/* Wait until the writer has n successes, at most secs seconds. */
static int
wait_ok(struct writer *w, int n, int secs)
{
	int64_t end = now_ms() + secs * 1000;

	while (atomic_load(&w->ok) < n && now_ms() < end)
		usleep(10000);
	return atomic_load(&w->ok) >= n;
}

static void
check_down_window(struct writer *w, int from, int to)
{
	int i, down = 0;

	for (i = from; i < to; i++) {
		if (w->log[i].rc == LEDGER_OK)
			continue;
		if (w->log[i].rc != LEDGER_ERR_DOWN)
			fail_msg("write %d failed with \"%s\", not down", i,
			    ledger_strerror(w->log[i].rc));
		/* Fail fast: no call waits for the database to return. */
		if (w->log[i].ms > 3000)
			fail_msg("write %d took %lld ms to fail", i,
			    (long long)w->log[i].ms);
		down++;
	}
	assert_true(down > 0);
}

static void
test_restart_resilience(void **state)
{
	struct pgfx *fx = *state;
	struct writer w;
	struct ledger_cert row;
	struct ledger_counts n;
	struct ledger_reconcile_report rep;
	struct test_cert probe;
	pthread_t tid;
	int stopped_at, ok_before, ok_up;

	memset(&w, 0, sizeof(w));
	w.l = pgfx_open(fx, "a1", 0);
	w.key = fx->key;
	assert_non_null(w.log = calloc(MAX_WRITES, sizeof(*w.log)));
	assert_int_equal(pthread_create(&tid, NULL, write_loop, &w), 0);
	assert_true(wait_ok(&w, 20, 30));

	assert_int_equal(pgfx_server("stop"), 0);
	stopped_at = atomic_load(&w.n);
	ok_before = atomic_load(&w.ok);
	usleep(1500000);
	/* Reads fail fast too, on the same handle. */
	certgen(fx->key, 1, "acme", "r.example", T0, T0 + 3600, &probe);
	assert_int_equal(ledger_get(w.l, "acme", &probe.in.serial, &row),
	    LEDGER_ERR_DOWN);
	assert_true(atomic_load(&w.ok) <= ok_before + 1);

	assert_int_equal(pgfx_server("up"), 0);
	ok_up = atomic_load(&w.ok);
	if (!wait_ok(&w, ok_up + 20, 30))
		fail_msg("no writes succeeded after the restart");
	atomic_store(&w.stop, 1);
	assert_int_equal(pthread_join(tid, NULL), 0);
	check_down_window(&w, stopped_at > 0 ? stopped_at - 1 : 0,
	    atomic_load(&w.n));
	fprintf(stderr, "%d writes, %d ok\n", atomic_load(&w.n),
	    atomic_load(&w.ok));

	/*
	 * Nothing half-written: every issued row has its audit record (the
	 * chain counts them), a reservation whose commit failed is still a
	 * clean RESERVED row that reconciliation settles.
	 */
	assert_int_equal(ledger_get(w.l, "acme", &probe.in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_ISSUED);
	ledger_cert_clear(&row);
	assert_int_equal(ledger_count(w.l, NULL, &n), LEDGER_OK);
	assert_true(n.n[LEDGER_ISSUED] >= (uint64_t)atomic_load(&w.ok));
	assert_true(n.n[LEDGER_ISSUED] <= (uint64_t)atomic_load(&w.n));
	assert_int_equal(ledger_reconcile(w.l, NULL, NULL, NULL, &rep),
	    LEDGER_OK);
	assert_int_equal(rep.found, n.n[LEDGER_RESERVED]);
	ledger_close(w.l);
	pgfx_chain_ok(fx, "a1", n.n[LEDGER_ISSUED]);
	certgen_free(&probe);
	free(w.log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PGFX_TEST(test_group_commit_two_nodes),
		PGFX_TEST(test_counter_threads_two_nodes),
		PGFX_TEST(test_restart_resilience),
	};

	pgfx_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
