/*
 * Starting, wiring and restarting the children.
 *
 * The engine gets a control channel (SOCK_SEQPACKET) from us.  For every
 * front end we make a fresh SOCK_SEQPACKET pair, send one end to the engine
 * over the control channel with the front end's kind (so the engine learns
 * who is at the other end from us, never from the peer), and give the
 * other end to the front end at exec.  A front end that dies is restarted
 * with a new pair; when the engine dies every front end's channel is dead,
 * so the front ends are restarted after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <signet/proto.h>
#include <signet/sandbox.h>

#include "parent.h"

int64_t
parent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
role_name(enum parent_role r)
{
	return r == ROLE_ENGINE ? "engine" : r == ROLE_HTTPS ? "https" : "coap";
}

/* Lets fd survive exec in the child. */
static void
keep_fd(int fd)
{
	int fl;

	if (fd >= 0 && (fl = fcntl(fd, F_GETFD)) != -1)
		fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
}

/*
 * uid != (uid_t)-1: the child becomes that user before exec (the engine
 * under the sandbox).  Front ends start as root and drop after reading
 * their keys (sandbox_enter).
 */
static pid_t
spawn(const char *bin, char *const argv[], const int *keep, int nkeep,
    uid_t uid, gid_t gid)
{
	sigset_t none;
	pid_t pid;
	int i;

	if ((pid = fork()) != 0)
		return pid;
	/* Child: default signals, only the descriptors it needs. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	for (i = 0; i < nkeep; i++)
		keep_fd(keep[i]);
	if (uid != (uid_t)-1 && sandbox_become(uid, gid) != 0) {
		fprintf(stderr, "signetd: cannot become uid %ld for %s: %s\n",
		    (long)uid, bin, strerror(errno));
		_exit(127);
	}
	execv(bin, argv);
	fprintf(stderr, "signetd: cannot exec %s: %s\n", bin, strerror(errno));
	_exit(127);
}

static int
start_engine(struct parent *p)
{
	struct parent_child *c = &p->engine;
	char fdbuf[16];
	char *argv[] = { "signet-engine", "-f", (char *)p->conf_path, "-C",
		fdbuf, NULL };
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("msg=\"socketpair failed\" child=engine");
		return -1;
	}
	snprintf(fdbuf, sizeof(fdbuf), "%d", sp[1]);
	c->pid = spawn(p->engine_bin, argv, &sp[1], 1,
	    p->sandbox ? p->engine_uid : (uid_t)-1,
	    p->sandbox ? p->engine_gid : (gid_t)-1);
	close(sp[1]);
	if (c->pid == -1) {
		log_warn("msg=\"fork failed\" child=engine");
		close(sp[0]);
		c->pid = 0;
		return -1;
	}
	p->ctl_fd = sp[0];
	return 0;
}

static int
start_front(struct parent *p, struct parent_child *c)
{
	char efd[16], lfd[16], hfd[16];
	char *argv[10];
	int sp[2], keep[3], n = 0, k = 0;
	uint8_t kind = c->role == ROLE_HTTPS ? PROTO_PEER_HTTPS :
	    PROTO_PEER_COAP;

	if (p->engine.pid == 0 || p->ctl_fd == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("msg=\"socketpair failed\" child=%s", role_name(c->role));
		return -1;
	}
	if (proto_send_fd(p->ctl_fd, kind, sp[0]) != 0) {
		log_warn("msg=\"cannot pass channel to engine\" child=%s",
		    role_name(c->role));
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	close(sp[0]);
	snprintf(efd, sizeof(efd), "%d", sp[1]);
	keep[k++] = sp[1];
	argv[n++] = c->role == ROLE_HTTPS ? "signet-https" : "signet-coap";
	argv[n++] = "-f";
	argv[n++] = (char *)p->conf_path;
	argv[n++] = "-E";
	argv[n++] = efd;
	if (c->role == ROLE_HTTPS) {
		snprintf(lfd, sizeof(lfd), "%d", p->https_fd);
		argv[n++] = "-S";
		argv[n++] = lfd;
		keep[k++] = p->https_fd;
		if (p->http_fd != -1) {
			snprintf(hfd, sizeof(hfd), "%d", p->http_fd);
			argv[n++] = "-P";
			argv[n++] = hfd;
			keep[k++] = p->http_fd;
		}
	} else {
		snprintf(lfd, sizeof(lfd), "%d", p->coap_fd);
		argv[n++] = "-U";
		argv[n++] = lfd;
		keep[k++] = p->coap_fd;
	}
	argv[n] = NULL;
	c->pid = spawn(c->role == ROLE_HTTPS ? p->https_bin : p->coap_bin,
	    argv, keep, k, (uid_t)-1, (gid_t)-1);
	close(sp[1]);
	if (c->pid == -1) {
		c->pid = 0;
		return -1;
	}
	return 0;
}

static void
started(struct parent_child *c, int ok)
{
	c->started_ms = parent_now_ms();
	c->restart_at_ms = ok ? 0 : c->started_ms + c->backoff_ms;
	if (ok)
		log_info("msg=\"child started\" child=%s worker=%d pid=%ld "
		    "restarts=%u", role_name(c->role), c->index, (long)c->pid,
		    c->restarts);
}

static int
start(struct parent *p, struct parent_child *c)
{
	int rc = c->role == ROLE_ENGINE ? start_engine(p) : start_front(p, c);

	started(c, rc == 0);
	return rc;
}

void
parent_start_all(struct parent *p)
{
	int i;

	p->engine.role = ROLE_ENGINE;
	p->engine.backoff_ms = PARENT_BACKOFF_MIN_MS;
	if (start(p, &p->engine) != 0)
		fatalx("msg=\"cannot start the engine\"");
	for (i = 0; i < p->nhttps; i++) {
		p->https[i].role = ROLE_HTTPS;
		p->https[i].index = i;
		p->https[i].backoff_ms = PARENT_BACKOFF_MIN_MS;
		start(p, &p->https[i]);
	}
	if (p->have_coap) {
		p->coap.role = ROLE_COAP;
		p->coap.backoff_ms = PARENT_BACKOFF_MIN_MS;
		start(p, &p->coap);
	}
}

/* Schedules a restart with backoff that grows while a child keeps dying. */
static void
schedule(struct parent_child *c, int64_t now)
{
	if (now - c->started_ms >= PARENT_STABLE_SECS * 1000)
		c->backoff_ms = PARENT_BACKOFF_MIN_MS;
	c->restart_at_ms = now + c->backoff_ms;
	c->backoff_ms = c->backoff_ms * 2 > PARENT_BACKOFF_MAX_MS ?
	    PARENT_BACKOFF_MAX_MS : c->backoff_ms * 2;
	c->restarts++;
}

static struct parent_child *
find(struct parent *p, pid_t pid)
{
	int i;

	if (p->engine.pid == pid)
		return &p->engine;
	for (i = 0; i < p->nhttps; i++)
		if (p->https[i].pid == pid)
			return &p->https[i];
	if (p->have_coap && p->coap.pid == pid)
		return &p->coap;
	return NULL;
}

static void
fronts_signal(struct parent *p, int sig)
{
	int i;

	for (i = 0; i < p->nhttps; i++)
		if (p->https[i].pid > 0)
			kill(p->https[i].pid, sig);
	if (p->have_coap && p->coap.pid > 0)
		kill(p->coap.pid, sig);
}

static void
exited(struct parent *p, struct parent_child *c, int status)
{
	int64_t now = parent_now_ms();

	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		log_warnx("msg=\"child killed by the sandbox: it made a "
		    "forbidden system call\" child=%s worker=%d pid=%ld "
		    "signal=%d", role_name(c->role), c->index, (long)c->pid,
		    WTERMSIG(status));
	else if (WIFSIGNALED(status))
		log_warnx("msg=\"child died\" child=%s worker=%d pid=%ld "
		    "signal=%d", role_name(c->role), c->index, (long)c->pid,
		    WTERMSIG(status));
	else
		log_info("msg=\"child exited\" child=%s worker=%d pid=%ld "
		    "status=%d", role_name(c->role), c->index, (long)c->pid,
		    WEXITSTATUS(status));
	c->pid = 0;
	if (p->stopping)
		return;
	schedule(c, now);
	if (c->role == ROLE_ENGINE) {
		/* Every front end's channel died with the engine. */
		if (p->ctl_fd != -1)
			close(p->ctl_fd);
		p->ctl_fd = -1;
		fronts_signal(p, SIGTERM);
	}
}

void
parent_reap(struct parent *p)
{
	struct parent_child *c;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if ((c = find(p, pid)) != NULL)
			exited(p, c, status);
}

void
parent_tick(struct parent *p)
{
	int64_t now = parent_now_ms();
	int i;

	if (p->stopping)
		return;
	if (p->engine.pid == 0) {
		if (p->engine.restart_at_ms > now)
			return;
		/* Front ends start only once their old channels are gone. */
		for (i = 0; i < p->nhttps; i++)
			if (p->https[i].pid > 0)
				return;
		if (p->have_coap && p->coap.pid > 0)
			return;
		start(p, &p->engine);
		return;
	}
	for (i = 0; i < p->nhttps; i++)
		if (p->https[i].pid == 0 && p->https[i].restart_at_ms <= now)
			start(p, &p->https[i]);
	if (p->have_coap && p->coap.pid == 0 && p->coap.restart_at_ms <= now)
		start(p, &p->coap);
}

void
parent_signal_all(struct parent *p, int sig)
{
	fronts_signal(p, sig);
	if (p->engine.pid > 0)
		kill(p->engine.pid, sig);
}

static int
wait_fronts(struct parent *p, int64_t deadline)
{
	int i, alive;

	do {
		parent_reap(p);
		alive = 0;
		for (i = 0; i < p->nhttps; i++)
			alive += p->https[i].pid > 0;
		alive += p->have_coap && p->coap.pid > 0;
		if (alive == 0)
			return 0;
		usleep(20 * 1000);
	} while (parent_now_ms() < deadline);
	return alive;
}

/* Drains: front ends first (they finish requests in flight), then the
 * engine (it finishes what they sent), SIGKILL only after the grace. */
void
parent_stop_all(struct parent *p)
{
	int64_t deadline;

	p->stopping = 1;
	fronts_signal(p, SIGTERM);
	deadline = parent_now_ms() + PARENT_DRAIN_SECS * 1000;
	if (wait_fronts(p, deadline) > 0) {
		log_warnx("msg=\"front ends did not stop; killing\"");
		fronts_signal(p, SIGKILL);
		wait_fronts(p, parent_now_ms() + 2000);
	}
	if (p->engine.pid > 0) {
		kill(p->engine.pid, SIGTERM);
		deadline = parent_now_ms() + PARENT_DRAIN_SECS * 1000;
		while (p->engine.pid > 0 && parent_now_ms() < deadline) {
			parent_reap(p);
			usleep(20 * 1000);
		}
		if (p->engine.pid > 0) {
			log_warnx("msg=\"engine did not stop; killing\"");
			kill(p->engine.pid, SIGKILL);
			waitpid(p->engine.pid, NULL, 0);
		}
	}
	if (p->ctl_fd != -1)
		close(p->ctl_fd);
}
