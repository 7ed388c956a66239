/*
 * The audit chain stored in PostgreSQL, one chain per node (see
 * audit_pgsql.h and docs/cluster.md): schema, append and checkpoints
 * inside a transaction the caller owns.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <signet/audit.h>
#include <signet/audit_pgsql.h>

#include "audit_impl.h"
#include "audit_pgsql_impl.h"

/*
 * Triggers make the tables append-only for every writer that goes
 * through SQL; whoever edits the storage under PostgreSQL (or drops the
 * triggers) is caught by the hash chain and the head row instead.
 */
static const char schema[] =
    "CREATE TABLE audit_head("
    " node text PRIMARY KEY, seq bigint NOT NULL,"
    " hash bytea NOT NULL CHECK(length(hash) = 32));"
    "CREATE TABLE audit_log("
    " node text NOT NULL, seq bigint NOT NULL CHECK(seq >= 1),"
    " time bigint NOT NULL, actor text NOT NULL, role text NOT NULL,"
    " tenant text NOT NULL, action text NOT NULL, object text NOT NULL,"
    " result text NOT NULL, detail text NOT NULL,"
    " prev_hash bytea NOT NULL, hash bytea NOT NULL,"
    " PRIMARY KEY(node, seq));"
    "CREATE TABLE audit_checkpoint("
    " node text NOT NULL, seq bigint NOT NULL, time bigint NOT NULL,"
    " head bytea NOT NULL, sig bytea NOT NULL, PRIMARY KEY(node, seq));"
    "CREATE FUNCTION signet_audit_append_only() RETURNS trigger"
    " LANGUAGE plpgsql AS $f$BEGIN"
    " RAISE EXCEPTION 'audit log is append-only'; END$f$;"
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE"
    " ON audit_log FOR EACH ROW"
    " EXECUTE FUNCTION signet_audit_append_only();"
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION signet_audit_append_only();"
    "CREATE TRIGGER audit_ckpt_append_only BEFORE UPDATE OR DELETE"
    " ON audit_checkpoint FOR EACH ROW"
    " EXECUTE FUNCTION signet_audit_append_only();"
    "CREATE TRIGGER audit_ckpt_no_truncate BEFORE TRUNCATE"
    " ON audit_checkpoint FOR EACH STATEMENT"
    " EXECUTE FUNCTION signet_audit_append_only();";

/* Parameter types: 't' text, 'b' bytea, '8' bigint (pgutil.h). */
static const struct pgu_stmt stmts[] = {
	{ "a_head", "SELECT seq, hash FROM audit_head WHERE node = $1"
	    " FOR UPDATE", "t" },
	{ "a_head_new", "INSERT INTO audit_head(node, seq, hash)"
	    " VALUES($1, 0, $2) ON CONFLICT (node) DO NOTHING", "tb" },
	{ "a_head_set", "UPDATE audit_head SET seq = $2, hash = $3"
	    " WHERE node = $1", "t8b" },
	{ "a_insert", "INSERT INTO audit_log(node, seq, time, actor, role,"
	    " tenant, action, object, result, detail, prev_hash, hash)"
	    " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
	    "t88tttttttbb" },
	{ "a_last_ckpt", "SELECT seq, time FROM audit_checkpoint"
	    " WHERE node = $1 ORDER BY seq DESC LIMIT 1", "t" },
	{ "a_insert_ckpt", "INSERT INTO audit_checkpoint(node, seq, time,"
	    " head, sig) VALUES($1, $2, $3, $4, $5)", "t88bb" },
};

struct audit_pg {
	char			node[AUDIT_PG_NODE_MAX + 1];
	struct audit_config	cfg;
	struct audit_pending	pending;	/* written, not committed */
};

struct chain_head {
	uint64_t	seq;
	uint8_t		hash[AUDIT_HASH_LEN];
};

int
apg_rc(enum pgu_fault f)
{
	static const int rc[PGU_NFAULTS] = {
		[PGU_OK] = AUDIT_OK,
		[PGU_LINK] = AUDIT_ERR_IO,
		[PGU_NOMEM] = AUDIT_ERR_NOMEM,
		[PGU_ARG] = AUDIT_ERR_ARG,
		[PGU_SHUTDOWN] = AUDIT_ERR_DB,
		[PGU_TOO_MANY] = AUDIT_ERR_DB,
		[PGU_UNIQUE] = AUDIT_ERR_DB,
		[PGU_CONSTRAINT] = AUDIT_ERR_DB,
		[PGU_DATA] = AUDIT_ERR_DB,
		[PGU_DISK_FULL] = AUDIT_ERR_FULL,
		[PGU_RESOURCES] = AUDIT_ERR_DB,
		[PGU_BUSY] = AUDIT_ERR_BUSY,
		[PGU_UNDEFINED] = AUDIT_ERR_SCHEMA,
		[PGU_SQL] = AUDIT_ERR_SCHEMA,
		[PGU_SYSTEM] = AUDIT_ERR_IO,
		[PGU_OTHER] = AUDIT_ERR_DB,
	};

	return rc[f];
}

/* Run a prepared statement of ours; *out (if not NULL) gets the rows. */
static int
run(PGconn *conn, const char *name, const struct pgu_params *p,
    PGresult **out)
{
	return apg_rc(pgu_run(conn, name, p, out));
}

int
audit_pg_install(PGconn *conn)
{
	if (conn == NULL)
		return AUDIT_ERR_ARG;
	return apg_rc(pgu_exec(conn, schema));
}

int
audit_pg_prepare(PGconn *conn)
{
	size_t i;
	int rc = AUDIT_OK;

	for (i = 0; rc == AUDIT_OK && i < sizeof(stmts) / sizeof(stmts[0]);
	    i++)
		rc = apg_rc(pgu_prepare(conn, &stmts[i]));
	return rc;
}

int
audit_pg_attach(const char *node, const struct audit_config *cfg,
    struct audit_pg **out)
{
	struct audit_pg *a;
	size_t n;

	if (node == NULL || out == NULL ||
	    (n = strnlen(node, AUDIT_PG_NODE_MAX + 1)) == 0 ||
	    n > AUDIT_PG_NODE_MAX)
		return AUDIT_ERR_ARG;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return AUDIT_ERR_NOMEM;
	memcpy(a->node, node, n + 1);
	if (cfg != NULL)
		a->cfg = *cfg;
	*out = a;
	return AUDIT_OK;
}

void
audit_pg_detach(struct audit_pg *a)
{
	if (a == NULL)
		return;
	audit_pending_free(&a->pending);
	free(a);
}

void
audit_pg_committed(struct audit_pg *a)
{
	if (a != NULL)
		audit_pending_flush(&a->pending, &a->cfg, a->node);
}

void
audit_pg_rolledback(struct audit_pg *a)
{
	if (a != NULL)
		audit_pending_drop(&a->pending);
}

/* Lock this node's chain head, creating it for the first record. */
static int
lock_head(struct audit_pg *a, PGconn *conn, struct chain_head *h)
{
	static const uint8_t zero[AUDIT_HASH_LEN];
	struct pgu_params p;
	PGresult *res = NULL;
	int64_t seq;
	int tries, rc;

	for (tries = 0; tries < 2; tries++) {
		pgu_init(&p);
		pgu_bytes(&p, a->node, strlen(a->node));
		if ((rc = run(conn, "a_head", &p, &res)) != AUDIT_OK)
			return rc;
		if (PQntuples(res) == 1)
			break;
		PQclear(res);
		res = NULL;
		pgu_bytes(&p, zero, sizeof(zero));
		if ((rc = run(conn, "a_head_new", &p, NULL)) != AUDIT_OK)
			return rc;
	}
	rc = AUDIT_ERR_DB;
	if (res == NULL || !pgu_get_int8(res, 0, 0, &seq) || seq < 0 ||
	    PQgetlength(res, 0, 1) != AUDIT_HASH_LEN)
		goto out;
	h->seq = (uint64_t)seq;
	memcpy(h->hash, PQgetvalue(res, 0, 1), AUDIT_HASH_LEN);
	rc = AUDIT_OK;
out:
	PQclear(res);
	return rc;
}

static int
last_checkpoint(struct audit_pg *a, PGconn *conn, uint64_t *seq,
    int64_t *time)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int64_t s = 0;
	int rc;

	*seq = 0;
	*time = 0;
	pgu_init(&p);
	pgu_bytes(&p, a->node, strlen(a->node));
	if ((rc = run(conn, "a_last_ckpt", &p, &res)) != AUDIT_OK)
		return rc;
	if (PQntuples(res) == 1 && (!pgu_get_int8(res, 0, 0, &s) ||
	    !pgu_get_int8(res, 0, 1, time)))
		rc = AUDIT_ERR_DB;
	*seq = (uint64_t)s;
	PQclear(res);
	return rc;
}

static int
write_checkpoint(struct audit_pg *a, PGconn *conn, const struct chain_head *h,
    int64_t now)
{
	struct pgu_params p;
	uint8_t sig[AUDIT_MAX_SIG];
	size_t siglen = sizeof(sig);
	int rc;

	rc = audit_checkpoint_sign(a->cfg.key, h->seq, now, h->hash, sig,
	    &siglen);
	if (rc != AUDIT_OK)
		return rc;
	pgu_init(&p);
	pgu_bytes(&p, a->node, strlen(a->node));
	pgu_int8(&p, (int64_t)h->seq);
	pgu_int8(&p, now);
	pgu_bytes(&p, h->hash, AUDIT_HASH_LEN);
	pgu_bytes(&p, sig, siglen);
	if ((rc = run(conn, "a_insert_ckpt", &p, NULL)) != AUDIT_OK)
		return rc;
	/* The last step of an append: nothing after it can undo it. */
	if (a->cfg.exported != NULL)
		rc = audit_pending_add(&a->pending, h->seq, now, h->hash, sig,
		    siglen);
	return rc;
}

static int
checkpoint_if_due(struct audit_pg *a, PGconn *conn,
    const struct chain_head *h, int64_t now)
{
	uint64_t cseq;
	int64_t ctime;
	int rc, due;

	if (a->cfg.key == NULL ||
	    (a->cfg.every_n == 0 && a->cfg.every_secs == 0))
		return AUDIT_OK;
	if ((rc = last_checkpoint(a, conn, &cseq, &ctime)) != AUDIT_OK)
		return rc;
	due = (a->cfg.every_n != 0 && h->seq - cseq >= a->cfg.every_n) ||
	    (a->cfg.every_secs != 0 && now - ctime >= a->cfg.every_secs);
	if (!due || h->seq == cseq)
		return AUDIT_OK;
	return write_checkpoint(a, conn, h, now);
}

static int
insert_record(struct audit_pg *a, PGconn *conn, const struct chain_head *h,
    int64_t time, const char *const field[AUDIT_NFIELDS],
    const size_t len[AUDIT_NFIELDS], const uint8_t prev[AUDIT_HASH_LEN])
{
	struct pgu_params p;
	int i, rc;

	pgu_init(&p);
	pgu_bytes(&p, a->node, strlen(a->node));
	pgu_int8(&p, (int64_t)h->seq);
	pgu_int8(&p, time);
	for (i = 0; i < AUDIT_NFIELDS; i++)
		pgu_bytes(&p, field[i], len[i]);
	pgu_bytes(&p, prev, AUDIT_HASH_LEN);
	pgu_bytes(&p, h->hash, AUDIT_HASH_LEN);
	if ((rc = run(conn, "a_insert", &p, NULL)) != AUDIT_OK)
		return rc;
	pgu_init(&p);
	pgu_bytes(&p, a->node, strlen(a->node));
	pgu_int8(&p, (int64_t)h->seq);
	pgu_bytes(&p, h->hash, AUDIT_HASH_LEN);
	return run(conn, "a_head_set", &p, NULL);
}

int
audit_pg_append(struct audit_pg *a, PGconn *conn,
    const struct audit_record *rec, uint64_t *seq)
{
	const char *field[AUDIT_NFIELDS];
	size_t len[AUDIT_NFIELDS];
	struct chain_head h;
	uint8_t prev[AUDIT_HASH_LEN];
	int64_t time;
	int i, rc;

	if (a == NULL || conn == NULL || rec == NULL)
		return AUDIT_ERR_ARG;
	audit_record_fields(rec, field, len);
	for (i = 0; i < AUDIT_NFIELDS; i++)
		if (len[i] > AUDIT_MAX_FIELD)
			return AUDIT_ERR_ARG;
	if ((rc = lock_head(a, conn, &h)) != AUDIT_OK)
		return rc;
	time = rec->time != 0 ? rec->time : audit_now();
	memcpy(prev, h.hash, sizeof(prev));
	h.seq++;
	rc = audit_hash_fields(h.seq, time, field, len, prev, h.hash);
	if (rc != AUDIT_OK)
		return rc;
	if ((rc = insert_record(a, conn, &h, time, field, len, prev)) !=
	    AUDIT_OK)
		return rc;
	if ((rc = checkpoint_if_due(a, conn, &h, time)) != AUDIT_OK)
		return rc;
	if (seq != NULL)
		*seq = h.seq;
	return AUDIT_OK;
}

int
audit_pg_checkpoint(struct audit_pg *a, PGconn *conn)
{
	struct chain_head h;
	uint64_t cseq;
	int64_t ctime;
	int rc;

	if (a == NULL || conn == NULL || a->cfg.key == NULL)
		return AUDIT_ERR_ARG;
	if ((rc = lock_head(a, conn, &h)) != AUDIT_OK)
		return rc;
	if ((rc = last_checkpoint(a, conn, &cseq, &ctime)) != AUDIT_OK)
		return rc;
	if (h.seq == cseq)
		return AUDIT_OK;
	return write_checkpoint(a, conn, &h, audit_now());
}
