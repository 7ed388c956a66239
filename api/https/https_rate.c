/*
 * Token-bucket rate limits per client identity and per tenant.  The table
 * has a fixed size: a key is looked for in a short probe window of its
 * hash, and when the window is full its least recently used bucket is
 * taken over.  A client that floods us with identities only evicts
 * buckets, never grows memory; an evicted client starts with a full
 * bucket, which errs on the side of serving.
 */
#include <string.h>

#include "https.h"

#define RATE_PROBE	16

static uint32_t
rate_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

void
https_rate_init(struct https_rate *r, double rate, double burst)
{
	memset(r, 0, sizeof(*r));
	r->rate = rate;
	r->burst = burst >= 1 ? burst : 1;
}

static struct https_bucket *
rate_find(struct https_rate *r, const char *key, uint64_t now_ms)
{
	struct https_bucket *b, *victim = NULL;
	uint32_t h = rate_hash(key);
	size_t i;

	for (i = 0; i < RATE_PROBE; i++) {
		b = &r->slots[(h + i) % HTTPS_RATE_SLOTS];
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
		r->used++;
	memset(victim, 0, sizeof(*victim));
	/* Keys are bounded by the caller; a longer one is cut, not refused. */
	strncpy(victim->key, key, sizeof(victim->key) - 1);
	victim->tokens = r->burst;
	victim->last_ms = now_ms;
	return victim;
}

int
https_rate_take(struct https_rate *r, const char *key, uint64_t now_ms,
    unsigned *retry_s)
{
	struct https_bucket *b;
	double wait;

	*retry_s = 0;
	if (r->rate <= 0 || key == NULL || key[0] == '\0')
		return 1;
	b = rate_find(r, key, now_ms);
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * r->rate / 1000.0;
		if (b->tokens > r->burst)
			b->tokens = r->burst;
	}
	b->last_ms = now_ms;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 1;
	}
	wait = (1.0 - b->tokens) / r->rate;
	*retry_s = (unsigned)wait + 1;
	return 0;
}
