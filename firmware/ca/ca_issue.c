/*
 * The issuance pipeline: parse, proof of possession, policy, build,
 * lint, reserve, sign, assemble, commit.  The TBSCertificate is encoded
 * once; the linter and the signer see those same bytes, and the
 * certificate is assembled around them without re-encoding.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca_local.h"

static int
ca_role_allowed(const struct ca_profile *p, const struct ca_evidence *ev)
{
	size_t i;

	if (ev == NULL || ev->role == NULL)
		return 0;
	for (i = 0; i < p->nroles; i++)
		if (strcmp(p->roles[i], ev->role) == 0)
			return 1;
	return 0;
}

/* Certificate ::= SEQUENCE { tbs, signatureAlgorithm, BIT STRING }. */
static int
ca_assemble(const struct ca_buf *tbs, const struct ca_signer *s,
    const uint8_t *sig, size_t siglen, struct ca_result *res,
    struct ca_err *err)
{
	static const uint8_t zero = 0;
	struct ca_buf b;
	const uint8_t *alg;
	size_t alg_len, cap;
	uint8_t *mem;

	alg = ca_signer_algid(s, &alg_len);
	cap = tbs->len + alg_len + siglen + 16;
	if ((mem = malloc(cap)) == NULL)
		return ca_fail(err, CA_ERR_NOMEM, "out of memory");
	ca_buf_init(&b, mem, cap);
	ca_buf_open(&b, CA_T_SEQ);
	ca_buf_put(&b, tbs->p, tbs->len);
	ca_buf_put(&b, alg, alg_len);
	ca_buf_open(&b, CA_T_BITSTRING);
	ca_buf_put(&b, &zero, 1);
	ca_buf_put(&b, sig, siglen);
	ca_buf_close(&b);
	ca_buf_close(&b);
	if (b.err) {
		free(mem);
		return ca_fail(err, CA_ERR_ARG, "certificate too large");
	}
	res->cert = mem;
	res->cert_len = b.len;
	return CA_OK;
}

static void
ca_stage(struct ca_timing *tm, enum ca_stage s, uint64_t *t0)
{
	uint64_t t;

	if (tm == NULL)
		return;
	t = ca_now_ns();
	tm->ns[s] += t - *t0;
	*t0 = t;
}

/* Parse, prove possession and check policy; fills in and the validity. */
static int
ca_check(const struct ca_request *req, const struct ca_profile *p,
    struct ca_csr *csr, struct ca_tbs_in *in, struct ca_issued *iss,
    struct ca_timing *tm, uint64_t *t0, struct ca_err *err)
{
	time_t now = req->now != 0 ? req->now : time(NULL);
	int rc;

	if ((rc = ca_csr_parse(req->csr, req->csr_len, csr, err)) != CA_OK)
		return rc;
	ca_stage(tm, CA_STAGE_PARSE, t0);
	if ((rc = ca_csr_verify(csr, err)) != CA_OK)
		return rc;
	ca_stage(tm, CA_STAGE_POP, t0);
	/* Issue 13: the chain's constraints hold before anything is built. */
	if ((rc = ca_csr_check_policy(csr, p, err)) != CA_OK ||
	    (rc = ca_chain_check_profile(p, err)) != CA_OK ||
	    (rc = ca_chain_check_names(p->issuer, csr, err)) != CA_OK ||
	    (rc = ca_validity(p, p->issuer, req->ttl, now, &in->not_before,
	    &in->not_after, &iss->truncated, err)) != CA_OK)
		return rc;
	ca_stage(tm, CA_STAGE_POLICY, t0);
	in->csr = csr;
	in->profile = p;
	in->issuer = p->issuer;
	iss->not_before = in->not_before;
	iss->not_after = in->not_after;
	return CA_OK;
}

static int
ca_sign_out(struct ca_buf *tbs, const struct ca_hooks *hooks,
    struct ca_issued *iss, struct ca_result *res, struct ca_timing *tm,
    uint64_t *t0, struct ca_err *err)
{
	const struct ca_signer *s = iss->profile->issuer->signer;
	uint8_t sig[CA_MAX_SIG];
	size_t siglen = sizeof(sig);
	int rc;

	/* Ledger: reserve the serial and write intent before signing. */
	if (hooks != NULL && hooks->reserve != NULL &&
	    hooks->reserve(hooks->arg, iss) != 0)
		return ca_fail(err, CA_ERR_HOOK, "ledger refused to reserve "
		    "the serial: not signed");
	if (ca_signer_sign(s, tbs->p, tbs->len, sig, &siglen) != CA_OK)
		return ca_fail(err, CA_ERR_SIGN, "issuer %s could not sign",
		    iss->profile->issuer->name);
	ca_stage(tm, CA_STAGE_SIGN, t0);
	if ((rc = ca_assemble(tbs, s, sig, siglen, res, err)) != CA_OK)
		return rc;
	ca_stage(tm, CA_STAGE_OUT, t0);
	/* DESIGN rule 4: nothing is returned that is not recorded. */
	iss->cert = res->cert;
	iss->cert_len = res->cert_len;
	if (hooks != NULL && hooks->commit != NULL &&
	    hooks->commit(hooks->arg, iss) != 0)
		return ca_fail(err, CA_ERR_HOOK, "ledger or audit could not "
		    "record the certificate: withheld");
	return CA_OK;
}

int
ca_issue(const struct ca_request *req, const struct ca_hooks *hooks,
    struct ca_result *res, struct ca_timing *tm, struct ca_err *err)
{
	static __thread uint8_t tbsmem[CA_MAX_TBS];
	const struct ca_profile *p;
	struct ca_csr csr;
	struct ca_tbs_in in;
	struct ca_issued iss;
	struct ca_buf tbs;
	uint64_t t0 = tm != NULL ? ca_now_ns() : 0;
	int rc;

	memset(&csr, 0, sizeof(csr));
	memset(&in, 0, sizeof(in));
	memset(&iss, 0, sizeof(iss));
	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (res == NULL || req == NULL || req->tenant == NULL) {
		rc = ca_fail(err, CA_ERR_ARG, "no request");
		goto out;
	}
	/* DESIGN rule 7: profiles are looked up in the tenant only. */
	if ((p = ca_tenant_profile(req->tenant, req->profile)) == NULL) {
		rc = ca_fail(err, CA_ERR_POLICY, "tenant %s has no profile "
		    "%s", req->tenant->name, req->profile ? req->profile : "");
		goto out;
	}
	if (!ca_role_allowed(p, req->evidence)) {
		rc = ca_fail(err, CA_ERR_POLICY, "role %s may not use profile "
		    "%s", req->evidence && req->evidence->role ?
		    req->evidence->role : "(none)", p->name);
		goto out;
	}
	iss.tenant = req->tenant;
	iss.profile = p;
	if ((rc = ca_check(req, p, &csr, &in, &iss, tm, &t0, err)) != CA_OK)
		goto out;
	if ((rc = ca_serial_new(in.serial, err)) != CA_OK)
		goto out;
	ca_buf_init(&tbs, tbsmem, sizeof(tbsmem));
	if ((rc = ca_tbs_build(&in, &tbs, err)) != CA_OK)
		goto out;
	ca_stage(tm, CA_STAGE_BUILD, &t0);
	/* Lint before sign: these bytes, and only these, get signed. */
	if ((rc = ca_lint_tbs_issued(tbs.p, tbs.len, p->issuer, err)) !=
	    CA_OK)
		goto out;
	ca_stage(tm, CA_STAGE_LINT, &t0);
	memcpy(iss.serial, in.serial, CA_SERIAL_LEN);
	iss.tbs = tbs.p;
	iss.tbs_len = tbs.len;
	if ((rc = ca_sign_out(&tbs, hooks, &iss, res, tm, &t0, err)) != CA_OK)
		goto out;
	res->issuer = p->issuer;
	memcpy(res->serial, in.serial, CA_SERIAL_LEN);
	res->not_before = in.not_before;
	res->not_after = in.not_after;
	res->truncated = iss.truncated;
out:
	if (rc != CA_OK && res != NULL)
		ca_result_free(res);
	ca_csr_free(&csr);
	return rc;
}

void
ca_result_free(struct ca_result *res)
{
	if (res == NULL)
		return;
	free(res->cert);
	memset(res, 0, sizeof(*res));
}
