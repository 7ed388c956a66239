/*
 * Helpers of the signet_acme unit tests: keys, their JWKs, and JWS bodies
 * signed the way an ACME client signs them.  Every returned string is
 * malloc'd and freed by the caller.
 */
#ifndef ACME_TESTUTIL_H
#define ACME_TESTUTIL_H

#include <openssl/evp.h>

#include "acme.h"

EVP_PKEY	*tu_key(enum acme_alg);
char		*tu_jwk(EVP_PKEY *);
char		*tu_b64(const void *, size_t);
/* {"protected":b64(hdr),"payload":b64(payload),"signature":...} */
char		*tu_jws(enum acme_alg, EVP_PKEY *, const char *hdr,
		    const char *payload);
char		*tu_jws_hmac(const uint8_t *key, size_t keylen,
		    const char *hdr, const char *payload);
/* The same with the raw signature bytes handed back (for tampering). */
char		*tu_sprintf(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

#endif
