/*
 * libpq helpers shared by the ledger and the audit chain (pgutil.h):
 * parameters and results in binary format, prepared statements, and
 * SQLSTATEs sorted into faults each caller maps to its own error codes.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <signet/pgutil.h>

void
pgu_init(struct pgu_params *p)
{
	memset(p, 0, sizeof(*p));
}

void
pgu_null(struct pgu_params *p)
{
	p->val[p->n] = NULL;
	p->len[p->n] = 0;
	p->fmt[p->n++] = 1;
}

void
pgu_text(struct pgu_params *p, const char *s)
{
	if (s == NULL) {
		pgu_null(p);
		return;
	}
	p->val[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n++] = 0;
}

void
pgu_bytes(struct pgu_params *p, const void *b, size_t n)
{
	if (b == NULL) {
		pgu_null(p);
		return;
	}
	p->val[p->n] = b;
	p->len[p->n] = (int)n;
	p->fmt[p->n++] = 1;
}

void
pgu_int8(struct pgu_params *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 7; i >= 0; i--, u >>= 8)
		p->num[p->n][i] = (uint8_t)u;
	pgu_bytes(p, p->num[p->n], 8);
}

void
pgu_int4(struct pgu_params *p, int32_t v)
{
	uint32_t u = htonl((uint32_t)v);

	memcpy(p->num[p->n], &u, 4);
	pgu_bytes(p, p->num[p->n], 4);
}

int
pgu_get_int8(const PGresult *r, int row, int col, int64_t *v)
{
	const uint8_t *b;
	uint64_t u = 0;
	int i;

	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
		return 0;
	b = (const uint8_t *)PQgetvalue(r, row, col);
	for (i = 0; i < 8; i++)
		u = u << 8 | b[i];
	*v = (int64_t)u;
	return 1;
}

int
pgu_get_int4(const PGresult *r, int row, int col, int32_t *v)
{
	uint32_t u;

	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 4)
		return 0;
	memcpy(&u, PQgetvalue(r, row, col), 4);
	*v = (int32_t)ntohl(u);
	return 1;
}

char *
pgu_get_strdup(const PGresult *r, int row, int col)
{
	return strndup(PQgetvalue(r, row, col),
	    (size_t)PQgetlength(r, row, col));
}

long
pgu_changed(const PGresult *res)
{
	const char *s = PQcmdTuples((PGresult *)res);
	char *end;
	long n;

	n = strtol(s, &end, 10);
	return end != s && *end == '\0' ? n : -1;
}

/* SQLSTATE classes and codes (PostgreSQL appendix A), first match. */
static enum pgu_fault
sqlstate_fault(const char *st)
{
	static const struct {
		const char	*prefix;
		enum pgu_fault	 fault;
	} map[] = {
		{ "08", PGU_LINK },		/* connection exception */
		{ "57P0", PGU_SHUTDOWN },	/* shutdown, cannot connect */
		{ "53300", PGU_TOO_MANY },
		{ "23505", PGU_UNIQUE },
		{ "23", PGU_CONSTRAINT },
		{ "22", PGU_DATA },
		{ "53100", PGU_DISK_FULL },
		{ "53200", PGU_NOMEM },
		{ "53", PGU_RESOURCES },
		{ "40", PGU_BUSY },		/* serialization, deadlock */
		{ "55P03", PGU_BUSY },		/* lock_timeout */
		{ "57014", PGU_BUSY },		/* statement_timeout */
		{ "42P01", PGU_UNDEFINED },	/* undefined table */
		{ "42703", PGU_UNDEFINED },	/* undefined column */
		{ "42", PGU_SQL },
		{ "58", PGU_SYSTEM },		/* system error */
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(st, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].fault;
	return PGU_OTHER;
}

enum pgu_fault
pgu_classify(PGconn *conn, const PGresult *res)
{
	const char *st;

	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
		return PGU_LINK;
	if (res == NULL)
		return PGU_NOMEM;
	/* libpq's own errors carry no SQLSTATE: the link failed. */
	if ((st = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		return PGU_LINK;
	return sqlstate_fault(st);
}

enum pgu_fault
pgu_check(PGconn *conn, const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return PGU_OK;
	return pgu_classify(conn, res);
}

enum pgu_fault
pgu_exec(PGconn *conn, const char *sql)
{
	PGresult *res;
	enum pgu_fault f;

	res = PQexec(conn, sql);
	f = pgu_check(conn, res);
	PQclear(res);
	return f;
}

static Oid
type_oid(char letter)
{
	switch (letter) {
	case 'b':
		return 17;	/* bytea */
	case '8':
		return 20;	/* bigint */
	case '4':
		return 23;	/* integer */
	default:
		return 25;	/* text */
	}
}

enum pgu_fault
pgu_prepare(PGconn *conn, const struct pgu_stmt *st)
{
	Oid types[PGU_MAXP];
	PGresult *res;
	size_t i, n = strlen(st->types);
	enum pgu_fault f;

	if (n > PGU_MAXP)
		return PGU_ARG;
	for (i = 0; i < n; i++)
		types[i] = type_oid(st->types[i]);
	res = PQprepare(conn, st->name, st->sql, (int)n, types);
	f = pgu_check(conn, res);
	PQclear(res);
	return f;
}

/* Hand a good result over to *out (if wanted); clear the rest. */
static enum pgu_fault
result(PGconn *conn, PGresult *res, PGresult **out)
{
	enum pgu_fault f;

	f = pgu_check(conn, res);
	if (f == PGU_OK && out != NULL) {
		*out = res;
		res = NULL;
	}
	PQclear(res);
	return f;
}

enum pgu_fault
pgu_run(PGconn *conn, const char *name, const struct pgu_params *p,
    PGresult **out)
{
	return result(conn, PQexecPrepared(conn, name, p->n, p->val, p->len,
	    p->fmt, 1), out);
}

enum pgu_fault
pgu_query(PGconn *conn, const char *sql, const struct pgu_params *p,
    PGresult **out)
{
	return result(conn, PQexecParams(conn, sql, p->n, NULL, p->val,
	    p->len, p->fmt, 1), out);
}
