/*
 * AUDIT_QUERY (issue 19, GET /v1/audit): an auditor or operator reads
 * the audit log with filters, a page at a time.
 *
 * Who may read what: the roles operator and auditor (agents revoke and
 * read certificates, but the log names every credential of every
 * tenant).  An identity mapped to some tenants reads only records of a
 * tenant it names, one at a time; records of no tenant (configuration,
 * token events) and the whole log only for an identity mapped to every
 * tenant ("*") or the control channel, as the tenant gate of the other
 * /v1 reads (eng_ident_in_tenant, DESIGN.md rule 7).
 */
#include <stdlib.h>
#include <string.h>

#include "eng_engine_local.h"

#define ENG_AUDIT_READERS (SCONF_ROLE_BIT(SCONF_ROLE_OPERATOR) | \
	SCONF_ROLE_BIT(SCONF_ROLE_AUDITOR))

/* What the status, next, more and n take ahead of the records. */
#define ENG_AUDIT_HEAD	(1 + 2 + PROTO_MAX_STR + 4 + 8 + 1 + 2)
#define ENG_AUDIT_BUDGET (PROTO_MAX_BODY - ENG_AUDIT_HEAD)

/* The page under construction: records copied into one arena. */
struct eng_auditq {
	struct proto_audit_rep	*rep;
	uint8_t			*arena;
	size_t			 used;	/* arena bytes */
	size_t			 bytes;	/* encoded record bytes */
};

static int
eng_audit_all_tenants(const struct eng_ident *id)
{
	size_t i;

	if (id->kind == ENG_ID_PARENT)
		return 1;
	if (id->kind != ENG_ID_CLIENT || id->client == NULL)
		return 0;
	for (i = 0; i < id->client->tenants.n; i++)
		if (strcmp(id->client->tenants.v[i], "*") == 0)
			return 1;
	return 0;
}

/* Role and tenant gate; PROTO_R_OK or a refusal already in r. */
static int
eng_audit_gate(struct eng_engine *e, const struct eng_ident *id,
    const char *tenant, struct eng_reply *r)
{
	char msg[PROTO_MAX_STR + 1];

	if (!sconf_role_in(id->role, ENG_AUDIT_READERS))
		eng_fmt(msg, sizeof(msg), "role %s may not read the audit "
		    "log", id->role);
	else if (tenant[0] == '\0' && !eng_audit_all_tenants(id))
		eng_fmt(msg, sizeof(msg), "%s may read the audit log only "
		    "of a tenant it names", id->actor);
	else if (tenant[0] != '\0' && !eng_ident_in_tenant(id, tenant))
		eng_fmt(msg, sizeof(msg), "%s may not read the audit log "
		    "of tenant %s", id->actor, tenant);
	else
		return PROTO_R_OK;
	eng_audit_id(e, id, tenant, AUDIT_REFUSE, NULL, "denied", msg);
	return eng_reply_fail(r, PROTO_R_FORBIDDEN, "%s", msg);
}

static int
eng_audit_action_ok(const char *name)
{
	int i;

	if (name[0] == '\0')
		return 1;
	for (i = 0; i < AUDIT_ACTION_COUNT; i++)
		if (strcmp(audit_action_name((enum audit_action)i), name) == 0)
			return 1;
	return 0;
}

static struct proto_blob
eng_audit_copy(struct eng_auditq *pg, const char *s)
{
	struct proto_blob b = { pg->arena + pg->used, strlen(s) };

	memcpy(pg->arena + pg->used, s, b.len);
	pg->used += b.len;
	return b;
}

/* One record into the page; 1 (stop) when it would not fit. */
static int
eng_audit_take(const struct audit_entry *row, void *arg)
{
	struct eng_auditq *pg = arg;
	struct proto_audit_rec *a;
	size_t size;

	if (pg->rep->n >= PROTO_MAX_AUDIT_ROWS)
		return 1;
	size = 8 + 8 + 8 * 2 + strlen(row->node) + strlen(row->actor) +
	    strlen(row->role) + strlen(row->tenant) + strlen(row->action) +
	    strlen(row->object) + strlen(row->result) + strlen(row->detail) +
	    4 + PROTO_AUDIT_HASH_LEN;
	if (strlen(row->node) > PROTO_MAX_AUDIT_NODE ||
	    pg->bytes + size > ENG_AUDIT_BUDGET)
		return 1;
	a = &pg->rep->recs[pg->rep->n++];
	a->seq = row->seq;
	a->time = row->time > 0 ? (uint64_t)row->time : 0;
	a->node = eng_audit_copy(pg, row->node);
	a->actor = eng_audit_copy(pg, row->actor);
	a->role = eng_audit_copy(pg, row->role);
	a->tenant = eng_audit_copy(pg, row->tenant);
	a->action = eng_audit_copy(pg, row->action);
	a->object = eng_audit_copy(pg, row->object);
	a->result = eng_audit_copy(pg, row->result);
	a->detail = eng_audit_copy(pg, row->detail);
	memcpy(a->hash, row->hash, PROTO_AUDIT_HASH_LEN);
	pg->bytes += proto_audit_rec_size(a);
	return 0;
}

static int
eng_audit_args(const struct proto_audit_req *q, struct audit_query *aq,
    struct eng_reply *r)
{
	if (!eng_audit_action_ok(q->action))
		return eng_reply_fail(r, PROTO_R_BAD_REQUEST, "unknown audit "
		    "action %s", q->action);
	if (q->since > INT64_MAX || q->until > INT64_MAX ||
	    (q->until != 0 && q->since >= q->until))
		return eng_reply_fail(r, PROTO_R_BAD_REQUEST, "since must "
		    "come before until");
	if (q->after > INT64_MAX - AUDIT_QUERY_WINDOW)
		return eng_reply_fail(r, PROTO_R_BAD_REQUEST, "after is out "
		    "of range");
	memset(aq, 0, sizeof(*aq));
	aq->since = (int64_t)q->since;
	aq->until = (int64_t)q->until;
	aq->tenant = q->tenant;
	aq->action = q->action;
	aq->actor = q->actor;
	aq->node = q->node;
	aq->after = q->after;
	aq->limit = q->limit < AUDIT_QUERY_MAX ? q->limit : AUDIT_QUERY_MAX;
	return PROTO_R_OK;
}

int
eng_h_audit(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_ident *id, const struct proto_request *req,
    struct eng_reply *r)
{
	const struct proto_audit_req *q = &req->u.audit;
	struct eng_auditq pg;
	struct audit_query aq;
	struct audit_page page;
	int rc;

	(void)rt;
	if ((rc = eng_audit_gate(e, id, q->tenant, r)) != PROTO_R_OK)
		return rc;
	if ((rc = eng_audit_args(q, &aq, r)) != PROTO_R_OK)
		return rc;
	memset(&pg, 0, sizeof(pg));
	pg.rep = &r->rep.u.audit;
	if ((pg.arena = malloc(ENG_AUDIT_BUDGET)) == NULL)
		return eng_reply_fail(r, PROTO_R_INTERNAL, "out of memory");
	r->mem[0] = pg.arena;
	rc = ledger_audit_query(e->ledger, &aq, eng_audit_take, &pg, &page);
	if (rc != LEDGER_OK)
		return eng_reply_fail(r, rc == LEDGER_ERR_ARG ?
		    PROTO_R_BAD_REQUEST : PROTO_R_UNAVAILABLE, "ledger: %s",
		    ledger_strerror(rc));
	/* A record that fits no reply would stop every page at after. */
	if (pg.rep->n == 0 && page.more && page.next == aq.after)
		return eng_reply_fail(r, PROTO_R_INTERNAL, "the audit record "
		    "after %llu does not fit a reply",
		    (unsigned long long)aq.after);
	pg.rep->next = page.next;
	pg.rep->more = page.more ? 1 : 0;
	return PROTO_R_OK;
}
