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
 * Parameters after ';' (RFC 8657 accounturi, validationmethods) are
 * not enforced (docs/acme.md "The validator").  c-ares parses the records.
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

int
val_caa_permits(const struct val_caa_rr *rr, size_t n, int wildcard,
    const struct sconf_list *ids, char *why, size_t whylen)
{
	const char *want = "issue";
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
		for (j = 0; j < ids->n; j++)
			if (val_caa_names(rr[i].value, ids->v[j]))
				return 1;
	}
	snprintf(why, whylen, "no \"%s\" record names this CA (%s)", want,
	    ids->n > 0 ? ids->v[0] : "none configured");
	return 0;
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

int
val_caa(struct val_ctx *v, const char *ident, char *why, size_t whylen)
{
	static struct val_caa_rr rr[VAL_MAX_CAA];
	const struct sconf_list *ids = &v->conf->acme_caa_identities;
	uint64_t deadline = val_now_ms() + VAL_TOTAL_MS;
	struct val_caa_q q;
	const char *name = ident, *p;
	char detail[160];
	int wildcard = 0;

	if (ident == NULL || ident[0] == '\0' || ids->n == 0)
		return 0;
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
		if (val_caa_permits(rr, q.n, wildcard, ids, detail,
		    sizeof(detail)))
			return 0;
		snprintf(why, whylen, "caa: CAA at %s forbids issuance for "
		    "%s: %s", p, ident, detail);
		return -1;
	}
	return 0;
}
