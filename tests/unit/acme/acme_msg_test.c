/*
 * The request payloads (newAccount, account update, newOrder with RFC
 * 9773 "replaces", finalize, revokeCert), identifier and time syntax.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/x509.h>

#include "acme.h"
#include "acme_testutil.h"

#define P(s) (const uint8_t *)(s), strlen(s)

static void
test_new_account(void **state)
{
	struct acme_new_account na;
	struct acme_json *doc;

	(void)state;
	assert_int_equal(acme_new_account_parse(P("{\"contact\":[\"mailto:a@"
	    "example.org\",\"mailto:b@example.org\"],\"termsOfServiceAgreed\":"
	    "true,\"unknown\":{\"x\":1}}"), &na, &doc), ACME_OK);
	assert_int_equal(na.ncontact, 2);
	assert_string_equal(na.contact[1], "mailto:b@example.org");
	assert_int_equal(na.tos_agreed, 1);
	assert_int_equal(na.only_existing, 0);
	assert_null(na.eab);
	acme_json_free(doc);
	assert_int_equal(acme_new_account_parse(P("{\"onlyReturnExisting\":"
	    "true}"), &na, &doc), ACME_OK);
	assert_int_equal(na.only_existing, 1);
	acme_json_free(doc);

	assert_int_equal(acme_new_account_parse(P("[]"), &na, &doc),
	    ACME_E_SYNTAX);
	assert_null(doc);
	assert_int_equal(acme_new_account_parse(P("{\"contact\":\"mailto:a\"}"),
	    &na, &doc), ACME_E_TYPE);
	assert_null(doc);
	assert_int_equal(acme_new_account_parse(P("{\"contact\":[1]}"), &na,
	    &doc), ACME_E_TYPE);
	assert_int_equal(acme_new_account_parse(P("{\"contact\":[\"\"]}"), &na,
	    &doc), ACME_E_VALUE);
	assert_int_equal(acme_new_account_parse(P("{\"contact\":[\"a\",\"b\","
	    "\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}"), &na, &doc),
	    ACME_E_LIMIT);
	assert_int_equal(acme_new_account_parse(P("{\"termsOfServiceAgreed\":"
	    "\"yes\"}"), &na, &doc), ACME_E_TYPE);
	assert_int_equal(acme_new_account_parse(P("{\"externalAccountBinding\":"
	    "\"x\"}"), &na, &doc), ACME_E_TYPE);
	assert_null(doc);
}

static void
test_account_update(void **state)
{
	struct acme_account_update au;
	struct acme_json *doc;

	(void)state;
	assert_int_equal(acme_account_update_parse(P("{\"status\":"
	    "\"deactivated\"}"), &au, &doc), ACME_OK);
	assert_int_equal(au.deactivate, 1);
	assert_int_equal(au.has_contact, 0);
	acme_json_free(doc);
	assert_int_equal(acme_account_update_parse(P("{\"contact\":[]}"), &au,
	    &doc), ACME_OK);
	assert_int_equal(au.deactivate, 0);
	assert_int_equal(au.has_contact, 1);
	assert_int_equal(au.ncontact, 0);
	acme_json_free(doc);
	assert_int_equal(acme_account_update_parse(P("{\"status\":\"valid\"}"),
	    &au, &doc), ACME_E_VALUE);
	assert_null(doc);
	assert_int_equal(acme_account_update_parse(P("{\"status\":true}"),
	    &au, &doc), ACME_E_TYPE);
}

static void
test_new_order(void **state)
{
	struct acme_new_order *no = malloc(sizeof(*no));

	(void)state;
	assert_non_null(no);
	assert_int_equal(acme_new_order_parse(P("{\"identifiers\":["
	    "{\"type\":\"dns\",\"value\":\"WWW.Example.ORG\"},"
	    "{\"type\":\"dns\",\"value\":\"*.example.org\"},"
	    "{\"type\":\"dns\",\"value\":\"www.example.org\"},"
	    "{\"type\":\"ip\",\"value\":\"2001:db8:0:0:0:0:0:1\"},"
	    "{\"type\":\"ip\",\"value\":\"192.0.2.7\"}],"
	    "\"notBefore\":\"2026-12-06T10:00:00Z\","
	    "\"notAfter\":\"2026-12-07T12:00:00.5+02:00\","
	    "\"replaces\":\"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE\"}"), no),
	    ACME_OK);
	assert_int_equal(no->nident, 4);	/* the duplicate went */
	assert_string_equal(no->ident[0].value, "www.example.org");
	assert_string_equal(no->ident[1].value, "*.example.org");
	assert_int_equal(no->ident[2].type, ACME_ID_IP);
	assert_string_equal(no->ident[2].value, "2001:db8::1");
	assert_string_equal(no->ident[3].value, "192.0.2.7");
	assert_true(no->has_not_before && no->has_not_after);
	assert_true(no->not_before == 1796551200);
	assert_true(no->not_after == 1796551200 + 86400);
	assert_true(no->has_replaces);
	assert_int_equal(no->replaces.akilen, 20);
	assert_int_equal(no->replaces.seriallen, 5);
	assert_int_equal(no->replaces.serial[0], 0x00);
	assert_int_equal(no->replaces.serial[1], 0x87);
	assert_string_equal(no->replaces_text,
	    "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");

	assert_int_equal(acme_new_order_parse(P("{}"), no), ACME_E_MISSING);
	assert_int_equal(acme_new_order_parse(P("{\"identifiers\":[]}"), no),
	    ACME_E_VALUE);
	assert_int_equal(acme_new_order_parse(P("{\"identifiers\":[{\"type\":"
	    "\"email\",\"value\":\"a@b\"}]}"), no), ACME_E_VALUE);
	assert_int_equal(acme_new_order_parse(P("{\"identifiers\":[{\"type\":"
	    "\"dns\"}]}"), no), ACME_E_MISSING);
	assert_int_equal(acme_new_order_parse(P("{\"identifiers\":[{\"type\":"
	    "\"dns\",\"value\":\"a.example\"}],\"notBefore\":\"2026-12-07T00:"
	    "00:00Z\",\"notAfter\":\"2026-12-06T00:00:00Z\"}"), no),
	    ACME_E_VALUE);
	assert_int_equal(acme_new_order_parse(P("{\"identifiers\":[{\"type\":"
	    "\"dns\",\"value\":\"a.example\"}],\"replaces\":\"AA\"}"), no),
	    ACME_E_VALUE);
	assert_int_equal(no->nident, 0);
	/* A CertID longer than ACME_MAX_CERTID is refused before decoding. */
	{
		char big[ACME_MAX_CERTID + 128];
		size_t n;

		n = (size_t)snprintf(big, sizeof(big), "{\"identifiers\":[{"
		    "\"type\":\"dns\",\"value\":\"a.example\"}],"
		    "\"replaces\":\"");
		memset(big + n, 'A', ACME_MAX_CERTID + 1);
		memcpy(big + n + ACME_MAX_CERTID + 1, "\"}", 3);
		assert_int_equal(acme_new_order_parse((const uint8_t *)big,
		    strlen(big), no), ACME_E_LIMIT);
		assert_int_equal(no->has_replaces, 0);
	}
	free(no);
}

static void
test_idents(void **state)
{
	static const char *const good[] = {
		"a", "a.b", "xn--bcher-kva.example", "0.example", "a-b.c",
		"*.a.example",
	};
	static const char *const bad[] = {
		"", "*", "*.", "a..b", ".a", "a.", "-a.b", "a-.b", "a.b-",
		"a_b.c", "*.*.a", "a.*.b", "b\xc3\xbc" "cher.example", "a b",
		"a*.b",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b",	/* a 64-octet label */
	};
	static const char *const badip[] = {
		"", "1.2.3", "256.1.1.1", "1.2.3.4.5", "::g", "1.2.3.4/8",
		"fe80::1%eth0", " 1.2.3.4",
	};
	struct acme_ident id;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (acme_ident_check(ACME_ID_DNS, good[i], strlen(good[i]),
		    &id) != ACME_OK)
			fail_msg("refused %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (acme_ident_check(ACME_ID_DNS, bad[i], strlen(bad[i]),
		    &id) != ACME_E_VALUE)
			fail_msg("accepted %s", bad[i]);
	for (i = 0; i < sizeof(badip) / sizeof(badip[0]); i++)
		if (acme_ident_check(ACME_ID_IP, badip[i], strlen(badip[i]),
		    &id) != ACME_E_VALUE)
			fail_msg("accepted ip %s", badip[i]);
	assert_int_equal(acme_ident_check(ACME_ID_DNS, "a\0b", 3, &id),
	    ACME_E_VALUE);
}

static void
test_times(void **state)
{
	static const char *const bad[] = {
		"2026-12-06", "2026-12-06T10:00:00", "2026-13-01T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-12-06T24:00:00Z",
		"2026-12-06T10:00:60Z", "2026-12-06T10:00:00.Z",
		"2026-12-06T10:00:00+0200", "2026-12-06T10:00:00Zx",
		"2026-12-06 10:00:00Z", "+026-12-06T10:00:00Z",
	};
	int64_t t;
	size_t i;

	(void)state;
	assert_int_equal(acme_time_parse("1970-01-01T00:00:00Z", 20, &t),
	    ACME_OK);
	assert_true(t == 0);
	assert_int_equal(acme_time_parse("2024-02-29t23:59:59z", 20, &t),
	    ACME_OK);
	assert_true(t == 1709251199);
	assert_int_equal(acme_time_parse("2000-03-01T00:00:00-01:30", 25, &t),
	    ACME_OK);
	assert_true(t == 951868800 + 5400);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (acme_time_parse(bad[i], strlen(bad[i]), &t) != ACME_E_VALUE)
			fail_msg("accepted %s", bad[i]);
}

/* A self-signed certificate or a CSR, DER, base64url. */
static char *
der_b64(int req)
{
	EVP_PKEY *k = tu_key(ACME_ALG_ES256);
	uint8_t *der = NULL;
	char *s;
	int n;

	if (req) {
		X509_REQ *r = X509_REQ_new();

		X509_REQ_set_pubkey(r, k);
		X509_REQ_sign(r, k, EVP_sha256());
		n = i2d_X509_REQ(r, &der);
		X509_REQ_free(r);
	} else {
		X509 *x = X509_new();

		ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 3600);
		X509_set_pubkey(x, k);
		X509_sign(x, k, EVP_sha256());
		n = i2d_X509(x, &der);
		X509_free(x);
	}
	assert_true(n > 0);
	s = tu_b64(der, (size_t)n);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return s;
}

static void
test_finalize_revoke(void **state)
{
	struct acme_der *csr = malloc(sizeof(*csr));
	struct acme_revoke *rv = malloc(sizeof(*rv));
	char *c = der_b64(1), *x = der_b64(0), *body;

	(void)state;
	body = tu_sprintf("{\"csr\":\"%s\"}", c);
	assert_int_equal(acme_finalize_parse(P(body), csr), ACME_OK);
	assert_true(csr->len > 64);
	free(body);
	/* A certificate is no CSR; trailing bytes; padding. */
	body = tu_sprintf("{\"csr\":\"%s\"}", x);
	assert_int_equal(acme_finalize_parse(P(body), csr), ACME_E_VALUE);
	free(body);
	{
		uint8_t der[2048];
		size_t n;
		char *t;

		assert_int_equal(acme_b64url_decode(c, strlen(c), der,
		    sizeof(der) - 1, &n), ACME_OK);
		der[n++] = 0;
		t = tu_b64(der, n);
		body = tu_sprintf("{\"csr\":\"%s\"}", t);
		assert_int_equal(acme_finalize_parse(P(body), csr),
		    ACME_E_VALUE);
		free(body);
		free(t);
	}
	body = tu_sprintf("{\"csr\":\"%s=\"}", c);
	assert_int_equal(acme_finalize_parse(P(body), csr), ACME_E_B64);
	free(body);
	assert_int_equal(acme_finalize_parse(P("{}"), csr), ACME_E_MISSING);

	body = tu_sprintf("{\"certificate\":\"%s\",\"reason\":4}", x);
	assert_int_equal(acme_revoke_parse(P(body), rv), ACME_OK);
	assert_int_equal(rv->has_reason, 1);
	assert_int_equal(rv->reason, 4);
	free(body);
	body = tu_sprintf("{\"certificate\":\"%s\"}", x);
	assert_int_equal(acme_revoke_parse(P(body), rv), ACME_OK);
	assert_int_equal(rv->has_reason, 0);
	free(body);
	body = tu_sprintf("{\"certificate\":\"%s\",\"reason\":7}", x);
	assert_int_equal(acme_revoke_parse(P(body), rv), ACME_E_VALUE);
	free(body);
	body = tu_sprintf("{\"certificate\":\"%s\",\"reason\":-1}", x);
	assert_int_equal(acme_revoke_parse(P(body), rv), ACME_E_VALUE);
	free(body);
	body = tu_sprintf("{\"certificate\":\"%s\",\"reason\":1.0}", x);
	assert_int_equal(acme_revoke_parse(P(body), rv), ACME_E_VALUE);
	free(body);
	body = tu_sprintf("{\"certificate\":\"%s\"}", c);
	assert_int_equal(acme_revoke_parse(P(body), rv), ACME_E_VALUE);
	free(body);
	free(c);
	free(x);
	free(csr);
	free(rv);
}

static void
test_certid(void **state)
{
	static const char *const bad[] = {
		"", ".", "AA", "AA.", ".AA", "AA.AA.AA", "AA.gA", "AA.AA=",
		"AA.AAA", "AA.AA",
		/* 22 serial octets */
		"AA.AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ",
	};
	struct acme_certid id;
	size_t i;

	(void)state;
	assert_int_equal(acme_certid_parse("AQ.AQ", 5, &id), ACME_OK);
	assert_int_equal(id.serial[0], 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (acme_certid_parse(bad[i], strlen(bad[i]), &id) == ACME_OK)
			fail_msg("accepted %s", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_account),
		cmocka_unit_test(test_account_update),
		cmocka_unit_test(test_new_order),
		cmocka_unit_test(test_idents),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_finalize_revoke),
		cmocka_unit_test(test_certid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
