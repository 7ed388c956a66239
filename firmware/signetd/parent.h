/*
 * signetd, the parent process: reads the configuration, opens the
 * listening sockets, starts the engine and the front ends with fork+exec,
 * wires them together and restarts them.  It never parses network input
 * and holds no key and no PIN.
 */
#ifndef SIGNET_PARENT_H
#define SIGNET_PARENT_H

#include <sys/types.h>
#include <stdint.h>

#include <signet/sconf.h>
/* signetd logs to stderr or syslog (log = in signet.conf). */
#include <signet_log.h>

#define PARENT_MAX_WORKERS 16
#define PARENT_BACKOFF_MIN_MS 100
#define PARENT_BACKOFF_MAX_MS 5000
#define PARENT_STABLE_SECS 10	/* a child up this long resets its backoff */
#define PARENT_DRAIN_SECS 10	/* grace before SIGKILL on shutdown */
#define PARENT_MAX_START_FAILS 5 /* same start-up error: stop restarting */
#define PARENT_MAX_WHY 512

enum parent_role { ROLE_ENGINE, ROLE_HTTPS, ROLE_COAP, ROLE_VALIDATOR,
	ROLE_NOTIFY };

struct parent_child {
	enum parent_role role;
	int index;		/* worker number */
	pid_t pid;		/* 0 when not running */
	int engine_fd;		/* our copy of the channel end for the child */
	int64_t started_ms;
	int64_t restart_at_ms;	/* when to start again, 0 = not scheduled */
	unsigned backoff_ms;
	unsigned restarts;
	/* Start-up failures in a row with the same error (status + why);
	 * at PARENT_MAX_START_FAILS the child is failed until SIGHUP. */
	unsigned fails;
	int failed;
	int stopped;		/* we signalled it: its exit is no failure */
	int last_status;
	char why[PARENT_MAX_WHY];	/* what spawn saw, the child's fatal
					   line, or "" */
	int report_fd;		/* read end of the child's fatal line, or -1 */
	char last_why[PARENT_MAX_WHY];
};

struct parent {
	const char *conf_path;
	struct sconf *conf;
	char engine_bin[4096], https_bin[4096], coap_bin[4096];
	char validator_bin[4096];
	char notify_bin[4096];
	int ctl_fd;		/* our end of the engine's control channel */
	int https_fd, http_fd, coap_fd;
	struct parent_child engine;
	struct parent_child https[PARENT_MAX_WORKERS];
	int nhttps;
	struct parent_child coap;
	int have_coap;
	struct parent_child validator;	/* ACME http-01 (issue 20) */
	int have_validator;
	struct parent_child notify;	/* expiry webhooks (issue 19) */
	int have_notify;
	int stopping;
	int paused;		/* TCP listeners shut: nobody would serve */
	int sandbox;		/* children drop to their users (root only) */
	uid_t engine_uid;
	gid_t engine_gid;
};

/* parent_sock.c */
int parent_listen_tcp(const char *hostport);
int parent_listen_udp(const char *hostport);
void parent_listen_pause(int fd);
int parent_listen_resume(int fd);

/* parent_proc.c */
int64_t parent_now_ms(void);
void parent_start_all(struct parent *p);
void parent_reap(struct parent *p);
void parent_tick(struct parent *p);
void parent_stop_all(struct parent *p);
void parent_signal_all(struct parent *p, int sig);
void parent_retry_failed(struct parent *p);
void parent_tell_engine(struct parent *p);

#endif
