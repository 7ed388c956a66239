/*
 * signet-https: the mutual-TLS HTTPS front end (EST, JSON API) and the
 * plain-HTTP publication listener (CA certificates, CRLs, OCSP, metrics).
 *
 * The process holds no token session and no ledger: every answer that needs
 * the CA comes from the engine through engine messages (signet/proto.h).
 * It forwards what the client presented (certificate chain or bootstrap
 * token) and never claims an identity or a role.
 *
 * This header is private to api/https and its tests.  Pure parsers of
 * network bytes (https_b64.c, https_json.c, https_route.c) take
 * (const uint8_t *, size_t), allocate nothing and return 0 or a positive
 * HTTPS_E_* code; each has a fuzz target under tests/fuzz/https_*.
 */
#ifndef SIGNET_HTTPS_H
#define SIGNET_HTTPS_H

#include <stddef.h>
#include <stdint.h>

#include "signet/proto.h"

/* Limits of the parsers, in bytes unless stated otherwise. */
#define HTTPS_MAX_LABEL		64	/* EST label /.well-known/est/<l>/ */
#define HTTPS_MAX_PATH		2048	/* request path we look at */
#define HTTPS_MAX_AUTH		1024	/* Authorization header value */
#define HTTPS_MAX_B64_BODY	(PROTO_MAX_CSR * 2)	/* with line breaks */
#define HTTPS_MAX_JSON		(PROTO_MAX_CSR * 3)	/* PEM CSR + fields */
#define HTTPS_JSON_MAX_MEMBERS	16
#define HTTPS_JSON_MAX_ITEMS	PROTO_MAX_NAMES	/* strings in an array */
#define HTTPS_MAX_OCSP_PATH	(PROTO_MAX_OCSP_REQ * 3 + 16)
#define HTTPS_MAX_SERIAL_HEX	(PROTO_MAX_SERIAL * 2)
#define HTTPS_MAX_QUERY		1024

enum https_err {
	HTTPS_OK = 0,
	HTTPS_E_SYNTAX,		/* malformed input */
	HTTPS_E_TOOLONG,	/* input or a field exceeds its limit */
	HTTPS_E_SPACE,		/* output buffer too small */
	HTTPS_E_NOTFOUND,	/* path is not one of ours */
	HTTPS_E_TYPE,		/* JSON member of the wrong type */
	HTTPS_E_MISSING,	/* JSON member absent */
	HTTPS_E_ARG,
	HTTPS_E_MORE		/* more input needed */
};

const char	*https_strerror(int err);

/*
 * Base64 (RFC 4648).  Decoding is strict: only the alphabet, padding only
 * at the end and only as much as needed, zero trailing bits.  With
 * HTTPS_B64_WS, CR, LF, space and tab anywhere are skipped (EST bodies are
 * line-wrapped).  With HTTPS_B64_URL the URL alphabet is used and padding is
 * optional; HTTPS_B64_ANY accepts either alphabet (not mixed).
 */
#define HTTPS_B64_WS	0x01
#define HTTPS_B64_URL	0x02
#define HTTPS_B64_ANY	0x04
#define HTTPS_B64_NOPAD	0x08	/* padding may be left out */
int	https_b64_decode(const uint8_t *in, size_t inlen, int flags,
	    uint8_t *out, size_t outsize, size_t *outlen);
/* Encoded size of n bytes wrapped at 64 columns with "\n", plus NUL. */
size_t	https_b64_encoded_size(size_t n);
/* Standard alphabet, lines of 64 characters, each ending in "\n". */
int	https_b64_encode(const uint8_t *in, size_t inlen, char *out,
	    size_t outsize, size_t *outlen);
/* The DER of one PEM block with the given label (e.g. "CERTIFICATE"). */
int	https_pem_decode(const uint8_t *in, size_t len, const char *label,
	    uint8_t *out, size_t outsize, size_t *outlen);
/* RFC 3986 percent-decoding; "%00" and a lone "%" are refused. */
int	https_pct_decode(const uint8_t *in, size_t inlen, uint8_t *out,
	    size_t outsize, size_t *outlen);

/* EST operations (RFC 7030 3.2.2). */
enum https_est_op {
	HTTPS_EST_CACERTS = 1,
	HTTPS_EST_SIMPLEENROLL,
	HTTPS_EST_SIMPLEREENROLL,
	HTTPS_EST_CSRATTRS,
	HTTPS_EST_SERVERKEYGEN	/* recognised, answered 501 */
};

struct https_est_route {
	int	op;				/* enum https_est_op */
	char	label[HTTPS_MAX_LABEL + 1];	/* "" without a label */
};

/*
 * Route a request path (no query) under /.well-known/est/.  A label is 1 to
 * HTTPS_MAX_LABEL of [A-Za-z0-9._-], not "." or "..".  Returns
 * HTTPS_E_NOTFOUND for any other path, HTTPS_E_SYNTAX for a bad label.
 */
int	https_est_route(const uint8_t *path, size_t len,
	    struct https_est_route *r);

/*
 * ACME (https_acme.c): /acme/<label>/<resource>[/<id>[/finalize|orders]],
 * acct/<id>/orders/<page> (page 1..HTTPS_MAX_ACME_PAGE, no leading 0),
 * the label as for EST, an id 1 to HTTPS_MAX_ACME_ID of [A-Za-z0-9_-]
 * (renewal-info's CertID also one '.').  op
 * is an enum proto_acme_op.  HTTPS_E_NOTFOUND outside /acme/ or for an
 * unknown resource, HTTPS_E_SYNTAX for a bad label or id.
 */
#define HTTPS_MAX_ACME_ID	128	/* a CertID (RFC 9773) with a long AKI */
#define HTTPS_MAX_ACME_PAGE	9999	/* acct/<id>/orders/<page>, 1.. */
struct https_acme_route {
	int	op;
	char	label[HTTPS_MAX_LABEL + 1];
	char	id[HTTPS_MAX_ACME_ID + 1];
	int	page;	/* ORDERS: the page after the first (0: the first) */
};
int	https_acme_route(const uint8_t *path, size_t len,
	    struct https_acme_route *r);

/*
 * OCSP GET (RFC 6960 A.1): the path after "/ocsp/" is the DER request,
 * base64 (either alphabet, padding optional) and percent-encoded.
 */
int	https_ocsp_path(const uint8_t *path, size_t len, uint8_t *out,
	    size_t outsize, size_t *outlen);

/*
 * The bootstrap token from an Authorization header: "Bearer <token>", or
 * "Basic base64(user:token)" so that "curl -u est:TOKEN" works (the user
 * name is ignored).  A token is 1 to PROTO_MAX_TOKEN printable ASCII
 * characters without spaces.  token must hold PROTO_MAX_TOKEN + 1 bytes;
 * it is wiped on failure.
 */
int	https_auth_token(const uint8_t *hdr, size_t len,
	    char token[PROTO_MAX_TOKEN + 1]);

/* Whether a Content-Type names the media type want, parameters ignored. */
int	https_media_is(const char *ctype, const char *want);

/* A serial in hex (colons allowed between octets) to at most 20 bytes. */
int	https_serial_parse(const uint8_t *s, size_t len,
	    uint8_t out[PROTO_MAX_SERIAL], size_t *outlen);
/* A non-negative decimal of at most max; "" and leading "+" refused. */
int	https_uint_parse(const char *s, uint64_t max, uint64_t *v);
/* A tenant, profile or label name: [A-Za-z0-9._-], 1..PROTO_MAX_STR. */
int	https_name_ok(const char *s);

/*
 * The query string of GET /v1/audit (https_api_audit.c): name=value
 * pairs joined by '&', percent-encoded, each name at most once, of
 * since, until, tenant, action, actor, node, after and limit (default
 * 100).  On failure *why says what is wrong, for a 400 answer.
 */
int	https_audit_args(const uint8_t *query, size_t len,
	    struct proto_audit_req *q, const char **why);

/*
 * A strict JSON parser for the /v1 request bodies: one object whose members
 * are strings, non-negative integers, booleans, null or arrays of strings.
 * Duplicate names, nesting deeper than that, invalid UTF-8, control
 * characters and trailing bytes are refused.  Strings are unescaped into
 * arena (caller memory of at least len + 1 bytes) and NUL-terminated;
 * "\u0000" is refused.
 */
enum https_jtype {
	HTTPS_J_STRING = 1,
	HTTPS_J_NUMBER,
	HTTPS_J_BOOL,
	HTTPS_J_NULL,
	HTTPS_J_ARRAY
};

struct https_jmember {
	const char	*name;
	int		 type;		/* enum https_jtype */
	const char	*str;
	size_t		 slen;
	uint64_t	 num;
	int		 boolean;
	size_t		 nitems;
	const char	*items[HTTPS_JSON_MAX_ITEMS];
};

struct https_json {
	size_t			 n;
	struct https_jmember	 m[HTTPS_JSON_MAX_MEMBERS];
};

int	https_json_parse(const uint8_t *in, size_t len, char *arena,
	    size_t arenasize, struct https_json *j);
/* Lookups; HTTPS_E_MISSING if absent, HTTPS_E_TYPE if of another type. */
int	https_json_str(const struct https_json *, const char *name,
	    const char **s);
int	https_json_u64(const struct https_json *, const char *name,
	    uint64_t *v);
const struct https_jmember *https_json_get(const struct https_json *,
	    const char *name);


/*
 * Where a request head (request line and header fields, RFC 9112 2.1)
 * ends in a byte stream fed in pieces.  Empty lines before the request
 * line are skipped (RFC 9112 2.2) but counted; a bare LF ends a line as
 * CRLF does.  https_head_scan returns HTTPS_OK when the head ended (*used
 * bytes of p belong to it), HTTPS_E_MORE when all of p was head and it
 * goes on, HTTPS_E_TOOLONG once the head exceeds max bytes.
 */
struct https_head {
	size_t	len;		/* head bytes seen */
	int	state;		/* private */
};

void	https_head_init(struct https_head *);
int	https_head_scan(struct https_head *, const uint8_t *p, size_t n,
	    size_t max, size_t *used);

/*
 * The body length from the values of every Content-Length field of a
 * request: each 1*DIGIT (no sign, no list, at most 18 digits, optional
 * whitespace around), all equal.  HTTPS_E_MISSING if n is 0,
 * HTTPS_E_SYNTAX for anything else a proxy might read differently.
 */
int	https_content_length(const char *const *vals, size_t n,
	    uint64_t *len);

#endif /* SIGNET_HTTPS_H */
