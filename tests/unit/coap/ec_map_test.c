/*
 * EST-coaps request mapping (api/coap/ec_map.c): every path, method and
 * format combination a client can send gets one operation or the CoAP
 * error RFC 9148 and RFC 7959 call for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "signet/ec.h"

/* A DER SEQUENCE of 3 bytes: the shape of a CSR, not a real one. */
static const uint8_t csr[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };

static struct ec_in
req(int method, const char *path)
{
	struct ec_in in;

	memset(&in, 0, sizeof(in));
	in.method = method;
	in.path = (const uint8_t *)path;
	in.pathlen = strlen(path);
	in.max_body = EC_MAX_BODY;
	return in;
}

static struct ec_in
post_csr(const char *path)
{
	struct ec_in in = req(EC_M_POST, path);

	in.has_ct = 1;
	in.ct = EC_CT_PKCS10;
	in.body = csr;
	in.bodylen = sizeof(csr);
	return in;
}

static void
test_operations(void **state)
{
	struct ec_in in;
	struct ec_out out;

	in = req(EC_M_GET, "est/crts");
	assert_int_equal(ec_map(&in, &out), 0);
	assert_int_equal(out.op, EC_OP_CRTS);
	assert_int_equal(out.rsp_ct, EC_CT_PKCS7_CERTS);
	assert_string_equal(out.label, "");
	in = req(EC_M_GET, "est/att");
	assert_int_equal(ec_map(&in, &out), 0);
	assert_int_equal(out.op, EC_OP_ATT);
	assert_int_equal(out.rsp_ct, EC_CT_CSRATTRS);
	in = post_csr("est/sen");
	assert_int_equal(ec_map(&in, &out), 0);
	assert_int_equal(out.op, EC_OP_SEN);
	assert_int_equal(out.rsp_ct, EC_CT_PKIX_CERT);
	assert_ptr_equal(out.csr, csr);
	assert_int_equal(out.csrlen, sizeof(csr));
	in = post_csr("est/dev-device/sren");
	assert_int_equal(ec_map(&in, &out), 0);
	assert_int_equal(out.op, EC_OP_SREN);
	assert_string_equal(out.label, "dev-device");
}

static void
test_accept(void **state)
{
	struct ec_in in;
	struct ec_out out;

	in = req(EC_M_GET, "est/crts");
	in.has_accept = 1;
	in.accept = EC_CT_PKIX_CERT;
	assert_int_equal(ec_map(&in, &out), 0);
	assert_int_equal(out.rsp_ct, EC_CT_PKIX_CERT);
	in = post_csr("est/sen");
	in.has_accept = 1;
	in.accept = EC_CT_PKCS7_CERTS;
	assert_int_equal(ec_map(&in, &out), 0);
	assert_int_equal(out.rsp_ct, EC_CT_PKCS7_CERTS);
	in.accept = 50;	/* application/json */
	assert_int_equal(ec_map(&in, &out), 406);
	in = req(EC_M_GET, "est/att");
	in.has_accept = 1;
	in.accept = EC_CT_PKIX_CERT;
	assert_int_equal(ec_map(&in, &out), 406);
	assert_int_equal(out.op, EC_OP_NONE);
}

static void
test_paths(void **state)
{
	static const char *bad[] = {
		"", "est", "est/", "est/crt", "est/crtsx", "/est/crts",
		"est//crts", "est/a/b/crts", "est/la bel/crts", "est/x%2f/sen",
		"EST/crts", "est/crts/", "well-known/core", "est/skg",
	};
	struct ec_in in;
	struct ec_out out;
	char longlabel[EC_MAX_LABEL + 16];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in = req(EC_M_GET, bad[i]);
		assert_int_equal(ec_map(&in, &out), 404);
		assert_non_null(out.diag);
	}
	memcpy(longlabel, "est/", 4);
	memset(longlabel + 4, 'l', EC_MAX_LABEL);
	memcpy(longlabel + 4 + EC_MAX_LABEL, "/crts", 6);
	in = req(EC_M_GET, longlabel);
	assert_int_equal(ec_map(&in, &out), 0);
	assert_int_equal(strlen(out.label), EC_MAX_LABEL);
	memcpy(longlabel + 4 + EC_MAX_LABEL, "l/crts", 7);
	in = req(EC_M_GET, longlabel);
	assert_int_equal(ec_map(&in, &out), 404);
	/* A path with a NUL inside is not the path it starts like. */
	in = req(EC_M_GET, "est/crts");
	in.pathlen = 9;
	assert_int_equal(ec_map(&in, &out), 404);
	in.path = NULL;
	assert_int_equal(ec_map(&in, &out), 404);
}

static void
test_methods(void **state)
{
	struct ec_in in;
	struct ec_out out;

	in = req(EC_M_POST, "est/crts");
	assert_int_equal(ec_map(&in, &out), 405);
	in = req(EC_M_GET, "est/sen");
	assert_int_equal(ec_map(&in, &out), 405);
	in = post_csr("est/sen");
	in.method = EC_M_OTHER;
	assert_int_equal(ec_map(&in, &out), 405);
	/* A GET with a body is malformed. */
	in = req(EC_M_GET, "est/crts");
	in.body = csr;
	in.bodylen = sizeof(csr);
	assert_int_equal(ec_map(&in, &out), 400);
}

static void
test_body(void **state)
{
	static const uint8_t notder[] = { 0x31, 0x03, 0x02, 0x01, 0x00 };
	static uint8_t big[EC_MAX_BODY + 1];
	struct ec_in in;
	struct ec_out out;

	in = post_csr("est/sen");
	in.has_ct = 0;
	assert_int_equal(ec_map(&in, &out), 415);
	in.has_ct = 1;
	in.ct = 0;	/* text/plain */
	assert_int_equal(ec_map(&in, &out), 415);
	in.ct = EC_CT_PKCS10;
	in.bodylen = 0;
	assert_int_equal(ec_map(&in, &out), 400);
	in.body = notder;
	in.bodylen = sizeof(notder);
	assert_int_equal(ec_map(&in, &out), 400);
	/* Our cap, whatever the config allows. */
	in.body = big;
	in.bodylen = sizeof(big);
	assert_int_equal(ec_map(&in, &out), 413);
	in = post_csr("est/sen");
	in.max_body = sizeof(csr) - 1;
	assert_int_equal(ec_map(&in, &out), 413);
}

static void
test_der(void **state)
{
	static const uint8_t ok1[] = { 0x30, 0x00 };
	static const uint8_t nonmin[] = { 0x30, 0x81, 0x01, 0x00 };
	static const uint8_t indef[] = { 0x30, 0x80, 0x00, 0x00 };
	static const uint8_t lead0[] = { 0x30, 0x82, 0x00, 0x81 };
	static const uint8_t trail[] = { 0x30, 0x01, 0x00, 0x00 };
	static uint8_t long2[4 + 300] = { 0x30, 0x82, 0x01, 0x2c };

	assert_true(ec_der_seq_ok(ok1, sizeof(ok1)));
	assert_true(ec_der_seq_ok(long2, sizeof(long2)));
	assert_false(ec_der_seq_ok(long2, sizeof(long2) - 1));
	assert_false(ec_der_seq_ok(nonmin, sizeof(nonmin)));
	assert_false(ec_der_seq_ok(indef, sizeof(indef)));
	assert_false(ec_der_seq_ok(lead0, sizeof(lead0)));
	assert_false(ec_der_seq_ok(trail, sizeof(trail)));
	assert_false(ec_der_seq_ok(ok1, 1));
	assert_false(ec_der_seq_ok(ok1, 0));
}

static void
test_block1(void **state)
{
	const size_t max = 4096;

	/* In order, appended; the last block may be short. */
	assert_int_equal(ec_block1_check(0, 1024, 0, 0, max), EC_BLK_APPEND);
	assert_int_equal(ec_block1_check(1024, 1024, 0, 1024, max),
	    EC_BLK_APPEND);
	assert_int_equal(ec_block1_check(4096 - 10, 10, 0, 4086, max),
	    EC_BLK_APPEND);
	/* A retransmitted block is acknowledged, not stored twice. */
	assert_int_equal(ec_block1_check(0, 1024, 0, 1024, max), EC_BLK_DUP);
	/* A gap, or a start in the middle. */
	assert_int_equal(ec_block1_check(2048, 1024, 0, 1024, max), 408);
	assert_int_equal(ec_block1_check(1024, 1024, 0, 0, max), 408);
	/* Size1 over the cap: 4.13 before anything is stored. */
	assert_int_equal(ec_block1_check(0, 16, max + 1, 0, max), 413);
	assert_int_equal(ec_block1_check(0, 16, UINT64_MAX, 0, max), 413);
	assert_int_equal(ec_block1_check(0, 16, 0xffffffffu, 0, max), 413);
	/* Huge block numbers, and a block running past the cap. */
	assert_int_equal(ec_block1_check((uint64_t)0xfffff << 10, 1024, 0, 0,
	    max), 413);
	assert_int_equal(ec_block1_check(max - 10, 11, 0, max - 10, max),
	    413);
	assert_int_equal(ec_block1_check(UINT64_MAX, 1, 0, 0, max), 413);
}

/* RFC 6690 4.1 filters of /.well-known/core, on bytes from the network. */
static int
filt(const char *q)
{
	return ec_link_filter((const uint8_t *)q, strlen(q), "ace.est.sen",
	    "/est/dev/sen");
}

static void
test_link_filter(void **state)
{
	(void)state;
	assert_int_equal(ec_link_filter(NULL, 0, "ace.est.sen", "/est/sen"),
	    1);
	assert_int_equal(filt(""), 1);
	assert_int_equal(filt("rt=ace.est.sen"), 1);
	assert_int_equal(filt("rt=ace.est.*"), 1);
	assert_int_equal(filt("rt=*"), 1);
	assert_int_equal(filt("rt=ace.est.sren"), 0);
	assert_int_equal(filt("rt=ace.est.sen.longer"), 0);
	assert_int_equal(filt("rt=ace.est.senx*"), 0);
	assert_int_equal(filt("href=/est/dev/sen"), 1);
	assert_int_equal(filt("href=/est/dev/*"), 1);
	assert_int_equal(filt("href=/est/other/*"), 0);
	assert_int_equal(filt("rt=ace.est.sen&href=/est/x"), 0);
	assert_int_equal(filt("ct=62&rt=ace.est.sen&"), 1);
	assert_int_equal(filt("rt="), 0);
	assert_int_equal(filt("&&&"), 1);
	/* A NUL in the pattern matches nothing (strncmp used to stop there). */
	assert_int_equal(ec_link_filter((const uint8_t *)"rt=ace.est.sen\0zz*",
	    18, "ace.est.sen", "/est/dev/sen"), 0);
	assert_int_equal(ec_link_filter((const uint8_t *)"rt=ace.est.sen", 6,
	    "ace.est.sen", "/est/dev/sen"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operations),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_der),
		cmocka_unit_test(test_block1),
		cmocka_unit_test(test_link_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
