/*
 * Storage hygiene (issue 19): the argument checks of ledger_tidy.  The
 * deletions are each backend's (one GC_TIDY op inside its group commit).
 */
#include <stddef.h>
#include <stdint.h>

#include <signet/ledger.h>
#include <signet/ledger_backend.h>

#include "ledger_impl.h"

int
ledger_tidy(struct ledger *l, const char *tenant, int64_t cutoff,
    size_t limit, uint64_t *certs, uint64_t *tokens)
{
	if (l == NULL || !ledger_text_ok(tenant, 1) || limit == 0 ||
	    limit > LEDGER_TIDY_MAX || certs == NULL || tokens == NULL)
		return LEDGER_ERR_ARG;
	*certs = 0;
	*tokens = 0;
	return l->be->tidy(l->state, tenant, cutoff, limit, certs, tokens);
}
