/*
 * The transcript: a text file every run appends to, one line per step,
 * with the SHA-256 of each input and output.  Each run ends with a
 * "signature" line made with the root key in the token over every byte
 * before it, so editing, inserting or deleting anything before the last
 * signature breaks at least one signature.  (Cutting off whole runs at a
 * signature boundary is not detectable from the file alone: custodians
 * note the signature count and last line verify-transcript prints.)
 *
 *   signet-ceremony transcript 1
 *   step <n> <UTC time> <verb>: <what> key=value ...
 *   signature <digest> <base64 signature>
 */
#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

#include "cer.h"

#define TX_MAGIC "signet-ceremony transcript 1\n"
#define TX_MAX_SIG 1024

static int
tx_reserve(struct cer_tx *tx, size_t more)
{
	char *p;
	size_t cap;

	if (tx->len + more + 1 <= tx->cap)
		return CER_OK;
	cap = (tx->len + more + 1) * 2;
	if ((p = realloc(tx->buf, cap)) == NULL)
		return CER_ERR;
	tx->buf = p;
	tx->cap = cap;
	return CER_OK;
}

static int
tx_append(struct cer_tx *tx, const char *s, size_t n)
{
	if (tx_reserve(tx, n) != CER_OK)
		return CER_ERR;
	memcpy(tx->buf + tx->len, s, n);
	tx->len += n;
	tx->buf[tx->len] = '\0';
	return CER_OK;
}

int
cer_tx_begin(struct cer_tx *tx, const char *path, const char *verb)
{
	struct stat sb;
	uint8_t *old = NULL;
	size_t n, i;

	memset(tx, 0, sizeof(*tx));
	snprintf(tx->verb, sizeof(tx->verb), "%s", verb);
	if (stat(path, &sb) == -1)
		return tx_append(tx, TX_MAGIC, strlen(TX_MAGIC));
	if (cer_read_file(path, &old, &n) != CER_OK)
		return CER_ERR;
	if (tx_append(tx, (char *)old, n) != CER_OK) {
		free(old);
		return CER_ERR;
	}
	free(old);
	for (i = 0; i + 5 < tx->len; i++)
		if ((i == 0 || tx->buf[i - 1] == '\n') &&
		    strncmp(tx->buf + i, "step ", 5) == 0)
			tx->seq++;
	return CER_OK;
}

int
cer_tx_step(struct cer_tx *tx, const char *fmt, ...)
{
	char line[4096], ts[32];
	va_list ap;
	int n, m;

	if (cer_time_str((int64_t)time(NULL), ts, sizeof(ts)) != CER_OK)
		return CER_ERR;
	n = snprintf(line, sizeof(line), "step %u %s %s: ", tx->seq + 1, ts,
	    tx->verb);
	/* n is checked before it offsets the buffer. */
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		return CER_ERR;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)n + (size_t)m >= sizeof(line) - 1)
		return CER_ERR;
	tx->seq++;
	/* A value must never start a line of its own. */
	for (m = n; line[m] != '\0'; m++)
		if (line[m] == '\n' || line[m] == '\r')
			line[m] = ' ';
	line[m++] = '\n';
	return tx_append(tx, line, (size_t)m);
}

static const EVP_MD *
tx_md(EVP_PKEY *key, const char **name)
{
	if (EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == 384) {
		*name = "sha384";
		return EVP_sha384();
	}
	*name = "sha256";
	return EVP_sha256();
}

int
cer_tx_sign(struct cer_tx *tx, EVP_PKEY *key)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t sig[TX_MAX_SIG];
	char b64[TX_MAX_SIG * 2], line[TX_MAX_SIG * 2 + 64];
	const EVP_MD *md;
	const char *mdname;
	size_t siglen = sizeof(sig);
	int rc = CER_ERR, n;

	md = tx_md(key, &mdname);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (uint8_t *)tx->buf,
	    tx->len) != 1) {
		warnx("signing the transcript with the root key failed");
		goto out;
	}
	EVP_EncodeBlock((uint8_t *)b64, sig, (int)siglen);
	n = snprintf(line, sizeof(line), "signature %s %s\n", mdname, b64);
	rc = tx_append(tx, line, (size_t)n);
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

void
cer_tx_free(struct cer_tx *tx)
{
	free(tx->buf);
	memset(tx, 0, sizeof(*tx));
}

/* Verifies the signature line sig over text[0..prefix). */
static int
tx_check_sig(const uint8_t *text, size_t prefix, const char *sigline,
    EVP_PKEY *pub)
{
	EVP_MD_CTX *ctx = NULL;
	const EVP_MD *md;
	uint8_t sig[TX_MAX_SIG + 4];
	char mdname[16], b64[TX_MAX_SIG * 2];
	int n, ok = 0;
	size_t b64len;

	if (sscanf(sigline, "signature %15s %2047s", mdname, b64) != 2)
		return 0;
	if ((md = EVP_get_digestbyname(mdname)) == NULL)
		return 0;
	b64len = strlen(b64);
	if (b64len % 4 != 0 || b64len / 4 * 3 > sizeof(sig))
		return 0;
	if ((n = EVP_DecodeBlock(sig, (uint8_t *)b64, (int)b64len)) < 0)
		return 0;
	while (b64len > 0 && b64[--b64len] == '=')
		n--;
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub) == 1 &&
	    EVP_DigestVerify(ctx, sig, (size_t)n, text, prefix) == 1)
		ok = 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

int
cer_tx_verify(const uint8_t *text, size_t len, EVP_PKEY *pub,
    unsigned *nsigs, char *err, size_t errlen)
{
	char line[TX_MAX_SIG * 2 + 64];
	size_t off = 0, end, lineno = 0, last_signed = 0;

	*nsigs = 0;
	if (len < strlen(TX_MAGIC) || memcmp(text, TX_MAGIC,
	    strlen(TX_MAGIC)) != 0) {
		snprintf(err, errlen, "line 1: not a ceremony transcript");
		return CER_FAIL;
	}
	while (off < len) {
		lineno++;
		for (end = off; end < len && text[end] != '\n'; end++)
			;
		if (end == len || memchr(text + off, '\0', end - off)) {
			snprintf(err, errlen, "line %zu: truncated or binary",
			    lineno);
			return CER_FAIL;
		}
		if (lineno == 1) {
			off = end + 1;
			continue;
		}
		if (end - off > 5 && memcmp(text + off, "step ", 5) == 0) {
			off = end + 1;
			continue;
		}
		if (end - off >= sizeof(line) || end - off < 10 ||
		    memcmp(text + off, "signature ", 10) != 0) {
			snprintf(err, errlen, "line %zu: neither a step nor a "
			    "signature", lineno);
			return CER_FAIL;
		}
		memcpy(line, text + off, end - off);
		line[end - off] = '\0';
		if (!tx_check_sig(text, off, line, pub)) {
			snprintf(err, errlen, "line %zu: signature does not "
			    "verify: the transcript was edited before this "
			    "line", lineno);
			return CER_FAIL;
		}
		(*nsigs)++;
		off = end + 1;
		last_signed = lineno;
	}
	if (*nsigs == 0 || last_signed != lineno) {
		snprintf(err, errlen, "line %zu: not covered by a signature",
		    last_signed + 1);
		return CER_FAIL;
	}
	return CER_OK;
}
