/*
 * ACME (RFC 8555), the engine's half (docs/acme.md): the front end only
 * routes a request to an op and forwards its body; here every JWS is
 * parsed and verified again, the nonce redeemed, the `url` compared with
 * the URL of the action asked for, and the answer (JSON, problem
 * document or PEM chain) made.  This file: the request frame (directory,
 * nonces, JWS), new accounts and EAB keys.  Account update, key change,
 * orders list: eng_acme_acct.c; orders, authorizations, challenges:
 * eng_acme_order.c; finalize and the certificate: eng_acme_fin.c;
 * revokeCert and renewal information: eng_acme_rev.c; the validator's
 * messages: eng_acme_va.c.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <signet/hsm.h>

#include "eng_acme.h"

#define ENG_ACME_NONCE_LIFE	600	/* seconds a nonce may wait */

/*
 * Nonces (docs/decisions.md "ACME nonces in a cluster").  On a ledger of
 * its own (SQLite) the engine is the only node: one store in memory,
 * keyed at random at first use.  On a shared ledger (PostgreSQL) every
 * node mints and checks nonces with the cluster's key, kept in the
 * ledger, and redeems a nonce by inserting its id into the ledger's
 * acme_nonces, so a nonce is used once whichever node sees it.
 */
static pthread_mutex_t eng_acme_mu = PTHREAD_MUTEX_INITIALIZER;
static struct acme_nonce_store *eng_acme_ns;
static uint8_t eng_acme_ckey[ACME_NONCE_KEY];
static int eng_acme_ckey_ok;

static int
eng_acme_nonce_store(void)
{
	uint8_t key[ACME_NONCE_KEY];

	if (eng_acme_ns != NULL)
		return 0;
	if ((eng_acme_ns = calloc(1, sizeof(*eng_acme_ns))) == NULL)
		return -1;
	if (RAND_priv_bytes(key, sizeof(key)) != 1 ||
	    acme_nonce_init(eng_acme_ns, key, sizeof(key),
	    ENG_ACME_NONCE_LIFE) != ACME_OK) {
		OPENSSL_cleanse(key, sizeof(key));
		free(eng_acme_ns);
		eng_acme_ns = NULL;
		return -1;
	}
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

static int
eng_acme_key_row(const struct ledger_val *v, size_t n, void *arg)
{
	if (n >= 1 && v[0].type == LV_BLOB && v[0].len == ACME_NONCE_KEY) {
		memcpy(arg, v[0].b, ACME_NONCE_KEY);
		eng_acme_ckey_ok = 1;
	}
	return 1;
}

/*
 * The cluster's nonce key, under eng_acme_mu: read it, or make one; the
 * first node to commit its key wins and every node reads that one.
 */
static int
eng_acme_cluster_key(struct eng_acme *a)
{
	struct ledger_acme_step st;
	uint8_t key[ACME_NONCE_KEY];
	int rc;

	if (eng_acme_ckey_ok)
		return 0;
	if (ledger_acme_read(a->e->ledger, LA_NONCE_KEY, NULL, 0,
	    eng_acme_key_row, eng_acme_ckey) != LEDGER_OK)
		return -1;
	if (eng_acme_ckey_ok)
		return 0;
	if (RAND_priv_bytes(key, sizeof(key)) != 1)
		return -1;
	memset(&st, 0, sizeof(st));
	st.stmt = LA_NONCE_KEY_INIT;
	st.n = 1;
	st.v[0] = ledger_vb(key, sizeof(key));
	rc = ledger_acme_write(a->e->ledger, &st, 1, NULL);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != LEDGER_OK || ledger_acme_read(a->e->ledger, LA_NONCE_KEY,
	    NULL, 0, eng_acme_key_row, eng_acme_ckey) != LEDGER_OK)
		return -1;
	return eng_acme_ckey_ok ? 0 : -1;
}

static void
eng_acme_nonce(struct eng_acme *a)
{
	uint8_t rnd[ACME_NONCE_RND];
	int ok;

	pthread_mutex_lock(&eng_acme_mu);
	if (ledger_acme_shared(a->e->ledger))
		ok = eng_acme_cluster_key(a) == 0 &&
		    RAND_bytes(rnd, sizeof(rnd)) == 1 &&
		    acme_nonce_mint(eng_acme_ckey, rnd,
		    (uint64_t)eng_engine_now(a->e), a->nonce) == ACME_OK;
	else
		ok = eng_acme_nonce_store() == 0 &&
		    acme_nonce_issue(eng_acme_ns,
		    (uint64_t)eng_engine_now(a->e), a->nonce) == ACME_OK;
	if (!ok)
		a->nonce[0] = '\0';
	pthread_mutex_unlock(&eng_acme_mu);
}

/*
 * A shared ledger's redeem: the tag and age checked here, then the id
 * inserted (sweeping a few expired ones), which fails on every node
 * once one has done it.  ACME_E_MEM: the ledger could not say.
 */
static int
eng_acme_redeem_shared(struct eng_acme *a, const char *nonce)
{
	struct ledger_acme_step st[2];
	uint8_t id[ACME_NONCE_ID];
	uint64_t expires, now = (uint64_t)eng_engine_now(a->e);
	int rc;

	pthread_mutex_lock(&eng_acme_mu);
	rc = eng_acme_cluster_key(a) != 0 ? ACME_E_MEM :
	    acme_nonce_check(eng_acme_ckey, now, ENG_ACME_NONCE_LIFE, nonce,
	    strlen(nonce), id, &expires);
	pthread_mutex_unlock(&eng_acme_mu);
	if (rc != ACME_OK)
		return rc;
	memset(st, 0, sizeof(st));
	st[0].stmt = LA_NONCE_SWEEP;
	st[0].n = 1;
	st[0].v[0] = ledger_vi((int64_t)now);
	st[1].stmt = LA_NONCE_USE;
	st[1].one = 1;
	st[1].n = 2;
	st[1].v[0] = ledger_vb(id, sizeof(id));
	st[1].v[1] = ledger_vi((int64_t)expires);
	rc = ledger_acme_write(a->e->ledger, st, 2, NULL);
	return rc == LEDGER_OK ? ACME_OK : rc == LEDGER_ERR_STATE ?
	    ACME_E_NONCE : ACME_E_MEM;
}

static int
eng_acme_redeem(struct eng_acme *a, const char *nonce)
{
	int rc = ACME_E_NONCE;

	if (ledger_acme_shared(a->e->ledger))
		return eng_acme_redeem_shared(a, nonce);
	pthread_mutex_lock(&eng_acme_mu);
	if (eng_acme_nonce_store() == 0)
		rc = acme_nonce_redeem(eng_acme_ns,
		    (uint64_t)eng_engine_now(a->e), nonce, strlen(nonce));
	pthread_mutex_unlock(&eng_acme_mu);
	return rc;
}

void
eng_acme_put(struct eng_acme *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(a->out + a->outlen, PROTO_MAX_BLOB - a->outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= PROTO_MAX_BLOB - a->outlen)
		a->overflow = 1;
	else
		a->outlen += (size_t)n;
}

/* A JSON string: quotes, backslashes and control characters escaped. */
void
eng_acme_jstr(struct eng_acme *a, const char *s)
{
	eng_acme_put(a, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			eng_acme_put(a, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			eng_acme_put(a, "\\u%04x", (unsigned char)*s);
		else
			eng_acme_put(a, "%c", *s);
	}
	eng_acme_put(a, "\"");
}

/* RFC 3339 in UTC, as RFC 8555 writes times. */
void
eng_acme_time(struct eng_acme *a, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
	eng_acme_jstr(a, buf);
}

/* The answer made so far, with a fresh nonce, into the reply. */
int
eng_acme_answer(struct eng_acme *a, int status, int ctype,
    const char *location)
{
	struct proto_acme_rep *m = &a->r->rep.u.acme;

	if (a->overflow)
		return eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
		    "answer too large");
	m->status = (uint16_t)status;
	m->ctype = (uint8_t)ctype;
	eng_fmt(m->location, sizeof(m->location), "%s",
	    location != NULL ? location : "");
	if (a->q->op != PROTO_ACME_DIRECTORY)
		eng_acme_nonce(a);
	eng_fmt(m->nonce, sizeof(m->nonce), "%s", a->nonce);
	/* RFC 8555 7.1: Link rel="index" on all but the directory. */
	if (a->q->op != PROTO_ACME_DIRECTORY && a->base[0] != '\0')
		eng_fmt(m->index, sizeof(m->index), "%s/directory", a->base);
	m->retry_after = a->retry_after;
	m->body.ptr = (const uint8_t *)a->out;
	m->body.len = a->outlen;
	a->r->mem[0] = a->out;
	a->out = NULL;
	return PROTO_R_OK;
}

static int	eng_acme_vproblem(struct eng_acme *, int, const char *,
		    enum acme_problem, const char *, va_list)
		    __attribute__((format(printf, 5, 0)));

static int
eng_acme_vproblem(struct eng_acme *a, int status, const char *location,
    enum acme_problem p, const char *fmt, va_list ap)
{
	char detail[ACME_MAX_DETAIL + 1];

	vsnprintf(detail, sizeof(detail), fmt, ap);
	a->overflow = 0;
	if (acme_problem_render(p, detail, a->out, PROTO_MAX_BLOB,
	    &a->outlen) != ACME_OK)
		a->outlen = 0;
	log_info("msg=\"acme refused\" label=%s op=%u problem=%s "
	    "detail=\"%s\"", a->q->label, a->q->op, acme_problem_type(p),
	    detail);
	return eng_acme_answer(a, status != 0 ? status :
	    acme_problem_status(p), PROTO_ACME_CT_PROBLEM, location);
}

int
eng_acme_problem(struct eng_acme *a, enum acme_problem p, const char *fmt,
    ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = eng_acme_vproblem(a, 0, NULL, p, fmt, ap);
	va_end(ap);
	return rc;
}

int
eng_acme_problem_at(struct eng_acme *a, int status, const char *location,
    enum acme_problem p, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = eng_acme_vproblem(a, status, location, p, fmt, ap);
	va_end(ap);
	return rc;
}

/* A fresh resource id: 128 random bits, base64url (docs/acme.md). */
int
eng_acme_newid(char out[ENG_ACME_ID_MAX + 1])
{
	uint8_t b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	return acme_b64url_encode(b, sizeof(b), out, ENG_ACME_ID_MAX + 1) ==
	    ACME_OK ? 0 : -1;
}

/* Resource ids from a path: base64url characters only. */
int
eng_acme_id_ok(const char *id)
{
	size_t n = strlen(id);

	/* + 2: a challenge URL's type suffix, "_d" or "_t" (eng_acme_chall.c) */
	return n > 0 && n <= ENG_ACME_ID_MAX + 2 &&
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == n;
}

/* Which directory: the label's profile, if it offers ACME. */
static int
eng_acme_directory_of(struct eng_acme *a)
{
	const struct sconf *c = a->rt->conf;
	const struct sconf_tenant *st;
	const struct sconf_profile *sp;

	if (a->q->label[0] == '\0' ||
	    sconf_est_label(c, a->q->label, &st, &sp) != 0 || !sp->acme ||
	    (a->t = eng_rt_tenant(a->rt, st->name)) == NULL)
		return -1;
	a->tenant = st->name;
	a->profile = sp->name;
	if (c->acme_base_url != NULL)
		eng_fmt(a->base, sizeof(a->base), "%s/acme/%s",
		    c->acme_base_url, a->q->label);
	else
		eng_fmt(a->base, sizeof(a->base), "https://%s/acme/%s",
		    c->listen_https != NULL ? c->listen_https : "localhost",
		    a->q->label);
	return 0;
}

static int
eng_acme_directory(struct eng_acme *a)
{
	eng_acme_put(a, "{\"newNonce\":\"%s/new-nonce\","
	    "\"newAccount\":\"%s/new-account\","
	    "\"newOrder\":\"%s/new-order\","
	    "\"revokeCert\":\"%s/revoke-cert\","
	    "\"keyChange\":\"%s/key-change\","
	    "\"renewalInfo\":\"%s/renewal-info\","
	    "\"meta\":{\"externalAccountRequired\":true}}", a->base, a->base,
	    a->base, a->base, a->base, a->base);
	return eng_acme_answer(a, 200, PROTO_ACME_CT_JSON, NULL);
}

/* The URL a request for this op must carry in its protected header. */
static void
eng_acme_url(const struct eng_acme *a, char *out, size_t size)
{
	const char *id = a->q->id;

	switch (a->q->op) {
	case PROTO_ACME_NEW_ACCOUNT:
		eng_fmt(out, size, "%s/new-account", a->base);
		break;
	case PROTO_ACME_NEW_ORDER:
		eng_fmt(out, size, "%s/new-order", a->base);
		break;
	case PROTO_ACME_ACCOUNT:
		eng_fmt(out, size, "%s/acct/%s", a->base, id);
		break;
	case PROTO_ACME_ORDER:
		eng_fmt(out, size, "%s/order/%s", a->base, id);
		break;
	case PROTO_ACME_FINALIZE:
		eng_fmt(out, size, "%s/order/%s/finalize", a->base, id);
		break;
	case PROTO_ACME_AUTHZ:
		eng_fmt(out, size, "%s/authz/%s", a->base, id);
		break;
	case PROTO_ACME_CHALLENGE:
		eng_fmt(out, size, "%s/chall/%s", a->base, id);
		break;
	case PROTO_ACME_CERT:
		eng_fmt(out, size, "%s/cert/%s", a->base, id);
		break;
	case PROTO_ACME_REVOKE:
		eng_fmt(out, size, "%s/revoke-cert", a->base);
		break;
	case PROTO_ACME_KEY_CHANGE:
		eng_fmt(out, size, "%s/key-change", a->base);
		break;
	case PROTO_ACME_ORDERS:	/* and its pages (eng_acme_orders) */
		eng_fmt(out, size, "%s/acct/%s/orders%s%s", a->base, id,
		    a->q->detail[0] != '\0' ? "/" : "", a->q->detail);
		break;
	default:
		out[0] = '\0';
		break;
	}
}

/*
 * Account keys, parsed (docs/decisions.md "Account keys cached by their
 * bytes"): d2i_PUBKEY runs OpenSSL's decoders, a large share of a JWS
 * request's CPU on OpenSSL 3.0.  The cache is keyed by the key's DER as
 * the account row holds it, which is read on every request as before: a
 * rolled key is other bytes (a miss), a deactivated account is refused
 * by its status, and another node's change is seen as soon as it is in
 * the ledger.  ENG_ACME_KEYS entries, the least recently used replaced.
 */
#define ENG_ACME_KEYS		64
#define ENG_ACME_KEY_DER	600	/* longer (RSA over 4096): not kept */

struct eng_acme_key {
	EVP_PKEY	*key;
	uint64_t	 used;
	size_t		 len;
	uint8_t		 der[ENG_ACME_KEY_DER];
};

static pthread_mutex_t eng_acme_key_mu = PTHREAD_MUTEX_INITIALIZER;
static struct eng_acme_key eng_acme_keys[ENG_ACME_KEYS];
static uint64_t eng_acme_key_clock;

/* The key of der (a reference the caller frees), or NULL. */
static EVP_PKEY *
eng_acme_key(const uint8_t *der, size_t len)
{
	struct eng_acme_key *k, *old;
	const uint8_t *p = der;
	EVP_PKEY *key = NULL;
	size_t i;

	if (len == 0 || len > ENG_ACME_KEY_DER)
		return d2i_PUBKEY(NULL, &p, (long)len);
	pthread_mutex_lock(&eng_acme_key_mu);
	for (i = 0; i < ENG_ACME_KEYS; i++) {
		k = &eng_acme_keys[i];
		if (k->key != NULL && k->len == len &&
		    memcmp(k->der, der, len) == 0) {
			k->used = ++eng_acme_key_clock;
			if (EVP_PKEY_up_ref(k->key) == 1)
				key = k->key;
			pthread_mutex_unlock(&eng_acme_key_mu);
			return key;
		}
	}
	pthread_mutex_unlock(&eng_acme_key_mu);
	if ((key = d2i_PUBKEY(NULL, &p, (long)len)) == NULL)
		return NULL;
	pthread_mutex_lock(&eng_acme_key_mu);
	/* Another thread may have put it in meanwhile: a second copy is
	 * harmless (the first found wins) and ages out. */
	old = &eng_acme_keys[0];
	for (i = 1; i < ENG_ACME_KEYS; i++)
		if (eng_acme_keys[i].used < old->used)
			old = &eng_acme_keys[i];
	if (EVP_PKEY_up_ref(key) == 1) {
		EVP_PKEY_free(old->key);
		old->key = key;
		old->len = len;
		memcpy(old->der, der, len);
		old->used = ++eng_acme_key_clock;
	}
	pthread_mutex_unlock(&eng_acme_key_mu);
	return key;
}

/* An account row (LA_ACCT_GET, LA_ACCT_BY_KEY) into a->acct. */
int
eng_acme_acct_row(const struct ledger_val *v, size_t n, void *arg)
{
	struct eng_acme_acct *ac = arg;

	if (n < 6 || v[4].type != LV_BLOB)
		return 1;
	eng_fmt(ac->id, sizeof(ac->id), "%s", v[0].s);
	eng_fmt(ac->tenant, sizeof(ac->tenant), "%s", v[1].s);
	eng_fmt(ac->profile, sizeof(ac->profile), "%s", v[2].s);
	eng_fmt(ac->status, sizeof(ac->status), "%s", v[3].s);
	eng_fmt(ac->contact, sizeof(ac->contact), "%s", v[5].s);
	EVP_PKEY_free(ac->key);
	ac->key = eng_acme_key(v[4].b, v[4].len);
	ac->found = 1;
	return 1;
}

/* Find the account of kid (the account URL) in this directory. */
static int
eng_acme_account_of(struct eng_acme *a, const char *kid)
{
	char prefix[ENG_ACME_BASE_MAX + 8];
	struct ledger_val args[2];
	size_t n;

	eng_fmt(prefix, sizeof(prefix), "%s/acct/", a->base);
	n = strlen(prefix);
	if (strncmp(kid, prefix, n) != 0 || !eng_acme_id_ok(kid + n))
		return eng_acme_problem(a, ACME_P_ACCOUNT_DOES_NOT_EXIST,
		    "kid is not an account of this directory");
	args[0] = ledger_vt(kid + n);
	args[1] = ledger_vt(a->q->label);
	if (ledger_acme_read(a->e->ledger, LA_ACCT_GET, args, 2,
	    eng_acme_acct_row, &a->acct) != LEDGER_OK)
		return eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
		    "ledger unavailable");
	if (!a->acct.found || a->acct.key == NULL)
		return eng_acme_problem(a, ACME_P_ACCOUNT_DOES_NOT_EXIST,
		    "no such account");
	if (strcmp(a->acct.status, "valid") != 0)
		return eng_acme_problem(a, ACME_P_UNAUTHORIZED,
		    "account is %s", a->acct.status);
	return -1;	/* found: go on */
}

/*
 * Every POST: the JWS parsed and verified here, whatever the front end
 * thought of it; the nonce redeemed; url the one of this action.
 * Returns -1 to go on, or the answer already made.
 */
static int
eng_acme_verify(struct eng_acme *a)
{
	char url[ENG_ACME_BASE_MAX + 64];
	int rc;

	if (a->q->body.len == 0)
		return eng_acme_problem(a, ACME_P_MALFORMED,
		    "this resource takes a JWS POST (RFC 8555 6.3)");
	rc = acme_jws_parse(a->q->body.ptr, a->q->body.len, ACME_JWS_OUTER,
	    &a->jws);
	if (rc != ACME_OK)
		return eng_acme_problem(a, acme_problem_for(rc), "JWS: %s",
		    acme_strerror(rc));
	if ((rc = eng_acme_redeem(a, a->jws->nonce)) == ACME_E_MEM)
		return eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
		    "nonce: the ledger cannot redeem it now");
	if (rc != ACME_OK)
		return eng_acme_problem(a, ACME_P_BAD_NONCE,
		    "nonce unknown, used or expired");
	eng_acme_url(a, url, sizeof(url));
	if (strcmp(a->jws->url, url) != 0)
		return eng_acme_problem(a, ACME_P_UNAUTHORIZED,
		    "JWS url is not the URL of this request");
	if (a->q->op == PROTO_ACME_NEW_ACCOUNT) {
		if (a->jws->jwk == NULL)
			return eng_acme_problem(a, ACME_P_MALFORMED,
			    "newAccount is signed with a jwk, not a kid");
	} else if (a->q->op == PROTO_ACME_REVOKE && a->jws->jwk != NULL) {
		/*
		 * RFC 8555 7.6: signed by the certificate's key; that the
		 * jwk is the certificate's is checked by eng_acme_revoke.
		 */
	} else {
		if (a->jws->kid == NULL)
			return eng_acme_problem(a, ACME_P_MALFORMED,
			    "this request is signed with a kid");
		if ((rc = eng_acme_account_of(a, a->jws->kid)) != -1)
			return rc;
	}
	rc = acme_jws_verify(a->jws, a->acct.key);
	if (rc != ACME_OK)
		return eng_acme_problem(a, acme_problem_for(rc),
		    "JWS signature: %s", acme_strerror(rc));
	return -1;
}

/* The EAB HMAC key of kid, derived in the HSM; never stored. */
static int
eng_acme_eab_key(struct eng_engine *e, const char *kid, uint8_t key[32])
{
	char idn[PROTO_MAX_PSK_ID + 1], tok[PROTO_MAX_TOKEN + 1];
	int rc;

	eng_fmt(idn, sizeof(idn), "eab-%s", kid);
	if ((rc = eng_token_derive(e->psk, idn, tok, sizeof(tok))) != HSM_OK)
		return rc;
	eng_sha256(tok, strlen(tok), key);
	OPENSSL_cleanse(tok, sizeof(tok));
	return HSM_OK;
}

struct eng_acme_eab_row {
	int	found;
	char	tenant[CA_MAX_ID + 1], profile[CA_MAX_ID + 1];
	char	label[PROTO_MAX_STR + 1];
	int64_t	expires;
	int	used;
};

static int
eng_acme_eab_row(const struct ledger_val *v, size_t n, void *arg)
{
	struct eng_acme_eab_row *er = arg;

	if (n < 5)
		return 1;
	er->found = 1;
	eng_fmt(er->tenant, sizeof(er->tenant), "%s", v[0].s);
	eng_fmt(er->profile, sizeof(er->profile), "%s", v[1].s);
	eng_fmt(er->label, sizeof(er->label), "%s", v[2].s);
	er->expires = v[3].i;
	er->used = v[4].type != LV_NULL;
	return 1;
}

/* RFC 8555 7.3.4: the EAB binds the account key to one EAB key id. */
static int
eng_acme_eab_check(struct eng_acme *a, const struct acme_jnode *eabn,
    char kid[ENG_ACME_ID_MAX + 1])
{
	struct eng_acme_eab_row er;
	struct acme_jws *eab = NULL;
	struct ledger_val arg;
	uint8_t key[32];
	int rc, ans = -1;

	memset(&er, 0, sizeof(er));
	if ((rc = acme_eab_parse(eabn, a->jws->url, a->jws->jwk, &eab)) !=
	    ACME_OK) {
		ans = eng_acme_problem(a, ACME_P_UNAUTHORIZED,
		    "externalAccountBinding: %s", acme_strerror(rc));
		goto out;
	}
	arg = ledger_vt(eab->kid);
	if (!eng_acme_id_ok(eab->kid) || strlen(eab->kid) > ENG_ACME_ID_MAX ||
	    ledger_acme_read(a->e->ledger, LA_EAB_GET, &arg, 1,
	    eng_acme_eab_row, &er) != LEDGER_OK || !er.found) {
		ans = eng_acme_problem(a, ACME_P_UNAUTHORIZED,
		    "unknown EAB key id");
		goto out;
	}
	if (strcmp(er.label, a->q->label) != 0 || er.used ||
	    (er.expires != 0 && er.expires <= eng_engine_now(a->e))) {
		ans = eng_acme_problem(a, ACME_P_UNAUTHORIZED, "EAB key %s",
		    er.used ? "already bound an account" : er.expires != 0 &&
		    er.expires <= eng_engine_now(a->e) ? "expired" :
		    "belongs to another directory");
		goto out;
	}
	if (eng_acme_eab_key(a->e, eab->kid, key) != HSM_OK) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
		    "token key unavailable");
		goto out;
	}
	rc = acme_eab_verify(eab, key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != ACME_OK) {
		ans = eng_acme_problem(a, ACME_P_UNAUTHORIZED,
		    "externalAccountBinding MAC does not verify");
		goto out;
	}
	eng_fmt(kid, ENG_ACME_ID_MAX + 1, "%s", eab->kid);
out:
	acme_jws_free(eab);
	return ans;
}

static int
eng_acme_new_account(struct eng_acme *a)
{
	struct acme_new_account na;
	struct acme_json *doc = NULL;
	struct ledger_acme_step st[2];
	struct ledger_val args[2];
	struct audit_record rec;
	char thumb[44], kid[ENG_ACME_ID_MAX + 1], actor[ENG_ID_ACTOR_MAX];
	char src[64], detail[ENG_ACME_ID_MAX + 128];
	uint8_t *der = NULL;
	int derlen, rc, ans;

	if ((rc = acme_new_account_parse(a->jws->payload, a->jws->payloadlen,
	    &na, &doc)) != ACME_OK) {
		ans = eng_acme_problem(a, ACME_P_MALFORMED, "newAccount: %s",
		    acme_strerror(rc));
		goto out;
	}
	if (acme_jwk_thumbprint_b64(a->jws->jwk, thumb) != ACME_OK) {
		ans = eng_acme_problem(a, ACME_P_BAD_PUBLIC_KEY, "thumbprint");
		goto out;
	}
	args[0] = ledger_vt(a->q->label);
	args[1] = ledger_vt(thumb);
	if (ledger_acme_read(a->e->ledger, LA_ACCT_BY_KEY, args, 2,
	    eng_acme_acct_row, &a->acct) != LEDGER_OK) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger");
		goto out;
	}
	/* RFC 8555 7.3.1: the key's account exists: answer it. */
	if (a->acct.found) {
		ans = eng_acme_account_answer(a, 200);
		goto out;
	}
	if (na.only_existing) {
		ans = eng_acme_problem(a, ACME_P_ACCOUNT_DOES_NOT_EXIST,
		    "no account with this key");
		goto out;
	}
	/* docs/acme.md: EAB required (no per-profile opt-out yet). */
	if (na.eab == NULL) {
		ans = eng_acme_problem(a, ACME_P_EXTERNAL_ACCOUNT_REQUIRED,
		    "this directory binds accounts with an EAB key");
		goto out;
	}
	if ((ans = eng_acme_eab_check(a, na.eab, kid)) != -1 ||
	    (ans = eng_acme_contacts(a, na.contact, na.ncontact)) != -1)
		goto out;
	if ((derlen = i2d_PUBKEY(a->jws->jwk, &der)) <= 0 ||
	    eng_acme_newid(a->acct.id) != 0) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "key");
		goto out;
	}
	memset(st, 0, sizeof(st));
	st[0].stmt = LA_EAB_USE;
	st[0].one = 1;
	st[0].n = 3;
	st[0].v[0] = ledger_vt(a->acct.id);
	st[0].v[1] = ledger_vt(kid);
	st[0].v[2] = ledger_vi(eng_engine_now(a->e));
	st[1].stmt = LA_ACCT_INSERT;
	st[1].n = 9;
	st[1].v[0] = ledger_vt(a->acct.id);
	st[1].v[1] = ledger_vt(a->q->label);
	st[1].v[2] = ledger_vt(a->tenant);
	st[1].v[3] = ledger_vt(a->profile);
	st[1].v[4] = ledger_vt(thumb);
	st[1].v[5] = ledger_vb(der, (size_t)derlen);
	st[1].v[6] = ledger_vt(a->acct.contact);
	st[1].v[7] = ledger_vt(kid);
	st[1].v[8] = ledger_vi(eng_engine_now(a->e));
	/* Rate limit: new accounts per source, once the EAB verified. */
	if ((ans = eng_acme_limit_account(a)) != -1)
		goto out;
	eng_fmt(actor, sizeof(actor), "acme:%s:%s", a->q->label, a->acct.id);
	memset(&rec, 0, sizeof(rec));
	rec.actor = actor;
	rec.role = "requester";
	rec.tenant = a->tenant;
	rec.action = AUDIT_CONFIG;
	rec.object = a->acct.id;
	rec.result = "ok";
	eng_audit_src(a->ev, src, sizeof(src));
	eng_fmt(detail, sizeof(detail), "acme account created with EAB key "
	    "src=%s cred=eab:%s", src, kid);
	rec.detail = detail;
	if ((rc = ledger_acme_write(a->e->ledger, st, 2, &rec)) != LEDGER_OK) {
		eng_acme_limit_account_undo(a);
		ans = rc == LEDGER_ERR_STATE ? eng_acme_problem(a,
		    ACME_P_UNAUTHORIZED, "EAB key already bound an account") :
		    eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger: %s",
		    ledger_strerror(rc));
		goto out;
	}
	eng_fmt(a->acct.status, sizeof(a->acct.status), "valid");
	log_info("msg=\"acme account\" label=%s account=%s eab=%s",
	    a->q->label, a->acct.id, kid);
	ans = eng_acme_account_answer(a, 201);
out:
	OPENSSL_free(der);
	acme_json_free(doc);
	return ans;
}

static int
eng_acme_dispatch(struct eng_acme *a)
{
	int rc;

	if (eng_acme_directory_of(a) != 0) {
		a->base[0] = '\0';
		return eng_acme_problem(a, ACME_P_MALFORMED,
		    "no ACME directory %s", a->q->label);
	}
	if (a->q->id[0] != '\0' && a->q->op != PROTO_ACME_RENEWAL_INFO &&
	    !eng_acme_id_ok(a->q->id))
		return eng_acme_problem(a, ACME_P_MALFORMED, "bad resource id");
	switch (a->q->op) {
	case PROTO_ACME_DIRECTORY:
		return eng_acme_directory(a);
	case PROTO_ACME_NONCE:
		return eng_acme_answer(a, 200, PROTO_ACME_CT_NONE, NULL);
	case PROTO_ACME_RENEWAL_INFO:
		return eng_acme_renewal_info(a);	/* GET, RFC 9773 4 */
	default:
		break;
	}
	if ((rc = eng_acme_verify(a)) != -1)
		return rc;
	switch (a->q->op) {
	case PROTO_ACME_NEW_ACCOUNT:
		return eng_acme_new_account(a);
	case PROTO_ACME_ACCOUNT:
		return eng_acme_account(a);
	case PROTO_ACME_KEY_CHANGE:
		return eng_acme_key_change(a);
	case PROTO_ACME_ORDERS:
		return eng_acme_orders(a);
	case PROTO_ACME_REVOKE:
		return eng_acme_revoke(a);
	default:
		return eng_acme_order_op(a);
	}
}

int
eng_h_acme(struct eng_engine *e, const struct eng_rt *rt, struct eng_ident *id,
    const struct proto_request *req, struct eng_reply *r)
{
	struct eng_acme a;
	int rc;

	(void)id;
	memset(&a, 0, sizeof(a));
	a.e = e;
	a.rt = rt;
	a.q = &req->u.acme;
	a.ev = &req->ev;
	a.r = r;
	if ((a.out = malloc(PROTO_MAX_BLOB)) == NULL)
		return eng_reply_fail(r, PROTO_R_INTERNAL, "out of memory");
	rc = eng_acme_dispatch(&a);
	free(a.out);
	acme_jws_free(a.jws);
	EVP_PKEY_free(a.acct.key);
	return rc;
}

/*
 * ACME_EAB: an operator of the tenant makes an EAB key for a profile
 * that offers ACME.  The kid is random; the HMAC key is derived from it
 * by the token key in the HSM (like enrollment tokens) and shown once.
 */
int
eng_h_acme_eab(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_ident *id, const struct proto_request *req,
    struct eng_reply *r)
{
	const struct proto_target_req *q = &req->u.target;
	const struct sconf_tenant *st;
	const struct sconf_profile *sp = NULL;
	struct proto_token_rep *tr = &r->rep.u.token;
	struct ledger_acme_step step;
	struct audit_record rec;
	uint8_t idb[8], key[32];
	char kid[2 * sizeof(idb) + 1], full[AUDIT_MAX_FIELD];
	size_t i;
	int rc;

	if (sconf_role_parse(id->role) != SCONF_ROLE_OPERATOR)
		return eng_reply_fail(r, PROTO_R_FORBIDDEN, "role %s may not "
		    "create ACME EAB keys", id->role);
	if (!eng_ident_in_tenant(id, q->tenant) ||
	    (st = sconf_tenant(rt->conf, q->tenant)) == NULL)
		return eng_reply_fail(r, PROTO_R_FORBIDDEN, "%s may not create "
		    "EAB keys in tenant %s", id->actor, q->tenant);
	for (i = 0; i < st->nprofiles; i++)
		if (strcmp(st->profiles[i].name, q->profile) == 0)
			sp = &st->profiles[i];
	if (sp == NULL || !sp->acme || sp->est_label == NULL)
		return eng_reply_fail(r, PROTO_R_NOT_FOUND, "tenant %s has no "
		    "profile %s with ACME (acme = true and an est_label)",
		    q->tenant, q->profile);
	if (!eng_psk_have_key(e->psk))
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE, "no token key");
	if (RAND_bytes(idb, sizeof(idb)) != 1)
		return eng_reply_fail(r, PROTO_R_INTERNAL, "no randomness");
	eng_hex(idb, sizeof(idb), kid);
	if ((rc = eng_acme_eab_key(e, kid, key)) != HSM_OK)
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE, "token key: %s",
		    hsm_strerror(rc));
	rc = acme_b64url_encode(key, sizeof(key), tr->secret,
	    sizeof(tr->secret));
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != ACME_OK)
		return eng_reply_fail(r, PROTO_R_INTERNAL, "encoding");
	memset(&step, 0, sizeof(step));
	step.stmt = LA_EAB_INSERT;
	step.n = 6;
	step.v[0] = ledger_vt(kid);
	step.v[1] = ledger_vt(q->tenant);
	step.v[2] = ledger_vt(q->profile);
	step.v[3] = ledger_vt(sp->est_label);
	step.v[4] = ledger_vi(eng_engine_now(e));
	step.v[5] = ledger_vi(0);
	memset(&rec, 0, sizeof(rec));
	rec.actor = id->actor;
	rec.role = id->role;
	rec.tenant = q->tenant;
	rec.action = AUDIT_CONFIG;
	rec.object = kid;
	rec.result = "ok";
	rec.detail = eng_audit_detail(id, "acme eab key created", full,
	    sizeof(full));
	if ((rc = ledger_acme_write(e->ledger, &step, 1, &rec)) != LEDGER_OK) {
		explicit_bzero(tr->secret, sizeof(tr->secret));
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE, "ledger: %s",
		    ledger_strerror(rc));
	}
	eng_fmt(tr->id, sizeof(tr->id), "%s", kid);
	tr->expires_at = 0;
	log_info("msg=\"acme eab key created\" tenant=%s profile=%s kid=%s "
	    "actor=\"%s\"", q->tenant, q->profile, kid, id->actor);
	return PROTO_R_OK;
}
