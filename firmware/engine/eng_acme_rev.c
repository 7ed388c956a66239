/*
 * ACME revocation (RFC 8555 7.6) and renewal information (RFC 9773).
 *
 * revokeCert goes the engine's one revocation path, the one /v1 revoke
 * takes (eng_admin.c): ledger_revoke with its audit record in the same
 * transaction, then eng_rev_revoked (OCSP caches dropped, CRLs
 * scheduled).  Who may revoke: the account that ordered the certificate
 * (its ledger row says authorized_by acme:<label>:<account>), an account
 * holding valid authorizations for every name of it, or whoever signs
 * with the certificate's own key (jwk instead of kid).
 *
 * renewalInfo: the suggested window is the first half of the last third
 * of the validity, [2/3, 5/6]: clients renew at 2/3 as EST clients do,
 * and one that picks the end of the window still has a sixth left.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "eng_acme.h"

#define ENG_ACME_ARI_RETRY	21600	/* Retry-After at most, seconds */

/* The issuer of this tenant with key identifier aki, or NULL. */
static const struct eng_rt_issuer *
eng_acme_issuer_by_aki(const struct eng_acme *a, const uint8_t *aki,
    size_t len)
{
	size_t i;

	for (i = 0; i < a->t->nissuers; i++) {
		const struct ca_issuer *iss = &a->t->issuers[i].iss;

		if (a->t->issuers[i].ready && iss->ski_len == len &&
		    memcmp(iss->ski, aki, len) == 0)
			return &a->t->issuers[i];
	}
	return NULL;
}

/*
 * The ledger row of the certificate a CertID names, in this directory's
 * tenant: the issuer by key identifier, the row by serial, and the row's
 * issuer that one.  0 found (row filled, caller clears), 1 not, -1 error.
 */
static int
eng_acme_certid_row(struct eng_acme *a, const struct acme_certid *id,
    struct ledger_cert *row)
{
	const struct eng_rt_issuer *ri;
	struct ledger_serial serial;
	const uint8_t *sb = id->serial;
	size_t sl = id->seriallen;
	int rc;

	memset(row, 0, sizeof(*row));
	/* A DER INTEGER's contents; the ledger keeps the magnitude. */
	if (sl > 1 && sb[0] == 0) {
		sb++;
		sl--;
	}
	if (sl > LEDGER_SERIAL_MAX ||
	    (ri = eng_acme_issuer_by_aki(a, id->aki, id->akilen)) == NULL)
		return 1;
	memset(&serial, 0, sizeof(serial));
	serial.len = sl;
	memcpy(serial.b, sb, sl);
	rc = ledger_get(a->e->ledger, a->tenant, &serial, row);
	if (rc == LEDGER_ERR_NOTFOUND)
		return 1;
	if (rc != LEDGER_OK)
		return -1;
	if ((row->status != LEDGER_ISSUED && row->status != LEDGER_REVOKED) ||
	    row->issuer == NULL || strcmp(row->issuer, ri->iss.name) != 0) {
		ledger_cert_clear(row);
		return 1;
	}
	return 0;
}

/* RFC 9773 4: GET renewal-info/<CertID>, unauthenticated. */
int
eng_acme_renewal_info(struct eng_acme *a)
{
	struct acme_certid id;
	struct ledger_cert row;
	int64_t now = eng_engine_now(a->e), life, start, end, retry;
	int rc;

	if ((rc = acme_certid_parse(a->q->id, strlen(a->q->id), &id)) !=
	    ACME_OK)
		return eng_acme_problem(a, ACME_P_MALFORMED, "CertID: %s",
		    acme_strerror(rc));
	if ((rc = eng_acme_certid_row(a, &id, &row)) < 0)
		return eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger");
	if (rc > 0)
		return eng_acme_problem_at(a, 404, NULL, ACME_P_MALFORMED,
		    "no certificate of this directory has this CertID");
	life = row.not_after - row.not_before;
	if (life < 1)
		life = 1;
	if (row.status == LEDGER_REVOKED) {
		/* RFC 9773 4.2: revoked, renew now: a window in the past. */
		start = now - 2 * 3600;
		end = now - 3600;
	} else {
		start = row.not_before + life * 2 / 3;
		end = row.not_before + life * 5 / 6;
		if (end <= start)
			end = start + 1;
	}
	ledger_cert_clear(&row);
	retry = life / 10 < ENG_ACME_ARI_RETRY ? life / 10 :
	    ENG_ACME_ARI_RETRY;
	a->retry_after = (uint32_t)(retry < 60 ? 60 : retry);
	eng_acme_put(a, "{\"suggestedWindow\":{\"start\":");
	eng_acme_time(a, start);
	eng_acme_put(a, ",\"end\":");
	eng_acme_time(a, end);
	eng_acme_put(a, "}}");
	return eng_acme_answer(a, 200, PROTO_ACME_CT_JSON, NULL);
}

/* Whether the ledger's names (comma-separated, issue 13) hold name. */
static int
eng_acme_sans_have(const char *sans, const char *name)
{
	size_t n = strlen(name), len;
	const char *p, *e;

	for (p = sans; p != NULL && *p != '\0'; p = e != NULL ? e + 1 : NULL) {
		e = strchr(p, ',');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		if (len == n && strncasecmp(p, name, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * RFC 9773 5: what a newOrder's `replaces` may name: a certificate of
 * this directory this account was issued, sharing at least one
 * identifier with the new order (the RFC's SHOULD, kept as a MUST: a
 * renewal that shares no name with what it replaces is a new
 * certificate, and ARI would otherwise let one account move a
 * replacement slot onto unrelated names).
 */
int
eng_acme_replaces(struct eng_acme *a, const struct acme_certid *id,
    const struct acme_new_order *no)
{
	struct ledger_cert row;
	char authby[ENG_ID_ACTOR_MAX];
	size_t i;
	int rc, mine, shared = 0;

	if ((rc = eng_acme_certid_row(a, id, &row)) < 0)
		return eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger");
	if (rc > 0)
		return eng_acme_problem(a, ACME_P_MALFORMED,
		    "replaces: no certificate of this directory has this "
		    "CertID");
	eng_fmt(authby, sizeof(authby), "acme:%s:%s", a->q->label,
	    a->acct.id);
	mine = row.authorized_by != NULL &&
	    strcmp(row.authorized_by, authby) == 0;
	for (i = 0; mine && row.sans != NULL && i < no->nident; i++)
		shared |= eng_acme_sans_have(row.sans, no->ident[i].value);
	ledger_cert_clear(&row);
	if (!mine)
		return eng_acme_problem(a, ACME_P_UNAUTHORIZED,
		    "replaces: the certificate was not issued to this account");
	if (!shared)
		return eng_acme_problem(a, ACME_P_MALFORMED,
		    "replaces: the certificate shares no identifier with "
		    "this order (RFC 9773 5)");
	return -1;
}

/* The certificate's names in canonical text, as orders store them. */
static int
eng_acme_gn_text(const GENERAL_NAME *gn, char *out, size_t size)
{
	const ASN1_STRING *s;
	size_t i, n;

	if (gn->type == GEN_DNS) {
		s = gn->d.dNSName;
		n = (size_t)ASN1_STRING_length(s);
		if (n == 0 || n >= size)
			return -1;
		for (i = 0; i < n; i++)
			out[i] = (char)tolower(ASN1_STRING_get0_data(s)[i]);
		out[n] = '\0';
		return memchr(out, '\0', n) == NULL ? 0 : -1;
	}
	if (gn->type == GEN_IPADD) {
		s = gn->d.iPAddress;
		n = (size_t)ASN1_STRING_length(s);
		if ((n != 4 && n != 16) || inet_ntop(n == 4 ? AF_INET :
		    AF_INET6, ASN1_STRING_get0_data(s), out,
		    (socklen_t)size) == NULL)
			return -1;
		return 1;
	}
	return -1;
}

static int
eng_acme_one_id(const struct ledger_val *v, size_t n, void *arg)
{
	char *hit = arg;

	if (n >= 1)
		eng_fmt(hit, ENG_ACME_ID_MAX + 1, "%s", v[0].type == LV_TEXT ?
		    v[0].s : "?");
	return 1;
}

/*
 * RFC 8555 7.6: an account that holds valid authorizations for every
 * identifier of the certificate may revoke it.  1 yes, 0 no, -1 error.
 */
static int
eng_acme_rev_by_authz(struct eng_acme *a, X509 *x)
{
	GENERAL_NAMES *gns;
	struct ledger_val args[4];
	char name[ACME_MAX_IDENT + 1], hit[ENG_ACME_ID_MAX + 1];
	int i, n, kind, ok = 1;

	if ((gns = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)) ==
	    NULL)
		return 0;
	n = sk_GENERAL_NAME_num(gns);
	for (i = 0; ok == 1 && i < n; i++) {
		if ((kind = eng_acme_gn_text(sk_GENERAL_NAME_value(gns, i),
		    name, sizeof(name))) < 0) {
			ok = 0;
			break;
		}
		hit[0] = '\0';
		args[0] = ledger_vt(a->acct.id);
		args[1] = ledger_vt(kind ? "ip" : "dns");
		args[2] = ledger_vt(name);
		args[3] = ledger_vi(eng_engine_now(a->e));
		if (ledger_acme_read(a->e->ledger, LA_AUTHZ_VALID, args, 4,
		    eng_acme_one_id, hit) != LEDGER_OK)
			ok = -1;
		else if (hit[0] == '\0')
			ok = 0;
	}
	GENERAL_NAMES_free(gns);
	return n > 0 ? ok : 0;
}

/* The issuer of this tenant whose key signed x, or NULL. */
static const struct eng_rt_issuer *
eng_acme_issuer_of(const struct eng_acme *a, X509 *x)
{
	size_t i;

	for (i = 0; i < a->t->nissuers; i++) {
		X509 *ic = a->t->issuers[i].iss.cert;

		if (a->t->issuers[i].ready && X509_check_issued(ic, x) ==
		    X509_V_OK && X509_verify(x, X509_get0_pubkey(ic)) == 1)
			return &a->t->issuers[i];
	}
	return NULL;
}

int
eng_acme_revoke(struct eng_acme *a)
{
	const ASN1_INTEGER *sn;
	const struct ca_profile *pt;
	struct acme_revoke *rv = NULL;
	struct ledger_serial serial;
	struct ledger_cert row;
	struct audit_record rec;
	char hex[2 * LEDGER_SERIAL_MAX + 1], detail[64];
	char actor[ENG_ID_ACTOR_MAX], thumb[44];
	const uint8_t *p;
	X509 *x = NULL;
	int64_t now = eng_engine_now(a->e);
	int rc, ans, reason, ok;

	memset(&row, 0, sizeof(row));
	if ((rv = calloc(1, sizeof(*rv))) == NULL) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "memory");
		goto out;
	}
	if ((rc = acme_revoke_parse(a->jws->payload, a->jws->payloadlen,
	    rv)) != ACME_OK) {
		ans = eng_acme_problem(a, rc == ACME_E_VALUE ?
		    ACME_P_BAD_REVOCATION_REASON : ACME_P_MALFORMED,
		    "revokeCert: %s", rc == ACME_E_VALUE ? "reason is not "
		    "an RFC 5280 CRLReason (0-6, 8-10)" : acme_strerror(rc));
		goto out;
	}
	reason = rv->has_reason ? rv->reason : 0;
	/* removeFromCRL (8) undoes a hold; it is no reason to revoke. */
	if (reason == 8) {
		ans = eng_acme_problem(a, ACME_P_BAD_REVOCATION_REASON,
		    "reason 8 (removeFromCRL) cannot revoke a certificate");
		goto out;
	}
	p = rv->cert.der;
	if ((x = d2i_X509(NULL, &p, (long)rv->cert.len)) == NULL ||
	    p != rv->cert.der + rv->cert.len) {
		ans = eng_acme_problem(a, ACME_P_MALFORMED,
		    "revokeCert: certificate is not one DER certificate");
		goto out;
	}
	sn = X509_get0_serialNumber(x);
	if (eng_acme_issuer_of(a, x) == NULL || sn->length < 1 ||
	    sn->length > LEDGER_SERIAL_MAX || sn->type != V_ASN1_INTEGER) {
		ans = eng_acme_problem_at(a, 404, NULL, ACME_P_MALFORMED,
		    "revokeCert: not a certificate of this directory");
		goto out;
	}
	memset(&serial, 0, sizeof(serial));
	serial.len = (size_t)sn->length;
	memcpy(serial.b, sn->data, serial.len);
	ledger_serial_hex(&serial, hex, sizeof(hex));
	if ((rc = ledger_get(a->e->ledger, a->tenant, &serial, &row)) !=
	    LEDGER_OK) {
		ans = rc == LEDGER_ERR_NOTFOUND ? eng_acme_problem_at(a, 404,
		    NULL, ACME_P_MALFORMED, "revokeCert: certificate %s is "
		    "not in this directory's tenant", hex) :
		    eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger");
		goto out;
	}
	if (row.status == LEDGER_REVOKED) {
		ans = eng_acme_problem(a, ACME_P_ALREADY_REVOKED,
		    "certificate %s is already revoked", hex);
		goto out;
	}
	if (row.status != LEDGER_ISSUED) {
		ans = eng_acme_problem_at(a, 404, NULL, ACME_P_MALFORMED,
		    "revokeCert: certificate %s was never issued", hex);
		goto out;
	}
	if (a->jws->kid == NULL) {
		/* Signed with a jwk: it must be the certificate's key. */
		if (EVP_PKEY_eq(a->jws->jwk, X509_get0_pubkey(x)) != 1) {
			ans = eng_acme_problem(a, ACME_P_UNAUTHORIZED,
			    "the JWS key is not the certificate's key");
			goto out;
		}
		if (acme_jwk_thumbprint_b64(a->jws->jwk, thumb) != ACME_OK)
			thumb[0] = '\0';
		eng_fmt(actor, sizeof(actor), "acme:%s:certkey:%s",
		    a->q->label, thumb);
	} else {
		eng_fmt(actor, sizeof(actor), "acme:%s:%s", a->q->label,
		    a->acct.id);
		ok = row.authorized_by != NULL &&
		    strcmp(row.authorized_by, actor) == 0;
		if (!ok && (ok = eng_acme_rev_by_authz(a, x)) < 0) {
			ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
			    "ledger");
			goto out;
		}
		if (!ok) {
			ans = eng_acme_problem(a, ACME_P_UNAUTHORIZED,
			    "this account neither ordered certificate %s nor "
			    "holds authorizations for all its names", hex);
			goto out;
		}
	}
	/* The engine's revocation path, as eng_h_revoke (eng_admin.c). */
	snprintf(detail, sizeof(detail), "reason=%d via=acme", reason);
	memset(&rec, 0, sizeof(rec));
	rec.actor = actor;
	rec.role = "requester";
	rec.tenant = a->tenant;
	rec.action = AUDIT_REVOKE;
	rec.object = hex;
	rec.result = "ok";
	rec.detail = detail;
	if ((rc = ledger_revoke(a->e->ledger, a->tenant, &serial, reason, now,
	    &rec)) != LEDGER_OK) {
		eng_audit(a->e, actor, "requester", a->tenant, AUDIT_REFUSE,
		    hex, "denied", ledger_strerror(rc));
		ans = rc == LEDGER_ERR_STATE ? eng_acme_problem(a,
		    ACME_P_ALREADY_REVOKED, "certificate %s is already "
		    "revoked", hex) : eng_acme_problem(a,
		    ACME_P_SERVER_INTERNAL, "ledger: %s", ledger_strerror(rc));
		goto out;
	}
	log_info("msg=revoked tenant=%s serial=%s reason=%d actor=\"%s\"",
	    a->tenant, hex, reason, actor);
	eng_rev_revoked(a->rt, serial.b, serial.len, (time_t)now);
	/* Counted per target as /v1 revocations are (eng_admin_target). */
	pt = row.profile != NULL ? ca_tenant_profile(&a->t->t, row.profile) :
	    NULL;
	eng_stats_count(a->e->stats, a->tenant, pt != NULL ? pt->name : NULL,
	    ENG_ST_REVOKED, PROTO_R_OK);
	ans = eng_acme_answer(a, 200, PROTO_ACME_CT_NONE, NULL);
out:
	ledger_cert_clear(&row);
	X509_free(x);
	free(rv);
	return ans;
}
