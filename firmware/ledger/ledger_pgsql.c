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
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <signet/audit_pgsql.h>
#include <signet/ledger.h>
#include <signet/ledger_backend.h>

#include "ledger_impl.h"
#include "ledger_pgsql.h"

enum pg_kind {
	OP_RESERVE,
	OP_TRANSITION,
	OP_AUDIT,
	OP_CHECKPOINT,
	OP_COUNTER,
	OP_TOKEN_CREATE,
	OP_RESERVE_TOKEN,
};

/* One queued write; gc must stay first (ledger_gc hands it back). */
struct pg_op {
	struct gc_op			 gc;
	enum pg_kind			 kind;
	const struct ledger_intent	*in;
	const struct ledger_transition	*t;
	const struct audit_record	*audit;
	const char			*name;
	uint64_t			 out;
	const struct ledger_token	*tok;
	const uint8_t			*hash;
	int64_t				 now;
};

static int
do_op(struct pg_ledger *pg, struct pg_op *op)
{
	switch (op->kind) {
	case OP_RESERVE:
		return pg_do_reserve(pg, op->in);
	case OP_TRANSITION:
		return pg_do_transition(pg, op->t, op->audit);
	case OP_AUDIT:
		return pg_do_audit(pg, op->audit, &op->out);
	case OP_CHECKPOINT:
		return pg_do_checkpoint(pg);
	case OP_COUNTER:
		return pg_do_counter(pg, op->name, &op->out);
	case OP_TOKEN_CREATE:
		return pg_do_token_create(pg, op->tok, op->audit);
	case OP_RESERVE_TOKEN:
		return pg_do_reserve_token(pg, op->in, op->hash, op->now);
	}
	return LEDGER_ERR_ARG;
}

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
	if ((rc = do_op(pg, (struct pg_op *)gop)) != LEDGER_OK) {
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
	return rc;
}

static void
gc_rollback(void *arg)
{
	struct pg_ledger *pg = arg;

	if (pg->w.conn != NULL && !pg->w.broken &&
	    PQtransactionStatus(pg->w.conn) != PQTRANS_IDLE)
		pg_simple(&pg->w, "ROLLBACK");
}

static const struct gc_hooks pg_hooks = {
	gc_begin, gc_apply, gc_alive, gc_commit, gc_rollback,
};

static int
submit(struct pg_ledger *pg, struct pg_op *op)
{
	return ledger_gc_submit(&pg->gc, &op->gc);
}

static int
pg_reserve(void *state, const struct ledger_intent *in)
{
	struct pg_op op = { .kind = OP_RESERVE, .in = in };

	return submit(state, &op);
}

static int
pg_transition(void *state, const struct ledger_transition *t,
    const struct audit_record *audit)
{
	struct pg_op op = { .kind = OP_TRANSITION, .t = t, .audit = audit };

	return submit(state, &op);
}

static int
pg_audit(void *state, const struct audit_record *audit, uint64_t *seq)
{
	struct pg_op op = { .kind = OP_AUDIT, .audit = audit };
	int rc;

	if ((rc = submit(state, &op)) == LEDGER_OK && seq != NULL)
		*seq = op.out;
	return rc;
}

static int
pg_checkpoint(void *state)
{
	struct pg_op op = { .kind = OP_CHECKPOINT };

	return submit(state, &op);
}

static int
pg_next_counter(void *state, const char *name, uint64_t *out)
{
	struct pg_op op = { .kind = OP_COUNTER, .name = name };
	int rc;

	if ((rc = submit(state, &op)) == LEDGER_OK)
		*out = op.out;
	return rc;
}

static int
pg_token_create(void *state, const struct ledger_token *t,
    const struct audit_record *audit)
{
	struct pg_op op = { .kind = OP_TOKEN_CREATE, .tok = t,
	    .audit = audit };

	return submit(state, &op);
}

static int
pg_reserve_token(void *state, const struct ledger_intent *in,
    const uint8_t *hash, int64_t now)
{
	struct pg_op op = { .kind = OP_RESERVE_TOKEN, .in = in, .hash = hash,
	    .now = now };

	return submit(state, &op);
}

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

static void
pg_stats(void *state, struct ledger_stats *out)
{
	struct pg_ledger *pg = state;

	ledger_gc_stats(&pg->gc, &out->ops, &out->transactions);
}

const struct ledger_backend ledger_backend_pgsql = {
	.name = "pgsql",
	.open = pg_open,
	.close = pg_close,
	.reserve = pg_reserve,
	.transition = pg_transition,
	.audit = pg_audit,
	.checkpoint = pg_checkpoint,
	.next_counter = pg_next_counter,
	.get = pg_get,
	.list = pg_list,
	.count = pg_count,
	.list_revoked = pg_list_revoked,
	.list_reserved = pg_list_reserved,
	.stats = pg_stats,
	.token_create = pg_token_create,
	.token_get = pg_token_get,
	.token_hash = pg_token_hash,
	.reserve_token = pg_reserve_token,
};
