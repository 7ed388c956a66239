/*
 * Verified client identities, cached per runtime (issue 17).  Deriving an
 * identity from a certificate chain parses every certificate (in OpenSSL
 * 3.0, through its key decoders under global locks), verifies the chain
 * and, for a certificate we issued, reads its ledger row: under EST load
 * that was a quarter of the engine's time, for the same few chains again
 * and again on keep-alive connections.
 *
 * An entry is keyed by the channel kind and the SHA-256 of the chain
 * exactly as presented (each certificate with its length), and holds what
 * eng_ident_derive found: kind, actor, role, mapping, tenant, profile and
 * a reference to the parsed leaf.  It is used until the earliest of:
 *
 *	- the notAfter of any certificate of the verified chain;
 *	- ENG_IDC_TTL, at most half of revocation.freshness: a revocation
 *	  made by another node on a shared ledger reaches this cache within
 *	  the bound a relying party gets from OCSP and CRLs;
 *	- the revocation of its serial here (eng_ident_revoked, called where
 *	  the engine revokes), which drops it at once;
 *	- a configuration reload: the cache belongs to the runtime, and a
 *	  new runtime starts empty.
 *
 * A revocation that races a derivation cannot leave a stale entry: the
 * derivation reads the cache's generation before it reads the ledger and
 * stores its result only if no revocation bumped it meanwhile.  Failures
 * are never cached.  Bounded: ENG_IDC_SLOTS entries, direct-mapped (a
 * colliding chain replaces the older one), each a few hundred bytes plus
 * the leaf it references.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "eng_engine_local.h"

#define ENG_IDC_SLOTS		512	/* entries, a power of two */
#define ENG_IDC_TTL		30	/* seconds, at most */

struct eng_idc_entry {
	uint8_t			 key[32];
	int			 used;
	time_t			 until;		/* usable while now < until */
	uint8_t			 serial[LEDGER_SERIAL_MAX];
	size_t			 serial_len;
	enum eng_id_kind	 kind;
	char			 actor[ENG_ID_ACTOR_MAX];
	char			 role[CA_MAX_ID + 1];
	const struct sconf_client *client;
	char			 tenant[CA_MAX_ID + 1];
	char			 profile[CA_MAX_ID + 1];
	X509			*leaf;		/* a reference of its own */
};

struct eng_idcache {
	pthread_mutex_t		 lock;
	uint64_t		 gen;		/* bumped by each revocation */
	EVP_MD			*sha256;	/* fetched once */
	struct eng_idc_entry	*slots;		/* ENG_IDC_SLOTS */
};

struct eng_idcache *
eng_idcache_new(void)
{
	struct eng_idcache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->slots = calloc(ENG_IDC_SLOTS, sizeof(*c->slots))) == NULL ||
	    (c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		free(c->slots);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void
eng_idc_drop(struct eng_idc_entry *s)
{
	X509_free(s->leaf);
	explicit_bzero(s, sizeof(*s));
}

void
eng_idcache_free(struct eng_idcache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < ENG_IDC_SLOTS; i++)
		eng_idc_drop(&c->slots[i]);
	free(c->slots);
	EVP_MD_free(c->sha256);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The cache key of a chain presented on a channel of kind peer; 0 or -1. */
int
eng_idcache_key(struct eng_idcache *c, int peer, const struct proto_chain *ch,
    uint8_t key[32])
{
	EVP_MD_CTX *md = NULL;
	uint8_t hdr[5];
	size_t i;
	int rc = -1;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, c->sha256, NULL) != 1)
		goto out;
	hdr[0] = (uint8_t)peer;
	if (EVP_DigestUpdate(md, hdr, 1) != 1)
		goto out;
	for (i = 0; i < ch->ncerts; i++) {
		hdr[0] = (uint8_t)(ch->certs[i].len >> 24);
		hdr[1] = (uint8_t)(ch->certs[i].len >> 16);
		hdr[2] = (uint8_t)(ch->certs[i].len >> 8);
		hdr[3] = (uint8_t)ch->certs[i].len;
		if (EVP_DigestUpdate(md, hdr, 4) != 1 ||
		    EVP_DigestUpdate(md, ch->certs[i].ptr, ch->certs[i].len) !=
		    1)
			goto out;
	}
	if (EVP_DigestFinal_ex(md, key, NULL) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

static struct eng_idc_entry *
eng_idc_slot(struct eng_idcache *c, const uint8_t key[32])
{
	return &c->slots[(key[0] | (size_t)key[1] << 8) &
	    (ENG_IDC_SLOTS - 1)];
}

int
eng_idcache_get(struct eng_idcache *c, const uint8_t key[32], time_t now,
    struct eng_ident *id, uint64_t *gen)
{
	struct eng_idc_entry *s;
	int hit = 0;

	pthread_mutex_lock(&c->lock);
	*gen = c->gen;
	s = eng_idc_slot(c, key);
	if (s->used && now >= s->until)
		eng_idc_drop(s);
	else if (s->used && memcmp(s->key, key, sizeof(s->key)) == 0 &&
	    X509_up_ref(s->leaf) == 1) {
		id->kind = s->kind;
		memcpy(id->actor, s->actor, sizeof(id->actor));
		memcpy(id->role, s->role, sizeof(id->role));
		id->client = s->client;
		memcpy(id->tenant, s->tenant, sizeof(id->tenant));
		memcpy(id->profile, s->profile, sizeof(id->profile));
		id->leaf = s->leaf;
		hit = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* Seconds from now to t, or -1 if t cannot be read or is not after now. */
static time_t
eng_idc_left(const ASN1_TIME *t, time_t now)
{
	ASN1_TIME *n = ASN1_TIME_set(NULL, now);
	int days, secs;
	time_t left = -1;

	if (n != NULL && ASN1_TIME_diff(&days, &secs, n, t) == 1 &&
	    (days > 0 || (days == 0 && secs > 0)))
		left = (time_t)days * 86400 + secs;
	ASN1_TIME_free(n);
	return left;
}

/*
 * Whether any revocation happened since gen (read by eng_idcache_get),
 * and if not, how long id may be used: up to the TTL and the earliest
 * notAfter of chain (or of id's leaf alone).
 */
void
eng_idcache_put(struct eng_idcache *c, const struct eng_rt *rt,
    const uint8_t key[32], uint64_t gen, time_t now, STACK_OF(X509) *chain,
    const struct eng_ident *id)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(id->leaf);
	struct eng_idc_entry *s;
	int64_t fresh = eng_rev_freshness(rt);
	time_t ttl = fresh / 2 < ENG_IDC_TTL ? (time_t)(fresh / 2) :
	    ENG_IDC_TTL, left;
	int i, n = chain != NULL ? sk_X509_num(chain) : 0;

	if (ttl < 1 || sn->length < 1 || sn->length > LEDGER_SERIAL_MAX)
		return;
	if ((left = eng_idc_left(X509_get0_notAfter(id->leaf), now)) < 0)
		return;
	ttl = left < ttl ? left : ttl;
	for (i = 0; i < n; i++) {
		if ((left = eng_idc_left(X509_get0_notAfter(
		    sk_X509_value(chain, i)), now)) < 0)
			return;
		ttl = left < ttl ? left : ttl;
	}
	pthread_mutex_lock(&c->lock);
	if (c->gen == gen && X509_up_ref(id->leaf) == 1) {
		s = eng_idc_slot(c, key);
		eng_idc_drop(s);
		memcpy(s->key, key, sizeof(s->key));
		s->used = 1;
		s->until = now + ttl;
		s->serial_len = (size_t)sn->length;
		memcpy(s->serial, sn->data, s->serial_len);
		s->kind = id->kind;
		memcpy(s->actor, id->actor, sizeof(s->actor));
		memcpy(s->role, id->role, sizeof(s->role));
		s->client = id->client;
		memcpy(s->tenant, id->tenant, sizeof(s->tenant));
		memcpy(s->profile, id->profile, sizeof(s->profile));
		s->leaf = id->leaf;
	}
	pthread_mutex_unlock(&c->lock);
}

void
eng_ident_revoked(const struct eng_rt *rt, const uint8_t *serial, size_t len)
{
	struct eng_idcache *c = rt->idc;
	size_t i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->gen++;
	for (i = 0; i < ENG_IDC_SLOTS; i++)
		if (c->slots[i].used && c->slots[i].serial_len == len &&
		    memcmp(c->slots[i].serial, serial, len) == 0)
			eng_idc_drop(&c->slots[i]);
	pthread_mutex_unlock(&c->lock);
}

/*
 * Entries past their time are dropped when a lookup meets them, but a
 * slot nobody looks up again keeps its parsed leaf: with certificates
 * renewed every few hours the 512 slots fill with dead leaves (~3 MiB,
 * issue 14's soak).  The refresh thread sweeps them once a minute, so
 * the cache holds what is live.
 */
void
eng_idcache_sweep(const struct eng_rt *rt, time_t now)
{
	struct eng_idcache *c = rt->idc;
	size_t i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < ENG_IDC_SLOTS; i++)
		if (c->slots[i].used && now >= c->slots[i].until)
			eng_idc_drop(&c->slots[i]);
	pthread_mutex_unlock(&c->lock);
}
