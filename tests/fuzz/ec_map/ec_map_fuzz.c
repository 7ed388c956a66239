/*
 * Fuzz target: the EST-coaps request mapping, the Block1 admission and
 * the /.well-known/core query filter.
 * Input: u8 method, u8 flags (bit 0 has_ct, bit 1 has_accept), u16 ct,
 * u16 accept, u8 path length, path, then the body; the first 24 body
 * bytes double as Block1 numbers, the whole body as a query.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "signet/ec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint64_t
u64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ec_in in;
	struct ec_out out;
	size_t plen;
	int rc;

	if (size < 7)
		return 0;
	memset(&in, 0, sizeof(in));
	in.method = data[0] % 4;
	in.has_ct = data[1] & 1;
	in.has_accept = (data[1] >> 1) & 1;
	in.ct = (unsigned)data[2] << 8 | data[3];
	in.accept = (unsigned)data[4] << 8 | data[5];
	plen = data[6];
	in.max_body = (data[1] & 4) ? 64 : EC_MAX_BODY;
	data += 7;
	size -= 7;
	if (plen > size)
		plen = size;
	in.path = data;
	in.pathlen = plen;
	in.body = data + plen;
	in.bodylen = size - plen;
	rc = ec_map(&in, &out);
	/* Invariants: an operation xor an error with a reason. */
	if ((rc == 0) != (out.op != EC_OP_NONE) || (rc != 0 &&
	    out.diag == NULL) || strlen(out.label) > EC_MAX_LABEL)
		__builtin_trap();
	if (out.csr != NULL && (out.csr < in.body || out.csrlen >
	    in.bodylen || out.csrlen > in.max_body))
		__builtin_trap();
	if (in.bodylen >= 24) {
		rc = ec_block1_check(u64(in.body), (size_t)(u64(in.body + 8) &
		    0xffff), u64(in.body + 16), 512, 4096);
		if (rc == EC_BLK_APPEND && u64(in.body) + (u64(in.body + 8) &
		    0xffff) > 4096)
			__builtin_trap();
	}
	/* The query filter: any bytes; a match of the link's own rt. */
	rc = ec_link_filter(in.body, in.bodylen, "ace.est.sen", "/est/sen");
	if (in.bodylen == 0 && rc != 1)
		__builtin_trap();
	if (ec_link_filter((const uint8_t *)"rt=ace.est.sen", 14,
	    "ace.est.sen", "/est/sen") != 1)
		__builtin_trap();
	return 0;
}
