/*
 * Passing a channel to the engine.  The parent creates one SOCK_SEQPACKET
 * socketpair per front end, hands one end to the front end at exec, and
 * sends the other to the engine over the engine's control channel: one
 * datagram holding the peer kind (one byte) with the descriptor attached
 * (SCM_RIGHTS).  The engine thus learns each peer's kind from the parent,
 * never from the peer.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "signet/proto.h"

int
proto_send_fd(int sock, uint8_t kind, int fd)
{
	struct msghdr msg;
	struct iovec iov = { &kind, 1 };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

int
proto_recv_ctl(int sock, uint8_t *buf, size_t size, size_t *len, int *fd)
{
	struct msghdr msg;
	struct iovec iov = { buf, size };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	*len = 0;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == 0)
		return 0; /* the parent closed the channel */
	if (n < 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		goto bad;
	*len = (size_t)n;
	if ((c = CMSG_FIRSTHDR(&msg)) == NULL)
		return 1;
	if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		goto bad;
	memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 1;
bad:
	/* Close anything that did arrive so it cannot leak. */
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int tmp;

			memcpy(&tmp, CMSG_DATA(c), sizeof(int));
			close(tmp);
		}
	*fd = -1;
	*len = 0;
	return -1;
}

int
proto_recv_fd(int sock, uint8_t *kind, int *fd)
{
	size_t len;
	int r;

	/* A one-byte buffer: anything longer arrives truncated, refused. */
	if ((r = proto_recv_ctl(sock, kind, 1, &len, fd)) != 1 || *fd != -1)
		return r;
	return -1;
}

int
proto_send_ctl(int sock, const uint8_t *buf, size_t len)
{
	ssize_t n;

	do
		n = send(sock, buf, len, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n >= 0 && (size_t)n == len ? 0 : -1;
}
