/*
 * Lints over the subject DN and the subjectAltName, each named after
 * the zlint lint it follows.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ca_lint_local.h"

#define FAIL(...) ca_fail(err, CA_ERR_LINT, __VA_ARGS__)

/* Calls fn on every attribute value of the subject; stops on failure. */
static int
ca_subject_each(const struct ca_lint_ctx *c, struct ca_err *err,
    int (*fn)(const struct ca_tlv *, const struct ca_tlv *, struct ca_err *))
{
	struct ca_cur rdns, set, atv;
	struct ca_tlv rdn, a, oid, val;
	int rc;

	ca_cur_init(&rdns, c->subject.val, c->subject.len);
	while (ca_der_next(&rdns, &rdn) == 0) {
		ca_cur_init(&set, rdn.val, rdn.len);
		while (ca_der_next(&set, &a) == 0) {
			ca_cur_init(&atv, a.val, a.len);
			if (ca_der_expect(&atv, CA_T_OID, &oid) != 0 ||
			    ca_der_next(&atv, &val) != 0)
				return FAIL("subject attribute is malformed");
			if ((rc = fn(&oid, &val, err)) != CA_OK)
				return rc;
		}
	}
	return CA_OK;
}

/* Calls fn on every GeneralName of the SAN whose tag is tag (0: all). */
int
ca_san_each(const struct ca_lint_ctx *c, unsigned tag, void *arg,
    struct ca_err *err,
    int (*fn)(const struct ca_tlv *, void *, struct ca_err *))
{
	struct ca_cur v, g;
	struct ca_tlv seq, gn;
	int rc;

	if (c->san == NULL)
		return CA_OK;
	ca_cur_init(&v, c->san->val.val, c->san->val.len);
	if (ca_der_expect(&v, CA_T_SEQ, &seq) != 0 || v.n != 0)
		return FAIL("subjectAltName is malformed");
	ca_cur_init(&g, seq.val, seq.len);
	while (g.n > 0) {
		if (ca_der_next(&g, &gn) != 0)
			return FAIL("subjectAltName is malformed");
		if (tag != 0 && gn.tag != tag)
			continue;
		if ((rc = fn(&gn, arg, err)) != CA_OK)
			return rc;
	}
	return CA_OK;
}

static int
ca_v_printable(const struct ca_tlv *oid, const struct ca_tlv *v,
    struct ca_err *err)
{
	size_t i;

	if (v->tag != CA_T_UTF8 && v->tag != CA_T_PRINTABLE &&
	    v->tag != CA_T_IA5)
		return FAIL("subject uses string type 0x%02x", v->tag);
	for (i = 0; i < v->len; i++)
		if (v->val[i] < 0x20 || v->val[i] == 0x7f)
			return FAIL("subject contains control character "
			    "0x%02x", v->val[i]);
	return CA_OK;
}

/* X.680 41.4: PrintableString's character set. */
static int
ca_v_badalpha(const struct ca_tlv *oid, const struct ca_tlv *v,
    struct ca_err *err)
{
	static const char extra[] = " '()+,-./:=?";
	size_t i;
	uint8_t ch;

	if (v->tag != CA_T_PRINTABLE)
		return CA_OK;
	for (i = 0; i < v->len; i++) {
		ch = v->val[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || (ch != 0 &&
		    memchr(extra, ch, sizeof(extra) - 1) != NULL))
			continue;
		return FAIL("PrintableString contains 0x%02x", ch);
	}
	return CA_OK;
}

/* RFC 5280 A.1: ub-common-name is 64. */
static int
ca_v_cn_len(const struct ca_tlv *oid, const struct ca_tlv *v,
    struct ca_err *err)
{
	if (ca_oid_eq(oid, ca_oid_cn, sizeof(ca_oid_cn)) && v->len > CA_MAX_CN)
		return FAIL("commonName is %zu octets", v->len);
	return CA_OK;
}

int
ca_lint_subject_printable(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_subject_each(c, err, ca_v_printable);
}

int
ca_lint_printable_badalpha(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_subject_each(c, err, ca_v_badalpha);
}

int
ca_lint_subject_cn_length(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_subject_each(c, err, ca_v_cn_len);
}

static int
ca_g_cn_match(const struct ca_tlv *gn, void *arg, struct ca_err *err)
{
	const struct ca_tlv *cn = arg;
	char txt[INET6_ADDRSTRLEN];

	if (gn->tag == CA_T_CTX(2) && gn->len == cn->len &&
	    memcmp(gn->val, cn->val, cn->len) == 0)
		return 1;
	if (gn->tag == CA_T_CTX(7) && (gn->len == 4 || gn->len == 16) &&
	    inet_ntop(gn->len == 4 ? AF_INET : AF_INET6, gn->val, txt,
	    sizeof(txt)) != NULL && strlen(txt) == cn->len &&
	    memcmp(txt, cn->val, cn->len) == 0)
		return 1;
	return CA_OK;
}

/* CABF BR 7.1.4.3: a commonName repeats one SAN entry exactly. */
int
ca_lint_subject_cn_in_san(const struct ca_lint_ctx *c, struct ca_err *err)
{
	struct ca_cur rdns, set, atv;
	struct ca_tlv rdn, a, oid, val;

	ca_cur_init(&rdns, c->subject.val, c->subject.len);
	while (ca_der_next(&rdns, &rdn) == 0) {
		ca_cur_init(&set, rdn.val, rdn.len);
		while (ca_der_next(&set, &a) == 0) {
			ca_cur_init(&atv, a.val, a.len);
			if (ca_der_expect(&atv, CA_T_OID, &oid) != 0 ||
			    ca_der_next(&atv, &val) != 0)
				return FAIL("subject attribute is malformed");
			if (!ca_oid_eq(&oid, ca_oid_cn, sizeof(ca_oid_cn)))
				continue;
			if (ca_san_each(c, 0, &val, err, ca_g_cn_match) != 1)
				return FAIL("commonName is not a SAN entry");
		}
	}
	return CA_OK;
}

int
ca_lint_ca_subject_empty(const struct ca_lint_ctx *c, struct ca_err *err)
{
	if (c->subject.len == 0)
		return FAIL("CA certificate has an empty subject");
	return CA_OK;
}

static int
ca_g_nonempty(const struct ca_tlv *gn, void *arg, struct ca_err *err)
{
	return gn->len == 0 ? FAIL("subjectAltName has an empty name") : CA_OK;
}

int
ca_lint_san_empty(const struct ca_lint_ctx *c, struct ca_err *err)
{
	if (c->san != NULL && c->san->val.len == 2)
		return FAIL("subjectAltName has no names");
	return ca_san_each(c, 0, NULL, err, ca_g_nonempty);
}

/* RFC 5280 4.2.1.6: with an empty subject the SAN is critical. */
int
ca_lint_san_crit(const struct ca_lint_ctx *c, struct ca_err *err)
{
	if (c->san != NULL && c->subject.len == 0 && !c->san->critical)
		return FAIL("subjectAltName is not critical with an empty "
		    "subject");
	return CA_OK;
}

static int
ca_g_ia5(const struct ca_tlv *gn, void *arg, struct ca_err *err)
{
	size_t i;

	if (gn->tag != CA_T_CTX(2) && gn->tag != CA_T_CTX(6) &&
	    gn->tag != CA_T_CTX(1))
		return CA_OK;
	for (i = 0; i < gn->len; i++)
		if (gn->val[i] >= 0x80)
			return FAIL("SAN name is not an IA5String");
	return CA_OK;
}

int
ca_lint_san_ia5(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_san_each(c, 0, NULL, err, ca_g_ia5);
}

static int
ca_g_ip(const struct ca_tlv *gn, void *arg, struct ca_err *err)
{
	if (gn->len != 4 && gn->len != 16)
		return FAIL("IP address SAN is %zu octets", gn->len);
	return CA_OK;
}

int
ca_lint_san_ip_length(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_san_each(c, CA_T_CTX(7), NULL, err, ca_g_ip);
}
