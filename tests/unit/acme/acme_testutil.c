/*
 * Test helpers: an ACME client's half of JWS, written against OpenSSL
 * directly so that the tests do not check signet_acme with itself.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>

#include "acme_testutil.h"

char *
tu_sprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

char *
tu_b64(const void *p, size_t len)
{
	char *s = malloc(len / 3 * 4 + 5);

	if (s == NULL || acme_b64url_encode(p, len, s, len / 3 * 4 + 5) !=
	    ACME_OK)
		abort();
	return s;
}

EVP_PKEY *
tu_key(enum acme_alg alg)
{
	EVP_PKEY *k = NULL;

	switch (alg) {
	case ACME_ALG_ES256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case ACME_ALG_ES384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case ACME_ALG_RS256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case ACME_ALG_EDDSA:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		break;
	}
	if (k == NULL)
		abort();
	return k;
}

static char *
bn_b64(EVP_PKEY *k, const char *param, int pad)
{
	uint8_t buf[1024];
	BIGNUM *bn = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(k, param, &bn) != 1)
		abort();
	n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	BN_free(bn);
	return tu_b64(buf, (size_t)n);
}

char *
tu_jwk(EVP_PKEY *k)
{
	uint8_t raw[32];
	size_t n = sizeof(raw);
	char *a, *b, *s;
	int bits;

	if (EVP_PKEY_is_a(k, "ED25519")) {
		EVP_PKEY_get_raw_public_key(k, raw, &n);
		a = tu_b64(raw, n);
		s = tu_sprintf("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		    "\"x\":\"%s\"}", a);
		free(a);
		return s;
	}
	if (EVP_PKEY_is_a(k, "RSA")) {
		a = bn_b64(k, OSSL_PKEY_PARAM_RSA_N, 0);
		b = bn_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);
		s = tu_sprintf("{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}",
		    a, b);
	} else {
		bits = EVP_PKEY_get_bits(k);
		a = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, bits / 8);
		b = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, bits / 8);
		s = tu_sprintf("{\"kty\":\"EC\",\"crv\":\"P-%d\",\"x\":\"%s\","
		    "\"y\":\"%s\"}", bits, a, b);
	}
	free(a);
	free(b);
	return s;
}

/* DER ECDSA-Sig-Value to the fixed-length R || S of RFC 7518 3.4. */
static size_t
ecdsa_raw(const uint8_t *der, size_t len, size_t flen, uint8_t *out)
{
	const uint8_t *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *es;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		abort();
	ECDSA_SIG_get0(es, &r, &s);
	BN_bn2binpad(r, out, (int)flen);
	BN_bn2binpad(s, out + flen, (int)flen);
	ECDSA_SIG_free(es);
	return 2 * flen;
}

static char *
jws_assemble(const char *hdr, const char *payload, char **input)
{
	char *h = tu_b64(hdr, strlen(hdr)), *p = tu_b64(payload,
	    strlen(payload));

	*input = tu_sprintf("%s.%s", h, p);
	free(h);
	free(p);
	return *input;
}

static char *
jws_body(const char *input, const uint8_t *sig, size_t siglen)
{
	const char *dot = strchr(input, '.');
	char *s = tu_b64(sig, siglen), *out;

	out = tu_sprintf("{\"protected\":\"%.*s\",\"payload\":\"%s\","
	    "\"signature\":\"%s\"}", (int)(dot - input), input, dot + 1, s);
	free(s);
	return out;
}

char *
tu_jws(enum acme_alg alg, EVP_PKEY *k, const char *hdr, const char *payload)
{
	uint8_t sig[1024], raw[96];
	size_t siglen = sizeof(sig);
	const char *md = NULL;
	EVP_MD_CTX *ctx;
	char *input, *out;

	jws_assemble(hdr, payload, &input);
	if (alg == ACME_ALG_ES256 || alg == ACME_ALG_RS256)
		md = "SHA256";
	else if (alg == ACME_ALG_ES384)
		md = "SHA384";
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, k, NULL) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (uint8_t *)input,
	    strlen(input)) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	if (alg == ACME_ALG_ES256 || alg == ACME_ALG_ES384) {
		siglen = ecdsa_raw(sig, siglen, alg == ACME_ALG_ES256 ? 32 : 48,
		    raw);
		memcpy(sig, raw, siglen);
	}
	out = jws_body(input, sig, siglen);
	free(input);
	return out;
}

char *
tu_jws_hmac(const uint8_t *key, size_t keylen, const char *hdr,
    const char *payload)
{
	uint8_t mac[32];
	unsigned int n = sizeof(mac);
	char *input, *out;

	jws_assemble(hdr, payload, &input);
	if (HMAC(EVP_sha256(), key, (int)keylen, (uint8_t *)input,
	    strlen(input), mac, &n) == NULL)
		abort();
	out = jws_body(input, mac, n);
	free(input);
	return out;
}
