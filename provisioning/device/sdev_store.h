/* The key store through the port: PEM items (sdev_client.c). */
#ifndef SDEV_STORE_H
#define SDEV_STORE_H

#include "sdev_int.h"

/* Appends the item's certificates to crt; SDEV_E_NOTFOUND if absent. */
int	sdev_load_crt(struct sdev *c, enum sdev_item item,
	    mbedtls_x509_crt *crt);
int	sdev_load_key(struct sdev *c, mbedtls_pk_context *pk);
int	sdev_store_key(struct sdev *c, mbedtls_pk_context *pk);
/* The first certificate, or with all every one in the list. */
int	sdev_store_crt(struct sdev *c, enum sdev_item item,
	    const mbedtls_x509_crt *crt, int all);

/* Checks a server address (sdev_enroll.c). */
int	sdev_server_ok(struct sdev *c, const struct sdev_server *srv);
/* Generates a key, enrolls with it, verifies and stores (sdev_enroll.c). */
int	sdev_issue(struct sdev *c, const struct sdev_server *srv,
	    const struct sdev_cred *cred, enum sdev_est_op op, const char *name,
	    mbedtls_x509_crt *ta, int have_ta, int store_ta);

#endif /* SDEV_STORE_H */
