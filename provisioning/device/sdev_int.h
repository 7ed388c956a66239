/*
 * Internal state of the device client (mbedTLS types).  One struct sdev
 * per client, one struct sdev_sess per (D)TLS session; no globals.
 */
#ifndef SDEV_INT_H
#define SDEV_INT_H

#include <stdarg.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "sdev_local.h"
#include "sdev_mbedtls_compat.h"

/* A received datagram: a 1024-byte block with headers fits. */
#define SDEV_MAX_RX	2048

struct sdev {
	struct sdev_port	 port;
	mbedtls_ctr_drbg_context drbg;
	char			 err[SDEV_MAX_ERRMSG];
	uint16_t		 mid;		/* next CoAP message id */
	uint8_t			 body[SDEV_MAX_BODY];	/* last answer */
	size_t			 bodylen;
	unsigned		 cformat;	/* its content format */
	uint8_t			 pem[SDEV_MAX_PEM];	/* store scratch */
	uint8_t			 tx[SDEV_MAX_DGRAM];	/* CoAP out */
	uint8_t			 rx[SDEV_MAX_RX];	/* CoAP in */
	uint8_t			 http[SDEV_MAX_HTTP];	/* HTTP in */
};

/* How a session authenticates the client. */
struct sdev_cred {
	const char		*psk_id;	/* PSK (first enrollment) */
	const uint8_t		*psk;
	mbedtls_x509_crt	*crt;		/* or certificate and key */
	mbedtls_pk_context	*key;
	mbedtls_x509_crt	*ta;		/* server trust (NULL: PSK only) */
	const char		*bearer;	/* HTTPS first enrollment */
};

struct sdev_sess {
	struct sdev		*c;
	const struct sdev_server *srv;
	const struct sdev_cred	*cred;
	struct sdev_conn	*conn;
	mbedtls_ssl_context	 ssl;
	mbedtls_ssl_config	 conf;
	int			 ciphersuites[8];
	uint8_t			 ip[16];	/* host as an address, if it is one */
	size_t			 iplen;
	uint64_t		 t_start, t_int, t_fin;	/* DTLS timer */
	int			 open;
};

/* Records a failure message; returns err. */
int	sdev_fail(struct sdev *c, int err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* The DRBG callback for mbedTLS (p_rng is &c->drbg). */
int	sdev_rng(void *p_rng, unsigned char *buf, size_t len);

/* Keys and CSRs (sdev_key.c). */
int	sdev_key_generate(struct sdev *c, mbedtls_pk_context *pk);
int	sdev_csr_write(struct sdev *c, mbedtls_pk_context *pk,
	    const char *name, uint8_t *der, size_t size, size_t *len);

/* (D)TLS sessions (sdev_tls.c). */
int	sdev_sess_open(struct sdev *c, struct sdev_sess *s,
	    const struct sdev_server *srv, const struct sdev_cred *cred);
int	sdev_sess_write(struct sdev_sess *s, const uint8_t *buf, size_t len);
/* Reads one record/datagram's worth; SDEV_E_TIMEOUT after timeout_ms. */
int	sdev_sess_read(struct sdev_sess *s, uint8_t *buf, size_t size,
	    uint32_t timeout_ms, size_t *len);
void	sdev_sess_close(struct sdev_sess *s);

/* EST operations; the answer lands in c->body / c->cformat. */
enum sdev_est_op {
	SDEV_EST_CACERTS = 0,
	SDEV_EST_ENROLL,
	SDEV_EST_REENROLL
};
int	sdev_coaps_request(struct sdev_sess *s, enum sdev_est_op op,
	    const uint8_t *csr, size_t csrlen);
int	sdev_https_request(struct sdev_sess *s, enum sdev_est_op op,
	    const uint8_t *csr, size_t csrlen);

/* Certificates (sdev_cert.c). */
int	sdev_body_certs(struct sdev *c, mbedtls_x509_crt *out);
int	sdev_verify_issued(struct sdev *c, mbedtls_x509_crt *leaf,
	    mbedtls_x509_crt *chain, mbedtls_x509_crt *ta,
	    mbedtls_pk_context *key, const char *name);
int	sdev_pk_equal(mbedtls_pk_context *a, mbedtls_pk_context *b);
int	sdev_crt_pem(const mbedtls_x509_crt *crt, int all, uint8_t *out,
	    size_t size, size_t *len);

#endif /* SDEV_INT_H */
