/*
 * Start-up reconciliation.  The engine hands a certificate to a client
 * only after ledger_commit returned (DESIGN.md rule 4), so a row still
 * RESERVED after a crash belongs to a certificate that never left this
 * process: it is abandoned, with an audit record per row, and the
 * serial can never be reused (the row stays).
 */
#include "eng_engine_local.h"

static enum ledger_decision
eng_reconcile_cb(const struct ledger_cert *row, int *reason, void *arg)
{
	char hex[2 * LEDGER_SERIAL_MAX + 1];

	ledger_serial_hex(&row->serial, hex, sizeof(hex));
	log_info("msg=\"abandoning reserved serial\" tenant=%s serial=%s "
	    "created=%lld", row->tenant, hex, (long long)row->created);
	return LEDGER_ABANDON;
}

int
eng_engine_reconcile(struct eng_engine *e)
{
	struct ledger_reconcile_report rep;
	int rc;

	rc = ledger_reconcile(e->ledger, eng_reconcile_cb, e, "signet-engine",
	    &rep);
	log_info("msg=reconciled found=%zu abandoned=%zu revoked=%zu "
	    "kept=%zu result=\"%s\"", rep.found, rep.abandoned, rep.revoked,
	    rep.kept, ledger_strerror(rc));
	return rc == LEDGER_OK ? 0 : -1;
}
