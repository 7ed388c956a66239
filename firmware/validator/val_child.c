/*
 * The main of a process that connects out: signet-validator and
 * signet-notify are the same process around a different piece of work
 * (val_child.h).  Both hold no key, no ledger handle and no TLS
 * credentials; both take work from the engine over ENGINEFD.
 *
 * NAME -f CONFIG -E ENGINEFD [-d]
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "signet_log.h"
#include "val_child.h"

static volatile sig_atomic_t quit;
static int engine_gone;	/* the engine closed the channel */
static int woken;	/* a wake came during the last calls */

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

static int64_t
val_child_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * proto_call, except that a wake (id 0: no call has it) is noted in
 * `woken` instead of dropped with the late answers.
 */
static int
val_child_rpc(int efd, uint16_t type, const uint8_t *body, size_t len,
    uint8_t *buf, const uint8_t **rb, size_t *rlen)
{
	static uint32_t next_id;
	struct pollfd pfd;
	struct proto_hdr h;
	int64_t deadline, left;
	uint32_t id;
	int rc, n;

	if ((id = ++next_id) == 0)	/* 0 is the engine's wake */
		id = ++next_id;
	deadline = val_child_ms() + VAL_CHILD_ENGINE_MS;
	if ((rc = proto_send(efd, type, id, body, len)) != PROTO_OK)
		return rc;
	for (;;) {
		if ((left = deadline - val_child_ms()) <= 0)
			return PROTO_ERR_TIMEOUT;
		pfd.fd = efd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if ((n = poll(&pfd, 1, (int)left)) == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return PROTO_ERR_IO;
		if (n == 0)
			continue;
		if ((pfd.revents & POLLIN) == 0)
			return (pfd.revents & POLLNVAL) ? PROTO_ERR_IO :
			    PROTO_ERR_EOF;
		if ((rc = proto_recv(efd, buf, PROTO_MAX_MSG, &h, rb)) !=
		    PROTO_OK)
			return rc;
		if (h.id == 0) {
			woken = 1;
			continue;
		}
		/* A late answer to a call that timed out: drop it. */
		if (h.id != id)
			continue;
		if (h.type != (type | PROTO_T_REPLY))
			return PROTO_ERR_TYPE;
		*rlen = h.len;
		return PROTO_OK;
	}
}

/*
 * Nothing to do: wait up to ms for a wake from the engine or for wfd
 * (work to report), reading both empty.  A wake that came during the
 * last call returns at once.
 */
static void
val_child_wait(int efd, int wfd, int ms)
{
	static uint8_t junk[PROTO_MAX_MSG];
	struct pollfd pfd[2];
	nfds_t n = 1;
	ssize_t r;

	if (woken)
		return;
	pfd[0].fd = efd;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	if (wfd != -1) {
		pfd[1].fd = wfd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		n = 2;
	}
	if (poll(pfd, n, ms) <= 0)
		return;
	/* Wakes, or late answers; end of file is the next call's to see. */
	if (pfd[0].revents & POLLIN)
		while ((r = recv(efd, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
			;
	if (n == 2 && (pfd[1].revents & POLLIN))
		while (read(wfd, junk, sizeof(junk)) > 0)
			;
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
	    (rc = val_child_rpc(efd, type, body, len, buf, &rb, &rlen)) !=
	    PROTO_OK ||
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
	int debug = 0, efd = -1, wfd, idle, idle_min, rc;

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
	wfd = ch->wakefd != NULL ? ch->wakefd(ch->arg) : -1;
	/*
	 * Nothing to do: wait for the engine's wake (a validation queued,
	 * eng_serve_wake) or wfd, at most VAL_CHILD_IDLE_MIN_MS, doubling up
	 * to ch->idle_ms while idle, back to the minimum after any work.
	 * The wake makes queued work start at once; the timeout is for what
	 * nobody wakes for (a validation handed out again, signet-notify's
	 * queue), and an idle process still asks 1000 / idle_ms times a
	 * second.
	 */
	idle_min = ch->idle_ms < VAL_CHILD_IDLE_MIN_MS ? ch->idle_ms :
	    VAL_CHILD_IDLE_MIN_MS;
	idle = idle_min;
	while (!quit) {
		woken = 0;
		if ((rc = ch->once(ch->arg, c, efd, buf)) < 0)
			break;
		if (rc != 0 || woken) {
			idle = idle_min;
			continue;
		}
		val_child_wait(efd, wfd, idle);
		idle = idle > ch->idle_ms / 2 ? ch->idle_ms : idle * 2;
	}
	log_info("msg=stopping");
	if (ch->cleanup != NULL)
		ch->cleanup(ch->arg);
	sconf_free(c);
	return quit || (ch->eof_ok && engine_gone) ? 0 : 1;
}
