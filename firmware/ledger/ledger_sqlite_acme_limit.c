/*
 * ACME rate limits in the SQLite ledger (migration 8, issue 20;
 * signet/ledger_acme.h).  A take or a give runs inside the group
 * commit's op SAVEPOINT (ledger_sqlite.c), a peek on the reader.
 *
 * One row per key: tat, when its bucket is full again (microseconds).
 * A take is one upsert whose WHERE is the bucket's test, so the check
 * and the charge cannot come apart; a row whose tat has passed is a
 * full bucket, the same as no row, and takes delete some of those.
 */
#include <sqlite3.h>

#include <signet/ledger.h>
#include <signet/ledger_acme.h>

#include "ledger_impl.h"
#include "ledger_sqlite.h"

const char sq_acme_limit_schema[] =
    "CREATE TABLE IF NOT EXISTS acme_limits("
    " key TEXT PRIMARY KEY, tat INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS acme_limits_tat ON acme_limits(tat);";

/* ?1 key, ?2 now, ?3 cost, ?4 span. */
static const char sql_take[] =
    "INSERT INTO acme_limits(key, tat) VALUES(?1, ?2 + ?3)"
    " ON CONFLICT(key) DO UPDATE SET tat = max(tat, ?2) + ?3"
    " WHERE max(tat, ?2) + ?3 - ?2 <= ?4";

/* ?1 now, ?2 rows at most: full buckets. */
static const char sql_sweep[] =
    "DELETE FROM acme_limits WHERE tat < ?1 AND key IN"
    " (SELECT key FROM acme_limits WHERE tat < ?1 ORDER BY tat LIMIT ?2)";

static const char sql_give[] =
    "UPDATE acme_limits SET tat = tat - ?2 WHERE key = ?1";

static const char sql_get[] =
    "SELECT tat FROM acme_limits WHERE key = ?1";

static int
finish(sqlite3_stmt *st, int src)
{
	sqlite3_finalize(st);
	return sq_rc(src);
}

/* The key's tat into *tat (0: no row); on db. */
static int
get_tat(sqlite3 *db, const char *key, int64_t *tat)
{
	sqlite3_stmt *st = NULL;
	int src;

	*tat = 0;
	if ((src = sqlite3_prepare_v2(db, sql_get, -1, &st, NULL)) !=
	    SQLITE_OK)
		return finish(st, src);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((src = sqlite3_step(st)) == SQLITE_ROW) {
		*tat = sqlite3_column_int64(st, 0);
		src = SQLITE_DONE;
	}
	return finish(st, src);
}

static int
take(sqlite3 *db, struct ledger_acme_limit *lim)
{
	sqlite3_stmt *st = NULL;
	int64_t tat;
	int src, rc;

	if ((src = sqlite3_prepare_v2(db, sql_sweep, -1, &st, NULL)) !=
	    SQLITE_OK)
		return finish(st, src);
	sqlite3_bind_int64(st, 1, lim->now_us);
	sqlite3_bind_int64(st, 2, LEDGER_ACME_LIMIT_SWEEP);
	if ((src = sqlite3_step(st)) != SQLITE_DONE)
		return finish(st, src);
	sqlite3_finalize(st);
	st = NULL;
	if ((src = sqlite3_prepare_v2(db, sql_take, -1, &st, NULL)) !=
	    SQLITE_OK)
		return finish(st, src);
	sqlite3_bind_text(st, 1, lim->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lim->now_us);
	sqlite3_bind_int64(st, 3, lim->cost_us);
	sqlite3_bind_int64(st, 4, lim->span_us);
	if ((src = sqlite3_step(st)) != SQLITE_DONE)
		return finish(st, src);
	sqlite3_finalize(st);
	if (sqlite3_changes(db) == 1)
		return LEDGER_OK;
	/* Refused: how long until a token is there. */
	if ((rc = get_tat(db, lim->key, &tat)) != LEDGER_OK)
		return rc;
	if (ledger_acme_limit_there(lim, tat))
		lim->retry = 1;	/* refilled in between: try again */
	return LEDGER_ERR_STATE;
}

static int
give(sqlite3 *db, const struct ledger_acme_limit *lim)
{
	sqlite3_stmt *st = NULL;
	int src;

	if ((src = sqlite3_prepare_v2(db, sql_give, -1, &st, NULL)) !=
	    SQLITE_OK)
		return finish(st, src);
	sqlite3_bind_text(st, 1, lim->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lim->cost_us);
	return finish(st, sqlite3_step(st));
}

int
sq_acme_limit_apply(sqlite3 *db, struct ledger_acme_limit *lim)
{
	return lim->mode == LAL_GIVE ? give(db, lim) : take(db, lim);
}

int
sq_acme_limit(void *state, struct ledger_acme_limit *lim)
{
	struct sq_ledger *sq = state;
	int64_t tat;
	int rc;

	if (lim->mode != LAL_PEEK)
		return ledger_gc_acme_limit(state, lim);
	pthread_mutex_lock(&sq->rlock);
	rc = get_tat(sq->rdb, lim->key, &tat);
	pthread_mutex_unlock(&sq->rlock);
	if (rc != LEDGER_OK)
		return rc;
	return ledger_acme_limit_there(lim, tat) ? LEDGER_OK :
	    LEDGER_ERR_STATE;
}
