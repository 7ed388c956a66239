/*
 * `signet-ceremony revoke` records an intermediate as revoked in the
 * ceremony state; `signet-ceremony crl` issues the root CRL from that
 * state with the next CRL number (RFC 5280 5.2.3).  Both use the root
 * key (the transcript is signed with it), so both need two custodians.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "cer_run.h"
#include "cer_x509.h"

static int
revoke_target(struct cer_run *r, X509 *x, char *serial, size_t size)
{
	BIGNUM *bn = NULL;
	char *h = NULL;
	size_t i;
	int rc = CER_FAIL;

	/* policy: only what this root signed can be on its CRL. */
	if (X509_verify(x, X509_get0_pubkey(r->root_cert)) != 1) {
		warnx("%s: not issued by the root %s", r->o->cert,
		    r->c->root_cert);
		goto out;
	}
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) ==
	    NULL || (h = BN_bn2hex(bn)) == NULL || strlen(h) >= size) {
		rc = CER_ERR;
		goto out;
	}
	snprintf(serial, size, "%s", h);
	for (i = 0; i < r->st.nrevoked; i++)
		if (strcmp(r->st.revoked[i].serial, serial) == 0) {
			warnx("%s: serial %s is already revoked", r->o->cert,
			    serial);
			goto out;
		}
	if (r->st.nrevoked >= CER_MAX_REVOKED) {
		warnx("%s: too many revoked certificates", r->c->state);
		rc = CER_ERR;
		goto out;
	}
	rc = CER_OK;
out:
	OPENSSL_free(h);
	BN_free(bn);
	return rc;
}

int
cer_revoke(const struct cer_opts *o)
{
	struct cer_run r;
	struct cer_revoked *rv;
	X509 *x = NULL;
	char serial[80], plan[1024], sum[65];
	int rc;

	if ((rc = cer_run_begin(&r, o, "revoke", 1)) != CER_OK)
		goto out;
	rc = CER_ERR;
	if ((x = cer_load_cert(o->cert)) == NULL ||
	    cer_file_sha256(o->cert, sum) != CER_OK)
		goto out;
	if ((rc = revoke_target(&r, x, serial, sizeof(serial))) != CER_OK)
		goto out;
	snprintf(plan, sizeof(plan), "signet-ceremony revoke will record "
	    "%s (serial %s) as revoked, reason %d, in %s;\nthe next "
	    "`signet-ceremony crl` publishes it.\n", o->cert, serial,
	    o->reason, r.c->state);
	if ((rc = cer_confirm(&r, plan)) != CER_OK ||
	    (rc = cer_token_open(&r)) != CER_OK)
		goto out;
	rv = &r.st.revoked[r.st.nrevoked++];
	snprintf(rv->serial, sizeof(rv->serial), "%s", serial);
	rv->when = (int64_t)time(NULL);
	rv->reason = o->reason;
	rc = CER_ERR;
	if (cer_tx_step(&r.tx, "revoked file=%s sha256=%s serial=%s reason=%d",
	    o->cert, sum, serial, o->reason) != CER_OK)
		goto out;
	rc = cer_run_finish(&r);
out:
	X509_free(x);
	cer_run_end(&r);
	return rc;
}

int
cer_crl(const struct cer_opts *o)
{
	struct cer_run r;
	X509_CRL *crl = NULL;
	char plan[1024], sum[65], *pem = NULL;
	size_t plen;
	int rc;

	if ((rc = cer_run_begin(&r, o, "crl", 1)) != CER_OK)
		goto out;
	if (r.c->crl_file == NULL) {
		warnx("%s: crl { file } is needed to issue a CRL", r.c->path);
		rc = CER_ERR;
		goto out;
	}
	snprintf(plan, sizeof(plan), "signet-ceremony crl will issue root CRL "
	    "number %llu with %zu revoked certificate(s), next update in "
	    "%lld days, into %s\n",
	    (unsigned long long)r.st.crl_number + 1, r.st.nrevoked,
	    (long long)(r.c->crl_next_update / 86400), r.c->crl_file);
	if ((rc = cer_confirm(&r, plan)) != CER_OK ||
	    (rc = cer_token_open(&r)) != CER_OK)
		goto out;
	r.st.crl_number++;
	if ((rc = cer_crl_build(r.c, &r.st, r.root_cert, r.root, time(NULL),
	    &crl)) != CER_OK)
		goto out;
	rc = CER_ERR;
	if (cer_pem_crl(crl, &pem, &plen) != CER_OK ||
	    cer_out_add(&r.out, r.c->crl_file, 0644, 1, pem, plen) != CER_OK)
		goto out;
	cer_sha256_hex((uint8_t *)pem, plen, sum);
	if (cer_tx_step(&r.tx, "crl file=%s sha256=%s number=%llu revoked=%zu",
	    r.c->crl_file, sum, (unsigned long long)r.st.crl_number,
	    r.st.nrevoked) != CER_OK)
		goto out;
	rc = cer_run_finish(&r);
out:
	free(pem);
	X509_CRL_free(crl);
	cer_run_end(&r);
	return rc;
}
