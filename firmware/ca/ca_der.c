/*
 * Strict DER reading and bounded DER writing.  The reader refuses
 * everything X.690 section 10 forbids in DER that matters for safety:
 * indefinite and non-minimal lengths, high tag numbers, lengths past the
 * end, non-canonical BOOLEANs and INTEGERs, and nesting past a limit.
 */
#include <string.h>

#include "ca_local.h"

void
ca_cur_init(struct ca_cur *c, const uint8_t *p, size_t n)
{
	c->p = p;
	c->n = n;
}

int
ca_der_peek(const struct ca_cur *c)
{
	return c->n > 0 ? c->p[0] : -1;
}

/* Reads one element; returns 0, or -1 on anything not strict DER. */
int
ca_der_next(struct ca_cur *c, struct ca_tlv *t)
{
	size_t len, hl, i, nb;

	if (c->n < 2)
		return -1;
	/* X.690 8.1.2.4: high tag numbers are never used in X.509. */
	if ((c->p[0] & 0x1f) == 0x1f)
		return -1;
	if (c->p[1] < 0x80) {
		len = c->p[1];
		hl = 2;
	} else {
		/* X.690 10.1: definite form, fewest octets. */
		nb = c->p[1] & 0x7f;
		if (nb == 0 || nb > 3 || c->n < 2 + nb || c->p[2] == 0)
			return -1;
		for (len = 0, i = 0; i < nb; i++)
			len = (len << 8) | c->p[2 + i];
		if (len < 0x80)
			return -1;
		hl = 2 + nb;
	}
	if (len > c->n - hl)
		return -1;
	t->tag = c->p[0];
	t->raw = c->p;
	t->raw_len = hl + len;
	t->val = c->p + hl;
	t->len = len;
	c->p += t->raw_len;
	c->n -= t->raw_len;
	return 0;
}

int
ca_der_expect(struct ca_cur *c, unsigned tag, struct ca_tlv *t)
{
	if (ca_der_next(c, t) != 0 || t->tag != tag)
		return -1;
	return 0;
}

/* X.690 11.1 and 8.3.2: canonical BOOLEAN and minimal INTEGER. */
static int
ca_der_prim_ok(const struct ca_tlv *t)
{
	switch (t->tag) {
	case CA_T_BOOLEAN:
		return t->len == 1 && (t->val[0] == 0 || t->val[0] == 0xff);
	case CA_T_INTEGER:
		if (t->len == 0)
			return 0;
		if (t->len > 1 && ((t->val[0] == 0 && t->val[1] < 0x80) ||
		    (t->val[0] == 0xff && t->val[1] >= 0x80)))
			return 0;
		return 1;
	case CA_T_NULL:
		return t->len == 0;
	case CA_T_BITSTRING:
		return t->len >= 1 && t->val[0] < 8 &&
		    (t->len > 1 || t->val[0] == 0);
	default:
		return 1;
	}
}

/*
 * Walks every element of p[0..n) and, recursively, of every constructed
 * one; the elements must fill p exactly.  depth bounds the recursion.
 */
int
ca_der_strict(const uint8_t *p, size_t n, int depth)
{
	struct ca_cur c;
	struct ca_tlv t;

	if (depth <= 0)
		return -1;
	ca_cur_init(&c, p, n);
	while (c.n > 0) {
		if (ca_der_next(&c, &t) != 0)
			return -1;
		if (t.tag & 0x20) {
			if (ca_der_strict(t.val, t.len, depth - 1) != 0)
				return -1;
		} else if (!ca_der_prim_ok(&t))
			return -1;
	}
	return 0;
}

int
ca_oid_eq(const struct ca_tlv *t, const uint8_t *oid, size_t len)
{
	return t->tag == CA_T_OID && t->len == len &&
	    memcmp(t->val, oid, len) == 0;
}

static int
ca_digits(const uint8_t *p, size_t n, int *out)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
ca_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * RFC 5280 4.1.2.5.1/4.1.2.5.2: UTCTime YYMMDDHHMMSSZ, GeneralizedTime
 * YYYYMMDDHHMMSSZ, seconds present, Zulu, no fractions.
 */
int
ca_der_time(const struct ca_tlv *t, time_t *out)
{
	int y, mo, d, h, mi, s;
	const uint8_t *p = t->val;
	size_t yl;

	if (t->tag == CA_T_UTCTIME && t->len == 13)
		yl = 2;
	else if (t->tag == CA_T_GENTIME && t->len == 15)
		yl = 4;
	else
		return -1;
	if (p[t->len - 1] != 'Z')
		return -1;
	if (ca_digits(p, yl, &y) || ca_digits(p + yl, 2, &mo) ||
	    ca_digits(p + yl + 2, 2, &d) || ca_digits(p + yl + 4, 2, &h) ||
	    ca_digits(p + yl + 6, 2, &mi) || ca_digits(p + yl + 8, 2, &s))
		return -1;
	if (yl == 2)
		y += y < 50 ? 2000 : 1900;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    s > 59)
		return -1;
	*out = (time_t)(ca_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s);
	return 0;
}

void
ca_buf_init(struct ca_buf *b, uint8_t *mem, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->p = mem;
	b->cap = cap;
}

void
ca_buf_put(struct ca_buf *b, const void *data, size_t len)
{
	if (b->err || len > b->cap - b->len) {
		b->err = 1;
		return;
	}
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

/* Reserves a tag and three length octets; ca_buf_close fixes them. */
void
ca_buf_open(struct ca_buf *b, unsigned tag)
{
	static const uint8_t pad[3];
	uint8_t tg = (uint8_t)tag;

	if (b->depth >= CA_BUF_DEPTH) {
		b->err = 1;
		return;
	}
	b->open[b->depth++] = b->len;
	ca_buf_put(b, &tg, 1);
	ca_buf_put(b, pad, sizeof(pad));
}

void
ca_buf_close(struct ca_buf *b)
{
	size_t at, body, clen, hl;
	uint8_t *h;

	if (b->err || b->depth <= 0) {
		b->err = 1;
		return;
	}
	at = b->open[--b->depth];
	body = at + 4;
	clen = b->len - body;
	if (clen > 0xffff) {
		b->err = 1;
		return;
	}
	hl = clen < 0x80 ? 1 : clen < 0x100 ? 2 : 3;
	h = b->p + at + 1;
	if (hl == 1)
		h[0] = (uint8_t)clen;
	else {
		h[0] = (uint8_t)(0x80 | (hl - 1));
		if (hl == 3)
			h[1] = (uint8_t)(clen >> 8);
		h[hl - 1] = (uint8_t)clen;
	}
	memmove(b->p + at + 1 + hl, b->p + body, clen);
	b->len = at + 1 + hl + clen;
}

void
ca_buf_tlv(struct ca_buf *b, unsigned tag, const void *data, size_t len)
{
	ca_buf_open(b, tag);
	ca_buf_put(b, data, len);
	ca_buf_close(b);
}

void
ca_buf_oid(struct ca_buf *b, const uint8_t *oid, size_t len)
{
	ca_buf_tlv(b, CA_T_OID, oid, len);
}
