/*
 * The token signer: TBSCertificate bytes go to hsm_key_sign, which
 * returns the X.509 form of the signature; the key never leaves the token.
 */
#include <stdlib.h>

#include <signet/hsm.h>

#include "ca_local.h"

struct ca_hsm_ctx {
	struct hsm_key *key;
	const EVP_MD *md;
};

static int
ca_hsm_sign(void *arg, const uint8_t *tbs, size_t len, uint8_t *sig,
    size_t *siglen)
{
	struct ca_hsm_ctx *c = arg;

	return hsm_key_sign(c->key, c->md, tbs, len, sig, siglen) == HSM_OK ?
	    CA_OK : CA_ERR_SIGN;
}

static void
ca_hsm_free(void *arg)
{
	free(arg);
}

int
ca_signer_hsm(struct hsm_key *key, struct ca_signer **out)
{
	struct ca_hsm_ctx *c;
	EVP_PKEY *pub;
	int rc;

	if (key == NULL || out == NULL || (pub = hsm_key_public(key)) == NULL)
		return CA_ERR_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CA_ERR_NOMEM;
	c->key = key;
	if ((rc = ca_signer_new(ca_hsm_sign, c, ca_hsm_free, pub,
	    out)) != CA_OK) {
		free(c);
		return rc;
	}
	/* The digest must agree with the AlgorithmIdentifier announced. */
	c->md = ca_signer_md(*out);
	return CA_OK;
}
