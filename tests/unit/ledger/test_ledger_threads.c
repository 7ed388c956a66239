/*
 * Group commit under load: 8 threads x 500 issuances (reserve, then
 * commit with its audit record) share transactions; every row must be
 * present with its own DER, every thread must get its own result (one
 * contested serial succeeds exactly once), the audit chain must verify,
 * and batching must actually happen.
 */
#include <pthread.h>
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

#include "certgen.h"
#include "testutil.h"

#define NTHREADS 8
#define PER_THREAD 500
#define T0 1700000000LL

struct worker {
	struct ledger		*l;
	struct test_cert	*certs;
	const struct test_cert	*contested;
	int			 count;
	int			 failures;
	int			 contested_rc;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < w->count; i++) {
		if (i == w->count / 2)
			w->contested_rc = ledger_reserve(w->l,
			    &w->contested->in);
		if (certgen_issue(w->l, &w->certs[i]) != LEDGER_OK)
			w->failures++;
	}
	return NULL;
}

static void
run(int no_group_commit, int nthreads, int per_thread)
{
	static struct test_cert certs[NTHREADS * PER_THREAD];
	struct test_cert contested;
	struct worker w[NTHREADS];
	pthread_t tid[NTHREADS];
	struct ledger_config cfg;
	struct ledger_stats st;
	struct ledger_counts n;
	struct ledger_cert row;
	struct audit_verify_result res;
	struct ledger *l = NULL;
	EVP_PKEY *key = tu_p256();
	char dir[256], db[300];
	int i, total = nthreads * per_thread, won = 0;

	tu_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/ledger.db", dir);
	for (i = 0; i < total; i++)
		certgen(key, (uint64_t)i + 1, i % 2 ? "acme" : "globex",
		    "t.example", T0, T0 + 3600, &certs[i]);
	certgen(key, 999999, "acme", "contested.example", T0, T0 + 60,
	    &contested);
	memset(&cfg, 0, sizeof(cfg));
	cfg.audit.key = key;
	cfg.audit.every_n = 100;
	cfg.no_group_commit = no_group_commit;
	assert_int_equal(ledger_open_config("sqlite", db, &cfg, &l),
	    LEDGER_OK);
	for (i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].l = l;
		w[i].certs = &certs[i * per_thread];
		w[i].contested = &contested;
		w[i].count = per_thread;
		assert_int_equal(pthread_create(&tid[i], NULL, work, &w[i]),
		    0);
	}
	for (i = 0; i < nthreads; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
		if (w[i].contested_rc == LEDGER_OK)
			won++;
		else
			assert_int_equal(w[i].contested_rc,
			    LEDGER_ERR_DUPLICATE);
	}
	assert_int_equal(won, 1);

	ledger_stats(l, &st);
	assert_int_equal(st.ops, 2 * total + nthreads);
	if (!no_group_commit)
		assert_true(st.transactions < st.ops);
	else
		assert_int_equal(st.transactions, st.ops);
	fprintf(stderr, "%d issuances: %llu ops in %llu transactions\n",
	    total, (unsigned long long)st.ops,
	    (unsigned long long)st.transactions);

	/* Every certificate a caller was told about is there, intact. */
	ledger_close(l);
	l = NULL;
	assert_int_equal(ledger_open_config("sqlite", db, &cfg, &l),
	    LEDGER_OK);
	assert_int_equal(ledger_count(l, NULL, &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], total);
	assert_int_equal(n.n[LEDGER_RESERVED], 1);
	for (i = 0; i < total; i++) {
		assert_int_equal(ledger_get(l, certs[i].in.tenant,
		    &certs[i].in.serial, &row), LEDGER_OK);
		assert_int_equal(row.status, LEDGER_ISSUED);
		assert_int_equal(row.der_len, certs[i].der_len);
		assert_memory_equal(row.der, certs[i].der, row.der_len);
		ledger_cert_clear(&row);
		certgen_free(&certs[i]);
	}
	ledger_close(l);
	assert_int_equal(audit_verify(db, key, &res), AUDIT_OK);
	if (res.status != AUDIT_VERIFY_OK)
		fail_msg("audit chain: %s", res.message);
	assert_int_equal(res.records, total);
	assert_int_equal(res.last_checkpoint, total / 100 * 100);
	certgen_free(&contested);
	tu_rmtree(dir);
	EVP_PKEY_free(key);
}

static void
test_group_commit_8x500(void **state)
{
	run(0, NTHREADS, PER_THREAD);
}

static void
test_one_txn_per_op(void **state)
{
	run(1, 4, 50);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_commit_8x500),
		cmocka_unit_test(test_one_txn_per_op),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
