/*
 * Internal interfaces of the OCSP responder (ca_ocsp.c,
 * ca_ocsp_issuer.c).
 */
#ifndef SIGNET_CA_OCSP_LOCAL_H
#define SIGNET_CA_OCSP_LOCAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ca_crl_local.h"

/* One issuer the responder answers for, with its CertID hashes. */
struct ca_ocsp_iss {
	const struct ca_issuer *iss;
	struct ca_signer *signer;	/* the issuer's or the delegate's */
	uint8_t name_sha1[20], key_sha1[20];
	uint8_t name_sha256[32], key_sha256[32];
	uint8_t rid[24];		/* ResponderID byKey, DER */
	size_t rid_len;
	uint8_t *certs;			/* [0] { delegate }, or NULL */
	size_t certs_len;
};

struct ca_ocsp {
	struct ledger *ledger;
	int64_t validity, refresh;
	int ignore_nonce;
	struct ca_ocsp_iss iss[CA_MAX_OCSP_ISSUERS];
	size_t niss;
	struct ca_ocsp_cache *cache;
	uint64_t signatures;		/* atomic */
};

struct ca_ocsp_st {
	enum ca_ocsp_cstatus cstatus;
	int64_t revoked_at;
	int reason;
};

struct ca_ocsp_single {
	const uint8_t *certid;
	size_t certid_len;
	struct ca_ocsp_st st;
};

int ca_ocsp_find_issuer(const struct ca_ocsp *o,
    const struct ca_ocsp_certid *id, size_t *idx);
int ca_ocsp_status(struct ca_ocsp *o, const struct ca_ocsp_iss *oi,
    const struct ca_ocsp_certid *id, struct ca_ocsp_st *st,
    struct ca_err *err);
int ca_ocsp_sign(struct ca_ocsp *o, const struct ca_ocsp_iss *oi,
    const struct ca_ocsp_single *s, size_t n, const uint8_t *nonce,
    size_t nonce_len, time_t now, uint8_t **der, size_t *len);

#endif
