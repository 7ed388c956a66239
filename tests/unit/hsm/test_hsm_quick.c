/*
 * The quick lane of the session pool (HSM_QUICK_SESSIONS): an HMAC (a
 * DTLS handshake's PSK lookup) gets a session while slow signatures hold
 * every shared one and more wait; signatures never take the reserved
 * session; a second HMAC takes a shared one; the reserved session is
 * faulted and recovered with the pool.  SoftHSMv2 behind the PKCS#11 shim,
 * which makes every C_Sign (the HMAC's too) take 2 s.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include <signet/hsm.h>

#include "testtoken.h"

#define POOL		2	/* shared sessions */
#define SIGNERS		(POOL + 2) /* slow signatures at once */
#define SLOW		"delay_ms 2000 func C_Sign\n" /* every C_Sign */
/*
 * Shorter than one slow signature: an HMAC that had to wait for a shared
 * session gets HSM_ERR_BUSY, and so do the signers that find none.
 */
#define ACQUIRE_MS	1000
#define POLL_LIMIT_MS	10000

static char ctl_path[512];

struct fx {
	struct test_token tok;
	struct hsm *hsm;
	struct hsm_key *sig_key, *mac_key;
};

struct job {
	struct hsm_key *key;
	int mac; /* hsm_key_hmac, else hsm_key_sign */
	int rc;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
control(const char *text)
{
	char tmp[600];
	FILE *fp;

	/* Write and rename, so the shim never reads a half-written file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", ctl_path);
	fp = fopen(tmp, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(rename(tmp, ctl_path), 0);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct hsm_config cfg = { 0 };
	struct hsm_keygen sreq = { .type = HSM_KEY_EC_P256, .label = "issuer" };
	struct hsm_keygen mreq = { .type = HSM_KEY_HMAC_SHA256,
		.label = "tokens" };
	char pin[] = TEST_USER_PIN;

	assert_non_null(f);
	test_token_create(&f->tok, "quick");
	control("");
	cfg.module = test_shim_module();
	cfg.token_label = "quick";
	cfg.pool_size = POOL;
	cfg.acquire_ms = ACQUIRE_MS;
	cfg.backoff_min_ms = 20;
	cfg.backoff_max_ms = 250;
	assert_int_equal(hsm_open(&cfg, pin, strlen(pin), &f->hsm), HSM_OK);
	assert_int_equal(hsm_key_generate(f->hsm, &sreq, &f->sig_key), HSM_OK);
	assert_int_equal(hsm_key_generate(f->hsm, &mreq, &f->mac_key), HSM_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	control("");
	hsm_key_free(f->sig_key);
	hsm_key_free(f->mac_key);
	hsm_close(f->hsm);
	test_token_destroy(&f->tok);
	free(f);
	return 0;
}

static void *
job_main(void *arg)
{
	static const uint8_t msg[] = "quick lane";
	struct job *j = arg;
	uint8_t out[HSM_MAX_SIG];
	size_t len = sizeof(out);

	if (j->mac)
		j->rc = hsm_key_hmac(j->key, msg, sizeof(msg), out);
	else
		j->rc = hsm_key_sign(j->key, NULL, msg, sizeof(msg), out, &len);
	return NULL;
}

static void
start(pthread_t *th, struct job *j, struct hsm_key *k, int mac)
{
	j->key = k;
	j->mac = mac;
	j->rc = 1;
	assert_int_equal(pthread_create(th, NULL, job_main, j), 0);
}

/*
 * Waits until the pool shows that many shared and quick sessions out;
 * 0 if it never did.  Callers join their threads before asserting, so
 * that a failure does not leave them running into the teardown.
 */
static int
await_busy(struct hsm *h, unsigned shared, unsigned quick)
{
	struct hsm_status st;
	int64_t t0 = now_ms();

	for (;;) {
		hsm_status(h, &st);
		if (st.sessions_busy == shared && st.quick_busy == quick)
			return 1;
		if (now_ms() - t0 > POLL_LIMIT_MS) {
			print_message("sessions busy %u/%u, quick %u/%u; "
			    "wanted %u and %u\n", st.sessions_busy,
			    st.pool_size, st.quick_busy, st.quick_sessions,
			    shared, quick);
			return 0;
		}
		usleep(5000);
	}
}

/*
 * SIGNERS slow signatures: POOL of them hold the shared sessions and the
 * rest wait, while the reserved session stays free for them to take and
 * they do not.  Then an HMAC is answered (HSM_OK, where waiting for a
 * shared session would give HSM_ERR_BUSY after ACQUIRE_MS).
 */
static void
mac_beside_signers(struct fx *f)
{
	pthread_t th[SIGNERS], mth;
	struct job j[SIGNERS], m = { 0 };
	struct hsm_status st;
	int i, saturated;

	control(SLOW);
	for (i = 0; i < SIGNERS; i++)
		start(&th[i], &j[i], f->sig_key, 0);
	saturated = await_busy(f->hsm, POOL, 0);
	usleep(100 * 1000);
	hsm_status(f->hsm, &st);
	if (saturated) {
		start(&mth, &m, f->mac_key, 1);
		pthread_join(mth, NULL);
	}
	for (i = 0; i < SIGNERS; i++)
		pthread_join(th[i], NULL);
	control("# pass-through\n");
	assert_true(saturated);
	assert_int_equal(st.pool_size, POOL);
	assert_int_equal(st.quick_sessions, HSM_QUICK_SESSIONS);
	/* Signatures waited; the reserved session was still free. */
	assert_int_equal(st.sessions_busy, POOL);
	assert_int_equal(st.quick_busy, 0);
	assert_int_equal(m.rc, HSM_OK);
	/* POOL of them signed; the others found no session in time. */
	for (i = 0; i < SIGNERS; i++)
		assert_true(j[i].rc == HSM_OK || j[i].rc == HSM_ERR_BUSY);
}

static void
test_mac_beside_slow_signatures(void **state)
{
	mac_beside_signers(*state);
}

/* Two HMACs at once: one on the reserved session, one on a shared one. */
static void
test_second_mac_takes_shared(void **state)
{
	struct fx *f = *state;
	pthread_t th[2];
	struct job j[2];
	int i;

	int both;

	control(SLOW);
	for (i = 0; i < 2; i++)
		start(&th[i], &j[i], f->mac_key, 1);
	both = await_busy(f->hsm, 1, 1);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	control("# pass-through\n");
	assert_true(both);
	for (i = 0; i < 2; i++)
		assert_int_equal(j[i].rc, HSM_OK);
	assert_true(await_busy(f->hsm, 0, 0));
}

/*
 * A fault on the reserved session marks the token down like any other;
 * after recovery the reserved session is a new one and serves an HMAC
 * beside slow signatures again.
 */
static void
test_fault_on_reserved_session(void **state)
{
	struct fx *f = *state;
	struct hsm_status st;
	uint8_t mac[HSM_HMAC_LEN];
	int64_t t0;
	int rc;

	hsm_status(f->hsm, &st);
	control("fail CKR_DEVICE_ERROR count 1 func C_Sign\n");
	rc = hsm_key_hmac(f->mac_key, (const uint8_t *)"x", 1, mac);
	assert_int_equal(rc, HSM_ERR_DOWN);
	control("# cleared\n");
	t0 = now_ms();
	while ((rc = hsm_key_hmac(f->mac_key, (const uint8_t *)"x", 1,
	    mac)) != HSM_OK) {
		assert_true(rc == HSM_ERR_DOWN);
		assert_true(now_ms() - t0 < POLL_LIMIT_MS);
		usleep(10 * 1000);
	}
	{
		struct hsm_status after;

		hsm_status(f->hsm, &after);
		assert_int_equal(after.state, HSM_STATE_UP);
		assert_true(after.faults == st.faults + 1);
		assert_true(after.recoveries > st.recoveries);
		assert_int_equal(after.quick_busy, 0);
		assert_int_equal(after.sessions_busy, 0);
	}
	mac_beside_signers(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_mac_beside_slow_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_mac_takes_shared,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_on_reserved_session,
		    setup, teardown),
	};
	const char *tmp = getenv("TMPDIR");
	int rc;

	snprintf(ctl_path, sizeof(ctl_path), "%s/signet-shim-quick-%ld.ctl",
	    tmp ? tmp : "/tmp", (long)getpid());
	setenv("SIGNET_SHIM_TARGET", test_softhsm_module(), 1);
	setenv("SIGNET_SHIM_CONTROL", ctl_path, 1);
	rc = cmocka_run_group_tests_name("hsm_quick", tests, NULL, NULL);
	unlink(ctl_path);
	return rc;
}
