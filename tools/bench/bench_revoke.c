/*
 * signet-bench-revoke: revocation figures with a P-256 issuer key in a
 * fresh SoftHSMv2 token and an on-disk SQLite ledger.
 *
 *  - CRL: time to build and sign a CRL of 100,000 revoked entries;
 *  - OCSP: 1,000,000 certificates in the ledger; a working set of W of
 *    them is asked about once (cache misses: ledger read + token
 *    signature, the uncached rate), then R requests over the working
 *    set are answered from the cache (1 and T threads), and requests
 *    with a nonce are answered with a fresh signature each.
 *
 * Usage: signet-bench-revoke [-n certs] [-r revoked] [-w working set]
 *	[-q requests] [-t threads] [-s]
 *   -s  copy the key into a session object (SoftHSM re-reads a token
 *       object's file on every signature)
 */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <signet/ca.h>
#include <signet/ca_revoke.h>
#include <signet/hsm.h>
#include <signet/ledger.h>

#include "bench_revoke.h"

#define BENCH_PIN "1234"
#define BENCH_MAX_THREADS 16

struct bench {
	struct hsm *hsm;
	struct hsm_key *key;
	struct ca_signer *signer;
	struct ca_issuer iss;
	struct ledger *ledger;
	struct ca_ocsp *ocsp;
	uint8_t **req;		/* DER requests over the working set */
	size_t *req_len;
	size_t w;
	uint64_t nreq;
};

struct worker {
	struct bench *b;
	uint64_t n, seed, misses;
	pthread_t th;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "signet-bench-revoke: %s\n", what);
	exit(2);
}

static void
bench_token(const char *dir, int session_keys, struct bench *b)
{
	const char *mod = getenv("SIGNET_SOFTHSM_MODULE");
	char conf[600], tokdir[600], pin[] = BENCH_PIN;
	struct hsm_config cfg;
	struct hsm_keygen kg;
	FILE *f;

	if (mod == NULL || *mod == '\0')
		mod = "/usr/lib/softhsm/libsofthsm2.so";
	snprintf(tokdir, sizeof(tokdir), "%s/tokens", dir);
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	if (mkdir(tokdir, 0700) != 0 || (f = fopen(conf, "w")) == NULL)
		die("cannot prepare the token directory");
	fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = ERROR\n", tokdir);
	fclose(f);
	setenv("SOFTHSM2_CONF", conf, 1);
	if (hsm_token_init(mod, "bench", "12345678", BENCH_PIN) != HSM_OK)
		die("cannot initialise a SoftHSMv2 token");
	memset(&cfg, 0, sizeof(cfg));
	cfg.module = mod;
	cfg.token_label = "bench";
	cfg.session_keys = session_keys;
	cfg.pool_size = BENCH_MAX_THREADS;
	if (hsm_open(&cfg, pin, strlen(pin), &b->hsm) != HSM_OK)
		die("cannot open the token");
	memset(&kg, 0, sizeof(kg));
	kg.type = HSM_KEY_EC_P256;
	kg.label = "issuer";
	if (hsm_key_generate(b->hsm, &kg, &b->key) != HSM_OK ||
	    ca_signer_hsm(b->key, &b->signer) != CA_OK)
		die("cannot make the issuer key");
}

/* A self-signed CA certificate for the token key, signed in the token. */
static void
bench_issuer(struct bench *b)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	struct ca_err err;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x4242);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Signet Bench Revocation CA", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_pubkey(x, hsm_key_public(b->key));
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (X509_sign(x, hsm_key_evp(b->key), EVP_sha256()) <= 0)
		die("cannot sign the issuer certificate in the token");
	if (ca_issuer_init(&b->iss, "bench", b->signer, x, NULL, 0,
	    &err) != CA_OK)
		die(err.msg);
	X509_free(x);
}

static void
bench_crl(struct bench *b, uint64_t nrevoked)
{
	struct ca_crl crl;
	struct ca_err err;
	const unsigned char *p;
	X509_CRL *x;
	double t0, dt, best = 1e9;
	int i;

	for (i = 0; i < 3; i++) {
		t0 = now_s();
		if (ca_crl_build(&b->iss, b->ledger, 0, 86400, &crl, &err) !=
		    CA_OK)
			die(err.msg);
		dt = now_s() - t0;
		if (dt < best)
			best = dt;
		if (i < 2)
			ca_crl_free(&crl);
	}
	p = crl.der;
	if ((x = d2i_X509_CRL(NULL, &p, (long)crl.len)) == NULL ||
	    (uint64_t)sk_X509_REVOKED_num(X509_CRL_get_REVOKED(x)) !=
	    nrevoked || X509_CRL_verify(x, X509_get0_pubkey(b->iss.cert)) != 1)
		die("the CRL does not parse, count or verify");
	printf("CRL: %zu entries, %.1f MB, cRLNumber %llu: built and signed "
	    "in %.0f ms (best of 3)\n", crl.nrevoked, crl.len / 1e6,
	    (unsigned long long)crl.number, best * 1e3);
	X509_CRL_free(x);
	ca_crl_free(&crl);
}

/* DER OCSP requests (SHA-1 CertID) for certificates 0, k, 2k, ... */
static void
bench_requests(struct bench *b, uint64_t n, int nonce)
{
	OCSP_REQUEST *r;
	OCSP_CERTID *id;
	ASN1_INTEGER *sn;
	BIGNUM *bn;
	struct ledger_serial s;
	unsigned char *der;
	size_t i;
	int len;

	b->req = calloc(b->w, sizeof(*b->req));
	b->req_len = calloc(b->w, sizeof(*b->req_len));
	if (b->req == NULL || b->req_len == NULL)
		die("out of memory");
	for (i = 0; i < b->w; i++) {
		bench_serial(i * (n / b->w), &s);
		bn = BN_bin2bn(s.b, (int)s.len, NULL);
		sn = BN_to_ASN1_INTEGER(bn, NULL);
		r = OCSP_REQUEST_new();
		id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(
		    b->iss.cert), X509_get0_pubkey_bitstr(b->iss.cert), sn);
		if (id == NULL || OCSP_request_add0_id(r, id) == NULL ||
		    (nonce && OCSP_request_add1_nonce(r, NULL, 16) != 1))
			die("cannot make a request");
		der = NULL;
		if ((len = i2d_OCSP_REQUEST(r, &der)) <= 0)
			die("cannot encode a request");
		b->req[i] = der;
		b->req_len[i] = (size_t)len;
		OCSP_REQUEST_free(r);
		ASN1_INTEGER_free(sn);
		BN_free(bn);
	}
}

static void
bench_requests_free(struct bench *b)
{
	size_t i;

	for (i = 0; i < b->w; i++)
		OPENSSL_free(b->req[i]);
	free(b->req);
	free(b->req_len);
	b->req = NULL;
	b->req_len = NULL;
}

static void *
bench_worker(void *arg)
{
	struct worker *w = arg;
	struct ca_ocsp_answer ans;
	struct ca_err err;
	uint64_t i, x = w->seed, k;

	for (i = 0; i < w->n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		k = w->b->nreq ? (x >> 33) % w->b->w : i % w->b->w;
		if (ca_ocsp_respond(w->b->ocsp, w->b->req[k],
		    w->b->req_len[k], 0, NULL, NULL, &ans, &err) != CA_OK ||
		    ans.status != CA_OCSP_SUCCESSFUL ||
		    ans.cert_status == CA_OCSP_UNKNOWN)
			die("an OCSP answer failed");
		if (!ans.from_cache)
			w->misses++;
		ca_ocsp_answer_free(&ans);
	}
	return NULL;
}

/* n answers over t threads; random requests if b->nreq, else in order. */
static double
bench_run(struct bench *b, int t, uint64_t n, uint64_t *misses)
{
	struct worker w[BENCH_MAX_THREADS];
	double t0;
	int i;

	memset(w, 0, sizeof(w));
	t0 = now_s();
	for (i = 0; i < t; i++) {
		w[i].b = b;
		w[i].n = n / (uint64_t)t;
		w[i].seed = 0x5eed + (uint64_t)i;
		if (pthread_create(&w[i].th, NULL, bench_worker, &w[i]) != 0)
			die("cannot start a thread");
	}
	*misses = 0;
	for (i = 0; i < t; i++) {
		pthread_join(w[i].th, NULL);
		*misses += w[i].misses;
	}
	return (double)(n / (uint64_t)t * (uint64_t)t) / (now_s() - t0);
}

static void
bench_ocsp(struct bench *b, uint64_t n, uint64_t q, int threads)
{
	struct ca_ocsp_config cfg;
	struct ca_ocsp_stats st;
	struct ca_err err;
	uint64_t miss;
	double r;

	memset(&cfg, 0, sizeof(cfg));
	cfg.ledger = b->ledger;
	cfg.cache_max = b->w * 2;
	if (ca_ocsp_new(&cfg, &b->ocsp) != CA_OK ||
	    ca_ocsp_add_issuer(b->ocsp, &b->iss, NULL, NULL, &err) != CA_OK)
		die("cannot make the responder");
	bench_requests(b, n, 0);
	b->nreq = 0;
	r = bench_run(b, 1, b->w, &miss);
	printf("OCSP uncached (ledger read + token signature), 1 thread: "
	    "%.0f /s (%llu misses)\n", r, (unsigned long long)miss);
	b->nreq = q;
	r = bench_run(b, 1, q, &miss);
	printf("OCSP from the cache, 1 thread:  %.0f /s (%llu misses)\n", r,
	    (unsigned long long)miss);
	r = bench_run(b, threads, q, &miss);
	printf("OCSP from the cache, %d threads: %.0f /s (%llu misses)\n",
	    threads, r, (unsigned long long)miss);
	ca_ocsp_stats(b->ocsp, &st);
	printf("    cache: %zu entries, %llu hits, %llu misses, %llu "
	    "signatures\n", st.entries, (unsigned long long)st.hits,
	    (unsigned long long)st.misses, (unsigned long long)st.signatures);
	bench_requests_free(b);
	bench_requests(b, n, 1);
	b->nreq = 0;
	r = bench_run(b, 1, b->w < 5000 ? b->w : 5000, &miss);
	printf("OCSP with a nonce (fresh signature each), 1 thread: %.0f /s\n",
	    r);
	r = bench_run(b, threads, b->w < 5000 ? b->w : 5000, &miss);
	printf("OCSP with a nonce (fresh signature each), %d threads: "
	    "%.0f /s\n", threads, r);
	bench_requests_free(b);
	ca_ocsp_free(b->ocsp);
}

static int
bench_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(int argc, char **argv)
{
	struct bench b;
	char dir[] = "/tmp/signet-bench-revoke.XXXXXX", db[600];
	uint64_t n = 1000000, nrev = 100000, q = 1000000;
	int ch, threads = 4, session_keys = 0;
	double t0;

	memset(&b, 0, sizeof(b));
	b.w = 20000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch = getopt(argc, argv, "n:r:w:q:t:s")) != -1) {
		switch (ch) {
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			nrev = strtoull(optarg, NULL, 10);
			break;
		case 'w':
			b.w = strtoull(optarg, NULL, 10);
			break;
		case 'q':
			q = strtoull(optarg, NULL, 10);
			break;
		case 't':
			threads = (int)strtol(optarg, NULL, 10);
			break;
		case 's':
			session_keys = 1;
			break;
		default:
			fprintf(stderr, "usage: signet-bench-revoke [-n certs] "
			    "[-r revoked] [-w working set] [-q requests] "
			    "[-t threads] [-s]\n");
			return 2;
		}
	}
	if (n == 0 || nrev > n || b.w == 0 || b.w > n || q == 0 ||
	    threads < 1 || threads > BENCH_MAX_THREADS ||
	    mkdtemp(dir) == NULL)
		die("bad arguments");
	bench_token(dir, session_keys, &b);
	bench_issuer(&b);
	snprintf(db, sizeof(db), "%s/ledger.db", dir);
	t0 = now_s();
	if (bench_fill(db, "bench", n, nrev, time(NULL)) != 0 ||
	    ledger_open("sqlite", db, &b.ledger) != LEDGER_OK)
		die("cannot fill the ledger");
	printf("signet-bench-revoke: P-256 issuer in SoftHSMv2 (%s), SQLite "
	    "ledger on disk with %llu certificates (%llu revoked), filled "
	    "in %.1f s\n", session_keys ? "session key" : "token object",
	    (unsigned long long)n, (unsigned long long)nrev, now_s() - t0);
	bench_crl(&b, nrev);
	bench_ocsp(&b, n, q, threads);
	ledger_close(b.ledger);
	ca_issuer_clear(&b.iss);
	ca_signer_free(b.signer);
	hsm_key_free(b.key);
	hsm_close(b.hsm);
	/* A million rows are a few hundred megabytes: do not leave them. */
	if (nftw(dir, bench_rm, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "signet-bench-revoke: cannot remove %s\n", dir);
	return 0;
}
