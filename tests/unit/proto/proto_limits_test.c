/*
 * Limits: the largest message each type allows still fits one 64 KiB
 * datagram, anything past a named limit is refused, and the header is
 * checked to the byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto_samples.h"

static uint8_t buf[PROTO_MAX_MSG + 1];
static uint8_t csr[PROTO_MAX_CSR];
static uint8_t certs[PROTO_MAX_CHAIN];
static uint8_t cert[PROTO_MAX_CERT];
static uint8_t blob[PROTO_MAX_BLOB];
static uint8_t serial[PROTO_MAX_SERIAL];
static struct proto_request req, req2;
static struct proto_reply rep, rep2;

static void
fill(char *s, size_t size)
{
	memset(s, 'x', size - 1);
	s[size - 1] = '\0';
}

/* A chain of PROTO_MAX_CHAIN_CERTS certificates, PROTO_MAX_CHAIN in all. */
static void
max_chain(struct proto_chain *ch)
{
	size_t each = PROTO_MAX_CHAIN / PROTO_MAX_CHAIN_CERTS;
	unsigned i;

	ch->ncerts = PROTO_MAX_CHAIN_CERTS;
	for (i = 0; i < PROTO_MAX_CHAIN_CERTS; i++) {
		ch->certs[i].ptr = certs + i * each;
		ch->certs[i].len = each;
	}
}

static void
test_worst_request_fits(void **state)
{
	size_t len;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_REISSUE;
	req.ev.peer = PROTO_PEER_HTTPS;
	req.ev.kind = PROTO_EV_CERTS;
	max_chain(&req.ev.chain);
	fill(req.u.issue.tenant, sizeof(req.u.issue.tenant));
	fill(req.u.issue.profile, sizeof(req.u.issue.profile));
	req.u.issue.csr = (struct proto_blob){ csr, sizeof(csr) };
	req.u.issue.cur_cert = (struct proto_blob){ cert, sizeof(cert) };
	assert_int_equal(proto_request_encode(&req, buf, sizeof(buf), &len),
	    PROTO_OK);
	assert_true(len <= PROTO_MAX_BODY);
	assert_int_equal(proto_request_decode(PROTO_T_REISSUE, buf, len,
	    &req2), PROTO_OK);
	assert_int_equal(req2.u.issue.csr.len, PROTO_MAX_CSR);
	assert_int_equal(req2.ev.chain.ncerts, PROTO_MAX_CHAIN_CERTS);

	/* One more byte in the chain is over PROTO_MAX_CHAIN. */
	req.ev.chain.certs[0].len++;
	assert_int_equal(proto_request_encode(&req, buf, sizeof(buf), &len),
	    PROTO_ERR_TOOLONG);
}

static void
test_chain_total_decoded(void **state)
{
	struct proto_wbuf w;
	unsigned i;

	/* Five maximal certificates: each allowed, together too many bytes. */
	proto_wbuf_init(&w, buf, sizeof(buf));
	proto_put_u8(&w, PROTO_PEER_HTTPS);
	proto_put_u8(&w, PROTO_EV_CERTS);
	proto_put_u8(&w, 5);
	for (i = 0; i < 5; i++)
		proto_put_data(&w, PROTO_MAX_CERT, cert, sizeof(cert));
	assert_int_equal(w.err, PROTO_OK);
	assert_int_equal(proto_request_decode(PROTO_T_HEALTH, buf, w.len,
	    &req), PROTO_ERR_TOOLONG);
}

static void
test_worst_replies_fit(void **state)
{
	size_t len;
	unsigned i;

	memset(&rep, 0, sizeof(rep));
	rep.type = PROTO_T_LIST_CERTS;
	fill(rep.status.message, sizeof(rep.status.message));
	rep.u.list.n = PROTO_MAX_LIST;
	for (i = 0; i < PROTO_MAX_LIST; i++) {
		rep.u.list.items[i].serial =
		    (struct proto_blob){ serial, sizeof(serial) };
		rep.u.list.items[i].status = PROTO_CS_EXPIRED;
		fill(rep.u.list.items[i].profile,
		    sizeof(rep.u.list.items[i].profile));
		fill(rep.u.list.items[i].subject,
		    sizeof(rep.u.list.items[i].subject));
		fill(rep.u.list.items[i].authorized_by,
		    sizeof(rep.u.list.items[i].authorized_by));
	}
	assert_int_equal(proto_reply_encode(&rep, buf, sizeof(buf), &len),
	    PROTO_OK);
	assert_int_equal(proto_reply_decode(rep.type, buf, len, &rep2),
	    PROTO_OK);
	assert_int_equal(rep2.u.list.n, PROTO_MAX_LIST);

	/* HEALTH with every target count at its longest names. */
	memset(&rep, 0, sizeof(rep));
	rep.type = PROTO_T_HEALTH;
	rep.u.health.state = PROTO_STATE_READY;
	fill(rep.u.health.version, sizeof(rep.u.health.version));
	rep.u.health.ntargets = PROTO_MAX_TARGETS;
	for (i = 0; i < PROTO_MAX_TARGETS; i++) {
		fill(rep.u.health.targets[i].tenant,
		    sizeof(rep.u.health.targets[i].tenant));
		fill(rep.u.health.targets[i].profile,
		    sizeof(rep.u.health.targets[i].profile));
		rep.u.health.targets[i].refused[PROTO_R_INTERNAL] = i;
	}
	rep.u.health.ncrls = PROTO_MAX_CRLS;
	for (i = 0; i < PROTO_MAX_CRLS; i++)
		fill(rep.u.health.crls[i].issuer,
		    sizeof(rep.u.health.crls[i].issuer));
	rep.u.health.nfailed = PROTO_MAX_FAILED;
	for (i = 0; i < PROTO_MAX_FAILED; i++) {
		fill(rep.u.health.failed[i].child,
		    sizeof(rep.u.health.failed[i].child));
		fill(rep.u.health.failed[i].error,
		    sizeof(rep.u.health.failed[i].error));
	}
	rep.u.health.nexpiring = PROTO_MAX_EXPIRING;
	for (i = 0; i < PROTO_MAX_EXPIRING; i++) {
		fill(rep.u.health.expiring[i].tenant,
		    sizeof(rep.u.health.expiring[i].tenant));
		fill(rep.u.health.expiring[i].profile,
		    sizeof(rep.u.health.expiring[i].profile));
		fill(rep.u.health.expiring[i].window,
		    sizeof(rep.u.health.expiring[i].window));
		rep.u.health.expiring[i].certificates = i;
	}
	rep.u.health.token.nbuckets = PROTO_MAX_BUCKETS;
	for (i = 0; i < PROTO_MAX_BUCKETS; i++)
		rep.u.health.token.le_us[i] = i + 1 < PROTO_MAX_BUCKETS ?
		    i + 1 : UINT64_MAX;
	assert_int_equal(proto_reply_encode(&rep, buf, sizeof(buf), &len),
	    PROTO_OK);
	assert_int_equal(proto_reply_decode(rep.type, buf, len, &rep2),
	    PROTO_OK);
	assert_int_equal(rep2.u.health.ntargets, PROTO_MAX_TARGETS);
	assert_int_equal(rep2.u.health.targets[63].refused[PROTO_R_INTERNAL],
	    63);
	assert_int_equal(rep2.u.health.ncrls, PROTO_MAX_CRLS);
	assert_int_equal(rep2.u.health.nexpiring, PROTO_MAX_EXPIRING);
	assert_int_equal(rep2.u.health.expiring[15].certificates, 15);
	rep.u.health.nexpiring = PROTO_MAX_EXPIRING + 1;
	assert_int_equal(proto_reply_encode(&rep, buf, sizeof(buf), &len),
	    PROTO_ERR_VALUE);
	rep.u.health.nexpiring = PROTO_MAX_EXPIRING;
	rep.u.health.ntargets = PROTO_MAX_TARGETS + 1;
	assert_int_equal(proto_reply_encode(&rep, buf, sizeof(buf), &len),
	    PROTO_ERR_VALUE);
	/* Histogram bounds must rise and end at +Inf. */
	rep.u.health.ntargets = 1;
	rep.u.health.token.le_us[3] = 2;
	assert_int_equal(proto_reply_encode(&rep, buf, sizeof(buf), &len),
	    PROTO_ERR_VALUE);
	rep.u.health.token.le_us[3] = 4;
	rep.u.health.token.le_us[PROTO_MAX_BUCKETS - 1] = 99;
	assert_int_equal(proto_reply_encode(&rep, buf, sizeof(buf), &len),
	    PROTO_ERR_VALUE);

	memset(&rep, 0, sizeof(rep));
	rep.type = PROTO_T_CRL;
	fill(rep.status.message, sizeof(rep.status.message));
	rep.u.der = (struct proto_blob){ blob, sizeof(blob) };
	assert_int_equal(proto_reply_encode(&rep, buf, sizeof(buf), &len),
	    PROTO_OK);
	assert_true(len <= PROTO_MAX_BODY);
	rep.u.der.len++;
	assert_int_equal(proto_reply_encode(&rep, buf, sizeof(buf), &len),
	    PROTO_ERR_TOOLONG);

	memset(&rep, 0, sizeof(rep));
	rep.type = PROTO_T_ISSUE;
	rep.u.cert.cert = (struct proto_blob){ cert, sizeof(cert) };
	max_chain(&rep.u.cert.chain);
	assert_int_equal(proto_reply_encode(&rep, buf, sizeof(buf), &len),
	    PROTO_OK);
	assert_true(len <= PROTO_MAX_BODY);
}

static size_t
datagram(uint16_t version, uint32_t hdrlen, size_t bodylen)
{
	struct proto_wbuf w;

	proto_wbuf_init(&w, buf, sizeof(buf));
	proto_put_u16(&w, version);
	proto_put_u16(&w, PROTO_T_HEALTH);
	proto_put_u32(&w, 42);
	proto_put_u32(&w, hdrlen);
	memset(buf + w.len, 0, bodylen);
	return w.len + bodylen;
}

static void
test_header_boundaries(void **state)
{
	struct proto_hdr h;
	const uint8_t *body;
	size_t len;

	len = datagram(PROTO_MAGIC_VERSION, PROTO_MAX_BODY, PROTO_MAX_BODY);
	assert_int_equal(len, PROTO_MAX_MSG);
	assert_int_equal(proto_hdr_parse(buf, len, &h, &body), PROTO_OK);
	assert_ptr_equal(body, buf + PROTO_HDR_LEN);
	assert_int_equal(h.id, 42);
	assert_int_equal(h.type, PROTO_T_HEALTH);

	len = datagram(PROTO_MAGIC_VERSION, PROTO_MAX_BODY + 1,
	    PROTO_MAX_BODY + 1);
	assert_int_equal(proto_hdr_parse(buf, len, &h, &body),
	    PROTO_ERR_TOOLONG);
	assert_null(body);

	len = datagram(PROTO_MAGIC_VERSION + 1, 0, 0);
	assert_int_equal(proto_hdr_parse(buf, len, &h, &body),
	    PROTO_ERR_VERSION);
	len = datagram(0x5201, 0, 0);
	assert_int_equal(proto_hdr_parse(buf, len, &h, &body),
	    PROTO_ERR_VERSION);

	/* The header length must match the datagram both ways. */
	len = datagram(PROTO_MAGIC_VERSION, 3, 2);
	assert_int_equal(proto_hdr_parse(buf, len, &h, &body),
	    PROTO_ERR_LENGTH);
	len = datagram(PROTO_MAGIC_VERSION, 1, 2);
	assert_int_equal(proto_hdr_parse(buf, len, &h, &body),
	    PROTO_ERR_LENGTH);
	len = datagram(PROTO_MAGIC_VERSION, 0xffffffff, 2);
	assert_int_equal(proto_hdr_parse(buf, len, &h, &body),
	    PROTO_ERR_LENGTH);
	assert_int_equal(proto_hdr_parse(buf, PROTO_HDR_LEN - 1, &h, &body),
	    PROTO_ERR_SHORT);

	assert_int_equal(proto_hdr_write(buf, PROTO_T_OCSP, 1,
	    PROTO_MAX_BODY), PROTO_OK);
	assert_int_equal(proto_hdr_write(buf, PROTO_T_OCSP, 1,
	    PROTO_MAX_BODY + 1), PROTO_ERR_TOOLONG);
}

static void
test_wipe(void **state)
{
	size_t len;

	proto_sample_request(PROTO_T_ISSUE, 1, &req);
	len = 0;
	assert_int_equal(proto_request_encode(&req, buf, sizeof(buf), &len),
	    PROTO_OK);
	assert_int_equal(proto_request_decode(PROTO_T_ISSUE, buf, len, &req2),
	    PROTO_OK);
	assert_string_not_equal(req2.ev.token, "");
	proto_wipe(&req2, sizeof(req2));
	assert_string_equal(req2.ev.token, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worst_request_fits),
		cmocka_unit_test(test_chain_total_decoded),
		cmocka_unit_test(test_worst_replies_fit),
		cmocka_unit_test(test_header_boundaries),
		cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
