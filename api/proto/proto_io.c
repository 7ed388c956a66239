/*
 * Transport of engine messages over SOCK_SEQPACKET socketpairs, which keep
 * message boundaries, so one message is exactly one datagram and there is
 * no framing to get wrong.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <time.h>

#include "signet/proto.h"

int
proto_send(int fd, uint16_t type, uint32_t id, const void *body, size_t len)
{
	uint8_t hdr[PROTO_HDR_LEN];
	struct iovec iov[2];
	struct msghdr msg = { 0 };
	ssize_t n;
	int rc;

	if (len > 0 && body == NULL)
		return PROTO_ERR_ARG;
	if ((rc = proto_hdr_write(hdr, type, id, len)) != PROTO_OK)
		return rc;
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)body;
	iov[1].iov_len = len;
	msg.msg_iov = iov;
	msg.msg_iovlen = len > 0 ? 2 : 1;
	/* MSG_NOSIGNAL: a dead peer is an error to report, not a signal. */
	do {
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EPIPE ? PROTO_ERR_EOF : PROTO_ERR_IO;
	/* A seqpacket datagram goes whole or not at all. */
	if ((size_t)n != sizeof(hdr) + len)
		return PROTO_ERR_IO;
	return PROTO_OK;
}

static int
recv_flags(int fd, uint8_t *buf, size_t size, struct proto_hdr *h,
    const uint8_t **body, int flags)
{
	struct iovec iov;
	struct msghdr msg = { 0 };
	ssize_t n;

	*body = NULL;
	if (buf == NULL || size < PROTO_HDR_LEN)
		return PROTO_ERR_ARG;
	iov.iov_base = buf;
	iov.iov_len = size;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	do {
		n = recvmsg(fd, &msg, flags);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == ECONNRESET ? PROTO_ERR_EOF : PROTO_ERR_IO;
	/* A zero-length read is end of file; an empty datagram is invalid. */
	if (n == 0)
		return PROTO_ERR_EOF;
	/* The kernel dropped the tail: never parse what we did not get. */
	if (msg.msg_flags & MSG_TRUNC)
		return PROTO_ERR_TRUNC;
	return proto_hdr_parse(buf, (size_t)n, h, body);
}

int
proto_recv(int fd, uint8_t *buf, size_t size, struct proto_hdr *h,
    const uint8_t **body)
{
	return recv_flags(fd, buf, size, h, body, 0);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC: a wall-clock step must not stretch a timeout. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is readable or the deadline passes. */
static int
wait_readable(int fd, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return PROTO_ERR_TIMEOUT;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return PROTO_ERR_IO;
		if (n == 0)
			continue;
		/* Data queued before a hangup is still read first. */
		if (pfd.revents & POLLIN)
			return PROTO_OK;
		return (pfd.revents & POLLNVAL) ? PROTO_ERR_IO : PROTO_ERR_EOF;
	}
}

int
proto_call(int fd, uint16_t type, const void *req, size_t reqlen,
    uint8_t *buf, size_t size, int timeout_ms, const uint8_t **body,
    size_t *bodylen)
{
	static atomic_uint_fast32_t next_id;
	struct proto_hdr h;
	int64_t deadline;
	uint32_t id;
	int rc;

	*body = NULL;
	*bodylen = 0;
	if (timeout_ms <= 0 || (type & PROTO_T_REPLY) != 0)
		return PROTO_ERR_ARG;
	/* Ids only have to differ from recent calls on the same channel. */
	id = (uint32_t)atomic_fetch_add(&next_id, 1) + 1;
	deadline = now_ms() + timeout_ms;
	if ((rc = proto_send(fd, type, id, req, reqlen)) != PROTO_OK)
		goto out;
	for (;;) {
		if ((rc = wait_readable(fd, deadline)) != PROTO_OK)
			goto out;
		rc = recv_flags(fd, buf, size, &h, body, MSG_DONTWAIT);
		if (rc == PROTO_ERR_IO && (errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (rc != PROTO_OK)
			goto out;
		/* A late answer to a call that timed out: drop it. */
		if (h.id != id)
			continue;
		if (h.type != (type | PROTO_T_REPLY)) {
			rc = PROTO_ERR_TYPE;
			goto out;
		}
		*bodylen = h.len;
		break;
	}
out:
	if (rc != PROTO_OK) {
		*body = NULL;
		*bodylen = 0;
	}
	return rc;
}
