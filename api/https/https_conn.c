/*
 * The connection budget of one HTTPS front end (DESIGN rule 10, STYLE 9):
 * both listeners draw on one count, each source address on a smaller
 * one, and a few connections are held back for operators; every
 * connection runs against deadlines (TLS handshake, whole request,
 * bytes mid-request, idle between requests); a request head over
 * max_header is answered 431 by us and the connection closed lingering
 * (RFC 9112 9.6), so the client reads the status instead of a reset.
 *
 * libevent 2.1 tells us nothing about an accepted connection but the
 * bufferevent it asks for (evhttp_set_bevcb), before it sets the
 * descriptor.  So a new connection is queued, and admitted (or shut down)
 * from an event made active right then, which runs before any of its
 * bytes are read.  Slots are indexed by descriptor: a descriptor number
 * handed out again means the old connection is closed, and a sweep
 * checks the others (descriptor open and peer unchanged).  TLS
 * connections also say when they go (https_tls.c, SSL free hook).
 *
 * A refused or expired connection is shut down (shutdown(2)), never
 * closed here: libevent then reads end-of-file and frees it the usual
 * way, so no pointer of libevent's is left dangling.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "https_local.h"

#define CONN_TOKEN(fd, gen)	((uintptr_t)(((gen) & 0xffffu) << 16 | \
				    (uint32_t)(fd)))
#define CONN_MAX_SLOTS		65535	/* CONN_TOKEN keeps 16 bits of fd */
#define LOG_RATE		10	/* library log lines per second */
#define LOG_BURST		20

static const char *const refusal_names[HTTPS_REF_MAX] = {
	[HTTPS_REF_BUDGET] = "budget",
	[HTTPS_REF_SOURCE] = "per_source",
	[HTTPS_REF_RESERVE] = "reserve",
	[HTTPS_REF_HANDSHAKE] = "handshake_timeout",
	[HTTPS_REF_REQUEST] = "request_timeout",
	[HTTPS_REF_READ] = "read_timeout",
	[HTTPS_REF_IDLE] = "idle_timeout",
	[HTTPS_REF_HEADER] = "header_too_large",
	[HTTPS_REF_FRAMING] = "content_length",
	[HTTPS_REF_FDS] = "out_of_descriptors",
	[HTTPS_REF_METRICS] = "metrics_forbidden",
};

static uint64_t conn_log_dropped;
/* The one server of this process, for evbuffer callbacks (their argument
 * is a slot token, which outlives nothing). */
static struct https_srv *https_conn_srv;

static uint64_t
now_ms(void)
{
	return https_now_us() / 1000;
}

/* At most LOG_RATE lines a second of one kind; says how many it ate. */
static int
log_allowed(double *tokens, uint64_t *last_ms, uint64_t *dropped)
{
	uint64_t t = now_ms();

	*tokens += (double)(t - *last_ms) * LOG_RATE / 1000.0;
	if (*tokens > LOG_BURST)
		*tokens = LOG_BURST;
	*last_ms = t;
	if (*tokens < 1.0) {
		(*dropped)++;
		conn_log_dropped++;
		return 0;
	}
	*tokens -= 1.0;
	return 1;
}

static void
conn_libevent_log(int severity, const char *msg)
{
	static double tokens = LOG_BURST;
	static uint64_t last, dropped;

	if (severity == EVENT_LOG_DEBUG ||
	    !log_allowed(&tokens, &last, &dropped))
		return;
	log_warnx("msg=\"libevent: %s\" suppressed_before=%llu", msg,
	    (unsigned long long)dropped);
	dropped = 0;
}

void
https_conn_libevent_log(void)
{
	event_set_log_callback(conn_libevent_log);
}

uint64_t
https_conn_log_dropped(void)
{
	return conn_log_dropped;
}

static void
refuse_log(struct https_srv *srv, int why, const struct https_conn *c)
{
	static double tokens = LOG_BURST;
	static uint64_t last, dropped;

	srv->m.refused[why]++;
	if (!log_allowed(&tokens, &last, &dropped))
		return;
	log_info("msg=\"connection refused\" reason=%s conns=%d "
	    "reserve=%d suppressed_before=%llu", refusal_names[why],
	    srv->nopen, srv->nreserve, (unsigned long long)dropped);
	dropped = 0;
	(void)c;
}

const char *
https_refusal_name(int why)
{
	return why >= 0 && why < HTTPS_REF_MAX ? refusal_names[why] : "?";
}

/* Whether the listeners should take connections now. */
static void
conn_update_pause(struct https_srv *srv)
{
	int stop = srv->draining || srv->fd_paused ||
	    srv->npending + 1 >= srv->maxpending;
	int plain = stop || srv->nopen >= srv->budget;
	int tls = stop || (srv->nopen >= srv->budget &&
	    srv->nreserve >= srv->reserve);

	if (srv->draining)
		return;
	if (srv->lis_http != NULL && plain != srv->plain_paused) {
		srv->plain_paused = plain;
		if (plain)
			evconnlistener_disable(srv->lis_http);
		else
			evconnlistener_enable(srv->lis_http);
	}
	if (srv->lis_https != NULL && tls != srv->tls_paused) {
		srv->tls_paused = tls;
		if (tls) {
			evconnlistener_disable(srv->lis_https);
			srv->m.conns_refused++;
		} else
			evconnlistener_enable(srv->lis_https);
	}
}

static void
slot_release(struct https_srv *srv, struct https_conn *c)
{
	if (!c->used)
		return;
	if (c->reserve)
		srv->nreserve--;
	else
		srv->nopen--;
	c->used = 0;
	c->bev = NULL;
	c->ssl = NULL;
	c->gen++;
}

static int
same_peer(int fd, const struct https_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	return len == c->peerlen && memcmp(&ss, &c->peer, len) == 0;
}

/* Frees the slots whose connection is gone.  Cheap: two syscalls each. */
static void
conn_check(struct https_srv *srv)
{
	size_t fd;

	srv->last_check_ms = now_ms();
	for (fd = 0; fd < srv->nslots; fd++) {
		struct https_conn *c = &srv->conns[fd];

		if (c->used && (fcntl((int)fd, F_GETFD) == -1 ||
		    !same_peer((int)fd, c)))
			slot_release(srv, c);
	}
}

/* Two addresses are one source if the IPv4 address or IPv6 /64 agree. */
static int
same_source(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a,
	    *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&a6->sin6_addr, &b6->sin6_addr, 8) == 0;
	return 1;	/* AF_UNIX: one source */
}

static int
source_count(struct https_srv *srv, const struct sockaddr_storage *ss)
{
	size_t fd;
	int n = 0;

	for (fd = 0; fd < srv->nslots; fd++)
		if (srv->conns[fd].used && !srv->conns[fd].reserve &&
		    same_source(&srv->conns[fd].peer, ss))
			n++;
	return n;
}

static void
conn_kill(struct https_srv *srv, struct https_conn *c, int fd, int why)
{
	if (c != NULL) {
		if (c->killed)
			return;
		c->killed = 1;
	}
	/* libevent reads end-of-file now and frees the connection. */
	shutdown(fd, SHUT_RDWR);
	if (why >= 0)
		refuse_log(srv, why, c);
}

static void conn_input(struct evbuffer *, const struct evbuffer_cb_info *,
    void *);

/* Which share of the budget a new connection gets, or a refusal. */
static int
conn_class(struct https_srv *srv, const struct sockaddr_storage *ss,
    int tls, int *reserve)
{
	int over_src;

	/* Stale slots (plain connections closed since the last sweep) may
	 * be all that stands in the way: look again, at most every 50 ms. */
	if (srv->nopen >= srv->budget && now_ms() - srv->last_check_ms >= 50)
		conn_check(srv);
	over_src = srv->per_source > 0 &&
	    source_count(srv, ss) >= srv->per_source;
	*reserve = 0;
	if (!over_src && srv->nopen < srv->budget)
		return -1;
	/* The reserve is judged at the handshake (operator certificate),
	 * whatever the source: an operator may share a NAT with a flood. */
	if (tls && srv->nreserve < srv->reserve) {
		*reserve = 1;
		return -1;
	}
	return over_src ? HTTPS_REF_SOURCE : HTTPS_REF_BUDGET;
}

static void
conn_admit(struct https_srv *srv, struct bufferevent *bev, int tls)
{
	bufferevent_data_cb rcb = NULL;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct https_conn *c;
	int fd, reserve, why;

	/* evhttp installs its callbacks at once; none means it let go. */
	bufferevent_getcb(bev, &rcb, NULL, NULL, NULL);
	if (rcb == NULL || (fd = bufferevent_getfd(bev)) < 0)
		return;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if ((size_t)fd >= srv->nslots) {
		conn_kill(srv, NULL, fd, HTTPS_REF_BUDGET);
		return;
	}
	c = &srv->conns[fd];
	/* The descriptor was handed out again: its old connection is gone. */
	slot_release(srv, c);
	if ((why = conn_class(srv, &ss, tls, &reserve)) >= 0) {
		conn_kill(srv, NULL, fd, why);
		return;
	}
	c->bev = bev;
	c->ssl = tls ? bufferevent_openssl_get_ssl(bev) : NULL;
	memcpy(&c->peer, &ss, len);
	c->peerlen = len;
	c->used = 1;
	c->tls = (uint8_t)tls;
	c->reserve = (uint8_t)reserve;
	c->hs_done = c->busy = c->killed = c->lingering = 0;
	c->in_head = 1;
	c->t_accept = c->t_idle = c->t_byte = now_ms();
	c->t_first = 0;
	https_head_init(&c->head);
	if (reserve)
		srv->nreserve++;
	else
		srv->nopen++;
	evbuffer_add_cb(bufferevent_get_input(bev), conn_input,
	    (void *)CONN_TOKEN(fd, c->gen));
}

static void
conn_admit_cb(evutil_socket_t unused, short what, void *arg)
{
	struct https_srv *srv = arg;
	size_t i;

	for (i = 0; i < srv->npending; i++) {
		struct bufferevent *bev = srv->pending[i];

		conn_admit(srv, bev, srv->pending_tls[i]);
		bufferevent_decref(bev);
	}
	srv->npending = 0;
	conn_update_pause(srv);
}

int
https_conn_pending(struct https_srv *srv, struct bufferevent *bev, int tls)
{
	if (srv->npending >= srv->maxpending)
		return -1;
	/* Held until admitted, so that the pointer stays good. */
	bufferevent_incref(bev);
	srv->pending_tls[srv->npending] = (uint8_t)tls;
	srv->pending[srv->npending++] = bev;
	if (srv->npending == 1)
		event_active(srv->admit_ev, EV_TIMEOUT, 0);
	/* Stop the listener's accept loop before the queue is full. */
	if (srv->npending + 1 >= srv->maxpending)
		conn_update_pause(srv);
	return 0;
}

struct bufferevent *
https_conn_bev(struct event_base *base, void *arg)
{
	struct https_srv *srv = arg;
	struct bufferevent *bev;

	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;
	https_conn_pending(srv, bev, 0);
	return bev;
}

static struct https_conn *
conn_token(struct https_srv *srv, uintptr_t tok)
{
	size_t fd = tok & 0xffffu;
	struct https_conn *c;

	if (fd >= srv->nslots)
		return NULL;
	c = &srv->conns[fd];
	return c->used && (c->gen & 0xffffu) == ((tok >> 16) & 0xffffu) ?
	    c : NULL;
}

static void
conn_431(struct https_srv *srv, struct https_conn *c, int fd,
    struct evbuffer *in)
{
	char resp[512], body[96];
	int n, bn;
	SSL *ssl;

	bn = snprintf(body, sizeof(body), "request head larger than %d "
	    "bytes\n", srv->max_head);
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 431 Request Header Fields "
	    "Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n"
	    "X-Content-Type-Options: nosniff\r\n\r\n%s", bn, body);
	c->lingering = 1;
	c->t_linger = now_ms();
	refuse_log(srv, HTTPS_REF_HEADER, c);
	https_metrics_record(&srv->m, HTTPS_R_OTHER, 431,
	    (now_ms() - c->t_first) * 1000);
	/* libevent's parser never sees the rest: it waits, we discard. */
	evbuffer_drain(in, evbuffer_get_length(in));
	if (c->tls) {
		/* The connection's SSL, between two of libevent's reads. */
		if ((ssl = bufferevent_openssl_get_ssl(c->bev)) != NULL &&
		    SSL_write(ssl, resp, n) > 0)
			SSL_shutdown(ssl);
	} else
		(void)send(fd, resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	/* Our FIN after the answer; reading goes on until the client closes
	 * or HTTPS_LINGER_S passes (RFC 9112 9.6). */
	shutdown(fd, SHUT_WR);
}

/* Bytes arrived on a connection (before libevent's parser sees them). */
static void
conn_input(struct evbuffer *in, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct https_srv *srv = https_conn_srv;
	uintptr_t tok = (uintptr_t)arg;
	struct evbuffer_ptr pos;
	struct evbuffer_iovec v;
	struct https_conn *c;
	size_t len, left, used;
	int rc;

	if (info->n_added == 0 || srv == NULL ||
	    (c = conn_token(srv, tok)) == NULL)
		return;
	c->t_byte = now_ms();
	if (c->lingering) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (c->busy || !c->in_head)
		return;
	if (c->t_first == 0)
		c->t_first = c->t_byte;
	len = evbuffer_get_length(in);
	left = info->n_added <= len ? info->n_added : len;
	if (evbuffer_ptr_set(in, &pos, len - left, EVBUFFER_PTR_SET) != 0)
		return;
	while (left > 0 && evbuffer_peek(in, (ev_ssize_t)left, &pos, &v,
	    1) > 0 && v.iov_len > 0) {
		if (v.iov_len > left)
			v.iov_len = left;
		rc = https_head_scan(&c->head, v.iov_base, v.iov_len,
		    (size_t)srv->max_head, &used);
		if (rc == HTTPS_OK) {
			c->in_head = 0;
			return;
		}
		if (rc != HTTPS_E_MORE) {
			conn_431(srv, c, (int)(tok & 0xffffu), in);
			return;
		}
		left -= v.iov_len;
		if (evbuffer_ptr_set(in, &pos, v.iov_len, EVBUFFER_PTR_ADD) !=
		    0)
			return;
	}
}

static struct https_conn *
req_conn(struct https_srv *srv, struct evhttp_request *req)
{
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	int fd;

	if (req == NULL || (evcon = evhttp_request_get_connection(req)) ==
	    NULL || (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) < 0 || (size_t)fd >= srv->nslots)
		return NULL;
	if (!srv->conns[fd].used || srv->conns[fd].bev != bev)
		return NULL;
	return &srv->conns[fd];
}

void
https_conn_busy(struct https_srv *srv, struct evhttp_request *req)
{
	struct https_conn *c;

	if ((c = req_conn(srv, req)) == NULL)
		return;
	c->busy = 1;
	c->in_head = 0;
	c->t_first = 0;
}

void
https_conn_done(struct https_srv *srv, struct evhttp_request *req)
{
	struct https_conn *c;

	if ((c = req_conn(srv, req)) == NULL)
		return;
	c->busy = 0;
	c->in_head = 1;
	c->t_first = 0;
	c->t_idle = now_ms();
	https_head_init(&c->head);
}

void
https_conn_handshake(struct https_srv *srv, int fd, SSL *ssl)
{
	struct https_conn *c;

	if (fd < 0 || (size_t)fd >= srv->nslots)
		return;
	c = &srv->conns[fd];
	if (!c->used || c->ssl != ssl || c->hs_done)
		return;
	c->hs_done = 1;
	c->t_idle = now_ms();
	/* The reserve is for operators (decisions.md): anyone else goes. */
	if (c->reserve && !https_tls_role(srv, ssl,
	    SCONF_ROLE_BIT(SCONF_ROLE_OPERATOR)))
		conn_kill(srv, c, fd, HTTPS_REF_RESERVE);
}

void
https_conn_gone(struct https_srv *srv, int fd, SSL *ssl)
{
	if (fd < 0 || (size_t)fd >= srv->nslots || srv->conns[fd].ssl != ssl)
		return;
	slot_release(srv, &srv->conns[fd]);
	conn_update_pause(srv);
}

/* One connection against its deadlines; returns the refusal, or -1. */
static int
conn_expired(const struct https_srv *srv, const struct https_conn *c,
    uint64_t t)
{
	const struct sconf_limits *l = &srv->conf->limits;

	if (c->lingering)
		return t - c->t_linger >= HTTPS_LINGER_S * 1000 ?
		    HTTPS_REF_MAX : -1;
	if (c->tls && !c->hs_done)
		return t - c->t_accept >= srv->handshake_ms ?
		    HTTPS_REF_HANDSHAKE : -1;
	if (c->busy)
		return -1;	/* the engine call has its own timeout */
	if (c->t_first != 0) {
		if (t - c->t_first >= srv->request_ms)
			return HTTPS_REF_REQUEST;
		if (l->read_timeout > 0 &&
		    t - c->t_byte >= (uint64_t)l->read_timeout * 1000)
			return HTTPS_REF_READ;
		return -1;
	}
	return t - c->t_idle >= srv->idle_ms ? HTTPS_REF_IDLE : -1;
}

static void
conn_sweep_cb(evutil_socket_t unused, short what, void *arg)
{
	struct https_srv *srv = arg;
	uint64_t t = now_ms();
	size_t fd;
	int why;

	conn_check(srv);
	for (fd = 0; fd < srv->nslots; fd++) {
		struct https_conn *c = &srv->conns[fd];

		if (!c->used || c->killed ||
		    (why = conn_expired(srv, c, t)) < 0)
			continue;
		conn_kill(srv, c, (int)fd, why == HTTPS_REF_MAX ? -1 : why);
	}
	conn_update_pause(srv);
}

static void
conn_resume_cb(evutil_socket_t unused, short what, void *arg)
{
	struct https_srv *srv = arg;

	srv->fd_paused = 0;
	conn_update_pause(srv);
}

/*
 * accept() failed.  Out of descriptors, libevent would retry at once and
 * forever; stop taking connections for a moment instead.
 */
void
https_conn_accept_error(struct evconnlistener *lis, void *arg)
{
	static double tokens = LOG_BURST;
	static uint64_t last, dropped;
	/* arg is libevent's evhttp (evhttp_bind_listener set it). */
	struct https_srv *srv = https_conn_srv;
	struct timeval tv = { 0, HTTPS_ACCEPT_PAUSE_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR();

	if (srv == NULL)
		return;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		srv->m.refused[HTTPS_REF_FDS]++;
		srv->fd_paused = 1;
		conn_update_pause(srv);
		event_add(srv->resume_ev, &tv);
	}
	if (log_allowed(&tokens, &last, &dropped)) {
		log_warnx("msg=\"accept failed\" error=\"%s\" conns=%d "
		    "paused_ms=%d suppressed_before=%llu", strerror(err),
		    srv->nopen + srv->nreserve, srv->fd_paused ?
		    HTTPS_ACCEPT_PAUSE_MS : 0, (unsigned long long)dropped);
		dropped = 0;
	}
	(void)lis;
	(void)arg;
}

static int
ceil_div(int64_t n, int d)
{
	if (n <= 0)
		return 0;
	return (int)((n + d - 1) / d);
}

int
https_conn_init(struct https_srv *srv, char *err, size_t errlen)
{
	const struct sconf_limits *l = &srv->conf->limits;
	struct timeval tv = { 0, HTTPS_SWEEP_MS * 1000 };
	int w = srv->workers > 0 ? srv->workers : 1;

	/* Appliance-wide numbers, shared out (decisions.md). */
	srv->budget = ceil_div(l->max_connections, w);
	if (srv->budget == 0 || srv->budget > CONN_MAX_SLOTS / 2)
		srv->budget = CONN_MAX_SLOTS / 2;
	srv->per_source = ceil_div(l->max_per_source, w);
	srv->reserve = l->operator_reserve > 0 && l->operator_reserve < 1024 ?
	    (int)l->operator_reserve : 0;
	srv->max_head = l->max_header > 0 && l->max_header < INT32_MAX ?
	    (int)l->max_header : 8192;
	srv->handshake_ms = (uint64_t)(l->handshake_timeout > 0 ?
	    l->handshake_timeout : 10) * 1000;
	srv->request_ms = (uint64_t)(l->request_timeout > 0 ?
	    l->request_timeout : 20) * 1000;
	srv->idle_ms = (uint64_t)(l->idle_timeout > 0 ? l->idle_timeout :
	    60) * 1000;
	srv->nslots = (size_t)srv->budget + (size_t)srv->reserve +
	    HTTPS_SPARE_FDS;
	srv->maxpending = srv->nslots;
	if ((srv->conns = calloc(srv->nslots, sizeof(*srv->conns))) == NULL ||
	    (srv->pending = calloc(srv->maxpending,
	    sizeof(*srv->pending))) == NULL ||
	    (srv->pending_tls = calloc(srv->maxpending, 1)) == NULL ||
	    (srv->admit_ev = event_new(srv->base, -1, 0, conn_admit_cb,
	    srv)) == NULL ||
	    (srv->sweep_ev = event_new(srv->base, -1, EV_PERSIST,
	    conn_sweep_cb, srv)) == NULL ||
	    (srv->resume_ev = evtimer_new(srv->base, conn_resume_cb,
	    srv)) == NULL || event_add(srv->sweep_ev, &tv) != 0) {
		snprintf(err, errlen, "out of memory (connection table)");
		return -1;
	}
	https_conn_srv = srv;
	return 0;
}

void
https_conn_stop(struct https_srv *srv)
{
	if (srv->sweep_ev != NULL)
		event_del(srv->sweep_ev);
}

void
https_conn_free(struct https_srv *srv)
{
	size_t i;

	for (i = 0; i < srv->npending; i++)
		bufferevent_decref(srv->pending[i]);
	srv->npending = 0;
	if (srv->admit_ev != NULL)
		event_free(srv->admit_ev);
	if (srv->sweep_ev != NULL)
		event_free(srv->sweep_ev);
	if (srv->resume_ev != NULL)
		event_free(srv->resume_ev);
	free(srv->pending);
	free(srv->pending_tls);
	free(srv->conns);
	if (https_conn_srv == srv)
		https_conn_srv = NULL;
}
