/*
 * Fuzz target for the engine message decoders (STYLE.md 11).  Two paths:
 * the whole input as a datagram (header checks, then the request or reply
 * decoder its type names), and the first byte choosing a type for the
 * rest, so the body decoders are reached without a valid header.
 *
 * The whole input also goes to the decoder of signetd's control datagram
 * (the failed children, issue 18).
 *
 * Oracle beyond "no crash": whatever decodes must encode back to exactly
 * the same bytes, since the encoding is canonical.  (Admission is the
 * engine's dispatch table, firmware/engine/eng_dispatch.c.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signet/proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint8_t out[PROTO_MAX_MSG];
static struct proto_request req;
static struct proto_reply rep;

static void
check_request(uint16_t type, const uint8_t *body, size_t len)
{
	size_t olen;

	if (proto_request_decode(type, body, len, &req) != PROTO_OK)
		return;
	if (proto_request_encode(&req, out, sizeof(out), &olen) != PROTO_OK ||
	    olen != len || memcmp(out, body, len) != 0)
		abort();
	proto_wipe(&req, sizeof(req));
}

static void
check_reply(uint16_t type, const uint8_t *body, size_t len)
{
	size_t olen;

	if (proto_reply_decode(type, body, len, &rep) != PROTO_OK)
		return;
	if (proto_reply_encode(&rep, out, sizeof(out), &olen) != PROTO_OK ||
	    olen != len || memcmp(out, body, len) != 0)
		abort();
	if (proto_result_name(rep.status.result) == NULL)
		abort();
}

static void
check_ctl(const uint8_t *data, size_t len)
{
	static struct proto_failed f[PROTO_MAX_FAILED];
	uint8_t n;
	size_t olen;

	if (proto_ctl_failed_decode(data, len, f, &n) != PROTO_OK)
		return;
	if (proto_ctl_failed_encode(f, n, out, sizeof(out), &olen) !=
	    PROTO_OK || olen != len || memcmp(out, data, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_hdr h;
	const uint8_t *body;
	uint16_t type;

	if (proto_hdr_parse(data, size, &h, &body) == PROTO_OK) {
		if (h.type & PROTO_T_REPLY)
			check_reply(h.type, body, h.len);
		else
			check_request(h.type, body, h.len);
	}
	check_ctl(data, size);
	if (size >= 1) {
		/* One past the last type too, to keep TYPE errors covered. */
		type = data[0] % (PROTO_T_MAX + 1);
		check_request(type, data + 1, size - 1);
		check_reply(type, data + 1, size - 1);
	}
	return 0;
}
