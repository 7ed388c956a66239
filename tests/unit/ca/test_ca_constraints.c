/*
 * Issuer constraints (issue 13): name matching as OpenSSL's verifier
 * does it (each case also asked of OpenSSL's NAME_CONSTRAINTS_check), the
 * commonName a verifier reads as a DNS name, and issuance under a chain
 * with name constraints, an extended key usage and a path length.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <signet/ca.h>

#include "ca_test.h"

struct nc_case {
	enum ca_nc_type t;
	const char *name;	/* IP: dotted */
	const char *base;	/* IP: "addr/mask" in OpenSSL's syntax */
	int want;
};

static const struct nc_case nc_cases[] = {
	/* DNS: label boundary, leading dot, case, empty base. */
	{ CA_NC_DNS, "corp.example.com", "corp.example.com", 1 },
	{ CA_NC_DNS, "db.corp.example.com", "corp.example.com", 1 },
	{ CA_NC_DNS, "xcorp.example.com", "corp.example.com", 0 },
	{ CA_NC_DNS, "db.corp.example.com", ".corp.example.com", 1 },
	{ CA_NC_DNS, "corp.example.com", ".corp.example.com", 0 },
	{ CA_NC_DNS, "DB.Corp.Example.COM", "corp.example.com", 1 },
	{ CA_NC_DNS, "*.corp.example.com", "corp.example.com", 1 },
	{ CA_NC_DNS, "example.com", "corp.example.com", 0 },
	{ CA_NC_DNS, "anything.test", "", 1 },
	/* email: mailbox, host, domain below. */
	{ CA_NC_EMAIL, "ann@example.com", "ann@example.com", 1 },
	{ CA_NC_EMAIL, "Ann@example.com", "ann@example.com", 0 },
	{ CA_NC_EMAIL, "ann@EXAMPLE.com", "ann@example.com", 1 },
	{ CA_NC_EMAIL, "bob@example.com", "example.com", 1 },
	{ CA_NC_EMAIL, "bob@mail.example.com", "example.com", 0 },
	{ CA_NC_EMAIL, "bob@mail.example.com", ".example.com", 1 },
	{ CA_NC_EMAIL, "bob@example.com", ".example.com", 0 },
	{ CA_NC_EMAIL, "bob@example.com", "@example.com", 1 },
	{ CA_NC_EMAIL, "no-at-sign", "example.com", -1 },
	/* URI: the host, port and path cut off. */
	{ CA_NC_URI, "https://api.example.com/x", "api.example.com", 1 },
	{ CA_NC_URI, "https://api.example.com:8443/x", "api.example.com", 1 },
	{ CA_NC_URI, "https://api.example.com/x", "example.com", 0 },
	{ CA_NC_URI, "https://api.example.com/x", ".example.com", 1 },
	{ CA_NC_URI, "spiffe://example.com/ns/a", ".example.com", 0 },
	{ CA_NC_URI, "spiffe://EXAMPLE.com/ns/a", "example.com", 1 },
	{ CA_NC_URI, "urn:uuid:1234", "example.com", -1 },
	/* IP: under the mask, never v4 against v6. */
	{ CA_NC_IP, "10.1.2.3", "10.0.0.0/255.0.0.0", 1 },
	{ CA_NC_IP, "11.1.2.3", "10.0.0.0/255.0.0.0", 0 },
	{ CA_NC_IP, "127.0.0.66", "127.0.0.66/255.255.255.255", 1 },
	{ CA_NC_IP, "127.0.0.67", "127.0.0.66/255.255.255.255", 0 },
	{ CA_NC_IP, "2001:db8::1", "2001:db8::/ffff:ffff::", 1 },
	{ CA_NC_IP, "2001:db9::1", "2001:db8::/ffff:ffff::", 0 },
	{ CA_NC_IP, "10.1.2.3", "::/::", 0 },
};

static const char *const gen_name[] = { "DNS", "email", "URI", "IP" };

/* OpenSSL's verdict: a certificate with that one SAN under that base. */
static int
openssl_verdict(const struct nc_case *c)
{
	char san[600], nc[600];
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	NAME_CONSTRAINTS *ncs;
	X509 *x = X509_new();
	int rc;

	assert_non_null(x);
	snprintf(san, sizeof(san), "%s:%s", gen_name[c->t], c->name);
	snprintf(nc, sizeof(nc), "permitted;%s:%s", gen_name[c->t], c->base);
	X509V3_set_ctx(&ctx, NULL, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_name_constraints, nc);
	if (ext == NULL)
		fail_msg("OpenSSL cannot encode %s", nc);
	ncs = X509V3_EXT_d2i(ext);
	assert_non_null(ncs);
	X509_check_purpose(x, -1, 0);
	rc = NAME_CONSTRAINTS_check(x, ncs);
	NAME_CONSTRAINTS_free(ncs);
	X509_EXTENSION_free(ext);
	X509_free(x);
	return rc == X509_V_OK ? 1 : rc == X509_V_ERR_PERMITTED_VIOLATION ?
	    0 : -1;
}

/* The base as the DER contents a certificate carries. */
static size_t
base_bytes(const struct nc_case *c, uint8_t *out)
{
	char a[64];
	const char *slash;
	ASN1_OCTET_STRING *o;
	size_t n;

	if (c->t != CA_NC_IP) {
		memcpy(out, c->base, strlen(c->base));
		return strlen(c->base);
	}
	slash = strchr(c->base, '/');
	memcpy(a, c->base, (size_t)(slash - c->base));
	a[slash - c->base] = '\0';
	o = a2i_IPADDRESS(a);
	assert_non_null(o);
	n = (size_t)ASN1_STRING_length(o);
	memcpy(out, ASN1_STRING_get0_data(o), n);
	ASN1_OCTET_STRING_free(o);
	o = a2i_IPADDRESS(slash + 1);
	assert_non_null(o);
	memcpy(out + n, ASN1_STRING_get0_data(o), n);
	ASN1_OCTET_STRING_free(o);
	return 2 * n;
}

static void
test_match(void **state)
{
	const struct nc_case *c;
	uint8_t name[64], base[64];
	ASN1_OCTET_STRING *ip;
	size_t i, nl, bl;
	int got;

	(void)state;
	for (i = 0; i < sizeof(nc_cases) / sizeof(nc_cases[0]); i++) {
		c = &nc_cases[i];
		if (c->t == CA_NC_IP) {
			ip = a2i_IPADDRESS(c->name);
			assert_non_null(ip);
			nl = (size_t)ASN1_STRING_length(ip);
			memcpy(name, ASN1_STRING_get0_data(ip), nl);
			ASN1_OCTET_STRING_free(ip);
		} else {
			nl = strlen(c->name);
			memcpy(name, c->name, nl);
		}
		bl = base_bytes(c, base);
		got = ca_nc_within(c->t, name, nl, base, bl);
		if (got != c->want)
			fail_msg("%s %s under %s: %d, want %d",
			    gen_name[c->t], c->name, c->base, got, c->want);
		/* OpenSSL's configuration syntax has no empty base. */
		if (c->base[0] != '\0' && openssl_verdict(c) != c->want)
			fail_msg("OpenSSL differs on %s %s under %s",
			    gen_name[c->t], c->name, c->base);
	}
}

static void
test_cn_dnsid(void **state)
{
	static const struct { const char *cn; int want; } v[] = {
		{ "web.example.com", 1 }, { "127.0.0.1", 1 },
		{ "a_b.example", 1 }, { "localhost", 0 }, { "My Service", 0 },
		{ ".example.com", 0 }, { "example.com.", 0 },
		{ "a..example", 0 }, { "a-.example", 0 }, { "*.example.com", 0 },
		{ "-a.example", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (ca_cn_is_dnsid((const uint8_t *)v[i].cn,
		    strlen(v[i].cn)) != v[i].want)
			fail_msg("%s: want %d", v[i].cn, v[i].want);
}

static EVP_PKEY *
keygen(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

/* A CA certificate for key, signed by ikey/issuer (NULL: self-signed). */
static X509 *
mkca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    const char *bc, const char *nc, const char *eku)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400);
	X509_set_pubkey(x, key);
	ca_test_add_ext(x, issuer ? issuer : x, NID_basic_constraints, bc);
	ca_test_add_ext(x, issuer ? issuer : x, NID_key_usage,
	    "critical,keyCertSign,cRLSign");
	ca_test_add_ext(x, issuer ? issuer : x, NID_subject_key_identifier,
	    "hash");
	if (nc != NULL)
		ca_test_add_ext(x, issuer ? issuer : x, NID_name_constraints,
		    nc);
	if (eku != NULL)
		ca_test_add_ext(x, issuer ? issuer : x, NID_ext_key_usage, eku);
	assert_true(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0);
	return x;
}

/* A DER CSR for a fresh key with CN and SANs ("DNS:a,IP:b"). */
static uint8_t *
mkcsr(const char *cn, const char *san, size_t *len)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509V3_CTX ctx;
	EVP_PKEY *k = keygen();
	uint8_t *der = NULL;
	int l;

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(r, n);
	X509_REQ_set_pubkey(r, k);
	X509V3_set_ctx(&ctx, NULL, NULL, r, NULL, 0);
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_subject_alt_name, san));
	X509_REQ_add_extensions(r, exts);
	assert_true(X509_REQ_sign(r, k, EVP_sha256()) > 0);
	l = i2d_X509_REQ(r, &der);
	assert_true(l > 0);
	*len = (size_t)l;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return der;
}

struct chain {
	EVP_PKEY *rkey, *ikey;
	X509 *root, *inter;
	struct ca_signer *signer;
	struct ca_issuer iss;
	struct ca_profile web;
	struct ca_tenant t;
};

static void
chain_init(struct chain *c, const char *root_bc, const char *nc,
    const char *eku)
{
	struct ca_err err;

	memset(c, 0, sizeof(*c));
	c->rkey = keygen();
	c->ikey = keygen();
	c->root = mkca("NC Root", c->rkey, NULL, NULL, root_bc, NULL, NULL);
	c->inter = mkca("NC Issuing", c->ikey, c->root, c->rkey,
	    "critical,CA:TRUE,pathlen:0", nc, eku);
	assert_int_equal(ca_signer_evp(c->ikey, &c->signer), CA_OK);
	assert_int_equal(ca_issuer_init(&c->iss, "nc", c->signer, c->inter,
	    &c->root, 1, &err), CA_OK);
	assert_int_equal(ca_profile_init(&c->web, "web", &c->iss), CA_OK);
	assert_int_equal(ca_profile_add_domain(&c->web, "example.com"),
	    CA_OK);
	assert_int_equal(ca_profile_add_domain(&c->web, "example.org"),
	    CA_OK);
	assert_int_equal(ca_profile_add_cidr(&c->web, "10.0.0.0/8"), CA_OK);
	assert_int_equal(ca_profile_add_uri_pattern(&c->web,
	    "spiffe://example.com/*"), CA_OK);
	assert_int_equal(ca_profile_add_role(&c->web, "service"), CA_OK);
	c->web.flags |= CA_P_IP_SANS;
	assert_int_equal(ca_tenant_init(&c->t, "t"), CA_OK);
	assert_int_equal(ca_tenant_add_issuer(&c->t, &c->iss), CA_OK);
	assert_int_equal(ca_tenant_add_profile(&c->t, &c->web), CA_OK);
}

static void
chain_free(struct chain *c)
{
	ca_issuer_clear(&c->iss);
	ca_signer_free(c->signer);
	X509_free(c->root);
	X509_free(c->inter);
	EVP_PKEY_free(c->rkey);
	EVP_PKEY_free(c->ikey);
}

static int
issue(struct chain *c, const char *cn, const char *san,
    struct ca_result *res, struct ca_err *err)
{
	struct ca_evidence ev = { "service", NULL };
	struct ca_request req;
	size_t len;
	uint8_t *csr = mkcsr(cn, san, &len);
	int rc;

	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.csr_len = len;
	req.tenant = &c->t;
	req.profile = "web";
	req.evidence = &ev;
	rc = ca_issue(&req, NULL, res, NULL, err);
	OPENSSL_free(csr);
	return rc;
}

/* The verifier's word on an issued certificate. */
static int
verifies(struct chain *c, const struct ca_result *res)
{
	const unsigned char *p = res->cert;
	X509 *leaf = d2i_X509(NULL, &p, (long)res->cert_len);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *un = sk_X509_new_null();
	int ok;

	assert_non_null(leaf);
	X509_STORE_add_cert(st, c->root);
	sk_X509_push(un, c->inter);
	X509_STORE_CTX_init(ctx, st, leaf, un);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_free(un);
	X509_free(leaf);
	return ok;
}

static void
refused(struct chain *c, const char *cn, const char *san, const char *msg)
{
	struct ca_result res;
	struct ca_err err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(issue(c, cn, san, &res, &err), CA_ERR_POLICY);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", san, err.msg, msg);
}

static void
test_issue_nc(void **state)
{
	struct chain c;
	struct ca_result res;
	struct ca_err err;

	(void)state;
	chain_init(&c, "critical,CA:TRUE", "critical,permitted;DNS:example.com,"
	    "permitted;IP:10.0.0.0/255.255.0.0,permitted;URI:example.com,"
	    "excluded;DNS:.corp.example.com,excluded;IP:10.0.0.66/"
	    "255.255.255.255", "serverAuth,clientAuth");
	assert_int_equal(issue(&c, "web.example.com", "DNS:web.example.com,"
	    "IP:10.0.1.2,URI:spiffe://example.com/a", &res, &err), CA_OK);
	assert_true(verifies(&c, &res));
	ca_result_free(&res);
	refused(&c, "db.corp.example.com", "DNS:db.corp.example.com",
	    "name db.corp.example.com violates the issuer's excluded subtree "
	    ".corp.example.com");
	refused(&c, "web.example.org", "DNS:web.example.org",
	    "name web.example.org is outside the issuer's permitted DNS "
	    "subtrees (example.com)");
	refused(&c, "a.example.com", "DNS:a.example.com,IP:10.0.0.66",
	    "IP address 10.0.0.66 violates the issuer's excluded subtree "
	    "10.0.0.66/32");
	refused(&c, "a.example.com", "DNS:a.example.com,IP:10.1.0.1",
	    "IP address 10.1.0.1 is outside the issuer's permitted IP "
	    "subtrees (10.0.0.0/16)");
	refused(&c, "10.0.1.2", "IP:10.0.1.2", "commonName (a DNS name to "
	    "verifiers");
	chain_free(&c);
}

static void
test_issue_eku_pathlen(void **state)
{
	struct chain c;
	struct ca_result res;
	struct ca_err err;

	(void)state;
	/* The profile's serverAuth is not among the intermediate's. */
	chain_init(&c, "critical,CA:TRUE", NULL, "clientAuth");
	refused(&c, "a.example.com", "DNS:a.example.com", "extKeyUsage "
	    "serverAuth of profile web is outside the issuer's extKeyUsage "
	    "(clientAuth)");
	assert_int_equal(ca_chain_check_profile(&c.web, &err), CA_ERR_POLICY);
	c.web.ext_key_usage = CA_EKU_CLIENT_AUTH;
	assert_int_equal(issue(&c, "a.example.com", "DNS:a.example.com", &res,
	    &err), CA_OK);
	ca_result_free(&res);
	chain_free(&c);
	/* A root with pathlen 0 cannot have the intermediate below it. */
	chain_init(&c, "critical,CA:TRUE,pathlen:0", NULL, NULL);
	refused(&c, "a.example.com", "DNS:a.example.com", "pathLenConstraint "
	    "0");
	chain_free(&c);
}

/* The linter's own check (OpenSSL's) over bytes the policy never saw. */
static void
test_lint(void **state)
{
	struct chain open, nc;
	struct ca_result res;
	struct ca_err err;
	const unsigned char *p;
	unsigned char *tbs = NULL;
	X509 *x;
	int len;

	(void)state;
	chain_init(&open, "critical,CA:TRUE", NULL, NULL);
	chain_init(&nc, "critical,CA:TRUE", "critical,excluded;DNS:.corp."
	    "example.com", NULL);
	assert_int_equal(issue(&open, "db.corp.example.com",
	    "DNS:db.corp.example.com", &res, &err), CA_OK);
	p = res.cert;
	x = d2i_X509(NULL, &p, (long)res.cert_len);
	assert_non_null(x);
	len = i2d_re_X509_tbs(x, &tbs);
	assert_true(len > 0);
	assert_int_equal(ca_lint_tbs_issued(tbs, (size_t)len, &open.iss,
	    &err), CA_OK);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ca_lint_tbs_issued(tbs, (size_t)len, &nc.iss, &err),
	    CA_ERR_POLICY);
	assert_string_equal(err.lint, "e_signet_issuer_name_constraints");
	assert_non_null(strstr(err.msg, "excluded subtree violation"));
	OPENSSL_free(tbs);
	X509_free(x);
	ca_result_free(&res);
	chain_free(&open);
	chain_free(&nc);
}

static void
test_domain_warning(void **state)
{
	struct chain c;
	struct ca_err err;

	(void)state;
	chain_init(&c, "critical,CA:TRUE", "critical,permitted;DNS:example."
	    "com,excluded;DNS:.corp.example.com", NULL);
	/* example.com: fine; example.org: outside; corp: below excluded. */
	assert_int_equal(ca_chain_check_domain(&c.web, 0, &err), CA_OK);
	assert_int_equal(ca_chain_check_domain(&c.web, 1, &err),
	    CA_ERR_POLICY);
	assert_int_equal(ca_profile_add_domain(&c.web, "corp.example.com"),
	    CA_OK);
	c.web.flags &= ~CA_P_BARE_DOMAINS;
	assert_int_equal(ca_chain_check_domain(&c.web, 2, &err),
	    CA_ERR_POLICY);
	assert_non_null(strstr(err.msg, "excluded subtree .corp.example.com"));
	/* A permitted subtree below the domain still leaves names. */
	assert_int_equal(ca_profile_add_domain(&c.web, "com"), CA_OK);
	assert_int_equal(ca_chain_check_domain(&c.web, 3, &err), CA_OK);
	chain_free(&c);
}

/* keyEncipherment only for RSA, keyAgreement only for EC (ca_profile_ku). */
static void
test_profile_ku(void **state)
{
	struct ca_profile p;
	const unsigned enc = CA_KU_KEY_ENCIPHERMENT | CA_KU_DATA_ENCIPHERMENT;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.key_usage = CA_KU_DIGITAL_SIGNATURE | enc | CA_KU_KEY_AGREEMENT;
	assert_int_equal(ca_profile_ku(&p, CA_KEY_KIND_RSA),
	    CA_KU_DIGITAL_SIGNATURE | enc);
	assert_int_equal(ca_profile_ku(&p, CA_KEY_KIND_EC),
	    CA_KU_DIGITAL_SIGNATURE | CA_KU_KEY_AGREEMENT);
	assert_int_equal(ca_profile_ku(&p, CA_KEY_KIND_ED25519),
	    CA_KU_DIGITAL_SIGNATURE);
	p.key_usage = CA_KU_KEY_ENCIPHERMENT;
	assert_int_equal(ca_profile_ku(&p, CA_KEY_KIND_EC), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_cn_dnsid),
		cmocka_unit_test(test_issue_nc),
		cmocka_unit_test(test_issue_eku_pathlen),
		cmocka_unit_test(test_lint),
		cmocka_unit_test(test_domain_warning),
		cmocka_unit_test(test_profile_ku),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
