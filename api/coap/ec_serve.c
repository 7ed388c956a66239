/*
 * One mapped EST-coaps request: ask the engine, turn its answer into a
 * CoAP response.  Large answers go out with Block2 through libcoap, which
 * holds the body until the transfer ends and then releases it.
 *
 * A confirmable request (RFC 7252 5.2.2) gets an empty ACK at once and
 * its answer as a separate response: coap_register_async() keeps a copy
 * of the request, the engine's reply (or its deadline) fills the
 * exchange's answer in the session's cache (ec_dup.h) and triggers the
 * copy, and libcoap calls our handler again with it; ec_serve_async()
 * then answers from the cache.  Until then libcoap itself ACKs a
 * retransmission of the request (same token) without calling us; after,
 * ec_serve_dup() answers it from the cache.  Non-confirmable requests
 * have no empty ACK to send, so they are still served while the loop
 * waits (EST clients send CONs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/crypto.h>

#include "ec_local.h"

static const int op_type[] = {
	[EC_OP_CRTS] = PROTO_T_CACERTS,
	[EC_OP_SEN] = PROTO_T_ISSUE,
	[EC_OP_SREN] = PROTO_T_REISSUE,
	[EC_OP_ATT] = PROTO_T_CSRATTRS,
};

static void
release(coap_session_t *s, void *p)
{
	OPENSSL_free(p);
}

/* RFC 8516 4: 4.29 says in Max-Age when to try again. */
static void
fail(coap_pdu_t *rsp, int code, const char *diag, uint32_t retry)
{
	uint8_t buf[4];

	coap_pdu_set_code(rsp, COAP_RESPONSE_CODE(code));
	if (code == 429 && retry > 0)
		coap_add_option(rsp, COAP_OPTION_MAXAGE,
		    coap_encode_var_safe(buf, sizeof(buf), retry), buf);
	coap_add_data(rsp, strnlen(diag, EC_MAX_DIAG), (const uint8_t *)diag);
}

/* The engine request for out, with the session's evidence. */
static int
build(struct ec_ctx *ctx, coap_session_t *s, const struct ec_out *out,
    struct proto_request *req, uint8_t *evbuf, size_t evsize,
    const char **why)
{
	struct proto_blob leaf;

	memset(req, 0, sizeof(*req));
	req->type = (uint16_t)op_type[out->op];
	if (ec_target(ctx, out->label, req->u.target.tenant,
	    req->u.target.profile) != 0) {
		*why = "unknown EST label";
		return 404;
	}
	/* CA certificates are public: nobody needs to prove anything. */
	if (out->op == EC_OP_CRTS) {
		req->ev.peer = PROTO_PEER_COAP;
		req->ev.kind = PROTO_EV_NONE;
		ec_source(s, &req->ev);
		return 0;
	}
	if (ec_evidence(s, &req->ev, evbuf, evsize, &leaf) != 0) {
		*why = "no client credential on this session";
		return 401;
	}
	ec_source(s, &req->ev);
	if (out->op == EC_OP_SREN && req->ev.kind != PROTO_EV_CERTS) {
		*why = "re-enrollment needs a certificate session";
		return 401;
	}
	if (out->op == EC_OP_SEN || out->op == EC_OP_SREN) {
		/* The engine resolves the label itself (issue 15). */
		memset(&req->u.issue, 0, sizeof(req->u.issue));
		req->u.issue.via = PROTO_VIA_EST;
		snprintf(req->u.issue.label, sizeof(req->u.issue.label), "%s",
		    out->label);
		req->u.issue.csr.ptr = out->csr;
		req->u.issue.csr.len = out->csrlen;
		req->u.issue.cur_cert = leaf;
	}
	return 0;
}

/* The response body for a successful reply, OPENSSL_malloc'd. */
static int
body(int op, unsigned ct, const struct proto_reply *rep, uint8_t **p,
    size_t *len)
{
	const struct proto_blob *one;

	switch (op) {
	case EC_OP_CRTS:
		if (ct == EC_CT_PKCS7_CERTS)
			return ec_pkcs7(rep->u.chain.certs,
			    rep->u.chain.ncerts, p, len);
		one = &rep->u.chain.certs[0];
		break;
	case EC_OP_ATT:
		one = &rep->u.der;
		break;
	default:
		if (ct == EC_CT_PKCS7_CERTS)
			return ec_pkcs7(&rep->u.cert.cert, 1, p, len);
		one = &rep->u.cert.cert;
		break;
	}
	if (one->len == 0 || (*p = OPENSSL_memdup(one->ptr, one->len)) ==
	    NULL)
		return -1;
	*len = one->len;
	return 0;
}

static void
set_diag(struct ec_answer *a, int code, const char *why)
{
	a->code = code;
	/* A diagnostic is short (RFC 7252 5.5.2); the engine's message is
	 * cut to fit. */
	snprintf(a->diag, sizeof(a->diag), "%.*s", (int)sizeof(a->diag) - 1,
	    why);
}

/* What the client is answered for an engine call that ended so. */
static void
answer_of(struct ec_ctx *ctx, const struct ec_dup_entry *e, int err,
    const struct proto_reply *rep, struct ec_answer *a)
{
	uint8_t *p = NULL;
	size_t len = 0;

	memset(a, 0, sizeof(*a));
	a->ct = e->rsp_ct;
	if (err != PROTO_OK) {
		ctx->st.errors++;
		set_diag(a, 503, "CA engine unavailable");
		return;
	}
	if (rep->status.result != PROTO_R_OK) {
		ctx->st.errors++;
		set_diag(a, ec_result_code(rep->status.result),
		    rep->status.message[0] != '\0' ? rep->status.message :
		    proto_result_name(rep->status.result));
		/* A budget's refusals are the engine's to count, not lines. */
		if (a->code == 429) {
			a->max_age = rep->status.retry_after;
			ctx->st.rate_limited++;
		} else
			log_info("msg=\"refused\" op=%s result=\"%s\" "
			    "why=\"%s\"", proto_type_name(op_type[e->op]),
			    proto_result_name(rep->status.result), a->diag);
		return;
	}
	if (body(e->op, e->rsp_ct, rep, &p, &len) != 0 ||
	    (a->data = malloc(len)) == NULL) {
		OPENSSL_free(p);
		ctx->st.errors++;
		set_diag(a, 500, "cannot encode the answer");
		return;
	}
	memcpy(a->data, p, len);
	a->len = len;
	OPENSSL_free(p);
	/* RFC 9148 4.4: 2.04 Changed for (re-)enrollment, else Content. */
	a->code = e->op == EC_OP_SEN || e->op == EC_OP_SREN ? 204 : 205;
	if (a->code == 204) {
		ctx->st.enrolled++;
		log_info("msg=\"enrolled\" op=%s evidence=%s",
		    proto_type_name(op_type[e->op]),
		    e->evkind == PROTO_EV_TOKEN ? "psk" : "cert");
	}
}

/* The answer into rsp; the cached copy stays where it is. */
static void
reply(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *pdu,
    const coap_string_t *query, coap_pdu_t *rsp, const struct ec_answer *a)
{
	uint8_t *data;

	if (a->code / 100 != 2) {
		fail(rsp, a->code, a->diag, a->max_age);
		return;
	}
	if ((data = OPENSSL_memdup(a->data, a->len)) == NULL) {
		fail(rsp, 500, "out of memory", 0);
		return;
	}
	coap_pdu_set_code(rsp, COAP_RESPONSE_CODE(a->code));
	if (!coap_add_data_large_response(r, s, pdu, rsp, query,
	    (uint16_t)a->ct, -1, 0, a->len, data, release, data))
		/* libcoap has already released data on failure. */
		coap_pdu_set_code(rsp, COAP_RESPONSE_CODE(500));
}

/* The engine's reply (or its deadline) for an exchange. */
static void
on_reply(struct ec_ctx *ctx, uint64_t job, int err,
    const struct proto_reply *rep)
{
	struct ec_dup_entry *e;
	struct ec_answer a;

	/* Gone with its session: nobody is left to answer. */
	if ((e = ec_dup_byid(&ctx->dup, job)) == NULL)
		return;
	answer_of(ctx, e, err, rep, &a);
	ec_dup_done(&ctx->dup, e, &a, ec_now_ms());
	free(a.data);
	if (e->app != NULL)
		coap_async_trigger(e->app);
}

void
ec_serve_async(struct ec_ctx *ctx, coap_resource_t *r, coap_session_t *s,
    const coap_pdu_t *pdu, const coap_string_t *query, coap_pdu_t *rsp,
    coap_async_t *async)
{
	struct ec_dup_entry *e;
	uintptr_t job = (uintptr_t)coap_async_get_app_data(async);

	if ((e = ec_dup_byid(&ctx->dup, job)) == NULL ||
	    e->state != EC_DUP_DONE) {
		fail(rsp, 503, "CA engine unavailable", 0);
		return;
	}
	/*
	 * libcoap's copy of the request has a message id of its own; the
	 * client's id is a retransmission racing the trigger, answered from
	 * the cache while the copy still waits to be answered.
	 */
	if (coap_pdu_get_mid(pdu) != e->mid)
		e->app = NULL;
	reply(r, s, pdu, query, rsp, &e->ans);
}

int
ec_serve_dup(struct ec_ctx *ctx, coap_resource_t *r, coap_session_t *s,
    const coap_pdu_t *pdu, const coap_string_t *query, coap_pdu_t *rsp)
{
	coap_bin_const_t tok = coap_pdu_get_token(pdu);
	struct ec_dup_entry *e;

	if ((e = ec_dup_find(&ctx->dup, s, (uint16_t)coap_pdu_get_mid(pdu),
	    tok.s, tok.length)) == NULL)
		return 0;
	if (e->state != EC_DUP_DONE) {
		/* Its separate response follows; an empty ACK meanwhile. */
		ctx->st.dup_inflight++;
		return 1;
	}
	ctx->st.replayed++;
	reply(r, s, pdu, query, rsp, &e->ans);
	return 1;
}

/* A CON: an exchange in the cache, the request kept by libcoap, and off. */
static int
start_async(struct ec_ctx *ctx, coap_session_t *s, const coap_pdu_t *pdu,
    const struct proto_request *req, const struct ec_out *out)
{
	coap_bin_const_t tok = coap_pdu_get_token(pdu);
	struct ec_dup_entry *e;
	coap_async_t *async;

	if ((e = ec_dup_start(&ctx->dup, s, (uint16_t)coap_pdu_get_mid(pdu),
	    tok.s, tok.length)) == NULL) {
		ctx->st.busy++;
		return 503;
	}
	e->op = out->op;
	e->rsp_ct = out->rsp_ct;
	e->evkind = req->ev.kind;
	if ((async = coap_register_async(s, pdu, 0)) == NULL) {
		ec_dup_forget(&ctx->dup, e);
		return 500;
	}
	coap_async_set_app_data(async, (void *)(uintptr_t)e->id);
	e->app = async;
	if (ec_engine_send(ctx, req, EC_ENGINE_TIMEOUT_MS, on_reply,
	    e->id) != 0) {
		coap_free_async(s, async);
		ec_dup_forget(&ctx->dup, e);
		return 503;
	}
	return 0;
}

/* A NON: no empty ACK to send, so the loop waits for the engine. */
static void
serve_now(struct ec_ctx *ctx, coap_resource_t *r, coap_session_t *s,
    const coap_pdu_t *pdu, const coap_string_t *query, coap_pdu_t *rsp,
    const struct proto_request *req, const struct ec_out *out)
{
	struct ec_dup_entry e;
	struct proto_reply rep;
	struct ec_answer a;
	int err = PROTO_OK;

	memset(&e, 0, sizeof(e));
	e.op = out->op;
	e.rsp_ct = out->rsp_ct;
	e.evkind = req->ev.kind;
	if (ec_engine_call(ctx, req, &rep, EC_ENGINE_TIMEOUT_MS) != 0)
		err = PROTO_ERR_TIMEOUT;
	answer_of(ctx, &e, err, &rep, &a);
	reply(r, s, pdu, query, rsp, &a);
	free(a.data);
}

int
ec_serve(struct ec_ctx *ctx, coap_resource_t *r, coap_session_t *s,
    const coap_pdu_t *pdu, const coap_string_t *query, coap_pdu_t *rsp,
    const struct ec_out *out)
{
	struct proto_request req;
	const char *why = NULL;
	uint8_t *evbuf = NULL;
	int code, rc = -1;

	memset(&req, 0, sizeof(req));
	/* This request's certificates (32 KiB): its own, on the heap. */
	if ((evbuf = malloc(PROTO_MAX_CHAIN)) == NULL) {
		code = 500;
		why = "out of memory";
		goto fail;
	}
	if ((code = build(ctx, s, out, &req, evbuf, PROTO_MAX_CHAIN,
	    &why)) != 0)
		goto fail;
	if (coap_pdu_get_type(pdu) != COAP_MESSAGE_CON) {
		serve_now(ctx, r, s, pdu, query, rsp, &req, out);
		rc = 0;
		goto out;
	}
	if ((code = start_async(ctx, s, pdu, &req, out)) != 0) {
		why = code == 500 ? "cannot answer later" :
		    "too many requests in flight";
		goto fail;
	}
	/* No code: libcoap sends the empty ACK. */
	rc = 0;
	goto out;
fail:
	ctx->st.errors++;
	fail(rsp, code, why, 0);
out:
	proto_wipe(&req.ev, sizeof(req.ev));
	free(evbuf);
	return rc;
}
