/*
 * Fuzz target for the device client's CoAP decoder: whatever decodes must
 * stay inside the input, re-encode, and decode again to the same message;
 * the block option values of a message parse or are refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdev_local.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdev_coap_msg m, m2;
	struct sdev_block b;
	uint8_t out[4096];
	size_t len, i;
	uint32_t v;

	if (size > 2048 || sdev_coap_decode(data, size, &m) != SDEV_OK)
		return 0;
	for (i = 0; i < m.nopt; i++) {
		if (m.opt[i].len > 0 && (m.opt[i].val < data ||
		    m.opt[i].val + m.opt[i].len > data + size))
			abort();
	}
	if (m.plen > 0 && m.payload + m.plen != data + size)
		abort();
	if (sdev_coap_get_uint(&m, SDEV_OPT_BLOCK2, &v) == SDEV_OK &&
	    sdev_coap_block_parse(v, &b) == SDEV_OK &&
	    sdev_coap_block_value(&b) != v)
		abort();
	/* The encoder writes the canonical form of what was decoded. */
	if (sdev_coap_encode(&m, out, sizeof(out), &len) != SDEV_OK ||
	    len > size || sdev_coap_decode(out, len, &m2) != SDEV_OK ||
	    m2.nopt != m.nopt || m2.plen != m.plen || m2.code != m.code ||
	    m2.mid != m.mid || m2.tkl != m.tkl)
		abort();
	for (i = 0; i < m.nopt; i++) {
		if (m2.opt[i].num != m.opt[i].num ||
		    m2.opt[i].len != m.opt[i].len ||
		    memcmp(m2.opt[i].val, m.opt[i].val, m.opt[i].len) != 0)
			abort();
	}
	return 0;
}
