/*
 * Single-use nonces (RFC 8555 6.5) as an HMAC-authenticated counter and
 * a fixed replay window (acme.h says what is remembered and why).  The
 * clock is the caller's: every function takes `now` in seconds.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "acme_local.h"

#define NONCE_RAW	32	/* seq 8, issued 8, tag 16 */
#define NONCE_TAG	16

static void
nonce_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

static uint64_t
nonce_get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int
nonce_tag_key(const uint8_t *key, const uint8_t *msg, uint8_t tag[NONCE_TAG])
{
	uint8_t mac[32];
	size_t n = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key,
	    ACME_NONCE_KEY, msg, 16, mac, sizeof(mac), &n) == NULL ||
	    n != sizeof(mac))
		return ACME_E_MEM;
	memcpy(tag, mac, NONCE_TAG);
	OPENSSL_cleanse(mac, sizeof(mac));
	return ACME_OK;
}

static int
nonce_tag(const struct acme_nonce_store *st, const uint8_t *msg,
    uint8_t tag[NONCE_TAG])
{
	return nonce_tag_key(st->key, msg, tag);
}

int
acme_nonce_init(struct acme_nonce_store *st, const uint8_t *key,
    size_t keylen, uint64_t lifetime)
{
	memset(st, 0, sizeof(*st));
	if (keylen != sizeof(st->key) || lifetime == 0)
		return ACME_E_VALUE;
	memcpy(st->key, key, keylen);
	st->lifetime = lifetime;
	return ACME_OK;
}

int
acme_nonce_issue(struct acme_nonce_store *st, uint64_t now,
    char out[ACME_NONCE_LEN + 1])
{
	uint8_t raw[NONCE_RAW];
	uint64_t seq = st->next;
	int rc;

	nonce_be64(raw, seq);
	nonce_be64(raw + 8, now);
	if ((rc = nonce_tag(st, raw, raw + 16)) != ACME_OK)
		return rc;
	/* The slot now stands for seq; seq - WINDOW falls out of the window. */
	st->used[(seq % ACME_NONCE_WINDOW) / 8] &=
	    ~(1u << (seq % 8));
	st->next++;
	return acme_b64url_encode(raw, sizeof(raw), out, ACME_NONCE_LEN + 1);
}

int
acme_nonce_redeem(struct acme_nonce_store *st, uint64_t now,
    const char *nonce, size_t len)
{
	uint8_t raw[NONCE_RAW], tag[NONCE_TAG], bit;
	uint64_t seq, issued;
	size_t n, slot;
	int rc;

	if (len != ACME_NONCE_LEN ||
	    acme_b64url_decode(nonce, len, raw, sizeof(raw), &n) != ACME_OK ||
	    n != sizeof(raw))
		return ACME_E_NONCE;
	if ((rc = nonce_tag(st, raw, tag)) != ACME_OK)
		return rc;
	if (CRYPTO_memcmp(tag, raw + 16, NONCE_TAG) != 0)
		return ACME_E_NONCE;	/* not ours, or of an earlier run */
	seq = nonce_get64(raw);
	issued = nonce_get64(raw + 8);
	if (seq >= st->next || st->next - seq > ACME_NONCE_WINDOW)
		return ACME_E_NONCE;	/* fell out of the window */
	if (issued > now || now - issued > st->lifetime)
		return ACME_E_NONCE;	/* expired */
	slot = (seq % ACME_NONCE_WINDOW) / 8;
	bit = 1u << (seq % 8);
	if (st->used[slot] & bit)
		return ACME_E_NONCE;	/* replayed */
	st->used[slot] |= bit;
	return ACME_OK;
}

void
acme_nonce_wipe(struct acme_nonce_store *st)
{
	OPENSSL_cleanse(st, sizeof(*st));
}

/* Cluster nonces: rnd 8, issued 8, tag 16 (acme.h). */
int
acme_nonce_mint(const uint8_t key[ACME_NONCE_KEY],
    const uint8_t rnd[ACME_NONCE_RND], uint64_t now,
    char out[ACME_NONCE_LEN + 1])
{
	uint8_t raw[NONCE_RAW];
	int rc;

	memcpy(raw, rnd, ACME_NONCE_RND);
	nonce_be64(raw + 8, now);
	if ((rc = nonce_tag_key(key, raw, raw + 16)) != ACME_OK)
		return rc;
	return acme_b64url_encode(raw, sizeof(raw), out, ACME_NONCE_LEN + 1);
}

int
acme_nonce_check(const uint8_t key[ACME_NONCE_KEY], uint64_t now,
    uint64_t lifetime, const char *nonce, size_t len,
    uint8_t id[ACME_NONCE_ID], uint64_t *expires)
{
	uint8_t raw[NONCE_RAW], tag[NONCE_TAG];
	uint64_t issued;
	size_t n;
	int rc;

	if (len != ACME_NONCE_LEN ||
	    acme_b64url_decode(nonce, len, raw, sizeof(raw), &n) != ACME_OK ||
	    n != sizeof(raw))
		return ACME_E_NONCE;
	if ((rc = nonce_tag_key(key, raw, tag)) != ACME_OK)
		return rc;
	if (CRYPTO_memcmp(tag, raw + 16, NONCE_TAG) != 0)
		return ACME_E_NONCE;	/* not the cluster's */
	issued = nonce_get64(raw + 8);
	if (issued > now || now - issued > lifetime)
		return ACME_E_NONCE;	/* expired */
	memcpy(id, raw, ACME_NONCE_ID);
	*expires = issued + lifetime;
	return ACME_OK;
}
