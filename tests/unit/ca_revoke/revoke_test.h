/*
 * Shared fixture of the revocation tests: a SoftHSMv2 token holding the
 * intermediate's P-256 key, the intermediate certificate signed by the
 * test root, the ca_test tenant "a" around it, and a SQLite ledger in
 * the token's temporary directory.  Leaves are issued with ca_issue and
 * recorded in the ledger as the engine will (reserve, then commit).
 */
#ifndef SIGNET_REVOKE_TEST_H
#define SIGNET_REVOKE_TEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include <signet/ca.h>
#include <signet/ca_revoke.h>
#include <signet/hsm.h>
#include <signet/ledger.h>
#include <testtoken.h>

#include "ca_test.h"

struct rv_fx {
	struct test_token tok;
	struct hsm *hsm;
	struct hsm_key *key;
	struct ca_signer *signer;
	X509 *inter;
	struct ca_test_env env;
	struct ledger *ledger;
	char db[700];
};

void rv_setup(struct rv_fx *f);
void rv_teardown(struct rv_fx *f);
void rv_reopen(struct rv_fx *f);
/* Issues a leaf under tenant a, profile web; recorded as ISSUED. */
X509 *rv_issue(struct rv_fx *f, struct ledger_serial *serial);
void rv_revoke(struct rv_fx *f, const struct ledger_serial *s, int reason);
/* A certificate for pub signed by the token's intermediate key. */
X509 *rv_sign_cert(struct rv_fx *f, EVP_PKEY *pub, const char *cn,
    int ocsp_signing);
/* Path of name inside the fixture's temporary directory. */
const char *rv_path(struct rv_fx *f, const char *name);
void rv_write_pem(const char *path, X509 *x);
/* root.pem, inter.pem and chain.pem (root then intermediate). */
void rv_write_chain(struct rv_fx *f);
void rv_write_file(const char *path, const uint8_t *p, size_t len);
uint8_t *rv_read_file(const char *path, size_t *len);

#endif
