/*
 * signet-coap's counters for /metrics.  The CoAP front end has no
 * listener of its own for /metrics, so it sends its counters to the
 * engine (COAP_STATS), which hands them to the HTTPS front end's /metrics
 * with its HEALTH reply: at most once a second while they move, and once
 * more when the process stops.  The engine keeps only the last snapshot.
 */
#include <string.h>

#include "ec_local.h"

#define EC_STATS_EVERY_MS 1000

/* DTLS handshakes as libcoap reports them to the event handler. */
void
ec_stats_event(struct ec_ctx *ctx, coap_event_t ev)
{
	if (ev == COAP_EVENT_DTLS_CONNECTED)
		ctx->st.handshakes++;
	else if (ev == COAP_EVENT_DTLS_ERROR)
		ctx->st.handshake_failed++;
}

static void
snapshot(const struct ec_ctx *ctx, uint64_t c[PROTO_CC_MAX])
{
	const struct ec_stats *st = &ctx->st;

	memset(c, 0, PROTO_CC_MAX * sizeof(c[0]));
	c[PROTO_CC_REQUESTS] = st->requests;
	c[PROTO_CC_ENROLLED] = st->enrolled;
	c[PROTO_CC_ERRORS] = st->errors;
	c[PROTO_CC_HANDSHAKES] = st->handshakes;
	c[PROTO_CC_HANDSHAKE_FAILED] = st->handshake_failed;
	c[PROTO_CC_PSK_OK] = st->psk_ok;
	c[PROTO_CC_PSK_REFUSED] = st->psk_refused;
	c[PROTO_CC_RATE_LIMITED] = st->rate_limited;
	c[PROTO_CC_TOO_LARGE] = st->too_large;
	c[PROTO_CC_BODIES_REFUSED] = st->bodies_refused;
	c[PROTO_CC_BODIES_REAPED] = st->blocks_reaped;
	c[PROTO_CC_REPLAYED] = st->replayed;
	c[PROTO_CC_DUP_INFLIGHT] = st->dup_inflight;
	c[PROTO_CC_BUSY] = st->busy;
	c[PROTO_CC_EVICTED] = ctx->dup.evicted;
	c[PROTO_CC_HELLO_PASSED] = st->hello_passed;
	c[PROTO_CC_HELLO_COOKIE] = st->hello_cookie;
	c[PROTO_CC_HELLO_ANSWERED] = st->hello_answered;
	c[PROTO_CC_HELLO_BAD] = st->hello_bad;
	c[PROTO_CC_SESSIONS_NEW] = st->sessions_new;
}

/* The engine's answer says nothing we act on. */
static void
reported(struct ec_ctx *ctx, uint64_t job, int err,
    const struct proto_reply *rep)
{
}

void
ec_stats_report(struct ec_ctx *ctx, int64_t now, int final)
{
	struct proto_request req;

	if (!final && now - ctx->st_sent_ms < EC_STATS_EVERY_MS)
		return;
	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_COAP_STATS;
	req.ev.peer = PROTO_PEER_COAP;
	req.ev.kind = PROTO_EV_NONE;
	snapshot(ctx, req.u.coap.counters);
	if (memcmp(req.u.coap.counters, ctx->st_sent, sizeof(ctx->st_sent)) ==
	    0)
		return;
	if (ec_engine_send(ctx, &req, EC_ENGINE_TIMEOUT_MS, reported, 0) != 0)
		return;
	memcpy(ctx->st_sent, req.u.coap.counters, sizeof(ctx->st_sent));
	ctx->st_sent_ms = now;
}
