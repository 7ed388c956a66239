/*
 * The device client's CoAP codec (RFC 7252, RFC 7959 block options):
 * exact encodings, round trips, and the malformed messages it must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sdev_local.h"

/* CON POST /est/sen, token 0x01..0x08, Content-Format 286, Accept 281. */
static const uint8_t sen_req[] = {
	0x48, 0x02, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8,
	0xb3, 'e', 's', 't',		/* Uri-Path (11) */
	0x03, 's', 'e', 'n',		/* Uri-Path again: delta 0 */
	0x12, 0x01, 0x1e,		/* Content-Format (12) = 286 */
	0x52, 0x01, 0x19,		/* Accept (17) = 281 */
	0xff, 0x30, 0x00
};

static void
build_sen(struct sdev_coap_msg *m)
{
	static const uint8_t tok[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t body[] = { 0x30, 0x00 };

	memset(m, 0, sizeof(*m));
	m->type = SDEV_COAP_CON;
	m->code = SDEV_COAP_POST;
	m->mid = 0x1234;
	m->tkl = 8;
	memcpy(m->token, tok, 8);
	/* Added out of order on purpose: the list stays sorted. */
	assert_int_equal(sdev_coap_add_uint(m, SDEV_OPT_ACCEPT, 281), SDEV_OK);
	assert_int_equal(sdev_coap_add_opt(m, SDEV_OPT_URI_PATH, "est", 3), 0);
	assert_int_equal(sdev_coap_add_uint(m, SDEV_OPT_CFORMAT, 286), 0);
	assert_int_equal(sdev_coap_add_opt(m, SDEV_OPT_URI_PATH, "sen", 3), 0);
	m->payload = body;
	m->plen = sizeof(body);
}

static void
test_encode_exact(void **state)
{
	struct sdev_coap_msg m;
	uint8_t out[64];
	size_t len;

	build_sen(&m);
	assert_int_equal(sdev_coap_encode(&m, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(sen_req));
	assert_memory_equal(out, sen_req, len);
	/* One byte short of room is refused, not truncated. */
	assert_int_equal(sdev_coap_encode(&m, out, len - 1, &len),
	    SDEV_E_TOOBIG);
}

static void
test_decode_exact(void **state)
{
	struct sdev_coap_msg m;
	uint32_t v;

	assert_int_equal(sdev_coap_decode(sen_req, sizeof(sen_req), &m), 0);
	assert_int_equal(m.type, SDEV_COAP_CON);
	assert_int_equal(m.code, SDEV_COAP_POST);
	assert_int_equal(m.mid, 0x1234);
	assert_int_equal(m.tkl, 8);
	assert_int_equal(m.nopt, 4);
	assert_int_equal(m.opt[1].num, SDEV_OPT_URI_PATH);
	assert_memory_equal(m.opt[1].val, "sen", 3);
	assert_int_equal(sdev_coap_get_uint(&m, SDEV_OPT_CFORMAT, &v), 0);
	assert_int_equal(v, 286);
	assert_int_equal(sdev_coap_get_uint(&m, SDEV_OPT_ACCEPT, &v), 0);
	assert_int_equal(v, 281);
	assert_int_equal(sdev_coap_get_uint(&m, SDEV_OPT_BLOCK2, &v),
	    SDEV_E_NOTFOUND);
	assert_int_equal(m.plen, 2);
}

static void
test_extended_options(void **state)
{
	struct sdev_coap_msg m, d;
	uint8_t out[2048], big[600];
	size_t len;
	uint32_t v;

	memset(&m, 0, sizeof(m));
	memset(big, 'x', sizeof(big));
	m.code = SDEV_COAP_GET;
	/* Size1 (60) needs a one-byte delta extension, 2000 a two-byte one. */
	assert_int_equal(sdev_coap_add_uint(&m, SDEV_OPT_SIZE1, 70000), 0);
	assert_int_equal(sdev_coap_add_opt(&m, 2000, big, sizeof(big)), 0);
	assert_int_equal(sdev_coap_add_uint(&m, SDEV_OPT_BLOCK2, 0), 0);
	assert_int_equal(sdev_coap_encode(&m, out, sizeof(out), &len), 0);
	assert_int_equal(sdev_coap_decode(out, len, &d), 0);
	assert_int_equal(d.nopt, 3);
	assert_int_equal(d.opt[0].num, SDEV_OPT_BLOCK2);
	assert_int_equal(d.opt[0].len, 0);	/* uint 0 is zero bytes long */
	assert_int_equal(sdev_coap_get_uint(&d, SDEV_OPT_SIZE1, &v), 0);
	assert_int_equal(v, 70000);
	assert_int_equal(d.opt[2].num, 2000);
	assert_int_equal(d.opt[2].len, sizeof(big));
	assert_null(d.payload);
}

static void
test_refused(void **state)
{
	struct sdev_coap_msg m;
	/* Each is one malformed message. */
	static const uint8_t tkl9[] = { 0x49, 0x45, 0, 1, 1, 2, 3, 4, 5, 6,
	    7, 8, 9 };
	static const uint8_t ver2[] = { 0x80, 0x45, 0, 1 };
	static const uint8_t marker_only[] = { 0x60, 0x45, 0, 1, 0xff };
	static const uint8_t delta15[] = { 0x60, 0x45, 0, 1, 0xf1, 0 };
	static const uint8_t len15[] = { 0x60, 0x45, 0, 1, 0x1f, 0 };
	static const uint8_t optlong[] = { 0x60, 0x45, 0, 1, 0x15, 1, 2 };
	static const uint8_t ext_cut[] = { 0x60, 0x45, 0, 1, 0xe0, 0x01 };
	static const uint8_t empty_tok[] = { 0x61, 0x00, 0, 1, 7 };
	static const uint8_t empty_pl[] = { 0x60, 0x00, 0, 1, 0xff, 1 };
	static const uint8_t toohigh[] = { 0x60, 0x45, 0, 1, 0xe0, 0xff, 0xff,
	    0xe0, 0xff, 0xff };
	static const uint8_t block7[] = { 0x60, 0x45, 0, 1, 0xd1, 0x0a, 0x07 };
	uint32_t v;
	struct sdev_block b;

	assert_int_equal(sdev_coap_decode(tkl9, sizeof(tkl9), &m),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_coap_decode(ver2, sizeof(ver2), &m),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_coap_decode(ver2, 3, &m), SDEV_E_PROTO);
	assert_int_equal(sdev_coap_decode(marker_only, sizeof(marker_only),
	    &m), SDEV_E_PROTO);
	assert_int_equal(sdev_coap_decode(delta15, sizeof(delta15), &m),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_coap_decode(len15, sizeof(len15), &m),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_coap_decode(optlong, sizeof(optlong), &m),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_coap_decode(ext_cut, sizeof(ext_cut), &m),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_coap_decode(empty_tok, sizeof(empty_tok), &m),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_coap_decode(empty_pl, sizeof(empty_pl), &m),
	    SDEV_E_PROTO);
	assert_int_equal(sdev_coap_decode(toohigh, sizeof(toohigh), &m),
	    SDEV_E_PROTO);
	/* Block2 (23) with SZX 7 decodes, but the block value is refused. */
	assert_int_equal(sdev_coap_decode(block7, sizeof(block7), &m), 0);
	assert_int_equal(sdev_coap_get_uint(&m, SDEV_OPT_BLOCK2, &v), 0);
	assert_int_equal(sdev_coap_block_parse(v, &b), SDEV_E_PROTO);
	assert_int_equal(sdev_coap_block_parse(0x1000000, &b), SDEV_E_PROTO);
}

static void
test_too_many_options(void **state)
{
	uint8_t buf[4 + SDEV_COAP_MAX_OPTS + 1];
	struct sdev_coap_msg m;

	memset(buf, 0x00, sizeof(buf));
	buf[0] = 0x40;
	buf[1] = 0x45;
	/* SDEV_COAP_MAX_OPTS + 1 options of number 0 and length 0. */
	assert_int_equal(sdev_coap_decode(buf, sizeof(buf), &m),
	    SDEV_E_TOOBIG);
	assert_int_equal(sdev_coap_decode(buf, sizeof(buf) - 1, &m), SDEV_OK);
	memset(&m, 0, sizeof(m));
	while (m.nopt < SDEV_COAP_MAX_OPTS)
		assert_int_equal(sdev_coap_add_opt(&m, 11, "a", 1), SDEV_OK);
	assert_int_equal(sdev_coap_add_opt(&m, 11, "a", 1), SDEV_E_TOOBIG);
}

static void
test_empty_ack(void **state)
{
	static const uint8_t ack[] = { 0x60, 0x00, 0xbe, 0xef };
	struct sdev_coap_msg m;

	assert_int_equal(sdev_coap_decode(ack, sizeof(ack), &m), 0);
	assert_int_equal(m.type, SDEV_COAP_ACK);
	assert_int_equal(m.code, 0);
	assert_int_equal(m.mid, 0xbeef);
}

static void
test_block_values(void **state)
{
	struct sdev_block b = { 0, 0, 5 }, p;
	uint32_t v;

	/* RFC 7959 2.2: NUM << 4 | M << 3 | SZX. */
	assert_int_equal(sdev_coap_block_value(&b), 0x05);
	b.num = 1;
	b.more = 1;
	assert_int_equal(sdev_coap_block_value(&b), 0x1d);
	b.num = 0xfffff;
	v = sdev_coap_block_value(&b);
	assert_int_equal(v, 0xfffffd);
	assert_int_equal(sdev_coap_block_parse(v, &p), 0);
	assert_int_equal(p.num, 0xfffff);
	assert_true(p.more);
	assert_int_equal(p.szx, 5);
	assert_int_equal(sdev_coap_block_parse(0x06, &p), 0);
	assert_int_equal(p.num, 0);
	assert_false(p.more);
	assert_int_equal(1 << (p.szx + 4), 1024);
}

/* Every prefix of a valid message is refused or decodes within bounds. */
static void
test_truncations(void **state)
{
	struct sdev_coap_msg m;
	size_t i;

	for (i = 0; i < sizeof(sen_req); i++) {
		int rc = sdev_coap_decode(sen_req, i, &m);

		if (rc == SDEV_OK)
			assert_true(m.plen <= i);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_exact),
		cmocka_unit_test(test_decode_exact),
		cmocka_unit_test(test_extended_options),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_too_many_options),
		cmocka_unit_test(test_empty_ack),
		cmocka_unit_test(test_block_values),
		cmocka_unit_test(test_truncations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
