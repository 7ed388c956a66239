/*
 * The permission table (STYLE.md 6) and the names of things.  Which peer
 * may ask for what is decided here, in one table, so a review of what a
 * compromised front end could ask the engine is a review of this file.
 */
#include <string.h>

#include "signet/proto.h"

#define P(x)	(1u << (x))
#define HTTPS	P(PROTO_PEER_HTTPS)
#define COAP	P(PROTO_PEER_COAP)
#define CTL	P(PROTO_PEER_CONTROL)

#define STARTING	P(PROTO_STATE_STARTING)
#define READY		P(PROTO_STATE_READY)
#define DEGRADED	P(PROTO_STATE_DEGRADED)
#define DRAINING	P(PROTO_STATE_DRAINING)
/* Reads that need no token session: served while recovering or draining. */
#define SERVING		(READY | DEGRADED | DRAINING)

static const struct {
	const char	*name;
	unsigned	 peers;
	unsigned	 states;
} perms[PROTO_T_MAX] = {
	/*
	 * Issuance needs the token, the ledger and the audit log and starts
	 * new work, so it is taken only when READY (DESIGN.md rule 4).
	 */
	[PROTO_T_ISSUE] =	 { "issue", HTTPS | COAP, READY },
	[PROTO_T_REISSUE] =	 { "reissue", HTTPS | COAP, READY },
	[PROTO_T_CACERTS] =	 { "cacerts", HTTPS | COAP, SERVING },
	[PROTO_T_CSRATTRS] =	 { "csrattrs", HTTPS | COAP, SERVING },
	/* Administration is only on the mTLS JSON API, never on CoAP. */
	[PROTO_T_REVOKE] =	 { "revoke", HTTPS | CTL, READY },
	[PROTO_T_GET_CERT] =	 { "get_cert", HTTPS | CTL, SERVING },
	[PROTO_T_LIST_CERTS] =	 { "list_certs", HTTPS | CTL, SERVING },
	[PROTO_T_TOKEN_CREATE] = { "token_create", HTTPS | CTL, READY },
	/* The parent supervises with HEALTH, also before the token is up. */
	[PROTO_T_HEALTH] = { "health", HTTPS | COAP | CTL, STARTING | SERVING },
	/* OCSP and CRL are published on the plain-HTTP listener. */
	[PROTO_T_OCSP] =	 { "ocsp", HTTPS, SERVING },
	[PROTO_T_CRL] =		 { "crl", HTTPS | CTL, SERVING },
	/*
	 * Only the DTLS server needs bootstrap PSKs, mid-handshake; a token
	 * lookup needs the ledger but no token session.
	 */
	[PROTO_T_PSK_LOOKUP] =	 { "psk_lookup", COAP, SERVING },
};

int
proto_permitted(uint16_t type, int peer, int state)
{
	if (type == 0 || type >= PROTO_T_MAX)
		return PROTO_PERM_CLOSE;
	if (peer < PROTO_PEER_HTTPS || peer > PROTO_PEER_CONTROL)
		return PROTO_PERM_CLOSE;
	/* A peer asking for what it may never ask is a protocol violation. */
	if ((perms[type].peers & P(peer)) == 0)
		return PROTO_PERM_CLOSE;
	if (state < PROTO_STATE_STARTING || state > PROTO_STATE_DRAINING ||
	    (perms[type].states & P(state)) == 0)
		return PROTO_PERM_UNAVAILABLE;
	return PROTO_PERM_ALLOW;
}

/* Evidence a front end of this kind could actually have seen. */
static int
evidence_fits(const struct proto_evidence *ev, uint16_t type, int peer)
{
	if (ev->peer != peer)
		return 0;
	if (peer == PROTO_PEER_CONTROL)
		return ev->kind == PROTO_EV_NONE && ev->src_len == 0;
	/* Mid-handshake there is no evidence yet to present. */
	if (type == PROTO_T_PSK_LOOKUP)
		return ev->kind == PROTO_EV_NONE;
	if (ev->kind != PROTO_EV_TOKEN)
		return 1;
	if (peer == PROTO_PEER_HTTPS)
		return ev->token_src == PROTO_TOKSRC_HTTP_AUTH;
	return ev->token_src == PROTO_TOKSRC_PSK_ID;
}

int
proto_admit(const struct proto_request *req, int peer, int state)
{
	int perm;

	if ((perm = proto_permitted(req->type, peer, state)) ==
	    PROTO_PERM_CLOSE)
		return perm;
	/* A front end that lies about its channel is compromised or broken. */
	if (!evidence_fits(&req->ev, req->type, peer))
		return PROTO_PERM_CLOSE;
	return perm;
}

const char *
proto_type_name(uint16_t type)
{
	uint16_t base = type & (uint16_t)~PROTO_T_REPLY;

	if (base == 0 || base >= PROTO_T_MAX)
		return "unknown";
	return perms[base].name;
}

const char *
proto_result_name(int result)
{
	static const char *const names[PROTO_R_MAX] = {
		[PROTO_R_OK] = "ok",
		[PROTO_R_BAD_REQUEST] = "bad request",
		[PROTO_R_UNAUTHORIZED] = "unauthorized",
		[PROTO_R_FORBIDDEN] = "forbidden",
		[PROTO_R_NOT_FOUND] = "not found",
		[PROTO_R_CONFLICT] = "conflict",
		[PROTO_R_RATE_LIMITED] = "rate limited",
		[PROTO_R_UNAVAILABLE] = "unavailable",
		[PROTO_R_INTERNAL] = "internal error",
	};

	if (result < 0 || result >= PROTO_R_MAX)
		return "unknown";
	return names[result];
}

const char *
proto_counter_name(int counter)
{
	static const char *const names[PROTO_C_MAX] = {
		[PROTO_C_RATE_IDENTITY] = "rate_identity",
		[PROTO_C_RATE_TENANT] = "rate_tenant",
		[PROTO_C_AUTH_SOURCE] = "auth_fail_source",
		[PROTO_C_AUTH_FAIL] = "auth_fail",
		[PROTO_C_AUDIT_AGGREGATED] = "auth_fail_aggregated",
		[PROTO_C_LOG_DROPPED] = "auth_fail_log_dropped",
		[PROTO_C_OCSP_NONCE_SIGNED] = "ocsp_nonce_signed",
		[PROTO_C_OCSP_NONCE_DROPPED] = "ocsp_nonce_dropped",
		[PROTO_C_CRL_TIMER] = "crl_built_timer",
		[PROTO_C_CRL_FETCH] = "crl_built_fetch",
		[PROTO_C_OCSP_REFRESHED] = "ocsp_refreshed",
	};

	if (counter < 0 || counter >= PROTO_C_MAX)
		return "unknown";
	return names[counter];
}

const char *
proto_strerror(int err)
{
	static const char *const msgs[] = {
		[PROTO_OK] = "success",
		[PROTO_ERR_SHORT] = "message truncated",
		[PROTO_ERR_TRAILING] = "trailing bytes after message",
		[PROTO_ERR_TOOLONG] = "field too long",
		[PROTO_ERR_NUL] = "NUL byte inside string",
		[PROTO_ERR_VALUE] = "field value out of range",
		[PROTO_ERR_VERSION] = "wrong protocol magic or version",
		[PROTO_ERR_TYPE] = "unknown or unexpected message type",
		[PROTO_ERR_LENGTH] = "header length does not match datagram",
		[PROTO_ERR_SPACE] = "message does not fit the buffer",
		[PROTO_ERR_TRUNC] = "datagram truncated by receive buffer",
		[PROTO_ERR_EOF] = "channel closed by peer",
		[PROTO_ERR_TIMEOUT] = "timed out waiting for reply",
		[PROTO_ERR_IO] = "system call failed",
		[PROTO_ERR_ARG] = "invalid argument",
	};

	if (err < 0 || (size_t)err >= sizeof(msgs) / sizeof(msgs[0]) ||
	    msgs[err] == NULL)
		return "unknown error";
	return msgs[err];
}

void
proto_wipe(void *p, size_t len)
{
	/* explicit_bzero: the compiler may not drop it as a dead store. */
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}
