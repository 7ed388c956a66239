/*
 * The ops table a ledger backend implements.  Only ledger.c and the
 * backends include this; the engine uses ledger.h.
 *
 * ledger.c validates every argument before calling a backend, so a
 * backend may assume non-NULL, bounded inputs.  Write ops (reserve,
 * transition, audit, checkpoint, next_counter) must be durable when they
 * return LEDGER_OK and must leave no trace when they fail; the audit
 * record passed with a write commits in the same transaction.
 */
#ifndef SIGNET_LEDGER_BACKEND_H
#define SIGNET_LEDGER_BACKEND_H

#include <signet/audit.h>
#include <signet/ledger.h>
#include <signet/ledger_acme.h>
#include <signet/ledger_notify.h>

/* A status change of one row, e.g. RESERVED -> ISSUED with its DER. */
struct ledger_transition {
	const struct ledger_serial	*serial;
	const char			*tenant;    /* NULL: any tenant */
	unsigned int			 from_mask; /* 1 << status */
	enum ledger_status		 to;
	const uint8_t			*der;	    /* for ISSUED */
	size_t				 der_len;
	const uint8_t			*tbs_hash;  /* must match */
	int64_t				 revoked_at; /* for REVOKED */
	int				 reason;
};

struct ledger_backend {
	const char	*name;
	int	(*open)(const char *target, const struct ledger_config *cfg,
		    void **state);
	void	(*close)(void *state);
	int	(*reserve)(void *state, const struct ledger_intent *in);
	/*
	 * Apply t, or fail with LEDGER_ERR_NOTFOUND (no row, or another
	 * tenant's), LEDGER_ERR_STATE (status not in from_mask) or
	 * LEDGER_ERR_MISMATCH (tbs_hash differs).
	 */
	int	(*transition)(void *state, const struct ledger_transition *t,
		    const struct audit_record *audit);
	int	(*audit)(void *state, const struct audit_record *audit,
		    uint64_t *seq);
	int	(*checkpoint)(void *state);
	/* Read the audit chain (ledger_query.c checks the arguments). */
	int	(*audit_query)(void *state, const struct audit_query *q,
		    audit_entry_cb cb, void *arg, struct audit_page *page);
	int	(*next_counter)(void *state, const char *name,
		    uint64_t *out);
	int	(*get)(void *state, const char *tenant,
		    const struct ledger_serial *serial,
		    struct ledger_cert *out);
	int	(*list)(void *state, const struct ledger_filter *f,
		    struct ledger_cert **certs, size_t *n);
	int	(*count)(void *state, const char *tenant,
		    struct ledger_counts *out);
	int	(*list_revoked)(void *state, const char *issuer, int64_t now,
		    ledger_revoked_cb cb, void *arg);
	/* Every RESERVED row, oldest first. */
	int	(*list_reserved)(void *state, struct ledger_cert **certs,
		    size_t *n);
	void	(*stats)(void *state, struct ledger_stats *out);
	/* Enrollment tokens (ledger_tokens.c checks the arguments). */
	int	(*token_create)(void *state, const struct ledger_token *t,
		    const struct audit_record *audit);
	int	(*token_get)(void *state, const uint8_t *hash,
		    struct ledger_token *out);
	/*
	 * The token with that public id (DTLS PSK identity), hash
	 * included, in one read: the PSK handshake's lookup.
	 */
	int	(*token_get_id)(void *state, const char *id,
		    struct ledger_token *out);
	int	(*reserve_token)(void *state, const struct ledger_intent *in,
		    const uint8_t *hash, int64_t now);
	/* ACME state (ledger_acme.c checks the arguments); may be NULL. */
	int	(*acme_write)(void *state,
		    const struct ledger_acme_step *steps, size_t n,
		    const struct audit_record *audit);
	int	(*acme_read)(void *state, enum ledger_acme_stmt stmt,
		    const struct ledger_val *args, size_t nargs,
		    ledger_acme_cb cb, void *arg);
	/* Several nodes share this ledger's ACME state (issue 20). */
	int	acme_shared;
	/* One tidy batch (ledger_tidy.c checks the arguments). */
	int	(*tidy)(void *state, const char *tenant, int64_t cutoff,
		    size_t limit, uint64_t *certs, uint64_t *tokens);
	/* Expiry notifications (ledger_notify.c checks the arguments);
	 * may be NULL. */
	int	(*notify)(void *state, struct ledger_notify_op *op);
	int	(*notify_expiring)(void *state, const char *tenant,
		    const char *profile, int64_t secs, int permille,
		    int64_t now, uint64_t *n);
	int	(*notify_counts)(void *state,
		    struct ledger_notify_counts *out);
	/* ACME rate limits (ledger_acme_limit.c checks the arguments);
	 * may be NULL. */
	int	(*acme_limit)(void *state, struct ledger_acme_limit *lim);
};

extern const struct ledger_backend ledger_backend_sqlite;
extern const struct ledger_backend ledger_backend_pgsql;

#endif
