/*
 * Lints over serial, algorithm, validity, keys and extensions, named
 * after the zlint / CA/Browser Forum lints they follow, and the table
 * that orders every lint.  Each returns CA_OK or CA_ERR_LINT with a
 * sentence saying what is wrong.
 */
#include <string.h>

#include "ca_lint_local.h"

#define LINT(name) \
	static int name(const struct ca_lint_ctx *c, struct ca_err *err)

#define FAIL(...) ca_fail(err, CA_ERR_LINT, __VA_ARGS__)

/* RFC 5280 4.1.2.1: extensions require v3. */
LINT(ca_l_version)
{
	if (!c->has_version || c->version.len != 1 || c->version.val[0] != 2)
		return FAIL("certificate is not X.509 v3");
	return CA_OK;
}

/* RFC 5280 4.1.2.2: the serial is a positive integer. */
LINT(ca_l_serial_positive)
{
	if ((c->serial.val[0] & 0x80) ||
	    (c->serial.len == 1 && c->serial.val[0] == 0))
		return FAIL("serial number is not positive");
	return CA_OK;
}

/* RFC 5280 4.1.2.2: at most 20 octets. */
LINT(ca_l_serial_long)
{
	if (c->serial.len > 20)
		return FAIL("serial number is %zu octets", c->serial.len);
	return CA_OK;
}

/* CABF BR 7.1: at least 64 bits from a CSPRNG, so at least 8 octets. */
LINT(ca_l_serial_entropy)
{
	size_t n = c->serial.len - (c->serial.val[0] == 0);

	if (n < 8)
		return FAIL("serial number has only %zu octets", n);
	return CA_OK;
}

/* CABF BR 7.1.3.2: no SHA-1 or MD5 signatures. */
LINT(ca_l_sha1)
{
	static const uint8_t ok[][9] = {
		{ 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 },
		{ 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 },
		{ 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 },
		{ 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b },
		{ 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c },
		{ 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d },
		{ 0x2b, 0x65, 0x70 },
	};
	static const size_t lens[] = { 8, 8, 8, 9, 9, 9, 3 };
	struct ca_cur a;
	struct ca_tlv oid;
	size_t i;

	ca_cur_init(&a, c->sigalg.val, c->sigalg.len);
	if (ca_der_expect(&a, CA_T_OID, &oid) == 0)
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			if (ca_oid_eq(&oid, ok[i], lens[i]))
				return CA_OK;
	return FAIL("signature algorithm is not SHA-2 ECDSA/RSA or Ed25519");
}

/* RFC 5280 4.1.2.8: CAs conforming to the profile omit unique IDs. */
LINT(ca_l_unique_id)
{
	if (c->unique_ids)
		return FAIL("certificate contains a unique identifier");
	return CA_OK;
}

static int
ca_time_zulu(const struct ca_tlv *t, unsigned tag)
{
	return t->tag != tag || (t->len > 0 && t->val[t->len - 1] == 'Z');
}

/* RFC 5280 4.1.2.5.1: UTCTime is YYMMDDHHMMSSZ. */
LINT(ca_l_utc_zulu)
{
	if (!ca_time_zulu(&c->nb, CA_T_UTCTIME) ||
	    !ca_time_zulu(&c->na, CA_T_UTCTIME))
		return FAIL("UTCTime is not in Zulu");
	return CA_OK;
}

/* RFC 5280 4.1.2.5.2: GeneralizedTime is YYYYMMDDHHMMSSZ. */
LINT(ca_l_gen_zulu)
{
	if (!ca_time_zulu(&c->nb, CA_T_GENTIME) ||
	    !ca_time_zulu(&c->na, CA_T_GENTIME))
		return FAIL("GeneralizedTime is not in Zulu");
	return CA_OK;
}

/* RFC 5280 4.1.2.5: dates through 2049 in UTCTime, with seconds. */
LINT(ca_l_time_format)
{
	time_t nb, na;

	if (ca_der_time(&c->nb, &nb) != 0 || ca_der_time(&c->na, &na) != 0)
		return FAIL("validity time is malformed");
	if ((c->nb.tag == CA_T_GENTIME && nb < 2524608000) ||
	    (c->na.tag == CA_T_GENTIME && na < 2524608000))
		return FAIL("GeneralizedTime used before 2050");
	return CA_OK;
}

/* RFC 5280 4.1.2.5: notBefore precedes notAfter. */
LINT(ca_l_validity_positive)
{
	time_t nb, na;

	if (ca_der_time(&c->nb, &nb) != 0 || ca_der_time(&c->na, &na) != 0 ||
	    na <= nb)
		return FAIL("validity period is not positive");
	return CA_OK;
}

/* RFC 5280 4.2: one instance of each extension. */
LINT(ca_l_dup_ext)
{
	size_t i, j;

	if (c->too_many_exts)
		return FAIL("more than %d extensions", CA_LINT_MAX_EXTS);
	for (i = 0; i < c->nexts; i++)
		for (j = i + 1; j < c->nexts; j++)
			if (c->exts[i].oid.len == c->exts[j].oid.len &&
			    memcmp(c->exts[i].oid.val, c->exts[j].oid.val,
			    c->exts[i].oid.len) == 0)
				return FAIL("an extension appears twice");
	return CA_OK;
}

/* RFC 5280 4.2.1.3: keyUsage present with at least one bit. */
LINT(ca_l_ku_bits)
{
	if (c->ku != NULL && c->ku_bits == 0)
		return FAIL("keyUsage has no bits set");
	return CA_OK;
}

/* RFC 5280 4.2.1.3: keyUsage SHOULD be critical; we make it so. */
LINT(ca_l_ku_crit)
{
	if (c->ku != NULL && !c->ku->critical)
		return FAIL("keyUsage is not critical");
	return CA_OK;
}

/* CABF BR 7.1.2.3 (e): a subscriber certificate carries an EKU. */
LINT(ca_l_eku_missing)
{
	if (c->eku == NULL)
		return FAIL("subscriber certificate has no extKeyUsage");
	return CA_OK;
}

/* RFC 5280 4.2.1.12: the EKU lists at least one purpose. */
LINT(ca_l_eku_empty)
{
	if (c->eku != NULL && (c->eku->val.len < 2 || c->eku->val.val[1] == 0))
		return FAIL("extKeyUsage is empty");
	return CA_OK;
}

/* RFC 5280 4.2.1.9: a leaf must not be a CA. */
LINT(ca_l_leaf_ca)
{
	if (c->bc_ca)
		return FAIL("subscriber certificate asserts CA:TRUE");
	if (c->ku_bits & (CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN))
		return FAIL("subscriber certificate has keyCertSign or "
		    "cRLSign");
	return CA_OK;
}

/* RFC 5280 4.2.1.9: a CA asserts cA in a critical basicConstraints. */
LINT(ca_l_ca_bc)
{
	if (c->bc == NULL || !c->bc_ca || !c->bc->critical)
		return FAIL("CA certificate lacks critical basicConstraints "
		    "CA:TRUE");
	return CA_OK;
}

/* RFC 5280 4.2.1.3: a CA key signing certificates sets keyCertSign. */
LINT(ca_l_ca_ku)
{
	if (c->ku == NULL || !(c->ku_bits & CA_KU_KEY_CERT_SIGN))
		return FAIL("CA certificate lacks keyUsage keyCertSign");
	return CA_OK;
}

/* RFC 5280 4.2.1.9: basicConstraints, when present, is critical here. */
LINT(ca_l_bc_crit)
{
	if (c->bc != NULL && !c->bc->critical)
		return FAIL("basicConstraints is not critical");
	return CA_OK;
}

/* RFC 5280 4.2.1.1: AKI keyIdentifier, except on a self-signed root. */
LINT(ca_l_aki_missing)
{
	if (c->aki != NULL)
		return CA_OK;
	if (c->mode == CA_LINT_CA && c->issuer.raw_len == c->subject.raw_len &&
	    memcmp(c->issuer.raw, c->subject.raw, c->issuer.raw_len) == 0)
		return CA_OK;
	return FAIL("authorityKeyIdentifier is missing");
}

/* RFC 5280 4.2.1.1: the AKI carries keyIdentifier [0] and no critical. */
LINT(ca_l_aki_keyid)
{
	const uint8_t *v;

	if (c->aki == NULL)
		return CA_OK;
	v = c->aki->val.val;
	if (c->aki->critical || c->aki->val.len < 4 || v[0] != CA_T_SEQ ||
	    v[2] != CA_T_CTX(0))
		return FAIL("authorityKeyIdentifier has no keyIdentifier or is "
		    "critical");
	return CA_OK;
}

/* RFC 5280 4.2.1.2: subscriber certificates SHOULD carry an SKI. */
LINT(ca_l_ski_sub)
{
	if (c->ski == NULL)
		return FAIL("subjectKeyIdentifier is missing");
	return CA_OK;
}

/* RFC 5280 4.2.1.2: CA certificates MUST carry an SKI. */
LINT(ca_l_ski_ca)
{
	if (c->ski == NULL)
		return FAIL("subjectKeyIdentifier is missing in a CA");
	return CA_OK;
}

/* RFC 5280 4.2.1.6: a subscriber certificate has a SAN (CABF 7.1.2.7). */
LINT(ca_l_san_missing)
{
	if (c->san == NULL)
		return FAIL("subjectAltName is missing");
	return CA_OK;
}

/* RFC 5480 3 / RFC 8410 5: EC and Ed25519 keys cannot encipher. */
LINT(ca_l_ku_key_type)
{
	unsigned enc = CA_KU_KEY_ENCIPHERMENT | CA_KU_DATA_ENCIPHERMENT;

	if ((c->kind == CA_KEY_KIND_EC || c->kind == CA_KEY_KIND_ED25519) &&
	    (c->ku_bits & enc))
		return FAIL("keyEncipherment or dataEncipherment with an %s "
		    "key", c->kind == CA_KEY_KIND_EC ? "EC" : "Ed25519");
	if ((c->kind == CA_KEY_KIND_RSA || c->kind == CA_KEY_KIND_ED25519) &&
	    (c->ku_bits & CA_KU_KEY_AGREEMENT))
		return FAIL("keyAgreement with a key that cannot agree");
	return CA_OK;
}

/* CABF BR 6.1.5: RSA, P-256/384/521 or Ed25519 only. */
LINT(ca_l_key_type)
{
	if (c->key_type == 0)
		return FAIL("public key algorithm or curve not allowed");
	return CA_OK;
}

const struct ca_lint ca_lints[] = {
	{ "e_invalid_certificate_version", CA_LINT_FOR_ALL, ca_l_version },
	{ "e_serial_number_not_positive", CA_LINT_FOR_ALL,
	  ca_l_serial_positive },
	{ "e_serial_number_longer_than_20_octets", CA_LINT_FOR_ALL,
	  ca_l_serial_long },
	{ "e_serial_number_low_entropy", CA_LINT_FOR_ALL, ca_l_serial_entropy },
	{ "e_sub_cert_or_sub_ca_using_sha1", CA_LINT_FOR_ALL, ca_l_sha1 },
	{ "e_cert_contains_unique_identifier", CA_LINT_FOR_ALL,
	  ca_l_unique_id },
	{ "e_utc_time_not_in_zulu", CA_LINT_FOR_ALL, ca_l_utc_zulu },
	{ "e_generalized_time_not_in_zulu", CA_LINT_FOR_ALL, ca_l_gen_zulu },
	{ "e_wrong_time_format_pre2050", CA_LINT_FOR_ALL, ca_l_time_format },
	{ "e_validity_time_not_positive", CA_LINT_FOR_ALL,
	  ca_l_validity_positive },
	{ "e_public_key_type_not_allowed", CA_LINT_FOR_ALL, ca_l_key_type },
	{ "e_ext_duplicate_extension", CA_LINT_FOR_ALL, ca_l_dup_ext },
	{ "e_ext_key_usage_without_bits", CA_LINT_FOR_ALL, ca_l_ku_bits },
	{ "e_ext_key_usage_not_critical", CA_LINT_FOR_ALL, ca_l_ku_crit },
	{ "e_key_usage_incorrect_for_key_type", CA_LINT_FOR_ALL,
	  ca_l_ku_key_type },
	{ "e_sub_cert_eku_missing", CA_LINT_FOR_LEAF, ca_l_eku_missing },
	{ "e_eku_empty", CA_LINT_FOR_ALL, ca_l_eku_empty },
	{ "e_ca_is_ca", CA_LINT_FOR_LEAF, ca_l_leaf_ca },
	{ "e_basic_constraints_not_critical", CA_LINT_FOR_ALL, ca_l_bc_crit },
	{ "e_ca_basic_constraints_missing", CA_LINT_FOR_CA, ca_l_ca_bc },
	{ "e_ca_key_cert_sign_not_set", CA_LINT_FOR_CA, ca_l_ca_ku },
	{ "e_ext_authority_key_identifier_missing", CA_LINT_FOR_ALL,
	  ca_l_aki_missing },
	{ "e_ext_authority_key_identifier_no_key_identifier", CA_LINT_FOR_ALL,
	  ca_l_aki_keyid },
	{ "e_ext_subject_key_identifier_missing_sub_cert", CA_LINT_FOR_LEAF,
	  ca_l_ski_sub },
	{ "e_ext_subject_key_identifier_missing_ca", CA_LINT_FOR_CA,
	  ca_l_ski_ca },
	{ "e_ca_subject_field_empty", CA_LINT_FOR_CA, ca_lint_ca_subject_empty },
	{ "e_subject_dn_not_printable_characters", CA_LINT_FOR_ALL,
	  ca_lint_subject_printable },
	{ "e_subject_printable_string_badalpha", CA_LINT_FOR_ALL,
	  ca_lint_printable_badalpha },
	{ "e_subject_common_name_max_length", CA_LINT_FOR_ALL,
	  ca_lint_subject_cn_length },
	{ "e_ext_san_missing", CA_LINT_FOR_LEAF, ca_l_san_missing },
	{ "e_ext_san_empty_name", CA_LINT_FOR_ALL, ca_lint_san_empty },
	{ "e_ext_san_not_critical_without_subject", CA_LINT_FOR_ALL,
	  ca_lint_san_crit },
	{ "e_ext_san_dns_not_ia5_string", CA_LINT_FOR_ALL, ca_lint_san_ia5 },
	{ "e_ext_san_ip_bad_length", CA_LINT_FOR_ALL, ca_lint_san_ip_length },
	{ "e_subject_common_name_not_exactly_from_san", CA_LINT_FOR_LEAF,
	  ca_lint_subject_cn_in_san },
	{ "e_san_dns_name_includes_null_char", CA_LINT_FOR_ALL,
	  ca_lint_dns_null },
	{ "e_dnsname_too_long", CA_LINT_FOR_ALL, ca_lint_dns_too_long },
	{ "e_dnsname_empty_label", CA_LINT_FOR_ALL, ca_lint_dns_empty_label },
	{ "e_dnsname_label_too_long", CA_LINT_FOR_ALL,
	  ca_lint_dns_label_long },
	{ "e_dnsname_bad_character_in_label", CA_LINT_FOR_ALL,
	  ca_lint_dns_bad_char },
	{ "e_dnsname_underscore", CA_LINT_FOR_ALL, ca_lint_dns_underscore },
	{ "e_dnsname_hyphen_at_label_edge", CA_LINT_FOR_ALL,
	  ca_lint_dns_hyphen },
	{ "e_dnsname_wildcard_only_in_left_label", CA_LINT_FOR_ALL,
	  ca_lint_dns_wildcard_left },
	{ "e_dnsname_wildcard_over_tld", CA_LINT_FOR_ALL,
	  ca_lint_dns_wildcard_tld },
	{ "e_signet_dnsname_not_lowercase", CA_LINT_FOR_ALL,
	  ca_lint_dns_lowercase },
	{ "e_signet_issuer_name_constraints", CA_LINT_FOR_ISSUED,
	  ca_lint_issuer_nc },
};
const size_t ca_nlints = sizeof(ca_lints) / sizeof(ca_lints[0]);
