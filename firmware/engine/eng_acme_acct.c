/*
 * ACME accounts after their creation (RFC 8555 7.3.2-7.3.6, 7.1.2.1):
 * the account object, contact update, deactivation, key rollover and the
 * account's orders.  newAccount and EAB are in eng_acme.c.  The request
 * frame (JWS verified with the account's key, nonce, url) was checked
 * before any of this runs; a deactivated account never gets here
 * (eng_acme.c answers its kid `unauthorized`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "eng_acme.h"

/* Contacts as the JSON array the account answers with. */
int
eng_acme_contacts(struct eng_acme *a, const char *const *contact, size_t n)
{
	size_t i, start = a->outlen;

	eng_acme_put(a, "[");
	for (i = 0; i < n; i++) {
		if (strncmp(contact[i], "mailto:", 7) != 0)
			return eng_acme_problem(a, ACME_P_UNSUPPORTED_CONTACT,
			    "only mailto: contacts");
		eng_acme_put(a, "%s", i ? "," : "");
		eng_acme_jstr(a, contact[i]);
	}
	eng_acme_put(a, "]");
	if (a->overflow || a->outlen - start >= sizeof(a->acct.contact))
		return eng_acme_problem(a, ACME_P_INVALID_CONTACT,
		    "contacts too long");
	memcpy(a->acct.contact, a->out + start, a->outlen - start);
	a->acct.contact[a->outlen - start] = '\0';
	a->outlen = start;
	return -1;
}

int
eng_acme_account_answer(struct eng_acme *a, int status)
{
	char loc[ENG_ACME_BASE_MAX + 64];

	eng_fmt(loc, sizeof(loc), "%s/acct/%s", a->base, a->acct.id);
	eng_acme_put(a, "{\"status\":");
	eng_acme_jstr(a, a->acct.status);
	eng_acme_put(a, ",\"contact\":%s,\"orders\":\"%s/orders\"}",
	    a->acct.contact[0] ? a->acct.contact : "[]", loc);
	return eng_acme_answer(a, status, PROTO_ACME_CT_JSON, loc);
}

/* The audit record of an account change, actor the account itself. */
static void
eng_acme_acct_audit(struct eng_acme *a, struct audit_record *rec,
    char *actor, size_t size, const char *detail)
{
	eng_fmt(actor, size, "acme:%s:%s", a->q->label, a->acct.id);
	memset(rec, 0, sizeof(*rec));
	rec->actor = actor;
	rec->role = "requester";
	rec->tenant = a->tenant;
	rec->action = AUDIT_CONFIG;
	rec->object = a->acct.id;
	rec->result = "ok";
	rec->detail = detail;
}

/*
 * POST to the account URL (7.3.2, 7.3.6): POST-as-GET or {} answers the
 * account; "contact" replaces the contacts; "status": "deactivated" ends
 * it for good.  Other members (certbot sends the whole registration) are
 * ignored, as 7.3.2 allows.
 */
int
eng_acme_account(struct eng_acme *a)
{
	struct acme_account_update au;
	struct acme_json *doc = NULL;
	struct ledger_acme_step st[2];
	struct audit_record rec;
	char url[ENG_ACME_BASE_MAX + 64], actor[ENG_ID_ACTOR_MAX];
	size_t n = 0;
	int rc, ans;

	eng_fmt(url, sizeof(url), "%s/acct/%s", a->base, a->q->id);
	if (strcmp(a->jws->kid, url) != 0)
		return eng_acme_problem(a, ACME_P_UNAUTHORIZED,
		    "not this account's key");
	if (a->jws->payloadlen == 0)
		return eng_acme_account_answer(a, 200);
	if ((rc = acme_account_update_parse(a->jws->payload,
	    a->jws->payloadlen, &au, &doc)) != ACME_OK)
		return eng_acme_problem(a, ACME_P_MALFORMED, "account: %s",
		    acme_strerror(rc));
	memset(st, 0, sizeof(st));
	if (au.has_contact) {
		if ((ans = eng_acme_contacts(a, au.contact, au.ncontact)) !=
		    -1)
			goto out;
		st[n].stmt = LA_ACCT_CONTACT;
		st[n].one = 1;
		st[n].n = 2;
		st[n].v[0] = ledger_vt(a->acct.id);
		st[n].v[1] = ledger_vt(a->acct.contact);
		n++;
	}
	if (au.deactivate) {
		st[n].stmt = LA_ACCT_STATUS;
		st[n].one = 1;
		st[n].n = 3;
		st[n].v[0] = ledger_vt(a->acct.id);
		st[n].v[1] = ledger_vt("deactivated");
		st[n].v[2] = ledger_vt("valid");
		n++;
	}
	if (n == 0) {
		ans = eng_acme_account_answer(a, 200);
		goto out;
	}
	eng_acme_acct_audit(a, &rec, actor, sizeof(actor), au.deactivate ?
	    "acme account deactivated" : "acme account contact updated");
	if ((rc = ledger_acme_write(a->e->ledger, st, n, &rec)) != LEDGER_OK) {
		ans = rc == LEDGER_ERR_STATE ? eng_acme_problem(a,
		    ACME_P_UNAUTHORIZED, "account is no longer valid") :
		    eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger: %s",
		    ledger_strerror(rc));
		goto out;
	}
	if (au.deactivate)
		eng_fmt(a->acct.status, sizeof(a->acct.status),
		    "deactivated");
	log_info("msg=\"acme account %s\" label=%s account=%s",
	    au.deactivate ? "deactivated" : "updated", a->q->label,
	    a->acct.id);
	ans = eng_acme_account_answer(a, 200);
out:
	acme_json_free(doc);
	return ans;
}

/*
 * Key rollover (7.3.5): the outer JWS is the account's (verified with its
 * current key), the inner one the new key's; the new key must not be
 * another account's in this directory (409 with that account's URL).
 */
int
eng_acme_key_change(struct eng_acme *a)
{
	struct eng_acme_acct other;
	struct ledger_acme_step st;
	struct ledger_val args[2];
	struct audit_record rec;
	EVP_PKEY *nk = NULL;
	char acct[ENG_ACME_BASE_MAX + 64], actor[ENG_ID_ACTOR_MAX];
	char thumb[44], oldthumb[44];
	uint8_t *der = NULL;
	int derlen, rc, ans;

	memset(&other, 0, sizeof(other));
	eng_fmt(acct, sizeof(acct), "%s/acct/%s", a->base, a->acct.id);
	if ((rc = acme_keychange_check(a->jws, acct, a->acct.key, &nk)) !=
	    ACME_OK) {
		ans = eng_acme_problem(a, rc == ACME_E_ALG ?
		    ACME_P_BAD_SIGNATURE_ALGORITHM : rc == ACME_E_KEY ?
		    ACME_P_BAD_PUBLIC_KEY : ACME_P_MALFORMED,
		    "keyChange: %s", rc == ACME_E_VALUE ?
		    "the new key is the current key" : acme_strerror(rc));
		goto out;
	}
	if (acme_jwk_thumbprint_b64(nk, thumb) != ACME_OK ||
	    acme_jwk_thumbprint_b64(a->acct.key, oldthumb) != ACME_OK ||
	    (derlen = i2d_PUBKEY(nk, &der)) <= 0) {
		ans = eng_acme_problem(a, ACME_P_BAD_PUBLIC_KEY, "new key");
		goto out;
	}
	args[0] = ledger_vt(a->q->label);
	args[1] = ledger_vt(thumb);
	if (ledger_acme_read(a->e->ledger, LA_ACCT_BY_KEY, args, 2,
	    eng_acme_acct_row, &other) != LEDGER_OK) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger");
		goto out;
	}
	if (other.found) {
		eng_fmt(acct, sizeof(acct), "%s/acct/%s", a->base, other.id);
		ans = eng_acme_problem_at(a, 409, acct, ACME_P_MALFORMED,
		    "the new key is already another account's");
		goto out;
	}
	memset(&st, 0, sizeof(st));
	st.stmt = LA_ACCT_KEY;
	st.one = 1;
	st.n = 4;
	st.v[0] = ledger_vt(a->acct.id);
	st.v[1] = ledger_vt(thumb);
	st.v[2] = ledger_vb(der, (size_t)derlen);
	st.v[3] = ledger_vt(oldthumb);
	eng_acme_acct_audit(a, &rec, actor, sizeof(actor),
	    "acme account key rolled over");
	if ((rc = ledger_acme_write(a->e->ledger, &st, 1, &rec)) != LEDGER_OK) {
		/* UNIQUE(label, thumbprint): another account took it since. */
		ans = rc == LEDGER_ERR_DUPLICATE ? eng_acme_problem_at(a, 409,
		    NULL, ACME_P_MALFORMED, "the new key is already another "
		    "account's") : rc == LEDGER_ERR_STATE ? eng_acme_problem(a,
		    ACME_P_UNAUTHORIZED, "the account key changed meanwhile") :
		    eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger: %s",
		    ledger_strerror(rc));
		goto out;
	}
	log_info("msg=\"acme account key changed\" label=%s account=%s "
	    "thumbprint=%s", a->q->label, a->acct.id, thumb);
	ans = eng_acme_account_answer(a, 200);
out:
	OPENSSL_free(der);
	EVP_PKEY_free(nk);
	EVP_PKEY_free(other.key);
	return ans;
}

struct eng_acme_olist {
	struct eng_acme	*a;
	size_t		 skip;	/* rows of earlier pages */
	size_t		 n;	/* rows seen */
};

static int
eng_acme_olist_row(const struct ledger_val *v, size_t n, void *arg)
{
	struct eng_acme_olist *ol = arg;

	if (n < 1 || v[0].type != LV_TEXT)
		return 1;
	/* One more than the page: only says there is a next one. */
	if (ol->n >= ol->skip && ol->n < ol->skip + ENG_ACME_ORDERS_MAX)
		eng_acme_put(ol->a, "%s\"%s/order/%s\"", ol->n > ol->skip ?
		    "," : "", ol->a->base, v[0].s);
	ol->n++;
	return 0;
}

/*
 * The account's orders (7.1.2.1): not invalid, pending ones not expired,
 * newest first, ENG_ACME_ORDERS_MAX a page; Link rel="next" to
 * acct/<id>/orders/<page> while there are more, up to
 * ENG_ACME_ORDERS_PAGES pages.  Pages are offsets into the newest-first
 * list (the ledger interface has no cursor yet), so an order created
 * between two pages shifts the next page by one: a client may see an
 * order twice, never miss one that existed when it started.
 */
int
eng_acme_orders(struct eng_acme *a)
{
	struct eng_acme_olist ol;
	struct ledger_val args[3];
	char url[ENG_ACME_BASE_MAX + 64];
	const char *pg = a->q->detail;
	long page = 0;
	size_t i;

	eng_fmt(url, sizeof(url), "%s/acct/%s", a->base, a->q->id);
	if (strcmp(a->jws->kid, url) != 0)
		return eng_acme_problem(a, ACME_P_UNAUTHORIZED,
		    "not this account's orders");
	if (a->jws->payloadlen != 0)
		return eng_acme_problem(a, ACME_P_MALFORMED,
		    "the orders list takes a POST-as-GET");
	/* The front end sends 1..9999 without a leading 0 (https_acme.c). */
	for (i = 0; i < 5 && pg[i] >= '0' && pg[i] <= '9'; i++)
		page = page * 10 + (pg[i] - '0');
	if (pg[i] != '\0' || page >= ENG_ACME_ORDERS_PAGES)
		return eng_acme_problem(a, ACME_P_MALFORMED,
		    "no such page of the orders list (at most %d pages)",
		    ENG_ACME_ORDERS_PAGES);
	memset(&ol, 0, sizeof(ol));
	ol.a = a;
	ol.skip = (size_t)page * ENG_ACME_ORDERS_MAX;
	args[0] = ledger_vt(a->acct.id);
	args[1] = ledger_vi(eng_engine_now(a->e));
	args[2] = ledger_vi((int64_t)(ol.skip + ENG_ACME_ORDERS_MAX + 1));
	eng_acme_put(a, "{\"orders\":[");
	if (ledger_acme_read(a->e->ledger, LA_ORDERS_OF_ACCT, args, 3,
	    eng_acme_olist_row, &ol) != LEDGER_OK)
		return eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger");
	eng_acme_put(a, "]}");
	if (ol.n > ol.skip + ENG_ACME_ORDERS_MAX &&
	    page + 1 < ENG_ACME_ORDERS_PAGES)
		eng_fmt(a->r->rep.u.acme.next, sizeof(a->r->rep.u.acme.next),
		    "%s/orders/%ld", url, page + 1);
	return eng_acme_answer(a, 200, PROTO_ACME_CT_JSON, NULL);
}
