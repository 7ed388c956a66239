/*
 * Certificates and CRLs the ceremony builds (cer_x509.c).
 */
#ifndef SIGNET_CER_X509_H
#define SIGNET_CER_X509_H

#include <time.h>

#include <openssl/x509.h>

#include "cer.h"

struct hsm_key;

X509_NAME *cer_name(const struct cer_subject *s);
/* Digest and signature NID for a key: SHA-384 for P-384, else SHA-256. */
const EVP_MD *cer_md(EVP_PKEY *key, int *sig_nid);
int cer_dns_ok(const char *s);
/* Unsigned certificates (*out owned by the caller). */
int cer_root_build(const struct cer_conf *c, EVP_PKEY *pub, time_t now,
    X509 **out);
/* CER_FAIL if the intermediate would outlive the root. */
int cer_int_build(const struct cer_conf *c, X509 *root, EVP_PKEY *pub,
    time_t now, X509 **out);
/* A cross-certificate for other, a self-signed CA (cer_cross.c). */
int cer_cross_build(const struct cer_conf *c, X509 *root, X509 *other,
    time_t now, X509 **out);
/* Appends the name constraints of c to a plan at offset n; new offset. */
size_t cer_plan_constraints(const struct cer_conf *c, char *plan, size_t n,
    size_t size);
/* CABF BR 6.1.5 as the engine applies it: P-256, P-384, RSA >= 2048. */
int cer_key_ok(EVP_PKEY *k);
/* Lints the TBS, signs with key in the token, lints and verifies. */
/* Lints x's TBS as cer_cert_sign would, without signing (a dry run). */
int cer_cert_lint_tbs(X509 *x, EVP_PKEY *issuer_pub, const char *what);
int cer_cert_sign(X509 *x, struct hsm_key *key, EVP_PKEY *issuer_pub,
    const char *what);
/* The root CRL with st's revoked entries and st->crl_number. */
int cer_crl_build(const struct cer_conf *c, const struct cer_state *st,
    X509 *root, struct hsm_key *key, time_t now, X509_CRL **out);

#endif
