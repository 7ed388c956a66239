/*
 * OCSP and CRLs for relying parties (signet/ca_revoke.h does the work).
 *
 * Each runtime (one configuration) has one OCSP responder over all its
 * issuers, made on the first OCSP request, and one cached CRL per issuer.
 * A CRL is rebuilt when a request finds it due: never built, past 2/3 of
 * its lifetime, or revocations older than the debounce window not yet in
 * it (ca_crl_sched), so a revocation reaches the CRL within a minute of
 * the first fetch after it.  Revoking drops the serial's cached OCSP
 * answers at once.
 *
 * Issuer names are per tenant; a CRL request names an issuer and the
 * first tenant (in configuration order) with that issuer answers.  The
 * empty name means the issuer of est_default's profile.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <signet/ca_revoke.h>

#include "ca_engine_local.h"

#define CA_REV_DEBOUNCE 30
/*
 * With a shared ledger (pgsql: several appliances) another node may
 * revoke: cached OCSP answers and CRLs older than this are rebuilt from
 * the ledger, so every node reports a revocation within a minute.
 */
#define CA_REV_SHARED_FRESH 45

struct ca_rev_crl {
	const struct ca_rt_issuer *ri;
	struct ca_crl crl;	/* len 0 until built */
	struct ca_crl_sched sched;
};

struct ca_rev {
	pthread_mutex_t lock;
	struct ca_ocsp *ocsp;
	int ocsp_failed;
	struct ca_rev_crl *crls;
	size_t ncrls;
	int crls_ready;
};

struct ca_rev *
ca_rev_new(void)
{
	struct ca_rev *rev = calloc(1, sizeof(*rev));

	if (rev != NULL)
		pthread_mutex_init(&rev->lock, NULL);
	return rev;
}

void
ca_rev_free(struct ca_rev *rev)
{
	size_t i;

	if (rev == NULL)
		return;
	ca_ocsp_free(rev->ocsp);
	for (i = 0; i < rev->ncrls; i++)
		ca_crl_free(&rev->crls[i].crl);
	free(rev->crls);
	pthread_mutex_destroy(&rev->lock);
	free(rev);
}

static int
shared_ledger(const struct ca_rt *rt)
{
	return rt->conf->storage_backend != NULL &&
	    strcmp(rt->conf->storage_backend, "sqlite") != 0;
}

/* Makes the responder with every ready issuer; rev->lock held. */
static int
ocsp_make(struct ca_engine *e, const struct ca_rt *rt, struct ca_err *err)
{
	struct ca_ocsp_config cfg;
	size_t i, j;

	memset(&cfg, 0, sizeof(cfg));
	cfg.ledger = e->ledger;
	cfg.validity = rt->conf->ocsp_validity;
	if (shared_ledger(rt) && (cfg.validity == 0 ||
	    cfg.validity > 2 * CA_REV_SHARED_FRESH))
		cfg.refresh = CA_REV_SHARED_FRESH;
	if (ca_ocsp_new(&cfg, &rt->rev->ocsp) != CA_OK)
		return -1;
	for (i = 0; i < rt->ntenants; i++)
		for (j = 0; j < rt->tenants[i].nissuers; j++) {
			const struct ca_rt_issuer *ri =
			    &rt->tenants[i].issuers[j];

			if (ri->ready && ca_ocsp_add_issuer(rt->rev->ocsp,
			    &ri->iss, NULL, NULL, err) != CA_OK)
				return -1;
		}
	return 0;
}

static int
h_ocsp(struct ca_engine *e, const struct ca_rt *rt,
    const struct proto_request *req, struct ca_reply *r)
{
	struct ca_rev *rev = rt->rev;
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
		ca_log_warnx("msg=\"OCSP responder unavailable\" error=\"%s\"",
		    err.msg);
	}
	ok = rev->ocsp != NULL;
	pthread_mutex_unlock(&rev->lock);
	if (!ok)
		return ca_reply_fail(r, PROTO_R_UNAVAILABLE, "OCSP responder "
		    "unavailable");
	memset(&ans, 0, sizeof(ans));
	/* Every request gets an OCSPResponse, malformed ones included. */
	if (ca_ocsp_respond(rev->ocsp, req->u.ocsp.der.ptr,
	    req->u.ocsp.der.len, ca_engine_now(e), &ans, &err) != CA_OK ||
	    ans.der == NULL)
		return ca_reply_fail(r, PROTO_R_INTERNAL, "OCSP: %s", err.msg);
	r->mem[0] = ans.der;
	r->rep.u.der.ptr = ans.der;
	r->rep.u.der.len = ans.len;
	return PROTO_R_OK;
}

/* The CRL slots, one per ready issuer; rev->lock held. */
static int
crls_make(const struct ca_rt *rt)
{
	struct ca_rev *rev = rt->rev;
	size_t i, j, n = 0;

	for (i = 0; i < rt->ntenants; i++)
		n += rt->tenants[i].nissuers;
	if ((rev->crls = calloc(n + 1, sizeof(*rev->crls))) == NULL)
		return -1;
	for (i = 0; i < rt->ntenants; i++)
		for (j = 0; j < rt->tenants[i].nissuers; j++) {
			struct ca_rev_crl *c = &rev->crls[rev->ncrls];

			if (!rt->tenants[i].issuers[j].ready)
				continue;
			c->ri = &rt->tenants[i].issuers[j];
			ca_crl_sched_init(&c->sched, CA_REV_DEBOUNCE);
			rev->ncrls++;
		}
	rev->crls_ready = 1;
	return 0;
}

static struct ca_rev_crl *
crl_find(const struct ca_rt *rt, const char *name)
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

static int
h_crl(struct ca_engine *e, const struct ca_rt *rt,
    const struct proto_request *req, struct ca_reply *r)
{
	struct ca_rev *rev = rt->rev;
	struct ca_rev_crl *c;
	struct ca_crl fresh;
	struct ca_err err;
	time_t now = ca_engine_now(e);
	uint64_t gen;
	int rc = PROTO_R_OK;

	memset(&err, 0, sizeof(err));
	memset(&fresh, 0, sizeof(fresh));
	/* Builds are rare; one lock keeps two requests from building twice. */
	pthread_mutex_lock(&rev->lock);
	if (!rev->crls_ready && crls_make(rt) != 0) {
		rc = ca_reply_fail(r, PROTO_R_INTERNAL, "out of memory");
		goto out;
	}
	if ((c = crl_find(rt, req->u.crl.issuer)) == NULL) {
		rc = ca_reply_fail(r, PROTO_R_NOT_FOUND, "no issuer \"%s\"",
		    req->u.crl.issuer);
		goto out;
	}
	if (c->crl.len == 0 || ca_crl_sched_should_build(&c->sched, now) ||
	    (shared_ledger(rt) &&
	    now - c->crl.this_update >= CA_REV_SHARED_FRESH)) {
		gen = ca_crl_sched_begin(&c->sched);
		if (ca_crl_build(&c->ri->iss, e->ledger, now,
		    rt->conf->crl_next_update, &fresh, &err) != CA_OK) {
			ca_crl_sched_built(&c->sched, gen, 0, 0);
			/* A stale CRL still valid beats none. */
			if (c->crl.len == 0 || c->crl.next_update <= now) {
				rc = ca_reply_fail(r, PROTO_R_UNAVAILABLE,
				    "CRL: %s", err.msg);
				goto out;
			}
			ca_log_warnx("msg=\"CRL rebuild failed; serving the "
			    "previous one\" issuer=%s error=\"%s\"",
			    c->ri->iss.name, err.msg);
		} else {
			ca_crl_sched_built(&c->sched, gen, fresh.this_update,
			    fresh.next_update);
			ca_crl_free(&c->crl);
			c->crl = fresh;
			memset(&fresh, 0, sizeof(fresh));
			ca_log_info("msg=\"CRL built\" issuer=%s number=%llu "
			    "entries=%zu", c->ri->iss.name,
			    (unsigned long long)c->crl.number, c->crl.nrevoked);
		}
	}
	if ((r->mem[0] = malloc(c->crl.len)) == NULL) {
		rc = ca_reply_fail(r, PROTO_R_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(r->mem[0], c->crl.der, c->crl.len);
	r->rep.u.der.ptr = r->mem[0];
	r->rep.u.der.len = c->crl.len;
out:
	pthread_mutex_unlock(&rev->lock);
	ca_crl_free(&fresh);
	return rc;
}

void
ca_rev_revoked(const struct ca_rt *rt, const uint8_t *serial, size_t len,
    time_t now)
{
	struct ca_rev *rev = rt->rev;
	size_t i;

	if (rev == NULL)
		return;
	pthread_mutex_lock(&rev->lock);
	if (rev->ocsp != NULL)
		ca_ocsp_invalidate(rev->ocsp, serial, len);
	for (i = 0; i < rev->ncrls; i++)
		ca_crl_sched_revoked(&rev->crls[i].sched, now);
	pthread_mutex_unlock(&rev->lock);
}

int
ca_h_revocation(struct ca_engine *e, const struct ca_rt *rt,
    const struct proto_request *req, struct ca_reply *r)
{
	if (req->type == PROTO_T_OCSP)
		return h_ocsp(e, rt, req, r);
	return h_crl(e, rt, req, r);
}
