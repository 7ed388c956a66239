/*
 * The engine's verdict on what signet-validator fetched (eng_acme_chall.c,
 * issue 20): tls-alpn-01 certificates made here with OpenSSL, the right
 * one and each forgery RFC 8737 3 rules out; dns-01 record lists;
 * http-01 bodies.  Pure: no token, no ledger.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "eng_acme.h"

#define TOKEN	"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define THUMB	"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

enum forgery { GOOD, NOT_CRITICAL, WRONG_DIGEST, TWO_SANS, OTHER_NAME,
	NO_EXT, TWO_EXTS };

static struct eng_acme_authz
authz(const char *type, const char *value, const char *chall_type)
{
	struct eng_acme_authz z;

	memset(&z, 0, sizeof(z));
	snprintf(z.type, sizeof(z.type), "%s", type);
	snprintf(z.value, sizeof(z.value), "%s", value);
	snprintf(z.token, sizeof(z.token), "%s", TOKEN);
	snprintf(z.thumb, sizeof(z.thumb), "%s", THUMB);
	snprintf(z.chall_type, sizeof(z.chall_type), "%s", chall_type);
	return z;
}

static void
add_acme_ext(X509 *x, int crit, int wrong)
{
	const char *ka = TOKEN "." THUMB;
	uint8_t der[34];
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;

	der[0] = 0x04;
	der[1] = 32;
	assert_int_equal(EVP_Digest(ka, strlen(ka), der + 2, NULL,
	    EVP_sha256(), NULL), 1);
	der[2] ^= (uint8_t)wrong;
	assert_int_equal(ASN1_OCTET_STRING_set(os, der, sizeof(der)), 1);
	ext = X509_EXTENSION_create_by_OBJ(NULL, oid, crit, os);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
}

/* A self-signed certificate as a tls-alpn-01 responder makes one. */
static size_t
cert(enum forgery f, const char *san, uint8_t *out, size_t size)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_EXTENSION *ext;
	uint8_t *p = out;
	int len;

	assert_non_null(k);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    f == TWO_SANS ? "DNS:a.example, DNS:b.example" :
	    f == OTHER_NAME ? "DNS:other.example" : san);
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (f != NO_EXT)
		add_acme_ext(x, f != NOT_CRITICAL, f == WRONG_DIGEST);
	if (f == TWO_EXTS)
		add_acme_ext(x, 1, 0);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	len = i2d_X509(x, NULL);
	assert_true(len > 0 && (size_t)len <= size);
	assert_int_equal(i2d_X509(x, &p), len);
	X509_free(x);
	EVP_PKEY_free(k);
	return (size_t)len;
}

static int
proves(const struct eng_acme_authz *z, const uint8_t *b, size_t n,
    const char *why_has)
{
	struct proto_blob blob = { b, n };
	char why[128];
	int ok = eng_acme_va_proves(&blob, z, why, sizeof(why));

	if (why_has != NULL)
		assert_non_null(strstr(why, why_has));
	return ok;
}

static void
test_tlsalpn01(void **state)
{
	static uint8_t der[4096];
	struct eng_acme_authz z = authz("dns", "a.example", "tls-alpn-01");
	size_t n;

	(void)state;
	n = cert(GOOD, "DNS:a.example", der, sizeof(der));
	assert_true(proves(&z, der, n, NULL));
	/* the name compares without regard to case (RFC 4343) */
	n = cert(GOOD, "DNS:A.Example", der, sizeof(der));
	assert_true(proves(&z, der, n, NULL));
	n = cert(NOT_CRITICAL, "DNS:a.example", der, sizeof(der));
	assert_false(proves(&z, der, n, "not critical"));
	n = cert(WRONG_DIGEST, "DNS:a.example", der, sizeof(der));
	assert_false(proves(&z, der, n, "not the key authorization"));
	n = cert(TWO_SANS, "DNS:a.example", der, sizeof(der));
	assert_false(proves(&z, der, n, "exactly one subjectAltName"));
	n = cert(OTHER_NAME, "DNS:a.example", der, sizeof(der));
	assert_false(proves(&z, der, n, "subjectAltName is not a.example"));
	n = cert(NO_EXT, "DNS:a.example", der, sizeof(der));
	assert_false(proves(&z, der, n, "no acmeIdentifier"));
	n = cert(TWO_EXTS, "DNS:a.example", der, sizeof(der));
	assert_false(proves(&z, der, n, "two acmeIdentifier"));
	/* bytes after the certificate, a cut one, none */
	n = cert(GOOD, "DNS:a.example", der, sizeof(der) - 1);
	der[n] = 0;
	assert_false(proves(&z, der, n + 1, "no certificate"));
	assert_false(proves(&z, der, n - 1, "no certificate"));
	assert_false(proves(&z, der, 0, "no certificate"));
	/* another account's thumbprint: another key authorization */
	n = cert(GOOD, "DNS:a.example", der, sizeof(der));
	z.thumb[0] ^= 1;
	assert_false(proves(&z, der, n, "not the key authorization"));
}

/* RFC 8738 6: an IP identifier is proved by an iPAddress SAN. */
static void
test_tlsalpn01_ip(void **state)
{
	static uint8_t der[4096];
	struct eng_acme_authz z = authz("ip", "192.0.2.7", "tls-alpn-01");
	size_t n;

	(void)state;
	n = cert(GOOD, "IP:192.0.2.7", der, sizeof(der));
	assert_true(proves(&z, der, n, NULL));
	n = cert(GOOD, "IP:192.0.2.8", der, sizeof(der));
	assert_false(proves(&z, der, n, "subjectAltName is not"));
	n = cert(GOOD, "DNS:192.0.2.7", der, sizeof(der));
	assert_false(proves(&z, der, n, "subjectAltName is not"));
}

static void
test_dns01(void **state)
{
	const char *ka = TOKEN "." THUMB;
	struct eng_acme_authz z = authz("dns", "*.a.example", "dns-01");
	uint8_t md[32];
	char want[48], buf[256];

	(void)state;
	assert_int_equal(EVP_Digest(ka, strlen(ka), md, NULL, EVP_sha256(),
	    NULL), 1);
	assert_int_equal(acme_b64url_encode(md, sizeof(md), want,
	    sizeof(want)), ACME_OK);
	snprintf(buf, sizeof(buf), "v=spf1 -all\n%s", want);
	assert_true(proves(&z, (const uint8_t *)buf, strlen(buf), NULL));
	assert_true(proves(&z, (const uint8_t *)want, strlen(want), NULL));
	/* a prefix, a suffix, padding, the key authorization itself */
	snprintf(buf, sizeof(buf), "%s=", want);
	assert_false(proves(&z, (const uint8_t *)buf, strlen(buf),
	    "none of the 1"));
	assert_false(proves(&z, (const uint8_t *)want, strlen(want) - 1,
	    "none of the 1"));
	assert_false(proves(&z, (const uint8_t *)ka, strlen(ka), NULL));
	assert_false(proves(&z, (const uint8_t *)"", 0, "no TXT record"));
}

static void
test_http01(void **state)
{
	struct eng_acme_authz z = authz("dns", "a.example", "http-01");
	const char *ok = "\r\n " TOKEN "." THUMB "\n";

	(void)state;
	assert_true(proves(&z, (const uint8_t *)ok, strlen(ok), NULL));
	assert_false(proves(&z, (const uint8_t *)TOKEN, strlen(TOKEN),
	    "not the key authorization"));
	/* no thumbprint (an account row gone): never valid */
	z.thumb[0] = '\0';
	assert_false(proves(&z, (const uint8_t *)ok, strlen(ok),
	    "no key authorization"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlsalpn01),
		cmocka_unit_test(test_tlsalpn01_ip),
		cmocka_unit_test(test_dns01),
		cmocka_unit_test(test_http01),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
