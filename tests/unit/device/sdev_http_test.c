/*
 * The EST over HTTPS response parser and the base64 body decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sdev_local.h"

#define S(x)	(const uint8_t *)(x), strlen(x)

static void
test_complete(void **state)
{
	const char *r = "HTTP/1.1 200 OK\r\n"
	    "content-type: application/pkcs7-mime; smime-type=certs-only\r\n"
	    "Content-Transfer-Encoding:  base64 \r\n"
	    "Content-Length: 4\r\n\r\nMAA=";
	struct sdev_http_resp h;

	assert_int_equal(sdev_http_parse(S(r), 0, &h), SDEV_OK);
	assert_true(h.complete);
	assert_int_equal(h.status, 200);
	assert_int_equal(h.reason.len, 2);
	assert_int_equal(h.cte.len, 6);
	assert_memory_equal(h.cte.ptr, "base64", 6);
	assert_int_equal(h.body.len, 4);
	assert_true(h.ctype.len > 20);
	/* Without the last body byte it waits for more; at EOF it fails. */
	assert_int_equal(sdev_http_parse((const uint8_t *)r, strlen(r) - 1, 0,
	    &h), SDEV_OK);
	assert_false(h.complete);
	assert_int_equal(sdev_http_parse((const uint8_t *)r, strlen(r) - 1, 1,
	    &h), SDEV_E_PROTO);
}

static void
test_until_close(void **state)
{
	const char *r = "HTTP/1.0 403 Forbidden\n\ntoken already used\n";
	struct sdev_http_resp h;

	assert_int_equal(sdev_http_parse(S(r), 0, &h), SDEV_OK);
	assert_false(h.complete);
	assert_int_equal(sdev_http_parse(S(r), 1, &h), SDEV_OK);
	assert_true(h.complete);
	assert_int_equal(h.status, 403);
	assert_int_equal(h.body.len, 19);
}

static void
test_refused(void **state)
{
	struct sdev_http_resp h;

	assert_int_equal(sdev_http_parse(S("HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 0, &h), SDEV_E_PROTO);
	assert_int_equal(sdev_http_parse(S("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx"), 0, &h),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_http_parse(S("HTTP/1.1 200 OK\r\n"
	    "Content-Length: -1\r\n\r\n"), 0, &h), SDEV_E_PROTO);
	assert_int_equal(sdev_http_parse(S("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 1\r\n\r\nxy"), 0, &h), SDEV_E_PROTO);
	assert_int_equal(sdev_http_parse(S("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 999999999\r\n\r\n"), 0, &h), SDEV_E_TOOBIG);
	assert_int_equal(sdev_http_parse(S("HTTP/2 200 OK\r\n\r\n"), 1, &h),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_http_parse(S("HTTP/1.1 20x OK\r\n\r\n"), 1, &h),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_http_parse(S("HTTP/1.1 200 OK\r\n"
	    "no colon\r\n\r\n"), 1, &h), SDEV_E_PROTO);
	assert_int_equal(sdev_http_parse(S("HTTP/1.1 200 OK\r\n"), 1, &h),
	    SDEV_E_PROTO);
}

static void
test_b64(void **state)
{
	uint8_t out[16];
	size_t n;

	assert_int_equal(sdev_b64_decode(S("MAA=\r\n"), out, sizeof(out), &n),
	    SDEV_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 0x30);
	/* RFC 7030 bodies may be broken into lines. */
	assert_int_equal(sdev_b64_decode(S("AAEC\r\nAwQF\n"), out, sizeof(out),
	    &n), SDEV_OK);
	assert_int_equal(n, 6);
	assert_int_equal(out[5], 5);
	assert_int_equal(sdev_b64_decode(S("A A="), out, sizeof(out), &n),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_b64_decode(S("\r\n"), out, sizeof(out), &n),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_b64_decode(S("AAECAwQFBgcICQoLDA0ODxAR"), out,
	    sizeof(out), &n), SDEV_E_PROTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_until_close),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_b64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
