/*
 * The configuration in the engine's terms (signet/engine.h, eng_rt):
 * issuers with their token keys and certificates, tenants and profiles,
 * and the two trust stores client evidence is checked against.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <signet/hsm.h>
#include <signet/sconf_client.h>

#include "eng_engine_local.h"
#include "eng_rt_local.h"

/* Expand a URL template's single "%s" with the issuer name, by hand. */
static int
eng_rt_url(const char *tmpl, const char *name, char *out, size_t size)
{
	const char *pct;
	int n;

	out[0] = '\0';
	if (tmpl == NULL)
		return 0;
	if ((pct = strstr(tmpl, "%s")) == NULL)
		n = snprintf(out, size, "%s", tmpl);
	else
		n = snprintf(out, size, "%.*s%s%s", (int)(pct - tmpl), tmpl,
		    name, pct + 2);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int
eng_rt_der(struct eng_rt_issuer *ri, X509 *x)
{
	unsigned char *der = NULL;
	int len;

	if (ri->nder >= 1 + CA_MAX_CHAIN || (len = i2d_X509(x, &der)) <= 0)
		return -1;
	ri->der[ri->nder] = der;
	ri->der_len[ri->nder++] = (size_t)len;
	return 0;
}

/* Every certificate of a PEM file, in order; at most max. */
static int
eng_rt_read_pem(const char *path, X509 **v, size_t max, size_t *n)
{
	FILE *f = NULL;
	X509 *x;
	int rc = -1;

	*n = 0;
	if (path == NULL)
		return 0;
	if ((f = fopen(path, "r")) == NULL)
		goto out;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (*n >= max) {
			X509_free(x);
			goto out;
		}
		v[(*n)++] = x;
	}
	ERR_clear_error();
	rc = *n > 0 ? 0 : -1;
out:
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
eng_rt_issuer(const struct sconf *conf, const struct sconf_tenant *st,
    const struct sconf_issuer *si, struct hsm *hsm, struct eng_rt_issuer *ri,
    char *err, size_t errlen)
{
	X509 *cert[1] = { NULL }, *chain[CA_MAX_CHAIN];
	char u[3][CA_MAX_URL + 1];
	struct ca_err cerr;
	size_t i, n = 0, nchain = 0;
	int hrc, rc = -1;

	if ((hrc = hsm_key_find(hsm, si->key_label, NULL, 0, &ri->key)) !=
	    HSM_OK) {
		eng_fmt(err, errlen, "tenant %s issuer %s: key \"%s\": %s",
		    st->name, si->name, si->key_label, hsm_strerror(hrc));
		goto out;
	}
	if (ca_signer_hsm(ri->key, &ri->signer) != CA_OK) {
		eng_fmt(err, errlen, "tenant %s issuer %s: key \"%s\" cannot "
		    "sign certificates", st->name, si->name, si->key_label);
		goto out;
	}
	if (eng_rt_read_pem(si->cert_file, cert, 1, &n) != 0 ||
	    eng_rt_read_pem(si->chain_file, chain, CA_MAX_CHAIN, &nchain) !=
	    0) {
		eng_fmt(err, errlen, "tenant %s issuer %s: cannot read "
		    "certificates from %s or %s", st->name, si->name,
		    si->cert_file, si->chain_file ? si->chain_file : "-");
		goto out;
	}
	if (ca_issuer_init(&ri->iss, si->name, ri->signer, cert[0], chain,
	    nchain, &cerr) != CA_OK) {
		eng_fmt(err, errlen, "tenant %s issuer %s: %s", st->name,
		    si->name, cerr.msg);
		goto out;
	}
	ri->ready = 1;
	if (eng_rt_url(conf->url_ca_issuers, si->name, u[0], sizeof(u[0])) ||
	    eng_rt_url(conf->url_ocsp, si->name, u[1], sizeof(u[1])) ||
	    eng_rt_url(conf->url_crl, si->name, u[2], sizeof(u[2])) ||
	    ca_issuer_set_urls(&ri->iss, u[0], u[1], u[2]) != CA_OK) {
		eng_fmt(err, errlen, "tenant %s issuer %s: bad AIA or CRL "
		    "URL", st->name, si->name);
		goto out;
	}
	/* Issue 19: delta CRLs, named by freshestCRL. */
	if (si->delta_crl && (eng_rt_url(conf->url_delta_crl, si->name, u[2],
	    sizeof(u[2])) || ca_issuer_set_delta(&ri->iss, u[2],
	    si->delta_in_certs) != CA_OK)) {
		eng_fmt(err, errlen, "tenant %s issuer %s: bad delta CRL URL",
		    st->name, si->name);
		goto out;
	}
	if (eng_rt_der(ri, cert[0]) != 0)
		goto out;
	for (i = 0; i < nchain; i++)
		if (eng_rt_der(ri, chain[i]) != 0)
			goto out;
	rc = 0;
out:
	X509_free(cert[0]);
	for (i = 0; i < nchain; i++)
		X509_free(chain[i]);
	return rc;
}

static int
eng_rt_tenant_build(const struct sconf *conf, const struct sconf_tenant *st,
    struct hsm *hsm, struct eng_rt_tenant *rt, char *err, size_t errlen)
{
	const struct ca_issuer *iss;
	size_t i, k;

	rt->conf = st;
	if (ca_tenant_init(&rt->t, st->name) != CA_OK ||
	    st->nissuers > CA_MAX_ISSUERS || st->nprofiles > CA_MAX_PROFILES) {
		eng_fmt(err, errlen, "tenant %s: bad name or too many issuers"
		    " or profiles", st->name);
		return -1;
	}
	rt->issuers = calloc(st->nissuers + 1, sizeof(*rt->issuers));
	rt->profiles = calloc(st->nprofiles + 1, sizeof(*rt->profiles));
	if (rt->issuers == NULL || rt->profiles == NULL)
		return -1;
	for (i = 0; i < st->nissuers; i++, rt->nissuers++) {
		if (eng_rt_issuer(conf, st, &st->issuers[i], hsm,
		    &rt->issuers[i], err, errlen) != 0)
			return -1;
		ca_tenant_add_issuer(&rt->t, &rt->issuers[i].iss);
	}
	for (i = 0; i < st->nprofiles; i++) {
		iss = NULL;
		for (k = 0; k < rt->nissuers; k++)
			if (strcmp(rt->issuers[k].iss.name,
			    st->profiles[i].issuer) == 0)
				iss = &rt->issuers[k].iss;
		if (iss == NULL) {
			eng_fmt(err, errlen, "tenant %s profile %s: no issuer"
			    " \"%s\"", st->name, st->profiles[i].name,
			    st->profiles[i].issuer);
			return -1;
		}
		if (eng_rt_profile(st, &st->profiles[i], iss,
		    &rt->profiles[i], err, errlen) != 0)
			return -1;
		eng_rt_profile_warn(st, &rt->profiles[i]);
		rt->nprofiles++;
		ca_tenant_add_profile(&rt->t, &rt->profiles[i]);
	}
	return 0;
}

/* Client CAs from files; our own issuers are anchors of their own. */
static int
eng_rt_stores(struct eng_rt *rt, char *err, size_t errlen)
{
	const struct sconf *c = rt->conf;
	struct eng_rt_issuer *ri;
	size_t i, k, j;

	if ((rt->clients = X509_STORE_new()) == NULL ||
	    (rt->issued = X509_STORE_new()) == NULL)
		return -1;
	for (i = 0; i < c->tls_client_ca.n; i++)
		if (X509_STORE_load_file(rt->clients, c->tls_client_ca.v[i]) !=
		    1) {
			ERR_clear_error();
			eng_fmt(err, errlen, "tls client_ca %s: cannot read "
			    "certificates", c->tls_client_ca.v[i]);
			return -1;
		}
	if (sconf_trust_load(c, &rt->trust, err, errlen) != 0)
		return -1;
	for (i = 0; i < rt->ntenants; i++)
		for (k = 0; k < rt->tenants[i].nissuers; k++) {
			ri = &rt->tenants[i].issuers[k];
			if (X509_STORE_add_cert(rt->issued, ri->iss.cert) != 1)
				ERR_clear_error();
			for (j = 0; j < ri->iss.nchain; j++)
				if (X509_STORE_add_cert(rt->issued,
				    ri->iss.chain[j]) != 1)
					ERR_clear_error();
		}
	return 0;
}

static void
eng_rt_free(struct eng_rt *rt)
{
	struct eng_rt_tenant *t;
	struct eng_rt_issuer *ri;
	size_t i, k, j;

	if (rt == NULL)
		return;
	for (i = 0; i < rt->ntenants; i++) {
		t = &rt->tenants[i];
		for (k = 0; t->issuers != NULL && k < t->nissuers + 1; k++) {
			ri = &t->issuers[k];
			if (ri->ready)
				ca_issuer_clear(&ri->iss);
			ca_signer_free(ri->signer);
			hsm_key_free(ri->key);
			for (j = 0; j < ri->nder; j++)
				OPENSSL_free(ri->der[j]);
		}
		free(t->issuers);
		free(t->profiles);
	}
	free(rt->tenants);
	X509_STORE_free(rt->clients);
	X509_STORE_free(rt->issued);
	sconf_trust_free(rt->trust);
	eng_rev_free(rt->rev);
	eng_idcache_free(rt->idc);
	if (rt->release != NULL && rt->conf != NULL)
		rt->release((struct sconf *)rt->conf);
	free(rt);
}

int
eng_rt_build(const struct sconf *conf, struct hsm *hsm,
    void (*release)(struct sconf *), struct eng_rt **out, char *err,
    size_t errlen)
{
	struct eng_rt *rt = NULL;
	size_t i;
	int rc = -1;

	eng_fmt(err, errlen, "out of memory");
	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		goto out;
	atomic_init(&rt->refs, 1);
	rt->conf = conf;
	if ((rt->tenants = calloc(conf->ntenants + 1,
	    sizeof(*rt->tenants))) == NULL)
		goto out;
	for (i = 0; i < conf->ntenants; i++) {
		rt->ntenants++;
		if (eng_rt_tenant_build(conf, &conf->tenants[i], hsm,
		    &rt->tenants[i], err, errlen) != 0)
			goto out;
	}
	if (eng_rt_stores(rt, err, errlen) != 0)
		goto out;
	if ((rt->rev = eng_rev_new()) == NULL ||
	    (rt->idc = eng_idcache_new()) == NULL)
		goto out;
	rt->release = release;
	*out = rt;
	rt = NULL;
	rc = 0;
out:
	/* On failure the caller still owns conf: release is not yet set. */
	eng_rt_free(rt);
	return rc;
}

struct eng_rt *
eng_rt_ref(struct eng_rt *rt)
{
	atomic_fetch_add(&rt->refs, 1);
	return rt;
}

void
eng_rt_unref(struct eng_rt *rt)
{
	if (rt != NULL && atomic_fetch_sub(&rt->refs, 1) == 1)
		eng_rt_free(rt);
}

struct eng_rt_tenant *
eng_rt_tenant(const struct eng_rt *rt, const char *name)
{
	size_t i;

	for (i = 0; i < rt->ntenants; i++)
		if (strcmp(rt->tenants[i].t.name, name) == 0)
			return &rt->tenants[i];
	return NULL;
}

const struct eng_rt_issuer *
eng_rt_issuer_of(const struct eng_rt_tenant *t, const struct ca_issuer *iss)
{
	size_t i;

	for (i = 0; i < t->nissuers; i++)
		if (&t->issuers[i].iss == iss)
			return &t->issuers[i];
	return NULL;
}

const struct eng_rt_issuer *
eng_rt_issuer_by_cert(const struct eng_rt *rt, X509 *x,
    const struct eng_rt_tenant **tenant)
{
	size_t i, k;

	for (i = 0; i < rt->ntenants; i++)
		for (k = 0; k < rt->tenants[i].nissuers; k++)
			if (X509_cmp(rt->tenants[i].issuers[k].iss.cert, x) ==
			    0) {
				*tenant = &rt->tenants[i];
				return &rt->tenants[i].issuers[k];
			}
	return NULL;
}
