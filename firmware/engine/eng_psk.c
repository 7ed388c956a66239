/*
 * Enrollment-token secrets, their verifiers, the DTLS PSK and one-time
 * PSK handles (docs/decisions.md, "Enrollment tokens and the DTLS PSK").
 *
 * A token is "<id>.<secret>".  The secret is derived inside the HSM from
 * the id: the first ENG_TOKEN_SECRET_BYTES of HMAC-SHA256(token key,
 * "signet enrollment token v2" NUL id), in lowercase hex, where the token
 * key (ENG_TOKEN_KEY_LABEL) is a non-extractable generic secret in the
 * PKCS#11 token.  The ledger stores only the verifier
 * SHA-256("signet token verifier v2" NUL token), which is not the key of
 * the device's PSK formula (HMAC-SHA256(key = SHA-256(token),
 * "signet dtls psk"), unchanged), so a copy of the ledger yields neither
 * a bearer token nor a PSK.  At handshake time the engine re-derives the
 * token from its id through the HSM, checks it against the verifier and
 * computes the PSK.
 *
 * Rows of the old format (the ledger stored SHA-256(token), which was the
 * PSK's key) stay valid bearer tokens over HTTPS until they expire; the
 * engine cannot derive them, so it never serves their PSK.
 *
 * PSK_LOOKUP answers with the key and a random one-time handle; an
 * enrollment over DTLS must present the handle of its handshake's lookup
 * (eng_psk_claim): once, within ENG_PSK_HANDLE_TTL, for that token id.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <signet/hsm.h>

#include "eng_engine_local.h"

#define ENG_PSK_HANDLES		1024	/* live handles, all handshakes */
#define ENG_PSK_PER_ID		4	/* live handles of one token id */
#define ENG_PSK_HANDLE_TTL	60	/* seconds from lookup to enrollment */
#define ENG_PSK_LEN		32	/* hex characters of the DTLS PSK */

static const char secret_label[] = "signet enrollment token v2";
static const char verifier_label[] = "signet token verifier v2";

struct eng_psk_slot {
	uint8_t	handle[PROTO_PSK_HANDLE_LEN];
	char	id[PROTO_MAX_PSK_ID + 1];
	time_t	expires;		/* 0: free */
	time_t	made;
};

struct eng_psk {
	pthread_mutex_t		 lock;
	struct hsm_key		*key;	/* NULL: tokens are HTTPS-only */
	struct eng_psk_slot	 slots[ENG_PSK_HANDLES];
};

int
eng_psk_new(struct hsm *hsm, struct eng_psk **out)
{
	struct hsm_keygen req = { .type = HSM_KEY_HMAC_SHA256,
		.label = ENG_TOKEN_KEY_LABEL };
	struct eng_psk *p;
	int rc;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return -1;
	}
	rc = hsm_key_find(hsm, ENG_TOKEN_KEY_LABEL, NULL, 0, &p->key);
	if (rc == HSM_ERR_NO_KEY) {
		/* An appliance provisioned before the token key existed. */
		rc = hsm_key_generate(hsm, &req, &p->key);
		if (rc == HSM_OK)
			log_info("msg=\"token key created\" key=%s",
			    ENG_TOKEN_KEY_LABEL);
	}
	if (rc == HSM_OK && hsm_key_type(p->key) != HSM_KEY_HMAC_SHA256) {
		log_warnx("msg=\"token key is not an HMAC-SHA256 key\" "
		    "key=%s", ENG_TOKEN_KEY_LABEL);
		hsm_key_free(p->key);
		p->key = NULL;
	} else if (rc == HSM_ERR_UNSUPPORTED || rc == HSM_ERR_ARG) {
		log_warnx("msg=\"no token key: enrollment tokens work over "
		    "HTTPS only, never as DTLS PSKs\" key=%s error=\"%s\"",
		    ENG_TOKEN_KEY_LABEL, hsm_strerror(rc));
	} else if (rc != HSM_OK) {
		log_warnx("msg=\"cannot find or create the token key\" "
		    "key=%s error=\"%s\"", ENG_TOKEN_KEY_LABEL,
		    hsm_strerror(rc));
		eng_psk_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

void
eng_psk_free(struct eng_psk *p)
{
	if (p == NULL)
		return;
	hsm_key_free(p->key);
	pthread_mutex_destroy(&p->lock);
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}

int
eng_psk_have_key(const struct eng_psk *p)
{
	return p != NULL && p->key != NULL;
}

int
eng_token_derive(struct eng_psk *p, const char *id, char *out, size_t size)
{
	uint8_t msg[sizeof(secret_label) + PROTO_MAX_PSK_ID], mac[HSM_HMAC_LEN];
	size_t idlen = strlen(id), n = strlen(id) + 1 +
	    2 * ENG_TOKEN_SECRET_BYTES;
	int rc;

	if (p->key == NULL)
		return HSM_ERR_NO_KEY;
	if (idlen == 0 || idlen > PROTO_MAX_PSK_ID || n >= size)
		return HSM_ERR_ARG;
	/* The label's NUL separates it from the id. */
	memcpy(msg, secret_label, sizeof(secret_label));
	memcpy(msg + sizeof(secret_label), id, idlen);
	if ((rc = hsm_key_hmac(p->key, msg, sizeof(secret_label) + idlen,
	    mac)) != HSM_OK)
		return rc;
	memcpy(out, id, idlen);
	out[idlen] = '.';
	eng_hex(mac, ENG_TOKEN_SECRET_BYTES, out + idlen + 1);
	OPENSSL_cleanse(mac, sizeof(mac));
	return HSM_OK;
}

void
eng_token_verifier(const char *token, uint8_t out[LEDGER_HASH_LEN])
{
	EVP_MD_CTX *c;
	unsigned int n = LEDGER_HASH_LEN;

	/* Fails closed: an all-zero verifier matches no SHA-256 output. */
	memset(out, 0, LEDGER_HASH_LEN);
	if ((c = EVP_MD_CTX_new()) == NULL)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, verifier_label, sizeof(verifier_label)) != 1 ||
	    EVP_DigestUpdate(c, token, strlen(token)) != 1 ||
	    EVP_DigestFinal_ex(c, out, &n) != 1)
		memset(out, 0, LEDGER_HASH_LEN);
	EVP_MD_CTX_free(c);
}

int
eng_token_matches(const char *token, const uint8_t stored[LEDGER_HASH_LEN])
{
	uint8_t v[LEDGER_HASH_LEN], legacy[LEDGER_HASH_LEN];
	int cur, old;

	eng_token_verifier(token, v);
	eng_sha256(token, strlen(token), legacy);
	/* Both compared in constant time, whichever matches. */
	cur = CRYPTO_memcmp(v, stored, LEDGER_HASH_LEN) == 0;
	old = CRYPTO_memcmp(legacy, stored, LEDGER_HASH_LEN) == 0;
	OPENSSL_cleanse(v, sizeof(v));
	OPENSSL_cleanse(legacy, sizeof(legacy));
	return cur ? ENG_TOKEN_CURRENT : old ? ENG_TOKEN_LEGACY : 0;
}

/* The slot a new handle for id takes; lock held. */
static struct eng_psk_slot *
slot_for(struct eng_psk *p, const char *id, time_t now)
{
	struct eng_psk_slot *s, *free_slot = NULL, *oldest = NULL,
	    *id_oldest = NULL;
	size_t i, nid = 0;

	for (i = 0; i < ENG_PSK_HANDLES; i++) {
		s = &p->slots[i];
		if (s->expires <= now) {
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (oldest == NULL || s->made < oldest->made)
			oldest = s;
		if (strcmp(s->id, id) == 0) {
			nid++;
			if (id_oldest == NULL || s->made < id_oldest->made)
				id_oldest = s;
		}
	}
	/* One token id cannot crowd out the others' handshakes. */
	if (nid >= ENG_PSK_PER_ID)
		return id_oldest;
	return free_slot != NULL ? free_slot : oldest;
}

static int
handle_new(struct eng_psk *p, const char *id, time_t now,
    uint8_t out[PROTO_PSK_HANDLE_LEN])
{
	struct eng_psk_slot *s;

	if (RAND_bytes(out, PROTO_PSK_HANDLE_LEN) != 1)
		return -1;
	pthread_mutex_lock(&p->lock);
	s = slot_for(p, id, now);
	memcpy(s->handle, out, PROTO_PSK_HANDLE_LEN);
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->made = now;
	s->expires = now + ENG_PSK_HANDLE_TTL;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int
eng_psk_claim(struct eng_engine *e, const char *id,
    const uint8_t handle[PROTO_PSK_HANDLE_LEN])
{
	struct eng_psk *p = e->psk;
	struct eng_psk_slot *s;
	time_t now = eng_engine_now(e);
	size_t i;
	int rc = -1;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < ENG_PSK_HANDLES; i++) {
		s = &p->slots[i];
		if (s->expires <= now || CRYPTO_memcmp(s->handle, handle,
		    PROTO_PSK_HANDLE_LEN) != 0)
			continue;
		/* Used once, matching or not: a mismatch is burnt too. */
		if (strcmp(s->id, id) == 0)
			rc = 0;
		memset(s, 0, sizeof(*s));
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* The PSK of a token: hex of HMAC-SHA256(SHA-256(token), label). */
static int
psk_of(const char *token, uint8_t key[ENG_PSK_LEN])
{
	static const char label[] = "signet dtls psk";
	uint8_t h[32], mac[32];
	char x[ENG_PSK_LEN + 1];
	unsigned int maclen = sizeof(mac);
	int rc = -1;

	eng_sha256(token, strlen(token), h);
	if (HMAC(EVP_sha256(), h, sizeof(h), (const unsigned char *)label,
	    sizeof(label) - 1, mac, &maclen) != NULL &&
	    maclen == sizeof(mac)) {
		eng_hex(mac, ENG_PSK_LEN / 2, x);
		memcpy(key, x, ENG_PSK_LEN);
		rc = 0;
	}
	OPENSSL_cleanse(x, sizeof(x));
	OPENSSL_cleanse(h, sizeof(h));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

static int
psk_lookup(struct eng_engine *e, const struct proto_request *req,
    struct eng_reply *r)
{
	const char *idn = req->u.psk.identity;
	struct ledger_token t;
	char token[PROTO_MAX_TOKEN + 1];
	int rc, result = PROTO_R_NOT_FOUND;

	memset(token, 0, sizeof(token));
	rc = ledger_token_get_id(e->ledger, idn, &t);
	if (rc != LEDGER_OK && rc != LEDGER_ERR_NOTFOUND &&
	    rc != LEDGER_ERR_ARG) {
		explicit_bzero(&t, sizeof(t));
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE, "ledger: %s",
		    ledger_strerror(rc));
	}
	/* proto.h: NOT_FOUND never says whether the token exists. */
	if (rc != LEDGER_OK || t.expires <= eng_engine_now(e) ||
	    t.uses_left == 0 || !eng_psk_have_key(e->psk))
		goto out;
	if ((rc = eng_token_derive(e->psk, idn, token, sizeof(token))) !=
	    HSM_OK) {
		result = eng_reply_fail(r, PROTO_R_UNAVAILABLE, "token key: %s",
		    hsm_strerror(rc));
		goto wipe;
	}
	if (eng_token_matches(token, t.hash) != ENG_TOKEN_CURRENT) {
		/* Made before the token key, or under another token key. */
		log_info("msg=\"no PSK: token not derivable by this token "
		    "key\" id=%s", idn);
		goto out;
	}
	if (psk_of(token, r->rep.u.psk.key) != 0 ||
	    handle_new(e->psk, idn, eng_engine_now(e),
	    r->rep.u.psk.handle) != 0) {
		explicit_bzero(&r->rep.u.psk, sizeof(r->rep.u.psk));
		result = eng_reply_fail(r, PROTO_R_INTERNAL, "PSK failed");
		goto wipe;
	}
	r->rep.u.psk.len = ENG_PSK_LEN;
	/* For discovery: the session lists only this target's resources. */
	snprintf(r->rep.u.psk.tenant, sizeof(r->rep.u.psk.tenant), "%s",
	    t.tenant);
	snprintf(r->rep.u.psk.profile, sizeof(r->rep.u.psk.profile), "%s",
	    t.profile);
	result = PROTO_R_OK;
	goto wipe;
out:
	eng_reply_fail(r, PROTO_R_NOT_FOUND, "no PSK for this identity");
wipe:
	explicit_bzero(token, sizeof(token));
	explicit_bzero(&t, sizeof(t));
	return result;
}

int
eng_h_psk(struct eng_engine *e, const struct eng_rt *rt, struct eng_ident *id,
    const struct proto_request *req, struct eng_reply *r)
{
	int rc;

	/*
	 * The identity is the credential: one nobody can use is a failed
	 * authentication.  Admission made ev.peer this channel's peer.
	 */
	if ((rc = psk_lookup(e, req, r)) == PROTO_R_NOT_FOUND) {
		eng_gate_auth_failed(e, rt, req->ev.peer, &req->ev, NULL, NULL);
		r->quiet = 1;
	} else
		eng_gate_auth_ok(e, rt, &req->ev);
	return rc;
}
