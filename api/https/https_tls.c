/*
 * TLS for the HTTPS listener: TLS 1.2 and 1.3, the server's own
 * certificate, and client certificates requested but not required (EST
 * bootstrap, cacerts and health are public).  A client certificate that
 * does not verify does not fail the handshake: the route that needs it
 * answers 403 with the reason, which a client can act on, where a TLS
 * alert would only say "handshake failure".  The engine verifies the
 * chain again and checks revocation; this is a first filter, not the
 * authority.
 *
 * Every TLS connection owns one SSL object; an ex_data free hook on it
 * tells the connection budget (https_conn.c) that the connection went,
 * however libevent ended it, and the info callback that its handshake
 * finished.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "signet/est.h"
#include "https_local.h"

static int https_tls_exidx = -1;

static int
tls_verify_cb(int ok, X509_STORE_CTX *x)
{
	/* The verify result stays on the SSL; routes judge it (see top). */
	return 1;
}

/*
 * Answers are small and written in several TLS records; with Nagle's
 * algorithm the last one waits for the client's delayed ACK (~40 ms).
 */
static void
tls_info_cb(const SSL *ssl, int where, int ret)
{
	struct https_srv *srv;
	int fd, one = 1;

	if ((where & SSL_CB_HANDSHAKE_START) && (fd = SSL_get_fd(ssl)) >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((where & SSL_CB_HANDSHAKE_DONE) && (fd = SSL_get_fd(ssl)) >= 0 &&
	    (srv = SSL_get_ex_data(ssl, https_tls_exidx)) != NULL)
		https_conn_handshake(srv, fd, (SSL *)ssl);
}

/* An SSL object is freed: its connection is gone.  Its descriptor is
 * closed already but not yet handed out again (same call). */
static void
tls_conn_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	struct https_srv *srv = ptr;

	if (srv == NULL || parent == NULL)
		return;
	https_conn_gone(srv, SSL_get_fd(parent), parent);
}

static int
tls_load_cas(struct https_srv *srv, char *err, size_t errlen)
{
	size_t i;

	if ((srv->client_store = X509_STORE_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < srv->conf->tls_client_ca.n; i++) {
		if (X509_STORE_load_file(srv->store,
		    srv->conf->tls_client_ca.v[i]) != 1 ||
		    X509_STORE_load_file(srv->client_store,
		    srv->conf->tls_client_ca.v[i]) != 1) {
			snprintf(err, errlen, "%s: cannot load client CA "
			    "certificates", srv->conf->tls_client_ca.v[i]);
			return -1;
		}
	}
	return sconf_trust_load(srv->conf, &srv->trust, err, errlen);
}

int
https_tls_init(struct https_srv *srv, char *err, size_t errlen)
{
	const struct sconf *c = srv->conf;
	SSL_CTX *ctx = NULL;
	int rc = -1;

	if (https_tls_exidx == -1 && (https_tls_exidx = SSL_get_ex_new_index(
	    0, NULL, NULL, NULL, tls_conn_gone)) == -1) {
		snprintf(err, errlen, "SSL_get_ex_new_index failed");
		goto out;
	}
	if (c->tls_cert == NULL || c->tls_key == NULL) {
		snprintf(err, errlen, "tls: cert and key are required");
		goto out;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto ssl;
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
		snprintf(err, errlen, "%s: cannot load the TLS certificate",
		    c->tls_cert);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "%s: cannot load the TLS key, or it does "
		    "not match %s", c->tls_key, c->tls_cert);
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE,
	    tls_verify_cb);
	SSL_CTX_set_verify_depth(ctx, PROTO_MAX_CHAIN_CERTS);
	SSL_CTX_set_info_callback(ctx, tls_info_cb);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"signet",
	    6);
	srv->store = SSL_CTX_get_cert_store(ctx);
	srv->ssl = ctx;
	ctx = NULL;
	rc = tls_load_cas(srv, err, errlen);
	goto out;
ssl:
	snprintf(err, errlen, "TLS setup failed: %s",
	    ERR_reason_error_string(ERR_peek_last_error()));
out:
	SSL_CTX_free(ctx);
	return rc;
}

/* Certificates the engine returned for CACERTS also authenticate clients. */
void
https_tls_add_ca(struct https_srv *srv, const struct proto_chain *ch)
{
	/* One that does not parse is skipped: the others still help. */
	(void)est_store_add(srv->store, ch->certs, ch->ncerts);
	ERR_clear_error();
}

struct bufferevent *
https_tls_bev(struct event_base *base, void *arg)
{
	struct https_srv *srv = arg;
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = SSL_new(srv->ssl)) == NULL)
		return NULL;
	SSL_set_ex_data(ssl, https_tls_exidx, srv);
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	https_conn_pending(srv, bev, 1);
	return bev;
}

/* x's DER after the used bytes of buf (PROTO_MAX_CHAIN long). */
static int
der_append(uint8_t *buf, size_t *used, X509 *x, struct proto_blob *b)
{
	unsigned char *p;
	int n;

	if ((n = i2d_X509(x, NULL)) <= 0 || (size_t)n > PROTO_MAX_CERT ||
	    (size_t)n > PROTO_MAX_CHAIN - *used)
		return -1;
	p = buf + *used;
	b->ptr = p;
	b->len = (size_t)i2d_X509(x, &p);
	*used += b->len;
	return 0;
}

SSL *
https_req_ssl(struct evhttp_request *req)
{
	struct evhttp_connection *evcon;
	struct bufferevent *bev;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL)
		return NULL;
	return bufferevent_openssl_get_ssl(bev);
}

/*
 * The engine's client mapping (eng_ident.c: the first client whose cn, o
 * and ou match and whose client CA is in the chain, sconf_trust_map), on
 * a certificate that chains to tls.client_ca alone: certificates Signet
 * issued never map to a configured client.
 */
int
https_tls_role(struct https_srv *srv, SSL *ssl, unsigned int roles)
{
	const struct sconf_client *c;
	X509_STORE_CTX *xs = NULL;
	X509 *leaf;
	int ok = 0;

	if (ssl == NULL || srv->client_store == NULL ||
	    (leaf = SSL_get0_peer_certificate(ssl)) == NULL)
		return 0;
	if ((xs = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(xs, srv->client_store, leaf,
	    SSL_get_peer_cert_chain(ssl)) != 1 ||
	    X509_STORE_CTX_set_purpose(xs, X509_PURPOSE_SSL_CLIENT) != 1 ||
	    X509_verify_cert(xs) != 1)
		goto out;
	if ((c = sconf_trust_map(srv->trust, X509_STORE_CTX_get0_chain(xs))) !=
	    NULL)
		ok = sconf_role_in(c->role, roles);
out:
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	return ok;
}

int
https_tls_evidence(struct https_ctx *ctx, struct proto_evidence *ev,
    char fp[65], char *why, size_t whylen)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	STACK_OF(X509) *sk;
	X509 *leaf;
	SSL *ssl;
	size_t used = 0, i;
	long vr;
	int rc = 0, n;

	fp[0] = '\0';
	if ((ssl = https_req_ssl(ctx->req)) == NULL ||
	    (leaf = SSL_get0_peer_certificate(ssl)) == NULL)
		goto out;
	rc = -1;
	if ((vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(why, whylen, "client certificate not trusted: %s",
		    X509_verify_cert_error_string(vr));
		goto out;
	}
	/* The request's own, freed with ctx when it is answered. */
	if (ctx->evbuf == NULL &&
	    (ctx->evbuf = malloc(PROTO_MAX_CHAIN)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	memset(ev, 0, sizeof(*ev));
	ev->peer = PROTO_PEER_HTTPS;
	ev->kind = PROTO_EV_CERTS;
	if (der_append(ctx->evbuf, &used, leaf, &ev->chain.certs[0]) != 0) {
		snprintf(why, whylen, "client certificate too large");
		goto out;
	}
	ev->chain.ncerts = 1;
	/* The server side's peer chain excludes the leaf. */
	sk = SSL_get_peer_cert_chain(ssl);
	n = sk != NULL ? sk_X509_num(sk) : 0;
	for (i = 0; i < (size_t)n && ev->chain.ncerts < PROTO_MAX_CHAIN_CERTS;
	    i++) {
		if (der_append(ctx->evbuf, &used, sk_X509_value(sk, (int)i),
		    &ev->chain.certs[ev->chain.ncerts]) != 0)
			break;
		ev->chain.ncerts++;
	}
	X509_digest(leaf, EVP_sha256(), md, &mdlen);
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(fp + 2 * i, 3, "%02x", md[i]);
	rc = 1;
out:
	return rc;
}
