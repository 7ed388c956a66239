/*
 * The PostgreSQL ledger's schema and its migrations.  Every migration
 * not yet applied runs, in order, in one transaction, under an advisory
 * lock: nodes starting together wait for each other, and a failed
 * migration leaves the schema as it was.  A database newer than this
 * build is refused rather than written to.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <signet/audit_pgsql.h>
#include <signet/ledger.h>

#include "ledger_impl.h"
#include "ledger_pgsql.h"

/*
 * Version 1: certificates and counters.  serial is UNIQUE across every
 * node and tenant: random serials make collisions improbable, the
 * constraint makes them impossible.  node records who reserved a row,
 * so that a node reconciles only its own.
 */
static const char schema_v1[] =
    "CREATE TABLE certs("
    " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " serial bytea NOT NULL UNIQUE"
    "  CHECK(length(serial) BETWEEN 1 AND 20),"
    " tenant text NOT NULL, issuer text NOT NULL, profile text NOT NULL,"
    " subject text NOT NULL, sans text NOT NULL, requester text NOT NULL,"
    " not_before bigint NOT NULL, not_after bigint NOT NULL,"
    " created bigint NOT NULL,"
    " tbs_hash bytea NOT NULL CHECK(length(tbs_hash) = 32),"
    " status integer NOT NULL CHECK(status BETWEEN 0 AND 3),"
    " revoked_at bigint, reason integer,"
    " der_stored boolean NOT NULL, der bytea,"
    " node text NOT NULL);"
    "CREATE INDEX certs_tenant ON certs(tenant, status, not_after);"
    "CREATE INDEX certs_revoked ON certs(issuer, not_after)"
    " WHERE status = 2;"
    "CREATE INDEX certs_reserved ON certs(node, id) WHERE status = 0;"
    "CREATE TABLE counters(name text PRIMARY KEY,"
    " value bigint NOT NULL);";

/* Version 3: enrollment tokens (hash of the secret only). */
static const char schema_v3[] =
    "CREATE TABLE enroll_tokens("
    " id text PRIMARY KEY,"
    " hash bytea NOT NULL UNIQUE CHECK(length(hash) = 32),"
    " tenant text NOT NULL, profile text NOT NULL, names text NOT NULL,"
    " created bigint NOT NULL, expires bigint NOT NULL,"
    " uses_left bigint NOT NULL CHECK(uses_left >= 0));";

/*
 * Version 4: which credential authorised each issuance (issue 13).  Rows
 * issued before it keep their data and read as "" (not recorded).
 */
static const char schema_v4[] =
    "ALTER TABLE certs ADD COLUMN authorized_by text NOT NULL DEFAULT '';"
    "CREATE INDEX certs_authorized_by ON certs(tenant, authorized_by);";

/*
 * Version 5: tidy (issue 19) finds expired and spent enrollment tokens
 * through an index, not a scan of every token.
 */
static const char schema_v5[] =
    "CREATE INDEX enroll_tokens_expires ON enroll_tokens(tenant, expires);"
    "CREATE INDEX enroll_tokens_spent ON enroll_tokens(tenant, created)"
    " WHERE uses_left = 0;";

/*
 * Version 6: the expiry notification queue (issue 19,
 * ledger_pgsql_notify.c): SQLite's notify_queue, plus the node holding
 * the claim.  IF NOT EXISTS: the step may be renumbered when migrations
 * of other features merge before it, and a database that ran it under
 * another number is not broken by running it again.
 */
static const char schema_notify[] =
    "CREATE TABLE IF NOT EXISTS notify_queue("
    " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " serial bytea NOT NULL, threshold text NOT NULL, webhook text NOT NULL,"
    " tenant text NOT NULL, profile text NOT NULL, names text NOT NULL,"
    " not_before bigint NOT NULL, not_after bigint NOT NULL,"
    " state integer NOT NULL DEFAULT 0 CHECK(state BETWEEN 0 AND 2),"
    " attempts integer NOT NULL DEFAULT 0, due bigint NOT NULL,"
    " claimed integer NOT NULL DEFAULT 0, node text NOT NULL DEFAULT '',"
    " created bigint NOT NULL, settled bigint NOT NULL DEFAULT 0,"
    " error text NOT NULL DEFAULT '',"
    " UNIQUE(serial, threshold, webhook));"
    "CREATE INDEX IF NOT EXISTS notify_due ON notify_queue(due, id)"
    " WHERE state = 0;"
    "CREATE INDEX IF NOT EXISTS notify_settled ON notify_queue(not_after)"
    " WHERE state <> 0;";

/* Version 2: the audit chains, so a row and its record share a commit. */
static int
migrate_audit(struct pg_conn *c)
{
	int rc = ledger_audit_rc(audit_pg_install(c->conn));

	return rc == LEDGER_ERR_IO ? pg_result_rc(c, NULL) : rc;
}

/* Applied in order; schema_version holds one row per applied version. */
static const struct migration {
	const char	*sql;
	int		(*fn)(struct pg_conn *c);
} migrations[] = {
	{ schema_v1, NULL },
	{ NULL, migrate_audit },
	{ schema_v3, NULL },
	{ schema_v4, NULL },
	{ schema_v5, NULL },
	{ schema_notify, NULL },	/* 6 */
	{ pg_acme_schema, NULL },	/* 7: ACME (issue 20) */
	{ pg_acme_limit_schema, NULL },	/* 8: ACME rate limits (issue 20) */
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int
current_version(struct pg_conn *c, int32_t *v)
{
	PGresult *res;
	int rc = LEDGER_OK;

	res = PQexecParams(c->conn, "SELECT coalesce(max(version), 0)"
	    " FROM schema_version", 0, NULL, NULL, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_result_rc(c, res);
	else if (PQntuples(res) != 1 || !pgu_get_int4(res, 0, 0, v))
		rc = LEDGER_ERR_SCHEMA;
	PQclear(res);
	return rc;
}

static int
record_version(struct pg_conn *c, int32_t v)
{
	struct pgu_params p;
	PGresult *res;
	int rc = LEDGER_OK;

	pgu_init(&p);
	pgu_int4(&p, v);
	pgu_int8(&p, ledger_now());
	res = PQexecParams(c->conn, "INSERT INTO schema_version(version,"
	    " applied) VALUES($1::integer, $2::bigint)", p.n, NULL, p.val,
	    p.len, p.fmt, 1);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_result_rc(c, res);
	PQclear(res);
	return rc;
}

int
pg_migrate(struct pg_conn *c)
{
	int32_t v;
	int rc;

	if ((rc = pg_simple(c, "BEGIN")) != LEDGER_OK)
		return rc;
	/* One key for every Signet ledger: migrations never overlap. */
	if ((rc = pg_simple(c, "SELECT pg_advisory_xact_lock(5163047)")) !=
	    LEDGER_OK)
		goto out;
	if ((rc = pg_simple(c, "CREATE TABLE IF NOT EXISTS schema_version("
	    "version integer PRIMARY KEY, applied bigint NOT NULL)")) !=
	    LEDGER_OK || (rc = current_version(c, &v)) != LEDGER_OK)
		goto out;
	if (v > NMIGRATIONS) {
		rc = LEDGER_ERR_SCHEMA;
		goto out;
	}
	for (; v < NMIGRATIONS; v++) {
		if (migrations[v].sql != NULL)
			rc = pg_simple(c, migrations[v].sql);
		else
			rc = migrations[v].fn(c);
		if (rc != LEDGER_OK || (rc = record_version(c, v + 1)) !=
		    LEDGER_OK)
			goto out;
	}
	rc = pg_simple(c, "COMMIT");
out:
	if (rc != LEDGER_OK)
		pg_simple(c, "ROLLBACK");
	return rc;
}
