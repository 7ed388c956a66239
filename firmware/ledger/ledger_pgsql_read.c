/*
 * Reads of the PostgreSQL ledger, on a small pool of reader connections
 * of their own, so lookups (OCSP, CRL building) never wait behind a
 * group commit and never see uncommitted rows.  Every node reads the
 * same tables, so a revocation committed by one node is in the next
 * CRL or OCSP answer of every node.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <signet/ledger.h>

#include "ledger_impl.h"
#include "ledger_pgsql.h"

/* Both token lookups return the whole row, decoded once by token_row. */
#define PG_TOKEN_COLUMNS \
	"id, tenant, profile, names, created, expires, uses_left, hash"

const struct pgu_stmt pg_read_stmts[] = {
	{ "r_get", "SELECT " PG_CERT_COLUMNS " FROM certs"
	    " WHERE serial = $1 AND ($2 IS NULL OR tenant = $2)", "bt" },
	{ "r_list", "SELECT " PG_CERT_COLUMNS " FROM certs"
	    " WHERE tenant = $1 AND ($2 < 0 OR status = $2)"
	    " AND ($3 <= 0 OR (not_after > $4 AND not_after <= $4 + $3))"
	    " AND ($5 IS NULL OR strpos(subject, $5) > 0"
	    "  OR strpos(sans, $5) > 0)"
	    " AND ($8 IS NULL OR authorized_by = $8)"
	    " ORDER BY id LIMIT $6 OFFSET $7", "t488t88t" },
	{ "r_count", "SELECT status, count(*) FROM certs"
	    " WHERE $1 IS NULL OR tenant = $1 GROUP BY status", "t" },
	{ "r_revoked", "SELECT serial, revoked_at, reason, not_after"
	    " FROM certs WHERE issuer = $1 AND status = 2"
	    " AND not_after > $2 ORDER BY revoked_at, id", "t8" },
	/* Only this node's: another node's reservation may be in flight. */
	{ "r_reserved", "SELECT " PG_CERT_COLUMNS " FROM certs"
	    " WHERE status = 0 AND node = $1 ORDER BY id", "t" },
	{ "r_token", "SELECT " PG_TOKEN_COLUMNS " FROM enroll_tokens"
	    " WHERE hash = $1", "b" },
	/* The DTLS PSK identity: the row and its verifier in one trip. */
	{ "r_token_id", "SELECT " PG_TOKEN_COLUMNS " FROM enroll_tokens"
	    " WHERE id = $1", "t" },
};

const size_t pg_nread_stmts = sizeof(pg_read_stmts) /
    sizeof(pg_read_stmts[0]);

/* A free reader if there is one, else the next in turn; locked. */
struct pg_conn *
pg_reader_take(struct pg_ledger *pg)
{
	unsigned int i;

	for (i = 0; i < PG_READERS; i++)
		if (pthread_mutex_trylock(&pg->r[i].lock) == 0)
			return &pg->r[i];
	pthread_mutex_lock(&pg->rlock);
	i = pg->next_reader++ % PG_READERS;
	pthread_mutex_unlock(&pg->rlock);
	pthread_mutex_lock(&pg->r[i].lock);
	return &pg->r[i];
}

/*
 * A connection that died while idle (the database restarted) fails its
 * first statement; reads change nothing, so one retry on a new
 * connection hides the restart from the caller.
 */
static int
query(struct pg_ledger *pg, const char *stmt, const struct pgu_params *p,
    PGresult **res)
{
	struct pg_conn *c = pg_reader_take(pg);
	int fresh, tries, rc;

	for (tries = 0;; tries++) {
		if ((rc = pg_conn_ensure(c, &fresh)) != LEDGER_OK)
			break;
		rc = pg_run(c, stmt, p, res);
		if (rc != LEDGER_ERR_DOWN || fresh || tries > 0)
			break;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* As query, with SQL instead of a prepared statement's name. */
int
pg_read_sql(void *state, const char *sql, const struct pgu_params *p,
    PGresult **res)
{
	struct pg_ledger *pg = state;
	struct pg_conn *c = pg_reader_take(pg);
	int fresh, tries, rc;

	for (tries = 0;; tries++) {
		if ((rc = pg_conn_ensure(c, &fresh)) != LEDGER_OK)
			break;
		rc = pg_fault_rc(c, pgu_query(c->conn, sql, p, res));
		if (rc != LEDGER_ERR_DOWN || fresh || tries > 0)
			break;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int
copy_serial(const PGresult *r, int row, int col, struct ledger_serial *s)
{
	int n = PQgetlength(r, row, col);

	if (PQgetisnull(r, row, col) || n < 1 || n > LEDGER_SERIAL_MAX)
		return 0;
	memcpy(s->b, PQgetvalue(r, row, col), (size_t)n);
	s->len = (size_t)n;
	return 1;
}

static int
copy_der(const PGresult *r, int row, int col, struct ledger_cert *c)
{
	int n = PQgetlength(r, row, col);

	if (PQgetisnull(r, row, col) || n <= 0)
		return 1;
	if ((c->der = malloc((size_t)n)) == NULL)
		return 0;
	memcpy(c->der, PQgetvalue(r, row, col), (size_t)n);
	c->der_len = (size_t)n;
	return 1;
}

static int
row_numbers(const PGresult *r, int row, struct ledger_cert *c)
{
	int32_t status, reason = -1;

	if (!pgu_get_int8(r, row, 7, &c->not_before) ||
	    !pgu_get_int8(r, row, 8, &c->not_after) ||
	    !pgu_get_int8(r, row, 9, &c->created) ||
	    PQgetlength(r, row, 10) != LEDGER_HASH_LEN ||
	    !pgu_get_int4(r, row, 11, &status) || status < 0 ||
	    status >= LEDGER_STATUS_COUNT || PQgetlength(r, row, 14) != 1)
		return 0;
	if (!PQgetisnull(r, row, 12) &&
	    !pgu_get_int8(r, row, 12, &c->revoked_at))
		return 0;
	if (!PQgetisnull(r, row, 13) && !pgu_get_int4(r, row, 13, &reason))
		return 0;
	memcpy(c->tbs_hash, PQgetvalue(r, row, 10), LEDGER_HASH_LEN);
	c->status = (enum ledger_status)status;
	c->reason = reason;
	c->der_stored = PQgetvalue(r, row, 14)[0] != 0;
	return 1;
}

/* Fill c from row (columns PG_CERT_COLUMNS, binary format). */
static int
row_to_cert(const PGresult *r, int row, struct ledger_cert *c)
{
	int rc = LEDGER_ERR_DB;

	memset(c, 0, sizeof(*c));
	if (!copy_serial(r, row, 0, &c->serial) || !row_numbers(r, row, c))
		goto out;
	rc = LEDGER_ERR_NOMEM;
	if ((c->tenant = pgu_get_strdup(r, row, 1)) == NULL ||
	    (c->issuer = pgu_get_strdup(r, row, 2)) == NULL ||
	    (c->profile = pgu_get_strdup(r, row, 3)) == NULL ||
	    (c->subject = pgu_get_strdup(r, row, 4)) == NULL ||
	    (c->sans = pgu_get_strdup(r, row, 5)) == NULL ||
	    (c->requester = pgu_get_strdup(r, row, 6)) == NULL ||
	    (c->authorized_by = pgu_get_strdup(r, row, 16)) == NULL ||
	    !copy_der(r, row, 15, c))
		goto out;
	rc = LEDGER_OK;
out:
	if (rc != LEDGER_OK)
		ledger_cert_clear(c);
	return rc;
}

/* Every row of res into a new array. */
static int
collect(const PGresult *res, struct ledger_cert **certs, size_t *n)
{
	struct ledger_cert *v = NULL;
	int i = 0, rows = PQntuples(res), rc = LEDGER_OK;

	*certs = NULL;
	*n = 0;
	if (rows == 0)
		return LEDGER_OK;
	if ((v = calloc((size_t)rows, sizeof(*v))) == NULL)
		return LEDGER_ERR_NOMEM;
	for (i = 0; i < rows; i++)
		if ((rc = row_to_cert(res, i, &v[i])) != LEDGER_OK)
			break;
	if (rc != LEDGER_OK) {
		ledger_certs_free(v, (size_t)i);
		return rc;
	}
	*certs = v;
	*n = (size_t)rows;
	return LEDGER_OK;
}

int
pg_get(void *state, const char *tenant, const struct ledger_serial *serial,
    struct ledger_cert *out)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int rc;

	pgu_init(&p);
	pgu_bytes(&p, serial->b, serial->len);
	pgu_text(&p, tenant);
	if ((rc = query(state, "r_get", &p, &res)) != LEDGER_OK)
		return rc;
	if (PQntuples(res) != 1)
		rc = LEDGER_ERR_NOTFOUND;
	else
		rc = row_to_cert(res, 0, out);
	PQclear(res);
	return rc;
}

int
pg_list(void *state, const struct ledger_filter *f,
    struct ledger_cert **certs, size_t *n)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int rc;

	pgu_init(&p);
	pgu_text(&p, f->tenant);
	pgu_int4(&p, f->status);
	pgu_int8(&p, f->expiring_within);
	pgu_int8(&p, f->now);
	pgu_text(&p, f->match);
	pgu_int8(&p, (int64_t)f->limit);
	pgu_int8(&p, (int64_t)f->offset);
	pgu_text(&p, f->authorized_by);
	if ((rc = query(state, "r_list", &p, &res)) != LEDGER_OK)
		return rc;
	rc = collect(res, certs, n);
	PQclear(res);
	return rc;
}

int
pg_count(void *state, const char *tenant, struct ledger_counts *out)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int64_t count;
	int32_t status;
	int i, rc;

	pgu_init(&p);
	pgu_text(&p, tenant);
	if ((rc = query(state, "r_count", &p, &res)) != LEDGER_OK)
		return rc;
	for (i = 0; i < PQntuples(res); i++) {
		if (!pgu_get_int4(res, i, 0, &status) ||
		    !pgu_get_int8(res, i, 1, &count)) {
			rc = LEDGER_ERR_DB;
			break;
		}
		if (status >= 0 && status < LEDGER_STATUS_COUNT)
			out->n[status] = (uint64_t)count;
	}
	PQclear(res);
	return rc;
}

int
pg_list_revoked(void *state, const char *issuer, int64_t now,
    ledger_revoked_cb cb, void *arg)
{
	struct pgu_params p;
	struct ledger_revoked r;
	PGresult *res = NULL;
	int32_t reason;
	int i, rc;

	pgu_init(&p);
	pgu_text(&p, issuer);
	pgu_int8(&p, now);
	if ((rc = query(state, "r_revoked", &p, &res)) != LEDGER_OK)
		return rc;
	/* The reader is free again: callbacks may take their time. */
	for (i = 0; i < PQntuples(res); i++) {
		memset(&r, 0, sizeof(r));
		if (!copy_serial(res, i, 0, &r.serial) ||
		    !pgu_get_int8(res, i, 1, &r.revoked_at) ||
		    !pgu_get_int4(res, i, 2, &reason) ||
		    !pgu_get_int8(res, i, 3, &r.not_after)) {
			rc = LEDGER_ERR_DB;
			break;
		}
		r.reason = reason;
		if (cb(&r, arg) != 0)
			break;
	}
	PQclear(res);
	return rc;
}

int
pg_list_reserved(void *state, struct ledger_cert **certs, size_t *n)
{
	struct pg_ledger *pg = state;
	struct pgu_params p;
	PGresult *res = NULL;
	int rc;

	*certs = NULL;
	*n = 0;
	pgu_init(&p);
	pgu_text(&p, pg->target.node);
	if ((rc = query(pg, "r_reserved", &p, &res)) != LEDGER_OK)
		return rc;
	rc = collect(res, certs, n);
	PQclear(res);
	return rc;
}

static void
copy_col(const PGresult *r, int col, char *dst, size_t size)
{
	size_t n = (size_t)PQgetlength(r, 0, col);

	if (n >= size)
		n = size - 1;
	memcpy(dst, PQgetvalue(r, 0, col), n);
	dst[n] = '\0';
}

/* Fill out from the one row of res (columns PG_TOKEN_COLUMNS). */
static int
token_row(const PGresult *res, struct ledger_token *out)
{
	int64_t uses;

	if (!pgu_get_int8(res, 0, 4, &out->created) ||
	    !pgu_get_int8(res, 0, 5, &out->expires) ||
	    !pgu_get_int8(res, 0, 6, &uses) || uses < 0 || uses > UINT32_MAX ||
	    PQgetisnull(res, 0, 7) || PQgetlength(res, 0, 7) != LEDGER_HASH_LEN)
		return LEDGER_ERR_DB;
	copy_col(res, 0, out->id, sizeof(out->id));
	copy_col(res, 1, out->tenant, sizeof(out->tenant));
	copy_col(res, 2, out->profile, sizeof(out->profile));
	copy_col(res, 3, out->names, sizeof(out->names));
	out->uses_left = (uint32_t)uses;
	memcpy(out->hash, PQgetvalue(res, 0, 7), LEDGER_HASH_LEN);
	return LEDGER_OK;
}

/* One token by the prepared statement stmt, whose one parameter is p. */
static int
token_query(void *state, const char *stmt, const struct pgu_params *p,
    struct ledger_token *out)
{
	PGresult *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = query(state, stmt, p, &res)) != LEDGER_OK)
		return rc;
	if (PQntuples(res) != 1)
		rc = LEDGER_ERR_NOTFOUND;
	else if ((rc = token_row(res, out)) != LEDGER_OK)
		memset(out, 0, sizeof(*out));
	PQclear(res);
	return rc;
}

int
pg_token_get(void *state, const uint8_t *hash, struct ledger_token *out)
{
	struct pgu_params p;

	pgu_init(&p);
	pgu_bytes(&p, hash, LEDGER_HASH_LEN);
	return token_query(state, "r_token", &p, out);
}

int
pg_token_get_id(void *state, const char *id, struct ledger_token *out)
{
	struct pgu_params p;

	pgu_init(&p);
	pgu_text(&p, id);
	return token_query(state, "r_token_id", &p, out);
}

/*
 * The audit chain (issue 19): one bounded window of it (audit_query.c),
 * this node's unless q names another, on a reader.  A connection that
 * died while idle is retried once on a new one, as query() does.
 */
int
pg_audit_query(void *state, const struct audit_query *q, audit_entry_cb cb,
    void *arg, struct audit_page *page)
{
	struct pg_ledger *pg = state;
	struct pg_conn *c = pg_reader_take(pg);
	int fresh, tries, rc;

	for (tries = 0;; tries++) {
		if ((rc = pg_conn_ensure(c, &fresh)) != LEDGER_OK)
			break;
		rc = audit_pg_query(c->conn, pg->target.node, q, cb, arg,
		    page);
		if (rc == AUDIT_ERR_IO)
			c->broken = 1;
		rc = ledger_audit_rc(rc);
		if (rc != LEDGER_ERR_IO || fresh || tries > 0)
			break;
	}
	pthread_mutex_unlock(&c->lock);
	return rc == LEDGER_ERR_IO ? LEDGER_ERR_DOWN : rc;
}
