/* Fixtures for the PostgreSQL ledger tests (see pgfx.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include <signet/audit.h>
#include <signet/audit_pgsql.h>
#include <signet/ledger.h>

#include "pgfx.h"
#include "testutil.h"

void
pgfx_require(void)
{
	if (getenv("SIGNET_PG_CONNINFO") != NULL)
		return;
	fprintf(stderr, "no PostgreSQL test server: run this test through"
	    " tests/support/pgtest.sh run -- (ctest does); the server comes"
	    " from tools/install-deps.sh --cluster\n");
	exit(1);
}

/* A direct connection with conninfo; fails the case if it fails. */
static PGconn *
connect_to(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);

	if (c == NULL || PQstatus(c) != CONNECTION_OK)
		fail_msg("connect %s: %s", conninfo,
		    c != NULL ? PQerrorMessage(c) : "out of memory");
	return c;
}

static void
exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

void
pgfx_init(struct pgfx *fx)
{
	static unsigned int n;
	const char *base;
	char sql[128];
	PGconn *c;

	pgfx_require();
	base = getenv("SIGNET_PG_CONNINFO");
	memset(fx, 0, sizeof(*fx));
	snprintf(fx->db, sizeof(fx->db), "signet_t%ld_%u", (long)getpid(),
	    ++n);
	snprintf(fx->conninfo, sizeof(fx->conninfo), "%s dbname=%s", base,
	    fx->db);
	c = connect_to(base);
	/* Test code: the name is ours, made of digits and letters. */
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", fx->db);
	exec_ok(c, sql);
	PQfinish(c);
	fx->key = tu_p256();
}

void
pgfx_fini(struct pgfx *fx)
{
	char sql[128];
	PGconn *c;

	EVP_PKEY_free(fx->key);
	fx->key = NULL;
	if ((c = PQconnectdb(getenv("SIGNET_PG_CONNINFO"))) != NULL &&
	    PQstatus(c) == CONNECTION_OK) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s"
		    " WITH (FORCE)", fx->db);
		PQclear(PQexec(c, sql));
	}
	PQfinish(c);
}

int
pgfx_setup(void **state)
{
	static struct pgfx fx;

	pgfx_init(&fx);
	*state = &fx;
	return 0;
}

int
pgfx_teardown(void **state)
{
	pgfx_fini(*state);
	return 0;
}

void
pgfx_target(const struct pgfx *fx, const char *node, char *buf,
    size_t size)
{
	snprintf(buf, size, "%s node=%s", fx->conninfo, node);
}

struct ledger *
pgfx_open(const struct pgfx *fx, const char *node, int no_group_commit)
{
	struct ledger_config cfg;
	struct ledger *l = NULL;
	char target[1200];
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.audit.key = fx->key;
	cfg.audit.every_n = 4;
	cfg.no_group_commit = no_group_commit;
	pgfx_target(fx, node, target, sizeof(target));
	if ((rc = ledger_open_config("pgsql", target, &cfg, &l)) != LEDGER_OK)
		fail_msg("ledger_open pgsql %s: %s", target,
		    ledger_strerror(rc));
	return l;
}

PGconn *
pgfx_connect(const struct pgfx *fx)
{
	return connect_to(fx->conninfo);
}

int
pgfx_sql(const struct pgfx *fx, const char *sql)
{
	PGconn *c = pgfx_connect(fx);
	PGresult *r = PQexec(c, sql);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;

	PQclear(r);
	PQfinish(c);
	return rc;
}

int64_t
pgfx_int(const struct pgfx *fx, const char *sql)
{
	PGconn *c = pgfx_connect(fx);
	PGresult *r = PQexec(c, sql);
	int64_t v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

void
pgfx_chain_ok(const struct pgfx *fx, const char *node, uint64_t records)
{
	struct audit_verify_result res;
	PGconn *c = pgfx_connect(fx);

	assert_int_equal(audit_pg_verify(c, node, fx->key, &res), AUDIT_OK);
	PQfinish(c);
	if (res.status != AUDIT_VERIFY_OK)
		fail_msg("audit chain: %s", res.message);
	assert_int_equal(res.records, records);
}

int
pgfx_server(const char *verb)
{
	const char *script = getenv("SIGNET_PGTEST");
	const char *dir = getenv("SIGNET_PGTEST_DIR");
	pid_t pid;
	int status;

	if (script == NULL || dir == NULL)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		execl(script, script, verb, dir, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
