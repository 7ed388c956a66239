/*
 * Strict unpadded base64url (RFC 7515 2 and appendix C) and the error
 * strings.  Strict means one encoding per byte string, so that a JWS
 * (whose signing input is the received text) has one spelling per
 * payload.  That alone does not make requests unique: ECDSA signatures
 * are malleable ((r, s) and (r, n - s) both verify), so replays are
 * stopped by the single-use nonce, never by comparing signature text.
 */
#include <string.h>

#include "acme.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64_val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
acme_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outsize,
    size_t *outlen)
{
	uint32_t acc = 0;
	size_t i, n = 0, need;
	int bits = 0, v;

	if (len % 4 == 1)
		return ACME_E_B64;
	need = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
	if (need > outsize)
		return ACME_E_SPACE;
	for (i = 0; i < len; i++) {
		if ((v = b64_val((uint8_t)in[i])) < 0)
			return ACME_E_B64;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (acc >> bits) & 0xff;
		}
	}
	/* The leftover bits of a short final group must be zero. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return ACME_E_B64;
	*outlen = n;
	return ACME_OK;
}

int
acme_b64url_encode(const uint8_t *in, size_t len, char *out, size_t outsize)
{
	size_t i, n = 0, need;
	uint32_t v;

	need = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1) + 1;
	if (need > outsize)
		return ACME_E_SPACE;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[n++] = b64url[v >> 18];
		out[n++] = b64url[(v >> 12) & 63];
		out[n++] = b64url[(v >> 6) & 63];
		out[n++] = b64url[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[n++] = b64url[v >> 18];
		out[n++] = b64url[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[n++] = b64url[v >> 18];
		out[n++] = b64url[(v >> 12) & 63];
		out[n++] = b64url[(v >> 6) & 63];
	}
	out[n] = '\0';
	return ACME_OK;
}

const char *
acme_strerror(int e)
{
	static const char *const msg[ACME_E__COUNT] = {
		[ACME_OK] = "ok",
		[ACME_E_SYNTAX] = "malformed JSON or unexpected shape",
		[ACME_E_LIMIT] = "a size, depth or count limit was exceeded",
		[ACME_E_DUP] = "duplicate member name",
		[ACME_E_UTF8] = "invalid UTF-8 or lone surrogate",
		[ACME_E_TYPE] = "member of the wrong type",
		[ACME_E_MISSING] = "required member missing",
		[ACME_E_B64] = "invalid base64url",
		[ACME_E_ALG] = "unsupported or mismatched algorithm",
		[ACME_E_KEY] = "unacceptable JWK",
		[ACME_E_SIG] = "signature does not verify",
		[ACME_E_HEADER] = "protected header breaks RFC 8555 6.2",
		[ACME_E_NONCE] = "bad nonce",
		[ACME_E_URL] = "url mismatch",
		[ACME_E_VALUE] = "value not allowed",
		[ACME_E_SPACE] = "output buffer too small",
		[ACME_E_MEM] = "out of memory or crypto library failure",
	};

	if (e < 0 || e >= ACME_E__COUNT)
		return "unknown error";
	return msg[e];
}
