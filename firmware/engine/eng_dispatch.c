/*
 * The dispatch table (STYLE.md 6, after OpenSSH's mon_dispatch): one row
 * per message type says which peer may send it, in which engine states it
 * runs, whether it needs an authenticated identity, and which handler
 * answers it.  The engine reads nothing else to decide what a front end
 * may make it do, so a review of what a compromised front end could ask
 * the engine is a review of this file.  A type without a row is never
 * dispatched: it closes the channel like any message not permitted.
 */
#include <string.h>

#include "eng_engine_local.h"

#define P(x)	(1u << (x))
#define HTTPS	P(PROTO_PEER_HTTPS)
#define COAP	P(PROTO_PEER_COAP)
#define CTL	P(PROTO_PEER_CONTROL)
#define VAL	P(PROTO_PEER_VALIDATOR)
#define NTF	P(PROTO_PEER_NOTIFY)

#define STARTING	P(PROTO_STATE_STARTING)
#define READY		P(PROTO_STATE_READY)
#define DEGRADED	P(PROTO_STATE_DEGRADED)
#define DRAINING	P(PROTO_STATE_DRAINING)
/* Reads that need no token session: served while recovering or draining. */
#define SERVING		(READY | DEGRADED | DRAINING)

/* Who the client must be before the handler runs. */
enum eng_auth {
	ENG_AUTH_NONE,		/* public: anyone may ask */
	ENG_AUTH_IDENT,		/* an identity derived from evidence */
	ENG_AUTH_HANDLER	/* the handler authenticates (PSK) */
};

typedef int eng_handler(struct eng_engine *, const struct eng_rt *,
    struct eng_ident *, const struct proto_request *, struct eng_reply *);

/*
 * QUICK: a cheap read that someone waits for with a short deadline (the
 * DTLS handshake's PSK lookup, CA certificates): it may also be run by
 * the worker kept for such requests, so it never waits behind a queue of
 * issuances (eng_serve.c).  Nothing that signs a certificate, writes the
 * ledger, builds a CRL or scans a table (HEALTH counts the certificates:
 * not quick on a large ledger).
 */
#define QUICK		1

static const struct {
	unsigned	 peers;
	unsigned	 states;
	enum eng_auth	 auth;
	eng_handler	*handler;
	int		 quick;
} dispatch[PROTO_T_MAX] = {
	/*
	 * Issuance needs the token, the ledger and the audit log and starts
	 * new work, so it is taken only when READY (DESIGN.md rule 4).
	 */
	[PROTO_T_ISSUE] =	{ HTTPS | COAP, READY, ENG_AUTH_IDENT,
				  eng_h_issue, 0 },	/* eng_enroll.c */
	[PROTO_T_REISSUE] =	{ HTTPS | COAP, READY, ENG_AUTH_IDENT,
				  eng_h_issue, 0 },	/* eng_enroll.c */
	[PROTO_T_CACERTS] =	{ HTTPS | COAP, SERVING, ENG_AUTH_NONE,
				  eng_h_cacerts, QUICK }, /* eng_cacerts.c */
	[PROTO_T_CSRATTRS] =	{ HTTPS | COAP, SERVING, ENG_AUTH_NONE,
				  eng_h_csrattrs, QUICK }, /* eng_csrattrs.c */
	/* Administration is only on the mTLS JSON API, never on CoAP. */
	[PROTO_T_REVOKE] =	{ HTTPS | CTL, READY, ENG_AUTH_IDENT,
				  eng_h_revoke, 0 },	/* eng_admin.c */
	[PROTO_T_GET_CERT] =	{ HTTPS | CTL, SERVING, ENG_AUTH_IDENT,
				  eng_h_get, 0 }, /* eng_admin.c */
	[PROTO_T_LIST_CERTS] =	{ HTTPS | CTL, SERVING, ENG_AUTH_IDENT,
				  eng_h_list, 0 }, /* eng_admin.c */
	[PROTO_T_TOKEN_CREATE] = { HTTPS | CTL, READY, ENG_AUTH_IDENT,
				  eng_h_token, 0 },	/* eng_token.c */
	/* The parent supervises with HEALTH, also before the token is up. */
	[PROTO_T_HEALTH] =	{ HTTPS | COAP | CTL, STARTING | SERVING,
				  ENG_AUTH_NONE,
				  eng_h_health, 0 },	/* eng_engine.c */
	/* OCSP and CRL are published on the plain-HTTP listener. */
	[PROTO_T_OCSP] =	{ HTTPS, SERVING, ENG_AUTH_NONE,
				  eng_h_ocsp, 0 },	/* eng_revocation.c */
	[PROTO_T_CRL] =		{ HTTPS | CTL, SERVING, ENG_AUTH_NONE,
				  eng_h_crl, 0 },	/* eng_revocation.c */
	/*
	 * Only the DTLS server needs bootstrap PSKs, mid-handshake; a token
	 * lookup needs the ledger but no token session.  The identity asked
	 * about is the credential, so the source's budget still applies.
	 * The handshake waits for it (EC_PSK_TIMEOUT_MS): QUICK (issue 14).
	 */
	[PROTO_T_PSK_LOOKUP] =	{ COAP, SERVING, ENG_AUTH_HANDLER,
				  eng_h_psk, QUICK },	/* eng_psk.c */
	/*
	 * ACME: the client is whoever signed the JWS; the handler parses and
	 * verifies it itself (docs/acme.md), so no evidence is needed.  No
	 * per-source or per-account budget yet (docs/acme.md, first slice).
	 */
	[PROTO_T_ACME] =	{ HTTPS, READY, ENG_AUTH_NONE,
				  eng_h_acme, 0 },		/* eng_acme.c */
	[PROTO_T_ACME_EAB] =	{ HTTPS | CTL, READY, ENG_AUTH_IDENT,
				  eng_h_acme_eab, 0 },	/* eng_acme.c */
	/* Only the validator takes validations and reports them. */
	[PROTO_T_ACME_VA] =	{ VAL, READY, ENG_AUTH_NONE,
				  eng_h_acme_va, 0 },	/* eng_acme_order.c */
	/*
	 * The CoAP front end's counters for /metrics: numbers it reports
	 * about itself, which buy nothing but a line in /metrics.
	 */
	[PROTO_T_COAP_STATS] =	{ COAP, STARTING | SERVING, ENG_AUTH_NONE,
				  eng_h_coap_stats, QUICK }, /* eng_stats.c */
	/* Removing expired rows writes the ledger: operators, mTLS only. */
	[PROTO_T_TIDY] =	{ HTTPS | CTL, READY, ENG_AUTH_IDENT,
				  eng_h_tidy, 0 },		/* eng_tidy.c */
	/*
	 * Only the delivery process takes expiry notifications and reports
	 * them; the engine builds and signs what it delivers (issue 19).
	 */
	[PROTO_T_NOTIFY] =	{ NTF, SERVING, ENG_AUTH_NONE,
				  eng_h_notify, 0 },	/* eng_notify.c */
	/* Reading the audit log: operators and auditors, mTLS only. */
	[PROTO_T_AUDIT_QUERY] =	{ HTTPS | CTL, SERVING, ENG_AUTH_IDENT,
				  eng_h_audit, 0 },	/* eng_auditq.c */
};

int
eng_permitted(uint16_t type, int peer, int state)
{
	if (type == 0 || type >= PROTO_T_MAX || dispatch[type].handler == NULL)
		return PROTO_PERM_CLOSE;
	if (peer < PROTO_PEER_HTTPS || peer > PROTO_PEER_LAST)
		return PROTO_PERM_CLOSE;
	/* A peer asking for what it may never ask is a protocol violation. */
	if ((dispatch[type].peers & P(peer)) == 0)
		return PROTO_PERM_CLOSE;
	if (state < PROTO_STATE_STARTING || state > PROTO_STATE_DRAINING ||
	    (dispatch[type].states & P(state)) == 0)
		return PROTO_PERM_UNAVAILABLE;
	return PROTO_PERM_ALLOW;
}

int
eng_quick(uint16_t type)
{
	return type != 0 && type < PROTO_T_MAX && dispatch[type].quick;
}

/* Evidence a front end of this kind could actually have seen. */
static int
evidence_fits(const struct proto_evidence *ev, uint16_t type, int peer)
{
	if (ev->peer != peer)
		return 0;
	if (peer == PROTO_PEER_CONTROL || peer == PROTO_PEER_VALIDATOR ||
	    peer == PROTO_PEER_NOTIFY)
		return ev->kind == PROTO_EV_NONE && ev->src_len == 0;
	/* An ACME client is its JWS, never a certificate or a token. */
	if (type == PROTO_T_ACME)
		return ev->kind == PROTO_EV_NONE;
	/* Mid-handshake there is no evidence yet to present; counters
	 * are the front end's own and come from no client. */
	if (type == PROTO_T_PSK_LOOKUP || type == PROTO_T_COAP_STATS)
		return ev->kind == PROTO_EV_NONE;
	if (ev->kind != PROTO_EV_TOKEN)
		return 1;
	if (peer == PROTO_PEER_HTTPS)
		return ev->token_src == PROTO_TOKSRC_HTTP_AUTH;
	return ev->token_src == PROTO_TOKSRC_PSK_ID;
}

int
eng_admit(const struct proto_request *req, int peer, int state)
{
	int perm;

	if ((perm = eng_permitted(req->type, peer, state)) == PROTO_PERM_CLOSE)
		return perm;
	/* A front end that lies about its channel is compromised or broken. */
	if (!evidence_fits(&req->ev, req->type, peer))
		return PROTO_PERM_CLOSE;
	return perm;
}

/* ENG_AUTH_IDENT: derive id, then charge its budgets; OK or the refusal. */
static int
eng_dispatch_ident(struct eng_engine *e, const struct eng_rt *rt, int peer,
    const struct proto_request *req, struct eng_ident *id, struct eng_reply *r)
{
	char msg[PROTO_MAX_STR + 1];
	int rc;

	rc = eng_ident_derive(e, rt, peer, &req->ev, id, msg, sizeof(msg));
	/* Only the client's own failure spends its source's budget. */
	if (rc == PROTO_R_UNAUTHORIZED || rc == PROTO_R_FORBIDDEN) {
		eng_gate_auth_failed(e, rt, peer, &req->ev, id->actor, msg);
		r->quiet = 1;
	} else if (peer != PROTO_PEER_CONTROL)
		eng_gate_auth_ok(e, rt, &req->ev);
	if (rc != PROTO_R_OK)
		eng_reply_fail(r, rc, "%s", msg);
	else if ((rc = eng_gate_rate(e, rt, req, id, r)) != PROTO_R_OK)
		r->quiet = 1;
	return rc;
}

int
eng_dispatch(struct eng_engine *e, const struct eng_rt *rt, int peer,
    const struct proto_request *req, struct eng_reply *r)
{
	struct eng_ident id;
	enum eng_auth auth;
	int rc;

	/* eng_admit let only types with a row through; refuse all else. */
	if (req->type == 0 || req->type >= PROTO_T_MAX ||
	    dispatch[req->type].handler == NULL)
		return eng_reply_fail(r, PROTO_R_INTERNAL, "no handler");
	auth = dispatch[req->type].auth;
	memset(&id, 0, sizeof(id));
	/* A source that keeps failing is not even heard (eng_gate.c). */
	if (auth != ENG_AUTH_NONE && peer != PROTO_PEER_CONTROL &&
	    (rc = eng_gate_source(e, rt, &req->ev, r)) != PROTO_R_OK) {
		r->quiet = 1;
		return rc;
	}
	if (auth == ENG_AUTH_IDENT &&
	    (rc = eng_dispatch_ident(e, rt, peer, req, &id, r)) != PROTO_R_OK)
		goto out;
	rc = dispatch[req->type].handler(e, rt, &id, req, r);
out:
	eng_ident_clear(&id);
	return rc;
}
