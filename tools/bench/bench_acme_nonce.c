/*
 * signet-bench-acme-nonce: the cost of one ACME nonce, issued and
 * redeemed, with each store (docs/decisions.md "ACME nonces in a
 * cluster"), in one run:
 *
 *	memory		acme_nonce_issue + acme_nonce_redeem (SQLite nodes)
 *	cluster crypto	acme_nonce_mint + acme_nonce_check, no ledger
 *	sqlite write	one ACME ledger write through group commit: what a
 *			nonce kept in a single node's SQLite ledger would
 *			add to every request
 *	pgsql redeem	mint + check + LA_NONCE_SWEEP/LA_NONCE_USE, the
 *			cluster's redeem, at 1 and 4 threads (engine threads
 *			sharing one node's group commit)
 *
 * Usage: signet-bench-acme-nonce [-n per thread] [-p pgsql-target]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <signet/ledger.h>
#include <signet/ledger_acme.h>

#include "acme.h"

struct worker {
	struct ledger	*l;
	int		 n;
	int		 sqlite;
	int		 failures;
	unsigned	 seed;
};

static uint8_t key[ACME_NONCE_KEY];
static uint64_t t_now = 1700000000;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
report(const char *what, int threads, int n, double secs)
{
	printf("%-34s %2d thr %8d ops %9.1f us/op %10.0f op/s\n", what,
	    threads, n, secs * 1e6 / n, n / secs);
}

static void
bench_memory(int n)
{
	struct acme_nonce_store *st = calloc(1, sizeof(*st));
	char nonce[ACME_NONCE_LEN + 1];
	double t0;
	int i, bad = 0;

	if (st == NULL || acme_nonce_init(st, key, sizeof(key), 600) !=
	    ACME_OK)
		exit(2);
	t0 = now_s();
	for (i = 0; i < n; i++)
		if (acme_nonce_issue(st, t_now, nonce) != ACME_OK ||
		    acme_nonce_redeem(st, t_now, nonce, strlen(nonce)) !=
		    ACME_OK)
			bad++;
	report("memory window (issue+redeem)", 1, n, now_s() - t0);
	if (bad)
		printf("  %d failures\n", bad);
	free(st);
}

/* One cluster nonce minted, checked and (with l) redeemed in l. */
static int
one(struct worker *w)
{
	struct ledger_acme_step s[2];
	char nonce[ACME_NONCE_LEN + 1];
	uint8_t rnd[ACME_NONCE_RND], id[ACME_NONCE_ID];
	uint64_t expires;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    acme_nonce_mint(key, rnd, t_now, nonce) != ACME_OK ||
	    acme_nonce_check(key, t_now, 600, nonce, strlen(nonce), id,
	    &expires) != ACME_OK)
		return -1;
	if (w->l == NULL)
		return 0;
	memset(s, 0, sizeof(s));
	if (w->sqlite) {
		/* The nearest SQLite write: one small ACME row. */
		s[0].stmt = LA_EAB_INSERT;
		s[0].n = 6;
		s[0].v[0] = ledger_vt(nonce);
		s[0].v[1] = ledger_vt("t");
		s[0].v[2] = ledger_vt("p");
		s[0].v[3] = ledger_vt("l");
		s[0].v[4] = ledger_vi((int64_t)t_now);
		s[0].v[5] = ledger_vi((int64_t)expires);
		return ledger_acme_write(w->l, s, 1, NULL) == LEDGER_OK ? 0 :
		    -1;
	}
	s[0].stmt = LA_NONCE_SWEEP;
	s[0].n = 1;
	s[0].v[0] = ledger_vi((int64_t)t_now);
	s[1].stmt = LA_NONCE_USE;
	s[1].one = 1;
	s[1].n = 2;
	s[1].v[0] = ledger_vb(id, sizeof(id));
	s[1].v[1] = ledger_vi((int64_t)expires);
	return ledger_acme_write(w->l, s, 2, NULL) == LEDGER_OK ? 0 : -1;
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < w->n; i++)
		if (one(w) != 0)
			w->failures++;
	return NULL;
}

static void
bench(const char *what, struct ledger *l, int sqlite, int threads, int n)
{
	pthread_t t[8];
	struct worker w[8];
	double t0;
	int i, bad = 0;

	for (i = 0; i < threads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].l = l;
		w[i].n = n;
		w[i].sqlite = sqlite;
	}
	t0 = now_s();
	for (i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, run, &w[i]) != 0)
			exit(2);
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].failures;
	}
	report(what, threads, threads * n, now_s() - t0);
	if (bad)
		printf("  %d failures\n", bad);
}

int
main(int argc, char **argv)
{
	const char *pg = NULL;
	char dir[] = "/tmp/signet-bench-nonce-XXXXXX", path[128];
	struct ledger *l = NULL;
	int c, n = 2000;

	while ((c = getopt(argc, argv, "n:p:")) != -1) {
		switch (c) {
		case 'n':
			n = (int)strtol(optarg, NULL, 10);
			break;
		case 'p':
			pg = optarg;
			break;
		default:
			fprintf(stderr, "usage: signet-bench-acme-nonce"
			    " [-n per thread] [-p pgsql-target]\n");
			return 2;
		}
	}
	if (n < 1 || RAND_bytes(key, sizeof(key)) != 1)
		return 2;
	bench_memory(n * 10);
	bench("cluster crypto (mint+check)", NULL, 0, 1, n * 10);
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/ledger.db", dir);
	if (ledger_open("sqlite", path, &l) != LEDGER_OK) {
		fprintf(stderr, "sqlite ledger %s\n", path);
		return 2;
	}
	bench("sqlite: one ACME row per nonce", l, 1, 1, n);
	bench("sqlite: one ACME row per nonce", l, 1, 4, n);
	ledger_close(l);
	if (pg != NULL) {
		if (ledger_open("pgsql", pg, &l) != LEDGER_OK) {
			fprintf(stderr, "pgsql ledger\n");
			return 2;
		}
		bench("pgsql: cluster redeem", l, 0, 1, n);
		bench("pgsql: cluster redeem", l, 0, 4, n);
		ledger_close(l);
	}
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	return system(path) == 0 ? 0 : 1;
}
