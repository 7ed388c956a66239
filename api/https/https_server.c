/*
 * The two listeners, request dispatch, and the helpers every route uses
 * to answer: each request ends in exactly one https_reply(), which also
 * records its metrics and frees the request's context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>
#include <netinet/in.h>

#include <event2/keyvalq_struct.h>

#include "https_local.h"

#define SRV_MAX_CL_FIELDS	8

struct https_ctx *
https_ctx_new(struct https_srv *srv, struct evhttp_request *req, int rid,
    int json)
{
	struct https_ctx *ctx;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return NULL;
	}
	ctx->srv = srv;
	ctx->req = req;
	ctx->rid = rid;
	ctx->json = json;
	ctx->start_us = https_now_us();
	return ctx;
}

static const char *
https_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

void
https_reply(struct https_ctx *ctx, int code, const char *ctype,
    struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(ctx->req);

	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (ctx->rid != HTTPS_R_CA && ctx->rid != HTTPS_R_CRL &&
	    ctx->rid != HTTPS_R_OCSP)
		evhttp_add_header(h, "Cache-Control", "no-store");
	https_conn_done(ctx->srv, ctx->req);
	evhttp_send_reply(ctx->req, code, https_reason(code), body);
	https_metrics_record(&ctx->srv->m, ctx->rid, code,
	    https_now_us() - ctx->start_us);
	free(ctx->evbuf);
	free(ctx);
}

static void __attribute__((format(printf, 3, 0)))
https_verror(struct https_ctx *ctx, int code, const char *fmt, va_list ap)
{
	struct evbuffer *b;
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if ((b = evbuffer_new()) == NULL) {
		https_reply(ctx, 500, NULL, NULL);
		return;
	}
	log_debug("msg=\"request refused\" code=%d reason=\"%s\"", code,
	    msg);
	if (ctx->json) {
		evbuffer_add_printf(b, "{\"error\":");
		https_json_string(b, msg);
		evbuffer_add_printf(b, "}\n");
		https_reply(ctx, code, "application/json", b);
	} else {
		evbuffer_add_printf(b, "%s\n", msg);
		https_reply(ctx, code, "text/plain; charset=utf-8", b);
	}
	evbuffer_free(b);
}

void
https_error(struct https_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	https_verror(ctx, code, fmt, ap);
	va_end(ap);
}

void
https_error_retry(struct https_ctx *ctx, int code, unsigned retry_s,
    const char *msg)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", retry_s);
	evhttp_add_header(evhttp_request_get_output_headers(ctx->req),
	    "Retry-After", v);
	https_error(ctx, code, "%s", msg);
}

void
https_engine_error(struct https_ctx *ctx, int err,
    const struct proto_reply *rep)
{
	static const int codes[PROTO_R_MAX] = {
		[PROTO_R_OK] = 200,
		[PROTO_R_BAD_REQUEST] = 400,
		[PROTO_R_UNAUTHORIZED] = 401,
		[PROTO_R_FORBIDDEN] = 403,
		[PROTO_R_NOT_FOUND] = 404,
		[PROTO_R_CONFLICT] = 409,
		[PROTO_R_RATE_LIMITED] = 429,
		[PROTO_R_UNAVAILABLE] = 503,
		[PROTO_R_INTERNAL] = 500,
	};
	const char *msg;
	int code;

	if (rep == NULL) {
		ctx->srv->m.engine_err[err == PROTO_ERR_TIMEOUT ? 0 :
		    err == PROTO_ERR_EOF ? 1 : err == PROTO_ERR_IO ? 2 : 3]++;
		https_error_retry(ctx, 503, 5, err == PROTO_ERR_TIMEOUT ?
		    "the CA engine did not answer in time" :
		    "the CA engine is unavailable");
		return;
	}
	code = rep->status.result < PROTO_R_MAX ?
	    codes[rep->status.result] : 500;
	msg = rep->status.message[0] != '\0' ? rep->status.message :
	    proto_result_name(rep->status.result);
	/* The engine says how long a budget needs (eng_gate.c). */
	if (code == 429 || code == 503)
		https_error_retry(ctx, code, rep->status.retry_after != 0 ?
		    rep->status.retry_after : code == 429 ? 1 : 5, msg);
	else
		https_error(ctx, code, "%s", msg);
}

static void
srv_reply_done(struct https_ctx *ctx, int err, const struct proto_reply *r)
{
	struct evbuffer *b;
	int code;

	if (err != PROTO_OK || r == NULL || r->status.result != PROTO_R_OK) {
		https_engine_error(ctx, err, r);
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		https_error(ctx, 500, "out of memory");
		return;
	}
	code = ctx->write(ctx, b, r);
	https_reply(ctx, code, ctx->ctype, b);
	evbuffer_free(b);
}

int
https_call_reply(struct https_ctx *ctx, struct proto_request *req,
    const char *ctype, https_write_fn write)
{
	ctx->ctype = ctype;
	ctx->write = write;
	return https_call(ctx, req, srv_reply_done);
}

int
https_body(struct https_ctx *ctx, const char *media, size_t max,
    uint8_t **out, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(ctx->req);
	const char *ct;

	*out = NULL;
	*len = 0;
	ct = evhttp_find_header(evhttp_request_get_input_headers(ctx->req),
	    "Content-Type");
	if (!https_media_is(ct, media)) {
		https_error(ctx, 415, "expected Content-Type: %s", media);
		return -1;
	}
	if ((*len = evbuffer_get_length(in)) > max) {
		https_error(ctx, 413, "request body larger than %zu bytes",
		    max);
		return -1;
	}
	if (*len == 0) {
		https_error(ctx, 400, "empty request body");
		return -1;
	}
	*out = evbuffer_pullup(in, -1);
	return 0;
}

/* The client's address as our socket saw it, for the engine's budgets. */
static void
srv_source(struct https_ctx *ctx, struct proto_evidence *ev)
{
	struct evhttp_connection *c = evhttp_request_get_connection(ctx->req);
	const struct sockaddr *sa = c != NULL ?
	    evhttp_connection_get_addr(c) : NULL;

	ev->src_len = 0;
	if (sa != NULL && sa->sa_family == AF_INET) {
		memcpy(ev->src, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, 4);
		ev->src_len = 4;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		memcpy(ev->src, &((const struct sockaddr_in6 *)(const void *)
		    sa)->sin6_addr, 16);
		ev->src_len = 16;
	}
}

int
https_call(struct https_ctx *ctx, struct proto_request *req,
    https_engine_cb cb)
{
	int rc;

	srv_source(ctx, &req->ev);
	if ((rc = https_engine_call(ctx->srv->engine, req, cb, ctx)) !=
	    PROTO_OK) {
		https_engine_error(ctx, rc, NULL);
		return -1;
	}
	return 0;
}

/*
 * RFC 9112 6.3: Content-Length fields that disagree, or are not plain
 * digits, or come with Transfer-Encoding, may frame the message
 * differently for a proxy in front of us than for libevent (which takes
 * the first).  Refused, and the connection closed.  Returns 0 if fine.
 */
int
https_framing_check(struct https_srv *srv, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *v[SRV_MAX_CL_FIELDS];
	struct evkeyval *kv;
	struct https_ctx *ctx;
	uint64_t len;
	size_t n = 0;
	int te = 0, bad = 0;

	TAILQ_FOREACH(kv, h, next) {
		if (evutil_ascii_strcasecmp(kv->key, "Transfer-Encoding") == 0)
			te = 1;
		else if (evutil_ascii_strcasecmp(kv->key,
		    "Content-Length") == 0) {
			if (n == SRV_MAX_CL_FIELDS)
				bad = 1;
			else
				v[n++] = kv->value;
		}
	}
	if (!bad && (n == 0 || (!te && https_content_length(v, n, &len) ==
	    HTTPS_OK)))
		return 0;
	if ((ctx = https_ctx_new(srv, req, HTTPS_R_OTHER, 0)) == NULL)
		return -1;
	srv->m.refused[HTTPS_REF_FRAMING]++;
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Connection", "close");
	https_error(ctx, 400, "%s", te ? "Content-Length together with "
	    "Transfer-Encoding" : "Content-Length fields disagree or are "
	    "not plain digits");
	return -1;
}

/* Indexed by enum https_est_op; 0 is no operation (a malformed route). */
static const int est_rids[] = {
	[0] = HTTPS_R_OTHER,
	[HTTPS_EST_CACERTS] = HTTPS_R_EST_CACERTS,
	[HTTPS_EST_SIMPLEENROLL] = HTTPS_R_EST_ENROLL,
	[HTTPS_EST_SIMPLEREENROLL] = HTTPS_R_EST_REENROLL,
	[HTTPS_EST_CSRATTRS] = HTTPS_R_EST_CSRATTRS,
	[HTTPS_EST_SERVERKEYGEN] = HTTPS_R_OTHER,
};

static void
https_dispatch(struct evhttp_request *req, void *arg)
{
	struct https_srv *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct https_est_route r;
	struct https_acme_route ar;
	struct https_ctx *ctx;
	const char *path;
	int rc;

	https_conn_busy(srv, req);
	if (https_framing_check(srv, req) != 0)
		return;
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL) {
		https_conn_done(srv, req);
		evhttp_send_error(req, 400, "malformed request target");
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		https_metrics_tls(srv, req);
		return;
	}
	rc = https_est_route((const uint8_t *)path, strlen(path), &r);
	if (rc == HTTPS_OK || rc == HTTPS_E_SYNTAX) {
		if ((ctx = https_ctx_new(srv, req, est_rids[r.op], 0)) == NULL)
			return;
		if (rc != HTTPS_OK)
			https_error(ctx, 404, "malformed EST label");
		else
			https_est(ctx, &r);
		return;
	}
	rc = https_acme_route((const uint8_t *)path, strlen(path), &ar);
	if (rc != HTTPS_E_NOTFOUND) {
		if ((ctx = https_ctx_new(srv, req, HTTPS_R_ACME, 0)) == NULL)
			return;
		if (rc != HTTPS_OK)
			https_error(ctx, 404, "malformed ACME path");
		else
			https_acme(ctx, &ar);
		return;
	}
	if (strncmp(path, "/v1/", 4) == 0) {
		if ((ctx = https_ctx_new(srv, req, HTTPS_R_OTHER, 1)) != NULL)
			https_api(ctx, path, evhttp_uri_get_query(uri));
		return;
	}
	if ((ctx = https_ctx_new(srv, req, HTTPS_R_OTHER, 0)) != NULL)
		https_error(ctx, 404, "no such resource");
}

static struct evhttp *
srv_http(struct https_srv *srv, int fd, struct evconnlistener **lis,
    void (*cb)(struct evhttp_request *, void *))
{
	const struct sconf_limits *l = &srv->conf->limits;
	uint64_t backstop;
	struct evhttp *h;

	if ((h = evhttp_new(srv->base)) == NULL)
		return NULL;
	/*
	 * Our own scan answers a head over max_header with 431
	 * (https_conn.c); libevent's limit, above it, is for what that scan
	 * does not see (a pipelined second request).
	 */
	evhttp_set_max_headers_size(h, (size_t)srv->max_head + 4096);
	if (l->max_body > 0)
		evhttp_set_max_body_size(h, l->max_body);
	/* A body over max_body is read and dropped before 413 and close. */
	evhttp_set_flags(h, EVHTTP_SERVER_LINGERING_CLOSE);
	/*
	 * libevent 2.1 has one inactivity timeout for everything; our sweep
	 * enforces read, idle, request and handshake deadlines, and this is
	 * only the backstop behind them.
	 */
	backstop = srv->idle_ms > srv->request_ms ? srv->idle_ms :
	    srv->request_ms;
	evhttp_set_timeout(h, (int)(backstop / 1000) + 5);
	evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD);
	evhttp_set_gencb(h, cb, srv);
	/*
	 * evconnlistener needs a non-blocking socket; the parent's is
	 * blocking, and the flag is shared with the other workers, which
	 * set it too.
	 */
	if (evutil_make_socket_nonblocking(fd) != 0 ||
	    (*lis = evconnlistener_new(srv->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd)) == NULL ||
	    evhttp_bind_listener(h, *lis) == NULL) {
		if (*lis != NULL)
			evconnlistener_free(*lis);
		*lis = NULL;
		evhttp_free(h);
		return NULL;
	}
	evconnlistener_set_error_cb(*lis, https_conn_accept_error);
	return h;
}

int
https_srv_listen(struct https_srv *srv, int httpsfd, int httpfd, char *err,
    size_t errlen)
{
	if (httpsfd >= 0) {
		if ((srv->https = srv_http(srv, httpsfd, &srv->lis_https,
		    https_dispatch)) == NULL) {
			snprintf(err, errlen, "cannot serve HTTPS on fd %d",
			    httpsfd);
			return -1;
		}
		evhttp_set_bevcb(srv->https, https_tls_bev, srv);
	}
	if (httpfd >= 0) {
		if ((srv->http = srv_http(srv, httpfd, &srv->lis_http,
		    https_pub)) == NULL) {
			snprintf(err, errlen, "cannot serve HTTP on fd %d",
			    httpfd);
			return -1;
		}
		evhttp_set_bevcb(srv->http, https_conn_bev, srv);
	}
	return 0;
}

void
https_srv_free(struct https_srv *srv)
{
	size_t i;

	if (srv == NULL)
		return;
	/*
	 * evhttp_free frees the bound listeners, then every connection,
	 * whose SSL free hook must no longer touch the listener.
	 */
	srv->lis_https = srv->lis_http = NULL;
	if (srv->https != NULL)
		evhttp_free(srv->https);
	if (srv->http != NULL)
		evhttp_free(srv->http);
	if (srv->ca_timer != NULL)
		event_free(srv->ca_timer);
	https_conn_free(srv);
	X509_STORE_free(srv->client_store);
	sconf_trust_free(srv->trust);
	https_engine_free(srv->engine);
	SSL_CTX_free(srv->ssl);
	for (i = 0; i < srv->ncas; i++) {
		free(srv->cas[i].name);
		OPENSSL_free(srv->cas[i].der);
	}
	free(srv->cas);
	free(srv);
}
