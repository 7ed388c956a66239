#include "ca_test.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static void
ca_test_path(char *buf, size_t size, const char *name)
{
	const char *src = getenv("SIGNET_SOURCE_DIR");

	snprintf(buf, size, "%s/tests/data/ca/%s", src ? src : ".", name);
}

uint8_t *
ca_test_read(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	uint8_t *buf;
	long n;

	ca_test_path(path, sizeof(path), name);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

EVP_PKEY *
ca_test_key(const char *name)
{
	char path[1024];
	FILE *f;
	EVP_PKEY *k;

	ca_test_path(path, sizeof(path), name);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("cannot open %s", path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

X509 *
ca_test_cert(const char *name)
{
	char path[1024];
	FILE *f;
	X509 *x;

	ca_test_path(path, sizeof(path), name);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("cannot open %s", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static void
ca_test_profile(struct ca_profile *p, const char *name,
    const struct ca_issuer *iss, const char *domain)
{
	assert_int_equal(ca_profile_init(p, name, iss), CA_OK);
	assert_int_equal(ca_profile_add_domain(p, domain), CA_OK);
	assert_int_equal(ca_profile_add_role(p, "service"), CA_OK);
	p->key_types = CA_KEY_ALL;
}

void
ca_test_env_init(struct ca_test_env *e, struct ca_signer *signer,
    X509 *cert)
{
	struct ca_err err;
	EVP_PKEY *k;
	X509 *own = NULL;

	memset(e, 0, sizeof(*e));
	if (signer == NULL) {
		k = ca_test_key("keys/inter.key");
		assert_int_equal(ca_signer_evp(k, &e->signer), CA_OK);
		EVP_PKEY_free(k);
		signer = e->signer;
		cert = own = ca_test_cert("inter.pem");
	}
	e->root = ca_test_cert("root.pem");
	assert_int_equal(ca_issuer_init(&e->issuer, "inter", signer, cert,
	    &e->root, 1, &err), CA_OK);
	X509_free(own);
	assert_int_equal(ca_issuer_set_urls(&e->issuer,
	    "http://ca.example.com/inter.der", "http://ocsp.example.com",
	    "http://crl.example.com/inter.crl"), CA_OK);
	assert_int_equal(ca_tenant_init(&e->a, "a"), CA_OK);
	assert_int_equal(ca_tenant_add_issuer(&e->a, &e->issuer), CA_OK);
	ca_test_profile(&e->web, "web", &e->issuer, "example.com");
	assert_int_equal(ca_profile_set_subject(&e->web, CA_ATTR_O, "Acme"),
	    CA_OK);
	assert_int_equal(ca_profile_set_subject(&e->web, CA_ATTR_C, "DE"),
	    CA_OK);
	ca_test_profile(&e->ip, "ip", &e->issuer, "example.com");
	e->ip.flags |= CA_P_IP_SANS;
	assert_int_equal(ca_profile_add_cidr(&e->ip, "10.0.0.0/8"), CA_OK);
	ca_test_profile(&e->wild, "wild", &e->issuer, "example.com");
	e->wild.flags |= CA_P_WILDCARDS;
	ca_test_profile(&e->uri, "uri", &e->issuer, "example.com");
	assert_int_equal(ca_profile_add_uri_pattern(&e->uri,
	    "spiffe://example.com/ns/*/sa/*"), CA_OK);
	ca_test_profile(&e->refuse, "refuse", &e->issuer, "example.com");
	e->refuse.on_issuer_expiry = CA_EXPIRY_REFUSE;
	assert_int_equal(ca_tenant_add_profile(&e->a, &e->web), CA_OK);
	assert_int_equal(ca_tenant_add_profile(&e->a, &e->ip), CA_OK);
	assert_int_equal(ca_tenant_add_profile(&e->a, &e->wild), CA_OK);
	assert_int_equal(ca_tenant_add_profile(&e->a, &e->uri), CA_OK);
	assert_int_equal(ca_tenant_add_profile(&e->a, &e->refuse), CA_OK);
	/* Tenant b shares the issuer here but has its own domain. */
	assert_int_equal(ca_tenant_init(&e->b, "b"), CA_OK);
	assert_int_equal(ca_tenant_add_issuer(&e->b, &e->issuer), CA_OK);
	ca_test_profile(&e->b_web, "web", &e->issuer, "tenant-b.test");
	assert_int_equal(ca_tenant_add_profile(&e->b, &e->b_web), CA_OK);
}

void
ca_test_env_free(struct ca_test_env *e)
{
	ca_issuer_clear(&e->issuer);
	ca_signer_free(e->signer);
	X509_free(e->root);
}

void
ca_test_add_ext(X509 *x, X509 *issuer, int nid, const char *val)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, val);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}
