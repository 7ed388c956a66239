/*
 * The client object, its DRBG on the port's entropy, error messages, and
 * the key store: loading and storing PEM items through the port.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "sdev_int.h"
#include "sdev_store.h"

static int
entropy_cb(void *ctx, unsigned char *buf, size_t len)
{
	struct sdev *c = ctx;

	if (c->port.random(c->port.ctx, buf, len) != SDEV_OK)
		return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
	return 0;
}

int
sdev_new(const struct sdev_port *port, struct sdev **out)
{
	static const char pers[] = "signet-enroll";
	struct sdev *c = NULL;
	uint8_t mid[2];
	int rc = SDEV_E_NOMEM;

	*out = NULL;
	if (port == NULL || port->random == NULL || port->load == NULL ||
	    port->store == NULL || port->now == NULL || port->ms == NULL ||
	    port->connect == NULL || port->send == NULL ||
	    port->recv == NULL || port->close == NULL)
		return SDEV_E_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	c->port = *port;
	mbedtls_ctr_drbg_init(&c->drbg);
	if (sdev_compat_crypto_init() != 0) {
		rc = SDEV_E_CRYPTO;
		goto out;
	}
	if (mbedtls_ctr_drbg_seed(&c->drbg, entropy_cb, c,
	    (const unsigned char *)pers, sizeof(pers) - 1) != 0) {
		rc = SDEV_E_CRYPTO;
		goto out;
	}
	/* RFC 7252 4.4: start message ids at a random value. */
	if (sdev_rng(&c->drbg, mid, sizeof(mid)) != 0) {
		rc = SDEV_E_CRYPTO;
		goto out;
	}
	c->mid = (uint16_t)(mid[0] << 8 | mid[1]);
	*out = c;
	c = NULL;
	rc = SDEV_OK;
out:
	sdev_free(c);
	return rc;
}

void
sdev_free(struct sdev *c)
{
	if (c == NULL)
		return;
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_platform_zeroize(c, sizeof(*c));
	free(c);
}

const char *
sdev_errmsg(const struct sdev *c)
{
	return c != NULL ? c->err : "";
}

int
sdev_fail(struct sdev *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

/* Loads an item as a NUL-terminated PEM string into c->pem. */
static int
load_pem(struct sdev *c, enum sdev_item item, size_t *len)
{
	int rc;

	rc = c->port.load(c->port.ctx, item, c->pem, sizeof(c->pem) - 1, len);
	if (rc != SDEV_OK)
		return rc;
	c->pem[*len] = '\0';
	*len += 1;
	return SDEV_OK;
}

int
sdev_load_crt(struct sdev *c, enum sdev_item item, mbedtls_x509_crt *crt)
{
	size_t len;
	int rc, ret;

	if ((rc = load_pem(c, item, &len)) != SDEV_OK)
		return rc;
	if ((ret = mbedtls_x509_crt_parse(crt, c->pem, len)) != 0)
		return SDEV_E_PROTO;
	return SDEV_OK;
}

int
sdev_load_key(struct sdev *c, mbedtls_pk_context *pk)
{
	size_t len;
	int rc;

	if ((rc = load_pem(c, SDEV_ITEM_KEY, &len)) != SDEV_OK)
		return rc;
	rc = sdev_compat_parse_key(pk, c->pem, len, sdev_rng, &c->drbg) == 0 ?
	    SDEV_OK : SDEV_E_PROTO;
	mbedtls_platform_zeroize(c->pem, len);
	return rc;
}

int
sdev_store_key(struct sdev *c, mbedtls_pk_context *pk)
{
	int rc;

	if (mbedtls_pk_write_key_pem(pk, c->pem, sizeof(c->pem)) != 0)
		return SDEV_E_CRYPTO;
	rc = c->port.store(c->port.ctx, SDEV_ITEM_KEY, c->pem,
	    strlen((char *)c->pem));
	mbedtls_platform_zeroize(c->pem, sizeof(c->pem));
	return rc;
}

int
sdev_store_crt(struct sdev *c, enum sdev_item item,
    const mbedtls_x509_crt *crt, int all)
{
	size_t len;
	int rc;

	if ((rc = sdev_crt_pem(crt, all, c->pem, sizeof(c->pem), &len)) !=
	    SDEV_OK)
		return rc;
	return c->port.store(c->port.ctx, item, c->pem, len);
}
