/*
 * DTLS for signet-coap: the server identity handed to libcoap from memory,
 * strict client certificate verification against our own trust store, and
 * bootstrap PSKs fetched from the engine during the handshake.
 *
 * libcoap (OpenSSL backend, 4.3.1 and 4.3.4) sets up certificate and key
 * per session from the coap_dtls_pki_t; with PEM files it re-reads them on
 * every handshake, so we give it DER buffers (COAP_PKI_KEY_ASN1) read once.
 * Its verify callback honours allow_self_signed/allow_expired_certs, which
 * we leave off; the trust anchors are ours (ec_store_init), set on each
 * SSL in the additional setup callback, with the server chain.
 */
#include <string.h>
#include <syslog.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "ec_local.h"

/* libcoap's setup callback takes no argument: one context per process. */
static struct ec_ctx *tls_ctx;

static int
load_cert(struct ec_ctx *ctx, const char *path)
{
	FILE *f = NULL;
	X509 *x = NULL;
	unsigned char *der = NULL;
	int len, rc = -1;

	if ((f = fopen(path, "r")) == NULL)
		goto out;
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL ||
	    (len = i2d_X509(x, &der)) <= 0)
		goto out;
	ctx->cert_der = der;
	ctx->cert_len = (size_t)len;
	der = NULL;
	/* The rest of the file is the chain the client needs. */
	if ((ctx->srv_chain = sk_X509_new_null()) == NULL)
		goto out;
	X509_free(x);
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(ctx->srv_chain, x))
			goto out;
	ERR_clear_error();
	rc = 0;
out:
	X509_free(x);
	OPENSSL_free(der);
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
load_key(struct ec_ctx *ctx, const char *path)
{
	FILE *f = NULL;
	EVP_PKEY *k = NULL;
	unsigned char *der = NULL;
	int len, rc = -1;

	if ((f = fopen(path, "r")) == NULL)
		goto out;
	if ((k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		goto out;
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_EC:
		ctx->key_type = COAP_ASN1_PKEY_EC;
		break;
	case EVP_PKEY_RSA:
		ctx->key_type = COAP_ASN1_PKEY_RSA;
		break;
	default:
		goto out;
	}
	if ((len = i2d_PrivateKey(k, &der)) <= 0)
		goto out;
	ctx->key_der = der;
	ctx->key_len = (size_t)len;
	der = NULL;
	rc = 0;
out:
	EVP_PKEY_free(k);
	if (f != NULL)
		fclose(f);
	return rc;
}

/* Called by libcoap for each certificate (not PSK) handshake. */
static int
tls_setup(void *tls, coap_dtls_pki_t *setup)
{
	struct ec_ctx *ctx = tls_ctx;
	SSL *ssl = tls;
	int i;

	/* Until the engine has served its CA certificates, retry, backing off. */
	if (!ctx->store_engine &&
	    ec_now_ms() - ctx->store_try_ms > ctx->store_retry_ms) {
		ec_store_refresh(ctx);
		if (!ctx->store_engine && ctx->store_retry_ms < 60000)
			ctx->store_retry_ms *= 2;
	}
	if (!SSL_set1_verify_cert_store(ssl, ctx->store))
		return 0;
	X509_VERIFY_PARAM_set_flags(SSL_get0_param(ssl),
	    X509_V_FLAG_X509_STRICT);
	for (i = 0; i < sk_X509_num(ctx->srv_chain); i++)
		if (!SSL_add1_chain_cert(ssl, sk_X509_value(ctx->srv_chain,
		    i)))
			return 0;
	return 1;
}

/* A token id: printable ASCII without spaces, as the engine issues them. */
static int
identity_ok(const coap_bin_const_t *id)
{
	size_t i;

	if (id == NULL || id->length == 0 || id->length > PROTO_MAX_PSK_ID)
		return 0;
	for (i = 0; i < id->length; i++)
		if (id->s[i] <= 0x20 || id->s[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * Server PSK callback: the key of this identity, or NULL to fail the
 * handshake.  libcoap copies the key into the session before the next
 * call; ctx->psk_key is wiped after each pass of the event loop.
 */
static const coap_bin_const_t *
psk_lookup(coap_bin_const_t *identity, coap_session_t *session, void *arg)
{
	struct ec_ctx *ctx = arg;
	struct proto_request req;
	struct proto_reply rep;
	const coap_bin_const_t *res = NULL;

	if (!identity_ok(identity)) {
		ctx->st.psk_refused++;
		return NULL;
	}
	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_PSK_LOOKUP;
	req.ev.peer = PROTO_PEER_COAP;
	req.ev.kind = PROTO_EV_NONE;
	ec_source(session, &req.ev);
	memcpy(req.u.psk.identity, identity->s, identity->length);
	if (ec_engine_call(ctx, &req, &rep, EC_PSK_TIMEOUT_MS) != 0)
		goto out;
	if (rep.status.result != PROTO_R_OK) {
		log_info("msg=\"PSK identity refused\" identity=%s "
		    "result=\"%s\"", req.u.psk.identity,
		    proto_result_name(rep.status.result));
		goto out;
	}
	/* The session's enrollment must show this handle (ec_psk.c). */
	ec_psk_put(session, rep.u.psk.handle, rep.u.psk.tenant,
	    rep.u.psk.profile);
	memcpy(ctx->psk_key, rep.u.psk.key, rep.u.psk.len);
	ctx->psk_out.s = ctx->psk_key;
	ctx->psk_out.length = rep.u.psk.len;
	res = &ctx->psk_out;
out:
	if (res == NULL)
		ctx->st.psk_refused++;
	else
		ctx->st.psk_ok++;
	proto_wipe(&rep, sizeof(rep));
	proto_wipe(ctx->rx, sizeof(ctx->rx));
	return res;
}

int
ec_dtls_setup(struct ec_ctx *ctx)
{
	coap_dtls_pki_t pki;
	coap_dtls_spsk_t spsk;

	if (ctx->conf->tls_cert == NULL || ctx->conf->tls_key == NULL)
		fatalx("msg=\"tls cert and key are required for DTLS\"");
	if (load_cert(ctx, ctx->conf->tls_cert) != 0)
		fatalx("msg=\"cannot read DTLS certificate\" file=%s",
		    ctx->conf->tls_cert);
	if (load_key(ctx, ctx->conf->tls_key) != 0)
		fatalx("msg=\"cannot read DTLS key (EC or RSA)\" file=%s",
		    ctx->conf->tls_key);
	tls_ctx = ctx;

	memset(&pki, 0, sizeof(pki));
	pki.version = COAP_DTLS_PKI_SETUP_VERSION;
	pki.verify_peer_cert = 1;
	pki.check_common_ca = 1;
	pki.allow_self_signed = 0;
	pki.allow_expired_certs = 0;
	pki.cert_chain_validation = 1;
	pki.cert_chain_verify_depth = PROTO_MAX_CHAIN_CERTS;
	/* Revocation is the engine's check: it holds the ledger. */
	pki.check_cert_revocation = 0;
	pki.additional_tls_setup_call_back = tls_setup;
	pki.pki_key.key_type = COAP_PKI_KEY_ASN1;
	pki.pki_key.key.asn1.public_cert = ctx->cert_der;
	pki.pki_key.key.asn1.public_cert_len = ctx->cert_len;
	pki.pki_key.key.asn1.private_key = ctx->key_der;
	pki.pki_key.key.asn1.private_key_len = ctx->key_len;
	pki.pki_key.key.asn1.private_key_type = ctx->key_type;
	if (!coap_context_set_pki(ctx->coap, &pki))
		return -1;

	/*
	 * libcoap offers PSK ciphers only if a server key is set; the
	 * callback decides every handshake, so the key set here is random
	 * and never used.
	 */
	if (RAND_bytes(ctx->nopsk, sizeof(ctx->nopsk)) != 1)
		return -1;
	memset(&spsk, 0, sizeof(spsk));
	spsk.version = COAP_DTLS_SPSK_SETUP_VERSION;
	spsk.validate_id_call_back = psk_lookup;
	spsk.id_call_back_arg = ctx;
	spsk.psk_info.key.s = ctx->nopsk;
	spsk.psk_info.key.length = sizeof(ctx->nopsk);
	if (!coap_context_set_psk2(ctx->coap, &spsk))
		return -1;
	return 0;
}

void
ec_dtls_free(struct ec_ctx *ctx)
{
	sk_X509_pop_free(ctx->srv_chain, X509_free);
	X509_STORE_free(ctx->store);
	OPENSSL_free(ctx->cert_der);
	OPENSSL_clear_free(ctx->key_der, ctx->key_len);
	OPENSSL_cleanse(ctx->psk_key, sizeof(ctx->psk_key));
}
