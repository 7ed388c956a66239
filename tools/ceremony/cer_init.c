/*
 * `signet-ceremony init`: a new root.  The token's user and SO PINs are
 * drawn at random inside this process and exist whole only in its
 * memory: each is split 2-of-3 at once and the custodians receive one
 * share of each.  The root key is generated inside the token, exportable
 * only wrapped by a trusted key (HSM_KEYGEN_BACKUP), and self-signs the
 * root certificate.
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <signet/hsm.h>

#include "cer_run.h"
#include "cer_x509.h"

static const char *const kinds[] = { NULL, "user", "so", "kek" };

int
cer_share_path(const struct cer_conf *c, size_t i, enum cer_secret kind,
    char *out, size_t size)
{
	if ((size_t)snprintf(out, size, "%s/%s.%s.share", c->shares_dir,
	    c->custodians[i], kinds[kind]) >= size)
		return CER_ERR;
	return CER_OK;
}

/* A printable share file: what it is, whose it is, the share itself. */
int
cer_share_stage(struct cer_run *r, const struct cer_share *s, size_t i)
{
	char path[1024], text[CER_SHARE_MAX_TEXT], idh[32], sum[65];
	char *qr = NULL, *buf = NULL;
	size_t size, n;
	int rc = CER_ERR;

	cer_hex(s->id, CER_SHARE_ID_LEN, idh);
	if (cer_share_path(r->c, i, s->kind, path, sizeof(path)) != CER_OK ||
	    cer_share_encode(s, text, sizeof(text)) != CER_OK)
		goto out;
	if (r->c->qr && (qr = cer_share_qr(text)) == NULL)
		goto out;
	size = strlen(text) + (qr ? strlen(qr) : 0) + 1024;
	if ((buf = malloc(size)) == NULL)
		goto out;
	n = (size_t)snprintf(buf, size, "# signet-ceremony share\n"
	    "# secret: %s of token \"%s\", id %s\n"
	    "# share %u of %u; any %u recover the secret\n"
	    "# custodian: %s\n%s%s\n", cer_secret_name(s->kind),
	    r->c->token_label, idh, s->index, s->count, s->threshold,
	    r->c->custodians[i], qr ? qr : "", text);
	if (n >= size ||
	    cer_out_add(&r->out, path, 0600, 0, buf, n) != CER_OK)
		goto out;
	cer_sha256_hex((uint8_t *)buf, n, sum);
	rc = cer_tx_step(&r->tx, "share written secret=%s id=%s index=%u "
	    "custodian=%s file=%s sha256=%s", cer_secret_name(s->kind), idh,
	    s->index, r->c->custodians[i], path, sum);
out:
	if (buf != NULL)
		OPENSSL_cleanse(buf, size);
	free(buf);
	free(qr);
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

/* Draws a secret, splits it and stages its share files. */
static int
new_secret(struct cer_run *r, enum cer_secret kind, uint8_t *secret,
    size_t len, char *id_hex)
{
	struct cer_share sh[CER_CUSTODIANS];
	size_t i;
	int rc = CER_ERR;

	if (RAND_priv_bytes(secret, (int)len) != 1 ||
	    cer_share_split(kind, secret, len, CER_THRESHOLD, CER_CUSTODIANS,
	    sh) != CER_OK)
		goto out;
	cer_hex(sh[0].id, CER_SHARE_ID_LEN, id_hex);
	for (i = 0; i < CER_CUSTODIANS; i++)
		if (cer_share_stage(r, &sh[i], i) != CER_OK)
			goto out;
	rc = CER_OK;
out:
	OPENSSL_cleanse(sh, sizeof(sh));
	return rc;
}

/*
 * Makes the directory that will hold path (one level: "out" of
 * "out/root.pem"; deeper trees are the operator's) and proves it
 * writable with a probe file, so that a missing or read-only directory
 * is named before the token is touched.
 */
static int
init_dir_for(const char *path, mode_t mode)
{
	char dir[1024], probe[1100];
	const char *slash = strrchr(path, '/');
	int fd, n;

	if (slash == NULL)
		n = snprintf(dir, sizeof(dir), ".");
	else
		n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path),
		    path);
	if (n < 0 || (size_t)n >= sizeof(dir) || dir[0] == '\0') {
		warnx("%s: path too long", path);
		return CER_ERR;
	}
	if (mkdir(dir, mode) == 0)
		printf("created directory %s\n", dir);
	else if (errno != EEXIST) {
		warn("%s: cannot create the directory for %s", dir, path);
		return CER_ERR;
	}
	n = snprintf(probe, sizeof(probe), "%s/.signet-probe.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(probe)) {
		warnx("%s: path too long", dir);
		return CER_ERR;
	}
	if ((fd = mkstemp(probe)) == -1) {
		warn("%s: cannot write in the directory for %s", dir, path);
		return CER_ERR;
	}
	close(fd);
	(void)unlink(probe);
	return CER_OK;
}

static int
init_check(struct cer_run *r)
{
	const struct cer_conf *c = r->c;
	char path[1024];
	size_t i;
	int rc;

	if (access(c->transcript, F_OK) == 0 || access(c->state, F_OK) == 0) {
		warnx("%s: a ceremony already exists here (state or "
		    "transcript present)", c->path);
		return CER_FAIL;
	}
	if ((rc = cer_out_absent(c->root_cert)) != CER_OK)
		return rc;
	if (mkdir(c->shares_dir, 0700) == -1 && errno != EEXIST) {
		warn("%s", c->shares_dir);
		return CER_ERR;
	}
	/* Every file init writes, or a later verb does, before the token:
	 * a failed init must not leave a token nobody has the PINs of. */
	if ((rc = init_dir_for(c->state, 0700)) != CER_OK ||
	    (rc = init_dir_for(c->transcript, 0700)) != CER_OK ||
	    (rc = init_dir_for(c->root_cert, 0755)) != CER_OK ||
	    (c->crl_file != NULL &&
	    (rc = init_dir_for(c->crl_file, 0755)) != CER_OK) ||
	    (c->int_cert != NULL &&
	    (rc = init_dir_for(c->int_cert, 0755)) != CER_OK) ||
	    (c->blob != NULL && (rc = init_dir_for(c->blob, 0755)) != CER_OK))
		return rc;
	/* Where the operator will put the appliance's CSR (read later). */
	if (c->csr != NULL && strrchr(c->csr, '/') != NULL &&
	    (size_t)snprintf(path, sizeof(path), "%.*s",
	    (int)(strrchr(c->csr, '/') - c->csr), c->csr) < sizeof(path) &&
	    path[0] != '\0' && mkdir(path, 0755) == 0)
		printf("created directory %s (put the CSR there)\n", path);
	if (cer_share_path(c, 0, CER_SECRET_USER_PIN, path, sizeof(path)) !=
	    CER_OK || init_dir_for(path, 0700) != CER_OK)
		return CER_ERR;
	for (i = 0; i < CER_CUSTODIANS; i++) {
		if (cer_share_path(c, i, CER_SECRET_USER_PIN, path,
		    sizeof(path)) != CER_OK || (rc = cer_out_absent(path)) != 0)
			return CER_FAIL;
		if (cer_share_path(c, i, CER_SECRET_SO_PIN, path,
		    sizeof(path)) != CER_OK || (rc = cer_out_absent(path)) != 0)
			return CER_FAIL;
	}
	if (hsm_so_token_present(c->module, c->token_label) == HSM_OK) {
		warnx("token \"%s\" already exists in %s; init needs a fresh "
		    "token", c->token_label, c->module);
		return CER_FAIL;
	}
	return CER_OK;
}

/*
 * The root certificate the file describes, built and linted on a
 * throwaway software key of the same type before the token exists: a
 * subject or validity the linter refuses fails here, not after the
 * token was initialised.
 */
static int
init_dry_run(const struct cer_conf *c)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int rc = CER_ERR;

	if (strcmp(c->key_type, "p256") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(c->key_type, "p384") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strncmp(c->key_type, "rsa", 3) == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)strtoul(c->key_type + 3, NULL, 10));
	if (k == NULL) {
		warnx("%s: cannot check a %s root before the token", c->path,
		    c->key_type);
		goto out;
	}
	if ((rc = cer_root_build(c, k, time(NULL), &x)) != CER_OK ||
	    (rc = cer_cert_lint_tbs(x, k, c->root_cert)) != CER_OK)
		goto out;
	rc = CER_OK;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

static int
init_plan(struct cer_run *r)
{
	const struct cer_conf *c = r->c;
	char plan[4096];

	snprintf(plan, sizeof(plan),
	    "signet-ceremony init will:\n"
	    "  1. initialise a new token \"%s\" in %s with random user and "
	    "SO PINs\n"
	    "  2. split each PIN 2-of-3 into share files in %s for %s, %s, "
	    "%s\n"
	    "  3. generate a %s root key \"%s\" in the token (wrappable only "
	    "by a trusted key)\n"
	    "  4. self-sign the root certificate CN=%s%s%s, valid %lld days, "
	    "into %s\n"
	    "  5. start the transcript %s and the state %s\n",
	    c->token_label, c->module, c->shares_dir, c->custodians[0],
	    c->custodians[1], c->custodians[2], c->key_type, c->key_label,
	    c->root_subject.cn, c->root_subject.o ? ", O=" : "",
	    c->root_subject.o ? c->root_subject.o : "",
	    (long long)(c->root_validity / 86400), c->root_cert,
	    c->transcript, c->state);
	return cer_confirm(r, plan);
}

static int
init_root(struct cer_run *r)
{
	struct hsm_keygen req = { .label = r->c->key_label,
		.flags = HSM_KEYGEN_BACKUP };
	struct hsm_key_info ki;
	const uint8_t *id;
	char idh[2 * HSM_MAX_ID + 1], sum[65], *pem = NULL;
	size_t idlen, plen;
	X509 *x = NULL;
	int rc;

	req.type = hsm_key_type_from_name(r->c->key_type);
	if ((rc = hsm_key_generate(r->hsm, &req, &r->root)) != HSM_OK) {
		warnx("generating root key \"%s\": %s", req.label,
		    hsm_strerror(rc));
		return CER_ERR;
	}
	id = hsm_key_id(r->root, &idlen);
	cer_hex(id, idlen, idh);
	snprintf(r->st.key_id, sizeof(r->st.key_id), "%s", idh);
	if (hsm_key_get_info(r->root, &ki) != HSM_OK)
		return CER_ERR;
	if (cer_tx_step(&r->tx, "root key generated type=%s label=%s id=%s "
	    "sensitive=%d extractable=%d", r->c->key_type, req.label, idh,
	    ki.sensitive, ki.extractable) != CER_OK)
		return CER_ERR;
	if ((rc = cer_root_build(r->c, hsm_key_public(r->root), time(NULL),
	    &x)) != CER_OK ||
	    (rc = cer_cert_sign(x, r->root, hsm_key_public(r->root),
	    r->c->root_cert)) != CER_OK)
		goto out;
	rc = CER_ERR;
	if (cer_pem_cert(x, &pem, &plen) != CER_OK ||
	    cer_out_add(&r->out, r->c->root_cert, 0644, 0, pem, plen) != CER_OK)
		goto out;
	cer_sha256_hex((uint8_t *)pem, plen, sum);
	if (cer_tx_step(&r->tx, "root certificate file=%s sha256=%s",
	    r->c->root_cert, sum) != CER_OK)
		goto out;
	printf("root certificate %s, SHA-256 of the PEM file %s\n",
	    r->c->root_cert, sum);
	r->root_cert = x;
	x = NULL;
	rc = CER_OK;
out:
	free(pem);
	X509_free(x);
	return rc;
}

int
cer_init(const struct cer_opts *o)
{
	struct cer_run r;
	uint8_t user[CER_PIN_SECRET], so[CER_PIN_SECRET];
	char upin[2 * CER_PIN_SECRET + 1], spin[2 * CER_PIN_SECRET + 1];
	int rc, token = 0;

	if ((rc = cer_run_begin(&r, o, "init", 0)) != CER_OK ||
	    (rc = init_check(&r)) != CER_OK ||
	    (rc = init_dry_run(r.c)) != CER_OK ||
	    (rc = init_plan(&r)) != CER_OK)
		goto out;
	rc = CER_ERR;
	if (cer_tx_step(&r.tx, "ceremony file=%s", o->conf) != CER_OK)
		goto out;
	if (new_secret(&r, CER_SECRET_USER_PIN, user, sizeof(user),
	    r.st.user_id) != CER_OK ||
	    new_secret(&r, CER_SECRET_SO_PIN, so, sizeof(so),
	    r.st.so_id) != CER_OK)
		goto out;
	cer_pin(user, sizeof(user), upin);
	cer_pin(so, sizeof(so), spin);
	if ((rc = hsm_token_init(r.c->module, r.c->token_label, spin,
	    upin)) != HSM_OK) {
		warnx("initialising token \"%s\": %s", r.c->token_label,
		    hsm_strerror(rc));
		rc = CER_ERR;
		goto out;
	}
	OPENSSL_cleanse(spin, sizeof(spin));
	token = 1;
	if (cer_tx_step(&r.tx, "token initialised label=%s module=%s "
	    "user_pin=%s so_pin=%s", r.c->token_label, r.c->module,
	    r.st.user_id, r.st.so_id) != CER_OK ||
	    (rc = cer_token_login(&r, upin, 0)) != CER_OK ||
	    (rc = init_root(&r)) != CER_OK)
		goto out;
	snprintf(r.who, sizeof(r.who), "none (new secrets)");
	rc = cer_run_finish(&r);
out:
	/*
	 * Everything the file decides was checked before the token (paths,
	 * directories, the linted root); what fails after it is the token
	 * or the disk.  PKCS#11 cannot delete a token: say which to remove,
	 * as its PINs were never shown to anyone.
	 */
	if (token && rc != CER_OK)
		warnx("token \"%s\" was initialised but init failed; nobody "
		    "holds its PINs: delete it (SoftHSMv2: softhsm2-util "
		    "--delete-token --token %s) before running init again",
		    r.c->token_label, r.c->token_label);
	OPENSSL_cleanse(user, sizeof(user));
	OPENSSL_cleanse(so, sizeof(so));
	OPENSSL_cleanse(upin, sizeof(upin));
	OPENSSL_cleanse(spin, sizeof(spin));
	cer_run_end(&r);
	return rc;
}
