/*
 * sandbox_enter() and the privilege plumbing around it; the seccomp
 * tables are in sandbox_filter.c.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <signet/sandbox.h>

#include "sandbox_local.h"

static int sandbox_on;

int
sandbox_active(void)
{
	return sandbox_on;
}

int
sandbox_test_hooks(void)
{
#ifdef SIGNET_TEST_HOOKS
	return 1;
#else
	return 0;
#endif
}

const char *
sandbox_role_name(enum sandbox_role role)
{
	switch (role) {
	case SANDBOX_ENGINE: return "engine";
	case SANDBOX_HTTPS: return "https";
	case SANDBOX_COAP: return "coap";
	case SANDBOX_VALIDATOR: return "validator";
	case SANDBOX_NOTIFY: return "notify";
	}
	return "unknown";
}

void
sandbox_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
sandbox_user(const char *name, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc;

	if (name == NULL || *name == '\0') {
		sandbox_err(err, errlen, "no user named for the sandbox");
		return -1;
	}
	rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (rc != 0 || res == NULL) {
		sandbox_err(err, errlen, "user %s does not exist (create it "
		    "as a system user with no login shell)", name);
		return -1;
	}
	if (pw.pw_uid == 0 || pw.pw_gid == 0) {
		sandbox_err(err, errlen, "user %s is uid or gid 0; the sandbox "
		    "needs an unprivileged user", name);
		return -1;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

int
sandbox_become(uid_t uid, gid_t gid)
{
	uid_t r, e, s;

	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		return -1;
	/* No way back: every id is the user's, and becoming root fails. */
	if (getresuid(&r, &e, &s) == -1 || r != uid || e != uid || s != uid ||
	    setuid(0) != -1 || setgid(0) != -1) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
sandbox_check_root(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (dir == NULL || dir[0] != '/') {
		sandbox_err(err, errlen, "sandbox_dir must be an absolute path");
		return -1;
	}
	if (stat(dir, &st) == -1) {
		sandbox_err(err, errlen, "sandbox_dir %s: %s (create it empty, "
		    "owned by root, mode 0755)", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		sandbox_err(err, errlen, "sandbox_dir %s must be a directory "
		    "owned by root and writable only by root", dir);
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		sandbox_err(err, errlen, "sandbox_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	if (n != 0) {
		sandbox_err(err, errlen, "sandbox_dir %s is not empty", dir);
		return -1;
	}
	return 0;
}

static int
limit(int res, rlim_t v)
{
	struct rlimit rl;

	if (getrlimit(res, &rl) == -1)
		return -1;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < v)
		v = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = v;
	return setrlimit(res, &rl);
}

/* The capabilities the root parent keeps: enough to start its children. */
static const int parent_caps[] = {
	CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_KILL, CAP_SETGID,
	CAP_SETUID, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
};

static int
kept_cap(int cap)
{
	size_t i;

	for (i = 0; i < sizeof(parent_caps) / sizeof(parent_caps[0]); i++)
		if (parent_caps[i] == cap)
			return 1;
	return 0;
}

int
sandbox_parent(char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];
	uint64_t keep = 0;
	int cap;
	size_t i;

	if (!sandbox_built()) {
		sandbox_err(err, errlen, "%s", SANDBOX_DEBUG_MSG);
		return -1;
	}
	if (geteuid() != 0) {
		sandbox_err(err, errlen, "sandbox = true: start signetd as "
		    "root; it starts each child as its own user");
		return -1;
	}
	for (cap = 0; cap <= 63; cap++) {
		if (kept_cap(cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 &&
		    errno != EINVAL) {
			sandbox_err(err, errlen, "cannot drop capability %d: %s",
			    cap, strerror(errno));
			return -1;
		}
	}
	for (i = 0; i < sizeof(parent_caps) / sizeof(parent_caps[0]); i++)
		keep |= (uint64_t)1 << parent_caps[i];
	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) == -1) {
		sandbox_err(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    limit(RLIMIT_CORE, 0) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		sandbox_err(err, errlen, "cannot restrict signetd: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
drop(const struct sandbox_conf *sc, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;
	pid_t parent = getppid();

	if (sandbox_user(sc->user, &uid, &gid, err, errlen) != 0)
		return -1;
	if (sc->role == SANDBOX_ENGINE && (geteuid() == 0 || getuid() == 0)) {
		/* Dropping now would leave root's files (WAL, token objects)
		 * behind that the engine's user could not open later. */
		sandbox_err(err, errlen, "the engine runs as root; signetd "
		    "starts it as its user %s (or set sandbox = false to run "
		    "it by hand)", sc->user);
		return -1;
	}
	if (geteuid() != 0) {
		/* Started as its user (the engine), or misconfigured. */
		if (getuid() != uid || geteuid() != uid || getgid() != gid) {
			sandbox_err(err, errlen, "runs as uid %ld, not as its "
			    "user %s (uid %ld); signetd must start it as root",
			    (long)geteuid(), sc->user, (long)uid);
			return -1;
		}
		if (sc->root_dir != NULL) {
			sandbox_err(err, errlen, "cannot chroot to %s without "
			    "root; signetd must start it as root",
			    sc->root_dir);
			return -1;
		}
		return 0;
	}
	if (sc->root_dir != NULL) {
		if (sandbox_check_root(sc->root_dir, err, errlen) != 0)
			return -1;
		if (chroot(sc->root_dir) == -1 || chdir("/") == -1) {
			sandbox_err(err, errlen, "chroot %s: %s", sc->root_dir,
			    strerror(errno));
			return -1;
		}
	}
	if (sandbox_become(uid, gid) != 0) {
		sandbox_err(err, errlen, "cannot become %s: %s", sc->user,
		    strerror(errno));
		return -1;
	}
	/* The change of user cleared the parent-death signal signetd set
	 * (prctl(2)); without it this front end would outlive signetd. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1) {
		sandbox_err(err, errlen, "prctl(PR_SET_PDEATHSIG): %s",
		    strerror(errno));
		return -1;
	}
	if (getppid() != parent) {
		sandbox_err(err, errlen, "signetd exited while %s started",
		    sandbox_role_name(sc->role));
		return -1;
	}
	return 0;
}

static int
limits(const struct sandbox_conf *sc, char *err, size_t errlen)
{
	int front = sc->role != SANDBOX_ENGINE;

	if (limit(RLIMIT_CORE, 0) == -1 ||
	    (front && limit(RLIMIT_NPROC, 0) == -1) ||
	    (sc->max_files > 0 && limit(RLIMIT_NOFILE,
	    (rlim_t)sc->max_files) == -1)) {
		sandbox_err(err, errlen, "setrlimit: %s", strerror(errno));
		return -1;
	}
	return 0;
}

#ifdef SIGNET_TEST_HOOKS
/*
 * Test builds only (SIGNET_TEST_HOOKS, never in a release or the image):
 * SIGUSR2 makes a sandboxed process call execve, which no role may; the
 * sandbox test expects the process to die of SIGSYS.  Without the filter
 * the process would turn into /bin/true and exit 0.
 */
static void
forbidden_call(int sig)
{
	char *const argv[] = { "true", NULL };
	char *const envp[] = { NULL };

	(void)sig;
	syscall(SYS_execve, "/bin/true", argv, envp);
	_exit(99);
}

static void
test_hook(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forbidden_call;
	sigaction(SIGUSR2, &sa, NULL);
}
#endif

int
sandbox_enter(const struct sandbox_conf *sc, char *err, size_t errlen)
{
	if (!sandbox_built()) {
		sandbox_err(err, errlen, "%s", SANDBOX_DEBUG_MSG);
		return -1;
	}
	if (sc == NULL || sc->role > SANDBOX_NOTIFY) {
		sandbox_err(err, errlen, "no sandbox role");
		return -1;
	}
	if (sc->role != SANDBOX_ENGINE && sc->root_dir == NULL) {
		sandbox_err(err, errlen, "a front end needs an empty root");
		return -1;
	}
	if (drop(sc, err, errlen) != 0 || limits(sc, err, errlen) != 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		sandbox_err(err, errlen, "prctl: %s", strerror(errno));
		return -1;
	}
	if (sandbox_filter_load(sc->role, err, errlen) != 0)
		return -1;
	sandbox_on = 1;
#ifdef SIGNET_TEST_HOOKS
	test_hook();
#endif
	return 0;
}

#if defined(__SANITIZE_ADDRESS__)
/*
 * LeakSanitizer's exit-time check stops the world with ptrace from a
 * clone of the process; a sandboxed process may do neither, so a
 * sanitizer build checks leaks only in unsandboxed processes (every unit
 * test and the integration tests run with sandbox = false).
 */
int __lsan_is_turned_off(void);

int
__lsan_is_turned_off(void)
{
	return sandbox_on;
}
#endif
