/*
 * http-01 (RFC 8555 8.3): one GET under an address policy, deadlines and
 * a size cap; val_dial and val_connect_first, the one way any validation
 * (and signet-notify's POST) connects.  Names resolve through the
 * configured resolver (val_dns_addrs), and every address is checked
 * against the policy before it is tried.  What this does not do yet
 * (docs/acme.md): follow redirects, chunked bodies.
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

uint64_t
val_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
val_split_url(const char *url, const char *scheme, const char *defport,
    char *host, size_t hsize, char *port, size_t psize, const char **rest)
{
	const char *p = url, *h, *e;
	size_t n;

	if (strncmp(p, scheme, strlen(scheme)) != 0)
		return -1;
	p += strlen(scheme);
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
	if (*p == ':') {
		n = strspn(p + 1, "0123456789");
		if (n == 0 || n >= psize)
			return -1;
		memcpy(port, p + 1, n);
		port[n] = '\0';
		p += 1 + n;
	} else if (defport == NULL)
		return -1;
	else
		snprintf(port, psize, "%s", defport);
	if (*p != '/')
		return -1;
	*rest = p;
	return 0;
}

static int
val_connect(const struct sockaddr_storage *ss, uint64_t deadline)
{
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	uint64_t now;
	int fd, soerr = 0;

	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, ss->ss_family ==
	    AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6)) == 0)
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
val_connect_first(const struct val_policy *pol, const char *host,
    const struct sockaddr_storage *a, size_t n, const char *port,
    uint64_t deadline, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	uint16_t pn = (uint16_t)strtoul(port, NULL, 10);
	uint64_t now;
	size_t i;
	int fd = -1, refused = 0, tried = 0, lasterr = 0;

	for (i = 0; i < n && fd == -1; i++) {
		if (!val_addr_allowed(pol, (const struct sockaddr *)&a[i])) {
			refused++;
			continue;
		}
		ss = a[i];
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)(void *)&ss)->sin_port =
			    htons(pn);
		else
			((struct sockaddr_in6 *)(void *)&ss)->sin6_port =
			    htons(pn);
		now = val_now_ms();
		if (now >= deadline)
			break;
		tried++;
		errno = 0;
		fd = val_connect(&ss, now + VAL_CONNECT_MS < deadline ?
		    now + VAL_CONNECT_MS : deadline);
		lasterr = errno;
	}
	if (fd != -1)
		return fd;
	if (tried == 0 && refused > 0)
		snprintf(why, whylen, "%s%saddress not allowed", host ? host :
		    "", host ? ": " : "");
	else
		snprintf(why, whylen, "%s%sconnection failed: %s", host ?
		    host : "", host ? ": " : "", strerror(lasterr != 0 ?
		    lasterr : ETIMEDOUT));
	return -1;
}

/* An address literal (or acme_http01_address) as one address. */
static int
val_literal(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)(void *)ss)->
	    sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)(void *)ss)->
	    sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return 0;
	}
	return -1;
}

int
val_dial(struct val_ctx *v, const char *host, const char *port,
    uint64_t deadline, char *why, size_t whylen)
{
	const struct sconf *c = v->conf;
	struct sockaddr_storage a[VAL_MAX_ADDRS];
	size_t n = 0;

	/* Tests (as pebble's resolver option): every name is this address. */
	if (c->acme_http01_address != NULL) {
		if (val_literal(c->acme_http01_address, &a[0]) != 0) {
			snprintf(why, whylen, "acme_http01_address is not an "
			    "address");
			return -1;
		}
		n = 1;
	} else if (val_literal(host, &a[0]) == 0)
		n = 1;
	else if (val_dns_addrs(v, host, deadline, a, VAL_MAX_ADDRS, &n, why,
	    whylen) != 0)
		return -1;
	return val_connect_first(&v->pol, host, a, n, port, deadline, why,
	    whylen);
}

int
val_http01(struct val_ctx *v, const char *url, uint8_t *out, size_t size,
    size_t *n, char *why, size_t whylen)
{
	static _Thread_local uint8_t buf[VAL_MAX_HEAD + VAL_MAX_BODY + 4];
	char host[VAL_MAX_HOST], port[8], req[VAL_MAX_HOST + 1280];
	const char *path;
	uint64_t deadline = val_now_ms() + VAL_TOTAL_MS;
	ssize_t got;
	int fd, rc = -1;

	*n = 0;
	if (val_split_url(url, "http://", "80", host, sizeof(host), port,
	    sizeof(port), &path) != 0 || strlen(path) > 1024) {
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
	static _Thread_local uint8_t buf[VAL_MAX_HEAD];
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_storage a[VAL_MAX_ADDRS];
	char host[VAL_MAX_HOST], port[8], head[VAL_MAX_HOST + 3072];
	const char *path;
	uint64_t deadline = val_now_ms() + total_ms;
	struct val_policy pol;
	ssize_t got;
	size_t na = 0;
	int fd = -1, gai, n;

	/* Webhooks: anywhere but the special ranges; loopback if allowed. */
	memset(&pol, 0, sizeof(pol));
	pol.loopback_ok = loopback_ok;
	*status = 0;
	if (val_split_url(url, "http://", "80", host, sizeof(host), port,
	    sizeof(port), &path) != 0 || strlen(path) > 1024) {
		snprintf(why, whylen, "bad URL");
		return -1;
	}
	/* signet-notify has no resolver channel: the system's resolver. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", host,
		    gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL && na < VAL_MAX_ADDRS; ai = ai->ai_next)
		if (ai->ai_addrlen <= sizeof(a[0])) {
			memset(&a[na], 0, sizeof(a[na]));
			memcpy(&a[na++], ai->ai_addr, ai->ai_addrlen);
		}
	freeaddrinfo(res);
	/* No host in why: signet-notify logs the URL beside it. */
	if ((fd = val_connect_first(&pol, NULL, a, na, port, deadline, why,
	    whylen)) == -1)
		return -1;
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
