/*
 * Keys in the token: generation, lookup, listing, signing, wrapping.
 * Everything here is raw PKCS#11 so that one code path serves every key
 * type, Ed25519 included, and so that re-finding handles after a token
 * fault is in our hands.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include "hsm_local.h"

/* DER OIDs used as CKA_EC_PARAMS. */
static const uint8_t oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

/* find_one's private codes for "none" and "more than one" (vendor range). */
#define FIND_NONE (CKR_VENDOR_DEFINED | 0x5349474eUL)
#define FIND_MANY (CKR_VENDOR_DEFINED | 0x5349474fUL)

static int
find_objects(struct hsm *h, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
    CK_ULONG ntmpl, CK_OBJECT_HANDLE *objs, CK_ULONG max, CK_ULONG *n,
    CK_RV *rvp)
{
	CK_RV rv;

	*n = 0;
	if ((rv = CALL(h, C_FindObjectsInit, s, tmpl, ntmpl)) != CKR_OK)
		goto out;
	rv = CALL(h, C_FindObjects, s, objs, max, n);
	(void)CALL(h, C_FindObjectsFinal, s);
out:
	*rvp = rv;
	return rv == CKR_OK ? HSM_OK : hsm_ckr_to_rc(rv);
}

/* Finds the one object of a class by id (if any) and label (if any). */
static CK_RV
find_one(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    const char *label, const uint8_t *id, size_t id_len, int token_only,
    CK_OBJECT_HANDLE *obj)
{
	CK_ATTRIBUTE t[4];
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG n = 0, nt = 0;
	CK_RV rv;

	t[nt++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	if (token_only)
		t[nt++] = (CK_ATTRIBUTE){ CKA_TOKEN, (void *)&ck_true,
		    sizeof(ck_true) };
	if (id != NULL && id_len > 0)
		t[nt++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
	if (label != NULL && *label != '\0')
		t[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label,
		    strlen(label) };
	find_objects(h, s, t, nt, objs, 2, &n, &rv);
	if (rv != CKR_OK)
		return rv;
	if (n != 1)
		return n == 0 ? FIND_NONE : FIND_MANY;
	*obj = objs[0];
	return CKR_OK;
}


static int
find_rc(CK_RV rv)
{
	if (rv == FIND_NONE)
		return HSM_ERR_NO_KEY;
	if (rv == FIND_MANY)
		return HSM_ERR_EXISTS;
	return hsm_ckr_to_rc(rv);
}

static CK_RV
get_attr(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, void *buf, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, buf, *len };
	CK_RV rv;

	rv = CALL(h, C_GetAttributeValue, s, o, &a, 1);
	*len = a.ulValueLen;
	return rv;
}

/*
 * Makes the session copy of a private key or of an HMAC key (the token
 * key: one MAC per DTLS-PSK lookup): a session object stays inside the
 * token, keeps CKA_SENSITIVE and CKA_EXTRACTABLE, and spares SoftHSM
 * re-reading the key's file on every signature.  Holder session only.
 * The copy is used only if the token says it is a session object that is
 * sensitive and not extractable (C_CopyObject cannot loosen either, but a
 * key that was extractable in the token would be so in the copy too):
 * otherwise it is destroyed and the key signs as the token object.
 */
static CK_RV
copy_to_session(struct hsm *h, struct hsm_key *k)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_TOKEN, (void *)&ck_false, sizeof(ck_false) },
	};
	CK_BBOOL tok = CK_TRUE, sens = CK_FALSE, extr = CK_TRUE;
	CK_ATTRIBUTE q[] = {
		{ CKA_TOKEN, &tok, sizeof(tok) },
		{ CKA_SENSITIVE, &sens, sizeof(sens) },
		{ CKA_EXTRACTABLE, &extr, sizeof(extr) },
	};
	CK_RV rv;

	k->sess_priv = CK_INVALID_HANDLE;
	if (!h->session_keys || (k->cls != CKO_PRIVATE_KEY &&
	    k->type != HSM_KEY_HMAC_SHA256))
		return CKR_OK;
	rv = CALL(h, C_CopyObject, h->holder, k->priv, t, 1, &k->sess_priv);
	if (rv != CKR_OK)
		return rv;
	rv = CALL(h, C_GetAttributeValue, h->holder, k->sess_priv, q, 3);
	if (rv != CKR_OK || tok != CK_FALSE || sens != CK_TRUE ||
	    extr != CK_FALSE)
		hsm_key_drop_copy(h, k);
	return CKR_OK;
}

void
hsm_key_drop_copy(struct hsm *h, struct hsm_key *k)
{
	if (k->sess_priv != CK_INVALID_HANDLE && h->initialized &&
	    h->holder != CK_INVALID_HANDLE)
		(void)CALL(h, C_DestroyObject, h->holder, k->sess_priv);
	k->sess_priv = CK_INVALID_HANDLE;
}

/* Finds the key's handles again in a new generation; keys_mu held. */
int
hsm_key_refind(struct hsm *h, struct hsm_key *k, CK_SESSION_HANDLE s)
{
	CK_RV rv;

	rv = find_one(h, s, k->cls, k->label, k->id, k->id_len, 1, &k->priv);
	if (rv != CKR_OK) {
		h->last_ckr = rv == FIND_NONE ? CKR_KEY_HANDLE_INVALID : rv;
		h->last_func = "C_FindObjects";
		return find_rc(rv) == HSM_ERR_NO_KEY ? HSM_ERR_DEVICE :
		    find_rc(rv);
	}
	if ((rv = copy_to_session(h, k)) != CKR_OK) {
		h->last_ckr = rv;
		h->last_func = "C_CopyObject";
		return hsm_ckr_to_rc(rv);
	}
	k->gen = h->gen;
	return HSM_OK;
}

static CK_KEY_TYPE
key_ck_type(enum hsm_key_type t)
{
	switch (t) {
	case HSM_KEY_EC_P256:
	case HSM_KEY_EC_P384:
		return CKK_EC;
	case HSM_KEY_ED25519:
		return CKK_EC_EDWARDS;
	case HSM_KEY_AES_256:
		return CKK_AES;
	case HSM_KEY_HMAC_SHA256:
		return CKK_GENERIC_SECRET;
	default:
		return CKK_RSA;
	}
}

/* Builds a struct hsm_key for private (or secret) key obj; keys_mu held. */
static int
key_load(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    CK_OBJECT_CLASS cls, struct hsm_key **out)
{
	struct hsm_key *k = NULL;
	CK_KEY_TYPE kt;
	CK_ULONG len;
	CK_OBJECT_HANDLE pub;
	CK_RV rv;
	int rc = HSM_ERR_NOMEM;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto out;
	k->hsm = h;
	k->cls = cls;
	k->priv = obj;
	rc = HSM_ERR_DEVICE;
	len = sizeof(kt);
	if ((rv = get_attr(h, s, obj, CKA_KEY_TYPE, &kt, &len)) != CKR_OK)
		goto fail;
	len = HSM_MAX_LABEL;
	if (get_attr(h, s, obj, CKA_LABEL, k->label, &len) == CKR_OK &&
	    len <= HSM_MAX_LABEL)
		k->label[len] = '\0';
	else
		k->label[0] = '\0';
	len = HSM_MAX_ID;
	if (get_attr(h, s, obj, CKA_ID, k->id, &len) == CKR_OK &&
	    len <= HSM_MAX_ID)
		k->id_len = len;
	if (cls == CKO_SECRET_KEY) {
		k->type = kt == CKK_AES ? HSM_KEY_AES_256 :
		    kt == CKK_GENERIC_SECRET ? HSM_KEY_HMAC_SHA256 :
		    HSM_KEY_NONE;
	} else {
		rv = find_one(h, s, CKO_PUBLIC_KEY, NULL, k->id, k->id_len, 0,
		    &pub);
		if (rv != CKR_OK) {
			rc = rv == FIND_NONE ? HSM_ERR_NO_KEY : find_rc(rv);
			goto fail;
		}
		k->pub = hsm_pub_from_token(h, s, pub, kt, &k->type);
		if (k->pub == NULL) {
			rc = HSM_ERR_UNSUPPORTED;
			goto fail;
		}
	}
	if (k->type == HSM_KEY_NONE) {
		rc = HSM_ERR_UNSUPPORTED;
		goto fail;
	}
	if ((rv = copy_to_session(h, k)) != CKR_OK) {
		rc = hsm_ckr_to_rc(rv);
		goto fail;
	}
	if ((rc = hsm_evp_bind(k)) != HSM_OK)
		goto fail;
	k->gen = h->gen;
	*out = k;
	return HSM_OK;
fail:
	if (rv != CKR_OK) {
		h->last_ckr = rv;
		h->last_func = "C_GetAttributeValue";
	}
	hsm_key_drop_copy(h, k);
	EVP_PKEY_free(k->pub);
	EVP_PKEY_free(k->evp);
	free(k);
out:
	return rc;
}

static void
key_register(struct hsm *h, struct hsm_key *k)
{
	k->next = h->keys;
	if (h->keys != NULL)
		h->keys->prev = k;
	h->keys = k;
}

static int
find_locked(struct hsm *h, const char *label, const uint8_t *id,
    size_t id_len, struct hsm_key **out)
{
	struct hsm_op op;
	CK_OBJECT_HANDLE obj;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_RV rv;
	int rc;

	if ((rc = hsm_op_begin(h, NULL, &op)) != HSM_OK)
		return rc;
	rv = find_one(h, op.s, cls, label, id, id_len, 1, &obj);
	if (rv == FIND_NONE) {
		cls = CKO_SECRET_KEY;
		rv = find_one(h, op.s, cls, label, id, id_len, 1, &obj);
	}
	if (rv == FIND_NONE || rv == FIND_MANY) {
		hsm_op_end(h, &op, CKR_OK, "C_FindObjects");
		return rv == FIND_NONE ? HSM_ERR_NO_KEY : HSM_ERR_EXISTS;
	}
	if (rv == CKR_OK) {
		rc = key_load(h, op.s, obj, cls, out);
		if (rc == HSM_OK)
			key_register(h, *out);
	}
	rc = hsm_op_end(h, &op, rv, "C_FindObjects") == HSM_OK ? rc :
	    hsm_ckr_to_rc(rv);
	return rc;
}

int
hsm_key_find(struct hsm *h, const char *label, const uint8_t *id,
    size_t id_len, struct hsm_key **out)
{
	int rc;

	if (h == NULL || out == NULL || (label == NULL && id == NULL) ||
	    id_len > HSM_MAX_ID || (label && strlen(label) > HSM_MAX_LABEL))
		return HSM_ERR_ARG;
	pthread_mutex_lock(&h->keys_mu);
	rc = find_locked(h, label, id, id_len, out);
	pthread_mutex_unlock(&h->keys_mu);
	return rc;
}

int
hsm_key_find_uri(struct hsm *h, const char *uri, struct hsm_key **out)
{
	struct hsm_uri u;
	int rc;

	if (uri == NULL)
		return HSM_ERR_ARG;
	if ((rc = hsm_uri_parse((const uint8_t *)uri, strlen(uri), &u)) != 0)
		return rc;
	if (!(u.present & (HSM_URI_OBJECT | HSM_URI_ID)))
		return HSM_ERR_URI;
	return hsm_key_find(h, (u.present & HSM_URI_OBJECT) ? u.object : NULL,
	    (u.present & HSM_URI_ID) ? u.id : NULL, u.id_len, out);
}

void
hsm_key_free(struct hsm_key *k)
{
	struct hsm *h;

	if (k == NULL)
		return;
	h = k->hsm;
	pthread_mutex_lock(&h->keys_mu);
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		h->keys = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	hsm_key_drop_copy(h, k);
	pthread_mutex_unlock(&h->keys_mu);
	EVP_PKEY_free(k->evp);
	EVP_PKEY_free(k->pub);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

enum hsm_key_type
hsm_key_type(const struct hsm_key *k)
{
	return k->type;
}

const char *
hsm_key_label(const struct hsm_key *k)
{
	return k->label;
}

const uint8_t *
hsm_key_id(const struct hsm_key *k, size_t *len)
{
	*len = k->id_len;
	return k->id;
}

EVP_PKEY *
hsm_key_public(const struct hsm_key *k)
{
	return k->pub;
}

EVP_PKEY *
hsm_key_evp(struct hsm_key *k)
{
	return k->evp;
}

/* Generation. */

struct keygen_tmpl {
	CK_ATTRIBUTE pub[10], priv[16];
	CK_ULONG npub, npriv;
	CK_MECHANISM mech;
	CK_ULONG bits, aes_len;
	CK_BYTE exp[3];
	CK_KEY_TYPE kt;
	CK_OBJECT_CLASS pcls, scls;
};

#define ADD(arr, n, t, p, l) ((arr)[(n)++] = (CK_ATTRIBUTE){ t, (void *)(p), l })

static int
keygen_tmpl(const struct hsm_keygen *req, const uint8_t *id, size_t id_len,
    struct keygen_tmpl *t)
{
	int backup = (req->flags & HSM_KEYGEN_BACKUP) != 0;
	size_t ll = strlen(req->label);

	memset(t, 0, sizeof(*t));
	t->kt = key_ck_type(req->type);
	t->pcls = CKO_PRIVATE_KEY;
	t->scls = CKO_SECRET_KEY;
	ADD(t->pub, t->npub, CKA_TOKEN, &ck_true, 1);
	ADD(t->pub, t->npub, CKA_PRIVATE, &ck_false, 1);
	ADD(t->pub, t->npub, CKA_VERIFY, &ck_true, 1);
	ADD(t->pub, t->npub, CKA_LABEL, req->label, ll);
	ADD(t->pub, t->npub, CKA_ID, id, id_len);
	ADD(t->priv, t->npriv, CKA_TOKEN, &ck_true, 1);
	ADD(t->priv, t->npriv, CKA_PRIVATE, &ck_true, 1);
	ADD(t->priv, t->npriv, CKA_SENSITIVE, &ck_true, 1);
	/* Rule 1: a key leaves the token only wrapped by a trusted key. */
	ADD(t->priv, t->npriv, CKA_EXTRACTABLE, backup ? &ck_true : &ck_false, 1);
	if (backup)
		ADD(t->priv, t->npriv, CKA_WRAP_WITH_TRUSTED, &ck_true, 1);
	ADD(t->priv, t->npriv, CKA_LABEL, req->label, ll);
	ADD(t->priv, t->npriv, CKA_ID, id, id_len);
	switch (req->type) {
	case HSM_KEY_EC_P256:
	case HSM_KEY_EC_P384:
	case HSM_KEY_ED25519:
		t->mech.mechanism = req->type == HSM_KEY_ED25519 ?
		    CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN;
		if (req->type == HSM_KEY_EC_P256)
			ADD(t->pub, t->npub, CKA_EC_PARAMS, oid_p256,
			    sizeof(oid_p256));
		else if (req->type == HSM_KEY_EC_P384)
			ADD(t->pub, t->npub, CKA_EC_PARAMS, oid_p384,
			    sizeof(oid_p384));
		else
			ADD(t->pub, t->npub, CKA_EC_PARAMS, oid_ed25519,
			    sizeof(oid_ed25519));
		ADD(t->priv, t->npriv, CKA_SIGN, &ck_true, 1);
		/* A CA key signs and does nothing else (SoftHSM defaults
		 * CKA_SIGN_RECOVER to true; pkcs11-tool 0.26 shows it). */
		ADD(t->priv, t->npriv, CKA_SIGN_RECOVER, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_DERIVE, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_DECRYPT, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_UNWRAP, &ck_false, 1);
		return HSM_OK;
	case HSM_KEY_RSA_2048:
	case HSM_KEY_RSA_3072:
	case HSM_KEY_RSA_4096:
		t->mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		t->bits = req->type == HSM_KEY_RSA_2048 ? 2048 :
		    req->type == HSM_KEY_RSA_3072 ? 3072 : 4096;
		t->exp[0] = 0x01;
		t->exp[1] = 0x00;
		t->exp[2] = 0x01;
		ADD(t->pub, t->npub, CKA_MODULUS_BITS, &t->bits, sizeof(t->bits));
		ADD(t->pub, t->npub, CKA_PUBLIC_EXPONENT, t->exp, 3);
		ADD(t->priv, t->npriv, CKA_SIGN, &ck_true, 1);
		ADD(t->priv, t->npriv, CKA_SIGN_RECOVER, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_DECRYPT, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_UNWRAP, &ck_false, 1);
		return HSM_OK;
	case HSM_KEY_AES_256:
		t->mech.mechanism = CKM_AES_KEY_GEN;
		t->aes_len = 32;
		/* The KEK wraps and unwraps and does nothing else. */
		t->npriv = 0;
		ADD(t->priv, t->npriv, CKA_CLASS, &t->scls, sizeof(t->scls));
		ADD(t->priv, t->npriv, CKA_KEY_TYPE, &t->kt, sizeof(t->kt));
		ADD(t->priv, t->npriv, CKA_TOKEN, &ck_true, 1);
		ADD(t->priv, t->npriv, CKA_PRIVATE, &ck_true, 1);
		ADD(t->priv, t->npriv, CKA_SENSITIVE, &ck_true, 1);
		ADD(t->priv, t->npriv, CKA_EXTRACTABLE, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_WRAP, &ck_true, 1);
		ADD(t->priv, t->npriv, CKA_UNWRAP, &ck_true, 1);
		ADD(t->priv, t->npriv, CKA_ENCRYPT, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_DECRYPT, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_VALUE_LEN, &t->aes_len,
		    sizeof(t->aes_len));
		ADD(t->priv, t->npriv, CKA_LABEL, req->label, ll);
		ADD(t->priv, t->npriv, CKA_ID, id, id_len);
		return HSM_OK;
	case HSM_KEY_HMAC_SHA256:
		/* A MAC key signs (CKM_SHA256_HMAC) and never leaves. */
		if (backup)
			return HSM_ERR_ARG;
		t->mech.mechanism = CKM_GENERIC_SECRET_KEY_GEN;
		t->aes_len = HSM_HMAC_LEN;
		t->npriv = 0;
		ADD(t->priv, t->npriv, CKA_CLASS, &t->scls, sizeof(t->scls));
		ADD(t->priv, t->npriv, CKA_KEY_TYPE, &t->kt, sizeof(t->kt));
		ADD(t->priv, t->npriv, CKA_TOKEN, &ck_true, 1);
		ADD(t->priv, t->npriv, CKA_PRIVATE, &ck_true, 1);
		ADD(t->priv, t->npriv, CKA_SENSITIVE, &ck_true, 1);
		ADD(t->priv, t->npriv, CKA_EXTRACTABLE, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_SIGN, &ck_true, 1);
		ADD(t->priv, t->npriv, CKA_VERIFY, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_ENCRYPT, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_DECRYPT, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_WRAP, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_UNWRAP, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_DERIVE, &ck_false, 1);
		ADD(t->priv, t->npriv, CKA_VALUE_LEN, &t->aes_len,
		    sizeof(t->aes_len));
		ADD(t->priv, t->npriv, CKA_LABEL, req->label, ll);
		ADD(t->priv, t->npriv, CKA_ID, id, id_len);
		return HSM_OK;
	default:
		return HSM_ERR_ARG;
	}
}

static int
generate_locked(struct hsm *h, const struct hsm_keygen *req,
    const uint8_t *id, size_t id_len, struct hsm_key **out)
{
	struct keygen_tmpl t;
	struct hsm_op op;
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	CK_RV rv = CKR_OK;
	int rc, secret = req->type == HSM_KEY_AES_256 ||
	    req->type == HSM_KEY_HMAC_SHA256;

	if ((rc = keygen_tmpl(req, id, id_len, &t)) != HSM_OK)
		return rc;
	if ((rc = hsm_op_begin(h, NULL, &op)) != HSM_OK)
		return rc;
	/* Refuse a label or id in use: lookups must stay unambiguous. */
	if (find_one(h, op.s, CKO_PRIVATE_KEY, req->label, NULL, 0, 1,
	    &priv) != FIND_NONE ||
	    find_one(h, op.s, CKO_SECRET_KEY, req->label, NULL, 0, 1,
	    &priv) != FIND_NONE ||
	    find_one(h, op.s, CKO_PRIVATE_KEY, NULL, id, id_len, 1,
	    &priv) != FIND_NONE) {
		hsm_op_end(h, &op, CKR_OK, "C_FindObjects");
		return HSM_ERR_EXISTS;
	}
	if (secret)
		rv = CALL(h, C_GenerateKey, op.s, &t.mech, t.priv, t.npriv,
		    &priv);
	else
		rv = CALL(h, C_GenerateKeyPair, op.s, &t.mech, t.pub, t.npub,
		    t.priv, t.npriv, &pub, &priv);
	if (rv == CKR_OK)
		rc = key_load(h, op.s, priv, secret ? CKO_SECRET_KEY :
		    CKO_PRIVATE_KEY, out);
	if (rv == CKR_OK && rc == HSM_OK)
		key_register(h, *out);
	if (hsm_op_end(h, &op, rv, secret ? "C_GenerateKey" :
	    "C_GenerateKeyPair") != HSM_OK)
		return hsm_ckr_to_rc(rv);
	return rc;
}

int
hsm_key_generate(struct hsm *h, const struct hsm_keygen *req,
    struct hsm_key **out)
{
	uint8_t rid[16];
	const uint8_t *id;
	size_t id_len;
	int rc;

	if (h == NULL || req == NULL || out == NULL || req->label == NULL ||
	    *req->label == '\0' || strlen(req->label) > HSM_MAX_LABEL ||
	    req->id_len > HSM_MAX_ID || (req->id != NULL && req->id_len == 0))
		return HSM_ERR_ARG;
	id = req->id;
	id_len = req->id_len;
	if (id == NULL) {
		if (RAND_bytes(rid, sizeof(rid)) != 1)
			return HSM_ERR_CRYPTO;
		id = rid;
		id_len = sizeof(rid);
	}
	pthread_mutex_lock(&h->keys_mu);
	rc = generate_locked(h, req, id, id_len, out);
	pthread_mutex_unlock(&h->keys_mu);
	/* The token wrote a new file without fsync: keep a durable copy. */
	if (rc == HSM_OK)
		(void)hsm_token_guard(NULL, NULL);
	return rc;
}
