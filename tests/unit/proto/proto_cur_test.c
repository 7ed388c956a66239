/*
 * The bounded cursor and writer: every field of every engine message is
 * read through these, so their edges are tested on their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "signet/proto.h"

static void
test_ints_roundtrip(void **state)
{
	uint8_t buf[15], a;
	struct proto_wbuf w;
	struct proto_cur c;
	uint16_t b;
	uint32_t d;
	uint64_t e;

	proto_wbuf_init(&w, buf, sizeof(buf));
	proto_put_u8(&w, 0xab);
	proto_put_u16(&w, 0xbeef);
	proto_put_u32(&w, 0xdeadc0de);
	assert_int_equal(proto_put_u64(&w, 0x0102030405060708ULL), PROTO_OK);
	assert_int_equal(w.len, sizeof(buf));
	/* Big-endian on the wire. */
	assert_int_equal(buf[1], 0xbe);
	assert_int_equal(buf[7], 0x01);

	proto_cur_init(&c, buf, sizeof(buf));
	proto_get_u8(&c, &a);
	proto_get_u16(&c, &b);
	proto_get_u32(&c, &d);
	proto_get_u64(&c, &e);
	assert_int_equal(proto_end(&c), PROTO_OK);
	assert_int_equal(a, 0xab);
	assert_int_equal(b, 0xbeef);
	assert_int_equal(d, 0xdeadc0de);
	assert_true(e == 0x0102030405060708ULL);
}

static void
test_truncated_is_sticky(void **state)
{
	const uint8_t buf[] = { 1, 2, 3 };
	struct proto_cur c;
	uint32_t v = 7;
	uint8_t b = 7;

	proto_cur_init(&c, buf, sizeof(buf));
	assert_int_equal(proto_get_u32(&c, &v), PROTO_ERR_SHORT);
	assert_int_equal(v, 0);
	/* After a failure nothing more is read, even what would fit. */
	assert_int_equal(proto_get_u8(&c, &b), PROTO_ERR_SHORT);
	assert_int_equal(b, 0);
	assert_int_equal(proto_end(&c), PROTO_ERR_SHORT);
}

static void
test_end_trailing(void **state)
{
	const uint8_t buf[] = { 1, 2 };
	struct proto_cur c;
	uint8_t b;

	proto_cur_init(&c, buf, sizeof(buf));
	proto_get_u8(&c, &b);
	assert_int_equal(proto_end(&c), PROTO_ERR_TRAILING);
	proto_cur_init(&c, NULL, 0);
	assert_int_equal(proto_end(&c), PROTO_OK);
}

static void
test_str_bounds(void **state)
{
	const uint8_t ok[] = { 0, 3, 'a', 'b', 'c' };
	const uint8_t nul[] = { 0, 3, 'a', 0, 'c' };
	const uint8_t empty[] = { 0, 0 };
	struct proto_cur c;
	const char *p;
	size_t n;
	char dst[4];

	proto_cur_init(&c, ok, sizeof(ok));
	assert_int_equal(proto_get_str(&c, 3, &p, &n), PROTO_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(proto_end(&c), PROTO_OK);

	proto_cur_init(&c, ok, sizeof(ok));
	assert_int_equal(proto_get_str(&c, 2, &p, &n), PROTO_ERR_TOOLONG);
	assert_null(p);

	proto_cur_init(&c, nul, sizeof(nul));
	assert_int_equal(proto_get_str(&c, 255, &p, &n), PROTO_ERR_NUL);

	proto_cur_init(&c, ok, sizeof(ok));
	assert_int_equal(proto_get_strbuf(&c, dst, sizeof(dst)), PROTO_OK);
	assert_string_equal(dst, "abc");
	proto_cur_init(&c, ok, sizeof(ok));
	assert_int_equal(proto_get_strbuf(&c, dst, 3), PROTO_ERR_TOOLONG);
	assert_string_equal(dst, "");

	proto_cur_init(&c, empty, sizeof(empty));
	assert_int_equal(proto_get_strbuf(&c, dst, sizeof(dst)), PROTO_OK);
	assert_string_equal(dst, "");
	assert_int_equal(proto_end(&c), PROTO_OK);
}

static void
test_data_length_overflow(void **state)
{
	const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 1, 2 };
	struct proto_cur c;
	const uint8_t *p;
	size_t n;

	/* A length past the end fails, even with no maximum to stop it. */
	proto_cur_init(&c, huge, sizeof(huge));
	assert_int_equal(proto_get_data(&c, SIZE_MAX, &p, &n),
	    PROTO_ERR_SHORT);
	assert_null(p);
	assert_int_equal(n, 0);

	proto_cur_init(&c, huge, sizeof(huge));
	assert_int_equal(proto_get_data(&c, PROTO_MAX_BLOB, &p, &n),
	    PROTO_ERR_TOOLONG);
}

static void
test_writer_refuses(void **state)
{
	uint8_t buf[8];
	struct proto_wbuf w;

	proto_wbuf_init(&w, buf, 5);
	assert_int_equal(proto_put_u32(&w, 1), PROTO_OK);
	assert_int_equal(proto_put_u16(&w, 1), PROTO_ERR_SPACE);
	assert_int_equal(proto_put_u8(&w, 1), PROTO_ERR_SPACE);
	assert_int_equal(w.len, 4);

	proto_wbuf_init(&w, buf, sizeof(buf));
	assert_int_equal(proto_put_str(&w, 8, "a\0b", 3), PROTO_ERR_NUL);
	proto_wbuf_init(&w, buf, sizeof(buf));
	assert_int_equal(proto_put_cstr(&w, 3, "abcd"), PROTO_ERR_TOOLONG);
	proto_wbuf_init(&w, buf, sizeof(buf));
	assert_int_equal(proto_put_data(&w, 2, "abc", 3), PROTO_ERR_TOOLONG);
	proto_wbuf_init(&w, buf, sizeof(buf));
	assert_int_equal(proto_put_data(&w, 8, NULL, 3), PROTO_ERR_ARG);
	proto_wbuf_init(&w, buf, sizeof(buf));
	assert_int_equal(proto_put_cstr(&w, 8, "abc"), PROTO_OK);
	assert_int_equal(w.len, 5);
}

static void
test_strerror(void **state)
{
	assert_string_equal(proto_strerror(PROTO_OK), "success");
	assert_string_equal(proto_strerror(-1), "unknown error");
	assert_string_equal(proto_strerror(1000), "unknown error");
	assert_string_equal(proto_strerror(PROTO_ERR_ARG), "invalid argument");
	assert_string_equal(proto_type_name(PROTO_T_ISSUE), "issue");
	assert_string_equal(proto_type_name(PROTO_T_CRL | PROTO_T_REPLY),
	    "crl");
	assert_string_equal(proto_type_name(0), "unknown");
	assert_string_equal(proto_result_name(PROTO_R_RATE_LIMITED),
	    "rate limited");
	assert_string_equal(proto_result_name(PROTO_R_MAX), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ints_roundtrip),
		cmocka_unit_test(test_truncated_is_sticky),
		cmocka_unit_test(test_end_trailing),
		cmocka_unit_test(test_str_bounds),
		cmocka_unit_test(test_data_length_overflow),
		cmocka_unit_test(test_writer_refuses),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
