/*
 * Fuzz target: the strict JSON parser of /v1 bodies, with an arena of
 * exactly len + 1 bytes (the bound https.h promises is enough), then the
 * lookups and the PEM CSR decoding the sign route does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "https.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t der[PROTO_MAX_CSR];
	struct https_json *j;
	const char *s;
	char *arena;
	uint64_t v;
	size_t i, k, n;

	if (size > HTTPS_MAX_JSON)
		return 0;
	if ((j = malloc(sizeof(*j))) == NULL ||
	    (arena = malloc(size + 1)) == NULL) {
		free(j);
		return 0;
	}
	if (https_json_parse(data, size, arena, size + 1, j) == HTTPS_OK) {
		for (i = 0; i < j->n; i++) {
			/* Every string is NUL-terminated inside the arena. */
			if (strlen(j->m[i].name) > size)
				abort();
			for (k = 0; k < j->m[i].nitems; k++)
				if (strlen(j->m[i].items[k]) > size)
					abort();
		}
		if (https_json_str(j, "csr", &s) == HTTPS_OK)
			https_pem_decode((const uint8_t *)s, strlen(s),
			    "CERTIFICATE REQUEST", der, sizeof(der), &n);
		https_json_u64(j, "ttl", &v);
	}
	free(arena);
	free(j);
	return 0;
}
