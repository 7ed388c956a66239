/*
 * The small parsers of api/https: base64, percent-decoding, the EST
 * router, OCSP GET paths, Authorization headers, media types, serials,
 * numbers and PEM.  Each refusal here is input a client could send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "https.h"

#define S(x) ((const uint8_t *)(x)), strlen(x)

static void
test_b64_decode(void **state)
{
	uint8_t out[64];
	size_t n;

	assert_int_equal(https_b64_decode(S("TWFu"), 0, out, sizeof(out), &n),
	    HTTPS_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "Man", 3);
	assert_int_equal(https_b64_decode(S("TWE="), 0, out, sizeof(out), &n),
	    HTTPS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(https_b64_decode(S("TQ=="), 0, out, sizeof(out), &n),
	    HTTPS_OK);
	assert_int_equal(n, 1);
	/* Line breaks only with HTTPS_B64_WS, as EST bodies have them. */
	assert_int_equal(https_b64_decode(S("TW\r\nFu\n"), 0, out,
	    sizeof(out), &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_b64_decode(S("TW\r\nFu\n"), HTTPS_B64_WS, out,
	    sizeof(out), &n), HTTPS_OK);
	assert_int_equal(n, 3);
	/* Missing, excess or misplaced padding, bad symbols, bad bits. */
	assert_int_equal(https_b64_decode(S("TQ"), 0, out, sizeof(out), &n),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_b64_decode(S("TQ==="), 0, out, sizeof(out),
	    &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_b64_decode(S("TQ==TWFu"), 0, out, sizeof(out),
	    &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_b64_decode(S("TW*u"), 0, out, sizeof(out), &n),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_b64_decode(S("TR=="), 0, out, sizeof(out), &n),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_b64_decode(S("T"), 0, out, sizeof(out), &n),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_b64_decode(S("TWFu"), 0, out, 2, &n),
	    HTTPS_E_SPACE);
	/* URL alphabet, padding optional; either alphabet with ANY. */
	assert_int_equal(https_b64_decode(S("-_8"), HTTPS_B64_URL, out,
	    sizeof(out), &n), HTTPS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(https_b64_decode(S("+/8="), HTTPS_B64_ANY, out,
	    sizeof(out), &n), HTTPS_OK);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(https_b64_decode(S("+_8="), HTTPS_B64_ANY, out,
	    sizeof(out), &n), HTTPS_E_SYNTAX);
}

static void
test_b64_roundtrip(void **state)
{
	uint8_t in[200], out[200];
	char txt[400];
	size_t i, len, n, m;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (len = 0; len < sizeof(in); len += 7) {
		assert_int_equal(https_b64_encode(in, len, txt, sizeof(txt),
		    &n), HTTPS_OK);
		assert_int_equal(strlen(txt), n);
		assert_int_equal(https_b64_decode((uint8_t *)txt, n,
		    HTTPS_B64_WS, out, sizeof(out), &m), HTTPS_OK);
		assert_int_equal(m, len);
		assert_memory_equal(in, out, len);
	}
	assert_int_equal(https_b64_encode(in, 100, txt, 10, &n),
	    HTTPS_E_SPACE);
}

static void
test_pct(void **state)
{
	uint8_t out[32];
	size_t n;

	assert_int_equal(https_pct_decode(S("a%2Fb%2b"), out, sizeof(out),
	    &n), HTTPS_OK);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "a/b+", 4);
	assert_int_equal(https_pct_decode(S("a%2"), out, sizeof(out), &n),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_pct_decode(S("%"), out, sizeof(out), &n),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_pct_decode(S("%zz"), out, sizeof(out), &n),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_pct_decode(S("a%00"), out, sizeof(out), &n),
	    HTTPS_E_SYNTAX);
}

static void
test_est_route(void **state)
{
	struct https_est_route r;

	assert_int_equal(https_est_route(S("/.well-known/est/cacerts"), &r),
	    HTTPS_OK);
	assert_int_equal(r.op, HTTPS_EST_CACERTS);
	assert_string_equal(r.label, "");
	assert_int_equal(https_est_route(
	    S("/.well-known/est/dev-service/simpleenroll"), &r), HTTPS_OK);
	assert_int_equal(r.op, HTTPS_EST_SIMPLEENROLL);
	assert_string_equal(r.label, "dev-service");
	assert_int_equal(https_est_route(
	    S("/.well-known/est/x/simplereenroll"), &r), HTTPS_OK);
	assert_int_equal(r.op, HTTPS_EST_SIMPLEREENROLL);
	assert_int_equal(https_est_route(S("/.well-known/est/csrattrs"), &r),
	    HTTPS_OK);
	assert_int_equal(r.op, HTTPS_EST_CSRATTRS);
	assert_int_equal(https_est_route(S("/.well-known/est/nope"), &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(https_est_route(S("/.well-known/est/"), &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(https_est_route(S("/v1/sign"), &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(https_est_route(
	    S("/.well-known/est/a/b/cacerts"), &r), HTTPS_E_NOTFOUND);
	assert_int_equal(https_est_route(S("/.well-known/est/../cacerts"),
	    &r), HTTPS_E_SYNTAX);
	assert_int_equal(https_est_route(S("/.well-known/est//cacerts"), &r),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_est_route(S("/.well-known/est/cacerts/"), &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(https_est_route(S("/.well-known/est/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "/cacerts"), &r), HTTPS_E_SYNTAX);
}

static void
test_ocsp_path(void **state)
{
	uint8_t out[64];
	size_t n;

	/* base64 "0\x03\x02\x01\x01" percent-encoded, as openssl sends. */
	assert_int_equal(https_ocsp_path(S("/ocsp/MAMCAQE%3D"), out,
	    sizeof(out), &n), HTTPS_OK);
	assert_int_equal(n, 5);
	assert_int_equal(out[0], 0x30);
	assert_int_equal(https_ocsp_path(S("/ocsp/MAMCAQE"), out, sizeof(out),
	    &n), HTTPS_OK);
	assert_int_equal(https_ocsp_path(S("/ocsp/"), out, sizeof(out), &n),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_ocsp_path(S("/ocsp/M%"), out, sizeof(out), &n),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_ocsp_path(S("/crl/x"), out, sizeof(out), &n),
	    HTTPS_E_NOTFOUND);
}

static void
test_auth(void **state)
{
	char tok[PROTO_MAX_TOKEN + 1];

	assert_int_equal(https_auth_token(S("Bearer abc.DEF-123"), tok),
	    HTTPS_OK);
	assert_string_equal(tok, "abc.DEF-123");
	assert_int_equal(https_auth_token(S("bearer   xyz "), tok), HTTPS_OK);
	assert_string_equal(tok, "xyz");
	/* "est:s3cret" */
	assert_int_equal(https_auth_token(S("Basic ZXN0OnMzY3JldA=="), tok),
	    HTTPS_OK);
	assert_string_equal(tok, "s3cret");
	assert_int_equal(https_auth_token(S("Basic ZXN0"), tok),
	    HTTPS_E_SYNTAX);
	assert_string_equal(tok, "");
	assert_int_equal(https_auth_token(S("Basic ZXN0Og=="), tok),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_auth_token(S("Bearer a b"), tok),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_auth_token(S("Bearer"), tok), HTTPS_E_SYNTAX);
	assert_int_equal(https_auth_token(S("Digest x"), tok),
	    HTTPS_E_SYNTAX);
}

static void
test_media(void **state)
{
	assert_true(https_media_is("application/pkcs10", "application/pkcs10"));
	assert_true(https_media_is(" Application/PKCS10 ; charset=x",
	    "application/pkcs10"));
	assert_false(https_media_is("application/pkcs10x",
	    "application/pkcs10"));
	assert_false(https_media_is(NULL, "application/json"));
	assert_false(https_media_is("text/plain", "application/json"));
}

static void
test_numbers(void **state)
{
	uint8_t s[PROTO_MAX_SERIAL];
	uint64_t v;
	size_t n;

	assert_int_equal(https_serial_parse(S("0a1B"), s, &n), HTTPS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(s[1], 0x1b);
	assert_int_equal(https_serial_parse(S("0a:1b"), s, &n), HTTPS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(https_serial_parse(S("0a1"), s, &n),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_serial_parse(S("0a:"), s, &n),
	    HTTPS_E_SYNTAX);
	assert_int_equal(https_serial_parse(S("0g"), s, &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_serial_parse(S(""), s, &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_serial_parse(
	    S("00112233445566778899aabbccddeeff0011223344"), s, &n),
	    HTTPS_E_TOOLONG);
	assert_int_equal(https_uint_parse("42", 100, &v), HTTPS_OK);
	assert_int_equal(v, 42);
	assert_int_equal(https_uint_parse("101", 100, &v), HTTPS_E_TOOLONG);
	assert_int_equal(https_uint_parse("+1", 100, &v), HTTPS_E_SYNTAX);
	assert_int_equal(https_uint_parse("", 100, &v), HTTPS_E_SYNTAX);
	assert_int_equal(https_uint_parse("99999999999999999999999", UINT64_MAX,
	    &v), HTTPS_E_TOOLONG);
	assert_true(https_name_ok("dev-service_1.x"));
	assert_false(https_name_ok(".."));
	assert_false(https_name_ok("a/b"));
	assert_false(https_name_ok(""));
}

static void
test_pem(void **state)
{
	uint8_t out[16];
	size_t n;

	assert_int_equal(https_pem_decode(S("\n-----BEGIN X-----\nTWFu\n"
	    "-----END X-----\n"), "X", out, sizeof(out), &n), HTTPS_OK);
	assert_int_equal(n, 3);
	assert_int_equal(https_pem_decode(S("junk-----BEGIN X-----\nTWFu\n"
	    "-----END X-----"), "X", out, sizeof(out), &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_pem_decode(S("-----BEGIN X-----\nTWFu\n"
	    "-----END Y-----"), "X", out, sizeof(out), &n), HTTPS_E_SYNTAX);
}

static void
test_head(void **state)
{
	struct https_head h;
	size_t used;

	https_head_init(&h);
	assert_int_equal(https_head_scan(&h, S("GET / HTTP/1.1\r\nHost: x"),
	    8192, &used), HTTPS_E_MORE);
	assert_int_equal(https_head_scan(&h, S("\r\n\r\nbody"), 8192, &used),
	    HTTPS_OK);
	assert_int_equal(used, 4);
	/* Empty lines before the request line do not end it (RFC 9112 2.2);
	 * bare LF ends lines. */
	https_head_init(&h);
	assert_int_equal(https_head_scan(&h, S("\r\n\nGET / HTTP/1.1\n\n"),
	    8192, &used), HTTPS_OK);
	/* One byte over max, whether in one piece or many. */
	https_head_init(&h);
	assert_int_equal(https_head_scan(&h, S("GET /aaaa HTTP/1.1\r\n"), 10,
	    &used), HTTPS_E_TOOLONG);
	https_head_init(&h);
	assert_int_equal(https_head_scan(&h, S("GET /a"), 6, &used),
	    HTTPS_E_MORE);
	assert_int_equal(https_head_scan(&h, S("a"), 6, &used),
	    HTTPS_E_TOOLONG);
}

static void
test_content_length(void **state)
{
	const char *same[] = { "5", " 5 " }, *differ[] = { "5", "6" };
	const char *plus[] = { "+5" }, *list[] = { "5, 5" }, *neg[] = { "-1" };
	const char *big[] = { "1234567890123456789" }, *empty[] = { "" };
	uint64_t n;

	assert_int_equal(https_content_length(same, 2, &n), HTTPS_OK);
	assert_int_equal(n, 5);
	assert_int_equal(https_content_length(differ, 2, &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_content_length(plus, 1, &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_content_length(list, 1, &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_content_length(neg, 1, &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_content_length(big, 1, &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_content_length(empty, 1, &n), HTTPS_E_SYNTAX);
	assert_int_equal(https_content_length(NULL, 0, &n), HTTPS_E_MISSING);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_decode),
		cmocka_unit_test(test_b64_roundtrip),
		cmocka_unit_test(test_pct),
		cmocka_unit_test(test_est_route),
		cmocka_unit_test(test_ocsp_path),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_media),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_content_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
