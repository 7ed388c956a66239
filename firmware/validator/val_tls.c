/*
 * tls-alpn-01 (RFC 8737): a TLS 1.2+ handshake to the identifier's
 * address on the configured port with SNI the name and ALPN acme-tls/1
 * only.  The server must select acme-tls/1 (3: otherwise the challenge
 * fails); the certificate it presented goes to the engine, which checks
 * its acmeIdentifier extension and its one subjectAltName
 * (eng_acme_chall.c).  No certificate verification: the certificate is
 * self-signed by design, and what it proves is its extension.
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "val_local.h"

#define VAL_ALPN	"acme-tls/1"

void *
val_tls_init(char *err, size_t errlen)
{
	SSL_CTX *ctx;
	static const uint8_t alpn[] = "\x0a" VAL_ALPN;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
		snprintf(err, errlen, "TLS context for tls-alpn-01");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

void
val_tls_free(void *tls)
{
	SSL_CTX_free(tls);
}

int
val_tlsalpn01(struct val_ctx *v, const char *url, uint8_t *out, size_t size,
    size_t *n, char *why, size_t whylen)
{
	char host[VAL_MAX_HOST], port[8];
	const char *sni;
	const uint8_t *sel = NULL;
	unsigned sellen = 0;
	uint64_t deadline = val_now_ms() + VAL_TOTAL_MS, now;
	struct pollfd pfd;
	SSL *ssl = NULL;
	X509 *x = NULL;
	uint8_t *p;
	int fd, rc = -1, r, len;

	*n = 0;
	/* "tls://host:port/sni" (host an address in brackets for IPv6). */
	if (val_split_url(url, "tls://", NULL, host, sizeof(host), port,
	    sizeof(port), &sni) != 0 || *++sni == '\0' || strlen(sni) > 253) {
		snprintf(why, whylen, "bad URL");
		return -1;
	}
	if ((fd = val_dial(v, host, port, deadline, why, whylen)) == -1)
		return -1;
	ERR_clear_error();
	if ((ssl = SSL_new(v->tls)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, sni) != 1) {
		snprintf(why, whylen, "tls: cannot start a handshake");
		goto out;
	}
	for (;;) {
		if ((r = SSL_connect(ssl)) == 1)
			break;
		pfd.fd = fd;
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_READ:
			pfd.events = POLLIN;
			break;
		case SSL_ERROR_WANT_WRITE:
			pfd.events = POLLOUT;
			break;
		default:
			snprintf(why, whylen, "tls: handshake with %s failed: "
			    "%s", host, ERR_reason_error_string(
			    ERR_peek_last_error()) ? ERR_reason_error_string(
			    ERR_peek_last_error()) : "connection closed");
			goto out;
		}
		now = val_now_ms();
		if (now >= deadline ||
		    poll(&pfd, 1, (int)(deadline - now)) != 1) {
			snprintf(why, whylen, "tls: no handshake in time");
			goto out;
		}
	}
	/* RFC 8737 3: the server must have chosen acme-tls/1. */
	SSL_get0_alpn_selected(ssl, &sel, &sellen);
	if (sellen != sizeof(VAL_ALPN) - 1 ||
	    memcmp(sel, VAL_ALPN, sellen) != 0) {
		snprintf(why, whylen, "tls: the server did not negotiate "
		    "acme-tls/1");
		goto out;
	}
	if ((x = SSL_get1_peer_certificate(ssl)) == NULL ||
	    (len = i2d_X509(x, NULL)) <= 0 || (size_t)len > size) {
		snprintf(why, whylen, "tls: no certificate, or one over %zu "
		    "bytes", size);
		goto out;
	}
	p = out;
	if (i2d_X509(x, &p) != len) {
		snprintf(why, whylen, "tls: certificate encoding");
		goto out;
	}
	*n = (size_t)len;
	rc = 0;
out:
	X509_free(x);
	if (ssl != NULL)
		SSL_free(ssl);
	close(fd);
	return rc;
}
