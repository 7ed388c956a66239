/*
 * The appliance side of the root ceremony: `signet-provision csr` writes
 * the intermediate CSR for the key in the appliance token (the private key
 * never leaves it; the CSR is signed through the token), and
 * `signet-provision install` takes the certificate the ceremony signed,
 * checks that it holds the token key's public half, is a CA, and chains to
 * the root, and only then writes it where signetd.conf expects it.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
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
		char *s, *p, *next, *eq;

		if ((s = strdup(subject)) == NULL)
			errx(2, "out of memory");
		for (p = s + 1; p != NULL && *p != '\0'; p = next) {
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
	if ((f = fopen(out, "wx")) == NULL) {
		if (errno == EEXIST)
			errx(2, "%s exists: refusing to overwrite it", out);
		err(2, "%s", out);
	}
	if (PEM_write_X509_REQ(f, req) != 1 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0 || fclose(f) != 0) {
		(void)unlink(out);
		errx(2, "%s: cannot write the CSR", out);
	}
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

/* mkdir -p for the few levels install writes (data/ca/tenant). */
static void
make_dir(const char *dir)
{
	if (mkdir(dir, 0755) == 0)
		printf("created directory %s\n", dir);
	else if (errno != EEXIST)
		err(2, "%s: cannot create the directory", dir);
}

/*
 * 1 if the file at path holds exactly buf[0..len), compared chunk by
 * chunk so a file of any size (a large chain) is compared whole.
 */
static int
same_file(const char *path, const uint8_t *buf, size_t len)
{
	uint8_t cur[8192];
	size_t n, off = 0;
	FILE *f;
	int same = 1;

	if ((f = fopen(path, "r")) == NULL)
		err(2, "%s", path);
	while (same && (n = fread(cur, 1, sizeof(cur), f)) > 0) {
		if (n > len - off || memcmp(cur, buf + off, n) != 0)
			same = 0;
		else
			off += n;
	}
	if (ferror(f))
		err(2, "%s", path);
	fclose(f);
	return same && off == len;
}

/*
 * Writes x as PEM to path, never over another file: an identical file is
 * already installed (0, so install can run again), a different one is
 * refused (1).  The file appears whole (a temporary file linked in).
 */
static int
write_pem(const char *path, X509 *x)
{
	char tmp[1100];
	uint8_t *buf = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	long blen;
	FILE *f;
	int fd, rc = 2;

	if (b == NULL || !PEM_write_bio_X509(b, x) ||
	    (blen = BIO_get_mem_data(b, (char **)&buf)) <= 0)
		errx(2, "out of memory");
	if (access(path, F_OK) == 0) {
		if (same_file(path, buf, (size_t)blen)) {
			printf("%s: already installed\n", path);
			rc = 0;
		} else {
			warnx("%s exists and differs; refusing to overwrite "
			    "it (install under another issuer name)", path);
			rc = 1;
		}
		BIO_free(b);
		return rc;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp))
		errx(2, "%s: path too long", path);
	if ((fd = mkstemp(tmp)) == -1 || fchmod(fd, 0644) == -1 ||
	    (f = fdopen(fd, "w")) == NULL)
		err(2, "%s", tmp);
	if (fwrite(buf, 1, (size_t)blen, f) != (size_t)blen ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0) {
		(void)unlink(tmp);
		err(2, "%s", tmp);
	}
	if (link(tmp, path) == -1) {
		warn("%s", path);
		(void)unlink(tmp);
		BIO_free(b);
		return errno == EEXIST ? 1 : 2;
	}
	(void)unlink(tmp);
	BIO_free(b);
	printf("installed %s\n", path);
	return 0;
}

/*
 * tenant and name NULL: <data>/ca/intermediate.pem and root.pem (one
 * issuer, the development layout).  Else <data>/ca/<tenant>/<name>.pem
 * and <name>.chain.pem (its root), so a data directory holds any number
 * of issuers per tenant.
 */
int
prov_install(struct hsm *h, const char *label, const char *cert_path,
    const char *root_path, const char *data, const char *tenant,
    const char *name)
{
	struct hsm_key *k = token_key(h, label);
	X509 *cert = read_pem(cert_path), *root = read_pem(root_path);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	char dir[1024], cpath[1200], rpath[1200];
	int rc;

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
	if ((tenant == NULL) != (name == NULL))
		errx(2, "give both -T tenant and -n issuer-name, or neither");
	if (tenant != NULL && (!prov_name_ok(tenant) || !prov_name_ok(name)))
		errx(2, "tenant and issuer names: letters, digits, '-', '_', "
		    "'.' (not first), at most 64");
	make_dir(data);
	snprintf(dir, sizeof(dir), "%s/ca", data);
	make_dir(dir);
	if (tenant != NULL) {
		snprintf(dir, sizeof(dir), "%s/ca/%s", data, tenant);
		make_dir(dir);
		snprintf(cpath, sizeof(cpath), "%s/%s.pem", dir, name);
		snprintf(rpath, sizeof(rpath), "%s/%s.chain.pem", dir, name);
	} else {
		snprintf(cpath, sizeof(cpath), "%s/intermediate.pem", dir);
		snprintf(rpath, sizeof(rpath), "%s/root.pem", dir);
	}
	/* The chain first: a certificate never sits without its chain. */
	if ((rc = write_pem(rpath, root)) != 0 ||
	    (rc = write_pem(cpath, cert)) != 0)
		exit(rc);
	if (tenant != NULL)
		printf("\nin signetd.conf (signet-provision config writes it):\n"
		    "tenant \"%s\" {\n\tissuer \"%s\" {\n\t\tkey = \"%s\"\n"
		    "\t\tcert = \"%s\"\n\t\tchain = \"%s\"\n\t}\n}\n",
		    tenant, name, label, cpath, rpath);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(cert);
	X509_free(root);
	hsm_key_free(k);
	return 0;
}

int
prov_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}
