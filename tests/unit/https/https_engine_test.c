/*
 * The asynchronous engine channel (https_engine.c) through its own
 * interface: requests go out as real engine messages on a SOCK_SEQPACKET
 * socketpair whose other end this test answers as the engine would, and
 * the callbacks run from the libevent loop.  Replies are matched by id,
 * late or unknown replies are dropped, timeouts and a broken channel fail
 * the calls they concern, and a dead channel takes no new calls.
 */
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "https_local.h"
#include "https_test_peer.h"

#define SAFETY_MS	5000	/* no test waits longer for its loop */

/* What one call's callback saw; passed as the call's context. */
struct rec {
	int		calls;
	int		err;
	int		has_rep;
	int		result;
	char		der[64];	/* CSRATTRS reply bytes */
	size_t		derlen;
};

struct fix {
	struct event_base	*base;
	struct https_engine	*e;
	int			 peer;
	struct event		*safety;
	int			 want;	/* callbacks to wait for */
	int			 seen;
	struct peer_msg		 m;
};

static struct fix *F;
static int timeout_ms = 200;	/* the channel's per-call timeout */

static void
on_reply(struct https_ctx *ctx, int err, const struct proto_reply *rep)
{
	struct rec *r = (struct rec *)(void *)ctx;

	r->calls++;
	r->err = err;
	r->has_rep = rep != NULL;
	if (rep != NULL) {
		r->result = rep->status.result;
		if (rep->status.result == PROTO_R_OK &&
		    rep->u.der.len <= sizeof(r->der)) {
			memcpy(r->der, rep->u.der.ptr, rep->u.der.len);
			r->derlen = rep->u.der.len;
		}
	}
	if (++F->seen >= F->want)
		event_base_loopbreak(F->base);
}

static void
on_safety(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(F->base);
}

/* Runs the loop until n more callbacks ran or SAFETY_MS passed. */
static void
run(int n)
{
	struct timeval tv = { SAFETY_MS / 1000, 0 };

	F->want = F->seen + n;
	evtimer_add(F->safety, &tv);
	event_base_dispatch(F->base);
	evtimer_del(F->safety);
}

static int
setup(void **state)
{
	int fds[2];

	F = calloc(1, sizeof(*F));
	assert_non_null(F);
	F->base = event_base_new();
	assert_non_null(F->base);
	peer_pair(fds);
	F->e = https_engine_new(F->base, fds[0], timeout_ms);
	assert_non_null(F->e);
	F->peer = fds[1];
	F->safety = evtimer_new(F->base, on_safety, NULL);
	*state = F;
	return 0;
}

/* Calls that wait for as long as a test may take. */
static int
setup_patient(void **state)
{
	timeout_ms = 60000;
	setup(state);
	timeout_ms = 200;
	return 0;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int
teardown(void **state)
{
	https_engine_free(F->e);
	if (F->peer != -1)
		close(F->peer);
	event_free(F->safety);
	event_base_free(F->base);
	free(F);
	F = NULL;
	return 0;
}

/* A CSRATTRS request for tenant/profile, as the EST handler sends it. */
static int
call(struct rec *r, const char *tenant)
{
	struct proto_request req;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_CSRATTRS;
	req.ev.peer = PROTO_PEER_HTTPS;
	snprintf(req.u.target.tenant, sizeof(req.u.target.tenant), "%s",
	    tenant);
	snprintf(req.u.target.profile, sizeof(req.u.target.profile), "p");
	return https_engine_call(F->e, &req, on_reply,
	    (struct https_ctx *)(void *)r);
}

/* Answers the request in F->m with der as CSRATTRS content. */
static void
answer(uint32_t id, const char *der)
{
	struct proto_reply rep;

	peer_status(&rep, PROTO_T_CSRATTRS, PROTO_R_OK, NULL, 0);
	rep.u.der.ptr = (const uint8_t *)der;
	rep.u.der.len = strlen(der);
	assert_int_equal(peer_reply(F->peer, id, &rep), PROTO_OK);
}

static void
test_call_and_reply(void **state)
{
	struct proto_request req;
	struct rec r = { 0 };

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_ISSUE;
	req.ev.peer = PROTO_PEER_HTTPS;
	req.ev.kind = PROTO_EV_TOKEN;
	req.ev.token_src = PROTO_TOKSRC_HTTP_AUTH;
	snprintf(req.ev.token, sizeof(req.ev.token), "id.secret");
	snprintf(req.u.issue.tenant, sizeof(req.u.issue.tenant), "t");
	snprintf(req.u.issue.profile, sizeof(req.u.issue.profile), "p");
	req.u.issue.csr.ptr = (const uint8_t *)"\x30\x00";
	req.u.issue.csr.len = 2;
	assert_int_equal(https_engine_call(F->e, &req, on_reply,
	    (struct https_ctx *)(void *)&r), PROTO_OK);
	/* The token is wiped from the caller's request once encoded. */
	assert_string_equal(req.ev.token, "");
	assert_int_equal(req.type, 0);

	assert_true(peer_ready(F->peer, 1000));
	assert_int_equal(peer_recv(F->peer, &F->m), PROTO_OK);
	assert_int_equal(F->m.h.type, PROTO_T_ISSUE);
	assert_int_not_equal(F->m.h.id, 0);
	assert_string_equal(F->m.req.ev.token, "id.secret");
	assert_int_equal(F->m.req.u.issue.csr.len, 2);
	assert_int_equal(r.calls, 0);

	{
		struct proto_reply rep;

		peer_status(&rep, PROTO_T_ISSUE, PROTO_R_FORBIDDEN, "no",
		    0);
		assert_int_equal(peer_reply(F->peer, F->m.h.id, &rep),
		    PROTO_OK);
	}
	run(1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.err, PROTO_OK);
	assert_true(r.has_rep);
	assert_int_equal(r.result, PROTO_R_FORBIDDEN);
	assert_false(https_engine_dead(F->e));
}

/* Two calls answered in the opposite order reach their own callers. */
static void
test_out_of_order(void **state)
{
	struct rec a = { 0 }, b = { 0 };
	uint32_t ida, idb;

	assert_int_equal(call(&a, "a"), PROTO_OK);
	assert_int_equal(call(&b, "b"), PROTO_OK);
	assert_int_equal(peer_recv(F->peer, &F->m), PROTO_OK);
	assert_string_equal(F->m.req.u.target.tenant, "a");
	ida = F->m.h.id;
	assert_int_equal(peer_recv(F->peer, &F->m), PROTO_OK);
	assert_string_equal(F->m.req.u.target.tenant, "b");
	idb = F->m.h.id;
	assert_int_not_equal(ida, idb);

	answer(idb, "for-b");
	answer(ida, "for-a");
	run(2);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(a.derlen, 5);
	assert_memory_equal(a.der, "for-a", 5);
	assert_int_equal(b.derlen, 5);
	assert_memory_equal(b.der, "for-b", 5);
}

/* A reply nobody waits for (an old call's) is dropped, not fatal. */
static void
test_unknown_id_dropped(void **state)
{
	struct rec a = { 0 };

	assert_int_equal(call(&a, "a"), PROTO_OK);
	assert_int_equal(peer_recv(F->peer, &F->m), PROTO_OK);
	answer(F->m.h.id + 1000, "stale");
	answer(F->m.h.id, "fresh");
	run(1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.derlen, 5);
	assert_memory_equal(a.der, "fresh", 5);
	assert_false(https_engine_dead(F->e));
}

/* No answer in time: the call fails with a timeout; a late reply drops. */
static void
test_timeout(void **state)
{
	struct rec a = { 0 }, b = { 0 };

	assert_int_equal(call(&a, "a"), PROTO_OK);
	assert_int_equal(peer_recv(F->peer, &F->m), PROTO_OK);
	run(1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, PROTO_ERR_TIMEOUT);
	assert_false(a.has_rep);

	/* The late answer finds no call; the next call still works. */
	answer(F->m.h.id, "late");
	assert_int_equal(call(&b, "b"), PROTO_OK);
	assert_int_equal(peer_recv(F->peer, &F->m), PROTO_OK);
	answer(F->m.h.id, "ok");
	run(1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.err, PROTO_OK);
	assert_memory_equal(b.der, "ok", 2);
	assert_false(https_engine_dead(F->e));
}

/* The engine goes away: every pending call fails, no new one starts. */
static void
test_engine_gone(void **state)
{
	struct rec a = { 0 }, b = { 0 }, c = { 0 };

	assert_int_equal(call(&a, "a"), PROTO_OK);
	assert_int_equal(call(&b, "b"), PROTO_OK);
	close(F->peer);
	F->peer = -1;
	run(2);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, PROTO_ERR_EOF);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.err, PROTO_ERR_EOF);
	assert_true(https_engine_dead(F->e));
	assert_int_equal(call(&c, "c"), PROTO_ERR_EOF);
	assert_int_equal(c.calls, 0);
}

/* Once dead, the process stops: the loop exits by itself. */
static void
test_engine_gone_stops_loop(void **state)
{
	struct rec a = { 0 };
	struct timeval tv = { SAFETY_MS / 1000, 0 };
	uint64_t t0;

	assert_int_equal(call(&a, "a"), PROTO_OK);
	close(F->peer);
	F->peer = -1;
	F->want = 1000;	/* callbacks do not break the loop */
	evtimer_add(F->safety, &tv);
	t0 = now_us();
	event_base_dispatch(F->base);
	assert_int_equal(a.calls, 1);
	/* About a second for the 503 answers, well before the safety. */
	assert_true(now_us() - t0 < (SAFETY_MS - 1000) * 1000ULL);
	assert_true(event_base_got_exit(F->base));
	assert_false(event_base_got_break(F->base));
}

/* A reply of another type under a pending id breaks the channel. */
static void
test_wrong_reply_type(void **state)
{
	struct rec a = { 0 }, b = { 0 };

	assert_int_equal(call(&a, "a"), PROTO_OK);
	assert_int_equal(call(&b, "b"), PROTO_OK);
	assert_int_equal(peer_recv(F->peer, &F->m), PROTO_OK);
	/* Never decoded: the type alone condemns it. */
	assert_int_equal(proto_send(F->peer, PROTO_T_HEALTH | PROTO_T_REPLY,
	    F->m.h.id, NULL, 0), PROTO_OK);
	run(2);
	assert_int_equal(a.err, PROTO_ERR_EOF);
	assert_int_equal(b.err, PROTO_ERR_EOF);
	assert_true(https_engine_dead(F->e));
}

/* A reply that does not decode fails its call, then the channel. */
static void
test_reply_does_not_decode(void **state)
{
	struct rec a = { 0 }, b = { 0 };
	const uint8_t junk[] = { 0x00, 0xff, 0xff };

	assert_int_equal(call(&a, "a"), PROTO_OK);
	assert_int_equal(call(&b, "b"), PROTO_OK);
	assert_int_equal(peer_recv(F->peer, &F->m), PROTO_OK);
	assert_int_equal(proto_send(F->peer, PROTO_T_CSRATTRS | PROTO_T_REPLY,
	    F->m.h.id, junk, sizeof(junk)), PROTO_OK);
	run(2);
	assert_int_equal(a.calls, 1);
	assert_int_not_equal(a.err, PROTO_OK);
	assert_int_not_equal(a.err, PROTO_ERR_EOF);
	assert_false(a.has_rep);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.err, PROTO_ERR_EOF);
	assert_true(https_engine_dead(F->e));
}

/* A request the protocol refuses is not sent and calls nobody back. */
static void
test_unencodable(void **state)
{
	struct proto_request req;
	struct rec a = { 0 };

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_MAX + 7;
	assert_int_not_equal(https_engine_call(F->e, &req, on_reply,
	    (struct https_ctx *)(void *)&a), PROTO_OK);
	assert_false(peer_ready(F->peer, 50));
	assert_int_equal(a.calls, 0);
	assert_false(https_engine_dead(F->e));
}

/* At most HTTPS_MAX_PENDING calls in flight. */
static void
test_pending_limit(void **state)
{
	static struct rec r[HTTPS_MAX_PENDING + 1];
	size_t i;

	for (i = 0; i < HTTPS_MAX_PENDING; i++) {
		assert_int_equal(call(&r[i], "a"), PROTO_OK);
		/* Drained so the socket buffer never fills. */
		assert_int_equal(peer_recv(F->peer, &F->m), PROTO_OK);
	}
	assert_int_equal(call(&r[i], "a"), PROTO_ERR_SPACE);
	assert_false(peer_ready(F->peer, 0));
	/* One answered frees one slot. */
	answer(F->m.h.id, "x");
	run(1);
	assert_int_equal(r[HTTPS_MAX_PENDING - 1].calls, 1);
	assert_int_equal(call(&r[i], "a"), PROTO_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_call_and_reply, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_id_dropped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_gone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_engine_gone_stops_loop,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_reply_type, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reply_does_not_decode,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unencodable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pending_limit,
		    setup_patient, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
