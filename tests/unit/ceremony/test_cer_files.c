/*
 * The ceremony's files: the state file round-trips and a damaged one is
 * named with its line; staged output appears whole or not at all and
 * never over a file that exists; the transcript's signatures cover every
 * byte before them, so an edit is found and its line named.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "cer.h"
#include "certest.h"

static void
path_in(char *buf, size_t size, const char *dir, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void
test_state_roundtrip(void **state)
{
	struct cer_state st = { 0 }, back;
	char dir[512], p[600], *text;
	size_t len;

	cer_tmpdir(dir, sizeof(dir));
	snprintf(st.key_id, sizeof(st.key_id), "0a0b0c");
	snprintf(st.user_id, sizeof(st.user_id), "1111222233334444");
	snprintf(st.so_id, sizeof(st.so_id), "5555666677778888");
	snprintf(st.kek_id, sizeof(st.kek_id), "9999aaaabbbbcccc");
	st.crl_number = 18446744073709551615ULL;
	snprintf(st.revoked[0].serial, sizeof(st.revoked[0].serial), "7f01");
	st.revoked[0].when = 1700000000;
	st.revoked[0].reason = 1;
	snprintf(st.revoked[1].serial, sizeof(st.revoked[1].serial), "02");
	st.revoked[1].when = 1800000000;
	st.revoked[1].reason = 5;
	st.nrevoked = 2;
	assert_int_equal(cer_state_format(&st, &text, &len), CER_OK);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text,
	    "signet-ceremony-state 1\n"
	    "key_id 0a0b0c\n"));
	assert_non_null(strstr(text, "revoked 7f01 1700000000 1\n"));
	path_in(p, sizeof(p), dir, "state");
	cer_put(p, text);
	free(text);
	assert_int_equal(cer_state_load(p, &back), CER_OK);
	assert_string_equal(back.key_id, st.key_id);
	assert_string_equal(back.user_id, st.user_id);
	assert_string_equal(back.so_id, st.so_id);
	assert_string_equal(back.kek_id, st.kek_id);
	assert_true(back.crl_number == st.crl_number);
	assert_int_equal(back.nrevoked, 2);
	assert_string_equal(back.revoked[1].serial, "02");
	assert_int_equal(back.revoked[1].when, 1800000000);
	assert_int_equal(back.revoked[1].reason, 5);

	/* No kek: no kek line (a ceremony without backup). */
	st.kek_id[0] = '\0';
	st.nrevoked = 0;
	assert_int_equal(cer_state_format(&st, &text, &len), CER_OK);
	assert_null(strstr(text, "kek"));
	free(text);
	cer_rmdir(dir);
}

static void
test_state_damaged(void **state)
{
	static const struct {
		const char *text, *said;
	} bad[] = {
		{ "signet-ceremony-state 2\nkey_id 00\n",
		    "state:1: not a ceremony state file" },
		{ "signet-ceremony-state 1\nkey_id 00\ncrl_number 12x\n",
		    "state:3: malformed line" },
		{ "signet-ceremony-state 1\nkey_id 00\nmystery 1\n",
		    "state:3: malformed line" },
		{ "signet-ceremony-state 1\nrevoked 01 1\n",
		    "state:2: malformed line" },
		{ "signet-ceremony-state 1\nkey_id\n",
		    "state:2: malformed line" },
	};
	struct cer_state st;
	char dir[512], p[600];
	size_t i;

	cer_tmpdir(dir, sizeof(dir));
	path_in(p, sizeof(p), dir, "state");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cer_put(p, bad[i].text);
		cer_stderr_begin();
		assert_int_equal(cer_state_load(p, &st), CER_ERR);
		assert_said(cer_stderr_end(), bad[i].said);
	}
	unlink(p);
	cer_stderr_begin();
	assert_int_equal(cer_state_load(p, &st), CER_ERR);
	assert_said(cer_stderr_end(), "state: No such file");
	cer_rmdir(dir);
}

static int
mode_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == -1 ? -1 : (int)(sb.st_mode & 07777);
}

static void
test_out_commit(void **state)
{
	struct cer_out o = { 0 };
	char dir[512], a[600], b[600], c[600];

	cer_tmpdir(dir, sizeof(dir));
	path_in(a, sizeof(a), dir, "root.pem");
	path_in(b, sizeof(b), dir, "share.1");
	path_in(c, sizeof(c), dir, "state");
	cer_put(c, "old state\n");
	assert_int_equal(cer_out_absent(a), CER_OK);
	assert_int_equal(cer_out_add(&o, a, 0644, 0, "cert\n", 5), CER_OK);
	assert_int_equal(cer_out_add(&o, b, 0600, 0, "share\n", 6), CER_OK);
	assert_int_equal(cer_out_add(&o, c, 0600, 1, "new state\n", 10),
	    CER_OK);
	/* Staged, not yet visible. */
	assert_null(cer_get(a));
	assert_string_equal(cer_get(c), "old state\n");
	assert_int_equal(cer_out_commit(&o), CER_OK);
	assert_int_equal(o.n, 0);
	assert_string_equal(cer_get(a), "cert\n");
	assert_string_equal(cer_get(b), "share\n");
	assert_string_equal(cer_get(c), "new state\n");
	assert_int_equal(mode_of(a), 0644);
	assert_int_equal(mode_of(b), 0600);
	assert_int_equal(mode_of(c), 0600);
	/* A file that exists is refused, by name. */
	cer_stderr_begin();
	assert_int_equal(cer_out_absent(a), CER_FAIL);
	assert_said(cer_stderr_end(),
	    "root.pem: exists; refusing to "
	    "overwrite it");
	/* No temporary files are left. */
	{
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "test $(ls '%s' | wc -l) = 3", dir);
		assert_int_equal(system(cmd), 0);
	}
	cer_rmdir(dir);
}

static void
test_out_all_or_nothing(void **state)
{
	struct cer_out o = { 0 };
	char dir[512], a[600], b[600], c[600], cmd[700];

	cer_tmpdir(dir, sizeof(dir));
	path_in(a, sizeof(a), dir, "int.pem");
	path_in(b, sizeof(b), dir, "transcript");
	path_in(c, sizeof(c), dir, "state");
	cer_put(c, "old state\n");

	/* Aborted: nothing appears, nothing is left behind. */
	assert_int_equal(cer_out_add(&o, a, 0644, 0, "x", 1), CER_OK);
	cer_out_abort(&o);
	assert_null(cer_get(a));
	snprintf(cmd, sizeof(cmd), "test $(ls '%s' | wc -l) = 1", dir);
	assert_int_equal(system(cmd), 0);

	/* A new file made meanwhile: the commit fails naming it, the
	 * files staged with it do not appear and the state is not
	 * replaced. */
	assert_int_equal(cer_out_add(&o, a, 0644, 0, "int\n", 4), CER_OK);
	assert_int_equal(cer_out_add(&o, b, 0644, 0, "tx\n", 3), CER_OK);
	assert_int_equal(cer_out_add(&o, c, 0600, 1, "new state\n", 10),
	    CER_OK);
	cer_put(b, "someone else's\n");
	cer_stderr_begin();
	assert_int_equal(cer_out_commit(&o), CER_ERR);
	assert_said(cer_stderr_end(), "transcript: File exists");
	assert_null(cer_get(a));
	assert_string_equal(cer_get(b), "someone else's\n");
	assert_string_equal(cer_get(c), "old state\n");
	snprintf(cmd, sizeof(cmd), "test $(ls '%s' | wc -l) = 2", dir);
	assert_int_equal(system(cmd), 0);
	cer_rmdir(dir);
}

static void
test_hex(void **state)
{
	static const uint8_t bin[] = { 0x00, 0x7f, 0xa5, 0xff };
	uint8_t out[8];
	char hex[9], sum[65];
	size_t len;

	cer_hex(bin, sizeof(bin), hex);
	assert_string_equal(hex, "007fa5ff");
	assert_int_equal(cer_unhex("007FA5ff", out, sizeof(out), &len), CER_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(out, bin, 4);
	assert_int_equal(cer_unhex("abc", out, sizeof(out), &len), CER_FAIL);
	assert_int_equal(cer_unhex("zz", out, sizeof(out), &len), CER_FAIL);
	assert_int_equal(cer_unhex("000000000000000000", out, sizeof(out),
			     &len),
	    CER_FAIL);
	cer_sha256_hex((const uint8_t *)"abc", 3, sum);
	assert_string_equal(sum,
	    "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(cer_time_str(0, hex, sizeof(hex)), CER_ERR);
	{
		char ts[32];

		assert_int_equal(cer_time_str(1700000000, ts, sizeof(ts)),
		    CER_OK);
		assert_string_equal(ts, "2023-11-14T22:13:20Z");
	}
}

/* A transcript of two runs, each signed, written to path. */
static void
two_runs(const char *path, EVP_PKEY *key)
{
	struct cer_tx tx;
	FILE *f;

	assert_int_equal(cer_tx_begin(&tx, path, "init"), CER_OK);
	assert_int_equal(cer_tx_step(&tx, "root key generated id=%s", "0a"),
	    CER_OK);
	assert_int_equal(cer_tx_step(&tx, "wrote %s\nstep 99 forged",
			     "root.pem"),
	    CER_OK);
	assert_int_equal(cer_tx_sign(&tx, key), CER_OK);
	assert_non_null(f = fopen(path, "w"));
	fwrite(tx.buf, 1, tx.len, f);
	fclose(f);
	cer_tx_free(&tx);
	/* A later run continues the numbering. */
	assert_int_equal(cer_tx_begin(&tx, path, "sign"), CER_OK);
	assert_int_equal(cer_tx_step(&tx, "signed int.pem"), CER_OK);
	assert_int_equal(cer_tx_sign(&tx, key), CER_OK);
	assert_non_null(f = fopen(path, "w"));
	fwrite(tx.buf, 1, tx.len, f);
	fclose(f);
	cer_tx_free(&tx);
}

static int
verify(const char *text, EVP_PKEY *pub, unsigned *n, char *err, size_t errlen)
{
	return cer_tx_verify((const uint8_t *)text, strlen(text), pub, n, err,
	    errlen);
}

static void
test_transcript(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-384");
	char dir[512], p[600], err[CER_MAX_ERR], *text, *at;
	unsigned n;

	assert_non_null(key);
	assert_non_null(other);
	cer_tmpdir(dir, sizeof(dir));
	path_in(p, sizeof(p), dir, "transcript");
	two_runs(p, key);
	assert_non_null(text = strdup(cer_get(p)));
	assert_int_equal(strncmp(text,
			     "signet-ceremony transcript 1\n"
			     "step 1 ",
			     36),
	    0);
	assert_non_null(strstr(text, " init: root key generated id=0a\n"));
	/* A newline in a value never starts a line of its own. */
	assert_non_null(strstr(text, "wrote root.pem step 99 forged\n"));
	assert_non_null(strstr(text, "\nstep 3 "));
	assert_non_null(strstr(text, " sign: signed int.pem\n"));
	assert_non_null(strstr(text, "\nsignature sha256 "));
	assert_int_equal(verify(text, key, &n, err, sizeof(err)), CER_OK);
	assert_int_equal(n, 2);

	/* Another key: the first signature is named. */
	assert_int_equal(verify(text, other, &n, err, sizeof(err)), CER_FAIL);
	assert_string_equal(err,
	    "line 4: signature does not verify: the "
	    "transcript was edited before this line");
	/* One character edited in the second run. */
	at = strstr(text, "signed int.pem");
	at[0] = 'S';
	assert_int_equal(verify(text, key, &n, err, sizeof(err)), CER_FAIL);
	assert_non_null(strstr(err, "line 6: signature does not verify"));
	at[0] = 's';
	/* A step appended after the last signature. */
	{
		char *more = NULL;

		assert_true(asprintf(&more, "%sstep 4 x y: z\n", text) > 0);
		assert_int_equal(verify(more, key, &n, err, sizeof(err)),
		    CER_FAIL);
		assert_string_equal(err, "line 7: not covered by a signature");
		free(more);
	}
	/* Not a transcript; a line that is neither; a cut line. */
	assert_int_equal(verify("hello\n", key, &n, err, sizeof(err)),
	    CER_FAIL);
	assert_string_equal(err, "line 1: not a ceremony transcript");
	assert_int_equal(verify("signet-ceremony transcript 1\nnote: x\n", key,
			     &n, err, sizeof(err)),
	    CER_FAIL);
	assert_string_equal(err, "line 2: neither a step nor a signature");
	assert_int_equal(verify("signet-ceremony transcript 1\nstep 1", key, &n,
			     err, sizeof(err)),
	    CER_FAIL);
	assert_string_equal(err, "line 2: truncated or binary");

	/* A P-384 root signs with SHA-384. */
	{
		struct cer_tx tx;

		assert_int_equal(cer_tx_begin(&tx, "/nonexistent/t", "init"),
		    CER_OK);
		assert_int_equal(cer_tx_step(&tx, "x"), CER_OK);
		assert_int_equal(cer_tx_sign(&tx, other), CER_OK);
		assert_non_null(strstr(tx.buf, "\nsignature sha384 "));
		assert_int_equal(verify(tx.buf, other, &n, err, sizeof(err)),
		    CER_OK);
		cer_tx_free(&tx);
	}
	free(text);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	cer_rmdir(dir);
}

/*
 * A step too long for a transcript line is refused (CER_ERR) and leaves
 * the transcript as it was: no partial line, and no step number used up,
 * so the next step carries the next number.  The line's prefix length is
 * checked before anything is written after it.
 */
static void
test_transcript_long_step(void **state)
{
	struct cer_tx tx;
	char big[5000], dir[512], p[600];
	size_t len;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(dir, sizeof(dir), "/tmp/cer-tx-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/transcript", dir);
	assert_int_equal(cer_tx_begin(&tx, p, "init"), CER_OK);
	assert_int_equal(cer_tx_step(&tx, "first"), CER_OK);
	len = tx.len;
	assert_int_equal(cer_tx_step(&tx, "%s", big), CER_ERR);
	assert_int_equal(tx.len, len);
	assert_int_equal(tx.seq, 1);
	/* Just under the line's size still fits. */
	big[4000] = '\0';
	assert_int_equal(cer_tx_step(&tx, "%s", big), CER_OK);
	assert_non_null(strstr(tx.buf, "step 2 "));
	assert_null(strstr(tx.buf, "step 3 "));
	cer_tx_free(&tx);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_state_damaged),
		cmocka_unit_test(test_out_commit),
		cmocka_unit_test(test_out_all_or_nothing),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_transcript),
		cmocka_unit_test(test_transcript_long_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
