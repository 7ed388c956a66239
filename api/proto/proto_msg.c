/*
 * Message header, field groups shared by several messages, and the request
 * codecs.  Each request type has one encoder and one decoder, side by side,
 * so the two cannot drift apart unnoticed.
 */
#include <string.h>

#include "proto_local.h"

int
proto_hdr_parse(const uint8_t *msg, size_t len, struct proto_hdr *h,
    const uint8_t **body)
{
	struct proto_cur c;

	memset(h, 0, sizeof(*h));
	*body = NULL;
	if (len > PROTO_MAX_MSG)
		return PROTO_ERR_TOOLONG;
	proto_cur_init(&c, msg, len);
	proto_get_u16(&c, &h->version);
	proto_get_u16(&c, &h->type);
	proto_get_u32(&c, &h->id);
	if (proto_get_u32(&c, &h->len) != PROTO_OK)
		return c.err;
	if (h->version != PROTO_MAGIC_VERSION)
		return PROTO_ERR_VERSION;
	/* The datagram boundary is the truth; the header must agree with it. */
	if (h->len != len - PROTO_HDR_LEN)
		return PROTO_ERR_LENGTH;
	*body = msg + PROTO_HDR_LEN;
	return PROTO_OK;
}

int
proto_hdr_write(uint8_t out[PROTO_HDR_LEN], uint16_t type, uint32_t id,
    size_t bodylen)
{
	struct proto_wbuf w;

	if (bodylen > PROTO_MAX_BODY)
		return PROTO_ERR_TOOLONG;
	proto_wbuf_init(&w, out, PROTO_HDR_LEN);
	proto_put_u16(&w, PROTO_MAGIC_VERSION);
	proto_put_u16(&w, type);
	proto_put_u32(&w, id);
	return proto_put_u32(&w, (uint32_t)bodylen);
}

int
proto_blob_get(struct proto_cur *c, size_t max, struct proto_blob *b)
{
	return proto_get_data(c, max, &b->ptr, &b->len);
}

int
proto_blob_put(struct proto_wbuf *w, size_t max, const struct proto_blob *b)
{
	return proto_put_data(w, max, b->ptr, b->len);
}

int
proto_serial_get(struct proto_cur *c, struct proto_blob *b)
{
	if (proto_blob_get(c, PROTO_MAX_SERIAL, b) == PROTO_OK && b->len == 0)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	return c->err;
}

int
proto_serial_put(struct proto_wbuf *w, const struct proto_blob *b)
{
	if (w->err == PROTO_OK && b->len == 0)
		w->err = PROTO_ERR_VALUE;
	return proto_blob_put(w, PROTO_MAX_SERIAL, b);
}

int
proto_chain_get(struct proto_cur *c, struct proto_chain *ch, unsigned min)
{
	size_t total = 0;
	unsigned i;

	if (proto_get_u8(c, &ch->ncerts) != PROTO_OK)
		return c->err;
	if (ch->ncerts < min || ch->ncerts > PROTO_MAX_CHAIN_CERTS)
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; i < ch->ncerts; i++) {
		if (proto_blob_get(c, PROTO_MAX_CERT, &ch->certs[i]) !=
		    PROTO_OK)
			break;
		if (ch->certs[i].len == 0)
			return proto_cur_fail(c, PROTO_ERR_VALUE);
		total += ch->certs[i].len;
	}
	if (total > PROTO_MAX_CHAIN)
		proto_cur_fail(c, PROTO_ERR_TOOLONG);
	return c->err;
}

int
proto_chain_put(struct proto_wbuf *w, const struct proto_chain *ch,
    unsigned min)
{
	size_t total = 0;
	unsigned i;

	if (w->err != PROTO_OK)
		return w->err;
	if (ch->ncerts < min || ch->ncerts > PROTO_MAX_CHAIN_CERTS) {
		w->err = PROTO_ERR_VALUE;
		return w->err;
	}
	for (i = 0; i < ch->ncerts; i++)
		total += ch->certs[i].len;
	if (total > PROTO_MAX_CHAIN) {
		w->err = PROTO_ERR_TOOLONG;
		return w->err;
	}
	proto_put_u8(w, ch->ncerts);
	for (i = 0; i < ch->ncerts; i++) {
		if (w->err == PROTO_OK && ch->certs[i].len == 0)
			w->err = PROTO_ERR_VALUE;
		proto_blob_put(w, PROTO_MAX_CERT, &ch->certs[i]);
	}
	return w->err;
}

int
proto_psk_handle_get(struct proto_cur *c, uint8_t out[PROTO_PSK_HANDLE_LEN])
{
	const uint8_t *p;
	size_t len;

	if (proto_get_data(c, PROTO_PSK_HANDLE_LEN, &p, &len) != PROTO_OK)
		return c->err;
	if (len != PROTO_PSK_HANDLE_LEN)
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	memcpy(out, p, len);
	return PROTO_OK;
}

/* The client's address: none, IPv4 or IPv6, nothing else. */
static int
src_get(struct proto_cur *c, struct proto_evidence *ev)
{
	const uint8_t *p;
	size_t len;

	if (proto_get_data(c, PROTO_MAX_SRC, &p, &len) != PROTO_OK)
		return c->err;
	if (len != 0 && len != 4 && len != 16)
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	memcpy(ev->src, p, len);
	ev->src_len = (uint8_t)len;
	return PROTO_OK;
}

static int
evidence_get(struct proto_cur *c, struct proto_evidence *ev)
{
	proto_get_u8(c, &ev->peer);
	if (proto_get_u8(c, &ev->kind) != PROTO_OK)
		return c->err;
	if (ev->peer < PROTO_PEER_HTTPS || ev->peer > PROTO_PEER_LAST)
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	if (src_get(c, ev) != PROTO_OK)
		return c->err;
	switch (ev->kind) {
	case PROTO_EV_NONE:
		break;
	case PROTO_EV_CERTS:
		proto_chain_get(c, &ev->chain, 1);
		break;
	case PROTO_EV_TOKEN:
		if (proto_get_u8(c, &ev->token_src) != PROTO_OK)
			break;
		if (ev->token_src != PROTO_TOKSRC_HTTP_AUTH &&
		    ev->token_src != PROTO_TOKSRC_PSK_ID)
			return proto_cur_fail(c, PROTO_ERR_VALUE);
		proto_get_strbuf(c, ev->token, sizeof(ev->token));
		if (ev->token_src == PROTO_TOKSRC_PSK_ID)
			proto_psk_handle_get(c, ev->psk_handle);
		break;
	default:
		proto_cur_fail(c, PROTO_ERR_VALUE);
		break;
	}
	return c->err;
}

static int
evidence_put(struct proto_wbuf *w, const struct proto_evidence *ev)
{
	proto_put_u8(w, ev->peer);
	proto_put_u8(w, ev->kind);
	if (w->err == PROTO_OK && (ev->peer < PROTO_PEER_HTTPS ||
	    ev->peer > PROTO_PEER_LAST || (ev->src_len != 0 &&
	    ev->src_len != 4 && ev->src_len != 16)))
		w->err = PROTO_ERR_VALUE;
	proto_put_data(w, PROTO_MAX_SRC, ev->src, ev->src_len);
	switch (ev->kind) {
	case PROTO_EV_NONE:
		break;
	case PROTO_EV_CERTS:
		proto_chain_put(w, &ev->chain, 1);
		break;
	case PROTO_EV_TOKEN:
		if (w->err == PROTO_OK &&
		    ev->token_src != PROTO_TOKSRC_HTTP_AUTH &&
		    ev->token_src != PROTO_TOKSRC_PSK_ID)
			w->err = PROTO_ERR_VALUE;
		proto_put_u8(w, ev->token_src);
		proto_put_cstr(w, PROTO_MAX_TOKEN, ev->token);
		if (ev->token_src == PROTO_TOKSRC_PSK_ID)
			proto_put_data(w, PROTO_PSK_HANDLE_LEN, ev->psk_handle,
			    PROTO_PSK_HANDLE_LEN);
		break;
	default:
		if (w->err == PROTO_OK)
			w->err = PROTO_ERR_VALUE;
		break;
	}
	return w->err;
}

/* An EST label replaces tenant and profile; only EST has one. */
static int
issue_via_ok(const struct proto_issue_req *m)
{
	if (m->via == PROTO_VIA_EST)
		return m->tenant[0] == '\0' && m->profile[0] == '\0';
	return m->via == PROTO_VIA_NAMED && m->label[0] == '\0';
}

/* ISSUE and REISSUE share a layout; REISSUE appends the current cert. */
static int
issue_get(struct proto_cur *c, struct proto_request *r)
{
	struct proto_issue_req *m = &r->u.issue;

	proto_get_strbuf(c, m->tenant, sizeof(m->tenant));
	proto_get_strbuf(c, m->profile, sizeof(m->profile));
	proto_get_u8(c, &m->via);
	proto_get_strbuf(c, m->label, sizeof(m->label));
	if (c->err == PROTO_OK && !issue_via_ok(m))
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	proto_blob_get(c, PROTO_MAX_CSR, &m->csr);
	proto_get_u32(c, &m->ttl);
	if (r->type == PROTO_T_REISSUE)
		proto_blob_get(c, PROTO_MAX_CERT, &m->cur_cert);
	return c->err;
}

static int
issue_put(struct proto_wbuf *w, const struct proto_request *r)
{
	const struct proto_issue_req *m = &r->u.issue;

	if (!issue_via_ok(m) && w->err == PROTO_OK)
		w->err = PROTO_ERR_VALUE;
	proto_put_cstr(w, PROTO_MAX_STR, m->tenant);
	proto_put_cstr(w, PROTO_MAX_STR, m->profile);
	proto_put_u8(w, m->via);
	proto_put_cstr(w, PROTO_MAX_STR, m->label);
	proto_blob_put(w, PROTO_MAX_CSR, &m->csr);
	proto_put_u32(w, m->ttl);
	if (r->type == PROTO_T_REISSUE)
		proto_blob_put(w, PROTO_MAX_CERT, &m->cur_cert);
	return w->err;
}

static int
target_get(struct proto_cur *c, struct proto_request *r)
{
	proto_get_strbuf(c, r->u.target.tenant, sizeof(r->u.target.tenant));
	return proto_get_strbuf(c, r->u.target.profile,
	    sizeof(r->u.target.profile));
}

static int
target_put(struct proto_wbuf *w, const struct proto_request *r)
{
	proto_put_cstr(w, PROTO_MAX_STR, r->u.target.tenant);
	return proto_put_cstr(w, PROTO_MAX_STR, r->u.target.profile);
}

/* RFC 5280 5.3.1: CRLReason 0..10, and 7 is not assigned. */
static int
reason_ok(uint8_t reason)
{
	return reason <= PROTO_REASON_MAX && reason != 7;
}

static int
revoke_get(struct proto_cur *c, struct proto_request *r)
{
	struct proto_revoke_req *m = &r->u.revoke;

	proto_get_strbuf(c, m->tenant, sizeof(m->tenant));
	proto_serial_get(c, &m->serial);
	if (proto_get_u8(c, &m->reason) == PROTO_OK && !reason_ok(m->reason))
		proto_cur_fail(c, PROTO_ERR_VALUE);
	return c->err;
}

static int
revoke_put(struct proto_wbuf *w, const struct proto_request *r)
{
	const struct proto_revoke_req *m = &r->u.revoke;

	proto_put_cstr(w, PROTO_MAX_STR, m->tenant);
	proto_serial_put(w, &m->serial);
	if (w->err == PROTO_OK && !reason_ok(m->reason))
		w->err = PROTO_ERR_VALUE;
	return proto_put_u8(w, m->reason);
}

static int
get_cert_get(struct proto_cur *c, struct proto_request *r)
{
	proto_get_strbuf(c, r->u.get.tenant, sizeof(r->u.get.tenant));
	return proto_serial_get(c, &r->u.get.serial);
}

static int
get_cert_put(struct proto_wbuf *w, const struct proto_request *r)
{
	proto_put_cstr(w, PROTO_MAX_STR, r->u.get.tenant);
	return proto_serial_put(w, &r->u.get.serial);
}

static int
list_ok(const struct proto_list_req *m)
{
	return m->status <= PROTO_CS_EXPIRED && m->limit >= 1 &&
	    m->limit <= PROTO_MAX_LIST;
}

static int
list_get(struct proto_cur *c, struct proto_request *r)
{
	struct proto_list_req *m = &r->u.list;

	proto_get_strbuf(c, m->tenant, sizeof(m->tenant));
	proto_get_u8(c, &m->status);
	proto_get_u32(c, &m->expiring_within);
	proto_get_strbuf(c, m->substring, sizeof(m->substring));
	proto_get_u16(c, &m->limit);
	proto_get_u32(c, &m->offset);
	if (proto_get_strbuf(c, m->authorized_by, sizeof(m->authorized_by)) ==
	    PROTO_OK && !list_ok(m))
		proto_cur_fail(c, PROTO_ERR_VALUE);
	return c->err;
}

static int
list_put(struct proto_wbuf *w, const struct proto_request *r)
{
	const struct proto_list_req *m = &r->u.list;

	if (w->err == PROTO_OK && !list_ok(m))
		w->err = PROTO_ERR_VALUE;
	proto_put_cstr(w, PROTO_MAX_STR, m->tenant);
	proto_put_u8(w, m->status);
	proto_put_u32(w, m->expiring_within);
	proto_put_cstr(w, PROTO_MAX_STR, m->substring);
	proto_put_u16(w, m->limit);
	proto_put_u32(w, m->offset);
	return proto_put_cstr(w, PROTO_MAX_AUTHBY, m->authorized_by);
}

static int
token_get(struct proto_cur *c, struct proto_request *r)
{
	struct proto_token_req *m = &r->u.token;
	unsigned i;

	proto_get_strbuf(c, m->tenant, sizeof(m->tenant));
	proto_get_strbuf(c, m->profile, sizeof(m->profile));
	if (proto_get_u8(c, &m->nnames) != PROTO_OK)
		return c->err;
	if (m->nnames > PROTO_MAX_NAMES)
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; i < m->nnames; i++)
		proto_get_strbuf(c, m->names[i], sizeof(m->names[i]));
	proto_get_u32(c, &m->lifetime);
	/* A token nobody can use is a caller bug, not a policy question. */
	if (proto_get_u16(c, &m->uses) == PROTO_OK && m->uses == 0)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	return c->err;
}

static int
token_put(struct proto_wbuf *w, const struct proto_request *r)
{
	const struct proto_token_req *m = &r->u.token;
	unsigned i;

	if (w->err == PROTO_OK && (m->nnames > PROTO_MAX_NAMES ||
	    m->uses == 0))
		w->err = PROTO_ERR_VALUE;
	proto_put_cstr(w, PROTO_MAX_STR, m->tenant);
	proto_put_cstr(w, PROTO_MAX_STR, m->profile);
	proto_put_u8(w, m->nnames);
	for (i = 0; i < m->nnames && i < PROTO_MAX_NAMES; i++)
		proto_put_cstr(w, PROTO_MAX_STR, m->names[i]);
	proto_put_u32(w, m->lifetime);
	return proto_put_u16(w, m->uses);
}

static int
health_get(struct proto_cur *c, struct proto_request *r)
{
	return c->err;
}

static int
health_put(struct proto_wbuf *w, const struct proto_request *r)
{
	return w->err;
}

static int
ocsp_get(struct proto_cur *c, struct proto_request *r)
{
	return proto_blob_get(c, PROTO_MAX_OCSP_REQ, &r->u.ocsp.der);
}

static int
ocsp_put(struct proto_wbuf *w, const struct proto_request *r)
{
	return proto_blob_put(w, PROTO_MAX_OCSP_REQ, &r->u.ocsp.der);
}

static int
crl_get(struct proto_cur *c, struct proto_request *r)
{
	proto_get_strbuf(c, r->u.crl.issuer, sizeof(r->u.crl.issuer));
	if (proto_get_u8(c, &r->u.crl.delta) == PROTO_OK &&
	    r->u.crl.delta > 1)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	return c->err;
}

static int
crl_put(struct proto_wbuf *w, const struct proto_request *r)
{
	if (w->err == PROTO_OK && r->u.crl.delta > 1)
		w->err = PROTO_ERR_VALUE;
	proto_put_cstr(w, PROTO_MAX_STR, r->u.crl.issuer);
	return proto_put_u8(w, r->u.crl.delta);
}

/* An empty identity can name no token; refuse it in the codec. */
static int
psk_get(struct proto_cur *c, struct proto_request *r)
{
	if (proto_get_strbuf(c, r->u.psk.identity,
	    sizeof(r->u.psk.identity)) == PROTO_OK &&
	    r->u.psk.identity[0] == '\0')
		proto_cur_fail(c, PROTO_ERR_VALUE);
	return c->err;
}

static int
psk_put(struct proto_wbuf *w, const struct proto_request *r)
{
	if (w->err == PROTO_OK && r->u.psk.identity[0] == '\0')
		w->err = PROTO_ERR_VALUE;
	return proto_put_cstr(w, PROTO_MAX_PSK_ID, r->u.psk.identity);
}

/* ACME and ACME_VA: an op of the type's own range, the raw body. */
static int
acme_op_ok(uint16_t type, uint8_t op)
{
	if (type == PROTO_T_ACME_VA)
		return op == PROTO_ACME_VA_NEXT || op == PROTO_ACME_VA_RESULT;
	return op >= PROTO_ACME_DIRECTORY && op < PROTO_ACME_OP_MAX &&
	    op != PROTO_ACME_VA_NEXT && op != PROTO_ACME_VA_RESULT;
}

static int
acme_get(struct proto_cur *c, struct proto_request *r)
{
	struct proto_acme_req *m = &r->u.acme;

	if (proto_get_u8(c, &m->op) == PROTO_OK && !acme_op_ok(r->type, m->op))
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	proto_get_strbuf(c, m->label, sizeof(m->label));
	proto_get_strbuf(c, m->id, sizeof(m->id));
	proto_get_strbuf(c, m->detail, sizeof(m->detail));
	return proto_blob_get(c, PROTO_MAX_ACME_BODY, &m->body);
}

static int
acme_put(struct proto_wbuf *w, const struct proto_request *r)
{
	const struct proto_acme_req *m = &r->u.acme;

	if (w->err == PROTO_OK && !acme_op_ok(r->type, m->op))
		w->err = PROTO_ERR_VALUE;
	proto_put_u8(w, m->op);
	proto_put_cstr(w, PROTO_MAX_STR, m->label);
	proto_put_cstr(w, PROTO_MAX_STR, m->id);
	proto_put_cstr(w, PROTO_MAX_STR, m->detail);
	return proto_blob_put(w, PROTO_MAX_ACME_BODY, &m->body);
}

/* Exactly the counters this version knows, in enum order. */
static int
cstats_get(struct proto_cur *c, struct proto_request *r)
{
	uint8_t n;
	size_t i;

	if (proto_get_u8(c, &n) == PROTO_OK && n != PROTO_CC_MAX)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; c->err == PROTO_OK && i < PROTO_CC_MAX; i++)
		proto_get_u64(c, &r->u.coap.counters[i]);
	return c->err;
}

static int
cstats_put(struct proto_wbuf *w, const struct proto_request *r)
{
	size_t i;

	proto_put_u8(w, PROTO_CC_MAX);
	for (i = 0; i < PROTO_CC_MAX; i++)
		proto_put_u64(w, r->u.coap.counters[i]);
	return w->err;
}

static int
tidy_get(struct proto_cur *c, struct proto_request *r)
{
	return proto_get_strbuf(c, r->u.tidy.tenant, sizeof(r->u.tidy.tenant));
}

static int
tidy_put(struct proto_wbuf *w, const struct proto_request *r)
{
	return proto_put_cstr(w, PROTO_MAX_STR, r->u.tidy.tenant);
}

static int
notify_get(struct proto_cur *c, struct proto_request *r)
{
	struct proto_notify_req *m = &r->u.notify;

	if (proto_get_u8(c, &m->op) == PROTO_OK && (m->op == 0 ||
	    m->op >= PROTO_NOTIFY_OP_MAX))
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	proto_get_u64(c, &m->id);
	proto_get_u32(c, &m->attempt);
	proto_get_u16(c, &m->status);
	return proto_get_strbuf(c, m->detail, sizeof(m->detail));
}

static int
notify_put(struct proto_wbuf *w, const struct proto_request *r)
{
	const struct proto_notify_req *m = &r->u.notify;

	if (w->err == PROTO_OK && (m->op == 0 ||
	    m->op >= PROTO_NOTIFY_OP_MAX))
		w->err = PROTO_ERR_VALUE;
	proto_put_u8(w, m->op);
	proto_put_u64(w, m->id);
	proto_put_u32(w, m->attempt);
	proto_put_u16(w, m->status);
	return proto_put_cstr(w, PROTO_MAX_STR, m->detail);
}

static const struct {
	int	(*get)(struct proto_cur *, struct proto_request *);
	int	(*put)(struct proto_wbuf *, const struct proto_request *);
} req_codecs[PROTO_T_MAX] = {
	[PROTO_T_ISSUE] =	 { issue_get, issue_put },
	[PROTO_T_REISSUE] =	 { issue_get, issue_put },
	[PROTO_T_CACERTS] =	 { target_get, target_put },
	[PROTO_T_CSRATTRS] =	 { target_get, target_put },
	[PROTO_T_REVOKE] =	 { revoke_get, revoke_put },
	[PROTO_T_GET_CERT] =	 { get_cert_get, get_cert_put },
	[PROTO_T_LIST_CERTS] =	 { list_get, list_put },
	[PROTO_T_TOKEN_CREATE] = { token_get, token_put },
	[PROTO_T_HEALTH] =	 { health_get, health_put },
	[PROTO_T_OCSP] =	 { ocsp_get, ocsp_put },
	[PROTO_T_CRL] =		 { crl_get, crl_put },
	[PROTO_T_PSK_LOOKUP] =	 { psk_get, psk_put },
	[PROTO_T_ACME] =	 { acme_get, acme_put },
	[PROTO_T_ACME_EAB] =	 { target_get, target_put },
	[PROTO_T_ACME_VA] =	 { acme_get, acme_put },
	[PROTO_T_COAP_STATS] =	 { cstats_get, cstats_put },
	[PROTO_T_TIDY] =	 { tidy_get, tidy_put },
	[PROTO_T_NOTIFY] =	 { notify_get, notify_put },
	[PROTO_T_AUDIT_QUERY] =	 { proto_auditq_get, proto_auditq_put },
};

int
proto_request_encode(const struct proto_request *r, uint8_t *buf,
    size_t size, size_t *len)
{
	struct proto_wbuf w;

	*len = 0;
	if (r->type == 0 || r->type >= PROTO_T_MAX)
		return PROTO_ERR_TYPE;
	/* Never produce a body the receiver's header check would refuse. */
	if (size > PROTO_MAX_BODY)
		size = PROTO_MAX_BODY;
	proto_wbuf_init(&w, buf, size);
	evidence_put(&w, &r->ev);
	if (req_codecs[r->type].put(&w, r) != PROTO_OK)
		return w.err;
	*len = w.len;
	return PROTO_OK;
}

int
proto_request_decode(uint16_t type, const uint8_t *body, size_t len,
    struct proto_request *r)
{
	struct proto_cur c;
	int rc;

	memset(r, 0, sizeof(*r));
	if (type == 0 || type >= PROTO_T_MAX)
		return PROTO_ERR_TYPE;
	r->type = type;
	proto_cur_init(&c, body, len);
	evidence_get(&c, &r->ev);
	req_codecs[type].get(&c, r);
	if ((rc = proto_end(&c)) != PROTO_OK) {
		/* Leave nothing half-decoded behind, secrets included. */
		proto_wipe(r, sizeof(*r));
		r->type = type;
	}
	return rc;
}
