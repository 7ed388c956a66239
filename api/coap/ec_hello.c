/*
 * DTLS ClientHello in, HelloVerifyRequest out (signet/ec_hello.h).
 * Wire formats: RFC 6347 4.1 (record), 4.2.2 (handshake header), 4.2.1
 * (HelloVerifyRequest); RFC 5246 7.4.1.2 with RFC 6347 4.2.1's cookie
 * (ClientHello).
 */
#include <string.h>

#include "signet/ec_hello.h"

#define CT_HANDSHAKE		22
#define HT_CLIENT_HELLO		1
#define HT_HELLO_VERIFY		3
#define DTLS_MAJOR		0xfe	/* DTLS 1.x versions: 0xfeff, 0xfefd */
#define DTLS10_MINOR		0xff

static uint32_t
get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static void
put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

int
ec_hello_parse(const uint8_t *p, size_t len, struct ec_hello *h)
{
	const uint8_t *hs, *body;
	size_t reclen, fraglen, sidlen, clen;

	memset(h, 0, sizeof(*h));
	if (len < EC_HELLO_REC_HDR + EC_HELLO_HS_HDR)
		return 0;
	/* Record: type, version, epoch 0 (nothing is encrypted yet). */
	if (p[0] != CT_HANDSHAKE || p[1] != DTLS_MAJOR || p[3] != 0 ||
	    p[4] != 0)
		return 0;
	reclen = (size_t)p[11] << 8 | p[12];
	if (reclen < EC_HELLO_HS_HDR || reclen > len - EC_HELLO_REC_HDR)
		return 0;
	hs = p + EC_HELLO_REC_HDR;
	/* Handshake: a ClientHello's first fragment, inside the record. */
	if (hs[0] != HT_CLIENT_HELLO || get24(hs + 6) != 0)
		return 0;
	fraglen = get24(hs + 9);
	if (fraglen > reclen - EC_HELLO_HS_HDR || fraglen > get24(hs + 1))
		return 0;
	body = hs + EC_HELLO_HS_HDR;
	/* client_version, random, session_id, cookie: all in the fragment. */
	if (fraglen < 2 + 32 + 1)
		return 0;
	sidlen = body[34];
	if (sidlen > 32 || fraglen < 2 + 32 + 1 + sidlen + 1)
		return 0;
	clen = body[35 + sidlen];
	if (clen > EC_HELLO_COOKIE_MAX || fraglen < 36 + sidlen + clen)
		return 0;
	memcpy(h->seq, p + 5, sizeof(h->seq));
	h->msg_seq = (uint16_t)(hs[4] << 8 | hs[5]);
	h->cookie = clen > 0 ? body + 36 + sidlen : NULL;
	h->cookie_len = clen;
	return 1;
}

size_t
ec_hello_verify_request(const struct ec_hello *h, const uint8_t *cookie,
    size_t cookie_len, uint8_t *out, size_t outlen)
{
	size_t body = 3 + cookie_len;
	size_t total = EC_HELLO_REC_HDR + EC_HELLO_HS_HDR + body;
	uint8_t *hs = out + EC_HELLO_REC_HDR;

	if (cookie_len > EC_HELLO_COOKIE_MAX || total > outlen)
		return 0;
	/* Record: DTLS 1.0, epoch 0, the ClientHello's sequence number. */
	out[0] = CT_HANDSHAKE;
	out[1] = DTLS_MAJOR;
	out[2] = DTLS10_MINOR;
	out[3] = 0;
	out[4] = 0;
	memcpy(out + 5, h->seq, sizeof(h->seq));
	out[11] = (uint8_t)((EC_HELLO_HS_HDR + body) >> 8);
	out[12] = (uint8_t)(EC_HELLO_HS_HDR + body);
	/* Handshake header: unfragmented, the ClientHello's message_seq. */
	hs[0] = HT_HELLO_VERIFY;
	put24(hs + 1, (uint32_t)body);
	hs[4] = (uint8_t)(h->msg_seq >> 8);
	hs[5] = (uint8_t)h->msg_seq;
	put24(hs + 6, 0);
	put24(hs + 9, (uint32_t)body);
	/* server_version DTLS 1.0, then the cookie. */
	hs[12] = DTLS_MAJOR;
	hs[13] = DTLS10_MINOR;
	hs[14] = (uint8_t)cookie_len;
	if (cookie_len > 0)
		memcpy(hs + 15, cookie, cookie_len);
	return total;
}
