/*
 * The verbs over the /v1 API (mutual TLS): health, certs list|show|revoke,
 * tokens create.  Each prints the server's JSON as it came with --json,
 * a table or "name: value" lines otherwise.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ctl_cmd.h"

static const char *const cert_status[] = {
	"any", "valid", "revoked", "expired", NULL
};

/* Options done: -1 to go on, or the exit code to return. */
static int
opts_end(int ch)
{
	if (ch == -3)
		return CTL_EXIT_OK;
	if (ch == -2)
		return CTL_EXIT_ERR;
	return -1;
}

/* A JSON member string of a node, "-" when absent or null. */
static const char *
jstr(const struct ctl_json *j, long obj, const char *name)
{
	const char *s = ctl_json_gets(j, obj, name);

	return s != NULL ? s : "-";
}

/* Renders a number or boolean member for a human. */
static const char *
jscalar(const struct ctl_json *j, long obj, const char *name)
{
	long i = ctl_json_get(j, obj, name);

	if (i < 0)
		return "-";
	switch (j->n[i].type) {
	case CTL_J_BOOL:
		return j->n[i].boolean ? "ok" : "FAILED";
	case CTL_J_NUMBER:
	case CTL_J_STRING:
		return j->n[i].str;
	default:
		return "-";
	}
}

int
ctl_cmd_health(struct ctl *c, int argc, char **argv)
{
	static const char *const names[] = {
		"status", "token", "ledger", "audit", "uptime", "issued",
		"version"
	};
	const struct ctl_verb *v = ctl_verb_find(NULL, "health");
	const char *values[7];
	struct ctl_reply rep;
	const char *st;
	size_t i;
	int ch, rc;

	while ((ch = ctl_getopt(c, v, argc, argv, "", NULL)) != -1)
		if ((rc = opts_end(ch)) != -1 || ch >= 0)
			return rc != -1 ? rc : CTL_EXIT_ERR;
	if (optind != argc)
		return ctl_usage_err(v, "health takes no arguments");
	if ((rc = ctl_get(c, c->server, "/v1/health", &rep)) != CTL_EXIT_OK)
		return rc;
	st = rep.have_json ? ctl_json_gets(&rep.j, 0, "status") : NULL;
	if ((rep.r.status != 200 && rep.r.status != 503) || st == NULL) {
		rc = ctl_status_exit(&rep, "health");
		if (rc == CTL_EXIT_OK) {
			ctl_err("health: the answer has no status");
			rc = CTL_EXIT_ERR;
		}
		goto out;
	}
	if (c->json)
		ctl_print_body(&rep, stdout);
	else {
		for (i = 0; i < 7; i++)
			values[i] = i == 0 ? st :
			    jscalar(&rep.j, 0, names[i]);
		/* Without a client certificate only the status is told. */
		ctl_kv_print(stdout, names, values,
		    ctl_json_get(&rep.j, 0, "token") >= 0 ? 7 : 1);
	}
	/* 200 means ready; the engine is starting, degraded or draining. */
	rc = rep.r.status == 200 && strcmp(st, "ready") == 0 ? CTL_EXIT_OK :
	    CTL_EXIT_NO;
out:
	ctl_reply_free(&rep);
	return rc;
}

static int
list_print(const struct ctl_json *j)
{
	static const char *const heads[] = {
		"SERIAL", "STATUS", "NOT_AFTER", "REVOKED_AT", "PROFILE",
		"SUBJECT", "AUTHORIZED_BY"
	};
	struct ctl_table *t;
	const char *cells[7];
	long items, i, total;
	size_t n = 0;

	items = ctl_json_get(j, 0, "items");
	total = ctl_json_get(j, 0, "total");
	if (items < 0 || j->n[items].type != CTL_J_ARRAY || total < 0 ||
	    !j->n[total].integral) {
		ctl_err("certs list: the answer has no items and total");
		return CTL_EXIT_ERR;
	}
	if ((t = ctl_table_new(7, heads)) == NULL)
		return CTL_EXIT_ERR;
	for (i = ctl_json_first(j, items); i >= 0;
	    i = ctl_json_next(j, items, i), n++) {
		cells[0] = jstr(j, i, "serial");
		cells[1] = jstr(j, i, "status");
		cells[2] = jstr(j, i, "not_after");
		cells[3] = jstr(j, i, "revoked_at");
		cells[4] = jstr(j, i, "profile");
		cells[5] = jstr(j, i, "subject");
		cells[6] = jstr(j, i, "authorized_by");
		if (ctl_table_add(t, cells) != CTL_OK) {
			ctl_table_free(t);
			return CTL_EXIT_ERR;
		}
	}
	if (n > 0)
		ctl_table_print(t, stdout);
	printf("%zu of %lld certificate%s\n", n,
	    (long long)j->n[total].num, j->n[total].num == 1 ? "" : "s");
	ctl_table_free(t);
	return CTL_EXIT_OK;
}

int
ctl_cmd_certs_list(struct ctl *c, int argc, char **argv)
{
	enum { O_STATUS = 1, O_EXP, O_LIMIT, O_OFFSET, O_AUTH };
	static const struct option lo[] = {
		{ "status", required_argument, NULL, O_STATUS },
		{ "expiring-within", required_argument, NULL, O_EXP },
		{ "query", required_argument, NULL, 'q' },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "offset", required_argument, NULL, O_OFFSET },
		{ "authorized-by", required_argument, NULL, O_AUTH },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_verb *v = ctl_verb_find("certs", "list");
	const char *status = NULL, *exp = NULL, *q = NULL, *limit = NULL,
	    *offset = NULL, *auth = NULL;
	char path[CTL_MAX_URL] = "";
	struct ctl_reply rep;
	size_t i;
	int ch, rc;
	long n;
	char *end;

	while ((ch = ctl_getopt(c, v, argc, argv, "q:", lo)) != -1) {
		if ((rc = opts_end(ch)) != -1)
			return rc;
		switch (ch) {
		case O_STATUS:
			for (i = 0; cert_status[i] != NULL &&
			    strcmp(cert_status[i], optarg) != 0; i++)
				;
			if (cert_status[i] == NULL)
				return ctl_usage_err(v, "--status: any, valid, "
				    "revoked or expired");
			status = optarg;
			break;
		case O_EXP:
			if (ctl_duration(optarg) <= 0)
				return ctl_usage_err(v, "--expiring-within: a "
				    "duration such as 7d or 12h");
			exp = optarg;
			break;
		case 'q':
			q = optarg;
			break;
		case O_AUTH:
			if (*optarg == '\0' || strlen(optarg) > 128)
				return ctl_usage_err(v, "--authorized-by: a "
				    "credential as certs show prints it, "
				    "e.g. token:ID or renewal:SERIAL");
			auth = optarg;
			break;
		case O_LIMIT:
		case O_OFFSET:
			n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || n < 0 ||
			    (ch == O_LIMIT && (n < 1 || n > 1000)))
				return ctl_usage_err(v, ch == O_LIMIT ?
				    "--limit: 1 to 1000" :
				    "--offset: a number");
			*(ch == O_LIMIT ? &limit : &offset) = optarg;
			break;
		default:
			return CTL_EXIT_ERR;
		}
	}
	if (optind != argc)
		return ctl_usage_err(v, "certs list takes no arguments");
	if (ctl_need_tenant(c, v) != 0)
		return CTL_EXIT_ERR;
	snprintf(path, sizeof(path), "/v1/certs");
	if (ctl_add_query(path, sizeof(path), "tenant", c->tenant) != 0 ||
	    ctl_add_query(path, sizeof(path), "status", status) != 0 ||
	    ctl_add_query(path, sizeof(path), "expiring_within", exp) != 0 ||
	    ctl_add_query(path, sizeof(path), "q", q) != 0 ||
	    ctl_add_query(path, sizeof(path), "authorized_by", auth) != 0 ||
	    ctl_add_query(path, sizeof(path), "limit", limit) != 0 ||
	    ctl_add_query(path, sizeof(path), "offset", offset) != 0)
		return ctl_usage_err(v, "the filters are too long");
	if ((rc = ctl_get(c, c->server, path, &rep)) != CTL_EXIT_OK)
		return rc;
	if ((rc = ctl_status_exit(&rep, "certs list")) == CTL_EXIT_OK) {
		if (!rep.have_json) {
			ctl_err("certs list: the answer is not JSON");
			rc = CTL_EXIT_ERR;
		} else if (c->json)
			ctl_print_body(&rep, stdout);
		else
			rc = list_print(&rep.j);
	}
	ctl_reply_free(&rep);
	return rc;
}

/* The subjectAltName entries of a PEM certificate, comma-separated. */
static void
cert_names(X509 *x, char *buf, size_t size)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	const char *sep = "";
	char ip[64];
	size_t n = 0;
	int i, k;

	buf[0] = '\0';
	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)) ==
	    NULL)
		return;
	for (i = 0; i < sk_GENERAL_NAME_num(gens) && n < size; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		k = -1;
		if (g->type == GEN_DNS || g->type == GEN_URI ||
		    g->type == GEN_EMAIL)
			k = snprintf(buf + n, size - n, "%s%.*s", sep,
			    ASN1_STRING_length(g->d.ia5),
			    (const char *)ASN1_STRING_get0_data(g->d.ia5));
		else if (g->type == GEN_IPADD) {
			const unsigned char *a =
			    ASN1_STRING_get0_data(g->d.ip);
			int len = ASN1_STRING_length(g->d.ip);

			if (len == 4)
				snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a[0],
				    a[1], a[2], a[3]);
			else
				snprintf(ip, sizeof(ip), "(IPv6)");
			k = snprintf(buf + n, size - n, "%sIP:%s", sep, ip);
		}
		if (k > 0) {
			n += (size_t)k;
			sep = ", ";
		}
	}
	GENERAL_NAMES_free(gens);
}

static int
show_print(const struct ctl_json *j)
{
	static const char *const names[] = {
		"serial", "status", "subject", "names", "issuer", "profile",
		"not_before", "not_after", "revoked_at", "authorized_by",
		"stored"
	};
	const char *values[11], *pem;
	char sans[1024] = "-", issuer[512] = "-";
	X509 *x = NULL;
	BIO *b;

	if ((pem = ctl_json_gets(j, 0, "certificate")) != NULL &&
	    (b = BIO_new_mem_buf(pem, -1)) != NULL) {
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	if (x != NULL) {
		cert_names(x, sans, sizeof(sans));
		ctl_x509_name(X509_get_issuer_name(x), issuer,
		    sizeof(issuer));
		X509_free(x);
	}
	values[0] = jstr(j, 0, "serial");
	values[1] = jstr(j, 0, "status");
	values[2] = jstr(j, 0, "subject");
	values[3] = sans[0] != '\0' ? sans : "-";
	values[4] = issuer;
	values[5] = jstr(j, 0, "profile");
	values[6] = jstr(j, 0, "not_before");
	values[7] = jstr(j, 0, "not_after");
	values[8] = jstr(j, 0, "revoked_at");
	/* Issue 13: the credential behind it; older rows have none. */
	if ((values[9] = ctl_json_gets(j, 0, "authorized_by")) == NULL)
		values[9] = "- (not recorded)";
	/* A profile with store = false keeps the row, not the DER. */
	values[10] = pem != NULL ? "yes" : "no (the profile does not keep "
	    "certificates)";
	ctl_kv_print(stdout, names, values, 11);
	return CTL_EXIT_OK;
}

static int
serial_arg(const struct ctl_verb *v, int argc, char **argv, char *out,
    size_t size)
{
	if (optind + 1 != argc)
		return ctl_usage_err(v, optind == argc ? "which serial?" :
		    "one serial at a time");
	if (ctl_serial_norm(argv[optind], out, size) != CTL_OK)
		return ctl_usage_err(v, "the serial is hex (as openssl x509 "
		    "-serial prints it)");
	return CTL_EXIT_OK;
}

int
ctl_cmd_certs_show(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pem", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_verb *v = ctl_verb_find("certs", "show");
	char serial[64], path[CTL_MAX_URL], what[96];
	struct ctl_reply rep;
	const char *pem;
	int ch, rc, pemonly = 0;

	while ((ch = ctl_getopt(c, v, argc, argv, "", lo)) != -1) {
		if ((rc = opts_end(ch)) != -1)
			return rc;
		pemonly = 1;
	}
	if ((rc = serial_arg(v, argc, argv, serial, sizeof(serial))) != 0 ||
	    (rc = ctl_need_tenant(c, v)) != 0)
		return CTL_EXIT_ERR;
	snprintf(path, sizeof(path), "/v1/certs/%s", serial);
	if (ctl_add_query(path, sizeof(path), "tenant", c->tenant) != 0)
		return ctl_usage_err(v, "the tenant's name is too long");
	if ((rc = ctl_get(c, c->server, path, &rep)) != CTL_EXIT_OK)
		return rc;
	snprintf(what, sizeof(what), "certs show %s", serial);
	if ((rc = ctl_status_exit(&rep, what)) == CTL_EXIT_OK) {
		pem = rep.have_json ? ctl_json_gets(&rep.j, 0,
		    "certificate") : NULL;
		if (!rep.have_json || ctl_json_gets(&rep.j, 0, "serial") ==
		    NULL) {
			ctl_err("%s: the answer has no serial", what);
			rc = CTL_EXIT_ERR;
		} else if (c->json)
			ctl_print_body(&rep, stdout);
		else if (pemonly && pem == NULL) {
			ctl_err("%s: not kept by the appliance (its profile "
			    "has store = false)", what);
			rc = CTL_EXIT_NO;
		} else if (pemonly)
			fputs(pem, stdout);
		else
			rc = show_print(&rep.j);
	}
	ctl_reply_free(&rep);
	return rc;
}

/* A JSON body built with stdio; free *buf. */
static FILE *
body_open(char **buf, size_t *len)
{
	*buf = NULL;
	return open_memstream(buf, len);
}

static int
is_number(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int
post(struct ctl *c, const char *path, char *body, size_t len,
    struct ctl_reply *rep)
{
	char url[CTL_MAX_URL * 2];
	size_t blen = strlen(c->server);

	while (blen > 0 && c->server[blen - 1] == '/')
		blen--;
	snprintf(url, sizeof(url), "%.*s%s", (int)blen, c->server, path);
	return ctl_request(c, "POST", url, "application/json", body, len,
	    rep);
}

/* A tenant's POST body, begun: {"tenant":"T" (the caller ends it). */
static FILE *
tenant_body(const struct ctl *c, char **buf, size_t *len)
{
	FILE *f;

	if ((f = body_open(buf, len)) == NULL)
		return NULL;
	fputs("{\"tenant\":", f);
	ctl_json_write_str(f, c->tenant);
	return f;
}

/* Closes the body f, POSTs it to path and frees it. */
static int
post_body(struct ctl *c, const char *path, FILE *f, char **body,
    size_t *len, struct ctl_reply *rep)
{
	int rc;

	fclose(f);
	rc = post(c, path, *body, *len, rep);
	free(*body);
	*body = NULL;
	return rc;
}

/*
 * The answer to a verb that creates a credential shown once: it must
 * hold key; names[0..n) are printed (or the body, with --json).  It
 * holds a secret: ctl_reply_free wipes it.
 */
static int
created_print(struct ctl *c, struct ctl_reply *rep, const char *what,
    const char *key, const char *const *names, size_t n)
{
	const char *values[4];
	size_t i;
	int rc;

	if ((rc = ctl_status_exit(rep, what)) == CTL_EXIT_OK) {
		if (!rep->have_json ||
		    ctl_json_gets(&rep->j, 0, key) == NULL) {
			ctl_err("%s: the answer has no %s", what, key);
			rc = CTL_EXIT_ERR;
		} else if (c->json)
			ctl_print_body(rep, stdout);
		else {
			for (i = 0; i < n && i < 4; i++)
				values[i] = jstr(&rep->j, 0, names[i]);
			ctl_kv_print(stdout, names, values, i);
		}
	}
	ctl_reply_free(rep);
	return rc;
}

int
ctl_cmd_certs_revoke(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_verb *v = ctl_verb_find("certs", "revoke");
	const char *reason = "unspecified", *at;
	char serial[64], what[96], *body;
	struct ctl_reply rep;
	size_t len;
	FILE *f;
	int ch, rc;

	while ((ch = ctl_getopt(c, v, argc, argv, "r:", lo)) != -1) {
		if ((rc = opts_end(ch)) != -1)
			return rc;
		reason = optarg;
	}
	if ((rc = serial_arg(v, argc, argv, serial, sizeof(serial))) != 0 ||
	    (rc = ctl_need_tenant(c, v)) != 0)
		return CTL_EXIT_ERR;
	if ((f = tenant_body(c, &body, &len)) == NULL)
		return CTL_EXIT_ERR;
	fprintf(f, ",\"serial\":\"%s\",\"reason\":", serial);
	if (is_number(reason) && strlen(reason) < 4)
		fputs(reason, f);
	else
		ctl_json_write_str(f, reason);
	fputs("}", f);
	if ((rc = post_body(c, "/v1/revoke", f, &body, &len, &rep)) !=
	    CTL_EXIT_OK)
		return rc;
	snprintf(what, sizeof(what), "certs revoke %s", serial);
	if ((rc = ctl_status_exit(&rep, what)) == CTL_EXIT_OK) {
		at = rep.have_json ? ctl_json_gets(&rep.j, 0, "revoked_at") :
		    NULL;
		if (c->json)
			ctl_print_body(&rep, stdout);
		else
			printf("%s revoked at %s (%s)\n", serial,
			    at != NULL ? at : "?", reason);
	}
	ctl_reply_free(&rep);
	return rc;
}

int
ctl_cmd_tokens_create(struct ctl *c, int argc, char **argv)
{
	enum { O_TTL = 1, O_USES };
	static const struct option lo[] = {
		{ "profile", required_argument, NULL, 'P' },
		{ "name", required_argument, NULL, 'n' },
		{ "ttl", required_argument, NULL, O_TTL },
		{ "uses", required_argument, NULL, O_USES },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const names[] = { "id", "token", "expires" };
	const struct ctl_verb *v = ctl_verb_find("tokens", "create");
	const char *profile = NULL, *nm[16];
	char *body, *end;
	struct ctl_reply rep;
	size_t len, nn = 0, i;
	int64_t ttl = 0;
	long uses = 1;
	FILE *f;
	int ch, rc;

	while ((ch = ctl_getopt(c, v, argc, argv, "P:n:", lo)) != -1) {
		if ((rc = opts_end(ch)) != -1)
			return rc;
		switch (ch) {
		case 'P':
			profile = optarg;
			break;
		case 'n':
			if (nn == sizeof(nm) / sizeof(nm[0]))
				return ctl_usage_err(v, "at most 16 names");
			nm[nn++] = optarg;
			break;
		case O_TTL:
			if ((ttl = ctl_duration(optarg)) <= 0 ||
			    ttl > UINT32_MAX)
				return ctl_usage_err(v, "--ttl: a duration "
				    "such as 30m, 24h or 7d");
			break;
		case O_USES:
			uses = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || uses < 1 ||
			    uses > 65535)
				return ctl_usage_err(v, "--uses: 1 to 65535");
			break;
		default:
			return CTL_EXIT_ERR;
		}
	}
	if (optind != argc)
		return ctl_usage_err(v, "tokens create takes no arguments");
	if (ctl_need_tenant(c, v) != 0)
		return CTL_EXIT_ERR;
	if (profile == NULL || ttl == 0)
		return ctl_usage_err(v, profile == NULL ?
		    "which profile? -P NAME" :
		    "how long may it be used? --ttl DURATION");
	if ((f = tenant_body(c, &body, &len)) == NULL)
		return CTL_EXIT_ERR;
	fputs(",\"profile\":", f);
	ctl_json_write_str(f, profile);
	fputs(",\"names\":[", f);
	for (i = 0; i < nn; i++) {
		if (i > 0)
			fputc(',', f);
		ctl_json_write_str(f, nm[i]);
	}
	fprintf(f, "],\"ttl\":%lld,\"uses\":%ld}", (long long)ttl, uses);
	if ((rc = post_body(c, "/v1/tokens", f, &body, &len, &rep)) !=
	    CTL_EXIT_OK)
		return rc;
	/* The answer holds a bearer secret: created_print wipes it. */
	return created_print(c, &rep, "tokens create", "token", names, 3);
}

/*
 * eab create (issue 20): POST /v1/acme/eab, an ACME external account
 * binding key for one tenant and profile; the HMAC key is shown once.
 */
int
ctl_cmd_eab_create(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "profile", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const names[] = { "kid", "hmac_key" };
	const struct ctl_verb *v = ctl_verb_find("eab", "create");
	const char *profile = NULL;
	char *body;
	struct ctl_reply rep;
	size_t len;
	FILE *f;
	int ch, rc;

	while ((ch = ctl_getopt(c, v, argc, argv, "P:", lo)) != -1) {
		if ((rc = opts_end(ch)) != -1)
			return rc;
		if (ch != 'P')
			return CTL_EXIT_ERR;
		profile = optarg;
	}
	if (optind != argc)
		return ctl_usage_err(v, "eab create takes no arguments");
	if (ctl_need_tenant(c, v) != 0)
		return CTL_EXIT_ERR;
	if (profile == NULL)
		return ctl_usage_err(v, "which profile? -P NAME");
	if ((f = tenant_body(c, &body, &len)) == NULL)
		return CTL_EXIT_ERR;
	fputs(",\"profile\":", f);
	ctl_json_write_str(f, profile);
	fputs("}", f);
	if ((rc = post_body(c, "/v1/acme/eab", f, &body, &len, &rep)) !=
	    CTL_EXIT_OK)
		return rc;
	/* The answer holds the HMAC key: created_print wipes it. */
	return created_print(c, &rep, "eab create", "hmac_key", names, 2);
}

/*
 * tidy (issue 19): POST /v1/tidy until the engine says the tenant is
 * done; each call removes for a few seconds at most.  A 503 (the engine
 * busy or past the front end's deadline) or 429 is asked again after
 * its Retry-After, up to --retries times in a row: tidy is idempotent,
 * and what a call committed stays removed.
 */
int
ctl_cmd_tidy(struct ctl *c, int argc, char **argv)
{
	enum { O_RETRIES = 256 };
	static const struct option lo[] = {
		{ "once", no_argument, NULL, '1' },
		{ "retries", required_argument, NULL, O_RETRIES },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_verb *v = ctl_verb_find(NULL, "tidy");
	unsigned long long certs = 0, tokens = 0, calls = 0;
	const char *before = "?", *n;
	char *body, *end, bbuf[64] = "?";
	struct ctl_reply rep;
	size_t len;
	long i, retries = CTL_RETRY_DEFAULT, failed = 0;
	unsigned wait;
	int ch, rc, once = 0, done = 0;
	FILE *f;

	while ((ch = ctl_getopt(c, v, argc, argv, "", lo)) != -1) {
		if ((rc = opts_end(ch)) != -1)
			return rc;
		if (ch == O_RETRIES) {
			retries = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || retries < 0 ||
			    retries > CTL_RETRY_MAX)
				return ctl_usage_err(v, "--retries: 0 to 100");
		} else if (ch == '1')
			once = 1;
		else
			return CTL_EXIT_ERR;
	}
	if (optind != argc)
		return ctl_usage_err(v, "tidy takes no arguments");
	if (ctl_need_tenant(c, v) != 0)
		return CTL_EXIT_ERR;
	while (!done) {
		if ((f = tenant_body(c, &body, &len)) == NULL)
			return CTL_EXIT_ERR;
		fputs("}", f);
		if ((rc = post_body(c, "/v1/tidy", f, &body, &len, &rep)) !=
		    CTL_EXIT_OK)
			return rc;
		if ((rc = ctl_status_exit(&rep, "tidy")) != CTL_EXIT_OK) {
			if ((rep.r.status != 503 && rep.r.status != 429) ||
			    failed >= retries) {
				if (rep.r.status == 503 || rep.r.status == 429)
					ctl_err("tidy: gave up after %ld "
					    "retries in a row", failed);
				ctl_reply_free(&rep);
				return rc;
			}
			wait = ctl_retry_wait(rep.r.retry_after,
			    (unsigned)++failed);
			ctl_err("tidy: again in %u s (retry %ld of %ld)", wait,
			    failed, retries);
			ctl_reply_free(&rep);
			sleep(wait);
			continue;
		}
		failed = 0;
		if (!rep.have_json || ctl_json_get(&rep.j, 0, "done") < 0) {
			ctl_err("tidy: the answer says nothing removed");
			ctl_reply_free(&rep);
			return CTL_EXIT_ERR;
		}
		calls++;
		if ((n = ctl_json_gets(&rep.j, 0, "expired_before")) != NULL)
			snprintf(bbuf, sizeof(bbuf), "%s", n);
		before = bbuf;
		certs += strtoull(jscalar(&rep.j, 0, "certs"), NULL, 10);
		tokens += strtoull(jscalar(&rep.j, 0, "tokens"), NULL, 10);
		i = ctl_json_get(&rep.j, 0, "done");
		done = rep.j.n[i].type == CTL_J_BOOL && rep.j.n[i].boolean;
		ctl_reply_free(&rep);
		if (once)
			break;
	}
	if (c->json) {
		printf("{\"tenant\":");
		ctl_json_write_str(stdout, c->tenant);
		printf(",\"certs\":%llu,\"tokens\":%llu,\"expired_before\":",
		    certs, tokens);
		ctl_json_write_str(stdout, before);
		printf(",\"done\":%s,\"calls\":%llu}\n", done ? "true" :
		    "false", calls);
	} else
		printf("tenant %s: removed %llu certificates and %llu "
		    "enrollment tokens that expired or were spent before "
		    "%s%s\n", c->tenant, certs, tokens, before, done ? "" :
		    " (more remain: run again)");
	return CTL_EXIT_OK;
}
