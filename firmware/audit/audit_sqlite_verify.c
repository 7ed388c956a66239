/*
 * The verifier: walk the chain in sequence order inside one read
 * transaction (a consistent snapshot even while the appliance writes),
 * and stop at the first record that is missing, altered or not covered by
 * the signed checkpoints.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <signet/audit.h>
#include <signet/audit_sqlite.h>

#include "audit_impl.h"

struct ckpt {
	uint64_t	seq;
	int64_t		time;
	uint8_t		head[AUDIT_HASH_LEN];
	uint8_t		sig[AUDIT_MAX_SIG];
	size_t		siglen;
};

struct walk {
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

/* A statement that does not prepare means the audit tables are missing. */
static int
prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int src = sqlite3_prepare_v2(db, sql, -1, st, NULL);

	if ((src & 0xff) == SQLITE_ERROR)
		return AUDIT_ERR_SCHEMA;
	return audit_db_rc(src);
}

static int
load_checkpoints(sqlite3 *db, struct walk *w)
{
	sqlite3_stmt *st = NULL;
	struct ckpt *ck = NULL, *grown;
	size_t n = 0, cap = 0;
	int src, rc;

	rc = prepare(db, "SELECT seq, time, head, sig FROM audit_checkpoint"
	    " ORDER BY seq", &st);
	if (rc != AUDIT_OK)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = reallocarray(ck, cap, sizeof(*ck));
			if (grown == NULL) {
				rc = AUDIT_ERR_NOMEM;
				goto out;
			}
			ck = grown;
		}
		memset(&ck[n], 0, sizeof(ck[n]));
		ck[n].seq = (uint64_t)sqlite3_column_int64(st, 0);
		ck[n].time = sqlite3_column_int64(st, 1);
		/* A malformed head or signature simply fails to verify. */
		if (sqlite3_column_bytes(st, 2) == AUDIT_HASH_LEN)
			memcpy(ck[n].head, sqlite3_column_blob(st, 2),
			    AUDIT_HASH_LEN);
		if ((size_t)sqlite3_column_bytes(st, 3) <= AUDIT_MAX_SIG) {
			ck[n].siglen = (size_t)sqlite3_column_bytes(st, 3);
			if (ck[n].siglen > 0)
				memcpy(ck[n].sig, sqlite3_column_blob(st, 3),
				    ck[n].siglen);
		}
		n++;
	}
	rc = audit_db_rc(src);
	if (rc == AUDIT_OK) {
		w->ck = ck;
		w->nck = n;
		ck = NULL;
	}
out:
	free(ck);
	sqlite3_finalize(st);
	return rc;
}

/* Check the checkpoint's signature; 0 and a failure recorded if bad. */
static int
checkpoint_signed(struct walk *w, const struct ckpt *c)
{
	if (w->pub == NULL)
		return 1;
	if (audit_checkpoint_verify(w->pub, c->seq, c->time, c->head, c->sig,
	    c->siglen) == AUDIT_OK)
		return 1;
	fail(w, AUDIT_VERIFY_SIGNATURE, c->seq, "checkpoint at seq %" PRIu64
	    " has a bad signature", c->seq);
	return 0;
}

/* Match every checkpoint at (or, malformed, before) this record. */
static int
match_checkpoints(struct walk *w, uint64_t seq, const uint8_t *hash)
{
	struct ckpt *c;

	for (; w->ci < w->nck && w->ck[w->ci].seq <= seq; w->ci++) {
		c = &w->ck[w->ci];
		if (!checkpoint_signed(w, c))
			return 0;
		if (c->seq != seq || memcmp(c->head, hash, AUDIT_HASH_LEN)) {
			fail(w, AUDIT_VERIFY_CHECKPOINT, c->seq,
			    "checkpoint at seq %" PRIu64 " does not match the"
			    " chain: record %" PRIu64 " was altered", c->seq,
			    c->seq);
			return 0;
		}
		w->res->checkpoints++;
		w->res->last_checkpoint = seq;
	}
	return 1;
}

/* Check one row; 0 and a failure recorded if it is bad. */
static int
check_row(struct walk *w, sqlite3_stmt *st)
{
	const char *field[AUDIT_NFIELDS];
	size_t len[AUDIT_NFIELDS];
	uint8_t hash[AUDIT_HASH_LEN];
	uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
	int i;

	if (seq != w->expect) {
		fail(w, AUDIT_VERIFY_GAP, w->expect, "sequence gap after seq %"
		    PRIu64 ": record %" PRIu64 " is missing (next is %" PRIu64
		    ")", w->expect - 1, w->expect, seq);
		return 0;
	}
	for (i = 0; i < AUDIT_NFIELDS; i++) {
		field[i] = (const char *)sqlite3_column_text(st, 2 + i);
		len[i] = (size_t)sqlite3_column_bytes(st, 2 + i);
		if (field[i] == NULL)
			field[i] = "";
	}
	if (sqlite3_column_bytes(st, 9) != AUDIT_HASH_LEN ||
	    sqlite3_column_bytes(st, 10) != AUDIT_HASH_LEN ||
	    sqlite3_column_type(st, 1) != SQLITE_INTEGER) {
		fail(w, AUDIT_VERIFY_MALFORMED, seq, "record %" PRIu64
		    " is malformed", seq);
		return 0;
	}
	if (audit_hash_fields(seq, sqlite3_column_int64(st, 1), field, len,
	    sqlite3_column_blob(st, 9), hash) != AUDIT_OK ||
	    memcmp(hash, sqlite3_column_blob(st, 10), AUDIT_HASH_LEN) != 0) {
		fail(w, AUDIT_VERIFY_HASH, seq, "hash mismatch at seq %"
		    PRIu64 ": the record was altered", seq);
		return 0;
	}
	if (memcmp(w->prev, sqlite3_column_blob(st, 9), AUDIT_HASH_LEN)) {
		fail(w, AUDIT_VERIFY_CHAIN, seq, "record %" PRIu64 " does not"
		    " chain to record %" PRIu64, seq, seq - 1);
		return 0;
	}
	if (!match_checkpoints(w, seq, hash))
		return 0;
	memcpy(w->prev, hash, AUDIT_HASH_LEN);
	w->expect++;
	w->res->records++;
	return 1;
}

static int
walk_records(sqlite3 *db, struct walk *w)
{
	sqlite3_stmt *st = NULL;
	int src, rc;

	rc = prepare(db, "SELECT seq, time, actor, role, tenant, action,"
	    " object, result, detail, prev_hash, hash FROM audit_log"
	    " ORDER BY seq", &st);
	if (rc != AUDIT_OK)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if (!check_row(w, st))
			break;
	if (src != SQLITE_ROW)
		rc = audit_db_rc(src);
out:
	sqlite3_finalize(st);
	return rc;
}

/* A checkpoint beyond the last record means the tail was cut off. */
static void
check_tail(struct walk *w)
{
	struct ckpt *c;

	if (w->res->status != AUDIT_VERIFY_OK || w->ci >= w->nck)
		return;
	c = &w->ck[w->ci];
	if (!checkpoint_signed(w, c))
		return;
	fail(w, AUDIT_VERIFY_TRUNCATED, w->expect, "log truncated: it ends"
	    " at seq %" PRIu64 " but a signed checkpoint covers seq %" PRIu64
	    "; record %" PRIu64 " onwards is missing", w->expect - 1, c->seq,
	    w->expect);
}

int
audit_db_verify(sqlite3 *db, EVP_PKEY *pub, struct audit_verify_result *res)
{
	struct walk w;
	int rc;

	if (db == NULL || res == NULL)
		return AUDIT_ERR_ARG;
	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	w.pub = pub;
	w.expect = 1;
	w.res = res;
	if ((rc = audit_db_rc(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL))))
		goto out;
	if ((rc = load_checkpoints(db, &w)) != AUDIT_OK)
		goto out;
	if ((rc = walk_records(db, &w)) != AUDIT_OK)
		goto out;
	check_tail(&w);
	if (res->status == AUDIT_VERIFY_OK)
		snprintf(res->message, sizeof(res->message), "%" PRIu64
		    " records and %" PRIu64 " checkpoints verified",
		    res->records, res->checkpoints);
out:
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	free(w.ck);
	return rc;
}

int
audit_verify(const char *path, EVP_PKEY *pub, struct audit_verify_result *res)
{
	sqlite3 *db = NULL;
	int rc;

	if (path == NULL || res == NULL)
		return AUDIT_ERR_ARG;
	rc = audit_db_rc(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL));
	if (rc != AUDIT_OK)
		goto out;
	sqlite3_busy_timeout(db, 10000);
	rc = audit_db_verify(db, pub, res);
out:
	sqlite3_close(db);
	return rc;
}
