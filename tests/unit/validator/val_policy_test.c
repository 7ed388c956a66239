/*
 * The validator's address policy (val_policy.c): the addresses a
 * validation must never connect to, loopback only when a test
 * configuration allows it, and acme_validate_allow's CIDRs: what they
 * admit, what they refuse, and the ranges a broad entry does not unlock.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "val_local.h"

static struct val_policy
policy(int loopback_ok, const char *const *allow, size_t n)
{
	struct val_policy pol;
	struct sconf c;
	char err[128];

	memset(&c, 0, sizeof(c));
	c.acme_validate_loopback = loopback_ok;
	c.acme_validate_allow.v = (char **)(uintptr_t)allow;
	c.acme_validate_allow.n = n;
	assert_int_equal(val_policy_init(&pol, &c, err, sizeof(err)), 0);
	return pol;
}

static int
admits(const struct val_policy *pol, const char *text)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, text, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return val_addr_allowed(pol, (struct sockaddr *)&s4);
	}
	assert_int_equal(inet_pton(AF_INET6, text, &s6.sin6_addr), 1);
	s6.sin6_family = AF_INET6;
	return val_addr_allowed(pol, (struct sockaddr *)&s6);
}

static int
allowed(const char *text, int loopback_ok)
{
	struct val_policy pol = policy(loopback_ok, NULL, 0);

	return admits(&pol, text);
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

/* Broad lists never unlock what must never be reached. */
static void
test_allow_never(void **state)
{
	static const char *const all[] = { "0.0.0.0/0", "::/0" };
	static const char *const never[] = {
		"0.0.0.0", "224.0.0.1", "255.255.255.255", "::", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:192.0.2.1", "::10.0.0.1",
		/* special ranges need an entry inside them */
		"127.0.0.1", "169.254.169.254", "::1", "fe80::1",
	};
	struct val_policy pol = policy(0, all, 2);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		assert_int_equal(admits(&pol, never[i]), 0);
	assert_int_equal(admits(&pol, "192.0.2.10"), 1);
	assert_int_equal(admits(&pol, "2001:db8::10"), 1);
}

/* A list admits its networks only, at their exact edges. */
static void
test_allow_list(void **state)
{
	static const char *const allow[] = {
		"10.0.0.0/8", "192.168.4.0/22", "2001:db8:1::/48",
		"203.0.113.7",
	};
	struct val_policy pol = policy(0, allow, 4);

	(void)state;
	assert_int_equal(admits(&pol, "10.0.0.0"), 1);
	assert_int_equal(admits(&pol, "10.255.255.255"), 1);
	assert_int_equal(admits(&pol, "11.0.0.0"), 0);
	assert_int_equal(admits(&pol, "9.255.255.255"), 0);
	assert_int_equal(admits(&pol, "192.168.4.1"), 1);
	assert_int_equal(admits(&pol, "192.168.7.255"), 1);
	assert_int_equal(admits(&pol, "192.168.8.0"), 0);
	assert_int_equal(admits(&pol, "192.168.3.255"), 0);
	assert_int_equal(admits(&pol, "203.0.113.7"), 1);
	assert_int_equal(admits(&pol, "203.0.113.8"), 0);
	assert_int_equal(admits(&pol, "2001:db8:1:ffff::1"), 1);
	assert_int_equal(admits(&pol, "2001:db8:2::1"), 0);
	/* an IPv4 list admits no IPv6 and the reverse */
	assert_int_equal(admits(&pol, "::ffff:10.0.0.1"), 0);
	assert_int_equal(admits(&pol, "192.0.2.10"), 0);
	assert_int_equal(admits(&pol, "127.0.0.1"), 0);
}

/* Loopback and link-local: only by an entry inside them. */
static void
test_allow_special(void **state)
{
	static const char *const lo[] = { "127.0.0.0/8", "::1/128" };
	static const char *const ll[] = { "169.254.169.0/24" };
	static const char *const wide[] = { "126.0.0.0/7" };
	struct val_policy pol = policy(0, lo, 2);

	(void)state;
	assert_int_equal(admits(&pol, "127.0.0.1"), 1);
	assert_int_equal(admits(&pol, "::1"), 1);
	assert_int_equal(admits(&pol, "169.254.1.1"), 0);
	assert_int_equal(admits(&pol, "192.0.2.10"), 0);
	pol = policy(0, ll, 1);
	assert_int_equal(admits(&pol, "169.254.169.254"), 1);
	assert_int_equal(admits(&pol, "169.254.1.1"), 0);
	assert_int_equal(admits(&pol, "127.0.0.1"), 0);
	pol = policy(0, wide, 1);
	assert_int_equal(admits(&pol, "126.0.0.1"), 1);
	assert_int_equal(admits(&pol, "127.0.0.1"), 0);
}

/* Malformed entries are refused at start (and by sconf_check). */
static void
test_allow_malformed(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "10.1.0.0/8", "10.0.0.0/", "10.0.0.0/-1",
		"10.0.0.0/08", "10.0.0/8", "host.example/8", "::/129",
		"2001:db8::1/32", "", "/8", "10.0.0.0/8 ",
	};
	struct val_policy pol;
	struct sconf c;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.acme_validate_allow.v = (char **)(uintptr_t)&bad[i];
		c.acme_validate_allow.n = 1;
		assert_int_equal(val_policy_init(&pol, &c, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "not a CIDR"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_public),
		cmocka_unit_test(test_allow_never),
		cmocka_unit_test(test_allow_list),
		cmocka_unit_test(test_allow_special),
		cmocka_unit_test(test_allow_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
