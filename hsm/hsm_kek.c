/*
 * The wrap and the unwrap under a trusted key-encryption key found by its
 * label: the one sequence of the ceremony's backup and restore
 * (tools/ceremony/cer_backup.c) and of signet-provision's export-key and
 * import-key (provisioning/appliance/prov_transfer.c).  The attributes of
 * an unwrapped key are hsm_key_unwrap's, from the caller's attrs.
 */
#include <signet/hsm.h>

int
hsm_kek_wrap(struct hsm *h, const char *kek_label, struct hsm_key *key,
    uint8_t *blob, size_t *bloblen, int *kek_found)
{
	struct hsm_key *kek = NULL;
	int rc;

	*kek_found = 0;
	if ((rc = hsm_key_find(h, kek_label, NULL, 0, &kek)) != HSM_OK)
		return rc;
	*kek_found = 1;
	rc = hsm_key_wrap(kek, key, blob, bloblen);
	hsm_key_free(kek);
	return rc;
}

int
hsm_kek_unwrap(struct hsm *h, const char *kek_label, const uint8_t *blob,
    size_t bloblen, const struct hsm_keygen *attrs, EVP_PKEY *pub,
    struct hsm_key **out, int *kek_found)
{
	struct hsm_key *kek = NULL;
	int rc;

	*kek_found = 0;
	if ((rc = hsm_key_find(h, kek_label, NULL, 0, &kek)) != HSM_OK)
		return rc;
	*kek_found = 1;
	rc = hsm_key_unwrap(kek, blob, bloblen, attrs, pub, out);
	hsm_key_free(kek);
	return rc;
}
