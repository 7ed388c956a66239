/*
 * GET /v1/audit (issue 19): an auditor reads the audit log with filters.
 *
 *	?since=&until=	time, unix seconds or RFC 3339 UTC
 *			("2026-12-07T10:00:00Z"): since <= time < until
 *	&tenant=	one tenant's records
 *	&action=	an audit action name: issue, refuse, revoke, ...
 *	&actor=		the credential a record names as cred=...:
 *			cert:sha256:<hex>, token:<id>, control, acme-jws
 *	&node=		a PostgreSQL cluster node's chain (default: the
 *			engine's own)
 *	&after=&limit=	paging: records with seq > after, at most limit
 *			(1..1000, default 100), then "next" and "more"
 *
 * The query string parser (https_audit_args) is pure and fuzzed
 * (tests/fuzz/https_head); the engine decides who may read what.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "https_api.h"

#define AUDIT_LIMIT_DEFAULT	100
#define AUDIT_MAX_VALUE		(PROTO_MAX_AUTHBY + 1)

/* "YYYY-MM-DDTHH:MM:SSZ"; 0 or -1. */
static int
aq_rfc3339(const char *s, uint64_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm;
	time_t t;
	int v[6], i, k = 0, n = 0;

	if (strlen(s) != sizeof(shape) - 1)
		return -1;
	memset(v, 0, sizeof(v));
	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] != 'd') {
			if (s[i] != shape[i])
				return -1;
			if (n > 0)
				k++;
			n = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v[k] = v[k] * 10 + (s[i] - '0');
		n++;
	}
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 ||
	    v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	if ((t = timegm(&tm)) == (time_t)-1 || t < 0)
		return -1;
	/* timegm normalises 31 February; refuse what it had to move. */
	if (tm.tm_mday != v[2] || tm.tm_mon != v[1] - 1)
		return -1;
	*out = (uint64_t)t;
	return 0;
}

static int
aq_time(const char *v, uint64_t *out)
{
	if (https_uint_parse(v, INT64_MAX, out) == HTTPS_OK)
		return 0;
	return aq_rfc3339(v, out);
}

/* Printable ASCII without spaces, 1..max bytes. */
static int
aq_word(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return i > 0 && i <= max;
}

static int
aq_strcpy(char *dst, size_t size, const char *v)
{
	size_t n = strlen(v);

	if (n >= size)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

/* One name=value; 0, or -1 with *why set. */
static int
aq_arg(const char *name, const char *v, struct proto_audit_req *q,
    const char **why)
{
	uint64_t n;

	if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0) {
		*why = "since and until are unix seconds or "
		    "YYYY-MM-DDTHH:MM:SSZ";
		return aq_time(v, name[0] == 's' ? &q->since : &q->until);
	}
	if (strcmp(name, "tenant") == 0) {
		*why = "tenant: letters, digits, '.', '_' or '-'";
		return https_name_ok(v) ? aq_strcpy(q->tenant,
		    sizeof(q->tenant), v) : -1;
	}
	if (strcmp(name, "action") == 0) {
		*why = "action: an audit action such as issue, revoke, refuse";
		return https_name_ok(v) ? aq_strcpy(q->action,
		    sizeof(q->action), v) : -1;
	}
	if (strcmp(name, "actor") == 0) {
		*why = "actor: a credential such as cert:sha256:<hex>, "
		    "token:<id>, control or acme-jws";
		return aq_word(v, PROTO_MAX_AUTHBY) ? aq_strcpy(q->actor,
		    sizeof(q->actor), v) : -1;
	}
	if (strcmp(name, "node") == 0) {
		*why = "node: a cluster node id";
		return aq_word(v, PROTO_MAX_AUDIT_NODE) ?
		    aq_strcpy(q->node, sizeof(q->node), v) : -1;
	}
	if (strcmp(name, "after") == 0) {
		*why = "after: a sequence number";
		return https_uint_parse(v, INT64_MAX, &q->after) == HTTPS_OK ?
		    0 : -1;
	}
	if (strcmp(name, "limit") == 0) {
		*why = "limit: 1..1000";
		if (https_uint_parse(v, PROTO_MAX_AUDIT_LIMIT, &n) != HTTPS_OK ||
		    n == 0)
			return -1;
		q->limit = (uint16_t)n;
		return 0;
	}
	*why = "unknown parameter: since, until, tenant, action, actor, "
	    "node, after and limit are known";
	return -1;
}

int
https_audit_args(const uint8_t *query, size_t len, struct proto_audit_req *q,
    const char **why)
{
	char name[16], value[AUDIT_MAX_VALUE + 1];
	const uint8_t *p, *end = query + len, *amp, *eq;
	unsigned int seen = 0, bit;
	size_t nlen, vlen;
	static const char *const names[] = { "since", "until", "tenant",
	    "action", "actor", "node", "after", "limit" };

	memset(q, 0, sizeof(*q));
	q->limit = AUDIT_LIMIT_DEFAULT;
	*why = "malformed query string";
	if (len > HTTPS_MAX_QUERY)
		return HTTPS_E_TOOLONG;
	for (p = query; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p) {
			*why = "malformed query string";
			return HTTPS_E_SYNTAX;
		}
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL ||
		    https_pct_decode(p, (size_t)(eq - p), (uint8_t *)name,
		    sizeof(name) - 1, &nlen) != HTTPS_OK ||
		    https_pct_decode(eq + 1, (size_t)(amp - eq - 1),
		    (uint8_t *)value, sizeof(value) - 1, &vlen) != HTTPS_OK) {
			*why = "malformed query string: name=value pairs, "
			    "values percent-encoded and short";
			return HTTPS_E_SYNTAX;
		}
		name[nlen] = '\0';
		value[vlen] = '\0';
		for (bit = 0; bit < sizeof(names) / sizeof(names[0]) &&
		    strcmp(names[bit], name) != 0; bit++)
			;
		if (bit < sizeof(names) / sizeof(names[0]) &&
		    (seen & (1u << bit)) != 0) {
			*why = "a parameter is given twice";
			return HTTPS_E_SYNTAX;
		}
		seen |= 1u << bit;
		if (aq_arg(name, value, q, why) != 0)
			return HTTPS_E_SYNTAX;
	}
	if (q->until != 0 && q->since >= q->until) {
		*why = "since must come before until";
		return HTTPS_E_SYNTAX;
	}
	*why = NULL;
	return HTTPS_OK;
}

/* n bytes of text as a JSON string. */
static void
aq_json_text(struct evbuffer *b, const struct proto_blob *t)
{
	char s[PROTO_MAX_AUDIT_FIELD + 1];
	size_t n = t->len < PROTO_MAX_AUDIT_FIELD ? t->len :
	    PROTO_MAX_AUDIT_FIELD;

	if (n > 0)
		memcpy(s, t->ptr, n);
	s[n] = '\0';
	https_json_string(b, s);
}

static int
aq_write(struct https_ctx *ctx, struct evbuffer *b,
    const struct proto_reply *r)
{
	const struct proto_audit_rep *a = &r->u.audit;
	const struct proto_audit_rec *x;
	uint16_t i;

	(void)ctx;
	evbuffer_add_printf(b, "{\"records\":[");
	for (i = 0; i < a->n && i < PROTO_MAX_AUDIT_ROWS; i++) {
		x = &a->recs[i];
		evbuffer_add_printf(b, "%s{\"seq\":%llu,\"time\":",
		    i > 0 ? "," : "", (unsigned long long)x->seq);
		https_json_time(b, x->time);
		evbuffer_add_printf(b, ",\"node\":");
		aq_json_text(b, &x->node);
		evbuffer_add_printf(b, ",\"actor\":");
		aq_json_text(b, &x->actor);
		evbuffer_add_printf(b, ",\"role\":");
		aq_json_text(b, &x->role);
		evbuffer_add_printf(b, ",\"tenant\":");
		aq_json_text(b, &x->tenant);
		evbuffer_add_printf(b, ",\"action\":");
		aq_json_text(b, &x->action);
		evbuffer_add_printf(b, ",\"object\":");
		aq_json_text(b, &x->object);
		evbuffer_add_printf(b, ",\"result\":");
		aq_json_text(b, &x->result);
		evbuffer_add_printf(b, ",\"detail\":");
		aq_json_text(b, &x->detail);
		evbuffer_add_printf(b, ",\"hash\":\"");
		https_hex(b, x->hash, sizeof(x->hash));
		evbuffer_add_printf(b, "\"}");
	}
	evbuffer_add_printf(b, "],\"next\":%llu,\"more\":%s}\n",
	    (unsigned long long)a->next, a->more ? "true" : "false");
	return 200;
}

void
api_audit(struct https_ctx *ctx, struct proto_request *req,
    const char *query)
{
	const char *why = NULL;

	req->type = PROTO_T_AUDIT_QUERY;
	if (https_audit_args((const uint8_t *)(query != NULL ? query : ""),
	    query != NULL ? strlen(query) : 0, &req->u.audit, &why) !=
	    HTTPS_OK) {
		https_error(ctx, 400, "bad audit filter: %s", why);
		return;
	}
	snprintf(ctx->tenant, sizeof(ctx->tenant), "%s", req->u.audit.tenant);
	https_call_reply(ctx, req, "application/json", aq_write);
}
