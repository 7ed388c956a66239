/*
 * The PostgreSQL ledger through the public API, as one node and as two
 * nodes ("a1", "b2": two handles on one database, as two appliances
 * would be): issuance, lookups, duplicates across nodes, tenants,
 * revocations seen by the other node, counters across nodes and
 * restarts, reconciliation of this node's rows only, tokens, audit
 * chains per node with tamper detection, migrations and bad targets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

#include <signet/audit.h>
#include <signet/audit_pgsql.h>
#include <signet/ledger.h>

#include "certgen.h"
#include "ledgerfx.h"
#include "pgfx.h"

#define T0 1700000000LL

static void
test_reserve_commit_get(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *l = pgfx_open(fx, "a1", 0);
	struct test_cert c, other;
	struct ledger_cert row, *rows = NULL;
	struct ledger_counts n;
	struct ledger_filter f;
	struct audit_record rec;
	size_t nrows;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 3600, &c);
	certgen(fx->key, 2, "acme", "a.example", T0, T0 + 3600, &other);
	c.in.authorized_by = "token:tk-1";
	assert_int_equal(ledger_reserve(l, &c.in), LEDGER_OK);
	assert_int_equal(ledger_get(l, "acme", &c.in.serial, &row), LEDGER_OK);
	assert_int_equal(row.status, LEDGER_RESERVED);
	assert_null(row.der);
	assert_int_equal(row.reason, -1);
	ledger_cert_clear(&row);

	certgen_audit(&c, &rec);
	/* A certificate whose TBS is not the reserved one is refused. */
	assert_int_equal(ledger_commit(l, &c.in.serial, other.der,
	    other.der_len, &rec), LEDGER_ERR_MISMATCH);
	assert_int_equal(ledger_commit(l, &other.in.serial, other.der,
	    other.der_len, &rec), LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_commit(l, &c.in.serial, c.der, c.der_len,
	    &rec), LEDGER_OK);
	assert_int_equal(ledger_get(l, "acme", &c.in.serial, &row), LEDGER_OK);
	assert_int_equal(row.status, LEDGER_ISSUED);
	assert_int_equal(row.der_len, c.der_len);
	assert_memory_equal(row.der, c.der, c.der_len);
	assert_memory_equal(row.tbs_hash, c.in.tbs_hash, LEDGER_HASH_LEN);
	assert_memory_equal(row.serial.b, c.in.serial.b, c.in.serial.len);
	assert_string_equal(row.subject, "a.example");
	assert_string_equal(row.sans, "a.example,www.a.example");
	assert_string_equal(row.issuer, "ica-1");
	assert_string_equal(row.requester, "CN=enroller");
	assert_string_equal(row.authorized_by, "token:tk-1");
	assert_int_equal(row.not_after, T0 + 3600);
	assert_true(row.der_stored);
	ledger_cert_clear(&row);
	assert_int_equal(ledger_commit(l, &c.in.serial, c.der, c.der_len,
	    &rec), LEDGER_ERR_STATE);

	memset(&f, 0, sizeof(f));
	f.tenant = "acme";
	f.status = -1;
	f.match = "www.a.exa";
	assert_int_equal(ledger_list(l, &f, &rows, &nrows), LEDGER_OK);
	assert_int_equal(nrows, 1);
	assert_string_equal(rows[0].subject, "a.example");
	ledger_certs_free(rows, nrows);
	f.match = "nothing";
	assert_int_equal(ledger_list(l, &f, &rows, &nrows), LEDGER_OK);
	assert_int_equal(nrows, 0);
	assert_null(rows);

	assert_int_equal(ledger_count(l, "acme", &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], 1);
	assert_int_equal(n.n[LEDGER_RESERVED], 0);
	ledger_close(l);
	pgfx_chain_ok(fx, "a1", 1);	/* failed commits left no record */
	certgen_free(&c);
	certgen_free(&other);
}

static void
test_duplicate_across_nodes(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct test_cert x, y;
	struct ledger_counts n;

	certgen(fx->key, 7, "acme", "a.example", T0, T0 + 60, &x);
	certgen(fx->key, 7, "globex", "b.example", T0, T0 + 60, &y);
	assert_int_equal(certgen_issue(a, &x), LEDGER_OK);
	/* Unique by constraint: any node, any tenant, any status. */
	assert_int_equal(ledger_reserve(b, &y.in), LEDGER_ERR_DUPLICATE);
	assert_int_equal(ledger_reserve(a, &x.in), LEDGER_ERR_DUPLICATE);
	assert_int_equal(ledger_count(b, NULL, &n), LEDGER_OK);
	assert_int_equal(n.n[LEDGER_ISSUED], 1);
	assert_int_equal(n.n[LEDGER_RESERVED], 0);
	ledger_close(a);
	ledger_close(b);
	certgen_free(&x);
	certgen_free(&y);
}

static void
test_tenant_isolation(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct test_cert x, y;
	struct ledger_cert row, *rows = NULL;
	struct ledger_filter f;
	struct audit_record rec;
	size_t n;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 60, &x);
	certgen(fx->key, 2, "globex", "g.example", T0, T0 + 60, &y);
	assert_int_equal(certgen_issue(a, &x), LEDGER_OK);
	assert_int_equal(certgen_issue(b, &y), LEDGER_OK);
	assert_int_equal(ledger_get(b, "globex", &x.in.serial, &row),
	    LEDGER_ERR_NOTFOUND);
	certgen_audit(&x, &rec);
	assert_int_equal(ledger_revoke(b, "globex", &x.in.serial, 1, 0, &rec),
	    LEDGER_ERR_NOTFOUND);
	memset(&f, 0, sizeof(f));
	f.tenant = "globex";
	f.status = -1;
	assert_int_equal(ledger_list(a, &f, &rows, &n), LEDGER_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].tenant, "globex");
	ledger_certs_free(rows, n);
	assert_int_equal(ledger_get_any(b, &x.in.serial, &row), LEDGER_OK);
	assert_string_equal(row.tenant, "acme");
	ledger_cert_clear(&row);
	ledger_close(a);
	ledger_close(b);
	certgen_free(&x);
	certgen_free(&y);
}

struct crl {
	int		n;
	uint8_t		last;
	int		reason;
};

static int
crl_cb(const struct ledger_revoked *r, void *arg)
{
	struct crl *crl = arg;

	crl->n++;
	crl->last = r->serial.b[r->serial.len - 1];
	crl->reason = r->reason;
	return 0;
}

static void
test_revocation_seen_by_every_node(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct test_cert x;
	struct ledger_cert row;
	struct audit_record rec;
	struct crl crl;
	time_t now = time(NULL);

	certgen(fx->key, 5, "acme", "a.example", now - 60, now + 3600, &x);
	assert_int_equal(certgen_issue(a, &x), LEDGER_OK);
	memset(&crl, 0, sizeof(crl));
	assert_int_equal(ledger_list_revoked(b, "ica-1", 0, crl_cb, &crl),
	    LEDGER_OK);
	assert_int_equal(crl.n, 0);
	certgen_audit(&x, &rec);
	rec.action = AUDIT_REVOKE;
	assert_int_equal(ledger_revoke(a, "acme", &x.in.serial, 4, 0, &rec),
	    LEDGER_OK);
	/* Node b's next CRL and OCSP answer see it: same tables. */
	assert_int_equal(ledger_list_revoked(b, "ica-1", 0, crl_cb, &crl),
	    LEDGER_OK);
	assert_int_equal(crl.n, 1);
	assert_int_equal(crl.last, 5);
	assert_int_equal(crl.reason, 4);
	assert_int_equal(ledger_get_any(b, &x.in.serial, &row), LEDGER_OK);
	assert_int_equal(row.status, LEDGER_REVOKED);
	assert_int_equal(row.reason, 4);
	assert_true(row.revoked_at >= now);
	ledger_cert_clear(&row);
	assert_int_equal(ledger_revoke(b, "acme", &x.in.serial, 1, 0, &rec),
	    LEDGER_ERR_STATE);
	/* Expired entries drop off the CRL. */
	memset(&crl, 0, sizeof(crl));
	assert_int_equal(ledger_list_revoked(b, "ica-1", now + 7200, crl_cb,
	    &crl), LEDGER_OK);
	assert_int_equal(crl.n, 0);
	ledger_close(a);
	ledger_close(b);
	pgfx_chain_ok(fx, "a1", 2);
	pgfx_chain_ok(fx, "b2", 0);
	certgen_free(&x);
}

static void
test_counters_across_nodes_and_restarts(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	uint64_t v, last = 0;
	int i;

	for (i = 0; i < 10; i++) {
		assert_int_equal(ledger_next_counter(i % 2 ? a : b,
		    "crl:ica-1", &v), LEDGER_OK);
		assert_int_equal(v, last + 1);
		last = v;
	}
	assert_int_equal(ledger_next_counter(a, "crl:ica-2", &v), LEDGER_OK);
	assert_int_equal(v, 1);
	ledger_close(a);
	a = pgfx_open(fx, "a1", 0);
	assert_int_equal(ledger_next_counter(a, "crl:ica-1", &v), LEDGER_OK);
	assert_int_equal(v, last + 1);
	ledger_close(a);
	ledger_close(b);
}

static enum ledger_decision
abandon_all(const struct ledger_cert *row, int *reason, void *arg)
{
	(*(int *)arg)++;
	return LEDGER_ABANDON;
}

static enum ledger_decision
revoke_all(const struct ledger_cert *row, int *reason, void *arg)
{
	*reason = 0;
	return LEDGER_REVOKE;
}

static void
test_reconcile_touches_own_rows(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct ledger_reconcile_report rep;
	struct test_cert x, y, z;
	struct ledger_cert row;
	int seen = 0;

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 60, &x);
	certgen(fx->key, 2, "acme", "b.example", T0, T0 + 60, &y);
	certgen(fx->key, 3, "acme", "c.example", T0, T0 + 60, &z);
	assert_int_equal(ledger_reserve(a, &x.in), LEDGER_OK);
	assert_int_equal(ledger_reserve(b, &y.in), LEDGER_OK);
	assert_int_equal(certgen_issue(b, &z), LEDGER_OK);

	/* a restarts: it finds its own reservation, not b's in flight. */
	ledger_close(a);
	a = pgfx_open(fx, "a1", 0);
	assert_int_equal(ledger_reconcile(a, abandon_all, &seen, NULL, &rep),
	    LEDGER_OK);
	assert_int_equal(seen, 1);
	assert_int_equal(rep.found, 1);
	assert_int_equal(rep.abandoned, 1);
	assert_int_equal(ledger_get_any(a, &x.in.serial, &row), LEDGER_OK);
	assert_int_equal(row.status, LEDGER_ABANDONED);
	ledger_cert_clear(&row);
	assert_int_equal(ledger_get_any(a, &y.in.serial, &row), LEDGER_OK);
	assert_int_equal(row.status, LEDGER_RESERVED);
	ledger_cert_clear(&row);

	assert_int_equal(ledger_reconcile(b, revoke_all, NULL, "b2", &rep),
	    LEDGER_OK);
	assert_int_equal(rep.found, 1);
	assert_int_equal(rep.revoked, 1);
	assert_int_equal(ledger_get_any(b, &y.in.serial, &row), LEDGER_OK);
	assert_int_equal(row.status, LEDGER_REVOKED);
	ledger_cert_clear(&row);
	ledger_close(a);
	ledger_close(b);
	pgfx_chain_ok(fx, "a1", 1);
	pgfx_chain_ok(fx, "b2", 2);
	certgen_free(&x);
	certgen_free(&y);
	certgen_free(&z);
}

static void
test_tokens_one_use_across_nodes(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct ledger_token t, got;
	struct audit_record rec;
	struct test_cert x, y;
	int64_t now = (int64_t)time(NULL);

	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "tok-1");
	memset(t.hash, 0xab, sizeof(t.hash));
	snprintf(t.tenant, sizeof(t.tenant), "acme");
	snprintf(t.profile, sizeof(t.profile), "service");
	t.created = now;
	t.expires = now + 600;
	t.uses_left = 1;
	memset(&rec, 0, sizeof(rec));
	rec.actor = "op";
	rec.action = AUDIT_CONFIG;
	assert_int_equal(ledger_token_create(a, &t, &rec), LEDGER_OK);
	assert_int_equal(ledger_token_create(b, &t, &rec),
	    LEDGER_ERR_DUPLICATE);
	assert_int_equal(ledger_token_get(b, t.hash, &got), LEDGER_OK);
	assert_string_equal(got.id, "tok-1");
	assert_int_equal(got.uses_left, 1);

	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 60, &x);
	certgen(fx->key, 2, "acme", "b.example", T0, T0 + 60, &y);
	assert_int_equal(ledger_reserve_token(b, &x.in, t.hash, 0), LEDGER_OK);
	assert_int_equal(ledger_reserve_token(a, &y.in, t.hash, 0),
	    LEDGER_ERR_STATE);
	memset(got.hash, 0xcd, sizeof(got.hash));
	assert_int_equal(ledger_reserve_token(a, &y.in, got.hash, 0),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_token_get(a, t.hash, &got), LEDGER_OK);
	assert_int_equal(got.uses_left, 0);
	ledger_close(a);
	ledger_close(b);
	pgfx_chain_ok(fx, "a1", 1);
	certgen_free(&x);
	certgen_free(&y);
}

/*
 * The DTLS PSK lookup ("r_token_id"): by public id, the whole row with
 * its hash in one round trip, on any node; a spent token is still
 * returned (the caller refuses it).
 */
static void
test_token_get_id(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct ledger_token t, u, got;
	struct audit_record rec;
	struct test_cert x;
	char id[LEDGER_TOKEN_ID_MAX + 2];
	int64_t now = (int64_t)time(NULL);
	size_t i;

	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "tok-a");
	for (i = 0; i < sizeof(t.hash); i++)
		t.hash[i] = (uint8_t)(i * 7 + 1);
	snprintf(t.tenant, sizeof(t.tenant), "acme");
	snprintf(t.profile, sizeof(t.profile), "service");
	snprintf(t.names, sizeof(t.names), "a.example,b.example");
	t.created = now;
	t.expires = now + 600;
	t.uses_left = 1;
	/* A neighbour with the longest id, its own fields and hash. */
	memset(id, 'z', LEDGER_TOKEN_ID_MAX);
	id[LEDGER_TOKEN_ID_MAX] = '\0';
	memset(&u, 0, sizeof(u));
	memcpy(u.id, id, sizeof(u.id));
	memset(u.hash, 0xee, sizeof(u.hash));
	snprintf(u.tenant, sizeof(u.tenant), "other");
	snprintf(u.profile, sizeof(u.profile), "web");
	u.created = now + 5;
	u.expires = now + 900;
	u.uses_left = 7;
	memset(&rec, 0, sizeof(rec));
	rec.actor = "op";
	rec.action = AUDIT_CONFIG;
	assert_int_equal(ledger_token_create(a, &t, &rec), LEDGER_OK);
	assert_int_equal(ledger_token_create(a, &u, &rec), LEDGER_OK);

	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(ledger_token_get_id(b, "tok-a", &got), LEDGER_OK);
	assert_token_equal(&t, &got);
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(ledger_token_get_id(a, u.id, &got), LEDGER_OK);
	assert_token_equal(&u, &got);

	assert_int_equal(ledger_token_get_id(b, "tok-b", &got),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_token_get_id(b, "tok-", &got),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(ledger_token_get_id(b, "", &got), LEDGER_ERR_ARG);
	id[LEDGER_TOKEN_ID_MAX] = 'z';
	id[LEDGER_TOKEN_ID_MAX + 1] = '\0';
	assert_int_equal(ledger_token_get_id(b, id, &got), LEDGER_ERR_ARG);

	/* Spent on node a: node b still finds it, with no use left. */
	certgen(fx->key, 1, "acme", "a.example", T0, T0 + 60, &x);
	assert_int_equal(ledger_reserve_token(a, &x.in, t.hash, 0), LEDGER_OK);
	assert_int_equal(ledger_token_get_id(b, "tok-a", &got), LEDGER_OK);
	t.uses_left = 0;
	assert_token_equal(&t, &got);
	/* The lookup by hash decodes the same row the same way. */
	assert_int_equal(ledger_token_get(b, t.hash, &got), LEDGER_OK);
	assert_token_equal(&t, &got);
	ledger_close(a);
	ledger_close(b);
	certgen_free(&x);
}

/*
 * Issue 19: tidy on node b removes what node a issued once it expired
 * (issued and revoked), the spent token, in batches; not the unexpired
 * row, not the RESERVED one, not another tenant's; a's chain verifies.
 */
static void
test_tidy_across_nodes(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct test_cert c[7];
	struct ledger_token t;
	struct audit_record rec;
	uint64_t nc, nt, certs = 0, tokens = 0;
	int i;

	for (i = 0; i < 3; i++) {
		certgen(fx->key, 40 + i, "acme", "old.example", T0, T0 + 10,
		    &c[i]);
		assert_int_equal(certgen_issue(a, &c[i]), LEDGER_OK);
	}
	certgen_audit(&c[0], &rec);
	rec.action = AUDIT_REVOKE;
	assert_int_equal(ledger_revoke(a, "acme", &c[0].in.serial, 1, T0 + 1,
	    &rec), LEDGER_OK);
	certgen(fx->key, 50, "acme", "new.example", T0, T0 + 86400, &c[3]);
	certgen(fx->key, 51, "other", "old.example", T0, T0 + 10, &c[4]);
	certgen(fx->key, 52, "acme", "left.example", T0, T0 + 10, &c[5]);
	assert_int_equal(certgen_issue(a, &c[3]), LEDGER_OK);
	assert_int_equal(certgen_issue(a, &c[4]), LEDGER_OK);
	assert_int_equal(ledger_reserve(a, &c[5].in), LEDGER_OK);
	/* A token spent on c[6], created at T0. */
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "tok-spent");
	memset(t.hash, 0x5a, sizeof(t.hash));
	snprintf(t.tenant, sizeof(t.tenant), "acme");
	snprintf(t.profile, sizeof(t.profile), "service");
	t.created = T0;
	t.expires = (int64_t)time(NULL) + 600;
	t.uses_left = 1;
	memset(&rec, 0, sizeof(rec));
	rec.actor = "op";
	rec.action = AUDIT_CONFIG;
	assert_int_equal(ledger_token_create(a, &t, &rec), LEDGER_OK);
	certgen(fx->key, 53, "acme", "tok.example", T0, T0 + 86400, &c[6]);
	c[6].in.profile = "service";
	assert_int_equal(ledger_reserve_token(a, &c[6].in, t.hash, 0),
	    LEDGER_OK);

	do {
		assert_int_equal(ledger_tidy(b, "acme", T0 + 100, 2, &nc, &nt),
		    LEDGER_OK);
		certs += nc;
		tokens += nt;
	} while (nc == 2 || nt == 2);
	assert_int_equal(certs, 3);
	assert_int_equal(tokens, 1);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM certs"), 4);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM certs"
	    " WHERE status = 0"), 2);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM certs"
	    " WHERE tenant = 'other'"), 1);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM enroll_tokens"),
	    0);
	ledger_close(a);
	ledger_close(b);
	/* 5 issuances, 1 revocation, 1 token; tidy wrote no record. */
	pgfx_chain_ok(fx, "a1", 7);
	for (i = 0; i < 7; i++)
		certgen_free(&c[i]);
}

static void
test_audit_chain_per_node_and_tamper(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct audit_verify_result res;
	struct audit_record rec;
	PGconn *c;
	uint64_t seq;
	int i;

	memset(&rec, 0, sizeof(rec));
	rec.actor = "CN=op";
	rec.action = AUDIT_AUTH_FAIL;
	rec.result = "denied";
	for (i = 0; i < 9; i++) {
		assert_int_equal(ledger_audit(i % 3 ? a : b, &rec, &seq),
		    LEDGER_OK);
	}
	assert_int_equal(seq, 6);	/* a's sixth: chains count apart */
	assert_int_equal(ledger_audit_checkpoint(a), LEDGER_OK);
	ledger_close(a);
	ledger_close(b);
	pgfx_chain_ok(fx, "a1", 6);
	pgfx_chain_ok(fx, "b2", 3);

	/* The triggers refuse edits through SQL... */
	assert_int_not_equal(pgfx_sql(fx, "UPDATE audit_log SET actor = 'x'"
	    " WHERE node = 'a1' AND seq = 2"), 0);
	assert_int_not_equal(pgfx_sql(fx, "DELETE FROM audit_log"), 0);
	/* ...and whoever gets past them is caught by the chain. */
	assert_int_equal(pgfx_sql(fx, "ALTER TABLE audit_log DISABLE TRIGGER"
	    " USER; UPDATE audit_log SET actor = 'x' WHERE node = 'a1'"
	    " AND seq = 2"), 0);
	c = pgfx_connect(fx);
	assert_int_equal(audit_pg_verify(c, "a1", fx->key, &res), AUDIT_OK);
	assert_int_equal(res.status, AUDIT_VERIFY_HASH);
	assert_int_equal(res.seq, 2);
	/* The verdicts are worded as for SQLite: one walker for both. */
	assert_string_equal(res.message,
	    "hash mismatch at seq 2: the record was altered");
	/* b's chain is untouched and still verifies alone. */
	assert_int_equal(audit_pg_verify(c, "b2", fx->key, &res), AUDIT_OK);
	assert_int_equal(res.status, AUDIT_VERIFY_OK);
	assert_string_equal(res.message,
	    "3 records and 0 checkpoints verified");
	/* A cut tail past the last checkpoint shows against the head. */
	assert_int_equal(pgfx_sql(fx, "DELETE FROM audit_log WHERE node = 'b2'"
	    " AND seq = 3"), 0);
	assert_int_equal(audit_pg_verify(c, "b2", fx->key, &res), AUDIT_OK);
	assert_int_equal(res.status, AUDIT_VERIFY_TRUNCATED);
	assert_int_equal(res.seq, 3);
	assert_string_equal(res.message, "log truncated: it ends at seq 2 but"
	    " its head is seq 3; record 3 onwards is missing");
	PQfinish(c);
}

/* The engine's export hook: each committed checkpoint as its line. */
static void
export_line(void *arg, const char *node, const struct audit_ckpt *ck)
{
	char line[AUDIT_CKPT_LINE_MAX];

	assert_int_equal(audit_ckpt_format(node, ck, line, sizeof(line)),
	    AUDIT_OK);
	fprintf(arg, "%s\n", line);
}

/*
 * Issue 19: checkpoints exported as they commit.  A tail deleted with its
 * checkpoints and the head row set back (an intruder who knows the
 * schema) verifies from the database alone, and fails against the
 * export, which names the checkpoint it lost.
 */
static void
test_audit_checkpoint_export(void **state)
{
	struct pgfx *fx = *state;
	struct ledger_config cfg;
	struct ledger *l = NULL;
	struct audit_verify_result res;
	struct audit_record rec;
	struct audit_ckpts ext;
	char target[1200], path[] = "/tmp/signet-ckpt-XXXXXX", err[256];
	FILE *f;
	PGconn *c;
	int fd, i;

	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	memset(&cfg, 0, sizeof(cfg));
	cfg.audit.key = fx->key;
	cfg.audit.every_n = 4;
	cfg.audit.exported = export_line;
	cfg.audit.exported_arg = f;
	pgfx_target(fx, "e5", target, sizeof(target));
	assert_int_equal(ledger_open_config("pgsql", target, &cfg, &l),
	    LEDGER_OK);
	memset(&rec, 0, sizeof(rec));
	rec.actor = "CN=op";
	rec.action = AUDIT_CONFIG;
	rec.result = "ok";
	for (i = 0; i < 10; i++)
		assert_int_equal(ledger_audit(l, &rec, NULL), LEDGER_OK);
	ledger_close(l);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(audit_ckpts_load(path, "e5", &ext, err,
	    sizeof(err)), AUDIT_OK);
	assert_int_equal(ext.n, 2);	/* at seq 4 and 8 */
	assert_int_equal(ext.v[1].seq, 8);
	c = pgfx_connect(fx);
	assert_int_equal(audit_pg_verify_ext(c, "e5", fx->key, &ext, &res),
	    AUDIT_OK);
	assert_int_equal(res.status, AUDIT_VERIFY_OK);
	assert_int_equal(pgfx_sql(fx, "ALTER TABLE audit_log DISABLE TRIGGER"
	    " USER; ALTER TABLE audit_checkpoint DISABLE TRIGGER USER;"
	    " DELETE FROM audit_log WHERE node = 'e5' AND seq >= 6;"
	    " DELETE FROM audit_checkpoint WHERE node = 'e5' AND seq >= 6;"
	    " UPDATE audit_head SET seq = 5, hash = (SELECT hash FROM"
	    " audit_log WHERE node = 'e5' AND seq = 5) WHERE node = 'e5'"), 0);
	assert_int_equal(audit_pg_verify(c, "e5", fx->key, &res), AUDIT_OK);
	assert_int_equal(res.status, AUDIT_VERIFY_OK);
	assert_int_equal(audit_pg_verify_ext(c, "e5", fx->key, &ext, &res),
	    AUDIT_OK);
	assert_int_equal(res.status, AUDIT_VERIFY_TRUNCATED);
	assert_int_equal(res.seq, 6);
	assert_string_equal(res.message, "log truncated: it ends at seq 5 but"
	    " a signed exported checkpoint covers seq 8; record 6 onwards is"
	    " missing");
	/* Another node's lines are not this chain's. */
	audit_ckpts_free(&ext);
	assert_int_equal(audit_ckpts_load(path, "a1", &ext, err,
	    sizeof(err)), AUDIT_OK);
	assert_int_equal(ext.n, 0);
	audit_ckpts_free(&ext);
	PQfinish(c);
	unlink(path);
}

/* The verifier reads a chain in pages of 1000: a walk across pages. */
static void
test_audit_chain_pages(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *l = pgfx_open(fx, "p3", 0);
	struct audit_verify_result res;
	struct audit_record rec;
	PGconn *c;
	int i;

	memset(&rec, 0, sizeof(rec));
	rec.actor = "CN=op";
	rec.action = AUDIT_AUTH_FAIL;
	rec.result = "denied";
	for (i = 0; i < 2100; i++)
		assert_int_equal(ledger_audit(l, &rec, NULL), LEDGER_OK);
	ledger_close(l);
	pgfx_chain_ok(fx, "p3", 2100);
	assert_int_equal(pgfx_sql(fx, "ALTER TABLE audit_log DISABLE TRIGGER"
	    " USER; UPDATE audit_log SET actor = 'x' WHERE node = 'p3'"
	    " AND seq = 2001"), 0);
	c = pgfx_connect(fx);
	assert_int_equal(audit_pg_verify(c, "p3", fx->key, &res), AUDIT_OK);
	assert_int_equal(res.status, AUDIT_VERIFY_HASH);
	assert_int_equal(res.seq, 2001);
	assert_int_equal(res.records, 2000);
	assert_string_equal(res.message,
	    "hash mismatch at seq 2001: the record was altered");
	PQfinish(c);
}

static void
test_schema_versions(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *l = NULL;
	char target[1200];

	ledger_close(a);
	a = pgfx_open(fx, "a1", 0);	/* a second open migrates nothing */
	ledger_close(a);
	assert_int_equal(pgfx_int(fx, "SELECT max(version) FROM"
	    " schema_version"), 8);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM schema_version"),
	    8);
	/* A database from a newer build is refused, not written to. */
	assert_int_equal(pgfx_sql(fx, "INSERT INTO schema_version"
	    " VALUES(99, 0)"), 0);
	pgfx_target(fx, "a1", target, sizeof(target));
	assert_int_equal(ledger_open("pgsql", target, &l), LEDGER_ERR_SCHEMA);
	assert_null(l);
}

/*
 * A database of schema 3 (before authorized_by) is migrated when a node
 * opens it: rows are kept and read as not recorded, new rows record
 * their credential and the filter finds them (issue 13).  The old
 * database is made by undoing what version 4 added.
 */
static void
test_migrate_from_v3(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *l = pgfx_open(fx, "a1", 0);
	struct test_cert c[2];
	struct ledger_cert row, *rows = NULL;
	struct ledger_filter f;
	size_t n;

	certgen(fx->key, 30, "acme", "a.example", T0, T0 + 3600, &c[0]);
	assert_int_equal(certgen_issue(l, &c[0]), LEDGER_OK);
	ledger_close(l);
	/* And what version 5 (issue 19, tidy's indexes) added after it. */
	assert_int_equal(pgfx_sql(fx, "DROP INDEX certs_authorized_by;"
	    "ALTER TABLE certs DROP COLUMN authorized_by;"
	    "DROP INDEX enroll_tokens_expires; DROP INDEX enroll_tokens_spent;"
	    "DELETE FROM schema_version WHERE version >= 4"), 0);
	assert_int_equal(pgfx_int(fx, "SELECT count(*) FROM"
	    " information_schema.columns WHERE table_name = 'certs'"
	    " AND column_name = 'authorized_by'"), 0);

	l = pgfx_open(fx, "a1", 0);
	assert_int_equal(pgfx_int(fx, "SELECT max(version) FROM"
	    " schema_version"), 8);
	assert_int_equal(ledger_get(l, "acme", &c[0].in.serial, &row),
	    LEDGER_OK);
	assert_int_equal(row.status, LEDGER_ISSUED);
	assert_string_equal(row.authorized_by, "");
	assert_int_equal(row.der_len, c[0].der_len);
	ledger_cert_clear(&row);
	certgen(fx->key, 31, "acme", "b.example", T0, T0 + 3600, &c[1]);
	c[1].in.authorized_by = "renewal:01000000000000001e";
	assert_int_equal(certgen_issue(l, &c[1]), LEDGER_OK);
	memset(&f, 0, sizeof(f));
	f.tenant = "acme";
	f.status = -1;
	f.authorized_by = "renewal:01000000000000001e";
	assert_int_equal(ledger_list(l, &f, &rows, &n), LEDGER_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].subject, "b.example");
	ledger_certs_free(rows, n);
	f.authorized_by = NULL;
	assert_int_equal(ledger_list(l, &f, &rows, &n), LEDGER_OK);
	assert_int_equal(n, 2);
	ledger_certs_free(rows, n);
	ledger_close(l);
	certgen_free(&c[0]);
	certgen_free(&c[1]);
}

static void
test_targets(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *l = NULL;
	struct timespec t0, t1;
	char target[1200];

	pgfx_target(fx, "bad/node", target, sizeof(target));
	assert_int_equal(ledger_open("pgsql", target, &l), LEDGER_ERR_ARG);
	assert_int_equal(ledger_open("pgsql", "host='unterminated", &l),
	    LEDGER_ERR_ARG);
	assert_int_equal(ledger_open("pgsql", "= 1", &l), LEDGER_ERR_ARG);
	/* Quoted values with escapes, and the last of a repeated key. */
	snprintf(target, sizeof(target), "%s application_name='it\\'s'"
	    " node=x node='a-1.b_2'", fx->conninfo);
	assert_int_equal(ledger_open("pgsql", target, &l), LEDGER_OK);
	ledger_close(l);
	l = NULL;
	/* Nobody listening: down, at once. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(ledger_open("pgsql", "host=127.0.0.1 port=1"
	    " dbname=x node=a1", &l), LEDGER_ERR_DOWN);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	assert_null(l);
	assert_string_equal(ledger_strerror(LEDGER_ERR_DOWN),
	    "ledger database is unreachable");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PGFX_TEST(test_reserve_commit_get),
		PGFX_TEST(test_duplicate_across_nodes),
		PGFX_TEST(test_tenant_isolation),
		PGFX_TEST(test_revocation_seen_by_every_node),
		PGFX_TEST(test_counters_across_nodes_and_restarts),
		PGFX_TEST(test_reconcile_touches_own_rows),
		PGFX_TEST(test_tokens_one_use_across_nodes),
		PGFX_TEST(test_token_get_id),
		PGFX_TEST(test_audit_chain_per_node_and_tamper),
		PGFX_TEST(test_tidy_across_nodes),
		PGFX_TEST(test_audit_checkpoint_export),
		PGFX_TEST(test_audit_chain_pages),
		PGFX_TEST(test_schema_versions),
		PGFX_TEST(test_migrate_from_v3),
		PGFX_TEST(test_targets),
	};

	pgfx_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
