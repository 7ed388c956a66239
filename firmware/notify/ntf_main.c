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
#include <stdio.h>
#include <string.h>

#include <signet/proto.h>
#include <signet/sconf.h>

#include "signet_log.h"
#include "val_child.h"
#include "val_local.h"

#define NTF_IDLE_MS	1000	/* nothing due: ask again after */
#define NTF_POST_MAX_MS	15000	/* one delivery, at most */

/* Take one delivery, make it, report it; 1 if there was one. */
static int
ntf_once(void *arg, const struct sconf *c, int efd, uint8_t *buf)
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

	(void)arg;
	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_NOTIFY;
	req.ev.peer = PROTO_PEER_NOTIFY;
	req.u.notify.op = PROTO_NOTIFY_NEXT;
	if ((rc = val_child_call(efd, PROTO_T_NOTIFY, &req, buf, &rep)) != 0)
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
	if ((rc = val_child_call(efd, PROTO_T_NOTIFY, &req, buf, &rep)) < 0)
		return rc;
	return 1;
}

static void
ntf_ready(void *arg, const struct sconf *c)
{
	(void)arg;
	log_info("msg=ready lease=%llds loopback=%s",
	    (long long)c->notify_lease, c->notify_loopback ? "allowed" :
	    "refused");
}

int
main(int argc, char *argv[])
{
	static const struct val_child ch = { "signet-notify", SANDBOX_NOTIFY,
		NTF_IDLE_MS, 1, NULL, ntf_ready, ntf_once, NULL, NULL, NULL };

	return val_child_main(argc, argv, &ch);
}
