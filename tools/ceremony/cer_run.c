/*
 * The parts every verb shares.  A run loads the reviewed ceremony file,
 * checks the transcript so far, prints its plan and waits for the
 * custodians' yes, rebuilds a PIN from two shares only in memory (wiped
 * right after login), works, and then signs the transcript and moves
 * every output into place at once.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <signet/hsm.h>

#include "cer_run.h"

X509 *
cer_load_cert(const char *path)
{
	FILE *f;
	X509 *x;

	if ((f = fopen(path, "r")) == NULL) {
		warn("%s", path);
		return NULL;
	}
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		warnx("%s: not a PEM certificate", path);
	fclose(f);
	return x;
}

static int
bio_take(BIO *b, char **out, size_t *len)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);

	if (n <= 0 || (*out = malloc((size_t)n)) == NULL)
		return CER_ERR;
	memcpy(*out, p, (size_t)n);
	*len = (size_t)n;
	return CER_OK;
}

int
cer_pem_cert(X509 *x, char **out, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = CER_ERR;

	if (b != NULL && PEM_write_bio_X509(b, x))
		rc = bio_take(b, out, len);
	BIO_free(b);
	return rc;
}

int
cer_pem_crl(X509_CRL *crl, char **out, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = CER_ERR;

	if (b != NULL && PEM_write_bio_X509_CRL(b, crl))
		rc = bio_take(b, out, len);
	BIO_free(b);
	return rc;
}

static int
check_transcript(struct cer_run *r)
{
	uint8_t *text = NULL;
	char err[CER_MAX_ERR];
	unsigned nsigs;
	size_t len;
	int rc;

	if (access(r->c->transcript, F_OK) != 0) {
		warnx("%s: missing: run init first", r->c->transcript);
		return CER_ERR;
	}
	if (cer_read_file(r->c->transcript, &text, &len) != CER_OK)
		return CER_ERR;
	rc = cer_tx_verify(text, len, X509_get0_pubkey(r->root_cert), &nsigs,
	    err, sizeof(err));
	free(text);
	if (rc != CER_OK)
		warnx("%s: %s", r->c->transcript, err);
	return rc;
}

int
cer_run_begin(struct cer_run *r, const struct cer_opts *o, const char *verb,
    int existing)
{
	char err[CER_MAX_ERR];
	int rc;

	memset(r, 0, sizeof(*r));
	r->o = o;
	if ((rc = cer_conf_load(o->conf, &r->c, err, sizeof(err))) != CER_OK) {
		warnx("%s", err);
		return rc;
	}
	if (existing) {
		if (cer_state_load(r->c->state, &r->st) != CER_OK ||
		    (r->root_cert = cer_load_cert(r->c->root_cert)) == NULL)
			return CER_ERR;
		if ((rc = check_transcript(r)) != CER_OK)
			return rc;
	}
	if (cer_tx_begin(&r->tx, r->c->transcript, verb) != CER_OK) {
		warnx("%s: cannot start the transcript", r->c->transcript);
		return CER_ERR;
	}
	return CER_OK;
}

/* Reads a line from the terminal with echo off (tcsetattr). */
static int
read_hidden(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	int restore = 0, ok;
	size_t n;

	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	ok = fgets(buf, (int)size, stdin) != NULL;
	if (restore)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fprintf(stderr, "\n");
	if (!ok)
		return CER_ERR;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return CER_OK;
}

int
cer_confirm(struct cer_run *r, const char *plan)
{
	char line[16];

	printf("%s", plan);
	fflush(stdout);
	if (r->o->yes) {
		snprintf(r->confirmed, sizeof(r->confirmed), "-y (scripted)");
		return CER_OK;
	}
	fprintf(stderr, "Custodians: type \"yes\" to proceed: ");
	if (fgets(line, sizeof(line), stdin) == NULL ||
	    strcmp(line, "yes\n") != 0) {
		warnx("not confirmed; nothing was done");
		return CER_FAIL;
	}
	snprintf(r->confirmed, sizeof(r->confirmed), "typed yes");
	return CER_OK;
}

/* One share, from a file or typed; names it in *name for errors. */
static int
read_share(const char *file, size_t i, enum cer_secret kind,
    struct cer_share *s, char *name, size_t namelen)
{
	char text[CER_SHARE_MAX_TEXT], prompt[96], err[CER_MAX_ERR];
	uint8_t *data = NULL;
	size_t len;
	int rc;

	if (file != NULL) {
		snprintf(name, namelen, "%s", file);
		if (cer_read_file(file, &data, &len) != CER_OK)
			return CER_ERR;
		rc = cer_share_decode(data, len, s, err, sizeof(err));
		OPENSSL_cleanse(data, len);
		free(data);
	} else {
		snprintf(name, namelen, "typed %s share %zu",
		    cer_secret_name(kind), i + 1);
		snprintf(prompt, sizeof(prompt), "%s share %zu (input "
		    "hidden): ", cer_secret_name(kind), i + 1);
		if (read_hidden(prompt, text, sizeof(text)) != CER_OK) {
			warnx("%s: no input", name);
			return CER_ERR;
		}
		rc = cer_share_decode((uint8_t *)text, strlen(text), s, err,
		    sizeof(err));
		OPENSSL_cleanse(text, sizeof(text));
	}
	if (rc != CER_OK)
		warnx("%s: %s", name, err);
	return rc;
}

static void
note_who(struct cer_run *r, const struct cer_share *v, size_t n,
    enum cer_secret kind)
{
	size_t i, len = strlen(r->who);

	len += (size_t)snprintf(r->who + len, sizeof(r->who) - len, "%s%s:",
	    len > 0 ? " " : "", cer_secret_name(kind));
	for (i = 0; i < n && len < sizeof(r->who); i++)
		len += (size_t)snprintf(r->who + len, sizeof(r->who) - len,
		    "%s%u(%s)", i > 0 ? "," : "", v[i].index,
		    r->c->custodians[v[i].index - 1]);
}

int
cer_secret(struct cer_run *r, enum cer_secret kind, const char *const *files,
    size_t nfiles, const char *want_id, uint8_t *secret, size_t *len)
{
	struct cer_share v[CER_CUSTODIANS];
	char names[CER_CUSTODIANS][256], err[CER_MAX_ERR];
	const char *np[CER_CUSTODIANS];
	uint8_t id[CER_SHARE_ID_LEN];
	size_t i, n = nfiles, idlen = 0;
	int rc = CER_ERR;

	if (n == 0) {
		if (!isatty(STDIN_FILENO)) {
			warnx("no %s share files given and standard input is "
			    "not a terminal", cer_secret_name(kind));
			return CER_ERR;
		}
		n = CER_THRESHOLD;
	}
	if (n > CER_CUSTODIANS) {
		warnx("%zu %s shares given, at most %d", n,
		    cer_secret_name(kind), CER_CUSTODIANS);
		return CER_FAIL;
	}
	if (want_id[0] != '\0' &&
	    cer_unhex(want_id, id, sizeof(id), &idlen) != CER_OK) {
		warnx("%s: malformed secret id", r->c->state);
		return CER_ERR;
	}
	for (i = 0; i < n; i++) {
		np[i] = names[i];
		if ((rc = read_share(nfiles > 0 ? files[i] : NULL, i, kind,
		    &v[i], names[i], sizeof(names[i]))) != CER_OK)
			goto out;
	}
	rc = cer_share_combine(v, np, n, kind, idlen > 0 ? id : NULL, secret,
	    len, err, sizeof(err));
	if (rc != CER_OK) {
		warnx("%s", err);
		goto out;
	}
	note_who(r, v, n, kind);
out:
	OPENSSL_cleanse(v, sizeof(v));
	return rc;
}

void
cer_pin(const uint8_t *secret, size_t len, char *pin)
{
	cer_hex(secret, len, pin);
}

int
cer_token_login(struct cer_run *r, char *pin, int find_root)
{
	struct hsm_config cfg = { .module = r->c->module,
		.token_label = r->c->token_label, .pool_size = 1 };
	int rc;

	rc = hsm_open(&cfg, pin, strlen(pin), &r->hsm);
	if (rc == HSM_ERR_PIN) {
		warnx("token \"%s\" refused the PIN rebuilt from the shares: "
		    "wrong share set", r->c->token_label);
		return CER_FAIL;
	}
	if (rc != HSM_OK) {
		warnx("token \"%s\" in %s: %s", r->c->token_label,
		    r->c->module, hsm_strerror(rc));
		return CER_ERR;
	}
	if (!find_root)
		return CER_OK;
	if ((rc = hsm_key_find(r->hsm, r->c->key_label, NULL, 0,
	    &r->root)) != HSM_OK) {
		warnx("token \"%s\": root key \"%s\": %s", r->c->token_label,
		    r->c->key_label, hsm_strerror(rc));
		return CER_ERR;
	}
	if (r->root_cert != NULL && EVP_PKEY_eq(hsm_key_public(r->root),
	    X509_get0_pubkey(r->root_cert)) != 1) {
		warnx("%s: does not certify key \"%s\" in token \"%s\"",
		    r->c->root_cert, r->c->key_label, r->c->token_label);
		return CER_FAIL;
	}
	return CER_OK;
}

int
cer_token_open(struct cer_run *r)
{
	uint8_t secret[CER_SHARE_MAX_SECRET];
	char pin[2 * CER_SHARE_MAX_SECRET + 1];
	size_t len;
	int rc;

	rc = cer_secret(r, CER_SECRET_USER_PIN, r->o->user, r->o->nuser,
	    r->st.user_id, secret, &len);
	if (rc == CER_OK) {
		cer_pin(secret, len, pin);
		rc = cer_token_login(r, pin, 1);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(pin, sizeof(pin));
	return rc;
}

int
cer_run_seal(struct cer_run *r)
{
	char *st = NULL;
	size_t len;
	int rc = CER_ERR;

	if (cer_tx_step(&r->tx, "confirmed=\"%s\" shares=\"%s\"",
	    r->confirmed, r->who) != CER_OK ||
	    cer_tx_sign(&r->tx, hsm_key_evp(r->root)) != CER_OK)
		goto out;
	if (cer_state_format(&r->st, &st, &len) != CER_OK ||
	    cer_out_add(&r->out, r->c->state, 0600, 1, st, len) != CER_OK ||
	    cer_out_add(&r->out, r->c->transcript, 0644, 1, r->tx.buf,
	    r->tx.len) != CER_OK)
		goto out;
	hsm_key_free(r->root);
	r->root = NULL;
	hsm_close(r->hsm);
	r->hsm = NULL;
	rc = CER_OK;
out:
	free(st);
	return rc;
}

void
cer_run_end(struct cer_run *r)
{
	cer_out_abort(&r->out);
	hsm_key_free(r->root);
	hsm_close(r->hsm);
	X509_free(r->root_cert);
	cer_tx_free(&r->tx);
	cer_conf_free(r->c);
	OPENSSL_cleanse(&r->st, sizeof(r->st));
	memset(r, 0, sizeof(*r));
}

int
cer_run_finish(struct cer_run *r)
{
	int rc;

	if ((rc = cer_run_seal(r)) != CER_OK)
		return rc;
	return cer_out_commit(&r->out);
}
