/*
 * ACME (RFC 8555) routes under /acme/<label>/: the front end only maps a
 * path and method to an engine op and forwards the body; the engine
 * parses and verifies the JWS and makes the whole answer (docs/acme.md:
 * in this first slice the front end does not pre-parse the JWS).  Every
 * answer the engine could not make is a problem document here.
 */
#include <stdio.h>
#include <string.h>

#include "https_local.h"

#define ACME_PREFIX	"/acme/"
#define ACME_JOSE	"application/jose+json"

static const struct {
	const char	*name;
	int		 op;
	int		 with_id;
} acme_ops[] = {
	{ "directory", PROTO_ACME_DIRECTORY, 0 },
	{ "new-nonce", PROTO_ACME_NONCE, 0 },
	{ "new-account", PROTO_ACME_NEW_ACCOUNT, 0 },
	{ "new-order", PROTO_ACME_NEW_ORDER, 0 },
	{ "acct", PROTO_ACME_ACCOUNT, 1 },
	{ "order", PROTO_ACME_ORDER, 1 },
	{ "authz", PROTO_ACME_AUTHZ, 1 },
	{ "chall", PROTO_ACME_CHALLENGE, 1 },
	{ "cert", PROTO_ACME_CERT, 1 },
	{ "revoke-cert", PROTO_ACME_REVOKE, 0 },
	{ "key-change", PROTO_ACME_KEY_CHANGE, 0 },
	{ "renewal-info", PROTO_ACME_RENEWAL_INFO, 1 },
};

static int
acme_id_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* "/<n>", n 1..HTTPS_MAX_ACME_PAGE in decimal without a leading 0. */
static int
acme_page(const uint8_t *p, size_t len, int *page)
{
	size_t i;
	int v = 0;

	if (len < 2 || len > 5 || p[0] != '/' || p[1] == '0')
		return HTTPS_E_NOTFOUND;
	for (i = 1; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return HTTPS_E_NOTFOUND;
		v = v * 10 + (p[i] - '0');
	}
	*page = v;
	return HTTPS_OK;
}

/* Splits off the next path segment: [p, *seg_end) and what follows. */
static size_t
acme_seg(const uint8_t *p, size_t len)
{
	const uint8_t *s = memchr(p, '/', len);

	return s != NULL ? (size_t)(s - p) : len;
}

int
https_acme_route(const uint8_t *path, size_t len, struct https_acme_route *r)
{
	const size_t plen = sizeof(ACME_PREFIX) - 1;
	const uint8_t *p;
	size_t n, rest, i, j;

	memset(r, 0, sizeof(*r));
	if (len > HTTPS_MAX_PATH)
		return HTTPS_E_TOOLONG;
	if (len <= plen || memcmp(path, ACME_PREFIX, plen) != 0)
		return HTTPS_E_NOTFOUND;
	p = path + plen;
	rest = len - plen;
	n = acme_seg(p, rest);
	if (n == 0 || n > HTTPS_MAX_LABEL || n == rest)
		return HTTPS_E_SYNTAX;
	for (i = 0; i < n; i++)
		if (!acme_id_char(p[i]) && p[i] != '.')
			return HTTPS_E_SYNTAX;
	memcpy(r->label, p, n);
	r->label[n] = '\0';
	p += n + 1;
	rest -= n + 1;
	n = acme_seg(p, rest);
	for (i = 0; i < sizeof(acme_ops) / sizeof(acme_ops[0]); i++)
		if (strlen(acme_ops[i].name) == n &&
		    memcmp(acme_ops[i].name, p, n) == 0)
			break;
	if (i == sizeof(acme_ops) / sizeof(acme_ops[0]))
		return HTTPS_E_NOTFOUND;
	r->op = acme_ops[i].op;
	if (!acme_ops[i].with_id)
		return n == rest ? HTTPS_OK : HTTPS_E_NOTFOUND;
	if (n == rest)
		return HTTPS_E_NOTFOUND;
	p += n + 1;
	rest -= n + 1;
	n = acme_seg(p, rest);
	if (n == 0 || n > HTTPS_MAX_ACME_ID)
		return HTTPS_E_SYNTAX;
	/* RFC 9773 CertID: base64url "." base64url. */
	for (j = 0; j < n; j++)
		if (!acme_id_char(p[j]) && !(p[j] == '.' &&
		    r->op == PROTO_ACME_RENEWAL_INFO))
			return HTTPS_E_SYNTAX;
	memcpy(r->id, p, n);
	r->id[n] = '\0';
	if (n == rest)
		return HTTPS_OK;
	/* order/<id>/finalize and acct/<id>/orders are the deeper ones. */
	if (r->op == PROTO_ACME_ORDER && rest - n - 1 == 8 &&
	    memcmp(p + n + 1, "finalize", 8) == 0) {
		r->op = PROTO_ACME_FINALIZE;
		return HTTPS_OK;
	}
	if (r->op == PROTO_ACME_ACCOUNT && rest - n - 1 >= 6 &&
	    memcmp(p + n + 1, "orders", 6) == 0) {
		r->op = PROTO_ACME_ORDERS;
		if (rest - n - 1 == 6)
			return HTTPS_OK;
		/* RFC 8555 7.1.2.1: the pages Link rel="next" names. */
		return acme_page(p + n + 7, rest - n - 7, &r->page);
	}
	return HTTPS_E_NOTFOUND;
}

/* A problem document the engine did not make (RFC 8555 6.7). */
static void
acme_problem(struct https_ctx *ctx, int code, const char *type,
    const char *detail)
{
	struct evbuffer *b;

	if ((b = evbuffer_new()) == NULL) {
		https_reply(ctx, 500, NULL, NULL);
		return;
	}
	evbuffer_add_printf(b, "{\"type\":\"urn:ietf:params:acme:error:%s\","
	    "\"detail\":", type);
	https_json_string(b, detail);
	evbuffer_add_printf(b, ",\"status\":%d}", code);
	https_reply(ctx, code, "application/problem+json", b);
	evbuffer_free(b);
}

static void
acme_done(struct https_ctx *ctx, int err, const struct proto_reply *rep)
{
	static const char *const ctypes[PROTO_ACME_CT_MAX] = {
		[PROTO_ACME_CT_NONE] = NULL,
		[PROTO_ACME_CT_JSON] = "application/json",
		[PROTO_ACME_CT_PROBLEM] = "application/problem+json",
		[PROTO_ACME_CT_PEM] = "application/pem-certificate-chain",
	};
	const struct proto_acme_rep *m;
	struct evkeyvalq *h;
	struct evbuffer *b;
	int code;

	if (rep == NULL || rep->status.result != PROTO_R_OK) {
		/* RFC 8555 6.6: rateLimited says when to come back. */
		if (rep != NULL && rep->status.result == PROTO_R_RATE_LIMITED &&
		    rep->status.retry_after > 0) {
			char ra[16];

			snprintf(ra, sizeof(ra), "%u",
			    (unsigned)rep->status.retry_after);
			evhttp_add_header(evhttp_request_get_output_headers(
			    ctx->req), "Retry-After", ra);
		}
		acme_problem(ctx, rep != NULL && rep->status.result ==
		    PROTO_R_RATE_LIMITED ? 429 : 503, rep != NULL &&
		    rep->status.result == PROTO_R_RATE_LIMITED ? "rateLimited" :
		    "serverInternal", rep != NULL && rep->status.message[0] ?
		    rep->status.message : "the CA engine is unavailable");
		(void)err;
		return;
	}
	m = &rep->u.acme;
	h = evhttp_request_get_output_headers(ctx->req);
	if (m->nonce[0] != '\0')
		evhttp_add_header(h, "Replay-Nonce", m->nonce);
	if (m->location[0] != '\0')
		evhttp_add_header(h, "Location", m->location);
	if (m->up[0] != '\0' && strchr(m->up, '>') == NULL) {
		char link[PROTO_MAX_ACME_URL + 16];

		snprintf(link, sizeof(link), "<%s>;rel=\"up\"", m->up);
		evhttp_add_header(h, "Link", link);
	}
	/* RFC 8555 7.1: every resource but the directory links to it. */
	if (m->index[0] != '\0' && strchr(m->index, '>') == NULL) {
		char link[PROTO_MAX_ACME_URL + 16];

		snprintf(link, sizeof(link), "<%s>;rel=\"index\"", m->index);
		evhttp_add_header(h, "Link", link);
	}
	/* RFC 8555 7.1.2.1: the orders list's next page. */
	if (m->next[0] != '\0' && strchr(m->next, '>') == NULL) {
		char link[PROTO_MAX_ACME_URL + 16];

		snprintf(link, sizeof(link), "<%s>;rel=\"next\"", m->next);
		evhttp_add_header(h, "Link", link);
	}
	if (m->retry_after > 0) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%u", (unsigned)m->retry_after);
		evhttp_add_header(h, "Retry-After", ra);
	}
	code = m->status;
	/*
	 * RFC 8555 7.2: HEAD newNonce 200, GET newNonce 204; a POST with
	 * nothing to say (revokeCert) stays 200.
	 */
	if (code == 200 && m->ctype == PROTO_ACME_CT_NONE &&
	    evhttp_request_get_command(ctx->req) == EVHTTP_REQ_GET)
		code = 204;
	if ((b = evbuffer_new()) == NULL) {
		https_reply(ctx, 500, NULL, NULL);
		return;
	}
	if (m->body.len > 0)
		evbuffer_add(b, m->body.ptr, m->body.len);
	https_reply(ctx, code, ctypes[m->ctype], b);
	evbuffer_free(b);
}

void
https_acme(struct https_ctx *ctx, const struct https_acme_route *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(ctx->req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(ctx->req);
	struct proto_request req;
	const char *ct;
	size_t len;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_ACME;
	req.ev.peer = PROTO_PEER_HTTPS;
	req.u.acme.op = (uint8_t)r->op;
	memcpy(req.u.acme.label, r->label, sizeof(r->label));
	memcpy(req.u.acme.id, r->id, sizeof(r->id));
	if (r->op == PROTO_ACME_ORDERS && r->page > 0)
		snprintf(req.u.acme.detail, sizeof(req.u.acme.detail), "%d",
		    r->page);
	if (r->op == PROTO_ACME_DIRECTORY || r->op == PROTO_ACME_NONCE ||
	    r->op == PROTO_ACME_RENEWAL_INFO) {
		if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
			acme_problem(ctx, 405, "malformed", "use GET");
			return;
		}
		https_call(ctx, &req, acme_done);
		return;
	}
	/* RFC 8555 6.2: every other request is a JWS POST. */
	ct = evhttp_find_header(evhttp_request_get_input_headers(ctx->req),
	    "Content-Type");
	if (cmd != EVHTTP_REQ_POST) {
		acme_problem(ctx, 405, "malformed", "use POST (RFC 8555 6.3)");
		return;
	}
	if (!https_media_is(ct, ACME_JOSE)) {
		acme_problem(ctx, 415, "malformed", "expected Content-Type: "
		    ACME_JOSE);
		return;
	}
	if ((len = evbuffer_get_length(in)) == 0 ||
	    len > PROTO_MAX_ACME_BODY) {
		acme_problem(ctx, len ? 413 : 400, "malformed", len ?
		    "request body too large" : "empty request body");
		return;
	}
	req.u.acme.body.ptr = evbuffer_pullup(in, -1);
	req.u.acme.body.len = len;
	https_call(ctx, &req, acme_done);
}
