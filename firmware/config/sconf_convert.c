/*
 * From libconfuse's tree to struct sconf, and the checks that need the
 * whole file (references between sections, listeners, ranges).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "signet/sconf.h"

int sconf_convert(cfg_t *cfg, struct sconf *c, char *err, size_t errlen);
int sconf_check(const struct sconf *c, char *err, size_t errlen);
/* sconf_notify.c */
int sconf_notify_check(const struct sconf *c, char *err, size_t errlen);

/* Duplicates an optional string; *ok cleared on allocation failure. */
static char *
dup_opt(cfg_t *sec, const char *name, int *ok)
{
	const char *v = sec ? cfg_getstr(sec, name) : NULL;
	char *d;

	if (v == NULL)
		return NULL;
	if ((d = strdup(v)) == NULL)
		*ok = 0;
	return d;
}

static void
get_list(cfg_t *sec, const char *name, struct sconf_list *l, int *ok)
{
	unsigned i, n = cfg_size(sec, name);

	l->n = 0;
	l->v = NULL;
	if (n == 0)
		return;
	if ((l->v = calloc(n, sizeof(char *))) == NULL) {
		*ok = 0;
		return;
	}
	for (i = 0; i < n; i++) {
		if ((l->v[i] = strdup(cfg_getnstr(sec, name, i))) == NULL) {
			*ok = 0;
			return;
		}
		l->n++;
	}
}

static void
conv_profile(cfg_t *s, struct sconf_profile *p, int *ok)
{
	cfg_t *subj = cfg_getsec(s, "subject");

	p->name = strdup(cfg_title(s));
	if (p->name == NULL)
		*ok = 0;
	p->issuer = dup_opt(s, "issuer", ok);
	p->est_label = dup_opt(s, "est_label", ok);
	get_list(s, "domains", &p->domains, ok);
	p->allow_bare = cfg_getbool(s, "allow_bare");
	p->allow_subdomains = cfg_getbool(s, "allow_subdomains");
	p->allow_glob = cfg_getbool(s, "allow_glob");
	p->allow_wildcard = cfg_getbool(s, "allow_wildcard");
	p->allow_localhost = cfg_getbool(s, "allow_localhost");
	p->allow_ip = cfg_getbool(s, "allow_ip");
	p->enforce_hostnames = cfg_getbool(s, "enforce_hostnames");
	get_list(s, "cidrs", &p->cidrs, ok);
	get_list(s, "uri_patterns", &p->uri_patterns, ok);
	get_list(s, "key_types", &p->key_types, ok);
	p->ttl = sconf_duration(cfg_getstr(s, "ttl"));
	p->max_ttl = sconf_duration(cfg_getstr(s, "max_ttl"));
	p->truncate_at_issuer_expiry =
	    strcmp(cfg_getstr(s, "on_issuer_expiry"), "truncate") == 0;
	get_list(s, "key_usage", &p->key_usage, ok);
	get_list(s, "ext_key_usage", &p->ext_key_usage, ok);
	p->subject_o = dup_opt(subj, "O", ok);
	p->subject_ou = dup_opt(subj, "OU", ok);
	p->subject_c = dup_opt(subj, "C", ok);
	p->subject_st = dup_opt(subj, "ST", ok);
	p->subject_l = dup_opt(subj, "L", ok);
	p->store = cfg_getbool(s, "store");
	p->self_service = cfg_getbool(s, "self_service");
	p->acme = cfg_getbool(s, "acme");
	get_list(s, "roles", &p->roles, ok);
	get_list(cfg_getsec(s, "notify"), "thresholds", &p->notify_thresholds,
	    ok);
	get_list(cfg_getsec(s, "notify"), "webhooks", &p->notify_webhooks, ok);
}

static void
conv_notify(cfg_t *n, struct sconf *c, int *ok)
{
	c->notify_secret_file = dup_opt(n, "secret_file", ok);
	c->notify_interval = sconf_duration(cfg_getstr(n, "interval"));
	c->notify_retry = sconf_duration(cfg_getstr(n, "retry"));
	c->notify_lease = sconf_duration(cfg_getstr(n, "lease"));
	c->notify_max_attempts = cfg_getint(n, "max_attempts");
	c->notify_loopback = cfg_getbool(n, "allow_loopback");
}

static void
conv_tenant(cfg_t *s, struct sconf_tenant *t, int *ok)
{
	unsigned i, ni = cfg_size(s, "issuer"), np = cfg_size(s, "profile");

	if ((t->name = strdup(cfg_title(s))) == NULL)
		*ok = 0;
	t->retention = sconf_duration(cfg_getstr(s, "retention"));
	if (ni > 0 && (t->issuers = calloc(ni, sizeof(*t->issuers))) == NULL)
		*ok = 0;
	if (np > 0 && (t->profiles = calloc(np, sizeof(*t->profiles))) == NULL)
		*ok = 0;
	if (!*ok)
		return;
	for (i = 0; i < ni; i++) {
		cfg_t *is = cfg_getnsec(s, "issuer", i);
		struct sconf_issuer *x = &t->issuers[t->nissuers++];

		if ((x->name = strdup(cfg_title(is))) == NULL)
			*ok = 0;
		x->key_label = dup_opt(is, "key", ok);
		x->cert_file = dup_opt(is, "cert", ok);
		x->chain_file = dup_opt(is, "chain", ok);
		x->ocsp_cert_file = dup_opt(is, "ocsp_cert", ok);
		x->ocsp_key_label = dup_opt(is, "ocsp_key", ok);
		x->delta_crl = cfg_getbool(is, "delta_crl");
		x->delta_in_certs = cfg_getbool(is, "delta_in_certs");
	}
	for (i = 0; i < np; i++)
		conv_profile(cfg_getnsec(s, "profile", i),
		    &t->profiles[t->nprofiles++], ok);
}

static void
conv_clients(cfg_t *cfg, struct sconf *c, int *ok)
{
	unsigned i, n = cfg_size(cfg, "client");

	if (n == 0)
		return;
	if ((c->clients = calloc(n, sizeof(*c->clients))) == NULL) {
		*ok = 0;
		return;
	}
	for (i = 0; i < n; i++) {
		cfg_t *s = cfg_getnsec(cfg, "client", i);
		struct sconf_client *x = &c->clients[c->nclients++];

		if ((x->name = strdup(cfg_title(s))) == NULL)
			*ok = 0;
		x->match_cn = dup_opt(s, "cn", ok);
		x->match_o = dup_opt(s, "o", ok);
		x->match_ou = dup_opt(s, "ou", ok);
		x->issuer = dup_opt(s, "issuer", ok);
		x->issuer_key_id = dup_opt(s, "issuer_key_id", ok);
		get_list(s, "issuer_cert", &x->issuer_cert, ok);
		x->role = dup_opt(s, "role", ok);
		get_list(s, "tenants", &x->tenants, ok);
	}
}

static void
conv_limits(cfg_t *s, struct sconf_limits *l)
{
	l->max_header = cfg_getint(s, "max_header");
	l->max_body = cfg_getint(s, "max_body");
	l->read_timeout = sconf_duration(cfg_getstr(s, "read_timeout"));
	l->idle_timeout = sconf_duration(cfg_getstr(s, "idle_timeout"));
	l->max_connections = cfg_getint(s, "max_connections");
	l->max_per_source = cfg_getint(s, "max_connections_per_source");
	l->operator_reserve = cfg_getint(s, "operator_reserve");
	l->handshake_timeout = sconf_duration(cfg_getstr(s,
	    "handshake_timeout"));
	l->request_timeout = sconf_duration(cfg_getstr(s, "request_timeout"));
	l->rate_identity = cfg_getint(s, "rate_identity");
	l->burst_identity = cfg_getint(s, "burst_identity");
	l->rate_tenant = cfg_getint(s, "rate_tenant");
	l->burst_tenant = cfg_getint(s, "burst_tenant");
	l->rate_auth_fail = cfg_getint(s, "rate_auth_fail");
	l->burst_auth_fail = cfg_getint(s, "burst_auth_fail");
	l->auth_fail_window = sconf_duration(cfg_getstr(s,
	    "auth_fail_window"));
	l->rate_ocsp_nonce = cfg_getint(s, "rate_ocsp_nonce");
	l->burst_ocsp_nonce = cfg_getint(s, "burst_ocsp_nonce");
	l->rate_ocsp_sign = cfg_getint(s, "rate_ocsp_sign");
	l->burst_ocsp_sign = cfg_getint(s, "burst_ocsp_sign");
	l->max_coap_sessions = cfg_getint(s, "max_coap_sessions");
	l->max_coap_handshakes = cfg_getint(s, "max_coap_handshakes");
	l->coap_hello_unverified = cfg_getint(s, "coap_hello_unverified");
}

int
sconf_convert(cfg_t *cfg, struct sconf *c, char *err, size_t errlen)
{
	cfg_t *ls = cfg_getsec(cfg, "listen"), *tk = cfg_getsec(cfg, "token");
	cfg_t *st = cfg_getsec(cfg, "storage"), *tls = cfg_getsec(cfg, "tls");
	cfg_t *u = cfg_getsec(cfg, "urls"), *rv = cfg_getsec(cfg, "revocation");
	unsigned i, nt = cfg_size(cfg, "tenant");
	int ok = 1;

	c->data_dir = dup_opt(cfg, "data_dir", &ok);
	c->log = dup_opt(cfg, "log", &ok);
	c->log_level = dup_opt(cfg, "log_level", &ok);
	c->metrics = dup_opt(cfg, "metrics", &ok);
	c->user = dup_opt(cfg, "user", &ok);
	c->https_user = dup_opt(cfg, "https_user", &ok);
	c->coap_user = dup_opt(cfg, "coap_user", &ok);
	c->sandbox_dir = dup_opt(cfg, "sandbox_dir", &ok);
	c->sandbox = cfg_getbool(cfg, "sandbox");
	c->https_workers = (int)cfg_getint(cfg, "https_workers");
	c->est_default = dup_opt(cfg, "est_default", &ok);
	c->token_max_ttl = sconf_duration(cfg_getstr(cfg, "token_max_ttl"));
	c->acme_base_url = dup_opt(cfg, "acme_base_url", &ok);
	c->acme_http01_port = (int)cfg_getint(cfg, "acme_http01_port");
	c->acme_validate_loopback = cfg_getbool(cfg, "acme_validate_loopback");
	c->acme_http01_address = dup_opt(cfg, "acme_http01_address", &ok);
	c->acme_tlsalpn01_port = (int)cfg_getint(cfg, "acme_tlsalpn01_port");
	c->acme_dns_resolver = dup_opt(cfg, "acme_dns_resolver", &ok);
	get_list(cfg, "acme_validate_allow", &c->acme_validate_allow, &ok);
	get_list(cfg, "acme_caa_identities", &c->acme_caa_identities, &ok);
	c->acme_orders_per_account = cfg_getint(cfg,
	    "acme_orders_per_account");
	c->acme_orders_window = sconf_duration(cfg_getstr(cfg,
	    "acme_orders_window"));
	c->acme_failed_authz_per_account = cfg_getint(cfg,
	    "acme_failed_authz_per_account");
	c->acme_failed_authz_window = sconf_duration(cfg_getstr(cfg,
	    "acme_failed_authz_window"));
	c->acme_accounts_per_source = cfg_getint(cfg,
	    "acme_accounts_per_source");
	c->acme_accounts_window = sconf_duration(cfg_getstr(cfg,
	    "acme_accounts_window"));
	/* ACME state lifetimes (issue 20) */
	c->acme_order_lifetime = sconf_duration(cfg_getstr(cfg,
	    "acme_order_lifetime"));
	c->acme_authz_reuse = sconf_duration(cfg_getstr(cfg,
	    "acme_authz_reuse"));
	c->listen_https = dup_opt(ls, "https", &ok);
	c->listen_http = dup_opt(ls, "http", &ok);
	c->listen_coap = dup_opt(ls, "coap", &ok);
	c->token_module = dup_opt(tk, "module", &ok);
	c->token_label = dup_opt(tk, "label", &ok);
	c->token_pin_file = dup_opt(tk, "pin_file", &ok);
	c->token_session_keys = cfg_getbool(tk, "session_keys");
	c->token_pool = (int)cfg_getint(tk, "pool");
	c->storage_backend = dup_opt(st, "backend", &ok);
	c->storage_path = dup_opt(st, "path", &ok);
	c->audit_key_label = dup_opt(st, "audit_key", &ok);
	c->audit_checkpoint_every = cfg_getint(st, "audit_checkpoint_every");
	c->audit_checkpoint_secs =
	    sconf_duration(cfg_getstr(st, "audit_checkpoint_interval"));
	c->audit_checkpoint_export = dup_opt(st, "audit_checkpoint_export",
	    &ok);
	c->storage_cache_kib = cfg_getint(st, "cache_kib");
	c->tls_cert = dup_opt(tls, "cert", &ok);
	c->tls_key = dup_opt(tls, "key", &ok);
	get_list(tls, "client_ca", &c->tls_client_ca, &ok);
	c->url_ocsp = dup_opt(u, "ocsp", &ok);
	c->url_ca_issuers = dup_opt(u, "ca_issuers", &ok);
	c->url_crl = dup_opt(u, "crl", &ok);
	c->url_delta_crl = dup_opt(u, "delta_crl", &ok);
	c->crl_next_update = sconf_duration(cfg_getstr(rv, "crl_next_update"));
	c->ocsp_validity = sconf_duration(cfg_getstr(rv, "ocsp_validity"));
	c->ocsp_ignore_nonce = cfg_getbool(rv, "ignore_nonce");
	c->rev_freshness = sconf_duration(cfg_getstr(rv, "freshness"));
	c->rev_refresh_sigs = cfg_getint(rv, "refresh_signatures");
	c->delta_next_update = sconf_duration(cfg_getstr(rv,
	    "delta_next_update"));
	c->tidy_interval = sconf_duration(cfg_getstr(cfg_getsec(cfg, "tidy"),
	    "interval"));
	c->tidy_batch = cfg_getint(cfg_getsec(cfg, "tidy"), "batch");
	conv_notify(cfg_getsec(cfg, "notify"), c, &ok);
	conv_limits(cfg_getsec(cfg, "limits"), &c->limits);
	conv_clients(cfg, c, &ok);
	if (ok && nt > 0 &&
	    (c->tenants = calloc(nt, sizeof(*c->tenants))) == NULL)
		ok = 0;
	for (i = 0; ok && i < nt; i++)
		conv_tenant(cfg_getnsec(cfg, "tenant", i),
		    &c->tenants[c->ntenants++], &ok);
	if (!ok) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static int
check_listen(const char *what, const char *v, char *err, size_t errlen,
    const char *path)
{
	const char *colon;
	char *end;
	long port;

	if (v == NULL)
		return 0;
	colon = strrchr(v, ':');
	if (colon == NULL || colon == v)
		FAIL("%s: listen %s: \"%s\" is not host:port", path, what, v);
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port <= 0 || port > 65535)
		FAIL("%s: listen %s: bad port in \"%s\"", path, what, v);
	return 0;
}

static int
check_tenant(const struct sconf *c, const struct sconf_tenant *t, char *err,
    size_t errlen)
{
	size_t i, j;

	for (i = 0; i < t->nissuers; i++) {
		const struct sconf_issuer *x = &t->issuers[i];

		if (x->key_label == NULL || x->cert_file == NULL)
			FAIL("%s: tenant \"%s\" issuer \"%s\": key and cert are "
			    "required", c->path, t->name, x->name);
		/* Issue 19: a delta CRL is served where freshestCRL says. */
		if (x->delta_crl && c->url_delta_crl == NULL)
			FAIL("%s: tenant \"%s\" issuer \"%s\": delta_crl needs "
			    "urls { delta_crl = \"http://.../crl/delta/%%s.crl\" }",
			    c->path, t->name, x->name);
		if (x->delta_in_certs && !x->delta_crl)
			FAIL("%s: tenant \"%s\" issuer \"%s\": delta_in_certs "
			    "needs delta_crl = true", c->path, t->name, x->name);
	}
	for (i = 0; i < t->nprofiles; i++) {
		const struct sconf_profile *p = &t->profiles[i];

		if (p->issuer == NULL && t->nissuers != 1)
			FAIL("%s: tenant \"%s\" profile \"%s\": name its issuer",
			    c->path, t->name, p->name);
		if (p->issuer != NULL && sconf_issuer(t, p->issuer) == NULL)
			FAIL("%s: tenant \"%s\" profile \"%s\": no issuer \"%s\" "
			    "in this tenant", c->path, t->name, p->name,
			    p->issuer);
		if (p->ttl <= 0 || p->max_ttl <= 0 || p->ttl > p->max_ttl)
			FAIL("%s: tenant \"%s\" profile \"%s\": ttl must be "
			    "positive and at most max_ttl", c->path, t->name,
			    p->name);
		if (p->domains.n == 0 && !p->allow_ip && p->uri_patterns.n == 0)
			FAIL("%s: tenant \"%s\" profile \"%s\": allows no names "
			    "(set domains, allow_ip or uri_patterns)", c->path,
			    t->name, p->name);
		for (j = 0; p->est_label && j < c->ntenants; j++) {
			size_t k;

			for (k = 0; k < c->tenants[j].nprofiles; k++) {
				const struct sconf_profile *q =
				    &c->tenants[j].profiles[k];

				if (q != p && q->est_label &&
				    strcmp(q->est_label, p->est_label) == 0)
					FAIL("%s: EST label \"%s\" is used twice",
					    c->path, p->est_label);
			}
		}
	}
	return 0;
}

/*
 * Issue 13: the CRL and CA certificate URLs (/crl/<issuer>.crl,
 * /ca/<issuer>.der, and the AIA and CRL DP built from them) name the
 * issuer alone, so an issuer name is one issuer across all tenants;
 * otherwise one tenant's revocations would be published by the other's.
 */
static int
check_issuer_names(const struct sconf *c, char *err, size_t errlen)
{
	const struct sconf_tenant *t, *u;
	size_t i, j, k, l;

	for (i = 0; i < c->ntenants; i++)
		for (k = 0; k < c->tenants[i].nissuers; k++)
			for (j = i; j < c->ntenants; j++)
				for (l = j == i ? k + 1 : 0;
				    l < c->tenants[j].nissuers; l++) {
					t = &c->tenants[i];
					u = &c->tenants[j];
					if (strcmp(t->issuers[k].name,
					    u->issuers[l].name) != 0)
						continue;
					FAIL("%s: issuer \"%s\" is in tenant "
					    "\"%s\" and tenant \"%s\": CRL and "
					    "CA certificate URLs name the issuer "
					    "alone, so each issuer needs a name "
					    "of its own", c->path,
					    t->issuers[k].name, t->name,
					    u->name);
				}
	return 0;
}

int
sconf_check(const struct sconf *c, char *err, size_t errlen)
{
	const struct sconf_tenant *t;
	const struct sconf_profile *p;
	size_t i, j;

	if (check_listen("https", c->listen_https, err, errlen, c->path) ||
	    check_listen("http", c->listen_http, err, errlen, c->path) ||
	    check_listen("coap", c->listen_coap, err, errlen, c->path))
		return -1;
	if (c->token_label == NULL || c->token_pin_file == NULL)
		FAIL("%s: token: label and pin_file are required", c->path);
	if (c->token_pool < 1 || c->token_pool > 64)
		FAIL("%s: token: pool must be 1..64", c->path);
	if (c->storage_path == NULL)
		FAIL("%s: storage: path is required", c->path);
	if (c->storage_cache_kib < 64 || c->storage_cache_kib > 1048576)
		FAIL("%s: storage: cache_kib must be 64..1048576 (SQLite's "
		    "page cache per connection, KiB)", c->path);
	/* Issue 19: the timer ticks once a second; CA_CRL_MAX_DELAY caps. */
	if (c->rev_freshness < 2 || c->rev_freshness > 60)
		FAIL("%s: revocation: freshness must be 2s..60s (a revocation "
		    "is in the CRL and OCSP within it)", c->path);
	if (c->rev_refresh_sigs < 1 || c->rev_refresh_sigs > 10000)
		FAIL("%s: revocation: refresh_signatures must be 1..10000 "
		    "(token signatures per second for background refresh)",
		    c->path);
	if (c->delta_next_update < 60 ||
	    c->delta_next_update > c->crl_next_update)
		FAIL("%s: revocation: delta_next_update must be 60s.."
		    "crl_next_update (a delta CRL's lifetime)", c->path);
	/* Issue 19: a batch is one op of a group commit; keep it short. */
	if (c->tidy_batch < 1 || c->tidy_batch > 10000)
		FAIL("%s: tidy: batch must be 1..10000 (rows removed per "
		    "transaction)", c->path);
	if (sconf_notify_check(c, err, errlen) != 0)
		return -1;
	for (i = 0; i < c->ntenants; i++)
		if (c->tenants[i].retention < 1)
			FAIL("%s: tenant \"%s\": retention must be at least 1s "
			    "(how long expired certificates and spent tokens "
			    "are kept)", c->path, c->tenants[i].name);
	if (c->listen_https && (c->tls_cert == NULL || c->tls_key == NULL))
		FAIL("%s: tls: cert and key are required with listen https",
		    c->path);
	for (i = 0; i < c->nclients; i++) {
		const struct sconf_client *x = &c->clients[i];

		uint8_t kid[64];
		size_t kidlen;

		if (x->role == NULL || x->match_cn == NULL)
			FAIL("%s: client \"%s\": cn and role are required",
			    c->path, x->name);
		/* DESIGN.md rule 9: a mapping names the CA it trusts. */
		if (x->issuer == NULL && x->issuer_key_id == NULL &&
		    x->issuer_cert.n == 0)
			FAIL("%s: client \"%s\": name the client CA it trusts "
			    "(issuer = \"<subject DN, RFC 2253>\", issuer_key_id "
			    "= \"<hex>\" or issuer_cert = { \"<PEM file>\" }): "
			    "without it any CA in tls.client_ca could grant role "
			    "%s", c->path, x->name, x->role);
		if (x->issuer_key_id != NULL && sconf_hex(x->issuer_key_id,
		    kid, sizeof(kid), &kidlen) != 0)
			FAIL("%s: client \"%s\": issuer_key_id \"%s\" is not "
			    "hex (e.g. \"a1:b2:...\")", c->path, x->name,
			    x->issuer_key_id);
		for (j = 0; j < x->tenants.n; j++)
			if (strcmp(x->tenants.v[j], "*") != 0 &&
			    sconf_tenant(c, x->tenants.v[j]) == NULL)
				FAIL("%s: client \"%s\": no tenant \"%s\"",
				    c->path, x->name, x->tenants.v[j]);
	}
	for (i = 0; i < c->ntenants; i++)
		if (check_tenant(c, &c->tenants[i], err, errlen) != 0)
			return -1;
	if (check_issuer_names(c, err, errlen) != 0)
		return -1;
	if (c->acme_http01_port < 1 || c->acme_http01_port > 65535 ||
	    c->acme_tlsalpn01_port < 1 || c->acme_tlsalpn01_port > 65535)
		FAIL("%s: acme_http01_port and acme_tlsalpn01_port must be "
		    "1..65535", c->path);
	for (i = 0; i < c->acme_validate_allow.n; i++)
		if (sconf_cidr(c->acme_validate_allow.v[i], NULL) != 0)
			FAIL("%s: acme_validate_allow: \"%s\" is not a CIDR "
			    "(\"10.0.0.0/8\", \"2001:db8::/32\")", c->path,
			    c->acme_validate_allow.v[i]);
	/* ACME rate limits: N per window; N = 0 turns one off. */
	if (c->acme_orders_per_account < 0 ||
	    c->acme_failed_authz_per_account < 0 ||
	    c->acme_accounts_per_source < 0 ||
	    c->acme_orders_per_account > SCONF_ACME_LIMIT_MAX ||
	    c->acme_failed_authz_per_account > SCONF_ACME_LIMIT_MAX ||
	    c->acme_accounts_per_source > SCONF_ACME_LIMIT_MAX)
		FAIL("%s: acme_orders_per_account, "
		    "acme_failed_authz_per_account and acme_accounts_per_source "
		    "must be 0 (no limit) .. %d", c->path,
		    SCONF_ACME_LIMIT_MAX);
	if (c->acme_orders_window < 1 || c->acme_failed_authz_window < 1 ||
	    c->acme_accounts_window < 1 ||
	    c->acme_orders_window > SCONF_ACME_WINDOW_MAX ||
	    c->acme_failed_authz_window > SCONF_ACME_WINDOW_MAX ||
	    c->acme_accounts_window > SCONF_ACME_WINDOW_MAX)
		FAIL("%s: acme_orders_window, acme_failed_authz_window and "
		    "acme_accounts_window must be 1s .. 7d", c->path);
	if (c->acme_dns_resolver != NULL &&
	    sconf_hostport(c->acme_dns_resolver, NULL) != 0)
		FAIL("%s: acme_dns_resolver \"%s\" is not an address and "
		    "port (\"127.0.0.1:53\", \"[2001:db8::1]:53\")", c->path,
		    c->acme_dns_resolver);
	/* CAA issuer-domain-name (RFC 8659 4.2): letters, digits, - and . */
	for (i = 0; i < c->acme_caa_identities.n; i++)
		if (c->acme_caa_identities.v[i][0] == '\0' ||
		    strlen(c->acme_caa_identities.v[i]) > 253 ||
		    strspn(c->acme_caa_identities.v[i], "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
		    strlen(c->acme_caa_identities.v[i]))
			FAIL("%s: acme_caa_identities: \"%s\" is not a domain "
			    "name (\"ca.example.com\")", c->path,
			    c->acme_caa_identities.v[i]);
	/* ACME state lifetimes (issue 20) */
	if (c->acme_order_lifetime < 60 || c->acme_order_lifetime > 30 * 86400)
		FAIL("%s: acme_order_lifetime must be 1m..30d", c->path);
	if (c->acme_authz_reuse < 0 || c->acme_authz_reuse > 30 * 86400)
		FAIL("%s: acme_authz_reuse must be 0..30d", c->path);
	if (c->est_default && sconf_est_label(c, "", &t, &p) != 0)
		FAIL("%s: est_default \"%s\" names no tenant/profile", c->path,
		    c->est_default);
	return 0;
}
