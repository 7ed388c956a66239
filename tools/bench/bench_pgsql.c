/*
 * signet-bench-pgsql: ledger write throughput (reserve, then commit with
 * its audit record: what every issuance costs the ledger) for SQLite and,
 * given a target, PostgreSQL with one and two nodes, at 1, 4 and 8
 * threads per node, in the same run.  Certificates are made before the
 * clock starts, so the figures are the ledger's alone.
 *
 * Usage: signet-bench-pgsql [-n issuances per thread] [-p pgsql-target]
 *   e.g. tests/support/pgtest.sh run -- sh -c \
 *	'signet-bench-pgsql -p "$SIGNET_PG_CONNINFO"'
 *   Each PostgreSQL round uses the target's database as it is (rows from
 *   earlier rounds stay; serials never repeat within a run).
 */
#include <pthread.h>
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

#define MAX_THREADS 8

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

static EVP_PKEY *key;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A small signed certificate with a random serial, and its intent. */
static int
make_item(struct item *it)
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
	it->in.tenant = "bench";
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
	}
	return NULL;
}

/* One round: nodes handles, threads per handle, n issuances each. */
static void
round_run(const char *backend, const char *const targets[], int nodes,
    int threads, int n)
{
	struct ledger *l[2] = { NULL, NULL };
	struct worker w[2 * MAX_THREADS];
	pthread_t tid[2 * MAX_THREADS];
	struct ledger_stats st;
	double t0, secs;
	int i, total = nodes * threads, failures = 0, rc;

	for (i = 0; i < nodes; i++)
		if ((rc = ledger_open(backend, targets[i], &l[i])) !=
		    LEDGER_OK) {
			fprintf(stderr, "open %s: %s\n", backend,
			    ledger_strerror(rc));
			goto out;
		}
	for (i = 0; i < total; i++) {
		w[i].l = l[i % nodes];
		w[i].n = n;
		w[i].failures = 0;
		if ((w[i].items = calloc((size_t)n, sizeof(struct item))) ==
		    NULL)
			goto out;
		for (rc = 0; rc < n; rc++)
			if (!make_item(&w[i].items[rc]))
				goto out;
	}
	t0 = now_s();
	for (i = 0; i < total; i++)
		pthread_create(&tid[i], NULL, work, &w[i]);
	for (i = 0; i < total; i++) {
		pthread_join(tid[i], NULL);
		failures += w[i].failures;
	}
	secs = now_s() - t0;
	ledger_stats(l[0], &st);
	printf("%-6s nodes=%d threads/node=%d  %8.0f issuances/s"
	    "  (%d in %.2f s, %d failed; node 1: %llu ops in %llu txns)\n",
	    backend, nodes, threads, (double)(total * n) / secs, total * n,
	    secs, failures, (unsigned long long)st.ops,
	    (unsigned long long)st.transactions);
	for (i = 0; i < total; i++) {
		for (rc = 0; rc < n; rc++)
			OPENSSL_free(w[i].items[rc].der);
		free(w[i].items);
	}
out:
	ledger_close(l[0]);
	ledger_close(l[1]);
}

int
main(int argc, char *argv[])
{
	static const int threads[] = { 1, 4, 8 };
	const char *pg = NULL, *sq[2];
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char dir[] = "/tmp/signet-bench-pgsql.XXXXXX", path[64], f[80];
	size_t j;
	char pa[1024], pb[1024];
	const char *pgt[2] = { pa, pb };
	size_t i;
	int ch, n = 500;

	while ((ch = getopt(argc, argv, "n:p:")) != -1) {
		switch (ch) {
		case 'n':
			n = (int)strtol(optarg, NULL, 10);
			break;
		case 'p':
			pg = optarg;
			break;
		default:
			fprintf(stderr, "usage: signet-bench-pgsql"
			    " [-n per-thread] [-p pgsql-target]\n");
			return 2;
		}
	}
	if (n < 1 || (key = EVP_EC_gen("P-256")) == NULL ||
	    mkdtemp(dir) == NULL)
		return 2;
	for (i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		snprintf(path, sizeof(path), "%s/l%zu.db", dir, i);
		sq[0] = sq[1] = path;
		round_run("sqlite", sq, 1, threads[i], n);
		for (j = 0; j < 3; j++) {
			snprintf(f, sizeof(f), "%s%s", path, suffix[j]);
			unlink(f);
		}
	}
	if (pg != NULL) {
		snprintf(pa, sizeof(pa), "%s node=bench-a", pg);
		snprintf(pb, sizeof(pb), "%s node=bench-b", pg);
		for (i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
			round_run("pgsql", pgt, 1, threads[i], n);
			round_run("pgsql", pgt, 2, threads[i], n);
		}
	}
	rmdir(dir);
	EVP_PKEY_free(key);
	return 0;
}
