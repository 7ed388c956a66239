/*
 * firmware/sandbox: each role's filter, from inside a forked child that
 * entered it.  A case either exits 0 (the calls it makes are allowed and
 * behave: EACCES where the role answers so) or must die of SIGSYS (the
 * call is forbidden).  Every case can fail: an allowed call missing from
 * a table kills its child, a forbidden one that slipped in lets the child
 * exit.  Runs as root (chroot and dropping to `nobody`), as CI does.
 */
#include <sys/mman.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/ptrace.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <signet/sandbox.h>

#define USER "nobody"

static char empty_dir[] = "/tmp/signet-sandbox-root-XXXXXX";
static int listen_fd = -1;

enum want { EXITS_OK, KILLED };

struct scase {
	const char *name;
	enum sandbox_role role;
	int (*run)(void);	/* returns 0 when all went as expected */
	enum want want;
};

/* ---- allowed behaviour ---- */

static int
io_ok(void)
{
	char buf[32];
	struct timespec ts;
	int ep;
	char *big;

	/* Descriptors made before the sandbox are read and written. */
	if (read(listen_fd, buf, 0) == -1 && errno != ENOTCONN &&
	    errno != EINVAL)
		return 1;
	if (write(STDERR_FILENO, "", 0) != 0)
		return 2;
	if (getrandom(buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return 3;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 4;
	if ((big = malloc(8 << 20)) == NULL)	/* mmap */
		return 5;
	memset(big, 1, 8 << 20);
	free(big);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return 6;
	close(ep);
	if (getuid() == 0 || geteuid() == 0)
		return 7;
	return 0;
}

static int
front_io_ok(void)
{
	int fd, rc;

	if ((rc = io_ok()) != 0)
		return rc;
	/* In the empty root nothing is there, and opening answers EACCES. */
	if ((fd = open("/etc/passwd", O_RDONLY)) != -1 || errno != EACCES)
		return 20;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1 || errno != EACCES)
		return 21;
	return 0;
}

static int
https_accept_ok(void)
{
	int rc, fd;

	if ((rc = io_ok()) != 0)
		return rc;
	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK);
	return fd == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : 30;
}

static int
front_open_refused(void)
{
	int fd = open("/etc/passwd", O_RDONLY);

	if (fd != -1 || errno != EACCES)
		return 1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	return fd == -1 && errno == EACCES ? 0 : 2;
}

static void *
thread_main(void *arg)
{
	*(int *)arg = 42;
	return NULL;
}

static int
engine_ok(void)
{
	pthread_t t;
	int v = 0, fd, rc;
	char path[] = "/tmp/signet-sandbox-file-XXXXXX";
	void *m;

	if ((rc = io_ok()) != 0)
		return rc;
	if (pthread_create(&t, NULL, thread_main, &v) != 0 ||
	    pthread_join(t, NULL) != 0 || v != 42)
		return 40;
	/* Ledger-like file work: create, write, fsync, rename, unlink. */
	if ((fd = mkstemp(path)) == -1)
		return 41;
	if (write(fd, "x", 1) != 1 || fsync(fd) != 0 || close(fd) != 0 ||
	    unlink(path) != 0)
		return 42;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 43;
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return 44;
	close(fd);
	/* Executable but not writable mappings (a late dlopen) are fine. */
	if ((m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		return 45;
	munmap(m, 4096);
	/* clone3 answers ENOSYS (glibc then uses clone). */
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 46;
	return 0;
}

/* ---- forbidden calls (the child must die of SIGSYS) ---- */

static int
do_execve(void)
{
	char *const argv[] = { "true", NULL };

	execv("/bin/true", argv);
	return 0;	/* not killed and exec failed: still a failure */
}

static int
do_fork(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	return 0;
}

static int
do_ptrace(void)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return 0;
}

static int
do_exec_mmap(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	return 0;
}

static int
do_wx_mmap(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int
do_wx_mprotect(void)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);

	if (m != MAP_FAILED)
		mprotect(m, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
	return 0;
}

static int
do_setuid(void)
{
	int rc = setuid(0);	/* the filter kills before it returns */

	(void)rc;
	return 0;
}

static int
do_kill_other(void)
{
	kill(1, 0);
	return 0;
}

static int
do_listen(void)
{
	listen(listen_fd, 1);
	return 0;
}

static int
do_connect(void)
{
	struct sockaddr_un { sa_family_t f; char p[108]; } a = { AF_UNIX,
		"/nonexistent" };

	connect(listen_fd, (struct sockaddr *)&a, sizeof(a));
	return 0;
}

static int
do_accept(void)
{
	accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK);
	return 0;
}

static int
do_packet_socket(void)
{
	socket(AF_PACKET, SOCK_RAW, 0);
	return 0;
}

static int
do_mount(void)
{
	mount("none", "/tmp", "tmpfs", 0, NULL);
	return 0;
}

static int
do_ioctl_tty(void)
{
	char c = 'x';

	ioctl(STDIN_FILENO, TIOCSTI, &c);
	return 0;
}

static int
do_chroot(void)
{
	int rc = chroot("/");

	(void)rc;
	return 0;
}

static volatile int thread_ready;

static void *
late_thread(void *arg)
{
	(void)arg;
	while (!thread_ready)
		usleep(1000);
	do_execve();
	return NULL;
}

/* A thread that existed before the filter is under it too (TSYNC). */
static pthread_t early;

static int
do_thread_execve(void)
{
	thread_ready = 1;
	pthread_join(early, NULL);
	return 0;
}

static const struct scase cases[] = {
	{ "https: read/write/time/random/malloc/epoll", SANDBOX_HTTPS,
	    front_io_ok, EXITS_OK },
	{ "coap: read/write/time/random/malloc/epoll", SANDBOX_COAP,
	    front_io_ok, EXITS_OK },
	{ "https: accept4 on its listener", SANDBOX_HTTPS, https_accept_ok,
	    EXITS_OK },
	{ "https: open and socket answer EACCES", SANDBOX_HTTPS,
	    front_open_refused, EXITS_OK },
	{ "coap: open and socket answer EACCES", SANDBOX_COAP,
	    front_open_refused, EXITS_OK },
	{ "engine: threads, files, sockets, r-x mmap, clone3 ENOSYS",
	    SANDBOX_ENGINE, engine_ok, EXITS_OK },
	{ "https: execve", SANDBOX_HTTPS, do_execve, KILLED },
	{ "coap: execve", SANDBOX_COAP, do_execve, KILLED },
	{ "engine: execve", SANDBOX_ENGINE, do_execve, KILLED },
	{ "https: fork", SANDBOX_HTTPS, do_fork, KILLED },
	{ "engine: fork", SANDBOX_ENGINE, do_fork, KILLED },
	{ "https: ptrace", SANDBOX_HTTPS, do_ptrace, KILLED },
	{ "engine: ptrace", SANDBOX_ENGINE, do_ptrace, KILLED },
	{ "https: executable mmap", SANDBOX_HTTPS, do_exec_mmap, KILLED },
	{ "coap: executable mmap", SANDBOX_COAP, do_exec_mmap, KILLED },
	{ "engine: writable+executable mmap", SANDBOX_ENGINE, do_wx_mmap,
	    KILLED },
	{ "engine: mprotect to W+X", SANDBOX_ENGINE, do_wx_mprotect, KILLED },
	{ "https: setuid(0)", SANDBOX_HTTPS, do_setuid, KILLED },
	{ "engine: setuid(0)", SANDBOX_ENGINE, do_setuid, KILLED },
	{ "https: kill another process", SANDBOX_HTTPS, do_kill_other,
	    KILLED },
	{ "engine: kill another process", SANDBOX_ENGINE, do_kill_other,
	    KILLED },
	{ "https: listen", SANDBOX_HTTPS, do_listen, KILLED },
	{ "engine: listen", SANDBOX_ENGINE, do_listen, KILLED },
	{ "https: connect", SANDBOX_HTTPS, do_connect, KILLED },
	{ "coap: accept", SANDBOX_COAP, do_accept, KILLED },
	{ "engine: accept", SANDBOX_ENGINE, do_accept, KILLED },
	{ "engine: packet socket", SANDBOX_ENGINE, do_packet_socket, KILLED },
	{ "engine: mount", SANDBOX_ENGINE, do_mount, KILLED },
	{ "https: chroot", SANDBOX_HTTPS, do_chroot, KILLED },
	{ "https: TIOCSTI ioctl", SANDBOX_HTTPS, do_ioctl_tty, KILLED },
	{ "engine: a thread started before the filter calls execve",
	    SANDBOX_ENGINE, do_thread_execve, KILLED },
};

/* The engine is started as its user by signetd: do the same. */
static int
become_user(void)
{
	char err[SANDBOX_MAX_ERR];
	uid_t u;
	gid_t g;

	return sandbox_user(USER, &u, &g, err, sizeof(err)) != 0 ? -1 :
	    sandbox_become(u, g);
}

/* Runs one case in a child; returns its wait status. */
static int
run_case(const struct scase *c)
{
	struct sandbox_conf sc;
	char err[SANDBOX_MAX_ERR];
	int status;
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) == 0) {
		if (c->run == do_thread_execve &&
		    pthread_create(&early, NULL, late_thread, NULL) != 0)
			_exit(120);
		if (c->role == SANDBOX_ENGINE && become_user() != 0)
			_exit(123);
		memset(&sc, 0, sizeof(sc));
		sc.role = c->role;
		sc.user = USER;
		sc.root_dir = c->role == SANDBOX_ENGINE ? NULL : empty_dir;
		if (sandbox_enter(&sc, err, sizeof(err)) != 0) {
			fprintf(stderr, "sandbox_enter: %s\n", err);
			_exit(121);
		}
		if (!sandbox_active())
			_exit(122);
		{
			int rc = c->run();

			_exit(rc == 0 ? 0 : 60 + (rc & 63));
		}
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
test_cases(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct scase *c = &cases[i];
		int st = run_case(c), ok;

		if (c->want == KILLED)
			ok = WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS;
		else
			ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		printf("%s %-60s %s\n", ok ? "ok  " : "FAIL", c->name,
		    WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "exited");
		if (!ok) {
			if (WIFEXITED(st))
				printf("     exit status %d\n", WEXITSTATUS(st));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Each child's identity and properties, as /proc shows them to others. */
static void
test_properties(void **state)
{
	static const enum sandbox_role roles[] = { SANDBOX_HTTPS, SANDBOX_COAP,
		SANDBOX_ENGINE };
	size_t r;

	(void)state;
	for (r = 0; r < 3; r++) {
		char path[64], line[256], root[256];
		int go[2], ready[2], status, nnp = -1, sec = -1;
		unsigned long long capeff = 1;
		long uid = -1;
		ssize_t n;
		FILE *f;
		pid_t pid;

		assert_int_equal(pipe(go), 0);
		assert_int_equal(pipe(ready), 0);
		if ((pid = fork()) == 0) {
			struct sandbox_conf sc = { roles[r], USER,
				roles[r] == SANDBOX_ENGINE ? NULL : empty_dir, 64 };
			char err[SANDBOX_MAX_ERR], b = 'r';

			close(go[1]);
			close(ready[0]);
			if (roles[r] == SANDBOX_ENGINE && become_user() != 0)
				_exit(2);
			if (sandbox_enter(&sc, err, sizeof(err)) != 0)
				_exit(1);
			if (write(ready[1], &b, 1) != 1)	/* in the sandbox */
				_exit(3);
			if (read(go[0], &b, 1) < 0)	/* until the parent looked */
				_exit(3);
			_exit(0);
		}
		close(go[0]);
		close(ready[1]);
		/* Look once the child says it is in (a fixed sleep raced a
		 * loaded machine); EOF means it failed and exited. */
		{
			char b;
			ssize_t got = read(ready[0], &b, 1);

			(void)got;
			close(ready[0]);
		}
		snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
		assert_non_null(f = fopen(path, "r"));
		while (fgets(line, sizeof(line), f) != NULL) {
			sscanf(line, "Uid: %ld", &uid);
			sscanf(line, "NoNewPrivs: %d", &nnp);
			sscanf(line, "Seccomp: %d", &sec);
			sscanf(line, "CapEff: %llx", &capeff);
		}
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%ld/root", (long)pid);
		n = readlink(path, root, sizeof(root) - 1);
		assert_true(n > 0);
		root[n] = '\0';
		close(go[1]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_int_equal(uid, 65534);
		assert_int_equal(nnp, 1);
		assert_int_equal(sec, 2);
		assert_int_equal(capeff, 0);
		assert_string_equal(root, roles[r] == SANDBOX_ENGINE ? "/" :
		    empty_dir);
	}
}

/* Refusals: each a message, and the process is left as it was. */
static void
test_refusals(void **state)
{
	struct sandbox_conf sc;
	char err[SANDBOX_MAX_ERR], full[64];
	uid_t u;
	gid_t g;
	int status, fd;
	pid_t pid;

	(void)state;
	assert_int_equal(sandbox_user("no-such-user-xyz", &u, &g, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "does not exist"));
	assert_int_equal(sandbox_user("root", &u, &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unprivileged"));
	snprintf(full, sizeof(full), "%s-full", empty_dir);
	assert_int_equal(mkdir(full, 0755), 0);
	{
		char f[96];

		snprintf(f, sizeof(f), "%s/x", full);
		assert_true((fd = open(f, O_CREAT | O_WRONLY, 0600)) >= 0);
		close(fd);
		assert_int_equal(sandbox_check_root(full, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "not empty"));
		unlink(f);
	}
	chmod(full, 0777);
	assert_int_equal(sandbox_check_root(full, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable only by root"));
	rmdir(full);
	assert_int_equal(sandbox_check_root("relative", err, sizeof(err)), -1);
	/* A front end without root cannot chroot: refused, not run open. */
	if ((pid = fork()) == 0) {
		uid_t nu;
		gid_t ng;

		if (sandbox_user(USER, &nu, &ng, err, sizeof(err)) != 0 ||
		    sandbox_become(nu, ng) != 0)
			_exit(2);
		memset(&sc, 0, sizeof(sc));
		sc.role = SANDBOX_HTTPS;
		sc.user = USER;
		sc.root_dir = empty_dir;
		_exit(sandbox_enter(&sc, err, sizeof(err)) == -1 &&
		    strstr(err, "without root") != NULL && !sandbox_active() ?
		    0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The engine running as root is refused (it would leave root's
	 * files behind), and nothing is applied. */
	if ((pid = fork()) == 0) {
		memset(&sc, 0, sizeof(sc));
		sc.role = SANDBOX_ENGINE;
		sc.user = USER;
		_exit(sandbox_enter(&sc, err, sizeof(err)) == -1 &&
		    strstr(err, "runs as root") != NULL && getuid() == 0 &&
		    !sandbox_active() ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The engine started as another user than its own is refused. */
	if ((pid = fork()) == 0) {
		if (sandbox_become(12345, 12345) != 0)
			_exit(2);
		memset(&sc, 0, sizeof(sc));
		sc.role = SANDBOX_ENGINE;
		sc.user = USER;
		_exit(sandbox_enter(&sc, err, sizeof(err)) == -1 &&
		    strstr(err, "not as its user") != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int
setup(void **state)
{
	struct sockaddr_in a;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_sandbox needs root (chroot, dropping to "
		    "%s); CI runs as root\n", USER);
		return -1;
	}
	if (!sandbox_built()) {
		fprintf(stderr, "built without the sandbox\n");
		return -1;
	}
	if (mkdtemp(empty_dir) == NULL || chmod(empty_dir, 0755) != 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) ==
	    -1 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(listen_fd, 4) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rmdir(empty_dir);
	if (listen_fd != -1)
		close(listen_fd);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
