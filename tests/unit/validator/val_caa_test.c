/*
 * CAA matching (val_caa.c, RFC 8659 4): which relevant RRsets permit a
 * CA known as "ca.signet.test" (or "signet.example") to issue, for a
 * name and for a wildcard, and which forbid: another CA, ";" (nobody),
 * an unknown critical property, issuewild over issue for wildcards;
 * RFC 8657: accounturi (this account's URL only, the label segment
 * aside) and validationmethods (the challenge type in the list), either
 * given twice names nobody, unknown parameters are ignored.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "val_local.h"

static const char *const ours[] = { "ca.signet.test", "signet.example" };

static int
permits(const struct val_caa_rr *rr, size_t n, int wildcard)
{
	struct sconf_list ids;
	char why[160] = "";
	int ok;

	ids.v = (char **)(uintptr_t)ours;
	ids.n = 2;
	ok = val_caa_permits(rr, n, wildcard, &ids, why, sizeof(why));
	/* A refusal always says why; a permission never does. */
	if (ok)
		assert_string_equal(why, "");
	else
		assert_true(why[0] != '\0');
	return ok;
}

static void
test_issue(void **state)
{
	struct val_caa_rr ours1[] = { { 0, "issue", "ca.signet.test" } };
	struct val_caa_rr case1[] = { { 0, "ISSUE", " CA.Signet.Test ; "
	    "foo=bar" } };
	struct val_caa_rr other[] = { { 0, "issue", "letsencrypt.org" } };
	struct val_caa_rr both[] = { { 0, "issue", "letsencrypt.org" },
	    { 0, "issue", "signet.example" } };
	struct val_caa_rr nobody[] = { { 0, "issue", ";" } };
	struct val_caa_rr prefix[] = { { 0, "issue", "ca.signet.testx" } };
	struct val_caa_rr sub[] = { { 0, "issue", "x.ca.signet.test" } };

	(void)state;
	assert_true(permits(ours1, 1, 0));
	assert_true(permits(case1, 1, 0));
	assert_false(permits(other, 1, 0));
	assert_true(permits(both, 2, 0));
	assert_false(permits(nobody, 1, 0));
	assert_false(permits(prefix, 1, 0));
	assert_false(permits(sub, 1, 0));
}

static void
test_no_issue(void **state)
{
	struct val_caa_rr iodef[] = { { 0, "iodef", "mailto:sec@x.test" } };
	struct val_caa_rr unknown[] = { { 0, "tbs", "whatever" } };
	struct val_caa_rr critical[] = { { 1, "tbs", "whatever" },
	    { 0, "issue", "ca.signet.test" } };
	struct val_caa_rr crit_iodef[] = { { 1, "iodef", "mailto:a@x.test" } };

	(void)state;
	/* RFC 8659 4.2: no issue property, any CA may issue. */
	assert_true(permits(iodef, 1, 0));
	assert_true(permits(unknown, 1, 0));
	assert_true(permits(crit_iodef, 1, 0));
	/* 4.1: an unknown critical property forbids, even beside ours. */
	assert_false(permits(critical, 2, 0));
}

static void
test_wildcard(void **state)
{
	struct val_caa_rr issue_only[] = {
	    { 0, "issue", "ca.signet.test" } };
	struct val_caa_rr wild_other[] = {
	    { 0, "issue", "ca.signet.test" },
	    { 0, "issuewild", "letsencrypt.org" } };
	struct val_caa_rr wild_ours[] = {
	    { 0, "issue", "letsencrypt.org" },
	    { 0, "issuewild", "signet.example" } };
	struct val_caa_rr wild_only[] = {
	    { 0, "issuewild", "letsencrypt.org" } };

	(void)state;
	/* 4.3: issue governs wildcards when there is no issuewild. */
	assert_true(permits(issue_only, 1, 1));
	assert_false(permits(wild_other, 2, 1));
	assert_true(permits(wild_other, 2, 0));
	assert_true(permits(wild_ours, 2, 1));
	assert_false(permits(wild_ours, 2, 0));
	/* issuewild alone says nothing about names that are not wildcards. */
	assert_true(permits(wild_only, 1, 0));
	assert_false(permits(wild_only, 1, 1));
}

static int
permits_for(const struct val_caa_rr *rr, size_t n, const char *account,
    const char *method)
{
	struct val_caa_who who = { "https://ca.test:8443", account, method };
	struct sconf_list ids;
	char why[200] = "";
	int ok;

	ids.v = (char **)(uintptr_t)ours;
	ids.n = 2;
	ok = val_caa_permits_for(rr, n, 0, &ids, &who, why, sizeof(why));
	if (ok)
		assert_string_equal(why, "");
	else
		assert_non_null(strstr(why, "RFC 8657"));
	return ok;
}

static void
test_rfc8657(void **state)
{
	struct val_caa_rr acct[] = { { 0, "issue", "ca.signet.test; "
	    "accounturi=https://ca.test:8443/acme/dev-acme/acct/AbC_1" } };
	struct val_caa_rr meth[] = { { 0, "issue", "ca.signet.test;"
	    "validationmethods=dns-01,tls-alpn-01" } };
	struct val_caa_rr both[] = { { 0, "issue", "ca.signet.test; "
	    "validationmethods=http-01 ; "
	    "accounturi=https://ca.test:8443/acme/x/acct/AbC_1" } };
	struct val_caa_rr twice[] = { { 0, "issue", "ca.signet.test; "
	    "accounturi=https://ca.test:8443/acme/x/acct/AbC_1; "
	    "accounturi=https://ca.test:8443/acme/x/acct/AbC_1" } };
	/* Two records: one for another account, one for any. */
	struct val_caa_rr two[] = { { 0, "issue", "ca.signet.test; "
	    "accounturi=https://ca.test:8443/acme/x/acct/zzz" },
	    { 0, "issue", "signet.example" } };
	struct val_caa_rr bad_uri[] = {
	    { 0, "issue", "ca.signet.test; accounturi=https://ca.test:8443"
	    "/acme/x/acct/AbC_1x" },
	    { 0, "issue", "ca.signet.test; accounturi=https://ca.test:8443"
	    "/acme//acct/AbC_1" },
	    { 0, "issue", "ca.signet.test; accounturi=https://other:8443"
	    "/acme/x/acct/AbC_1" },
	    { 0, "issue", "ca.signet.test; accounturi=https://ca.test:8443"
	    "/acme/x/y/acct/AbC_1" },
	    { 0, "issue", "ca.signet.test; accounturi=" } };
	struct val_caa_rr other_ca[] = { { 0, "issue", "letsencrypt.org; "
	    "accounturi=https://ca.test:8443/acme/x/acct/AbC_1" } };
	size_t i;

	(void)state;
	assert_true(permits_for(acct, 1, "AbC_1", "http-01"));
	assert_false(permits_for(acct, 1, "AbC_2", "http-01"));
	assert_false(permits_for(acct, 1, NULL, "http-01"));
	assert_false(permits(acct, 1, 0));	/* account unknown */
	assert_true(permits_for(meth, 1, "AbC_1", "dns-01"));
	assert_true(permits_for(meth, 1, "AbC_1", "tls-alpn-01"));
	assert_false(permits_for(meth, 1, "AbC_1", "http-01"));
	assert_false(permits_for(meth, 1, "AbC_1", "dns"));
	assert_false(permits_for(meth, 1, "AbC_1", NULL));
	assert_true(permits_for(both, 1, "AbC_1", "http-01"));
	assert_false(permits_for(both, 1, "AbC_1", "dns-01"));
	assert_false(permits_for(both, 1, "AbC_9", "http-01"));
	assert_false(permits_for(twice, 1, "AbC_1", "http-01"));
	assert_true(permits_for(two, 2, "AbC_1", "http-01"));
	for (i = 0; i < sizeof(bad_uri) / sizeof(bad_uri[0]); i++)
		assert_false(permits_for(&bad_uri[i], 1, "AbC_1", "http-01"));
	/* Another CA's record with our account: still another CA's. */
	assert_false(permits(other_ca, 1, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue),
		cmocka_unit_test(test_no_issue),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_rfc8657),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
