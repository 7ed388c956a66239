/*
 * The engine channel, asynchronously.  proto_call() blocks, which would
 * stall every other connection of this process while one issuance is
 * signed; instead the channel is a non-blocking event: a request goes out
 * with a fresh id and a timer, and replies are matched by id when they
 * arrive.  A reply after its timer fired finds no pending call and is
 * dropped, as proto_call() does.
 *
 * If the channel breaks (engine gone, or a datagram that does not decode)
 * every pending call fails with PROTO_ERR_EOF and the process stops once
 * those answers are written: the parent restarts front ends with fresh
 * channels after restarting the engine.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "https_local.h"

struct https_pending {
	TAILQ_ENTRY(https_pending)	 entry;
	struct https_engine		*e;
	uint32_t			 id;
	uint16_t			 type;
	https_engine_cb			 cb;
	struct https_ctx		*ctx;
	struct event			*timer;
};

TAILQ_HEAD(https_pendq, https_pending);

struct https_engine {
	struct event_base	*base;
	int			 fd;
	int			 timeout_ms;
	int			 dead;
	uint32_t		 next_id;
	size_t			 npending;
	struct event		*ev;
	struct https_pendq	 pending;
	struct proto_reply	 rep;
	uint8_t			 buf[PROTO_MAX_MSG];	/* replies */
	uint8_t			 sbuf[PROTO_MAX_BODY];	/* requests */
};

static void
pending_free(struct https_pending *p)
{
	TAILQ_REMOVE(&p->e->pending, p, entry);
	p->e->npending--;
	event_free(p->timer);
	free(p);
}

static void
engine_fail_all(struct https_engine *e)
{
	struct https_pending *p;
	struct https_ctx *ctx;
	https_engine_cb cb;
	struct timeval tv = { 1, 0 };

	if (!e->dead)
		log_warnx("msg=\"engine channel closed; stopping after "
		    "answering %zu pending requests\"", e->npending);
	e->dead = 1;
	event_del(e->ev);
	while ((p = TAILQ_FIRST(&e->pending)) != NULL) {
		cb = p->cb;
		ctx = p->ctx;
		pending_free(p);
		cb(ctx, PROTO_ERR_EOF, NULL);
	}
	/* Give the 503 answers a moment to be written, then stop. */
	event_base_loopexit(e->base, &tv);
}

static void
engine_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct https_pending *p = arg;
	struct https_ctx *ctx = p->ctx;
	https_engine_cb cb = p->cb;

	log_warnx("msg=\"engine call timed out\" type=%s id=%u",
	    proto_type_name(p->type), p->id);
	pending_free(p);
	cb(ctx, PROTO_ERR_TIMEOUT, NULL);
}

static struct https_pending *
pending_find(struct https_engine *e, uint32_t id)
{
	struct https_pending *p;

	TAILQ_FOREACH(p, &e->pending, entry)
		if (p->id == id)
			return p;
	return NULL;
}

/* One datagram; returns 0 to go on, 1 when drained, -1 on a broken peer. */
static int
engine_read_one(struct https_engine *e)
{
	struct https_pending *p;
	struct https_ctx *ctx;
	https_engine_cb cb;
	struct proto_hdr h;
	const uint8_t *body;
	int rc;

	rc = proto_recv(e->fd, e->buf, sizeof(e->buf), &h, &body);
	if (rc == PROTO_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 1;
	if (rc != PROTO_OK) {
		log_warnx("msg=\"engine channel\" error=\"%s\"",
		    proto_strerror(rc));
		return -1;
	}
	if ((p = pending_find(e, h.id)) == NULL)
		return 0;
	if (h.type != (p->type | PROTO_T_REPLY))
		return -1;
	cb = p->cb;
	ctx = p->ctx;
	rc = proto_reply_decode(h.type, body, h.len, &e->rep);
	pending_free(p);
	if (rc != PROTO_OK) {
		log_warnx("msg=\"engine reply does not decode\" "
		    "error=\"%s\"", proto_strerror(rc));
		cb(ctx, rc, NULL);
		return -1;
	}
	cb(ctx, PROTO_OK, &e->rep);
	/* Only a new enrollment token's reply carries a secret. */
	if (h.type == (PROTO_T_TOKEN_CREATE | PROTO_T_REPLY)) {
		proto_wipe(&e->rep, sizeof(e->rep));
		proto_wipe(e->buf, sizeof(e->buf));
	}
	return 0;
}

static void
engine_readable(evutil_socket_t fd, short what, void *arg)
{
	struct https_engine *e = arg;
	int rc, n;

	/* Bounded, so one busy channel cannot starve client connections. */
	for (n = 0; n < 64; n++) {
		if ((rc = engine_read_one(e)) == 1)
			return;
		if (rc == -1) {
			engine_fail_all(e);
			return;
		}
	}
}

struct https_engine *
https_engine_new(struct event_base *base, int fd, int timeout_ms)
{
	struct https_engine *e = NULL, *ret = NULL;
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		goto out;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto out;
	e->base = base;
	e->fd = fd;
	e->timeout_ms = timeout_ms;
	TAILQ_INIT(&e->pending);
	arc4random_buf(&e->next_id, sizeof(e->next_id));
	if ((e->ev = event_new(base, fd, EV_READ | EV_PERSIST,
	    engine_readable, e)) == NULL || event_add(e->ev, NULL) != 0)
		goto out;
	ret = e;
	e = NULL;
out:
	https_engine_free(e);
	return ret;
}

void
https_engine_free(struct https_engine *e)
{
	if (e == NULL)
		return;
	while (!TAILQ_EMPTY(&e->pending))
		pending_free(TAILQ_FIRST(&e->pending));
	if (e->ev != NULL)
		event_free(e->ev);
	close(e->fd);
	free(e);
}

int
https_engine_dead(const struct https_engine *e)
{
	return e->dead;
}

int
https_engine_call(struct https_engine *e, struct proto_request *req,
    https_engine_cb cb, struct https_ctx *ctx)
{
	struct https_pending *p = NULL;
	struct timeval tv;
	size_t len = sizeof(e->sbuf);
	int rc;

	if (e->dead) {
		rc = PROTO_ERR_EOF;
		goto out;
	}
	if (e->npending >= HTTPS_MAX_PENDING) {
		rc = PROTO_ERR_SPACE;
		goto out;
	}
	if ((rc = proto_request_encode(req, e->sbuf, sizeof(e->sbuf),
	    &len)) != PROTO_OK) {
		len = sizeof(e->sbuf);
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->timer = evtimer_new(e->base, engine_timeout, p)) == NULL) {
		rc = PROTO_ERR_IO;
		goto out;
	}
	/* Id 0 is never used, so a zeroed reply header never matches. */
	if (++e->next_id == 0)
		e->next_id = 1;
	p->e = e;
	p->id = e->next_id;
	p->type = req->type;
	p->cb = cb;
	p->ctx = ctx;
	if ((rc = proto_send(e->fd, req->type, p->id, e->sbuf, len)) !=
	    PROTO_OK)
		goto out;
	tv.tv_sec = e->timeout_ms / 1000;
	tv.tv_usec = (e->timeout_ms % 1000) * 1000;
	evtimer_add(p->timer, &tv);
	TAILQ_INSERT_TAIL(&e->pending, p, entry);
	e->npending++;
	p = NULL;
out:
	proto_wipe(e->sbuf, len);
	proto_wipe(req, sizeof(*req));
	if (p != NULL) {
		if (p->timer != NULL)
			event_free(p->timer);
		free(p);
	}
	return rc;
}
