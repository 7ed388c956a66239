/*
 * `signetctl audit show` (issue 19): the audit log through GET /v1/audit
 * with its filters, page after page until --limit records or the end;
 * with --db it reads a ledger file off line instead (ctl_offline.c).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_cmd.h"

#define AUDIT_SHOW_DEFAULT	100
#define AUDIT_SHOW_MAX		100000	/* records of one run */
#define AUDIT_PAGE_MAX		1000	/* the API's limit per request */
/* An unset filter, NULL or "", is not sent. */
#define NZ(s)	((s) != NULL && *(s) != '\0' ? (s) : NULL)

struct audit_filters {
	char	 since[24], until[24];	/* unix seconds */
	const char *action, *actor, *node;
	long	 limit;
	unsigned long long after;
};

/* RFC 3339 UTC or a duration ago, as unix seconds in buf; -1 if bad. */
static int
audit_time_arg(const char *s, char *buf, size_t size)
{
	struct tm tm;
	const char *end;
	int64_t d, t;

	if ((d = ctl_duration(s)) >= 0)
		t = (int64_t)time(NULL) - d;
	else {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
		    *end != '\0')
			return -1;
		t = (int64_t)timegm(&tm);
	}
	if (t < 0)
		return -1;
	snprintf(buf, size, "%lld", (long long)t);
	return 0;
}

static void
audit_row(struct ctl_table *tab, const struct ctl_json *j, long r)
{
	static const char *const cols[] = {
		"seq", "time", "action", "result", "tenant", "object",
		"actor", "detail"
	};
	const char *cells[8], *s;
	char seq[24];
	long i;
	size_t k;

	for (k = 0; k < 8; k++) {
		s = ctl_json_gets(j, r, cols[k]);
		cells[k] = s != NULL && *s != '\0' ? s : "-";
	}
	if ((i = ctl_json_get(j, r, "seq")) >= 0 && j->n[i].integral) {
		snprintf(seq, sizeof(seq), "%lld", (long long)j->n[i].num);
		cells[0] = seq;
	}
	ctl_table_add(tab, cells);
}

/* A record object again as JSON: scalar members only. */
static void
audit_json_obj(const struct ctl_json *j, long r)
{
	const struct ctl_jnode *v;
	long k, val;
	uint32_t m;

	putchar('{');
	for (k = r + 1, m = 0; m < j->n[r].count; m++) {
		val = j->n[k].next;
		printf("%s", m > 0 ? "," : "");
		ctl_json_write_str(stdout, j->n[k].str);
		putchar(':');
		v = &j->n[val];
		if (v->type == CTL_J_STRING)
			ctl_json_write_str(stdout, v->str);
		else if (v->type == CTL_J_NUMBER)
			fwrite(v->str, 1, v->slen, stdout);
		else if (v->type == CTL_J_BOOL)
			fputs(v->boolean ? "true" : "false", stdout);
		else
			fputs("null", stdout);
		k = v->next;
	}
	putchar('}');
}

/* One page's records, to the table or as JSON; *n counts them. */
static int
audit_page(const struct ctl *c, const struct ctl_json *j,
    struct ctl_table *tab, long *n, unsigned long long *next, int *more)
{
	long recs, r, i;

	if ((recs = ctl_json_get(j, 0, "records")) < 0 ||
	    j->n[recs].type != CTL_J_ARRAY ||
	    (i = ctl_json_get(j, 0, "next")) < 0 || !j->n[i].integral ||
	    j->n[i].num < 0) {
		ctl_err("audit show: the answer has no records and next");
		return CTL_EXIT_ERR;
	}
	*next = (unsigned long long)j->n[i].num;
	*more = (i = ctl_json_get(j, 0, "more")) >= 0 &&
	    j->n[i].type == CTL_J_BOOL && j->n[i].boolean;
	for (r = ctl_json_first(j, recs); r >= 0;
	    r = ctl_json_next(j, recs, r)) {
		if (c->json) {
			fputs(*n > 0 ? "," : "", stdout);
			audit_json_obj(j, r);
		} else
			audit_row(tab, j, r);
		(*n)++;
	}
	return CTL_EXIT_OK;
}

/* One GET; its records are printed from the raw body for --json. */
static int
audit_fetch(const struct ctl *c, const struct audit_filters *f,
    unsigned long long after, long want, struct ctl_reply *rep)
{
	char path[CTL_MAX_URL], a[24], l[24];
	const char *q[][2] = {
		{ "tenant", c->tenant }, { "since", f->since },
		{ "until", f->until }, { "action", f->action },
		{ "actor", f->actor }, { "node", f->node },
		{ "after", a }, { "limit", l },
	};
	size_t i;

	snprintf(a, sizeof(a), "%llu", after);
	snprintf(l, sizeof(l), "%ld", want);
	snprintf(path, sizeof(path), "/v1/audit");
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		if (ctl_add_query(path, sizeof(path), q[i][0], NZ(q[i][1])) !=
		    0) {
			ctl_err("audit show: the filters are too long");
			return CTL_EXIT_ERR;
		}
	return ctl_get(c, c->server, path, rep);
}

static int
audit_api(struct ctl *c, const struct audit_filters *f)
{
	static const char *const heads[] = {
		"SEQ", "TIME", "ACTION", "RESULT", "TENANT", "OBJECT", "ACTOR",
		"DETAIL"
	};
	struct ctl_table *tab = NULL;
	struct ctl_reply rep;
	unsigned long long after = f->after, next = 0;
	long n = 0;
	int more = 1, rc = CTL_EXIT_ERR, first = 1;

	if (!c->json && (tab = ctl_table_new(8, heads)) == NULL)
		return CTL_EXIT_ERR;
	while (more && n < f->limit) {
		if ((rc = audit_fetch(c, f, after, f->limit - n >
		    AUDIT_PAGE_MAX ? AUDIT_PAGE_MAX : f->limit - n, &rep)) !=
		    CTL_EXIT_OK)
			goto out;
		if ((rc = ctl_status_exit(&rep, "audit show")) == CTL_EXIT_OK &&
		    !rep.have_json) {
			ctl_err("audit show: the answer is not JSON");
			rc = CTL_EXIT_ERR;
		}
		if (rc == CTL_EXIT_OK && c->json && first)
			fputs("{\"records\":[", stdout);
		if (rc == CTL_EXIT_OK)
			rc = audit_page(c, &rep.j, tab, &n, &next, &more);
		ctl_reply_free(&rep);
		if (rc != CTL_EXIT_OK)
			goto out;
		first = 0;
		/* No progress (the end, or a server that says more without
		 * moving on): stop rather than ask the same page again. */
		if (next <= after)
			break;
		after = next;
	}
	if (c->json)
		printf("],\"next\":%llu,\"more\":%s}\n", next,
		    more ? "true" : "false");
	else if (n > 0)
		ctl_table_print(tab, stdout);
	else
		puts("no audit records");
	rc = CTL_EXIT_OK;
out:
	ctl_table_free(tab);
	return rc;
}

int
ctl_cmd_audit_show(struct ctl *c, int argc, char **argv)
{
	enum { O_SINCE = 1, O_UNTIL, O_ACTION, O_ACTOR, O_NODE, O_AFTER,
	    O_LIMIT };
	static const struct option lo[] = {
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "action", required_argument, NULL, O_ACTION },
		{ "actor", required_argument, NULL, O_ACTOR },
		{ "node", required_argument, NULL, O_NODE },
		{ "after", required_argument, NULL, O_AFTER },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_verb *v = ctl_verb_find("audit", "show");
	struct audit_filters f;
	char *end;
	int ch, i;

	/* Off line on a ledger file: the older verb, its own flags. */
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--db") == 0 ||
		    strncmp(argv[i], "--db=", 5) == 0)
			return ctl_cmd_audit_show_db(c, argc, argv);
	memset(&f, 0, sizeof(f));
	f.limit = AUDIT_SHOW_DEFAULT;
	while ((ch = ctl_getopt(c, v, argc, argv, "", lo)) != -1) {
		if (ch == -3)
			return CTL_EXIT_OK;
		if (ch == -2)
			return CTL_EXIT_ERR;
		switch (ch) {
		case O_SINCE:
		case O_UNTIL:
			if (audit_time_arg(optarg, ch == O_SINCE ? f.since :
			    f.until, sizeof(f.since)) != 0)
				return ctl_usage_err(v, "--since, --until: RFC "
				    "3339 UTC (2026-12-05T08:00:00Z) or a "
				    "duration ago (1h, 7d)");
			break;
		case O_ACTION:
			f.action = optarg;
			break;
		case O_ACTOR:
			f.actor = optarg;
			break;
		case O_NODE:
			f.node = optarg;
			break;
		case O_AFTER:
			f.after = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0')
				return ctl_usage_err(v, "--after: a sequence "
				    "number");
			break;
		case O_LIMIT:
			f.limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || f.limit < 1 ||
			    f.limit > AUDIT_SHOW_MAX)
				return ctl_usage_err(v, "--limit: 1 to 100000");
			break;
		default:
			return CTL_EXIT_ERR;
		}
	}
	if (optind != argc)
		return ctl_usage_err(v, "audit show takes no arguments");
	return audit_api(c, &f);
}
