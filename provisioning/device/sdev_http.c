/*
 * The HTTP/1.1 response parser of the EST over HTTPS client (a pure
 * function over a complete buffer) and the base64 decoder of EST bodies.
 */
#include <string.h>

#include <mbedtls/base64.h>

#include "sdev_local.h"

static int
span_ieq(const uint8_t *p, size_t len, const char *s)
{
	size_t i;

	if (strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++) {
		uint8_t a = p[i], b = (uint8_t)s[i];

		if (a >= 'A' && a <= 'Z')
			a = (uint8_t)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b + 32);
		if (a != b)
			return 0;
	}
	return 1;
}

/* Strips optional whitespace at both ends (RFC 9110 5.5 OWS). */
static struct sdev_span
trim(const uint8_t *p, size_t len)
{
	struct sdev_span s;

	while (len > 0 && (p[0] == ' ' || p[0] == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	s.ptr = p;
	s.len = len;
	return s;
}

static int
parse_status(const uint8_t *p, size_t len, struct sdev_http_resp *r)
{
	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return SDEV_E_PROTO;
	if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9' || (len > 12 && p[12] != ' '))
		return SDEV_E_PROTO;
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	r->reason = len > 13 ? trim(p + 13, len - 13) : trim(p, 0);
	return SDEV_OK;
}

static int
parse_clen(struct sdev_span v, size_t *clen)
{
	size_t i, n = 0;

	if (v.len == 0 || v.len > 9)
		return SDEV_E_PROTO;
	for (i = 0; i < v.len; i++) {
		if (v.ptr[i] < '0' || v.ptr[i] > '9')
			return SDEV_E_PROTO;
		n = n * 10 + (size_t)(v.ptr[i] - '0');
	}
	*clen = n;
	return SDEV_OK;
}

/* One header line; sets *clen when it is Content-Length. */
static int
parse_header(const uint8_t *p, size_t len, struct sdev_http_resp *r,
    size_t *clen, int *have_clen)
{
	const uint8_t *colon;
	struct sdev_span v;
	size_t nlen;

	if ((colon = memchr(p, ':', len)) == NULL || colon == p)
		return SDEV_E_PROTO;
	nlen = (size_t)(colon - p);
	v = trim(colon + 1, len - nlen - 1);
	if (span_ieq(p, nlen, "content-type"))
		r->ctype = v;
	else if (span_ieq(p, nlen, "content-transfer-encoding"))
		r->cte = v;
	else if (span_ieq(p, nlen, "transfer-encoding"))
		return SDEV_E_PROTO;	/* we ask for HTTP/1.0-style bodies */
	else if (span_ieq(p, nlen, "content-length")) {
		if (*have_clen)
			return SDEV_E_PROTO;
		*have_clen = 1;
		return parse_clen(v, clen);
	}
	return SDEV_OK;
}

int
sdev_http_parse(const uint8_t *buf, size_t len, int eof,
    struct sdev_http_resp *r)
{
	const uint8_t *p = buf, *end = buf + len, *nl;
	size_t clen = 0, llen;
	int have_clen = 0, first = 1, rc;

	memset(r, 0, sizeof(*r));
	for (;;) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return eof ? SDEV_E_PROTO : SDEV_OK;
		llen = (size_t)(nl - p);
		if (llen > 0 && p[llen - 1] == '\r')
			llen--;
		if (llen == 0 && !first)
			break;
		rc = first ? parse_status(p, llen, r) :
		    parse_header(p, llen, r, &clen, &have_clen);
		if (rc != SDEV_OK)
			return rc;
		first = 0;
		p = nl + 1;
	}
	p = nl + 1;
	if (have_clen) {
		if (clen > SDEV_MAX_HTTP)
			return SDEV_E_TOOBIG;
		if ((size_t)(end - p) < clen)
			return eof ? SDEV_E_PROTO : SDEV_OK;
		if ((size_t)(end - p) > clen)
			return SDEV_E_PROTO;
	} else if (!eof)
		return SDEV_OK;
	r->body.ptr = p;
	r->body.len = (size_t)(end - p);
	r->complete = 1;
	return SDEV_OK;
}

int
sdev_b64_decode(const uint8_t *in, size_t len, uint8_t *out, size_t size,
    size_t *outlen)
{
	size_t olen = 0;

	*outlen = 0;
	/*
	 * RFC 7030 4.1.3: base64 bodies may be broken into lines;
	 * mbedtls_base64_decode accepts CRLF and LF line ends.
	 */
	while (len > 0 && (in[len - 1] == '\r' || in[len - 1] == '\n' ||
	    in[len - 1] == ' '))
		len--;
	if (len == 0 || mbedtls_base64_decode(out, size, &olen, in, len) != 0)
		return SDEV_E_PROTO;
	*outlen = olen;
	return SDEV_OK;
}
