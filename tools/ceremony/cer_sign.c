/*
 * `signet-ceremony sign`: the root signs the appliance's intermediate.
 * The CSR proves possession of its key (its signature is verified with
 * the engine's parser); everything else in the certificate comes from
 * the ceremony file.  Policy is checked and the certificate linted
 * before any share is asked for, so a bad request costs no one a PIN.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <signet/ca.h>

#include "cer_run.h"
#include "cer_x509.h"

static int
sign_check(const struct cer_conf *c)
{
	size_t i;

	if (c->csr == NULL || c->int_cert == NULL ||
	    c->int_subject.cn == NULL) {
		warnx("%s: intermediate { csr, cert, subject { CN } } are "
		    "needed to sign", c->path);
		return CER_ERR;
	}
	for (i = 0; i < c->npermitted + c->nexcluded; i++) {
		const char *d = i < c->npermitted ? c->permitted[i] :
		    c->excluded[i - c->npermitted];

		if (!cer_dns_ok(d)) {
			warnx("%s: intermediate: \"%s\" is not a lowercase DNS "
			    "subtree", c->path, d);
			return CER_FAIL;
		}
	}
	return cer_out_absent(c->int_cert);
}

/*
 * Reads the CSR (PEM or DER) and verifies its signature (proof of
 * possession); *pub is its public key.  The engine's CSR parser is for
 * leaves (it wants a subjectAltName), so OpenSSL's is used here.
 */
static int
sign_csr(const struct cer_conf *c, EVP_PKEY **pub, char *sum)
{
	X509_REQ *req = NULL;
	BIO *b = NULL;
	uint8_t *data = NULL;
	size_t len;
	int rc = CER_ERR;

	if (cer_read_file(c->csr, &data, &len) != CER_OK)
		return CER_ERR;
	cer_sha256_hex(data, len, sum);
	rc = CER_FAIL;
	if (len > CA_MAX_CSR || (b = BIO_new_mem_buf(data, (int)len)) == NULL)
		goto out;
	if ((req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL)) == NULL) {
		const uint8_t *p = data;

		req = d2i_X509_REQ(NULL, &p, (long)len);
	}
	if (req == NULL || (*pub = X509_REQ_get_pubkey(req)) == NULL) {
		warnx("%s: not a PKCS#10 certificate request", c->csr);
		goto out;
	}
	if (X509_REQ_verify(req, *pub) != 1) {
		warnx("%s: CSR signature does not verify", c->csr);
		goto out;
	}
	if (!cer_key_ok(*pub)) {
		warnx("%s: key type or size refused (P-256, P-384 or RSA >= "
		    "2048)", c->csr);
		goto out;
	}
	rc = CER_OK;
out:
	if (rc != CER_OK) {
		EVP_PKEY_free(*pub);
		*pub = NULL;
	}
	X509_REQ_free(req);
	BIO_free(b);
	free(data);
	return rc;
}

static int
sign_plan(struct cer_run *r, X509 *x)
{
	const struct cer_conf *c = r->c;
	char plan[4096], na[32];
	size_t n;

	snprintf(na, sizeof(na), "%lld days",
	    (long long)(c->int_validity / 86400));
	n = (size_t)snprintf(plan, sizeof(plan),
	    "signet-ceremony sign will sign, with root key \"%s\" in token "
	    "\"%s\":\n"
	    "  request    %s (signature verified)\n"
	    "  subject    CN=%s%s%s\n"
	    "  validity   %s, not beyond the root's\n"
	    "  CA:TRUE, pathlen %ld, keyCertSign and cRLSign\n",
	    c->key_label, c->token_label, c->csr, c->int_subject.cn,
	    c->int_subject.o ? ", O=" : "",
	    c->int_subject.o ? c->int_subject.o : "", na, c->path_length);
	n = cer_plan_constraints(c, plan, n, sizeof(plan));
	if (n < sizeof(plan))
		snprintf(plan + n, sizeof(plan) - n, "  output     %s\n",
		    c->int_cert);
	return cer_confirm(r, plan);
}

static void
serial_hex(X509 *x, char *out, size_t size)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h = bn != NULL ? BN_bn2hex(bn) : NULL;

	snprintf(out, size, "%s", h != NULL ? h : "?");
	OPENSSL_free(h);
	BN_free(bn);
}

int
cer_sign(const struct cer_opts *o)
{
	struct cer_run r;
	EVP_PKEY *pub = NULL;
	X509 *x = NULL;
	char csum[65], sum[65], serial[80], *pem = NULL;
	size_t plen;
	int rc;

	if ((rc = cer_run_begin(&r, o, "sign", 1)) != CER_OK ||
	    (rc = sign_check(r.c)) != CER_OK ||
	    (rc = sign_csr(r.c, &pub, csum)) != CER_OK ||
	    (rc = cer_int_build(r.c, r.root_cert, pub, time(NULL), &x)) !=
	    CER_OK || (rc = sign_plan(&r, x)) != CER_OK ||
	    (rc = cer_token_open(&r)) != CER_OK)
		goto out;
	if ((rc = cer_cert_sign(x, r.root, X509_get0_pubkey(r.root_cert),
	    r.c->int_cert)) != CER_OK)
		goto out;
	rc = CER_ERR;
	if (cer_pem_cert(x, &pem, &plen) != CER_OK ||
	    cer_out_add(&r.out, r.c->int_cert, 0644, 0, pem, plen) != CER_OK)
		goto out;
	cer_sha256_hex((uint8_t *)pem, plen, sum);
	serial_hex(x, serial, sizeof(serial));
	if (cer_tx_step(&r.tx, "csr file=%s sha256=%s signature=verified",
	    r.c->csr, csum) != CER_OK ||
	    cer_tx_step(&r.tx, "intermediate certificate file=%s sha256=%s "
	    "serial=%s cn=%s pathlen=%ld permitted=%zu excluded=%zu "
	    "lint=passed", r.c->int_cert, sum, serial, r.c->int_subject.cn,
	    r.c->path_length, r.c->npermitted, r.c->nexcluded) != CER_OK)
		goto out;
	if ((rc = cer_run_finish(&r)) == CER_OK)
		printf("intermediate certificate %s (serial %s), SHA-256 of "
		    "the PEM file %s\n", r.c->int_cert, serial, sum);
out:
	free(pem);
	X509_free(x);
	EVP_PKEY_free(pub);
	cer_run_end(&r);
	return rc;
}
