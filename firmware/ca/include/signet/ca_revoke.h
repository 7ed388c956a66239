/*
 * firmware/ca: revocation status, published as CRLs (RFC 5280 section 5)
 * and answered by an OCSP responder (RFC 6960).
 *
 * Both read the ledger (signet/ledger.h) and sign through the issuer's
 * struct ca_signer, so in production every signature is made in the
 * token.  Both write DER themselves into a growing buffer: a CRL of
 * 100,000 entries is a few megabytes of bytes, not 100,000 OpenSSL
 * objects.
 *
 * The OCSP request parser is a pure function over (const uint8_t *,
 * size_t) with the limits CA_MAX_OCSP_* below (fuzzed in
 * tests/fuzz/ca_ocsp_req).
 *
 * Ownership: a struct ca_crl owns its DER (ca_crl_free); a struct
 * ca_ocsp_answer owns its DER (ca_ocsp_answer_free).  struct ca_ocsp is
 * made by ca_ocsp_new and freed by ca_ocsp_free; the issuers, signers,
 * delegated certificates and the ledger it is given are borrowed and must
 * outlive it.  Functions return CA_OK or a negative enum ca_rc and fill
 * a struct ca_err, like the rest of signet/ca.h.
 */
#ifndef SIGNET_CA_REVOKE_H
#define SIGNET_CA_REVOKE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include <signet/ca.h>

struct ledger;

/* Limits on untrusted OCSP input and on configuration. */
#define CA_MAX_OCSP_REQ 4096	/* bytes of a DER OCSPRequest */
#define CA_MAX_OCSP_SINGLE 4	/* Requests (CertIDs) in one OCSPRequest */
#define CA_MAX_OCSP_EXTS 8	/* extensions in one Extensions list */
#define CA_MAX_OCSP_NONCE 32	/* RFC 8954 2.1: nonce octets, 1..32 */
#define CA_MAX_OCSP_CERTID 160	/* bytes of one CertID */
#define CA_MAX_OCSP_SERIAL 20	/* RFC 5280 4.1.2.2: serial octets */
#define CA_MAX_OCSP_ISSUERS 16	/* issuers one responder answers for */
#define CA_MAX_CRL_VALIDITY (400 * 86400)	/* nextUpdate - thisUpdate */

#define CA_OCSP_VALIDITY 86400	  /* default nextUpdate - thisUpdate */
#define CA_OCSP_CACHE_DEFAULT 65536 /* cached responses, default */
#define CA_CRL_DEBOUNCE 30	  /* seconds from a revocation to a CRL */
#define CA_CRL_MAX_DELAY 60	  /* policy: a revocation is in a CRL by then */

/*
 * CRL.  ca_crl_build takes the next "crl:<issuer name>" counter from the
 * ledger (durable, strictly increasing across restarts) as the
 * cRLNumber, lists the issuer's revoked certificates that have not
 * expired at now (0: time(NULL)), and signs a v2 CRL with thisUpdate
 * now and nextUpdate now + next_update_secs.  The ledger rows name their
 * issuer by struct ca_issuer's name.
 */
struct ca_crl {
	uint8_t *der;		/* owned: ca_crl_free */
	size_t len;
	uint64_t number;	/* cRLNumber */
	size_t nrevoked;	/* entries listed */
	time_t this_update, next_update;
	uint64_t base_number;	/* delta: its base's cRLNumber; else 0 */
	time_t since;		/* delta: revocations from then on */
};
int ca_crl_build(const struct ca_issuer *iss, struct ledger *l, time_t now,
    int64_t next_update_secs, struct ca_crl *out, struct ca_err *err);
/*
 * A delta CRL (RFC 5280 5.2.4, issue 19) on the complete CRL numbered
 * base_number: the issuer's certificates revoked at or after since (the
 * base's thisUpdate) and unexpired at now, with a critical
 * deltaCRLIndicator; its cRLNumber comes from the same counter as the
 * complete CRLs' (5.2.3: one sequence), so it is above its base's.  A
 * complete CRL of an issuer with a delta_url carries freshestCRL.
 */
int ca_crl_build_delta(const struct ca_issuer *iss, struct ledger *l,
    time_t now, int64_t next_update_secs, uint64_t base_number, time_t since,
    struct ca_crl *out, struct ca_err *err);
void ca_crl_free(struct ca_crl *crl);

/*
 * When to rebuild a CRL: CA_CRL_DEBOUNCE (at most CA_CRL_MAX_DELAY)
 * seconds after the first revocation not yet in a CRL, so a burst of
 * revocations costs one rebuild, and in any case once two thirds of the
 * current CRL's lifetime have passed, so relying parties never hold an
 * expired one.  Pure logic over times the caller passes in; the caller
 * serialises calls on one struct.
 *
 *	gen = ca_crl_sched_begin(&s);
 *	ca_crl_build(...);
 *	ca_crl_sched_built(&s, gen, crl.this_update, crl.next_update);
 *
 * A revocation that arrives while a CRL is being built is not in it; its
 * own debounce window starts then.
 */
struct ca_crl_sched {
	int64_t debounce;
	int built;			/* a CRL exists */
	time_t this_update, next_update;
	int dirty;			/* revocations not yet in a CRL */
	time_t dirty_at;		/* the first of them */
	uint64_t gen;			/* revocations seen */
	int building;
	uint64_t begin_gen;
	time_t first_after_begin;	/* 0: none during the build */
};
/* debounce_secs 0 means CA_CRL_DEBOUNCE; above CA_CRL_MAX_DELAY refused. */
int ca_crl_sched_init(struct ca_crl_sched *s, int64_t debounce_secs);
void ca_crl_sched_revoked(struct ca_crl_sched *s, time_t now);
uint64_t ca_crl_sched_begin(struct ca_crl_sched *s);
void ca_crl_sched_built(struct ca_crl_sched *s, uint64_t gen,
    time_t this_update, time_t next_update);
/* The time the next CRL is due (0: none exists, build now). */
time_t ca_crl_sched_due(const struct ca_crl_sched *s);
int ca_crl_sched_should_build(const struct ca_crl_sched *s, time_t now);

/*
 * OCSP request (RFC 6960 4.1.1), strictly decoded.  Each CertID is kept
 * as sent (der) to be echoed in the answer, and decoded: the hash
 * algorithm (SHA-1 or SHA-256), the issuer name and key hashes and the
 * serial's INTEGER contents.  The nonce (RFC 8954, 1..32 octets) is
 * extracted; other non-critical extensions are ignored and any unknown
 * critical one refuses the request.  A signature on the request is
 * accepted and not checked (signet answers anyone; it is not access
 * control).
 */
enum ca_ocsp_hash { CA_OCSP_SHA1 = 1, CA_OCSP_SHA256 = 2 };

struct ca_ocsp_certid {
	enum ca_ocsp_hash hash;
	uint8_t name_hash[32];
	uint8_t key_hash[32];
	size_t hash_len;	/* 20 or 32 */
	uint8_t serial[CA_MAX_OCSP_SERIAL];
	size_t serial_len;
	uint8_t der[CA_MAX_OCSP_CERTID];
	size_t der_len;
};

struct ca_ocsp_req {
	struct ca_ocsp_certid ids[CA_MAX_OCSP_SINGLE];
	size_t nids;
	int has_nonce;
	uint8_t nonce[CA_MAX_OCSP_NONCE];
	size_t nonce_len;
	int signed_req;		/* optionalSignature was present */
};
int ca_ocsp_req_parse(const uint8_t *in, size_t len, struct ca_ocsp_req *out,
    struct ca_err *err);

/* RFC 6960 4.2.1 OCSPResponseStatus and CertStatus. */
enum ca_ocsp_rstatus {
	CA_OCSP_SUCCESSFUL = 0,
	CA_OCSP_MALFORMED = 1,
	CA_OCSP_INTERNAL = 2,
	CA_OCSP_TRY_LATER = 3,
	CA_OCSP_SIG_REQUIRED = 5,
	CA_OCSP_UNAUTHORIZED = 6,
};
enum ca_ocsp_cstatus { CA_OCSP_GOOD = 0, CA_OCSP_REVOKED = 1,
	CA_OCSP_UNKNOWN = 2 };

/*
 * The responder.  For each issuer it answers for, answers are signed
 * either by the issuer's own signer or by a delegated responder
 * (RFC 6960 4.2.2.2): a certificate issued by that issuer with
 * id-kp-OCSPSigning, whose key is behind delegate (a token key in
 * production); the delegated certificate is sent with every answer.
 *
 * Status comes from the ledger: ISSUED is good, REVOKED is revoked with
 * its time and reason; a serial the ledger does not have, a row of
 * another issuer, and rows still RESERVED or ABANDONED are unknown, so
 * "good" is never said of a certificate this CA did not issue.  A
 * request whose first CertID names no issuer of this responder gets
 * unauthorized (RFC 6960 2.3); later CertIDs naming another issuer get
 * unknown.
 *
 * Cache: answers to nonce-less single requests are signed once and kept
 * (per issuer, CertID hash algorithm and serial) in a hash map with LRU
 * eviction bounded by cache_max entries; they are served without any
 * token operation until refresh seconds after thisUpdate.  Nothing is
 * pre-signed at start: with a million certificates most are never asked
 * about, so an answer is signed on first request and the background
 * ca_ocsp_refresh (run from a timer) re-signs those about to go stale,
 * keeping the request path free of signatures.  An entry older than
 * refresh that the timer has not reached is re-signed inline.
 * ca_ocsp_invalidate drops a serial's entries; the engine calls it after
 * every revocation.  unknown answers are not cached (they would let
 * random serials evict real ones).
 *
 * Nonces: a request with a nonce gets a freshly signed answer echoing it
 * (one token operation); ignore_nonce answers it from the cache without
 * the nonce instead, as many public CAs do (RFC 8954 allows a responder
 * to omit the nonce).
 */
struct ca_ocsp_config {
	struct ledger *ledger;	/* borrowed */
	int64_t validity;	/* nextUpdate - thisUpdate; 0: default */
	int64_t refresh;	/* re-sign cached answers this old; 0: 1/2 */
	size_t cache_max;	/* entries; 0: CA_OCSP_CACHE_DEFAULT */
	int ignore_nonce;
};

struct ca_ocsp;
int ca_ocsp_new(const struct ca_ocsp_config *cfg, struct ca_ocsp **out);
void ca_ocsp_free(struct ca_ocsp *o);
/*
 * Answer for iss.  delegate and delegate_cert are both NULL (the issuer
 * signs) or both set; delegate_cert must be issued by iss, carry
 * id-kp-OCSPSigning and hold delegate's public key.  Not thread-safe
 * with ca_ocsp_respond: add every issuer before answering.
 */
int ca_ocsp_add_issuer(struct ca_ocsp *o, const struct ca_issuer *iss,
    struct ca_signer *delegate, X509 *delegate_cert, struct ca_err *err);

struct ca_ocsp_answer {
	uint8_t *der;		/* OCSPResponse, owned: ca_ocsp_answer_free */
	size_t len;
	enum ca_ocsp_rstatus status;
	enum ca_ocsp_cstatus cert_status;	/* of the first CertID */
	int from_cache;		/* no token operation was made */
	int nonce_signed;	/* the request's nonce was echoed */
	int nonce_dropped;	/* ...was not: may_sign said no */
	int limited;		/* tryLater: may_sign said no, no cache */
};

/*
 * Answers one DER OCSPRequest at now (0: time(NULL)).  Every request
 * gets an OCSPResponse: malformed ones get malformedRequest, ledger or
 * token failures internalError (err says why); CA_OK is returned
 * whenever ans->der is set.  Safe to call from many threads at once.
 *
 * may_sign (NULL: always yes) is asked once, before an answer that is
 * not in the cache is signed (a nonce to echo, several CertIDs, a
 * serial not cached).  If it says no, a single-CertID request is
 * answered from the cache without its nonce (nonce_dropped) when the
 * cache holds it, and anything else gets tryLater (limited).
 */
int ca_ocsp_respond(struct ca_ocsp *o, const uint8_t *req, size_t len,
    time_t now, int (*may_sign)(void *), void *arg,
    struct ca_ocsp_answer *ans, struct ca_err *err);
void ca_ocsp_answer_free(struct ca_ocsp_answer *a);

/* Drops every cached answer about serial (INTEGER contents). */
void ca_ocsp_invalidate(struct ca_ocsp *o, const uint8_t *serial,
    size_t len);
/*
 * Re-signs up to max cached answers whose age at now has reached
 * refresh; returns how many were re-signed.  For a timer thread.
 */
size_t ca_ocsp_refresh(struct ca_ocsp *o, time_t now, size_t max);

struct ca_ocsp_stats {
	uint64_t hits, misses, signatures, evictions, invalidations;
	size_t entries;
};
void ca_ocsp_stats(struct ca_ocsp *o, struct ca_ocsp_stats *st);

#endif /* SIGNET_CA_REVOKE_H */
