/*
 * Shared helpers of the firmware/ca unit tests: vector files, keys,
 * certificates and a tenant with a software or token issuer.
 */
#ifndef SIGNET_CA_TEST_H
#define SIGNET_CA_TEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <signet/ca.h>

/* Reads tests/data/ca/NAME; aborts the test if it is missing. */
uint8_t *ca_test_read(const char *name, size_t *len);
EVP_PKEY *ca_test_key(const char *name);
X509 *ca_test_cert(const char *name);
/* Adds extension nid=val (OpenSSL's config syntax) to x as issuer would. */
void ca_test_add_ext(X509 *x, X509 *issuer, int nid, const char *val);

/* A tenant "a" with profile "web" for example.com, "b" for tenant-b.test. */
struct ca_test_env {
	struct ca_signer *signer;
	struct ca_issuer issuer;
	struct ca_profile web, ip, wild, uri, refuse;
	struct ca_tenant a;
	struct ca_profile b_web;
	struct ca_tenant b;
	X509 *root;
};
/* signer NULL: a software signer over tests/data/ca/keys/inter.key. */
void ca_test_env_init(struct ca_test_env *e, struct ca_signer *signer,
    X509 *issuer_cert);
void ca_test_env_free(struct ca_test_env *e);

#endif
