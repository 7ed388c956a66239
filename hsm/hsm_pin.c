/*
 * PIN handling.  A PIN is read from a descriptor or a private file, handed
 * to hsm_open, and kept only in a locked page that core dumps exclude, so
 * the layer can log in again after a token fault without a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsm_local.h"

int
hsm_pin_from_fd(int fd, char *buf, size_t size, size_t *len)
{
	size_t n = 0;
	ssize_t r;
	char c;

	if (buf == NULL || len == NULL || size == 0)
		return HSM_ERR_ARG;
	/* One byte at a time: never read past the PIN's line. */
	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0 || c == '\n')
			break;
		if (n == size || n == HSM_MAX_PIN)
			goto fail;
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0)
		goto fail;
	*len = n;
	return HSM_OK;
fail:
	OPENSSL_cleanse(buf, size);
	c = 0;
	return HSM_ERR_PIN_FILE;
}

int
hsm_pin_from_file(const char *path, char *buf, size_t size, size_t *len)
{
	struct stat st;
	int fd, rc = HSM_ERR_PIN_FILE;

	if (path == NULL)
		return HSM_ERR_ARG;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return HSM_ERR_PIN_FILE;
	/* A PIN others can read is no longer a secret: refuse it. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0 ||
	    st.st_uid != geteuid())
		goto out;
	rc = hsm_pin_from_fd(fd, buf, size, len);
out:
	close(fd);
	return rc;
}

int
hsm_pin_store(struct hsm *h, const char *pin, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t map = (size_t)(pg > 0 ? pg : 4096);
	void *p;

	if (len == 0 || len > HSM_MAX_PIN || len >= map)
		return HSM_ERR_ARG;
	p = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		return HSM_ERR_NOMEM;
	/* Best effort: without CAP_IPC_LOCK or a memlock limit this fails,
	 * and the page may be swapped; it is still excluded from dumps. */
	(void)mlock(p, map);
	(void)madvise(p, map, MADV_DONTDUMP);
	memcpy(p, pin, len);
	h->pin = p;
	h->pin_len = len;
	h->pin_map = map;
	return HSM_OK;
}

void
hsm_pin_wipe(struct hsm *h)
{
	if (h->pin == NULL)
		return;
	OPENSSL_cleanse(h->pin, h->pin_map);
	munlock(h->pin, h->pin_map);
	munmap(h->pin, h->pin_map);
	h->pin = NULL;
	h->pin_len = 0;
}
