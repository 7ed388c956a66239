/*
 * ACME state: argument checks in front of the backend's ops (see
 * signet/ledger_acme.h).  No SQL here.  A backend without ACME
 * statements answers LEDGER_ERR_ARG; so does SQLite for the nonce
 * statements, which only a shared ledger needs.
 */
#include <string.h>

#include <signet/ledger.h>
#include <signet/ledger_acme.h>
#include <signet/ledger_backend.h>

#include "ledger_impl.h"

struct ledger_val
ledger_vi(int64_t i)
{
	struct ledger_val v = { .type = LV_INT, .i = i };

	return v;
}

struct ledger_val
ledger_vt(const char *s)
{
	struct ledger_val v = { .type = LV_TEXT, .s = s != NULL ? s : "" };

	return v;
}

struct ledger_val
ledger_vb(const uint8_t *b, size_t len)
{
	struct ledger_val v = { .type = LV_BLOB, .b = b, .len = len };

	return v;
}

static int
vals_ok(const struct ledger_val *v, size_t n)
{
	size_t i;

	if (n > LEDGER_ACME_MAX_VALS)
		return 0;
	for (i = 0; i < n; i++) {
		if (v[i].type == LV_TEXT && (v[i].s == NULL ||
		    strnlen(v[i].s, LEDGER_MAX_TEXT + 1) > LEDGER_MAX_TEXT))
			return 0;
		if (v[i].type == LV_BLOB && (v[i].b == NULL ||
		    v[i].len > LEDGER_MAX_DER))
			return 0;
	}
	return 1;
}

int
ledger_acme_write(struct ledger *l, const struct ledger_acme_step *steps,
    size_t n, const struct audit_record *audit)
{
	size_t i;

	if (l == NULL || steps == NULL || n == 0 ||
	    n > LEDGER_ACME_MAX_STEPS || l->be->acme_write == NULL)
		return LEDGER_ERR_ARG;
	for (i = 0; i < n; i++)
		if ((unsigned)steps[i].stmt >= LA_WRITE_MAX ||
		    !vals_ok(steps[i].v, steps[i].n))
			return LEDGER_ERR_ARG;
	return l->be->acme_write(l->state, steps, n, audit);
}

int
ledger_acme_read(struct ledger *l, enum ledger_acme_stmt stmt,
    const struct ledger_val *args, size_t nargs, ledger_acme_cb cb, void *arg)
{
	if (l == NULL || cb == NULL || stmt < LA_WRITE_MAX ||
	    stmt >= LA_STMT_MAX || !vals_ok(args, nargs) ||
	    l->be->acme_read == NULL)
		return LEDGER_ERR_ARG;
	return l->be->acme_read(l->state, stmt, args, nargs, cb, arg);
}

int
ledger_acme_shared(struct ledger *l)
{
	return l != NULL && l->be->acme_shared;
}
