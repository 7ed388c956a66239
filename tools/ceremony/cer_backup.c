/*
 * `signet-ceremony backup` and `restore`.
 *
 * The root key may leave the token only wrapped by a trusted key
 * (CKA_WRAP_WITH_TRUSTED).  A key-encryption key generated inside the
 * token could never be split into shares, because it cannot be
 * extracted, and the backup would die with the token.  So the KEK is
 * drawn at random here, split 2-of-3 at once, and imported into the
 * token by the SO as a trusted, non-extractable wrapping key only for the
 * moment it is needed: backup imports it, wraps the root key under it
 * (CKM_AES_KEY_WRAP_PAD) and destroys it; restore rebuilds it from two
 * KEK shares, imports it into a fresh token, unwraps the root key and
 * destroys it again.  Its clear value exists only in this process's
 * memory, wiped after use.
 *
 * The blob file:
 *   signet-wrapped-key 1
 *   type <p256|...> / label <root label> / id <hex> / kek <secret id>
 *   root-sha256 <SHA-256 of the root certificate DER>
 *   wrapped <base64>
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <signet/hsm.h>

#include "cer_run.h"

#define BLOB_MAGIC "signet-wrapped-key 1"

struct cer_blob {
	char type[16], label[HSM_MAX_LABEL + 1], id[2 * HSM_MAX_ID + 1];
	char kek[2 * CER_SHARE_ID_LEN + 1], root[65];
	uint8_t wrapped[HSM_MAX_WRAPPED];
	size_t len;
};

static void
root_sum(X509 *x, char *out)
{
	uint8_t *der = NULL;
	int n = i2d_X509(x, &der);

	cer_sha256_hex(der, n > 0 ? (size_t)n : 0, out);
	OPENSSL_free(der);
}

static int
blob_parse(const char *path, struct cer_blob *b)
{
	uint8_t *text = NULL;
	char b64[2 * HSM_MAX_WRAPPED];
	size_t len;
	int rc = CER_FAIL;

	memset(b, 0, sizeof(*b));
	if (cer_read_file(path, &text, &len) != CER_OK)
		return CER_ERR;
	if (sscanf((char *)text, BLOB_MAGIC "\ntype %15s\nlabel %64s\nid %128s\n"
	    "kek %16s\nroot-sha256 %64s\nwrapped %16383s\n", b->type, b->label,
	    b->id, b->kek, b->root, b64) != 6) {
		warnx("%s: not a wrapped-key file", path);
		goto out;
	}
	if (cer_unbase64(b64, b->wrapped, sizeof(b->wrapped), &b->len) !=
	    CER_OK) {
		warnx("%s: wrapped key is not base64", path);
		goto out;
	}
	rc = CER_OK;
out:
	free(text);
	return rc;
}

static int
blob_stage(struct cer_run *r, const struct cer_blob *b)
{
	char b64[2 * HSM_MAX_WRAPPED + 4], *buf = NULL, sum[65];
	size_t size = sizeof(b64) + 512;
	int n, rc = CER_ERR;

	EVP_EncodeBlock((uint8_t *)b64, b->wrapped, (int)b->len);
	if ((buf = malloc(size)) == NULL)
		return CER_ERR;
	n = snprintf(buf, size, BLOB_MAGIC "\ntype %s\nlabel %s\nid %s\n"
	    "kek %s\nroot-sha256 %s\nwrapped %s\n", b->type, b->label, b->id,
	    b->kek, b->root, b64);
	if (n > 0 && (size_t)n < size &&
	    cer_out_add(&r->out, r->c->blob, 0600, 0, buf, (size_t)n) ==
	    CER_OK) {
		cer_sha256_hex((uint8_t *)buf, (size_t)n, sum);
		rc = cer_tx_step(&r->tx, "wrapped root key file=%s sha256=%s "
		    "kek=%s mechanism=CKM_AES_KEY_WRAP_PAD", r->c->blob, sum,
		    b->kek);
	}
	free(buf);
	return rc;
}

/* The SO PIN from its shares, as the string the token knows. */
static int
so_pin(struct cer_run *r, char *pin)
{
	uint8_t s[CER_SHARE_MAX_SECRET];
	size_t len;
	int rc;

	rc = cer_secret(r, CER_SECRET_SO_PIN, r->o->so, r->o->nso, r->st.so_id,
	    s, &len);
	if (rc == CER_OK)
		cer_pin(s, len, pin);
	OPENSSL_cleanse(s, sizeof(s));
	return rc;
}

static int
kek_import(struct cer_run *r, const char *pin, const uint8_t *kek)
{
	int rc = hsm_so_kek_import(r->c->module, r->c->token_label, pin,
	    strlen(pin), r->c->kek_label, kek, CER_KEK_LEN);

	if (rc == HSM_ERR_PIN) {
		warnx("token \"%s\" refused the SO PIN rebuilt from the "
		    "shares: wrong share set", r->c->token_label);
		return CER_FAIL;
	}
	if (rc != HSM_OK) {
		warnx("importing the KEK into token \"%s\" as SO: %s",
		    r->c->token_label, hsm_strerror(rc));
		return CER_ERR;
	}
	return CER_OK;
}

static int
kek_destroy(struct cer_run *r, const char *pin)
{
	int rc;

	hsm_key_free(r->root);
	r->root = NULL;
	hsm_close(r->hsm);
	r->hsm = NULL;
	rc = hsm_so_kek_destroy(r->c->module, r->c->token_label, pin,
	    strlen(pin), r->c->kek_label);
	if (rc != HSM_OK) {
		warnx("removing the KEK \"%s\" from token \"%s\": %s",
		    r->c->kek_label, r->c->token_label, hsm_strerror(rc));
		return CER_ERR;
	}
	return CER_OK;
}

static int
backup_wrap(struct cer_run *r, const uint8_t *kekv)
{
	struct cer_share sh[CER_CUSTODIANS];
	struct cer_blob b;
	const uint8_t *id;
	size_t idlen, i;
	int rc, found;

	memset(&b, 0, sizeof(b));
	b.len = sizeof(b.wrapped);
	if ((rc = hsm_kek_wrap(r->hsm, r->c->kek_label, r->root, b.wrapped,
	    &b.len, &found)) != HSM_OK) {
		if (!found)
			warnx("KEK \"%s\": %s", r->c->kek_label,
			    hsm_strerror(rc));
		else
			warnx("wrapping root key \"%s\": %s",
			    r->c->key_label, hsm_strerror(rc));
		return CER_ERR;
	}
	rc = CER_ERR;
	if (cer_share_split(CER_SECRET_KEK, kekv, CER_KEK_LEN, CER_THRESHOLD,
	    CER_CUSTODIANS, sh) != CER_OK)
		goto out;
	cer_hex(sh[0].id, CER_SHARE_ID_LEN, r->st.kek_id);
	for (i = 0; i < CER_CUSTODIANS; i++)
		if (cer_share_stage(r, &sh[i], i) != CER_OK)
			goto out;
	snprintf(b.type, sizeof(b.type), "%s", r->c->key_type);
	snprintf(b.label, sizeof(b.label), "%s", r->c->key_label);
	id = hsm_key_id(r->root, &idlen);
	cer_hex(id, idlen, b.id);
	snprintf(b.kek, sizeof(b.kek), "%s", r->st.kek_id);
	root_sum(r->root_cert, b.root);
	rc = blob_stage(r, &b);
out:
	OPENSSL_cleanse(sh, sizeof(sh));
	return rc;
}

static int
backup_check(struct cer_run *r)
{
	char path[1024];
	size_t i;

	if (r->c->blob == NULL) {
		warnx("%s: backup { blob } is needed", r->c->path);
		return CER_ERR;
	}
	if (cer_out_absent(r->c->blob) != CER_OK)
		return CER_FAIL;
	for (i = 0; i < CER_CUSTODIANS; i++)
		if (cer_share_path(r->c, i, CER_SECRET_KEK, path,
		    sizeof(path)) != CER_OK || cer_out_absent(path) != CER_OK)
			return CER_FAIL;
	return CER_OK;
}

int
cer_backup(const struct cer_opts *o)
{
	struct cer_run r;
	uint8_t kek[CER_KEK_LEN];
	char pin[2 * CER_SHARE_MAX_SECRET + 1] = "", plan[1024];
	int rc, imported = 0;

	if ((rc = cer_run_begin(&r, o, "backup", 1)) != CER_OK ||
	    (rc = backup_check(&r)) != CER_OK)
		goto out;
	snprintf(plan, sizeof(plan), "signet-ceremony backup will:\n"
	    "  1. draw a random AES-256 KEK, import it as SO into token \"%s\" "
	    "as trusted key \"%s\"\n"
	    "  2. wrap root key \"%s\" under it into %s\n"
	    "  3. split the KEK 2-of-3 into share files in %s\n"
	    "  4. destroy the KEK in the token\n", r.c->token_label,
	    r.c->kek_label, r.c->key_label, r.c->blob, r.c->shares_dir);
	if ((rc = cer_confirm(&r, plan)) != CER_OK ||
	    (rc = so_pin(&r, pin)) != CER_OK)
		goto out;
	rc = CER_ERR;
	if (RAND_priv_bytes(kek, sizeof(kek)) != 1)
		goto out;
	if ((rc = kek_import(&r, pin, kek)) != CER_OK)
		goto out;
	imported = 1;
	if ((rc = cer_token_open(&r)) != CER_OK ||
	    (rc = backup_wrap(&r, kek)) != CER_OK ||
	    (rc = cer_tx_step(&r.tx, "kek label=%s imported by SO, destroyed "
	    "after this run", r.c->kek_label)) != CER_OK ||
	    (rc = cer_run_seal(&r)) != CER_OK)
		goto out;
	imported = 0;
	if ((rc = kek_destroy(&r, pin)) != CER_OK)
		goto out;
	rc = cer_out_commit(&r.out);
out:
	if (imported)
		(void)kek_destroy(&r, pin);
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(pin, sizeof(pin));
	cer_run_end(&r);
	return rc;
}

/* Signs a random challenge in the token and verifies it with the cert. */
static int
restore_prove(struct cer_run *r)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t msg[32], sig[HSM_MAX_SIG];
	size_t siglen = sizeof(sig);
	int rc = CER_ERR;
	const EVP_MD *md = EVP_sha256();

	if (RAND_bytes(msg, sizeof(msg)) != 1 ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, md, NULL, hsm_key_evp(r->root)) !=
	    1 || EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg)) != 1) {
		warnx("the restored key does not sign");
		goto out;
	}
	EVP_MD_CTX_free(ctx);
	rc = CER_FAIL;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL,
	    X509_get0_pubkey(r->root_cert)) != 1 ||
	    EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg)) != 1) {
		warnx("the restored key's signature does not verify with %s",
		    r->c->root_cert);
		goto out;
	}
	rc = cer_tx_step(&r->tx, "restored key proven: signature over a "
	    "random challenge verifies with %s", r->c->root_cert);
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int
restore_unwrap(struct cer_run *r, const struct cer_blob *b)
{
	struct hsm_keygen req = { .label = b->label,
		.flags = HSM_KEYGEN_BACKUP };
	uint8_t id[HSM_MAX_ID];
	int rc, found;

	req.type = hsm_key_type_from_name(b->type);
	if (cer_unhex(b->id, id, sizeof(id), &req.id_len) != CER_OK ||
	    req.id_len == 0) {
		warnx("%s: malformed key id", r->c->blob);
		return CER_FAIL;
	}
	req.id = id;
	if ((rc = hsm_kek_unwrap(r->hsm, r->c->kek_label, b->wrapped, b->len,
	    &req, X509_get0_pubkey(r->root_cert), &r->root, &found)) !=
	    HSM_OK && !found) {
		warnx("KEK \"%s\": %s", r->c->kek_label, hsm_strerror(rc));
		return CER_ERR;
	}
	if (rc != HSM_OK) {
		warnx("%s: unwrapping failed (%s): the KEK shares do not "
		    "belong to this blob", r->c->blob, hsm_strerror(rc));
		return CER_FAIL;
	}
	return cer_tx_step(&r->tx, "root key unwrapped label=%s id=%s "
	    "into token %s", b->label, b->id, r->c->token_label);
}

static int
restore_secrets(struct cer_run *r, const struct cer_blob *b, char *upin,
    char *spin, uint8_t *kek)
{
	uint8_t s[CER_SHARE_MAX_SECRET];
	size_t len;
	int rc;

	if ((rc = cer_secret(r, CER_SECRET_USER_PIN, r->o->user, r->o->nuser,
	    r->st.user_id, s, &len)) != CER_OK)
		goto out;
	cer_pin(s, len, upin);
	if ((rc = so_pin(r, spin)) != CER_OK ||
	    (rc = cer_secret(r, CER_SECRET_KEK, r->o->kek, r->o->nkek, b->kek,
	    s, &len)) != CER_OK)
		goto out;
	if (len != CER_KEK_LEN) {
		warnx("KEK shares hold %zu bytes, not %d", len, CER_KEK_LEN);
		rc = CER_FAIL;
		goto out;
	}
	memcpy(kek, s, CER_KEK_LEN);
out:
	OPENSSL_cleanse(s, sizeof(s));
	return rc;
}

static int
restore_check(struct cer_run *r, struct cer_blob *b)
{
	char sum[65];
	int rc;

	if (r->c->blob == NULL) {
		warnx("%s: backup { blob } is needed", r->c->path);
		return CER_ERR;
	}
	if ((rc = blob_parse(r->c->blob, b)) != CER_OK)
		return rc;
	root_sum(r->root_cert, sum);
	if (strcmp(sum, b->root) != 0) {
		warnx("%s: is the backup of another root than %s", r->c->blob,
		    r->c->root_cert);
		return CER_FAIL;
	}
	if (hsm_so_token_present(r->c->module, r->c->token_label) == HSM_OK) {
		warnx("token \"%s\" exists; restore needs a fresh token",
		    r->c->token_label);
		return CER_FAIL;
	}
	return CER_OK;
}

int
cer_restore(const struct cer_opts *o)
{
	struct cer_run r;
	struct cer_blob b;
	uint8_t kek[CER_KEK_LEN];
	char upin[2 * CER_SHARE_MAX_SECRET + 1] = "";
	char spin[2 * CER_SHARE_MAX_SECRET + 1] = "", plan[1024];
	int rc, imported = 0;

	if ((rc = cer_run_begin(&r, o, "restore", 1)) != CER_OK ||
	    (rc = restore_check(&r, &b)) != CER_OK)
		goto out;
	snprintf(plan, sizeof(plan), "signet-ceremony restore will:\n"
	    "  1. initialise a fresh token \"%s\" with this ceremony's PINs\n"
	    "  2. import the KEK rebuilt from two shares as trusted key "
	    "\"%s\"\n"
	    "  3. unwrap root key \"%s\" from %s, prove it against %s\n"
	    "  4. destroy the KEK in the token\n", r.c->token_label,
	    r.c->kek_label, b.label, r.c->blob, r.c->root_cert);
	if ((rc = cer_confirm(&r, plan)) != CER_OK ||
	    (rc = restore_secrets(&r, &b, upin, spin, kek)) != CER_OK)
		goto out;
	if ((rc = hsm_token_init(r.c->module, r.c->token_label, spin,
	    upin)) != HSM_OK) {
		warnx("initialising token \"%s\": %s", r.c->token_label,
		    hsm_strerror(rc));
		rc = CER_ERR;
		goto out;
	}
	if ((rc = cer_tx_step(&r.tx, "token initialised label=%s module=%s",
	    r.c->token_label, r.c->module)) != CER_OK ||
	    (rc = kek_import(&r, spin, kek)) != CER_OK)
		goto out;
	imported = 1;
	if ((rc = cer_token_login(&r, upin, 0)) != CER_OK ||
	    (rc = restore_unwrap(&r, &b)) != CER_OK ||
	    (rc = restore_prove(&r)) != CER_OK ||
	    (rc = cer_run_seal(&r)) != CER_OK)
		goto out;
	imported = 0;
	if ((rc = kek_destroy(&r, spin)) != CER_OK)
		goto out;
	rc = cer_out_commit(&r.out);
out:
	if (imported)
		(void)kek_destroy(&r, spin);
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(upin, sizeof(upin));
	OPENSSL_cleanse(spin, sizeof(spin));
	OPENSSL_cleanse(&b, sizeof(b));
	cer_run_end(&r);
	return rc;
}
