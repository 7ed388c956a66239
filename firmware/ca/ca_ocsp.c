/*
 * The OCSP responder core (RFC 6960): status from the ledger, answers
 * written straight to DER and signed by the issuer's signer or by a
 * delegated responder, nonce-less answers cached (ca_ocsp_cache.c).
 * Responder set-up and status lookups live in ca_ocsp_issuer.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca_crl_local.h"
#include "ca_ocsp_local.h"

int
ca_ocsp_new(const struct ca_ocsp_config *cfg, struct ca_ocsp **out)
{
	struct ca_ocsp *o;
	int rc;

	if (cfg == NULL || cfg->ledger == NULL || out == NULL ||
	    cfg->validity < 0 || cfg->refresh < 0)
		return CA_ERR_ARG;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return CA_ERR_NOMEM;
	o->ledger = cfg->ledger;
	o->validity = cfg->validity ? cfg->validity : CA_OCSP_VALIDITY;
	o->refresh = cfg->refresh ? cfg->refresh : o->validity / 2;
	o->ignore_nonce = cfg->ignore_nonce;
	if (o->refresh > o->validity || o->refresh <= 0) {
		free(o);
		return CA_ERR_ARG;
	}
	if ((rc = ca_ocsp_cache_new(cfg->cache_max ? cfg->cache_max :
	    CA_OCSP_CACHE_DEFAULT, &o->cache)) != CA_OK) {
		free(o);
		return rc;
	}
	*out = o;
	return CA_OK;
}

void
ca_ocsp_free(struct ca_ocsp *o)
{
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < o->niss; i++)
		free(o->iss[i].certs);
	ca_ocsp_cache_free(o->cache);
	free(o);
}

/* RFC 6960 4.2.1: an OCSPResponse without responseBytes. */
static int
ca_ocsp_bare(enum ca_ocsp_rstatus st, struct ca_ocsp_answer *ans)
{
	if ((ans->der = malloc(5)) == NULL)
		return CA_ERR_NOMEM;
	ans->der[0] = CA_T_SEQ;
	ans->der[1] = 3;
	ans->der[2] = CA_T_ENUMERATED;
	ans->der[3] = 1;
	ans->der[4] = (uint8_t)st;
	ans->len = 5;
	ans->status = st;
	ans->cert_status = CA_OCSP_UNKNOWN;
	return CA_OK;
}

/* RFC 6960 4.2.1 SingleResponse. */
static void
ca_ocsp_put_single(struct ca_gbuf *b, const struct ca_ocsp_single *s,
    time_t now, int64_t validity)
{
	uint8_t reason;

	ca_gbuf_open(b, CA_T_SEQ);
	ca_gbuf_put(b, s->certid, s->certid_len);
	switch (s->st.cstatus) {
	case CA_OCSP_GOOD:
		ca_gbuf_tlv(b, CA_T_CTX(0), NULL, 0);
		break;
	case CA_OCSP_REVOKED:
		ca_gbuf_open(b, CA_T_CTXC(1));
		ca_gbuf_time(b, (time_t)s->st.revoked_at, 1);
		/* RFC 5280 5.3.1: unspecified is left out, as in CRLs. */
		if (s->st.reason > 0) {
			reason = (uint8_t)s->st.reason;
			ca_gbuf_open(b, CA_T_CTXC(0));
			ca_gbuf_tlv(b, CA_T_ENUMERATED, &reason, 1);
			ca_gbuf_close(b);
		}
		ca_gbuf_close(b);
		break;
	default:
		ca_gbuf_tlv(b, CA_T_CTX(2), NULL, 0);
		break;
	}
	ca_gbuf_time(b, now, 1);
	ca_gbuf_open(b, CA_T_CTXC(0));
	ca_gbuf_time(b, now + (time_t)validity, 1);
	ca_gbuf_close(b);
	ca_gbuf_close(b);
}

/* RFC 6960 4.2.1 ResponseData, 4.4.1 nonce echoed as received. */
static void
ca_ocsp_put_data(struct ca_gbuf *b, const struct ca_ocsp_iss *oi,
    const struct ca_ocsp_single *s, size_t n, const uint8_t *nonce,
    size_t nonce_len, time_t now, int64_t validity)
{
	size_t i;

	ca_gbuf_open(b, CA_T_SEQ);
	ca_gbuf_put(b, oi->rid, oi->rid_len);
	ca_gbuf_time(b, now, 1);
	ca_gbuf_open(b, CA_T_SEQ);
	for (i = 0; i < n; i++)
		ca_ocsp_put_single(b, &s[i], now, validity);
	ca_gbuf_close(b);
	if (nonce != NULL) {
		ca_gbuf_open(b, CA_T_CTXC(1));
		ca_gbuf_open(b, CA_T_SEQ);
		ca_gbuf_ext_open(b, ca_oid_ocsp_nonce,
		    sizeof(ca_oid_ocsp_nonce), 0);
		ca_gbuf_tlv(b, CA_T_OCTETSTRING, nonce, nonce_len);
		ca_gbuf_ext_close(b);
		ca_gbuf_close(b);
		ca_gbuf_close(b);
	}
	ca_gbuf_close(b);
}

/*
 * RFC 6960 4.2.1: OCSPResponse { successful, [0] { id-pkix-ocsp-basic,
 * OCTET STRING { BasicOCSPResponse } } }, one signature.
 */
int
ca_ocsp_sign(struct ca_ocsp *o, const struct ca_ocsp_iss *oi,
    const struct ca_ocsp_single *s, size_t n, const uint8_t *nonce,
    size_t nonce_len, time_t now, uint8_t **der, size_t *len)
{
	struct ca_gbuf b;
	uint8_t sig[CA_MAX_SIG];
	size_t siglen = sizeof(sig), tbs_at, alglen;
	const uint8_t *alg;
	uint8_t ok = CA_OCSP_SUCCESSFUL;
	int rc = CA_ERR_SIGN;

	ca_gbuf_init(&b);
	ca_gbuf_open(&b, CA_T_SEQ);
	ca_gbuf_tlv(&b, CA_T_ENUMERATED, &ok, 1);
	ca_gbuf_open(&b, CA_T_CTXC(0));
	ca_gbuf_open(&b, CA_T_SEQ);
	ca_gbuf_tlv(&b, CA_T_OID, ca_oid_ocsp_basic, sizeof(ca_oid_ocsp_basic));
	ca_gbuf_open(&b, CA_T_OCTETSTRING);
	ca_gbuf_open(&b, CA_T_SEQ);
	tbs_at = b.len;
	ca_ocsp_put_data(&b, oi, s, n, nonce, nonce_len, now, o->validity);
	if (b.err)
		goto out;
	if (ca_signer_sign(oi->signer, b.p + tbs_at, b.len - tbs_at, sig,
	    &siglen) != CA_OK)
		goto out;
	__atomic_add_fetch(&o->signatures, 1, __ATOMIC_RELAXED);
	alg = ca_signer_algid(oi->signer, &alglen);
	ca_gbuf_put(&b, alg, alglen);
	ca_gbuf_bits(&b, sig, siglen);
	/* RFC 6960 4.2.2.2: a delegated responder sends its certificate. */
	if (oi->certs != NULL)
		ca_gbuf_put(&b, oi->certs, oi->certs_len);
	ca_gbuf_close(&b);
	ca_gbuf_close(&b);
	ca_gbuf_close(&b);
	ca_gbuf_close(&b);
	ca_gbuf_close(&b);
	rc = ca_gbuf_take(&b, der, len);
out:
	ca_gbuf_free(&b);
	return rc;
}

static void
ca_ocsp_key(struct ca_ocsp_ckey *k, size_t iss, const struct ca_ocsp_certid *id)
{
	memset(k, 0, sizeof(*k));
	k->iss = (uint8_t)iss;
	k->hash = (uint8_t)id->hash;
	k->slen = (uint8_t)id->serial_len;
	memcpy(k->serial, id->serial, id->serial_len);
}

/* Status of every CertID, signed into one fresh answer. */
static int
ca_ocsp_answer_fresh(struct ca_ocsp *o, size_t ii,
    const struct ca_ocsp_req *r, int cacheable, time_t now,
    struct ca_ocsp_answer *ans, struct ca_err *err)
{
	struct ca_ocsp_single s[CA_MAX_OCSP_SINGLE];
	const struct ca_ocsp_iss *oi = &o->iss[ii];
	struct ca_ocsp_ckey k;
	uint64_t epoch = ca_ocsp_cache_epoch(o->cache);
	size_t i;
	int rc, use_nonce = r->has_nonce && !o->ignore_nonce;

	for (i = 0; i < r->nids; i++) {
		s[i].certid = r->ids[i].der;
		s[i].certid_len = r->ids[i].der_len;
		if ((rc = ca_ocsp_status(o, oi, &r->ids[i], &s[i].st,
		    err)) != CA_OK)
			return rc;
	}
	if (ca_ocsp_sign(o, oi, s, r->nids, use_nonce ? r->nonce : NULL,
	    r->nonce_len, now, &ans->der, &ans->len) != CA_OK)
		return ca_fail(err, CA_ERR_SIGN, "OCSP: signing failed");
	ans->status = CA_OCSP_SUCCESSFUL;
	ans->cert_status = s[0].st.cstatus;
	ans->nonce_signed = use_nonce;
	if (cacheable && s[0].st.cstatus != CA_OCSP_UNKNOWN) {
		ca_ocsp_key(&k, ii, &r->ids[0]);
		(void)ca_ocsp_cache_put(o->cache, &k, s[0].certid,
		    s[0].certid_len, ans->der, ans->len, now, s[0].st.cstatus,
		    epoch);
	}
	return CA_OK;
}

/* The cached answer for r's first CertID; 1 if there was one. */
static int
ca_ocsp_cached(struct ca_ocsp *o, size_t ii, const struct ca_ocsp_req *r,
    time_t now, struct ca_ocsp_answer *ans)
{
	struct ca_ocsp_ckey k;
	int cs;

	ca_ocsp_key(&k, ii, &r->ids[0]);
	if (ca_ocsp_cache_get(o->cache, &k, r->ids[0].der, r->ids[0].der_len,
	    now, o->refresh, &ans->der, &ans->len, &cs) != 1)
		return 0;
	ans->status = CA_OCSP_SUCCESSFUL;
	ans->cert_status = (enum ca_ocsp_cstatus)cs;
	ans->from_cache = 1;
	return 1;
}

int
ca_ocsp_respond(struct ca_ocsp *o, const uint8_t *req, size_t len,
    time_t now, int (*may_sign)(void *), void *arg,
    struct ca_ocsp_answer *ans, struct ca_err *err)
{
	struct ca_ocsp_req r;
	size_t ii;
	int rc, cacheable;

	if (ans == NULL)
		return ca_fail(err, CA_ERR_ARG, "OCSP: no answer");
	memset(ans, 0, sizeof(*ans));
	if (o == NULL)
		return ca_fail(err, CA_ERR_ARG, "OCSP: no responder");
	if (now == 0)
		now = time(NULL);
	if (ca_ocsp_req_parse(req, len, &r, err) != CA_OK)
		return ca_ocsp_bare(CA_OCSP_MALFORMED, ans);
	/* RFC 6960 2.3: not authoritative for the first CertID's issuer. */
	if (ca_ocsp_find_issuer(o, &r.ids[0], &ii) != 0) {
		ca_fail(err, CA_ERR_POLICY, "OCSP: not an issuer of ours");
		return ca_ocsp_bare(CA_OCSP_UNAUTHORIZED, ans);
	}
	cacheable = r.nids == 1 && (!r.has_nonce || o->ignore_nonce);
	if (cacheable && ca_ocsp_cached(o, ii, &r, now, ans))
		return CA_OK;
	if (may_sign != NULL && !may_sign(arg)) {
		if (r.nids == 1 && r.has_nonce && !o->ignore_nonce &&
		    ca_ocsp_cached(o, ii, &r, now, ans)) {
			ans->nonce_dropped = 1;
			return CA_OK;
		}
		ca_fail(err, CA_ERR_POLICY, "OCSP: over the signing budget");
		ans->limited = 1;
		return ca_ocsp_bare(CA_OCSP_TRY_LATER, ans);
	}
	if ((rc = ca_ocsp_answer_fresh(o, ii, &r, cacheable, now, ans,
	    err)) != CA_OK) {
		/* RFC 6960 2.3: internalError; err keeps the reason. */
		ca_ocsp_answer_free(ans);
		return ca_ocsp_bare(CA_OCSP_INTERNAL, ans);
	}
	return CA_OK;
}

void
ca_ocsp_answer_free(struct ca_ocsp_answer *a)
{
	if (a == NULL)
		return;
	free(a->der);
	memset(a, 0, sizeof(*a));
}

void
ca_ocsp_invalidate(struct ca_ocsp *o, const uint8_t *serial, size_t len)
{
	if (o != NULL && serial != NULL)
		ca_ocsp_cache_drop(o->cache, serial, len);
}

void
ca_ocsp_stats(struct ca_ocsp *o, struct ca_ocsp_stats *st)
{
	memset(st, 0, sizeof(*st));
	ca_ocsp_cache_stats(o->cache, st);
	st->signatures = __atomic_load_n(&o->signatures, __ATOMIC_RELAXED);
}
