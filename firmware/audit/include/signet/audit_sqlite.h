/*
 * The audit log inside a SQLite connection someone else owns.
 *
 * The ledger's SQLite backend uses this so that a ledger change and its
 * audit record commit in one transaction: one fsync makes both durable,
 * and neither exists without the other.  Only storage code includes this
 * header; the engine sees ledger.h and audit.h.
 *
 * audit_db_append and audit_db_checkpoint must be called inside a write
 * transaction the caller opened (BEGIN IMMEDIATE) and will commit or roll
 * back.  They read the chain head from the database inside that
 * transaction, so a rollback leaves nothing stale behind and several
 * connections (or processes) may append to the same chain.
 */
#ifndef SIGNET_AUDIT_SQLITE_H
#define SIGNET_AUDIT_SQLITE_H

#include <sqlite3.h>

#include <signet/audit.h>

struct audit_db;

/* Create the audit tables if missing; fails on a newer audit schema. */
int	audit_db_install(sqlite3 *db);

/*
 * Bind to db (borrowed, must outlive the handle) with cfg copied.
 * Statements are prepared once and cached in the handle.
 */
int	audit_db_attach(sqlite3 *db, const struct audit_config *cfg,
	    struct audit_db **out);
void	audit_db_detach(struct audit_db *adb);

/* Append inside the caller's transaction, checkpointing when due. */
int	audit_db_append(struct audit_db *adb, const struct audit_record *rec,
	    uint64_t *seq);

/* Checkpoint inside the caller's transaction if records are unsigned. */
int	audit_db_checkpoint(struct audit_db *adb);

/*
 * The caller's transaction committed (or was rolled back): hand the
 * checkpoints it wrote to cfg.exported (or forget them).
 */
void	audit_db_committed(struct audit_db *adb);
void	audit_db_rolledback(struct audit_db *adb);

/* Verify the chain stored in db (see audit_verify, audit_verify_ext). */
int	audit_db_verify(sqlite3 *db, EVP_PKEY *pub,
	    struct audit_verify_result *res);
int	audit_db_verify_ext(sqlite3 *db, EVP_PKEY *pub,
	    const struct audit_ckpts *ext, struct audit_verify_result *res);

/* Read the chain stored in db (see audit_query in audit.h). */
int	audit_db_query(sqlite3 *db, const struct audit_query *q,
	    audit_entry_cb cb, void *arg, struct audit_page *page);

/* Map a SQLite result code to an audit_rc. */
int	audit_db_rc(int sqlite_rc);

#endif
