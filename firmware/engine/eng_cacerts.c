/*
 * CACERTS: the CA certificates of a tenant's profile (RFC 7030 4.1),
 * public data served to anyone (EST /cacerts needs no client
 * authentication), and the target lookup CACERTS and CSRATTRS share.
 */
#include <stdio.h>
#include <string.h>

#include "eng_engine_local.h"

/* Tenant and profile a target names; "" means the configured default. */
int
eng_target(const struct eng_rt *rt, const struct proto_target_req *q,
    const struct eng_rt_tenant **t, const struct ca_profile **p,
    struct eng_reply *r)
{
	char tenant[PROTO_MAX_STR + 1], profile[PROTO_MAX_STR + 1];
	const char *def = rt->conf->est_default, *slash;

	eng_fmt(tenant, sizeof(tenant), "%s", q->tenant);
	eng_fmt(profile, sizeof(profile), "%s", q->profile);
	if (tenant[0] == '\0' && def != NULL &&
	    (slash = strchr(def, '/')) != NULL) {
		eng_fmt(tenant, sizeof(tenant), "%.*s", (int)(slash - def),
		    def);
		if (profile[0] == '\0')
			eng_fmt(profile, sizeof(profile), "%s", slash + 1);
	}
	if ((*t = eng_rt_tenant(rt, tenant)) == NULL)
		return eng_reply_fail(r, PROTO_R_NOT_FOUND, "no tenant %s",
		    tenant[0] ? tenant : "(default)");
	if (profile[0] == '\0' && (*t)->nprofiles > 0)
		eng_fmt(profile, sizeof(profile), "%s",
		    (*t)->profiles[0].name);
	if ((*p = ca_tenant_profile(&(*t)->t, profile)) == NULL)
		return eng_reply_fail(r, PROTO_R_NOT_FOUND, "tenant %s has no "
		    "profile %s", (*t)->t.name, profile);
	return PROTO_R_OK;
}

int
eng_h_cacerts(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_ident *id, const struct proto_request *req, struct eng_reply *r)
{
	const struct eng_rt_tenant *t;
	const struct eng_rt_issuer *ri;
	const struct ca_profile *p;
	struct proto_chain *ch = &r->rep.u.chain;
	size_t i;
	int rc;

	if ((rc = eng_target(rt, &req->u.target, &t, &p, r)) != PROTO_R_OK)
		return rc;
	if ((ri = eng_rt_issuer_of(t, p->issuer)) == NULL)
		return eng_reply_fail(r, PROTO_R_INTERNAL, "issuer lost");
	for (i = 0; i < ri->nder && i < PROTO_MAX_CHAIN_CERTS; i++) {
		ch->certs[i].ptr = ri->der[i];
		ch->certs[i].len = ri->der_len[i];
	}
	ch->ncerts = (uint8_t)i;
	return PROTO_R_OK;
}
