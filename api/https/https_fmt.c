/*
 * Output formats: JSON strings, PEM blocks, times and serials.  Everything
 * written here comes from the engine or from us, but it is escaped as if
 * it did not, so a subject name cannot break out of its JSON string.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "https_local.h"

void
https_json_string(struct evbuffer *b, const char *s)
{
	const unsigned char *p;

	evbuffer_add(b, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(b, "\\%c", *p);
		else if (*p == '\n')
			evbuffer_add(b, "\\n", 2);
		else if (*p < 0x20 || *p == 0x7f)
			evbuffer_add_printf(b, "\\u%04x", *p);
		else
			evbuffer_add(b, p, 1);
	}
	evbuffer_add(b, "\"", 1);
}

void
https_pem(struct evbuffer *b, const char *label, const uint8_t *der,
    size_t len)
{
	size_t n = https_b64_encoded_size(len), outlen;
	char *txt;

	if ((txt = malloc(n)) == NULL)
		return;
	if (https_b64_encode(der, len, txt, n, &outlen) == HTTPS_OK)
		evbuffer_add_printf(b, "-----BEGIN %s-----\n%s-----END %s-----"
		    "\n", label, txt, label);
	free(txt);
}

void
https_json_pem(struct evbuffer *b, const char *label, const uint8_t *der,
    size_t len)
{
	struct evbuffer *tmp;
	char *s;
	size_t n;

	if ((tmp = evbuffer_new()) == NULL)
		return;
	https_pem(tmp, label, der, len);
	n = evbuffer_get_length(tmp);
	if ((s = malloc(n + 1)) != NULL) {
		evbuffer_remove(tmp, s, n);
		s[n] = '\0';
		https_json_string(b, s);
		free(s);
	}
	evbuffer_free(tmp);
}

/* RFC 3339 in UTC, or null for 0 (not set). */
void
https_json_time(struct evbuffer *b, uint64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char s[32];

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		evbuffer_add(b, "null", 4);
		return;
	}
	evbuffer_add_printf(b, "\"%s\"", s);
}

void
https_hex(struct evbuffer *b, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		evbuffer_add_printf(b, "%02x", p[i]);
}

/*
 * The serial number as the INTEGER's content octets, as the ledger keys
 * it: big-endian, with a leading zero octet when the high bit is set.
 */
int
https_cert_serial(const uint8_t *der, size_t len, uint8_t *out,
    size_t outsize, size_t *outlen)
{
	const unsigned char *p = der;
	X509 *x = NULL;
	BIGNUM *bn = NULL;
	int n, rc = -1;

	*outlen = 0;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		goto out;
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) ==
	    NULL || (n = BN_num_bytes(bn)) <= 0 || (size_t)n + 1 > outsize)
		goto out;
	out[0] = 0;
	BN_bn2bin(bn, out + 1);
	if (out[1] & 0x80)
		*outlen = (size_t)n + 1;
	else {
		memmove(out, out + 1, (size_t)n);
		*outlen = (size_t)n;
	}
	rc = 0;
out:
	BN_free(bn);
	X509_free(x);
	return rc;
}
