/*
 * The engine's end of the channel for api/https tests (https_test_peer.h).
 */
#include <sys/socket.h>

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "https_test_peer.h"

void
peer_pair(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds), 0);
}

int
peer_ready(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

int
peer_recv(int fd, struct peer_msg *m)
{
	const uint8_t *body;
	int rc;

	memset(&m->req, 0, sizeof(m->req));
	if ((rc = proto_recv(fd, m->buf, sizeof(m->buf), &m->h, &body)) !=
	    PROTO_OK)
		return rc;
	return proto_request_decode(m->h.type, body, m->h.len, &m->req);
}

int
peer_reply(int fd, uint32_t id, const struct proto_reply *rep)
{
	static uint8_t buf[PROTO_MAX_BODY];
	size_t len;
	int rc;

	if ((rc = proto_reply_encode(rep, buf, sizeof(buf), &len)) !=
	    PROTO_OK)
		return rc;
	return proto_send(fd, rep->type | PROTO_T_REPLY, id, buf, len);
}

void
peer_status(struct proto_reply *rep, uint16_t type, int result,
    const char *msg, uint32_t retry_after)
{
	memset(rep, 0, sizeof(*rep));
	rep->type = type;
	rep->status.result = (uint8_t)result;
	snprintf(rep->status.message, sizeof(rep->status.message), "%s",
	    msg != NULL ? msg : "");
	rep->status.retry_after = retry_after;
}

size_t
peer_cert(const char *cn, uint8_t **der)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	int len;

	assert_non_null(k);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	*der = NULL;
	len = i2d_X509(x, der);
	assert_true(len > 0);
	X509_free(x);
	EVP_PKEY_free(k);
	return (size_t)len;
}
