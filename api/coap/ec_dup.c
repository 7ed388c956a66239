/*
 * Exchanges remembered per DTLS session, for retransmitted CONs
 * (signet/ec_dup.h).  A list in arrival order: a few hundred entries at
 * most, so a linear search costs less than the DTLS record it answers.
 */
#include <stdlib.h>
#include <string.h>

#include "signet/ec_dup.h"

void
ec_dup_init(struct ec_dup *d)
{
	memset(d, 0, sizeof(*d));
	TAILQ_INIT(&d->list);
}

static void
entry_free(struct ec_dup *d, struct ec_dup_entry *e)
{
	TAILQ_REMOVE(&d->list, e, entry);
	d->n--;
	if (e->state == EC_DUP_DONE)
		d->bytes -= e->ans.len;
	free(e->ans.data);
	free(e);
}

void
ec_dup_free(struct ec_dup *d)
{
	while (!TAILQ_EMPTY(&d->list))
		entry_free(d, TAILQ_FIRST(&d->list));
}

struct ec_dup_entry *
ec_dup_find(struct ec_dup *d, const void *session, uint16_t mid,
    const uint8_t *token, size_t toklen)
{
	struct ec_dup_entry *e;

	TAILQ_FOREACH(e, &d->list, entry)
		if (e->session == session && e->mid == mid &&
		    e->toklen == toklen &&
		    (toklen == 0 || memcmp(e->token, token, toklen) == 0))
			return e;
	return NULL;
}

struct ec_dup_entry *
ec_dup_byid(struct ec_dup *d, uint64_t id)
{
	struct ec_dup_entry *e;

	TAILQ_FOREACH(e, &d->list, entry)
		if (e->id == id)
			return e;
	return NULL;
}

/* The oldest done and sent exchange, of session if not NULL. */
static struct ec_dup_entry *
oldest_done(struct ec_dup *d, const void *session)
{
	struct ec_dup_entry *e;

	TAILQ_FOREACH(e, &d->list, entry)
		if (e->state == EC_DUP_DONE && e->app == NULL &&
		    (session == NULL || e->session == session))
			return e;
	return NULL;
}

static size_t
count_session(struct ec_dup *d, const void *session)
{
	struct ec_dup_entry *e;
	size_t n = 0;

	TAILQ_FOREACH(e, &d->list, entry)
		if (e->session == session)
			n++;
	return n;
}

struct ec_dup_entry *
ec_dup_start(struct ec_dup *d, const void *session, uint16_t mid,
    const uint8_t *token, size_t toklen)
{
	struct ec_dup_entry *e, *old;

	if (toklen > EC_DUP_TOKEN || session == NULL)
		return NULL;
	if (count_session(d, session) >= EC_DUP_SESSION) {
		if ((old = oldest_done(d, session)) == NULL)
			return NULL;
		d->evicted++;
		entry_free(d, old);
	}
	if (d->n >= EC_DUP_MAX) {
		if ((old = oldest_done(d, NULL)) == NULL)
			return NULL;
		d->evicted++;
		entry_free(d, old);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->id = ++d->next_id;
	e->session = session;
	e->mid = mid;
	if (toklen > 0)
		memcpy(e->token, token, toklen);
	e->toklen = toklen;
	e->state = EC_DUP_INFLIGHT;
	TAILQ_INSERT_TAIL(&d->list, e, entry);
	d->n++;
	return e;
}

void
ec_dup_done(struct ec_dup *d, struct ec_dup_entry *e,
    struct ec_answer *ans, int64_t now)
{
	struct ec_dup_entry *old;

	if (e->state == EC_DUP_DONE) {
		d->bytes -= e->ans.len;
		free(e->ans.data);
	}
	e->ans = *ans;
	memset(ans, 0, sizeof(*ans));
	e->state = EC_DUP_DONE;
	e->done_ms = now;
	d->bytes += e->ans.len;
	/* Never this one: its answer is about to be sent. */
	while (d->bytes > EC_DUP_BYTES && (old = oldest_done(d, NULL)) !=
	    NULL && old != e) {
		d->evicted++;
		entry_free(d, old);
	}
}

void
ec_dup_forget(struct ec_dup *d, struct ec_dup_entry *e)
{
	entry_free(d, e);
}

void
ec_dup_expire(struct ec_dup *d, int64_t now)
{
	struct ec_dup_entry *e, *next;

	/* glibc's sys/queue.h has no TAILQ_FOREACH_SAFE. */
	for (e = TAILQ_FIRST(&d->list); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (e->state == EC_DUP_DONE && e->app == NULL &&
		    now - e->done_ms > EC_DUP_KEEP_MS)
			entry_free(d, e);
	}
}

void
ec_dup_drop_session(struct ec_dup *d, const void *session)
{
	struct ec_dup_entry *e, *next;

	for (e = TAILQ_FIRST(&d->list); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (e->session == session)
			entry_free(d, e);
	}
}
