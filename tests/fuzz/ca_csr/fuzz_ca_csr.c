/*
 * Fuzz target for CSR evidence: strict PKCS#10 decoding, proof of
 * possession and the policy checks of a permissive profile.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <signet/ca.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ca_profile p;
	static int init;
	struct ca_csr csr;
	struct ca_err err;

	if (!init) {
		ca_profile_init(&p, "fuzz", NULL);
		ca_profile_add_domain(&p, "example.com");
		ca_profile_add_cidr(&p, "10.0.0.0/8");
		ca_profile_add_uri_pattern(&p, "spiffe://example.com/*");
		p.flags |= CA_P_IP_SANS | CA_P_WILDCARDS | CA_P_LOCALHOST;
		p.key_types = CA_KEY_ALL;
		init = 1;
	}
	if (ca_csr_parse(data, size, &csr, &err) == CA_OK) {
		(void)ca_csr_verify(&csr, &err);
		(void)ca_csr_check_policy(&csr, &p, &err);
	}
	ca_csr_free(&csr);
	return 0;
}
