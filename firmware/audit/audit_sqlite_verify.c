/*
 * The verifier for the chain in SQLite: the row source of the walker
 * (audit_walk.c), read inside one read transaction, a consistent
 * snapshot even while the appliance writes.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <signet/audit.h>
#include <signet/audit_sqlite.h>

#include "audit_impl.h"
#include "audit_walk.h"

struct sq_source {
	sqlite3		*db;
	sqlite3_stmt	*records;
};

/* A statement that does not prepare means the audit tables are missing. */
static int
prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int src = sqlite3_prepare_v2(db, sql, -1, st, NULL);

	if ((src & 0xff) == SQLITE_ERROR)
		return AUDIT_ERR_SCHEMA;
	return audit_db_rc(src);
}

static int
sq_checkpoints(void *arg, struct audit_walk *w)
{
	struct sq_source *s = arg;
	sqlite3_stmt *st = NULL;
	int src, rc;

	rc = prepare(s->db, "SELECT seq, time, head, sig FROM audit_checkpoint"
	    " ORDER BY seq", &st);
	if (rc != AUDIT_OK)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = audit_walk_checkpoint(w,
		    (uint64_t)sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1), sqlite3_column_blob(st, 2),
		    (size_t)sqlite3_column_bytes(st, 2),
		    sqlite3_column_blob(st, 3),
		    (size_t)sqlite3_column_bytes(st, 3));
		if (rc != AUDIT_OK)
			goto out;
	}
	rc = audit_db_rc(src);
out:
	sqlite3_finalize(st);
	return rc;
}

static int
sq_next(void *arg, struct audit_row *r, int *more)
{
	struct sq_source *s = arg;
	sqlite3_stmt *st;
	int i, src, rc;

	*more = 0;
	if (s->records == NULL && (rc = prepare(s->db, "SELECT seq, time,"
	    " actor, role, tenant, action, object, result, detail,"
	    " prev_hash, hash FROM audit_log ORDER BY seq", &s->records)) !=
	    AUDIT_OK)
		return rc;
	st = s->records;
	if ((src = sqlite3_step(st)) != SQLITE_ROW)
		return audit_db_rc(src);
	*more = 1;
	r->seq = (uint64_t)sqlite3_column_int64(st, 0);
	r->time = sqlite3_column_int64(st, 1);
	for (i = 0; i < AUDIT_NFIELDS; i++) {
		r->field[i] = (const char *)sqlite3_column_text(st, 2 + i);
		r->len[i] = (size_t)sqlite3_column_bytes(st, 2 + i);
		if (r->field[i] == NULL)
			r->field[i] = "";
	}
	r->prev = sqlite3_column_blob(st, 9);
	r->hash = sqlite3_column_blob(st, 10);
	r->malformed = sqlite3_column_bytes(st, 9) != AUDIT_HASH_LEN ||
	    sqlite3_column_bytes(st, 10) != AUDIT_HASH_LEN ||
	    sqlite3_column_type(st, 1) != SQLITE_INTEGER;
	return AUDIT_OK;
}

static const struct audit_source sq_source = {
	.checkpoints = sq_checkpoints,
	.next = sq_next,
};

int
audit_db_verify(sqlite3 *db, EVP_PKEY *pub, struct audit_verify_result *res)
{
	return audit_db_verify_ext(db, pub, NULL, res);
}

int
audit_db_verify_ext(sqlite3 *db, EVP_PKEY *pub, const struct audit_ckpts *ext,
    struct audit_verify_result *res)
{
	struct sq_source s = { .db = db };
	int rc;

	if (db == NULL || res == NULL)
		return AUDIT_ERR_ARG;
	memset(res, 0, sizeof(*res));
	if ((rc = audit_db_rc(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL))))
		goto out;
	rc = audit_walk(&sq_source, &s, pub, ext, res);
out:
	sqlite3_finalize(s.records);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

int
audit_verify(const char *path, EVP_PKEY *pub, struct audit_verify_result *res)
{
	return audit_verify_ext(path, pub, NULL, res);
}

int
audit_verify_ext(const char *path, EVP_PKEY *pub,
    const struct audit_ckpts *ext, struct audit_verify_result *res)
{
	sqlite3 *db = NULL;
	int rc;

	if (path == NULL || res == NULL)
		return AUDIT_ERR_ARG;
	rc = audit_db_rc(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL));
	if (rc != AUDIT_OK)
		goto out;
	sqlite3_busy_timeout(db, 10000);
	rc = audit_db_verify_ext(db, pub, ext, res);
out:
	sqlite3_close(db);
	return rc;
}
