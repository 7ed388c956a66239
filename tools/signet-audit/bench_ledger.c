/*
 * signet-bench-ledger [-n issuances] [-d dir]
 *
 * Issuances per second through the SQLite ledger with the audit record
 * committed alongside (reserve, then commit with audit: two durable
 * writes per certificate), at 1, 2 and 8 threads, with group commit and
 * with one transaction per operation.  Certificates are signed once up
 * front so the figures measure the ledger, not the signer.  Run it on the
 * disk the appliance will use: fsync cost is the point.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <signet/ledger.h>

struct cert {
	struct ledger_intent	 in;
	uint8_t			*der;
	int			 der_len;
};

struct run {
	struct ledger	*l;
	struct cert	*certs;
	size_t		 first;
	size_t		 count;
	int		 failed;
};

static int
make_cert(EVP_PKEY *key, struct cert *c)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	unsigned char *tbs = NULL;
	int tbs_len, ok = 0;

	c->in.serial.len = 16;
	if (x == NULL || name == NULL ||
	    RAND_bytes(c->in.serial.b, 16) != 1)
		goto out;
	c->in.serial.b[0] = (c->in.serial.b[0] & 0x7f) | 0x40;
	if ((bn = BN_bin2bn(c->in.serial.b, 16, NULL)) == NULL ||
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_set_version(x, 2) || !X509_set_serialNumber(x, ai) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"bench.example", -1, -1, 0) ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256()))
		goto out;
	if ((c->der_len = i2d_X509(x, &c->der)) <= 0 ||
	    (tbs_len = i2d_re_X509_tbs(x, &tbs)) <= 0 ||
	    !EVP_Digest(tbs, (size_t)tbs_len, c->in.tbs_hash, NULL,
	    EVP_sha256(), NULL))
		goto out;
	c->in.tenant = "bench";
	c->in.issuer = "ica-1";
	c->in.profile = "service";
	c->in.subject = "CN=bench.example";
	c->in.sans = "bench.example";
	c->in.requester = "CN=bench-client";
	c->in.not_after = 86400;
	c->in.store_der = 1;
	ok = 1;
out:
	OPENSSL_free(tbs);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(x);
	return ok;
}

static void *
worker(void *arg)
{
	struct run *r = arg;
	struct audit_record rec;
	struct cert *c;
	size_t i;

	memset(&rec, 0, sizeof(rec));
	rec.actor = "CN=bench-client";
	rec.role = "service";
	rec.tenant = "bench";
	rec.action = AUDIT_ISSUE;
	rec.result = "ok";
	rec.detail = "CN=bench.example";
	for (i = r->first; i < r->first + r->count; i++) {
		c = &r->certs[i];
		if (ledger_reserve(r->l, &c->in) != LEDGER_OK ||
		    ledger_commit(r->l, &c->in.serial, c->der,
		    (size_t)c->der_len, &rec) != LEDGER_OK)
			r->failed++;
	}
	return NULL;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bench(const char *dir, struct cert *certs, size_t n, int threads, int group)
{
	struct ledger_config cfg;
	struct ledger_stats st;
	struct ledger *l = NULL;
	struct run r[8];
	pthread_t tid[8];
	char path[512];
	double t0, dt;
	int i, failed = 0;

	snprintf(path, sizeof(path), "%s/bench-%d-%d.db", dir, threads, group);
	unlink(path);
	memset(&cfg, 0, sizeof(cfg));
	cfg.no_group_commit = !group;
	if ((i = ledger_open_config("sqlite", path, &cfg, &l)) != LEDGER_OK) {
		fprintf(stderr, "%s: %s\n", path, ledger_strerror(i));
		return -1;
	}
	t0 = now();
	for (i = 0; i < threads; i++) {
		r[i] = (struct run){ l, certs, n / threads * i, n / threads,
		    0 };
		pthread_create(&tid[i], NULL, worker, &r[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		failed += r[i].failed;
	}
	dt = now() - t0;
	ledger_stats(l, &st);
	ledger_close(l);
	printf("%-22s %2d threads  %8.0f issuances/s  %6.2f ops/txn%s\n",
	    group ? "group commit" : "one txn per op", threads,
	    (double)(n / threads * threads) / dt,
	    st.transactions ? (double)st.ops / (double)st.transactions : 0.0,
	    failed ? "  (FAILURES)" : "");
	unlink(path);
	return failed ? -1 : 0;
}

int
main(int argc, char *argv[])
{
	static const int nthreads[] = { 1, 2, 8 };
	const char *dir = ".";
	struct cert *certs = NULL;
	EVP_PKEY *key = NULL;
	size_t i, n = 2000;
	int ch, g, t, rc = 2;

	while ((ch = getopt(argc, argv, "d:n:")) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: signet-bench-ledger"
			    " [-n issuances] [-d dir]\n");
			return 2;
		}
	}
	if (n < 8 || (certs = calloc(n, sizeof(*certs))) == NULL ||
	    (key = EVP_EC_gen("P-256")) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (!make_cert(key, &certs[i]))
			goto out;
	printf("%zu issuances (reserve + commit with audit) per run, in %s\n",
	    n, dir);
	rc = 0;
	for (g = 1; g >= 0; g--)
		for (t = 0; t < 3; t++)
			if (bench(dir, certs, n, nthreads[t], g) != 0)
				rc = 1;
out:
	for (i = 0; certs != NULL && i < n; i++)
		OPENSSL_free(certs[i].der);
	free(certs);
	EVP_PKEY_free(key);
	return rc;
}
