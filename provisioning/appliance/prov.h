#ifndef SIGNET_PROV_H
#define SIGNET_PROV_H

#include <signet/hsm.h>

/*
 * The engine's enrollment-token key (ENG_TOKEN_KEY_LABEL in
 * firmware/engine): an HMAC-SHA256 secret that never leaves the token.
 */
#define PROV_TOKEN_KEY_LABEL "signet-token-key"

/* Creates the development PKI under data (see prov_devca.c); 0 made,
 * 1 already there. */
int prov_dev_ca(struct hsm *h, const char *data);

/* prov_install.c: the appliance side of the root ceremony. */
int prov_csr(struct hsm *h, const char *label, const char *subject,
    const char *out);
int prov_install(struct hsm *h, const char *label, const char *cert_path,
    const char *root_path, const char *data, const char *tenant,
    const char *name);
/* prov_tls.c: the server identity and the first operator credential. */
int prov_tls(struct hsm *h, const char *label, const char *issuer_path,
    const char *chain_path, const char *names, const char *data);
int prov_operator(struct hsm *h, const char *label, const char *name,
    const char *data);
/* prov_config.c: a signetd.conf for what is installed under data. */
int prov_config(struct hsm *h, const char *module, const char *token,
    const char *pin_file, const char *data, const char *base,
    const char *out);
/* 1 if s may name a tenant or issuer (a path component). */
int prov_name_ok(const char *s);

#endif
