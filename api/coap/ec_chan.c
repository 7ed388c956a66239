/*
 * The engine channel of signet-coap.  Requests that serve a client go out
 * asynchronously, as signet-https's do (api/https/https_engine.c): each
 * with a fresh id and a deadline, its reply matched by id when the main
 * loop sees the channel readable, so one slow issuance never stalls the
 * other sessions.  Two calls stay synchronous because libcoap needs their
 * answer before it goes on: the PSK lookup in the middle of a handshake
 * and the CA certificates for the client trust store.  While one of those
 * waits, replies to asynchronous calls that arrive meanwhile are handed to
 * their callbacks, never dropped.
 *
 * A broken channel (a datagram that does not decode, the engine gone)
 * stops the process, as before: the parent restarts it with a fresh
 * channel after restarting the engine.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ec_local.h"

struct ec_pending {
	TAILQ_ENTRY(ec_pending)	 entry;
	uint32_t		 id;
	uint16_t		 type;
	int64_t			 deadline;
	ec_engine_cb		 cb;
	uint64_t		 job;
};

int
ec_engine_init(struct ec_ctx *ctx)
{
	int fl;

	TAILQ_INIT(&ctx->pending);
	arc4random_buf(&ctx->next_id, sizeof(ctx->next_id));
	if ((fl = fcntl(ctx->efd, F_GETFL)) == -1 ||
	    fcntl(ctx->efd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

static uint32_t
new_id(struct ec_ctx *ctx)
{
	/* Id 0 is never used, so a zeroed header never matches. */
	if (++ctx->next_id == 0)
		ctx->next_id = 1;
	return ctx->next_id;
}

static int
send_req(struct ec_ctx *ctx, const struct proto_request *req, uint32_t id)
{
	size_t len = 0;
	int rc;

	if ((rc = proto_request_encode(req, ctx->tx, sizeof(ctx->tx),
	    &len)) != PROTO_OK) {
		log_warnx("msg=\"cannot encode engine request\" "
		    "type=%s err=\"%s\"", proto_type_name(req->type),
		    proto_strerror(rc));
		return -1;
	}
	rc = proto_send(ctx->efd, req->type, id, ctx->tx, len);
	proto_wipe(ctx->tx, len);
	/* The channel is out of step: the parent restarts us clean. */
	if (rc != PROTO_OK)
		fatalx("msg=\"engine channel failed\" err=\"%s\"",
		    proto_strerror(rc));
	return 0;
}

int
ec_engine_send(struct ec_ctx *ctx, const struct proto_request *req,
    int timeout_ms, ec_engine_cb cb, uint64_t job)
{
	struct ec_pending *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->id = new_id(ctx);
	p->type = req->type;
	p->deadline = ec_now_ms() + timeout_ms;
	p->cb = cb;
	p->job = job;
	if (send_req(ctx, req, p->id) != 0) {
		free(p);
		return -1;
	}
	TAILQ_INSERT_TAIL(&ctx->pending, p, entry);
	ctx->npending++;
	return 0;
}

static struct ec_pending *
pending_find(struct ec_ctx *ctx, uint32_t id)
{
	struct ec_pending *p;

	TAILQ_FOREACH(p, &ctx->pending, entry)
		if (p->id == id)
			return p;
	return NULL;
}

static void
pending_free(struct ec_ctx *ctx, struct ec_pending *p)
{
	TAILQ_REMOVE(&ctx->pending, p, entry);
	ctx->npending--;
	free(p);
}

/* A reply to an asynchronous call: its callback, or dropped if late. */
static void
dispatch(struct ec_ctx *ctx, const struct proto_hdr *h, const uint8_t *body)
{
	struct ec_pending *p;
	ec_engine_cb cb;
	uint64_t job;
	int rc;

	if ((p = pending_find(ctx, h->id)) == NULL)
		return;
	if (h->type != (p->type | PROTO_T_REPLY))
		fatalx("msg=\"engine reply of the wrong type\" type=%s",
		    proto_type_name(p->type));
	if ((rc = proto_reply_decode(h->type, body, h->len, &ctx->rep)) !=
	    PROTO_OK)
		fatalx("msg=\"malformed engine reply\" type=%s err=\"%s\"",
		    proto_type_name(p->type), proto_strerror(rc));
	cb = p->cb;
	job = p->job;
	pending_free(ctx, p);
	cb(ctx, job, PROTO_OK, &ctx->rep);
}

/* One datagram: 1 if one was read, 0 if none is waiting. */
static int
read_one(struct ec_ctx *ctx, struct proto_hdr *h, const uint8_t **body)
{
	int rc;

	rc = proto_recv(ctx->efd, ctx->rx, sizeof(ctx->rx), h, body);
	if (rc == PROTO_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (rc != PROTO_OK)
		fatalx("msg=\"engine channel failed\" err=\"%s\"",
		    proto_strerror(rc));
	return 1;
}

void
ec_engine_read(struct ec_ctx *ctx)
{
	struct proto_hdr h;
	const uint8_t *body;
	int n;

	/* Bounded, so that a busy channel cannot starve DTLS traffic. */
	for (n = 0; n < 64 && read_one(ctx, &h, &body); n++)
		dispatch(ctx, &h, body);
}

void
ec_engine_expire(struct ec_ctx *ctx, int64_t now)
{
	struct ec_pending *p, *next;
	ec_engine_cb cb;
	uint64_t job;

	for (p = TAILQ_FIRST(&ctx->pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (now < p->deadline)
			continue;
		log_warnx("msg=\"engine timed out\" type=%s",
		    proto_type_name(p->type));
		cb = p->cb;
		job = p->job;
		pending_free(ctx, p);
		cb(ctx, job, PROTO_ERR_TIMEOUT, NULL);
	}
}

int
ec_engine_next_ms(struct ec_ctx *ctx, int64_t now)
{
	struct ec_pending *p;
	int64_t first = INT64_MAX;

	if (TAILQ_EMPTY(&ctx->pending))
		return -1;
	TAILQ_FOREACH(p, &ctx->pending, entry)
		if (p->deadline < first)
			first = p->deadline;
	if (first <= now)
		return 0;
	return first - now > INT32_MAX ? INT32_MAX : (int)(first - now);
}

int
ec_engine_call(struct ec_ctx *ctx, const struct proto_request *req,
    struct proto_reply *rep, int timeout_ms)
{
	struct pollfd pfd;
	struct proto_hdr h;
	const uint8_t *body;
	int64_t deadline = ec_now_ms() + timeout_ms, left;
	uint32_t id = new_id(ctx);
	int rc;

	if (send_req(ctx, req, id) != 0)
		return -1;
	for (;;) {
		if (!read_one(ctx, &h, &body)) {
			if ((left = deadline - ec_now_ms()) <= 0)
				break;
			pfd.fd = ctx->efd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
				fatal("msg=\"poll\"");
			continue;
		}
		if (h.id != id) {
			dispatch(ctx, &h, body);
			continue;
		}
		if (h.type != (req->type | PROTO_T_REPLY))
			fatalx("msg=\"engine reply of the wrong type\" "
			    "type=%s", proto_type_name(req->type));
		if ((rc = proto_reply_decode(h.type, body, h.len, rep)) !=
		    PROTO_OK)
			fatalx("msg=\"malformed engine reply\" type=%s "
			    "err=\"%s\"", proto_type_name(req->type),
			    proto_strerror(rc));
		return 0;
	}
	log_warnx("msg=\"engine timed out\" type=%s",
	    proto_type_name(req->type));
	return -1;
}

void
ec_engine_free(struct ec_ctx *ctx)
{
	while (!TAILQ_EMPTY(&ctx->pending))
		pending_free(ctx, TAILQ_FIRST(&ctx->pending));
}
