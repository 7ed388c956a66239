/*
 * The POSIX port of the device client: getrandom(2), a directory of PEM
 * files, clock_gettime(2) and BSD sockets.  State lives in the caller's
 * struct sdev_posix, so several clients may use different directories.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "signet/sdev.h"

#define CONNECT_TIMEOUT_MS	10000

struct sdev_conn {
	int	fd;
};

static const char *const item_name[SDEV_ITEM_COUNT] = {
	"key.pem", "cert.pem", "chain.pem", "ca.pem"
};

const char *
sdev_port_posix_name(enum sdev_item item)
{
	return (unsigned)item < SDEV_ITEM_COUNT ? item_name[item] : "?";
}

static int
posix_random(void *ctx, uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = getrandom(buf, len, 0)) < 0) {
			if (errno == EINTR)
				continue;
			return SDEV_E_CRYPTO;
		}
		buf += n;
		len -= (size_t)n;
	}
	return SDEV_OK;
}

static int
item_path(const struct sdev_posix *st, enum sdev_item item, const char *sfx,
    char *path, size_t size)
{
	int n;

	if ((unsigned)item >= SDEV_ITEM_COUNT)
		return SDEV_E_ARG;
	n = snprintf(path, size, "%s/%s%s", st->dir, item_name[item], sfx);
	return n < 0 || (size_t)n >= size ? SDEV_E_TOOBIG : SDEV_OK;
}

static int
posix_load(void *ctx, enum sdev_item item, uint8_t *buf, size_t size,
    size_t *len)
{
	char path[600];
	ssize_t n;
	size_t off = 0;
	int fd = -1, rc;

	*len = 0;
	if ((rc = item_path(ctx, item, "", path, sizeof(path))) != SDEV_OK)
		goto out;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		rc = errno == ENOENT ? SDEV_E_NOTFOUND : SDEV_E_IO;
		goto out;
	}
	rc = SDEV_E_IO;
	for (;;) {
		if (off == size) {
			rc = SDEV_E_TOOBIG;
			goto out;
		}
		if ((n = read(fd, buf + off, size - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	*len = off;
	rc = SDEV_OK;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A new file under a unique temporary name (O_EXCL: never through a link
 * someone planted), fsync'ed, then renamed over the old one, so a reader
 * sees the old or the new item.  The key is 0600 from its creation.
 */
static int
posix_store(void *ctx, enum sdev_item item, const uint8_t *buf, size_t len)
{
	struct sdev_posix *st = ctx;
	char path[600], tmp[640], sfx[24];
	uint8_t r[6];
	int fd = -1, dfd = -1, rc, made = 0;

	if ((rc = posix_random(ctx, r, sizeof(r))) != SDEV_OK)
		goto out;
	(void)snprintf(sfx, sizeof(sfx), ".%02x%02x%02x%02x%02x%02x.tmp",
	    r[0], r[1], r[2], r[3], r[4], r[5]);
	if ((rc = item_path(st, item, "", path, sizeof(path))) != SDEV_OK ||
	    (rc = item_path(st, item, sfx, tmp, sizeof(tmp))) != SDEV_OK)
		goto out;
	rc = SDEV_E_IO;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, item == SDEV_ITEM_KEY ? 0600 : 0644)) == -1)
		goto out;
	made = 1;
	/* The umask could only narrow the mode; make the key's exact. */
	if (item == SDEV_ITEM_KEY && fchmod(fd, 0600) != 0)
		goto out;
	if (write_all(fd, buf, len) != 0 || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	made = 0;
	/* The rename is durable once the directory is. */
	if ((dfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1)
		(void)fsync(dfd);
	rc = SDEV_OK;
out:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	if (made)
		(void)unlink(tmp);
	return rc;
}

static int64_t
posix_now(void *ctx)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec;
}

static uint64_t
posix_ms(void *ctx)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
wait_fd(int fd, short ev, uint32_t timeout_ms)
{
	struct pollfd pfd = { fd, ev, 0 };
	int n;

	do {
		n = poll(&pfd, 1, timeout_ms > 0x7fffffff ? 0x7fffffff :
		    (int)timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return SDEV_E_NET;
	return n == 0 ? SDEV_E_TIMEOUT : SDEV_OK;
}

/* A non-blocking connect bounded by CONNECT_TIMEOUT_MS. */
static int
try_connect(const struct addrinfo *ai)
{
	socklen_t sl = sizeof(int);
	int fd, err = 0;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol)) == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno == EINPROGRESS &&
	    wait_fd(fd, POLLOUT, CONNECT_TIMEOUT_MS) == SDEV_OK &&
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err == 0)
		return fd;
	close(fd);
	return -1;
}

static int
posix_connect(void *ctx, enum sdev_net kind, const char *host,
    const char *port, struct sdev_conn **conn)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct sdev_conn *cn = NULL;
	int fd = -1, rc = SDEV_E_NET;

	*conn = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = kind == SDEV_NET_UDP ? SOCK_DGRAM : SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		goto out;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = try_connect(ai);
	if (fd == -1)
		goto out;
	if ((cn = malloc(sizeof(*cn))) == NULL) {
		rc = SDEV_E_NOMEM;
		goto out;
	}
	cn->fd = fd;
	fd = -1;
	*conn = cn;
	rc = SDEV_OK;
out:
	if (fd != -1)
		close(fd);
	if (res != NULL)
		freeaddrinfo(res);
	return rc;
}

static int
posix_send(struct sdev_conn *cn, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(cn->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(cn->fd, POLLOUT, CONNECT_TIMEOUT_MS) !=
			    SDEV_OK)
				return SDEV_E_NET;
			continue;
		}
		if (n < 0)
			return SDEV_E_NET;
		buf += n;
		len -= (size_t)n;
	}
	return SDEV_OK;
}

static int
posix_recv(struct sdev_conn *cn, uint8_t *buf, size_t size,
    uint32_t timeout_ms)
{
	ssize_t n;
	int rc;

	for (;;) {
		if ((rc = wait_fd(cn->fd, POLLIN, timeout_ms)) != SDEV_OK)
			return rc;
		n = recv(cn->fd, buf, size, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return SDEV_E_NET;	/* ECONNREFUSED: nobody there */
		return n > 0x7fffffff ? SDEV_E_TOOBIG : (int)n;
	}
}

static void
posix_close(struct sdev_conn *cn)
{
	if (cn == NULL)
		return;
	close(cn->fd);
	free(cn);
}

int
sdev_port_posix(struct sdev_port *port, struct sdev_posix *state,
    const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(state->dir))
		return SDEV_E_ARG;
	memcpy(state->dir, dir, n + 1);
	memset(port, 0, sizeof(*port));
	port->ctx = state;
	port->random = posix_random;
	port->load = posix_load;
	port->store = posix_store;
	port->now = posix_now;
	port->ms = posix_ms;
	port->connect = posix_connect;
	port->send = posix_send;
	port->recv = posix_recv;
	port->close = posix_close;
	return SDEV_OK;
}
