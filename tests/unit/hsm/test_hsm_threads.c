/*
 * Several threads sign at once through one pool, thousands of times; every
 * signature must verify.  Run under ASan/UBSan in CI.  A second case keeps
 * signing while a fault is injected and cleared: only HSM_ERR_DOWN (or
 * BUSY) may fail, and everything returned still verifies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <signet/hsm.h>

#include "testtoken.h"

#define THREADS 4
#define ITERATIONS 2500

struct worker {
	struct hsm_key *key;
	int iterations;
	int ok, down, other, bad_sig;
	volatile int *stop;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t msg[32], sig[HSM_MAX_SIG];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len;
	int i, rc;

	for (i = 0; i < w->iterations && !(w->stop && *w->stop); i++) {
		memset(msg, 0, sizeof(msg));
		memcpy(msg, &i, sizeof(i));
		msg[31] = (uint8_t)(uintptr_t)w;
		len = sizeof(sig);
		rc = hsm_key_sign(w->key, NULL, msg, sizeof(msg), sig, &len);
		if (rc == HSM_ERR_DOWN || rc == HSM_ERR_BUSY) {
			w->down++;
			usleep(1000);
			continue;
		}
		if (rc != HSM_OK) {
			fprintf(stderr, "unexpected: %s\n", hsm_strerror(rc));
			w->other++;
			continue;
		}
		if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
		    hsm_key_public(w->key)) != 1 ||
		    EVP_DigestVerify(ctx, sig, len, msg, sizeof(msg)) != 1)
			w->bad_sig++;
		else
			w->ok++;
	}
	EVP_MD_CTX_free(ctx);
	return NULL;
}

static struct hsm *
open_via(struct test_token *t, const char *module, int session_keys)
{
	struct hsm_config cfg = { 0 };
	struct hsm *h = NULL;
	char pin[] = TEST_USER_PIN;

	cfg.module = module;
	cfg.token_label = t->label;
	cfg.pool_size = THREADS;
	cfg.session_keys = session_keys;
	cfg.backoff_min_ms = 20;
	cfg.backoff_max_ms = 200;
	assert_int_equal(hsm_open(&cfg, pin, strlen(pin), &h), HSM_OK);
	return h;
}

static void
run_threads(struct hsm_key *k, struct worker *w, int n, int iterations,
    volatile int *stop)
{
	pthread_t th[THREADS];
	int i;

	for (i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].key = k;
		w[i].iterations = iterations;
		w[i].stop = stop;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main,
		    &w[i]), 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

static void
concurrent(int session_keys)
{
	struct test_token tok;
	struct hsm *h;
	struct hsm_key *k;
	struct hsm_keygen req = { .type = HSM_KEY_EC_P256, .label = "mt" };
	struct worker w[THREADS];
	struct hsm_status st;
	int i;

	test_token_create(&tok, "threads");
	h = open_via(&tok, tok.module, session_keys);
	assert_int_equal(hsm_key_generate(h, &req, &k), HSM_OK);
	run_threads(k, w, THREADS, ITERATIONS, NULL);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(w[i].ok, ITERATIONS);
		assert_int_equal(w[i].bad_sig, 0);
		assert_int_equal(w[i].other + w[i].down, 0);
	}
	hsm_status(h, &st);
	assert_int_equal(st.signatures, THREADS * ITERATIONS);
	assert_int_equal(st.faults, 0);
	hsm_key_free(k);
	hsm_close(h);
	test_token_destroy(&tok);
}

static void
test_threads_token_keys(void **state)
{
	concurrent(0);
}

static void
test_threads_session_keys(void **state)
{
	concurrent(1);
}

struct chaos {
	const char *ctl;
	volatile int *stop;
	struct hsm *hsm;
	int seen;	/* faults the workers ran into */
};

static uint64_t
faults_of(struct hsm *h, enum hsm_state *state)
{
	struct hsm_status st;

	hsm_status(h, &st);
	if (state != NULL)
		*state = st.state;
	return st.faults;
}

static void
write_ctl(const char *path, const char *text)
{
	char tmp[800];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(tmp, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(rename(tmp, path), 0);
}

static void *
chaos_main(void *arg)
{
	struct chaos *c = arg;
	/* invalidate_sessions is left to the single-threaded test: closing
	 * sessions under a call in flight makes SoftHSM answer that call
	 * with whatever state it finds, which no real token reset mimics. */
	static const char *faults[] = { "fail CKR_DEVICE_ERROR\n",
		"fail CKR_DEVICE_REMOVED func C_Sign\n", "token_absent\n",
		"fail CKR_SESSION_HANDLE_INVALID func C_Sign count 3\n" };
	enum hsm_state state;
	uint64_t before;
	int i, waited;

	/* Each round waits until the workers ran into the fault, then clears
	 * it and waits until the token is up again, so the test does not
	 * depend on how fast a loaded machine runs. */
	for (i = 0; i < 8; i++) {
		usleep(50 * 1000);
		before = faults_of(c->hsm, NULL);
		write_ctl(c->ctl, faults[i % 4]);
		for (waited = 0; waited < 10000; waited += 10) {
			if (faults_of(c->hsm, NULL) > before)
				break;
			usleep(10 * 1000);
		}
		if (faults_of(c->hsm, NULL) > before)
			c->seen++;
		write_ctl(c->ctl, "");
		for (waited = 0; waited < 10000; waited += 10) {
			faults_of(c->hsm, &state);
			if (state == HSM_STATE_UP)
				break;
			usleep(10 * 1000);
		}
	}
	usleep(200 * 1000);
	*c->stop = 1;
	return NULL;
}

static void
test_threads_under_faults(void **state)
{
	struct test_token tok;
	struct hsm *h;
	struct hsm_key *k;
	struct hsm_keygen req = { .type = HSM_KEY_EC_P256, .label = "mt" };
	struct worker w[THREADS];
	struct hsm_status st;
	char ctl[700];
	volatile int stop = 0;
	struct chaos c = { ctl, &stop, NULL, 0 };
	pthread_t cth;
	int i, ok = 0, down = 0;
	uint8_t msg[1] = { 0 }, sig[HSM_MAX_SIG];
	size_t len = sizeof(sig);

	test_token_create(&tok, "chaos");
	snprintf(ctl, sizeof(ctl), "%s/shim.ctl", tok.dir);
	write_ctl(ctl, "");
	setenv("SIGNET_SHIM_TARGET", tok.module, 1);
	setenv("SIGNET_SHIM_CONTROL", ctl, 1);
	h = open_via(&tok, test_shim_module(), 1);
	assert_int_equal(hsm_key_generate(h, &req, &k), HSM_OK);
	c.hsm = h;
	assert_int_equal(pthread_create(&cth, NULL, chaos_main, &c), 0);
	run_threads(k, w, THREADS, 1000000, &stop);
	pthread_join(cth, NULL);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(w[i].bad_sig, 0);
		assert_int_equal(w[i].other, 0);
		ok += w[i].ok;
		down += w[i].down;
	}
	hsm_status(h, &st);
	print_message("    %d signatures, %d fast failures, %llu faults, "
	    "%llu recoveries\n", ok, down, (unsigned long long)st.faults,
	    (unsigned long long)st.recoveries);
	assert_true(ok > 0);
	assert_true(down > 0);
	/* Every one of the 8 injected faults was seen and recovered from. */
	assert_int_equal(c.seen, 8);
	assert_true(st.faults >= 8);
	assert_true(st.recoveries >= 8);
	/* After the last fault cleared, the token is up. */
	assert_int_equal(st.state, HSM_STATE_UP);
	assert_int_equal(hsm_key_sign(k, NULL, msg, 1, sig, &len), HSM_OK);
	hsm_key_free(k);
	hsm_close(h);
	test_token_destroy(&tok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_token_keys),
		cmocka_unit_test(test_threads_session_keys),
		cmocka_unit_test(test_threads_under_faults),
	};

	return cmocka_run_group_tests_name("hsm_threads", tests, NULL, NULL);
}
