/*
 * libpq helpers shared by the PostgreSQL ledger (firmware/ledger) and
 * the audit chain in PostgreSQL (firmware/audit).  Values only travel as
 * parameters, in binary format where they are not plain text; results
 * are asked for in binary format.
 *
 * Failures come back as an enum pgu_fault, which says what went wrong
 * in PostgreSQL's terms; each caller maps it to its own error vocabulary
 * (ledger_rc, audit_rc).  Nothing here allocates except pgu_get_strdup,
 * and nothing prints.
 */
#ifndef SIGNET_PGUTIL_H
#define SIGNET_PGUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define PGU_MAXP	16	/* parameters of one statement */

/* What a failed call ran into; PGU_OK is 0. */
enum pgu_fault {
	PGU_OK = 0,
	PGU_LINK,	/* no connection, libpq's own error, SQLSTATE 08 */
	PGU_NOMEM,	/* no result (libpq), or SQLSTATE 53200 */
	PGU_ARG,	/* a statement with more than PGU_MAXP parameters */
	PGU_SHUTDOWN,	/* 57P0x: the server is stopping or starting */
	PGU_TOO_MANY,	/* 53300: too many connections */
	PGU_UNIQUE,	/* 23505 */
	PGU_CONSTRAINT,	/* other class 23 */
	PGU_DATA,	/* class 22 */
	PGU_DISK_FULL,	/* 53100 */
	PGU_RESOURCES,	/* other class 53 */
	PGU_BUSY,	/* class 40, lock_timeout, statement_timeout */
	PGU_UNDEFINED,	/* 42P01, 42703: no such table or column */
	PGU_SQL,	/* other class 42 */
	PGU_SYSTEM,	/* class 58 */
	PGU_OTHER,
	PGU_NFAULTS
};

/* Parameters of one statement. */
struct pgu_params {
	int		 n;
	const char	*val[PGU_MAXP];
	int		 len[PGU_MAXP];
	int		 fmt[PGU_MAXP];
	uint8_t		 num[PGU_MAXP][8];
};

/*
 * A statement to prepare: its name, its SQL and one letter per parameter
 * giving the type ('b' bytea, 't' text, '8' bigint, '4' integer).
 */
struct pgu_stmt {
	const char	*name;
	const char	*sql;
	const char	*types;
};

void	pgu_init(struct pgu_params *p);
void	pgu_null(struct pgu_params *p);
/* A NUL-terminated string in text format; NULL: SQL NULL. */
void	pgu_text(struct pgu_params *p, const char *s);
/* n bytes in binary format (a bytea, or text as it is); NULL: SQL NULL. */
void	pgu_bytes(struct pgu_params *p, const void *b, size_t n);
void	pgu_int8(struct pgu_params *p, int64_t v);
void	pgu_int4(struct pgu_params *p, int32_t v);

/* Binary result columns; 0 when null or not of the expected size. */
int	pgu_get_int8(const PGresult *r, int row, int col, int64_t *v);
int	pgu_get_int4(const PGresult *r, int row, int col, int32_t *v);
/* A text column as a new string; NULL only when out of memory. */
char	*pgu_get_strdup(const PGresult *r, int row, int col);
/* The number of rows a statement changed, or -1. */
long	pgu_changed(const PGresult *res);

/* Why res (NULL, or not a success) failed on conn (may be NULL). */
enum pgu_fault pgu_classify(PGconn *conn, const PGresult *res);
/* PGU_OK for a command or rows, else pgu_classify. */
enum pgu_fault pgu_check(PGconn *conn, const PGresult *res);

/* SQL without parameters, results discarded (BEGIN, a schema...). */
enum pgu_fault pgu_exec(PGconn *conn, const char *sql);
/* Prepare st on conn. */
enum pgu_fault pgu_prepare(PGconn *conn, const struct pgu_stmt *st);
/*
 * Run prepared statement name (pgu_run) or sql (pgu_query) with p,
 * results in binary format; on PGU_OK *out (if not NULL) gets the rows,
 * for the caller to PQclear.
 */
enum pgu_fault pgu_run(PGconn *conn, const char *name,
	    const struct pgu_params *p, PGresult **out);
enum pgu_fault pgu_query(PGconn *conn, const char *sql,
	    const struct pgu_params *p, PGresult **out);

#endif
