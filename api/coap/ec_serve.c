/*
 * One mapped EST-coaps request: ask the engine, turn its answer into a
 * CoAP response.  Large answers go out with Block2 through libcoap, which
 * holds the body until the transfer ends and then releases it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/crypto.h>

#include "ec_local.h"

int	ec_serve(struct ec_ctx *, coap_resource_t *, coap_session_t *,
	    const coap_pdu_t *, const coap_string_t *, coap_pdu_t *,
	    const struct ec_out *);

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
body(const struct ec_out *out, const struct proto_reply *rep, uint8_t **p,
    size_t *len)
{
	const struct proto_blob *one;

	switch (out->op) {
	case EC_OP_CRTS:
		if (out->rsp_ct == EC_CT_PKCS7_CERTS)
			return ec_pkcs7(rep->u.chain.certs,
			    rep->u.chain.ncerts, p, len);
		one = &rep->u.chain.certs[0];
		break;
	case EC_OP_ATT:
		one = &rep->u.der;
		break;
	default:
		if (out->rsp_ct == EC_CT_PKCS7_CERTS)
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

int
ec_serve(struct ec_ctx *ctx, coap_resource_t *r, coap_session_t *s,
    const coap_pdu_t *pdu, const coap_string_t *query, coap_pdu_t *rsp,
    const struct ec_out *out)
{
	struct proto_request req;
	struct proto_reply rep;
	const char *why = NULL;
	uint32_t retry = 0;
	uint8_t *evbuf = NULL, *data = NULL;
	size_t len = 0;
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
	if (ec_engine_call(ctx, &req, &rep, EC_ENGINE_TIMEOUT_MS) != 0) {
		code = 503;
		why = "CA engine unavailable";
		goto fail;
	}
	if (rep.status.result != PROTO_R_OK) {
		code = ec_result_code(rep.status.result);
		retry = rep.status.retry_after;
		why = rep.status.message[0] != '\0' ? rep.status.message :
		    proto_result_name(rep.status.result);
		/* A budget's refusals are the engine's to count, not lines. */
		if (code == 429)
			ctx->st.rate_limited++;
		else
			log_info("msg=\"refused\" op=%s result=\"%s\" "
			    "why=\"%s\"", proto_type_name(req.type),
			    proto_result_name(rep.status.result), why);
		goto fail;
	}
	if (body(out, &rep, &data, &len) != 0) {
		code = 500;
		why = "cannot encode the answer";
		goto fail;
	}
	if (out->op == EC_OP_SEN || out->op == EC_OP_SREN) {
		ctx->st.enrolled++;
		log_info("msg=\"enrolled\" op=%s evidence=%s",
		    proto_type_name(req.type), req.ev.kind == PROTO_EV_TOKEN ?
		    "psk" : "cert");
	}
	/* RFC 9148 4.4: 2.04 Changed for (re-)enrollment, else Content. */
	coap_pdu_set_code(rsp, COAP_RESPONSE_CODE(out->op == EC_OP_SEN ||
	    out->op == EC_OP_SREN ? 204 : 205));
	if (!coap_add_data_large_response(r, s, pdu, rsp, query,
	    (uint16_t)out->rsp_ct, -1, 0, len, data, release, data)) {
		/* libcoap has already released data on failure. */
		coap_pdu_set_code(rsp, COAP_RESPONSE_CODE(500));
		goto out;
	}
	rc = 0;
	goto out;
fail:
	ctx->st.errors++;
	fail(rsp, code, why, retry);
out:
	proto_wipe(&req.ev, sizeof(req.ev));
	free(evbuf);
	return rc;
}
