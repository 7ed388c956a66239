/*
 * signetd: the Signet appliance daemon (the parent process).
 *
 *   signetd -f signetd.conf [-n] [-d] [-x libexec-dir]
 *   signetd -V
 *
 * -n checks the configuration and exits (0 ok, 1 not); -V prints what
 * this build is (sandbox, test hooks) and exits; -d logs debug
 * lines; -x names the directory of signet-engine and the front ends
 * (default: next to signetd, else the build tree).  SIGTERM drains and
 * exits, SIGHUP re-reads the configuration.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <signet/sandbox.h>

#include "parent.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: signetd -f config [-n] [-d] [-x libexec-dir]\n"
	    "       signetd -V\n");
	exit(2);
}

/* Finds a child binary: -x dir, then next to signetd, then the build. */
static void
find_bin(char *out, size_t size, const char *dir, const char *name,
    const char *built)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (dir != NULL) {
		snprintf(out, size, "%s/%s", dir, name);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			int len;

			*slash = '\0';
			len = snprintf(out, size, "%s/%s", self, name);
			if (len > 0 && (size_t)len < size &&
			    access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, size, "%s", built);
}

/* Whether any profile offers ACME: then challenges need a validator. */
static int
acme_offered(const struct sconf *c)
{
	size_t i, j;

	for (i = 0; i < c->ntenants; i++)
		for (j = 0; j < c->tenants[i].nprofiles; j++)
			if (c->tenants[i].profiles[j].acme)
				return 1;
	return 0;
}

static void
open_listeners(struct parent *p)
{
	const struct sconf *c = p->conf;

	p->https_fd = p->http_fd = p->coap_fd = -1;
	if (c->listen_https &&
	    (p->https_fd = parent_listen_tcp(c->listen_https)) == -1)
		fatalx("msg=\"cannot listen\" listener=https addr=%s",
		    c->listen_https);
	if (c->listen_http &&
	    (p->http_fd = parent_listen_tcp(c->listen_http)) == -1)
		fatalx("msg=\"cannot listen\" listener=http addr=%s",
		    c->listen_http);
	if (p->have_coap &&
	    (p->coap_fd = parent_listen_udp(c->listen_coap)) == -1)
		fatalx("msg=\"cannot listen\" listener=coap addr=%s",
		    c->listen_coap);
}

/*
 * The children's users under the sandbox: each exists and is
 * unprivileged, and they are three (the validator runs as https_user).
 * 0, or -1 with the reason in err.  Checked at start-up and before a
 * reload is taken: a front end restarted with a user that does not exist
 * would only fail, five times, and then stay down.
 */
static int
check_users(const struct sconf *c, int have_coap, uid_t *eu, gid_t *eg,
    char *err, size_t errlen)
{
	uid_t hu, cu = 0;
	gid_t hg, cg;

	if (sandbox_user(c->user, eu, eg, err, errlen) != 0 ||
	    sandbox_user(c->https_user, &hu, &hg, err, errlen) != 0 ||
	    (have_coap &&
	    sandbox_user(c->coap_user, &cu, &cg, err, errlen) != 0))
		return -1;
	if (hu == *eu || (have_coap && (cu == *eu || cu == hu))) {
		snprintf(err, errlen, "user, https_user and coap_user must be "
		    "three different users");
		return -1;
	}
	return 0;
}

/*
 * sandbox = true: the children's users must exist, be unprivileged and
 * distinct, the front ends' root must be empty and root's.  signetd
 * itself first keeps only the capabilities it needs to start them
 * (NET_BIND_SERVICE among them, for the listeners opened next).
 */
static void
sandbox_setup(struct parent *p)
{
	const struct sconf *c = p->conf;
	char err[SANDBOX_MAX_ERR];
	struct stat st;

	/* Refuses a debug build and a start without root, with reasons. */
	if (sandbox_parent(err, sizeof(err)) != 0)
		fatalx("msg=\"sandbox = true refused\" error=\"%s\"", err);
	if (check_users(c, p->have_coap, &p->engine_uid, &p->engine_gid, err,
	    sizeof(err)) != 0 ||
	    sandbox_check_root(c->sandbox_dir, err, sizeof(err)) != 0)
		fatalx("msg=\"sandbox refused\" error=\"%s\"", err);
	if (stat(c->data_dir, &st) == 0 && st.st_uid != p->engine_uid)
		log_warnx("msg=\"data_dir is not owned by the engine's user; "
		    "the engine may not be able to open its token or ledger\" "
		    "data_dir=%s user=%s", c->data_dir, c->user);
	p->sandbox = 1;
}

/*
 * SIGHUP: a configuration that does not load, or (sandbox on) names a
 * user or a front ends' root the children could not start with, is
 * refused whole and the running one kept; the engine (which re-reads the
 * file itself) and the front ends are then not told.  The engine keeps
 * the user it was started as (engine_uid) until signetd restarts.
 */
static void
reload(struct parent *p)
{
	struct sconf *nc = NULL;
	char err[SCONF_MAX_ERR], serr[SANDBOX_MAX_ERR];
	uid_t eu;
	gid_t eg;

	if (sconf_load(p->conf_path, &nc, err, sizeof(err)) != 0) {
		log_warnx("msg=\"reload refused; keeping the running "
		    "configuration\" error=\"%s\"", err);
		return;
	}
	if (p->sandbox && (check_users(nc, p->have_coap, &eu, &eg, serr,
	    sizeof(serr)) != 0 ||
	    sandbox_check_root(nc->sandbox_dir, serr, sizeof(serr)) != 0)) {
		log_warnx("msg=\"reload refused; keeping the running "
		    "configuration\" error=\"%s\"", serr);
		sconf_free(nc);
		return;
	}
	sconf_free(p->conf);
	p->conf = nc;
	log_info("msg=\"configuration reloaded\" path=%s", p->conf_path);
	/* The engine re-reads it itself; front ends restart with it. */
	parent_signal_all(p, SIGHUP);
}

static int
serve(struct parent *p)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	parent_start_all(p);
	log_info("msg=\"signetd ready\" https=%s http=%s coap=%s workers=%d",
	    p->conf->listen_https ? p->conf->listen_https : "off",
	    p->conf->listen_http ? p->conf->listen_http : "off",
	    p->have_coap ? p->conf->listen_coap : "off", p->nhttps);
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("msg=\"stopping\" signal=%d", sig);
			parent_stop_all(p);
			log_info("msg=\"stopped\"");
			return 0;
		}
		if (sig == SIGHUP) {
			reload(p);
			/* The operator may have fixed a file, not the
			 * configuration: failed children get a new try. */
			parent_retry_failed(p);
		}
		parent_reap(p);
		parent_tick(p);
	}
}

int
main(int argc, char **argv)
{
	struct parent p;
	char err[SCONF_MAX_ERR];
	const char *dir = NULL;
	int c, check = 0, debug = 0, rc;
	long ncpu;

	/* Issue 13: files under the data directory are never world- or
	 * group-readable, whatever umask signetd was started with; every
	 * child inherits the mask. */
	umask(077);
	memset(&p, 0, sizeof(p));
	p.ctl_fd = -1;
	while ((c = getopt(argc, argv, "f:ndVx:")) != -1) {
		switch (c) {
		case 'V':
			printf("signetd sandbox=%s test_hooks=%s\n",
			    sandbox_built() ? "seccomp" : "none",
			    sandbox_test_hooks() ? "yes" : "no");
			return 0;
		case 'f': p.conf_path = optarg; break;
		case 'n': check = 1; break;
		case 'd': debug = 1; break;
		case 'x': dir = optarg; break;
		default: usage();
		}
	}
	if (p.conf_path == NULL || optind != argc)
		usage();
	if (sconf_load(p.conf_path, &p.conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "signetd: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: configuration ok\n", p.conf_path);
		sconf_free(p.conf);
		return 0;
	}
	log_init("signetd", strcmp(p.conf->log, "syslog") == 0 ?
	    LOG_TO_SYSLOG : LOG_TO_STDERR,
	    debug || strcmp(p.conf->log_level, "debug") == 0);
	find_bin(p.engine_bin, sizeof(p.engine_bin), dir, "signet-engine",
	    SIGNET_ENGINE_BUILT);
	find_bin(p.https_bin, sizeof(p.https_bin), dir, "signet-https",
	    SIGNET_HTTPS_BUILT);
	find_bin(p.coap_bin, sizeof(p.coap_bin), dir, "signet-coap",
	    SIGNET_COAP_BUILT);
	p.have_coap = p.conf->listen_coap != NULL &&
	    access(p.coap_bin, X_OK) == 0;
	find_bin(p.validator_bin, sizeof(p.validator_bin), dir,
	    "signet-validator", SIGNET_VALIDATOR_BUILT);
	p.have_validator = acme_offered(p.conf) &&
	    access(p.validator_bin, X_OK) == 0;
	/* Expiry notifications (issue 19): a delivery process if needed. */
	find_bin(p.notify_bin, sizeof(p.notify_bin), dir, "signet-notify",
	    SIGNET_NOTIFY_BUILT);
	p.have_notify = sconf_notify_wanted(p.conf) &&
	    access(p.notify_bin, X_OK) == 0;
	if (sconf_notify_wanted(p.conf) && !p.have_notify)
		log_warnx("msg=\"no signet-notify: expiry notifications "
		    "will queue but not be delivered\"");
	if (acme_offered(p.conf) && !p.have_validator)
		log_warnx("msg=\"no signet-validator: ACME challenges will "
		    "not be validated\"");
	if (p.conf->listen_coap != NULL && !p.have_coap)
		log_warnx("msg=\"no CoAP front end in this build; CoAP off\"");
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	p.nhttps = p.conf->https_workers > 0 ? p.conf->https_workers :
	    (int)(ncpu > 0 ? ncpu : 1);
	if (p.nhttps > PARENT_MAX_WORKERS)
		p.nhttps = PARENT_MAX_WORKERS;
	if (p.conf->listen_https == NULL && p.conf->listen_http == NULL)
		p.nhttps = 0;
	if (p.conf->sandbox)
		sandbox_setup(&p);
	else
		log_warnx("msg=\"!!! running WITHOUT the sandbox (sandbox = "
		    "false): no per-process users, no chroot, no seccomp; a "
		    "workstation, not an appliance !!!\"");
	if (sandbox_test_hooks())
		log_warnx("msg=\"!!! a TEST build (SIGNET_TEST_HOOKS): never "
		    "run it as the appliance !!!\"");
	open_listeners(&p);
	if (p.sandbox) {
		log_info("msg=\"sandbox on\" engine_user=%s https_user=%s "
		    "coap_user=%s root=%s", p.conf->user, p.conf->https_user,
		    p.have_coap ? p.conf->coap_user : "-",
		    p.conf->sandbox_dir);
	}
	rc = serve(&p);
	sconf_free(p.conf);
	return rc;
}
