/*
 * EST (RFC 7030) over mutual TLS.  The label in /.well-known/est/<label>/
 * names a tenant and profile through the configuration; without a label
 * est_default applies.  Credentials (RFC 7030 3.3): a client certificate,
 * or for the first enrollment a one-time token in the Authorization
 * header, either "Bearer <token>" or HTTP Basic with the token as the
 * password ("curl -u est:TOKEN").  The engine decides whether either is
 * good enough; we only refuse requests that carry none.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "signet/est.h"
#include "https_local.h"

#define EST_P7_TYPE	"application/pkcs7-mime; smime-type=certs-only"
/* A certs-only PKCS#7 of certs, base64 (RFC 7030 4.1.3, 4.2.3). */
static void
est_reply_certs(struct https_ctx *ctx, const struct proto_blob *certs,
    size_t n, const char *ctype)
{
	uint8_t *p7 = NULL;
	char *b64 = NULL;
	struct evbuffer *b = NULL;
	size_t p7size, p7len, b64size, b64len;

	if ((p7size = est_pkcs7_size(certs, n)) == 0 ||
	    (p7 = malloc(p7size)) == NULL ||
	    est_pkcs7_certs(certs, n, p7, p7size, &p7len) != EST_OK) {
		https_error(ctx, 500, "cannot encode the certificates");
		goto out;
	}
	b64size = https_b64_encoded_size(p7len);
	if ((b64 = malloc(b64size)) == NULL || (b = evbuffer_new()) == NULL ||
	    https_b64_encode(p7, p7len, b64, b64size, &b64len) != HTTPS_OK) {
		https_error(ctx, 500, "out of memory");
		goto out;
	}
	evbuffer_add(b, b64, b64len);
	evhttp_add_header(evhttp_request_get_output_headers(ctx->req),
	    "Content-Transfer-Encoding", "base64");
	https_reply(ctx, 200, ctype, b);
out:
	if (b != NULL)
		evbuffer_free(b);
	free(b64);
	free(p7);
}

static void
est_cacerts_done(struct https_ctx *ctx, int err, const struct proto_reply *r)
{
	if (err != PROTO_OK || r->status.result != PROTO_R_OK) {
		https_engine_error(ctx, err, r);
		return;
	}
	https_tls_add_ca(ctx->srv, &r->u.chain);
	est_reply_certs(ctx, r->u.chain.certs, r->u.chain.ncerts,
	    "application/pkcs7-mime");
}

static void
est_enroll_done(struct https_ctx *ctx, int err, const struct proto_reply *r)
{
	if (err != PROTO_OK || r->status.result != PROTO_R_OK) {
		https_engine_error(ctx, err, r);
		return;
	}
	log_info("msg=\"certificate issued\" route=est tenant=%s",
	    ctx->tenant);
	est_reply_certs(ctx, &r->u.cert.cert, 1, EST_P7_TYPE);
}

static void
est_csrattrs_done(struct https_ctx *ctx, int err,
    const struct proto_reply *r)
{
	struct evbuffer *b;
	char *b64;
	size_t size, len;

	if (err != PROTO_OK || r->status.result != PROTO_R_OK) {
		https_engine_error(ctx, err, r);
		return;
	}
	/* RFC 7030 4.5.2: no attributes to ask for is 204. */
	if (r->u.der.len == 0) {
		https_reply(ctx, 204, NULL, NULL);
		return;
	}
	size = https_b64_encoded_size(r->u.der.len);
	if ((b64 = malloc(size)) == NULL || (b = evbuffer_new()) == NULL) {
		free(b64);
		https_error(ctx, 500, "out of memory");
		return;
	}
	https_b64_encode(r->u.der.ptr, r->u.der.len, b64, size, &len);
	evbuffer_add(b, b64, len);
	evhttp_add_header(evhttp_request_get_output_headers(ctx->req),
	    "Content-Transfer-Encoding", "base64");
	https_reply(ctx, 200, "application/csrattrs", b);
	evbuffer_free(b);
	free(b64);
}

/*
 * The credential of an enrollment: a token from the Authorization header
 * if there is one, else the client certificate.  Budgets are the
 * engine's, charged after it has checked the credential (eng_gate.c).
 * Returns 0, or -1 after answering.
 */
static int
est_credentials(struct https_ctx *ctx, struct proto_evidence *ev,
    int need_cert)
{
	const char *auth;
	char fp[65], why[256];
	int rc;

	auth = evhttp_find_header(evhttp_request_get_input_headers(ctx->req),
	    "Authorization");
	if (auth != NULL && !need_cert) {
		memset(ev, 0, sizeof(*ev));
		if (https_auth_token((const uint8_t *)auth, strlen(auth),
		    ev->token) != HTTPS_OK) {
			https_error(ctx, 401, "malformed Authorization header: "
			    "use \"Bearer <token>\" or Basic with the token as "
			    "the password");
			return -1;
		}
		ev->peer = PROTO_PEER_HTTPS;
		ev->kind = PROTO_EV_TOKEN;
		ev->token_src = PROTO_TOKSRC_HTTP_AUTH;
		return 0;
	}
	if ((rc = https_tls_evidence(ctx, ev, fp, why, sizeof(why))) == 1)
		return 0;
	if (rc == -1) {
		https_error(ctx, 403, "%s", why);
		return -1;
	}
	evhttp_add_header(evhttp_request_get_output_headers(ctx->req),
	    "WWW-Authenticate", "Bearer realm=\"est\"");
	https_error(ctx, 401, need_cert ? "re-enrollment needs the current "
	    "certificate as the TLS client certificate" : "no credentials: "
	    "present a client certificate or a one-time token in the "
	    "Authorization header");
	return -1;
}

static void
est_enroll(struct https_ctx *ctx, struct proto_request *req,
    const char *label, int reenroll)
{
	/* https_call encodes the request before it returns. */
	uint8_t csr[PROTO_MAX_CSR];
	uint8_t *body;
	size_t len, csrlen;

	if (evhttp_request_get_command(ctx->req) != EVHTTP_REQ_POST) {
		https_error(ctx, 405, "use POST");
		return;
	}
	if (est_credentials(ctx, &req->ev, reenroll) != 0)
		return;
	if (https_body(ctx, "application/pkcs10", HTTPS_MAX_B64_BODY, &body,
	    &len) != 0)
		return;
	if (https_b64_decode(body, len, HTTPS_B64_WS, csr, sizeof(csr),
	    &csrlen) != HTTPS_OK) {
		https_error(ctx, 400, "the body is not base64-encoded DER "
		    "(RFC 7030 4.2.1), or the CSR is larger than %d bytes",
		    PROTO_MAX_CSR);
		return;
	}
	req->type = reenroll ? PROTO_T_REISSUE : PROTO_T_ISSUE;
	/* The engine resolves the label itself (issue 15). */
	req->u.issue.via = PROTO_VIA_EST;
	snprintf(req->u.issue.label, sizeof(req->u.issue.label), "%s", label);
	req->u.issue.csr.ptr = csr;
	req->u.issue.csr.len = csrlen;
	if (reenroll)
		req->u.issue.cur_cert = req->ev.chain.certs[0];
	https_call(ctx, req, est_enroll_done);
}

void
https_est(struct https_ctx *ctx, const struct https_est_route *r)
{
	const struct sconf_tenant *t = NULL;
	const struct sconf_profile *p = NULL;
	struct proto_request req;
	int get;

	get = evhttp_request_get_command(ctx->req) == EVHTTP_REQ_GET;
	if (r->op == HTTPS_EST_SERVERKEYGEN) {
		https_error(ctx, 501, "serverkeygen is not offered: keys are "
		    "generated by their owners");
		return;
	}
	if (sconf_est_label(ctx->srv->conf, r->label, &t, &p) != 0) {
		https_error(ctx, 404, r->label[0] != '\0' ? "unknown EST label "
		    "\"%s\"" : "no default EST profile is configured%s",
		    r->label);
		return;
	}
	memset(&req, 0, sizeof(req));
	snprintf(ctx->tenant, sizeof(ctx->tenant), "%s", t->name);
	switch (r->op) {
	case HTTPS_EST_CACERTS:
	case HTTPS_EST_CSRATTRS:
		if (!get) {
			https_error(ctx, 405, "use GET");
			break;
		}
		/* CACERTS and CSRATTRS are public (RFC 7030 4.1.1, 4.5.1). */
		req.type = r->op == HTTPS_EST_CACERTS ? PROTO_T_CACERTS :
		    PROTO_T_CSRATTRS;
		snprintf(req.u.target.tenant, sizeof(req.u.target.tenant),
		    "%s", t->name);
		snprintf(req.u.target.profile, sizeof(req.u.target.profile),
		    "%s", p->name);
		req.ev.peer = PROTO_PEER_HTTPS;
		https_call(ctx, &req, r->op == HTTPS_EST_CACERTS ?
		    est_cacerts_done : est_csrattrs_done);
		break;
	default:
		est_enroll(ctx, &req, r->label,
		    r->op == HTTPS_EST_SIMPLEREENROLL);
		break;
	}
	proto_wipe(&req, sizeof(req));
}
