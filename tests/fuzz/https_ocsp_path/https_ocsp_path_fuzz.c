/*
 * Fuzz target: the OCSP GET path decoder, fed both as is and behind the
 * "/ocsp/" prefix so the decoder itself is reached on every input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "https.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t path[HTTPS_MAX_OCSP_PATH + 16];
	static uint8_t der[PROTO_MAX_OCSP_REQ];
	size_t n;

	if (https_ocsp_path(data, size, der, sizeof(der), &n) == HTTPS_OK &&
	    (n == 0 || n > sizeof(der)))
		abort();
	if (size > HTTPS_MAX_OCSP_PATH)
		return 0;
	memcpy(path, "/ocsp/", 6);
	memcpy(path + 6, data, size);
	if (https_ocsp_path(path, size + 6, der, sizeof(der), &n) ==
	    HTTPS_OK && (n == 0 || n > sizeof(der)))
		abort();
	return 0;
}
