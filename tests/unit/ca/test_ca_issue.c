/*
 * Validity (TTL cap, truncate or refuse at the issuer's notAfter), the
 * ledger hooks failing closed, the linter refusing with a lint name, and
 * the DNS and CIDR checks.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca_test.h"

static int
issue(struct ca_test_env *e, const char *profile, int64_t ttl, time_t now,
    const struct ca_hooks *hooks, struct ca_result *res, struct ca_err *err)
{
	struct ca_evidence ev = { "service", NULL };
	struct ca_request req;
	size_t len;
	uint8_t *csr = ca_test_read("good_p256.der", &len);
	int rc;

	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.csr_len = len;
	req.tenant = &e->a;
	req.profile = profile;
	req.ttl = ttl;
	req.now = now;
	req.evidence = &ev;
	rc = ca_issue(&req, hooks, res, NULL, err);
	free(csr);
	return rc;
}

static void
test_ttl(void **state)
{
	struct ca_test_env *e = *state;
	struct ca_result res;
	struct ca_err err;
	time_t now = e->issuer.not_before + 86400;

	/* Default 25 h, backdated one minute. */
	assert_int_equal(issue(e, "web", 0, now, NULL, &res, &err), CA_OK);
	assert_int_equal(res.not_before, now - 60);
	assert_int_equal(res.not_after, now + 25 * 3600);
	ca_result_free(&res);
	/* A longer request is capped at the profile maximum. */
	assert_int_equal(issue(e, "web", 100 * 3600, now, NULL, &res, &err),
	    CA_OK);
	assert_int_equal(res.not_after, now + 25 * 3600);
	ca_result_free(&res);
	assert_int_equal(issue(e, "web", 3600, now, NULL, &res, &err), CA_OK);
	assert_int_equal(res.not_after, now + 3600);
	assert_int_equal(res.truncated, 0);
	ca_result_free(&res);
	/* Near the issuer's end: truncated, or refused. */
	now = e->issuer.not_after - 3600;
	assert_int_equal(issue(e, "web", 0, now, NULL, &res, &err), CA_OK);
	assert_int_equal(res.not_after, e->issuer.not_after);
	assert_int_equal(res.truncated, 1);
	assert_int_equal(ca_lint_cert(res.cert, res.cert_len, CA_LINT_LEAF,
	    &err), CA_OK);
	ca_result_free(&res);
	assert_int_equal(issue(e, "refuse", 0, now, NULL, &res, &err),
	    CA_ERR_VALIDITY);
	assert_non_null(strstr(err.msg, "refuses to truncate"));
	assert_null(res.cert);
	/* An expired issuer signs nothing. */
	assert_int_equal(issue(e, "web", 0, e->issuer.not_after, NULL, &res,
	    &err), CA_ERR_VALIDITY);
	assert_int_equal(issue(e, "web", -5, 0, NULL, &res, &err),
	    CA_ERR_VALIDITY);
}

static int calls;

static int
hook_fail(void *arg, const struct ca_issued *c)
{
	calls++;
	return *(int *)arg;
}

static void
test_hooks(void **state)
{
	struct ca_test_env *e = *state;
	struct ca_result res;
	struct ca_err err;
	int fail = -1, ok = 0;
	struct ca_hooks h = { hook_fail, NULL, &fail };

	calls = 0;
	assert_int_equal(issue(e, "web", 0, 0, &h, &res, &err), CA_ERR_HOOK);
	assert_null(res.cert);
	/* The hook's own answer comes back in the error (issue 15). */
	assert_int_equal(err.hook, CA_HOOK_RESERVE);
	assert_int_equal(err.hook_rc, -1);
	h.reserve = NULL;
	h.commit = hook_fail;
	assert_int_equal(issue(e, "web", 0, 0, &h, &res, &err), CA_ERR_HOOK);
	assert_null(res.cert);
	assert_non_null(strstr(err.msg, "withheld"));
	assert_int_equal(err.hook, CA_HOOK_COMMIT);
	fail = 7;
	assert_int_equal(issue(e, "web", 0, 0, &h, &res, &err), CA_ERR_HOOK);
	assert_int_equal(err.hook_rc, 7);
	h.reserve = hook_fail;
	h.arg = &ok;
	assert_int_equal(issue(e, "web", 0, 0, &h, &res, &err), CA_OK);
	assert_int_equal(calls, 5);
	ca_result_free(&res);
}

static int
hook_texts(void *arg, const struct ca_issued *c)
{
	const struct ca_prepared *prep = arg;

	/* The hooks record the texts ca_check wrote, not copies. */
	return c->names == prep->names && c->subject == prep->subject ? 0 : 1;
}

/* Issue 15: parse once, check, sign; the ledger's texts come with it. */
static void
test_steps(void **state)
{
	struct ca_test_env *e = *state;
	struct ca_evidence ev = { "service", NULL };
	struct ca_prepared *prep = NULL;
	struct ca_request req;
	struct ca_result res;
	struct ca_hooks h = { hook_texts, hook_texts, NULL };
	struct ca_err err;
	size_t len;
	uint8_t *csr = ca_test_read("good_p256.der", &len);

	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.csr_len = len;
	req.tenant = &e->a;
	req.profile = "web";
	req.evidence = &ev;
	assert_int_equal(ca_parse_request(&req, NULL, &prep, &err), CA_OK);
	assert_int_equal(prep->csr.nnames, 2);
	/* Not checked yet: nothing is signed. */
	assert_int_equal(ca_sign_out(prep, &h, &res, &err), CA_ERR_ARG);
	assert_int_equal(ca_check(prep, &err), CA_OK);
	assert_string_equal(prep->names, "www.example.com,api.example.com");
	assert_string_equal(prep->subject, "CN=www.example.com,O=Acme,C=DE");
	h.arg = prep;
	assert_int_equal(ca_sign_out(prep, &h, &res, &err), CA_OK);
	assert_non_null(res.cert);
	ca_result_free(&res);
	ca_prepared_free(prep);
	free(csr);
}

static void
test_lint_modes(void **state)
{
	struct ca_test_env *e = *state;
	struct ca_result res;
	struct ca_err err;
	size_t i;

	assert_int_equal(issue(e, "web", 0, 0, NULL, &res, &err), CA_OK);
	/* A leaf linted as a CA fails, naming the lint. */
	assert_int_equal(ca_lint_cert(res.cert, res.cert_len, CA_LINT_CA,
	    &err), CA_ERR_LINT);
	assert_string_equal(err.lint, "e_ca_basic_constraints_missing");
	/* A byte changed in the serial's sign bit: not positive. */
	for (i = 0; i + 2 < res.cert_len; i++)
		if (res.cert[i] == 0x02 && res.cert[i + 1] == 16)
			break;
	res.cert[i + 2] |= 0x80;
	assert_int_equal(ca_lint_cert(res.cert, res.cert_len, CA_LINT_LEAF,
	    &err), CA_ERR_LINT);
	assert_string_equal(err.lint, "e_serial_number_not_positive");
	/* Trailing bytes are never a certificate. */
	assert_int_equal(ca_lint_cert(res.cert, res.cert_len - 1,
	    CA_LINT_LEAF, &err), CA_ERR_LINT);
	assert_string_equal(err.lint, "e_tbs_not_strict_der");
	ca_result_free(&res);
	assert_true(ca_lint_count() >= 40);
	for (i = 0; i < ca_lint_count(); i++)
		assert_true(strncmp(ca_lint_name(i), "e_", 2) == 0);
}

static void
test_dns(void **state)
{
	static const struct { const char *n; unsigned fl; int ok; } c[] = {
		{ "www.example.com", CA_P_ENFORCE_HOSTNAMES, 1 },
		{ "xn--bcher-kva.example.com", CA_P_ENFORCE_HOSTNAMES, 1 },
		{ "xn--.example.com", CA_P_ENFORCE_HOSTNAMES, 0 },
		{ "xn--abc-9.example.com", CA_P_ENFORCE_HOSTNAMES, 0 },
		{ "xn--abc.example.com", CA_P_ENFORCE_HOSTNAMES, 0 },
		{ "ab--cd.example.com", CA_P_ENFORCE_HOSTNAMES, 0 },
		{ "a_b.example.com", CA_P_ENFORCE_HOSTNAMES, 0 },
		{ "a_b.example.com", 0, 1 },
		{ "*.example.com", CA_P_WILDCARDS, 1 },
		{ "*.example.com", 0, 0 },
		{ "*.com", CA_P_WILDCARDS, 0 },
		{ "a.*.example.com", CA_P_WILDCARDS, 0 },
		{ "f*.example.com", CA_P_WILDCARDS, 0 },
		{ "-a.example.com", 0, 0 },
		{ "a..example.com", 0, 0 },
		{ "example.com.", 0, 0 },
		{ "Example.com", 0, 0 },
		{ "", 0, 0 },
		{ "a234567890123456789012345678901234567890123456789012345678901234"
		  ".com", 0, 0 },
	};
	struct ca_err err;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		rc = ca_dns_check((const uint8_t *)c[i].n, strlen(c[i].n),
		    c[i].fl, &err);
		if ((rc == CA_OK) != c[i].ok)
			fail_msg("%s: got %d (%s)", c[i].n, rc,
			    rc ? err.msg : "ok");
	}
	assert_int_not_equal(ca_dns_check((const uint8_t *)"a\0b.com", 7, 0,
	    &err), CA_OK);
	assert_non_null(strstr(err.msg, "NUL"));
}

static void
test_setters(void **state)
{
	struct ca_profile p;

	assert_int_equal(ca_profile_init(&p, "x", NULL), CA_OK);
	assert_int_equal(ca_profile_add_cidr(&p, "10.0.0.0/8"), CA_OK);
	assert_int_equal(ca_profile_add_cidr(&p, "2001:db8::/32"), CA_OK);
	assert_int_equal(ca_profile_add_cidr(&p, "10.0.0.1/8"), CA_ERR_ARG);
	assert_int_equal(ca_profile_add_cidr(&p, "10.0.0.0/33"), CA_ERR_ARG);
	assert_int_equal(ca_profile_add_cidr(&p, "10.0.0.0"), CA_ERR_ARG);
	assert_int_equal(ca_profile_add_domain(&p, "Bad..domain"), CA_ERR_ARG);
	assert_int_equal(ca_profile_add_domain(&p, "web-*.example.com"),
	    CA_OK);
	assert_int_equal(ca_profile_set_subject(&p, CA_ATTR_C, "Germany"),
	    CA_ERR_ARG);
	assert_int_equal(ca_profile_set_ttl(&p, 3600, 60), CA_ERR_ARG);
	assert_int_equal(p.default_ttl, CA_DEFAULT_TTL);
}

/* A DER CSR for a fresh key (RSA of bits, or P-256 if 0) with san. */
static uint8_t *
san_csr(unsigned bits, const char *san, size_t *len)
{
	EVP_PKEY *k = bits ? EVP_RSA_gen(bits) : EVP_EC_gen("P-256");
	X509_REQ *r = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509V3_CTX ctx;
	uint8_t *der = NULL;
	int l;

	assert_non_null(k);
	X509_REQ_set_pubkey(r, k);
	X509V3_set_ctx(&ctx, NULL, NULL, r, NULL, 0);
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_subject_alt_name, san));
	X509_REQ_add_extensions(r, exts);
	assert_true(X509_REQ_sign(r, k, EVP_sha256()) > 0);
	assert_true((l = i2d_X509_REQ(r, &der)) > 0);
	*len = (size_t)l;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return der;
}

static int
rsa_policy(const uint8_t *der, size_t len, unsigned sizes, struct ca_err *err)
{
	struct ca_profile p;
	struct ca_csr csr;
	int rc;

	assert_int_equal(ca_profile_init(&p, "rsa", NULL), CA_OK);
	assert_int_equal(ca_profile_add_domain(&p, "example.com"), CA_OK);
	p.rsa_sizes = sizes;
	memset(&csr, 0, sizeof(csr));
	assert_int_equal(ca_csr_parse(der, len, &csr, err), CA_OK);
	rc = ca_csr_check_policy(&csr, &p, err);
	ca_csr_free(&csr);
	return rc;
}

/* Issue 13: "rsa2048" is 2048 bits exactly, not "2048 or more". */
static void
test_rsa_exact(void **state)
{
	struct ca_err err;
	size_t len;
	uint8_t *der = ca_test_read("good_rsa2048.der", &len);

	(void)state;
	assert_int_equal(rsa_policy(der, len, CA_RSA_2048, &err), CA_OK);
	assert_int_equal(rsa_policy(der, len, CA_RSA_ALL, &err), CA_OK);
	assert_int_equal(rsa_policy(der, len, CA_RSA_3072 | CA_RSA_4096,
	    &err), CA_ERR_KEY);
	assert_non_null(strstr(err.msg, "RSA key of 2048 bits: profile rsa "
	    "allows RSA of exactly 3072 or 4096 bits"));
	free(der);
	/* Sizes between and above the listed ones are refused. */
	der = san_csr(2560, "DNS:a.example.com", &len);
	assert_int_equal(rsa_policy(der, len, CA_RSA_ALL, &err), CA_ERR_KEY);
	assert_non_null(strstr(err.msg, "RSA key of 2560 bits"));
	OPENSSL_free(der);
}

/* Issue 13: every name is recorded, so what cannot be is refused. */
static void
test_names_text(void **state)
{
	char san[16384], label[64];
	struct ca_err err;
	size_t len, n = 0;
	uint8_t *der;
	int i;

	(void)state;
	memset(label, 'a', 59);
	label[59] = '\0';
	/* 40 names of 73 bytes: 2,959 bytes as text, over the old 2,048. */
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(san + n, sizeof(san) - n, "%sDNS:%02d%s."
		    "example.com", i ? "," : "", i, label);
	der = san_csr(0, san, &len);
	if (rsa_policy(der, len, CA_RSA_ALL, &err) != CA_OK)
		fail_msg("%s", err.msg);
	OPENSSL_free(der);
	/* 50 of them: 3,699 bytes, over CA_MAX_NAMES_TEXT. */
	for (; i < 50; i++)
		n += (size_t)snprintf(san + n, sizeof(san) - n, ",DNS:%02d%s."
		    "example.com", i, label);
	der = san_csr(0, san, &len);
	assert_int_equal(rsa_policy(der, len, CA_RSA_ALL, &err), CA_ERR_NAME);
	assert_non_null(strstr(err.msg, "the 50 names take 3699 bytes as text "
	    "and at most 3584 are recorded"));
	OPENSSL_free(der);
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
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_lint_modes),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_setters),
		cmocka_unit_test(test_rsa_exact),
		cmocka_unit_test(test_names_text),
		cmocka_unit_test(test_steps),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
