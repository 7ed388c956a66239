/*
 * Expiry notifications (issue 19, docs/notify.md): a durable queue of
 * webhook deliveries in the ledger.
 *
 * The engine's schedule enqueues one delivery per certificate, threshold
 * and webhook when an ISSUED certificate crosses a threshold of its
 * profile; (serial, threshold, webhook) is unique, so scanning again, on
 * this node or another sharing the ledger, adds nothing twice.  The
 * delivery process takes one delivery at a time through the engine
 * (ledger_notify_claim): the claim counts an attempt and hides the row
 * for a lease; the attempt is settled as delivered, or rescheduled with
 * backoff, by its claim (id and attempt number).  A claim never settled
 * (the engine or the delivery process died, the receiver hung) comes
 * back when its lease runs out: at least once, never lost.  Claims are
 * a conditional UPDATE, so two nodes never hold the same attempt.
 *
 * Functions return LEDGER_OK or a negative enum ledger_rc; a backend
 * without the queue answers LEDGER_ERR_ARG.
 */
#ifndef SIGNET_LEDGER_NOTIFY_H
#define SIGNET_LEDGER_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <signet/ledger.h>

#define LEDGER_NOTIFY_NAME_MAX	255	/* tenant, profile */
#define LEDGER_NOTIFY_THR_MAX	15	/* "30d", "12.5%" */
#define LEDGER_NOTIFY_URL_MAX	1024	/* a webhook URL */
#define LEDGER_NOTIFY_ERR_MAX	255	/* the last attempt's error */

/* One threshold of one profile and one of its webhooks. */
struct ledger_notify_rule {
	const char	*tenant;
	const char	*profile;
	const char	*threshold;	/* its configured spelling */
	int64_t		 secs;		/* before notAfter, or 0 */
	int		 permille;	/* of the lifetime left, or 0 */
	const char	*webhook;
};

/* A claimed delivery. */
struct ledger_notify {
	int64_t			id;
	uint32_t		attempts;	/* this one included */
	struct ledger_serial	serial;
	char			tenant[LEDGER_NOTIFY_NAME_MAX + 1];
	char			profile[LEDGER_NOTIFY_NAME_MAX + 1];
	char			threshold[LEDGER_NOTIFY_THR_MAX + 1];
	char			webhook[LEDGER_NOTIFY_URL_MAX + 1];
	char			names[LEDGER_MAX_TEXT + 1]; /* comma-separated */
	int64_t			not_before;
	int64_t			not_after;
};

/*
 * Queue a delivery to r->webhook for each ISSUED certificate of tenant
 * and profile that has not expired at now, has crossed the threshold
 * (notAfter - now <= secs, or <= permille/1000 of its lifetime) and
 * lived longer than an absolute threshold (a 1-day certificate gets no
 * "7d" notice).  Deliveries settled (delivered or given up) for
 * certificates that expired a day before now are removed in the same
 * write (at most 1000): the queue stays bounded by what is live.
 * *added (required) gets the new rows.
 */
int	ledger_notify_enqueue(struct ledger *l,
	    const struct ledger_notify_rule *r, int64_t now, uint64_t *added);

/*
 * Claim the delivery due first (at or before now): its attempt count goes
 * up and it is not offered again before now + lease.  LEDGER_ERR_NOTFOUND
 * when none is due.
 */
int	ledger_notify_claim(struct ledger *l, int64_t now, int64_t lease,
	    struct ledger_notify *out);

/*
 * Settle the attempt (id, attempts) claimed: delivered, or due again at
 * next (0: given up, failed), with the error (may be NULL).
 * LEDGER_ERR_STATE if that claim is no longer current (its lease ran out
 * and another attempt took it, or it was settled).
 */
int	ledger_notify_settle(struct ledger *l, int64_t id, uint32_t attempts,
	    int delivered, int64_t next, const char *error);

/*
 * ISSUED certificates of tenant and profile unexpired at now that have
 * crossed the threshold (secs or permille as in the rule), for metrics.
 */
int	ledger_notify_expiring(struct ledger *l, const char *tenant,
	    const char *profile, int64_t secs, int permille, int64_t now,
	    uint64_t *n);

/* Deliveries waiting (due or leased), delivered, failed: for metrics. */
struct ledger_notify_counts {
	uint64_t	pending, delivered, failed;
};
int	ledger_notify_counts(struct ledger *l, struct ledger_notify_counts *out);

/* For backends: one queue write, run in the group commit. */
enum ledger_notify_kind { LN_ENQUEUE, LN_CLAIM, LN_SETTLE };

struct ledger_notify_op {
	enum ledger_notify_kind		 kind;
	const struct ledger_notify_rule	*rule;		/* ENQUEUE */
	int64_t				 now;
	int64_t				 until;	/* CLAIM: now + lease;
						   SETTLE: next */
	int64_t				 id;		/* SETTLE */
	uint32_t			 attempts;	/* SETTLE */
	int				 delivered;	/* SETTLE */
	const char			*error;		/* SETTLE */
	struct ledger_notify		*out;		/* CLAIM */
	uint64_t			 added;		/* ENQUEUE, out */
};

#endif
