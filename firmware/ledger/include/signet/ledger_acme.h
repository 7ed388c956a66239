/*
 * ACME state in the ledger (docs/acme.md "Ledger tables"): EAB keys,
 * accounts, orders, authorizations with their challenge.  The engine
 * names a statement by number and passes its values; the SQL of each
 * backend lives in that backend (the engine never sees SQL, STYLE.md 8).
 *
 * Writes: a list of steps run in one transaction (one SAVEPOINT of the
 * group commit), with an optional audit record, so an order and its
 * authorizations, or an account and the EAB use it consumed, commit or
 * vanish together.  A step with `one` set must change exactly one row,
 * else the whole write fails with LEDGER_ERR_STATE (a status that moved
 * under us, an EAB key already used).
 *
 * Reads: one statement, each result row handed to a callback; the
 * values point into the backend's row and are valid only during it.
 *
 * The columns and parameters of each statement are listed below, in
 * order (i: integer, t: text, b: blob).
 */
#ifndef SIGNET_LEDGER_ACME_H
#define SIGNET_LEDGER_ACME_H

#include <stddef.h>
#include <stdint.h>

#include <signet/audit.h>

struct ledger;

enum ledger_acme_stmt {
	/* writes */
	LA_EAB_INSERT,	/* t kid, t tenant, t profile, t label, i created,
			   i expires (0: never) */
	LA_EAB_USE,	/* t account, t kid, i now: unused, unexpired */
	LA_ACCT_INSERT,	/* t id, t label, t tenant, t profile, t thumbprint,
			   b key (SubjectPublicKeyInfo DER), t contact,
			   t eab_kid, i created */
	LA_ORDER_INSERT, /* t id, t account, t identifiers, i expires,
			   i created, t replaces (RFC 9773 CertID, "" none):
			   no row if another order not invalid replaces
			   it already (RFC 9773 5) */
	LA_AUTHZ_INSERT, /* t id, t order, t account, t type, t value,
			   i expires, t chall_id, t token */
	LA_CHALL_START,	/* t chall_id, t account, t chall_type: pending ->
			   processing */
	LA_CHALL_DONE,	/* t chall_id, t status (valid|invalid), i when,
			   t error: processing -> status (also the authz) */
	LA_ORDER_STATUS, /* t order, t to, t from, t error */
	LA_ORDER_CERT,	/* t order, b serial, b cert DER: processing ->
			   valid */
	LA_VA_TAKE,	/* t chall_id, i now, i before: hand out once per
			   retry interval */
	LA_ACCT_STATUS,	/* t id, t to, t from (RFC 8555 7.3.6) */
	LA_ACCT_CONTACT, /* t id, t contact (JSON array): a valid account */
	LA_ACCT_KEY,	/* t id, t thumbprint, b key, t old thumbprint:
			   a valid account (7.3.5) */
	/* issue 20, cluster-safe ACME state (docs/acme.md "Storage") */
	LA_AUTHZ_REUSE,	/* t id, t order, t chall_id, t old id, i expires:
			   a copy of a valid authorization for a new order */
	LA_NONCE_USE,	/* b replay id, i expires: no row if redeemed
			   already (cluster backends only) */
	LA_NONCE_SWEEP,	/* i now: forget some expired replay ids */
	LA_NONCE_KEY_INIT, /* b key (ACME_NONCE_KEY octets): the cluster's
			   nonce key, unless it has one */
	LA_WRITE_MAX,
	/* reads */
	LA_EAB_GET = LA_WRITE_MAX, /* t kid -> t tenant, t profile, t label,
			   i expires, t used_by */
	LA_ACCT_GET,	/* t id, t label -> t id, t tenant, t profile,
			   t status, b key, t contact */
	LA_ACCT_BY_KEY,	/* t label, t thumbprint -> as LA_ACCT_GET */
	LA_ORDER_GET,	/* t id, t account -> t status, t identifiers,
			   i expires, t error, b cert, t replaces */
	LA_AUTHZ_OF_ORDER, /* t order -> t id, t type, t value, t status,
			   i expires, t chall_id, t token, t chall_status,
			   i validated, t error, t chall_type */
	LA_AUTHZ_GET,	/* t id, t account -> as LA_AUTHZ_OF_ORDER, t order */
	LA_AUTHZ_BY_CHALL, /* t chall_id -> as LA_AUTHZ_GET, t account,
			   t the account's key thumbprint */
	LA_VA_PENDING,	/* i before -> t chall_id (processing, not handed
			   out since before), at most one */
	LA_ORDERS_OF_ACCT, /* t account, i now, i limit -> t id: not
			   invalid, not expired unless valid, newest first */
	LA_AUTHZ_VALID,	/* t account, t type, t value, i now -> t id: a
			   valid, unexpired authorization, at most one */
	LA_AUTHZ_REUSABLE, /* t account, t type, t value, i validated since
			   -> t id, i validated: the newest valid one */
	LA_NONCE_KEY,	/* -> b key (cluster backends only) */
	LA_STMT_MAX
};

enum ledger_val_type { LV_NULL = 0, LV_INT, LV_TEXT, LV_BLOB };

struct ledger_val {
	enum ledger_val_type	 type;
	int64_t			 i;
	const char		*s;	/* LV_TEXT: NUL-terminated */
	const uint8_t		*b;	/* LV_BLOB */
	size_t			 len;
};

#define LEDGER_ACME_MAX_VALS	16
#define LEDGER_ACME_MAX_STEPS	(2 + 100)	/* an order of 100 names */

struct ledger_acme_step {
	enum ledger_acme_stmt	 stmt;
	int			 one;	/* must change exactly one row */
	size_t			 n;
	struct ledger_val	 v[LEDGER_ACME_MAX_VALS];
};

/* One row of a read; return non-zero to stop. */
typedef int (*ledger_acme_cb)(const struct ledger_val *cols, size_t ncols,
    void *arg);

/* Run steps[0..n) in one transaction with audit (may be NULL). */
int	ledger_acme_write(struct ledger *l, const struct ledger_acme_step *steps,
	    size_t n, const struct audit_record *audit);
/* Read stmt with args; LEDGER_OK (also for no row) or an error. */
int	ledger_acme_read(struct ledger *l, enum ledger_acme_stmt stmt,
	    const struct ledger_val *args, size_t nargs, ledger_acme_cb cb,
	    void *arg);

/*
 * Whether this ledger is shared by several nodes (PostgreSQL): then ACME
 * nonces are redeemed in the ledger (LA_NONCE_*), else in the engine's
 * memory (docs/decisions.md "ACME nonces in a cluster").
 */
int	ledger_acme_shared(struct ledger *l);

/* Value constructors. */
struct ledger_val	ledger_vi(int64_t i);
struct ledger_val	ledger_vt(const char *s);
struct ledger_val	ledger_vb(const uint8_t *b, size_t len);

/*
 * ACME rate limits in the ledger (issue 20, docs/decisions.md "ACME
 * rate limits in the ledger"), so a restart keeps them and every node of
 * a shared ledger spends one budget.  "At most n per window seconds" is
 * a token bucket of n refilled evenly over the window, kept as one
 * number per key: the time at which the bucket is full again (GCRA's
 * theoretical arrival time, in microseconds of the wall clock).  A take
 * is one conditional upsert; a key whose bucket is full has no row, and
 * takes sweep some of those.
 */
#define LEDGER_ACME_LIMIT_KEY	128	/* bytes of a key, at most */
#define LEDGER_ACME_LIMIT_SWEEP	64	/* full buckets removed per take */

enum ledger_acme_limit_mode {
	LAL_TAKE,	/* take one token, or refuse */
	LAL_PEEK,	/* whether one is there; nothing changes */
	LAL_GIVE	/* give one back (a take that did not happen) */
};

struct ledger_acme_limit {
	const char			*key;	/* "o:<account>"... */
	int64_t				 n;	/* per window, >= 1 */
	int64_t				 window; /* seconds, >= 1 */
	int64_t				 now_us; /* wall clock; 0: now */
	enum ledger_acme_limit_mode	 mode;
	int64_t				 retry;	/* out, refused: seconds */
	/* Set by ledger_acme_limit for the backend. */
	int64_t				 cost_us; /* window / n */
	int64_t				 span_us; /* window */
};

/*
 * LEDGER_OK: taken (or there, or given back); LEDGER_ERR_STATE: the
 * bucket is empty, lim->retry seconds until a token is there; another
 * error: the ledger could not say.
 */
int	ledger_acme_limit(struct ledger *l, struct ledger_acme_limit *lim);

#endif
