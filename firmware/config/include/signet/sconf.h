/*
 * signetd's configuration: one file, parsed with libconfuse, which refuses
 * unknown keys and malformed values with "file:line: message".  Semantic
 * checks (references between sections, ranges, listeners) follow parsing
 * and name the section they are about.
 *
 * The parsed form is plain data: strings and arrays of strings, numbers in
 * seconds.  Each process reads the slice it needs (the engine turns
 * tenants/profiles into struct ca_profile; front ends take listeners, TLS
 * files and limits).  sconf_load allocates; sconf_free frees everything.
 * Nothing here exits or prints.
 */
#ifndef SIGNET_SCONF_H
#define SIGNET_SCONF_H

#include <stddef.h>
#include <stdint.h>

#define SCONF_MAX_ERR 512

/*
 * The roles a client identity (client.role) or a profile (profile.roles)
 * names.  Roles travel as their names in engine messages, ledger rows and
 * audit records; code compares them through this enum.
 */
enum sconf_role {
	SCONF_ROLE_NONE = -1,	/* not a role name */
	SCONF_ROLE_OPERATOR,
	SCONF_ROLE_AGENT,
	SCONF_ROLE_REQUESTER,
	SCONF_ROLE_AUDITOR,
	SCONF_ROLE_COUNT
};

/* A set of roles, for sconf_role_in. */
#define SCONF_ROLE_BIT(r)	(1u << (r))

/* The configuration name of a role ("operator", ...); NULL if none. */
const char *sconf_role_name(enum sconf_role r);
/* The role a name spells, exactly; SCONF_ROLE_NONE if none (or NULL). */
enum sconf_role sconf_role_parse(const char *name);
/* Whether name spells one of the roles in mask (SCONF_ROLE_BIT each). */
int sconf_role_in(const char *name, unsigned int mask);

/*
 * A CIDR ("10.0.0.0/8", "2001:db8::/32"; a bare address is /32 or
 * /128) into out (may be NULL: only check).  0, or -1 if malformed.
 */
struct sconf_cidr {
	int	family;		/* AF_INET, AF_INET6 */
	uint8_t	addr[16];
	int	bits;
};
int sconf_cidr(const char *s, struct sconf_cidr *out);
/* "addr:port" or "[v6]:port" with a numeric address; out may be NULL. */
struct sconf_hostport {
	int	family;
	uint8_t	addr[16];
	int	port;
};
int sconf_hostport(const char *s, struct sconf_hostport *out);

/* A list of strings (NULL-free array of n pointers). */
struct sconf_list {
	char **v;
	size_t n;
};

struct sconf_issuer {
	char *name;
	char *key_label;  /* private key label in the token */
	char *cert_file;  /* PEM: the issuer's certificate */
	char *chain_file; /* PEM: certificates above it, up to the root */
	char *ocsp_cert_file; /* optional delegated OCSP signer certificate */
	char *ocsp_key_label; /* its key in the token */
	int delta_crl;	      /* publish delta CRLs (issue 19) */
	int delta_in_certs;   /* freshestCRL in issued certificates too */
};

struct sconf_profile {
	char *name;
	char *issuer;		   /* name of an issuer of the same tenant */
	char *est_label;	   /* optional /.well-known/est/<label>/ */
	struct sconf_list domains;
	int allow_bare, allow_subdomains, allow_glob, allow_wildcard;
	int allow_localhost, allow_ip, enforce_hostnames;
	struct sconf_list cidrs;
	struct sconf_list uri_patterns;
	struct sconf_list key_types;	   /* "p256", "rsa2048", ... */
	int64_t ttl, max_ttl;		   /* seconds */
	int truncate_at_issuer_expiry;	   /* else refuse */
	struct sconf_list key_usage;	   /* "digitalSignature", ... */
	struct sconf_list ext_key_usage;   /* "serverAuth", ... */
	char *subject_o, *subject_ou, *subject_c, *subject_st, *subject_l;
	int store;
	struct sconf_list roles;	   /* roles allowed to use it */
	int self_service;	/* issued certificates may enroll new names */
	int acme;		/* ACME directory at /acme/<est_label>/ */
	/* Expiry notifications (issue 19): "30d", "7d", or "50%" of the
	 * lifetime (sconf_threshold), and where to POST them. */
	struct sconf_list notify_thresholds;
	struct sconf_list notify_webhooks;	/* http://host[:port]/path */
};

struct sconf_tenant {
	char *name;
	struct sconf_issuer *issuers;
	size_t nissuers;
	struct sconf_profile *profiles;
	size_t nprofiles;
	int64_t retention;	/* tidy: seconds kept after expiry (issue 19) */
};

/*
 * A client identity: certificates matching it get a role in tenants.
 * At least one of issuer, issuer_key_id and issuer_cert names the client
 * CA the mapping trusts (signet/sconf_client.h applies it).
 */
struct sconf_client {
	char *name;
	char *match_cn;		  /* exact subject CN, or "*" */
	char *match_o;		  /* exact subject O, optional */
	char *match_ou;		  /* exact subject OU, optional */
	char *issuer;		  /* the client CA's subject, RFC 2253 */
	char *issuer_key_id;	  /* its key identifier, hex */
	struct sconf_list issuer_cert; /* PEM files of the client CA(s) */
	char *role;		  /* operator, agent, requester, auditor */
	struct sconf_list tenants; /* tenant names, or "*" for all */
};

struct sconf_limits {
	int64_t max_header;	/* bytes */
	int64_t max_body;	/* bytes */
	int64_t read_timeout;	/* seconds */
	int64_t idle_timeout;	/* seconds */
	int64_t max_connections;	/* per HTTPS front end, all workers */
	int64_t max_per_source;		/* connections per source address */
	int64_t operator_reserve;	/* more, for operators (per worker) */
	int64_t handshake_timeout;	/* seconds, TLS handshake */
	int64_t request_timeout;	/* seconds, first byte to whole request */
	int64_t rate_identity;	/* requests per second per client identity */
	int64_t burst_identity;
	int64_t rate_tenant;	/* requests per second per tenant */
	int64_t burst_tenant;
	/* Engine, per source address (IPv6: per /64), every front end: */
	int64_t rate_auth_fail;	/* authentication failures per second */
	int64_t burst_auth_fail;
	int64_t auth_fail_window; /* seconds: one audit row per source */
	int64_t rate_ocsp_nonce; /* OCSP answers signed for a nonce, /s */
	int64_t burst_ocsp_nonce;
	/* Engine, the whole appliance: OCSP answers signed on demand, /s */
	int64_t rate_ocsp_sign;
	int64_t burst_ocsp_sign;
	int64_t max_coap_sessions;
	int64_t max_coap_handshakes;
	/* ClientHellos without our cookie let through to libcoap per 60 s
	 * (api/coap/ec_gate.c); more get a HelloVerifyRequest from us. */
	int64_t coap_hello_unverified;
};

#define SCONF_ACME_LIMIT_MAX	1000000	/* acme_*_per_*, at most */
#define SCONF_ACME_WINDOW_MAX	604800	/* acme_*_window, at most 7 days */

struct sconf {
	char *path;		/* the file read */
	char *data_dir;
	char *log;		/* "stderr" or "syslog" */
	char *log_level;	/* "info" or "debug" */
	char *metrics;		/* /metrics: "auditor", "public" or "off" */
	int sandbox;		/* 1: own users, chroot, seccomp (appliance) */
	char *user;		/* the engine's user; owns data_dir */
	char *https_user;	/* the HTTPS front ends' user */
	char *coap_user;	/* the CoAP front end's user */
	char *sandbox_dir;	/* empty root-owned chroot of the front ends */
	int https_workers;	/* HTTPS front-end processes, 0 = one per core */

	char *listen_https;	/* "host:port" or NULL (off) */
	char *listen_http;
	char *listen_coap;

	char *token_module;
	char *token_label;
	char *token_pin_file;
	int token_session_keys;
	int token_pool;

	char *storage_backend;	/* "sqlite" (later "pgsql") */
	char *storage_path;	/* SQLite file, or a libpq conninfo */
	char *audit_key_label;	/* token key signing audit checkpoints */
	int64_t audit_checkpoint_every;	/* records */
	int64_t audit_checkpoint_secs;
	char *audit_checkpoint_export;	/* file checkpoints are appended to */
	int64_t storage_cache_kib;	/* SQLite page cache per connection */

	char *tls_cert;		/* HTTPS server certificate (PEM) */
	char *tls_key;		/* its key (PEM file; not a CA key) */
	struct sconf_list tls_client_ca; /* PEM files trusted for clients */

	char *url_ocsp;		/* AIA OCSP URL */
	char *url_ca_issuers;	/* AIA caIssuers URL; "%s" = issuer name */
	char *url_crl;		/* CRL DP URL; "%s" = issuer name */
	char *url_delta_crl;	/* delta CRLs' URL (freshestCRL); "%s" too */
	int64_t crl_next_update; /* seconds */
	int64_t ocsp_validity;	/* seconds a pre-signed response is valid */
	int ocsp_ignore_nonce;	/* RFC 5019: never echo a nonce, serve cache */
	int64_t rev_freshness;	/* a revocation is in CRL/OCSP by then (s) */
	int64_t rev_refresh_sigs; /* background signatures per second, max */
	int64_t delta_next_update; /* seconds: a delta CRL's lifetime */
	int64_t tidy_interval;	/* seconds between scheduled tidy runs; 0 off */
	int64_t tidy_batch;	/* rows per table per tidy transaction */

	char *est_default;	/* "tenant/profile" for /.well-known/est/ */
	int64_t token_max_ttl;	/* longest enrollment-token lifetime */
	char *acme_base_url;	/* "https://host:port" clients reach us by */
	int acme_http01_port;	/* port http-01 validations connect to */
	int acme_validate_loopback; /* tests: validate loopback addresses */
	char *acme_http01_address; /* tests: connect here, not to the name */
	int acme_tlsalpn01_port; /* port tls-alpn-01 validations connect to */
	char *acme_dns_resolver; /* "addr:port" dns-01 asks; NULL: resolv.conf */
	struct sconf_list acme_validate_allow; /* CIDRs validations may reach */
	/* CAA (RFC 8659): our issuer domain names; empty: no CAA check. */
	struct sconf_list acme_caa_identities;
	/* ACME rate limits (docs/acme.md "Rate limits"): N per window, 0 off */
	int64_t acme_orders_per_account;	/* newOrder per account */
	int64_t acme_orders_window;		/* seconds */
	int64_t acme_failed_authz_per_account;	/* failed validations */
	int64_t acme_failed_authz_window;
	int64_t acme_accounts_per_source;	/* newAccount per address/64 */
	int64_t acme_accounts_window;
	/* ACME state lifetimes (issue 20) */
	int64_t acme_order_lifetime; /* seconds a new order may wait */
	int64_t acme_authz_reuse; /* seconds a valid authz serves new
				     orders of its account; 0: never */

	/* Expiry notifications (issue 19, docs/notify.md). */
	char *notify_secret_file; /* HMAC key of the webhook signature */
	int64_t notify_interval;  /* seconds between threshold scans */
	int64_t notify_retry;	  /* first retry after; doubles, to 1h */
	int64_t notify_lease;	  /* a claimed delivery is re-offered after */
	int64_t notify_max_attempts; /* then the delivery is given up */
	int notify_loopback;	  /* tests: webhooks on loopback allowed */

	struct sconf_limits limits;
	struct sconf_client *clients;
	size_t nclients;
	struct sconf_tenant *tenants;
	size_t ntenants;
};

/*
 * Reads and checks the file.  On failure returns -1 and writes a message
 * naming the file and line (or the section) into err.
 */
int sconf_load(const char *path, struct sconf **out, char *err, size_t errlen);
void sconf_free(struct sconf *c);

/* Lookups; NULL when absent. */
const struct sconf_tenant *sconf_tenant(const struct sconf *c,
    const char *name);
const struct sconf_profile *sconf_profile(const struct sconf_tenant *t,
    const char *name);
const struct sconf_issuer *sconf_issuer(const struct sconf_tenant *t,
    const char *name);
/* The tenant and profile an EST label names ("" = est_default). */
int sconf_est_label(const struct sconf *c, const char *label,
    const struct sconf_tenant **t, const struct sconf_profile **p);

/*
 * Blanks out comments (#, // and C-style) in a NUL-terminated libconfuse
 * text, keeping every newline and quoted strings: libconfuse 3.3 miscounts
 * line numbers after comments, so every libconfuse user parses the
 * blanked text to keep its file:line messages right.
 */
void sconf_blank_comments(char *s);

/* Hex, colons between octets allowed, to bytes; 0, or -1 if malformed. */
int sconf_hex(const char *s, uint8_t *out, size_t size, size_t *len);

/* "25h", "90m", "3600", "7d" to seconds; -1 if malformed. */
int64_t sconf_duration(const char *s);

/*
 * A notification threshold: a duration before notAfter ("7d": *secs set,
 * *permille 0) or a share of the lifetime left ("50%", "12.5%": *permille
 * 1..999, *secs 0).  0, or -1 if malformed.
 */
int sconf_threshold(const char *s, int64_t *secs, int *permille);

/* Whether any profile has a webhook: then signetd starts signet-notify. */
int sconf_notify_wanted(const struct sconf *c);

#endif
