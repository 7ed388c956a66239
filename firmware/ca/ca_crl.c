/*
 * CRLs (RFC 5280 section 5), written straight to DER.  The ledger lists
 * an issuer's revoked, unexpired certificates in one pass and each entry
 * is appended to a growing buffer as it arrives, so a CRL of 100,000
 * entries costs one query, a few megabytes and one signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <signet/ledger.h>

#include "ca_crl_local.h"

struct ca_crl_walk {
	struct ca_gbuf *b;
	size_t n;
	int delta;		/* list only what was revoked since */
	int64_t since;
};

/* RFC 5280 5.2.4 deltaCRLIndicator, 5.2.6 freshestCRL. */
static const uint8_t ca_oid_delta_ind[3] = { 0x55, 0x1d, 0x1b };

/* RFC 5280 5.3.1: CRLReason values; 7 is not used. */
static int
ca_crl_reason_ok(int reason)
{
	return reason >= 0 && reason <= 10 && reason != 7;
}

/*
 * RFC 5280 5.1.2.6: one entry per revoked certificate.  5.3.1: the
 * reasonCode entry extension is absent rather than unspecified (0).
 */
static int
ca_crl_entry(const struct ledger_revoked *r, void *arg)
{
	struct ca_crl_walk *w = arg;
	struct ca_gbuf *b = w->b;
	uint8_t reason;

	/* RFC 5280 5.2.4: a delta lists the changes since its base. */
	if (w->delta && r->revoked_at < w->since)
		return 0;
	/* RFC 5280 5.1.2.6: the list is absent, not empty, when unused. */
	if (w->n++ == 0)
		ca_gbuf_open(b, CA_T_SEQ);
	ca_gbuf_open(b, CA_T_SEQ);
	ca_gbuf_uint(b, r->serial.b, r->serial.len);
	ca_gbuf_time(b, (time_t)r->revoked_at, 0);
	if (r->reason > 0 && ca_crl_reason_ok(r->reason)) {
		reason = (uint8_t)r->reason;
		ca_gbuf_open(b, CA_T_SEQ);
		ca_gbuf_ext_open(b, ca_oid_crl_reason,
		    sizeof(ca_oid_crl_reason), 0);
		ca_gbuf_tlv(b, CA_T_ENUMERATED, &reason, 1);
		ca_gbuf_ext_close(b);
		ca_gbuf_close(b);
	}
	ca_gbuf_close(b);
	return b->err;
}

/*
 * RFC 5280 5.2.1 authorityKeyIdentifier and 5.2.3 cRLNumber; a delta
 * CRL's critical deltaCRLIndicator naming its base (5.2.4), or a
 * complete CRL's freshestCRL naming where its deltas are (5.2.6).
 */
static void
ca_crl_exts(struct ca_gbuf *b, const struct ca_issuer *iss,
    const struct ca_crl *crl)
{
	ca_gbuf_open(b, CA_T_CTXC(0));
	ca_gbuf_open(b, CA_T_SEQ);
	ca_gbuf_ext_open(b, ca_oid_aki, 3, 0);
	ca_gbuf_open(b, CA_T_SEQ);
	ca_gbuf_tlv(b, CA_T_CTX(0), iss->ski, iss->ski_len);
	ca_gbuf_close(b);
	ca_gbuf_ext_close(b);
	ca_gbuf_ext_open(b, ca_oid_crl_number, sizeof(ca_oid_crl_number), 0);
	ca_gbuf_u64(b, crl->number);
	ca_gbuf_ext_close(b);
	if (crl->base_number != 0) {
		ca_gbuf_ext_open(b, ca_oid_delta_ind, sizeof(ca_oid_delta_ind),
		    1);
		ca_gbuf_u64(b, crl->base_number);
		ca_gbuf_ext_close(b);
	} else if (iss->delta_url[0] != '\0') {
		ca_gbuf_ext_open(b, ca_oid_freshest, 3, 0);
		ca_gbuf_open(b, CA_T_SEQ);	/* CRLDistributionPoints */
		ca_gbuf_open(b, CA_T_SEQ);	/* DistributionPoint */
		ca_gbuf_open(b, CA_T_CTXC(0));	/* distributionPoint */
		ca_gbuf_open(b, CA_T_CTXC(0));	/* fullName */
		ca_gbuf_tlv(b, CA_T_CTX(6), iss->delta_url,
		    strlen(iss->delta_url));
		ca_gbuf_close(b);
		ca_gbuf_close(b);
		ca_gbuf_close(b);
		ca_gbuf_close(b);
		ca_gbuf_ext_close(b);
	}
	ca_gbuf_close(b);
	ca_gbuf_close(b);
}

/* RFC 5280 5.1.2: TBSCertList, v2 because it carries extensions. */
static int
ca_crl_tbs(struct ca_gbuf *b, const struct ca_issuer *iss, struct ledger *l,
    struct ca_crl *crl, struct ca_err *err)
{
	static const uint8_t v2 = 1;
	struct ca_crl_walk w = { b, 0, crl->base_number != 0,
	    (int64_t)crl->since };
	const uint8_t *alg;
	size_t alglen;
	int lrc;

	alg = ca_signer_algid(iss->signer, &alglen);
	ca_gbuf_open(b, CA_T_SEQ);
	ca_gbuf_tlv(b, CA_T_INTEGER, &v2, 1);
	ca_gbuf_put(b, alg, alglen);
	ca_gbuf_put(b, iss->subject_der, iss->subject_len);
	ca_gbuf_time(b, crl->this_update, 0);
	ca_gbuf_time(b, crl->next_update, 0);
	lrc = ledger_list_revoked(l, iss->name, (int64_t)crl->this_update,
	    ca_crl_entry, &w);
	if (lrc != LEDGER_OK)
		return ca_fail(err, CA_ERR_HOOK, "CRL %s: ledger: %s",
		    iss->name, ledger_strerror(lrc));
	if (w.n > 0)
		ca_gbuf_close(b);
	crl->nrevoked = w.n;
	ca_crl_exts(b, iss, crl);
	ca_gbuf_close(b);
	if (b->err)
		return ca_fail(err, CA_ERR_NOMEM, "CRL %s: cannot encode",
		    iss->name);
	return CA_OK;
}

/* A complete CRL, or with base_number != 0 a delta on that base. */
static int
ca_crl_make(const struct ca_issuer *iss, struct ledger *l, time_t now,
    int64_t next_update_secs, uint64_t base_number, time_t since,
    struct ca_crl *out, struct ca_err *err)
{
	struct ca_gbuf b;
	struct ca_crl crl;
	char counter[CA_MAX_ID + 8];
	uint8_t sig[CA_MAX_SIG];
	size_t siglen = sizeof(sig), tbs_at, alglen;
	const uint8_t *alg;
	int rc, lrc;

	memset(&crl, 0, sizeof(crl));
	ca_gbuf_init(&b);
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (iss == NULL || iss->signer == NULL || l == NULL || out == NULL ||
	    next_update_secs <= 0 || next_update_secs > CA_MAX_CRL_VALIDITY) {
		rc = ca_fail(err, CA_ERR_ARG, "CRL: bad arguments");
		goto out;
	}
	crl.this_update = now != 0 ? now : time(NULL);
	crl.next_update = crl.this_update + (time_t)next_update_secs;
	crl.base_number = base_number;
	crl.since = since;
	snprintf(counter, sizeof(counter), "crl:%s", iss->name);
	/* RFC 5280 5.2.3: monotonically increasing, durable first. */
	if ((lrc = ledger_next_counter(l, counter, &crl.number)) !=
	    LEDGER_OK) {
		rc = ca_fail(err, CA_ERR_HOOK, "CRL %s: CRL number: %s",
		    iss->name, ledger_strerror(lrc));
		goto out;
	}
	ca_gbuf_open(&b, CA_T_SEQ);
	tbs_at = b.len;
	if ((rc = ca_crl_tbs(&b, iss, l, &crl, err)) != CA_OK)
		goto out;
	if (ca_signer_sign(iss->signer, b.p + tbs_at, b.len - tbs_at, sig,
	    &siglen) != CA_OK) {
		rc = ca_fail(err, CA_ERR_SIGN, "CRL %s: the signer failed",
		    iss->name);
		goto out;
	}
	alg = ca_signer_algid(iss->signer, &alglen);
	ca_gbuf_put(&b, alg, alglen);
	ca_gbuf_bits(&b, sig, siglen);
	ca_gbuf_close(&b);
	if ((rc = ca_gbuf_take(&b, &crl.der, &crl.len)) != CA_OK) {
		rc = ca_fail(err, rc, "CRL %s: cannot encode", iss->name);
		goto out;
	}
	*out = crl;
	memset(&crl, 0, sizeof(crl));
	rc = CA_OK;
out:
	ca_gbuf_free(&b);
	ca_crl_free(&crl);
	return rc;
}

int
ca_crl_build(const struct ca_issuer *iss, struct ledger *l, time_t now,
    int64_t next_update_secs, struct ca_crl *out, struct ca_err *err)
{
	return ca_crl_make(iss, l, now, next_update_secs, 0, 0, out, err);
}

int
ca_crl_build_delta(const struct ca_issuer *iss, struct ledger *l, time_t now,
    int64_t next_update_secs, uint64_t base_number, time_t since,
    struct ca_crl *out, struct ca_err *err)
{
	if (base_number == 0) {
		if (out != NULL)
			memset(out, 0, sizeof(*out));
		return ca_fail(err, CA_ERR_ARG, "delta CRL: no base");
	}
	return ca_crl_make(iss, l, now, next_update_secs, base_number, since,
	    out, err);
}

void
ca_crl_free(struct ca_crl *crl)
{
	if (crl == NULL)
		return;
	free(crl->der);
	memset(crl, 0, sizeof(*crl));
}
