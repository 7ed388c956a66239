/*
 * The certificates of a certs-only ("degenerate") PKCS#7 SignedData, as
 * EST answers (RFC 7030 4.1.3, RFC 9148 content format 281).  A small
 * strict DER walker: definite lengths in minimal form, exact nesting, no
 * trailing bytes.  Certificates are returned as spans; mbedTLS parses them.
 *
 *	ContentInfo ::= SEQUENCE {
 *	    contentType id-signedData,
 *	    content [0] EXPLICIT SignedData }
 *	SignedData ::= SEQUENCE {
 *	    version INTEGER, digestAlgorithms SET,
 *	    encapContentInfo SEQUENCE { id-data },
 *	    certificates [0] IMPLICIT SET OF Certificate OPTIONAL,
 *	    crls [1] IMPLICIT SET OF CertificateList OPTIONAL,
 *	    signerInfos SET }
 */
#include <string.h>

#include "sdev_local.h"

static const uint8_t oid_signed_data[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02
};
static const uint8_t oid_data[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01
};

struct der {
	const uint8_t	*p;
	const uint8_t	*end;
};

/* Reads one TLV of tag want; v is its value.  DER: minimal lengths. */
static int
der_get(struct der *d, uint8_t want, struct der *v)
{
	size_t len = 0, n, i;

	if (d->end - d->p < 2 || d->p[0] != want)
		return SDEV_E_PROTO;
	d->p++;
	if (*d->p < 0x80) {
		len = *d->p++;
	} else {
		n = *d->p++ & 0x7f;
		/* 0x80 is BER's indefinite length; DER has none. */
		if (n == 0 || n > 3 || (size_t)(d->end - d->p) < n ||
		    d->p[0] == 0)
			return SDEV_E_PROTO;
		for (i = 0; i < n; i++)
			len = len << 8 | *d->p++;
		if (len < 0x80)
			return SDEV_E_PROTO;
	}
	if (len > (size_t)(d->end - d->p))
		return SDEV_E_PROTO;
	v->p = d->p;
	v->end = d->p + len;
	d->p += len;
	return SDEV_OK;
}

static int
der_oid_is(struct der *d, const uint8_t *oid, size_t len)
{
	struct der v;

	if (der_get(d, 0x06, &v) != SDEV_OK)
		return 0;
	return (size_t)(v.end - v.p) == len && memcmp(v.p, oid, len) == 0;
}

/* The version is a small INTEGER (1 in EST answers; CMS allows up to 5). */
static int
der_version(struct der *d)
{
	struct der v;

	if (der_get(d, 0x02, &v) != SDEV_OK || v.end - v.p != 1 ||
	    v.p[0] > 5)
		return SDEV_E_PROTO;
	return SDEV_OK;
}

static int
get_certs(struct der *set, struct sdev_span *certs, size_t max, size_t *n)
{
	const uint8_t *start;
	struct der v;

	while (set->p < set->end) {
		start = set->p;
		if (der_get(set, 0x30, &v) != SDEV_OK)
			return SDEV_E_PROTO;
		if (*n == max)
			return SDEV_E_TOOBIG;
		if ((size_t)(set->p - start) > SDEV_MAX_CERT)
			return SDEV_E_TOOBIG;
		certs[*n].ptr = start;
		certs[*n].len = (size_t)(set->p - start);
		(*n)++;
	}
	return SDEV_OK;
}

int
sdev_pkcs7_certs(const uint8_t *der, size_t len, struct sdev_span *certs,
    size_t max, size_t *n)
{
	struct der top = { der, der + len }, ci, ex, sd, v;
	int rc = SDEV_E_PROTO;

	*n = 0;
	if (der_get(&top, 0x30, &ci) != SDEV_OK || top.p != top.end)
		goto out;
	if (!der_oid_is(&ci, oid_signed_data, sizeof(oid_signed_data)) ||
	    der_get(&ci, 0xa0, &ex) != SDEV_OK || ci.p != ci.end)
		goto out;
	if (der_get(&ex, 0x30, &sd) != SDEV_OK || ex.p != ex.end)
		goto out;
	if (der_version(&sd) != SDEV_OK ||
	    der_get(&sd, 0x31, &v) != SDEV_OK ||
	    der_get(&sd, 0x30, &v) != SDEV_OK ||
	    !der_oid_is(&v, oid_data, sizeof(oid_data)) || v.p != v.end)
		goto out;
	if (sd.p < sd.end && sd.p[0] == 0xa0) {
		if (der_get(&sd, 0xa0, &v) != SDEV_OK)
			goto out;
		if ((rc = get_certs(&v, certs, max, n)) != SDEV_OK)
			goto out;
		rc = SDEV_E_PROTO;
	}
	if (sd.p < sd.end && sd.p[0] == 0xa1 && der_get(&sd, 0xa1, &v) !=
	    SDEV_OK)
		goto out;
	/* certs-only: the signerInfos SET is empty (RFC 7030 4.1.3). */
	if (der_get(&sd, 0x31, &v) != SDEV_OK || v.p != v.end ||
	    sd.p != sd.end)
		goto out;
	rc = *n > 0 ? SDEV_OK : SDEV_E_NOTFOUND;
out:
	if (rc != SDEV_OK)
		*n = 0;
	return rc;
}
