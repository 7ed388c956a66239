/*
 * The main of a process that connects out (signet-validator and
 * signet-notify): options, logger, signals, configuration, the sandbox
 * and the loop that asks the engine for work, waiting between empty
 * answers for the engine's wake (eng_serve_wake) or the timeout.
 * Each process names what differs in a struct val_child; the work itself
 * (val_once, ntf_once) stays with it.
 */
#ifndef VAL_CHILD_H
#define VAL_CHILD_H

#include <stddef.h>
#include <stdint.h>

#include <signet/proto.h>
#include <signet/sandbox.h>
#include <signet/sconf.h>

#define VAL_CHILD_ENGINE_MS	5000	/* an engine call, at most */
#define VAL_CHILD_IDLE_MIN_MS	10	/* idle wait after work, doubling */

struct val_child {
	const char		*name;	/* the program, for log and usage */
	enum sandbox_role	 role;
	int			 idle_ms; /* idle: ask again after, at most */
	int			 eof_ok;  /* exit 0 when the engine hangs up */
	/* Before the sandbox (may be NULL); 0, or -1 with err. */
	int	(*setup)(void *, struct sconf *, char *, size_t);
	/* The "ready" log line, after the sandbox. */
	void	(*ready)(void *, const struct sconf *);
	/* One piece of work: 1 done, 0 nothing to do, -1 stop. */
	int	(*once)(void *, const struct sconf *, int, uint8_t *);
	/* After the loop, before the configuration is freed (may be NULL). */
	void	(*cleanup)(void *);
	void	*arg;
	/*
	 * A descriptor that becomes readable when there is work to report
	 * (the validator's finished validations), read empty by the idle
	 * wait; NULL: none.  After setup.
	 */
	int	(*wakefd)(void *);
};

/*
 * One engine call of message type: 0 with *rep decoded (into buf, of
 * PROTO_MAX_MSG bytes), 1 timeout, -1 failed or gone.  A wake the engine
 * sent meanwhile (id 0, eng_serve_wake) is remembered: the idle wait
 * that follows does not sleep.  One caller at a time (the main thread).
 */
int	val_child_call(int efd, uint16_t type, const struct proto_request *req,
	    uint8_t *buf, struct proto_reply *rep);

/* The process's main(): returns its exit status. */
int	val_child_main(int argc, char *argv[], const struct val_child *ch);

#endif /* VAL_CHILD_H */
