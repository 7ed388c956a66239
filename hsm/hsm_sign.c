/*
 * Signing and wrapping inside the token.
 */
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/objects.h>

#include "hsm_local.h"

static CK_MECHANISM_TYPE
sign_mech(enum hsm_key_type t)
{
	switch (t) {
	case HSM_KEY_EC_P256:
	case HSM_KEY_EC_P384:
		return CKM_ECDSA;
	case HSM_KEY_ED25519:
		return CKM_EDDSA;
	case HSM_KEY_HMAC_SHA256:
		return CKM_SHA256_HMAC;
	default:
		return CKM_RSA_PKCS;
	}
}

/* Bounds of the signing-time buckets (hsm_status), in microseconds. */
const uint64_t hsm_sign_le_us[HSM_SIGN_BUCKETS] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	1000000, UINT64_MAX
};

static uint64_t
sign_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
sign_observe(struct hsm *h, uint64_t us)
{
	size_t i;

	for (i = 0; i < HSM_SIGN_BUCKETS - 1 && us > hsm_sign_le_us[i]; i++)
		;
	__atomic_add_fetch(&h->sign_count[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->sign_us_sum, us, __ATOMIC_RELAXED);
}

/*
 * One sign operation on a checked-out session with an explicit mechanism;
 * quick: on a reserved session if one is free (hsm_op_begin_quick).
 */
static int
sign_op(struct hsm_key *k, CK_MECHANISM_TYPE m, int quick, const uint8_t *in,
    size_t inlen, uint8_t *sig, size_t *siglen)
{
	struct hsm *h;
	struct hsm_op op;
	CK_MECHANISM mech = { m, NULL, 0 };
	CK_ULONG len;
	CK_RV rv;
	const char *fn = "C_SignInit";
	uint64_t t0;
	int rc;

	if (k == NULL || in == NULL || sig == NULL || siglen == NULL ||
	    k->type == HSM_KEY_AES_256)
		return HSM_ERR_ARG;
	h = k->hsm;
	t0 = sign_now_us();
	rc = quick ? hsm_op_begin_quick(h, k, &op) : hsm_op_begin(h, k, &op);
	if (rc != HSM_OK)
		return rc;
	len = *siglen;
	rv = CALL(h, C_SignInit, op.s, &mech, op.obj);
	if (rv == CKR_OK) {
		fn = "C_Sign";
		rv = CALL(h, C_Sign, op.s, (CK_BYTE_PTR)in, inlen, sig, &len);
		if (rv == CKR_BUFFER_TOO_SMALL) {
			/* Finish the operation so the session stays usable. */
			uint8_t big[HSM_MAX_SIG];
			CK_ULONG bl = sizeof(big);

			(void)CALL(h, C_Sign, op.s, (CK_BYTE_PTR)in, inlen,
			    big, &bl);
			OPENSSL_cleanse(big, sizeof(big));
		}
	}
	rc = hsm_op_end(h, &op, rv, fn);
	if (rc != HSM_OK)
		return rc;
	*siglen = len;
	__atomic_add_fetch(&h->signatures, 1, __ATOMIC_RELAXED);
	sign_observe(h, sign_now_us() - t0);
	return HSM_OK;
}

int
hsm_key_sign_mech(struct hsm_key *k, CK_MECHANISM_TYPE m, const uint8_t *in,
    size_t inlen, uint8_t *sig, size_t *siglen)
{
	return sign_op(k, m, 0, in, inlen, sig, siglen);
}

int
hsm_key_sign_raw(struct hsm_key *k, const uint8_t *in, size_t inlen,
    uint8_t *sig, size_t *siglen)
{
	if (k == NULL)
		return HSM_ERR_ARG;
	return hsm_key_sign_mech(k, sign_mech(k->type), in, inlen, sig, siglen);
}

/* DER DigestInfo prefixes (RFC 8017 9.2 note 1). */
static const uint8_t di_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
	0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
static const uint8_t di_sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
	0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 };
static const uint8_t di_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
	0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 };

static int
digest_info(int nid, const uint8_t **prefix, size_t *plen)
{
	switch (nid) {
	case NID_sha256:
		*prefix = di_sha256;
		*plen = sizeof(di_sha256);
		return HSM_OK;
	case NID_sha384:
		*prefix = di_sha384;
		*plen = sizeof(di_sha384);
		return HSM_OK;
	case NID_sha512:
		*prefix = di_sha512;
		*plen = sizeof(di_sha512);
		return HSM_OK;
	default:
		return HSM_ERR_UNSUPPORTED;
	}
}

/* r||s from the token to a DER ECDSA-Sig-Value. */
static int
ecdsa_der(const uint8_t *rs, size_t rslen, uint8_t *sig, size_t *siglen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = sig;
	int len, rc = HSM_ERR_CRYPTO;

	if (rslen == 0 || rslen % 2 != 0 || (es = ECDSA_SIG_new()) == NULL)
		goto out;
	r = BN_bin2bn(rs, (int)(rslen / 2), NULL);
	s = BN_bin2bn(rs + rslen / 2, (int)(rslen / 2), NULL);
	if (r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL;
	len = i2d_ECDSA_SIG(es, NULL);
	if (len <= 0 || (size_t)len > *siglen)
		goto out;
	len = i2d_ECDSA_SIG(es, &p);
	*siglen = (size_t)len;
	rc = HSM_OK;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

int
hsm_key_sign(struct hsm_key *k, const EVP_MD *md, const uint8_t *msg,
    size_t msglen, uint8_t *sig, size_t *siglen)
{
	uint8_t buf[128], raw[HSM_MAX_SIG];
	const uint8_t *prefix;
	unsigned int dlen;
	size_t plen, rawlen = sizeof(raw);
	int rc;

	/* An X.509 signature needs a key pair; a MAC key is not one. */
	if (k == NULL || msg == NULL || sig == NULL || siglen == NULL ||
	    k->type == HSM_KEY_HMAC_SHA256 || k->type == HSM_KEY_AES_256)
		return HSM_ERR_ARG;
	if (k->type == HSM_KEY_ED25519)
		return hsm_key_sign_raw(k, msg, msglen, sig, siglen);
	if (md == NULL)
		md = k->type == HSM_KEY_EC_P384 ? EVP_sha384() : EVP_sha256();
	if (k->type == HSM_KEY_EC_P256 || k->type == HSM_KEY_EC_P384) {
		if (!EVP_Digest(msg, msglen, buf, &dlen, md, NULL))
			return HSM_ERR_CRYPTO;
		rc = hsm_key_sign_raw(k, buf, dlen, raw, &rawlen);
		if (rc == HSM_OK)
			rc = ecdsa_der(raw, rawlen, sig, siglen);
		return rc;
	}
	if ((rc = digest_info(EVP_MD_get_type(md), &prefix, &plen)) != HSM_OK)
		return rc;
	memcpy(buf, prefix, plen);
	if (!EVP_Digest(msg, msglen, buf + plen, &dlen, md, NULL))
		return HSM_ERR_CRYPTO;
	return hsm_key_sign_raw(k, buf, plen + dlen, sig, siglen);
}

int
hsm_key_hmac(struct hsm_key *k, const uint8_t *msg, size_t msglen,
    uint8_t mac[HSM_HMAC_LEN])
{
	size_t len = HSM_HMAC_LEN;
	int rc;

	if (k == NULL || msg == NULL || mac == NULL ||
	    k->type != HSM_KEY_HMAC_SHA256)
		return HSM_ERR_ARG;
	/* A MAC answers a handshake that is waiting: the quick lane. */
	rc = sign_op(k, CKM_SHA256_HMAC, 1, msg, msglen, mac, &len);
	if (rc == HSM_OK && len != HSM_HMAC_LEN)
		rc = HSM_ERR_DEVICE;
	if (rc != HSM_OK)
		OPENSSL_cleanse(mac, HSM_HMAC_LEN);
	return rc;
}

int
hsm_key_wrap(struct hsm_key *kek, struct hsm_key *key, uint8_t *blob,
    size_t *bloblen)
{
	CK_MECHANISM mech = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	struct hsm *h;
	struct hsm_op op;
	CK_ULONG len;
	CK_RV rv;
	int rc;

	if (kek == NULL || key == NULL || blob == NULL || bloblen == NULL ||
	    kek->type != HSM_KEY_AES_256 || kek->hsm != key->hsm)
		return HSM_ERR_ARG;
	h = kek->hsm;
	if ((rc = hsm_op_begin(h, NULL, &op)) != HSM_OK)
		return rc;
	len = *bloblen;
	/* Always the token object: a session copy is not what is backed up. */
	rv = CALL(h, C_WrapKey, op.s, &mech, kek->priv, key->priv, blob, &len);
	if ((rc = hsm_op_end(h, &op, rv, "C_WrapKey")) == HSM_OK)
		*bloblen = len;
	return rc;
}
