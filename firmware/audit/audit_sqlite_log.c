/*
 * A standalone audit log in a SQLite file of its own.  Each append is one
 * durable transaction; callers that want appends batched with other
 * writes use the ledger, which shares its transaction with the audit
 * chain.
 */
#include <pthread.h>
#include <stdlib.h>

#include <sqlite3.h>

#include <signet/audit.h>
#include <signet/audit_sqlite.h>

#define BUSY_TIMEOUT_MS 10000

struct audit_log {
	pthread_mutex_t	 lock;
	sqlite3		*db;
	struct audit_db	*adb;
};

static int
exec_rc(sqlite3 *db, const char *sql)
{
	return audit_db_rc(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/*
 * WAL with synchronous=FULL makes each COMMIT durable before it returns:
 * the rule that nothing is reported done unless it is recorded.
 */
static int
open_db(const char *path, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int rc;

	rc = audit_db_rc(sqlite3_open_v2(path, &db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL));
	if (rc != AUDIT_OK)
		goto out;
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	if ((rc = exec_rc(db, "PRAGMA journal_mode=WAL")) != AUDIT_OK ||
	    (rc = exec_rc(db, "PRAGMA synchronous=FULL")) != AUDIT_OK)
		goto out;
	*out = db;
	db = NULL;
out:
	sqlite3_close(db);
	return rc;
}

int
audit_open(const char *path, const struct audit_config *cfg,
    struct audit_log **out)
{
	struct audit_log *log = NULL;
	int rc = AUDIT_ERR_NOMEM;

	if (path == NULL || out == NULL)
		return AUDIT_ERR_ARG;
	if ((log = calloc(1, sizeof(*log))) == NULL)
		goto out;
	if (pthread_mutex_init(&log->lock, NULL) != 0) {
		free(log);
		log = NULL;
		goto out;
	}
	if ((rc = open_db(path, &log->db)) != AUDIT_OK)
		goto out;
	if ((rc = audit_db_install(log->db)) != AUDIT_OK)
		goto out;
	if ((rc = audit_db_attach(log->db, cfg, &log->adb)) != AUDIT_OK)
		goto out;
	*out = log;
	log = NULL;
out:
	audit_close(log);
	return rc;
}

void
audit_close(struct audit_log *log)
{
	if (log == NULL)
		return;
	audit_db_detach(log->adb);
	sqlite3_close(log->db);
	pthread_mutex_destroy(&log->lock);
	free(log);
}

/*
 * Append rec, or checkpoint when rec is NULL, in one BEGIN IMMEDIATE ..
 * COMMIT; a failure rolls back so nothing is half-written.
 */
static int
in_transaction(struct audit_log *log, const struct audit_record *rec,
    uint64_t *seq)
{
	uint64_t n = 0;
	int rc;

	pthread_mutex_lock(&log->lock);
	if ((rc = exec_rc(log->db, "BEGIN IMMEDIATE")) != AUDIT_OK)
		goto out;
	if (rec != NULL)
		rc = audit_db_append(log->adb, rec, &n);
	else
		rc = audit_db_checkpoint(log->adb);
	if (rc == AUDIT_OK)
		rc = exec_rc(log->db, "COMMIT");
	if (rc != AUDIT_OK) {
		exec_rc(log->db, "ROLLBACK");
		audit_db_rolledback(log->adb);
	} else {
		audit_db_committed(log->adb);
		if (seq != NULL)
			*seq = n;
	}
out:
	pthread_mutex_unlock(&log->lock);
	return rc;
}

int
audit_append(struct audit_log *log, const struct audit_record *rec,
    uint64_t *seq)
{
	if (log == NULL || rec == NULL)
		return AUDIT_ERR_ARG;
	return in_transaction(log, rec, seq);
}

int
audit_checkpoint(struct audit_log *log)
{
	if (log == NULL)
		return AUDIT_ERR_ARG;
	return in_transaction(log, NULL, NULL);
}
