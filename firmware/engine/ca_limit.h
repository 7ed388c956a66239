/*
 * The engine's budgets (DESIGN rule 10), the same for every front end and
 * every HTTPS worker because there is one engine:
 *
 *	identity	requests per second of one authenticated client
 *			(its certificate, or its token), rate_identity
 *	tenant		requests per second into one tenant, charged only
 *			for clients that may act in it, rate_tenant
 *	auth failures	failed authentications per second per source
 *			address (IPv6: per /64), rate_auth_fail; a source
 *			over it is refused before its evidence is checked
 *	OCSP nonces	answers signed for a nonce per source,
 *			rate_ocsp_nonce (ca_revocation.c)
 *
 * Buckets live in fixed-size tables: a key is looked for in a short probe
 * window of its hash and, when the window is full, its least recently
 * used bucket is taken over.  A flood of keys only evicts buckets and
 * never grows memory; an evicted key starts with a full bucket, which
 * errs on the side of serving.
 *
 * Not thread-safe by itself: struct ca_limit holds the one mutex.
 */
#ifndef SIGNET_CA_LIMIT_H
#define SIGNET_CA_LIMIT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <signet/proto.h>

#define CA_LIMIT_SLOTS		4096	/* buckets per table */
#define CA_LIMIT_PROBE		16	/* slots looked at per key */
#define CA_LIMIT_KEY		80	/* bytes of a key, NUL included */

struct ca_bucket {
	char		key[CA_LIMIT_KEY];
	double		tokens;
	uint64_t	last_ms;
};

struct ca_buckets {
	struct ca_bucket	slots[CA_LIMIT_SLOTS];
	size_t			used;
};

/*
 * Take one token from key's bucket (refilled at rate per second up to
 * burst).  Returns 1 if taken, 0 if empty with *retry_s the whole seconds
 * until one is there (at least 1).  rate <= 0 or an empty key: no limit.
 */
int	ca_bucket_take(struct ca_buckets *t, const char *key, uint64_t now_ms,
	    double rate, double burst, unsigned *retry_s);
/* Give back a token taken for something that turned out free. */
void	ca_bucket_give(struct ca_buckets *t, const char *key, uint64_t now_ms,
	    double rate, double burst);

/*
 * "4:7f000001" for IPv4 (also IPv4-mapped IPv6), "6:" and the first 8
 * bytes in hex for IPv6 (one /64: one subscriber), "" for no address.
 */
void	ca_limit_source_key(const uint8_t *src, size_t len,
	    char out[CA_LIMIT_KEY]);
/* The same address for humans: "127.0.0.1", "2001:db8:1:2::/64", "-". */
void	ca_limit_source_text(const uint8_t *src, size_t len, char *out,
	    size_t size);

struct ca_af_table;

struct ca_limit {
	pthread_mutex_t		mu;
	struct ca_af_table	*af;	/* failures per source (ca_authfail.h) */
	uint64_t		af_tick_s;	/* last ca_engine_tick, loop only */
	struct ca_buckets	identity;
	struct ca_buckets	tenant;
	struct ca_buckets	authfail;
	struct ca_buckets	nonce;
	atomic_uint_fast64_t	counters[PROTO_C_MAX];
};

struct ca_limit *ca_limit_new(void);
void	ca_limit_free(struct ca_limit *l);
void	ca_limit_count(struct ca_limit *l, int counter);
/* Copy the counters out (HEALTH, for /metrics). */
void	ca_limit_counters(struct ca_limit *l, uint64_t out[PROTO_C_MAX]);
/* Milliseconds on a clock that never goes back. */
uint64_t ca_limit_now_ms(void);

#endif
