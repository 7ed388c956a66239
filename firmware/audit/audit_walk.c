/*
 * The verifier's walk over one chain, whatever stores it (audit_walk.h):
 * records in sequence order, each hashed again and chained to the one
 * before, each signed checkpoint matched at its record, and a log that
 * ends before a checkpoint or its head reported as truncated.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signet/audit.h>

#include "audit_impl.h"
#include "audit_walk.h"

struct ckpt {
	uint64_t	seq;
	int64_t		time;
	uint8_t		head[AUDIT_HASH_LEN];
	uint8_t		sig[AUDIT_MAX_SIG];
	size_t		siglen;
	int		exported;	/* from an export file, not the db */
};

struct audit_walk {
	EVP_PKEY			*pub;
	struct ckpt			*ck;
	size_t				 nck;
	size_t				 cap;
	size_t				 ci;	/* next checkpoint */
	uint64_t			 expect;
	uint8_t				 prev[AUDIT_HASH_LEN];
	struct audit_verify_result	*res;
};

static void
fail(struct audit_walk *w, enum audit_verify_status status, uint64_t seq,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct audit_walk *w, enum audit_verify_status status, uint64_t seq,
    const char *fmt, ...)
{
	va_list ap;

	w->res->status = status;
	w->res->seq = seq;
	va_start(ap, fmt);
	vsnprintf(w->res->message, sizeof(w->res->message), fmt, ap);
	va_end(ap);
}

int
audit_walk_checkpoint(struct audit_walk *w, uint64_t seq, int64_t time,
    const void *head, size_t headlen, const void *sig, size_t siglen)
{
	struct ckpt *c, *grown;
	size_t cap;

	if (w->nck == w->cap) {
		cap = w->cap ? w->cap * 2 : 64;
		if ((grown = reallocarray(w->ck, cap, sizeof(*grown))) == NULL)
			return AUDIT_ERR_NOMEM;
		w->ck = grown;
		w->cap = cap;
	}
	c = &w->ck[w->nck++];
	memset(c, 0, sizeof(*c));
	c->seq = seq;
	c->time = time;
	/* A malformed head or signature simply fails to verify. */
	if (headlen == AUDIT_HASH_LEN)
		memcpy(c->head, head, AUDIT_HASH_LEN);
	if (siglen <= AUDIT_MAX_SIG) {
		c->siglen = siglen;
		if (siglen > 0)
			memcpy(c->sig, sig, siglen);
	}
	return AUDIT_OK;
}

static const char *
origin(const struct ckpt *c)
{
	return c->exported ? "exported checkpoint" : "checkpoint";
}

/* Check the checkpoint's signature; 0 and a failure recorded if bad. */
static int
checkpoint_signed(struct audit_walk *w, const struct ckpt *c)
{
	if (w->pub == NULL)
		return 1;
	if (audit_checkpoint_verify(w->pub, c->seq, c->time, c->head, c->sig,
	    c->siglen) == AUDIT_OK)
		return 1;
	fail(w, AUDIT_VERIFY_SIGNATURE, c->seq, "%s at seq %" PRIu64
	    " has a bad signature", origin(c), c->seq);
	return 0;
}

/* Match every checkpoint at (or, malformed, before) this record. */
static int
match_checkpoints(struct audit_walk *w, uint64_t seq, const uint8_t *hash)
{
	struct ckpt *c;

	for (; w->ci < w->nck && w->ck[w->ci].seq <= seq; w->ci++) {
		c = &w->ck[w->ci];
		if (!checkpoint_signed(w, c))
			return 0;
		if (c->seq != seq || memcmp(c->head, hash, AUDIT_HASH_LEN)) {
			fail(w, AUDIT_VERIFY_CHECKPOINT, c->seq,
			    "%s at seq %" PRIu64 " does not match the"
			    " chain: record %" PRIu64 " was altered", origin(c),
			    c->seq, c->seq);
			return 0;
		}
		w->res->checkpoints++;
		w->res->last_checkpoint = seq;
	}
	return 1;
}

/* Check one row; 0 and a failure recorded if it is bad. */
static int
check_row(struct audit_walk *w, const struct audit_row *r)
{
	uint8_t hash[AUDIT_HASH_LEN];

	if (r->seq != w->expect) {
		fail(w, AUDIT_VERIFY_GAP, w->expect, "sequence gap after seq %"
		    PRIu64 ": record %" PRIu64 " is missing (next is %" PRIu64
		    ")", w->expect - 1, w->expect, r->seq);
		return 0;
	}
	if (r->malformed) {
		fail(w, AUDIT_VERIFY_MALFORMED, r->seq, "record %" PRIu64
		    " is malformed", r->seq);
		return 0;
	}
	if (audit_hash_fields(r->seq, r->time, r->field, r->len, r->prev,
	    hash) != AUDIT_OK || memcmp(hash, r->hash, AUDIT_HASH_LEN) != 0) {
		fail(w, AUDIT_VERIFY_HASH, r->seq, "hash mismatch at seq %"
		    PRIu64 ": the record was altered", r->seq);
		return 0;
	}
	if (memcmp(w->prev, r->prev, AUDIT_HASH_LEN) != 0) {
		fail(w, AUDIT_VERIFY_CHAIN, r->seq, "record %" PRIu64 " does"
		    " not chain to record %" PRIu64, r->seq, r->seq - 1);
		return 0;
	}
	if (!match_checkpoints(w, r->seq, hash))
		return 0;
	memcpy(w->prev, hash, AUDIT_HASH_LEN);
	w->expect++;
	w->res->records++;
	return 1;
}

static int
walk_records(const struct audit_source *src, void *arg, struct audit_walk *w)
{
	struct audit_row row;
	int more, rc;

	for (;;) {
		memset(&row, 0, sizeof(row));
		if ((rc = src->next(arg, &row, &more)) != AUDIT_OK)
			return rc;
		if (!more || !check_row(w, &row))
			return AUDIT_OK;
	}
}

/*
 * A checkpoint, or the head row, beyond the last record means the tail
 * was cut off.
 */
static int
check_tail(const struct audit_source *src, void *arg, struct audit_walk *w)
{
	struct ckpt *c;
	uint64_t head = 0;
	int rc;

	if (w->res->status != AUDIT_VERIFY_OK)
		return AUDIT_OK;
	if (w->ci < w->nck) {
		c = &w->ck[w->ci];
		if (!checkpoint_signed(w, c))
			return AUDIT_OK;
		fail(w, AUDIT_VERIFY_TRUNCATED, w->expect, "log truncated: it"
		    " ends at seq %" PRIu64 " but a signed %s covers"
		    " seq %" PRIu64 "; record %" PRIu64 " onwards is missing",
		    w->expect - 1, c->exported ? "exported checkpoint" :
		    "checkpoint", c->seq, w->expect);
		return AUDIT_OK;
	}
	if (src->head == NULL)
		return AUDIT_OK;
	if ((rc = src->head(arg, &head)) != AUDIT_OK)
		return rc;
	if (head > w->expect - 1)
		fail(w, AUDIT_VERIFY_TRUNCATED, w->expect, "log truncated: it"
		    " ends at seq %" PRIu64 " but its head is seq %" PRIu64
		    "; record %" PRIu64 " onwards is missing", w->expect - 1,
		    head, w->expect);
	return AUDIT_OK;
}

static int
ckpt_cmp(const void *a, const void *b)
{
	const struct ckpt *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->exported - y->exported;
}

/* The exported checkpoints beside the stored ones, all in seq order. */
static int
add_exported(struct audit_walk *w, const struct audit_ckpts *ext)
{
	const struct audit_ckpt *e;
	size_t i;
	int rc;

	if (ext == NULL || ext->n == 0)
		return AUDIT_OK;
	for (i = 0; i < ext->n; i++) {
		e = &ext->v[i];
		rc = audit_walk_checkpoint(w, e->seq, e->time, e->head,
		    AUDIT_HASH_LEN, e->sig, e->siglen);
		if (rc != AUDIT_OK)
			return rc;
		w->ck[w->nck - 1].exported = 1;
	}
	qsort(w->ck, w->nck, sizeof(*w->ck), ckpt_cmp);
	return AUDIT_OK;
}

int
audit_walk(const struct audit_source *src, void *arg, EVP_PKEY *pub,
    const struct audit_ckpts *ext, struct audit_verify_result *res)
{
	struct audit_walk w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.pub = pub;
	w.expect = 1;
	w.res = res;
	if ((rc = src->checkpoints(arg, &w)) != AUDIT_OK ||
	    (rc = add_exported(&w, ext)) != AUDIT_OK ||
	    (rc = walk_records(src, arg, &w)) != AUDIT_OK ||
	    (rc = check_tail(src, arg, &w)) != AUDIT_OK)
		goto out;
	if (res->status == AUDIT_VERIFY_OK)
		snprintf(res->message, sizeof(res->message), "%" PRIu64
		    " records and %" PRIu64 " checkpoints verified",
		    res->records, res->checkpoints);
out:
	free(w.ck);
	return rc;
}
