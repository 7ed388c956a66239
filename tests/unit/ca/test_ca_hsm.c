/*
 * Issuance with a P-256 intermediate key inside a SoftHSMv2 token: P-256,
 * P-384, RSA-2048 and Ed25519 leaves verify with `openssl verify` against
 * the chain and carry exactly the profile's extensions.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <signet/hsm.h>
#include <testtoken.h>

#include "ca_test.h"

struct fx {
	struct test_token tok;
	struct hsm *hsm;
	struct hsm_key *key;
	struct ca_signer *signer;
	X509 *inter;
	struct ca_test_env env;
};

/* The intermediate: the token key's public half, signed by the root. */
static X509 *
make_inter(EVP_PKEY *pub)
{
	X509 *root = ca_test_cert("root.pem"), *x = X509_new();
	EVP_PKEY *rk = ca_test_key("keys/root.key");
	X509_NAME *n = X509_NAME_new();

	assert_int_equal(X509_set_version(x, 2), 1);
	{
		BIGNUM *bn = BN_new();

		/* CABF BR 7.1: 64+ random bits, or our own lint refuses. */
		assert_int_equal(BN_rand(bn, 127, BN_RAND_TOP_ONE,
		    BN_RAND_BOTTOM_ANY), 1);
		assert_non_null(BN_to_ASN1_INTEGER(bn,
		    X509_get_serialNumber(x)));
		BN_free(bn);
	}
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Signet HSM Intermediate", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, X509_get_subject_name(root));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 5L * 365 * 86400);
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	ca_test_add_ext(x, root, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0");
	ca_test_add_ext(x, root, NID_key_usage, "critical,keyCertSign,cRLSign");
	ca_test_add_ext(x, root, NID_subject_key_identifier, "hash");
	ca_test_add_ext(x, root, NID_authority_key_identifier, "keyid");
	assert_true(X509_sign(x, rk, EVP_sha256()) > 0);
	X509_NAME_free(n);
	EVP_PKEY_free(rk);
	X509_free(root);
	return x;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct hsm_config cfg;
	struct hsm_keygen kg;
	char pin[] = TEST_USER_PIN;
	struct ca_err err;

	test_token_create(&f->tok, "ca-test");
	memset(&cfg, 0, sizeof(cfg));
	cfg.module = f->tok.module;
	cfg.token_label = f->tok.label;
	assert_int_equal(hsm_open(&cfg, pin, strlen(pin), &f->hsm), HSM_OK);
	memset(&kg, 0, sizeof(kg));
	kg.type = HSM_KEY_EC_P256;
	kg.label = "inter";
	assert_int_equal(hsm_key_generate(f->hsm, &kg, &f->key), HSM_OK);
	assert_int_equal(ca_signer_hsm(f->key, &f->signer), CA_OK);
	f->inter = make_inter(hsm_key_public(f->key));
	ca_test_env_init(&f->env, f->signer, f->inter);
	/* A lint run over the ceremony-style intermediate. */
	{
		unsigned char *der = NULL;
		int len = i2d_X509(f->inter, &der);

		if (ca_lint_cert(der, (size_t)len, CA_LINT_CA, &err) != CA_OK)
			fail_msg("intermediate: %s", err.msg);
		OPENSSL_free(der);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	ca_test_env_free(&f->env);
	ca_signer_free(f->signer);
	X509_free(f->inter);
	hsm_key_free(f->key);
	hsm_close(f->hsm);
	test_token_destroy(&f->tok);
	free(f);
	return 0;
}

static void
write_pem(const char *path, X509 *x)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(PEM_write_X509(fp, x), 1);
	fclose(fp);
}

/* Exactly the profile's extensions, none from the CSR. */
static void
check_fields(X509 *x, const struct ca_issuer *iss)
{
	static const int want[] = { NID_basic_constraints, NID_key_usage,
		NID_ext_key_usage, NID_subject_key_identifier,
		NID_authority_key_identifier, NID_subject_alt_name,
		NID_info_access, NID_crl_distribution_points };
	GENERAL_NAMES *san;
	BASIC_CONSTRAINTS *bc;
	const ASN1_OCTET_STRING *akid;
	char subj[256];
	size_t i;
	int crit;

	assert_int_equal(X509_get_ext_count(x), 8);
	for (i = 0; i < 8; i++)
		assert_true(X509_get_ext_by_NID(x, want[i], -1) >= 0);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(bc->ca, 0);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x),
	    XKU_SSL_SERVER | XKU_SSL_CLIENT);
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(san), 2);
	GENERAL_NAMES_free(san);
	akid = X509_get0_authority_key_id(x);
	assert_non_null(akid);
	assert_int_equal(ASN1_STRING_length(akid), iss->ski_len);
	assert_memory_equal(ASN1_STRING_get0_data(akid), iss->ski,
	    iss->ski_len);
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	assert_string_equal(subj, "/C=DE/O=Acme/CN=www.example.com");
	assert_int_equal(X509_get_version(x), 2);
	assert_int_equal(ASN1_STRING_length(X509_get0_serialNumber(x)), 16);
}

static void
issue_and_verify(struct fx *f, const char *file)
{
	struct ca_evidence ev = { "service", NULL };
	struct ca_request req;
	struct ca_result res;
	struct ca_err err;
	char cert[700], root[700], inter[700];
	const unsigned char *p;
	uint8_t *csr;
	size_t len;
	X509 *x;
	int d;

	csr = ca_test_read(file, &len);
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.csr_len = len;
	req.tenant = &f->env.a;
	req.profile = "web";
	req.evidence = &ev;
	if (ca_issue(&req, NULL, &res, NULL, &err) != CA_OK)
		fail_msg("%s: %s", file, err.msg);
	p = res.cert;
	x = d2i_X509(NULL, &p, (long)res.cert_len);
	assert_non_null(x);
	assert_ptr_equal(p, res.cert + res.cert_len);
	check_fields(x, &f->env.issuer);
	d = (int)(res.not_after - res.not_before);
	assert_int_equal(d, CA_DEFAULT_TTL + CA_BACKDATE);
	snprintf(cert, sizeof(cert), "%s/leaf.pem", f->tok.dir);
	snprintf(root, sizeof(root), "%s/root.pem", f->tok.dir);
	snprintf(inter, sizeof(inter), "%s/inter.pem", f->tok.dir);
	write_pem(cert, x);
	write_pem(root, f->env.root);
	write_pem(inter, f->inter);
	assert_int_equal(test_run("openssl verify -x509_strict -CAfile %s "
	    "-untrusted %s %s >/dev/null", root, inter, cert), 0);
	/* The check can fail: a leaf with one signature bit flipped. */
	res.cert[res.cert_len - 1] ^= 1;
	X509_free(x);
	p = res.cert;
	x = d2i_X509(NULL, &p, (long)res.cert_len);
	assert_non_null(x);
	write_pem(cert, x);
	assert_int_not_equal(test_run("openssl verify -CAfile %s -untrusted "
	    "%s %s >/dev/null 2>&1", root, inter, cert), 0);
	X509_free(x);
	ca_result_free(&res);
	free(csr);
}

static void
test_p256(void **state)
{
	issue_and_verify(*state, "good_p256.der");
}

static void
test_p384(void **state)
{
	issue_and_verify(*state, "good_p384.der");
}

static void
test_rsa2048(void **state)
{
	issue_and_verify(*state, "good_rsa2048.der");
}

static void
test_ed25519(void **state)
{
	issue_and_verify(*state, "good_ed25519.der");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p256),
		cmocka_unit_test(test_p384),
		cmocka_unit_test(test_rsa2048),
		cmocka_unit_test(test_ed25519),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
