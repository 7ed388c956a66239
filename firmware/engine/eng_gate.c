/*
 * The engine's budgets applied to requests (eng_limit.h has the rules):
 * a source over its authentication-failure budget is refused before its
 * evidence is looked at.  Every attempt takes a token from its source's
 * failure bucket before authentication and a success gives it back, so
 * concurrent attempts cannot all slip past a bucket with one token left; identity and tenant buckets are charged only
 * after authentication, the tenant's only for a client that may act in
 * that tenant, so nobody can spend another's budget.
 */
#include <stdio.h>
#include <string.h>

#include "eng_authfail.h"
#include "eng_engine_local.h"

#define GATE_DUE_BATCH	32

static double
lim(int64_t v)
{
	return v > 0 ? (double)v : 0;
}

/*
 * The tenant a request acts in, "" for none.  An EST label is resolved
 * as for nobody in particular (eng_enroll_named): the unlabelled path
 * charges est_default's tenant, as it did when front ends resolved it.
 */
static const char *
req_tenant(const struct eng_rt *rt, const struct proto_request *req)
{
	const char *tenant = "", *profile;

	switch (req->type) {
	case PROTO_T_ISSUE:
	case PROTO_T_REISSUE:
		if (eng_enroll_named(rt, NULL, &req->u.issue, &tenant,
		    &profile, NULL, 0) != PROTO_R_OK)
			return "";
		return tenant;
	case PROTO_T_REVOKE:
		return req->u.revoke.tenant;
	case PROTO_T_GET_CERT:
		return req->u.get.tenant;
	case PROTO_T_LIST_CERTS:
		return req->u.list.tenant;
	case PROTO_T_TOKEN_CREATE:
		return req->u.token.tenant;
	default:
		return "";
	}
}

/* "c:<hash of the certificate>" or "t:<token id>"; "" is unlimited. */
static void
ident_key(const struct proto_request *req, const struct eng_ident *id,
    char key[ENG_LIMIT_KEY])
{
	const struct proto_blob *leaf = &req->ev.chain.certs[0];
	uint8_t md[32];
	size_t i;

	key[0] = '\0';
	if (id->kind == ENG_ID_TOKEN)
		snprintf(key, ENG_LIMIT_KEY, "t:%s", id->tok.id);
	else if ((id->kind == ENG_ID_CLIENT || id->kind == ENG_ID_ISSUED) &&
	    req->ev.chain.ncerts > 0) {
		eng_sha256(leaf->ptr, leaf->len, md);
		memcpy(key, "c:", 2);
		for (i = 0; i < 16; i++)
			snprintf(key + 2 + 2 * i, 3, "%02x", md[i]);
	}
}

static int
gate_refuse(struct eng_reply *r, unsigned retry, const char *what)
{
	r->rep.status.retry_after = retry;
	return eng_reply_fail(r, PROTO_R_RATE_LIMITED, "%s: retry in %u s",
	    what, retry);
}

int
eng_gate_source(struct eng_engine *e, const struct eng_rt *rt,
    const struct proto_evidence *ev, struct eng_reply *r)
{
	const struct sconf_limits *c = &rt->conf->limits;
	struct eng_limit *l = e->limit;
	char key[ENG_LIMIT_KEY];
	unsigned retry;
	int ok;

	eng_limit_source_key(ev->src, ev->src_len, key);
	pthread_mutex_lock(&l->mu);
	ok = eng_bucket_take(&l->authfail, key, eng_limit_now_ms(),
	    lim(c->rate_auth_fail), lim(c->burst_auth_fail), &retry);
	pthread_mutex_unlock(&l->mu);
	if (ok)
		return PROTO_R_OK;
	eng_limit_count(l, PROTO_C_AUTH_SOURCE);
	return gate_refuse(r, retry, "too many failed authentications from "
	    "this address");
}

void
eng_gate_auth_ok(struct eng_engine *e, const struct eng_rt *rt,
    const struct proto_evidence *ev)
{
	const struct sconf_limits *c = &rt->conf->limits;
	struct eng_limit *l = e->limit;
	char key[ENG_LIMIT_KEY];

	eng_limit_source_key(ev->src, ev->src_len, key);
	pthread_mutex_lock(&l->mu);
	eng_bucket_give(&l->authfail, key, eng_limit_now_ms(),
	    lim(c->rate_auth_fail), lim(c->burst_auth_fail));
	pthread_mutex_unlock(&l->mu);
}

int
eng_gate_ocsp(void *gate)
{
	const struct eng_ocsp_gate *g = gate;
	const struct sconf_limits *c = &g->rt->conf->limits;
	struct eng_limit *l = g->e->limit;
	char key[ENG_LIMIT_KEY];
	uint64_t now;
	unsigned retry;
	int ok, capped = 0;

	/* The parent (local operator) has no address and no limit. */
	if (g->ev->src_len == 0)
		return 1;
	eng_limit_source_key(g->ev->src, g->ev->src_len, key);
	now = eng_limit_now_ms();
	pthread_mutex_lock(&l->mu);
	ok = eng_bucket_take(&l->nonce, key, now, lim(c->rate_ocsp_nonce),
	    lim(c->burst_ocsp_nonce), &retry);
	/*
	 * Then the appliance's one bucket (rate_ocsp_sign): many sources
	 * within their budgets still reach the token at the sum of them.
	 * A source refused here keeps its own token: it signed nothing.
	 */
	if (ok && !(ok = eng_bucket_take1(&l->ocsp_all, now,
	    lim(c->rate_ocsp_sign), lim(c->burst_ocsp_sign), &retry))) {
		eng_bucket_give(&l->nonce, key, now, lim(c->rate_ocsp_nonce),
		    lim(c->burst_ocsp_nonce));
		capped = 1;
	}
	pthread_mutex_unlock(&l->mu);
	if (capped)
		eng_limit_count(l, PROTO_C_OCSP_CAPPED);
	return ok;
}

void
eng_gate_ocsp_done(const struct eng_ocsp_gate *g, int signed_nonce,
    int dropped_nonce)
{
	if (signed_nonce)
		eng_limit_count(g->e->limit, PROTO_C_OCSP_NONCE_SIGNED);
	if (dropped_nonce)
		eng_limit_count(g->e->limit, PROTO_C_OCSP_NONCE_DROPPED);
}

static uint64_t
gate_window(const struct eng_rt *rt)
{
	int64_t w = rt->conf->limits.auth_fail_window;

	return w > 0 ? (uint64_t)w : 0;
}

/* One row (and one line) for the failures a window counted. */
static void
gate_summary(struct eng_engine *e, const struct eng_af_summary *s)
{
	char actor[ENG_AF_TEXT + 8], detail[ENG_AF_REASON + 192];

	eng_fmt(actor, sizeof(actor), "source:%s", s->text);
	eng_fmt(detail, sizeof(detail), "count=%llu window=%llus: %llu more "
	    "failed authentications from %s, the last: %s",
	    (unsigned long long)s->count, (unsigned long long)s->window_s,
	    (unsigned long long)s->count, s->text, s->reason);
	log_warnx("msg=\"authentication failures\" source=%s count=%llu "
	    "window=%llus last=\"%s\"", s->text,
	    (unsigned long long)s->count, (unsigned long long)s->window_s,
	    s->reason);
	eng_audit(e, actor, NULL, NULL, AUDIT_AUTH_FAIL, NULL, "denied",
	    detail);
}

void
eng_gate_auth_failed(struct eng_engine *e, const struct eng_rt *rt, int peer,
    const struct proto_evidence *ev, const char *actor, const char *why)
{
	struct eng_limit *l = e->limit;
	struct eng_af_summary sum;
	char key[ENG_LIMIT_KEY], text[ENG_AF_TEXT], detail[PROTO_MAX_STR + 96];
	const char *who;
	int first, have;

	eng_limit_count(l, PROTO_C_AUTH_FAIL);
	if (why == NULL)
		return;
	eng_limit_source_key(ev->src, ev->src_len, key);
	eng_limit_source_text(ev->src, ev->src_len, text, sizeof(text));
	pthread_mutex_lock(&l->mu);
	first = eng_af_note(l->af, key, text, why, eng_limit_now_ms() / 1000,
	    gate_window(rt), &sum, &have);
	pthread_mutex_unlock(&l->mu);
	if (have)
		gate_summary(e, &sum);
	if (!first) {
		eng_limit_count(l, PROTO_C_AUDIT_AGGREGATED);
		eng_limit_count(l, PROTO_C_LOG_DROPPED);
		return;
	}
	who = actor != NULL && actor[0] != '\0' ? actor :
	    ev->kind == PROTO_EV_TOKEN ? "token" : "unknown";
	log_warnx("msg=\"authentication failed\" peer=%d source=%s "
	    "actor=\"%s\" reason=\"%s\"", peer, text, who, why);
	eng_fmt(detail, sizeof(detail), "%s (from %s; more from there in "
	    "this window are counted in one row)", why, text);
	eng_audit(e, who, NULL, NULL, AUDIT_AUTH_FAIL, NULL, "denied", detail);
}

void
eng_engine_tick(struct eng_engine *e, int force)
{
	struct eng_af_summary due[GATE_DUE_BATCH];
	struct eng_limit *l = e->limit;
	uint64_t w, now_s = eng_limit_now_ms() / 1000;
	struct eng_rt *rt;
	size_t i, n;

	/* The loop may turn many times a second; the table is looked at once. */
	if (!force && now_s == l->af_tick_s)
		return;
	l->af_tick_s = now_s;
	rt = eng_engine_rt(e);
	w = gate_window(rt);
	eng_rt_unref(rt);
	do {
		pthread_mutex_lock(&l->mu);
		n = eng_af_due(l->af, now_s, w, force, due, GATE_DUE_BATCH);
		pthread_mutex_unlock(&l->mu);
		for (i = 0; i < n; i++)
			gate_summary(e, &due[i]);
	} while (n == GATE_DUE_BATCH);
}

int
eng_gate_rate(struct eng_engine *e, const struct eng_rt *rt,
    const struct proto_request *req, const struct eng_ident *id,
    struct eng_reply *r)
{
	const struct sconf_limits *c = &rt->conf->limits;
	struct eng_limit *l = e->limit;
	const char *tenant = req_tenant(rt, req);
	char key[ENG_LIMIT_KEY];
	uint64_t now = eng_limit_now_ms();
	unsigned retry = 0;
	int which = -1;

	if (id->kind == ENG_ID_PARENT)
		return PROTO_R_OK;
	ident_key(req, id, key);
	pthread_mutex_lock(&l->mu);
	if (!eng_bucket_take(&l->identity, key, now, lim(c->rate_identity),
	    lim(c->burst_identity), &retry))
		which = PROTO_C_RATE_IDENTITY;
	else if (tenant[0] != '\0' && eng_ident_in_tenant(id, tenant) &&
	    !eng_bucket_take(&l->tenant, tenant, now, lim(c->rate_tenant),
	    lim(c->burst_tenant), &retry))
		which = PROTO_C_RATE_TENANT;
	pthread_mutex_unlock(&l->mu);
	if (which < 0)
		return PROTO_R_OK;
	eng_limit_count(l, which);
	return gate_refuse(r, retry, which == PROTO_C_RATE_IDENTITY ?
	    "rate limit exceeded for this client" :
	    "rate limit exceeded for this tenant");
}
