/*
 * OpenSSL bindings: the public key read from the token, and an EVP_PKEY
 * whose private operations are routed to C_Sign.
 *
 * OpenSSL 3.0 keeps a "foreign" legacy key (an EC_KEY or RSA with a
 * non-default method) on its legacy code path, so X509_sign,
 * X509_CRL_sign, OCSP_basic_sign and EVP_DigestSign call our methods.
 * libp11 binds keys the same way; we do it ourselves so that the key
 * survives token recovery (see hsm.h).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsm_local.h"

static pthread_once_t methods_once = PTHREAD_ONCE_INIT;
static EC_KEY_METHOD *ec_method;
static RSA_METHOD *rsa_method;
static int ec_idx = -1, rsa_idx = -1;

static void
report(int rc)
{
	ERR_raise_data(ERR_LIB_USER, ERR_R_OPERATION_FAIL, "hsm: %s",
	    hsm_strerror(rc));
}

static ECDSA_SIG *
ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *inv,
    const BIGNUM *rp, EC_KEY *ec)
{
	struct hsm_key *k = EC_KEY_get_ex_data(ec, ec_idx);
	uint8_t rs[2 * 66];
	size_t len = sizeof(rs);
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	int rc;

	if (k == NULL || dlen < 0)
		return NULL;
	rc = hsm_key_sign_mech(k, CKM_ECDSA, dgst, (size_t)dlen, rs, &len);
	if (rc != HSM_OK) {
		report(rc);
		return NULL;
	}
	if (len % 2 != 0 || (sig = ECDSA_SIG_new()) == NULL)
		return NULL;
	r = BN_bin2bn(rs, (int)(len / 2), NULL);
	s = BN_bin2bn(rs + len / 2, (int)(len / 2), NULL);
	if (r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return NULL;
	}
	return sig;
}

static int
ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *out,
    unsigned int *outlen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
	ECDSA_SIG *sig;
	int len;

	if ((sig = ec_sign_sig(dgst, dlen, kinv, r, ec)) == NULL)
		return 0;
	len = i2d_ECDSA_SIG(sig, &out);
	ECDSA_SIG_free(sig);
	if (len <= 0)
		return 0;
	*outlen = (unsigned int)len;
	return 1;
}

static int
rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	struct hsm_key *k = RSA_get_ex_data(rsa, rsa_idx);
	size_t len = (size_t)RSA_size(rsa);
	CK_MECHANISM_TYPE m;
	int rc;

	if (k == NULL || flen < 0)
		return -1;
	/* PKCS#1 v1.5 in the token; PSS arrives here already padded. */
	if (padding == RSA_PKCS1_PADDING)
		m = CKM_RSA_PKCS;
	else if (padding == RSA_NO_PADDING)
		m = CKM_RSA_X_509;
	else
		return -1;
	rc = hsm_key_sign_mech(k, m, from, (size_t)flen, to, &len);
	if (rc != HSM_OK) {
		report(rc);
		return -1;
	}
	return (int)len;
}

static int
rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	/* CA keys sign; they never decrypt. */
	return -1;
}

static void
methods_init(void)
{
	ec_idx = EC_KEY_get_ex_new_index(0, "signet hsm key", NULL, NULL, NULL);
	rsa_idx = RSA_get_ex_new_index(0, "signet hsm key", NULL, NULL, NULL);
	if ((ec_method = EC_KEY_METHOD_new(EC_KEY_OpenSSL())) != NULL)
		EC_KEY_METHOD_set_sign(ec_method, ec_sign, NULL, ec_sign_sig);
	if ((rsa_method = RSA_meth_dup(RSA_PKCS1_OpenSSL())) != NULL) {
		RSA_meth_set1_name(rsa_method, "signet hsm");
		RSA_meth_set_priv_enc(rsa_method, rsa_priv_enc);
		RSA_meth_set_priv_dec(rsa_method, rsa_priv_dec);
		RSA_meth_set_flags(rsa_method,
		    RSA_meth_get_flags(rsa_method) | RSA_FLAG_EXT_PKEY);
	}
}

/* Binds k->evp: a copy of the public key whose private half is the token. */
int
hsm_evp_bind(struct hsm_key *k)
{
	EVP_PKEY *pk = NULL;
	EC_KEY *ec = NULL;
	RSA *rsa = NULL;
	int rc = HSM_ERR_CRYPTO;

	if (k->type == HSM_KEY_ED25519 || k->type == HSM_KEY_AES_256 ||
	    k->type == HSM_KEY_HMAC_SHA256)
		return HSM_OK;
	pthread_once(&methods_once, methods_init);
	if (ec_method == NULL || rsa_method == NULL || ec_idx < 0 ||
	    rsa_idx < 0 || (pk = EVP_PKEY_new()) == NULL)
		goto out;
	if (k->type == HSM_KEY_EC_P256 || k->type == HSM_KEY_EC_P384) {
		if ((ec = EVP_PKEY_get1_EC_KEY(k->pub)) == NULL ||
		    !EC_KEY_set_method(ec, ec_method) ||
		    !EC_KEY_set_ex_data(ec, ec_idx, k) ||
		    !EVP_PKEY_assign_EC_KEY(pk, ec))
			goto out;
		ec = NULL;
	} else {
		if ((rsa = EVP_PKEY_get1_RSA(k->pub)) == NULL ||
		    !RSA_set_method(rsa, rsa_method) ||
		    !RSA_set_ex_data(rsa, rsa_idx, k) ||
		    !EVP_PKEY_assign_RSA(pk, rsa))
			goto out;
		rsa = NULL;
	}
	k->evp = pk;
	pk = NULL;
	rc = HSM_OK;
out:
	EC_KEY_free(ec);
	RSA_free(rsa);
	EVP_PKEY_free(pk);
	return rc;
}

/* Reads a variable-length attribute into buf. */
static CK_RV
attr(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE t, uint8_t *buf, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { t, buf, *len };
	CK_RV rv = CALL(h, C_GetAttributeValue, s, o, &a, 1);

	*len = a.ulValueLen;
	return rv;
}

/* CKA_EC_POINT is a DER OCTET STRING; some tokens give the raw point. */
static const uint8_t *
unwrap_point(const uint8_t *p, CK_ULONG *len)
{
	if (*len >= 2 && p[0] == 0x04 && p[1] < 0x80 && p[1] == *len - 2) {
		*len -= 2;
		return p + 2;
	}
	if (*len >= 3 && p[0] == 0x04 && p[1] == 0x81 && p[2] == *len - 3) {
		*len -= 3;
		return p + 3;
	}
	return p;
}

static EVP_PKEY *
ec_pub(const uint8_t *params, CK_ULONG plen, const uint8_t *pt,
    CK_ULONG ptlen, enum hsm_key_type *type)
{
	const unsigned char *p = params;
	EC_GROUP *g = NULL;
	EC_KEY *ec = NULL;
	EVP_PKEY *pk = NULL, *out = NULL;
	unsigned char *der = NULL;
	const unsigned char *dp;
	int nid, dlen;

	if ((g = d2i_ECPKParameters(NULL, &p, (long)plen)) == NULL)
		goto out;
	nid = EC_GROUP_get_curve_name(g);
	if (nid == NID_X9_62_prime256v1)
		*type = HSM_KEY_EC_P256;
	else if (nid == NID_secp384r1)
		*type = HSM_KEY_EC_P384;
	else
		goto out;
	if ((ec = EC_KEY_new()) == NULL || !EC_KEY_set_group(ec, g) ||
	    o2i_ECPublicKey(&ec, &pt, (long)ptlen) == NULL ||
	    (pk = EVP_PKEY_new()) == NULL || !EVP_PKEY_assign_EC_KEY(pk, ec))
		goto out;
	ec = NULL;
	/* Round-trip through DER: a provider-native key verifies faster. */
	if ((dlen = i2d_PUBKEY(pk, &der)) <= 0)
		goto out;
	dp = der;
	out = d2i_PUBKEY(NULL, &dp, dlen);
out:
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	EC_KEY_free(ec);
	EC_GROUP_free(g);
	return out;
}

static EVP_PKEY *
rsa_pub(const uint8_t *n, CK_ULONG nlen, const uint8_t *e, CK_ULONG elen,
    enum hsm_key_type *type)
{
	BIGNUM *bn = NULL, *be = NULL;
	RSA *rsa = NULL;
	EVP_PKEY *pk = NULL;
	int bits;

	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(e, (int)elen, NULL);
	if (bn == NULL || be == NULL || (rsa = RSA_new()) == NULL ||
	    !RSA_set0_key(rsa, bn, be, NULL))
		goto fail;
	bn = be = NULL;
	bits = RSA_bits(rsa);
	*type = bits == 2048 ? HSM_KEY_RSA_2048 : bits == 3072 ?
	    HSM_KEY_RSA_3072 : bits == 4096 ? HSM_KEY_RSA_4096 : HSM_KEY_NONE;
	if (*type == HSM_KEY_NONE || (pk = EVP_PKEY_new()) == NULL ||
	    !EVP_PKEY_assign_RSA(pk, rsa))
		goto fail;
	return pk;
fail:
	BN_free(bn);
	BN_free(be);
	RSA_free(rsa);
	EVP_PKEY_free(pk);
	return NULL;
}

EVP_PKEY *
hsm_pub_from_token(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub,
    CK_KEY_TYPE kt, enum hsm_key_type *type)
{
	uint8_t a[1100], b[1100];
	CK_ULONG al = sizeof(a), bl = sizeof(b);
	const uint8_t *pt;

	*type = HSM_KEY_NONE;
	switch (kt) {
	case CKK_EC:
		if (attr(h, s, pub, CKA_EC_PARAMS, a, &al) != CKR_OK ||
		    attr(h, s, pub, CKA_EC_POINT, b, &bl) != CKR_OK)
			return NULL;
		pt = unwrap_point(b, &bl);
		return ec_pub(a, al, pt, bl, type);
	case CKK_EC_EDWARDS:
		if (attr(h, s, pub, CKA_EC_POINT, b, &bl) != CKR_OK)
			return NULL;
		pt = unwrap_point(b, &bl);
		if (bl != 32)
			return NULL;
		*type = HSM_KEY_ED25519;
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pt,
		    32);
	case CKK_RSA:
		if (attr(h, s, pub, CKA_MODULUS, a, &al) != CKR_OK ||
		    attr(h, s, pub, CKA_PUBLIC_EXPONENT, b, &bl) != CKR_OK)
			return NULL;
		return rsa_pub(a, al, b, bl, type);
	default:
		return NULL;
	}
}
