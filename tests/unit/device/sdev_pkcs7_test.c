/*
 * The certs-only PKCS#7 walker against openssl crl2pkcs7 output, and the
 * BER, trailing-byte and non-degenerate forms it must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sdev_local.h"
#include "sdev_test_util.h"

static void
test_two_certs(void **state)
{
	struct sdev_span certs[SDEV_MAX_CERTS];
	uint8_t *p7, *pem;
	size_t len, n, plen;

	p7 = tu_read_data("two.p7", &len);
	assert_int_equal(sdev_pkcs7_certs(p7, len, certs, SDEV_MAX_CERTS, &n),
	    SDEV_OK);
	assert_int_equal(n, 2);
	assert_int_equal(certs[0].ptr[0], 0x30);
	assert_ptr_equal(certs[1].ptr, certs[0].ptr + certs[0].len);
	/* Room for one only is "too big", never a silent truncation. */
	assert_int_equal(sdev_pkcs7_certs(p7, len, certs, 1, &n),
	    SDEV_E_TOOBIG);
	assert_int_equal(n, 0);
	pem = tu_read_data("leaf.pem", &plen);
	free(pem);
	free(p7);
}

static void
test_one_cert(void **state)
{
	struct sdev_span certs[SDEV_MAX_CERTS];
	uint8_t *p7;
	size_t len, n;

	p7 = tu_read_data("one.p7", &len);
	assert_int_equal(sdev_pkcs7_certs(p7, len, certs, SDEV_MAX_CERTS, &n),
	    SDEV_OK);
	assert_int_equal(n, 1);
	/* The certificate spans to just before the empty signerInfos. */
	assert_ptr_equal(certs[0].ptr + certs[0].len, p7 + len - 2);
	free(p7);
}

static void
test_refused(void **state)
{
	struct sdev_span certs[SDEV_MAX_CERTS];
	uint8_t *p7, *m;
	size_t len, n, i;

	p7 = tu_read_data("one.p7", &len);
	m = malloc(len + 1);
	assert_non_null(m);
	/* Trailing garbage. */
	memcpy(m, p7, len);
	m[len] = 0;
	assert_int_equal(sdev_pkcs7_certs(m, len + 1, certs, 8, &n),
	    SDEV_E_PROTO);
	/* Every truncation. */
	for (i = 0; i < len; i++)
		assert_int_not_equal(sdev_pkcs7_certs(p7, i, certs, 8, &n),
		    SDEV_OK);
	/* Not signedData (the OID's last byte). */
	memcpy(m, p7, len);
	m[14] = 0x03;
	assert_int_equal(sdev_pkcs7_certs(m, len, certs, 8, &n),
	    SDEV_E_PROTO);
	/* A non-empty signerInfos: the last SET gets a byte. */
	memcpy(m, p7, len);
	m[len - 1] = 0x01;
	assert_int_equal(sdev_pkcs7_certs(m, len, certs, 8, &n),
	    SDEV_E_PROTO);
	/* BER indefinite length at the top. */
	memcpy(m, p7, len);
	m[1] = 0x80;
	assert_int_equal(sdev_pkcs7_certs(m, len, certs, 8, &n),
	    SDEV_E_PROTO);
	/* A non-minimal length: 0x82 00 xx. */
	memcpy(m, p7, len);
	m[2] = 0x00;
	assert_int_equal(sdev_pkcs7_certs(m, len, certs, 8, &n),
	    SDEV_E_PROTO);
	free(m);
	free(p7);
}

static void
test_no_certs(void **state)
{
	/* encapContentInfo without its OID. */
	static const uint8_t no_oid[] = {
		0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x07, 0x02, 0xa0, 0x0b, 0x30, 0x09, 0x02, 0x01, 0x01,
		0x31, 0x00, 0x30, 0x00, 0x31, 0x00
	};
	/* A well-formed frame that carries no certificate. */
	static const uint8_t empty[] = {
		0x30, 0x23, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x07, 0x02, 0xa0, 0x16, 0x30, 0x14, 0x02, 0x01, 0x01,
		0x31, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x07, 0x01, 0x31, 0x00
	};
	struct sdev_span certs[2];
	size_t n;

	assert_int_equal(sdev_pkcs7_certs(no_oid, sizeof(no_oid), certs, 2,
	    &n), SDEV_E_PROTO);
	assert_int_equal(sdev_pkcs7_certs(empty, sizeof(empty), certs, 2,
	    &n), SDEV_E_NOTFOUND);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_certs),
		cmocka_unit_test(test_one_cert),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_no_certs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
