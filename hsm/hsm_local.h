/*
 * Internals of hsm/, shared by its files only.
 */
#ifndef SIGNET_HSM_LOCAL_H
#define SIGNET_HSM_LOCAL_H

#include <pthread.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "signet/hsm.h"

/* A call through the module's function list. */
#define CALL(h, fn, ...) ((h)->p11->fn(__VA_ARGS__))

/* Attribute values for CK_BBOOL templates (pointed at, never written). */
static const CK_BBOOL ck_true = CK_TRUE, ck_false = CK_FALSE;

struct hsm_key {
	struct hsm *hsm;
	enum hsm_key_type type;
	CK_OBJECT_CLASS cls;
	char label[HSM_MAX_LABEL + 1];
	uint8_t id[HSM_MAX_ID];
	size_t id_len;
	/* Handles of the current generation; written only while down. */
	CK_OBJECT_HANDLE priv;
	CK_OBJECT_HANDLE sess_priv; /* session copy, 0 if none */
	uint64_t gen;
	EVP_PKEY *pub;
	EVP_PKEY *evp;
	struct hsm_key *next;
	struct hsm_key *prev;
};

struct hsm {
	char *module_path;
	char *token_label;
	char *token_serial;
	struct hsm_uri uri;
	int have_uri;
	unsigned pool_size;
	int session_keys;
	unsigned backoff_min_ms, backoff_max_ms, acquire_ms;

	void *dl;
	CK_FUNCTION_LIST_PTR p11;
	int initialized;
	CK_SLOT_ID slot;

	/* The PIN, in a locked page excluded from core dumps. */
	char *pin;
	size_t pin_len;
	size_t pin_map;

	pthread_mutex_t mu;
	pthread_cond_t free_cv;	   /* a session came back or state changed */
	pthread_cond_t quick_cv;   /* the same, for quick operations */
	pthread_cond_t idle_cv;	   /* no session is checked out */
	pthread_cond_t recover_cv; /* the recovery thread has work */
	CK_SESSION_HANDLE holder;  /* owns the session copies of keys */
	CK_SESSION_HANDLE sess[HSM_MAX_POOL + HSM_QUICK_SESSIONS];
	CK_SESSION_HANDLE freelist[HSM_MAX_POOL];
	/* The sessions only quick operations take (hsm_op_begin_quick):
	 * opened and closed with the pool, free ones here. */
	CK_SESSION_HANDLE quickfree[HSM_QUICK_SESSIONS];
	unsigned nsess, nfree, nquickfree, outstanding;
	unsigned quick_waiting; /* threads waiting in hsm_op_begin_quick */
	unsigned quick_busy;	/* quick sessions checked out */
	uint64_t gen;
	int state; /* enum hsm_state, read under mu */
	int stopping;
	pthread_t thr;
	int thr_started;

	/* Status, under mu. */
	unsigned long last_ckr;
	int last_rc;
	const char *last_func;
	uint64_t faults, recoveries, attempts;
	int64_t down_since;
	uint64_t signatures; /* atomic */
	uint64_t sign_count[HSM_SIGN_BUCKETS];	/* atomic */
	uint64_t sign_us_sum;			/* atomic */

	/* Registered keys; keys_mu serialises finding, generating and
	 * re-finding them, and every use of the holder session. */
	pthread_mutex_t keys_mu;
	struct hsm_key *keys;
};

/* A checked-out session. */
struct hsm_op {
	CK_SESSION_HANDLE s;
	uint64_t gen;
	CK_OBJECT_HANDLE obj; /* the key's handle to sign with */
	int reserved; /* s is a quick session, back to quickfree */
};

/* hsm_module.c */
int hsm_bringup(struct hsm *h);
void hsm_teardown(struct hsm *h);
int hsm_module_load(const char *path, void **dl, CK_FUNCTION_LIST_PTR *p11);
int hsm_p11_initialize(CK_FUNCTION_LIST_PTR p11);
void hsm_padded(char *dst, size_t dstsz, const CK_UTF8CHAR *src, size_t n);

/* hsm_pool.c */
int hsm_op_begin(struct hsm *h, struct hsm_key *k, struct hsm_op *op);
int hsm_op_begin_quick(struct hsm *h, struct hsm_key *k, struct hsm_op *op);
int hsm_op_end(struct hsm *h, struct hsm_op *op, CK_RV rv, const char *func);
int hsm_pool_start(struct hsm *h);
void hsm_pool_stop(struct hsm *h);
int hsm_ckr_is_fault(CK_RV rv);
int hsm_ckr_to_rc(CK_RV rv);
int64_t hsm_now_sec(void);
/* hsm_sign.c: the signing-time bucket bounds of hsm_status. */
extern const uint64_t hsm_sign_le_us[HSM_SIGN_BUCKETS];

/* hsm_key.c */
int hsm_key_refind(struct hsm *h, struct hsm_key *k, CK_SESSION_HANDLE s);
void hsm_key_drop_copy(struct hsm *h, struct hsm_key *k);

/* hsm_sign.c */
int hsm_key_sign_mech(struct hsm_key *k, CK_MECHANISM_TYPE m,
    const uint8_t *in, size_t inlen, uint8_t *sig, size_t *siglen);

/* hsm_evp.c */
int hsm_evp_bind(struct hsm_key *k);
EVP_PKEY *hsm_pub_from_token(struct hsm *h, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE pub, CK_KEY_TYPE kt, enum hsm_key_type *type);

/* hsm_pin.c */
int hsm_pin_store(struct hsm *h, const char *pin, size_t len);
void hsm_pin_wipe(struct hsm *h);

#endif
