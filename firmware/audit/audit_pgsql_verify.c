/*
 * The verifier for one node's chain in PostgreSQL: walk it in sequence
 * order inside one read-only snapshot (consistent while the cluster
 * writes) and stop at the first record that is missing, altered or not
 * covered by the signed checkpoints.  The head row the appends keep adds
 * one check SQLite cannot make: a log cut after its last checkpoint.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <signet/audit.h>
#include <signet/audit_pgsql.h>

#include "audit_impl.h"
#include "audit_pgsql_impl.h"

#define PAGE "1000"	/* records fetched per round trip */

struct ckpt {
	uint64_t	seq;
	int64_t		time;
	uint8_t		head[AUDIT_HASH_LEN];
	uint8_t		sig[AUDIT_MAX_SIG];
	size_t		siglen;
};

struct walk {
	PGconn				*conn;
	const char			*node;
	EVP_PKEY			*pub;
	struct ckpt			*ck;
	size_t				 nck;
	size_t				 ci;	/* next checkpoint */
	uint64_t			 expect;
	uint8_t				 prev[AUDIT_HASH_LEN];
	struct audit_verify_result	*res;
};

static void
fail(struct walk *w, enum audit_verify_status status, uint64_t seq,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct walk *w, enum audit_verify_status status, uint64_t seq,
    const char *fmt, ...)
{
	va_list ap;

	w->res->status = status;
	w->res->seq = seq;
	va_start(ap, fmt);
	vsnprintf(w->res->message, sizeof(w->res->message), fmt, ap);
	va_end(ap);
}

/* A query of this file: node is $1, an optional bigint is $2. */
static int
query(struct walk *w, const char *sql, const int64_t *arg, PGresult **out)
{
	struct pgu_params p;

	pgu_init(&p);
	pgu_bytes(&p, w->node, strlen(w->node));
	if (arg != NULL)
		pgu_int8(&p, *arg);
	return apg_rc(pgu_query(w->conn, sql, &p, out));
}

static int
load_checkpoints(struct walk *w)
{
	PGresult *res = NULL;
	struct ckpt *c;
	int64_t seq;
	int i, n, rc;

	rc = query(w, "SELECT seq, time, head, sig FROM audit_checkpoint"
	    " WHERE node = $1 ORDER BY seq", NULL, &res);
	if (rc != AUDIT_OK)
		return rc;
	n = PQntuples(res);
	if (n > 0 && (w->ck = calloc((size_t)n, sizeof(*w->ck))) == NULL) {
		rc = AUDIT_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		c = &w->ck[i];
		if (!pgu_get_int8(res, i, 0, &seq) ||
		    !pgu_get_int8(res, i, 1, &c->time))
			seq = 0;
		c->seq = (uint64_t)seq;
		/* A malformed head or signature simply fails to verify. */
		if (PQgetlength(res, i, 2) == AUDIT_HASH_LEN)
			memcpy(c->head, PQgetvalue(res, i, 2), AUDIT_HASH_LEN);
		if (PQgetlength(res, i, 3) <= AUDIT_MAX_SIG) {
			c->siglen = (size_t)PQgetlength(res, i, 3);
			memcpy(c->sig, PQgetvalue(res, i, 3), c->siglen);
		}
	}
	w->nck = (size_t)n;
out:
	PQclear(res);
	return rc;
}

static int
checkpoint_signed(struct walk *w, const struct ckpt *c)
{
	if (w->pub == NULL)
		return 1;
	if (audit_checkpoint_verify(w->pub, c->seq, c->time, c->head, c->sig,
	    c->siglen) == AUDIT_OK)
		return 1;
	fail(w, AUDIT_VERIFY_SIGNATURE, c->seq, "node %s: checkpoint at seq %"
	    PRIu64 " has a bad signature", w->node, c->seq);
	return 0;
}

static int
match_checkpoints(struct walk *w, uint64_t seq, const uint8_t *hash)
{
	struct ckpt *c;

	for (; w->ci < w->nck && w->ck[w->ci].seq <= seq; w->ci++) {
		c = &w->ck[w->ci];
		if (!checkpoint_signed(w, c))
			return 0;
		if (c->seq != seq || memcmp(c->head, hash, AUDIT_HASH_LEN)) {
			fail(w, AUDIT_VERIFY_CHECKPOINT, c->seq, "node %s:"
			    " checkpoint at seq %" PRIu64 " does not match"
			    " the chain", w->node, c->seq);
			return 0;
		}
		w->res->checkpoints++;
		w->res->last_checkpoint = seq;
	}
	return 1;
}

/* Check row i; 0 and a failure recorded if it is bad. */
static int
check_row(struct walk *w, const PGresult *r, int i)
{
	const char *field[AUDIT_NFIELDS];
	size_t len[AUDIT_NFIELDS];
	uint8_t hash[AUDIT_HASH_LEN];
	int64_t seq, time;
	int f;

	if (!pgu_get_int8(r, i, 0, &seq) || !pgu_get_int8(r, i, 1, &time) ||
	    PQgetlength(r, i, 9) != AUDIT_HASH_LEN ||
	    PQgetlength(r, i, 10) != AUDIT_HASH_LEN) {
		fail(w, AUDIT_VERIFY_MALFORMED, w->expect, "node %s: record %"
		    PRIu64 " is malformed", w->node, w->expect);
		return 0;
	}
	if ((uint64_t)seq != w->expect) {
		fail(w, AUDIT_VERIFY_GAP, w->expect, "node %s: record %"
		    PRIu64 " is missing (next is %" PRId64 ")", w->node,
		    w->expect, seq);
		return 0;
	}
	for (f = 0; f < AUDIT_NFIELDS; f++) {
		field[f] = PQgetvalue(r, i, 2 + f);
		len[f] = (size_t)PQgetlength(r, i, 2 + f);
	}
	if (audit_hash_fields((uint64_t)seq, time, field, len,
	    (const uint8_t *)PQgetvalue(r, i, 9), hash) != AUDIT_OK ||
	    memcmp(hash, PQgetvalue(r, i, 10), AUDIT_HASH_LEN) != 0) {
		fail(w, AUDIT_VERIFY_HASH, (uint64_t)seq, "node %s: hash"
		    " mismatch at seq %" PRId64 ": the record was altered",
		    w->node, seq);
		return 0;
	}
	if (memcmp(w->prev, PQgetvalue(r, i, 9), AUDIT_HASH_LEN) != 0) {
		fail(w, AUDIT_VERIFY_CHAIN, (uint64_t)seq, "node %s: record %"
		    PRId64 " does not chain to its predecessor", w->node, seq);
		return 0;
	}
	if (!match_checkpoints(w, (uint64_t)seq, hash))
		return 0;
	memcpy(w->prev, hash, AUDIT_HASH_LEN);
	w->expect++;
	w->res->records++;
	return 1;
}

static int
walk_records(struct walk *w)
{
	PGresult *res = NULL;
	int64_t after;
	int i, n, rc;

	do {
		after = (int64_t)w->expect - 1;
		rc = query(w, "SELECT seq, time, actor, role, tenant, action,"
		    " object, result, detail, prev_hash, hash FROM audit_log"
		    " WHERE node = $1 AND seq > $2 ORDER BY seq LIMIT " PAGE,
		    &after, &res);
		if (rc != AUDIT_OK)
			return rc;
		n = PQntuples(res);
		for (i = 0; i < n; i++)
			if (!check_row(w, res, i))
				break;
		PQclear(res);
	} while (w->res->status == AUDIT_VERIFY_OK && n > 0);
	return AUDIT_OK;
}

/*
 * A checkpoint, or the head row, beyond the last record means the tail
 * was cut off.
 */
static int
check_tail(struct walk *w)
{
	PGresult *res = NULL;
	int64_t head = 0;
	int rc;

	if (w->res->status != AUDIT_VERIFY_OK)
		return AUDIT_OK;
	if (w->ci < w->nck) {
		if (checkpoint_signed(w, &w->ck[w->ci]))
			fail(w, AUDIT_VERIFY_TRUNCATED, w->expect, "node %s:"
			    " log ends at seq %" PRIu64 " but a checkpoint"
			    " covers seq %" PRIu64, w->node, w->expect - 1,
			    w->ck[w->ci].seq);
		return AUDIT_OK;
	}
	rc = query(w, "SELECT seq FROM audit_head WHERE node = $1", NULL,
	    &res);
	if (rc != AUDIT_OK)
		return rc;
	if (PQntuples(res) == 1 && pgu_get_int8(res, 0, 0, &head) &&
	    (uint64_t)head > w->expect - 1)
		fail(w, AUDIT_VERIFY_TRUNCATED, w->expect, "node %s: log ends"
		    " at seq %" PRIu64 " but its head is seq %" PRId64,
		    w->node, w->expect - 1, head);
	PQclear(res);
	return AUDIT_OK;
}

int
audit_pg_verify(PGconn *conn, const char *node, EVP_PKEY *pub,
    struct audit_verify_result *res)
{
	struct walk w;
	int rc;

	if (conn == NULL || node == NULL || res == NULL)
		return AUDIT_ERR_ARG;
	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	w.conn = conn;
	w.node = node;
	w.pub = pub;
	w.expect = 1;
	w.res = res;
	rc = apg_rc(pgu_exec(conn,
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
	if (rc != AUDIT_OK)
		return rc;
	if ((rc = load_checkpoints(&w)) != AUDIT_OK ||
	    (rc = walk_records(&w)) != AUDIT_OK ||
	    (rc = check_tail(&w)) != AUDIT_OK)
		goto out;
	if (res->status == AUDIT_VERIFY_OK)
		snprintf(res->message, sizeof(res->message), "node %s: %"
		    PRIu64 " records and %" PRIu64 " checkpoints verified",
		    node, res->records, res->checkpoints);
out:
	PQclear(PQexec(conn, "COMMIT"));
	free(w.ck);
	return rc;
}
