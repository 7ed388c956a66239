/*
 * Test support: a fresh SoftHSMv2 token in a temporary directory.
 *
 * test_token_create() makes a directory under $TMPDIR, writes a
 * softhsm2.conf whose tokendir is inside it, points SOFTHSM2_CONF at it
 * (process-wide), and initialises a token with the given label, SO PIN
 * TEST_SO_PIN and user PIN TEST_USER_PIN.  It never skips: if SoftHSMv2 is
 * missing the test aborts with a message, because CI must have it.
 */
#ifndef SIGNET_TESTTOKEN_H
#define SIGNET_TESTTOKEN_H

#include <stddef.h>

#define TEST_USER_PIN "1234"
#define TEST_SO_PIN "12345678"

struct test_token {
	char dir[512];	   /* temporary directory, removed by destroy */
	char tokendir[600];
	char conf[600];	   /* softhsm2.conf path */
	char label[33];
	const char *module; /* SoftHSMv2 module path */
};

/* Path of the SoftHSMv2 module (env SIGNET_SOFTHSM_MODULE or default). */
const char *test_softhsm_module(void);
/* Path of the fault-injecting shim (env SIGNET_SHIM_MODULE). */
const char *test_shim_module(void);

void test_token_create(struct test_token *t, const char *label);
void test_token_destroy(struct test_token *t);

/* Run a shell command; returns its exit status (-1 if it did not exit). */
int test_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Run a command and capture up to size-1 bytes of its stdout. */
int test_capture(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
