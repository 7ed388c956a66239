/* Internal to the PostgreSQL backend: shared by ledger_pgsql*.c only. */
#ifndef SIGNET_LEDGER_PGSQL_H
#define SIGNET_LEDGER_PGSQL_H

#include <pthread.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <signet/audit_pgsql.h>
#include <signet/ledger.h>
#include <signet/ledger_acme.h>
#include <signet/pgutil.h>

#include "ledger_gc.h"

#define PG_NODE_MAX	63	/* bytes of a node id */
#define PG_MAX_KW	40	/* connection keywords, ours and the user's */
#define PG_READERS	4	/* reader connections per ledger */

/* The columns of a certificate row, in the order pg_row_to_cert reads. */
#define PG_CERT_COLUMNS "serial, tenant, issuer, profile, subject, sans," \
	" requester, not_before, not_after, created, tbs_hash, status," \
	" revoked_at, reason, der_stored, der, authorized_by"

/* The parsed target: libpq keywords and values, and our own options. */
struct pg_target {
	const char	*kw[PG_MAX_KW + 1];	/* NULL-terminated */
	const char	*val[PG_MAX_KW + 1];
	char		*buf;			/* owns the strings */
	char		 node[PG_NODE_MAX + 1];
	int		 busy_ms;
};

/*
 * One connection that comes back by itself.  After a failure to connect
 * it waits a growing, bounded delay before trying again; in between,
 * every call fails at once with LEDGER_ERR_DOWN instead of hanging.
 */
struct pg_conn {
	PGconn			*conn;
	const struct pg_target	*target;
	const struct pgu_stmt	*stmts;
	size_t			 nstmts;
	int			 audit;	    /* also prepare the audit chain's */
	int64_t			 retry_at;  /* monotonic ms */
	int			 backoff;   /* ms; 0 after a success */
	int			 broken;    /* reconnect before next use */
	pthread_mutex_t		 lock;	    /* readers only */
};

/* gc must stay first: the shared write ops take the state as it. */
struct pg_ledger {
	struct ledger_gc	 gc;
	struct pg_target	 target;
	struct pg_conn		 w;	/* writer: group-commit leader only */
	struct pg_conn		 r[PG_READERS];
	unsigned int		 next_reader;
	pthread_mutex_t		 rlock;	/* guards next_reader */
	struct audit_pg		*audit;
	int			 gc_ready;
};

/*
 * ledger_pgsql_conn.c: targets, connections and results; parameters and
 * columns are pgutil.h's.
 */
int	pg_target_parse(const char *s, struct pg_target *t);
void	pg_target_free(struct pg_target *t);
void	pg_conn_init(struct pg_conn *c, const struct pg_target *t,
	    const struct pgu_stmt *stmts, size_t nstmts, int audit);
void	pg_conn_close(struct pg_conn *c);
/*
 * Connected and prepared, or LEDGER_ERR_DOWN (at once during backoff).
 * *fresh (if not NULL) says whether this call had to connect.
 */
int	pg_conn_ensure(struct pg_conn *c, int *fresh);
/* The ledger_rc of a fault; LEDGER_ERR_DOWN marks c broken. */
int	pg_fault_rc(struct pg_conn *c, enum pgu_fault f);
/* The ledger_rc for a failed result (res may be NULL). */
int	pg_result_rc(struct pg_conn *c, const PGresult *res);
/* A constant statement without parameters (BEGIN, SAVEPOINT...). */
int	pg_simple(struct pg_conn *c, const char *sql);
/* Run prepared statement name; *res (if not NULL) gets the rows. */
int	pg_run(struct pg_conn *c, const char *name, const struct pgu_params *p,
	    PGresult **res);

/* ledger_pgsql_read.c */
extern const struct pgu_stmt pg_read_stmts[];
extern const size_t pg_nread_stmts;
int	pg_get(void *state, const char *tenant,
	    const struct ledger_serial *serial, struct ledger_cert *out);
int	pg_list(void *state, const struct ledger_filter *f,
	    struct ledger_cert **certs, size_t *n);
int	pg_count(void *state, const char *tenant, struct ledger_counts *out);
int	pg_list_revoked(void *state, const char *issuer, int64_t now,
	    ledger_revoked_cb cb, void *arg);
int	pg_list_reserved(void *state, struct ledger_cert **certs, size_t *n);
/* The audit chain on a reader (issue 19). */
int	pg_audit_query(void *state, const struct audit_query *q,
	    audit_entry_cb cb, void *arg, struct audit_page *page);
int	pg_token_get(void *state, const uint8_t *hash,
	    struct ledger_token *out);
int	pg_token_get_id(void *state, const char *id,
	    struct ledger_token *out);
/* A free reader if there is one, else the next in turn; locked. */
struct pg_conn *pg_reader_take(struct pg_ledger *pg);
/* Reads not worth preparing (the notification queue's metrics). */
int	pg_read_sql(void *state, const char *sql, const struct pgu_params *p,
	    PGresult **res);

/* ledger_pgsql_write.c: the operations, inside the writer's batch. */
extern const struct pgu_stmt pg_write_stmts[];
extern const size_t pg_nwrite_stmts;
int	pg_do_reserve(struct pg_ledger *pg, const struct ledger_intent *in);
int	pg_do_transition(struct pg_ledger *pg,
	    const struct ledger_transition *t,
	    const struct audit_record *audit);
int	pg_do_counter(struct pg_ledger *pg, const char *name, uint64_t *out);
int	pg_do_token_create(struct pg_ledger *pg, const struct ledger_token *t,
	    const struct audit_record *audit);
int	pg_do_reserve_token(struct pg_ledger *pg,
	    const struct ledger_intent *in, const uint8_t *hash, int64_t now);
int	pg_do_audit(struct pg_ledger *pg, const struct audit_record *audit,
	    uint64_t *seq);
int	pg_do_checkpoint(struct pg_ledger *pg);
int	pg_do_tidy(struct pg_ledger *pg, const char *tenant, int64_t cutoff,
	    size_t limit, uint64_t *certs, uint64_t *tokens);

/* ledger_pgsql_notify.c: the expiry notification queue (issue 19). */
struct ledger_notify_op;
struct ledger_notify_counts;
int	pg_do_notify(struct pg_ledger *pg, struct ledger_notify_op *op);
int	pg_notify_expiring(void *state, const char *tenant,
	    const char *profile, int64_t secs, int permille, int64_t now,
	    uint64_t *n);
int	pg_notify_counts(void *state, struct ledger_notify_counts *out);
/*
 * ledger_pgsql_acme.c (issue 20): the ACME tables (schema version 6) and
 * their statements; writes inside the writer's batch, reads on a reader.
 */
extern const char pg_acme_schema[];
int	pg_do_acme(struct pg_ledger *pg, const struct ledger_acme_step *steps,
	    size_t n, const struct audit_record *audit);
int	pg_acme_read(void *state, enum ledger_acme_stmt stmt,
	    const struct ledger_val *args, size_t nargs, ledger_acme_cb cb,
	    void *arg);

/* ledger_pgsql_schema.c */
int	pg_migrate(struct pg_conn *c);

/* ledger_pgsql_acme_limit.c: ACME rate limits (issue 20, version 8). */
extern const char pg_acme_limit_schema[];
int	pg_do_acme_limit(struct pg_ledger *pg, struct ledger_acme_limit *lim);
int	pg_acme_limit(void *state, struct ledger_acme_limit *lim);

#endif
