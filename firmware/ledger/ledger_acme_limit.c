/*
 * ACME rate limits: argument checks and the bucket's arithmetic in front
 * of the backend's op (signet/ledger_acme.h).  No SQL here: each backend
 * keeps its statements in ledger_<backend>_acme_limit.c.
 */
#include <string.h>
#include <time.h>

#include <signet/ledger.h>
#include <signet/ledger_acme.h>
#include <signet/ledger_backend.h>

#include "ledger_impl.h"

/* Ten years: a window longer than that is a configuration mistake. */
#define LAL_WINDOW_MAX	(10LL * 366 * 86400)

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
ledger_acme_limit(struct ledger *l, struct ledger_acme_limit *lim)
{
	size_t len;

	if (l == NULL || lim == NULL || lim->key == NULL || lim->n < 1 ||
	    lim->window < 1 || lim->window > LAL_WINDOW_MAX ||
	    lim->now_us < 0 || (unsigned)lim->mode > LAL_GIVE)
		return LEDGER_ERR_ARG;
	len = strnlen(lim->key, LEDGER_ACME_LIMIT_KEY + 1);
	if (len == 0 || len > LEDGER_ACME_LIMIT_KEY)
		return LEDGER_ERR_ARG;
	if (l->be->acme_limit == NULL)
		return LEDGER_ERR_ARG;
	if (lim->now_us == 0)
		lim->now_us = now_us();
	lim->span_us = lim->window * 1000000;
	lim->cost_us = lim->span_us / lim->n;
	if (lim->cost_us < 1)
		lim->cost_us = 1;
	lim->retry = 0;
	return l->be->acme_limit(l->state, lim);
}

/*
 * For the backends: whether a bucket full again at tat has a token at
 * lim->now_us; if not, lim->retry is set (whole seconds, at least 1).
 */
int
ledger_acme_limit_there(struct ledger_acme_limit *lim, int64_t tat)
{
	int64_t from = tat > lim->now_us ? tat : lim->now_us;
	int64_t over = from + lim->cost_us - lim->now_us - lim->span_us;

	if (over <= 0)
		return 1;
	lim->retry = (over + 999999) / 1000000;
	return 0;
}
