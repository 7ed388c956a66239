/*
 * AUDIT_QUERY (issue 19): an auditor's filters and the records that
 * match, one page per message (proto.h).
 */
#include <string.h>

#include "proto_local.h"

int
proto_auditq_get(struct proto_cur *c, struct proto_request *r)
{
	struct proto_audit_req *m = &r->u.audit;

	proto_get_u64(c, &m->since);
	proto_get_u64(c, &m->until);
	proto_get_strbuf(c, m->tenant, sizeof(m->tenant));
	proto_get_strbuf(c, m->action, sizeof(m->action));
	proto_get_strbuf(c, m->actor, sizeof(m->actor));
	proto_get_strbuf(c, m->node, sizeof(m->node));
	proto_get_u64(c, &m->after);
	if (proto_get_u16(c, &m->limit) == PROTO_OK && (m->limit == 0 ||
	    m->limit > PROTO_MAX_AUDIT_LIMIT))
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	return c->err;
}

int
proto_auditq_put(struct proto_wbuf *w, const struct proto_request *r)
{
	const struct proto_audit_req *m = &r->u.audit;

	if (w->err == PROTO_OK && (m->limit == 0 ||
	    m->limit > PROTO_MAX_AUDIT_LIMIT))
		w->err = PROTO_ERR_VALUE;
	proto_put_u64(w, m->since);
	proto_put_u64(w, m->until);
	proto_put_cstr(w, PROTO_MAX_STR, m->tenant);
	proto_put_cstr(w, PROTO_MAX_STR, m->action);
	proto_put_cstr(w, PROTO_MAX_AUTHBY, m->actor);
	proto_put_cstr(w, PROTO_MAX_AUDIT_NODE, m->node);
	proto_put_u64(w, m->after);
	return proto_put_u16(w, m->limit);
}

/* A text field: no NUL inside, at most max bytes, into the buffer. */
static int
text_get(struct proto_cur *c, size_t max, struct proto_blob *b)
{
	const char *p = NULL;
	size_t len = 0;

	proto_get_str(c, max, &p, &len);
	b->ptr = (const uint8_t *)p;
	b->len = c->err == PROTO_OK ? len : 0;
	return c->err;
}

static int
text_put(struct proto_wbuf *w, size_t max, const struct proto_blob *b)
{
	return proto_put_str(w, max, (const char *)b->ptr, b->len);
}

static int
rec_get(struct proto_cur *c, struct proto_audit_rec *a)
{
	const uint8_t *h = NULL;
	size_t len = 0;

	proto_get_u64(c, &a->seq);
	proto_get_u64(c, &a->time);
	text_get(c, PROTO_MAX_AUDIT_NODE, &a->node);
	text_get(c, PROTO_MAX_AUDIT_FIELD, &a->actor);
	text_get(c, PROTO_MAX_AUDIT_FIELD, &a->role);
	text_get(c, PROTO_MAX_AUDIT_FIELD, &a->tenant);
	text_get(c, PROTO_MAX_AUDIT_FIELD, &a->action);
	text_get(c, PROTO_MAX_AUDIT_FIELD, &a->object);
	text_get(c, PROTO_MAX_AUDIT_FIELD, &a->result);
	text_get(c, PROTO_MAX_AUDIT_FIELD, &a->detail);
	if (proto_get_data(c, PROTO_AUDIT_HASH_LEN, &h, &len) != PROTO_OK)
		return c->err;
	if (len != PROTO_AUDIT_HASH_LEN)
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	memcpy(a->hash, h, len);
	return PROTO_OK;
}

int
proto_auditq_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	struct proto_audit_rep *m = &r->u.audit;
	uint16_t i;

	proto_get_u64(c, &m->next);
	if (proto_get_u8(c, &m->more) == PROTO_OK && m->more > 1)
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	if (proto_get_u16(c, &m->n) == PROTO_OK &&
	    m->n > PROTO_MAX_AUDIT_ROWS)
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; c->err == PROTO_OK && i < m->n; i++)
		rec_get(c, &m->recs[i]);
	return c->err;
}

int
proto_auditq_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	const struct proto_audit_rep *m = &r->u.audit;
	const struct proto_audit_rec *a;
	uint16_t i;

	if (w->err == PROTO_OK && (m->n > PROTO_MAX_AUDIT_ROWS ||
	    m->more > 1))
		w->err = PROTO_ERR_VALUE;
	proto_put_u64(w, m->next);
	proto_put_u8(w, m->more);
	proto_put_u16(w, m->n);
	for (i = 0; w->err == PROTO_OK && i < m->n; i++) {
		a = &m->recs[i];
		proto_put_u64(w, a->seq);
		proto_put_u64(w, a->time);
		text_put(w, PROTO_MAX_AUDIT_NODE, &a->node);
		text_put(w, PROTO_MAX_AUDIT_FIELD, &a->actor);
		text_put(w, PROTO_MAX_AUDIT_FIELD, &a->role);
		text_put(w, PROTO_MAX_AUDIT_FIELD, &a->tenant);
		text_put(w, PROTO_MAX_AUDIT_FIELD, &a->action);
		text_put(w, PROTO_MAX_AUDIT_FIELD, &a->object);
		text_put(w, PROTO_MAX_AUDIT_FIELD, &a->result);
		text_put(w, PROTO_MAX_AUDIT_FIELD, &a->detail);
		proto_put_data(w, PROTO_AUDIT_HASH_LEN, a->hash,
		    PROTO_AUDIT_HASH_LEN);
	}
	return w->err;
}

/*
 * The encoded size of one record, for an engine that fills a reply up
 * to what one datagram holds.
 */
size_t
proto_audit_rec_size(const struct proto_audit_rec *a)
{
	return 8 + 8 + 8 * 2 + a->node.len + a->actor.len + a->role.len +
	    a->tenant.len + a->action.len + a->object.len + a->result.len +
	    a->detail.len + 4 + PROTO_AUDIT_HASH_LEN;
}
