/*
 * /.well-known/core (RFC 6690, RFC 9148 4.1) for one session: libcoap's
 * own handler lists every resource, that is every tenant's EST labels, to
 * anyone who completes a handshake.  Ours lists the resources without a
 * label (when est_default is set) and the labelled ones the session may
 * use:
 *
 *	PSK session		the target (tenant, profile) of its token,
 *				as the engine's PSK lookup named it
 *	certificate session	the profiles whose issuer issued its leaf
 *				(re-enrollment of a device certificate)
 *
 * A session with neither (a PSK slot reused, see ec_psk.c) sees nothing
 * tenant-specific.  A handshake with an unknown PSK identity or an
 * untrusted certificate fails, so nobody gets here unauthenticated.
 * Filters: rt= and href= (RFC 6690 4.1), a trailing '*' matching a prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ec_local.h"

static struct ec_ctx *disc_ctx;

/* The issuer certificate of a tenant's profile, read from its cert file. */
static X509 *
issuer_cert(const struct sconf_tenant *t, const struct sconf_profile *p)
{
	const struct sconf_issuer *iss;
	FILE *f;
	X509 *x = NULL;

	if ((iss = sconf_issuer(t, p->issuer)) == NULL ||
	    iss->cert_file == NULL || (f = fopen(iss->cert_file, "r")) == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

int
ec_disc_target(struct ec_ctx *ctx, const struct sconf_tenant *t,
    const struct sconf_profile *p)
{
	struct ec_target *nt;

	if ((nt = reallocarray(NULL, ctx->ntargets + 1, sizeof(*nt))) == NULL)
		return -1;
	if (ctx->ntargets > 0)
		memcpy(nt, ctx->targets, ctx->ntargets * sizeof(*nt));
	free(ctx->targets);
	ctx->targets = nt;
	nt += ctx->ntargets;
	nt->tenant = t->name;
	nt->profile = p->name;
	/* None readable: certificate sessions do not see this target. */
	nt->issuer = issuer_cert(t, p);
	return (int)ctx->ntargets++;
}

int
ec_disc_link(struct ec_ctx *ctx, coap_resource_t *r, int target,
    const char *rt)
{
	struct ec_link *nl;

	if ((nl = reallocarray(NULL, ctx->nlinks + 1, sizeof(*nl))) == NULL)
		return -1;
	if (ctx->nlinks > 0)
		memcpy(nl, ctx->links, ctx->nlinks * sizeof(*nl));
	free(ctx->links);
	ctx->links = nl;
	nl[ctx->nlinks].r = r;
	nl[ctx->nlinks].target = target;
	nl[ctx->nlinks].rt = rt;
	ctx->nlinks++;
	return 0;
}

void
ec_disc_issuer(struct ec_ctx *ctx, const char *tenant, const char *profile,
    X509 *x)
{
	size_t i;

	for (i = 0; i < ctx->ntargets; i++)
		if (ctx->targets[i].issuer == NULL &&
		    strcmp(ctx->targets[i].tenant, tenant) == 0 &&
		    strcmp(ctx->targets[i].profile, profile) == 0 &&
		    X509_up_ref(x) == 1)
			ctx->targets[i].issuer = x;
}

void
ec_disc_free(struct ec_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->ntargets; i++)
		X509_free(ctx->targets[i].issuer);
	free(ctx->targets);
	free(ctx->links);
	ctx->targets = NULL;
	ctx->links = NULL;
	ctx->ntargets = ctx->nlinks = 0;
}

static int
visible(struct ec_ctx *ctx, coap_session_t *s, const struct ec_link *l)
{
	const struct ec_target *t;
	const coap_bin_const_t *id;
	const char *tenant, *profile;
	coap_tls_library_t lib;
	SSL *ssl;
	X509 *leaf;

	if (l->target == EC_LINK_DEFAULT)
		return 1;
	if (l->target < 0 || (size_t)l->target >= ctx->ntargets)
		return 0;
	t = &ctx->targets[l->target];
	if (ec_psk_target(s, &tenant, &profile) == 0)
		return strcmp(tenant, t->tenant) == 0 &&
		    strcmp(profile, t->profile) == 0;
	if ((id = coap_session_get_psk_identity(s)) != NULL &&
	    id->length > 0)
		return 0;
	ssl = coap_session_get_tls(s, &lib);
	if (ssl == NULL || lib != COAP_TLS_LIBRARY_OPENSSL ||
	    (leaf = SSL_get0_peer_certificate(ssl)) == NULL ||
	    t->issuer == NULL)
		return 0;
	/* The handshake verified the chain; this names the profile. */
	return X509_check_issued(t->issuer, leaf) == X509_V_OK;
}

/* RFC 6690 4.1: each rt= and href= parameter must match; others pass. */
static int
filter_ok(const coap_string_t *q, const struct ec_link *l)
{
	coap_str_const_t *up = coap_resource_get_uri_path(l->r);
	char rt[64], href[EC_MAX_PATH + 2];
	size_t rlen = strlen(l->rt);

	if (q == NULL || up == NULL || up->length > EC_MAX_PATH)
		return 1;
	/* rt is stored quoted for coap_print_link: compare without. */
	snprintf(rt, sizeof(rt), "%.*s", rlen >= 2 ? (int)(rlen - 2) : 0,
	    l->rt + (rlen >= 2));
	snprintf(href, sizeof(href), "/%.*s", (int)up->length,
	    (const char *)up->s);
	return ec_link_filter(q->s, q->length, rt, href);
}

static void
release(coap_session_t *s, void *p)
{
	free(p);
}

static void
disc_get(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,
    const coap_string_t *query, coap_pdu_t *rsp)
{
	struct ec_ctx *ctx = disc_ctx;
	size_t i, size, used = 0, len, off;
	coap_print_status_t st;
	uint8_t *buf;

	ctx->st.requests++;
	size = ctx->nlinks * (EC_MAX_PATH + 64) + 1;
	if ((buf = malloc(size)) == NULL) {
		coap_pdu_set_code(rsp, COAP_RESPONSE_CODE(500));
		return;
	}
	for (i = 0; i < ctx->nlinks; i++) {
		if (!visible(ctx, s, &ctx->links[i]) ||
		    !filter_ok(query, &ctx->links[i]))
			continue;
		if (used > 0)
			buf[used++] = ',';
		len = size - used;
		off = 0;
		st = coap_print_link(ctx->links[i].r, buf + used, &len, &off);
		if (st & (COAP_PRINT_STATUS_ERROR | COAP_PRINT_STATUS_TRUNC)) {
			free(buf);
			coap_pdu_set_code(rsp, COAP_RESPONSE_CODE(500));
			return;
		}
		used += COAP_PRINT_OUTPUT_LENGTH(st);
	}
	coap_pdu_set_code(rsp, COAP_RESPONSE_CODE(205));
	if (used == 0) {
		uint8_t cf[2];

		free(buf);
		coap_add_option(rsp, COAP_OPTION_CONTENT_FORMAT,
		    coap_encode_var_safe(cf, sizeof(cf),
		    COAP_MEDIATYPE_APPLICATION_LINK_FORMAT), cf);
		return;
	}
	/* libcoap releases buf when the (Block2) transfer ends, or now. */
	(void)coap_add_data_large_response(r, s, req, rsp, query,
	    COAP_MEDIATYPE_APPLICATION_LINK_FORMAT, -1, 0, used, buf,
	    release, buf);
}

int
ec_disc_setup(struct ec_ctx *ctx)
{
	static const char wk[] = ".well-known/core";
	coap_str_const_t *p;
	coap_resource_t *r;

	disc_ctx = ctx;
	/* A resource of ours at this path takes the place of libcoap's. */
	if ((p = coap_new_str_const((const uint8_t *)wk, sizeof(wk) - 1)) ==
	    NULL || (r = coap_resource_init(p,
	    COAP_RESOURCE_FLAGS_RELEASE_URI)) == NULL)
		return -1;
	coap_register_request_handler(r, COAP_REQUEST_GET, disc_get);
	coap_add_resource(ctx->coap, r);
	return 0;
}
