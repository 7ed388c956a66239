/*
 * Signet engine messages: the one narrow, typed, versioned interface between
 * the network front ends (HTTPS, CoAP) and the CA engine (STYLE.md 4-6).
 *
 * This library is linked by the front ends, so it links no TLS library, no
 * hsm/ code and no PKCS#11: it only moves bounded bytes.
 *
 * Wire format
 * -----------
 * One message is one SOCK_SEQPACKET datagram of at most PROTO_MAX_MSG bytes:
 *
 *	offset	size	field
 *	0	2	magic and version, PROTO_MAGIC_VERSION (0x5308)
 *	2	2	type, a PROTO_T_* value; replies set PROTO_T_REPLY
 *	4	4	request id, chosen by the sender of the request and
 *			echoed unchanged in the reply
 *	8	4	body length; must equal the datagram length minus 12
 *	12	...	body
 *
 * All integers are unsigned and big-endian.  The body is a sequence of
 * typed fields with no tags and no padding; the order is fixed per type
 * (see proto_msg.c and proto_reply.c, one function per type):
 *
 *	u8, u16, u32, u64	fixed width
 *	str	u16 length, then that many bytes; no NUL byte inside, a
 *		per-field maximum (PROTO_MAX_STR unless stated otherwise)
 *	data	u32 length, then that many bytes, a per-field maximum
 *	list	u8 or u16 count, then that many elements
 *
 * A body is valid only if it is consumed exactly: a missing byte, a byte
 * left over, an over-long field, a NUL inside a string or an out-of-range
 * enumeration value all fail decoding (the OpenSMTPD m_get_*()/m_end() model).
 *
 * Every request body starts with the client evidence (struct
 * proto_evidence), then the type's own fields.  Every reply body starts with
 * a status (result code u8, message str, u32 retry_after: seconds a
 * RATE_LIMITED or UNAVAILABLE client should wait, else 0); the type's
 * payload follows only when the result is PROTO_R_OK.  Bodies after the evidence / status:
 *
 *	type		request			reply payload (if OK)
 *	ISSUE		str tenant, str profile,	data cert, chain
 *			u8 via, str label,
 *			data csr, u32 ttl
 *	REISSUE		as ISSUE, data cur_cert	data cert, chain
 *	CACERTS		str tenant, str profile	chain (>= 1 cert)
 *	CSRATTRS	str tenant, str profile	data der (CsrAttrs)
 *	REVOKE		str tenant, data serial,	u64 revoked_at
 *			u8 reason
 *	GET_CERT	str tenant, data serial	summary, data cert
 *	LIST_CERTS	str tenant, u8 status,	u32 total, u16 n,
 *			u32 expiring_within,	n summaries
 *			str substring, u16 limit,
 *			u32 offset,
 *			str authorized_by
 *			(PROTO_MAX_AUTHBY)
 *	TOKEN_CREATE	str tenant, str profile,	str id, str secret,
 *			u8 n, n str names,	u64 expires_at
 *			u32 lifetime, u16 uses
 *	HEALTH		(nothing)		u8 state, u8 token_ok,
 *						u8 ledger_ok, u8 audit_ok,
 *						u64 uptime, u64 issued,
 *						str version, u8 n
 *						(PROTO_C_MAX), n u64
 *						counters (PROTO_C_*),
 *						u8 n (PROTO_CC_MAX), n u64
 *						CoAP counters (PROTO_CC_*),
 *						u16 n (<= PROTO_MAX_TARGETS),
 *						n target counts, token,
 *						ledger, ocsp, u8 n
 *						(<= PROTO_MAX_CRLS), n crl
 *						u8 nfailed
 *						(PROTO_MAX_FAILED),
 *						nfailed x (str child,
 *						str error): front ends
 *						signetd no longer
 *						restarts (issue 18),
 *						commit: ledger group-
 *						commit durations (hist)
 *						u8 n (PROTO_MAX_EXPIRING),
 *						n x (str tenant, str
 *						profile, str window, u64
 *						certificates), u64
 *						pending, u64 delivered,
 *						u64 failed: expiry
 *						notifications (issue 19),
 *						u64 SQLite's heap in the
 *						engine, bytes (0: another
 *						backend; issue 14)
 *	OCSP		data der request	data der response
 *	CRL		str issuer, u8 delta	data der CRL (delta: the
 *						issuer's delta CRL)
 *	PSK_LOOKUP	str identity		data key (1..PROTO_MAX_PSK),
 *			(PROTO_MAX_PSK_ID)	data handle
 *						(PROTO_PSK_HANDLE_LEN)
 *	ACME		u8 op, str label,	u16 http status, u8 ctype,
 *			str id, str detail,	str id, str location
 *			data body		(PROTO_MAX_ACME_URL), str up
 *			(PROTO_MAX_ACME_BODY)	(PROTO_MAX_ACME_URL), str
 *						nonce, data body
 *						(PROTO_MAX_BLOB), str index
 *						(PROTO_MAX_ACME_URL), u32
 *						retry_after, str next
 *						(PROTO_MAX_ACME_URL: the
 *						orders list's next page)
 *	ACME_EAB	as CACERTS		as TOKEN_CREATE (kid, HMAC
 *						key base64url, expires)
 *	ACME_VA		as ACME			as ACME
 *	COAP_STATS	u8 n (PROTO_CC_MAX),	(nothing)
 *			n u64 counters
 *	TIDY		str tenant		u64 certs, u64 tokens,
 *						u64 cutoff, u8 done
 *	NOTIFY		u8 op, u64 id,		u64 id (0: none due),
 *			u32 attempt, u16 http	u32 attempt, str url
 *			status, str detail	(PROTO_MAX_ACME_URL), str
 *						signature, data body
 *						(PROTO_MAX_NOTIFY_BODY)
 *	AUDIT_QUERY	u64 since, u64 until,	u64 next, u8 more,
 *			str tenant, str action,	u16 n (<= PROTO_MAX_AUDIT_ROWS),
 *			str actor		n records
 *			(PROTO_MAX_AUTHBY),
 *			str node (PROTO_MAX_
 *			AUDIT_NODE), u64 after,
 *			u16 limit (1..PROTO_
 *			MAX_AUDIT_LIMIT)
 *
 *	summary = data serial, u8 status, u64 not_before, u64 not_after,
 *	    u64 revoked_at, str profile, str subject,
 *	    str authorized_by (PROTO_MAX_AUTHBY; "" if not recorded)
 *	target counts = str tenant, str profile, u64 issued, u64 revoked,
 *	    u8 n (PROTO_R_MAX), n u64 refused (by enum proto_result;
 *	    the PROTO_R_OK slot is 0)
 *	token = u8 state (0 up, 1 recovering, 2 failed), u64 faults,
 *	    u64 recoveries, u64 recovery_attempts, u64 signatures,
 *	    u32 pool_size, u32 sessions_busy, u8 n (<= PROTO_MAX_BUCKETS),
 *	    n (u64 le_us, u64 count): signing time buckets, bounds
 *	    strictly increasing and the last UINT64_MAX, u64 sum_us
 *	ledger = u64 ops, u64 transactions
 *	hist = u8 n (<= PROTO_MAX_BUCKETS), n (u64 le_us, u64 count),
 *	    bounds strictly increasing and the last UINT64_MAX, u64 sum_us
 *	ocsp = u64 hits, u64 misses, u64 signatures, u64 evictions,
 *	    u64 entries
 *	crl = str issuer, u64 age (seconds), u64 bytes, u64 entries
 *	record = u64 seq, u64 time, str node (PROTO_MAX_AUDIT_NODE), then
 *	    str actor, role, tenant, action, object, result, detail (each
 *	    at most PROTO_MAX_AUDIT_FIELD), data hash (PROTO_AUDIT_HASH_LEN
 *	    bytes exactly)
 *
 * Field limits are the PROTO_MAX_* below; the largest message of every
 * type fits in one PROTO_MAX_MSG datagram (tests/unit/proto checks it),
 * except an AUDIT_QUERY reply, which the engine fills only while its
 * records fit (proto_audit_rec_size) and then ends with next set.
 *
 * Trust
 * -----
 * The front end never claims an identity or a role: it forwards what the
 * client presented (its certificate chain as the TLS layer saw it, or a
 * bootstrap token secret) and the engine re-derives identity and role from
 * it.  Nor does it resolve an EST label for an ISSUE: it forwards the
 * label of the path and the engine resolves it (issue 15).  A message
 * that does not decode, or that the engine's dispatch table
 * (firmware/engine/eng_dispatch.c) refuses with PROTO_PERM_CLOSE, means the
 * receiver closes that peer's channel; the parent then restarts the peer.
 * It never takes the engine down.
 *
 * Lifetimes
 * ---------
 * Decoders are pure functions over (const uint8_t *, size_t) that allocate
 * nothing.  Strings are copied, NUL-terminated, into fixed arrays of the
 * decoded struct; binary fields (struct proto_blob) point into the input
 * buffer and are valid only as long as that buffer is unchanged.  Bootstrap
 * token secrets are copied into the struct: wipe it with proto_wipe().
 *
 * Errors
 * ------
 * Functions return 0 (PROTO_OK) or a positive enum proto_err value;
 * proto_strerror() names it.  No function here exits or logs.
 */
#ifndef SIGNET_PROTO_H
#define SIGNET_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC_VERSION	0x5308	/* 'S', version 8: AUDIT_QUERY,
					   the ACME reply's next page
					   and HEALTH's ACME rate-limit
					   counters; version 7: NOTIFY and
					   the notify peer, the ACME
					   revoke/key-change/orders/
					   renewal-info ops, and in
					   HEALTH the ledger commit
					   histogram, expiry windows
					   and SQLite memory; version
					   6: ACME,
					   ACME_EAB, ACME_VA and the
					   validator peer, COAP_STATS,
					   CoAP counters and per-target
					   counts in HEALTH, TIDY, the
					   delta flag in CRL; version 5: the
					   EST label in ISSUE; version 4:
					   authorized_by; version 3:
					   source address,
					   retry-after, engine counters */
#define PROTO_HDR_LEN		12

/* Limits, all in bytes unless stated otherwise. */
#define PROTO_MAX_MSG		65536	/* one datagram, header included */
#define PROTO_MAX_BODY		(PROTO_MAX_MSG - PROTO_HDR_LEN)
#define PROTO_MAX_STR		255	/* labels, names, messages */
#define PROTO_MAX_TOKEN		128	/* bootstrap token secret */
#define PROTO_MAX_CSR		16384	/* PKCS#10 DER */
#define PROTO_MAX_CERT		8192	/* one certificate DER */
#define PROTO_MAX_CHAIN		32768	/* all certificates of one chain */
#define PROTO_MAX_CHAIN_CERTS	8	/* certificates in one chain */
#define PROTO_MAX_SERIAL	20	/* RFC 5280 4.1.2.2 */
#define PROTO_MAX_NAMES		16	/* allowed names of a token */
#define PROTO_MAX_LIST		64	/* summaries in one list reply */
#define PROTO_MAX_OCSP_REQ	8192	/* OCSP request DER */
#define PROTO_MAX_BLOB		61440	/* CRL, OCSP response, CSR attrs */
#define PROTO_MAX_PSK_ID	64	/* DTLS PSK identity (a token id) */
#define PROTO_MAX_FAILED	16	/* failed children in HEALTH */
#define PROTO_MAX_CHILD		31	/* a child's name: "coap", "https/3" */
#define PROTO_MAX_PSK		64	/* DTLS PSK key */
#define PROTO_PSK_HANDLE_LEN	16	/* one-time PSK handle, exactly */
#define PROTO_MAX_SRC		16	/* client address: 4 (IPv4) or 16 */
#define PROTO_MAX_AUTHBY	128	/* credential behind an issuance */
#define PROTO_MAX_ACME_BODY	49152	/* an ACME request body (a JWS) */
#define PROTO_MAX_ACME_URL	1024	/* an ACME URL (Location) */
#define PROTO_MAX_TARGETS	64	/* target counts in one HEALTH */
#define PROTO_MAX_CRLS		32	/* CRLs described in one HEALTH */
#define PROTO_MAX_BUCKETS	16	/* histogram buckets */
#define PROTO_MAX_NOTIFY_BODY	8192	/* an expiry notification (JSON) */
#define PROTO_MAX_EXPIRING	16	/* expiry windows in one HEALTH */
#define PROTO_MAX_WINDOW	15	/* a window's name: "30d", "12.5%" */
#define PROTO_MAX_AUDIT_LIMIT	1000	/* records asked for in one query */
#define PROTO_MAX_AUDIT_ROWS	256	/* records in one AUDIT_QUERY reply */
#define PROTO_MAX_AUDIT_FIELD	4096	/* a text field of an audit record */
#define PROTO_MAX_AUDIT_NODE	63	/* a PostgreSQL chain's node id */
#define PROTO_AUDIT_HASH_LEN	32	/* a record's chain hash */

enum proto_err {
	PROTO_OK = 0,
	PROTO_ERR_SHORT,	/* a field runs past the end */
	PROTO_ERR_TRAILING,	/* bytes left after the last field */
	PROTO_ERR_TOOLONG,	/* a field exceeds its maximum */
	PROTO_ERR_NUL,		/* NUL byte inside a string */
	PROTO_ERR_VALUE,	/* enumeration or count out of range */
	PROTO_ERR_VERSION,	/* wrong magic or version */
	PROTO_ERR_TYPE,		/* unknown or unexpected message type */
	PROTO_ERR_LENGTH,	/* header length disagrees with datagram */
	PROTO_ERR_SPACE,	/* encoding does not fit the buffer */
	PROTO_ERR_TRUNC,	/* datagram larger than the receive buffer */
	PROTO_ERR_EOF,		/* peer closed the channel */
	PROTO_ERR_TIMEOUT,	/* no matching reply in time */
	PROTO_ERR_IO,		/* system call failed, see errno */
	PROTO_ERR_ARG		/* caller passed an invalid argument */
};

/* Message types.  A reply has the type of its request | PROTO_T_REPLY. */
enum proto_type {
	PROTO_T_ISSUE = 1,	/* enroll: EST simpleenroll, /v1 sign */
	PROTO_T_REISSUE,	/* renew: EST simplereenroll */
	PROTO_T_CACERTS,	/* CA chain of a tenant/profile */
	PROTO_T_CSRATTRS,	/* EST csrattrs */
	PROTO_T_REVOKE,
	PROTO_T_GET_CERT,
	PROTO_T_LIST_CERTS,
	PROTO_T_TOKEN_CREATE,	/* one-time enrollment token */
	PROTO_T_HEALTH,
	PROTO_T_OCSP,
	PROTO_T_CRL,
	PROTO_T_PSK_LOOKUP,	/* DTLS PSK key of a bootstrap token id */
	PROTO_T_ACME,		/* one ACME request (RFC 8555), JWS inside */
	PROTO_T_ACME_EAB,	/* an operator makes an ACME EAB key */
	PROTO_T_ACME_VA,	/* the validator asks for work, reports */
	PROTO_T_COAP_STATS,	/* the CoAP front end's counters, for /metrics */
	PROTO_T_TIDY,		/* remove expired rows now (issue 19) */
	PROTO_T_NOTIFY,		/* signet-notify asks for a delivery, reports */
	PROTO_T_AUDIT_QUERY,	/* an auditor reads the audit log (issue 19) */
	PROTO_T_MAX		/* one past the last request type */
};
#define PROTO_T_REPLY		0x8000

/* Who sits at the other end of a channel. */
enum proto_peer {
	PROTO_PEER_HTTPS = 1,
	PROTO_PEER_COAP,
	PROTO_PEER_CONTROL,	/* the parent: supervision, health */
	PROTO_PEER_VALIDATOR,	/* ACME challenge validation (outbound) */
	PROTO_PEER_NOTIFY	/* webhook delivery (outbound, issue 19) */
};
#define PROTO_PEER_LAST		PROTO_PEER_NOTIFY

/* Engine states that gate what it accepts. */
enum proto_state {
	PROTO_STATE_STARTING = 1,	/* no token session yet */
	PROTO_STATE_READY,
	PROTO_STATE_DEGRADED,		/* token or ledger down, recovering */
	PROTO_STATE_DRAINING		/* SIGTERM: finish, take nothing new */
};

/* What the engine's admission check tells the receiver to do. */
enum proto_perm {
	PROTO_PERM_ALLOW = 0,
	PROTO_PERM_UNAVAILABLE,	/* answer PROTO_R_UNAVAILABLE, keep channel */
	PROTO_PERM_CLOSE	/* protocol violation: close the channel */
};

/* Reply result codes; the front end maps them to HTTP/CoAP status. */
enum proto_result {
	PROTO_R_OK = 0,
	PROTO_R_BAD_REQUEST,
	PROTO_R_UNAUTHORIZED,
	PROTO_R_FORBIDDEN,
	PROTO_R_NOT_FOUND,
	PROTO_R_CONFLICT,
	PROTO_R_RATE_LIMITED,
	PROTO_R_UNAVAILABLE,
	PROTO_R_INTERNAL,
	PROTO_R_MAX
};

/* Client evidence kinds and where a bootstrap token came from. */
enum proto_ev_kind {
	PROTO_EV_NONE = 0,
	PROTO_EV_CERTS,		/* client certificate chain, leaf first */
	PROTO_EV_TOKEN		/* one-time bootstrap token secret */
};

enum proto_token_src {
	PROTO_TOKSRC_NONE = 0,
	PROTO_TOKSRC_HTTP_AUTH,	/* HTTP Authorization header */
	PROTO_TOKSRC_PSK_ID	/* DTLS PSK identity */
};

/* RFC 5280 5.3.1 CRLReason; value 7 is unused and refused. */
#define PROTO_REASON_MAX	10

enum proto_cert_status {
	PROTO_CS_ANY = 0,	/* list filter only */
	PROTO_CS_VALID,
	PROTO_CS_REVOKED,
	PROTO_CS_EXPIRED
};

/* Binary field: points into the decoded buffer, or into caller memory. */
struct proto_blob {
	const uint8_t	*ptr;
	size_t		 len;
};

/*
 * Certificates as DER, leaf first: at most PROTO_MAX_CHAIN_CERTS, each at
 * most PROTO_MAX_CERT and together at most PROTO_MAX_CHAIN bytes.
 * Wire: u8 count, then count data fields.
 */
struct proto_chain {
	uint8_t			 ncerts;
	struct proto_blob	 certs[PROTO_MAX_CHAIN_CERTS];
};

/*
 * What the client presented, exactly as the TLS/DTLS layer saw it.  The
 * engine verifies it itself; peer must equal the channel's own peer kind.
 * src is the client's network address as the front end's socket saw it
 * (0 bytes: none, the parent; 4: IPv4; 16: IPv6), which the engine keys
 * per-source budgets on (authentication failures, OCSP nonces).
 * Wire: u8 peer, u8 kind, data src (0, 4 or 16 bytes), then for CERTS a chain of at least one
 * certificate, for TOKEN u8 token_src and str token (PROTO_MAX_TOKEN),
 * and for a PSK_ID token also data psk_handle (PROTO_PSK_HANDLE_LEN
 * bytes exactly): the handle the engine gave with the PSK of that
 * session's handshake (PSK_LOOKUP).
 */
struct proto_evidence {
	uint8_t			 peer;		/* enum proto_peer */
	uint8_t			 kind;		/* enum proto_ev_kind */
	uint8_t			 token_src;	/* enum proto_token_src */
	char			 token[PROTO_MAX_TOKEN + 1];	/* secret */
	uint8_t			 psk_handle[PROTO_PSK_HANDLE_LEN];
	struct proto_chain	 chain;
	uint8_t			 src_len;	/* 0, 4 or 16 */
	uint8_t			 src[PROTO_MAX_SRC];
};

/*
 * How an ISSUE names where it issues.  NAMED: tenant and profile as given
 * (the JSON API; "" is the identity's own).  EST: an EST path, whose label
 * the engine resolves itself ("" is the unlabelled path, est_default);
 * tenant and profile are then empty, and label is empty for NAMED.
 */
enum proto_via { PROTO_VIA_NAMED = 0, PROTO_VIA_EST = 1 };

/* ISSUE and REISSUE; cur_cert is used by REISSUE only. */
struct proto_issue_req {
	char			 tenant[PROTO_MAX_STR + 1];
	char			 profile[PROTO_MAX_STR + 1];
	uint8_t			 via;	/* enum proto_via */
	char			 label[PROTO_MAX_STR + 1];
	struct proto_blob	 csr;
	uint32_t		 ttl;	/* seconds, 0: profile default */
	struct proto_blob	 cur_cert;
};

/* CACERTS and CSRATTRS; an empty string means the default. */
struct proto_target_req {
	char	tenant[PROTO_MAX_STR + 1];
	char	profile[PROTO_MAX_STR + 1];
};

struct proto_revoke_req {
	char			 tenant[PROTO_MAX_STR + 1];
	struct proto_blob	 serial;
	uint8_t			 reason;
};

struct proto_get_cert_req {
	char			 tenant[PROTO_MAX_STR + 1];
	struct proto_blob	 serial;
};

struct proto_list_req {
	char		tenant[PROTO_MAX_STR + 1];
	uint8_t		status;		/* enum proto_cert_status */
	uint32_t	expiring_within; /* seconds, 0: no filter */
	char		substring[PROTO_MAX_STR + 1];
	uint16_t	limit;		/* 1..PROTO_MAX_LIST */
	uint32_t	offset;
	char		authorized_by[PROTO_MAX_AUTHBY + 1]; /* "": any */
};

struct proto_token_req {
	char		tenant[PROTO_MAX_STR + 1];
	char		profile[PROTO_MAX_STR + 1];
	uint8_t		nnames;
	char		names[PROTO_MAX_NAMES][PROTO_MAX_STR + 1];
	uint32_t	lifetime;	/* seconds until the token expires */
	uint16_t	uses;		/* >= 1 */
};

struct proto_ocsp_req {
	struct proto_blob	der;
};

struct proto_crl_req {
	char	issuer[PROTO_MAX_STR + 1];	/* empty: default issuer */
	uint8_t	delta;		/* 1: its delta CRL (issue 19), else 0 */
};

/*
 * PSK_LOOKUP: the CoAP front end asks, during a DTLS handshake, for the PSK
 * key of the identity the client sent.  The identity is the id part of an
 * enrollment token "<id>.<secret>"; the key is the first 32 lowercase hex
 * characters of HMAC-SHA256(key = SHA-256(the whole token string),
 * msg = "signet dtls psk"), computed by the device from the token it was
 * given and by the engine from the token it re-derives from the id with
 * the HMAC token key in the HSM and checks against the verifier the
 * ledger stores (docs/decisions.md, "Enrollment tokens and the DTLS PSK"):
 * the ledger holds no PSK key and alone does not suffice.  Rows stored
 * before the token key (SHA-256(token)) get no PSK: HTTPS only.
 * Only PROTO_PEER_COAP may ask, with evidence kind NONE (the handshake has
 * not finished, so there is nothing to present yet).  The reply carries a
 * random one-time handle: an enrollment over that session must present it
 * (proto_evidence.psk_handle), once, within a minute.  NOT_FOUND answers
 * an unknown, expired or used-up token (or one the engine cannot derive);
 * it never reveals which.
 */
struct proto_psk_req {
	char	identity[PROTO_MAX_PSK_ID + 1];
};

/*
 * ACME: the front end forwards what the client sent, the engine verifies
 * and answers (docs/acme.md).  op is an ACME_OP_*; label the directory's
 * EST label; id the resource id of the path (order, authz, challenge,
 * account or certificate), "" where there is none; body the raw request
 * body (a flattened JWS) or empty for GET.  For ACME_VA (the validator):
 * VA_NEXT asks for one challenge to validate, VA_RESULT reports on id:
 * body what the server answered (at most 8 KiB), detail why it failed
 * ("" when it answered; the engine compares the body itself).
 */
enum proto_acme_op {
	PROTO_ACME_DIRECTORY = 1,
	PROTO_ACME_NONCE,
	PROTO_ACME_NEW_ACCOUNT,
	PROTO_ACME_ACCOUNT,
	PROTO_ACME_NEW_ORDER,
	PROTO_ACME_ORDER,
	PROTO_ACME_AUTHZ,
	PROTO_ACME_CHALLENGE,
	PROTO_ACME_FINALIZE,
	PROTO_ACME_CERT,
	PROTO_ACME_VA_NEXT,
	PROTO_ACME_VA_RESULT,
	PROTO_ACME_REVOKE,	/* revoke-cert (RFC 8555 7.6) */
	PROTO_ACME_KEY_CHANGE,	/* key-change (7.3.5) */
	PROTO_ACME_ORDERS,	/* acct/<id>/orders (7.1.2.1) */
	PROTO_ACME_RENEWAL_INFO, /* GET renewal-info/<CertID> (RFC 9773) */
	PROTO_ACME_OP_MAX	/* one past the last */
};

/* What the body of an ACME reply is. */
enum proto_acme_ctype {
	PROTO_ACME_CT_NONE = 0,
	PROTO_ACME_CT_JSON,	/* application/json */
	PROTO_ACME_CT_PROBLEM,	/* application/problem+json */
	PROTO_ACME_CT_PEM,	/* application/pem-certificate-chain */
	PROTO_ACME_CT_MAX
};

struct proto_acme_req {
	uint8_t			 op;	/* enum proto_acme_op */
	char			 label[PROTO_MAX_STR + 1];
	char			 id[PROTO_MAX_STR + 1];
	char			 detail[PROTO_MAX_STR + 1];
	struct proto_blob	 body;
};

/*
 * The HTTP answer the engine made: status, content type, body, the
 * Location (or for VA_NEXT the URL to fetch) and a fresh Replay-Nonce.
 * id names the resource (VA_NEXT: the challenge; "" for none).  VA_NEXT
 * of a dns identifier: up is the identifier (CAA), index the account's id
 * (RFC 8657 accounturi).
 */
struct proto_acme_rep {
	uint16_t		 status;
	uint8_t			 ctype;	/* enum proto_acme_ctype */
	char			 id[PROTO_MAX_STR + 1];
	char			 location[PROTO_MAX_ACME_URL + 1];
	char			 up[PROTO_MAX_ACME_URL + 1];	/* Link rel=up */
	char			 nonce[PROTO_MAX_STR + 1];
	struct proto_blob	 body;
	char			 index[PROTO_MAX_ACME_URL + 1]; /* rel=index */
	uint32_t		 retry_after;	/* seconds; 0: none */
	char			 next[PROTO_MAX_ACME_URL + 1]; /* rel=next */
};

/*
 * The CoAP front end's counters since it started, as one snapshot.
 * signet-coap has no listener for /metrics, so it sends them to the
 * engine (at most once a second while they move, and when it stops);
 * the engine keeps the last snapshot and hands it out with HEALTH.
 * Only PROTO_PEER_COAP may send it, with evidence kind NONE.
 */
enum proto_coap_counter {
	PROTO_CC_REQUESTS = 0,		/* requests handled */
	PROTO_CC_ENROLLED,		/* certificates returned */
	PROTO_CC_ERRORS,		/* answered with an error */
	PROTO_CC_HANDSHAKES,		/* DTLS handshakes completed */
	PROTO_CC_HANDSHAKE_FAILED,	/* DTLS handshakes failed */
	PROTO_CC_PSK_OK,		/* PSK identities the engine knew */
	PROTO_CC_PSK_REFUSED,		/* ... it did not */
	PROTO_CC_RATE_LIMITED,		/* answered 4.29 */
	PROTO_CC_TOO_LARGE,		/* Block1 body over max_body: 4.13 */
	PROTO_CC_BODIES_REFUSED,	/* Block1 budgets full: 5.03 */
	PROTO_CC_BODIES_REAPED,		/* Block1 bodies past a deadline */
	PROTO_CC_REPLAYED,		/* retransmissions from the cache */
	PROTO_CC_DUP_INFLIGHT,		/* ... of a request in flight */
	PROTO_CC_BUSY,			/* no room for an exchange: 5.03 */
	PROTO_CC_EVICTED,		/* answers pushed out of the cache */
	PROTO_CC_HELLO_PASSED,		/* new sources' ClientHellos passed on
					   without our cookie (budget) */
	PROTO_CC_HELLO_COOKIE,		/* ... passed on with our cookie */
	PROTO_CC_HELLO_ANSWERED,	/* ... answered by us (HelloVerify) */
	PROTO_CC_HELLO_BAD,		/* ... malformed, dropped */
	PROTO_CC_SESSIONS_NEW,		/* sessions libcoap made */
	PROTO_CC_MAX
};

struct proto_coap_stats_req {
	uint64_t	counters[PROTO_CC_MAX];	/* enum proto_coap_counter */
};

/* TIDY: an operator asks for a tidy run of one tenant (issue 19). */
struct proto_tidy_req {
	char	tenant[PROTO_MAX_STR + 1];
};

/*
 * NOTIFY (issue 19, docs/notify.md): signet-notify asks for the next
 * expiry notification due (NEXT) and reports on a delivery (RESULT: id
 * and attempt as handed out, the receiver's HTTP status, 0 if it never
 * answered, and why it failed, "" if it answered 2xx).  The engine
 * builds and signs the body, so the delivery process holds no key and
 * cannot word a notification itself.
 */
enum proto_notify_op {
	PROTO_NOTIFY_NEXT = 1,
	PROTO_NOTIFY_RESULT,
	PROTO_NOTIFY_OP_MAX	/* one past the last */
};

struct proto_notify_req {
	uint8_t		op;	/* enum proto_notify_op */
	uint64_t	id;
	uint32_t	attempt;
	uint16_t	status;
	char		detail[PROTO_MAX_STR + 1];
};

/*
 * AUDIT_QUERY (issue 19, GET /v1/audit): records of one chain (node ""
 * is the engine's own: SQLite's single chain, or this node's in a
 * PostgreSQL cluster) with seq > after, in seq order, matching every
 * filter given: time in [since, until) (0: unbounded), tenant, action (an
 * audit action name: "issue", "revoke", ...), actor (the credential the
 * record's detail names as cred=...: "cert:sha256:<hex>", "token:<id>",
 * "control", "acme-jws").  "" matches any.
 */
struct proto_audit_req {
	uint64_t	since;
	uint64_t	until;
	char		tenant[PROTO_MAX_STR + 1];
	char		action[PROTO_MAX_STR + 1];
	char		actor[PROTO_MAX_AUTHBY + 1];
	char		node[PROTO_MAX_AUDIT_NODE + 1];
	uint64_t	after;
	uint16_t	limit;		/* 1..PROTO_MAX_AUDIT_LIMIT */
};

/* A decoded or to-be-encoded request: type selects the union member. */
struct proto_request {
	uint16_t		 type;
	struct proto_evidence	 ev;
	union {
		struct proto_issue_req		issue;	/* ISSUE, REISSUE */
		struct proto_target_req		target;	/* CACERTS, CSRATTRS */
		struct proto_revoke_req		revoke;
		struct proto_get_cert_req	get;
		struct proto_list_req		list;
		struct proto_token_req		token;
		struct proto_ocsp_req		ocsp;
		struct proto_crl_req		crl;
		struct proto_psk_req		psk;
		struct proto_acme_req		acme;	/* ACME, ACME_VA */
		struct proto_coap_stats_req	coap;	/* COAP_STATS */
		struct proto_tidy_req		tidy;
		struct proto_notify_req		notify;
		struct proto_audit_req		audit;	/* AUDIT_QUERY */
	} u;					/* HEALTH has no fields */
};

struct proto_status {
	uint8_t		result;				/* enum proto_result */
	char		message[PROTO_MAX_STR + 1];	/* for humans */
	uint32_t	retry_after;	/* seconds; 0: say nothing */
};

struct proto_cert_summary {
	struct proto_blob	 serial;
	uint8_t			 status;	/* enum proto_cert_status */
	uint64_t		 not_before;	/* seconds since the epoch */
	uint64_t		 not_after;
	uint64_t		 revoked_at;	/* 0: not revoked */
	char			 profile[PROTO_MAX_STR + 1];
	char			 subject[PROTO_MAX_STR + 1];
	char			 authorized_by[PROTO_MAX_AUTHBY + 1];
};

/* ISSUE, REISSUE: the new certificate and the chain up to the root. */
struct proto_cert_rep {
	struct proto_blob	cert;
	struct proto_chain	chain;
};

struct proto_get_cert_rep {
	struct proto_cert_summary	sum;
	struct proto_blob		cert;
};

struct proto_list_rep {
	uint32_t			total;	/* matches before limit */
	uint16_t			n;
	struct proto_cert_summary	items[PROTO_MAX_LIST];
};

struct proto_token_rep {
	char		id[PROTO_MAX_STR + 1];	/* public handle, for logs */
	char		secret[PROTO_MAX_TOKEN + 1];
	uint64_t	expires_at;
};

/*
 * PSK_LOOKUP: a secret; wipe the reply and its buffer after use.  tenant
 * and profile are the token's, so the front end lists in discovery only
 * what the session may use.
 */
struct proto_psk_rep {
	uint8_t		len;
	uint8_t		key[PROTO_MAX_PSK];
	uint8_t		handle[PROTO_PSK_HANDLE_LEN];	/* one-time */
	char		tenant[PROTO_MAX_STR + 1];
	char		profile[PROTO_MAX_STR + 1];
};

/*
 * TIDY: what this call removed, the expiry cutoff it used, and whether
 * the tenant is done (0: the call's time budget ran out; ask again).
 */
struct proto_tidy_rep {
	uint64_t	certs;
	uint64_t	tokens;
	uint64_t	cutoff;		/* seconds since the epoch */
	uint8_t		done;		/* 0 or 1 */
};

/*
 * NOTIFY NEXT: the delivery (id 0: none due), where to POST it, the body
 * and its signature header value ("sha256=<hex HMAC>").  RESULT: empty
 * apart from the status.
 */
struct proto_notify_rep {
	uint64_t		 id;
	uint32_t		 attempt;
	char			 url[PROTO_MAX_ACME_URL + 1];
	char			 signature[PROTO_MAX_STR + 1];
	struct proto_blob	 body;
};

/*
 * One audit record as stored (audit.h): text fields point into the
 * decoded buffer and are not NUL-terminated (UTF-8, no NUL inside).
 */
struct proto_audit_rec {
	uint64_t		 seq;
	uint64_t		 time;		/* seconds since the epoch */
	struct proto_blob	 node;
	struct proto_blob	 actor, role, tenant, action, object, result,
				 detail;
	uint8_t			 hash[PROTO_AUDIT_HASH_LEN];
};

/*
 * AUDIT_QUERY: at most PROTO_MAX_AUDIT_ROWS records within one datagram;
 * next is the after of the following page; more is 1 when the log held
 * records past next at the time of the call (a page may be short, even
 * empty, with more set: the engine examines a bounded stretch of the log
 * per call), 0 when next is the end (ask again later to follow the log).
 */
struct proto_audit_rep {
	uint64_t		next;
	uint8_t			more;		/* 0 or 1 */
	uint16_t		n;
	struct proto_audit_rec	recs[PROTO_MAX_AUDIT_ROWS];
};

/*
 * Engine counters carried by HEALTH, for /metrics: refusals by the
 * engine's limits, which apply to every front end alike, and from
 * PROTO_C_CRL_TIMER on the background revocation refresh (issue 19).
 */
enum proto_counter {
	PROTO_C_RATE_IDENTITY = 0,	/* identity over its rate */
	PROTO_C_RATE_TENANT,		/* tenant over its rate */
	PROTO_C_AUTH_SOURCE,		/* source over its failure budget */
	PROTO_C_AUTH_FAIL,		/* authentication failures */
	PROTO_C_AUDIT_AGGREGATED,	/* failures folded into a count row */
	PROTO_C_LOG_DROPPED,		/* failure log lines not written */
	PROTO_C_OCSP_NONCE_SIGNED,	/* OCSP answers signed for a nonce */
	PROTO_C_OCSP_NONCE_DROPPED,	/* nonce not echoed: over budget */
	PROTO_C_CRL_TIMER,		/* CRLs built by the refresh timer */
	PROTO_C_CRL_FETCH,		/* CRLs built because a fetch found one due */
	PROTO_C_OCSP_REFRESHED,		/* cached OCSP answers re-signed by the timer */
	PROTO_C_OCSP_CAPPED,		/* on-demand OCSP signature over the
					   appliance-wide rate_ocsp_sign */
	PROTO_C_ACME_ORDERS,		/* ACME newOrder over the account's
					   acme_orders_per_account */
	PROTO_C_ACME_FAILED_AUTHZ,	/* ACME newOrder refused: too many
					   failed validations (account) */
	PROTO_C_ACME_ACCOUNTS,		/* ACME newAccount over the source's
					   acme_accounts_per_source */
	PROTO_C_MAX
};

/*
 * Counts per tenant and profile (issue 19) since the engine started.
 * Names are those of the configuration, never a client's words, so the
 * label set is bounded by the configuration (and PROTO_MAX_TARGETS);
 * requests refused before a configured target was resolved count under
 * "" and "".
 */
struct proto_target_counts {
	char		tenant[PROTO_MAX_STR + 1];
	char		profile[PROTO_MAX_STR + 1];
	uint64_t	issued;
	uint64_t	revoked;
	uint64_t	refused[PROTO_R_MAX];	/* by enum proto_result */
};

/* The token, as hsm_status() says (issue 19). */
struct proto_token_stats {
	uint8_t		state;		/* 0 up, 1 recovering, 2 failed */
	uint64_t	faults, recoveries, recovery_attempts, signatures;
	uint32_t	pool_size, sessions_busy;
	uint8_t		nbuckets;
	uint64_t	le_us[PROTO_MAX_BUCKETS];	/* UINT64_MAX: +Inf */
	uint64_t	count[PROTO_MAX_BUCKETS];	/* not cumulative */
	uint64_t	sum_us;
};

/* A latency histogram: counts per bucket, not cumulative (issue 19). */
struct proto_hist {
	uint8_t		nbuckets;
	uint64_t	le_us[PROTO_MAX_BUCKETS];	/* UINT64_MAX: +Inf */
	uint64_t	count[PROTO_MAX_BUCKETS];
	uint64_t	sum_us;
};

/* One issuer's current CRL; issuer is the configuration's name. */
struct proto_crl_stats {
	char		issuer[PROTO_MAX_STR + 1];
	uint64_t	age;		/* seconds since thisUpdate */
	uint64_t	bytes;
	uint64_t	entries;
};

/*
 * Certificates of a tenant and profile that crossed a notification
 * threshold (window) and have not expired: issued, not revoked (issue 19).
 */
struct proto_expiring {
	char		tenant[PROTO_MAX_STR + 1];
	char		profile[PROTO_MAX_STR + 1];
	char		window[PROTO_MAX_WINDOW + 1];
	uint64_t	certificates;
};

/*
 * A child signetd marked failed: it failed at start-up with the same
 * error several times in a row and is not restarted until SIGHUP.
 */
struct proto_failed {
	char		child[PROTO_MAX_CHILD + 1];
	char		error[PROTO_MAX_STR + 1];
};

struct proto_health_rep {
	uint8_t		state;		/* enum proto_state */
	uint8_t		token_ok;
	uint8_t		ledger_ok;
	uint8_t		audit_ok;
	uint64_t	uptime;		/* seconds */
	uint64_t	issued;		/* certificates since start */
	char		version[PROTO_MAX_STR + 1];
	uint64_t	counters[PROTO_C_MAX];	/* enum proto_counter */
	uint64_t	coap[PROTO_CC_MAX];	/* last COAP_STATS, or 0 */
	uint16_t	ntargets;
	struct proto_target_counts targets[PROTO_MAX_TARGETS];
	struct proto_token_stats token;
	uint64_t	ledger_ops, ledger_transactions;	/* group commit */
	uint64_t	ocsp_hits, ocsp_misses, ocsp_signatures,
			ocsp_evictions, ocsp_entries;	/* answer cache */
	uint8_t		ncrls;		/* built CRLs only */
	struct proto_crl_stats crls[PROTO_MAX_CRLS];
	/* From signetd over the control channel (issue 18). */
	uint8_t		nfailed;
	struct proto_failed failed[PROTO_MAX_FAILED];
	struct proto_hist ledger_commit;	/* group-commit durations */
	/* Expiry notifications (issue 19): per configured window, and the
	 * queue's deliveries by state. */
	uint8_t		nexpiring;
	struct proto_expiring expiring[PROTO_MAX_EXPIRING];
	uint64_t	notify_pending, notify_delivered, notify_failed;
	uint64_t	ledger_sqlite_mem;	/* bytes (issue 14) */
};

/*
 * A decoded or to-be-encoded reply: type is the request type (without
 * PROTO_T_REPLY); the union member is meaningful only if status is OK.
 */
struct proto_reply {
	uint16_t		type;
	struct proto_status	status;
	union {
		struct proto_cert_rep		cert;	/* ISSUE, REISSUE */
		struct proto_chain		chain;	/* CACERTS */
		struct proto_blob		der; /* CSRATTRS, OCSP, CRL */
		uint64_t			revoked_at; /* REVOKE */
		struct proto_get_cert_rep	get;
		struct proto_list_rep		list;
		struct proto_token_rep		token;
		struct proto_health_rep		health;
		struct proto_psk_rep		psk;	/* PSK_LOOKUP */
		struct proto_acme_rep		acme;	/* ACME, ACME_VA */
		struct proto_tidy_rep		tidy;
		struct proto_notify_rep		notify;
		struct proto_audit_rep		audit;	/* AUDIT_QUERY */
	} u;
};

struct proto_hdr {
	uint16_t	version;
	uint16_t	type;
	uint32_t	id;
	uint32_t	len;
};

/*
 * Bounded read cursor.  Errors are sticky: after the first failure every
 * getter fails with the same code and stores zero, so a decoder may read a
 * run of fields and check once, at proto_end().
 */
struct proto_cur {
	const uint8_t	*buf;
	size_t		 len;
	size_t		 off;
	int		 err;
};

/* Bounded writer into caller memory; errors are sticky as for the cursor. */
struct proto_wbuf {
	uint8_t		*buf;
	size_t		 size;
	size_t		 len;
	int		 err;
};

/* Cursor: start reading len bytes at buf; buf is not copied. */
void	proto_cur_init(struct proto_cur *, const uint8_t *buf, size_t len);
/* Mark the cursor failed with err unless it already failed. */
int	proto_cur_fail(struct proto_cur *, int err);
int	proto_get_u8(struct proto_cur *, uint8_t *);
int	proto_get_u16(struct proto_cur *, uint16_t *);
int	proto_get_u32(struct proto_cur *, uint32_t *);
int	proto_get_u64(struct proto_cur *, uint64_t *);
/* A str field of at most max bytes; *ptr points into the cursor's buffer. */
int	proto_get_str(struct proto_cur *, size_t max, const char **ptr,
	    size_t *len);
/* A str field copied NUL-terminated into dst; max is dstsize - 1. */
int	proto_get_strbuf(struct proto_cur *, char *dst, size_t dstsize);
/* A data field of at most max bytes; *ptr points into the cursor's buffer. */
int	proto_get_data(struct proto_cur *, size_t max, const uint8_t **ptr,
	    size_t *len);
/* The sticky error, or PROTO_ERR_TRAILING unless every byte was read. */
int	proto_end(struct proto_cur *);

/* Writer: start writing into buf of size bytes. */
void	proto_wbuf_init(struct proto_wbuf *, uint8_t *buf, size_t size);
int	proto_put_u8(struct proto_wbuf *, uint8_t);
int	proto_put_u16(struct proto_wbuf *, uint16_t);
int	proto_put_u32(struct proto_wbuf *, uint32_t);
int	proto_put_u64(struct proto_wbuf *, uint64_t);
/* A str field; fails on len > max or a NUL inside. */
int	proto_put_str(struct proto_wbuf *, size_t max, const char *s,
	    size_t len);
/* A NUL-terminated string as a str field. */
int	proto_put_cstr(struct proto_wbuf *, size_t max, const char *s);
int	proto_put_data(struct proto_wbuf *, size_t max, const void *p,
	    size_t len);

/*
 * Message level.  proto_hdr_parse() checks a whole datagram (header,
 * version, body length equal to what follows) and points *body into msg.
 * It does not judge the type.
 */
int	proto_hdr_parse(const uint8_t *msg, size_t len, struct proto_hdr *,
	    const uint8_t **body);
/* Write the 12-byte header for a body of bodylen bytes into out. */
int	proto_hdr_write(uint8_t out[PROTO_HDR_LEN], uint16_t type,
	    uint32_t id, size_t bodylen);

/*
 * Encode req (req->type selects the fields) as a body into buf of size
 * bytes; *len receives the body length.  Fails with PROTO_ERR_SPACE if it
 * does not fit and PROTO_ERR_TOOLONG/VALUE if a field is out of bounds, so
 * a front end cannot emit a message the engine would refuse to decode.
 */
int	proto_request_encode(const struct proto_request *, uint8_t *buf,
	    size_t size, size_t *len);
/*
 * Decode a request body of the given type into *req, which is overwritten
 * whether or not decoding succeeds.  Blobs point into body.
 */
int	proto_request_decode(uint16_t type, const uint8_t *body, size_t len,
	    struct proto_request *req);
/*
 * Same as the request pair, for replies.  rep->type and the decoder's type
 * are the request type; the decoder also takes it with PROTO_T_REPLY set,
 * as it came in the header.  A decoded reply holds no secret but a token
 * secret (TOKEN_CREATE) and a PSK key (PSK_LOOKUP): wipe it with
 * proto_wipe() once it is used, and the receive buffer with it.
 */
int	proto_reply_encode(const struct proto_reply *, uint8_t *buf,
	    size_t size, size_t *len);
int	proto_reply_decode(uint16_t type, const uint8_t *body, size_t len,
	    struct proto_reply *rep);

/*
 * Send one message: header and body as a single datagram.  Retries on
 * EINTR; never raises SIGPIPE.  body may be NULL if len is 0.
 */
int	proto_send(int fd, uint16_t type, uint32_t id, const void *body,
	    size_t len);
/*
 * Receive one datagram into buf (size should be PROTO_MAX_MSG) and check
 * its header; *body points into buf.  Blocks unless fd is non-blocking
 * (then PROTO_ERR_IO with errno EAGAIN).  A datagram larger than size,
 * a wrong version or a length mismatch fail; the caller closes the channel.
 */
int	proto_recv(int fd, uint8_t *buf, size_t size, struct proto_hdr *,
	    const uint8_t **body);
/*
 * The front end's one request/reply helper: send a request of type with a
 * fresh id, then wait at most timeout_ms in total for the reply with that
 * id.  Replies with another id (answers to calls that timed out earlier)
 * are discarded.  A reply with the right id but not type | PROTO_T_REPLY
 * is PROTO_ERR_TYPE.  On success *body (into buf) and *bodylen hold the
 * reply body for proto_reply_decode().  On any failure but TIMEOUT the
 * channel is unusable and must be closed.
 */
int	proto_call(int fd, uint16_t type, const void *req, size_t reqlen,
	    uint8_t *buf, size_t size, int timeout_ms, const uint8_t **body,
	    size_t *bodylen);

/* Bytes one AUDIT_QUERY record takes in a reply body (proto_audit.c). */
size_t	proto_audit_rec_size(const struct proto_audit_rec *);

/* Wipe a decoded request or reply (bootstrap token secrets). */
void	proto_wipe(void *p, size_t len);

const char	*proto_strerror(int err);
/* "issue", "cacerts", ...; "unknown" for anything else. */
const char	*proto_type_name(uint16_t type);
const char	*proto_result_name(int result);
/* "rate_identity", ... for metrics; "unknown" for anything else. */
const char	*proto_counter_name(int counter);
/* "requests", ... (enum proto_coap_counter); "unknown" otherwise. */
const char	*proto_coap_counter_name(int counter);

/*
 * Control channel, parent to engine: send one descriptor with the peer kind
 * (enum proto_peer) of the front end at its other end.  proto_recv_fd
 * returns 1 with *kind and *fd set, 0 when the parent closed the channel,
 * -1 on a malformed datagram (anything attached is closed).
 */
int proto_send_fd(int sock, uint8_t kind, int fd);
int proto_recv_fd(int sock, uint8_t *kind, int *fd);

/*
 * Control channel, parent to engine, without a descriptor: the children
 * signetd marked failed (issue 18), sent whole whenever the list changes
 * and to every new engine.  One datagram: u8 PROTO_CTL_FAILED, u8 n
 * (PROTO_MAX_FAILED), n x (str child (PROTO_MAX_CHILD), str error
 * (PROTO_MAX_STR)).
 *
 * proto_recv_ctl reads one control datagram of either kind into buf:
 * 1 with *len bytes and *fd (-1 if none came), 0 when the parent closed
 * the channel, -1 if it is malformed or larger than size (anything
 * attached is closed).
 */
#define PROTO_CTL_FAILED	0x80	/* not an enum proto_peer */
#define PROTO_CTL_MAX		(2 + PROTO_MAX_FAILED * \
				 (8 + PROTO_MAX_CHILD + PROTO_MAX_STR))

int proto_recv_ctl(int sock, uint8_t *buf, size_t size, size_t *len, int *fd);
int proto_ctl_failed_encode(const struct proto_failed *f, size_t n,
    uint8_t *buf, size_t size, size_t *len);
/* Pure: decodes a PROTO_CTL_FAILED datagram into f[PROTO_MAX_FAILED]. */
int proto_ctl_failed_decode(const uint8_t *buf, size_t len,
    struct proto_failed *f, uint8_t *n);
int proto_send_ctl(int sock, const uint8_t *buf, size_t len);

#endif /* SIGNET_PROTO_H */
