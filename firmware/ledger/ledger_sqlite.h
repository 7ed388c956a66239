/* Internal to the SQLite backend: shared by ledger_sqlite*.c only. */
#ifndef SIGNET_LEDGER_SQLITE_H
#define SIGNET_LEDGER_SQLITE_H

#include <pthread.h>

#include <sqlite3.h>

#include <signet/audit_sqlite.h>
#include <signet/ledger.h>
#include <signet/ledger_acme.h>
#include <signet/ledger_notify.h>

#include "ledger_gc.h"

/* The columns of a certificate row, in the order sq_row_to_cert reads. */
#define SQ_CERT_COLUMNS "serial, tenant, issuer, profile, subject, sans," \
	" requester, not_before, not_after, created, tbs_hash, status," \
	" revoked_at, reason, der_stored, der, authorized_by"
/* An enrollment token's row, as the reader's token lookups return it. */
#define SQ_TOKEN_COLUMNS "id, tenant, profile, names, created, expires," \
	" uses_left, hash"

/*
 * The reader's statements, prepared once: the point reads (R_GET, the
 * token lookups) on the point reader (rdb), the rest O(rows) on the scan
 * lane (sdb), so a lookup never waits behind a scan.
 */
enum sq_read_stmt {
	R_GET,
	R_LIST,
	R_COUNT,
	R_REVOKED,
	R_RESERVED,
	R_TOKEN_BY_HASH,	/* enroll_tokens, columns SQ_TOKEN_COLUMNS */
	R_TOKEN_BY_ID,
	R_COUNT_STMTS
};

/* gc must stay first: the shared write ops take the state as it. */
struct sq_ledger {
	struct ledger_gc	 gc;
	sqlite3			*wdb;	/* writer: group-commit leader */
	sqlite3			*rdb;	/* point reads: under rlock */
	pthread_mutex_t		 rlock;
	sqlite3			*sdb;	/* scans (the scan lane): slock */
	pthread_mutex_t		 slock;
	sqlite3_stmt		**w;
	sqlite3_stmt		*r[R_COUNT_STMTS];
	struct audit_db		*adb;
	int			 gc_ready;
	int			 lazy;	/* the writer runs synchronous=NORMAL */
};

/* Map a SQLite result code to a ledger_rc. */
int	sq_rc(int sqlite_rc);
/* The scan lane's page cache for a connection cache of cache_kib. */
int	sq_scan_cache_kib(int cache_kib);
/* Prepare the readers' statements, each on its own connection. */
int	sq_prepare_reads(struct sq_ledger *sq);
void	sq_finalize_reads(struct sq_ledger *sq);
/* Fill c from the current row of st (columns SQ_CERT_COLUMNS). */
int	sq_row_to_cert(sqlite3_stmt *st, struct ledger_cert *c);

int	sq_get(void *state, const char *tenant,
	    const struct ledger_serial *serial, struct ledger_cert *out);
int	sq_list(void *state, const struct ledger_filter *f,
	    struct ledger_cert **certs, size_t *n);
int	sq_count(void *state, const char *tenant, struct ledger_counts *out);
int	sq_list_revoked(void *state, const char *issuer, int64_t now,
	    ledger_revoked_cb cb, void *arg);
int	sq_list_reserved(void *state, struct ledger_cert **certs, size_t *n);
/* The audit chain on the scan lane (issue 19, ledger_sqlite_read.c). */
int	sq_audit_query(void *state, const struct audit_query *q,
	    audit_entry_cb cb, void *arg, struct audit_page *page);

/* Enrollment tokens (ledger_sqlite_tokens.c); writes on the writer. */
int	sq_tokens_install(sqlite3 *db);
int	sq_token_insert(sqlite3 *db, const struct ledger_token *t);
int	sq_token_consume(sqlite3 *db, const struct ledger_intent *in,
	    const uint8_t *hash, int64_t now);
int	sq_token_get(void *state, const uint8_t *hash,
	    struct ledger_token *out);
int	sq_token_get_id(void *state, const char *id,
	    struct ledger_token *out);

/* ACME state (ledger_sqlite_acme.c); the write runs inside an op. */
extern const char sq_acme_schema[];
int	sq_acme_migrate5(sqlite3 *db);
int	sq_acme_migrate6(sqlite3 *db);
int	sq_acme_apply(sqlite3 *db, const struct ledger_acme_step *steps,
	    size_t n);
int	sq_acme_read(void *state, enum ledger_acme_stmt stmt,
	    const struct ledger_val *args, size_t nargs, ledger_acme_cb cb,
	    void *arg);

/* Expiry notifications (ledger_sqlite_notify.c); writes inside an op. */
extern const char sq_notify_schema[];
int	sq_notify_apply(sqlite3 *db, struct ledger_notify_op *op);
int	sq_notify_expiring(void *state, const char *tenant,
	    const char *profile, int64_t secs, int permille, int64_t now,
	    uint64_t *n);
int	sq_notify_counts(void *state, struct ledger_notify_counts *out);

/* ACME rate limits (ledger_sqlite_acme_limit.c); take/give in an op. */
extern const char sq_acme_limit_schema[];
int	sq_acme_limit_apply(sqlite3 *db, struct ledger_acme_limit *lim);
int	sq_acme_limit(void *state, struct ledger_acme_limit *lim);

#endif
