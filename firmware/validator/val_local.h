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

struct sockaddr;

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
 * A TCP connection to host:port (host a name or an address literal) by
 * the deadline, to the first address the policy allows; the fd, or -1
 * with why.
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
 * POST body to url with headers (lines ending CRLF) under the address
 * policy within total_ms: 0 on a 2xx, else -1 with why; *status the
 * answer's status, 0 if none (signet-notify, issue 19).
 */
int	val_http_post(const char *url, const char *headers,
	    const uint8_t *body, size_t len, int loopback_ok,
	    uint64_t total_ms, int *status, char *why, size_t whylen);

#endif
