/*
 * RFC 7512 URI parsing: accepted forms, and every malformed form refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <signet/hsm.h>

static int
parse(const char *s, struct hsm_uri *u)
{
	return hsm_uri_parse((const uint8_t *)s, strlen(s), u);
}

static void
test_accepts(void **state)
{
	struct hsm_uri u;

	assert_int_equal(parse("pkcs11:token=My%20Token;object=ca;"
	    "id=%01%ff?module-path=/usr/lib/m.so&pin-value=ignored", &u),
	    HSM_OK);
	assert_string_equal(u.token, "My Token");
	assert_string_equal(u.object, "ca");
	assert_int_equal(u.id_len, 2);
	assert_int_equal(u.id[0], 1);
	assert_int_equal(u.id[1], 0xff);
	assert_string_equal(u.module_path, "/usr/lib/m.so");
	assert_int_equal(u.present, HSM_URI_TOKEN | HSM_URI_OBJECT |
	    HSM_URI_ID | HSM_URI_MODULE_PATH);
	assert_int_equal(parse("pkcs11:", &u), HSM_OK);
	assert_int_equal(u.present, 0);
	assert_int_equal(parse("pkcs11:x-acme=1;serial=42", &u), HSM_OK);
	assert_string_equal(u.serial, "42");
}

static void
test_refuses(void **state)
{
	static const char *bad[] = {
		"pkcs:token=a", "token=a", "pkcs11:token=a;token=b",
		"pkcs11:tokn=a", "pkcs11:token", "pkcs11:=a",
		"pkcs11:object=%0", "pkcs11:object=%zz", "pkcs11:object=a%00b",
		"pkcs11:object=a b", "pkcs11:serial=12345678901234567",
		"pkcs11:token=123456789012345678901234567890123",
	};
	struct hsm_uri u;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &u), HSM_ERR_URI);
		assert_int_equal(u.present, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
	};

	return cmocka_run_group_tests_name("hsm_uri", tests, NULL, NULL);
}
