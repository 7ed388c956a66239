/*
 * firmware/ca: the engine's issuance core.
 *
 * Turns a PKCS#10 request, the requesting tenant's profile and the client's
 * evidence into a certificate signed by the profile's issuer.  Everything
 * that parses untrusted bytes is a pure function over (const uint8_t *,
 * size_t) with the limits named CA_MAX_* below.  Nothing here exits or
 * prints: functions return CA_OK (0) or a negative enum ca_rc and fill a
 * struct ca_err whose message names what was wrong.
 *
 * Ownership: tenants, issuers and profiles are plain structs the caller
 * owns (usually the engine's parsed configuration); they are read-only while
 * an issuance runs, so many threads may issue at once.  A struct ca_signer is
 * freed with ca_signer_free; a struct ca_csr with ca_csr_free; the
 * certificate in a struct ca_result with ca_result_free; a struct
 * ca_prepared with ca_prepared_free.
 */
#ifndef SIGNET_CA_H
#define SIGNET_CA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Limits on untrusted input and on configuration. */
#define CA_MAX_CSR 16384	/* bytes of a DER (or PEM) CSR */
#define CA_MAX_DER_DEPTH 16	/* nesting of constructed DER elements */
#define CA_MAX_NAMES 64		/* SAN entries in one request */
#define CA_MAX_NAMES_TEXT 3584	/* their text, comma-separated, as the
				   ledger, audit and search record it */
#define CA_MAX_SUBJECT_TEXT 511	/* "CN=..,OU=..,O=..": the subject as the
				   ledger records it */
#define CA_MAX_DNS 253		/* RFC 1035 2.3.4: octets of a DNS name */
#define CA_MAX_LABEL 63		/* RFC 1035 2.3.4: octets of a label */
#define CA_MAX_URI 512		/* octets of a URI SAN */
#define CA_MAX_CN 64		/* RFC 5280 A.1 ub-common-name */
#define CA_MAX_EXTS 32		/* extensions in one extensionRequest */
#define CA_MAX_ATTRS 16		/* attributes in one CSR */
#define CA_MAX_RSA_BITS 8192	/* largest RSA modulus accepted */
#define CA_MAX_ERRMSG 256	/* bytes of an error message */
#define CA_MAX_ID 64		/* tenant, issuer, profile, role names */
#define CA_MAX_DOMAINS 32	/* allowed domains per profile */
#define CA_MAX_CIDRS 32		/* allowed IP ranges per profile */
#define CA_MAX_URI_PATTERNS 16	/* allowed URI SAN patterns per profile */
#define CA_MAX_ROLES 8		/* client roles per profile */
#define CA_MAX_EKUS 8		/* extended key usages per profile */
#define CA_MAX_ATTR 64		/* RFC 5280 A.1 upper bounds (O, OU, L, ST) */
#define CA_MAX_URL 256		/* AIA and CRL DP URLs */
#define CA_MAX_PROFILES 32	/* profiles per tenant */
#define CA_MAX_ISSUERS 8	/* issuers per tenant */
#define CA_MAX_CHAIN 4		/* certificates above a leaf */
#define CA_MAX_ALGID 32		/* DER of a signature AlgorithmIdentifier */
#define CA_MAX_SIG 1024		/* bytes of a signature */
#define CA_MAX_TBS 8192		/* bytes of a TBSCertificate we build */
#define CA_MAX_CERT 16384	/* bytes of a certificate we lint */
#define CA_SERIAL_LEN 16	/* 128 bits, first byte 0x01..0x7f */
#define CA_BACKDATE 60		/* seconds notBefore is backdated */
#define CA_DEFAULT_TTL (25 * 3600)

enum ca_rc {
	CA_OK = 0,
	CA_ERR_ARG = -1,	/* invalid argument or configuration */
	CA_ERR_NOMEM = -2,
	CA_ERR_DECODE = -3,	/* CSR is not strict DER PKCS#10 */
	CA_ERR_POP = -4,	/* CSR signature does not verify */
	CA_ERR_KEY = -5,	/* key type, size or point refused */
	CA_ERR_ALG = -6,	/* signature algorithm refused */
	CA_ERR_EXT = -7,	/* requested extension refused */
	CA_ERR_NAME = -8,	/* a requested name is refused */
	CA_ERR_POLICY = -9,	/* profile, role or tenant refuses */
	CA_ERR_VALIDITY = -10,	/* TTL or issuer validity refuses */
	CA_ERR_LINT = -11,	/* a lint failed: not signed */
	CA_ERR_SIGN = -12,	/* the signer failed */
	CA_ERR_HOOK = -13,	/* ledger/audit hook refused: fail closed */
	CA_ERR_CRYPTO = -14,	/* OpenSSL failure */
};

/* Which hook refused an issuance (struct ca_err's hook). */
enum ca_hook { CA_HOOK_NONE = 0, CA_HOOK_RESERVE, CA_HOOK_COMMIT };

/*
 * What went wrong: a code, a sentence, and the lint's name if one failed.
 * With CA_ERR_HOOK, hook names the hook that refused and hook_rc is what
 * it returned (the ledger's own code); otherwise they are not set.
 */
struct ca_err {
	int code;
	const char *lint;
	int hook;		/* enum ca_hook */
	int hook_rc;
	char msg[CA_MAX_ERRMSG];
};

/* A sentence for a ca_rc; never NULL. */
const char *ca_strerror(int rc);
/* Sets err (if not NULL) and returns code, for `return ca_fail(...)`. */
int ca_fail(struct ca_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Signers.  A signer signs TBSCertificate bytes with an issuer key and
 * says which AlgorithmIdentifier the signature uses; the core never sees
 * the private key.  ca_signer_evp wraps a software key (tests, ceremony
 * dry runs; the signer takes a reference); ca_signer_hsm a token key (the
 * key stays owned by the caller and must outlive the signer).
 */
struct ca_signer;
typedef int (*ca_sign_fn)(void *ctx, const uint8_t *tbs, size_t len,
    uint8_t *sig, size_t *siglen);
int ca_signer_new(ca_sign_fn sign, void *ctx, void (*ctx_free)(void *),
    EVP_PKEY *pub, struct ca_signer **out);
int ca_signer_evp(EVP_PKEY *key, struct ca_signer **out);
struct hsm_key;
int ca_signer_hsm(struct hsm_key *key, struct ca_signer **out);
void ca_signer_free(struct ca_signer *s);
/* Borrowed public key and DER AlgorithmIdentifier of the signatures. */
EVP_PKEY *ca_signer_public(const struct ca_signer *s);
const uint8_t *ca_signer_algid(const struct ca_signer *s, size_t *len);
int ca_signer_sign(const struct ca_signer *s, const uint8_t *tbs, size_t len,
    uint8_t *sig, size_t *siglen);

/*
 * An issuer: an intermediate CA's signer plus its certificate chain.
 * ca_issuer_init takes a reference on cert and on each chain certificate
 * (chain[0] is cert's issuer, and so on up, excluding or including the
 * root as the operator wants it served), checks that the signer's public
 * key matches cert, and caches the DER the builder copies (subject, SKI).
 */
struct ca_issuer {
	char name[CA_MAX_ID + 1];
	struct ca_signer *signer;	/* borrowed */
	X509 *cert;
	X509 *chain[CA_MAX_CHAIN];
	size_t nchain;
	uint8_t *subject_der;		/* issuer Name for the TBS */
	size_t subject_len;
	uint8_t ski[64];
	size_t ski_len;
	time_t not_before, not_after;
	char ca_issuers_url[CA_MAX_URL + 1];	/* AIA caIssuers, optional */
	char ocsp_url[CA_MAX_URL + 1];		/* AIA OCSP, optional */
	char crl_url[CA_MAX_URL + 1];		/* CRL DP, optional */
	char delta_url[CA_MAX_URL + 1];	/* delta CRLs (freshestCRL), or "" */
	int delta_in_certs;		/* freshestCRL in issued certificates */
	struct ca_chain *rules;	/* what the chain imposes (ca_chain.c) */
};
int ca_issuer_init(struct ca_issuer *iss, const char *name,
    struct ca_signer *signer, X509 *cert, X509 *const *chain, size_t nchain,
    struct ca_err *err);
int ca_issuer_set_urls(struct ca_issuer *iss, const char *ca_issuers,
    const char *ocsp, const char *crl);
/*
 * Delta CRLs (RFC 5280 5.2.4, issue 19): url (http or https; NULL or ""
 * for none) is where this issuer's delta CRLs are published; complete
 * CRLs name it in freshestCRL (5.2.6), and so do issued certificates
 * (4.2.1.15) when in_certs.
 */
int ca_issuer_set_delta(struct ca_issuer *iss, const char *url, int in_certs);
void ca_issuer_clear(struct ca_issuer *iss);

/*
 * Issuer constraints (RFC 5280 4.2.1.10), matched as OpenSSL's verifier
 * matches them.  ca_nc_within: 1 if name is within base, 0 if not, -1 if
 * the name cannot be checked (a verifier then refuses the certificate).
 * DNS, URI and email bases are IA5 text; an IP base is address and mask
 * (8 or 32 octets).  ca_cn_is_dnsid: whether a verifier reads a
 * commonName as a DNS name (when the certificate has no DNS SAN).
 */
enum ca_nc_type { CA_NC_DNS, CA_NC_EMAIL, CA_NC_URI, CA_NC_IP };
int ca_nc_within(enum ca_nc_type t, const uint8_t *name, size_t len,
    const uint8_t *base, size_t blen);
int ca_cn_is_dnsid(const uint8_t *cn, size_t len);

/* Key types a profile allows (bit mask). */
#define CA_KEY_RSA	0x01
#define CA_KEY_P256	0x02
#define CA_KEY_P384	0x04
#define CA_KEY_P521	0x08
#define CA_KEY_ED25519	0x10
#define CA_KEY_ALL	0x1f

/* RSA modulus sizes a profile allows, exactly (bit mask; issue 13). */
#define CA_RSA_2048	0x1
#define CA_RSA_3072	0x2
#define CA_RSA_4096	0x4
#define CA_RSA_ALL	0x7

/* RFC 5280 4.2.1.3 keyUsage bits, as in the BIT STRING (bit 0 first). */
#define CA_KU_DIGITAL_SIGNATURE	0x001
#define CA_KU_NON_REPUDIATION	0x002
#define CA_KU_KEY_ENCIPHERMENT	0x004
#define CA_KU_DATA_ENCIPHERMENT	0x008
#define CA_KU_KEY_AGREEMENT	0x010
#define CA_KU_KEY_CERT_SIGN	0x020
#define CA_KU_CRL_SIGN		0x040

/* RFC 5280 4.2.1.12 extended key usages (bit mask). */
#define CA_EKU_SERVER_AUTH	0x01
#define CA_EKU_CLIENT_AUTH	0x02
#define CA_EKU_CODE_SIGNING	0x04
#define CA_EKU_EMAIL		0x08
#define CA_EKU_TIME_STAMPING	0x10
#define CA_EKU_OCSP_SIGNING	0x20

/* Subject attributes a profile fixes. */
enum ca_attr { CA_ATTR_C, CA_ATTR_ST, CA_ATTR_L, CA_ATTR_O, CA_ATTR_OU,
	CA_ATTR_MAX };

/* What to do when a TTL would outlive the issuer. */
enum ca_expiry { CA_EXPIRY_TRUNCATE = 0, CA_EXPIRY_REFUSE = 1 };

/* Profile switches (bit mask), named as an operator knows them. */
#define CA_P_BARE_DOMAINS	0x001	/* "example.com" itself */
#define CA_P_SUBDOMAINS		0x002	/* "a.b.example.com" */
#define CA_P_GLOB_DOMAINS	0x004	/* '*' in allowed domains matches a label part */
#define CA_P_WILDCARDS		0x008	/* "*.example.com" certificates */
#define CA_P_LOCALHOST		0x010	/* "localhost" */
#define CA_P_IP_SANS		0x020	/* IP SANs (within the CIDRs) */
#define CA_P_ENFORCE_HOSTNAMES	0x040	/* LDH only; off admits '_' */
#define CA_P_STORE		0x080	/* ledger keeps the certificate */
#define CA_P_REQUIRE_CN		0x100	/* refuse a CSR without CN */

struct ca_cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

/*
 * A profile: the policy of one kind of certificate.  ca_profile_init sets
 * the safe defaults (25 h TTL and max, truncate at issuer expiry, P-256,
 * P-384, Ed25519 and RSA of exactly 2048, 3072 or 4096 bits, digitalSignature, serverAuth and
 * clientAuth, hostnames enforced, bare and subdomains allowed, no
 * wildcards, no localhost, no IPs, store on); setters add to lists and
 * refuse malformed or oversize values.
 */
struct ca_profile {
	char name[CA_MAX_ID + 1];
	const struct ca_issuer *issuer;	/* borrowed */
	unsigned flags;			/* CA_P_* */
	char domains[CA_MAX_DOMAINS][CA_MAX_DNS + 1];
	size_t ndomains;
	struct ca_cidr cidrs[CA_MAX_CIDRS];
	size_t ncidrs;
	char uri_patterns[CA_MAX_URI_PATTERNS][CA_MAX_URI + 1];
	size_t nuri_patterns;
	unsigned key_types;		/* CA_KEY_* */
	unsigned rsa_sizes;		/* CA_RSA_*: exact modulus sizes */
	int64_t default_ttl, max_ttl;	/* seconds */
	enum ca_expiry on_issuer_expiry;
	unsigned key_usage;		/* CA_KU_* */
	unsigned ext_key_usage;		/* CA_EKU_* */
	char subject[CA_ATTR_MAX][CA_MAX_ATTR + 1];
	char roles[CA_MAX_ROLES][CA_MAX_ID + 1];
	size_t nroles;
};
int ca_profile_init(struct ca_profile *p, const char *name,
    const struct ca_issuer *issuer);
int ca_profile_add_domain(struct ca_profile *p, const char *domain);
int ca_profile_add_cidr(struct ca_profile *p, const char *cidr);
int ca_profile_add_uri_pattern(struct ca_profile *p, const char *pattern);
int ca_profile_add_role(struct ca_profile *p, const char *role);
int ca_profile_set_subject(struct ca_profile *p, enum ca_attr a,
    const char *value);
int ca_profile_set_ttl(struct ca_profile *p, int64_t default_ttl,
    int64_t max_ttl);

/* A tenant: one deployment with its own issuers and profiles (borrowed). */
struct ca_tenant {
	char name[CA_MAX_ID + 1];
	struct ca_issuer *issuers[CA_MAX_ISSUERS];
	size_t nissuers;
	struct ca_profile *profiles[CA_MAX_PROFILES];
	size_t nprofiles;
};
int ca_tenant_init(struct ca_tenant *t, const char *name);
int ca_tenant_add_issuer(struct ca_tenant *t, struct ca_issuer *iss);
int ca_tenant_add_profile(struct ca_tenant *t, struct ca_profile *p);
/* The tenant's profile of that name, or NULL: never another tenant's. */
const struct ca_profile *ca_tenant_profile(const struct ca_tenant *t,
    const char *name);

/*
 * CSR evidence.  ca_csr_parse decodes strict DER PKCS#10 (or one PEM
 * "CERTIFICATE REQUEST" block), checks the key and the signature
 * algorithm, records the requested names and refuses dangerous
 * extension requests; it does not check the signature (ca_csr_verify
 * does: proof of possession) nor the profile (ca_csr_check_policy).
 * Pointers into the input stay valid only while the input does.
 */
enum ca_key_kind { CA_KEY_KIND_NONE, CA_KEY_KIND_RSA, CA_KEY_KIND_EC,
	CA_KEY_KIND_ED25519 };

enum ca_name_type { CA_NAME_DNS, CA_NAME_IP, CA_NAME_URI };
struct ca_name {
	enum ca_name_type type;
	const uint8_t *val;	/* into the CSR: not NUL-terminated */
	size_t len;		/* 4 or 16 for IPs */
};

struct ca_csr {
	const uint8_t *der;	/* the whole DER request */
	size_t der_len;
	const uint8_t *cri;	/* CertificationRequestInfo, signed */
	size_t cri_len;
	const uint8_t *spki;	/* SubjectPublicKeyInfo, copied verbatim */
	size_t spki_len;
	const uint8_t *key_bits; /* subjectPublicKey contents (no pad byte) */
	size_t key_bits_len;
	const uint8_t *sig;	/* signature BIT STRING contents */
	size_t sig_len;
	const uint8_t *cn;	/* commonName value, or NULL */
	size_t cn_len;
	enum ca_key_kind kind;
	unsigned key_type;	/* one CA_KEY_* bit */
	unsigned key_bits_n;	/* RSA modulus bits or curve bits */
	int sig_md;		/* NID of the CSR signature digest, 0 = none */
	struct ca_name names[CA_MAX_NAMES];
	size_t nnames;
	unsigned req_ku;	/* keyUsage bits requested, for policy */
	unsigned req_eku;	/* known EKUs requested */
	int req_eku_other;	/* an EKU we do not know was requested */
	uint8_t *pem_der;	/* owned DER when the input was PEM */
};
int ca_csr_parse(const uint8_t *in, size_t len, struct ca_csr *csr,
    struct ca_err *err);
int ca_csr_verify(const struct ca_csr *csr, struct ca_err *err);
void ca_csr_free(struct ca_csr *csr);

/* Checks one DNS name's syntax (wildcards only if allowed). */
int ca_dns_check(const uint8_t *name, size_t len, unsigned flags,
    struct ca_err *err);
/*
 * The profile's key_usage for a key of this kind: keyEncipherment and
 * dataEncipherment only for RSA (RFC 5480 3, RFC 8410 5), keyAgreement
 * only for EC.  One profile may so say { "digitalSignature",
 * "keyEncipherment" } for TLS servers of either key type (RFC 8446 has
 * no RSA key transport, TLS 1.2's RSA key exchange needs the bit).
 */
unsigned ca_profile_ku(const struct ca_profile *p, enum ca_key_kind kind);
/* Checks one name against the profile (ACME newOrder, before a CSR). */
int ca_policy_name(const struct ca_profile *p, const struct ca_name *n,
    struct ca_err *err);
/* Checks the CSR's names and key against the profile. */
int ca_csr_check_policy(const struct ca_csr *csr, const struct ca_profile *p,
    struct ca_err *err);

/*
 * The issuer's chain against a profile (CA_OK or CA_ERR_POLICY with the
 * constraint named).  ca_chain_check_profile: what every certificate of
 * the profile needs (a chain a verifier accepts: CA, keyCertSign, path
 * lengths; the profile's extKeyUsage within every CA's that has one);
 * ca_check runs it before signing.  ca_chain_check_domain, for warnings
 * at load: whether any name the profile's domain i allows is within the
 * chain's name constraints.
 */
int ca_chain_check_profile(const struct ca_profile *p, struct ca_err *err);
int ca_chain_check_domain(const struct ca_profile *p, size_t i,
    struct ca_err *err);

/*
 * Lint.  ca_lint_tbs runs every applicable lint over TBSCertificate DER;
 * ca_lint_cert over a whole certificate (for the ceremony).  mode says
 * whether the certificate is a leaf or a CA.  The first failing lint
 * refuses, with its name in err->lint.
 */
enum ca_lint_mode { CA_LINT_LEAF = 0, CA_LINT_CA = 1 };
int ca_lint_tbs(const uint8_t *tbs, size_t len, enum ca_lint_mode mode,
    struct ca_err *err);
int ca_lint_cert(const uint8_t *der, size_t len, enum ca_lint_mode mode,
    struct ca_err *err);
/*
 * A leaf's TBS with its issuer: also the lints that need the chain
 * (e_signet_issuer_name_constraints: OpenSSL's own name-constraint check
 * over these bytes).  Such a lint refuses with CA_ERR_POLICY.
 */
int ca_lint_tbs_issued(const uint8_t *tbs, size_t len,
    const struct ca_issuer *iss, struct ca_err *err);
/* The lint table, for documentation and tests: names in order. */
size_t ca_lint_count(void);
const char *ca_lint_name(size_t i);

/* Issuance. */
enum ca_stage { CA_STAGE_PARSE, CA_STAGE_POP, CA_STAGE_POLICY,
	CA_STAGE_BUILD, CA_STAGE_LINT, CA_STAGE_SIGN, CA_STAGE_OUT,
	CA_STAGE_MAX };
const char *ca_stage_name(enum ca_stage s);

/* Who asks: derived by the engine itself from the client's evidence. */
struct ca_evidence {
	const char *role;	/* the client's role, checked against the profile */
	const char *subject;	/* for audit: client identity, may be NULL */
};

/* What a hook sees of a certificate about to be signed or returned. */
struct ca_issued {
	const struct ca_tenant *tenant;
	const struct ca_profile *profile;
	uint8_t serial[CA_SERIAL_LEN];
	time_t not_before, not_after;
	int truncated;		/* notAfter cut at the issuer's notAfter */
	const uint8_t *tbs;	/* linted bytes, about to be signed */
	size_t tbs_len;
	const uint8_t *cert;	/* NULL in reserve, the certificate in commit */
	size_t cert_len;
	const char *subject;	/* "CN=..,O=..", as the ledger records it */
	const char *names;	/* the SANs, comma-separated, IPs printed */
};

/*
 * Ledger and audit plug in here (DESIGN rule 4).  reserve runs after the
 * lint and before the signature (reserve the serial, write intent);
 * commit runs after the signature and before the certificate is handed
 * back (make the row and audit entry durable).  A non-zero return refuses
 * issuance with CA_ERR_HOOK, the hook and its return in the struct
 * ca_err: fail closed.  Either may be NULL.
 */
struct ca_hooks {
	int (*reserve)(void *arg, const struct ca_issued *c);
	int (*commit)(void *arg, const struct ca_issued *c);
	void *arg;
};

struct ca_request {
	const uint8_t *csr;	/* DER or PEM */
	size_t csr_len;
	const struct ca_tenant *tenant;
	const char *profile;	/* looked up in tenant only */
	int64_t ttl;		/* seconds, 0 = profile default */
	const struct ca_evidence *evidence;
	time_t now;		/* 0 = time(NULL); tests fix the clock */
};

struct ca_result {
	uint8_t *cert;		/* DER, owned: ca_result_free */
	size_t cert_len;
	const struct ca_issuer *issuer;	/* chain: issuer->cert, ->chain */
	uint8_t serial[CA_SERIAL_LEN];
	time_t not_before, not_after;
	int truncated;
};

/* Nanoseconds per stage of one issuance, filled if given. */
struct ca_timing {
	uint64_t ns[CA_STAGE_MAX];
};

/*
 * Issuance in three steps, so that a caller may look at the parsed request
 * between them (the engine holds an enrollment token's names against it)
 * and the CSR is parsed once.  ca_parse_request parses req's CSR into a
 * new struct ca_prepared (*out; ca_prepared_free).  ca_check finds the
 * profile in the tenant, checks the role, proof of possession, policy and
 * validity, and fills in the profile, the validity and the subject and
 * names as the ledger records them.  ca_sign_out builds and lints the
 * TBSCertificate, reserves the serial (hooks->reserve), signs, assembles
 * and commits (hooks->commit) into res.  req (its CSR bytes, tenant and
 * evidence) is borrowed and must outlive the struct ca_prepared; timing,
 * if not NULL, is filled in by all three.  ca_issue runs the three.
 */
struct ca_prepared {
	struct ca_request req;		/* borrowed pointers, as given */
	struct ca_csr csr;		/* points into req.csr */
	const struct ca_profile *profile;	/* ca_check: the tenant's */
	time_t not_before, not_after;
	int truncated;
	char subject[CA_MAX_SUBJECT_TEXT + 1];
	char names[CA_MAX_NAMES_TEXT + 1];
	struct ca_timing *tm;
	uint64_t t0;
};
int ca_parse_request(const struct ca_request *req, struct ca_timing *timing,
    struct ca_prepared **out, struct ca_err *err);
int ca_check(struct ca_prepared *prep, struct ca_err *err);
int ca_sign_out(struct ca_prepared *prep, const struct ca_hooks *hooks,
    struct ca_result *res, struct ca_err *err);
void ca_prepared_free(struct ca_prepared *prep);

int ca_issue(const struct ca_request *req, const struct ca_hooks *hooks,
    struct ca_result *res, struct ca_timing *timing, struct ca_err *err);
void ca_result_free(struct ca_result *res);

#endif /* SIGNET_CA_H */
