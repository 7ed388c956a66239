/*
 * Flattened JWS JSON serialization (RFC 7515 7.2.2) as RFC 8555 6.2 uses
 * it, and signature verification with OpenSSL 3 EVP.  The signing input
 * is the text received (protected "." payload), never a re-encoding.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>

#include "acme_local.h"

static const struct {
	const char	*name;
	enum acme_alg	 alg;
} jws_algs[] = {
	{ "ES256", ACME_ALG_ES256 },
	{ "ES384", ACME_ALG_ES384 },
	{ "RS256", ACME_ALG_RS256 },
	{ "EdDSA", ACME_ALG_EDDSA },
	{ "HS256", ACME_ALG_HS256 },
};

static enum acme_alg
jws_alg(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(jws_algs) / sizeof(jws_algs[0]); i++)
		if (strcmp(name, jws_algs[i].name) == 0)
			return jws_algs[i].alg;
	return ACME_ALG_NONE;
}

/* The key kind each asymmetric algorithm demands (RFC 7518 3.1). */
static int
jws_alg_fits(enum acme_alg alg, EVP_PKEY *key)
{
	enum acme_kind k = acme_key_kind(key);

	switch (alg) {
	case ACME_ALG_ES256:
		return k == ACME_KIND_P256;
	case ACME_ALG_ES384:
		return k == ACME_KIND_P384;
	case ACME_ALG_RS256:
		return k == ACME_KIND_RSA;
	case ACME_ALG_EDDSA:
		return k == ACME_KIND_ED25519;
	default:
		return 0;
	}
}

/* RFC 7518 3.4: R || S, each the group order's length, to DER. */
static int
jws_ecdsa_der(const uint8_t *sig, size_t siglen, size_t flen,
    uint8_t **der, int *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	int rc = ACME_E_MEM;

	if (siglen != 2 * flen)
		return ACME_E_SIG;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, flen, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + flen, flen, NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;
	*der = NULL;
	if ((*derlen = i2d_ECDSA_SIG(es, der)) <= 0)
		goto out;
	rc = ACME_OK;
 out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

int
acme_jws_sig_verify(enum acme_alg alg, EVP_PKEY *key, const uint8_t *in,
    size_t inlen, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md = NULL;
	const EVP_MD *h = NULL;
	uint8_t *der = NULL;
	int derlen = 0, rc;

	if (key == NULL || !jws_alg_fits(alg, key))
		return ACME_E_ALG;
	switch (alg) {
	case ACME_ALG_ES256:
	case ACME_ALG_ES384:
		h = alg == ACME_ALG_ES256 ? EVP_sha256() : EVP_sha384();
		if ((rc = jws_ecdsa_der(sig, siglen, alg == ACME_ALG_ES256 ?
		    32 : 48, &der, &derlen)) != ACME_OK)
			return rc;
		sig = der;
		siglen = (size_t)derlen;
		break;
	case ACME_ALG_RS256:
		h = EVP_sha256();
		if (siglen != (size_t)EVP_PKEY_get_size(key))
			return ACME_E_SIG;
		break;
	default:		/* EdDSA: PureEdDSA, no separate digest */
		break;
	}
	rc = ACME_E_MEM;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(md, NULL, h == NULL ? NULL :
	    EVP_MD_get0_name(h), NULL, NULL, key, NULL) != 1)
		goto out;
	rc = EVP_DigestVerify(md, sig, siglen, in, inlen) == 1 ?
	    ACME_OK : ACME_E_SIG;
 out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return rc;
}

int
acme_jws_mac_verify(const uint8_t *key, size_t keylen, const uint8_t *in,
    size_t inlen, const uint8_t *mac, size_t maclen)
{
	uint8_t want[32];
	size_t n = 0;
	int rc;

	/* RFC 7518 3.2: an HS256 key has at least 256 bits. */
	if (keylen < 32)
		return ACME_E_KEY;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, in,
	    inlen, want, sizeof(want), &n) == NULL || n != sizeof(want))
		return ACME_E_MEM;
	rc = maclen == n && CRYPTO_memcmp(want, mac, n) == 0 ?
	    ACME_OK : ACME_E_SIG;
	OPENSSL_cleanse(want, sizeof(want));
	return rc;
}

/* A header string member of 1..max bytes; ACME_E_MISSING if absent. */
static int
jws_hstr(const struct acme_jnode *h, const char *name, size_t max,
    const char **out)
{
	size_t len;
	int rc;

	if ((rc = acme_json_str(h, name, out, &len)) != ACME_OK)
		return rc == ACME_E_MISSING ? rc : ACME_E_HEADER;
	if (len == 0 || len > max)
		return ACME_E_HEADER;
	return ACME_OK;
}

/* RFC 8555 6.2 and 7.3.4/7.3.5: which members each role needs. */
static int
jws_header(struct acme_jws *jws, enum acme_jws_role role)
{
	const struct acme_jnode *h = acme_json_root(jws->hdr), *jwk;
	const char *alg;
	int rc;

	if (h->type != ACME_J_OBJ)
		return ACME_E_HEADER;
	if (acme_json_get(h, "crit") != NULL || acme_json_get(h, "b64") != NULL)
		return ACME_E_HEADER;
	if (acme_json_str(h, "alg", &alg, NULL) != ACME_OK)
		return ACME_E_HEADER;
	jws->alg = jws_alg(alg);
	if (jws->alg == ACME_ALG_NONE ||
	    (role == ACME_JWS_EAB) != (jws->alg == ACME_ALG_HS256))
		return ACME_E_ALG;
	if ((rc = jws_hstr(h, "url", ACME_MAX_URL, &jws->url)) != ACME_OK)
		return ACME_E_HEADER;
	rc = jws_hstr(h, "nonce", ACME_MAX_NONCE, &jws->nonce);
	if (role == ACME_JWS_OUTER && rc != ACME_OK)
		return ACME_E_NONCE;	/* Boulder, pebble: badNonce */
	if (role != ACME_JWS_OUTER && rc != ACME_E_MISSING)
		return ACME_E_HEADER;	/* 7.3.4, 7.3.5: no nonce */
	rc = jws_hstr(h, "kid", ACME_MAX_URL, &jws->kid);
	if (rc != ACME_OK && rc != ACME_E_MISSING)
		return rc;
	jwk = acme_json_get(h, "jwk");
	/* 6.2: exactly one of jwk and kid; EAB: kid; key change: jwk. */
	if ((jwk == NULL) == (jws->kid == NULL) ||
	    (role == ACME_JWS_EAB && jws->kid == NULL) ||
	    (role == ACME_JWS_KEYCHANGE && jwk == NULL))
		return ACME_E_HEADER;
	if (jwk == NULL)
		return ACME_OK;
	if ((rc = acme_jwk_parse(jwk, &jws->jwk)) != ACME_OK)
		return rc;
	return jws_alg_fits(jws->alg, jws->jwk) ? ACME_OK : ACME_E_ALG;
}

static int
jws_parts(struct acme_jws *jws, const char *prot, size_t plen,
    const char *pay, size_t paylen, const char *sig, size_t siglen)
{
	uint8_t hdr[ACME_MAX_HEADER];
	size_t n;
	int rc;

	if (plen == 0)
		return ACME_E_HEADER;
	if ((rc = acme_b64url_decode(prot, plen, hdr, sizeof(hdr), &n)) !=
	    ACME_OK)
		return rc == ACME_E_SPACE ? ACME_E_LIMIT : rc;
	if ((rc = acme_json_parse(hdr, n, &jws->hdr)) != ACME_OK)
		return rc;
	if ((rc = acme_b64url_decode(sig, siglen, jws->sig, sizeof(jws->sig),
	    &jws->siglen)) != ACME_OK)
		return rc == ACME_E_SPACE ? ACME_E_LIMIT : rc;
	if ((jws->payload = malloc(paylen / 4 * 3 + 3)) == NULL)
		return ACME_E_MEM;
	if ((rc = acme_b64url_decode(pay, paylen, jws->payload,
	    paylen / 4 * 3 + 2, &jws->payloadlen)) != ACME_OK)
		return rc;
	jws->payload[jws->payloadlen] = '\0';
	jws->inputlen = plen + 1 + paylen;
	if ((jws->input = malloc(jws->inputlen + 1)) == NULL)
		return ACME_E_MEM;
	memcpy(jws->input, prot, plen);
	jws->input[plen] = '.';
	memcpy(jws->input + plen + 1, pay, paylen);
	jws->input[jws->inputlen] = '\0';
	return ACME_OK;
}

int
acme_jws_parse_node(const struct acme_jnode *obj, enum acme_jws_role role,
    struct acme_jws **out)
{
	struct acme_jws *jws = NULL;
	const char *prot, *pay, *sig;
	size_t plen, paylen, siglen;
	int rc;

	*out = NULL;
	if (obj == NULL || obj->type != ACME_J_OBJ)
		return ACME_E_SYNTAX;
	/*
	 * RFC 8555 6.2: flattened only, one signature, no unprotected
	 * header: these three members and nothing else.
	 */
	if (obj->n != 3 ||
	    (rc = acme_json_str(obj, "protected", &prot, &plen)) != ACME_OK ||
	    (rc = acme_json_str(obj, "payload", &pay, &paylen)) != ACME_OK ||
	    (rc = acme_json_str(obj, "signature", &sig, &siglen)) != ACME_OK)
		return ACME_E_SYNTAX;
	if ((jws = calloc(1, sizeof(*jws))) == NULL)
		return ACME_E_MEM;
	if ((rc = jws_parts(jws, prot, plen, pay, paylen, sig, siglen)) !=
	    ACME_OK || (rc = jws_header(jws, role)) != ACME_OK)
		goto out;
	*out = jws;
	jws = NULL;
 out:
	acme_jws_free(jws);
	return rc;
}

int
acme_jws_parse(const uint8_t *in, size_t len, enum acme_jws_role role,
    struct acme_jws **out)
{
	struct acme_json *doc = NULL;
	int rc;

	*out = NULL;
	if ((rc = acme_json_parse(in, len, &doc)) != ACME_OK)
		return rc;
	if ((rc = acme_jws_parse_node(acme_json_root(doc), role, out)) !=
	    ACME_OK) {
		acme_json_free(doc);
		return rc;
	}
	(*out)->doc = doc;
	return ACME_OK;
}

int
acme_jws_verify(const struct acme_jws *jws, EVP_PKEY *key)
{
	if (key == NULL)
		key = jws->jwk;
	if (key == NULL)
		return ACME_E_KEY;
	if (jws->alg == ACME_ALG_HS256)
		return ACME_E_ALG;
	return acme_jws_sig_verify(jws->alg, key, (const uint8_t *)jws->input,
	    jws->inputlen, jws->sig, jws->siglen);
}

void
acme_jws_free(struct acme_jws *jws)
{
	if (jws == NULL)
		return;
	acme_json_free(jws->doc);
	acme_json_free(jws->hdr);
	EVP_PKEY_free(jws->jwk);
	free(jws->input);
	free(jws->payload);
	free(jws);
}
