/*
 * Reads of the SQLite ledger, on connections of their own so lookups
 * never wait behind a group commit's fsync (WAL lets readers run beside
 * the writer and see only committed rows).  Two of them: a point read
 * (a certificate, a token) on rdb, and every read whose cost grows with
 * the ledger (counts, lists, the CRL's revoked rows, the audit chain) on
 * the scan lane sdb, so a /metrics scrape's count over a million rows
 * does not hold an enrollment's token lookup for its ~150 ms.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <signet/ledger.h>

#include "ledger_impl.h"
#include "ledger_sqlite.h"

static const char *const read_sql[R_COUNT_STMTS] = {
	[R_GET] = "SELECT " SQ_CERT_COLUMNS " FROM certs"
	    " WHERE serial = ?1 AND (?2 IS NULL OR tenant = ?2)",
	[R_LIST] = "SELECT " SQ_CERT_COLUMNS " FROM certs"
	    " WHERE tenant = ?1 AND (?2 < 0 OR status = ?2)"
	    " AND (?3 <= 0 OR (not_after > ?4 AND not_after <= ?4 + ?3))"
	    " AND (?5 IS NULL OR instr(subject, ?5) > 0"
	    "  OR instr(sans, ?5) > 0)"
	    " AND (?8 IS NULL OR authorized_by = ?8)"
	    " ORDER BY id LIMIT ?6 OFFSET ?7",
	/*
	 * Grouped in certs_tenant's order (tenant, status), summed by
	 * sq_count: GROUP BY status alone sorts every row in a temporary
	 * B-tree, a transient of up to the page cache's size that grew with
	 * the ledger on every HEALTH (issue 14, the soak).
	 */
	[R_COUNT] = "SELECT status, count(*) FROM certs"
	    " WHERE ?1 IS NULL OR tenant = ?1 GROUP BY tenant, status",
	[R_REVOKED] = "SELECT serial, revoked_at, reason, not_after"
	    " FROM certs WHERE issuer = ?1 AND status = 2"
	    " AND not_after > ?2 ORDER BY revoked_at, id",
	[R_RESERVED] = "SELECT " SQ_CERT_COLUMNS " FROM certs"
	    " WHERE status = 0 ORDER BY id",
	/* Decoded by ledger_sqlite_tokens.c's token_row. */
	[R_TOKEN_BY_HASH] = "SELECT " SQ_TOKEN_COLUMNS " FROM enroll_tokens"
	    " WHERE hash = ?1",
	/* The DTLS PSK identity: one read for the row and its verifier. */
	[R_TOKEN_BY_ID] = "SELECT " SQ_TOKEN_COLUMNS " FROM enroll_tokens"
	    " WHERE id = ?1",
};

/* Which statements scan: they run on sdb under slock. */
static const int read_scans[R_COUNT_STMTS] = {
	[R_LIST] = 1, [R_COUNT] = 1, [R_REVOKED] = 1, [R_RESERVED] = 1,
};

int
sq_prepare_reads(struct sq_ledger *sq)
{
	int i, rc;

	for (i = 0; i < R_COUNT_STMTS; i++) {
		rc = sq_rc(sqlite3_prepare_v3(read_scans[i] ? sq->sdb :
		    sq->rdb, read_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &sq->r[i], NULL));
		if (rc != LEDGER_OK)
			return rc;
	}
	return LEDGER_OK;
}

void
sq_finalize_reads(struct sq_ledger *sq)
{
	int i;

	for (i = 0; i < R_COUNT_STMTS; i++) {
		sqlite3_finalize(sq->r[i]);
		sq->r[i] = NULL;
	}
}

static int
dup_text(sqlite3_stmt *st, int col, char **out)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	*out = strdup(s != NULL ? (const char *)s : "");
	return *out != NULL;
}

static int
copy_serial(sqlite3_stmt *st, int col, struct ledger_serial *s)
{
	int n = sqlite3_column_bytes(st, col);

	if (n < 1 || n > LEDGER_SERIAL_MAX)
		return 0;
	memcpy(s->b, sqlite3_column_blob(st, col), (size_t)n);
	s->len = (size_t)n;
	return 1;
}

static int
copy_der(sqlite3_stmt *st, int col, struct ledger_cert *c)
{
	int n = sqlite3_column_bytes(st, col);

	if (sqlite3_column_type(st, col) == SQLITE_NULL || n <= 0)
		return 1;
	if ((c->der = malloc((size_t)n)) == NULL)
		return 0;
	memcpy(c->der, sqlite3_column_blob(st, col), (size_t)n);
	c->der_len = (size_t)n;
	return 1;
}

int
sq_row_to_cert(sqlite3_stmt *st, struct ledger_cert *c)
{
	int rc = LEDGER_ERR_DB;

	memset(c, 0, sizeof(*c));
	if (!copy_serial(st, 0, &c->serial) ||
	    sqlite3_column_bytes(st, 10) != LEDGER_HASH_LEN)
		goto out;
	rc = LEDGER_ERR_NOMEM;
	if (!dup_text(st, 1, &c->tenant) || !dup_text(st, 2, &c->issuer) ||
	    !dup_text(st, 3, &c->profile) || !dup_text(st, 4, &c->subject) ||
	    !dup_text(st, 5, &c->sans) || !dup_text(st, 6, &c->requester) ||
	    !dup_text(st, 16, &c->authorized_by) || !copy_der(st, 15, c))
		goto out;
	c->not_before = sqlite3_column_int64(st, 7);
	c->not_after = sqlite3_column_int64(st, 8);
	c->created = sqlite3_column_int64(st, 9);
	memcpy(c->tbs_hash, sqlite3_column_blob(st, 10), LEDGER_HASH_LEN);
	c->status = (enum ledger_status)sqlite3_column_int(st, 11);
	c->revoked_at = sqlite3_column_int64(st, 12);
	c->reason = sqlite3_column_type(st, 13) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(st, 13);
	c->der_stored = sqlite3_column_int(st, 14);
	rc = LEDGER_OK;
out:
	if (rc != LEDGER_OK)
		ledger_cert_clear(c);
	return rc;
}

/* Ends st's read transaction and releases its connection's lock. */
static void
done(pthread_mutex_t *lock, sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(lock);
}

int
sq_get(void *state, const char *tenant, const struct ledger_serial *serial,
    struct ledger_cert *out)
{
	struct sq_ledger *sq = state;
	sqlite3_stmt *st = sq->r[R_GET];
	int src, rc;

	pthread_mutex_lock(&sq->rlock);
	sqlite3_bind_blob(st, 1, serial->b, (int)serial->len, SQLITE_STATIC);
	if (tenant != NULL)
		sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		rc = sq_row_to_cert(st, out);
	else if (src == SQLITE_DONE)
		rc = LEDGER_ERR_NOTFOUND;
	else
		rc = sq_rc(src);
	done(&sq->rlock, st);
	return rc;
}

/* Collect every row st yields into a new array. */
static int
collect(sqlite3_stmt *st, struct ledger_cert **certs, size_t *n)
{
	struct ledger_cert *v = NULL, *grown;
	size_t cap = 0, i = 0;
	int src, rc = LEDGER_OK;

	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (i == cap) {
			cap = cap ? cap * 2 : 16;
			grown = reallocarray(v, cap, sizeof(*v));
			if (grown == NULL) {
				rc = LEDGER_ERR_NOMEM;
				goto out;
			}
			v = grown;
		}
		if ((rc = sq_row_to_cert(st, &v[i])) != LEDGER_OK)
			goto out;
		i++;
	}
	rc = sq_rc(src);
out:
	if (rc != LEDGER_OK) {
		ledger_certs_free(v, i);
		v = NULL;
		i = 0;
	}
	*certs = v;
	*n = i;
	return rc;
}

int
sq_list(void *state, const struct ledger_filter *f,
    struct ledger_cert **certs, size_t *n)
{
	struct sq_ledger *sq = state;
	sqlite3_stmt *st = sq->r[R_LIST];
	int rc;

	pthread_mutex_lock(&sq->slock);
	sqlite3_bind_text(st, 1, f->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, f->status);
	sqlite3_bind_int64(st, 3, f->expiring_within);
	sqlite3_bind_int64(st, 4, f->now);
	if (f->match != NULL)
		sqlite3_bind_text(st, 5, f->match, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)f->limit);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)f->offset);
	if (f->authorized_by != NULL)
		sqlite3_bind_text(st, 8, f->authorized_by, -1, SQLITE_STATIC);
	rc = collect(st, certs, n);
	done(&sq->slock, st);
	return rc;
}

int
sq_count(void *state, const char *tenant, struct ledger_counts *out)
{
	struct sq_ledger *sq = state;
	sqlite3_stmt *st = sq->r[R_COUNT];
	int src, status;

	pthread_mutex_lock(&sq->slock);
	if (tenant != NULL)
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		status = sqlite3_column_int(st, 0);
		/* A row per tenant and status (R_COUNT). */
		if (status >= 0 && status < LEDGER_STATUS_COUNT)
			out->n[status] +=
			    (uint64_t)sqlite3_column_int64(st, 1);
	}
	done(&sq->slock, st);
	return sq_rc(src);
}

int
sq_list_revoked(void *state, const char *issuer, int64_t now,
    ledger_revoked_cb cb, void *arg)
{
	struct sq_ledger *sq = state;
	sqlite3_stmt *st = sq->r[R_REVOKED];
	struct ledger_revoked r;
	int src;

	pthread_mutex_lock(&sq->slock);
	sqlite3_bind_text(st, 1, issuer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		if (!copy_serial(st, 0, &r.serial)) {
			src = SQLITE_CORRUPT;
			break;
		}
		r.revoked_at = sqlite3_column_int64(st, 1);
		r.reason = sqlite3_column_int(st, 2);
		r.not_after = sqlite3_column_int64(st, 3);
		if (cb(&r, arg) != 0) {
			src = SQLITE_DONE;
			break;
		}
	}
	done(&sq->slock, st);
	return sq_rc(src);
}

int
sq_list_reserved(void *state, struct ledger_cert **certs, size_t *n)
{
	struct sq_ledger *sq = state;
	sqlite3_stmt *st = sq->r[R_RESERVED];
	int rc;

	pthread_mutex_lock(&sq->slock);
	rc = collect(st, certs, n);
	done(&sq->slock, st);
	return rc;
}

/*
 * The audit chain (issue 19): one bounded window of it (audit_query.c),
 * on the scan lane, so an auditor never waits behind a group commit and
 * a lookup never waits behind the auditor's callbacks.
 */
int
sq_audit_query(void *state, const struct audit_query *q, audit_entry_cb cb,
    void *arg, struct audit_page *page)
{
	struct sq_ledger *sq = state;
	int rc;

	pthread_mutex_lock(&sq->slock);
	rc = ledger_audit_rc(audit_db_query(sq->sdb, q, cb, arg, page));
	pthread_mutex_unlock(&sq->slock);
	return rc;
}
