/*
 * The certs-only "degenerate" SignedData of RFC 7030 4.1.3 and 4.2.3 and
 * RFC 9148, written directly as DER: it is a fixed frame around the
 * certificates, and building it by hand avoids parsing the engine's DER
 * only to encode it again: for a three-certificate chain, tens of
 * nanoseconds against most of a millisecond through OpenSSL's PKCS7 API,
 * which parses every certificate (docs/decisions.md, issue 15).
 *
 *	ContentInfo ::= SEQUENCE {
 *	    contentType id-signedData,
 *	    content [0] EXPLICIT SignedData }
 *	SignedData ::= SEQUENCE {
 *	    version 1, digestAlgorithms SET {} ,
 *	    encapContentInfo SEQUENCE { id-data },
 *	    certificates [0] IMPLICIT SET OF Certificate,
 *	    signerInfos SET {} }
 *
 * eContent is absent, as `openssl crl2pkcs7` writes it: an empty OCTET
 * STRING there is refused by strict device parsers.
 */
#include <string.h>

#include "signet/est.h"

static const uint8_t oid_signed_data[] = {
	0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02
};
static const uint8_t oid_data_seq[] = {
	0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x07, 0x01
};
static const uint8_t version_digests[] = { 0x02, 0x01, 0x01, 0x31, 0x00 };
static const uint8_t empty_set[] = { 0x31, 0x00 };

/* The lengths of the nested frames, outermost last. */
struct frame {
	size_t	certlen;	/* [0] IMPLICIT SET OF Certificate */
	size_t	sdlen;		/* SignedData content */
	size_t	explen;		/* [0] EXPLICIT content */
	size_t	inner;		/* ContentInfo content */
	size_t	total;
};

/* Bytes a DER length field takes for len (lengths below 2^32). */
static size_t
der_len_size(size_t len)
{
	if (len < 0x80)
		return 1;
	if (len < 0x100)
		return 2;
	if (len < 0x10000)
		return 3;
	if (len < 0x1000000)
		return 4;
	return 5;
}

static size_t
der_put_hdr(uint8_t *p, uint8_t tag, size_t len)
{
	size_t n = der_len_size(len), i;

	p[0] = tag;
	if (n == 1) {
		p[1] = (uint8_t)len;
		return 2;
	}
	p[1] = (uint8_t)(0x80 | (n - 1));
	for (i = 0; i < n - 1; i++)
		p[2 + i] = (uint8_t)(len >> (8 * (n - 2 - i)));
	return 1 + n;
}

/* A certificate must at least look like one DER SEQUENCE. */
static int
cert_ok(const struct proto_blob *b)
{
	return b->ptr != NULL && b->len >= 2 && b->len <= PROTO_MAX_CERT &&
	    b->ptr[0] == 0x30;
}

static int
frame_size(const struct proto_blob *certs, size_t n, struct frame *f)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	if (n == 0 || n > PROTO_MAX_CHAIN_CERTS)
		return EST_E_ARG;
	for (i = 0; i < n; i++) {
		if (!cert_ok(&certs[i]))
			return EST_E_ARG;
		f->certlen += certs[i].len;
	}
	f->sdlen = sizeof(version_digests) + sizeof(oid_data_seq) +
	    1 + der_len_size(f->certlen) + f->certlen + sizeof(empty_set);
	f->explen = 1 + der_len_size(f->sdlen) + f->sdlen;
	f->inner = sizeof(oid_signed_data) + 1 + der_len_size(f->explen) +
	    f->explen;
	f->total = 1 + der_len_size(f->inner) + f->inner;
	return EST_OK;
}

size_t
est_pkcs7_size(const struct proto_blob *certs, size_t n)
{
	struct frame f;

	if (frame_size(certs, n, &f) != EST_OK)
		return 0;
	return f.total;
}

int
est_pkcs7_certs(const struct proto_blob *certs, size_t n, uint8_t *out,
    size_t outsize, size_t *outlen)
{
	struct frame f;
	size_t i, o;
	int rc;

	*outlen = 0;
	if ((rc = frame_size(certs, n, &f)) != EST_OK)
		return rc;
	if (f.total > outsize)
		return EST_E_SPACE;
	o = der_put_hdr(out, 0x30, f.inner);
	memcpy(out + o, oid_signed_data, sizeof(oid_signed_data));
	o += sizeof(oid_signed_data);
	o += der_put_hdr(out + o, 0xa0, f.explen);
	o += der_put_hdr(out + o, 0x30, f.sdlen);
	memcpy(out + o, version_digests, sizeof(version_digests));
	o += sizeof(version_digests);
	memcpy(out + o, oid_data_seq, sizeof(oid_data_seq));
	o += sizeof(oid_data_seq);
	o += der_put_hdr(out + o, 0xa0, f.certlen);
	for (i = 0; i < n; i++) {
		memcpy(out + o, certs[i].ptr, certs[i].len);
		o += certs[i].len;
	}
	memcpy(out + o, empty_set, sizeof(empty_set));
	o += sizeof(empty_set);
	if (o != f.total)
		return EST_E_ARG;
	*outlen = o;
	return EST_OK;
}

const char *
est_strerror(int err)
{
	switch (err) {
	case EST_OK:
		return "ok";
	case EST_E_ARG:
		return "not a certificate list";
	case EST_E_SPACE:
		return "output buffer too small";
	case EST_E_CERT:
		return "a certificate could not be added";
	default:
		return "unknown error";
	}
}
