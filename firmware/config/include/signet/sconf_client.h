/*
 * Client mappings (`client "name" { cn, o, ou, issuer, issuer_key_id,
 * issuer_cert, role, tenants }`) applied to a certificate chain that has
 * already been verified against tls.client_ca.  Shared by the engine and
 * the HTTPS front end so both map a certificate alike.  Needs OpenSSL, so
 * it is a library of its own (signet_sconf_client).
 *
 * A mapping applies only to a certificate from the client CA it names
 * (DESIGN.md rule 9): one of the certificates above the leaf in the
 * verified chain must have the subject DN `issuer` (RFC 2253, as
 * `openssl x509 -noout -subject -nameopt RFC2253` prints it), the key
 * identifier `issuer_key_id` (its subjectKeyIdentifier, or the SHA-1 of
 * its key when it has none), and be one of the certificates in the
 * `issuer_cert` files, for each of those the mapping sets.
 *
 * Ownership: sconf_trust_load returns a struct the caller frees with
 * sconf_trust_free; it borrows conf, which must outlive it.
 */
#ifndef SIGNET_SCONF_CLIENT_H
#define SIGNET_SCONF_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include <signet/sconf.h>

struct sconf_trust;

/* Reads every mapping's issuer_cert files; -1 with err naming the file. */
int	sconf_trust_load(const struct sconf *conf, struct sconf_trust **out,
	    char *err, size_t errlen);
void	sconf_trust_free(struct sconf_trust *t);

/*
 * The first client whose cn/o/ou match the chain's leaf and whose client
 * CA is one of the certificates above it; NULL if none.  chain is the
 * verified chain, leaf first (borrowed).
 */
const struct sconf_client *sconf_trust_map(const struct sconf_trust *t,
    STACK_OF(X509) *chain);

/* x's subject as RFC 2253 text, as `issuer` is written; 0 or -1. */
int	sconf_client_dn(X509 *x, char *buf, size_t size);

#endif
