/*
 * Tenants, issuers and profiles: plain structs with initialisers and
 * setters that refuse malformed or oversize values.  The configuration
 * parser (elsewhere) calls these; nothing here reads files.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca_local.h"

/* Copies a NUL-terminated value that must fit and be non-empty. */
static int
ca_set(char *dst, size_t size, const char *src)
{
	size_t len;

	if (src == NULL || (len = strlen(src)) == 0 || len >= size)
		return CA_ERR_ARG;
	memcpy(dst, src, len + 1);
	return CA_OK;
}

int
ca_profile_init(struct ca_profile *p, const char *name,
    const struct ca_issuer *issuer)
{
	memset(p, 0, sizeof(*p));
	if (ca_set(p->name, sizeof(p->name), name) != CA_OK)
		return CA_ERR_ARG;
	p->issuer = issuer;
	p->flags = CA_P_BARE_DOMAINS | CA_P_SUBDOMAINS |
	    CA_P_ENFORCE_HOSTNAMES | CA_P_STORE;
	p->key_types = CA_KEY_RSA | CA_KEY_P256 | CA_KEY_P384 | CA_KEY_ED25519;
	p->rsa_sizes = CA_RSA_ALL;
	p->default_ttl = CA_DEFAULT_TTL;
	p->max_ttl = CA_DEFAULT_TTL;
	p->on_issuer_expiry = CA_EXPIRY_TRUNCATE;
	p->key_usage = CA_KU_DIGITAL_SIGNATURE;
	p->ext_key_usage = CA_EKU_SERVER_AUTH | CA_EKU_CLIENT_AUTH;
	return CA_OK;
}

int
ca_profile_add_domain(struct ca_profile *p, const char *domain)
{
	unsigned flags = CA_P_ENFORCE_HOSTNAMES;
	const char *check = domain;

	if (domain == NULL || p->ndomains >= CA_MAX_DOMAINS)
		return CA_ERR_ARG;
	/* A glob domain is checked with its '*' standing for a letter. */
	if (strchr(domain, '*') != NULL) {
		char tmp[CA_MAX_DNS + 1];
		size_t i;

		if (ca_set(tmp, sizeof(tmp), domain) != CA_OK)
			return CA_ERR_ARG;
		for (i = 0; tmp[i] != '\0'; i++)
			if (tmp[i] == '*')
				tmp[i] = 'a';
		if (ca_dns_check((const uint8_t *)tmp, strlen(tmp), flags,
		    NULL) != CA_OK)
			return CA_ERR_ARG;
		check = NULL;
	}
	if (check != NULL && ca_dns_check((const uint8_t *)check,
	    strlen(check), flags, NULL) != CA_OK)
		return CA_ERR_ARG;
	if (ca_set(p->domains[p->ndomains], sizeof(p->domains[0]),
	    domain) != CA_OK)
		return CA_ERR_ARG;
	p->ndomains++;
	return CA_OK;
}

/* "10.0.0.0/8" or "2001:db8::/32"; host bits must be zero. */
int
ca_profile_add_cidr(struct ca_profile *p, const char *cidr)
{
	char addr[INET6_ADDRSTRLEN + 1], *slash, *end;
	struct ca_cidr *c;
	unsigned long pfx;
	unsigned max, b;

	if (cidr == NULL || p->ncidrs >= CA_MAX_CIDRS ||
	    ca_set(addr, sizeof(addr), cidr) != CA_OK ||
	    (slash = strchr(addr, '/')) == NULL)
		return CA_ERR_ARG;
	*slash = '\0';
	c = &p->cidrs[p->ncidrs];
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, addr, c->addr) == 1)
		c->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, addr, c->addr) == 1)
		c->family = AF_INET6, max = 128;
	else
		return CA_ERR_ARG;
	pfx = strtoul(slash + 1, &end, 10);
	if (slash[1] == '\0' || *end != '\0' || pfx > max)
		return CA_ERR_ARG;
	c->prefix = (unsigned)pfx;
	/* The network address must be the range's first address. */
	for (b = c->prefix; b < max; b++)
		if (c->addr[b / 8] & (0x80 >> (b % 8)))
			return CA_ERR_ARG;
	p->ncidrs++;
	return CA_OK;
}

int
ca_profile_add_uri_pattern(struct ca_profile *p, const char *pattern)
{
	if (pattern == NULL || p->nuri_patterns >= CA_MAX_URI_PATTERNS ||
	    strchr(pattern, ':') == NULL)
		return CA_ERR_ARG;
	if (ca_set(p->uri_patterns[p->nuri_patterns],
	    sizeof(p->uri_patterns[0]), pattern) != CA_OK)
		return CA_ERR_ARG;
	p->nuri_patterns++;
	return CA_OK;
}

int
ca_profile_add_role(struct ca_profile *p, const char *role)
{
	if (p->nroles >= CA_MAX_ROLES ||
	    ca_set(p->roles[p->nroles], sizeof(p->roles[0]), role) != CA_OK)
		return CA_ERR_ARG;
	p->nroles++;
	return CA_OK;
}

/* RFC 5280 A.1: C is two PrintableString letters; others printable. */
int
ca_profile_set_subject(struct ca_profile *p, enum ca_attr a,
    const char *value)
{
	size_t i, len;

	if ((unsigned)a >= CA_ATTR_MAX || value == NULL)
		return CA_ERR_ARG;
	len = strlen(value);
	if (a == CA_ATTR_C && (len != 2 || value[0] < 'A' || value[0] > 'Z' ||
	    value[1] < 'A' || value[1] > 'Z'))
		return CA_ERR_ARG;
	for (i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return CA_ERR_ARG;
	if (len == 0) {
		p->subject[a][0] = '\0';
		return CA_OK;
	}
	return ca_set(p->subject[a], sizeof(p->subject[a]), value);
}

int
ca_profile_set_ttl(struct ca_profile *p, int64_t default_ttl, int64_t max_ttl)
{
	if (default_ttl <= 0 || max_ttl <= 0 || default_ttl > max_ttl)
		return CA_ERR_ARG;
	p->default_ttl = default_ttl;
	p->max_ttl = max_ttl;
	return CA_OK;
}

int
ca_tenant_init(struct ca_tenant *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	return ca_set(t->name, sizeof(t->name), name);
}

int
ca_tenant_add_issuer(struct ca_tenant *t, struct ca_issuer *iss)
{
	if (iss == NULL || t->nissuers >= CA_MAX_ISSUERS)
		return CA_ERR_ARG;
	t->issuers[t->nissuers++] = iss;
	return CA_OK;
}

int
ca_tenant_add_profile(struct ca_tenant *t, struct ca_profile *p)
{
	size_t i;

	if (p == NULL || p->issuer == NULL || t->nprofiles >= CA_MAX_PROFILES)
		return CA_ERR_ARG;
	/* A profile may only sign with one of its own tenant's issuers. */
	for (i = 0; i < t->nissuers && t->issuers[i] != p->issuer; i++)
		;
	if (i == t->nissuers || ca_tenant_profile(t, p->name) != NULL)
		return CA_ERR_ARG;
	t->profiles[t->nprofiles++] = p;
	return CA_OK;
}

const struct ca_profile *
ca_tenant_profile(const struct ca_tenant *t, const char *name)
{
	size_t i;

	if (t == NULL || name == NULL)
		return NULL;
	for (i = 0; i < t->nprofiles; i++)
		if (strcmp(t->profiles[i]->name, name) == 0)
			return t->profiles[i];
	return NULL;
}
