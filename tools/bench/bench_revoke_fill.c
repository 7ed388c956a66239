/*
 * Fills a ledger with a million rows in seconds.  Going through
 * ledger_reserve and ledger_commit would cost two durable transactions
 * and an audit record per row; a benchmark of CRL and OCSP reads needs
 * only the rows.  The ledger creates and migrates its schema first
 * (ledger_open), then one SQLite transaction inserts the rows into the
 * certs table of schema version 1.  This couples the benchmark, and
 * only it, to that table's columns.  A large page cache keeps the
 * random-serial index inserts in memory until the one commit, and a
 * rollback journal instead of the WAL writes the pages once (the
 * ledger turns WAL back on when it opens the file).
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "bench_revoke.h"

/* splitmix64: the serials look random, as issued ones do. */
static uint64_t
bench_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void
bench_serial(uint64_t i, struct ledger_serial *s)
{
	uint64_t m = bench_mix(i);
	int k;

	s->len = 16;
	for (k = 0; k < 8; k++)
		s->b[k] = (uint8_t)(m >> (8 * k));
	/* CABF BR 7.1 shape: positive, first octet 0x01..0x7f. */
	s->b[0] = (uint8_t)(1 + s->b[0] % 0x7f);
	for (k = 0; k < 8; k++)
		s->b[8 + k] = (uint8_t)(i >> (8 * (7 - k)));
}

static int
bench_insert(sqlite3_stmt *st, uint64_t i, int revoked, time_t now)
{
	struct ledger_serial s;
	static const uint8_t hash[32];

	bench_serial(i, &s);
	sqlite3_reset(st);
	sqlite3_bind_blob(st, 1, s.b, (int)s.len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now - 3600);
	sqlite3_bind_int64(st, 3, now + 86400 + (int64_t)(i % 3600));
	sqlite3_bind_blob(st, 4, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_int(st, 5, revoked ? LEDGER_REVOKED : LEDGER_ISSUED);
	if (revoked) {
		sqlite3_bind_int64(st, 6, now - (int64_t)(i % 3000));
		sqlite3_bind_int(st, 7, (int)(i % 6));
	} else {
		sqlite3_bind_null(st, 6);
		sqlite3_bind_null(st, 7);
	}
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int
bench_fill(const char *path, const char *issuer, uint64_t n,
    uint64_t nrevoked, time_t now)
{
	struct ledger *l = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t i;
	int rc = -1;

	if (ledger_open("sqlite", path, &l) != LEDGER_OK)
		goto out;
	ledger_close(l);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=DELETE; PRAGMA synchronous="
	    "OFF; PRAGMA cache_size=-524288; BEGIN", NULL, NULL, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO certs(serial, tenant, issuer,"
	    " profile, subject, sans, requester, not_before, not_after,"
	    " created, tbs_hash, status, revoked_at, reason, der_stored)"
	    " VALUES(?1, 'bench', ?8, 'web', 'CN=host', '', 'bench', ?2, ?3,"
	    " ?2, ?4, ?5, ?6, ?7, 0)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 8, issuer, -1, SQLITE_STATIC);
	for (i = 0; i < n; i++)
		if (bench_insert(st, i, i < nrevoked, now) != 0)
			goto out;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	rc = 0;
out:
	if (rc != 0 && db != NULL)
		fprintf(stderr, "bench: fill: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
