/*
 * Enrollment tokens in the SQLite ledger.  Writes run inside the group
 * commit (ledger_sqlite.c calls these from its op dispatcher, within the
 * op's SAVEPOINT), so consuming a use and reserving the certificate it
 * pays for commit or vanish together.  The token reads run on the reader
 * connection, prepared once, like every other lookup.
 *
 * The table is created with IF NOT EXISTS at open rather than as a
 * numbered migration: it is independent of the certificate schema and
 * a ledger written before tokens existed simply gains the table.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include <signet/ledger.h>

#include "ledger_impl.h"
#include "ledger_sqlite.h"

static const char token_schema[] =
    "CREATE TABLE IF NOT EXISTS enroll_tokens("
    " id TEXT PRIMARY KEY,"
    " hash BLOB NOT NULL UNIQUE CHECK(length(hash) = 32),"
    " tenant TEXT NOT NULL, profile TEXT NOT NULL, names TEXT NOT NULL,"
    " created INTEGER NOT NULL, expires INTEGER NOT NULL,"
    " uses_left INTEGER NOT NULL CHECK(uses_left >= 0)) WITHOUT ROWID;"
    /* Tidy (issue 19) finds expired and spent tokens through these. */
    "CREATE INDEX IF NOT EXISTS enroll_tokens_expires"
    " ON enroll_tokens(tenant, expires);"
    "CREATE INDEX IF NOT EXISTS enroll_tokens_spent"
    " ON enroll_tokens(tenant, created) WHERE uses_left = 0;";

static const char token_insert[] =
    "INSERT INTO enroll_tokens(id, hash, tenant, profile, names, created,"
    " expires, uses_left) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/* policy: one use, only for its own tenant and profile, only unexpired. */
static const char token_consume[] =
    "UPDATE enroll_tokens SET uses_left = uses_left - 1"
    " WHERE hash = ?1 AND tenant = ?2 AND profile = ?3"
    " AND uses_left > 0 AND expires > ?4";

static const char token_probe[] =
    "SELECT count(*) FROM enroll_tokens WHERE hash = ?1";

int
sq_tokens_install(sqlite3 *db)
{
	return sq_rc(sqlite3_exec(db, token_schema, NULL, NULL, NULL));
}

static int
finish(sqlite3_stmt *st, int src)
{
	sqlite3_finalize(st);
	return sq_rc(src);
}

int
sq_token_insert(sqlite3 *db, const struct ledger_token *t)
{
	sqlite3_stmt *st = NULL;
	int src;

	if ((src = sqlite3_prepare_v2(db, token_insert, -1, &st, NULL)) !=
	    SQLITE_OK)
		return finish(st, src);
	sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, t->hash, LEDGER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, t->names, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, t->created);
	sqlite3_bind_int64(st, 7, t->expires);
	sqlite3_bind_int64(st, 8, t->uses_left);
	return finish(st, sqlite3_step(st));
}

/* Why did the consumption change nothing: no token, or not usable? */
static int
probe(sqlite3 *db, const uint8_t *hash)
{
	sqlite3_stmt *st = NULL;
	int src, rc;

	if ((src = sqlite3_prepare_v2(db, token_probe, -1, &st, NULL)) !=
	    SQLITE_OK)
		return finish(st, src);
	sqlite3_bind_blob(st, 1, hash, LEDGER_HASH_LEN, SQLITE_STATIC);
	if ((src = sqlite3_step(st)) != SQLITE_ROW)
		return finish(st, src);
	rc = sqlite3_column_int(st, 0) > 0 ? LEDGER_ERR_STATE :
	    LEDGER_ERR_NOTFOUND;
	sqlite3_finalize(st);
	return rc;
}

int
sq_token_consume(sqlite3 *db, const struct ledger_intent *in,
    const uint8_t *hash, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int src;

	if ((src = sqlite3_prepare_v2(db, token_consume, -1, &st, NULL)) !=
	    SQLITE_OK)
		return finish(st, src);
	sqlite3_bind_blob(st, 1, hash, LEDGER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, in->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, in->profile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	src = sqlite3_step(st);
	sqlite3_finalize(st);
	if (src != SQLITE_DONE)
		return sq_rc(src);
	if (sqlite3_changes(db) != 1)
		return probe(db, hash);
	return LEDGER_OK;
}

static void
copy_col(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	if (s == NULL)
		s = (const unsigned char *)"";
	snprintf(dst, size, "%s", (const char *)s);
}

/* Fill out from the row st stands on (columns SQ_TOKEN_COLUMNS). */
static int
token_row(sqlite3_stmt *st, struct ledger_token *out)
{
	if (sqlite3_column_bytes(st, 7) != LEDGER_HASH_LEN)
		return LEDGER_ERR_DB;
	copy_col(st, 0, out->id, sizeof(out->id));
	copy_col(st, 1, out->tenant, sizeof(out->tenant));
	copy_col(st, 2, out->profile, sizeof(out->profile));
	copy_col(st, 3, out->names, sizeof(out->names));
	out->created = sqlite3_column_int64(st, 4);
	out->expires = sqlite3_column_int64(st, 5);
	out->uses_left = (uint32_t)sqlite3_column_int64(st, 6);
	memcpy(out->hash, sqlite3_column_blob(st, 7), LEDGER_HASH_LEN);
	return LEDGER_OK;
}

/*
 * One token on the reader, by id if id is not NULL, else by hash: a
 * single statement, so the row and its verifier come from one snapshot.
 * The reset ends that snapshot; clearing drops the borrowed key.
 */
static int
token_read(struct sq_ledger *sq, const char *id, const uint8_t *hash,
    struct ledger_token *out)
{
	sqlite3_stmt *st = sq->r[id != NULL ? R_TOKEN_BY_ID : R_TOKEN_BY_HASH];
	int src, rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&sq->rlock);
	if (id != NULL)
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_blob(st, 1, hash, LEDGER_HASH_LEN, SQLITE_STATIC);
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		rc = token_row(st, out);
	else if (src == SQLITE_DONE)
		rc = LEDGER_ERR_NOTFOUND;
	else
		rc = sq_rc(src);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&sq->rlock);
	return rc;
}

int
sq_token_get(void *state, const uint8_t *hash, struct ledger_token *out)
{
	return token_read(state, NULL, hash, out);
}

int
sq_token_get_id(void *state, const char *id, struct ledger_token *out)
{
	return token_read(state, id, NULL, out);
}
