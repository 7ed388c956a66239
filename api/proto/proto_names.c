/*
 * The names of things: message types, results, counters and errors, for
 * logs and replies.  What a peer may ask the engine is not decided here
 * but in the engine's dispatch table (firmware/engine/eng_dispatch.c).
 */
#include <string.h>

#include "signet/proto.h"

const char *
proto_type_name(uint16_t type)
{
	static const char *const names[PROTO_T_MAX] = {
		[PROTO_T_ISSUE] = "issue",
		[PROTO_T_REISSUE] = "reissue",
		[PROTO_T_CACERTS] = "cacerts",
		[PROTO_T_CSRATTRS] = "csrattrs",
		[PROTO_T_REVOKE] = "revoke",
		[PROTO_T_GET_CERT] = "get_cert",
		[PROTO_T_LIST_CERTS] = "list_certs",
		[PROTO_T_TOKEN_CREATE] = "token_create",
		[PROTO_T_HEALTH] = "health",
		[PROTO_T_OCSP] = "ocsp",
		[PROTO_T_CRL] = "crl",
		[PROTO_T_PSK_LOOKUP] = "psk_lookup",
		[PROTO_T_ACME] = "acme",
		[PROTO_T_ACME_EAB] = "acme_eab",
		[PROTO_T_ACME_VA] = "acme_va",
		[PROTO_T_COAP_STATS] = "coap_stats",
		[PROTO_T_TIDY] = "tidy",
		[PROTO_T_NOTIFY] = "notify",
		[PROTO_T_AUDIT_QUERY] = "audit_query",
	};
	uint16_t base = type & (uint16_t)~PROTO_T_REPLY;

	if (base == 0 || base >= PROTO_T_MAX || names[base] == NULL)
		return "unknown";
	return names[base];
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
		[PROTO_C_OCSP_CAPPED] = "ocsp_sign_capped",
		[PROTO_C_ACME_ORDERS] = "acme_rate_orders",
		[PROTO_C_ACME_FAILED_AUTHZ] = "acme_rate_failed_authz",
		[PROTO_C_ACME_ACCOUNTS] = "acme_rate_accounts",
	};

	if (counter < 0 || counter >= PROTO_C_MAX)
		return "unknown";
	return names[counter];
}

const char *
proto_coap_counter_name(int counter)
{
	static const char *const names[PROTO_CC_MAX] = {
		[PROTO_CC_REQUESTS] = "requests",
		[PROTO_CC_ENROLLED] = "enrolled",
		[PROTO_CC_ERRORS] = "errors",
		[PROTO_CC_HANDSHAKES] = "handshakes",
		[PROTO_CC_HANDSHAKE_FAILED] = "handshake_failed",
		[PROTO_CC_PSK_OK] = "psk_ok",
		[PROTO_CC_PSK_REFUSED] = "psk_refused",
		[PROTO_CC_RATE_LIMITED] = "rate_limited",
		[PROTO_CC_TOO_LARGE] = "too_large",
		[PROTO_CC_BODIES_REFUSED] = "bodies_refused",
		[PROTO_CC_BODIES_REAPED] = "bodies_reaped",
		[PROTO_CC_REPLAYED] = "replayed",
		[PROTO_CC_DUP_INFLIGHT] = "dup_inflight",
		[PROTO_CC_BUSY] = "busy",
		[PROTO_CC_EVICTED] = "evicted",
		[PROTO_CC_HELLO_PASSED] = "hello_passed",
		[PROTO_CC_HELLO_COOKIE] = "hello_cookie",
		[PROTO_CC_HELLO_ANSWERED] = "hello_answered",
		[PROTO_CC_HELLO_BAD] = "hello_bad",
		[PROTO_CC_SESSIONS_NEW] = "sessions_new",
	};

	if (counter < 0 || counter >= PROTO_CC_MAX)
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
