/*
 * Lints that need the issuer's chain.  e_signet_issuer_name_constraints
 * hands the exact bytes about to be signed to OpenSSL's own name
 * constraint check, the one `openssl verify` runs, for every CA of the
 * chain that carries constraints: a second implementation behind the
 * policy check in ca_chain.c, which names the violated subtree, and the
 * only one that judges directoryName constraints against the subject.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca_lint_local.h"

/* Certificate ::= SEQUENCE { tbs, algorithm, empty signature }. */
static X509 *
ca_lint_x509(const struct ca_lint_ctx *c)
{
	static const uint8_t nosig[3] = { CA_T_BITSTRING, 0x01, 0x00 };
	const unsigned char *p;
	struct ca_buf b;
	uint8_t *mem;
	size_t cap = c->tbs_len + c->sigalg.raw_len + 16;
	X509 *x = NULL;

	if ((mem = malloc(cap)) == NULL)
		return NULL;
	ca_buf_init(&b, mem, cap);
	ca_buf_open(&b, CA_T_SEQ);
	ca_buf_put(&b, c->tbs, c->tbs_len);
	ca_buf_put(&b, c->sigalg.raw, c->sigalg.raw_len);
	ca_buf_put(&b, nosig, sizeof(nosig));
	ca_buf_close(&b);
	p = mem;
	if (!b.err)
		x = d2i_X509(NULL, &p, (long)b.len);
	free(mem);
	return x;
}

static int
ca_lint_has_dns(X509 *x)
{
	GENERAL_NAMES *gens;
	int i, dns = 0;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		dns |= sk_GENERAL_NAME_value(gens, i)->type == GEN_DNS;
	GENERAL_NAMES_free(gens);
	return dns;
}

int
ca_lint_issuer_nc(const struct ca_lint_ctx *c, struct ca_err *err)
{
	const struct ca_chain *ch = c->issued_by->rules;
	X509 *x;
	size_t k;
	int rc = X509_V_OK, dns;

	if (ch == NULL || ch->nnc == 0)
		return CA_OK;
	if ((x = ca_lint_x509(c)) == NULL)
		return ca_fail(err, CA_ERR_LINT, "OpenSSL cannot read the "
		    "TBSCertificate");
	/* The verifier's order: extensions cached, SANs, then the CN. */
	X509_check_purpose(x, -1, 0);
	dns = ca_lint_has_dns(x);
	for (k = 0; k < ch->n && rc == X509_V_OK; k++) {
		if (ch->c[k].nc == NULL)
			continue;
		rc = NAME_CONSTRAINTS_check(x, ch->c[k].nc);
		if (rc == X509_V_OK && !dns)
			rc = NAME_CONSTRAINTS_check_CN(x, ch->c[k].nc);
	}
	X509_free(x);
	if (rc == X509_V_OK)
		return CA_OK;
	return ca_fail(err, CA_ERR_POLICY, "the verifier refuses the "
	    "certificate under %s name constraints: %s", ch->c[k - 1].who,
	    X509_verify_cert_error_string(rc));
}
