/*
 * Counts for /metrics that are neither budgets nor revocation (issue 19):
 * per configured tenant and profile, certificates issued, revoked and
 * issuance requests refused by result; and the CoAP front end's own
 * counters, as it last reported them (COAP_STATS), since signet-coap has
 * no listener for /metrics.  HEALTH hands both out.
 *
 * Labels are bounded: a row is keyed by the configuration's names (the
 * caller passes names it resolved against the runtime, never a client's
 * words), at most PROTO_MAX_TARGETS rows; what has no configured target,
 * or finds the table full, counts in the row of "" and "".
 * Thread-safe: the table has its own mutex, the CoAP counters are atomic.
 */
#ifndef SIGNET_ENG_STATS_H
#define SIGNET_ENG_STATS_H

#include <pthread.h>
#include <stdatomic.h>

#include <signet/proto.h>

enum eng_stats_event {
	ENG_ST_ISSUED,
	ENG_ST_REVOKED,
	ENG_ST_REFUSED		/* with a result, enum proto_result */
};

struct eng_stats {
	pthread_mutex_t			mu;
	struct proto_target_counts	rows[PROTO_MAX_TARGETS];
	size_t				nrows;
	atomic_uint_fast64_t		coap[PROTO_CC_MAX];
};

struct eng_stats *eng_stats_new(void);
void	eng_stats_free(struct eng_stats *s);
/* Count one event of tenant/profile (NULL: ""); result for REFUSED. */
void	eng_stats_count(struct eng_stats *s, const char *tenant,
	    const char *profile, enum eng_stats_event ev, int result);
/* Keep the CoAP front end's latest snapshot. */
void	eng_stats_coap(struct eng_stats *s,
	    const uint64_t counters[PROTO_CC_MAX]);
/* Copy everything into a HEALTH reply. */
void	eng_stats_health(struct eng_stats *s, struct proto_health_rep *h);

#endif
