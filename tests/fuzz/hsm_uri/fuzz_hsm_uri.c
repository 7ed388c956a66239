/*
 * Fuzz target: RFC 7512 pkcs11: URI parser.  Whatever it accepts must be
 * NUL-terminated text within its fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <signet/hsm.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsm_uri u;

	if (hsm_uri_parse(data, size, &u) == HSM_OK) {
		if (memchr(u.token, 0, sizeof(u.token)) == NULL ||
		    memchr(u.object, 0, sizeof(u.object)) == NULL ||
		    memchr(u.serial, 0, sizeof(u.serial)) == NULL ||
		    memchr(u.module_path, 0, sizeof(u.module_path)) == NULL ||
		    u.id_len > sizeof(u.id))
			abort();
		if ((u.present & HSM_URI_OBJECT) && strlen(u.object) >
		    HSM_MAX_LABEL)
			abort();
	} else if (u.present != 0) {
		/* A refused URI leaves nothing behind. */
		abort();
	}
	return 0;
}
