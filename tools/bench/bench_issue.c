/*
 * signet-bench-issue: in-process issuance throughput with a P-256 issuer
 * key in a fresh SoftHSMv2 token, at 1 and 2 threads, with the time per
 * pipeline stage, beside the raw token signing rate (hsm_key_sign_raw
 * over a 32-byte digest) measured in the same run on the same token.
 *
 * Usage: signet-bench-issue [-n issuances per thread] [-s]
 *   -s  copy the issuer key into a session object (SoftHSM re-reads a
 *       token object's file on every signature)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <signet/ca.h>
#include <signet/hsm.h>

#define BENCH_PIN "1234"

struct bench {
	struct hsm *hsm;
	struct hsm_key *key;
	struct ca_signer *signer;
	struct ca_issuer issuer;
	struct ca_profile profile;
	struct ca_tenant tenant;
	uint8_t *csr;
	size_t csr_len;
	int n;
};

struct worker {
	struct bench *b;
	int raw;
	int failures;
	struct ca_timing tm;
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
	fprintf(stderr, "signet-bench-issue: %s\n", what);
	exit(2);
}

static void
bench_token(const char *dir)
{
	char conf[600], tokdir[600];
	FILE *f;

	snprintf(tokdir, sizeof(tokdir), "%s/tokens", dir);
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	if (mkdir(tokdir, 0700) != 0 || (f = fopen(conf, "w")) == NULL)
		die("cannot prepare the token directory");
	fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = ERROR\n", tokdir);
	fclose(f);
	setenv("SOFTHSM2_CONF", conf, 1);
}

/* A self-issued CA certificate for the token key, signed in the token. */
static X509 *
bench_issuer_cert(struct hsm_key *key)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	unsigned char serial[16];
	BIGNUM *bn;
	static const struct {
		int		 nid;
		const char	*v;
	} exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	size_t i;

	X509_set_version(x, 2);
	RAND_bytes(serial, sizeof(serial));
	serial[0] = 0x42;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Signet Bench CA", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_pubkey(x, hsm_key_public(key));
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	/*
	 * A proper CA certificate (RFC 5280 4.2.1.9 and 4.2.1.3): since
	 * issue 13 the issuer's own constraints are checked before every
	 * signature, and a certificate without them issues nothing.
	 */
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		e = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid, exts[i].v);
		if (e == NULL || X509_add_ext(x, e, -1) != 1)
			die("cannot extend the issuer certificate");
		X509_EXTENSION_free(e);
	}
	if (X509_sign(x, hsm_key_evp(key), EVP_sha256()) <= 0)
		die("cannot sign the issuer certificate in the token");
	return x;
}

/* A P-256 CSR for www.example.com, as a client would send it. */
static uint8_t *
bench_csr(size_t *len)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *e;
	unsigned char *der = NULL;
	int l;

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"www.example.com", -1, -1, 0);
	X509_REQ_set_subject_name(r, n);
	X509_REQ_set_pubkey(r, k);
	e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    "DNS:www.example.com,DNS:api.example.com");
	sk_X509_EXTENSION_push(exts, e);
	X509_REQ_add_extensions(r, exts);
	X509_REQ_sign(r, k, EVP_sha256());
	if ((l = i2d_X509_REQ(r, &der)) <= 0)
		die("cannot make a CSR");
	*len = (size_t)l;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return der;
}

static void *
bench_work(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	struct ca_evidence ev = { "service", NULL };
	struct ca_request req;
	struct ca_result res;
	struct ca_err err;
	uint8_t dgst[32], sig[HSM_MAX_SIG];
	size_t siglen;
	int i;

	memset(dgst, 0x5a, sizeof(dgst));
	memset(&req, 0, sizeof(req));
	req.csr = b->csr;
	req.csr_len = b->csr_len;
	req.tenant = &b->tenant;
	req.profile = "web";
	req.evidence = &ev;
	for (i = 0; i < b->n; i++) {
		if (w->raw) {
			siglen = sizeof(sig);
			if (hsm_key_sign_raw(b->key, dgst, sizeof(dgst), sig,
			    &siglen) != HSM_OK)
				w->failures++;
			continue;
		}
		if (ca_issue(&req, NULL, &res, &w->tm, &err) != CA_OK) {
			if (w->failures++ == 0)
				fprintf(stderr, "issue: %s\n", err.msg);
		}
		ca_result_free(&res);
	}
	return NULL;
}

/* Runs nthreads workers; returns operations per second. */
static double
bench_run(struct bench *b, int nthreads, int raw, struct ca_timing *tm)
{
	struct worker w[2];
	double t0, dt;
	int i, s;

	memset(w, 0, sizeof(w));
	t0 = now_s();
	for (i = 0; i < nthreads; i++) {
		w[i].b = b;
		w[i].raw = raw;
		pthread_create(&w[i].th, NULL, bench_work, &w[i]);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].th, NULL);
	dt = now_s() - t0;
	memset(tm, 0, sizeof(*tm));
	for (i = 0; i < nthreads; i++) {
		if (w[i].failures)
			die("operations failed during the run");
		for (s = 0; s < CA_STAGE_MAX; s++)
			tm->ns[s] += w[i].tm.ns[s];
	}
	return (double)b->n * nthreads / dt;
}

static void
bench_setup(struct bench *b, int session_keys, const char *dir)
{
	const char *mod = getenv("SIGNET_SOFTHSM_MODULE");
	struct hsm_config cfg;
	struct hsm_keygen kg;
	struct ca_err err;
	char pin[] = BENCH_PIN;
	X509 *cert;

	if (mod == NULL || *mod == '\0')
		mod = "/usr/lib/softhsm/libsofthsm2.so";
	bench_token(dir);
	if (hsm_token_init(mod, "bench", "12345678", BENCH_PIN) != HSM_OK)
		die("cannot initialise a SoftHSMv2 token");
	memset(&cfg, 0, sizeof(cfg));
	cfg.module = mod;
	cfg.token_label = "bench";
	cfg.session_keys = session_keys;
	if (hsm_open(&cfg, pin, strlen(pin), &b->hsm) != HSM_OK)
		die("cannot open the token");
	memset(&kg, 0, sizeof(kg));
	kg.type = HSM_KEY_EC_P256;
	kg.label = "issuer";
	if (hsm_key_generate(b->hsm, &kg, &b->key) != HSM_OK ||
	    ca_signer_hsm(b->key, &b->signer) != CA_OK)
		die("cannot make the issuer key");
	cert = bench_issuer_cert(b->key);
	if (ca_issuer_init(&b->issuer, "bench", b->signer, cert, NULL, 0,
	    &err) != CA_OK)
		die(err.msg);
	X509_free(cert);
	ca_issuer_set_urls(&b->issuer, "http://ca.example.com/ca.der",
	    "http://ocsp.example.com", "http://crl.example.com/ca.crl");
	ca_tenant_init(&b->tenant, "bench");
	ca_tenant_add_issuer(&b->tenant, &b->issuer);
	ca_profile_init(&b->profile, "web", &b->issuer);
	ca_profile_add_domain(&b->profile, "example.com");
	ca_profile_add_role(&b->profile, "service");
	ca_tenant_add_profile(&b->tenant, &b->profile);
	b->csr = bench_csr(&b->csr_len);
}

static void
bench_print(const char *label, double rate, double raw,
    const struct ca_timing *tm, int n)
{
	double total = 0;
	int s;

	printf("%-24s %9.0f /s  %5.1f%% of raw\n", label, rate,
	    100.0 * rate / raw);
	for (s = 0; s < CA_STAGE_MAX; s++)
		total += (double)tm->ns[s];
	for (s = 0; s < CA_STAGE_MAX; s++)
		printf("    %-12s %8.1f us  %5.1f%%\n", ca_stage_name(s),
		    (double)tm->ns[s] / n / 1e3, 100.0 * tm->ns[s] / total);
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct ca_timing tm;
	char dir[] = "/tmp/signet-bench-XXXXXX", cmd[64];
	double raw1, raw2, is1, is2;
	int ch, session_keys = 0;

	memset(&b, 0, sizeof(b));
	b.n = 2000;
	while ((ch = getopt(argc, argv, "n:s")) != -1) {
		if (ch == 'n')
			b.n = (int)strtol(optarg, NULL, 10);
		else if (ch == 's')
			session_keys = 1;
		else
			die("usage: signet-bench-issue [-n count] [-s]");
	}
	if (b.n <= 0 || mkdtemp(dir) == NULL)
		die("bad count or no temporary directory");
	bench_setup(&b, session_keys, dir);
	bench_run(&b, 1, 0, &tm);	/* warm up caches and the pool */
	raw1 = bench_run(&b, 1, 1, &tm);
	raw2 = bench_run(&b, 2, 1, &tm);
	is1 = bench_run(&b, 1, 0, &tm);
	printf("signet-bench-issue: P-256 issuer in SoftHSMv2 (%s), P-256 "
	    "CSR, %d per thread\n", session_keys ? "session object" :
	    "token object", b.n);
	printf("%-24s %9.0f /s\n", "raw sign, 1 thread", raw1);
	printf("%-24s %9.0f /s\n", "raw sign, 2 threads", raw2);
	bench_print("issue, 1 thread", is1, raw1, &tm, b.n);
	is2 = bench_run(&b, 2, 0, &tm);
	bench_print("issue, 2 threads", is2, raw2, &tm, 2 * b.n);
	OPENSSL_free(b.csr);
	ca_issuer_clear(&b.issuer);
	ca_signer_free(b.signer);
	hsm_key_free(b.key);
	hsm_close(b.hsm);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "signet-bench-issue: could not remove %s\n",
		    dir);
	return 0;
}
