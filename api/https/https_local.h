/*
 * signet-https runtime: the event loop, the engine channel, TLS, routes,
 * limits and metrics.  Everything runs on one libevent loop per process;
 * engine calls are asynchronous (request ids matched on the channel), so a
 * slow issuance never stalls other connections.
 *
 * Ownership: struct https_srv owns everything it points to and is freed
 * by https_srv_free().  A struct https_ctx is one request in flight; it is
 * freed by https_reply()/https_error(), which every path ends with exactly
 * once.
 */
#ifndef SIGNET_HTTPS_LOCAL_H
#define SIGNET_HTTPS_LOCAL_H

#include <sys/socket.h>

#include <stdarg.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "signet/sconf.h"
#include "signet/sconf_client.h"
#include "https.h"
#include "signet_log.h"

#define HTTPS_ENGINE_TIMEOUT_MS	5000
#define HTTPS_MAX_PENDING	4096	/* engine calls in flight */

/* Routes, for metrics and for the error body style. */
enum https_rid {
	HTTPS_R_EST_CACERTS,
	HTTPS_R_EST_ENROLL,
	HTTPS_R_EST_REENROLL,
	HTTPS_R_EST_CSRATTRS,
	HTTPS_R_V1_SIGN,
	HTTPS_R_V1_REVOKE,
	HTTPS_R_V1_CERT,
	HTTPS_R_V1_CERTS,
	HTTPS_R_V1_TOKENS,
	HTTPS_R_V1_TIDY,
	HTTPS_R_V1_HEALTH,
	HTTPS_R_CA,
	HTTPS_R_CRL,
	HTTPS_R_OCSP,
	HTTPS_R_METRICS,
	HTTPS_R_ACME,
	HTTPS_R_V1_ACME_EAB,
	HTTPS_R_V1_AUDIT,
	HTTPS_R_OTHER,
	HTTPS_R_MAX
};

#define HTTPS_LINGER_S		2	/* lingering close (RFC 9112 9.6) */
#define HTTPS_SWEEP_MS		250	/* deadline checks */
#define HTTPS_ACCEPT_PAUSE_MS	250	/* after accept() ran out of fds */
#define HTTPS_SPARE_FDS		64	/* engine channel, lingering, libs */

/* Why a connection or request was refused: signet_https_refused_total. */
enum https_refusal {
	HTTPS_REF_BUDGET,	/* connection budget of this worker full */
	HTTPS_REF_SOURCE,	/* per-source connection limit */
	HTTPS_REF_RESERVE,	/* reserve connection not an operator */
	HTTPS_REF_HANDSHAKE,	/* TLS handshake deadline */
	HTTPS_REF_REQUEST,	/* whole-request deadline */
	HTTPS_REF_READ,		/* no byte for read_timeout mid-request */
	HTTPS_REF_IDLE,		/* idle_timeout between requests */
	HTTPS_REF_HEADER,	/* head over max_header: 431 */
	HTTPS_REF_FRAMING,	/* Content-Length conflicts: 400 */
	HTTPS_REF_FDS,		/* accept() failed: out of descriptors */
	HTTPS_REF_METRICS,	/* /metrics without an auditor certificate */
	HTTPS_REF_MAX
};

#define HTTPS_M_CODES		16	/* distinct status codes counted */
#define HTTPS_M_BUCKETS		12	/* latency histogram buckets */

struct https_metrics {
	uint64_t	count[HTTPS_R_MAX][HTTPS_M_CODES];
	uint64_t	hist[HTTPS_R_MAX][HTTPS_M_BUCKETS];
	double		sum[HTTPS_R_MAX];
	uint64_t	engine_err[4];	/* timeout, unavailable, send, decode */
	uint64_t	conns_refused;
	uint64_t	refused[HTTPS_REF_MAX];
	uint64_t	libevent_logs_dropped;
};

/*
 * One accepted connection, indexed by its descriptor.  Slots are never
 * freed, only reused, so a (fd, gen) token stays safe to look up from any
 * callback after the connection is gone.
 */
struct https_conn {
	struct bufferevent	*bev;	/* compared, dereferenced only live */
	SSL			*ssl;	/* likewise; NULL on plain HTTP */
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	uint32_t		 gen;
	uint8_t			 used;
	uint8_t			 tls;
	uint8_t			 reserve;	/* admitted into the reserve */
	uint8_t			 hs_done;	/* TLS handshake finished */
	uint8_t			 busy;		/* request being answered */
	uint8_t			 in_head;	/* scanning a request head */
	uint8_t			 killed;	/* shut down by a deadline */
	uint8_t			 lingering;	/* answered 431, discarding */
	uint64_t		 t_accept;	/* ms, monotonic */
	uint64_t		 t_first;	/* first byte of this request */
	uint64_t		 t_byte;	/* last byte received */
	uint64_t		 t_idle;	/* waiting for a request since */
	uint64_t		 t_linger;
	struct https_head	 head;
};

struct https_engine;
struct https_ctx;

/* Called once per call with the decoded reply, or rep NULL and err set. */
typedef void	(*https_engine_cb)(struct https_ctx *, int err,
		    const struct proto_reply *rep);

/* An issuer's certificate, published at /ca/<name>.der. */
struct https_cafile {
	char		*name;
	uint8_t		*der;
	size_t		 len;
};

struct https_srv {
	struct event_base	*base;
	struct sconf		*conf;
	struct https_engine	*engine;
	SSL_CTX			*ssl;
	X509_STORE		*store;	/* client CAs, owned by ssl */
	struct evhttp		*https;
	struct evhttp		*http;
	struct evconnlistener	*lis_https;
	struct evconnlistener	*lis_http;
	int			 draining;	/* SIGTERM seen */
	int			 workers;	/* HTTPS front ends in all */
	/* Connection budget of this worker (https_conn.c). */
	struct https_conn	*conns;
	size_t			 nslots;	/* descriptors we can index */
	int			 budget;	/* ordinary connections */
	int			 per_source;
	int			 reserve;
	int			 nopen;		/* ordinary connections open */
	int			 nreserve;	/* reserve connections open */
	int			 fd_paused;	/* accept() hit EMFILE */
	int			 plain_paused, tls_paused;
	struct bufferevent	**pending;	/* accepted, not admitted */
	uint8_t			*pending_tls;
	int			 max_head;	/* bytes, request head */
	uint64_t		 handshake_ms, request_ms, idle_ms;
	size_t			 npending;
	size_t			 maxpending;
	struct event		*admit_ev;
	struct event		*sweep_ev;
	struct event		*resume_ev;
	uint64_t		 last_check_ms;
	X509_STORE		*client_store;	/* client_ca only */
	struct sconf_trust	*trust;		/* each mapping's client CA */
	struct https_metrics	 m;
	struct event		*ca_timer;	/* CACERTS refresh */
	struct https_cafile	*cas;
	size_t			 ncas;
};

struct https_ctx;
struct proto_reply;
typedef int	(*https_write_fn)(struct https_ctx *, struct evbuffer *,
	    const struct proto_reply *);

struct https_ctx {
	struct https_srv	*srv;
	struct evhttp_request	*req;
	int			 rid;		/* enum https_rid */
	int			 json;		/* answer errors as JSON */
	uint64_t		 start_us;
	int			 full;		/* health: caller authenticated */
	char			 tenant[PROTO_MAX_STR + 1];
	/* The client's certificates (PROTO_MAX_CHAIN), freed with ctx. */
	uint8_t			*evbuf;
	/* https_call_reply(): the answer's media type and body writer. */
	const char		*ctype;
	https_write_fn		 write;
};

/*
 * signet-https -f CONFIG -E ENGINEFD [-S HTTPSFD] [-P HTTPFD] [-d]: serve
 * the listening sockets the parent opened until SIGTERM or until the
 * engine channel closes.  Exit 0 after SIGTERM, 1 otherwise.
 */
int	https_main(int argc, char **argv);

/* https_time.c: the monotonic clock in microseconds. */
uint64_t https_now_us(void);

/* https_engine.c */
struct https_engine *https_engine_new(struct event_base *, int fd,
	    int timeout_ms);
void	https_engine_free(struct https_engine *);
/*
 * Send req; cb runs later from the event loop with the reply, a timeout
 * (PROTO_ERR_TIMEOUT) or a dead channel (PROTO_ERR_EOF).  Returns
 * PROTO_OK, or an error if the request could not be sent (cb not called).
 * req is wiped after encoding (it may hold a bootstrap token).
 */
int	https_engine_call(struct https_engine *, struct proto_request *req,
	    https_engine_cb, struct https_ctx *);
int	https_engine_dead(const struct https_engine *);

/* https_tls.c */
int	https_tls_init(struct https_srv *, char *err, size_t errlen);
void	https_tls_add_ca(struct https_srv *, const struct proto_chain *);
struct bufferevent *https_tls_bev(struct event_base *, void *srv);
/*
 * The client's certificate evidence.  Returns 0 if no certificate was
 * presented, 1 with ev filled (blobs into ctx->evbuf) and the leaf's
 * SHA-256 in fp (hex), -1 if it was presented but did not verify or
 * cannot be held (why says why).  ctx->evbuf is allocated on first use.
 */
int	https_tls_evidence(struct https_ctx *, struct proto_evidence *ev,
	    char fp[65], char *why, size_t whylen);

/* https_server.c: replies, errors and shared request checks. */
struct https_ctx *https_ctx_new(struct https_srv *, struct evhttp_request *,
	    int rid, int json);
void	https_reply(struct https_ctx *, int code, const char *ctype,
	    struct evbuffer *body);
void	https_error(struct https_ctx *, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	https_error_retry(struct https_ctx *, int code, unsigned retry_s,
	    const char *msg);
/* Maps a failed engine call or a non-OK reply to an HTTP answer. */
void	https_engine_error(struct https_ctx *, int err,
	    const struct proto_reply *);
/* The request body if it fits max and has media type; else answers. */
int	https_body(struct https_ctx *, const char *media, size_t max,
	    uint8_t **out, size_t *len);
int	https_call(struct https_ctx *, struct proto_request *,
	    https_engine_cb);
/*
 * https_call() for the common shape of an answer: a failed call or a
 * non-OK reply goes to https_engine_error(); otherwise write() fills the
 * body and returns the status code, and the reply is sent with ctype.
 */
int	https_call_reply(struct https_ctx *, struct proto_request *,
	    const char *ctype, https_write_fn);
int	https_srv_listen(struct https_srv *, int httpsfd, int httpfd,
	    char *err, size_t errlen);
void	https_srv_free(struct https_srv *);

/* Route handlers. */
void	https_est(struct https_ctx *, const struct https_est_route *);
/* https_acme.c: one ACME request, answered by the engine. */
void	https_acme(struct https_ctx *, const struct https_acme_route *);
void	https_api(struct https_ctx *, const char *path, const char *query);
void	https_pub(struct evhttp_request *, void *srv);
void	https_metrics_tls(struct https_srv *, struct evhttp_request *);
/* 400 and close for conflicting Content-Length; 0 if the framing is ok. */
int	https_framing_check(struct https_srv *, struct evhttp_request *);
/* Issuer certificates from the configuration, for /ca/<name>.der. */
int	https_pub_load(struct https_srv *, char *err, size_t errlen);
/* Ask the engine for each tenant's CA chain, to trust for clients. */
void	https_preload_cas(struct https_srv *);

/* https_conn.c: the connection budget, deadlines and lingering 431. */
int	https_conn_init(struct https_srv *, char *err, size_t errlen);
void	https_conn_free(struct https_srv *);
/* The plain listener's bufferevent callback: a connection arrives. */
struct bufferevent *https_conn_bev(struct event_base *, void *srv);
/* Queue a new connection's bufferevent for admission; -1 if full. */
int	https_conn_pending(struct https_srv *, struct bufferevent *, int tls);
void	https_conn_accept_error(struct evconnlistener *, void *srv);
/* A request was read in full / answered. */
void	https_conn_busy(struct https_srv *, struct evhttp_request *);
void	https_conn_done(struct https_srv *, struct evhttp_request *);
/* A TLS connection's handshake finished (fd as SSL_get_fd gives it). */
void	https_conn_handshake(struct https_srv *, int fd, SSL *);
/* A TLS connection is gone (its SSL object is freed). */
void	https_conn_gone(struct https_srv *, int fd, SSL *);
void	https_conn_stop(struct https_srv *);
/* libevent's own log, through ours and rate-limited. */
void	https_conn_libevent_log(void);
uint64_t https_conn_log_dropped(void);
const char *https_refusal_name(int why);

/* https_tls.c: whether ssl's verified client certificate, checked
 * against tls.client_ca only, maps to a configured client with one of
 * roles, a mask of SCONF_ROLE_BIT (the engine decides again; this gates
 * front-end resources). */
int	https_tls_role(struct https_srv *, SSL *ssl, unsigned int roles);
SSL	*https_req_ssl(struct evhttp_request *);

/* https_metrics.c */
void	https_metrics_record(struct https_metrics *, int rid, int code,
	    uint64_t us);
void	https_metrics_render(const struct https_metrics *, struct evbuffer *);
void	https_metrics_conns(const struct https_srv *, struct evbuffer *);
/* The engine's budget counters from a HEALTH reply (one engine). */
void	https_metrics_engine(const struct proto_health_rep *,
	    struct evbuffer *);

/* https_fmt.c: JSON and PEM output. */
void	https_json_string(struct evbuffer *, const char *s);
void	https_pem(struct evbuffer *, const char *label, const uint8_t *der,
	    size_t len);
void	https_json_pem(struct evbuffer *, const char *label,
	    const uint8_t *der, size_t len);
void	https_json_time(struct evbuffer *, uint64_t t);
void	https_hex(struct evbuffer *, const uint8_t *p, size_t len);
int	https_cert_serial(const uint8_t *der, size_t len, uint8_t *out,
	    size_t outsize, size_t *outlen);

#endif /* SIGNET_HTTPS_LOCAL_H */
