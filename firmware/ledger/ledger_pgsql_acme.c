/*
 * ACME state in the PostgreSQL ledger (issue 20): the tables of schema
 * version 6 and one statement per enum ledger_acme_stmt, the same as
 * ledger_sqlite_acme.c's behind the same API (signet/ledger_acme.h).
 *
 * Several nodes share these rows, so every step that moves a status is
 * one conditional statement (UPDATE ... WHERE status = 'ready'): when
 * two nodes race, PostgreSQL's row lock makes the second wait for the
 * first to commit and then find the condition false, so the second
 * write changes no row and fails with LEDGER_ERR_STATE (the `one` flag
 * of its step).  Two finalizes of one order on two nodes therefore
 * issue at most one certificate (eng_acme_finalize claims the order
 * ready -> processing, committed, before it signs).  An insert that
 * must not happen twice has a constraint behind it: a certificate is
 * replaced by one order (a partial unique index), a nonce's replay id
 * is redeemed once (its primary key).
 *
 * Statements run unprepared (PQexecParams), their parameter types taken
 * from the values: an ACME step is rare beside the certificate writes
 * the prepared statements of ledger_pgsql_write.c serve.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <signet/ledger.h>
#include <signet/ledger_acme.h>

#include "ledger_impl.h"
#include "ledger_pgsql.h"

/* PostgreSQL type OIDs (pg_type.h; stable across versions). */
#define PG_OID_BYTEA	17
#define PG_OID_INT8	20
#define PG_OID_INT4	23
#define PG_OID_TEXT	25

/*
 * Schema version 6: the tables of ledger_sqlite_acme.c, and nonces; like
 * SQLite's, harmless when run again.
 */
const char pg_acme_schema[] =
    "CREATE TABLE IF NOT EXISTS acme_eab("
    " kid text PRIMARY KEY, tenant text NOT NULL, profile text NOT NULL,"
    " label text NOT NULL, created bigint NOT NULL,"
    " expires bigint NOT NULL, used_by text);"
    "CREATE TABLE IF NOT EXISTS acme_accounts("
    " id text PRIMARY KEY, label text NOT NULL, tenant text NOT NULL,"
    " profile text NOT NULL, thumbprint text NOT NULL, key bytea NOT NULL,"
    " status text NOT NULL DEFAULT 'valid', contact text NOT NULL,"
    " eab_kid text NOT NULL, created bigint NOT NULL,"
    " UNIQUE(label, thumbprint));"
    "CREATE TABLE IF NOT EXISTS acme_orders("
    " id text PRIMARY KEY,"
    " account_id text NOT NULL REFERENCES acme_accounts(id),"
    " status text NOT NULL DEFAULT 'pending', identifiers text NOT NULL,"
    " expires bigint NOT NULL, cert_serial bytea, cert bytea,"
    " error text NOT NULL DEFAULT '', created bigint NOT NULL,"
    " replaces text NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS acme_orders_account"
    " ON acme_orders(account_id, created);"
    /* policy: a certificate is replaced by one order (RFC 9773 5). */
    "CREATE UNIQUE INDEX IF NOT EXISTS acme_orders_replaces"
    " ON acme_orders(replaces)"
    " WHERE replaces <> '' AND status <> 'invalid';"
    "CREATE TABLE IF NOT EXISTS acme_authz("
    " id text PRIMARY KEY,"
    " order_id text NOT NULL REFERENCES acme_orders(id),"
    " account_id text NOT NULL, type text NOT NULL, value text NOT NULL,"
    " status text NOT NULL DEFAULT 'pending', expires bigint NOT NULL,"
    " chall_id text NOT NULL UNIQUE, token text NOT NULL,"
    " chall_status text NOT NULL DEFAULT 'pending',"
    " validated bigint NOT NULL DEFAULT 0,"
    " error text NOT NULL DEFAULT '', va_at bigint NOT NULL DEFAULT 0,"
    " chall_type text NOT NULL DEFAULT 'http-01');"
    "CREATE INDEX IF NOT EXISTS acme_authz_order ON acme_authz(order_id);"
    "CREATE INDEX IF NOT EXISTS acme_authz_pending ON acme_authz(va_at)"
    " WHERE chall_status = 'processing';"
    "CREATE INDEX IF NOT EXISTS acme_authz_account"
    " ON acme_authz(account_id, value);"
    /*
     * Nonces (docs/decisions.md "ACME nonces in a cluster"): the ids of
     * redeemed nonces until they expire, and the one key every node
     * makes and checks nonces with.
     */
    "CREATE TABLE IF NOT EXISTS acme_nonces("
    " id bytea PRIMARY KEY CHECK(length(id) = 16),"
    " expires bigint NOT NULL);"
    "CREATE INDEX IF NOT EXISTS acme_nonces_expires"
    " ON acme_nonces(expires);"
    "CREATE TABLE IF NOT EXISTS acme_nonce_key("
    " id integer PRIMARY KEY CHECK(id = 1),"
    " key bytea NOT NULL CHECK(length(key) = 32));";

#define AUTHZ_COLS "id, type, value, status, expires, chall_id, token," \
	" chall_status, validated, error, chall_type"

static const char *const acme_sql[LA_STMT_MAX] = {
	[LA_EAB_INSERT] = "INSERT INTO acme_eab(kid, tenant, profile, label,"
	    " created, expires) VALUES($1, $2, $3, $4, $5, $6)",
	/* policy: an EAB key binds one account, before it expires. */
	[LA_EAB_USE] = "UPDATE acme_eab SET used_by = $1 WHERE kid = $2"
	    " AND used_by IS NULL AND (expires = 0 OR expires > $3)",
	[LA_ACCT_INSERT] = "INSERT INTO acme_accounts(id, label, tenant,"
	    " profile, thumbprint, key, contact, eab_kid, created)"
	    " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	/*
	 * policy: a certificate is replaced by one order (RFC 9773 5).  The
	 * NOT EXISTS answers the common case; the unique index the race.
	 */
	[LA_ORDER_INSERT] = "INSERT INTO acme_orders(id, account_id,"
	    " identifiers, expires, created, replaces)"
	    " SELECT $1, $2, $3, $4, $5, $6 WHERE $6 = '' OR NOT EXISTS("
	    "  SELECT 1 FROM acme_orders WHERE replaces = $6"
	    "  AND status <> 'invalid')"
	    " ON CONFLICT (replaces) WHERE replaces <> ''"
	    " AND status <> 'invalid' DO NOTHING",
	[LA_AUTHZ_INSERT] = "INSERT INTO acme_authz(id, order_id, account_id,"
	    " type, value, expires, chall_id, token)"
	    " VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
	[LA_CHALL_START] = "UPDATE acme_authz SET chall_status = 'processing',"
	    " va_at = 0, chall_type = $3 WHERE chall_id = $1 AND account_id = $2"
	    " AND chall_status = 'pending' AND status = 'pending'",
	[LA_CHALL_DONE] = "UPDATE acme_authz SET chall_status = $2,"
	    " status = $2, validated = $3, error = $4"
	    " WHERE chall_id = $1 AND chall_status = 'processing'",
	[LA_ORDER_STATUS] = "UPDATE acme_orders SET status = $2, error = $4"
	    " WHERE id = $1 AND status = $3",
	[LA_ORDER_CERT] = "UPDATE acme_orders SET status = 'valid',"
	    " cert_serial = $2, cert = $3"
	    " WHERE id = $1 AND status = 'processing'",
	/* One node takes a validation per retry interval. */
	[LA_VA_TAKE] = "UPDATE acme_authz SET va_at = $2 WHERE chall_id = $1"
	    " AND chall_status = 'processing' AND va_at <= $3",
	[LA_ACCT_STATUS] = "UPDATE acme_accounts SET status = $2"
	    " WHERE id = $1 AND status = $3",
	[LA_ACCT_CONTACT] = "UPDATE acme_accounts SET contact = $2"
	    " WHERE id = $1 AND status = 'valid'",
	[LA_ACCT_KEY] = "UPDATE acme_accounts SET thumbprint = $2, key = $3"
	    " WHERE id = $1 AND thumbprint = $4 AND status = 'valid'",
	[LA_AUTHZ_REUSE] = "INSERT INTO acme_authz(id, order_id, account_id,"
	    " type, value, status, expires, chall_id, token, chall_status,"
	    " validated, chall_type) SELECT $1, $2, account_id, type, value,"
	    " 'valid', $5, $3, token, 'valid', validated, chall_type"
	    " FROM acme_authz WHERE id = $4 AND status = 'valid'",
	/* A replay id once: the second insert, on any node, adds no row. */
	[LA_NONCE_USE] = "INSERT INTO acme_nonces(id, expires)"
	    " VALUES($1, $2) ON CONFLICT (id) DO NOTHING",
	/* Bounded work per redeem; nodes skip rows another one holds. */
	[LA_NONCE_SWEEP] = "DELETE FROM acme_nonces WHERE id IN (SELECT id"
	    " FROM acme_nonces WHERE expires < $1 LIMIT 64"
	    " FOR UPDATE SKIP LOCKED)",
	[LA_NONCE_KEY_INIT] = "INSERT INTO acme_nonce_key(id, key)"
	    " VALUES(1, $1) ON CONFLICT (id) DO NOTHING",
	[LA_EAB_GET] = "SELECT tenant, profile, label, expires, used_by"
	    " FROM acme_eab WHERE kid = $1",
	[LA_ACCT_GET] = "SELECT id, tenant, profile, status, key, contact"
	    " FROM acme_accounts WHERE id = $1 AND label = $2",
	[LA_ACCT_BY_KEY] = "SELECT id, tenant, profile, status, key, contact"
	    " FROM acme_accounts WHERE label = $1 AND thumbprint = $2",
	[LA_ORDER_GET] = "SELECT status, identifiers, expires, error, cert,"
	    " replaces FROM acme_orders WHERE id = $1 AND account_id = $2",
	[LA_AUTHZ_OF_ORDER] = "SELECT " AUTHZ_COLS " FROM acme_authz"
	    " WHERE order_id = $1 ORDER BY value",
	[LA_AUTHZ_GET] = "SELECT " AUTHZ_COLS ", order_id FROM acme_authz"
	    " WHERE id = $1 AND account_id = $2",
	[LA_AUTHZ_BY_CHALL] = "SELECT " AUTHZ_COLS ", order_id, account_id,"
	    " (SELECT thumbprint FROM acme_accounts"
	    "  WHERE acme_accounts.id = acme_authz.account_id)"
	    " FROM acme_authz WHERE chall_id = $1",
	[LA_VA_PENDING] = "SELECT chall_id FROM acme_authz"
	    " WHERE chall_status = 'processing' AND va_at <= $1 LIMIT 1",
	[LA_ORDERS_OF_ACCT] = "SELECT id FROM acme_orders"
	    " WHERE account_id = $1 AND status <> 'invalid'"
	    " AND (status = 'valid' OR expires > $2)"
	    " ORDER BY created DESC, id LIMIT $3",
	[LA_AUTHZ_VALID] = "SELECT id FROM acme_authz WHERE account_id = $1"
	    " AND type = $2 AND value = $3 AND status = 'valid'"
	    " AND expires > $4 LIMIT 1",
	[LA_AUTHZ_REUSABLE] = "SELECT id, validated FROM acme_authz"
	    " WHERE account_id = $1 AND type = $2 AND value = $3"
	    " AND status = 'valid' AND validated >= $4 AND validated > 0"
	    " ORDER BY validated DESC LIMIT 1",
	[LA_NONCE_KEY] = "SELECT key FROM acme_nonce_key WHERE id = 1",
};

/* The values as parameters, typed by their kind. */
static void
bind_vals(const struct ledger_val *v, size_t n, struct pgu_params *p,
    Oid *types)
{
	size_t i;

	pgu_init(p);
	for (i = 0; i < n; i++) {
		switch (v[i].type) {
		case LV_INT:
			types[i] = PG_OID_INT8;
			pgu_int8(p, v[i].i);
			break;
		case LV_TEXT:
			types[i] = PG_OID_TEXT;
			pgu_text(p, v[i].s);
			break;
		case LV_BLOB:
			types[i] = PG_OID_BYTEA;
			pgu_bytes(p, v[i].b, v[i].len);
			break;
		case LV_NULL:
			types[i] = 0;
			pgu_null(p);
			break;
		}
	}
}

/* Run stmt with v on c; *res (if not NULL) gets the result. */
static int
acme_exec(struct pg_conn *c, enum ledger_acme_stmt stmt,
    const struct ledger_val *v, size_t n, PGresult **out)
{
	struct pgu_params p;
	Oid types[LEDGER_ACME_MAX_VALS];
	PGresult *res;
	enum pgu_fault f;

	if (acme_sql[stmt] == NULL || n > PGU_MAXP)
		return LEDGER_ERR_ARG;
	bind_vals(v, n, &p, types);
	res = PQexecParams(c->conn, acme_sql[stmt], p.n, types, p.val, p.len,
	    p.fmt, 1);
	if ((f = pgu_check(c->conn, res)) != PGU_OK) {
		PQclear(res);
		return pg_fault_rc(c, f);
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return LEDGER_OK;
}

/* Inside the writer's batch and this op's SAVEPOINT (ledger_pgsql.c). */
int
pg_do_acme(struct pg_ledger *pg, const struct ledger_acme_step *steps,
    size_t n, const struct audit_record *audit)
{
	PGresult *res = NULL;
	size_t i;
	long changed;
	int rc;

	for (i = 0; i < n; i++) {
		if ((rc = acme_exec(&pg->w, steps[i].stmt, steps[i].v,
		    steps[i].n, &res)) != LEDGER_OK)
			return rc;
		changed = pgu_changed(res);
		PQclear(res);
		res = NULL;
		if (steps[i].one && changed != 1)
			return LEDGER_ERR_STATE;
	}
	return audit != NULL ? pg_do_audit(pg, audit, NULL) : LEDGER_OK;
}

/* One column of a binary result as a value pointing into res. */
static struct ledger_val
acme_col(const PGresult *res, int row, int col)
{
	struct ledger_val v;
	int64_t i8;
	int32_t i4;

	memset(&v, 0, sizeof(v));
	if (PQgetisnull(res, row, col))
		return v;
	switch (PQftype(res, col)) {
	case PG_OID_INT8:
		if (pgu_get_int8(res, row, col, &i8))
			v = ledger_vi(i8);
		break;
	case PG_OID_INT4:
		if (pgu_get_int4(res, row, col, &i4))
			v = ledger_vi(i4);
		break;
	case PG_OID_BYTEA:
		v.type = LV_BLOB;
		v.b = (const uint8_t *)PQgetvalue(res, row, col);
		v.len = (size_t)PQgetlength(res, row, col);
		break;
	default:
		/* text; libpq ends every value with a NUL. */
		v = ledger_vt(PQgetvalue(res, row, col));
		break;
	}
	return v;
}

int
pg_acme_read(void *state, enum ledger_acme_stmt stmt,
    const struct ledger_val *args, size_t nargs, ledger_acme_cb cb, void *arg)
{
	struct pg_ledger *pg = state;
	struct ledger_val cols[LEDGER_ACME_MAX_VALS];
	struct pg_conn *c;
	PGresult *res = NULL;
	int fresh, tries, rc, row, col, ncols;

	if (acme_sql[stmt] == NULL)
		return LEDGER_ERR_ARG;
	c = pg_reader_take(pg);
	/* A connection that died while idle: one retry (reads change
	   nothing), as ledger_pgsql_read.c does. */
	for (tries = 0;; tries++) {
		if ((rc = pg_conn_ensure(c, &fresh)) != LEDGER_OK)
			break;
		rc = acme_exec(c, stmt, args, nargs, &res);
		if (rc != LEDGER_ERR_DOWN || fresh || tries > 0)
			break;
	}
	pthread_mutex_unlock(&c->lock);
	if (rc != LEDGER_OK)
		return rc;
	ncols = PQnfields(res);
	if (ncols > LEDGER_ACME_MAX_VALS)
		ncols = LEDGER_ACME_MAX_VALS;
	for (row = 0; row < PQntuples(res); row++) {
		for (col = 0; col < ncols; col++)
			cols[col] = acme_col(res, row, col);
		if (cb(cols, (size_t)ncols, arg) != 0)
			break;
	}
	PQclear(res);
	return LEDGER_OK;
}
