/*
 * Group commit: many writers, one transaction and one fsync per batch.
 * See ledger_gc.h.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <signet/ledger.h>

#include "ledger_gc.h"

/*
 * How long a leader under load waits for its batch to fill, and the most
 * ops it waits for.  A lone writer (last batch of one op) never waits.
 */
#define GC_LINGER_US	500
#define GC_WANT_MAX	32

/* Upper bounds of the commit-duration buckets, microseconds. */
static const uint64_t commit_le_us[LEDGER_COMMIT_BUCKETS] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	1000000, UINT64_MAX,
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Count one batch's duration; lock held. */
static void
count_commit(struct ledger_gc *g, uint64_t us)
{
	size_t i;

	for (i = 0; i < LEDGER_COMMIT_BUCKETS - 1 && us > commit_le_us[i];
	    i++)
		;
	g->commit_count[i]++;
	g->commit_sum_us += us;
}

int
ledger_gc_init(struct ledger_gc *g, const struct gc_hooks *hooks, void *arg,
    int single)
{
	g->head = NULL;
	g->tail = &g->head;
	g->running = 0;
	g->single = single;
	g->hooks = hooks;
	g->arg = arg;
	g->ops = 0;
	g->transactions = 0;
	g->lingering = 0;
	g->nq = 0;
	g->last = 0;
	memset(g->commit_count, 0, sizeof(g->commit_count));
	g->commit_sum_us = 0;
	if (pthread_mutex_init(&g->lock, NULL) != 0)
		return -1;
	if (pthread_cond_init(&g->more, NULL) != 0) {
		pthread_mutex_destroy(&g->lock);
		return -1;
	}
	return 0;
}

void
ledger_gc_destroy(struct ledger_gc *g)
{
	pthread_cond_destroy(&g->more);
	pthread_mutex_destroy(&g->lock);
}

/*
 * Ops a leader under load waits for: as many as the last batch, bounded
 * (twice as many made the leader wait out GC_LINGER_US at 16 EST
 * connections, which then issued less; batches still grow by what queues
 * during a commit).
 */
static size_t
gc_want(const struct ledger_gc *g)
{
	size_t w = g->last;

	return w > GC_WANT_MAX ? GC_WANT_MAX : w;
}

/*
 * Lock held, g->running set: under load, wait up to GC_LINGER_US for the
 * queue to reach gc_want.  The lock is released while waiting, so others
 * queue meanwhile (and find a batch running).
 */
static void
linger(struct ledger_gc *g)
{
	struct timespec ts;

	if (g->single || g->last < 2 || g->nq >= gc_want(g))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += GC_LINGER_US * 1000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	g->lingering = 1;
	while (g->nq < gc_want(g))
		if (pthread_cond_timedwait(&g->more, &g->lock, &ts) != 0)
			break;
	g->lingering = 0;
}

/* Every operation that succeeded so far in the batch now fails with rc. */
static void
fail_batch(struct gc_op *batch, int rc)
{
	struct gc_op *op;

	for (op = batch; op != NULL; op = op->next)
		if (op->rc == LEDGER_OK)
			op->rc = rc;
}

/* Whether the batch holds anything but reservations (ledger_gc.h). */
static int
batch_durable(const struct gc_op *batch)
{
	const struct gc_op *op;

	for (op = batch; op != NULL; op = op->next)
		if (op->kind != GC_RESERVE && op->kind != GC_RESERVE_TOKEN &&
		    op->kind != GC_ACME_LIMIT)
			return 1;
	return 0;
}

static void
run_batch(struct ledger_gc *g, struct gc_op *batch)
{
	const struct gc_hooks *h = g->hooks;
	struct gc_op *op;
	int rc = LEDGER_OK, durable;

	durable = batch_durable(batch);
	if (h->durable != NULL)
		rc = h->durable(g->arg, durable);
	if (rc != LEDGER_OK || (rc = h->begin(g->arg)) != LEDGER_OK) {
		for (op = batch; op != NULL; op = op->next)
			op->rc = rc;
		return;
	}
	for (op = batch; op != NULL; op = op->next) {
		op->rc = h->apply(g->arg, op);
		if (op->rc != LEDGER_OK && !h->alive(g->arg)) {
			/* The engine rolled back the whole transaction. */
			fail_batch(batch, op->rc);
			return;
		}
	}
	if ((rc = h->commit(g->arg)) != LEDGER_OK) {
		h->rollback(g->arg);
		fail_batch(batch, rc);
	}
}

/* Take the queue (or its first op) as the next batch; lock held. */
static struct gc_op *
take_batch(struct ledger_gc *g)
{
	struct gc_op *batch = g->head;

	if (g->single && batch != NULL) {
		g->head = batch->next;
		if (g->head == NULL)
			g->tail = &g->head;
		batch->next = NULL;
		g->nq--;
	} else {
		g->head = NULL;
		g->tail = &g->head;
		g->nq = 0;
	}
	return batch;
}

/* An op's state (gc_op.done): queued or running, finished, leads next. */
#define GC_WAIT	0
#define GC_DONE	1
#define GC_LEAD	2

int
ledger_gc_submit(struct ledger_gc *g, struct gc_op *op)
{
	struct gc_op *batch, *o, *next, *lead;
	uint64_t t0;
	int rc;

	op->next = NULL;
	op->rc = LEDGER_OK;
	op->done = GC_WAIT;
	if (sem_init(&op->wake, 0, 0) != 0)
		return LEDGER_ERR_NOMEM;
	pthread_mutex_lock(&g->lock);
	*g->tail = op;
	g->tail = &op->next;
	g->nq++;
	if (g->lingering && g->nq >= gc_want(g))
		pthread_cond_signal(&g->more);
	if (g->running) {
		pthread_mutex_unlock(&g->lock);
		while (sem_wait(&op->wake) != 0)
			;	/* EINTR */
		/* The post's release made the leader's writes visible. */
		if (op->done == GC_DONE)
			goto out;
		/* GC_LEAD: g->running was left set for this op. */
		pthread_mutex_lock(&g->lock);
	} else
		g->running = 1;
	for (;;) {
		linger(g);
		batch = take_batch(g);
		pthread_mutex_unlock(&g->lock);
		t0 = now_us();
		run_batch(g, batch);
		t0 = now_us() - t0;
		pthread_mutex_lock(&g->lock);
		count_commit(g, t0);
		g->last = 0;
		for (o = batch; o != NULL; o = o->next) {
			g->ops++;
			g->last++;
		}
		g->transactions++;
		/*
		 * The first queued op leads next (running stays set, so no
		 * newcomer leads meanwhile); this op does, if take_batch
		 * left it queued (single).
		 */
		lead = g->head;
		if (lead == NULL)
			g->running = 0;
		else if (lead != op)
			lead->done = GC_LEAD;
		pthread_mutex_unlock(&g->lock);
		if (lead != NULL && lead != op)
			sem_post(&lead->wake);
		/*
		 * Then the ops of the batch, without the lock.  An op's
		 * submitter may return and reuse its memory once posted, so
		 * next is read first.
		 */
		for (o = batch; o != NULL; o = next) {
			next = o->next;
			if (o == op)
				continue;
			o->done = GC_DONE;
			sem_post(&o->wake);
		}
		if (lead != op)
			break;
		pthread_mutex_lock(&g->lock);
	}
out:
	rc = op->rc;
	sem_destroy(&op->wake);
	return rc;
}

/* The backend write ops: state starts with its struct ledger_gc. */
int
ledger_gc_reserve(void *state, const struct ledger_intent *in)
{
	struct gc_op op = { .kind = GC_RESERVE, .in = in };

	return ledger_gc_submit(state, &op);
}

int
ledger_gc_transition(void *state, const struct ledger_transition *t,
    const struct audit_record *audit)
{
	struct gc_op op = { .kind = GC_TRANSITION, .t = t, .audit = audit };

	return ledger_gc_submit(state, &op);
}

int
ledger_gc_audit(void *state, const struct audit_record *audit, uint64_t *seq)
{
	struct gc_op op = { .kind = GC_AUDIT, .audit = audit };
	int rc;

	if ((rc = ledger_gc_submit(state, &op)) == LEDGER_OK && seq != NULL)
		*seq = op.out;
	return rc;
}

int
ledger_gc_checkpoint(void *state)
{
	struct gc_op op = { .kind = GC_CHECKPOINT };

	return ledger_gc_submit(state, &op);
}

int
ledger_gc_next_counter(void *state, const char *name, uint64_t *out)
{
	struct gc_op op = { .kind = GC_COUNTER, .name = name };
	int rc;

	if ((rc = ledger_gc_submit(state, &op)) == LEDGER_OK)
		*out = op.out;
	return rc;
}

int
ledger_gc_token_create(void *state, const struct ledger_token *t,
    const struct audit_record *audit)
{
	struct gc_op op = { .kind = GC_TOKEN_CREATE, .tok = t,
	    .audit = audit };

	return ledger_gc_submit(state, &op);
}

int
ledger_gc_acme(void *state, const struct ledger_acme_step *steps, size_t n,
    const struct audit_record *audit)
{
	struct gc_op op = { .kind = GC_ACME, .steps = steps, .nsteps = n,
	    .audit = audit };

	return ledger_gc_submit(state, &op);
}

int
ledger_gc_reserve_token(void *state, const struct ledger_intent *in,
    const uint8_t *hash, int64_t now)
{
	struct gc_op op = { .kind = GC_RESERVE_TOKEN, .in = in, .hash = hash,
	    .now = now };

	return ledger_gc_submit(state, &op);
}

int
ledger_gc_tidy(void *state, const char *tenant, int64_t cutoff, size_t limit,
    uint64_t *certs, uint64_t *tokens)
{
	struct gc_op op = { .kind = GC_TIDY, .name = tenant, .now = cutoff,
	    .limit = limit };
	int rc;

	if ((rc = ledger_gc_submit(state, &op)) == LEDGER_OK) {
		*certs = op.out;
		*tokens = op.out2;
	}
	return rc;
}

int
ledger_gc_notify(void *state, struct ledger_notify_op *nop)
{
	struct gc_op op = { .kind = GC_NOTIFY, .notify = nop };

	return ledger_gc_submit(state, &op);
}

int
ledger_gc_acme_limit(void *state, struct ledger_acme_limit *lim)
{
	struct gc_op op = { .kind = GC_ACME_LIMIT, .lim = lim };

	return ledger_gc_submit(state, &op);
}

void
ledger_gc_stats(void *state, struct ledger_stats *out)
{
	struct ledger_gc *g = state;

	pthread_mutex_lock(&g->lock);
	out->ops = g->ops;
	out->transactions = g->transactions;
	memcpy(out->commit_count, g->commit_count, sizeof(out->commit_count));
	out->commit_sum_us = g->commit_sum_us;
	pthread_mutex_unlock(&g->lock);
	memcpy(out->commit_le_us, commit_le_us, sizeof(out->commit_le_us));
}
