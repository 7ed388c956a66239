/*
 * Enrollment tokens in the ledger: only the hash is stored, a use is
 * consumed with the reservation it pays for (or not at all), expired,
 * used-up and foreign tokens reserve nothing, a failing disk consumes
 * nothing, and the lookup by public id returns the whole row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <signet/audit.h>
#include <signet/ledger.h>

#include "faultvfs.h"
#include "ledgerfx.h"
#include "testutil.h"

#define T0 1700000000LL

struct fx {
	char		 dir[256];
	char		 db[300];
	struct ledger	*l;
};

static int
setup(void **state)
{
	static struct fx fx;

	memset(&fx, 0, sizeof(fx));
	assert_int_equal(faultvfs_install(), 0);
	tu_tmpdir(fx.dir, sizeof(fx.dir));
	snprintf(fx.db, sizeof(fx.db), "%s/ledger.db", fx.dir);
	assert_int_equal(ledger_open("sqlite", fx.db, &fx.l), LEDGER_OK);
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	faultvfs_fail(0);
	ledger_close(fx->l);
	tu_rmtree(fx->dir);
	return 0;
}

static void
mk_token(struct ledger_token *t, const char *id, uint8_t seed,
    uint32_t uses, int64_t expires)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id);
	memset(t->hash, seed, sizeof(t->hash));
	snprintf(t->tenant, sizeof(t->tenant), "acme");
	snprintf(t->profile, sizeof(t->profile), "device");
	snprintf(t->names, sizeof(t->names), "d1.example.com");
	t->created = T0;
	t->expires = expires;
	t->uses_left = uses;
}

static void
mk_intent(struct ledger_intent *in, uint8_t serial, const char *profile)
{
	memset(in, 0, sizeof(*in));
	in->serial.len = 8;
	memset(in->serial.b, 0x11, 8);
	in->serial.b[7] = serial;
	in->tenant = "acme";
	in->issuer = "inter";
	in->profile = profile;
	in->subject = "CN=d1.example.com";
	in->sans = "d1.example.com";
	in->not_before = T0;
	in->not_after = T0 + 3600;
	in->created = T0;
}

static void
test_token_consume(void **state)
{
	struct fx *fx = *state;
	struct ledger_token t, got;
	struct ledger_intent in;
	struct ledger_cert row;
	struct audit_record rec = { .actor = "op", .action = AUDIT_CONFIG,
	    .result = "ok" };
	uint8_t other[LEDGER_HASH_LEN];

	mk_token(&t, "tok1", 0xaa, 2, T0 + 600);
	assert_int_equal(ledger_token_create(fx->l, &t, &rec), LEDGER_OK);
	assert_int_equal(ledger_token_create(fx->l, &t, &rec),
	    LEDGER_ERR_DUPLICATE);
	assert_int_equal(ledger_token_get(fx->l, t.hash, &got), LEDGER_OK);
	assert_string_equal(got.id, "tok1");
	assert_string_equal(got.names, "d1.example.com");
	assert_int_equal(got.uses_left, 2);
	memset(other, 0xbb, sizeof(other));
	assert_int_equal(ledger_token_get(fx->l, other, &got),
	    LEDGER_ERR_NOTFOUND);

	/* Another profile of the same tenant: refused, nothing reserved. */
	mk_intent(&in, 1, "web");
	assert_int_equal(ledger_reserve_token(fx->l, &in, t.hash, T0 + 1),
	    LEDGER_ERR_STATE);
	assert_int_equal(ledger_get(fx->l, "acme", &in.serial, &row),
	    LEDGER_ERR_NOTFOUND);
	/* Expired: refused. */
	mk_intent(&in, 1, "device");
	assert_int_equal(ledger_reserve_token(fx->l, &in, t.hash, T0 + 600),
	    LEDGER_ERR_STATE);
	assert_int_equal(ledger_reserve_token(fx->l, &in, other, T0 + 1),
	    LEDGER_ERR_NOTFOUND);

	/* Two uses, then used up. */
	assert_int_equal(ledger_reserve_token(fx->l, &in, t.hash, T0 + 1),
	    LEDGER_OK);
	/* A duplicate serial undoes the use it would have consumed. */
	assert_int_equal(ledger_reserve_token(fx->l, &in, t.hash, T0 + 1),
	    LEDGER_ERR_DUPLICATE);
	assert_int_equal(ledger_token_get(fx->l, t.hash, &got), LEDGER_OK);
	assert_int_equal(got.uses_left, 1);
	mk_intent(&in, 2, "device");
	assert_int_equal(ledger_reserve_token(fx->l, &in, t.hash, T0 + 1),
	    LEDGER_OK);
	mk_intent(&in, 3, "device");
	assert_int_equal(ledger_reserve_token(fx->l, &in, t.hash, T0 + 1),
	    LEDGER_ERR_STATE);
	assert_int_equal(ledger_get(fx->l, "acme", &in.serial, &row),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(tu_sql_int(fx->db,
	    "SELECT count(*) FROM enroll_tokens WHERE uses_left = 0"), 1);
}

static void
test_token_fail_closed(void **state)
{
	struct fx *fx = *state;
	struct ledger_token t, got;
	struct ledger_intent in;
	struct audit_record rec = { .actor = "op", .action = AUDIT_CONFIG,
	    .result = "ok" };
	int rc;

	mk_token(&t, "tok2", 0xcc, 1, T0 + 600);
	assert_int_equal(ledger_token_create(fx->l, &t, &rec), LEDGER_OK);
	mk_intent(&in, 9, "device");
	faultvfs_fail(1);
	rc = ledger_reserve_token(fx->l, &in, t.hash, T0 + 1);
	faultvfs_fail(0);
	assert_true(rc == LEDGER_ERR_IO || rc == LEDGER_ERR_FULL);
	assert_int_equal(ledger_token_get(fx->l, t.hash, &got), LEDGER_OK);
	assert_int_equal(got.uses_left, 1);
	/* The secret itself is nowhere in the file. */
	assert_int_equal(tu_sql_int(fx->db, "SELECT count(*) FROM"
	    " enroll_tokens WHERE length(hash) = 32"), 1);
	assert_int_equal(ledger_reserve_token(fx->l, &in, t.hash, T0 + 1),
	    LEDGER_OK);
}

/*
 * The DTLS PSK lookup: by public id, the whole row with its hash in one
 * read; a spent token is still returned (the caller refuses it).
 */
static void
test_token_get_id(void **state)
{
	struct fx *fx = *state;
	struct ledger_token t, u, got;
	struct ledger_intent in;
	struct audit_record rec = { .actor = "op", .action = AUDIT_CONFIG,
	    .result = "ok" };
	char id[LEDGER_TOKEN_ID_MAX + 2];
	size_t i;

	mk_token(&t, "tok-a", 0, 3, T0 + 600);
	for (i = 0; i < sizeof(t.hash); i++)
		t.hash[i] = (uint8_t)(i * 7 + 1);
	snprintf(t.names, sizeof(t.names), "a.example.com,b.example.com");
	/* A neighbour with the longest id, its own fields and hash. */
	memset(id, 'z', LEDGER_TOKEN_ID_MAX);
	id[LEDGER_TOKEN_ID_MAX] = '\0';
	mk_token(&u, id, 0xee, 1, T0 + 900);
	snprintf(u.tenant, sizeof(u.tenant), "other");
	snprintf(u.profile, sizeof(u.profile), "web");
	u.names[0] = '\0';
	u.created = T0 + 5;
	assert_int_equal(ledger_token_create(fx->l, &t, &rec), LEDGER_OK);
	assert_int_equal(ledger_token_create(fx->l, &u, &rec), LEDGER_OK);

	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(ledger_token_get_id(fx->l, "tok-a", &got), LEDGER_OK);
	assert_token_equal(&t, &got);
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(ledger_token_get_id(fx->l, u.id, &got), LEDGER_OK);
	assert_token_equal(&u, &got);

	assert_int_equal(ledger_token_get_id(fx->l, "tok-b", &got),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_token_get_id(fx->l, "tok-", &got),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_token_get_id(fx->l, "", &got),
	    LEDGER_ERR_ARG);
	id[LEDGER_TOKEN_ID_MAX] = 'z';
	id[LEDGER_TOKEN_ID_MAX + 1] = '\0';
	assert_int_equal(ledger_token_get_id(fx->l, id, &got),
	    LEDGER_ERR_ARG);
	assert_int_equal(ledger_token_get_id(fx->l, NULL, &got),
	    LEDGER_ERR_ARG);
	assert_int_equal(ledger_token_get_id(fx->l, "tok-a", NULL),
	    LEDGER_ERR_ARG);

	/* Spent: still found, with no use left. */
	mk_intent(&in, 1, "device");
	assert_int_equal(ledger_reserve_token(fx->l, &in, t.hash, T0 + 1),
	    LEDGER_OK);
	mk_intent(&in, 2, "device");
	assert_int_equal(ledger_reserve_token(fx->l, &in, t.hash, T0 + 1),
	    LEDGER_OK);
	mk_intent(&in, 3, "device");
	assert_int_equal(ledger_reserve_token(fx->l, &in, t.hash, T0 + 1),
	    LEDGER_OK);
	assert_int_equal(ledger_token_get_id(fx->l, "tok-a", &got), LEDGER_OK);
	t.uses_left = 0;
	assert_token_equal(&t, &got);
	/* The lookup by hash decodes the same row the same way. */
	assert_int_equal(ledger_token_get(fx->l, t.hash, &got), LEDGER_OK);
	assert_token_equal(&t, &got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_consume, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_fail_closed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_get_id, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
