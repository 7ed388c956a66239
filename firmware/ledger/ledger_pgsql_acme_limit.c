/*
 * ACME rate limits in the PostgreSQL ledger (migration 8, issue 20;
 * signet/ledger_acme.h), one budget for every node.  A take or a give
 * runs on the writer inside the batch's savepoint, a peek on a reader.
 *
 * A take is one INSERT ... ON CONFLICT DO UPDATE ... WHERE: the row is
 * locked while its test and charge run, so two nodes charging the same
 * key at once are ordered and the second sees the first's charge.  The
 * sweep re-checks tat on the row it deletes, so it never removes a
 * bucket another node charged after the sweep chose it.
 */
#include <libpq-fe.h>

#include <signet/ledger.h>
#include <signet/ledger_acme.h>
#include <signet/pgutil.h>

#include "ledger_impl.h"
#include "ledger_pgsql.h"

const char pg_acme_limit_schema[] =
    "CREATE TABLE IF NOT EXISTS acme_limits("
    " key text PRIMARY KEY, tat bigint NOT NULL);"
    "CREATE INDEX IF NOT EXISTS acme_limits_tat ON acme_limits(tat);";

static const char sql_take[] =
    "INSERT INTO acme_limits AS l(key, tat)"
    " VALUES($1::text, $2::bigint + $3::bigint)"
    " ON CONFLICT(key) DO UPDATE"
    " SET tat = GREATEST(l.tat, $2::bigint) + $3::bigint"
    " WHERE GREATEST(l.tat, $2::bigint) + $3::bigint - $2::bigint"
    " <= $4::bigint";

static const char sql_sweep[] =
    "DELETE FROM acme_limits WHERE tat < $1::bigint AND key IN"
    " (SELECT key FROM acme_limits WHERE tat < $1::bigint ORDER BY tat"
    " LIMIT $2::bigint FOR UPDATE SKIP LOCKED)";

static const char sql_give[] =
    "UPDATE acme_limits SET tat = tat - $2::bigint WHERE key = $1::text";

static const char sql_get[] =
    "SELECT tat FROM acme_limits WHERE key = $1::text";

static int
wr(struct pg_ledger *pg, const char *sql, const struct pgu_params *p,
    PGresult **res)
{
	return pg_fault_rc(&pg->w, pgu_query(pg->w.conn, sql, p, res));
}

/* res of sql_get: the tat, 0 without a row; 0 if malformed. */
static int
tat_of(const PGresult *res, int64_t *tat)
{
	*tat = 0;
	if (PQntuples(res) == 0)
		return 1;
	return PQntuples(res) == 1 && pgu_get_int8(res, 0, 0, tat);
}

static int
take(struct pg_ledger *pg, struct ledger_acme_limit *lim)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int64_t tat;
	long n;
	int rc;

	pgu_init(&p);
	pgu_int8(&p, lim->now_us);
	pgu_int8(&p, LEDGER_ACME_LIMIT_SWEEP);
	if ((rc = wr(pg, sql_sweep, &p, NULL)) != LEDGER_OK)
		return rc;
	pgu_init(&p);
	pgu_text(&p, lim->key);
	pgu_int8(&p, lim->now_us);
	pgu_int8(&p, lim->cost_us);
	pgu_int8(&p, lim->span_us);
	if ((rc = wr(pg, sql_take, &p, &res)) != LEDGER_OK)
		return rc;
	n = pgu_changed(res);
	PQclear(res);
	if (n < 0)
		return LEDGER_ERR_DB;
	if (n == 1)
		return LEDGER_OK;
	/* Refused: how long until a token is there. */
	pgu_init(&p);
	pgu_text(&p, lim->key);
	if ((rc = wr(pg, sql_get, &p, &res)) != LEDGER_OK)
		return rc;
	rc = tat_of(res, &tat) ? LEDGER_ERR_STATE : LEDGER_ERR_DB;
	PQclear(res);
	if (rc == LEDGER_ERR_STATE && ledger_acme_limit_there(lim, tat))
		lim->retry = 1;	/* refilled in between: try again */
	return rc;
}

static int
give(struct pg_ledger *pg, const struct ledger_acme_limit *lim)
{
	struct pgu_params p;

	pgu_init(&p);
	pgu_text(&p, lim->key);
	pgu_int8(&p, lim->cost_us);
	return wr(pg, sql_give, &p, NULL);
}

int
pg_do_acme_limit(struct pg_ledger *pg, struct ledger_acme_limit *lim)
{
	return lim->mode == LAL_GIVE ? give(pg, lim) : take(pg, lim);
}

int
pg_acme_limit(void *state, struct ledger_acme_limit *lim)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int64_t tat;
	int rc;

	if (lim->mode != LAL_PEEK)
		return ledger_gc_acme_limit(state, lim);
	pgu_init(&p);
	pgu_text(&p, lim->key);
	if ((rc = pg_read_sql(state, sql_get, &p, &res)) != LEDGER_OK)
		return rc;
	rc = tat_of(res, &tat) ? LEDGER_OK : LEDGER_ERR_DB;
	PQclear(res);
	if (rc != LEDGER_OK)
		return rc;
	return ledger_acme_limit_there(lim, tat) ? LEDGER_OK :
	    LEDGER_ERR_STATE;
}
