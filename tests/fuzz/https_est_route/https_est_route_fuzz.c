/*
 * Fuzz target: the EST and ACME routers, serials, names, numbers and
 * media types,
 * all of which see request paths, query values and headers verbatim.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "https.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct https_est_route r;
	struct https_acme_route ar;
	uint8_t serial[PROTO_MAX_SERIAL];
	char *s;
	uint64_t v;
	size_t n;

	if (https_est_route(data, size, &r) == HTTPS_OK) {
		if (r.op < HTTPS_EST_CACERTS || r.op > HTTPS_EST_SERVERKEYGEN)
			abort();
		if (r.label[0] != '\0' && !https_name_ok(r.label))
			abort();
	}
	/* Any client-facing operation; never the validator's own. */
	if (https_acme_route(data, size, &ar) == HTTPS_OK &&
	    (ar.op < PROTO_ACME_DIRECTORY || ar.op >= PROTO_ACME_OP_MAX ||
	    ar.op == PROTO_ACME_VA_NEXT || ar.op == PROTO_ACME_VA_RESULT ||
	    ar.label[0] == '\0' || strlen(ar.id) > HTTPS_MAX_ACME_ID ||
	    ar.page < 0 || ar.page > HTTPS_MAX_ACME_PAGE ||
	    (ar.page != 0 && ar.op != PROTO_ACME_ORDERS)))
		abort();
	if (https_serial_parse(data, size, serial, &n) == HTTPS_OK &&
	    (n == 0 || n > PROTO_MAX_SERIAL))
		abort();
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	https_name_ok(s);
	https_uint_parse(s, UINT32_MAX, &v);
	https_media_is(s, "application/pkcs10");
	free(s);
	return 0;
}
