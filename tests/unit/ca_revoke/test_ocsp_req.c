/*
 * The OCSP request parser over requests built with OpenSSL's own OCSP
 * encoder: what a client sends is decoded exactly, and each limit and
 * each rule (hash algorithms, nonce size, unknown critical extensions,
 * duplicates, strict DER, trailing bytes) refuses with CA_ERR_DECODE.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ocsp.h>
#include <openssl/sha.h>

#include "revoke_test.h"

struct spec {
	const EVP_MD *md;
	int nids;
	int nonce;		/* octets, 0: none */
	int crit_ext;		/* unknown critical extension */
	int plain_ext;		/* unknown non-critical extension */
	int crit_single;	/* critical one in singleRequestExtensions */
	int sign;
};

static X509 *root;

static void
add_ext(X509_EXTENSIONS **where, OCSP_REQUEST *req, OCSP_ONEREQ *one,
    const char *oid, int crit)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	(void)where;
	assert_int_equal(ASN1_OCTET_STRING_set(v, (const unsigned char *)
	    "\x05\x00", 2), 1);
	e = X509_EXTENSION_create_by_OBJ(NULL, o, crit, v);
	assert_non_null(e);
	if (one != NULL)
		assert_int_equal(OCSP_ONEREQ_add_ext(one, e, -1), 1);
	else
		assert_int_equal(OCSP_REQUEST_add_ext(req, e, -1), 1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(v);
	ASN1_OBJECT_free(o);
}

static uint8_t *
make(const struct spec *s, size_t *len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_ONEREQ *one = NULL;
	OCSP_CERTID *id;
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	unsigned char nonce[64], *der = NULL, *out;
	EVP_PKEY *k;
	int i, n;

	for (i = 0; i < s->nids; i++) {
		ASN1_INTEGER_set(sn, 0x1000 + i);
		id = OCSP_cert_id_new(s->md, X509_get_subject_name(root),
		    X509_get0_pubkey_bitstr(root), sn);
		assert_non_null(id);
		one = OCSP_request_add0_id(req, id);
		assert_non_null(one);
	}
	if (s->nonce) {
		memset(nonce, 0xa5, sizeof(nonce));
		assert_int_equal(OCSP_request_add1_nonce(req, nonce,
		    s->nonce), 1);
	}
	if (s->crit_ext)
		add_ext(NULL, req, NULL, "1.2.3.4.5", 1);
	if (s->plain_ext)
		add_ext(NULL, req, NULL, "1.2.3.4.6", 0);
	if (s->crit_single)
		add_ext(NULL, req, one, "1.2.3.4.7", 1);
	if (s->sign) {
		k = ca_test_key("keys/root.key");
		assert_int_equal(OCSP_request_sign(req, root, k, EVP_sha256(),
		    NULL, 0), 1);
		EVP_PKEY_free(k);
	}
	n = i2d_OCSP_REQUEST(req, &der);
	assert_true(n > 0);
	out = malloc((size_t)n + 8);
	memcpy(out, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	ASN1_INTEGER_free(sn);
	OCSP_REQUEST_free(req);
	return out;
}

static int
parse(const struct spec *s, struct ca_ocsp_req *r)
{
	struct ca_err err;
	uint8_t *der;
	size_t len;
	int rc;

	der = make(s, &len);
	rc = ca_ocsp_req_parse(der, len, r, &err);
	free(der);
	return rc;
}

static int
setup(void **state)
{
	(void)state;
	root = ca_test_cert("root.pem");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(root);
	return 0;
}

static void
test_sha1(void **state)
{
	struct spec s = { EVP_sha1(), 1, 0, 0, 0, 0, 0 };
	struct ca_ocsp_req r;
	uint8_t h[SHA_DIGEST_LENGTH];
	unsigned char *nd = NULL;
	int nl;

	(void)state;
	assert_int_equal(parse(&s, &r), CA_OK);
	assert_int_equal(r.nids, 1);
	assert_int_equal(r.ids[0].hash, CA_OCSP_SHA1);
	assert_int_equal(r.ids[0].hash_len, 20);
	assert_int_equal(r.ids[0].serial_len, 2);
	assert_memory_equal(r.ids[0].serial, "\x10\x00", 2);
	nl = i2d_X509_NAME(X509_get_subject_name(root), &nd);
	SHA1(nd, (size_t)nl, h);
	OPENSSL_free(nd);
	assert_memory_equal(r.ids[0].name_hash, h, 20);
	assert_false(r.has_nonce);
	assert_false(r.signed_req);
}

static void
test_sha256_nonce_four(void **state)
{
	struct spec s = { EVP_sha256(), CA_MAX_OCSP_SINGLE, 32, 0, 1, 0, 0 };
	struct ca_ocsp_req r;

	(void)state;
	assert_int_equal(parse(&s, &r), CA_OK);
	assert_int_equal(r.nids, CA_MAX_OCSP_SINGLE);
	assert_int_equal(r.ids[3].hash, CA_OCSP_SHA256);
	assert_int_equal(r.ids[3].hash_len, 32);
	assert_true(r.has_nonce);
	assert_int_equal(r.nonce_len, 32);
	assert_int_equal(r.nonce[31], 0xa5);
}

/* RFC 6960 4.1.2: a signed request is accepted; the signature unused. */
static void
test_signed(void **state)
{
	struct spec s = { EVP_sha1(), 1, 16, 0, 0, 0, 1 };
	struct ca_ocsp_req r;

	(void)state;
	assert_int_equal(parse(&s, &r), CA_OK);
	assert_true(r.signed_req);
	assert_int_equal(r.nonce_len, 16);
}

static void
test_refusals(void **state)
{
	static const struct spec bad[] = {
		{ NULL, CA_MAX_OCSP_SINGLE + 1, 0, 0, 0, 0, 0 },
		{ NULL, 1, CA_MAX_OCSP_NONCE + 1, 0, 0, 0, 0 },
		{ NULL, 1, 0, 1, 0, 0, 0 },
		{ NULL, 1, 0, 0, 0, 1, 0 },
		{ NULL, 0, 0, 0, 0, 0, 0 },
	};
	struct spec s;
	struct ca_ocsp_req r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = bad[i];
		s.md = EVP_sha1();
		if (parse(&s, &r) != CA_ERR_DECODE)
			fail_msg("case %zu was accepted", i);
		assert_int_equal(r.nids, 0);
	}
	memset(&s, 0, sizeof(s));
	s.md = EVP_sha512();
	s.nids = 1;
	assert_int_equal(parse(&s, &r), CA_ERR_DECODE);
	s.md = EVP_md5();
	assert_int_equal(parse(&s, &r), CA_ERR_DECODE);
}

/* X.690 10: strict DER only; nothing after the request. */
static void
test_bytes(void **state)
{
	struct spec s = { EVP_sha1(), 1, 16, 0, 0, 0, 0 };
	struct ca_ocsp_req r;
	struct ca_err err;
	uint8_t *der, big[CA_MAX_OCSP_REQ + 1];
	size_t len, i;

	(void)state;
	der = make(&s, &len);
	der[len] = 0;
	assert_int_equal(ca_ocsp_req_parse(der, len + 1, &r, &err),
	    CA_ERR_DECODE);
	for (i = 0; i < len; i++)
		assert_int_equal(ca_ocsp_req_parse(der, i, &r, &err),
		    CA_ERR_DECODE);
	/* Long-form length where the short form fits. */
	memmove(der + 3, der + 2, len - 2);
	der[2] = der[1];
	der[1] = 0x81;
	assert_int_equal(ca_ocsp_req_parse(der, len + 1, &r, &err),
	    CA_ERR_DECODE);
	free(der);
	memset(big, 0, sizeof(big));
	assert_int_equal(ca_ocsp_req_parse(big, sizeof(big), &r, &err),
	    CA_ERR_DECODE);
	assert_int_equal(ca_ocsp_req_parse(NULL, 0, &r, &err),
	    CA_ERR_DECODE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1),
		cmocka_unit_test(test_sha256_nonce_four),
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bytes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
