/*
 * signet-coap: the EST-coaps front end (DESIGN.md "Processes").  signetd
 * starts it as
 *
 *	signet-coap -f CONFIG -E ENGINEFD [-U UDPFD] [-d]
 *
 * ENGINEFD is its SOCK_SEQPACKET channel to the engine.  UDPFD is the
 * socket signetd bound for listen { coap }.  libcoap (4.3.1 and 4.3.4)
 * cannot adopt a socket (coap_new_endpoint always binds its own), so we read
 * the bound address from UDPFD, close our copy and let libcoap bind the
 * same address; both sockets have SO_REUSEADDR and Linux delivers unicast
 * datagrams to the newest, ours.  Without -U the address comes from the
 * config (tests and benchmarks run it that way).
 */
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <signet/sandbox.h>

#include "ec_local.h"

static volatile sig_atomic_t quit;
static struct ec_ctx *main_ctx;

static void
on_signal(int sig)
{
	quit = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: signet-coap -f config -E enginefd "
	    "[-U udpfd] [-d]\n");
	exit(2);
}

static int
parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
		usage();
	return (int)v;
}

/* "host:port" or "[v6]:port", numeric hosts only, as signetd takes it. */
static int
conf_addr(const char *hp, coap_address_t *a)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon = strrchr(hp, ':');
	size_t hlen;
	int rc = -1;

	if (colon == NULL || (hlen = (size_t)(colon - hp)) >= sizeof(host))
		return -1;
	if (hp[0] == '[' && hlen >= 2 && hp[hlen - 1] == ']') {
		memcpy(host, hp + 1, hlen - 2);
		host[hlen - 2] = '\0';
	} else {
		memcpy(host, hp, hlen);
		host[hlen] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	if (res->ai_addrlen <= sizeof(a->addr)) {
		coap_address_init(a);
		memcpy(&a->addr, res->ai_addr, res->ai_addrlen);
		a->size = res->ai_addrlen;
		rc = 0;
	}
	freeaddrinfo(res);
	return rc;
}

static int
fd_addr(int fd, coap_address_t *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    len > sizeof(a->addr))
		return -1;
	coap_address_init(a);
	memcpy(&a->addr, &ss, len);
	a->size = len;
	close(fd);
	return 0;
}

static int
on_event(coap_session_t *s, const coap_event_t ev)
{
	if (ev == COAP_EVENT_SERVER_SESSION_DEL)
		ec_psk_drop(s);
	if (ev == COAP_EVENT_SERVER_SESSION_DEL && main_ctx != NULL) {
		ec_body_drop_session(main_ctx, s);
		ec_dup_drop_session(&main_ctx->dup, s);
	}
	return 0;
}

static void
limits(struct ec_ctx *ctx)
{
	const struct sconf_limits *l = &ctx->conf->limits;
	int64_t sess = l->max_coap_sessions > 0 ? l->max_coap_sessions :
	    EC_DEF_SESSIONS;
	int64_t hs = l->max_coap_handshakes > 0 ? l->max_coap_handshakes :
	    EC_DEF_HANDSHAKES;

	/* An unfinished Block1 body is a read that is taking too long. */
	ctx->body_idle_ms = (l->read_timeout > 0 ? l->read_timeout : 30) *
	    1000;
	/* An absolute deadline from the first block, as request_timeout. */
	ctx->body_max_ms = (l->request_timeout > 0 ? l->request_timeout :
	    20) * 1000;
	ctx->max_body = l->max_body > 0 && l->max_body < EC_MAX_BODY ?
	    (size_t)l->max_body : EC_MAX_BODY;
	/* Block2 answers come from libcoap; Block1 we reassemble (ec_res.c). */
	coap_context_set_block_mode(ctx->coap, COAP_BLOCK_USE_LIBCOAP);
	coap_context_set_max_idle_sessions(ctx->coap, (unsigned)sess);
	coap_context_set_max_handshake_sessions(ctx->coap, (unsigned)hs);
	coap_context_set_session_timeout(ctx->coap, EC_SESSION_IDLE_SECS);
}

/*
 * One turn of the loop: wait for DTLS traffic, libcoap's timers or an
 * engine reply, whichever comes first; hand replies and expired engine
 * calls to their exchanges, then let libcoap read, send and fire the
 * separate responses those exchanges triggered.  With epoll (Debian's
 * libcoap) libcoap's sockets and timers are all behind one descriptor;
 * without, libcoap's select() watches the engine channel for us.
 */
static void
loop_once(struct ec_ctx *ctx)
{
	struct pollfd pfd[2];
	fd_set rfds;
	int64_t now = ec_now_ms();
	int wait = ec_engine_next_ms(ctx, now), cfd;

	if (wait < 0 || wait > 1000)
		wait = 1000;
	if ((cfd = coap_context_get_coap_fd(ctx->coap)) >= 0) {
		pfd[0].fd = cfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = ctx->efd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, wait) == -1 && errno != EINTR)
			fatal("msg=\"poll\"");
	} else {
		/* Best effort: a datagram arriving while libcoap waits in
		 * select() is read unchecked (one per turn of this loop). */
		ec_gate_run(ctx, now);
		FD_ZERO(&rfds);
		FD_SET(ctx->efd, &rfds);
		coap_io_process_with_fds(ctx->coap, (uint32_t)wait,
		    ctx->efd + 1, &rfds, NULL, NULL);
	}
	ec_engine_read(ctx);
	now = ec_now_ms();
	ec_engine_expire(ctx, now);
	ec_dup_expire(&ctx->dup, now);
	/* libcoap reads one datagram per call: ClientHellos checked first. */
	ec_gate_run(ctx, now);
	coap_io_process(ctx->coap, COAP_IO_NO_WAIT);
}

static void
setup(struct ec_ctx *ctx, const char *path, int udpfd)
{
	char errbuf[SCONF_MAX_ERR];
	coap_address_t addr;
	int64_t hello;

	if (sconf_load(path, &ctx->conf, errbuf, sizeof(errbuf)) != 0)
		fatalx("msg=\"bad config\" err=\"%s\"", errbuf);
	if (udpfd >= 0 ? fd_addr(udpfd, &addr) != 0 :
	    ctx->conf->listen_coap == NULL ||
	    conf_addr(ctx->conf->listen_coap, &addr) != 0)
		fatalx("msg=\"no usable listen address\"");
	if (ec_engine_init(ctx) != 0)
		fatal("msg=\"engine channel\"");
	ec_dup_init(&ctx->dup);
	coap_startup();
	if (!coap_dtls_is_supported())
		fatalx("msg=\"libcoap has no DTLS\"");
	if (!coap_async_is_supported())
		fatalx("msg=\"libcoap has no separate responses (async)\"");
	if ((ctx->coap = coap_new_context(NULL)) == NULL)
		fatalx("msg=\"coap_new_context failed\"");
	limits(ctx);
	if (ec_dtls_setup(ctx) != 0)
		fatalx("msg=\"DTLS setup failed\"");
	/* Resources first: the store's refresh fills discovery's issuers. */
	if (ec_res_setup(ctx) != 0)
		fatalx("msg=\"resource setup failed\"");
	if (ec_store_init(ctx) != 0)
		fatalx("msg=\"client trust store setup failed\"");
	main_ctx = ctx;
	coap_register_event_handler(ctx->coap, on_event);
	if (coap_new_endpoint(ctx->coap, &addr, COAP_PROTO_DTLS) == NULL)
		fatalx("msg=\"cannot bind DTLS endpoint\"");
	hello = ctx->conf->limits.coap_hello_unverified;
	if (ec_gate_init(ctx, &addr, hello < 0 ? 0 : hello > 65536 ? 65536 :
	    (size_t)hello) != 0)
		fatalx("msg=\"no DTLS endpoint socket for the ClientHello "
		    "check\"");
}

int
main(int argc, char *argv[])
{
	static struct ec_ctx ctx;
	const char *conf = NULL;
	int ch, debug = 0, udpfd = -1;

	ctx.efd = -1;
	while ((ch = getopt(argc, argv, "dE:f:U:")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'E':
			ctx.efd = parse_fd(optarg);
			break;
		case 'f':
			conf = optarg;
			break;
		case 'U':
			udpfd = parse_fd(optarg);
			break;
		default:
			usage();
		}
	}
	if (conf == NULL || ctx.efd < 0 || optind != argc)
		usage();
	ec_liblog_init(debug);
	signal(SIGPIPE, SIG_IGN);
	/* SIGHUP (a reload): leave cleanly; signetd starts us again with
	 * the new configuration (and the sandbox entered afresh). */
	signal(SIGHUP, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setup(&ctx, conf, udpfd);
	if (ctx.conf->sandbox) {
		struct sandbox_conf sc = { SANDBOX_COAP, ctx.conf->coap_user,
			ctx.conf->sandbox_dir, 256 };
		char err[SANDBOX_MAX_ERR];

		/* The one call site: everything is open, nothing served yet. */
		if (sandbox_enter(&sc, err, sizeof(err)) != 0)
			fatalx("msg=\"sandbox refused\" error=\"%s\"", err);
		log_info("msg=\"sandboxed\" user=%s root=%s",
		    sc.user, sc.root_dir);
	}
	log_info("msg=\"ready\" listen=%s max_body=%zu",
	    ctx.conf->listen_coap ? ctx.conf->listen_coap : "-",
	    ctx.max_body);
	while (!quit) {
		loop_once(&ctx);
		OPENSSL_cleanse(ctx.psk_key, sizeof(ctx.psk_key));
		ec_body_reap(&ctx, ec_now_ms());
	}
	log_info("msg=\"stopping\" requests=%llu enrolled=%llu "
	    "errors=%llu psk_ok=%llu psk_refused=%llu too_large=%llu "
	    "reaped=%llu rate_limited=%llu bodies_refused=%llu "
	    "replayed=%llu dup_inflight=%llu busy=%llu evicted=%llu "
	    "hello_passed=%llu hello_cookie=%llu hello_answered=%llu "
	    "hello_bad=%llu",
	    (unsigned long long)ctx.st.requests,
	    (unsigned long long)ctx.st.enrolled,
	    (unsigned long long)ctx.st.errors,
	    (unsigned long long)ctx.st.psk_ok,
	    (unsigned long long)ctx.st.psk_refused,
	    (unsigned long long)ctx.st.too_large,
	    (unsigned long long)ctx.st.blocks_reaped,
	    (unsigned long long)ctx.st.rate_limited,
	    (unsigned long long)ctx.st.bodies_refused,
	    (unsigned long long)ctx.st.replayed,
	    (unsigned long long)ctx.st.dup_inflight,
	    (unsigned long long)ctx.st.busy,
	    (unsigned long long)ctx.dup.evicted,
	    (unsigned long long)ctx.st.hello_passed,
	    (unsigned long long)ctx.st.hello_cookie,
	    (unsigned long long)ctx.st.hello_answered,
	    (unsigned long long)ctx.st.hello_bad);
	coap_free_context(ctx.coap);
	coap_cleanup();
	ec_engine_free(&ctx);
	ec_dup_free(&ctx.dup);
	ec_dtls_free(&ctx);
	ec_disc_free(&ctx);
	ec_gate_free(&ctx);
	sconf_free(ctx.conf);
	return 0;
}
