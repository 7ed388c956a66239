/*
 * Fuzz target for the name checks: DNS syntax (with and without
 * wildcards and hostname enforcement, including the Punycode decoder)
 * and the profile globs.
 */
#include <stddef.h>
#include <stdint.h>

#include <signet/ca.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_err err;

	(void)ca_dns_check(data, size, 0, &err);
	(void)ca_dns_check(data, size, CA_P_WILDCARDS, &err);
	(void)ca_dns_check(data, size, CA_P_WILDCARDS | CA_P_ENFORCE_HOSTNAMES,
	    &err);
	return 0;
}
