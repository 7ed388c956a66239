/*
 * Fuzz target: the SoftHSM object-file check of the token file guard.  It
 * reads files a kill or power cut may have cut anywhere: it must never
 * read past the buffer, a generation number alone is never a whole
 * object, and a whole file cut by one byte is never whole.
 */
#include <stdint.h>
#include <stdlib.h>

#include <signet/hsm.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 8 && hsm_guard_object_valid(data, 8))
		abort();
	if (size > 0 && hsm_guard_object_valid(data, size) &&
	    hsm_guard_object_valid(data, size - 1))
		abort();
	return 0;
}
