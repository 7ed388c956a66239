/*
 * The seccomp filters, one per role: default deny (the process is killed
 * with SIGSYS), then the calls each role makes after its setup.  A front
 * end runs an event loop over descriptors it was given: it reads, writes,
 * accepts (HTTPS) or receives datagrams (CoAP), keeps time and allocates.
 * The engine also threads, reads and writes its ledger and token files,
 * and reaches PostgreSQL; it still may not exec, fork, ptrace, mount,
 * load modules, listen, or map memory writable and executable.
 *
 * Two calls fail with EACCES instead of killing a front end: openat and
 * socket, which libraries try on their own (a late configuration file,
 * syslog reconnecting) and which must not take the service down; in the
 * empty chroot there is nothing to open anyway.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox_local.h"

#define R_ENG	0x1u
#define R_HTTPS	0x2u
#define R_COAP	0x4u
#define R_VAL	0x8u
#define R_FRONT	(R_HTTPS | R_COAP | R_VAL)
#define R_ALL	(R_ENG | R_FRONT)

struct sc_allow {
	int nr;
	unsigned roles;
};

/* Calls allowed whatever their arguments. */
static const struct sc_allow allow[] = {
	/* descriptors given at start */
	{ SCMP_SYS(read), R_ALL },
	{ SCMP_SYS(write), R_ALL },
	{ SCMP_SYS(readv), R_ALL },
	{ SCMP_SYS(writev), R_ALL },
	{ SCMP_SYS(close), R_ALL },
	{ SCMP_SYS(fstat), R_ALL },
	{ SCMP_SYS(newfstatat), R_ALL },	/* glibc's fstat */
	{ SCMP_SYS(lseek), R_ALL },
	{ SCMP_SYS(fcntl), R_ALL },
	{ SCMP_SYS(dup), R_ENG },
	/* sockets already open */
	{ SCMP_SYS(sendmsg), R_ALL },
	{ SCMP_SYS(recvmsg), R_ALL },
	{ SCMP_SYS(sendto), R_ALL },
	{ SCMP_SYS(recvfrom), R_ALL },
	{ SCMP_SYS(sendmmsg), R_ALL },
	{ SCMP_SYS(recvmmsg), R_ALL },
	{ SCMP_SYS(shutdown), R_ALL },
	{ SCMP_SYS(getsockname), R_ALL },
	{ SCMP_SYS(getpeername), R_ALL },
	{ SCMP_SYS(getsockopt), R_ALL },
	{ SCMP_SYS(setsockopt), R_ALL },
	{ SCMP_SYS(accept), R_HTTPS },
	{ SCMP_SYS(accept4), R_HTTPS },
	/* waiting */
	{ SCMP_SYS(epoll_create1), R_ALL },
	{ SCMP_SYS(epoll_ctl), R_ALL },
	{ SCMP_SYS(epoll_wait), R_ALL },
	{ SCMP_SYS(epoll_pwait), R_ALL },
	{ SCMP_SYS(poll), R_ALL },
	{ SCMP_SYS(ppoll), R_ALL },
	{ SCMP_SYS(select), R_ALL },
	{ SCMP_SYS(pselect6), R_ALL },
	{ SCMP_SYS(timerfd_create), R_ALL },
	{ SCMP_SYS(timerfd_settime), R_ALL },
	{ SCMP_SYS(timerfd_gettime), R_ALL },
	{ SCMP_SYS(futex), R_ALL },
	{ SCMP_SYS(sched_yield), R_ALL },
	{ SCMP_SYS(sched_getaffinity), R_ALL },
	{ SCMP_SYS(nanosleep), R_ALL },
	{ SCMP_SYS(clock_nanosleep), R_ALL },
	/* time, identity, randomness */
	{ SCMP_SYS(clock_gettime), R_ALL },
	{ SCMP_SYS(clock_getres), R_ALL },
	{ SCMP_SYS(gettimeofday), R_ALL },
	{ SCMP_SYS(time), R_ALL },
	{ SCMP_SYS(getpid), R_ALL },
	{ SCMP_SYS(gettid), R_ALL },
	{ SCMP_SYS(getppid), R_ALL },
	{ SCMP_SYS(getuid), R_ALL },
	{ SCMP_SYS(geteuid), R_ALL },
	{ SCMP_SYS(getgid), R_ALL },
	{ SCMP_SYS(getegid), R_ALL },
	{ SCMP_SYS(getrandom), R_ALL },
	{ SCMP_SYS(uname), R_ALL },
	{ SCMP_SYS(getrlimit), R_ALL },
	{ SCMP_SYS(prlimit64), R_ALL },		/* getrlimit in glibc */
	{ SCMP_SYS(getrusage), R_ALL },
	/* memory */
	{ SCMP_SYS(brk), R_ALL },
	{ SCMP_SYS(munmap), R_ALL },
	{ SCMP_SYS(mremap), R_ALL },
	{ SCMP_SYS(madvise), R_ALL },
	{ SCMP_SYS(mlock), R_ENG },
	{ SCMP_SYS(munlock), R_ENG },
	/* signals and leaving */
	{ SCMP_SYS(rt_sigaction), R_ALL },
	{ SCMP_SYS(rt_sigprocmask), R_ALL },
	{ SCMP_SYS(rt_sigreturn), R_ALL },
	{ SCMP_SYS(sigaltstack), R_ALL },
	{ SCMP_SYS(restart_syscall), R_ALL },
	{ SCMP_SYS(exit), R_ALL },
	{ SCMP_SYS(exit_group), R_ALL },
	{ SCMP_SYS(signalfd4), R_ENG },
	/* the engine's threads */
	{ SCMP_SYS(set_robust_list), R_ENG },
	{ SCMP_SYS(rseq), R_ENG },
	{ SCMP_SYS(membarrier), R_ENG },
	{ SCMP_SYS(eventfd2), R_ENG },
	{ SCMP_SYS(pipe2), R_ENG },
	/* the engine's files: SQLite, the token's object store, reloads */
	{ SCMP_SYS(openat), R_ENG },
	{ SCMP_SYS(statx), R_ENG },
	{ SCMP_SYS(access), R_ENG },
	{ SCMP_SYS(faccessat), R_ENG },
	{ SCMP_SYS(faccessat2), R_ENG },
	{ SCMP_SYS(readlink), R_ENG },
	{ SCMP_SYS(readlinkat), R_ENG },
	{ SCMP_SYS(getcwd), R_ENG },
	{ SCMP_SYS(getdents64), R_ENG },
	{ SCMP_SYS(pread64), R_ENG },
	{ SCMP_SYS(pwrite64), R_ENG },
	{ SCMP_SYS(preadv), R_ENG },
	{ SCMP_SYS(pwritev), R_ENG },
	{ SCMP_SYS(fsync), R_ENG },
	{ SCMP_SYS(fdatasync), R_ENG },
	{ SCMP_SYS(ftruncate), R_ENG },
	{ SCMP_SYS(fallocate), R_ENG },
	{ SCMP_SYS(flock), R_ENG },
	{ SCMP_SYS(fchmod), R_ENG },
	{ SCMP_SYS(unlink), R_ENG },
	{ SCMP_SYS(unlinkat), R_ENG },
	{ SCMP_SYS(rename), R_ENG },
	{ SCMP_SYS(renameat), R_ENG },
	{ SCMP_SYS(renameat2), R_ENG },
	{ SCMP_SYS(mkdir), R_ENG },
	{ SCMP_SYS(mkdirat), R_ENG },
	{ SCMP_SYS(umask), R_ENG },
	/* PostgreSQL (libpq): connect out, resolve the server's name */
	{ SCMP_SYS(connect), R_ENG | R_VAL },	/* validator: http-01 */
	{ SCMP_SYS(bind), R_ENG },
};

/* Argument n equals v (spelled out: libseccomp's SCMP_An macros leave
 * datum_b to the compiler, which clang's -Wextra refuses). */
static struct scmp_arg_cmp
eq(unsigned n, scmp_datum_t v)
{
	struct scmp_arg_cmp c;

	memset(&c, 0, sizeof(c));
	c.arg = n;
	c.op = SCMP_CMP_EQ;
	c.datum_a = v;
	return c;
}

static int
add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n,
    const struct scmp_arg_cmp *cmp)
{
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

/* mmap/mprotect: never executable in a front end, never W+X anywhere. */
static int
memory_rules(scmp_filter_ctx ctx, enum sandbox_role role)
{
	static const int calls[] = { SCMP_SYS(mmap), SCMP_SYS(mprotect) };
	const uint32_t wx = PROT_WRITE | PROT_EXEC;
	size_t i;
	int rc = 0;

	for (i = 0; i < 2 && rc == 0; i++) {
		struct scmp_arg_cmp none = SCMP_A2(SCMP_CMP_MASKED_EQ, wx, 0);
		struct scmp_arg_cmp w = SCMP_A2(SCMP_CMP_MASKED_EQ, wx,
		    PROT_WRITE);
		struct scmp_arg_cmp x = SCMP_A2(SCMP_CMP_MASKED_EQ, wx,
		    PROT_EXEC);

		rc = add(ctx, SCMP_ACT_ALLOW, calls[i], 1, &none);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ALLOW, calls[i], 1, &w);
		if (rc == 0 && role == SANDBOX_ENGINE)
			rc = add(ctx, SCMP_ACT_ALLOW, calls[i], 1, &x);
	}
	return rc;
}

/* ioctl: only the few requests libevent, stdio and SQLite make. */
static int
ioctl_rules(scmp_filter_ctx ctx)
{
	static const unsigned long req[] = { FIONREAD, FIONBIO, TCGETS };
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(req) / sizeof(req[0]) && rc == 0; i++) {
		struct scmp_arg_cmp c = eq(1, req[i]);

		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &c);
	}
	return rc;
}

/* Signals only to itself (abort(), raise()). */
static int
signal_rules(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp self = eq(0, (scmp_datum_t)getpid());
	int rc;

	rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, &self);
	if (rc == 0)
		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, &self);
	return rc;
}

/*
 * The engine starts threads, never processes: clone only with
 * CLONE_THREAD; clone3 (whose flags seccomp cannot see) answers ENOSYS,
 * on which glibc falls back to clone.  Sockets: local, IP, and the
 * routing netlink getaddrinfo reads.  Front ends: EACCES.
 */
static int
process_rules(scmp_filter_ctx ctx, enum sandbox_role role)
{
	int rc;

	/*
	 * The validator connects out over TCP/IP (and getaddrinfo's UDP);
	 * its address policy is checked in code before every connect
	 * (seccomp cannot read a sockaddr).
	 */
	if (role == SANDBOX_VALIDATOR || role == SANDBOX_NOTIFY) {
		struct scmp_arg_cmp in4 = eq(0, AF_INET);
		struct scmp_arg_cmp in6 = eq(0, AF_INET6);
		struct scmp_arg_cmp un = eq(0, AF_UNIX);	/* nscd probe */

		rc = add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0, NULL);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0,
			    NULL);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &in4);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &in6);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &un);
		return rc;
	}
	if (role != SANDBOX_ENGINE) {
		rc = add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0, NULL);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0,
			    NULL);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket),
			    0, NULL);
		return rc;
	}
	{
		struct scmp_arg_cmp th = SCMP_A0(SCMP_CMP_MASKED_EQ,
		    CLONE_THREAD, CLONE_THREAD);
		struct scmp_arg_cmp un = eq(0, AF_UNIX);
		struct scmp_arg_cmp in4 = eq(0, AF_INET);
		struct scmp_arg_cmp in6 = eq(0, AF_INET6);
		struct scmp_arg_cmp nl[2] = { eq(0, AF_NETLINK),
			eq(2, NETLINK_ROUTE) };

		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &th);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
			    0, NULL);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &un);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &in4);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &in6);
		if (rc == 0)
			rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, nl);
	}
	return rc;
}


int
sandbox_built(void)
{
	return 1;
}

int
sandbox_filter_load(enum sandbox_role role, char *err, size_t errlen)
{
	unsigned bit = role == SANDBOX_ENGINE ? R_ENG : role == SANDBOX_HTTPS ?
	    R_HTTPS : role == SANDBOX_VALIDATOR || role == SANDBOX_NOTIFY ?
	    R_VAL : R_COAP;
	scmp_filter_ctx ctx;
	size_t i;
	int rc = 0;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		sandbox_err(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* Threads the process already has (the engine's token watcher)
	 * get the same filter. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (i = 0; i < sizeof(allow) / sizeof(allow[0]) && rc == 0; i++)
		if (allow[i].roles & bit)
			rc = add(ctx, SCMP_ACT_ALLOW, allow[i].nr, 0, NULL);
	if (rc == 0)
		rc = memory_rules(ctx, role);
	if (rc == 0)
		rc = ioctl_rules(ctx);
	if (rc == 0)
		rc = signal_rules(ctx);
	if (rc == 0)
		rc = process_rules(ctx, role);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		sandbox_err(err, errlen, "cannot load the %s seccomp filter: "
		    "%s", sandbox_role_name(role), strerror(-rc));
		return -1;
	}
	return 0;
}
