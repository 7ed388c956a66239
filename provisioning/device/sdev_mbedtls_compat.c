/*
 * The mbedTLS calls that differ between 2.28 (Debian 12) and 3.6 (Debian
 * 13), and the certificate fields the client reads.  This is the one place
 * that knows the version: the block below has the 3.x bindings, its #else
 * the 2.28 ones; everything after it is written to the API both share
 * (the certificate, name, time and SAN fields used here stay public in 3.x).
 *
 * 3.x: pk_parse_key takes an RNG (blinding), x509write_csr_set_extension
 * a critical flag, the version setters take one mbedtls_ssl_protocol_version,
 * and PSA crypto must be initialised before any TLS or X.509 use (the TLS
 * 1.3 code and, with MBEDTLS_USE_PSA_CRYPTO, PK and X.509 run through it).
 */
#include <string.h>
#include <strings.h>

#include <mbedtls/asn1.h>
#include <mbedtls/oid.h>
#include <mbedtls/version.h>

#include "sdev_mbedtls_compat.h"

#if MBEDTLS_VERSION_MAJOR == 3
#include <psa/crypto.h>

int
sdev_compat_crypto_init(void)
{
	/* Idempotent; the PSA core keeps its own DRBG on the platform's
	 * entropy (getrandom), which the TLS 1.3 and PSA paths use. */
	return psa_crypto_init() == PSA_SUCCESS ? 0 : -1;
}

int
sdev_compat_parse_key(mbedtls_pk_context *pk, const uint8_t *buf, size_t len,
    sdev_rng_fn f_rng, void *p_rng)
{
	return mbedtls_pk_parse_key(pk, buf, len, NULL, 0, f_rng, p_rng);
}

int
sdev_compat_csr_set_ext(mbedtls_x509write_csr *csr, const char *oid,
    size_t oidlen, const uint8_t *val, size_t len)
{
	return mbedtls_x509write_csr_set_extension(csr, oid, oidlen, 0, val,
	    len);
}

void
sdev_compat_conf_tls12(mbedtls_ssl_config *conf)
{
	mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
}
#elif MBEDTLS_VERSION_MAJOR == 2 && MBEDTLS_VERSION_MINOR >= 28
int
sdev_compat_crypto_init(void)
{
	/* 2.28's TLS, PK and X.509 use the legacy crypto directly. */
	return 0;
}

int
sdev_compat_parse_key(mbedtls_pk_context *pk, const uint8_t *buf, size_t len,
    sdev_rng_fn f_rng, void *p_rng)
{
	(void)f_rng;
	(void)p_rng;
	return mbedtls_pk_parse_key(pk, buf, len, NULL, 0);
}

int
sdev_compat_csr_set_ext(mbedtls_x509write_csr *csr, const char *oid,
    size_t oidlen, const uint8_t *val, size_t len)
{
	return mbedtls_x509write_csr_set_extension(csr, oid, oidlen, val, len);
}

void
sdev_compat_conf_tls12(mbedtls_ssl_config *conf)
{
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
}
#else
#error "the device client supports mbedTLS 2.28 and 3.x"
#endif

/* ecdsa-with-SHA224..512 share this prefix (RFC 5758 3.2). */
static const uint8_t oid_ecdsa_sha[] = {
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03
};

int
sdev_compat_csr_fixup(uint8_t *der, size_t size, size_t *len)
{
	unsigned char *p = der, *end = der + *len, *cri, *oid, *algend;
	uint8_t tmp[2048];
	size_t l, crilen, oidlen, restlen, body, o = 0;

	if (mbedtls_asn1_get_tag(&p, end, &l, 0x30) != 0 || p + l != end)
		return -1;
	cri = p;
	if (mbedtls_asn1_get_tag(&p, end, &l, 0x30) != 0)
		return -1;
	p += l;
	crilen = (size_t)(p - cri);
	if (mbedtls_asn1_get_tag(&p, end, &l, 0x30) != 0)
		return -1;
	algend = p + l;
	if (mbedtls_asn1_get_tag(&p, algend, &oidlen, 0x06) != 0)
		return -1;
	oid = p;
	/* Only ECDSA followed by exactly NULL is rewritten. */
	if (oidlen != sizeof(oid_ecdsa_sha) + 1 ||
	    memcmp(oid, oid_ecdsa_sha, sizeof(oid_ecdsa_sha)) != 0 ||
	    algend - (oid + oidlen) != 2 || oid[oidlen] != 0x05 ||
	    oid[oidlen + 1] != 0x00)
		return 0;
	restlen = (size_t)(end - algend);
	body = crilen + 2 + 2 + oidlen + restlen;
	if (body + 4 > sizeof(tmp) || body + 4 > size || body > 0xffff)
		return -1;
	tmp[o++] = 0x30;
	if (body >= 0x100) {
		tmp[o++] = 0x82;
		tmp[o++] = (uint8_t)(body >> 8);
	} else if (body >= 0x80)
		tmp[o++] = 0x81;
	tmp[o++] = (uint8_t)body;
	memcpy(tmp + o, cri, crilen);
	o += crilen;
	tmp[o++] = 0x30;
	tmp[o++] = (uint8_t)(2 + oidlen);
	tmp[o++] = 0x06;
	tmp[o++] = (uint8_t)oidlen;
	memcpy(tmp + o, oid, oidlen);
	o += oidlen;
	memcpy(tmp + o, algend, restlen);
	o += restlen;
	memcpy(der, tmp, o);
	*len = o;
	return 0;
}

int64_t
sdev_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	/* H. Hinnant's algorithm: years start in March so leap days end one. */
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
x509_time_epoch(const mbedtls_x509_time *t, int64_t *out)
{
	if (t->mon < 1 || t->mon > 12 || t->day < 1 || t->day > 31 ||
	    t->hour < 0 || t->hour > 23 || t->min < 0 || t->min > 59 ||
	    t->sec < 0 || t->sec > 60)
		return -1;
	*out = sdev_days_from_civil(t->year, (unsigned)t->mon,
	    (unsigned)t->day) * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
	return 0;
}

int
sdev_compat_crt_validity(const mbedtls_x509_crt *crt, int64_t *nb,
    int64_t *na)
{
	if (x509_time_epoch(&crt->valid_from, nb) != 0 ||
	    x509_time_epoch(&crt->valid_to, na) != 0)
		return -1;
	return 0;
}

mbedtls_pk_context *
sdev_compat_crt_pk(mbedtls_x509_crt *crt)
{
	return &crt->pk;
}

const mbedtls_x509_crt *
sdev_compat_crt_next(const mbedtls_x509_crt *crt)
{
	return crt->next != NULL && crt->next->raw.p != NULL ?
	    crt->next : NULL;
}

void
sdev_compat_crt_raw(const mbedtls_x509_crt *crt, const uint8_t **p,
    size_t *len)
{
	*p = crt->raw.p;
	*len = crt->raw.len;
}

int
sdev_compat_crt_self_issued(const mbedtls_x509_crt *crt)
{
	return crt->subject_raw.len == crt->issuer_raw.len &&
	    memcmp(crt->subject_raw.p, crt->issuer_raw.p,
	    crt->issuer_raw.len) == 0;
}

int
sdev_compat_crt_names(const mbedtls_x509_crt *crt, char *subject,
    size_t ssize, char *issuer, size_t isize, char *serial, size_t sersize)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (mbedtls_x509_dn_gets(subject, ssize, &crt->subject) < 0 ||
	    mbedtls_x509_dn_gets(issuer, isize, &crt->issuer) < 0)
		return -1;
	for (i = 0; i < crt->serial.len && o + 2 < sersize; i++) {
		serial[o++] = hex[crt->serial.p[i] >> 4];
		serial[o++] = hex[crt->serial.p[i] & 0x0f];
	}
	serial[o] = '\0';
	return 0;
}

int
sdev_compat_crt_has_ip(const mbedtls_x509_crt *crt, const uint8_t *ip,
    size_t iplen)
{
	const mbedtls_x509_sequence *s;

	/* mbedTLS 2.28 keeps every SAN entry with its tag; [7] is iPAddress. */
	for (s = &crt->subject_alt_names; s != NULL && s->buf.p != NULL;
	    s = s->next) {
		if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) &&
		    s->buf.len == iplen && memcmp(s->buf.p, ip, iplen) == 0)
			return 1;
	}
	return 0;
}

int
sdev_compat_crt_has_dns(const mbedtls_x509_crt *crt, const char *name)
{
	const mbedtls_x509_sequence *s;
	size_t n = strlen(name);

	for (s = &crt->subject_alt_names; s != NULL && s->buf.p != NULL;
	    s = s->next) {
		if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) &&
		    s->buf.len == n &&
		    strncasecmp((const char *)s->buf.p, name, n) == 0)
			return 1;
	}
	return 0;
}

int
sdev_compat_crt_cn(const mbedtls_x509_crt *crt, char *cn, size_t size)
{
	const mbedtls_x509_name *n;

	for (n = &crt->subject; n != NULL; n = n->next) {
		if (n->oid.p == NULL || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN,
		    &n->oid) != 0)
			continue;
		if (n->val.len + 1 > size)
			return -1;
		memcpy(cn, n->val.p, n->val.len);
		cn[n->val.len] = '\0';
		return 0;
	}
	return -1;
}
