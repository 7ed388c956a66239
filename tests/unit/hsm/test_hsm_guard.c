/*
 * The SoftHSMv2 file guard against a real SoftHSMv2 token: the damage a
 * kill or a power cut leaves (an empty or cut token.object, a cut key
 * object) is put right before the token is opened, the keys still sign,
 * and what cannot be put right is reported, never guessed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <signet/hsm.h>

#include "testtoken.h"

struct fx {
	struct test_token tok;
	char dir[1024];	 /* the token's own directory */
	char key[2][1024]; /* the key pair's object files */
	int nkeys;
};

static struct hsm *
open_token(struct test_token *t)
{
	struct hsm_config cfg = { 0 };
	struct hsm *h = NULL;
	char pin[] = TEST_USER_PIN;
	int rc;

	cfg.module = t->module;
	cfg.token_label = t->label;
	rc = hsm_open(&cfg, pin, strlen(pin), &h);
	return rc == HSM_OK ? h : NULL;
}

static off_t
file_size(const char *dir, const char *name)
{
	char p[1200];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

/* Cut a file to len bytes, as SoftHSM's truncate-then-write can leave it. */
static void
cut(const char *path, off_t len)
{
	assert_int_equal(truncate(path, len), 0);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct hsm_keygen kg = { 0 };
	struct hsm_key *k = NULL;
	struct hsm *h;
	struct dirent *de;
	char before[2048];
	DIR *d;

	test_token_create(&f->tok, "guard-test");
	assert_non_null(d = opendir(f->tok.tokendir));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			snprintf(f->dir, sizeof(f->dir), "%.600s/%.255s",
			    f->tok.tokendir, de->d_name);
	closedir(d);
	assert_true(f->dir[0] != '\0');
	/* Remember the object files before the key exists. */
	before[0] = '\0';
	assert_non_null(d = opendir(f->dir));
	while ((de = readdir(d)) != NULL) {
		size_t used = strlen(before);

		snprintf(before + used, sizeof(before) - used, "%s|",
		    de->d_name);
	}
	closedir(d);
	assert_non_null(h = open_token(&f->tok));
	kg.type = HSM_KEY_EC_P256;
	kg.label = "issuer";
	assert_int_equal(hsm_key_generate(h, &kg, &k), HSM_OK);
	hsm_key_free(k);
	hsm_close(h);
	/* The private key's file is a new ".object" not seen before. */
	assert_non_null(d = opendir(f->dir));
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n > 7 && strcmp(de->d_name + n - 7, ".object") == 0 &&
		    strcmp(de->d_name, "token.object") != 0 &&
		    strstr(before, de->d_name) == NULL &&
		    file_size(f->dir, de->d_name) > 0) {
			assert_true(f->nkeys < 2);
			snprintf(f->key[f->nkeys], sizeof(f->key[0]),
			    "%.700s/%.255s", f->dir, de->d_name);
			f->nkeys++;
		}
	}
	closedir(d);
	assert_int_equal(f->nkeys, 2); /* private and public */
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	test_token_destroy(&f->tok);
	free(f);
	return 0;
}

/* The key is there and signs: the token is whole. */
static void
assert_token_works(struct fx *f)
{
	struct hsm_key *k = NULL;
	struct hsm *h;
	uint8_t sig[HSM_MAX_SIG], dgst[32] = { 1 };
	size_t siglen = sizeof(sig);

	assert_non_null(h = open_token(&f->tok));
	assert_int_equal(hsm_key_find(h, "issuer", NULL, 0, &k), HSM_OK);
	assert_int_equal(hsm_key_sign_raw(k, dgst, sizeof(dgst), sig,
	    &siglen), HSM_OK);
	hsm_key_free(k);
	hsm_close(h);
}

static void
test_copies_made(void **state)
{
	struct fx *f = *state;
	char copy[1200];

	/* Token initialisation and key generation leave durable copies. */
	assert_true(file_size(f->dir, "token.object" ".signet-good") > 0);
	assert_int_equal(file_size(f->dir, "token.object" ".signet-good"),
	    file_size(f->dir, "token.object"));
	snprintf(copy, sizeof(copy), "%s.signet-good", f->key[0]);
	assert_true(access(copy, R_OK) == 0);
	snprintf(copy, sizeof(copy), "%s.signet-good", f->key[1]);
	assert_true(access(copy, R_OK) == 0);
}

static void
test_empty_token_object_restored(void **state)
{
	struct fx *f = *state;
	struct hsm_guard_report r;
	char p[1200];

	snprintf(p, sizeof(p), "%s/token.object", f->dir);
	cut(p, 0); /* a kill between SoftHSM's ftruncate and its write */
	/* Without the guard SoftHSM no longer knows the token. */
	assert_int_equal(hsm_token_guard(f->tok.conf, &r), HSM_OK);
	assert_int_equal(r.restored, 1);
	assert_non_null(strstr(r.last_path, "token.object"));
	assert_true(file_size(f->dir, "token.object") > 0);
	assert_token_works(f);
}

static void
test_cut_token_object_restored_by_open(void **state)
{
	struct fx *f = *state;
	char p[1200];

	snprintf(p, sizeof(p), "%s/token.object", f->dir);
	cut(p, file_size(f->dir, "token.object") / 2);
	/* hsm_open runs the guard itself. */
	assert_token_works(f);
	assert_int_equal(file_size(f->dir, "token.object"),
	    file_size(f->dir, "token.object.signet-good"));
}

static void
test_cut_key_restored(void **state)
{
	struct fx *f = *state;
	struct hsm_guard_report r;

	cut(f->key[0], 40);
	cut(f->key[1], 0);
	assert_int_equal(hsm_token_guard(f->tok.conf, &r), HSM_OK);
	assert_int_equal(r.restored, 2);
	assert_token_works(f);
}

static void
test_no_copy_is_reported(void **state)
{
	struct fx *f = *state;
	struct hsm_guard_report r;
	char p[1200], c[1300];

	snprintf(p, sizeof(p), "%s/token.object", f->dir);
	snprintf(c, sizeof(c), "%s.signet-good", p);
	assert_int_equal(unlink(c), 0);
	cut(p, 0);
	assert_int_equal(hsm_token_guard(f->tok.conf, &r),
	    HSM_ERR_TOKEN_FILES);
	assert_int_equal(r.unrepairable, 1);
	assert_null(open_token(&f->tok));
}

static void
test_damaged_new_key_moved_aside(void **state)
{
	struct fx *f = *state;
	struct hsm_guard_report r;
	char c[1300], aside[1300];
	int i;

	/* A key pair whose generation was cut before any copy was made. */
	for (i = 0; i < 2; i++) {
		snprintf(c, sizeof(c), "%s.signet-good", f->key[i]);
		assert_int_equal(unlink(c), 0);
		cut(f->key[i], 13);
	}
	assert_int_equal(hsm_token_guard(f->tok.conf, &r), HSM_OK);
	assert_int_equal(r.quarantined, 2);
	for (i = 0; i < 2; i++) {
		snprintf(aside, sizeof(aside), "%s.signet-damaged",
		    f->key[i]);
		assert_int_equal(access(aside, F_OK), 0);
		assert_int_not_equal(access(f->key[i], F_OK), 0);
	}
	/* The token opens; the key is gone, as its generation never ended. */
	{
		struct hsm_key *k = NULL;
		struct hsm *h;

		assert_non_null(h = open_token(&f->tok));
		assert_int_equal(hsm_key_find(h, "issuer", NULL, 0, &k),
		    HSM_ERR_NO_KEY);
		hsm_close(h);
	}
}

static void
test_stale_copy_dropped(void **state)
{
	struct fx *f = *state;
	struct hsm_guard_report r;
	char c[1300];

	/* An object the token deleted leaves no copy that could return. */
	assert_int_equal(unlink(f->key[0]), 0);
	assert_int_equal(hsm_token_guard(f->tok.conf, &r), HSM_OK);
	assert_int_equal(r.dropped, 1);
	snprintf(c, sizeof(c), "%s.signet-good", f->key[0]);
	assert_int_not_equal(access(c, F_OK), 0);
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void
test_object_parser(void **state)
{
	uint8_t b[64] = { 0 };
	size_t n;

	(void)state;
	assert_false(hsm_guard_object_valid(b, 0));
	put_u64(b, 7); /* generation only: no attribute */
	assert_false(hsm_guard_object_valid(b, 8));
	put_u64(b + 8, 0x0);	/* CKA_CLASS */
	put_u64(b + 16, 2);	/* unsigned long */
	put_u64(b + 24, 3);	/* CKO_PRIVATE_KEY */
	n = 32;
	assert_true(hsm_guard_object_valid(b, n));
	assert_false(hsm_guard_object_valid(b, n - 1));
	put_u64(b + 32, 0x3);	/* CKA_LABEL */
	put_u64(b + 40, 3);	/* byte string */
	put_u64(b + 48, 4);
	memcpy(b + 56, "abcd", 4);
	assert_true(hsm_guard_object_valid(b, 60));
	assert_false(hsm_guard_object_valid(b, 59));
	put_u64(b + 48, UINT64_MAX); /* a length past the end */
	assert_false(hsm_guard_object_valid(b, 60));
	put_u64(b + 40, 9);	/* unknown kind */
	assert_false(hsm_guard_object_valid(b, 60));
	memset(b, 0, sizeof(b)); /* zeroes, as some file systems leave */
	assert_false(hsm_guard_object_valid(b, sizeof(b)));
}

static void
test_no_softhsm_conf(void **state)
{
	struct hsm_guard_report r;

	(void)state;
	/* A vendor HSM: no SoftHSM configuration, nothing to do. */
	assert_int_equal(hsm_token_guard("/nonexistent/softhsm2.conf", &r),
	    HSM_OK);
	assert_int_equal(r.checked, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object_parser),
		cmocka_unit_test(test_no_softhsm_conf),
		cmocka_unit_test_setup_teardown(test_copies_made, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_empty_token_object_restored, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_cut_token_object_restored_by_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_key_restored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_copy_is_reported,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_damaged_new_key_moved_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_copy_dropped,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
