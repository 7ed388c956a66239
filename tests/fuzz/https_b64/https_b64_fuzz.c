/*
 * Fuzz target: base64 in every mode the front end uses (EST bodies, OCSP
 * paths, Basic credentials), PEM blocks and Authorization headers.  A
 * decode that succeeds must re-encode to input that decodes the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "https.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[HTTPS_MAX_B64_BODY], again[HTTPS_MAX_B64_BODY];
	static char txt[HTTPS_MAX_B64_BODY * 2];
	static const int modes[] = { 0, HTTPS_B64_WS, HTTPS_B64_URL,
	    HTTPS_B64_ANY, HTTPS_B64_NOPAD | HTTPS_B64_WS };
	char tok[PROTO_MAX_TOKEN + 1];
	size_t i, n, m, t;

	if (size > HTTPS_MAX_B64_BODY)
		return 0;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (https_b64_decode(data, size, modes[i], out, sizeof(out),
		    &n) != HTTPS_OK)
			continue;
		if (https_b64_encode(out, n, txt, sizeof(txt), &t) != HTTPS_OK)
			abort();
		if (https_b64_decode((uint8_t *)txt, t, HTTPS_B64_WS, again,
		    sizeof(again), &m) != HTTPS_OK || m != n ||
		    memcmp(out, again, n) != 0)
			abort();
	}
	https_pem_decode(data, size, "CERTIFICATE REQUEST", out, sizeof(out),
	    &n);
	https_pct_decode(data, size, out, sizeof(out), &n);
	if (https_auth_token(data, size, tok) == HTTPS_OK &&
	    (strlen(tok) == 0 || strlen(tok) > PROTO_MAX_TOKEN))
		abort();
	return 0;
}
