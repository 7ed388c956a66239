/*
 * The PostgreSQL ledger backend, for several appliances sharing one
 * ledger (docs/cluster.md).  The target is a libpq connection string
 * plus our own "node=<id>" (default: the host name), e.g.
 *
 *	host=db.example dbname=signet user=signet node=a1
 *
 * Writes go through group commit (ledger_gc.c) on one writer connection:
 * one transaction and one WAL flush per batch, each operation in its own
 * SAVEPOINT so a duplicate serial undoes only itself.  Reads are in
 * ledger_pgsql_read.c, statements in ledger_pgsql_write.c, the schema in
 * ledger_pgsql_schema.c, connections in ledger_pgsql_conn.c.
 *
 * When the database goes away every call fails fast with
 * LEDGER_ERR_DOWN (the engine answers 503); the connection comes back by
 * itself with bounded backoff, and nothing is half-written because
 * every operation is all in one transaction.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <signet/audit_pgsql.h>
#include <signet/ledger.h>
#include <signet/ledger_backend.h>
#include <signet/ledger_notify.h>

#include "ledger_impl.h"
#include "ledger_pgsql.h"

/* The apply step of one op, inside its SAVEPOINT. */
static int
do_op(struct pg_ledger *pg, struct gc_op *op)
{
	switch (op->kind) {
	case GC_RESERVE:
		return pg_do_reserve(pg, op->in);
	case GC_TRANSITION:
		return pg_do_transition(pg, op->t, op->audit);
	case GC_AUDIT:
		return pg_do_audit(pg, op->audit, &op->out);
	case GC_CHECKPOINT:
		return pg_do_checkpoint(pg);
	case GC_COUNTER:
		return pg_do_counter(pg, op->name, &op->out);
	case GC_TOKEN_CREATE:
		return pg_do_token_create(pg, op->tok, op->audit);
	case GC_RESERVE_TOKEN:
		return pg_do_reserve_token(pg, op->in, op->hash, op->now);
	case GC_ACME:
		return pg_do_acme(pg, op->steps, op->nsteps, op->audit);
	case GC_TIDY:
		return pg_do_tidy(pg, op->name, op->now, op->limit, &op->out,
		    &op->out2);
	case GC_NOTIFY:
		return pg_do_notify(pg, op->notify);
	case GC_ACME_LIMIT:
		return pg_do_acme_limit(pg, op->lim);
	}
	return LEDGER_ERR_ARG;
}

_Static_assert(offsetof(struct pg_ledger, gc) == 0,
    "the shared write ops take the state as its struct ledger_gc");

/*
 * Group-commit hooks (ledger_gc.h).  BEGIN changes nothing, so when the
 * connection turns out to have died while idle (a database restart) it
 * is retried once on a new connection.
 */
static int
gc_begin(void *arg)
{
	struct pg_ledger *pg = arg;
	int fresh, tries, rc;

	/* Checkpoints of a batch that never committed are not exported. */
	audit_pg_rolledback(pg->audit);
	for (tries = 0;; tries++) {
		if ((rc = pg_conn_ensure(&pg->w, &fresh)) != LEDGER_OK)
			return rc;
		rc = pg_simple(&pg->w, "BEGIN");
		if (rc != LEDGER_ERR_DOWN || fresh || tries > 0)
			return rc;
	}
}

static int
gc_apply(void *arg, struct gc_op *gop)
{
	struct pg_ledger *pg = arg;
	int rc;

	if ((rc = pg_simple(&pg->w, "SAVEPOINT op")) != LEDGER_OK)
		return rc;
	if ((rc = do_op(pg, gop)) != LEDGER_OK) {
		if (pg_simple(&pg->w, "ROLLBACK TO SAVEPOINT op") != LEDGER_OK)
			return pg->w.broken ? LEDGER_ERR_DOWN : rc;
	}
	pg_simple(&pg->w, "RELEASE SAVEPOINT op");
	return rc;
}

static int
gc_alive(void *arg)
{
	struct pg_ledger *pg = arg;

	return !pg->w.broken &&
	    PQtransactionStatus(pg->w.conn) == PQTRANS_INTRANS;
}

/*
 * COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK:
 * only the tag COMMIT means the batch is durable (synchronous_commit is
 * on for our sessions).  A connection lost during COMMIT leaves the
 * outcome unknown; the callers are told it failed, which is safe: an
 * unreturned certificate, a reservation left for reconciliation.
 */
static int
gc_commit(void *arg)
{
	struct pg_ledger *pg = arg;
	PGresult *res;
	int rc = LEDGER_OK;

	res = PQexec(pg->w.conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_result_rc(&pg->w, res);
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		rc = LEDGER_ERR_DB;
	PQclear(res);
	if (rc == LEDGER_OK)
		audit_pg_committed(pg->audit);
	return rc;
}

static void
gc_rollback(void *arg)
{
	struct pg_ledger *pg = arg;

	audit_pg_rolledback(pg->audit);
	if (pg->w.conn != NULL && !pg->w.broken &&
	    PQtransactionStatus(pg->w.conn) != PQTRANS_IDLE)
		pg_simple(&pg->w, "ROLLBACK");
}

/* Every transaction synchronous: no durable hook (docs/decisions.md). */
static const struct gc_hooks pg_hooks = {
	gc_begin, gc_apply, gc_alive, gc_commit, gc_rollback, NULL,
};

static void
pg_close(void *state)
{
	struct pg_ledger *pg = state;
	int i;

	if (pg == NULL)
		return;
	if (pg->gc_ready)
		ledger_gc_destroy(&pg->gc);
	audit_pg_detach(pg->audit);
	for (i = 0; i < PG_READERS; i++)
		pg_conn_close(&pg->r[i]);
	pg_conn_close(&pg->w);
	pthread_mutex_destroy(&pg->rlock);
	pg_target_free(&pg->target);
	free(pg);
}

/*
 * Open: parse the target, connect the writer and migrate the schema.
 * Unlike later calls, open does not wait for a database that is down:
 * it fails, and the daemon's supervisor decides when to try again.
 */
static int
pg_open(const char *target, const struct ledger_config *cfg, void **state)
{
	struct pg_ledger *pg = NULL;
	int i, rc;

	if ((pg = calloc(1, sizeof(*pg))) == NULL)
		return LEDGER_ERR_NOMEM;
	pthread_mutex_init(&pg->rlock, NULL);
	if ((rc = pg_target_parse(target, &pg->target)) != LEDGER_OK)
		goto out;
	if (cfg != NULL && cfg->busy_timeout_ms > 0)
		pg->target.busy_ms = cfg->busy_timeout_ms;
	pg_conn_init(&pg->w, &pg->target, pg_write_stmts, pg_nwrite_stmts, 1);
	for (i = 0; i < PG_READERS; i++)
		pg_conn_init(&pg->r[i], &pg->target, pg_read_stmts,
		    pg_nread_stmts, 0);
	/* Statements are prepared after the schema exists. */
	pg->w.nstmts = 0;
	pg->w.audit = 0;
	if ((rc = pg_conn_ensure(&pg->w, NULL)) != LEDGER_OK ||
	    (rc = pg_migrate(&pg->w)) != LEDGER_OK)
		goto out;
	pg->w.nstmts = pg_nwrite_stmts;
	pg->w.audit = 1;
	pg->w.broken = 1;	/* reconnect now, preparing everything */
	if ((rc = pg_conn_ensure(&pg->w, NULL)) != LEDGER_OK ||
	    (rc = pg_conn_ensure(&pg->r[0], NULL)) != LEDGER_OK)
		goto out;
	rc = ledger_audit_rc(audit_pg_attach(pg->target.node,
	    cfg != NULL ? &cfg->audit : NULL, &pg->audit));
	if (rc != LEDGER_OK)
		goto out;
	if (ledger_gc_init(&pg->gc, &pg_hooks, pg,
	    cfg != NULL && cfg->no_group_commit) != 0) {
		rc = LEDGER_ERR_NOMEM;
		goto out;
	}
	pg->gc_ready = 1;
	*state = pg;
	pg = NULL;
out:
	pg_close(pg);
	return rc;
}

const struct ledger_backend ledger_backend_pgsql = {
	.name = "pgsql",
	.open = pg_open,
	.close = pg_close,
	.reserve = ledger_gc_reserve,
	.transition = ledger_gc_transition,
	.audit = ledger_gc_audit,
	.checkpoint = ledger_gc_checkpoint,
	.audit_query = pg_audit_query,
	.next_counter = ledger_gc_next_counter,
	.get = pg_get,
	.list = pg_list,
	.count = pg_count,
	.list_revoked = pg_list_revoked,
	.list_reserved = pg_list_reserved,
	.stats = ledger_gc_stats,
	.token_create = ledger_gc_token_create,
	.token_get = pg_token_get,
	.token_get_id = pg_token_get_id,
	.reserve_token = ledger_gc_reserve_token,
	.tidy = ledger_gc_tidy,
	.notify = ledger_gc_notify,
	.notify_expiring = pg_notify_expiring,
	.notify_counts = pg_notify_counts,
	.acme_limit = pg_acme_limit,
	/* ACME (issue 20), shared by every node: ledger_pgsql_acme.c */
	.acme_write = ledger_gc_acme,
	.acme_read = pg_acme_read,
	.acme_shared = 1,
};
