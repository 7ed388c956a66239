/*
 * Proof of possession: the CSR's signature over its
 * CertificationRequestInfo must verify under the key it carries.
 *
 * The key is imported from the parts ca_csr_parse already checked, not
 * through OpenSSL's generic SubjectPublicKeyInfo decoder: in OpenSSL 3.0
 * that decoder fetches and tries every key decoder on each call, which
 * costs more than the verification itself.  EC requests, the common
 * case, go further: OpenSSL 3.0 has no provider-side way to import a
 * public point without a key-management fetch and parameter parsing
 * (about 16 us on the reference machine, a third of an ECDSA verify),
 * so they use the EC_KEY API with curve groups built once per process.
 * That API is deprecated in 3.0 but fully supported; the file opts in.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "ca_local.h"

EVP_PKEY *ca_csr_pkey(const struct ca_csr *csr, struct ca_err *err);

static EVP_PKEY *
ca_fromdata(const char *type, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/*
 * SEC 1 3.2.2.1: the point must decode and lie on the curve (the
 * import checks both); P-256, P-384 and P-521 have cofactor 1, so the
 * costly order check adds nothing.
 */
static EVP_PKEY *
ca_pkey_ec(const struct ca_csr *csr)
{
	OSSL_PARAM p[3];
	const char *group;

	group = csr->key_type == CA_KEY_P256 ? "P-256" :
	    csr->key_type == CA_KEY_P384 ? "P-384" : "P-521";
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)group, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)csr->key_bits, csr->key_bits_len);
	p[2] = OSSL_PARAM_construct_end();
	return ca_fromdata("EC", p);
}

static EVP_PKEY *
ca_pkey_rsa(const struct ca_csr *csr)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *p = NULL;
	BIGNUM *n = NULL, *e = NULL;
	EVP_PKEY *pk = NULL;
	struct ca_cur c;
	struct ca_tlv seq, tn, te;

	/* ca_csr_parse checked RSAPublicKey ::= SEQUENCE { n, e }. */
	ca_cur_init(&c, csr->key_bits, csr->key_bits_len);
	if (ca_der_expect(&c, CA_T_SEQ, &seq) != 0)
		goto out;
	ca_cur_init(&c, seq.val, seq.len);
	if (ca_der_expect(&c, CA_T_INTEGER, &tn) != 0 ||
	    ca_der_expect(&c, CA_T_INTEGER, &te) != 0)
		goto out;
	if ((n = BN_bin2bn(tn.val, (int)tn.len, NULL)) == NULL ||
	    (e = BN_bin2bn(te.val, (int)te.len, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (p = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	pk = ca_fromdata("RSA", p);
out:
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pk;
}

EVP_PKEY *
ca_csr_pkey(const struct ca_csr *csr, struct ca_err *err)
{
	EVP_PKEY *pk = NULL;

	switch (csr->kind) {
	case CA_KEY_KIND_EC:
		pk = ca_pkey_ec(csr);
		break;
	case CA_KEY_KIND_RSA:
		pk = ca_pkey_rsa(csr);
		break;
	case CA_KEY_KIND_ED25519:
		pk = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL,
		    csr->key_bits, csr->key_bits_len);
		break;
	default:
		break;
	}
	if (pk == NULL)
		ca_fail(err, CA_ERR_KEY, "CSR public key is invalid (%s)",
		    csr->kind == CA_KEY_KIND_EC ? "EC point not on the curve" :
		    "key does not import");
	return pk;
}

static pthread_once_t ca_group_once = PTHREAD_ONCE_INIT;
static EC_GROUP *ca_groups[3];

static void
ca_group_init(void)
{
	ca_groups[0] = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	ca_groups[1] = EC_GROUP_new_by_curve_name(NID_secp384r1);
	ca_groups[2] = EC_GROUP_new_by_curve_name(NID_secp521r1);
}

/*
 * ECDSA proof of possession.  EC_POINT_oct2point refuses points off the
 * curve (SEC 1 3.2.2.1; cofactor 1, so no order check is needed), and
 * ECDSA_verify refuses signatures that are not strict DER.
 */
static int
ca_verify_ec(const struct ca_csr *csr, struct ca_err *err)
{
	const EC_GROUP *g;
	EC_KEY *ek = NULL;
	EC_POINT *pt = NULL;
	uint8_t dg[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	const EVP_MD *md;
	int rc;

	pthread_once(&ca_group_once, ca_group_init);
	g = ca_groups[csr->key_type == CA_KEY_P256 ? 0 :
	    csr->key_type == CA_KEY_P384 ? 1 : 2];
	if (g == NULL || (ek = EC_KEY_new()) == NULL ||
	    EC_KEY_set_group(ek, g) != 1 || (pt = EC_POINT_new(g)) == NULL) {
		rc = ca_fail(err, CA_ERR_CRYPTO, "cannot set up EC verify");
		goto out;
	}
	if (EC_POINT_oct2point(g, pt, csr->key_bits, csr->key_bits_len,
	    NULL) != 1 || EC_POINT_is_at_infinity(g, pt) ||
	    EC_KEY_set_public_key(ek, pt) != 1) {
		rc = ca_fail(err, CA_ERR_KEY, "CSR public key is invalid (EC "
		    "point not on the curve)");
		goto out;
	}
	if ((md = ca_md_by_nid(csr->sig_md)) == NULL ||
	    EVP_Digest(csr->cri, csr->cri_len, dg, &dlen, md, NULL) != 1) {
		rc = ca_fail(err, CA_ERR_ALG, "CSR digest is not supported");
		goto out;
	}
	/* Only exactly 1 is success: 0 and -1 are failures. */
	if (ECDSA_verify(0, dg, (int)dlen, csr->sig, (int)csr->sig_len,
	    ek) != 1) {
		rc = ca_fail(err, CA_ERR_POP, "CSR signature does not verify "
		    "(no proof of possession)");
		goto out;
	}
	rc = CA_OK;
out:
	ERR_clear_error();
	EC_POINT_free(pt);
	EC_KEY_free(ek);
	return rc;
}

int
ca_csr_verify(const struct ca_csr *csr, struct ca_err *err)
{
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *mctx = NULL;
	const EVP_MD *md = NULL;
	int rc;

	if (csr == NULL || csr->cri == NULL)
		return ca_fail(err, CA_ERR_ARG, "no parsed CSR");
	if (csr->kind == CA_KEY_KIND_EC)
		return ca_verify_ec(csr, err);
	if ((pk = ca_csr_pkey(csr, err)) == NULL) {
		rc = CA_ERR_KEY;
		goto out;
	}
	if (csr->kind != CA_KEY_KIND_ED25519 &&
	    (md = ca_md_by_nid(csr->sig_md)) == NULL) {
		rc = ca_fail(err, CA_ERR_ALG, "CSR digest is not supported");
		goto out;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(mctx, NULL, md, NULL, pk) != 1) {
		rc = ca_fail(err, CA_ERR_CRYPTO, "cannot set up CSR "
		    "verification");
		goto out;
	}
	/* Only exactly 1 is success: 0 and negative values are failures. */
	if (EVP_DigestVerify(mctx, csr->sig, csr->sig_len, csr->cri,
	    csr->cri_len) != 1) {
		rc = ca_fail(err, CA_ERR_POP, "CSR signature does not verify "
		    "(no proof of possession)");
		goto out;
	}
	rc = CA_OK;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pk);
	return rc;
}
