/*
 * A checked CSR against one profile: its key, every requested name and
 * any usage it asks for.  Names are only ever compared with the profile
 * of the requesting tenant (DESIGN rule 7), so a name that only another
 * tenant's profile allows is refused like any unknown name.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ca_local.h"

int
ca_ip_in_cidr(const uint8_t *ip, size_t len, const struct ca_cidr *c)
{
	unsigned full, rem;

	if ((c->family == AF_INET && len != 4) ||
	    (c->family == AF_INET6 && len != 16))
		return 0;
	full = c->prefix / 8;
	rem = c->prefix % 8;
	if (memcmp(ip, c->addr, full) != 0)
		return 0;
	if (rem == 0)
		return 1;
	return ((ip[full] ^ c->addr[full]) & (0xff00 >> rem)) == 0;
}

/* name is "sub.domain" for a subdomain of domain: a dot boundary. */
static int
ca_is_subdomain(const uint8_t *name, size_t len, const char *domain)
{
	size_t dl = strlen(domain);

	return len > dl + 1 && name[len - dl - 1] == '.' &&
	    memcmp(name + len - dl, domain, dl) == 0;
}

static int
ca_domain_allows(const struct ca_profile *p, const char *d,
    const uint8_t *name, size_t len)
{
	size_t dl = strlen(d);

	if ((p->flags & CA_P_GLOB_DOMAINS) && strchr(d, '*') != NULL)
		return ca_glob(d, dl, name, len, '.');
	if ((p->flags & CA_P_BARE_DOMAINS) && len == dl &&
	    memcmp(name, d, dl) == 0)
		return 1;
	return (p->flags & CA_P_SUBDOMAINS) && ca_is_subdomain(name, len, d);
}

static int
ca_policy_dns(const struct ca_profile *p, const struct ca_name *n,
    struct ca_err *err)
{
	const uint8_t *base = n->val;
	size_t blen = n->len, i;
	int rc;

	if ((rc = ca_dns_check(n->val, n->len, p->flags, err)) != CA_OK)
		return rc;
	if (n->len == 9 && memcmp(n->val, "localhost", 9) == 0) {
		if (p->flags & CA_P_LOCALHOST)
			return CA_OK;
		return ca_fail(err, CA_ERR_NAME, "DNS name \"localhost\" is not "
		    "allowed by profile %s", p->name);
	}
	for (i = 0; i < p->ndomains; i++) {
		if (ca_domain_allows(p, p->domains[i], n->val, n->len))
			return CA_OK;
		/* "*.a.example.com" stands for any subdomain of a.example.com. */
		if (n->len > 2 && n->val[0] == '*') {
			base = n->val + 2;
			blen = n->len - 2;
			if ((p->flags & CA_P_SUBDOMAINS) &&
			    (ca_is_subdomain(base, blen, p->domains[i]) ||
			    (blen == strlen(p->domains[i]) &&
			    memcmp(base, p->domains[i], blen) == 0)))
				return CA_OK;
		}
	}
	return ca_fail(err, CA_ERR_NAME, "DNS name \"%.*s\" is not allowed by "
	    "profile %s", (int)n->len, (const char *)n->val, p->name);
}

static int
ca_policy_ip(const struct ca_profile *p, const struct ca_name *n,
    struct ca_err *err)
{
	char txt[INET6_ADDRSTRLEN];
	size_t i;

	inet_ntop(n->len == 4 ? AF_INET : AF_INET6, n->val, txt, sizeof(txt));
	if (!(p->flags & CA_P_IP_SANS))
		return ca_fail(err, CA_ERR_NAME, "IP address SAN %s: profile %s "
		    "allows no IP SANs", txt, p->name);
	for (i = 0; i < p->ncidrs; i++)
		if (ca_ip_in_cidr(n->val, n->len, &p->cidrs[i]))
			return CA_OK;
	return ca_fail(err, CA_ERR_NAME, "IP address SAN %s is outside the "
	    "CIDRs of profile %s", txt, p->name);
}

static int
ca_policy_uri(const struct ca_profile *p, const struct ca_name *n,
    struct ca_err *err)
{
	size_t i;

	if (n->len == 0 || n->len > CA_MAX_URI)
		return ca_fail(err, CA_ERR_NAME, "URI SAN length %zu is outside "
		    "1..%d", n->len, CA_MAX_URI);
	/* RFC 3986 2: a URI has no controls, spaces or non-ASCII octets. */
	for (i = 0; i < n->len; i++)
		if (n->val[i] <= 0x20 || n->val[i] >= 0x7f)
			return ca_fail(err, CA_ERR_NAME, "URI SAN contains "
			    "octet 0x%02x", n->val[i]);
	if (memchr(n->val, ':', n->len) == NULL)
		return ca_fail(err, CA_ERR_NAME, "URI SAN has no scheme");
	for (i = 0; i < p->nuri_patterns; i++)
		if (ca_glob(p->uri_patterns[i], strlen(p->uri_patterns[i]),
		    n->val, n->len, '/'))
			return CA_OK;
	return ca_fail(err, CA_ERR_NAME, "URI SAN \"%.*s\" is not allowed by "
	    "profile %s", (int)n->len, (const char *)n->val, p->name);
}

static unsigned
ca_rsa_size(unsigned bits)
{
	return bits == 2048 ? CA_RSA_2048 : bits == 3072 ? CA_RSA_3072 :
	    bits == 4096 ? CA_RSA_4096 : 0;
}

static const char *
ca_rsa_sizes_txt(unsigned m)
{
	static const char *const txt[8] = { "no", "2048", "3072",
	    "2048 or 3072", "4096", "2048 or 4096", "3072 or 4096",
	    "2048, 3072 or 4096" };

	return txt[m & CA_RSA_ALL];
}

static int
ca_policy_key(const struct ca_csr *csr, const struct ca_profile *p,
    struct ca_err *err)
{
	static const char *const names[] = { "RSA", "P-256", "P-384", "P-521",
		"Ed25519" };
	size_t i;

	for (i = 0; i < 5 && csr->key_type != (1u << i); i++)
		;
	if (i == 5 || !(p->key_types & csr->key_type))
		return ca_fail(err, CA_ERR_KEY, "key type %s is not allowed by "
		    "profile %s", i < 5 ? names[i] : "?", p->name);
	/* policy: "rsa2048" means 2048 bits, not "2048 or more" (issue 13). */
	if (csr->kind == CA_KEY_KIND_RSA && !(p->rsa_sizes &
	    ca_rsa_size(csr->key_bits_n)))
		return ca_fail(err, CA_ERR_KEY, "RSA key of %u bits: profile %s "
		    "allows RSA of exactly %s bits", csr->key_bits_n, p->name,
		    ca_rsa_sizes_txt(p->rsa_sizes));
	return CA_OK;
}

unsigned
ca_profile_ku(const struct ca_profile *p, enum ca_key_kind kind)
{
	unsigned ku = p->key_usage;

	if (kind != CA_KEY_KIND_RSA)
		ku &= ~(unsigned)(CA_KU_KEY_ENCIPHERMENT |
		    CA_KU_DATA_ENCIPHERMENT);
	if (kind != CA_KEY_KIND_EC)
		ku &= ~(unsigned)CA_KU_KEY_AGREEMENT;
	return ku;
}

/* Usages are never copied, but asking for more than the profile refuses. */
static int
ca_policy_usage(const struct ca_csr *csr, const struct ca_profile *p,
    struct ca_err *err)
{
	unsigned ku = ca_profile_ku(p, csr->kind);

	if (csr->req_ku & ~ku)
		return ca_fail(err, CA_ERR_EXT, "CSR requests keyUsage bits "
		    "0x%03x outside profile %s for its key type",
		    csr->req_ku & ~ku, p->name);
	if ((csr->req_eku & ~p->ext_key_usage) || csr->req_eku_other)
		return ca_fail(err, CA_ERR_EXT, "CSR requests an extKeyUsage "
		    "outside profile %s", p->name);
	return CA_OK;
}

/* Appends len bytes of s to out at *n, as far as they fit. */
static void
ca_text_put(char *out, size_t size, size_t *n, const char *s, size_t len)
{
	size_t room = *n + 1 < size ? size - *n - 1 : 0;

	if (room > 0)
		memcpy(out + *n, s, len < room ? len : room);
	*n += len;
}

size_t
ca_names_text(const struct ca_csr *csr, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	const struct ca_name *nm;
	size_t i, n = 0;

	for (i = 0; i < csr->nnames; i++) {
		nm = &csr->names[i];
		if (i > 0)
			ca_text_put(out, size, &n, ",", 1);
		if (nm->type == CA_NAME_IP) {
			if (inet_ntop(nm->len == 4 ? AF_INET : AF_INET6,
			    nm->val, ip, sizeof(ip)) == NULL)
				ip[0] = '\0';
			ca_text_put(out, size, &n, ip, strlen(ip));
		} else
			ca_text_put(out, size, &n, (const char *)nm->val,
			    nm->len);
	}
	if (size > 0)
		out[n < size ? n : size - 1] = '\0';
	return n;
}

/*
 * policy (issue 13): every name is recorded (ledger, audit, search), so
 * the names as text must fit the record; more is refused, never cut.
 */
static int
ca_policy_names_text(const struct ca_csr *csr, struct ca_err *err)
{
	size_t n = ca_names_text(csr, NULL, 0);

	if (n > CA_MAX_NAMES_TEXT)
		return ca_fail(err, CA_ERR_NAME, "the %zu names take %zu bytes "
		    "as text and at most %d are recorded (ledger, audit, "
		    "search): request fewer or shorter names", csr->nnames, n,
		    CA_MAX_NAMES_TEXT);
	return CA_OK;
}

int
ca_policy_name(const struct ca_profile *p, const struct ca_name *n,
    struct ca_err *err)
{
	if (n->type == CA_NAME_DNS)
		return ca_policy_dns(p, n, err);
	if (n->type == CA_NAME_IP)
		return ca_policy_ip(p, n, err);
	return ca_policy_uri(p, n, err);
}

int
ca_csr_check_policy(const struct ca_csr *csr, const struct ca_profile *p,
    struct ca_err *err)
{
	size_t i;
	int rc;

	if (csr == NULL || p == NULL)
		return ca_fail(err, CA_ERR_ARG, "no CSR or profile");
	if ((rc = ca_policy_key(csr, p, err)) != CA_OK ||
	    (rc = ca_policy_usage(csr, p, err)) != CA_OK ||
	    (rc = ca_policy_names_text(csr, err)) != CA_OK)
		return rc;
	if ((p->flags & CA_P_REQUIRE_CN) && csr->cn == NULL)
		return ca_fail(err, CA_ERR_NAME, "profile %s requires a "
		    "commonName", p->name);
	for (i = 0; i < csr->nnames; i++) {
		const struct ca_name *n = &csr->names[i];

		if (n->type == CA_NAME_DNS)
			rc = ca_policy_dns(p, n, err);
		else if (n->type == CA_NAME_IP)
			rc = ca_policy_ip(p, n, err);
		else
			rc = ca_policy_uri(p, n, err);
		if (rc != CA_OK)
			return rc;
	}
	return CA_OK;
}
