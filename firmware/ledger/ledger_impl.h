/* Internal to the ledger library: shared between its files only. */
#ifndef SIGNET_LEDGER_IMPL_H
#define SIGNET_LEDGER_IMPL_H

#include <stdint.h>

#include <signet/ledger.h>
#include <signet/ledger_backend.h>

struct ledger {
	const struct ledger_backend	*be;
	void				*state;
};

int64_t	ledger_now(void);
/* Non-NULL (and non-empty if required) and at most LEDGER_MAX_TEXT. */
int	ledger_text_ok(const char *s, int required);
/* authorized_by: NULL or at most LEDGER_AUTH_MAX bytes. */
int	ledger_auth_ok(const char *s);
int	ledger_reason_ok(int reason);
int	ledger_serial_ok(const struct ledger_serial *s);
int	ledger_audit_rc(int audit_rc);
/* ACME rate limits (ledger_acme_limit.c): a token at lim->now_us? */
struct ledger_acme_limit;
int	ledger_acme_limit_there(struct ledger_acme_limit *lim, int64_t tat);

#endif
