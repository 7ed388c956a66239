/*
 * http-01 (RFC 8555 8.3): one GET under an address policy, deadlines and
 * a size cap; val_dial, the one way any validation connects.  What this
 * does not do yet (docs/acme.md): follow redirects, chunked bodies,
 * A/AAAA through the configured resolver (getaddrinfo is used), CAA.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "val_local.h"

#define VAL_MAX_HEAD	4096	/* bytes of response head */
#define VAL_MAX_HOST	256

uint64_t
val_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "http://host[:port]/path" into its parts. */
static int
val_url(const char *url, char *host, size_t hsize, char *port, size_t psize,
    const char **path)
{
	const char *p = url, *h, *e;
	size_t n;

	if (strncmp(p, "http://", 7) != 0)
		return -1;
	p += 7;
	if (*p == '[') {
		h = p + 1;
		if ((e = strchr(h, ']')) == NULL)
			return -1;
		p = e + 1;
	} else {
		h = p;
		e = p + strcspn(p, ":/");
		p = e;
	}
	if ((n = (size_t)(e - h)) == 0 || n >= hsize)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	snprintf(port, psize, "80");
	if (*p == ':') {
		n = strspn(p + 1, "0123456789");
		if (n == 0 || n >= psize)
			return -1;
		memcpy(port, p + 1, n);
		port[n] = '\0';
		p += 1 + n;
	}
	if (*p != '/')
		return -1;
	*path = p;
	return 0;
}

static int
val_connect(const struct addrinfo *ai, uint64_t deadline)
{
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	uint64_t now;
	int fd, soerr = 0;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol)) == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	now = val_now_ms();
	if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 ||
	    soerr != 0) {
		errno = soerr != 0 ? soerr : ETIMEDOUT;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Write all of p or fail by the deadline. */
static int
val_write(int fd, const char *p, size_t len, uint64_t deadline)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	ssize_t w;
	uint64_t now;

	while (len > 0) {
		now = val_now_ms();
		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) != 1)
			return -1;
		if ((w = write(fd, p, len)) <= 0) {
			if (w == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Read until EOF, the cap or the deadline; the length read, or -1. */
static ssize_t
val_read(int fd, uint8_t *buf, size_t size, uint64_t deadline)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t n = 0;
	ssize_t r;
	uint64_t now;

	while (n < size) {
		now = val_now_ms();
		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) != 1)
			return -1;
		if ((r = read(fd, buf + n, size - n)) == 0)
			break;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		n += (size_t)r;
	}
	return (ssize_t)n;
}

/* Status 200, no chunking; the body after the head into out. */
static int
val_response(const uint8_t *buf, size_t len, uint8_t *out, size_t size,
    size_t *n, char *why, size_t whylen)
{
	const uint8_t *end = memmem(buf, len, "\r\n\r\n", 4);
	char head[VAL_MAX_HEAD + 1], *line, *save = NULL;
	size_t hlen;
	int status = 0;

	if (end == NULL || (hlen = (size_t)(end - buf)) > VAL_MAX_HEAD) {
		snprintf(why, whylen, "no complete HTTP response head");
		return -1;
	}
	memcpy(head, buf, hlen);
	head[hlen] = '\0';
	if (sscanf(head, "HTTP/1.%*1[01] %3d", &status) != 1 ||
	    status != 200) {
		snprintf(why, whylen, "HTTP status %d, not 200", status);
		return -1;
	}
	for (line = strtok_r(head, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save))
		if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
			snprintf(why, whylen, "chunked responses are not "
			    "supported");
			return -1;
		}
	*n = len - hlen - 4;
	if (*n > size)
		*n = size;
	memcpy(out, end + 4, *n);
	return 0;
}

int
val_dial(struct val_ctx *v, const char *host, const char *port,
    uint64_t deadline, char *why, size_t whylen)
{
	const struct sconf *c = v->conf;
	struct addrinfo hints, *res = NULL, *ai;
	uint64_t now;
	int fd = -1, gai, refused = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	/* Tests (as pebble's resolver option): every name is this address. */
	if (c->acme_http01_address != NULL)
		hints.ai_flags |= AI_NUMERICHOST;
	if ((gai = getaddrinfo(c->acme_http01_address != NULL ?
	    c->acme_http01_address : host, port, &hints, &res)) != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", host,
		    gai_strerror(gai));
		return -1;
	}
	errno = 0;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		if (!val_addr_allowed(&v->pol, ai->ai_addr)) {
			refused++;
			continue;
		}
		now = val_now_ms();
		fd = val_connect(ai, now + VAL_CONNECT_MS < deadline ?
		    now + VAL_CONNECT_MS : deadline);
	}
	if (fd == -1)
		snprintf(why, whylen, refused && errno == 0 ? "%s: address "
		    "not allowed" : "%s: connection failed: %s", host,
		    strerror(errno));
	freeaddrinfo(res);
	return fd;
}

int
val_http01(struct val_ctx *v, const char *url, uint8_t *out, size_t size,
    size_t *n, char *why, size_t whylen)
{
	static uint8_t buf[VAL_MAX_HEAD + VAL_MAX_BODY + 4];
	char host[VAL_MAX_HOST], port[8], req[VAL_MAX_HOST + 1280];
	const char *path;
	uint64_t deadline = val_now_ms() + VAL_TOTAL_MS;
	ssize_t got;
	int fd, rc = -1;

	*n = 0;
	if (val_url(url, host, sizeof(host), port, sizeof(port), &path) !=
	    0 || strlen(path) > 1024) {
		snprintf(why, whylen, "bad URL");
		return -1;
	}
	if ((fd = val_dial(v, host, port, deadline, why, whylen)) == -1)
		return -1;
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: signet-validator\r\nAccept: */*\r\n"
	    "Connection: close\r\n\r\n", path, host);
	if (val_write(fd, req, strlen(req), deadline) != 0 ||
	    (got = val_read(fd, buf, sizeof(buf), deadline)) < 0) {
		snprintf(why, whylen, "no answer in time");
		goto out;
	}
	rc = val_response(buf, (size_t)got, out, size, n, why, whylen);
out:
	close(fd);
	return rc;
}

/*
 * POST body to url (http://host[:port]/path) with extra header lines
 * (each ending CRLF) under the same address policy, for signet-notify
 * (issue 19): *status gets the answer's HTTP status (0: none).  0 on a
 * 2xx, else -1 with why.
 */
int
val_http_post(const char *url, const char *headers, const uint8_t *body,
    size_t len, int loopback_ok, uint64_t total_ms, int *status, char *why,
    size_t whylen)
{
	static uint8_t buf[VAL_MAX_HEAD];
	struct addrinfo hints, *res = NULL, *ai;
	char host[VAL_MAX_HOST], port[8], head[VAL_MAX_HOST + 3072];
	const char *path;
	uint64_t deadline = val_now_ms() + total_ms;
	struct val_policy pol;
	ssize_t got;
	int fd = -1, gai, refused = 0, n;

	/* Webhooks: anywhere but the special ranges; loopback if allowed. */
	memset(&pol, 0, sizeof(pol));
	pol.loopback_ok = loopback_ok;
	*status = 0;
	if (val_url(url, host, sizeof(host), port, sizeof(port), &path) !=
	    0 || strlen(path) > 1024) {
		snprintf(why, whylen, "bad URL");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", host,
		    gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		if (!val_addr_allowed(&pol, ai->ai_addr)) {
			refused++;
			continue;
		}
		fd = val_connect(ai, val_now_ms() + VAL_CONNECT_MS < deadline ?
		    val_now_ms() + VAL_CONNECT_MS : deadline);
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(why, whylen, refused ? "address not allowed" :
		    "connection failed: %s", strerror(errno));
		return -1;
	}
	n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: signet-notify\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", path, host, len, headers);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		snprintf(why, whylen, "request head too long");
		goto fail;
	}
	if (val_write(fd, head, (size_t)n, deadline) != 0 ||
	    val_write(fd, (const char *)body, len, deadline) != 0) {
		snprintf(why, whylen, "could not send in time");
		goto fail;
	}
	/* The status line is all we need; the receiver may stop there. */
	if ((got = val_read(fd, buf, sizeof(buf) - 1, deadline)) <= 0) {
		snprintf(why, whylen, "no answer in time");
		goto fail;
	}
	buf[got] = '\0';
	if (sscanf((const char *)buf, "HTTP/1.%*1[01] %3d", status) != 1) {
		*status = 0;
		snprintf(why, whylen, "no HTTP status line");
		goto fail;
	}
	close(fd);
	if (*status < 200 || *status > 299) {
		snprintf(why, whylen, "HTTP status %d", *status);
		return -1;
	}
	why[0] = '\0';
	return 0;
fail:
	close(fd);
	return -1;
}
