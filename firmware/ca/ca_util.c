/*
 * Error vocabulary, object identifiers and algorithms fetched once.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>

#include "ca_local.h"

const uint8_t ca_oid_cn[3] = { 0x55, 0x04, 0x03 };
const uint8_t ca_oid_c[3] = { 0x55, 0x04, 0x06 };
const uint8_t ca_oid_st[3] = { 0x55, 0x04, 0x08 };
const uint8_t ca_oid_l[3] = { 0x55, 0x04, 0x07 };
const uint8_t ca_oid_o[3] = { 0x55, 0x04, 0x0a };
const uint8_t ca_oid_ou[3] = { 0x55, 0x04, 0x0b };
const uint8_t ca_oid_ext_req[9] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
	0x01, 0x09, 0x0e };
const uint8_t ca_oid_ms_ext_req[10] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82,
	0x37, 0x02, 0x01, 0x0e };
const uint8_t ca_oid_ski[3] = { 0x55, 0x1d, 0x0e };
const uint8_t ca_oid_ku[3] = { 0x55, 0x1d, 0x0f };
const uint8_t ca_oid_san[3] = { 0x55, 0x1d, 0x11 };
const uint8_t ca_oid_bc[3] = { 0x55, 0x1d, 0x13 };
const uint8_t ca_oid_crldp[3] = { 0x55, 0x1d, 0x1f };
const uint8_t ca_oid_freshest[3] = { 0x55, 0x1d, 0x2e };	/* 5.2.6 */
const uint8_t ca_oid_aki[3] = { 0x55, 0x1d, 0x23 };
const uint8_t ca_oid_eku[3] = { 0x55, 0x1d, 0x25 };
const uint8_t ca_oid_aia[8] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01,
	0x01 };
const uint8_t ca_oid_ocsp[8] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30,
	0x01 };
const uint8_t ca_oid_ca_issuers[8] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
	0x30, 0x02 };
const uint8_t ca_oid_ec[7] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
const uint8_t ca_oid_rsa[9] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x01 };
const uint8_t ca_oid_ed25519[3] = { 0x2b, 0x65, 0x70 };
const uint8_t ca_oid_p256[8] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
	0x07 };
const uint8_t ca_oid_p384[5] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
const uint8_t ca_oid_p521[5] = { 0x2b, 0x81, 0x04, 0x00, 0x23 };
/* RFC 5280 4.2.1.12: id-kp 1, 2, 3, 4, 8, 9 in CA_EKU_* bit order. */
const uint8_t ca_oid_eku_oids[6][8] = {
	{ 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 },
	{ 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02 },
	{ 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03 },
	{ 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04 },
	{ 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08 },
	{ 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09 },
};

static const char *const ca_errstr[] = {
	"success",
	"invalid argument",
	"out of memory",
	"request is not strict DER PKCS#10",
	"proof of possession failed",
	"key refused",
	"signature algorithm refused",
	"requested extension refused",
	"requested name refused",
	"refused by policy",
	"validity refused",
	"certificate failed a lint",
	"signing failed",
	"ledger or audit refused",
	"cryptographic library failure",
};

const char *
ca_strerror(int rc)
{
	size_t i = rc <= 0 ? (size_t)-rc : 0;

	if (rc > 0 || i >= sizeof(ca_errstr) / sizeof(ca_errstr[0]))
		return "unknown error";
	return ca_errstr[i];
}

int
ca_fail(struct ca_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->code = code;
		err->lint = NULL;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

static const char *const ca_stages[CA_STAGE_MAX] = {
	[CA_STAGE_PARSE] = "parse",
	[CA_STAGE_POP] = "pop-verify",
	[CA_STAGE_POLICY] = "policy",
	[CA_STAGE_BUILD] = "build",
	[CA_STAGE_LINT] = "lint",
	[CA_STAGE_SIGN] = "sign",
	[CA_STAGE_OUT] = "der-out",
};

const char *
ca_stage_name(enum ca_stage s)
{
	return (unsigned)s < CA_STAGE_MAX ? ca_stages[s] : "?";
}

uint64_t
ca_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pthread_once_t ca_md_once = PTHREAD_ONCE_INIT;
static EVP_MD *ca_mds[4];

/* OpenSSL 3.0 fetches a digest per call unless it is fetched once. */
static void
ca_md_init(void)
{
	ca_mds[0] = EVP_MD_fetch(NULL, "SHA1", NULL);
	ca_mds[1] = EVP_MD_fetch(NULL, "SHA256", NULL);
	ca_mds[2] = EVP_MD_fetch(NULL, "SHA384", NULL);
	ca_mds[3] = EVP_MD_fetch(NULL, "SHA512", NULL);
}

static const EVP_MD *
ca_md(int i)
{
	pthread_once(&ca_md_once, ca_md_init);
	return ca_mds[i];
}

const EVP_MD *
ca_md_sha1(void)
{
	return ca_md(0);
}

const EVP_MD *
ca_md_sha256(void)
{
	return ca_md(1);
}

const EVP_MD *
ca_md_sha384(void)
{
	return ca_md(2);
}

const EVP_MD *
ca_md_sha512(void)
{
	return ca_md(3);
}

const EVP_MD *
ca_md_by_nid(int nid)
{
	switch (nid) {
	case NID_sha256:
		return ca_md_sha256();
	case NID_sha384:
		return ca_md_sha384();
	case NID_sha512:
		return ca_md_sha512();
	default:
		return NULL;
	}
}

/* Names an OID for a message; buf receives the dotted form. */
const char *
ca_oid_dotted(const struct ca_tlv *t, char *buf, size_t size)
{
	ASN1_OBJECT *o = NULL;
	const unsigned char *p = t->raw;

	snprintf(buf, size, "(unreadable OID)");
	if ((o = d2i_ASN1_OBJECT(NULL, &p, (long)t->raw_len)) != NULL)
		OBJ_obj2txt(buf, (int)size, o, 1);
	ASN1_OBJECT_free(o);
	return buf;
}
