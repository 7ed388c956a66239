/*
 * Identity from evidence (STYLE.md 5: the engine acts on intent, not on
 * bytes).  The front end forwards what the client presented; the engine
 * verifies it again here and derives the role itself:
 *
 *	a certificate issued by one of our issuers	requester in the
 *		tenant and profile it was issued in, if the ledger says it
 *		is issued (not revoked, not abandoned) and it is unexpired;
 *		it may only renew itself (eng_enroll.c, DESIGN.md rule 9);
 *	a certificate from a configured client CA	the role and
 *		tenants of the first sconf client whose CN/O/OU match and
 *		whose client CA (issuer, issuer_key_id, issuer_cert) is in
 *		the verified chain (signet/sconf_client.h);
 *	a one-time enrollment token			requester in the
 *		token's tenant, for the token's profile only;
 *	nothing, on the parent's control channel	the local operator.
 *
 * Configured client mappings apply only to certificates from the client
 * CAs: a requester can obtain a certificate with any CN its profile
 * allows, so a CN in a certificate we issued must never grant a role.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <signet/sconf_client.h>

#include "eng_engine_local.h"

void
eng_sha256(const void *p, size_t len, uint8_t out[32])
{
	unsigned int n = 32;

	if (EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32);
}

void
eng_ident_clear(struct eng_ident *id)
{
	X509_free(id->leaf);
	explicit_bzero(id, sizeof(*id));
}

/* RFC 4514 form of a certificate's subject, for logs and audit. */
static void
eng_ident_subject(X509 *x, char *buf, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	snprintf(buf, size, "unknown");
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253) >= 0 && (n = BIO_read(b, buf, (int)size - 1)) > 0)
		buf[n] = '\0';
	BIO_free(b);
}

/* The client certificate chain, leaf first, each exactly one DER. */
static int
eng_ident_parse(const struct proto_chain *ch, X509 **leaf,
    STACK_OF(X509) **rest)
{
	const unsigned char *p;
	X509 *x;
	size_t i;

	if ((*rest = sk_X509_new_null()) == NULL)
		return -1;
	for (i = 0; i < ch->ncerts; i++) {
		p = ch->certs[i].ptr;
		x = d2i_X509(NULL, &p, (long)ch->certs[i].len);
		if (x == NULL || p != ch->certs[i].ptr + ch->certs[i].len) {
			X509_free(x);
			return -1;
		}
		if (i == 0)
			*leaf = x;
		else if (sk_X509_push(*rest, x) <= 0) {
			X509_free(x);
			return -1;
		}
	}
	return *leaf != NULL ? 0 : -1;
}

/* Verifies leaf; *chain (if not NULL) gets the verified chain. */
static int
eng_ident_verify(struct eng_engine *e, X509_STORE *store, X509 *leaf,
    STACK_OF(X509) *rest, int partial, STACK_OF(X509) **chain, char *msg,
    size_t msglen)
{
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *vp;
	int err, rc = -1;

	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, leaf, rest) != 1) {
		eng_fmt(msg, msglen, "cannot check client certificate");
		goto out;
	}
	vp = X509_STORE_CTX_get0_param(ctx);
	if (partial)
		X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN);
	if (e->fixed_now != 0)
		X509_VERIFY_PARAM_set_time(vp, e->fixed_now);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) == 1) {
		if (chain != NULL &&
		    (*chain = X509_STORE_CTX_get1_chain(ctx)) == NULL) {
			eng_fmt(msg, msglen, "cannot check client certificate");
			goto out;
		}
		rc = 0;
		goto out;
	}
	err = X509_STORE_CTX_get_error(ctx);
	if (err == X509_V_ERR_CERT_HAS_EXPIRED)
		eng_fmt(msg, msglen, "client certificate expired");
	else if (err == X509_V_ERR_CERT_NOT_YET_VALID)
		eng_fmt(msg, msglen, "client certificate not yet valid");
	else
		eng_fmt(msg, msglen, "client certificate does not verify: "
		    "%s", X509_verify_cert_error_string(err));
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/*
 * A certificate one of our issuers signed: the ledger must hold it as
 * issued (not revoked, not abandoned), in a tenant that still has the
 * issuer that signed it.  The row names the tenant: an issuer key shared
 * by two tenants cannot move a requester across.
 */
static int
eng_ident_issued(struct eng_engine *e, const struct eng_rt *rt, X509 *leaf,
    struct eng_ident *id, char *msg, size_t msglen)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(leaf);
	const struct eng_rt_tenant *t;
	struct ledger_serial serial;
	struct ledger_cert row;
	size_t i;
	int rc;

	memset(&serial, 0, sizeof(serial));
	if (sn->length < 1 || sn->length > LEDGER_SERIAL_MAX) {
		eng_fmt(msg, msglen, "client certificate serial malformed");
		return PROTO_R_UNAUTHORIZED;
	}
	serial.len = (size_t)sn->length;
	memcpy(serial.b, sn->data, serial.len);
	if ((rc = ledger_get_any(e->ledger, &serial, &row)) != LEDGER_OK) {
		eng_fmt(msg, msglen, rc == LEDGER_ERR_NOTFOUND ?
		    "client certificate is not in the ledger" :
		    "ledger: %s", ledger_strerror(rc));
		return rc == LEDGER_ERR_NOTFOUND ? PROTO_R_UNAUTHORIZED :
		    PROTO_R_UNAVAILABLE;
	}
	rc = PROTO_R_UNAUTHORIZED;
	eng_fmt(msg, msglen, "client certificate is not an issued "
	    "certificate of this CA");
	if (row.status == LEDGER_REVOKED)
		eng_fmt(msg, msglen, "client certificate revoked");
	else if (row.status == LEDGER_ISSUED &&
	    (t = eng_rt_tenant(rt, row.tenant)) != NULL) {
		for (i = 0; i < t->nissuers; i++)
			if (strcmp(t->issuers[i].iss.name, row.issuer) == 0 &&
			    X509_check_issued(t->issuers[i].iss.cert, leaf) ==
			    X509_V_OK)
				break;
		if (i < t->nissuers) {
			id->kind = ENG_ID_ISSUED;
			eng_fmt(id->role, sizeof(id->role), "%s",
			    sconf_role_name(SCONF_ROLE_REQUESTER));
			eng_fmt(id->tenant, sizeof(id->tenant), "%s", row.tenant);
			eng_fmt(id->profile, sizeof(id->profile), "%s",
			    row.profile);
			rc = PROTO_R_OK;
		}
	}
	ERR_clear_error();
	ledger_cert_clear(&row);
	return rc;
}

/*
 * A certificate from a client CA: the first mapping whose cn/o/ou match
 * and whose client CA is in the verified chain (DESIGN.md rule 9).
 */
static int
eng_ident_client(const struct eng_rt *rt, STACK_OF(X509) *chain,
    struct eng_ident *id, char *msg, size_t msglen)
{
	const struct sconf_client *c;
	char dn[512];

	if ((c = sconf_trust_map(rt->trust, chain)) != NULL) {
		id->kind = ENG_ID_CLIENT;
		id->client = c;
		eng_fmt(id->role, sizeof(id->role), "%s", c->role);
		return PROTO_R_OK;
	}
	if (sk_X509_num(chain) < 2 || sconf_client_dn(sk_X509_value(chain, 1),
	    dn, sizeof(dn)) != 0)
		eng_fmt(dn, sizeof(dn), "unknown");
	eng_fmt(msg, msglen, "client certificate maps to no configured "
	    "client (none names its CA %s)", dn);
	return PROTO_R_FORBIDDEN;
}

static int
eng_ident_certs(struct eng_engine *e, const struct eng_rt *rt,
    const struct proto_evidence *ev, struct eng_ident *id, char *msg,
    size_t msglen)
{
	const struct eng_rt_issuer *ri = NULL;
	STACK_OF(X509) *rest = NULL, *chain = NULL;
	X509 *leaf = NULL;
	uint8_t key[32];
	uint64_t gen = 0;
	time_t now = eng_engine_now(e);
	size_t i, k;
	int rc = PROTO_R_UNAUTHORIZED, cache;

	/* Issue 17: a chain verified lately (eng_ident_cache.c). */
	cache = rt->idc != NULL &&
	    eng_idcache_key(rt->idc, ev->peer, &ev->chain, key) == 0;
	if (cache && eng_idcache_get(rt->idc, key, now, id, &gen))
		return PROTO_R_OK;
	if (eng_ident_parse(&ev->chain, &leaf, &rest) != 0) {
		eng_fmt(msg, msglen, "client certificate is not DER");
		goto out;
	}
	eng_ident_subject(leaf, id->actor, sizeof(id->actor));
	for (i = 0; ri == NULL && i < rt->ntenants; i++)
		for (k = 0; ri == NULL && k < rt->tenants[i].nissuers; k++)
			if (X509_check_issued(rt->tenants[i].issuers[k].iss.cert,
			    leaf) == X509_V_OK)
				ri = &rt->tenants[i].issuers[k];
	ERR_clear_error();
	if (ri != NULL) {
		if (eng_ident_verify(e, rt->issued, leaf, rest, 1, NULL, msg,
		    msglen) != 0)
			goto out;
		rc = eng_ident_issued(e, rt, leaf, id, msg, msglen);
	} else {
		if (eng_ident_verify(e, rt->clients, leaf, rest, 0, &chain,
		    msg, msglen) != 0)
			goto out;
		rc = eng_ident_client(rt, chain, id, msg, msglen);
	}
	if (rc == PROTO_R_OK) {
		id->leaf = leaf;
		leaf = NULL;
		if (cache)
			eng_idcache_put(rt->idc, rt, key, gen, now, chain, id);
	}
out:
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/*
 * The ledger row of a bearer token "<id>.<secret>": found by its id, then
 * the presented string checked against the stored verifier in constant
 * time (eng_token_matches; rows of the old format too).
 */
static int
eng_ident_bearer(struct eng_engine *e, const char *token,
    struct ledger_token *tok)
{
	char idbuf[LEDGER_TOKEN_ID_MAX + 1];
	const char *dot = strchr(token, '.');
	size_t n;
	int rc;

	if (dot == NULL || (n = (size_t)(dot - token)) == 0 ||
	    n > LEDGER_TOKEN_ID_MAX)
		return LEDGER_ERR_NOTFOUND;
	memcpy(idbuf, token, n);
	idbuf[n] = '\0';
	rc = ledger_token_get_id(e->ledger, idbuf, tok);
	if (rc == LEDGER_ERR_ARG)
		rc = LEDGER_ERR_NOTFOUND;
	if (rc == LEDGER_OK && eng_token_matches(token, tok->hash) == 0)
		rc = LEDGER_ERR_NOTFOUND;
	if (rc != LEDGER_OK)
		explicit_bzero(tok, sizeof(*tok));
	return rc;
}

static int
eng_ident_token(struct eng_engine *e, const struct proto_evidence *ev,
    struct eng_ident *id, char *msg, size_t msglen)
{
	int rc;

	/*
	 * Over HTTP the whole secret is presented.  Over DTLS the front end
	 * completed a PSK handshake whose key only the token's holder (and
	 * the engine, through the HSM) could compute, and names the token
	 * by its public id; eng_admit lets only the CoAP channel say so.
	 * It must also present the one-time handle the engine gave with
	 * that handshake's PSK, so it cannot spend a token id it merely saw
	 * (eng_psk.c; docs/decisions.md says what remains).
	 */
	if (ev->token_src == PROTO_TOKSRC_PSK_ID) {
		if (eng_psk_claim(e, ev->token, ev->psk_handle) != 0) {
			eng_fmt(id->actor, sizeof(id->actor), "token:%s",
			    ev->token);
			eng_fmt(msg, msglen, "no PSK handshake of this session "
			    "left to enroll with (handle unknown, used or "
			    "expired): handshake again");
			return PROTO_R_UNAUTHORIZED;
		}
		rc = ledger_token_get_id(e->ledger, ev->token, &id->tok);
	} else {
		rc = eng_ident_bearer(e, ev->token, &id->tok);
	}
	if (rc != LEDGER_OK) {
		eng_fmt(msg, msglen, rc == LEDGER_ERR_NOTFOUND ?
		    "unknown enrollment token" : "ledger: %s",
		    ledger_strerror(rc));
		return rc == LEDGER_ERR_NOTFOUND ? PROTO_R_UNAUTHORIZED :
		    PROTO_R_UNAVAILABLE;
	}
	eng_fmt(id->actor, sizeof(id->actor), "token:%s", id->tok.id);
	if (id->tok.expires <= eng_engine_now(e)) {
		eng_fmt(msg, msglen, "enrollment token expired");
		return PROTO_R_UNAUTHORIZED;
	}
	if (id->tok.uses_left == 0) {
		eng_fmt(msg, msglen, "enrollment token already used");
		return PROTO_R_UNAUTHORIZED;
	}
	id->kind = ENG_ID_TOKEN;
	eng_fmt(id->role, sizeof(id->role), "%s",
	    sconf_role_name(SCONF_ROLE_REQUESTER));
	eng_fmt(id->tenant, sizeof(id->tenant), "%s", id->tok.tenant);
	eng_fmt(id->profile, sizeof(id->profile), "%s", id->tok.profile);
	return PROTO_R_OK;
}

int
eng_ident_derive(struct eng_engine *e, const struct eng_rt *rt, int peer,
    const struct proto_evidence *ev, struct eng_ident *id, char *msg,
    size_t msglen)
{
	int rc;

	memset(id, 0, sizeof(*id));
	msg[0] = '\0';
	/* The parent never parses network input: it is the local operator. */
	if (peer == PROTO_PEER_CONTROL) {
		id->kind = ENG_ID_PARENT;
		eng_fmt(id->role, sizeof(id->role), "%s",
		    sconf_role_name(SCONF_ROLE_OPERATOR));
		eng_fmt(id->actor, sizeof(id->actor), "signetd");
		eng_ident_via(NULL, id);
		return PROTO_R_OK;
	}
	if (ev->kind == PROTO_EV_CERTS)
		rc = eng_ident_certs(e, rt, ev, id, msg, msglen);
	else if (ev->kind == PROTO_EV_TOKEN)
		rc = eng_ident_token(e, ev, id, msg, msglen);
	else {
		eng_fmt(msg, msglen, "no client certificate or enrollment "
		    "token");
		rc = PROTO_R_UNAUTHORIZED;
	}
	/* Issue 19: this request's address, never a cached one. */
	if (rc == PROTO_R_OK)
		eng_ident_via(ev, id);
	return rc;
}

int
eng_ident_in_tenant(const struct eng_ident *id, const char *tenant)
{
	const struct sconf_list *l;
	size_t i;

	switch (id->kind) {
	case ENG_ID_PARENT:
		return 1;
	case ENG_ID_CLIENT:
		l = &id->client->tenants;
		for (i = 0; i < l->n; i++)
			if (strcmp(l->v[i], "*") == 0 ||
			    strcmp(l->v[i], tenant) == 0)
				return 1;
		return 0;
	case ENG_ID_ISSUED:
	case ENG_ID_TOKEN:
	case ENG_ID_ACME:
		return strcmp(id->tenant, tenant) == 0;
	}
	return 0;
}
