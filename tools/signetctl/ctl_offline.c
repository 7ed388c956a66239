/*
 * The verbs that need no running appliance: `audit verify` (the audit
 * library's own verifier, as signet-audit runs it, over a SQLite ledger
 * or one node's chain in a PostgreSQL ledger), `audit show` and
 * `tokens list` (read-only queries of a SQLite ledger file), and
 * `config check` (signetd's own configuration loader, as signetd -n).
 * The ledger is opened read-only: these verbs never write it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include <openssl/pem.h>

#include <signet/audit.h>
#include <signet/audit_pgsql.h>
#include <signet/sconf.h>

#include "ctl_cmd.h"

#define CTL_DEFAULT_SIGNETD_CONF "/etc/signet/signetd.conf"

static void
unix_time(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "-");
}

static EVP_PKEY *
load_pubkey(const char *path)
{
	EVP_PKEY *key = NULL;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		ctl_err("%s: cannot open it: %s", path, strerror(errno));
		return NULL;
	}
	if ((key = PEM_read_PUBKEY(f, NULL, NULL, NULL)) == NULL)
		ctl_err("%s: not a PEM public key", path);
	fclose(f);
	return key;
}

static int
pg_verify(const char *conninfo, const char *node, EVP_PKEY *key,
    const struct audit_ckpts *ext, struct audit_verify_result *res)
{
	PGconn *conn;
	int rc;

	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		ctl_err("PostgreSQL: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return AUDIT_ERR_IO;
	}
	rc = audit_pg_verify_ext(conn, node, key, ext, res);
	PQfinish(conn);
	return rc;
}

int
ctl_cmd_audit_verify(struct ctl *c, int argc, char **argv)
{
	enum { O_PUB = 1, O_DB, O_PG, O_NODE, O_CKPT };
	static const struct option lo[] = {
		{ "pubkey", required_argument, NULL, O_PUB },
		{ "db", required_argument, NULL, O_DB },
		{ "pgsql", required_argument, NULL, O_PG },
		{ "node", required_argument, NULL, O_NODE },
		{ "checkpoints", required_argument, NULL, O_CKPT },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_verb *v = ctl_verb_find("audit", "verify");
	const char *pub = NULL, *db = NULL, *pg = NULL, *node = NULL, *what;
	const char *ckfile = NULL;
	struct audit_verify_result res;
	struct audit_ckpts ext = { NULL, 0 };
	EVP_PKEY *key = NULL;
	char err[512];
	int ch, rc;

	while ((ch = ctl_getopt(c, v, argc, argv, "", lo)) != -1) {
		if (ch == -3)
			return CTL_EXIT_OK;
		if (ch == -2)
			return CTL_EXIT_ERR;
		*(ch == O_PUB ? &pub : ch == O_DB ? &db : ch == O_PG ? &pg :
		    ch == O_CKPT ? &ckfile : &node) = optarg;
	}
	if (optind != argc)
		return ctl_usage_err(v, "audit verify takes no arguments");
	if (pub == NULL)
		return ctl_usage_err(v, "--pubkey is missing (signet-provision "
		    "pubkey -l signet-audit prints it)");
	if ((db == NULL) == (pg == NULL) || (pg != NULL && node == NULL))
		return ctl_usage_err(v, "give --db FILE, or --pgsql CONNINFO "
		    "with --node ID");
	if ((key = load_pubkey(pub)) == NULL)
		return CTL_EXIT_ERR;
	/* Issue 19: the checkpoints the engine exported as it signed them. */
	if (ckfile != NULL && audit_ckpts_load(ckfile, db != NULL ? NULL :
	    node, &ext, err, sizeof(err)) != AUDIT_OK) {
		ctl_err("%s", err);
		EVP_PKEY_free(key);
		return CTL_EXIT_ERR;
	}
	memset(&res, 0, sizeof(res));
	what = db != NULL ? db : node;
	rc = db != NULL ? audit_verify_ext(db, key, &ext, &res) :
	    pg_verify(pg, node, key, &ext, &res);
	EVP_PKEY_free(key);
	audit_ckpts_free(&ext);
	if (rc != AUDIT_OK) {
		ctl_err("%s: %s", what, audit_strerror(rc));
		return CTL_EXIT_ERR;
	}
	if (c->json) {
		printf("{\"ok\":%s,\"records\":%llu,\"checkpoints\":%llu,"
		    "\"last_checkpoint\":%llu,\"first_bad\":",
		    res.status == AUDIT_VERIFY_OK ? "true" : "false",
		    (unsigned long long)res.records,
		    (unsigned long long)res.checkpoints,
		    (unsigned long long)res.last_checkpoint);
		if (res.status == AUDIT_VERIFY_OK)
			fputs("null", stdout);
		else
			printf("%llu", (unsigned long long)res.seq);
		fputs(",\"message\":", stdout);
		ctl_json_write_str(stdout, res.message);
		puts("}");
	} else if (res.status == AUDIT_VERIFY_OK)
		printf("%s: OK: %s (last checkpoint at seq %llu)\n", what,
		    res.message, (unsigned long long)res.last_checkpoint);
	if (res.status != AUDIT_VERIFY_OK) {
		ctl_err("%s: FAILED: %s", what, res.message);
		return CTL_EXIT_NO;
	}
	return CTL_EXIT_OK;
}

static int
open_ro(const char *path, sqlite3 **db)
{
	char uri[PATH_MAX + 32];

	*db = NULL;
	if (access(path, R_OK) != 0) {
		ctl_err("%s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(uri, sizeof(uri), "%s", path);
	if (sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		ctl_err("%s: %s", path, *db ? sqlite3_errmsg(*db) :
		    "cannot open it");
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*db, 5000);
	return 0;
}

static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s != NULL ? (const char *)s : "";
}

/* --since: RFC 3339 UTC ("2026-12-05T08:00:00Z") or a duration ago. */
static int64_t
since_arg(const char *s)
{
	struct tm tm;
	const char *end;
	int64_t d;

	if ((d = ctl_duration(s)) >= 0)
		return (int64_t)time(NULL) - d;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

static const char audit_sql[] =
    "SELECT seq, time, actor, role, tenant, action, object, result, detail"
    " FROM (SELECT * FROM audit_log WHERE time >= ?1"
    " AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR tenant = ?3)"
    " ORDER BY seq DESC LIMIT ?4) ORDER BY seq";

static void
audit_row_json(sqlite3_stmt *st, int first)
{
	static const char *const names[] = {
		"actor", "role", "tenant", "action", "object", "result",
		"detail"
	};
	char t[32];
	int i;

	unix_time(sqlite3_column_int64(st, 1), t, sizeof(t));
	printf("%s{\"seq\":%lld,\"time\":\"%s\"", first ? "" : ",",
	    (long long)sqlite3_column_int64(st, 0), t);
	for (i = 0; i < 7; i++) {
		printf(",\"%s\":", names[i]);
		ctl_json_write_str(stdout, col(st, i + 2));
	}
	putchar('}');
}

int
ctl_cmd_audit_show_db(struct ctl *c, int argc, char **argv)
{
	enum { O_DB = 1, O_SINCE, O_ACTION, O_LIMIT };
	static const struct option lo[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "since", required_argument, NULL, O_SINCE },
		{ "action", required_argument, NULL, O_ACTION },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const heads[] = {
		"SEQ", "TIME", "ACTION", "RESULT", "TENANT", "OBJECT", "ACTOR",
		"DETAIL"
	};
	const struct ctl_verb *v = ctl_verb_find("audit", "show");
	const char *path = NULL, *action = NULL, *cells[8];
	char seq[24], t[32];
	struct ctl_table *tab = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t since = 0;
	long limit = 50, n = 0;
	char *end;
	int ch, src, rc = CTL_EXIT_ERR;

	while ((ch = ctl_getopt(c, v, argc, argv, "", lo)) != -1) {
		if (ch == -3)
			return CTL_EXIT_OK;
		if (ch == -2)
			return CTL_EXIT_ERR;
		if (ch == O_DB)
			path = optarg;
		else if (ch == O_ACTION)
			action = optarg;
		else if (ch == O_SINCE) {
			if ((since = since_arg(optarg)) < 0)
				return ctl_usage_err(v, "--since: RFC 3339 UTC "
				    "(2026-12-05T08:00:00Z) or a duration ago "
				    "(1h, 7d)");
		} else {
			limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || limit < 1 ||
			    limit > 100000)
				return ctl_usage_err(v, "--limit: 1 to 100000");
		}
	}
	if (optind != argc)
		return ctl_usage_err(v, "audit show takes no arguments");
	if (path == NULL)
		return ctl_usage_err(v, "--db is missing: audit show reads a "
		    "ledger file (the /v1 API has no audit route yet)");
	if (open_ro(path, &db) != 0)
		goto out;
	if (sqlite3_prepare_v2(db, audit_sql, -1, &st, NULL) != SQLITE_OK) {
		ctl_err("%s: no audit log in it (%s)", path,
		    sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_int64(st, 1, since);
	if (action != NULL)
		sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
	if (c->tenant[0] != '\0')
		sqlite3_bind_text(st, 3, c->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, limit);
	if (c->json)
		fputs("{\"records\":[", stdout);
	else if ((tab = ctl_table_new(8, heads)) == NULL)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (c->json) {
			audit_row_json(st, n++ == 0);
			continue;
		}
		snprintf(seq, sizeof(seq), "%lld",
		    (long long)sqlite3_column_int64(st, 0));
		unix_time(sqlite3_column_int64(st, 1), t, sizeof(t));
		cells[0] = seq;
		cells[1] = t;
		cells[2] = col(st, 5);
		cells[3] = col(st, 7);
		cells[4] = col(st, 4);
		cells[5] = col(st, 6);
		cells[6] = col(st, 2);
		cells[7] = col(st, 8);
		if (ctl_table_add(tab, cells) != CTL_OK)
			goto out;
		n++;
	}
	if (src != SQLITE_DONE) {
		ctl_err("%s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	if (c->json)
		puts("]}");
	else {
		if (n > 0)
			ctl_table_print(tab, stdout);
		printf("%ld record%s\n", n, n == 1 ? "" : "s");
	}
	rc = CTL_EXIT_OK;
out:
	ctl_table_free(tab);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/*
 * A listing of the tenant's rows in a ledger file: eab list and tokens
 * list differ only in their query, their words and how a row reads.
 */
struct tenant_list {
	const char	*group, *name;	/* the verb */
	const char	*noargs, *nodb;	/* usage errors */
	const char	*sql;		/* ?1 is the tenant */
	const char	*notable;	/* the query did not prepare */
	const char	*json;		/* the JSON array's name */
	const char	*unit;		/* what the count counts */
	const char	*heads[6];
	/* One row: a JSON object (first: no comma before it), or cells. */
	void		(*row)(sqlite3_stmt *, int64_t, int, int,
			    const char **, char (*)[32]);
};

static int
tenant_list_run(struct ctl *c, const struct tenant_list *l, int argc,
    char **argv)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_verb *v = ctl_verb_find(l->group, l->name);
	const char *path = NULL, *cells[6];
	char buf[2][32];
	struct ctl_table *tab = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t now = (int64_t)time(NULL);
	long n = 0;
	int ch, src, rc = CTL_EXIT_ERR;

	while ((ch = ctl_getopt(c, v, argc, argv, "", lo)) != -1) {
		if (ch == -3)
			return CTL_EXIT_OK;
		if (ch == -2)
			return CTL_EXIT_ERR;
		path = optarg;
	}
	if (optind != argc)
		return ctl_usage_err(v, l->noargs);
	if (path == NULL)
		return ctl_usage_err(v, l->nodb);
	if (ctl_need_tenant(c, v) != 0)
		return CTL_EXIT_ERR;
	if (open_ro(path, &db) != 0)
		goto out;
	if (sqlite3_prepare_v2(db, l->sql, -1, &st, NULL) != SQLITE_OK) {
		ctl_err("%s: %s (%s)", path, l->notable, sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(st, 1, c->tenant, -1, SQLITE_STATIC);
	if (c->json)
		printf("{\"%s\":[", l->json);
	else if ((tab = ctl_table_new(6, l->heads)) == NULL)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		l->row(st, now, c->json, n == 0, cells, buf);
		if (!c->json && ctl_table_add(tab, cells) != CTL_OK)
			goto out;
		n++;
	}
	if (src != SQLITE_DONE) {
		ctl_err("%s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	if (c->json)
		puts("]}");
	else {
		if (n > 0)
			ctl_table_print(tab, stdout);
		printf("%ld %s%s\n", n, l->unit, n == 1 ? "" : "s");
	}
	rc = CTL_EXIT_OK;
out:
	ctl_table_free(tab);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static void
eab_row(sqlite3_stmt *st, int64_t now, int json, int first,
    const char **cells, char (*buf)[32])
{
	int64_t e = sqlite3_column_int64(st, 4);
	const char *state;

	state = sqlite3_column_type(st, 5) != SQLITE_NULL ? "used" :
	    e != 0 && e <= now ? "expired" : "usable";
	unix_time(sqlite3_column_int64(st, 3), buf[0], sizeof(buf[0]));
	if (json) {
		fputs(first ? "{\"kid\":" : ",{\"kid\":", stdout);
		ctl_json_write_str(stdout, col(st, 0));
		fputs(",\"profile\":", stdout);
		ctl_json_write_str(stdout, col(st, 1));
		fputs(",\"label\":", stdout);
		ctl_json_write_str(stdout, col(st, 2));
		fputs(",\"account\":", stdout);
		ctl_json_write_str(stdout, col(st, 5));
		printf(",\"created\":\"%s\",\"state\":\"%s\"}", buf[0],
		    state);
		return;
	}
	cells[0] = col(st, 0);
	cells[1] = col(st, 1);
	cells[2] = col(st, 2);
	cells[3] = buf[0];
	cells[4] = state;
	cells[5] = col(st, 5)[0] != '\0' ? col(st, 5) : "-";
}

/* eab list (issue 20): the tenant's ACME EAB key ids, from the ledger. */
int
ctl_cmd_eab_list(struct ctl *c, int argc, char **argv)
{
	static const struct tenant_list l = { "eab", "list",
		"eab list takes no arguments",
		"--db is missing: eab list reads a ledger file (the /v1 API "
		"has no EAB listing yet)",
		"SELECT kid, profile, label, created, expires, used_by"
		" FROM acme_eab WHERE tenant = ?1 ORDER BY created, kid",
		"no ACME EAB table in it", "eab", "key",
		{ "KID", "PROFILE", "DIRECTORY", "CREATED", "STATE",
		"ACCOUNT" }, eab_row };

	return tenant_list_run(c, &l, argc, argv);
}

static void
tokens_row(sqlite3_stmt *st, int64_t now, int json, int first,
    const char **cells, char (*buf)[32])
{
	int64_t e = sqlite3_column_int64(st, 5);
	const char *state;

	state = sqlite3_column_int64(st, 6) == 0 ? "used" :
	    e <= now ? "expired" : "usable";
	unix_time(e, buf[0], sizeof(buf[0]));
	snprintf(buf[1], sizeof(buf[1]), "%lld",
	    (long long)sqlite3_column_int64(st, 6));
	if (json) {
		fputs(first ? "{\"id\":" : ",{\"id\":", stdout);
		ctl_json_write_str(stdout, col(st, 0));
		fputs(",\"profile\":", stdout);
		ctl_json_write_str(stdout, col(st, 2));
		fputs(",\"names\":", stdout);
		ctl_json_write_str(stdout, col(st, 3));
		printf(",\"uses_left\":%s,\"expires\":\"%s\","
		    "\"state\":\"%s\"}", buf[1], buf[0], state);
		return;
	}
	cells[0] = col(st, 0);
	cells[1] = col(st, 2);
	cells[2] = buf[1];
	cells[3] = buf[0];
	cells[4] = state;
	cells[5] = col(st, 3)[0] != '\0' ? col(st, 3) : "-";
}

int
ctl_cmd_tokens_list(struct ctl *c, int argc, char **argv)
{
	static const struct tenant_list l = { "tokens", "list",
		"tokens list takes no arguments",
		"--db is missing: tokens list reads a ledger file (the /v1 "
		"API has no token listing yet)",
		"SELECT id, tenant, profile, names, created, expires, "
		"uses_left FROM enroll_tokens WHERE tenant = ?1 ORDER BY "
		"created, id",
		"no token table in it", "tokens", "token",
		{ "ID", "PROFILE", "USES_LEFT", "EXPIRES", "STATE", "NAMES" },
		tokens_row };

	return tenant_list_run(c, &l, argc, argv);
}

int
ctl_cmd_tokens_revoke(struct ctl *c, int argc, char **argv)
{
	const struct ctl_verb *v = ctl_verb_find("tokens", "revoke");
	int ch;

	while ((ch = ctl_getopt(c, v, argc, argv, "", NULL)) != -1) {
		if (ch == -3)
			return CTL_EXIT_OK;
		if (ch == -2)
			return CTL_EXIT_ERR;
	}
	/*
	 * Only the engine writes the ledger, each change with its audit
	 * record; until the API has a route for it, say so.
	 */
	ctl_err("tokens revoke: the appliance's /v1 API cannot revoke an "
	    "enrollment token yet; a token expires at its ttl");
	return CTL_EXIT_ERR;
}

int
ctl_cmd_config_check(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_verb *v = ctl_verb_find("config", "check");
	const char *path = CTL_DEFAULT_SIGNETD_CONF;
	char err[SCONF_MAX_ERR];
	struct sconf *conf = NULL;
	size_t i, k, np = 0;
	int ch;

	while ((ch = ctl_getopt(c, v, argc, argv, "f:", lo)) != -1) {
		if (ch == -3)
			return CTL_EXIT_OK;
		if (ch == -2)
			return CTL_EXIT_ERR;
		path = optarg;
	}
	if (optind != argc)
		return ctl_usage_err(v, "config check takes no arguments");
	if (access(path, R_OK) != 0) {
		ctl_err("%s: %s", path, strerror(errno));
		return CTL_EXIT_ERR;
	}
	/* The loader signetd itself runs (signetd -n). */
	if (sconf_load(path, &conf, err, sizeof(err)) != 0) {
		if (c->json) {
			fputs("{\"ok\":false,\"error\":", stdout);
			ctl_json_write_str(stdout, err);
			puts("}");
		}
		ctl_err("%s", err);
		return CTL_EXIT_NO;
	}
	for (i = 0; i < conf->ntenants; i++)
		np += conf->tenants[i].nprofiles;
	if (c->json) {
		fputs("{\"ok\":true,\"path\":", stdout);
		ctl_json_write_str(stdout, path);
		fputs(",\"tenants\":[", stdout);
		for (i = 0; i < conf->ntenants; i++) {
			fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
			ctl_json_write_str(stdout, conf->tenants[i].name);
			fputs(",\"profiles\":[", stdout);
			for (k = 0; k < conf->tenants[i].nprofiles; k++) {
				if (k > 0)
					putchar(',');
				ctl_json_write_str(stdout,
				    conf->tenants[i].profiles[k].name);
			}
			fputs("]}", stdout);
		}
		printf("],\"clients\":%zu,\"sandbox\":%s}\n", conf->nclients,
		    conf->sandbox ? "true" : "false");
	} else
		printf("%s: configuration ok (%zu tenant%s, %zu profile%s, "
		    "%zu client mapping%s, sandbox %s)\n", path,
		    conf->ntenants, conf->ntenants == 1 ? "" : "s", np,
		    np == 1 ? "" : "s", conf->nclients,
		    conf->nclients == 1 ? "" : "s", conf->sandbox ? "on" :
		    "OFF");
	sconf_free(conf);
	return CTL_EXIT_OK;
}
