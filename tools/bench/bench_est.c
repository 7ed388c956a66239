/*
 * signet-bench-est: EST simpleenroll over keep-alive mutual TLS, the way
 * a fleet of services renews, at 16 and 64 connections (one thread each,
 * blocking OpenSSL clients), with pre-made P-256 CSRs.  Prints
 * issuances/s, p50/p99 latency, errors and issuances per connection
 * count.
 *
 * usage: signet-bench-est -p port -c ca.pem -C client.pem -K client.key
 *     [-H host] [-l label] [-d seconds] [-n conns[,conns...]] [-r rate]
 *        signet-bench-est -m cfssl -p port [-H host] [-d s] [-n ...]
 *
 * -r paces the load at that many issuances per second over all the
 * connections (each takes an equal share, on a fixed schedule), as the
 * soak test (tools/bench/soak.sh) drives it; without it each connection
 * sends its next request as soon as the answer is in.
 *
 * -m cfssl drives CFSSL's sign endpoint (POST /api/v1/cfssl/sign, plain
 * HTTP keep-alive, JSON) with the same kind of CSRs, for the comparison
 * the benchmark script makes in the same run.
 *
 * -m get -u path GETs path over plain HTTP keep-alive (issue 17: OCSP
 * answers, CRLs and CA certificates from the public listener, beside the
 * issuance figures); the figures are then requests, not issuances.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define NCSR		64
#define MAX_SAMPLES	(1 << 20)

static char *csr_b64[NCSR];
static size_t csr_len[NCSR];
static char *csr_json[NCSR];	/* CFSSL sign request bodies */
static size_t csr_json_len[NCSR];
static int cfssl, get;	/* plain HTTP: cfssl || get */
static const char *get_path;

/* A connection: TLS for the appliance, plain TCP for CFSSL. */
struct conn {
	SSL	*ssl;
	int	 fd;
};
static const char *host = "127.0.0.1", *label = "";
static int port, seconds = 10, nconns;
static SSL_CTX *ctx;
static double t_end, rate;

struct worker {
	pthread_t	 th;
	int		 id;
	unsigned long	 ok, errors;
	double		*lat;
	size_t		 nlat;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* {"certificate_request": "<PEM, newlines escaped>"} for CFSSL. */
static void
csr_to_json(X509_REQ *r, int i)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *pem, *out;
	long n;
	size_t k, o = 0;

	PEM_write_bio_X509_REQ(b, r);
	n = BIO_get_mem_data(b, &pem);
	out = malloc((size_t)n * 2 + 64);
	o = (size_t)snprintf(out, 64, "{\"certificate_request\":\"");
	for (k = 0; k < (size_t)n; k++) {
		if (pem[k] == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = pem[k];
		}
	}
	out[o++] = '"';
	out[o++] = '}';
	csr_json[i] = out;
	csr_json_len[i] = o;
	BIO_free(b);
}

/* Signet requires every name in the subjectAltName (CN too). */
static void
add_san(X509_REQ *r, const char *dns)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *e;
	char v[96];

	snprintf(v, sizeof(v), "DNS:%s", dns);
	e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, v);
	sk_X509_EXTENSION_push(exts, e);
	X509_REQ_add_extensions(r, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

static void
make_csrs(void)
{
	unsigned char *der = NULL;
	EVP_PKEY *k;
	X509_REQ *r;
	char cn[64];
	int i, n;

	for (i = 0; i < NCSR; i++) {
		k = EVP_EC_gen("P-256");
		r = X509_REQ_new();
		snprintf(cn, sizeof(cn), "bench%d.svc.dev.internal", i);
		X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN",
		    MBSTRING_ASC, (unsigned char *)cn, -1, -1, 0);
		X509_REQ_set_pubkey(r, k);
		add_san(r, cn);
		X509_REQ_sign(r, k, EVP_sha256());
		csr_to_json(r, i);
		der = NULL;
		n = i2d_X509_REQ(r, &der);
		csr_b64[i] = malloc((size_t)n * 2);
		csr_len[i] = (size_t)EVP_EncodeBlock(
		    (unsigned char *)csr_b64[i], der, n);
		OPENSSL_free(der);
		X509_REQ_free(r);
		EVP_PKEY_free(k);
	}
}

static struct conn *
dial(void)
{
	struct sockaddr_in sa;
	struct conn *c;
	SSL *ssl;
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
	c = calloc(1, sizeof(*c));
	c->fd = fd;
	if (cfssl || get)
		return c;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(fd);
		free(c);
		return NULL;
	}
	c->ssl = ssl;
	return c;
}

static int
cwrite(struct conn *c, const void *b, int n)
{
	return c->ssl ? SSL_write(c->ssl, b, n) : (int)write(c->fd, b,
	    (size_t)n);
}

static int
cread(struct conn *c, void *b, int n)
{
	return c->ssl ? SSL_read(c->ssl, b, n) : (int)read(c->fd, b,
	    (size_t)n);
}

static void
hangup(struct conn *c)
{
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

/* One request and its whole answer; returns the HTTP status or -1. */
static int
roundtrip(struct conn *c, int i)
{
	char hdr[8192], buf[65536], *body, *cl;
	const char *payload = cfssl ? csr_json[i] : csr_b64[i];
	size_t plen = cfssl ? csr_json_len[i] : csr_len[i];
	int n, got = 0, status, want;

	/* One write, one TLS record: no Nagle/delayed-ACK stall. */
	if (get) {
		n = snprintf(hdr, sizeof(hdr), "GET %s HTTP/1.1\r\nHost: "
		    "%s\r\n\r\n", get_path, host);
		plen = 0;
	} else if (cfssl)
		n = snprintf(hdr, sizeof(hdr), "POST /api/v1/cfssl/sign "
		    "HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json"
		    "\r\nContent-Length: %zu\r\n\r\n", host, plen);
	else
		n = snprintf(hdr, sizeof(hdr), "POST /.well-known/est/%s%s"
		    "simpleenroll HTTP/1.1\r\nHost: %s\r\nContent-Type: "
		    "application/pkcs10\r\nContent-Length: %zu\r\n\r\n",
		    label, label[0] ? "/" : "", host, plen);
	if (n < 0 || (size_t)n + plen > sizeof(hdr))
		return -1;
	if (plen > 0)
		memcpy(hdr + n, payload, plen);
	n += (int)plen;
	if (cwrite(c, hdr, n) != n)
		return -1;
	for (;;) {
		if ((n = cread(c, buf + got, (int)sizeof(buf) - got - 1))
		    <= 0)
			return -1;
		got += n;
		buf[got] = '\0';
		if ((body = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if (sscanf(buf, "HTTP/1.1 %d", &status) != 1 ||
		    (cl = strcasestr(buf, "Content-Length:")) == NULL)
			return -1;
		want = (int)strtol(cl + 15, NULL, 10);
		if (got - (body + 4 - buf) >= want)
			return status;
		if (got >= (int)sizeof(buf) - 1)
			return -1;
	}
}

static void
sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/*
 * -r: waits for this connection's next slot.  A connection that fell
 * more than one slot behind starts again from now, so that a stall is
 * not followed by a burst the schedule never asked for.
 */
static void
pace(double *next, double period)
{
	double t = now();

	if (*next > t)
		sleep_s(*next - t);
	else if (t - *next > period)
		*next = t;
	*next += period;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct conn *ssl = NULL;
	double t0, period = 0, next = 0;
	int i = w->id, st;

	if (rate > 0) {
		period = nconns / rate;
		next = now() + period * w->id / nconns;	/* staggered */
	}
	while (now() < t_end) {
		if (period > 0) {
			pace(&next, period);
			if (now() >= t_end)
				break;
		}
		if (ssl == NULL && (ssl = dial()) == NULL) {
			w->errors++;
			usleep(10000);
			continue;
		}
		t0 = now();
		st = roundtrip(ssl, i++ % NCSR);
		if (st == 200) {
			w->ok++;
			if (w->nlat < MAX_SAMPLES / 64)
				w->lat[w->nlat++] = now() - t0;
		} else {
			w->errors++;
			hangup(ssl);
			ssl = NULL;
		}
	}
	if (ssl != NULL)
		hangup(ssl);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
run(int conns)
{
	struct worker *w = calloc((size_t)conns, sizeof(*w));
	double *all, t0;
	size_t n = 0, i, k;
	unsigned long ok = 0, errs = 0;

	nconns = conns;
	t0 = now();
	t_end = t0 + seconds;
	for (i = 0; i < (size_t)conns; i++) {
		w[i].id = (int)i;
		w[i].lat = malloc(sizeof(double) * (MAX_SAMPLES / 64));
		pthread_create(&w[i].th, NULL, work, &w[i]);
	}
	all = malloc(sizeof(double) * (MAX_SAMPLES / 64) * (size_t)conns);
	for (i = 0; i < (size_t)conns; i++) {
		pthread_join(w[i].th, NULL);
		ok += w[i].ok;
		errs += w[i].errors;
		for (k = 0; k < w[i].nlat; k++)
			all[n++] = w[i].lat[k];
		free(w[i].lat);
	}
	qsort(all, n, sizeof(double), cmp);
	printf("%5d conns  %9.1f %s/s  p50 %7.2f ms  p99 %7.2f ms  "
	    "errors %lu  ok %lu\n", conns, (double)ok / (now() - t0),
	    get ? "requests" : "issuances",
	    n ? all[n / 2] * 1e3 : 0, n ? all[n * 99 / 100] * 1e3 : 0, errs,
	    ok);
	fflush(stdout);
	free(all);
	free(w);
}

static void
usage(void)
{
	fprintf(stderr, "usage: signet-bench-est -p port -c ca.pem -C cert "
	    "-K key [-H host] [-l label] [-d seconds] [-n 16,64] "
	    "[-r rate]\n"
	    "       signet-bench-est -m cfssl -p port [-H host] [-d seconds] "
	    "[-n 16,64]\n"
	    "       signet-bench-est -m get -u path -p port [-H host] "
	    "[-d seconds] [-n 16,64]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *ca = NULL, *cert = NULL, *key = NULL, *list = "16,64";
	char *copy, *tok, *save = NULL;
	int c;

	/* A refused or reset connection is an error counted, not a death. */
	signal(SIGPIPE, SIG_IGN);

	while ((c = getopt(argc, argv, "c:C:d:H:K:l:m:n:p:r:u:")) != -1) {
		switch (c) {
		case 'm':
			cfssl = strcmp(optarg, "cfssl") == 0;
			get = strcmp(optarg, "get") == 0;
			break;
		case 'u': get_path = optarg; break;
		case 'c': ca = optarg; break;
		case 'C': cert = optarg; break;
		case 'd': seconds = (int)strtol(optarg, NULL, 10); break;
		case 'H': host = optarg; break;
		case 'K': key = optarg; break;
		case 'l': label = optarg; break;
		case 'n': list = optarg; break;
		case 'p': port = (int)strtol(optarg, NULL, 10); break;
		case 'r': rate = strtod(optarg, NULL); break;
		default: usage();
		}
	}
	if (port <= 0 || seconds <= 0 || rate < 0 ||
	    (get && (get_path == NULL || get_path[0] != '/')) ||
	    (!cfssl && !get && (ca == NULL || cert == NULL || key == NULL)))
		usage();
	if (get) {
		printf("GET %s, plain HTTP keep-alive, %d s per run\n",
		    get_path, seconds);
		goto runs;
	}
	if (cfssl) {
		make_csrs();
		printf("CFSSL /api/v1/cfssl/sign, plain HTTP keep-alive, "
		    "%d s per run\n", seconds);
		goto runs;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 2;
	}
	make_csrs();
	printf("EST simpleenroll, mutual TLS keep-alive, %d s per run",
	    seconds);
	if (rate > 0)
		printf(", paced at %.1f/s", rate);
	printf("\n");
runs:
	copy = strdup(list);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		run((int)strtol(tok, NULL, 10));
	free(copy);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return 0;
}
