/*
 * `signet-ceremony cross-sign`: the root signs another CA's key.  Two
 * uses: a root rollover (the new root, cross-signed by the old one, so
 * relying parties that trust only the old root verify chains through the
 * new one) and vouching for another organisation's root under name
 * constraints.  The input must be a self-signed CA certificate: its
 * signature proves that whoever brought it holds its key, as a CSR's
 * does for `sign`.  Our own root is refused (it would vouch for itself).
 * The certificate is built from the ceremony file (cer_cross_build),
 * linted, and the plan confirmed before any share is asked for.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cer_run.h"
#include "cer_x509.h"

static int
cross_input(struct cer_run *r, X509 **out, char *sum)
{
	const char *path = r->o->cert;
	X509 *x = NULL;
	uint8_t *data = NULL;
	size_t len;
	int rc;

	if ((rc = cer_read_file(path, &data, &len)) != CER_OK)
		return rc;
	cer_sha256_hex(data, len, sum);
	free(data);
	rc = CER_FAIL;
	if ((x = cer_load_cert(path)) == NULL) {
		warnx("%s: not a certificate", path);
		goto out;
	}
	if (X509_check_ca(x) < 1 || !(X509_get_extension_flags(x) &
	    EXFLAG_BCONS)) {
		warnx("%s: not a CA certificate (basicConstraints CA:TRUE "
		    "needed)", path);
		goto out;
	}
	if (!(X509_get_extension_flags(x) & EXFLAG_SS) ||
	    X509_verify(x, X509_get0_pubkey(x)) != 1) {
		warnx("%s: not self-signed: only a self-signed CA certificate "
		    "proves its key is held by whoever brings it", path);
		goto out;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(x),
	    X509_get0_pubkey(r->root_cert)) == 1) {
		warnx("%s: this is the ceremony's own root key", path);
		goto out;
	}
	if (!cer_key_ok(X509_get0_pubkey(x))) {
		warnx("%s: key type or size refused (P-256, P-384 or RSA >= "
		    "2048)", path);
		goto out;
	}
	*out = x;
	x = NULL;
	rc = CER_OK;
out:
	X509_free(x);
	return rc;
}

static int
cross_plan(struct cer_run *r, X509 *x)
{
	const struct cer_conf *c = r->c;
	char plan[4096], *subj, na[64];
	const ASN1_TIME *t = X509_get0_notAfter(x);
	struct tm tm;
	size_t n;

	if (!ASN1_TIME_to_tm(t, &tm) ||
	    strftime(na, sizeof(na), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(na, sizeof(na), "?");
	subj = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	n = (size_t)snprintf(plan, sizeof(plan),
	    "signet-ceremony cross-sign will sign, with root key \"%s\" in "
	    "token \"%s\":\n"
	    "  CA         %s (self-signature verified)\n"
	    "  subject    %s\n"
	    "  until      %s\n"
	    "  CA:TRUE, pathlen %ld, keyCertSign and cRLSign\n",
	    c->key_label, c->token_label, r->o->cert,
	    subj != NULL ? subj : "?", na, c->path_length + 1);
	OPENSSL_free(subj);
	n = cer_plan_constraints(c, plan, n, sizeof(plan));
	if (n < sizeof(plan))
		snprintf(plan + n, sizeof(plan) - n, "  output     %s\n",
		    r->o->out);
	return cer_confirm(r, plan);
}

int
cer_cross_sign(const struct cer_opts *o)
{
	struct cer_run r;
	X509 *other = NULL, *x = NULL;
	char isum[65], sum[65], serial[80] = "?", *pem = NULL, *h = NULL;
	BIGNUM *bn = NULL;
	size_t plen;
	int rc;

	if ((rc = cer_run_begin(&r, o, "cross-sign", 1)) != CER_OK ||
	    (rc = cer_out_absent(o->out)) != CER_OK ||
	    (rc = cross_input(&r, &other, isum)) != CER_OK ||
	    (rc = cer_cross_build(r.c, r.root_cert, other, time(NULL), &x)) !=
	    CER_OK ||
	    (rc = cer_cert_lint_tbs(x, X509_get0_pubkey(r.root_cert),
	    o->out)) != CER_OK ||
	    (rc = cross_plan(&r, x)) != CER_OK ||
	    (rc = cer_token_open(&r)) != CER_OK)
		goto out;
	if ((rc = cer_cert_sign(x, r.root, X509_get0_pubkey(r.root_cert),
	    o->out)) != CER_OK)
		goto out;
	rc = CER_ERR;
	if (cer_pem_cert(x, &pem, &plen) != CER_OK ||
	    cer_out_add(&r.out, o->out, 0644, 0, pem, plen) != CER_OK)
		goto out;
	cer_sha256_hex((uint8_t *)pem, plen, sum);
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) !=
	    NULL && (h = BN_bn2hex(bn)) != NULL)
		snprintf(serial, sizeof(serial), "%s", h);
	if (cer_tx_step(&r.tx, "cross-signed file=%s sha256=%s "
	    "signature=verified", o->cert, isum) != CER_OK ||
	    cer_tx_step(&r.tx, "cross certificate file=%s sha256=%s serial=%s "
	    "pathlen=%ld permitted=%zu excluded=%zu lint=passed", o->out, sum,
	    serial, r.c->path_length + 1, r.c->npermitted, r.c->nexcluded) !=
	    CER_OK)
		goto out;
	if ((rc = cer_run_finish(&r)) == CER_OK)
		printf("cross certificate %s (serial %s), SHA-256 of the PEM "
		    "file %s\n", o->out, serial, sum);
out:
	OPENSSL_free(h);
	BN_free(bn);
	free(pem);
	X509_free(x);
	X509_free(other);
	cer_run_end(&r);
	return rc;
}
