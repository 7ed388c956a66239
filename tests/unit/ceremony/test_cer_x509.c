/*
 * The certificates and CRL the ceremony makes, signed by a root key in a
 * real SoftHSMv2 token: what a relying party's verifier reads in them
 * (basicConstraints, key usage, validity, name constraints, CRL
 * distribution point, CRL number and reasons), and the refusals the
 * operator is told about (an intermediate outliving the root, a lint).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/x509v3.h>

#include <signet/hsm.h>

#include "cer.h"
#include "cer_x509.h"
#include "certest.h"
#include "testtoken.h"

struct fx {
	struct test_token tok;
	struct hsm *h;
	struct hsm_key *root, *inter;
	struct cer_conf *c;
	char dir[512];
};

static const char conf_text[] =
    "state = \"state\"\ntranscript = \"transcript\"\n"
    "token {\n\tlabel = \"root\"\n}\n"
    "root {\n\tcert = \"root.pem\"\n\tvalidity = \"3650d\"\n"
    "\tsubject {\n\t\tCN = \"Test Root\"\n\t\tO = \"Signet Test\"\n"
    "\t\tC = \"NL\"\n\t}\n}\n"
    "custody {\n\tcustodians = { \"a\", \"b\", \"c\" }\n"
    "\tshares_dir = \"shares\"\n}\n"
    "intermediate {\n\tcsr = \"int.csr\"\n\tcert = \"int.pem\"\n"
    "\tvalidity = \"%s\"\n\tpath_length = 0\n"
    "\tpermitted_dns = { \"example.com\" }\n"
    "\texcluded_dns = { \"bad.example.com\" }\n"
    "\tsubject {\n\t\tCN = \"Test Issuing\"\n\t\tO = \"Signet Test\"\n"
    "\t}\n}\n"
    "crl {\n\tfile = \"root.crl\"\n\tnext_update = \"30d\"\n"
    "\turl = \"http://crl.example.com/root.crl\"\n}\n";

static struct cer_conf *
conf(struct fx *f, const char *int_validity)
{
	struct cer_conf *c = NULL;
	char path[600], text[2048], err[CER_MAX_ERR];

	snprintf(path, sizeof(path), "%s/ceremony.conf", f->dir);
	snprintf(text, sizeof(text), conf_text, int_validity);
	cer_put(path, text);
	if (cer_conf_load(path, &c, err, sizeof(err)) != CER_OK)
		fail_msg("ceremony.conf: %s", err);
	return c;
}

static struct hsm_key *
token_key(struct fx *f, const char *label, enum hsm_key_type type)
{
	struct hsm_keygen req = { .type = type, .label = label };
	struct hsm_key *k = NULL;

	assert_int_equal(hsm_key_generate(f->h, &req, &k), HSM_OK);
	return k;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct hsm_config cfg = { 0 };
	char pin[] = TEST_USER_PIN;

	test_token_create(&f->tok, "root");
	cfg.module = f->tok.module;
	cfg.token_label = f->tok.label;
	assert_int_equal(hsm_open(&cfg, pin, strlen(pin), &f->h), HSM_OK);
	f->root = token_key(f, "signet-root", HSM_KEY_EC_P256);
	f->inter = token_key(f, "issuing", HSM_KEY_EC_P384);
	cer_tmpdir(f->dir, sizeof(f->dir));
	f->c = conf(f, "1825d");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	cer_conf_free(f->c);
	hsm_key_free(f->root);
	hsm_key_free(f->inter);
	hsm_close(f->h);
	cer_rmdir(f->dir);
	test_token_destroy(&f->tok);
	free(f);
	return 0;
}

static int
critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static int
days(const ASN1_TIME *from, const ASN1_TIME *to)
{
	int d, s;

	assert_true(ASN1_TIME_diff(&d, &s, from, to));
	return d;
}

static X509 *
root(struct fx *f, time_t now)
{
	X509 *x = NULL;

	assert_int_equal(cer_root_build(f->c, hsm_key_public(f->root), now, &x),
	    CER_OK);
	assert_int_equal(cer_cert_sign(x, f->root, hsm_key_public(f->root),
			     "root"),
	    CER_OK);
	return x;
}

static void
test_root(void **state)
{
	struct fx *f = *state;
	X509 *x = root(f, time(NULL));
	char cn[64];

	assert_int_equal(X509_check_ca(x), 1);
	assert_true(critical(x, NID_basic_constraints));
	assert_true(critical(x, NID_key_usage));
	assert_int_equal(X509_get_pathlen(x), -1);
	assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	/* Self-signed, verifiable with the token key, AKI = SKI. */
	assert_int_equal(X509_check_issued(x, x), X509_V_OK);
	assert_int_equal(X509_verify(x, hsm_key_public(f->root)), 1);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(x),
			     X509_get0_authority_key_id(x)),
	    0);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	/* Ten years, backdated a little for clock skew. */
	assert_int_equal(days(X509_get0_notBefore(x), X509_get0_notAfter(x)),
	    3650);
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
			NID_organizationName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "Signet Test");
	X509_free(x);
}

static void
test_intermediate(void **state)
{
	struct fx *f = *state;
	time_t now = time(NULL);
	X509 *r = root(f, now), *x = NULL;
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	NAME_CONSTRAINTS *nc;
	STACK_OF(DIST_POINT) * dps;
	GENERAL_NAME *gn;

	assert_int_equal(cer_int_build(f->c, r, hsm_key_public(f->inter), now,
			     &x),
	    CER_OK);
	assert_int_equal(cer_cert_sign(x, f->root, hsm_key_public(f->root),
			     "intermediate"),
	    CER_OK);
	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(X509_get_pathlen(x), 0);
	assert_true(critical(x, NID_basic_constraints));
	assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_int_equal(days(X509_get0_notBefore(x), X509_get0_notAfter(x)),
	    1825);
	/* Name constraints: critical, one permitted, one excluded. */
	assert_true(critical(x, NID_name_constraints));
	assert_non_null(
	    nc = X509_get_ext_d2i(x, NID_name_constraints, NULL, NULL));
	assert_int_equal(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), 1);
	assert_int_equal(sk_GENERAL_SUBTREE_num(nc->excludedSubtrees), 1);
	gn = sk_GENERAL_SUBTREE_value(nc->excludedSubtrees, 0)->base;
	assert_int_equal(gn->type, GEN_DNS);
	assert_string_equal(
	    (const char *)ASN1_STRING_get0_data(gn->d.dNSName),
	    "bad.example.com");
	NAME_CONSTRAINTS_free(nc);
	/* The CRL distribution point of the ceremony file. */
	assert_non_null(
	    dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL));
	gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps, 0)
				       ->distpoint->name.fullname,
	    0);
	assert_int_equal(gn->type, GEN_URI);
	assert_string_equal((const char *)ASN1_STRING_get0_data(
				gn->d.uniformResourceIdentifier),
	    "http://crl.example.com/root.crl");
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	/* It chains to the root as OpenSSL's verifier sees it. */
	assert_true(X509_STORE_add_cert(st, r));
	assert_true(X509_STORE_CTX_init(ctx, st, x, NULL));
	if (X509_verify_cert(ctx) != 1)
		fail_msg("intermediate does not verify: %s",
		    X509_verify_cert_error_string(
			X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(x);
	X509_free(r);
}

static void
test_intermediate_outlives_root(void **state)
{
	struct fx *f = *state;
	time_t now = time(NULL);
	X509 *r = root(f, now), *x = NULL;

	cer_conf_free(f->c);
	f->c = conf(f, "3651d");
	cer_stderr_begin();
	assert_int_equal(cer_int_build(f->c, r, hsm_key_public(f->inter), now,
			     &x),
	    CER_FAIL);
	assert_said(cer_stderr_end(),
	    "ceremony.conf: intermediate validity "
	    "3651 days ends after the root's notAfter");
	assert_null(x);
	X509_free(r);
}

static void
test_lint_refuses(void **state)
{
	struct fx *f = *state;
	X509 *x = NULL;
	int i;

	/* A CA certificate without keyCertSign is refused before the
	 * token signs anything. */
	assert_int_equal(cer_root_build(f->c, hsm_key_public(f->root),
			     time(NULL), &x),
	    CER_OK);
	i = X509_get_ext_by_NID(x, NID_key_usage, -1);
	X509_EXTENSION_free(X509_delete_ext(x, i));
	cer_stderr_begin();
	assert_int_equal(cer_cert_sign(x, f->root, hsm_key_public(f->root),
			     "root"),
	    CER_FAIL);
	assert_said(cer_stderr_end(), "root before signing: lint ");
	X509_free(x);
}

static void
test_crl(void **state)
{
	struct fx *f = *state;
	time_t now = time(NULL);
	struct cer_state st = { 0 };
	X509 *r = root(f, now);
	X509_CRL *crl = NULL;
	X509_REVOKED *rev;
	ASN1_INTEGER *num, *sn;
	ASN1_ENUMERATED *reason;

	st.crl_number = 7;
	snprintf(st.revoked[0].serial, sizeof(st.revoked[0].serial), "7f0102");
	st.revoked[0].when = now - 3600;
	st.revoked[0].reason = CRL_REASON_KEY_COMPROMISE;
	snprintf(st.revoked[1].serial, sizeof(st.revoked[1].serial), "05");
	st.revoked[1].when = now - 60;
	st.revoked[1].reason = CRL_REASON_SUPERSEDED;
	st.nrevoked = 2;
	assert_int_equal(cer_crl_build(f->c, &st, r, f->root, now, &crl),
	    CER_OK);
	assert_int_equal(X509_CRL_verify(crl, hsm_key_public(f->root)), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
			     X509_get_subject_name(r)),
	    0);
	assert_int_equal(X509_CRL_get_version(crl), 1);
	assert_int_equal(days(X509_CRL_get0_lastUpdate(crl),
			     X509_CRL_get0_nextUpdate(crl)),
	    30);
	assert_non_null(
	    num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL));
	assert_int_equal(ASN1_INTEGER_get(num), 7);
	ASN1_INTEGER_free(num);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	/* Sorted by serial: 05 first. */
	rev = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 1);
	assert_non_null(sn = s2i_ASN1_INTEGER(NULL, "0x7f0102"));
	assert_int_equal(ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(rev),
			     sn),
	    0);
	ASN1_INTEGER_free(sn);
	assert_non_null(
	    reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL));
	assert_int_equal(ASN1_ENUMERATED_get(reason),
	    CRL_REASON_KEY_COMPROMISE);
	ASN1_ENUMERATED_free(reason);
	X509_CRL_free(crl);
	X509_free(r);
}

static void
test_keys_and_names(void **state)
{
	EVP_PKEY *k;

	(void)state;
	assert_non_null(k = EVP_EC_gen("P-256"));
	assert_true(cer_key_ok(k));
	EVP_PKEY_free(k);
	assert_non_null(k = EVP_EC_gen("P-384"));
	assert_true(cer_key_ok(k));
	EVP_PKEY_free(k);
	assert_non_null(k = EVP_EC_gen("P-521"));
	assert_false(cer_key_ok(k));
	EVP_PKEY_free(k);
	assert_non_null(k = EVP_RSA_gen(1024));
	assert_false(cer_key_ok(k));
	EVP_PKEY_free(k);
	assert_non_null(k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	assert_false(cer_key_ok(k));
	EVP_PKEY_free(k);

	assert_true(cer_dns_ok("example.com"));
	assert_true(cer_dns_ok(".example.com"));
	assert_false(cer_dns_ok("Example.com"));
	assert_false(cer_dns_ok("*.example.com"));
	assert_false(cer_dns_ok(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intermediate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_intermediate_outlives_root,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_lint_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crl, setup, teardown),
		cmocka_unit_test(test_keys_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
