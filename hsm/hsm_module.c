/*
 * Loading a PKCS#11 module, finding the token, opening and closing the
 * hsm context, and bringing the token up (at open and after every fault).
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsm_local.h"

int
hsm_module_load(const char *path, void **dl, CK_FUNCTION_LIST_PTR *p11)
{
	CK_RV (*getlist)(CK_FUNCTION_LIST_PTR_PTR);
	void *h;

	/* RTLD_LOCAL keeps the module's symbols from clashing with ours;
	 * RTLD_NODELETE keeps it mapped after dlclose, because modules leave
	 * atexit handlers and threads behind that must not outlive it. */
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL)
		return HSM_ERR_MODULE;
	*(void **)(&getlist) = dlsym(h, "C_GetFunctionList");
	if (getlist == NULL || getlist(p11) != CKR_OK || *p11 == NULL) {
		dlclose(h);
		return HSM_ERR_MODULE;
	}
	*dl = h;
	return HSM_OK;
}

int
hsm_p11_initialize(CK_FUNCTION_LIST_PTR p11)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	/* SoftHSM reads its token files now: put damaged ones right first. */
	(void)hsm_token_guard(NULL, NULL);
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = p11->C_Initialize(&args);
	if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return HSM_OK;
	return HSM_ERR_MODULE;
}

/* Copies a space-padded PKCS#11 string into a NUL-terminated one. */
void
hsm_padded(char *dst, size_t dstsz, const CK_UTF8CHAR *src, size_t n)
{
	while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
		n--;
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
token_matches(const struct hsm *h, const CK_TOKEN_INFO *ti)
{
	char label[33], serial[17], manu[33], model[17];

	if (!(ti->flags & CKF_TOKEN_INITIALIZED))
		return 0;
	hsm_padded(label, sizeof(label), ti->label, sizeof(ti->label));
	hsm_padded(serial, sizeof(serial), ti->serialNumber,
	    sizeof(ti->serialNumber));
	hsm_padded(manu, sizeof(manu), ti->manufacturerID,
	    sizeof(ti->manufacturerID));
	hsm_padded(model, sizeof(model), ti->model, sizeof(ti->model));
	if (h->token_label && strcmp(h->token_label, label) != 0)
		return 0;
	if (h->token_serial && strcmp(h->token_serial, serial) != 0)
		return 0;
	if (h->have_uri) {
		const struct hsm_uri *u = &h->uri;

		if ((u->present & HSM_URI_TOKEN) && strcmp(u->token, label))
			return 0;
		if ((u->present & HSM_URI_SERIAL) && strcmp(u->serial, serial))
			return 0;
		if ((u->present & HSM_URI_MANUFACTURER) &&
		    strcmp(u->manufacturer, manu))
			return 0;
		if ((u->present & HSM_URI_MODEL) && strcmp(u->model, model))
			return 0;
	}
	return 1;
}

static CK_RV
find_slot(struct hsm *h, CK_SLOT_ID *slot)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO ti;
	CK_RV rv;

	rv = h->p11->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK)
		return rv;
	for (i = 0; i < n; i++) {
		if (h->p11->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (token_matches(h, &ti)) {
			*slot = slots[i];
			return CKR_OK;
		}
	}
	return CKR_TOKEN_NOT_PRESENT;
}

/* Closes every session and finalises the module; handles become stale. */
void
hsm_teardown(struct hsm *h)
{
	unsigned i;

	if (!h->initialized)
		return;
	for (i = 0; i < h->nsess; i++)
		(void)h->p11->C_CloseSession(h->sess[i]);
	if (h->holder != CK_INVALID_HANDLE)
		(void)h->p11->C_CloseSession(h->holder);
	h->holder = CK_INVALID_HANDLE;
	h->nsess = h->nfree = h->nquickfree = 0;
	(void)h->p11->C_Finalize(NULL);
	h->initialized = 0;
}

static int
record(struct hsm *h, CK_RV rv, const char *func)
{
	h->last_ckr = rv;
	h->last_func = func;
	return hsm_ckr_to_rc(rv);
}

/*
 * Initialises the module, finds the token, opens the holder, pool and
 * quick sessions, logs in and re-finds every registered key.  Called with no
 * session checked out (at open, or by the recovery thread while down).
 */
int
hsm_bringup(struct hsm *h)
{
	CK_SESSION_HANDLE s;
	struct hsm_key *k;
	CK_RV rv;
	unsigned i;
	int rc;

	hsm_teardown(h);
	if ((rc = hsm_p11_initialize(h->p11)) != HSM_OK) {
		h->last_func = "C_Initialize";
		return rc;
	}
	h->initialized = 1;
	if ((rv = find_slot(h, &h->slot)) != CKR_OK) {
		record(h, rv, "C_GetSlotList");
		return HSM_ERR_NO_TOKEN;
	}
	rv = h->p11->C_OpenSession(h->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &h->holder);
	if (rv != CKR_OK)
		return record(h, rv, "C_OpenSession");
	rv = h->p11->C_Login(h->holder, CKU_USER, (CK_UTF8CHAR_PTR)h->pin,
	    h->pin_len);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		return record(h, rv, "C_Login");
	/* The shared pool, then the sessions reserved for quick operations. */
	for (i = 0; i < h->pool_size + HSM_QUICK_SESSIONS; i++) {
		rv = h->p11->C_OpenSession(h->slot,
		    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
		if (rv != CKR_OK)
			return record(h, rv, "C_OpenSession");
		h->sess[h->nsess++] = s;
		if (i < h->pool_size)
			h->freelist[h->nfree++] = s;
		else
			h->quickfree[h->nquickfree++] = s;
	}
	for (k = h->keys; k != NULL; k = k->next)
		if ((rc = hsm_key_refind(h, k, h->sess[0])) != HSM_OK)
			return rc;
	return HSM_OK;
}

static int
config_copy(struct hsm *h, const struct hsm_config *cfg)
{
	if ((h->module_path = strdup(cfg->module)) == NULL)
		return HSM_ERR_NOMEM;
	if (cfg->token_label &&
	    (h->token_label = strdup(cfg->token_label)) == NULL)
		return HSM_ERR_NOMEM;
	if (cfg->token_serial &&
	    (h->token_serial = strdup(cfg->token_serial)) == NULL)
		return HSM_ERR_NOMEM;
	if (cfg->token_uri) {
		if (hsm_uri_parse((const uint8_t *)cfg->token_uri,
		    strlen(cfg->token_uri), &h->uri) != HSM_OK)
			return HSM_ERR_URI;
		h->have_uri = 1;
	}
	h->pool_size = cfg->pool_size ? cfg->pool_size : 4;
	if (h->pool_size > HSM_MAX_POOL)
		return HSM_ERR_ARG;
	h->session_keys = cfg->session_keys;
	h->backoff_min_ms = cfg->backoff_min_ms ? cfg->backoff_min_ms : 50;
	h->backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : 1000;
	if (h->backoff_max_ms < h->backoff_min_ms)
		h->backoff_max_ms = h->backoff_min_ms;
	h->acquire_ms = cfg->acquire_ms ? cfg->acquire_ms : 5000;
	return HSM_OK;
}

int
hsm_open(const struct hsm_config *cfg, char *pin, size_t pinlen,
    struct hsm **out)
{
	struct hsm *h = NULL;
	int rc = HSM_ERR_ARG;

	if (cfg == NULL || cfg->module == NULL || pin == NULL || out == NULL ||
	    pinlen == 0 || pinlen > HSM_MAX_PIN)
		goto out;
	rc = HSM_ERR_NOMEM;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto out;
	h->holder = CK_INVALID_HANDLE;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->keys_mu, NULL);
	if ((rc = config_copy(h, cfg)) != HSM_OK)
		goto out;
	if ((rc = hsm_pin_store(h, pin, pinlen)) != HSM_OK)
		goto out;
	if ((rc = hsm_module_load(h->module_path, &h->dl, &h->p11)) != HSM_OK)
		goto out;
	if ((rc = hsm_bringup(h)) != HSM_OK)
		goto out;
	if ((rc = hsm_pool_start(h)) != HSM_OK)
		goto out;
	*out = h;
	h = NULL;
out:
	OPENSSL_cleanse(pin, pinlen);
	if (h != NULL)
		hsm_close(h);
	return rc;
}

void
hsm_close(struct hsm *h)
{
	if (h == NULL)
		return;
	hsm_pool_stop(h);
	while (h->keys != NULL)
		hsm_key_free(h->keys);
	hsm_teardown(h);
	if (h->dl != NULL)
		dlclose(h->dl);
	hsm_pin_wipe(h);
	free(h->module_path);
	free(h->token_label);
	free(h->token_serial);
	pthread_mutex_destroy(&h->mu);
	pthread_mutex_destroy(&h->keys_mu);
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
}

int
hsm_token_info(struct hsm *h, struct hsm_token_info *info)
{
	CK_TOKEN_INFO ti;
	CK_RV rv;

	if (h == NULL || info == NULL)
		return HSM_ERR_ARG;
	pthread_mutex_lock(&h->mu);
	rv = h->state == HSM_STATE_UP ?
	    h->p11->C_GetTokenInfo(h->slot, &ti) : CKR_TOKEN_NOT_PRESENT;
	pthread_mutex_unlock(&h->mu);
	if (rv != CKR_OK)
		return hsm_ckr_to_rc(rv);
	memset(info, 0, sizeof(*info));
	hsm_padded(info->label, sizeof(info->label), ti.label, sizeof(ti.label));
	hsm_padded(info->serial, sizeof(info->serial), ti.serialNumber,
	    sizeof(ti.serialNumber));
	hsm_padded(info->manufacturer, sizeof(info->manufacturer),
	    ti.manufacturerID, sizeof(ti.manufacturerID));
	hsm_padded(info->model, sizeof(info->model), ti.model,
	    sizeof(ti.model));
	info->slot = h->slot;
	return HSM_OK;
}

/* Finds a slot whose token has the label, or else a token-less slot. */
static CK_RV
init_slot(CK_FUNCTION_LIST_PTR p11, const char *label, CK_SLOT_ID *slot,
    int want_initialised)
{
	CK_SLOT_ID slots[128];
	CK_ULONG n = 128, i;
	CK_TOKEN_INFO ti;
	char l[33];
	CK_RV rv;

	if ((rv = p11->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return rv;
	for (i = 0; i < n; i++) {
		if (p11->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		hsm_padded(l, sizeof(l), ti.label, sizeof(ti.label));
		if (want_initialised) {
			if ((ti.flags & CKF_TOKEN_INITIALIZED) &&
			    strcmp(l, label) == 0) {
				*slot = slots[i];
				return CKR_OK;
			}
		} else if (!(ti.flags & CKF_TOKEN_INITIALIZED)) {
			*slot = slots[i];
			return CKR_OK;
		}
	}
	return CKR_TOKEN_NOT_PRESENT;
}

int
hsm_token_init(const char *module, const char *label, const char *so_pin,
    const char *user_pin)
{
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_UTF8CHAR padded[32];
	CK_SLOT_ID slot;
	void *dl = NULL;
	int rc, inited = 0;
	CK_RV rv;

	if (module == NULL || label == NULL || so_pin == NULL ||
	    user_pin == NULL || strlen(label) > sizeof(padded))
		return HSM_ERR_ARG;
	if ((rc = hsm_module_load(module, &dl, &p11)) != HSM_OK)
		return rc;
	if ((rc = hsm_p11_initialize(p11)) != HSM_OK)
		goto out;
	inited = 1;
	rc = HSM_ERR_NO_TOKEN;
	if (init_slot(p11, label, &slot, 0) != CKR_OK)
		goto out;
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, label, strlen(label));
	rv = p11->C_InitToken(slot, (CK_UTF8CHAR_PTR)so_pin, strlen(so_pin),
	    padded);
	if (rv != CKR_OK) {
		rc = hsm_ckr_to_rc(rv);
		goto out;
	}
	/* SoftHSMv2 gives an initialised token a new slot id: look again. */
	if (init_slot(p11, label, &slot, 1) != CKR_OK)
		goto out;
	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &s);
	if (rv == CKR_OK)
		rv = p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)so_pin,
		    strlen(so_pin));
	if (rv == CKR_OK)
		rv = p11->C_InitPIN(s, (CK_UTF8CHAR_PTR)user_pin,
		    strlen(user_pin));
	if (rv == CKR_OK)
		(void)p11->C_Logout(s);
	rc = rv == CKR_OK ? HSM_OK : hsm_ckr_to_rc(rv);
out:
	if (s != CK_INVALID_HANDLE)
		(void)p11->C_CloseSession(s);
	if (inited)
		(void)p11->C_Finalize(NULL);
	dlclose(dl);
	/* The new token's files were written without fsync: copy them. */
	if (rc == HSM_OK)
		(void)hsm_token_guard(NULL, NULL);
	return rc;
}
