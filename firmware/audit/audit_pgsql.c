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

static const struct {
	const char	*name;
	const char	*sql;
	int		 nparams;
	Oid		 types[12];
} stmts[] = {
#define T 25	/* text */
#define B 17	/* bytea */
#define I 20	/* bigint */
	{ "a_head", "SELECT seq, hash FROM audit_head WHERE node = $1"
	    " FOR UPDATE", 1, { T } },
	{ "a_head_new", "INSERT INTO audit_head(node, seq, hash)"
	    " VALUES($1, 0, $2) ON CONFLICT (node) DO NOTHING", 2, { T, B } },
	{ "a_head_set", "UPDATE audit_head SET seq = $2, hash = $3"
	    " WHERE node = $1", 3, { T, I, B } },
	{ "a_insert", "INSERT INTO audit_log(node, seq, time, actor, role,"
	    " tenant, action, object, result, detail, prev_hash, hash)"
	    " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)", 12,
	    { T, I, I, T, T, T, T, T, T, T, B, B } },
	{ "a_last_ckpt", "SELECT seq, time FROM audit_checkpoint"
	    " WHERE node = $1 ORDER BY seq DESC LIMIT 1", 1, { T } },
	{ "a_insert_ckpt", "INSERT INTO audit_checkpoint(node, seq, time,"
	    " head, sig) VALUES($1, $2, $3, $4, $5)", 5, { T, I, I, B, B } },
#undef T
#undef B
#undef I
};

struct audit_pg {
	char			node[AUDIT_PG_NODE_MAX + 1];
	struct audit_config	cfg;
};

struct chain_head {
	uint64_t	seq;
	uint8_t		hash[AUDIT_HASH_LEN];
};

void
apg_init(struct apg_params *p)
{
	memset(p, 0, sizeof(*p));
}

void
apg_text(struct apg_params *p, const char *s, size_t len)
{
	p->val[p->n] = s;
	p->len[p->n] = (int)len;
	p->fmt[p->n++] = 1;	/* binary text: the bytes as they are */
}

void
apg_bytea(struct apg_params *p, const void *b, size_t n)
{
	apg_text(p, b, n);
}

void
apg_int8(struct apg_params *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 7; i >= 0; i--, u >>= 8)
		p->num[p->n][i] = (uint8_t)u;
	apg_bytea(p, p->num[p->n], 8);
}

int
apg_int8_col(const PGresult *r, int row, int col, int64_t *v)
{
	const uint8_t *b;
	uint64_t u = 0;
	int i;

	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
		return 0;
	b = (const uint8_t *)PQgetvalue(r, row, col);
	for (i = 0; i < 8; i++)
		u = u << 8 | b[i];
	*v = (int64_t)u;
	return 1;
}

int
apg_check(PGconn *conn, const PGresult *res, ExecStatusType want)
{
	const char *st;

	if (res != NULL && PQresultStatus(res) == want)
		return AUDIT_OK;
	if (PQstatus(conn) == CONNECTION_BAD)
		return AUDIT_ERR_IO;
	if (res == NULL)
		return AUDIT_ERR_NOMEM;
	if ((st = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL ||
	    strncmp(st, "08", 2) == 0 || strncmp(st, "58", 2) == 0)
		return AUDIT_ERR_IO;
	if (strcmp(st, "53100") == 0)
		return AUDIT_ERR_FULL;
	if (strcmp(st, "53200") == 0)
		return AUDIT_ERR_NOMEM;
	if (strncmp(st, "40", 2) == 0 || strcmp(st, "55P03") == 0 ||
	    strcmp(st, "57014") == 0)
		return AUDIT_ERR_BUSY;
	if (strncmp(st, "42", 2) == 0)
		return AUDIT_ERR_SCHEMA;
	return AUDIT_ERR_DB;
}

/* Run a prepared statement of ours; *out (if not NULL) gets the rows. */
static int
run(PGconn *conn, const char *name, const struct apg_params *p,
    PGresult **out)
{
	PGresult *res;
	int rc;

	res = PQexecPrepared(conn, name, p->n, p->val, p->len, p->fmt, 1);
	rc = apg_check(conn, res, out != NULL ? PGRES_TUPLES_OK :
	    PGRES_COMMAND_OK);
	if (rc == AUDIT_OK && out != NULL) {
		*out = res;
		res = NULL;
	}
	PQclear(res);
	return rc;
}

int
audit_pg_install(PGconn *conn)
{
	PGresult *res;
	int rc;

	if (conn == NULL)
		return AUDIT_ERR_ARG;
	res = PQexec(conn, schema);
	rc = apg_check(conn, res, PGRES_COMMAND_OK);
	PQclear(res);
	return rc;
}

int
audit_pg_prepare(PGconn *conn)
{
	PGresult *res;
	size_t i;
	int rc = AUDIT_OK;

	for (i = 0; rc == AUDIT_OK && i < sizeof(stmts) / sizeof(stmts[0]);
	    i++) {
		res = PQprepare(conn, stmts[i].name, stmts[i].sql,
		    stmts[i].nparams, stmts[i].types);
		rc = apg_check(conn, res, PGRES_COMMAND_OK);
		PQclear(res);
	}
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
	free(a);
}

/* Lock this node's chain head, creating it for the first record. */
static int
lock_head(struct audit_pg *a, PGconn *conn, struct chain_head *h)
{
	static const uint8_t zero[AUDIT_HASH_LEN];
	struct apg_params p;
	PGresult *res = NULL;
	int64_t seq;
	int tries, rc;

	for (tries = 0; tries < 2; tries++) {
		apg_init(&p);
		apg_text(&p, a->node, strlen(a->node));
		if ((rc = run(conn, "a_head", &p, &res)) != AUDIT_OK)
			return rc;
		if (PQntuples(res) == 1)
			break;
		PQclear(res);
		res = NULL;
		apg_bytea(&p, zero, sizeof(zero));
		if ((rc = run(conn, "a_head_new", &p, NULL)) != AUDIT_OK)
			return rc;
	}
	rc = AUDIT_ERR_DB;
	if (res == NULL || !apg_int8_col(res, 0, 0, &seq) || seq < 0 ||
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
	struct apg_params p;
	PGresult *res = NULL;
	int64_t s = 0;
	int rc;

	*seq = 0;
	*time = 0;
	apg_init(&p);
	apg_text(&p, a->node, strlen(a->node));
	if ((rc = run(conn, "a_last_ckpt", &p, &res)) != AUDIT_OK)
		return rc;
	if (PQntuples(res) == 1 && (!apg_int8_col(res, 0, 0, &s) ||
	    !apg_int8_col(res, 0, 1, time)))
		rc = AUDIT_ERR_DB;
	*seq = (uint64_t)s;
	PQclear(res);
	return rc;
}

static int
write_checkpoint(struct audit_pg *a, PGconn *conn, const struct chain_head *h,
    int64_t now)
{
	struct apg_params p;
	uint8_t sig[AUDIT_MAX_SIG];
	size_t siglen = sizeof(sig);
	int rc;

	rc = audit_checkpoint_sign(a->cfg.key, h->seq, now, h->hash, sig,
	    &siglen);
	if (rc != AUDIT_OK)
		return rc;
	apg_init(&p);
	apg_text(&p, a->node, strlen(a->node));
	apg_int8(&p, (int64_t)h->seq);
	apg_int8(&p, now);
	apg_bytea(&p, h->hash, AUDIT_HASH_LEN);
	apg_bytea(&p, sig, siglen);
	return run(conn, "a_insert_ckpt", &p, NULL);
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
	struct apg_params p;
	int i, rc;

	apg_init(&p);
	apg_text(&p, a->node, strlen(a->node));
	apg_int8(&p, (int64_t)h->seq);
	apg_int8(&p, time);
	for (i = 0; i < AUDIT_NFIELDS; i++)
		apg_text(&p, field[i], len[i]);
	apg_bytea(&p, prev, AUDIT_HASH_LEN);
	apg_bytea(&p, h->hash, AUDIT_HASH_LEN);
	if ((rc = run(conn, "a_insert", &p, NULL)) != AUDIT_OK)
		return rc;
	apg_init(&p);
	apg_text(&p, a->node, strlen(a->node));
	apg_int8(&p, (int64_t)h->seq);
	apg_bytea(&p, h->hash, AUDIT_HASH_LEN);
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
