/*
 * The ledger through its public API on real SQLite files: issuance,
 * lookups, revocation, tenant isolation, counters, reconciliation, the
 * audit records that go with each change, and failing closed.
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
#include <openssl/asn1.h>
#include <openssl/evp.h>

#include <signet/audit.h>
#include <signet/ledger.h>

#include "certgen.h"
#include "faultvfs.h"
#include "testutil.h"

#define T0 1700000000LL

struct fx {
	char		 dir[256];
	char		 db[300];
	EVP_PKEY	*key;
	struct ledger	*l;
};

static void
reopen(struct fx *fx)
{
	struct ledger_config cfg;

	ledger_close(fx->l);
	fx->l = NULL;
	memset(&cfg, 0, sizeof(cfg));
	cfg.audit.key = fx->key;
	cfg.audit.every_n = 4;
	assert_int_equal(ledger_open_config("sqlite", fx->db, &cfg, &fx->l),
	    LEDGER_OK);
}

static int
setup(void **state)
{
	static struct fx fx;

	memset(&fx, 0, sizeof(fx));
	tu_tmpdir(fx.dir, sizeof(fx.dir));
	snprintf(fx.db, sizeof(fx.db), "%s/ledger.db", fx.dir);
	fx.key = tu_p256();
	reopen(&fx);
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	faultvfs_fail(0);
	ledger_close(fx->l);
	tu_rmtree(fx->dir);
	EVP_PKEY_free(fx->key);
	return 0;
}

static void
assert_chain_ok(struct fx *fx, uint64_t records)
{
	struct audit_verify_result res;

	assert_int_equal(audit_verify(fx->db, fx->key, &res), AUDIT_OK);
	if (res.status != AUDIT_VERIFY_OK)
		fail_msg("audit chain: %s", res.message);
	assert_int_equal(res.records, records);
}

static void
test_reserve_commit_get(void **state)
{
	struct fx *fx = *state;
	struct test_cert c;
	struct ledger_cert row;
	struct ledger_counts n;
	struct audit_record rec;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 3600, &c);
	assert_int_equal(ledger_reserve(fx->l, &c.in), LEDGER_OK);
	assert_int_equal(ledger_get(fx->l, "acme", &c.in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_RESERVED);
	assert_null(row.der);
	ledger_cert_clear(&row);

	certgen_audit(&c, &rec);
	assert_int_equal(ledger_commit(fx->l, &c.in.serial, c.der, c.der_len,
	    &rec), LEDGER_OK);
	assert_int_equal(ledger_get(fx->l, "acme", &c.in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_ISSUED);
	assert_int_equal(row.der_len, c.der_len);
	assert_memory_equal(row.der, c.der, c.der_len);
	assert_memory_equal(row.tbs_hash, c.in.tbs_hash, LEDGER_HASH_LEN);
	assert_string_equal(row.subject, "a.example");
	assert_string_equal(row.sans, "a.example,www.a.example");
	assert_string_equal(row.issuer, "ica-1");
	assert_string_equal(row.profile, "service");
	assert_string_equal(row.requester, "CN=enroller");
	assert_string_equal(row.authorized_by, "");	/* none given */
	assert_int_equal(row.not_after, T0 + 3600);
	assert_int_equal(row.reason, -1);
	assert_true(row.created > T0);
	ledger_cert_clear(&row);

	/* Committing twice is refused; the row is unchanged. */
	assert_int_equal(ledger_commit(fx->l, &c.in.serial, c.der, c.der_len,
	    &rec), LEDGER_ERR_STATE);
	assert_int_equal(ledger_get_any(fx->l, &c.in.serial, &row), LEDGER_OK);
	assert_string_equal(row.tenant, "acme");
	ledger_cert_clear(&row);
	assert_int_equal(ledger_count(fx->l, "acme", &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], 1);
	assert_int_equal(n.n[LEDGER_RESERVED], 0);
	assert_chain_ok(fx, 1);
	certgen_free(&c);
}

static void
test_duplicate_serial(void **state)
{
	struct fx *fx = *state;
	struct test_cert a, b;
	struct ledger_counts n;

	certgen(fx->key, 7, "acme", "a.example", T0, T0 + 60, &a);
	certgen(fx->key, 7, "globex", "b.example", T0, T0 + 60, &b);
	assert_int_equal(certgen_issue(fx->l, &a), LEDGER_OK);
	assert_int_equal(ledger_reserve(fx->l, &a.in), LEDGER_ERR_DUPLICATE);
	/* The serial is unique across tenants too. */
	assert_int_equal(ledger_reserve(fx->l, &b.in), LEDGER_ERR_DUPLICATE);
	assert_int_equal(ledger_count(fx->l, NULL, &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], 1);
	assert_int_equal(n.n[LEDGER_RESERVED], 0);
	certgen_free(&a);
	certgen_free(&b);
}

/*
 * Counts per status, of one tenant and of all: the SQLite backend groups
 * by (tenant, status), the index's order, and sums per status (issue 14:
 * GROUP BY status alone sorted every row in a temporary B-tree).
 */
static void
test_count_tenants(void **state)
{
	struct fx *fx = *state;
	struct test_cert c[4];
	struct ledger_counts n;
	struct audit_record rec;
	int i;

	for (i = 0; i < 4; i++)
		certgen(fx->key, 30 + i, i < 2 ? "acme" : "globex",
		    "n.example", T0, T0 + 86400, &c[i]);
	for (i = 0; i < 3; i++)
		assert_int_equal(certgen_issue(fx->l, &c[i]), LEDGER_OK);
	assert_int_equal(ledger_reserve(fx->l, &c[3].in), LEDGER_OK);
	certgen_audit(&c[0], &rec);
	rec.action = AUDIT_REVOKE;
	assert_int_equal(ledger_revoke(fx->l, "acme", &c[0].in.serial, 1,
	    T0 + 100, &rec), LEDGER_OK);

	assert_int_equal(ledger_count(fx->l, NULL, &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], 2);
	assert_int_equal(n.n[LEDGER_REVOKED], 1);
	assert_int_equal(n.n[LEDGER_RESERVED], 1);
	assert_int_equal(ledger_count(fx->l, "acme", &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], 1);
	assert_int_equal(n.n[LEDGER_REVOKED], 1);
	assert_int_equal(n.n[LEDGER_RESERVED], 0);
	assert_int_equal(ledger_count(fx->l, "globex", &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], 1);
	assert_int_equal(n.n[LEDGER_REVOKED], 0);
	assert_int_equal(n.n[LEDGER_RESERVED], 1);
	assert_int_equal(ledger_count(fx->l, "initech", &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], 0);
	for (i = 0; i < 4; i++)
		certgen_free(&c[i]);
}

/*
 * der's TBSCertificate wrapped in a SEQUENCE of its own, with no
 * signature: the reserved TBS, but not a certificate.  Into out (its
 * length returned).
 */
static size_t
tbs_only(const uint8_t *der, size_t len, uint8_t *out, size_t size)
{
	const unsigned char *p = der, *tbs, *q;
	long olen;
	int tag, cls;
	size_t n, h = 0;

	assert_int_equal(ASN1_get_object(&p, &olen, &tag, &cls, (long)len) &
	    0x80, 0);
	tbs = q = p;
	assert_int_equal(ASN1_get_object(&q, &olen, &tag, &cls,
	    (long)(der + len - p)) & 0x80, 0);
	n = (size_t)(q - tbs) + (size_t)olen;
	assert_true(n + 4 <= size);
	out[h++] = 0x30;
	if (n >= 0x100) {
		out[h++] = 0x82;
		out[h++] = (uint8_t)(n >> 8);
	} else if (n >= 0x80)
		out[h++] = 0x81;
	out[h++] = (uint8_t)n;
	memcpy(out + h, tbs, n);
	return h + n;
}

static void
test_commit_checks_tbs(void **state)
{
	struct fx *fx = *state;
	struct test_cert a, other;
	struct audit_record rec;
	struct ledger_cert row;
	uint8_t junk[3] = { 0x30, 0x01, 0x00 };
	uint8_t buf[4096];
	size_t n;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 60, &a);
	certgen(fx->key, 2, "acme", "a.example", T0, T0 + 60, &other);
	assert_int_equal(ledger_reserve(fx->l, &a.in), LEDGER_OK);
	certgen_audit(&a, &rec);
	assert_int_equal(ledger_commit(fx->l, &a.in.serial, other.der,
	    other.der_len, &rec), LEDGER_ERR_MISMATCH);
	assert_int_equal(ledger_commit(fx->l, &a.in.serial, junk,
	    sizeof(junk), &rec), LEDGER_ERR_ARG);
	/*
	 * The reserved TBS in something that is not exactly a certificate:
	 * refused before any hash is compared (issue 17: no X509 decode).
	 */
	assert_true(a.der_len + 1 <= sizeof(buf));
	memcpy(buf, a.der, a.der_len);
	buf[a.der_len] = 0;
	assert_int_equal(ledger_commit(fx->l, &a.in.serial, buf,
	    a.der_len + 1, &rec), LEDGER_ERR_ARG);
	assert_int_equal(ledger_commit(fx->l, &a.in.serial, buf,
	    a.der_len - 1, &rec), LEDGER_ERR_ARG);
	n = tbs_only(a.der, a.der_len, buf, sizeof(buf));
	assert_int_equal(ledger_commit(fx->l, &a.in.serial, buf, n, &rec),
	    LEDGER_ERR_ARG);
	assert_int_equal(ledger_commit(fx->l, &a.in.serial, a.der, a.der_len,
	    NULL), LEDGER_ERR_ARG);
	assert_int_equal(ledger_commit(fx->l, &other.in.serial, other.der,
	    other.der_len, &rec), LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_get(fx->l, "acme", &a.in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_RESERVED);
	ledger_cert_clear(&row);
	assert_chain_ok(fx, 0);	/* failed commits left no audit record */
	certgen_free(&a);
	certgen_free(&other);
}

static void
test_tenant_isolation(void **state)
{
	struct fx *fx = *state;
	struct test_cert a;
	struct audit_record rec;
	struct ledger_cert row, *v = NULL;
	struct ledger_filter f = { .tenant = "globex", .status = -1 };
	size_t n = 1;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 60, &a);
	assert_int_equal(certgen_issue(fx->l, &a), LEDGER_OK);
	assert_int_equal(ledger_get(fx->l, "globex", &a.in.serial, &row),
	    LEDGER_ERR_NOTFOUND);
	certgen_audit(&a, &rec);
	rec.action = AUDIT_REVOKE;
	assert_int_equal(ledger_revoke(fx->l, "globex", &a.in.serial, 1, 0,
	    &rec), LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(ledger_get(fx->l, "acme", &a.in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_ISSUED);
	ledger_cert_clear(&row);
	certgen_free(&a);
}

static int
collect_revoked(const struct ledger_revoked *r, void *arg)
{
	struct ledger_revoked *out = arg;
	size_t i;

	for (i = 0; out[i].serial.len != 0; i++)
		;
	out[i] = *r;
	return 0;
}

static void
test_revoke_and_crl_list(void **state)
{
	struct fx *fx = *state;
	struct test_cert c[3];
	struct audit_record rec;
	struct ledger_cert row;
	struct ledger_revoked seen[4];
	int i;

	/* c[2] expired long ago: revoked but off the CRL. */
	for (i = 0; i < 3; i++) {
		certgen(fx->key, 10 + i, "acme", "r.example", T0,
		    i == 2 ? T0 + 10 : T0 + 86400 * 365 * 50, &c[i]);
		assert_int_equal(certgen_issue(fx->l, &c[i]), LEDGER_OK);
	}
	certgen_audit(&c[0], &rec);
	rec.action = AUDIT_REVOKE;
	assert_int_equal(ledger_revoke(fx->l, "acme", &c[0].in.serial, 1,
	    T0 + 100, &rec), LEDGER_OK);
	assert_int_equal(ledger_revoke(fx->l, "acme", &c[2].in.serial, 4,
	    T0 + 5, &rec), LEDGER_OK);
	assert_int_equal(ledger_revoke(fx->l, "acme", &c[0].in.serial, 1, 0,
	    &rec), LEDGER_ERR_STATE);
	/* RFC 5280 5.3.1: reason 7 is unused, 11 does not exist. */
	assert_int_equal(ledger_revoke(fx->l, "acme", &c[1].in.serial, 7, 0,
	    &rec), LEDGER_ERR_ARG);
	assert_int_equal(ledger_revoke(fx->l, "acme", &c[1].in.serial, 11, 0,
	    &rec), LEDGER_ERR_ARG);

	assert_int_equal(ledger_get(fx->l, "acme", &c[0].in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_REVOKED);
	assert_int_equal(row.revoked_at, T0 + 100);
	assert_int_equal(row.reason, 1);
	assert_memory_equal(row.der, c[0].der, c[0].der_len); /* kept */
	ledger_cert_clear(&row);

	memset(seen, 0, sizeof(seen));
	assert_int_equal(ledger_list_revoked(fx->l, "ica-1", 0,
	    collect_revoked, seen), LEDGER_OK);
	assert_int_equal(seen[0].serial.len, c[0].in.serial.len);
	assert_memory_equal(seen[0].serial.b, c[0].in.serial.b, 9);
	assert_int_equal(seen[0].reason, 1);
	assert_int_equal(seen[0].revoked_at, T0 + 100);
	assert_int_equal(seen[1].serial.len, 0);
	/* At a time before c[2] expired, it is listed too. */
	memset(seen, 0, sizeof(seen));
	assert_int_equal(ledger_list_revoked(fx->l, "ica-1", T0 + 1,
	    collect_revoked, seen), LEDGER_OK);
	assert_memory_equal(seen[0].serial.b, c[2].in.serial.b, 9);
	assert_int_equal(seen[0].reason, 4);
	assert_memory_equal(seen[1].serial.b, c[0].in.serial.b, 9);
	memset(seen, 0, sizeof(seen));
	assert_int_equal(ledger_list_revoked(fx->l, "ica-2", 0,
	    collect_revoked, seen), LEDGER_OK);
	assert_int_equal(seen[0].serial.len, 0);
	assert_chain_ok(fx, 5);
	for (i = 0; i < 3; i++)
		certgen_free(&c[i]);
}

static void
test_list_filters(void **state)
{
	struct fx *fx = *state;
	struct test_cert c[6];
	struct audit_record rec;
	struct ledger_cert *v = NULL;
	struct ledger_filter f;
	size_t n;
	int i;
	static const char *const cn[6] = { "db1.acme.example",
	    "db2.acme.example", "web.acme.example", "mail.acme.example",
	    "db3.acme.example", "other.example" };

	for (i = 0; i < 6; i++) {
		/* c[i] expires i hours after T0. */
		certgen(fx->key, 100 + i, i == 5 ? "globex" : "acme", cn[i],
		    T0, T0 + 3600 * (i + 1), &c[i]);
		assert_int_equal(certgen_issue(fx->l, &c[i]), LEDGER_OK);
	}
	certgen_audit(&c[1], &rec);
	assert_int_equal(ledger_revoke(fx->l, "acme", &c[1].in.serial, 0, 0,
	    &rec), LEDGER_OK);

	memset(&f, 0, sizeof(f));
	f.tenant = "acme";
	f.status = -1;
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 5);
	assert_string_equal(v[0].subject, "db1.acme.example");
	assert_string_equal(v[4].subject, "db3.acme.example");
	ledger_certs_free(v, n);

	f.match = "www.db";	/* a SAN substring */
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 3);
	ledger_certs_free(v, n);

	f.status = LEDGER_ISSUED;
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].subject, "db1.acme.example");
	assert_string_equal(v[1].subject, "db3.acme.example");
	ledger_certs_free(v, n);

	/* Issued, expiring within 3.5 hours of T0 + 1h (c[1] is revoked). */
	f.match = NULL;
	f.now = T0 + 3600;
	f.expiring_within = 12600;
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].subject, "web.acme.example");
	assert_string_equal(v[1].subject, "mail.acme.example");
	ledger_certs_free(v, n);

	/* Pages. */
	memset(&f, 0, sizeof(f));
	f.tenant = "acme";
	f.status = -1;
	f.limit = 2;
	f.offset = 3;
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].subject, "mail.acme.example");
	ledger_certs_free(v, n);
	f.limit = LEDGER_LIST_MAX + 1;
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_ERR_ARG);
	for (i = 0; i < 6; i++)
		certgen_free(&c[i]);
}

/* A profile that keeps no copies still gets its row and audit record. */
static void
test_store_der_off(void **state)
{
	struct fx *fx = *state;
	struct test_cert c;
	struct ledger_cert row;

	certgen(fx->key, 1, "acme", "iot-1.example", T0, T0 + 60, &c);
	c.in.store_der = 0;
	assert_int_equal(certgen_issue(fx->l, &c), LEDGER_OK);
	assert_int_equal(ledger_get(fx->l, "acme", &c.in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_ISSUED);
	assert_int_equal(row.der_stored, 0);
	assert_null(row.der);
	assert_string_equal(row.subject, "iot-1.example");
	ledger_cert_clear(&row);
	assert_int_equal(tu_sql_int(fx->db, "SELECT count(*) FROM audit_log"
	    " WHERE action = 'issue' AND detail LIKE 'iot-1.example%'"), 1);
	certgen_free(&c);
}

static void
test_counters(void **state)
{
	struct fx *fx = *state;
	uint64_t v, last = 0;
	int i;

	for (i = 0; i < 5; i++) {
		assert_int_equal(ledger_next_counter(fx->l, "crl:ica-1", &v),
		    LEDGER_OK);
		assert_true(v > last);
		last = v;
	}
	assert_int_equal(last, 5);
	assert_int_equal(ledger_next_counter(fx->l, "crl:ica-2", &v),
	    LEDGER_OK);
	assert_int_equal(v, 1);
	for (i = 0; i < 3; i++) {
		reopen(fx);
		assert_int_equal(ledger_next_counter(fx->l, "crl:ica-1", &v),
		    LEDGER_OK);
		assert_int_equal(v, last + 1);
		last = v;
	}
}

struct decide {
	struct ledger_serial	abandon;
	struct ledger_serial	revoke;
	int			calls;
};

static enum ledger_decision
decide(const struct ledger_cert *row, int *reason, void *arg)
{
	struct decide *d = arg;

	d->calls++;
	if (row->serial.len == d->abandon.len &&
	    memcmp(row->serial.b, d->abandon.b, d->abandon.len) == 0)
		return LEDGER_ABANDON;
	if (row->serial.len == d->revoke.len &&
	    memcmp(row->serial.b, d->revoke.b, d->revoke.len) == 0) {
		*reason = 5;	/* cessationOfOperation */
		return LEDGER_REVOKE;
	}
	return LEDGER_KEEP;
}

static void
test_reconcile_after_crash(void **state)
{
	struct fx *fx = *state;
	struct test_cert c[4];
	struct ledger_reconcile_report rep;
	struct ledger_cert row;
	struct decide d;
	int i;

	for (i = 0; i < 4; i++)
		certgen(fx->key, 40 + i, "acme", "c.example", T0, T0 + 60,
		    &c[i]);
	assert_int_equal(certgen_issue(fx->l, &c[0]), LEDGER_OK);
	/* The crash: reserved, never committed. */
	for (i = 1; i < 4; i++)
		assert_int_equal(ledger_reserve(fx->l, &c[i].in), LEDGER_OK);
	reopen(fx);

	memset(&d, 0, sizeof(d));
	d.abandon = c[1].in.serial;
	d.revoke = c[2].in.serial;
	assert_int_equal(ledger_reconcile(fx->l, decide, &d, "signetd",
	    &rep), LEDGER_OK);
	assert_int_equal(d.calls, 3);
	assert_int_equal(rep.found, 3);
	assert_int_equal(rep.abandoned, 1);
	assert_int_equal(rep.revoked, 1);
	assert_int_equal(rep.kept, 1);
	assert_int_equal(ledger_get(fx->l, "acme", &c[1].in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_ABANDONED);
	ledger_cert_clear(&row);
	assert_int_equal(ledger_get(fx->l, "acme", &c[2].in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_REVOKED);
	assert_int_equal(row.reason, 5);
	assert_null(row.der);
	ledger_cert_clear(&row);

	/* Only the kept row is left; the log says what start-up did. */
	assert_int_equal(ledger_reconcile(fx->l, NULL, NULL, NULL, &rep),
	    LEDGER_OK);
	assert_int_equal(rep.found, 1);
	assert_int_equal(rep.kept, 1);
	assert_int_equal(tu_sql_int(fx->db, "SELECT count(*) FROM audit_log"
	    " WHERE detail LIKE 'reconcile:%' AND actor = 'signetd'"), 2);
	assert_chain_ok(fx, 3);
	for (i = 0; i < 4; i++)
		certgen_free(&c[i]);
}

static void
test_audit_only_and_checkpoints(void **state)
{
	struct fx *fx = *state;
	struct audit_record rec;
	struct audit_verify_result res;
	uint64_t seq;
	int i;

	memset(&rec, 0, sizeof(rec));
	rec.actor = "CN=mallory";
	rec.action = AUDIT_AUTH_FAIL;
	rec.result = "denied";
	for (i = 1; i <= 9; i++) {
		assert_int_equal(ledger_audit(fx->l, &rec, &seq), LEDGER_OK);
		assert_int_equal(seq, i);
	}
	assert_int_equal(ledger_audit_checkpoint(fx->l), LEDGER_OK);
	assert_int_equal(audit_verify(fx->db, fx->key, &res), AUDIT_OK);
	assert_int_equal(res.status, AUDIT_VERIFY_OK);
	assert_int_equal(res.records, 9);
	assert_int_equal(res.checkpoints, 3);	/* at 4, 8 and 9 */
	assert_int_equal(res.last_checkpoint, 9);
}

static int
is_storage_error(int rc)
{
	return rc == LEDGER_ERR_FULL || rc == LEDGER_ERR_IO;
}

/*
 * DESIGN.md rule 4: when the disk fails, every write fails with a storage
 * error, nothing is half-written, and everything works once space is
 * back, on the same open ledger.
 */
static void
test_fail_closed(void **state)
{
	struct fx *fx = *state;
	struct test_cert c[3];
	struct audit_record rec;
	struct ledger_cert row;
	struct ledger *l = NULL;
	char path[400];
	uint64_t v;
	int i;

	snprintf(path, sizeof(path), "%s/ledger.db/sub.db", fx->dir);
	assert_int_equal(ledger_open("sqlite", path, &l), LEDGER_ERR_IO);
	assert_null(l);
	assert_int_equal(ledger_open("nosuch", fx->db, &l),
	    LEDGER_ERR_BACKEND);
	for (i = 0; i < 3; i++)
		certgen(fx->key, 70 + i, "acme", "f.example", T0, T0 + 60,
		    &c[i]);
	assert_int_equal(certgen_issue(fx->l, &c[0]), LEDGER_OK);
	assert_int_equal(ledger_reserve(fx->l, &c[2].in), LEDGER_OK);

	faultvfs_fail(1);
	assert_true(is_storage_error(ledger_reserve(fx->l, &c[1].in)));
	certgen_audit(&c[2], &rec);
	assert_true(is_storage_error(ledger_commit(fx->l, &c[2].in.serial,
	    c[2].der, c[2].der_len, &rec)));
	assert_true(is_storage_error(ledger_audit(fx->l, &rec, NULL)));
	assert_true(is_storage_error(ledger_next_counter(fx->l, "crl:x",
	    &v)));
	faultvfs_fail(0);

	assert_int_equal(ledger_get(fx->l, "acme", &c[1].in.serial, &row),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_get(fx->l, "acme", &c[2].in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_RESERVED);
	ledger_cert_clear(&row);
	assert_chain_ok(fx, 1);

	assert_int_equal(certgen_issue(fx->l, &c[1]), LEDGER_OK);
	assert_int_equal(ledger_commit(fx->l, &c[2].in.serial, c[2].der,
	    c[2].der_len, &rec), LEDGER_OK);
	assert_int_equal(ledger_next_counter(fx->l, "crl:x", &v), LEDGER_OK);
	assert_int_equal(v, 1);
	reopen(fx);
	assert_chain_ok(fx, 3);
	for (i = 0; i < 3; i++)
		certgen_free(&c[i]);
}

static void
test_schema_versioning(void **state)
{
	struct fx *fx = *state;
	struct ledger *l = NULL;

	ledger_close(fx->l);
	fx->l = NULL;
	assert_int_equal(tu_sql_int(fx->db, "PRAGMA user_version"), 8);
	/* A database from a newer release is refused, not mangled. */
	assert_int_equal(tu_sql(fx->db, "PRAGMA user_version = 99"), 0);
	assert_int_equal(ledger_open("sqlite", fx->db, &l), LEDGER_ERR_SCHEMA);
	assert_int_equal(tu_sql(fx->db, "PRAGMA user_version = 7"), 0);
	reopen(fx);
}

/* Rows record, show and filter on the credential behind them (issue 13). */
static void
test_authorized_by(void **state)
{
	struct fx *fx = *state;
	static const char *const by[3] = { "token:tk-1", "renewal:0100",
	    "token:tk-1" };
	char longer[LEDGER_AUTH_MAX + 2];
	struct test_cert c[4];
	struct ledger_cert row, *v = NULL;
	struct ledger_filter f;
	size_t n;
	int i;

	for (i = 0; i < 4; i++) {
		certgen(fx->key, 10 + i, "acme", "a.example", T0, T0 + 3600,
		    &c[i]);
		c[i].in.authorized_by = i < 3 ? by[i] : NULL;
		assert_int_equal(certgen_issue(fx->l, &c[i]), LEDGER_OK);
	}
	assert_int_equal(ledger_get(fx->l, "acme", &c[1].in.serial, &row),
	    LEDGER_OK);
	assert_string_equal(row.authorized_by, "renewal:0100");
	ledger_cert_clear(&row);
	memset(&f, 0, sizeof(f));
	f.tenant = "acme";
	f.status = -1;
	f.authorized_by = "token:tk-1";
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(v[0].serial.b, c[0].in.serial.b, 9);
	assert_memory_equal(v[1].serial.b, c[2].in.serial.b, 9);
	assert_string_equal(v[1].authorized_by, "token:tk-1");
	ledger_certs_free(v, n);
	/* Exact match, not a substring; another tenant's rows never show. */
	f.authorized_by = "token:tk";
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 0);
	f.tenant = "globex";
	f.authorized_by = "token:tk-1";
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 0);
	/* "" is no filter. */
	f.tenant = "acme";
	f.authorized_by = "";
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 4);
	ledger_certs_free(v, n);
	/* Longer than LEDGER_AUTH_MAX: refused, in a filter and a row. */
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	f.authorized_by = longer;
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_ERR_ARG);
	c[3].in.serial.b[8] ^= 0xff;
	c[3].in.authorized_by = longer;
	assert_int_equal(ledger_reserve(fx->l, &c[3].in), LEDGER_ERR_ARG);
	for (i = 0; i < 4; i++)
		certgen_free(&c[i]);
}

/*
 * A ledger file of schema 2 (before authorized_by) is migrated on open:
 * its rows, their status and DER and the audit chain are kept, old rows
 * read as not recorded (""), and new rows record their credential.  The
 * old file is made from a current one by dropping what schema 3 added,
 * which leaves exactly the schema 2 table in sqlite_master.
 */
static void
test_migrate_from_v2(void **state)
{
	struct fx *fx = *state;
	struct test_cert c[3];
	struct ledger_cert row, *v = NULL;
	struct ledger_filter f;
	struct audit_record rec;
	size_t n;
	int i;

	for (i = 0; i < 2; i++) {
		certgen(fx->key, 20 + i, "acme", i ? "b.example" : "a.example",
		    T0, T0 + 3600, &c[i]);
		assert_int_equal(certgen_issue(fx->l, &c[i]), LEDGER_OK);
	}
	certgen_audit(&c[1], &rec);
	assert_int_equal(ledger_revoke(fx->l, "acme", &c[1].in.serial, 1, 0,
	    &rec), LEDGER_OK);
	ledger_close(fx->l);
	fx->l = NULL;
	assert_int_equal(tu_sql(fx->db, "DROP INDEX certs_authorized_by;"
	    "ALTER TABLE certs DROP COLUMN authorized_by;"
	    "PRAGMA user_version = 2"), 0);
	assert_int_equal(tu_sql_int(fx->db, "SELECT count(*) FROM"
	    " pragma_table_info('certs') WHERE name = 'authorized_by'"), 0);
	assert_int_equal(tu_sql_int(fx->db, "SELECT count(*) FROM certs"), 2);

	reopen(fx);
	assert_int_equal(tu_sql_int(fx->db, "PRAGMA user_version"), 8);
	assert_int_equal(ledger_get(fx->l, "acme", &c[0].in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_ISSUED);
	assert_string_equal(row.subject, "a.example");
	assert_string_equal(row.authorized_by, "");
	assert_int_equal(row.der_len, c[0].der_len);
	assert_memory_equal(row.der, c[0].der, c[0].der_len);
	ledger_cert_clear(&row);
	assert_int_equal(ledger_get(fx->l, "acme", &c[1].in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_REVOKED);
	assert_int_equal(row.reason, 1);
	ledger_cert_clear(&row);

	certgen(fx->key, 22, "acme", "c.example", T0, T0 + 3600, &c[2]);
	c[2].in.authorized_by = "renewal:010000000000000014";
	assert_int_equal(certgen_issue(fx->l, &c[2]), LEDGER_OK);
	memset(&f, 0, sizeof(f));
	f.tenant = "acme";
	f.status = -1;
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 3);
	ledger_certs_free(v, n);
	f.authorized_by = "renewal:010000000000000014";
	assert_int_equal(ledger_list(fx->l, &f, &v, &n), LEDGER_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].subject, "c.example");
	ledger_certs_free(v, n);
	/* Two issues and a revocation before, one issue after. */
	assert_chain_ok(fx, 4);
	for (i = 0; i < 3; i++)
		certgen_free(&c[i]);
}

static void
tidy_token(struct fx *fx, const char *id, uint8_t seed, const char *tenant,
    int64_t expires)
{
	struct ledger_token t;
	struct audit_record rec;

	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", id);
	memset(t.hash, seed, sizeof(t.hash));
	snprintf(t.tenant, sizeof(t.tenant), "%s", tenant);
	snprintf(t.profile, sizeof(t.profile), "device");
	t.created = T0;
	t.expires = expires;
	t.uses_left = 1;
	memset(&rec, 0, sizeof(rec));
	rec.actor = "op";
	rec.tenant = tenant;
	rec.action = AUDIT_CONFIG;
	rec.result = "ok";
	assert_int_equal(ledger_token_create(fx->l, &t, &rec), LEDGER_OK);
}

/*
 * Issue 19: tidy removes a tenant's expired certificates (issued and
 * revoked) and expired tokens in batches of at most limit, never a
 * RESERVED row nor another tenant's, and leaves the audit chain whole.
 */
static void
test_tidy(void **state)
{
	struct fx *fx = *state;
	struct test_cert c[9];
	struct audit_record rec;
	struct ledger_counts n;
	struct ledger_token tok;
	uint8_t h[LEDGER_HASH_LEN];
	uint64_t nc, nt, total = 0;
	int i;

	for (i = 0; i < 5; i++) {
		certgen(fx->key, 100 + i, "acme", "old.example", T0, T0 + 10,
		    &c[i]);
		assert_int_equal(certgen_issue(fx->l, &c[i]), LEDGER_OK);
	}
	certgen_audit(&c[0], &rec);
	rec.action = AUDIT_REVOKE;
	assert_int_equal(ledger_revoke(fx->l, "acme", &c[1].in.serial, 1,
	    T0 + 5, &rec), LEDGER_OK);
	certgen(fx->key, 200, "acme", "new.example", T0, T0 + 86400, &c[5]);
	certgen(fx->key, 201, "other", "old.example", T0, T0 + 10, &c[6]);
	certgen(fx->key, 202, "acme", "left.example", T0, T0 + 10, &c[7]);
	certgen(fx->key, 203, "acme", "edge.example", T0, T0 + 100, &c[8]);
	assert_int_equal(certgen_issue(fx->l, &c[5]), LEDGER_OK);
	assert_int_equal(certgen_issue(fx->l, &c[6]), LEDGER_OK);
	assert_int_equal(certgen_issue(fx->l, &c[8]), LEDGER_OK);
	/* Left RESERVED (a crash mid-issuance): reconciliation's, not ours. */
	assert_int_equal(ledger_reserve(fx->l, &c[7].in), LEDGER_OK);
	tidy_token(fx, "t-old", 1, "acme", T0 + 20);
	tidy_token(fx, "t-new", 2, "acme", T0 + 86400);
	tidy_token(fx, "t-other", 3, "other", T0 + 20);

	assert_int_equal(ledger_tidy(fx->l, "acme", T0 + 100, 0, &nc, &nt),
	    LEDGER_ERR_ARG);
	assert_int_equal(ledger_tidy(fx->l, "acme", T0 + 100,
	    LEDGER_TIDY_MAX + 1, &nc, &nt), LEDGER_ERR_ARG);
	/* Nothing expired at or before T0 + 9. */
	assert_int_equal(ledger_tidy(fx->l, "acme", T0 + 9, 2, &nc, &nt),
	    LEDGER_OK);
	assert_int_equal(nc + nt, 0);
	/* Batches of 2: 2 + 2 + 2 (the edge row expires at the cutoff). */
	assert_int_equal(ledger_tidy(fx->l, "acme", T0 + 100, 2, &nc, &nt),
	    LEDGER_OK);
	assert_int_equal(nc, 2);
	assert_int_equal(nt, 1);
	total += nc;
	do {
		assert_int_equal(ledger_tidy(fx->l, "acme", T0 + 100, 2, &nc,
		    &nt), LEDGER_OK);
		assert_int_equal(nt, 0);
		total += nc;
	} while (nc == 2);
	assert_int_equal(total, 6);
	assert_int_equal(ledger_count(fx->l, "acme", &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], 1);
	assert_int_equal(n.n[LEDGER_REVOKED], 0);
	assert_int_equal(n.n[LEDGER_RESERVED], 1);
	assert_int_equal(ledger_count(fx->l, "other", &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], 1);
	memset(h, 1, sizeof(h));
	assert_int_equal(ledger_token_get(fx->l, h, &tok), LEDGER_ERR_NOTFOUND);
	memset(h, 2, sizeof(h));
	assert_int_equal(ledger_token_get(fx->l, h, &tok), LEDGER_OK);
	memset(h, 3, sizeof(h));
	assert_int_equal(ledger_token_get(fx->l, h, &tok), LEDGER_OK);
	/* 8 issuances, 1 revocation, 3 tokens; tidy wrote no record. */
	assert_chain_ok(fx, 12);
	for (i = 0; i < 9; i++)
		certgen_free(&c[i]);
}

static void
test_serial_hex(void **state)
{
	struct ledger_serial s;
	char buf[41];

	assert_int_equal(ledger_serial_from_hex("01aB", &s), 0);
	assert_int_equal(s.len, 2);
	assert_int_equal(ledger_serial_hex(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "01ab");
	assert_int_equal(ledger_serial_hex(&s, buf, 4), -1);
	assert_int_equal(ledger_serial_from_hex("abc", &s), -1);
	assert_int_equal(ledger_serial_from_hex("zz", &s), -1);
	assert_int_equal(ledger_serial_from_hex(
	    "000102030405060708090a0b0c0d0e0f1011121314", &s), -1);
	assert_string_equal(ledger_strerror(LEDGER_ERR_DUPLICATE),
	    "serial number already in the ledger");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reserve_commit_get),
		T(test_duplicate_serial),
		T(test_count_tenants),
		T(test_commit_checks_tbs),
		T(test_tenant_isolation),
		T(test_revoke_and_crl_list),
		T(test_list_filters),
		T(test_store_der_off),
		T(test_counters),
		T(test_reconcile_after_crash),
		T(test_audit_only_and_checkpoints),
		T(test_fail_closed),
		T(test_schema_versioning),
		T(test_authorized_by),
		T(test_migrate_from_v2),
		T(test_tidy),
		cmocka_unit_test(test_serial_hex),
	};

	if (faultvfs_install() != 0)
		return 2;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
