/*
 * hsm/: everything Signet does with a PKCS#11 token, behind one header.
 *
 * The layer loads a PKCS#11 module with dlopen, finds a token, logs in,
 * keeps a pool of sessions (one per concurrent signer), generates and finds
 * keys, and signs inside the token.  Private keys never leave the token: the
 * EVP_PKEY handed out holds only the public half and routes every private
 * operation to C_Sign.
 *
 * Token faults (session invalid, device error or removed, token absent,
 * module not initialised, user not logged in) mark the token down: calls
 * then fail at once with HSM_ERR_DOWN while a background thread
 * re-initialises the module, re-opens sessions, logs in again and re-finds
 * every key handle, with bounded exponential backoff.  A wrong or locked
 * PIN is never retried; the token stays failed.
 *
 * Ownership: every struct hsm_key belongs to its struct hsm and must be
 * freed (hsm_key_free) before hsm_close.  Pointers returned by accessors
 * are borrowed from the key or the hsm and stay valid until it is freed.
 * Functions return HSM_OK (0) or a negative enum hsm_rc; hsm_strerror()
 * turns it into a sentence.  Nothing here exits or prints.
 *
 * Thread safety: all calls on one struct hsm may be made from many threads
 * at once, except hsm_open/hsm_close and hsm_key_free of a key still in use.
 */
#ifndef SIGNET_HSM_H
#define SIGNET_HSM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define HSM_MAX_PIN 256	  /* bytes of a user PIN */
#define HSM_MAX_LABEL 64  /* bytes of a key or token label */
#define HSM_MAX_ID 64	  /* bytes of a CKA_ID */
#define HSM_MAX_SIG 1024  /* bytes of any signature this layer returns */
#define HSM_MAX_WRAPPED 8192 /* bytes of a wrapped key blob */
#define HSM_MAX_POOL 64	  /* sessions in the pool */
/*
 * Sessions reserved for quick operations (hsm_key_hmac), on top of the
 * pool: no number of signatures in flight makes an HMAC wait for one.
 */
#define HSM_QUICK_SESSIONS 1

enum hsm_rc {
	HSM_OK = 0,
	HSM_ERR_ARG = -1,	  /* invalid argument */
	HSM_ERR_NOMEM = -2,	  /* out of memory */
	HSM_ERR_MODULE = -3,	  /* module cannot be loaded or initialised */
	HSM_ERR_NO_TOKEN = -4,	  /* no token matches the selection */
	HSM_ERR_PIN = -5,	  /* PIN wrong, locked or expired: not retried */
	HSM_ERR_DOWN = -6,	  /* token is down, recovery under way */
	HSM_ERR_NO_KEY = -7,	  /* no key matches */
	HSM_ERR_EXISTS = -8,	  /* a key with that label or id exists */
	HSM_ERR_UNSUPPORTED = -9, /* token lacks the mechanism or key type */
	HSM_ERR_DEVICE = -10,	  /* other PKCS#11 failure, see last_ckr */
	HSM_ERR_BUSY = -11,	  /* no session became free in time */
	HSM_ERR_PIN_FILE = -12,	  /* PIN file unreadable, empty or not 0600 */
	HSM_ERR_URI = -13,	  /* malformed pkcs11: URI */
	HSM_ERR_CRYPTO = -14,	  /* OpenSSL failure */
	HSM_ERR_FAILED = -15,	  /* token failed permanently (PIN) */
	HSM_ERR_TOKEN_FILES = -16, /* a SoftHSM token file is damaged */
};

/* A sentence for an hsm_rc; never NULL. */
const char *hsm_strerror(int rc);

enum hsm_key_type {
	HSM_KEY_NONE = 0,
	HSM_KEY_EC_P256,
	HSM_KEY_EC_P384,
	HSM_KEY_RSA_2048,
	HSM_KEY_RSA_3072,
	HSM_KEY_RSA_4096,
	HSM_KEY_ED25519,
	HSM_KEY_AES_256, /* key-encryption key for wrap/unwrap */
	HSM_KEY_HMAC_SHA256, /* 256-bit generic secret, CKM_SHA256_HMAC */
};

#define HSM_HMAC_LEN 32	  /* bytes of an HMAC-SHA256 */

/*
 * "p256", "p384", "rsa2048", "rsa3072", "rsa4096", "ed25519", "aes256",
 * "hmac-sha256".
 */
const char *hsm_key_type_name(enum hsm_key_type type);
enum hsm_key_type hsm_key_type_from_name(const char *name);

/*
 * How to reach the token.  Exactly one of token_label, token_serial or
 * token_uri should be set; with none, the first initialised token is used.
 */
struct hsm_config {
	const char *module;	  /* path of the PKCS#11 module, required */
	const char *token_label;  /* CKA_LABEL of the token */
	const char *token_serial; /* serial number of the token */
	const char *token_uri;	  /* RFC 7512 "pkcs11:token=...;serial=..." */
	/*
	 * Sessions every operation shares, 0 = 4, at most HSM_MAX_POOL.
	 * The layer opens pool_size + HSM_QUICK_SESSIONS + 1 sessions in
	 * all: the shared ones, the quick ones and one that logs in and
	 * holds the session copies of keys.
	 */
	unsigned pool_size;
	int session_keys;	  /* copy private keys into session objects */
	unsigned backoff_min_ms;  /* first retry after a fault, 0 = 50 */
	unsigned backoff_max_ms;  /* longest wait between retries, 0 = 1000 */
	unsigned acquire_ms;	  /* wait for a free session, 0 = 5000 */
};

struct hsm;
struct hsm_key;

/*
 * Loads the module, finds the token, opens the session pool and logs in as
 * the user with pin[0..pinlen).  The caller's PIN buffer is wiped before
 * this returns, whatever the result.  The layer keeps one copy in a locked,
 * non-dumpable page for logging in again after a token fault, and wipes it
 * in hsm_close.  On success *out owns the token; free with hsm_close.
 */
int hsm_open(const struct hsm_config *cfg, char *pin, size_t pinlen,
    struct hsm **out);
void hsm_close(struct hsm *hsm);

/*
 * In the child of a fork(2) that goes on using the parent's token (tests
 * do; the daemons never fork after hsm_open): the pool's recovery thread
 * is not in the child, and its mutexes and condition variables are copies
 * of whatever state they had, a waiter included, so that signalling one
 * can block forever (glibc waits for the waiters it counted).  Starts
 * them over and runs the child without a recovery thread; call it first
 * thing in the child.
 */
void hsm_fork_child(struct hsm *hsm);

/*
 * Read a PIN from a file descriptor (until EOF or newline) or from a file
 * that is a regular file readable by its owner only (mode 0600 or 0400).
 * buf receives the PIN, not NUL-terminated; *len its length.  The caller
 * wipes buf (hsm_open does).
 */
int hsm_pin_from_fd(int fd, char *buf, size_t size, size_t *len);
int hsm_pin_from_file(const char *path, char *buf, size_t size, size_t *len);

/*
 * Initialise the first token-less slot (or the slot whose token has the
 * label) of a module: C_InitToken with the SO PIN, then C_InitPIN for the
 * user PIN.  For provisioning and tests; PIN buffers are not wiped here.
 */
int hsm_token_init(const char *module, const char *label, const char *so_pin,
    const char *user_pin);

struct hsm_token_info {
	char label[33];
	char serial[17];
	char manufacturer[33];
	char model[17];
	unsigned long slot;
};
int hsm_token_info(struct hsm *hsm, struct hsm_token_info *info);

/* Key generation inside the token. */
#define HSM_KEYGEN_BACKUP 0x1 /* extractable, but only under a trusted key */
struct hsm_keygen {
	enum hsm_key_type type;
	const char *label;  /* CKA_LABEL, required */
	const uint8_t *id;  /* CKA_ID; NULL = 16 random bytes */
	size_t id_len;
	unsigned flags;	    /* HSM_KEYGEN_* */
};

/*
 * Generates a key pair (or an AES-256 or HMAC key) in the token:
 * CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true, CKA_EXTRACTABLE false
 * (unless HSM_KEYGEN_BACKUP, refused for HMAC keys), CKA_SIGN.  An HMAC
 * key is a CKK_GENERIC_SECRET of 32 bytes that signs (CKM_SHA256_HMAC) and
 * does nothing else.  Refuses a label or id already in use.
 */
int hsm_key_generate(struct hsm *hsm, const struct hsm_keygen *req,
    struct hsm_key **out);

/* Finds a private key by label and/or id (at least one). */
int hsm_key_find(struct hsm *hsm, const char *label, const uint8_t *id,
    size_t id_len, struct hsm_key **out);
/* Finds a key by an RFC 7512 URI ("pkcs11:object=ca;id=%01%02"). */
int hsm_key_find_uri(struct hsm *hsm, const char *uri, struct hsm_key **out);
void hsm_key_free(struct hsm_key *key);

struct hsm_key_info {
	enum hsm_key_type type;
	char label[HSM_MAX_LABEL + 1];
	uint8_t id[HSM_MAX_ID];
	size_t id_len;
	int sensitive, extractable, always_sensitive, never_extractable;
};
/*
 * Lists the token's private and secret keys (*out allocated, free() it).
 * Keys of types this layer does not know are listed with HSM_KEY_NONE.
 */
int hsm_key_list(struct hsm *hsm, struct hsm_key_info **out, size_t *n);
int hsm_key_get_info(struct hsm_key *key, struct hsm_key_info *info);

enum hsm_key_type hsm_key_type(const struct hsm_key *key);
const char *hsm_key_label(const struct hsm_key *key);
const uint8_t *hsm_key_id(const struct hsm_key *key, size_t *len);

/* The public key (borrowed; NULL for AES keys). */
EVP_PKEY *hsm_key_public(const struct hsm_key *key);

/*
 * An EVP_PKEY whose private operations run in the token (borrowed; NULL
 * for Ed25519 and AES keys, which OpenSSL 3 cannot route to a token
 * without a provider: use hsm_key_sign).  X509_sign, X509_REQ_sign,
 * X509_CRL_sign, OCSP_basic_sign and EVP_DigestSign work with it unchanged.
 * While the token is down those calls fail, with the reason queued on
 * OpenSSL's error stack and in hsm_status().
 */
EVP_PKEY *hsm_key_evp(struct hsm_key *key);

/*
 * Signs msg as an X.509 signature: EC keys ECDSA over md (DER
 * ECDSA-Sig-Value), RSA keys PKCS#1 v1.5 over md, Ed25519 PureEdDSA over
 * msg itself (md ignored).  md NULL means SHA-256 (SHA-384 for P-384).
 * *siglen holds sig's size on entry and the signature's length on return.
 */
int hsm_key_sign(struct hsm_key *key, const EVP_MD *md, const uint8_t *msg,
    size_t msglen, uint8_t *sig, size_t *siglen);

/*
 * The raw token operation: C_SignInit+C_Sign with the key's default
 * mechanism (CKM_ECDSA over a digest: r||s; CKM_RSA_PKCS over a DigestInfo;
 * CKM_EDDSA over a message).  For benchmarks and the EVP binding.
 */
int hsm_key_sign_raw(struct hsm_key *key, const uint8_t *in, size_t inlen,
    uint8_t *sig, size_t *siglen);

/*
 * HMAC-SHA256 of msg inside the token (CKM_SHA256_HMAC) with an
 * HSM_KEY_HMAC_SHA256 key; mac receives HSM_HMAC_LEN bytes.  The key's
 * value never leaves the token; the caller wipes mac when it is a secret.
 * A quick operation: it runs on a reserved session (HSM_QUICK_SESSIONS)
 * when one is free, else on a shared one, so signatures holding every
 * shared session do not hold it up; it never takes more than those.
 */
int hsm_key_hmac(struct hsm_key *key, const uint8_t *msg, size_t msglen,
    uint8_t mac[HSM_HMAC_LEN]);

/*
 * Wrap key under the AES-256 key kek with CKM_AES_KEY_WRAP_PAD into
 * blob (*bloblen in/out).  Used only by the offline ceremony tool and
 * signet-provision's export-key.
 */
int hsm_key_wrap(struct hsm_key *kek, struct hsm_key *key, uint8_t *blob,
    size_t *bloblen);
/*
 * Unwrap blob under kek into a new token private key with attrs' type,
 * label, id and flags, and create its public key object from pub (the
 * public half, e.g. from the CA certificate), so the key can be found and
 * used like a generated one.
 */
int hsm_key_unwrap(struct hsm_key *kek, const uint8_t *blob, size_t bloblen,
    const struct hsm_keygen *attrs, EVP_PKEY *pub, struct hsm_key **out);
/*
 * The same under the trusted KEK labelled kek_label in hsm's token (the
 * one the SO imported for a backup or a transfer): find it, wrap key (or
 * unwrap blob with attrs and pub, as hsm_key_unwrap), let its handle go.
 * *kek_found is 0 when finding the KEK failed (the error is then
 * hsm_key_find's), 1 when the error, if any, is the wrap's or unwrap's.
 */
int hsm_kek_wrap(struct hsm *hsm, const char *kek_label, struct hsm_key *key,
    uint8_t *blob, size_t *bloblen, int *kek_found);
int hsm_kek_unwrap(struct hsm *hsm, const char *kek_label,
    const uint8_t *blob, size_t bloblen, const struct hsm_keygen *attrs,
    EVP_PKEY *pub, struct hsm_key **out, int *kek_found);

enum hsm_state {
	HSM_STATE_UP = 0,
	HSM_STATE_DOWN = 1,   /* fault seen, recovering */
	HSM_STATE_FAILED = 2, /* PIN refused: will not retry */
};
#define HSM_SIGN_BUCKETS	12
struct hsm_status {
	enum hsm_state state;
	unsigned long last_ckr;	  /* CKR_* of the last fault, 0 if none */
	int last_rc;		  /* hsm_rc of the last fault */
	const char *last_func;	  /* PKCS#11 function that failed */
	uint64_t faults;	  /* times the token was marked down */
	uint64_t recoveries;	  /* times it came back */
	uint64_t recovery_attempts;
	uint64_t signatures;	  /* successful signatures */
	int64_t down_since;	  /* CLOCK_MONOTONIC seconds, 0 when up */
	unsigned pool_size;	  /* shared sessions */
	unsigned sessions_busy;	  /* shared sessions checked out */
	unsigned quick_sessions;  /* reserved for quick operations */
	unsigned quick_busy;	  /* of those, checked out */
	int session_keys;	  /* keys are session copies */
	/*
	 * Time of successful signatures, session wait included, in
	 * buckets: sign_count[i] took at most sign_le_us[i] microseconds
	 * and more than the bound before (not cumulative); the last
	 * bound is UINT64_MAX.  For /metrics (issue 19).
	 */
	uint64_t sign_le_us[HSM_SIGN_BUCKETS];
	uint64_t sign_count[HSM_SIGN_BUCKETS];
	uint64_t sign_us_sum;
};
void hsm_status(struct hsm *hsm, struct hsm_status *st);
const char *hsm_state_name(enum hsm_state st);

/* PKCS#11 return value names for messages ("CKR_DEVICE_ERROR"). */
const char *hsm_ckr_name(unsigned long ckr);

/*
 * RFC 7512 pkcs11: URI, parsed.  A pure function over bytes (fuzzed):
 * percent-decoding, known path attributes only, duplicates refused.
 */
struct hsm_uri {
	char token[33];
	char serial[17];
	char manufacturer[33];
	char model[17];
	char object[HSM_MAX_LABEL + 1];
	uint8_t id[HSM_MAX_ID];
	size_t id_len;
	char type[16];
	char module_path[256];
	unsigned present; /* HSM_URI_* bits */
};
#define HSM_URI_TOKEN 0x01
#define HSM_URI_SERIAL 0x02
#define HSM_URI_MANUFACTURER 0x04
#define HSM_URI_MODEL 0x08
#define HSM_URI_OBJECT 0x10
#define HSM_URI_ID 0x20
#define HSM_URI_TYPE 0x40
#define HSM_URI_MODULE_PATH 0x80
#define HSM_URI_MAX 1024
int hsm_uri_parse(const uint8_t *in, size_t len, struct hsm_uri *out);

/*
 * ---- Security Officer operations (hsm_so.c, for tools/ceremony) ----
 *
 * SoftHSMv2 (like most tokens) lets only the SO mark a key CKA_TRUSTED,
 * and the SO cannot log in while a user session is open.  These calls
 * therefore load the module, log in as the SO in their own session, do
 * one thing, log out and finalise.  They must not run while a struct hsm
 * for the same module is open in the process (C_Finalize is process
 * wide): they refuse with HSM_ERR_BUSY if the module is already
 * initialised.  The SO PIN (so_pin[0..so_pin_len)) is not wiped here.
 *
 * The keys they make are token objects with CKA_PRIVATE false, so that a
 * user session can find and use them (hsm_key_find), CKA_SENSITIVE true,
 * CKA_EXTRACTABLE false, CKA_WRAP and CKA_UNWRAP true, CKA_ENCRYPT and
 * CKA_DECRYPT false, and CKA_TRUSTED true: the only keys that may wrap a
 * key generated with HSM_KEYGEN_BACKUP.
 */

/* Generates such an AES-256 key-encryption key inside the token. */
int hsm_so_kek_generate(const char *module, const char *token_label,
    const char *so_pin, size_t so_pin_len, const char *label);
/* Imports kek[0..32) as such a key (the caller wipes its copy). */
int hsm_so_kek_import(const char *module, const char *token_label,
    const char *so_pin, size_t so_pin_len, const char *label,
    const uint8_t *kek, size_t kek_len);
/* Destroys the public secret key with that label; HSM_ERR_NO_KEY if none. */
int hsm_so_kek_destroy(const char *module, const char *token_label,
    const char *so_pin, size_t so_pin_len, const char *label);
/* HSM_OK if an initialised token has the label, else HSM_ERR_NO_TOKEN. */
int hsm_so_token_present(const char *module, const char *token_label);
/* ---- end of Security Officer operations ---- */

/*
 * ---- The SoftHSMv2 file guard (hsm_guard.c) ----
 *
 * SoftHSMv2 rewrites a token's files in place (truncate, then write), so
 * a kill or power cut at the wrong instant leaves an empty token.object
 * and the token is lost.  hsm_token_guard keeps a verified copy of every
 * object file of every token in SoftHSM's token directory (written
 * atomically, beside the file, "<name>.signet-good"), and before SoftHSM
 * reads them puts a copy back in place of a file that does not parse
 * whole.  hsm_open, recovery, key generation and the SO operations call it
 * themselves; a caller may call it first to log what it did.
 *
 * conf is softhsm2.conf (NULL: $SOFTHSM2_CONF, else the default path);
 * without that file, or with the "db" object store, it does nothing.
 * Returns HSM_OK, or HSM_ERR_TOKEN_FILES if a token.object is damaged
 * and has no good copy (that token cannot be opened).  r may be NULL.
 */
struct hsm_guard_report {
	unsigned checked;      /* object files read */
	unsigned saved;	       /* good copies written (new or changed) */
	unsigned restored;     /* damaged files replaced by their copy */
	unsigned quarantined;  /* damaged files with no copy, moved aside */
	unsigned unrepairable; /* damaged token.object with no copy */
	unsigned dropped;      /* copies of objects the token deleted */
	unsigned errors;       /* files that could not be read or written */
	char last_path[512];   /* the last damaged file */
};
int hsm_token_guard(const char *conf, struct hsm_guard_report *r);
/* Is buf[0..len) a whole SoftHSM object file?  (Pure; fuzzed.) */
int hsm_guard_object_valid(const uint8_t *buf, size_t len);

#endif /* SIGNET_HSM_H */
