/*
 * The ACME router (https_acme.c): every resource of docs/acme.md, and
 * paths it must not take (other prefixes, bad labels and ids, extra
 * segments).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "https.h"

static int
route(const char *p, struct https_acme_route *r)
{
	return https_acme_route((const uint8_t *)p, strlen(p), r);
}

static void
test_routes(void **state)
{
	static const struct {
		const char	*path;
		int		 op;
		const char	*id;
	} ok[] = {
		{ "/acme/dev-acme/directory", PROTO_ACME_DIRECTORY, "" },
		{ "/acme/dev-acme/new-nonce", PROTO_ACME_NONCE, "" },
		{ "/acme/dev-acme/new-account", PROTO_ACME_NEW_ACCOUNT, "" },
		{ "/acme/dev-acme/new-order", PROTO_ACME_NEW_ORDER, "" },
		{ "/acme/a/acct/x_Y-1", PROTO_ACME_ACCOUNT, "x_Y-1" },
		{ "/acme/a/order/o1", PROTO_ACME_ORDER, "o1" },
		{ "/acme/a/order/o1/finalize", PROTO_ACME_FINALIZE, "o1" },
		{ "/acme/a/authz/z", PROTO_ACME_AUTHZ, "z" },
		{ "/acme/a/chall/c", PROTO_ACME_CHALLENGE, "c" },
		{ "/acme/a/cert/o1", PROTO_ACME_CERT, "o1" },
		{ "/acme/a/revoke-cert", PROTO_ACME_REVOKE, "" },
		{ "/acme/a/key-change", PROTO_ACME_KEY_CHANGE, "" },
		{ "/acme/a/acct/x_Y-1/orders", PROTO_ACME_ORDERS, "x_Y-1" },
		{ "/acme/a/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
		    PROTO_ACME_RENEWAL_INFO,
		    "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" },
	};
	struct https_acme_route r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(route(ok[i].path, &r), HTTPS_OK);
		assert_int_equal(r.op, ok[i].op);
		assert_string_equal(r.id, ok[i].id);
	}
	assert_string_equal(r.label, "a");
	/* RFC 8555 7.1.2.1: further pages of the orders list. */
	assert_int_equal(route("/acme/a/acct/x/orders", &r), HTTPS_OK);
	assert_int_equal(r.page, 0);
	assert_int_equal(route("/acme/a/acct/x/orders/1", &r), HTTPS_OK);
	assert_int_equal(r.op, PROTO_ACME_ORDERS);
	assert_int_equal(r.page, 1);
	assert_int_equal(route("/acme/a/acct/x/orders/9999", &r), HTTPS_OK);
	assert_int_equal(r.page, 9999);
}

static void
test_refused(void **state)
{
	struct https_acme_route r;

	(void)state;
	assert_int_equal(route("/.well-known/est/cacerts", &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/", &r), HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/dev", &r), HTTPS_E_SYNTAX);
	assert_int_equal(route("/acme//directory", &r), HTTPS_E_SYNTAX);
	assert_int_equal(route("/acme/a b/directory", &r), HTTPS_E_SYNTAX);
	assert_int_equal(route("/acme/a/directory/x", &r), HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/revoke-cert/x", &r), HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/renewal-info", &r), HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/renewal-info/a b", &r),
	    HTTPS_E_SYNTAX);
	assert_int_equal(route("/acme/a/acct/x/orders/y", &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/acct/x/orders/0", &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/acct/x/orders/01", &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/acct/x/orders/10000", &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/acct/x/orders/", &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/acct/x/orders/1/2", &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/acct/x/ordersx", &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/order/o1/orders", &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/acct/x/finalize", &r),
	    HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/order", &r), HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/order/", &r), HTTPS_E_SYNTAX);
	assert_int_equal(route("/acme/a/order/a.b", &r), HTTPS_E_SYNTAX);
	assert_int_equal(route("/acme/a/order/o/other", &r), HTTPS_E_NOTFOUND);
	assert_int_equal(route("/acme/a/authz/z/finalize", &r),
	    HTTPS_E_NOTFOUND);
	/* HTTPS_MAX_ACME_ID (128) + 1 characters. */
	assert_int_equal(route("/acme/a/order/"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4", &r), HTTPS_E_SYNTAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
