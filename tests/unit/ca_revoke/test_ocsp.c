/*
 * The OCSP responder core against `openssl ocsp`: requests written by
 * the openssl tool are answered from a real ledger, signed in SoftHSMv2
 * by the issuer or by a delegated responder, and the answers verified by
 * the openssl tool for good, revoked (with the reason) and unknown.
 * Malformed requests get malformedRequest, foreign issuers unauthorized,
 * nonces are echoed, and the cache answers without signing until a
 * revocation invalidates it.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "revoke_test.h"

struct ofx {
	struct rv_fx f;
	struct ca_ocsp *o;
	char out[8192];
};

static int
setup(void **state)
{
	struct ofx *x = calloc(1, sizeof(*x));
	struct ca_ocsp_config cfg;
	struct ca_err err;

	rv_setup(&x->f);
	rv_write_chain(&x->f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.ledger = x->f.ledger;
	assert_int_equal(ca_ocsp_new(&cfg, &x->o), CA_OK);
	if (ca_ocsp_add_issuer(x->o, &x->f.env.issuer, NULL, NULL, &err) !=
	    CA_OK)
		fail_msg("%s", err.msg);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct ofx *x = *state;

	ca_ocsp_free(x->o);
	rv_teardown(&x->f);
	free(x);
	return 0;
}

/* may_sign for test_budget: says yes while *arg > 0, counts down. */
static int
budget(void *arg)
{
	int *left = arg;

	return (*left)-- > 0;
}

/* Answers req.der into resp.der, asking may_sign if set. */
static void
answer_gated(struct ofx *x, int (*may_sign)(void *), void *arg,
    struct ca_ocsp_answer *ans)
{
	struct ca_err err;
	uint8_t *req;
	size_t len;

	req = rv_read_file(rv_path(&x->f, "req.der"), &len);
	assert_int_equal(ca_ocsp_respond(x->o, req, len, 0, may_sign, arg,
	    ans, &err), CA_OK);
	rv_write_file(rv_path(&x->f, "resp.der"), ans->der, ans->len);
	free(req);
}

static void
answer(struct ofx *x, struct ca_ocsp_answer *ans)
{
	answer_gated(x, NULL, NULL, ans);
}

/* Writes req.der for the given `openssl ocsp` selection. */
static void
request(struct ofx *x, const char *issuer, const char *what)
{
	assert_int_equal(test_run("openssl ocsp -issuer %s %s -reqout %s "
	    ">/dev/null 2>&1", rv_path(&x->f, issuer), what,
	    rv_path(&x->f, "req.der")), 0);
}

/* `openssl ocsp -respin` over resp.der; its output is in x->out. */
static void
check(struct ofx *x, const char *what)
{
	test_capture(x->out, sizeof(x->out), "openssl ocsp -no_nonce "
	    "-respin %s -CAfile %s -issuer %s %s 2>&1",
	    rv_path(&x->f, "resp.der"), rv_path(&x->f, "chain.pem"),
	    rv_path(&x->f, "inter.pem"), what);
}

static void
expect(struct ofx *x, const char *s)
{
	if (strstr(x->out, s) == NULL)
		fail_msg("no \"%s\" in:\n%s", s, x->out);
}

static const char *
leaf(struct ofx *x, const char *name, struct ledger_serial *s)
{
	static char arg[900];
	X509 *c = rv_issue(&x->f, s);

	rv_write_pem(rv_path(&x->f, name), c);
	X509_free(c);
	snprintf(arg, sizeof(arg), "-cert %s", rv_path(&x->f, name));
	return arg;
}

static void
test_good(void **state)
{
	struct ofx *x = *state;
	struct ca_ocsp_answer ans;
	char c[1000], sel[1200];

	snprintf(c, sizeof(c), "%s", leaf(x, "leaf.pem", NULL));
	snprintf(sel, sizeof(sel), "-no_nonce %s", c);
	request(x, "inter.pem", sel);
	answer(x, &ans);
	assert_int_equal(ans.status, CA_OCSP_SUCCESSFUL);
	assert_int_equal(ans.cert_status, CA_OCSP_GOOD);
	ca_ocsp_answer_free(&ans);
	check(x, c);
	expect(x, "Response verify OK");
	expect(x, "leaf.pem: good");
	/* RFC 6960 4.1.1: a SHA-256 CertID is answered in kind. */
	snprintf(sel, sizeof(sel), "-sha256 -no_nonce %s", c);
	request(x, "inter.pem", sel);
	answer(x, &ans);
	assert_int_equal(ans.cert_status, CA_OCSP_GOOD);
	ca_ocsp_answer_free(&ans);
	snprintf(sel, sizeof(sel), "-sha256 %s", c);
	check(x, sel);
	expect(x, "Response verify OK");
	expect(x, "leaf.pem: good");
}

static void
test_revoked(void **state)
{
	struct ofx *x = *state;
	struct ca_ocsp_answer ans;
	struct ledger_serial s;
	char c[1000], sel[1200];

	snprintf(c, sizeof(c), "%s", leaf(x, "leaf.pem", &s));
	rv_revoke(&x->f, &s, 1);
	snprintf(sel, sizeof(sel), "-no_nonce %s", c);
	request(x, "inter.pem", sel);
	answer(x, &ans);
	assert_int_equal(ans.cert_status, CA_OCSP_REVOKED);
	ca_ocsp_answer_free(&ans);
	check(x, c);
	expect(x, "Response verify OK");
	expect(x, "leaf.pem: revoked");
	expect(x, "Reason: keyCompromise");
	expect(x, "Revocation Time:");
}

/* policy: never "good" for a serial the ledger has not seen issued. */
static void
test_unknown(void **state)
{
	struct ofx *x = *state;
	struct ca_ocsp_answer ans;
	struct ledger_intent in;

	request(x, "inter.pem", "-no_nonce -serial 0x0123456789abcdef");
	answer(x, &ans);
	assert_int_equal(ans.cert_status, CA_OCSP_UNKNOWN);
	ca_ocsp_answer_free(&ans);
	check(x, "-serial 0x0123456789abcdef");
	expect(x, "Response verify OK");
	expect(x, "0x0123456789abcdef: unknown");
	/* A reserved row (signed perhaps, never committed) is unknown. */
	memset(&in, 0, sizeof(in));
	in.serial.len = 8;
	memcpy(in.serial.b, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	in.tenant = "a";
	in.issuer = "inter";
	in.profile = "web";
	in.subject = "CN=x";
	in.sans = "";
	in.requester = "test";
	in.not_before = time(NULL);
	in.not_after = time(NULL) + 3600;
	assert_int_equal(ledger_reserve(x->f.ledger, &in), LEDGER_OK);
	request(x, "inter.pem", "-no_nonce -serial 0x1122334455667788");
	answer(x, &ans);
	assert_int_equal(ans.cert_status, CA_OCSP_UNKNOWN);
	ca_ocsp_answer_free(&ans);
	check(x, "-serial 0x1122334455667788");
	expect(x, "0x1122334455667788: unknown");
}

/* RFC 6960 2.3: a CertID naming another CA's certificate. */
static void
test_unauthorized(void **state)
{
	struct ofx *x = *state;
	struct ca_ocsp_answer ans;

	request(x, "root.pem", "-no_nonce -serial 0x01");
	answer(x, &ans);
	assert_int_equal(ans.status, CA_OCSP_UNAUTHORIZED);
	ca_ocsp_answer_free(&ans);
	check(x, "-serial 0x01");
	expect(x, "unauthorized (6)");
}

static void
test_malformed(void **state)
{
	static const uint8_t want[] = { 0x30, 0x03, 0x0a, 0x01, 0x01 };
	struct ofx *x = *state;
	struct ca_ocsp_answer ans;
	struct ca_err err;
	uint8_t *req, junk[64];
	size_t len, cut;

	request(x, "inter.pem", "-serial 0x01");
	req = rv_read_file(rv_path(&x->f, "req.der"), &len);
	for (cut = 0; cut < len; cut += 7) {
		assert_int_equal(ca_ocsp_respond(x->o, req, cut, 0, NULL,
		    NULL, &ans, &err), CA_OK);
		assert_int_equal(ans.len, sizeof(want));
		assert_memory_equal(ans.der, want, sizeof(want));
		ca_ocsp_answer_free(&ans);
	}
	memset(junk, 0x30, sizeof(junk));
	assert_int_equal(ca_ocsp_respond(x->o, junk, sizeof(junk), 0, NULL,
	    NULL, &ans, &err), CA_OK);
	assert_int_equal(ans.status, CA_OCSP_MALFORMED);
	rv_write_file(rv_path(&x->f, "resp.der"), ans.der, ans.len);
	ca_ocsp_answer_free(&ans);
	check(x, "-serial 0x01");
	expect(x, "malformedrequest (1)");
	free(req);
}

static int
nonce_check(struct ofx *x)
{
	const unsigned char *p;
	uint8_t *rq, *rs;
	size_t lq, ls;
	OCSP_REQUEST *req;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	int rc;

	rq = rv_read_file(rv_path(&x->f, "req.der"), &lq);
	rs = rv_read_file(rv_path(&x->f, "resp.der"), &ls);
	p = rq;
	req = d2i_OCSP_REQUEST(NULL, &p, (long)lq);
	p = rs;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)ls);
	assert_non_null(req);
	assert_non_null(resp);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	rc = OCSP_check_nonce(req, bs);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	free(rq);
	free(rs);
	return rc;
}

/* RFC 8954: the nonce comes back in a freshly signed answer. */
static void
test_nonce(void **state)
{
	struct ofx *x = *state;
	struct ca_ocsp_answer ans;
	struct ca_ocsp_stats st;
	char c[1000];
	int i;

	snprintf(c, sizeof(c), "%s", leaf(x, "leaf.pem", NULL));
	for (i = 0; i < 2; i++) {
		request(x, "inter.pem", c);
		answer(x, &ans);
		assert_int_equal(ans.from_cache, 0);
		ca_ocsp_answer_free(&ans);
		assert_int_equal(nonce_check(x), 1);
	}
	ca_ocsp_stats(x->o, &st);
	assert_int_equal(st.signatures, 2);
	assert_int_equal(st.entries, 0);
	check(x, c);
	expect(x, "Response verify OK");
	expect(x, "leaf.pem: good");
}

/* ignore_nonce: answered from the cache, without the nonce. */
static void
test_ignore_nonce(void **state)
{
	struct ofx *x = *state;
	struct ca_ocsp_config cfg;
	struct ca_ocsp_answer ans;
	struct ca_err err;
	char c[1000];

	ca_ocsp_free(x->o);
	memset(&cfg, 0, sizeof(cfg));
	cfg.ledger = x->f.ledger;
	cfg.ignore_nonce = 1;
	assert_int_equal(ca_ocsp_new(&cfg, &x->o), CA_OK);
	assert_int_equal(ca_ocsp_add_issuer(x->o, &x->f.env.issuer, NULL,
	    NULL, &err), CA_OK);
	snprintf(c, sizeof(c), "%s", leaf(x, "leaf.pem", NULL));
	request(x, "inter.pem", c);
	answer(x, &ans);
	assert_int_equal(ans.from_cache, 0);
	ca_ocsp_answer_free(&ans);
	request(x, "inter.pem", c);
	answer(x, &ans);
	assert_int_equal(ans.from_cache, 1);
	ca_ocsp_answer_free(&ans);
	assert_int_equal(nonce_check(x), -1);
}

/*
 * The signing budget (the engine's per-source bucket): over it, a nonce
 * is dropped and the cached answer served; with nothing cached, and for
 * several CertIDs, tryLater.  A cached answer never asks.
 */
static void
test_budget(void **state)
{
	struct ofx *x = *state;
	struct ca_ocsp_answer ans;
	struct ca_ocsp_stats st;
	char c[1000], sel[1200];
	int left = 1;

	snprintf(c, sizeof(c), "%s", leaf(x, "leaf.pem", NULL));
	/* Nothing cached, nonce, no budget: tryLater, nothing signed. */
	left = 0;
	request(x, "inter.pem", c);
	answer_gated(x, budget, &left, &ans);
	assert_int_equal(ans.status, CA_OCSP_TRY_LATER);
	assert_int_equal(ans.limited, 1);
	ca_ocsp_answer_free(&ans);
	ca_ocsp_stats(x->o, &st);
	assert_int_equal(st.signatures, 0);
	/* One signature allowed: the answer without a nonce is cached. */
	left = 1;
	snprintf(sel, sizeof(sel), "-no_nonce %s", c);
	request(x, "inter.pem", sel);
	answer_gated(x, budget, &left, &ans);
	assert_int_equal(ans.status, CA_OCSP_SUCCESSFUL);
	assert_int_equal(ans.from_cache, 0);
	ca_ocsp_answer_free(&ans);
	/* Cached: answered with no budget left, and never asked. */
	left = 0;
	answer_gated(x, budget, &left, &ans);
	assert_int_equal(ans.from_cache, 1);
	assert_int_equal(left, 0);
	ca_ocsp_answer_free(&ans);
	/* A nonce over budget: the cached answer, nonce dropped. */
	request(x, "inter.pem", c);
	answer_gated(x, budget, &left, &ans);
	assert_int_equal(ans.status, CA_OCSP_SUCCESSFUL);
	assert_int_equal(ans.from_cache, 1);
	assert_int_equal(ans.nonce_dropped, 1);
	assert_int_equal(ans.nonce_signed, 0);
	ca_ocsp_answer_free(&ans);
	assert_int_equal(nonce_check(x), -1);
	check(x, c);
	expect(x, "Response verify OK");
	expect(x, "leaf.pem: good");
	/* Within budget the nonce is signed and echoed. */
	left = 1;
	answer_gated(x, budget, &left, &ans);
	assert_int_equal(ans.nonce_signed, 1);
	assert_int_equal(ans.from_cache, 0);
	ca_ocsp_answer_free(&ans);
	assert_int_equal(nonce_check(x), 1);
	ca_ocsp_stats(x->o, &st);
	assert_int_equal(st.signatures, 2);
}

/* The hot path signs nothing; a revocation invalidates; refresh re-signs. */
static void
test_cache(void **state)
{
	struct ofx *x = *state;
	struct ca_ocsp_answer ans;
	struct ca_ocsp_stats st;
	struct ledger_serial s;
	char c[1000], sel[1200];
	int i;

	snprintf(c, sizeof(c), "%s", leaf(x, "leaf.pem", &s));
	snprintf(sel, sizeof(sel), "-no_nonce %s", c);
	request(x, "inter.pem", sel);
	for (i = 0; i < 5; i++) {
		answer(x, &ans);
		assert_int_equal(ans.from_cache, i > 0);
		assert_int_equal(ans.cert_status, CA_OCSP_GOOD);
		ca_ocsp_answer_free(&ans);
	}
	ca_ocsp_stats(x->o, &st);
	assert_int_equal(st.signatures, 1);
	assert_int_equal(st.hits, 4);
	check(x, c);
	expect(x, "Response verify OK");
	rv_revoke(&x->f, &s, 4);
	ca_ocsp_invalidate(x->o, s.b, s.len);
	answer(x, &ans);
	assert_int_equal(ans.from_cache, 0);
	assert_int_equal(ans.cert_status, CA_OCSP_REVOKED);
	ca_ocsp_answer_free(&ans);
	check(x, c);
	expect(x, "leaf.pem: revoked");
	expect(x, "Reason: superseded");
	/* Half the validity on, the timer re-signs the one entry. */
	assert_int_equal(ca_ocsp_refresh(x->o, time(NULL) + 1, 100), 0);
	assert_int_equal(ca_ocsp_refresh(x->o, time(NULL) +
	    CA_OCSP_VALIDITY / 2 + 5, 100), 1);
	ca_ocsp_stats(x->o, &st);
	assert_int_equal(st.signatures, 3);
	assert_int_equal(st.entries, 1);
}

/* RFC 6960 4.2.2.2: a delegated responder whose key is in the token. */
static void
test_delegated(void **state)
{
	struct ofx *x = *state;
	struct ca_ocsp_config cfg;
	struct ca_ocsp_answer ans;
	struct ca_signer *ds = NULL;
	struct hsm_keygen kg;
	struct hsm_key *dk = NULL;
	struct ca_err err;
	X509 *dc, *plain;
	char c[1000], sel[1200];

	memset(&kg, 0, sizeof(kg));
	kg.type = HSM_KEY_EC_P256;
	kg.label = "ocsp";
	assert_int_equal(hsm_key_generate(x->f.hsm, &kg, &dk), HSM_OK);
	assert_int_equal(ca_signer_hsm(dk, &ds), CA_OK);
	dc = rv_sign_cert(&x->f, hsm_key_public(dk), "Signet OCSP", 1);
	plain = rv_sign_cert(&x->f, hsm_key_public(dk), "Not OCSP", 0);
	ca_ocsp_free(x->o);
	memset(&cfg, 0, sizeof(cfg));
	cfg.ledger = x->f.ledger;
	assert_int_equal(ca_ocsp_new(&cfg, &x->o), CA_OK);
	assert_int_equal(ca_ocsp_add_issuer(x->o, &x->f.env.issuer, ds,
	    plain, &err), CA_ERR_ARG);
	assert_int_equal(ca_ocsp_add_issuer(x->o, &x->f.env.issuer, ds,
	    x->f.inter, &err), CA_ERR_ARG);
	if (ca_ocsp_add_issuer(x->o, &x->f.env.issuer, ds, dc, &err) != CA_OK)
		fail_msg("%s", err.msg);
	snprintf(c, sizeof(c), "%s", leaf(x, "leaf.pem", NULL));
	snprintf(sel, sizeof(sel), "-no_nonce %s", c);
	request(x, "inter.pem", sel);
	answer(x, &ans);
	assert_int_equal(ans.cert_status, CA_OCSP_GOOD);
	ca_ocsp_answer_free(&ans);
	check(x, c);
	expect(x, "Response verify OK");
	expect(x, "leaf.pem: good");
	test_capture(x->out, sizeof(x->out), "openssl ocsp -respin %s "
	    "-resp_text -noverify 2>&1 | grep Subject:",
	    rv_path(&x->f, "resp.der"));
	expect(x, "Subject: CN=Signet OCSP");
	ca_ocsp_free(x->o);
	x->o = NULL;
	X509_free(dc);
	X509_free(plain);
	ca_signer_free(ds);
	hsm_key_free(dk);
}

/* Several CertIDs in one request: one signed answer with each status. */
static void
test_several(void **state)
{
	struct ofx *x = *state;
	struct ca_ocsp_answer ans;
	struct ledger_serial s;
	char a[1000], b[1000], sel[3000];

	snprintf(a, sizeof(a), "%s", leaf(x, "a.pem", NULL));
	snprintf(b, sizeof(b), "%s", leaf(x, "b.pem", &s));
	rv_revoke(&x->f, &s, 5);
	snprintf(sel, sizeof(sel), "-no_nonce %s %s -serial 0x77", a, b);
	request(x, "inter.pem", sel);
	answer(x, &ans);
	assert_int_equal(ans.from_cache, 0);
	ca_ocsp_answer_free(&ans);
	snprintf(sel, sizeof(sel), "%s %s -serial 0x77", a, b);
	check(x, sel);
	expect(x, "Response verify OK");
	expect(x, "a.pem: good");
	expect(x, "b.pem: revoked");
	expect(x, "Reason: cessationOfOperation");
	expect(x, "0x77: unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unauthorized, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nonce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignore_nonce, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delegated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_several, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
