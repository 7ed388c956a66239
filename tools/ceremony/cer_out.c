/*
 * Files in and out.  Every file a run writes is first written in full to
 * a temporary name next to its final one and only renamed into place
 * once the whole run has succeeded, so a failed ceremony leaves nothing
 * half done behind.  Files that must not be replaced (certificates,
 * shares) are linked into place, which fails if one appeared meanwhile.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "cer.h"

void
cer_hex(const uint8_t *in, size_t len, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int
cer_unhex(const char *in, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(in), i;
	int hi, lo;

	if (n % 2 != 0 || n / 2 > max)
		return CER_FAIL;
	for (i = 0; i < n / 2; i++) {
		if ((hi = OPENSSL_hexchar2int(in[2 * i])) < 0 ||
		    (lo = OPENSSL_hexchar2int(in[2 * i + 1])) < 0)
			return CER_FAIL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return CER_OK;
}

/* One base64 line (a wrapped key's) into out[0..max); CER_FAIL if not. */
int
cer_unbase64(const char *in, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(in);
	int m;

	if (n % 4 != 0 || n / 4 * 3 > max ||
	    (m = EVP_DecodeBlock(out, (const uint8_t *)in, (int)n)) < 0)
		return CER_FAIL;
	while (n > 0 && in[n - 1] == '=') {
		n--;
		m--;
	}
	*len = (size_t)m;
	return CER_OK;
}

void
cer_sha256_hex(const uint8_t *in, size_t len, char *out)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256(in, len, md);
	cer_hex(md, sizeof(md), out);
}

int
cer_read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f;
	uint8_t *buf = NULL;
	size_t n;
	int rc = CER_ERR;

	if ((f = fopen(path, "rb")) == NULL) {
		warn("%s", path);
		return CER_ERR;
	}
	if ((buf = malloc(CER_MAX_FILE + 1)) == NULL) {
		warnx("%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, CER_MAX_FILE + 1, f);
	if (ferror(f) || n > CER_MAX_FILE) {
		warnx("%s: unreadable or larger than %d bytes", path,
		    CER_MAX_FILE);
		goto out;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	buf = NULL;
	rc = CER_OK;
out:
	free(buf);
	fclose(f);
	return rc;
}

int
cer_file_sha256(const char *path, char *out)
{
	uint8_t *d = NULL;
	size_t n;

	if (cer_read_file(path, &d, &n) != CER_OK)
		return CER_ERR;
	cer_sha256_hex(d, n, out);
	free(d);
	return CER_OK;
}

int
cer_time_str(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return CER_ERR;
	return CER_OK;
}

int
cer_out_absent(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) == 0) {
		warnx("%s: exists; refusing to overwrite it", path);
		return CER_FAIL;
	}
	return CER_OK;
}

int
cer_out_add(struct cer_out *o, const char *path, mode_t mode, int replace,
    const void *data, size_t len)
{
	char *tmp = NULL;
	size_t n;
	int fd = -1, rc = CER_ERR;

	if (o->n >= CER_MAX_OUT) {
		warnx("%s: too many output files", path);
		return CER_ERR;
	}
	n = strlen(path) + 16;
	if ((tmp = malloc(n)) == NULL)
		goto out;
	snprintf(tmp, n, "%s.tmp.XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		warn("%s", tmp);
		goto out;
	}
	if (fchmod(fd, mode) == -1 || write(fd, data, len) != (ssize_t)len ||
	    fsync(fd) == -1) {
		warn("%s", tmp);
		(void)unlink(tmp);
		goto out;
	}
	if ((o->final[o->n] = strdup(path)) == NULL) {
		(void)unlink(tmp);
		goto out;
	}
	o->tmp[o->n] = tmp;
	o->replace[o->n] = replace;
	o->n++;
	tmp = NULL;
	rc = CER_OK;
out:
	if (fd != -1)
		close(fd);
	free(tmp);
	return rc;
}

static void
out_clear(struct cer_out *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		free(o->tmp[i]);
		free(o->final[i]);
	}
	memset(o, 0, sizeof(*o));
}

void
cer_out_abort(struct cer_out *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		(void)unlink(o->tmp[i]);
	out_clear(o);
}

int
cer_out_commit(struct cer_out *o)
{
	size_t i;
	int rc = CER_OK;

	/* New files first: a clash is found before anything is replaced. */
	for (i = 0; i < o->n; i++) {
		if (o->replace[i])
			continue;
		if (link(o->tmp[i], o->final[i]) == -1) {
			warn("%s", o->final[i]);
			rc = CER_ERR;
			break;
		}
		o->replace[i] = -1;
	}
	if (rc != CER_OK) {
		while (i-- > 0)
			if (o->replace[i] == -1)
				(void)unlink(o->final[i]);
		cer_out_abort(o);
		return rc;
	}
	for (i = 0; i < o->n; i++) {
		if (o->replace[i] == -1) {
			(void)unlink(o->tmp[i]);
		} else if (rename(o->tmp[i], o->final[i]) == -1) {
			warn("%s", o->final[i]);
			(void)unlink(o->tmp[i]);
			rc = CER_ERR;
		}
	}
	out_clear(o);
	return rc;
}
