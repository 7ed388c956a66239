/*
 * Issuers, validity and serial numbers.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca_local.h"

static int
ca_asn1_time(const ASN1_TIME *at, time_t *out)
{
	struct ca_tlv t;

	memset(&t, 0, sizeof(t));
	t.tag = ASN1_STRING_type(at) == V_ASN1_UTCTIME ? CA_T_UTCTIME :
	    CA_T_GENTIME;
	t.val = ASN1_STRING_get0_data(at);
	t.len = (size_t)ASN1_STRING_length(at);
	return ca_der_time(&t, out);
}

/* RFC 5280 4.2.1.1: the AKI of what we issue is the issuer's SKI. */
static int
ca_issuer_ski(struct ca_issuer *iss)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(iss->cert);
	const ASN1_BIT_STRING *bits;
	unsigned int len = 0;

	if (ski != NULL) {
		if ((size_t)ASN1_STRING_length(ski) > sizeof(iss->ski) ||
		    ASN1_STRING_length(ski) <= 0)
			return -1;
		iss->ski_len = (size_t)ASN1_STRING_length(ski);
		memcpy(iss->ski, ASN1_STRING_get0_data(ski), iss->ski_len);
		return 0;
	}
	/* RFC 5280 4.2.1.2 method 1 when the issuer carries no SKI. */
	if ((bits = X509_get0_pubkey_bitstr(iss->cert)) == NULL ||
	    EVP_Digest(ASN1_STRING_get0_data(bits), ASN1_STRING_length(bits),
	    iss->ski, &len, ca_md_sha1(), NULL) != 1)
		return -1;
	iss->ski_len = len;
	return 0;
}

int
ca_issuer_init(struct ca_issuer *iss, const char *name,
    struct ca_signer *signer, X509 *cert, X509 *const *chain, size_t nchain,
    struct ca_err *err)
{
	int len;
	size_t i;
	unsigned char *p;

	memset(iss, 0, sizeof(*iss));
	if (name == NULL || strlen(name) > CA_MAX_ID || signer == NULL ||
	    cert == NULL || nchain > CA_MAX_CHAIN)
		return ca_fail(err, CA_ERR_ARG, "issuer: bad arguments");
	memcpy(iss->name, name, strlen(name) + 1);
	if (EVP_PKEY_eq(X509_get0_pubkey(cert), ca_signer_public(signer)) != 1)
		return ca_fail(err, CA_ERR_ARG, "issuer %s: the signer's key "
		    "is not the certificate's key", name);
	iss->signer = signer;
	X509_up_ref(cert);
	iss->cert = cert;
	for (i = 0; i < nchain; i++) {
		X509_up_ref(chain[i]);
		iss->chain[iss->nchain++] = chain[i];
	}
	if ((len = i2d_X509_NAME(X509_get_subject_name(cert), NULL)) <= 0 ||
	    (iss->subject_der = OPENSSL_malloc((size_t)len)) == NULL)
		goto fail;
	p = iss->subject_der;
	iss->subject_len = (size_t)i2d_X509_NAME(X509_get_subject_name(cert),
	    &p);
	if (ca_issuer_ski(iss) != 0 ||
	    ca_asn1_time(X509_get0_notBefore(cert), &iss->not_before) != 0 ||
	    ca_asn1_time(X509_get0_notAfter(cert), &iss->not_after) != 0 ||
	    ca_chain_load(iss) != 0)
		goto fail;
	return CA_OK;
fail:
	ca_issuer_clear(iss);
	return ca_fail(err, CA_ERR_CRYPTO, "issuer %s: cannot read its "
	    "certificate", name);
}

int
ca_issuer_set_urls(struct ca_issuer *iss, const char *ca_issuers,
    const char *ocsp, const char *crl)
{
	const char *v[3] = { ca_issuers, ocsp, crl };
	char *d[3] = { iss->ca_issuers_url, iss->ocsp_url, iss->crl_url };
	size_t i, len;

	for (i = 0; i < 3; i++) {
		len = v[i] != NULL ? strlen(v[i]) : 0;
		if (len > CA_MAX_URL || (len > 0 &&
		    strncmp(v[i], "http://", 7) != 0 &&
		    strncmp(v[i], "https://", 8) != 0))
			return CA_ERR_ARG;
	}
	for (i = 0; i < 3; i++) {
		len = v[i] != NULL ? strlen(v[i]) : 0;
		memcpy(d[i], len ? v[i] : "", len + 1);
	}
	return CA_OK;
}

int
ca_issuer_set_delta(struct ca_issuer *iss, const char *url, int in_certs)
{
	size_t len = url != NULL ? strlen(url) : 0;

	if (len > CA_MAX_URL || (len > 0 && strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) || (len == 0 && in_certs))
		return CA_ERR_ARG;
	memcpy(iss->delta_url, len ? url : "", len + 1);
	iss->delta_in_certs = in_certs != 0;
	return CA_OK;
}

void
ca_issuer_clear(struct ca_issuer *iss)
{
	size_t i;

	if (iss == NULL)
		return;
	X509_free(iss->cert);
	for (i = 0; i < iss->nchain; i++)
		X509_free(iss->chain[i]);
	OPENSSL_free(iss->subject_der);
	ca_chain_free(iss->rules);
	memset(iss, 0, sizeof(*iss));
}

/*
 * policy: notBefore is backdated by at most CA_BACKDATE seconds (clock
 * skew), notAfter is the TTL capped by the profile, and never later
 * than the issuer's notAfter: truncated or refused as the profile says.
 */
int
ca_validity(const struct ca_profile *p, const struct ca_issuer *iss,
    int64_t ttl, time_t now, time_t *nb, time_t *na, int *truncated,
    struct ca_err *err)
{
	*truncated = 0;
	if (ttl < 0)
		return ca_fail(err, CA_ERR_VALIDITY, "requested TTL %lld is "
		    "negative", (long long)ttl);
	if (ttl == 0)
		ttl = p->default_ttl;
	if (ttl > p->max_ttl)
		ttl = p->max_ttl;
	if (now < iss->not_before || now >= iss->not_after)
		return ca_fail(err, CA_ERR_VALIDITY, "issuer %s is not valid "
		    "now", iss->name);
	*nb = now - CA_BACKDATE;
	if (*nb < iss->not_before)
		*nb = iss->not_before;
	*na = now + (time_t)ttl;
	if (*na > iss->not_after) {
		if (p->on_issuer_expiry == CA_EXPIRY_REFUSE)
			return ca_fail(err, CA_ERR_VALIDITY, "TTL of %lld s "
			    "outlives issuer %s and profile %s refuses to "
			    "truncate", (long long)ttl, iss->name, p->name);
		*na = iss->not_after;
		*truncated = 1;
	}
	return CA_OK;
}

/*
 * CABF BR 7.1: 64+ bits of CSPRNG output; RFC 5280 4.1.2.2: positive, at
 * most 20 octets.  128 random bits with the first octet in 0x01..0x7f
 * keep the DER INTEGER at exactly 16 octets and positive.
 */
int
ca_serial_new(uint8_t serial[CA_SERIAL_LEN], struct ca_err *err)
{
	if (RAND_bytes(serial, CA_SERIAL_LEN) != 1)
		return ca_fail(err, CA_ERR_CRYPTO, "CSPRNG failed");
	serial[0] &= 0x7f;
	if (serial[0] == 0)
		serial[0] = 0x01;
	return CA_OK;
}
