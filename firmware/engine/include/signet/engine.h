/*
 * firmware/engine: signet-engine, the only process with a token session
 * and the ledger (DESIGN.md "Processes").  Front ends reach it over engine
 * messages (signet/proto.h); it re-derives every client's identity from
 * the evidence itself, checks role and tenant, issues through
 * firmware/ca with the ledger as reserve/commit hooks, and answers.
 *
 * The pieces, each usable on its own so tests can run them in-process:
 *
 *	eng_rt		the configuration in the engine's terms: tenants,
 *			profiles, issuers (token keys found, certificates
 *			loaded), client mappings and trust stores.  Built
 *			from a struct sconf; reference counted so a reload
 *			can swap it while requests still use the old one.
 *	eng_engine	the token, the ledger and the current eng_rt; turns
 *			one request datagram into one reply datagram.
 *	eng_serve	the poll loop and worker threads around an engine.
 *	eng_main	the process: arguments, start-up, reconciliation.
 *
 * Ownership: eng_rt_build borrows the sconf (and the hsm) until the last
 * reference is dropped; if release is not NULL it is called then with
 * the sconf.  eng_engine_new borrows hsm and ledger (they must outlive
 * the engine) and takes over the caller's reference on rt.  Nothing in
 * the library exits; only eng_main does, through fatalx, at start-up.
 */
#ifndef SIGNET_ENGINE_H
#define SIGNET_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <signet/proto.h>
/* The engine logs with log_info/log_warnx/log_debug/fatalx. */
#include <signet_log.h>

struct sconf;
struct hsm;
struct ledger;

#define ENG_ENGINE_WORKERS	16	/* threads issuing at once: enough to fill a group commit */
#define ENG_ENGINE_MAX_PEERS	64	/* front-end channels */
#define ENG_ENGINE_QUEUE	256	/* requests waiting for a worker */
#define ENG_TOKEN_SECRET_BYTES	24	/* random bytes of a token secret */
#define ENG_TOKEN_MAX_LIFETIME	(30 * 86400) /* without token_max_ttl */

/* eng_rt.c */
struct eng_rt;
/*
 * Translate conf into issuers, profiles and tenants: find every issuer
 * key in hsm, load its certificate and chain, translate key types,
 * usages, flags and TTLs, load the client CA files.  Unknown values are
 * refused with a message in err naming the tenant and profile.
 */
int	eng_rt_build(const struct sconf *conf, struct hsm *hsm,
	    void (*release)(struct sconf *), struct eng_rt **out, char *err,
	    size_t errlen);
struct eng_rt *eng_rt_ref(struct eng_rt *rt);
void	eng_rt_unref(struct eng_rt *rt);

/* eng_engine.c */
struct eng_engine;
struct eng_engine_config {
	struct hsm	*hsm;		/* borrowed */
	struct ledger	*ledger;	/* borrowed */
	time_t		 now;		/* fixed clock for tests; 0: real */
};
int	eng_engine_new(const struct eng_engine_config *cfg, struct eng_rt *rt,
	    struct eng_engine **out);
void	eng_engine_free(struct eng_engine *e);
/* Use rt from the next request on (takes the reference; SIGHUP). */
void	eng_engine_swap(struct eng_engine *e, struct eng_rt *rt);
/* PROTO_STATE_READY, DEGRADED (token or ledger down) or DRAINING. */
int	eng_engine_state(struct eng_engine *e);
void	eng_engine_drain(struct eng_engine *e);
/*
 * Start-up reconciliation: every row left RESERVED is abandoned (the
 * engine returns a certificate only after its commit, so a reserved one
 * never left) and the result is logged and audited.
 */
int	eng_engine_reconcile(struct eng_engine *e);

/*
 * One request datagram body of type from a channel of peer: decode,
 * admit, handle, and encode the reply body into out (PROTO_MAX_BODY
 * bytes).  Returns 0 with *outlen set, or -1 when the message is
 * malformed or not permitted: the caller closes that peer's channel.
 */
int	eng_engine_request(struct eng_engine *e, int peer, uint16_t type,
	    const uint8_t *body, size_t len, uint8_t *out, size_t size,
	    size_t *outlen);

/*
 * Once a second from the serving loop (force at shutdown): write the
 * audit rows of failed-authentication windows that have passed.
 */
void	eng_engine_tick(struct eng_engine *e, int force);

/* eng_serve.c */
struct eng_serve_opts {
	int	 ctl_fd;	/* channels from the parent (proto_recv_fd) */
	int	 workers;	/* 0: ENG_ENGINE_WORKERS */
	/* SIGHUP: build a new eng_rt, or return -1 and keep the old one. */
	int	(*reload)(void *arg, struct eng_rt **out);
	void	*arg;
};
/* Serve until EOF on ctl_fd or SIGTERM, then drain; 0 on a clean end. */
int	eng_serve(struct eng_engine *e, const struct eng_serve_opts *opts);

/* eng_main.c: signet-engine -f CONFIG -C CTLFD [-d] */
int	eng_main(int argc, char *argv[]);

#endif /* SIGNET_ENGINE_H */
