/*
 * Fuzz target for the device client's response parsing: the certs-only
 * PKCS#7 walker (every certificate span inside the input, in order, each a
 * DER SEQUENCE), the HTTP response parser and the base64 body decoder.
 */
#include <stdint.h>
#include <stdlib.h>

#include "sdev_local.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdev_span certs[SDEV_MAX_CERTS];
	struct sdev_http_resp r;
	static uint8_t out[SDEV_MAX_BODY];
	const uint8_t *prev = data;
	size_t n = 0, i, len;

	if (size > SDEV_MAX_HTTP)
		return 0;
	if (sdev_pkcs7_certs(data, size, certs, SDEV_MAX_CERTS, &n) ==
	    SDEV_OK) {
		if (n == 0)
			abort();
		for (i = 0; i < n; i++) {
			if (certs[i].ptr < prev || certs[i].len < 2 ||
			    certs[i].ptr + certs[i].len > data + size ||
			    certs[i].ptr[0] != 0x30)
				abort();
			prev = certs[i].ptr + certs[i].len;
		}
	} else if (n != 0)
		abort();
	if (sdev_http_parse(data, size, size & 1, &r) == SDEV_OK &&
	    r.complete) {
		if (r.body.ptr < data || r.body.ptr + r.body.len != data + size)
			abort();
		(void)sdev_b64_decode(r.body.ptr, r.body.len, out,
		    sizeof(out), &len);
	}
	return 0;
}
