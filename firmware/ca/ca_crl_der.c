/*
 * A growing DER writer for CRLs and OCSP answers.  The fixed ca_buf of
 * the certificate builder is bounded at 64 KiB on purpose; a CRL is not,
 * so this one reserves four length octets per open element, doubles its
 * storage as needed, and writes the minimal length on close.  Errors are
 * sticky and checked once, at ca_gbuf_take.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca_crl_local.h"

/* RFC 5280 5.2.3 cRLNumber, 5.3.1 reasonCode. */
const uint8_t ca_oid_crl_number[3] = { 0x55, 0x1d, 0x14 };
const uint8_t ca_oid_crl_reason[3] = { 0x55, 0x1d, 0x15 };
/* RFC 6960 4.2.1 id-pkix-ocsp-basic, 4.4.1 id-pkix-ocsp-nonce. */
const uint8_t ca_oid_ocsp_basic[9] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
	0x30, 0x01, 0x01 };
const uint8_t ca_oid_ocsp_nonce[9] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
	0x30, 0x01, 0x02 };
const uint8_t ca_oid_sha1[5] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
const uint8_t ca_oid_sha256[9] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
	0x04, 0x02, 0x01 };

#define CA_GBUF_HDR 6	/* tag, 0x84, four length octets */

void
ca_gbuf_init(struct ca_gbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void
ca_gbuf_free(struct ca_gbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
ca_gbuf_grow(struct ca_gbuf *b, size_t need)
{
	size_t cap;
	uint8_t *np;

	if (b->err)
		return -1;
	if (need <= b->cap - b->len)
		return 0;
	if (need > 0xffffffffu - b->len) {
		b->err = 1;
		return -1;
	}
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < need)
		cap *= 2;
	if ((np = realloc(b->p, cap)) == NULL) {
		b->err = 1;
		return -1;
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

void
ca_gbuf_put(struct ca_gbuf *b, const void *data, size_t len)
{
	if (len == 0 || ca_gbuf_grow(b, len) != 0)
		return;
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void
ca_gbuf_open(struct ca_gbuf *b, unsigned tag)
{
	if (b->depth >= CA_GBUF_DEPTH) {
		b->err = 1;
		return;
	}
	if (ca_gbuf_grow(b, CA_GBUF_HDR) != 0)
		return;
	b->open[b->depth++] = b->len;
	b->p[b->len] = (uint8_t)tag;
	b->len += CA_GBUF_HDR;
}

/* X.690 10.1: the definite form with the fewest length octets. */
void
ca_gbuf_close(struct ca_gbuf *b)
{
	size_t at, clen, hl, i;
	uint8_t *h;

	if (b->err || b->depth <= 0) {
		b->err = 1;
		return;
	}
	at = b->open[--b->depth];
	clen = b->len - at - CA_GBUF_HDR;
	if (clen > 0xffffffffu) {
		b->err = 1;
		return;
	}
	hl = clen < 0x80 ? 1 : clen <= 0xff ? 2 : clen <= 0xffff ? 3 :
	    clen <= 0xffffff ? 4 : 5;
	h = b->p + at + 1;
	if (hl == 1)
		h[0] = (uint8_t)clen;
	else {
		h[0] = (uint8_t)(0x80 | (hl - 1));
		for (i = 1; i < hl; i++)
			h[i] = (uint8_t)(clen >> (8 * (hl - 1 - i)));
	}
	memmove(b->p + at + 1 + hl, b->p + at + CA_GBUF_HDR, clen);
	b->len = at + 1 + hl + clen;
}

void
ca_gbuf_tlv(struct ca_gbuf *b, unsigned tag, const void *data, size_t len)
{
	uint8_t h[6];
	size_t hl = 0, i, n;

	h[hl++] = (uint8_t)tag;
	if (len < 0x80)
		h[hl++] = (uint8_t)len;
	else {
		for (n = 0, i = len; i > 0; i >>= 8)
			n++;
		if (n > 4) {
			b->err = 1;
			return;
		}
		h[hl++] = (uint8_t)(0x80 | n);
		for (i = n; i > 0; i--)
			h[hl++] = (uint8_t)(len >> (8 * (i - 1)));
	}
	ca_gbuf_put(b, h, hl);
	ca_gbuf_put(b, data, len);
}

/* X.690 8.3.2: minimal two's complement; a positive value keeps bit 7 0. */
void
ca_gbuf_uint(struct ca_gbuf *b, const uint8_t *mag, size_t len)
{
	uint8_t zero = 0;

	while (len > 1 && mag[0] == 0)
		mag++, len--;
	if (len == 0) {
		ca_gbuf_tlv(b, CA_T_INTEGER, &zero, 1);
		return;
	}
	if (mag[0] & 0x80) {
		ca_gbuf_open(b, CA_T_INTEGER);
		ca_gbuf_put(b, &zero, 1);
		ca_gbuf_put(b, mag, len);
		ca_gbuf_close(b);
		return;
	}
	ca_gbuf_tlv(b, CA_T_INTEGER, mag, len);
}

void
ca_gbuf_u64(struct ca_gbuf *b, uint64_t v)
{
	uint8_t m[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		m[i] = (uint8_t)v;
	ca_gbuf_uint(b, m, sizeof(m));
}

/*
 * RFC 5280 4.1.2.5 and 5.1.2.4: UTCTime through 2049, GeneralizedTime
 * from 2050; RFC 6960 uses GeneralizedTime throughout (gen_only).
 */
void
ca_gbuf_time(struct ca_gbuf *b, time_t t, int gen_only)
{
	struct tm tm;
	char s[24];
	int n;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 0 ||
	    tm.tm_year > 8099) {
		b->err = 1;
		return;
	}
	if (!gen_only && tm.tm_year >= 50 && tm.tm_year < 150) {
		n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ",
		    tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		ca_gbuf_tlv(b, CA_T_UTCTIME, s, (size_t)n);
		return;
	}
	n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	ca_gbuf_tlv(b, CA_T_GENTIME, s, (size_t)n);
}

void
ca_gbuf_ext_open(struct ca_gbuf *b, const uint8_t *oid, size_t oidlen,
    int critical)
{
	static const uint8_t yes[3] = { CA_T_BOOLEAN, 0x01, 0xff };

	ca_gbuf_open(b, CA_T_SEQ);
	ca_gbuf_tlv(b, CA_T_OID, oid, oidlen);
	/* X.690 11.5: DEFAULT FALSE is omitted, never encoded. */
	if (critical)
		ca_gbuf_put(b, yes, sizeof(yes));
	ca_gbuf_open(b, CA_T_OCTETSTRING);
}

void
ca_gbuf_ext_close(struct ca_gbuf *b)
{
	ca_gbuf_close(b);
	ca_gbuf_close(b);
}

void
ca_gbuf_bits(struct ca_gbuf *b, const uint8_t *sig, size_t len)
{
	uint8_t unused = 0;

	ca_gbuf_open(b, CA_T_BITSTRING);
	ca_gbuf_put(b, &unused, 1);
	ca_gbuf_put(b, sig, len);
	ca_gbuf_close(b);
}

int
ca_gbuf_take(struct ca_gbuf *b, uint8_t **out, size_t *len)
{
	if (b->err || b->depth != 0) {
		ca_gbuf_free(b);
		return CA_ERR_NOMEM;
	}
	*out = b->p;
	*len = b->len;
	memset(b, 0, sizeof(*b));
	return CA_OK;
}
