/*
 * `signet-provision tls` and `operator`: the two identities an appliance
 * under a ceremony root needs besides its issuers (issue 18).
 *
 * tls: the HTTPS/DTLS server identity, a P-256 key in a 0600 file and a
 * certificate issued by an installed intermediate whose key is in the
 * token.  The certificate is checked by OpenSSL's verifier against the
 * intermediate's chain before anything is written, so a name outside the
 * intermediate's name constraints is refused, not discovered by clients.
 *
 * operator: the first operator credential.  Trust is rooted in an operator
 * CA whose key is in the token (self-signed, data/ca/operators.pem, listed
 * in signetd.conf's tls.client_ca); it issues a client certificate for a
 * named operator (data/operator/<name>.{pem,key}), mapped to the operator
 * role by a `client` block matching its CN.
 *
 * Both refuse to overwrite: a file that exists ends the verb with exit 0
 * if it is what the verb would make (same names, same issuer), else 1.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <signet/hsm.h>

#include "prov.h"

#define DAY (24L * 3600)

void
prov_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(x, e, -1))
		errx(2, "extension %s=%s", OBJ_nid2sn(nid), value);
	X509_EXTENSION_free(e);
}

static X509 *
cert_new(const char *cn, EVP_PKEY *pub, X509 *issuer, long days,
    const char *bc, const char *ku, const char *eku, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char serial[16];
	BIGNUM *bn;

	if (x == NULL || n == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		errx(2, "out of memory");
	serial[0] = (serial[0] & 0x7f) | 0x01;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, X509_VERSION_3);
	if (!X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0))
		errx(2, "name \"%s\" refused", cn);
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
	return x;
}

static X509 *
load(const char *path)
{
	X509 *x;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		err(2, "%s", path);
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		errx(1, "%s: not a PEM certificate", path);
	fclose(f);
	return x;
}

static struct hsm_key *
find_key(struct hsm *h, const char *label)
{
	struct hsm_key *k = NULL;
	int rc;

	if ((rc = hsm_key_find(h, label, NULL, 0, &k)) != HSM_OK)
		errx(rc == HSM_ERR_NO_KEY ? 1 : 2, "key \"%s\": %s", label,
		    hsm_strerror(rc));
	if (hsm_key_evp(k) == NULL)
		errx(1, "key \"%s\" cannot sign here", label);
	return k;
}

static void
make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0)
		printf("created directory %s\n", path);
	else if (errno != EEXIST)
		err(2, "%s: cannot create the directory", path);
}

/* A new file, never over an old one; mode from the caller. */
static FILE *
new_file(const char *path, mode_t mode)
{
	FILE *f;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) == -1)
		err(errno == EEXIST ? 1 : 2, "%s", path);
	if ((f = fdopen(fd, "w")) == NULL)
		err(2, "%s", path);
	return f;
}

static void
close_file(FILE *f, const char *path)
{
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)
		err(2, "%s", path);
}

/* 0 if x verifies to chain's last certificate with chain as the path. */
static int
verify(X509 *x, const char *chain_path, const char *issuer_path, int purpose,
    const char **why)
{
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc;

	if (untrusted == NULL || st == NULL || ctx == NULL ||
	    X509_STORE_load_file(st, chain_path) != 1)
		errx(2, "%s: cannot load the chain", chain_path);
	sk_X509_push(untrusted, load(issuer_path));
	if (!X509_STORE_CTX_init(ctx, st, x, untrusted))
		errx(2, "out of memory");
	X509_STORE_CTX_set_purpose(ctx, purpose);
	rc = X509_verify_cert(ctx) == 1 ? 0 : X509_STORE_CTX_get_error(ctx);
	*why = X509_verify_cert_error_string(rc);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_pop_free(untrusted, X509_free);
	return rc;
}

static int
inet_pton_any(const char *s, unsigned char *ip)
{
	return inet_pton(AF_INET, s, ip) == 1 || inet_pton(AF_INET6, s, ip) == 1;
}

/* Letters, digits, '-' and dots between labels; "*." only in front. */
static int
prov_dns_ok(const char *s)
{
	size_t i, n = strlen(s), label = 0;

	if (strncmp(s, "*.", 2) == 0)
		s += 2, n -= 2;
	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-') || ++label > 63)
			return 0;
	}
	return label > 0;
}

/* "a.example.com,10.0.0.1" -> "DNS:a.example.com,IP:10.0.0.1" */
static void
san_of(const char *names, char *out, size_t size)
{
	char *dup = strdup(names), *p, *save = NULL;
	size_t used = 0;
	int n;
	unsigned char ip[16];

	if (dup == NULL)
		errx(2, "out of memory");
	out[0] = '\0';
	for (p = strtok_r(dup, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		int isip = inet_pton_any(p, ip);

		if (!isip && !prov_dns_ok(p))
			errx(2, "\"%s\" is neither a DNS name nor an IP "
			    "address", p);
		n = snprintf(out + used, size - used, "%s%s:%s",
		    used ? "," : "", isip ? "IP" : "DNS", p);
		if (n < 0 || (size_t)n >= size - used)
			errx(2, "too many names");
		used += (size_t)n;
	}
	free(dup);
	if (used == 0)
		errx(2, "no names");
}

static char *
san_text(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	X509_EXTENSION *e;
	char *p, *out = NULL;
	long n;
	int i;

	if (b == NULL)
		return NULL;
	if ((i = X509_get_ext_by_NID(x, NID_subject_alt_name, -1)) >= 0 &&
	    (e = X509_get_ext(x, i)) != NULL && X509V3_EXT_print(b, e, 0, 0) &&
	    (n = BIO_get_mem_data(b, &p)) > 0)
		out = strndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

/* An existing identity: 0 if it is what we would make, else exit 1. */
static int
existing(const char *path, X509 *issuer, X509 *want)
{
	X509 *have = load(path);
	char *a = san_text(have), *b = san_text(want);
	int same = X509_check_issued(issuer, have) == X509_V_OK &&
	    X509_NAME_cmp(X509_get_subject_name(have),
	    X509_get_subject_name(want)) == 0 &&
	    ((a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0));

	free(a);
	free(b);
	X509_free(have);
	if (!same)
		errx(1, "%s exists with other names or another issuer; "
		    "refusing to overwrite it", path);
	printf("%s: already made for these names by this issuer\n", path);
	return 0;
}

static void
write_identity(const char *keypath, const char *certpath, EVP_PKEY *key,
    X509 *cert, X509 *issuer)
{
	FILE *f;

	f = new_file(keypath, 0600);
	if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL))
		errx(2, "%s", keypath);
	close_file(f, keypath);
	if ((f = fopen(certpath, "wx")) == NULL) {
		(void)unlink(keypath);
		err(1, "%s", certpath);
	}
	if (!PEM_write_X509(f, cert) || (issuer != NULL &&
	    !PEM_write_X509(f, issuer))) {
		(void)unlink(keypath);
		(void)unlink(certpath);
		errx(2, "%s", certpath);
	}
	close_file(f, certpath);
	printf("wrote %s (key %s, mode 0600)\n", certpath, keypath);
}

int
prov_tls(struct hsm *h, const char *label, const char *issuer_path,
    const char *chain_path, const char *names, const char *data)
{
	struct hsm_key *k = find_key(h, label);
	X509 *iss = load(issuer_path), *x;
	EVP_PKEY *key;
	char san[2048], dir[1024], kpath[1100], cpath[1100], cn[256];
	const char *why, *comma;
	int rc;

	if (EVP_PKEY_eq(X509_get0_pubkey(iss), hsm_key_public(k)) != 1)
		errx(1, "%s does not certify token key \"%s\"", issuer_path,
		    label);
	san_of(names, san, sizeof(san));
	comma = strchr(names, ',');
	snprintf(cn, sizeof(cn), "%.*s", comma ? (int)(comma - names) :
	    (int)strlen(names), names);
	if ((key = EVP_EC_gen("P-256")) == NULL)
		errx(2, "key generation");
	x = cert_new(cn, key, iss, 365, "critical,CA:FALSE",
	    "critical,digitalSignature", "serverAuth", san);
	if (X509_sign(x, hsm_key_evp(k), EVP_sha256()) <= 0)
		errx(2, "the token refused to sign");
	/* Before anything is written: the verifier applies the name
	 * constraints of every CA in the chain. */
	if ((rc = verify(x, chain_path, issuer_path, X509_PURPOSE_SSL_SERVER,
	    &why)) != 0)
		errx(1, "%s: %s (%s)", names,
		    rc == X509_V_ERR_PERMITTED_VIOLATION ||
		    rc == X509_V_ERR_EXCLUDED_VIOLATION ?
		    "outside the intermediate's name constraints" :
		    "the server certificate would not verify", why);
	snprintf(dir, sizeof(dir), "%s", data);
	make_dir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/tls", data);
	make_dir(dir, 0700);
	snprintf(kpath, sizeof(kpath), "%s/server.key", dir);
	snprintf(cpath, sizeof(cpath), "%s/server.pem", dir);
	if (access(cpath, F_OK) == 0 || access(kpath, F_OK) == 0)
		rc = existing(cpath, iss, x);
	else
		write_identity(kpath, cpath, key, x, iss);
	EVP_PKEY_free(key);
	X509_free(x);
	X509_free(iss);
	hsm_key_free(k);
	return rc;
}

int
prov_operator(struct hsm *h, const char *label, const char *name,
    const char *data)
{
	struct hsm_keygen req = { .type = HSM_KEY_EC_P256, .label = label };
	struct hsm_key *k = NULL;
	X509 *ca, *x;
	EVP_PKEY *key;
	char dir[1024], capath[1100], kpath[1200], cpath[1200];
	FILE *f;
	int rc = 0;

	if (!prov_name_ok(name))
		errx(2, "operator name: letters, digits, '-', '_', '.'");
	if (hsm_key_find(h, label, NULL, 0, &k) != HSM_OK) {
		if ((rc = hsm_key_generate(h, &req, &k)) != HSM_OK)
			errx(2, "generating key \"%s\": %s", label,
			    hsm_strerror(rc));
		printf("generated operator CA key \"%s\" in the token\n",
		    label);
	}
	make_dir(data, 0755);
	snprintf(dir, sizeof(dir), "%s/ca", data);
	make_dir(dir, 0755);
	snprintf(capath, sizeof(capath), "%s/operators.pem", dir);
	if (access(capath, F_OK) == 0) {
		ca = load(capath);
		if (EVP_PKEY_eq(X509_get0_pubkey(ca), hsm_key_public(k)) != 1)
			errx(1, "%s certifies another key than \"%s\"; "
			    "refusing to overwrite it", capath, label);
		printf("%s: the operator CA, already made\n", capath);
	} else {
		ca = cert_new("Signet Operators", hsm_key_public(k), NULL,
		    5 * 365, "critical,CA:TRUE,pathlen:0",
		    "critical,keyCertSign,cRLSign", NULL, NULL);
		if (X509_sign(ca, hsm_key_evp(k), EVP_sha256()) <= 0)
			errx(2, "the token refused to sign");
		f = new_file(capath, 0644);
		if (!PEM_write_X509(f, ca))
			errx(2, "%s", capath);
		close_file(f, capath);
		printf("wrote %s: the operator CA (key \"%s\" in the "
		    "token)\n", capath, label);
	}
	snprintf(dir, sizeof(dir), "%s/operator", data);
	make_dir(dir, 0700);
	snprintf(kpath, sizeof(kpath), "%s/%s.key", dir, name);
	snprintf(cpath, sizeof(cpath), "%s/%s.pem", dir, name);
	if ((key = EVP_EC_gen("P-256")) == NULL)
		errx(2, "key generation");
	x = cert_new(name, key, ca, 365, "critical,CA:FALSE",
	    "critical,digitalSignature", "clientAuth", NULL);
	if (X509_sign(x, hsm_key_evp(k), EVP_sha256()) <= 0)
		errx(2, "the token refused to sign");
	if (access(cpath, F_OK) == 0 || access(kpath, F_OK) == 0)
		rc = existing(cpath, ca, x);
	else
		write_identity(kpath, cpath, key, x, NULL);
	printf("\nin signetd.conf: tls { client_ca = { \"%s\" } } and\n"
	    "client \"%s\" {\n\tcn = \"%s\"\n\tissuer_cert = { \"%s\" }\n"
	    "\trole = \"operator\"\n\ttenants = { \"*\" }\n}\n", capath, name,
	    name, capath);
	EVP_PKEY_free(key);
	X509_free(x);
	X509_free(ca);
	hsm_key_free(k);
	return rc;
}
