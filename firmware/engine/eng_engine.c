/*
 * The engine proper: one request datagram in, one reply datagram out.
 * Decoding and admission come first (STYLE.md 4 and 6): a message that
 * does not decode, or that the dispatch table (eng_dispatch.c) refuses,
 * makes the caller close that peer's channel.  Everything after that is
 * an answer, never a crash (STYLE.md 9).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signet/hsm.h>

#include "eng_engine_local.h"

int
eng_engine_new(const struct eng_engine_config *cfg, struct eng_rt *rt,
    struct eng_engine **out)
{
	struct eng_engine *e;

	if (cfg == NULL || cfg->hsm == NULL || cfg->ledger == NULL ||
	    rt == NULL || (e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	if (pthread_mutex_init(&e->lock, NULL) != 0) {
		free(e);
		return -1;
	}
	if ((e->limit = eng_limit_new()) == NULL ||
	    (e->stats = eng_stats_new()) == NULL ||
	    eng_psk_new(cfg->hsm, &e->psk) != 0) {
		eng_limit_free(e->limit);
		eng_stats_free(e->stats);
		pthread_mutex_destroy(&e->lock);
		free(e);
		return -1;
	}
	e->hsm = cfg->hsm;
	e->ledger = cfg->ledger;
	e->fixed_now = cfg->now;
	e->rt = rt;
	atomic_init(&e->draining, 0);
	atomic_init(&e->ledger_ok, 1);
	atomic_init(&e->issued, 0);
	atomic_init(&e->notify_rescan, 0);
	e->started = time(NULL);
	*out = e;
	return 0;
}

void
eng_engine_free(struct eng_engine *e)
{
	if (e == NULL)
		return;
	eng_rt_unref(e->rt);
	eng_psk_free(e->psk);
	eng_limit_free(e->limit);
	eng_stats_free(e->stats);
	eng_notify_wipe(e);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void
eng_engine_swap(struct eng_engine *e, struct eng_rt *rt)
{
	struct eng_rt *old;

	pthread_mutex_lock(&e->lock);
	old = e->rt;
	e->rt = rt;
	/* The expiring gauge's windows are the old configuration's. */
	e->nexpiring = 0;
	pthread_mutex_unlock(&e->lock);
	atomic_store(&e->notify_rescan, 1);
	/* Requests still running keep their own reference to the old one. */
	eng_rt_unref(old);
}

struct eng_rt *
eng_engine_rt(struct eng_engine *e)
{
	struct eng_rt *rt;

	pthread_mutex_lock(&e->lock);
	rt = eng_rt_ref(e->rt);
	pthread_mutex_unlock(&e->lock);
	return rt;
}

time_t
eng_engine_now(const struct eng_engine *e)
{
	return e->fixed_now != 0 ? e->fixed_now : time(NULL);
}

void
eng_engine_drain(struct eng_engine *e)
{
	atomic_store(&e->draining, 1);
}

int
eng_engine_state(struct eng_engine *e)
{
	struct hsm_status st;

	if (atomic_load(&e->draining))
		return PROTO_STATE_DRAINING;
	hsm_status(e->hsm, &st);
	/*
	 * Only the token gates admission: it recovers by itself and fails
	 * fast.  A ledger failure fails each issuance closed on its own,
	 * and the next one tries again, so a disk that comes back needs no
	 * restart.
	 */
	if (st.state != HSM_STATE_UP)
		return PROTO_STATE_DEGRADED;
	return PROTO_STATE_READY;
}

void
eng_token_reason(struct eng_engine *e, char *buf, size_t size)
{
	struct hsm_status st;

	buf[0] = '\0';
	hsm_status(e->hsm, &st);
	if (st.state == HSM_STATE_UP)
		return;
	snprintf(buf, size, "token %s: %s", st.state == HSM_STATE_FAILED ?
	    "failed" : "down", st.last_ckr != 0 ? hsm_ckr_name(st.last_ckr) :
	    hsm_strerror(st.last_rc));
}

int
eng_audit(struct eng_engine *e, const char *actor, const char *role,
    const char *tenant, enum audit_action action, const char *object,
    const char *result, const char *detail)
{
	struct audit_record rec;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.actor = actor;
	rec.role = role;
	rec.tenant = tenant;
	rec.action = action;
	rec.object = object;
	rec.result = result;
	rec.detail = detail;
	if ((rc = ledger_audit(e->ledger, &rec, NULL)) != LEDGER_OK)
		log_warnx("msg=\"audit record lost\" action=%s actor=\"%s\" "
		    "error=\"%s\"", audit_action_name(action),
		    actor ? actor : "", ledger_strerror(rc));
	return rc;
}

int
eng_audit_id(struct eng_engine *e, const struct eng_ident *id,
    const char *tenant, enum audit_action action, const char *object,
    const char *result, const char *detail)
{
	char full[AUDIT_MAX_FIELD];

	return eng_audit(e, id->actor, id->role, tenant, action, object,
	    result, eng_audit_detail(id, detail, full, sizeof(full)));
}

void
eng_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

int
eng_reply_fail(struct eng_reply *r, int result, const char *fmt, ...)
{
	va_list ap;

	r->rep.status.result = (uint8_t)result;
	va_start(ap, fmt);
	vsnprintf(r->rep.status.message, sizeof(r->rep.status.message), fmt,
	    ap);
	va_end(ap);
	return result;
}

void
eng_reply_clear(struct eng_reply *r)
{
	size_t i;

	for (i = 0; i < sizeof(r->mem) / sizeof(r->mem[0]); i++)
		free(r->mem[i]);
	ledger_certs_free(r->rows, r->nrows);
	if (r->have_row)
		ledger_cert_clear(&r->row);
	/* A TOKEN_CREATE reply holds the only copy of a secret. */
	explicit_bzero(r, sizeof(*r));
}

/* The token's state, counters and signing times (issue 19). */
static void
eng_health_token(const struct hsm_status *st, struct proto_token_stats *t)
{
	size_t i;

	t->state = st->state == HSM_STATE_UP ? 0 :
	    st->state == HSM_STATE_DOWN ? 1 : 2;
	t->faults = st->faults;
	t->recoveries = st->recoveries;
	t->recovery_attempts = st->recovery_attempts;
	t->signatures = st->signatures;
	t->pool_size = st->pool_size;
	t->sessions_busy = st->sessions_busy;
	_Static_assert(HSM_SIGN_BUCKETS <= PROTO_MAX_BUCKETS,
	    "the signing histogram must fit the engine protocol");
	for (i = 0; i < HSM_SIGN_BUCKETS; i++) {
		t->le_us[i] = st->sign_le_us[i];
		t->count[i] = st->sign_count[i];
	}
	t->nbuckets = HSM_SIGN_BUCKETS;
	t->sum_us = st->sign_us_sum;
}

int
eng_h_health(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_ident *id, const struct proto_request *req, struct eng_reply *r)
{
	struct proto_health_rep *h = &r->rep.u.health;
	struct ledger_counts c;
	struct ledger_stats ls;
	struct hsm_status st;

	hsm_status(e->hsm, &st);
	h->state = (uint8_t)eng_engine_state(e);
	h->token_ok = st.state == HSM_STATE_UP;
	h->ledger_ok = ledger_count(e->ledger, NULL, &c) == LEDGER_OK;
	h->audit_ok = h->ledger_ok && atomic_load(&e->ledger_ok);
	h->uptime = (uint64_t)(time(NULL) - e->started);
	h->issued = atomic_load(&e->issued);
	snprintf(h->version, sizeof(h->version), "signet-engine %s",
	    SIGNET_VERSION);
	eng_limit_counters(e->limit, h->counters);
	eng_stats_health(e->stats, h);
	eng_health_token(&st, &h->token);
	ledger_stats(e->ledger, &ls);
	h->ledger_ops = ls.ops;
	h->ledger_transactions = ls.transactions;
	_Static_assert(LEDGER_COMMIT_BUCKETS <= PROTO_MAX_BUCKETS,
	    "the commit histogram must fit the engine protocol");
	memcpy(h->ledger_commit.le_us, ls.commit_le_us,
	    sizeof(ls.commit_le_us));
	memcpy(h->ledger_commit.count, ls.commit_count,
	    sizeof(ls.commit_count));
	h->ledger_commit.nbuckets = LEDGER_COMMIT_BUCKETS;
	h->ledger_commit.sum_us = ls.commit_sum_us;
	h->ledger_sqlite_mem = ls.sqlite_mem;
	if (rt != NULL && rt->rev != NULL)
		eng_rev_stats(rt, time(NULL), h);
	pthread_mutex_lock(&e->lock);
	h->nfailed = e->nfailed;
	memcpy(h->failed, e->failed, sizeof(h->failed));
	pthread_mutex_unlock(&e->lock);
	if (rt != NULL)
		eng_notify_health(e, rt, h);
	return PROTO_R_OK;
}

void
eng_engine_set_failed(struct eng_engine *e, const struct proto_failed *f,
    uint8_t n)
{
	uint8_t i, had;

	pthread_mutex_lock(&e->lock);
	had = e->nfailed;
	memset(e->failed, 0, sizeof(e->failed));
	e->nfailed = n <= PROTO_MAX_FAILED ? n : 0;
	memcpy(e->failed, f, e->nfailed * sizeof(*f));
	pthread_mutex_unlock(&e->lock);
	for (i = 0; i < e->nfailed; i++)
		log_warnx("msg=\"signetd marked a child failed\" child=%s "
		    "error=%s", f[i].child, log_quote(f[i].error));
	if (n == 0 && had > 0)
		log_info("msg=\"no child marked failed any more\"");
}

/*
 * Issue 19: issuances, refusals by result and revocations per configured
 * target.  The handlers name the target once they resolved it against the
 * runtime (r->tenant, r->profile); a refusal before that counts in the
 * row of no target.
 */
static void
eng_count(struct eng_engine *e, uint16_t type, const struct eng_reply *r)
{
	int result = r->rep.status.result;

	if (type == PROTO_T_ISSUE || type == PROTO_T_REISSUE)
		eng_stats_count(e->stats, r->tenant, r->profile,
		    result == PROTO_R_OK ? ENG_ST_ISSUED : ENG_ST_REFUSED,
		    result);
	else if (type == PROTO_T_REVOKE && result == PROTO_R_OK)
		eng_stats_count(e->stats, r->tenant, r->profile,
		    ENG_ST_REVOKED, result);
}

/* Encode r; if the payload does not fit, answer INTERNAL instead. */
static int
eng_encode(struct eng_reply *r, uint16_t type, uint8_t *out, size_t size,
    size_t *outlen)
{
	struct proto_reply fail;
	int perr;

	r->rep.type = type;
	if ((perr = proto_reply_encode(&r->rep, out, size, outlen)) ==
	    PROTO_OK)
		return 0;
	log_warnx("msg=\"reply does not encode\" type=%s error=\"%s\"",
	    proto_type_name(type), proto_strerror(perr));
	memset(&fail, 0, sizeof(fail));
	fail.type = type;
	fail.status.result = PROTO_R_INTERNAL;
	snprintf(fail.status.message, sizeof(fail.status.message),
	    "reply does not fit the engine protocol");
	return proto_reply_encode(&fail, out, size, outlen) == PROTO_OK ? 0 :
	    -1;
}

int
eng_engine_request(struct eng_engine *e, int peer, uint16_t type,
    const uint8_t *body, size_t len, uint8_t *out, size_t size,
    size_t *outlen)
{
	struct proto_request req;
	struct eng_reply r;
	struct eng_rt *rt = NULL;
	char why[PROTO_MAX_STR + 1];
	int perm, perr, rc = -1;

	memset(&r, 0, sizeof(r));
	if ((perr = proto_request_decode(type, body, len, &req)) != PROTO_OK) {
		log_warnx("msg=\"malformed message, closing channel\" "
		    "peer=%d type=%u error=\"%s\"", peer, type,
		    proto_strerror(perr));
		goto out;
	}
	perm = eng_admit(&req, peer, eng_engine_state(e));
	if (perm == PROTO_PERM_CLOSE) {
		log_warnx("msg=\"message not permitted, closing channel\" "
		    "peer=%d type=%s", peer, proto_type_name(type));
		eng_audit(e, "front end", NULL, NULL, AUDIT_AUTH_FAIL,
		    proto_type_name(type), "denied",
		    "message not permitted on this channel");
		goto out;
	}
	if (perm == PROTO_PERM_UNAVAILABLE) {
		eng_token_reason(e, why, sizeof(why));
		eng_reply_fail(&r, PROTO_R_UNAVAILABLE, "%s", why[0] ? why :
		    atomic_load(&e->draining) ? "engine is shutting down" :
		    "engine unavailable");
	} else {
		rt = eng_engine_rt(e);
		eng_dispatch(e, rt, peer, &req, &r);
	}
	/*
	 * Refusals by a budget are counted, and failed authentications
	 * logged by the gate: a flood of either writes no line each.
	 */
	eng_count(e, type, &r);
	if (r.rep.status.result != PROTO_R_OK && !r.quiet)
		log_info("msg=refused type=%s result=\"%s\" reason=\"%s\"",
		    proto_type_name(type),
		    proto_result_name(r.rep.status.result),
		    r.rep.status.message);
	rc = eng_encode(&r, type, out, size, outlen);
out:
	eng_reply_clear(&r);
	eng_rt_unref(rt);
	proto_wipe(&req, sizeof(req));
	return rc;
}
