/*
 * The network client: one HTTP/1.1 request per connection, over TCP or
 * mutual TLS (OpenSSL), with one deadline for the whole exchange
 * (connect, handshake, request, answer) and a bounded read.  The answer
 * is handed to ctl_http_parse and, when it is JSON, to ctl_json_parse.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ctl_cmd.h"

struct conn {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	struct timespec	 deadline;
	const char	*url;
};

void
ctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("signetctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
ctl_x509_name(const X509_NAME *name, char *buf, size_t size)
{
	BIO *b;
	int n;

	snprintf(buf, size, "-");
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 &
	    ~ASN1_STRFLGS_ESC_MSB) >= 0 && (n = BIO_read(b, buf,
	    (int)size - 1)) > 0)
		buf[n] = '\0';
	BIO_free(b);
}

/* Milliseconds left before the deadline; 0 when it has passed. */
static int
left_ms(const struct conn *k)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(k->deadline.tv_sec - now.tv_sec) * 1000 +
	    (k->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (ms > 3600000 ? 3600000 : (int)ms) : 0;
}

/* Waits for events on the socket; -1 (and a message) on timeout. */
static int
wait_fd(struct conn *k, short events, const char *doing)
{
	struct pollfd pfd = { k->fd, events, 0 };
	int n, ms;

	for (;;) {
		if ((ms = left_ms(k)) == 0) {
			ctl_err("%s: timed out while %s", k->url, doing);
			return -1;
		}
		if ((n = poll(&pfd, 1, ms)) > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			ctl_err("%s: poll: %s", k->url, strerror(errno));
			return -1;
		}
	}
}

static int
tcp_connect(struct conn *k, const struct ctl_url *u)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc, err = 0;
	socklen_t elen;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
		ctl_err("%s: %s: %s", k->url, u->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((k->fd = socket(ai->ai_family, ai->ai_socktype |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol)) == -1) {
			err = errno;
			continue;
		}
		if (connect(k->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (errno == EINPROGRESS) {
			if (wait_fd(k, POLLOUT, "connecting") != 0) {
				err = ETIMEDOUT;
				goto out;
			}
			elen = sizeof(err);
			if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err,
			    &elen) == 0 && err == 0)
				break;
		}
		close(k->fd);
		k->fd = -1;
	}
	if (k->fd == -1)
		ctl_err("%s: cannot connect: %s", k->url, strerror(err));
out:
	freeaddrinfo(res);
	return k->fd == -1 || err == ETIMEDOUT ? -1 : 0;
}

/* The first OpenSSL error, with the certificate verdict when it failed. */
static void
tls_err(struct conn *k, const char *doing)
{
	unsigned long e = ERR_peek_last_error();
	long v;

	if (k->ssl != NULL && (v = SSL_get_verify_result(k->ssl)) !=
	    X509_V_OK) {
		ctl_err("%s: %s: the server's certificate did not verify "
		    "against --cacert: %s", k->url, doing,
		    X509_verify_cert_error_string(v));
		return;
	}
	ctl_err("%s: %s: %s", k->url, doing, e != 0 ?
	    ERR_reason_error_string(e) : "the connection was closed");
}

static int
tls_files(struct conn *k, const struct ctl *c)
{
	struct stat st;

	if (c->cacert[0] != '\0') {
		if (SSL_CTX_load_verify_locations(k->ctx, c->cacert, NULL) !=
		    1) {
			ctl_err("%s: no PEM certificate to trust in it",
			    c->cacert);
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(k->ctx) != 1)
		return -1;
	if (c->cert[0] == '\0')
		return 0;
	if (c->key[0] == '\0') {
		ctl_err("--cert %s needs --key (the file of its private key)",
		    c->cert);
		return -1;
	}
	if (stat(c->key, &st) == 0 && (st.st_mode & 077) != 0)
		ctl_err("warning: %s is readable by others (mode %03o)",
		    c->key, (unsigned)(st.st_mode & 0777));
	if (SSL_CTX_use_certificate_chain_file(k->ctx, c->cert) != 1) {
		ctl_err("%s: not a PEM certificate", c->cert);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(k->ctx, c->key, SSL_FILETYPE_PEM) !=
	    1 || SSL_CTX_check_private_key(k->ctx) != 1) {
		ctl_err("%s: not the PEM private key of %s", c->key, c->cert);
		return -1;
	}
	return 0;
}

static int
tls_start(struct conn *k, const struct ctl *c, const struct ctl_url *u)
{
	X509_VERIFY_PARAM *vp;
	int rc, e;

	ERR_clear_error();
	if ((k->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(k->ctx, TLS1_2_VERSION) != 1)
		return -1;
	SSL_CTX_set_verify(k->ctx, SSL_VERIFY_PEER, NULL);
	if (tls_files(k, c) != 0 || (k->ssl = SSL_new(k->ctx)) == NULL)
		return -1;
	vp = SSL_get0_param(k->ssl);
	/* A literal address is checked against iPAddress names. */
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, u->host) != 1) {
		if (SSL_set1_host(k->ssl, u->host) != 1 ||
		    SSL_set_tlsext_host_name(k->ssl, u->host) != 1)
			return -1;
	}
	SSL_set_fd(k->ssl, k->fd);
	for (;;) {
		if ((rc = SSL_connect(k->ssl)) == 1)
			return 0;
		e = SSL_get_error(k->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(k, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, "in the TLS handshake") != 0)
				return -2;
			continue;
		}
		tls_err(k, "TLS handshake");
		return -2;
	}
}

/* Writes all of p; -1 after a message. */
static int
send_all(struct conn *k, const uint8_t *p, size_t len)
{
	ssize_t n;
	int rc, e;

	while (len > 0) {
		if (k->ssl != NULL) {
			if ((rc = SSL_write(k->ssl, p, (int)(len > INT_MAX ?
			    INT_MAX : len))) > 0) {
				p += rc;
				len -= (size_t)rc;
				continue;
			}
			e = SSL_get_error(k->ssl, rc);
			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE) {
				tls_err(k, "sending");
				return -1;
			}
			if (wait_fd(k, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, "sending") != 0)
				return -1;
			continue;
		}
		if ((n = send(k->fd, p, len, MSG_NOSIGNAL)) > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(k, POLLOUT, "sending") != 0)
				return -1;
		} else {
			ctl_err("%s: send: %s", k->url, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Reads up to size bytes: > 0 read, 0 at the end, -1 after a message. */
static ssize_t
recv_some(struct conn *k, uint8_t *p, size_t size)
{
	ssize_t n;
	int rc, e;

	for (;;) {
		if (k->ssl != NULL) {
			if ((rc = SSL_read(k->ssl, p, (int)(size > INT_MAX ?
			    INT_MAX : size))) > 0)
				return rc;
			e = SSL_get_error(k->ssl, rc);
			if (e == SSL_ERROR_ZERO_RETURN)
				return 0;
			/* A server that closes without close_notify after a
			 * framed answer: ctl_http_parse decides. */
			if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
				return 0;
			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE) {
				tls_err(k, "reading the answer");
				return -1;
			}
			if (wait_fd(k, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, "waiting for the answer") != 0)
				return -1;
			continue;
		}
		if ((n = recv(k->fd, p, size, 0)) >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR) {
			ctl_err("%s: recv: %s", k->url, strerror(errno));
			return -1;
		}
		if (wait_fd(k, POLLIN, "waiting for the answer") != 0)
			return -1;
	}
}

/*
 * Reads until the answer parses whole or the peer closes.  Parsing again
 * after every read would cost O(n^2) on a large CRL, so past 64 KiB the
 * parser runs each time the buffer has doubled, and at the end (we ask
 * the server to close: Connection: close).
 */
static int
recv_answer(struct conn *k, struct ctl_reply *rep)
{
	size_t len = 0, cap = 64 * 1024, next = 0;
	uint8_t *grown;
	ssize_t n;
	int rc, eof = 0;

	if ((rep->buf = malloc(cap)) == NULL)
		return -1;
	for (;;) {
		if (len == cap) {
			if (cap >= CTL_MAX_RESPONSE) {
				ctl_err("%s: the answer is over %d bytes",
				    k->url, CTL_MAX_RESPONSE);
				return -1;
			}
			cap = cap * 2 > CTL_MAX_RESPONSE ? CTL_MAX_RESPONSE :
			    cap * 2;
			/* Not realloc: what was read may hold a secret. */
			if ((grown = malloc(cap)) == NULL)
				return -1;
			memcpy(grown, rep->buf, len);
			OPENSSL_cleanse(rep->buf, len);
			free(rep->buf);
			rep->buf = grown;
		}
		if ((n = recv_some(k, rep->buf + len, cap - len)) < 0)
			return -1;
		len += (size_t)n;
		rep->buflen = len;
		eof = n == 0;
		if (!eof && len >= 64 * 1024 && len < next)
			continue;
		next = len * 2;
		if (rep->out != NULL)
			OPENSSL_cleanse(rep->out, rep->outsize);
		free(rep->out);
		rep->outsize = len + 1;
		if ((rep->out = malloc(rep->outsize)) == NULL)
			return -1;
		rc = ctl_http_parse(rep->buf, len, eof, rep->out, &rep->r);
		if (rc == CTL_OK)
			return 0;
		if (rc != CTL_E_MORE) {
			ctl_err("%s: a malformed HTTP answer (%s)", k->url,
			    ctl_strerror(rc));
			return -1;
		}
	}
}

static int
is_json(const struct ctl_http_resp *r)
{
	static const char t[] = "application/json";

	return r->ctype != NULL && r->ctype_len >= sizeof(t) - 1 &&
	    strncasecmp((const char *)r->ctype, t, sizeof(t) - 1) == 0;
}

static int
request_head(char *buf, size_t size, const char *method,
    const struct ctl_url *u, const char *ctype, size_t len)
{
	int n;

	n = snprintf(buf, size, "%s %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\n"
	    "User-Agent: signetctl/1\r\nAccept: */*\r\n"
	    "Connection: close\r\n", method, u->path,
	    strchr(u->host, ':') != NULL ? "[" : "", u->host,
	    strchr(u->host, ':') != NULL ? "]" : "", ":", u->port);
	if (n > 0 && (size_t)n < size && ctype != NULL)
		n += snprintf(buf + n, size - (size_t)n, "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\n", ctype, len);
	if (n > 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, "\r\n");
	return n > 0 && (size_t)n < size ? n : -1;
}

int
ctl_request(const struct ctl *c, const char *method, const char *url,
    const char *ctype, const void *body, size_t len, struct ctl_reply *rep)
{
	struct conn k = { -1, NULL, NULL, { 0, 0 }, url };
	struct ctl_url u;
	char head[CTL_MAX_URL + 512];
	int n, rc = CTL_EXIT_ERR;

	memset(rep, 0, sizeof(*rep));
	if (ctl_url_parse(url, &u) != CTL_OK) {
		ctl_err("%s: not an http:// or https:// URL", url);
		return CTL_EXIT_ERR;
	}
	if ((n = request_head(head, sizeof(head), method, &u, ctype,
	    len)) < 0) {
		ctl_err("%s: the URL is too long", url);
		return CTL_EXIT_ERR;
	}
	clock_gettime(CLOCK_MONOTONIC, &k.deadline);
	k.deadline.tv_sec += c->timeout;
	if (tcp_connect(&k, &u) != 0)
		goto out;
	if (u.tls && (rc = tls_start(&k, c, &u)) != 0) {
		if (rc == -1)
			ctl_err("%s: cannot set up TLS: %s", url,
			    ERR_reason_error_string(ERR_peek_last_error()));
		rc = CTL_EXIT_ERR;
		goto out;
	}
	rc = CTL_EXIT_ERR;
	if (send_all(&k, (const uint8_t *)head, (size_t)n) != 0 ||
	    (len > 0 && send_all(&k, body, len) != 0) ||
	    recv_answer(&k, rep) != 0)
		goto out;
	if (is_json(&rep->r) && rep->r.body_len > 0) {
		if ((n = ctl_json_parse(rep->r.body, rep->r.body_len,
		    &rep->j)) != CTL_OK) {
			ctl_err("%s: the answer is not JSON (%s)", url,
			    ctl_strerror(n));
			goto out;
		}
		rep->have_json = 1;
	}
	rc = CTL_EXIT_OK;
out:
	if (k.ssl != NULL && rc == CTL_EXIT_OK)
		SSL_shutdown(k.ssl);
	SSL_free(k.ssl);
	SSL_CTX_free(k.ctx);
	if (k.fd != -1)
		close(k.fd);
	if (rc != CTL_EXIT_OK)
		ctl_reply_free(rep);
	return rc;
}

void
ctl_reply_free(struct ctl_reply *rep)
{
	if (rep->have_json) {
		OPENSSL_cleanse(rep->j.arena, rep->r.body_len + 1);
		ctl_json_free(&rep->j);
	}
	if (rep->buf != NULL)
		OPENSSL_cleanse(rep->buf, rep->buflen);
	if (rep->out != NULL)
		OPENSSL_cleanse(rep->out, rep->outsize);
	free(rep->buf);
	free(rep->out);
	memset(rep, 0, sizeof(*rep));
}

int
ctl_get(const struct ctl *c, const char *base, const char *path,
    struct ctl_reply *rep)
{
	char url[CTL_MAX_URL * 2];
	size_t blen = strlen(base);

	/* "https://host:port/" and "/v1/..." make one slash. */
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (snprintf(url, sizeof(url), "%.*s%s", (int)blen, base, path) >=
	    (int)sizeof(url)) {
		ctl_err("%s: the URL is too long", base);
		return CTL_EXIT_ERR;
	}
	return ctl_request(c, "GET", url, NULL, NULL, 0, rep);
}

int
ctl_status_exit(const struct ctl_reply *rep, const char *what)
{
	char msg[512];
	const char *e = NULL;
	size_t n;
	int s = rep->r.status;

	if (s >= 200 && s < 300)
		return CTL_EXIT_OK;
	if (rep->have_json)
		e = ctl_json_gets(&rep->j, 0, "error");
	if (e != NULL)
		ctl_safe(msg, sizeof(msg), e);
	else {
		n = rep->r.body_len < sizeof(msg) - 1 ? rep->r.body_len :
		    sizeof(msg) - 1;
		memcpy(msg, rep->r.body, n);
		msg[n] = '\0';
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
			msg[--n] = '\0';
		ctl_safe(msg, sizeof(msg), msg);
	}
	ctl_err("%s: %d: %s", what, s, msg[0] != '\0' ? msg : "(no message)");
	/*
	 * Refused or not found is 1: the request was understood and said
	 * no (401, 403, 404, 409, 410, 429).  A request the server could
	 * not take (400 and other 4xx) or could not serve (5xx) is 2.
	 */
	switch (s) {
	case 401:
	case 403:
	case 404:
	case 409:
	case 410:
	case 429:
		return CTL_EXIT_NO;
	default:
		return CTL_EXIT_ERR;
	}
}

void
ctl_print_body(const struct ctl_reply *rep, FILE *f)
{
	fwrite(rep->r.body, 1, rep->r.body_len, f);
	if (rep->r.body_len == 0 || rep->r.body[rep->r.body_len - 1] != '\n')
		fputc('\n', f);
}
