/*
 * The PostgreSQL backend's plumbing: the target string, connections that
 * come back after a database restart, error classification, and
 * parameters and results in binary format.  Values only ever travel as
 * parameters of prepared statements, never inside SQL text.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <signet/audit_pgsql.h>
#include <signet/ledger.h>

#include "ledger_impl.h"
#include "ledger_pgsql.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	5000
#define BUSY_DEFAULT_MS	10000

/*
 * Connection defaults a user's target may override.  Timeouts and TCP
 * keepalives bound how long a dead server or a cut network can hold a
 * request: the engine must answer "down", not hang.  read-write makes a
 * multi-host target land on the primary.
 */
static const char *const defaults[][2] = {
	{ "connect_timeout", "3" },
	{ "keepalives", "1" },
	{ "keepalives_idle", "10" },
	{ "keepalives_interval", "3" },
	{ "keepalives_count", "3" },
	{ "tcp_user_timeout", "15000" },
	{ "application_name", "signetd" },
	{ "client_encoding", "UTF8" },
	{ "target_session_attrs", "read-write" },
};

#define NDEFAULTS (sizeof(defaults) / sizeof(defaults[0]))

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
node_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > PG_NODE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

/*
 * One "key = value" of libpq's conninfo syntax: the value is a run of
 * non-blanks or a single-quoted string, with backslash escapes in both.
 * Copies key and value, NUL-terminated, to *out; advances *sp.
 */
static int
parse_pair(const char **sp, char **out, const char **key, const char **val)
{
	const char *s = *sp;
	char *o = *out;
	int quoted;

	*key = o;
	while (isalnum((unsigned char)*s) || *s == '_')
		*o++ = *s++;
	if (o == *key)
		return -1;
	*o++ = '\0';
	while (isspace((unsigned char)*s))
		s++;
	if (*s++ != '=')
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	*val = o;
	if ((quoted = *s == '\'') != 0)
		s++;
	while (*s != '\0' && (quoted ? *s != '\'' :
	    !isspace((unsigned char)*s))) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		*o++ = *s++;
	}
	if (quoted && *s++ != '\'')
		return -1;
	*o++ = '\0';
	*sp = s;
	*out = o;
	return 0;
}

/* The index of kw among the first n keywords, or -1. */
static int
find_kw(const struct pg_target *t, int n, const char *kw)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(t->kw[i], kw) == 0)
			return i;
	return -1;
}

int
pg_target_parse(const char *s, struct pg_target *t)
{
	const char *key, *val;
	char *o;
	size_t i;
	int k, n = 0, rc = LEDGER_ERR_ARG;

	memset(t, 0, sizeof(*t));
	if ((t->buf = malloc(strlen(s) * 2 + 2)) == NULL)
		return LEDGER_ERR_NOMEM;
	o = t->buf;
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		if (parse_pair(&s, &o, &key, &val) != 0)
			goto out;
		if (strcmp(key, "node") == 0) {
			if (!node_ok(val))
				goto out;
			memcpy(t->node, val, strlen(val) + 1);
			continue;
		}
		/* As in libpq, a keyword given twice takes the last value. */
		if ((k = find_kw(t, n, key)) >= 0) {
			t->val[k] = val;
			continue;
		}
		if (n >= PG_MAX_KW - (int)NDEFAULTS)
			goto out;
		t->kw[n] = key;
		t->val[n++] = val;
	}
	for (i = 0; i < NDEFAULTS; i++) {
		if (find_kw(t, n, defaults[i][0]) >= 0)
			continue;
		t->kw[n] = defaults[i][0];
		t->val[n++] = defaults[i][1];
	}
	/* Without node=, the host name: unique per appliance in practice. */
	if (t->node[0] == '\0') {
		if (gethostname(t->node, sizeof(t->node)) != 0)
			goto out;
		t->node[PG_NODE_MAX] = '\0';
		if (!node_ok(t->node))
			goto out;
	}
	t->busy_ms = BUSY_DEFAULT_MS;
	rc = LEDGER_OK;
out:
	if (rc != LEDGER_OK)
		pg_target_free(t);
	return rc;
}

void
pg_target_free(struct pg_target *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

void
pg_conn_init(struct pg_conn *c, const struct pg_target *t,
    const struct pg_stmt *stmts, size_t nstmts, int audit)
{
	memset(c, 0, sizeof(*c));
	c->target = t;
	c->stmts = stmts;
	c->nstmts = nstmts;
	c->audit = audit;
	pthread_mutex_init(&c->lock, NULL);
}

void
pg_conn_close(struct pg_conn *c)
{
	if (c->target == NULL)
		return;
	PQfinish(c->conn);
	c->conn = NULL;
	pthread_mutex_destroy(&c->lock);
	c->target = NULL;
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

static int
prepare(struct pg_conn *c, const struct pg_stmt *st)
{
	Oid types[PG_MAXP];
	PGresult *res;
	size_t i, n = strlen(st->types);
	int rc = LEDGER_OK;

	if (n > PG_MAXP)
		return LEDGER_ERR_ARG;
	for (i = 0; i < n; i++)
		types[i] = type_oid(st->types[i]);
	res = PQprepare(c->conn, st->name, st->sql, (int)n, types);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_result_rc(c, res);
	PQclear(res);
	return rc;
}

/*
 * Per-session settings: durability on whatever the server default, and
 * lock and statement timeouts so a stuck peer turns into LEDGER_ERR_BUSY.
 * An idle transaction is cut after a minute so a frozen node cannot hold
 * row locks (a chain head, a counter) for ever.
 */
static int
setup(struct pg_conn *c)
{
	static const char sql[] = "SELECT"
	    " set_config('synchronous_commit', 'on', false),"
	    " set_config('lock_timeout', $1, false),"
	    " set_config('statement_timeout', $2, false),"
	    " set_config('idle_in_transaction_session_timeout', '60000',"
	    "  false)";
	char lock[16], stmt[16];
	const char *val[2] = { lock, stmt };
	PGresult *res;
	size_t i;
	int rc = LEDGER_OK;

	snprintf(lock, sizeof(lock), "%d", c->target->busy_ms);
	snprintf(stmt, sizeof(stmt), "%d", c->target->busy_ms * 2);
	res = PQexecParams(c->conn, sql, 2, NULL, val, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_result_rc(c, res);
	PQclear(res);
	for (i = 0; rc == LEDGER_OK && i < c->nstmts; i++)
		rc = prepare(c, &c->stmts[i]);
	if (rc == LEDGER_OK && c->audit)
		rc = ledger_audit_rc(audit_pg_prepare(c->conn));
	return rc;
}

static void
quiet(void *arg, const char *message)
{
}

int
pg_conn_ensure(struct pg_conn *c, int *fresh)
{
	int64_t now;
	int rc;

	if (fresh != NULL)
		*fresh = 0;
	if (c->conn != NULL && !c->broken &&
	    PQstatus(c->conn) == CONNECTION_OK)
		return LEDGER_OK;
	now = mono_ms();
	if (now < c->retry_at)
		return LEDGER_ERR_DOWN;
	PQfinish(c->conn);
	c->broken = 0;
	c->conn = PQconnectdbParams(c->target->kw, c->target->val, 0);
	if (c->conn == NULL)
		return LEDGER_ERR_NOMEM;
	if (PQstatus(c->conn) != CONNECTION_OK)
		rc = LEDGER_ERR_DOWN;
	else {
		/* A library does not print: server notices are dropped. */
		PQsetNoticeProcessor(c->conn, quiet, NULL);
		rc = setup(c);
	}
	if (rc != LEDGER_OK) {
		PQfinish(c->conn);
		c->conn = NULL;
		c->backoff = c->backoff == 0 ? BACKOFF_MIN_MS :
		    c->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
		    c->backoff * 2;
		c->retry_at = now + c->backoff;
		return rc;
	}
	c->backoff = 0;
	c->retry_at = 0;
	if (fresh != NULL)
		*fresh = 1;
	return LEDGER_OK;
}

/* SQLSTATE classes and codes (PostgreSQL appendix A) to ledger_rc. */
static int
sqlstate_rc(const char *st)
{
	static const struct {
		const char	*prefix;
		int		 rc;
	} map[] = {
		{ "08", LEDGER_ERR_DOWN },	/* connection exception */
		{ "57P0", LEDGER_ERR_DOWN },	/* shutdown, cannot connect */
		{ "53300", LEDGER_ERR_DOWN },	/* too many connections */
		{ "23505", LEDGER_ERR_DUPLICATE },
		{ "23", LEDGER_ERR_ARG },	/* other constraints */
		{ "22", LEDGER_ERR_ARG },	/* data exception */
		{ "53100", LEDGER_ERR_FULL },	/* disk full */
		{ "53200", LEDGER_ERR_NOMEM },
		{ "53", LEDGER_ERR_IO },
		{ "40", LEDGER_ERR_BUSY },	/* serialization, deadlock */
		{ "55P03", LEDGER_ERR_BUSY },	/* lock_timeout */
		{ "57014", LEDGER_ERR_BUSY },	/* statement_timeout */
		{ "42P01", LEDGER_ERR_SCHEMA },	/* undefined table */
		{ "42703", LEDGER_ERR_SCHEMA },	/* undefined column */
		{ "58", LEDGER_ERR_IO },	/* system error */
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(st, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].rc;
	return LEDGER_ERR_DB;
}

int
pg_result_rc(struct pg_conn *c, const PGresult *res)
{
	const char *st;
	int rc;

	if (c->conn == NULL || PQstatus(c->conn) == CONNECTION_BAD) {
		c->broken = 1;
		return LEDGER_ERR_DOWN;
	}
	if (res == NULL)
		return LEDGER_ERR_NOMEM;
	/* libpq's own errors carry no SQLSTATE: the link failed. */
	if ((st = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		rc = LEDGER_ERR_DOWN;
	else
		rc = sqlstate_rc(st);
	if (rc == LEDGER_ERR_DOWN)
		c->broken = 1;
	return rc;
}

int
pg_simple(struct pg_conn *c, const char *sql)
{
	PGresult *res;
	int rc = LEDGER_OK;

	res = PQexec(c->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_result_rc(c, res);
	PQclear(res);
	return rc;
}

int
pg_run(struct pg_conn *c, const char *name, const struct pg_params *p,
    PGresult **out)
{
	PGresult *res;
	ExecStatusType st;
	int rc = LEDGER_OK;

	res = PQexecPrepared(c->conn, name, p->n, p->val, p->len, p->fmt, 1);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = pg_result_rc(c, res);
	if (rc == LEDGER_OK && out != NULL) {
		*out = res;
		res = NULL;
	}
	PQclear(res);
	return rc;
}

long
pg_changed(const PGresult *res)
{
	const char *s = PQcmdTuples((PGresult *)res);
	char *end;
	long n;

	n = strtol(s, &end, 10);
	return end != s && *end == '\0' ? n : -1;
}

void
pgp_init(struct pg_params *p)
{
	memset(p, 0, sizeof(*p));
}

void
pgp_null(struct pg_params *p)
{
	p->val[p->n] = NULL;
	p->len[p->n] = 0;
	p->fmt[p->n++] = 1;
}

void
pgp_text(struct pg_params *p, const char *s)
{
	if (s == NULL) {
		pgp_null(p);
		return;
	}
	p->val[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n++] = 0;
}

void
pgp_bytea(struct pg_params *p, const void *b, size_t n)
{
	if (b == NULL) {
		pgp_null(p);
		return;
	}
	p->val[p->n] = b;
	p->len[p->n] = (int)n;
	p->fmt[p->n++] = 1;
}

void
pgp_int8(struct pg_params *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 7; i >= 0; i--, u >>= 8)
		p->num[p->n][i] = (uint8_t)u;
	pgp_bytea(p, p->num[p->n], 8);
}

void
pgp_int4(struct pg_params *p, int32_t v)
{
	uint32_t u = htonl((uint32_t)v);

	memcpy(p->num[p->n], &u, 4);
	pgp_bytea(p, p->num[p->n], 4);
}

int
pgr_int8(const PGresult *r, int row, int col, int64_t *v)
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
pgr_int4(const PGresult *r, int row, int col, int32_t *v)
{
	uint32_t u;

	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 4)
		return 0;
	memcpy(&u, PQgetvalue(r, row, col), 4);
	*v = (int32_t)ntohl(u);
	return 1;
}

char *
pgr_strdup(const PGresult *r, int row, int col)
{
	return strndup(PQgetvalue(r, row, col),
	    (size_t)PQgetlength(r, row, col));
}
