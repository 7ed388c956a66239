#include "revoke_test.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

static X509 *
rv_cert_new(EVP_PKEY *pub, const char *cn, X509 *issuer, long days)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIGNUM *bn = BN_new();

	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(BN_rand(bn, 127, BN_RAND_TOP_ONE,
	    BN_RAND_BOTTOM_ANY), 1);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	X509_set_issuer_name(x, X509_get_subject_name(issuer));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), days * 86400);
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	return x;
}

/* The intermediate: the token key's public half, signed by the root. */
static X509 *
rv_make_inter(EVP_PKEY *pub)
{
	X509 *root = ca_test_cert("root.pem"), *x;
	EVP_PKEY *rk = ca_test_key("keys/root.key");

	x = rv_cert_new(pub, "Signet Revocation Test Intermediate", root,
	    5L * 365);
	ca_test_add_ext(x, root, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0");
	ca_test_add_ext(x, root, NID_key_usage, "critical,keyCertSign,cRLSign");
	ca_test_add_ext(x, root, NID_subject_key_identifier, "hash");
	ca_test_add_ext(x, root, NID_authority_key_identifier, "keyid");
	assert_true(X509_sign(x, rk, EVP_sha256()) > 0);
	EVP_PKEY_free(rk);
	X509_free(root);
	return x;
}

X509 *
rv_sign_cert(struct rv_fx *f, EVP_PKEY *pub, const char *cn,
    int ocsp_signing)
{
	X509 *x = rv_cert_new(pub, cn, f->inter, 30);

	ca_test_add_ext(x, f->inter, NID_basic_constraints,
	    "critical,CA:FALSE");
	ca_test_add_ext(x, f->inter, NID_key_usage,
	    "critical,digitalSignature");
	if (ocsp_signing) {
		ca_test_add_ext(x, f->inter, NID_ext_key_usage, "OCSPSigning");
		ca_test_add_ext(x, f->inter, NID_id_pkix_OCSP_noCheck,
		    "ignored");
	} else
		ca_test_add_ext(x, f->inter, NID_ext_key_usage, "serverAuth");
	ca_test_add_ext(x, f->inter, NID_authority_key_identifier, "keyid");
	assert_true(X509_sign(x, hsm_key_evp(f->key), EVP_sha256()) > 0);
	return x;
}

void
rv_setup(struct rv_fx *f)
{
	struct hsm_config cfg;
	struct hsm_keygen kg;
	char pin[] = TEST_USER_PIN;

	memset(f, 0, sizeof(*f));
	test_token_create(&f->tok, "revoke");
	memset(&cfg, 0, sizeof(cfg));
	cfg.module = f->tok.module;
	cfg.token_label = f->tok.label;
	assert_int_equal(hsm_open(&cfg, pin, strlen(pin), &f->hsm), HSM_OK);
	memset(&kg, 0, sizeof(kg));
	kg.type = HSM_KEY_EC_P256;
	kg.label = "inter";
	assert_int_equal(hsm_key_generate(f->hsm, &kg, &f->key), HSM_OK);
	assert_int_equal(ca_signer_hsm(f->key, &f->signer), CA_OK);
	f->inter = rv_make_inter(hsm_key_public(f->key));
	ca_test_env_init(&f->env, f->signer, f->inter);
	snprintf(f->db, sizeof(f->db), "%s/ledger.db", f->tok.dir);
	assert_int_equal(ledger_open("sqlite", f->db, &f->ledger), LEDGER_OK);
}

void
rv_reopen(struct rv_fx *f)
{
	ledger_close(f->ledger);
	f->ledger = NULL;
	assert_int_equal(ledger_open("sqlite", f->db, &f->ledger), LEDGER_OK);
}

void
rv_teardown(struct rv_fx *f)
{
	ledger_close(f->ledger);
	ca_test_env_free(&f->env);
	ca_signer_free(f->signer);
	X509_free(f->inter);
	hsm_key_free(f->key);
	hsm_close(f->hsm);
	test_token_destroy(&f->tok);
}

/* DESIGN rule 4: intent before the signature, commit before return. */
static int
rv_reserve(void *arg, const struct ca_issued *c)
{
	struct rv_fx *f = arg;
	struct ledger_intent in;

	memset(&in, 0, sizeof(in));
	in.serial.len = CA_SERIAL_LEN;
	memcpy(in.serial.b, c->serial, CA_SERIAL_LEN);
	in.tenant = c->tenant->name;
	in.issuer = c->profile->issuer->name;
	in.profile = c->profile->name;
	in.subject = "CN=www.example.com";
	in.sans = "www.example.com";
	in.requester = "test";
	in.not_before = c->not_before;
	in.not_after = c->not_after;
	in.store_der = 1;
	SHA256(c->tbs, c->tbs_len, in.tbs_hash);
	return ledger_reserve(f->ledger, &in);
}

static int
rv_commit(void *arg, const struct ca_issued *c)
{
	struct rv_fx *f = arg;
	struct ledger_serial s;
	struct audit_record a;

	s.len = CA_SERIAL_LEN;
	memcpy(s.b, c->serial, CA_SERIAL_LEN);
	memset(&a, 0, sizeof(a));
	a.actor = "test";
	a.role = "service";
	a.tenant = c->tenant->name;
	a.action = AUDIT_ISSUE;
	a.result = "ok";
	return ledger_commit(f->ledger, &s, c->cert, c->cert_len, &a);
}

X509 *
rv_issue(struct rv_fx *f, struct ledger_serial *serial)
{
	struct ca_evidence ev = { "service", NULL };
	struct ca_hooks hooks = { rv_reserve, rv_commit, f };
	struct ca_request req;
	struct ca_result res;
	struct ca_err err;
	const unsigned char *p;
	uint8_t *csr;
	size_t len;
	X509 *x;

	csr = ca_test_read("good_p256.der", &len);
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.csr_len = len;
	req.tenant = &f->env.a;
	req.profile = "web";
	req.evidence = &ev;
	if (ca_issue(&req, &hooks, &res, NULL, &err) != CA_OK)
		fail_msg("issue: %s", err.msg);
	p = res.cert;
	x = d2i_X509(NULL, &p, (long)res.cert_len);
	assert_non_null(x);
	if (serial != NULL) {
		serial->len = CA_SERIAL_LEN;
		memcpy(serial->b, res.serial, CA_SERIAL_LEN);
	}
	ca_result_free(&res);
	free(csr);
	return x;
}

void
rv_revoke(struct rv_fx *f, const struct ledger_serial *s, int reason)
{
	struct audit_record a;

	memset(&a, 0, sizeof(a));
	a.actor = "test";
	a.role = "operator";
	a.tenant = "a";
	a.action = AUDIT_REVOKE;
	a.result = "ok";
	assert_int_equal(ledger_revoke(f->ledger, "a", s, reason, 0, &a),
	    LEDGER_OK);
}

const char *
rv_path(struct rv_fx *f, const char *name)
{
	static char buf[4][800];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->tok.dir, name);
	return buf[i];
}

void
rv_write_pem(const char *path, X509 *x)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(PEM_write_X509(fp, x), 1);
	fclose(fp);
}

void
rv_write_chain(struct rv_fx *f)
{
	FILE *fp;

	rv_write_pem(rv_path(f, "root.pem"), f->env.root);
	rv_write_pem(rv_path(f, "inter.pem"), f->inter);
	fp = fopen(rv_path(f, "chain.pem"), "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_X509(fp, f->env.root), 1);
	assert_int_equal(PEM_write_X509(fp, f->inter), 1);
	fclose(fp);
}

void
rv_write_file(const char *path, const uint8_t *p, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, len, fp), len);
	fclose(fp);
}

uint8_t *
rv_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (fp == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}
