/*
 * The per-process sandbox of the appliance (STYLE.md 7): one call,
 * sandbox_enter(), at one site in each child after its setup, fails
 * closed.  In order it
 *
 *   - chroots a front end into an empty, root-owned directory,
 *   - drops to the role's own unprivileged user (front ends start as root
 *     to read their TLS key; the engine is started as its user by signetd
 *     and is only checked: an engine running as root is refused),
 *   - sets PR_SET_NO_NEW_PRIVS, rlimits (no core files; a front end
 *     cannot fork; its stderr may be a log file, so no RLIMIT_FSIZE: the
 *     chroot and the filter keep it from opening any file) and
 *     PR_SET_DUMPABLE 0,
 *   - loads a default-deny seccomp filter for the role (libseccomp): a
 *     system call off the role's list kills the process (SIGSYS).
 *
 * A build without libseccomp (SIGNET_SANDBOX=OFF) is a debug build: every
 * entry point then fails with a message saying so, and signetd refuses
 * `sandbox = true`.
 */
#ifndef SIGNET_SANDBOX_H
#define SIGNET_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

enum sandbox_role {
	SANDBOX_ENGINE,	/* token session, ledger: wider filter, no chroot */
	SANDBOX_HTTPS,	/* TLS front end: accept, read, write */
	SANDBOX_COAP,	/* DTLS front end: recvmsg, sendmsg */
	SANDBOX_VALIDATOR, /* ACME validation: connects out over TCP/IP */
	SANDBOX_NOTIFY,	/* expiry webhooks: connects out, as the validator */
};

struct sandbox_conf {
	enum sandbox_role role;
	const char *user;	/* the role's user; required */
	const char *root_dir;	/* chroot here when started as root */
	size_t max_files;	/* RLIMIT_NOFILE; 0 leaves it */
};

#define SANDBOX_MAX_ERR 256

/* 1 when this build has the seccomp sandbox, 0 in a debug build. */
int sandbox_built(void);

/* 1 in a test build (SIGNET_TEST_HOOKS), which must never ship. */
int sandbox_test_hooks(void);

/* "engine", "https", "coap", "validator", "notify". */
const char *sandbox_role_name(enum sandbox_role role);

/*
 * Enters the sandbox.  0 on success; -1 with a message in err, and the
 * caller must exit: nothing is half-applied that it could rely on.
 */
int sandbox_enter(const struct sandbox_conf *sc, char *err, size_t errlen);

/* 1 once sandbox_enter succeeded in this process. */
int sandbox_active(void);

/* Looks a user up: 0, or -1 with a message (unknown, or uid 0). */
int sandbox_user(const char *name, uid_t *uid, gid_t *gid, char *err,
    size_t errlen);

/*
 * For signetd between fork and exec: becomes uid/gid for good (groups
 * cleared).  0, or -1 with errno set.
 */
int sandbox_become(uid_t uid, gid_t gid);

/*
 * For the root parent: keeps only the capabilities it needs to start its
 * children (set[ug]id, chroot, reading their files, signalling them, low
 * ports) in the bounding set, sets PR_SET_NO_NEW_PRIVS, no core files and
 * not dumpable.  0, or -1 with a message.
 */
int sandbox_parent(char *err, size_t errlen);

/*
 * Checks that dir can be a front end's empty root: a directory owned by
 * root, writable by nobody else, with nothing in it.  0 or -1 + message.
 */
int sandbox_check_root(const char *dir, char *err, size_t errlen);

#endif
