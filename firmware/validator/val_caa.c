/*
 * CAA (RFC 8659), checked by the validator before it validates a dns
 * identifier (RFC 8555 relies on it): the relevant RRset is the first
 * non-empty CAA RRset met climbing from the name towards the root (3;
 * the root itself is not asked), through the same c-ares channel and
 * resolver as every other lookup.  An empty tree permits; a set whose
 * "issue" values (for a wildcard, "issuewild" when there are any) name
 * none of acme_caa_identities forbids; a critical property we do not
 * know forbids (4.1).  A lookup that fails (SERVFAIL, timeout) forbids
 * too: we cannot tell whether issuance is permitted, so we do not.
 * RFC 8657 parameters after ';' are honoured: a record with accounturi
 * names this CA only for that account (the URL of the account asking),
 * one with validationmethods only for the challenge types it lists; a
 * record with either twice names nobody; other parameters are ignored
 * (docs/acme.md "The validator").  c-ares parses the records.
 */
#include <sys/types.h>

#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CARES_NO_DEPRECATED	/* ares_parse_caa_reply: see val_dns.c */
#include <ares.h>

#include "val_local.h"

#ifndef T_CAA
#define T_CAA	257
#endif

/* RFC 8659 4.2: issuer-domain-name, before ';' and around blanks. */
static int
val_caa_names(const char *value, const char *id)
{
	const char *p = value, *e;
	size_t n;

	p += strspn(p, " \t");
	e = p + strcspn(p, "; \t");
	n = (size_t)(e - p);
	return n > 0 && n == strlen(id) && strncasecmp(p, id, n) == 0;
}

/*
 * Whether accounturi (len bytes) is the URL of account id at this CA:
 * "<base>/acme/<label>/acct/<id>".  The label is one path segment and
 * not compared: account ids are 128 random bits unique across every
 * directory, so a URL naming another label names no account.
 */
static int
val_caa_account_is(const char *uri, size_t len, const struct val_caa_who *who)
{
	size_t blen, ilen;
	const char *p, *end = uri + len, *slash;

	if (who == NULL || who->base == NULL || who->account == NULL ||
	    who->account[0] == '\0')
		return 0;
	blen = strlen(who->base);
	ilen = strlen(who->account);
	if (len < blen + 6 || memcmp(uri, who->base, blen) != 0 ||
	    memcmp(uri + blen, "/acme/", 6) != 0)
		return 0;
	p = uri + blen + 6;
	if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL || slash == p)
		return 0;
	p = slash;
	return (size_t)(end - p) == 6 + ilen && memcmp(p, "/acct/", 6) == 0 &&
	    memcmp(p + 6, who->account, ilen) == 0;
}

/* Whether the comma-separated list (len bytes) holds method. */
static int
val_caa_method_in(const char *list, size_t len, const char *method)
{
	const char *p = list, *end = list + len, *c;
	size_t mlen;

	if (method == NULL || method[0] == '\0')
		return 0;
	mlen = strlen(method);
	while (p < end) {
		if ((c = memchr(p, ',', (size_t)(end - p))) == NULL)
			c = end;
		if ((size_t)(c - p) == mlen && memcmp(p, method, mlen) == 0)
			return 1;
		p = c + 1;
	}
	return 0;
}

/*
 * RFC 8657: the parameters of a record that names this CA.  1 when they
 * let who use it; 0 with *what naming the one that does not.
 */
static int
val_caa_params_ok(const char *value, const struct val_caa_who *who,
    const char **what)
{
	const char *p = strchr(value, ';'), *k, *eq, *e;
	int nacct = 0, nmeth = 0, acct_ok = 0, meth_ok = 0;
	size_t klen;

	while (p != NULL) {
		p++;
		p += strspn(p, " \t");
		k = p;
		e = p + strcspn(p, "; \t");
		if ((eq = memchr(k, '=', (size_t)(e - k))) != NULL) {
			klen = (size_t)(eq - k);
			if (klen == 10 && strncasecmp(k, "accounturi", 10) == 0) {
				nacct++;
				acct_ok = val_caa_account_is(eq + 1,
				    (size_t)(e - eq - 1), who);
			} else if (klen == 17 &&
			    strncasecmp(k, "validationmethods", 17) == 0) {
				nmeth++;
				meth_ok = val_caa_method_in(eq + 1,
				    (size_t)(e - eq - 1),
				    who != NULL ? who->method : NULL);
			}
		}
		p = strchr(e, ';');
	}
	if (nacct > 1 || nmeth > 1) {
		*what = "a parameter given twice";
		return 0;
	}
	if (nacct == 1 && !acct_ok) {
		*what = "accounturi names another account";
		return 0;
	}
	if (nmeth == 1 && !meth_ok) {
		*what = "validationmethods does not list this challenge type";
		return 0;
	}
	return 1;
}

int
val_caa_permits_for(const struct val_caa_rr *rr, size_t n, int wildcard,
    const struct sconf_list *ids, const struct val_caa_who *who, char *why,
    size_t whylen)
{
	const char *want = "issue", *what = NULL;
	size_t i, j, nissue = 0, nwild = 0;

	for (i = 0; i < n; i++) {
		if (strcasecmp(rr[i].tag, "issue") == 0)
			nissue++;
		else if (strcasecmp(rr[i].tag, "issuewild") == 0)
			nwild++;
		else if (strcasecmp(rr[i].tag, "iodef") != 0 &&
		    rr[i].critical) {
			/* 4.1: an unknown critical property forbids. */
			snprintf(why, whylen, "an unknown critical property "
			    "\"%s\"", rr[i].tag);
			return 0;
		}
	}
	/* 4.3: issuewild, where present, alone governs wildcards. */
	if (wildcard && nwild > 0)
		want = "issuewild";
	else if (nissue == 0)
		return 1;	/* 4.2: no issue property: any CA */
	for (i = 0; i < n; i++) {
		if (strcasecmp(rr[i].tag, want) != 0)
			continue;
		for (j = 0; j < ids->n; j++) {
			if (!val_caa_names(rr[i].value, ids->v[j]))
				continue;
			if (val_caa_params_ok(rr[i].value, who, &what))
				return 1;
		}
	}
	if (what != NULL)
		snprintf(why, whylen, "the \"%s\" record naming this CA "
		    "does not apply (RFC 8657): %s", want, what);
	else
		snprintf(why, whylen, "no \"%s\" record names this CA (%s)",
		    want, ids->n > 0 ? ids->v[0] : "none configured");
	return 0;
}

int
val_caa_permits(const struct val_caa_rr *rr, size_t n, int wildcard,
    const struct sconf_list *ids, char *why, size_t whylen)
{
	return val_caa_permits_for(rr, n, wildcard, ids, NULL, why, whylen);
}

struct val_caa_q {
	int			 done;
	int			 status;
	struct val_caa_rr	*rr;
	size_t			 n;
	int			 over;
};

static void
val_caa_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct val_caa_q *q = arg;
	struct ares_caa_reply *caa = NULL, *r;
	struct val_caa_rr *o;
	size_t len;

	(void)timeouts;
	q->done = 1;
	q->status = status;
	if (status != ARES_SUCCESS)
		return;
	/* ENODATA: an answer without CAA records (a CNAME alone, say). */
	if ((q->status = ares_parse_caa_reply(abuf, alen, &caa)) !=
	    ARES_SUCCESS)
		return;
	for (r = caa; r != NULL; r = r->next) {
		if (q->n >= VAL_MAX_CAA) {
			q->over = 1;
			break;
		}
		o = &q->rr[q->n++];
		memset(o, 0, sizeof(*o));
		o->critical = (r->critical & 0x80) != 0;
		len = r->plength < sizeof(o->tag) - 1 ? r->plength :
		    sizeof(o->tag) - 1;
		memcpy(o->tag, r->property, len);
		len = r->length < sizeof(o->value) - 1 ? r->length :
		    sizeof(o->value) - 1;
		memcpy(o->value, r->value, len);
	}
	ares_free_data(caa);
}

/* One CAA RRset: 0 (q->n records, 0 for none), or -1 with why. */
static int
val_caa_lookup(struct val_ctx *v, const char *name, struct val_caa_q *q,
    uint64_t deadline, char *why, size_t whylen)
{
	ares_query(v->dns, name, C_IN, T_CAA, val_caa_cb, q);
	if (val_dns_wait(v, &q->done, deadline) != 0) {
		snprintf(why, whylen, "caa: %s: no DNS answer in time", name);
		return -1;
	}
	if (q->status == ARES_ENODATA || q->status == ARES_ENOTFOUND) {
		q->n = 0;
		return 0;
	}
	if (q->status != ARES_SUCCESS) {
		snprintf(why, whylen, "caa: CAA lookup of %s failed: %s", name,
		    ares_strerror(q->status));
		return -1;
	}
	if (q->over) {
		snprintf(why, whylen, "caa: %s: more than %d CAA records",
		    name, VAL_MAX_CAA);
		return -1;
	}
	return 0;
}

/* The challenge type of what VA_NEXT asks to fetch (eng_acme_va_url). */
static const char *
val_caa_method(const char *location)
{
	if (location == NULL)
		return NULL;
	if (strncmp(location, "http://", 7) == 0)
		return "http-01";
	if (strncmp(location, "tls://", 6) == 0)
		return "tls-alpn-01";
	if (strncmp(location, "dns:", 4) == 0)
		return "dns-01";
	return NULL;
}

int
val_caa(struct val_ctx *v, const char *ident, const char *account,
    const char *location, char *why, size_t whylen)
{
	struct val_caa_who who;
	char base[512];
	/* Per thread: signet-validator runs validations in threads. */
	static _Thread_local struct val_caa_rr rr[VAL_MAX_CAA];
	const struct sconf_list *ids = &v->conf->acme_caa_identities;
	uint64_t deadline = val_now_ms() + VAL_TOTAL_MS;
	struct val_caa_q q;
	const char *name = ident, *p;
	char detail[160];
	int wildcard = 0;

	if (ident == NULL || ident[0] == '\0' || ids->n == 0)
		return 0;
	/* The directory base as the engine makes it (eng_acme.c). */
	if (v->conf->acme_base_url != NULL)
		snprintf(base, sizeof(base), "%s", v->conf->acme_base_url);
	else
		snprintf(base, sizeof(base), "https://%s",
		    v->conf->listen_https != NULL ? v->conf->listen_https :
		    "localhost");
	who.base = base;
	who.account = account;
	who.method = val_caa_method(location);
	if (strncmp(name, "*.", 2) == 0) {
		wildcard = 1;
		name += 2;
	}
	if (v->dns == NULL) {
		snprintf(why, whylen, "caa: no resolver");
		return -1;
	}
	/* RFC 8659 3: X, then its parents, never the root. */
	for (p = name; p != NULL && *p != '\0';
	    p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL) {
		memset(&q, 0, sizeof(q));
		q.rr = rr;
		if (val_caa_lookup(v, p, &q, deadline, why, whylen) != 0)
			return -1;
		if (q.n == 0)
			continue;
		if (val_caa_permits_for(rr, q.n, wildcard, ids, &who, detail,
		    sizeof(detail)))
			return 0;
		snprintf(why, whylen, "caa: CAA at %s forbids issuance for "
		    "%s: %s", p, ident, detail);
		return -1;
	}
	return 0;
}
