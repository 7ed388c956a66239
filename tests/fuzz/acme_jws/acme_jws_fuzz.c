/*
 * Fuzz target: everything signet_acme reads from a request.  The first
 * byte picks the entry point: a JWS in each role (then its payload as
 * each request, its key, EAB and key change), a payload parser on its
 * own, or the small syntaxes (CertID, time, identifiers, nonces).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t hmac[32] = { 0x5a };
static EVP_PKEY *fixed;	/* the account key of every kid; never freed */

static void
payloads(const uint8_t *p, size_t len, EVP_PKEY *key, const char *url)
{
	static struct acme_new_order no;
	static struct acme_revoke rv;
	static struct acme_der csr;
	struct acme_new_account na;
	struct acme_account_update au;
	struct acme_json *doc = NULL;
	struct acme_jws *eab = NULL;

	if (acme_new_account_parse(p, len, &na, &doc) == ACME_OK) {
		if (na.ncontact > ACME_MAX_CONTACTS)
			abort();
		if (na.eab != NULL && key != NULL && url != NULL &&
		    acme_eab_parse(na.eab, url, key, &eab) == ACME_OK)
			acme_eab_verify(eab, hmac, sizeof(hmac));
		acme_jws_free(eab);
		acme_json_free(doc);
	}
	if (acme_account_update_parse(p, len, &au, &doc) == ACME_OK)
		acme_json_free(doc);
	if (acme_new_order_parse(p, len, &no) == ACME_OK) {
		if (no.nident == 0 || no.nident > ACME_MAX_IDENTS)
			abort();
		for (size_t i = 0; i < no.nident; i++)
			if (strlen(no.ident[i].value) > ACME_MAX_IDENT)
				abort();
	}
	if (acme_finalize_parse(p, len, &csr) == ACME_OK &&
	    csr.len > sizeof(csr.der))
		abort();
	acme_revoke_parse(p, len, &rv);
}

static void
jws(const uint8_t *data, size_t size, enum acme_jws_role role)
{
	struct acme_jws *j = NULL;
	EVP_PKEY *nk = NULL;
	char tp[44];

	if (acme_jws_parse(data, size, role, &j) != ACME_OK)
		return;
	if (j->url == NULL || (role == ACME_JWS_OUTER && j->nonce == NULL) ||
	    (j->jwk == NULL) == (j->kid == NULL))
		abort();
	if (j->payload[j->payloadlen] != '\0')
		abort();
	if (j->jwk != NULL) {
		acme_jws_verify(j, NULL);
		if (acme_jwk_thumbprint_b64(j->jwk, tp) != ACME_OK)
			abort();
		payloads(j->payload, j->payloadlen, j->jwk, j->url);
		if (acme_keychange_check(j, j->url, j->jwk, &nk) == ACME_OK)
			EVP_PKEY_free(nk);
	} else {
		/* A kid names an account: try its (fixed) key and rollover. */
		if (fixed == NULL)
			fixed = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		acme_jws_verify(j, fixed);
		payloads(j->payload, j->payloadlen, NULL, NULL);
		if (acme_keychange_check(j, j->kid, fixed, &nk) == ACME_OK)
			abort();	/* the inner JWS cannot name `fixed` */
	}
	if (role == ACME_JWS_EAB)
		acme_eab_verify(j, hmac, sizeof(hmac));
	acme_jws_free(j);
}

static void
syntaxes(const uint8_t *data, size_t size)
{
	static struct acme_nonce_store st;
	struct acme_certid id;
	struct acme_ident ident;
	char nonce[ACME_NONCE_LEN + 1];
	uint8_t nid[ACME_NONCE_ID];
	uint64_t nexp;
	int64_t t;

	acme_certid_parse((const char *)data, size, &id);
	acme_time_parse((const char *)data, size, &t);
	acme_ident_check(ACME_ID_DNS, (const char *)data, size, &ident);
	acme_ident_check(ACME_ID_IP, (const char *)data, size, &ident);
	if (st.lifetime == 0) {
		acme_nonce_init(&st, hmac, sizeof(hmac), 60);
		acme_nonce_issue(&st, 100, nonce);
	}
	if (acme_nonce_redeem(&st, 100, (const char *)data, size) == ACME_OK)
		abort();	/* forged nonces never pass */
	/* Nor forged cluster nonces (issue 20); hmac is ACME_NONCE_KEY long. */
	if (acme_nonce_check(hmac, 100, 60, (const char *)data, size, nid,
	    &nexp) == ACME_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 5) {
	case 0:
		jws(data + 1, size - 1, ACME_JWS_OUTER);
		break;
	case 1:
		jws(data + 1, size - 1, ACME_JWS_EAB);
		break;
	case 2:
		jws(data + 1, size - 1, ACME_JWS_KEYCHANGE);
		break;
	case 3:
		payloads(data + 1, size - 1, NULL, NULL);
		break;
	default:
		syntaxes(data + 1, size - 1);
		break;
	}
	return 0;
}
