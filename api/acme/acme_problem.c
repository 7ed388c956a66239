/*
 * Problem documents (RFC 7807) with the ACME error types of RFC 8555 6.7
 * and their HTTP statuses.  Statuses follow RFC 8555 where it names one
 * (badNonce 400 in 6.5, accountDoesNotExist 400 in 7.3.1, rateLimited
 * 429 in 6.6, externalAccountRequired, unauthorized 403) and Boulder and
 * pebble where it does not, so clients see what they already handle.
 */
#include <stdio.h>
#include <string.h>

#include "acme_local.h"

static const struct {
	const char	*name;
	int		 status;
} problems[ACME_P__COUNT] = {
	[ACME_P_ACCOUNT_DOES_NOT_EXIST] = { "accountDoesNotExist", 400 },
	[ACME_P_ALREADY_REVOKED] = { "alreadyRevoked", 400 },
	[ACME_P_BAD_CSR] = { "badCSR", 400 },
	[ACME_P_BAD_NONCE] = { "badNonce", 400 },
	[ACME_P_BAD_PUBLIC_KEY] = { "badPublicKey", 400 },
	[ACME_P_BAD_REVOCATION_REASON] = { "badRevocationReason", 400 },
	[ACME_P_BAD_SIGNATURE_ALGORITHM] = { "badSignatureAlgorithm", 400 },
	[ACME_P_CAA] = { "caa", 403 },
	[ACME_P_COMPOUND] = { "compound", 403 },
	[ACME_P_CONNECTION] = { "connection", 400 },
	[ACME_P_DNS] = { "dns", 400 },
	[ACME_P_EXTERNAL_ACCOUNT_REQUIRED] = { "externalAccountRequired", 403 },
	[ACME_P_INCORRECT_RESPONSE] = { "incorrectResponse", 403 },
	[ACME_P_INVALID_CONTACT] = { "invalidContact", 400 },
	[ACME_P_MALFORMED] = { "malformed", 400 },
	[ACME_P_ORDER_NOT_READY] = { "orderNotReady", 403 },
	[ACME_P_RATE_LIMITED] = { "rateLimited", 429 },
	[ACME_P_REJECTED_IDENTIFIER] = { "rejectedIdentifier", 400 },
	[ACME_P_SERVER_INTERNAL] = { "serverInternal", 500 },
	[ACME_P_TLS] = { "tls", 400 },
	[ACME_P_UNAUTHORIZED] = { "unauthorized", 403 },
	[ACME_P_UNSUPPORTED_CONTACT] = { "unsupportedContact", 400 },
	[ACME_P_UNSUPPORTED_IDENTIFIER] = { "unsupportedIdentifier", 400 },
	[ACME_P_USER_ACTION_REQUIRED] = { "userActionRequired", 403 },
	[ACME_P_ALREADY_REPLACED] = { "alreadyReplaced", 409 },
};

const char *
acme_problem_type(enum acme_problem p)
{
	if ((unsigned)p >= ACME_P__COUNT)
		p = ACME_P_SERVER_INTERNAL;
	return problems[p].name;
}

int
acme_problem_status(enum acme_problem p)
{
	if ((unsigned)p >= ACME_P__COUNT)
		p = ACME_P_SERVER_INTERNAL;
	return problems[p].status;
}

enum acme_problem
acme_problem_for(int err)
{
	switch (err) {
	case ACME_E_NONCE:
		return ACME_P_BAD_NONCE;	/* 6.5 */
	case ACME_E_ALG:
		return ACME_P_BAD_SIGNATURE_ALGORITHM;	/* 6.2 */
	case ACME_E_KEY:
		return ACME_P_BAD_PUBLIC_KEY;
	case ACME_E_MEM:
	case ACME_E_SPACE:
		return ACME_P_SERVER_INTERNAL;
	default:
		/* 6.2: a JWS that fails any other check is malformed. */
		return ACME_P_MALFORMED;
	}
}

/*
 * Appends `s` JSON-escaped, at most `max` input bytes.  Bytes above 0x7f
 * become '?': a detail is ASCII, so it is valid UTF-8 wherever it is cut.
 */
static int
prob_escape(char *out, size_t size, size_t *off, const char *s, size_t max)
{
	size_t i, n = strlen(s), k;
	unsigned char c;

	if (n > max)
		n = max;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (*off + 7 >= size)
			return ACME_E_SPACE;
		if (c == '"' || c == '\\') {
			out[(*off)++] = '\\';
			out[(*off)++] = (char)c;
		} else if (c >= 0x80)
			out[(*off)++] = '?';
		else if (c < 0x20 || c == 0x7f) {
			k = (size_t)snprintf(out + *off, size - *off,
			    "\\u%04x", c);
			*off += k;
		} else
			out[(*off)++] = (char)c;
	}
	return ACME_OK;
}

int
acme_problem_render(enum acme_problem p, const char *detail, char *out,
    size_t outsize, size_t *outlen)
{
	size_t off;
	int n, rc;

	if ((unsigned)p >= ACME_P__COUNT)
		p = ACME_P_SERVER_INTERNAL;
	n = snprintf(out, outsize,
	    "{\"type\":\"urn:ietf:params:acme:error:%s\"", problems[p].name);
	if (n < 0 || (size_t)n >= outsize)
		return ACME_E_SPACE;
	off = (size_t)n;
	if (detail != NULL) {
		if (off + 12 >= outsize)
			return ACME_E_SPACE;
		memcpy(out + off, ",\"detail\":\"", 11);
		off += 11;
		if ((rc = prob_escape(out, outsize, &off, detail,
		    ACME_MAX_DETAIL)) != ACME_OK)
			return rc;
		out[off++] = '"';
	}
	n = snprintf(out + off, outsize - off, ",\"status\":%d}",
	    problems[p].status);
	if (n < 0 || (size_t)n >= outsize - off)
		return ACME_E_SPACE;
	*outlen = off + (size_t)n;
	return ACME_OK;
}
