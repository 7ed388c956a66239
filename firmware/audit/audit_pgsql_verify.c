/*
 * The verifier for one node's chain in PostgreSQL: the row source of the
 * walker (audit_walk.c), read in pages inside one read-only snapshot
 * (consistent while the cluster writes).  The head row the appends keep
 * adds one check SQLite cannot make: a log cut after its last checkpoint.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <signet/audit.h>
#include <signet/audit_pgsql.h>

#include "audit_impl.h"
#include "audit_pgsql_impl.h"
#include "audit_walk.h"

#define PAGE "1000"	/* records fetched per round trip */

struct pg_source {
	PGconn		*conn;
	const char	*node;
	PGresult	*page;
	int		 row;	/* next row of page */
	int64_t		 after;	/* seq of the last record handed out */
};

/* A query of this file: node is $1, an optional bigint is $2. */
static int
query(struct pg_source *s, const char *sql, const int64_t *arg,
    PGresult **out)
{
	struct pgu_params p;

	pgu_init(&p);
	pgu_bytes(&p, s->node, strlen(s->node));
	if (arg != NULL)
		pgu_int8(&p, *arg);
	return apg_rc(pgu_query(s->conn, sql, &p, out));
}

static int
pg_checkpoints(void *arg, struct audit_walk *w)
{
	struct pg_source *s = arg;
	PGresult *res = NULL;
	int64_t seq, time;
	int i, n, rc;

	rc = query(s, "SELECT seq, time, head, sig FROM audit_checkpoint"
	    " WHERE node = $1 ORDER BY seq", NULL, &res);
	if (rc != AUDIT_OK)
		return rc;
	n = PQntuples(res);
	for (i = 0; rc == AUDIT_OK && i < n; i++) {
		time = 0;
		if (!pgu_get_int8(res, i, 0, &seq) ||
		    !pgu_get_int8(res, i, 1, &time))
			seq = 0;
		rc = audit_walk_checkpoint(w, (uint64_t)seq, time,
		    PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2),
		    PQgetvalue(res, i, 3), (size_t)PQgetlength(res, i, 3));
	}
	PQclear(res);
	return rc;
}

/* The next page of records after s->after; empty at the end. */
static int
next_page(struct pg_source *s)
{
	PQclear(s->page);
	s->page = NULL;
	s->row = 0;
	return query(s, "SELECT seq, time, actor, role, tenant, action,"
	    " object, result, detail, prev_hash, hash FROM audit_log"
	    " WHERE node = $1 AND seq > $2 ORDER BY seq LIMIT " PAGE,
	    &s->after, &s->page);
}

static int
pg_next(void *arg, struct audit_row *r, int *more)
{
	struct pg_source *s = arg;
	const PGresult *p;
	int64_t seq;
	int i, f, ok, rc;

	*more = 0;
	if ((s->page == NULL || s->row >= PQntuples(s->page)) &&
	    (rc = next_page(s)) != AUDIT_OK)
		return rc;
	if (s->row >= PQntuples(s->page))
		return AUDIT_OK;
	*more = 1;
	p = s->page;
	i = s->row++;
	/* seq is NOT NULL bigint; should it not read, it is the next one. */
	ok = pgu_get_int8(p, i, 0, &seq);
	r->seq = ok ? (uint64_t)seq : (uint64_t)s->after + 1;
	s->after = (int64_t)r->seq;
	r->malformed = !ok || !pgu_get_int8(p, i, 1, &r->time) ||
	    PQgetlength(p, i, 9) != AUDIT_HASH_LEN ||
	    PQgetlength(p, i, 10) != AUDIT_HASH_LEN;
	for (f = 0; f < AUDIT_NFIELDS; f++) {
		r->field[f] = PQgetvalue(p, i, 2 + f);
		r->len[f] = (size_t)PQgetlength(p, i, 2 + f);
	}
	r->prev = (const uint8_t *)PQgetvalue(p, i, 9);
	r->hash = (const uint8_t *)PQgetvalue(p, i, 10);
	return AUDIT_OK;
}

static int
pg_head(void *arg, uint64_t *seq)
{
	struct pg_source *s = arg;
	PGresult *res = NULL;
	int64_t head = 0;
	int rc;

	*seq = 0;
	rc = query(s, "SELECT seq FROM audit_head WHERE node = $1", NULL,
	    &res);
	if (rc != AUDIT_OK)
		return rc;
	if (PQntuples(res) == 1 && pgu_get_int8(res, 0, 0, &head))
		*seq = (uint64_t)head;
	PQclear(res);
	return AUDIT_OK;
}

static const struct audit_source pg_source = {
	.checkpoints = pg_checkpoints,
	.next = pg_next,
	.head = pg_head,
};

int
audit_pg_verify(PGconn *conn, const char *node, EVP_PKEY *pub,
    struct audit_verify_result *res)
{
	return audit_pg_verify_ext(conn, node, pub, NULL, res);
}

int
audit_pg_verify_ext(PGconn *conn, const char *node, EVP_PKEY *pub,
    const struct audit_ckpts *ext, struct audit_verify_result *res)
{
	struct pg_source s = { .conn = conn, .node = node };
	int rc;

	if (conn == NULL || node == NULL || res == NULL)
		return AUDIT_ERR_ARG;
	memset(res, 0, sizeof(*res));
	rc = apg_rc(pgu_exec(conn,
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
	if (rc != AUDIT_OK)
		return rc;
	rc = audit_walk(&pg_source, &s, pub, ext, res);
	PQclear(s.page);
	PQclear(PQexec(conn, "COMMIT"));
	return rc;
}
