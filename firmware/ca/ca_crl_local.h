/*
 * Internal interfaces of the revocation files (ca_crl*.c, ca_ocsp*.c):
 * a growing DER writer for output of unbounded size (a CRL of 100,000
 * entries is megabytes) and the object identifiers they share.
 */
#ifndef SIGNET_CA_CRL_LOCAL_H
#define SIGNET_CA_CRL_LOCAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ca_local.h"
#include "signet/ca_revoke.h"

#define CA_T_ENUMERATED 0x0a

/* Like struct ca_buf, but it grows and takes lengths up to 2^32 - 1. */
#define CA_GBUF_DEPTH 12
struct ca_gbuf {
	uint8_t *p;
	size_t len, cap;
	size_t open[CA_GBUF_DEPTH];
	int depth;
	int err;
};
void ca_gbuf_init(struct ca_gbuf *b);
void ca_gbuf_free(struct ca_gbuf *b);
void ca_gbuf_put(struct ca_gbuf *b, const void *data, size_t len);
void ca_gbuf_open(struct ca_gbuf *b, unsigned tag);
void ca_gbuf_close(struct ca_gbuf *b);
void ca_gbuf_tlv(struct ca_gbuf *b, unsigned tag, const void *data,
    size_t len);
/* An INTEGER from unsigned big-endian magnitude octets. */
void ca_gbuf_uint(struct ca_gbuf *b, const uint8_t *mag, size_t len);
void ca_gbuf_u64(struct ca_gbuf *b, uint64_t v);
/* RFC 5280 4.1.2.5 choice (UTCTime before 2050) or always GeneralizedTime. */
void ca_gbuf_time(struct ca_gbuf *b, time_t t, int gen_only);
/* One Extension: SEQUENCE { OID, [critical], OCTET STRING { body } }. */
void ca_gbuf_ext_open(struct ca_gbuf *b, const uint8_t *oid, size_t oidlen,
    int critical);
void ca_gbuf_ext_close(struct ca_gbuf *b);
/* Appends BIT STRING (no unused bits) with sig. */
void ca_gbuf_bits(struct ca_gbuf *b, const uint8_t *sig, size_t len);
/* Hands the bytes over: *out owns them (free()); b is empty after. */
int ca_gbuf_take(struct ca_gbuf *b, uint8_t **out, size_t *len);

/* One CertID's DER (as cached), decoded like a request's. */
int ca_ocsp_req_certid(const uint8_t *der, size_t len,
    struct ca_ocsp_certid *id);

extern const uint8_t ca_oid_crl_number[3], ca_oid_crl_reason[3],
    ca_oid_ocsp_basic[9], ca_oid_ocsp_nonce[9], ca_oid_sha1[5],
    ca_oid_sha256[9];



/*
 * The OCSP answer cache (ca_ocsp_cache.c): a hash map with LRU eviction,
 * bounded by entry count, behind one mutex.  Keys name an issuer (index
 * in the responder), the CertID hash algorithm and a serial.
 */
struct ca_ocsp_ckey {
	uint8_t iss;
	uint8_t hash;
	uint8_t slen;
	uint8_t serial[CA_MAX_OCSP_SERIAL];
};

/* A cached answer old enough to re-sign, with what re-signing needs. */
struct ca_ocsp_stale {
	struct ca_ocsp_ckey key;
	uint8_t certid[CA_MAX_OCSP_CERTID];
	size_t certid_len;
};

struct ca_ocsp_cache;
int ca_ocsp_cache_new(size_t max, struct ca_ocsp_cache **out);
void ca_ocsp_cache_free(struct ca_ocsp_cache *c);
/*
 * 1 and a malloc'd copy of the answer if one younger than fresh_secs at
 * now is cached for exactly this CertID, 0 if not, -1 if out of memory.
 */
int ca_ocsp_cache_get(struct ca_ocsp_cache *c, const struct ca_ocsp_ckey *k,
    const uint8_t *certid, size_t certid_len, time_t now, int64_t fresh_secs,
    uint8_t **der, size_t *len, int *cstatus);
/* Invalidation epoch: an answer built under an older epoch is not put. */
uint64_t ca_ocsp_cache_epoch(struct ca_ocsp_cache *c);
int ca_ocsp_cache_put(struct ca_ocsp_cache *c, const struct ca_ocsp_ckey *k,
    const uint8_t *certid, size_t certid_len, const uint8_t *der,
    size_t len, time_t this_update, int cstatus, uint64_t epoch);
void ca_ocsp_cache_drop(struct ca_ocsp_cache *c, const uint8_t *serial,
    size_t len);
size_t ca_ocsp_cache_stale(struct ca_ocsp_cache *c, time_t before,
    struct ca_ocsp_stale *out, size_t max);
void ca_ocsp_cache_stats(struct ca_ocsp_cache *c, struct ca_ocsp_stats *st);
#endif
