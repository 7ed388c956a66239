/*
 * Transport over a real SOCK_SEQPACKET socketpair, with a thread playing
 * the engine: good answers, late answers, wrong ids and types, malformed
 * datagrams, hangups, the 64 KiB edge and signals during the wait.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto_samples.h"

enum mode {
	M_ANSWER,	/* decode, check, answer with a HEALTH reply */
	M_WRONG_ID,	/* answer with another id first, then correctly */
	M_ONLY_WRONG_ID,
	M_WRONG_TYPE,
	M_LATE,		/* answer the first call after it timed out */
	M_HANGUP,
	M_BAD_VERSION,
	M_OVERSIZE,	/* one byte more than PROTO_MAX_MSG */
	M_MAX_BODY,	/* exactly PROTO_MAX_MSG */
	M_SLOW		/* answer after 200 ms */
};

struct engine {
	int		fd;
	enum mode	mode;
	int		calls;	/* requests to take before returning */
	int		seen_bad; /* a request did not decode or was refused */
};

static uint8_t big[PROTO_MAX_MSG + 16];

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
answer(struct engine *e, const struct proto_hdr *h, uint32_t id, uint16_t type)
{
	static uint8_t body[PROTO_MAX_BODY];
	struct proto_reply rep;
	size_t len;

	proto_sample_reply(PROTO_T_HEALTH, 0, &rep);
	if (proto_reply_encode(&rep, body, sizeof(body), &len) != PROTO_OK)
		e->seen_bad = 1;
	if (proto_send(e->fd, type, id, body, len) != PROTO_OK)
		e->seen_bad = 1;
}

static void
serve_one(struct engine *e, int call, const struct proto_hdr *h)
{
	uint16_t rtype = h->type | PROTO_T_REPLY;

	switch (e->mode) {
	case M_WRONG_ID:
		answer(e, h, h->id + 1000, rtype);
		answer(e, h, h->id, rtype);
		break;
	case M_ONLY_WRONG_ID:
		answer(e, h, h->id - 1, rtype);
		break;
	case M_WRONG_TYPE:
		answer(e, h, h->id, PROTO_T_CRL | PROTO_T_REPLY);
		break;
	case M_LATE:
		if (call == 0)
			sleep_ms(300);
		answer(e, h, h->id, rtype);
		break;
	case M_BAD_VERSION:
		proto_hdr_write(big, rtype, h->id, 0);
		big[0] = 0x52;
		send(e->fd, big, PROTO_HDR_LEN, 0);
		break;
	case M_OVERSIZE:
	case M_MAX_BODY:
		memset(big, 0, sizeof(big));
		proto_hdr_write(big, rtype, h->id, PROTO_MAX_BODY);
		send(e->fd, big, PROTO_MAX_MSG + (e->mode == M_OVERSIZE), 0);
		break;
	case M_SLOW:
		sleep_ms(200);
		answer(e, h, h->id, rtype);
		break;
	default:
		answer(e, h, h->id, rtype);
		break;
	}
}

static void *
engine_main(void *arg)
{
	static uint8_t buf[PROTO_MAX_MSG];
	struct engine *e = arg;
	struct proto_request req;
	struct proto_hdr h;
	const uint8_t *body;
	int i;

	for (i = 0; i < e->calls; i++) {
		if (proto_recv(e->fd, buf, sizeof(buf), &h, &body) != PROTO_OK)
			break;
		/*
		 * The engine's side: decode, and the evidence names this
		 * channel (admission proper is the engine's dispatch table,
		 * tested in tests/unit/engine).
		 */
		if (proto_request_decode(h.type, body, h.len, &req) !=
		    PROTO_OK || req.ev.peer != PROTO_PEER_HTTPS)
			e->seen_bad = 1;
		if (e->mode == M_HANGUP)
			break;
		serve_one(e, i, &h);
	}
	/* Hold the channel open until the caller is done, unless hanging up. */
	while (e->mode != M_HANGUP &&
	    proto_recv(e->fd, buf, sizeof(buf), &h, &body) == PROTO_OK)
		;
	close(e->fd);
	return NULL;
}

struct pair {
	int		fd;
	pthread_t	thr;
	struct engine	eng;
};

static void
start(struct pair *p, enum mode mode, int calls)
{
	int sv[2];
	sigset_t set, old;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	p->fd = sv[0];
	p->eng.fd = sv[1];
	p->eng.mode = mode;
	p->eng.calls = calls;
	p->eng.seen_bad = 0;
	/* SIGALRM is for the caller's thread only (test_eintr). */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	assert_int_equal(pthread_create(&p->thr, NULL, engine_main, &p->eng),
	    0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void
stop(struct pair *p)
{
	close(p->fd);
	pthread_join(p->thr, NULL);
	assert_int_equal(p->eng.seen_bad, 0);
}

/* One HEALTH call from an HTTPS front end; returns proto_call's result. */
static int
call(struct pair *p, int timeout_ms, struct proto_reply *rep)
{
	static uint8_t reqbuf[PROTO_MAX_BODY], buf[PROTO_MAX_MSG];
	struct proto_request req;
	const uint8_t *body;
	size_t len, blen;
	int rc;

	proto_sample_request(PROTO_T_HEALTH, 0, &req);
	assert_int_equal(proto_request_encode(&req, reqbuf, sizeof(reqbuf),
	    &len), PROTO_OK);
	rc = proto_call(p->fd, PROTO_T_HEALTH, reqbuf, len, buf, sizeof(buf),
	    timeout_ms, &body, &blen);
	if (rc == PROTO_OK && rep != NULL)
		assert_int_equal(proto_reply_decode(PROTO_T_HEALTH, body, blen,
		    rep), PROTO_OK);
	if (rc != PROTO_OK)
		assert_null(body);
	return rc;
}

static void
test_call_ok(void **state)
{
	struct proto_reply rep;
	struct pair p;

	start(&p, M_ANSWER, 3);
	assert_int_equal(call(&p, 2000, &rep), PROTO_OK);
	assert_int_equal(rep.status.result, PROTO_R_OK);
	assert_int_equal(rep.u.health.state, PROTO_STATE_READY);
	assert_string_equal(rep.u.health.version, "signet 0.1.0");
	assert_int_equal(call(&p, 2000, &rep), PROTO_OK);
	assert_int_equal(call(&p, 2000, NULL), PROTO_OK);
	stop(&p);
}

static void
test_call_ids(void **state)
{
	struct pair p;

	/* A reply with a foreign id is skipped, the right one is taken. */
	start(&p, M_WRONG_ID, 1);
	assert_int_equal(call(&p, 2000, NULL), PROTO_OK);
	stop(&p);
	/* Only foreign ids: the call times out. */
	start(&p, M_ONLY_WRONG_ID, 1);
	assert_int_equal(call(&p, 200, NULL), PROTO_ERR_TIMEOUT);
	stop(&p);
	/* The right id with another type is a protocol violation. */
	start(&p, M_WRONG_TYPE, 1);
	assert_int_equal(call(&p, 2000, NULL), PROTO_ERR_TYPE);
	stop(&p);
}

static void
test_call_timeout_then_late_reply(void **state)
{
	struct pair p;
	struct timespec t0, t1;
	long ms;

	start(&p, M_LATE, 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(call(&p, 100, NULL), PROTO_ERR_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 90 && ms < 1000);
	/* The late answer to the first call arrives first and is dropped. */
	assert_int_equal(call(&p, 2000, NULL), PROTO_OK);
	stop(&p);
}

static void
test_call_hangup_and_garbage(void **state)
{
	struct pair p;

	start(&p, M_HANGUP, 1);
	assert_int_equal(call(&p, 2000, NULL), PROTO_ERR_EOF);
	stop(&p);
	start(&p, M_BAD_VERSION, 1);
	assert_int_equal(call(&p, 2000, NULL), PROTO_ERR_VERSION);
	stop(&p);
}

static void
test_64k_edge(void **state)
{
	static uint8_t body[PROTO_MAX_BODY + 1], buf[PROTO_MAX_MSG];
	struct pair p;
	const uint8_t *rb;
	size_t blen;

	start(&p, M_MAX_BODY, 1);
	assert_int_equal(proto_call(p.fd, PROTO_T_HEALTH, "\1\0\0\0\0\0", 6, buf,
	    sizeof(buf), 2000, &rb, &blen), PROTO_OK);
	assert_int_equal(blen, PROTO_MAX_BODY);
	stop(&p);
	/* One byte more does not fit the buffer: refused, never parsed. */
	start(&p, M_OVERSIZE, 1);
	assert_int_equal(proto_call(p.fd, PROTO_T_HEALTH, "\1\0\0\0\0\0", 6, buf,
	    sizeof(buf), 2000, &rb, &blen), PROTO_ERR_TRUNC);
	stop(&p);
	/* And proto_send never produces it. */
	assert_int_equal(proto_send(-1, PROTO_T_OCSP, 1, body,
	    PROTO_MAX_BODY + 1), PROTO_ERR_TOOLONG);
}

static void
test_recv_length_mismatch(void **state)
{
	uint8_t buf[64];
	struct proto_hdr h;
	const uint8_t *body;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	proto_hdr_write(buf, PROTO_T_HEALTH, 7, 4);
	assert_int_equal(send(sv[1], buf, PROTO_HDR_LEN + 3, 0),
	    PROTO_HDR_LEN + 3);
	assert_int_equal(proto_recv(sv[0], buf, sizeof(buf), &h, &body),
	    PROTO_ERR_LENGTH);
	assert_int_equal(proto_send(sv[1], PROTO_T_HEALTH, 8, "ab", 2),
	    PROTO_OK);
	assert_int_equal(proto_recv(sv[0], buf, sizeof(buf), &h, &body),
	    PROTO_OK);
	assert_int_equal(h.id, 8);
	assert_int_equal(h.len, 2);
	assert_memory_equal(body, "ab", 2);
	close(sv[1]);
	assert_int_equal(proto_recv(sv[0], buf, sizeof(buf), &h, &body),
	    PROTO_ERR_EOF);
	/* Writing to a closed peer is an error, not SIGPIPE. */
	assert_int_equal(proto_send(sv[0], PROTO_T_HEALTH, 9, NULL, 0),
	    PROTO_ERR_EOF);
	close(sv[0]);
	assert_int_equal(proto_call(sv[0], PROTO_T_HEALTH, NULL, 0, buf,
	    sizeof(buf), 0, &body, &(size_t){ 0 }), PROTO_ERR_ARG);
}

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
	alarms++;
}

static void
test_eintr(void **state)
{
	struct sigaction sa, old;
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	struct pair p;

	/* No SA_RESTART: poll and recv see EINTR and must carry on. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	alarms = 0;
	start(&p, M_SLOW, 1);
	setitimer(ITIMER_REAL, &it, NULL);
	assert_int_equal(call(&p, 3000, NULL), PROTO_OK);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	assert_true(alarms > 0);
	stop(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_ok),
		cmocka_unit_test(test_call_ids),
		cmocka_unit_test(test_call_timeout_then_late_reply),
		cmocka_unit_test(test_call_hangup_and_garbage),
		cmocka_unit_test(test_64k_edge),
		cmocka_unit_test(test_recv_length_mismatch),
		cmocka_unit_test(test_eintr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
