/*
 * api/est.  The certs-only PKCS#7 writer: OpenSSL must parse what we
 * write as a SignedData with exactly our certificates, in order, and no
 * signers; the encoding must equal, byte for byte, what OpenSSL itself
 * writes for the same content (as signet-coap built it before api/est).
 * The trust store loader: added certificates verify a chain, junk is
 * reported and skipped.
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
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "signet/est.h"

#define NCERTS	3

static EVP_PKEY *keys[NCERTS];
static uint8_t *ders[NCERTS];
static struct proto_blob certs[NCERTS];

/* A P-256 certificate with the given CN, signed by ikey (self if NULL). */
static X509 *
make_cert(const char *cn, const char *issuer, EVP_PKEY *k, EVP_PKEY *ikey,
    int ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)issuer, -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	X509_set_pubkey(x, k);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, ikey != NULL ? ikey : k, EVP_sha256()) > 0);
	return x;
}

/* leaf <- intermediate <- root, leaf first, as the engine sends them. */
static int
setup(void **state)
{
	static const char *cns[NCERTS] = { "leaf", "intermediate", "root" };
	X509 *x;
	int i, len;

	for (i = 0; i < NCERTS; i++)
		keys[i] = EVP_EC_gen("P-256");
	for (i = NCERTS - 1; i >= 0; i--) {
		x = make_cert(cns[i], cns[i == NCERTS - 1 ? i : i + 1],
		    keys[i], i == NCERTS - 1 ? NULL : keys[i + 1], i != 0);
		ders[i] = NULL;
		len = i2d_X509(x, &ders[i]);
		assert_true(len > 0);
		certs[i].ptr = ders[i];
		certs[i].len = (size_t)len;
		X509_free(x);
	}
	return 0;
}

static int
teardown(void **state)
{
	int i;

	for (i = 0; i < NCERTS; i++) {
		OPENSSL_free(ders[i]);
		EVP_PKEY_free(keys[i]);
	}
	return 0;
}

static void
test_roundtrip(void **state)
{
	uint8_t out[8192];
	const unsigned char *p;
	STACK_OF(X509) *sk;
	PKCS7 *p7;
	size_t i, n, len;

	for (n = 1; n <= NCERTS; n++) {
		assert_int_equal(est_pkcs7_certs(certs, n, out, sizeof(out),
		    &len), EST_OK);
		assert_int_equal(est_pkcs7_size(certs, n), len);
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
}

/* Too small an output, no certificates, too many, not a certificate. */
static void
test_refused(void **state)
{
	struct proto_blob junk = { (const uint8_t *)"\x04\x00", 2 };
	struct proto_blob many[PROTO_MAX_CHAIN_CERTS + 1];
	uint8_t out[8192];
	size_t len = 1, i, need;

	need = est_pkcs7_size(certs, NCERTS);
	assert_true(need > 0);
	assert_int_equal(est_pkcs7_certs(certs, NCERTS, out, need - 1, &len),
	    EST_E_SPACE);
	assert_int_equal(len, 0);
	assert_int_equal(est_pkcs7_certs(certs, NCERTS, out, need, &len),
	    EST_OK);
	assert_int_equal(len, need);
	assert_int_equal(est_pkcs7_certs(certs, 0, out, sizeof(out), &len),
	    EST_E_ARG);
	assert_int_equal(est_pkcs7_size(certs, 0), 0);
	assert_int_equal(est_pkcs7_certs(&junk, 1, out, sizeof(out), &len),
	    EST_E_ARG);
	assert_int_equal(est_pkcs7_size(&junk, 1), 0);
	for (i = 0; i < PROTO_MAX_CHAIN_CERTS + 1; i++)
		many[i] = certs[0];
	assert_int_equal(est_pkcs7_size(many, PROTO_MAX_CHAIN_CERTS + 1), 0);
	assert_true(est_pkcs7_size(many, PROTO_MAX_CHAIN_CERTS) > 0);
	assert_string_equal(est_strerror(EST_E_SPACE),
	    "output buffer too small");
}

/*
 * Byte for byte what OpenSSL's own degenerate SignedData encodes to, as
 * `openssl crl2pkcs7 -nocrl` and signet-coap (before api/est) built it:
 * id-data with its content removed.
 */
static void
test_same_as_openssl(void **state)
{
	uint8_t out[8192], *ref;
	const unsigned char *p;
	PKCS7 *p7;
	X509 *x;
	size_t n, i, len;
	int rl;

	for (n = 1; n <= NCERTS; n++) {
		p7 = PKCS7_new();
		assert_non_null(p7);
		assert_true(PKCS7_set_type(p7, NID_pkcs7_signed));
		assert_true(PKCS7_content_new(p7, NID_pkcs7_data));
		ASN1_OCTET_STRING_free(p7->d.sign->contents->d.data);
		p7->d.sign->contents->d.data = NULL;
		for (i = 0; i < n; i++) {
			p = certs[i].ptr;
			x = d2i_X509(NULL, &p, (long)certs[i].len);
			assert_non_null(x);
			assert_true(PKCS7_add_certificate(p7, x));
			X509_free(x);
		}
		ref = NULL;
		rl = i2d_PKCS7(p7, &ref);
		assert_true(rl > 0);
		assert_int_equal(est_pkcs7_certs(certs, n, out, sizeof(out),
		    &len), EST_OK);
		assert_int_equal((size_t)rl, len);
		assert_memory_equal(ref, out, len);
		OPENSSL_free(ref);
		PKCS7_free(p7);
	}
}

/* Long-form lengths of every width the writer emits. */
static void
test_long_lengths(void **state)
{
	static uint8_t big[3][PROTO_MAX_CERT];
	struct proto_blob b[3];
	uint8_t *out;
	size_t sizes[] = { 60, 200, 300, PROTO_MAX_CERT }, i, k, len;

	out = malloc(4 * PROTO_MAX_CERT);
	assert_non_null(out);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (k = 0; k < 3; k++) {
			/* Any SEQUENCE: the writer does not parse it. */
			memset(big[k], 0x05, sizes[i]);
			big[k][0] = 0x30;
			b[k].ptr = big[k];
			b[k].len = sizes[i];
		}
		assert_int_equal(est_pkcs7_certs(b, 3, out, 4 * PROTO_MAX_CERT,
		    &len), EST_OK);
		assert_int_equal(est_pkcs7_size(b, 3), len);
		assert_true(len > 3 * sizes[i]);
		assert_int_equal(out[0], 0x30);
		/* The outer length covers exactly what was written. */
		if (out[1] & 0x80) {
			size_t l = 0, nb = out[1] & 0x7f, j;

			for (j = 0; j < nb; j++)
				l = (l << 8) | out[2 + j];
			assert_int_equal(2 + nb + l, len);
		} else
			assert_int_equal(2 + out[1], len);
	}
	free(out);
}

static void
test_store_add(void **state)
{
	struct proto_blob mixed[3];
	X509_STORE *store;
	X509_STORE_CTX *xs;
	X509 *leaf;
	const unsigned char *p;

	p = certs[0].ptr;
	leaf = d2i_X509(NULL, &p, (long)certs[0].len);
	assert_non_null(leaf);
	store = X509_STORE_new();
	assert_non_null(store);
	xs = X509_STORE_CTX_new();
	assert_non_null(xs);

	/* Empty: the leaf does not verify. */
	assert_int_equal(X509_STORE_CTX_init(xs, store, leaf, NULL), 1);
	assert_int_not_equal(X509_verify_cert(xs), 1);
	X509_STORE_CTX_cleanup(xs);

	/* Intermediate and root added: it does; twice is not an error. */
	assert_int_equal(est_store_add(store, &certs[1], 2), EST_OK);
	assert_int_equal(est_store_add(store, &certs[1], 2), EST_OK);
	assert_int_equal(X509_STORE_CTX_init(xs, store, leaf, NULL), 1);
	assert_int_equal(X509_verify_cert(xs), 1);
	X509_STORE_CTX_cleanup(xs);
	X509_STORE_free(store);

	/* Junk in the middle is reported, and the rest still added. */
	store = X509_STORE_new();
	mixed[0] = certs[1];
	mixed[1].ptr = (const uint8_t *)"\x30\x03\x02\x01\x01";
	mixed[1].len = 5;
	mixed[2] = certs[2];
	assert_int_equal(est_store_add(store, mixed, 3), EST_E_CERT);
	assert_int_equal(X509_STORE_CTX_init(xs, store, leaf, NULL), 1);
	assert_int_equal(X509_verify_cert(xs), 1);
	X509_STORE_CTX_cleanup(xs);
	mixed[1].ptr = NULL;
	mixed[1].len = 0;
	assert_int_equal(est_store_add(store, &mixed[1], 1), EST_E_CERT);
	assert_int_equal(est_store_add(store, certs, 0), EST_OK);

	X509_STORE_CTX_free(xs);
	X509_STORE_free(store);
	X509_free(leaf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_same_as_openssl),
		cmocka_unit_test(test_long_lengths),
		cmocka_unit_test(test_store_add),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
