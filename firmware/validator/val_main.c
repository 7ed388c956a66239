/*
 * signet-validator: ACME challenge validation (RFC 8555 8.3 http-01, 8.4
 * dns-01, RFC 8737 tls-alpn-01), the only Signet process that connects
 * out (docs/acme.md "The validator", Boulder's VA).  It holds no key, no
 * ledger handle and no TLS credentials; it asks the engine for one
 * validation at a time (ACME_VA VA_NEXT: a challenge id and what to
 * fetch: http://..., tls://host:port/sni or dns:name), fetches it under
 * an address policy, a deadline and a size cap, and reports what it got
 * (VA_RESULT: the body, the certificate, the TXT records).  The engine
 * judges that against the key authorization itself.
 *
 * signet-validator -f CONFIG -E ENGINEFD [-d]
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <signet/proto.h>
#include <signet/sconf.h>

#include "signet_log.h"
#include "val_child.h"
#include "val_local.h"

#define VAL_IDLE_MS	250	/* nothing to do: ask again after */

/* Take one validation, do it, report it; 1 if there was one. */
static int
val_once(void *arg, const struct sconf *c, int efd, uint8_t *buf)
{
	static uint8_t got[VAL_MAX_BODY];
	struct proto_request req;
	struct proto_reply rep;
	char chall[PROTO_MAX_STR + 1], why[PROTO_MAX_STR + 1];
	struct val_ctx *v = arg;
	size_t n = 0;
	int rc;

	(void)c;
	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_ACME_VA;
	req.ev.peer = PROTO_PEER_VALIDATOR;
	req.u.acme.op = PROTO_ACME_VA_NEXT;
	if ((rc = val_child_call(efd, PROTO_T_ACME_VA, &req, buf,
	    &rep)) != 0)
		return rc;
	if (rep.status.result != PROTO_R_OK || rep.u.acme.id[0] == '\0')
		return 0;
	snprintf(chall, sizeof(chall), "%s", rep.u.acme.id);
	why[0] = '\0';
	/* CAA first (RFC 8659): VA_NEXT's `up` is the dns identifier. */
	if (val_caa(v, rep.u.acme.up, rep.u.acme.index, rep.u.acme.location,
	    why, sizeof(why)) != 0)
		n = 0;
	else if (strncmp(rep.u.acme.location, "http://", 7) == 0)
		val_http01(v, rep.u.acme.location, got, sizeof(got), &n, why,
		    sizeof(why));
	else if (strncmp(rep.u.acme.location, "tls://", 6) == 0)
		val_tlsalpn01(v, rep.u.acme.location, got, sizeof(got), &n,
		    why, sizeof(why));
	else if (strncmp(rep.u.acme.location, "dns:", 4) == 0)
		val_dns01(v, rep.u.acme.location, got, sizeof(got), &n, why,
		    sizeof(why));
	else
		snprintf(why, sizeof(why), "unknown validation");
	log_info("msg=validated challenge=%s url=\"%s\" bytes=%zu "
	    "error=\"%s\"", chall, rep.u.acme.location, n, why);
	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_ACME_VA;
	req.ev.peer = PROTO_PEER_VALIDATOR;
	req.u.acme.op = PROTO_ACME_VA_RESULT;
	snprintf(req.u.acme.id, sizeof(req.u.acme.id), "%s", chall);
	snprintf(req.u.acme.detail, sizeof(req.u.acme.detail), "%s", why);
	req.u.acme.body.ptr = got;
	req.u.acme.body.len = why[0] ? 0 : n;
	if ((rc = val_child_call(efd, PROTO_T_ACME_VA, &req, buf,
	    &rep)) < 0)
		return rc;
	return 1;
}

/* Before the sandbox: resolv.conf, OpenSSL's configuration. */
static int
val_setup(void *arg, struct sconf *c, char *err, size_t errlen)
{
	struct val_ctx *v = arg;

	v->conf = c;
	if (val_policy_init(&v->pol, c, err, errlen) != 0 ||
	    (v->tls = val_tls_init(err, errlen)) == NULL ||
	    (v->dns = val_dns_init(c, err, errlen)) == NULL)
		return -1;
	return 0;
}

static void
val_ready(void *arg, const struct sconf *c)
{
	struct val_ctx *v = arg;

	log_info("msg=ready http01_port=%d tlsalpn01_port=%d resolver=%s "
	    "allow=%zu loopback=%s", c->acme_http01_port,
	    c->acme_tlsalpn01_port, c->acme_dns_resolver ?
	    c->acme_dns_resolver : "resolv.conf", v->pol.nallow,
	    c->acme_validate_loopback ? "allowed" : "refused");
}

static void
val_cleanup(void *arg)
{
	struct val_ctx *v = arg;

	val_dns_free(v->dns);
	val_tls_free(v->tls);
}

int
main(int argc, char *argv[])
{
	static struct val_ctx v;
	const struct val_child ch = { "signet-validator", SANDBOX_VALIDATOR,
		VAL_IDLE_MS, 0, val_setup, val_ready, val_once, val_cleanup,
		&v };

	return val_child_main(argc, argv, &ch);
}
