/*
 * The JSON API's GET routes (certificate lookup and listing, health) and
 * the argument checks all /v1 routes share.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "https_api.h"

#define API_CERTS	"/v1/certs"
#define API_LIST_LIMIT	50	/* default page size */

static const char *const reasons[PROTO_REASON_MAX + 1] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise"
};

static const char *const cert_status[] = {
	"any", "valid", "revoked", "expired"
};

static const char *const engine_state[] = {
	"unknown", "starting", "ready", "degraded", "draining"
};

int
api_route(const char *path, int post)
{
	if (strcmp(path, "/v1/sign") == 0)
		return post ? HTTPS_R_V1_SIGN : HTTPS_R_OTHER;
	if (strcmp(path, "/v1/revoke") == 0)
		return post ? HTTPS_R_V1_REVOKE : HTTPS_R_OTHER;
	if (strcmp(path, "/v1/tokens") == 0)
		return post ? HTTPS_R_V1_TOKENS : HTTPS_R_OTHER;
	if (strcmp(path, "/v1/acme/eab") == 0)
		return post ? HTTPS_R_V1_ACME_EAB : HTTPS_R_OTHER;
	if (strcmp(path, "/v1/tidy") == 0)
		return post ? HTTPS_R_V1_TIDY : HTTPS_R_OTHER;
	if (post)
		return HTTPS_R_OTHER;
	if (strcmp(path, "/v1/health") == 0)
		return HTTPS_R_V1_HEALTH;
	if (strcmp(path, "/v1/audit") == 0)
		return HTTPS_R_V1_AUDIT;
	if (strcmp(path, API_CERTS) == 0)
		return HTTPS_R_V1_CERTS;
	if (strncmp(path, API_CERTS "/", sizeof(API_CERTS)) == 0 &&
	    path[sizeof(API_CERTS)] != '\0')
		return HTTPS_R_V1_CERT;
	return HTTPS_R_OTHER;
}

static int
api_tenant_name(struct https_ctx *ctx, const char *name,
    char tenant[PROTO_MAX_STR + 1])
{
	if (name == NULL || !https_name_ok(name)) {
		https_error(ctx, 400, "\"tenant\" is required: letters, "
		    "digits, '.', '_' or '-'");
		return -1;
	}
	/*
	 * Whether the tenant exists is the engine's to say, and only to
	 * callers with rights in it: anyone else gets the same 403 for a
	 * tenant that does not exist as for one that does (DESIGN rule 7).
	 */
	snprintf(tenant, PROTO_MAX_STR + 1, "%s", name);
	snprintf(ctx->tenant, sizeof(ctx->tenant), "%s", name);
	return 0;
}

int
api_tenant(struct https_ctx *ctx, const struct https_json *j,
    char tenant[PROTO_MAX_STR + 1])
{
	const char *s = NULL;

	https_json_str(j, "tenant", &s);
	return api_tenant_name(ctx, s, tenant);
}

int
api_target(struct https_ctx *ctx, const struct https_json *j,
    char tenant[PROTO_MAX_STR + 1], char profile[PROTO_MAX_STR + 1])
{
	const char *s = NULL;

	if (api_tenant(ctx, j, tenant) != 0)
		return -1;
	if (https_json_str(j, "profile", &s) != HTTPS_OK ||
	    !https_name_ok(s)) {
		https_error(ctx, 400, "\"profile\" is required");
		return -1;
	}
	/* Likewise the profile: the engine answers after its tenant gate. */
	snprintf(profile, PROTO_MAX_STR + 1, "%s", s);
	return 0;
}

int
api_reason(const struct https_jmember *m)
{
	size_t i;

	if (m == NULL)
		return 0;
	if (m->type == HTTPS_J_NUMBER)
		return m->num <= PROTO_REASON_MAX && m->num != 7 ?
		    (int)m->num : -1;
	if (m->type != HTTPS_J_STRING)
		return -1;
	for (i = 0; i <= PROTO_REASON_MAX; i++)
		if (reasons[i] != NULL && strcasecmp(reasons[i], m->str) == 0)
			return (int)i;
	return -1;
}

/*
 * Children signetd stopped restarting (issue 18): the front end serving
 * this answer is up, so the status stays the engine's; anyone sees which
 * child failed, a client with a certificate also why (file names, users).
 */
static void
api_health_failed(struct https_ctx *ctx, struct evbuffer *b,
    const struct proto_health_rep *h)
{
	uint8_t i;

	if (h->nfailed == 0)
		return;
	evbuffer_add_printf(b, ",\"failed\":[");
	for (i = 0; i < h->nfailed && i < PROTO_MAX_FAILED; i++) {
		evbuffer_add_printf(b, "%s{\"child\":", i > 0 ? "," : "");
		https_json_string(b, h->failed[i].child);
		if (ctx->full) {
			evbuffer_add_printf(b, ",\"error\":");
			https_json_string(b, h->failed[i].error);
		}
		evbuffer_add_printf(b, "}");
	}
	evbuffer_add_printf(b, "]");
}

static int
api_health_write(struct https_ctx *ctx, struct evbuffer *b,
    const struct proto_reply *r)
{
	const struct proto_health_rep *h = &r->u.health;
	int code;

	code = h->state == PROTO_STATE_READY ? 200 : 503;
	evbuffer_add_printf(b, "{\"status\":\"%s\"", engine_state[
	    h->state <= PROTO_STATE_DRAINING ? h->state : 0]);
	if (ctx->full) {
		evbuffer_add_printf(b, ",\"token\":%s,\"ledger\":%s,"
		    "\"audit\":%s,\"uptime\":%llu,\"issued\":%llu,"
		    "\"version\":", h->token_ok ? "true" : "false",
		    h->ledger_ok ? "true" : "false",
		    h->audit_ok ? "true" : "false",
		    (unsigned long long)h->uptime,
		    (unsigned long long)h->issued);
		https_json_string(b, h->version);
	}
	api_health_failed(ctx, b, h);
	evbuffer_add_printf(b, "}\n");
	return code;
}

void
api_health(struct https_ctx *ctx, struct proto_request *req)
{
	req->type = PROTO_T_HEALTH;
	https_call_reply(ctx, req, "application/json", api_health_write);
}

static void
api_summary(struct evbuffer *b, const struct proto_cert_summary *s)
{
	evbuffer_add_printf(b, "{\"serial\":\"");
	https_hex(b, s->serial.ptr, s->serial.len);
	evbuffer_add_printf(b, "\",\"status\":\"%s\",\"not_before\":",
	    s->status <= PROTO_CS_EXPIRED ? cert_status[s->status] : "any");
	https_json_time(b, s->not_before);
	evbuffer_add_printf(b, ",\"not_after\":");
	https_json_time(b, s->not_after);
	evbuffer_add_printf(b, ",\"revoked_at\":");
	https_json_time(b, s->revoked_at);
	evbuffer_add_printf(b, ",\"profile\":");
	https_json_string(b, s->profile);
	evbuffer_add_printf(b, ",\"subject\":");
	https_json_string(b, s->subject);
	/* Issue 13: the credential that authorised it; null: not recorded. */
	evbuffer_add_printf(b, ",\"authorized_by\":");
	if (s->authorized_by[0] != '\0')
		https_json_string(b, s->authorized_by);
	else
		evbuffer_add_printf(b, "null");
}

static int
api_get_write(struct https_ctx *ctx, struct evbuffer *b,
    const struct proto_reply *r)
{
	uint16_t i;

	if (ctx->rid == HTTPS_R_V1_CERT) {
		api_summary(b, &r->u.get.sum);
		/* store = false: the ledger knows the row, not the DER. */
		evbuffer_add_printf(b, ",\"stored\":%s,\"certificate\":",
		    r->u.get.cert.len > 0 ? "true" : "false");
		if (r->u.get.cert.len > 0)
			https_json_pem(b, "CERTIFICATE", r->u.get.cert.ptr,
			    r->u.get.cert.len);
		else
			evbuffer_add_printf(b, "null");
		evbuffer_add_printf(b, "}\n");
	} else {
		evbuffer_add_printf(b, "{\"total\":%u,\"items\":[",
		    r->u.list.total);
		for (i = 0; i < r->u.list.n; i++) {
			if (i > 0)
				evbuffer_add(b, ",", 1);
			api_summary(b, &r->u.list.items[i]);
			evbuffer_add(b, "}", 1);
		}
		evbuffer_add_printf(b, "]}\n");
	}
	return 200;
}

/* The list filters; answers 400 and returns -1 if one is malformed. */
static int
api_list_args(struct https_ctx *ctx, struct evkeyvalq *q,
    struct proto_list_req *l)
{
	const char *v;
	uint64_t n;
	int64_t d;
	size_t i;

	l->limit = API_LIST_LIMIT;
	if ((v = evhttp_find_header(q, "status")) != NULL) {
		for (i = 0; i < 4 && strcmp(v, cert_status[i]) != 0; i++)
			;
		if (i == 4)
			goto bad;
		l->status = (uint8_t)i;
	}
	if ((v = evhttp_find_header(q, "expiring_within")) != NULL) {
		if ((d = sconf_duration(v)) <= 0 || d > UINT32_MAX)
			goto bad;
		l->expiring_within = (uint32_t)d;
	}
	if ((v = evhttp_find_header(q, "q")) != NULL &&
	    snprintf(l->substring, sizeof(l->substring), "%s", v) >=
	    (int)sizeof(l->substring))
		goto bad;
	if ((v = evhttp_find_header(q, "authorized_by")) != NULL &&
	    (v[0] == '\0' || snprintf(l->authorized_by,
	    sizeof(l->authorized_by), "%s", v) >= (int)sizeof(l->authorized_by)))
		goto bad;
	if ((v = evhttp_find_header(q, "limit")) != NULL) {
		if (https_uint_parse(v, PROTO_MAX_LIST, &n) != HTTPS_OK ||
		    n == 0)
			goto bad;
		l->limit = (uint16_t)n;
	}
	if ((v = evhttp_find_header(q, "offset")) != NULL) {
		if (https_uint_parse(v, UINT32_MAX, &n) != HTTPS_OK)
			goto bad;
		l->offset = (uint32_t)n;
	}
	return 0;
bad:
	https_error(ctx, 400, "bad filter: status=any|valid|revoked|expired, "
	    "expiring_within=<duration>, q=<text>, authorized_by=<credential>, "
	    "limit=1..%d, offset=<n>", PROTO_MAX_LIST);
	return -1;
}

void
api_get(struct https_ctx *ctx, struct proto_request *req, const char *path,
    const char *query)
{
	uint8_t serial[PROTO_MAX_SERIAL];
	struct evkeyvalq q;
	const char *s;
	size_t len;

	if (ctx->rid == HTTPS_R_V1_AUDIT) {
		api_audit(ctx, req, query);
		return;
	}
	TAILQ_INIT(&q);
	if (query != NULL && (strlen(query) > HTTPS_MAX_QUERY ||
	    evhttp_parse_query_str(query, &q) != 0)) {
		https_error(ctx, 400, "malformed query string");
		goto out;
	}
	if (api_tenant_name(ctx, evhttp_find_header(&q, "tenant"),
	    req->u.list.tenant) != 0)
		goto out;
	if (ctx->rid == HTTPS_R_V1_CERT) {
		s = path + sizeof(API_CERTS);
		if (https_serial_parse((const uint8_t *)s, strlen(s), serial,
		    &len) != HTTPS_OK) {
			https_error(ctx, 400, "the serial must be hex");
			goto out;
		}
		req->type = PROTO_T_GET_CERT;
		snprintf(req->u.get.tenant, sizeof(req->u.get.tenant), "%s",
		    ctx->tenant);
		req->u.get.serial.ptr = serial;
		req->u.get.serial.len = len;
	} else {
		req->type = PROTO_T_LIST_CERTS;
		if (api_list_args(ctx, &q, &req->u.list) != 0)
			goto out;
	}
	https_call_reply(ctx, req, "application/json", api_get_write);
out:
	evhttp_clear_headers(&q);
}
