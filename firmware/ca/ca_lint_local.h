/*
 * The linter's view of a TBSCertificate: the elements located once by a
 * strict parse, so that each lint is a short function over them.
 */
#ifndef SIGNET_CA_LINT_LOCAL_H
#define SIGNET_CA_LINT_LOCAL_H

#include "ca_local.h"

#define CA_LINT_MAX_EXTS 32

struct ca_lint_ext {
	struct ca_tlv oid;
	int critical;
	struct ca_tlv val;	/* contents of the OCTET STRING */
};

struct ca_lint_ctx {
	enum ca_lint_mode mode;
	const struct ca_issuer *issued_by; /* NULL: lints without the chain */
	const uint8_t *tbs;		/* the whole TBSCertificate */
	size_t tbs_len;
	int has_version;
	struct ca_tlv version, serial, sigalg, issuer, nb, na, subject, spki;
	int unique_ids;
	struct ca_lint_ext exts[CA_LINT_MAX_EXTS];
	size_t nexts;
	int too_many_exts;
	enum ca_key_kind kind;
	unsigned key_type;
	/* Decoded extensions (NULL when absent). */
	const struct ca_lint_ext *ku, *eku, *bc, *san, *ski, *aki;
	unsigned ku_bits;
	int bc_ca;
};

typedef int (*ca_lint_fn)(const struct ca_lint_ctx *, struct ca_err *);

#define CA_LINT_FOR_LEAF 0x1
#define CA_LINT_FOR_CA 0x2
#define CA_LINT_FOR_ALL 0x3
#define CA_LINT_FOR_ISSUED 0x4	/* a leaf, with its issuer's chain */

struct ca_lint {
	const char *name;
	unsigned applies;
	ca_lint_fn fn;
};

extern const struct ca_lint ca_lints[];
extern const size_t ca_nlints;

/* Lints over the subject and the SAN, in ca_lint_names.c. */
int ca_lint_subject_printable(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_subject_cn_length(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_subject_cn_in_san(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_printable_badalpha(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_ca_subject_empty(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_san_empty(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_san_crit(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_san_ia5(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_san_ip_length(const struct ca_lint_ctx *, struct ca_err *);

/* Lints over DNS names, in ca_lint_dns.c. */
int ca_lint_dns_null(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_dns_too_long(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_dns_empty_label(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_dns_label_long(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_dns_bad_char(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_dns_underscore(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_dns_hyphen(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_dns_wildcard_left(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_dns_wildcard_tld(const struct ca_lint_ctx *, struct ca_err *);
int ca_lint_dns_lowercase(const struct ca_lint_ctx *, struct ca_err *);

/* Lints over the issuer's chain, in ca_lint_chain.c. */
int ca_lint_issuer_nc(const struct ca_lint_ctx *, struct ca_err *);

int ca_lint_parse(const uint8_t *tbs, size_t len, struct ca_lint_ctx *c);
int ca_san_each(const struct ca_lint_ctx *c, unsigned tag, void *arg,
    struct ca_err *err,
    int (*fn)(const struct ca_tlv *, void *, struct ca_err *));

#endif
