/*
 * Key generation, the CSR (checked by openssl req -verify -text: CN, the
 * dNSName SAN in the extensionRequest, P-256, a valid self-signature),
 * the names the client accepts, and the enrollment token's PSK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sdev_int.h"
#include "sdev_test_util.h"

static void
test_csr_openssl(void **state)
{
	struct sdev_posix st;
	struct sdev_port port;
	struct sdev *c = NULL;
	mbedtls_pk_context pk;
	char dir[512], path[600], cmd[1400], out[8192];
	uint8_t der[SDEV_MAX_CSR];
	size_t len;
	FILE *f;

	tu_tmpdir(dir, sizeof(dir));
	assert_int_equal(sdev_port_posix(&port, &st, dir), SDEV_OK);
	assert_int_equal(sdev_new(&port, &c), SDEV_OK);
	mbedtls_pk_init(&pk);
	assert_int_equal(sdev_key_generate(c, &pk), SDEV_OK);
	assert_int_equal(sdev_csr_write(c, &pk, "d1.dev.devices.internal", der,
	    sizeof(der), &len), SDEV_OK);
	assert_true(len > 200 && len < 600);
	(void)snprintf(path, sizeof(path), "%s/csr.der", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(der, 1, len, f), len);
	fclose(f);
	(void)snprintf(cmd, sizeof(cmd), "openssl req -inform DER -in '%s' "
	    "-verify -noout -text 2>&1", path);
	assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "verify OK"));
	/* OpenSSL 3.0 prints "CN = name", 3.5 "CN=name". */
	assert_true(strstr(out, "Subject: CN = d1.dev.devices.internal") !=
	    NULL || strstr(out, "Subject: CN=d1.dev.devices.internal") != NULL);
	assert_non_null(strstr(out, "X509v3 Subject Alternative Name"));
	assert_non_null(strstr(out, "DNS:d1.dev.devices.internal"));
	assert_non_null(strstr(out, "prime256v1"));
	assert_non_null(strstr(out, "ecdsa-with-SHA256"));
	/* RFC 5758 3.2: no NULL parameters after ecdsa-with-SHA256. */
	(void)snprintf(cmd, sizeof(cmd), "openssl asn1parse -inform DER "
	    "-in '%s' 2>&1", path);
	assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
	assert_non_null(strstr(out, ":ecdsa-with-SHA256"));
	assert_null(strstr(out, "NULL"));
	/* A name that is not a DNS name never reaches a CSR. */
	assert_int_equal(sdev_csr_write(c, &pk, "d1,O=evil", der, sizeof(der),
	    &len), SDEV_E_ARG);
	mbedtls_pk_free(&pk);
	sdev_free(c);
	tu_rmdir(dir);
}

static void
test_names(void **state)
{
	char long_label[80], long_name[300];

	assert_true(sdev_name_ok("d1.dev.devices.internal"));
	assert_true(sdev_name_ok("a"));
	assert_true(sdev_name_ok("x-1.y"));
	assert_false(sdev_name_ok(""));
	assert_false(sdev_name_ok(NULL));
	assert_false(sdev_name_ok(".a"));
	assert_false(sdev_name_ok("a..b"));
	assert_false(sdev_name_ok("a."));
	assert_false(sdev_name_ok("-a.b"));
	assert_false(sdev_name_ok("a-.b"));
	assert_false(sdev_name_ok("a b"));
	assert_false(sdev_name_ok("a/b"));
	assert_false(sdev_name_ok("*.b"));
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	assert_false(sdev_name_ok(long_label));
	long_label[63] = '\0';
	assert_true(sdev_name_ok(long_label));
	memset(long_name, 'a', sizeof(long_name));
	for (size_t i = 50; i < sizeof(long_name); i += 50)
		long_name[i] = '.';
	long_name[254] = '\0';
	assert_false(sdev_name_ok(long_name));
}

static void
test_token_psk(void **state)
{
	static const char token[] = "tok123.s3cr3t-value";
	uint8_t psk[SDEV_PSK_LEN];
	char id[64], out[512], *p;

	assert_int_equal(sdev_token_psk(token, id, sizeof(id), psk), SDEV_OK);
	assert_string_equal(id, "tok123");
	/* The appliance's scheme, computed by someone else's HMAC:
	 * the first 32 hex characters of HMAC-SHA256(key = SHA-256(token),
	 * "signet dtls psk"). */
	assert_int_equal(tu_run("printf 'signet dtls psk' | openssl dgst "
	    "-sha256 -mac HMAC -macopt hexkey:$(printf '%s' "
	    "'tok123.s3cr3t-value' | openssl dgst -sha256 -r | cut -c1-64) "
	    "2>&1", out, sizeof(out)), 0);
	assert_non_null(p = strstr(out, "= "));
	assert_memory_equal(p + 2, psk, SDEV_PSK_LEN);
	assert_int_equal(sdev_token_psk("nodot", id, sizeof(id), psk),
	    SDEV_E_ARG);
	assert_int_equal(sdev_token_psk(".secret", id, sizeof(id), psk),
	    SDEV_E_ARG);
	assert_int_equal(sdev_token_psk("id.", id, sizeof(id), psk),
	    SDEV_E_ARG);
	assert_int_equal(sdev_token_psk("longid.x", id, 4, psk),
	    SDEV_E_TOOBIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csr_openssl),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_token_psk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
