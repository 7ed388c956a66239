/*
 * Bounded reader and writer for engine message fields.  Every field of
 * every message goes through these few functions, so bounds are checked in
 * one place.
 */
#include <string.h>

#include "signet/proto.h"

void
proto_cur_init(struct proto_cur *c, const uint8_t *buf, size_t len)
{
	c->buf = buf;
	c->len = buf == NULL ? 0 : len;
	c->off = 0;
	c->err = PROTO_OK;
}

int
proto_cur_fail(struct proto_cur *c, int err)
{
	if (c->err == PROTO_OK)
		c->err = err;
	return c->err;
}

/* Hand out n bytes or fail; after a failure nothing more is handed out. */
static const uint8_t *
cur_take(struct proto_cur *c, size_t n)
{
	const uint8_t *p;

	if (c->err != PROTO_OK)
		return NULL;
	if (n > c->len - c->off) {
		proto_cur_fail(c, PROTO_ERR_SHORT);
		return NULL;
	}
	p = c->buf + c->off;
	c->off += n;
	return p;
}

int
proto_get_u8(struct proto_cur *c, uint8_t *v)
{
	const uint8_t *p;

	*v = 0;
	if ((p = cur_take(c, 1)) != NULL)
		*v = p[0];
	return c->err;
}

int
proto_get_u16(struct proto_cur *c, uint16_t *v)
{
	const uint8_t *p;

	*v = 0;
	if ((p = cur_take(c, 2)) != NULL)
		*v = (uint16_t)(p[0] << 8 | p[1]);
	return c->err;
}

int
proto_get_u32(struct proto_cur *c, uint32_t *v)
{
	const uint8_t *p;

	*v = 0;
	if ((p = cur_take(c, 4)) != NULL)
		*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
	return c->err;
}

int
proto_get_u64(struct proto_cur *c, uint64_t *v)
{
	uint32_t hi, lo;

	proto_get_u32(c, &hi);
	proto_get_u32(c, &lo);
	*v = c->err == PROTO_OK ? (uint64_t)hi << 32 | lo : 0;
	return c->err;
}

int
proto_get_str(struct proto_cur *c, size_t max, const char **ptr, size_t *len)
{
	const uint8_t *p = NULL;
	uint16_t n;

	*ptr = NULL;
	*len = 0;
	if (proto_get_u16(c, &n) != PROTO_OK)
		goto out;
	/* Check the bound before touching the bytes it covers. */
	if (n > max) {
		proto_cur_fail(c, PROTO_ERR_TOOLONG);
		goto out;
	}
	if ((p = cur_take(c, n)) == NULL)
		goto out;
	/* An embedded NUL would make C string handling see another name. */
	if (n > 0 && memchr(p, '\0', n) != NULL) {
		proto_cur_fail(c, PROTO_ERR_NUL);
		goto out;
	}
	*ptr = (const char *)p;
	*len = n;
out:
	return c->err;
}

int
proto_get_strbuf(struct proto_cur *c, char *dst, size_t dstsize)
{
	const char *p;
	size_t n;

	if (dstsize == 0)
		return proto_cur_fail(c, PROTO_ERR_ARG);
	dst[0] = '\0';
	if (proto_get_str(c, dstsize - 1, &p, &n) != PROTO_OK)
		return c->err;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return c->err;
}

int
proto_get_data(struct proto_cur *c, size_t max, const uint8_t **ptr,
    size_t *len)
{
	const uint8_t *p;
	uint32_t n;

	*ptr = NULL;
	*len = 0;
	if (proto_get_u32(c, &n) != PROTO_OK)
		return c->err;
	if (n > max)
		return proto_cur_fail(c, PROTO_ERR_TOOLONG);
	if ((p = cur_take(c, n)) == NULL)
		return c->err;
	*ptr = p;
	*len = n;
	return c->err;
}

int
proto_end(struct proto_cur *c)
{
	if (c->err == PROTO_OK && c->off != c->len)
		proto_cur_fail(c, PROTO_ERR_TRAILING);
	return c->err;
}

void
proto_wbuf_init(struct proto_wbuf *w, uint8_t *buf, size_t size)
{
	w->buf = buf;
	w->size = buf == NULL ? 0 : size;
	w->len = 0;
	w->err = PROTO_OK;
}

/* Reserve n bytes for the caller to fill, or fail with PROTO_ERR_SPACE. */
static uint8_t *
wbuf_reserve(struct proto_wbuf *w, size_t n)
{
	uint8_t *p;

	if (w->err != PROTO_OK)
		return NULL;
	if (n > w->size - w->len) {
		w->err = PROTO_ERR_SPACE;
		return NULL;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

int
proto_put_u8(struct proto_wbuf *w, uint8_t v)
{
	uint8_t *p;

	if ((p = wbuf_reserve(w, 1)) != NULL)
		p[0] = v;
	return w->err;
}

int
proto_put_u16(struct proto_wbuf *w, uint16_t v)
{
	uint8_t *p;

	if ((p = wbuf_reserve(w, 2)) != NULL) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
	return w->err;
}

int
proto_put_u32(struct proto_wbuf *w, uint32_t v)
{
	uint8_t *p;

	if ((p = wbuf_reserve(w, 4)) != NULL) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
	return w->err;
}

int
proto_put_u64(struct proto_wbuf *w, uint64_t v)
{
	proto_put_u32(w, (uint32_t)(v >> 32));
	return proto_put_u32(w, (uint32_t)v);
}

int
proto_put_str(struct proto_wbuf *w, size_t max, const char *s, size_t len)
{
	uint8_t *p;

	if (w->err != PROTO_OK)
		return w->err;
	/* Refuse here what the decoder would refuse, so errors stay local. */
	if (len > max || len > UINT16_MAX) {
		w->err = PROTO_ERR_TOOLONG;
		return w->err;
	}
	if (len > 0 && (s == NULL || memchr(s, '\0', len) != NULL)) {
		w->err = s == NULL ? PROTO_ERR_ARG : PROTO_ERR_NUL;
		return w->err;
	}
	proto_put_u16(w, (uint16_t)len);
	if (len > 0 && (p = wbuf_reserve(w, len)) != NULL)
		memcpy(p, s, len);
	return w->err;
}

int
proto_put_cstr(struct proto_wbuf *w, size_t max, const char *s)
{
	if (s == NULL)
		return proto_put_str(w, max, "", 0);
	/* strnlen: a missing terminator reads at most max + 1 bytes. */
	return proto_put_str(w, max, s, strnlen(s, max + 1));
}

int
proto_put_data(struct proto_wbuf *w, size_t max, const void *v, size_t len)
{
	uint8_t *p;

	if (w->err != PROTO_OK)
		return w->err;
	if (len > max || len > UINT32_MAX) {
		w->err = PROTO_ERR_TOOLONG;
		return w->err;
	}
	if (len > 0 && v == NULL) {
		w->err = PROTO_ERR_ARG;
		return w->err;
	}
	proto_put_u32(w, (uint32_t)len);
	if (len > 0 && (p = wbuf_reserve(w, len)) != NULL)
		memcpy(p, v, len);
	return w->err;
}
