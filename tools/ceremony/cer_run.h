/*
 * What every verb shares (cer_run.c): loading the ceremony file, state
 * and root certificate, asking for confirmation, reading shares, opening
 * the token, and finishing (transcript signed, outputs committed).
 */
#ifndef SIGNET_CER_RUN_H
#define SIGNET_CER_RUN_H

#include <openssl/x509.h>

#include "cer.h"

struct cer_opts {
	const char *conf;
	int yes;
	const char *user[CER_CUSTODIANS + 1];
	size_t nuser;
	const char *so[CER_CUSTODIANS + 1];
	size_t nso;
	const char *kek[CER_CUSTODIANS + 1];
	size_t nkek;
	const char *cert;	/* revoke: the certificate; verify: root */
	const char *transcript;	/* verify-transcript without -f */
	const char *out;	/* cross-sign: the certificate to write */
	int reason;		/* revoke: RFC 5280 5.3.1 CRLReason */
};

struct cer_run {
	const struct cer_opts *o;
	struct cer_conf *c;
	struct cer_state st;
	struct cer_tx tx;
	struct cer_out out;
	struct hsm *hsm;
	struct hsm_key *root;
	X509 *root_cert;
	char who[256];		/* custodians whose shares were combined */
	char confirmed[64];
};

/* Loads the file; with existing, also the state, root and transcript. */
int cer_run_begin(struct cer_run *r, const struct cer_opts *o,
    const char *verb, int existing);
/* Prints the plan and asks (unless -y); CER_FAIL if declined. */
int cer_confirm(struct cer_run *r, const char *plan);
/*
 * Reads and combines the shares of one secret (from files, or typed
 * without echo), checking them against want_id (hex, may be "").
 */
int cer_secret(struct cer_run *r, enum cer_secret kind,
    const char *const *files, size_t nfiles, const char *want_id,
    uint8_t *secret, size_t *len);
/* The PIN behind a PIN secret: its hex, NUL-terminated. */
void cer_pin(const uint8_t *secret, size_t len, char *pin);
/* Reads the user-PIN shares and opens the token with the root key. */
int cer_token_open(struct cer_run *r);
/* Opens the token with pin (wiped); finds the root key if asked. */
int cer_token_login(struct cer_run *r, char *pin, int find_root);
/* Signs the transcript and stages it and the state; closes the token. */
int cer_run_seal(struct cer_run *r);
/* Signs the transcript, stages it and the state, commits every output. */
int cer_run_finish(struct cer_run *r);
void cer_run_end(struct cer_run *r);
/* PEM of a certificate or CRL into malloc'd memory. */
int cer_pem_cert(X509 *x, char **out, size_t *len);
int cer_pem_crl(X509_CRL *crl, char **out, size_t *len);
X509 *cer_load_cert(const char *path);

/* Share files (cer_init.c): <shares_dir>/<custodian>.<kind>.share. */
int cer_share_path(const struct cer_conf *c, size_t i, enum cer_secret kind,
    char *out, size_t size);
/* Stages custodian i's share file and records it in the transcript. */
int cer_share_stage(struct cer_run *r, const struct cer_share *s, size_t i);

int cer_init(const struct cer_opts *o);
int cer_sign(const struct cer_opts *o);
int cer_cross_sign(const struct cer_opts *o);
int cer_revoke(const struct cer_opts *o);
int cer_crl(const struct cer_opts *o);
int cer_backup(const struct cer_opts *o);
int cer_restore(const struct cer_opts *o);
int cer_verify_transcript(const struct cer_opts *o);

#endif
