/*
 * The strict JSON reader of signet_acme: what it accepts, and the
 * encodings, shapes and sizes it must refuse; and strict base64url.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme.h"

static int
parse(const char *s)
{
	struct acme_json *j = NULL;
	int rc;

	rc = acme_json_parse((const uint8_t *)s, strlen(s), &j);
	if (rc == ACME_OK)
		assert_non_null(j);
	else
		assert_null(j);
	acme_json_free(j);
	return rc;
}

static int
parse_n(const char *s, size_t n)
{
	struct acme_json *j = NULL;
	int rc;

	rc = acme_json_parse((const uint8_t *)s, n, &j);
	acme_json_free(j);
	return rc;
}

static void
test_accepts(void **state)
{
	const char *in = " {\"a\" : \"x\\u00e9\\ud83d\\ude00\\n\", \"b\": [1, "
	    "-0.5e+3, true, false, null, {}], \"c\": {\"d\": 184467440737095516"
	    "15}, \"\\u0064\": \"caf\xc3\xa9\"}\r\n";
	const struct acme_jnode *r, *b, *c;
	struct acme_json *j;
	const char *s;
	uint64_t v;
	int t;

	(void)state;
	assert_int_equal(acme_json_parse((const uint8_t *)in, strlen(in), &j),
	    ACME_OK);
	r = acme_json_root(j);
	assert_int_equal(r->type, ACME_J_OBJ);
	assert_int_equal(r->n, 4);
	assert_int_equal(acme_json_str(r, "a", &s, NULL), ACME_OK);
	assert_string_equal(s, "x\xc3\xa9\xf0\x9f\x98\x80\n");
	assert_int_equal(acme_json_str(r, "d", &s, NULL), ACME_OK);
	assert_string_equal(s, "caf\xc3\xa9");
	b = acme_json_get(r, "b");
	assert_non_null(b);
	assert_int_equal(b->type, ACME_J_ARR);
	assert_int_equal(b->n, 6);
	assert_string_equal(b->child->str, "1");
	assert_string_equal(b->child->next->str, "-0.5e+3");
	assert_int_equal(b->child->next->next->type, ACME_J_TRUE);
	c = acme_json_get(r, "c");
	assert_int_equal(acme_json_u64(c, "d", &v), ACME_OK);
	assert_true(v == UINT64_MAX);
	assert_int_equal(acme_json_bool(r, "a", &t), ACME_E_TYPE);
	assert_int_equal(acme_json_str(r, "zz", &s, NULL), ACME_E_MISSING);
	assert_null(acme_json_get(b, "a"));
	acme_json_free(j);

	assert_int_equal(parse("0"), ACME_OK);
	assert_int_equal(parse("\"\""), ACME_OK);
	assert_int_equal(parse("[]"), ACME_OK);
	assert_int_equal(parse("-1.0E-2"), ACME_OK);
}

static void
test_refuses(void **state)
{
	static const struct {
		const char	*in;
		int		 rc;
	} bad[] = {
		{ "", ACME_E_SYNTAX },
		{ " ", ACME_E_SYNTAX },
		{ "{} x", ACME_E_SYNTAX },		/* trailing garbage */
		{ "{}{}", ACME_E_SYNTAX },
		{ "{\"a\":1,}", ACME_E_SYNTAX },	/* trailing comma */
		{ "[1,]", ACME_E_SYNTAX },
		{ "{'a':1}", ACME_E_SYNTAX },
		{ "{\"a\" 1}", ACME_E_SYNTAX },
		{ "[01]", ACME_E_SYNTAX },		/* leading zero */
		{ "[1.]", ACME_E_SYNTAX },
		{ "[.5]", ACME_E_SYNTAX },
		{ "[1e]", ACME_E_SYNTAX },
		{ "[+1]", ACME_E_SYNTAX },
		{ "[NaN]", ACME_E_SYNTAX },
		{ "[tru]", ACME_E_SYNTAX },
		{ "[True]", ACME_E_SYNTAX },
		{ "\"a\tb\"", ACME_E_SYNTAX },		/* raw control char */
		{ "\"\\x41\"", ACME_E_SYNTAX },
		{ "\"\\u12g4\"", ACME_E_SYNTAX },
		{ "\"abc", ACME_E_SYNTAX },
		{ "{\"a\":1,\"a\":2}", ACME_E_DUP },
		{ "{\"a\":1,\"\\u0061\":2}", ACME_E_DUP }, /* same decoded */
		{ "{\"b\":{\"x\":1,\"y\":2,\"x\":3}}", ACME_E_DUP },
		{ "\"\\ud800\"", ACME_E_UTF8 },		/* lone high */
		{ "\"\\udc00\"", ACME_E_UTF8 },		/* lone low */
		{ "\"\\ud800\\u0041\"", ACME_E_UTF8 },
		{ "\"\\ud800x\"", ACME_E_UTF8 },
		{ "\"\xc0\xaf\"", ACME_E_UTF8 },	/* overlong '/' */
		{ "\"\xe0\x80\xaf\"", ACME_E_UTF8 },
		{ "\"\xed\xa0\x80\"", ACME_E_UTF8 },	/* UTF-8 surrogate */
		{ "\"\xf4\x90\x80\x80\"", ACME_E_UTF8 },	/* > U+10FFFF */
		{ "\"\xff\"", ACME_E_UTF8 },
		{ "\"\xc3\"", ACME_E_UTF8 },		/* truncated */
		{ "\"\x80\"", ACME_E_UTF8 },		/* lone continuation */
		{ "\"\\u0000\"", ACME_E_VALUE },	/* NUL in a C string */
		{ "[[[[[[[[1]]]]]]]]", ACME_OK },	/* depth 8: allowed */
		{ "[[[[[[[[[1]]]]]]]]]", ACME_E_LIMIT },	/* depth 9 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].in) != bad[i].rc)
			fail_msg("case %zu: %s: got %s", i, bad[i].in,
			    acme_strerror(parse(bad[i].in)));
	}
	/* A NUL byte inside or after the document. */
	assert_int_equal(parse_n("\"a\0b\"", 5), ACME_E_SYNTAX);
	assert_int_equal(parse_n("{}\0", 3), ACME_E_SYNTAX);
}

static void
test_limits(void **state)
{
	char *s;
	size_t i, off;

	(void)state;
	/* ACME_MAX_MEMBERS members are fine, one more is not. */
	s = malloc(32 * (ACME_MAX_MEMBERS + 2));
	assert_non_null(s);
	off = 0;
	s[off++] = '{';
	for (i = 0; i <= ACME_MAX_MEMBERS; i++)
		off += (size_t)sprintf(s + off, "%s\"m%zu\":0", i ? "," : "",
		    i);
	s[off++] = '}';
	s[off] = '\0';
	assert_int_equal(parse(s), ACME_E_LIMIT);
	s[0] = '{';
	off = 1;
	for (i = 0; i < ACME_MAX_MEMBERS; i++)
		off += (size_t)sprintf(s + off, "%s\"m%zu\":0", i ? "," : "",
		    i);
	s[off++] = '}';
	s[off] = '\0';
	assert_int_equal(parse(s), ACME_OK);
	free(s);

	/* Items of one array, and values in one document. */
	s = malloc(4 * ACME_MAX_NODES + 16);
	assert_non_null(s);
	off = 0;
	s[off++] = '[';
	for (i = 0; i <= ACME_MAX_ITEMS; i++)
		off += (size_t)sprintf(s + off, "%s0", i ? "," : "");
	s[off++] = ']';
	s[off] = '\0';
	assert_int_equal(parse(s), ACME_E_LIMIT);
	off = 0;
	s[off++] = '[';
	for (i = 0; i < ACME_MAX_NODES / ACME_MAX_ITEMS + 1; i++) {
		off += (size_t)sprintf(s + off, "%s[", i ? "," : "");
		for (size_t k = 0; k < ACME_MAX_ITEMS - 1; k++)
			off += (size_t)sprintf(s + off, "%s0", k ? "," : "");
		s[off++] = ']';
	}
	s[off++] = ']';
	s[off] = '\0';
	assert_int_equal(parse(s), ACME_E_LIMIT);
	free(s);

	/* The body limit. */
	s = malloc(ACME_MAX_BODY + 2);
	assert_non_null(s);
	memset(s, ' ', ACME_MAX_BODY + 1);
	s[0] = '0';
	assert_int_equal(parse_n(s, ACME_MAX_BODY), ACME_OK);
	assert_int_equal(parse_n(s, ACME_MAX_BODY + 1), ACME_E_LIMIT);
	free(s);
}

static void
test_b64url(void **state)
{
	uint8_t out[16];
	char enc[32];
	size_t n;

	(void)state;
	/* RFC 4648 10 vectors, unpadded. */
	assert_int_equal(acme_b64url_decode("Zm9vYmE", 7, out, sizeof(out),
	    &n), ACME_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "fooba", 5);
	assert_int_equal(acme_b64url_decode("", 0, out, sizeof(out), &n),
	    ACME_OK);
	assert_int_equal(n, 0);
	assert_int_equal(acme_b64url_encode((const uint8_t *)"foob", 4, enc,
	    sizeof(enc)), ACME_OK);
	assert_string_equal(enc, "Zm9vYg");
	assert_int_equal(acme_b64url_decode("-_8", 3, out, sizeof(out), &n),
	    ACME_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	/* Padding, the standard alphabet, whitespace, a 1 mod 4 length. */
	assert_int_equal(acme_b64url_decode("Zm8=", 4, out, sizeof(out), &n),
	    ACME_E_B64);
	assert_int_equal(acme_b64url_decode("+/8", 3, out, sizeof(out), &n),
	    ACME_E_B64);
	assert_int_equal(acme_b64url_decode("Zm9v\nYg", 7, out, sizeof(out),
	    &n), ACME_E_B64);
	assert_int_equal(acme_b64url_decode("Zm9vY", 5, out, sizeof(out), &n),
	    ACME_E_B64);
	/* Non-zero unused bits: "Zh" would also decode to "f". */
	assert_int_equal(acme_b64url_decode("Zg", 2, out, sizeof(out), &n),
	    ACME_OK);
	assert_int_equal(acme_b64url_decode("Zh", 2, out, sizeof(out), &n),
	    ACME_E_B64);
	assert_int_equal(acme_b64url_decode("Zm8", 3, out, sizeof(out), &n),
	    ACME_OK);
	assert_memory_equal(out, "fo", 2);
	assert_int_equal(acme_b64url_decode("Zm9", 3, out, sizeof(out), &n),
	    ACME_E_B64);
	assert_int_equal(acme_b64url_decode("Zm9vYmFy", 8, out, 5, &n),
	    ACME_E_SPACE);
	assert_int_equal(acme_b64url_encode((const uint8_t *)"foob", 4, enc,
	    6), ACME_E_SPACE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_b64url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
