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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	return r == ROLE_ENGINE ? "engine" : r == ROLE_HTTPS ? "https" :
	    r == ROLE_VALIDATOR ? "validator" : r == ROLE_NOTIFY ? "notify" :
	    "coap";
}

/* Lets fd survive exec in the child. */
static void
keep_fd(int fd)
{
	int fl;

	if (fd >= 0 && (fl = fcntl(fd, F_GETFD)) != -1)
		fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
}

/* The files a child must read after it changed user, checked before exec. */
#define SPAWN_MAX_FILES 64
struct spawn_files {
	const char *path[SPAWN_MAX_FILES];
	size_t n;
	const char *user;	/* the name the child runs as */
};

/* In the child: says why it cannot start, to the parent, and exits. */
static void __attribute__((noreturn, format(printf, 2, 3)))
child_fail(int fd, const char *fmt, ...)
{
	char buf[PARENT_MAX_WHY];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (write(fd, buf, (size_t)n) != n)
		fprintf(stderr, "signetd: %s\n", buf);
	_exit(127);
}

/*
 * In the child, after the change of user: every configured file opens
 * for reading, else the error names the file, the user and the mode
 * (stat'ed as root before, as the user may not even see it).
 */
static void
child_check_files(int fd, const struct spawn_files *sf,
    const struct stat *st, const int *st_ok)
{
	size_t i;
	int f, e;

	for (i = 0; sf != NULL && i < sf->n; i++) {
		if ((f = open(sf->path[i], O_RDONLY | O_CLOEXEC)) != -1) {
			close(f);
			continue;
		}
		e = errno;
		if (e != EACCES && e != EPERM)
			continue;	/* missing etc.: the child says it */
		if (st_ok[i])
			child_fail(fd, "permission denied: user %s (uid %ld "
			    "gid %ld) cannot read %s (mode %04o, owner uid %ld "
			    "gid %ld)", sf->user, (long)getuid(),
			    (long)getgid(), sf->path[i],
			    (unsigned)(st[i].st_mode & 07777),
			    (long)st[i].st_uid, (long)st[i].st_gid);
		child_fail(fd, "permission denied: user %s (uid %ld) cannot "
		    "read %s", sf->user, (long)getuid(), sf->path[i]);
	}
}

/*
 * uid != (uid_t)-1: the child becomes that user before exec (the engine
 * under the sandbox) and checks it can read sf's files.  Front ends
 * start as root and drop after reading their keys (sandbox_enter).
 * A pipe closed by exec tells us whether the child got that far; if
 * not, why holds its reason (the child then exits 127).  A second pipe
 * outlives exec: the child's log module writes its fatal line there
 * (LOG_REPORT_ENV), and *report is our end, read when the child exits.
 */
static pid_t
spawn(const char *bin, char *const argv[], const int *keep, int nkeep,
    uid_t uid, gid_t gid, const struct spawn_files *sf, char *why,
    size_t whylen, int *report)
{
	struct stat st[SPAWN_MAX_FILES];
	int st_ok[SPAWN_MAX_FILES];
	char rfd[16];
	sigset_t none;
	pid_t pid, self = getpid();
	ssize_t n;
	size_t got = 0;
	int i, ep[2], rp[2];

	why[0] = '\0';
	*report = -1;
	if (pipe2(ep, O_CLOEXEC) == -1) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	/* Without it the child still runs; its failure reads "see the log". */
	if (pipe2(rp, O_CLOEXEC | O_NONBLOCK) == -1)
		rp[0] = rp[1] = -1;
	if ((pid = fork()) != 0) {
		close(ep[1]);
		if (rp[1] != -1)
			close(rp[1]);
		if (pid > 0)
			*report = rp[0];
		else if (rp[0] != -1)
			close(rp[0]);
		/* Until exec or the child's failure: microseconds. */
		while (pid > 0 && got + 1 < whylen) {
			n = read(ep[0], why + got, whylen - 1 - got);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		why[got] = '\0';
		close(ep[0]);
		if (pid == -1)
			snprintf(why, whylen, "fork: %s", strerror(errno));
		return pid;
	}
	/* Child: default signals, only the descriptors it needs. */
	close(ep[0]);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	for (i = 0; i < nkeep; i++)
		keep_fd(keep[i]);
	if (rp[1] != -1) {
		close(rp[0]);
		keep_fd(rp[1]);
		snprintf(rfd, sizeof(rfd), "%d", rp[1]);
		if (setenv(LOG_REPORT_ENV, rfd, 1) != 0)
			close(rp[1]);
	}
	for (i = 0; sf != NULL && (size_t)i < sf->n; i++)
		st_ok[i] = stat(sf->path[i], &st[i]) == 0;
	if (uid != (uid_t)-1 && sandbox_become(uid, gid) != 0)
		child_fail(ep[1], "cannot become uid %ld for %s: %s",
		    (long)uid, bin, strerror(errno));
	child_check_files(ep[1], sf, st, st_ok);
	/*
	 * A child must not outlive us: a front end left behind holds its
	 * port and a new signetd cannot bind it.  Set after the change of
	 * user (which clears it, prctl(2)) and kept across exec; a front
	 * end's own drop clears it again, so sandbox_enter sets it anew.
	 * If we died before this line, nobody will signal the child.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		child_fail(ep[1], "prctl(PR_SET_PDEATHSIG): %s",
		    strerror(errno));
	if (getppid() != self)
		_exit(127);
	execv(bin, argv);
	child_fail(ep[1], "cannot exec %s: %s", bin, strerror(errno));
}

static void
add_file(struct spawn_files *sf, const char *path)
{
	if (path != NULL && sf->n < SPAWN_MAX_FILES)
		sf->path[sf->n++] = path;
}

/* What the engine reads after signetd made it its user. */
static void
engine_files(const struct sconf *c, struct spawn_files *sf)
{
	size_t i, k;

	memset(sf, 0, sizeof(*sf));
	sf->user = c->user != NULL ? c->user : "?";
	add_file(sf, c->path);
	add_file(sf, c->token_pin_file);
	/* The module and SoftHSM's configuration: a permission error there
	 * is otherwise "module cannot be loaded or initialised". */
	add_file(sf, c->token_module);
	add_file(sf, getenv("SOFTHSM2_CONF"));
	for (i = 0; i < c->tls_client_ca.n; i++)
		add_file(sf, c->tls_client_ca.v[i]);
	for (i = 0; i < c->nclients; i++)
		for (k = 0; k < c->clients[i].issuer_cert.n; k++)
			add_file(sf, c->clients[i].issuer_cert.v[k]);
	for (i = 0; i < c->ntenants; i++)
		for (k = 0; k < c->tenants[i].nissuers; k++) {
			add_file(sf, c->tenants[i].issuers[k].cert_file);
			add_file(sf, c->tenants[i].issuers[k].chain_file);
			add_file(sf, c->tenants[i].issuers[k].ocsp_cert_file);
		}
}

static int
start_engine(struct parent *p)
{
	struct parent_child *c = &p->engine;
	char fdbuf[16];
	char *argv[] = { "signet-engine", "-f", (char *)p->conf_path, "-C",
		fdbuf, NULL };
	struct spawn_files sf;
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("msg=\"socketpair failed\" child=engine");
		return -1;
	}
	snprintf(fdbuf, sizeof(fdbuf), "%d", sp[1]);
	if (p->sandbox)
		engine_files(p->conf, &sf);
	c->pid = spawn(p->engine_bin, argv, &sp[1], 1,
	    p->sandbox ? p->engine_uid : (uid_t)-1,
	    p->sandbox ? p->engine_gid : (gid_t)-1, p->sandbox ? &sf : NULL,
	    c->why, sizeof(c->why), &c->report_fd);
	close(sp[1]);
	if (c->pid == -1) {
		log_warnx("msg=\"fork failed\" child=engine error=\"%s\"",
		    c->why);
		close(sp[0]);
		c->pid = 0;
		return -1;
	}
	p->ctl_fd = sp[0];
	/* A new engine knows nothing of the front ends still failed. */
	parent_tell_engine(p);
	return 0;
}

static int
start_front(struct parent *p, struct parent_child *c)
{
	char efd[16], lfd[16], hfd[16], wn[16];
	char *argv[12];
	int sp[2], keep[3], n = 0, k = 0;
	uint8_t kind = c->role == ROLE_HTTPS ? PROTO_PEER_HTTPS :
	    c->role == ROLE_VALIDATOR ? PROTO_PEER_VALIDATOR :
	    c->role == ROLE_NOTIFY ? PROTO_PEER_NOTIFY : PROTO_PEER_COAP;

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
	argv[n++] = c->role == ROLE_HTTPS ? "signet-https" :
	    c->role == ROLE_VALIDATOR ? "signet-validator" :
	    c->role == ROLE_NOTIFY ? "signet-notify" : "signet-coap";
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
		/* Connection limits are shared out among the workers. */
		snprintf(wn, sizeof(wn), "%d", p->nhttps);
		argv[n++] = "-W";
		argv[n++] = wn;
	} else if (c->role == ROLE_COAP) {
		snprintf(lfd, sizeof(lfd), "%d", p->coap_fd);
		argv[n++] = "-U";
		argv[n++] = lfd;
		keep[k++] = p->coap_fd;
	}
	argv[n] = NULL;
	c->pid = spawn(c->role == ROLE_HTTPS ? p->https_bin :
	    c->role == ROLE_VALIDATOR ? p->validator_bin :
	    c->role == ROLE_NOTIFY ? p->notify_bin : p->coap_bin,
	    argv, keep, k, (uid_t)-1, (gid_t)-1, NULL, c->why, sizeof(c->why),
	    &c->report_fd);
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
	if (c->why[0] != '\0')
		log_warnx("msg=\"child cannot start\" child=%s worker=%d "
		    "error=\"%s\"", role_name(c->role), c->index, c->why);
	else if (ok)
		log_info("msg=\"child started\" child=%s worker=%d pid=%ld "
		    "restarts=%u", role_name(c->role), c->index, (long)c->pid,
		    c->restarts);
}

static int
start(struct parent *p, struct parent_child *c)
{
	int rc;

	if (c->report_fd != -1)
		close(c->report_fd);
	c->report_fd = -1;
	c->why[0] = '\0';
	c->stopped = 0;
	rc = c->role == ROLE_ENGINE ? start_engine(p) : start_front(p, c);

	started(c, rc == 0);
	return rc;
}

void
parent_start_all(struct parent *p)
{
	int i;

	p->engine.role = ROLE_ENGINE;
	p->engine.backoff_ms = PARENT_BACKOFF_MIN_MS;
	p->engine.report_fd = -1;
	for (i = 0; i < p->nhttps; i++)
		p->https[i].report_fd = -1;
	p->coap.report_fd = -1;
	p->validator.report_fd = -1;
	p->notify.report_fd = -1;
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
	if (p->have_validator) {
		p->validator.role = ROLE_VALIDATOR;
		p->validator.backoff_ms = PARENT_BACKOFF_MIN_MS;
		start(p, &p->validator);
	}
	if (p->have_notify) {
		p->notify.role = ROLE_NOTIFY;
		p->notify.backoff_ms = PARENT_BACKOFF_MIN_MS;
		start(p, &p->notify);
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

/*
 * A child that dies before it was up PARENT_STABLE_SECS, with the same
 * status and reason as the time before, counts one more failure; at
 * PARENT_MAX_START_FAILS it is failed and no longer restarted (a wrong
 * file mode would otherwise restart the engine forever).  1 if failed.
 */
static int
start_failure(struct parent_child *c, int status, int64_t now)
{
	int early = now - c->started_ms < PARENT_STABLE_SECS * 1000;

	/* Stopped by us, or a front end whose engine went away. */
	if (!early || c->stopped || (WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0)) {
		c->fails = 0;
		return 0;
	}
	if (c->fails > 0 && c->last_status == status &&
	    strcmp(c->last_why, c->why) == 0)
		c->fails++;
	else
		c->fails = 1;
	c->last_status = status;
	snprintf(c->last_why, sizeof(c->last_why), "%s", c->why);
	if (c->fails < PARENT_MAX_START_FAILS)
		return 0;
	c->failed = 1;
	c->restart_at_ms = 0;
	return 1;
}

static void
retry(struct parent_child *c, int64_t now)
{
	if (!c->failed)
		return;
	log_info("msg=\"restarting a failed child after SIGHUP\" child=%s "
	    "worker=%d", role_name(c->role), c->index);
	c->failed = 0;
	c->fails = 0;
	c->backoff_ms = PARENT_BACKOFF_MIN_MS;
	c->restart_at_ms = now;
}

/* The TCP listeners refuse connections while nobody would serve them. */
static void
listeners_check(struct parent *p)
{
	int i, down = p->engine.failed;

	if (!down && p->nhttps > 0) {
		down = 1;
		for (i = 0; i < p->nhttps; i++)
			down &= p->https[i].failed;
	}
	if (down && !p->paused) {
		parent_listen_pause(p->https_fd);
		parent_listen_pause(p->http_fd);
		p->paused = 1;
		log_warnx("msg=\"HTTPS and HTTP listeners closed: connections "
		    "are refused until SIGHUP\" engine_failed=%d",
		    p->engine.failed);
	} else if (!down && p->paused) {
		if (parent_listen_resume(p->https_fd) == 0 &&
		    parent_listen_resume(p->http_fd) == 0) {
			p->paused = 0;
			log_info("msg=\"HTTPS and HTTP listeners open again\"");
		}
	}
}

void
parent_retry_failed(struct parent *p)
{
	int64_t now = parent_now_ms();
	int i;

	retry(&p->engine, now);
	for (i = 0; i < p->nhttps; i++)
		retry(&p->https[i], now);
	if (p->have_coap)
		retry(&p->coap, now);
	if (p->have_validator)
		retry(&p->validator, now);
	if (p->have_notify)
		retry(&p->notify, now);
	listeners_check(p);
	parent_tell_engine(p);
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
	if (p->have_validator && p->validator.pid == pid)
		return &p->validator;
	if (p->have_notify && p->notify.pid == pid)
		return &p->notify;
	return NULL;
}

static void
fronts_signal(struct parent *p, int sig)
{
	int i;

	for (i = 0; i < p->nhttps; i++)
		if (p->https[i].pid > 0) {
			p->https[i].stopped = 1;
			kill(p->https[i].pid, sig);
		}
	if (p->have_coap && p->coap.pid > 0) {
		p->coap.stopped = 1;
		kill(p->coap.pid, sig);
	}
	if (p->have_validator && p->validator.pid > 0) {
		p->validator.stopped = 1;
		kill(p->validator.pid, sig);
	}
	if (p->have_notify && p->notify.pid > 0) {
		p->notify.stopped = 1;
		kill(p->notify.pid, sig);
	}
}

/*
 * The fatal line a child that got past exec left in its report pipe
 * becomes its reason, unless spawn already had one.
 */
static void
report_read(struct parent_child *c)
{
	char buf[PARENT_MAX_WHY];
	ssize_t n;

	if (c->report_fd == -1)
		return;
	do
		n = read(c->report_fd, buf, sizeof(buf) - 1);
	while (n == -1 && errno == EINTR);
	close(c->report_fd);
	c->report_fd = -1;
	if (n <= 0 || c->why[0] != '\0')
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	snprintf(c->why, sizeof(c->why), "%s", buf);
}

/* What a failed child is reported as: its reason, else how it ended. */
static void
failed_entry(const struct parent_child *c, struct proto_failed *f)
{
	size_t k;

	if (c->role == ROLE_HTTPS)
		snprintf(f->child, sizeof(f->child), "https/%d", c->index);
	else
		snprintf(f->child, sizeof(f->child), "%s", role_name(c->role));
	if (c->why[0] != '\0') {
		/* Cut to what the protocol carries. */
		k = strnlen(c->why, sizeof(f->error) - 1);
		memcpy(f->error, c->why, k);
		f->error[k] = '\0';
	} else if (WIFSIGNALED(c->last_status))
		snprintf(f->error, sizeof(f->error), "killed by signal %d at "
		    "start-up (see signetd's log)", WTERMSIG(c->last_status));
	else
		snprintf(f->error, sizeof(f->error), "exit status %d at "
		    "start-up (see signetd's log)",
		    WEXITSTATUS(c->last_status));
}

/*
 * Tells the engine, whole, which front ends are failed, for /v1/health
 * (issue 18).  A failed engine cannot answer HEALTH: signetd then shuts
 * the HTTPS and HTTP listeners (listeners_check) and the log is the
 * report.
 */
void
parent_tell_engine(struct parent *p)
{
	struct proto_failed f[PROTO_MAX_FAILED];
	uint8_t buf[PROTO_CTL_MAX];
	size_t n = 0, len;
	int i;

	if (p->ctl_fd == -1)
		return;
	memset(f, 0, sizeof(f));
	if (p->have_coap && p->coap.failed)
		failed_entry(&p->coap, &f[n++]);
	if (p->have_validator && p->validator.failed)
		failed_entry(&p->validator, &f[n++]);
	if (p->have_notify && p->notify.failed)
		failed_entry(&p->notify, &f[n++]);
	for (i = 0; i < p->nhttps && n < PROTO_MAX_FAILED; i++)
		if (p->https[i].failed)
			failed_entry(&p->https[i], &f[n++]);
	if (proto_ctl_failed_encode(f, n, buf, sizeof(buf), &len) !=
	    PROTO_OK || proto_send_ctl(p->ctl_fd, buf, len) != 0)
		log_warn("msg=\"cannot tell the engine which children "
		    "failed\"");
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
	report_read(c);
	if (p->stopping)
		return;
	if (c->role != ROLE_ENGINE && p->ctl_fd == -1)
		c->stopped = 1;
	if (start_failure(c, status, now)) {
		log_warnx("msg=\"child failed at start-up %u times in a row "
		    "with the same error; not restarting it until SIGHUP\" "
		    "child=%s worker=%d status=%d error=%s", c->fails,
		    role_name(c->role), c->index, status,
		    log_quote(c->why[0] != '\0' ? c->why :
		    "see the child's last log line"));
		if (c->role != ROLE_ENGINE)
			parent_tell_engine(p);
	} else
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
	listeners_check(p);
	if (p->engine.pid == 0) {
		if (p->engine.failed || p->engine.restart_at_ms > now)
			return;
		/* Front ends start only once their old channels are gone. */
		for (i = 0; i < p->nhttps; i++)
			if (p->https[i].pid > 0)
				return;
		if (p->have_coap && p->coap.pid > 0)
			return;
		if (p->have_validator && p->validator.pid > 0)
			return;
		if (p->have_notify && p->notify.pid > 0)
			return;
		start(p, &p->engine);
		return;
	}
	for (i = 0; i < p->nhttps; i++)
		if (p->https[i].pid == 0 && !p->https[i].failed &&
		    p->https[i].restart_at_ms <= now)
			start(p, &p->https[i]);
	if (p->have_coap && p->coap.pid == 0 && !p->coap.failed &&
	    p->coap.restart_at_ms <= now)
		start(p, &p->coap);
	if (p->have_validator && p->validator.pid == 0 &&
	    !p->validator.failed && p->validator.restart_at_ms <= now)
		start(p, &p->validator);
	if (p->have_notify && p->notify.pid == 0 && !p->notify.failed &&
	    p->notify.restart_at_ms <= now)
		start(p, &p->notify);
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
		alive += p->have_validator && p->validator.pid > 0;
		alive += p->have_notify && p->notify.pid > 0;
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
