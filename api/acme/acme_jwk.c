/*
 * JWK (RFC 7517, 7518 6, 8037 2) to EVP_PKEY and back to the RFC 7638
 * thumbprint.  Only what an ACME account key may be: EC P-256/P-384, RSA
 * 2048..8192 bits, Ed25519.  Members are read strictly (exact point
 * lengths, minimal RSA integers) so that the thumbprint recomputed from
 * the key is the one computed over the member values the client sent.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "acme_local.h"

/* RFC 7517 4 / RFC 7518 6.2.2, 6.3.2: members only a private key has. */
static const char *const jwk_private[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL
};

static int
jwk_b64(const struct acme_jnode *jwk, const char *name, uint8_t *out,
    size_t outsize, size_t *outlen)
{
	const char *s;
	size_t len;
	int rc;

	if ((rc = acme_json_str(jwk, name, &s, &len)) != ACME_OK)
		return ACME_E_KEY;
	if ((rc = acme_b64url_decode(s, len, out, outsize, outlen)) != ACME_OK)
		return ACME_E_KEY;
	return ACME_OK;
}

static int
jwk_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = ACME_E_KEY;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL) {
		rc = ACME_E_MEM;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	/* The point is on the curve and not the identity (SEC 1 3.2.2.1). */
	if ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(chk) != 1)
		goto out;
	*out = pkey;
	pkey = NULL;
	rc = ACME_OK;
 out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	EVP_PKEY_free(pkey);
	return rc;
}

static int
jwk_ec(const struct acme_jnode *jwk, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	uint8_t pt[1 + 2 * 48];
	const char *crv, *group;
	size_t flen, n;
	int rc;

	if (acme_json_str(jwk, "crv", &crv, NULL) != ACME_OK)
		return ACME_E_KEY;
	if (strcmp(crv, "P-256") == 0) {
		flen = 32;
		group = "P-256";
	} else if (strcmp(crv, "P-384") == 0) {
		flen = 48;
		group = "P-384";
	} else
		return ACME_E_KEY;
	/* RFC 7518 6.2.1.2-3: x and y are exactly the field's length. */
	pt[0] = 0x04;
	if ((rc = jwk_b64(jwk, "x", pt + 1, flen, &n)) != ACME_OK ||
	    n != flen ||
	    (rc = jwk_b64(jwk, "y", pt + 1 + flen, flen, &n)) != ACME_OK ||
	    n != flen)
		return ACME_E_KEY;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return ACME_E_MEM;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) != 1 || OSSL_PARAM_BLD_push_octet_string(bld,
	    OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * flen) != 1)
		rc = ACME_E_MEM;
	else
		rc = jwk_fromdata("EC", bld, out);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

static int
jwk_rsa(const struct acme_jnode *jwk, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[ACME_MAX_RSA_BITS / 8 + 1], eb[8];
	size_t nlen, elen;
	int rc = ACME_E_KEY, bits;

	if (jwk_b64(jwk, "n", nb, sizeof(nb), &nlen) != ACME_OK ||
	    jwk_b64(jwk, "e", eb, sizeof(eb), &elen) != ACME_OK)
		return ACME_E_KEY;
	/* RFC 7518 6.3.1.1: minimal octets; an even or tiny e is no key. */
	if (nlen == 0 || nb[0] == 0 || elen == 0 || eb[0] == 0 ||
	    (eb[elen - 1] & 1) == 0 || (elen == 1 && eb[0] < 3))
		return ACME_E_KEY;
	if ((n = BN_bin2bn(nb, nlen, NULL)) == NULL ||
	    (e = BN_bin2bn(eb, elen, NULL)) == NULL) {
		rc = ACME_E_MEM;
		goto out;
	}
	bits = BN_num_bits(n);
	if (bits < ACME_MIN_RSA_BITS || bits > ACME_MAX_RSA_BITS ||
	    !BN_is_odd(n))
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
		rc = ACME_E_MEM;
		goto out;
	}
	rc = jwk_fromdata("RSA", bld, out);
 out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return rc;
}

static int
jwk_okp(const struct acme_jnode *jwk, EVP_PKEY **out)
{
	uint8_t x[32];
	const char *crv;
	size_t n;

	/* RFC 8037 2: Ed25519 only; X25519 is no signing key. */
	if (acme_json_str(jwk, "crv", &crv, NULL) != ACME_OK ||
	    strcmp(crv, "Ed25519") != 0)
		return ACME_E_KEY;
	if (jwk_b64(jwk, "x", x, sizeof(x), &n) != ACME_OK || n != sizeof(x))
		return ACME_E_KEY;
	if ((*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x,
	    sizeof(x))) == NULL)
		return ACME_E_KEY;
	return ACME_OK;
}

int
acme_jwk_parse(const struct acme_jnode *jwk, EVP_PKEY **out)
{
	const char *kty;
	size_t i;

	*out = NULL;
	if (jwk == NULL || jwk->type != ACME_J_OBJ)
		return ACME_E_KEY;
	for (i = 0; jwk_private[i] != NULL; i++)
		if (acme_json_get(jwk, jwk_private[i]) != NULL)
			return ACME_E_KEY;
	if (acme_json_str(jwk, "kty", &kty, NULL) != ACME_OK)
		return ACME_E_KEY;
	if (strcmp(kty, "EC") == 0)
		return jwk_ec(jwk, out);
	if (strcmp(kty, "RSA") == 0)
		return jwk_rsa(jwk, out);
	if (strcmp(kty, "OKP") == 0)
		return jwk_okp(jwk, out);
	return ACME_E_KEY;
}

enum acme_kind
acme_key_kind(EVP_PKEY *key)
{
	char group[32];
	size_t n;

	if (key == NULL)
		return ACME_KIND_NONE;
	if (EVP_PKEY_is_a(key, "ED25519"))
		return ACME_KIND_ED25519;
	if (EVP_PKEY_is_a(key, "RSA")) {
		if (EVP_PKEY_get_bits(key) < ACME_MIN_RSA_BITS ||
		    EVP_PKEY_get_bits(key) > ACME_MAX_RSA_BITS)
			return ACME_KIND_NONE;
		return ACME_KIND_RSA;
	}
	if (!EVP_PKEY_is_a(key, "EC") ||
	    EVP_PKEY_get_group_name(key, group, sizeof(group), &n) != 1)
		return ACME_KIND_NONE;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		return ACME_KIND_P256;
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		return ACME_KIND_P384;
	return ACME_KIND_NONE;
}

/* Appends "name":"b64(bin)" to buf at *off. */
static int
tp_member(char *buf, size_t size, size_t *off, const char *name,
    const uint8_t *bin, size_t len, int comma)
{
	size_t nl = strlen(name);
	int rc;

	if (*off + nl + 6 >= size)
		return ACME_E_SPACE;
	*off += (size_t)snprintf(buf + *off, size - *off, "%s\"%s\":\"",
	    comma ? "," : "", name);
	if ((rc = acme_b64url_encode(bin, len, buf + *off, size - *off)) !=
	    ACME_OK)
		return rc;
	*off += strlen(buf + *off);
	if (*off + 1 >= size)
		return ACME_E_SPACE;
	buf[(*off)++] = '"';
	buf[*off] = '\0';
	return ACME_OK;
}

static int
tp_bn(EVP_PKEY *key, const char *param, uint8_t *out, size_t pad,
    size_t outsize, size_t *outlen)
{
	BIGNUM *bn = NULL;
	int n, rc = ACME_E_KEY;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
		return ACME_E_KEY;
	if (pad != 0)
		n = BN_bn2binpad(bn, out, (int)pad);
	else
		n = (size_t)BN_num_bytes(bn) <= outsize ?
		    BN_bn2bin(bn, out) : -1;
	if (n > 0) {
		*outlen = (size_t)n;
		rc = ACME_OK;
	}
	BN_free(bn);
	return rc;
}

/*
 * RFC 7638 3: the required members only, in lexicographic order, no
 * whitespace; the values are base64url, so nothing needs escaping.
 */
static int
tp_json(EVP_PKEY *key, char *buf, size_t size)
{
	uint8_t a[ACME_MAX_RSA_BITS / 8], b[48];
	size_t alen, blen = 0, off;
	enum acme_kind k = acme_key_kind(key);
	int rc;

	switch (k) {
	case ACME_KIND_P256:
	case ACME_KIND_P384:
		alen = k == ACME_KIND_P256 ? 32 : 48;
		if ((rc = tp_bn(key, OSSL_PKEY_PARAM_EC_PUB_X, a, alen,
		    sizeof(a), &alen)) != ACME_OK ||
		    (rc = tp_bn(key, OSSL_PKEY_PARAM_EC_PUB_Y, b, alen,
		    sizeof(b), &blen)) != ACME_OK)
			return rc;
		off = (size_t)snprintf(buf, size,
		    "{\"crv\":\"%s\",\"kty\":\"EC\"",
		    k == ACME_KIND_P256 ? "P-256" : "P-384");
		if ((rc = tp_member(buf, size, &off, "x", a, alen, 1)) !=
		    ACME_OK || (rc = tp_member(buf, size, &off, "y", b, blen,
		    1)) != ACME_OK)
			return rc;
		break;
	case ACME_KIND_RSA:
		if ((rc = tp_bn(key, OSSL_PKEY_PARAM_RSA_E, b, 0, sizeof(b),
		    &blen)) != ACME_OK || (rc = tp_bn(key,
		    OSSL_PKEY_PARAM_RSA_N, a, 0, sizeof(a), &alen)) != ACME_OK)
			return rc;
		off = (size_t)snprintf(buf, size, "{");
		if ((rc = tp_member(buf, size, &off, "e", b, blen, 0)) !=
		    ACME_OK)
			return rc;
		off += (size_t)snprintf(buf + off, size - off,
		    ",\"kty\":\"RSA\"");
		if ((rc = tp_member(buf, size, &off, "n", a, alen, 1)) !=
		    ACME_OK)
			return rc;
		break;
	case ACME_KIND_ED25519:
		alen = sizeof(a);
		if (EVP_PKEY_get_raw_public_key(key, a, &alen) != 1)
			return ACME_E_KEY;
		off = (size_t)snprintf(buf, size,
		    "{\"crv\":\"Ed25519\",\"kty\":\"OKP\"");
		if ((rc = tp_member(buf, size, &off, "x", a, alen, 1)) !=
		    ACME_OK)
			return rc;
		break;
	default:
		return ACME_E_KEY;
	}
	if (off + 2 > size)
		return ACME_E_SPACE;
	buf[off++] = '}';
	buf[off] = '\0';
	return ACME_OK;
}

int
acme_jwk_thumbprint(EVP_PKEY *key, uint8_t out[32])
{
	char buf[2048];
	unsigned int n = 32;
	int rc;

	if ((rc = tp_json(key, buf, sizeof(buf))) != ACME_OK)
		return rc;
	if (EVP_Digest(buf, strlen(buf), out, &n, EVP_sha256(), NULL) != 1)
		return ACME_E_MEM;
	return ACME_OK;
}

int
acme_jwk_thumbprint_b64(EVP_PKEY *key, char out[44])
{
	uint8_t d[32];
	int rc;

	if ((rc = acme_jwk_thumbprint(key, d)) != ACME_OK)
		return rc;
	return acme_b64url_encode(d, sizeof(d), out, 44);
}
