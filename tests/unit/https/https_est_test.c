/*
 * The EST handlers (https_est.c) through their real interfaces: an
 * evhttp server on 127.0.0.1 hands each request to https_est() as
 * signet-https's dispatcher does, a libevent HTTP client on the same loop
 * sends requests, and the engine channel is a socketpair this test
 * answers with real engine messages (https_test_peer.h).  The assertions
 * are on what an EST client sees (status, content types, base64 PKCS#7
 * bodies, Retry-After, WWW-Authenticate) and on what the engine is asked.
 * These run over plain HTTP; https_est_tls_test has the client
 * certificate paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "https_test_est.h"

static int
setup(void **state)
{
	est_setup(5000, 0);
	return 0;
}

static int
setup_impatient(void **state)
{
	est_setup(100, 0);
	return 0;
}

static int
teardown(void **state)
{
	est_teardown();
	return 0;
}

/* RFC 7030 4.1: the CA certificates, and the front end trusts them. */
static void
test_cacerts(void **state)
{
	F->rep.u.chain.ncerts = 2;
	F->rep.u.chain.certs[0] = F->certs[0];
	F->rep.u.chain.certs[1] = F->certs[1];
	assert_int_equal(get("/.well-known/est/cacerts"), 200);
	assert_int_equal(F->nreq, 1);
	assert_int_equal(F->m.req.type, PROTO_T_CACERTS);
	assert_int_equal(F->m.req.ev.peer, PROTO_PEER_HTTPS);
	assert_int_equal(F->m.req.ev.kind, PROTO_EV_NONE);
	/* The client's address, for the engine's per-source budgets. */
	assert_int_equal(F->m.req.ev.src_len, 4);
	assert_memory_equal(F->m.req.ev.src, "\x7f\x00\x00\x01", 4);
	expect_target(&F->m.req, "", "dev", "service");
	/* RFC 7030 4.1.3: without smime-type, base64. */
	assert_string_equal(F->ctype, "application/pkcs7-mime");
	assert_string_equal(F->cache, "no-store");
	expect_p7(F->certs, 2);
	assert_int_equal(sk_X509_OBJECT_num(X509_STORE_get0_objects(
	    F->srv->store)), 2);
}

static void
test_cacerts_label(void **state)
{
	F->rep.u.chain.ncerts = 1;
	F->rep.u.chain.certs[0] = F->certs[0];
	assert_int_equal(get("/.well-known/est/dev-device/cacerts"), 200);
	expect_target(&F->m.req, "dev-device", "dev", "device");
	expect_p7(F->certs, 1);
}

/*
 * A label nobody configured is 404.  The engine is scripted to say so
 * too, so this holds whether the front end or the engine resolves it.
 */
static void
test_unknown_label(void **state)
{
	peer_status(&F->rep, 0, PROTO_R_NOT_FOUND, "unknown EST label "
	    "\"nope\"", 0);
	assert_int_equal(get("/.well-known/est/nope/cacerts"), 404);
	assert_string_equal(F->ctype, "text/plain; charset=utf-8");
	expect_body("unknown EST label \"nope\"\n");
}

static void
test_cacerts_needs_get(void **state)
{
	assert_int_equal(post("/.well-known/est/cacerts", "text/plain", NULL,
	    "x"), 405);
	expect_body("use GET\n");
	assert_int_equal(F->nreq, 0);
}

/* RFC 7030 4.5.2: no attributes is 204, else base64 csrattrs. */
static void
test_csrattrs(void **state)
{
	static const uint8_t attrs[] = { 0x30, 0x0c, 0x06, 0x0a, 0x2a, 0x86,
	    0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e, 0x01 };
	uint8_t out[64];

	assert_int_equal(get("/.well-known/est/csrattrs"), 204);
	assert_int_equal(F->m.req.type, PROTO_T_CSRATTRS);
	expect_target(&F->m.req, "", "dev", "service");
	assert_int_equal(F->bodylen, 0);

	F->rep.u.der.ptr = attrs;
	F->rep.u.der.len = sizeof(attrs);
	assert_int_equal(get("/.well-known/est/dev-service/csrattrs"), 200);
	expect_target(&F->m.req, "dev-service", "dev", "service");
	assert_string_equal(F->ctype, "application/csrattrs");
	assert_int_equal(body_b64(out, sizeof(out)), sizeof(attrs));
	assert_memory_equal(out, attrs, sizeof(attrs));
}

static void
test_serverkeygen(void **state)
{
	assert_int_equal(post("/.well-known/est/serverkeygen",
	    "application/pkcs10", "Bearer a.b", "MAA="), 501);
	assert_int_equal(F->nreq, 0);
}

/* RFC 7030 4.2: a token enrollment, the CSR base64 with line breaks. */
static void
test_enroll_token(void **state)
{
	F->rep.u.cert.cert = F->certs[0];
	F->rep.u.cert.chain.ncerts = 1;
	F->rep.u.cert.chain.certs[0] = F->certs[1];
	assert_int_equal(post("/.well-known/est/simpleenroll",
	    "application/pkcs10", "Bearer tok1.secret",
	    "MIIB\r\nY3Ny\r\n"), 200);
	assert_int_equal(F->m.req.type, PROTO_T_ISSUE);
	expect_target(&F->m.req, "", "dev", "service");
	assert_int_equal(F->m.req.ev.kind, PROTO_EV_TOKEN);
	assert_int_equal(F->m.req.ev.token_src, PROTO_TOKSRC_HTTP_AUTH);
	assert_string_equal(F->m.req.ev.token, "tok1.secret");
	assert_int_equal(F->m.req.u.issue.csr.len, 6);
	assert_memory_equal(F->m.req.u.issue.csr.ptr, "\x30\x82\x01" "csr", 6);
	/* RFC 7030 4.2.3: the certificate alone, certs-only. */
	assert_string_equal(F->ctype, P7_CERTS);
	expect_p7(F->certs, 1);
}

/* "curl -u est:TOKEN": the token is the Basic password. */
static void
test_enroll_basic(void **state)
{
	F->rep.u.cert.cert = F->certs[0];
	/* base64("est:tok2.secret") */
	assert_int_equal(post("/.well-known/est/dev-device/simpleenroll",
	    "application/pkcs10", "Basic ZXN0OnRvazIuc2VjcmV0", "MAA="),
	    200);
	assert_string_equal(F->m.req.ev.token, "tok2.secret");
	expect_target(&F->m.req, "dev-device", "dev", "device");
	assert_int_equal(F->m.req.u.issue.csr.len, 2);
}

static void
test_enroll_refusals(void **state)
{
	static char big[HTTPS_MAX_B64_BODY + 2];

	assert_int_equal(get("/.well-known/est/simpleenroll"), 405);
	expect_body("use POST\n");

	/* No credential at all: RFC 7030 3.2.3, and how to give one. */
	assert_int_equal(post("/.well-known/est/simpleenroll",
	    "application/pkcs10", NULL, "MAA="), 401);
	assert_string_equal(F->www, "Bearer realm=\"est\"");

	assert_int_equal(post("/.well-known/est/simpleenroll",
	    "application/pkcs10", "Bearer", "MAA="), 401);
	assert_non_null(strstr((char *)F->body, "malformed Authorization"));
	assert_string_equal(F->www, "");

	assert_int_equal(post("/.well-known/est/simpleenroll", "text/plain",
	    "Bearer a.b", "MAA="), 415);
	expect_body("expected Content-Type: application/pkcs10\n");

	assert_int_equal(post("/.well-known/est/simpleenroll",
	    "application/pkcs10", "Bearer a.b", ""), 400);
	expect_body("empty request body\n");

	assert_int_equal(post("/.well-known/est/simpleenroll",
	    "application/pkcs10", "Bearer a.b", "not base64!"), 400);
	assert_non_null(strstr((char *)F->body, "not base64-encoded DER"));

	memset(big, 'A', sizeof(big) - 1);
	assert_int_equal(post("/.well-known/est/simpleenroll",
	    "application/pkcs10", "Bearer a.b", big), 413);

	/* A renewal needs the certificate; a token does not do. */
	assert_int_equal(post("/.well-known/est/simplereenroll",
	    "application/pkcs10", "Bearer a.b", "MAA="), 401);
	assert_non_null(strstr((char *)F->body, "re-enrollment needs the "
	    "current certificate"));
	assert_string_equal(F->www, "Bearer realm=\"est\"");
	assert_int_equal(F->nreq, 0);
}

/* The engine's refusals, as the client sees them. */
static void
test_engine_answers(void **state)
{
	static const struct {
		int		result;
		const char	*msg;
		uint32_t	retry;
		int		code;
		const char	*retry_hdr;
		const char	*body;
	} t[] = {
		{ PROTO_R_BAD_REQUEST, "bad CSR", 0, 400, "", "bad CSR\n" },
		{ PROTO_R_UNAUTHORIZED, "token spent", 0, 401, "",
		    "token spent\n" },
		{ PROTO_R_FORBIDDEN, "name not allowed", 0, 403, "",
		    "name not allowed\n" },
		{ PROTO_R_CONFLICT, "again", 0, 409, "", "again\n" },
		{ PROTO_R_RATE_LIMITED, "slow down", 7, 429, "7",
		    "slow down\n" },
		{ PROTO_R_RATE_LIMITED, "slow down", 0, 429, "1",
		    "slow down\n" },
		{ PROTO_R_UNAVAILABLE, "token down", 0, 503, "5",
		    "token down\n" },
		{ PROTO_R_INTERNAL, "", 0, 500, "", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		peer_status(&F->rep, 0, t[i].result, t[i].msg, t[i].retry);
		assert_int_equal(post("/.well-known/est/simpleenroll",
		    "application/pkcs10", "Bearer a.b", "MAA="), t[i].code);
		assert_string_equal(F->retry, t[i].retry_hdr);
		if (t[i].body != NULL)
			expect_body(t[i].body);
		else
			assert_true(F->bodylen > 1);
	}
	assert_int_equal(F->nreq, (int)i);
}

static void
test_engine_timeout(void **state)
{
	F->mode = ENGINE_SILENT;
	assert_int_equal(get("/.well-known/est/cacerts"), 503);
	assert_string_equal(F->retry, "5");
	expect_body("the CA engine did not answer in time\n");
	assert_int_equal(F->srv->m.engine_err[0], 1);
}

static void
test_engine_gone(void **state)
{
	F->mode = ENGINE_CLOSE;
	assert_int_equal(post("/.well-known/est/simpleenroll",
	    "application/pkcs10", "Bearer a.b", "MAA="), 503);
	assert_string_equal(F->retry, "5");
	expect_body("the CA engine is unavailable\n");
	assert_true(https_engine_dead(F->srv->engine));
	/* The next request is answered at once, not sent. */
	assert_int_equal(get("/.well-known/est/cacerts"), 503);
	expect_body("the CA engine is unavailable\n");
	assert_int_equal(F->nreq, 1);
}

/* RFC 9112 6.3: Content-Length fields that disagree end the request. */
static void
test_framing(void **state)
{
	assert_int_equal(request_cl(EVHTTP_REQ_POST,
	    "/.well-known/est/simpleenroll", "application/pkcs10",
	    "Bearer a.b", "MAA=", 4, "5"), 400);
	expect_body("Content-Length fields disagree or are not plain "
	    "digits\n");
	assert_int_equal(F->srv->m.refused[HTTPS_REF_FRAMING], 1);
	assert_int_equal(F->nreq, 0);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cacerts),
		T(test_cacerts_label),
		T(test_unknown_label),
		T(test_cacerts_needs_get),
		T(test_csrattrs),
		T(test_serverkeygen),
		T(test_enroll_token),
		T(test_enroll_basic),
		T(test_enroll_refusals),
		T(test_engine_answers),
		cmocka_unit_test_setup_teardown(test_engine_timeout,
		    setup_impatient, teardown),
		T(test_engine_gone),
		T(test_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
