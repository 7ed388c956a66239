/*
 * Internal to the CoAP front end (signet-coap): one process, one
 * coap_context_t, one engine channel.  A confirmable request that needs
 * the engine is answered with an empty ACK and a separate response once
 * the engine replies (libcoap's coap_async), so a slow issuance delays
 * only its own client; what is in flight and what was answered is
 * remembered per session (signet/ec_dup.h), bounded, so a retransmitted
 * CON never reaches the engine twice.
 */
#ifndef SIGNET_EC_LOCAL_H
#define SIGNET_EC_LOCAL_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdarg.h>
#include <stdint.h>

#include <coap3/coap.h>
#include <openssl/x509.h>

#include "signet/ec.h"
#include "signet/ec_dup.h"
#include "signet/proto.h"
#include "signet/sconf.h"
#include "signet_log.h"

/* Defaults when the config does not set a limit. */
#define EC_DEF_SESSIONS		256	/* DTLS sessions at once */
#define EC_DEF_HANDSHAKES	64	/* half-open DTLS handshakes */
#define EC_SESSION_IDLE_SECS	60	/* idle session reaped after */
#define EC_MAX_PENDING		64	/* unfinished Block1 transfers */
#define EC_PENDING_SESSION	2	/* ... of one DTLS session */
#define EC_PENDING_IDENTITY	4	/* ... of one PSK identity or cert */
#define EC_ENGINE_TIMEOUT_MS	10000	/* one engine round trip */
#define EC_PSK_TIMEOUT_MS	2000	/* a PSK lookup, mid-handshake */
#define EC_STORE_RETRY_MS	2000	/* refetching CA certs for the store */
#define EC_GATE_WINDOW_MS	60000	/* unverified ClientHellos counted in */
#define EC_GATE_COOKIE_MS	30000	/* a cookie of ours lives 30-60 s */
#define EC_GATE_BATCH		256	/* datagrams checked per loop turn */

/* An unfinished Block1 body of one session. */
struct ec_body {
	TAILQ_ENTRY(ec_body)	 entry;
	coap_session_t		*session;
	char			 path[EC_MAX_PATH + 1];
	uint8_t			*buf;
	size_t			 len;
	int64_t			 last_ms;	/* last new data */
	int64_t			 first_ms;	/* first block */
	uint8_t			 ident[32];	/* SHA-256 of the credential */
};
TAILQ_HEAD(ec_bodies, ec_body);

/* A labelled resource's target, for discovery (ec_disc.c). */
struct ec_target {
	const char	*tenant, *profile;	/* borrowed from conf */
	X509		*issuer;	/* its issuer's certificate, or NULL */
};

/* One resource discovery may list. */
#define EC_LINK_DEFAULT	(-1)	/* no label: listed to every session */
#define EC_LINK_HIDDEN	(-2)	/* no est_default: listed to nobody */
struct ec_link {
	coap_resource_t	*r;
	int		 target;	/* index in targets, or EC_LINK_* */
	const char	*rt;		/* quoted, as registered */
};

struct ec_stats {
	uint64_t	requests, enrolled, errors, psk_ok, psk_refused;
	uint64_t	rate_limited;
	uint64_t	blocks_reaped, too_large, bodies_refused;
	uint64_t	replayed;	/* retransmissions from the cache */
	uint64_t	dup_inflight;	/* ... of a request still in flight */
	uint64_t	busy;		/* refused: no room for an exchange */
	/* ClientHellos from sources libcoap has no session for (ec_gate.c): */
	uint64_t	hello_passed;	/* without our cookie, within budget */
	uint64_t	hello_cookie;	/* with a valid cookie of ours */
	uint64_t	hello_answered;	/* answered by us, kept from libcoap */
	uint64_t	hello_bad;	/* malformed: dropped by us */
};

/*
 * The stateless cookie check in front of libcoap (ec_gate.c): fd is
 * libcoap's endpoint socket, read (peeked) by us before libcoap reads it.
 */
struct ec_gate {
	int		 fd;		/* -1: no check */
	uint8_t		 secret[32];	/* cookie key, this process only */
	int64_t		*passed;	/* ring: when budget passes were */
	size_t		 budget;	/* unverified passes per window */
	size_t		 next;
	/* The source of the datagram libcoap reads next (cookie callbacks). */
	struct sockaddr_storage peer;
	int		 have_peer;
};

/* An asynchronous engine call ended: err PROTO_OK with rep, or not. */
struct ec_ctx;
typedef void	(*ec_engine_cb)(struct ec_ctx *, uint64_t job, int err,
		    const struct proto_reply *rep);
struct ec_pending;
TAILQ_HEAD(ec_pendq, ec_pending);

struct ec_ctx {
	struct sconf		*conf;
	coap_context_t		*coap;
	int			 efd;		/* engine channel */
	size_t			 max_body;
	int64_t			 body_idle_ms;	/* Block1 reaped after */
	int64_t			 body_max_ms;	/* whole Block1 body within */
	/* DTLS server identity, DER, handed to libcoap from memory. */
	uint8_t			*cert_der, *key_der;
	size_t			 cert_len, key_len;
	int			 key_type;	/* coap_asn1_privatekey_type_t */
	STACK_OF(X509)		*srv_chain;	/* sent after the leaf */
	/* Trust anchors for client certificates. */
	X509_STORE		*store;
	int			 store_engine;	/* CA certs from engine in */
	int64_t			 store_try_ms;
	int64_t			 store_retry_ms;
	uint8_t			 nopsk[32];	/* see ec_dtls.c */
	coap_bin_const_t	 psk_out;	/* last PSK handed to libcoap */
	uint8_t			 psk_key[PROTO_MAX_PSK];
	struct ec_target	*targets;	/* discovery */
	size_t			 ntargets;
	struct ec_link		*links;
	size_t			 nlinks;
	struct ec_bodies	 bodies;
	unsigned		 nbodies;
	struct ec_stats		 st;
	struct ec_gate		 gate;		/* ClientHellos from new sources */
	struct ec_dup		 dup;		/* exchanges per session */
	struct ec_pendq		 pending;	/* asynchronous engine calls */
	size_t			 npending;
	uint32_t		 next_id;
	struct proto_reply	 rep;		/* an asynchronous reply */
	uint8_t			 rx[PROTO_MAX_MSG];	/* engine replies */
	uint8_t			 tx[PROTO_MAX_BODY];	/* engine requests */
};

/*
 * ec_liblog.c: starts the log (signet_log.h) and routes libcoap's own
 * messages through it.
 */
void	ec_liblog_init(int debug);
/* ec_time.c: the monotonic clock in milliseconds. */
int64_t	ec_now_ms(void);

/*
 * ec_chan.c: the engine channel.  ec_engine_call waits for its reply (rep
 * blobs point to rx), handing other replies to their callbacks meanwhile;
 * ec_engine_send calls cb(job) from ec_engine_read or ec_engine_expire.
 */
int	ec_engine_init(struct ec_ctx *);
int	ec_engine_call(struct ec_ctx *, const struct proto_request *,
	    struct proto_reply *, int timeout_ms);
int	ec_engine_send(struct ec_ctx *, const struct proto_request *,
	    int timeout_ms, ec_engine_cb cb, uint64_t job);
void	ec_engine_read(struct ec_ctx *);
void	ec_engine_expire(struct ec_ctx *, int64_t now);
/* Milliseconds to the next deadline, or -1 if nothing is pending. */
int	ec_engine_next_ms(struct ec_ctx *, int64_t now);
void	ec_engine_free(struct ec_ctx *);
/* ec_engine.c */
/* Target names for a label ("" = est_default); -1 if unknown. */
int	ec_target(struct ec_ctx *, const char *label, char *tenant,
	    char *profile);
/* Load tls_client_ca files and the engine's CA certs into ctx->store. */
int	ec_store_init(struct ec_ctx *);
void	ec_store_refresh(struct ec_ctx *);

/* ec_dtls.c */
int	ec_dtls_setup(struct ec_ctx *);
void	ec_dtls_free(struct ec_ctx *);

/*
 * ec_gate.c: ClientHellos from sources libcoap has no session for get a
 * HelloVerifyRequest from us, without state, once more than the budget
 * of them has reached libcoap in EC_GATE_WINDOW_MS; only a ClientHello
 * carrying our cookie back (its source is real) then reaches libcoap.
 * ec_gate_init finds libcoap's socket bound to addr; ec_gate_run checks
 * the datagrams queued on it, up to the first one libcoap is to read.
 */
int	ec_gate_init(struct ec_ctx *, const coap_address_t *addr,
	    size_t budget);
void	ec_gate_run(struct ec_ctx *, int64_t now);
void	ec_gate_free(struct ec_ctx *);

/* ec_res.c */
int	ec_res_setup(struct ec_ctx *);
/* Drop unfinished Block1 bodies idle for too long, or of a session. */
void	ec_body_reap(struct ec_ctx *, int64_t now);
void	ec_body_drop_session(struct ec_ctx *, coap_session_t *);

/* ec_disc.c: /.well-known/core listing what the session may use. */
int	ec_disc_setup(struct ec_ctx *);
/* A labelled profile's target; its index, or -1 on failure. */
int	ec_disc_target(struct ec_ctx *, const struct sconf_tenant *,
	    const struct sconf_profile *);
int	ec_disc_link(struct ec_ctx *, coap_resource_t *, int target,
	    const char *rt);
/* x (the engine's CA certificate for a target) as its issuer, if none. */
void	ec_disc_issuer(struct ec_ctx *, const char *tenant,
	    const char *profile, X509 *x);
void	ec_disc_free(struct ec_ctx *);

/* ec_psk.c: the one-time PSK handle of a session's handshake. */
void	ec_psk_put(const coap_session_t *,
	    const uint8_t handle[PROTO_PSK_HANDLE_LEN], const char *tenant,
	    const char *profile);
/* The tenant and profile of the session's token; -1 if none. */
int	ec_psk_target(const coap_session_t *, const char **tenant,
	    const char **profile);
int	ec_psk_get(const coap_session_t *,
	    uint8_t handle[PROTO_PSK_HANDLE_LEN]);
void	ec_psk_drop(const coap_session_t *);

/* ec_serve.c: an EST-coaps request, and its separate response. */
int	ec_serve(struct ec_ctx *, coap_resource_t *, coap_session_t *,
	    const coap_pdu_t *, const coap_string_t *, coap_pdu_t *,
	    const struct ec_out *);
void	ec_serve_async(struct ec_ctx *, coap_resource_t *, coap_session_t *,
	    const coap_pdu_t *, const coap_string_t *, coap_pdu_t *,
	    coap_async_t *);
/* A retransmission: 1 if answered (or left to its separate response). */
int	ec_serve_dup(struct ec_ctx *, coap_resource_t *, coap_session_t *,
	    const coap_pdu_t *, const coap_string_t *, coap_pdu_t *);

/* ec_answer.c: evidence and replies. */
int	ec_evidence(coap_session_t *, struct proto_evidence *,
	    uint8_t *buf, size_t size, struct proto_blob *leaf);
int	ec_result_code(int result);
/* The session's remote address into ev->src (the engine's budgets). */
void	ec_source(const coap_session_t *, struct proto_evidence *ev);
/* DER certs-only SignedData of n certs; *out is malloc'd. */
int	ec_pkcs7(const struct proto_blob *certs, size_t n, uint8_t **out,
	    size_t *outlen);

#endif /* SIGNET_EC_LOCAL_H */
