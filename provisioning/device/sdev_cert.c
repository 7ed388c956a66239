/*
 * Certificates the appliance returns: extracted from the EST answer,
 * checked against the trust anchor, the submitted key and the asked-for
 * name before anything is stored; PEM for the key store; renewal time.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/pem.h>

#include "sdev_int.h"

#define PEM_BEGIN	"-----BEGIN CERTIFICATE-----\n"
#define PEM_END		"-----END CERTIFICATE-----\n"

int64_t
sdev_renew_time(int64_t not_before, int64_t not_after)
{
	/* Renew when a third of the lifetime remains. */
	if (not_after <= not_before)
		return not_before;
	return not_after - (not_after - not_before) / 3;
}

int
sdev_body_certs(struct sdev *c, mbedtls_x509_crt *out)
{
	struct sdev_span certs[SDEV_MAX_CERTS];
	size_t n = 0, i;
	int ret;

	if (c->cformat == SDEV_CF_PKIX_CERT) {
		certs[0].ptr = c->body;
		certs[0].len = c->bodylen;
		n = 1;
	} else if (c->cformat == SDEV_CF_PKCS7_CERTS) {
		if ((ret = sdev_pkcs7_certs(c->body, c->bodylen, certs,
		    SDEV_MAX_CERTS, &n)) != SDEV_OK)
			return sdev_fail(c, SDEV_E_PROTO,
			    "answer is not a certs-only PKCS#7 (%s)",
			    sdev_strerror(ret));
	} else
		return sdev_fail(c, SDEV_E_PROTO,
		    "answer has content format %u, not 281 or 287", c->cformat);
	for (i = 0; i < n; i++) {
		if ((ret = mbedtls_x509_crt_parse_der(out, certs[i].ptr,
		    certs[i].len)) != 0)
			return sdev_fail(c, SDEV_E_PROTO,
			    "certificate %zu of the answer does not parse "
			    "(mbedTLS -0x%04x)", i + 1, (unsigned)-ret);
	}
	return SDEV_OK;
}

int
sdev_pk_equal(mbedtls_pk_context *a, mbedtls_pk_context *b)
{
	uint8_t da[256], db[256];
	int la, lb;

	/* pk_write_pubkey_der writes at the end of the buffer. */
	if ((la = mbedtls_pk_write_pubkey_der(a, da, sizeof(da))) <= 0 ||
	    (lb = mbedtls_pk_write_pubkey_der(b, db, sizeof(db))) <= 0)
		return 0;
	return la == lb && memcmp(da + sizeof(da) - la, db + sizeof(db) - lb,
	    (size_t)la) == 0;
}

int
sdev_verify_issued(struct sdev *c, mbedtls_x509_crt *leaf,
    mbedtls_x509_crt *chain, mbedtls_x509_crt *ta, mbedtls_pk_context *key,
    const char *name)
{
	const mbedtls_x509_crt *x;
	const uint8_t *p;
	char info[256];
	uint32_t flags = 0;
	size_t len;
	int ret;

	if (!sdev_pk_equal(sdev_compat_crt_pk(leaf), key))
		return sdev_fail(c, SDEV_E_VERIFY,
		    "returned certificate does not carry the submitted key");
	if (name != NULL && !sdev_compat_crt_has_dns(leaf, name))
		return sdev_fail(c, SDEV_E_VERIFY,
		    "returned certificate does not name %s", name);
	/* The chain certificates follow the leaf as untrusted intermediates. */
	for (x = chain; x != NULL; x = sdev_compat_crt_next(x)) {
		sdev_compat_crt_raw(x, &p, &len);
		if (p != NULL && (ret = mbedtls_x509_crt_parse_der(leaf, p,
		    len)) != 0)
			return sdev_fail(c, SDEV_E_PROTO,
			    "CA certificate does not parse");
	}
	ret = mbedtls_x509_crt_verify(leaf, ta, NULL, NULL, &flags, NULL,
	    NULL);
	if (ret != 0) {
		if (mbedtls_x509_crt_verify_info(info, sizeof(info), "",
		    flags) < 0)
			info[0] = '\0';
		info[strcspn(info, "\n")] = '\0';
		return sdev_fail(c, SDEV_E_VERIFY,
		    "returned certificate does not chain to the appliance CA: "
		    "%s", info[0] != '\0' ? info : "unknown reason");
	}
	return SDEV_OK;
}

int
sdev_crt_pem(const mbedtls_x509_crt *crt, int all, uint8_t *out,
    size_t size, size_t *len)
{
	const mbedtls_x509_crt *x;
	const uint8_t *p;
	size_t n, off = 0;

	*len = 0;
	for (x = crt; x != NULL; x = all ? sdev_compat_crt_next(x) : NULL) {
		sdev_compat_crt_raw(x, &p, &n);
		if (p == NULL)
			break;
		if (mbedtls_pem_write_buffer(PEM_BEGIN, PEM_END, p, n,
		    out + off, size - off, &n) != 0)
			return SDEV_E_TOOBIG;
		off += n - 1;	/* n counts the terminating NUL */
	}
	*len = off;
	return off > 0 ? SDEV_OK : SDEV_E_NOTFOUND;
}
