/*
 * The configuration file: the dev-host example loads, and every kind of
 * mistake is refused with a message that names the file and line (or the
 * section).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <signet/sconf.h>

#include "sconf_durtest.h"

static char dir[] = "/tmp/signet-sconf-XXXXXX";

static const char *
example(void)
{
	static char path[1024];
	const char *src = getenv("SIGNET_SOURCE_DIR");

	snprintf(path, sizeof(path), "%s/board/dev-host/signetd.conf",
	    src ? src : ".");
	return path;
}

static void
test_example_loads(void **state)
{
	struct sconf *c = NULL;
	const struct sconf_tenant *t;
	const struct sconf_profile *p;
	char err[SCONF_MAX_ERR];

	assert_int_equal(sconf_load(example(), &c, err, sizeof(err)), 0);
	assert_string_equal(c->token_label, "signet-dev");
	assert_string_equal(c->listen_https, "127.0.0.1:8443");
	assert_int_equal(c->ntenants, 1);
	t = sconf_tenant(c, "dev");
	assert_non_null(t);
	p = sconf_profile(t, "service");
	assert_non_null(p);
	assert_int_equal(p->ttl, 25 * 3600);
	assert_int_equal(p->max_ttl, 72 * 3600);
	assert_true(p->allow_ip);
	assert_string_equal(p->subject_o, "Signet Dev");
	/* Issued certificates renew themselves only unless a profile says. */
	assert_false(p->self_service);
	assert_int_equal(c->nclients, 1);
	assert_int_equal(c->clients[0].issuer_cert.n, 1);
	assert_string_equal(c->clients[0].issuer_cert.v[0],
	    "data/ca/operators.pem");
	assert_int_equal(sconf_est_label(c, "dev-device", &t, &p), 0);
	assert_string_equal(p->name, "device");
	assert_int_equal(sconf_est_label(c, "", &t, &p), 0);
	assert_string_equal(p->name, "service");
	assert_int_not_equal(sconf_est_label(c, "nope", &t, &p), 0);
	assert_null(sconf_tenant(c, "other"));
	assert_int_equal(c->limits.read_timeout, 10);
	/* issue 20: validation defaults: port 443, resolv.conf, anywhere. */
	assert_int_equal(c->acme_tlsalpn01_port, 443);
	assert_null(c->acme_dns_resolver);
	assert_int_equal(c->acme_validate_allow.n, 0);
	assert_int_equal(c->acme_order_lifetime, 86400);	/* issue 20 */
	assert_int_equal(c->acme_authz_reuse, 0);
	assert_int_equal(c->storage_cache_kib, 2048);
	sconf_free(c);
}

/* issue 20: the forms acme_dns_resolver and acme_validate_allow take. */
static void
test_acme_addresses(void **state)
{
	struct sconf_hostport h;
	struct sconf_cidr n;

	(void)state;
	assert_int_equal(sconf_hostport("127.0.0.1:5353", &h), 0);
	assert_int_equal(h.port, 5353);
	assert_int_equal(sconf_hostport("[2001:db8::53]:53", &h), 0);
	assert_int_equal(h.port, 53);
	assert_int_equal(sconf_hostport("127.0.0.1", NULL), -1);
	assert_int_equal(sconf_hostport("127.0.0.1:0", NULL), -1);
	assert_int_equal(sconf_hostport("127.0.0.1:65536", NULL), -1);
	assert_int_equal(sconf_hostport("127.0.0.1:053", NULL), -1);
	assert_int_equal(sconf_hostport("2001:db8::53:53", NULL), -1);
	assert_int_equal(sconf_hostport("[127.0.0.1]:53", NULL), -1);
	assert_int_equal(sconf_cidr("192.0.2.0/24", &n), 0);
	assert_int_equal(n.bits, 24);
	assert_int_equal(sconf_cidr("192.0.2.7", &n), 0);
	assert_int_equal(n.bits, 32);
	assert_int_equal(sconf_cidr("::/0", &n), 0);
	assert_int_equal(n.bits, 0);
	assert_int_equal(sconf_cidr("192.0.2.1/24", NULL), -1);
	assert_int_equal(sconf_cidr("192.0.2.0/24x", NULL), -1);
}

/* The example configuration, NUL-terminated, into buf. */
static void
read_example(char *buf, size_t size)
{
	FILE *f = fopen(example(), "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
}

/* Writes the example with one substitution and expects err to contain
 * each of the needles. */
static void
expect_error(const char *from, const char *to, const char *needle)
{
	char src[65536], path[1200], err[SCONF_MAX_ERR];
	struct sconf *c = NULL;
	FILE *f;
	char *at;

	read_example(src, sizeof(src));
	at = strstr(src, from);
	assert_non_null(at);
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(src, 1, (size_t)(at - src), f);
	fputs(to, f);
	fputs(at + strlen(from), f);
	fclose(f);
	assert_int_equal(sconf_load(path, &c, err, sizeof(err)), -1);
	assert_null(c);
	print_message("    %s\n", err);
	assert_non_null(strstr(err, needle));
}

/* 1-based line of the first occurrence of s in the example file. */
static int
line_of(const char *s)
{
	static char src[65536];
	const char *at, *p;
	int line = 1;

	read_example(src, sizeof(src));
	at = strstr(src, s);
	assert_non_null(at);
	for (p = src; p < at; p++)
		line += *p == '\n';
	return line;
}

static void
test_errors(void **state)
{
	/* libconfuse names file and line for syntax and unknown keys. */
	char needle[64];

	/* The misspelt key goes on the line after "sandbox = false". */
	snprintf(needle, sizeof(needle), "bad.conf:%d: no such option 'sandbx'",
	    line_of("sandbox = false") + 1);
	expect_error("sandbox = false", "sandbox = false\nsandbx = true",
	    needle);
	expect_error("pool = 4", "pool = four", "bad.conf:");
	expect_error("ttl = \"25h\"", "ttl = \"25 hours\"",
	    "is not a duration");
	expect_error("role = \"operator\"", "role = \"admin\"",
	    "unknown value \"admin\"");
	expect_error("\"serverAuth\", \"clientAuth\" }",
	    "\"serverAuth\", \"smtpAuth\" }", "unknown value \"smtpAuth\"");
	expect_error("key_types = { \"p256\", \"ed25519\" }",
	    "key_types = { \"p256\", \"dsa1024\" }",
	    "unknown value \"dsa1024\"");
	/* Semantic checks name the section. */
	expect_error("issuer = \"intermediate\"\n\t\test_label = \"dev-device\"",
	    "issuer = \"other\"\n\t\test_label = \"dev-device\"",
	    "profile \"device\": no issuer \"other\" in this tenant");
	expect_error("est_label = \"dev-device\"", "est_label = \"dev-service\"",
	    "EST label \"dev-service\" is used twice");
	expect_error("https = \"127.0.0.1:8443\"", "https = \"127.0.0.1:99999\"",
	    "listen https: bad port");
	expect_error("tenants = { \"*\" }", "tenants = { \"acme\" }",
	    "client \"operator\": no tenant \"acme\"");
	/* issue 13: a client mapping names the client CA it trusts. */
	expect_error("\tissuer_cert = { \"data/ca/operators.pem\" }\n", "",
	    "client \"operator\": name the client CA it trusts");
	expect_error("issuer_cert = { \"data/ca/operators.pem\" }",
	    "issuer_key_id = \"a1:zz\"", "issuer_key_id \"a1:zz\" is not hex");
	expect_error("est_default = \"dev/service\"",
	    "est_default = \"dev/nothing\"", "est_default \"dev/nothing\"");
	expect_error("max_ttl = \"72h\"", "max_ttl = \"1h\"",
	    "ttl must be positive and at most max_ttl");
	expect_error("\tlabel = \"signet-dev\"\n", "\n", "token: label and "
	    "pin_file are required");
	/* issue 14: SQLite's page cache is a budget with bounds. */
	expect_error("cache_kib = 2048", "cache_kib = 16",
	    "storage: cache_kib must be 64..1048576");
	expect_error("profile \"device\"", "profile \"service\"",
	    "bad.conf:");
	/* issue 13: CRL and CA URLs name the issuer, so names are unique. */
	expect_error("tenant \"dev\" {", "tenant \"other\" {\n"
	    "\tissuer \"intermediate\" {\n\t\tkey = \"k\"\n"
	    "\t\tcert = \"c.pem\"\n\t}\n}\ntenant \"dev\" {",
	    "issuer \"intermediate\" is in tenant \"other\" and tenant "
	    "\"dev\": CRL and CA certificate URLs name the issuer alone");
	/* issue 20: the validator's allow-list, resolver and ports. */
	expect_error("acme_http01_port = 80\n", "acme_http01_port = 80\n"
	    "acme_validate_allow = { \"10.0.0.0/8\", \"10.1.0.0/8\" }\n",
	    "acme_validate_allow: \"10.1.0.0/8\" is not a CIDR");
	expect_error("acme_http01_port = 80\n", "acme_http01_port = 80\n"
	    "acme_dns_resolver = \"dns.example:53\"\n",
	    "acme_dns_resolver \"dns.example:53\" is not an address and port");
	expect_error("acme_http01_port = 80\n", "acme_http01_port = 80\n"
	    "acme_dns_resolver = \"::1:53\"\n", "is not an address and port");
	expect_error("acme_http01_port = 80\n", "acme_http01_port = 80\n"
	    "acme_tlsalpn01_port = 0\n", "must be 1..65535");
	/* issue 20: ACME state lifetimes. */
	expect_error("acme_http01_port = 80\n", "acme_http01_port = 80\n"
	    "acme_order_lifetime = \"30s\"\n",
	    "acme_order_lifetime must be 1m..30d");
	expect_error("acme_http01_port = 80\n", "acme_http01_port = 80\n"
	    "acme_authz_reuse = \"31d\"\n", "acme_authz_reuse must be 0..30d");
	expect_error("acme_http01_port = 80\n", "acme_http01_port = 80\n"
	    "acme_authz_reuse = \"soon\"\n", "is not a duration");
}

static void
test_missing_file(void **state)
{
	struct sconf *c = NULL;
	char err[SCONF_MAX_ERR];

	assert_int_equal(sconf_load("/nonexistent/signetd.conf", &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/signetd.conf: cannot read"));
}

/* signetd's parser before the fold into sconf_cfg.c, verbatim: the oracle. */
static int64_t
old_sconf_duration(const char *s)
{
	char *end;
	long long v;
	int64_t mul = 1;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	if (*end != '\0') {
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -1;
		}
		if (end[1] != '\0')
			return -1;
	}
	if (v < 0 || v > INT64_MAX / mul)
		return -1;
	return (int64_t)v * mul;
}

/*
 * signetd: s, m, h, d or none, 0 allowed, leading blanks (strtoll's);
 * the ceremony's y is not a unit here.  Same answers as before the fold
 * on every short string.
 */
static void
test_duration_unchanged(void **state)
{
	(void)state;
	assert_int_equal(sconf_duration("60s"), 60);
	assert_int_equal(sconf_duration(" 5m"), 300);
	assert_int_equal(sconf_duration("\t2d"), 172800);
	assert_int_equal(sconf_duration("0h"), 0);
	assert_int_equal(sconf_duration("1y"), -1);
	assert_int_equal(sconf_duration("+1"), -1);
	assert_int_equal(sconf_duration("1 "), -1);
	assert_int_equal(sconf_duration(NULL), -1);
	assert_int_equal(sconf_duration("2562047788015215h"),
	    2562047788015215LL * 3600);
	assert_int_equal(sconf_duration("2562047788015216h"), -1);
	assert_true(dur_compare(sconf_duration, old_sconf_duration) > 30000);
}

static void
test_duration(void **state)
{
	assert_int_equal(sconf_duration("25h"), 90000);
	assert_int_equal(sconf_duration("90m"), 5400);
	assert_int_equal(sconf_duration("3600"), 3600);
	assert_int_equal(sconf_duration("7d"), 604800);
	assert_int_equal(sconf_duration("0"), 0);
	assert_int_equal(sconf_duration("-1h"), -1);
	assert_int_equal(sconf_duration("1hh"), -1);
	assert_int_equal(sconf_duration("h"), -1);
	assert_int_equal(sconf_duration(""), -1);
	assert_int_equal(sconf_duration("99999999999999999999d"), -1);
}

/* The role names are the config syntax and the wire form: fixed. */
static void
test_roles(void **state)
{
	static const char *const names[] = { "operator", "agent",
		"requester", "auditor" };
	int r;

	(void)state;
	assert_int_equal(SCONF_ROLE_COUNT, 4);
	for (r = 0; r < SCONF_ROLE_COUNT; r++) {
		assert_string_equal(sconf_role_name(r), names[r]);
		assert_int_equal(sconf_role_parse(names[r]), r);
	}
	assert_null(sconf_role_name(SCONF_ROLE_NONE));
	assert_null(sconf_role_name(SCONF_ROLE_COUNT));
	assert_int_equal(sconf_role_parse("Operator"), SCONF_ROLE_NONE);
	assert_int_equal(sconf_role_parse("operator "), SCONF_ROLE_NONE);
	assert_int_equal(sconf_role_parse(""), SCONF_ROLE_NONE);
	assert_int_equal(sconf_role_parse(NULL), SCONF_ROLE_NONE);
	assert_true(sconf_role_in("agent", SCONF_ROLE_BIT(SCONF_ROLE_AGENT) |
	    SCONF_ROLE_BIT(SCONF_ROLE_OPERATOR)));
	assert_false(sconf_role_in("auditor",
	    SCONF_ROLE_BIT(SCONF_ROLE_AGENT)));
	assert_false(sconf_role_in("system", ~0u));
	assert_false(sconf_role_in(NULL, ~0u));
}

/* Expiry notifications (issue 19): thresholds and their checks. */
static void
test_notify(void **state)
{
	static const char at[] = "\t\t# Expiry webhooks (issue 19, docs/notify.md):\n";
	int64_t secs;
	int pm;

	(void)state;
	assert_int_equal(sconf_threshold("50%", &secs, &pm), 0);
	assert_int_equal(pm, 500);
	assert_int_equal(secs, 0);
	assert_int_equal(sconf_threshold("12.5%", &secs, &pm), 0);
	assert_int_equal(pm, 125);
	assert_int_equal(sconf_threshold("7d", &secs, &pm), 0);
	assert_int_equal(secs, 7 * 86400);
	assert_int_equal(pm, 0);
	assert_int_equal(sconf_threshold("0%", &secs, &pm), -1);
	assert_int_equal(sconf_threshold("100%", &secs, &pm), -1);
	assert_int_equal(sconf_threshold("1.25%", &secs, &pm), -1);
	assert_int_equal(sconf_threshold("%", &secs, &pm), -1);
	assert_int_equal(sconf_threshold("0s", &secs, &pm), -1);
	assert_int_equal(sconf_threshold("soon", &secs, &pm), -1);
	expect_error(at, "\t\tnotify { thresholds = { \"7d\", \"150%\" } "
	    "webhooks = { \"http://h/x\" } }\n", "is neither a duration");
	expect_error(at, "\t\tnotify { thresholds = { \"7d\" } "
	    "webhooks = { \"https://h/x\" } }\n", "is not http://host");
	expect_error(at, "\t\tnotify { thresholds = { \"7d\" } }\n",
	    "needs both thresholds and webhooks");
	expect_error(at, "\t\tnotify { thresholds = { \"7d\" } "
	    "webhooks = { \"http://h:8080/x\" } }\n",
	    "secret_file is required");
	expect_error("\tlease = \"60s\"", "\tlease = \"2s\"",
	    "lease must be 4s..1h");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_loads),
		cmocka_unit_test(test_acme_addresses),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_duration_unchanged),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_notify),
	};
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests_name("sconf", tests, NULL, NULL);
	{
		char p[1200];

		snprintf(p, sizeof(p), "%s/bad.conf", dir);
		unlink(p);
		rmdir(dir);
	}
	return rc;
}
