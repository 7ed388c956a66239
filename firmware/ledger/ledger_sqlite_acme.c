/*
 * ACME state in the SQLite ledger: the tables (migrations 4 and 5) and one SQL
 * statement per enum ledger_acme_stmt.  Writes run inside the group
 * commit's op SAVEPOINT (ledger_sqlite.c), reads on the reader
 * connection.
 *
 * Simplification of this slice (docs/acme.md "The first slice"): an
 * authorization carries its one challenge (http-01) in its own row
 * instead of an acme_challenges table.  A reused authorization (issue
 * 20, acme_authz_reuse) is a valid copy in the new order, not a link.
 * The nonce statements are PostgreSQL's only: one SQLite ledger has one
 * engine, whose nonces stay in its memory (docs/decisions.md).
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include <signet/ledger.h>
#include <signet/ledger_acme.h>

#include "ledger_impl.h"
#include "ledger_sqlite.h"

const char sq_acme_schema[] =
    "CREATE TABLE IF NOT EXISTS acme_eab("
    " kid TEXT PRIMARY KEY, tenant TEXT NOT NULL, profile TEXT NOT NULL,"
    " label TEXT NOT NULL, created INTEGER NOT NULL,"
    " expires INTEGER NOT NULL, used_by TEXT) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS acme_accounts("
    " id TEXT PRIMARY KEY, label TEXT NOT NULL, tenant TEXT NOT NULL,"
    " profile TEXT NOT NULL, thumbprint TEXT NOT NULL, key BLOB NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'valid', contact TEXT NOT NULL,"
    " eab_kid TEXT NOT NULL, created INTEGER NOT NULL,"
    " UNIQUE(label, thumbprint)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS acme_orders("
    " id TEXT PRIMARY KEY, account_id TEXT NOT NULL"
    "  REFERENCES acme_accounts(id),"
    " status TEXT NOT NULL DEFAULT 'pending', identifiers TEXT NOT NULL,"
    " expires INTEGER NOT NULL, cert_serial BLOB, cert BLOB,"
    " error TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS acme_authz("
    " id TEXT PRIMARY KEY, order_id TEXT NOT NULL"
    "  REFERENCES acme_orders(id),"
    " account_id TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending', expires INTEGER NOT NULL,"
    " chall_id TEXT NOT NULL UNIQUE, token TEXT NOT NULL,"
    " chall_status TEXT NOT NULL DEFAULT 'pending',"
    " validated INTEGER NOT NULL DEFAULT 0,"
    " error TEXT NOT NULL DEFAULT '', va_at INTEGER NOT NULL DEFAULT 0)"
    " WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS acme_authz_order ON acme_authz(order_id);"
    "CREATE INDEX IF NOT EXISTS acme_authz_pending ON acme_authz(va_at)"
    " WHERE chall_status = 'processing';";

/*
 * Migrations 5 and 6 add columns; like version 4 they are harmless when
 * run again: a column is added only where it is missing.
 */
static int
sq_acme_add_column(sqlite3 *db, const char *table, const char *column,
    const char *decl)
{
	sqlite3_stmt *st = NULL;
	char sql[192];
	int src, have = 0;

	if ((src = sqlite3_prepare_v2(db, "SELECT count(*) FROM"
	    " pragma_table_info(?1) WHERE name = ?2", -1, &st, NULL)) ==
	    SQLITE_OK && (src = sqlite3_bind_text(st, 1, table, -1,
	    SQLITE_STATIC)) == SQLITE_OK && (src = sqlite3_bind_text(st, 2,
	    column, -1, SQLITE_STATIC)) == SQLITE_OK &&
	    (src = sqlite3_step(st)) == SQLITE_ROW) {
		have = sqlite3_column_int(st, 0) > 0;
		src = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (src != SQLITE_OK || have)
		return src;
	if (snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s",
	    table, column, decl) >= (int)sizeof(sql))
		return SQLITE_TOOBIG;
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/*
 * Version 5: which challenge the client chose (http-01, dns-01,
 * tls-alpn-01).  An authorization offers several challenges that share
 * its one token and state (as Boulder's authz2 rows do); the first one
 * the client answers is the one validated.
 */
int
sq_acme_migrate5(sqlite3 *db)
{
	int src;

	src = sq_acme_add_column(db, "acme_authz", "chall_type",
	    "TEXT NOT NULL DEFAULT 'http-01'");
	return src == SQLITE_OK ? LEDGER_OK : sq_rc(src);
}

/*
 * Version 6 (issue 20): RFC 9773 `replaces` on orders (the replaced
 * certificate's CertID, one text per certificate), and indexes for an
 * account's orders (7.1.2.1) and its authorizations (revokeCert by
 * authorization, 7.6).
 */
static const char sq_acme_v6_index[] =
    "CREATE INDEX IF NOT EXISTS acme_orders_account"
    " ON acme_orders(account_id, created);"
    "CREATE INDEX IF NOT EXISTS acme_orders_replaces"
    " ON acme_orders(replaces) WHERE replaces <> '';"
    "CREATE INDEX IF NOT EXISTS acme_authz_account"
    " ON acme_authz(account_id, value);";

int
sq_acme_migrate6(sqlite3 *db)
{
	int src;

	src = sq_acme_add_column(db, "acme_orders", "replaces",
	    "TEXT NOT NULL DEFAULT ''");
	if (src == SQLITE_OK)
		src = sqlite3_exec(db, sq_acme_v6_index, NULL, NULL, NULL);
	return src == SQLITE_OK ? LEDGER_OK : sq_rc(src);
}

#define AUTHZ_COLS "id, type, value, status, expires, chall_id, token," \
	" chall_status, validated, error, chall_type"

static const char *const acme_sql[LA_STMT_MAX] = {
	[LA_EAB_INSERT] = "INSERT INTO acme_eab(kid, tenant, profile, label,"
	    " created, expires) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	/* policy: an EAB key binds one account, before it expires. */
	[LA_EAB_USE] = "UPDATE acme_eab SET used_by = ?1 WHERE kid = ?2"
	    " AND used_by IS NULL AND (expires = 0 OR expires > ?3)",
	[LA_ACCT_INSERT] = "INSERT INTO acme_accounts(id, label, tenant,"
	    " profile, thumbprint, key, contact, eab_kid, created)"
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	/* policy: a certificate is replaced by one order (RFC 9773 5). */
	[LA_ORDER_INSERT] = "INSERT INTO acme_orders(id, account_id,"
	    " identifiers, expires, created, replaces)"
	    " SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE ?6 = '' OR NOT EXISTS("
	    "  SELECT 1 FROM acme_orders WHERE replaces = ?6"
	    "  AND status <> 'invalid')",
	[LA_AUTHZ_INSERT] = "INSERT INTO acme_authz(id, order_id, account_id,"
	    " type, value, expires, chall_id, token)"
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[LA_CHALL_START] = "UPDATE acme_authz SET chall_status = 'processing',"
	    " va_at = 0, chall_type = ?3 WHERE chall_id = ?1 AND account_id = ?2"
	    " AND chall_status = 'pending' AND status = 'pending'",
	[LA_CHALL_DONE] = "UPDATE acme_authz SET chall_status = ?2,"
	    " status = ?2, validated = ?3, error = ?4"
	    " WHERE chall_id = ?1 AND chall_status = 'processing'",
	[LA_ORDER_STATUS] = "UPDATE acme_orders SET status = ?2, error = ?4"
	    " WHERE id = ?1 AND status = ?3",
	[LA_ORDER_CERT] = "UPDATE acme_orders SET status = 'valid',"
	    " cert_serial = ?2, cert = ?3"
	    " WHERE id = ?1 AND status = 'processing'",
	[LA_VA_TAKE] = "UPDATE acme_authz SET va_at = ?2 WHERE chall_id = ?1"
	    " AND chall_status = 'processing' AND va_at <= ?3",
	[LA_ACCT_STATUS] = "UPDATE acme_accounts SET status = ?2"
	    " WHERE id = ?1 AND status = ?3",
	[LA_ACCT_CONTACT] = "UPDATE acme_accounts SET contact = ?2"
	    " WHERE id = ?1 AND status = 'valid'",
	[LA_ACCT_KEY] = "UPDATE acme_accounts SET thumbprint = ?2, key = ?3"
	    " WHERE id = ?1 AND thumbprint = ?4 AND status = 'valid'",
	[LA_EAB_GET] = "SELECT tenant, profile, label, expires, used_by"
	    " FROM acme_eab WHERE kid = ?1",
	[LA_ACCT_GET] = "SELECT id, tenant, profile, status, key, contact"
	    " FROM acme_accounts WHERE id = ?1 AND label = ?2",
	[LA_ACCT_BY_KEY] = "SELECT id, tenant, profile, status, key, contact"
	    " FROM acme_accounts WHERE label = ?1 AND thumbprint = ?2",
	[LA_ORDER_GET] = "SELECT status, identifiers, expires, error, cert,"
	    " replaces FROM acme_orders WHERE id = ?1 AND account_id = ?2",
	[LA_AUTHZ_OF_ORDER] = "SELECT " AUTHZ_COLS " FROM acme_authz"
	    " WHERE order_id = ?1 ORDER BY value",
	[LA_AUTHZ_GET] = "SELECT " AUTHZ_COLS ", order_id FROM acme_authz"
	    " WHERE id = ?1 AND account_id = ?2",
	[LA_AUTHZ_BY_CHALL] = "SELECT " AUTHZ_COLS ", order_id, account_id,"
	    " (SELECT thumbprint FROM acme_accounts"
	    "  WHERE acme_accounts.id = acme_authz.account_id)"
	    " FROM acme_authz WHERE chall_id = ?1",
	[LA_VA_PENDING] = "SELECT chall_id FROM acme_authz"
	    " WHERE chall_status = 'processing' AND va_at <= ?1 LIMIT 1",
	[LA_ORDERS_OF_ACCT] = "SELECT id FROM acme_orders"
	    " WHERE account_id = ?1 AND status <> 'invalid'"
	    " AND (status = 'valid' OR expires > ?2)"
	    " ORDER BY created DESC, id LIMIT ?3",
	[LA_AUTHZ_VALID] = "SELECT id FROM acme_authz WHERE account_id = ?1"
	    " AND type = ?2 AND value = ?3 AND status = 'valid'"
	    " AND expires > ?4 LIMIT 1",
	/* issue 20: authorization reuse within acme_authz_reuse. */
	[LA_AUTHZ_REUSE] = "INSERT INTO acme_authz(id, order_id, account_id,"
	    " type, value, status, expires, chall_id, token, chall_status,"
	    " validated, chall_type) SELECT ?1, ?2, account_id, type, value,"
	    " 'valid', ?5, ?3, token, 'valid', validated, chall_type"
	    " FROM acme_authz WHERE id = ?4 AND status = 'valid'",
	[LA_AUTHZ_REUSABLE] = "SELECT id, validated FROM acme_authz"
	    " WHERE account_id = ?1 AND type = ?2 AND value = ?3"
	    " AND status = 'valid' AND validated >= ?4 AND validated > 0"
	    " ORDER BY validated DESC LIMIT 1",
};

static void
bind_vals(sqlite3_stmt *st, const struct ledger_val *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (v[i].type) {
		case LV_INT:
			sqlite3_bind_int64(st, (int)i + 1, v[i].i);
			break;
		case LV_TEXT:
			sqlite3_bind_text(st, (int)i + 1, v[i].s, -1,
			    SQLITE_STATIC);
			break;
		case LV_BLOB:
			sqlite3_bind_blob(st, (int)i + 1, v[i].b, (int)v[i].len,
			    SQLITE_STATIC);
			break;
		case LV_NULL:
			sqlite3_bind_null(st, (int)i + 1);
			break;
		}
	}
}

static int
apply_one(sqlite3 *db, const struct ledger_acme_step *s)
{
	sqlite3_stmt *st = NULL;
	int src;

	if (acme_sql[s->stmt] == NULL)
		return LEDGER_ERR_ARG;	/* a shared ledger's statement */
	if ((src = sqlite3_prepare_v2(db, acme_sql[s->stmt], -1, &st,
	    NULL)) != SQLITE_OK) {
		sqlite3_finalize(st);
		return sq_rc(src);
	}
	bind_vals(st, s->v, s->n);
	src = sqlite3_step(st);
	sqlite3_finalize(st);
	if (src != SQLITE_DONE)
		return sq_rc(src);
	if (s->one && sqlite3_changes(db) != 1)
		return LEDGER_ERR_STATE;
	return LEDGER_OK;
}

int
sq_acme_apply(sqlite3 *db, const struct ledger_acme_step *steps, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = apply_one(db, &steps[i])) != LEDGER_OK)
			return rc;
	return LEDGER_OK;
}

int
sq_acme_read(void *state, enum ledger_acme_stmt stmt,
    const struct ledger_val *args, size_t nargs, ledger_acme_cb cb, void *arg)
{
	struct sq_ledger *sq = state;
	struct ledger_val cols[LEDGER_ACME_MAX_VALS];
	sqlite3_stmt *st = NULL;
	int src, i, ncols;

	if (acme_sql[stmt] == NULL)
		return LEDGER_ERR_ARG;	/* a shared ledger's statement */
	pthread_mutex_lock(&sq->rlock);
	if ((src = sqlite3_prepare_v2(sq->rdb, acme_sql[stmt], -1, &st,
	    NULL)) != SQLITE_OK)
		goto out;
	bind_vals(st, args, nargs);
	ncols = sqlite3_column_count(st);
	if (ncols > LEDGER_ACME_MAX_VALS)
		ncols = LEDGER_ACME_MAX_VALS;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		memset(cols, 0, sizeof(cols));
		for (i = 0; i < ncols; i++) {
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				cols[i] = ledger_vi(sqlite3_column_int64(st,
				    i));
				break;
			case SQLITE_TEXT:
				cols[i] = ledger_vt((const char *)
				    sqlite3_column_text(st, i));
				break;
			case SQLITE_BLOB:
				cols[i].type = LV_BLOB;
				cols[i].b = sqlite3_column_blob(st, i);
				cols[i].len = (size_t)sqlite3_column_bytes(st,
				    i);
				break;
			default:
				break;
			}
		}
		if (cb(cols, (size_t)ncols, arg) != 0) {
			src = SQLITE_DONE;
			break;
		}
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&sq->rlock);
	return sq_rc(src);
}
