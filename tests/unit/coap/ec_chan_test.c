/*
 * signet-coap's engine channel (api/coap/ec_chan.c) through its own
 * interface, on a SOCK_SEQPACKET socketpair whose other end this test
 * answers as the engine would (tests/unit/https/https_test_peer.c):
 * asynchronous replies are matched by id in any order, a synchronous call
 * hands the asynchronous replies that arrive before its own to their
 * callbacks, deadlines fail their calls, and a late reply is dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ec_local.h"
#include "https_test_peer.h"

static struct ec_ctx ctx;
static int peer;

/* What the callbacks saw, by job. */
static struct {
	int	calls, err, result;
	char	der[16];
} seen[8];

static void
on_reply(struct ec_ctx *c, uint64_t job, int err,
    const struct proto_reply *rep)
{
	assert_ptr_equal(c, &ctx);
	assert_true(job < 8);
	seen[job].calls++;
	seen[job].err = err;
	if (rep == NULL)
		return;
	seen[job].result = rep->status.result;
	if (rep->u.der.len < sizeof(seen[job].der))
		memcpy(seen[job].der, rep->u.der.ptr, rep->u.der.len);
}

static void
request(struct proto_request *req)
{
	memset(req, 0, sizeof(*req));
	req->type = PROTO_T_CSRATTRS;
	req->ev.peer = PROTO_PEER_COAP;
	req->ev.kind = PROTO_EV_NONE;
	snprintf(req->u.target.tenant, sizeof(req->u.target.tenant), "t");
	snprintf(req->u.target.profile, sizeof(req->u.target.profile), "p");
}

static void
answer(uint32_t id, const char *der)
{
	struct proto_reply rep;

	peer_status(&rep, PROTO_T_CSRATTRS, PROTO_R_OK, NULL, 0);
	rep.u.der.ptr = (const uint8_t *)der;
	rep.u.der.len = strlen(der);
	assert_int_equal(peer_reply(peer, id, &rep), PROTO_OK);
}

static uint32_t
received(void)
{
	static struct peer_msg m;

	assert_true(peer_ready(peer, 1000));
	assert_int_equal(peer_recv(peer, &m), PROTO_OK);
	assert_int_equal(m.h.type, PROTO_T_CSRATTRS);
	return m.h.id;
}

static int
setup(void **state)
{
	int fds[2];

	memset(&ctx, 0, sizeof(ctx));
	memset(seen, 0, sizeof(seen));
	peer_pair(fds);
	ctx.efd = fds[0];
	peer = fds[1];
	assert_int_equal(ec_engine_init(&ctx), 0);
	return 0;
}

static int
teardown(void **state)
{
	ec_engine_free(&ctx);
	close(ctx.efd);
	close(peer);
	return 0;
}

static void
test_async_any_order(void **state)
{
	struct proto_request req;
	uint32_t a, b;

	request(&req);
	assert_int_equal(ec_engine_send(&ctx, &req, 10000, on_reply, 1), 0);
	assert_int_equal(ec_engine_send(&ctx, &req, 10000, on_reply, 2), 0);
	assert_int_equal(ctx.npending, 2);
	a = received();
	b = received();
	assert_int_not_equal(a, b);
	/* Nothing arrived yet: reading finds nothing and calls nobody. */
	ec_engine_read(&ctx);
	assert_int_equal(seen[1].calls + seen[2].calls, 0);
	answer(b, "second");
	answer(a, "first");
	ec_engine_read(&ctx);
	assert_int_equal(seen[1].calls, 1);
	assert_int_equal(seen[2].calls, 1);
	assert_int_equal(seen[1].err, PROTO_OK);
	assert_string_equal(seen[1].der, "first");
	assert_string_equal(seen[2].der, "second");
	assert_int_equal(ctx.npending, 0);
	assert_int_equal(ec_engine_next_ms(&ctx, ec_now_ms()), -1);
}

static void
test_sync_passes_others_on(void **state)
{
	struct proto_request req;
	struct proto_reply rep;
	uint32_t a;

	request(&req);
	assert_int_equal(ec_engine_send(&ctx, &req, 10000, on_reply, 3), 0);
	a = received();
	/* The async reply comes first, then the synchronous call's own. */
	answer(a, "async");
	answer(ctx.next_id + 1, "sync");
	assert_int_equal(ec_engine_call(&ctx, &req, &rep, 2000), 0);
	assert_int_equal(rep.status.result, PROTO_R_OK);
	assert_int_equal(rep.u.der.len, 4);
	assert_memory_equal(rep.u.der.ptr, "sync", 4);
	assert_int_equal(seen[3].calls, 1);
	assert_string_equal(seen[3].der, "async");
	assert_int_equal(ctx.npending, 0);
	(void)received();
}

static void
test_deadlines(void **state)
{
	struct proto_request req;
	struct proto_reply rep;
	int64_t now = ec_now_ms();
	uint32_t a;
	int left;

	request(&req);
	assert_int_equal(ec_engine_send(&ctx, &req, 5000, on_reply, 4), 0);
	a = received();
	left = ec_engine_next_ms(&ctx, now);
	assert_true(left > 4000 && left <= 5000);
	ec_engine_expire(&ctx, now + 4000);
	assert_int_equal(seen[4].calls, 0);
	assert_int_equal(ec_engine_next_ms(&ctx, now + 6000), 0);
	ec_engine_expire(&ctx, now + 6000);
	assert_int_equal(seen[4].calls, 1);
	assert_int_equal(seen[4].err, PROTO_ERR_TIMEOUT);
	/* Its reply after the deadline finds nobody. */
	answer(a, "late");
	ec_engine_read(&ctx);
	assert_int_equal(seen[4].calls, 1);
	/* A synchronous call without an answer gives up at its deadline. */
	assert_int_equal(ec_engine_call(&ctx, &req, &rep, 50), -1);
	(void)received();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_async_any_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sync_passes_others_on,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadlines, setup,
		    teardown),
	};

	log_init("ec_chan_test", LOG_TO_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
