/*
 * The certs-only PKCS#7 builder: OpenSSL must parse what we write as a
 * SignedData with exactly our certificates, in order, and no signers; the
 * encoding must equal what OpenSSL itself writes for the same content.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "https.h"

/* A self-signed P-256 certificate with the given CN, as DER. */
static size_t
make_cert(const char *cn, uint8_t **der)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	int len;

	assert_non_null(k);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	*der = NULL;
	len = i2d_X509(x, der);
	assert_true(len > 0);
	X509_free(x);
	EVP_PKEY_free(k);
	return (size_t)len;
}

static void
test_roundtrip(void **state)
{
	struct proto_blob certs[3];
	uint8_t *der[3], out[8192];
	const unsigned char *p;
	const char *cns[3] = { "leaf", "intermediate", "root" };
	STACK_OF(X509) *sk;
	PKCS7 *p7;
	size_t i, n;

	for (i = 0; i < 3; i++) {
		certs[i].len = make_cert(cns[i], &der[i]);
		certs[i].ptr = der[i];
	}
	for (n = 1; n <= 3; n++) {
		size_t len;

		assert_int_equal(https_pkcs7_certs(certs, n, out, sizeof(out),
		    &len), HTTPS_OK);
		p = out;
		p7 = d2i_PKCS7(NULL, &p, (long)len);
		assert_non_null(p7);
		assert_ptr_equal(p, out + len);
		assert_true(PKCS7_type_is_signed(p7));
		assert_int_equal(sk_PKCS7_SIGNER_INFO_num(
		    PKCS7_get_signer_info(p7)), 0);
		sk = p7->d.sign->cert;
		assert_int_equal(sk_X509_num(sk), (int)n);
		for (i = 0; i < n; i++) {
			uint8_t *d = NULL;
			int dl = i2d_X509(sk_X509_value(sk, (int)i), &d);

			assert_int_equal(dl, (int)certs[i].len);
			assert_memory_equal(d, certs[i].ptr, certs[i].len);
			OPENSSL_free(d);
		}
		PKCS7_free(p7);
	}
	/* Too small an output, no certificates, not a certificate. */
	{
		size_t len;
		struct proto_blob junk = { (const uint8_t *)"\x04\x00", 2 };

		assert_int_equal(https_pkcs7_certs(certs, 3, out, 100, &len),
		    HTTPS_E_SPACE);
		assert_int_equal(https_pkcs7_certs(certs, 0, out, sizeof(out),
		    &len), HTTPS_E_ARG);
		assert_int_equal(https_pkcs7_certs(&junk, 1, out, sizeof(out),
		    &len), HTTPS_E_ARG);
	}
	for (i = 0; i < 3; i++)
		OPENSSL_free(der[i]);
}

/* Byte for byte what OpenSSL's own degenerate SignedData encodes to. */
static void
test_same_as_openssl(void **state)
{
	struct proto_blob cert;
	uint8_t *der, out[4096], *ref = NULL;
	const unsigned char *p;
	PKCS7 *p7 = PKCS7_new();
	X509 *x;
	size_t len;
	int rl;

	cert.len = make_cert("one", &der);
	cert.ptr = der;
	p = der;
	x = d2i_X509(NULL, &p, (long)cert.len);
	assert_non_null(x);
	/* As "openssl crl2pkcs7 -nocrl" builds it: id-data, no content. */
	assert_true(PKCS7_set_type(p7, NID_pkcs7_signed));
	p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
	assert_true(PKCS7_add_certificate(p7, x));
	assert_int_equal(https_pkcs7_certs(&cert, 1, out, sizeof(out), &len),
	    HTTPS_OK);
	rl = i2d_PKCS7(p7, &ref);
	assert_true(rl > 0);
	assert_int_equal((size_t)rl, len);
	assert_memory_equal(ref, out, len);
	OPENSSL_free(ref);
	PKCS7_free(p7);
	X509_free(x);
	OPENSSL_free(der);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_same_as_openssl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
