/*
 * CRLs signed by a P-256 intermediate key in SoftHSMv2 from a real
 * SQLite ledger: `openssl crl -verify` accepts them, `openssl verify
 * -crl_check` refuses a revoked leaf and accepts an unrevoked one, the
 * CRL number grows across a ledger close and reopen, expired entries
 * drop off, and the reasonCode is shown.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "revoke_test.h"

static int
setup(void **state)
{
	struct rv_fx *f = calloc(1, sizeof(*f));

	rv_setup(f);
	rv_write_chain(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct rv_fx *f = *state;

	rv_teardown(f);
	free(f);
	return 0;
}

/* Builds a CRL now and writes it as crl.der and crl.pem. */
static X509_CRL *
build(struct rv_fx *f, time_t now, struct ca_crl *crl)
{
	struct ca_err err;
	const unsigned char *p;
	X509_CRL *x;
	FILE *fp;

	if (ca_crl_build(&f->env.issuer, f->ledger, now, 3600, crl,
	    &err) != CA_OK)
		fail_msg("CRL: %s", err.msg);
	rv_write_file(rv_path(f, "crl.der"), crl->der, crl->len);
	p = crl->der;
	x = d2i_X509_CRL(NULL, &p, (long)crl->len);
	assert_non_null(x);
	assert_ptr_equal(p, crl->der + crl->len);
	fp = fopen(rv_path(f, "crl.pem"), "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_X509_CRL(fp, x), 1);
	fclose(fp);
	return x;
}

static uint64_t
crl_number(X509_CRL *x)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(x, NID_crl_number, NULL,
	    NULL);
	uint64_t v = 0;

	assert_non_null(n);
	assert_int_equal(ASN1_INTEGER_get_uint64(&v, n), 1);
	ASN1_INTEGER_free(n);
	return v;
}

static int
crl_verify(struct rv_fx *f)
{
	return test_run("openssl crl -in %s -inform DER -CAfile %s -noout "
	    "2>&1 | grep -q 'verify OK'", rv_path(f, "crl.der"),
	    rv_path(f, "inter.pem"));
}

static int
leaf_verify(struct rv_fx *f, const char *leaf)
{
	return test_run("openssl verify -crl_check -CAfile %s -CRLfile %s "
	    "%s >/dev/null 2>&1", rv_path(f, "chain.pem"),
	    rv_path(f, "crl.pem"), rv_path(f, leaf));
}

static void
test_empty_crl(void **state)
{
	struct rv_fx *f = *state;
	struct ca_crl crl;
	X509_CRL *x;

	x = build(f, 0, &crl);
	assert_int_equal(crl.nrevoked, 0);
	assert_null(X509_CRL_get_REVOKED(x));
	assert_int_equal(X509_CRL_get_version(x), 1);
	assert_int_equal(crl_number(x), 1);
	assert_int_equal(crl_verify(f), 0);
	X509_CRL_free(x);
	ca_crl_free(&crl);
}

static void
test_revoked_leaf_fails(void **state)
{
	struct rv_fx *f = *state;
	struct ledger_serial s1, s2;
	struct ca_crl crl;
	X509 *good, *bad;
	X509_CRL *x;
	char out[4096];

	good = rv_issue(f, &s1);
	bad = rv_issue(f, &s2);
	rv_write_pem(rv_path(f, "good.pem"), good);
	rv_write_pem(rv_path(f, "bad.pem"), bad);
	rv_revoke(f, &s2, 1);
	x = build(f, 0, &crl);
	assert_int_equal(crl.nrevoked, 1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(x)), 1);
	assert_int_equal(crl_verify(f), 0);
	assert_int_equal(leaf_verify(f, "good.pem"), 0);
	assert_int_not_equal(leaf_verify(f, "bad.pem"), 0);
	assert_int_equal(test_capture(out, sizeof(out), "openssl verify "
	    "-crl_check -CAfile %s -CRLfile %s %s 2>&1",
	    rv_path(f, "chain.pem"), rv_path(f, "crl.pem"),
	    rv_path(f, "bad.pem")) != 0, 1);
	assert_non_null(strstr(out, "certificate revoked"));
	assert_int_equal(test_capture(out, sizeof(out), "openssl crl -in %s "
	    "-inform DER -noout -text", rv_path(f, "crl.der")), 0);
	assert_non_null(strstr(out, "Key Compromise"));
	assert_non_null(strstr(out, "X509v3 Authority Key Identifier"));
	X509_CRL_free(x);
	ca_crl_free(&crl);
	X509_free(good);
	X509_free(bad);
}

/* RFC 5280 5.2.3: the number grows, also across a restart. */
static void
test_number_across_reopen(void **state)
{
	struct rv_fx *f = *state;
	struct ca_crl a, b, c;
	X509_CRL *xa, *xb, *xc;

	xa = build(f, 0, &a);
	xb = build(f, 0, &b);
	rv_reopen(f);
	xc = build(f, 0, &c);
	assert_true(crl_number(xa) < crl_number(xb));
	assert_true(crl_number(xb) < crl_number(xc));
	assert_int_equal(c.number, crl_number(xc));
	assert_int_equal(crl_verify(f), 0);
	X509_CRL_free(xa);
	X509_CRL_free(xb);
	X509_CRL_free(xc);
	ca_crl_free(&a);
	ca_crl_free(&b);
	ca_crl_free(&c);
}

/* RFC 5280 3.3: an entry may go once its certificate has expired. */
static void
test_expired_drop_off(void **state)
{
	struct rv_fx *f = *state;
	struct ledger_serial s[3];
	struct ca_crl now, later;
	X509_CRL *x1, *x2;
	X509 *leaf;
	int i;

	for (i = 0; i < 3; i++) {
		leaf = rv_issue(f, &s[i]);
		X509_free(leaf);
		rv_revoke(f, &s[i], i == 0 ? 0 : 4);
	}
	x1 = build(f, 0, &now);
	assert_int_equal(now.nrevoked, 3);
	/* Leaves live at most 25 hours: two days on, nothing is listed. */
	x2 = build(f, time(NULL) + 2 * 86400, &later);
	assert_int_equal(later.nrevoked, 0);
	assert_null(X509_CRL_get_REVOKED(x2));
	X509_CRL_free(x1);
	X509_CRL_free(x2);
	ca_crl_free(&now);
	ca_crl_free(&later);
}

/* Writes a delta CRL's DER as path (PEM) and returns it parsed. */
static X509_CRL *
write_delta(struct rv_fx *f, const struct ca_crl *crl, const char *name)
{
	const unsigned char *p = crl->der;
	X509_CRL *x;
	FILE *fp;

	x = d2i_X509_CRL(NULL, &p, (long)crl->len);
	assert_non_null(x);
	assert_ptr_equal(p, crl->der + crl->len);
	fp = fopen(rv_path(f, name), "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_X509_CRL(fp, x), 1);
	fclose(fp);
	return x;
}

/*
 * RFC 5280 5.2.4 and 5.2.6 (issue 19): a complete CRL names the deltas
 * in freshestCRL; a delta lists what was revoked since, carries a
 * critical deltaCRLIndicator naming its base, takes its number from the
 * same sequence, and `openssl verify -use_deltas` reads the two together.
 */
static void
test_delta(void **state)
{
	struct rv_fx *f = *state;
	struct ledger_serial s1, s2;
	struct ca_crl base, delta, empty;
	struct ca_err err;
	X509 *old, *bad;
	X509_CRL *xb, *xd, *xe;
	ASN1_INTEGER *bn;
	STACK_OF(DIST_POINT) *dps;
	uint64_t v = 0;
	int crit = -1;
	char out[4096];

	assert_int_equal(ca_issuer_set_delta(&f->env.issuer,
	    "ftp://ca.example/delta.crl", 0), CA_ERR_ARG);
	assert_int_equal(ca_issuer_set_delta(&f->env.issuer, NULL, 1),
	    CA_ERR_ARG);
	assert_int_equal(ca_issuer_set_delta(&f->env.issuer,
	    "http://ca.example/crl/delta/ica.crl", 0), CA_OK);
	old = rv_issue(f, &s1);
	bad = rv_issue(f, &s2);
	rv_write_pem(rv_path(f, "bad.pem"), bad);
	rv_revoke(f, &s1, 4);
	xb = build(f, 0, &base);
	dps = X509_CRL_get_ext_d2i(xb, NID_freshest_crl, NULL, NULL);
	assert_non_null(dps);
	assert_int_equal(sk_DIST_POINT_num(dps), 1);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	assert_null(X509_CRL_get_ext_d2i(xb, NID_delta_crl, NULL, NULL));
	rv_revoke(f, &s2, 1);

	assert_int_equal(ca_crl_build_delta(&f->env.issuer, f->ledger, 0,
	    3600, base.number, base.this_update, &delta, &err), CA_OK);
	xd = write_delta(f, &delta, "delta.pem");
	/* s2, and s1 if it was revoked in the base's thisUpdate second. */
	assert_true(delta.nrevoked == 1 || delta.nrevoked == 2);
	assert_true(delta.number > base.number);
	bn = X509_CRL_get_ext_d2i(xd, NID_delta_crl, &crit, NULL);
	assert_non_null(bn);
	assert_int_equal(crit, 1);
	assert_int_equal(ASN1_INTEGER_get_uint64(&v, bn), 1);
	assert_int_equal(v, base.number);
	ASN1_INTEGER_free(bn);
	assert_null(X509_CRL_get_ext_d2i(xd, NID_freshest_crl, NULL, NULL));
	/* Revocations before since are the base's, not the delta's. */
	assert_int_equal(ca_crl_build_delta(&f->env.issuer, f->ledger, 0,
	    3600, base.number, base.this_update + 3600, &empty, &err), CA_OK);
	xe = write_delta(f, &empty, "empty.pem");
	assert_int_equal(empty.nrevoked, 0);
	assert_null(X509_CRL_get_REVOKED(xe));
	ca_crl_free(&empty);

	/* The complete CRL alone lets bad pass; with the delta it fails. */
	assert_int_equal(leaf_verify(f, "bad.pem"), 0);
	assert_int_not_equal(test_capture(out, sizeof(out), "openssl verify "
	    "-crl_check -use_deltas -CAfile %s -CRLfile %s -CRLfile %s %s "
	    "2>&1", rv_path(f, "chain.pem"), rv_path(f, "crl.pem"),
	    rv_path(f, "delta.pem"), rv_path(f, "bad.pem")), 0);
	assert_non_null(strstr(out, "certificate revoked"));
	assert_int_equal(ca_crl_build_delta(&f->env.issuer, f->ledger, 0,
	    3600, 0, 0, &empty, &err), CA_ERR_ARG);
	X509_CRL_free(xb);
	X509_CRL_free(xd);
	X509_CRL_free(xe);
	ca_crl_free(&base);
	ca_crl_free(&delta);
	X509_free(old);
	X509_free(bad);
}

static void
test_bad_arguments(void **state)
{
	struct rv_fx *f = *state;
	struct ca_crl crl;
	struct ca_err err;

	assert_int_equal(ca_crl_build(&f->env.issuer, f->ledger, 0, 0, &crl,
	    &err), CA_ERR_ARG);
	assert_int_equal(ca_crl_build(&f->env.issuer, f->ledger, 0,
	    CA_MAX_CRL_VALIDITY + 1, &crl, &err), CA_ERR_ARG);
	assert_int_equal(ca_crl_build(&f->env.issuer, NULL, 0, 60, &crl,
	    &err), CA_ERR_ARG);
	assert_null(crl.der);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_crl, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revoked_leaf_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_number_across_reopen,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_drop_off, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
