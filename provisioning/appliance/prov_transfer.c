/*
 * `signet-provision export-key` and `import-key`: one intermediate key in
 * the tokens of several appliances that share one ledger (docs/cluster.md).
 *
 * The key leaves a token only wrapped, by the ceremony's scheme
 * (tools/ceremony/cer_backup.c): a random AES-256 key-encryption key is
 * drawn in this process, imported by the SO into the token as a trusted,
 * non-extractable, wrap/unwrap-only key for the moment it is needed, and
 * destroyed again; its clear value is split 2-of-3 into share files at
 * once (the ceremony's share framing over libgfshare) and wiped.  The
 * intermediate key must have been generated wrappable (`keygen -B`:
 * CKA_EXTRACTABLE with CKA_WRAP_WITH_TRUSTED, so only a key the SO marked
 * trusted can wrap it).  On the receiving node the same KEK, rebuilt from
 * two shares, unwraps it into a private key with the attributes of a
 * generated one: sensitive, not extractable, sign only (no decrypt,
 * unwrap or derive), same label and id; its public object comes from the
 * issuer certificate, and a signature over a random challenge made in the
 * token must verify with that certificate before the run succeeds.
 *
 * The blob file:
 *   signet-wrapped-issuer 1
 *   type <p256|...> / label <key label> / id <hex> / kek <share secret id>
 *   cert-sha256 <SHA-256 of the issuer certificate DER>
 *   wrapped <base64 of CKM_AES_KEY_WRAP_PAD output>
 *
 * Exit 0 done (or already imported), 1 refused, 2 operational error.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <signet/hsm.h>

#include "cer.h"
#include "prov.h"

#define BLOB_MAGIC "signet-wrapped-issuer 1"

struct blob {
	char type[16], label[HSM_MAX_LABEL + 1], id[2 * HSM_MAX_ID + 1];
	char kek[2 * CER_SHARE_ID_LEN + 1], cert[65];
	uint8_t wrapped[HSM_MAX_WRAPPED];
	size_t len;
};

static X509 *
read_cert(const char *path)
{
	X509 *x;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		err(2, "%s", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		errx(1, "%s: not a PEM certificate", path);
	return x;
}

static void
cert_sum(X509 *x, char *out)
{
	uint8_t *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0)
		errx(2, "out of memory");
	cer_sha256_hex(der, (size_t)n, out);
	OPENSSL_free(der);
}

static struct hsm *
user_open(const struct prov_xfer *x)
{
	struct hsm_config cfg = { .module = x->module,
		.token_label = x->token, .pool_size = 1 };
	char pin[HSM_MAX_PIN];
	size_t len;
	struct hsm *h = NULL;
	int rc;

	if ((rc = hsm_pin_from_file(x->pin_file, pin, sizeof(pin), &len)) !=
	    HSM_OK) {
		warnx("%s: %s", x->pin_file, hsm_strerror(rc));
		return NULL;
	}
	if ((rc = hsm_open(&cfg, pin, len, &h)) != HSM_OK) {
		warnx("token \"%s\" in %s: %s", x->token, x->module,
		    hsm_strerror(rc));
		return NULL;
	}
	return h;
}

/* Imports kek as the SO; a KEK left by an interrupted run is destroyed. */
static int
kek_in(const struct prov_xfer *x, const char *so, size_t solen,
    const uint8_t *kek)
{
	int rc;

	rc = hsm_so_kek_import(x->module, x->token, so, solen,
	    PROV_XFER_KEK_LABEL, kek, CER_KEK_LEN);
	if (rc == HSM_ERR_EXISTS) {
		printf("removing the transfer KEK \"%s\" an interrupted run "
		    "left in token \"%s\"\n", PROV_XFER_KEK_LABEL, x->token);
		if ((rc = hsm_so_kek_destroy(x->module, x->token, so, solen,
		    PROV_XFER_KEK_LABEL)) == HSM_OK)
			rc = hsm_so_kek_import(x->module, x->token, so, solen,
			    PROV_XFER_KEK_LABEL, kek, CER_KEK_LEN);
	}
	if (rc == HSM_ERR_PIN) {
		warnx("token \"%s\" refused the SO PIN in %s", x->token,
		    x->so_pin_file);
		return 1;
	}
	if (rc != HSM_OK) {
		warnx("importing the transfer KEK into token \"%s\" as SO: %s",
		    x->token, hsm_strerror(rc));
		return 2;
	}
	return 0;
}

static int
kek_out(const struct prov_xfer *x, const char *so, size_t solen)
{
	int rc = hsm_so_kek_destroy(x->module, x->token, so, solen,
	    PROV_XFER_KEK_LABEL);

	if (rc != HSM_OK) {
		warnx("removing the transfer KEK \"%s\" from token \"%s\": %s "
		    "(run the verb again: it removes a KEK left behind)",
		    PROV_XFER_KEK_LABEL, x->token, hsm_strerror(rc));
		return 2;
	}
	return 0;
}

static void
share_path(const struct prov_xfer *x, const char *label, unsigned i,
    char *buf, size_t size)
{
	if ((size_t)snprintf(buf, size, "%s/%s.kek.%u.share", x->share_dir,
	    label, i) >= size)
		errx(2, "%s: path too long", x->share_dir);
}

/* Creates path (never over a file) with data, mode 0600. */
static int
write_new(const char *path, const void *data, size_t len)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1) {
		warn("%s", path);
		return -1;
	}
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		warn("%s", path);
		close(fd);
		(void)unlink(path);
		return -1;
	}
	return close(fd);
}

/* Nothing is written unless every output is absent. */
static void
export_check(const struct prov_xfer *x)
{
	char p[1100];
	unsigned i;

	if (access(x->blob, F_OK) == 0)
		errx(1, "%s exists: refusing to overwrite it", x->blob);
	if (mkdir(x->share_dir, 0700) == 0)
		printf("created directory %s\n", x->share_dir);
	else if (errno != EEXIST)
		err(2, "%s: cannot create the directory", x->share_dir);
	for (i = 1; i <= CER_CUSTODIANS; i++) {
		share_path(x, x->label, i, p, sizeof(p));
		if (access(p, F_OK) == 0)
			errx(1, "%s exists: refusing to overwrite it", p);
	}
}

/* The key to export: the certificate's, and wrappable. */
static void
export_key_info(const struct prov_xfer *x, X509 *cert, struct blob *b)
{
	struct hsm_key_info info;
	struct hsm_key *k = NULL;
	struct hsm *h;
	int rc;

	if ((h = user_open(x)) == NULL)
		exit(2);
	if ((rc = hsm_key_find(h, x->label, NULL, 0, &k)) != HSM_OK)
		errx(rc == HSM_ERR_NO_KEY ? 1 : 2, "key \"%s\": %s", x->label,
		    hsm_strerror(rc));
	if (hsm_key_public(k) == NULL ||
	    EVP_PKEY_eq(hsm_key_public(k), X509_get0_pubkey(cert)) != 1)
		errx(1, "%s does not certify token key \"%s\"", x->cert,
		    x->label);
	if ((rc = hsm_key_get_info(k, &info)) != HSM_OK)
		errx(2, "key \"%s\": %s", x->label, hsm_strerror(rc));
	if (!info.extractable)
		errx(1, "key \"%s\" was generated non-extractable (keygen "
		    "without -B): it can never leave token \"%s\"; give each "
		    "node an intermediate of its own instead (docs/cluster.md)",
		    x->label, x->token);
	snprintf(b->type, sizeof(b->type), "%s",
	    hsm_key_type_name(info.type));
	snprintf(b->label, sizeof(b->label), "%s", x->label);
	cer_hex(info.id, info.id_len, b->id);
	hsm_key_free(k);
	hsm_close(h);
}

/* Wraps the key under the transfer KEK the SO imported. */
static int
export_wrap(const struct prov_xfer *x, struct blob *b)
{
	struct hsm_key *k = NULL;
	struct hsm *h;
	int rc = 2, found = 0;

	if ((h = user_open(x)) == NULL)
		return 2;
	b->len = sizeof(b->wrapped);
	if ((rc = hsm_key_find(h, x->label, NULL, 0, &k)) != HSM_OK ||
	    (rc = hsm_kek_wrap(h, PROV_XFER_KEK_LABEL, k, b->wrapped, &b->len,
	    &found)) != HSM_OK) {
		if (!found)
			warnx("token \"%s\": %s", x->token, hsm_strerror(rc));
		else
			warnx("wrapping key \"%s\": %s", x->label,
			    hsm_strerror(rc));
		rc = 2;
		goto out;
	}
	rc = 0;
out:
	hsm_key_free(k);
	hsm_close(h);
	return rc;
}

/* Writes the three KEK shares, then the blob; all or nothing. */
static int
export_write(const struct prov_xfer *x, const struct blob *b,
    const uint8_t *kek)
{
	struct cer_share sh[CER_CUSTODIANS];
	char p[CER_CUSTODIANS][1100], text[CER_SHARE_MAX_TEXT], idh[32];
	char buf[CER_SHARE_MAX_TEXT + 512], *out = NULL;
	char b64[2 * HSM_MAX_WRAPPED + 4];
	size_t i, written = 0, size = sizeof(b64) + 1024;
	int n, rc = 2;

	if (cer_share_split(CER_SECRET_KEK, kek, CER_KEK_LEN, CER_THRESHOLD,
	    CER_CUSTODIANS, sh) != CER_OK)
		goto out;
	cer_hex(sh[0].id, CER_SHARE_ID_LEN, idh);
	for (i = 0; i < CER_CUSTODIANS; i++) {
		share_path(x, b->label, sh[i].index, p[i], sizeof(p[i]));
		if (cer_share_encode(&sh[i], text, sizeof(text)) != CER_OK)
			goto out;
		n = snprintf(buf, sizeof(buf), "# signet-provision share\n"
		    "# secret: transfer KEK of issuer key \"%s\", id %s\n"
		    "# share %u of %u; any %u with %s recover the key\n%s\n",
		    b->label, idh, sh[i].index, sh[i].count, sh[i].threshold,
		    x->blob, text);
		if (n < 0 || (size_t)n >= sizeof(buf) ||
		    write_new(p[i], buf, (size_t)n) != 0)
			goto out;
		written++;
	}
	if ((out = malloc(size)) == NULL)
		goto out;
	EVP_EncodeBlock((uint8_t *)b64, b->wrapped, (int)b->len);
	n = snprintf(out, size, BLOB_MAGIC "\ntype %s\nlabel %s\nid %s\n"
	    "kek %s\ncert-sha256 %s\nwrapped %s\n", b->type, b->label, b->id,
	    idh, b->cert, b64);
	if (n < 0 || (size_t)n >= size || write_new(x->blob, out,
	    (size_t)n) != 0)
		goto out;
	for (i = 0; i < CER_CUSTODIANS; i++)
		printf("wrote %s (KEK share %zu of %d)\n", p[i], i + 1,
		    CER_CUSTODIANS);
	printf("wrote %s: key \"%s\" wrapped under the transfer KEK "
	    "(CKM_AES_KEY_WRAP_PAD); any %d shares and this file rebuild it\n",
	    x->blob, b->label, CER_THRESHOLD);
	rc = 0;
out:
	if (rc != 0)
		for (i = 0; i < written; i++)
			(void)unlink(p[i]);
	OPENSSL_cleanse(sh, sizeof(sh));
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_cleanse(buf, sizeof(buf));
	free(out);
	return rc;
}

int
prov_export_key(const struct prov_xfer *x)
{
	struct blob b;
	uint8_t kek[CER_KEK_LEN];
	char so[HSM_MAX_PIN];
	size_t solen;
	X509 *cert;
	int rc;

	memset(&b, 0, sizeof(b));
	export_check(x);
	cert = read_cert(x->cert);
	cert_sum(cert, b.cert);
	export_key_info(x, cert, &b);
	X509_free(cert);
	if ((rc = hsm_pin_from_file(x->so_pin_file, so, sizeof(so),
	    &solen)) != HSM_OK)
		errx(2, "%s: %s", x->so_pin_file, hsm_strerror(rc));
	if (RAND_priv_bytes(kek, sizeof(kek)) != 1)
		errx(2, "no randomness for the KEK");
	if ((rc = kek_in(x, so, solen, kek)) == 0) {
		rc = export_wrap(x, &b);
		if (kek_out(x, so, solen) != 0)
			rc = 2;
	}
	OPENSSL_cleanse(so, sizeof(so));
	if (rc == 0)
		rc = export_write(x, &b, kek);
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(&b, sizeof(b));
	return rc;
}

static int
blob_parse(const char *path, struct blob *b)
{
	char *text = NULL, b64[2 * HSM_MAX_WRAPPED];
	uint8_t *data = NULL;
	size_t len;
	int rc = 1;

	memset(b, 0, sizeof(*b));
	if (cer_read_file(path, &data, &len) != CER_OK)
		return 2;
	text = (char *)data;
	if (sscanf(text, BLOB_MAGIC "\ntype %15s\nlabel %64s\nid %128s\n"
	    "kek %16s\ncert-sha256 %64s\nwrapped %16383s\n", b->type,
	    b->label, b->id, b->kek, b->cert, b64) != 6) {
		warnx("%s: not a wrapped issuer key file", path);
		goto out;
	}
	if (cer_unbase64(b64, b->wrapped, sizeof(b->wrapped), &b->len) !=
	    CER_OK) {
		warnx("%s: wrapped key is not base64", path);
		goto out;
	}
	rc = 0;
out:
	free(data);
	return rc;
}

/* The KEK from the share files; 1 with the defect named if they fail. */
static int
import_kek(const struct prov_xfer *x, const struct blob *b, uint8_t *kek)
{
	struct cer_share v[CER_CUSTODIANS];
	uint8_t id[CER_SHARE_ID_LEN], secret[CER_SHARE_MAX_SECRET], *t;
	char e[CER_MAX_ERR];
	size_t i, idlen, len, tlen;
	int rc = 1;

	if (x->nshares < CER_THRESHOLD)
		errx(2, "%d KEK share files are needed (-K file, twice)",
		    CER_THRESHOLD);
	if (cer_unhex(b->kek, id, sizeof(id), &idlen) != CER_OK ||
	    idlen != sizeof(id))
		errx(1, "%s: malformed kek id", x->blob);
	for (i = 0; i < x->nshares; i++) {
		if (cer_read_file(x->shares[i], &t, &tlen) != CER_OK)
			exit(2);
		rc = cer_share_decode(t, tlen, &v[i], e, sizeof(e));
		OPENSSL_cleanse(t, tlen);
		free(t);
		if (rc != CER_OK)
			errx(1, "%s: %s", x->shares[i], e);
	}
	rc = cer_share_combine(v, x->shares, x->nshares, CER_SECRET_KEK, id,
	    secret, &len, e, sizeof(e));
	OPENSSL_cleanse(v, sizeof(v));
	if (rc == CER_OK && len != CER_KEK_LEN) {
		snprintf(e, sizeof(e), "the shares hold %zu bytes, not %d",
		    len, CER_KEK_LEN);
		rc = CER_FAIL;
	}
	if (rc == CER_OK)
		memcpy(kek, secret, CER_KEK_LEN);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (rc != CER_OK) {
		warnx("KEK shares for %s: %s", x->blob, e);
		return 1;
	}
	return 0;
}

/* 0 if the token has no key by that label, 3 if it has this one. */
static int
import_present(const struct prov_xfer *x, const struct blob *b, X509 *cert)
{
	struct hsm_key *k = NULL;
	struct hsm *h;
	int rc;

	if ((h = user_open(x)) == NULL)
		exit(2);
	rc = hsm_key_find(h, b->label, NULL, 0, &k);
	if (rc == HSM_ERR_NO_KEY) {
		hsm_close(h);
		return 0;
	}
	if (rc != HSM_OK)
		errx(2, "token \"%s\": %s", x->token, hsm_strerror(rc));
	rc = hsm_key_public(k) != NULL &&
	    EVP_PKEY_eq(hsm_key_public(k), X509_get0_pubkey(cert)) == 1;
	hsm_key_free(k);
	hsm_close(h);
	if (!rc)
		errx(1, "token \"%s\" holds another key labelled \"%s\"; "
		    "refusing to import beside it", x->token, b->label);
	return 3;
}

/* Signs a random challenge in the token; it must verify with cert. */
static int
import_prove(struct hsm_key *k, X509 *cert)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t msg[32], sig[HSM_MAX_SIG];
	size_t siglen = sizeof(sig);
	int ok = 0;

	if (RAND_bytes(msg, sizeof(msg)) != 1 ||
	    hsm_key_sign(k, NULL, msg, sizeof(msg), sig, &siglen) != HSM_OK)
		return 0;
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, hsm_key_type(k) ==
	    HSM_KEY_ED25519 ? NULL : hsm_key_type(k) == HSM_KEY_EC_P384 ?
	    EVP_sha384() : EVP_sha256(), NULL, X509_get0_pubkey(cert)) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg)) == 1)
		ok = 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int
import_unwrap(const struct prov_xfer *x, const struct blob *b, X509 *cert)
{
	struct hsm_keygen req = { .label = b->label, .flags = 0 };
	struct hsm_key *k = NULL;
	uint8_t id[HSM_MAX_ID];
	struct hsm *h;
	int rc, found;

	req.type = hsm_key_type_from_name(b->type);
	if (req.type == HSM_KEY_NONE || cer_unhex(b->id, id, sizeof(id),
	    &req.id_len) != CER_OK || req.id_len == 0) {
		warnx("%s: malformed key type or id", x->blob);
		return 1;
	}
	req.id = id;
	if ((h = user_open(x)) == NULL)
		return 2;
	if ((rc = hsm_kek_unwrap(h, PROV_XFER_KEK_LABEL, b->wrapped, b->len,
	    &req, X509_get0_pubkey(cert), &k, &found)) != HSM_OK && !found) {
		warnx("transfer KEK: %s", hsm_strerror(rc));
		rc = 2;
		goto out;
	}
	if (rc != HSM_OK) {
		warnx("%s: unwrapping failed (%s): the KEK shares do not "
		    "belong to this file", x->blob, hsm_strerror(rc));
		rc = 1;
		goto out;
	}
	if (!import_prove(k, cert)) {
		warnx("the key unwrapped from %s does not sign for %s; delete "
		    "key \"%s\" from token \"%s\"", x->blob, x->cert, b->label,
		    x->token);
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	hsm_key_free(k);
	hsm_close(h);
	return rc;
}

int
prov_import_key(const struct prov_xfer *x)
{
	struct blob b;
	uint8_t kek[CER_KEK_LEN];
	char so[HSM_MAX_PIN], sum[65];
	size_t solen;
	X509 *cert;
	int rc;

	if ((rc = blob_parse(x->blob, &b)) != 0)
		exit(rc);
	cert = read_cert(x->cert);
	cert_sum(cert, sum);
	if (strcmp(sum, b.cert) != 0)
		errx(1, "%s holds the key of another certificate than %s",
		    x->blob, x->cert);
	if (import_present(x, &b, cert) == 3) {
		printf("key \"%s\" of %s is already in token \"%s\"\n",
		    b.label, x->cert, x->token);
		X509_free(cert);
		return 0;
	}
	if (import_kek(x, &b, kek) != 0)
		exit(1);
	if ((rc = hsm_pin_from_file(x->so_pin_file, so, sizeof(so),
	    &solen)) != HSM_OK) {
		OPENSSL_cleanse(kek, sizeof(kek));
		errx(2, "%s: %s", x->so_pin_file, hsm_strerror(rc));
	}
	if ((rc = kek_in(x, so, solen, kek)) == 0) {
		rc = import_unwrap(x, &b, cert);
		if (kek_out(x, so, solen) != 0)
			rc = 2;
	}
	OPENSSL_cleanse(so, sizeof(so));
	OPENSSL_cleanse(kek, sizeof(kek));
	if (rc == 0)
		printf("imported %s key \"%s\" (id %s) into token \"%s\": "
		    "sensitive, not extractable, sign only; it signs for %s\n",
		    b.type, b.label, b.id, x->token, x->cert);
	OPENSSL_cleanse(&b, sizeof(b));
	X509_free(cert);
	return rc;
}
