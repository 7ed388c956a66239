/*
 * Enrollment tokens: argument checks in front of the backend's ops (see
 * ledger.h).  No SQL here.
 */
#include <string.h>

#include <signet/audit.h>
#include <signet/ledger.h>
#include <signet/ledger_backend.h>

#include "ledger_impl.h"

static int
bounded(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	return n > 0 && n <= max;
}

int
ledger_token_create(struct ledger *l, const struct ledger_token *t,
    const struct audit_record *audit)
{
	if (l == NULL || t == NULL || audit == NULL ||
	    !bounded(t->id, LEDGER_TOKEN_ID_MAX) ||
	    !bounded(t->tenant, LEDGER_TOKEN_NAME_MAX) ||
	    !bounded(t->profile, LEDGER_TOKEN_NAME_MAX) ||
	    strnlen(t->names, LEDGER_MAX_TEXT + 1) > LEDGER_MAX_TEXT ||
	    t->uses_left == 0 || t->expires <= t->created)
		return LEDGER_ERR_ARG;
	return l->be->token_create(l->state, t, audit);
}

int
ledger_token_get(struct ledger *l, const uint8_t hash[LEDGER_HASH_LEN],
    struct ledger_token *out)
{
	if (l == NULL || hash == NULL || out == NULL)
		return LEDGER_ERR_ARG;
	return l->be->token_get(l->state, hash, out);
}

int
ledger_token_get_id(struct ledger *l, const char *id,
    struct ledger_token *out)
{
	if (l == NULL || id == NULL || out == NULL || *id == '\0' ||
	    strlen(id) > LEDGER_TOKEN_ID_MAX)
		return LEDGER_ERR_ARG;
	return l->be->token_get_id(l->state, id, out);
}

int
ledger_reserve_token(struct ledger *l, const struct ledger_intent *in,
    const uint8_t hash[LEDGER_HASH_LEN], int64_t now)
{
	if (l == NULL || in == NULL || hash == NULL || now < 0 ||
	    !ledger_serial_ok(&in->serial) ||
	    !ledger_text_ok(in->tenant, 1) || !ledger_text_ok(in->issuer, 1) ||
	    !ledger_text_ok(in->profile, 1) ||
	    !ledger_text_ok(in->subject, 0) || !ledger_text_ok(in->sans, 0) ||
	    !ledger_text_ok(in->requester, 0) ||
	    !ledger_auth_ok(in->authorized_by) ||
	    in->not_after < in->not_before)
		return LEDGER_ERR_ARG;
	return l->be->reserve_token(l->state, in, hash,
	    now != 0 ? now : ledger_now());
}
