/*
 * Parsing signetd's configuration with libconfuse.  libconfuse refuses
 * unknown keys and malformed values itself, naming file and line; the
 * checks below cover values and references between sections.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "signet/sconf.h"
#include "signet/sconf_cfg.h"

/* signetd's durations: seconds to days, 0 allowed (e.g. freshness). */
static const struct sconf_unit units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { '\0', 0 }
};
static const struct sconf_durfmt durations = { units, 0, 1,
	"25h, 90m, 3600" };

int64_t
sconf_duration(const char *s)
{
	return sconf_cfg_duration(s, &durations);
}

static int
check_duration(cfg_t *cfg, cfg_opt_t *opt)
{
	return sconf_cfg_check_duration(cfg, opt, &durations);
}

static int
check_thresholds(cfg_t *cfg, cfg_opt_t *opt)
{
	int64_t secs;
	int pm;
	unsigned i;

	for (i = 0; i < cfg_opt_size(opt); i++)
		if (sconf_threshold(cfg_opt_getnstr(opt, i), &secs, &pm) != 0) {
			cfg_error(cfg, "%s: \"%s\" is neither a duration "
			    "(30d, 12h) nor a share of the lifetime (50%%, "
			    "12.5%%)", opt->name, cfg_opt_getnstr(opt, i));
			return -1;
		}
	return 0;
}

static int
check_oneof(cfg_t *cfg, cfg_opt_t *opt, const char *const *ok)
{
	unsigned i, j;

	for (i = 0; i < cfg_opt_size(opt); i++) {
		const char *v = cfg_opt_getnstr(opt, i);

		for (j = 0; ok[j] != NULL; j++)
			if (strcmp(v, ok[j]) == 0)
				break;
		if (ok[j] == NULL) {
			cfg_error(cfg, "%s: unknown value \"%s\"", opt->name, v);
			return -1;
		}
	}
	return 0;
}

static const char *const key_types[] = { "p256", "p384", "p521", "rsa2048",
	"rsa3072", "rsa4096", "ed25519", NULL };
static const char *const key_usages[] = { "digitalSignature",
	"nonRepudiation", "keyEncipherment", "dataEncipherment",
	"keyAgreement", NULL };
static const char *const ekus[] = { "serverAuth", "clientAuth",
	"codeSigning", "emailProtection", "timeStamping", "OCSPSigning", NULL };
/* Indexed by enum sconf_role; NULL-terminated for check_oneof. */
static const char *const roles[SCONF_ROLE_COUNT + 1] = {
	[SCONF_ROLE_OPERATOR] = "operator",
	[SCONF_ROLE_AGENT] = "agent",
	[SCONF_ROLE_REQUESTER] = "requester",
	[SCONF_ROLE_AUDITOR] = "auditor",
	[SCONF_ROLE_COUNT] = NULL,
};
static const char *const expiry[] = { "truncate", "refuse", NULL };
static const char *const logs[] = { "stderr", "syslog", NULL };
static const char *const levels[] = { "info", "debug", NULL };
static const char *const backends[] = { "sqlite", "pgsql", NULL };
static const char *const metrics_access[] = { "auditor", "public", "off",
	NULL };

const char *
sconf_role_name(enum sconf_role r)
{
	if (r < 0 || r >= SCONF_ROLE_COUNT)
		return NULL;
	return roles[r];
}

enum sconf_role
sconf_role_parse(const char *name)
{
	int r;

	if (name == NULL)
		return SCONF_ROLE_NONE;
	for (r = 0; r < SCONF_ROLE_COUNT; r++)
		if (strcmp(name, roles[r]) == 0)
			return (enum sconf_role)r;
	return SCONF_ROLE_NONE;
}

int
sconf_role_in(const char *name, unsigned int mask)
{
	enum sconf_role r = sconf_role_parse(name);

	return r != SCONF_ROLE_NONE && (mask & SCONF_ROLE_BIT(r)) != 0;
}

#define ONEOF(fn, tab) \
	static int fn(cfg_t *cfg, cfg_opt_t *opt) \
	{ \
		return check_oneof(cfg, opt, tab); \
	}
ONEOF(check_key_types, key_types)
ONEOF(check_ku, key_usages)
ONEOF(check_eku, ekus)
ONEOF(check_role, roles)
ONEOF(check_roles, roles)
ONEOF(check_expiry, expiry)
ONEOF(check_log, logs)
ONEOF(check_level, levels)
ONEOF(check_backend, backends)
ONEOF(check_metrics, metrics_access)
#undef ONEOF

static cfg_opt_t issuer_opts[] = {
	CFG_STR("key", NULL, CFGF_NODEFAULT),
	CFG_STR("cert", NULL, CFGF_NODEFAULT),
	CFG_STR("chain", NULL, CFGF_NODEFAULT),
	CFG_STR("ocsp_cert", NULL, CFGF_NODEFAULT),
	CFG_STR("ocsp_key", NULL, CFGF_NODEFAULT),
	CFG_BOOL("delta_crl", cfg_false, CFGF_NONE),
	CFG_BOOL("delta_in_certs", cfg_false, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t subject_opts[] = {
	CFG_STR("O", NULL, CFGF_NODEFAULT),
	CFG_STR("OU", NULL, CFGF_NODEFAULT),
	CFG_STR("C", NULL, CFGF_NODEFAULT),
	CFG_STR("ST", NULL, CFGF_NODEFAULT),
	CFG_STR("L", NULL, CFGF_NODEFAULT),
	CFG_END()
};

/* Expiry notifications of one profile (issue 19). */
static cfg_opt_t profile_notify_opts[] = {
	CFG_STR_LIST("thresholds", "{}", CFGF_NONE),
	CFG_STR_LIST("webhooks", "{}", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t profile_opts[] = {
	CFG_STR("issuer", NULL, CFGF_NODEFAULT),
	CFG_STR("est_label", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("domains", "{}", CFGF_NONE),
	CFG_BOOL("allow_bare", cfg_true, CFGF_NONE),
	CFG_BOOL("allow_subdomains", cfg_true, CFGF_NONE),
	CFG_BOOL("allow_glob", cfg_false, CFGF_NONE),
	CFG_BOOL("allow_wildcard", cfg_false, CFGF_NONE),
	CFG_BOOL("allow_localhost", cfg_false, CFGF_NONE),
	CFG_BOOL("allow_ip", cfg_false, CFGF_NONE),
	CFG_BOOL("enforce_hostnames", cfg_true, CFGF_NONE),
	CFG_STR_LIST("cidrs", "{}", CFGF_NONE),
	CFG_STR_LIST("uri_patterns", "{}", CFGF_NONE),
	CFG_STR_LIST("key_types", "{p256,p384,ed25519,rsa2048,rsa3072,rsa4096}",
	    CFGF_NONE),
	CFG_STR("ttl", "25h", CFGF_NONE),
	CFG_STR("max_ttl", "25h", CFGF_NONE),
	CFG_STR("on_issuer_expiry", "truncate", CFGF_NONE),
	CFG_STR_LIST("key_usage", "{digitalSignature}", CFGF_NONE),
	CFG_STR_LIST("ext_key_usage", "{serverAuth,clientAuth}", CFGF_NONE),
	CFG_SEC("subject", subject_opts, CFGF_NONE),
	CFG_BOOL("store", cfg_true, CFGF_NONE),
	CFG_BOOL("self_service", cfg_false, CFGF_NONE),
	CFG_BOOL("acme", cfg_false, CFGF_NONE),
	CFG_STR_LIST("roles", "{requester,agent,operator}", CFGF_NONE),
	CFG_SEC("notify", profile_notify_opts, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t tenant_opts[] = {
	CFG_STR("retention", "30d", CFGF_NONE),
	CFG_SEC("issuer", issuer_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_SEC("profile", profile_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static cfg_opt_t client_opts[] = {
	CFG_STR("cn", NULL, CFGF_NODEFAULT),
	CFG_STR("o", NULL, CFGF_NODEFAULT),
	CFG_STR("ou", NULL, CFGF_NODEFAULT),
	CFG_STR("issuer", NULL, CFGF_NODEFAULT),
	CFG_STR("issuer_key_id", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("issuer_cert", "{}", CFGF_NONE),
	CFG_STR("role", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("tenants", "{}", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t listen_opts[] = {
	CFG_STR("https", NULL, CFGF_NODEFAULT),
	CFG_STR("http", NULL, CFGF_NODEFAULT),
	CFG_STR("coap", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t token_opts[] = {
	CFG_STR("module", "/usr/lib/softhsm/libsofthsm2.so", CFGF_NONE),
	CFG_STR("label", NULL, CFGF_NODEFAULT),
	CFG_STR("pin_file", NULL, CFGF_NODEFAULT),
	CFG_BOOL("session_keys", cfg_false, CFGF_NONE),
	CFG_INT("pool", 4, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t storage_opts[] = {
	CFG_STR("backend", "sqlite", CFGF_NONE),
	CFG_STR("path", NULL, CFGF_NODEFAULT),
	CFG_STR("audit_key", NULL, CFGF_NODEFAULT),
	CFG_INT("audit_checkpoint_every", 1000, CFGF_NONE),
	CFG_STR("audit_checkpoint_interval", "5m", CFGF_NONE),
	CFG_STR("audit_checkpoint_export", NULL, CFGF_NODEFAULT),
	CFG_INT("cache_kib", 2048, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t tls_opts[] = {
	CFG_STR("cert", NULL, CFGF_NODEFAULT),
	CFG_STR("key", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("client_ca", "{}", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t urls_opts[] = {
	CFG_STR("ocsp", NULL, CFGF_NODEFAULT),
	CFG_STR("ca_issuers", NULL, CFGF_NODEFAULT),
	CFG_STR("crl", NULL, CFGF_NODEFAULT),
	CFG_STR("delta_crl", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t revocation_opts[] = {
	CFG_STR("crl_next_update", "1d", CFGF_NONE),
	CFG_STR("ocsp_validity", "4h", CFGF_NONE),
	CFG_BOOL("ignore_nonce", cfg_false, CFGF_NONE),
	CFG_STR("freshness", "60s", CFGF_NONE),
	CFG_INT("refresh_signatures", 64, CFGF_NONE),
	CFG_STR("delta_next_update", "1h", CFGF_NONE),
	CFG_END()
};

/* Storage hygiene (issue 19); the retention is per tenant. */
static cfg_opt_t tidy_opts[] = {
	CFG_STR("interval", "1h", CFGF_NONE),
	CFG_INT("batch", 100, CFGF_NONE),
	CFG_END()
};

/* Expiry notifications: delivery (issue 19); what and where per profile. */
static cfg_opt_t notify_opts[] = {
	CFG_STR("secret_file", NULL, CFGF_NODEFAULT),
	CFG_STR("interval", "60s", CFGF_NONE),
	CFG_STR("retry", "30s", CFGF_NONE),
	CFG_STR("lease", "60s", CFGF_NONE),
	CFG_INT("max_attempts", 20, CFGF_NONE),
	CFG_BOOL("allow_loopback", cfg_false, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t limits_opts[] = {
	CFG_INT("max_header", 8192, CFGF_NONE),
	CFG_INT("max_body", 65536, CFGF_NONE),
	CFG_STR("read_timeout", "10s", CFGF_NONE),
	CFG_STR("idle_timeout", "60s", CFGF_NONE),
	CFG_INT("max_connections", 1024, CFGF_NONE),
	CFG_INT("max_connections_per_source", 64, CFGF_NONE),
	CFG_INT("operator_reserve", 8, CFGF_NONE),
	CFG_STR("handshake_timeout", "10s", CFGF_NONE),
	CFG_STR("request_timeout", "20s", CFGF_NONE),
	CFG_INT("rate_identity", 50, CFGF_NONE),
	CFG_INT("burst_identity", 100, CFGF_NONE),
	CFG_INT("rate_tenant", 1000, CFGF_NONE),
	CFG_INT("burst_tenant", 2000, CFGF_NONE),
	CFG_INT("rate_auth_fail", 2, CFGF_NONE),
	CFG_INT("burst_auth_fail", 20, CFGF_NONE),
	CFG_STR("auth_fail_window", "60s", CFGF_NONE),
	CFG_INT("rate_ocsp_nonce", 20, CFGF_NONE),
	CFG_INT("burst_ocsp_nonce", 100, CFGF_NONE),
	CFG_INT("rate_ocsp_sign", 100, CFGF_NONE),
	CFG_INT("burst_ocsp_sign", 200, CFGF_NONE),
	CFG_INT("max_coap_sessions", 4096, CFGF_NONE),
	CFG_INT("max_coap_handshakes", 256, CFGF_NONE),
	CFG_INT("coap_hello_unverified", 16, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t top_opts[] = {
	CFG_STR("data_dir", "/var/lib/signet", CFGF_NONE),
	CFG_STR("log", "stderr", CFGF_NONE),
	CFG_STR("log_level", "info", CFGF_NONE),
	CFG_STR("metrics", "auditor", CFGF_NONE),
	CFG_STR("user", "signet", CFGF_NONE),
	CFG_STR("https_user", "signet-https", CFGF_NONE),
	CFG_STR("coap_user", "signet-coap", CFGF_NONE),
	CFG_STR("sandbox_dir", "/var/empty", CFGF_NONE),
	CFG_BOOL("sandbox", cfg_true, CFGF_NONE),
	CFG_INT("https_workers", 0, CFGF_NONE),
	CFG_STR("est_default", NULL, CFGF_NODEFAULT),
	CFG_STR("token_max_ttl", "7d", CFGF_NONE),
	CFG_STR("acme_base_url", NULL, CFGF_NODEFAULT),
	CFG_INT("acme_http01_port", 80, CFGF_NONE),
	CFG_BOOL("acme_validate_loopback", cfg_false, CFGF_NONE),
	CFG_STR("acme_http01_address", NULL, CFGF_NODEFAULT),
	CFG_INT("acme_tlsalpn01_port", 443, CFGF_NONE),
	CFG_STR("acme_dns_resolver", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("acme_validate_allow", "{}", CFGF_NONE),
	CFG_STR_LIST("acme_caa_identities", "{}", CFGF_NONE),
	/* ACME rate limits (docs/acme.md "Rate limits"); 0 turns one off. */
	CFG_INT("acme_orders_per_account", 300, CFGF_NONE),
	CFG_STR("acme_orders_window", "3h", CFGF_NONE),
	CFG_INT("acme_failed_authz_per_account", 30, CFGF_NONE),
	CFG_STR("acme_failed_authz_window", "1h", CFGF_NONE),
	CFG_INT("acme_accounts_per_source", 10, CFGF_NONE),
	CFG_STR("acme_accounts_window", "3h", CFGF_NONE),
	/* ACME state lifetimes (issue 20, docs/acme.md "Storage") */
	CFG_STR("acme_order_lifetime", "1d", CFGF_NONE),
	CFG_STR("acme_authz_reuse", "0", CFGF_NONE),
	CFG_SEC("listen", listen_opts, CFGF_NONE),
	CFG_SEC("token", token_opts, CFGF_NONE),
	CFG_SEC("storage", storage_opts, CFGF_NONE),
	CFG_SEC("tls", tls_opts, CFGF_NONE),
	CFG_SEC("urls", urls_opts, CFGF_NONE),
	CFG_SEC("revocation", revocation_opts, CFGF_NONE),
	CFG_SEC("limits", limits_opts, CFGF_NONE),
	CFG_SEC("tidy", tidy_opts, CFGF_NONE),
	CFG_SEC("notify", notify_opts, CFGF_NONE),
	CFG_SEC("client", client_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_SEC("tenant", tenant_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static const struct sconf_cfg_validator validators[] = {
	{ "log", check_log },
	{ "log_level", check_level },
	{ "metrics", check_metrics },
	{ "token_max_ttl", check_duration },
	{ "acme_orders_window", check_duration },
	{ "acme_failed_authz_window", check_duration },
	{ "acme_accounts_window", check_duration },
	{ "acme_order_lifetime", check_duration },
	{ "acme_authz_reuse", check_duration },
	{ "storage|backend", check_backend },
	{ "storage|audit_checkpoint_interval", check_duration },
	{ "revocation|crl_next_update", check_duration },
	{ "revocation|ocsp_validity", check_duration },
	{ "revocation|freshness", check_duration },
	{ "revocation|delta_next_update", check_duration },
	{ "limits|auth_fail_window", check_duration },
	{ "tidy|interval", check_duration },
	{ "notify|interval", check_duration },
	{ "notify|retry", check_duration },
	{ "notify|lease", check_duration },
	{ "tenant|profile|notify|thresholds", check_thresholds },
	{ "tenant|retention", check_duration },
	{ "limits|read_timeout", check_duration },
	{ "limits|idle_timeout", check_duration },
	{ "limits|handshake_timeout", check_duration },
	{ "limits|request_timeout", check_duration },
	{ "client|role", check_role },
	{ "tenant|profile|key_types", check_key_types },
	{ "tenant|profile|key_usage", check_ku },
	{ "tenant|profile|ext_key_usage", check_eku },
	{ "tenant|profile|roles", check_roles },
	{ "tenant|profile|on_issuer_expiry", check_expiry },
	{ "tenant|profile|ttl", check_duration },
	{ "tenant|profile|max_ttl", check_duration },
};

int sconf_convert(cfg_t *cfg, struct sconf *c, char *err, size_t errlen);
int sconf_check(const struct sconf *c, char *err, size_t errlen);

#define SCONF_MAX_FILE (1024 * 1024)

/* Reads the whole file, NUL-terminated; NULL with errno on failure. */
static char *
read_file(const char *path)
{
	FILE *f;
	char *buf = NULL;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if ((buf = malloc(SCONF_MAX_FILE + 1)) != NULL) {
		n = fread(buf, 1, SCONF_MAX_FILE + 1, f);
		if (ferror(f) || n > SCONF_MAX_FILE) {
			free(buf);
			buf = NULL;
			errno = EFBIG;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

int
sconf_load(const char *path, struct sconf **out, char *err, size_t errlen)
{
	struct sconf_cfg_load lc = { err, errlen, 0, path };
	struct sconf *c = NULL;
	cfg_t *cfg = NULL;
	char *text = NULL;
	int rc = -1, prc;

	if (path == NULL || out == NULL || err == NULL || errlen == 0)
		return -1;
	err[0] = '\0';
	if ((cfg = cfg_init(top_opts, CFGF_NONE)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	sconf_cfg_begin(cfg, &lc);
	sconf_cfg_validators(cfg, validators,
	    sizeof(validators) / sizeof(validators[0]));
	if ((text = read_file(path)) == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		goto out;
	}
	sconf_blank_comments(text);
	prc = cfg_parse_buf(cfg, text);
	if (prc != CFG_SUCCESS) {
		if (!lc.have)
			snprintf(err, errlen, "%s: parse error", path);
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (sconf_convert(cfg, c, err, errlen) != 0 ||
	    sconf_check(c, err, errlen) != 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	sconf_cfg_end();
	free(text);
	sconf_free(c);
	if (cfg != NULL)
		cfg_free(cfg);
	return rc;
}
