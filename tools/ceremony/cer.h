/*
 * tools/ceremony: the offline root CA tool (signet-ceremony).
 *
 * Every function returns CER_OK (0), CER_FAIL (1: a verification or policy
 * failure) or CER_ERR (2: an operational error), the signify exit status
 * main() hands back, and has already told the user what went wrong by
 * then (warnx naming the file and the key).  The pure parts (shares,
 * transcript verification) fill an error buffer instead of printing.
 */
#ifndef SIGNET_CER_H
#define SIGNET_CER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CER_OK 0
#define CER_FAIL 1
#define CER_ERR 2

#define CER_MAX_ERR 512
#define CER_MAX_FILE (1024 * 1024)	/* any input file we read whole */
#define CER_MAX_NC 32			/* name-constraint subtrees per list */
#define CER_MAX_OUT 16			/* files one run writes */
#define CER_CUSTODIANS 3		/* shares per secret */
#define CER_THRESHOLD 2			/* shares that recover a secret */
#define CER_PIN_SECRET 16		/* random bytes behind a PIN */
#define CER_KEK_LEN 32			/* AES-256 key-encryption key */

/* Shares (cer_share.c): our own framing around libgfshare. */
#define CER_SHARE_VERSION 1
#define CER_SHARE_ID_LEN 8
#define CER_SHARE_CHECK_LEN 4
#define CER_SHARE_MAX_SECRET 32
#define CER_SHARE_HDR (1 + 1 + CER_SHARE_ID_LEN + 1 + 1 + 1 + 1)
#define CER_SHARE_MAX_BIN (CER_SHARE_HDR + CER_SHARE_MAX_SECRET + \
	CER_SHARE_CHECK_LEN)
#define CER_SHARE_MAX_TEXT 4096		/* bytes of a share file or line */

enum cer_secret { CER_SECRET_USER_PIN = 1, CER_SECRET_SO_PIN = 2,
	CER_SECRET_KEK = 3 };

struct cer_share {
	uint8_t version;
	uint8_t kind;			/* enum cer_secret */
	uint8_t id[CER_SHARE_ID_LEN];	/* random per secret */
	uint8_t index;			/* 1..count, the x coordinate */
	uint8_t threshold;
	uint8_t count;
	uint8_t payload[CER_SHARE_MAX_SECRET];
	size_t len;
};

const char *cer_secret_name(int kind);
/* Splits secret into count shares (out[0..count)), threshold recover it. */
int cer_share_split(enum cer_secret kind, const uint8_t *secret, size_t len,
    unsigned threshold, unsigned count, struct cer_share *out);
/* Base32 in groups of four, NUL-terminated; CER_ERR if text is too small. */
int cer_share_encode(const struct cer_share *s, char *text, size_t size);
/*
 * Decodes a share from text (lines starting with '#' are comments; case,
 * spaces and dashes are ignored).  A pure function over bytes (fuzzed).
 * CER_FAIL with err naming the defect: bad character, length, version,
 * header field or checksum (a mistyped or corrupted share).
 */
int cer_share_decode(const uint8_t *text, size_t len, struct cer_share *out,
    char *err, size_t errlen);
/*
 * Checks shares v[0..n) (named names[i] in errors) against each other and
 * against the secret wanted (kind, and id unless NULL) and combines them.
 * Refuses, naming the share, a share of another kind or secret, a
 * duplicate, or fewer than the threshold.  secret gets *len bytes.
 */
int cer_share_combine(const struct cer_share *v, const char *const *names,
    size_t n, enum cer_secret kind, const uint8_t *id, uint8_t *secret,
    size_t *len, char *err, size_t errlen);
/* An ASCII-art QR code of text, lines prefixed "# " (malloc'd). */
char *cer_share_qr(const char *text);

/* The ceremony file (cer_conf.c). */
struct cer_subject {
	char *cn, *o, *ou, *c, *st, *l;
};
struct cer_conf {
	char *path;
	char *module, *token_label;
	char *key_type, *key_label;
	struct cer_subject root_subject;
	int64_t root_validity;
	char *root_cert;
	char *custodians[CER_CUSTODIANS];
	char *shares_dir;
	int qr;
	char *csr, *int_cert;
	struct cer_subject int_subject;
	int64_t int_validity;
	long path_length;
	char *permitted[CER_MAX_NC], *excluded[CER_MAX_NC];
	size_t npermitted, nexcluded;
	char *crl_file, *crl_url;
	int64_t crl_next_update;
	char *blob, *kek_label;
	char *state, *transcript;
};
int cer_conf_load(const char *path, struct cer_conf **out, char *err,
    size_t errlen);
void cer_conf_free(struct cer_conf *c);
int64_t cer_duration(const char *s);

/* Ceremony state (cer_state.c): what must survive between runs. */
#define CER_MAX_REVOKED 256
struct cer_revoked {
	char serial[80];	/* hex */
	int64_t when;
	int reason;
};
struct cer_state {
	char key_id[2 * 64 + 1];	/* hex CKA_ID of the root key */
	char user_id[2 * CER_SHARE_ID_LEN + 1];
	char so_id[2 * CER_SHARE_ID_LEN + 1];
	char kek_id[2 * CER_SHARE_ID_LEN + 1];
	uint64_t crl_number;
	struct cer_revoked revoked[CER_MAX_REVOKED];
	size_t nrevoked;
};
int cer_state_load(const char *path, struct cer_state *st);
int cer_state_format(const struct cer_state *st, char **out, size_t *len);

/* Staged output (cer_out.c): nothing is left behind unless all is. */
struct cer_out {
	char *tmp[CER_MAX_OUT];
	char *final[CER_MAX_OUT];
	int replace[CER_MAX_OUT];
	size_t n;
};
int cer_out_absent(const char *path);
int cer_out_add(struct cer_out *o, const char *path, mode_t mode,
    int replace, const void *data, size_t len);
int cer_out_commit(struct cer_out *o);
void cer_out_abort(struct cer_out *o);
int cer_read_file(const char *path, uint8_t **data, size_t *len);
void cer_hex(const uint8_t *in, size_t len, char *out);
int cer_unhex(const char *in, uint8_t *out, size_t max, size_t *len);
int cer_unbase64(const char *in, uint8_t *out, size_t max, size_t *len);
void cer_sha256_hex(const uint8_t *in, size_t len, char *out);
int cer_file_sha256(const char *path, char *out);
int cer_time_str(int64_t t, char *out, size_t size);

/* The transcript (cer_transcript.c). */
struct cer_tx {
	char *buf;
	size_t len, cap;
	unsigned seq;
	char verb[32];
};
int cer_tx_begin(struct cer_tx *tx, const char *path, const char *verb);
int cer_tx_step(struct cer_tx *tx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Signs everything so far with key (through the token). */
int cer_tx_sign(struct cer_tx *tx, EVP_PKEY *key);
void cer_tx_free(struct cer_tx *tx);
/* CER_FAIL with err naming the first line that does not verify. */
int cer_tx_verify(const uint8_t *text, size_t len, EVP_PKEY *pub,
    unsigned *nsigs, char *err, size_t errlen);

#endif /* SIGNET_CER_H */
