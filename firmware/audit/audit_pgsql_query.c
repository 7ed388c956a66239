/*
 * Reading one node's audit chain in PostgreSQL for an auditor (issue
 * 19; see audit_query.c for the window).  (node, seq) is the primary
 * key, so the window and the chain's last record are index reads; the
 * other filters are checked on the window's rows.
 */
#include <string.h>

#include <libpq-fe.h>

#include <signet/audit.h>
#include <signet/audit_pgsql.h>

#include "audit_impl.h"
#include "audit_pgsql_impl.h"

static const char query_sql[] =
    "SELECT seq, time, actor, role, tenant, action, object, result, detail,"
    " hash FROM audit_log WHERE node = $1 AND seq > $2::bigint"
    " AND seq <= $3::bigint"
    " AND ($4::bigint = 0 OR time >= $4)"
    " AND ($5::bigint = 0 OR time < $5)"
    " AND ($6::text IS NULL OR tenant = $6)"
    " AND ($7::text IS NULL OR action = $7)"
    " AND ($8::text IS NULL OR right(detail, length($8) + 6) ="
    "  ' cred=' || $8)"
    " ORDER BY seq LIMIT $9::bigint";

static const char tail_sql[] =
    "SELECT coalesce(max(seq), 0) FROM audit_log WHERE node = $1";

static void
text_opt(struct pgu_params *p, const char *s)
{
	pgu_text(p, s != NULL && *s != '\0' ? s : NULL);
}

/* Row i of res as an audit_row; 0 if a column is malformed. */
static int
row_get(const PGresult *res, int i, const char *node, struct audit_entry *r)
{
	int64_t seq;
	int c;

	memset(r, 0, sizeof(*r));
	if (!pgu_get_int8(res, i, 0, &seq) || seq < 1 ||
	    !pgu_get_int8(res, i, 1, &r->time) ||
	    PQgetlength(res, i, 9) != AUDIT_HASH_LEN)
		return 0;
	for (c = 2; c <= 8; c++)
		if (PQgetisnull(res, i, c))
			return 0;
	r->seq = (uint64_t)seq;
	r->node = node;
	/* Binary text is the bytes, NUL-terminated by libpq. */
	r->actor = PQgetvalue(res, i, 2);
	r->role = PQgetvalue(res, i, 3);
	r->tenant = PQgetvalue(res, i, 4);
	r->action = PQgetvalue(res, i, 5);
	r->object = PQgetvalue(res, i, 6);
	r->result = PQgetvalue(res, i, 7);
	r->detail = PQgetvalue(res, i, 8);
	memcpy(r->hash, PQgetvalue(res, i, 9), AUDIT_HASH_LEN);
	return 1;
}

static int
tail_seq(PGconn *conn, const char *node, uint64_t *tail)
{
	struct pgu_params p;
	PGresult *res = NULL;
	int64_t v = 0;
	int rc;

	pgu_init(&p);
	pgu_text(&p, node);
	if ((rc = apg_rc(pgu_query(conn, tail_sql, &p, &res))) != AUDIT_OK)
		return rc;
	if (PQntuples(res) != 1 || !pgu_get_int8(res, 0, 0, &v) || v < 0)
		rc = AUDIT_ERR_DB;
	PQclear(res);
	*tail = (uint64_t)v;
	return rc;
}

int
audit_pg_query(PGconn *conn, const char *node, const struct audit_query *q,
    audit_entry_cb cb, void *arg, struct audit_page *page)
{
	struct pgu_params p;
	struct audit_entry row;
	PGresult *res = NULL;
	uint64_t hi, tail, last;
	int i, n = 0, rc, stopped = 0;

	if (conn == NULL || cb == NULL || page == NULL ||
	    audit_query_ok(q) != AUDIT_OK)
		return AUDIT_ERR_ARG;
	if (q->node != NULL && *q->node != '\0')
		node = q->node;
	if (node == NULL || strlen(node) > AUDIT_PG_NODE_MAX)
		return AUDIT_ERR_ARG;
	memset(page, 0, sizeof(*page));
	last = q->after;
	hi = q->after + AUDIT_QUERY_WINDOW;
	pgu_init(&p);
	pgu_text(&p, node);
	pgu_int8(&p, (int64_t)q->after);
	pgu_int8(&p, (int64_t)hi);
	pgu_int8(&p, q->since);
	pgu_int8(&p, q->until);
	text_opt(&p, q->tenant);
	text_opt(&p, q->action);
	text_opt(&p, q->actor);
	pgu_int8(&p, (int64_t)q->limit);
	if ((rc = apg_rc(pgu_query(conn, query_sql, &p, &res))) != AUDIT_OK)
		return rc;
	for (i = 0; i < PQntuples(res); i++) {
		if (!row_get(res, i, node, &row)) {
			rc = AUDIT_ERR_DB;
			goto out;
		}
		if (cb(&row, arg) != 0) {
			stopped = 1;
			break;
		}
		last = row.seq;
		n++;
	}
	if ((rc = tail_seq(conn, node, &tail)) != AUDIT_OK)
		goto out;
	audit_page_end(page, q, hi, tail, last,
	    stopped || (size_t)n == q->limit);
out:
	PQclear(res);
	return rc;
}
