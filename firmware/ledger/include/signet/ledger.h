/*
 * ledger/: the engine's memory of every certificate it issues.
 *
 * Issuance is intent, then signature, then commit (DESIGN.md rule 4):
 *
 *	ledger_reserve()	serial, TBS hash and metadata are durable
 *				before the token signs (status RESERVED);
 *	(the token signs)
 *	ledger_commit()		the certificate and its audit record
 *				are durable, in one transaction, before
 *				the certificate is returned (ISSUED).
 *
 * A row goes RESERVED -> ISSUED -> REVOKED, or RESERVED -> ABANDONED.
 * After a crash, ledger_reconcile() reports rows left RESERVED so the
 * engine can abandon them (it can prove they never left) or revoke them.
 *
 * Backends are ops tables chosen by name ("sqlite"; "pgsql" later), so
 * the engine never sees SQL.  Writes from many threads share one
 * transaction and one fsync (group commit); each caller still gets its
 * own result, and one caller's failure (a duplicate serial) fails only
 * that caller.
 *
 * Tenants are isolated (DESIGN.md rule 7): every tenant-scoped call treats
 * another tenant's serial exactly like a serial that does not exist.
 *
 * Ownership: struct ledger belongs to the caller of ledger_open and is
 * freed by ledger_close.  Strings and pointers passed in are borrowed for
 * the call.  A struct ledger_cert filled by ledger_get owns its strings
 * and DER; release them with ledger_cert_clear.  Arrays from ledger_list
 * are freed with ledger_certs_free.
 *
 * Functions return LEDGER_OK (0) or a negative enum ledger_rc;
 * ledger_strerror() turns it into a sentence.  Nothing here exits or
 * prints.  All calls on one struct ledger may be made from many threads
 * at once, except ledger_open and ledger_close.
 */
#ifndef SIGNET_LEDGER_H
#define SIGNET_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include <signet/audit.h>

#define LEDGER_SERIAL_MAX 20	/* RFC 5280 4.1.2.2: at most 20 octets */
#define LEDGER_HASH_LEN 32	/* SHA-256 of the DER TBSCertificate */
#define LEDGER_MAX_TEXT 4096	/* bytes of any text field */
#define LEDGER_MAX_DER 65536	/* bytes of a certificate */
#define LEDGER_LIST_DEFAULT 100	/* rows per ledger_list page, default */
#define LEDGER_LIST_MAX 1000	/* rows per ledger_list page at most */
#define LEDGER_AUTH_MAX 128	/* bytes of authorized_by */

/*
 * authorized_by names the credential that authorised an issuance, so an
 * operator can find everything one credential minted (issue 13):
 *	"token:<token id>"		a one-time enrollment token
 *	"renewal:<serial hex>"		a certificate this CA issued,
 *					renewing itself
 *	"self-service:<serial hex>"	a certificate this CA issued,
 *					enrolling new names under a
 *					profile with self_service = true
 *	"cert:sha256:<64 hex>"		a client-CA certificate (service,
 *					agent or operator), by fingerprint
 *	"operator:signetd"		the parent's control channel
 * Rows written before schema 3 (SQLite) / 4 (PostgreSQL) hold "".
 */

enum ledger_rc {
	LEDGER_OK = 0,
	LEDGER_ERR_ARG = -1,	   /* invalid argument */
	LEDGER_ERR_NOMEM = -2,
	LEDGER_ERR_NOTFOUND = -3,  /* no such serial (for this tenant) */
	LEDGER_ERR_DUPLICATE = -4, /* the serial is already in the ledger */
	LEDGER_ERR_STATE = -5,	   /* the row's status forbids this */
	LEDGER_ERR_MISMATCH = -6,  /* certificate's TBS is not the reserved */
	LEDGER_ERR_IO = -7,	   /* storage cannot be read or written */
	LEDGER_ERR_FULL = -8,	   /* storage is full */
	LEDGER_ERR_BUSY = -9,	   /* database locked for too long */
	LEDGER_ERR_SCHEMA = -10,   /* unknown or newer schema */
	LEDGER_ERR_BACKEND = -11,  /* no backend of that name */
	LEDGER_ERR_AUDIT = -12,	   /* audit record could not be made */
	LEDGER_ERR_DB = -13,	   /* other database failure */
	LEDGER_ERR_DOWN = -14,	   /* database unreachable: retry later */
};

/* A sentence for a ledger_rc; never NULL. */
const char *ledger_strerror(int rc);

enum ledger_status {
	LEDGER_RESERVED = 0,
	LEDGER_ISSUED = 1,
	LEDGER_REVOKED = 2,
	LEDGER_ABANDONED = 3,
	LEDGER_STATUS_COUNT
};

/* "reserved", "issued", "revoked", "abandoned". */
const char *ledger_status_name(enum ledger_status status);

/* A certificate serial number: the INTEGER's content octets. */
struct ledger_serial {
	size_t	len;			/* 1 .. LEDGER_SERIAL_MAX */
	uint8_t	b[LEDGER_SERIAL_MAX];
};

/* Lower-case hex of the serial into buf; 0, or -1 if size is too small. */
int	ledger_serial_hex(const struct ledger_serial *s, char *buf,
	    size_t size);
/* Parse hex (even length, 2..40 digits); 0, or -1 if malformed. */
int	ledger_serial_from_hex(const char *hex, struct ledger_serial *s);

/* What ledger_reserve records before the token signs. */
struct ledger_intent {
	struct ledger_serial	serial;
	const char		*tenant;
	const char		*issuer;    /* issuer id: whose CRL */
	const char		*profile;
	const char		*subject;   /* RFC 4514 string */
	const char		*sans;	    /* comma-separated names */
	const char		*requester; /* client identity */
	const char		*authorized_by; /* credential: see below */
	int64_t			 not_before;
	int64_t			 not_after;
	uint8_t			 tbs_hash[LEDGER_HASH_LEN];
	int			 store_der; /* 0: profile keeps no copies */
	int64_t			 created;   /* 0: now */
};

/* A ledger row.  Owns its strings and DER (ledger_cert_clear). */
struct ledger_cert {
	struct ledger_serial	 serial;
	char			*tenant;
	char			*issuer;
	char			*profile;
	char			*subject;
	char			*sans;
	char			*requester;
	char			*authorized_by; /* "" if not recorded */
	int64_t			 not_before;
	int64_t			 not_after;
	int64_t			 created;
	uint8_t			 tbs_hash[LEDGER_HASH_LEN];
	enum ledger_status	 status;
	int64_t			 revoked_at; /* 0 unless revoked */
	int			 reason;     /* CRLReason or -1 */
	int			 der_stored;
	uint8_t			*der;	     /* NULL unless stored */
	size_t			 der_len;
};

void	ledger_cert_clear(struct ledger_cert *c);
void	ledger_certs_free(struct ledger_cert *certs, size_t n);

struct ledger_config {
	struct audit_config	audit;	/* checkpoint key, interval */
	int			no_group_commit; /* one txn per op (bench) */
	int			busy_timeout_ms; /* 0: 10 seconds */
	int			cache_kib;	 /* SQLite page cache per
						    connection; 0: default */
};

/* SQLite's page cache per connection unless configured (storage.cache). */
#define LEDGER_SQLITE_CACHE_KIB	2048

/*
 * Reserve the memory of SQLite's page caches in this process, once, before
 * SQLite is first used: a block for the SQLite ledger's connections opened
 * with cache_kib (the writer and the point reader with cache_kib each, the
 * scan lane with a quarter of it, at least 64 KiB; plus a little
 * headroom), touched now, handed to SQLite as its page buffer
 * (SQLITE_CONFIG_PAGECACHE).  The caches then never allocate from
 * the heap while they fit the block: a read connection's cache, dropped
 * and refilled at every read transaction after a write (WAL), stops
 * churning malloc, and the process's resident size holds its caches from
 * the start.  Pages beyond the block come from the heap as before.
 * LEDGER_OK; LEDGER_ERR_NOMEM if the block cannot be mapped;
 * LEDGER_ERR_STATE if SQLite was already initialized in this process
 * (it then keeps allocating pages from the heap).  *bytes: the block's size.
 */
int	ledger_sqlite_reserve_cache(int cache_kib, size_t *bytes);

struct ledger;

/*
 * Open the ledger "target" with the named backend ("sqlite": target is a
 * file path, created and migrated if needed).  cfg may be NULL for
 * defaults (no audit checkpoints).
 */
int	ledger_open(const char *backend, const char *target,
	    struct ledger **out);
int	ledger_open_config(const char *backend, const char *target,
	    const struct ledger_config *cfg, struct ledger **out);
void	ledger_close(struct ledger *l);

/*
 * Record the intent to issue.  Durable on LEDGER_OK; a serial already in
 * the ledger (any tenant, any status) is LEDGER_ERR_DUPLICATE.
 */
int	ledger_reserve(struct ledger *l, const struct ledger_intent *in);

/*
 * The token has signed: der is the certificate, whose TBSCertificate must
 * hash to the reserved tbs_hash (else LEDGER_ERR_MISMATCH).  The row
 * becomes ISSUED and audit (required) is appended in the same
 * transaction; both are durable on LEDGER_OK, neither exists otherwise.
 * The DER is kept only if the intent said store_der.
 */
int	ledger_commit(struct ledger *l, const struct ledger_serial *serial,
	    const uint8_t *der, size_t der_len,
	    const struct audit_record *audit);

/* RESERVED -> ABANDONED: the certificate never left.  audit may be NULL. */
int	ledger_abandon(struct ledger *l, const struct ledger_serial *serial,
	    const struct audit_record *audit);

/*
 * ISSUED -> REVOKED for tenant's serial with an RFC 5280 CRLReason
 * (0-6, 8-10) at time (0: now).  Another tenant's serial is
 * LEDGER_ERR_NOTFOUND; an already revoked one LEDGER_ERR_STATE.  audit is
 * required and commits with the revocation.
 */
int	ledger_revoke(struct ledger *l, const char *tenant,
	    const struct ledger_serial *serial, int reason, int64_t time,
	    const struct audit_record *audit);

/*
 * An audit record with no ledger change (refusals, authentication
 * failures, configuration and token events), durable on LEDGER_OK.
 */
int	ledger_audit(struct ledger *l, const struct audit_record *audit,
	    uint64_t *seq);
/* Sign a checkpoint now if audit records were added since the last. */
int	ledger_audit_checkpoint(struct ledger *l);
/*
 * Read the audit chain (issue 19, GET /v1/audit) on a reader connection:
 * see audit_query in audit.h.  q->node NULL is this ledger's own chain
 * (SQLite's only one; in PostgreSQL this node's).
 */
int	ledger_audit_query(struct ledger *l, const struct audit_query *q,
	    audit_entry_cb cb, void *arg, struct audit_page *page);

/*
 * Next value of a named counter (e.g. "crl:<issuer>"), starting at 1,
 * durable and strictly increasing across restarts.
 */
int	ledger_next_counter(struct ledger *l, const char *name,
	    uint64_t *out);

/* The row of tenant's serial; another tenant's is LEDGER_ERR_NOTFOUND. */
int	ledger_get(struct ledger *l, const char *tenant,
	    const struct ledger_serial *serial, struct ledger_cert *out);
/* Unscoped lookup, for OCSP and CRL code that answers for every tenant. */
int	ledger_get_any(struct ledger *l, const struct ledger_serial *serial,
	    struct ledger_cert *out);

struct ledger_filter {
	const char	*tenant;	  /* required */
	int		 status;	  /* enum ledger_status, -1: any */
	int64_t		 expiring_within; /* >0: not_after in (now, now+N] */
	int64_t		 now;		  /* 0: current time */
	const char	*match;		  /* in subject or SANs */
	const char	*authorized_by;	  /* exactly this credential */
	size_t		 limit;		  /* 0: the default */
	size_t		 offset;
};

/* Rows of one tenant in issuance order; *certs is NULL when *n is 0. */
int	ledger_list(struct ledger *l, const struct ledger_filter *f,
	    struct ledger_cert **certs, size_t *n);

struct ledger_counts {
	uint64_t	n[LEDGER_STATUS_COUNT];	/* indexed by status */
};

/* Rows per status for tenant, or for all tenants when tenant is NULL. */
int	ledger_count(struct ledger *l, const char *tenant,
	    struct ledger_counts *out);

/* One CRL entry. */
struct ledger_revoked {
	struct ledger_serial	serial;
	int64_t			revoked_at;
	int			reason;
	int64_t			not_after;
};

/* Return non-zero to stop the iteration early. */
typedef int (*ledger_revoked_cb)(const struct ledger_revoked *r, void *arg);

/*
 * Every revoked certificate of issuer that has not expired at now (0:
 * current time), in revocation order, for building a CRL (RFC 5280 3.3:
 * expired entries may drop off).
 */
int	ledger_list_revoked(struct ledger *l, const char *issuer,
	    int64_t now, ledger_revoked_cb cb, void *arg);

/*
 * Storage hygiene (issue 19).  One batch of a tidy run: remove at most
 * limit (1..LEDGER_TIDY_MAX) certificates of tenant whose not_after is at
 * or before cutoff (ISSUED, REVOKED and ABANDONED rows; never RESERVED,
 * which start-up reconciliation owns), and at most limit of tenant's
 * enrollment tokens that expired at or before cutoff or were used up and
 * created at or before it.  One write op in the group commit, so a batch
 * shares a transaction with issuance and holds the writer only for its
 * own few deletions; call again until both counts come back below limit.
 * The audit chain is not touched (the caller audits the run).  *certs and
 * *tokens (both required) get the rows removed.
 */
#define LEDGER_TIDY_MAX	10000
int	ledger_tidy(struct ledger *l, const char *tenant, int64_t cutoff,
	    size_t limit, uint64_t *certs, uint64_t *tokens);

enum ledger_decision {
	LEDGER_KEEP = 0,	/* leave RESERVED, decide later */
	LEDGER_ABANDON,		/* provably never left: ABANDONED */
	LEDGER_REVOKE,		/* may have left: REVOKED, no DER */
};

/*
 * Called once per row left RESERVED.  For LEDGER_REVOKE, set *reason to
 * a CRLReason (it starts as 0, unspecified).
 */
typedef enum ledger_decision (*ledger_reconcile_cb)(
    const struct ledger_cert *row, int *reason, void *arg);

struct ledger_reconcile_report {
	size_t	found;		/* rows found RESERVED */
	size_t	abandoned;
	size_t	revoked;
	size_t	kept;
};

/*
 * Start-up reconciliation: report every RESERVED row to cb (NULL keeps
 * them all) and apply its decision, each with an audit record whose
 * actor is actor (NULL: "signetd").  *rep says what was done, also when
 * an error stops the run part-way.
 */
int	ledger_reconcile(struct ledger *l, ledger_reconcile_cb cb, void *arg,
	    const char *actor, struct ledger_reconcile_report *rep);

/* Operations and transactions written so far (group-commit efficiency). */
/*
 * Group-commit durations (issue 19): how long each batch took from BEGIN
 * to COMMIT (fsync included), in LEDGER_COMMIT_BUCKETS buckets with upper
 * bounds commit_le_us (the last UINT64_MAX, +Inf); counts not cumulative.
 */
#define LEDGER_COMMIT_BUCKETS	12

struct ledger_stats {
	uint64_t	ops;
	uint64_t	transactions;
	uint64_t	commit_le_us[LEDGER_COMMIT_BUCKETS];
	uint64_t	commit_count[LEDGER_COMMIT_BUCKETS];
	uint64_t	commit_sum_us;
	uint64_t	sqlite_mem;	/* bytes SQLite holds in this process
					   (sqlite3_status64 MEMORY_USED); 0
					   for other backends */
};

void	ledger_stats(struct ledger *l, struct ledger_stats *out);


/*
 * Enrollment tokens (issue 5): one-time bootstrap secrets an operator
 * creates for a tenant and profile.  The ledger stores only a verifier
 * of the secret the engine computes (docs/decisions.md), never the secret.  A use is consumed in the same
 * transaction as the reservation of the certificate it pays for
 * (ledger_reserve_token), so two requests racing with the last use
 * cannot both reserve.  A use is spent even if signing fails after the
 * reservation: the engine prefers a burnt token to a doubly used one.
 */
#define LEDGER_TOKEN_ID_MAX	32	/* public handle, for logs */
#define LEDGER_TOKEN_NAME_MAX	255	/* tenant and profile names */

struct ledger_token {
	char		id[LEDGER_TOKEN_ID_MAX + 1];
	uint8_t		hash[LEDGER_HASH_LEN];	/* verifier of the secret */
	char		tenant[LEDGER_TOKEN_NAME_MAX + 1];
	char		profile[LEDGER_TOKEN_NAME_MAX + 1];
	char		names[LEDGER_MAX_TEXT + 1]; /* comma-separated, or "" */
	int64_t		created;
	int64_t		expires;
	uint32_t	uses_left;
};

/*
 * Store a new token (uses_left >= 1, expires > created); audit is
 * required and commits with it.  An id or hash already stored is
 * LEDGER_ERR_DUPLICATE.
 */
int	ledger_token_create(struct ledger *l, const struct ledger_token *t,
	    const struct audit_record *audit);
/* The token whose verifier is hash, or LEDGER_ERR_NOTFOUND. */
int	ledger_token_get(struct ledger *l, const uint8_t hash[LEDGER_HASH_LEN],
	    struct ledger_token *out);
/*
 * The token with that public id (the DTLS PSK identity), hash included,
 * or LEDGER_ERR_NOTFOUND.
 */
int	ledger_token_get_id(struct ledger *l, const char *id,
	    struct ledger_token *out);
/*
 * ledger_reserve, after consuming one use of the token with that hash
 * in the same transaction.  The token must belong to in->tenant and
 * in->profile and be unexpired at now (0: current time) with a use
 * left, else LEDGER_ERR_STATE (LEDGER_ERR_NOTFOUND if there is none);
 * then neither the use nor the reservation happens.
 */
int	ledger_reserve_token(struct ledger *l, const struct ledger_intent *in,
	    const uint8_t hash[LEDGER_HASH_LEN], int64_t now);

#endif
