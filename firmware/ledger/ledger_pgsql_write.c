/*
 * Writes of the PostgreSQL ledger.  Each runs on the writer connection
 * inside the group-commit leader's transaction and its own savepoint
 * (ledger_pgsql.c), so it commits whole with its audit record or leaves
 * nothing behind.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <signet/audit_pgsql.h>
#include <signet/ledger.h>
#include <signet/ledger_backend.h>

#include "ledger_impl.h"
#include "ledger_pgsql.h"

const struct pgu_stmt pg_write_stmts[] = {
	{ "w_reserve", "INSERT INTO certs(serial, tenant, issuer, profile,"
	    " subject, sans, requester, not_before, not_after, created,"
	    " tbs_hash, status, der_stored, node, authorized_by)"
	    " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0,"
	    " $12 <> 0, $13, $14)", "btttttt888b4tt" },
	{ "w_transition", "UPDATE certs SET status = $1,"
	    " der = CASE WHEN $2 IS NULL THEN der WHEN der_stored THEN $2"
	    " ELSE NULL END,"
	    " revoked_at = coalesce($3, revoked_at),"
	    " reason = coalesce($4, reason)"
	    " WHERE serial = $5 AND ($6 IS NULL OR tenant = $6)"
	    " AND ((1 << status) & $7) <> 0"
	    " AND ($8 IS NULL OR tbs_hash = $8)", "4b84bt4b" },
	{ "w_probe", "SELECT tenant, status FROM certs WHERE serial = $1",
	    "b" },
	/* One statement: the row lock orders every node's increments. */
	{ "w_counter", "INSERT INTO counters(name, value) VALUES($1, 1)"
	    " ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
	    " RETURNING value", "t" },
	{ "w_token_insert", "INSERT INTO enroll_tokens(id, hash, tenant,"
	    " profile, names, created, expires, uses_left)"
	    " VALUES($1, $2, $3, $4, $5, $6, $7, $8)", "tbttt888" },
	/* policy: one use, only for its own tenant and profile, unexpired. */
	{ "w_token_consume", "UPDATE enroll_tokens"
	    " SET uses_left = uses_left - 1"
	    " WHERE hash = $1 AND tenant = $2 AND profile = $3"
	    " AND uses_left > 0 AND expires > $4", "btt8" },
	{ "w_token_probe", "SELECT count(*) FROM enroll_tokens"
	    " WHERE hash = $1", "b" },
	/*
	 * Tidy (issue 19): a node skips rows another node's tidy holds,
	 * rather than waiting behind it.
	 */
	{ "w_tidy_certs", "DELETE FROM certs WHERE id IN (SELECT id FROM certs"
	    " WHERE tenant = $1 AND status IN (1, 2, 3) AND not_after <= $2"
	    " LIMIT $3 FOR UPDATE SKIP LOCKED)", "t88" },
	{ "w_tidy_tokens", "DELETE FROM enroll_tokens WHERE id IN (SELECT id"
	    " FROM enroll_tokens WHERE tenant = $1 AND (expires <= $2"
	    " OR (uses_left = 0 AND created <= $2))"
	    " LIMIT $3 FOR UPDATE SKIP LOCKED)", "t88" },
};

const size_t pg_nwrite_stmts = sizeof(pg_write_stmts) /
    sizeof(pg_write_stmts[0]);

/* An audit failure on a lost connection is the database being down. */
static int
audit_rc(struct pg_ledger *pg, int arc)
{
	if (arc != AUDIT_OK && (pg->w.conn == NULL ||
	    PQstatus(pg->w.conn) == CONNECTION_BAD))
		return pg_result_rc(&pg->w, NULL);
	return ledger_audit_rc(arc);
}

int
pg_do_audit(struct pg_ledger *pg, const struct audit_record *audit,
    uint64_t *seq)
{
	return audit_rc(pg, audit_pg_append(pg->audit, pg->w.conn, audit,
	    seq));
}

int
pg_do_checkpoint(struct pg_ledger *pg)
{
	return audit_rc(pg, audit_pg_checkpoint(pg->audit, pg->w.conn));
}

int
pg_do_reserve(struct pg_ledger *pg, const struct ledger_intent *in)
{
	struct pgu_params p;

	pgu_init(&p);
	pgu_bytes(&p, in->serial.b, in->serial.len);
	pgu_text(&p, in->tenant);
	pgu_text(&p, in->issuer);
	pgu_text(&p, in->profile);
	pgu_text(&p, in->subject != NULL ? in->subject : "");
	pgu_text(&p, in->sans != NULL ? in->sans : "");
	pgu_text(&p, in->requester != NULL ? in->requester : "");
	pgu_int8(&p, in->not_before);
	pgu_int8(&p, in->not_after);
	pgu_int8(&p, in->created != 0 ? in->created : ledger_now());
	pgu_bytes(&p, in->tbs_hash, LEDGER_HASH_LEN);
	pgu_int4(&p, in->store_der != 0);
	pgu_text(&p, pg->target.node);
	pgu_text(&p, in->authorized_by != NULL ? in->authorized_by : "");
	return pg_run(&pg->w, "w_reserve", &p, NULL);
}

/* Why did the transition change nothing? */
static int
probe(struct pg_ledger *pg, const struct ledger_transition *t)
{
	struct pgu_params p;
	PGresult *res = NULL;
	char *tenant = NULL;
	int32_t status;
	int rc;

	pgu_init(&p);
	pgu_bytes(&p, t->serial->b, t->serial->len);
	if ((rc = pg_run(&pg->w, "w_probe", &p, &res)) != LEDGER_OK)
		return rc;
	rc = LEDGER_ERR_NOTFOUND;
	if (PQntuples(res) != 1)
		goto out;
	if ((tenant = pgu_get_strdup(res, 0, 0)) == NULL) {
		rc = LEDGER_ERR_NOMEM;
		goto out;
	}
	/* policy: another tenant's serial looks exactly like no serial. */
	if (t->tenant != NULL && strcmp(tenant, t->tenant) != 0)
		goto out;
	if (!pgu_get_int4(res, 0, 1, &status) || status < 0 || status > 31)
		rc = LEDGER_ERR_DB;
	else if (((1u << status) & t->from_mask) == 0)
		rc = LEDGER_ERR_STATE;
	else
		rc = LEDGER_ERR_MISMATCH;
out:
	free(tenant);
	PQclear(res);
	return rc;
}

int
pg_do_transition(struct pg_ledger *pg, const struct ledger_transition *t,
    const struct audit_record *audit)
{
	struct pgu_params p;
	PGresult *res = NULL;
	long n;
	int rc;

	pgu_init(&p);
	pgu_int4(&p, (int32_t)t->to);
	pgu_bytes(&p, t->der, t->der_len);
	if (t->to == LEDGER_REVOKED) {
		pgu_int8(&p, t->revoked_at);
		pgu_int4(&p, t->reason);
	} else {
		pgu_null(&p);
		pgu_null(&p);
	}
	pgu_bytes(&p, t->serial->b, t->serial->len);
	pgu_text(&p, t->tenant);
	pgu_int4(&p, (int32_t)t->from_mask);
	pgu_bytes(&p, t->tbs_hash, LEDGER_HASH_LEN);
	if ((rc = pg_run(&pg->w, "w_transition", &p, &res)) != LEDGER_OK)
		return rc;
	n = pgu_changed(res);
	PQclear(res);
	if (n != 1)
		return probe(pg, t);
	if (audit == NULL)
		return LEDGER_OK;
	return pg_do_audit(pg, audit, NULL);
}

int
pg_do_counter(struct pg_ledger *pg, const char *name, uint64_t *out)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int64_t v;
	int rc;

	pgu_init(&p);
	pgu_text(&p, name);
	if ((rc = pg_run(&pg->w, "w_counter", &p, &res)) != LEDGER_OK)
		return rc;
	if (PQntuples(res) == 1 && pgu_get_int8(res, 0, 0, &v) && v > 0)
		*out = (uint64_t)v;
	else
		rc = LEDGER_ERR_DB;
	PQclear(res);
	return rc;
}

int
pg_do_token_create(struct pg_ledger *pg, const struct ledger_token *t,
    const struct audit_record *audit)
{
	struct pgu_params p;
	int rc;

	pgu_init(&p);
	pgu_text(&p, t->id);
	pgu_bytes(&p, t->hash, LEDGER_HASH_LEN);
	pgu_text(&p, t->tenant);
	pgu_text(&p, t->profile);
	pgu_text(&p, t->names);
	pgu_int8(&p, t->created);
	pgu_int8(&p, t->expires);
	pgu_int8(&p, t->uses_left);
	if ((rc = pg_run(&pg->w, "w_token_insert", &p, NULL)) != LEDGER_OK)
		return rc;
	return pg_do_audit(pg, audit, NULL);
}

/* Why did the consumption change nothing: no token, or not usable? */
static int
token_probe(struct pg_ledger *pg, const uint8_t *hash)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int64_t n;
	int rc;

	pgu_init(&p);
	pgu_bytes(&p, hash, LEDGER_HASH_LEN);
	if ((rc = pg_run(&pg->w, "w_token_probe", &p, &res)) != LEDGER_OK)
		return rc;
	if (PQntuples(res) != 1 || !pgu_get_int8(res, 0, 0, &n))
		rc = LEDGER_ERR_DB;
	else
		rc = n > 0 ? LEDGER_ERR_STATE : LEDGER_ERR_NOTFOUND;
	PQclear(res);
	return rc;
}

int
pg_do_reserve_token(struct pg_ledger *pg, const struct ledger_intent *in,
    const uint8_t *hash, int64_t now)
{
	struct pgu_params p;
	PGresult *res = NULL;
	long n;
	int rc;

	/*
	 * The UPDATE locks the token's row: a node racing for the last use
	 * waits, then sees uses_left = 0 and changes nothing.
	 */
	pgu_init(&p);
	pgu_bytes(&p, hash, LEDGER_HASH_LEN);
	pgu_text(&p, in->tenant);
	pgu_text(&p, in->profile);
	pgu_int8(&p, now);
	if ((rc = pg_run(&pg->w, "w_token_consume", &p, &res)) != LEDGER_OK)
		return rc;
	n = pgu_changed(res);
	PQclear(res);
	if (n != 1)
		return token_probe(pg, hash);
	return pg_do_reserve(pg, in);
}

/* One tidy batch: expired certificates, then spent or expired tokens. */
int
pg_do_tidy(struct pg_ledger *pg, const char *tenant, int64_t cutoff,
    size_t limit, uint64_t *certs, uint64_t *tokens)
{
	static const char *const name[2] = { "w_tidy_certs", "w_tidy_tokens" };
	uint64_t *n[2] = { certs, tokens };
	struct pgu_params p;
	PGresult *res = NULL;
	long changed;
	int i, rc;

	for (i = 0; i < 2; i++) {
		pgu_init(&p);
		pgu_text(&p, tenant);
		pgu_int8(&p, cutoff);
		pgu_int8(&p, (int64_t)limit);
		if ((rc = pg_run(&pg->w, name[i], &p, &res)) != LEDGER_OK)
			return rc;
		changed = pgu_changed(res);
		PQclear(res);
		if (changed < 0)
			return LEDGER_ERR_DB;
		*n[i] = (uint64_t)changed;
	}
	return LEDGER_OK;
}
