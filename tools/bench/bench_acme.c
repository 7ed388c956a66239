/*
 * signet-bench-acme: ACME (RFC 8555) orders end to end, the way a fleet
 * of ACME clients renews: one account per connection (made with EAB
 * before the clock starts), then each connection runs orders back to
 * back over keep-alive TLS: newOrder, the authorization, the http-01
 * challenge (answered by this program's own HTTP server, the port
 * signetd's acme_http01_port names) until the authorization is valid,
 * finalize with a CSR (its key pre-made; the CSR names the order's one
 * fresh name, so no authorization can be reused), the order valid, the
 * certificate downloaded.  JWS ES256 with OpenSSL, one blocking client
 * thread per connection, as signet-bench-est.
 *
 * Prints per connection count the columns of signet-bench-est (orders/s,
 * p50/p99 per order, errors, ok) and the mean time of each step:
 *   newOrder, authz (POST-as-GET of the authorization), chall (challenge
 *   POST until the authorization is valid: queue, the validator's poll,
 *   the http-01 fetch, the engine's verdict), final (finalize until the
 *   order is valid: the signature, ledger and audit), cert (download).
 *
 * usage: signet-bench-acme -p port -c ca.pem -C operator.pem -K operator.key
 *     -a http01-port [-H host] [-l label] [-t tenant/profile]
 *     [-d seconds | -N orders] [-n conns[,conns...]] [-i poll-ms]
 *
 * -N runs exactly that many orders per connection (the smoke test) and
 * exits 1 unless every one of them succeeded.  The operator certificate
 * only creates the EAB keys (POST /v1/acme/eab).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_SAMPLES	65536
#define URL_MAX		512
#define BODY_MAX	65536
#define NSTEP		5
#define MAX_TOKENS	1024

enum { S_ORDER, S_AUTHZ, S_CHALL, S_FINAL, S_CERT };
static const char *step_name[NSTEP] = { "newOrder", "authz", "chall",
	"final", "cert" };

static const char *host = "127.0.0.1", *label = "dev-acme";
static const char *eab_tp = "dev/acme";
static int port, http01_port, seconds = 10, per_conn, poll_ms = 20;
static SSL_CTX *ctx, *op_ctx;
static double t_end;
static char url_nonce[URL_MAX], url_account[URL_MAX], url_order[URL_MAX];
static volatile unsigned long name_seq;
static unsigned run_id;

/* http-01 answers: token -> key authorization, for the HTTP server. */
static pthread_mutex_t tok_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char	tok[96];
	char	ka[192];
} toks[MAX_TOKENS];
static unsigned long http01_served;

struct conn {
	SSL	*ssl;
	int	 fd;
};

struct resp {
	int	 status;
	char	 nonce[128];
	char	 location[URL_MAX];
	char	 retry[16];
	char	*body;		/* NUL-terminated, in buf */
	size_t	 blen;
	char	 buf[BODY_MAX];
};

struct worker {
	pthread_t	 th;
	int		 id;
	unsigned long	 ok, errors, posts;
	double		*lat;
	size_t		 nlat;
	double		 step[NSTEP];
	char		 err[256];
	/* the account */
	EVP_PKEY	*key;
	char		 jwk[256];	/* {"crv","kty","x","y"}, RFC 7638 */
	char		 thumb[64];
	char		 kid[URL_MAX];
	char		 nonce[128];
	struct conn	*c;
	EVP_PKEY	*leaf;		/* the CSRs' key */
	struct resp	 r;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
b64url(const unsigned char *in, size_t n, char *out, size_t size)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_";
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i + 2 < n && o + 4 < size; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (n - i == 1 && o + 2 < size) {
		v = (unsigned)in[i] << 16;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
	} else if (n - i == 2 && o + 3 < size) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
	}
	out[o] = '\0';
}

static size_t
b64url_dec(const char *in, unsigned char *out, size_t size)
{
	size_t i, o = 0, n = strlen(in);
	unsigned v = 0, bits = 0;
	const char *p;
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_";

	for (i = 0; i < n; i++) {
		if ((p = strchr(a, in[i])) == NULL || in[i] == '\0')
			break;
		v = v << 6 | (unsigned)(p - a);
		bits += 6;
		if (bits >= 8 && o < size) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	return o;
}

/* The first "key":"value" after p (the value without escapes). */
static int
jstr(const char *p, const char *key, char *out, size_t size)
{
	char pat[64];
	const char *s, *e;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	if (p == NULL || (s = strstr(p, pat)) == NULL)
		return -1;
	s += strlen(pat);
	s += strspn(s, " \t\r\n");
	if (*s++ != ':')
		return -1;
	s += strspn(s, " \t\r\n[");
	if (*s++ != '"' || (e = strchr(s, '"')) == NULL ||
	    (size_t)(e - s) >= size)
		return -1;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	return 0;
}

/* The account key's JWK and thumbprint (RFC 7638: members sorted). */
static void
make_key(struct worker *w)
{
	BIGNUM *x = NULL, *y = NULL;
	unsigned char bx[32], by[32], md[32];
	char sx[48], sy[48];

	w->key = EVP_EC_gen("P-256");
	w->leaf = EVP_EC_gen("P-256");
	EVP_PKEY_get_bn_param(w->key, "qx", &x);
	EVP_PKEY_get_bn_param(w->key, "qy", &y);
	BN_bn2binpad(x, bx, 32);
	BN_bn2binpad(y, by, 32);
	b64url(bx, 32, sx, sizeof(sx));
	b64url(by, 32, sy, sizeof(sy));
	snprintf(w->jwk, sizeof(w->jwk), "{\"crv\":\"P-256\",\"kty\":\"EC\","
	    "\"x\":\"%s\",\"y\":\"%s\"}", sx, sy);
	EVP_Digest(w->jwk, strlen(w->jwk), md, NULL, EVP_sha256(), NULL);
	b64url(md, 32, w->thumb, sizeof(w->thumb));
	BN_free(x);
	BN_free(y);
}

/* ES256 over in: the JWS signature, r||s (RFC 7518 3.4). */
static int
es256(EVP_PKEY *k, const char *in, char *out, size_t size)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned char der[80], raw[64];
	const unsigned char *p = der;
	size_t dlen = sizeof(der);
	ECDSA_SIG *sig = NULL;
	int rc = -1;

	if (EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(m, der, &dlen, (const unsigned char *)in,
	    strlen(in)) != 1 || (sig = d2i_ECDSA_SIG(NULL, &p,
	    (long)dlen)) == NULL)
		goto out;
	BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
	b64url(raw, 64, out, size);
	rc = 0;
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(m);
	return rc;
}

static struct conn *
dial(SSL_CTX *c)
{
	struct sockaddr_in sa;
	struct conn *cn;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return NULL;
	}
	cn = calloc(1, sizeof(*cn));
	cn->fd = fd;
	cn->ssl = SSL_new(c);
	SSL_set_fd(cn->ssl, fd);
	if (SSL_connect(cn->ssl) != 1) {
		SSL_free(cn->ssl);
		close(fd);
		free(cn);
		return NULL;
	}
	return cn;
}

static void
hangup(struct conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

static void
header(const char *head, const char *name, char *out, size_t size)
{
	const char *p = strcasestr(head, name), *e;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += strlen(name);
	p += strspn(p, " \t");
	e = p + strcspn(p, "\r\n");
	if ((size_t)(e - p) < size) {
		memcpy(out, p, (size_t)(e - p));
		out[e - p] = '\0';
	}
}

/* One request, its whole answer into r; 0, or -1 (the connection is bad). */
static int
roundtrip(struct conn *c, const char *method, const char *path,
    const char *ctype, const char *extra, const char *body, struct resp *r)
{
	static __thread char req[BODY_MAX];
	char cl[32], *e;
	size_t blen = body ? strlen(body) : 0;
	int n, got = 0, want;

	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: %s:%d\r\n"
	    "%s%s%s%sContent-Length: %zu\r\n\r\n", method, path, host, port,
	    ctype ? "Content-Type: " : "", ctype ? ctype : "",
	    ctype ? "\r\n" : "", extra ? extra : "", blen);
	if (n < 0 || (size_t)n + blen >= sizeof(req))
		return -1;
	memcpy(req + n, body ? body : "", blen);
	n += (int)blen;
	/* One write, one TLS record: no Nagle/delayed-ACK stall. */
	if (SSL_write(c->ssl, req, n) != n)
		return -1;
	memset(r, 0, offsetof(struct resp, buf));
	for (;;) {
		if ((n = SSL_read(c->ssl, r->buf + got,
		    (int)sizeof(r->buf) - got - 1)) <= 0)
			return -1;
		got += n;
		r->buf[got] = '\0';
		if ((e = strstr(r->buf, "\r\n\r\n")) == NULL)
			continue;
		header(r->buf, "\r\nContent-Length:", cl, sizeof(cl));
		want = (int)strtol(cl, NULL, 10);
		if (sscanf(r->buf, "HTTP/1.1 %d", &r->status) != 1)
			return -1;
		if (strcmp(method, "HEAD") == 0)
			want = 0;
		if (got - (e + 4 - r->buf) < want) {
			if (got >= (int)sizeof(r->buf) - 1)
				return -1;
			continue;
		}
		*e = '\0';
		header(r->buf, "\r\nReplay-Nonce:", r->nonce,
		    sizeof(r->nonce));
		header(r->buf, "\r\nLocation:", r->location,
		    sizeof(r->location));
		r->body = e + 4;
		r->blen = (size_t)want;
		r->body[want] = '\0';
		return 0;
	}
}

/* "https://host:port/path" -> "/path". */
static const char *
path_of(const char *url)
{
	const char *p = strstr(url, "://");

	return p != NULL && (p = strchr(p + 3, '/')) != NULL ? p : url;
}

static int
new_nonce(struct worker *w)
{
	if (roundtrip(w->c, "HEAD", path_of(url_nonce), NULL, NULL, NULL,
	    &w->r) != 0 || w->r.nonce[0] == '\0')
		return -1;
	snprintf(w->nonce, sizeof(w->nonce), "%s", w->r.nonce);
	return 0;
}

/*
 * A JWS POST (payload NULL: POST-as-GET) signed by the account key, with
 * kid or (no kid yet) its jwk; once again on badNonce.  The answer in
 * w->r; 0, or -1 when the connection failed.
 */
static int
post(struct worker *w, const char *url, const char *payload)
{
	static __thread char prot[1024], pb[1400], pl[BODY_MAX / 2],
	    sin[BODY_MAX / 2 + 1400], body[BODY_MAX / 2 + 1600];
	char sig[100];
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (w->nonce[0] == '\0' && new_nonce(w) != 0)
			return -1;
		if (w->kid[0] != '\0')
			snprintf(prot, sizeof(prot), "{\"alg\":\"ES256\","
			    "\"kid\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\"}",
			    w->kid, w->nonce, url);
		else
			snprintf(prot, sizeof(prot), "{\"alg\":\"ES256\","
			    "\"jwk\":%s,\"nonce\":\"%s\",\"url\":\"%s\"}",
			    w->jwk, w->nonce, url);
		b64url((const unsigned char *)prot, strlen(prot), pb,
		    sizeof(pb));
		if (payload != NULL)
			b64url((const unsigned char *)payload,
			    strlen(payload), pl, sizeof(pl));
		else
			pl[0] = '\0';
		snprintf(sin, sizeof(sin), "%s.%s", pb, pl);
		if (es256(w->key, sin, sig, sizeof(sig)) != 0)
			return -1;
		snprintf(body, sizeof(body), "{\"protected\":\"%s\","
		    "\"payload\":\"%s\",\"signature\":\"%s\"}", pb, pl, sig);
		w->posts++;
		if (roundtrip(w->c, "POST", path_of(url),
		    "application/jose+json", NULL, body, &w->r) != 0)
			return -1;
		snprintf(w->nonce, sizeof(w->nonce), "%s", w->r.nonce);
		if (w->r.status != 400 || strstr(w->r.body, "badNonce") ==
		    NULL)
			return 0;
	}
	return 0;
}

/* An EAB key over the operator's mTLS, then the account (RFC 8555 7.3.4). */
static int
make_account(struct worker *w)
{
	struct conn *op;
	char kid[128], hmac_b64[128], prot[1024], pb[1400], pl[400];
	char sin[2048], payload[4096], sig[64];
	unsigned char key[64], mac[32];
	unsigned maclen = sizeof(mac);
	size_t klen;
	char tp[64], *slash;

	snprintf(tp, sizeof(tp), "%s", eab_tp);
	if ((slash = strchr(tp, '/')) == NULL)
		return -1;
	*slash = '\0';
	snprintf(payload, sizeof(payload), "{\"tenant\":\"%s\",\"profile\":"
	    "\"%s\"}", tp, slash + 1);
	if ((op = dial(op_ctx)) == NULL)
		return -1;
	if (roundtrip(op, "POST", "/v1/acme/eab", "application/json", NULL,
	    payload, &w->r) != 0 || jstr(w->r.body, "kid", kid,
	    sizeof(kid)) != 0 || jstr(w->r.body, "hmac_key", hmac_b64,
	    sizeof(hmac_b64)) != 0) {
		snprintf(w->err, sizeof(w->err), "EAB key: %d %s", w->r.status,
		    w->r.body ? w->r.body : "");
		hangup(op);
		return -1;
	}
	hangup(op);
	klen = b64url_dec(hmac_b64, key, sizeof(key));
	snprintf(prot, sizeof(prot), "{\"alg\":\"HS256\",\"kid\":\"%s\","
	    "\"url\":\"%s\"}", kid, url_account);
	b64url((const unsigned char *)prot, strlen(prot), pb, sizeof(pb));
	b64url((const unsigned char *)w->jwk, strlen(w->jwk), pl, sizeof(pl));
	snprintf(sin, sizeof(sin), "%s.%s", pb, pl);
	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)sin,
	    strlen(sin), mac, &maclen);
	b64url(mac, maclen, sig, sizeof(sig));
	snprintf(payload, sizeof(payload), "{\"termsOfServiceAgreed\":true,"
	    "\"externalAccountBinding\":{\"protected\":\"%s\",\"payload\":"
	    "\"%s\",\"signature\":\"%s\"}}", pb, pl, sig);
	if (post(w, url_account, payload) != 0 || w->r.status != 201 ||
	    w->r.location[0] == '\0') {
		snprintf(w->err, sizeof(w->err), "newAccount: %d %.200s",
		    w->r.status, w->r.body ? w->r.body : "");
		return -1;
	}
	snprintf(w->kid, sizeof(w->kid), "%s", w->r.location);
	return 0;
}

static void
token_put(const char *tok, const char *ka)
{
	size_t i, h = 0;

	for (i = 0; tok[i]; i++)
		h = h * 31 + (unsigned char)tok[i];
	pthread_mutex_lock(&tok_mu);
	for (i = 0; i < MAX_TOKENS; i++) {
		size_t s = (h + i) % MAX_TOKENS;

		if (toks[s].tok[0] == '\0' || strcmp(toks[s].tok, tok) == 0) {
			snprintf(toks[s].tok, sizeof(toks[s].tok), "%s", tok);
			snprintf(toks[s].ka, sizeof(toks[s].ka), "%s", ka);
			break;
		}
	}
	pthread_mutex_unlock(&tok_mu);
}

static void
token_del(const char *tok)
{
	size_t i;

	pthread_mutex_lock(&tok_mu);
	for (i = 0; i < MAX_TOKENS; i++)
		if (strcmp(toks[i].tok, tok) == 0)
			toks[i].tok[0] = '\0';
	pthread_mutex_unlock(&tok_mu);
}

/* The http-01 server: one request per connection, as the validator does. */
static void *
http01_serve(void *arg)
{
	int lfd = *(int *)arg, fd;
	char buf[2048], out[512], ka[192];
	const char *p;
	ssize_t n, got;
	size_t i;

	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		got = 0;
		while (got < (ssize_t)sizeof(buf) - 1 && (n = read(fd,
		    buf + got, sizeof(buf) - 1 - (size_t)got)) > 0) {
			got += n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL)
				break;
		}
		buf[got > 0 ? got : 0] = '\0';
		ka[0] = '\0';
		if ((p = strstr(buf, "/.well-known/acme-challenge/")) !=
		    NULL) {
			p += strlen("/.well-known/acme-challenge/");
			pthread_mutex_lock(&tok_mu);
			for (i = 0; i < MAX_TOKENS; i++)
				if (toks[i].tok[0] != '\0' && strncmp(p,
				    toks[i].tok, strlen(toks[i].tok)) == 0 &&
				    p[strlen(toks[i].tok)] == ' ')
					snprintf(ka, sizeof(ka), "%s",
					    toks[i].ka);
			http01_served++;
			pthread_mutex_unlock(&tok_mu);
		}
		n = snprintf(out, sizeof(out), "HTTP/1.1 %s\r\nContent-Length: "
		    "%zu\r\nConnection: close\r\n\r\n%s", ka[0] ? "200 OK" :
		    "404 Not Found", strlen(ka), ka);
		if (write(fd, out, (size_t)n) != n)
			(void)0;
		close(fd);
	}
}

static int
http01_start(void)
{
	static int lfd;
	static pthread_t th;
	struct sockaddr_in sa;
	int one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)http01_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(lfd, 64) == -1) {
		perror("http-01 listener");
		return -1;
	}
	return pthread_create(&th, NULL, http01_serve, &lfd);
}

/* A CSR for name under the worker's pre-made key, base64url DER. */
static int
make_csr(struct worker *w, const char *name, char *out, size_t size)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_REQ *r = X509_REQ_new();
	unsigned char *der = NULL;
	char v[128];
	int n;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN",
	    MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
	X509_REQ_set_pubkey(r, w->leaf);
	snprintf(v, sizeof(v), "DNS:%s", name);
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL,
	    NID_subject_alt_name, v));
	X509_REQ_add_extensions(r, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_sign(r, w->leaf, EVP_sha256());
	n = i2d_X509_REQ(r, &der);
	X509_REQ_free(r);
	if (n <= 0 || (size_t)n * 2 > size) {
		OPENSSL_free(der);
		return -1;
	}
	b64url(der, (size_t)n, out, size);
	OPENSSL_free(der);
	return 0;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

#define FAIL(...) do {							\
	snprintf(w->err, sizeof(w->err), __VA_ARGS__);			\
	goto out;							\
} while (0)

/* Poll url (POST-as-GET) until its "status" is not pending/processing. */
static int
await(struct worker *w, const char *url, char *status, size_t size)
{
	double give_up = now() + 60;

	for (;;) {
		if (post(w, url, NULL) != 0 || w->r.status != 200 ||
		    jstr(w->r.body, "status", status, size) != 0)
			return -1;
		if (strcmp(status, "pending") != 0 &&
		    strcmp(status, "processing") != 0)
			return 0;
		if (now() > give_up)
			return -1;
		sleep_ms(poll_ms);
	}
}

/* One order end to end; 0 with the step times added to t, or -1. */
static int
order(struct worker *w, double t[NSTEP])
{
	char name[96], payload[512], authz[URL_MAX], fin[URL_MAX];
	char chall[URL_MAX], tok[96], ka[192], st[32], cert[URL_MAX];
	char orderurl[URL_MAX], *csr = NULL;
	const char *p, *e;
	double t0;
	int rc = -1;

	tok[0] = '\0';
	snprintf(name, sizeof(name), "a%u-%lu.svc.dev.internal", run_id,
	    __atomic_add_fetch(&name_seq, 1, __ATOMIC_RELAXED));
	csr = malloc(4096);
	if (make_csr(w, name, csr, 4096) != 0)
		FAIL("CSR");
	snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":"
	    "\"dns\",\"value\":\"%s\"}]}", name);
	t0 = now();
	if (post(w, url_order, payload) != 0 || w->r.status != 201 ||
	    jstr(w->r.body, "authorizations", authz, sizeof(authz)) != 0 ||
	    jstr(w->r.body, "finalize", fin, sizeof(fin)) != 0)
		FAIL("newOrder: %d %.200s", w->r.status, w->r.body ?
		    w->r.body : "");
	snprintf(orderurl, sizeof(orderurl), "%s", w->r.location);
	t[S_ORDER] = now() - t0;
	t0 = now();
	if (post(w, authz, NULL) != 0 || w->r.status != 200 ||
	    (p = strstr(w->r.body, "\"http-01\"")) == NULL)
		FAIL("authz: %d %.200s", w->r.status, w->r.body ?
		    w->r.body : "");
	if ((e = strchr(p, '}')) != NULL)
		*(char *)e = '\0';
	if (jstr(p, "url", chall, sizeof(chall)) != 0 ||
	    jstr(p, "token", tok, sizeof(tok)) != 0)
		FAIL("authz: no http-01 url/token");
	t[S_AUTHZ] = now() - t0;
	snprintf(ka, sizeof(ka), "%s.%s", tok, w->thumb);
	token_put(tok, ka);
	t0 = now();
	if (post(w, chall, "{}") != 0 || w->r.status != 200)
		FAIL("challenge: %d %.200s", w->r.status, w->r.body ?
		    w->r.body : "");
	if (await(w, authz, st, sizeof(st)) != 0 || strcmp(st, "valid") != 0)
		FAIL("authorization %s: %.200s", st, w->r.body ?
		    w->r.body : "");
	t[S_CHALL] = now() - t0;
	t0 = now();
	{
		char body[4200];

		snprintf(body, sizeof(body), "{\"csr\":\"%s\"}", csr);
		if (post(w, fin, body) != 0 || w->r.status != 200 ||
		    jstr(w->r.body, "status", st, sizeof(st)) != 0)
			FAIL("finalize: %d %.200s", w->r.status, w->r.body ?
			    w->r.body : "");
	}
	if (strcmp(st, "valid") != 0 && (await(w, orderurl, st,
	    sizeof(st)) != 0 || strcmp(st, "valid") != 0))
		FAIL("order %s: %.200s", st, w->r.body ? w->r.body : "");
	if (jstr(w->r.body, "certificate", cert, sizeof(cert)) != 0)
		FAIL("order without certificate: %.200s", w->r.body);
	t[S_FINAL] = now() - t0;
	t0 = now();
	if (post(w, cert, NULL) != 0 || w->r.status != 200 ||
	    strstr(w->r.body, "-----BEGIN CERTIFICATE-----") == NULL)
		FAIL("certificate: %d %.200s", w->r.status, w->r.body ?
		    w->r.body : "");
	t[S_CERT] = now() - t0;
	rc = 0;
out:
	if (tok[0] != '\0')
		token_del(tok);
	free(csr);
	return rc;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	double t0, t[NSTEP];
	int i, k;

	for (i = 0; per_conn > 0 ? i < per_conn : now() < t_end; i++) {
		if (w->c == NULL && (w->c = dial(ctx)) == NULL) {
			w->errors++;
			snprintf(w->err, sizeof(w->err), "connect");
			sleep_ms(10);
			continue;
		}
		t0 = now();
		if (order(w, t) == 0) {
			w->ok++;
			for (k = 0; k < NSTEP; k++)
				w->step[k] += t[k];
			if (w->nlat < MAX_SAMPLES)
				w->lat[w->nlat++] = now() - t0;
		} else {
			w->errors++;
			fprintf(stderr, "worker %d: %s\n", w->id, w->err);
			hangup(w->c);
			w->c = NULL;
			w->nonce[0] = '\0';
		}
	}
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Accounts for conns workers, made before the clock starts. */
static struct worker *
setup(int conns)
{
	struct worker *w = calloc((size_t)conns, sizeof(*w));
	int i;

	for (i = 0; i < conns; i++) {
		w[i].id = i;
		w[i].lat = malloc(sizeof(double) * MAX_SAMPLES);
		make_key(&w[i]);
		if ((w[i].c = dial(ctx)) == NULL || make_account(&w[i]) != 0) {
			fprintf(stderr, "account %d: %s\n", i, w[i].err[0] ?
			    w[i].err : "connect");
			exit(1);
		}
	}
	return w;
}

static unsigned long
run(int conns)
{
	struct worker *w = setup(conns);
	double *all, t0, el, step[NSTEP] = { 0 };
	size_t n = 0, i, k;
	unsigned long ok = 0, errs = 0, posts = 0;

	for (i = 0; i < (size_t)conns; i++)
		w[i].posts = 0;	/* not the accounts' */
	t0 = now();
	t_end = t0 + seconds;
	for (i = 0; i < (size_t)conns; i++)
		pthread_create(&w[i].th, NULL, work, &w[i]);
	all = malloc(sizeof(double) * MAX_SAMPLES * (size_t)conns);
	for (i = 0; i < (size_t)conns; i++) {
		pthread_join(w[i].th, NULL);
		ok += w[i].ok;
		errs += w[i].errors;
		posts += w[i].posts;
		for (k = 0; k < w[i].nlat; k++)
			all[n++] = w[i].lat[k];
		for (k = 0; k < NSTEP; k++)
			step[k] += w[i].step[k];
	}
	el = now() - t0;
	qsort(all, n, sizeof(double), cmp);
	printf("%5d conns  %9.1f orders/s  p50 %7.2f ms  p99 %7.2f ms  "
	    "errors %lu  ok %lu  steps(ms)", conns, (double)ok / el,
	    n ? all[n / 2] * 1e3 : 0, n ? all[n * 99 / 100] * 1e3 : 0, errs,
	    ok);
	for (k = 0; k < NSTEP; k++)
		printf(" %s %.2f", step_name[k], ok ? step[k] * 1e3 /
		    (double)ok : 0);
	/* JWS POSTs per order, polls included (EST: one request). */
	printf(" posts/order %.1f\n", ok ? (double)posts / (double)ok : 0);
	fflush(stdout);
	for (i = 0; i < (size_t)conns; i++) {
		hangup(w[i].c);
		EVP_PKEY_free(w[i].key);
		EVP_PKEY_free(w[i].leaf);
		free(w[i].lat);
	}
	free(all);
	free(w);
	return errs;
}

static void
usage(void)
{
	fprintf(stderr, "usage: signet-bench-acme -p port -c ca.pem -C cert "
	    "-K key -a http01-port [-H host] [-l label] [-t tenant/profile] "
	    "[-d seconds | -N orders] [-n 4,16] [-i poll-ms]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *ca = NULL, *cert = NULL, *key = NULL, *list = "4,16";
	char *copy, *tok, *save = NULL, path[256];
	struct worker boot;
	unsigned long errs = 0;
	int c;

	/* A refused or reset connection is an error counted, not a death. */
	signal(SIGPIPE, SIG_IGN);

	while ((c = getopt(argc, argv, "a:c:C:d:H:i:K:l:n:N:p:t:")) != -1) {
		switch (c) {
		case 'a': http01_port = (int)strtol(optarg, NULL, 10); break;
		case 'c': ca = optarg; break;
		case 'C': cert = optarg; break;
		case 'd': seconds = (int)strtol(optarg, NULL, 10); break;
		case 'H': host = optarg; break;
		case 'i': poll_ms = (int)strtol(optarg, NULL, 10); break;
		case 'K': key = optarg; break;
		case 'l': label = optarg; break;
		case 'n': list = optarg; break;
		case 'N': per_conn = (int)strtol(optarg, NULL, 10); break;
		case 'p': port = (int)strtol(optarg, NULL, 10); break;
		case 't': eab_tp = optarg; break;
		default: usage();
		}
	}
	if (port <= 0 || http01_port <= 0 || seconds <= 0 || poll_ms < 1 ||
	    per_conn < 0 || ca == NULL || cert == NULL || key == NULL)
		usage();
	run_id = (unsigned)time(NULL) ^ (unsigned)getpid() << 16;
	ctx = SSL_CTX_new(TLS_client_method());
	op_ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify(op_ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
	    SSL_CTX_load_verify_locations(op_ctx, ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(op_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(op_ctx, key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 2;
	}
	if (http01_start() != 0)
		return 2;
	/* The directory, once. */
	memset(&boot, 0, sizeof(boot));
	snprintf(path, sizeof(path), "/acme/%s/directory", label);
	if ((boot.c = dial(ctx)) == NULL || roundtrip(boot.c, "GET", path,
	    NULL, NULL, NULL, &boot.r) != 0 || boot.r.status != 200 ||
	    jstr(boot.r.body, "newNonce", url_nonce, sizeof(url_nonce)) ||
	    jstr(boot.r.body, "newAccount", url_account,
	    sizeof(url_account)) || jstr(boot.r.body, "newOrder", url_order,
	    sizeof(url_order))) {
		fprintf(stderr, "directory %s: %d %s\n", path, boot.r.status,
		    boot.r.body ? boot.r.body : "(no answer)");
		return 1;
	}
	hangup(boot.c);
	printf("ACME orders (EAB accounts made first; newOrder, authz, "
	    "http-01, finalize, certificate), keep-alive TLS, ");
	if (per_conn > 0)
		printf("%d orders per connection\n", per_conn);
	else
		printf("%d s per run\n", seconds);
	copy = strdup(list);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		errs += run((int)strtol(tok, NULL, 10));
	free(copy);
	printf("http-01 requests served: %lu\n", http01_served);
	SSL_CTX_free(ctx);
	SSL_CTX_free(op_ctx);
	return per_conn > 0 && errs > 0 ? 1 : 0;
}
