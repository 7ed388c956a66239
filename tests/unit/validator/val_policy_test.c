/*
 * The validator's address policy (val_http.c): the addresses an http-01
 * validation must never connect to, and loopback only when a test
 * configuration allows it.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "val_local.h"

static int
allowed(const char *text, int loopback_ok)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, text, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return val_addr_allowed((struct sockaddr *)&s4, loopback_ok);
	}
	assert_int_equal(inet_pton(AF_INET6, text, &s6.sin6_addr), 1);
	s6.sin6_family = AF_INET6;
	return val_addr_allowed((struct sockaddr *)&s6, loopback_ok);
}

static void
test_refused(void **state)
{
	static const char *const never[] = {
		"0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250",
		"255.255.255.255", "169.254.169.254", "::", "ff02::1",
		"fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		assert_int_equal(allowed(never[i], 0), 0);
		assert_int_equal(allowed(never[i], 1), 0);
	}
}

static void
test_loopback(void **state)
{
	(void)state;
	assert_int_equal(allowed("127.0.0.1", 0), 0);
	assert_int_equal(allowed("127.1.2.3", 0), 0);
	assert_int_equal(allowed("::1", 0), 0);
	assert_int_equal(allowed("127.0.0.1", 1), 1);
	assert_int_equal(allowed("::1", 1), 1);
}

static void
test_public(void **state)
{
	(void)state;
	assert_int_equal(allowed("192.0.2.10", 0), 1);
	assert_int_equal(allowed("2001:db8::10", 0), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_public),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
