/*
 * ACME rate limits (docs/acme.md "Rate limits", DESIGN rule 10): each
 * "N per window" is a token bucket of N tokens refilled at N per window
 * (eng_limit.c's buckets, so a flood of keys evicts and never grows):
 *
 *	orders per account		acme_orders_per_account, taken at
 *					newOrder
 *	failed validations per account	acme_failed_authz_per_account,
 *					taken when a validation fails;
 *					an empty bucket refuses newOrder
 *	new accounts per source		acme_accounts_per_source, taken
 *					when an account is created (EAB
 *					verified), given back if it is not
 *	certificates per tenant		the engine's tenant bucket
 *					(limits.rate_tenant), which EST and
 *					/v1 issuance already charge, taken
 *					at finalize
 *
 * Charged after the JWS verified (and for new accounts after the EAB),
 * so nobody spends another's budget.  Refusals are rateLimited (429)
 * with Retry-After and a detail naming the limit, counted in
 * signet_engine_limit_total.  The tables live in this engine process:
 * a restart starts them full, and engines sharing a PostgreSQL ledger
 * count apart (docs/acme.md).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eng_acme.h"
#include "eng_limit.h"

enum eng_acme_table {
	EAL_ORDERS,	/* "o:<account id>" */
	EAL_FAILED,	/* "f:<account id>" */
	EAL_ACCOUNTS,	/* the source key (eng_limit_source_key) */
	EAL_MAX
};

struct eng_acme_limits {
	struct eng_buckets	t[EAL_MAX];
};

static pthread_mutex_t eng_acme_limit_mu = PTHREAD_MUTEX_INITIALIZER;
/* The tables: one per engine process, for its whole life. */
static struct eng_acme_limits *eng_acme_lims;

/* One limit: N per window seconds as a bucket's rate and burst. */
struct eng_acme_rate {
	double	rate;	/* per second; 0: no limit */
	double	burst;
};

static struct eng_acme_rate
eng_acme_rate(int64_t n, int64_t window)
{
	struct eng_acme_rate r = { 0, 0 };

	if (n > 0 && window > 0) {
		r.rate = (double)n / (double)window;
		r.burst = (double)n;
	}
	return r;
}

/* With eng_acme_limit_mu held: the tables, allocated at first use. */
static struct eng_acme_limits *
eng_acme_limits(void)
{
	if (eng_acme_lims == NULL)
		eng_acme_lims = calloc(1, sizeof(*eng_acme_lims));
	return eng_acme_lims;
}

/*
 * Take from key's bucket in table.  1 taken (or no limit), 0 refused
 * with *retry, -1 no memory (served: a budget that cannot be kept must
 * not stop issuance).  give_back: only look whether one is there.
 */
static int
eng_acme_take(enum eng_acme_table table, const char *key,
    struct eng_acme_rate r, int give_back, unsigned *retry)
{
	struct eng_acme_limits *l;
	struct eng_buckets *t;
	uint64_t now = eng_limit_now_ms();
	int ok = 1;

	*retry = 0;
	if (r.rate <= 0)
		return 1;
	pthread_mutex_lock(&eng_acme_limit_mu);
	if ((l = eng_acme_limits()) == NULL)
		ok = -1;
	else {
		t = &l->t[table];
		ok = eng_bucket_take(t, key, now, r.rate, r.burst, retry);
		if (ok && give_back)
			eng_bucket_give(t, key, now, r.rate, r.burst);
	}
	pthread_mutex_unlock(&eng_acme_limit_mu);
	return ok;
}

static void
eng_acme_give(enum eng_acme_table table, const char *key,
    struct eng_acme_rate r)
{
	struct eng_acme_limits *l;

	if (r.rate <= 0)
		return;
	pthread_mutex_lock(&eng_acme_limit_mu);
	if ((l = eng_acme_limits()) != NULL)
		eng_bucket_give(&l->t[table], key, eng_limit_now_ms(),
		    r.rate, r.burst);
	pthread_mutex_unlock(&eng_acme_limit_mu);
}

/* The window as people write it: "3h", "90m", "45s". */
static void
eng_acme_window_text(int64_t w, char *out, size_t size)
{
	if (w % 3600 == 0)
		eng_fmt(out, size, "%lldh", (long long)(w / 3600));
	else if (w % 60 == 0)
		eng_fmt(out, size, "%lldm", (long long)(w / 60));
	else
		eng_fmt(out, size, "%llds", (long long)w);
}

static int
eng_acme_refuse(struct eng_acme *a, int counter, unsigned retry,
    const char *what, int64_t n, int64_t window)
{
	char w[24];

	eng_limit_count(a->e->limit, counter);
	eng_acme_window_text(window, w, sizeof(w));
	a->retry_after = retry > 0 ? retry : 1;
	return eng_acme_problem(a, ACME_P_RATE_LIMITED, "%s: at most %lld "
	    "per %s; retry after %u s", what, (long long)n, w,
	    a->retry_after);
}

/* Account ids are random 128 bits, unique across directories. */
static void
eng_acme_acct_key(const char *account, char kind, char *key)
{
	eng_fmt(key, ENG_LIMIT_KEY, "%c:%s", kind, account);
}

int
eng_acme_limit_order(struct eng_acme *a)
{
	const struct sconf *c = a->rt->conf;
	char key[ENG_LIMIT_KEY];
	unsigned retry;

	eng_acme_acct_key(a->acct.id, 'f', key);
	if (eng_acme_take(EAL_FAILED, key,
	    eng_acme_rate(c->acme_failed_authz_per_account,
	    c->acme_failed_authz_window), 1, &retry) == 0)
		return eng_acme_refuse(a, PROTO_C_ACME_FAILED_AUTHZ, retry,
		    "too many failed validations for this account "
		    "(acme_failed_authz_per_account)",
		    c->acme_failed_authz_per_account,
		    c->acme_failed_authz_window);
	eng_acme_acct_key(a->acct.id, 'o', key);
	if (eng_acme_take(EAL_ORDERS, key,
	    eng_acme_rate(c->acme_orders_per_account, c->acme_orders_window),
	    0, &retry) == 0)
		return eng_acme_refuse(a, PROTO_C_ACME_ORDERS, retry,
		    "too many new orders for this account "
		    "(acme_orders_per_account)", c->acme_orders_per_account,
		    c->acme_orders_window);
	return -1;
}

void
eng_acme_limit_failed(const struct eng_rt *rt, const char *account)
{
	const struct sconf *c = rt->conf;
	char key[ENG_LIMIT_KEY];
	unsigned retry;

	eng_acme_acct_key(account, 'f', key);
	(void)eng_acme_take(EAL_FAILED, key,
	    eng_acme_rate(c->acme_failed_authz_per_account,
	    c->acme_failed_authz_window), 0, &retry);
}

int
eng_acme_limit_account(struct eng_acme *a)
{
	const struct sconf *c = a->rt->conf;
	char key[ENG_LIMIT_KEY];
	unsigned retry;

	eng_limit_source_key(a->ev->src, a->ev->src_len, key);
	if (key[0] == '\0')
		return -1;
	if (eng_acme_take(EAL_ACCOUNTS, key,
	    eng_acme_rate(c->acme_accounts_per_source,
	    c->acme_accounts_window), 0, &retry) == 0)
		return eng_acme_refuse(a, PROTO_C_ACME_ACCOUNTS, retry,
		    "too many new accounts from this address "
		    "(acme_accounts_per_source)",
		    c->acme_accounts_per_source, c->acme_accounts_window);
	return -1;
}

void
eng_acme_limit_account_undo(struct eng_acme *a)
{
	const struct sconf *c = a->rt->conf;
	char key[ENG_LIMIT_KEY];

	eng_limit_source_key(a->ev->src, a->ev->src_len, key);
	if (key[0] != '\0')
		eng_acme_give(EAL_ACCOUNTS, key,
		    eng_acme_rate(c->acme_accounts_per_source,
		    c->acme_accounts_window));
}

/*
 * Finalize: one token of the tenant's bucket, the one every EST and /v1
 * request into the tenant takes (eng_gate.c), so ACME issuance shares
 * the tenant's budget instead of having a second one.
 */
int
eng_acme_limit_cert(struct eng_acme *a)
{
	const struct sconf_limits *c = &a->rt->conf->limits;
	struct eng_limit *l = a->e->limit;
	unsigned retry = 0;
	int ok;

	if (c->rate_tenant <= 0)
		return -1;
	pthread_mutex_lock(&l->mu);
	ok = eng_bucket_take(&l->tenant, a->tenant, eng_limit_now_ms(),
	    (double)c->rate_tenant, (double)(c->burst_tenant > 0 ?
	    c->burst_tenant : 0), &retry);
	pthread_mutex_unlock(&l->mu);
	if (ok)
		return -1;
	eng_limit_count(l, PROTO_C_RATE_TENANT);
	a->retry_after = retry > 0 ? retry : 1;
	return eng_acme_problem(a, ACME_P_RATE_LIMITED, "rate limit exceeded "
	    "for tenant %s (limits.rate_tenant %lld/s, burst_tenant %lld); "
	    "retry after %u s", a->tenant, (long long)c->rate_tenant,
	    (long long)c->burst_tenant, a->retry_after);
}
