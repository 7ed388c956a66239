/*
 * Small parsers of request lines and headers: the EST router, OCSP GET
 * paths, Authorization headers, media types, serials and names.  Pure
 * functions over bytes the client sent; see https.h for the rules.
 */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "https.h"

#define EST_PREFIX	"/.well-known/est/"
#define OCSP_PREFIX	"/ocsp/"

static const struct {
	const char	*name;
	int		 op;
} est_ops[] = {
	{ "cacerts", HTTPS_EST_CACERTS },
	{ "simpleenroll", HTTPS_EST_SIMPLEENROLL },
	{ "simplereenroll", HTTPS_EST_SIMPLEREENROLL },
	{ "csrattrs", HTTPS_EST_CSRATTRS },
	{ "serverkeygen", HTTPS_EST_SERVERKEYGEN },
};

const char *
https_strerror(int err)
{
	switch (err) {
	case HTTPS_OK:
		return "no error";
	case HTTPS_E_SYNTAX:
		return "malformed";
	case HTTPS_E_TOOLONG:
		return "too long";
	case HTTPS_E_SPACE:
		return "too large";
	case HTTPS_E_NOTFOUND:
		return "not found";
	case HTTPS_E_TYPE:
		return "wrong type";
	case HTTPS_E_MISSING:
		return "missing";
	case HTTPS_E_MORE:
		return "incomplete";
	default:
		return "invalid argument";
	}
}

static int
name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int
name_bytes_ok(const uint8_t *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len > max)
		return 0;
	/* "." and ".." would read as path steps in logs and URLs. */
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' &&
	    s[1] == '.'))
		return 0;
	for (i = 0; i < len; i++)
		if (!name_char(s[i]))
			return 0;
	return 1;
}

int
https_name_ok(const char *s)
{
	return s != NULL && name_bytes_ok((const uint8_t *)s, strlen(s),
	    PROTO_MAX_STR);
}

static int
est_op(const uint8_t *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(est_ops) / sizeof(est_ops[0]); i++)
		if (strlen(est_ops[i].name) == len &&
		    memcmp(est_ops[i].name, s, len) == 0)
			return est_ops[i].op;
	return 0;
}

int
https_est_route(const uint8_t *path, size_t len, struct https_est_route *r)
{
	const size_t plen = sizeof(EST_PREFIX) - 1;
	const uint8_t *rest, *slash;
	size_t rlen, llen;

	memset(r, 0, sizeof(*r));
	if (len > HTTPS_MAX_PATH)
		return HTTPS_E_TOOLONG;
	if (len <= plen || memcmp(path, EST_PREFIX, plen) != 0)
		return HTTPS_E_NOTFOUND;
	rest = path + plen;
	rlen = len - plen;
	if ((slash = memchr(rest, '/', rlen)) == NULL) {
		r->op = est_op(rest, rlen);
		return r->op != 0 ? HTTPS_OK : HTTPS_E_NOTFOUND;
	}
	/* RFC 7030 3.2.2: /.well-known/est/<label>/<operation>. */
	llen = (size_t)(slash - rest);
	r->op = est_op(slash + 1, rlen - llen - 1);
	if (r->op == 0)
		return HTTPS_E_NOTFOUND;
	if (!name_bytes_ok(rest, llen, HTTPS_MAX_LABEL)) {
		r->op = 0;
		return HTTPS_E_SYNTAX;
	}
	memcpy(r->label, rest, llen);
	r->label[llen] = '\0';
	return HTTPS_OK;
}

int
https_ocsp_path(const uint8_t *path, size_t len, uint8_t *out,
    size_t outsize, size_t *outlen)
{
	const size_t plen = sizeof(OCSP_PREFIX) - 1;
	uint8_t tmp[HTTPS_MAX_OCSP_PATH];
	size_t n;
	int rc;

	*outlen = 0;
	if (len < plen || memcmp(path, OCSP_PREFIX, plen) != 0)
		return HTTPS_E_NOTFOUND;
	if (len - plen > sizeof(tmp))
		return HTTPS_E_TOOLONG;
	if (len == plen)
		return HTTPS_E_SYNTAX;
	if ((rc = https_pct_decode(path + plen, len - plen, tmp, sizeof(tmp),
	    &n)) != HTTPS_OK)
		return rc;
	rc = https_b64_decode(tmp, n, HTTPS_B64_ANY, out, outsize, outlen);
	if (rc == HTTPS_OK && *outlen == 0)
		rc = HTTPS_E_SYNTAX;
	return rc;
}

static int
token_ok(const uint8_t *s, size_t len)
{
	size_t i;

	if (len == 0 || len > PROTO_MAX_TOKEN)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Case-insensitive scheme, then one or more spaces. */
static size_t
auth_scheme(const uint8_t *h, size_t len, const char *scheme)
{
	size_t n = strlen(scheme), i;

	if (len <= n || strncasecmp((const char *)h, scheme, n) != 0 ||
	    h[n] != ' ')
		return 0;
	for (i = n; i < len && h[i] == ' '; i++)
		;
	return i;
}

int
https_auth_token(const uint8_t *hdr, size_t len,
    char token[PROTO_MAX_TOKEN + 1])
{
	uint8_t dec[HTTPS_MAX_AUTH];
	const uint8_t *colon;
	size_t off, n = 0;
	int rc = HTTPS_E_SYNTAX;

	token[0] = '\0';
	if (len > HTTPS_MAX_AUTH) {
		rc = HTTPS_E_TOOLONG;
		goto out;
	}
	while (len > 0 && hdr[len - 1] == ' ')
		len--;
	if ((off = auth_scheme(hdr, len, "Bearer")) != 0) {
		if (!token_ok(hdr + off, len - off))
			goto out;
		memcpy(token, hdr + off, len - off);
		token[len - off] = '\0';
		rc = HTTPS_OK;
		goto out;
	}
	if ((off = auth_scheme(hdr, len, "Basic")) == 0)
		goto out;
	/* RFC 7617: base64 of "user-id:password"; the token is the password. */
	if (https_b64_decode(hdr + off, len - off, 0, dec, sizeof(dec),
	    &n) != HTTPS_OK)
		goto out;
	if ((colon = memchr(dec, ':', n)) == NULL)
		goto out;
	off = (size_t)(colon - dec) + 1;
	if (!token_ok(dec + off, n - off))
		goto out;
	memcpy(token, dec + off, n - off);
	token[n - off] = '\0';
	rc = HTTPS_OK;
out:
	OPENSSL_cleanse(dec, sizeof(dec));
	if (rc != HTTPS_OK)
		OPENSSL_cleanse(token, PROTO_MAX_TOKEN + 1);
	return rc;
}

int
https_media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	if (ctype == NULL)
		return 0;
	while (*ctype == ' ' || *ctype == '\t')
		ctype++;
	if (strncasecmp(ctype, want, n) != 0)
		return 0;
	ctype += n;
	while (*ctype == ' ' || *ctype == '\t')
		ctype++;
	return *ctype == '\0' || *ctype == ';';
}

int
https_serial_parse(const uint8_t *s, size_t len,
    uint8_t out[PROTO_MAX_SERIAL], size_t *outlen)
{
	size_t i, nd = 0;
	uint8_t digits[HTTPS_MAX_SERIAL_HEX];
	uint8_t c;

	*outlen = 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		/* Colons may only separate whole octets: "0a:1b". */
		if (c == ':' && nd > 0 && nd % 2 == 0 && i + 1 < len &&
		    s[i + 1] != ':')
			continue;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F')))
			return HTTPS_E_SYNTAX;
		if (nd == sizeof(digits))
			return HTTPS_E_TOOLONG;
		digits[nd++] = c;
	}
	if (nd == 0 || nd % 2 != 0)
		return HTTPS_E_SYNTAX;
	for (i = 0; i < nd; i += 2) {
		c = digits[i];
		out[i / 2] = (uint8_t)(((c <= '9') ? c - '0' :
		    (c | 0x20) - 'a' + 10) << 4);
		c = digits[i + 1];
		out[i / 2] |= (uint8_t)((c <= '9') ? c - '0' :
		    (c | 0x20) - 'a' + 10);
	}
	*outlen = nd / 2;
	return HTTPS_OK;
}

int
https_uint_parse(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;
	size_t i;

	*v = 0;
	if (s == NULL || s[0] == '\0')
		return HTTPS_E_SYNTAX;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return HTTPS_E_SYNTAX;
		if ((uint64_t)(s[i] - '0') > max ||
		    n > (max - (uint64_t)(s[i] - '0')) / 10)
			return HTTPS_E_TOOLONG;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*v = n;
	return HTTPS_OK;
}
