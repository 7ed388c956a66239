/*
 * ACME orders (RFC 8555 7.4-7.5): newOrder with the profile's name
 * policy, authorizations each with one http-01 challenge, the challenge
 * that queues a validation.  Finalize and the certificate are in
 * eng_acme_fin.c, the validator's messages in eng_acme_va.c.  The
 * request frame (JWS, nonce, url, account) was checked by eng_acme.c
 * before any of this runs.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "eng_acme.h"

void
eng_acme_copy(char *dst, size_t size, const struct ledger_val *v)
{
	eng_fmt(dst, size, "%s", v->type == LV_TEXT ? v->s : "");
}

/* Columns of LA_AUTHZ_OF_ORDER, LA_AUTHZ_GET, LA_AUTHZ_BY_CHALL. */
static void
eng_acme_authz_cols(const struct ledger_val *v, size_t n,
    struct eng_acme_authz *z)
{
	eng_acme_copy(z->id, sizeof(z->id), &v[0]);
	eng_acme_copy(z->type, sizeof(z->type), &v[1]);
	eng_acme_copy(z->value, sizeof(z->value), &v[2]);
	eng_acme_copy(z->status, sizeof(z->status), &v[3]);
	z->expires = v[4].i;
	eng_acme_copy(z->chall, sizeof(z->chall), &v[5]);
	eng_acme_copy(z->token, sizeof(z->token), &v[6]);
	eng_acme_copy(z->chall_status, sizeof(z->chall_status), &v[7]);
	z->validated = v[8].i;
	eng_acme_copy(z->error, sizeof(z->error), &v[9]);
	if (n > 10)
		eng_acme_copy(z->chall_type, sizeof(z->chall_type), &v[10]);
	if (n > 11)
		eng_acme_copy(z->order, sizeof(z->order), &v[11]);
	if (n > 12)
		eng_acme_copy(z->account, sizeof(z->account), &v[12]);
	if (n > 13)
		eng_acme_copy(z->thumb, sizeof(z->thumb), &v[13]);
}

static int
eng_acme_authz_row(const struct ledger_val *v, size_t n, void *arg)
{
	struct eng_acme_order *o = arg;

	if (n < 10 || o->nauthz >= ENG_ACME_MAX_AUTHZ)
		return 1;
	eng_acme_authz_cols(v, n, &o->authz[o->nauthz++]);
	return 0;
}

static int
eng_acme_one_authz(const struct ledger_val *v, size_t n, void *arg)
{
	struct eng_acme_authz *z = arg;

	if (n >= 10) {
		eng_acme_authz_cols(v, n, z);
		z->expires = z->expires ? z->expires : 1;
	}
	return 1;
}

static int
eng_acme_order_row(const struct ledger_val *v, size_t n, void *arg)
{
	struct eng_acme_order *o = arg;

	if (n < 5)
		return 1;
	o->found = 1;
	eng_acme_copy(o->status, sizeof(o->status), &v[0]);
	o->expires = v[2].i;
	eng_acme_copy(o->error, sizeof(o->error), &v[3]);
	if (n > 5)
		eng_acme_copy(o->replaces, sizeof(o->replaces), &v[5]);
	if (v[4].type == LV_BLOB && v[4].len > 0 &&
	    (o->cert = malloc(v[4].len)) != NULL) {
		memcpy(o->cert, v[4].b, v[4].len);
		o->cert_len = v[4].len;
	}
	return 1;
}

void
eng_acme_order_free(struct eng_acme_order *o)
{
	free(o->cert);
	free(o->authz);
	memset(o, 0, sizeof(*o));
}

int
eng_acme_status_write(struct eng_acme *a, const char *order, const char *to,
    const char *from, const char *error)
{
	struct ledger_acme_step st;

	memset(&st, 0, sizeof(st));
	st.stmt = LA_ORDER_STATUS;
	st.one = 1;
	st.n = 4;
	st.v[0] = ledger_vt(order);
	st.v[1] = ledger_vt(to);
	st.v[2] = ledger_vt(from);
	st.v[3] = ledger_vt(error);
	return ledger_acme_write(a->e->ledger, &st, 1, NULL);
}

/*
 * Load this account's order and its authorizations, and move a pending
 * order on: invalid once an authorization failed or it expired, ready
 * once every authorization is valid (RFC 8555 7.1.6).
 */
int
eng_acme_order_load(struct eng_acme *a, const char *id,
    struct eng_acme_order *o)
{
	struct ledger_val args[2];
	size_t i, valid = 0, invalid = 0;

	memset(o, 0, sizeof(*o));
	if ((o->authz = calloc(ENG_ACME_MAX_AUTHZ, sizeof(*o->authz))) ==
	    NULL)
		return LEDGER_ERR_NOMEM;
	args[0] = ledger_vt(id);
	args[1] = ledger_vt(a->acct.id);
	if (ledger_acme_read(a->e->ledger, LA_ORDER_GET, args, 2,
	    eng_acme_order_row, o) != LEDGER_OK ||
	    (o->found && ledger_acme_read(a->e->ledger, LA_AUTHZ_OF_ORDER,
	    args, 1, eng_acme_authz_row, o) != LEDGER_OK))
		return LEDGER_ERR_DB;
	if (o->found && strcmp(o->status, "processing") == 0)
		eng_acme_fin_settle(a, id, o);
	if (!o->found || strcmp(o->status, "pending") != 0)
		return LEDGER_OK;
	for (i = 0; i < o->nauthz; i++) {
		valid += strcmp(o->authz[i].status, "valid") == 0;
		invalid += strcmp(o->authz[i].status, "invalid") == 0;
	}
	if (invalid > 0 || o->expires <= eng_engine_now(a->e)) {
		eng_fmt(o->error, sizeof(o->error), "%s", invalid ? "{\"type\":"
		    "\"urn:ietf:params:acme:error:unauthorized\",\"detail\":"
		    "\"an authorization failed\",\"status\":403}" : "{\"type\":"
		    "\"urn:ietf:params:acme:error:malformed\",\"detail\":"
		    "\"order expired\",\"status\":400}");
		if (eng_acme_status_write(a, id, "invalid", "pending",
		    o->error) == LEDGER_OK)
			eng_fmt(o->status, sizeof(o->status), "invalid");
	} else if (valid == o->nauthz && o->nauthz > 0 &&
	    eng_acme_status_write(a, id, "ready", "pending", "") == LEDGER_OK)
		eng_fmt(o->status, sizeof(o->status), "ready");
	return LEDGER_OK;
}

static void
eng_acme_ident(struct eng_acme *a, const struct eng_acme_authz *z)
{
	eng_acme_put(a, "{\"type\":");
	eng_acme_jstr(a, z->type);
	eng_acme_put(a, ",\"value\":");
	eng_acme_jstr(a, z->value);
	eng_acme_put(a, "}");
}

int
eng_acme_order_answer(struct eng_acme *a, const char *id,
    const struct eng_acme_order *o, int status)
{
	char loc[ENG_ACME_BASE_MAX + 64];
	size_t i;

	eng_fmt(loc, sizeof(loc), "%s/order/%s", a->base, id);
	eng_acme_put(a, "{\"status\":");
	eng_acme_jstr(a, o->status);
	eng_acme_put(a, ",\"expires\":");
	eng_acme_time(a, o->expires);
	eng_acme_put(a, ",\"identifiers\":[");
	for (i = 0; i < o->nauthz; i++) {
		eng_acme_put(a, "%s", i ? "," : "");
		eng_acme_ident(a, &o->authz[i]);
	}
	eng_acme_put(a, "],\"authorizations\":[");
	for (i = 0; i < o->nauthz; i++)
		eng_acme_put(a, "%s\"%s/authz/%s\"", i ? "," : "", a->base,
		    o->authz[i].id);
	eng_acme_put(a, "],\"finalize\":\"%s/finalize\"", loc);
	if (strcmp(o->status, "valid") == 0)
		eng_acme_put(a, ",\"certificate\":\"%s/cert/%s\"", a->base, id);
	if (strcmp(o->status, "invalid") == 0 && o->error[0] == '{')
		eng_acme_put(a, ",\"error\":%s", o->error);
	if (o->replaces[0] != '\0') {
		eng_acme_put(a, ",\"replaces\":");
		eng_acme_jstr(a, o->replaces);
	}
	eng_acme_put(a, "}");
	/* RFC 8555 7.4: a processing order, when to look again. */
	if (strcmp(o->status, "processing") == 0)
		a->retry_after = ENG_ACME_POLL_RETRY;
	return eng_acme_answer(a, status, PROTO_ACME_CT_JSON, loc);
}

/*
 * Authorization reuse (issue 20, docs/acme.md "Storage"): the newest
 * valid authorization of this account for this identifier, validated
 * within acme_authz_reuse seconds, becomes step *st: a valid copy in the
 * new order that expires when the reuse window of the original ends.
 * ids: the new authorization's and challenge's ids, and room for the
 * original's.
 * Returns 1 (reused; *until is that end), 0 (none) or -1 (ledger).
 */
struct eng_acme_reuse {
	char	id[ENG_ACME_ID_MAX + 1];
	int64_t	validated;
};

static int
eng_acme_reuse_row(const struct ledger_val *v, size_t n, void *arg)
{
	struct eng_acme_reuse *r = arg;

	if (n >= 2 && v[0].type == LV_TEXT && v[1].type == LV_INT) {
		eng_fmt(r->id, sizeof(r->id), "%s", v[0].s);
		r->validated = v[1].i;
	}
	return 1;
}

static int
eng_acme_reuse(struct eng_acme *a, const struct acme_ident *id,
    const char *oid, char ids[3][ENG_ACME_ID_MAX + 1],
    struct ledger_acme_step *st, int64_t *until)
{
	int64_t now = eng_engine_now(a->e), win = a->rt->conf->acme_authz_reuse;
	struct eng_acme_reuse r;
	struct ledger_val args[4];

	if (win <= 0)
		return 0;
	/* CAA on: never reuse a check older than ENG_ACME_CAA_REUSE. */
	if (win > ENG_ACME_CAA_REUSE && id->type == ACME_ID_DNS &&
	    a->rt->conf->acme_caa_identities.n > 0)
		win = ENG_ACME_CAA_REUSE;
	memset(&r, 0, sizeof(r));
	args[0] = ledger_vt(a->acct.id);
	args[1] = ledger_vt(id->type == ACME_ID_DNS ? "dns" : "ip");
	args[2] = ledger_vt(id->value);
	args[3] = ledger_vi(now - win + 1);
	if (ledger_acme_read(a->e->ledger, LA_AUTHZ_REUSABLE, args, 4,
	    eng_acme_reuse_row, &r) != LEDGER_OK)
		return -1;
	if (r.id[0] == '\0' || r.validated + win <= now)
		return 0;
	*until = r.validated + win;
	/* The step points at ids[], which outlives this call. */
	eng_fmt(ids[2], ENG_ACME_ID_MAX + 1, "%s", r.id);
	st->stmt = LA_AUTHZ_REUSE;
	st->one = 1;
	st->n = 5;
	st->v[0] = ledger_vt(ids[0]);
	st->v[1] = ledger_vt(oid);
	st->v[2] = ledger_vt(ids[1]);
	st->v[3] = ledger_vt(ids[2]);
	st->v[4] = ledger_vi(*until);
	/* ids[1] (the new challenge id) is its own; the row keeps the token
	   of the original, which the client answered already. */
	return 1;
}

/* newOrder: names the profile allows, one authorization each. */
static int
eng_acme_new_order(struct eng_acme *a)
{
	const struct ca_profile *p = ca_tenant_profile(&a->t->t, a->profile);
	struct acme_new_order *no = NULL;
	struct ledger_acme_step *st = NULL;
	struct eng_acme_order o;
	struct ca_name nm;
	struct ca_err cerr;
	char oid[ENG_ACME_ID_MAX + 1], (*ids)[3][ENG_ACME_ID_MAX + 1] = NULL;
	uint8_t ip[16];
	int64_t now = eng_engine_now(a->e), expires, until = 0;
	size_t i;
	int rc, ans;

	memset(&o, 0, sizeof(o));
	if ((no = calloc(1, sizeof(*no))) == NULL ||
	    (st = calloc(LEDGER_ACME_MAX_STEPS, sizeof(*st))) == NULL ||
	    (ids = calloc(ACME_MAX_IDENTS, sizeof(*ids))) == NULL) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "memory");
		goto out;
	}
	if ((rc = acme_new_order_parse(a->jws->payload, a->jws->payloadlen,
	    no)) != ACME_OK) {
		ans = eng_acme_problem(a, ACME_P_MALFORMED, "newOrder: %s",
		    acme_strerror(rc));
		goto out;
	}
	if (p == NULL || strcmp(a->acct.profile, a->profile) != 0) {
		ans = eng_acme_problem(a, ACME_P_UNAUTHORIZED,
		    "account is not bound to this directory's profile");
		goto out;
	}
	if (no->has_not_before || no->has_not_after) {
		ans = eng_acme_problem(a, ACME_P_MALFORMED, "notBefore and "
		    "notAfter are not implemented yet");
		goto out;
	}
	if (no->has_replaces &&
	    (ans = eng_acme_replaces(a, &no->replaces, no)) != -1)
		goto out;
	for (i = 0; i < no->nident; i++) {
		const struct acme_ident *id = &no->ident[i];

		/* A wildcard passes only a profile with allow_wildcard
		   (ca_dns_check) and is offered dns-01 only. */
		memset(&nm, 0, sizeof(nm));
		nm.type = id->type == ACME_ID_DNS ? CA_NAME_DNS : CA_NAME_IP;
		nm.val = (const uint8_t *)id->value;
		nm.len = strlen(id->value);
		if (id->type == ACME_ID_IP) {
			nm.len = inet_pton(AF_INET, id->value, ip) == 1 ? 4 :
			    inet_pton(AF_INET6, id->value, ip) == 1 ? 16 : 0;
			nm.val = ip;
		}
		/* policy: the profile's names, as for a CSR (ca_policy.c). */
		if (nm.len == 0 || ca_policy_name(p, &nm, &cerr) != CA_OK) {
			ans = eng_acme_problem(a, ACME_P_REJECTED_IDENTIFIER,
			    "%s: %s", id->value, nm.len ? cerr.msg : "bad");
			goto out;
		}
	}
	/* Rate limits: failed validations, then orders, of the account. */
	if ((ans = eng_acme_limit_order(a)) != -1)
		goto out;
	if (eng_acme_newid(oid) != 0) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "random");
		goto out;
	}
	st[0].stmt = LA_ORDER_INSERT;
	st[0].one = 1;
	st[0].n = 6;
	st[0].v[0] = ledger_vt(oid);
	st[0].v[1] = ledger_vt(a->acct.id);
	st[0].v[2] = ledger_vt(no->ident[0].value);
	expires = now + a->rt->conf->acme_order_lifetime;
	st[0].v[4] = ledger_vi(now);
	st[0].v[5] = ledger_vt(no->has_replaces ? no->replaces_text : "");
	for (i = 0; i < no->nident; i++) {
		if (eng_acme_newid(ids[i][0]) != 0 ||
		    eng_acme_newid(ids[i][1]) != 0) {
			ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
			    "random");
			goto out;
		}
		/* issue 20: a valid authorization reused; the order
		   expires no later than the reuse does. */
		if ((rc = eng_acme_reuse(a, &no->ident[i], oid, ids[i],
		    &st[1 + i], &until)) < 0) {
			ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
			    "ledger");
			goto out;
		}
		if (rc == 1) {
			if (until < expires)
				expires = until;
			continue;
		}
		st[1 + i].stmt = LA_AUTHZ_INSERT;
		st[1 + i].n = 8;
		st[1 + i].v[0] = ledger_vt(ids[i][0]);
		st[1 + i].v[1] = ledger_vt(oid);
		st[1 + i].v[2] = ledger_vt(a->acct.id);
		st[1 + i].v[3] = ledger_vt(no->ident[i].type == ACME_ID_DNS ?
		    "dns" : "ip");
		st[1 + i].v[4] = ledger_vt(no->ident[i].value);
		st[1 + i].v[5] = ledger_vi(now +
		    a->rt->conf->acme_order_lifetime);
		/* The challenge id doubles as its token: 128 random bits. */
		st[1 + i].v[6] = ledger_vt(ids[i][1]);
		st[1 + i].v[7] = ledger_vt(ids[i][1]);
	}
	st[0].v[3] = ledger_vi(expires);
	if ((rc = ledger_acme_write(a->e->ledger, st, 1 + no->nident, NULL)) !=
	    LEDGER_OK) {
		/* LA_ORDER_INSERT adds no row if replaced already. */
		ans = rc == LEDGER_ERR_STATE && no->has_replaces ?
		    eng_acme_problem(a, ACME_P_ALREADY_REPLACED, "replaces: "
		    "another order replaces this certificate already") :
		    eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger: %s",
		    ledger_strerror(rc));
		goto out;
	}
	if (eng_acme_order_load(a, oid, &o) != LEDGER_OK || !o.found) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger");
		goto out;
	}
	ans = eng_acme_order_answer(a, oid, &o, 201);
out:
	eng_acme_order_free(&o);
	free(ids);
	free(st);
	free(no);
	return ans;
}

static int
eng_acme_order(struct eng_acme *a)
{
	struct eng_acme_order o;
	int ans;

	if (eng_acme_order_load(a, a->q->id, &o) != LEDGER_OK)
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger");
	else if (!o.found)
		ans = eng_acme_problem(a, ACME_P_MALFORMED, "no such order");
	else
		ans = eng_acme_order_answer(a, a->q->id, &o, 200);
	eng_acme_order_free(&o);
	return ans;
}

int
eng_acme_authz_load(struct eng_acme *a, enum ledger_acme_stmt stmt,
    const char *id, struct eng_acme_authz *z)
{
	struct ledger_val args[2];
	char key[ENG_ACME_ID_MAX + 1];

	/* id may point into z, which is cleared first. */
	eng_fmt(key, sizeof(key), "%s", id);
	memset(z, 0, sizeof(*z));
	args[0] = ledger_vt(key);
	args[1] = ledger_vt(a->acct.id);
	if (ledger_acme_read(a->e->ledger, stmt, args,
	    stmt == LA_AUTHZ_BY_CHALL ? 1 : 2, eng_acme_one_authz, z) !=
	    LEDGER_OK)
		return -1;
	return z->expires != 0 ? 0 : 1;
}

int
eng_acme_order_op(struct eng_acme *a)
{
	if (a->q->op != PROTO_ACME_NEW_ORDER && a->q->id[0] == '\0')
		return eng_acme_problem(a, ACME_P_MALFORMED, "no resource id");
	switch (a->q->op) {
	case PROTO_ACME_NEW_ORDER:
		return eng_acme_new_order(a);
	case PROTO_ACME_ORDER:
		return eng_acme_order(a);
	case PROTO_ACME_AUTHZ:
		return eng_acme_authz(a);
	case PROTO_ACME_CHALLENGE:
		return eng_acme_challenge(a);
	case PROTO_ACME_FINALIZE:
		return eng_acme_finalize(a);
	case PROTO_ACME_CERT:
		return eng_acme_cert(a);
	default:
		return eng_acme_problem(a, ACME_P_MALFORMED, "unknown request");
	}
}
