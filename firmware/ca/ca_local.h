/*
 * Internal interfaces of firmware/ca: the strict DER reader and writer,
 * algorithms fetched once, and helpers shared between the files.
 */
#ifndef SIGNET_CA_LOCAL_H
#define SIGNET_CA_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "signet/ca.h"

/* DER universal tags. */
#define CA_T_BOOLEAN	0x01
#define CA_T_INTEGER	0x02
#define CA_T_BITSTRING	0x03
#define CA_T_OCTETSTRING 0x04
#define CA_T_NULL	0x05
#define CA_T_OID	0x06
#define CA_T_UTF8	0x0c
#define CA_T_PRINTABLE	0x13
#define CA_T_T61	0x14
#define CA_T_IA5	0x16
#define CA_T_UTCTIME	0x17
#define CA_T_GENTIME	0x18
#define CA_T_BMP	0x1e
#define CA_T_SEQ	0x30
#define CA_T_SET	0x31
#define CA_T_CTX(n)	(0x80 | (n))	/* [n] IMPLICIT primitive */
#define CA_T_CTXC(n)	(0xa0 | (n))	/* [n] constructed */

/* A read cursor over DER: every read is bounded by n. */
struct ca_cur {
	const uint8_t *p;
	size_t n;
};

/* One element read from a cursor. */
struct ca_tlv {
	unsigned tag;
	const uint8_t *val;	/* contents */
	size_t len;
	const uint8_t *raw;	/* tag, length and contents */
	size_t raw_len;
};

void ca_cur_init(struct ca_cur *c, const uint8_t *p, size_t n);
int ca_der_next(struct ca_cur *c, struct ca_tlv *t);
int ca_der_expect(struct ca_cur *c, unsigned tag, struct ca_tlv *t);
int ca_der_peek(const struct ca_cur *c);
int ca_der_strict(const uint8_t *p, size_t n, int depth);
const char *ca_oid_dotted(const struct ca_tlv *t, char *buf, size_t size);
int ca_oid_eq(const struct ca_tlv *t, const uint8_t *oid, size_t len);
int ca_der_time(const struct ca_tlv *t, time_t *out);

/* A bounded DER writer; errors are sticky and checked once at the end. */
#define CA_BUF_DEPTH 12
struct ca_buf {
	uint8_t *p;
	size_t len, cap;
	size_t open[CA_BUF_DEPTH];
	int depth;
	int err;
};
void ca_buf_init(struct ca_buf *b, uint8_t *mem, size_t cap);
void ca_buf_put(struct ca_buf *b, const void *data, size_t len);
void ca_buf_tlv(struct ca_buf *b, unsigned tag, const void *data,
    size_t len);
void ca_buf_open(struct ca_buf *b, unsigned tag);
void ca_buf_close(struct ca_buf *b);
void ca_buf_oid(struct ca_buf *b, const uint8_t *oid, size_t len);

/* Object identifiers as DER contents (no tag and length). */
extern const uint8_t ca_oid_cn[3], ca_oid_c[3], ca_oid_st[3], ca_oid_l[3],
    ca_oid_o[3], ca_oid_ou[3];
extern const uint8_t ca_oid_ext_req[9], ca_oid_ms_ext_req[10];
extern const uint8_t ca_oid_ski[3], ca_oid_ku[3], ca_oid_san[3],
    ca_oid_bc[3], ca_oid_crldp[3], ca_oid_aki[3], ca_oid_eku[3],
    ca_oid_aia[8], ca_oid_ocsp[8], ca_oid_ca_issuers[8],
    ca_oid_freshest[3];
extern const uint8_t ca_oid_ec[7], ca_oid_rsa[9], ca_oid_ed25519[3],
    ca_oid_p256[8], ca_oid_p384[5], ca_oid_p521[5];
extern const uint8_t ca_oid_eku_oids[6][8];

/* Algorithms fetched once per process (OpenSSL 3.0 fetches are costly). */
const EVP_MD *ca_md_sha1(void);
const EVP_MD *ca_md_sha256(void);
const EVP_MD *ca_md_sha384(void);
const EVP_MD *ca_md_sha512(void);
const EVP_MD *ca_md_by_nid(int nid);

/* The digest a signer's AlgorithmIdentifier names (NULL: Ed25519). */
const EVP_MD *ca_signer_md(const struct ca_signer *s);

/* Monotonic nanoseconds for stage timing. */
uint64_t ca_now_ns(void);

/* Builds the TBSCertificate for a checked CSR into b. */
struct ca_tbs_in {
	const struct ca_csr *csr;
	const struct ca_profile *profile;
	const struct ca_issuer *issuer;
	uint8_t serial[CA_SERIAL_LEN];
	time_t not_before, not_after;
};
int ca_tbs_build(const struct ca_tbs_in *in, struct ca_buf *b,
    struct ca_err *err);
int ca_validity(const struct ca_profile *p, const struct ca_issuer *iss,
    int64_t ttl, time_t now, time_t *nb, time_t *na, int *truncated,
    struct ca_err *err);
int ca_serial_new(uint8_t serial[CA_SERIAL_LEN], struct ca_err *err);
/*
 * Text forms the ledger and audit record.  ca_names_text: the names,
 * comma-separated, IPs printed; returns the length of the whole text
 * (as snprintf does: out may be NULL to measure).  ca_subject_text: the
 * subject ca_tbs_build writes, most specific first ("CN=..,OU=..,O=..").
 */
size_t ca_names_text(const struct ca_csr *csr, char *out, size_t size);
void ca_subject_text(const struct ca_csr *csr, const struct ca_profile *p,
    char *out, size_t size);

/* Name checks shared by the CSR policy and the linter. */
int ca_ip_in_cidr(const uint8_t *ip, size_t len, const struct ca_cidr *c);
int ca_glob(const char *pat, size_t plen, const uint8_t *s, size_t slen,
    char sep);

/* What the chain above a leaf imposes (ca_chain.c). */
struct ca_chain_cert {
	NAME_CONSTRAINTS *nc;	/* NULL: none */
	int has_eku;
	unsigned eku;		/* CA_EKU_* it lists (anyEKU is not one) */
	char who[CA_MAX_ATTR + 32];	/* "the issuer's", "chain CA "x"'s" */
};
struct ca_chain {
	struct ca_chain_cert c[1 + CA_MAX_CHAIN];
	size_t n, nnc;		/* certificates, those with constraints */
	char broken[CA_MAX_ERRMSG];	/* why no verifier accepts the chain */
};
int ca_chain_load(struct ca_issuer *iss);
void ca_chain_free(struct ca_chain *ch);
int ca_chain_check_names(const struct ca_issuer *iss,
    const struct ca_csr *csr, struct ca_err *err);

#endif
