/*
 * DTLS ClientHello reading and HelloVerifyRequest writing for the
 * stateless cookie check that signet-coap runs in front of libcoap
 * (ec_gate.c; docs/decisions.md "Spoofed DTLS ClientHello floods").
 *
 * libcoap (4.3.1 and 4.3.4 alike) makes a session for every ClientHello
 * from a new source address before any cookie has come back, and keeps
 * it up to 30 s; once max_coap_handshakes of them exist it ignores every
 * new source.  RFC 6347 4.2.1 lets a server answer a ClientHello with a
 * HelloVerifyRequest without keeping any state: the record sequence
 * number and message_seq are echoed, the cookie is the server's to
 * choose.  These two functions are that, over bytes only.
 *
 * Pure: no socket, no allocation, no logging; fuzzed by tests/fuzz/ec_hello
 * and unit-tested in tests/unit/coap/ec_hello_test.c.
 */
#ifndef SIGNET_EC_HELLO_H
#define SIGNET_EC_HELLO_H

#include <stddef.h>
#include <stdint.h>

#define EC_HELLO_REC_HDR	13	/* DTLS record header */
#define EC_HELLO_HS_HDR		12	/* DTLS handshake header */
#define EC_HELLO_COOKIE_MAX	32	/* RFC 6347 4.2.1; GnuTLS takes no more */
#define EC_HELLO_COOKIE_LEN	16	/* the cookies ec_gate.c hands out */
/* A HelloVerifyRequest carrying an EC_HELLO_COOKIE_MAX cookie. */
#define EC_HELLO_HVR_MAX	(EC_HELLO_REC_HDR + EC_HELLO_HS_HDR + 3 + \
				    EC_HELLO_COOKIE_MAX)

/* What a HelloVerifyRequest must echo, and the cookie the client sent. */
struct ec_hello {
	uint8_t		 seq[6];	/* record sequence number */
	uint16_t	 msg_seq;	/* handshake message_seq */
	const uint8_t	*cookie;	/* into the datagram; NULL if none */
	size_t		 cookie_len;
};

/*
 * 1 if the datagram's first record is a DTLS ClientHello in epoch 0 whose
 * first fragment holds everything up to and including the cookie (h is
 * filled in), 0 for anything else: other records, later fragments,
 * lengths that do not add up, cookies over EC_HELLO_COOKIE_MAX.
 */
int	ec_hello_parse(const uint8_t *p, size_t len, struct ec_hello *h);

/*
 * Writes the HelloVerifyRequest answering h with cookie (cookie_len <=
 * EC_HELLO_COOKIE_MAX) into out; its length, or 0 if it does not fit.
 * Record and server_version are DTLS 1.0 (0xfeff), as RFC 6347 4.2.1
 * asks of a server that has not chosen a version yet.
 */
size_t	ec_hello_verify_request(const struct ec_hello *h,
	    const uint8_t *cookie, size_t cookie_len, uint8_t *out,
	    size_t outlen);

#endif /* SIGNET_EC_HELLO_H */
