/*
 * Engine-facing calls that pass straight to the backend after their
 * arguments are checked: audit-only records, counters and lookups.
 */
#include <string.h>

#include <signet/audit.h>
#include <signet/ledger.h>
#include <signet/ledger_backend.h>

#include "ledger_impl.h"

int
ledger_audit_rc(int arc)
{
	switch (arc) {
	case AUDIT_OK:
		return LEDGER_OK;
	case AUDIT_ERR_NOMEM:
		return LEDGER_ERR_NOMEM;
	case AUDIT_ERR_IO:
		return LEDGER_ERR_IO;
	case AUDIT_ERR_FULL:
		return LEDGER_ERR_FULL;
	case AUDIT_ERR_BUSY:
		return LEDGER_ERR_BUSY;
	case AUDIT_ERR_SCHEMA:
		return LEDGER_ERR_SCHEMA;
	case AUDIT_ERR_DB:
		return LEDGER_ERR_DB;
	default:
		return LEDGER_ERR_AUDIT;
	}
}

int
ledger_audit(struct ledger *l, const struct audit_record *audit,
    uint64_t *seq)
{
	if (l == NULL || audit == NULL)
		return LEDGER_ERR_ARG;
	return l->be->audit(l->state, audit, seq);
}

int
ledger_audit_checkpoint(struct ledger *l)
{
	if (l == NULL)
		return LEDGER_ERR_ARG;
	return l->be->checkpoint(l->state);
}

int
ledger_audit_query(struct ledger *l, const struct audit_query *q,
    audit_entry_cb cb, void *arg, struct audit_page *page)
{
	if (l == NULL || cb == NULL || page == NULL ||
	    audit_query_ok(q) != AUDIT_OK || l->be->audit_query == NULL)
		return LEDGER_ERR_ARG;
	return l->be->audit_query(l->state, q, cb, arg, page);
}

int
ledger_next_counter(struct ledger *l, const char *name, uint64_t *out)
{
	if (l == NULL || !ledger_text_ok(name, 1) || out == NULL)
		return LEDGER_ERR_ARG;
	return l->be->next_counter(l->state, name, out);
}

int
ledger_get(struct ledger *l, const char *tenant,
    const struct ledger_serial *serial, struct ledger_cert *out)
{
	if (l == NULL || !ledger_text_ok(tenant, 1) ||
	    !ledger_serial_ok(serial) || out == NULL)
		return LEDGER_ERR_ARG;
	memset(out, 0, sizeof(*out));
	return l->be->get(l->state, tenant, serial, out);
}

int
ledger_get_any(struct ledger *l, const struct ledger_serial *serial,
    struct ledger_cert *out)
{
	if (l == NULL || !ledger_serial_ok(serial) || out == NULL)
		return LEDGER_ERR_ARG;
	memset(out, 0, sizeof(*out));
	return l->be->get(l->state, NULL, serial, out);
}

int
ledger_list(struct ledger *l, const struct ledger_filter *f,
    struct ledger_cert **certs, size_t *n)
{
	struct ledger_filter g;

	if (l == NULL || f == NULL || certs == NULL || n == NULL ||
	    !ledger_text_ok(f->tenant, 1) || !ledger_text_ok(f->match, 0) ||
	    !ledger_auth_ok(f->authorized_by) ||
	    f->status < -1 || f->status >= LEDGER_STATUS_COUNT ||
	    f->expiring_within < 0 || f->limit > LEDGER_LIST_MAX)
		return LEDGER_ERR_ARG;
	*certs = NULL;
	*n = 0;
	g = *f;
	if (g.limit == 0)
		g.limit = LEDGER_LIST_DEFAULT;
	if (g.now == 0)
		g.now = ledger_now();
	if (g.match != NULL && *g.match == '\0')
		g.match = NULL;
	if (g.authorized_by != NULL && *g.authorized_by == '\0')
		g.authorized_by = NULL;
	return l->be->list(l->state, &g, certs, n);
}

int
ledger_count(struct ledger *l, const char *tenant, struct ledger_counts *out)
{
	if (l == NULL || !ledger_text_ok(tenant, 0) || out == NULL)
		return LEDGER_ERR_ARG;
	memset(out, 0, sizeof(*out));
	return l->be->count(l->state, tenant, out);
}

int
ledger_list_revoked(struct ledger *l, const char *issuer, int64_t now,
    ledger_revoked_cb cb, void *arg)
{
	if (l == NULL || !ledger_text_ok(issuer, 1) || cb == NULL)
		return LEDGER_ERR_ARG;
	return l->be->list_revoked(l->state, issuer,
	    now != 0 ? now : ledger_now(), cb, arg);
}

void
ledger_stats(struct ledger *l, struct ledger_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (l != NULL)
		l->be->stats(l->state, out);
}
