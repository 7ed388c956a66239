/*
 * RFC 7512 pkcs11: URIs.  A pure function over bytes: no allocation, no
 * I/O.  Only the path attributes Signet uses are accepted; an unknown
 * standard attribute, a duplicate or a bad percent escape is refused, so a
 * typo in a configuration never silently selects a different token.
 */
#include <stddef.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsm_local.h"

/* Percent-decodes in[0..len) into out (size bytes); text forbids NUL. */
static int
pct_decode(const uint8_t *in, size_t len, uint8_t *out, size_t size,
    size_t *outlen, int text)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		uint8_t c = in[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return HSM_ERR_URI;
			hi = OPENSSL_hexchar2int(in[i + 1]);
			lo = OPENSSL_hexchar2int(in[i + 2]);
			if (hi < 0 || lo < 0)
				return HSM_ERR_URI;
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
		} else if (c < 0x21 || c > 0x7e) {
			return HSM_ERR_URI;
		}
		if (text && c == '\0')
			return HSM_ERR_URI;
		if (n >= size)
			return HSM_ERR_URI;
		out[n++] = c;
	}
	*outlen = n;
	return HSM_OK;
}

struct uri_attr {
	const char *name;
	unsigned bit;
	size_t off;
	size_t size;
	int text;
};

#define A(n, b, f, t) \
	{ n, b, offsetof(struct hsm_uri, f), sizeof(((struct hsm_uri *)0)->f), t }
static const struct uri_attr path_attrs[] = {
	A("token", HSM_URI_TOKEN, token, 1),
	A("serial", HSM_URI_SERIAL, serial, 1),
	A("manufacturer", HSM_URI_MANUFACTURER, manufacturer, 1),
	A("model", HSM_URI_MODEL, model, 1),
	A("object", HSM_URI_OBJECT, object, 1),
	A("id", HSM_URI_ID, id, 0),
	A("type", HSM_URI_TYPE, type, 1),
};
static const struct uri_attr query_attrs[] = {
	A("module-path", HSM_URI_MODULE_PATH, module_path, 1),
};
#undef A

static int
set_attr(const struct uri_attr *tab, size_t ntab, const uint8_t *name,
    size_t nlen, const uint8_t *val, size_t vlen, struct hsm_uri *u)
{
	size_t i, n;
	uint8_t *dst;
	int rc;

	for (i = 0; i < ntab; i++) {
		if (strlen(tab[i].name) != nlen ||
		    memcmp(tab[i].name, name, nlen) != 0)
			continue;
		if (u->present & tab[i].bit)
			return HSM_ERR_URI; /* RFC 7512 2.3: no duplicates */
		dst = (uint8_t *)u + tab[i].off;
		/* Text fields keep one byte for the terminating NUL. */
		rc = pct_decode(val, vlen, dst, tab[i].size - (tab[i].text ? 1 : 0),
		    &n, tab[i].text);
		if (rc != HSM_OK)
			return rc;
		if (tab[i].text)
			dst[n] = '\0';
		else
			u->id_len = n;
		u->present |= tab[i].bit;
		return HSM_OK;
	}
	/* RFC 7512 2.3: vendor attributes start with "x-"; ignore them. */
	if (nlen > 2 && name[0] == 'x' && name[1] == '-')
		return HSM_OK;
	return HSM_ERR_URI;
}

static int
parse_list(const uint8_t *p, size_t len, char sep,
    const struct uri_attr *tab, size_t ntab, int ignore_unknown,
    struct hsm_uri *u)
{
	size_t start = 0, i;

	for (i = 0; i <= len; i++) {
		const uint8_t *item, *eq;
		size_t ilen;
		int rc;

		if (i < len && p[i] != (uint8_t)sep)
			continue;
		item = p + start;
		ilen = i - start;
		start = i + 1;
		if (ilen == 0)
			continue;
		eq = memchr(item, '=', ilen);
		if (eq == NULL || eq == item)
			return HSM_ERR_URI;
		rc = set_attr(tab, ntab, item, (size_t)(eq - item), eq + 1,
		    ilen - (size_t)(eq - item) - 1, u);
		if (rc != HSM_OK && !ignore_unknown)
			return rc;
	}
	return HSM_OK;
}

int
hsm_uri_parse(const uint8_t *in, size_t len, struct hsm_uri *out)
{
	static const char scheme[] = "pkcs11:";
	const uint8_t *q;
	size_t plen;
	int rc;

	if (in == NULL || out == NULL)
		return HSM_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if (len > HSM_URI_MAX || len < sizeof(scheme) - 1 ||
	    memcmp(in, scheme, sizeof(scheme) - 1) != 0)
		return HSM_ERR_URI;
	in += sizeof(scheme) - 1;
	len -= sizeof(scheme) - 1;
	q = memchr(in, '?', len);
	plen = q ? (size_t)(q - in) : len;
	rc = parse_list(in, plen, ';', path_attrs,
	    sizeof(path_attrs) / sizeof(path_attrs[0]), 0, out);
	if (rc == HSM_OK && q != NULL)
		/* Query attributes we do not use (pin-source, pin-value) are
		 * ignored: a PIN never comes from a URI here. */
		rc = parse_list(q + 1, len - plen - 1, '&', query_attrs,
		    sizeof(query_attrs) / sizeof(query_attrs[0]), 1, out);
	if (rc != HSM_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}
