/*
 * Fuzz target: the request-head scanner, fed the input in pieces of
 * every size the first byte picks (as TLS records and reads split it),
 * must find the same end and the same length as in one piece; and the
 * Content-Length check on the input split into field values at NULs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "https.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_HEAD	4096

static int
scan(const uint8_t *p, size_t n, size_t step, size_t *end)
{
	struct https_head h;
	size_t off = 0, k, used;
	int rc = HTTPS_E_MORE;

	https_head_init(&h);
	while (off < n) {
		k = n - off < step ? n - off : step;
		rc = https_head_scan(&h, p + off, k, FUZZ_MAX_HEAD, &used);
		if (used > k)
			abort();
		if (rc != HTTPS_E_MORE) {
			*end = off + used;
			return rc;
		}
		off += k;
	}
	*end = off;
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *vals[8];
	size_t e1, e2, n = 0, i, start = 0;
	uint64_t len;
	char *s;
	int r1, r2;

	if (size == 0)
		return 0;
	r1 = scan(data + 1, size - 1, size, &e1);
	r2 = scan(data + 1, size - 1, (size_t)data[0] % 16 + 1, &e2);
	if (r1 != r2 || (r1 == HTTPS_OK && e1 != e2))
		abort();
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i <= size && n < 8; i++)
		if (s[i] == '\0') {
			vals[n++] = s + start;
			start = i + 1;
		}
	if (https_content_length(vals, n, &len) == HTTPS_OK &&
	    len > 999999999999999999ULL)
		abort();
	free(s);
	return 0;
}
