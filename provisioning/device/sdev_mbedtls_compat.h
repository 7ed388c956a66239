/*
 * The only calls whose signature or whose structure access differs between
 * mbedTLS 2.28 (Debian 12) and 3.6 (Debian 13).  Everything else in the
 * client uses API that both share; sdev_mbedtls_compat.c is the one file
 * that tells the versions apart.
 */
#ifndef SDEV_MBEDTLS_COMPAT_H
#define SDEV_MBEDTLS_COMPAT_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

typedef int (*sdev_rng_fn)(void *, unsigned char *, size_t);

/* Before any other mbedTLS call: psa_crypto_init on 3.x (0 on success). */
int	sdev_compat_crypto_init(void);

/* mbedtls_pk_parse_key (3.x takes an RNG for blinding). */
int	sdev_compat_parse_key(mbedtls_pk_context *pk, const uint8_t *buf,
	    size_t len, sdev_rng_fn f_rng, void *p_rng);

/* mbedtls_x509write_csr_set_extension (3.x adds a critical flag). */
int	sdev_compat_csr_set_ext(mbedtls_x509write_csr *csr, const char *oid,
	    size_t oidlen, const uint8_t *val, size_t len);

/*
 * Makes a CSR written by mbedtls_x509write_csr_der DER as RFC 5758 3.2
 * wants it: 2.28 writes NULL parameters into ecdsa-with-SHA*.  The
 * signature covers only the CertificationRequestInfo, so the outer frame
 * may be rewritten.  der holds *len bytes and room for size.
 */
int	sdev_compat_csr_fixup(uint8_t *der, size_t size, size_t *len);

/* DTLS/TLS 1.2 only. */
void	sdev_compat_conf_tls12(mbedtls_ssl_config *conf);

/* Fields of a parsed certificate (private in 3.x). */
int	sdev_compat_crt_validity(const mbedtls_x509_crt *crt, int64_t *nb,
	    int64_t *na);
mbedtls_pk_context *sdev_compat_crt_pk(mbedtls_x509_crt *crt);
const mbedtls_x509_crt *sdev_compat_crt_next(const mbedtls_x509_crt *crt);
void	sdev_compat_crt_raw(const mbedtls_x509_crt *crt, const uint8_t **p,
	    size_t *len);
int	sdev_compat_crt_self_issued(const mbedtls_x509_crt *crt);
int	sdev_compat_crt_names(const mbedtls_x509_crt *crt, char *subject,
	    size_t ssize, char *issuer, size_t isize, char *serial,
	    size_t sersize);
/* Whether the certificate has an iPAddress SAN of ip (4 or 16 bytes). */
int	sdev_compat_crt_has_ip(const mbedtls_x509_crt *crt, const uint8_t *ip,
	    size_t iplen);
/* Whether it has a dNSName SAN equal to name (case-insensitive). */
int	sdev_compat_crt_has_dns(const mbedtls_x509_crt *crt, const char *name);

/* The subject's first commonName, NUL-terminated. */
int	sdev_compat_crt_cn(const mbedtls_x509_crt *crt, char *cn, size_t size);

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
int64_t	sdev_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif /* SDEV_MBEDTLS_COMPAT_H */
