/*
 * JWS, JWK and thumbprints against the RFCs' own examples (RFC 7515
 * appendix A.1-A.3, RFC 7638 3.1, RFC 8037 A.3-A.4), then the ACME
 * roles of RFC 8555 6.2, 7.3.4 (EAB) and 7.3.5 (key change) with keys of
 * every supported kind, and the forgeries each must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme.h"
#include "acme_testutil.h"

/* RFC 7515 A.1-A.3: one payload, three signatures. */
#define A_PAYLOAD \
	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcG" \
	"xlLmNvbS9pc19yb290Ijp0cnVlfQ"
#define A1_INPUT "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." A_PAYLOAD
#define A1_KEY \
	"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS" \
	"4hcgUuTwjAzZr1Z9CAow"
#define A1_SIG "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define A2_INPUT "eyJhbGciOiJSUzI1NiJ9." A_PAYLOAD
#define A2_JWK \
	"{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQo" \
	"Tbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2l" \
	"ZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaS" \
	"HSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4u" \
	"DZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q" \
	"2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\",\"e\":\"AQAB\"}"
#define A2_SIG \
	"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AA" \
	"uHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAyn" \
	"RFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZR" \
	"mB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnv" \
	"Wh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_Ioy" \
	"pGlUPQGe77Rw"
#define A3_INPUT "eyJhbGciOiJFUzI1NiJ9." A_PAYLOAD
#define A3_JWK \
	"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gH" \
	"MzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYj" \
	"KIWI5a0\"}"
#define A3_SIG \
	"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApm" \
	"WQxfKTUJqPP3-Kg6NU1Q"
/* RFC 8037 A.3-A.4. */
#define ED_JWK \
	"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHO" \
	"g7hcvPapiMlrwIaaPcHURo\"}"
#define ED_INPUT "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define ED_SIG \
	"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhV" \
	"sPt9g7sVvpAr_MuM0KAg"
#define ED_TP "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
/* RFC 7638 3.1 (the RFC 7517 A.1 key). */
#define TP_JWK \
	"{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAF" \
	"bWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n" \
	"3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR" \
	"0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91Cb" \
	"OpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniI" \
	"qbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"R" \
	"S256\",\"kid\":\"2011-04-29\"}"
#define TP_TP "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

#define URL_NA "https://ca.example/acme/dev/new-account"
#define URL_KC "https://ca.example/acme/dev/key-change"
#define ACCT "https://ca.example/acme/dev/acct/1"
#define NONCE "AAAAAAAAAAEAAAAAAAAAAbcdefghijklmnopqrstuvw"

static const enum acme_alg algs[] = {
	ACME_ALG_ES256, ACME_ALG_ES384, ACME_ALG_RS256, ACME_ALG_EDDSA
};
static const char *const algnames[] = { "ES256", "ES384", "RS256", "EdDSA" };

static EVP_PKEY *
jwk(const char *json)
{
	struct acme_json *j;
	EVP_PKEY *k = NULL;

	assert_int_equal(acme_json_parse((const uint8_t *)json, strlen(json),
	    &j), ACME_OK);
	assert_int_equal(acme_jwk_parse(acme_json_root(j), &k), ACME_OK);
	acme_json_free(j);
	return k;
}

static int
jwk_rc(const char *json)
{
	struct acme_json *j;
	EVP_PKEY *k = NULL;
	int rc;

	assert_int_equal(acme_json_parse((const uint8_t *)json, strlen(json),
	    &j), ACME_OK);
	rc = acme_jwk_parse(acme_json_root(j), &k);
	if (rc == ACME_OK)
		assert_non_null(k);
	else
		assert_null(k);
	EVP_PKEY_free(k);
	acme_json_free(j);
	return rc;
}

static int
verify(enum acme_alg alg, EVP_PKEY *k, const char *input, const char *sig64)
{
	uint8_t sig[512];
	size_t n;

	assert_int_equal(acme_b64url_decode(sig64, strlen(sig64), sig,
	    sizeof(sig), &n), ACME_OK);
	return acme_jws_sig_verify(alg, k, (const uint8_t *)input,
	    strlen(input), sig, n);
}

static void
test_rfc_vectors(void **state)
{
	EVP_PKEY *rsa = jwk(A2_JWK), *ec = jwk(A3_JWK), *ed = jwk(ED_JWK);
	uint8_t key[64], mac[32];
	size_t keylen, maclen;
	char bad[sizeof(A2_INPUT)];

	(void)state;
	assert_int_equal(verify(ACME_ALG_RS256, rsa, A2_INPUT, A2_SIG),
	    ACME_OK);
	assert_int_equal(verify(ACME_ALG_ES256, ec, A3_INPUT, A3_SIG), ACME_OK);
	assert_int_equal(verify(ACME_ALG_EDDSA, ed, ED_INPUT, ED_SIG), ACME_OK);
	/* One changed byte of input breaks each. */
	memcpy(bad, A2_INPUT, sizeof(bad));
	bad[sizeof(bad) - 2] ^= 1;
	assert_int_equal(verify(ACME_ALG_RS256, rsa, bad, A2_SIG), ACME_E_SIG);
	assert_int_equal(verify(ACME_ALG_ES256, ec, A2_INPUT, A3_SIG),
	    ACME_E_SIG);
	assert_int_equal(verify(ACME_ALG_EDDSA, ed, A3_INPUT, ED_SIG),
	    ACME_E_SIG);
	/* The algorithm must be the key's. */
	assert_int_equal(verify(ACME_ALG_RS256, ec, A3_INPUT, A3_SIG),
	    ACME_E_ALG);
	assert_int_equal(verify(ACME_ALG_ES384, ec, A3_INPUT, A3_SIG),
	    ACME_E_ALG);
	assert_int_equal(verify(ACME_ALG_EDDSA, rsa, ED_INPUT, ED_SIG),
	    ACME_E_ALG);
	assert_int_equal(verify(ACME_ALG_HS256, ec, A3_INPUT, A3_SIG),
	    ACME_E_ALG);

	/* A.1, HS256: the MAC half of EAB. */
	assert_int_equal(acme_b64url_decode(A1_KEY, strlen(A1_KEY), key,
	    sizeof(key), &keylen), ACME_OK);
	assert_int_equal(acme_b64url_decode(A1_SIG, strlen(A1_SIG), mac,
	    sizeof(mac), &maclen), ACME_OK);
	assert_int_equal(acme_jws_mac_verify(key, keylen,
	    (const uint8_t *)A1_INPUT, strlen(A1_INPUT), mac, maclen), ACME_OK);
	assert_int_equal(acme_jws_mac_verify(key, keylen,
	    (const uint8_t *)A1_INPUT, strlen(A1_INPUT), mac, maclen - 1),
	    ACME_E_SIG);
	mac[31] ^= 0x80;
	assert_int_equal(acme_jws_mac_verify(key, keylen,
	    (const uint8_t *)A1_INPUT, strlen(A1_INPUT), mac, maclen),
	    ACME_E_SIG);
	assert_int_equal(acme_jws_mac_verify(key, 31,
	    (const uint8_t *)A1_INPUT, strlen(A1_INPUT), mac, maclen),
	    ACME_E_KEY);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
}

static void
test_thumbprints(void **state)
{
	EVP_PKEY *k;
	char tp[44], *j;
	size_t i;

	(void)state;
	k = jwk(TP_JWK);
	assert_int_equal(acme_jwk_thumbprint_b64(k, tp), ACME_OK);
	assert_string_equal(tp, TP_TP);
	EVP_PKEY_free(k);
	k = jwk(ED_JWK);
	assert_int_equal(acme_jwk_thumbprint_b64(k, tp), ACME_OK);
	assert_string_equal(tp, ED_TP);
	EVP_PKEY_free(k);
	/* Round trip: a key's JWK parses back to an equal key. */
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		EVP_PKEY *a = tu_key(algs[i]), *b;

		j = tu_jwk(a);
		b = jwk(j);
		assert_int_equal(EVP_PKEY_eq(a, b), 1);
		assert_int_equal(acme_jwk_thumbprint_b64(b, tp), ACME_OK);
		assert_int_equal(strlen(tp), 43);
		free(j);
		EVP_PKEY_free(a);
		EVP_PKEY_free(b);
	}
}

static void
test_jwk_refuses(void **state)
{
	EVP_PKEY *small;
	char *j;

	(void)state;
	/* Private members, wrong or unknown types and curves. */
	assert_int_equal(jwk_rc("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"1"
	    "1qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"d\":\"nWGxne_9WmC6h"
	    "Er0kuwsxERJxWl7MmkZcDusAxyuf2A\"}"), ACME_E_KEY);
	assert_int_equal(jwk_rc("{\"kty\":\"oct\",\"k\":\"AAAA\"}"),
	    ACME_E_KEY);
	assert_int_equal(jwk_rc("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"11"
	    "qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"), ACME_E_KEY);
	assert_int_equal(jwk_rc("{\"crv\":\"P-256\"}"), ACME_E_KEY);
	assert_int_equal(jwk_rc("[]"), ACME_E_KEY);
	assert_int_equal(jwk_rc("{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\""
	    ",\"y\":\"AA\"}"), ACME_E_KEY);
	/* EC: short coordinate; a point off the curve (y of A.3 changed). */
	assert_int_equal(jwk_rc("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"83OJ"
	    "3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tu"
	    "e659LNpXW6pCyStikYjKIWI5a0\"}"), ACME_E_KEY);
	assert_int_equal(jwk_rc("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83O"
	    "J3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_t"
	    "ue659LNpXW6pCyStikYjKIWI5a1\"}"), ACME_E_KEY);
	assert_int_equal(jwk_rc("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83O"
	    "J3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_t"
	    "ue659LNpXW6pCyStikYjKIWI5a4\"}"), ACME_E_KEY);
	/* Members missing, mistyped or of the wrong length. */
	assert_int_equal(jwk_rc("{\"kty\":1}"), ACME_E_KEY);
	assert_int_equal(jwk_rc("{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"),
	    ACME_E_KEY);
	assert_int_equal(jwk_rc("{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":7,\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"),
	    ACME_E_KEY);
	assert_int_equal(jwk_rc("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}"),
	    ACME_E_KEY);
	assert_int_equal(jwk_rc("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"AAAA\"}"), ACME_E_KEY);
	assert_int_equal(jwk_rc("{\"kty\":\"RSA\",\"n\":\"AQAB\"}"),
	    ACME_E_KEY);
	/* RSA: 1024 bits; a leading zero octet; an even exponent. */
	small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(small);
	j = tu_jwk(small);
	assert_int_equal(jwk_rc(j), ACME_E_KEY);
	free(j);
	EVP_PKEY_free(small);
	/* n of A.2 with a zero octet in front: same key, not minimal. */
	{
		const char *n64 = strstr(A2_JWK, "\"n\":\"") + 5;
		uint8_t nb[300];
		size_t nlen;
		char *zn;

		assert_int_equal(acme_b64url_decode(n64, strchr(n64, '"') - n64,
		    nb + 1, sizeof(nb) - 1, &nlen), ACME_OK);
		nb[0] = 0;
		zn = tu_b64(nb, nlen + 1);
		j = tu_sprintf("{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}",
		    zn);
		assert_int_equal(jwk_rc(j), ACME_E_KEY);
		free(j);
		free(zn);
	}
	assert_int_equal(jwk_rc("{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0tZWJj"
	    "NiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1"
	    "Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGz"
	    "jb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2"
	    "CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWN"
	    "moudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\",\"e\""
	    ":\"AQAA\"}"), ACME_E_KEY);
}

/* Keys signet_acme never accepts have no thumbprint and no algorithm. */
static void
test_other_keys(void **state)
{
	EVP_PKEY *p521, *x25519;
	uint8_t tp[32], sig[132] = { 1 };

	(void)state;
	p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	assert_non_null(p521);
	assert_non_null(x25519);
	assert_int_equal(acme_jwk_thumbprint(p521, tp), ACME_E_KEY);
	assert_int_equal(acme_jwk_thumbprint(x25519, tp), ACME_E_KEY);
	assert_int_equal(acme_jws_sig_verify(ACME_ALG_ES256, p521,
	    (const uint8_t *)"x", 1, sig, sizeof(sig)), ACME_E_ALG);
	assert_int_equal(acme_jws_sig_verify(ACME_ALG_EDDSA, x25519,
	    (const uint8_t *)"x", 1, sig, 128), ACME_E_ALG);
	assert_int_equal(acme_jws_sig_verify(ACME_ALG_ES256, NULL,
	    (const uint8_t *)"x", 1, sig, 64), ACME_E_ALG);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(x25519);
}

static char *
outer_hdr(const char *alg, const char *keypart, const char *url)
{
	return tu_sprintf("{\"alg\":\"%s\",%s,\"nonce\":\"" NONCE "\","
	    "\"url\":\"%s\"}", alg, keypart, url);
}

static int
parse(const char *body, enum acme_jws_role role, struct acme_jws **jws)
{
	int rc;

	rc = acme_jws_parse((const uint8_t *)body, strlen(body), role, jws);
	if (rc != ACME_OK)
		assert_null(*jws);
	return rc;
}

static void
test_outer(void **state)
{
	struct acme_jws *jws;
	EVP_PKEY *k, *other;
	char *j, *kp, *h, *body;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		k = tu_key(algs[i]);
		other = tu_key(algs[i]);
		j = tu_jwk(k);
		kp = tu_sprintf("\"jwk\":%s", j);
		h = outer_hdr(algnames[i], kp, URL_NA);
		body = tu_jws(algs[i], k, h, "{\"termsOfServiceAgreed\":true}");
		assert_int_equal(parse(body, ACME_JWS_OUTER, &jws), ACME_OK);
		assert_int_equal(jws->alg, algs[i]);
		assert_string_equal(jws->url, URL_NA);
		assert_string_equal(jws->nonce, NONCE);
		assert_null(jws->kid);
		assert_int_equal(EVP_PKEY_eq(jws->jwk, k), 1);
		assert_string_equal((char *)jws->payload,
		    "{\"termsOfServiceAgreed\":true}");
		assert_int_equal(acme_jws_verify(jws, NULL), ACME_OK);
		assert_int_equal(acme_jws_verify(jws, other), ACME_E_SIG);
		acme_jws_free(jws);
		free(body);
		free(h);
		free(kp);

		/* kid, and POST-as-GET (an empty payload, 6.3). */
		h = outer_hdr(algnames[i], "\"kid\":\"" ACCT "\"", ACCT);
		body = tu_jws(algs[i], k, h, "");
		assert_int_equal(parse(body, ACME_JWS_OUTER, &jws), ACME_OK);
		assert_string_equal(jws->kid, ACCT);
		assert_null(jws->jwk);
		assert_int_equal(jws->payloadlen, 0);
		assert_int_equal(acme_jws_verify(jws, NULL), ACME_E_KEY);
		assert_int_equal(acme_jws_verify(jws, k), ACME_OK);
		assert_int_equal(acme_jws_verify(jws, other), ACME_E_SIG);
		acme_jws_free(jws);
		free(body);
		free(h);
		free(j);
		EVP_PKEY_free(k);
		EVP_PKEY_free(other);
	}
}

/* Pieces of protected headers for the refusal table. */
#define H_ALG(a)	"{\"alg\":\"" a "\","
#define H_KID		"\"kid\":\"a\","
#define H_NONCE		"\"nonce\":\"n\","
#define H_URL		"\"url\":\"u\""

static void
test_outer_refuses(void **state)
{
	static const struct {
		const char	*hdr;
		int		 rc;
	} bad[] = {
		{ H_ALG("ES256") H_KID H_URL "}", ACME_E_NONCE },
		{ H_ALG("ES256") H_KID "\"nonce\":\"\"," H_URL "}",
		    ACME_E_NONCE },
		{ H_ALG("ES256") H_KID "\"nonce\":1," H_URL "}", ACME_E_NONCE },
		{ H_ALG("ES256") H_KID "\"nonce\":\"n\"}", ACME_E_HEADER },
		{ H_ALG("ES256") H_NONCE H_URL "}", ACME_E_HEADER },
		{ H_ALG("ES256") "\"kid\":7," H_NONCE H_URL "}",
		    ACME_E_HEADER },
		{ H_ALG("none") H_KID H_NONCE H_URL "}", ACME_E_ALG },
		{ H_ALG("HS256") H_KID H_NONCE H_URL "}", ACME_E_ALG },
		{ H_ALG("PS256") H_KID H_NONCE H_URL "}", ACME_E_ALG },
		{ "{" H_KID H_NONCE H_URL "}", ACME_E_HEADER },
		{ H_ALG("ES256") H_KID H_NONCE H_URL
		    ",\"crit\":[\"x\"],\"x\":1}",
		    ACME_E_HEADER },
		{ H_ALG("ES256") H_KID H_NONCE H_URL ",\"b64\":false}",
		    ACME_E_HEADER },
		{ H_ALG("ES256") H_KID H_NONCE H_URL ",\"url\":\"v\"}",
		    ACME_E_DUP },
		{ "[]", ACME_E_HEADER },
	};
	struct acme_jws *jws;
	EVP_PKEY *k = tu_key(ACME_ALG_ES256), *k384 = tu_key(ACME_ALG_ES384);
	char *body, *j, *kp, *h;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		body = tu_jws(ACME_ALG_ES256, k, bad[i].hdr, "{}");
		if (parse(body, ACME_JWS_OUTER, &jws) != bad[i].rc)
			fail_msg("case %zu: %s", i, bad[i].hdr);
		free(body);
	}
	/* Both jwk and kid; a jwk of another curve than alg's. */
	j = tu_jwk(k);
	kp = tu_sprintf("\"jwk\":%s,\"kid\":\"" ACCT "\"", j);
	h = outer_hdr("ES256", kp, URL_NA);
	body = tu_jws(ACME_ALG_ES256, k, h, "{}");
	assert_int_equal(parse(body, ACME_JWS_OUTER, &jws), ACME_E_HEADER);
	free(body);
	free(h);
	free(kp);
	free(j);
	j = tu_jwk(k384);
	kp = tu_sprintf("\"jwk\":%s", j);
	h = outer_hdr("ES256", kp, URL_NA);
	body = tu_jws(ACME_ALG_ES384, k384, h, "{}");
	assert_int_equal(parse(body, ACME_JWS_OUTER, &jws), ACME_E_ALG);
	free(body);
	free(h);
	free(kp);
	free(j);

	/* Serializations other than flattened, extra or mistyped members. */
	assert_int_equal(parse("{\"protected\":\"e30\",\"payload\":\"\","
	    "\"signature\":\"\",\"header\":{}}", ACME_JWS_OUTER, &jws),
	    ACME_E_SYNTAX);
	assert_int_equal(parse("{\"payload\":\"\",\"signatures\":[]}",
	    ACME_JWS_OUTER, &jws), ACME_E_SYNTAX);
	assert_int_equal(parse("{\"protected\":\"e30\",\"payload\":\"\","
	    "\"signature\":1}", ACME_JWS_OUTER, &jws), ACME_E_SYNTAX);
	assert_int_equal(parse("e30.e30.AA", ACME_JWS_OUTER, &jws),
	    ACME_E_SYNTAX);
	/* Padding in the protected header. */
	assert_int_equal(parse("{\"protected\":\"e30=\",\"payload\":\"\","
	    "\"signature\":\"\"}", ACME_JWS_OUTER, &jws), ACME_E_B64);
	/* An empty protected header; an oversized signature; bad payload. */
	assert_int_equal(parse("{\"protected\":\"\",\"payload\":\"\","
	    "\"signature\":\"\"}", ACME_JWS_OUTER, &jws), ACME_E_HEADER);
	{
		char *sig = malloc(1401);

		memset(sig, 'A', 1400);
		sig[1400] = '\0';
		body = tu_sprintf("{\"protected\":\"e30\",\"payload\":\"\","
		    "\"signature\":\"%s\"}", sig);
		assert_int_equal(parse(body, ACME_JWS_OUTER, &jws),
		    ACME_E_LIMIT);
		free(body);
		free(sig);
	}
	assert_int_equal(parse("{\"protected\":\"e30\",\"payload\":\"e30=\","
	    "\"signature\":\"\"}", ACME_JWS_OUTER, &jws), ACME_E_B64);
	assert_int_equal(parse("[]", ACME_JWS_OUTER, &jws), ACME_E_SYNTAX);
	assert_int_equal(acme_jws_parse_node(NULL, ACME_JWS_OUTER, &jws),
	    ACME_E_SYNTAX);
	/* ES256: a signature of the wrong length never verifies. */
	h = outer_hdr("ES256", "\"kid\":\"" ACCT "\"", ACCT);
	body = tu_jws(ACME_ALG_ES256, k, h, "{}");
	assert_int_equal(parse(body, ACME_JWS_OUTER, &jws), ACME_OK);
	jws->siglen--;
	assert_int_equal(acme_jws_verify(jws, k), ACME_E_SIG);
	acme_jws_free(jws);
	free(body);
	free(h);
	/* RS256: the same. */
	{
		EVP_PKEY *r = tu_key(ACME_ALG_RS256);

		h = outer_hdr("RS256", "\"kid\":\"" ACCT "\"", ACCT);
		body = tu_jws(ACME_ALG_RS256, r, h, "{}");
		assert_int_equal(parse(body, ACME_JWS_OUTER, &jws), ACME_OK);
		assert_int_equal(acme_jws_verify(jws, r), ACME_OK);
		jws->siglen--;
		assert_int_equal(acme_jws_verify(jws, r), ACME_E_SIG);
		acme_jws_free(jws);
		free(body);
		free(h);
		EVP_PKEY_free(r);
	}
	EVP_PKEY_free(k);
	EVP_PKEY_free(k384);
}

/* A newAccount body with an EAB of (kid, hmac) over `bound`'s key. */
static char *
eab_body(EVP_PKEY *k, EVP_PKEY *bound, const uint8_t *hmac, size_t hmaclen,
    const char *eabhdr)
{
	char *j = tu_jwk(k), *bj = tu_jwk(bound), *kp, *h, *eab, *pay, *body;

	eab = tu_jws_hmac(hmac, hmaclen, eabhdr, bj);
	pay = tu_sprintf("{\"termsOfServiceAgreed\":true,"
	    "\"externalAccountBinding\":%s}", eab);
	kp = tu_sprintf("\"jwk\":%s", j);
	h = outer_hdr("ES256", kp, URL_NA);
	body = tu_jws(ACME_ALG_ES256, k, h, pay);
	free(j);
	free(bj);
	free(kp);
	free(h);
	free(eab);
	free(pay);
	return body;
}

static int
eab_check(const char *body, const uint8_t *hmac, size_t hmaclen)
{
	struct acme_new_account na;
	struct acme_json *doc = NULL;
	struct acme_jws *jws = NULL, *eab = NULL;
	int rc;

	assert_int_equal(parse(body, ACME_JWS_OUTER, &jws), ACME_OK);
	assert_int_equal(acme_jws_verify(jws, NULL), ACME_OK);
	assert_int_equal(acme_new_account_parse(jws->payload, jws->payloadlen,
	    &na, &doc), ACME_OK);
	assert_non_null(na.eab);
	assert_int_equal(na.tos_agreed, 1);
	rc = acme_eab_parse(na.eab, jws->url, jws->jwk, &eab);
	if (rc == ACME_OK) {
		assert_string_equal(eab->kid, "kid-1");
		/* A MAC is no signature: verify() refuses it. */
		assert_int_equal(acme_jws_verify(eab, jws->jwk), ACME_E_ALG);
		rc = acme_eab_verify(eab, hmac, hmaclen);
	} else
		assert_null(eab);
	acme_jws_free(eab);
	acme_json_free(doc);
	acme_jws_free(jws);
	return rc;
}

static void
test_eab(void **state)
{
	const char *good = "{\"alg\":\"HS256\",\"kid\":\"kid-1\",\"url\":\""
	    URL_NA "\"}";
	EVP_PKEY *k = tu_key(ACME_ALG_ES256), *k2 = tu_key(ACME_ALG_ES256);
	uint8_t hmac[32], wrong[32];
	char *body;

	(void)state;
	memset(hmac, 0x5a, sizeof(hmac));
	memset(wrong, 0x5b, sizeof(wrong));
	body = eab_body(k, k, hmac, sizeof(hmac), good);
	assert_int_equal(eab_check(body, hmac, sizeof(hmac)), ACME_OK);
	assert_int_equal(eab_check(body, wrong, sizeof(wrong)), ACME_E_SIG);
	assert_int_equal(eab_check(body, hmac, 16), ACME_E_KEY);
	free(body);
	/* The EAB binds another key than the account's. */
	body = eab_body(k, k2, hmac, sizeof(hmac), good);
	assert_int_equal(eab_check(body, hmac, sizeof(hmac)), ACME_E_SIG);
	free(body);
	/* Another URL; a nonce; a jwk; no kid; an asymmetric alg. */
	body = eab_body(k, k, hmac, sizeof(hmac), "{\"alg\":\"HS256\","
	    "\"kid\":\"kid-1\",\"url\":\"https://ca.example/other\"}");
	assert_int_equal(eab_check(body, hmac, sizeof(hmac)), ACME_E_URL);
	free(body);
	body = eab_body(k, k, hmac, sizeof(hmac), "{\"alg\":\"HS256\","
	    "\"kid\":\"kid-1\",\"nonce\":\"n\",\"url\":\"" URL_NA "\"}");
	assert_int_equal(eab_check(body, hmac, sizeof(hmac)), ACME_E_HEADER);
	free(body);
	body = eab_body(k, k, hmac, sizeof(hmac), "{\"alg\":\"HS256\","
	    "\"url\":\"" URL_NA "\"}");
	assert_int_equal(eab_check(body, hmac, sizeof(hmac)), ACME_E_HEADER);
	free(body);
	body = eab_body(k, k, hmac, sizeof(hmac), "{\"alg\":\"ES256\","
	    "\"kid\":\"kid-1\",\"url\":\"" URL_NA "\"}");
	assert_int_equal(eab_check(body, hmac, sizeof(hmac)), ACME_E_ALG);
	free(body);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

/* A key-change body: outer by `old` (kid ACCT), inner by `signer`. */
static char *
kc_body(EVP_PKEY *old, EVP_PKEY *nk, EVP_PKEY *signer, const char *inurl,
    const char *acct, EVP_PKEY *claimed_old, int inner_nonce)
{
	char *nj = tu_jwk(nk), *oj = tu_jwk(claimed_old), *ih, *ip, *inner;
	char *oh, *body;

	ih = tu_sprintf("{\"alg\":\"ES256\",\"jwk\":%s,%s\"url\":\"%s\"}", nj,
	    inner_nonce ? "\"nonce\":\"n\"," : "", inurl);
	ip = tu_sprintf("{\"account\":\"%s\",\"oldKey\":%s}", acct, oj);
	inner = tu_jws(ACME_ALG_ES256, signer, ih, ip);
	oh = outer_hdr("ES256", "\"kid\":\"" ACCT "\"", URL_KC);
	body = tu_jws(ACME_ALG_ES256, old, oh, inner);
	free(nj);
	free(oj);
	free(ih);
	free(ip);
	free(inner);
	free(oh);
	return body;
}

static int
kc_check(const char *body, EVP_PKEY *old, EVP_PKEY *expect_new)
{
	struct acme_jws *jws;
	EVP_PKEY *nk = NULL;
	int rc;

	assert_int_equal(parse(body, ACME_JWS_OUTER, &jws), ACME_OK);
	assert_int_equal(acme_jws_verify(jws, old), ACME_OK);
	rc = acme_keychange_check(jws, ACCT, old, &nk);
	if (rc == ACME_OK)
		assert_int_equal(EVP_PKEY_eq(nk, expect_new), 1);
	else
		assert_null(nk);
	EVP_PKEY_free(nk);
	acme_jws_free(jws);
	return rc;
}

static void
test_keychange(void **state)
{
	EVP_PKEY *old = tu_key(ACME_ALG_ES256), *nk = tu_key(ACME_ALG_ES256);
	EVP_PKEY *x = tu_key(ACME_ALG_ES256);
	char *b;

	(void)state;
	b = kc_body(old, nk, nk, URL_KC, ACCT, old, 0);
	assert_int_equal(kc_check(b, old, nk), ACME_OK);
	free(b);
	/* Signed by another key than the one it names. */
	b = kc_body(old, nk, x, URL_KC, ACCT, old, 0);
	assert_int_equal(kc_check(b, old, nk), ACME_E_SIG);
	free(b);
	b = kc_body(old, nk, nk, URL_NA, ACCT, old, 0);
	assert_int_equal(kc_check(b, old, nk), ACME_E_URL);
	free(b);
	b = kc_body(old, nk, nk, URL_KC, ACCT "0", old, 0);
	assert_int_equal(kc_check(b, old, nk), ACME_E_VALUE);
	free(b);
	b = kc_body(old, nk, nk, URL_KC, ACCT, x, 0);
	assert_int_equal(kc_check(b, old, nk), ACME_E_VALUE);
	free(b);
	b = kc_body(old, nk, nk, URL_KC, ACCT, old, 1);
	assert_int_equal(kc_check(b, old, nk), ACME_E_HEADER);
	free(b);
	b = kc_body(old, old, old, URL_KC, ACCT, old, 0);
	assert_int_equal(kc_check(b, old, old), ACME_E_VALUE);
	free(b);
	EVP_PKEY_free(old);
	EVP_PKEY_free(nk);
	EVP_PKEY_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_vectors),
		cmocka_unit_test(test_thumbprints),
		cmocka_unit_test(test_jwk_refuses),
		cmocka_unit_test(test_other_keys),
		cmocka_unit_test(test_outer),
		cmocka_unit_test(test_outer_refuses),
		cmocka_unit_test(test_eab),
		cmocka_unit_test(test_keychange),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
