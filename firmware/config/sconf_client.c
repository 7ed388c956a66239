/*
 * Client mappings applied to a verified certificate chain (see
 * signet/sconf_client.h): the engine (eng_ident.c) and the HTTPS front end
 * (operator headroom, /metrics) map alike.  Without the client CA in the
 * mapping, any CA listed in tls.client_ca could issue CN=signet-operator
 * and become the global operator (issue 13).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "signet/sconf_client.h"

#define SCONF_NAME_MAX 1024
#define SCONF_KEYID_MAX 64

/* One mapping's client CA, ready to compare. */
struct sconf_trust_ca {
	uint8_t		 key_id[SCONF_KEYID_MAX];
	size_t		 key_id_len;	/* 0: not named */
	STACK_OF(X509)	*certs;		/* issuer_cert files, or NULL */
};

struct sconf_trust {
	const struct sconf	*conf;
	struct sconf_trust_ca	*ca;	/* one per conf->clients[] */
};

int
sconf_client_dn(X509 *x, char *buf, size_t size)
{
	BIO *b;
	int n, rc = -1;

	buf[0] = '\0';
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253) >= 0 && (n = BIO_read(b, buf, (int)size - 1)) >=
	    0 && (size_t)n < size - 1) {
		buf[n] = '\0';
		rc = 0;
	}
	BIO_free(b);
	return rc;
}

/* x's subjectKeyIdentifier; RFC 5280 4.2.1.2 (1) when it has none. */
static int
sconf_client_key_id(X509 *x, uint8_t *out, size_t size, size_t *len)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
	unsigned int n = 0;

	if (ski != NULL && (size_t)ASN1_STRING_length(ski) <= size) {
		*len = (size_t)ASN1_STRING_length(ski);
		memcpy(out, ASN1_STRING_get0_data(ski), *len);
		return 0;
	}
	if (size < 20 || X509_pubkey_digest(x, EVP_sha1(), out, &n) != 1)
		return -1;
	*len = n;
	return 0;
}

static int
sconf_trust_file(STACK_OF(X509) *sk, const char *path, char *err,
    size_t errlen)
{
	FILE *f;
	X509 *x;
	int n = 0;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot open %s", path);
		return -1;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			break;
		}
		n++;
	}
	fclose(f);
	ERR_clear_error();
	if (n == 0) {
		snprintf(err, errlen, "%s holds no PEM certificate", path);
		return -1;
	}
	return 0;
}

int
sconf_trust_load(const struct sconf *conf, struct sconf_trust **out,
    char *err, size_t errlen)
{
	struct sconf_trust *t;
	struct sconf_trust_ca *ca;
	const struct sconf_client *c;
	char why[512];
	size_t i, j;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->ca = calloc(conf->nclients + 1, sizeof(*t->ca))) == NULL) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->conf = conf;
	for (i = 0; i < conf->nclients; i++) {
		c = &conf->clients[i];
		ca = &t->ca[i];
		if (c->issuer_key_id != NULL && sconf_hex(c->issuer_key_id,
		    ca->key_id, sizeof(ca->key_id), &ca->key_id_len) != 0) {
			snprintf(err, errlen, "client \"%s\": issuer_key_id "
			    "is not hex", c->name);
			goto fail;
		}
		if (c->issuer_cert.n == 0)
			continue;
		if ((ca->certs = sk_X509_new_null()) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (j = 0; j < c->issuer_cert.n; j++)
			if (sconf_trust_file(ca->certs, c->issuer_cert.v[j], why,
			    sizeof(why)) != 0) {
				snprintf(err, errlen, "client \"%s\": "
				    "issuer_cert: %s", c->name, why);
				goto fail;
			}
	}
	*out = t;
	return 0;
fail:
	sconf_trust_free(t);
	return -1;
}

void
sconf_trust_free(struct sconf_trust *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->conf->nclients; i++)
		sk_X509_pop_free(t->ca[i].certs, X509_free);
	free(t->ca);
	free(t);
}

/* Whether x is one of sk: the same certificate, or name and key alike. */
static int
sconf_trust_in(STACK_OF(X509) *sk, X509 *x)
{
	X509 *y;
	int i;

	for (i = 0; i < sk_X509_num(sk); i++) {
		y = sk_X509_value(sk, i);
		if (X509_cmp(x, y) == 0 ||
		    (X509_NAME_cmp(X509_get_subject_name(x),
		    X509_get_subject_name(y)) == 0 &&
		    EVP_PKEY_eq(X509_get0_pubkey(x), X509_get0_pubkey(y)) == 1))
			return 1;
	}
	return 0;
}

/* Whether ca is the client CA mapping i names (every field it sets). */
static int
sconf_trust_ca(const struct sconf_trust *t, size_t i, X509 *ca)
{
	const struct sconf_client *c = &t->conf->clients[i];
	const struct sconf_trust_ca *tc = &t->ca[i];
	char dn[SCONF_NAME_MAX];
	uint8_t id[SCONF_KEYID_MAX];
	size_t len;

	if (c->issuer == NULL && tc->key_id_len == 0 && tc->certs == NULL)
		return 0;
	if (c->issuer != NULL && (sconf_client_dn(ca, dn, sizeof(dn)) != 0 ||
	    strcmp(dn, c->issuer) != 0))
		return 0;
	if (tc->key_id_len != 0 && (sconf_client_key_id(ca, id, sizeof(id),
	    &len) != 0 || len != tc->key_id_len ||
	    memcmp(id, tc->key_id, len) != 0))
		return 0;
	if (tc->certs != NULL && !sconf_trust_in(tc->certs, ca))
		return 0;
	return 1;
}

static void
sconf_client_attr(X509 *x, int nid, char *buf, size_t size)
{
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, buf,
	    (int)size) < 0)
		buf[0] = '\0';
}

static int
sconf_client_eq(const char *want, const char *have)
{
	return want == NULL || strcmp(want, "*") == 0 ||
	    strcmp(want, have) == 0;
}

const struct sconf_client *
sconf_trust_map(const struct sconf_trust *t, STACK_OF(X509) *chain)
{
	const struct sconf_client *c, *found = NULL;
	char cn[SCONF_NAME_MAX], o[SCONF_NAME_MAX], ou[SCONF_NAME_MAX];
	X509 *leaf;
	size_t i;
	int k;

	if (t == NULL || chain == NULL || sk_X509_num(chain) < 2)
		return NULL;
	leaf = sk_X509_value(chain, 0);
	sconf_client_attr(leaf, NID_commonName, cn, sizeof(cn));
	sconf_client_attr(leaf, NID_organizationName, o, sizeof(o));
	sconf_client_attr(leaf, NID_organizationalUnitName, ou, sizeof(ou));
	for (i = 0; found == NULL && i < t->conf->nclients; i++) {
		c = &t->conf->clients[i];
		if (c->match_cn == NULL || !sconf_client_eq(c->match_cn, cn) ||
		    !sconf_client_eq(c->match_o, o) ||
		    !sconf_client_eq(c->match_ou, ou))
			continue;
		for (k = 1; found == NULL && k < sk_X509_num(chain); k++)
			if (sconf_trust_ca(t, i, sk_X509_value(chain, k)))
				found = c;
	}
	ERR_clear_error();
	return found;
}
