/*
 * What a DTLS session tells the engine about its client, and how the
 * engine's answers become CoAP: result codes and certs-only PKCS#7
 * (written by api/est, as signet-https writes it).
 */
#include <string.h>

#include <netinet/in.h>

#include <openssl/ssl.h>

#include "signet/est.h"
#include "ec_local.h"

/* DER of x appended to buf at *used; the blob points at it. */
static int
put_cert(X509 *x, uint8_t *buf, size_t size, size_t *used,
    struct proto_blob *b)
{
	unsigned char *p;
	int len;

	if ((len = i2d_X509(x, NULL)) <= 0 || (size_t)len > PROTO_MAX_CERT ||
	    (size_t)len > size - *used)
		return -1;
	p = buf + *used;
	if (i2d_X509(x, &p) != len)
		return -1;
	b->ptr = buf + *used;
	b->len = (size_t)len;
	*used += (size_t)len;
	return 0;
}

/*
 * The client's evidence, exactly as DTLS saw it: a PSK identity (a token
 * id the engine re-checks and consumes, with the one-time handle of the
 * session's PSK lookup) or the certificate chain it sent,
 * leaf first.  Certificates are written into buf.  Returns -1 if the
 * session has neither, which libcoap's handshake checks should prevent.
 */
int
ec_evidence(coap_session_t *session, struct proto_evidence *ev,
    uint8_t *buf, size_t size, struct proto_blob *leaf)
{
	const coap_bin_const_t *id;
	coap_tls_library_t lib;
	STACK_OF(X509) *sk;
	SSL *ssl;
	X509 *x;
	size_t used = 0;
	int i, n;

	memset(ev, 0, sizeof(*ev));
	memset(leaf, 0, sizeof(*leaf));
	ev->peer = PROTO_PEER_COAP;
	if ((id = coap_session_get_psk_identity(session)) != NULL &&
	    id->length > 0 && id->length <= PROTO_MAX_PSK_ID) {
		ev->kind = PROTO_EV_TOKEN;
		ev->token_src = PROTO_TOKSRC_PSK_ID;
		memcpy(ev->token, id->s, id->length);
		ev->token[id->length] = '\0';
		/* None (or spent): the engine refuses an enrollment. */
		(void)ec_psk_get(session, ev->psk_handle);
		return 0;
	}
	ssl = coap_session_get_tls(session, &lib);
	if (ssl == NULL || lib != COAP_TLS_LIBRARY_OPENSSL ||
	    (x = SSL_get0_peer_certificate(ssl)) == NULL)
		return -1;
	ev->kind = PROTO_EV_CERTS;
	if (put_cert(x, buf, size, &used, &ev->chain.certs[0]) != 0)
		return -1;
	ev->chain.ncerts = 1;
	*leaf = ev->chain.certs[0];
	/* On the server side the peer chain does not include the leaf. */
	sk = SSL_get_peer_cert_chain(ssl);
	n = sk == NULL ? 0 : sk_X509_num(sk);
	for (i = 0; i < n && ev->chain.ncerts < PROTO_MAX_CHAIN_CERTS; i++) {
		x = sk_X509_value(sk, i);
		if (X509_cmp(x, SSL_get0_peer_certificate(ssl)) == 0)
			continue;
		if (used + (size_t)i2d_X509(x, NULL) > PROTO_MAX_CHAIN)
			break;
		if (put_cert(x, buf, size, &used,
		    &ev->chain.certs[ev->chain.ncerts]) != 0)
			return -1;
		ev->chain.ncerts++;
	}
	return 0;
}

void
ec_source(const coap_session_t *session, struct proto_evidence *ev)
{
	const coap_address_t *a = coap_session_get_addr_remote(session);

	ev->src_len = 0;
	if (a == NULL)
		return;
	if (a->addr.sa.sa_family == AF_INET) {
		memcpy(ev->src, &a->addr.sin.sin_addr, 4);
		ev->src_len = 4;
	} else if (a->addr.sa.sa_family == AF_INET6) {
		memcpy(ev->src, &a->addr.sin6.sin6_addr, 16);
		ev->src_len = 16;
	}
}

/* Engine results to CoAP codes (RFC 7252 5.9, RFC 9148 5). */
int
ec_result_code(int result)
{
	switch (result) {
	case PROTO_R_OK:
		return 205;
	case PROTO_R_BAD_REQUEST:
		return 400;
	case PROTO_R_UNAUTHORIZED:
		return 401;
	case PROTO_R_FORBIDDEN:
		return 403;
	case PROTO_R_NOT_FOUND:
		return 404;
	case PROTO_R_CONFLICT:
		return 403;	/* CoAP has no 4.09 */
	case PROTO_R_RATE_LIMITED:
		return 429;	/* RFC 8516: 4.29 Too Many Requests */
	case PROTO_R_UNAVAILABLE:
		return 503;
	default:
		return 500;
	}
}

/* The certs-only PKCS#7 (RFC 9148 4.1, api/est), OPENSSL_malloc'd. */
int
ec_pkcs7(const struct proto_blob *certs, size_t n, uint8_t **out,
    size_t *outlen)
{
	uint8_t *der;
	size_t size;

	*out = NULL;
	*outlen = 0;
	if ((size = est_pkcs7_size(certs, n)) == 0 ||
	    (der = OPENSSL_malloc(size)) == NULL)
		return -1;
	if (est_pkcs7_certs(certs, n, der, size, outlen) != EST_OK) {
		OPENSSL_free(der);
		*outlen = 0;
		return -1;
	}
	*out = der;
	return 0;
}
