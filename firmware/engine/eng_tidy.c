/*
 * Storage hygiene (issue 19): certificates that expired more than their
 * tenant's retention ago (issued, revoked or abandoned), and enrollment
 * tokens that expired or were used up that long ago, leave the ledger.
 *
 * A run goes tenant by tenant in batches of tidy.batch rows a table
 * (ledger_tidy: one op in the group commit, so issuance shares the
 * commit and never waits behind more than one batch), and, when other
 * writes committed since the last batch (the ledger's op count moved by
 * more than the batch's own op), rests after each full batch as long as
 * the batch took, so at most half of the writer's time goes to tidying
 * while others write.  With nobody else writing it goes on at once: the
 * rest only halved a lone tidy (1M rows, docs/decisions.md).
 * Every run of a tenant is audited with what it removed; the rows' own
 * audit records stay, and the chain still verifies.
 *
 * Runs come from the schedule (tidy.interval, on the engine's tidy
 * thread, eng_serve.c) and from an operator (TIDY, POST /v1/tidy,
 * `signetctl tidy`), which runs for at most ENG_TIDY_CALL_MS and says
 * whether it finished; the caller asks again until it has.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "eng_engine_local.h"

#define ENG_TIDY_CALL_MS	2000	/* one TIDY request (front end: 5 s) */
#define ENG_TIDY_REST_MAX_MS	100	/* rest after a batch, at most */
#define ENG_TIDY_BATCH		100	/* tidy.batch default */
#define ENG_TIDY_RETENTION	(30 * 86400)	/* tenant retention default */

static int64_t
eng_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
eng_rest_ms(int64_t ms)
{
	struct timespec ts;

	if (ms < 1)
		ms = 1;
	if (ms > ENG_TIDY_REST_MAX_MS)
		ms = ENG_TIDY_REST_MAX_MS;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000;
	nanosleep(&ts, NULL);
}

/*
 * Tidy tenant t until nothing is left to remove, budget_ms (0: none) has
 * passed or *stop is set; then audit the run.  Returns a ledger_rc.
 */
int
eng_tidy_tenant(struct eng_engine *e, const struct eng_rt *rt,
    const struct eng_rt_tenant *t, const char *actor, const char *role,
    int64_t budget_ms, const atomic_int *stop, struct eng_tidy_result *res)
{
	char detail[192];
	struct ledger_stats ls;
	uint64_t nc, nt, ops;
	size_t batch = rt->conf->tidy_batch > 0 ?
	    (size_t)rt->conf->tidy_batch : ENG_TIDY_BATCH;
	int64_t retention = t->conf->retention > 0 ? t->conf->retention :
	    ENG_TIDY_RETENTION;
	int64_t start = eng_mono_ms(), t0, took = 0;
	int rc = LEDGER_OK;

	if (batch > LEDGER_TIDY_MAX)
		batch = LEDGER_TIDY_MAX;
	memset(res, 0, sizeof(*res));
	res->cutoff = (int64_t)eng_engine_now(e) - retention;
	ledger_stats(e->ledger, &ls);
	ops = ls.ops;
	for (;;) {
		/*
		 * No batch is started that the last one's time says would
		 * end past the budget: a slow ledger must not hold a request
		 * past the front end's 5 s deadline (one call took 4.8 s,
		 * answered 503, in a 1M-row tidy on a loaded machine).  The
		 * first batch always runs, so every call makes progress.
		 */
		if ((stop != NULL && atomic_load(stop)) ||
		    (budget_ms > 0 && eng_mono_ms() - start + took >=
		    budget_ms))
			break;
		t0 = eng_mono_ms();
		rc = ledger_tidy(e->ledger, t->t.name, res->cutoff, batch, &nc,
		    &nt);
		if (rc != LEDGER_OK)
			break;
		res->certs += nc;
		res->tokens += nt;
		if (nc < batch && nt < batch) {
			res->done = 1;
			break;
		}
		/*
		 * Half of the writer for tidying, at most, while others
		 * write: they committed since the last look if the count
		 * moved by more than this batch's op.
		 */
		took = eng_mono_ms() - t0;
		ledger_stats(e->ledger, &ls);
		if (ls.ops - ops > 1)
			eng_rest_ms(took);
		ops = ls.ops;
	}
	eng_fmt(detail, sizeof(detail), "certs=%llu tokens=%llu cutoff=%lld "
	    "retention=%llds done=%d ms=%lld",
	    (unsigned long long)res->certs, (unsigned long long)res->tokens,
	    (long long)res->cutoff, (long long)retention, res->done,
	    (long long)(eng_mono_ms() - start));
	eng_audit(e, actor, role, t->t.name, AUDIT_TIDY, NULL,
	    rc == LEDGER_OK ? "ok" : "error", rc == LEDGER_OK ? detail :
	    ledger_strerror(rc));
	if (rc != LEDGER_OK)
		log_warnx("msg=\"tidy failed\" tenant=%s error=\"%s\" %s",
		    t->t.name, ledger_strerror(rc), detail);
	else if (res->certs > 0 || res->tokens > 0 || actor[0] != '\0')
		log_info("msg=tidied tenant=%s actor=\"%s\" %s", t->t.name,
		    actor, detail);
	return rc;
}

/*
 * The schedule, once a second from the tidy thread: every tidy.interval
 * (0: never) every tenant is tidied to the end, or until *stop.
 */
void
eng_tidy_tick(struct eng_engine *e, const struct eng_rt *rt,
    const atomic_int *stop)
{
	struct eng_tidy_result res;
	time_t now = time(NULL);
	size_t i;

	if (rt->conf->tidy_interval <= 0) {
		e->tidy_next = 0;
		return;
	}
	if (e->tidy_next == 0)
		e->tidy_next = now + rt->conf->tidy_interval;
	if (now < e->tidy_next)
		return;
	for (i = 0; i < rt->ntenants && !atomic_load(stop); i++)
		eng_tidy_tenant(e, rt, &rt->tenants[i], "signetd:tidy",
		    "operator", 0, stop, &res);
	e->tidy_next = time(NULL) + rt->conf->tidy_interval;
}

/* TIDY: an operator of the tenant asks for a run now. */
int
eng_h_tidy(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_ident *id, const struct proto_request *req,
    struct eng_reply *r)
{
	const struct proto_tidy_req *q = &req->u.tidy;
	const struct eng_rt_tenant *t = NULL;
	struct eng_tidy_result res;
	char msg[PROTO_MAX_STR + 1];
	int rc;

	/* policy: removing rows is an operator's decision, in its tenants. */
	if (!sconf_role_in(id->role, SCONF_ROLE_BIT(SCONF_ROLE_OPERATOR)))
		eng_fmt(msg, sizeof(msg), "role %s may not tidy", id->role);
	else if (!eng_ident_in_tenant(id, q->tenant) ||
	    (t = eng_rt_tenant(rt, q->tenant)) == NULL)
		eng_fmt(msg, sizeof(msg), "%s may not tidy in tenant %s",
		    id->actor, q->tenant);
	else
		goto allowed;
	eng_audit_id(e, id, q->tenant, AUDIT_REFUSE, NULL,
	    "denied", msg);
	return eng_reply_fail(r, PROTO_R_FORBIDDEN, "%s", msg);
allowed:
	rc = eng_tidy_tenant(e, rt, t, id->actor, id->role, ENG_TIDY_CALL_MS,
	    &e->draining, &res);
	if (rc != LEDGER_OK)
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE, "ledger: %s",
		    ledger_strerror(rc));
	r->rep.u.tidy.certs = res.certs;
	r->rep.u.tidy.tokens = res.tokens;
	r->rep.u.tidy.cutoff = res.cutoff > 0 ? (uint64_t)res.cutoff : 0;
	r->rep.u.tidy.done = (uint8_t)res.done;
	return PROTO_R_OK;
}
