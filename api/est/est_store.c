/*
 * The engine's CA certificates (a CACERTS reply) into a front end's
 * client trust store, so that certificates Signet issued authenticate
 * their own renewal.  Both front ends fetch them from the engine and
 * add them here; each keeps its own policy for a failure (https goes on,
 * coap retries the whole refresh later).
 */
#include "signet/est.h"

int
est_store_add(X509_STORE *store, const struct proto_blob *certs, size_t n)
{
	const unsigned char *p;
	X509 *x;
	size_t i;
	int rc = EST_OK;

	for (i = 0; i < n; i++) {
		p = certs[i].ptr;
		if (p == NULL ||
		    (x = d2i_X509(NULL, &p, (long)certs[i].len)) == NULL) {
			rc = EST_E_CERT;
			continue;
		}
		/* OpenSSL 3 returns success for a certificate already in. */
		if (X509_STORE_add_cert(store, x) != 1)
			rc = EST_E_CERT;
		X509_free(x);
	}
	return rc;
}
