/*
 * The JSON API under /v1/, over mutual TLS: every call but the short form
 * of /v1/health needs a verified client certificate, which goes to the
 * engine as evidence; the engine maps it to a role and tenants.  Request
 * bodies are parsed by https_json_parse() (strict, flat objects); answers
 * are written with https_json_string(), so nothing from a certificate can
 * break the JSON.  Reply shapes are written out in each *_write function.
 */
#include <stdlib.h>
#include <string.h>

#include "https_local.h"
#include "https_api.h"

static int
api_cert_write(struct https_ctx *ctx, struct evbuffer *b,
    const struct proto_reply *r)
{
	uint8_t serial[PROTO_MAX_SERIAL + 1];
	size_t slen = 0, i;

	https_cert_serial(r->u.cert.cert.ptr, r->u.cert.cert.len, serial,
	    sizeof(serial), &slen);
	evbuffer_add_printf(b, "{\"serial\":\"");
	https_hex(b, serial, slen);
	evbuffer_add_printf(b, "\",\"certificate\":");
	https_json_pem(b, "CERTIFICATE", r->u.cert.cert.ptr,
	    r->u.cert.cert.len);
	evbuffer_add_printf(b, ",\"chain\":[");
	for (i = 0; i < r->u.cert.chain.ncerts; i++) {
		if (i > 0)
			evbuffer_add(b, ",", 1);
		https_json_pem(b, "CERTIFICATE", r->u.cert.chain.certs[i].ptr,
		    r->u.cert.chain.certs[i].len);
	}
	evbuffer_add_printf(b, "]}\n");
	log_info("msg=\"certificate issued\" route=v1 tenant=%s",
	    ctx->tenant);
	return 200;
}

/* POST /v1/sign {tenant, profile, csr (PEM), ttl (seconds, optional)} */
static void
api_sign(struct https_ctx *ctx, struct proto_request *req,
    const struct https_json *j)
{
	uint8_t csr[PROTO_MAX_CSR];
	const char *pem;
	uint64_t ttl = 0;
	size_t len;
	int rc;

	if (api_target(ctx, j, req->u.issue.tenant, req->u.issue.profile) != 0)
		return;
	if (https_json_str(j, "csr", &pem) != HTTPS_OK) {
		https_error(ctx, 400, "\"csr\" (a PEM CERTIFICATE REQUEST) is "
		    "required");
		return;
	}
	rc = https_pem_decode((const uint8_t *)pem, strlen(pem),
	    "CERTIFICATE REQUEST", csr, sizeof(csr), &len);
	if (rc != HTTPS_OK)
		rc = https_pem_decode((const uint8_t *)pem, strlen(pem),
		    "NEW CERTIFICATE REQUEST", csr, sizeof(csr), &len);
	if (rc != HTTPS_OK) {
		https_error(ctx, 400, "\"csr\" is not one PEM CERTIFICATE "
		    "REQUEST block");
		return;
	}
	if ((rc = https_json_u64(j, "ttl", &ttl)) == HTTPS_E_TYPE ||
	    ttl > UINT32_MAX) {
		https_error(ctx, 400, "\"ttl\" must be a number of seconds");
		return;
	}
	req->type = PROTO_T_ISSUE;
	req->u.issue.csr.ptr = csr;
	req->u.issue.csr.len = len;
	req->u.issue.ttl = (uint32_t)ttl;
	https_call_reply(ctx, req, "application/json", api_cert_write);
}

static int
api_revoke_write(struct https_ctx *ctx, struct evbuffer *b,
    const struct proto_reply *r)
{
	evbuffer_add_printf(b, "{\"revoked_at\":");
	https_json_time(b, r->u.revoked_at);
	evbuffer_add_printf(b, "}\n");
	log_info("msg=\"certificate revoked\" tenant=%s", ctx->tenant);
	return 200;
}

/* POST /v1/revoke {tenant, serial (hex), reason (number or name)} */
static void
api_revoke(struct https_ctx *ctx, struct proto_request *req,
    const struct https_json *j)
{
	uint8_t serial[PROTO_MAX_SERIAL];
	const char *s;
	size_t len;
	int reason;

	if (api_tenant(ctx, j, req->u.revoke.tenant) != 0)
		return;
	if (https_json_str(j, "serial", &s) != HTTPS_OK ||
	    https_serial_parse((const uint8_t *)s, strlen(s), serial,
	    &len) != HTTPS_OK) {
		https_error(ctx, 400, "\"serial\" must be the serial number in "
		    "hex");
		return;
	}
	if ((reason = api_reason(https_json_get(j, "reason"))) < 0) {
		https_error(ctx, 400, "\"reason\" must be an RFC 5280 CRLReason "
		    "(number or name, e.g. \"keyCompromise\")");
		return;
	}
	req->type = PROTO_T_REVOKE;
	req->u.revoke.serial.ptr = serial;
	req->u.revoke.serial.len = len;
	req->u.revoke.reason = (uint8_t)reason;
	https_call_reply(ctx, req, "application/json", api_revoke_write);
}

static int
api_token_write(struct https_ctx *ctx, struct evbuffer *b,
    const struct proto_reply *r)
{
	evbuffer_add_printf(b, "{\"id\":");
	https_json_string(b, r->u.token.id);
	evbuffer_add_printf(b, ",\"token\":");
	https_json_string(b, r->u.token.secret);
	evbuffer_add_printf(b, ",\"expires\":");
	https_json_time(b, r->u.token.expires_at);
	evbuffer_add_printf(b, "}\n");
	log_info("msg=\"enrollment token created\" tenant=%s id=%s",
	    ctx->tenant, r->u.token.id);
	return 200;
}

/* POST /v1/tokens {tenant, profile, names [..], ttl, uses} */
static void
api_tokens(struct https_ctx *ctx, struct proto_request *req,
    const struct https_json *j)
{
	const struct https_jmember *m;
	struct proto_token_req *t = &req->u.token;
	uint64_t ttl, uses = 1;
	size_t i;
	int rc;

	if (api_target(ctx, j, t->tenant, t->profile) != 0)
		return;
	if ((m = https_json_get(j, "names")) != NULL) {
		if (m->type != HTTPS_J_ARRAY) {
			https_error(ctx, 400, "\"names\" must be an array of "
			    "strings");
			return;
		}
		for (i = 0; i < m->nitems; i++)
			if (snprintf(t->names[i], sizeof(t->names[i]), "%s",
			    m->items[i]) >= (int)sizeof(t->names[i])) {
				https_error(ctx, 400, "a name is too long");
				return;
			}
		t->nnames = (uint8_t)m->nitems;
	}
	if (https_json_u64(j, "ttl", &ttl) != HTTPS_OK || ttl == 0 ||
	    ttl > UINT32_MAX) {
		https_error(ctx, 400, "\"ttl\" (seconds until the token "
		    "expires) is required");
		return;
	}
	if ((rc = https_json_u64(j, "uses", &uses)) == HTTPS_E_TYPE ||
	    uses == 0 || uses > UINT16_MAX) {
		https_error(ctx, 400, "\"uses\" must be 1 to 65535");
		return;
	}
	req->type = PROTO_T_TOKEN_CREATE;
	t->lifetime = (uint32_t)ttl;
	t->uses = (uint16_t)uses;
	https_call_reply(ctx, req, "application/json", api_token_write);
}

static int
api_eab_write(struct https_ctx *ctx, struct evbuffer *b,
    const struct proto_reply *r)
{
	/* RFC 8555 7.3.4: the key id and the HMAC key, shown once. */
	evbuffer_add_printf(b, "{\"kid\":");
	https_json_string(b, r->u.token.id);
	evbuffer_add_printf(b, ",\"hmac_key\":");
	https_json_string(b, r->u.token.secret);
	evbuffer_add_printf(b, "}\n");
	log_info("msg=\"acme eab key created\" tenant=%s kid=%s",
	    ctx->tenant, r->u.token.id);
	return 200;
}

/* POST /v1/acme/eab {tenant, profile}: an ACME EAB key (issue 20). */
static void
api_acme_eab(struct https_ctx *ctx, struct proto_request *req,
    const struct https_json *j)
{
	if (api_target(ctx, j, req->u.target.tenant,
	    req->u.target.profile) != 0)
		return;
	req->type = PROTO_T_ACME_EAB;
	https_call_reply(ctx, req, "application/json", api_eab_write);
}

static int
api_tidy_write(struct https_ctx *ctx, struct evbuffer *b,
    const struct proto_reply *r)
{
	evbuffer_add_printf(b, "{\"tenant\":");
	https_json_string(b, ctx->tenant);
	evbuffer_add_printf(b, ",\"certs\":%llu,\"tokens\":%llu,"
	    "\"expired_before\":", (unsigned long long)r->u.tidy.certs,
	    (unsigned long long)r->u.tidy.tokens);
	https_json_time(b, r->u.tidy.cutoff);
	evbuffer_add_printf(b, ",\"done\":%s}\n", r->u.tidy.done ? "true" :
	    "false");
	log_info("msg=\"tidy\" tenant=%s certs=%llu tokens=%llu done=%u",
	    ctx->tenant, (unsigned long long)r->u.tidy.certs,
	    (unsigned long long)r->u.tidy.tokens, r->u.tidy.done);
	return 200;
}

/*
 * POST /v1/tidy {tenant}: remove what expired more than the tenant's
 * retention ago, for at most a few seconds; "done": false asks the
 * caller to come again (issue 19).
 */
static void
api_tidy(struct https_ctx *ctx, struct proto_request *req,
    const struct https_json *j)
{
	if (api_tenant(ctx, j, req->u.tidy.tenant) != 0)
		return;
	req->type = PROTO_T_TIDY;
	https_call_reply(ctx, req, "application/json", api_tidy_write);
}

/* The POST routes: a JSON body, then the route's own checks. */
static void
api_post(struct https_ctx *ctx, struct proto_request *req,
    void (*fn)(struct https_ctx *, struct proto_request *,
    const struct https_json *))
{
	struct https_json *j = NULL;
	char *arena = NULL;
	uint8_t *body;
	size_t len;
	int rc;

	if (https_body(ctx, "application/json", HTTPS_MAX_JSON, &body,
	    &len) != 0)
		goto out;
	if ((j = malloc(sizeof(*j))) == NULL ||
	    (arena = malloc(len + 1)) == NULL) {
		https_error(ctx, 500, "out of memory");
		goto out;
	}
	if ((rc = https_json_parse(body, len, arena, len + 1, j)) !=
	    HTTPS_OK) {
		https_error(ctx, 400, "request body is not a JSON object of "
		    "the expected form (%s)", https_strerror(rc));
		goto out;
	}
	fn(ctx, req, j);
out:
	free(arena);
	free(j);
}

void
https_api(struct https_ctx *ctx, const char *path, const char *query)
{
	struct proto_request req;
	char fp[65], why[256];
	int post, rc;

	post = evhttp_request_get_command(ctx->req) == EVHTTP_REQ_POST;
	memset(&req, 0, sizeof(req));
	if ((ctx->rid = api_route(path, post)) == HTTPS_R_OTHER) {
		https_error(ctx, 404, "no such API resource, or wrong method");
		goto out;
	}
	rc = https_tls_evidence(ctx, &req.ev, fp, why, sizeof(why));
	if (ctx->rid == HTTPS_R_V1_HEALTH) {
		ctx->full = rc == 1;
		if (rc != 1)
			req.ev.peer = PROTO_PEER_HTTPS;
		api_health(ctx, &req);
		goto out;
	}
	if (rc == 0) {
		https_error(ctx, 401, "a client certificate is required");
		goto out;
	}
	if (rc == -1) {
		https_error(ctx, 403, "%s", why);
		goto out;
	}
	switch (ctx->rid) {
	case HTTPS_R_V1_SIGN:
		api_post(ctx, &req, api_sign);
		break;
	case HTTPS_R_V1_REVOKE:
		api_post(ctx, &req, api_revoke);
		break;
	case HTTPS_R_V1_TOKENS:
		api_post(ctx, &req, api_tokens);
		break;
	case HTTPS_R_V1_ACME_EAB:
		api_post(ctx, &req, api_acme_eab);
		break;
	case HTTPS_R_V1_TIDY:
		api_post(ctx, &req, api_tidy);
		break;
	default:
		api_get(ctx, &req, path, query);
		break;
	}
out:
	proto_wipe(&req, sizeof(req));
}
