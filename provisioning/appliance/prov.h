#ifndef SIGNET_PROV_H
#define SIGNET_PROV_H

#include <openssl/x509.h>

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
/*
 * prov_tls.c: the server identity and the first operator credential;
 * prov_ext adds extension nid=value (OpenSSL's config syntax) to x as
 * issuer (NULL: x itself) would, and exits 2 if it cannot.
 */
int prov_tls(struct hsm *h, const char *label, const char *issuer_path,
    const char *chain_path, const char *names, const char *data);
int prov_operator(struct hsm *h, const char *label, const char *name,
    const char *data);
void prov_ext(X509 *x, X509 *issuer, int nid, const char *value);
/* prov_config.c: a signetd.conf for what is installed under data. */
int prov_config(struct hsm *h, const char *module, const char *token,
    const char *pin_file, const char *data, const char *base,
    const char *out);
/*
 * prov_transfer.c: one intermediate key in the tokens of several cluster
 * nodes (docs/cluster.md), wrapped under a transfer KEK that exists in a
 * token only for the run and in clear only in this process, split 2-of-3
 * into share files as the ceremony splits its backup KEK.
 */
#define PROV_XFER_KEK_LABEL "signet-transfer-kek"
#define PROV_XFER_SHARES 3
struct prov_xfer {
	const char *module, *token, *pin_file, *so_pin_file;
	const char *label;	/* export: the token key */
	const char *cert;	/* the issuer certificate of that key */
	const char *blob;	/* export: written; import: read */
	const char *share_dir;	/* export: where the 3 KEK shares go */
	const char *shares[PROV_XFER_SHARES]; /* import: share files */
	size_t nshares;
};
int prov_export_key(const struct prov_xfer *x);
int prov_import_key(const struct prov_xfer *x);
/* 1 if s may name a tenant or issuer (a path component). */
int prov_name_ok(const char *s);

#endif
