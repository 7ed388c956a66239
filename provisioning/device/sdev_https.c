/*
 * EST over HTTPS (RFC 7030) on the TLS session: one request per
 * connection ("Connection: close"), base64 DER bodies.  The answer is
 * decoded into c->body.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

#include "sdev_int.h"

#define HTTP_TIMEOUT_MS		30000

static const char *const est_op[] = {
	"cacerts", "simpleenroll", "simplereenroll"
};

static int
media_is(struct sdev_span v, const char *want)
{
	size_t n = strlen(want);

	/* Parameters (smime-type=certs-only) are not needed to decide. */
	return v.len >= n && strncasecmp((const char *)v.ptr, want, n) == 0 &&
	    (v.len == n || v.ptr[n] == ';' || v.ptr[n] == ' ');
}

static int
write_request(struct sdev_sess *s, enum sdev_est_op op, const uint8_t *csr,
    size_t csrlen)
{
	struct sdev *c = s->c;
	const struct sdev_server *srv = s->srv;
	uint8_t *b64 = c->pem + 2048;
	size_t blen = 0, hlen;
	int n;

	if (csrlen > 0 && mbedtls_base64_encode(b64, sizeof(c->pem) - 2048,
	    &blen, csr, csrlen) != 0)
		return sdev_fail(c, SDEV_E_TOOBIG, "CSR too large");
	n = snprintf((char *)c->pem, 2048,
	    "%s /.well-known/est%s%s/%s HTTP/1.1\r\n"
	    "Host: %s:%s\r\n"
	    "Accept: application/pkcs7-mime\r\n"
	    "%s%s%s"
	    "%s"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n\r\n",
	    op == SDEV_EST_CACERTS ? "GET" : "POST",
	    srv->label != NULL ? "/" : "", srv->label != NULL ? srv->label : "",
	    est_op[op], srv->host, srv->port,
	    s->cred->bearer != NULL ? "Authorization: Bearer " : "",
	    s->cred->bearer != NULL ? s->cred->bearer : "",
	    s->cred->bearer != NULL ? "\r\n" : "",
	    csrlen > 0 ? "Content-Type: application/pkcs10\r\n"
	    "Content-Transfer-Encoding: base64\r\n" : "", blen);
	if (n < 0 || n >= 2048)
		return sdev_fail(c, SDEV_E_TOOBIG, "HTTP request too large");
	hlen = (size_t)n;
	/* Headers then body in one write, so the token is sent once. */
	memmove(c->pem + hlen, b64, blen);
	n = sdev_sess_write(s, c->pem, hlen + blen);
	mbedtls_platform_zeroize(c->pem, hlen + blen);
	return n;
}

static int
read_response(struct sdev_sess *s, struct sdev_http_resp *r)
{
	struct sdev *c = s->c;
	size_t len = 0, n;
	int rc, eof = 0;

	for (;;) {
		if ((rc = sdev_http_parse(c->http, len, eof, r)) != SDEV_OK)
			return sdev_fail(c, rc, "malformed HTTP answer");
		if (r->complete)
			return SDEV_OK;
		if (len == sizeof(c->http))
			return sdev_fail(c, SDEV_E_TOOBIG,
			    "HTTP answer over %zu bytes", sizeof(c->http));
		rc = sdev_sess_read(s, c->http + len, sizeof(c->http) - len,
		    HTTP_TIMEOUT_MS, &n);
		if (rc == SDEV_E_TIMEOUT)
			return sdev_fail(c, rc, "no HTTP answer from %s",
			    s->srv->host);
		if (rc != SDEV_OK)
			return rc;
		if (n == 0)
			eof = 1;
		len += n;
	}
}

static int
status_fail(struct sdev *c, const struct sdev_http_resp *r)
{
	char diag[160];
	size_t i, n = 0;

	for (i = 0; i < r->body.len && n + 1 < sizeof(diag); i++) {
		uint8_t ch = r->body.ptr[i];

		if (ch == '\n' || ch == '\r')
			break;
		diag[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	diag[n] = '\0';
	if (r->status == 202)
		return sdev_fail(c, SDEV_E_SERVER,
		    "server deferred the request (202): %s", diag);
	return sdev_fail(c, r->status >= 500 ? SDEV_E_SERVER :
	    r->status >= 400 ? SDEV_E_REFUSED : SDEV_E_PROTO,
	    "server answered %d %.*s%s%s", r->status, (int)r->reason.len,
	    (const char *)r->reason.ptr, n > 0 ? ": " : "", diag);
}

int
sdev_https_request(struct sdev_sess *s, enum sdev_est_op op,
    const uint8_t *csr, size_t csrlen)
{
	struct sdev *c = s->c;
	struct sdev_http_resp r;
	int rc;

	c->bodylen = 0;
	c->cformat = 0;
	if ((rc = write_request(s, op, csr, csrlen)) != SDEV_OK ||
	    (rc = read_response(s, &r)) != SDEV_OK)
		return rc;
	if (r.status != 200)
		return status_fail(c, &r);
	if (media_is(r.ctype, "application/pkcs7-mime"))
		c->cformat = SDEV_CF_PKCS7_CERTS;
	else if (media_is(r.ctype, "application/pkix-cert"))
		c->cformat = SDEV_CF_PKIX_CERT;
	else
		return sdev_fail(c, SDEV_E_PROTO,
		    "unexpected Content-Type %.*s", (int)r.ctype.len,
		    (const char *)r.ctype.ptr);
	/* RFC 8951: EST bodies are base64 whatever the CTE header says. */
	if (sdev_b64_decode(r.body.ptr, r.body.len, c->body, sizeof(c->body),
	    &c->bodylen) != SDEV_OK)
		return sdev_fail(c, SDEV_E_PROTO, "answer is not base64");
	return SDEV_OK;
}
