/*
 * The audit chain stored in SQLite: schema, append and checkpoints inside
 * a transaction the caller owns (see audit_sqlite.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include <signet/audit.h>
#include <signet/audit_sqlite.h>

#include "audit_impl.h"

#define AUDIT_SCHEMA_VERSION 1

/*
 * Triggers make the tables append-only for every writer that goes through
 * SQLite; someone who edits the file (or drops the triggers) is caught by
 * the hash chain instead.
 */
static const char schema_v1[] =
    "CREATE TABLE audit_log("
    " seq INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " actor TEXT NOT NULL, role TEXT NOT NULL, tenant TEXT NOT NULL,"
    " action TEXT NOT NULL, object TEXT NOT NULL, result TEXT NOT NULL,"
    " detail TEXT NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TABLE audit_checkpoint("
    " seq INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " head BLOB NOT NULL, sig BLOB NOT NULL);"
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_ckpt_no_update BEFORE UPDATE ON audit_checkpoint"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_ckpt_no_delete BEFORE DELETE ON audit_checkpoint"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "INSERT INTO audit_meta(name, value) VALUES('schema', 1);";

enum {
	ST_TAIL,
	ST_INSERT,
	ST_LAST_CKPT,
	ST_INSERT_CKPT,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_TAIL] = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
	[ST_INSERT] = "INSERT INTO audit_log(seq, time, actor, role, tenant,"
	    " action, object, result, detail, prev_hash, hash)"
	    " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_LAST_CKPT] = "SELECT seq, time FROM audit_checkpoint"
	    " ORDER BY seq DESC LIMIT 1",
	[ST_INSERT_CKPT] = "INSERT INTO audit_checkpoint(seq, time, head, sig)"
	    " VALUES(?, ?, ?, ?)",
};

struct audit_db {
	sqlite3			*db;
	struct audit_config	 cfg;
	sqlite3_stmt		*st[ST_COUNT];
	struct audit_pending	 pending;	/* written, not committed */
};

struct chain_head {
	uint64_t	seq;
	uint8_t		hash[AUDIT_HASH_LEN];
};

int
audit_db_rc(int src)
{
	switch (src & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return AUDIT_OK;
	case SQLITE_FULL:
		return AUDIT_ERR_FULL;
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return AUDIT_ERR_IO;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return AUDIT_ERR_BUSY;
	case SQLITE_NOMEM:
		return AUDIT_ERR_NOMEM;
	default:
		return AUDIT_ERR_DB;
	}
}

int64_t
audit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static int
schema_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st = NULL;
	int src;

	*version = 0;
	src = sqlite3_prepare_v2(db,
	    "SELECT value FROM audit_meta WHERE name = 'schema'", -1, &st,
	    NULL);
	if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return audit_db_rc(src);
}

int
audit_db_install(sqlite3 *db)
{
	int version, rc, src;

	/* A savepoint nests inside a migration the caller may have open. */
	src = sqlite3_exec(db, "SAVEPOINT audit_install;"
	    "CREATE TABLE IF NOT EXISTS audit_meta("
	    " name TEXT PRIMARY KEY, value INTEGER NOT NULL);", NULL, NULL,
	    NULL);
	if ((rc = audit_db_rc(src)) != AUDIT_OK)
		goto out;
	if ((rc = schema_version(db, &version)) != AUDIT_OK)
		goto out;
	if (version > AUDIT_SCHEMA_VERSION) {
		rc = AUDIT_ERR_SCHEMA;
		goto out;
	}
	if (version == 0) {
		src = sqlite3_exec(db, schema_v1, NULL, NULL, NULL);
		rc = audit_db_rc(src);
	}
out:
	if (rc != AUDIT_OK)
		sqlite3_exec(db, "ROLLBACK TO audit_install", NULL, NULL, NULL);
	sqlite3_exec(db, "RELEASE audit_install", NULL, NULL, NULL);
	return rc;
}

int
audit_db_attach(sqlite3 *db, const struct audit_config *cfg,
    struct audit_db **out)
{
	struct audit_db *adb = NULL;
	int i, rc = AUDIT_ERR_NOMEM;

	if (db == NULL || out == NULL)
		return AUDIT_ERR_ARG;
	if ((adb = calloc(1, sizeof(*adb))) == NULL)
		goto out;
	adb->db = db;
	if (cfg != NULL)
		adb->cfg = *cfg;
	for (i = 0; i < ST_COUNT; i++) {
		rc = audit_db_rc(sqlite3_prepare_v3(db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &adb->st[i], NULL));
		if (rc != AUDIT_OK) {
			if (rc == AUDIT_ERR_DB)
				rc = AUDIT_ERR_SCHEMA;
			goto out;
		}
	}
	*out = adb;
	adb = NULL;
	rc = AUDIT_OK;
out:
	audit_db_detach(adb);
	return rc;
}

void
audit_db_detach(struct audit_db *adb)
{
	int i;

	if (adb == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(adb->st[i]);
	audit_pending_free(&adb->pending);
	free(adb);
}

/* The current head of the chain, or seq 0 and zeros for an empty log. */
static int
chain_tail(struct audit_db *adb, struct chain_head *h)
{
	sqlite3_stmt *st = adb->st[ST_TAIL];
	int src, rc = AUDIT_OK;

	memset(h, 0, sizeof(*h));
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != AUDIT_HASH_LEN) {
			rc = AUDIT_ERR_DB;
			goto out;
		}
		h->seq = (uint64_t)sqlite3_column_int64(st, 0);
		memcpy(h->hash, sqlite3_column_blob(st, 1), AUDIT_HASH_LEN);
	} else
		rc = audit_db_rc(src);
out:
	sqlite3_reset(st);
	return rc;
}

static int
last_checkpoint(struct audit_db *adb, uint64_t *seq, int64_t *time)
{
	sqlite3_stmt *st = adb->st[ST_LAST_CKPT];
	int src, rc = AUDIT_OK;

	*seq = 0;
	*time = 0;
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		*time = sqlite3_column_int64(st, 1);
	} else
		rc = audit_db_rc(src);
	sqlite3_reset(st);
	return rc;
}

static int
write_checkpoint(struct audit_db *adb, const struct chain_head *h,
    int64_t now)
{
	sqlite3_stmt *st = adb->st[ST_INSERT_CKPT];
	uint8_t sig[AUDIT_MAX_SIG];
	size_t siglen = sizeof(sig);
	int rc;

	rc = audit_checkpoint_sign(adb->cfg.key, h->seq, now, h->hash, sig,
	    &siglen);
	if (rc != AUDIT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)h->seq);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_blob(st, 3, h->hash, AUDIT_HASH_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 4, sig, (int)siglen, SQLITE_TRANSIENT);
	rc = audit_db_rc(sqlite3_step(st));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	/* The last step of an append: nothing after it can undo it. */
	if (rc == AUDIT_OK && adb->cfg.exported != NULL)
		rc = audit_pending_add(&adb->pending, h->seq, now, h->hash,
		    sig, siglen);
	return rc;
}

static int
checkpoint_if_due(struct audit_db *adb, const struct chain_head *h,
    int64_t now)
{
	uint64_t cseq;
	int64_t ctime;
	int rc, due;

	if (adb->cfg.key == NULL ||
	    (adb->cfg.every_n == 0 && adb->cfg.every_secs == 0))
		return AUDIT_OK;
	if ((rc = last_checkpoint(adb, &cseq, &ctime)) != AUDIT_OK)
		return rc;
	due = (adb->cfg.every_n != 0 && h->seq - cseq >= adb->cfg.every_n) ||
	    (adb->cfg.every_secs != 0 && now - ctime >= adb->cfg.every_secs);
	if (!due || h->seq == cseq)
		return AUDIT_OK;
	return write_checkpoint(adb, h, now);
}

static int
insert_record(struct audit_db *adb, uint64_t seq, int64_t time,
    const char *const field[AUDIT_NFIELDS], const size_t len[AUDIT_NFIELDS],
    const uint8_t prev[AUDIT_HASH_LEN], const uint8_t hash[AUDIT_HASH_LEN])
{
	sqlite3_stmt *st = adb->st[ST_INSERT];
	int i, rc;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	sqlite3_bind_int64(st, 2, time);
	for (i = 0; i < AUDIT_NFIELDS; i++)
		sqlite3_bind_text(st, 3 + i, field[i], (int)len[i],
		    SQLITE_STATIC);
	sqlite3_bind_blob(st, 10, prev, AUDIT_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 11, hash, AUDIT_HASH_LEN, SQLITE_STATIC);
	rc = audit_db_rc(sqlite3_step(st));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

int
audit_db_append(struct audit_db *adb, const struct audit_record *rec,
    uint64_t *seq)
{
	const char *field[AUDIT_NFIELDS];
	size_t len[AUDIT_NFIELDS];
	struct chain_head h;
	uint8_t prev[AUDIT_HASH_LEN];
	int64_t time;
	int i, rc;

	if (adb == NULL || rec == NULL)
		return AUDIT_ERR_ARG;
	audit_record_fields(rec, field, len);
	for (i = 0; i < AUDIT_NFIELDS; i++)
		if (len[i] > AUDIT_MAX_FIELD)
			return AUDIT_ERR_ARG;
	if ((rc = chain_tail(adb, &h)) != AUDIT_OK)
		return rc;
	time = rec->time != 0 ? rec->time : audit_now();
	memcpy(prev, h.hash, sizeof(prev));
	h.seq++;
	rc = audit_hash_fields(h.seq, time, field, len, prev, h.hash);
	if (rc != AUDIT_OK)
		return rc;
	rc = insert_record(adb, h.seq, time, field, len, prev, h.hash);
	if (rc != AUDIT_OK)
		return rc;
	if ((rc = checkpoint_if_due(adb, &h, time)) != AUDIT_OK)
		return rc;
	if (seq != NULL)
		*seq = h.seq;
	return AUDIT_OK;
}

int
audit_db_checkpoint(struct audit_db *adb)
{
	struct chain_head h;
	uint64_t cseq;
	int64_t ctime;
	int rc;

	if (adb == NULL || adb->cfg.key == NULL)
		return AUDIT_ERR_ARG;
	if ((rc = chain_tail(adb, &h)) != AUDIT_OK)
		return rc;
	if ((rc = last_checkpoint(adb, &cseq, &ctime)) != AUDIT_OK)
		return rc;
	if (h.seq == cseq)
		return AUDIT_OK;
	return write_checkpoint(adb, &h, audit_now());
}

void
audit_db_committed(struct audit_db *adb)
{
	if (adb != NULL)
		audit_pending_flush(&adb->pending, &adb->cfg, "-");
}

void
audit_db_rolledback(struct audit_db *adb)
{
	if (adb != NULL)
		audit_pending_drop(&adb->pending);
}
