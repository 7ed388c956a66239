/* Internal to signet-engine: shared between its files only. */
#ifndef SIGNET_CA_ENGINE_LOCAL_H
#define SIGNET_CA_ENGINE_LOCAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <openssl/x509.h>

#include <signet/ca.h>
#include <signet/engine.h>
#include <signet/ledger.h>
#include <signet/proto.h>
#include <signet/sconf.h>

#include "ca_limit.h"

/* An issuer: token key, signer, certificate and chain as DER. */
struct ca_rt_issuer {
	struct ca_issuer	 iss;
	struct hsm_key		*key;
	struct ca_signer	*signer;
	int			 ready;		/* iss initialised */
	uint8_t			*der[1 + CA_MAX_CHAIN];	/* cert, chain */
	size_t			 der_len[1 + CA_MAX_CHAIN];
	size_t			 nder;
};

struct ca_rt_tenant {
	struct ca_tenant		 t;
	const struct sconf_tenant	*conf;
	struct ca_rt_issuer		*issuers;
	size_t				 nissuers;
	struct ca_profile		*profiles;
	size_t				 nprofiles;
};

struct sconf_trust;	/* signet/sconf_client.h */

struct ca_rt {
	atomic_int		 refs;
	const struct sconf	*conf;
	void			(*release)(struct sconf *);
	struct ca_rt_tenant	*tenants;
	size_t			 ntenants;
	X509_STORE		*clients;	/* tls_client_ca: mapped roles */
	struct sconf_trust	*trust;		/* each mapping's client CA */
	X509_STORE		*issued;	/* our issuers: requesters */
	struct ca_rev		*rev;		/* OCSP and CRLs (ca_revocation.c) */
};

/* OCSP responder and CRL caches of one runtime (ca_revocation.c). */
struct ca_rev;
struct ca_rev *ca_rev_new(void);
void	ca_rev_free(struct ca_rev *rev);
/*
 * Once a second from ca_serve's refresh thread: rebuild the CRLs that
 * are due and re-sign OCSP answers about to go stale (issue 19).
 */
void	ca_rev_tick(struct ca_engine *e, const struct ca_rt *rt);
/* A certificate was revoked: drop cached answers, schedule CRLs. */
void	ca_rev_revoked(const struct ca_rt *rt, const uint8_t *serial,
	    size_t len, time_t now);

/* Lookups in a runtime; NULL when absent. */
struct ca_rt_tenant *ca_rt_tenant(const struct ca_rt *rt, const char *name);
const struct ca_rt_issuer *ca_rt_issuer_of(const struct ca_rt_tenant *t,
    const struct ca_issuer *iss);
/* The issuer whose certificate is x, and its tenant; NULL if none. */
const struct ca_rt_issuer *ca_rt_issuer_by_cert(const struct ca_rt *rt,
    X509 *x, const struct ca_rt_tenant **tenant);

/* Token secrets, verifiers, PSKs and one-time PSK handles (ca_psk.c). */
struct ca_psk;
#define CA_TOKEN_KEY_LABEL	"signet-token-key"	/* HMAC key in the HSM */
#define CA_TOKEN_CURRENT	2	/* verifier of this format */
#define CA_TOKEN_LEGACY		1	/* SHA-256(token): HTTPS only */
/* Finds the token key, or creates it if absent (logged); -1 on failure. */
int	ca_psk_new(struct hsm *hsm, struct ca_psk **out);
void	ca_psk_free(struct ca_psk *p);
int	ca_psk_have_key(const struct ca_psk *p);
/* "<id>.<secret>" of id, the secret derived in the HSM; an hsm_rc. */
int	ca_token_derive(struct ca_psk *p, const char *id, char *out,
	    size_t size);
/* What the ledger stores for a token (not the PSK's key). */
void	ca_token_verifier(const char *token, uint8_t out[32]);
/* CA_TOKEN_CURRENT, CA_TOKEN_LEGACY or 0; constant-time compares. */
int	ca_token_matches(const char *token, const uint8_t stored[32]);

struct ca_engine {
	struct hsm		*hsm;
	struct ledger		*ledger;
	struct ca_psk		*psk;
	struct ca_limit		*limit;		/* budgets (ca_gate.c) */
	time_t			 fixed_now;
	pthread_mutex_t		 lock;		/* rt swaps */
	struct ca_rt		*rt;
	atomic_int		 draining;
	atomic_int		 ledger_ok;	/* last ledger write worked */
	atomic_uint_fast64_t	 issued;
	time_t			 started;
};

time_t	ca_engine_now(const struct ca_engine *e);
struct ca_rt *ca_engine_rt(struct ca_engine *e);	/* a new reference */

/* Who asks, as the engine derived it from the evidence (ca_ident.c). */
enum ca_id_kind {
	CA_ID_PARENT = 1,	/* the control channel: local operator */
	CA_ID_CLIENT,		/* certificate from a configured client CA */
	CA_ID_ISSUED,		/* certificate this CA issued */
	CA_ID_TOKEN,		/* one-time enrollment token */
};

#define CA_ID_ACTOR_MAX 256

struct ca_ident {
	enum ca_id_kind		 kind;
	char			 actor[CA_ID_ACTOR_MAX];
	char			 role[CA_MAX_ID + 1];
	const struct sconf_client *client;	/* CLIENT: its mapping */
	char			 tenant[CA_MAX_ID + 1]; /* ISSUED, TOKEN */
	char			 profile[CA_MAX_ID + 1]; /* ISSUED, TOKEN */
	X509			*leaf;		/* ISSUED: owned */
	struct ledger_token	 tok;		/* TOKEN */
};

/*
 * Re-derive identity from the request's evidence.  Returns PROTO_R_OK
 * or the result to answer (UNAUTHORIZED with msg saying why).
 */
int	ca_ident_derive(struct ca_engine *e, const struct ca_rt *rt, int peer,
	    const struct proto_evidence *ev, struct ca_ident *id, char *msg,
	    size_t msglen);
void	ca_ident_clear(struct ca_ident *id);
/* Whether id may act in tenant (its mapping, its cert, its token). */
int	ca_ident_in_tenant(const struct ca_ident *id, const char *tenant);
/* Audit an authentication failure (best effort: logged if it fails). */
void	ca_ident_audit_fail(struct ca_engine *e, int peer,
	    const struct proto_evidence *ev, const char *actor,
	    const char *why);
void	ca_sha256(const void *p, size_t len, uint8_t out[32]);

struct ca_reply;
/*
 * Budgets (ca_gate.c).  ca_gate_source: take a token from the source's
 * authentication-failure budget; RATE_LIMITED (r filled) if there was
 * none, else OK.  ca_gate_auth_ok: the attempt succeeded, give the
 * token back.  ca_gate_auth_failed: count the failure and audit it, one
 * row per source and window (ca_authfail.h).
 * ca_gate_rate: after authentication, charge id's and the request's
 * tenant's buckets; RATE_LIMITED (r filled) or OK.
 */
int	ca_gate_source(struct ca_engine *e, const struct ca_rt *rt,
	    const struct proto_evidence *ev, struct ca_reply *r);
void	ca_gate_auth_ok(struct ca_engine *e, const struct ca_rt *rt,
	    const struct proto_evidence *ev);
/*
 * ca_gate_ocsp: may the OCSP answer for ev's source be signed now (its
 * rate_ocsp_nonce bucket)?  Takes a token and says 1, or says 0.
 * ca_gate_ocsp_done: the answer was made; counts a nonce signed or
 * dropped.
 */
struct ca_ocsp_gate {
	struct ca_engine		*e;
	const struct ca_rt		*rt;
	const struct proto_evidence	*ev;
};
int	ca_gate_ocsp(void *gate);
void	ca_gate_ocsp_done(const struct ca_ocsp_gate *g, int signed_nonce,
	    int dropped_nonce);
void	ca_gate_auth_failed(struct ca_engine *e, const struct ca_rt *rt,
	    int peer, const struct proto_evidence *ev, const char *actor,
	    const char *why);
int	ca_gate_rate(struct ca_engine *e, const struct ca_rt *rt,
	    const struct proto_request *req, const struct ca_ident *id,
	    struct ca_reply *r);

/* snprintf that may truncate on purpose (messages, names in logs). */
void	ca_fmt(char *buf, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* A reply under construction: status and payload, encoded by the caller. */
struct ca_reply {
	struct proto_reply	 rep;
	/* memory the payload points into, freed after encoding */
	void			*mem[4];
	struct ledger_cert	*rows;
	size_t			 nrows;
	struct ledger_cert	 row;
	int			 have_row;
	int			 quiet;	/* refusal counted/logged already */
};

int	ca_reply_fail(struct ca_reply *r, int result, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	ca_reply_clear(struct ca_reply *r);

/*
 * Admission and dispatch (ca_dispatch.c): one table row per message type.
 * ca_permitted: may peer send type in state; ca_admit: that, and evidence
 * that fits the channel.  Both return an enum proto_perm (CLOSE for a
 * type without a row).  ca_dispatch: authenticate as the row says, run
 * its handler; fills r, returns the result.
 */
int	ca_permitted(uint16_t type, int peer, int state);
int	ca_admit(const struct proto_request *req, int peer, int state);
int	ca_dispatch(struct ca_engine *e, const struct ca_rt *rt, int peer,
	    const struct proto_request *req, struct ca_reply *r);

/*
 * Handlers, one per dispatch row; each fills r and returns the result.
 * id is the identity derived for rows that need one, else zeroed.
 */
/* ISSUE and REISSUE (ca_enroll.c). */
/*
 * ca_enroll_named: the tenant and profile an ISSUE or REISSUE names (by
 * name, or by an EST label resolved from the configuration; pointers
 * into q, id or rt); id NULL before authentication.  PROTO_R_OK, or
 * NOT_FOUND with msg (if not NULL) for a label that names nothing.
 */
int	ca_enroll_named(const struct ca_rt *rt, const struct ca_ident *id,
	    const struct proto_issue_req *q, const char **tenant,
	    const char **profile, char *msg, size_t msglen);
int	ca_h_issue(struct ca_engine *e, const struct ca_rt *rt,
	    struct ca_ident *id, const struct proto_request *req,
	    struct ca_reply *r);
/* CACERTS and CSRATTRS: public data about a profile (ca_csrattrs.c). */
int	ca_h_cacerts(struct ca_engine *e, const struct ca_rt *rt,
	    struct ca_ident *id, const struct proto_request *req,
	    struct ca_reply *r);
int	ca_h_csrattrs(struct ca_engine *e, const struct ca_rt *rt,
	    struct ca_ident *id, const struct proto_request *req,
	    struct ca_reply *r);
/* REVOKE, GET_CERT, LIST_CERTS (ca_admin.c). */
int	ca_h_revoke(struct ca_engine *e, const struct ca_rt *rt,
	    struct ca_ident *id, const struct proto_request *req,
	    struct ca_reply *r);
int	ca_h_get(struct ca_engine *e, const struct ca_rt *rt,
	    struct ca_ident *id, const struct proto_request *req,
	    struct ca_reply *r);
int	ca_h_list(struct ca_engine *e, const struct ca_rt *rt,
	    struct ca_ident *id, const struct proto_request *req,
	    struct ca_reply *r);
/* TOKEN_CREATE (ca_token.c). */
int	ca_h_token(struct ca_engine *e, const struct ca_rt *rt,
	    struct ca_ident *id, const struct proto_request *req,
	    struct ca_reply *r);
/* HEALTH (ca_engine.c). */
int	ca_h_health(struct ca_engine *e, const struct ca_rt *rt,
	    struct ca_ident *id, const struct proto_request *req,
	    struct ca_reply *r);
/*
 * PSK_LOOKUP: the PSK and a one-time handle for it; an identity nobody
 * can use counts as a failed authentication of its source (ca_psk.c).
 */
int	ca_h_psk(struct ca_engine *e, const struct ca_rt *rt,
	    struct ca_ident *id, const struct proto_request *req,
	    struct ca_reply *r);
/* Consume the handle a PSK_LOOKUP of token id gave; 0 if it was live. */
int	ca_psk_claim(struct ca_engine *e, const char *id,
	    const uint8_t handle[PROTO_PSK_HANDLE_LEN]);
/* OCSP and CRL (ca_revocation.c). */
int	ca_h_ocsp(struct ca_engine *e, const struct ca_rt *rt,
	    struct ca_ident *id, const struct proto_request *req,
	    struct ca_reply *r);
int	ca_h_crl(struct ca_engine *e, const struct ca_rt *rt,
	    struct ca_ident *id, const struct proto_request *req,
	    struct ca_reply *r);

/* Audit one outcome (ok or refusal); logs if the ledger refuses. */
int	ca_audit(struct ca_engine *e, const char *actor, const char *role,
	    const char *tenant, enum audit_action action, const char *object,
	    const char *result, const char *detail);
/* The message for a token failure, e.g. "token down: CKR_DEVICE_REMOVED". */
void	ca_token_reason(struct ca_engine *e, char *buf, size_t size);

#endif
