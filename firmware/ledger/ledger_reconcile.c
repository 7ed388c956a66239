/*
 * Start-up reconciliation.  A row left RESERVED means the engine stopped
 * between reserve and commit: the token may or may not have signed, but
 * the certificate was never returned, because the engine returns only
 * after commit.  The engine decides per row; every decision is applied
 * with its own audit record, so the log says what start-up did.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <signet/audit.h>
#include <signet/ledger.h>
#include <signet/ledger_backend.h>

#include "ledger_impl.h"

static int
apply(struct ledger *l, const struct ledger_cert *row,
    enum ledger_decision d, int reason, const char *actor)
{
	struct ledger_transition t;
	struct audit_record rec;
	char hex[2 * LEDGER_SERIAL_MAX + 1], detail[256];

	if (ledger_serial_hex(&row->serial, hex, sizeof(hex)) != 0)
		return LEDGER_ERR_ARG;
	memset(&t, 0, sizeof(t));
	t.serial = &row->serial;
	t.from_mask = 1u << LEDGER_RESERVED;
	memset(&rec, 0, sizeof(rec));
	rec.actor = actor != NULL ? actor : "signetd";
	rec.role = "system";
	rec.tenant = row->tenant;
	rec.object = hex;
	rec.result = "ok";
	rec.detail = detail;
	if (d == LEDGER_ABANDON) {
		t.to = LEDGER_ABANDONED;
		rec.action = AUDIT_ABANDON;
		snprintf(detail, sizeof(detail), "reconcile: reserved at %"
		    PRId64 ", never committed, never returned; abandoned",
		    row->created);
	} else {
		if (!ledger_reason_ok(reason))
			return LEDGER_ERR_ARG;
		t.to = LEDGER_REVOKED;
		t.revoked_at = ledger_now();
		t.reason = reason;
		rec.action = AUDIT_REVOKE;
		snprintf(detail, sizeof(detail), "reconcile: reserved at %"
		    PRId64 ", never committed, may have been signed; revoked"
		    " with reason %d", row->created, reason);
	}
	return l->be->transition(l->state, &t, &rec);
}

int
ledger_reconcile(struct ledger *l, ledger_reconcile_cb cb, void *arg,
    const char *actor, struct ledger_reconcile_report *rep)
{
	struct ledger_cert *rows = NULL;
	enum ledger_decision d;
	size_t i, n = 0;
	int reason, rc;

	if (l == NULL || rep == NULL || !ledger_text_ok(actor, 0))
		return LEDGER_ERR_ARG;
	memset(rep, 0, sizeof(*rep));
	if ((rc = l->be->list_reserved(l->state, &rows, &n)) != LEDGER_OK)
		goto out;
	rep->found = n;
	for (i = 0; i < n; i++) {
		reason = 0;
		d = cb != NULL ? cb(&rows[i], &reason, arg) : LEDGER_KEEP;
		if (d != LEDGER_ABANDON && d != LEDGER_REVOKE) {
			rep->kept++;
			continue;
		}
		if ((rc = apply(l, &rows[i], d, reason, actor)) != LEDGER_OK)
			goto out;
		if (d == LEDGER_ABANDON)
			rep->abandoned++;
		else
			rep->revoked++;
	}
out:
	ledger_certs_free(rows, n);
	return rc;
}
