/*
 * Security Officer operations for the offline ceremony: making and
 * removing the trusted key-encryption key that alone may wrap the root
 * key.  Each call is self-contained (load, initialise, SO login, act,
 * logout, finalise) because the SO and the user cannot be logged in at
 * the same time and C_Finalize affects the whole process.
 */
#include <dlfcn.h>
#include <string.h>

#include "hsm_local.h"

struct so_session {
	void *dl;
	CK_FUNCTION_LIST_PTR p11;
	CK_SESSION_HANDLE s;
	int inited, logged_in;
};

static int
so_find_slot(CK_FUNCTION_LIST_PTR p11, const char *label, CK_SLOT_ID *slot)
{
	CK_SLOT_ID slots[128];
	CK_ULONG n = 128, i;
	CK_TOKEN_INFO ti;
	char l[33];

	if (p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return HSM_ERR_MODULE;
	for (i = 0; i < n; i++) {
		if (p11->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		hsm_padded(l, sizeof(l), ti.label, sizeof(ti.label));
		if (strcmp(l, label) == 0) {
			*slot = slots[i];
			return HSM_OK;
		}
	}
	return HSM_ERR_NO_TOKEN;
}

static void
so_close(struct so_session *ss)
{
	if (ss->logged_in)
		(void)ss->p11->C_Logout(ss->s);
	if (ss->s != CK_INVALID_HANDLE)
		(void)ss->p11->C_CloseSession(ss->s);
	if (ss->inited)
		(void)ss->p11->C_Finalize(NULL);
	if (ss->dl != NULL)
		dlclose(ss->dl);
	/* Copies of what the SO made (or put right) are durable now. */
	if (ss->inited)
		(void)hsm_token_guard(NULL, NULL);
	memset(ss, 0, sizeof(*ss));
}

static int
so_open(struct so_session *ss, const char *module, const char *token_label,
    const char *so_pin, size_t so_pin_len)
{
	CK_C_INITIALIZE_ARGS args;
	CK_SLOT_ID slot;
	CK_RV rv;
	int rc;

	memset(ss, 0, sizeof(*ss));
	ss->s = CK_INVALID_HANDLE;
	if (module == NULL || token_label == NULL || so_pin == NULL ||
	    so_pin_len == 0 || so_pin_len > HSM_MAX_PIN)
		return HSM_ERR_ARG;
	if ((rc = hsm_module_load(module, &ss->dl, &ss->p11)) != HSM_OK)
		return rc;
	(void)hsm_token_guard(NULL, NULL);
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = ss->p11->C_Initialize(&args);
	/* Someone else's session would die with our C_Finalize: refuse. */
	if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		rc = HSM_ERR_BUSY;
		goto fail;
	}
	if (rv != CKR_OK) {
		rc = HSM_ERR_MODULE;
		goto fail;
	}
	ss->inited = 1;
	if ((rc = so_find_slot(ss->p11, token_label, &slot)) != HSM_OK)
		goto fail;
	rv = ss->p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &ss->s);
	if (rv == CKR_OK)
		rv = ss->p11->C_Login(ss->s, CKU_SO, (CK_UTF8CHAR_PTR)so_pin,
		    so_pin_len);
	if (rv != CKR_OK) {
		rc = hsm_ckr_to_rc(rv);
		goto fail;
	}
	ss->logged_in = 1;
	return HSM_OK;
fail:
	so_close(ss);
	return rc;
}

/* Fills the template of a trusted KEK; value NULL for generation. */
static CK_ULONG
kek_template(CK_ATTRIBUTE *t, const char *label, CK_OBJECT_CLASS *cls,
    CK_KEY_TYPE *kt, CK_ULONG *vlen, const uint8_t *value)
{
	CK_ULONG n = 0;

	t[n++] = (CK_ATTRIBUTE){ CKA_CLASS, cls, sizeof(*cls) };
	t[n++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, kt, sizeof(*kt) };
	t[n++] = (CK_ATTRIBUTE){ CKA_TOKEN, (void *)&ck_true, 1 };
	/* Public, so that the user session that wraps can see it. */
	t[n++] = (CK_ATTRIBUTE){ CKA_PRIVATE, (void *)&ck_false, 1 };
	t[n++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, (void *)&ck_true, 1 };
	t[n++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, (void *)&ck_false, 1 };
	t[n++] = (CK_ATTRIBUTE){ CKA_WRAP, (void *)&ck_true, 1 };
	t[n++] = (CK_ATTRIBUTE){ CKA_UNWRAP, (void *)&ck_true, 1 };
	t[n++] = (CK_ATTRIBUTE){ CKA_ENCRYPT, (void *)&ck_false, 1 };
	t[n++] = (CK_ATTRIBUTE){ CKA_DECRYPT, (void *)&ck_false, 1 };
	t[n++] = (CK_ATTRIBUTE){ CKA_TRUSTED, (void *)&ck_true, 1 };
	t[n++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	if (value != NULL)
		t[n++] = (CK_ATTRIBUTE){ CKA_VALUE, (void *)value, *vlen };
	else
		t[n++] = (CK_ATTRIBUTE){ CKA_VALUE_LEN, vlen, sizeof(*vlen) };
	return n;
}

static int
kek_find(struct so_session *ss, const char *label, CK_OBJECT_HANDLE *objs,
    CK_ULONG max, CK_ULONG *n)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, (void *)&ck_true, 1 },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_RV rv;

	*n = 0;
	if ((rv = ss->p11->C_FindObjectsInit(ss->s, t, 3)) != CKR_OK)
		return hsm_ckr_to_rc(rv);
	rv = ss->p11->C_FindObjects(ss->s, objs, max, n);
	(void)ss->p11->C_FindObjectsFinal(ss->s);
	return rv == CKR_OK ? HSM_OK : hsm_ckr_to_rc(rv);
}

static int
kek_make(const char *module, const char *token_label, const char *so_pin,
    size_t so_pin_len, const char *label, const uint8_t *kek, size_t kek_len)
{
	struct so_session ss;
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG vlen = 32, nt, n;
	CK_ATTRIBUTE t[14];
	CK_OBJECT_HANDLE obj;
	CK_RV rv;
	int rc;

	if (label == NULL || *label == '\0' || strlen(label) > HSM_MAX_LABEL ||
	    (kek != NULL && kek_len != 32))
		return HSM_ERR_ARG;
	if ((rc = so_open(&ss, module, token_label, so_pin, so_pin_len)) !=
	    HSM_OK)
		return rc;
	/* Labels name keys unambiguously: refuse a second one. */
	if ((rc = kek_find(&ss, label, &obj, 1, &n)) != HSM_OK)
		goto out;
	if (n != 0) {
		rc = HSM_ERR_EXISTS;
		goto out;
	}
	nt = kek_template(t, label, &cls, &kt, &vlen, kek);
	if (kek != NULL)
		rv = ss.p11->C_CreateObject(ss.s, t, nt, &obj);
	else
		rv = ss.p11->C_GenerateKey(ss.s, &mech, t, nt, &obj);
	rc = rv == CKR_OK ? HSM_OK : hsm_ckr_to_rc(rv);
out:
	so_close(&ss);
	return rc;
}

int
hsm_so_kek_generate(const char *module, const char *token_label,
    const char *so_pin, size_t so_pin_len, const char *label)
{
	return kek_make(module, token_label, so_pin, so_pin_len, label, NULL,
	    0);
}

int
hsm_so_kek_import(const char *module, const char *token_label,
    const char *so_pin, size_t so_pin_len, const char *label,
    const uint8_t *kek, size_t kek_len)
{
	if (kek == NULL)
		return HSM_ERR_ARG;
	return kek_make(module, token_label, so_pin, so_pin_len, label, kek,
	    kek_len);
}

int
hsm_so_kek_destroy(const char *module, const char *token_label,
    const char *so_pin, size_t so_pin_len, const char *label)
{
	struct so_session ss;
	CK_OBJECT_HANDLE objs[8];
	CK_ULONG n, i;
	CK_RV rv = CKR_OK;
	int rc;

	if (label == NULL || *label == '\0' || strlen(label) > HSM_MAX_LABEL)
		return HSM_ERR_ARG;
	if ((rc = so_open(&ss, module, token_label, so_pin, so_pin_len)) !=
	    HSM_OK)
		return rc;
	if ((rc = kek_find(&ss, label, objs, 8, &n)) != HSM_OK)
		goto out;
	rc = n == 0 ? HSM_ERR_NO_KEY : HSM_OK;
	for (i = 0; i < n && rv == CKR_OK; i++)
		rv = ss.p11->C_DestroyObject(ss.s, objs[i]);
	if (rv != CKR_OK)
		rc = hsm_ckr_to_rc(rv);
out:
	so_close(&ss);
	return rc;
}

int
hsm_so_token_present(const char *module, const char *token_label)
{
	CK_C_INITIALIZE_ARGS args;
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SLOT_ID slot;
	void *dl = NULL;
	CK_RV rv;
	int rc;

	if (module == NULL || token_label == NULL)
		return HSM_ERR_ARG;
	if ((rc = hsm_module_load(module, &dl, &p11)) != HSM_OK)
		return rc;
	(void)hsm_token_guard(NULL, NULL);
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = p11->C_Initialize(&args);
	if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
		rc = HSM_ERR_BUSY;
	else if (rv != CKR_OK)
		rc = HSM_ERR_MODULE;
	else {
		rc = so_find_slot(p11, token_label, &slot);
		(void)p11->C_Finalize(NULL);
	}
	dlclose(dl);
	return rc;
}
