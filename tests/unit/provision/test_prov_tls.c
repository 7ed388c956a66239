/*
 * signet-provision tls, operator and config against a real SoftHSMv2
 * token: a server name outside the intermediate's name constraints is
 * refused before anything is written, identities are never overwritten
 * by different ones, and the signetd.conf that config writes is one
 * firmware/config accepts, naming the installed issuers and operators.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/x509v3.h>

#include <signet/sconf.h>

#include "prov.h"
#include "provtest.h"

#define NC "critical,permitted;DNS:.example.com"

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

/*
 * A ceremony-like PKI: root.pem (key "root") and int.pem (key "int",
 * permitted DNS subtree .example.com), installed as acme/issuing.
 */
static void
pki(struct prov_fx *f)
{
	struct hsm_key *rk = prov_key(f, "root"), *ik = prov_key(f, "int");
	X509 *root, *inter;
	char p[600];

	root = prov_cert("Test Root", hsm_key_public(rk), NULL, hsm_key_evp(rk),
	    "critical,CA:TRUE", "critical,keyCertSign,cRLSign", NULL);
	inter = prov_cert("Test Issuing", hsm_key_public(ik), root,
	    hsm_key_evp(rk), "critical,CA:TRUE,pathlen:0",
	    "critical,keyCertSign,cRLSign", NC);
	prov_write(prov_path(f, p, sizeof(p), "root.pem"), root);
	prov_write(prov_path(f, p, sizeof(p), "int.pem"), inter);
	X509_free(root);
	X509_free(inter);
	hsm_key_free(rk);
	hsm_key_free(ik);
}

struct tls {
	const char *names, *data;
};

static int
run_tls(struct prov_fx *f, const void *arg)
{
	const struct tls *a = arg;
	char iss[600], chain[600], data[600];

	return prov_tls(f->h, "int", prov_path(f, iss, sizeof(iss), "int.pem"),
	    prov_path(f, chain, sizeof(chain), "root.pem"), a->names,
	    prov_path(f, data, sizeof(data), a->data));
}

static int
tls(struct prov_fx *f, const char *names, const char *data, char *out,
    size_t size)
{
	struct tls a = { names, data };

	return prov_child(f, run_tls, &a, out, size);
}

static void
test_tls(void **state)
{
	struct prov_fx *f = *state;
	X509 *srv, *root, *inter;
	char out[4096], p[600];

	pki(f);
	assert_int_equal(tls(f, "ca.example.com,10.0.0.1", "data", out,
			     sizeof(out)),
	    0);
	assert_out(out, "server.pem (key ");
	srv = prov_read(prov_path(f, p, sizeof(p), "data/tls/server.pem"));
	root = prov_read(prov_path(f, p, sizeof(p), "root.pem"));
	inter = prov_read(prov_path(f, p, sizeof(p), "int.pem"));
	assert_int_equal(X509_check_ca(srv), 0);
	assert_int_equal(X509_get_extended_key_usage(srv), XKU_SSL_SERVER);
	assert_int_equal(X509_check_host(srv, "ca.example.com", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(srv, "10.0.0.1", 0), 1);
	assert_int_equal(prov_verify(srv, inter, root, X509_PURPOSE_SSL_SERVER),
	    X509_V_OK);
	assert_int_equal(prov_mode(
			     prov_path(f, p, sizeof(p), "data/tls/server.key")),
	    0600);
	assert_int_equal(prov_mode(prov_path(f, p, sizeof(p), "data/tls")),
	    0700);

	/* Again for the same names: kept, exit 0. */
	assert_int_equal(tls(f, "ca.example.com,10.0.0.1", "data", out,
			     sizeof(out)),
	    0);
	assert_out(out, "already made for these names by this issuer");
	/* Other names: refused, the first identity stays. */
	assert_int_equal(tls(f, "www.example.com", "data", out, sizeof(out)),
	    1);
	assert_out(out,
	    "exists with other names or another issuer; "
	    "refusing to overwrite it");
	X509_free(inter);
	inter = prov_read(prov_path(f, p, sizeof(p), "data/tls/server.pem"));
	assert_int_equal(X509_cmp(inter, srv), 0);
	X509_free(srv);
	X509_free(root);
	X509_free(inter);
}

static void
test_tls_refusals(void **state)
{
	struct prov_fx *f = *state;
	char out[4096], p[600];

	pki(f);
	/* Outside the permitted subtree: named, and nothing written. */
	assert_int_equal(tls(f, "ca.example.org", "data", out, sizeof(out)), 1);
	assert_out(out,
	    "ca.example.org: outside the intermediate's name "
	    "constraints");
	assert_int_equal(prov_mode(prov_path(f, p, sizeof(p), "data")), -1);
	/* The bare constraint name is not under ".example.com" either. */
	assert_int_equal(tls(f, "example.com", "data", out, sizeof(out)), 1);
	assert_out(out, "outside the intermediate's name constraints");
	/* Neither a DNS name nor an address. */
	assert_int_equal(tls(f, "ca.example.com,bad_name", "data", out,
			     sizeof(out)),
	    2);
	assert_out(out,
	    "\"bad_name\" is neither a DNS name nor an IP "
	    "address");
	assert_int_equal(tls(f, "a..example.com", "data", out, sizeof(out)), 2);
	assert_out(out, "neither a DNS name");
	assert_int_equal(prov_mode(prov_path(f, p, sizeof(p), "data")), -1);
}

static int
run_operator(struct prov_fx *f, const void *arg)
{
	char data[600];

	return prov_operator(f->h, "opca", arg,
	    prov_path(f, data, sizeof(data), "data"));
}

static void
test_operator(void **state)
{
	struct prov_fx *f = *state;
	X509 *ca, *op;
	char out[4096], p[600];

	assert_int_equal(prov_child(f, run_operator, "alice", out, sizeof(out)),
	    0);
	assert_out(out, "generated operator CA key \"opca\"");
	assert_out(out, "client \"alice\" {\n\tcn = \"alice\"");
	ca = prov_read(prov_path(f, p, sizeof(p), "data/ca/operators.pem"));
	op = prov_read(prov_path(f, p, sizeof(p), "data/operator/alice.pem"));
	assert_int_equal(X509_check_ca(ca), 1);
	assert_int_equal(X509_get_pathlen(ca), 0);
	assert_int_equal(X509_get_key_usage(ca),
	    KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_int_equal(X509_check_ca(op), 0);
	assert_int_equal(X509_get_extended_key_usage(op), XKU_SSL_CLIENT);
	assert_int_equal(prov_verify(op, NULL, ca, X509_PURPOSE_SSL_CLIENT),
	    X509_V_OK);
	assert_int_equal(prov_mode(prov_path(f, p, sizeof(p),
			     "data/operator/alice.key")),
	    0600);

	/* A second operator under the same CA. */
	assert_int_equal(prov_child(f, run_operator, "bob", out, sizeof(out)),
	    0);
	assert_out(out, "operators.pem: the operator CA, already made");
	/* Names that are not path components. */
	assert_int_equal(prov_child(f, run_operator, "../x", out, sizeof(out)),
	    2);
	assert_out(out, "operator name: letters, digits");
	X509_free(ca);
	X509_free(op);
}

struct cfg {
	const char *data, *out;
};

static int
run_config(struct prov_fx *f, const void *arg)
{
	const struct cfg *a = arg;
	char data[600], pin[600], out[600];

	return prov_config(f->h, f->tok.module, f->tok.label,
	    prov_path(f, pin, sizeof(pin), "pin"),
	    prov_path(f, data, sizeof(data), a->data), "https://ca.example.com",
	    prov_path(f, out, sizeof(out), a->out));
}

static int
config(struct prov_fx *f, const char *out, char *buf, size_t size)
{
	struct cfg a = { "data", out };

	return prov_child(f, run_config, &a, buf, size);
}

struct inst {
	const char *tenant, *name;
};

static int
run_install(struct prov_fx *f, const void *arg)
{
	const struct inst *a = arg;
	char cert[600], root[600], data[600];

	return prov_install(f->h, "int",
	    prov_path(f, cert, sizeof(cert), "int.pem"),
	    prov_path(f, root, sizeof(root), "root.pem"),
	    prov_path(f, data, sizeof(data), "data"), a->tenant, a->name);
}

static void
test_config(void **state)
{
	struct prov_fx *f = *state;
	const struct inst named = { "acme", "issuing" };
	const struct sconf_tenant *t;
	const struct sconf_profile *pr;
	const struct sconf_issuer *is;
	struct sconf *c = NULL;
	char out[8192], err[512], p[600];
	struct hsm_key *k;
	FILE *fp;

	pki(f);
	/* Before tls and operator: refused, naming the verb that helps. */
	assert_int_equal(config(f, "signetd.conf", out, sizeof(out)), 1);
	assert_out(out,
	    "tls/server.pem missing (signet-provision tls "
	    "makes it)");
	assert_int_equal(prov_child(f, run_install, &named, out, sizeof(out)),
	    0);
	assert_int_equal(tls(f, "ca.example.com", "data", out, sizeof(out)), 0);
	assert_int_equal(config(f, "signetd.conf", out, sizeof(out)), 1);
	assert_out(out,
	    "ca/operators.pem missing (signet-provision operator "
	    "makes it)");
	assert_int_equal(prov_child(f, run_operator, "alice", out, sizeof(out)),
	    0);
	assert_non_null(fp = fopen(prov_path(f, p, sizeof(p), "pin"), "w"));
	fputs(TEST_USER_PIN "\n", fp);
	fclose(fp);
	chmod(p, 0600);

	assert_int_equal(config(f, "signetd.conf", out, sizeof(out)), 0);
	assert_out(out, "generated the audit checkpoint key \"signet-audit\"");
	assert_out(out, "1 issuer(s)");
	prov_path(f, p, sizeof(p), "signetd.conf");
	assert_int_equal(prov_mode(p), 0644);
	if (sconf_load(p, &c, err, sizeof(err)) != 0)
		fail_msg("signetd.conf refused: %s", err);
	assert_non_null(t = sconf_tenant(c, "acme"));
	assert_non_null(is = sconf_issuer(t, "issuing"));
	assert_string_equal(is->key_label, "int");
	assert_non_null(strstr(is->cert_file, "/data/ca/acme/issuing.pem"));
	assert_non_null(strstr(is->chain_file,
	    "/data/ca/acme/"
	    "issuing.chain.pem"));
	/* The example profile's domains are the permitted subtree. */
	assert_non_null(pr = sconf_profile(t, "service"));
	assert_int_equal(pr->domains.n, 1);
	assert_string_equal(pr->domains.v[0], "example.com");
	assert_string_equal(pr->est_label, "acme-service");
	assert_string_equal(c->est_default, "acme/service");
	assert_string_equal(c->token_label, f->tok.label);
	assert_string_equal(c->audit_key_label, "signet-audit");
	assert_int_equal(c->nclients, 1);
	assert_string_equal(c->clients[0].match_cn, "alice");
	assert_string_equal(c->clients[0].role, "operator");
	assert_non_null(strstr(c->url_crl, "https://ca.example.com/crl/"));
	sconf_free(c);
	assert_int_equal(hsm_key_find(f->h, "signet-audit", NULL, 0, &k),
	    HSM_OK);
	hsm_key_free(k);

	/* Never over an existing file. */
	assert_int_equal(config(f, "signetd.conf", out, sizeof(out)), 1);
	assert_out(out, "signetd.conf exists: refusing to overwrite it");
}

static void
test_config_foreign_key(void **state)
{
	struct prov_fx *f = *state;
	const struct inst named = { "acme", "issuing" };
	struct hsm_key *ok;
	X509 *x;
	EVP_PKEY *soft;
	char out[4096], p[600];

	pki(f);
	assert_int_equal(prov_child(f, run_install, &named, out, sizeof(out)),
	    0);
	assert_int_equal(tls(f, "ca.example.com", "data", out, sizeof(out)), 0);
	assert_int_equal(prov_child(f, run_operator, "alice", out, sizeof(out)),
	    0);
	/* An issuer whose key is not in the token: named, no file. */
	assert_non_null(soft = EVP_EC_gen("P-256"));
	ok = prov_key(f, "root");
	x = prov_cert("Foreign", soft, NULL, soft, "critical,CA:TRUE",
	    "critical,keyCertSign", NULL);
	prov_write(prov_path(f, p, sizeof(p), "data/ca/acme/foreign.pem"), x);
	prov_write(prov_path(f, p, sizeof(p), "data/ca/acme/foreign.chain.pem"),
	    x);
	assert_int_equal(config(f, "signetd.conf", out, sizeof(out)), 1);
	assert_out(out, "foreign.pem: its key is not in the token");
	assert_int_equal(prov_mode(prov_path(f, p, sizeof(p), "signetd.conf")),
	    -1);
	/* A certificate without its chain file. */
	unlink(prov_path(f, p, sizeof(p), "data/ca/acme/foreign.chain.pem"));
	assert_int_equal(config(f, "signetd.conf", out, sizeof(out)), 1);
	assert_out(out, "foreign.pem has no chain file");
	X509_free(x);
	EVP_PKEY_free(soft);
	hsm_key_free(ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_operator, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_foreign_key, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
