/*
 * EST-coaps (RFC 9148): CoAP requests over a DTLS session, confirmable with
 * retransmission (RFC 7252 4.2), separate responses, Block1 for a large CSR
 * and Block2 for large answers (RFC 7959).  The answer lands in c->body.
 */
#include <stdio.h>
#include <string.h>

#include "sdev_int.h"

/* RFC 7252 4.8 transmission parameters. */
#define ACK_TIMEOUT_MS		2000
#define MAX_RETRANSMIT		4
/* How long to wait for a separate response after an empty ACK. */
#define SEPARATE_WAIT_MS	30000

static const char *const est_path[] = { "crts", "sen", "sren" };

static uint32_t
rand_u32(struct sdev *c)
{
	uint8_t b[4] = { 0 };

	(void)sdev_rng(&c->drbg, b, sizeof(b));
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

/* Sends an empty ACK (or RST) for a confirmable message of the server. */
static void
send_empty(struct sdev_sess *s, uint8_t type, uint16_t mid)
{
	uint8_t b[4] = { (uint8_t)(0x40 | type << 4), 0, (uint8_t)(mid >> 8),
	    (uint8_t)mid };

	(void)sdev_sess_write(s, b, sizeof(b));
}

/*
 * Classifies one received message: 1 when it is the response to req (in
 * resp), 2 for an empty ACK of req, 0 to keep waiting, <0 on an error.
 */
static int
match(struct sdev_sess *s, const struct sdev_coap_msg *req,
    struct sdev_coap_msg *resp, size_t len)
{
	if (sdev_coap_decode(s->c->rx, len, resp) != SDEV_OK)
		return 0;	/* RFC 7252 4.2: silently ignore garbage */
	if (resp->type == SDEV_COAP_RST && resp->mid == req->mid)
		return sdev_fail(s->c, SDEV_E_PROTO,
		    "server reset the request (CoAP RST)");
	if (resp->type == SDEV_COAP_ACK && resp->mid == req->mid &&
	    resp->code == 0)
		return 2;
	if (resp->code >> 5 == 0 || resp->tkl != req->tkl ||
	    memcmp(resp->token, req->token, req->tkl) != 0) {
		if (resp->type == SDEV_COAP_CON)
			send_empty(s, SDEV_COAP_RST, resp->mid);
		return 0;
	}
	if (resp->type == SDEV_COAP_ACK)
		return resp->mid == req->mid ? 1 : 0;
	if (resp->type == SDEV_COAP_CON)
		send_empty(s, SDEV_COAP_ACK, resp->mid);
	return 1;
}

/* One confirmable request and its response (piggybacked or separate). */
static int
exchange(struct sdev_sess *s, struct sdev_coap_msg *req,
    struct sdev_coap_msg *resp)
{
	struct sdev *c = s->c;
	uint64_t deadline, now;
	uint32_t timeout;
	size_t len, n;
	int tries = 0, acked = 0, rc;

	req->type = SDEV_COAP_CON;
	req->mid = c->mid++;
	if ((rc = sdev_coap_encode(req, c->tx, sizeof(c->tx), &len)) != SDEV_OK)
		return sdev_fail(c, rc, "CoAP request does not fit a datagram");
	timeout = ACK_TIMEOUT_MS + rand_u32(c) % (ACK_TIMEOUT_MS / 2);
	if ((rc = sdev_sess_write(s, c->tx, len)) != SDEV_OK)
		return rc;
	deadline = c->port.ms(c->port.ctx) + timeout;
	for (;;) {
		now = c->port.ms(c->port.ctx);
		if (now >= deadline) {
			if (acked || ++tries > MAX_RETRANSMIT)
				return sdev_fail(c, SDEV_E_TIMEOUT,
				    "no CoAP answer from %s:%s",
				    s->srv->host, s->srv->port);
			/* RFC 7252 4.2: exponential back-off. */
			timeout *= 2;
			deadline = now + timeout;
			if ((rc = sdev_sess_write(s, c->tx, len)) != SDEV_OK)
				return rc;
			continue;
		}
		rc = sdev_sess_read(s, c->rx, sizeof(c->rx),
		    (uint32_t)(deadline - now), &n);
		if (rc == SDEV_E_TIMEOUT)
			continue;
		if (rc != SDEV_OK)
			return rc;
		if ((rc = match(s, req, resp, n)) < 0)
			return rc;
		if (rc == 1)
			return SDEV_OK;
		if (rc == 2 && !acked) {
			acked = 1;
			deadline = c->port.ms(c->port.ctx) + SEPARATE_WAIT_MS;
		}
	}
}

/* A 4.xx or 5.xx answer, with its diagnostic payload, as an error. */
static int
code_fail(struct sdev *c, const struct sdev_coap_msg *m)
{
	char diag[160];
	size_t i, n = 0;

	for (i = 0; i < m->plen && n + 1 < sizeof(diag); i++)
		diag[n++] = m->payload[i] >= 0x20 && m->payload[i] < 0x7f ?
		    (char)m->payload[i] : '?';
	diag[n] = '\0';
	return sdev_fail(c, m->code >> 5 == 4 ? SDEV_E_REFUSED :
	    SDEV_E_SERVER, "server answered %u.%02u%s%s", m->code >> 5,
	    m->code & 0x1f, n > 0 ? ": " : "", diag);
}

/* A fresh request with the EST path, formats and token. */
static int
build(struct sdev_coap_msg *m, enum sdev_est_op op, const uint8_t *token)
{
	int rc;

	memset(m, 0, sizeof(*m));
	m->code = op == SDEV_EST_CACERTS ? SDEV_COAP_GET : SDEV_COAP_POST;
	m->tkl = SDEV_COAP_MAX_TOKEN;
	memcpy(m->token, token, SDEV_COAP_MAX_TOKEN);
	if ((rc = sdev_coap_add_opt(m, SDEV_OPT_URI_PATH, "est", 3)) != 0 ||
	    (rc = sdev_coap_add_opt(m, SDEV_OPT_URI_PATH, est_path[op],
	    strlen(est_path[op]))) != 0 ||
	    (rc = sdev_coap_add_uint(m, SDEV_OPT_ACCEPT,
	    SDEV_CF_PKCS7_CERTS)) != 0)
		return rc;
	if (op != SDEV_EST_CACERTS)
		rc = sdev_coap_add_uint(m, SDEV_OPT_CFORMAT, SDEV_CF_PKCS10);
	return rc;
}

/* Sends the CSR block by block until the final block's answer. */
static int
send_body(struct sdev_sess *s, enum sdev_est_op op, const uint8_t *token,
    const uint8_t *csr, size_t csrlen, struct sdev_coap_msg *resp)
{
	struct sdev_coap_msg req;
	struct sdev_block b = { 0, 0, SDEV_COAP_BLOCK_SZX }, rb;
	size_t off = 0, bs, chunk;
	uint32_t v;
	int rc;

	for (;;) {
		bs = (size_t)1 << (b.szx + 4);
		chunk = csrlen - off < bs ? csrlen - off : bs;
		b.num = (uint32_t)(off / bs);
		b.more = off + chunk < csrlen;
		if ((rc = build(&req, op, token)) != SDEV_OK)
			return sdev_fail(s->c, rc, "CoAP request too large");
		req.payload = csr + off;
		req.plen = chunk;
		if ((b.more || off > 0) && (rc = sdev_coap_add_uint(&req,
		    SDEV_OPT_BLOCK1, sdev_coap_block_value(&b))) != SDEV_OK)
			return sdev_fail(s->c, rc, "CoAP request too large");
		if (!b.more && (rc = sdev_coap_add_uint(&req, SDEV_OPT_BLOCK2,
		    SDEV_COAP_BLOCK_SZX)) != SDEV_OK)
			return sdev_fail(s->c, rc, "CoAP request too large");
		if ((rc = exchange(s, &req, resp)) != SDEV_OK)
			return rc;
		if (!b.more)
			return SDEV_OK;
		if (resp->code != SDEV_COAP_CONTINUE)
			return resp->code >> 5 >= 4 ? code_fail(s->c, resp) :
			    sdev_fail(s->c, SDEV_E_PROTO,
			    "server did not continue the Block1 transfer");
		off += chunk;
		/* RFC 7959 2.3: the server may ask for smaller blocks. */
		if (sdev_coap_get_uint(resp, SDEV_OPT_BLOCK1, &v) == SDEV_OK &&
		    sdev_coap_block_parse(v, &rb) == SDEV_OK && rb.szx < b.szx)
			b.szx = rb.szx;
	}
}

/* Appends a response's payload; *next is the Block2 to ask for, or 0. */
static int
take_block(struct sdev *c, const struct sdev_coap_msg *m, uint32_t *next)
{
	struct sdev_block b;
	uint32_t v;

	*next = 0;
	if (sdev_coap_get_uint(m, SDEV_OPT_BLOCK2, &v) != SDEV_OK) {
		if (c->bodylen != 0)
			return sdev_fail(c, SDEV_E_PROTO, "Block2 option lost");
		b.num = 0;
		b.more = 0;
		b.szx = 6;
	} else if (sdev_coap_block_parse(v, &b) != SDEV_OK)
		return sdev_fail(c, SDEV_E_PROTO, "bad Block2 option");
	if (((uint64_t)b.num << (b.szx + 4)) != c->bodylen ||
	    (b.more && m->plen != (size_t)1 << (b.szx + 4)))
		return sdev_fail(c, SDEV_E_PROTO, "Block2 %u out of sequence",
		    (unsigned)b.num);
	if (m->plen > sizeof(c->body) - c->bodylen)
		return sdev_fail(c, SDEV_E_TOOBIG, "answer over %u bytes",
		    (unsigned)sizeof(c->body));
	if (m->plen > 0)
		memcpy(c->body + c->bodylen, m->payload, m->plen);
	c->bodylen += m->plen;
	if (b.more) {
		b.num++;
		b.more = 0;
		*next = sdev_coap_block_value(&b);
	}
	return SDEV_OK;
}

int
sdev_coaps_request(struct sdev_sess *s, enum sdev_est_op op,
    const uint8_t *csr, size_t csrlen)
{
	struct sdev *c = s->c;
	struct sdev_coap_msg req, resp;
	uint8_t token[SDEV_COAP_MAX_TOKEN];
	uint32_t next, cf;
	int rc;

	c->bodylen = 0;
	c->cformat = 0;
	/* One random token per transfer (RFC 7252 5.3.1). */
	if (sdev_rng(&c->drbg, token, sizeof(token)) != 0)
		return sdev_fail(c, SDEV_E_CRYPTO, "DRBG failed");
	if (op == SDEV_EST_CACERTS) {
		if ((rc = build(&req, op, token)) != SDEV_OK ||
		    (rc = sdev_coap_add_uint(&req, SDEV_OPT_BLOCK2,
		    SDEV_COAP_BLOCK_SZX)) != SDEV_OK)
			return sdev_fail(c, rc, "CoAP request too large");
		rc = exchange(s, &req, &resp);
	} else
		rc = send_body(s, op, token, csr, csrlen, &resp);
	if (rc != SDEV_OK)
		return rc;
	if (resp.code >> 5 != 2)
		return code_fail(c, &resp);
	if (sdev_coap_get_uint(&resp, SDEV_OPT_CFORMAT, &cf) != SDEV_OK)
		return sdev_fail(c, SDEV_E_PROTO, "answer has no Content-Format");
	c->cformat = cf;
	for (;;) {
		if ((rc = take_block(c, &resp, &next)) != SDEV_OK || next == 0)
			return rc;
		/* RFC 9148 5: later blocks are asked for without a payload. */
		if ((rc = build(&req, op, token)) != SDEV_OK ||
		    (rc = sdev_coap_add_uint(&req, SDEV_OPT_BLOCK2, next)) !=
		    SDEV_OK)
			return sdev_fail(c, rc, "CoAP request too large");
		if ((rc = exchange(s, &req, &resp)) != SDEV_OK)
			return rc;
		if (resp.code >> 5 != 2)
			return code_fail(c, &resp);
	}
}
