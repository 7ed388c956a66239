/*
 * OCSP and CRLs for relying parties (signet/ca_revoke.h does the work).
 *
 * Each runtime (one configuration) has one OCSP responder over all its
 * issuers, made on the first OCSP request, and one cached CRL per issuer.
 * Issue 19: a timer (eng_rev_tick, once a second from its own thread in
 * eng_serve.c) rebuilds every CRL that is due: never built, past 2/3 of
 * its lifetime, or revocations older than half the configured freshness
 * not yet in it (ca_crl_sched), so a revocation is in the CRL within
 * revocation.freshness seconds whether or not anyone fetches it.  A fetch
 * that finds its CRL due (the timer fell behind) builds it itself.
 * Revoking drops the serial's cached OCSP answers at once; the timer
 * re-signs cached answers about to go stale, at most
 * revocation.refresh_signatures token signatures a second counting the
 * CRLs it signed.
 *
 * Locks: rev->lock guards the slots, schedules and current CRLs and is
 * only held for bookkeeping; rev->build serialises CRL builds, which run
 * outside rev->lock so revocations and OCSP never wait for one.
 *
 * Delta CRLs (issue 19): an issuer with delta_crl has a delta CRL beside
 * its complete one, rebuilt after revocations (within freshness) and
 * whenever a new complete CRL is out; its complete CRL is then rebuilt
 * only at 2/3 of crl_next_update, and names the deltas in freshestCRL.
 *
 * Issuer names are per tenant; a CRL request names an issuer and the
 * first tenant (in configuration order) with that issuer answers.  The
 * empty name means the issuer of est_default's profile.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <signet/ca_revoke.h>

#include "eng_engine_local.h"

#define ENG_REV_FRESHNESS	60	/* revocation.freshness default */
#define ENG_REV_REFRESH_SIGS	64	/* revocation.refresh_signatures */

struct eng_rev_crl {
	const struct eng_rt_issuer *ri;
	struct ca_crl crl;	/* len 0 until built */
	struct ca_crl_sched sched;
	int delta_on;		/* the issuer publishes delta CRLs */
	struct ca_crl delta;	/* on crl (delta.base_number); len 0: none */
	struct ca_crl_sched dsched;
};

struct eng_rev {
	pthread_mutex_t lock;
	pthread_mutex_t build;	/* one CRL build at a time */
	struct ca_ocsp *ocsp;
	int ocsp_failed;
	struct eng_rev_crl *crls;
	size_t ncrls;
	int crls_ready;
};

struct eng_rev *
eng_rev_new(void)
{
	struct eng_rev *rev = calloc(1, sizeof(*rev));

	if (rev != NULL) {
		pthread_mutex_init(&rev->lock, NULL);
		pthread_mutex_init(&rev->build, NULL);
	}
	return rev;
}

void
eng_rev_free(struct eng_rev *rev)
{
	size_t i;

	if (rev == NULL)
		return;
	ca_ocsp_free(rev->ocsp);
	for (i = 0; i < rev->ncrls; i++) {
		ca_crl_free(&rev->crls[i].crl);
		ca_crl_free(&rev->crls[i].delta);
	}
	free(rev->crls);
	pthread_mutex_destroy(&rev->build);
	pthread_mutex_destroy(&rev->lock);
	free(rev);
}

static int
shared_ledger(const struct eng_rt *rt)
{
	return rt->conf->storage_backend != NULL &&
	    strcmp(rt->conf->storage_backend, "sqlite") != 0;
}

int64_t
eng_rev_freshness(const struct eng_rt *rt)
{
	return rt->conf->rev_freshness > 0 ? rt->conf->rev_freshness :
	    ENG_REV_FRESHNESS;
}

/*
 * With a shared ledger (pgsql: several appliances) another node may
 * revoke: CRLs and cached OCSP answers older than this are rebuilt from
 * the ledger, so every node reports it within the freshness bound.
 */
static int64_t
shared_fresh(const struct eng_rt *rt)
{
	return eng_rev_freshness(rt) * 3 / 4;
}

/* Makes the responder with every ready issuer; rev->lock held. */
static int
ocsp_make(struct eng_engine *e, const struct eng_rt *rt, struct ca_err *err)
{
	struct ca_ocsp_config cfg;
	size_t i, j;

	memset(&cfg, 0, sizeof(cfg));
	cfg.ledger = e->ledger;
	cfg.validity = rt->conf->ocsp_validity;
	cfg.ignore_nonce = rt->conf->ocsp_ignore_nonce;
	if (shared_ledger(rt) && (cfg.validity == 0 ||
	    cfg.validity > 2 * shared_fresh(rt)))
		cfg.refresh = shared_fresh(rt);
	if (ca_ocsp_new(&cfg, &rt->rev->ocsp) != CA_OK)
		return -1;
	for (i = 0; i < rt->ntenants; i++)
		for (j = 0; j < rt->tenants[i].nissuers; j++) {
			const struct eng_rt_issuer *ri =
			    &rt->tenants[i].issuers[j];

			if (ri->ready && ca_ocsp_add_issuer(rt->rev->ocsp,
			    &ri->iss, NULL, NULL, err) != CA_OK)
				return -1;
		}
	return 0;
}

int
eng_h_ocsp(struct eng_engine *e, const struct eng_rt *rt, struct eng_ident *id,
    const struct proto_request *req, struct eng_reply *r)
{
	struct eng_rev *rev = rt->rev;
	struct eng_ocsp_gate g = { e, rt, &req->ev };
	struct ca_ocsp_answer ans;
	struct ca_err err;
	int ok;

	memset(&err, 0, sizeof(err));
	pthread_mutex_lock(&rev->lock);
	if (rev->ocsp == NULL && !rev->ocsp_failed && ocsp_make(e, rt,
	    &err) != 0) {
		ca_ocsp_free(rev->ocsp);
		rev->ocsp = NULL;
		rev->ocsp_failed = 1;
		log_warnx("msg=\"OCSP responder unavailable\" error=\"%s\"",
		    err.msg);
	}
	ok = rev->ocsp != NULL;
	pthread_mutex_unlock(&rev->lock);
	if (!ok)
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE, "OCSP responder "
		    "unavailable");
	memset(&ans, 0, sizeof(ans));
	/* Every request gets an OCSPResponse, malformed ones included. */
	/* A fresh signature is charged to the source (rate_ocsp_nonce). */
	if (ca_ocsp_respond(rev->ocsp, req->u.ocsp.der.ptr,
	    req->u.ocsp.der.len, eng_engine_now(e), eng_gate_ocsp, &g, &ans,
	    &err) != CA_OK || ans.der == NULL)
		return eng_reply_fail(r, PROTO_R_INTERNAL, "OCSP: %s", err.msg);
	eng_gate_ocsp_done(&g, ans.nonce_signed, ans.nonce_dropped);
	r->mem[0] = ans.der;
	r->rep.u.der.ptr = ans.der;
	r->rep.u.der.len = ans.len;
	return PROTO_R_OK;
}

/* The CRL slots, one per ready issuer; rev->lock held. */
static int
crls_make(const struct eng_rt *rt)
{
	struct eng_rev *rev = rt->rev;
	size_t i, j, n = 0;

	for (i = 0; i < rt->ntenants; i++)
		n += rt->tenants[i].nissuers;
	if ((rev->crls = calloc(n + 1, sizeof(*rev->crls))) == NULL)
		return -1;
	for (i = 0; i < rt->ntenants; i++)
		for (j = 0; j < rt->tenants[i].nissuers; j++) {
			struct eng_rev_crl *c = &rev->crls[rev->ncrls];

			if (!rt->tenants[i].issuers[j].ready)
				continue;
			c->ri = &rt->tenants[i].issuers[j];
			/* Half the bound: the rest is for the tick and build. */
			ca_crl_sched_init(&c->sched, eng_rev_freshness(rt) / 2);
			c->delta_on = c->ri->iss.delta_url[0] != '\0';
			ca_crl_sched_init(&c->dsched, eng_rev_freshness(rt) / 2);
			rev->ncrls++;
		}
	rev->crls_ready = 1;
	return 0;
}

static struct eng_rev_crl *
crl_find(const struct eng_rt *rt, const char *name)
{
	const struct sconf_tenant *st;
	const struct sconf_profile *sp;
	size_t i;

	if (*name == '\0') {
		if (sconf_est_label(rt->conf, "", &st, &sp) != 0)
			return NULL;
		name = sp->issuer ? sp->issuer : st->issuers[0].name;
	}
	for (i = 0; i < rt->rev->ncrls; i++)
		if (strcmp(rt->rev->crls[i].ri->iss.name, name) == 0)
			return &rt->rev->crls[i];
	return NULL;
}

/*
 * Whether c's complete CRL (delta 0) or its delta CRL (delta 1) is to be
 * rebuilt at now; rev->lock held.  With deltas, revocations (here and,
 * with a shared ledger, on other nodes) go into the delta, and the
 * complete CRL is rebuilt only at 2/3 of its lifetime (issue 19); a
 * delta is rebuilt too whenever its base is no longer the current one.
 */
static int
crl_due(const struct eng_rt *rt, const struct eng_rev_crl *c, time_t now,
    int delta)
{
	if (!delta)
		return c->crl.len == 0 ||
		    ca_crl_sched_should_build(&c->sched, now) ||
		    (shared_ledger(rt) && !c->delta_on &&
		    now - c->crl.this_update >= shared_fresh(rt));
	return c->delta_on && c->crl.len != 0 && (c->delta.len == 0 ||
	    c->delta.base_number != c->crl.number ||
	    ca_crl_sched_should_build(&c->dsched, now) ||
	    (shared_ledger(rt) &&
	    now - c->delta.this_update >= shared_fresh(rt)));
}

/*
 * Rebuilds c's complete or delta CRL if it is due at now; by names who
 * asked (for the log and the counters).  1: built, 0: not due, -1: the
 * build failed (logged; the previous CRL, if any, stays).  Neither lock
 * held on entry.
 */
static int
crl_refresh(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_rev_crl *c, time_t now, int by_timer, int delta)
{
	struct eng_rev *rev = rt->rev;
	struct ca_crl_sched *sched = delta ? &c->dsched : &c->sched;
	struct ca_crl *slot = delta ? &c->delta : &c->crl;
	struct ca_crl fresh;
	struct ca_err err;
	struct timespec t0, t1;
	uint64_t gen = 0, number = 0, base = 0;
	time_t since = 0;
	size_t entries = 0, bytes = 0;
	char extra[32];
	int rc, due;

	memset(&err, 0, sizeof(err));
	memset(&fresh, 0, sizeof(fresh));
	pthread_mutex_lock(&rev->build);
	pthread_mutex_lock(&rev->lock);
	if ((due = crl_due(rt, c, now, delta))) {
		gen = ca_crl_sched_begin(sched);
		base = c->crl.number;
		/*
		 * RFC 5280 5.2.4: what changed since the base.  A revocation
		 * dated before the base's thisUpdate may have committed after
		 * the base read the ledger: go back CA_CRL_MAX_DELAY more.
		 */
		since = c->crl.this_update - CA_CRL_MAX_DELAY;
	}
	pthread_mutex_unlock(&rev->lock);
	if (!due) {
		pthread_mutex_unlock(&rev->build);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (delta)
		rc = ca_crl_build_delta(&c->ri->iss, e->ledger, now,
		    rt->conf->delta_next_update, base, since, &fresh, &err);
	else
		rc = ca_crl_build(&c->ri->iss, e->ledger, now,
		    rt->conf->crl_next_update, &fresh, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_mutex_lock(&rev->lock);
	if (rc != CA_OK)
		ca_crl_sched_built(sched, gen, 0, 0);
	else {
		ca_crl_sched_built(sched, gen, fresh.this_update,
		    fresh.next_update);
		ca_crl_free(slot);
		*slot = fresh;
		memset(&fresh, 0, sizeof(fresh));
		number = slot->number;
		entries = slot->nrevoked;
		bytes = slot->len;
	}
	pthread_mutex_unlock(&rev->lock);
	pthread_mutex_unlock(&rev->build);
	if (rc != CA_OK) {
		log_warnx("msg=\"CRL rebuild failed\" issuer=%s by=%s "
		    "delta=%d error=\"%s\"", c->ri->iss.name, by_timer ?
		    "timer" : "fetch", delta, err.msg);
		return -1;
	}
	eng_limit_count(e->limit, by_timer ? PROTO_C_CRL_TIMER :
	    PROTO_C_CRL_FETCH);
	extra[0] = '\0';
	if (delta)
		eng_fmt(extra, sizeof(extra), " base=%llu",
		    (unsigned long long)base);
	log_info("msg=\"%s built\" issuer=%s by=%s number=%llu "
	    "entries=%zu bytes=%zu ms=%lld%s", delta ? "delta CRL" : "CRL",
	    c->ri->iss.name, by_timer ? "timer" : "fetch",
	    (unsigned long long)number, entries, bytes,
	    (long long)((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000), extra);
	return 1;
}

int
eng_h_crl(struct eng_engine *e, const struct eng_rt *rt, struct eng_ident *id,
    const struct proto_request *req, struct eng_reply *r)
{
	struct eng_rev *rev = rt->rev;
	struct eng_rev_crl *c;
	const struct ca_crl *crl;
	time_t now = eng_engine_now(e);
	int rc = PROTO_R_OK;

	pthread_mutex_lock(&rev->lock);
	if (!rev->crls_ready && crls_make(rt) != 0) {
		pthread_mutex_unlock(&rev->lock);
		return eng_reply_fail(r, PROTO_R_INTERNAL, "out of memory");
	}
	c = crl_find(rt, req->u.crl.issuer);
	pthread_mutex_unlock(&rev->lock);
	if (c == NULL)
		return eng_reply_fail(r, PROTO_R_NOT_FOUND, "no issuer \"%s\"",
		    req->u.crl.issuer);
	if (req->u.crl.delta && !c->delta_on)
		return eng_reply_fail(r, PROTO_R_NOT_FOUND, "issuer \"%s\" "
		    "publishes no delta CRLs", c->ri->iss.name);
	/* Normally the timer got there first and this does nothing. */
	(void)crl_refresh(e, rt, c, now, 0, 0);
	if (req->u.crl.delta)
		(void)crl_refresh(e, rt, c, now, 0, 1);
	pthread_mutex_lock(&rev->lock);
	crl = req->u.crl.delta ? &c->delta : &c->crl;
	/* A stale CRL still valid beats none. */
	if (crl->len == 0 || crl->next_update <= now)
		rc = eng_reply_fail(r, PROTO_R_UNAVAILABLE, "%sCRL for \"%s\" "
		    "unavailable", req->u.crl.delta ? "delta " : "",
		    c->ri->iss.name);
	else if ((r->mem[0] = malloc(crl->len)) == NULL)
		rc = eng_reply_fail(r, PROTO_R_INTERNAL, "out of memory");
	else {
		memcpy(r->mem[0], crl->der, crl->len);
		r->rep.u.der.ptr = r->mem[0];
		r->rep.u.der.len = crl->len;
	}
	pthread_mutex_unlock(&rev->lock);
	return rc;
}

/*
 * The timer: CRLs due, then cached OCSP answers about to go stale, at
 * most the configured number of token signatures for the whole round.
 */
void
eng_rev_tick(struct eng_engine *e, const struct eng_rt *rt)
{
	struct eng_rev *rev = rt->rev;
	struct ca_ocsp *ocsp;
	time_t now = eng_engine_now(e);
	int64_t budget = rt->conf->rev_refresh_sigs > 0 ?
	    rt->conf->rev_refresh_sigs : ENG_REV_REFRESH_SIGS;
	size_t i, n;

	if (rev == NULL)
		return;
	pthread_mutex_lock(&rev->lock);
	if (!rev->crls_ready && crls_make(rt) != 0) {
		pthread_mutex_unlock(&rev->lock);
		return;
	}
	ocsp = rev->ocsp;
	pthread_mutex_unlock(&rev->lock);
	/* Slots are fixed once made; each build takes the locks it needs. */
	for (i = 0; i < rev->ncrls && budget > 0; i++) {
		if (crl_refresh(e, rt, &rev->crls[i], now, 1, 0) != 0)
			budget--;
		/* After its base: a new base makes the delta due too. */
		if (budget > 0 &&
		    crl_refresh(e, rt, &rev->crls[i], now, 1, 1) != 0)
			budget--;
	}
	if (ocsp == NULL || budget <= 0)
		return;
	n = ca_ocsp_refresh(ocsp, now, (size_t)budget);
	while (n-- > 0)
		eng_limit_count(e->limit, PROTO_C_OCSP_REFRESHED);
}

void
eng_rev_revoked(const struct eng_rt *rt, const uint8_t *serial, size_t len,
    time_t now)
{
	struct eng_rev *rev = rt->rev;
	size_t i;

	eng_ident_revoked(rt, serial, len);	/* issue 17: identity cache */
	if (rev == NULL)
		return;
	pthread_mutex_lock(&rev->lock);
	if (rev->ocsp != NULL)
		ca_ocsp_invalidate(rev->ocsp, serial, len);
	/* With deltas, a revocation is the delta's to publish. */
	for (i = 0; i < rev->ncrls; i++)
		ca_crl_sched_revoked(rev->crls[i].delta_on ?
		    &rev->crls[i].dsched : &rev->crls[i].sched, now);
	pthread_mutex_unlock(&rev->lock);
}

/*
 * For HEALTH (issue 19): the OCSP answer cache's counters and each built
 * CRL's age, size and entries, named by the configured issuer.
 */
void
eng_rev_stats(const struct eng_rt *rt, time_t now,
    struct proto_health_rep *h)
{
	struct eng_rev *rev = rt->rev;
	struct ca_ocsp_stats os;
	const struct eng_rev_crl *c;
	size_t i;

	pthread_mutex_lock(&rev->lock);
	if (rev->ocsp != NULL) {
		ca_ocsp_stats(rev->ocsp, &os);
		h->ocsp_hits = os.hits;
		h->ocsp_misses = os.misses;
		h->ocsp_signatures = os.signatures;
		h->ocsp_evictions = os.evictions;
		h->ocsp_entries = os.entries;
	}
	for (i = 0; i < rev->ncrls && h->ncrls < PROTO_MAX_CRLS; i++) {
		c = &rev->crls[i];
		if (c->crl.len == 0)
			continue;
		snprintf(h->crls[h->ncrls].issuer,
		    sizeof(h->crls[h->ncrls].issuer), "%s", c->ri->iss.name);
		h->crls[h->ncrls].age = now > c->crl.this_update ?
		    (uint64_t)(now - c->crl.this_update) : 0;
		h->crls[h->ncrls].bytes = c->crl.len;
		h->crls[h->ncrls].entries = c->crl.nrevoked;
		h->ncrls++;
	}
	pthread_mutex_unlock(&rev->lock);
}
