/* Internal to signet-validator. */
#ifndef SIGNET_VAL_LOCAL_H
#define SIGNET_VAL_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include <signet/sconf.h>

#define VAL_MAX_BODY		8192	/* bytes of an http-01 answer kept */
#define VAL_CONNECT_MS		5000	/* connect, at most */
#define VAL_TOTAL_MS		15000	/* the whole validation, at most */

struct sockaddr;

/*
 * Whether an address may be validated: never unspecified, multicast,
 * broadcast or link-local; loopback only when the configuration allows
 * it (tests).  1 allowed, 0 refused (val_http.c).
 */
int	val_addr_allowed(const struct sockaddr *sa, int loopback_ok);

/*
 * GET url (http://host:port/path, as the engine built it) under the
 * address policy and deadlines; what the server sent in the body of a
 * 200 answer goes to out (at most size bytes), *n its length.  0, or -1
 * with why ("connection refused", "HTTP 404", ...).
 */
int	val_http01(const struct sconf *c, const char *url, uint8_t *out,
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
