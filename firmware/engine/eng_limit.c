/*
 * Token buckets and source keys (eng_limit.h).  Pure functions over a
 * table and a clock, so tests/unit/engine runs them without a token.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eng_authfail.h"
#include "eng_limit.h"

static uint32_t
bucket_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static struct eng_bucket *
bucket_find(struct eng_buckets *t, const char *key, uint64_t now_ms,
    double burst)
{
	struct eng_bucket *b, *victim = NULL;
	uint32_t h = bucket_hash(key);
	size_t i;

	for (i = 0; i < ENG_LIMIT_PROBE; i++) {
		b = &t->slots[(h + i) % ENG_LIMIT_SLOTS];
		if (b->key[0] != '\0' && strcmp(b->key, key) == 0)
			return b;
		if (b->key[0] == '\0') {
			victim = b;
			break;
		}
		if (victim == NULL || b->last_ms < victim->last_ms)
			victim = b;
	}
	if (victim->key[0] == '\0')
		t->used++;
	memset(victim, 0, sizeof(*victim));
	/* Keys are made by eng_limit.c's callers; a longer one is cut. */
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	victim->tokens = burst;
	victim->last_ms = now_ms;
	return victim;
}

static void
bucket_add(struct eng_bucket *b, uint64_t now_ms, double rate, double burst)
{
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last_ms = now_ms;
}

static struct eng_bucket *
bucket_refill(struct eng_buckets *t, const char *key, uint64_t now_ms,
    double rate, double burst)
{
	struct eng_bucket *b = bucket_find(t, key, now_ms, burst);

	bucket_add(b, now_ms, rate, burst);
	return b;
}

/* Whole seconds until the bucket holds a token again, at least 1. */
static unsigned
bucket_wait(const struct eng_bucket *b, double rate)
{
	double w = (1.0 - b->tokens) / rate;
	unsigned s = (unsigned)w;

	if ((double)s < w)
		s++;
	return s > 0 ? s : 1;
}

/* Take from b, refilled to now_ms; rate > 0 and burst >= 1. */
static int
bucket_take(struct eng_bucket *b, double rate, unsigned *retry_s)
{
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 1;
	}
	*retry_s = bucket_wait(b, rate);
	return 0;
}

int
eng_bucket_take(struct eng_buckets *t, const char *key, uint64_t now_ms,
    double rate, double burst, unsigned *retry_s)
{
	*retry_s = 0;
	if (rate <= 0 || key == NULL || key[0] == '\0')
		return 1;
	if (burst < 1)
		burst = 1;
	return bucket_take(bucket_refill(t, key, now_ms, rate, burst), rate,
	    retry_s);
}

int
eng_bucket_take1(struct eng_bucket *b, uint64_t now_ms, double rate,
    double burst, unsigned *retry_s)
{
	*retry_s = 0;
	if (rate <= 0)
		return 1;
	if (burst < 1)
		burst = 1;
	if (b->key[0] == '\0') {	/* never used: starts full */
		snprintf(b->key, sizeof(b->key), "*");
		b->tokens = burst;
		b->last_ms = now_ms;
	}
	bucket_add(b, now_ms, rate, burst);
	return bucket_take(b, rate, retry_s);
}

void
eng_bucket_give(struct eng_buckets *t, const char *key, uint64_t now_ms,
    double rate, double burst)
{
	struct eng_bucket *b;

	if (rate <= 0 || key == NULL || key[0] == '\0')
		return;
	if (burst < 1)
		burst = 1;
	b = bucket_refill(t, key, now_ms, rate, burst);
	if ((b->tokens += 1.0) > burst)
		b->tokens = burst;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

void
eng_limit_source_key(const uint8_t *src, size_t len, char out[ENG_LIMIT_KEY])
{
	size_t i, n;

	out[0] = '\0';
	if (len == 16 && memcmp(src, v4mapped, sizeof(v4mapped)) == 0) {
		src += 12;
		len = 4;
	}
	if (len != 4 && len != 16)
		return;
	/* One IPv6 subscriber holds a /64: counting its addresses apart
	 * would give it 2^64 budgets. */
	n = len == 4 ? 4 : 8;
	out[0] = len == 4 ? '4' : '6';
	out[1] = ':';
	for (i = 0; i < n; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", src[i]);
}

void
eng_limit_source_text(const uint8_t *src, size_t len, char *out,
    size_t size)
{
	uint8_t a[16];
	size_t n;

	snprintf(out, size, "-");
	if (len == 16 && memcmp(src, v4mapped, sizeof(v4mapped)) == 0) {
		src += 12;
		len = 4;
	}
	if (len == 4)
		inet_ntop(AF_INET, src, out, (socklen_t)size);
	else if (len == 16) {
		memset(a, 0, sizeof(a));
		memcpy(a, src, 8);
		if (inet_ntop(AF_INET6, a, out, (socklen_t)size) != NULL) {
			n = strlen(out);
			snprintf(out + n, size - n, "/64");
		}
	}
}

struct eng_limit *
eng_limit_new(void)
{
	struct eng_limit *l;
	size_t i;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((l->af = calloc(1, sizeof(*l->af))) == NULL ||
	    pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l->af);
		free(l);
		return NULL;
	}
	for (i = 0; i < PROTO_C_MAX; i++)
		atomic_init(&l->counters[i], 0);
	return l;
}

void
eng_limit_free(struct eng_limit *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l->af);
	free(l);
}

void
eng_limit_count(struct eng_limit *l, int counter)
{
	if (counter >= 0 && counter < PROTO_C_MAX)
		atomic_fetch_add(&l->counters[counter], 1);
}

void
eng_limit_counters(struct eng_limit *l, uint64_t out[PROTO_C_MAX])
{
	size_t i;

	for (i = 0; i < PROTO_C_MAX; i++)
		out[i] = atomic_load(&l->counters[i]);
}

uint64_t
eng_limit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
