/*
 * signet-provision dev-ca and install against a real SoftHSMv2 token:
 * the certificates dev-ca writes are what OpenSSL's verifier and an
 * auditor check (basicConstraints, key usage, validity, chains), and
 * install writes an issuer only when it certifies the token key, is a CA
 * and chains to the root, never over a different file.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "prov.h"
#include "provtest.h"

#define DAY (24L * 3600)

static int
setup(void **state)
{
	struct prov_fx *f = calloc(1, sizeof(*f));

	prov_fx_setup(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	prov_fx_teardown(*state);
	free(*state);
	return 0;
}

static void
test_name_ok(void **state)
{
	char big[66];

	(void)state;
	assert_true(prov_name_ok("acme"));
	assert_true(prov_name_ok("issuing-2_b.v1"));
	assert_false(prov_name_ok(""));
	assert_false(prov_name_ok(".hidden"));
	assert_false(prov_name_ok(".."));
	assert_false(prov_name_ok("a/b"));
	assert_false(prov_name_ok("a b"));
	memset(big, 'a', sizeof(big) - 1);
	big[65] = '\0';
	assert_false(prov_name_ok(big));
	big[64] = '\0';
	assert_true(prov_name_ok(big));
}

/* Days from now to x's notAfter. */
static int
days_left(X509 *x)
{
	int days, secs;

	assert_true(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)));
	return days;
}

static int
critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static void
assert_ca(X509 *x, long pathlen, int days)
{
	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(X509_get_pathlen(x), pathlen);
	assert_true(critical(x, NID_basic_constraints));
	assert_true(critical(x, NID_key_usage));
	assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_in_range(days_left(x), days - 1, days);
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
}

static void
assert_leaf(X509 *x, unsigned long xku)
{
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x), xku);
}

static void
test_dev_ca(void **state)
{
	struct prov_fx *f = *state;
	X509 *root, *inter, *ops, *srv, *op;
	char p[600];

	assert_int_equal(prov_dev_ca(f->h, f->dir), 0);
	root = prov_read(prov_path(f, p, sizeof(p), "ca/root.pem"));
	inter = prov_read(prov_path(f, p, sizeof(p), "ca/intermediate.pem"));
	ops = prov_read(prov_path(f, p, sizeof(p), "ca/operators.pem"));
	srv = prov_read(prov_path(f, p, sizeof(p), "tls/server.pem"));
	op = prov_read(prov_path(f, p, sizeof(p), "operator/operator.pem"));

	assert_ca(root, -1, 3650);
	assert_int_equal(X509_check_issued(root, root), X509_V_OK);
	assert_ca(inter, 0, 5 * 365);
	assert_int_equal(prov_verify(inter, NULL, root, X509_PURPOSE_ANY),
	    X509_V_OK);
	assert_ca(ops, 0, 5 * 365);
	assert_int_equal(X509_check_issued(ops, ops), X509_V_OK);

	assert_leaf(srv, XKU_SSL_SERVER);
	assert_in_range(days_left(srv), 89, 90);
	assert_int_equal(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
	assert_int_equal(prov_verify(srv, inter, root, X509_PURPOSE_SSL_SERVER),
	    X509_V_OK);
	assert_leaf(op, XKU_SSL_CLIENT);
	assert_int_equal(prov_verify(op, NULL, ops, X509_PURPOSE_SSL_CLIENT),
	    X509_V_OK);
	/* The server and operator keys are files only their owner reads. */
	assert_int_equal(prov_mode(
			     prov_path(f, p, sizeof(p), "tls/server.key")),
	    0600);
	assert_int_equal(prov_mode(prov_path(f, p, sizeof(p),
			     "operator/operator.key")),
	    0600);

	/* The CA keys and the token key are in the token. */
	hsm_key_free(prov_key(f, "signet-dev-root"));
	{
		struct hsm_key *k;

		assert_int_equal(hsm_key_find(f->h, PROV_TOKEN_KEY_LABEL, NULL,
				     0, &k),
		    HSM_OK);
		assert_int_equal(hsm_key_type(k), HSM_KEY_HMAC_SHA256);
		hsm_key_free(k);
		assert_int_equal(hsm_key_find(f->h, "signet-audit", NULL, 0,
				     &k),
		    HSM_OK);
		hsm_key_free(k);
	}

	/* A second run leaves the PKI alone. */
	assert_int_equal(prov_dev_ca(f->h, f->dir), 1);
	X509_free(inter);
	inter = prov_read(prov_path(f, p, sizeof(p), "ca/root.pem"));
	assert_int_equal(X509_cmp(inter, root), 0);
	X509_free(root);
	X509_free(inter);
	X509_free(ops);
	X509_free(srv);
	X509_free(op);
}

struct inst {
	const char *label, *cert, *root, *tenant, *name;
	char data[600];
};

static int
run_install(struct prov_fx *f, const void *arg)
{
	const struct inst *a = arg;
	char cert[600], root[600];

	return prov_install(f->h, a->label,
	    prov_path(f, cert, sizeof(cert), a->cert),
	    prov_path(f, root, sizeof(root), a->root), a->data, a->tenant,
	    a->name);
}

static int
install(struct prov_fx *f, const char *label, const char *cert,
    const char *tenant, const char *name, char *out, size_t size)
{
	struct inst a = { label, cert, "ca/root.pem", tenant, name, "" };

	prov_path(f, a.data, sizeof(a.data), "data");
	return prov_child(f, run_install, &a, out, size);
}

static void
test_install_named(void **state)
{
	struct prov_fx *f = *state;
	struct hsm_key *rk, *ik;
	X509 *root, *inter, *other, *got;
	char out[4096], p[600];

	assert_int_equal(prov_dev_ca(f->h, f->dir), 0);
	assert_int_equal(install(f, "signet-intermediate",
			     "ca/intermediate.pem", "acme", "issuing", out,
			     sizeof(out)),
	    0);
	assert_out(out, "/data/ca/acme/issuing.pem");
	assert_out(out, "key = \"signet-intermediate\"");
	root = prov_read(prov_path(f, p, sizeof(p), "ca/root.pem"));
	inter = prov_read(prov_path(f, p, sizeof(p), "ca/intermediate.pem"));
	got = prov_read(prov_path(f, p, sizeof(p), "data/ca/acme/issuing.pem"));
	assert_int_equal(X509_cmp(got, inter), 0);
	X509_free(got);
	got = prov_read(
	    prov_path(f, p, sizeof(p), "data/ca/acme/issuing.chain.pem"));
	assert_int_equal(X509_cmp(got, root), 0);
	X509_free(got);
	assert_int_equal(prov_mode(p), 0644);

	/* Again with the same certificate: already there, exit 0. */
	assert_int_equal(install(f, "signet-intermediate",
			     "ca/intermediate.pem", "acme", "issuing", out,
			     sizeof(out)),
	    0);
	assert_out(out, "issuing.pem: already installed");

	/* Another certificate for the same key under that name: refused,
	 * the installed one stays. */
	rk = prov_key(f, "signet-dev-root");
	ik = prov_key(f, "signet-intermediate");
	other = prov_cert("Another Intermediate", hsm_key_public(ik), root,
	    hsm_key_evp(rk), "critical,CA:TRUE,pathlen:0",
	    "critical,keyCertSign,cRLSign", NULL);
	prov_write(prov_path(f, p, sizeof(p), "other.pem"), other);
	assert_int_equal(install(f, "signet-intermediate", "other.pem", "acme",
			     "issuing", out, sizeof(out)),
	    1);
	assert_out(out,
	    "issuing.pem exists and differs; "
	    "refusing to overwrite it");
	got = prov_read(prov_path(f, p, sizeof(p), "data/ca/acme/issuing.pem"));
	assert_int_equal(X509_cmp(got, inter), 0);
	X509_free(got);
	/* Under another issuer name it goes in beside the first. */
	assert_int_equal(install(f, "signet-intermediate", "other.pem", "acme",
			     "issuing-2", out, sizeof(out)),
	    0);
	got = prov_read(
	    prov_path(f, p, sizeof(p), "data/ca/acme/issuing-2.pem"));
	assert_int_equal(X509_cmp(got, other), 0);
	X509_free(got);

	/* Unnamed: the development layout. */
	assert_int_equal(install(f, "signet-intermediate",
			     "ca/intermediate.pem", NULL, NULL, out,
			     sizeof(out)),
	    0);
	got = prov_read(prov_path(f, p, sizeof(p), "data/ca/intermediate.pem"));
	X509_free(got);
	got = prov_read(prov_path(f, p, sizeof(p), "data/ca/root.pem"));
	X509_free(got);

	X509_free(other);
	X509_free(root);
	X509_free(inter);
	hsm_key_free(rk);
	hsm_key_free(ik);
}

static void
test_install_refusals(void **state)
{
	struct prov_fx *f = *state;
	struct hsm_key *ak;
	X509 *leaf;
	char out[4096], p[600];

	assert_int_equal(prov_dev_ca(f->h, f->dir), 0);
	/* A tenant without an issuer name, or a name with a slash. */
	assert_int_equal(install(f, "signet-intermediate",
			     "ca/intermediate.pem", "acme", NULL, out,
			     sizeof(out)),
	    2);
	assert_out(out, "give both -T tenant and -n issuer-name");
	assert_int_equal(install(f, "signet-intermediate",
			     "ca/intermediate.pem", "../etc", "issuing", out,
			     sizeof(out)),
	    2);
	assert_out(out, "tenant and issuer names: letters");
	/* The certificate of another key. */
	assert_int_equal(install(f, "signet-dev-operators",
			     "ca/intermediate.pem", "acme", "issuing", out,
			     sizeof(out)),
	    1);
	assert_out(out,
	    "does not certify token key "
	    "\"signet-dev-operators\"");
	/* A key the token does not hold. */
	assert_int_equal(install(f, "nosuchkey", "ca/intermediate.pem", "acme",
			     "issuing", out, sizeof(out)),
	    1);
	assert_out(out, "key \"nosuchkey\"");
	/* Not chaining to the root given. */
	assert_int_equal(install(f, "signet-dev-operators", "ca/operators.pem",
			     "acme", "ops", out, sizeof(out)),
	    1);
	assert_out(out, "does not chain to");
	/* Not a CA. */
	ak = prov_key(f, "signet-audit");
	leaf = prov_cert("not a ca", hsm_key_public(ak), NULL, hsm_key_evp(ak),
	    "critical,CA:FALSE", "critical,digitalSignature", NULL);
	prov_write(prov_path(f, p, sizeof(p), "leaf.pem"), leaf);
	assert_int_equal(install(f, "signet-audit", "leaf.pem", "acme", "leaf",
			     out, sizeof(out)),
	    1);
	assert_out(out, "is not a CA certificate");
	/* Not a certificate at all. */
	assert_int_equal(install(f, "signet-audit", "tls/server.key", "acme",
			     "leaf", out, sizeof(out)),
	    1);
	assert_out(out, "not a PEM certificate");
	/* Nothing was written by a refusal. */
	assert_int_equal(prov_mode(prov_path(f, p, sizeof(p), "data")), -1);
	X509_free(leaf);
	hsm_key_free(ak);
}

static int
run_csr(struct prov_fx *f, const void *arg)
{
	char out[600];

	return prov_csr(f->h, "signet-intermediate", arg,
	    prov_path(f, out, sizeof(out), "int.csr"));
}

static int
run_csr_nodir(struct prov_fx *f, const void *arg)
{
	char out[600];

	return prov_csr(f->h, "signet-intermediate", arg,
	    prov_path(f, out, sizeof(out), "no-such-dir/int.csr"));
}

static void
test_csr(void **state)
{
	struct prov_fx *f = *state;
	struct hsm_key *k = prov_key(f, "signet-intermediate");
	X509_REQ *req;
	EVP_PKEY *pub;
	FILE *fp;
	char out[4096], p[600], cn[64];

	assert_int_equal(prov_child(f, run_csr, "/O=Example/CN=Example CA", out,
			     sizeof(out)),
	    0);
	assert_non_null(fp = fopen(prov_path(f, p, sizeof(p), "int.csr"), "r"));
	assert_non_null(req = PEM_read_X509_REQ(fp, NULL, NULL, NULL));
	fclose(fp);
	assert_non_null(pub = X509_REQ_get0_pubkey(req));
	assert_int_equal(EVP_PKEY_eq(pub, hsm_key_public(k)), 1);
	assert_int_equal(X509_REQ_verify(req, pub), 1);
	assert_true(X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req),
			NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "Example CA");
	X509_REQ_free(req);
	/* Never over an existing file; a malformed subject is named. */
	assert_int_equal(prov_child(f, run_csr, "/CN=Again", out, sizeof(out)),
	    2);
	assert_out(out, "refusing to overwrite");
	unlink(p);
	assert_int_equal(prov_child(f, run_csr, "/O=Example/CN", out,
			     sizeof(out)),
	    2);
	assert_out(out, "subject component \"CN\" has no '='");
	/* A directory that is not there is named as such, not as a file
	 * that would have been overwritten. */
	assert_int_equal(prov_child(f, run_csr_nodir, "/CN=Example CA", out,
			     sizeof(out)),
	    2);
	assert_out(out, "No such file or directory");
	assert_null(strstr(out, "overwrite"));
	hsm_key_free(k);
}

/*
 * A chain file larger than any fixed read buffer (a root with a long list
 * of name constraints, over 64 KiB of PEM) installed twice: the second
 * run compares the whole file and says "already installed" (it once read
 * 64 KiB and called an identical file different).
 */
static void
test_install_big_chain(void **state)
{
	struct prov_fx *f = *state;
	struct hsm_key *rk, *ik;
	X509 *root, *inter;
	char out[4096], p[600], *nc;
	size_t i, off = 0, size = 4000 * 40;

	rk = prov_key(f, "big-root");
	ik = prov_key(f, "signet-intermediate");
	assert_non_null(nc = malloc(size));
	for (i = 0; i < 4000; i++)
		off += (size_t)snprintf(nc + off, size - off,
		    "%spermitted;DNS:host-%04zu.example.com", i ? "," : "", i);
	root = prov_cert("Big Root", hsm_key_public(rk), NULL,
	    hsm_key_evp(rk), "critical,CA:TRUE", "critical,keyCertSign,cRLSign",
	    nc);
	free(nc);
	inter = prov_cert("Big Intermediate", hsm_key_public(ik), root,
	    hsm_key_evp(rk), "critical,CA:TRUE,pathlen:0",
	    "critical,keyCertSign,cRLSign", NULL);
	assert_non_null(root);
	assert_non_null(inter);
	assert_int_equal(mkdir(prov_path(f, p, sizeof(p), "ca"), 0755), 0);
	prov_write(prov_path(f, p, sizeof(p), "ca/root.pem"), root);
	prov_write(prov_path(f, p, sizeof(p), "big.pem"), inter);
	assert_int_equal(install(f, "signet-intermediate", "big.pem", "big",
			     "issuing", out, sizeof(out)),
	    0);
	{
		struct stat sb;

		assert_int_equal(stat(prov_path(f, p, sizeof(p),
		    "data/ca/big/issuing.chain.pem"), &sb), 0);
		assert_true(sb.st_size > 65536);
	}
	assert_int_equal(install(f, "signet-intermediate", "big.pem", "big",
			     "issuing", out, sizeof(out)),
	    0);
	assert_out(out, "issuing.chain.pem: already installed");
	assert_out(out, "issuing.pem: already installed");
	X509_free(root);
	X509_free(inter);
	hsm_key_free(rk);
	hsm_key_free(ik);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test_setup_teardown(test_dev_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_named, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_install_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_csr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_big_chain, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
