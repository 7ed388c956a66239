/*
 * The PostgreSQL backend's plumbing: the target string, connections that
 * come back after a database restart, and libpq's faults (pgutil.h) as
 * ledger_rc.  Values only ever travel as parameters of prepared
 * statements, never inside SQL text.
 */
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
    const struct pgu_stmt *stmts, size_t nstmts, int audit)
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
	rc = pg_fault_rc(c, pgu_check(c->conn, res));
	PQclear(res);
	for (i = 0; rc == LEDGER_OK && i < c->nstmts; i++)
		rc = pg_fault_rc(c, pgu_prepare(c->conn, &c->stmts[i]));
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

/* libpq's faults as ledger_rc; a lost link marks the connection broken. */
int
pg_fault_rc(struct pg_conn *c, enum pgu_fault f)
{
	static const int rc[PGU_NFAULTS] = {
		[PGU_OK] = LEDGER_OK,
		[PGU_LINK] = LEDGER_ERR_DOWN,
		[PGU_NOMEM] = LEDGER_ERR_NOMEM,
		[PGU_ARG] = LEDGER_ERR_ARG,
		[PGU_SHUTDOWN] = LEDGER_ERR_DOWN,
		[PGU_TOO_MANY] = LEDGER_ERR_DOWN,
		[PGU_UNIQUE] = LEDGER_ERR_DUPLICATE,
		[PGU_CONSTRAINT] = LEDGER_ERR_ARG,
		[PGU_DATA] = LEDGER_ERR_ARG,
		[PGU_DISK_FULL] = LEDGER_ERR_FULL,
		[PGU_RESOURCES] = LEDGER_ERR_IO,
		[PGU_BUSY] = LEDGER_ERR_BUSY,
		[PGU_UNDEFINED] = LEDGER_ERR_SCHEMA,
		[PGU_SQL] = LEDGER_ERR_DB,
		[PGU_SYSTEM] = LEDGER_ERR_IO,
		[PGU_OTHER] = LEDGER_ERR_DB,
	};

	if (rc[f] == LEDGER_ERR_DOWN)
		c->broken = 1;
	return rc[f];
}

int
pg_result_rc(struct pg_conn *c, const PGresult *res)
{
	return pg_fault_rc(c, pgu_classify(c->conn, res));
}

int
pg_simple(struct pg_conn *c, const char *sql)
{
	return pg_fault_rc(c, pgu_exec(c->conn, sql));
}

int
pg_run(struct pg_conn *c, const char *name, const struct pgu_params *p,
    PGresult **out)
{
	return pg_fault_rc(c, pgu_run(c->conn, name, p, out));
}
