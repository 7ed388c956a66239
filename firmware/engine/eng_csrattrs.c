/*
 * CSRATTRS: the attributes a profile wants in a CSR (RFC 7030 4.5), public
 * data served to anyone (EST /csrattrs needs no client authentication).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "eng_engine_local.h"

#define ENG_ATTRS_MAX 512

/* A minimal DER writer: tag, definite length, contents. */
struct eng_der {
	uint8_t	*b;
	size_t	 len, cap;
	int	 err;
};

static void
eng_der_put(struct eng_der *d, const void *p, size_t n)
{
	if (d->err || n > d->cap - d->len) {
		d->err = 1;
		return;
	}
	memcpy(d->b + d->len, p, n);
	d->len += n;
}

static void
eng_der_tlv(struct eng_der *d, uint8_t tag, const uint8_t *p, size_t n)
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
	eng_der_put(d, h, hl);
	eng_der_put(d, p, n);
}

static void
eng_der_oid(struct eng_der *d, int nid)
{
	const ASN1_OBJECT *o = OBJ_nid2obj(nid);
	int n;

	if (o == NULL || (n = OBJ_length(o)) <= 0) {
		d->err = 1;
		return;
	}
	eng_der_tlv(d, 0x06, OBJ_get0_data(o), (size_t)n);
}

/*
 * RFC 7030 4.5.2 CsrAttrs: the signature algorithm we prefer, and the
 * key types the profile allows (EC as an attribute naming its curves).
 */
static int
eng_csrattrs_der(const struct ca_profile *p, uint8_t *out, size_t size,
    size_t *len)
{
	uint8_t body[ENG_ATTRS_MAX], set[64], attr[128];
	struct eng_der b = { body, 0, sizeof(body), 0 };
	struct eng_der s = { set, 0, sizeof(set), 0 };
	struct eng_der a = { attr, 0, sizeof(attr), 0 };
	struct eng_der o = { out, 0, size, 0 };

	if (p->key_types & (CA_KEY_P256 | CA_KEY_P384 | CA_KEY_P521)) {
		eng_der_oid(&b, NID_ecdsa_with_SHA256);
		if (p->key_types & CA_KEY_P256)
			eng_der_oid(&s, NID_X9_62_prime256v1);
		if (p->key_types & CA_KEY_P384)
			eng_der_oid(&s, NID_secp384r1);
		if (p->key_types & CA_KEY_P521)
			eng_der_oid(&s, NID_secp521r1);
		eng_der_oid(&a, NID_X9_62_id_ecPublicKey);
		eng_der_tlv(&a, 0x31, set, s.len);
		eng_der_tlv(&b, 0x30, attr, a.len);
	}
	if (p->key_types & CA_KEY_RSA)
		eng_der_oid(&b, NID_rsaEncryption);
	if (p->key_types & CA_KEY_ED25519)
		eng_der_oid(&b, NID_ED25519);
	eng_der_tlv(&o, 0x30, body, b.len);
	if (b.err || s.err || a.err || o.err)
		return -1;
	*len = o.len;
	return 0;
}

int
eng_h_csrattrs(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_ident *id, const struct proto_request *req, struct eng_reply *r)
{
	const struct eng_rt_tenant *t;
	const struct ca_profile *p;
	uint8_t *der;
	size_t len;
	int rc;

	if ((rc = eng_target(rt, &req->u.target, &t, &p, r)) != PROTO_R_OK)
		return rc;
	if ((der = malloc(ENG_ATTRS_MAX + 8)) == NULL ||
	    eng_csrattrs_der(p, der, ENG_ATTRS_MAX + 8, &len) != 0) {
		free(der);
		return eng_reply_fail(r, PROTO_R_INTERNAL, "cannot encode "
		    "CSR attributes");
	}
	r->mem[0] = der;
	r->rep.u.der.ptr = der;
	r->rep.u.der.len = len;
	return PROTO_R_OK;
}
