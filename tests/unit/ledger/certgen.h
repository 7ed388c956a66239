/*
 * Test certificates for the ledger: a signed certificate and the intent
 * that reserves it (serial and TBS hash match the DER).
 */
#ifndef SIGNET_TEST_CERTGEN_H
#define SIGNET_TEST_CERTGEN_H

#include <openssl/evp.h>

#include <signet/ledger.h>

struct test_cert {
	struct ledger_intent	 in;
	uint8_t			*der;
	size_t			 der_len;
	char			 cn[64];
	char			 sans[128];
};

/*
 * A certificate for cn with serial id (big-endian, 8 bytes), valid from
 * not_before to not_after, signed by key; in.tenant is tenant and the
 * rest of the intent has fixed test values.  Aborts on failure.
 */
void	certgen(EVP_PKEY *key, uint64_t id, const char *tenant,
	    const char *cn, int64_t not_before, int64_t not_after,
	    struct test_cert *c);
void	certgen_free(struct test_cert *c);
/* An audit record for issuing c. */
void	certgen_audit(const struct test_cert *c, struct audit_record *rec);
/*
 * Issue c on l: reserve, then commit with certgen_audit's record; the
 * first result that is not LEDGER_OK, else LEDGER_OK.
 */
int	certgen_issue(struct ledger *l, const struct test_cert *c);

/* A SQLite ledger in a fresh temporary directory, for one test file. */
struct sqfx {
	char		 dir[64];
	char		 path[128];
	struct ledger	*l;
};
/* Opens it under /tmp/signet-<tag>-XXXXXX: 0, or -1. */
int	sqfx_open(struct sqfx *f, const char *tag);
/* Closes it (if open) and removes the database, its WAL and directory. */
void	sqfx_close(struct sqfx *f);

#endif
