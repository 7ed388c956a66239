/*
 * Golden vectors and forgeries from tests/data/ca through the whole
 * pipeline (software issuer): each must be issued or refused with the
 * named reason.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ca_test.h"

struct vec {
	const char *file;
	const char *tenant;
	const char *profile;
	int rc;
	const char *msg;	/* substring of the refusal */
};

static const struct vec vecs[] = {
	{ "good_p256.der", "a", "web", CA_OK, NULL },
	{ "good_p256.pem", "a", "web", CA_OK, NULL },
	{ "good_p384.der", "a", "web", CA_OK, NULL },
	{ "good_p521.der", "a", "web", CA_OK, NULL },
	{ "good_rsa2048.der", "a", "web", CA_OK, NULL },
	{ "good_ed25519.der", "a", "web", CA_OK, NULL },
	{ "good_nocn.der", "a", "web", CA_OK, NULL },
	{ "good_idn.der", "a", "web", CA_OK, NULL },
	{ "good_ca_false.der", "a", "web", CA_OK, NULL },
	{ "good_ip.der", "a", "ip", CA_OK, NULL },
	{ "good_ip.der", "a", "web", CA_ERR_NAME, "allows no IP SANs" },
	{ "good_uri.der", "a", "uri", CA_OK, NULL },
	{ "good_uri.der", "a", "web", CA_ERR_NAME, "URI SAN" },
	{ "good_wildcard.der", "a", "wild", CA_OK, NULL },
	{ "good_wildcard.der", "a", "web", CA_ERR_NAME,
	  "wildcard DNS name not allowed" },
	{ "good_other_tenant.der", "b", "web", CA_OK, NULL },
	{ "good_other_tenant.der", "a", "web", CA_ERR_NAME,
	  "\"www.tenant-b.test\" is not allowed by profile web" },
	{ "good_p256.der", "b", "web", CA_ERR_NAME, "is not allowed" },
	{ "bad_pop.der", "a", "web", CA_ERR_POP, "does not verify" },
	{ "bad_pop_subject.der", "a", "web", CA_ERR_POP, "does not verify" },
	{ "sha1.der", "a", "web", CA_ERR_ALG, "sha1WithRSAEncryption" },
	{ "rsa1024.der", "a", "web", CA_ERR_KEY, "1024 bits" },
	{ "secp256k1.der", "a", "web", CA_ERR_KEY, "named curve" },
	{ "ca_true_extreq.der", "a", "web", CA_ERR_EXT,
	  "CSR requests basicConstraints CA:TRUE (extensionRequest)" },
	{ "ca_true_msextreq.der", "a", "web", CA_ERR_EXT,
	  "CSR requests basicConstraints CA:TRUE (msExtReq)" },
	{ "unknown_critical.der", "a", "web", CA_ERR_EXT,
	  "unknown critical extension 1.2.3.4" },
	{ "dup_ext.der", "a", "web", CA_ERR_EXT, "2.5.29.17 twice" },
	{ "eku_codesign.der", "a", "web", CA_ERR_EXT, "extKeyUsage outside" },
	{ "nul_cn.der", "a", "web", CA_ERR_NAME, "control character 0x00" },
	{ "cn_not_in_san.der", "a", "web", CA_ERR_NAME,
	  "\"evil.example.com\" is not in its subjectAltName" },
	{ "no_san.der", "a", "web", CA_ERR_NAME, "no subjectAltName" },
	{ "wildcard_tld.der", "a", "wild", CA_ERR_NAME, "top-level domain" },
	{ "ip_outside.der", "a", "ip", CA_ERR_NAME,
	  "192.168.1.1 is outside the CIDRs" },
	{ "uppercase.der", "a", "web", CA_ERR_NAME, "lowercase" },
	{ "trailing_dot.der", "a", "web", CA_ERR_NAME, "trailing dot" },
	{ "email_san.der", "a", "web", CA_ERR_NAME, "[1] is not supported" },
	{ "trailing_garbage.der", "a", "web", CA_ERR_DECODE,
	  "2 trailing bytes" },
	{ "truncated.der", "a", "web", CA_ERR_DECODE, "not a DER SEQUENCE" },
	{ "bad_length.der", "a", "web", CA_ERR_DECODE, NULL },
	{ "deep_nesting.der", "a", "web", CA_ERR_DECODE, "nesting" },
	{ "oversize.der", "a", "web", CA_ERR_DECODE, "size" },
	{ "good_p256.der", "a", "nosuch", CA_ERR_POLICY, "has no profile" },
};

static void
test_vectors(void **state)
{
	struct ca_test_env *e = *state;
	size_t i;

	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		struct ca_evidence ev = { "service", "test" };
		struct ca_request req;
		struct ca_result res;
		struct ca_err err;
		uint8_t *csr;
		size_t len;
		int rc;

		csr = ca_test_read(v->file, &len);
		memset(&req, 0, sizeof(req));
		memset(&err, 0, sizeof(err));
		req.csr = csr;
		req.csr_len = len;
		req.tenant = strcmp(v->tenant, "a") == 0 ? &e->a : &e->b;
		req.profile = v->profile;
		req.evidence = &ev;
		rc = ca_issue(&req, NULL, &res, NULL, &err);
		if (rc != v->rc || (v->msg && strstr(err.msg, v->msg) == NULL))
			fail_msg("%s (%s/%s): got %d \"%s\", want %d \"%s\"",
			    v->file, v->tenant, v->profile, rc,
			    rc ? err.msg : "", v->rc, v->msg ? v->msg : "");
		if (rc == CA_OK) {
			assert_non_null(res.cert);
			assert_int_equal(ca_lint_cert(res.cert, res.cert_len,
			    CA_LINT_LEAF, &err), CA_OK);
		} else
			assert_null(res.cert);
		ca_result_free(&res);
		free(csr);
	}
}

static void
test_role(void **state)
{
	struct ca_test_env *e = *state;
	struct ca_evidence ev = { "device", NULL };
	struct ca_request req;
	struct ca_result res;
	struct ca_err err;
	size_t len;
	uint8_t *csr = ca_test_read("good_p256.der", &len);

	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.csr_len = len;
	req.tenant = &e->a;
	req.profile = "web";
	req.evidence = &ev;
	assert_int_equal(ca_issue(&req, NULL, &res, NULL, &err),
	    CA_ERR_POLICY);
	assert_non_null(strstr(err.msg, "role device may not use profile web"));
	req.evidence = NULL;
	assert_int_equal(ca_issue(&req, NULL, &res, NULL, &err),
	    CA_ERR_POLICY);
	free(csr);
}

/* Every truncation of a good CSR is refused without a crash. */
static void
test_truncations(void **state)
{
	struct ca_csr csr;
	struct ca_err err;
	size_t len, i;
	uint8_t *der = ca_test_read("good_rsa2048.der", &len);

	for (i = 0; i < len; i++) {
		assert_int_not_equal(ca_csr_parse(der, i, &csr, &err), CA_OK);
		ca_csr_free(&csr);
	}
	assert_int_equal(ca_csr_parse(der, len, &csr, &err), CA_OK);
	assert_int_equal(ca_csr_verify(&csr, &err), CA_OK);
	assert_int_equal(csr.key_bits_n, 2048);
	ca_csr_free(&csr);
	free(der);
}

static int
setup(void **state)
{
	struct ca_test_env *e = calloc(1, sizeof(*e));

	ca_test_env_init(e, NULL, NULL);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	ca_test_env_free(*state);
	free(*state);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_role),
		cmocka_unit_test(test_truncations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
