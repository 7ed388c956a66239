/*
 * DNS name syntax (RFC 1035 2.3.1, RFC 5890 and RFC 3492 for A-labels,
 * RFC 6125 6.4.3 for wildcards) and the small glob used by profiles.
 */
#include <string.h>

#include "ca_local.h"

/* RFC 3492 6.2: decodes a Punycode label body; 0 if it is well formed. */
static uint32_t
ca_puny_adapt(uint32_t delta, uint32_t npoints, int first)
{
	uint32_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / npoints;
	while (delta > ((36 - 1) * 26) / 2) {
		delta /= 36 - 1;
		k += 36;
	}
	return k + (36 - 1 + 1) * delta / (delta + 38);
}

static uint32_t
ca_puny_digit(uint8_t c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '0' && c <= '9')
		return c - '0' + 26;
	return 36;
}

/*
 * RFC 3492 6.2: decodes a Punycode label body (base 36, tmin 1, tmax 26,
 * skew 38, damp 700); 0 if it is well formed and encodes something that
 * is not plain ASCII.
 */
static int
ca_puny_ok(const uint8_t *s, size_t len)
{
	uint32_t n = 128, i = 0, bias = 72, out = 0, oldi, w, k, t, digit;
	size_t in = 0, j;
	int first = 1, nonascii = 0;

	for (j = 0; j < len; j++)
		if (s[j] == '-')
			in = j + 1;
	out = in > 0 ? (uint32_t)(in - 1) : 0;
	while (in < len) {
		for (oldi = i, w = 1, k = 36; ; k += 36) {
			if (in >= len)
				return -1;
			if ((digit = ca_puny_digit(s[in++])) >= 36 ||
			    digit > (UINT32_MAX - i) / w)
				return -1;
			i += digit * w;
			t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
			if (digit < t)
				break;
			if (w > UINT32_MAX / (36 - t))
				return -1;
			w *= 36 - t;
		}
		out++;
		bias = ca_puny_adapt(i - oldi, out, first);
		first = 0;
		if (i / out > 0x10ffff - n)
			return -1;
		n += i / out;
		i %= out;
		/* RFC 5892: no C1 controls or surrogates in a U-label. */
		if (n < 0xa0 || (n >= 0xd800 && n <= 0xdfff))
			return -1;
		nonascii = 1;
		i++;
	}
	/* An A-label that encodes only ASCII is not an A-label. */
	return nonascii ? 0 : -1;
}

static int
ca_label_check(const uint8_t *l, size_t len, unsigned flags,
    struct ca_err *err)
{
	size_t i;

	if (len == 0)
		return ca_fail(err, CA_ERR_NAME, "DNS name has an empty label");
	if (len > CA_MAX_LABEL)
		return ca_fail(err, CA_ERR_NAME, "DNS label longer than %d "
		    "octets", CA_MAX_LABEL);
	for (i = 0; i < len; i++) {
		uint8_t ch = l[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-')
			continue;
		if (ch == '_' && !(flags & CA_P_ENFORCE_HOSTNAMES))
			continue;
		if (ch >= 'A' && ch <= 'Z')
			return ca_fail(err, CA_ERR_NAME, "DNS name must be "
			    "lowercase");
		if (ch == 0)
			return ca_fail(err, CA_ERR_NAME, "DNS name contains "
			    "NUL");
		return ca_fail(err, CA_ERR_NAME, "DNS name contains character "
		    "0x%02x (letters, digits, hyphen only)", ch);
	}
	/* RFC 1035 2.3.1 / RFC 5891 4.2.3.1: no hyphen at either end. */
	if (l[0] == '-' || l[len - 1] == '-')
		return ca_fail(err, CA_ERR_NAME, "DNS label starts or ends "
		    "with a hyphen");
	/* RFC 5891 4.2.3.1: "??--" is reserved for A-labels. */
	if (len >= 4 && l[2] == '-' && l[3] == '-') {
		if (l[0] != 'x' || l[1] != 'n')
			return ca_fail(err, CA_ERR_NAME, "DNS label has "
			    "hyphens in positions 3 and 4 but is not an "
			    "A-label");
		if (len == 4 || ca_puny_ok(l + 4, len - 4) != 0)
			return ca_fail(err, CA_ERR_NAME, "DNS label is not a "
			    "valid IDN A-label (xn--)");
	}
	return CA_OK;
}

int
ca_dns_check(const uint8_t *name, size_t len, unsigned flags,
    struct ca_err *err)
{
	size_t start = 0, i, labels = 0;
	int rc;

	if (len == 0 || len > CA_MAX_DNS)
		return ca_fail(err, CA_ERR_NAME, "DNS name length %zu is "
		    "outside 1..%d", len, CA_MAX_DNS);
	if (memchr(name, '\0', len) != NULL)
		return ca_fail(err, CA_ERR_NAME, "DNS name contains NUL");
	if (name[len - 1] == '.')
		return ca_fail(err, CA_ERR_NAME, "DNS name has a trailing dot");
	/* RFC 6125 6.4.3: only a whole leftmost label may be a wildcard. */
	if (len >= 2 && name[0] == '*' && name[1] == '.') {
		if (!(flags & CA_P_WILDCARDS))
			return ca_fail(err, CA_ERR_NAME, "wildcard DNS name "
			    "not allowed by the profile");
		start = 2;
		if (memchr(name + 2, '.', len - 2) == NULL)
			return ca_fail(err, CA_ERR_NAME, "wildcard over a "
			    "top-level domain (*.tld) is never issued");
	}
	for (i = start; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		if (i - start == 1 && name[start] == '*')
			return ca_fail(err, CA_ERR_NAME, "wildcard is allowed "
			    "only as the whole leftmost label");
		if ((rc = ca_label_check(name + start, i - start, flags,
		    err)) != CA_OK)
			return rc;
		labels++;
		start = i + 1;
	}
	return labels > 0 ? CA_OK : ca_fail(err, CA_ERR_NAME, "empty DNS name");
}

/*
 * '*' matches any run of characters other than sep (so a domain glob
 * never spans labels and a URI glob never spans path segments).
 */
int
ca_glob(const char *pat, size_t plen, const uint8_t *s, size_t slen,
    char sep)
{
	size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;

	while (i < slen) {
		if (p < plen && pat[p] == '*') {
			star_p = p++;
			star_i = i;
		} else if (p < plen && (uint8_t)pat[p] == s[i]) {
			p++;
			i++;
		} else if (star_p != (size_t)-1 && s[star_i] != (uint8_t)sep) {
			p = star_p + 1;
			i = ++star_i;
		} else
			return 0;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}
