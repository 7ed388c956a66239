/*
 * The issuance pipeline: parse (ca_parse_request); profile, role, proof
 * of possession, policy and validity (ca_check); build, lint, reserve,
 * sign, assemble, commit (ca_sign_out).  The TBSCertificate is encoded
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

int
ca_parse_request(const struct ca_request *req, struct ca_timing *tm,
    struct ca_prepared **out, struct ca_err *err)
{
	struct ca_prepared *prep;
	int rc;

	*out = NULL;
	if (req == NULL || req->tenant == NULL)
		return ca_fail(err, CA_ERR_ARG, "no request");
	if ((prep = calloc(1, sizeof(*prep))) == NULL)
		return ca_fail(err, CA_ERR_NOMEM, "out of memory");
	prep->req = *req;
	prep->tm = tm;
	prep->t0 = tm != NULL ? ca_now_ns() : 0;
	if ((rc = ca_csr_parse(req->csr, req->csr_len, &prep->csr, err)) !=
	    CA_OK) {
		ca_prepared_free(prep);
		return rc;
	}
	ca_stage(tm, CA_STAGE_PARSE, &prep->t0);
	*out = prep;
	return CA_OK;
}

/* Profile, role, proof of possession, policy and validity. */
int
ca_check(struct ca_prepared *prep, struct ca_err *err)
{
	const struct ca_request *req = &prep->req;
	const struct ca_profile *p;
	time_t now = req->now != 0 ? req->now : time(NULL);
	int rc;

	/* DESIGN rule 7: profiles are looked up in the tenant only. */
	if ((p = ca_tenant_profile(req->tenant, req->profile)) == NULL)
		return ca_fail(err, CA_ERR_POLICY, "tenant %s has no profile "
		    "%s", req->tenant->name, req->profile ? req->profile : "");
	if (!ca_role_allowed(p, req->evidence))
		return ca_fail(err, CA_ERR_POLICY, "role %s may not use "
		    "profile %s", req->evidence && req->evidence->role ?
		    req->evidence->role : "(none)", p->name);
	if ((rc = ca_csr_verify(&prep->csr, err)) != CA_OK)
		return rc;
	ca_stage(prep->tm, CA_STAGE_POP, &prep->t0);
	/* Issue 13: the chain's constraints hold before anything is built. */
	if ((rc = ca_csr_check_policy(&prep->csr, p, err)) != CA_OK ||
	    (rc = ca_chain_check_profile(p, err)) != CA_OK ||
	    (rc = ca_chain_check_names(p->issuer, &prep->csr, err)) != CA_OK ||
	    (rc = ca_validity(p, p->issuer, req->ttl, now, &prep->not_before,
	    &prep->not_after, &prep->truncated, err)) != CA_OK)
		return rc;
	ca_names_text(&prep->csr, prep->names, sizeof(prep->names));
	ca_subject_text(&prep->csr, p, prep->subject, sizeof(prep->subject));
	prep->profile = p;
	ca_stage(prep->tm, CA_STAGE_POLICY, &prep->t0);
	return CA_OK;
}

static int
ca_hook_fail(struct ca_err *err, int hook, int hook_rc, const char *msg)
{
	ca_fail(err, CA_ERR_HOOK, "%s", msg);
	if (err != NULL) {
		err->hook = hook;
		err->hook_rc = hook_rc;
	}
	return CA_ERR_HOOK;
}

/* Reserve the serial, sign, assemble, commit; the certificate into res. */
static int
ca_sign_commit(struct ca_prepared *prep, struct ca_buf *tbs,
    const struct ca_hooks *hooks, struct ca_issued *iss,
    struct ca_result *res, struct ca_err *err)
{
	const struct ca_signer *s = prep->profile->issuer->signer;
	uint8_t sig[CA_MAX_SIG];
	size_t siglen = sizeof(sig);
	int rc;

	/* Ledger: reserve the serial and write intent before signing. */
	if (hooks != NULL && hooks->reserve != NULL &&
	    (rc = hooks->reserve(hooks->arg, iss)) != 0)
		return ca_hook_fail(err, CA_HOOK_RESERVE, rc, "ledger refused "
		    "to reserve the serial: not signed");
	if (ca_signer_sign(s, tbs->p, tbs->len, sig, &siglen) != CA_OK)
		return ca_fail(err, CA_ERR_SIGN, "issuer %s could not sign",
		    prep->profile->issuer->name);
	ca_stage(prep->tm, CA_STAGE_SIGN, &prep->t0);
	if ((rc = ca_assemble(tbs, s, sig, siglen, res, err)) != CA_OK)
		return rc;
	ca_stage(prep->tm, CA_STAGE_OUT, &prep->t0);
	/* DESIGN rule 4: nothing is returned that is not recorded. */
	iss->cert = res->cert;
	iss->cert_len = res->cert_len;
	if (hooks != NULL && hooks->commit != NULL &&
	    (rc = hooks->commit(hooks->arg, iss)) != 0)
		return ca_hook_fail(err, CA_HOOK_COMMIT, rc, "ledger or audit "
		    "could not record the certificate: withheld");
	return CA_OK;
}

int
ca_sign_out(struct ca_prepared *prep, const struct ca_hooks *hooks,
    struct ca_result *res, struct ca_err *err)
{
	static __thread uint8_t tbsmem[CA_MAX_TBS];
	const struct ca_profile *p;
	struct ca_tbs_in in;
	struct ca_issued iss;
	struct ca_buf tbs;
	int rc;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (res == NULL || prep == NULL || (p = prep->profile) == NULL)
		return ca_fail(err, CA_ERR_ARG, "no checked request");
	memset(&in, 0, sizeof(in));
	memset(&iss, 0, sizeof(iss));
	in.csr = &prep->csr;
	in.profile = p;
	in.issuer = p->issuer;
	in.not_before = prep->not_before;
	in.not_after = prep->not_after;
	if ((rc = ca_serial_new(in.serial, err)) != CA_OK)
		goto out;
	ca_buf_init(&tbs, tbsmem, sizeof(tbsmem));
	if ((rc = ca_tbs_build(&in, &tbs, err)) != CA_OK)
		goto out;
	ca_stage(prep->tm, CA_STAGE_BUILD, &prep->t0);
	/* Lint before sign: these bytes, and only these, get signed. */
	if ((rc = ca_lint_tbs_issued(tbs.p, tbs.len, p->issuer, err)) !=
	    CA_OK)
		goto out;
	ca_stage(prep->tm, CA_STAGE_LINT, &prep->t0);
	iss.tenant = prep->req.tenant;
	iss.profile = p;
	memcpy(iss.serial, in.serial, CA_SERIAL_LEN);
	iss.not_before = prep->not_before;
	iss.not_after = prep->not_after;
	iss.truncated = prep->truncated;
	iss.tbs = tbs.p;
	iss.tbs_len = tbs.len;
	iss.subject = prep->subject;
	iss.names = prep->names;
	if ((rc = ca_sign_commit(prep, &tbs, hooks, &iss, res, err)) != CA_OK)
		goto out;
	res->issuer = p->issuer;
	memcpy(res->serial, in.serial, CA_SERIAL_LEN);
	res->not_before = prep->not_before;
	res->not_after = prep->not_after;
	res->truncated = prep->truncated;
out:
	if (rc != CA_OK)
		ca_result_free(res);
	return rc;
}

int
ca_issue(const struct ca_request *req, const struct ca_hooks *hooks,
    struct ca_result *res, struct ca_timing *tm, struct ca_err *err)
{
	struct ca_prepared *prep = NULL;
	int rc;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (res == NULL)
		return ca_fail(err, CA_ERR_ARG, "no request");
	if ((rc = ca_parse_request(req, tm, &prep, err)) == CA_OK &&
	    (rc = ca_check(prep, err)) == CA_OK)
		rc = ca_sign_out(prep, hooks, res, err);
	ca_prepared_free(prep);
	return rc;
}

void
ca_prepared_free(struct ca_prepared *prep)
{
	if (prep == NULL)
		return;
	ca_csr_free(&prep->csr);
	free(prep);
}

void
ca_result_free(struct ca_result *res)
{
	if (res == NULL)
		return;
	free(res->cert);
	memset(res, 0, sizeof(*res));
}
