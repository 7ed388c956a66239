/*
 * Enrollment, renewal and status: the sequence of EST calls, the checks on
 * what comes back, and what is stored.  Nothing is stored until the new
 * certificate carries the new key and chains to the appliance CA.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "sdev_int.h"
#include "sdev_store.h"

struct est_run {
	struct sdev_sess	sess;
	int			open;
};

/* One EST call; DTLS keeps its session, HTTPS is one per request. */
static int
est_call(struct sdev *c, struct est_run *r, const struct sdev_server *srv,
    const struct sdev_cred *cred, enum sdev_est_op op, const uint8_t *csr,
    size_t csrlen, mbedtls_x509_crt *out)
{
	int rc;

	if (!r->open) {
		r->open = 1;
		if ((rc = sdev_sess_open(c, &r->sess, srv, cred)) != SDEV_OK)
			return rc;
	}
	if (srv->proto == SDEV_PROTO_COAPS)
		rc = sdev_coaps_request(&r->sess, op, csr, csrlen);
	else {
		rc = sdev_https_request(&r->sess, op, csr, csrlen);
		sdev_sess_close(&r->sess);
		r->open = 0;
	}
	if (rc != SDEV_OK)
		return rc;
	return sdev_body_certs(c, out);
}

/* Pins the self-issued certificates of the CA answer as trust anchors. */
static int
pin_roots(struct sdev *c, const mbedtls_x509_crt *chain,
    mbedtls_x509_crt *ta)
{
	const mbedtls_x509_crt *x;
	const uint8_t *p;
	size_t len;
	int n = 0;

	for (x = chain; x != NULL; x = sdev_compat_crt_next(x)) {
		if (!sdev_compat_crt_self_issued(x))
			continue;
		sdev_compat_crt_raw(x, &p, &len);
		if (mbedtls_x509_crt_parse_der(ta, p, len) != 0)
			return sdev_fail(c, SDEV_E_PROTO,
			    "CA certificate does not parse");
		n++;
	}
	if (n == 0)
		return sdev_fail(c, SDEV_E_VERIFY,
		    "/est/crts holds no root certificate to pin");
	return SDEV_OK;
}

static int
store_all(struct sdev *c, mbedtls_pk_context *key, mbedtls_x509_crt *leaf,
    mbedtls_x509_crt *chain, mbedtls_x509_crt *ta, int store_ta)
{
	int rc;

	if ((rc = sdev_store_key(c, key)) != SDEV_OK ||
	    (rc = sdev_store_crt(c, SDEV_ITEM_CERT, leaf, 0)) != SDEV_OK ||
	    (rc = sdev_store_crt(c, SDEV_ITEM_CHAIN, chain, 1)) != SDEV_OK ||
	    (store_ta && (rc = sdev_store_crt(c, SDEV_ITEM_CA, ta, 1)) !=
	    SDEV_OK))
		return sdev_fail(c, rc, "storing the new identity failed: %s",
		    sdev_strerror(rc));
	return SDEV_OK;
}

/*
 * A new key, its CSR, the CA certificates and the certificate, checked
 * and stored.  Without a trust anchor (have_ta 0), the roots in the CA
 * answer of the PSK-authenticated session become the pinned anchor.
 */
int
sdev_issue(struct sdev *c, const struct sdev_server *srv,
    const struct sdev_cred *cred, enum sdev_est_op op, const char *name,
    mbedtls_x509_crt *ta, int have_ta, int store_ta)
{
	struct est_run run;
	mbedtls_pk_context key;
	mbedtls_x509_crt chain, leaf;
	uint8_t csr[SDEV_MAX_CSR];
	size_t csrlen;
	int rc;

	memset(&run, 0, sizeof(run));
	mbedtls_pk_init(&key);
	mbedtls_x509_crt_init(&chain);
	mbedtls_x509_crt_init(&leaf);
	if ((rc = sdev_key_generate(c, &key)) != SDEV_OK ||
	    (rc = sdev_csr_write(c, &key, name, csr, sizeof(csr),
	    &csrlen)) != SDEV_OK)
		goto out;
	if ((rc = est_call(c, &run, srv, cred, SDEV_EST_CACERTS, NULL, 0,
	    &chain)) != SDEV_OK)
		goto out;
	if (!have_ta) {
		if ((rc = pin_roots(c, &chain, ta)) != SDEV_OK)
			goto out;
		store_ta = 1;
	}
	if ((rc = est_call(c, &run, srv, cred, op, csr, csrlen, &leaf)) !=
	    SDEV_OK)
		goto out;
	if (run.open) {
		sdev_sess_close(&run.sess);
		run.open = 0;
	}
	if ((rc = sdev_verify_issued(c, &leaf, &chain, ta, &key, name)) !=
	    SDEV_OK)
		goto out;
	rc = store_all(c, &key, &leaf, &chain, ta, store_ta);
out:
	if (run.open)
		sdev_sess_close(&run.sess);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&chain);
	mbedtls_x509_crt_free(&leaf);
	return rc;
}

int
sdev_server_ok(struct sdev *c, const struct sdev_server *srv)
{
	if (srv == NULL || srv->host == NULL || srv->port == NULL ||
	    strlen(srv->host) == 0 || strlen(srv->host) > SDEV_MAX_HOST ||
	    strlen(srv->port) == 0 || strlen(srv->port) > SDEV_MAX_PORT ||
	    (srv->proto != SDEV_PROTO_COAPS && srv->proto != SDEV_PROTO_HTTPS))
		return sdev_fail(c, SDEV_E_ARG, "no server address");
	if (srv->label != NULL && (strlen(srv->label) == 0 ||
	    strlen(srv->label) > SDEV_MAX_LABEL ||
	    strspn(srv->label, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(srv->label)))
		return sdev_fail(c, SDEV_E_ARG, "bad EST label");
	return SDEV_OK;
}

/* The trust anchor: given, or pinned; *have says whether there is one. */
static int
load_ta(struct sdev *c, const uint8_t *ca_pem, size_t ca_len,
    mbedtls_x509_crt *ta, int *have)
{
	int rc;

	*have = 0;
	if (ca_pem != NULL) {
		if (ca_len + 1 > sizeof(c->pem))
			return sdev_fail(c, SDEV_E_TOOBIG, "CA file too large");
		memcpy(c->pem, ca_pem, ca_len);
		c->pem[ca_len] = '\0';
		if (mbedtls_x509_crt_parse(ta, c->pem, ca_len + 1) != 0)
			return sdev_fail(c, SDEV_E_ARG,
			    "the CA file holds no valid certificate");
		*have = 1;
		return SDEV_OK;
	}
	rc = sdev_load_crt(c, SDEV_ITEM_CA, ta);
	if (rc == SDEV_E_NOTFOUND)
		return SDEV_OK;
	if (rc != SDEV_OK)
		return sdev_fail(c, rc, "cannot load the pinned CA: %s",
		    sdev_strerror(rc));
	*have = 1;
	return SDEV_OK;
}

int
sdev_enroll(struct sdev *c, const struct sdev_server *srv, const char *token,
    const char *name, const uint8_t *ca_pem, size_t ca_len)
{
	struct sdev_cred cred;
	mbedtls_x509_crt ta;
	char id[SDEV_MAX_TOKEN + 1];
	uint8_t psk[SDEV_PSK_LEN];
	int rc, have_ta = 0;

	c->err[0] = '\0';
	memset(&cred, 0, sizeof(cred));
	mbedtls_x509_crt_init(&ta);
	if ((rc = sdev_server_ok(c, srv)) != SDEV_OK)
		goto out;
	if (!sdev_name_ok(name)) {
		rc = sdev_fail(c, SDEV_E_ARG, "not a DNS name: %s",
		    name != NULL ? name : "(none)");
		goto out;
	}
	if (sdev_token_psk(token, id, sizeof(id), psk) != SDEV_OK) {
		rc = sdev_fail(c, SDEV_E_ARG,
		    "enrollment token is not of the form <id>.<secret>");
		goto out;
	}
	if ((rc = load_ta(c, ca_pem, ca_len, &ta, &have_ta)) != SDEV_OK)
		goto out;
	if (srv->proto == SDEV_PROTO_COAPS) {
		cred.psk_id = id;
		cred.psk = psk;
	} else {
		/* A bearer token must not go to a server nobody authenticated. */
		if (!have_ta) {
			rc = sdev_fail(c, SDEV_E_ARG, "EST over HTTPS needs the "
			    "appliance CA (--ca) before the token is sent");
			goto out;
		}
		cred.bearer = token;
		cred.ta = &ta;
	}
	rc = sdev_issue(c, srv, &cred, SDEV_EST_ENROLL, name, &ta, have_ta,
	    ca_pem != NULL);
out:
	mbedtls_platform_zeroize(psk, sizeof(psk));
	mbedtls_platform_zeroize(id, sizeof(id));
	mbedtls_x509_crt_free(&ta);
	return rc;
}
