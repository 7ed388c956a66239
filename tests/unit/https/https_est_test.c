/*
 * The EST handlers (https_est.c) through their real interfaces: an
 * evhttp server on 127.0.0.1 hands each request to https_est() as
 * signet-https's dispatcher does, a libevent HTTP client on the same loop
 * sends requests, and the engine channel is a socketpair this test
 * answers with real engine messages (https_test_peer.h).  The assertions
 * are on what an EST client sees (status, content types, base64 PKCS#7
 * bodies, Retry-After, WWW-Authenticate) and on what the engine is asked.
 * These run over plain HTTP: the client certificate paths are covered by
 * the integration tests (tests/integration/device, signetd_credentials).
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "https_local.h"
#include "https_test_peer.h"

#define SAFETY_S	10
#define P7_CERTS	"application/pkcs7-mime; smime-type=certs-only"

enum engine_mode {
	ENGINE_ANSWER,		/* reply with F->rep */
	ENGINE_SILENT,		/* never reply: the call times out */
	ENGINE_CLOSE		/* close the channel on the first request */
};

struct fix {
	struct event_base	*base;
	struct https_srv	*srv;
	struct evhttp		*http;
	struct evhttp_connection *conn;
	struct event		*safety;
	int			 timed_out;
	/* The engine's end. */
	int			 peer;
	struct event		*peer_ev;
	int			 mode;		/* enum engine_mode */
	struct proto_reply	 rep;
	int			 nreq;
	struct peer_msg		 m;		/* the last request */
	/* What the client got. */
	int			 code;
	char			 ctype[128];
	char			 cte[32];
	char			 retry[16];
	char			 www[64];
	char			 cache[32];
	uint8_t			*body;
	size_t			 bodylen;
	/* Certificates for replies. */
	struct proto_blob	 certs[2];
	uint8_t			*ders[2];
};

static struct fix *F;
static int engine_timeout_ms = 5000;

/*
 * The tenant and profile an EST request names, as the engine message
 * carries them today (the front end resolves the label).  The only place
 * that knows: when the label travels to the engine instead (issue 15),
 * this function changes and the tests stay.
 */
static void
expect_target(const struct proto_request *req, const char *label,
    const char *tenant, const char *profile)
{
	const char *t, *p;

	(void)label;
	if (req->type == PROTO_T_ISSUE || req->type == PROTO_T_REISSUE) {
		t = req->u.issue.tenant;
		p = req->u.issue.profile;
	} else {
		t = req->u.target.tenant;
		p = req->u.target.profile;
	}
	assert_string_equal(t, tenant);
	assert_string_equal(p, profile);
}

/* --- the engine's end ------------------------------------------------ */

static void
on_engine(evutil_socket_t fd, short what, void *arg)
{
	if (peer_recv(F->peer, &F->m) != PROTO_OK) {
		event_del(F->peer_ev);
		return;
	}
	F->nreq++;
	switch (F->mode) {
	case ENGINE_ANSWER:
		F->rep.type = F->m.h.type;
		(void)peer_reply(F->peer, F->m.h.id, &F->rep);
		break;
	case ENGINE_CLOSE:
		event_del(F->peer_ev);
		close(F->peer);
		F->peer = -1;
		break;
	default:
		break;
	}
}

/* --- the server: what https_dispatch does for an EST path ---------- */

static void
on_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	struct https_est_route r;
	struct https_ctx *ctx;

	if (https_framing_check(F->srv, req) != 0)
		return;
	if (https_est_route((const uint8_t *)path, strlen(path), &r) !=
	    HTTPS_OK) {
		evhttp_send_error(req, 599, "not an EST path");
		return;
	}
	if ((ctx = https_ctx_new(F->srv, req, HTTPS_R_EST_ENROLL, 0)) ==
	    NULL)
		return;
	https_est(ctx, &r);
}

/* --- the client ------------------------------------------------------ */

static void
copy_header(struct evkeyvalq *h, const char *name, char *out, size_t size)
{
	const char *v = evhttp_find_header(h, name);

	snprintf(out, size, "%s", v != NULL ? v : "");
}

static void
on_response(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *h;
	struct evbuffer *b;

	event_base_loopbreak(F->base);
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		F->code = -1;
		return;
	}
	F->code = evhttp_request_get_response_code(req);
	h = evhttp_request_get_input_headers(req);
	copy_header(h, "Content-Type", F->ctype, sizeof(F->ctype));
	copy_header(h, "Content-Transfer-Encoding", F->cte, sizeof(F->cte));
	copy_header(h, "Retry-After", F->retry, sizeof(F->retry));
	copy_header(h, "WWW-Authenticate", F->www, sizeof(F->www));
	copy_header(h, "Cache-Control", F->cache, sizeof(F->cache));
	b = evhttp_request_get_input_buffer(req);
	F->bodylen = evbuffer_get_length(b);
	F->body = malloc(F->bodylen + 1);
	assert_non_null(F->body);
	evbuffer_remove(b, F->body, F->bodylen);
	F->body[F->bodylen] = '\0';
}

static void
on_safety(evutil_socket_t fd, short what, void *arg)
{
	F->timed_out = 1;
	event_base_loopbreak(F->base);
}

/*
 * One request; returns the status code the client got.  ctype, auth,
 * body and cl2 (a second Content-Length field) may be NULL.
 */
static int
request_cl(enum evhttp_cmd_type cmd, const char *path, const char *ctype,
    const char *auth, const char *body, size_t bodylen, const char *cl2)
{
	struct timeval tv = { SAFETY_S, 0 };
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char cl[32];

	free(F->body);
	F->body = NULL;
	F->bodylen = 0;
	F->code = 0;
	req = evhttp_request_new(on_response, NULL);
	assert_non_null(req);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", "127.0.0.1");
	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	if (auth != NULL)
		evhttp_add_header(h, "Authorization", auth);
	if (cl2 != NULL) {
		snprintf(cl, sizeof(cl), "%zu", bodylen);
		evhttp_add_header(h, "Content-Length", cl);
		evhttp_add_header(h, "Content-Length", cl2);
	}
	if (body != NULL)
		evbuffer_add(evhttp_request_get_output_buffer(req), body,
		    bodylen);
	assert_int_equal(evhttp_make_request(F->conn, req, cmd, path), 0);
	F->timed_out = 0;
	evtimer_add(F->safety, &tv);
	/* A dead engine channel also ends the loop (https_engine.c). */
	while (F->code == 0 && !F->timed_out)
		event_base_dispatch(F->base);
	evtimer_del(F->safety);
	assert_false(F->timed_out);
	return F->code;
}

/* The same without a second Content-Length. */
static int
request(enum evhttp_cmd_type cmd, const char *path, const char *ctype,
    const char *auth, const char *body, size_t bodylen)
{
	return request_cl(cmd, path, ctype, auth, body, bodylen, NULL);
}

static int
get(const char *path)
{
	return request(EVHTTP_REQ_GET, path, NULL, NULL, NULL, 0);
}

static int
post(const char *path, const char *ctype, const char *auth,
    const char *body)
{
	return request(EVHTTP_REQ_POST, path, ctype, auth, body,
	    body != NULL ? strlen(body) : 0);
}

/* The answer body, base64 as EST has it, decoded into out. */
static size_t
body_b64(uint8_t *out, size_t size)
{
	size_t len;

	assert_string_equal(F->cte, "base64");
	assert_int_equal(https_b64_decode(F->body, F->bodylen, HTTPS_B64_WS,
	    out, size, &len), HTTPS_OK);
	return len;
}

/* The body is a base64 certs-only PKCS#7 of certs[0..n-1]. */
static void
expect_p7(const struct proto_blob *certs, size_t n)
{
	static uint8_t der[PROTO_MAX_CHAIN + 256];
	const unsigned char *p = der;
	STACK_OF(X509) *sk;
	PKCS7 *p7;
	size_t len, i;

	len = body_b64(der, sizeof(der));
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	assert_non_null(p7);
	assert_ptr_equal(p, der + len);
	assert_true(PKCS7_type_is_signed(p7));
	sk = p7->d.sign->cert;
	assert_int_equal(sk_X509_num(sk), (int)n);
	for (i = 0; i < n; i++) {
		uint8_t *d = NULL;
		int dl = i2d_X509(sk_X509_value(sk, (int)i), &d);

		assert_int_equal(dl, (int)certs[i].len);
		assert_memory_equal(d, certs[i].ptr, certs[i].len);
		OPENSSL_free(d);
	}
	PKCS7_free(p7);
}

static void
expect_body(const char *want)
{
	assert_non_null(F->body);
	assert_string_equal((const char *)F->body, want);
}

/* --- fixture --------------------------------------------------------- */

static int
setup(void **state)
{
	char path[1024], err[512];
	const char *src = getenv("SIGNET_SOURCE_DIR");
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int fds[2], i;

	F = calloc(1, sizeof(*F));
	assert_non_null(F);
	assert_non_null(F->base = event_base_new());
	assert_non_null(F->srv = calloc(1, sizeof(*F->srv)));
	F->srv->base = F->base;
	snprintf(path, sizeof(path), "%s/board/dev-host/signetd.conf",
	    src != NULL ? src : ".");
	assert_int_equal(sconf_load(path, &F->srv->conf, err, sizeof(err)),
	    0);
	assert_non_null(F->srv->store = X509_STORE_new());
	peer_pair(fds);
	F->peer = fds[1];
	assert_non_null(F->srv->engine = https_engine_new(F->base, fds[0],
	    engine_timeout_ms));
	assert_non_null(F->peer_ev = event_new(F->base, F->peer,
	    EV_READ | EV_PERSIST, on_engine, NULL));
	event_add(F->peer_ev, NULL);
	peer_status(&F->rep, 0, PROTO_R_OK, NULL, 0);

	assert_non_null(F->http = evhttp_new(F->base));
	evhttp_set_allowed_methods(F->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST);
	evhttp_set_gencb(F->http, on_request, NULL);
	bs = evhttp_bind_socket_with_handle(F->http, "127.0.0.1", 0);
	assert_non_null(bs);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sin, &slen), 0);
	assert_non_null(F->conn = evhttp_connection_base_new(F->base, NULL,
	    "127.0.0.1", ntohs(sin.sin_port)));
	assert_non_null(F->safety = evtimer_new(F->base, on_safety, NULL));

	for (i = 0; i < 2; i++) {
		F->certs[i].len = peer_cert(i == 0 ? "Signet Test CA" :
		    "Signet Test Root", &F->ders[i]);
		F->certs[i].ptr = F->ders[i];
	}
	*state = F;
	return 0;
}

static int
setup_impatient(void **state)
{
	engine_timeout_ms = 100;
	setup(state);
	engine_timeout_ms = 5000;
	return 0;
}

static int
teardown(void **state)
{
	int i;

	evhttp_connection_free(F->conn);
	evhttp_free(F->http);
	event_free(F->peer_ev);
	event_free(F->safety);
	if (F->peer != -1)
		close(F->peer);
	https_engine_free(F->srv->engine);
	X509_STORE_free(F->srv->store);
	sconf_free(F->srv->conf);
	free(F->srv);
	event_base_free(F->base);
	for (i = 0; i < 2; i++)
		OPENSSL_free(F->ders[i]);
	free(F->body);
	free(F);
	F = NULL;
	return 0;
}

/* --- tests ----------------------------------------------------------- */

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
