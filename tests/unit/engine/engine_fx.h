/*
 * Engine test fixture: a SoftHSMv2 token with two intermediate keys
 * (tenants acme and beta), their certificates under the test root, a
 * hand-built struct sconf, a SQLite ledger, and helpers that make CSRs
 * and client certificates and send requests through eng_engine_request.
 */
#ifndef SIGNET_ENGINE_FX_H
#define SIGNET_ENGINE_FX_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <signet/engine.h>
#include <signet/hsm.h>
#include <signet/ledger.h>
#include <signet/proto.h>
#include <signet/sconf.h>
#include <testtoken.h>

struct efx {
	struct test_token	 tok;
	char			 dir[600];
	char			 db[700];
	struct hsm		*hsm;
	struct ledger		*ledger;
	struct sconf		*conf;	/* freed with the runtime */
	struct eng_engine	*e;
	EVP_PKEY		*root_key;
	X509			*root;
	EVP_PKEY		*leaf_key;	/* key of every test CSR */
	uint8_t			 rbuf[PROTO_MAX_BODY];
};

/* Set up everything; faultvfs is installed before the ledger opens. */
void	efx_init(struct efx *f);
void	efx_free(struct efx *f);

/* A DER CSR for the names (DNS), CN = first name; free() it. */
uint8_t	*efx_csr(struct efx *f, const char *const *names, size_t n,
	    size_t *len);
/* A client certificate from the test root (the client CA). */
X509	*efx_client(struct efx *f, const char *cn, long from, long to);

/* Evidence: none, a certificate (DER of x), or a token secret. */
void	efx_ev_cert(struct proto_request *req, int peer, X509 *x,
	    uint8_t *der, size_t size);
void	efx_ev_token(struct proto_request *req, const char *secret);

/*
 * Encode req, run it through the engine as peer, decode the reply into
 * rep (blobs point into f->rbuf).  Returns eng_engine_request's result.
 */
int	efx_call(struct efx *f, int peer, struct proto_request *req,
	    struct proto_reply *rep);
/* Fails the test unless rep has result and (if not NULL) substr. */
void	efx_expect(const struct proto_reply *rep, int result,
	    const char *substr);

#endif
