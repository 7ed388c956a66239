/*
 * CACERTS and CSRATTRS: public data about a tenant's profile, served to
 * anyone (EST /cacerts and /csrattrs need no client authentication).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "ca_engine_local.h"

#define CA_ATTRS_MAX 512

/* Tenant and profile a target names; "" means the configured default. */
static int
ca_target(const struct ca_rt *rt, const struct proto_target_req *q,
    const struct ca_rt_tenant **t, const struct ca_profile **p,
    struct ca_reply *r)
{
	char tenant[PROTO_MAX_STR + 1], profile[PROTO_MAX_STR + 1];
	const char *def = rt->conf->est_default, *slash;

	ca_fmt(tenant, sizeof(tenant), "%s", q->tenant);
	ca_fmt(profile, sizeof(profile), "%s", q->profile);
	if (tenant[0] == '\0' && def != NULL &&
	    (slash = strchr(def, '/')) != NULL) {
		ca_fmt(tenant, sizeof(tenant), "%.*s", (int)(slash - def),
		    def);
		if (profile[0] == '\0')
			ca_fmt(profile, sizeof(profile), "%s", slash + 1);
	}
	if ((*t = ca_rt_tenant(rt, tenant)) == NULL)
		return ca_reply_fail(r, PROTO_R_NOT_FOUND, "no tenant %s",
		    tenant[0] ? tenant : "(default)");
	if (profile[0] == '\0' && (*t)->nprofiles > 0)
		ca_fmt(profile, sizeof(profile), "%s",
		    (*t)->profiles[0].name);
	if ((*p = ca_tenant_profile(&(*t)->t, profile)) == NULL)
		return ca_reply_fail(r, PROTO_R_NOT_FOUND, "tenant %s has no "
		    "profile %s", (*t)->t.name, profile);
	return PROTO_R_OK;
}

int
ca_h_cacerts(struct ca_engine *e, const struct ca_rt *rt,
    struct ca_ident *id, const struct proto_request *req, struct ca_reply *r)
{
	const struct ca_rt_tenant *t;
	const struct ca_rt_issuer *ri;
	const struct ca_profile *p;
	struct proto_chain *ch = &r->rep.u.chain;
	size_t i;
	int rc;

	if ((rc = ca_target(rt, &req->u.target, &t, &p, r)) != PROTO_R_OK)
		return rc;
	if ((ri = ca_rt_issuer_of(t, p->issuer)) == NULL)
		return ca_reply_fail(r, PROTO_R_INTERNAL, "issuer lost");
	for (i = 0; i < ri->nder && i < PROTO_MAX_CHAIN_CERTS; i++) {
		ch->certs[i].ptr = ri->der[i];
		ch->certs[i].len = ri->der_len[i];
	}
	ch->ncerts = (uint8_t)i;
	return PROTO_R_OK;
}

/* A minimal DER writer: tag, definite length, contents. */
struct ca_der {
	uint8_t	*b;
	size_t	 len, cap;
	int	 err;
};

static void
ca_der_put(struct ca_der *d, const void *p, size_t n)
{
	if (d->err || n > d->cap - d->len) {
		d->err = 1;
		return;
	}
	memcpy(d->b + d->len, p, n);
	d->len += n;
}

static void
ca_der_tlv(struct ca_der *d, uint8_t tag, const uint8_t *p, size_t n)
{
	uint8_t h[4] = { tag };
	size_t hl = 2;

	if (n < 128)
		h[1] = (uint8_t)n;
	else if (n < 256)
		h[1] = 0x81, h[2] = (uint8_t)n, hl = 3;
	else
		h[1] = 0x82, h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n,
		    hl = 4;
	ca_der_put(d, h, hl);
	ca_der_put(d, p, n);
}

static void
ca_der_oid(struct ca_der *d, int nid)
{
	const ASN1_OBJECT *o = OBJ_nid2obj(nid);
	int n;

	if (o == NULL || (n = OBJ_length(o)) <= 0) {
		d->err = 1;
		return;
	}
	ca_der_tlv(d, 0x06, OBJ_get0_data(o), (size_t)n);
}

/*
 * RFC 7030 4.5.2 CsrAttrs: the signature algorithm we prefer, and the
 * key types the profile allows (EC as an attribute naming its curves).
 */
static int
ca_csrattrs_der(const struct ca_profile *p, uint8_t *out, size_t size,
    size_t *len)
{
	uint8_t body[CA_ATTRS_MAX], set[64], attr[128];
	struct ca_der b = { body, 0, sizeof(body), 0 };
	struct ca_der s = { set, 0, sizeof(set), 0 };
	struct ca_der a = { attr, 0, sizeof(attr), 0 };
	struct ca_der o = { out, 0, size, 0 };

	if (p->key_types & (CA_KEY_P256 | CA_KEY_P384 | CA_KEY_P521)) {
		ca_der_oid(&b, NID_ecdsa_with_SHA256);
		if (p->key_types & CA_KEY_P256)
			ca_der_oid(&s, NID_X9_62_prime256v1);
		if (p->key_types & CA_KEY_P384)
			ca_der_oid(&s, NID_secp384r1);
		if (p->key_types & CA_KEY_P521)
			ca_der_oid(&s, NID_secp521r1);
		ca_der_oid(&a, NID_X9_62_id_ecPublicKey);
		ca_der_tlv(&a, 0x31, set, s.len);
		ca_der_tlv(&b, 0x30, attr, a.len);
	}
	if (p->key_types & CA_KEY_RSA)
		ca_der_oid(&b, NID_rsaEncryption);
	if (p->key_types & CA_KEY_ED25519)
		ca_der_oid(&b, NID_ED25519);
	ca_der_tlv(&o, 0x30, body, b.len);
	if (b.err || s.err || a.err || o.err)
		return -1;
	*len = o.len;
	return 0;
}

int
ca_h_csrattrs(struct ca_engine *e, const struct ca_rt *rt,
    struct ca_ident *id, const struct proto_request *req, struct ca_reply *r)
{
	const struct ca_rt_tenant *t;
	const struct ca_profile *p;
	uint8_t *der;
	size_t len;
	int rc;

	if ((rc = ca_target(rt, &req->u.target, &t, &p, r)) != PROTO_R_OK)
		return rc;
	if ((der = malloc(CA_ATTRS_MAX + 8)) == NULL ||
	    ca_csrattrs_der(p, der, CA_ATTRS_MAX + 8, &len) != 0) {
		free(der);
		return ca_reply_fail(r, PROTO_R_INTERNAL, "cannot encode "
		    "CSR attributes");
	}
	r->mem[0] = der;
	r->rep.u.der.ptr = der;
	r->rep.u.der.len = len;
	return PROTO_R_OK;
}
