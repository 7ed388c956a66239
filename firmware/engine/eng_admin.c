/*
 * Administration on the mTLS JSON API and the control channel: revoke,
 * look up, list.  Every call is scoped to one tenant the identity may act
 * in (DESIGN.md rule 7); another tenant's serial is answered exactly
 * like a serial that does not exist.
 *
 * Roles: operator and agent may revoke; operator, agent and auditor may
 * read; requesters (services, devices, enrollment tokens) may do none of
 * these.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng_engine_local.h"

/* Role and tenant gate; PROTO_R_OK or a refusal already in r. */
static int
eng_admin_gate(struct eng_engine *e, const struct eng_rt *rt,
    const struct eng_ident *id, const char *tenant, const char *what,
    unsigned int roles, struct eng_reply *r)
{
	char msg[PROTO_MAX_STR + 1];
	int result = PROTO_R_FORBIDDEN;

	if (!sconf_role_in(id->role, roles))
		eng_fmt(msg, sizeof(msg), "role %s may not %s", id->role,
		    what);
	else if (!eng_ident_in_tenant(id, tenant) ||
	    eng_rt_tenant(rt, tenant) == NULL)
		eng_fmt(msg, sizeof(msg), "%s may not %s in tenant %s",
		    id->actor, what, tenant);
	else
		return PROTO_R_OK;
	eng_audit_id(e, id, tenant, AUDIT_REFUSE, NULL,
	    "denied", msg);
	return eng_reply_fail(r, result, "%s", msg);
}

#define ENG_WRITERS	(SCONF_ROLE_BIT(SCONF_ROLE_OPERATOR) | \
	SCONF_ROLE_BIT(SCONF_ROLE_AGENT))
#define ENG_READERS	(ENG_WRITERS | SCONF_ROLE_BIT(SCONF_ROLE_AUDITOR))

static int
eng_serial(const struct proto_blob *b, struct ledger_serial *s)
{
	memset(s, 0, sizeof(*s));
	if (b->len < 1 || b->len > LEDGER_SERIAL_MAX)
		return -1;
	s->len = b->len;
	memcpy(s->b, b->ptr, b->len);
	return 0;
}

static int
eng_ledger_result(int rc)
{
	switch (rc) {
	case LEDGER_ERR_NOTFOUND:
		return PROTO_R_NOT_FOUND;
	case LEDGER_ERR_STATE:
	case LEDGER_ERR_DUPLICATE:
		return PROTO_R_CONFLICT;
	case LEDGER_ERR_ARG:
		return PROTO_R_BAD_REQUEST;
	default:
		return PROTO_R_UNAVAILABLE;
	}
}

/*
 * The configured tenant and profile of a revoked certificate, for the
 * per-target counts (eng_stats.h): one more ledger read per revocation.
 * A profile no longer configured leaves the target unnamed.
 */
static void
eng_admin_target(const struct eng_rt *rt, struct eng_engine *e,
    const char *tenant, const struct ledger_serial *serial,
    struct eng_reply *r)
{
	const struct eng_rt_tenant *t;
	const struct ca_profile *p;

	if ((t = eng_rt_tenant(rt, tenant)) == NULL || r->have_row ||
	    ledger_get(e->ledger, tenant, serial, &r->row) != LEDGER_OK)
		return;
	r->have_row = 1;
	if (r->row.profile != NULL &&
	    (p = ca_tenant_profile(&t->t, r->row.profile)) != NULL) {
		r->tenant = t->t.name;
		r->profile = p->name;
	}
}

int
eng_h_revoke(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_ident *id, const struct proto_request *req, struct eng_reply *r)
{
	const struct proto_revoke_req *q = &req->u.revoke;
	struct ledger_serial serial;
	struct audit_record rec;
	char full[AUDIT_MAX_FIELD];
	char hex[2 * LEDGER_SERIAL_MAX + 1], detail[64];
	int64_t when = eng_engine_now(e);
	int rc;

	if ((rc = eng_admin_gate(e, rt, id, q->tenant, "revoke", ENG_WRITERS,
	    r)) != PROTO_R_OK)
		return rc;
	if (eng_serial(&q->serial, &serial) != 0)
		return eng_reply_fail(r, PROTO_R_BAD_REQUEST, "bad serial");
	ledger_serial_hex(&serial, hex, sizeof(hex));
	snprintf(detail, sizeof(detail), "reason=%u", q->reason);
	memset(&rec, 0, sizeof(rec));
	rec.actor = id->actor;
	rec.role = id->role;
	rec.tenant = q->tenant;
	rec.action = AUDIT_REVOKE;
	rec.object = hex;
	rec.result = "ok";
	rec.detail = eng_audit_detail(id, detail, full, sizeof(full));
	rc = ledger_revoke(e->ledger, q->tenant, &serial, q->reason, when,
	    &rec);
	if (rc != LEDGER_OK) {
		eng_audit_id(e, id, q->tenant, AUDIT_REFUSE, hex,
		    "denied", ledger_strerror(rc));
		if (rc == LEDGER_ERR_NOTFOUND)
			return eng_reply_fail(r, PROTO_R_NOT_FOUND, "no "
			    "certificate %s in tenant %s", hex, q->tenant);
		return eng_reply_fail(r, eng_ledger_result(rc), "ledger: %s",
		    ledger_strerror(rc));
	}
	log_info("msg=revoked tenant=%s serial=%s reason=%u actor=\"%s\"",
	    q->tenant, hex, q->reason, id->actor);
	eng_rev_revoked(rt, serial.b, serial.len, eng_engine_now(e));
	r->rep.u.revoked_at = (uint64_t)when;
	eng_admin_target(rt, e, q->tenant, &serial, r);
	return PROTO_R_OK;
}

_Static_assert(LEDGER_AUTH_MAX <= PROTO_MAX_AUTHBY,
    "a recorded authoriser must fit the engine protocol");

static void
eng_summary(struct eng_engine *e, const struct ledger_cert *c,
    struct proto_cert_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->serial.ptr = c->serial.b;
	s->serial.len = c->serial.len;
	if (c->status == LEDGER_REVOKED)
		s->status = PROTO_CS_REVOKED;
	else if (c->not_after <= eng_engine_now(e))
		s->status = PROTO_CS_EXPIRED;
	else
		s->status = PROTO_CS_VALID;
	s->not_before = (uint64_t)c->not_before;
	s->not_after = (uint64_t)c->not_after;
	s->revoked_at = c->status == LEDGER_REVOKED ?
	    (uint64_t)c->revoked_at : 0;
	eng_fmt(s->profile, sizeof(s->profile), "%s", c->profile);
	eng_fmt(s->subject, sizeof(s->subject), "%s", c->subject);
	eng_fmt(s->authorized_by, sizeof(s->authorized_by), "%s",
	    c->authorized_by != NULL ? c->authorized_by : "");
}

int
eng_h_get(struct eng_engine *e, const struct eng_rt *rt, struct eng_ident *id,
    const struct proto_request *req, struct eng_reply *r)
{
	const struct proto_get_cert_req *q = &req->u.get;
	struct ledger_serial serial;
	int rc;

	if ((rc = eng_admin_gate(e, rt, id, q->tenant, "read certificates",
	    ENG_READERS, r)) != PROTO_R_OK)
		return rc;
	if (eng_serial(&q->serial, &serial) != 0)
		return eng_reply_fail(r, PROTO_R_BAD_REQUEST, "bad serial");
	if ((rc = ledger_get(e->ledger, q->tenant, &serial, &r->row)) !=
	    LEDGER_OK)
		return eng_reply_fail(r, eng_ledger_result(rc), "%s",
		    rc == LEDGER_ERR_NOTFOUND ? "no such certificate in "
		    "this tenant" : ledger_strerror(rc));
	r->have_row = 1;
	/* Rows that never became certificates are not certificates. */
	if (r->row.status == LEDGER_RESERVED ||
	    r->row.status == LEDGER_ABANDONED)
		return eng_reply_fail(r, PROTO_R_NOT_FOUND, "no such "
		    "certificate in this tenant");
	eng_summary(e, &r->row, &r->rep.u.get.sum);
	r->rep.u.get.cert.ptr = r->row.der;
	r->rep.u.get.cert.len = r->row.der_len;
	return PROTO_R_OK;
}

int
eng_h_list(struct eng_engine *e, const struct eng_rt *rt, struct eng_ident *id,
    const struct proto_request *req, struct eng_reply *r)
{
	const struct proto_list_req *q = &req->u.list;
	struct proto_list_rep *lr = &r->rep.u.list;
	struct ledger_filter f;
	struct proto_cert_summary s;
	size_t i;
	int rc;

	if ((rc = eng_admin_gate(e, rt, id, q->tenant, "list certificates",
	    ENG_READERS, r)) != PROTO_R_OK)
		return rc;
	memset(&f, 0, sizeof(f));
	f.tenant = q->tenant;
	f.status = q->status == PROTO_CS_REVOKED ? LEDGER_REVOKED :
	    q->status == PROTO_CS_ANY ? -1 : LEDGER_ISSUED;
	f.expiring_within = q->expiring_within;
	f.now = eng_engine_now(e);
	f.match = q->substring[0] ? q->substring : NULL;
	f.authorized_by = q->authorized_by[0] ? q->authorized_by : NULL;
	/* Up to a full page past offset, so total is exact below that. */
	f.limit = LEDGER_LIST_MAX;
	f.offset = q->offset;
	if ((rc = ledger_list(e->ledger, &f, &r->rows, &r->nrows)) !=
	    LEDGER_OK)
		return eng_reply_fail(r, eng_ledger_result(rc), "ledger: %s",
		    ledger_strerror(rc));
	lr->total = 0;
	lr->n = 0;
	for (i = 0; i < r->nrows; i++) {
		if (r->rows[i].status != LEDGER_ISSUED &&
		    r->rows[i].status != LEDGER_REVOKED)
			continue;
		eng_summary(e, &r->rows[i], &s);
		if ((q->status == PROTO_CS_VALID &&
		    s.status != PROTO_CS_VALID) ||
		    (q->status == PROTO_CS_EXPIRED &&
		    s.status != PROTO_CS_EXPIRED))
			continue;
		lr->total++;
		if (lr->n < q->limit && lr->n < PROTO_MAX_LIST)
			lr->items[lr->n++] = s;
	}
	lr->total += q->offset;
	return PROTO_R_OK;
}
