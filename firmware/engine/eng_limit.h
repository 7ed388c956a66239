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
 *			rate_ocsp_nonce (eng_revocation.c), and by all
 *			sources together, rate_ocsp_sign (one bucket)
 *
 * Buckets live in fixed-size tables: a key is looked for in a short probe
 * window of its hash and, when the window is full, its least recently
 * used bucket is taken over.  A flood of keys only evicts buckets and
 * never grows memory; an evicted key starts with a full bucket, which
 * errs on the side of serving.
 *
 * Not thread-safe by itself: struct eng_limit holds the one mutex.
 */
#ifndef SIGNET_ENG_LIMIT_H
#define SIGNET_ENG_LIMIT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <signet/proto.h>

#define ENG_LIMIT_SLOTS		4096	/* buckets per table */
#define ENG_LIMIT_PROBE		16	/* slots looked at per key */
#define ENG_LIMIT_KEY		80	/* bytes of a key, NUL included */

struct eng_bucket {
	char		key[ENG_LIMIT_KEY];
	double		tokens;
	uint64_t	last_ms;
};

struct eng_buckets {
	struct eng_bucket	slots[ENG_LIMIT_SLOTS];
	size_t			used;
};

/*
 * Take one token from key's bucket (refilled at rate per second up to
 * burst).  Returns 1 if taken, 0 if empty with *retry_s the whole seconds
 * until one is there (at least 1).  rate <= 0 or an empty key: no limit.
 */
int	eng_bucket_take(struct eng_buckets *t, const char *key, uint64_t now_ms,
	    double rate, double burst, unsigned *retry_s);
/*
 * The same for one bucket of its own (the appliance-wide ones), which no
 * flood of keys can evict; a zeroed bucket starts full.
 */
int	eng_bucket_take1(struct eng_bucket *b, uint64_t now_ms, double rate,
	    double burst, unsigned *retry_s);
/* Give back a token taken for something that turned out free. */
void	eng_bucket_give(struct eng_buckets *t, const char *key, uint64_t now_ms,
	    double rate, double burst);

/*
 * "4:7f000001" for IPv4 (also IPv4-mapped IPv6), "6:" and the first 8
 * bytes in hex for IPv6 (one /64: one subscriber), "" for no address.
 */
void	eng_limit_source_key(const uint8_t *src, size_t len,
	    char out[ENG_LIMIT_KEY]);
/* The same address for humans: "127.0.0.1", "2001:db8:1:2::/64", "-". */
void	eng_limit_source_text(const uint8_t *src, size_t len, char *out,
	    size_t size);

struct eng_af_table;

struct eng_limit {
	pthread_mutex_t		mu;
	struct eng_af_table	*af;	/* failures per source (eng_authfail.h) */
	uint64_t		af_tick_s;	/* last eng_engine_tick, loop only */
	struct eng_buckets	identity;
	struct eng_buckets	tenant;
	struct eng_buckets	authfail;
	struct eng_buckets	nonce;
	struct eng_bucket	ocsp_all;	/* rate_ocsp_sign */
	atomic_uint_fast64_t	counters[PROTO_C_MAX];
};

struct eng_limit *eng_limit_new(void);
void	eng_limit_free(struct eng_limit *l);
void	eng_limit_count(struct eng_limit *l, int counter);
/* Copy the counters out (HEALTH, for /metrics). */
void	eng_limit_counters(struct eng_limit *l, uint64_t out[PROTO_C_MAX]);
/* Milliseconds on a clock that never goes back. */
uint64_t eng_limit_now_ms(void);

#endif
