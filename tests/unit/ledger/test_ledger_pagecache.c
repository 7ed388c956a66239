/*
 * SQLite's page caches in a reserved block (issue 14,
 * ledger_sqlite_reserve_cache): the engine calls it before SQLite is
 * used, as this test's main does.  With a ledger whose certs_tenant index
 * is several times the cache, every write followed by a count (what each
 * /metrics scrape does beside issuance: WAL mode empties the scan
 * lane's cache at each read transaction after a write, and the count
 * refills it) must fill the reserved slots, never SQLite's heap: no
 * page overflows the block over many such rounds (without the block the
 * caches live in the heap, and the lane's is freed and refilled at
 * every round).
 * A second reservation is refused.  Its own executable: the reservation
 * is process-wide and must precede SQLite's initialization.
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
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include <signet/ledger.h>

#include "certgen.h"

#define CACHE_KIB	256	/* 64 pages a connection */
#define BULK_ROWS	40000	/* certs_tenant ~4x the cache */
#define ROUNDS		40
#define T0		1700000000LL

static size_t reserved;

/* BULK_ROWS issued rows of another tenant, in one raw transaction. */
static void
bulk_fill(const char *path)
{
	sqlite3 *db;
	char sql[640];

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql),
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	    " WHERE i < %d) INSERT INTO certs(serial, tenant, issuer, profile,"
	    " subject, sans, requester, not_before, not_after, created,"
	    " tbs_hash, status, der_stored) SELECT randomblob(16), 'bulk',"
	    " 'ica-1', 'service', 'CN=x', 'x', 'CN=r', %lld, %lld + i,"
	    " %lld, randomblob(32), 1, 0 FROM n", BULK_ROWS, T0, T0, T0);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void
test_counts_use_the_block(void **state)
{
	struct ledger_config lc;
	struct ledger *l = NULL;
	struct ledger_counts n;
	struct test_cert c;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	sqlite3_int64 cur, hi, base, slots, slots_hi, over, over_hi;
	char dir[] = "/tmp/signet-pcache-XXXXXX", path[64], p[80];
	int i;

	(void)state;
	assert_non_null(key);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ledger.db", dir);
	memset(&lc, 0, sizeof(lc));
	lc.cache_kib = CACHE_KIB;
	/* Creates the schema; the rows go in behind its back, then reopen. */
	assert_int_equal(ledger_open_config("sqlite", path, &lc, &l),
	    LEDGER_OK);
	ledger_close(l);
	bulk_fill(path);
	assert_int_equal(ledger_open_config("sqlite", path, &lc, &l),
	    LEDGER_OK);
	/* Warm: statements prepared, schema read, one round done. */
	certgen(key, 1, "dev", "warm.example", T0, T0 + 3600, &c);
	assert_int_equal(certgen_issue(l, &c), LEDGER_OK);
	certgen_free(&c);
	assert_int_equal(ledger_count(l, NULL, &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], BULK_ROWS + 1);

	assert_int_equal(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &base,
	    &hi, 1), SQLITE_OK);
	assert_int_equal(sqlite3_status64(SQLITE_STATUS_PAGECACHE_OVERFLOW,
	    &over, &over_hi, 1), SQLITE_OK);
	assert_int_equal(sqlite3_status64(SQLITE_STATUS_PAGECACHE_USED,
	    &slots, &slots_hi, 1), SQLITE_OK);
	for (i = 0; i < ROUNDS; i++) {
		certgen(key, 100 + (uint64_t)i, "dev", "r.example", T0,
		    T0 + 3600, &c);
		assert_int_equal(certgen_issue(l, &c), LEDGER_OK);
		certgen_free(&c);
		assert_int_equal(ledger_count(l, NULL, &n), LEDGER_OK);
		assert_int_equal(n.n[LEDGER_ISSUED], BULK_ROWS + 2 + i);
	}
	assert_int_equal(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &cur,
	    &hi, 0), SQLITE_OK);
	assert_int_equal(sqlite3_status64(SQLITE_STATUS_PAGECACHE_USED,
	    &slots, &slots_hi, 0), SQLITE_OK);
	assert_int_equal(sqlite3_status64(SQLITE_STATUS_PAGECACHE_OVERFLOW,
	    &over, &over_hi, 0), SQLITE_OK);
	print_message("heap %lld -> high %lld bytes; slots in use %lld (high"
	    " %lld) of %zu bytes reserved; overflow high %lld bytes\n",
	    (long long)base, (long long)hi, (long long)slots,
	    (long long)slots_hi, reserved, (long long)over_hi);
	/*
	 * The count runs on the scan lane, whose cache is a quarter of
	 * cache_kib, at least 64 KiB: cache_size=-64 here, ~14 pages of
	 * 4 KiB and their headers, full; the writer touches ~30.  All in
	 * the block, and not one page from the heap: SQLite counts every
	 * page allocation that did not fit the block as overflow (without
	 * the block: no slots, ~47 KB of overflow, and the heap holds the
	 * caches).  The heap's own size is printed, not judged: it is
	 * statements, schema and lookaside, and differs between SQLite
	 * versions (~280 KB with Debian 12's 3.40, ~420 KB with Debian
	 * 13's 3.46).
	 */
	assert_true(slots_hi >= 40);
	assert_int_equal(over_hi, 0);

	ledger_close(l);
	EVP_PKEY_free(key);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	unlink(path);
	rmdir(dir);
}

static void
test_second_reservation_refused(void **state)
{
	size_t bytes = 1;

	(void)state;
	assert_int_equal(ledger_sqlite_reserve_cache(CACHE_KIB, &bytes),
	    LEDGER_ERR_STATE);
	assert_int_equal(bytes, 0);
	assert_int_equal(ledger_sqlite_reserve_cache(0, &bytes),
	    LEDGER_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_use_the_block),
		cmocka_unit_test(test_second_reservation_refused),
	};

	if (ledger_sqlite_reserve_cache(CACHE_KIB, &reserved) !=
	    LEDGER_OK) {
		fprintf(stderr, "cannot reserve the page cache\n");
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
