/*
 * Certificates and CRLs the ceremony makes.  Everything in them comes
 * from the reviewed ceremony file; of an intermediate's CSR only the
 * public key is used (DESIGN rule 3: never copy extensions from a CSR).
 * Each certificate is linted by the engine's linter twice: the exact
 * TBSCertificate before the token signs it, and the signed result.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <signet/ca.h>
#include <signet/hsm.h>

#include "cer_x509.h"

#define BACKDATE 60

static int
name_add(X509_NAME *n, const char *field, const char *v)
{
	if (v == NULL)
		return 1;
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
	    (const unsigned char *)v, -1, -1, 0);
}

X509_NAME *
cer_name(const struct cer_subject *s)
{
	X509_NAME *n;

	if ((n = X509_NAME_new()) == NULL)
		return NULL;
	if (!name_add(n, "C", s->c) || !name_add(n, "ST", s->st) ||
	    !name_add(n, "L", s->l) || !name_add(n, "O", s->o) ||
	    !name_add(n, "OU", s->ou) || !name_add(n, "CN", s->cn)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL) {
		warnx("extension %s = %s refused", OBJ_nid2sn(nid), value);
		return 0;
	}
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

static int
set_serial(X509 *x)
{
	uint8_t s[CA_SERIAL_LEN];
	BIGNUM *bn = NULL;
	int ok = 0;

	/* Positive, 128 bits, no leading zero octet (RFC 5280 4.1.2.2). */
	if (RAND_bytes(s, sizeof(s)) != 1)
		return 0;
	s[0] = (uint8_t)((s[0] & 0x7f) | 0x01);
	if ((bn = BN_bin2bn(s, sizeof(s), NULL)) != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		ok = 1;
	BN_free(bn);
	return ok;
}

const EVP_MD *
cer_md(EVP_PKEY *key, int *sig_nid)
{
	int ec = EVP_PKEY_is_a(key, "EC");

	if (ec && EVP_PKEY_get_bits(key) == 384) {
		*sig_nid = NID_ecdsa_with_SHA384;
		return EVP_sha384();
	}
	*sig_nid = ec ? NID_ecdsa_with_SHA256 : NID_sha256WithRSAEncryption;
	return EVP_sha256();
}

/* A DNS subtree is lowercase LDH labels, optionally with a leading dot. */
int
cer_dns_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > CA_MAX_DNS)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

static int
name_constraints(X509 *x, const struct cer_conf *c)
{
	char v[CER_MAX_NC * 2 * (CA_MAX_DNS + 16) + 16];
	size_t i, n;

	if (c->npermitted == 0 && c->nexcluded == 0)
		return 1;
	n = (size_t)snprintf(v, sizeof(v), "critical");
	for (i = 0; i < c->npermitted; i++)
		n += (size_t)snprintf(v + n, sizeof(v) - n, ",permitted;DNS:%s",
		    c->permitted[i]);
	for (i = 0; i < c->nexcluded; i++)
		n += (size_t)snprintf(v + n, sizeof(v) - n, ",excluded;DNS:%s",
		    c->excluded[i]);
	return n < sizeof(v) && add_ext(x, NULL, NID_name_constraints, v);
}

static X509 *
cert_new(const X509_NAME *subject, const X509_NAME *issuer, EVP_PKEY *pub,
    time_t nb, time_t na)
{
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (!X509_set_version(x, X509_VERSION_3) || !set_serial(x) ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, issuer) || !X509_set_pubkey(x, pub) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na) == NULL) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int
cer_root_build(const struct cer_conf *c, EVP_PKEY *pub, time_t now,
    X509 **out)
{
	X509_NAME *n = NULL;
	X509 *x = NULL;
	int rc = CER_ERR;

	if ((n = cer_name(&c->root_subject)) == NULL) {
		warnx("%s: root subject refused", c->path);
		goto out;
	}
	if ((x = cert_new(n, n, pub, now - BACKDATE,
	    now + (time_t)c->root_validity)) == NULL ||
	    !add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE") ||
	    !add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, NULL, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, x, NID_authority_key_identifier, "keyid:always"))
		goto out;
	*out = x;
	x = NULL;
	rc = CER_OK;
out:
	X509_NAME_free(n);
	X509_free(x);
	return rc;
}

int
cer_int_build(const struct cer_conf *c, X509 *root, EVP_PKEY *pub,
    time_t now, X509 **out)
{
	X509_NAME *n = NULL;
	X509 *x = NULL;
	char bc[64];
	time_t na = now + (time_t)c->int_validity;
	char dp[CA_MAX_URL + 8];
	int rc = CER_ERR;

	/* policy: the intermediate's notAfter <= the root's notAfter. */
	if (X509_cmp_time(X509_get0_notAfter(root), &na) < 0) {
		warnx("%s: intermediate validity %lld days ends after the "
		    "root's notAfter", c->path,
		    (long long)(c->int_validity / 86400));
		rc = CER_FAIL;
		goto out;
	}
	if ((n = cer_name(&c->int_subject)) == NULL) {
		warnx("%s: intermediate subject refused", c->path);
		goto out;
	}
	snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%ld",
	    c->path_length);
	if ((x = cert_new(n, X509_get_subject_name(root), pub, now - BACKDATE,
	    na)) == NULL ||
	    !add_ext(x, root, NID_basic_constraints, bc) ||
	    !add_ext(x, root, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, root, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, root, NID_authority_key_identifier, "keyid:always") ||
	    !name_constraints(x, c))
		goto out;
	if (c->crl_url != NULL) {
		/* A comma would start another value in the config syntax. */
		if (strlen(c->crl_url) > CA_MAX_URL ||
		    strchr(c->crl_url, ',') != NULL) {
			warnx("%s: crl url refused", c->path);
			goto out;
		}
		snprintf(dp, sizeof(dp), "URI:%s", c->crl_url);
		if (!add_ext(x, root, NID_crl_distribution_points, dp))
			goto out;
	}
	*out = x;
	x = NULL;
	rc = CER_OK;
out:
	X509_NAME_free(n);
	X509_free(x);
	return rc;
}

/*
 * A cross-certificate: the root vouches for another CA's key (our own next
 * root, or another organisation's root).  Subject, public key and subject
 * key identifier are the other CA's, so chains through either certificate
 * link the same way; everything else comes from the ceremony file: the
 * intermediate block's name constraints, and a path length one more than
 * the intermediates' (the other CA signs intermediates of its own).  The
 * validity ends at the earliest of: int_validity from now, the root's
 * notAfter, the other certificate's notAfter.
 */
/* The name constraints of a plan (sign, cross-sign): one line each. */
size_t
cer_plan_constraints(const struct cer_conf *c, char *plan, size_t n,
    size_t size)
{
	size_t i;

	for (i = 0; i < c->npermitted && n < size; i++)
		n += (size_t)snprintf(plan + n, size - n,
		    "  permitted  DNS:%s\n", c->permitted[i]);
	for (i = 0; i < c->nexcluded && n < size; i++)
		n += (size_t)snprintf(plan + n, size - n,
		    "  excluded   DNS:%s\n", c->excluded[i]);
	return n;
}

int
cer_cross_build(const struct cer_conf *c, X509 *root, X509 *other,
    time_t now, X509 **out)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(other);
	X509 *x = NULL;
	char bc[64], *hex = NULL, kid[160];
	time_t na = now + (time_t)c->int_validity;
	time_t nb = now - BACKDATE;
	int rc = CER_ERR;

	if ((x = cert_new(X509_get_subject_name(other),
	    X509_get_subject_name(root), X509_get0_pubkey(other), nb, na)) ==
	    NULL)
		goto out;
	if (X509_cmp_time(X509_get0_notAfter(root), &na) < 0 &&
	    !X509_set1_notAfter(x, X509_get0_notAfter(root)))
		goto out;
	if (ASN1_TIME_compare(X509_get0_notAfter(other),
	    X509_get0_notAfter(x)) < 0 &&
	    !X509_set1_notAfter(x, X509_get0_notAfter(other)))
		goto out;
	if (ASN1_TIME_compare(X509_get0_notAfter(x),
	    X509_get0_notBefore(x)) <= 0) {
		warnx("the certificate to cross-sign has expired");
		rc = CER_FAIL;
		goto out;
	}
	snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%ld",
	    c->path_length + 1);
	if (ski != NULL) {
		if ((hex = OPENSSL_buf2hexstr(ski->data, ski->length)) == NULL ||
		    strlen(hex) >= sizeof(kid))
			goto out;
		snprintf(kid, sizeof(kid), "%s", hex);
	} else
		snprintf(kid, sizeof(kid), "hash");
	if (!add_ext(x, root, NID_basic_constraints, bc) ||
	    !add_ext(x, root, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, root, NID_subject_key_identifier, kid) ||
	    !add_ext(x, root, NID_authority_key_identifier, "keyid:always") ||
	    !name_constraints(x, c))
		goto out;
	*out = x;
	x = NULL;
	rc = CER_OK;
out:
	OPENSSL_free(hex);
	X509_free(x);
	return rc;
}

/* CABF BR 6.1.5 as the engine applies it: P-256, P-384, RSA >= 2048. */
int
cer_key_ok(EVP_PKEY *k)
{
	if (EVP_PKEY_is_a(k, "EC")) {
		char curve[32];
		size_t n;

		if (!EVP_PKEY_get_utf8_string_param(k, "group", curve,
		    sizeof(curve), &n))
			return 0;
		return strcmp(curve, "prime256v1") == 0 ||
		    strcmp(curve, "secp384r1") == 0;
	}
	return EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) >= 2048 &&
	    EVP_PKEY_get_bits(k) <= CA_MAX_RSA_BITS;
}

static int
lint(const uint8_t *der, int len, int tbs, const char *what)
{
	struct ca_err e = { 0 };
	int rc;

	if (len <= 0)
		return CER_ERR;
	rc = tbs ? ca_lint_tbs(der, (size_t)len, CA_LINT_CA, &e) :
	    ca_lint_cert(der, (size_t)len, CA_LINT_CA, &e);
	if (rc != CA_OK) {
		warnx("%s %s: lint %s failed: %s", what,
		    tbs ? "before signing" : "after signing",
		    e.lint ? e.lint : "(parse)", e.msg);
		return CER_FAIL;
	}
	return CER_OK;
}

int
cer_cert_lint_tbs(X509 *x, EVP_PKEY *issuer_pub, const char *what)
{
	X509_ALGOR *alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
	uint8_t *tbs = NULL;
	int nid, tlen, rc;

	(void)cer_md(issuer_pub, &nid);
	X509_ALGOR_set0(alg, OBJ_nid2obj(nid), nid ==
	    NID_sha256WithRSAEncryption ? V_ASN1_NULL : V_ASN1_UNDEF, NULL);
	tlen = i2d_re_X509_tbs(x, &tbs);
	rc = lint(tbs, tlen, 1, what);
	OPENSSL_free(tbs);
	return rc;
}

int
cer_cert_sign(X509 *x, struct hsm_key *key, EVP_PKEY *issuer_pub,
    const char *what)
{
	X509_ALGOR *alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
	uint8_t *tbs = NULL, *tbs2 = NULL, *der = NULL;
	const EVP_MD *md;
	int nid, tlen, tlen2, dlen, rc;

	md = cer_md(issuer_pub, &nid);
	/* Fill in the TBS signature algorithm so the linter sees the
	 * exact bytes the token will sign. */
	X509_ALGOR_set0(alg, OBJ_nid2obj(nid), nid ==
	    NID_sha256WithRSAEncryption ? V_ASN1_NULL : V_ASN1_UNDEF, NULL);
	tlen = i2d_re_X509_tbs(x, &tbs);
	if ((rc = lint(tbs, tlen, 1, what)) != CER_OK)
		goto out;
	rc = CER_ERR;
	if (X509_sign(x, hsm_key_evp(key), md) <= 0) {
		warnx("%s: the token refused to sign", what);
		goto out;
	}
	tlen2 = i2d_re_X509_tbs(x, &tbs2);
	if (tlen2 != tlen || memcmp(tbs, tbs2, (size_t)tlen) != 0) {
		warnx("%s: signed bytes differ from the linted ones", what);
		goto out;
	}
	dlen = i2d_X509(x, &der);
	if ((rc = lint(der, dlen, 0, what)) != CER_OK)
		goto out;
	rc = CER_FAIL;
	if (X509_verify(x, issuer_pub) != 1) {
		warnx("%s: signature does not verify with the issuer key",
		    what);
		goto out;
	}
	rc = CER_OK;
out:
	OPENSSL_free(tbs);
	OPENSSL_free(tbs2);
	OPENSSL_free(der);
	return rc;
}

static int
crl_add(X509_CRL *crl, const struct cer_revoked *r)
{
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t = NULL;
	ASN1_ENUMERATED *reason = NULL;
	BIGNUM *bn = NULL;
	int ok = 0;

	if ((rev = X509_REVOKED_new()) == NULL || BN_hex2bn(&bn,
	    r->serial) == 0 || (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    (t = ASN1_TIME_set(NULL, (time_t)r->when)) == NULL ||
	    (reason = ASN1_ENUMERATED_new()) == NULL ||
	    !ASN1_ENUMERATED_set(reason, r->reason) ||
	    !X509_REVOKED_set_serialNumber(rev, sn) ||
	    !X509_REVOKED_set_revocationDate(rev, t) ||
	    !X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) ||
	    !X509_CRL_add0_revoked(crl, rev))
		goto out;
	rev = NULL;
	ok = 1;
out:
	X509_REVOKED_free(rev);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	ASN1_ENUMERATED_free(reason);
	BN_free(bn);
	return ok;
}

int
cer_crl_build(const struct cer_conf *c, const struct cer_state *st,
    X509 *root, struct hsm_key *key, time_t now, X509_CRL **out)
{
	X509_CRL *crl = NULL;
	ASN1_TIME *lu = NULL, *nu = NULL;
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *akid = NULL;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(root);
	const EVP_MD *md;
	size_t i;
	int nid, rc = CER_ERR;

	md = cer_md(X509_get0_pubkey(root), &nid);
	if ((crl = X509_CRL_new()) == NULL || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(root)) ||
	    (lu = ASN1_TIME_set(NULL, now)) == NULL ||
	    (nu = ASN1_TIME_set(NULL, now + (time_t)c->crl_next_update)) ==
	    NULL || !X509_CRL_set1_lastUpdate(crl, lu) ||
	    !X509_CRL_set1_nextUpdate(crl, nu))
		goto out;
	for (i = 0; i < st->nrevoked; i++)
		if (!crl_add(crl, &st->revoked[i]))
			goto out;
	/* RFC 5280 5.2.1 and 5.2.3: AKI and CRL number are required. */
	if ((num = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_uint64(num, st->crl_number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) ||
	    (akid = AUTHORITY_KEYID_new()) == NULL || ski == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_dup(ski)) == NULL ||
	    !X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0,
	    0))
		goto out;
	X509_CRL_sort(crl);
	if (X509_CRL_sign(crl, hsm_key_evp(key), md) <= 0) {
		warnx("the token refused to sign the CRL");
		goto out;
	}
	if (X509_CRL_verify(crl, X509_get0_pubkey(root)) != 1) {
		warnx("the CRL's signature does not verify with the root");
		rc = CER_FAIL;
		goto out;
	}
	*out = crl;
	crl = NULL;
	rc = CER_OK;
out:
	X509_CRL_free(crl);
	ASN1_TIME_free(lu);
	ASN1_TIME_free(nu);
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID_free(akid);
	return rc;
}
