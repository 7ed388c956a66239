/*
 * Renewal with the stored identity and the status of what is stored.
 */
#include <stdio.h>
#include <string.h>

#include "sdev_int.h"
#include "sdev_store.h"

/* Loads key, certificate (with chain) and trust anchor; names failures. */
static int
load_identity(struct sdev *c, mbedtls_pk_context *key, mbedtls_x509_crt *crt,
    mbedtls_x509_crt *ta)
{
	int rc;

	if ((rc = sdev_load_crt(c, SDEV_ITEM_CERT, crt)) != SDEV_OK)
		return sdev_fail(c, rc, "no stored certificate (%s): "
		    "enroll first", sdev_strerror(rc));
	if ((rc = sdev_load_key(c, key)) != SDEV_OK)
		return sdev_fail(c, rc, "no stored key (%s)", sdev_strerror(rc));
	if ((rc = sdev_load_crt(c, SDEV_ITEM_CA, ta)) != SDEV_OK)
		return sdev_fail(c, rc, "no pinned appliance CA (%s)",
		    sdev_strerror(rc));
	/*
	 * The chain travels with the certificate in the handshake, and its
	 * CA certificates (verified up to the pinned root when they were
	 * stored) are trusted too: constrained servers often send only their
	 * own certificate to keep DTLS flights small.
	 */
	rc = sdev_load_crt(c, SDEV_ITEM_CHAIN, crt);
	if (rc == SDEV_OK)
		rc = sdev_load_crt(c, SDEV_ITEM_CHAIN, ta);
	if (rc != SDEV_OK && rc != SDEV_E_NOTFOUND)
		return sdev_fail(c, rc, "cannot load the stored chain (%s)",
		    sdev_strerror(rc));
	return SDEV_OK;
}

int
sdev_renew(struct sdev *c, const struct sdev_server *srv, int force,
    int *renewed)
{
	struct sdev_cred cred;
	mbedtls_pk_context key;
	mbedtls_x509_crt crt, ta;
	char name[SDEV_MAX_NAME + 1];
	int64_t nb, na, due;
	int rc;

	*renewed = 0;
	c->err[0] = '\0';
	memset(&cred, 0, sizeof(cred));
	mbedtls_pk_init(&key);
	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ta);
	if ((rc = sdev_server_ok(c, srv)) != SDEV_OK ||
	    (rc = load_identity(c, &key, &crt, &ta)) != SDEV_OK)
		goto out;
	if (sdev_compat_crt_validity(&crt, &nb, &na) != 0 ||
	    sdev_compat_crt_cn(&crt, name, sizeof(name)) != 0) {
		rc = sdev_fail(c, SDEV_E_PROTO,
		    "stored certificate has no validity or no CN");
		goto out;
	}
	due = sdev_renew_time(nb, na);
	if (!force && c->port.now(c->port.ctx) < due) {
		rc = SDEV_OK;
		goto out;
	}
	cred.crt = &crt;
	cred.key = &key;
	cred.ta = &ta;
	if ((rc = sdev_issue(c, srv, &cred, SDEV_EST_REENROLL, name, &ta, 1,
	    0)) == SDEV_OK)
		*renewed = 1;
out:
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ta);
	return rc;
}

static void
check_chain(mbedtls_x509_crt *crt, mbedtls_x509_crt *ta,
    struct sdev_info *info)
{
	uint32_t flags = 0;

	info->chain_ok = mbedtls_x509_crt_verify(crt, ta, NULL, NULL, &flags,
	    NULL, NULL) == 0;
}

int
sdev_status(struct sdev *c, struct sdev_info *info)
{
	mbedtls_pk_context key;
	mbedtls_x509_crt crt, ta;
	int rc;

	c->err[0] = '\0';
	memset(info, 0, sizeof(*info));
	mbedtls_pk_init(&key);
	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ta);
	if ((rc = load_identity(c, &key, &crt, &ta)) != SDEV_OK)
		goto out;
	if (sdev_compat_crt_validity(&crt, &info->not_before,
	    &info->not_after) != 0 ||
	    sdev_compat_crt_names(&crt, info->subject, sizeof(info->subject),
	    info->issuer, sizeof(info->issuer), info->serial,
	    sizeof(info->serial)) != 0) {
		rc = sdev_fail(c, SDEV_E_PROTO, "stored certificate unreadable");
		goto out;
	}
	info->renew_at = sdev_renew_time(info->not_before, info->not_after);
	info->key_matches = sdev_pk_equal(sdev_compat_crt_pk(&crt), &key);
	check_chain(&crt, &ta, info);
out:
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ta);
	return rc;
}
