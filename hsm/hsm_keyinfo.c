/*
 * Listing keys, reading their protection attributes, and unwrapping a
 * backed-up key into a token.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hsm_local.h"

#define LIST_MAX 1024

static void
read_info(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    struct hsm_key_info *ki)
{
	CK_BBOOL sens = 0, ext = 0, asens = 0, nevx = 0;
	CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
	CK_ULONG bits = 0;
	CK_ATTRIBUTE a[] = {
		{ CKA_SENSITIVE, &sens, sizeof(sens) },
		{ CKA_EXTRACTABLE, &ext, sizeof(ext) },
		{ CKA_ALWAYS_SENSITIVE, &asens, sizeof(asens) },
		{ CKA_NEVER_EXTRACTABLE, &nevx, sizeof(nevx) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_LABEL, ki->label, HSM_MAX_LABEL },
		{ CKA_ID, ki->id, HSM_MAX_ID },
	};
	uint8_t params[16];
	CK_ATTRIBUTE p = { CKA_EC_PARAMS, params, sizeof(params) };
	CK_ATTRIBUTE m = { CKA_MODULUS, NULL, 0 };
	size_t i;

	/* Attributes a token cannot give come back with length -1. */
	(void)CALL(h, C_GetAttributeValue, s, o, a, 7);
	for (i = 0; i < 7; i++)
		if (a[i].ulValueLen == (CK_ULONG)-1)
			a[i].ulValueLen = 0;
	ki->label[a[5].ulValueLen <= HSM_MAX_LABEL ? a[5].ulValueLen : 0] = 0;
	ki->id_len = a[6].ulValueLen <= HSM_MAX_ID ? a[6].ulValueLen : 0;
	ki->sensitive = sens;
	ki->extractable = ext;
	ki->always_sensitive = asens;
	ki->never_extractable = nevx;
	ki->type = HSM_KEY_NONE;
	if (kt == CKK_EC && CALL(h, C_GetAttributeValue, s, o, &p, 1) ==
	    CKR_OK) {
		if (p.ulValueLen == 10 && params[1] == 8 && params[9] == 7)
			ki->type = HSM_KEY_EC_P256;
		else if (p.ulValueLen == 7 && params[6] == 0x22)
			ki->type = HSM_KEY_EC_P384;
	} else if (kt == CKK_EC_EDWARDS) {
		ki->type = HSM_KEY_ED25519;
	} else if (kt == CKK_AES) {
		ki->type = HSM_KEY_AES_256;
	} else if (kt == CKK_GENERIC_SECRET) {
		ki->type = HSM_KEY_HMAC_SHA256;
	} else if (kt == CKK_RSA &&
	    CALL(h, C_GetAttributeValue, s, o, &m, 1) == CKR_OK) {
		bits = m.ulValueLen * 8;
		ki->type = bits == 2048 ? HSM_KEY_RSA_2048 : bits == 3072 ?
		    HSM_KEY_RSA_3072 : bits == 4096 ? HSM_KEY_RSA_4096 :
		    HSM_KEY_NONE;
	}
}

static CK_RV
list_class(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    struct hsm_key_info *out, size_t max, size_t *n)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, (void *)&ck_true, sizeof(ck_true) },
	};
	CK_OBJECT_HANDLE objs[64];
	CK_ULONG got, i;
	CK_RV rv;

	if ((rv = CALL(h, C_FindObjectsInit, s, t, 2)) != CKR_OK)
		return rv;
	do {
		rv = CALL(h, C_FindObjects, s, objs, 64, &got);
		for (i = 0; rv == CKR_OK && i < got && *n < max; i++) {
			memset(&out[*n], 0, sizeof(out[*n]));
			read_info(h, s, objs[i], &out[(*n)++]);
		}
	} while (rv == CKR_OK && got > 0 && *n < max);
	(void)CALL(h, C_FindObjectsFinal, s);
	return rv;
}

int
hsm_key_list(struct hsm *h, struct hsm_key_info **out, size_t *n)
{
	struct hsm_key_info *v;
	struct hsm_op op;
	CK_RV rv;
	int rc;

	if (h == NULL || out == NULL || n == NULL)
		return HSM_ERR_ARG;
	if ((v = calloc(LIST_MAX, sizeof(*v))) == NULL)
		return HSM_ERR_NOMEM;
	*n = 0;
	if ((rc = hsm_op_begin(h, NULL, &op)) != HSM_OK) {
		free(v);
		return rc;
	}
	rv = list_class(h, op.s, CKO_PRIVATE_KEY, v, LIST_MAX, n);
	if (rv == CKR_OK)
		rv = list_class(h, op.s, CKO_SECRET_KEY, v, LIST_MAX, n);
	if ((rc = hsm_op_end(h, &op, rv, "C_FindObjects")) != HSM_OK) {
		free(v);
		*n = 0;
		return rc;
	}
	*out = v;
	return HSM_OK;
}

int
hsm_key_get_info(struct hsm_key *k, struct hsm_key_info *info)
{
	struct hsm_op op;
	int rc;

	if (k == NULL || info == NULL)
		return HSM_ERR_ARG;
	if ((rc = hsm_op_begin(k->hsm, NULL, &op)) != HSM_OK)
		return rc;
	memset(info, 0, sizeof(*info));
	read_info(k->hsm, op.s, k->priv, info);
	return hsm_op_end(k->hsm, &op, CKR_OK, "C_GetAttributeValue");
}

/* Creates the public key object matching an unwrapped private key. */
static CK_RV
create_public(struct hsm *h, CK_SESSION_HANDLE s, EVP_PKEY *pub,
    const struct hsm_keygen *req, const uint8_t *id, size_t id_len)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt;
	CK_ATTRIBUTE t[11];
	CK_ULONG nt = 0;
	CK_OBJECT_HANDLE o;
	uint8_t a[600], b[600], pt[200];
	size_t al = 0, bl = 0, ptl = 0;
	BIGNUM *n = NULL, *e = NULL;
	unsigned char *der = NULL, *p;
	int dl;
	CK_RV rv = CKR_ARGUMENTS_BAD;

	t[nt++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	t[nt++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
	t[nt++] = (CK_ATTRIBUTE){ CKA_TOKEN, (void *)&ck_true, 1 };
	/* As hsm_keygen makes it (a token defaults CKA_PRIVATE to true). */
	t[nt++] = (CK_ATTRIBUTE){ CKA_PRIVATE, (void *)&ck_false, 1 };
	t[nt++] = (CK_ATTRIBUTE){ CKA_VERIFY, (void *)&ck_true, 1 };
	t[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)req->label,
	    strlen(req->label) };
	t[nt++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
	if (EVP_PKEY_is_a(pub, "EC")) {
		EC_GROUP *g = NULL;

		kt = CKK_EC;
		if (!EVP_PKEY_get_octet_string_param(pub,
		    OSSL_PKEY_PARAM_PUB_KEY, pt + 2, sizeof(pt) - 2, &ptl) ||
		    ptl > 127)
			goto out;
		pt[0] = 0x04;
		pt[1] = (uint8_t)ptl;
		g = EC_GROUP_new_by_curve_name(EVP_PKEY_get_bits(pub) == 384 ?
		    NID_secp384r1 : NID_X9_62_prime256v1);
		p = a;
		dl = g ? i2d_ECPKParameters(g, &p) : -1;
		EC_GROUP_free(g);
		if (dl <= 0)
			goto out;
		al = (size_t)dl;
		t[nt++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, a, al };
		t[nt++] = (CK_ATTRIBUTE){ CKA_EC_POINT, pt, ptl + 2 };
	} else if (EVP_PKEY_is_a(pub, "RSA")) {
		kt = CKK_RSA;
		if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) ||
		    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) ||
		    (al = (size_t)BN_bn2bin(n, a)) == 0 ||
		    (bl = (size_t)BN_bn2bin(e, b)) == 0)
			goto out;
		t[nt++] = (CK_ATTRIBUTE){ CKA_MODULUS, a, al };
		t[nt++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, b, bl };
	} else if (EVP_PKEY_is_a(pub, "ED25519")) {
		kt = CKK_EC_EDWARDS;
		ptl = 32;
		if (!EVP_PKEY_get_raw_public_key(pub, pt + 2, &ptl) || ptl != 32)
			goto out;
		pt[0] = 0x04;
		pt[1] = 32;
		t[nt++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)"\x06\x03\x2b\x65\x70", 5 };
		t[nt++] = (CK_ATTRIBUTE){ CKA_EC_POINT, pt, 34 };
	} else {
		goto out;
	}
	rv = CALL(h, C_CreateObject, s, t, nt, &o);
out:
	BN_free(n);
	BN_free(e);
	OPENSSL_free(der);
	return rv;
}

static CK_KEY_TYPE
pub_ck_type(EVP_PKEY *pub)
{
	if (EVP_PKEY_is_a(pub, "EC"))
		return CKK_EC;
	if (EVP_PKEY_is_a(pub, "ED25519"))
		return CKK_EC_EDWARDS;
	return CKK_RSA;
}

int
hsm_key_unwrap(struct hsm_key *kek, const uint8_t *blob, size_t bloblen,
    const struct hsm_keygen *req, EVP_PKEY *pub, struct hsm_key **out)
{
	CK_MECHANISM mech = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt;
	int backup;
	uint8_t rid[16];
	const uint8_t *id;
	size_t id_len;
	CK_ATTRIBUTE t[14];
	CK_ULONG nt = 0;
	CK_OBJECT_HANDLE priv;
	struct hsm *h;
	struct hsm_op op;
	CK_RV rv;
	int rc;

	if (kek == NULL || blob == NULL || req == NULL || pub == NULL ||
	    out == NULL || req->label == NULL || kek->type != HSM_KEY_AES_256)
		return HSM_ERR_ARG;
	h = kek->hsm;
	kt = pub_ck_type(pub);
	backup = (req->flags & HSM_KEYGEN_BACKUP) != 0;
	id = req->id;
	id_len = req->id_len;
	if (id == NULL) {
		if (RAND_bytes(rid, sizeof(rid)) != 1)
			return HSM_ERR_CRYPTO;
		id = rid;
		id_len = sizeof(rid);
	}
	t[nt++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	t[nt++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
	t[nt++] = (CK_ATTRIBUTE){ CKA_TOKEN, (void *)&ck_true, 1 };
	t[nt++] = (CK_ATTRIBUTE){ CKA_PRIVATE, (void *)&ck_true, 1 };
	t[nt++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, (void *)&ck_true, 1 };
	t[nt++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE,
	    (void *)(backup ? &ck_true : &ck_false), 1 };
	/*
	 * Exactly the usage hsm_keygen gives a CA key: it signs and does
	 * nothing else.  Left out, a token's defaults (true) would make a
	 * restored key able to decrypt and unwrap, which the generated
	 * one cannot.
	 */
	t[nt++] = (CK_ATTRIBUTE){ CKA_SIGN, (void *)&ck_true, 1 };
	t[nt++] = (CK_ATTRIBUTE){ CKA_SIGN_RECOVER, (void *)&ck_false, 1 };
	t[nt++] = (CK_ATTRIBUTE){ CKA_DECRYPT, (void *)&ck_false, 1 };
	t[nt++] = (CK_ATTRIBUTE){ CKA_UNWRAP, (void *)&ck_false, 1 };
	t[nt++] = (CK_ATTRIBUTE){ CKA_DERIVE, (void *)&ck_false, 1 };
	t[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)req->label,
	    strlen(req->label) };
	t[nt++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
	if (backup)
		t[nt++] = (CK_ATTRIBUTE){ CKA_WRAP_WITH_TRUSTED,
		    (void *)&ck_true, 1 };
	pthread_mutex_lock(&h->keys_mu);
	if ((rc = hsm_op_begin(h, NULL, &op)) != HSM_OK)
		goto out;
	rv = CALL(h, C_UnwrapKey, op.s, &mech, kek->priv, (CK_BYTE_PTR)blob,
	    bloblen, t, nt, &priv);
	if (rv == CKR_OK)
		rv = create_public(h, op.s, pub, req, id, id_len);
	rc = hsm_op_end(h, &op, rv, "C_UnwrapKey");
out:
	pthread_mutex_unlock(&h->keys_mu);
	if (rc != HSM_OK)
		return rc;
	(void)hsm_token_guard(NULL, NULL); /* durable copy of the new key */
	return hsm_key_find(h, req->label, id, id_len, out);
}
