/*
 * Secret shares: libgfshare does the Shamir arithmetic; this file frames
 * each share so that a bad one is caught before combining.  libgfshare
 * alone rebuilds a wrong secret from a mistyped, foreign or repeated
 * share without noticing, and a wrong PIN would only show as a refused
 * login, or a wrong KEK as a failed unwrap, without saying which share
 * was at fault.
 *
 * Binary share (then base32, RFC 4648 alphabet, no padding):
 *   version(1) kind(1) id(8) index(1) threshold(1) count(1) len(1)
 *   payload(len) check(4) = SHA-256(everything before)[0..4)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libgfshare.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <qrencode.h>

#include "cer.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const char *
cer_secret_name(int kind)
{
	switch (kind) {
	case CER_SECRET_USER_PIN:
		return "user-PIN";
	case CER_SECRET_SO_PIN:
		return "SO-PIN";
	case CER_SECRET_KEK:
		return "backup-KEK";
	default:
		return "unknown";
	}
}

/* libgfshare draws its polynomial coefficients from here. */
static void
cer_gfshare_rand(unsigned char *buf, unsigned int n)
{
	if (RAND_priv_bytes(buf, (int)n) != 1)
		abort();
}

static size_t
share_bin(const struct cer_share *s, uint8_t *out)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	size_t n = 0;

	out[n++] = s->version;
	out[n++] = s->kind;
	memcpy(out + n, s->id, CER_SHARE_ID_LEN);
	n += CER_SHARE_ID_LEN;
	out[n++] = s->index;
	out[n++] = s->threshold;
	out[n++] = s->count;
	out[n++] = (uint8_t)s->len;
	memcpy(out + n, s->payload, s->len);
	n += s->len;
	SHA256(out, n, md);
	memcpy(out + n, md, CER_SHARE_CHECK_LEN);
	return n + CER_SHARE_CHECK_LEN;
}

int
cer_share_split(enum cer_secret kind, const uint8_t *secret, size_t len,
    unsigned threshold, unsigned count, struct cer_share *out)
{
	uint8_t nrs[CER_CUSTODIANS], buf[CER_SHARE_MAX_SECRET];
	uint8_t id[CER_SHARE_ID_LEN];
	gfshare_ctx *g = NULL;
	unsigned i;
	int rc = CER_ERR;

	if (len == 0 || len > CER_SHARE_MAX_SECRET || count > CER_CUSTODIANS ||
	    threshold < 2 || threshold > count)
		return CER_ERR;
	gfshare_fill_rand = cer_gfshare_rand;
	if (RAND_bytes(id, sizeof(id)) != 1)
		goto out;
	for (i = 0; i < count; i++)
		nrs[i] = (uint8_t)(i + 1);
	if ((g = gfshare_ctx_init_enc(nrs, count, (unsigned char)threshold,
	    (unsigned)len)) == NULL)
		goto out;
	memcpy(buf, secret, len);
	gfshare_ctx_enc_setsecret(g, buf);
	for (i = 0; i < count; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].version = CER_SHARE_VERSION;
		out[i].kind = (uint8_t)kind;
		memcpy(out[i].id, id, sizeof(id));
		out[i].index = nrs[i];
		out[i].threshold = (uint8_t)threshold;
		out[i].count = (uint8_t)count;
		out[i].len = len;
		gfshare_ctx_enc_getshare(g, (unsigned char)i, out[i].payload);
	}
	rc = CER_OK;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (g != NULL)
		gfshare_ctx_free(g);
	return rc;
}

int
cer_share_encode(const struct cer_share *s, char *text, size_t size)
{
	uint8_t bin[CER_SHARE_MAX_BIN];
	size_t n = share_bin(s, bin), i, o = 0, chars = 0;
	unsigned acc = 0, bits = 0;
	int rc = CER_ERR;

	for (i = 0; i <= n; i++) {
		if (i < n) {
			acc = (acc << 8) | bin[i];
			bits += 8;
		} else if (bits > 0) {
			acc <<= 5 - bits;
			bits = 5;
		}
		while (bits >= 5) {
			if (o + 3 > size)
				goto out;
			if (chars > 0 && chars % 4 == 0)
				text[o++] = chars % 32 == 0 ? '\n' : ' ';
			text[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
			chars++;
		}
	}
	text[o] = '\0';
	rc = CER_OK;
out:
	OPENSSL_cleanse(bin, sizeof(bin));
	return rc;
}

/* Base32 digits of text into bin; comments and separators skipped. */
static int
share_unbase32(const uint8_t *t, size_t len, uint8_t *bin, size_t *n,
    char *err, size_t errlen)
{
	unsigned acc = 0, bits = 0, v;
	size_t i, line = 1;
	int bol = 1;

	*n = 0;
	for (i = 0; i < len; i++) {
		uint8_t c = t[i];

		if (bol && c == '#') {
			while (i < len && t[i] != '\n')
				i++;
			line++;
			continue;
		}
		bol = c == '\n';
		if (c == '\n')
			line++;
		if (c == ' ' || c == '\t' || c == '-' || c == '\r' || c == '\n')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (uint8_t)(c - 'a' + 'A');
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= '2' && c <= '7')
			v = c - '2' + 26;
		else {
			snprintf(err, errlen, "line %zu: '%c' is not a share "
			    "character (A-Z, 2-7)", line,
			    c >= 0x20 && c < 0x7f ? c : '?');
			return CER_FAIL;
		}
		acc = (acc << 5) | v;
		bits += 5;
		if (bits >= 8) {
			if (*n >= CER_SHARE_MAX_BIN) {
				snprintf(err, errlen, "too long for a share");
				return CER_FAIL;
			}
			bin[(*n)++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
		acc &= 0xff;
	}
	return CER_OK;
}

int
cer_share_decode(const uint8_t *text, size_t len, struct cer_share *out,
    char *err, size_t errlen)
{
	uint8_t bin[CER_SHARE_MAX_BIN], md[SHA256_DIGEST_LENGTH];
	size_t n, plen;
	int rc = CER_FAIL;

	memset(out, 0, sizeof(*out));
	if (share_unbase32(text, len, bin, &n, err, errlen) != CER_OK)
		goto out;
	if (n < CER_SHARE_HDR + 1 + CER_SHARE_CHECK_LEN) {
		snprintf(err, errlen, "too short: characters are missing");
		goto out;
	}
	plen = bin[CER_SHARE_HDR - 1];
	if (n != CER_SHARE_HDR + plen + CER_SHARE_CHECK_LEN) {
		snprintf(err, errlen, "wrong length: characters are missing "
		    "or extra, or the share is corrupted");
		goto out;
	}
	SHA256(bin, n - CER_SHARE_CHECK_LEN, md);
	if (CRYPTO_memcmp(md, bin + n - CER_SHARE_CHECK_LEN,
	    CER_SHARE_CHECK_LEN) != 0) {
		snprintf(err, errlen, "checksum mismatch: the share is "
		    "mistyped or corrupted");
		goto out;
	}
	if (bin[0] != CER_SHARE_VERSION) {
		snprintf(err, errlen, "share format version %u, expected %u",
		    bin[0], CER_SHARE_VERSION);
		goto out;
	}
	out->version = bin[0];
	out->kind = bin[1];
	memcpy(out->id, bin + 2, CER_SHARE_ID_LEN);
	out->index = bin[2 + CER_SHARE_ID_LEN];
	out->threshold = bin[3 + CER_SHARE_ID_LEN];
	out->count = bin[4 + CER_SHARE_ID_LEN];
	out->len = plen;
	if (out->kind < CER_SECRET_USER_PIN || out->kind > CER_SECRET_KEK ||
	    out->count < 2 || out->count > CER_CUSTODIANS ||
	    out->threshold < 2 || out->threshold > out->count ||
	    out->index < 1 || out->index > out->count ||
	    plen == 0 || plen > CER_SHARE_MAX_SECRET) {
		snprintf(err, errlen, "header fields out of range");
		goto out;
	}
	memcpy(out->payload, bin + CER_SHARE_HDR, plen);
	rc = CER_OK;
out:
	if (rc != CER_OK)
		OPENSSL_cleanse(out, sizeof(*out));
	OPENSSL_cleanse(bin, sizeof(bin));
	return rc;
}

static void
id_hex(const uint8_t *id, char *out)
{
	cer_hex(id, CER_SHARE_ID_LEN, out);
}

/* Every share must be of the wanted secret; names the first that is not. */
static int
combine_check(const struct cer_share *v, const char *const *names, size_t n,
    enum cer_secret kind, const uint8_t *id, char *err, size_t errlen)
{
	char a[2 * CER_SHARE_ID_LEN + 1], b[2 * CER_SHARE_ID_LEN + 1];
	const uint8_t *want = id != NULL ? id : v[0].id;
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (v[i].kind != kind) {
			snprintf(err, errlen, "%s: is a %s share, not a %s "
			    "share", names[i], cer_secret_name(v[i].kind),
			    cer_secret_name(kind));
			return CER_FAIL;
		}
		if (memcmp(v[i].id, want, CER_SHARE_ID_LEN) != 0) {
			id_hex(v[i].id, a);
			id_hex(want, b);
			snprintf(err, errlen, "%s: belongs to secret %s, not to "
			    "this ceremony's %s secret %s", names[i], a,
			    cer_secret_name(kind), b);
			return CER_FAIL;
		}
		if (v[i].threshold != v[0].threshold ||
		    v[i].count != v[0].count || v[i].len != v[0].len) {
			snprintf(err, errlen, "%s: header disagrees with %s",
			    names[i], names[0]);
			return CER_FAIL;
		}
		for (j = 0; j < i; j++)
			if (v[j].index == v[i].index) {
				snprintf(err, errlen, "%s: duplicates %s (both "
				    "are share %u of %u)", names[i], names[j],
				    v[i].index, v[i].count);
				return CER_FAIL;
			}
	}
	if (n < v[0].threshold) {
		snprintf(err, errlen, "%zu %s share%s given, %u needed", n,
		    cer_secret_name(kind), n == 1 ? "" : "s", v[0].threshold);
		return CER_FAIL;
	}
	return CER_OK;
}

int
cer_share_combine(const struct cer_share *v, const char *const *names,
    size_t n, enum cer_secret kind, const uint8_t *id, uint8_t *secret,
    size_t *len, char *err, size_t errlen)
{
	uint8_t nrs[CER_CUSTODIANS], buf[CER_SHARE_MAX_SECRET];
	gfshare_ctx *g = NULL;
	size_t i;
	int rc;

	if (n == 0) {
		snprintf(err, errlen, "no %s shares given",
		    cer_secret_name(kind));
		return CER_FAIL;
	}
	if (n > CER_CUSTODIANS) {
		snprintf(err, errlen, "%zu shares given, at most %d", n,
		    CER_CUSTODIANS);
		return CER_FAIL;
	}
	if ((rc = combine_check(v, names, n, kind, id, err, errlen)) != CER_OK)
		return rc;
	for (i = 0; i < n; i++)
		nrs[i] = v[i].index;
	/* gfshare_ctx_free scrubs the context with random bytes. */
	gfshare_fill_rand = cer_gfshare_rand;
	if ((g = gfshare_ctx_init_dec(nrs, (unsigned)n,
	    (unsigned)v[0].len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return CER_ERR;
	}
	for (i = 0; i < n; i++) {
		memcpy(buf, v[i].payload, v[i].len);
		gfshare_ctx_dec_giveshare(g, (unsigned char)i, buf);
	}
	gfshare_ctx_dec_extract(g, secret);
	*len = v[0].len;
	OPENSSL_cleanse(buf, sizeof(buf));
	gfshare_ctx_free(g);
	return CER_OK;
}

char *
cer_share_qr(const char *text)
{
	QRcode *q;
	char *out = NULL, *p;
	int x, y, w;

	if ((q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8,
	    1)) == NULL)
		return NULL;
	w = q->width + 4;
	/* Two characters per module keep the code square on a terminal. */
	if ((out = malloc((size_t)w * ((size_t)w * 2 + 3) + 1)) == NULL)
		goto out;
	p = out;
	for (y = -2; y < q->width + 2; y++) {
		*p++ = '#';
		*p++ = ' ';
		for (x = -2; x < q->width + 2; x++) {
			int dark = x >= 0 && y >= 0 && x < q->width &&
			    y < q->width && (q->data[y * q->width + x] & 1);

			*p++ = dark ? '#' : ' ';
			*p++ = dark ? '#' : ' ';
		}
		*p++ = '\n';
	}
	*p = '\0';
out:
	QRcode_free(q);
	return out;
}
