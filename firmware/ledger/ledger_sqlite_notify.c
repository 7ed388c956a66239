/*
 * The expiry notification queue in the SQLite ledger (migration 7,
 * issue 19; signet/ledger_notify.h).  Writes run inside the group
 * commit's op SAVEPOINT (ledger_sqlite.c), reads (counts: O(rows)) on
 * the scan lane.
 *
 * One row per (serial, threshold, webhook).  `due` is when the row may
 * be claimed: a claim moves it to the end of the lease, a failed attempt
 * to the next retry, so one column is both the backoff and the lease.
 * `claimed` is the attempt that holds the row (0: none): only that
 * attempt settles it, once; a claim after the lease took it over.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include <signet/ledger.h>
#include <signet/ledger_notify.h>

#include "ledger_impl.h"
#include "ledger_sqlite.h"

#define NQ_PENDING	0
#define NQ_DELIVERED	1
#define NQ_FAILED	2
#define NQ_PURGE_MAX	1000	/* settled rows removed per scan, at most */
#define NQ_KEEP		86400	/* settled rows kept after expiry (s) */

const char sq_notify_schema[] =
    "CREATE TABLE IF NOT EXISTS notify_queue("
    " id INTEGER PRIMARY KEY,"
    " serial BLOB NOT NULL, threshold TEXT NOT NULL, webhook TEXT NOT NULL,"
    " tenant TEXT NOT NULL, profile TEXT NOT NULL, names TEXT NOT NULL,"
    " not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0 CHECK(state BETWEEN 0 AND 2),"
    " attempts INTEGER NOT NULL DEFAULT 0, due INTEGER NOT NULL,"
    " claimed INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL, settled INTEGER NOT NULL DEFAULT 0,"
    " error TEXT NOT NULL DEFAULT '',"
    " UNIQUE(serial, threshold, webhook));"
    "CREATE INDEX IF NOT EXISTS notify_due ON notify_queue(due)"
    " WHERE state = 0;"
    "CREATE INDEX IF NOT EXISTS notify_settled ON notify_queue(not_after)"
    " WHERE state <> 0;";

/*
 * The threshold test shared by the scan and the metric: ?5 now, ?6 secs,
 * ?7 permille (one of them 0).
 */
#define NQ_CROSSED \
    " status = 1 AND not_after > ?5 AND (CASE WHEN ?7 > 0" \
    "  THEN (not_after - ?5) * 1000 <= (not_after - not_before) * ?7" \
    "  ELSE not_after - ?5 <= ?6 END)"

static const char sql_enqueue[] =
    "INSERT OR IGNORE INTO notify_queue(serial, threshold, webhook, tenant,"
    " profile, names, not_before, not_after, due, created)"
    " SELECT serial, ?3, ?4, tenant, profile, sans, not_before, not_after,"
    " ?5, ?5 FROM certs WHERE tenant = ?1 AND profile = ?2 AND"
    NQ_CROSSED " AND not_after - not_before > ?6";

static const char sql_purge[] =
    "DELETE FROM notify_queue WHERE id IN (SELECT id FROM notify_queue"
    " WHERE state <> 0 AND not_after <= ?1 LIMIT ?2)";

static const char sql_claim[] =
    "UPDATE notify_queue SET attempts = attempts + 1,"
    " claimed = attempts + 1, due = ?2"
    " WHERE id = (SELECT id FROM notify_queue WHERE state = 0"
    " AND due <= ?1 ORDER BY due, id LIMIT 1)"
    " RETURNING id, attempts, serial, tenant, profile, threshold, webhook,"
    " names, not_before, not_after";

static const char sql_settle[] =
    "UPDATE notify_queue SET state = ?3, due = ?4, error = ?5, settled = ?6,"
    " claimed = 0 WHERE id = ?1 AND claimed = ?2 AND state = 0";

static const char sql_expiring[] =
    "SELECT count(*) FROM certs WHERE tenant = ?1 AND profile = ?2 AND"
    NQ_CROSSED;

static const char sql_counts[] =
    "SELECT state, count(*) FROM notify_queue GROUP BY state";

static void
copy_col(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(dst, size, "%s", t != NULL ? (const char *)t : "");
}

static int
step_done(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	return sqlite3_prepare_v2(db, sql, -1, out, NULL);
}

static int
do_enqueue(sqlite3 *db, struct ledger_notify_op *op)
{
	const struct ledger_notify_rule *r = op->rule;
	sqlite3_stmt *st = NULL;
	int src;

	if ((src = step_done(db, sql_purge, &st)) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, op->now - NQ_KEEP);
	sqlite3_bind_int(st, 2, NQ_PURGE_MAX);
	if ((src = sqlite3_step(st)) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	if ((src = step_done(db, sql_enqueue, &st)) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, r->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->threshold, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->webhook, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, op->now);
	sqlite3_bind_int64(st, 6, r->secs);
	sqlite3_bind_int(st, 7, r->permille);
	if ((src = sqlite3_step(st)) == SQLITE_DONE)
		op->added = (uint64_t)sqlite3_changes(db);
out:
	sqlite3_finalize(st);
	return sq_rc(src);
}

static int
do_claim(sqlite3 *db, struct ledger_notify_op *op)
{
	struct ledger_notify *n = op->out;
	sqlite3_stmt *st = NULL;
	int src, len;

	if ((src = step_done(db, sql_claim, &st)) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, op->now);
	sqlite3_bind_int64(st, 2, op->until);
	if ((src = sqlite3_step(st)) != SQLITE_ROW)
		goto out;
	n->id = sqlite3_column_int64(st, 0);
	n->attempts = (uint32_t)sqlite3_column_int64(st, 1);
	len = sqlite3_column_bytes(st, 2);
	if (len < 1 || len > LEDGER_SERIAL_MAX) {
		src = SQLITE_CORRUPT;
		goto out;
	}
	n->serial.len = (size_t)len;
	memcpy(n->serial.b, sqlite3_column_blob(st, 2), (size_t)len);
	copy_col(st, 3, n->tenant, sizeof(n->tenant));
	copy_col(st, 4, n->profile, sizeof(n->profile));
	copy_col(st, 5, n->threshold, sizeof(n->threshold));
	copy_col(st, 6, n->webhook, sizeof(n->webhook));
	copy_col(st, 7, n->names, sizeof(n->names));
	n->not_before = sqlite3_column_int64(st, 8);
	n->not_after = sqlite3_column_int64(st, 9);
	/* RETURNING: the update is done once the statement has run out. */
	src = sqlite3_step(st) == SQLITE_DONE ? SQLITE_ROW : SQLITE_ERROR;
out:
	sqlite3_finalize(st);
	if (src == SQLITE_DONE)
		return LEDGER_ERR_NOTFOUND;
	return sq_rc(src);
}

static int
do_settle(sqlite3 *db, struct ledger_notify_op *op)
{
	sqlite3_stmt *st = NULL;
	int src;

	if ((src = step_done(db, sql_settle, &st)) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, op->id);
	sqlite3_bind_int64(st, 2, op->attempts);
	sqlite3_bind_int(st, 3, op->delivered ? NQ_DELIVERED :
	    op->until == 0 ? NQ_FAILED : NQ_PENDING);
	sqlite3_bind_int64(st, 4, op->until);
	sqlite3_bind_text(st, 5, op->error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, op->delivered || op->until == 0 ?
	    op->now : 0);
	src = sqlite3_step(st);
out:
	sqlite3_finalize(st);
	if (src == SQLITE_DONE && sqlite3_changes(db) != 1)
		return LEDGER_ERR_STATE;
	return sq_rc(src);
}

int
sq_notify_apply(sqlite3 *db, struct ledger_notify_op *op)
{
	switch (op->kind) {
	case LN_ENQUEUE:
		return do_enqueue(db, op);
	case LN_CLAIM:
		return do_claim(db, op);
	case LN_SETTLE:
		return do_settle(db, op);
	}
	return LEDGER_ERR_ARG;
}

int
sq_notify_expiring(void *state, const char *tenant, const char *profile,
    int64_t secs, int permille, int64_t now, uint64_t *n)
{
	struct sq_ledger *sq = state;
	sqlite3_stmt *st = NULL;
	int src;

	pthread_mutex_lock(&sq->slock);
	if ((src = step_done(sq->sdb, sql_expiring, &st)) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, profile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, secs);
	sqlite3_bind_int(st, 7, permille);
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&sq->slock);
	return sq_rc(src);
}

int
sq_notify_counts(void *state, struct ledger_notify_counts *out)
{
	struct sq_ledger *sq = state;
	sqlite3_stmt *st = NULL;
	int src;

	pthread_mutex_lock(&sq->slock);
	if ((src = step_done(sq->sdb, sql_counts, &st)) != SQLITE_OK)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t v = (uint64_t)sqlite3_column_int64(st, 1);

		switch (sqlite3_column_int(st, 0)) {
		case NQ_PENDING:
			out->pending = v;
			break;
		case NQ_DELIVERED:
			out->delivered = v;
			break;
		default:
			out->failed = v;
			break;
		}
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&sq->slock);
	return sq_rc(src);
}
