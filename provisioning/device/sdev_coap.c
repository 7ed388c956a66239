/*
 * A minimal CoAP (RFC 7252) message codec with block-wise options
 * (RFC 7959): pure functions, no allocation, used by the EST-coaps client.
 */
#include <string.h>

#include "sdev_local.h"

/* Reads an option delta or length nibble with its extension bytes. */
static int
opt_ext(unsigned nib, const uint8_t **p, const uint8_t *end, uint32_t *v)
{
	if (nib < 13) {
		*v = nib;
		return SDEV_OK;
	}
	if (nib == 13) {
		if (end - *p < 1)
			return SDEV_E_PROTO;
		*v = 13 + (uint32_t)(*p)[0];
		*p += 1;
		return SDEV_OK;
	}
	if (nib == 14) {
		if (end - *p < 2)
			return SDEV_E_PROTO;
		*v = 269 + ((uint32_t)(*p)[0] << 8 | (*p)[1]);
		*p += 2;
		return SDEV_OK;
	}
	/* RFC 7252 3.1: 15 is reserved except as the payload marker. */
	return SDEV_E_PROTO;
}

static int
decode_options(const uint8_t *p, const uint8_t *end, struct sdev_coap_msg *m)
{
	uint32_t num = 0, delta, olen;
	unsigned dn, ln;
	int rc;

	while (p < end) {
		if (*p == 0xff) {
			p++;
			/* RFC 7252 3: a marker followed by nothing is an error. */
			if (p == end)
				return SDEV_E_PROTO;
			m->payload = p;
			m->plen = (size_t)(end - p);
			return SDEV_OK;
		}
		dn = *p >> 4;
		ln = *p & 0x0f;
		p++;
		if ((rc = opt_ext(dn, &p, end, &delta)) != SDEV_OK ||
		    (rc = opt_ext(ln, &p, end, &olen)) != SDEV_OK)
			return rc;
		num += delta;
		if (num > 0xffff || olen > (size_t)(end - p))
			return SDEV_E_PROTO;
		if (m->nopt == SDEV_COAP_MAX_OPTS)
			return SDEV_E_TOOBIG;
		m->opt[m->nopt].num = (uint16_t)num;
		m->opt[m->nopt].len = (uint16_t)olen;
		m->opt[m->nopt].val = p;
		m->nopt++;
		p += olen;
	}
	return SDEV_OK;
}

int
sdev_coap_decode(const uint8_t *buf, size_t len, struct sdev_coap_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (len < 4 || (buf[0] >> 6) != 1)
		return SDEV_E_PROTO;
	m->type = (buf[0] >> 4) & 0x03;
	m->tkl = buf[0] & 0x0f;
	m->code = buf[1];
	m->mid = (uint16_t)(buf[2] << 8 | buf[3]);
	/* RFC 7252 3: token lengths 9 to 15 are a message format error. */
	if (m->tkl > SDEV_COAP_MAX_TOKEN || len - 4 < m->tkl)
		return SDEV_E_PROTO;
	/* RFC 7252 4.1: an empty message has nothing after the header. */
	if (m->code == 0 && (len != 4 || m->tkl != 0))
		return SDEV_E_PROTO;
	memcpy(m->token, buf + 4, m->tkl);
	return decode_options(buf + 4 + m->tkl, buf + len, m);
}

/* Writes a nibble's extension; returns the nibble. */
static unsigned
put_ext(uint32_t v, uint8_t *ext, size_t *extlen)
{
	if (v < 13) {
		*extlen = 0;
		return v;
	}
	if (v < 269) {
		ext[0] = (uint8_t)(v - 13);
		*extlen = 1;
		return 13;
	}
	ext[0] = (uint8_t)((v - 269) >> 8);
	ext[1] = (uint8_t)(v - 269);
	*extlen = 2;
	return 14;
}

int
sdev_coap_encode(const struct sdev_coap_msg *m, uint8_t *out, size_t size,
    size_t *outlen)
{
	uint8_t dext[2], lext[2];
	size_t o, i, dl, ll;
	unsigned dn, ln;
	uint32_t prev = 0;

	*outlen = 0;
	if (m->tkl > SDEV_COAP_MAX_TOKEN || m->type > 3 ||
	    m->nopt > SDEV_COAP_MAX_OPTS)
		return SDEV_E_ARG;
	if (size < 4 + (size_t)m->tkl)
		return SDEV_E_TOOBIG;
	out[0] = (uint8_t)(0x40 | m->type << 4 | m->tkl);
	out[1] = m->code;
	out[2] = (uint8_t)(m->mid >> 8);
	out[3] = (uint8_t)m->mid;
	memcpy(out + 4, m->token, m->tkl);
	o = 4 + m->tkl;
	for (i = 0; i < m->nopt; i++) {
		if (m->opt[i].num < prev)
			return SDEV_E_ARG;
		dn = put_ext(m->opt[i].num - prev, dext, &dl);
		ln = put_ext(m->opt[i].len, lext, &ll);
		if (size - o < 1 + dl + ll + (size_t)m->opt[i].len)
			return SDEV_E_TOOBIG;
		out[o++] = (uint8_t)(dn << 4 | ln);
		memcpy(out + o, dext, dl);
		o += dl;
		memcpy(out + o, lext, ll);
		o += ll;
		if (m->opt[i].len > 0)
			memcpy(out + o, m->opt[i].val, m->opt[i].len);
		o += m->opt[i].len;
		prev = m->opt[i].num;
	}
	if (m->plen > 0) {
		if (size - o < 1 + m->plen)
			return SDEV_E_TOOBIG;
		out[o++] = 0xff;
		memcpy(out + o, m->payload, m->plen);
		o += m->plen;
	}
	*outlen = o;
	return SDEV_OK;
}

int
sdev_coap_add_opt(struct sdev_coap_msg *m, uint16_t num, const void *val,
    size_t len)
{
	size_t i;

	if (m->nopt == SDEV_COAP_MAX_OPTS || len > 1034)
		return SDEV_E_TOOBIG;
	/* Insert after every option of a number <= num, so repeats keep order. */
	for (i = m->nopt; i > 0 && m->opt[i - 1].num > num; i--)
		m->opt[i] = m->opt[i - 1];
	m->opt[i].num = num;
	m->opt[i].len = (uint16_t)len;
	m->opt[i].val = val;
	m->nopt++;
	return SDEV_OK;
}

int
sdev_coap_add_uint(struct sdev_coap_msg *m, uint16_t num, uint32_t v)
{
	uint8_t *b;
	size_t n = 0, i;

	if (m->nubuf == SDEV_COAP_MAX_OPTS)
		return SDEV_E_TOOBIG;
	b = m->ubuf[m->nubuf];
	/* RFC 7252 3.2: uint values carry no leading zero bytes. */
	for (i = 0; i < 4; i++) {
		uint8_t byte = (uint8_t)(v >> (8 * (3 - i)));

		if (n == 0 && byte == 0)
			continue;
		b[n++] = byte;
	}
	m->nubuf++;
	return sdev_coap_add_opt(m, num, b, n);
}

int
sdev_coap_get_uint(const struct sdev_coap_msg *m, uint16_t num, uint32_t *v)
{
	size_t i, j;

	for (i = 0; i < m->nopt; i++) {
		if (m->opt[i].num != num)
			continue;
		if (m->opt[i].len > 4)
			return SDEV_E_PROTO;
		*v = 0;
		for (j = 0; j < m->opt[i].len; j++)
			*v = *v << 8 | m->opt[i].val[j];
		return SDEV_OK;
	}
	return SDEV_E_NOTFOUND;
}

int
sdev_coap_block_parse(uint32_t v, struct sdev_block *b)
{
	/* RFC 7959 2.2: at most three bytes; SZX 7 is reserved. */
	if (v > 0xffffff || (v & 0x07) == 7)
		return SDEV_E_PROTO;
	b->num = v >> 4;
	b->more = (v & 0x08) != 0;
	b->szx = v & 0x07;
	return SDEV_OK;
}

uint32_t
sdev_coap_block_value(const struct sdev_block *b)
{
	return b->num << 4 | (b->more ? 0x08u : 0) | (b->szx & 0x07);
}
