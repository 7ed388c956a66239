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
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <signet/proto.h>
#include <signet/sandbox.h>
#include <signet/sconf.h>

#include "signet_log.h"
#include "val_local.h"

#define VAL_ENGINE_MS	5000	/* an engine call, at most */
#define VAL_IDLE_MS	250	/* nothing to do: ask again after */

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: signet-validator -f config -E fd [-d]\n");
	exit(2);
}

/* One ACME_VA call; 0 with *rep decoded (into buf), or -1. */
static int
val_call(int efd, const struct proto_request *req, uint8_t *buf,
    struct proto_reply *rep)
{
	static uint8_t body[PROTO_MAX_BODY];
	const uint8_t *rb;
	size_t len, rlen;
	int rc;

	if ((rc = proto_request_encode(req, body, sizeof(body), &len)) !=
	    PROTO_OK ||
	    (rc = proto_call(efd, PROTO_T_ACME_VA, body, len, buf,
	    PROTO_MAX_MSG, VAL_ENGINE_MS, &rb, &rlen)) != PROTO_OK ||
	    (rc = proto_reply_decode(PROTO_T_ACME_VA, rb, rlen, rep)) !=
	    PROTO_OK) {
		log_warnx("msg=\"engine call failed\" error=\"%s\"",
		    proto_strerror(rc));
		return rc == PROTO_ERR_TIMEOUT ? 1 : -1;
	}
	return 0;
}

/* Take one validation, do it, report it; 1 if there was one. */
static int
val_once(struct val_ctx *v, int efd, uint8_t *buf)
{
	static uint8_t got[VAL_MAX_BODY];
	struct proto_request req;
	struct proto_reply rep;
	char chall[PROTO_MAX_STR + 1], why[PROTO_MAX_STR + 1];
	size_t n = 0;
	int rc;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_ACME_VA;
	req.ev.peer = PROTO_PEER_VALIDATOR;
	req.u.acme.op = PROTO_ACME_VA_NEXT;
	if ((rc = val_call(efd, &req, buf, &rep)) != 0)
		return rc;
	if (rep.status.result != PROTO_R_OK || rep.u.acme.id[0] == '\0')
		return 0;
	snprintf(chall, sizeof(chall), "%s", rep.u.acme.id);
	why[0] = '\0';
	/* CAA first (RFC 8659): VA_NEXT's `up` is the dns identifier. */
	if (val_caa(v, rep.u.acme.up, why, sizeof(why)) != 0)
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
	if ((rc = val_call(efd, &req, buf, &rep)) < 0)
		return rc;
	return 1;
}

int
main(int argc, char *argv[])
{
	static uint8_t buf[PROTO_MAX_MSG];
	static struct val_ctx v;
	struct sconf *c = NULL;
	const char *conf = NULL;
	char err[512];
	int ch, debug = 0, efd = -1, rc;
	long lv;
	char *end;

	while ((ch = getopt(argc, argv, "dE:f:")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'E':
			errno = 0;
			lv = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || lv < 0 || lv > 65535)
				usage();
			efd = (int)lv;
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
	log_init("signet-validator", LOG_TO_STDERR, debug);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (sconf_load(conf, &c, err, sizeof(err)) != 0)
		fatalx("msg=\"configuration\" error=\"%s\"", err);
	/* Before the sandbox: resolv.conf, OpenSSL's configuration. */
	v.conf = c;
	if (val_policy_init(&v.pol, c, err, sizeof(err)) != 0 ||
	    (v.tls = val_tls_init(err, sizeof(err))) == NULL ||
	    (v.dns = val_dns_init(c, err, sizeof(err))) == NULL)
		fatalx("msg=\"configuration\" error=\"%s\"", err);
	if (c->sandbox) {
		struct sandbox_conf sc = { SANDBOX_VALIDATOR, c->https_user,
			c->sandbox_dir, 64 };
		char serr[SANDBOX_MAX_ERR];

		if (sandbox_enter(&sc, serr, sizeof(serr)) != 0)
			fatalx("msg=\"sandbox refused\" error=\"%s\"", serr);
		log_info("msg=\"sandboxed\" user=%s root=%s", sc.user,
		    sc.root_dir);
	}
	log_info("msg=ready http01_port=%d tlsalpn01_port=%d resolver=%s "
	    "allow=%zu loopback=%s", c->acme_http01_port,
	    c->acme_tlsalpn01_port, c->acme_dns_resolver ?
	    c->acme_dns_resolver : "resolv.conf", v.pol.nallow,
	    c->acme_validate_loopback ? "allowed" : "refused");
	while (!quit) {
		if ((rc = val_once(&v, efd, buf)) < 0)
			break;
		if (rc == 0)
			poll(NULL, 0, VAL_IDLE_MS);
	}
	log_info("msg=stopping");
	val_dns_free(v.dns);
	val_tls_free(v.tls);
	sconf_free(c);
	return quit ? 0 : 1;
}
