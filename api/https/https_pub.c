/*
 * The plain-HTTP listener: relying parties fetch CA certificates, CRLs and
 * OCSP answers (RFC 5280, RFC 6960 A.1), all signed data, with no
 * authentication.  Prometheus scrapes /metrics: by default over HTTPS
 * with an auditor's or operator's client certificate (tls.client_ca and a
 * client section), or here, public, with metrics = "public".  CRLs and OCSP responses
 * come from the engine, which signs them; issuer certificates are read
 * from the configuration at startup.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "https_local.h"

#define PUB_CA_REFRESH_S	60

static int
pub_der_write(struct https_ctx *ctx, struct evbuffer *b,
    const struct proto_reply *r)
{
	(void)ctx;
	evbuffer_add(b, r->u.der.ptr, r->u.der.len);
	return 200;
}

/* "<prefix><name><suffix>" with a well-formed name, into name. */
static int
pub_name(const char *path, const char *prefix, const char *suffix,
    char name[PROTO_MAX_STR + 1])
{
	size_t pl = strlen(prefix), sl = strlen(suffix), n = strlen(path);

	if (n <= pl + sl || strncmp(path, prefix, pl) != 0 ||
	    strcmp(path + n - sl, suffix) != 0 || n - pl - sl > PROTO_MAX_STR)
		return -1;
	memcpy(name, path + pl, n - pl - sl);
	name[n - pl - sl] = '\0';
	return https_name_ok(name) ? 0 : -1;
}

static void
pub_ca(struct https_ctx *ctx, const char *name)
{
	struct evbuffer *b;
	size_t i;

	for (i = 0; i < ctx->srv->ncas; i++)
		if (strcmp(ctx->srv->cas[i].name, name) == 0)
			break;
	if (i == ctx->srv->ncas) {
		https_error(ctx, 404, "no issuer \"%s\"", name);
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		https_error(ctx, 500, "out of memory");
		return;
	}
	evbuffer_add(b, ctx->srv->cas[i].der, ctx->srv->cas[i].len);
	https_reply(ctx, 200, "application/pkix-cert", b);
	evbuffer_free(b);
}

static void
pub_ocsp(struct https_ctx *ctx, struct proto_request *req, const char *path,
    int post)
{
	uint8_t der[PROTO_MAX_OCSP_REQ];
	uint8_t *body;
	size_t len;

	if (post) {
		if (https_body(ctx, "application/ocsp-request",
		    PROTO_MAX_OCSP_REQ, &body, &len) != 0)
			return;
		memcpy(der, body, len);
	} else if (https_ocsp_path((const uint8_t *)path, strlen(path), der,
	    sizeof(der), &len) != HTTPS_OK) {
		https_error(ctx, 400, "the OCSP request in the URL is not "
		    "base64 DER (RFC 6960 A.1)");
		return;
	}
	req->type = PROTO_T_OCSP;
	req->u.ocsp.der.ptr = der;
	req->u.ocsp.der.len = len;
	https_call_reply(ctx, req, "application/ocsp-response", pub_der_write);
}

/* Ours, then the engine's counters if it answers (its budgets). */
static void
pub_metrics_done(struct https_ctx *ctx, int err, const struct proto_reply *r)
{
	struct evbuffer *b;

	if ((b = evbuffer_new()) == NULL) {
		https_error(ctx, 500, "out of memory");
		return;
	}
	https_metrics_render(&ctx->srv->m, b);
	https_metrics_conns(ctx->srv, b);
	if (err == PROTO_OK && r->status.result == PROTO_R_OK)
		https_metrics_engine(&r->u.health, b);
	https_reply(ctx, 200, "text/plain; version=0.0.4", b);
	evbuffer_free(b);
}

static void
pub_metrics(struct https_ctx *ctx)
{
	struct proto_request req;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_HEALTH;
	req.ev.peer = PROTO_PEER_HTTPS;
	if (https_engine_call(ctx->srv->engine, &req, pub_metrics_done,
	    ctx) != PROTO_OK)
		pub_metrics_done(ctx, PROTO_ERR_EOF, NULL);
}

static const unsigned int pub_metrics_roles =
    SCONF_ROLE_BIT(SCONF_ROLE_AUDITOR) | SCONF_ROLE_BIT(SCONF_ROLE_OPERATOR);

/* /metrics on the HTTPS listener (metrics = "auditor", the default). */
void
https_metrics_tls(struct https_srv *srv, struct evhttp_request *req)
{
	struct https_ctx *ctx;

	if ((ctx = https_ctx_new(srv, req, HTTPS_R_METRICS, 0)) == NULL)
		return;
	if (srv->conf->metrics == NULL ||
	    strcmp(srv->conf->metrics, "auditor") != 0)
		https_error(ctx, 404, "no such resource");
	else if (!https_tls_role(srv, https_req_ssl(req), pub_metrics_roles)) {
		srv->m.refused[HTTPS_REF_METRICS]++;
		https_error(ctx, 403, "/metrics needs the client certificate "
		    "of an auditor or operator (tls.client_ca, client role)");
	} else
		pub_metrics(ctx);
}

static int
pub_rid(const char *path)
{
	if (strcmp(path, "/metrics") == 0)
		return HTTPS_R_METRICS;
	if (strncmp(path, "/ca/", 4) == 0)
		return HTTPS_R_CA;
	if (strncmp(path, "/crl/", 5) == 0)
		return HTTPS_R_CRL;
	if (strcmp(path, "/ocsp") == 0 || strncmp(path, "/ocsp/", 6) == 0)
		return HTTPS_R_OCSP;
	return HTTPS_R_OTHER;
}

void
https_pub(struct evhttp_request *r, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r);
	struct proto_request req;
	struct https_ctx *ctx;
	const char *path;
	char name[PROTO_MAX_STR + 1];
	int post;

	https_conn_busy(arg, r);
	if (https_framing_check(arg, r) != 0)
		return;
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL) {
		https_conn_done(arg, r);
		evhttp_send_error(r, 400, "malformed request target");
		return;
	}
	if ((ctx = https_ctx_new(arg, r, pub_rid(path), 0)) == NULL)
		return;
	post = evhttp_request_get_command(r) == EVHTTP_REQ_POST;
	memset(&req, 0, sizeof(req));
	req.ev.peer = PROTO_PEER_HTTPS;
	if (post && ctx->rid != HTTPS_R_OCSP)
		https_error(ctx, 405, "only OCSP takes POST");
	else if (ctx->rid == HTTPS_R_METRICS) {
		if (ctx->srv->conf->metrics != NULL &&
		    strcmp(ctx->srv->conf->metrics, "public") == 0)
			pub_metrics(ctx);
		else
			https_error(ctx, 404, "/metrics is served over HTTPS "
			    "to auditor certificates (metrics = \"%s\")",
			    ctx->srv->conf->metrics != NULL ?
			    ctx->srv->conf->metrics : "off");
	}
	else if (ctx->rid == HTTPS_R_OCSP)
		pub_ocsp(ctx, &req, path, post);
	else if (ctx->rid == HTTPS_R_CA) {
		if (pub_name(path, "/ca/", ".der", name) != 0)
			https_error(ctx, 404, "use /ca/<issuer>.der");
		else
			pub_ca(ctx, name);
	} else if (ctx->rid == HTTPS_R_CRL) {
		/* Issue 19: an issuer's delta CRL beside its complete one. */
		if (strncmp(path, "/crl/delta/", 11) == 0)
			req.u.crl.delta = 1;
		if (pub_name(path, req.u.crl.delta ? "/crl/delta/" : "/crl/",
		    ".crl", name) != 0) {
			https_error(ctx, 404, "use /crl/<issuer>.crl or "
			    "/crl/delta/<issuer>.crl");
		} else {
			req.type = PROTO_T_CRL;
			snprintf(req.u.crl.issuer, sizeof(req.u.crl.issuer),
			    "%s", name);
			https_call_reply(ctx, &req, "application/pkix-crl",
			    pub_der_write);
		}
	} else
		https_error(ctx, 404, "no such resource");
}

static int
pub_load_one(struct https_cafile *ca, const char *name, const char *file)
{
	unsigned char *p = NULL;
	X509 *x = NULL;
	FILE *f = NULL;
	int n, rc = -1;

	if ((f = fopen(file, "r")) == NULL ||
	    (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL ||
	    (n = i2d_X509(x, &p)) <= 0 || (ca->name = strdup(name)) == NULL)
		goto out;
	ca->der = p;
	ca->len = (size_t)n;
	p = NULL;
	rc = 0;
out:
	OPENSSL_free(p);
	X509_free(x);
	if (f != NULL)
		fclose(f);
	return rc;
}

int
https_pub_load(struct https_srv *srv, char *err, size_t errlen)
{
	const struct sconf *c = srv->conf;
	const struct sconf_issuer *is;
	size_t i, k, n = 0;

	for (i = 0; i < c->ntenants; i++)
		n += c->tenants[i].nissuers;
	if (n == 0)
		return 0;
	if ((srv->cas = calloc(n, sizeof(*srv->cas))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Issuer names are global in URLs; the first of a name wins. */
	for (i = 0; i < c->ntenants; i++)
		for (k = 0; k < c->tenants[i].nissuers; k++) {
			is = &c->tenants[i].issuers[k];
			if (is->cert_file == NULL)
				continue;
			if (pub_load_one(&srv->cas[srv->ncas], is->name,
			    is->cert_file) != 0) {
				/* Not fatal: provisioning may not be done. */
				log_warnx("msg=\"cannot read issuer "
				    "certificate\" issuer=%s file=%s", is->name,
				    is->cert_file);
				continue;
			}
			srv->ncas++;
		}
	return 0;
}

static void
pub_ca_done(struct https_ctx *ctx, int err, const struct proto_reply *r)
{
	if (err == PROTO_OK && r->status.result == PROTO_R_OK)
		https_tls_add_ca(ctx->srv, &r->u.chain);
	free(ctx);
}

static void
pub_ca_refresh(evutil_socket_t fd, short what, void *arg)
{
	struct https_srv *srv = arg;
	const struct sconf *c = srv->conf;
	struct proto_request req;
	struct https_ctx *ctx;
	size_t i, k;

	for (i = 0; i < c->ntenants; i++)
		for (k = 0; k < c->tenants[i].nprofiles; k++) {
			if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
				return;
			ctx->srv = srv;
			memset(&req, 0, sizeof(req));
			req.type = PROTO_T_CACERTS;
			req.ev.peer = PROTO_PEER_HTTPS;
			snprintf(req.u.target.tenant, sizeof(req.u.target.tenant),
			    "%s", c->tenants[i].name);
			snprintf(req.u.target.profile,
			    sizeof(req.u.target.profile), "%s",
			    c->tenants[i].profiles[k].name);
			if (https_engine_call(srv->engine, &req, pub_ca_done,
			    ctx) != PROTO_OK)
				free(ctx);
		}
}

void
https_preload_cas(struct https_srv *srv)
{
	struct timeval tv = { PUB_CA_REFRESH_S, 0 };

	/* Certificates Signet issued authenticate renewals and the API. */
	if ((srv->ca_timer = event_new(srv->base, -1, EV_PERSIST,
	    pub_ca_refresh, srv)) != NULL)
		event_add(srv->ca_timer, &tv);
	pub_ca_refresh(-1, 0, srv);
}
