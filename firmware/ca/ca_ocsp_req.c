/*
 * OCSP requests (RFC 6960 4.1.1), decoded strictly.  A pure function
 * over bytes from the network: strict DER (X.690 section 10) checked over
 * the whole input first, then every field read through a bounded
 * cursor; every list is bounded by a CA_MAX_OCSP_* limit.
 */
#include <string.h>

#include "ca_crl_local.h"

#define BAD(...) ca_fail(err, CA_ERR_DECODE, "OCSP request: " __VA_ARGS__)

/* RFC 6960 4.1.1 CertID.hashAlgorithm: SHA-1 or SHA-256, no parameters. */
static int
ca_ocsp_hash_alg(const struct ca_tlv *alg, struct ca_ocsp_certid *id,
    struct ca_err *err)
{
	struct ca_cur c;
	struct ca_tlv oid, par;

	ca_cur_init(&c, alg->val, alg->len);
	if (ca_der_expect(&c, CA_T_OID, &oid) != 0)
		return BAD("bad hash algorithm");
	/* RFC 5754 2: NULL parameters or none, both seen in the wild. */
	if (c.n > 0 && (ca_der_expect(&c, CA_T_NULL, &par) != 0 || c.n != 0))
		return BAD("bad hash algorithm parameters");
	if (ca_oid_eq(&oid, ca_oid_sha1, sizeof(ca_oid_sha1))) {
		id->hash = CA_OCSP_SHA1;
		id->hash_len = 20;
	} else if (ca_oid_eq(&oid, ca_oid_sha256, sizeof(ca_oid_sha256))) {
		id->hash = CA_OCSP_SHA256;
		id->hash_len = 32;
	} else
		return BAD("CertID hash is neither SHA-1 nor SHA-256");
	return CA_OK;
}

/* RFC 6960 4.1.1 CertID. */
static int
ca_ocsp_certid(const struct ca_tlv *t, struct ca_ocsp_certid *id,
    struct ca_err *err)
{
	struct ca_cur c;
	struct ca_tlv alg, nh, kh, sn;
	int rc;

	memset(id, 0, sizeof(*id));
	if (t->raw_len > sizeof(id->der))
		return BAD("CertID too long");
	ca_cur_init(&c, t->val, t->len);
	if (ca_der_expect(&c, CA_T_SEQ, &alg) != 0 ||
	    ca_der_expect(&c, CA_T_OCTETSTRING, &nh) != 0 ||
	    ca_der_expect(&c, CA_T_OCTETSTRING, &kh) != 0 ||
	    ca_der_expect(&c, CA_T_INTEGER, &sn) != 0 || c.n != 0)
		return BAD("malformed CertID");
	if ((rc = ca_ocsp_hash_alg(&alg, id, err)) != CA_OK)
		return rc;
	if (nh.len != id->hash_len || kh.len != id->hash_len)
		return BAD("CertID hash lengths do not match the algorithm");
	/* RFC 5280 4.1.2.2: at most 20 octets. */
	if (sn.len > CA_MAX_OCSP_SERIAL)
		return BAD("serial longer than %d octets", CA_MAX_OCSP_SERIAL);
	memcpy(id->name_hash, nh.val, nh.len);
	memcpy(id->key_hash, kh.val, kh.len);
	memcpy(id->serial, sn.val, sn.len);
	id->serial_len = sn.len;
	memcpy(id->der, t->raw, t->raw_len);
	id->der_len = t->raw_len;
	return CA_OK;
}

/* RFC 8954 2.1: Nonce ::= OCTET STRING (SIZE(1..32)) in extnValue. */
static int
ca_ocsp_nonce(const struct ca_tlv *val, struct ca_ocsp_req *r,
    struct ca_err *err)
{
	struct ca_cur c;
	struct ca_tlv n;

	ca_cur_init(&c, val->val, val->len);
	if (ca_der_expect(&c, CA_T_OCTETSTRING, &n) != 0 || c.n != 0)
		return BAD("nonce is not an OCTET STRING");
	if (n.len < 1 || n.len > CA_MAX_OCSP_NONCE)
		return BAD("nonce of %zu octets (1..%d)", n.len,
		    CA_MAX_OCSP_NONCE);
	memcpy(r->nonce, n.val, n.len);
	r->nonce_len = n.len;
	r->has_nonce = 1;
	return CA_OK;
}

/*
 * RFC 5280 4.1 Extensions: each OID at most once; X.690 11.5: critical
 * FALSE is never encoded.  RFC 6960 4.4: the nonce is understood (in
 * requestExtensions only); unknown critical extensions refuse.
 */
static int
ca_ocsp_exts(const struct ca_tlv *wrap, struct ca_ocsp_req *r, int top,
    struct ca_err *err)
{
	struct ca_cur c, e;
	struct ca_tlv seq, ext, oid, crit, val, seen[CA_MAX_OCSP_EXTS];
	size_t n = 0, i;
	int critical, rc;

	ca_cur_init(&c, wrap->val, wrap->len);
	if (ca_der_expect(&c, CA_T_SEQ, &seq) != 0 || c.n != 0 ||
	    seq.len == 0)
		return BAD("malformed extensions");
	ca_cur_init(&c, seq.val, seq.len);
	while (c.n > 0) {
		if (n == CA_MAX_OCSP_EXTS)
			return BAD("more than %d extensions", CA_MAX_OCSP_EXTS);
		critical = 0;
		if (ca_der_expect(&c, CA_T_SEQ, &ext) != 0)
			return BAD("malformed extension");
		ca_cur_init(&e, ext.val, ext.len);
		if (ca_der_expect(&e, CA_T_OID, &oid) != 0)
			return BAD("malformed extension");
		if (ca_der_peek(&e) == CA_T_BOOLEAN) {
			if (ca_der_next(&e, &crit) != 0 || crit.val[0] == 0)
				return BAD("critical FALSE encoded");
			critical = 1;
		}
		if (ca_der_expect(&e, CA_T_OCTETSTRING, &val) != 0 || e.n != 0)
			return BAD("malformed extension");
		for (i = 0; i < n; i++)
			if (ca_oid_eq(&seen[i], oid.val, oid.len))
				return BAD("duplicate extension");
		seen[n++] = oid;
		if (top && ca_oid_eq(&oid, ca_oid_ocsp_nonce,
		    sizeof(ca_oid_ocsp_nonce))) {
			if ((rc = ca_ocsp_nonce(&val, r, err)) != CA_OK)
				return rc;
		} else if (critical)
			return BAD("unknown critical extension");
	}
	return CA_OK;
}

/* RFC 6960 4.1.1 Request ::= SEQUENCE { reqCert, [0] Extensions OPT }. */
static int
ca_ocsp_single(const struct ca_tlv *t, struct ca_ocsp_req *r,
    struct ca_err *err)
{
	struct ca_cur c;
	struct ca_tlv id, ext;
	int rc;

	if (r->nids == CA_MAX_OCSP_SINGLE)
		return BAD("more than %d CertIDs", CA_MAX_OCSP_SINGLE);
	ca_cur_init(&c, t->val, t->len);
	if (ca_der_expect(&c, CA_T_SEQ, &id) != 0)
		return BAD("malformed Request");
	if ((rc = ca_ocsp_certid(&id, &r->ids[r->nids], err)) != CA_OK)
		return rc;
	if (c.n > 0) {
		if (ca_der_expect(&c, CA_T_CTXC(0), &ext) != 0 || c.n != 0)
			return BAD("malformed Request");
		if ((rc = ca_ocsp_exts(&ext, r, 0, err)) != CA_OK)
			return rc;
	}
	r->nids++;
	return CA_OK;
}

/* RFC 6960 4.1.1 TBSRequest. */
static int
ca_ocsp_tbs(const struct ca_tlv *tbs, struct ca_ocsp_req *r,
    struct ca_err *err)
{
	struct ca_cur c, l;
	struct ca_tlv t, list;
	int rc;

	ca_cur_init(&c, tbs->val, tbs->len);
	if (ca_der_peek(&c) == CA_T_CTXC(0)) {
		/* DEFAULT v1 should be omitted; tolerate an explicit v1. */
		if (ca_der_next(&c, &t) != 0 || t.len != 3 ||
		    t.val[0] != CA_T_INTEGER || t.val[1] != 1 || t.val[2] != 0)
			return BAD("version is not v1");
	}
	if (ca_der_peek(&c) == CA_T_CTXC(1) && ca_der_next(&c, &t) != 0)
		return BAD("malformed requestorName");
	if (ca_der_expect(&c, CA_T_SEQ, &list) != 0 || list.len == 0)
		return BAD("no requestList");
	ca_cur_init(&l, list.val, list.len);
	while (l.n > 0) {
		if (ca_der_expect(&l, CA_T_SEQ, &t) != 0)
			return BAD("malformed requestList");
		if ((rc = ca_ocsp_single(&t, r, err)) != CA_OK)
			return rc;
	}
	if (c.n > 0) {
		if (ca_der_expect(&c, CA_T_CTXC(2), &t) != 0 || c.n != 0)
			return BAD("trailing data in TBSRequest");
		if ((rc = ca_ocsp_exts(&t, r, 1, err)) != CA_OK)
			return rc;
	}
	return CA_OK;
}

int
ca_ocsp_req_parse(const uint8_t *in, size_t len, struct ca_ocsp_req *out,
    struct ca_err *err)
{
	struct ca_cur c, o;
	struct ca_tlv req, tbs, sig;
	int rc;

	if (out == NULL)
		return ca_fail(err, CA_ERR_ARG, "OCSP request: no output");
	memset(out, 0, sizeof(*out));
	if (in == NULL || len == 0 || len > CA_MAX_OCSP_REQ)
		return BAD("size %zu not in 1..%d", len, CA_MAX_OCSP_REQ);
	if (ca_der_strict(in, len, CA_MAX_DER_DEPTH) != 0)
		return BAD("not strict DER");
	ca_cur_init(&c, in, len);
	if (ca_der_expect(&c, CA_T_SEQ, &req) != 0 || c.n != 0)
		return BAD("not one OCSPRequest");
	ca_cur_init(&o, req.val, req.len);
	if (ca_der_expect(&o, CA_T_SEQ, &tbs) != 0)
		return BAD("no TBSRequest");
	/* RFC 6960 4.1.2: the signature is optional; we do not require it. */
	if (o.n > 0) {
		if (ca_der_expect(&o, CA_T_CTXC(0), &sig) != 0 || o.n != 0)
			return BAD("trailing data after TBSRequest");
		out->signed_req = 1;
	}
	if ((rc = ca_ocsp_tbs(&tbs, out, err)) != CA_OK) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	return CA_OK;
}

/* Decodes one CertID kept in the answer cache, for re-signing. */
int
ca_ocsp_req_certid(const uint8_t *der, size_t len, struct ca_ocsp_certid *id)
{
	struct ca_cur c;
	struct ca_tlv t;

	ca_cur_init(&c, der, len);
	if (ca_der_expect(&c, CA_T_SEQ, &t) != 0 || c.n != 0)
		return CA_ERR_DECODE;
	return ca_ocsp_certid(&t, id, NULL);
}
