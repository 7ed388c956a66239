/*
 * signetctl's parsers and formatters: what they accept, what they must
 * refuse (framing attacks, malformed JSON, keys' contents), and that
 * text from the network cannot reach a terminal as control bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"

static uint8_t out[4096];

static int
http(const char *s, int eof, struct ctl_http_resp *r)
{
	return ctl_http_parse((const uint8_t *)s, strlen(s), eof, out, r);
}

static void
test_http_framing(void **state)
{
	struct ctl_http_resp r;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json"
	    "\r\nContent-Length: 2\r\n\r\n{}";

	assert_int_equal(http(ok, 0, &r), CTL_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 2);
	assert_memory_equal(r.body, "{}", 2);
	assert_int_equal(r.ctype_len, strlen("application/json"));
	/* Each prefix is incomplete, and malformed at the end of input. */
	assert_int_equal(ctl_http_parse((const uint8_t *)ok, strlen(ok) - 1,
	    0, out, &r), CTL_E_MORE);
	assert_int_equal(ctl_http_parse((const uint8_t *)ok, strlen(ok) - 1,
	    1, out, &r), CTL_E_SYNTAX);
	/* More than Content-Length says. */
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab",
	    1, &r), CTL_E_SYNTAX);
	/* Read to the end without a length. */
	assert_int_equal(http("HTTP/1.0 404 Not Found\r\n\r\nnope\n", 0, &r),
	    CTL_E_MORE);
	assert_int_equal(http("HTTP/1.0 404 Not Found\r\n\r\nnope\n", 1, &r),
	    CTL_OK);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.body_len, 5);
	assert_int_equal(http("HTTP/1.1 429 Slow\r\nRetry-After: 7\r\n"
	    "Content-Length: 0\r\n\r\n", 0, &r), CTL_OK);
	assert_int_equal(r.retry_after, 7);
}

static void
test_http_refuses(void **state)
{
	static const char *const bad[] = {
		/* RFC 9112 6.3: both framings, or lengths that differ. */
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: "
		    "chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2"
		    "\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		/* Obsolete line folding, a space before the colon. */
		"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
		"HTTP/2 200\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 600 Odd\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n",
		"HTTP/1.1 200 OK\x1b]0;owned\x07\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "2\r\nabc\r\n0\r\n\r\n",
	};
	struct ctl_http_resp r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (http(bad[i], 1, &r) == CTL_OK)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void
test_http_chunked(void **state)
{
	struct ctl_http_resp r;
	const char *s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5;x=y\r\nhello\r\nA\r\n world!!!!\r\n0\r\nT: 1\r\n\r\n";

	assert_int_equal(http(s, 0, &r), CTL_OK);
	assert_int_equal(r.body_len, 15);
	assert_memory_equal(r.body, "hello world!!!!", 15);
	assert_ptr_equal(r.body, out);
	assert_int_equal(ctl_http_parse((const uint8_t *)s, strlen(s) - 2, 0,
	    out, &r), CTL_E_MORE);
	/* A size over the limit is refused before anything is copied. */
	assert_int_equal(http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
	    "\r\n\r\nffffffffff\r\n", 0, &r), CTL_E_TOOBIG);
}

static void
test_http_head_limit(void **state)
{
	struct ctl_http_resp r;
	size_t n = CTL_MAX_HEAD + 100;
	char *s;

	s = malloc(n + 1);
	assert_non_null(s);
	memcpy(s, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(s + 20, 'a', n - 20);
	s[n] = '\0';
	assert_int_equal(ctl_http_parse((const uint8_t *)s, n, 0, out, &r),
	    CTL_E_TOOBIG);
	free(s);
}

static int
json(const char *s, struct ctl_json *j)
{
	return ctl_json_parse((const uint8_t *)s, strlen(s), j);
}

static void
test_json_tree(void **state)
{
	struct ctl_json j;
	long items, i, n = 0;

	assert_int_equal(json(" {\"total\": 2, \"items\": [ {\"serial\":"
	    "\"0a\", \"x\": {\"deep\": [1, 2]}}, {\"serial\": \"ff\"} ],"
	    " \"ok\": true, \"none\": null, \"f\": -1.5e3 }", &j), CTL_OK);
	assert_int_equal(j.n[ctl_json_get(&j, 0, "total")].num, 2);
	assert_true(j.n[ctl_json_get(&j, 0, "total")].integral);
	assert_false(j.n[ctl_json_get(&j, 0, "f")].integral);
	assert_string_equal(j.n[ctl_json_get(&j, 0, "f")].str, "-1.5e3");
	assert_true(j.n[ctl_json_get(&j, 0, "ok")].boolean);
	assert_int_equal(j.n[ctl_json_get(&j, 0, "none")].type, CTL_J_NULL);
	assert_int_equal(ctl_json_get(&j, 0, "nope"), -1);
	/* A member of a nested object is not a member of the outer one. */
	assert_int_equal(ctl_json_get(&j, 0, "deep"), -1);
	items = ctl_json_get(&j, 0, "items");
	for (i = ctl_json_first(&j, items); i >= 0;
	    i = ctl_json_next(&j, items, i), n++)
		assert_string_equal(ctl_json_gets(&j, i, "serial"),
		    n == 0 ? "0a" : "ff");
	assert_int_equal(n, 2);
	ctl_json_free(&j);
	assert_int_equal(json("{\"s\":\"a\\n\\u00e9\\ud83d\\ude00\\\"\"}", &j),
	    CTL_OK);
	assert_string_equal(ctl_json_gets(&j, 0, "s"),
	    "a\n\xc3\xa9\xf0\x9f\x98\x80\"");
	ctl_json_free(&j);
	assert_int_equal(json("[]", &j), CTL_OK);
	assert_int_equal(ctl_json_first(&j, 0), -1);
	ctl_json_free(&j);
	assert_int_equal(json("9223372036854775808", &j), CTL_OK);
	assert_false(j.n[0].integral);
	ctl_json_free(&j);
}

static void
test_json_refuses(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{a:1}",
		"[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]", "tru", "nul",
		"\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\x\"",
		"\"a\x01\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xff\"",
		"{} {}", "[1] x", "\"abc",
	};
	char deep[CTL_JSON_MAX_DEPTH * 2 + 3];
	struct ctl_json j;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (json(bad[i], &j) == CTL_OK)
			fail_msg("accepted: %s", bad[i]);
	memset(deep, '[', CTL_JSON_MAX_DEPTH + 1);
	memset(deep + CTL_JSON_MAX_DEPTH + 1, ']', CTL_JSON_MAX_DEPTH + 1);
	deep[2 * CTL_JSON_MAX_DEPTH + 2] = '\0';
	assert_int_equal(json(deep, &j), CTL_E_TOOBIG);
	deep[0] = ' ';
	deep[2 * CTL_JSON_MAX_DEPTH + 1] = '\0';
	assert_int_equal(json(deep, &j), CTL_OK);
	ctl_json_free(&j);
}

struct seen {
	char	 buf[512];
};

static int
set(void *arg, const char *name, const char *value)
{
	struct seen *s = arg;
	size_t n = strlen(s->buf);

	if (strcmp(name, "reject") == 0)
		return -1;
	snprintf(s->buf + n, sizeof(s->buf) - n, "%s=%s;", name, value);
	return 0;
}

static void
test_conf(void **state)
{
	const char *ok = "# signetctl\n\nserver = https://a:1  # comment\r\n"
	    "  key=\"dir/with # hash.key\"\ntenant\t=\tdev";
	struct seen s;
	size_t line;

	memset(&s, 0, sizeof(s));
	assert_int_equal(ctl_conf_parse((const uint8_t *)ok, strlen(ok), set,
	    &s, &line), CTL_OK);
	assert_string_equal(s.buf, "server=https://a:1;key=dir/with # "
	    "hash.key;tenant=dev;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(ctl_conf_parse((const uint8_t *)"a = 1\nb\n", 8, set,
	    &s, &line), CTL_E_SYNTAX);
	assert_int_equal(line, 2);
	assert_int_equal(ctl_conf_parse((const uint8_t *)"x = \"open\n", 10,
	    set, &s, &line), CTL_E_SYNTAX);
	assert_int_equal(ctl_conf_parse((const uint8_t *)"reject = 1", 10,
	    set, &s, &line), CTL_E_ARG);
	assert_int_equal(ctl_conf_parse((const uint8_t *)"a =\n", 4, set, &s,
	    &line), CTL_E_SYNTAX);
}

static void
test_url(void **state)
{
	struct ctl_url u;

	assert_int_equal(ctl_url_parse("https://127.0.0.1:8443", &u), CTL_OK);
	assert_true(u.tls);
	assert_string_equal(u.host, "127.0.0.1");
	assert_string_equal(u.port, "8443");
	assert_string_equal(u.path, "/");
	assert_int_equal(ctl_url_parse("http://[::1]:80/ocsp?x=1", &u),
	    CTL_OK);
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.path, "/ocsp?x=1");
	assert_int_equal(ctl_url_parse("http://ca.example/crl/a.crl", &u),
	    CTL_OK);
	assert_string_equal(u.port, "80");
	assert_int_equal(ctl_url_parse("ftp://x", &u), CTL_E_SYNTAX);
	assert_int_equal(ctl_url_parse("https://:1", &u), CTL_E_SYNTAX);
	assert_int_equal(ctl_url_parse("https://a:99999", &u), CTL_E_SYNTAX);
	assert_int_equal(ctl_url_parse("https://a b/", &u), CTL_E_SYNTAX);
	assert_int_equal(ctl_url_parse("https://a/b c", &u), CTL_E_SYNTAX);
	assert_int_equal(ctl_url_parse("https://a/\r\nX: y", &u),
	    CTL_E_SYNTAX);
	assert_int_equal(ctl_url_parse("https://user@a/", &u), CTL_E_SYNTAX);
}

static void
test_small(void **state)
{
	char buf[64];

	assert_int_equal(ctl_duration("90"), 90);
	assert_int_equal(ctl_duration("15m"), 900);
	assert_int_equal(ctl_duration("25h"), 90000);
	assert_int_equal(ctl_duration("7d"), 604800);
	assert_int_equal(ctl_duration("h"), -1);
	assert_int_equal(ctl_duration("1x"), -1);
	assert_int_equal(ctl_duration("-1"), -1);
	assert_int_equal(ctl_serial_norm("0x0A:bC:ff", buf, sizeof(buf)),
	    CTL_OK);
	assert_string_equal(buf, "0abcff");
	assert_int_equal(ctl_serial_norm("xyz", buf, sizeof(buf)),
	    CTL_E_SYNTAX);
	assert_int_equal(ctl_serial_norm("", buf, sizeof(buf)), CTL_E_SYNTAX);
	snprintf(buf, sizeof(buf), "/v1/certs?q=");
	assert_int_equal(ctl_pct_encode(buf, sizeof(buf), "a b&c=/é"),
	    CTL_OK);
	assert_string_equal(buf, "/v1/certs?q=a%20b%26c%3D%2F%C3%A9");
	assert_int_equal(ctl_pct_encode(buf, 20, "aaaaaaaaaaaaaaaaaaaa"),
	    CTL_E_TOOBIG);
	/* tidy's retries: Retry-After as given, else 1, 2, 4, ...; 1..60. */
	assert_int_equal(ctl_retry_wait(5, 1), 5);
	assert_int_equal(ctl_retry_wait(5, 9), 5);
	assert_int_equal(ctl_retry_wait(86400, 1), CTL_RETRY_MAX_WAIT);
	assert_int_equal(ctl_retry_wait(0, 0), 1);
	assert_int_equal(ctl_retry_wait(0, 1), 1);
	assert_int_equal(ctl_retry_wait(0, 2), 2);
	assert_int_equal(ctl_retry_wait(0, 6), 32);
	assert_int_equal(ctl_retry_wait(0, 7), CTL_RETRY_MAX_WAIT);
	assert_int_equal(ctl_retry_wait(0, 4000000000u), CTL_RETRY_MAX_WAIT);
}

static void
test_output(void **state)
{
	static const char *const heads[] = { "A", "LONGER" };
	const char *row1[] = { "x\x1b]0;owned\x07", "\xc2\x9b" "2J" };
	const char *row2[] = { "wide", NULL };
	struct ctl_table *t;
	char *text = NULL;
	size_t len;
	FILE *f;

	assert_non_null(t = ctl_table_new(2, heads));
	assert_int_equal(ctl_table_add(t, row1), CTL_OK);
	assert_int_equal(ctl_table_add(t, row2), CTL_OK);
	assert_non_null(f = open_memstream(&text, &len));
	ctl_table_print(t, f);
	ctl_json_write_str(f, "q\"\\\n\x01");
	fclose(f);
	ctl_table_free(t);
	/* No escape (C0 or C1) reaches the terminal; columns align. */
	assert_string_equal(text,
	    "A            LONGER\n"
	    "x?]0;owned?  ?2J\n"
	    "wide         -\n"
	    "\"q\\\"\\\\\\n\\u0001\"");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_framing),
		cmocka_unit_test(test_http_refuses),
		cmocka_unit_test(test_http_chunked),
		cmocka_unit_test(test_http_head_limit),
		cmocka_unit_test(test_json_tree),
		cmocka_unit_test(test_json_refuses),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
