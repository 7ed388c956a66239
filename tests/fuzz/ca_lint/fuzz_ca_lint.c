/*
 * Fuzz target for the linter's strict certificate parse: the ceremony
 * lints certificates it did not build.
 */
#include <stddef.h>
#include <stdint.h>

#include <signet/ca.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_err err;

	(void)ca_lint_cert(data, size, CA_LINT_LEAF, &err);
	(void)ca_lint_cert(data, size, CA_LINT_CA, &err);
	return 0;
}
