/*
 * signet-https: started by signetd with the listening sockets already
 * open and one engine channel; it never opens a socket or a key itself.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signet/sandbox.h>

#include "https_local.h"

static void
usage(void)
{
	fprintf(stderr, "usage: signet-https -f config -E engine-fd "
	    "[-S https-fd] [-P http-fd] [-W workers] [-d]\n");
	exit(1);
}

static int
fd_arg(const char *s)
{
	uint64_t v;

	if (https_uint_parse(s, 65535, &v) != HTTPS_OK)
		usage();
	return (int)v;
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct https_srv *srv = arg;
	struct timeval tv = { 2, 0 };

	/* Take no new connections; let answers in flight go out. */
	log_info("msg=\"draining\" signal=%d", (int)sig);
	if (srv->lis_https != NULL)
		evconnlistener_disable(srv->lis_https);
	if (srv->lis_http != NULL)
		evconnlistener_disable(srv->lis_http);
	srv->draining = 1;
	https_conn_stop(srv);
	event_base_loopexit(srv->base, &tv);
}

static int
srv_setup(struct https_srv *srv, int efd, int sfd, int pfd, char *err,
    size_t errlen)
{
	if (https_conn_init(srv, err, errlen) != 0)
		return -1;
	if ((srv->engine = https_engine_new(srv->base, efd,
	    HTTPS_ENGINE_TIMEOUT_MS)) == NULL) {
		snprintf(err, errlen, "engine channel fd %d unusable", efd);
		return -1;
	}
	if (sfd >= 0 && https_tls_init(srv, err, errlen) != 0)
		return -1;
	if (https_pub_load(srv, err, errlen) != 0 ||
	    https_srv_listen(srv, sfd, pfd, err, errlen) != 0)
		return -1;
	https_preload_cas(srv);
	return 0;
}

int
https_main(int argc, char **argv)
{
	struct https_srv *srv = NULL;
	struct event *sigterm = NULL, *sigint = NULL, *sighup = NULL;
	const char *conf = NULL;
	char err[SCONF_MAX_ERR];
	int c, efd = -1, sfd = -1, pfd = -1, debug = 0, rc = 1, workers = 1;

	while ((c = getopt(argc, argv, "dE:f:P:S:W:")) != -1) {
		switch (c) {
		case 'd': debug = 1; break;
		case 'E': efd = fd_arg(optarg); break;
		case 'f': conf = optarg; break;
		case 'P': pfd = fd_arg(optarg); break;
		case 'S': sfd = fd_arg(optarg); break;
		case 'W': workers = fd_arg(optarg); break;
		default: usage();
		}
	}
	if (conf == NULL || efd < 0 || (sfd < 0 && pfd < 0) || optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if ((srv = calloc(1, sizeof(*srv))) == NULL ||
	    (srv->base = event_base_new()) == NULL) {
		fprintf(stderr, "signet-https: out of memory\n");
		goto out;
	}
	srv->workers = workers > 0 ? workers : 1;
	if (sconf_load(conf, &srv->conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "signet-https: %s\n", err);
		goto out;
	}
	log_init("signet-https", LOG_TO_STDERR, debug ||
	    (srv->conf->log_level != NULL &&
	    strcmp(srv->conf->log_level, "debug") == 0));
	https_conn_libevent_log();
	if (srv_setup(srv, efd, sfd, pfd, err, sizeof(err)) != 0) {
		log_warnx("msg=\"cannot start\" error=\"%s\"", err);
		goto out;
	}
	if ((sigterm = evsignal_new(srv->base, SIGTERM, on_term, srv)) ==
	    NULL || (sigint = evsignal_new(srv->base, SIGINT, on_term,
	    srv)) == NULL || evsignal_add(sigterm, NULL) != 0 ||
	    evsignal_add(sigint, NULL) != 0)
		goto out;
	/* SIGHUP (a reload): drain like SIGTERM; signetd starts us again
	 * with the new configuration. */
	if ((sighup = evsignal_new(srv->base, SIGHUP, on_term, srv)) == NULL ||
	    evsignal_add(sighup, NULL) != 0)
		goto out;
	if (srv->conf->sandbox) {
		struct sandbox_conf sc = { SANDBOX_HTTPS, srv->conf->https_user,
			srv->conf->sandbox_dir, 0 };
		char serr[SANDBOX_MAX_ERR];

		/* This worker's budget and reserve, and a few spare (the
		 * connection table indexes exactly these descriptors). */
		sc.max_files = srv->nslots;
		/* The one call site: everything is open, nothing served yet. */
		if (sandbox_enter(&sc, serr, sizeof(serr)) != 0) {
			log_warnx("msg=\"sandbox refused\" error=\"%s\"",
			    serr);
			goto out;
		}
		log_info("msg=\"sandboxed\" user=%s root=%s", sc.user,
		    sc.root_dir);
	}
	log_info("msg=\"serving\" https_fd=%d http_fd=%d", sfd, pfd);
	event_base_dispatch(srv->base);
	rc = srv->draining && !https_engine_dead(srv->engine) ? 0 : 1;
out:
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (sighup != NULL)
		event_free(sighup);
	if (srv != NULL) {
		struct event_base *base = srv->base;
		struct sconf *cf = srv->conf;

		https_srv_free(srv);
		if (cf != NULL)
			sconf_free(cf);
		if (base != NULL)
			event_base_free(base);
	}
	return rc;
}
