/*
 * Request and reply codecs: every type round-trips, and every way a body
 * can be wrong fails cleanly with the error that names it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto_samples.h"

static uint8_t buf[PROTO_MAX_MSG];
static uint8_t buf2[PROTO_MAX_MSG];
static struct proto_request req, req2;
static struct proto_reply rep, rep2;

static size_t
enc_req(const struct proto_request *r, uint8_t *out)
{
	size_t len = 0;

	assert_int_equal(proto_request_encode(r, out, PROTO_MAX_BODY, &len),
	    PROTO_OK);
	return len;
}

static size_t
enc_rep(const struct proto_reply *r, uint8_t *out)
{
	size_t len = 0;

	assert_int_equal(proto_reply_encode(r, out, PROTO_MAX_BODY, &len),
	    PROTO_OK);
	return len;
}

static void
assert_blob(struct proto_blob a, struct proto_blob b)
{
	assert_int_equal(a.len, b.len);
	if (a.len > 0)
		assert_memory_equal(a.ptr, b.ptr, a.len);
}

/* Spot checks of the fields re-encoding alone would not prove decoded. */
static void
check_request_fields(const struct proto_request *a,
    const struct proto_request *b)
{
	assert_int_equal(a->ev.peer, b->ev.peer);
	assert_int_equal(a->ev.kind, b->ev.kind);
	assert_string_equal(a->ev.token, b->ev.token);
	assert_memory_equal(a->ev.psk_handle, b->ev.psk_handle,
	    PROTO_PSK_HANDLE_LEN);
	assert_int_equal(a->ev.src_len, b->ev.src_len);
	assert_memory_equal(a->ev.src, b->ev.src, PROTO_MAX_SRC);
	assert_int_equal(a->ev.chain.ncerts, b->ev.chain.ncerts);
	if (a->ev.chain.ncerts > 0)
		assert_blob(a->ev.chain.certs[0], b->ev.chain.certs[0]);
	switch (a->type) {
	case PROTO_T_ISSUE:
	case PROTO_T_REISSUE:
		assert_string_equal(a->u.issue.tenant, b->u.issue.tenant);
		assert_string_equal(a->u.issue.profile, b->u.issue.profile);
		assert_int_equal(a->u.issue.via, b->u.issue.via);
		assert_string_equal(a->u.issue.label, b->u.issue.label);
		assert_blob(a->u.issue.csr, b->u.issue.csr);
		assert_int_equal(a->u.issue.ttl, b->u.issue.ttl);
		assert_blob(a->u.issue.cur_cert, b->u.issue.cur_cert);
		break;
	case PROTO_T_REVOKE:
		assert_blob(a->u.revoke.serial, b->u.revoke.serial);
		assert_int_equal(a->u.revoke.reason, b->u.revoke.reason);
		break;
	case PROTO_T_LIST_CERTS:
		assert_string_equal(a->u.list.substring, b->u.list.substring);
		assert_int_equal(a->u.list.offset, b->u.list.offset);
		assert_string_equal(a->u.list.authorized_by,
		    b->u.list.authorized_by);
		break;
	case PROTO_T_TOKEN_CREATE:
		assert_int_equal(a->u.token.nnames, b->u.token.nnames);
		assert_string_equal(a->u.token.names[1], b->u.token.names[1]);
		assert_int_equal(a->u.token.uses, b->u.token.uses);
		break;
	case PROTO_T_OCSP:
		assert_blob(a->u.ocsp.der, b->u.ocsp.der);
		break;
	case PROTO_T_CRL:
		assert_string_equal(a->u.crl.issuer, b->u.crl.issuer);
		assert_int_equal(a->u.crl.delta, b->u.crl.delta);
		break;
	case PROTO_T_PSK_LOOKUP:
		assert_string_equal(a->u.psk.identity, b->u.psk.identity);
		break;
	case PROTO_T_ACME:
	case PROTO_T_ACME_VA:
		assert_int_equal(a->u.acme.op, b->u.acme.op);
		assert_string_equal(a->u.acme.id, b->u.acme.id);
		assert_string_equal(a->u.acme.detail, b->u.acme.detail);
		assert_blob(a->u.acme.body, b->u.acme.body);
		break;
	case PROTO_T_TIDY:
		assert_string_equal(a->u.tidy.tenant, b->u.tidy.tenant);
		break;
	case PROTO_T_NOTIFY:
		assert_int_equal(a->u.notify.op, b->u.notify.op);
		assert_int_equal(a->u.notify.id, b->u.notify.id);
		assert_int_equal(a->u.notify.attempt, b->u.notify.attempt);
		assert_int_equal(a->u.notify.status, b->u.notify.status);
		assert_string_equal(a->u.notify.detail, b->u.notify.detail);
		break;
	case PROTO_T_AUDIT_QUERY:
		assert_int_equal(a->u.audit.since, b->u.audit.since);
		assert_int_equal(a->u.audit.until, b->u.audit.until);
		assert_string_equal(a->u.audit.tenant, b->u.audit.tenant);
		assert_string_equal(a->u.audit.action, b->u.audit.action);
		assert_string_equal(a->u.audit.actor, b->u.audit.actor);
		assert_string_equal(a->u.audit.node, b->u.audit.node);
		assert_int_equal(a->u.audit.after, b->u.audit.after);
		assert_int_equal(a->u.audit.limit, b->u.audit.limit);
		break;
	default:
		break;
	}
}

static void
test_request_roundtrip(void **state)
{
	uint16_t t;
	size_t len, len2;
	int v;

	for (t = 1; t < PROTO_T_MAX; t++) {
		for (v = 0; v < PROTO_SAMPLE_VARIANTS; v++) {
			assert_int_equal(proto_sample_request(t, v, &req), 0);
			len = enc_req(&req, buf);
			assert_int_equal(proto_request_decode(t, buf, len,
			    &req2), PROTO_OK);
			assert_int_equal(req2.type, t);
			check_request_fields(&req, &req2);
			/* Canonical: decoding then encoding gives the bytes. */
			len2 = enc_req(&req2, buf2);
			assert_int_equal(len, len2);
			assert_memory_equal(buf, buf2, len);
		}
	}
}

static void
test_reply_roundtrip(void **state)
{
	uint16_t t;
	size_t len, len2;
	int v;

	for (t = 1; t < PROTO_T_MAX; t++) {
		for (v = 0; v < 3; v++) {
			assert_int_equal(proto_sample_reply(t, v, &rep), 0);
			len = enc_rep(&rep, buf);
			assert_int_equal(proto_reply_decode(t | PROTO_T_REPLY,
			    buf, len, &rep2), PROTO_OK);
			assert_int_equal(rep2.type, t);
			assert_int_equal(rep2.status.result, rep.status.result);
			assert_string_equal(rep2.status.message,
			    rep.status.message);
			assert_int_equal(rep2.status.retry_after,
			    rep.status.retry_after);
			len2 = enc_rep(&rep2, buf2);
			assert_int_equal(len, len2);
			assert_memory_equal(buf, buf2, len);
		}
	}
	proto_sample_reply(PROTO_T_LIST_CERTS, 0, &rep);
	len = enc_rep(&rep, buf);
	assert_int_equal(proto_reply_decode(PROTO_T_LIST_CERTS, buf, len,
	    &rep2), PROTO_OK);
	assert_int_equal(rep2.u.list.n, 3);
	assert_string_equal(rep2.u.list.items[2].subject,
	    "CN=web-1.acme.example");
	assert_int_equal(rep2.u.list.items[1].status, PROTO_CS_REVOKED);
	assert_string_equal(rep2.u.list.items[1].authorized_by,
	    "token:tk-0001");
	assert_string_equal(rep2.u.list.items[2].authorized_by, "");
}

/* No proper prefix of a valid body decodes, and no extension does either. */
static void
test_truncated_and_trailing(void **state)
{
	uint16_t t;
	size_t len, i;
	int v;

	for (t = 1; t < PROTO_T_MAX; t++) {
		for (v = 0; v < PROTO_SAMPLE_VARIANTS; v++) {
			proto_sample_request(t, v, &req);
			len = enc_req(&req, buf);
			for (i = 0; i < len; i++)
				assert_int_not_equal(proto_request_decode(t,
				    buf, i, &req2), PROTO_OK);
			buf[len] = 0;
			assert_int_equal(proto_request_decode(t, buf, len + 1,
			    &req2), PROTO_ERR_TRAILING);
		}
		proto_sample_reply(t, 0, &rep);
		len = enc_rep(&rep, buf);
		for (i = 0; i < len; i++)
			assert_int_not_equal(proto_reply_decode(t, buf, i,
			    &rep2), PROTO_OK);
		buf[len] = 0;
		assert_int_equal(proto_reply_decode(t, buf, len + 1, &rep2),
		    PROTO_ERR_TRAILING);
	}
}

static void
test_unknown_type(void **state)
{
	const uint8_t body[] = { PROTO_PEER_HTTPS, PROTO_EV_NONE, 0, 0, 0, 0 };

	assert_int_equal(proto_request_decode(PROTO_T_HEALTH, body,
	    sizeof(body), &req), PROTO_OK);
	assert_int_equal(proto_request_decode(0, body, sizeof(body), &req),
	    PROTO_ERR_TYPE);
	assert_int_equal(proto_request_decode(PROTO_T_MAX, body, sizeof(body),
	    &req), PROTO_ERR_TYPE);
	assert_int_equal(proto_request_decode(0x7fff, body, sizeof(body),
	    &req), PROTO_ERR_TYPE);
	/* A reply type is never a request. */
	assert_int_equal(proto_request_decode(PROTO_T_HEALTH | PROTO_T_REPLY,
	    body, sizeof(body), &req), PROTO_ERR_TYPE);
	assert_int_equal(proto_reply_decode(PROTO_T_REPLY, body, sizeof(body),
	    &rep), PROTO_ERR_TYPE);
	req.type = 0;
	assert_int_equal(proto_request_encode(&req, buf, sizeof(buf),
	    &(size_t){ 0 }), PROTO_ERR_TYPE);
}

/* A CRL request with the given issuer bytes, built by hand. */
static size_t
crl_body(const char *issuer, size_t n)
{
	struct proto_wbuf w;

	proto_wbuf_init(&w, buf, sizeof(buf));
	proto_put_u8(&w, PROTO_PEER_HTTPS);
	proto_put_u8(&w, PROTO_EV_NONE);
	proto_put_u32(&w, 0);	/* no source address */
	proto_put_u16(&w, (uint16_t)n);
	memcpy(buf + w.len, issuer, n);
	buf[w.len + n] = 0;	/* delta: no (issue 19) */
	return w.len + n + 1;
}

static void
test_strings(void **state)
{
	char s[300];
	size_t len;

	memset(s, 'a', sizeof(s));
	len = crl_body(s, PROTO_MAX_STR);
	assert_int_equal(proto_request_decode(PROTO_T_CRL, buf, len, &req),
	    PROTO_OK);
	assert_int_equal(strlen(req.u.crl.issuer), PROTO_MAX_STR);
	len = crl_body(s, PROTO_MAX_STR + 1);
	assert_int_equal(proto_request_decode(PROTO_T_CRL, buf, len, &req),
	    PROTO_ERR_TOOLONG);
	len = crl_body("acme\0evil", 9);
	assert_int_equal(proto_request_decode(PROTO_T_CRL, buf, len, &req),
	    PROTO_ERR_NUL);
	assert_string_equal(req.u.crl.issuer, "");
	/* The delta flag is 0 or 1. */
	len = crl_body("acme", 4);
	buf[len - 1] = 2;
	assert_int_equal(proto_request_decode(PROTO_T_CRL, buf, len, &req),
	    PROTO_ERR_VALUE);
	buf[len - 1] = 1;
	assert_int_equal(proto_request_decode(PROTO_T_CRL, buf, len, &req),
	    PROTO_OK);
	assert_int_equal(req.u.crl.delta, 1);

	/* The encoder refuses what the decoder would refuse. */
	proto_sample_request(PROTO_T_CRL, 2, &req);
	memset(req.u.crl.issuer, 'b', sizeof(req.u.crl.issuer));
	assert_int_equal(proto_request_encode(&req, buf, sizeof(buf), &len),
	    PROTO_ERR_TOOLONG);
	assert_int_equal(len, 0);
}

/* One broken field per case; the encoder must refuse each of them. */
enum breakage {
	B_PEER0, B_PEER4, B_KIND, B_TOKSRC, B_NOCERTS, B_REASON7, B_REASON11,
	B_SERIAL0, B_SERIAL21, B_LIMIT0, B_LIMIT65, B_STATUS, B_USES0,
	B_NAMES, B_CSR, B_VIA2, B_VIA_LABEL, B_VIA_TENANT
};

static void
breakit(struct proto_request *r, enum breakage b)
{
	switch (b) {
	case B_PEER0:	r->ev.peer = 0; break;
	case B_PEER4:	r->ev.peer = PROTO_PEER_LAST + 1; break;
	case B_KIND:	r->ev.kind = 3; break;
	case B_TOKSRC:	r->ev.token_src = 0; break;
	case B_NOCERTS:	r->ev.chain.ncerts = 0; break;
	case B_REASON7:	r->u.revoke.reason = 7; break;
	case B_REASON11: r->u.revoke.reason = 11; break;
	case B_SERIAL0:	r->u.revoke.serial.len = 0; break;
	case B_SERIAL21: r->u.revoke.serial.len = 21; break;
	case B_LIMIT0:	r->u.list.limit = 0; break;
	case B_LIMIT65:	r->u.list.limit = 65; break;
	case B_STATUS:	r->u.list.status = 4; break;
	case B_USES0:	r->u.token.uses = 0; break;
	case B_NAMES:	r->u.token.nnames = 17; break;
	case B_CSR:	r->u.issue.csr.len = PROTO_MAX_CSR + 1; break;
	case B_VIA2:	r->u.issue.via = 2; break;
	/* A label only by EST, and EST names no tenant (issue 15). */
	case B_VIA_LABEL: r->u.issue.label[0] = 'x'; break;
	case B_VIA_TENANT: r->u.issue.tenant[0] = 'x'; break;
	}
}

static void
test_encoder_values(void **state)
{
	static const struct {
		uint16_t	type;
		int		variant;
		enum breakage	b;
		int		err;
	} cases[] = {
		{ PROTO_T_HEALTH, 0, B_PEER0, PROTO_ERR_VALUE },
		{ PROTO_T_HEALTH, 0, B_PEER4, PROTO_ERR_VALUE },
		{ PROTO_T_HEALTH, 0, B_KIND, PROTO_ERR_VALUE },
		{ PROTO_T_HEALTH, 1, B_TOKSRC, PROTO_ERR_VALUE },
		{ PROTO_T_HEALTH, 0, B_NOCERTS, PROTO_ERR_VALUE },
		{ PROTO_T_REVOKE, 0, B_REASON7, PROTO_ERR_VALUE },
		{ PROTO_T_REVOKE, 0, B_REASON11, PROTO_ERR_VALUE },
		{ PROTO_T_REVOKE, 0, B_SERIAL0, PROTO_ERR_VALUE },
		{ PROTO_T_REVOKE, 0, B_SERIAL21, PROTO_ERR_TOOLONG },
		{ PROTO_T_LIST_CERTS, 0, B_LIMIT0, PROTO_ERR_VALUE },
		{ PROTO_T_LIST_CERTS, 0, B_LIMIT65, PROTO_ERR_VALUE },
		{ PROTO_T_LIST_CERTS, 0, B_STATUS, PROTO_ERR_VALUE },
		{ PROTO_T_TOKEN_CREATE, 0, B_USES0, PROTO_ERR_VALUE },
		{ PROTO_T_TOKEN_CREATE, 0, B_NAMES, PROTO_ERR_VALUE },
		{ PROTO_T_ISSUE, 0, B_CSR, PROTO_ERR_TOOLONG },
		{ PROTO_T_ISSUE, 0, B_VIA2, PROTO_ERR_VALUE },
		{ PROTO_T_ISSUE, 0, B_VIA_LABEL, PROTO_ERR_VALUE },
		{ PROTO_T_REISSUE, 1, B_VIA_TENANT, PROTO_ERR_VALUE },
	};
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		proto_sample_request(cases[i].type, cases[i].variant, &req);
		breakit(&req, cases[i].b);
		assert_int_equal(proto_request_encode(&req, buf, sizeof(buf),
		    &len), cases[i].err);
	}
}

/* Overwrite the byte at off of a sample's encoding; expect err. */
static void
poke_expect(uint16_t type, int variant, size_t off, uint8_t val, int err)
{
	size_t len;

	proto_sample_request(type, variant, &req);
	len = enc_req(&req, buf);
	assert_true(off < len);
	buf[off] = val;
	assert_int_equal(proto_request_decode(type, buf, len, &req2), err);
	/* A failed decode leaves no secret behind. */
	assert_string_equal(req2.ev.token, "");
}

static void
test_decoder_values(void **state)
{
	size_t len;

	poke_expect(PROTO_T_HEALTH, 2, 0, 0, PROTO_ERR_VALUE);	/* peer */
	poke_expect(PROTO_T_HEALTH, 2, 0, PROTO_PEER_LAST + 1, PROTO_ERR_VALUE);
	poke_expect(PROTO_T_HEALTH, 2, 1, 3, PROTO_ERR_VALUE);	/* kind */
	/* src: u32 length at 2, then 0, 4 or 16 bytes of address. */
	poke_expect(PROTO_T_HEALTH, 0, 5, 5, PROTO_ERR_VALUE);
	poke_expect(PROTO_T_HEALTH, 0, 5, 17, PROTO_ERR_TOOLONG);
	poke_expect(PROTO_T_HEALTH, 1, 22, 3, PROTO_ERR_VALUE);	/* token src */
	poke_expect(PROTO_T_HEALTH, 0, 10, 0, PROTO_ERR_VALUE);	/* ncerts */
	poke_expect(PROTO_T_HEALTH, 0, 10, 9, PROTO_ERR_VALUE);
	/* The reason is the last byte of a REVOKE body. */
	proto_sample_request(PROTO_T_REVOKE, 2, &req);
	len = enc_req(&req, buf);
	poke_expect(PROTO_T_REVOKE, 2, len - 1, 7, PROTO_ERR_VALUE);
	poke_expect(PROTO_T_REVOKE, 2, len - 1, 11, PROTO_ERR_VALUE);
	poke_expect(PROTO_T_REVOKE, 2, len - 1, 10, PROTO_OK);
	/* The token's uses are the last two bytes of TOKEN_CREATE. */
	proto_sample_request(PROTO_T_TOKEN_CREATE, 2, &req);
	len = enc_req(&req, buf);
	poke_expect(PROTO_T_TOKEN_CREATE, 2, len - 1, 0, PROTO_ERR_VALUE);
	/*
	 * ISSUE's via follows the evidence (a HEALTH body) and two empty
	 * strings: an unknown via, or NAMED with a label, does not decode.
	 */
	proto_sample_request(PROTO_T_HEALTH, 1, &req);
	len = enc_req(&req, buf) + 4;
	poke_expect(PROTO_T_ISSUE, 1, len, 2, PROTO_ERR_VALUE);
	poke_expect(PROTO_T_ISSUE, 1, len, PROTO_VIA_NAMED, PROTO_ERR_VALUE);

	/* A reply result beyond the enumeration. */
	proto_sample_reply(PROTO_T_HEALTH, 1, &rep);
	len = enc_rep(&rep, buf);
	buf[0] = PROTO_R_MAX;
	assert_int_equal(proto_reply_decode(PROTO_T_HEALTH, buf, len, &rep2),
	    PROTO_ERR_VALUE);
}

/* GET_CERT of a store = false certificate: a row without DER (issue 13). */
static void
test_get_unstored(void **state)
{
	size_t len;

	(void)state;
	proto_sample_reply(PROTO_T_GET_CERT, 0, &rep);
	rep.u.get.cert.ptr = NULL;
	rep.u.get.cert.len = 0;
	len = enc_rep(&rep, buf);
	assert_int_equal(proto_reply_decode(PROTO_T_GET_CERT, buf, len,
	    &rep2), PROTO_OK);
	assert_int_equal(rep2.u.get.cert.len, 0);
	assert_int_equal(rep2.u.get.sum.serial.len, rep.u.get.sum.serial.len);
}

/* PSK_LOOKUP: identity bounds, and a key copied out whole, NULs included. */
static void
test_psk_lookup(void **state)
{
	size_t len;

	proto_sample_request(PROTO_T_PSK_LOOKUP, 2, &req);
	req.ev.peer = PROTO_PEER_COAP;
	memset(req.u.psk.identity, 'i', PROTO_MAX_PSK_ID);
	req.u.psk.identity[PROTO_MAX_PSK_ID] = '\0';
	len = enc_req(&req, buf);
	assert_int_equal(proto_request_decode(PROTO_T_PSK_LOOKUP, buf, len,
	    &req2), PROTO_OK);
	assert_int_equal(strlen(req2.u.psk.identity), PROTO_MAX_PSK_ID);
	/* One byte more in the identity: both sides refuse it. */
	buf[3]++;
	buf[len] = 'i';
	assert_int_equal(proto_request_decode(PROTO_T_PSK_LOOKUP, buf,
	    len + 1, &req2), PROTO_ERR_TOOLONG);
	req.u.psk.identity[0] = '\0';
	assert_int_equal(proto_request_encode(&req, buf, sizeof(buf), &len),
	    PROTO_ERR_VALUE);

	proto_sample_reply(PROTO_T_PSK_LOOKUP, 0, &rep);
	len = enc_rep(&rep, buf);
	assert_int_equal(proto_reply_decode(PROTO_T_PSK_LOOKUP, buf, len,
	    &rep2), PROTO_OK);
	assert_int_equal(rep2.u.psk.len, 32);
	assert_memory_equal(rep2.u.psk.key, rep.u.psk.key, 32);
	assert_memory_equal(rep2.u.psk.handle, rep.u.psk.handle,
	    PROTO_PSK_HANDLE_LEN);
	assert_string_equal(rep2.u.psk.tenant, "t1");
	assert_string_equal(rep2.u.psk.profile, "dev");
	/* Without the profile's last byte: short. */
	assert_int_equal(proto_reply_decode(PROTO_T_PSK_LOOKUP, buf, len - 1,
	    &rep2), PROTO_ERR_SHORT);
	/* Tenant "t1" and profile "dev" follow the handle, each a u32
	 * length and its bytes. */
	len -= 4 + 2 + 4 + 3;
	/* The handle is exactly PROTO_PSK_HANDLE_LEN bytes: one short, or
	 * missing, is refused. */
	buf[len - PROTO_PSK_HANDLE_LEN - 1]--;
	assert_int_not_equal(proto_reply_decode(PROTO_T_PSK_LOOKUP, buf,
	    len - 1, &rep2), PROTO_OK);
	assert_int_equal(proto_reply_decode(PROTO_T_PSK_LOOKUP, buf,
	    len - PROTO_PSK_HANDLE_LEN - 2, &rep2), PROTO_ERR_SHORT);
	rep.u.psk.len = 0;
	assert_int_equal(proto_reply_encode(&rep, buf, sizeof(buf), &len),
	    PROTO_ERR_VALUE);
	rep.u.psk.len = PROTO_MAX_PSK + 1;
	assert_int_equal(proto_reply_encode(&rep, buf, sizeof(buf), &len),
	    PROTO_ERR_VALUE);
	proto_wipe(&rep2, sizeof(rep2));

	/* A PSK identity's evidence carries the handle, exactly 16 bytes;
	 * an HTTP token's carries none. */
	proto_sample_request(PROTO_T_ISSUE, 1, &req);
	assert_int_equal(req.ev.token_src, PROTO_TOKSRC_PSK_ID);
	len = enc_req(&req, buf);
	assert_int_equal(proto_request_decode(PROTO_T_ISSUE, buf, len, &req2),
	    PROTO_OK);
	assert_memory_equal(req2.ev.psk_handle, req.ev.psk_handle,
	    PROTO_PSK_HANDLE_LEN);
	req.ev.token_src = PROTO_TOKSRC_HTTP_AUTH;
	assert_int_equal(enc_req(&req, buf), len - 4 - PROTO_PSK_HANDLE_LEN);
	proto_wipe(&req2, sizeof(req2));
}

static void
test_encode_space(void **state)
{
	size_t len = 99;

	proto_sample_request(PROTO_T_ISSUE, 0, &req);
	assert_int_equal(proto_request_encode(&req, buf, 10, &len),
	    PROTO_ERR_SPACE);
	assert_int_equal(len, 0);
	proto_sample_reply(PROTO_T_ISSUE, 0, &rep);
	assert_int_equal(proto_reply_encode(&rep, buf, 10, &len),
	    PROTO_ERR_SPACE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_encoder_values),
		cmocka_unit_test(test_decoder_values),
		cmocka_unit_test(test_encode_space),
		cmocka_unit_test(test_psk_lookup),
		cmocka_unit_test(test_get_unstored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
