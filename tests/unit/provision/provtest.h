/*
 * Support for the provisioning unit tests: a SoftHSMv2 token, a scratch
 * data directory, the verbs run in a child (they end with errx on a
 * refusal, as the CLI does) and certificates made with token keys.
 */
#ifndef SIGNET_PROVTEST_H
#define SIGNET_PROVTEST_H

#include <stddef.h>

#include <openssl/x509.h>

#include <signet/hsm.h>

#include "testtoken.h"

struct prov_fx {
	struct test_token tok;
	struct hsm *h;
	char dir[512]; /* scratch, removed by teardown */
};

void prov_fx_setup(struct prov_fx *f);
void prov_fx_teardown(struct prov_fx *f);
/* dir/rel into buf. */
const char *prov_path(struct prov_fx *f, char *buf, size_t size,
    const char *rel);

typedef int (*prov_fn)(struct prov_fx *f, const void *arg);
/*
 * Runs fn in a child with stdout and stderr captured into out (what the
 * operator sees); returns the child's exit status, or fn's return value
 * when it returns instead of exiting.
 */
int prov_child(struct prov_fx *f, prov_fn fn, const void *arg, char *out,
    size_t size);

/* Fails the test, showing out, unless out holds want. */
#define assert_out(out, want)                                             \
	do {                                                              \
		const char *out_ = (out);                                 \
                                                                          \
		if (strstr(out_, (want)) == NULL)                         \
			fail_msg("\"%s\" not in the output:\n%s", (want), \
			    out_);                                        \
	} while (0)

/* A token key, made when missing. */
struct hsm_key *prov_key(struct prov_fx *f, const char *label);
/* A certificate for pub signed by signer (issuer NULL: self-signed);
 * bc, ku and nc in openssl.cnf syntax (nc NULL: none). */
X509 *prov_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *signer,
    const char *bc, const char *ku, const char *nc);
void prov_write(const char *path, X509 *x);
X509 *prov_read(const char *path);
/* X509_V_OK if leaf verifies to root through inter (may be NULL). */
int prov_verify(X509 *leaf, X509 *inter, X509 *root, int purpose);
int prov_mode(const char *path); /* permission bits, -1 if absent */

#endif
