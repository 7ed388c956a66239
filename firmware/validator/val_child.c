/*
 * The main of a process that connects out: signet-validator and
 * signet-notify are the same process around a different piece of work
 * (val_child.h).  Both hold no key, no ledger handle and no TLS
 * credentials; both take work from the engine over ENGINEFD.
 *
 * NAME -f CONFIG -E ENGINEFD [-d]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signet_log.h"
#include "val_child.h"

static volatile sig_atomic_t quit;
static int engine_gone;	/* the engine closed the channel */

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(const char *name)
{
	fprintf(stderr, "usage: %s -f config -E fd [-d]\n", name);
	exit(2);
}

int
val_child_call(int efd, uint16_t type, const struct proto_request *req,
    uint8_t *buf, struct proto_reply *rep)
{
	static uint8_t body[PROTO_MAX_BODY];
	const uint8_t *rb;
	size_t len, rlen;
	int rc;

	if ((rc = proto_request_encode(req, body, sizeof(body), &len)) !=
	    PROTO_OK ||
	    (rc = proto_call(efd, type, body, len, buf, PROTO_MAX_MSG,
	    VAL_CHILD_ENGINE_MS, &rb, &rlen)) != PROTO_OK ||
	    (rc = proto_reply_decode(type, rb, rlen, rep)) != PROTO_OK) {
		log_warnx("msg=\"engine call failed\" error=\"%s\"",
		    proto_strerror(rc));
		engine_gone = rc == PROTO_ERR_EOF;
		return rc == PROTO_ERR_TIMEOUT ? 1 : -1;
	}
	return 0;
}

/* Reads -f CONFIG -E ENGINEFD [-d] into *conf, *efd, *debug. */
static void
val_child_args(int argc, char *argv[], const char *name, const char **conf,
    int *efd, int *debug)
{
	long v;
	char *end;
	int ch;

	while ((ch = getopt(argc, argv, "dE:f:")) != -1) {
		switch (ch) {
		case 'd':
			*debug = 1;
			break;
		case 'E':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
				usage(name);
			*efd = (int)v;
			break;
		case 'f':
			*conf = optarg;
			break;
		default:
			usage(name);
		}
	}
	if (*conf == NULL || *efd < 0 || optind != argc)
		usage(name);
}

int
val_child_main(int argc, char *argv[], const struct val_child *ch)
{
	static uint8_t buf[PROTO_MAX_MSG];
	struct sconf *c = NULL;
	const char *conf = NULL;
	char err[512];
	int debug = 0, efd = -1, idle, idle_min, rc;

	val_child_args(argc, argv, ch->name, &conf, &efd, &debug);
	log_init(ch->name, LOG_TO_STDERR, debug);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (sconf_load(conf, &c, err, sizeof(err)) != 0)
		fatalx("msg=\"configuration\" error=\"%s\"", err);
	if (ch->setup != NULL && ch->setup(ch->arg, c, err, sizeof(err)) != 0)
		fatalx("msg=\"configuration\" error=\"%s\"", err);
	if (c->sandbox) {
		struct sandbox_conf sc = { ch->role, c->https_user,
			c->sandbox_dir, 64 };
		char serr[SANDBOX_MAX_ERR];

		if (sandbox_enter(&sc, serr, sizeof(serr)) != 0)
			fatalx("msg=\"sandbox refused\" error=\"%s\"", serr);
		log_info("msg=\"sandboxed\" user=%s root=%s", sc.user,
		    sc.root_dir);
	}
	ch->ready(ch->arg, c);
	/*
	 * Nothing to do: wait VAL_CHILD_IDLE_MIN_MS, doubling up to
	 * ch->idle_ms while idle, back to the minimum after any work; work
	 * that arrives during a burst waits a few ms, not a whole idle_ms,
	 * and an idle process still asks 1000 / idle_ms times a second.
	 */
	idle_min = ch->idle_ms < VAL_CHILD_IDLE_MIN_MS ? ch->idle_ms :
	    VAL_CHILD_IDLE_MIN_MS;
	idle = idle_min;
	while (!quit) {
		if ((rc = ch->once(ch->arg, c, efd, buf)) < 0)
			break;
		if (rc != 0) {
			idle = idle_min;
			continue;
		}
		poll(NULL, 0, idle);
		idle = idle > ch->idle_ms / 2 ? ch->idle_ms : idle * 2;
	}
	log_info("msg=stopping");
	if (ch->cleanup != NULL)
		ch->cleanup(ch->arg);
	sconf_free(c);
	return quit || (ch->eof_ok && engine_gone) ? 0 : 1;
}
