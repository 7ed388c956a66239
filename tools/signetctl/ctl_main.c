/*
 * signetctl [common options] verb [verb options] [arguments]
 *
 * The operator's client of a running appliance (see signetctl.1).  One
 * verb per run; settings come from the command line, then the
 * environment (SIGNETCTL_*), then a settings file, then defaults.  A
 * private key is only ever named by its file.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "ctl_cmd.h"

enum {
	OPT_SERVER = 1000, OPT_HTTP, OPT_CACERT, OPT_CERT, OPT_KEY, OPT_CONFIG
};

static const char common_short[] = "jT:t:s:c:h";

static const struct option common_long[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "tenant", required_argument, NULL, 'T' },
	{ "timeout", required_argument, NULL, 't' },
	{ "server", required_argument, NULL, 's' },
	{ "http", required_argument, NULL, OPT_HTTP },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char common_help[] =
    "common options (also before the verb):\n"
    "  -j, --json            JSON on stdout for scripts\n"
    "  -T, --tenant NAME     tenant to act in (SIGNETCTL_TENANT)\n"
    "  -s, --server URL      the /v1 API (SIGNETCTL_SERVER; default "
    CTL_DEFAULT_SERVER ")\n"
    "      --http URL        CRL, CA and OCSP publication (SIGNETCTL_HTTP;\n"
    "                        default " CTL_DEFAULT_HTTP ")\n"
    "      --cacert FILE     PEM CA certificates that sign the server "
    "(SIGNETCTL_CACERT)\n"
    "      --cert FILE       PEM client certificate, operator or auditor "
    "(SIGNETCTL_CERT)\n"
    "      --key FILE        the file of its private key (SIGNETCTL_KEY)\n"
    "  -c, --config FILE     settings file (SIGNETCTL_CONFIG; default\n"
    "                        ~/.config/signet/signetctl.conf, then "
    CTL_SYS_CONFIG ")\n"
    "  -t, --timeout SECS    limit for each request (default 30)\n"
    "exit: 0 ok, 1 refused, not found or failed, 2 error\n";

const struct ctl_verb ctl_verbs[] = {
	{ NULL, "health", ctl_cmd_health, "",
	    "  the appliance's health: 0 ready, 1 not ready, 2 unreachable\n" },
	{ "tokens", "create", ctl_cmd_tokens_create,
	    "-T tenant -P profile --ttl DURATION [-n name]... [--uses N]",
	    "  -P, --profile NAME    profile the token enrolls into\n"
	    "  -n, --name NAME       a name the certificate may carry "
	    "(repeat)\n"
	    "      --ttl DURATION    until the token expires (30m, 24h, 7d)\n"
	    "      --uses N          enrollments it buys (default 1)\n" },
	{ "tokens", "list", ctl_cmd_tokens_list, "-T tenant [--db LEDGER]",
	    "      --db FILE         read the tokens from a ledger file\n"
	    "                        (off line; no secret is stored there)\n" },
	{ "tokens", "revoke", ctl_cmd_tokens_revoke, "-T tenant ID", "" },
	{ "eab", "create", ctl_cmd_eab_create, "-T tenant -P profile",
	    "  -P, --profile NAME    an ACME profile (acme = true) of the "
	    "tenant\n" },
	{ "eab", "list", ctl_cmd_eab_list, "-T tenant --db LEDGER",
	    "      --db FILE         read the EAB key ids from a ledger file\n"
	    "                        (off line; no HMAC key is stored there)\n" },
	{ "certs", "list", ctl_cmd_certs_list,
	    "-T tenant [--status S] [--expiring-within D] [-q TEXT] "
	    "[--authorized-by CRED] [--limit N] [--offset N]",
	    "      --status S        any, valid, revoked or expired\n"
	    "      --expiring-within DURATION\n"
	    "                        valid and expiring within it (e.g. 7d)\n"
	    "  -q, --query TEXT      subject or names contain TEXT\n"
	    "      --authorized-by CRED\n"
	    "                        issued on this credential (token:ID,\n"
	    "                        renewal:SERIAL, cert:sha256:HEX, ...)\n"
	    "      --limit N         at most N (1..1000, default 50)\n"
	    "      --offset N        skip the first N\n" },
	{ "certs", "show", ctl_cmd_certs_show, "-T tenant [--pem] SERIAL",
	    "      --pem             print only the certificate (PEM)\n" },
	{ "certs", "revoke", ctl_cmd_certs_revoke,
	    "-T tenant [-r REASON] SERIAL",
	    "  -r, --reason REASON   RFC 5280 reason: unspecified, "
	    "keyCompromise,\n"
	    "                        cACompromise, affiliationChanged, "
	    "superseded,\n"
	    "                        cessationOfOperation, certificateHold, "
	    "...\n" },
	{ "crl", "show", ctl_cmd_crl_show, "[-i ISSUER] [--url URL]",
	    "  -i, --issuer NAME     the issuer's name (default intermediate)\n"
	    "      --url URL         fetch the CRL from URL instead\n"
	    "      --issuer-cert FILE  check it with this certificate instead "
	    "of\n"
	    "                        <http>/ca/ISSUER.der\n" },
	{ "ocsp", "check", ctl_cmd_ocsp_check,
	    "[-T tenant SERIAL | --cert-file FILE] [--issuer-cert FILE] "
	    "[--url URL]",
	    "      --cert-file FILE  the certificate to check (PEM)\n"
	    "      --issuer-cert FILE  its issuer (default: from the "
	    "certificate's\n"
	    "                        caIssuers URL)\n"
	    "      --url URL         the responder (default: the "
	    "certificate's)\n"
	    "  exit 0 good, 1 revoked or unknown, 2 no verified answer\n" },
	{ "audit", "verify", ctl_cmd_audit_verify,
	    "--pubkey PEM (--db LEDGER | --pgsql CONNINFO --node ID) "
	    "[--checkpoints FILE]",
	    "      --pubkey FILE     the audit key's PEM public key\n"
	    "      --db FILE         a SQLite ledger (off line)\n"
	    "      --pgsql CONNINFO  a PostgreSQL ledger, with --node\n"
	    "      --node ID         the node whose chain to verify\n"
	    "      --checkpoints FILE  checkpoints the engine exported "
	    "(storage.\n"
	    "                        audit_checkpoint_export): a tail cut "
	    "with its\n"
	    "                        checkpoints fails\n"
	    "  exit 0 verified, 1 the log was altered, 2 cannot check\n" },
	{ "audit", "show", ctl_cmd_audit_show,
	    "[-T tenant] [--since TIME] [--until TIME] [--action A] "
	    "[--actor CRED] [--after SEQ] [--limit N] | --db LEDGER ...",
	    "  through GET /v1/audit (operator or auditor), oldest first:\n"
	    "      --since, --until TIME  since <= time < until (RFC 3339, "
	    "or a\n"
	    "                        duration ago: 1h, 7d)\n"
	    "      --action A        issue, refuse, revoke, config, ...\n"
	    "      --actor CRED      cert:sha256:HEX, token:ID, control, "
	    "acme-jws\n"
	    "      --node ID         a cluster node's chain (default the "
	    "server's)\n"
	    "      --after SEQ       records after this sequence number\n"
	    "      --limit N         at most N records (default 100)\n"
	    "  off line, on a ledger file:\n"
	    "      --db FILE         a SQLite ledger; then --since, --action, "
	    "-T and\n"
	    "                        --limit N: the last N (default 50)\n" },
	{ "config", "check", ctl_cmd_config_check, "[-f signetd.conf]",
	    "  -f, --file FILE       default /etc/signet/signetd.conf\n"
	    "  exit 0 valid, 1 invalid, 2 unreadable\n" },
	{ NULL, "tidy", ctl_cmd_tidy, "-T tenant [--once] [--retries N]",
	    "  remove certificates and enrollment tokens that expired (or "
	    "were\n"
	    "  spent) more than the tenant's retention ago; operators only\n"
	    "      --once            one request (a few seconds), not until "
	    "done\n"
	    "      --retries N       ask again after a 503 or 429 (as its "
	    "Retry-After\n"
	    "                        says, 60 s at most) up to N times in a "
	    "row\n"
	    "                        (default 8; 0: stop at the first)\n" },
	{ NULL, NULL, NULL, NULL, NULL },
};

void
ctl_verb_usage(const struct ctl_verb *v, FILE *f)
{
	fprintf(f, "usage: signetctl %s%s%s %s\n", v->group ? v->group : "",
	    v->group ? " " : "", v->name, v->synopsis);
	fputs(v->help, f);
	fputs(common_help, f);
}

static void
usage(FILE *f)
{
	const struct ctl_verb *v;

	fputs("usage: signetctl [options] verb [options] [arguments]\n"
	    "verbs:\n", f);
	for (v = ctl_verbs; v->name != NULL; v++)
		fprintf(f, "  %s%s%s %s\n", v->group ? v->group : "",
		    v->group ? " " : "", v->name, v->synopsis);
	fputs("signetctl VERB --help tells more; see signetctl(1).\n", f);
	fputs(common_help, f);
}

static int
set_path(char *dst, size_t size, const char *v, const char *name)
{
	/* "never a private key on the command line" (issue 19). */
	if (strstr(v, "-----BEGIN") != NULL) {
		ctl_err("--%s takes the name of a file, never its contents",
		    name);
		return -1;
	}
	if (snprintf(dst, size, "%s", v) >= (int)size) {
		ctl_err("--%s: the path is too long", name);
		return -1;
	}
	return 0;
}

int
ctl_setting(struct ctl *c, const char *name, const char *v)
{
	struct ctl_url u;
	long t;
	char *end;

	if (strcmp(name, "server") == 0 || strcmp(name, "http") == 0) {
		if (ctl_url_parse(v, &u) != CTL_OK) {
			ctl_err("%s: not an http:// or https:// URL: %s", name,
			    v);
			return -1;
		}
		return set_path(name[0] == 's' ? c->server : c->http,
		    sizeof(c->server), v, name);
	}
	if (strcmp(name, "cacert") == 0)
		return set_path(c->cacert, sizeof(c->cacert), v, name);
	if (strcmp(name, "cert") == 0)
		return set_path(c->cert, sizeof(c->cert), v, name);
	if (strcmp(name, "key") == 0)
		return set_path(c->key, sizeof(c->key), v, name);
	if (strcmp(name, "tenant") == 0)
		return set_path(c->tenant, sizeof(c->tenant), v, name);
	if (strcmp(name, "timeout") == 0) {
		errno = 0;
		t = strtol(v, &end, 10);
		if (errno != 0 || *end != '\0' || t < 1 ||
		    t > CTL_MAX_TIMEOUT) {
			ctl_err("timeout: 1 to %d seconds, not %s",
			    CTL_MAX_TIMEOUT, v);
			return -1;
		}
		c->timeout = (int)t;
		return 0;
	}
	ctl_err("no setting is called %s", name);
	return -1;
}

struct conf_arg {
	struct ctl	*c;
	const char	*dir;
};

/* Paths in the file are relative to the file's directory. */
static int
conf_set(void *arg, const char *name, const char *value)
{
	struct conf_arg *a = arg;
	char path[PATH_MAX];

	if ((strcmp(name, "cacert") == 0 || strcmp(name, "cert") == 0 ||
	    strcmp(name, "key") == 0) && value[0] != '/') {
		if (snprintf(path, sizeof(path), "%s/%s", a->dir, value) >=
		    (int)sizeof(path))
			return -1;
		value = path;
	}
	return ctl_setting(a->c, name, value);
}

static int
read_file(const char *path, uint8_t **buf, size_t *len, size_t max)
{
	FILE *f;
	size_t n;

	*buf = NULL;
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if ((*buf = malloc(max + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(*buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		errno = EFBIG;
		free(*buf);
		*buf = NULL;
		return -1;
	}
	*len = n;
	return 0;
}

static int
load_file(struct ctl *c, const char *path)
{
	struct conf_arg a = { c, NULL };
	char dir[PATH_MAX];
	uint8_t *buf;
	size_t len, line;
	int rc;

	if (read_file(path, &buf, &len, CTL_MAX_CONF) != 0) {
		ctl_err("%s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	a.dir = dirname(dir);
	rc = ctl_conf_parse(buf, len, conf_set, &a, &line);
	free(buf);
	if (rc != CTL_OK) {
		ctl_err("%s:%zu: %s", path, line, rc == CTL_E_SYNTAX ?
		    "not a setting (name = value)" : "bad setting");
		return -1;
	}
	snprintf(c->config, sizeof(c->config), "%s", path);
	return 0;
}

int
ctl_settings_load(struct ctl *c, const char *path)
{
	static const char *const env[][2] = {
		{ "SIGNETCTL_SERVER", "server" }, { "SIGNETCTL_HTTP", "http" },
		{ "SIGNETCTL_CACERT", "cacert" }, { "SIGNETCTL_CERT", "cert" },
		{ "SIGNETCTL_KEY", "key" }, { "SIGNETCTL_TENANT", "tenant" },
		{ "SIGNETCTL_TIMEOUT", "timeout" },
	};
	char user[PATH_MAX];
	const char *v, *home;
	size_t i;

	if (path == NULL)
		path = getenv("SIGNETCTL_CONFIG");
	if (path == NULL) {
		user[0] = '\0';
		if ((v = getenv("XDG_CONFIG_HOME")) != NULL && *v == '/')
			snprintf(user, sizeof(user),
			    "%s/signet/signetctl.conf", v);
		else if ((home = getenv("HOME")) != NULL && *home == '/')
			snprintf(user, sizeof(user),
			    "%s/.config/signet/signetctl.conf", home);
		if (user[0] != '\0' && access(user, F_OK) == 0)
			path = user;
		else if (access(CTL_SYS_CONFIG, F_OK) == 0)
			path = CTL_SYS_CONFIG;
	}
	if (path != NULL && *path != '\0' && load_file(c, path) != 0)
		return -1;
	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		if ((v = getenv(env[i][0])) != NULL && *v != '\0' &&
		    ctl_setting(c, env[i][1], v) != 0) {
			ctl_err("(from %s)", env[i][0]);
			return -1;
		}
	return 0;
}

static int
common_opt(struct ctl *c, int ch, const char *arg)
{
	switch (ch) {
	case 'j':
		c->json = 1;
		return 0;
	case 'T':
		return ctl_setting(c, "tenant", arg);
	case 't':
		return ctl_setting(c, "timeout", arg);
	case 's':
		return ctl_setting(c, "server", arg);
	case OPT_HTTP:
		return ctl_setting(c, "http", arg);
	case OPT_CACERT:
		return ctl_setting(c, "cacert", arg);
	case OPT_CERT:
		return ctl_setting(c, "cert", arg);
	case OPT_KEY:
		return ctl_setting(c, "key", arg);
	case 'c':
		return 0;	/* read before anything else (main) */
	default:
		return 1;	/* not a common option */
	}
}

int
ctl_getopt(struct ctl *c, const struct ctl_verb *v, int argc, char **argv,
    const char *shortopts, const struct option *longopts)
{
	static struct option all[64];
	static char shorts[64];
	size_t n = 0, i;
	int ch, r;

	for (i = 0; longopts != NULL && longopts[i].name != NULL &&
	    n < 32; i++)
		all[n++] = longopts[i];
	for (i = 0; common_long[i].name != NULL; i++)
		all[n++] = common_long[i];
	memset(&all[n], 0, sizeof(all[n]));
	snprintf(shorts, sizeof(shorts), ":%s%s", shortopts, common_short);
	for (;;) {
		if ((ch = getopt_long(argc, argv, shorts, all, NULL)) == -1)
			return -1;
		if (ch == 'h') {
			ctl_verb_usage(v, stdout);
			return -3;
		}
		if (ch == '?' || ch == ':') {
			ctl_err("%s: %s", ch == '?' ? "unknown option" :
			    "the option needs a value", argv[optind - 1]);
			ctl_verb_usage(v, stderr);
			return -2;
		}
		if ((r = common_opt(c, ch, optarg)) == 1)
			return ch;
		if (r != 0)
			return -2;
	}
}

int
ctl_need_tenant(const struct ctl *c, const struct ctl_verb *v)
{
	if (c->tenant[0] != '\0')
		return 0;
	ctl_err("which tenant? give -T NAME (or SIGNETCTL_TENANT, or tenant "
	    "= in the settings file)");
	ctl_verb_usage(v, stderr);
	return -1;
}

/* -c/--config anywhere on the line is read first: flags override it. */
static const char *
find_config(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if ((strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
	}
	return NULL;
}

static const struct ctl_verb *
find_verb(int argc, char **argv, int *used)
{
	const struct ctl_verb *v;

	*used = 0;
	if (argc < 1)
		return NULL;
	for (v = ctl_verbs; v->name != NULL; v++) {
		if (v->group == NULL && strcmp(argv[0], v->name) == 0) {
			*used = 1;
			return v;
		}
		if (v->group != NULL && strcmp(argv[0], v->group) == 0 &&
		    argc > 1 && strcmp(argv[1], v->name) == 0) {
			*used = 2;
			return v;
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct ctl c;
	const struct ctl_verb *v;
	int ch, used;

	signal(SIGPIPE, SIG_IGN);
	memset(&c, 0, sizeof(c));
	snprintf(c.server, sizeof(c.server), "%s", CTL_DEFAULT_SERVER);
	snprintf(c.http, sizeof(c.http), "%s", CTL_DEFAULT_HTTP);
	c.timeout = CTL_DEFAULT_TIMEOUT;
	if (ctl_settings_load(&c, find_config(argc, argv)) != 0)
		return CTL_EXIT_ERR;
	/* Common options before the verb. */
	while ((ch = getopt_long(argc, argv, "+:jT:t:s:c:h", common_long,
	    NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return CTL_EXIT_OK;
		}
		if (ch == '?' || ch == ':') {
			ctl_err("%s: %s", ch == '?' ? "unknown option" :
			    "the option needs a value", argv[optind - 1]);
			usage(stderr);
			return CTL_EXIT_ERR;
		}
		if (common_opt(&c, ch, optarg) != 0)
			return CTL_EXIT_ERR;
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		ctl_err("no verb given");
		usage(stderr);
		return CTL_EXIT_ERR;
	}
	if ((v = find_verb(argc, argv, &used)) == NULL) {
		ctl_err("unknown verb: %s%s%s", argv[0], argc > 1 ? " " : "",
		    argc > 1 ? argv[1] : "");
		usage(stderr);
		return CTL_EXIT_ERR;
	}
	/* The verb's getopt starts after its own words; 0 makes glibc
	 * start afresh (permuting, with the verb's option string). */
	optind = 0;
	return v->fn(&c, argc - used + 1, argv + used - 1);
}
