/*
 * The OCSP answer cache.  Signed answers are kept per (issuer, CertID
 * hash, serial) so a nonce-less request is answered with a memcpy and no
 * token operation.  Memory is bounded by an entry count: the least
 * recently used entry goes first.  The map's hash is keyed with random
 * bits so request patterns cannot be aimed at one bucket.  One mutex
 * guards everything; the critical sections are a lookup and a copy.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "ca_crl_local.h"

struct ca_ocsp_entry {
	struct ca_ocsp_entry *hnext;		/* bucket chain */
	struct ca_ocsp_entry *prev, *next;	/* LRU, most recent first */
	struct ca_ocsp_ckey key;
	uint64_t hash;
	uint8_t *der;
	size_t len;
	time_t this_update;
	int cstatus;
	uint8_t certid[CA_MAX_OCSP_CERTID];
	size_t certid_len;
};

struct ca_ocsp_cache {
	pthread_mutex_t lock;
	struct ca_ocsp_entry **buckets;
	size_t nbuckets;		/* power of two */
	struct ca_ocsp_entry *head, *tail;
	size_t n, max;
	uint64_t seed, epoch;
	uint64_t hits, misses, evictions, invalidations;
};

int
ca_ocsp_cache_new(size_t max, struct ca_ocsp_cache **out)
{
	struct ca_ocsp_cache *c;

	if (max == 0 || max > (1u << 26))
		return CA_ERR_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CA_ERR_NOMEM;
	c->max = max;
	for (c->nbuckets = 16; c->nbuckets < max; c->nbuckets *= 2)
		;
	if ((c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) == NULL ||
	    RAND_bytes((unsigned char *)&c->seed, sizeof(c->seed)) != 1) {
		free(c->buckets);
		free(c);
		return CA_ERR_NOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return CA_OK;
}

void
ca_ocsp_cache_free(struct ca_ocsp_cache *c)
{
	struct ca_ocsp_entry *e, *next;

	if (c == NULL)
		return;
	for (e = c->head; e != NULL; e = next) {
		next = e->next;
		free(e->der);
		free(e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c);
}

/* FNV-1a over the key, started from the random seed. */
static uint64_t
ca_ocsp_hash(const struct ca_ocsp_cache *c, const struct ca_ocsp_ckey *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 0xcbf29ce484222325ULL ^ c->seed;
	size_t i, n = offsetof(struct ca_ocsp_ckey, serial) + k->slen;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

static int
ca_ocsp_key_eq(const struct ca_ocsp_ckey *a, const struct ca_ocsp_ckey *b)
{
	return a->iss == b->iss && a->hash == b->hash && a->slen == b->slen &&
	    memcmp(a->serial, b->serial, a->slen) == 0;
}

static void
ca_lru_unlink(struct ca_ocsp_cache *c, struct ca_ocsp_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
ca_lru_front(struct ca_ocsp_cache *c, struct ca_ocsp_entry *e)
{
	e->next = c->head;
	e->prev = NULL;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static struct ca_ocsp_entry **
ca_ocsp_slot(struct ca_ocsp_cache *c, const struct ca_ocsp_ckey *k,
    uint64_t h)
{
	struct ca_ocsp_entry **pp = &c->buckets[h & (c->nbuckets - 1)];

	while (*pp != NULL && ((*pp)->hash != h ||
	    !ca_ocsp_key_eq(&(*pp)->key, k)))
		pp = &(*pp)->hnext;
	return pp;
}

/* Unlinks *pp from its bucket and the LRU list and frees it. */
static void
ca_ocsp_remove(struct ca_ocsp_cache *c, struct ca_ocsp_entry **pp)
{
	struct ca_ocsp_entry *e = *pp;

	*pp = e->hnext;
	ca_lru_unlink(c, e);
	free(e->der);
	free(e);
	c->n--;
}

int
ca_ocsp_cache_get(struct ca_ocsp_cache *c, const struct ca_ocsp_ckey *k,
    const uint8_t *certid, size_t certid_len, time_t now, int64_t fresh_secs,
    uint8_t **der, size_t *len, int *cstatus)
{
	struct ca_ocsp_entry *e;
	uint64_t h = ca_ocsp_hash(c, k);
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	e = *ca_ocsp_slot(c, k, h);
	/* RFC 6960 4.2.1: the answer echoes the CertID byte for byte. */
	if (e == NULL || now < e->this_update ||
	    now - e->this_update >= fresh_secs ||
	    e->certid_len != certid_len ||
	    memcmp(e->certid, certid, certid_len) != 0) {
		c->misses++;
		goto out;
	}
	if ((*der = malloc(e->len)) == NULL) {
		rc = -1;
		goto out;
	}
	memcpy(*der, e->der, e->len);
	*len = e->len;
	*cstatus = e->cstatus;
	ca_lru_unlink(c, e);
	ca_lru_front(c, e);
	c->hits++;
	rc = 1;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

uint64_t
ca_ocsp_cache_epoch(struct ca_ocsp_cache *c)
{
	uint64_t e;

	pthread_mutex_lock(&c->lock);
	e = c->epoch;
	pthread_mutex_unlock(&c->lock);
	return e;
}

static struct ca_ocsp_entry *
ca_ocsp_entry_new(const struct ca_ocsp_ckey *k, const uint8_t *certid,
    size_t certid_len, const uint8_t *der, size_t len)
{
	struct ca_ocsp_entry *e;

	if (certid_len > sizeof(e->certid) ||
	    (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->der = malloc(len)) == NULL) {
		free(e);
		return NULL;
	}
	memcpy(e->der, der, len);
	e->len = len;
	e->key = *k;
	memcpy(e->certid, certid, certid_len);
	e->certid_len = certid_len;
	return e;
}

/*
 * An answer whose ledger read started before the latest invalidation
 * may predate a revocation: it is not kept.
 */
int
ca_ocsp_cache_put(struct ca_ocsp_cache *c, const struct ca_ocsp_ckey *k,
    const uint8_t *certid, size_t certid_len, const uint8_t *der,
    size_t len, time_t this_update, int cstatus, uint64_t epoch)
{
	struct ca_ocsp_entry *e, **pp;
	uint64_t h = ca_ocsp_hash(c, k);

	if ((e = ca_ocsp_entry_new(k, certid, certid_len, der, len)) == NULL)
		return CA_ERR_NOMEM;
	e->hash = h;
	e->this_update = this_update;
	e->cstatus = cstatus;
	pthread_mutex_lock(&c->lock);
	if (epoch != c->epoch) {
		pthread_mutex_unlock(&c->lock);
		free(e->der);
		free(e);
		return CA_OK;
	}
	pp = ca_ocsp_slot(c, k, h);
	if (*pp != NULL)
		ca_ocsp_remove(c, pp);
	while (c->n >= c->max && c->tail != NULL) {
		ca_ocsp_remove(c, ca_ocsp_slot(c, &c->tail->key,
		    c->tail->hash));
		c->evictions++;
	}
	pp = &c->buckets[h & (c->nbuckets - 1)];
	e->hnext = *pp;
	*pp = e;
	ca_lru_front(c, e);
	c->n++;
	pthread_mutex_unlock(&c->lock);
	return CA_OK;
}

/* Every issuer's and hash algorithm's entry for the serial goes. */
void
ca_ocsp_cache_drop(struct ca_ocsp_cache *c, const uint8_t *serial,
    size_t len)
{
	struct ca_ocsp_ckey k;
	struct ca_ocsp_entry **pp;
	unsigned i, hsh;

	if (len == 0 || len > CA_MAX_OCSP_SERIAL)
		return;
	memset(&k, 0, sizeof(k));
	k.slen = (uint8_t)len;
	memcpy(k.serial, serial, len);
	pthread_mutex_lock(&c->lock);
	c->epoch++;
	c->invalidations++;
	for (i = 0; i < CA_MAX_OCSP_ISSUERS; i++) {
		for (hsh = CA_OCSP_SHA1; hsh <= CA_OCSP_SHA256; hsh++) {
			k.iss = (uint8_t)i;
			k.hash = (uint8_t)hsh;
			pp = ca_ocsp_slot(c, &k, ca_ocsp_hash(c, &k));
			if (*pp != NULL)
				ca_ocsp_remove(c, pp);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

/* Oldest-used first would refresh cold entries; walk from the hot end. */
size_t
ca_ocsp_cache_stale(struct ca_ocsp_cache *c, time_t before,
    struct ca_ocsp_stale *out, size_t max)
{
	struct ca_ocsp_entry *e;
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	for (e = c->head; e != NULL && n < max; e = e->next) {
		if (e->this_update > before)
			continue;
		out[n].key = e->key;
		memcpy(out[n].certid, e->certid, e->certid_len);
		out[n].certid_len = e->certid_len;
		n++;
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

void
ca_ocsp_cache_stats(struct ca_ocsp_cache *c, struct ca_ocsp_stats *st)
{
	pthread_mutex_lock(&c->lock);
	st->hits = c->hits;
	st->misses = c->misses;
	st->evictions = c->evictions;
	st->invalidations = c->invalidations;
	st->entries = c->n;
	pthread_mutex_unlock(&c->lock);
}
