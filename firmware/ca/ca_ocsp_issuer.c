/*
 * Who the OCSP responder answers for and what it says: issuers and
 * delegated responders (RFC 6960 4.2.2.2), CertID matching, status from
 * the ledger, and the background refresh of cached answers.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <signet/ledger.h>

#include "ca_ocsp_local.h"

static int
ca_digest(const EVP_MD *md, const void *p, size_t n, uint8_t *out)
{
	return EVP_Digest(p, n, out, NULL, md, NULL) == 1 ? 0 : -1;
}

/* RFC 6960 4.1.1: hashes of the issuer's Name DER and key BIT STRING. */
static int
ca_ocsp_iss_hashes(struct ca_ocsp_iss *oi)
{
	const ASN1_BIT_STRING *k = X509_get0_pubkey_bitstr(oi->iss->cert);
	const uint8_t *kp;
	size_t kl;

	if (k == NULL)
		return -1;
	kp = ASN1_STRING_get0_data(k);
	kl = (size_t)ASN1_STRING_length(k);
	return ca_digest(ca_md_sha1(), oi->iss->subject_der,
	    oi->iss->subject_len, oi->name_sha1) ||
	    ca_digest(ca_md_sha256(), oi->iss->subject_der,
	    oi->iss->subject_len, oi->name_sha256) ||
	    ca_digest(ca_md_sha1(), kp, kl, oi->key_sha1) ||
	    ca_digest(ca_md_sha256(), kp, kl, oi->key_sha256) ? -1 : 0;
}

/* RFC 6960 4.2.1 ResponderID byKey [2] EXPLICIT KeyHash (SHA-1). */
static int
ca_ocsp_rid(struct ca_ocsp_iss *oi, X509 *responder)
{
	const ASN1_BIT_STRING *k = X509_get0_pubkey_bitstr(responder);

	if (k == NULL || ca_digest(ca_md_sha1(), ASN1_STRING_get0_data(k),
	    (size_t)ASN1_STRING_length(k), oi->rid + 4) != 0)
		return -1;
	oi->rid[0] = CA_T_CTXC(2);
	oi->rid[1] = 22;
	oi->rid[2] = CA_T_OCTETSTRING;
	oi->rid[3] = 20;
	oi->rid_len = 24;
	return 0;
}

/* RFC 6960 4.2.2.2: issued by the CA itself, with id-kp-OCSPSigning. */
static int
ca_ocsp_delegate_ok(const struct ca_issuer *iss, struct ca_signer *d,
    X509 *dc, struct ca_err *err)
{
	if (X509_check_issued(iss->cert, dc) != X509_V_OK ||
	    X509_verify(dc, X509_get0_pubkey(iss->cert)) != 1)
		return ca_fail(err, CA_ERR_ARG, "OCSP %s: the delegated "
		    "responder is not issued by this issuer", iss->name);
	if ((X509_get_extension_flags(dc) & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(dc) & XKU_OCSP_SIGN) == 0)
		return ca_fail(err, CA_ERR_ARG, "OCSP %s: the delegated "
		    "responder lacks id-kp-OCSPSigning", iss->name);
	if (EVP_PKEY_eq(X509_get0_pubkey(dc), ca_signer_public(d)) != 1)
		return ca_fail(err, CA_ERR_ARG, "OCSP %s: the delegate's key "
		    "is not its certificate's", iss->name);
	return CA_OK;
}

/* [0] EXPLICIT SEQUENCE OF Certificate with the delegate's certificate. */
static int
ca_ocsp_certs(struct ca_ocsp_iss *oi, X509 *dc)
{
	struct ca_gbuf b;
	unsigned char *der = NULL;
	int len;

	if ((len = i2d_X509(dc, &der)) <= 0)
		return -1;
	ca_gbuf_init(&b);
	ca_gbuf_open(&b, CA_T_CTXC(0));
	ca_gbuf_open(&b, CA_T_SEQ);
	ca_gbuf_put(&b, der, (size_t)len);
	ca_gbuf_close(&b);
	ca_gbuf_close(&b);
	OPENSSL_free(der);
	return ca_gbuf_take(&b, &oi->certs, &oi->certs_len) == CA_OK ? 0 : -1;
}

int
ca_ocsp_add_issuer(struct ca_ocsp *o, const struct ca_issuer *iss,
    struct ca_signer *delegate, X509 *delegate_cert, struct ca_err *err)
{
	struct ca_ocsp_iss oi;
	int rc;

	if (o == NULL || iss == NULL || iss->signer == NULL ||
	    iss->cert == NULL || (delegate == NULL) != (delegate_cert == NULL))
		return ca_fail(err, CA_ERR_ARG, "OCSP: bad arguments");
	if (o->niss == CA_MAX_OCSP_ISSUERS)
		return ca_fail(err, CA_ERR_ARG, "OCSP: more than %d issuers",
		    CA_MAX_OCSP_ISSUERS);
	memset(&oi, 0, sizeof(oi));
	oi.iss = iss;
	oi.signer = iss->signer;
	if (delegate != NULL) {
		if ((rc = ca_ocsp_delegate_ok(iss, delegate, delegate_cert,
		    err)) != CA_OK)
			return rc;
		oi.signer = delegate;
	}
	if (ca_ocsp_iss_hashes(&oi) != 0 || ca_ocsp_rid(&oi, delegate_cert ?
	    delegate_cert : iss->cert) != 0 || (delegate_cert != NULL &&
	    ca_ocsp_certs(&oi, delegate_cert) != 0)) {
		free(oi.certs);
		return ca_fail(err, CA_ERR_CRYPTO, "OCSP %s: cannot read the "
		    "certificates", iss->name);
	}
	o->iss[o->niss++] = oi;
	return CA_OK;
}

static int
ca_ocsp_matches(const struct ca_ocsp_iss *oi, const struct ca_ocsp_certid *id)
{
	if (id->hash == CA_OCSP_SHA1)
		return memcmp(id->name_hash, oi->name_sha1, 20) == 0 &&
		    memcmp(id->key_hash, oi->key_sha1, 20) == 0;
	return memcmp(id->name_hash, oi->name_sha256, 32) == 0 &&
	    memcmp(id->key_hash, oi->key_sha256, 32) == 0;
}

int
ca_ocsp_find_issuer(const struct ca_ocsp *o, const struct ca_ocsp_certid *id,
    size_t *idx)
{
	size_t i;

	for (i = 0; i < o->niss; i++) {
		if (ca_ocsp_matches(&o->iss[i], id)) {
			*idx = i;
			return 0;
		}
	}
	return -1;
}

/*
 * policy: "good" only for a row this issuer committed (ISSUED); a serial
 * the ledger lacks, another issuer's row, or one RESERVED or ABANDONED
 * is unknown (RFC 6960 2.2).
 */
int
ca_ocsp_status(struct ca_ocsp *o, const struct ca_ocsp_iss *oi,
    const struct ca_ocsp_certid *id, struct ca_ocsp_st *st,
    struct ca_err *err)
{
	struct ledger_serial s;
	struct ledger_cert row;
	int lrc;

	memset(st, 0, sizeof(*st));
	st->cstatus = CA_OCSP_UNKNOWN;
	if (!ca_ocsp_matches(oi, id) || id->serial_len == 0)
		return CA_OK;
	memset(&s, 0, sizeof(s));
	s.len = id->serial_len;
	memcpy(s.b, id->serial, id->serial_len);
	memset(&row, 0, sizeof(row));
	lrc = ledger_get_any(o->ledger, &s, &row);
	if (lrc == LEDGER_ERR_NOTFOUND)
		return CA_OK;
	if (lrc != LEDGER_OK)
		return ca_fail(err, CA_ERR_HOOK, "OCSP: ledger: %s",
		    ledger_strerror(lrc));
	if (row.issuer != NULL && strcmp(row.issuer, oi->iss->name) == 0) {
		if (row.status == LEDGER_ISSUED)
			st->cstatus = CA_OCSP_GOOD;
		else if (row.status == LEDGER_REVOKED) {
			st->cstatus = CA_OCSP_REVOKED;
			st->revoked_at = row.revoked_at;
			st->reason = row.reason >= 0 && row.reason <= 10 &&
			    row.reason != 7 ? row.reason : 0;
		}
	}
	ledger_cert_clear(&row);
	return CA_OK;
}

/* Re-reads the status too: another node may have revoked meanwhile. */
static void
ca_ocsp_refresh_one(struct ca_ocsp *o, const struct ca_ocsp_stale *sa,
    time_t now)
{
	struct ca_ocsp_req r;
	struct ca_ocsp_single s;
	struct ca_err err;
	uint64_t epoch = ca_ocsp_cache_epoch(o->cache);
	uint8_t *der = NULL;
	size_t len;

	if (sa->key.iss >= o->niss || ca_ocsp_req_certid(sa->certid,
	    sa->certid_len, &r.ids[0]) != CA_OK)
		return;
	s.certid = sa->certid;
	s.certid_len = sa->certid_len;
	if (ca_ocsp_status(o, &o->iss[sa->key.iss], &r.ids[0], &s.st,
	    &err) != CA_OK)
		return;
	if (s.st.cstatus == CA_OCSP_UNKNOWN) {
		ca_ocsp_cache_drop(o->cache, sa->key.serial, sa->key.slen);
		return;
	}
	if (ca_ocsp_sign(o, &o->iss[sa->key.iss], &s, 1, NULL, 0, now, &der,
	    &len) != CA_OK)
		return;
	(void)ca_ocsp_cache_put(o->cache, &sa->key, sa->certid,
	    sa->certid_len, der, len, now, s.st.cstatus, epoch);
	free(der);
}

size_t
ca_ocsp_refresh(struct ca_ocsp *o, time_t now, size_t max)
{
	struct ca_ocsp_stale batch[64];
	size_t n, i, done = 0;

	if (o == NULL)
		return 0;
	if (now == 0)
		now = time(NULL);
	while (done < max) {
		n = ca_ocsp_cache_stale(o->cache, now - (time_t)o->refresh,
		    batch, max - done < 64 ? max - done : 64);
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			ca_ocsp_refresh_one(o, &batch[i], now);
		done += n;
	}
	return done;
}
