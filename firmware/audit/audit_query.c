/*
 * Reading the audit chain for an auditor (issue 19, GET /v1/audit): the
 * bounds every backend checks and the SQLite query.  The PostgreSQL
 * query is in audit_pgsql_query.c.
 *
 * Only seq is a key (SQLite's rowid; PostgreSQL's (node, seq)), so each
 * call reads a window of at most AUDIT_QUERY_WINDOW records past after
 * through it and filters those rows: the cost of one call is bounded
 * however rare the match, and the caller pages on.  Rejected: indexes on
 * tenant, action and time, which every issuance would pay for in its
 * commit to speed up a rare read; the actor lives inside detail and no
 * index helps it (docs/decisions.md).
 */
#include <string.h>

#include <sqlite3.h>

#include <signet/audit.h>
#include <signet/audit_sqlite.h>

#include "audit_impl.h"

/* The suffix "cred=<actor>" is matched as the detail's last word. */
static const char query_sql[] =
    "SELECT seq, time, actor, role, tenant, action, object, result, detail,"
    " hash FROM audit_log WHERE seq > ?1 AND seq <= ?2"
    " AND (?3 = 0 OR time >= ?3) AND (?4 = 0 OR time < ?4)"
    " AND (?5 IS NULL OR tenant = ?5) AND (?6 IS NULL OR action = ?6)"
    " AND (?7 IS NULL OR substr(detail, -(length(?7) + 6)) ="
    "  ' cred=' || ?7)"
    " ORDER BY seq LIMIT ?8";

static int
text_ok(const char *s, size_t max)
{
	return s == NULL || strlen(s) <= max;
}

int
audit_query_ok(const struct audit_query *q)
{
	if (q == NULL || q->limit == 0 || q->limit > AUDIT_QUERY_MAX ||
	    q->since < 0 || q->until < 0 ||
	    (q->until != 0 && q->since >= q->until) ||
	    q->after > INT64_MAX - AUDIT_QUERY_WINDOW ||
	    !text_ok(q->tenant, AUDIT_MAX_FIELD) ||
	    !text_ok(q->action, AUDIT_MAX_FIELD) ||
	    !text_ok(q->actor, AUDIT_MAX_FIELD) ||
	    !text_ok(q->node, AUDIT_MAX_FIELD))
		return AUDIT_ERR_ARG;
	return AUDIT_OK;
}

void
audit_page_end(struct audit_page *page, const struct audit_query *q,
    uint64_t hi, uint64_t tail, uint64_t last, int full)
{
	if (full)
		page->next = last;
	else
		page->next = hi < tail ? hi : tail > q->after ? tail : q->after;
	page->more = tail > page->next;
}

static void
bind_opt(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL && *s != '\0')
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s != NULL ? (const char *)s : "";
}

/* The current row as an audit_row; 0 if a column is malformed. */
static int
row_get(sqlite3_stmt *st, struct audit_entry *r)
{
	memset(r, 0, sizeof(*r));
	if (sqlite3_column_bytes(st, 9) != AUDIT_HASH_LEN)
		return 0;
	r->seq = (uint64_t)sqlite3_column_int64(st, 0);
	r->time = sqlite3_column_int64(st, 1);
	r->node = "-";
	r->actor = col(st, 2);
	r->role = col(st, 3);
	r->tenant = col(st, 4);
	r->action = col(st, 5);
	r->object = col(st, 6);
	r->result = col(st, 7);
	r->detail = col(st, 8);
	memcpy(r->hash, sqlite3_column_blob(st, 9), AUDIT_HASH_LEN);
	return 1;
}

static int
tail_seq(sqlite3 *db, uint64_t *tail)
{
	sqlite3_stmt *st = NULL;
	int src;

	*tail = 0;
	src = sqlite3_prepare_v2(db, "SELECT max(seq) FROM audit_log", -1,
	    &st, NULL);
	if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
		*tail = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return audit_db_rc(src);
}

int
audit_db_query(sqlite3 *db, const struct audit_query *q, audit_entry_cb cb,
    void *arg, struct audit_page *page)
{
	sqlite3_stmt *st = NULL;
	struct audit_entry row;
	uint64_t hi, tail, last;
	size_t n = 0;
	int src, rc, stopped = 0;

	if (db == NULL || cb == NULL || page == NULL ||
	    audit_query_ok(q) != AUDIT_OK)
		return AUDIT_ERR_ARG;
	memset(page, 0, sizeof(*page));
	last = q->after;
	hi = q->after + AUDIT_QUERY_WINDOW;
	/* SQLite holds one chain, node "-": another node's is empty. */
	if (q->node != NULL && *q->node != '\0' && strcmp(q->node, "-") != 0) {
		page->next = q->after;
		return AUDIT_OK;
	}
	src = sqlite3_prepare_v2(db, query_sql, -1, &st, NULL);
	if ((rc = audit_db_rc(src)) != AUDIT_OK)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)q->after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)hi);
	sqlite3_bind_int64(st, 3, q->since);
	sqlite3_bind_int64(st, 4, q->until);
	bind_opt(st, 5, q->tenant);
	bind_opt(st, 6, q->action);
	bind_opt(st, 7, q->actor);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)q->limit);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (!row_get(st, &row)) {
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
	if (!stopped && (rc = audit_db_rc(src)) != AUDIT_OK)
		goto out;
	if ((rc = tail_seq(db, &tail)) != AUDIT_OK)
		goto out;
	audit_page_end(page, q, hi, tail, last, stopped || n == q->limit);
	rc = AUDIT_OK;
out:
	sqlite3_finalize(st);
	return rc;
}
