/*
 * ACME_VA: signet-validator takes one validation at a time (VA_NEXT: a
 * challenge and what to fetch: an http-01 URL, a tls-alpn-01 address and
 * name, a dns-01 TXT name; in `up` a dns identifier whose CAA records it
 * checks first, RFC 8659) and reports what it fetched (VA_RESULT: the
 * body, the certificate, the TXT records); the engine judges that against
 * the key authorization itself (eng_acme_chall.c) and records the verdict, failing the order with
 * a failed authorization (7.1.6).  The queue is the ledger: challenges
 * `processing`, handed out again after ENG_ACME_VA_RETRY seconds.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "eng_acme.h"

/* VA_NEXT: one challenge that waits, and the URL to fetch. */
static int
eng_acme_va_row(const struct ledger_val *v, size_t n, void *arg)
{
	struct eng_acme_authz *z = arg;

	if (n >= 1)
		eng_acme_copy(z->chall, sizeof(z->chall), &v[0]);
	return 1;
}

static int
eng_acme_va_next(struct eng_acme *a)
{
	const struct sconf *c = a->rt->conf;
	struct proto_acme_rep *m = &a->r->rep.u.acme;
	struct ledger_acme_step st;
	struct eng_acme_authz z;
	struct ledger_val arg;
	int64_t now = eng_engine_now(a->e);

	memset(&z, 0, sizeof(z));
	arg = ledger_vi(now - ENG_ACME_VA_RETRY);
	if (ledger_acme_read(a->e->ledger, LA_VA_PENDING, &arg, 1,
	    eng_acme_va_row, &z) != LEDGER_OK) {
		/* Polled 4 times a second: not a line each (PostgreSQL). */
		a->r->quiet = 1;
		return eng_reply_fail(a->r, PROTO_R_UNAVAILABLE,
		    "no ACME tables in this ledger backend");
	}
	m->status = 204;
	if (z.chall[0] == '\0')
		return PROTO_R_OK;
	memset(&st, 0, sizeof(st));
	st.stmt = LA_VA_TAKE;
	st.one = 1;
	st.n = 3;
	st.v[0] = ledger_vt(z.chall);
	st.v[1] = ledger_vi(now);
	st.v[2] = ledger_vi(now - ENG_ACME_VA_RETRY);
	if (ledger_acme_write(a->e->ledger, &st, 1, NULL) != LEDGER_OK ||
	    eng_acme_authz_load(a, LA_AUTHZ_BY_CHALL, z.chall, &z) != 0)
		return PROTO_R_OK;	/* another engine thread took it */
	if (eng_acme_va_url(c, &z, m->location, sizeof(m->location)) != 0)
		return PROTO_R_OK;	/* cannot happen: types are ours */
	/* CAA (RFC 8659): the validator checks the dns identifier first. */
	if (strcmp(z.type, "dns") == 0) {
		eng_fmt(m->up, sizeof(m->up), "%s", z.value);
		/* RFC 8657 accounturi: index carries the account's id. */
		eng_fmt(m->index, sizeof(m->index), "%s", z.account);
	}
	m->status = 200;
	eng_fmt(m->id, sizeof(m->id), "%s", z.chall);
	return PROTO_R_OK;
}

static int
eng_acme_va_result(struct eng_acme *a)
{
	struct ledger_acme_step st[2];
	struct eng_acme_authz z;
	char err[ACME_MAX_PROBLEM + 1], detail[PROTO_MAX_STR + 64];
	char why[128];
	size_t errlen;
	enum acme_problem pt;
	int ok;

	if (a->q->body.len > ENG_ACME_VA_BODY)
		return eng_reply_fail(a->r, PROTO_R_BAD_REQUEST, "body");
	if (eng_acme_authz_load(a, LA_AUTHZ_BY_CHALL, a->q->id, &z) != 0 ||
	    strcmp(z.chall_status, "processing") != 0)
		return eng_reply_fail(a->r, PROTO_R_NOT_FOUND,
		    "no validation pending for that challenge");
	/* The engine judges: the validator only says what it fetched. */
	why[0] = '\0';
	ok = a->q->detail[0] == '\0' &&
	    eng_acme_va_proves(&a->q->body, &z, why, sizeof(why));
	err[0] = '\0';
	if (!ok) {
		/* What failed: reaching it (by kind), or what it said. */
		pt = a->q->detail[0] == '\0' ? ACME_P_INCORRECT_RESPONSE :
		    strncmp(a->q->detail, "caa:", 4) == 0 ? ACME_P_CAA :
		    strcmp(z.chall_type, "dns-01") == 0 ? ACME_P_DNS :
		    strcmp(z.chall_type, "tls-alpn-01") == 0 &&
		    strncmp(a->q->detail, "tls:", 4) == 0 ? ACME_P_TLS :
		    ACME_P_CONNECTION;
		eng_fmt(detail, sizeof(detail), "%s: %s: %s", z.value,
		    z.chall_type, a->q->detail[0] ? a->q->detail : why);
		if (acme_problem_render(pt, detail, err, sizeof(err),
		    &errlen) != ACME_OK)
			err[0] = '\0';
	}
	memset(st, 0, sizeof(st));
	st[0].stmt = LA_CHALL_DONE;
	st[0].one = 1;
	st[0].n = 4;
	st[0].v[0] = ledger_vt(z.chall);
	st[0].v[1] = ledger_vt(ok ? "valid" : "invalid");
	st[0].v[2] = ledger_vi(ok ? eng_engine_now(a->e) : 0);
	st[0].v[3] = ledger_vt(err);
	/* RFC 8555 7.1.6: a failed authorization fails its order. */
	st[1].stmt = LA_ORDER_STATUS;
	st[1].n = 4;
	st[1].v[0] = ledger_vt(z.order);
	st[1].v[1] = ledger_vt("invalid");
	st[1].v[2] = ledger_vt("pending");
	st[1].v[3] = ledger_vt(err);
	if (ledger_acme_write(a->e->ledger, st, ok ? 1 : 2, NULL) !=
	    LEDGER_OK)
		return eng_reply_fail(a->r, PROTO_R_UNAVAILABLE, "ledger");
	if (!ok)	/* acme_failed_authz_per_account (eng_acme_limit.c) */
		eng_acme_limit_failed(a, z.account);
	log_info("msg=\"acme validation\" challenge=%s type=%s identifier=%s "
	    "result=%s detail=\"%s%s\"", z.chall, z.chall_type, z.value,
	    ok ? "valid" : "invalid", a->q->detail, why);
	a->r->rep.u.acme.status = 200;
	return PROTO_R_OK;
}

int
eng_h_acme_va(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_ident *id, const struct proto_request *req,
    struct eng_reply *r)
{
	struct eng_acme a;

	(void)id;
	memset(&a, 0, sizeof(a));
	a.e = e;
	a.rt = rt;
	a.q = &req->u.acme;
	a.r = r;
	if (a.q->op == PROTO_ACME_VA_NEXT)
		return eng_acme_va_next(&a);
	return eng_acme_va_result(&a);
}
