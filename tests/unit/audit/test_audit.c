/*
 * The audit log: canonical hashing, append and checkpoints, the verifier
 * locating edited, deleted and truncated records, and failing closed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <signet/audit.h>

#include "faultvfs.h"
#include "testutil.h"

struct fx {
	char		 dir[256];
	char		 db[300];
	EVP_PKEY	*key;
};

static int
setup(void **state)
{
	static struct fx fx;

	memset(&fx, 0, sizeof(fx));
	tu_tmpdir(fx.dir, sizeof(fx.dir));
	snprintf(fx.db, sizeof(fx.db), "%s/audit.db", fx.dir);
	fx.key = tu_p256();
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	faultvfs_fail(0);
	chmod(fx->dir, 0700);
	tu_rmtree(fx->dir);
	EVP_PKEY_free(fx->key);
	return 0;
}

static void
record(struct audit_record *r, int i, char *detail, size_t size)
{
	snprintf(detail, size, "issued serial %04x to device-%d", i, i);
	memset(r, 0, sizeof(*r));
	r->time = 1700000000 + i;
	r->actor = "CN=device";
	r->role = "device";
	r->tenant = "acme";
	r->action = AUDIT_ISSUE;
	r->object = "01ab";
	r->result = "ok";
	r->detail = detail;
}

/* n records into fx->db, a checkpoint every 5. */
static void
fill(struct fx *fx, int n)
{
	struct audit_config cfg = { .key = fx->key, .every_n = 5 };
	struct audit_log *log = NULL;
	struct audit_record r;
	char detail[128];
	uint64_t seq;
	int i;

	assert_int_equal(audit_open(fx->db, &cfg, &log), AUDIT_OK);
	for (i = 1; i <= n; i++) {
		record(&r, i, detail, sizeof(detail));
		assert_int_equal(audit_append(log, &r, &seq), AUDIT_OK);
		assert_int_equal(seq, i);
	}
	audit_close(log);
}

static void
verify(struct fx *fx, EVP_PKEY *pub, struct audit_verify_result *res)
{
	assert_int_equal(audit_verify(fx->db, pub, res), AUDIT_OK);
}

/* The documented encoding, built by hand, gives the same hash. */
static void
test_hash_encoding(void **state)
{
	static const uint8_t zero[AUDIT_HASH_LEN];
	struct audit_record r = { .time = 0x0102030405060708LL,
	    .actor = "ab", .action = AUDIT_REVOKE, .detail = "x" };
	uint8_t buf[256], want[32], got[32], other[32];
	const char *f[7] = { "ab", "", "", "revoke", "", "", "x" };
	size_t n = 0, len;
	int i;

	memcpy(buf, "SIGNET-AUDIT-1", 14);
	n = 14;
	for (i = 7; i >= 0; i--)
		buf[n + 7 - i] = (uint8_t)(3ULL >> (8 * i));
	for (i = 0; i < 8; i++)
		buf[n + 8 + i] = (uint8_t)(0x0102030405060708ULL >>
		    (8 * (7 - i)));
	n += 16;
	for (i = 0; i < 7; i++) {
		len = strlen(f[i]);
		buf[n++] = 0;
		buf[n++] = 0;
		buf[n++] = 0;
		buf[n++] = (uint8_t)len;
		memcpy(buf + n, f[i], len);
		n += len;
	}
	memset(buf + n, 0, 32);
	n += 32;
	assert_non_null(EVP_Digest(buf, n, want, NULL, EVP_sha256(), NULL));
	assert_int_equal(audit_hash(3, &r, zero, got), AUDIT_OK);
	assert_memory_equal(got, want, 32);
	/* Length prefixes keep field boundaries: "ab"+"" != "a"+"b". */
	r.actor = "a";
	r.role = "b";
	assert_int_equal(audit_hash(3, &r, zero, other), AUDIT_OK);
	assert_memory_not_equal(got, other, 32);
}

static void
test_append_verify(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;

	fill(fx, 23);
	verify(fx, fx->key, &res);
	assert_int_equal(res.status, AUDIT_VERIFY_OK);
	assert_int_equal(res.records, 23);
	assert_int_equal(res.checkpoints, 4);
	assert_int_equal(res.last_checkpoint, 20);
	assert_non_null(strstr(res.message, "23 records"));
}

static void
test_explicit_and_timed_checkpoint(void **state)
{
	struct fx *fx = *state;
	struct audit_config cfg = { .key = fx->key, .every_secs = 60 };
	struct audit_log *log = NULL;
	struct audit_verify_result res;
	struct audit_record r;
	char d[128];

	assert_int_equal(audit_open(fx->db, &cfg, &log), AUDIT_OK);
	record(&r, 1, d, sizeof(d));	/* first record: due at once */
	assert_int_equal(audit_append(log, &r, NULL), AUDIT_OK);
	record(&r, 2, d, sizeof(d));	/* 1 second later: not due */
	assert_int_equal(audit_append(log, &r, NULL), AUDIT_OK);
	assert_int_equal(tu_sql_int(fx->db,
	    "SELECT count(*) FROM audit_checkpoint"), 1);
	record(&r, 80, d, sizeof(d));	/* 79 seconds later: due */
	assert_int_equal(audit_append(log, &r, NULL), AUDIT_OK);
	record(&r, 81, d, sizeof(d));
	assert_int_equal(audit_append(log, &r, NULL), AUDIT_OK);
	assert_int_equal(audit_checkpoint(log), AUDIT_OK);
	assert_int_equal(audit_checkpoint(log), AUDIT_OK); /* nothing new */
	audit_close(log);
	verify(fx, fx->key, &res);
	assert_int_equal(res.status, AUDIT_VERIFY_OK);
	assert_int_equal(res.checkpoints, 3);
	assert_int_equal(res.last_checkpoint, 4);
}

static void
test_append_only(void **state)
{
	struct fx *fx = *state;

	fill(fx, 3);
	assert_int_not_equal(tu_sql(fx->db,
	    "UPDATE audit_log SET detail = 'x' WHERE seq = 2"), 0);
	assert_int_not_equal(tu_sql(fx->db,
	    "DELETE FROM audit_log WHERE seq = 3"), 0);
	assert_int_equal(tu_sql_int(fx->db, "SELECT count(*) FROM audit_log"),
	    3);
}

#define UNGUARD "DROP TRIGGER audit_log_no_update;" \
	"DROP TRIGGER audit_log_no_delete;"

static void
test_tamper_edit(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;

	fill(fx, 20);
	/* One byte: serial 0007 becomes 0008 in the detail of seq 7. */
	assert_int_equal(tu_sql(fx->db, UNGUARD "UPDATE audit_log SET detail"
	    " = replace(detail, '0007', '0008') WHERE seq = 7"), 0);
	verify(fx, fx->key, &res);
	assert_int_equal(res.status, AUDIT_VERIFY_HASH);
	assert_int_equal(res.seq, 7);
	assert_int_equal(res.records, 6);
	assert_non_null(strstr(res.message, "hash mismatch at seq 7"));
}

/* Replace record seq by a forgery whose own hash is right. */
static void
forge(struct fx *fx, int seq)
{
	struct audit_record r;
	uint8_t prev[AUDIT_HASH_LEN], h[AUDIT_HASH_LEN];
	char d[128], sql[512], hex[65], q[128];
	int i;

	snprintf(q, sizeof(q), "SELECT prev_hash FROM audit_log WHERE seq = %d",
	    seq);
	assert_int_equal(tu_sql_blob(fx->db, q, prev, sizeof(prev)), 32);
	record(&r, seq, d, sizeof(d));
	r.result = "denied";
	assert_int_equal(audit_hash((uint64_t)seq, &r, prev, h), AUDIT_OK);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(sql, sizeof(sql), UNGUARD "UPDATE audit_log SET"
	    " result = 'denied', hash = x'%s' WHERE seq = %d", hex, seq);
	assert_int_equal(tu_sql(fx->db, sql), 0);
}

static void
test_tamper_rehash(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;

	fill(fx, 12);
	forge(fx, 7);
	verify(fx, fx->key, &res);
	assert_int_equal(res.status, AUDIT_VERIFY_CHAIN);
	assert_int_equal(res.seq, 8);
	assert_non_null(strstr(res.message, "record 8 does not chain"));
}

static void
test_tamper_rehash_checkpointed(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;

	fill(fx, 12);
	forge(fx, 10);	/* the record the checkpoint at 10 signs */
	verify(fx, fx->key, &res);
	assert_int_equal(res.status, AUDIT_VERIFY_CHECKPOINT);
	assert_int_equal(res.seq, 10);
}

static void
test_tamper_chain(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;

	fill(fx, 10);
	/* Record 8 claims a different predecessor. */
	assert_int_equal(tu_sql(fx->db, UNGUARD "UPDATE audit_log SET"
	    " prev_hash = (SELECT hash FROM audit_log WHERE seq = 3),"
	    " hash = hash WHERE seq = 8"), 0);
	verify(fx, fx->key, &res);
	/* The stored hash covers prev_hash, so seq 8 fails its hash. */
	assert_int_equal(res.status, AUDIT_VERIFY_HASH);
	assert_int_equal(res.seq, 8);
}

static void
test_tamper_delete(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;

	fill(fx, 20);
	assert_int_equal(tu_sql(fx->db, UNGUARD
	    "DELETE FROM audit_log WHERE seq = 12"), 0);
	verify(fx, fx->key, &res);
	assert_int_equal(res.status, AUDIT_VERIFY_GAP);
	assert_int_equal(res.seq, 12);
	assert_non_null(strstr(res.message, "gap after seq 11"));
}

static void
test_tamper_truncate(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;

	fill(fx, 20);
	assert_int_equal(tu_sql(fx->db, UNGUARD
	    "DELETE FROM audit_log WHERE seq > 16"), 0);
	verify(fx, fx->key, &res);
	assert_int_equal(res.status, AUDIT_VERIFY_TRUNCATED);
	assert_int_equal(res.seq, 17);
	assert_int_equal(res.records, 16);
	assert_non_null(strstr(res.message, "truncated"));
}

static void
test_tamper_checkpoint(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;
	EVP_PKEY *other = tu_p256();

	fill(fx, 12);
	verify(fx, other, &res);	/* signed by someone else */
	assert_int_equal(res.status, AUDIT_VERIFY_SIGNATURE);
	assert_int_equal(res.seq, 5);
	EVP_PKEY_free(other);
	/* A forged checkpoint beyond the tail is not mistaken for one. */
	assert_int_equal(tu_sql(fx->db, "DROP TRIGGER audit_ckpt_no_update;"
	    "UPDATE audit_checkpoint SET time = time + 1 WHERE seq = 10"), 0);
	verify(fx, fx->key, &res);
	assert_int_equal(res.status, AUDIT_VERIFY_SIGNATURE);
	assert_int_equal(res.seq, 10);
}

static void
test_verify_operational_errors(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;
	char path[400];

	snprintf(path, sizeof(path), "%s/missing.db", fx->dir);
	assert_int_equal(audit_verify(path, NULL, &res), AUDIT_ERR_IO);
	snprintf(path, sizeof(path), "%s/other.db", fx->dir);
	assert_int_equal(tu_sql_create(path, "CREATE TABLE t(x)"), 0);
	assert_int_equal(audit_verify(path, NULL, &res), AUDIT_ERR_SCHEMA);
}

/* An unwritable place refuses to open; a failing disk refuses appends. */
static void
test_fail_closed(void **state)
{
	struct fx *fx = *state;
	struct audit_config cfg = { .key = fx->key, .every_n = 2 };
	struct audit_log *log = NULL;
	struct audit_verify_result res;
	struct audit_record r;
	char d[128], path[400];
	uint64_t seq = 0;
	int rc;

	/* A path below a regular file can never be created, even by root. */
	snprintf(path, sizeof(path), "%s/audit.db/sub.db", fx->dir);
	fill(fx, 1);
	assert_int_equal(audit_open(path, &cfg, &log), AUDIT_ERR_IO);
	assert_null(log);
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/ro", fx->dir);
		assert_int_equal(mkdir(path, 0500), 0);
		snprintf(path, sizeof(path), "%s/ro/audit.db", fx->dir);
		assert_int_equal(audit_open(path, &cfg, &log), AUDIT_ERR_IO);
	}

	assert_int_equal(audit_open(fx->db, &cfg, &log), AUDIT_OK);
	record(&r, 2, d, sizeof(d));
	faultvfs_fail(1);
	rc = audit_append(log, &r, &seq);
	faultvfs_fail(0);
	assert_true(rc == AUDIT_ERR_FULL || rc == AUDIT_ERR_IO);
	assert_int_equal(seq, 0);
	assert_int_equal(tu_sql_int(fx->db, "SELECT count(*) FROM audit_log"),
	    1);
	/* Space is back: the same record goes in as seq 2, chain intact. */
	assert_int_equal(audit_append(log, &r, &seq), AUDIT_OK);
	assert_int_equal(seq, 2);
	audit_close(log);
	verify(fx, fx->key, &res);
	assert_int_equal(res.status, AUDIT_VERIFY_OK);
	assert_int_equal(res.records, 2);
	assert_int_equal(res.checkpoints, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_encoding),
		cmocka_unit_test_setup_teardown(test_append_verify, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_explicit_and_timed_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_only, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tamper_edit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tamper_rehash, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_tamper_rehash_checkpointed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_chain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tamper_delete, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tamper_truncate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tamper_checkpoint, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_verify_operational_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_closed, setup,
		    teardown),
	};

	if (faultvfs_install() != 0)
		return 2;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
