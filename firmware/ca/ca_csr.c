/*
 * PKCS#10 (RFC 2986) evidence: strict decoding of a certificate request,
 * its key and signature algorithm, and the extensions it asks for.  The
 * request's extensions are read only to refuse dangerous ones and to learn
 * the requested names; nothing is ever copied into a certificate.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>

#include "ca_local.h"

struct ca_sigalg {
	uint8_t oid[9];
	size_t len;
	enum ca_key_kind kind;
	int md;			/* NID of the digest, 0 = refused or none */
	const char *name;
};

/* Signature algorithms a CSR may use; SHA-1 and MD5 named to refuse. */
static const struct ca_sigalg ca_sigalgs[] = {
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 }, 8,
	  CA_KEY_KIND_EC, NID_sha256, "ecdsa-with-SHA256" },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 }, 8,
	  CA_KEY_KIND_EC, NID_sha384, "ecdsa-with-SHA384" },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 }, 8,
	  CA_KEY_KIND_EC, NID_sha512, "ecdsa-with-SHA512" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b }, 9,
	  CA_KEY_KIND_RSA, NID_sha256, "sha256WithRSAEncryption" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c }, 9,
	  CA_KEY_KIND_RSA, NID_sha384, "sha384WithRSAEncryption" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d }, 9,
	  CA_KEY_KIND_RSA, NID_sha512, "sha512WithRSAEncryption" },
	{ { 0x2b, 0x65, 0x70 }, 3, CA_KEY_KIND_ED25519, NID_undef, "Ed25519" },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01 }, 7,
	  CA_KEY_KIND_NONE, 0, "ecdsa-with-SHA1" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05 }, 9,
	  CA_KEY_KIND_NONE, 0, "sha1WithRSAEncryption" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04 }, 9,
	  CA_KEY_KIND_NONE, 0, "md5WithRSAEncryption" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x02 }, 9,
	  CA_KEY_KIND_NONE, 0, "md2WithRSAEncryption" },
	{ { 0x2b, 0x0e, 0x03, 0x02, 0x1d }, 5,
	  CA_KEY_KIND_NONE, 0, "sha1WithRSA (OIW)" },
};

static int
ca_csr_sigalg(struct ca_csr *csr, const struct ca_tlv *alg,
    struct ca_err *err)
{
	struct ca_cur c;
	struct ca_tlv oid, par;
	size_t i;

	ca_cur_init(&c, alg->val, alg->len);
	if (ca_der_expect(&c, CA_T_OID, &oid) != 0)
		return ca_fail(err, CA_ERR_DECODE, "CSR signature algorithm "
		    "is not an AlgorithmIdentifier");
	for (i = 0; i < sizeof(ca_sigalgs) / sizeof(ca_sigalgs[0]); i++)
		if (ca_oid_eq(&oid, ca_sigalgs[i].oid, ca_sigalgs[i].len))
			break;
	if (i == sizeof(ca_sigalgs) / sizeof(ca_sigalgs[0])) {
		char txt[80];

		return ca_fail(err, CA_ERR_ALG, "CSR signature algorithm %s "
		    "is not supported", ca_oid_dotted(&oid, txt, sizeof(txt)));
	}
	if (ca_sigalgs[i].kind == CA_KEY_KIND_NONE)
		return ca_fail(err, CA_ERR_ALG, "CSR is signed with %s: "
		    "SHA-1 and MD5 are refused", ca_sigalgs[i].name);
	/* RFC 4055 5 and RFC 5758 3.2: RSA NULL parameters, ECDSA none. */
	if (c.n > 0) {
		if (ca_der_next(&c, &par) != 0 || par.tag != CA_T_NULL ||
		    ca_sigalgs[i].kind != CA_KEY_KIND_RSA || c.n != 0)
			return ca_fail(err, CA_ERR_ALG, "CSR signature "
			    "algorithm %s has parameters", ca_sigalgs[i].name);
	}
	if (ca_sigalgs[i].kind != csr->kind)
		return ca_fail(err, CA_ERR_ALG, "CSR signature algorithm %s "
		    "does not match its key", ca_sigalgs[i].name);
	csr->sig_md = ca_sigalgs[i].md;
	return CA_OK;
}

static int
ca_csr_rsa(struct ca_csr *csr, struct ca_err *err)
{
	static const uint8_t f4[3] = { 0x01, 0x00, 0x01 };
	struct ca_cur c, k;
	struct ca_tlv seq, n, e;
	const uint8_t *np;
	size_t nl;
	unsigned bits, b;

	ca_cur_init(&c, csr->key_bits, csr->key_bits_len);
	if (ca_der_expect(&c, CA_T_SEQ, &seq) != 0 || c.n != 0)
		return ca_fail(err, CA_ERR_KEY, "RSA key is not an "
		    "RSAPublicKey");
	ca_cur_init(&k, seq.val, seq.len);
	if (ca_der_expect(&k, CA_T_INTEGER, &n) != 0 ||
	    ca_der_expect(&k, CA_T_INTEGER, &e) != 0 || k.n != 0 ||
	    (n.val[0] & 0x80))
		return ca_fail(err, CA_ERR_KEY, "RSA key is not an "
		    "RSAPublicKey");
	np = n.val;
	nl = n.len;
	if (nl > 1 && np[0] == 0) {
		np++;
		nl--;
	}
	bits = (unsigned)nl * 8;
	for (b = 0x80; b > 0 && !(np[0] & b); b >>= 1)
		bits--;
	csr->key_bits_n = bits;
	/* Baseline: RSA below 2048 bits is refused whatever the profile. */
	if (bits < 2048 || bits > CA_MAX_RSA_BITS)
		return ca_fail(err, CA_ERR_KEY, "RSA key of %u bits: 2048 to "
		    "%u required", bits, CA_MAX_RSA_BITS);
	if (e.len != sizeof(f4) || memcmp(e.val, f4, sizeof(f4)) != 0)
		return ca_fail(err, CA_ERR_KEY, "RSA public exponent must be "
		    "65537");
	csr->key_type = CA_KEY_RSA;
	return CA_OK;
}

static int
ca_csr_ec(struct ca_csr *csr, const struct ca_tlv *par, struct ca_err *err)
{
	size_t flen;

	if (ca_oid_eq(par, ca_oid_p256, sizeof(ca_oid_p256))) {
		csr->key_type = CA_KEY_P256;
		flen = 32;
	} else if (ca_oid_eq(par, ca_oid_p384, sizeof(ca_oid_p384))) {
		csr->key_type = CA_KEY_P384;
		flen = 48;
	} else if (ca_oid_eq(par, ca_oid_p521, sizeof(ca_oid_p521))) {
		csr->key_type = CA_KEY_P521;
		flen = 66;
	} else
		return ca_fail(err, CA_ERR_KEY, "EC key is not on a named "
		    "curve P-256, P-384 or P-521");
	csr->key_bits_n = flen == 66 ? 521 : (unsigned)flen * 8;
	/* SEC 1 2.3.3: uncompressed 04||X||Y or compressed 02/03||X. */
	if (!(csr->key_bits_len == 1 + 2 * flen && csr->key_bits[0] == 4) &&
	    !(csr->key_bits_len == 1 + flen &&
	    (csr->key_bits[0] == 2 || csr->key_bits[0] == 3)))
		return ca_fail(err, CA_ERR_KEY, "EC point encoding is invalid");
	return CA_OK;
}

static int
ca_csr_spki(struct ca_csr *csr, const struct ca_tlv *spki,
    struct ca_err *err)
{
	struct ca_cur c, a;
	struct ca_tlv alg, oid, par, bits;
	int has_par;

	csr->spki = spki->raw;
	csr->spki_len = spki->raw_len;
	ca_cur_init(&c, spki->val, spki->len);
	if (ca_der_expect(&c, CA_T_SEQ, &alg) != 0 ||
	    ca_der_expect(&c, CA_T_BITSTRING, &bits) != 0 || c.n != 0 ||
	    bits.val[0] != 0)
		return ca_fail(err, CA_ERR_DECODE, "CSR SubjectPublicKeyInfo "
		    "is malformed");
	csr->key_bits = bits.val + 1;
	csr->key_bits_len = bits.len - 1;
	ca_cur_init(&a, alg.val, alg.len);
	if (ca_der_expect(&a, CA_T_OID, &oid) != 0)
		return ca_fail(err, CA_ERR_DECODE, "CSR key algorithm is "
		    "malformed");
	has_par = a.n > 0;
	if (has_par && (ca_der_next(&a, &par) != 0 || a.n != 0))
		return ca_fail(err, CA_ERR_DECODE, "CSR key algorithm is "
		    "malformed");
	if (ca_oid_eq(&oid, ca_oid_rsa, sizeof(ca_oid_rsa))) {
		csr->kind = CA_KEY_KIND_RSA;
		if (!has_par || par.tag != CA_T_NULL)
			return ca_fail(err, CA_ERR_KEY, "RSA key parameters "
			    "must be NULL");
		return ca_csr_rsa(csr, err);
	}
	if (ca_oid_eq(&oid, ca_oid_ec, sizeof(ca_oid_ec))) {
		csr->kind = CA_KEY_KIND_EC;
		if (!has_par)
			return ca_fail(err, CA_ERR_KEY, "EC key without a "
			    "named curve");
		return ca_csr_ec(csr, &par, err);
	}
	if (ca_oid_eq(&oid, ca_oid_ed25519, sizeof(ca_oid_ed25519))) {
		csr->kind = CA_KEY_KIND_ED25519;
		csr->key_type = CA_KEY_ED25519;
		csr->key_bits_n = 256;
		/* RFC 8410 3: parameters absent, 32-byte key. */
		if (has_par || csr->key_bits_len != 32)
			return ca_fail(err, CA_ERR_KEY, "Ed25519 key is "
			    "malformed");
		return CA_OK;
	}
	{
		char txt[80];

		return ca_fail(err, CA_ERR_KEY, "key algorithm %s is not "
		    "supported", ca_oid_dotted(&oid, txt, sizeof(txt)));
	}
}

/* Finds the single commonName, if any, and checks its characters. */
static int
ca_csr_subject(struct ca_csr *csr, const struct ca_tlv *name,
    struct ca_err *err)
{
	struct ca_cur rdns, set, atv;
	struct ca_tlv rdn, a, oid, val;
	size_t i;

	ca_cur_init(&rdns, name->val, name->len);
	while (rdns.n > 0) {
		if (ca_der_expect(&rdns, CA_T_SET, &rdn) != 0)
			goto bad;
		ca_cur_init(&set, rdn.val, rdn.len);
		while (set.n > 0) {
			if (ca_der_expect(&set, CA_T_SEQ, &a) != 0)
				goto bad;
			ca_cur_init(&atv, a.val, a.len);
			if (ca_der_expect(&atv, CA_T_OID, &oid) != 0 ||
			    ca_der_next(&atv, &val) != 0 || atv.n != 0)
				goto bad;
			if (!ca_oid_eq(&oid, ca_oid_cn, sizeof(ca_oid_cn)))
				continue;
			if (csr->cn != NULL)
				return ca_fail(err, CA_ERR_NAME, "CSR subject "
				    "has more than one commonName");
			if (val.tag != CA_T_UTF8 && val.tag != CA_T_PRINTABLE &&
			    val.tag != CA_T_IA5)
				return ca_fail(err, CA_ERR_NAME, "CSR commonName "
				    "has string type 0x%02x", val.tag);
			if (val.len == 0 || val.len > CA_MAX_CN)
				return ca_fail(err, CA_ERR_NAME, "CSR commonName "
				    "length %zu is outside 1..%d", val.len,
				    CA_MAX_CN);
			for (i = 0; i < val.len; i++)
				if (val.val[i] < 0x20 || val.val[i] == 0x7f)
					return ca_fail(err, CA_ERR_NAME, "CSR "
					    "commonName contains control "
					    "character 0x%02x", val.val[i]);
			csr->cn = val.val;
			csr->cn_len = val.len;
		}
	}
	return CA_OK;
bad:
	return ca_fail(err, CA_ERR_DECODE, "CSR subject is not a Name");
}

int ca_csr_attrs(struct ca_csr *, const struct ca_tlv *, struct ca_err *);

static int
ca_csr_cn_in_san(const struct ca_csr *csr, struct ca_err *err)
{
	char cn[CA_MAX_CN + 1];
	uint8_t ip[16];
	size_t i;
	int fam;

	memcpy(cn, csr->cn, csr->cn_len);
	cn[csr->cn_len] = '\0';
	fam = strchr(cn, ':') ? AF_INET6 : AF_INET;
	for (i = 0; i < csr->nnames; i++) {
		const struct ca_name *n = &csr->names[i];

		if (n->type == CA_NAME_DNS && n->len == csr->cn_len &&
		    memcmp(n->val, csr->cn, n->len) == 0)
			return CA_OK;
		if (n->type == CA_NAME_IP && inet_pton(fam, cn, ip) == 1 &&
		    n->len == (fam == AF_INET ? 4u : 16u) &&
		    memcmp(ip, n->val, n->len) == 0)
			return CA_OK;
	}
	/* CABF BR 7.1.4.3: a commonName must repeat a SAN entry. */
	return ca_fail(err, CA_ERR_NAME, "CSR commonName \"%s\" is not in its "
	    "subjectAltName", cn);
}

static int
ca_csr_cri(struct ca_csr *csr, const struct ca_tlv *cri, struct ca_err *err)
{
	struct ca_cur c;
	struct ca_tlv ver, name, spki, attrs;
	int rc;

	ca_cur_init(&c, cri->val, cri->len);
	if (ca_der_expect(&c, CA_T_INTEGER, &ver) != 0 || ver.len != 1 ||
	    ver.val[0] != 0)
		return ca_fail(err, CA_ERR_DECODE, "CSR version is not v1 (0)");
	if (ca_der_expect(&c, CA_T_SEQ, &name) != 0 ||
	    ca_der_expect(&c, CA_T_SEQ, &spki) != 0 ||
	    ca_der_expect(&c, CA_T_CTXC(0), &attrs) != 0 || c.n != 0)
		return ca_fail(err, CA_ERR_DECODE, "CSR CertificationRequest"
		    "Info is malformed");
	if ((rc = ca_csr_spki(csr, &spki, err)) != CA_OK ||
	    (rc = ca_csr_subject(csr, &name, err)) != CA_OK ||
	    (rc = ca_csr_attrs(csr, &attrs, err)) != CA_OK)
		return rc;
	/* RFC 5280 4.2.1.6: names live in the SAN; the engine needs one. */
	if (csr->nnames == 0)
		return ca_fail(err, CA_ERR_NAME, "CSR has no subjectAltName");
	if (csr->cn != NULL)
		return ca_csr_cn_in_san(csr, err);
	return CA_OK;
}

int ca_csr_unpem(const uint8_t *, size_t, uint8_t **, size_t *,
    struct ca_err *);

int
ca_csr_parse(const uint8_t *in, size_t len, struct ca_csr *csr,
    struct ca_err *err)
{
	struct ca_cur c, r;
	struct ca_tlv req, cri, alg, sig;
	int rc;

	memset(csr, 0, sizeof(*csr));
	if (in == NULL || len == 0 || len > CA_MAX_CSR)
		return ca_fail(err, CA_ERR_DECODE, "CSR size %zu is outside "
		    "1..%d bytes", len, CA_MAX_CSR);
	if (in[0] == '-') {
		if ((rc = ca_csr_unpem(in, len, &csr->pem_der, &len,
		    err)) != CA_OK)
			return rc;
		in = csr->pem_der;
	}
	csr->der = in;
	csr->der_len = len;
	ca_cur_init(&c, in, len);
	if (ca_der_expect(&c, CA_T_SEQ, &req) != 0)
		return ca_fail(err, CA_ERR_DECODE, "CSR is not a DER SEQUENCE");
	if (c.n != 0)
		return ca_fail(err, CA_ERR_DECODE, "CSR has %zu trailing "
		    "bytes", c.n);
	if (ca_der_strict(req.val, req.len, CA_MAX_DER_DEPTH) != 0)
		return ca_fail(err, CA_ERR_DECODE, "CSR is not strict DER "
		    "(bad length, tag, encoding or nesting deeper than %d)",
		    CA_MAX_DER_DEPTH);
	ca_cur_init(&r, req.val, req.len);
	if (ca_der_expect(&r, CA_T_SEQ, &cri) != 0 ||
	    ca_der_expect(&r, CA_T_SEQ, &alg) != 0 ||
	    ca_der_expect(&r, CA_T_BITSTRING, &sig) != 0 || r.n != 0 ||
	    sig.val[0] != 0)
		return ca_fail(err, CA_ERR_DECODE, "CSR is not a "
		    "CertificationRequest");
	csr->cri = cri.raw;
	csr->cri_len = cri.raw_len;
	csr->sig = sig.val + 1;
	csr->sig_len = sig.len - 1;
	if ((rc = ca_csr_cri(csr, &cri, err)) != CA_OK)
		return rc;
	return ca_csr_sigalg(csr, &alg, err);
}

void
ca_csr_free(struct ca_csr *csr)
{
	if (csr == NULL)
		return;
	OPENSSL_free(csr->pem_der);
	memset(csr, 0, sizeof(*csr));
}
