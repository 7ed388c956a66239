/*
 * TOKEN_CREATE: an operator makes a one-time enrollment token for a
 * tenant and profile.  The token is "<id>.<secret>": a random public id
 * (so a DTLS PSK identity can name it, see PSK_LOOKUP in proto.h) and 24
 * bytes derived from the id by the token key inside the HSM (eng_psk.c),
 * or from the CSPRNG where the HSM has no token key (the token then works
 * over HTTPS only).  It is shown once in the reply and never stored: the
 * ledger keeps a verifier of the whole string, from which neither the
 * token nor its PSK can be computed (STYLE.md 13).  The token lets a
 * device enroll as a requester of that tenant, in that profile only, for
 * the listed names only (if any).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include <signet/hsm.h>

#include "eng_engine_local.h"

void
eng_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* Names joined with commas; each a DNS name the profile could allow. */
static int
eng_token_names(const struct proto_token_req *q, char *out, size_t size,
    char *msg, size_t msglen)
{
	struct ca_err cerr;
	size_t i, n = 0;
	int w;

	out[0] = '\0';
	for (i = 0; i < q->nnames; i++) {
		if (ca_dns_check((const uint8_t *)q->names[i],
		    strlen(q->names[i]), CA_P_WILDCARDS, &cerr) != CA_OK) {
			eng_fmt(msg, msglen, "token name %s: %s", q->names[i],
			    cerr.msg);
			return -1;
		}
		w = snprintf(out + n, size - n, "%s%s", n ? "," : "",
		    q->names[i]);
		if (w < 0 || (size_t)w >= size - n) {
			eng_fmt(msg, msglen, "token names too long");
			return -1;
		}
		n += (size_t)w;
	}
	return 0;
}

static int
eng_token_check(const struct eng_rt *rt, const struct eng_ident *id,
    const struct proto_token_req *q, char *msg, size_t msglen)
{
	const struct eng_rt_tenant *t;
	const struct ca_profile *p;
	int64_t max = rt->conf->token_max_ttl > 0 ? rt->conf->token_max_ttl :
	    ENG_TOKEN_MAX_LIFETIME;
	size_t i;

	if (sconf_role_parse(id->role) != SCONF_ROLE_OPERATOR) {
		eng_fmt(msg, msglen, "role %s may not create enrollment "
		    "tokens", id->role);
		return PROTO_R_FORBIDDEN;
	}
	if (!eng_ident_in_tenant(id, q->tenant) ||
	    (t = eng_rt_tenant(rt, q->tenant)) == NULL) {
		eng_fmt(msg, msglen, "%s may not create tokens in tenant %s",
		    id->actor, q->tenant);
		return PROTO_R_FORBIDDEN;
	}
	if ((p = ca_tenant_profile(&t->t, q->profile)) == NULL) {
		eng_fmt(msg, msglen, "tenant %s has no profile %s",
		    q->tenant, q->profile);
		return PROTO_R_NOT_FOUND;
	}
	/* A token enrolls as a requester: the profile must admit one. */
	for (i = 0; i < p->nroles; i++)
		if (sconf_role_parse(p->roles[i]) == SCONF_ROLE_REQUESTER)
			break;
	if (i == p->nroles) {
		eng_fmt(msg, msglen, "profile %s does not admit role "
		    "requester", p->name);
		return PROTO_R_BAD_REQUEST;
	}
	if (q->lifetime == 0 || q->lifetime > max) {
		eng_fmt(msg, msglen, "token lifetime must be 1..%lld seconds",
		    (long long)max);
		return PROTO_R_BAD_REQUEST;
	}
	if (q->uses == 0) {
		eng_fmt(msg, msglen, "token needs at least one use");
		return PROTO_R_BAD_REQUEST;
	}
	return PROTO_R_OK;
}

int
eng_h_token(struct eng_engine *e, const struct eng_rt *rt, struct eng_ident *id,
    const struct proto_request *req, struct eng_reply *r)
{
	const struct proto_token_req *q = &req->u.token;
	struct proto_token_rep *tr = &r->rep.u.token;
	struct ledger_token tok;
	struct audit_record rec;
	char full[AUDIT_MAX_FIELD];
	uint8_t secret[ENG_TOKEN_SECRET_BYTES], idb[8];
	char msg[PROTO_MAX_STR + 1], detail[LEDGER_MAX_TEXT + 128];
	int rc, result;

	memset(&tok, 0, sizeof(tok));
	if ((result = eng_token_check(rt, id, q, msg, sizeof(msg))) !=
	    PROTO_R_OK || eng_token_names(q, tok.names, sizeof(tok.names), msg,
	    sizeof(msg)) != 0) {
		if (result == PROTO_R_OK)
			result = PROTO_R_BAD_REQUEST;
		eng_audit_id(e, id, q->tenant, AUDIT_REFUSE,
		    NULL, "denied", msg);
		return eng_reply_fail(r, result, "%s", msg);
	}
	if (RAND_priv_bytes(secret, sizeof(secret)) != 1 ||
	    RAND_bytes(idb, sizeof(idb)) != 1)
		return eng_reply_fail(r, PROTO_R_INTERNAL, "no randomness");
	eng_hex(idb, sizeof(idb), tok.id);
	if (eng_psk_have_key(e->psk)) {
		rc = eng_token_derive(e->psk, tok.id, tr->secret,
		    sizeof(tr->secret));
		if (rc != HSM_OK) {
			explicit_bzero(secret, sizeof(secret));
			explicit_bzero(tr->secret, sizeof(tr->secret));
			return eng_reply_fail(r, PROTO_R_UNAVAILABLE,
			    "token key: %s", hsm_strerror(rc));
		}
	} else {
		memcpy(tr->secret, tok.id, 2 * sizeof(idb));
		tr->secret[2 * sizeof(idb)] = '.';
		eng_hex(secret, sizeof(secret),
		    tr->secret + 2 * sizeof(idb) + 1);
	}
	explicit_bzero(secret, sizeof(secret));
	eng_token_verifier(tr->secret, tok.hash);
	eng_fmt(tok.tenant, sizeof(tok.tenant), "%s", q->tenant);
	eng_fmt(tok.profile, sizeof(tok.profile), "%s", q->profile);
	tok.created = eng_engine_now(e);
	tok.expires = tok.created + q->lifetime;
	tok.uses_left = q->uses;
	eng_fmt(detail, sizeof(detail), "enrollment token profile=%s uses=%u"
	    " expires=%lld names=%s", q->profile, q->uses,
	    (long long)tok.expires, tok.names[0] ? tok.names : "(profile)");
	memset(&rec, 0, sizeof(rec));
	rec.actor = id->actor;
	rec.role = id->role;
	rec.tenant = q->tenant;
	rec.action = AUDIT_CONFIG;
	rec.object = tok.id;
	rec.result = "ok";
	rec.detail = eng_audit_detail(id, detail, full, sizeof(full));
	if ((rc = ledger_token_create(e->ledger, &tok, &rec)) != LEDGER_OK) {
		explicit_bzero(tr->secret, sizeof(tr->secret));
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE, "ledger: %s",
		    ledger_strerror(rc));
	}
	eng_fmt(tr->id, sizeof(tr->id), "%s", tok.id);
	tr->expires_at = (uint64_t)tok.expires;
	log_info("msg=\"enrollment token created\" tenant=%s profile=%s "
	    "id=%s uses=%u actor=\"%s\"", q->tenant, q->profile, tok.id,
	    q->uses, id->actor);
	return PROTO_R_OK;
}
