/*
 * Fuzz target: the DTLS ClientHello reader (any datagram a forged source
 * can send) and the HelloVerifyRequest written for what it accepted.
 * Input: the datagram.
 */
#include <stddef.h>
#include <stdint.h>

#include "signet/ec_hello.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[EC_HELLO_HVR_MAX];
	struct ec_hello h, back;
	size_t n;

	if (!ec_hello_parse(data, size, &h))
		return 0;
	/* Invariants: the cookie lies inside the datagram, within bounds. */
	if (h.cookie_len > EC_HELLO_COOKIE_MAX || (h.cookie_len > 0 &&
	    (h.cookie < data || h.cookie + h.cookie_len > data + size)) ||
	    (h.cookie_len == 0) != (h.cookie == NULL))
		__builtin_trap();
	/* Echoing its cookie back fits, and is no ClientHello itself. */
	n = ec_hello_verify_request(&h, h.cookie, h.cookie_len, out,
	    sizeof(out));
	if (n != EC_HELLO_REC_HDR + EC_HELLO_HS_HDR + 3 + h.cookie_len ||
	    ec_hello_parse(out, n, &back))
		__builtin_trap();
	return 0;
}
