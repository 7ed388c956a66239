/*
 * signet-notify: delivers expiry notifications (issue 19,
 * docs/notify.md), the second Signet process that connects out, in its
 * own sandbox role.  It holds no key, no ledger handle and no TLS
 * credentials: it asks the engine for one delivery at a time (NOTIFY
 * NEXT: the URL, the JSON body and its signature, all made by the
 * engine), POSTs it under the validator's address policy and deadlines
 * (val_http_post, firmware/validator), and reports the receiver's status
 * (NOTIFY RESULT).  The durable queue, retries and leases are the
 * engine's and the ledger's: if this process dies mid-delivery the claim
 * runs out and the delivery is handed out again.
 *
 * signet-notify -f CONFIG -E ENGINEFD [-d]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signet/proto.h>
#include <signet/sandbox.h>
#include <signet/sconf.h>

#include "signet_log.h"
#include "val_local.h"

#define NTF_ENGINE_MS	5000	/* an engine call, at most */
#define NTF_IDLE_MS	1000	/* nothing due: ask again after */
#define NTF_POST_MAX_MS	15000	/* one delivery, at most */

static volatile sig_atomic_t quit;
static int engine_gone;	/* the engine closed the channel: exit 0 */

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: signet-notify -f config -E fd [-d]\n");
	exit(2);
}

/* One NOTIFY call: 0 with *rep decoded (into buf), 1 timeout, -1 gone. */
static int
ntf_call(int efd, const struct proto_request *req, uint8_t *buf,
    struct proto_reply *rep)
{
	static uint8_t body[PROTO_MAX_BODY];
	const uint8_t *rb;
	size_t len, rlen;
	int rc;

	if ((rc = proto_request_encode(req, body, sizeof(body), &len)) !=
	    PROTO_OK ||
	    (rc = proto_call(efd, PROTO_T_NOTIFY, body, len, buf,
	    PROTO_MAX_MSG, NTF_ENGINE_MS, &rb, &rlen)) != PROTO_OK ||
	    (rc = proto_reply_decode(PROTO_T_NOTIFY, rb, rlen, rep)) !=
	    PROTO_OK) {
		log_warnx("msg=\"engine call failed\" error=\"%s\"",
		    proto_strerror(rc));
		engine_gone = rc == PROTO_ERR_EOF;
		return rc == PROTO_ERR_TIMEOUT ? 1 : -1;
	}
	return 0;
}

/* Take one delivery, make it, report it; 1 if there was one. */
static int
ntf_once(const struct sconf *c, int efd, uint8_t *buf)
{
	static uint8_t body[PROTO_MAX_NOTIFY_BODY];
	struct proto_request req;
	struct proto_reply rep;
	char url[PROTO_MAX_ACME_URL + 1], hdr[PROTO_MAX_STR + 128];
	char why[PROTO_MAX_STR + 1];
	uint64_t id, total;
	uint32_t attempt;
	size_t len;
	int rc, status = 0;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_NOTIFY;
	req.ev.peer = PROTO_PEER_NOTIFY;
	req.u.notify.op = PROTO_NOTIFY_NEXT;
	if ((rc = ntf_call(efd, &req, buf, &rep)) != 0)
		return rc;
	if (rep.status.result != PROTO_R_OK || rep.u.notify.id == 0)
		return 0;
	id = rep.u.notify.id;
	attempt = rep.u.notify.attempt;
	snprintf(url, sizeof(url), "%s", rep.u.notify.url);
	snprintf(hdr, sizeof(hdr), "Content-Type: application/json\r\n"
	    "X-Signet-Signature: %s\r\nX-Signet-Delivery: %llu\r\n",
	    rep.u.notify.signature, (unsigned long long)id);
	len = rep.u.notify.body.len;
	memcpy(body, rep.u.notify.body.ptr, len);
	/* Half the lease: the result is in before the claim runs out. */
	total = (uint64_t)c->notify_lease * 1000 / 2;
	if (total > NTF_POST_MAX_MS)
		total = NTF_POST_MAX_MS;
	why[0] = '\0';
	val_http_post(url, hdr, body, len, c->notify_loopback, total,
	    &status, why, sizeof(why));
	log_info("msg=posted id=%llu attempt=%u url=\"%s\" status=%d "
	    "error=\"%s\"", (unsigned long long)id, attempt, url, status,
	    why);
	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_NOTIFY;
	req.ev.peer = PROTO_PEER_NOTIFY;
	req.u.notify.op = PROTO_NOTIFY_RESULT;
	req.u.notify.id = id;
	req.u.notify.attempt = attempt;
	req.u.notify.status = (uint16_t)status;
	snprintf(req.u.notify.detail, sizeof(req.u.notify.detail), "%s", why);
	if ((rc = ntf_call(efd, &req, buf, &rep)) < 0)
		return rc;
	return 1;
}

int
main(int argc, char *argv[])
{
	static uint8_t buf[PROTO_MAX_MSG];
	struct sconf *c = NULL;
	const char *conf = NULL;
	char err[512];
	int ch, debug = 0, efd = -1, rc;
	long v;
	char *end;

	while ((ch = getopt(argc, argv, "dE:f:")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'E':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
				usage();
			efd = (int)v;
			break;
		case 'f':
			conf = optarg;
			break;
		default:
			usage();
		}
	}
	if (conf == NULL || efd < 0 || optind != argc)
		usage();
	log_init("signet-notify", LOG_TO_STDERR, debug);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (sconf_load(conf, &c, err, sizeof(err)) != 0)
		fatalx("msg=\"configuration\" error=\"%s\"", err);
	if (c->sandbox) {
		struct sandbox_conf sc = { SANDBOX_NOTIFY, c->https_user,
			c->sandbox_dir, 64 };
		char serr[SANDBOX_MAX_ERR];

		if (sandbox_enter(&sc, serr, sizeof(serr)) != 0)
			fatalx("msg=\"sandbox refused\" error=\"%s\"", serr);
		log_info("msg=\"sandboxed\" user=%s root=%s", sc.user,
		    sc.root_dir);
	}
	log_info("msg=ready lease=%llds loopback=%s",
	    (long long)c->notify_lease, c->notify_loopback ? "allowed" :
	    "refused");
	while (!quit) {
		if ((rc = ntf_once(c, efd, buf)) < 0)
			break;
		if (rc == 0)
			poll(NULL, 0, NTF_IDLE_MS);
	}
	log_info("msg=stopping");
	sconf_free(c);
	return quit || engine_gone ? 0 : 1;
}
