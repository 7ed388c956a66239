/*
 * Token faults, injected by the PKCS#11 shim in front of SoftHSMv2 (and by
 * moving the token directory away): calls fail fast while the token is
 * down, and signing works again within 5 s of the fault clearing, in the
 * same process.  A PIN refused on re-login is never retried.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <signet/hsm.h>

#include "testtoken.h"

#define RECOVER_LIMIT_MS 5000

static char ctl_path[512];
/*
 * "Fails quickly" means without waiting for the token: well under the
 * recovery timers, yet loose enough for a loaded 2-core CI machine (100 ms
 * failed there when ASan builds ran beside the test).
 */
#define FAST_LIMIT_MS 1000

struct fx {
	struct test_token tok;
	char ctl[700];
	struct hsm *hsm;
	struct hsm_key *key;
	int session_keys;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
control(struct fx *f, const char *text)
{
	char tmp[800];
	FILE *fp;

	/* Write and rename, so the shim never reads a half-written file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->ctl);
	fp = fopen(tmp, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(rename(tmp, f->ctl), 0);
}

static int
setup_common(void **state, int session_keys)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct hsm_config cfg = { 0 };
	struct hsm_keygen req = { .type = HSM_KEY_EC_P256, .label = "issuer" };
	char pin[] = TEST_USER_PIN;

	test_token_create(&f->tok, "faults");
	/* One control file for the whole process: the shim stays loaded
	 * (RTLD_NODELETE) and reads its environment once. */
	snprintf(f->ctl, sizeof(f->ctl), "%s", ctl_path);
	control(f, "");
	cfg.module = test_shim_module();
	cfg.token_label = "faults";
	cfg.session_keys = session_keys;
	cfg.backoff_min_ms = 20;
	cfg.backoff_max_ms = 250;
	assert_int_equal(hsm_open(&cfg, pin, strlen(pin), &f->hsm), HSM_OK);
	assert_int_equal(hsm_key_generate(f->hsm, &req, &f->key), HSM_OK);
	f->session_keys = session_keys;
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_common(state, 0);
}

static int
setup_session_keys(void **state)
{
	return setup_common(state, 1);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	hsm_key_free(f->key);
	hsm_close(f->hsm);
	test_token_destroy(&f->tok);
	free(f);
	return 0;
}

/* Signs and verifies once; returns the hsm result. */
static int
sign_once(struct hsm_key *k)
{
	static const uint8_t msg[] = "fault test";
	uint8_t sig[HSM_MAX_SIG];
	size_t len = sizeof(sig);
	EVP_MD_CTX *ctx;
	int rc, ok;

	rc = hsm_key_sign(k, NULL, msg, sizeof(msg), sig, &len);
	if (rc != HSM_OK)
		return rc;
	ctx = EVP_MD_CTX_new();
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    hsm_key_public(k)) == 1 &&
	    EVP_DigestVerify(ctx, sig, len, msg, sizeof(msg)) == 1;
	EVP_MD_CTX_free(ctx);
	assert_true(ok);
	return HSM_OK;
}

/* While the fault lasts, every call fails quickly and the token is down. */
static void
expect_down_fast(struct fx *f)
{
	struct hsm_status st;
	int64_t t0;
	int i, rc;

	for (i = 0; i < 20; i++) {
		t0 = now_ms();
		rc = sign_once(f->key);
		assert_int_not_equal(rc, HSM_OK);
		assert_true(now_ms() - t0 < FAST_LIMIT_MS);
		usleep(5000);
	}
	hsm_status(f->hsm, &st);
	assert_int_equal(st.state, HSM_STATE_DOWN);
	assert_true(st.faults >= 1);
}

/* After the fault clears, signing works again within the limit. */
static void
expect_recovery(struct fx *f, uint64_t recoveries_before)
{
	struct hsm_status st;
	int64_t t0 = now_ms();

	while (sign_once(f->key) != HSM_OK) {
		assert_true(now_ms() - t0 < RECOVER_LIMIT_MS);
		usleep(10000);
	}
	hsm_status(f->hsm, &st);
	assert_int_equal(st.state, HSM_STATE_UP);
	assert_true(st.recoveries > recoveries_before);
	print_message("    recovered in %lld ms (%llu attempts)\n",
	    (long long)(now_ms() - t0),
	    (unsigned long long)st.recovery_attempts);
}

static void
fault_cycle(struct fx *f, const char *directive)
{
	struct hsm_status st;

	assert_int_equal(sign_once(f->key), HSM_OK);
	hsm_status(f->hsm, &st);
	control(f, directive);
	expect_down_fast(f);
	control(f, "");
	expect_recovery(f, st.recoveries);
}

static void
test_each_fault_code(void **state)
{
	struct fx *f = *state;
	static const char *codes[] = {
		"CKR_SESSION_HANDLE_INVALID", "CKR_SESSION_CLOSED",
		"CKR_DEVICE_ERROR", "CKR_DEVICE_REMOVED",
		"CKR_TOKEN_NOT_PRESENT", "CKR_CRYPTOKI_NOT_INITIALIZED",
		"CKR_USER_NOT_LOGGED_IN",
	};
	char line[128];
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		print_message("  fault %s\n", codes[i]);
		/* Fails every call but C_Initialize/C_Finalize: recovery
		 * attempts fail too until the file is cleared. */
		snprintf(line, sizeof(line), "fail %s\n", codes[i]);
		fault_cycle(f, line);
	}
}

static void
test_token_absent(void **state)
{
	fault_cycle(*state, "token_absent\n");
}

static void
test_initialize_fails_during_recovery(void **state)
{
	fault_cycle(*state, "fail CKR_DEVICE_ERROR func C_Sign,C_Initialize\n");
}

static void
test_sessions_invalidated(void **state)
{
	struct fx *f = *state;
	struct hsm_status st;
	int64_t t0;

	assert_int_equal(sign_once(f->key), HSM_OK);
	hsm_status(f->hsm, &st);
	/* The shim really closes our sessions in SoftHSM: the next call
	 * gets SoftHSM's own CKR_SESSION_HANDLE_INVALID. */
	control(f, "invalidate_sessions\n");
	t0 = now_ms();
	while (sign_once(f->key) == HSM_OK)
		assert_true(now_ms() - t0 < RECOVER_LIMIT_MS);
	expect_recovery(f, st.recoveries);
}

static void
test_pin_refused_is_not_retried(void **state)
{
	struct fx *f = *state;
	struct hsm_status st;
	int64_t t0;

	control(f, "fail CKR_PIN_INCORRECT func C_Login\n"
	    "fail CKR_DEVICE_ERROR func C_Sign count 1\n");
	assert_int_not_equal(sign_once(f->key), HSM_OK);
	/* The recovery thread reaches FAILED on its own schedule: wait
	 * for it rather than for a fixed time (a loaded machine is slow). */
	t0 = now_ms();
	for (;;) {
		hsm_status(f->hsm, &st);
		if (st.state == HSM_STATE_FAILED)
			break;
		assert_true(now_ms() - t0 < RECOVER_LIMIT_MS);
		usleep(10000);
	}
	assert_int_equal(st.recovery_attempts, 1);
	control(f, "");
	usleep(300 * 1000);
	hsm_status(f->hsm, &st);
	/* Still failed: a wrong PIN is never tried again by itself. */
	assert_int_equal(st.state, HSM_STATE_FAILED);
	assert_int_equal(st.recovery_attempts, 1);
	assert_int_equal(sign_once(f->key), HSM_ERR_FAILED);
}

static void
test_token_dir_moved_away_and_back(void **state)
{
	struct fx *f = *state;
	struct hsm_status st;
	char away[800];
	int64_t t0;
	int failed = 0;

	assert_int_equal(sign_once(f->key), HSM_OK);
	hsm_status(f->hsm, &st);
	snprintf(away, sizeof(away), "%s.away", f->tok.tokendir);
	assert_int_equal(rename(f->tok.tokendir, away), 0);
	/* SoftHSM re-reads a token key's file on each signature, so the
	 * token key fails at once; a session copy keeps signing until a
	 * fault makes us re-initialise. */
	t0 = now_ms();
	while (now_ms() - t0 < 300) {
		if (sign_once(f->key) != HSM_OK)
			failed = 1;
		usleep(5000);
	}
	/* A session copy lives in SoftHSM's memory: it keeps signing. */
	assert_int_equal(failed, !f->session_keys);
	assert_int_equal(rename(away, f->tok.tokendir), 0);
	if (failed)
		expect_recovery(f, st.recoveries);
	else
		assert_int_equal(sign_once(f->key), HSM_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_each_fault_code, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_each_fault_code,
		    setup_session_keys, teardown),
		cmocka_unit_test_setup_teardown(test_token_absent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_initialize_fails_during_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_invalidated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sessions_invalidated,
		    setup_session_keys, teardown),
		cmocka_unit_test_setup_teardown(test_pin_refused_is_not_retried,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_dir_moved_away_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_dir_moved_away_and_back, setup_session_keys,
		    teardown),
	};

	const char *tmp = getenv("TMPDIR");
	int rc;

	snprintf(ctl_path, sizeof(ctl_path), "%s/signet-shim-%ld.ctl",
	    tmp ? tmp : "/tmp", (long)getpid());
	setenv("SIGNET_SHIM_TARGET", test_softhsm_module(), 1);
	setenv("SIGNET_SHIM_CONTROL", ctl_path, 1);
	rc = cmocka_run_group_tests_name("hsm_faults", tests, NULL, NULL);
	unlink(ctl_path);
	return rc;
}
