/* Internal to signet-validator. */
#ifndef SIGNET_VAL_LOCAL_H
#define SIGNET_VAL_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include <signet/sconf.h>

#define VAL_MAX_BODY		8192	/* bytes of an answer kept */
#define VAL_CONNECT_MS		5000	/* connect, at most */
#define VAL_TOTAL_MS		15000	/* the whole validation, at most */
#define VAL_MAX_ALLOW		64	/* acme_validate_allow entries */
#define VAL_MAX_TXT		16	/* TXT records kept of a dns-01 answer */
#define VAL_MAX_ADDRS		16	/* A and AAAA addresses tried, at most */
#define VAL_MAX_CAA		32	/* CAA records of one RRset kept */
#define VAL_MAX_HOST		256

struct sockaddr;
struct sockaddr_storage;

/* Where validations may connect (val_policy.c). */
struct val_policy {
	int			loopback_ok;	/* acme_validate_loopback */
	struct sconf_cidr	allow[VAL_MAX_ALLOW];
	size_t			nallow;
};

/* From the configuration; 0, or -1 with err (a malformed entry). */
int	val_policy_init(struct val_policy *pol, const struct sconf *c,
	    char *err, size_t errlen);
/*
 * Whether an address may be validated: never unspecified, multicast,
 * 240/4, IPv4-mapped or -compatible; loopback and link-local only when
 * an allow-list entry inside that range names them (or loopback with
 * acme_validate_loopback); others inside the allow list (any when it is
 * empty).  1 allowed, 0 refused.
 */
int	val_addr_allowed(const struct val_policy *pol,
	    const struct sockaddr *sa);

/* What a validation works with: configuration, policy, DNS. */
struct val_ctx {
	const struct sconf	*conf;
	struct val_policy	 pol;
	void			*dns;	/* val_dns.c */
	void			*tls;	/* SSL_CTX for tls-alpn-01 */
};

uint64_t val_now_ms(void);
/*
 * "<scheme>host[:port]/rest" (host an IPv6 literal in brackets) into
 * host and port (defport when absent; NULL: the port is required) and
 * *rest, which points at the '/'.  0, or -1.  The one URL splitter of
 * http-01, tls-alpn-01 and signet-notify.
 */
int	val_split_url(const char *url, const char *scheme,
	    const char *defport, char *host, size_t hsize, char *port,
	    size_t psize, const char **rest);
/*
 * A TCP connection to the first of the n addresses the policy allows,
 * each within VAL_CONNECT_MS and all by the deadline; every address is
 * checked before it is tried.  The fd, or -1 with why ("host: address
 * not allowed", "host: connection failed: ..."; host NULL: no prefix).
 */
int	val_connect_first(const struct val_policy *pol, const char *host,
	    const struct sockaddr_storage *a, size_t n, const char *port,
	    uint64_t deadline, char *why, size_t whylen);
/*
 * A TCP connection to host:port (host a name or an address literal) by
 * the deadline: a literal as it is, a name by its A and AAAA records
 * through the configured resolver (val_dns_addrs; acme_http01_address
 * overrides both in tests), then val_connect_first.  The fd, or -1 with
 * why.
 */
int	val_dial(struct val_ctx *v, const char *host, const char *port,
	    uint64_t deadline, char *why, size_t whylen);

/*
 * GET url (http://host:port/path, as the engine built it) under the
 * address policy and deadlines; what the server sent in the body of a
 * 200 answer goes to out (at most size bytes), *n its length.  0, or -1
 * with why ("connection refused", "HTTP 404", ...).
 */
int	val_http01(struct val_ctx *v, const char *url, uint8_t *out,
	    size_t size, size_t *n, char *why, size_t whylen);

/*
 * tls-alpn-01 (RFC 8737): url is tls://host:port/sni.  Connects, offers
 * only ALPN acme-tls/1 with that SNI, requires the server to select it,
 * and puts the certificate it presented (DER) into out.  The engine
 * checks the certificate.  0, or -1 with why ("tls: ..." for TLS
 * failures).
 */
void	*val_tls_init(char *err, size_t errlen);
void	 val_tls_free(void *tls);
int	val_tlsalpn01(struct val_ctx *v, const char *url, uint8_t *out,
	    size_t size, size_t *n, char *why, size_t whylen);

/*
 * dns-01 (RFC 8555 8.4): url is dns:<name>.  The TXT records at name
 * through the configured resolver (acme_dns_resolver), one a line (a
 * record's strings joined) into out.  0, or -1 with why.
 */
void	*val_dns_init(const struct sconf *c, char *err, size_t errlen);
void	 val_dns_free(void *dns);
int	val_dns01(struct val_ctx *v, const char *url, uint8_t *out,
	    size_t size, size_t *n, char *why, size_t whylen);
/*
 * The A and AAAA addresses of name (no search list, no /etc/hosts)
 * through the configured resolver, at most max into out, port not set.
 * 0 with *n >= 1, or -1 with why.
 */
int	val_dns_addrs(struct val_ctx *v, const char *name, uint64_t deadline,
	    struct sockaddr_storage *out, size_t max, size_t *n, char *why,
	    size_t whylen);
/*
 * Drives the channel's queries until *done is set or the deadline;
 * 0 when done, -1 when the deadline passed (the queries are cancelled,
 * their callbacks run with ARES_ECANCELLED).
 */
int	val_dns_wait(struct val_ctx *v, const int *done, uint64_t deadline);

/* One CAA resource record (RFC 8659 4.1), as the validator keeps it. */
struct val_caa_rr {
	int	critical;		/* Issuer Critical Flag */
	char	tag[16];		/* property tag, as sent */
	char	value[256];		/* property value, NUL-terminated */
};

/*
 * RFC 8659 4: whether the relevant CAA RRset rr[0..n-1] (non-empty)
 * permits a CA known by the identities ids to issue for a name (wildcard:
 * a "*." name, where issuewild records, if any, are the ones that count).
 * 1 permitted; 0 not, with why.  Pure, for val_caa_test.
 */
int	val_caa_permits(const struct val_caa_rr *rr, size_t n, int wildcard,
	    const struct sconf_list *ids, char *why, size_t whylen);
/* Who asks, for RFC 8657's accounturi and validationmethods. */
struct val_caa_who {
	const char	*base;		/* "https://host:port", no '/' after */
	const char	*account;	/* the account's id; NULL: unknown */
	const char	*method;	/* "http-01"...; NULL: unknown */
};
/*
 * The same, honouring RFC 8657 parameters: a record with accounturi
 * names this CA only for who's account, one with validationmethods only
 * for who's method (who NULL: neither is satisfied).  Pure.
 */
int	val_caa_permits_for(const struct val_caa_rr *rr, size_t n,
	    int wildcard, const struct sconf_list *ids,
	    const struct val_caa_who *who, char *why, size_t whylen);
/*
 * The CAA check of identifier ident ("name" or "*.name"; empty: none)
 * before its validation: the relevant RRset by climbing from the name
 * towards the root (RFC 8659 3) through the configured resolver, judged
 * by val_caa_permits against acme_caa_identities.  0 permitted (or no
 * identities configured: CAA off); account (VA_NEXT's index: the
 * account's id) and location (what is fetched, hence the challenge type)
 * for RFC 8657; -1 with why beginning "caa: " when
 * forbidden or when a lookup failed (fail closed).
 */
int	val_caa(struct val_ctx *v, const char *ident, const char *account,
	    const char *location, char *why, size_t whylen);

/*
 * POST body to url with headers (lines ending CRLF) under the address
 * policy within total_ms: 0 on a 2xx, else -1 with why; *status the
 * answer's status, 0 if none (signet-notify, issue 19).
 */
int	val_http_post(const char *url, const char *headers,
	    const uint8_t *body, size_t len, int loopback_ok,
	    uint64_t total_ms, int *status, char *why, size_t whylen);

#endif
