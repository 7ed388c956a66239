/*
 * TBSCertificate building, straight to DER.  The builder copies what is
 * already DER (the CSR's SubjectPublicKeyInfo, the issuer's Name) and
 * writes each extension directly, because re-encoding keys and names
 * through OpenSSL 3.0's generic encoders costs more than signing.  Every
 * value comes from the profile, the issuer or the checked names, never
 * from the CSR's extensions.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "ca_local.h"

static const uint8_t ca_true[3] = { CA_T_BOOLEAN, 0x01, 0xff };

/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime after. */
static void
ca_put_time(struct ca_buf *b, time_t t)
{
	struct tm tm;
	char s[20];
	int n;

	if (gmtime_r(&t, &tm) == NULL) {
		b->err = 1;
		return;
	}
	if (tm.tm_year >= 50 && tm.tm_year < 150) {
		n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ",
		    tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		ca_buf_tlv(b, CA_T_UTCTIME, s, (size_t)n);
	} else {
		n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		if (n != 15) {
			b->err = 1;
			return;
		}
		ca_buf_tlv(b, CA_T_GENTIME, s, (size_t)n);
	}
}

static void
ca_put_rdn(struct ca_buf *b, const uint8_t *oid, unsigned tag,
    const void *val, size_t len)
{
	ca_buf_open(b, CA_T_SET);
	ca_buf_open(b, CA_T_SEQ);
	ca_buf_oid(b, oid, 3);
	ca_buf_tlv(b, tag, val, len);
	ca_buf_close(b);
	ca_buf_close(b);
}

/* Subject: the profile's fixed attributes, then the checked CN. */
static int
ca_put_subject(struct ca_buf *b, const struct ca_tbs_in *in)
{
	static const uint8_t *const oids[CA_ATTR_MAX] = {
		[CA_ATTR_C] = ca_oid_c,
		[CA_ATTR_ST] = ca_oid_st,
		[CA_ATTR_L] = ca_oid_l,
		[CA_ATTR_O] = ca_oid_o,
		[CA_ATTR_OU] = ca_oid_ou,
	};
	const struct ca_profile *p = in->profile;
	int i, n = 0;

	ca_buf_open(b, CA_T_SEQ);
	for (i = 0; i < CA_ATTR_MAX; i++) {
		if (p->subject[i][0] == '\0')
			continue;
		/* RFC 5280 A.1: countryName is a PrintableString. */
		ca_put_rdn(b, oids[i], i == CA_ATTR_C ? CA_T_PRINTABLE :
		    CA_T_UTF8, p->subject[i], strlen(p->subject[i]));
		n++;
	}
	if (in->csr->cn != NULL) {
		ca_put_rdn(b, ca_oid_cn, CA_T_UTF8, in->csr->cn,
		    in->csr->cn_len);
		n++;
	}
	ca_buf_close(b);
	return n;
}

/* The subject above as text, most specific first, for the ledger. */
void
ca_subject_text(const struct ca_csr *csr, const struct ca_profile *p,
    char *out, size_t size)
{
	static const char *const key[CA_ATTR_MAX] = {
		[CA_ATTR_C] = "C",
		[CA_ATTR_ST] = "ST",
		[CA_ATTR_L] = "L",
		[CA_ATTR_O] = "O",
		[CA_ATTR_OU] = "OU",
	};
	size_t n = 0;
	int i, w;

	out[0] = '\0';
	if (csr->cn != NULL && (w = snprintf(out, size, "CN=%.*s",
	    (int)csr->cn_len, (const char *)csr->cn)) > 0)
		n = (size_t)w;
	for (i = CA_ATTR_MAX - 1; i >= 0 && n < size; i--) {
		if (p->subject[i][0] == '\0')
			continue;
		w = snprintf(out + n, size - n, "%s%s=%s", n ? "," : "",
		    key[i], p->subject[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

static void
ca_ext_open(struct ca_buf *b, const uint8_t *oid, size_t len, int critical)
{
	ca_buf_open(b, CA_T_SEQ);
	ca_buf_oid(b, oid, len);
	if (critical)
		ca_buf_put(b, ca_true, sizeof(ca_true));
	ca_buf_open(b, CA_T_OCTETSTRING);
}

static void
ca_ext_close(struct ca_buf *b)
{
	ca_buf_close(b);
	ca_buf_close(b);
}

/* RFC 5280 4.2.1.3: keyUsage as a minimal DER BIT STRING. */
static void
ca_put_ku(struct ca_buf *b, unsigned ku)
{
	uint8_t v[3];
	unsigned i, unused = 0;
	size_t n;

	v[1] = v[2] = 0;
	for (i = 0; i < 9; i++)
		if (ku & (1u << i))
			v[1 + i / 8] |= (uint8_t)(0x80 >> (i % 8));
	n = v[2] ? 2 : 1;
	while (unused < 7 && !(v[n] & (1u << unused)))
		unused++;
	v[0] = (uint8_t)unused;
	ca_ext_open(b, ca_oid_ku, sizeof(ca_oid_ku), 1);
	ca_buf_tlv(b, CA_T_BITSTRING, v, n + 1);
	ca_ext_close(b);
}

static void
ca_put_eku(struct ca_buf *b, unsigned eku)
{
	size_t i;

	ca_ext_open(b, ca_oid_eku, sizeof(ca_oid_eku), 0);
	ca_buf_open(b, CA_T_SEQ);
	for (i = 0; i < 6; i++)
		if (eku & (1u << i))
			ca_buf_oid(b, ca_oid_eku_oids[i], 8);
	ca_buf_close(b);
	ca_ext_close(b);
}

static void
ca_put_keyids(struct ca_buf *b, const struct ca_tbs_in *in)
{
	uint8_t ski[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	/* RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
	if (EVP_Digest(in->csr->key_bits, in->csr->key_bits_len, ski, &len,
	    ca_md_sha1(), NULL) != 1) {
		b->err = 1;
		return;
	}
	ca_ext_open(b, ca_oid_ski, sizeof(ca_oid_ski), 0);
	ca_buf_tlv(b, CA_T_OCTETSTRING, ski, len);
	ca_ext_close(b);
	/* RFC 5280 4.2.1.1: keyIdentifier [0] = the issuer's SKI. */
	ca_ext_open(b, ca_oid_aki, sizeof(ca_oid_aki), 0);
	ca_buf_open(b, CA_T_SEQ);
	ca_buf_tlv(b, CA_T_CTX(0), in->issuer->ski, in->issuer->ski_len);
	ca_buf_close(b);
	ca_ext_close(b);
}

/* RFC 5280 4.2.1.6: critical when the subject is empty. */
static void
ca_put_san(struct ca_buf *b, const struct ca_csr *csr, int critical)
{
	static const unsigned tags[] = { CA_T_CTX(2), CA_T_CTX(7),
		CA_T_CTX(6) };
	size_t i;

	ca_ext_open(b, ca_oid_san, sizeof(ca_oid_san), critical);
	ca_buf_open(b, CA_T_SEQ);
	for (i = 0; i < csr->nnames; i++)
		ca_buf_tlv(b, tags[csr->names[i].type], csr->names[i].val,
		    csr->names[i].len);
	ca_buf_close(b);
	ca_ext_close(b);
}

/* RFC 5280 4.2.1.13: one DistributionPoint, a fullName URI. */
static void
ca_put_dp(struct ca_buf *b, const uint8_t *oid, const char *url)
{
	ca_ext_open(b, oid, 3, 0);
	ca_buf_open(b, CA_T_SEQ);		/* CRLDistributionPoints */
	ca_buf_open(b, CA_T_SEQ);		/* DistributionPoint */
	ca_buf_open(b, CA_T_CTXC(0));		/* distributionPoint */
	ca_buf_open(b, CA_T_CTXC(0));		/* fullName */
	ca_buf_tlv(b, CA_T_CTX(6), url, strlen(url));
	ca_buf_close(b);
	ca_buf_close(b);
	ca_buf_close(b);
	ca_buf_close(b);
	ca_ext_close(b);
}

/* RFC 5280 4.2.2.1 and 4.2.1.13: AIA and CRL DP from configuration. */
static void
ca_put_urls(struct ca_buf *b, const struct ca_issuer *iss)
{
	if (iss->ocsp_url[0] != '\0' || iss->ca_issuers_url[0] != '\0') {
		ca_ext_open(b, ca_oid_aia, sizeof(ca_oid_aia), 0);
		ca_buf_open(b, CA_T_SEQ);
		if (iss->ocsp_url[0] != '\0') {
			ca_buf_open(b, CA_T_SEQ);
			ca_buf_oid(b, ca_oid_ocsp, sizeof(ca_oid_ocsp));
			ca_buf_tlv(b, CA_T_CTX(6), iss->ocsp_url,
			    strlen(iss->ocsp_url));
			ca_buf_close(b);
		}
		if (iss->ca_issuers_url[0] != '\0') {
			ca_buf_open(b, CA_T_SEQ);
			ca_buf_oid(b, ca_oid_ca_issuers,
			    sizeof(ca_oid_ca_issuers));
			ca_buf_tlv(b, CA_T_CTX(6), iss->ca_issuers_url,
			    strlen(iss->ca_issuers_url));
			ca_buf_close(b);
		}
		ca_buf_close(b);
		ca_ext_close(b);
	}
	if (iss->crl_url[0] != '\0')
		ca_put_dp(b, ca_oid_crldp, iss->crl_url);
	/* RFC 5280 4.2.1.15: where the delta CRLs are (issue 19). */
	if (iss->delta_in_certs && iss->delta_url[0] != '\0')
		ca_put_dp(b, ca_oid_freshest, iss->delta_url);
}

static void
ca_put_exts(struct ca_buf *b, const struct ca_tbs_in *in, int empty_subject)
{
	static const uint8_t bc[2] = { CA_T_SEQ, 0x00 };

	ca_buf_open(b, CA_T_CTXC(3));
	ca_buf_open(b, CA_T_SEQ);
	/* RFC 5280 4.2.1.9: a leaf is CA:FALSE, marked critical. */
	ca_ext_open(b, ca_oid_bc, sizeof(ca_oid_bc), 1);
	ca_buf_put(b, bc, sizeof(bc));
	ca_ext_close(b);
	/* keyEncipherment only for RSA keys (ca_profile_ku). */
	if (ca_profile_ku(in->profile, in->csr->kind) != 0)
		ca_put_ku(b, ca_profile_ku(in->profile, in->csr->kind));
	if (in->profile->ext_key_usage != 0)
		ca_put_eku(b, in->profile->ext_key_usage);
	ca_put_keyids(b, in);
	ca_put_san(b, in->csr, empty_subject);
	ca_put_urls(b, in->issuer);
	ca_buf_close(b);
	ca_buf_close(b);
}

int
ca_tbs_build(const struct ca_tbs_in *in, struct ca_buf *b,
    struct ca_err *err)
{
	static const uint8_t v3[5] = { CA_T_CTXC(0), 0x03, CA_T_INTEGER, 0x01,
		0x02 };
	const uint8_t *alg;
	size_t alg_len;
	int nsubj;

	alg = ca_signer_algid(in->issuer->signer, &alg_len);
	ca_buf_open(b, CA_T_SEQ);
	ca_buf_put(b, v3, sizeof(v3));
	ca_buf_tlv(b, CA_T_INTEGER, in->serial, CA_SERIAL_LEN);
	ca_buf_put(b, alg, alg_len);
	ca_buf_put(b, in->issuer->subject_der, in->issuer->subject_len);
	ca_buf_open(b, CA_T_SEQ);
	ca_put_time(b, in->not_before);
	ca_put_time(b, in->not_after);
	ca_buf_close(b);
	nsubj = ca_put_subject(b, in);
	ca_buf_put(b, in->csr->spki, in->csr->spki_len);
	ca_put_exts(b, in, nsubj == 0);
	ca_buf_close(b);
	if (b->err || b->depth != 0)
		return ca_fail(err, CA_ERR_ARG, "TBSCertificate exceeds %zu "
		    "bytes", b->cap);
	return CA_OK;
}
