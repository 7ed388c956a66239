/*
 * The canonical encoding of audit records and checkpoints (see audit.h),
 * and the names of actions and errors.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include <signet/audit.h>

#include "audit_impl.h"

#define RECORD_TAG "SIGNET-AUDIT-1"
#define CKPT_TAG "SIGNET-AUDIT-CKPT-1"

static const char *const action_names[AUDIT_ACTION_COUNT] = {
	[AUDIT_ISSUE] = "issue",
	[AUDIT_REFUSE] = "refuse",
	[AUDIT_REVOKE] = "revoke",
	[AUDIT_CONFIG] = "config",
	[AUDIT_PROFILE] = "profile",
	[AUDIT_TENANT] = "tenant",
	[AUDIT_TOKEN_UP] = "token_up",
	[AUDIT_TOKEN_DOWN] = "token_down",
	[AUDIT_AUTH_FAIL] = "auth_fail",
	[AUDIT_RECONCILE] = "reconcile",
	[AUDIT_ABANDON] = "abandon",
	[AUDIT_TIDY] = "tidy",
};

const char *
audit_action_name(enum audit_action action)
{
	if ((int)action < 0 || action >= AUDIT_ACTION_COUNT)
		return "unknown";
	return action_names[action];
}

const char *
audit_strerror(int rc)
{
	switch (rc) {
	case AUDIT_OK:
		return "success";
	case AUDIT_ERR_ARG:
		return "invalid argument or audit field too long";
	case AUDIT_ERR_NOMEM:
		return "out of memory";
	case AUDIT_ERR_IO:
		return "audit storage cannot be opened or written";
	case AUDIT_ERR_FULL:
		return "audit storage is full";
	case AUDIT_ERR_BUSY:
		return "audit database is locked";
	case AUDIT_ERR_CRYPTO:
		return "audit hashing or signing failed";
	case AUDIT_ERR_SCHEMA:
		return "audit database has an unknown schema";
	case AUDIT_ERR_DB:
		return "audit database error";
	default:
		return "unknown audit error";
	}
}

static void
put_u64(uint8_t b[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = v & 0xff;
		v >>= 8;
	}
}

static int
update_str(EVP_MD_CTX *ctx, const char *s, size_t n)
{
	uint8_t len[4];

	if (n > UINT32_MAX)
		return 0;
	len[0] = (n >> 24) & 0xff;
	len[1] = (n >> 16) & 0xff;
	len[2] = (n >> 8) & 0xff;
	len[3] = n & 0xff;
	if (!EVP_DigestUpdate(ctx, len, sizeof(len)))
		return 0;
	return n == 0 || EVP_DigestUpdate(ctx, s, n);
}

int
audit_hash_fields(uint64_t seq, int64_t time,
    const char *const field[AUDIT_NFIELDS], const size_t len[AUDIT_NFIELDS],
    const uint8_t prev[AUDIT_HASH_LEN], uint8_t out[AUDIT_HASH_LEN])
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t num[16];
	unsigned int mdlen = 0;
	int i, rc = AUDIT_ERR_CRYPTO;

	put_u64(num, seq);
	put_u64(num + 8, (uint64_t)time);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(ctx, RECORD_TAG, strlen(RECORD_TAG)) ||
	    !EVP_DigestUpdate(ctx, num, sizeof(num)))
		goto out;
	for (i = 0; i < AUDIT_NFIELDS; i++)
		if (!update_str(ctx, field[i], len[i]))
			goto out;
	if (!EVP_DigestUpdate(ctx, prev, AUDIT_HASH_LEN) ||
	    !EVP_DigestFinal_ex(ctx, out, &mdlen) || mdlen != AUDIT_HASH_LEN)
		goto out;
	rc = AUDIT_OK;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

void
audit_record_fields(const struct audit_record *rec,
    const char *field[AUDIT_NFIELDS], size_t len[AUDIT_NFIELDS])
{
	int i;

	field[0] = rec->actor;
	field[1] = rec->role;
	field[2] = rec->tenant;
	field[3] = audit_action_name(rec->action);
	field[4] = rec->object;
	field[5] = rec->result;
	field[6] = rec->detail;
	for (i = 0; i < AUDIT_NFIELDS; i++) {
		if (field[i] == NULL)
			field[i] = "";
		len[i] = strlen(field[i]);
	}
}

int
audit_hash(uint64_t seq, const struct audit_record *rec,
    const uint8_t prev[AUDIT_HASH_LEN], uint8_t out[AUDIT_HASH_LEN])
{
	const char *field[AUDIT_NFIELDS];
	size_t len[AUDIT_NFIELDS];

	if (rec == NULL || prev == NULL || out == NULL)
		return AUDIT_ERR_ARG;
	audit_record_fields(rec, field, len);
	return audit_hash_fields(seq, rec->time, field, len, prev, out);
}

static void
ckpt_message(uint8_t msg[19 + 16 + AUDIT_HASH_LEN], uint64_t seq,
    int64_t time, const uint8_t head[AUDIT_HASH_LEN])
{
	memcpy(msg, CKPT_TAG, 19);
	put_u64(msg + 19, seq);
	put_u64(msg + 27, (uint64_t)time);
	memcpy(msg + 35, head, AUDIT_HASH_LEN);
}

/* Ed25519 and Ed448 sign the message itself; the rest take SHA-256. */
static const EVP_MD *
ckpt_md(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
		return NULL;
	return EVP_sha256();
}

int
audit_checkpoint_sign(EVP_PKEY *key, uint64_t seq, int64_t time,
    const uint8_t head[AUDIT_HASH_LEN], uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t msg[19 + 16 + AUDIT_HASH_LEN];
	size_t need = 0;
	int rc = AUDIT_ERR_CRYPTO;

	if (key == NULL || head == NULL || sig == NULL || siglen == NULL)
		return AUDIT_ERR_ARG;
	ckpt_message(msg, seq, time, head);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit(ctx, NULL, ckpt_md(key), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &need, msg, sizeof(msg)) != 1 ||
	    need > *siglen)
		goto out;
	if (EVP_DigestSign(ctx, sig, &need, msg, sizeof(msg)) != 1)
		goto out;
	*siglen = need;
	rc = AUDIT_OK;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
audit_checkpoint_verify(EVP_PKEY *pub, uint64_t seq, int64_t time,
    const uint8_t head[AUDIT_HASH_LEN], const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t msg[19 + 16 + AUDIT_HASH_LEN];
	int rc = AUDIT_ERR_CRYPTO;

	if (pub == NULL || head == NULL || sig == NULL)
		return AUDIT_ERR_ARG;
	ckpt_message(msg, seq, time, head);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(ctx, NULL, ckpt_md(pub), NULL, pub) != 1)
		goto out;
	if (EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg)) == 1)
		rc = AUDIT_OK;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
