/*
 * The two JWS nested inside another: external account binding (RFC 8555
 * 7.3.4), a MAC by the operator's key over the new account's key, and
 * key change (7.3.5), the new key's signature over the account URL and
 * the old key.  Both bind the inner JWS to the outer one by "url".
 */
#include <string.h>

#include "acme_local.h"

/* The payload of `jws` is a JWK equal to `key`. */
static int
eab_payload_is(const struct acme_jws *jws, EVP_PKEY *key)
{
	struct acme_json *doc = NULL;
	EVP_PKEY *k = NULL;
	int rc;

	if ((rc = acme_json_parse(jws->payload, jws->payloadlen, &doc)) !=
	    ACME_OK)
		return rc;
	if ((rc = acme_jwk_parse(acme_json_root(doc), &k)) == ACME_OK &&
	    EVP_PKEY_eq(k, key) != 1)
		rc = ACME_E_SIG;
	EVP_PKEY_free(k);
	acme_json_free(doc);
	return rc;
}

int
acme_eab_parse(const struct acme_jnode *eab, const char *url,
    EVP_PKEY *account_key, struct acme_jws **out)
{
	struct acme_jws *jws = NULL;
	int rc;

	*out = NULL;
	if ((rc = acme_jws_parse_node(eab, ACME_JWS_EAB, &jws)) != ACME_OK)
		return rc;
	/* 7.3.4: the same "url" as the outer JWS (the newAccount URL). */
	if (strcmp(jws->url, url) != 0) {
		rc = ACME_E_URL;
		goto out;
	}
	/* 7.3.4: the payload is the account key: the MAC binds it. */
	if ((rc = eab_payload_is(jws, account_key)) != ACME_OK)
		goto out;
	*out = jws;
	jws = NULL;
 out:
	acme_jws_free(jws);
	return rc;
}

int
acme_eab_verify(const struct acme_jws *eab, const uint8_t *hmac,
    size_t hmaclen)
{
	if (eab->alg != ACME_ALG_HS256)
		return ACME_E_ALG;
	return acme_jws_mac_verify(hmac, hmaclen, (const uint8_t *)eab->input,
	    eab->inputlen, eab->sig, eab->siglen);
}

/* 7.3.5: {"account": the account URL, "oldKey": the current key}. */
static int
keychange_payload(const struct acme_jws *inner, const char *account_url,
    EVP_PKEY *old_key)
{
	struct acme_json *doc = NULL;
	const struct acme_jnode *root;
	EVP_PKEY *k = NULL;
	const char *acct;
	int rc;

	if ((rc = acme_json_parse(inner->payload, inner->payloadlen, &doc)) !=
	    ACME_OK)
		return rc;
	root = acme_json_root(doc);
	if ((rc = acme_json_str(root, "account", &acct, NULL)) != ACME_OK)
		goto out;
	if (strcmp(acct, account_url) != 0) {
		rc = ACME_E_VALUE;
		goto out;
	}
	if ((rc = acme_jwk_parse(acme_json_get(root, "oldKey"), &k)) !=
	    ACME_OK)
		goto out;
	if (EVP_PKEY_eq(k, old_key) != 1)
		rc = ACME_E_VALUE;
 out:
	EVP_PKEY_free(k);
	acme_json_free(doc);
	return rc;
}

int
acme_keychange_check(const struct acme_jws *outer, const char *account_url,
    EVP_PKEY *old_key, EVP_PKEY **new_key)
{
	struct acme_jws *inner = NULL;
	int rc;

	*new_key = NULL;
	/* The outer JWS is the account's: kid, not jwk. */
	if (outer->kid == NULL || strcmp(outer->kid, account_url) != 0)
		return ACME_E_HEADER;
	if ((rc = acme_jws_parse(outer->payload, outer->payloadlen,
	    ACME_JWS_KEYCHANGE, &inner)) != ACME_OK)
		return rc;
	if (strcmp(inner->url, outer->url) != 0) {
		rc = ACME_E_URL;
		goto out;
	}
	if ((rc = acme_jws_verify(inner, NULL)) != ACME_OK ||
	    (rc = keychange_payload(inner, account_url, old_key)) != ACME_OK)
		goto out;
	/* Rolling over to the same key is no rollover. */
	if (EVP_PKEY_eq(inner->jwk, old_key) == 1) {
		rc = ACME_E_VALUE;
		goto out;
	}
	*new_key = inner->jwk;
	inner->jwk = NULL;
 out:
	acme_jws_free(inner);
	return rc;
}
