/*
 * signet-bench-tidy: ledger issuance (reserve, then commit with its audit
 * record, 8 threads) before, while and after tidy removes ROWS expired
 * rows of another tenant, paced as the engine paces it (eng_tidy.c: one
 * batch, then a rest as long as the batch took, at most 100 ms), for
 * SQLite and, given a target, PostgreSQL (issue 19).  The expired rows
 * are issued through the ledger first, with their DER and audit records.
 *
 * Usage: signet-bench-tidy [-r rows] [-n issuances per thread]
 *     [-b batch] [-p pgsql-target]
 *   e.g. tests/support/pgtest.sh run -- sh -c \
 *	'signet-bench-tidy -p "$SIGNET_PG_CONNINFO"'
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <signet/audit.h>
#include <signet/ledger.h>

#define THREADS	8

struct item {
	struct ledger_intent	 in;
	uint8_t			*der;
	int			 der_len;
};

struct worker {
	struct ledger	*l;
	struct item	*items;
	int		 n;
	int		 failures;
};

struct tidier {
	struct ledger	*l;
	size_t		 batch;
	uint64_t	 removed;
	double		 secs;
	int		 rc;
};

static EVP_PKEY *key;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A signed certificate, expired long ago (not_after 3600), of tenant. */
static int
make_item(struct item *it, const char *tenant)
{
	X509 *x = X509_new();
	ASN1_INTEGER *ai = NULL;
	unsigned char *tbs = NULL;
	int tbs_len, ok = 0;

	memset(it, 0, sizeof(*it));
	it->in.serial.len = 16;
	if (x == NULL || RAND_bytes(it->in.serial.b, 16) != 1)
		goto out;
	it->in.serial.b[0] = (it->in.serial.b[0] & 0x7f) | 0x01;
	if ((ai = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_STRING_set(ai, it->in.serial.b, 16) ||
	    !X509_set_version(x, 2) || !X509_set_serialNumber(x, ai) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 3600) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256()))
		goto out;
	if ((it->der_len = i2d_X509(x, &it->der)) <= 0 ||
	    (tbs_len = i2d_re_X509_tbs(x, &tbs)) <= 0 ||
	    !EVP_Digest(tbs, (size_t)tbs_len, it->in.tbs_hash, NULL,
	    EVP_sha256(), NULL))
		goto out;
	it->in.tenant = tenant;
	it->in.issuer = "ica-1";
	it->in.profile = "service";
	it->in.subject = "CN=bench.example";
	it->in.sans = "bench.example";
	it->in.requester = "CN=bench";
	it->in.not_before = 0;
	it->in.not_after = 3600;
	it->in.store_der = 1;
	ok = 1;
out:
	OPENSSL_free(tbs);
	ASN1_INTEGER_free(ai);
	X509_free(x);
	return ok;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct audit_record rec;
	int i;

	memset(&rec, 0, sizeof(rec));
	rec.actor = "CN=bench";
	rec.action = AUDIT_ISSUE;
	rec.result = "ok";
	for (i = 0; i < w->n; i++) {
		if (ledger_reserve(w->l, &w->items[i].in) != LEDGER_OK ||
		    ledger_commit(w->l, &w->items[i].in.serial,
		    w->items[i].der, (size_t)w->items[i].der_len, &rec) !=
		    LEDGER_OK)
			w->failures++;
		OPENSSL_free(w->items[i].der);
		w->items[i].der = NULL;
	}
	return NULL;
}

/* The engine's pacing: a batch, then rest as long as it took. */
static void *
tidy(void *arg)
{
	struct tidier *t = arg;
	struct timespec ts;
	uint64_t nc, nt;
	double t0 = now_s(), b0, took;

	for (;;) {
		b0 = now_s();
		if ((t->rc = ledger_tidy(t->l, "old", (int64_t)time(NULL),
		    t->batch, &nc, &nt)) != LEDGER_OK)
			break;
		t->removed += nc;
		if (nc < t->batch)
			break;
		took = now_s() - b0;
		if (took > 0.1)
			took = 0.1;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(took * 1e9) + 1000000;
		nanosleep(&ts, NULL);
	}
	t->secs = now_s() - t0;
	return NULL;
}

/* threads × n issuances of tenant; returns issuances/s (-1: failed). */
static double
issue(struct ledger *l, const char *tenant, int n, struct tidier *t,
    int *failed)
{
	struct worker w[THREADS];
	pthread_t tid[THREADS], tt;
	double t0, secs;
	int i, k;

	*failed = 0;
	for (i = 0; i < THREADS; i++) {
		w[i].l = l;
		w[i].n = n;
		w[i].failures = 0;
		if ((w[i].items = calloc((size_t)n, sizeof(struct item))) ==
		    NULL)
			return -1;
		for (k = 0; k < n; k++)
			if (!make_item(&w[i].items[k], tenant))
				return -1;
	}
	if (t != NULL)
		pthread_create(&tt, NULL, tidy, t);
	t0 = now_s();
	for (i = 0; i < THREADS; i++)
		pthread_create(&tid[i], NULL, work, &w[i]);
	for (i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		*failed += w[i].failures;
		free(w[i].items);
	}
	secs = now_s() - t0;
	if (t != NULL)
		pthread_join(tt, NULL);
	return (double)(THREADS * n) / secs;
}

static void
round_run(const char *backend, const char *target, int rows, int n,
    size_t batch)
{
	struct ledger *l = NULL;
	struct tidier t;
	double r0, r1, r2, fill;
	int f0, f1, f2, ff, rc;

	if ((rc = ledger_open(backend, target, &l)) != LEDGER_OK) {
		fprintf(stderr, "open %s: %s\n", backend, ledger_strerror(rc));
		return;
	}
	fill = issue(l, "old", rows / THREADS, NULL, &ff);
	r0 = issue(l, "live", n, NULL, &f0);
	memset(&t, 0, sizeof(t));
	t.l = l;
	t.batch = batch;
	r1 = issue(l, "live", n, &t, &f1);
	r2 = issue(l, "live", n, NULL, &f2);
	printf("%-6s %d expired rows (filled at %.0f/s, %d failed)\n", backend,
	    rows / THREADS * THREADS, fill, ff);
	printf("%-6s before: %8.0f issuances/s (%d failed)\n", backend, r0,
	    f0);
	printf("%-6s during: %8.0f issuances/s (%d failed); tidy removed "
	    "%llu rows in %.2f s (%.0f rows/s, batch %zu, %s)\n", backend, r1,
	    f1, (unsigned long long)t.removed, t.secs,
	    (double)t.removed / t.secs, batch, ledger_strerror(t.rc));
	printf("%-6s after:  %8.0f issuances/s (%d failed)\n", backend, r2,
	    f2);
	ledger_close(l);
}

int
main(int argc, char *argv[])
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	const char *pg = NULL;
	char dir[] = "/tmp/signet-bench-tidy.XXXXXX", path[64], f[80], pa[1024];
	size_t j, batch = 100;
	int ch, rows = 100000, n = 1000;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch = getopt(argc, argv, "b:n:p:r:")) != -1) {
		switch (ch) {
		case 'b':
			batch = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			n = (int)strtol(optarg, NULL, 10);
			break;
		case 'p':
			pg = optarg;
			break;
		case 'r':
			rows = (int)strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: signet-bench-tidy [-r rows]"
			    " [-n per-thread] [-b batch] [-p pgsql-target]\n");
			return 2;
		}
	}
	if (n < 1 || rows < THREADS || batch < 1 ||
	    batch > LEDGER_TIDY_MAX || (key = EVP_EC_gen("P-256")) == NULL ||
	    mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/l.db", dir);
	round_run("sqlite", path, rows, n, batch);
	for (j = 0; j < 3; j++) {
		snprintf(f, sizeof(f), "%s%s", path, suffix[j]);
		unlink(f);
	}
	if (pg != NULL) {
		snprintf(pa, sizeof(pa), "%s node=bench-tidy", pg);
		round_run("pgsql", pa, rows, n, batch);
	}
	rmdir(dir);
	EVP_PKEY_free(key);
	return 0;
}
