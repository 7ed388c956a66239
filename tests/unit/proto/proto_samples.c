/*
 * Sample messages.  The byte values are placeholders: the protocol layer
 * does not parse DER, the engine does.
 */
#include <string.h>

#include "proto_samples.h"

static const uint8_t leaf[] = { 0x30, 0x82, 0x01, 0x0a, 0x01, 0x02, 0x03 };
static const uint8_t inter[] = { 0x30, 0x82, 0x02, 0x0b, 0x04, 0x05 };
static const uint8_t root[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
static const uint8_t csr[] = { 0x30, 0x81, 0x90, 0xca, 0xfe, 0xba, 0xbe };
static const uint8_t serial[] = { 0x5a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
	0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
static const uint8_t ocspreq[] = { 0x30, 0x45, 0x30, 0x43, 0xa0, 0x03 };
static const uint8_t blob[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
	0xce, 0x3d, 0x04, 0x03, 0x02 };

#define BLOB(a)	((struct proto_blob){ (a), sizeof(a) })

static void
copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
sample_evidence(int variant, struct proto_evidence *ev)
{
	ev->peer = variant == 1 ? PROTO_PEER_COAP : PROTO_PEER_HTTPS;
	switch (variant) {
	case 0:
		ev->kind = PROTO_EV_CERTS;
		ev->chain.ncerts = 2;
		ev->chain.certs[0] = BLOB(leaf);
		ev->chain.certs[1] = BLOB(inter);
		ev->src_len = 4;
		memcpy(ev->src, "\x7f\x00\x00\x01", 4);
		break;
	case 1:
		ev->kind = PROTO_EV_TOKEN;
		ev->token_src = PROTO_TOKSRC_PSK_ID;
		copy(ev->token, sizeof(ev->token), "tok_3q2+7w-Zx9Lm");
		memset(ev->psk_handle, 0x5c, sizeof(ev->psk_handle));
		ev->psk_handle[3] = 0;	/* handles are binary */
		ev->src_len = 16;
		memset(ev->src, 0, 16);
		ev->src[0] = 0xfd;
		ev->src[15] = 1;
		break;
	default:
		ev->kind = PROTO_EV_NONE;
		break;
	}
}

static void
sample_token(struct proto_token_req *t)
{
	copy(t->tenant, sizeof(t->tenant), "acme");
	copy(t->profile, sizeof(t->profile), "iot-device");
	t->nnames = 2;
	copy(t->names[0], sizeof(t->names[0]), "sensor-17.acme.example");
	copy(t->names[1], sizeof(t->names[1]), "10.1.2.3");
	t->lifetime = 86400;
	t->uses = 1;
}

int
proto_sample_request(uint16_t type, int variant, struct proto_request *r)
{
	memset(r, 0, sizeof(*r));
	if (type == 0 || type >= PROTO_T_MAX)
		return -1;
	r->type = type;
	sample_evidence(variant, &r->ev);
	switch (type) {
	case PROTO_T_ISSUE:
	case PROTO_T_REISSUE:
		/* Variant 1 comes by an EST label, which the engine resolves. */
		if (variant == 1) {
			r->u.issue.via = PROTO_VIA_EST;
			copy(r->u.issue.label, sizeof(r->u.issue.label), "iot");
		} else {
			copy(r->u.issue.tenant, sizeof(r->u.issue.tenant),
			    "acme");
			copy(r->u.issue.profile, sizeof(r->u.issue.profile),
			    "web");
		}
		r->u.issue.csr = BLOB(csr);
		r->u.issue.ttl = variant == 2 ? 0 : 3600;
		if (type == PROTO_T_REISSUE)
			r->u.issue.cur_cert = BLOB(leaf);
		break;
	case PROTO_T_CACERTS:
	case PROTO_T_CSRATTRS:
		copy(r->u.target.tenant, sizeof(r->u.target.tenant), "acme");
		copy(r->u.target.profile, sizeof(r->u.target.profile),
		    variant == 2 ? "" : "web");
		break;
	case PROTO_T_REVOKE:
		copy(r->u.revoke.tenant, sizeof(r->u.revoke.tenant), "acme");
		r->u.revoke.serial = BLOB(serial);
		r->u.revoke.reason = 1;	/* keyCompromise */
		break;
	case PROTO_T_GET_CERT:
		copy(r->u.get.tenant, sizeof(r->u.get.tenant), "acme");
		r->u.get.serial = BLOB(serial);
		break;
	case PROTO_T_LIST_CERTS:
		copy(r->u.list.tenant, sizeof(r->u.list.tenant), "acme");
		r->u.list.status = PROTO_CS_VALID;
		r->u.list.expiring_within = 7200;
		copy(r->u.list.substring, sizeof(r->u.list.substring), "web-");
		r->u.list.limit = 50;
		r->u.list.offset = 100;
		if (variant % 2)
			copy(r->u.list.authorized_by,
			    sizeof(r->u.list.authorized_by),
			    "renewal:0102030405060708");
		break;
	case PROTO_T_TOKEN_CREATE:
		sample_token(&r->u.token);
		break;
	case PROTO_T_OCSP:
		r->u.ocsp.der = BLOB(ocspreq);
		break;
	case PROTO_T_CRL:
		copy(r->u.crl.issuer, sizeof(r->u.crl.issuer), "acme-int-1");
		r->u.crl.delta = variant == 1;
		break;
	case PROTO_T_PSK_LOOKUP:
		copy(r->u.psk.identity, sizeof(r->u.psk.identity), "tk-0001");
		break;
	case PROTO_T_ACME_EAB:
		copy(r->u.target.tenant, sizeof(r->u.target.tenant), "acme");
		copy(r->u.target.profile, sizeof(r->u.target.profile), "web");
		break;
	case PROTO_T_ACME:
	case PROTO_T_ACME_VA:
		r->u.acme.op = type == PROTO_T_ACME_VA ? (variant ?
		    PROTO_ACME_VA_RESULT : PROTO_ACME_VA_NEXT) : variant ?
		    PROTO_ACME_FINALIZE : PROTO_ACME_NEW_ORDER;
		copy(r->u.acme.label, sizeof(r->u.acme.label), "web");
		copy(r->u.acme.id, sizeof(r->u.acme.id), variant ?
		    "cVd8bXJ2a2h3cXpmbmQ" : "");
		copy(r->u.acme.detail, sizeof(r->u.acme.detail), variant == 2 ?
		    "connection refused" : "");
		r->u.acme.body = BLOB(csr);
		break;
	case PROTO_T_COAP_STATS:
		r->ev.peer = PROTO_PEER_COAP;
		r->u.coap.counters[PROTO_CC_REQUESTS] = 42;
		r->u.coap.counters[PROTO_CC_HANDSHAKES] = 7;
		r->u.coap.counters[PROTO_CC_EVICTED] = UINT64_MAX;
		break;
	case PROTO_T_TIDY:
		copy(r->u.tidy.tenant, sizeof(r->u.tidy.tenant), "acme");
		break;
	case PROTO_T_NOTIFY:
		r->ev.peer = PROTO_PEER_NOTIFY;
		r->u.notify.op = variant == 2 ? PROTO_NOTIFY_RESULT :
		    PROTO_NOTIFY_NEXT;
		r->u.notify.id = variant == 2 ? 42 : 0;
		r->u.notify.attempt = variant == 2 ? 3 : 0;
		r->u.notify.status = variant == 2 ? 500 : 0;
		copy(r->u.notify.detail, sizeof(r->u.notify.detail),
		    variant == 2 ? "HTTP status 500" : "");
		break;
	case PROTO_T_AUDIT_QUERY:
		r->u.audit.since = variant == 2 ? 1700000000 : 0;
		r->u.audit.until = variant == 2 ? 1700090000 : 0;
		copy(r->u.audit.tenant, sizeof(r->u.audit.tenant),
		    variant == 2 ? "acme" : "");
		copy(r->u.audit.action, sizeof(r->u.audit.action),
		    variant == 2 ? "revoke" : "");
		copy(r->u.audit.actor, sizeof(r->u.audit.actor),
		    variant == 2 ? "token:tk-0001" : "");
		copy(r->u.audit.node, sizeof(r->u.audit.node),
		    variant == 2 ? "node-a" : "");
		r->u.audit.after = variant == 2 ? 41 : 0;
		r->u.audit.limit = variant == 2 ? PROTO_MAX_AUDIT_LIMIT : 100;
		break;
	default:
		break;
	}
	return 0;
}

static void
sample_summary(struct proto_cert_summary *s, int i)
{
	s->serial = BLOB(serial);
	s->status = i % 2 ? PROTO_CS_REVOKED : PROTO_CS_VALID;
	s->not_before = 1700000000 + (uint64_t)i;
	s->not_after = 1700090000 + (uint64_t)i;
	s->revoked_at = i % 2 ? 1700050000 : 0;
	copy(s->profile, sizeof(s->profile), "web");
	copy(s->subject, sizeof(s->subject), "CN=web-1.acme.example");
	copy(s->authorized_by, sizeof(s->authorized_by), i % 2 ?
	    "token:tk-0001" : "");
}

static struct proto_blob
text(const char *s)
{
	struct proto_blob b = { (const uint8_t *)s, strlen(s) };

	return b;
}

static void
sample_audit(struct proto_audit_rep *a)
{
	struct proto_audit_rec *r;
	int i;

	a->next = 44;
	a->more = 1;
	a->n = 3;
	for (i = 0; i < a->n; i++) {
		r = &a->recs[i];
		r->seq = 41 + (uint64_t)i;
		r->time = 1700000000 + (uint64_t)i;
		r->node = text(i == 0 ? "" : "node-a");
		r->actor = text("CN=ops");
		r->role = text("operator");
		r->tenant = text(i == 2 ? "" : "acme");
		r->action = text(i == 1 ? "revoke" : "issue");
		r->object = text("0a1b2c");
		r->result = text("ok");
		r->detail = text("reason=1 src=127.0.0.1 cred=token:tk-0001");
		memset(r->hash, 0xa0 + i, sizeof(r->hash));
	}
}

static void
sample_payload(struct proto_reply *rep)
{
	switch (rep->type) {
	case PROTO_T_ISSUE:
	case PROTO_T_REISSUE:
		rep->u.cert.cert = BLOB(leaf);
		rep->u.cert.chain.ncerts = 2;
		rep->u.cert.chain.certs[0] = BLOB(inter);
		rep->u.cert.chain.certs[1] = BLOB(root);
		break;
	case PROTO_T_CACERTS:
		rep->u.chain.ncerts = 1;
		rep->u.chain.certs[0] = BLOB(inter);
		break;
	case PROTO_T_REVOKE:
		rep->u.revoked_at = 1700050000;
		break;
	case PROTO_T_GET_CERT:
		sample_summary(&rep->u.get.sum, 0);
		rep->u.get.cert = BLOB(leaf);
		break;
	case PROTO_T_LIST_CERTS:
		rep->u.list.total = 3;
		rep->u.list.n = 3;
		sample_summary(&rep->u.list.items[0], 0);
		sample_summary(&rep->u.list.items[1], 1);
		sample_summary(&rep->u.list.items[2], 2);
		break;
	case PROTO_T_TOKEN_CREATE:
		copy(rep->u.token.id, sizeof(rep->u.token.id), "tk-0001");
		copy(rep->u.token.secret, sizeof(rep->u.token.secret),
		    "tok_3q2+7w-Zx9Lm");
		rep->u.token.expires_at = 1700086400;
		break;
	case PROTO_T_HEALTH:
		rep->u.health.state = PROTO_STATE_READY;
		rep->u.health.token_ok = 1;
		rep->u.health.ledger_ok = 1;
		rep->u.health.audit_ok = 1;
		rep->u.health.uptime = 12345;
		rep->u.health.issued = 678;
		copy(rep->u.health.version, sizeof(rep->u.health.version),
		    "signet 0.1.0");
		rep->u.health.counters[PROTO_C_AUTH_FAIL] = 13000;
		rep->u.health.counters[PROTO_C_OCSP_NONCE_DROPPED] = 7;
		rep->u.health.coap[PROTO_CC_RATE_LIMITED] = 3;
		rep->u.health.ntargets = 2;
		copy(rep->u.health.targets[0].tenant,
		    sizeof(rep->u.health.targets[0].tenant), "acme");
		copy(rep->u.health.targets[0].profile,
		    sizeof(rep->u.health.targets[0].profile), "web");
		rep->u.health.targets[0].issued = 9;
		rep->u.health.targets[0].revoked = 1;
		rep->u.health.targets[0].refused[PROTO_R_FORBIDDEN] = 2;
		rep->u.health.targets[1].refused[PROTO_R_UNAUTHORIZED] = 5;
		rep->u.health.token.state = 1;
		rep->u.health.token.recoveries = 2;
		rep->u.health.token.nbuckets = 2;
		rep->u.health.token.le_us[0] = 1000;
		rep->u.health.token.le_us[1] = UINT64_MAX;
		rep->u.health.token.count[0] = 40;
		rep->u.health.token.count[1] = 2;
		rep->u.health.token.sum_us = 123456;
		rep->u.health.ledger_ops = 100;
		rep->u.health.ledger_transactions = 10;
		rep->u.health.ledger_sqlite_mem = 4194304;
		rep->u.health.ocsp_hits = 77;
		rep->u.health.ncrls = 1;
		copy(rep->u.health.crls[0].issuer,
		    sizeof(rep->u.health.crls[0].issuer), "acme-int-1");
		rep->u.health.crls[0].age = 30;
		rep->u.health.crls[0].bytes = 456;
		rep->u.health.nfailed = 1;
		copy(rep->u.health.failed[0].child,
		    sizeof(rep->u.health.failed[0].child), "coap");
		copy(rep->u.health.failed[0].error,
		    sizeof(rep->u.health.failed[0].error),
		    "msg=\"sandbox refused\" error=\"no user nobody-here\"");
		rep->u.health.nexpiring = 1;
		copy(rep->u.health.expiring[0].tenant,
		    sizeof(rep->u.health.expiring[0].tenant), "acme");
		copy(rep->u.health.expiring[0].profile,
		    sizeof(rep->u.health.expiring[0].profile), "web");
		copy(rep->u.health.expiring[0].window,
		    sizeof(rep->u.health.expiring[0].window), "7d");
		rep->u.health.expiring[0].certificates = 12;
		rep->u.health.notify_pending = 3;
		rep->u.health.notify_delivered = 40;
		rep->u.health.notify_failed = 1;
		break;
	case PROTO_T_COAP_STATS:
		break;
	case PROTO_T_PSK_LOOKUP:
		rep->u.psk.len = 32;
		memset(rep->u.psk.key, 0xa5, 32);
		rep->u.psk.key[7] = 0;	/* keys are binary, NUL included */
		memset(rep->u.psk.handle, 0x3c, sizeof(rep->u.psk.handle));
		copy(rep->u.psk.tenant, sizeof(rep->u.psk.tenant), "t1");
		copy(rep->u.psk.profile, sizeof(rep->u.psk.profile), "dev");
		break;
	case PROTO_T_ACME_EAB:
		copy(rep->u.token.id, sizeof(rep->u.token.id), "eab0123456789abc");
		copy(rep->u.token.secret, sizeof(rep->u.token.secret),
		    "q1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v");
		rep->u.token.expires_at = 0;
		break;
	case PROTO_T_ACME:
	case PROTO_T_ACME_VA:
		rep->u.acme.status = 201;
		rep->u.acme.ctype = PROTO_ACME_CT_JSON;
		copy(rep->u.acme.id, sizeof(rep->u.acme.id), "b3JkZXI");
		copy(rep->u.acme.location, sizeof(rep->u.acme.location),
		    "https://ca.example/acme/web/order/b3JkZXI");
		copy(rep->u.acme.up, sizeof(rep->u.acme.up),
		    "https://ca.example/acme/web/authz/YXV0aHo");
		copy(rep->u.acme.nonce, sizeof(rep->u.acme.nonce),
		    "AAAAAAAAAAEAAAAAZWpjZGVmZ2hpamtsbW5vcA");
		rep->u.acme.body = BLOB(blob);
		copy(rep->u.acme.index, sizeof(rep->u.acme.index),
		    "https://ca.example/acme/web/directory");
		rep->u.acme.retry_after = 21600;
		copy(rep->u.acme.next, sizeof(rep->u.acme.next),
		    "https://ca.example/acme/web/acct/YWNjdA/orders/1");
		break;
	case PROTO_T_TIDY:
		rep->u.tidy.certs = 1000000;
		rep->u.tidy.tokens = 17;
		rep->u.tidy.cutoff = 1700000000;
		rep->u.tidy.done = 1;
		break;
	case PROTO_T_NOTIFY:
		rep->u.notify.id = 42;
		rep->u.notify.attempt = 3;
		copy(rep->u.notify.url, sizeof(rep->u.notify.url),
		    "http://hooks.example:8080/signet");
		copy(rep->u.notify.signature, sizeof(rep->u.notify.signature),
		    "sha256=00112233445566778899aabbccddeeff"
		    "00112233445566778899aabbccddeeff");
		rep->u.notify.body = BLOB(csr);
		break;
	case PROTO_T_AUDIT_QUERY:
		sample_audit(&rep->u.audit);
		break;
	default:	/* CSRATTRS, OCSP, CRL */
		rep->u.der = BLOB(blob);
		break;
	}
}

int
proto_sample_reply(uint16_t type, int variant, struct proto_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	if (type == 0 || type >= PROTO_T_MAX)
		return -1;
	rep->type = type;
	if (variant != 0) {
		rep->status.result = PROTO_R_FORBIDDEN;
		copy(rep->status.message, sizeof(rep->status.message),
		    "profile web does not allow name evil.example");
		if (variant == 2) {
			rep->status.result = PROTO_R_RATE_LIMITED;
			rep->status.retry_after = 3;
		}
		return 0;
	}
	sample_payload(rep);
	return 0;
}
