/*
 * Group commit, independent of the storage engine.
 *
 * Callers submit an operation and block.  Whoever finds no batch running
 * becomes the leader: it takes every queued operation, runs them all in
 * one transaction (one fsync), records each operation's own result, and
 * wakes the waiters.  While it waits for the disk, new submissions queue
 * up for the next batch, so batches grow with the load.  Under load (the
 * last batch held more than one op) a leader that finds fewer ops queued
 * than the last batch lingers up to GC_LINGER_US for more before it
 * takes them (issue 17: fewer, larger transactions, fewer syncs).  Each waiter
 * sleeps on its own semaphore: the leader hands the lead to the first
 * queued op, then, with the lock released, posts it and the ops it ran
 * (issue 17: one broadcast woke all 16 engine workers per batch to find
 * most of them not done; then a waiter signalled under the lock woke only
 * to block on it again).  A semaphore, unlike a condition, may be posted
 * after its waiter's lock is gone and destroyed as soon as sem_wait
 * returns (glibc 2.21 and later, POSIX's sem_destroy rule).
 *
 * The hooks: begin opens a transaction; apply runs one operation so that
 * its failure undoes only itself (a savepoint); alive says whether the
 * transaction is still open after a failure (engines roll back the whole
 * transaction on some errors, e.g. a full disk, and then every earlier
 * operation of the batch is lost too); commit makes the batch durable;
 * rollback abandons it.  durable, if the engine has it, is called before
 * begin with 0 when every op of the batch is a reservation (RESERVE,
 * RESERVE_TOKEN) and 1 otherwise: a reservation alone need not reach
 * the disk before its caller signs, only before the certificate leaves
 * the engine, which its commit (a later, durable transaction of the same
 * sequential log) guarantees (docs/decisions.md, "One durable
 * transaction per issuance").  An ACME rate limit's charge (ACME_LIMIT)
 * need not either: a power cut may forget the last charges, a crash of
 * the process does not (docs/decisions.md "ACME rate limits in the
 * ledger").
 *
 * The write ops of the ledger_backend table (reserve, transition...)
 * are the same for every engine: they fill a gc_op, submit it and hand
 * back its result.  They live here once; an engine only supplies the
 * apply hook that runs one op of each kind.  For that the backend's
 * state must start with its struct ledger_gc.
 */
#ifndef SIGNET_LEDGER_GC_H
#define SIGNET_LEDGER_GC_H

#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>

#include <signet/ledger.h>
#include <signet/ledger_backend.h>

enum gc_kind {
	GC_RESERVE,
	GC_TRANSITION,
	GC_AUDIT,
	GC_CHECKPOINT,
	GC_COUNTER,
	GC_TOKEN_CREATE,
	GC_RESERVE_TOKEN,
	GC_ACME,
	GC_TIDY,
	GC_NOTIFY,	/* expiry notification queue (issue 19) */
	GC_ACME_LIMIT,	/* an ACME rate limit's take or give (issue 20) */
};

/* One queued write: the queue's fields, then the op's arguments. */
struct gc_op {
	struct gc_op			*next;
	int				 rc;
	int				 done;	/* GC_WAIT, GC_DONE, GC_LEAD */
	sem_t				 wake;	/* its submitter waits here */
	enum gc_kind			 kind;
	const struct ledger_intent	*in;	/* RESERVE, RESERVE_TOKEN */
	const struct ledger_transition	*t;
	const struct audit_record	*audit;
	const char			*name;	/* COUNTER */
	uint64_t			 out;	/* AUDIT: seq; COUNTER */
	const struct ledger_token	*tok;	/* TOKEN_CREATE */
	const uint8_t			*hash;	/* RESERVE_TOKEN */
	int64_t				 now;	/* RESERVE_TOKEN; TIDY: cutoff */
	const struct ledger_acme_step	*steps;	/* ACME */
	size_t				 nsteps;
	size_t				 limit;	/* TIDY: rows per table */
	uint64_t			 out2;	/* TIDY: tokens (out: certs) */
	struct ledger_notify_op		*notify; /* NOTIFY */
	struct ledger_acme_limit	*lim;	/* ACME_LIMIT */
};

struct gc_hooks {
	int	(*begin)(void *arg);
	int	(*apply)(void *arg, struct gc_op *op);
	int	(*alive)(void *arg);
	int	(*commit)(void *arg);
	void	(*rollback)(void *arg);
	int	(*durable)(void *arg, int on);	/* optional */
};

struct ledger_gc {
	pthread_mutex_t		 lock;
	struct gc_op		*head;
	struct gc_op		**tail;
	int			 running;
	int			 single; /* one op per transaction */
	pthread_cond_t		 more;	/* a lingering leader waits here */
	int			 lingering;
	size_t			 nq;	/* ops queued, not yet taken */
	size_t			 last;	/* ops in the last batch */
	const struct gc_hooks	*hooks;
	void			*arg;
	uint64_t		 ops;
	uint64_t		 transactions;
	uint64_t		 commit_count[LEDGER_COMMIT_BUCKETS];
	uint64_t		 commit_sum_us;
};

/* 0, or -1 if the mutex cannot be created. */
int	ledger_gc_init(struct ledger_gc *g, const struct gc_hooks *hooks,
	    void *arg, int single);
void	ledger_gc_destroy(struct ledger_gc *g);

/* Run op in the next batch; returns its result once durable or failed. */
int	ledger_gc_submit(struct ledger_gc *g, struct gc_op *op);

/*
 * The backend's write ops and stats; state is the backend's, which starts
 * with its struct ledger_gc.
 */
int	ledger_gc_reserve(void *state, const struct ledger_intent *in);
int	ledger_gc_transition(void *state, const struct ledger_transition *t,
	    const struct audit_record *audit);
int	ledger_gc_audit(void *state, const struct audit_record *audit,
	    uint64_t *seq);
int	ledger_gc_checkpoint(void *state);
int	ledger_gc_next_counter(void *state, const char *name, uint64_t *out);
int	ledger_gc_token_create(void *state, const struct ledger_token *t,
	    const struct audit_record *audit);
int	ledger_gc_reserve_token(void *state, const struct ledger_intent *in,
	    const uint8_t *hash, int64_t now);
int	ledger_gc_acme(void *state, const struct ledger_acme_step *steps,
	    size_t n, const struct audit_record *audit);
int	ledger_gc_tidy(void *state, const char *tenant, int64_t cutoff,
	    size_t limit, uint64_t *certs, uint64_t *tokens);
int	ledger_gc_notify(void *state, struct ledger_notify_op *nop);
int	ledger_gc_acme_limit(void *state, struct ledger_acme_limit *lim);
void	ledger_gc_stats(void *state, struct ledger_stats *out);

#endif
