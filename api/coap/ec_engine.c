/*
 * The engine side of signet-coap: the mapping of EST labels to
 * tenant/profile names, and the trust store for client certificates
 * (the channel itself is ec_chan.c).
 */
#include <string.h>
#include <syslog.h>

#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "signet/est.h"
#include "ec_local.h"

static void
copy_name(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

int
ec_target(struct ec_ctx *ctx, const char *label, char *tenant,
    char *profile)
{
	const struct sconf_tenant *t = NULL;
	const struct sconf_profile *p = NULL;

	if (sconf_est_label(ctx->conf, label, &t, &p) != 0 || t == NULL ||
	    p == NULL)
		return -1;
	copy_name(tenant, PROTO_MAX_STR + 1, t->name);
	copy_name(profile, PROTO_MAX_STR + 1, p->name);
	return 0;
}

/* The CA certificates the engine serves for one target, into the store. */
static int
store_add_target(struct ec_ctx *ctx, const char *tenant,
    const char *profile)
{
	struct proto_request req;
	struct proto_reply rep;
	const uint8_t *p;
	X509 *x;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_CACERTS;
	req.ev.peer = PROTO_PEER_COAP;
	req.ev.kind = PROTO_EV_NONE;
	copy_name(req.u.target.tenant, sizeof(req.u.target.tenant), tenant);
	copy_name(req.u.target.profile, sizeof(req.u.target.profile),
	    profile);
	if (ec_engine_call(ctx, &req, &rep, EC_PSK_TIMEOUT_MS) != 0 ||
	    rep.status.result != PROTO_R_OK)
		return -1;
	/* The first is the target's issuer: discovery (ec_disc.c). */
	p = rep.u.chain.certs[0].ptr;
	if ((x = d2i_X509(NULL, &p, (long)rep.u.chain.certs[0].len)) ==
	    NULL)
		return -1;
	ec_disc_issuer(ctx, tenant, profile, x);
	X509_free(x);
	if (est_store_add(ctx->store, rep.u.chain.certs,
	    rep.u.chain.ncerts) != EST_OK)
		return -1;
	return 0;
}

/*
 * Every tenant/profile reachable over EST: the default and each profile
 * with an EST label.  Issued device certificates chain to these.
 */
void
ec_store_refresh(struct ec_ctx *ctx)
{
	const struct sconf *c = ctx->conf;
	char tenant[PROTO_MAX_STR + 1], profile[PROTO_MAX_STR + 1];
	size_t i, j;
	int ok = 1;

	ctx->store_try_ms = ec_now_ms();
	/* One failure means the engine is not serving yet: retry later. */
	if (ec_target(ctx, "", tenant, profile) == 0 &&
	    store_add_target(ctx, tenant, profile) != 0)
		ok = 0;
	for (i = 0; ok && i < c->ntenants; i++)
		for (j = 0; j < c->tenants[i].nprofiles; j++)
			if (ok && c->tenants[i].profiles[j].est_label != NULL &&
			    store_add_target(ctx, c->tenants[i].name,
			    c->tenants[i].profiles[j].name) != 0)
				ok = 0;
	if (ok && !ctx->store_engine)
		log_info("msg=\"client trust store has the engine's "
		    "CA certificates\"");
	ctx->store_engine = ok;
}

int
ec_store_init(struct ec_ctx *ctx)
{
	size_t i;

	ctx->store_retry_ms = EC_STORE_RETRY_MS;
	if ((ctx->store = X509_STORE_new()) == NULL)
		return -1;
	/*
	 * Strict: RFC 5280 conformance, a client (TLS web client) purpose,
	 * no partial chains; time is checked by default.
	 */
	X509_STORE_set_flags(ctx->store, X509_V_FLAG_X509_STRICT);
	X509_STORE_set_purpose(ctx->store, X509_PURPOSE_SSL_CLIENT);
	for (i = 0; i < ctx->conf->tls_client_ca.n; i++)
		if (X509_STORE_load_file(ctx->store,
		    ctx->conf->tls_client_ca.v[i]) != 1) {
			log_warnx("msg=\"cannot load client CA\" "
			    "file=%s", ctx->conf->tls_client_ca.v[i]);
			return -1;
		}
	ec_store_refresh(ctx);
	return 0;
}
