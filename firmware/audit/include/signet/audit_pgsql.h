/*
 * The audit chain inside a PostgreSQL database the ledger owns, so that
 * a ledger change and its audit record commit in one transaction, as
 * with SQLite (audit_sqlite.h).  Only storage code includes this header.
 *
 * One chain per node.  Every appliance sharing the database appends to a
 * chain of its own, named by its node id, with the record encoding of
 * audit.h unchanged; each chain verifies alone, with that node's audit
 * key.  A chain's head is a row locked (SELECT ... FOR UPDATE) by the
 * append, so appends of one node are serialised even from several
 * processes, and nodes never wait for each other (docs/cluster.md).
 *
 * audit_pg_append and audit_pg_checkpoint must be called inside a
 * transaction the caller opened and will commit or roll back, on a
 * connection where audit_pg_prepare has run since it was (re)opened.
 *
 * Functions return AUDIT_OK or a negative enum audit_rc.
 */
#ifndef SIGNET_AUDIT_PGSQL_H
#define SIGNET_AUDIT_PGSQL_H

#include <libpq-fe.h>

#include <signet/audit.h>

#define AUDIT_PG_NODE_MAX 63	/* bytes of a node id */

struct audit_pg;

/* Create the audit tables, inside the caller's migration transaction. */
int	audit_pg_install(PGconn *conn);

/* Prepare the append statements on a newly opened connection. */
int	audit_pg_prepare(PGconn *conn);

/* A handle for node's chain with cfg copied; free with audit_pg_detach. */
int	audit_pg_attach(const char *node, const struct audit_config *cfg,
	    struct audit_pg **out);
void	audit_pg_detach(struct audit_pg *a);

/* Append inside the caller's transaction, checkpointing when due. */
int	audit_pg_append(struct audit_pg *a, PGconn *conn,
	    const struct audit_record *rec, uint64_t *seq);

/* Checkpoint inside the caller's transaction if records are unsigned. */
int	audit_pg_checkpoint(struct audit_pg *a, PGconn *conn);

/* As audit_db_committed and audit_db_rolledback (audit_sqlite.h). */
void	audit_pg_committed(struct audit_pg *a);
void	audit_pg_rolledback(struct audit_pg *a);

/*
 * Verify node's chain in one read-only snapshot (see audit_verify); also
 * reports a log that ends before its recorded head (truncation).  ext
 * (may be NULL): exported checkpoints, as audit_verify_ext.
 */
int	audit_pg_verify(PGconn *conn, const char *node, EVP_PKEY *pub,
	    struct audit_verify_result *res);
int	audit_pg_verify_ext(PGconn *conn, const char *node, EVP_PKEY *pub,
	    const struct audit_ckpts *ext, struct audit_verify_result *res);

/*
 * Read one node's chain (q->node, NULL for node) in one statement (see
 * audit_query in audit.h).
 */
int	audit_pg_query(PGconn *conn, const char *node,
	    const struct audit_query *q, audit_entry_cb cb, void *arg,
	    struct audit_page *page);

#endif
