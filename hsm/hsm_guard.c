/*
 * The SoftHSMv2 file guard.
 *
 * SoftHSMv2 2.6 keeps each token in a directory of files and rewrites a
 * file in place (ftruncate to 0, then write; no temporary file, no rename,
 * no fsync).  It rewrites token.object on every C_Login, so a SIGKILL, an
 * OOM kill or a power cut between the truncate and the write leaves an
 * empty token.object: the token's label, serial and wrapped PIN keys are
 * gone and every CA key in it with them.
 *
 * The guard keeps, beside each object file, a verified copy written
 * atomically (temporary file, fsync, rename, fsync of the directory).  It
 * runs before every C_Initialize (SoftHSM reads the files then) and after
 * every call of ours that makes the token write a new file (key
 * generation, token initialisation).  A file that does not parse as a
 * complete SoftHSM object is replaced by its copy; a damaged file without
 * a copy (a key whose generation was cut short) is moved aside, since
 * SoftHSM would otherwise load it as an empty object.  Copies end in
 * ".signet-good", which SoftHSM ignores (it loads only "*.object").
 *
 * Nothing here reads a key: the files hold SoftHSM's encrypted blobs and
 * the copies are as protected as the originals (same directory, mode
 * 0600).  A token with the "db" object store is left alone: SQLite's
 * journal already makes its writes atomic.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsm_local.h"

#define GUARD_SUFFIX ".signet-good"
#define GUARD_DAMAGED ".signet-damaged"
#define GUARD_MAX_FILE (4u << 20) /* larger than any SoftHSM object */

/* SoftHSM's ObjectFile attribute kinds (src/lib/object_store). */
enum { OBJ_BOOL = 1, OBJ_ULONG = 2, OBJ_BYTES = 3, OBJ_MECHS = 4,
	OBJ_MAP = 5 };
/* Kinds inside an attribute map (File::readAttributeMap). */
enum { MAP_BOOL = 0, MAP_ULONG = 1, MAP_BYTES = 2, MAP_MECHS = 3 };

struct rd {
	const uint8_t *p;
	size_t n;
};

static int
rd_u64(struct rd *r, uint64_t *v)
{
	size_t i;

	if (r->n < 8)
		return -1;
	*v = 0;
	for (i = 0; i < 8; i++)
		*v = (*v << 8) | r->p[i];
	r->p += 8;
	r->n -= 8;
	return 0;
}

static int
rd_skip(struct rd *r, uint64_t len)
{
	if (len > r->n)
		return -1;
	r->p += len;
	r->n -= len;
	return 0;
}

static int
rd_mechs(struct rd *r, uint64_t *used)
{
	uint64_t count;

	if (rd_u64(r, &count) != 0 || count > r->n / 8)
		return -1;
	*used = 8 + count * 8;
	return rd_skip(r, count * 8);
}

/* One attribute map entry; *used is its length in bytes. */
static int
rd_map_entry(struct rd *r, uint64_t *used)
{
	uint64_t type, kind, len;

	if (rd_u64(r, &type) != 0 || rd_u64(r, &kind) != 0)
		return -1;
	switch (kind) {
	case MAP_BOOL:
		*used = 16 + 1;
		return rd_skip(r, 1);
	case MAP_ULONG:
		*used = 16 + 8;
		return rd_skip(r, 8);
	case MAP_BYTES:
		if (rd_u64(r, &len) != 0 || rd_skip(r, len) != 0)
			return -1;
		*used = 16 + 8 + len;
		return 0;
	case MAP_MECHS:
		if (rd_mechs(r, &len) != 0)
			return -1;
		*used = 16 + len;
		return 0;
	default:
		return -1;
	}
}

static int
rd_map(struct rd *r)
{
	uint64_t len, used;

	if (rd_u64(r, &len) != 0 || len > r->n)
		return -1;
	while (len > 0) {
		if (rd_map_entry(r, &used) != 0 || used > len)
			return -1;
		len -= used;
	}
	return 0;
}

/*
 * Is buf[0..n) a complete SoftHSM object file: a generation number, then
 * at least one attribute, each whole?  An empty or cut file is not.
 */
int
hsm_guard_object_valid(const uint8_t *buf, size_t n)
{
	struct rd r = { buf, n };
	uint64_t gen, type, kind, len;
	unsigned attrs = 0;

	if (rd_u64(&r, &gen) != 0)
		return 0;
	while (r.n > 0) {
		if (rd_u64(&r, &type) != 0 || rd_u64(&r, &kind) != 0)
			return 0;
		switch (kind) {
		case OBJ_BOOL:
			if (rd_skip(&r, 1) != 0)
				return 0;
			break;
		case OBJ_ULONG:
			if (rd_skip(&r, 8) != 0)
				return 0;
			break;
		case OBJ_BYTES:
			if (rd_u64(&r, &len) != 0 || rd_skip(&r, len) != 0)
				return 0;
			break;
		case OBJ_MECHS:
			if (rd_mechs(&r, &len) != 0)
				return 0;
			break;
		case OBJ_MAP:
			if (rd_map(&r) != 0)
				return 0;
			break;
		default:
			return 0;
		}
		attrs++;
	}
	return attrs > 0;
}

/* Reads a whole file of at most GUARD_MAX_FILE bytes; *buf is malloc'ed. */
static int
read_fd(int fd, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;
	ssize_t r;
	int rc = -1;

	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > GUARD_MAX_FILE)
		goto out;
	if ((b = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (got < (size_t)st.st_size) {
		r = pread(fd, b + got, (size_t)st.st_size - got,
		    (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	*buf = b;
	*len = got;
	b = NULL;
	rc = 0;
out:
	free(b);
	return rc;
}

static int
read_file(int dfd, const char *name, uint8_t **buf, size_t *len)
{
	int fd, rc;

	*buf = NULL;
	*len = 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	rc = read_fd(fd, buf, len);
	close(fd);
	return rc;
}

/*
 * Writes data to dir/name atomically: a temporary file in the same
 * directory, fsync, rename over name, fsync of the directory.  A crash
 * at any point leaves either the old file or the new one.
 */
static int
write_atomic(int dfd, const char *name, const uint8_t *data, size_t len)
{
	char tmp[NAME_MAX + 1];
	size_t off = 0;
	ssize_t w;
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	(void)unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	close(fd);
	if (renameat(dfd, tmp, dfd, name) != 0) {
		(void)unlinkat(dfd, tmp, 0);
		return -1;
	}
	return fsync(dfd);
fail:
	close(fd);
	(void)unlinkat(dfd, tmp, 0);
	return -1;
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

static void
note_path(struct hsm_guard_report *r, const char *dir, const char *name)
{
	snprintf(r->last_path, sizeof(r->last_path), "%.250s/%.255s", dir,
	    name);
}

/*
 * One object file.  SoftHSM's own writers take a POSIX lock on the file
 * while they write it; holding a read lock while we read means we never
 * judge a file another process (or another thread of ours) is writing at
 * that instant.  The lock is an open-file-description lock, so closing
 * some other descriptor of the file cannot drop it, and it conflicts with
 * SoftHSM's process-owned locks in this process too.
 */
static void
guard_object(int dfd, const char *dir, const char *name,
    struct hsm_guard_report *r)
{
	char copy[NAME_MAX + 1], aside[NAME_MAX + 1];
	uint8_t *cur = NULL, *good = NULL;
	size_t curlen = 0, goodlen = 0;
	struct flock fl;
	int fd, n;

	n = snprintf(copy, sizeof(copy), "%s%s", name, GUARD_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(copy))
		return;
	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_OFD_SETLKW, &fl) != 0 && errno == EINTR)
		;
	r->checked++;
	if (read_fd(fd, &cur, &curlen) != 0)
		goto out;
	if (hsm_guard_object_valid(cur, curlen)) {
		if (read_file(dfd, copy, &good, &goodlen) == 0 &&
		    goodlen == curlen && memcmp(good, cur, curlen) == 0)
			goto out;
		if (write_atomic(dfd, copy, cur, curlen) == 0)
			r->saved++;
		else
			r->errors++;
		goto out;
	}
	note_path(r, dir, name);
	if (read_file(dfd, copy, &good, &goodlen) == 0 &&
	    hsm_guard_object_valid(good, goodlen)) {
		if (write_atomic(dfd, name, good, goodlen) == 0)
			r->restored++;
		else
			r->errors++;
		goto out;
	}
	if (strcmp(name, "token.object") == 0) {
		r->unrepairable++;
		goto out;
	}
	/* A new object cut short before any copy was made: SoftHSM would
	 * load it as an object without attributes.  Keep it for a person. */
	n = snprintf(aside, sizeof(aside), "%s%s", name, GUARD_DAMAGED);
	if (n > 0 && (size_t)n < sizeof(aside) &&
	    renameat(dfd, name, dfd, aside) == 0 && fsync(dfd) == 0)
		r->quarantined++;
	else
		r->errors++;
out:
	free(cur);
	free(good);
	close(fd); /* drops the lock */
}

/* Removes copies whose object SoftHSM deleted (C_DestroyObject). */
static void
guard_stale(int dfd, const char *name, struct hsm_guard_report *r)
{
	char obj[NAME_MAX + 1];
	size_t n = strlen(name) - strlen(GUARD_SUFFIX);
	struct stat st;

	if (n >= sizeof(obj))
		return;
	memcpy(obj, name, n);
	obj[n] = '\0';
	if (fstatat(dfd, obj, &st, AT_SYMLINK_NOFOLLOW) != 0 &&
	    errno == ENOENT && unlinkat(dfd, name, 0) == 0)
		r->dropped++;
}

static void
guard_token_dir(const char *path, struct hsm_guard_report *r)
{
	struct dirent *de;
	DIR *d;
	int dfd;

	if ((d = opendir(path)) == NULL) {
		r->errors++;
		return;
	}
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (has_suffix(de->d_name, ".object"))
			guard_object(dfd, path, de->d_name, r);
		else if (has_suffix(de->d_name, ".object" GUARD_SUFFIX))
			guard_stale(dfd, de->d_name, r);
	}
	closedir(d);
}

/* Reads "key = value" from softhsm2.conf; returns 0 and fills out. */
static int
conf_value(FILE *f, const char *key, char *out, size_t size)
{
	char line[1024], *k, *v, *e;

	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		k = line + strspn(line, " \t");
		if (*k == '#' || strncmp(k, key, strlen(key)) != 0)
			continue;
		v = k + strlen(key);
		v += strspn(v, " \t");
		if (*v != '=')
			continue;
		v++;
		v += strspn(v, " \t");
		e = v + strcspn(v, "\r\n");
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - v) >= size)
			return -1;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = '\0';
		return 0;
	}
	return -1;
}

int
hsm_token_guard(const char *conf, struct hsm_guard_report *r)
{
	char tokendir[PATH_MAX], backend[32], path[PATH_MAX];
	struct hsm_guard_report local;
	struct dirent *de;
	struct stat st;
	FILE *f;
	DIR *d;
	int n;

	if (r == NULL)
		r = &local;
	memset(r, 0, sizeof(*r));
	if (conf == NULL)
		conf = getenv("SOFTHSM2_CONF");
	if (conf == NULL)
		conf = "/etc/softhsm/softhsm2.conf";
	if ((f = fopen(conf, "re")) == NULL)
		return HSM_OK; /* no SoftHSM here: nothing to guard */
	if (conf_value(f, "objectstore.backend", backend,
	    sizeof(backend)) == 0 && strcmp(backend, "file") != 0) {
		fclose(f);
		return HSM_OK;
	}
	if (conf_value(f, "directories.tokendir", tokendir,
	    sizeof(tokendir)) != 0) {
		fclose(f);
		return HSM_OK;
	}
	fclose(f);
	if ((d = opendir(tokendir)) == NULL)
		return HSM_OK; /* SoftHSM will say so itself */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", tokendir,
		    de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (de->d_type == DT_DIR || (de->d_type == DT_UNKNOWN &&
		    stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
			guard_token_dir(path, r);
	}
	closedir(d);
	return r->unrepairable > 0 ? HSM_ERR_TOKEN_FILES : HSM_OK;
}
