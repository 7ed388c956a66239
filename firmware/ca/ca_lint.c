/*
 * Lint before sign.  ca_lint_tbs parses the TBSCertificate strictly once
 * and runs every applicable row of the lint table over it; the first
 * failure refuses issuance and names the lint.  The same linter checks
 * CA certificates for the ceremony (mode CA_LINT_CA).
 */
#include <stdio.h>
#include <string.h>

#include "ca_lint_local.h"

static int
ca_lint_key(struct ca_lint_ctx *c)
{
	struct ca_cur s, a;
	struct ca_tlv alg, oid, par;

	ca_cur_init(&s, c->spki.val, c->spki.len);
	if (ca_der_expect(&s, CA_T_SEQ, &alg) != 0)
		return -1;
	ca_cur_init(&a, alg.val, alg.len);
	if (ca_der_expect(&a, CA_T_OID, &oid) != 0)
		return -1;
	memset(&par, 0, sizeof(par));
	if (a.n > 0 && ca_der_next(&a, &par) != 0)
		return -1;
	if (ca_oid_eq(&oid, ca_oid_rsa, sizeof(ca_oid_rsa))) {
		c->kind = CA_KEY_KIND_RSA;
		c->key_type = CA_KEY_RSA;
	} else if (ca_oid_eq(&oid, ca_oid_ed25519, sizeof(ca_oid_ed25519))) {
		c->kind = CA_KEY_KIND_ED25519;
		c->key_type = CA_KEY_ED25519;
	} else if (ca_oid_eq(&oid, ca_oid_ec, sizeof(ca_oid_ec))) {
		c->kind = CA_KEY_KIND_EC;
		if (ca_oid_eq(&par, ca_oid_p256, sizeof(ca_oid_p256)))
			c->key_type = CA_KEY_P256;
		else if (ca_oid_eq(&par, ca_oid_p384, sizeof(ca_oid_p384)))
			c->key_type = CA_KEY_P384;
		else if (ca_oid_eq(&par, ca_oid_p521, sizeof(ca_oid_p521)))
			c->key_type = CA_KEY_P521;
	}
	return 0;
}

static int
ca_lint_decode(struct ca_lint_ctx *c, const struct ca_lint_ext *e)
{
	struct ca_cur v, b;
	struct ca_tlv t, ca;
	size_t i;

	ca_cur_init(&v, e->val.val, e->val.len);
	if (ca_oid_eq(&e->oid, ca_oid_ku, sizeof(ca_oid_ku))) {
		c->ku = e;
		if (ca_der_expect(&v, CA_T_BITSTRING, &t) != 0 || v.n != 0 ||
		    t.len > 3)
			return -1;
		for (i = 0; i < (t.len - 1) * 8; i++)
			if (t.val[1 + i / 8] & (0x80 >> (i % 8)))
				c->ku_bits |= 1u << i;
	} else if (ca_oid_eq(&e->oid, ca_oid_bc, sizeof(ca_oid_bc))) {
		c->bc = e;
		if (ca_der_expect(&v, CA_T_SEQ, &t) != 0 || v.n != 0)
			return -1;
		ca_cur_init(&b, t.val, t.len);
		if (ca_der_peek(&b) == CA_T_BOOLEAN &&
		    ca_der_next(&b, &ca) == 0)
			c->bc_ca = ca.val[0] != 0;
	} else if (ca_oid_eq(&e->oid, ca_oid_eku, sizeof(ca_oid_eku)))
		c->eku = e;
	else if (ca_oid_eq(&e->oid, ca_oid_san, sizeof(ca_oid_san)))
		c->san = e;
	else if (ca_oid_eq(&e->oid, ca_oid_ski, sizeof(ca_oid_ski)))
		c->ski = e;
	else if (ca_oid_eq(&e->oid, ca_oid_aki, sizeof(ca_oid_aki)))
		c->aki = e;
	return 0;
}

static int
ca_lint_exts(struct ca_lint_ctx *c, const struct ca_tlv *wrap)
{
	struct ca_cur w, l, e;
	struct ca_tlv seq, ext, crit;
	struct ca_lint_ext *x;

	ca_cur_init(&w, wrap->val, wrap->len);
	if (ca_der_expect(&w, CA_T_SEQ, &seq) != 0 || w.n != 0)
		return -1;
	ca_cur_init(&l, seq.val, seq.len);
	while (l.n > 0) {
		if (c->nexts >= CA_LINT_MAX_EXTS) {
			c->too_many_exts = 1;
			return 0;
		}
		x = &c->exts[c->nexts];
		if (ca_der_expect(&l, CA_T_SEQ, &ext) != 0)
			return -1;
		ca_cur_init(&e, ext.val, ext.len);
		if (ca_der_expect(&e, CA_T_OID, &x->oid) != 0)
			return -1;
		x->critical = 0;
		if (ca_der_peek(&e) == CA_T_BOOLEAN) {
			if (ca_der_next(&e, &crit) != 0 || crit.val[0] == 0)
				return -1;
			x->critical = 1;
		}
		if (ca_der_expect(&e, CA_T_OCTETSTRING, &x->val) != 0 ||
		    e.n != 0)
			return -1;
		c->nexts++;
	}
	return 0;
}

int
ca_lint_parse(const uint8_t *tbs, size_t len, struct ca_lint_ctx *c)
{
	struct ca_cur o, t;
	struct ca_tlv seq, v, x;
	size_t i;

	ca_cur_init(&o, tbs, len);
	if (ca_der_expect(&o, CA_T_SEQ, &seq) != 0 || o.n != 0 ||
	    ca_der_strict(seq.val, seq.len, CA_MAX_DER_DEPTH) != 0)
		return -1;
	ca_cur_init(&t, seq.val, seq.len);
	if (ca_der_peek(&t) == CA_T_CTXC(0)) {
		struct ca_cur vc;

		if (ca_der_next(&t, &v) != 0)
			return -1;
		ca_cur_init(&vc, v.val, v.len);
		if (ca_der_expect(&vc, CA_T_INTEGER, &c->version) != 0 ||
		    vc.n != 0)
			return -1;
		c->has_version = 1;
	}
	if (ca_der_expect(&t, CA_T_INTEGER, &c->serial) != 0 ||
	    ca_der_expect(&t, CA_T_SEQ, &c->sigalg) != 0 ||
	    ca_der_expect(&t, CA_T_SEQ, &c->issuer) != 0 ||
	    ca_der_expect(&t, CA_T_SEQ, &v) != 0 ||
	    ca_der_expect(&t, CA_T_SEQ, &c->subject) != 0 ||
	    ca_der_expect(&t, CA_T_SEQ, &c->spki) != 0)
		return -1;
	ca_cur_init(&o, v.val, v.len);
	if (ca_der_next(&o, &c->nb) != 0 || ca_der_next(&o, &c->na) != 0 ||
	    o.n != 0)
		return -1;
	while (t.n > 0) {
		if (ca_der_next(&t, &x) != 0)
			return -1;
		if (x.tag == CA_T_CTX(1) || x.tag == CA_T_CTX(2) ||
		    x.tag == CA_T_CTXC(1) || x.tag == CA_T_CTXC(2))
			c->unique_ids = 1;
		else if (x.tag == CA_T_CTXC(3) && t.n == 0) {
			if (ca_lint_exts(c, &x) != 0)
				return -1;
		} else
			return -1;
	}
	for (i = 0; i < c->nexts; i++)
		if (ca_lint_decode(c, &c->exts[i]) != 0)
			return -1;
	return ca_lint_key(c);
}

static int
ca_lint_run(const uint8_t *tbs, size_t len, enum ca_lint_mode mode,
    const struct ca_issuer *iss, struct ca_err *err)
{
	struct ca_lint_ctx c;
	char msg[CA_MAX_ERRMSG * 2];
	unsigned want = mode == CA_LINT_CA ? CA_LINT_FOR_CA : CA_LINT_FOR_LEAF;
	size_t i;
	int rc;

	memset(&c, 0, sizeof(c));
	c.mode = mode;
	c.issued_by = iss;
	c.tbs = tbs;
	c.tbs_len = len;
	if (iss != NULL)
		want |= CA_LINT_FOR_ISSUED;
	if (tbs == NULL || len == 0 || len > CA_MAX_CERT ||
	    ca_lint_parse(tbs, len, &c) != 0) {
		ca_fail(err, CA_ERR_LINT, "lint e_tbs_not_strict_der: "
		    "TBSCertificate is not strict DER X.509");
		if (err != NULL)
			err->lint = "e_tbs_not_strict_der";
		return CA_ERR_LINT;
	}
	for (i = 0; i < ca_nlints; i++) {
		if (!(ca_lints[i].applies & want))
			continue;
		if ((rc = ca_lints[i].fn(&c, err)) == CA_OK)
			continue;
		/* A chain lint refuses what was asked, not what we built. */
		rc = rc == CA_ERR_POLICY ? CA_ERR_POLICY : CA_ERR_LINT;
		if (err != NULL) {
			snprintf(msg, sizeof(msg), "lint %s: %s",
			    ca_lints[i].name, err->msg);
			memcpy(err->msg, msg, sizeof(err->msg) - 1);
			err->msg[sizeof(err->msg) - 1] = '\0';
			err->lint = ca_lints[i].name;
			err->code = rc;
		}
		return rc;
	}
	return CA_OK;
}

int
ca_lint_tbs(const uint8_t *tbs, size_t len, enum ca_lint_mode mode,
    struct ca_err *err)
{
	return ca_lint_run(tbs, len, mode, NULL, err);
}

int
ca_lint_tbs_issued(const uint8_t *tbs, size_t len,
    const struct ca_issuer *iss, struct ca_err *err)
{
	return ca_lint_run(tbs, len, CA_LINT_LEAF, iss, err);
}

/* A whole certificate: its TBS, and the outer algorithm must match. */
int
ca_lint_cert(const uint8_t *der, size_t len, enum ca_lint_mode mode,
    struct ca_err *err)
{
	struct ca_cur o, c, t;
	struct ca_tlv cert, tbs, alg, sig, x, inner;

	ca_cur_init(&o, der, len);
	if (der == NULL || len > CA_MAX_CERT ||
	    ca_der_expect(&o, CA_T_SEQ, &cert) != 0 || o.n != 0)
		goto bad;
	ca_cur_init(&c, cert.val, cert.len);
	if (ca_der_expect(&c, CA_T_SEQ, &tbs) != 0 ||
	    ca_der_expect(&c, CA_T_SEQ, &alg) != 0 ||
	    ca_der_expect(&c, CA_T_BITSTRING, &sig) != 0 || c.n != 0)
		goto bad;
	/* RFC 5280 4.1.1.2: signatureAlgorithm equals tbs.signature. */
	ca_cur_init(&t, tbs.val, tbs.len);
	if (ca_der_peek(&t) == CA_T_CTXC(0) && ca_der_next(&t, &x) != 0)
		goto bad;
	if (ca_der_next(&t, &x) != 0 || ca_der_next(&t, &inner) != 0)
		goto bad;
	if (inner.raw_len != alg.raw_len ||
	    memcmp(inner.raw, alg.raw, alg.raw_len) != 0) {
		ca_fail(err, CA_ERR_LINT, "lint e_cert_sig_alg_not_match_tbs_"
		    "sig_alg: signatureAlgorithm differs from tbs.signature");
		if (err != NULL)
			err->lint = "e_cert_sig_alg_not_match_tbs_sig_alg";
		return CA_ERR_LINT;
	}
	return ca_lint_tbs(tbs.raw, tbs.raw_len, mode, err);
bad:
	ca_fail(err, CA_ERR_LINT, "lint e_tbs_not_strict_der: certificate is "
	    "not strict DER X.509");
	if (err != NULL)
		err->lint = "e_tbs_not_strict_der";
	return CA_ERR_LINT;
}

size_t
ca_lint_count(void)
{
	return ca_nlints;
}

const char *
ca_lint_name(size_t i)
{
	return i < ca_nlints ? ca_lints[i].name : NULL;
}
