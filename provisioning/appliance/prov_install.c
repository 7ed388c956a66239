/*
 * The appliance side of the root ceremony: `signet-provision csr` writes
 * the intermediate CSR for the key in the appliance token (the private key
 * never leaves it; the CSR is signed through the token), and
 * `signet-provision install` takes the certificate the ceremony signed,
 * checks that it holds the token key's public half, is a CA, and chains to
 * the root, and only then writes it where signetd.conf expects it.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <signet/hsm.h>

#include "prov.h"

static struct hsm_key *
token_key(struct hsm *h, const char *label)
{
	struct hsm_key *k = NULL;
	int rc;

	if ((rc = hsm_key_find(h, label, NULL, 0, &k)) != HSM_OK)
		errx(rc == HSM_ERR_NO_KEY ? 1 : 2, "key \"%s\": %s", label,
		    hsm_strerror(rc));
	if (hsm_key_evp(k) == NULL)
		errx(1, "key \"%s\" (%s) cannot sign a CSR here", label,
		    hsm_key_type_name(hsm_key_type(k)));
	return k;
}

int
prov_csr(struct hsm *h, const char *label, const char *subject,
    const char *out)
{
	struct hsm_key *k = token_key(h, label);
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = NULL;
	FILE *f;

	if (req == NULL)
		errx(2, "out of memory");
	/* "/O=Example/CN=Example Issuing CA" */
	if (subject[0] != '/' ||
	    (n = X509_NAME_new()) == NULL)
		errx(2, "subject must look like /O=Org/CN=Name");
	{
		char *s = strdup(subject), *p = s + 1, *next, *eq;

		for (; p != NULL && *p != '\0'; p = next) {
			if ((next = strchr(p, '/')) != NULL)
				*next++ = '\0';
			if ((eq = strchr(p, '=')) == NULL)
				errx(2, "subject component \"%s\" has no '='", p);
			*eq = '\0';
			if (!X509_NAME_add_entry_by_txt(n, p, MBSTRING_UTF8,
			    (const unsigned char *)eq + 1, -1, -1, 0))
				errx(2, "subject attribute \"%s\" unknown", p);
		}
		free(s);
	}
	X509_REQ_set_version(req, 0);
	X509_REQ_set_subject_name(req, n);
	X509_REQ_set_pubkey(req, hsm_key_public(k));
	if (X509_REQ_sign(req, hsm_key_evp(k), EVP_sha256()) <= 0)
		errx(2, "signing the CSR in the token failed");
	if ((f = fopen(out, "wx")) == NULL)
		err(2, "%s (refusing to overwrite)", out);
	PEM_write_X509_REQ(f, req);
	fclose(f);
	printf("wrote %s: CSR for token key \"%s\", subject %s\n", out, label,
	    subject);
	X509_NAME_free(n);
	X509_REQ_free(req);
	hsm_key_free(k);
	return 0;
}

static X509 *
read_pem(const char *path)
{
	X509 *x = NULL;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		err(2, "%s", path);
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		errx(1, "%s: not a PEM certificate", path);
	fclose(f);
	return x;
}

static void
write_pem(const char *dir, const char *name, X509 *x)
{
	char path[1024], tmp[1100];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((f = fopen(tmp, "w")) == NULL || !PEM_write_X509(f, x))
		err(2, "%s", tmp);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		err(2, "%s", path);
	printf("installed %s\n", path);
}

int
prov_install(struct hsm *h, const char *label, const char *cert_path,
    const char *root_path, const char *data)
{
	struct hsm_key *k = token_key(h, label);
	X509 *cert = read_pem(cert_path), *root = read_pem(root_path);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	char dir[1024];

	/* The certificate must hold the key in this token, nothing else. */
	if (EVP_PKEY_eq(X509_get0_pubkey(cert), hsm_key_public(k)) != 1)
		errx(1, "%s does not certify token key \"%s\"", cert_path, label);
	if (X509_check_ca(cert) != 1)
		errx(1, "%s is not a CA certificate (basicConstraints)",
		    cert_path);
	if (st == NULL || ctx == NULL || !X509_STORE_add_cert(st, root) ||
	    !X509_STORE_CTX_init(ctx, st, cert, NULL))
		errx(2, "out of memory");
	if (X509_verify_cert(ctx) != 1)
		errx(1, "%s does not chain to %s: %s", cert_path, root_path,
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	snprintf(dir, sizeof(dir), "%s/ca", data);
	if (access(dir, W_OK) != 0)
		err(2, "%s", dir);
	write_pem(dir, "intermediate.pem", cert);
	write_pem(dir, "root.pem", root);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(cert);
	X509_free(root);
	hsm_key_free(k);
	return 0;
}
