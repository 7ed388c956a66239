/*
 * audit/: the appliance's append-only, hash-chained audit log.
 *
 * Every issuance, refusal, revocation, configuration or profile change,
 * token up/down and authentication failure becomes one record.  Records
 * are chained by SHA-256 and, every N records or T seconds, a checkpoint
 * over the chain head is signed with a caller-supplied key (in production
 * a key inside the token, reached through hsm/).  The verifier recomputes
 * the chain and checks every checkpoint, so an edited byte, a deleted
 * record or a truncated tail is located to the record.
 *
 * Canonical record encoding (version 1).  The hash of record n is
 *
 *	hash[n] = SHA-256( "SIGNET-AUDIT-1"      14 bytes, no length
 *	                   u64 seq               big-endian
 *	                   i64 time              big-endian, unix seconds
 *	                   str actor             each str: u32 big-endian
 *	                   str role                length, then the bytes
 *	                   str tenant              (UTF-8, no terminator);
 *	                   str action              an absent field is the
 *	                   str object              empty string
 *	                   str result
 *	                   str detail
 *	                   prev_hash             32 bytes )
 *
 * where prev_hash is hash[n-1], or 32 zero bytes for seq 1.  Sequence
 * numbers start at 1 and have no gaps.  A checkpoint signs
 *
 *	"SIGNET-AUDIT-CKPT-1" (19 bytes) || u64 seq || i64 time || hash[seq]
 *
 * with EVP_DigestSign (SHA-256 for EC and RSA keys, none for Ed25519).
 *
 * Storage is SQLite: tables audit_log and audit_checkpoint, either in a
 * file of their own (audit_open) or inside the ledger's database, where
 * a ledger change and its audit record commit in one transaction (see
 * ledger.h and audit_sqlite.h).
 *
 * Fail closed: audit_append returns only after the record is durable
 * (synchronous=FULL); any error means the record was not written and the
 * caller must not report the action as done.
 *
 * Functions return AUDIT_OK (0) or a negative enum audit_rc;
 * audit_strerror() turns it into a sentence.  Nothing here exits or prints.
 */
#ifndef SIGNET_AUDIT_H
#define SIGNET_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define AUDIT_HASH_LEN 32
#define AUDIT_MAX_FIELD 4096	/* bytes of any one text field */
#define AUDIT_MAX_SIG 1024	/* bytes of a checkpoint signature */

enum audit_rc {
	AUDIT_OK = 0,
	AUDIT_ERR_ARG = -1,	/* invalid argument or field too long */
	AUDIT_ERR_NOMEM = -2,
	AUDIT_ERR_IO = -3,	/* storage cannot be opened or written */
	AUDIT_ERR_FULL = -4,	/* storage is full */
	AUDIT_ERR_BUSY = -5,	/* database locked for too long */
	AUDIT_ERR_CRYPTO = -6,	/* hashing or signing failed */
	AUDIT_ERR_SCHEMA = -7,	/* unknown or newer schema */
	AUDIT_ERR_DB = -8,	/* other database failure */
};

/* A sentence for an audit_rc; never NULL. */
const char *audit_strerror(int rc);

/* What happened.  Stored and hashed as its name (audit_action_name). */
enum audit_action {
	AUDIT_ISSUE = 0,
	AUDIT_REFUSE,
	AUDIT_REVOKE,
	AUDIT_CONFIG,
	AUDIT_PROFILE,
	AUDIT_TENANT,
	AUDIT_TOKEN_UP,
	AUDIT_TOKEN_DOWN,
	AUDIT_AUTH_FAIL,
	AUDIT_RECONCILE,
	AUDIT_ABANDON,
	AUDIT_TIDY,		/* expired rows removed (issue 19) */
	AUDIT_ACTION_COUNT
};

/* "issue", "refuse", "revoke", ...; "unknown" when out of range. */
const char *audit_action_name(enum audit_action action);

/*
 * One record as the caller describes it.  Strings are borrowed for the
 * duration of the call; NULL means empty.  time 0 means "now".
 */
struct audit_record {
	int64_t			 time;
	const char		*actor;	 /* client identity (subject) */
	const char		*role;	 /* "service", "device", ... */
	const char		*tenant;
	enum audit_action	 action;
	const char		*object; /* e.g. the serial in hex */
	const char		*result; /* "ok", "denied", "error: ..." */
	const char		*detail; /* free text: names, validity, why */
};

/*
 * When checkpoints are written.  key is borrowed and must outlive the log;
 * NULL disables checkpoints.  A checkpoint is written in the same
 * transaction as the append that makes it due: every every_n records
 * (0: never by count) or when every_secs have passed since the last one
 * (0: never by time).
 */
struct audit_ckpt;

struct audit_config {
	EVP_PKEY	*key;
	uint64_t	 every_n;
	int64_t		 every_secs;
	/*
	 * Called once for every checkpoint after the transaction that wrote
	 * it committed (never for one rolled back), in seq order, from the
	 * committing thread, with its chain's node ("-" for SQLite's one
	 * chain); NULL: nobody is told.  The engine exports them
	 * (issue 19): a copy outside the database, so that deleting its
	 * tail together with its checkpoints is still detected.
	 */
	void		(*exported)(void *arg, const char *node,
			    const struct audit_ckpt *ck);
	void		*exported_arg;
};

/* One signed checkpoint, as stored, exported and verified. */
struct audit_ckpt {
	uint64_t	 seq;
	int64_t		 time;
	uint8_t		 head[AUDIT_HASH_LEN];
	uint8_t		 sig[AUDIT_MAX_SIG];
	size_t		 siglen;
};

/*
 * The export line of a checkpoint (no newline), one line per checkpoint:
 *
 *	signet-audit-checkpoint v=1 node=<node> seq=<n> time=<unix>
 *	    head=<64 hex> sig=<hex>
 *
 * (on one line), node "-" for a SQLite ledger's single chain.  The line
 * is what syslog gets and what the export file holds; audit_ckpt_parse
 * reads it back.  AUDIT_CKPT_LINE_MAX bounds it, newline included.
 */
#define AUDIT_CKPT_LINE_MAX (160 + 64 + 2 * AUDIT_HASH_LEN + 2 * AUDIT_MAX_SIG)
int	audit_ckpt_format(const char *node, const struct audit_ckpt *ck,
	    char *buf, size_t size);
/* AUDIT_OK, or AUDIT_ERR_ARG for a line that is not one of ours. */
int	audit_ckpt_parse(const char *line, char *node, size_t nodesize,
	    struct audit_ckpt *ck);

/*
 * The checkpoints of an export file that belong to node (NULL or "-":
 * a SQLite chain's, node "-").  On a malformed line it fails with
 * AUDIT_ERR_ARG and says which line in err.  Free with audit_ckpts_free.
 */
struct audit_ckpts {
	struct audit_ckpt	*v;
	size_t			 n;
};
int	audit_ckpts_load(const char *path, const char *node,
	    struct audit_ckpts *out, char *err, size_t errlen);
void	audit_ckpts_free(struct audit_ckpts *c);

/*
 * The hash of one record under the encoding above.  Strings may be NULL
 * (hashed as empty).
 */
int	audit_hash(uint64_t seq, const struct audit_record *rec,
	    const uint8_t prev[AUDIT_HASH_LEN], uint8_t out[AUDIT_HASH_LEN]);

/* Sign and verify the checkpoint message above. */
int	audit_checkpoint_sign(EVP_PKEY *key, uint64_t seq, int64_t time,
	    const uint8_t head[AUDIT_HASH_LEN], uint8_t *sig, size_t *siglen);
int	audit_checkpoint_verify(EVP_PKEY *pub, uint64_t seq, int64_t time,
	    const uint8_t head[AUDIT_HASH_LEN], const uint8_t *sig,
	    size_t siglen);

/*
 * Reading the log (issue 19: GET /v1/audit).  One chain (node NULL:
 * SQLite's single chain "-", or in PostgreSQL the caller's node), the
 * records with seq > after in seq order that match every filter set:
 * since <= time < until (0: unbounded), tenant, action (its stored
 * name), actor (the credential the detail names as its last
 * "cred=<actor>", see the engine's eng_audit_who.c).  NULL or "" matches
 * any.  Only seq (and node) are keys; the other filters are checked on
 * the rows of a window of AUDIT_QUERY_WINDOW sequence numbers past
 * after, so one call costs at most that many rows however sparse the
 * match.  cb gets each match in turn (strings valid during the call) and
 * returns non-zero to stop before taking it; at most limit
 * (1..AUDIT_QUERY_MAX) are handed out.  page->next is the after of the
 * following call: the last record taken when the call stopped early or
 * reached limit, else the window's end or the chain's last record,
 * whichever comes first (never less than after); page->more says
 * whether the chain held records past page->next.
 */
#define AUDIT_QUERY_WINDOW	100000
#define AUDIT_QUERY_MAX		1000

struct audit_query {
	int64_t		 since;
	int64_t		 until;
	const char	*tenant;
	const char	*action;
	const char	*actor;
	const char	*node;
	uint64_t	 after;
	size_t		 limit;
};

struct audit_entry {
	uint64_t	 seq;
	int64_t		 time;
	const char	*node;
	const char	*actor, *role, *tenant, *action, *object, *result,
			*detail;
	uint8_t		 hash[AUDIT_HASH_LEN];
};

typedef int (*audit_entry_cb)(const struct audit_entry *row, void *arg);

struct audit_page {
	uint64_t	next;
	int		more;
};

/* AUDIT_OK, or AUDIT_ERR_ARG for a query out of these bounds. */
int	audit_query_ok(const struct audit_query *q);

/*
 * A standalone log in its own SQLite file, created if missing.  On
 * success *out belongs to the caller; free it with audit_close.  The
 * handle may be used from several threads; appends are serialised.
 */
struct audit_log;

int	audit_open(const char *path, const struct audit_config *cfg,
	    struct audit_log **out);
void	audit_close(struct audit_log *log);

/*
 * Append one record; durable when AUDIT_OK is returned.  *seq (if not
 * NULL) receives its sequence number.
 */
int	audit_append(struct audit_log *log, const struct audit_record *rec,
	    uint64_t *seq);

/* Write a checkpoint now if records were added since the last one. */
int	audit_checkpoint(struct audit_log *log);

/*
 * Verification.  audit_verify opens the database read-only, walks the
 * chain in sequence order and stops at the first problem.  It returns
 * AUDIT_OK when it could do its job, whatever it found (read res->status),
 * and an error only when it could not (missing file, not a database).
 * pub may be NULL to check only the chain and the checkpoint heads.
 */
enum audit_verify_status {
	AUDIT_VERIFY_OK = 0,
	AUDIT_VERIFY_HASH,	  /* record seq: hash is wrong */
	AUDIT_VERIFY_CHAIN,	  /* record seq: prev_hash wrong */
	AUDIT_VERIFY_GAP,	  /* record seq is missing (deleted) */
	AUDIT_VERIFY_CHECKPOINT,  /* checkpoint seq: head differs from chain */
	AUDIT_VERIFY_SIGNATURE,	  /* checkpoint seq: signature is bad */
	AUDIT_VERIFY_TRUNCATED,	  /* log ends before checkpoint seq */
	AUDIT_VERIFY_MALFORMED,	  /* record seq: bad column type */
};

struct audit_verify_result {
	enum audit_verify_status status;
	uint64_t	 seq;		/* the first bad record */
	uint64_t	 records;	/* records checked */
	uint64_t	 checkpoints;	/* checkpoints checked */
	uint64_t	 last_checkpoint; /* seq of the last good checkpoint */
	char		 message[256];	/* one sentence for a human */
};

int	audit_verify(const char *path, EVP_PKEY *pub,
	    struct audit_verify_result *res);
/*
 * The same, also checking the chain against exported checkpoints (ext,
 * may be NULL): each must be signed and match its record, and a log that
 * ends before one is reported truncated, even when the database's own
 * checkpoints were deleted with its tail.
 */
int	audit_verify_ext(const char *path, EVP_PKEY *pub,
	    const struct audit_ckpts *ext, struct audit_verify_result *res);

#endif
