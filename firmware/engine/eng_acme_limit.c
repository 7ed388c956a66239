/*
 * ACME rate limits (docs/acme.md "Rate limits", DESIGN rule 10): each
 * "N per window" is a token bucket of N tokens refilled evenly over the
 * window, kept in the ledger (ledger_acme_limit, docs/decisions.md
 * "ACME rate limits in the ledger"), so a restart does not refill it
 * and the nodes of a shared PostgreSQL ledger spend one budget:
 *
 *	orders per account		acme_orders_per_account, taken at
 *					newOrder ("o:<account id>")
 *	failed validations per account	acme_failed_authz_per_account,
 *					taken when a validation fails;
 *					an empty bucket refuses newOrder
 *					("f:<account id>")
 *	new accounts per source		acme_accounts_per_source, taken
 *					when an account is created (EAB
 *					verified), given back if it is not
 *					("a:<source key>", IPv6 by /64)
 *	certificates per tenant		the engine's tenant bucket
 *					(limits.rate_tenant), which EST and
 *					/v1 issuance already charge, taken
 *					at finalize (in memory, as theirs)
 *
 * Charged after the JWS verified (and for new accounts after the EAB),
 * so nobody spends another's budget.  Refusals are rateLimited (429)
 * with Retry-After and a detail naming the limit, counted in
 * signet_engine_limit_total.  A ledger that cannot answer does not
 * refuse: the request goes on to the ledger writes that would fail the
 * same way, and a budget that cannot be kept must not stop issuance.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eng_acme.h"
#include "eng_limit.h"

/*
 * One charge on key: 1 taken (or no limit), 0 refused with *retry, -1
 * the ledger could not say (served).
 */
static int
eng_acme_charge(struct eng_engine *e, const char *key, int64_t n,
    int64_t window, enum ledger_acme_limit_mode mode, unsigned *retry)
{
	struct ledger_acme_limit lim;
	int rc;

	*retry = 0;
	if (n <= 0 || window <= 0)
		return 1;
	memset(&lim, 0, sizeof(lim));
	lim.key = key;
	lim.n = n;
	lim.window = window;
	lim.mode = mode;
	rc = ledger_acme_limit(e->ledger, &lim);
	if (rc == LEDGER_OK)
		return 1;
	if (rc == LEDGER_ERR_STATE) {
		*retry = lim.retry > 0 && lim.retry < UINT32_MAX ?
		    (unsigned)lim.retry : 1;
		return 0;
	}
	log_warn("msg=\"acme rate limit not kept\" key=%s error=\"%s\"",
	    key, ledger_strerror(rc));
	return -1;
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
	if (eng_acme_charge(a->e, key, c->acme_failed_authz_per_account,
	    c->acme_failed_authz_window, LAL_PEEK, &retry) == 0)
		return eng_acme_refuse(a, PROTO_C_ACME_FAILED_AUTHZ, retry,
		    "too many failed validations for this account "
		    "(acme_failed_authz_per_account)",
		    c->acme_failed_authz_per_account,
		    c->acme_failed_authz_window);
	eng_acme_acct_key(a->acct.id, 'o', key);
	if (eng_acme_charge(a->e, key, c->acme_orders_per_account,
	    c->acme_orders_window, LAL_TAKE, &retry) == 0)
		return eng_acme_refuse(a, PROTO_C_ACME_ORDERS, retry,
		    "too many new orders for this account "
		    "(acme_orders_per_account)", c->acme_orders_per_account,
		    c->acme_orders_window);
	return -1;
}

void
eng_acme_limit_failed(struct eng_acme *a, const char *account)
{
	const struct sconf *c = a->rt->conf;
	char key[ENG_LIMIT_KEY];
	unsigned retry;

	eng_acme_acct_key(account, 'f', key);
	(void)eng_acme_charge(a->e, key, c->acme_failed_authz_per_account,
	    c->acme_failed_authz_window, LAL_TAKE, &retry);
}

/* "a:" and the source's key (one IPv4 address, one IPv6 /64). */
static int
eng_acme_source_key(struct eng_acme *a, char *key)
{
	char src[ENG_LIMIT_KEY];

	eng_limit_source_key(a->ev->src, a->ev->src_len, src);
	if (src[0] == '\0')
		return 0;
	eng_fmt(key, ENG_LIMIT_KEY, "a:%s", src);
	return 1;
}

int
eng_acme_limit_account(struct eng_acme *a)
{
	const struct sconf *c = a->rt->conf;
	char key[ENG_LIMIT_KEY];
	unsigned retry;

	if (!eng_acme_source_key(a, key))
		return -1;
	if (eng_acme_charge(a->e, key, c->acme_accounts_per_source,
	    c->acme_accounts_window, LAL_TAKE, &retry) == 0)
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
	unsigned retry;

	if (eng_acme_source_key(a, key))
		(void)eng_acme_charge(a->e, key, c->acme_accounts_per_source,
		    c->acme_accounts_window, LAL_GIVE, &retry);
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
