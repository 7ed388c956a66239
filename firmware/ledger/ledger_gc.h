/*
 * Group commit, independent of the storage engine.
 *
 * Callers submit an operation and block.  Whoever finds no batch running
 * becomes the leader: it takes every queued operation, runs them all in
 * one transaction (one fsync), records each operation's own result, and
 * wakes the waiters.  While it waits for the disk, new submissions queue
 * up for the next batch, so batches grow with the load.
 *
 * The hooks: begin opens a transaction; apply runs one operation so that
 * its failure undoes only itself (a savepoint); alive says whether the
 * transaction is still open after a failure (engines roll back the whole
 * transaction on some errors, e.g. a full disk, and then every earlier
 * operation of the batch is lost too); commit makes the batch durable;
 * rollback abandons it.
 */
#ifndef SIGNET_LEDGER_GC_H
#define SIGNET_LEDGER_GC_H

#include <pthread.h>
#include <stdint.h>

struct gc_op {
	struct gc_op	*next;
	int		 rc;
	int		 done;
};

struct gc_hooks {
	int	(*begin)(void *arg);
	int	(*apply)(void *arg, struct gc_op *op);
	int	(*alive)(void *arg);
	int	(*commit)(void *arg);
	void	(*rollback)(void *arg);
};

struct ledger_gc {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct gc_op		*head;
	struct gc_op		**tail;
	int			 running;
	int			 single; /* one op per transaction */
	const struct gc_hooks	*hooks;
	void			*arg;
	uint64_t		 ops;
	uint64_t		 transactions;
};

/* 0, or -1 if the mutex or condition cannot be created. */
int	ledger_gc_init(struct ledger_gc *g, const struct gc_hooks *hooks,
	    void *arg, int single);
void	ledger_gc_destroy(struct ledger_gc *g);

/* Run op in the next batch; returns its result once durable or failed. */
int	ledger_gc_submit(struct ledger_gc *g, struct gc_op *op);

void	ledger_gc_stats(struct ledger_gc *g, uint64_t *ops,
	    uint64_t *transactions);

#endif
