/*
 * The HTTP/1.1 response parser (RFC 9112): a pure function over what has
 * been read so far.  It is strict where framing is concerned (one
 * Content-Length, chunked or nothing; no obsolete line folding) because a
 * body read the wrong length is a body read wrong.
 */
#include <string.h>

#include "ctl.h"

const char *
ctl_strerror(int rc)
{
	switch (rc) {
	case CTL_OK:
		return "no error";
	case CTL_E_SYNTAX:
		return "malformed";
	case CTL_E_TOOBIG:
		return "too large";
	case CTL_E_MORE:
		return "incomplete";
	case CTL_E_NOMEM:
		return "out of memory";
	default:
		return "invalid argument";
	}
}

static int
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
span_ieq(const uint8_t *p, size_t len, const char *s)
{
	size_t i;

	if (strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (lower(p[i]) != lower((uint8_t)s[i]))
			return 0;
	return 1;
}

static void
trim(const uint8_t **p, size_t *len)
{
	while (*len > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t'))
		(*len)--;
}

static int
parse_status(const uint8_t *p, size_t len, struct ctl_http_resp *r)
{
	size_t i;

	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
	    (len > 12 && p[12] != ' '))
		return CTL_E_SYNTAX;
	if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9')
		return CTL_E_SYNTAX;
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	for (i = 12; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return CTL_E_SYNTAX;
	return CTL_OK;
}

/* Decimal digits only, bounded by max. */
static int
parse_uint(const uint8_t *p, size_t len, size_t max, size_t *v)
{
	size_t i, n = 0;

	if (len == 0)
		return CTL_E_SYNTAX;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return CTL_E_SYNTAX;
		if (n > (max - (size_t)(p[i] - '0')) / 10)
			return CTL_E_TOOBIG;
		n = n * 10 + (size_t)(p[i] - '0');
	}
	*v = n;
	return CTL_OK;
}

struct head {
	int	 have_clen;
	size_t	 clen;
	int	 chunked;
};

static int
parse_field(const uint8_t *p, size_t len, struct ctl_http_resp *r,
    struct head *h)
{
	const uint8_t *colon, *v;
	size_t nlen, vlen, n;
	int rc;

	/* RFC 9112 5.2: obsolete line folding is not accepted. */
	if ((colon = memchr(p, ':', len)) == NULL || colon == p ||
	    p[0] == ' ' || p[0] == '\t')
		return CTL_E_SYNTAX;
	nlen = (size_t)(colon - p);
	if (memchr(p, ' ', nlen) != NULL || memchr(p, '\t', nlen) != NULL)
		return CTL_E_SYNTAX;
	v = colon + 1;
	vlen = len - nlen - 1;
	trim(&v, &vlen);
	if (span_ieq(p, nlen, "content-length")) {
		/* RFC 9112 6.3: differing lengths are an error. */
		if ((rc = parse_uint(v, vlen, CTL_MAX_BODY, &n)) != CTL_OK)
			return rc;
		if (h->have_clen && n != h->clen)
			return CTL_E_SYNTAX;
		h->have_clen = 1;
		h->clen = n;
	} else if (span_ieq(p, nlen, "transfer-encoding")) {
		if (!span_ieq(v, vlen, "chunked") || h->chunked)
			return CTL_E_SYNTAX;
		h->chunked = 1;
	} else if (span_ieq(p, nlen, "content-type")) {
		r->ctype = v;
		r->ctype_len = vlen;
	} else if (span_ieq(p, nlen, "retry-after")) {
		if (parse_uint(v, vlen, 86400, &n) == CTL_OK)
			r->retry_after = (unsigned)n;
	}
	return CTL_OK;
}

/* One line ending in LF (a CR before it is dropped); CTL_E_MORE if none. */
static int
line(const uint8_t *buf, size_t len, size_t *off, const uint8_t **l,
    size_t *llen)
{
	const uint8_t *nl;

	if ((nl = memchr(buf + *off, '\n', len - *off)) == NULL)
		return CTL_E_MORE;
	*l = buf + *off;
	*llen = (size_t)(nl - *l);
	if (*llen > 0 && (*l)[*llen - 1] == '\r')
		(*llen)--;
	*off = (size_t)(nl - buf) + 1;
	return CTL_OK;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (uint8_t)lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 9112 7.1: chunks, a zero chunk, trailer fields, an empty line. */
static int
dechunk(const uint8_t *buf, size_t len, size_t off, uint8_t *out,
    size_t *outlen)
{
	const uint8_t *l;
	size_t llen, size, i, total = 0;
	int d, rc;

	for (;;) {
		if ((rc = line(buf, len, &off, &l, &llen)) != CTL_OK)
			return rc;
		size = 0;
		for (i = 0; i < llen && (d = hexval(l[i])) >= 0; i++) {
			if (size > (CTL_MAX_BODY >> 4))
				return CTL_E_TOOBIG;
			size = (size << 4) | (size_t)d;
		}
		/* Chunk extensions (after ';') are ignored. */
		if (i == 0 || (i < llen && l[i] != ';' && l[i] != ' ' &&
		    l[i] != '\t'))
			return CTL_E_SYNTAX;
		if (size == 0)
			break;
		if (size > CTL_MAX_BODY - total)
			return CTL_E_TOOBIG;
		if (len - off < size + 1)
			return CTL_E_MORE;
		memcpy(out + total, buf + off, size);
		total += size;
		off += size;
		if (buf[off] == '\r') {
			if (len - off < 2)
				return CTL_E_MORE;
			off++;
		}
		if (buf[off++] != '\n')
			return CTL_E_SYNTAX;
	}
	do {	/* trailer fields, up to the empty line */
		if ((rc = line(buf, len, &off, &l, &llen)) != CTL_OK)
			return rc;
	} while (llen != 0);
	if (off != len)
		return CTL_E_SYNTAX;
	*outlen = total;
	return CTL_OK;
}

static int
parse_head(const uint8_t *buf, size_t len, size_t *off,
    struct ctl_http_resp *r, struct head *h)
{
	const uint8_t *l;
	size_t llen;
	int rc, first = 1;

	for (;;) {
		if ((rc = line(buf, len, off, &l, &llen)) != CTL_OK)
			return *off > CTL_MAX_HEAD || len > CTL_MAX_HEAD ?
			    CTL_E_TOOBIG : rc;
		if (*off > CTL_MAX_HEAD)
			return CTL_E_TOOBIG;
		if (first) {
			if ((rc = parse_status(l, llen, r)) != CTL_OK)
				return rc;
			first = 0;
		} else if (llen == 0)
			return CTL_OK;
		else if ((rc = parse_field(l, llen, r, h)) != CTL_OK)
			return rc;
	}
}

int
ctl_http_parse(const uint8_t *buf, size_t len, int eof, uint8_t *out,
    struct ctl_http_resp *r)
{
	struct head h = { 0, 0, 0 };
	size_t off = 0, n;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len > CTL_MAX_RESPONSE)
		return CTL_E_TOOBIG;
	if ((rc = parse_head(buf, len, &off, r, &h)) != CTL_OK)
		goto out;
	/* An interim 1xx answer is not what we asked for. */
	if (r->status < 200) {
		rc = CTL_E_SYNTAX;
		goto out;
	}
	if (h.chunked) {
		/* RFC 9112 6.3: both framings at once is an attack. */
		if (h.have_clen) {
			rc = CTL_E_SYNTAX;
			goto out;
		}
		if ((rc = dechunk(buf, len, off, out, &n)) != CTL_OK)
			goto out;
		r->body = out;
		r->body_len = n;
	} else if (h.have_clen) {
		if (len - off < h.clen) {
			rc = CTL_E_MORE;
			goto out;
		}
		if (len - off > h.clen) {
			rc = CTL_E_SYNTAX;
			goto out;
		}
		r->body = buf + off;
		r->body_len = h.clen;
	} else {
		if (len - off > CTL_MAX_BODY) {
			rc = CTL_E_TOOBIG;
			goto out;
		}
		if (!eof) {
			rc = CTL_E_MORE;
			goto out;
		}
		r->body = buf + off;
		r->body_len = len - off;
	}
out:
	if (rc == CTL_E_MORE && eof)
		rc = CTL_E_SYNTAX;
	if (rc != CTL_OK) {
		int status = r->status;

		memset(r, 0, sizeof(*r));
		r->status = rc == CTL_E_MORE ? status : 0;
	}
	return rc;
}
