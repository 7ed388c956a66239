/*
 * Reading the audit log of a PostgreSQL ledger (issue 19, GET
 * /v1/audit): ledger_audit_query on two nodes' chains in one database,
 * each filter (time, tenant, action, actor) alone and together, paging
 * with next/more, and a reader that stops early.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <signet/audit.h>
#include <signet/ledger.h>

#include "pgfx.h"

#define T0 1700000000LL

/* What a query handed out: "seq:tenant:action" joined by spaces. */
struct seen {
	char	buf[1024];
	int	stop_after;	/* 0: take all */
	int	n;
	char	node[64];
};

static int
take(const struct audit_entry *r, void *arg)
{
	struct seen *s = arg;
	size_t off = strlen(s->buf);

	if (s->stop_after > 0 && s->n >= s->stop_after)
		return 1;
	snprintf(s->buf + off, sizeof(s->buf) - off, "%s%llu:%s:%s",
	    off > 0 ? " " : "", (unsigned long long)r->seq, r->tenant,
	    r->action);
	snprintf(s->node, sizeof(s->node), "%s", r->node);
	assert_true(strlen(r->detail) > 0);
	s->n++;
	return 0;
}

static void
put(struct ledger *l, int64_t t, const char *tenant, enum audit_action a,
    const char *detail)
{
	struct audit_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.time = t;
	rec.actor = "CN=op";
	rec.role = "operator";
	rec.tenant = tenant;
	rec.action = a;
	rec.object = "0a";
	rec.result = "ok";
	rec.detail = detail;
	assert_int_equal(ledger_audit(l, &rec, NULL), LEDGER_OK);
}

static const char *
run(struct ledger *l, const struct audit_query *q, struct seen *s,
    struct audit_page *page)
{
	memset(s->buf, 0, sizeof(s->buf));
	s->n = 0;
	assert_int_equal(ledger_audit_query(l, q, take, s, page), LEDGER_OK);
	return s->buf;
}

static void
test_audit_query_filters(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct ledger *b = pgfx_open(fx, "b2", 0);
	struct audit_query q;
	struct audit_page page;
	struct seen s;

	memset(&s, 0, sizeof(s));
	put(a, T0, "dev", AUDIT_ISSUE, "src=127.0.0.1 cred=cert:sha256:aa");
	put(b, T0, "dev", AUDIT_ISSUE, "src=127.0.0.1 cred=token:t1");
	put(a, T0 + 10, "second", AUDIT_ISSUE, "src=::1 cred=token:t1");
	put(a, T0 + 20, "second", AUDIT_REVOKE,
	    "reason=1 src=::1 cred=token:t12");
	put(a, T0 + 30, "", AUDIT_CONFIG, "loaded cred=token:t1 later");
	put(a, T0 + 40, "dev", AUDIT_REFUSE, "denied src=- cred=control");

	memset(&q, 0, sizeof(q));
	q.limit = 100;
	/* The engine's own chain by default: a1's five, not b2's one. */
	assert_string_equal(run(a, &q, &s, &page), "1:dev:issue "
	    "2:second:issue 3:second:revoke 4::config 5:dev:refuse");
	assert_string_equal(s.node, "a1");
	assert_int_equal(page.next, 5);
	assert_int_equal(page.more, 0);
	q.node = "b2";
	assert_string_equal(run(a, &q, &s, &page), "1:dev:issue");
	assert_string_equal(s.node, "b2");
	q.node = NULL;

	q.tenant = "second";
	assert_string_equal(run(a, &q, &s, &page),
	    "2:second:issue 3:second:revoke");
	q.action = "revoke";
	assert_string_equal(run(a, &q, &s, &page), "3:second:revoke");
	q.tenant = NULL;
	q.action = NULL;
	/* The actor is the detail's last word cred=...; t1 is not t12. */
	q.actor = "token:t1";
	assert_string_equal(run(a, &q, &s, &page), "2:second:issue");
	q.actor = "control";
	assert_string_equal(run(a, &q, &s, &page), "5:dev:refuse");
	q.actor = "cert:sha256:aa";
	assert_string_equal(run(b, &q, &s, &page), "");
	assert_string_equal(run(a, &q, &s, &page), "1:dev:issue");
	q.actor = NULL;
	/* since <= time < until. */
	q.since = T0 + 10;
	q.until = T0 + 30;
	assert_string_equal(run(a, &q, &s, &page),
	    "2:second:issue 3:second:revoke");
	q.since = T0 + 30;
	q.until = 0;
	assert_string_equal(run(a, &q, &s, &page), "4::config 5:dev:refuse");
	q.since = 0;
	/* Out of bounds is refused before any SQL. */
	q.limit = 0;
	assert_int_equal(ledger_audit_query(a, &q, take, &s, &page),
	    LEDGER_ERR_ARG);
	q.limit = AUDIT_QUERY_MAX + 1;
	assert_int_equal(ledger_audit_query(a, &q, take, &s, &page),
	    LEDGER_ERR_ARG);
	q.limit = 10;
	q.since = T0 + 5;
	q.until = T0 + 5;
	assert_int_equal(ledger_audit_query(a, &q, take, &s, &page),
	    LEDGER_ERR_ARG);
	ledger_close(a);
	ledger_close(b);
}

static void
test_audit_query_pages(void **state)
{
	struct pgfx *fx = *state;
	struct ledger *a = pgfx_open(fx, "a1", 0);
	struct audit_query q;
	struct audit_page page;
	struct seen s;
	int i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < 5; i++)
		put(a, T0 + i, i % 2 ? "odd" : "even", AUDIT_ISSUE,
		    "src=- cred=control");
	memset(&q, 0, sizeof(q));
	q.limit = 2;
	q.tenant = "even";
	assert_string_equal(run(a, &q, &s, &page),
	    "1:even:issue 3:even:issue");
	assert_int_equal(page.next, 3);
	assert_int_equal(page.more, 1);
	q.after = page.next;
	assert_string_equal(run(a, &q, &s, &page), "5:even:issue");
	assert_int_equal(page.next, 5);
	assert_int_equal(page.more, 0);
	q.after = page.next;
	assert_string_equal(run(a, &q, &s, &page), "");
	assert_int_equal(page.next, 5);
	assert_int_equal(page.more, 0);
	/* A reader that stops early resumes after the last one it took. */
	q.after = 0;
	q.tenant = NULL;
	q.limit = 100;
	s.stop_after = 3;
	assert_string_equal(run(a, &q, &s, &page),
	    "1:even:issue 2:odd:issue 3:even:issue");
	assert_int_equal(page.next, 3);
	assert_int_equal(page.more, 1);
	ledger_close(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PGFX_TEST(test_audit_query_filters),
		PGFX_TEST(test_audit_query_pages),
	};

	pgfx_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
