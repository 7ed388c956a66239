/*
 * Expiry notifications: argument checks in front of the backend's queue
 * (signet/ledger_notify.h).  No SQL here.
 */
#include <string.h>

#include <signet/ledger.h>
#include <signet/ledger_backend.h>
#include <signet/ledger_notify.h>

#include "ledger_impl.h"

static int
name_ok(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && strnlen(s, max + 1) <= max;
}

static int
rule_ok(const struct ledger_notify_rule *r)
{
	return r != NULL && name_ok(r->tenant, LEDGER_NOTIFY_NAME_MAX) &&
	    name_ok(r->profile, LEDGER_NOTIFY_NAME_MAX) &&
	    name_ok(r->threshold, LEDGER_NOTIFY_THR_MAX) &&
	    name_ok(r->webhook, LEDGER_NOTIFY_URL_MAX) &&
	    r->secs >= 0 && r->permille >= 0 && r->permille < 1000 &&
	    (r->secs > 0) != (r->permille > 0);
}

int
ledger_notify_enqueue(struct ledger *l, const struct ledger_notify_rule *r,
    int64_t now, uint64_t *added)
{
	struct ledger_notify_op op = { .kind = LN_ENQUEUE, .rule = r,
	    .now = now };
	int rc;

	if (l == NULL || added == NULL || !rule_ok(r) || now <= 0 ||
	    l->be->notify == NULL)
		return LEDGER_ERR_ARG;
	*added = 0;
	if ((rc = l->be->notify(l->state, &op)) == LEDGER_OK)
		*added = op.added;
	return rc;
}

int
ledger_notify_claim(struct ledger *l, int64_t now, int64_t lease,
    struct ledger_notify *out)
{
	struct ledger_notify_op op = { .kind = LN_CLAIM, .now = now,
	    .until = now + lease, .out = out };

	if (l == NULL || out == NULL || now <= 0 || lease <= 0 ||
	    l->be->notify == NULL)
		return LEDGER_ERR_ARG;
	memset(out, 0, sizeof(*out));
	return l->be->notify(l->state, &op);
}

int
ledger_notify_settle(struct ledger *l, int64_t id, uint32_t attempts,
    int delivered, int64_t next, const char *error)
{
	struct ledger_notify_op op = { .kind = LN_SETTLE, .id = id,
	    .attempts = attempts, .delivered = delivered != 0,
	    .until = next, .error = error != NULL ? error : "",
	    .now = ledger_now() };

	if (l == NULL || id <= 0 || attempts == 0 || next < 0 ||
	    strnlen(op.error, LEDGER_NOTIFY_ERR_MAX + 1) >
	    LEDGER_NOTIFY_ERR_MAX || l->be->notify == NULL)
		return LEDGER_ERR_ARG;
	return l->be->notify(l->state, &op);
}

int
ledger_notify_expiring(struct ledger *l, const char *tenant,
    const char *profile, int64_t secs, int permille, int64_t now,
    uint64_t *n)
{
	if (l == NULL || n == NULL || !name_ok(tenant,
	    LEDGER_NOTIFY_NAME_MAX) || !name_ok(profile,
	    LEDGER_NOTIFY_NAME_MAX) || secs < 0 || permille < 0 ||
	    permille >= 1000 || (secs > 0) == (permille > 0) || now <= 0 ||
	    l->be->notify_expiring == NULL)
		return LEDGER_ERR_ARG;
	*n = 0;
	return l->be->notify_expiring(l->state, tenant, profile, secs,
	    permille, now, n);
}

int
ledger_notify_counts(struct ledger *l, struct ledger_notify_counts *out)
{
	if (l == NULL || out == NULL || l->be->notify_counts == NULL)
		return LEDGER_ERR_ARG;
	memset(out, 0, sizeof(*out));
	return l->be->notify_counts(l->state, out);
}
