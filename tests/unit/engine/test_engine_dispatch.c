/*
 * The engine's dispatch table (eng_dispatch.c): what each peer may ask the
 * engine, in which state, and evidence that fits the channel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "eng_engine_local.h"
#include "proto_samples.h"

#define ALLOW	PROTO_PERM_ALLOW
#define UNAV	PROTO_PERM_UNAVAILABLE
#define CLOSE	PROTO_PERM_CLOSE

static void
test_issuance(void **state)
{
	assert_int_equal(eng_permitted(PROTO_T_ISSUE, PROTO_PEER_HTTPS,
	    PROTO_STATE_READY), ALLOW);
	assert_int_equal(eng_permitted(PROTO_T_ISSUE, PROTO_PEER_COAP,
	    PROTO_STATE_READY), ALLOW);
	assert_int_equal(eng_permitted(PROTO_T_REISSUE, PROTO_PEER_COAP,
	    PROTO_STATE_READY), ALLOW);
	/* The parent never asks for a certificate. */
	assert_int_equal(eng_permitted(PROTO_T_ISSUE, PROTO_PEER_CONTROL,
	    PROTO_STATE_READY), CLOSE);
	/* New issuance stops while draining or without a token. */
	assert_int_equal(eng_permitted(PROTO_T_ISSUE, PROTO_PEER_HTTPS,
	    PROTO_STATE_DRAINING), UNAV);
	assert_int_equal(eng_permitted(PROTO_T_ISSUE, PROTO_PEER_HTTPS,
	    PROTO_STATE_DEGRADED), UNAV);
	assert_int_equal(eng_permitted(PROTO_T_ISSUE, PROTO_PEER_HTTPS,
	    PROTO_STATE_STARTING), UNAV);
	/* Reads keep working while draining. */
	assert_int_equal(eng_permitted(PROTO_T_CACERTS, PROTO_PEER_COAP,
	    PROTO_STATE_DRAINING), ALLOW);
}

static void
test_admin(void **state)
{
	uint16_t t;
	const uint16_t admin[] = { PROTO_T_REVOKE, PROTO_T_GET_CERT,
	    PROTO_T_LIST_CERTS, PROTO_T_TOKEN_CREATE, PROTO_T_OCSP };
	size_t i;

	/* CoAP devices enroll; they never administer or serve OCSP. */
	for (i = 0; i < sizeof(admin) / sizeof(admin[0]); i++) {
		t = admin[i];
		assert_int_equal(eng_permitted(t, PROTO_PEER_COAP,
		    PROTO_STATE_READY), CLOSE);
		assert_int_equal(eng_permitted(t, PROTO_PEER_HTTPS,
		    PROTO_STATE_READY), ALLOW);
	}
	assert_int_equal(eng_permitted(PROTO_T_REVOKE, PROTO_PEER_CONTROL,
	    PROTO_STATE_READY), ALLOW);
	assert_int_equal(eng_permitted(PROTO_T_OCSP, PROTO_PEER_CONTROL,
	    PROTO_STATE_READY), CLOSE);
	assert_int_equal(eng_permitted(PROTO_T_TOKEN_CREATE,
	    PROTO_PEER_HTTPS, PROTO_STATE_DRAINING), UNAV);
	assert_int_equal(eng_permitted(PROTO_T_LIST_CERTS,
	    PROTO_PEER_HTTPS, PROTO_STATE_DEGRADED), ALLOW);
}

/* ACME (issue 20): the validator takes only its own type. */
static void
test_acme_rows(void **state)
{
	uint16_t t;

	assert_int_equal(eng_permitted(PROTO_T_ACME, PROTO_PEER_HTTPS,
	    PROTO_STATE_READY), ALLOW);
	assert_int_equal(eng_permitted(PROTO_T_ACME, PROTO_PEER_COAP,
	    PROTO_STATE_READY), CLOSE);
	assert_int_equal(eng_permitted(PROTO_T_ACME, PROTO_PEER_HTTPS,
	    PROTO_STATE_DEGRADED), UNAV);
	assert_int_equal(eng_permitted(PROTO_T_ACME_EAB, PROTO_PEER_HTTPS,
	    PROTO_STATE_READY), ALLOW);
	assert_int_equal(eng_permitted(PROTO_T_ACME_VA, PROTO_PEER_HTTPS,
	    PROTO_STATE_READY), CLOSE);
	assert_int_equal(eng_permitted(PROTO_T_ACME_VA, PROTO_PEER_VALIDATOR,
	    PROTO_STATE_READY), ALLOW);
	for (t = 1; t < PROTO_T_MAX; t++)
		if (t != PROTO_T_ACME_VA)
			assert_int_equal(eng_permitted(t,
			    PROTO_PEER_VALIDATOR, PROTO_STATE_READY), CLOSE);
}

static void
test_health(void **state)
{
	int peer, st;

	for (peer = PROTO_PEER_HTTPS; peer <= PROTO_PEER_CONTROL; peer++)
		for (st = PROTO_STATE_STARTING; st <= PROTO_STATE_DRAINING;
		    st++)
			assert_int_equal(eng_permitted(PROTO_T_HEALTH, peer,
			    st), ALLOW);
	/* Before the token is up only HEALTH is taken. */
	for (st = 1; st < PROTO_T_MAX; st++)
		if (st != PROTO_T_HEALTH)
			assert_int_not_equal(eng_permitted((uint16_t)st,
			    PROTO_PEER_HTTPS, PROTO_STATE_STARTING), ALLOW);
}

static void
test_unknown_refused(void **state)
{
	assert_int_equal(eng_permitted(0, PROTO_PEER_HTTPS,
	    PROTO_STATE_READY), CLOSE);
	assert_int_equal(eng_permitted(PROTO_T_MAX, PROTO_PEER_HTTPS,
	    PROTO_STATE_READY), CLOSE);
	assert_int_equal(eng_permitted(0xffff, PROTO_PEER_HTTPS,
	    PROTO_STATE_READY), CLOSE);
	/* A front end must not send replies to the engine. */
	assert_int_equal(eng_permitted(PROTO_T_HEALTH | PROTO_T_REPLY,
	    PROTO_PEER_HTTPS, PROTO_STATE_READY), CLOSE);
	assert_int_equal(eng_permitted(PROTO_T_HEALTH, 0,
	    PROTO_STATE_READY), CLOSE);
	assert_int_equal(eng_permitted(PROTO_T_HEALTH, 4,
	    PROTO_STATE_READY), CLOSE);
	assert_int_equal(eng_permitted(PROTO_T_HEALTH, -1,
	    PROTO_STATE_READY), CLOSE);
	assert_int_equal(eng_permitted(PROTO_T_HEALTH, PROTO_PEER_HTTPS,
	    0), UNAV);
	assert_int_equal(eng_permitted(PROTO_T_HEALTH, PROTO_PEER_HTTPS,
	    99), UNAV);
}

static void
test_admit_evidence(void **state)
{
	struct proto_request r;

	/* Sample 0: client certificates over HTTPS. */
	proto_sample_request(PROTO_T_ISSUE, 0, &r);
	assert_int_equal(eng_admit(&r, PROTO_PEER_HTTPS, PROTO_STATE_READY),
	    ALLOW);
	assert_int_equal(eng_admit(&r, PROTO_PEER_HTTPS,
	    PROTO_STATE_DRAINING), UNAV);
	/* Evidence claiming another channel than the one it came on. */
	assert_int_equal(eng_admit(&r, PROTO_PEER_COAP, PROTO_STATE_READY),
	    CLOSE);
	/* Sample 1: a token from a DTLS PSK identity, over CoAP. */
	proto_sample_request(PROTO_T_ISSUE, 1, &r);
	assert_int_equal(eng_admit(&r, PROTO_PEER_COAP, PROTO_STATE_READY),
	    ALLOW);
	r.ev.token_src = PROTO_TOKSRC_HTTP_AUTH;
	assert_int_equal(eng_admit(&r, PROTO_PEER_COAP, PROTO_STATE_READY),
	    CLOSE);
	r.ev.peer = PROTO_PEER_HTTPS;
	assert_int_equal(eng_admit(&r, PROTO_PEER_HTTPS, PROTO_STATE_READY),
	    ALLOW);
	r.ev.token_src = PROTO_TOKSRC_PSK_ID;
	assert_int_equal(eng_admit(&r, PROTO_PEER_HTTPS, PROTO_STATE_READY),
	    CLOSE);
	/* The parent forwards no client evidence. */
	proto_sample_request(PROTO_T_HEALTH, 2, &r);
	r.ev.peer = PROTO_PEER_CONTROL;
	assert_int_equal(eng_admit(&r, PROTO_PEER_CONTROL,
	    PROTO_STATE_STARTING), ALLOW);
	proto_sample_request(PROTO_T_REVOKE, 0, &r);
	r.ev.peer = PROTO_PEER_CONTROL;
	assert_int_equal(eng_admit(&r, PROTO_PEER_CONTROL,
	    PROTO_STATE_READY), CLOSE);
}

/* PSK_LOOKUP: the DTLS front end only, with no evidence. */
static void
test_psk_lookup(void **state)
{
	struct proto_request r;

	assert_int_equal(eng_permitted(PROTO_T_PSK_LOOKUP, PROTO_PEER_COAP,
	    PROTO_STATE_READY), ALLOW);
	assert_int_equal(eng_permitted(PROTO_T_PSK_LOOKUP, PROTO_PEER_COAP,
	    PROTO_STATE_STARTING), UNAV);
	assert_int_equal(eng_permitted(PROTO_T_PSK_LOOKUP, PROTO_PEER_HTTPS,
	    PROTO_STATE_READY), CLOSE);
	assert_int_equal(eng_permitted(PROTO_T_PSK_LOOKUP,
	    PROTO_PEER_CONTROL, PROTO_STATE_READY), CLOSE);
	proto_sample_request(PROTO_T_PSK_LOOKUP, 2, &r);
	r.ev.peer = PROTO_PEER_COAP;
	assert_int_equal(eng_admit(&r, PROTO_PEER_COAP, PROTO_STATE_READY),
	    ALLOW);
	/* A front end vouching for a token mid-handshake is lying. */
	proto_sample_request(PROTO_T_PSK_LOOKUP, 1, &r);
	assert_int_equal(eng_admit(&r, PROTO_PEER_COAP, PROTO_STATE_READY),
	    CLOSE);
	assert_string_equal(proto_type_name(PROTO_T_PSK_LOOKUP |
	    PROTO_T_REPLY), "psk_lookup");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issuance),
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_acme_rows),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_unknown_refused),
		cmocka_unit_test(test_admit_evidence),
		cmocka_unit_test(test_psk_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
