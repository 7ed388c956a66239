/*
 * ISSUE and REISSUE: evidence has become an identity (eng_ident.c); here
 * the tenant and profile are resolved for that identity, the request is
 * checked against what the identity may ask for (a token's names, the
 * names of the certificate being renewed), and firmware/ca issues with
 * the ledger as its reserve and commit hooks.  DESIGN.md rule 4: the
 * certificate is returned only after ledger_commit has made it and its
 * audit record durable; any ledger failure withholds it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <signet/hsm.h>

#include "eng_engine_local.h"

/* Policy refuses names longer than this as text: nothing is cut. */
#define ENG_SANS_MAX (CA_MAX_NAMES_TEXT + 1)
/* The issue record's detail: names, authoriser and a few short fields. */
#define ENG_DETAIL_MAX (ENG_SANS_MAX + LEDGER_AUTH_MAX + 256)
_Static_assert(CA_MAX_NAMES_TEXT <= LEDGER_MAX_TEXT &&
    ENG_DETAIL_MAX <= AUDIT_MAX_FIELD,
    "the names recorded must fit the ledger and the audit detail");

/* What the hooks need and what they learnt. */
struct eng_enroll {
	struct eng_engine	*e;
	const struct eng_ident	*id;
	const char		*tenant;
	char			 authorized_by[LEDGER_AUTH_MAX + 1];
	int			 reserved;
	struct ledger_serial	 serial;
	char			 hex[2 * LEDGER_SERIAL_MAX + 1];
};

/* Whether name (len bytes) is one of a comma-separated list. */
static int
eng_enroll_listed(const char *list, const uint8_t *name, size_t len)
{
	const char *p = list, *c;
	size_t n;

	while (*p != '\0') {
		c = strchr(p, ',');
		n = c != NULL ? (size_t)(c - p) : strlen(p);
		if (n == len && memcmp(p, name, len) == 0)
			return 1;
		if (c == NULL)
			break;
		p = c + 1;
	}
	return 0;
}

/* RFC 7030 4.2.2: a renewal asks for no name the old certificate lacks. */
static int
eng_enroll_in_cert(X509 *x, const struct ca_name *nm)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	const ASN1_STRING *s;
	int i, type, found = 0;

	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)) ==
	    NULL)
		return 0;
	type = nm->type == CA_NAME_DNS ? GEN_DNS : nm->type == CA_NAME_IP ?
	    GEN_IPADD : GEN_URI;
	for (i = 0; !found && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != type)
			continue;
		s = type == GEN_DNS ? g->d.dNSName : type == GEN_IPADD ?
		    g->d.iPAddress : g->d.uniformResourceIdentifier;
		found = (size_t)ASN1_STRING_length(s) == nm->len &&
		    memcmp(ASN1_STRING_get0_data(s), nm->val, nm->len) == 0;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

/* A name for a message: DNS and URI as they are, IP addresses printed. */
static void
eng_enroll_name_text(const struct ca_name *nm, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (nm->type == CA_NAME_IP) {
		if (inet_ntop(nm->len == 4 ? AF_INET : AF_INET6, nm->val, ip,
		    sizeof(ip)) == NULL)
			eng_fmt(ip, sizeof(ip), "(IP)");
		eng_fmt(buf, size, "%s", ip);
	} else
		eng_fmt(buf, size, "%.*s", (int)nm->len, (const char *)nm->val);
}

/*
 * The identity's own limits on names: a token's list; for a certificate
 * this CA issued, the names of that certificate (own != 0), since it buys
 * its own renewal and nothing more (DESIGN.md rule 9).  The CSR's CN is
 * one of its SANs (ca_csr.c), so checking the SANs checks the CN too.
 */
static int
eng_enroll_names_ok(const struct eng_ident *id, int own,
    const struct ca_csr *csr, char *msg, size_t msglen)
{
	char name[CA_MAX_URI + 1];
	size_t i;

	for (i = 0; i < csr->nnames; i++) {
		const struct ca_name *nm = &csr->names[i];

		if (id->kind == ENG_ID_TOKEN && id->tok.names[0] != '\0' &&
		    (nm->type == CA_NAME_IP || !eng_enroll_listed(
		    id->tok.names, nm->val, nm->len))) {
			eng_enroll_name_text(nm, name, sizeof(name));
			eng_fmt(msg, msglen, "CSR name %s is not allowed "
			    "by the enrollment token", name);
			return 0;
		}
		if (own && !eng_enroll_in_cert(id->leaf, nm)) {
			eng_enroll_name_text(nm, name, sizeof(name));
			eng_fmt(msg, msglen, "an issued certificate may only "
			    "renew itself: name %s is not in the certificate",
			    name);
			return 0;
		}
	}
	return 1;
}

/*
 * Whether a certificate this CA issued must keep to its own names: always
 * for a re-enrollment (RFC 7030 4.2.2), and for an enrollment unless the
 * profile opts in to self-service (`self_service = true`).
 */
static int
eng_enroll_own_names(const struct eng_rt_tenant *t, const char *pname,
    const struct eng_ident *id, int reissue)
{
	const struct sconf_profile *sp;

	if (id->kind != ENG_ID_ISSUED)
		return 0;
	if (reissue)
		return 1;
	sp = t->conf != NULL ? sconf_profile(t->conf, pname) : NULL;
	return sp == NULL || !sp->self_service;
}

/*
 * Which credential authorised this issuance, as the ledger and audit
 * record it (issue 13; the forms are in signet/ledger.h), so an operator
 * can find and revoke everything one credential minted.  A certificate
 * this CA issued is named by its serial: "renewal" when every name asked
 * for is already in it, "self-service" when its profile let it enroll
 * new names.  A client-CA certificate is named by its SHA-256
 * fingerprint, since subjects are not unique across client CAs.
 */
static void
eng_enroll_authorizer(const struct eng_ident *id, const struct ca_csr *csr,
    char *out, size_t size)
{
	const ASN1_INTEGER *sn;
	struct ledger_serial s;
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int i, mdlen = 0;
	int renewal = 1;

	hex[0] = '\0';
	switch (id->kind) {
	case ENG_ID_TOKEN:
		eng_fmt(out, size, "token:%s", id->tok.id);
		return;
	case ENG_ID_PARENT:
		eng_fmt(out, size, "operator:%s", id->actor);
		return;
	case ENG_ID_ISSUED:
		memset(&s, 0, sizeof(s));
		sn = X509_get0_serialNumber(id->leaf);
		if (sn->length >= 1 && sn->length <= LEDGER_SERIAL_MAX) {
			s.len = (size_t)sn->length;
			memcpy(s.b, sn->data, s.len);
			ledger_serial_hex(&s, hex, sizeof(hex));
		}
		for (i = 0; renewal && i < csr->nnames; i++)
			renewal = eng_enroll_in_cert(id->leaf, &csr->names[i]);
		eng_fmt(out, size, "%s:%s", renewal ? "renewal" :
		    "self-service", hex);
		return;
	case ENG_ID_CLIENT:
		if (id->leaf != NULL &&
		    X509_digest(id->leaf, EVP_sha256(), md, &mdlen) == 1)
			for (i = 0; i < mdlen; i++)
				snprintf(hex + 2 * i, sizeof(hex) - 2 * i,
				    "%02x", md[i]);
		eng_fmt(out, size, "cert:sha256:%s", hex);
		return;
	case ENG_ID_ACME:
		break;	/* named by its handler (eng_acme_order.c) */
	}
	eng_fmt(out, size, "unknown");
}

static int
eng_enroll_reserve(void *arg, const struct ca_issued *c)
{
	struct eng_enroll *en = arg;
	struct ledger_intent in;
	int rc;

	memset(&in, 0, sizeof(in));
	in.serial.len = CA_SERIAL_LEN;
	memcpy(in.serial.b, c->serial, CA_SERIAL_LEN);
	in.tenant = en->tenant;
	in.issuer = c->profile->issuer->name;
	in.profile = c->profile->name;
	in.subject = c->subject;
	in.sans = c->names;
	in.requester = en->id->actor;
	in.authorized_by = en->authorized_by;
	in.not_before = c->not_before;
	in.not_after = c->not_after;
	eng_sha256(c->tbs, c->tbs_len, in.tbs_hash);
	in.store_der = (c->profile->flags & CA_P_STORE) != 0;
	in.created = eng_engine_now(en->e);
	en->serial = in.serial;
	ledger_serial_hex(&in.serial, en->hex, sizeof(en->hex));
	if (en->id->kind == ENG_ID_TOKEN)
		rc = ledger_reserve_token(en->e->ledger, &in,
		    en->id->tok.hash, eng_engine_now(en->e));
	else
		rc = ledger_reserve(en->e->ledger, &in);
	en->reserved = rc == LEDGER_OK;
	return rc;
}

static int
eng_enroll_commit(void *arg, const struct ca_issued *c)
{
	struct eng_enroll *en = arg;
	struct audit_record rec;
	char full[AUDIT_MAX_FIELD];
	char detail[ENG_DETAIL_MAX];

	snprintf(detail, sizeof(detail), "profile=%s names=%s not_after=%lld"
	    "%s%s authorized_by=%s", c->profile->name, c->names,
	    (long long)c->not_after, c->truncated ? " truncated=issuer" : "",
	    en->id->kind == ENG_ID_TOKEN ? " via=enrollment-token" : "",
	    en->authorized_by);
	memset(&rec, 0, sizeof(rec));
	rec.actor = en->id->actor;
	rec.role = en->id->role;
	rec.tenant = en->tenant;
	rec.action = AUDIT_ISSUE;
	rec.object = en->hex;
	rec.result = "ok";
	rec.detail = eng_audit_detail(en->id, detail, full, sizeof(full));
	return ledger_commit(en->e->ledger, &en->serial, c->cert, c->cert_len,
	    &rec);
}

/*
 * The ledger's health, set once from what its hooks answered: a reserve
 * refused for the request's own sake (a used token) leaves it healthy;
 * an I/O error, a full disk or a failed commit marks it failed, a
 * reserve or commit that went through marks it healthy again.
 */
static void
eng_enroll_health(struct eng_engine *e, const struct eng_enroll *en, int rc,
    const struct ca_err *cerr)
{
	int ok;

	if (rc == CA_ERR_HOOK)
		ok = cerr->hook == CA_HOOK_RESERVE &&
		    cerr->hook_rc != LEDGER_ERR_IO &&
		    cerr->hook_rc != LEDGER_ERR_FULL;
	else if (en->reserved)
		ok = 1;
	else
		return;
	atomic_store(&e->ledger_ok, ok);
}

/* A result code and message for a refused or failed issuance. */
static int
eng_enroll_fail(struct eng_engine *e, struct eng_enroll *en, int rc,
    const struct ca_err *cerr, char *msg, size_t msglen)
{
	switch (rc) {
	case CA_ERR_HOOK:
		if (cerr->hook_rc == LEDGER_ERR_STATE &&
		    en->id->kind == ENG_ID_TOKEN) {
			eng_fmt(msg, msglen, "enrollment token already used");
			return PROTO_R_UNAUTHORIZED;
		}
		eng_fmt(msg, msglen, "ledger: %s: certificate withheld",
		    ledger_strerror(cerr->hook_rc));
		return PROTO_R_UNAVAILABLE;
	case CA_ERR_SIGN:
	case CA_ERR_CRYPTO:
		eng_token_reason(e, msg, msglen);
		if (msg[0] != '\0')
			return PROTO_R_UNAVAILABLE;
		eng_fmt(msg, msglen, "%s", cerr->msg);
		return PROTO_R_INTERNAL;
	case CA_ERR_POLICY:
		eng_fmt(msg, msglen, "%s", cerr->msg);
		return PROTO_R_FORBIDDEN;
	case CA_ERR_NOMEM:
	case CA_ERR_ARG:
		eng_fmt(msg, msglen, "%s", cerr->msg);
		return PROTO_R_INTERNAL;
	default:
		eng_fmt(msg, msglen, "%s", cerr->msg);
		return PROTO_R_BAD_REQUEST;
	}
}

/* A reserved serial that was never returned is abandoned at once. */
static void
eng_enroll_abandon(struct eng_enroll *en, const char *why)
{
	struct audit_record rec;
	char full[AUDIT_MAX_FIELD];

	if (!en->reserved)
		return;
	memset(&rec, 0, sizeof(rec));
	rec.actor = en->id->actor;
	rec.role = en->id->role;
	rec.tenant = en->tenant;
	rec.action = AUDIT_ABANDON;
	rec.object = en->hex;
	rec.result = "ok";
	rec.detail = eng_audit_detail(en->id, why, full, sizeof(full));
	if (ledger_abandon(en->e->ledger, &en->serial, &rec) != LEDGER_OK)
		log_warnx("msg=\"cannot abandon reserved serial; "
		    "reconciliation will\" serial=%s", en->hex);
}

/*
 * The tenant and profile an ISSUE names, resolved in this one place
 * (issue 15).  By name (the JSON API): as given, "" the identity's own.
 * By EST: the label's, from the engine's own configuration; a front end
 * only forwards the label of the path.  The unlabelled path
 * (/.well-known/est/, /est/sen) is est_default's, except for a token and
 * a certificate this CA issued: each is bound to exactly one profile, so
 * there it enrolls into its own, as its holder expects.  An explicit
 * label is taken at its word, est_default's included.  id NULL: before
 * authentication (the rate gate), nobody's own.
 */
int
eng_enroll_named(const struct eng_rt *rt, const struct eng_ident *id,
    const struct proto_issue_req *q, const char **tenant,
    const char **profile, char *msg, size_t msglen)
{
	const struct sconf_tenant *st = NULL;
	const struct sconf_profile *sp = NULL;

	if (q->via != PROTO_VIA_EST) {
		*tenant = q->tenant[0] || id == NULL ? q->tenant : id->tenant;
		*profile = q->profile[0] || id == NULL ? q->profile :
		    id->profile;
		return PROTO_R_OK;
	}
	if (q->label[0] == '\0' && id != NULL &&
	    (id->kind == ENG_ID_TOKEN || id->kind == ENG_ID_ISSUED)) {
		*tenant = id->tenant;
		*profile = id->profile;
		return PROTO_R_OK;
	}
	if (sconf_est_label(rt->conf, q->label, &st, &sp) != 0) {
		if (msg != NULL)
			eng_fmt(msg, msglen, q->label[0] != '\0' ? "unknown "
			    "EST label \"%s\"" : "no default EST profile is "
			    "configured%s", q->label);
		return PROTO_R_NOT_FOUND;
	}
	*tenant = st->name;
	*profile = sp->name;
	return PROTO_R_OK;
}

/* Whether this identity may issue there; 0, or a result with msg. */
static int
eng_enroll_target(const struct eng_rt *rt, const struct eng_ident *id,
    const char *tenant, const char *profile, int reissue,
    const struct eng_rt_tenant **t, char *msg, size_t msglen)
{
	if (tenant[0] == '\0' || profile[0] == '\0') {
		eng_fmt(msg, msglen, "no tenant or profile named");
		return PROTO_R_BAD_REQUEST;
	}
	/* DESIGN rule 7: a tenant the identity may not use does not exist. */
	if (!eng_ident_in_tenant(id, tenant) ||
	    (*t = eng_rt_tenant(rt, tenant)) == NULL) {
		eng_fmt(msg, msglen, "%s may not issue in tenant %s",
		    id->actor, tenant);
		return PROTO_R_FORBIDDEN;
	}
	if (id->kind == ENG_ID_TOKEN && strcmp(profile, id->tok.profile)) {
		eng_fmt(msg, msglen, "enrollment token is for profile %s",
		    id->tok.profile);
		return PROTO_R_FORBIDDEN;
	}
	if (reissue && id->kind != ENG_ID_ISSUED) {
		eng_fmt(msg, msglen, "re-enrollment needs a current "
		    "certificate issued by this CA");
		return PROTO_R_FORBIDDEN;
	}
	/*
	 * DESIGN.md rule 9: a certificate this CA issued buys its own
	 * renewal, in the tenant (eng_ident_in_tenant) and profile its ledger
	 * row recorded at issuance; an explicit label naming another
	 * profile does not make it an enrollment credential there.
	 */
	if (id->kind == ENG_ID_ISSUED && strcmp(profile, id->profile) != 0) {
		eng_fmt(msg, msglen, "an issued certificate may only renew "
		    "itself: it is of profile %s, not %s", id->profile,
		    profile);
		return PROTO_R_FORBIDDEN;
	}
	if (ca_tenant_profile(&(*t)->t, profile) == NULL) {
		eng_fmt(msg, msglen, "tenant %s has no profile %s", tenant,
		    profile);
		return PROTO_R_NOT_FOUND;
	}
	return PROTO_R_OK;
}

static int
eng_enroll_reply(const struct eng_rt_tenant *t, struct ca_result *res,
    struct eng_reply *r)
{
	const struct eng_rt_issuer *ri = eng_rt_issuer_of(t, res->issuer);
	struct proto_cert_rep *cr = &r->rep.u.cert;
	size_t i;

	if (ri == NULL)
		return eng_reply_fail(r, PROTO_R_INTERNAL, "issuer lost");
	cr->cert.ptr = res->cert;
	cr->cert.len = res->cert_len;
	r->mem[0] = res->cert;
	res->cert = NULL;
	for (i = 0; i < ri->nder && i < PROTO_MAX_CHAIN_CERTS; i++) {
		cr->chain.certs[i].ptr = ri->der[i];
		cr->chain.certs[i].len = ri->der_len[i];
	}
	cr->chain.ncerts = (uint8_t)i;
	return PROTO_R_OK;
}

/* The request for firmware/ca, once the tenant and profile are known. */
static void
eng_enroll_request(struct eng_engine *e, const struct eng_rt_tenant *t,
    const char *pname, const struct proto_issue_req *q,
    const struct ca_evidence *ev, struct ca_request *creq)
{
	memset(creq, 0, sizeof(*creq));
	creq->csr = q->csr.ptr;
	creq->csr_len = q->csr.len;
	creq->tenant = &t->t;
	creq->profile = pname;
	creq->ttl = q->ttl;
	creq->evidence = ev;
	creq->now = eng_engine_now(e);
}

/*
 * The one issuance path (EST, the JSON API and ACME): parse the CSR, the
 * caller's own check of what this credential may ask (which also names
 * the credential, authorized_by), then firmware/ca's policy, lint and
 * signature with the ledger as reserve and commit hooks.  The audit row
 * of a refusal is the caller's.  PROTO_R_OK with *res filled (the caller
 * frees it) and hex the serial, or the result with msg.
 */
int
eng_enroll_sign(struct eng_engine *e, const struct eng_sign *sg,
    struct ca_result *res, char hex[2 * LEDGER_SERIAL_MAX + 1], char *msg,
    size_t msglen)
{
	struct ca_hooks hooks = { eng_enroll_reserve, eng_enroll_commit, NULL };
	struct ca_evidence ev = { sg->id->role, sg->id->actor };
	struct ca_prepared *prep = NULL;
	struct proto_issue_req q;
	struct ca_request creq;
	struct eng_enroll en;
	struct ca_err cerr;
	int rc, result;

	memset(&en, 0, sizeof(en));
	memset(res, 0, sizeof(*res));
	hex[0] = '\0';
	en.e = e;
	en.id = sg->id;
	en.tenant = sg->t->t.name;
	hooks.arg = &en;
	memset(&q, 0, sizeof(q));
	q.csr = sg->csr;
	q.ttl = sg->ttl;
	eng_enroll_request(e, sg->t, sg->pname, &q, &ev, &creq);
	if (ca_parse_request(&creq, NULL, &prep, &cerr) != CA_OK) {
		eng_fmt(msg, msglen, "%s", cerr.msg);
		return PROTO_R_BAD_REQUEST;
	}
	if ((result = sg->check(sg->arg, &prep->csr, en.authorized_by,
	    sizeof(en.authorized_by), msg, msglen)) != PROTO_R_OK)
		goto out;
	if ((rc = ca_check(prep, &cerr)) == CA_OK)
		rc = ca_sign_out(prep, &hooks, res, &cerr);
	eng_enroll_health(e, &en, rc, &cerr);
	snprintf(hex, 2 * LEDGER_SERIAL_MAX + 1, "%s", en.hex);
	if (rc != CA_OK) {
		result = eng_enroll_fail(e, &en, rc, &cerr, msg, msglen);
		eng_enroll_abandon(&en, msg);
		ca_result_free(res);
		goto out;
	}
	atomic_fetch_add(&e->issued, 1);
	log_info("msg=issued tenant=%s profile=%s serial=%s actor=\"%s\" "
	    "authorized_by=\"%s\" names=\"%s\"", en.tenant, sg->pname, en.hex,
	    sg->id->actor, en.authorized_by, prep->names);
	result = PROTO_R_OK;
out:
	ca_prepared_free(prep);
	return result;
}

/* EST and the JSON API: what the identity may ask, and who it is. */
struct eng_issue_check {
	const struct eng_ident		*id;
	int				 own;
};

static int
eng_issue_check(void *arg, const struct ca_csr *csr, char *authby,
    size_t authbylen, char *msg, size_t msglen)
{
	struct eng_issue_check *ic = arg;

	if (!eng_enroll_names_ok(ic->id, ic->own, csr, msg, msglen))
		return PROTO_R_FORBIDDEN;
	eng_enroll_authorizer(ic->id, csr, authby, authbylen);
	return PROTO_R_OK;
}

int
eng_h_issue(struct eng_engine *e, const struct eng_rt *rt, struct eng_ident *id,
    const struct proto_request *req, struct eng_reply *r)
{
	const struct proto_issue_req *q = &req->u.issue;
	const struct eng_rt_tenant *t = NULL;
	const char *tname = q->tenant, *pname = NULL;
	int reissue = req->type == PROTO_T_REISSUE;
	struct eng_issue_check ic;
	struct eng_sign sg;
	struct ca_result res;
	char msg[PROTO_MAX_STR + 1], hex[2 * LEDGER_SERIAL_MAX + 1];
	int result;

	memset(&res, 0, sizeof(res));
	hex[0] = '\0';
	if ((result = eng_enroll_named(rt, id, q, &tname, &pname, msg,
	    sizeof(msg))) != PROTO_R_OK ||
	    (result = eng_enroll_target(rt, id, tname, pname, reissue, &t, msg,
	    sizeof(msg))) != PROTO_R_OK)
		goto out;
	/* The configuration's names, not the request's (eng_stats.h). */
	r->tenant = t->t.name;
	r->profile = ca_tenant_profile(&t->t, pname)->name;
	ic.id = id;
	ic.own = eng_enroll_own_names(t, pname, id, reissue);
	memset(&sg, 0, sizeof(sg));
	sg.t = t;
	sg.pname = pname;
	sg.csr = q->csr;
	sg.ttl = q->ttl;
	sg.id = id;
	sg.check = eng_issue_check;
	sg.arg = &ic;
	if ((result = eng_enroll_sign(e, &sg, &res, hex, msg, sizeof(msg))) !=
	    PROTO_R_OK)
		goto out;
	result = eng_enroll_reply(t, &res, r);
	ca_result_free(&res);
	return result;
out:
	eng_audit_id(e, id, t != NULL ? t->t.name : tname,
	    AUDIT_REFUSE, hex[0] ? hex : NULL, "denied", msg);
	return eng_reply_fail(r, result, "%s", msg);
}
