/*
 * signet_acme: the pure parts of the ACME server (RFC 8555, RFC 8737,
 * RFC 9773) that read network bytes: a strict JSON reader, flattened JWS
 * (RFC 7515) with JWK keys and thumbprints (RFC 7638), external account
 * binding (RFC 8555 7.3.4), key change (7.3.5), the request payloads,
 * problem documents (6.7) and single-use nonces (6.5).
 *
 * Every function here is a pure function of its arguments (the clock and
 * the nonce key are passed in): no sockets, no event loop, no globals.
 * Each parser of untrusted bytes has a fuzz target (tests/fuzz/acme_*).
 * Nothing here exits; failures are ACME_E_* codes with acme_strerror().
 *
 * Ownership: a struct returned through a `**out` argument belongs to the
 * caller, who frees it with the matching *_free().  Pointers into a parsed
 * document (strings, nodes) live as long as the document they point into.
 */
#ifndef SIGNET_ACME_H
#define SIGNET_ACME_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/*
 * Limits.  An ACME request body is a JWS whose largest honest payload is a
 * finalize request (a base64url CSR) or a revokeCert (a base64url
 * certificate); 64 KiB is several times either.  Depth 8 is enough for
 * the deepest honest document (newAccount: outer JWS, payload object, EAB
 * JWS object, its protected header's jwk); nothing deeper is accepted.
 */
#define ACME_MAX_BODY		65536	/* bytes of one request body */
#define ACME_MAX_DEPTH		8	/* nested arrays and objects */
#define ACME_MAX_MEMBERS	64	/* members of one object */
#define ACME_MAX_ITEMS		128	/* items of one array */
#define ACME_MAX_NODES		1024	/* values in one document */
#define ACME_MAX_HEADER		4096	/* decoded protected header */
#define ACME_MAX_URL		1024	/* "url" and "kid" */
#define ACME_MAX_NONCE		64	/* characters of a nonce */
#define ACME_MAX_SIG		1024	/* RSA-8192 signature */
#define ACME_MAX_RSA_BITS	8192
#define ACME_MIN_RSA_BITS	2048
#define ACME_MAX_IDENTS		100	/* identifiers in one order */
#define ACME_MAX_IDENT		253	/* characters of one identifier */
#define ACME_MAX_CONTACTS	8	/* contact URLs of one account */
#define ACME_MAX_CONTACT	256	/* characters of one contact URL */
#define ACME_MAX_DER		16384	/* a CSR or certificate, DER */
#define ACME_MAX_AKI		64	/* RFC 9773 CertID: key identifier */
#define ACME_MAX_SERIAL		21	/* RFC 5280 20 octets + sign octet */
#define ACME_MAX_CERTID		128	/* CertID text: 88 "." 28 characters */
#define ACME_MAX_DETAIL		512	/* problem "detail" characters */
#define ACME_MAX_PROBLEM	(6 * ACME_MAX_DETAIL + 128) /* rendered */

enum {
	ACME_OK = 0,
	ACME_E_SYNTAX,		/* not JSON, or not the expected shape */
	ACME_E_LIMIT,		/* a named limit above was exceeded */
	ACME_E_DUP,		/* an object names a member twice */
	ACME_E_UTF8,		/* invalid UTF-8 or a lone surrogate */
	ACME_E_TYPE,		/* a member has the wrong JSON type */
	ACME_E_MISSING,		/* a required member is absent */
	ACME_E_B64,		/* not strict unpadded base64url */
	ACME_E_ALG,		/* algorithm unsupported or not the key's */
	ACME_E_KEY,		/* a JWK is malformed, weak or private */
	ACME_E_SIG,		/* a signature or MAC does not verify */
	ACME_E_HEADER,		/* protected header breaks RFC 8555 6.2 */
	ACME_E_NONCE,		/* nonce unknown, used, expired */
	ACME_E_URL,		/* inner "url" differs from the outer */
	ACME_E_VALUE,		/* a value is out of its allowed set */
	ACME_E_SPACE,		/* the caller's output buffer is too small */
	ACME_E_MEM,		/* allocation or OpenSSL internal failure */
	ACME_E__COUNT
};

const char	*acme_strerror(int);

/*
 * JSON (RFC 8259), strict: one value, no trailing bytes but whitespace,
 * UTF-8 only (RFC 3629: no overlongs, no surrogates, nothing above
 * U+10FFFF), escapes that decode to a lone surrogate or to U+0000 refused
 * (every string is a C string), no duplicate member names, and the limits
 * above.  Strings are decoded; numbers keep their literal text.
 */
enum acme_jtype {
	ACME_J_NULL, ACME_J_FALSE, ACME_J_TRUE, ACME_J_NUM, ACME_J_STR,
	ACME_J_ARR, ACME_J_OBJ
};

struct acme_jnode {
	enum acme_jtype		 type;
	const char		*name;	/* member name; NULL outside objects */
	const char		*str;	/* string value or number literal */
	size_t			 len;	/* strlen(str) */
	size_t			 n;	/* children of an array or object */
	const struct acme_jnode	*child;	/* first child */
	const struct acme_jnode	*next;	/* next sibling */
};

struct acme_json;

int	acme_json_parse(const uint8_t *in, size_t len, struct acme_json **out);
void	acme_json_free(struct acme_json *);
const struct acme_jnode *acme_json_root(const struct acme_json *);
/* The member `name` of object `obj`, or NULL (also if obj is no object). */
const struct acme_jnode *acme_json_get(const struct acme_jnode *obj,
	    const char *name);
/* Typed lookups: ACME_E_MISSING if absent, ACME_E_TYPE if mistyped. */
int	acme_json_str(const struct acme_jnode *obj, const char *name,
	    const char **s, size_t *len);
int	acme_json_bool(const struct acme_jnode *obj, const char *name,
	    int *v);
int	acme_json_u64(const struct acme_jnode *obj, const char *name,
	    uint64_t *v);

/*
 * base64url without padding (RFC 7515 2, RFC 4648 5), strict: only the
 * URL-safe alphabet, no '=', no whitespace, a length that is not 1 mod 4,
 * and zero unused trailing bits (so one byte string has one encoding).
 */
int	acme_b64url_decode(const char *in, size_t len, uint8_t *out,
	    size_t outsize, size_t *outlen);
/* Writes the encoding and a NUL; outsize >= 4 * ceil(len / 3) + 1 is enough. */
int	acme_b64url_encode(const uint8_t *in, size_t len, char *out,
	    size_t outsize);

/*
 * JWK (RFC 7517/7518/8037) to an EVP_PKEY: EC P-256 and P-384 (x, y of
 * the curve's exact length, the point on the curve), RSA (n of 2048 to
 * 8192 bits, odd e, both minimal: no leading zero octet), OKP Ed25519.
 * A JWK carrying private members ("d", "p", ...) is refused.
 */
int	acme_jwk_parse(const struct acme_jnode *jwk, EVP_PKEY **out);
/* RFC 7638 SHA-256 thumbprint of a key acme_jwk_parse() accepts. */
int	acme_jwk_thumbprint(EVP_PKEY *key, uint8_t out[32]);
/* The same, base64url (43 characters and a NUL): key authorizations. */
int	acme_jwk_thumbprint_b64(EVP_PKEY *key, char out[44]);

/* JWS algorithms (RFC 7518 3.1, RFC 8037 3.1). */
enum acme_alg {
	ACME_ALG_NONE = 0, ACME_ALG_ES256, ACME_ALG_ES384, ACME_ALG_RS256,
	ACME_ALG_EDDSA, ACME_ALG_HS256
};

/*
 * Verifies `sig` over the JWS signing input `in` with `key`; the key must
 * be of the algorithm's type (ES256 needs P-256, RS256 needs RSA >= 2048
 * bits, EdDSA needs Ed25519).  ES* signatures are the raw R || S of RFC
 * 7518 3.4.  Not for HS256 (acme_jws_mac_verify).
 */
int	acme_jws_sig_verify(enum acme_alg, EVP_PKEY *key, const uint8_t *in,
	    size_t inlen, const uint8_t *sig, size_t siglen);
/* HS256 over `in`, compared with `mac` in constant time. */
int	acme_jws_mac_verify(const uint8_t *key, size_t keylen,
	    const uint8_t *in, size_t inlen, const uint8_t *mac, size_t maclen);

/*
 * A flattened JWS JSON serialization (RFC 7515 7.2.2) with exactly the
 * members "protected", "payload" and "signature" (no unprotected header,
 * no "signatures"), its protected header checked for one role:
 *   ACME_JWS_OUTER     RFC 8555 6.2: alg (an asymmetric one), nonce, url,
 *                      and exactly one of jwk and kid.
 *   ACME_JWS_EAB       7.3.4: alg HS256, kid, url; no nonce, no jwk.
 *   ACME_JWS_KEYCHANGE 7.3.5: an asymmetric alg, jwk, url; no nonce, kid.
 * "crit" and "b64" are refused in every role (RFC 8555 6.2: no unencoded
 * payloads; we understand no critical extension).
 */
enum acme_jws_role {
	ACME_JWS_OUTER, ACME_JWS_EAB, ACME_JWS_KEYCHANGE
};

struct acme_jws {
	struct acme_json	*doc;	/* owned: the JWS itself (parse) */
	struct acme_json	*hdr;	/* owned: decoded protected header */
	enum acme_alg		 alg;
	const char		*nonce;	/* in hdr; NULL unless OUTER */
	const char		*url;	/* in hdr */
	const char		*kid;	/* in hdr; NULL when jwk */
	EVP_PKEY		*jwk;	/* owned: the header's jwk, or NULL */
	char			*input;	/* owned: protected "." payload */
	size_t			 inputlen;
	uint8_t			*payload; /* owned: decoded, NUL-terminated */
	size_t			 payloadlen; /* 0: POST-as-GET (6.3) */
	uint8_t			 sig[ACME_MAX_SIG];
	size_t			 siglen;
};

int	acme_jws_parse(const uint8_t *in, size_t len, enum acme_jws_role,
	    struct acme_jws **out);
/* The same for a JWS already parsed as a JSON object (EAB). */
int	acme_jws_parse_node(const struct acme_jnode *obj, enum acme_jws_role,
	    struct acme_jws **out);
/* Verifies with `key`, or with the header's jwk when key is NULL. */
int	acme_jws_verify(const struct acme_jws *, EVP_PKEY *key);
void	acme_jws_free(struct acme_jws *);

/*
 * External account binding, RFC 8555 7.3.4.  acme_eab_parse() reads the
 * inner JWS `eab` (the newAccount payload's "externalAccountBinding"),
 * checks that its url is the outer `url` and that its payload is the JWK
 * of `account_key`, and returns it; the caller looks its kid up, then
 * acme_eab_verify() checks the MAC with that HMAC key.
 */
int	acme_eab_parse(const struct acme_jnode *eab, const char *url,
	    EVP_PKEY *account_key, struct acme_jws **out);
int	acme_eab_verify(const struct acme_jws *eab, const uint8_t *hmac,
	    size_t hmaclen);

/*
 * Key change, RFC 8555 7.3.5: `outer` (already verified with the
 * account's current key `old_key`, kid `account_url`) carries an inner
 * JWS signed by the new key.  Checks the inner signature, url, "account"
 * and "oldKey", and returns the new key (caller frees).
 */
int	acme_keychange_check(const struct acme_jws *outer,
	    const char *account_url, EVP_PKEY *old_key, EVP_PKEY **new_key);

/* Request payloads (RFC 8555 7.3, 7.4, 7.6; RFC 9773 5). */
struct acme_new_account {
	size_t			 ncontact;
	const char		*contact[ACME_MAX_CONTACTS];
	int			 tos_agreed;
	int			 only_existing;
	const struct acme_jnode	*eab;	/* NULL if absent */
};

struct acme_account_update {
	int			 has_contact;
	size_t			 ncontact;
	const char		*contact[ACME_MAX_CONTACTS];
	int			 deactivate;	/* "status": "deactivated" */
};

enum acme_ident_type { ACME_ID_DNS = 1, ACME_ID_IP };

struct acme_ident {
	enum acme_ident_type	 type;
	/* dns: lower case, may start "*."; ip: the canonical text form */
	char			 value[ACME_MAX_IDENT + 1];
};

/* RFC 9773 4.1 CertID: base64url(AKI keyIdentifier) "." base64url(serial) */
struct acme_certid {
	uint8_t			 aki[ACME_MAX_AKI];
	size_t			 akilen;
	uint8_t			 serial[ACME_MAX_SERIAL];
	size_t			 seriallen;
};

struct acme_new_order {
	size_t			 nident;
	struct acme_ident	 ident[ACME_MAX_IDENTS];
	int			 has_not_before, has_not_after, has_replaces;
	int64_t			 not_before, not_after;	/* Unix seconds */
	struct acme_certid	 replaces;
	char			 replaces_text[ACME_MAX_CERTID + 1];
};

struct acme_der {
	uint8_t			 der[ACME_MAX_DER];
	size_t			 len;
};

struct acme_revoke {
	struct acme_der		 cert;
	int			 has_reason;
	int			 reason;	/* RFC 5280 5.3.1 CRLReason */
};

/*
 * Each parses a JWS payload (the bytes acme_jws_parse() decoded).  The
 * *_doc out-argument receives the JSON document the result points into;
 * the caller frees it with acme_json_free() when done with the result.
 */
int	acme_new_account_parse(const uint8_t *p, size_t len,
	    struct acme_new_account *, struct acme_json **doc);
int	acme_account_update_parse(const uint8_t *p, size_t len,
	    struct acme_account_update *, struct acme_json **doc);
int	acme_new_order_parse(const uint8_t *p, size_t len,
	    struct acme_new_order *);
/* finalize: "csr", a DER PKCS#10 request that d2i parses exactly. */
int	acme_finalize_parse(const uint8_t *p, size_t len, struct acme_der *);
int	acme_revoke_parse(const uint8_t *p, size_t len, struct acme_revoke *);
int	acme_certid_parse(const char *s, size_t len, struct acme_certid *);
/* RFC 3339 date-time (as RFC 8555 uses it) to Unix seconds. */
int	acme_time_parse(const char *s, size_t len, int64_t *out);
int	acme_ident_check(enum acme_ident_type, const char *value, size_t len,
	    struct acme_ident *out);

/* Problem documents, RFC 8555 6.7 and RFC 7807. */
#define ACME_PROBLEM_CTYPE	"application/problem+json"

enum acme_problem {
	ACME_P_ACCOUNT_DOES_NOT_EXIST, ACME_P_ALREADY_REVOKED, ACME_P_BAD_CSR,
	ACME_P_BAD_NONCE, ACME_P_BAD_PUBLIC_KEY, ACME_P_BAD_REVOCATION_REASON,
	ACME_P_BAD_SIGNATURE_ALGORITHM, ACME_P_CAA, ACME_P_COMPOUND,
	ACME_P_CONNECTION, ACME_P_DNS, ACME_P_EXTERNAL_ACCOUNT_REQUIRED,
	ACME_P_INCORRECT_RESPONSE, ACME_P_INVALID_CONTACT, ACME_P_MALFORMED,
	ACME_P_ORDER_NOT_READY, ACME_P_RATE_LIMITED,
	ACME_P_REJECTED_IDENTIFIER, ACME_P_SERVER_INTERNAL, ACME_P_TLS,
	ACME_P_UNAUTHORIZED, ACME_P_UNSUPPORTED_CONTACT,
	ACME_P_UNSUPPORTED_IDENTIFIER, ACME_P_USER_ACTION_REQUIRED,
	ACME_P_ALREADY_REPLACED,	/* RFC 9773 5, 409 */
	ACME_P__COUNT
};

/* "urn:ietf:params:acme:error:<name>" and the HTTP status it goes with. */
const char	*acme_problem_type(enum acme_problem);
int		 acme_problem_status(enum acme_problem);
/* The problem type an ACME_E_* parse or verification error is answered with. */
enum acme_problem acme_problem_for(int err);
/*
 * {"type":...,"detail":...,"status":N} with `detail` JSON-escaped (cut to
 * ACME_MAX_DETAIL bytes at a character boundary; NULL for none).
 */
int	acme_problem_render(enum acme_problem, const char *detail, char *out,
	    size_t outsize, size_t *outlen);

/*
 * Nonces (RFC 8555 6.5).  A nonce is base64url(seq || issued || tag):
 * seq a 64-bit issue counter, issued the issue time in seconds, tag the
 * first 16 octets of HMAC-SHA-256(key, seq || issued).  The store
 * remembers only which of the last ACME_NONCE_WINDOW issued nonces have
 * been redeemed, one bit each (the IPsec replay window, RFC 4303 3.4.3):
 * 8 KiB whatever the load.  A nonce is accepted once, if its tag is
 * right, it is no older than the lifetime, it is among the last
 * ACME_NONCE_WINDOW issued and its bit is clear.  When more nonces are
 * issued than the window holds, the oldest unredeemed ones fall out and
 * are refused (badNonce, and the client retries with the fresh nonce the
 * answer carries): the store never grows and never forgets a redemption
 * it could still be asked about.  The key is the caller's (random per
 * start, so nonces of an earlier run fail their tag).
 */
#define ACME_NONCE_WINDOW	65536	/* nonces; a power of two */
#define ACME_NONCE_KEY		32
#define ACME_NONCE_LEN		43	/* characters, without the NUL */

struct acme_nonce_store {
	uint8_t		 key[ACME_NONCE_KEY];
	uint64_t	 next;		/* seq of the next nonce issued */
	uint64_t	 lifetime;	/* seconds */
	uint8_t		 used[ACME_NONCE_WINDOW / 8];
};

int	acme_nonce_init(struct acme_nonce_store *, const uint8_t *key,
	    size_t keylen, uint64_t lifetime);
int	acme_nonce_issue(struct acme_nonce_store *, uint64_t now,
	    char out[ACME_NONCE_LEN + 1]);
int	acme_nonce_redeem(struct acme_nonce_store *, uint64_t now,
	    const char *nonce, size_t len);
void	acme_nonce_wipe(struct acme_nonce_store *);

/*
 * Nonces of a cluster (issue 20, docs/decisions.md "ACME nonces in a
 * cluster"): the same 43 characters, with ACME_NONCE_RND random octets
 * (the caller's) in place of the counter, so nodes sharing one key never
 * mint the same nonce.  There is no window: the caller keeps the replay
 * state (the ledger's acme_nonces), keyed by the ACME_NONCE_ID octets
 * acme_nonce_check hands back, until *expires; check refuses a bad tag
 * and an expired nonce (ACME_E_NONCE) without any state.
 */
#define ACME_NONCE_RND		8
#define ACME_NONCE_ID		16

int	acme_nonce_mint(const uint8_t key[ACME_NONCE_KEY],
	    const uint8_t rnd[ACME_NONCE_RND], uint64_t now,
	    char out[ACME_NONCE_LEN + 1]);
int	acme_nonce_check(const uint8_t key[ACME_NONCE_KEY], uint64_t now,
	    uint64_t lifetime, const char *nonce, size_t len,
	    uint8_t id[ACME_NONCE_ID], uint64_t *expires);

#endif /* SIGNET_ACME_H */
