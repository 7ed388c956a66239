/*
 * Base64 and percent-decoding of network bytes: EST bodies, OCSP GET paths
 * and HTTP Basic credentials.  Pure functions; see https.h for the rules.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "https.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The value of c in the alphabet(s) allowed, or -1. */
static int
b64_value(uint8_t c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (url)
		return c == '-' ? 62 : c == '_' ? 63 : -1;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static int
b64_is_ws(uint8_t c)
{
	return c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

/* With HTTPS_B64_ANY, the alphabet is the one the input's symbols name. */
static int
b64_pick_url(const uint8_t *in, size_t inlen, int flags)
{
	size_t i;

	if (!(flags & HTTPS_B64_ANY))
		return (flags & HTTPS_B64_URL) != 0;
	for (i = 0; i < inlen; i++) {
		if (in[i] == '-' || in[i] == '_')
			return 1;
		if (in[i] == '+' || in[i] == '/')
			return 0;
	}
	return 0;
}

int
https_b64_decode(const uint8_t *in, size_t inlen, int flags, uint8_t *out,
    size_t outsize, size_t *outlen)
{
	uint32_t acc = 0;
	size_t i, n = 0, nsym = 0, npad = 0;
	int url, v, rc = HTTPS_E_SYNTAX;

	*outlen = 0;
	url = b64_pick_url(in, inlen, flags);
	for (i = 0; i < inlen; i++) {
		if ((flags & HTTPS_B64_WS) && b64_is_ws(in[i]))
			continue;
		if (in[i] == '=') {
			npad++;
			continue;
		}
		/* Padding ends the data: nothing but whitespace may follow. */
		if (npad > 0 || (v = b64_value(in[i], url)) < 0)
			goto out;
		acc = (acc << 6) | (uint32_t)v;
		if (++nsym % 4 == 0) {
			if (n + 3 > outsize) {
				rc = HTTPS_E_SPACE;
				goto out;
			}
			out[n++] = acc >> 16;
			out[n++] = acc >> 8;
			out[n++] = acc;
			acc = 0;
		}
	}
	switch (nsym % 4) {
	case 0:
		if (npad != 0)
			goto out;
		break;
	case 1:
		goto out;
	case 2:
		/* Two symbols carry one byte; the low 4 bits must be zero. */
		if ((acc & 0x0f) != 0 || !(npad == 2 || (npad == 0 &&
		    (url || (flags & (HTTPS_B64_NOPAD | HTTPS_B64_ANY))))))
			goto out;
		if (n + 1 > outsize) {
			rc = HTTPS_E_SPACE;
			goto out;
		}
		out[n++] = acc >> 4;
		break;
	case 3:
		if ((acc & 0x03) != 0 || !(npad == 1 || (npad == 0 &&
		    (url || (flags & (HTTPS_B64_NOPAD | HTTPS_B64_ANY))))))
			goto out;
		if (n + 2 > outsize) {
			rc = HTTPS_E_SPACE;
			goto out;
		}
		out[n++] = acc >> 10;
		out[n++] = acc >> 2;
		break;
	}
	*outlen = n;
	rc = HTTPS_OK;
out:
	return rc;
}

size_t
https_b64_encoded_size(size_t n)
{
	size_t chars = (n + 2) / 3 * 4;

	return chars + chars / 64 + 2;
}

int
https_b64_encode(const uint8_t *in, size_t inlen, char *out, size_t outsize,
    size_t *outlen)
{
	size_t i, o = 0, col = 0;
	uint32_t acc;

	*outlen = 0;
	if (outsize < https_b64_encoded_size(inlen))
		return HTTPS_E_SPACE;
	for (i = 0; i < inlen; i += 3) {
		acc = (uint32_t)in[i] << 16;
		if (i + 1 < inlen)
			acc |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < inlen)
			acc |= in[i + 2];
		out[o++] = b64_std[(acc >> 18) & 63];
		out[o++] = b64_std[(acc >> 12) & 63];
		out[o++] = i + 1 < inlen ? b64_std[(acc >> 6) & 63] : '=';
		out[o++] = i + 2 < inlen ? b64_std[acc & 63] : '=';
		if ((col += 4) == 64) {
			out[o++] = '\n';
			col = 0;
		}
	}
	if (col != 0)
		out[o++] = '\n';
	out[o] = '\0';
	*outlen = o;
	return HTTPS_OK;
}

int
https_pct_decode(const uint8_t *in, size_t inlen, uint8_t *out,
    size_t outsize, size_t *outlen)
{
	size_t i, n = 0;
	int hi, lo;

	*outlen = 0;
	for (i = 0; i < inlen; i++) {
		if (n >= outsize)
			return HTTPS_E_SPACE;
		if (in[i] != '%') {
			if (in[i] == '\0')
				return HTTPS_E_SYNTAX;
			out[n++] = in[i];
			continue;
		}
		if (inlen - i < 3)
			return HTTPS_E_SYNTAX;
		if ((hi = OPENSSL_hexchar2int(in[i + 1])) < 0 ||
		    (lo = OPENSSL_hexchar2int(in[i + 2])) < 0)
			return HTTPS_E_SYNTAX;
		/* A NUL byte has no business in anything we decode. */
		if (hi == 0 && lo == 0)
			return HTTPS_E_SYNTAX;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	*outlen = n;
	return HTTPS_OK;
}

/*
 * The DER inside one PEM block "-----BEGIN <label>-----" ... "-----END
 * <label>-----"; text before and after the block is refused, whitespace
 * around it is not.
 */
int
https_pem_decode(const uint8_t *in, size_t len, const char *label,
    uint8_t *out, size_t outsize, size_t *outlen)
{
	char begin[128], end[128];
	const uint8_t *p, *q;
	size_t bl, el;

	*outlen = 0;
	bl = (size_t)snprintf(begin, sizeof(begin), "-----BEGIN %s-----",
	    label);
	el = (size_t)snprintf(end, sizeof(end), "-----END %s-----", label);
	if (bl >= sizeof(begin) || el >= sizeof(end))
		return HTTPS_E_ARG;
	while (len > 0 && b64_is_ws(in[0]))
		in++, len--;
	while (len > 0 && b64_is_ws(in[len - 1]))
		len--;
	if (len < bl + el || memcmp(in, begin, bl) != 0 ||
	    memcmp(in + len - el, end, el) != 0)
		return HTTPS_E_SYNTAX;
	p = in + bl;
	q = in + len - el;
	return https_b64_decode(p, (size_t)(q - p), HTTPS_B64_WS, out,
	    outsize, outlen);
}
