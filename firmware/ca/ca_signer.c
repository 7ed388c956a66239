/*
 * Signers: the only way the core reaches an issuer's private key.  The
 * core hands over the exact TBSCertificate bytes it linted and gets back
 * a signature in X.509 form (DER ECDSA-Sig-Value, PKCS#1 v1.5, or
 * PureEdDSA) under the AlgorithmIdentifier the signer announces.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ca_local.h"

struct ca_signer {
	ca_sign_fn sign;
	void *ctx;
	void (*ctx_free)(void *);
	EVP_PKEY *pub;
	uint8_t algid[CA_MAX_ALGID];
	size_t algid_len;
	const EVP_MD *md;	/* NULL for Ed25519 */
};

/* RFC 5758 3.2, RFC 4055 5 and RFC 8410 3 AlgorithmIdentifiers. */
static const uint8_t ca_alg_es256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const uint8_t ca_alg_es384[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };
static const uint8_t ca_alg_es512[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 };
static const uint8_t ca_alg_rs256[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86,
	0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
static const uint8_t ca_alg_ed25519[] = { 0x30, 0x05, 0x06, 0x03, 0x2b,
	0x65, 0x70 };

/* Chooses the signature algorithm an issuer key uses. */
static int
ca_signer_alg(struct ca_signer *s)
{
	const uint8_t *a = NULL;
	size_t len = 0;
	char group[32];
	size_t glen = 0;

	if (EVP_PKEY_is_a(s->pub, "EC")) {
		if (!EVP_PKEY_get_group_name(s->pub, group, sizeof(group),
		    &glen))
			return -1;
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0) {
			a = ca_alg_es256, len = sizeof(ca_alg_es256);
			s->md = ca_md_sha256();
		} else if (strcmp(group, "secp384r1") == 0 ||
		    strcmp(group, "P-384") == 0) {
			a = ca_alg_es384, len = sizeof(ca_alg_es384);
			s->md = ca_md_sha384();
		} else if (strcmp(group, "secp521r1") == 0 ||
		    strcmp(group, "P-521") == 0) {
			a = ca_alg_es512, len = sizeof(ca_alg_es512);
			s->md = ca_md_sha512();
		}
	} else if (EVP_PKEY_is_a(s->pub, "RSA")) {
		a = ca_alg_rs256, len = sizeof(ca_alg_rs256);
		s->md = ca_md_sha256();
	} else if (EVP_PKEY_is_a(s->pub, "ED25519")) {
		a = ca_alg_ed25519, len = sizeof(ca_alg_ed25519);
		s->md = NULL;
	}
	if (a == NULL)
		return -1;
	memcpy(s->algid, a, len);
	s->algid_len = len;
	return 0;
}

int
ca_signer_new(ca_sign_fn sign, void *ctx, void (*ctx_free)(void *),
    EVP_PKEY *pub, struct ca_signer **out)
{
	struct ca_signer *s;

	if (sign == NULL || pub == NULL || out == NULL)
		return CA_ERR_ARG;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CA_ERR_NOMEM;
	s->sign = sign;
	s->ctx = ctx;
	s->ctx_free = ctx_free;
	s->pub = pub;
	EVP_PKEY_up_ref(pub);
	if (ca_signer_alg(s) != 0) {
		s->ctx_free = NULL;	/* the caller keeps ctx on failure */
		ca_signer_free(s);
		return CA_ERR_KEY;
	}
	*out = s;
	return CA_OK;
}

void
ca_signer_free(struct ca_signer *s)
{
	if (s == NULL)
		return;
	if (s->ctx_free != NULL)
		s->ctx_free(s->ctx);
	EVP_PKEY_free(s->pub);
	free(s);
}

EVP_PKEY *
ca_signer_public(const struct ca_signer *s)
{
	return s->pub;
}

const uint8_t *
ca_signer_algid(const struct ca_signer *s, size_t *len)
{
	*len = s->algid_len;
	return s->algid;
}

const EVP_MD *
ca_signer_md(const struct ca_signer *s)
{
	return s->md;
}

int
ca_signer_sign(const struct ca_signer *s, const uint8_t *tbs, size_t len,
    uint8_t *sig, size_t *siglen)
{
	return s->sign(s->ctx, tbs, len, sig, siglen);
}

/* A software key: for tests and for tools that hold no token. */
struct ca_evp_ctx {
	EVP_PKEY *key;
	const EVP_MD *md;
};

static int
ca_evp_sign(void *arg, const uint8_t *tbs, size_t len, uint8_t *sig,
    size_t *siglen)
{
	struct ca_evp_ctx *c = arg;
	EVP_MD_CTX *m = NULL;
	int rc = CA_ERR_SIGN;

	if ((m = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(m, NULL, c->md, NULL, c->key) != 1 ||
	    EVP_DigestSign(m, sig, siglen, tbs, len) != 1)
		goto out;
	rc = CA_OK;
out:
	EVP_MD_CTX_free(m);
	return rc;
}

static void
ca_evp_free(void *arg)
{
	struct ca_evp_ctx *c = arg;

	if (c == NULL)
		return;
	EVP_PKEY_free(c->key);
	free(c);
}

int
ca_signer_evp(EVP_PKEY *key, struct ca_signer **out)
{
	struct ca_evp_ctx *c;
	int rc;

	if (key == NULL || out == NULL)
		return CA_ERR_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CA_ERR_NOMEM;
	c->key = key;
	EVP_PKEY_up_ref(key);
	if ((rc = ca_signer_new(ca_evp_sign, c, ca_evp_free, key,
	    out)) != CA_OK) {
		ca_evp_free(c);
		return rc;
	}
	c->md = (*out)->md;
	return CA_OK;
}
