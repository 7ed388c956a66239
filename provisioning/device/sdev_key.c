/*
 * Device keys, CSRs and the enrollment token's PSK.  The key is generated
 * on the device (DESIGN rule 1: the appliance only signs CSRs).
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_csr.h>

#include "sdev_int.h"

int
sdev_rng(void *p_rng, unsigned char *buf, size_t len)
{
	return mbedtls_ctr_drbg_random(p_rng, buf, len);
}

int
sdev_name_ok(const char *name)
{
	size_t i, n, label = 0;

	if (name == NULL || (n = strlen(name)) == 0 || n > SDEV_MAX_NAME)
		return 0;
	/* RFC 1035 2.3.1 letters, digits, hyphens; no empty labels. */
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (ch == '.') {
			if (label == 0 || name[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-'))
			return 0;
		if ((ch == '-' && label == 0) || ++label > 63)
			return 0;
	}
	return label > 0 && name[n - 1] != '-';
}

int
sdev_key_generate(struct sdev *c, mbedtls_pk_context *pk)
{
	int ret;

	if ((ret = mbedtls_pk_setup(pk,
	    mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
	    (ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
	    mbedtls_pk_ec(*pk), sdev_rng, &c->drbg)) != 0)
		return sdev_fail(c, SDEV_E_CRYPTO,
		    "P-256 key generation failed (mbedTLS -0x%04x)",
		    (unsigned)-ret);
	return SDEV_OK;
}

/* The subjectAltName extension value: GeneralNames { dNSName name }. */
static int
san_write(const char *name, uint8_t *buf, size_t size, const uint8_t **p)
{
	unsigned char *q = buf + size;
	size_t n = strlen(name);
	int len = 0, r;

	if ((r = mbedtls_asn1_write_raw_buffer(&q, buf,
	    (const unsigned char *)name, n)) < 0)
		return r;
	len += r;
	if ((r = mbedtls_asn1_write_len(&q, buf, n)) < 0)
		return r;
	len += r;
	if ((r = mbedtls_asn1_write_tag(&q, buf,
	    MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)) < 0)
		return r;
	len += r;
	if ((r = mbedtls_asn1_write_len(&q, buf, (size_t)len)) < 0)
		return r;
	len += r;
	if ((r = mbedtls_asn1_write_tag(&q, buf,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
		return r;
	len += r;
	*p = q;
	return len;
}

int
sdev_csr_write(struct sdev *c, mbedtls_pk_context *pk, const char *name,
    uint8_t *der, size_t size, size_t *len)
{
	mbedtls_x509write_csr csr;
	uint8_t san[SDEV_MAX_NAME + 16];
	char subject[SDEV_MAX_NAME + 4];
	const uint8_t *sanp = NULL;
	int ret, sanlen, rc = SDEV_E_CRYPTO;

	*len = 0;
	mbedtls_x509write_csr_init(&csr);
	if (!sdev_name_ok(name)) {
		rc = sdev_fail(c, SDEV_E_ARG, "not a DNS name: %s", name);
		goto out;
	}
	/* sdev_name_ok admits no character that needs escaping in a DN. */
	(void)snprintf(subject, sizeof(subject), "CN=%s", name);
	mbedtls_x509write_csr_set_md_alg(&csr, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&csr, pk);
	if ((ret = mbedtls_x509write_csr_set_subject_name(&csr,
	    subject)) != 0)
		goto fail;
	/* mbedTLS 2.28 has no SAN helper for CSRs: extensionRequest by hand. */
	if ((sanlen = san_write(name, san, sizeof(san), &sanp)) < 0) {
		ret = sanlen;
		goto fail;
	}
	if ((ret = sdev_compat_csr_set_ext(&csr, MBEDTLS_OID_SUBJECT_ALT_NAME,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), sanp,
	    (size_t)sanlen)) != 0)
		goto fail;
	/* x509write_csr_der writes at the end of the buffer. */
	if ((ret = mbedtls_x509write_csr_der(&csr, der, size, sdev_rng,
	    &c->drbg)) < 0)
		goto fail;
	memmove(der, der + size - (size_t)ret, (size_t)ret);
	*len = (size_t)ret;
	if ((ret = sdev_compat_csr_fixup(der, size, len)) != 0)
		goto fail;
	rc = SDEV_OK;
	goto out;
fail:
	rc = sdev_fail(c, SDEV_E_CRYPTO, "CSR writing failed (mbedTLS -0x%04x)",
	    (unsigned)-ret);
out:
	mbedtls_x509write_csr_free(&csr);
	return rc;
}

int
sdev_token_psk(const char *token, char *id, size_t idsize,
    uint8_t psk[SDEV_PSK_LEN])
{
	static const char label[] = "signet dtls psk";
	const char *dot;
	size_t n, idlen;

	if (token == NULL || (n = strlen(token)) == 0 || n > SDEV_MAX_TOKEN ||
	    (dot = strchr(token, '.')) == NULL || dot == token ||
	    dot[1] == '\0')
		return SDEV_E_ARG;
	idlen = (size_t)(dot - token);
	if (idlen + 1 > idsize)
		return SDEV_E_TOOBIG;
	memcpy(id, token, idlen);
	id[idlen] = '\0';
	/*
	 * The appliance's scheme (README, "Enroll a device"): PSK = the first
	 * 32 lowercase hex characters of HMAC-SHA256(key = SHA-256(token),
	 * "signet dtls psk").  The appliance stores only SHA-256(token); hex
	 * suits clients that take the key on a command line, and 32 bytes is
	 * mbedTLS's default MBEDTLS_PSK_MAX_LEN.
	 */
	{
		static const char hex[] = "0123456789abcdef";
		const mbedtls_md_info_t *md =
		    mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
		uint8_t h[32], mac[32];
		size_t i;
		int ok;

		ok = mbedtls_md(md, (const unsigned char *)token, n, h) == 0 &&
		    mbedtls_md_hmac(md, h, sizeof(h),
		    (const unsigned char *)label, sizeof(label) - 1, mac) == 0;
		for (i = 0; ok && i < SDEV_PSK_LEN / 2; i++) {
			psk[2 * i] = (uint8_t)hex[mac[i] >> 4];
			psk[2 * i + 1] = (uint8_t)hex[mac[i] & 15];
		}
		mbedtls_platform_zeroize(h, sizeof(h));
		mbedtls_platform_zeroize(mac, sizeof(mac));
		if (!ok) {
			mbedtls_platform_zeroize(psk, SDEV_PSK_LEN);
			return SDEV_E_CRYPTO;
		}
	}
	return SDEV_OK;
}
