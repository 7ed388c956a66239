/*
 * EST-coaps request mapping (RFC 9148 section 4): path, method and
 * formats to one engine operation, or a CoAP error with a reason.
 */
#include <string.h>

#include "signet/ec.h"

static const struct {
	const char	*name;
	int		 op;
	int		 method;
} ops[] = {
	{ "crts", EC_OP_CRTS, EC_M_GET },
	{ "sen", EC_OP_SEN, EC_M_POST },
	{ "sren", EC_OP_SREN, EC_M_POST },
	{ "att", EC_OP_ATT, EC_M_GET },
};

static int
fail(struct ec_out *out, int code, const char *diag)
{
	out->op = EC_OP_NONE;
	out->code = code;
	out->diag = diag;
	return code;
}

static int
label_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* "est/<op>" or "est/<label>/<op>": the op's index, or -1. */
static int
split_path(const uint8_t *p, size_t len, struct ec_out *out)
{
	const uint8_t *last;
	size_t i, llen = 0, oplen;

	if (len > EC_MAX_PATH || len < 4 || memcmp(p, "est/", 4) != 0)
		return -1;
	p += 4;
	len -= 4;
	if ((last = memchr(p, '/', len)) != NULL) {
		llen = (size_t)(last - p);
		if (llen == 0 || llen > EC_MAX_LABEL)
			return -1;
		for (i = 0; i < llen; i++)
			if (!label_char(p[i]))
				return -1;
		memcpy(out->label, p, llen);
		out->label[llen] = '\0';
		p = last + 1;
		len -= llen + 1;
	}
	oplen = len;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strlen(ops[i].name) == oplen &&
		    memcmp(ops[i].name, p, oplen) == 0)
			return (int)i;
	return -1;
}

/*
 * RFC 9148 4.1 and 8.4: /crts answers 281 (certs-only PKCS#7: the whole
 * chain) unless 287 (one pkix-cert) is asked for; /sen and /sren answer
 * 287 unless 281 is; /att only has 285.
 */
static int
pick_format(const struct ec_in *in, struct ec_out *out)
{
	switch (out->op) {
	case EC_OP_ATT:
		if (in->has_accept && in->accept != EC_CT_CSRATTRS)
			return -1;
		out->rsp_ct = EC_CT_CSRATTRS;
		return 0;
	case EC_OP_CRTS:
		out->rsp_ct = EC_CT_PKCS7_CERTS;
		break;
	default:
		out->rsp_ct = EC_CT_PKIX_CERT;
		break;
	}
	if (in->has_accept) {
		if (in->accept != EC_CT_PKIX_CERT &&
		    in->accept != EC_CT_PKCS7_CERTS)
			return -1;
		out->rsp_ct = in->accept;
	}
	return 0;
}

int
ec_map(const struct ec_in *in, struct ec_out *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	if (in->path == NULL || (i = split_path(in->path, in->pathlen,
	    out)) < 0)
		return fail(out, 404, "no such EST-coaps resource");
	if (in->method != ops[i].method)
		return fail(out, 405, "method not allowed on this resource");
	out->op = ops[i].op;
	if (pick_format(in, out) != 0)
		return fail(out, 406, "no acceptable content-format");
	if (out->op == EC_OP_CRTS || out->op == EC_OP_ATT) {
		if (in->bodylen != 0)
			return fail(out, 400, "a GET carries no body");
		return 0;
	}
	/* RFC 9148 4.2: the request body is a PKCS#10 CSR, format 286. */
	if (!in->has_ct || in->ct != EC_CT_PKCS10)
		return fail(out, 415, "content-format must be 286 (pkcs10)");
	if (in->bodylen > in->max_body || in->bodylen > EC_MAX_BODY)
		return fail(out, 413, "CSR larger than this server accepts");
	if (in->body == NULL || !ec_der_seq_ok(in->body, in->bodylen))
		return fail(out, 400, "body is not one DER CSR");
	out->csr = in->body;
	out->csrlen = in->bodylen;
	return 0;
}

int
ec_der_seq_ok(const uint8_t *p, size_t len)
{
	size_t n, hdr, i, vlen = 0;

	if (len < 2 || p[0] != 0x30)
		return 0;
	if (p[1] < 0x80) {
		vlen = p[1];
		hdr = 2;
	} else {
		/* X.690 10.1: DER uses the fewest length octets, no 0x80. */
		n = p[1] & 0x7f;
		if (n == 0 || n > 3 || len < 2 + n || p[2] == 0)
			return 0;
		for (i = 0; i < n; i++)
			vlen = (vlen << 8) | p[2 + i];
		if (vlen < 0x80)
			return 0;
		hdr = 2 + n;
	}
	return vlen == len - hdr;
}

int
ec_block1_check(uint64_t offset, size_t len, uint64_t size1, size_t have,
    size_t max)
{
	/* RFC 7959 2.9.3: judge the announced size before storing a byte. */
	if (size1 > max || offset > max || len > max - offset)
		return 413;
	if (offset < have && offset + len <= have)
		return EC_BLK_DUP;
	if (offset != have)
		return 408;
	return EC_BLK_APPEND;
}

/* value matches pat (plen bytes), a trailing '*' matching any rest. */
static int
glob_eq(const char *value, const uint8_t *pat, size_t plen)
{
	size_t vlen = strlen(value);

	if (plen > 0 && pat[plen - 1] == '*')
		return vlen >= plen - 1 && memcmp(value, pat, plen - 1) == 0;
	return vlen == plen && memcmp(value, pat, plen) == 0;
}

int
ec_link_filter(const uint8_t *q, size_t qlen, const char *rt,
    const char *href)
{
	const uint8_t *p = q, *end = q + qlen, *amp;
	size_t n;

	if (q == NULL)
		return 1;
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		n = amp == NULL ? (size_t)(end - p) : (size_t)(amp - p);
		if (n >= 3 && memcmp(p, "rt=", 3) == 0 &&
		    !glob_eq(rt, p + 3, n - 3))
			return 0;
		if (n >= 5 && memcmp(p, "href=", 5) == 0 &&
		    !glob_eq(href, p + 5, n - 5))
			return 0;
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return 1;
}
