/*
 * The EST-coaps resources: registration with their discovery attributes,
 * Block1 reassembly under our own cap, and the one request handler.
 *
 * libcoap's COAP_BLOCK_SINGLE_BODY would reassemble Block1 for us, but
 * 4.3.1 allocates the client's Size1 (or block offset) up front, so a
 * single datagram could make us reserve a gigabyte.  We run with
 * COAP_BLOCK_USE_LIBCOAP only: libcoap still answers Block2 from the body
 * we hand it, and each Block1 block reaches this handler, which judges
 * Size1 and the block position before storing a byte (ec_block1_check).
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "ec_local.h"

static struct ec_ctx *res_ctx;

/* RFC 9148 4.1 discovery: rt="ace.est.*" and the formats each answers. */
static const struct {
	const char	*op;
	const char	*rt;
	const char	*ct;
} est_res[] = {
	{ "crts", "\"ace.est.crts\"", "\"281 287\"" },
	{ "sen", "\"ace.est.sen\"", "\"281 287\"" },
	{ "sren", "\"ace.est.sren\"", "\"281 287\"" },
	{ "att", "\"ace.est.att\"", "285" },
};

static void
body_free(struct ec_ctx *ctx, struct ec_body *b)
{
	TAILQ_REMOVE(&ctx->bodies, b, entry);
	ctx->nbodies--;
	free(b->buf);
	free(b);
}

static struct ec_body *
body_find(struct ec_ctx *ctx, coap_session_t *s, const char *path)
{
	struct ec_body *b;

	TAILQ_FOREACH(b, &ctx->bodies, entry)
		if (b->session == s && strcmp(b->path, path) == 0)
			return b;
	return NULL;
}

void
ec_body_drop_session(struct ec_ctx *ctx, coap_session_t *s)
{
	struct ec_body *b, *next;

	/* glibc's sys/queue.h has no TAILQ_FOREACH_SAFE. */
	for (b = TAILQ_FIRST(&ctx->bodies); b != NULL; b = next) {
		next = TAILQ_NEXT(b, entry);
		if (b->session == s)
			body_free(ctx, b);
	}
}

void
ec_body_reap(struct ec_ctx *ctx, int64_t now)
{
	struct ec_body *b, *next;

	for (b = TAILQ_FIRST(&ctx->bodies); b != NULL; b = next) {
		next = TAILQ_NEXT(b, entry);
		if (now - b->last_ms > ctx->body_idle_ms ||
		    now - b->first_ms > ctx->body_max_ms) {
			ctx->st.blocks_reaped++;
			body_free(ctx, b);
		}
	}
}

/* The session's credential as 32 bytes: its PSK identity or its leaf. */
static void
session_ident(coap_session_t *s, uint8_t out[32])
{
	const coap_bin_const_t *id;
	coap_tls_library_t lib;
	unsigned int n = 32;
	SSL *ssl;
	X509 *x;

	memset(out, 0, 32);
	if ((id = coap_session_get_psk_identity(s)) != NULL &&
	    id->length > 0) {
		(void)EVP_Digest(id->s, id->length, out, &n, EVP_sha256(),
		    NULL);
		return;
	}
	ssl = coap_session_get_tls(s, &lib);
	if (ssl != NULL && lib == COAP_TLS_LIBRARY_OPENSSL &&
	    (x = SSL_get0_peer_certificate(ssl)) != NULL)
		(void)X509_digest(x, EVP_sha256(), out, &n);
}

/* Whether s may start one more body: per session, identity and all. */
static int
body_room(struct ec_ctx *ctx, coap_session_t *s, const uint8_t ident[32])
{
	struct ec_body *b;
	unsigned ns = 0, ni = 0;

	if (ctx->nbodies >= EC_MAX_PENDING)
		return 0;
	TAILQ_FOREACH(b, &ctx->bodies, entry) {
		if (b->session == s)
			ns++;
		if (memcmp(b->ident, ident, 32) == 0)
			ni++;
	}
	return ns < EC_PENDING_SESSION && ni < EC_PENDING_IDENTITY;
}

static void
answer(coap_pdu_t *rsp, int code, const char *diag)
{
	coap_pdu_set_code(rsp, COAP_RESPONSE_CODE(code));
	/* RFC 7252 5.5.2: a diagnostic payload is UTF-8 for humans. */
	if (diag != NULL)
		coap_add_data(rsp, strlen(diag), (const uint8_t *)diag);
}

static unsigned
opt_uint(const coap_pdu_t *pdu, uint16_t num, int *present)
{
	coap_opt_iterator_t it;
	coap_opt_t *o;

	if ((o = coap_check_option(pdu, num, &it)) == NULL) {
		*present = 0;
		return 0;
	}
	*present = 1;
	return coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o));
}

/*
 * One Block1 block.  Returns 1 when the body is complete (*body, *len
 * then hold it, owned by the returned *bp), 0 when the answer has been
 * set (2.31 Continue or an error).
 */
static int
block1(struct ec_ctx *ctx, coap_session_t *s, const coap_pdu_t *req,
    coap_pdu_t *rsp, const char *path, const coap_block_b_t *blk,
    struct ec_body **bp)
{
	struct ec_body *b = body_find(ctx, s, path);
	const uint8_t *data;
	size_t len, off, total, have = b ? b->len : 0;
	uint64_t offset = (uint64_t)blk->num << (blk->szx + 4);
	unsigned size1;
	uint8_t *nbuf;
	int present, rc;
	uint8_t sz[4], id[32];

	if (!coap_get_data_large(req, &len, &data, &off, &total)) {
		len = 0;
		data = NULL;
	}
	size1 = opt_uint(req, COAP_OPTION_SIZE1, &present);
	rc = ec_block1_check(offset, len, size1, have, ctx->max_body);
	if (rc == 413) {
		ctx->st.too_large++;
		if (b != NULL)
			body_free(ctx, b);
		/* RFC 7959 2.9.3: Size1 tells the client what we take. */
		coap_add_option(rsp, COAP_OPTION_SIZE1, coap_encode_var_safe(sz,
		    sizeof(sz), (unsigned)ctx->max_body), sz);
		answer(rsp, 413, "request body larger than this server takes");
		return 0;
	}
	if (rc == 408) {
		if (b != NULL)
			body_free(ctx, b);
		answer(rsp, 408, "Block1 blocks out of order");
		return 0;
	}
	if (b == NULL) {
		session_ident(s, id);
		if (!body_room(ctx, s, id)) {
			ctx->st.bodies_refused++;
			answer(rsp, 503, "too many unfinished transfers");
			return 0;
		}
		if ((b = calloc(1, sizeof(*b))) == NULL) {
			answer(rsp, 500, "out of memory");
			return 0;
		}
		b->session = s;
		memcpy(b->ident, id, sizeof(b->ident));
		memcpy(b->path, path, strlen(path) + 1);
		b->first_ms = b->last_ms = ec_now_ms();
		TAILQ_INSERT_TAIL(&ctx->bodies, b, entry);
		ctx->nbodies++;
	}
	if (rc == EC_BLK_APPEND && len > 0) {
		/* Only new data keeps a body alive; duplicates do not. */
		b->last_ms = ec_now_ms();
		/* Grows with what arrived, never with what was announced. */
		if ((nbuf = realloc(b->buf, b->len + len)) == NULL) {
			body_free(ctx, b);
			answer(rsp, 500, "out of memory");
			return 0;
		}
		b->buf = nbuf;
		memcpy(b->buf + b->len, data, len);
		b->len += len;
	}
	if (blk->m) {
		coap_pdu_set_code(rsp, COAP_RESPONSE_CODE(231));
		return 0;
	}
	*bp = b;
	return 1;
}

/* Split Content-Format, Accept and the body out of a request. */
static void
read_in(const coap_pdu_t *req, const char *path, struct ec_in *in,
    size_t max_body)
{
	size_t off, total;

	memset(in, 0, sizeof(*in));
	switch (coap_pdu_get_code(req)) {
	case COAP_REQUEST_CODE_GET:
		in->method = EC_M_GET;
		break;
	case COAP_REQUEST_CODE_POST:
		in->method = EC_M_POST;
		break;
	default:
		in->method = EC_M_OTHER;
		break;
	}
	in->path = (const uint8_t *)path;
	in->pathlen = strlen(path);
	in->ct = opt_uint(req, COAP_OPTION_CONTENT_FORMAT, &in->has_ct);
	in->accept = opt_uint(req, COAP_OPTION_ACCEPT, &in->has_accept);
	if (!coap_get_data_large(req, &in->bodylen, &in->body, &off, &total)) {
		in->body = NULL;
		in->bodylen = 0;
	}
	in->max_body = max_body;
}

static void
handle(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,
    const coap_string_t *query, coap_pdu_t *rsp)
{
	struct ec_ctx *ctx = res_ctx;
	coap_str_const_t *up = coap_resource_get_uri_path(r);
	struct ec_body *b = NULL;
	coap_block_b_t blk;
	struct ec_in in;
	struct ec_out out;
	coap_async_t *async;
	char path[EC_MAX_PATH + 1];

	/* libcoap's copy of a request whose engine call has ended. */
	if ((async = coap_find_async(s, coap_pdu_get_token(req))) != NULL) {
		ec_serve_async(ctx, r, s, req, query, rsp, async);
		return;
	}
	ctx->st.requests++;
	/* A retransmission never reaches the engine again (ec_dup.h). */
	if (ec_serve_dup(ctx, r, s, req, query, rsp))
		return;
	if (up == NULL || up->length > EC_MAX_PATH) {
		answer(rsp, 404, "no such resource");
		return;
	}
	memcpy(path, up->s, up->length);
	path[up->length] = '\0';
	read_in(req, path, &in, ctx->max_body);
	if (in.method == EC_M_POST &&
	    coap_get_block_b(s, req, COAP_OPTION_BLOCK1, &blk)) {
		if (!block1(ctx, s, req, rsp, path, &blk, &b))
			return;
		in.body = b->buf;
		in.bodylen = b->len;
	}
	if (ec_map(&in, &out) != 0) {
		ctx->st.errors++;
		answer(rsp, out.code, out.diag);
	} else
		ec_serve(ctx, r, s, req, query, rsp, &out);
	if (b != NULL)
		body_free(ctx, b);
}

static int
add_resource(struct ec_ctx *ctx, const char *label, size_t i, int target)
{
	coap_resource_t *r;
	coap_str_const_t *p;
	char path[EC_MAX_PATH + 1];
	int n;

	if (label[0] == '\0')
		n = snprintf(path, sizeof(path), "est/%s", est_res[i].op);
	else
		n = snprintf(path, sizeof(path), "est/%s/%s", label,
		    est_res[i].op);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    (p = coap_new_str_const((const uint8_t *)path, (size_t)n)) == NULL)
		return -1;
	if ((r = coap_resource_init(p, COAP_RESOURCE_FLAGS_RELEASE_URI)) ==
	    NULL)
		return -1;
	coap_register_request_handler(r, COAP_REQUEST_GET, handle);
	coap_register_request_handler(r, COAP_REQUEST_POST, handle);
	coap_register_request_handler(r, COAP_REQUEST_PUT, handle);
	coap_register_request_handler(r, COAP_REQUEST_DELETE, handle);
	coap_add_attr(r, coap_make_str_const("rt"),
	    coap_make_str_const(est_res[i].rt), 0);
	coap_add_attr(r, coap_make_str_const("ct"),
	    coap_make_str_const(est_res[i].ct), 0);
	coap_add_resource(ctx->coap, r);
	return ec_disc_link(ctx, r, target, est_res[i].rt);
}

int
ec_res_setup(struct ec_ctx *ctx)
{
	const struct sconf *c = ctx->conf;
	const struct sconf_tenant *t, *dt;
	const struct sconf_profile *p, *dp;
	size_t i, j, k;
	int def, target;

	res_ctx = ctx;
	TAILQ_INIT(&ctx->bodies);
	def = sconf_est_label(c, "", &dt, &dp) == 0 && dt != NULL &&
	    dp != NULL ? EC_LINK_DEFAULT : EC_LINK_HIDDEN;
	for (k = 0; k < sizeof(est_res) / sizeof(est_res[0]); k++)
		if (add_resource(ctx, "", k, def) != 0)
			return -1;
	for (i = 0; i < c->ntenants; i++)
		for (j = 0; j < c->tenants[i].nprofiles; j++) {
			t = &c->tenants[i];
			p = &t->profiles[j];
			if (p->est_label == NULL ||
			    strlen(p->est_label) > EC_MAX_LABEL)
				continue;
			if ((target = ec_disc_target(ctx, t, p)) < 0)
				return -1;
			for (k = 0; k < sizeof(est_res) / sizeof(est_res[0]);
			    k++)
				if (add_resource(ctx, p->est_label, k,
				    target) != 0)
					return -1;
		}
	return ec_disc_setup(ctx);
}
