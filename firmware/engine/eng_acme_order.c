/*
 * ACME orders (RFC 8555 7.4-7.5): newOrder with the profile's name
 * policy, authorizations each with one http-01 challenge, the
 * validator's work queue and verdict, finalize through the one issuance
 * path (eng_enroll_sign: policy, lint, ledger, audit as for EST), and
 * the certificate as a PEM chain.  The request frame (JWS, nonce, url,
 * account) was checked by eng_acme.c before any of this runs.
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

#define ENG_ACME_ORDER_TTL	86400	/* seconds an order may wait */
#define ENG_ACME_VA_RETRY	30	/* hand a validation out again after */
#define ENG_ACME_VA_BODY	8192	/* the validator's body, at most */
#define ENG_ACME_MAX_AUTHZ	ACME_MAX_IDENTS

struct eng_acme_authz {
	char	id[ENG_ACME_ID_MAX + 1];
	char	type[8];
	char	value[ACME_MAX_IDENT + 1];
	char	status[16];
	int64_t	expires;
	char	chall[ENG_ACME_ID_MAX + 1];
	char	token[ENG_ACME_ID_MAX + 24];
	char	chall_status[16];
	int64_t	validated;
	char	error[ACME_MAX_PROBLEM + 1];
	char	order[ENG_ACME_ID_MAX + 1];
	char	account[ENG_ACME_ID_MAX + 1];
	char	thumb[44];
};

struct eng_acme_order {
	int			 found;
	char			 status[16];
	int64_t			 expires;
	char			 error[ACME_MAX_PROBLEM + 1];
	uint8_t			*cert;	/* owned DER */
	size_t			 cert_len;
	size_t			 nauthz;
	struct eng_acme_authz	*authz;	/* owned, ENG_ACME_MAX_AUTHZ */
};

static void
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
		eng_acme_copy(z->order, sizeof(z->order), &v[10]);
	if (n > 11)
		eng_acme_copy(z->account, sizeof(z->account), &v[11]);
	if (n > 12)
		eng_acme_copy(z->thumb, sizeof(z->thumb), &v[12]);
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
	if (v[4].type == LV_BLOB && v[4].len > 0 &&
	    (o->cert = malloc(v[4].len)) != NULL) {
		memcpy(o->cert, v[4].b, v[4].len);
		o->cert_len = v[4].len;
	}
	return 1;
}

static void
eng_acme_order_free(struct eng_acme_order *o)
{
	free(o->cert);
	free(o->authz);
	memset(o, 0, sizeof(*o));
}

static int
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
static int
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

static int
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
	eng_acme_put(a, "}");
	return eng_acme_answer(a, status, PROTO_ACME_CT_JSON, loc);
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
	char oid[ENG_ACME_ID_MAX + 1], (*ids)[2][ENG_ACME_ID_MAX + 1] = NULL;
	uint8_t ip[16];
	int64_t now = eng_engine_now(a->e);
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
	if (no->has_replaces || no->has_not_before || no->has_not_after) {
		ans = eng_acme_problem(a, ACME_P_MALFORMED, "notBefore, "
		    "notAfter and replaces are not implemented yet");
		goto out;
	}
	for (i = 0; i < no->nident; i++) {
		const struct acme_ident *id = &no->ident[i];

		if (id->type == ACME_ID_DNS && id->value[0] == '*') {
			ans = eng_acme_problem(a, ACME_P_REJECTED_IDENTIFIER,
			    "%s: wildcards need dns-01, not offered yet",
			    id->value);
			goto out;
		}
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
	if (eng_acme_newid(oid) != 0) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "random");
		goto out;
	}
	st[0].stmt = LA_ORDER_INSERT;
	st[0].n = 5;
	st[0].v[0] = ledger_vt(oid);
	st[0].v[1] = ledger_vt(a->acct.id);
	st[0].v[2] = ledger_vt(no->ident[0].value);
	st[0].v[3] = ledger_vi(now + ENG_ACME_ORDER_TTL);
	st[0].v[4] = ledger_vi(now);
	for (i = 0; i < no->nident; i++) {
		if (eng_acme_newid(ids[i][0]) != 0 ||
		    eng_acme_newid(ids[i][1]) != 0) {
			ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
			    "random");
			goto out;
		}
		st[1 + i].stmt = LA_AUTHZ_INSERT;
		st[1 + i].n = 8;
		st[1 + i].v[0] = ledger_vt(ids[i][0]);
		st[1 + i].v[1] = ledger_vt(oid);
		st[1 + i].v[2] = ledger_vt(a->acct.id);
		st[1 + i].v[3] = ledger_vt(no->ident[i].type == ACME_ID_DNS ?
		    "dns" : "ip");
		st[1 + i].v[4] = ledger_vt(no->ident[i].value);
		st[1 + i].v[5] = ledger_vi(now + ENG_ACME_ORDER_TTL);
		/* The challenge id doubles as its token: 128 random bits. */
		st[1 + i].v[6] = ledger_vt(ids[i][1]);
		st[1 + i].v[7] = ledger_vt(ids[i][1]);
	}
	if ((rc = ledger_acme_write(a->e->ledger, st, 1 + no->nident, NULL)) !=
	    LEDGER_OK) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger: %s",
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

static void
eng_acme_chall_json(struct eng_acme *a, const struct eng_acme_authz *z)
{
	eng_acme_put(a, "{\"type\":\"http-01\",\"url\":\"%s/chall/%s\","
	    "\"token\":", a->base, z->chall);
	eng_acme_jstr(a, z->token);
	eng_acme_put(a, ",\"status\":");
	eng_acme_jstr(a, z->chall_status);
	if (z->validated != 0) {
		eng_acme_put(a, ",\"validated\":");
		eng_acme_time(a, z->validated);
	}
	if (z->error[0] == '{')
		eng_acme_put(a, ",\"error\":%s", z->error);
	eng_acme_put(a, "}");
}

static int
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

static int
eng_acme_authz(struct eng_acme *a)
{
	struct eng_acme_authz z;
	char loc[ENG_ACME_BASE_MAX + 64];

	if (eng_acme_authz_load(a, LA_AUTHZ_GET, a->q->id, &z) != 0)
		return eng_acme_problem(a, ACME_P_MALFORMED,
		    "no such authorization");
	eng_fmt(loc, sizeof(loc), "%s/authz/%s", a->base, z.id);
	eng_acme_put(a, "{\"status\":");
	eng_acme_jstr(a, z.status);
	eng_acme_put(a, ",\"expires\":");
	eng_acme_time(a, z.expires);
	eng_acme_put(a, ",\"identifier\":");
	eng_acme_ident(a, &z);
	eng_acme_put(a, ",\"challenges\":[");
	eng_acme_chall_json(a, &z);
	eng_acme_put(a, "]}");
	return eng_acme_answer(a, 200, PROTO_ACME_CT_JSON, loc);
}

/* RFC 8555 7.5.1: the client says it is ready; queue the validation. */
static int
eng_acme_challenge(struct eng_acme *a)
{
	struct ledger_acme_step st;
	struct eng_acme_authz z;
	char loc[ENG_ACME_BASE_MAX + 64];

	if (eng_acme_authz_load(a, LA_AUTHZ_BY_CHALL, a->q->id, &z) != 0 ||
	    strcmp(z.account, a->acct.id) != 0)
		return eng_acme_problem(a, ACME_P_MALFORMED,
		    "no such challenge");
	if (strcmp(z.chall_status, "pending") == 0 &&
	    strcmp(z.status, "pending") == 0) {
		memset(&st, 0, sizeof(st));
		st.stmt = LA_CHALL_START;
		st.n = 2;
		st.v[0] = ledger_vt(z.chall);
		st.v[1] = ledger_vt(a->acct.id);
		if (ledger_acme_write(a->e->ledger, &st, 1, NULL) !=
		    LEDGER_OK)
			return eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
			    "ledger");
		eng_fmt(z.chall_status, sizeof(z.chall_status),
		    "processing");
	}
	eng_fmt(loc, sizeof(loc), "%s/chall/%s", a->base, z.chall);
	/* RFC 8555 7.5.1: Link rel="up" to the authorization. */
	eng_fmt(a->r->rep.u.acme.up, sizeof(a->r->rep.u.acme.up),
	    "%s/authz/%s", a->base, z.id);
	eng_acme_chall_json(a, &z);
	return eng_acme_answer(a, 200, PROTO_ACME_CT_JSON, loc);
}

/* The CSR asks for exactly the order's identifiers (RFC 8555 7.4). */
struct eng_acme_fin {
	struct eng_acme			*a;
	const struct eng_acme_order	*o;
	int				 badcsr;
};

static int
eng_acme_fin_has(const struct eng_acme_order *o, const struct ca_name *nm)
{
	char ip[INET6_ADDRSTRLEN], name[ACME_MAX_IDENT + 1];
	size_t i;

	if (nm->type == CA_NAME_IP) {
		if (inet_ntop(nm->len == 4 ? AF_INET : AF_INET6, nm->val, ip,
		    sizeof(ip)) == NULL)
			return 0;
		eng_fmt(name, sizeof(name), "%s", ip);
	} else if (nm->type == CA_NAME_DNS && nm->len < sizeof(name)) {
		memcpy(name, nm->val, nm->len);
		name[nm->len] = '\0';
	} else
		return 0;
	for (i = 0; i < o->nauthz; i++)
		if (strcmp(o->authz[i].type, nm->type == CA_NAME_IP ? "ip" :
		    "dns") == 0 && strcasecmp(o->authz[i].value, name) == 0)
			return 1;
	return 0;
}

static int
eng_acme_fin_check(void *arg, const struct ca_csr *csr, char *authby,
    size_t authbylen, char *msg, size_t msglen)
{
	struct eng_acme_fin *f = arg;
	size_t i, j, n;

	for (i = 0; i < csr->nnames; i++)
		if (!eng_acme_fin_has(f->o, &csr->names[i])) {
			f->badcsr = 1;
			eng_fmt(msg, msglen, "CSR name %zu is not an "
			    "identifier of the order", i + 1);
			return PROTO_R_FORBIDDEN;
		}
	/* And every identifier is in the CSR (names are unique there). */
	for (j = 0, n = 0; j < f->o->nauthz; j++)
		for (i = 0; i < csr->nnames; i++) {
			struct eng_acme_order one = *f->o;

			one.authz = &f->o->authz[j];
			one.nauthz = 1;
			if (eng_acme_fin_has(&one, &csr->names[i])) {
				n++;
				break;
			}
		}
	if (n != f->o->nauthz) {
		f->badcsr = 1;
		eng_fmt(msg, msglen, "the CSR lacks identifiers of the order");
		return PROTO_R_FORBIDDEN;
	}
	eng_fmt(authby, authbylen, "acme:%s:%s", f->a->q->label,
	    f->a->acct.id);
	return PROTO_R_OK;
}

/* Finalize: ready -> processing -> valid, through eng_enroll_sign. */
static int
eng_acme_finalize(struct eng_acme *a)
{
	struct ledger_acme_step st;
	struct eng_acme_order o;
	struct eng_acme_fin fin;
	struct acme_der *der = NULL;
	struct eng_ident id;
	struct eng_sign sg;
	struct ca_result res;
	char msg[PROTO_MAX_STR + 1], hex[2 * LEDGER_SERIAL_MAX + 1];
	char err[ACME_MAX_PROBLEM + 1];
	size_t errlen;
	int rc, ans;

	memset(&res, 0, sizeof(res));
	memset(&id, 0, sizeof(id));
	if (eng_acme_order_load(a, a->q->id, &o) != LEDGER_OK || !o.found) {
		ans = eng_acme_problem(a, ACME_P_MALFORMED, "no such order");
		goto out;
	}
	if (strcmp(o.status, "ready") != 0) {
		ans = eng_acme_problem(a, ACME_P_ORDER_NOT_READY,
		    "order is %s", o.status);
		goto out;
	}
	if ((der = calloc(1, sizeof(*der))) == NULL ||
	    (rc = acme_finalize_parse(a->jws->payload, a->jws->payloadlen,
	    der)) != ACME_OK) {
		ans = eng_acme_problem(a, ACME_P_BAD_CSR, "finalize: %s",
		    der == NULL ? "memory" : acme_strerror(rc));
		goto out;
	}
	if (eng_acme_status_write(a, a->q->id, "processing", "ready", "") !=
	    LEDGER_OK) {
		ans = eng_acme_problem(a, ACME_P_ORDER_NOT_READY,
		    "order is being finalized");
		goto out;
	}
	id.kind = ENG_ID_ACME;
	eng_fmt(id.actor, sizeof(id.actor), "acme:%s:%s", a->q->label,
	    a->acct.id);
	eng_fmt(id.role, sizeof(id.role), "requester");
	eng_fmt(id.tenant, sizeof(id.tenant), "%s", a->acct.tenant);
	eng_fmt(id.profile, sizeof(id.profile), "%s", a->acct.profile);
	memset(&fin, 0, sizeof(fin));
	fin.a = a;
	fin.o = &o;
	memset(&sg, 0, sizeof(sg));
	sg.t = a->t;
	sg.pname = a->profile;
	sg.csr.ptr = der->der;
	sg.csr.len = der->len;
	sg.id = &id;
	sg.check = eng_acme_fin_check;
	sg.arg = &fin;
	rc = eng_enroll_sign(a->e, &sg, &res, hex, msg, sizeof(msg));
	if (rc != PROTO_R_OK) {
		eng_audit(a->e, id.actor, id.role, a->tenant, AUDIT_REFUSE,
		    hex[0] ? hex : NULL, "denied", msg);
		if (acme_problem_render(fin.badcsr || rc == PROTO_R_BAD_REQUEST
		    ? ACME_P_BAD_CSR : ACME_P_UNAUTHORIZED, msg, err,
		    sizeof(err), &errlen) != ACME_OK)
			err[0] = '\0';
		eng_acme_status_write(a, a->q->id, "invalid", "processing",
		    err);
		ans = eng_acme_problem(a, fin.badcsr || rc ==
		    PROTO_R_BAD_REQUEST ? ACME_P_BAD_CSR : rc ==
		    PROTO_R_UNAVAILABLE ? ACME_P_SERVER_INTERNAL :
		    ACME_P_UNAUTHORIZED, "%s", msg);
		goto out;
	}
	memset(&st, 0, sizeof(st));
	st.stmt = LA_ORDER_CERT;
	st.one = 1;
	st.n = 3;
	st.v[0] = ledger_vt(a->q->id);
	st.v[1] = ledger_vb(res.serial, CA_SERIAL_LEN);
	st.v[2] = ledger_vb(res.cert, res.cert_len);
	/*
	 * The certificate and its audit row are durable (eng_enroll_sign);
	 * if this write fails the order stays processing and the
	 * certificate is found by authorized_by (docs/acme.md).
	 */
	if ((rc = ledger_acme_write(a->e->ledger, &st, 1, NULL)) !=
	    LEDGER_OK) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
		    "certificate %s issued but the order not updated: %s", hex,
		    ledger_strerror(rc));
		goto out;
	}
	eng_acme_order_free(&o);
	if (eng_acme_order_load(a, a->q->id, &o) != LEDGER_OK || !o.found)
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger");
	else
		ans = eng_acme_order_answer(a, a->q->id, &o, 200);
out:
	ca_result_free(&res);
	free(der);
	eng_acme_order_free(&o);
	return ans;
}

/* The certificate and the issuer's chain, PEM (RFC 8555 7.4.2). */
static int
eng_acme_cert(struct eng_acme *a)
{
	const struct eng_rt_issuer *ri = NULL;
	struct eng_acme_order o;
	const uint8_t *p;
	X509 *x = NULL, *c;
	BIO *bio = NULL;
	BUF_MEM *bm;
	size_t i;
	int ans, ok = 1;

	if (eng_acme_order_load(a, a->q->id, &o) != LEDGER_OK || !o.found ||
	    o.cert == NULL) {
		ans = eng_acme_problem(a, ACME_P_MALFORMED,
		    "no such certificate");
		goto out;
	}
	p = o.cert;
	if ((x = d2i_X509(NULL, &p, (long)o.cert_len)) != NULL)
		for (i = 0; ri == NULL && i < a->t->nissuers; i++)
			if (a->t->issuers[i].ready && X509_check_issued(
			    a->t->issuers[i].iss.cert, x) == X509_V_OK)
				ri = &a->t->issuers[i];
	if (ri == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
		    "issuer of the certificate not loaded");
		goto out;
	}
	ok = PEM_write_bio_X509(bio, x) == 1;
	for (i = 0; ok && i < ri->nder; i++) {
		p = ri->der[i];
		if ((c = d2i_X509(NULL, &p, (long)ri->der_len[i])) == NULL)
			ok = 0;
		else
			ok = PEM_write_bio_X509(bio, c) == 1;
		X509_free(c);
	}
	BIO_get_mem_ptr(bio, &bm);
	if (!ok || bm->length >= PROTO_MAX_BLOB) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "chain");
		goto out;
	}
	memcpy(a->out, bm->data, bm->length);
	a->outlen = bm->length;
	ans = eng_acme_answer(a, 200, PROTO_ACME_CT_PEM, NULL);
out:
	BIO_free(bio);
	X509_free(x);
	eng_acme_order_free(&o);
	return ans;
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
	    eng_acme_va_row, &z) != LEDGER_OK)
		return eng_reply_fail(a->r, PROTO_R_UNAVAILABLE, "ledger");
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
	m->status = 200;
	eng_fmt(m->id, sizeof(m->id), "%s", z.chall);
	/* RFC 8555 8.3: port 80 (configurable for tests, as pebble). */
	eng_fmt(m->location, sizeof(m->location), "http://%s%s%s:%d/"
	    ".well-known/acme-challenge/%s", strchr(z.value, ':') ? "[" : "",
	    z.value, strchr(z.value, ':') ? "]" : "", c->acme_http01_port,
	    z.token);
	return PROTO_R_OK;
}

/* RFC 8555 8.3: the body, whitespace trimmed, is the key authorization. */
static int
eng_acme_va_match(const struct proto_blob *b, const struct eng_acme_authz *z)
{
	char want[sizeof(z->token) + sizeof(z->thumb) + 2];
	size_t s = 0, e = b->len;

	eng_fmt(want, sizeof(want), "%s.%s", z->token, z->thumb);
	while (s < e && isspace(b->ptr[s]))
		s++;
	while (e > s && isspace(b->ptr[e - 1]))
		e--;
	return z->thumb[0] != '\0' && e - s == strlen(want) &&
	    memcmp(b->ptr + s, want, e - s) == 0;
}

static int
eng_acme_va_result(struct eng_acme *a)
{
	struct ledger_acme_step st[2];
	struct eng_acme_authz z;
	char err[ACME_MAX_PROBLEM + 1], detail[PROTO_MAX_STR + 64];
	size_t errlen;
	int ok;

	if (a->q->body.len > ENG_ACME_VA_BODY)
		return eng_reply_fail(a->r, PROTO_R_BAD_REQUEST, "body");
	if (eng_acme_authz_load(a, LA_AUTHZ_BY_CHALL, a->q->id, &z) != 0 ||
	    strcmp(z.chall_status, "processing") != 0)
		return eng_reply_fail(a->r, PROTO_R_NOT_FOUND,
		    "no validation pending for that challenge");
	/* The engine judges: the validator only says what it fetched. */
	ok = a->q->detail[0] == '\0' && eng_acme_va_match(&a->q->body, &z);
	err[0] = '\0';
	if (!ok) {
		eng_fmt(detail, sizeof(detail), "%s: %s", z.value,
		    a->q->detail[0] ? a->q->detail :
		    "the response is not the key authorization");
		if (acme_problem_render(a->q->detail[0] ? ACME_P_CONNECTION :
		    ACME_P_INCORRECT_RESPONSE, detail, err, sizeof(err),
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
	log_info("msg=\"acme validation\" challenge=%s identifier=%s "
	    "result=%s detail=\"%s\"", z.chall, z.value, ok ? "valid" :
	    "invalid", a->q->detail);
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
