/*
 * The attributes of a PKCS#10 request: extensionRequest (RFC 2985 5.4.2)
 * and Microsoft's msExtReq (1.3.6.1.4.1.311.2.1.14), which carry the same
 * Extensions.  Both are read the same way so that nothing refused in one
 * can be smuggled through the other.  Also the PEM edge.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "ca_local.h"

int ca_csr_attrs(struct ca_csr *, const struct ca_tlv *, struct ca_err *);
int ca_csr_unpem(const uint8_t *, size_t, uint8_t **, size_t *,
    struct ca_err *);

struct ca_seen {
	struct ca_tlv oids[2 * CA_MAX_EXTS];
	size_t n;
	const char *attr;	/* name of the attribute being read */
};

/* RFC 5280 4.2.1.6: the GeneralNames the engine understands. */
static int
ca_csr_san(struct ca_csr *csr, const uint8_t *p, size_t n,
    struct ca_err *err)
{
	struct ca_cur c, g;
	struct ca_tlv seq, gn;
	struct ca_name *nm;

	ca_cur_init(&c, p, n);
	if (ca_der_expect(&c, CA_T_SEQ, &seq) != 0 || c.n != 0 || seq.len == 0)
		return ca_fail(err, CA_ERR_EXT, "CSR subjectAltName is "
		    "malformed (%s)", "GeneralNames");
	ca_cur_init(&g, seq.val, seq.len);
	while (g.n > 0) {
		if (ca_der_next(&g, &gn) != 0)
			return ca_fail(err, CA_ERR_EXT, "CSR subjectAltName "
			    "is malformed");
		if (csr->nnames >= CA_MAX_NAMES)
			return ca_fail(err, CA_ERR_NAME, "CSR asks for more "
			    "than %d names", CA_MAX_NAMES);
		nm = &csr->names[csr->nnames];
		nm->val = gn.val;
		nm->len = gn.len;
		if (gn.tag == CA_T_CTX(2))
			nm->type = CA_NAME_DNS;
		else if (gn.tag == CA_T_CTX(6))
			nm->type = CA_NAME_URI;
		else if (gn.tag == CA_T_CTX(7)) {
			nm->type = CA_NAME_IP;
			if (gn.len != 4 && gn.len != 16)
				return ca_fail(err, CA_ERR_NAME, "CSR IP "
				    "address SAN has %zu octets", gn.len);
		} else
			return ca_fail(err, CA_ERR_NAME, "CSR subjectAltName "
			    "type [%u] is not supported (DNS, IP and URI "
			    "only)", gn.tag & 0x1f);
		csr->nnames++;
	}
	return CA_OK;
}

/* RFC 5280 4.2.1.9: a request for a CA certificate is never honoured. */
static int
ca_csr_bc(const uint8_t *p, size_t n, const char *attr, struct ca_err *err)
{
	struct ca_cur c, b;
	struct ca_tlv seq, ca;

	ca_cur_init(&c, p, n);
	if (ca_der_expect(&c, CA_T_SEQ, &seq) != 0 || c.n != 0)
		return ca_fail(err, CA_ERR_EXT, "CSR basicConstraints is "
		    "malformed (%s)", attr);
	ca_cur_init(&b, seq.val, seq.len);
	if (b.n > 0 && ca_der_peek(&b) == CA_T_BOOLEAN) {
		if (ca_der_next(&b, &ca) != 0)
			return ca_fail(err, CA_ERR_EXT, "CSR basicConstraints "
			    "is malformed (%s)", attr);
		if (ca.val[0] != 0)
			return ca_fail(err, CA_ERR_EXT, "CSR requests "
			    "basicConstraints CA:TRUE (%s)", attr);
	}
	if (b.n > 0)
		return ca_fail(err, CA_ERR_EXT, "CSR requests a basicConstraints "
		    "pathLenConstraint (%s)", attr);
	return CA_OK;
}

static int
ca_csr_ku(struct ca_csr *csr, const uint8_t *p, size_t n, const char *attr,
    struct ca_err *err)
{
	struct ca_cur c;
	struct ca_tlv bs;
	size_t i;

	ca_cur_init(&c, p, n);
	if (ca_der_expect(&c, CA_T_BITSTRING, &bs) != 0 || c.n != 0 ||
	    bs.len > 3)
		return ca_fail(err, CA_ERR_EXT, "CSR keyUsage is malformed "
		    "(%s)", attr);
	for (i = 1; i < bs.len; i++) {
		unsigned byte = bs.val[i], bit;

		/* BIT STRING bit 0 is the most significant of octet 1. */
		for (bit = 0; bit < 8; bit++)
			if (byte & (0x80 >> bit))
				csr->req_ku |= 1u << ((i - 1) * 8 + bit);
	}
	return CA_OK;
}

static int
ca_csr_eku(struct ca_csr *csr, const uint8_t *p, size_t n, const char *attr,
    struct ca_err *err)
{
	struct ca_cur c, s;
	struct ca_tlv seq, oid;
	size_t i;

	ca_cur_init(&c, p, n);
	if (ca_der_expect(&c, CA_T_SEQ, &seq) != 0 || c.n != 0 || seq.len == 0)
		return ca_fail(err, CA_ERR_EXT, "CSR extKeyUsage is malformed "
		    "(%s)", attr);
	ca_cur_init(&s, seq.val, seq.len);
	while (s.n > 0) {
		if (ca_der_expect(&s, CA_T_OID, &oid) != 0)
			return ca_fail(err, CA_ERR_EXT, "CSR extKeyUsage is "
			    "malformed (%s)", attr);
		for (i = 0; i < 6; i++)
			if (ca_oid_eq(&oid, ca_oid_eku_oids[i], 8))
				break;
		if (i < 6)
			csr->req_eku |= 1u << i;
		else
			csr->req_eku_other = 1;
	}
	return CA_OK;
}

static int
ca_csr_ext(struct ca_csr *csr, const struct ca_tlv *ext, struct ca_seen *seen,
    struct ca_err *err)
{
	struct ca_cur c;
	struct ca_tlv oid, crit, val;
	char txt[80];
	size_t i;
	int critical = 0;

	ca_cur_init(&c, ext->val, ext->len);
	if (ca_der_expect(&c, CA_T_OID, &oid) != 0)
		goto bad;
	if (ca_der_peek(&c) == CA_T_BOOLEAN) {
		/* X.690 11.5: DER omits a DEFAULT FALSE. */
		if (ca_der_next(&c, &crit) != 0 || crit.val[0] == 0)
			goto bad;
		critical = 1;
	}
	if (ca_der_expect(&c, CA_T_OCTETSTRING, &val) != 0 || c.n != 0)
		goto bad;
	/* RFC 5280 4.2: a certificate never has two of one extension. */
	for (i = 0; i < seen->n; i++)
		if (seen->oids[i].len == oid.len &&
		    memcmp(seen->oids[i].val, oid.val, oid.len) == 0)
			return ca_fail(err, CA_ERR_EXT, "CSR requests extension "
			    "%s twice (%s)", ca_oid_dotted(&oid, txt, sizeof(txt)),
			    seen->attr);
	if (seen->n >= sizeof(seen->oids) / sizeof(seen->oids[0]))
		return ca_fail(err, CA_ERR_EXT, "CSR requests more than %d "
		    "extensions", CA_MAX_EXTS);
	seen->oids[seen->n++] = oid;
	if (ca_oid_eq(&oid, ca_oid_san, sizeof(ca_oid_san)))
		return ca_csr_san(csr, val.val, val.len, err);
	if (ca_oid_eq(&oid, ca_oid_bc, sizeof(ca_oid_bc)))
		return ca_csr_bc(val.val, val.len, seen->attr, err);
	if (ca_oid_eq(&oid, ca_oid_ku, sizeof(ca_oid_ku)))
		return ca_csr_ku(csr, val.val, val.len, seen->attr, err);
	if (ca_oid_eq(&oid, ca_oid_eku, sizeof(ca_oid_eku)))
		return ca_csr_eku(csr, val.val, val.len, seen->attr, err);
	if (ca_oid_eq(&oid, ca_oid_ski, sizeof(ca_oid_ski)))
		return CA_OK;
	/* Unknown extensions are never copied; a critical one refuses. */
	if (critical)
		return ca_fail(err, CA_ERR_EXT, "CSR requests unknown critical "
		    "extension %s (%s)", ca_oid_dotted(&oid, txt, sizeof(txt)),
		    seen->attr);
	return CA_OK;
bad:
	return ca_fail(err, CA_ERR_EXT, "CSR extension is malformed (%s)",
	    seen->attr);
}

/* values: SET OF Extensions with exactly one member. */
static int
ca_csr_exts(struct ca_csr *csr, const struct ca_tlv *values,
    struct ca_seen *seen, struct ca_err *err)
{
	struct ca_cur c, e;
	struct ca_tlv exts, ext;
	int rc;

	ca_cur_init(&c, values->val, values->len);
	if (ca_der_expect(&c, CA_T_SEQ, &exts) != 0 || c.n != 0)
		return ca_fail(err, CA_ERR_EXT, "CSR %s must hold exactly one "
		    "Extensions", seen->attr);
	ca_cur_init(&e, exts.val, exts.len);
	while (e.n > 0) {
		if (ca_der_expect(&e, CA_T_SEQ, &ext) != 0)
			return ca_fail(err, CA_ERR_EXT, "CSR %s is malformed",
			    seen->attr);
		if ((rc = ca_csr_ext(csr, &ext, seen, err)) != CA_OK)
			return rc;
	}
	return CA_OK;
}

int
ca_csr_attrs(struct ca_csr *csr, const struct ca_tlv *attrs,
    struct ca_err *err)
{
	struct ca_seen seen;
	struct ca_cur c, a;
	struct ca_tlv attr, oid, values;
	int rc, nattr = 0, have_std = 0, have_ms = 0;

	seen.n = 0;
	ca_cur_init(&c, attrs->val, attrs->len);
	while (c.n > 0) {
		if (++nattr > CA_MAX_ATTRS)
			return ca_fail(err, CA_ERR_DECODE, "CSR has more than "
			    "%d attributes", CA_MAX_ATTRS);
		if (ca_der_expect(&c, CA_T_SEQ, &attr) != 0)
			goto bad;
		ca_cur_init(&a, attr.val, attr.len);
		if (ca_der_expect(&a, CA_T_OID, &oid) != 0 ||
		    ca_der_expect(&a, CA_T_SET, &values) != 0 || a.n != 0)
			goto bad;
		if (ca_oid_eq(&oid, ca_oid_ext_req, sizeof(ca_oid_ext_req))) {
			if (have_std++)
				return ca_fail(err, CA_ERR_EXT, "CSR has two "
				    "extensionRequest attributes");
			seen.attr = "extensionRequest";
		} else if (ca_oid_eq(&oid, ca_oid_ms_ext_req,
		    sizeof(ca_oid_ms_ext_req))) {
			if (have_ms++)
				return ca_fail(err, CA_ERR_EXT, "CSR has two "
				    "msExtReq attributes");
			seen.attr = "msExtReq";
		} else
			continue;	/* e.g. challengePassword: not ours */
		if ((rc = ca_csr_exts(csr, &values, &seen, err)) != CA_OK)
			return rc;
	}
	return CA_OK;
bad:
	return ca_fail(err, CA_ERR_DECODE, "CSR attribute is malformed");
}

/* One "CERTIFICATE REQUEST" PEM block, nothing but whitespace after. */
int
ca_csr_unpem(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen,
    struct ca_err *err)
{
	static const char *const begins[] = {
		"-----BEGIN CERTIFICATE REQUEST-----",
		"-----BEGIN NEW CERTIFICATE REQUEST-----",
	};
	EVP_ENCODE_CTX *ctx = NULL;
	const uint8_t *b64 = NULL, *end = NULL, *p;
	uint8_t *der = NULL;
	size_t i, bl;
	int n1 = 0, n2 = 0, rc = CA_ERR_DECODE;

	for (i = 0; i < 2 && b64 == NULL; i++) {
		bl = strlen(begins[i]);
		if (len > bl && memcmp(in, begins[i], bl) == 0)
			b64 = in + bl;
	}
	if (b64 != NULL)
		end = memmem(b64, len - (size_t)(b64 - in), "-----END ", 9);
	if (end == NULL) {
		ca_fail(err, rc, "CSR PEM is not a CERTIFICATE REQUEST block");
		goto out;
	}
	for (p = memchr(end + 9, '\n', len - (size_t)(end + 9 - in));
	    p != NULL && p < in + len; p++)
		if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t') {
			ca_fail(err, rc, "CSR PEM has trailing data");
			goto out;
		}
	if ((der = OPENSSL_malloc((size_t)(end - b64))) == NULL ||
	    (ctx = EVP_ENCODE_CTX_new()) == NULL) {
		rc = ca_fail(err, CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, der, &n1, b64, (int)(end - b64)) < 0 ||
	    EVP_DecodeFinal(ctx, der + n1, &n2) != 1 || n1 + n2 <= 0) {
		ca_fail(err, rc, "CSR PEM base64 is invalid");
		goto out;
	}
	*outlen = (size_t)(n1 + n2);
	*out = der;
	der = NULL;
	rc = CA_OK;
out:
	OPENSSL_free(der);
	EVP_ENCODE_CTX_free(ctx);
	return rc;
}
