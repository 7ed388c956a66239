/*
 * Internals shared by the files of signet_acme; not part of its
 * interface (acme.h).
 */
#ifndef SIGNET_ACME_LOCAL_H
#define SIGNET_ACME_LOCAL_H

#include "acme.h"

/* What an account key is, as far as the JWS algorithms care. */
enum acme_kind {
	ACME_KIND_NONE = 0, ACME_KIND_P256, ACME_KIND_P384, ACME_KIND_RSA,
	ACME_KIND_ED25519
};

enum acme_kind	acme_key_kind(EVP_PKEY *);

#endif /* SIGNET_ACME_LOCAL_H */
