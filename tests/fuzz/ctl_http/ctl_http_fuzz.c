/*
 * Fuzz target: signetctl's HTTP response parser, over every prefix the
 * network could have delivered (eof or not), with the decoded-body
 * buffer exactly as large as ctl.h promises is enough; a complete answer
 * must point inside its buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *data, size_t size, int eof)
{
	struct ctl_http_resp r;
	uint8_t *buf, *out;

	/* Copies of exactly size bytes, so ASan sees any overread. */
	if ((buf = malloc(size ? size : 1)) == NULL ||
	    (out = malloc(size + 1)) == NULL) {
		free(buf);
		return;
	}
	memcpy(buf, data, size);
	if (ctl_http_parse(buf, size, eof, out, &r) == CTL_OK) {
		if (r.status < 200 || r.status > 599)
			abort();
		if (!((r.body >= buf && r.body + r.body_len <= buf + size) ||
		    (r.body >= out && r.body + r.body_len <= out + size)))
			abort();
		if (r.body_len > CTL_MAX_BODY)
			abort();
	}
	free(out);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > CTL_MAX_RESPONSE)
		return 0;
	check(data, size, 0);
	check(data, size, 1);
	if (size > 1)
		check(data, size / 2, 0);
	return 0;
}
