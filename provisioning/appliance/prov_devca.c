/*
 * `signet-provision dev-ca`: a complete development PKI for board/dev-host,
 * with every CA key inside the token:
 *
 *   signet-dev-root       self-signed root (10 years)  -> ca/root.pem
 *   signet-intermediate   intermediate (5 years, pathlen 0) -> ca/intermediate.pem
 *   signet-dev-operators  CA for operator client certs -> ca/operators.pem
 *   signet-audit          signs audit checkpoints (no certificate)
 *   signet-token-key      HMAC-SHA256 secret that derives enrollment-token
 *                         secrets and so their DTLS PSKs (docs/decisions.md)
 *
 * plus the HTTPS server's TLS identity (tls/server.{key,pem}, for
 * localhost and 127.0.0.1) and one operator client identity
 * (operator/operator.{key,pem}, CN signet-operator).  Those two keys are
 * not CA keys and live in 0600 files.  A real appliance gets its root from
 * the offline ceremony (tools/ceremony) instead of dev-ca.
 */
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <signet/hsm.h>

#include "prov.h"

#define DAY (24L * 3600)

static struct hsm_key *
key_get(struct hsm *h, const char *label, enum hsm_key_type type)
{
	struct hsm_keygen req = { .type = type, .label = label };
	struct hsm_key *k = NULL;
	int rc;

	if (hsm_key_find(h, label, NULL, 0, &k) == HSM_OK)
		return k;
	if ((rc = hsm_key_generate(h, &req, &k)) != HSM_OK)
		errx(2, "generating key \"%s\": %s", label, hsm_strerror(rc));
	printf("generated %s key \"%s\" in the token\n", hsm_key_type_name(type),
	    label);
	return k;
}

/* Builds and signs a certificate; issuer NULL means self-signed. */
static X509 *
make_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *signer,
    long days, const char *bc, const char *ku, const char *eku,
    const char *san)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char serial[16];
	BIGNUM *bn;

	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	serial[0] |= 0x01;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, X509_VERSION_3);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"Signet Dev", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), days * DAY);
	X509_set_pubkey(x, pub);
	prov_ext(x, issuer, NID_basic_constraints, bc);
	prov_ext(x, issuer, NID_key_usage, ku);
	if (eku != NULL)
		prov_ext(x, issuer, NID_ext_key_usage, eku);
	if (san != NULL)
		prov_ext(x, issuer, NID_subject_alt_name, san);
	prov_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		prov_ext(x, issuer, NID_authority_key_identifier,
		    "keyid:always");
	if (X509_sign(x, signer, EVP_sha256()) <= 0)
		errx(2, "signing the certificate for %s", cn);
	return x;
}

static void
write_cert(const char *dir, const char *name, X509 *x)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL || !PEM_write_X509(f, x))
		err(2, "%s", path);
	fclose(f);
	printf("wrote %s\n", path);
}

static X509 *
read_cert(const char *dir, const char *name)
{
	char path[1024];
	X509 *x = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	return x;
}

/* A software key for a TLS or client identity, in a new 0600 file. */
static EVP_PKEY *
file_key(const char *dir, const char *name)
{
	char path[1024];
	EVP_PKEY *k;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((k = EVP_EC_gen("P-256")) == NULL)
		errx(2, "key generation");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    (f = fdopen(fd, "w")) == NULL ||
	    !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL))
		err(2, "%s", path);
	fclose(f);
	return k;
}

static void
mkdirs(const char *data, const char *sub, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", data, sub);
	if (mkdir(out, 0700) == -1 && access(out, W_OK) != 0)
		err(2, "%s", out);
}

int
prov_dev_ca(struct hsm *h, const char *data)
{
	char ca[512], tls[512], op[512];
	struct hsm_key *root, *inter, *opca, *audit, *tokkey;
	X509 *rootc, *interc, *opc, *leaf;
	EVP_PKEY *k;

	mkdirs(data, "ca", ca, sizeof(ca));
	mkdirs(data, "tls", tls, sizeof(tls));
	mkdirs(data, "operator", op, sizeof(op));
	if ((rootc = read_cert(ca, "root.pem")) != NULL) {
		printf("%s/root.pem exists: dev PKI already provisioned\n", ca);
		X509_free(rootc);
		return 1;
	}
	root = key_get(h, "signet-dev-root", HSM_KEY_EC_P256);
	inter = key_get(h, "signet-intermediate", HSM_KEY_EC_P256);
	opca = key_get(h, "signet-dev-operators", HSM_KEY_EC_P256);
	audit = key_get(h, "signet-audit", HSM_KEY_EC_P256);
	tokkey = key_get(h, PROV_TOKEN_KEY_LABEL, HSM_KEY_HMAC_SHA256);
	rootc = make_cert("Signet Dev Root", hsm_key_public(root), NULL,
	    hsm_key_evp(root), 3650, "critical,CA:TRUE",
	    "critical,keyCertSign,cRLSign", NULL, NULL);
	interc = make_cert("Signet Dev Intermediate", hsm_key_public(inter),
	    rootc, hsm_key_evp(root), 5 * 365, "critical,CA:TRUE,pathlen:0",
	    "critical,keyCertSign,cRLSign", NULL, NULL);
	opc = make_cert("Signet Dev Operators", hsm_key_public(opca), NULL,
	    hsm_key_evp(opca), 5 * 365, "critical,CA:TRUE,pathlen:0",
	    "critical,keyCertSign,cRLSign", NULL, NULL);
	write_cert(ca, "root.pem", rootc);
	write_cert(ca, "intermediate.pem", interc);
	write_cert(ca, "operators.pem", opc);
	k = file_key(tls, "server.key");
	leaf = make_cert("localhost", k, interc, hsm_key_evp(inter), 90,
	    "critical,CA:FALSE", "critical,digitalSignature", "serverAuth",
	    "DNS:localhost,IP:127.0.0.1,IP:::1");
	write_cert(tls, "server.pem", leaf);
	X509_free(leaf);
	EVP_PKEY_free(k);
	k = file_key(op, "operator.key");
	leaf = make_cert("signet-operator", k, opc, hsm_key_evp(opca), 365,
	    "critical,CA:FALSE", "critical,digitalSignature", "clientAuth",
	    NULL);
	write_cert(op, "operator.pem", leaf);
	X509_free(leaf);
	EVP_PKEY_free(k);
	X509_free(rootc);
	X509_free(interc);
	X509_free(opc);
	hsm_key_free(root);
	hsm_key_free(inter);
	hsm_key_free(opca);
	hsm_key_free(audit);
	hsm_key_free(tokkey);
	return 0;
}
