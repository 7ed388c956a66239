/*
 * signetd's control datagrams (issue 18): the failed children encode and
 * decode canonically, malformed lists are refused, and one receiver
 * tells a passed channel from a failed-children datagram.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "signet/proto.h"

static struct proto_failed in[PROTO_MAX_FAILED + 1], got[PROTO_MAX_FAILED];
static uint8_t buf[PROTO_CTL_MAX + 16];

static void
fill(size_t n, size_t errlen)
{
	size_t i;

	memset(in, 0, sizeof(in));
	for (i = 0; i < n; i++) {
		snprintf(in[i].child, sizeof(in[i].child), "https/%zu", i);
		memset(in[i].error, 'e', errlen);
	}
}

static void
test_roundtrip(void **state)
{
	size_t len, len2;
	uint8_t n;

	(void)state;
	fill(PROTO_MAX_FAILED, PROTO_MAX_STR);
	assert_int_equal(proto_ctl_failed_encode(in, PROTO_MAX_FAILED, buf,
	    sizeof(buf), &len), PROTO_OK);
	assert_true(len <= PROTO_CTL_MAX);
	assert_int_equal(buf[0], PROTO_CTL_FAILED);
	assert_int_equal(proto_ctl_failed_decode(buf, len, got, &n), PROTO_OK);
	assert_int_equal(n, PROTO_MAX_FAILED);
	assert_memory_equal(got, in, sizeof(got));
	/* The empty list clears: a SIGHUP retry. */
	assert_int_equal(proto_ctl_failed_encode(in, 0, buf, sizeof(buf),
	    &len2), PROTO_OK);
	assert_int_equal(len2, 2);
	assert_int_equal(proto_ctl_failed_decode(buf, len2, got, &n),
	    PROTO_OK);
	assert_int_equal(n, 0);
}

static void
test_refused(void **state)
{
	size_t len;
	uint8_t n = 99;

	(void)state;
	fill(PROTO_MAX_FAILED + 1, 4);
	assert_int_equal(proto_ctl_failed_encode(in, PROTO_MAX_FAILED + 1,
	    buf, sizeof(buf), &len), PROTO_ERR_VALUE);
	fill(1, 4);
	in[0].child[0] = '\0';			/* a nameless child */
	assert_int_equal(proto_ctl_failed_encode(in, 1, buf, sizeof(buf),
	    &len), PROTO_ERR_VALUE);
	fill(1, 8);
	assert_int_equal(proto_ctl_failed_encode(in, 1, buf, sizeof(buf),
	    &len), PROTO_OK);
	/* Trailing byte, short, wrong kind, count over the maximum. */
	assert_int_equal(proto_ctl_failed_decode(buf, len + 1, got, &n),
	    PROTO_ERR_TRAILING);
	assert_int_equal(n, 0);
	assert_int_equal(proto_ctl_failed_decode(buf, len - 1, got, &n),
	    PROTO_ERR_SHORT);
	buf[0] = PROTO_PEER_HTTPS;
	assert_int_equal(proto_ctl_failed_decode(buf, len, got, &n),
	    PROTO_ERR_TYPE);
	buf[0] = PROTO_CTL_FAILED;
	buf[1] = PROTO_MAX_FAILED + 1;
	assert_int_equal(proto_ctl_failed_decode(buf, len, got, &n),
	    PROTO_ERR_VALUE);
	assert_int_equal(n, 0);
}

/* The engine's receiver: a channel, then a list, then the parent's EOF. */
static void
test_recv(void **state)
{
	int sp[2], pp[2], fd = -2;
	uint8_t kind, rbuf[PROTO_CTL_MAX];
	size_t len, rlen;
	uint8_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pp), 0);
	assert_int_equal(proto_send_fd(sp[0], PROTO_PEER_COAP, pp[0]), 0);
	assert_int_equal(proto_recv_ctl(sp[1], rbuf, sizeof(rbuf), &rlen,
	    &fd), 1);
	assert_int_equal(rlen, 1);
	assert_int_equal(rbuf[0], PROTO_PEER_COAP);
	assert_true(fd >= 0);
	close(fd);
	fill(2, 30);
	assert_int_equal(proto_ctl_failed_encode(in, 2, buf, sizeof(buf),
	    &len), PROTO_OK);
	assert_int_equal(proto_send_ctl(sp[0], buf, len), 0);
	assert_int_equal(proto_recv_ctl(sp[1], rbuf, sizeof(rbuf), &rlen,
	    &fd), 1);
	assert_int_equal(fd, -1);
	assert_int_equal(proto_ctl_failed_decode(rbuf, rlen, got, &n),
	    PROTO_OK);
	assert_int_equal(n, 2);
	assert_string_equal(got[1].child, "https/1");
	/* A list where a channel is expected (proto_recv_fd) is malformed. */
	assert_int_equal(proto_send_ctl(sp[0], buf, len), 0);
	assert_int_equal(proto_recv_fd(sp[1], &kind, &fd), -1);
	assert_int_equal(fd, -1);
	/* Larger than the receiver's buffer: refused, not cut. */
	assert_int_equal(proto_send_ctl(sp[0], buf, len), 0);
	assert_int_equal(proto_recv_ctl(sp[1], rbuf, 4, &rlen, &fd), -1);
	close(sp[0]);
	assert_int_equal(proto_recv_ctl(sp[1], rbuf, sizeof(rbuf), &rlen,
	    &fd), 0);
	close(sp[1]);
	close(pp[0]);
	close(pp[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_recv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
