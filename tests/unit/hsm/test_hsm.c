/*
 * hsm/ against a real SoftHSMv2 token: generation, attributes as
 * pkcs11-tool sees them, signatures OpenSSL verifies, certificates
 * `openssl verify` accepts, lookups, PINs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>

#include <signet/hsm.h>

#include "testtoken.h"

struct fx {
	struct test_token tok;
	struct hsm *hsm;
};

static struct hsm *
open_token(struct test_token *t, int session_keys)
{
	struct hsm_config cfg = { 0 };
	struct hsm *h = NULL;
	char pin[] = TEST_USER_PIN;

	cfg.module = t->module;
	cfg.token_label = t->label;
	cfg.session_keys = session_keys;
	assert_int_equal(hsm_open(&cfg, pin, strlen(pin), &h), HSM_OK);
	/* hsm_open wipes the caller's PIN. */
	assert_int_equal(pin[0], 0);
	return h;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	test_token_create(&f->tok, "signet-test");
	f->hsm = open_token(&f->tok, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	hsm_close(f->hsm);
	test_token_destroy(&f->tok);
	free(f);
	return 0;
}

static struct hsm_key *
gen(struct hsm *h, enum hsm_key_type type, const char *label)
{
	struct hsm_keygen req = { .type = type, .label = label };
	struct hsm_key *k = NULL;

	assert_int_equal(hsm_key_generate(h, &req, &k), HSM_OK);
	assert_non_null(k);
	return k;
}

static int
verify_sig(EVP_PKEY *pub, const EVP_MD *md, const uint8_t *msg, size_t len,
    const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static void
sign_and_verify(struct hsm_key *k, const EVP_MD *md)
{
	static const uint8_t msg[] = "to be signed by a key in the token";
	uint8_t sig[HSM_MAX_SIG];
	size_t len = sizeof(sig);

	assert_int_equal(hsm_key_sign(k, md, msg, sizeof(msg), sig, &len),
	    HSM_OK);
	assert_true(verify_sig(hsm_key_public(k), md, msg, sizeof(msg), sig,
	    len));
	/* A flipped message byte must not verify. */
	{
		uint8_t bad[sizeof(msg)];

		memcpy(bad, msg, sizeof(msg));
		bad[0] ^= 1;
		assert_false(verify_sig(hsm_key_public(k), md, bad,
		    sizeof(bad), sig, len));
	}
}

/* pkcs11-tool, a client nobody here wrote, must see the key protected. */
static void
check_attrs_with_pkcs11_tool(struct fx *f, const char *label)
{
	char out[16384], *p, *acc, *eol;
	int rc;

	rc = test_capture(out, sizeof(out),
	    "pkcs11-tool --module '%s' --token-label '%s' --login --pin %s "
	    "--list-objects --type privkey 2>&1", f->tok.module, f->tok.label,
	    TEST_USER_PIN);
	assert_int_equal(rc, 0);
	p = strstr(out, label);
	assert_non_null(p);
	/* "Access: sensitive, always sensitive, never extractable, local"
	 * follows the label in pkcs11-tool's listing. */
	/* Usage: sign, and nothing else. */
	{
		char *use = strstr(p, "Usage:"), *e2;

		assert_non_null(use);
		e2 = strchr(use, '\n');
		assert_non_null(e2);
		assert_int_equal(strncmp(use, "Usage:      sign\n", 17), 0);
	}
	acc = strstr(p, "Access:");
	assert_non_null(acc);
	if ((eol = strchr(acc, '\n')) != NULL)
		*eol = '\0';
	assert_non_null(strstr(acc, " sensitive"));
	assert_non_null(strstr(acc, "never extractable"));
	assert_null(strstr(acc, ", extractable"));
	assert_null(strstr(acc, "Access:     extractable"));
}

static void
test_keygen_sign_all_types(void **state)
{
	struct fx *f = *state;
	struct hsm_key *k;
	struct hsm_key_info info;
	static const struct {
		enum hsm_key_type type;
		const char *label;
	} types[] = {
		{ HSM_KEY_EC_P256, "ca-p256" },
		{ HSM_KEY_EC_P384, "ca-p384" },
		{ HSM_KEY_RSA_2048, "ca-rsa2048" },
		{ HSM_KEY_ED25519, "ca-ed25519" },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		k = gen(f->hsm, types[i].type, types[i].label);
		assert_int_equal(hsm_key_type(k), types[i].type);
		assert_string_equal(hsm_key_label(k), types[i].label);
		assert_int_equal(hsm_key_get_info(k, &info), HSM_OK);
		assert_true(info.sensitive);
		assert_false(info.extractable);
		assert_true(info.always_sensitive);
		assert_true(info.never_extractable);
		sign_and_verify(k, types[i].type == HSM_KEY_ED25519 ? NULL :
		    types[i].type == HSM_KEY_EC_P384 ? EVP_sha384() :
		    EVP_sha256());
		if (types[i].type == HSM_KEY_ED25519)
			assert_null(hsm_key_evp(k));
		else
			assert_non_null(hsm_key_evp(k));
		check_attrs_with_pkcs11_tool(f, types[i].label);
		hsm_key_free(k);
	}
}

/* Self-signs a certificate with X509_sign through the EVP_PKEY. */
static X509 *
self_signed(struct hsm_key *k, const EVP_MD *md)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Signet Test CA", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, hsm_key_public(k));
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
	    "critical,CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
	    "critical,keyCertSign,cRLSign");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, hsm_key_evp(k), md) > 0);
	return x;
}

static void
test_x509_sign_openssl_verify(void **state)
{
	struct fx *f = *state;
	enum hsm_key_type types[] = { HSM_KEY_EC_P256, HSM_KEY_EC_P384,
		HSM_KEY_RSA_2048 };
	char path[700], label[32];
	size_t i;

	for (i = 0; i < 3; i++) {
		struct hsm_key *k;
		X509 *x;
		FILE *fp;

		snprintf(label, sizeof(label), "x509-%zu", i);
		k = gen(f->hsm, types[i], label);
		x = self_signed(k, types[i] == HSM_KEY_EC_P384 ? EVP_sha384() :
		    EVP_sha256());
		assert_int_equal(X509_verify(x, hsm_key_public(k)), 1);
		snprintf(path, sizeof(path), "%s/ca-%zu.pem", f->tok.dir, i);
		fp = fopen(path, "w");
		assert_non_null(fp);
		PEM_write_X509(fp, x);
		fclose(fp);
		assert_int_equal(test_run("openssl verify -CAfile '%s' '%s' "
		    ">/dev/null 2>&1", path, path), 0);
		X509_free(x);
		hsm_key_free(k);
	}
}

static void
test_find_label_id_uri(void **state)
{
	struct fx *f = *state;
	uint8_t id[] = { 0xca, 0xfe, 0x01 };
	struct hsm_keygen req = { .type = HSM_KEY_EC_P256, .label = "issuer-a",
		.id = id, .id_len = sizeof(id) };
	struct hsm_key *k = NULL, *k2 = NULL, *ed = NULL;
	uint8_t sig[HSM_MAX_SIG];
	size_t len = sizeof(sig);

	assert_int_equal(hsm_key_generate(f->hsm, &req, &k), HSM_OK);
	/* An Ed25519 key in the same token must not break other lookups. */
	ed = gen(f->hsm, HSM_KEY_ED25519, "device-ed");
	assert_int_equal(hsm_key_find(f->hsm, "issuer-a", NULL, 0, &k2),
	    HSM_OK);
	assert_int_equal(hsm_key_type(k2), HSM_KEY_EC_P256);
	hsm_key_free(k2);
	assert_int_equal(hsm_key_find(f->hsm, NULL, id, sizeof(id), &k2),
	    HSM_OK);
	assert_string_equal(hsm_key_label(k2), "issuer-a");
	hsm_key_free(k2);
	assert_int_equal(hsm_key_find_uri(f->hsm,
	    "pkcs11:token=signet-test;object=issuer-a;id=%ca%fe%01", &k2),
	    HSM_OK);
	assert_int_equal(hsm_key_sign(k2, NULL, id, sizeof(id), sig, &len),
	    HSM_OK);
	assert_true(verify_sig(hsm_key_public(k), EVP_sha256(), id,
	    sizeof(id), sig, len));
	hsm_key_free(k2);
	assert_int_equal(hsm_key_find(f->hsm, "nope", NULL, 0, &k2),
	    HSM_ERR_NO_KEY);
	assert_int_equal(hsm_key_find(f->hsm, "device-ed", NULL, 0, &k2),
	    HSM_OK);
	assert_int_equal(hsm_key_type(k2), HSM_KEY_ED25519);
	hsm_key_free(k2);
	/* Labels and ids stay unambiguous. */
	assert_int_equal(hsm_key_generate(f->hsm, &req, &k2), HSM_ERR_EXISTS);
	req.label = "issuer-b";
	assert_int_equal(hsm_key_generate(f->hsm, &req, &k2), HSM_ERR_EXISTS);
	hsm_key_free(ed);
	hsm_key_free(k);
}

static void
test_list(void **state)
{
	struct fx *f = *state;
	struct hsm_key *a = gen(f->hsm, HSM_KEY_EC_P256, "list-a");
	struct hsm_key *b = gen(f->hsm, HSM_KEY_ED25519, "list-b");
	struct hsm_key *c = gen(f->hsm, HSM_KEY_AES_256, "list-kek");
	struct hsm_key_info *v = NULL;
	size_t n = 0, i, seen = 0;

	assert_int_equal(hsm_key_list(f->hsm, &v, &n), HSM_OK);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].label, "list-a") == 0 &&
		    v[i].type == HSM_KEY_EC_P256)
			seen |= 1;
		if (strcmp(v[i].label, "list-b") == 0 &&
		    v[i].type == HSM_KEY_ED25519)
			seen |= 2;
		if (strcmp(v[i].label, "list-kek") == 0 &&
		    v[i].type == HSM_KEY_AES_256 && v[i].sensitive &&
		    !v[i].extractable)
			seen |= 4;
	}
	assert_int_equal(seen, 7);
	free(v);
	hsm_key_free(a);
	hsm_key_free(b);
	hsm_key_free(c);
}

/* An HMAC key: MACs inside the token, found again by label, never read. */
static void
test_hmac_key(void **state)
{
	struct fx *f = *state;
	struct hsm_keygen bk = { .type = HSM_KEY_HMAC_SHA256, .label = "mac2",
		.flags = HSM_KEYGEN_BACKUP };
	struct hsm_key *k = gen(f->hsm, HSM_KEY_HMAC_SHA256, "mac");
	struct hsm_key *k2 = NULL, *other = NULL;
	struct hsm_key_info info;
	uint8_t a[HSM_HMAC_LEN], b[HSM_HMAC_LEN], c[HSM_HMAC_LEN];
	uint8_t sig[HSM_MAX_SIG];
	size_t siglen = sizeof(sig);

	assert_null(hsm_key_public(k));
	assert_null(hsm_key_evp(k));
	assert_string_equal(hsm_key_type_name(HSM_KEY_HMAC_SHA256),
	    "hmac-sha256");
	assert_int_equal(hsm_key_type_from_name("hmac-sha256"),
	    HSM_KEY_HMAC_SHA256);
	assert_int_equal(hsm_key_hmac(k, (const uint8_t *)"id-1", 4, a),
	    HSM_OK);
	assert_int_equal(hsm_key_find(f->hsm, "mac", NULL, 0, &k2), HSM_OK);
	assert_int_equal(hsm_key_type(k2), HSM_KEY_HMAC_SHA256);
	assert_int_equal(hsm_key_hmac(k2, (const uint8_t *)"id-1", 4, b),
	    HSM_OK);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(hsm_key_hmac(k2, (const uint8_t *)"id-2", 4, c),
	    HSM_OK);
	assert_memory_not_equal(a, c, sizeof(a));
	/* Another key, another MAC. */
	other = gen(f->hsm, HSM_KEY_HMAC_SHA256, "mac-other");
	assert_int_equal(hsm_key_hmac(other, (const uint8_t *)"id-1", 4, c),
	    HSM_OK);
	assert_memory_not_equal(a, c, sizeof(a));
	assert_int_equal(hsm_key_get_info(k, &info), HSM_OK);
	assert_int_equal(info.type, HSM_KEY_HMAC_SHA256);
	assert_true(info.sensitive);
	assert_false(info.extractable);
	/* A MAC key is no certificate signer, and is never backed up. */
	assert_int_equal(hsm_key_sign(k, NULL, a, sizeof(a), sig, &siglen),
	    HSM_ERR_ARG);
	assert_int_equal(hsm_key_generate(f->hsm, &bk, &k2), HSM_ERR_ARG);
	hsm_key_free(other);
	hsm_key_free(k2);
	hsm_key_free(k);
}

static void
test_wrap_refused_without_trusted_kek(void **state)
{
	struct fx *f = *state;
	struct hsm_keygen req = { .type = HSM_KEY_EC_P256, .label = "root",
		.flags = HSM_KEYGEN_BACKUP };
	struct hsm_key *root = NULL, *kek, *plain;
	uint8_t blob[HSM_MAX_WRAPPED];
	size_t len = sizeof(blob);

	assert_int_equal(hsm_key_generate(f->hsm, &req, &root), HSM_OK);
	kek = gen(f->hsm, HSM_KEY_AES_256, "kek");
	plain = gen(f->hsm, HSM_KEY_EC_P256, "not-backed-up");
	/* Rule 1: the root key leaves only under a trusted key. */
	assert_int_not_equal(hsm_key_wrap(kek, root, blob, &len), HSM_OK);
	len = sizeof(blob);
	assert_int_not_equal(hsm_key_wrap(kek, plain, blob, &len), HSM_OK);
	hsm_key_free(plain);
	hsm_key_free(kek);
	hsm_key_free(root);
}

static void
test_wrong_pin(void **state)
{
	struct fx *f = *state;
	struct hsm_config cfg = { 0 };
	struct hsm *h = NULL;
	char pin[] = "0000";

	cfg.module = f->tok.module;
	cfg.token_label = f->tok.label;
	/* A second context on the same module would re-initialise it under
	 * the first; close the fixture's first. */
	hsm_close(f->hsm);
	assert_int_equal(hsm_open(&cfg, pin, 4, &h), HSM_ERR_PIN);
	assert_null(h);
	cfg.token_label = "no-such-token";
	memcpy(pin, TEST_USER_PIN, 4);
	assert_int_equal(hsm_open(&cfg, pin, 4, &h), HSM_ERR_NO_TOKEN);
	cfg.token_label = NULL;
	cfg.token_uri = "pkcs11:token=signet-test";
	memcpy(pin, TEST_USER_PIN, 4);
	assert_int_equal(hsm_open(&cfg, pin, 4, &h), HSM_OK);
	f->hsm = h;
	cfg.module = "/nonexistent/module.so";
	memcpy(pin, TEST_USER_PIN, 4);
	h = NULL;
	assert_int_equal(hsm_open(&cfg, pin, 4, &h), HSM_ERR_MODULE);
}

static void
test_pin_files(void **state)
{
	struct fx *f = *state;
	char path[700], buf[HSM_MAX_PIN];
	size_t len = 0;
	int fd, p[2];

	snprintf(path, sizeof(path), "%s/pin", f->tok.dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "1234\n", 5), 5);
	close(fd);
	assert_int_equal(hsm_pin_from_file(path, buf, sizeof(buf), &len),
	    HSM_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "1234", 4);
	/* Readable by the group: refused. */
	chmod(path, 0640);
	assert_int_equal(hsm_pin_from_file(path, buf, sizeof(buf), &len),
	    HSM_ERR_PIN_FILE);
	assert_int_equal(hsm_pin_from_file("/nonexistent", buf, sizeof(buf),
	    &len), HSM_ERR_PIN_FILE);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "secret\r\n", 8), 8);
	close(p[1]);
	assert_int_equal(hsm_pin_from_fd(p[0], buf, sizeof(buf), &len), HSM_OK);
	assert_int_equal(len, 6);
	close(p[0]);
	assert_int_equal(pipe(p), 0);
	close(p[1]);
	assert_int_equal(hsm_pin_from_fd(p[0], buf, sizeof(buf), &len),
	    HSM_ERR_PIN_FILE);
	close(p[0]);
}

static void
test_session_keys(void **state)
{
	struct fx *f = *state;
	struct hsm_key *k, *k2;
	struct hsm_status st;
	static const uint8_t msg[] = "session copy";
	uint8_t sig[HSM_MAX_SIG];
	size_t len = sizeof(sig);

	k = gen(f->hsm, HSM_KEY_EC_P256, "sess");
	hsm_key_free(k);
	hsm_close(f->hsm);
	f->hsm = open_token(&f->tok, 1);
	assert_int_equal(hsm_key_find(f->hsm, "sess", NULL, 0, &k2), HSM_OK);
	hsm_status(f->hsm, &st);
	assert_true(st.session_keys);
	assert_int_equal(hsm_key_sign(k2, NULL, msg, sizeof(msg), sig, &len),
	    HSM_OK);
	assert_true(verify_sig(hsm_key_public(k2), EVP_sha256(), msg,
	    sizeof(msg), sig, len));
	hsm_key_free(k2);
	/* The copy was a session object: the token still holds one key. */
	{
		struct hsm_key_info *v;
		size_t n;

		assert_int_equal(hsm_key_list(f->hsm, &v, &n), HSM_OK);
		assert_int_equal(n, 1);
		free(v);
	}
}

/*
 * The token HMAC key (one MAC per DTLS-PSK lookup) gets a session copy
 * too: the same MAC, no second token object, and, as for the signing
 * keys, SoftHSM no longer re-reads the key's file per MAC, so MACs go on
 * while the token's files are away (they fail at once on the token
 * object: test_token_dir_moved_away_and_back).
 */
static void
test_session_keys_hmac(void **state)
{
	struct fx *f = *state;
	struct hsm_key *k, *k2;
	struct hsm_key_info *v;
	uint8_t a[HSM_HMAC_LEN], b[HSM_HMAC_LEN];
	char away[700];
	size_t n;

	k = gen(f->hsm, HSM_KEY_HMAC_SHA256, "tkey");
	assert_int_equal(hsm_key_hmac(k, (const uint8_t *)"id-1", 4, a),
	    HSM_OK);
	hsm_key_free(k);
	hsm_close(f->hsm);
	f->hsm = open_token(&f->tok, 1);
	assert_int_equal(hsm_key_find(f->hsm, "tkey", NULL, 0, &k2), HSM_OK);
	snprintf(away, sizeof(away), "%s.away", f->tok.tokendir);
	assert_int_equal(rename(f->tok.tokendir, away), 0);
	assert_int_equal(hsm_key_hmac(k2, (const uint8_t *)"id-1", 4, b),
	    HSM_OK);
	assert_int_equal(rename(away, f->tok.tokendir), 0);
	assert_memory_equal(a, b, sizeof(a));
	hsm_key_free(k2);
	assert_int_equal(hsm_key_list(f->hsm, &v, &n), HSM_OK);
	assert_int_equal(n, 1);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keygen_sign_all_types,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_x509_sign_openssl_verify,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_label_id_uri, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hmac_key, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_wrap_refused_without_trusted_kek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_session_keys_hmac, setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("hsm", tests, NULL, NULL);
}
