/*
 * The engine's end of a front end's engine channel, for the tests of
 * api/https: a SOCK_SEQPACKET socketpair carrying real engine messages,
 * encoded and decoded by api/proto as the engine does.  Nothing of
 * signet-https is replaced.
 */
#ifndef HTTPS_TEST_PEER_H
#define HTTPS_TEST_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "signet/proto.h"

/* One request as the engine received it; blobs point into buf. */
struct peer_msg {
	struct proto_hdr	h;
	struct proto_request	req;
	uint8_t			buf[PROTO_MAX_MSG];
};

/* A SOCK_SEQPACKET pair: fds[0] for the front end, fds[1] the engine's. */
void	peer_pair(int fds[2]);
/* Waits at most timeout_ms for a datagram; 1 if one is there, else 0. */
int	peer_ready(int fd, int timeout_ms);
/* Reads and decodes one request (blocking); returns PROTO_OK or error. */
int	peer_recv(int fd, struct peer_msg *m);
/* Sends rep as the reply to request id (type: rep->type | REPLY). */
int	peer_reply(int fd, uint32_t id, const struct proto_reply *rep);
/* A reply of type with result, message and retry-after; fields zero. */
void	peer_status(struct proto_reply *rep, uint16_t type, int result,
	    const char *msg, uint32_t retry_after);
/* A self-signed P-256 certificate with this CN as DER (OPENSSL_free). */
size_t	peer_cert(const char *cn, uint8_t **der);

#endif /* HTTPS_TEST_PEER_H */
