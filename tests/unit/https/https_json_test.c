/*
 * The strict JSON parser of /v1 request bodies: what it accepts, and the
 * shapes and encodings it must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "https.h"

static char arena[4096];

static int
parse(const char *s, struct https_json *j)
{
	return https_json_parse((const uint8_t *)s, strlen(s), arena,
	    strlen(s) + 1, j);
}

static void
test_accepts(void **state)
{
	struct https_json j;
	const struct https_jmember *m;
	const char *s;
	uint64_t v;

	assert_int_equal(parse(" { \"tenant\" : \"dev\", \"ttl\": 3600,"
	    "\"names\": [\"a.example\", \"b\"], \"x\": null, \"y\": true,"
	    "\"z\": [] }\n", &j), HTTPS_OK);
	assert_int_equal(j.n, 6);
	assert_int_equal(https_json_str(&j, "tenant", &s), HTTPS_OK);
	assert_string_equal(s, "dev");
	assert_int_equal(https_json_u64(&j, "ttl", &v), HTTPS_OK);
	assert_int_equal(v, 3600);
	m = https_json_get(&j, "names");
	assert_non_null(m);
	assert_int_equal(m->type, HTTPS_J_ARRAY);
	assert_int_equal(m->nitems, 2);
	assert_string_equal(m->items[1], "b");
	assert_int_equal(https_json_str(&j, "ttl", &s), HTTPS_E_TYPE);
	assert_int_equal(https_json_str(&j, "nope", &s), HTTPS_E_MISSING);
	assert_int_equal(parse("{}", &j), HTTPS_OK);
	assert_int_equal(j.n, 0);
}

static void
test_escapes(void **state)
{
	struct https_json j;
	const char *s;

	assert_int_equal(parse("{\"a\":\"x\\n\\\"\\u00e9\\ud83d\\ude00/\"}",
	    &j), HTTPS_OK);
	assert_int_equal(https_json_str(&j, "a", &s), HTTPS_OK);
	assert_string_equal(s, "x\n\"\xc3\xa9\xf0\x9f\x98\x80/");
	/* Raw UTF-8 passes if well formed. */
	assert_int_equal(parse("{\"a\":\"\xc3\xa9\"}", &j), HTTPS_OK);
}

static void
test_refuses(void **state)
{
	static const char *bad[] = {
		"", "[]", "\"x\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
		"{\"a\":1}x", "{\"a\":1}{}", "{\"a\":1,\"a\":2}",
		"{\"a\":{\"b\":1}}", "{\"a\":[1]}", "{\"a\":[[\"x\"]]}",
		"{\"a\":-1}", "{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":01}",
		"{\"a\":99999999999999999999999}", "{\"a\":tru}",
		"{\"a\":\"\\u0000\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ude00\"}",
		"{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
		"{\"a\":\"\xe9\"}", "{'a':1}", "{\"a\":\"x}",
	};
	struct https_json j;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &j) == HTTPS_OK)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(j.n, 0);
	}
}

static void
test_limits(void **state)
{
	char buf[2048];
	struct https_json j;
	size_t i, o = 0;

	/* One member too many. */
	buf[o++] = '{';
	for (i = 0; i <= HTTPS_JSON_MAX_MEMBERS; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"m%zu\":1",
		    i ? "," : "", i);
	buf[o++] = '}';
	buf[o] = '\0';
	assert_int_equal(parse(buf, &j), HTTPS_E_TOOLONG);
	/* One array item too many. */
	o = (size_t)snprintf(buf, sizeof(buf), "{\"a\":[");
	for (i = 0; i <= HTTPS_JSON_MAX_ITEMS; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"x\"",
		    i ? "," : "");
	snprintf(buf + o, sizeof(buf) - o, "]}");
	assert_int_equal(parse(buf, &j), HTTPS_E_TOOLONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
