/*
 * Name constraints (RFC 5280 4.2.1.10) matched as the verifier our users
 * run matches them: OpenSSL 3's rules, including where they are stricter
 * or looser than the RFC, because a certificate that `openssl verify`
 * refuses is useless however the RFC reads.
 *
 * - DNS: an empty base matches everything; otherwise the name ends with
 *   the base, case-insensitively, and either the base starts with '.'
 *   or the name has a '.' just before the base ("corp.example.com"
 *   matches itself and "a.corp.example.com", not "xcorp.example.com";
 *   ".corp.example.com" matches only names below it).
 * - email: a base with '@' is one mailbox (local part case-sensitive); a
 *   base starting with '.' matches any mailbox at a host below it; any
 *   other base matches mailboxes at exactly that host.
 * - URI: the host between "scheme://" and the first ':' or else '/' is
 *   compared like an email host: ".example.com" matches hosts below it,
 *   "example.com" only that host.  A URI without "//" cannot be checked
 *   and a verifier then refuses the certificate.
 * - IP: the address under the base's mask, IPv4 never against IPv6.
 */
#include <string.h>

#include "ca_local.h"

static int
ca_nc_casecmp(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i;
	uint8_t x, y;

	for (i = 0; i < n; i++) {
		x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i];
		y = b[i] >= 'A' && b[i] <= 'Z' ? b[i] + 32 : b[i];
		if (x != y)
			return 1;
	}
	return 0;
}

static int
ca_nc_dns(const uint8_t *n, size_t nl, const uint8_t *b, size_t bl)
{
	if (bl == 0)
		return 1;
	if (nl < bl)
		return 0;
	if (nl > bl && b[0] != '.' && n[nl - bl - 1] != '.')
		return 0;
	return ca_nc_casecmp(n + nl - bl, b, bl) == 0;
}

/* The host part (after "//", up to ':' or '/') or -1 if there is none. */
static int
ca_nc_uri_host(const uint8_t *u, size_t ul, size_t *off, size_t *hl)
{
	const uint8_t *p, *h, *end = u + ul;

	if ((p = memchr(u, ':', ul)) == NULL || end - p < 3 || p[1] != '/' ||
	    p[2] != '/')
		return -1;
	h = p + 3;
	if ((p = memchr(h, ':', (size_t)(end - h))) == NULL)
		p = memchr(h, '/', (size_t)(end - h));
	*off = (size_t)(h - u);
	*hl = (size_t)((p != NULL ? p : end) - h);
	return *hl == 0 ? -1 : 0;
}

static int
ca_nc_host(const uint8_t *h, size_t hl, const uint8_t *b, size_t bl)
{
	if (bl > 0 && b[0] == '.')
		return hl > bl && ca_nc_casecmp(h + hl - bl, b, bl) == 0;
	return hl == bl && ca_nc_casecmp(h, b, bl) == 0;
}

static const uint8_t *
ca_nc_rchr(const uint8_t *s, size_t n, uint8_t c)
{
	while (n > 0)
		if (s[--n] == c)
			return s + n;
	return NULL;
}

static int
ca_nc_email(const uint8_t *e, size_t el, const uint8_t *b, size_t bl)
{
	const uint8_t *eat = ca_nc_rchr(e, el, '@');
	const uint8_t *bat = ca_nc_rchr(b, bl, '@'), *bh = b, *eh;
	size_t ehl, bhl;

	if (eat == NULL)
		return -1;
	if (bat == NULL && bl > 0 && b[0] == '.')
		return el > bl && ca_nc_casecmp(e + el - bl, b, bl) == 0;
	if (bat != NULL) {
		/* A whole mailbox: the local part is case-sensitive. */
		if (bat != b) {
			if (bat - b != eat - e)
				return 0;
			if (memchr(b, 0, (size_t)(bat - b)) != NULL ||
			    memchr(e, 0, (size_t)(eat - e)) != NULL)
				return -1;
			if (memcmp(b, e, (size_t)(eat - e)) != 0)
				return 0;
		}
		bh = bat + 1;
	}
	/* The host after '@' is compared whole, case-insensitively. */
	eh = eat + 1;
	ehl = el - (size_t)(eh - e);
	bhl = bl - (size_t)(bh - b);
	return bhl == ehl && ca_nc_casecmp(bh, eh, ehl) == 0;
}

static int
ca_nc_ip(const uint8_t *ip, size_t il, const uint8_t *b, size_t bl)
{
	size_t i;

	if ((il != 4 && il != 16) || (bl != 8 && bl != 32))
		return -1;
	if (il * 2 != bl)
		return 0;
	for (i = 0; i < il; i++)
		if ((ip[i] & b[il + i]) != (b[i] & b[il + i]))
			return 0;
	return 1;
}

int
ca_nc_within(enum ca_nc_type t, const uint8_t *name, size_t len,
    const uint8_t *base, size_t blen)
{
	size_t off, hl;

	switch (t) {
	case CA_NC_DNS:
		return ca_nc_dns(name, len, base, blen);
	case CA_NC_EMAIL:
		return ca_nc_email(name, len, base, blen);
	case CA_NC_URI:
		if (ca_nc_uri_host(name, len, &off, &hl) != 0)
			return -1;
		return ca_nc_host(name + off, hl, base, blen);
	case CA_NC_IP:
		return ca_nc_ip(name, len, base, blen);
	}
	return -1;
}

/*
 * A commonName a verifier reads as a DNS name when the certificate has
 * no DNS SAN: letters, digits and '_', with '-' and '.' inside only, no
 * '.' next to '.' or '-', and at least two labels (OpenSSL's cn2dnsid).
 */
int
ca_cn_is_dnsid(const uint8_t *cn, size_t len)
{
	size_t i;
	int dns = 0;
	uint8_t c;

	while (len > 0 && cn[len - 1] == '\0')
		len--;
	for (i = 0; i < len; i++) {
		c = cn[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_')
			continue;
		if (i > 0 && i < len - 1) {
			if (c == '-')
				continue;
			if (c == '.' && cn[i + 1] != '.' && cn[i - 1] != '-' &&
			    cn[i + 1] != '-') {
				dns = 1;
				continue;
			}
		}
		return 0;
	}
	return dns;
}
