/*
 * The EST handlers' client certificate paths, over TLS set up by
 * https_tls_init() from the dev-host configuration: a certificate that
 * chains to tls.client_ca is the enrollment's evidence and a renewal's
 * current certificate; one that does not is refused before the engine is
 * asked; a one-time token in the Authorization header wins for a first
 * enrollment; and the CA certificates a CACERTS answer carries make
 * certificates Signet issued acceptable on the next connection
 * (https_tls_add_ca, est_store_add).
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

#define ENROLL		"/.well-known/est/simpleenroll"
#define REENROLL	"/.well-known/est/simplereenroll"
#define PKCS10		"application/pkcs10"

/* A client key and certificate, and the certificate as DER. */
struct client {
	EVP_PKEY		*k;
	X509			*x;
	struct proto_blob	 der;
};

static void
client_new(struct client *c, const char *cn, X509 *issuer, EVP_PKEY *ikey)
{
	assert_non_null(c->k = EVP_EC_gen("P-256"));
	c->x = test_x509(cn, c->k, issuer, ikey, 0);
	test_der(c->x, &c->der);
}

static void
client_free(struct client *c)
{
	X509_free(c->x);
	EVP_PKEY_free(c->k);
	OPENSSL_free((void *)c->der.ptr);
}

/* The engine saw exactly this client certificate as the evidence. */
static void
expect_evidence(const struct client *c)
{
	assert_int_equal(F->m.req.ev.kind, PROTO_EV_CERTS);
	assert_int_equal(F->m.req.ev.peer, PROTO_PEER_HTTPS);
	assert_int_equal(F->m.req.ev.chain.ncerts, 1);
	assert_int_equal(F->m.req.ev.chain.certs[0].len, c->der.len);
	assert_memory_equal(F->m.req.ev.chain.certs[0].ptr, c->der.ptr,
	    c->der.len);
}

static int
setup(void **state)
{
	est_setup(5000, 1);
	F->rep.u.cert.cert = F->certs[0];
	return 0;
}

static int
teardown(void **state)
{
	est_teardown();
	return 0;
}

static void
test_enroll_with_certificate(void **state)
{
	struct client c;

	client_new(&c, "agent", F->client_ca, F->client_ca_key);
	est_connect(c.x, c.k);
	assert_int_equal(post(ENROLL, PKCS10, NULL, "MAA="), 200);
	assert_int_equal(F->m.req.type, PROTO_T_ISSUE);
	expect_evidence(&c);
	expect_target(&F->m.req, "", "dev", "service");
	assert_string_equal(F->ctype, P7_CERTS);
	expect_p7(F->certs, 1);
	client_free(&c);
}

/* RFC 7030 4.2.2: the current certificate is the TLS client's. */
static void
test_reenroll(void **state)
{
	struct client c;

	client_new(&c, "device-7", F->client_ca, F->client_ca_key);
	est_connect(c.x, c.k);
	assert_int_equal(post("/.well-known/est/dev-device/simplereenroll",
	    PKCS10, NULL, "MAA="), 200);
	assert_int_equal(F->m.req.type, PROTO_T_REISSUE);
	expect_evidence(&c);
	expect_target(&F->m.req, "dev-device", "dev", "device");
	assert_int_equal(F->m.req.u.issue.cur_cert.len, c.der.len);
	assert_memory_equal(F->m.req.u.issue.cur_cert.ptr, c.der.ptr,
	    c.der.len);
	client_free(&c);
}

/* A token in the header is the credential of a first enrollment. */
static void
test_token_over_certificate(void **state)
{
	struct client c;

	client_new(&c, "agent", F->client_ca, F->client_ca_key);
	est_connect(c.x, c.k);
	assert_int_equal(post(ENROLL, PKCS10, "Bearer tok.s", "MAA="), 200);
	assert_int_equal(F->m.req.ev.kind, PROTO_EV_TOKEN);
	assert_string_equal(F->m.req.ev.token, "tok.s");
	/* A renewal goes by the certificate whatever the header says. */
	assert_int_equal(post(REENROLL, PKCS10, "Bearer tok.s", "MAA="),
	    200);
	expect_evidence(&c);
	client_free(&c);
}

static void
test_untrusted_certificate(void **state)
{
	struct client c;

	client_new(&c, "stranger", NULL, NULL);
	est_connect(c.x, c.k);
	assert_int_equal(post(ENROLL, PKCS10, NULL, "MAA="), 403);
	assert_non_null(strstr((char *)F->body,
	    "client certificate not trusted"));
	assert_int_equal(post(REENROLL, PKCS10, NULL, "MAA="), 403);
	assert_int_equal(F->nreq, 0);
	client_free(&c);
}

/* What CACERTS returns is trusted for clients from then on. */
static void
test_cacerts_trusts_issued(void **state)
{
	struct client dev;
	struct proto_blob ca_der;
	EVP_PKEY *ca_key;
	X509 *ca;

	assert_non_null(ca_key = EVP_EC_gen("P-256"));
	ca = test_x509("Signet Issuing CA", ca_key, NULL, NULL, 1);
	test_der(ca, &ca_der);
	client_new(&dev, "device-9", ca, ca_key);

	est_connect(dev.x, dev.k);
	assert_int_equal(post(REENROLL, PKCS10, NULL, "MAA="), 403);
	assert_int_equal(F->nreq, 0);

	F->rep.u.chain.ncerts = 1;
	F->rep.u.chain.certs[0] = ca_der;
	assert_int_equal(get("/.well-known/est/cacerts"), 200);
	expect_p7(&ca_der, 1);

	/* The verdict is the handshake's: a new connection. */
	est_connect(dev.x, dev.k);
	peer_status(&F->rep, 0, PROTO_R_OK, NULL, 0);
	F->rep.u.cert.cert = F->certs[0];
	assert_int_equal(post(REENROLL, PKCS10, NULL, "MAA="), 200);
	assert_int_equal(F->m.req.type, PROTO_T_REISSUE);
	expect_evidence(&dev);

	client_free(&dev);
	OPENSSL_free((void *)ca_der.ptr);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_enroll_with_certificate),
		T(test_reenroll),
		T(test_token_over_certificate),
		T(test_untrusted_certificate),
		T(test_cacerts_trusts_issued),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
