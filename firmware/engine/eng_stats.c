/*
 * Per-target counts and the CoAP front end's counters (eng_stats.h).
 * Pure bookkeeping: no token, no ledger, so tests/unit/engine drives it
 * directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng_engine_local.h"
#include "eng_stats.h"

struct eng_stats *
eng_stats_new(void)
{
	struct eng_stats *s;
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		return NULL;
	}
	for (i = 0; i < PROTO_CC_MAX; i++)
		atomic_init(&s->coap[i], 0);
	return s;
}

void
eng_stats_free(struct eng_stats *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* The row of tenant/profile, made if there is room, else the "" row. */
static struct proto_target_counts *
stats_row(struct eng_stats *s, const char *tenant, const char *profile)
{
	struct proto_target_counts *t;
	size_t i;
	int none = tenant[0] == '\0' && profile[0] == '\0', have_none = 0;

	for (i = 0; i < s->nrows; i++) {
		t = &s->rows[i];
		if (strcmp(t->tenant, tenant) == 0 &&
		    strcmp(t->profile, profile) == 0)
			return t;
		if (t->tenant[0] == '\0' && t->profile[0] == '\0')
			have_none = 1;
	}
	/* A slot is kept for the "" row until it exists: it always can. */
	if (!none && s->nrows + (have_none ? 0 : 1) >= PROTO_MAX_TARGETS)
		return stats_row(s, "", "");
	t = &s->rows[s->nrows++];
	memset(t, 0, sizeof(*t));
	snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
	snprintf(t->profile, sizeof(t->profile), "%s", profile);
	return t;
}

void
eng_stats_count(struct eng_stats *s, const char *tenant, const char *profile,
    enum eng_stats_event ev, int result)
{
	struct proto_target_counts *t;

	if (s == NULL)
		return;
	/* Only a whole target names a row: a tenant alone is not one. */
	if (tenant == NULL || profile == NULL)
		tenant = profile = "";
	pthread_mutex_lock(&s->mu);
	t = stats_row(s, tenant, profile);
	switch (ev) {
	case ENG_ST_ISSUED:
		t->issued++;
		break;
	case ENG_ST_REVOKED:
		t->revoked++;
		break;
	case ENG_ST_REFUSED:
		if (result > PROTO_R_OK && result < PROTO_R_MAX)
			t->refused[result]++;
		break;
	}
	pthread_mutex_unlock(&s->mu);
}

void
eng_stats_coap(struct eng_stats *s, const uint64_t counters[PROTO_CC_MAX])
{
	size_t i;

	for (i = 0; i < PROTO_CC_MAX; i++)
		atomic_store(&s->coap[i], counters[i]);
}

void
eng_stats_health(struct eng_stats *s, struct proto_health_rep *h)
{
	size_t i;

	for (i = 0; i < PROTO_CC_MAX; i++)
		h->coap[i] = atomic_load(&s->coap[i]);
	pthread_mutex_lock(&s->mu);
	memcpy(h->targets, s->rows, s->nrows * sizeof(s->rows[0]));
	h->ntargets = (uint16_t)s->nrows;
	pthread_mutex_unlock(&s->mu);
}

/*
 * COAP_STATS: the CoAP front end's counters since it started.  A
 * restarted signet-coap starts again from zero, which Prometheus reads
 * as a counter reset, as it does for an HTTPS worker's.
 */
int
eng_h_coap_stats(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_ident *id, const struct proto_request *req, struct eng_reply *r)
{
	eng_stats_coap(e->stats, req->u.coap.counters);
	return PROTO_R_OK;
}
