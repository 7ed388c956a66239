/*
 * Internal to the audit library: the one chain walker behind
 * audit_db_verify (SQLite) and audit_pg_verify (PostgreSQL).  Each
 * backend supplies a row source; the walker checks the records in
 * sequence order against each other and the signed checkpoints, stops at
 * the first bad one, and words the verdict the same for every backend.
 */
#ifndef SIGNET_AUDIT_WALK_H
#define SIGNET_AUDIT_WALK_H

#include <stddef.h>
#include <stdint.h>

#include <signet/audit.h>

#include "audit_impl.h"

struct audit_walk;

/* One record as the backend read it; pointers valid until the next row. */
struct audit_row {
	uint64_t	 seq;
	int64_t		 time;
	int		 malformed;	/* time, prev or hash unreadable */
	const char	*field[AUDIT_NFIELDS];
	size_t		 len[AUDIT_NFIELDS];
	const uint8_t	*prev;		/* AUDIT_HASH_LEN bytes */
	const uint8_t	*hash;		/* AUDIT_HASH_LEN bytes */
};

struct audit_source {
	/* Hand every checkpoint, in seq order, to audit_walk_checkpoint. */
	int	(*checkpoints)(void *arg, struct audit_walk *w);
	/* The next record in seq order in *row; *more = 0 at the end. */
	int	(*next)(void *arg, struct audit_row *row, int *more);
	/*
	 * The seq the chain's head row records (0 without one), to catch a
	 * tail cut after the last checkpoint; NULL where there is no head.
	 */
	int	(*head)(void *arg, uint64_t *seq);
};

/*
 * One checkpoint, copied; a head or signature of the wrong size is kept
 * so that it fails to verify.
 */
int	audit_walk_checkpoint(struct audit_walk *w, uint64_t seq, int64_t time,
	    const void *head, size_t headlen, const void *sig, size_t siglen);

/*
 * Walk src (arg is its state), with the exported checkpoints ext (may be
 * NULL) beside the stored ones, and fill res, which the caller zeroed;
 * returns AUDIT_OK whenever the walk finished, with the verdict in res,
 * else the source's error.
 */
int	audit_walk(const struct audit_source *src, void *arg, EVP_PKEY *pub,
	    const struct audit_ckpts *ext, struct audit_verify_result *res);

#endif
