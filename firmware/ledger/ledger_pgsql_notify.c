/*
 * The expiry notification queue in the PostgreSQL ledger (issue 19;
 * signet/ledger_notify.h), for several nodes sharing one ledger.  The
 * same queue as SQLite's (ledger_sqlite_notify.c): one row per (serial,
 * threshold, webhook); `due` is both the lease and the backoff;
 * `claimed` the attempt that holds the row, the only one that settles
 * it.  Writes run on the writer connection inside the group commit's
 * SAVEPOINT (ledger_pgsql.c), reads on a reader connection.
 *
 * What a cluster adds:
 *
 * - Scans of two nodes insert the same rows: ON CONFLICT DO NOTHING
 *   on the unique key, and in the order of certs.id, so two scans wait
 *   for each other row by row instead of deadlocking.
 * - Claims of two nodes race for the same row.  The subquery locks its
 *   row FOR UPDATE SKIP LOCKED: a row another node's open batch has
 *   just claimed is skipped, not waited for.  A row whose claim has
 *   committed since this statement's snapshot is re-read under the lock
 *   and its new `due` excludes it.  The outer WHERE repeats state and
 *   due: under READ COMMITTED an UPDATE re-checks only its own WHERE on
 *   the newest row version, and `id = (subquery)` alone would still be
 *   true after another node took the row (the SQLite statement ported
 *   as it was would hand one row to two nodes).
 * - `node` records which node holds (or last held) the claim, for the
 *   operator (the engine does not read it).
 *
 * Statements are sent with their SQL rather than prepared: one claim or
 * settle per delivery and one scan per rule and interval are not worth
 * a name on every connection.
 */
#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include <signet/ledger.h>
#include <signet/ledger_notify.h>

#include "ledger_impl.h"
#include "ledger_pgsql.h"

#define NQ_PENDING	0
#define NQ_DELIVERED	1
#define NQ_FAILED	2
#define NQ_PURGE_MAX	1000	/* settled rows removed per scan, at most */
#define NQ_KEEP		86400	/* settled rows kept after expiry (s) */

/*
 * The threshold test shared by the scan and the metric: $1 now, $2 secs,
 * $3 permille (one of them 0).
 */
#define NQ_CROSSED \
    " status = 1 AND not_after > $1::bigint AND (CASE WHEN $3::integer > 0" \
    "  THEN (not_after - $1::bigint) * 1000 <=" \
    "   (not_after - not_before) * $3::integer" \
    "  ELSE not_after - $1::bigint <= $2::bigint END)"

static const char sql_purge[] =
    "DELETE FROM notify_queue WHERE id IN (SELECT id FROM notify_queue"
    " WHERE state <> 0 AND not_after <= $1::bigint LIMIT $2::bigint"
    " FOR UPDATE SKIP LOCKED)";

static const char sql_enqueue[] =
    "INSERT INTO notify_queue(serial, threshold, webhook, tenant, profile,"
    " names, not_before, not_after, due, created)"
    " SELECT serial, $6::text, $7::text, tenant, profile, sans, not_before,"
    " not_after, $1::bigint, $1::bigint FROM certs"
    " WHERE tenant = $4::text AND profile = $5::text AND" NQ_CROSSED
    " AND not_after - not_before > $2::bigint ORDER BY id"
    " ON CONFLICT (serial, threshold, webhook) DO NOTHING";

static const char sql_claim[] =
    "UPDATE notify_queue SET attempts = attempts + 1,"
    " claimed = attempts + 1, due = $2::bigint, node = $3::text"
    " WHERE id = (SELECT id FROM notify_queue WHERE state = 0"
    " AND due <= $1::bigint ORDER BY due, id LIMIT 1"
    " FOR UPDATE SKIP LOCKED)"
    " AND state = 0 AND due <= $1::bigint"
    " RETURNING id, attempts, serial, tenant, profile, threshold, webhook,"
    " names, not_before, not_after";

static const char sql_settle[] =
    "UPDATE notify_queue SET state = $3::integer, due = $4::bigint,"
    " error = $5::text, settled = $6::bigint, claimed = 0"
    " WHERE id = $1::bigint AND claimed = $2::integer AND state = 0";

static const char sql_expiring[] =
    "SELECT count(*) FROM certs WHERE tenant = $4::text"
    " AND profile = $5::text AND" NQ_CROSSED;

static const char sql_counts[] =
    "SELECT state, count(*) FROM notify_queue GROUP BY state";

/* Run sql on the writer connection (inside the batch's savepoint). */
static int
wr(struct pg_ledger *pg, const char *sql, const struct pgu_params *p,
    PGresult **res)
{
	return pg_fault_rc(&pg->w, pgu_query(pg->w.conn, sql, p, res));
}

static int
do_enqueue(struct pg_ledger *pg, struct ledger_notify_op *op)
{
	const struct ledger_notify_rule *r = op->rule;
	struct pgu_params p;
	PGresult *res = NULL;
	long n;
	int rc;

	pgu_init(&p);
	pgu_int8(&p, op->now - NQ_KEEP);
	pgu_int8(&p, NQ_PURGE_MAX);
	if ((rc = wr(pg, sql_purge, &p, NULL)) != LEDGER_OK)
		return rc;
	pgu_init(&p);
	pgu_int8(&p, op->now);
	pgu_int8(&p, r->secs);
	pgu_int4(&p, r->permille);
	pgu_text(&p, r->tenant);
	pgu_text(&p, r->profile);
	pgu_text(&p, r->threshold);
	pgu_text(&p, r->webhook);
	if ((rc = wr(pg, sql_enqueue, &p, &res)) != LEDGER_OK)
		return rc;
	if ((n = pgu_changed(res)) < 0)
		rc = LEDGER_ERR_DB;
	else
		op->added = (uint64_t)n;
	PQclear(res);
	return rc;
}

/* Text column col of row 0 into dst (truncated to size, never over). */
static int
get_text(const PGresult *res, int col, char *dst, size_t size)
{
	int len = PQgetlength(res, 0, col);

	if (PQgetisnull(res, 0, col) || len < 0 || (size_t)len >= size)
		return 0;
	memcpy(dst, PQgetvalue(res, 0, col), (size_t)len);
	dst[len] = '\0';
	return 1;
}

static int
do_claim(struct pg_ledger *pg, struct ledger_notify_op *op)
{
	struct ledger_notify *n = op->out;
	struct pgu_params p;
	PGresult *res = NULL;
	int64_t att;
	int32_t a4;
	int len, rc;

	pgu_init(&p);
	pgu_int8(&p, op->now);
	pgu_int8(&p, op->until);
	pgu_text(&p, pg->target.node);
	if ((rc = wr(pg, sql_claim, &p, &res)) != LEDGER_OK)
		return rc;
	if (PQntuples(res) == 0) {
		rc = LEDGER_ERR_NOTFOUND;
		goto out;
	}
	rc = LEDGER_ERR_DB;
	len = PQgetlength(res, 0, 2);
	if (PQntuples(res) != 1 || !pgu_get_int8(res, 0, 0, &n->id) ||
	    !pgu_get_int4(res, 0, 1, &a4) || a4 < 1 ||
	    len < 1 || len > LEDGER_SERIAL_MAX ||
	    !get_text(res, 3, n->tenant, sizeof(n->tenant)) ||
	    !get_text(res, 4, n->profile, sizeof(n->profile)) ||
	    !get_text(res, 5, n->threshold, sizeof(n->threshold)) ||
	    !get_text(res, 6, n->webhook, sizeof(n->webhook)) ||
	    !get_text(res, 7, n->names, sizeof(n->names)) ||
	    !pgu_get_int8(res, 0, 8, &n->not_before) ||
	    !pgu_get_int8(res, 0, 9, &att))
		goto out;
	n->not_after = att;
	n->attempts = (uint32_t)a4;
	n->serial.len = (size_t)len;
	memcpy(n->serial.b, PQgetvalue(res, 0, 2), (size_t)len);
	rc = LEDGER_OK;
out:
	PQclear(res);
	return rc;
}

static int
do_settle(struct pg_ledger *pg, struct ledger_notify_op *op)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int final = op->delivered || op->until == 0;
	long n;
	int rc;

	pgu_init(&p);
	pgu_int8(&p, op->id);
	pgu_int4(&p, (int32_t)op->attempts);
	pgu_int4(&p, op->delivered ? NQ_DELIVERED :
	    op->until == 0 ? NQ_FAILED : NQ_PENDING);
	pgu_int8(&p, op->until);
	pgu_text(&p, op->error);
	pgu_int8(&p, final ? op->now : 0);
	if ((rc = wr(pg, sql_settle, &p, &res)) != LEDGER_OK)
		return rc;
	n = pgu_changed(res);
	PQclear(res);
	/* Not the current claim: stale, taken over, or settled already. */
	return n == 1 ? LEDGER_OK : n == 0 ? LEDGER_ERR_STATE : LEDGER_ERR_DB;
}

int
pg_do_notify(struct pg_ledger *pg, struct ledger_notify_op *op)
{
	if (op->attempts > INT32_MAX)
		return LEDGER_ERR_ARG;
	switch (op->kind) {
	case LN_ENQUEUE:
		return do_enqueue(pg, op);
	case LN_CLAIM:
		return do_claim(pg, op);
	case LN_SETTLE:
		return do_settle(pg, op);
	}
	return LEDGER_ERR_ARG;
}

int
pg_notify_expiring(void *state, const char *tenant, const char *profile,
    int64_t secs, int permille, int64_t now, uint64_t *n)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int64_t v;
	int rc;

	pgu_init(&p);
	pgu_int8(&p, now);
	pgu_int8(&p, secs);
	pgu_int4(&p, permille);
	pgu_text(&p, tenant);
	pgu_text(&p, profile);
	if ((rc = pg_read_sql(state, sql_expiring, &p, &res)) != LEDGER_OK)
		return rc;
	if (PQntuples(res) == 1 && pgu_get_int8(res, 0, 0, &v) && v >= 0)
		*n = (uint64_t)v;
	else
		rc = LEDGER_ERR_DB;
	PQclear(res);
	return rc;
}

int
pg_notify_counts(void *state, struct ledger_notify_counts *out)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int64_t v;
	int32_t s;
	int i, rc;

	pgu_init(&p);
	if ((rc = pg_read_sql(state, sql_counts, &p, &res)) != LEDGER_OK)
		return rc;
	for (i = 0; i < PQntuples(res); i++) {
		if (!pgu_get_int4(res, i, 0, &s) ||
		    !pgu_get_int8(res, i, 1, &v) || v < 0) {
			rc = LEDGER_ERR_DB;
			break;
		}
		if (s == NQ_PENDING)
			out->pending = (uint64_t)v;
		else if (s == NQ_DELIVERED)
			out->delivered = (uint64_t)v;
		else
			out->failed = (uint64_t)v;
	}
	PQclear(res);
	return rc;
}
