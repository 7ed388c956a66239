/*
 * The children signetd marked failed (issue 18): the list travels from
 * signetd to the engine as a control datagram and from the engine to the
 * front ends at the end of the HEALTH reply, in the same encoding.
 */
#include <string.h>

#include "proto_local.h"

static int
failed_ok(const struct proto_failed *f)
{
	return f->child[0] != '\0';
}

int
proto_failed_get(struct proto_cur *c, struct proto_failed *f, uint8_t *n)
{
	uint8_t i;

	*n = 0;
	if (proto_get_u8(c, n) == PROTO_OK && *n > PROTO_MAX_FAILED) {
		*n = 0;
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	}
	for (i = 0; c->err == PROTO_OK && i < *n; i++) {
		proto_get_strbuf(c, f[i].child, sizeof(f[i].child));
		if (proto_get_strbuf(c, f[i].error, sizeof(f[i].error)) ==
		    PROTO_OK && !failed_ok(&f[i]))
			proto_cur_fail(c, PROTO_ERR_VALUE);
	}
	if (c->err != PROTO_OK)
		*n = 0;
	return c->err;
}

int
proto_failed_put(struct proto_wbuf *w, const struct proto_failed *f,
    size_t n)
{
	size_t i;

	if (w->err == PROTO_OK && n > PROTO_MAX_FAILED)
		w->err = PROTO_ERR_VALUE;
	proto_put_u8(w, (uint8_t)n);
	for (i = 0; w->err == PROTO_OK && i < n; i++) {
		if (!failed_ok(&f[i]))
			w->err = PROTO_ERR_VALUE;
		proto_put_cstr(w, PROTO_MAX_CHILD, f[i].child);
		proto_put_cstr(w, PROTO_MAX_STR, f[i].error);
	}
	return w->err;
}

int
proto_ctl_failed_encode(const struct proto_failed *f, size_t n,
    uint8_t *buf, size_t size, size_t *len)
{
	struct proto_wbuf w;

	*len = 0;
	proto_wbuf_init(&w, buf, size);
	proto_put_u8(&w, PROTO_CTL_FAILED);
	if (proto_failed_put(&w, f, n) == PROTO_OK)
		*len = w.len;
	return w.err;
}

int
proto_ctl_failed_decode(const uint8_t *buf, size_t len,
    struct proto_failed *f, uint8_t *n)
{
	struct proto_cur c;
	uint8_t kind;

	*n = 0;
	proto_cur_init(&c, buf, len);
	if (proto_get_u8(&c, &kind) == PROTO_OK && kind != PROTO_CTL_FAILED)
		return PROTO_ERR_TYPE;
	proto_failed_get(&c, f, n);
	if (proto_end(&c) != PROTO_OK)
		*n = 0;
	return c.err;
}
