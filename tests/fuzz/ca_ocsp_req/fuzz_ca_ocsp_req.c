/*
 * Fuzz target for the OCSP request parser (RFC 6960 4.1.1): a pure
 * function over network bytes, so anything it accepts must also be
 * internally consistent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <signet/ca_revoke.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_ocsp_req r;
	struct ca_err err;
	size_t i;

	if (ca_ocsp_req_parse(data, size, &r, &err) != CA_OK)
		return 0;
	/* Invariants of an accepted request. */
	if (r.nids == 0 || r.nids > CA_MAX_OCSP_SINGLE ||
	    r.nonce_len > CA_MAX_OCSP_NONCE ||
	    (r.has_nonce && r.nonce_len == 0))
		abort();
	for (i = 0; i < r.nids; i++) {
		if ((r.ids[i].hash_len != 20 && r.ids[i].hash_len != 32) ||
		    r.ids[i].serial_len == 0 ||
		    r.ids[i].serial_len > CA_MAX_OCSP_SERIAL ||
		    r.ids[i].der_len > CA_MAX_OCSP_CERTID ||
		    r.ids[i].der_len > size)
			abort();
	}
	return 0;
}
