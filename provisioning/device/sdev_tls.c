/*
 * (D)TLS 1.2 client sessions over the port's transport: DTLS on UDP for
 * EST-coaps, TLS on TCP for EST over HTTPS.  The server is authenticated by
 * the PSK (first enrollment over DTLS) or by a certificate chaining to the
 * pinned appliance CA with the host's name or address in its SAN.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>	/* error codes only */
#include <mbedtls/oid.h>
#include <mbedtls/ssl_ciphersuites.h>

#include "sdev_int.h"

#define HANDSHAKE_MIN_MS	1000
#define HANDSHAKE_MAX_MS	16000
#define STREAM_TIMEOUT_MS	30000

/* ECDHE first for forward secrecy; CCM_8 is CoAP's mandatory suite. */
static const int suites_psk[] = {
	MBEDTLS_TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256,
	MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8,
	MBEDTLS_TLS_PSK_WITH_AES_128_CCM,
	0
};
static const int suites_crt[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	0
};

static int
bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct sdev_sess *s = ctx;

	if (s->c->port.send(s->conn, buf, len) != SDEV_OK)
		return MBEDTLS_ERR_NET_SEND_FAILED;
	return (int)len;
}

static int
bio_recv(void *ctx, unsigned char *buf, size_t len, uint32_t timeout)
{
	struct sdev_sess *s = ctx;
	int n;

	n = s->c->port.recv(s->conn, buf, len,
	    timeout == 0 ? STREAM_TIMEOUT_MS : timeout);
	if (n == SDEV_E_TIMEOUT)
		return MBEDTLS_ERR_SSL_TIMEOUT;
	if (n < 0)
		return MBEDTLS_ERR_NET_RECV_FAILED;
	return n;
}

/* The DTLS retransmission timer on the port's monotonic clock. */
static void
timer_set(void *ctx, uint32_t int_ms, uint32_t fin_ms)
{
	struct sdev_sess *s = ctx;

	s->t_start = s->c->port.ms(s->c->port.ctx);
	s->t_int = int_ms;
	s->t_fin = fin_ms;
}

static int
timer_get(void *ctx)
{
	struct sdev_sess *s = ctx;
	uint64_t el;

	if (s->t_fin == 0)
		return -1;
	el = s->c->port.ms(s->c->port.ctx) - s->t_start;
	if (el >= s->t_fin)
		return 2;
	return el >= s->t_int ? 1 : 0;
}

/* A dotted-quad IPv4 literal, parsed without the C library's resolver. */
static int
parse_ipv4(const char *h, uint8_t ip[4])
{
	unsigned v = 0, digits = 0, part = 0;

	for (;; h++) {
		if (*h >= '0' && *h <= '9') {
			v = v * 10 + (unsigned)(*h - '0');
			if (++digits > 3 || v > 255)
				return 0;
		} else if ((*h == '.' || *h == '\0') && digits > 0 &&
		    part < 4) {
			ip[part++] = (uint8_t)v;
			v = digits = 0;
			if (*h == '\0')
				return part == 4;
		} else
			return 0;
	}
}

/*
 * Certificate checks beyond the chain: an address literal must be an
 * iPAddress SAN (mbedTLS 2.28 matches DNS names only), and the server's
 * certificate must allow serverAuth, so that a device certificate issued
 * by the same CA cannot pose as the appliance.
 */
static int
verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct sdev_sess *s = ctx;

	if (depth != 0)
		return 0;
	if (s->iplen > 0 && !sdev_compat_crt_has_ip(crt, s->ip, s->iplen))
		*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	if (mbedtls_x509_crt_check_extended_key_usage(crt,
	    MBEDTLS_OID_SERVER_AUTH,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) != 0)
		*flags |= MBEDTLS_X509_BADCERT_EXT_KEY_USAGE;
	return 0;
}

static int
conf_auth(struct sdev_sess *s)
{
	const struct sdev_cred *cr = s->cred;
	int ret;

	if (cr->psk != NULL) {
		if ((ret = mbedtls_ssl_conf_psk(&s->conf, cr->psk, SDEV_PSK_LEN,
		    (const unsigned char *)cr->psk_id,
		    strlen(cr->psk_id))) != 0)
			return ret;
		mbedtls_ssl_conf_ciphersuites(&s->conf, suites_psk);
	} else
		mbedtls_ssl_conf_ciphersuites(&s->conf, suites_crt);
	if (cr->crt != NULL && (ret = mbedtls_ssl_conf_own_cert(&s->conf,
	    cr->crt, cr->key)) != 0)
		return ret;
	if (cr->ta != NULL) {
		mbedtls_ssl_conf_ca_chain(&s->conf, cr->ta, NULL);
		mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_verify(&s->conf, verify_cb, s);
	} else if (cr->psk == NULL)
		return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;	/* never unauthenticated */
	else
		mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_NONE);
	return 0;
}

static int
handshake_fail(struct sdev_sess *s, int ret)
{
	char buf[128], info[256];
	uint32_t flags;

	if (ret == MBEDTLS_ERR_SSL_TIMEOUT)
		return sdev_fail(s->c, SDEV_E_TIMEOUT,
		    "no (D)TLS handshake answer from %s:%s", s->srv->host,
		    s->srv->port);
	if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		flags = mbedtls_ssl_get_verify_result(&s->ssl);
		if (mbedtls_x509_crt_verify_info(info, sizeof(info), "",
		    flags) < 0)
			info[0] = '\0';
		info[strcspn(info, "\n")] = '\0';
		return sdev_fail(s->c, SDEV_E_AUTH,
		    "server certificate of %s not trusted: %s", s->srv->host,
		    info);
	}
	mbedtls_strerror(ret, buf, sizeof(buf));
	if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
		return sdev_fail(s->c, SDEV_E_AUTH,
		    "server refused the %s handshake (%s)",
		    s->cred->psk != NULL ? "PSK" : "certificate", buf);
	return sdev_fail(s->c, SDEV_E_TLS, "(D)TLS handshake with %s failed: "
	    "%s", s->srv->host, buf);
}

int
sdev_sess_open(struct sdev *c, struct sdev_sess *s,
    const struct sdev_server *srv, const struct sdev_cred *cred)
{
	int dgram = srv->proto == SDEV_PROTO_COAPS, ret, rc;

	memset(s, 0, sizeof(*s));
	s->c = c;
	s->srv = srv;
	s->cred = cred;
	mbedtls_ssl_init(&s->ssl);
	mbedtls_ssl_config_init(&s->conf);
	s->open = 1;
	if (parse_ipv4(srv->host, s->ip))
		s->iplen = 4;
	if ((ret = mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_CLIENT,
	    dgram ? MBEDTLS_SSL_TRANSPORT_DATAGRAM :
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
		goto tlsfail;
	sdev_compat_conf_tls12(&s->conf);
	mbedtls_ssl_conf_rng(&s->conf, sdev_rng, &c->drbg);
	mbedtls_ssl_conf_handshake_timeout(&s->conf, HANDSHAKE_MIN_MS,
	    HANDSHAKE_MAX_MS);
	mbedtls_ssl_conf_read_timeout(&s->conf, STREAM_TIMEOUT_MS);
	if ((ret = conf_auth(s)) != 0)
		goto tlsfail;
	if ((ret = mbedtls_ssl_setup(&s->ssl, &s->conf)) != 0)
		goto tlsfail;
	/*
	 * Address literals are checked in verify_cb (iPAddress SAN), names
	 * by mbedTLS.  For a literal the hostname is set to NULL on purpose:
	 * mbedTLS 3.6.3 and later refuse to verify a peer when no hostname
	 * was set at all, and NULL is how both 2.28 and 3.x are told that
	 * the caller checks the identity itself.
	 */
	if ((ret = mbedtls_ssl_set_hostname(&s->ssl,
	    s->iplen == 0 ? srv->host : NULL)) != 0)
		goto tlsfail;
	if (dgram) {
		mbedtls_ssl_set_timer_cb(&s->ssl, s, timer_set, timer_get);
		mbedtls_ssl_set_mtu(&s->ssl, SDEV_MAX_DGRAM);
	}
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, NULL, bio_recv);
	if ((rc = c->port.connect(c->port.ctx, dgram ? SDEV_NET_UDP :
	    SDEV_NET_TCP, srv->host, srv->port, &s->conn)) != SDEV_OK)
		return sdev_fail(c, rc, "cannot reach %s:%s (%s)", srv->host,
		    srv->port, sdev_strerror(rc));
	while ((ret = mbedtls_ssl_handshake(&s->ssl)) != 0) {
		if (ret != MBEDTLS_ERR_SSL_WANT_READ &&
		    ret != MBEDTLS_ERR_SSL_WANT_WRITE)
			return handshake_fail(s, ret);
	}
	return SDEV_OK;
tlsfail:
	return sdev_fail(c, SDEV_E_TLS, "(D)TLS setup failed (mbedTLS -0x%04x)",
	    (unsigned)-ret);
}

int
sdev_sess_write(struct sdev_sess *s, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	int ret;

	while (off < len) {
		ret = mbedtls_ssl_write(&s->ssl, buf + off, len - off);
		if (ret == MBEDTLS_ERR_SSL_WANT_READ ||
		    ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (ret < 0)
			return sdev_fail(s->c, SDEV_E_NET,
			    "sending to %s failed (mbedTLS -0x%04x)",
			    s->srv->host, (unsigned)-ret);
		off += (size_t)ret;
	}
	return SDEV_OK;
}

int
sdev_sess_read(struct sdev_sess *s, uint8_t *buf, size_t size,
    uint32_t timeout_ms, size_t *len)
{
	int ret;

	*len = 0;
	mbedtls_ssl_conf_read_timeout(&s->conf, timeout_ms);
	do {
		ret = mbedtls_ssl_read(&s->ssl, buf, size);
	} while (ret == MBEDTLS_ERR_SSL_WANT_READ ||
	    ret == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (ret == MBEDTLS_ERR_SSL_TIMEOUT)
		return SDEV_E_TIMEOUT;
	if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == 0)
		return SDEV_OK;		/* end of stream: *len is 0 */
	if (ret < 0)
		return sdev_fail(s->c, SDEV_E_NET,
		    "reading from %s failed (mbedTLS -0x%04x)", s->srv->host,
		    (unsigned)-ret);
	*len = (size_t)ret;
	return SDEV_OK;
}

void
sdev_sess_close(struct sdev_sess *s)
{
	if (!s->open)
		return;
	if (s->conn != NULL) {
		(void)mbedtls_ssl_close_notify(&s->ssl);
		s->c->port.close(s->conn);
		s->conn = NULL;
	}
	mbedtls_ssl_free(&s->ssl);
	mbedtls_ssl_config_free(&s->conf);
	s->open = 0;
}
