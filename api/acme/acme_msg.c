/*
 * The request payloads of RFC 8555 7.3 (newAccount, account update and
 * deactivation), 7.4 (newOrder, finalize), 7.6 (revokeCert) and RFC 9773
 * (the "replaces" CertID).  Syntax only: whether a name is the tenant's,
 * a reason is allowed or a contact is acceptable is policy, decided by
 * the engine (docs/acme.md).  Unknown members are ignored, as RFC 8555
 * 7.1 expects of servers so that clients can extend objects.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "acme_local.h"

/* The payload is a JSON object. */
static int
msg_object(const uint8_t *p, size_t len, struct acme_json **doc,
    const struct acme_jnode **root)
{
	int rc;

	if ((rc = acme_json_parse(p, len, doc)) != ACME_OK)
		return rc;
	*root = acme_json_root(*doc);
	if ((*root)->type != ACME_J_OBJ) {
		acme_json_free(*doc);
		*doc = NULL;
		return ACME_E_SYNTAX;
	}
	return ACME_OK;
}

static int
msg_opt_bool(const struct acme_jnode *o, const char *name, int *v)
{
	int rc;

	*v = 0;
	rc = acme_json_bool(o, name, v);
	return rc == ACME_E_MISSING ? ACME_OK : rc;
}

/* RFC 8555 7.1.2 "contact": an array of URL strings. */
static int
msg_contacts(const struct acme_jnode *a, const char **out, size_t *n)
{
	const struct acme_jnode *c;

	*n = 0;
	if (a->type != ACME_J_ARR)
		return ACME_E_TYPE;
	if (a->n > ACME_MAX_CONTACTS)
		return ACME_E_LIMIT;
	for (c = a->child; c != NULL; c = c->next) {
		if (c->type != ACME_J_STR)
			return ACME_E_TYPE;
		if (c->len == 0 || c->len > ACME_MAX_CONTACT)
			return ACME_E_VALUE;
		out[(*n)++] = c->str;
	}
	return ACME_OK;
}

int
acme_new_account_parse(const uint8_t *p, size_t len,
    struct acme_new_account *na, struct acme_json **doc)
{
	const struct acme_jnode *root, *c;
	int rc;

	memset(na, 0, sizeof(*na));
	if ((rc = msg_object(p, len, doc, &root)) != ACME_OK)
		return rc;
	if ((c = acme_json_get(root, "contact")) != NULL &&
	    (rc = msg_contacts(c, na->contact, &na->ncontact)) != ACME_OK)
		goto fail;
	if ((rc = msg_opt_bool(root, "termsOfServiceAgreed",
	    &na->tos_agreed)) != ACME_OK ||
	    (rc = msg_opt_bool(root, "onlyReturnExisting",
	    &na->only_existing)) != ACME_OK)
		goto fail;
	if ((c = acme_json_get(root, "externalAccountBinding")) != NULL) {
		if (c->type != ACME_J_OBJ) {
			rc = ACME_E_TYPE;
			goto fail;
		}
		na->eab = c;
	}
	return ACME_OK;
 fail:
	acme_json_free(*doc);
	*doc = NULL;
	memset(na, 0, sizeof(*na));
	return rc;
}

int
acme_account_update_parse(const uint8_t *p, size_t len,
    struct acme_account_update *au, struct acme_json **doc)
{
	const struct acme_jnode *root, *c;
	const char *status;
	int rc;

	memset(au, 0, sizeof(*au));
	if ((rc = msg_object(p, len, doc, &root)) != ACME_OK)
		return rc;
	if ((c = acme_json_get(root, "contact")) != NULL) {
		au->has_contact = 1;
		if ((rc = msg_contacts(c, au->contact, &au->ncontact)) !=
		    ACME_OK)
			goto fail;
	}
	/* 7.3.6: the only status a client may set is "deactivated". */
	rc = acme_json_str(root, "status", &status, NULL);
	if (rc == ACME_OK && strcmp(status, "deactivated") != 0)
		rc = ACME_E_VALUE;
	if (rc != ACME_OK && rc != ACME_E_MISSING)
		goto fail;
	au->deactivate = rc == ACME_OK;
	return ACME_OK;
 fail:
	acme_json_free(*doc);
	*doc = NULL;
	memset(au, 0, sizeof(*au));
	return rc;
}

/* One identifier object {"type": "dns" | "ip", "value": ...}. */
static int
msg_ident(const struct acme_jnode *o, struct acme_ident *id)
{
	const char *type, *value;
	size_t len;
	int rc;

	if (o->type != ACME_J_OBJ)
		return ACME_E_TYPE;
	if ((rc = acme_json_str(o, "type", &type, NULL)) != ACME_OK ||
	    (rc = acme_json_str(o, "value", &value, &len)) != ACME_OK)
		return rc;
	if (strcmp(type, "dns") == 0)
		return acme_ident_check(ACME_ID_DNS, value, len, id);
	if (strcmp(type, "ip") == 0)	/* RFC 8738 */
		return acme_ident_check(ACME_ID_IP, value, len, id);
	return ACME_E_VALUE;
}

static int
msg_idents(const struct acme_jnode *a, struct acme_new_order *no)
{
	const struct acme_jnode *c;
	struct acme_ident id;
	size_t i;
	int rc;

	if (a == NULL)
		return ACME_E_MISSING;
	if (a->type != ACME_J_ARR)
		return ACME_E_TYPE;
	if (a->n == 0)
		return ACME_E_VALUE;
	if (a->n > ACME_MAX_IDENTS)
		return ACME_E_LIMIT;
	for (c = a->child; c != NULL; c = c->next) {
		if ((rc = msg_ident(c, &id)) != ACME_OK)
			return rc;
		/* A name asked for twice is one name (Boulder does so). */
		for (i = 0; i < no->nident; i++)
			if (no->ident[i].type == id.type &&
			    strcmp(no->ident[i].value, id.value) == 0)
				break;
		if (i == no->nident)
			no->ident[no->nident++] = id;
	}
	return ACME_OK;
}

static int
msg_opt_time(const struct acme_jnode *o, const char *name, int *has,
    int64_t *t)
{
	const char *s;
	size_t len;
	int rc;

	*has = 0;
	if ((rc = acme_json_str(o, name, &s, &len)) != ACME_OK)
		return rc == ACME_E_MISSING ? ACME_OK : rc;
	if ((rc = acme_time_parse(s, len, t)) != ACME_OK)
		return rc;
	*has = 1;
	return ACME_OK;
}

int
acme_new_order_parse(const uint8_t *p, size_t len, struct acme_new_order *no)
{
	struct acme_json *doc = NULL;
	const struct acme_jnode *root;
	const char *s;
	size_t slen;
	int rc;

	memset(no, 0, sizeof(*no));
	if ((rc = msg_object(p, len, &doc, &root)) != ACME_OK)
		return rc;
	if ((rc = msg_idents(acme_json_get(root, "identifiers"), no)) !=
	    ACME_OK)
		goto out;
	if ((rc = msg_opt_time(root, "notBefore", &no->has_not_before,
	    &no->not_before)) != ACME_OK ||
	    (rc = msg_opt_time(root, "notAfter", &no->has_not_after,
	    &no->not_after)) != ACME_OK)
		goto out;
	if (no->has_not_before && no->has_not_after &&
	    no->not_before >= no->not_after) {
		rc = ACME_E_VALUE;
		goto out;
	}
	/* RFC 9773 5: "replaces", the CertID of the certificate renewed. */
	rc = acme_json_str(root, "replaces", &s, &slen);
	if (rc == ACME_OK) {
		rc = slen <= ACME_MAX_CERTID ? acme_certid_parse(s, slen,
		    &no->replaces) : ACME_E_LIMIT;
		no->has_replaces = rc == ACME_OK;
		/* Strict base64url: one text per certificate (5). */
		if (rc == ACME_OK)
			memcpy(no->replaces_text, s, slen + 1);
	} else if (rc == ACME_E_MISSING)
		rc = ACME_OK;
 out:
	acme_json_free(doc);
	if (rc != ACME_OK)
		memset(no, 0, sizeof(*no));
	return rc;
}

/* A base64url DER member that `parse` reads exactly, to its end. */
static int
msg_der(const struct acme_jnode *root, const char *name, int is_req,
    struct acme_der *d)
{
	const uint8_t *q;
	const char *s;
	size_t len;
	void *x;
	int rc;

	if ((rc = acme_json_str(root, name, &s, &len)) != ACME_OK)
		return rc;
	if ((rc = acme_b64url_decode(s, len, d->der, sizeof(d->der),
	    &d->len)) != ACME_OK)
		return rc == ACME_E_SPACE ? ACME_E_LIMIT : rc;
	q = d->der;
	if (is_req)
		x = d2i_X509_REQ(NULL, &q, (long)d->len);
	else
		x = d2i_X509(NULL, &q, (long)d->len);
	if (x == NULL || q != d->der + d->len)
		rc = ACME_E_VALUE;
	if (is_req)
		X509_REQ_free(x);
	else
		X509_free(x);
	return rc;
}

int
acme_finalize_parse(const uint8_t *p, size_t len, struct acme_der *csr)
{
	struct acme_json *doc = NULL;
	const struct acme_jnode *root;
	int rc;

	csr->len = 0;
	if ((rc = msg_object(p, len, &doc, &root)) != ACME_OK)
		return rc;
	rc = msg_der(root, "csr", 1, csr);
	acme_json_free(doc);
	if (rc != ACME_OK)
		csr->len = 0;
	return rc;
}

int
acme_revoke_parse(const uint8_t *p, size_t len, struct acme_revoke *rv)
{
	struct acme_json *doc = NULL;
	const struct acme_jnode *root;
	uint64_t reason;
	int rc;

	memset(rv, 0, sizeof(*rv));
	if ((rc = msg_object(p, len, &doc, &root)) != ACME_OK)
		return rc;
	if ((rc = msg_der(root, "certificate", 0, &rv->cert)) != ACME_OK)
		goto out;
	/* RFC 5280 5.3.1: 0..10, 7 unused; which of them is policy. */
	rc = acme_json_u64(root, "reason", &reason);
	if (rc == ACME_OK && (reason > 10 || reason == 7))
		rc = ACME_E_VALUE;
	if (rc == ACME_OK) {
		rv->has_reason = 1;
		rv->reason = (int)reason;
	} else if (rc == ACME_E_MISSING)
		rc = ACME_OK;
 out:
	acme_json_free(doc);
	if (rc != ACME_OK)
		memset(rv, 0, sizeof(*rv));
	return rc;
}

int
acme_certid_parse(const char *s, size_t len, struct acme_certid *id)
{
	const char *dot;
	size_t alen;
	int rc;

	memset(id, 0, sizeof(*id));
	if ((dot = memchr(s, '.', len)) == NULL)
		return ACME_E_VALUE;
	alen = (size_t)(dot - s);
	if ((rc = acme_b64url_decode(s, alen, id->aki, sizeof(id->aki),
	    &id->akilen)) != ACME_OK ||
	    (rc = acme_b64url_decode(dot + 1, len - alen - 1, id->serial,
	    sizeof(id->serial), &id->seriallen)) != ACME_OK) {
		memset(id, 0, sizeof(*id));
		return rc == ACME_E_SPACE ? ACME_E_VALUE : rc;
	}
	/* RFC 9773 4.1: a DER INTEGER's contents, positive and minimal. */
	if (id->akilen == 0 || id->seriallen == 0 ||
	    (id->serial[0] & 0x80) != 0 ||
	    (id->serial[0] == 0 && (id->seriallen == 1 ||
	    (id->serial[1] & 0x80) == 0))) {
		memset(id, 0, sizeof(*id));
		return ACME_E_VALUE;
	}
	return ACME_OK;
}
