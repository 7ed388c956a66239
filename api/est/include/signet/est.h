/*
 * The EST pieces both front ends share: api/https (EST, RFC 7030) and
 * api/coap (EST-coaps, RFC 9148) answer with the same certs-only PKCS#7
 * and trust the same engine CA certificates for their clients.
 *
 * A library: nothing here logs or exits; functions return EST_OK or an
 * EST_E_* code (est_strerror).  Nothing allocates but OpenSSL inside
 * est_store_add, which frees what it allocates.
 */
#ifndef SIGNET_EST_H
#define SIGNET_EST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "signet/proto.h"

enum est_err {
	EST_OK = 0,
	EST_E_ARG,	/* no certificates, too many, or not a certificate */
	EST_E_SPACE,	/* output buffer too small */
	EST_E_CERT	/* a certificate does not parse or is not added */
};

const char	*est_strerror(int err);

/*
 * RFC 7030 4.1.3 / RFC 8551 3.2.2: a certs-only CMS SignedData
 * (degenerate: no signers, no content) holding certs[0..n-1] in that
 * order, as DER, written into out.  1 to PROTO_MAX_CHAIN_CERTS
 * certificates, each of at most PROTO_MAX_CERT bytes; each is only
 * checked to start as a DER SEQUENCE (the engine built them).  The
 * bytes equal what OpenSSL's i2d_PKCS7 writes for the same content
 * (tests/unit/est).
 */
int	est_pkcs7_certs(const struct proto_blob *certs, size_t n,
	    uint8_t *out, size_t outsize, size_t *outlen);
/* The size est_pkcs7_certs writes for certs, or 0 if it would refuse. */
size_t	est_pkcs7_size(const struct proto_blob *certs, size_t n);

/*
 * Adds certs[0..n-1] (DER, as the engine's CACERTS reply carries them)
 * to store, so that clients whose chains end in them verify.  A
 * certificate already in the store is not an error.  Every certificate
 * that parses is added; returns EST_E_CERT if one did not parse or could
 * not be added, EST_OK otherwise.
 */
int	est_store_add(X509_STORE *store, const struct proto_blob *certs,
	    size_t n);

#endif /* SIGNET_EST_H */
