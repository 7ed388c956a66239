/* Internal to signet-engine: shared between its files only. */
#ifndef SIGNET_ENG_ENGINE_LOCAL_H
#define SIGNET_ENG_ENGINE_LOCAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <openssl/x509.h>

#include <signet/ca.h>
#include <signet/engine.h>
#include <signet/ledger.h>
#include <signet/proto.h>
#include <signet/sconf.h>

#include "eng_limit.h"
#include "eng_stats.h"

/* An issuer: token key, signer, certificate and chain as DER. */
struct eng_rt_issuer {
	struct ca_issuer	 iss;
	struct hsm_key		*key;
	struct ca_signer	*signer;
	int			 ready;		/* iss initialised */
	uint8_t			*der[1 + CA_MAX_CHAIN];	/* cert, chain */
	size_t			 der_len[1 + CA_MAX_CHAIN];
	size_t			 nder;
};

struct eng_rt_tenant {
	struct ca_tenant		 t;
	const struct sconf_tenant	*conf;
	struct eng_rt_issuer		*issuers;
	size_t				 nissuers;
	struct ca_profile		*profiles;
	size_t				 nprofiles;
};

struct sconf_trust;	/* signet/sconf_client.h */

struct eng_rt {
	atomic_int		 refs;
	const struct sconf	*conf;
	void			(*release)(struct sconf *);
	struct eng_rt_tenant	*tenants;
	size_t			 ntenants;
	X509_STORE		*clients;	/* tls_client_ca: mapped roles */
	struct sconf_trust	*trust;		/* each mapping's client CA */
	X509_STORE		*issued;	/* our issuers: requesters */
	struct eng_rev		*rev;		/* OCSP and CRLs (eng_revocation.c) */
	struct eng_idcache	*idc;		/* verified identities */
};

/* OCSP responder and CRL caches of one runtime (eng_revocation.c). */
struct eng_rev;
struct eng_rev *eng_rev_new(void);
void	eng_rev_free(struct eng_rev *rev);
/*
 * Once a second from eng_serve's refresh thread: rebuild the CRLs that
 * are due and re-sign OCSP answers about to go stale (issue 19).
 */
void	eng_rev_tick(struct eng_engine *e, const struct eng_rt *rt);
/* OCSP cache counters and built CRLs into a HEALTH reply (issue 19). */
void	eng_rev_stats(const struct eng_rt *rt, time_t now,
	    struct proto_health_rep *h);
/* revocation.freshness, or its default: the bound on stale answers. */
int64_t	eng_rev_freshness(const struct eng_rt *rt);
/* A certificate was revoked: drop cached answers, schedule CRLs. */
void	eng_rev_revoked(const struct eng_rt *rt, const uint8_t *serial,
	    size_t len, time_t now);

/* Lookups in a runtime; NULL when absent. */
struct eng_rt_tenant *eng_rt_tenant(const struct eng_rt *rt, const char *name);
const struct eng_rt_issuer *eng_rt_issuer_of(const struct eng_rt_tenant *t,
    const struct ca_issuer *iss);
/* The issuer whose certificate is x, and its tenant; NULL if none. */
const struct eng_rt_issuer *eng_rt_issuer_by_cert(const struct eng_rt *rt,
    X509 *x, const struct eng_rt_tenant **tenant);

/* Token secrets, verifiers, PSKs and one-time PSK handles (eng_psk.c). */
struct eng_psk;
#define ENG_TOKEN_KEY_LABEL	"signet-token-key"	/* HMAC key in the HSM */
#define ENG_TOKEN_CURRENT	2	/* verifier of this format */
#define ENG_TOKEN_LEGACY		1	/* SHA-256(token): HTTPS only */
/* Finds the token key, or creates it if absent (logged); -1 on failure. */
int	eng_psk_new(struct hsm *hsm, struct eng_psk **out);
void	eng_psk_free(struct eng_psk *p);
int	eng_psk_have_key(const struct eng_psk *p);
/* "<id>.<secret>" of id, the secret derived in the HSM; an hsm_rc. */
int	eng_token_derive(struct eng_psk *p, const char *id, char *out,
	    size_t size);
/* What the ledger stores for a token (not the PSK's key). */
void	eng_token_verifier(const char *token, uint8_t out[32]);
/* ENG_TOKEN_CURRENT, ENG_TOKEN_LEGACY or 0; constant-time compares. */
int	eng_token_matches(const char *token, const uint8_t stored[32]);

#define ENG_NOTIFY_KEY_MAX	64	/* bytes of the webhook HMAC key */
/*
 * glibc arenas for 16 workers (mallopt M_ARENA_MAX); 0 leaves glibc's
 * default (8 per core), for measuring what the cap costs:
 * -DENG_MALLOC_ARENAS=0 in CMAKE_C_FLAGS (docs/decisions.md, the soak).
 */
#ifndef ENG_MALLOC_ARENAS
#define ENG_MALLOC_ARENAS	2
#endif
#define ENG_TRIM_EVERY		60	/* refresh rounds (s) per malloc_trim */

struct eng_engine {
	struct hsm		*hsm;
	struct ledger		*ledger;
	struct eng_psk		*psk;
	struct eng_limit		*limit;		/* budgets (eng_gate.c) */
	struct eng_stats	*stats;		/* counts for /metrics */
	time_t			 fixed_now;
	pthread_mutex_t		 lock;		/* rt swaps */
	struct eng_rt		*rt;
	atomic_int		 draining;
	atomic_int		 ledger_ok;	/* last ledger write worked */
	atomic_uint_fast64_t	 issued;
	time_t			 started;
	time_t			 tidy_next;	/* tidy thread only */
	/* Expiry notifications (eng_notify.c, issue 19). */
	time_t			 notify_next;	/* tidy thread only */
	atomic_int		 notify_rescan;	/* a reload: scan at once */
	int			 notify_key_tried; /* tidy thread only */
	atomic_int		 notify_key_ready;
	uint8_t			 notify_key[ENG_NOTIFY_KEY_MAX];
	size_t			 notify_key_len;
	/*
	 * signet_certificates_expiring, counted by the tidy thread after
	 * each notification scan (eng_notify_tick), so HEALTH and /metrics
	 * read a copy instead of counting the ledger; under lock.  A
	 * reload (eng_engine_swap) empties it, since its windows may be
	 * gone, and the next tick counts the new ones.
	 */
	uint8_t			 nexpiring;
	struct proto_expiring	 expiring[PROTO_MAX_EXPIRING];
	/* Children signetd marked failed (issue 18), under lock. */
	uint8_t			 nfailed;
	struct proto_failed	 failed[PROTO_MAX_FAILED];
	/* eng_serve's loop, for eng_serve_wake; NULL outside eng_serve. */
	void			*srv;
};

/* signetd's list of failed children, for HEALTH (eng_engine.c). */
void	eng_engine_set_failed(struct eng_engine *e, const struct proto_failed *f,
	    uint8_t n);

time_t	eng_engine_now(const struct eng_engine *e);
struct eng_rt *eng_engine_rt(struct eng_engine *e);	/* a new reference */

/* Who asks, as the engine derived it from the evidence (eng_ident.c). */
enum eng_id_kind {
	ENG_ID_PARENT = 1,	/* the control channel: local operator */
	ENG_ID_CLIENT,		/* certificate from a configured client CA */
	ENG_ID_ISSUED,		/* certificate this CA issued */
	ENG_ID_TOKEN,		/* one-time enrollment token */
	ENG_ID_ACME,		/* an ACME account (its JWS verified) */
};

#define ENG_ID_ACTOR_MAX 256

struct eng_ident {
	enum eng_id_kind		 kind;
	char			 actor[ENG_ID_ACTOR_MAX];
	char			 role[CA_MAX_ID + 1];
	const struct sconf_client *client;	/* CLIENT: its mapping */
	char			 tenant[CA_MAX_ID + 1]; /* ISSUED, TOKEN */
	char			 profile[CA_MAX_ID + 1]; /* ISSUED, TOKEN */
	X509			*leaf;		/* ISSUED: owned */
	struct ledger_token	 tok;		/* TOKEN */
	char			 via[192];	/* "src=... cred=..." */
};

/*
 * Re-derive identity from the request's evidence.  Returns PROTO_R_OK
 * or the result to answer (UNAUTHORIZED with msg saying why).
 */
int	eng_ident_derive(struct eng_engine *e, const struct eng_rt *rt, int peer,
	    const struct proto_evidence *ev, struct eng_ident *id, char *msg,
	    size_t msglen);
void	eng_ident_clear(struct eng_ident *id);
/* Whether id may act in tenant (its mapping, its cert, its token). */
int	eng_ident_in_tenant(const struct eng_ident *id, const char *tenant);
/*
 * Verified client identities of one runtime (eng_ident_cache.c).
 * eng_idcache_key: the key of a chain presented on a channel of kind
 * peer; 0 or -1.  eng_idcache_get: 1 with id filled (id->leaf a new
 * reference) from a live entry, else 0; either way *gen for a later put.
 * eng_idcache_put: remember id (its leaf referenced again) unless a
 * revocation happened since gen, until the TTL or the earliest notAfter
 * of chain (NULL: of id's leaf).  eng_ident_revoked: a certificate was
 * revoked, drop its entries at once (called from eng_rev_revoked).
 */
struct eng_idcache;
struct eng_idcache *eng_idcache_new(void);
void	eng_idcache_free(struct eng_idcache *c);
int	eng_idcache_key(struct eng_idcache *c, int peer,
	    const struct proto_chain *ch, uint8_t key[32]);
int	eng_idcache_get(struct eng_idcache *c, const uint8_t key[32],
	    time_t now, struct eng_ident *id, uint64_t *gen);
void	eng_idcache_put(struct eng_idcache *c, const struct eng_rt *rt,
	    const uint8_t key[32], uint64_t gen, time_t now,
	    STACK_OF(X509) *chain, const struct eng_ident *id);
void	eng_ident_revoked(const struct eng_rt *rt, const uint8_t *serial,
	    size_t len);
/* Drop the entries past their time (once a minute, eng_serve.c). */
void	eng_idcache_sweep(const struct eng_rt *rt, time_t now);
void	eng_sha256(const void *p, size_t len, uint8_t out[32]);
/*
 * Issue 19, eng_audit_who.c: eng_ident_via fills id->via from the
 * request's source address (ev may be NULL) and the verified credential;
 * eng_audit_detail returns detail with id->via appended (in buf, or
 * detail itself when there is nothing to add); eng_audit_src writes the
 * client's full address, "-" if none.
 */
void	eng_ident_via(const struct proto_evidence *ev, struct eng_ident *id);
const char *eng_audit_detail(const struct eng_ident *id, const char *detail,
	    char *buf, size_t size);
void	eng_audit_src(const struct proto_evidence *ev, char *out, size_t size);

struct eng_reply;
/*
 * Budgets (eng_gate.c).  eng_gate_source: take a token from the source's
 * authentication-failure budget; RATE_LIMITED (r filled) if there was
 * none, else OK.  eng_gate_auth_ok: the attempt succeeded, give the
 * token back.  eng_gate_auth_failed: count the failure and audit it, one
 * row per source and window (eng_authfail.h).
 * eng_gate_rate: after authentication, charge id's and the request's
 * tenant's buckets; RATE_LIMITED (r filled) or OK.
 */
int	eng_gate_source(struct eng_engine *e, const struct eng_rt *rt,
	    const struct proto_evidence *ev, struct eng_reply *r);
void	eng_gate_auth_ok(struct eng_engine *e, const struct eng_rt *rt,
	    const struct proto_evidence *ev);
/*
 * eng_gate_ocsp: may the OCSP answer for ev's source be signed now (its
 * rate_ocsp_nonce bucket, then the appliance's rate_ocsp_sign bucket)?
 * Takes a token from each and says 1, or says 0 (and takes none).
 * eng_gate_ocsp_done: the answer was made; counts a nonce signed or
 * dropped.
 */
struct eng_ocsp_gate {
	struct eng_engine		*e;
	const struct eng_rt		*rt;
	const struct proto_evidence	*ev;
};
int	eng_gate_ocsp(void *gate);
void	eng_gate_ocsp_done(const struct eng_ocsp_gate *g, int signed_nonce,
	    int dropped_nonce);
void	eng_gate_auth_failed(struct eng_engine *e, const struct eng_rt *rt,
	    int peer, const struct proto_evidence *ev, const char *actor,
	    const char *why);
int	eng_gate_rate(struct eng_engine *e, const struct eng_rt *rt,
	    const struct proto_request *req, const struct eng_ident *id,
	    struct eng_reply *r);

/* snprintf that may truncate on purpose (messages, names in logs). */
void	eng_fmt(char *buf, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* A reply under construction: status and payload, encoded by the caller. */
struct eng_reply {
	struct proto_reply	 rep;
	/* memory the payload points into, freed after encoding */
	void			*mem[4];
	struct ledger_cert	*rows;
	size_t			 nrows;
	struct ledger_cert	 row;
	int			 have_row;
	int			 quiet;	/* refusal counted/logged already */
	/* The configured target the request resolved to (names owned by
	 * the runtime), for the per-target counts (eng_stats.h). */
	const char		*tenant, *profile;
};

int	eng_reply_fail(struct eng_reply *r, int result, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	eng_reply_clear(struct eng_reply *r);

/*
 * Admission and dispatch (eng_dispatch.c): one table row per message type.
 * eng_permitted: may peer send type in state; eng_admit: that, and evidence
 * that fits the channel.  Both return an enum proto_perm (CLOSE for a
 * type without a row).  eng_dispatch: authenticate as the row says, run
 * its handler; fills r, returns the result.
 */
int	eng_permitted(uint16_t type, int peer, int state);
int	eng_admit(const struct proto_request *req, int peer, int state);
/* Whether type is a quick read the reserved worker may run (eng_serve.c). */
int	eng_quick(uint16_t type);
int	eng_dispatch(struct eng_engine *e, const struct eng_rt *rt, int peer,
	    const struct proto_request *req, struct eng_reply *r);

/*
 * Handlers, one per dispatch row; each fills r and returns the result.
 * id is the identity derived for rows that need one, else zeroed.
 */
/* ISSUE and REISSUE (eng_enroll.c). */
/*
 * eng_enroll_named: the tenant and profile an ISSUE or REISSUE names (by
 * name, or by an EST label resolved from the configuration; pointers
 * into q, id or rt); id NULL before authentication.  PROTO_R_OK, or
 * NOT_FOUND with msg (if not NULL) for a label that names nothing.
 */
int	eng_enroll_named(const struct eng_rt *rt, const struct eng_ident *id,
	    const struct proto_issue_req *q, const char **tenant,
	    const char **profile, char *msg, size_t msglen);
int	eng_h_issue(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
/*
 * eng_enroll_sign: the one issuance path, shared by EST, the JSON API and
 * ACME (eng_enroll.c).  check runs on the parsed CSR before policy: what
 * this credential may ask (PROTO_R_OK or a refusal with msg), and which
 * credential it is (authorized_by, as the ledger records it).
 */
struct eng_sign {
	const struct eng_rt_tenant	*t;
	const char			*pname;
	struct proto_blob		 csr;
	uint32_t			 ttl;
	const struct eng_ident		*id;
	int	(*check)(void *arg, const struct ca_csr *csr, char *authby,
		    size_t authbylen, char *msg, size_t msglen);
	void				*arg;
};
int	eng_enroll_sign(struct eng_engine *e, const struct eng_sign *sg,
	    struct ca_result *res, char hex[2 * LEDGER_SERIAL_MAX + 1],
	    char *msg, size_t msglen);
/* ACME (eng_acme.c, eng_acme_order.c): every request of a directory. */
int	eng_h_acme(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
/* ACME_EAB: an operator makes an EAB key (eng_acme.c). */
int	eng_h_acme_eab(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
/* ACME_VA: the validator takes work and reports (eng_acme_order.c). */
int	eng_h_acme_va(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
/* b[0..n) as 2n lowercase hex digits and a NUL in out (eng_token.c). */
void	eng_hex(const uint8_t *b, size_t n, char *out);
/*
 * CACERTS (eng_cacerts.c) and CSRATTRS (eng_csrattrs.c): public data about
 * a profile.  eng_target: the tenant and profile a target request names,
 * "" meaning est_default's; PROTO_R_OK, or the reply's failure.
 */
int	eng_target(const struct eng_rt *rt, const struct proto_target_req *q,
	    const struct eng_rt_tenant **t, const struct ca_profile **p,
	    struct eng_reply *r);
int	eng_h_cacerts(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
int	eng_h_csrattrs(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
/* REVOKE, GET_CERT, LIST_CERTS (eng_admin.c). */
int	eng_h_revoke(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
int	eng_h_get(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
int	eng_h_list(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
/* TOKEN_CREATE (eng_token.c). */
int	eng_h_token(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
/* HEALTH (eng_engine.c). */
int	eng_h_health(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
/*
 * PSK_LOOKUP: the PSK and a one-time handle for it; an identity nobody
 * can use counts as a failed authentication of its source (eng_psk.c).
 */
int	eng_h_psk(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
/* Consume the handle a PSK_LOOKUP of token id gave; 0 if it was live. */
int	eng_psk_claim(struct eng_engine *e, const char *id,
	    const uint8_t handle[PROTO_PSK_HANDLE_LEN]);
/* OCSP and CRL (eng_revocation.c). */
int	eng_h_ocsp(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
int	eng_h_crl(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
/* COAP_STATS: keep the CoAP front end's counters (eng_stats.c). */
int	eng_h_coap_stats(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);

/* Storage hygiene (eng_tidy.c, issue 19). */
struct eng_tidy_result {
	uint64_t	certs;
	uint64_t	tokens;
	int64_t		cutoff;	/* what expired at or before it went */
	int		done;	/* nothing left to remove */
};
int	eng_tidy_tenant(struct eng_engine *e, const struct eng_rt *rt,
	    const struct eng_rt_tenant *t, const char *actor, const char *role,
	    int64_t budget_ms, const atomic_int *stop,
	    struct eng_tidy_result *res);
/* Once a second from eng_serve's tidy thread: the scheduled runs. */
void	eng_tidy_tick(struct eng_engine *e, const struct eng_rt *rt,
	    const atomic_int *stop);
/* Expiry notifications (eng_notify.c, issue 19): the schedule, once a
 * second from the tidy thread; NOTIFY from signet-notify; the key wiped. */
void	eng_notify_tick(struct eng_engine *e, const struct eng_rt *rt,
	    const atomic_int *stop);
int	eng_h_notify(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
void	eng_notify_wipe(struct eng_engine *e);
/* HEALTH: certificates past each configured window, the queue's counts. */
void	eng_notify_health(struct eng_engine *e, const struct eng_rt *rt,
	    struct proto_health_rep *h);
/* AUDIT_QUERY: operators and auditors read the log (eng_auditq.c). */
int	eng_h_audit(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);
/* TIDY: operators only, one tenant, bounded in time. */
int	eng_h_tidy(struct eng_engine *e, const struct eng_rt *rt,
	    struct eng_ident *id, const struct proto_request *req,
	    struct eng_reply *r);

/* Audit one outcome (ok or refusal); logs if the ledger refuses. */
int	eng_audit(struct eng_engine *e, const char *actor, const char *role,
	    const char *tenant, enum audit_action action, const char *object,
	    const char *result, const char *detail);
/* The message for a token failure, e.g. "token down: CKR_DEVICE_REMOVED". */
/* eng_audit with id's actor and role, and id->via after detail. */
int	eng_audit_id(struct eng_engine *e, const struct eng_ident *id,
	    const char *tenant, enum audit_action action, const char *object,
	    const char *result, const char *detail);
void	eng_token_reason(struct eng_engine *e, char *buf, size_t size);
/*
 * Checkpoint export (eng_audit_export.c): the export file opened for
 * appending (fatal if it cannot be; -1 when path is NULL), and the
 * audit_config.exported hook, whose arg points at that descriptor.
 */
struct audit_ckpt;
int	eng_ckpt_export_open(const char *path);
void	eng_ckpt_exported(void *arg, const char *node,
	    const struct audit_ckpt *ck);
/*
 * Wakes every channel of peer kind (eng_serve.c): a datagram of no body,
 * type `type | PROTO_T_REPLY` and id 0 (ENG_WAKE_ID), which answers no call;
 * sent without waiting, dropped when the peer's queue is full (it has
 * wakes to read already).  Outside eng_serve (unit tests) it does
 * nothing.  The ACME validator's wake (docs/acme.md "The validator").
 */
#define ENG_WAKE_ID	0
void	eng_serve_wake(struct eng_engine *e, int kind, uint16_t type);

#endif
