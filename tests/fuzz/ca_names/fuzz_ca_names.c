/*
 * Fuzz target for the name checks: DNS syntax (with and without
 * wildcards and hostname enforcement, including the Punycode decoder)
 * and the profile globs; the issuer name-constraint matchers (issue 13)
 * over the input split at its first NUL into name and base.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <signet/ca.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_err err;
	const uint8_t *nul = memchr(data, 0, size);
	size_t nl = nul != NULL ? (size_t)(nul - data) : size;
	int t;

	(void)ca_dns_check(data, size, 0, &err);
	(void)ca_dns_check(data, size, CA_P_WILDCARDS, &err);
	(void)ca_dns_check(data, size, CA_P_WILDCARDS | CA_P_ENFORCE_HOSTNAMES,
	    &err);
	(void)ca_cn_is_dnsid(data, size);
	for (t = CA_NC_DNS; t <= CA_NC_IP; t++)
		(void)ca_nc_within((enum ca_nc_type)t, data, nl,
		    nul != NULL ? nul + 1 : data, nul != NULL ? size - nl - 1 :
		    0);
	return 0;
}
