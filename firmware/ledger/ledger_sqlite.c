/*
 * The SQLite ledger backend: schema and migrations, and every write,
 * through group commit (ledger_gc.c).  Reads are in ledger_sqlite_read.c.
 *
 * Durability: WAL with synchronous=FULL, so COMMIT returns after the
 * write-ahead log is fsync'd; a batch of operations shares that fsync.
 * Each operation runs inside its own SAVEPOINT, so a duplicate serial
 * undoes only that operation and the rest of the batch commits.
 */
#include <limits.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/mman.h>

#include <sqlite3.h>

#include <signet/audit_sqlite.h>
#include <signet/ledger.h>
#include <signet/ledger_backend.h>

#include "ledger_impl.h"
#include "ledger_sqlite.h"

#define BUSY_TIMEOUT_MS 10000

/* Version 1: certificates and counters. */
static const char schema_v1[] =
    "CREATE TABLE certs("
    " id INTEGER PRIMARY KEY,"
    " serial BLOB NOT NULL UNIQUE"
    "  CHECK(length(serial) BETWEEN 1 AND 20),"
    " tenant TEXT NOT NULL, issuer TEXT NOT NULL, profile TEXT NOT NULL,"
    " subject TEXT NOT NULL, sans TEXT NOT NULL, requester TEXT NOT NULL,"
    " not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
    " created INTEGER NOT NULL,"
    " tbs_hash BLOB NOT NULL CHECK(length(tbs_hash) = 32),"
    " status INTEGER NOT NULL CHECK(status BETWEEN 0 AND 3),"
    " revoked_at INTEGER, reason INTEGER,"
    " der_stored INTEGER NOT NULL, der BLOB);"
    "CREATE INDEX certs_tenant ON certs(tenant, status, not_after);"
    "CREATE INDEX certs_revoked ON certs(issuer, not_after)"
    " WHERE status = 2;"
    "CREATE INDEX certs_reserved ON certs(id) WHERE status = 0;"
    "CREATE TABLE counters(name TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL) WITHOUT ROWID;";

/* Version 2: the audit chain, so a row and its record share a commit. */
static int
migrate_audit(sqlite3 *db)
{
	return ledger_audit_rc(audit_db_install(db));
}

/*
 * Version 3: which credential authorised each issuance (issue 13).  Rows
 * issued before it keep their data and read as "" (not recorded).
 */
static const char schema_v3[] =
    "ALTER TABLE certs ADD COLUMN authorized_by TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX certs_authorized_by ON certs(tenant, authorized_by);";

/* Applied in order; user_version is the number applied so far. */
static const struct migration {
	const char	*sql;
	int		(*fn)(sqlite3 *db);
} migrations[] = {
	{ schema_v1, NULL },
	{ NULL, migrate_audit },
	{ schema_v3, NULL },
	/* Version 4: ACME accounts, orders, authorizations (issue 20). */
	{ sq_acme_schema, NULL },
	/* Version 5: the ACME challenge type chosen (issue 20). */
	{ NULL, sq_acme_migrate5 },
	/* Version 6: ACME replaces (RFC 9773), order indexes (issue 20). */
	{ NULL, sq_acme_migrate6 },
	/* Version 7: the expiry notification queue (issue 19, notify). */
	{ sq_notify_schema, NULL },
	/* Version 8: ACME rate limits, shared and kept (issue 20). */
	{ sq_acme_limit_schema, NULL },
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

enum {
	W_BEGIN,
	W_COMMIT,
	W_ROLLBACK,
	W_SAVE,
	W_RELEASE,
	W_UNDO,
	W_RESERVE,
	W_TRANSITION,
	W_PROBE,
	W_COUNTER,
	W_TIDY_CERTS,
	W_TIDY_TOKENS,
	W_COUNT_STMTS
};

static const char *const write_sql[W_COUNT_STMTS] = {
	[W_BEGIN] = "BEGIN IMMEDIATE",
	[W_COMMIT] = "COMMIT",
	[W_ROLLBACK] = "ROLLBACK",
	[W_SAVE] = "SAVEPOINT op",
	[W_RELEASE] = "RELEASE op",
	[W_UNDO] = "ROLLBACK TO op",
	[W_RESERVE] = "INSERT INTO certs(serial, tenant, issuer, profile,"
	    " subject, sans, requester, not_before, not_after, created,"
	    " tbs_hash, status, der_stored, authorized_by)"
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, ?12,"
	    " ?13)",
	[W_TRANSITION] = "UPDATE certs SET status = ?1,"
	    " der = CASE WHEN ?2 IS NULL THEN der WHEN der_stored THEN ?2"
	    " ELSE NULL END,"
	    " revoked_at = coalesce(?3, revoked_at),"
	    " reason = coalesce(?4, reason)"
	    " WHERE serial = ?5 AND (?6 IS NULL OR tenant = ?6)"
	    " AND ((1 << status) & ?7) != 0"
	    " AND (?8 IS NULL OR tbs_hash = ?8)",
	[W_PROBE] = "SELECT tenant, status FROM certs WHERE serial = ?1",
	[W_COUNTER] = "INSERT INTO counters(name, value) VALUES(?1, 1)"
	    " ON CONFLICT(name) DO UPDATE SET value = value + 1"
	    " RETURNING value",
	/*
	 * Tidy (issue 19): through the indexes certs_tenant and the token
	 * indexes of ledger_sqlite_tokens.c, at most ?3 rows a table.
	 */
	[W_TIDY_CERTS] = "DELETE FROM certs WHERE id IN (SELECT id FROM certs"
	    " WHERE tenant = ?1 AND status IN (1, 2, 3) AND not_after <= ?2"
	    " LIMIT ?3)",
	[W_TIDY_TOKENS] = "DELETE FROM enroll_tokens WHERE id IN ("
	    "SELECT id FROM enroll_tokens WHERE tenant = ?1 AND expires <= ?2"
	    " UNION ALL SELECT id FROM enroll_tokens WHERE tenant = ?1"
	    " AND uses_left = 0 AND created <= ?2 LIMIT ?3)",
};

int
sq_rc(int src)
{
	switch (src & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return LEDGER_OK;
	case SQLITE_CONSTRAINT:
		if (src == SQLITE_CONSTRAINT_UNIQUE ||
		    src == SQLITE_CONSTRAINT_PRIMARYKEY)
			return LEDGER_ERR_DUPLICATE;
		return LEDGER_ERR_ARG;
	case SQLITE_FULL:
		return LEDGER_ERR_FULL;
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return LEDGER_ERR_IO;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return LEDGER_ERR_BUSY;
	case SQLITE_NOMEM:
		return LEDGER_ERR_NOMEM;
	default:
		return LEDGER_ERR_DB;
	}
}

/* Step a statement that returns no row we need, and reset it. */
static int
run(sqlite3_stmt *st)
{
	int src = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return sq_rc(src);
}

static int
exec(sqlite3 *db, const char *sql)
{
	return sq_rc(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static int
wal_cb(void *arg, int ncol, char **val, char **name)
{
	*(int *)arg = ncol == 1 && val[0] != NULL &&
	    strcasecmp(val[0], "wal") == 0;
	return 0;
}

/*
 * cache_kib: the connection's page cache budget, explicit rather than
 * SQLite's compiled-in default (DESIGN rule 10); the cache fills to it as
 * the ledger grows and stays there (docs/decisions.md, the soak).
 */
static int
open_conn(const char *path, int flags, int busy_ms, int cache_kib,
    sqlite3 **out)
{
	sqlite3 *db = NULL;
	char sql[64];
	int wal = 0, rc;

	rc = sq_rc(sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX,
	    NULL));
	if (rc != LEDGER_OK)
		goto out;
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, busy_ms);
	/* A file we may not write is a ledger we must not run on. */
	if (sqlite3_db_readonly(db, "main") != 0) {
		rc = LEDGER_ERR_IO;
		goto out;
	}
	rc = sq_rc(sqlite3_exec(db, "PRAGMA journal_mode=WAL", wal_cb, &wal,
	    NULL));
	if (rc == LEDGER_OK && !wal)
		rc = LEDGER_ERR_IO;
	if (rc != LEDGER_OK ||
	    (rc = exec(db, "PRAGMA synchronous=FULL")) != LEDGER_OK ||
	    (rc = exec(db, "PRAGMA foreign_keys=ON")) != LEDGER_OK)
		goto out;
	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", cache_kib);
	if ((rc = exec(db, sql)) != LEDGER_OK)
		goto out;
	*out = db;
	db = NULL;
out:
	sqlite3_close(db);
	return rc;
}

/*
 * The scan lane's page cache: a quarter of cache_kib, at least 64 KiB
 * (never more than cache_kib).  A scan streams once through an index's
 * pages, and WAL mode empties the connection's cache at its next read
 * transaction after any write, so with issuance going on a full cache
 * would be refilled from the OS's file cache at each scan anyway: it
 * would only hold memory.  The pages a scan pins at once (a b-tree's
 * path) fit 64 KiB; a sort larger than the cache spills to a file.
 */
#define SCAN_CACHE_MIN_KIB	64

int
sq_scan_cache_kib(int cache_kib)
{
	int kib = cache_kib / 4;

	if (kib < SCAN_CACHE_MIN_KIB)
		kib = SCAN_CACHE_MIN_KIB;
	return kib < cache_kib ? kib : cache_kib;
}

/*
 * The page buffer's slots hold one page of SQLite's default size (the
 * ledger never changes page_size) and its cache header; each connection's
 * cache_size=-N is N KiB of such slots, and a few more cover what a cache
 * holds beyond its size for a moment (pages pinned by a statement, the
 * temporary b-trees of a sort).  The ledger's connections: the writer and
 * the point reader with cache_kib each, the scan lane with its share.
 */
#define RESERVE_PAGE		4096
#define RESERVE_SLACK_PAGES	64

static size_t
reserve_pages(int kib)
{
	return ((size_t)kib * 1024 + RESERVE_PAGE - 1) / RESERVE_PAGE;
}

int
ledger_sqlite_reserve_cache(int cache_kib, size_t *bytes)
{
	static void *block;
	size_t slot, n;
	int hdr = 0;

	*bytes = 0;
	if (cache_kib <= 0)
		return LEDGER_ERR_ARG;
	if (block != NULL)
		return LEDGER_ERR_STATE;
	if (sqlite3_config(SQLITE_CONFIG_PCACHE_HDRSZ, &hdr) != SQLITE_OK ||
	    hdr <= 0)
		return LEDGER_ERR_STATE;
	slot = RESERVE_PAGE + (size_t)hdr;
	slot = (slot + 15) & ~(size_t)15;
	n = 2 * reserve_pages(cache_kib) +
	    reserve_pages(sq_scan_cache_kib(cache_kib)) + RESERVE_SLACK_PAGES;
	if (n > (size_t)INT_MAX)
		return LEDGER_ERR_ARG;
	/* Touched now (MAP_POPULATE): resident from the start, by design. */
	block = mmap(NULL, n * slot, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (block == MAP_FAILED) {
		block = NULL;
		return LEDGER_ERR_NOMEM;
	}
	/* SQLITE_MISUSE once SQLite has been initialized. */
	if (sqlite3_config(SQLITE_CONFIG_PAGECACHE, block, (int)slot,
	    (int)n) != SQLITE_OK) {
		munmap(block, n * slot);
		block = NULL;
		return LEDGER_ERR_STATE;
	}
	*bytes = n * slot;
	return LEDGER_OK;
}

static int
user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st = NULL;
	int src;

	*v = 0;
	src = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return sq_rc(src);
}

/* Bring the schema up to date in one transaction; refuse a newer one. */
static int
migrate(sqlite3 *db)
{
	char sql[64];
	int v, rc;

	if ((rc = exec(db, "BEGIN IMMEDIATE")) != LEDGER_OK)
		return rc;
	if ((rc = user_version(db, &v)) != LEDGER_OK)
		goto out;
	if (v > NMIGRATIONS) {
		rc = LEDGER_ERR_SCHEMA;
		goto out;
	}
	for (; v < NMIGRATIONS; v++) {
		if (migrations[v].sql != NULL)
			rc = exec(db, migrations[v].sql);
		else
			rc = migrations[v].fn(db);
		if (rc != LEDGER_OK)
			goto out;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", NMIGRATIONS);
	if ((rc = exec(db, sql)) != LEDGER_OK)
		goto out;
	rc = exec(db, "COMMIT");
out:
	if (rc != LEDGER_OK)
		exec(db, "ROLLBACK");
	return rc;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s != NULL ? s : "", -1, SQLITE_STATIC);
}

static int
do_reserve(struct sq_ledger *sq, const struct ledger_intent *in)
{
	sqlite3_stmt *st = sq->w[W_RESERVE];

	sqlite3_bind_blob(st, 1, in->serial.b, (int)in->serial.len,
	    SQLITE_STATIC);
	bind_text(st, 2, in->tenant);
	bind_text(st, 3, in->issuer);
	bind_text(st, 4, in->profile);
	bind_text(st, 5, in->subject);
	bind_text(st, 6, in->sans);
	bind_text(st, 7, in->requester);
	sqlite3_bind_int64(st, 8, in->not_before);
	sqlite3_bind_int64(st, 9, in->not_after);
	sqlite3_bind_int64(st, 10, in->created != 0 ? in->created :
	    ledger_now());
	sqlite3_bind_blob(st, 11, in->tbs_hash, LEDGER_HASH_LEN,
	    SQLITE_STATIC);
	sqlite3_bind_int(st, 12, in->store_der != 0);
	bind_text(st, 13, in->authorized_by);
	return run(st);
}

/* Why did the transition change nothing? */
static int
probe(struct sq_ledger *sq, const struct ledger_transition *t)
{
	sqlite3_stmt *st = sq->w[W_PROBE];
	const char *tenant;
	int src, rc = LEDGER_ERR_NOTFOUND;

	sqlite3_bind_blob(st, 1, t->serial->b, (int)t->serial->len,
	    SQLITE_STATIC);
	if ((src = sqlite3_step(st)) != SQLITE_ROW) {
		if (src != SQLITE_DONE)
			rc = sq_rc(src);
		goto out;
	}
	tenant = (const char *)sqlite3_column_text(st, 0);
	/* policy: another tenant's serial looks exactly like no serial. */
	if (t->tenant != NULL && (tenant == NULL || strcmp(tenant, t->tenant)))
		goto out;
	if (((1u << sqlite3_column_int(st, 1)) & t->from_mask) == 0)
		rc = LEDGER_ERR_STATE;
	else
		rc = LEDGER_ERR_MISMATCH;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int
do_transition(struct sq_ledger *sq, const struct ledger_transition *t,
    const struct audit_record *audit)
{
	sqlite3_stmt *st = sq->w[W_TRANSITION];
	int rc;

	sqlite3_bind_int(st, 1, (int)t->to);
	if (t->der != NULL)
		sqlite3_bind_blob(st, 2, t->der, (int)t->der_len,
		    SQLITE_STATIC);
	if (t->to == LEDGER_REVOKED) {
		sqlite3_bind_int64(st, 3, t->revoked_at);
		sqlite3_bind_int(st, 4, t->reason);
	}
	sqlite3_bind_blob(st, 5, t->serial->b, (int)t->serial->len,
	    SQLITE_STATIC);
	if (t->tenant != NULL)
		bind_text(st, 6, t->tenant);
	sqlite3_bind_int(st, 7, (int)t->from_mask);
	if (t->tbs_hash != NULL)
		sqlite3_bind_blob(st, 8, t->tbs_hash, LEDGER_HASH_LEN,
		    SQLITE_STATIC);
	if ((rc = run(st)) != LEDGER_OK)
		return rc;
	if (sqlite3_changes(sq->wdb) != 1)
		return probe(sq, t);
	if (audit == NULL)
		return LEDGER_OK;
	return ledger_audit_rc(audit_db_append(sq->adb, audit, NULL));
}

static int
do_counter(struct sq_ledger *sq, const char *name, uint64_t *out)
{
	sqlite3_stmt *st = sq->w[W_COUNTER];
	int src;

	bind_text(st, 1, name);
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return src == SQLITE_ROW ? LEDGER_OK : sq_rc(src);
}

/* One tidy batch: expired certificates, then spent or expired tokens. */
static int
do_tidy(struct sq_ledger *sq, struct gc_op *op)
{
	static const int w[2] = { W_TIDY_CERTS, W_TIDY_TOKENS };
	uint64_t *n[2] = { &op->out, &op->out2 };
	sqlite3_stmt *st;
	int i, rc;

	for (i = 0; i < 2; i++) {
		st = sq->w[w[i]];
		bind_text(st, 1, op->name);
		sqlite3_bind_int64(st, 2, op->now);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)op->limit);
		if ((rc = run(st)) != LEDGER_OK)
			return rc;
		*n[i] = (uint64_t)sqlite3_changes(sq->wdb);
	}
	return LEDGER_OK;
}

/* The apply step of one op, inside its SAVEPOINT. */
static int
do_op(struct sq_ledger *sq, struct gc_op *op)
{
	int rc;

	switch (op->kind) {
	case GC_RESERVE:
		return do_reserve(sq, op->in);
	case GC_TRANSITION:
		return do_transition(sq, op->t, op->audit);
	case GC_AUDIT:
		return ledger_audit_rc(audit_db_append(sq->adb, op->audit,
		    &op->out));
	case GC_CHECKPOINT:
		return ledger_audit_rc(audit_db_checkpoint(sq->adb));
	case GC_COUNTER:
		return do_counter(sq, op->name, &op->out);
	case GC_TOKEN_CREATE:
		if ((rc = sq_token_insert(sq->wdb, op->tok)) != LEDGER_OK)
			return rc;
		return ledger_audit_rc(audit_db_append(sq->adb, op->audit,
		    NULL));
	case GC_RESERVE_TOKEN:
		/* One SAVEPOINT: the use and the reservation, or neither. */
		if ((rc = sq_token_consume(sq->wdb, op->in, op->hash,
		    op->now)) != LEDGER_OK)
			return rc;
		return do_reserve(sq, op->in);
	case GC_ACME:
		if ((rc = sq_acme_apply(sq->wdb, op->steps, op->nsteps)) !=
		    LEDGER_OK || op->audit == NULL)
			return rc;
		return ledger_audit_rc(audit_db_append(sq->adb, op->audit,
		    NULL));
	case GC_TIDY:
		return do_tidy(sq, op);
	case GC_NOTIFY:
		return sq_notify_apply(sq->wdb, op->notify);
	case GC_ACME_LIMIT:
		return sq_acme_limit_apply(sq->wdb, op->lim);
	}
	return LEDGER_ERR_ARG;
}

_Static_assert(offsetof(struct sq_ledger, gc) == 0,
    "the shared write ops take the state as its struct ledger_gc");

/* Group-commit hooks (ledger_gc.h). */
static int
gc_begin(void *arg)
{
	struct sq_ledger *sq = arg;

	/* Checkpoints of a batch that never committed are not exported. */
	audit_db_rolledback(sq->adb);
	return run(sq->w[W_BEGIN]);
}

static int
gc_apply(void *arg, struct gc_op *gop)
{
	struct sq_ledger *sq = arg;
	int rc;

	if ((rc = run(sq->w[W_SAVE])) != LEDGER_OK)
		return rc;
	if ((rc = do_op(sq, gop)) != LEDGER_OK)
		run(sq->w[W_UNDO]);
	run(sq->w[W_RELEASE]);
	return rc;
}

static int
gc_alive(void *arg)
{
	struct sq_ledger *sq = arg;

	return sqlite3_get_autocommit(sq->wdb) == 0;
}

static int
gc_commit(void *arg)
{
	struct sq_ledger *sq = arg;
	int rc;

	if ((rc = run(sq->w[W_COMMIT])) == LEDGER_OK)
		audit_db_committed(sq->adb);
	return rc;
}

static void
gc_rollback(void *arg)
{
	struct sq_ledger *sq = arg;

	audit_db_rolledback(sq->adb);
	if (sqlite3_get_autocommit(sq->wdb) == 0)
		run(sq->w[W_ROLLBACK]);
}

/*
 * A batch of reservations only commits without syncing the WAL
 * (synchronous=NORMAL): it survives the engine's crash (the WAL is in
 * the kernel's cache), and a power loss can lose it only together with
 * every later transaction, because the next durable COMMIT syncs the
 * whole log up to itself.  So a certificate's commit, and the answer that
 * follows it, is durable with its reservation.  Only the main database:
 * reservations write no audit record.
 */
static int
gc_durable(void *arg, int on)
{
	struct sq_ledger *sq = arg;
	int rc;

	if (sq->lazy == !on)
		return LEDGER_OK;
	rc = exec(sq->wdb, on ? "PRAGMA main.synchronous=FULL" :
	    "PRAGMA main.synchronous=NORMAL");
	if (rc == LEDGER_OK)
		sq->lazy = !on;
	return rc;
}

static const struct gc_hooks sq_hooks = {
	gc_begin, gc_apply, gc_alive, gc_commit, gc_rollback, gc_durable,
};

static void
sq_close(void *state)
{
	struct sq_ledger *sq = state;
	int i;

	if (sq == NULL)
		return;
	if (sq->gc_ready)
		ledger_gc_destroy(&sq->gc);
	audit_db_detach(sq->adb);
	sq_finalize_reads(sq);
	for (i = 0; sq->w != NULL && i < W_COUNT_STMTS; i++)
		sqlite3_finalize(sq->w[i]);
	free(sq->w);
	sqlite3_close(sq->sdb);
	sqlite3_close(sq->rdb);
	sqlite3_close(sq->wdb);
	pthread_mutex_destroy(&sq->slock);
	pthread_mutex_destroy(&sq->rlock);
	free(sq);
}

static int
prepare_writes(struct sq_ledger *sq)
{
	int i, rc;

	if ((sq->w = calloc(W_COUNT_STMTS, sizeof(*sq->w))) == NULL)
		return LEDGER_ERR_NOMEM;
	for (i = 0; i < W_COUNT_STMTS; i++) {
		rc = sq_rc(sqlite3_prepare_v3(sq->wdb, write_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &sq->w[i], NULL));
		if (rc != LEDGER_OK)
			return rc;
	}
	return LEDGER_OK;
}

/* A read connection (point reads, or the scan lane): it cannot write. */
static int
open_reader(const char *path, int busy, int cache_kib, sqlite3 **out)
{
	int rc;

	if ((rc = open_conn(path, SQLITE_OPEN_READWRITE, busy, cache_kib,
	    out)) != LEDGER_OK)
		return rc;
	return exec(*out, "PRAGMA query_only=ON");
}

static int
sq_open(const char *path, const struct ledger_config *cfg, void **state)
{
	struct sq_ledger *sq = NULL;
	struct audit_config acfg;
	int busy, cache, rc = LEDGER_ERR_NOMEM;

	memset(&acfg, 0, sizeof(acfg));
	if (cfg != NULL)
		acfg = cfg->audit;
	busy = cfg != NULL && cfg->busy_timeout_ms > 0 ?
	    cfg->busy_timeout_ms : BUSY_TIMEOUT_MS;
	cache = cfg != NULL && cfg->cache_kib > 0 ? cfg->cache_kib :
	    LEDGER_SQLITE_CACHE_KIB;
	if ((sq = calloc(1, sizeof(*sq))) == NULL)
		return LEDGER_ERR_NOMEM;
	if (pthread_mutex_init(&sq->rlock, NULL) != 0) {
		free(sq);
		return LEDGER_ERR_NOMEM;
	}
	if (pthread_mutex_init(&sq->slock, NULL) != 0) {
		pthread_mutex_destroy(&sq->rlock);
		free(sq);
		return LEDGER_ERR_NOMEM;
	}
	rc = open_conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, busy,
	    cache, &sq->wdb);
	if (rc != LEDGER_OK || (rc = migrate(sq->wdb)) != LEDGER_OK ||
	    (rc = sq_tokens_install(sq->wdb)) != LEDGER_OK)
		goto out;
	if ((rc = open_reader(path, busy, cache, &sq->rdb)) != LEDGER_OK ||
	    (rc = open_reader(path, busy, sq_scan_cache_kib(cache),
	    &sq->sdb)) != LEDGER_OK)
		goto out;
	if ((rc = prepare_writes(sq)) != LEDGER_OK ||
	    (rc = sq_prepare_reads(sq)) != LEDGER_OK)
		goto out;
	rc = ledger_audit_rc(audit_db_attach(sq->wdb, &acfg, &sq->adb));
	if (rc != LEDGER_OK)
		goto out;
	if (ledger_gc_init(&sq->gc, &sq_hooks, sq,
	    cfg != NULL && cfg->no_group_commit) != 0) {
		rc = LEDGER_ERR_NOMEM;
		goto out;
	}
	sq->gc_ready = 1;
	*state = sq;
	sq = NULL;
out:
	sq_close(sq);
	return rc;
}

/* Group-commit counters, and SQLite's heap in this process (all its
 * connections: the ledger's three and any other). */
static void
sq_stats(void *state, struct ledger_stats *out)
{
	sqlite3_int64 cur = 0, hi = 0;

	ledger_gc_stats(state, out);
	if (sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &cur, &hi, 0) ==
	    SQLITE_OK && cur > 0)
		out->sqlite_mem = (uint64_t)cur;
}

const struct ledger_backend ledger_backend_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.reserve = ledger_gc_reserve,
	.transition = ledger_gc_transition,
	.audit = ledger_gc_audit,
	.checkpoint = ledger_gc_checkpoint,
	.audit_query = sq_audit_query,
	.next_counter = ledger_gc_next_counter,
	.get = sq_get,
	.list = sq_list,
	.count = sq_count,
	.list_revoked = sq_list_revoked,
	.list_reserved = sq_list_reserved,
	.stats = sq_stats,
	.token_create = ledger_gc_token_create,
	.token_get = sq_token_get,
	.token_get_id = sq_token_get_id,
	.reserve_token = ledger_gc_reserve_token,
	.acme_write = ledger_gc_acme,
	.acme_read = sq_acme_read,
	.tidy = ledger_gc_tidy,
	.notify = ledger_gc_notify,
	.notify_expiring = sq_notify_expiring,
	.notify_counts = sq_notify_counts,
	.acme_limit = sq_acme_limit,
};
