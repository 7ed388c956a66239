/*
 * Prometheus metrics (text format 0.0.4): requests by route and status,
 * a latency histogram per route, engine-call failures.  Counters are per
 * process; each series carries the worker's pid so that scrapes landing on
 * different workers are not read as counter resets.
 */
#include <string.h>
#include <unistd.h>

#include "https_local.h"

static const char *const rid_names[HTTPS_R_MAX] = {
	[HTTPS_R_EST_CACERTS] = "est_cacerts",
	[HTTPS_R_EST_ENROLL] = "est_simpleenroll",
	[HTTPS_R_EST_REENROLL] = "est_simplereenroll",
	[HTTPS_R_EST_CSRATTRS] = "est_csrattrs",
	[HTTPS_R_V1_SIGN] = "v1_sign",
	[HTTPS_R_V1_REVOKE] = "v1_revoke",
	[HTTPS_R_V1_CERT] = "v1_cert",
	[HTTPS_R_V1_CERTS] = "v1_certs",
	[HTTPS_R_V1_TOKENS] = "v1_tokens",
	[HTTPS_R_V1_TIDY] = "v1_tidy",
	[HTTPS_R_V1_HEALTH] = "v1_health",
	[HTTPS_R_CA] = "ca",
	[HTTPS_R_CRL] = "crl",
	[HTTPS_R_OCSP] = "ocsp",
	[HTTPS_R_METRICS] = "metrics",
	[HTTPS_R_ACME] = "acme",
	[HTTPS_R_V1_ACME_EAB] = "v1_acme_eab",
	[HTTPS_R_V1_AUDIT] = "v1_audit",
	[HTTPS_R_OTHER] = "other",
};

static const int codes[HTTPS_M_CODES] = {
	200, 204, 400, 401, 403, 404, 405, 409, 413, 415, 429, 431, 500, 501,
	503, 201	/* 201: ACME resources created (issue 20) */
};

/* Upper bounds of the latency buckets, in microseconds. */
static const uint64_t bounds_us[HTTPS_M_BUCKETS - 1] = {
	500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000, 1000000,
	5000000
};

static const char *const err_names[4] = {
	"timeout", "unavailable", "send", "decode"
};

void
https_metrics_record(struct https_metrics *m, int rid, int code,
    uint64_t us)
{
	size_t i;

	if (rid < 0 || rid >= HTTPS_R_MAX)
		rid = HTTPS_R_OTHER;
	for (i = 0; i < HTTPS_M_CODES; i++)
		if (codes[i] == code)
			break;
	/* An unlisted code is counted as 500 (index 12); there are none today. */
	m->count[rid][i < HTTPS_M_CODES ? i : 12]++;
	for (i = 0; i < HTTPS_M_BUCKETS - 1; i++)
		if (us <= bounds_us[i])
			break;
	m->hist[rid][i]++;
	m->sum[rid] += (double)us / 1e6;
}

static void
render_hist(const struct https_metrics *m, struct evbuffer *b, long pid)
{
	uint64_t cum;
	size_t r, i;

	evbuffer_add_printf(b, "# HELP signet_https_request_seconds Time "
	    "from request to answer.\n"
	    "# TYPE signet_https_request_seconds histogram\n");
	for (r = 0; r < HTTPS_R_MAX; r++) {
		cum = 0;
		for (i = 0; i < HTTPS_M_BUCKETS; i++) {
			cum += m->hist[r][i];
			if (i < HTTPS_M_BUCKETS - 1)
				evbuffer_add_printf(b, "signet_https_request_"
				    "seconds_bucket{route=\"%s\",pid=\"%ld\","
				    "le=\"%g\"} %llu\n", rid_names[r], pid,
				    (double)bounds_us[i] / 1e6,
				    (unsigned long long)cum);
		}
		evbuffer_add_printf(b, "signet_https_request_seconds_bucket{"
		    "route=\"%s\",pid=\"%ld\",le=\"+Inf\"} %llu\n"
		    "signet_https_request_seconds_sum{route=\"%s\",pid=\"%ld\"}"
		    " %.6f\nsignet_https_request_seconds_count{route=\"%s\","
		    "pid=\"%ld\"} %llu\n", rid_names[r], pid,
		    (unsigned long long)cum, rid_names[r], pid, m->sum[r],
		    rid_names[r], pid, (unsigned long long)cum);
	}
}

void
https_metrics_render(const struct https_metrics *m, struct evbuffer *b)
{
	long pid = (long)getpid();
	size_t r, i;

	evbuffer_add_printf(b, "# HELP signet_https_requests_total Requests "
	    "answered, by route and status.\n"
	    "# TYPE signet_https_requests_total counter\n");
	for (r = 0; r < HTTPS_R_MAX; r++)
		for (i = 0; i < HTTPS_M_CODES; i++)
			if (m->count[r][i] != 0)
				evbuffer_add_printf(b, "signet_https_requests_"
				    "total{route=\"%s\",code=\"%d\",pid=\"%ld\""
				    "} %llu\n", rid_names[r], codes[i], pid,
				    (unsigned long long)m->count[r][i]);
	render_hist(m, b, pid);
	evbuffer_add_printf(b, "# HELP signet_https_engine_errors_total "
	    "Engine calls that failed in transport.\n"
	    "# TYPE signet_https_engine_errors_total counter\n");
	for (i = 0; i < 4; i++)
		evbuffer_add_printf(b, "signet_https_engine_errors_total{"
		    "error=\"%s\",pid=\"%ld\"} %llu\n", err_names[i], pid,
		    (unsigned long long)m->engine_err[i]);
	evbuffer_add_printf(b, "# HELP signet_https_connection_cap_total "
	    "Times the connection cap paused accepting.\n"
	    "# TYPE signet_https_connection_cap_total counter\n"
	    "signet_https_connection_cap_total{pid=\"%ld\"} %llu\n", pid,
	    (unsigned long long)m->conns_refused);
	evbuffer_add_printf(b, "# HELP signet_https_refused_total "
	    "Connections and requests refused by a limit, by limit.\n"
	    "# TYPE signet_https_refused_total counter\n");
	for (i = 0; i < HTTPS_REF_MAX; i++)
		evbuffer_add_printf(b, "signet_https_refused_total{reason="
		    "\"%s\",pid=\"%ld\"} %llu\n", https_refusal_name((int)i),
		    pid, (unsigned long long)m->refused[i]);
	evbuffer_add_printf(b, "# HELP signet_https_library_log_dropped_total "
	    "libevent log lines dropped by the rate limit.\n"
	    "# TYPE signet_https_library_log_dropped_total counter\n"
	    "signet_https_library_log_dropped_total{pid=\"%ld\"} %llu\n",
	    pid, (unsigned long long)https_conn_log_dropped());
}

void
https_metrics_conns(const struct https_srv *srv, struct evbuffer *b)
{
	long pid = (long)getpid();

	evbuffer_add_printf(b, "# HELP signet_https_connections Connections "
	    "open, by share of the budget.\n"
	    "# TYPE signet_https_connections gauge\n"
	    "signet_https_connections{share=\"ordinary\",pid=\"%ld\"} %d\n"
	    "signet_https_connections{share=\"reserve\",pid=\"%ld\"} %d\n"
	    "# HELP signet_https_connection_budget Connections this worker "
	    "takes (max_connections shared out).\n"
	    "# TYPE signet_https_connection_budget gauge\n"
	    "signet_https_connection_budget{pid=\"%ld\"} %d\n", pid,
	    srv->nopen, pid, srv->nreserve, pid, srv->budget);
}

/* Issue 19: the revocation refresh counters have a family of their own. */
static int
revocation_counter(int i)
{
	return i == PROTO_C_CRL_TIMER || i == PROTO_C_CRL_FETCH ||
	    i == PROTO_C_OCSP_REFRESHED;
}

/*
 * signet-coap's counters as it last reported them to the engine (issue
 * 14, issue 19), one family per kind of thing, every label value fixed
 * here.  The CoAP front end is one process, so there is no pid label.
 */
static const struct {
	int		 c;		/* enum proto_coap_counter */
	const char	*family;
	const char	*label;		/* NULL: a family without labels */
} coap_series[] = {
	{ PROTO_CC_REQUESTS, "requests", NULL },
	{ PROTO_CC_ENROLLED, "enrolled", NULL },
	{ PROTO_CC_ERRORS, "errors", NULL },
	{ PROTO_CC_HANDSHAKES, "handshakes", "result=\"ok\"" },
	{ PROTO_CC_HANDSHAKE_FAILED, "handshakes", "result=\"failed\"" },
	{ PROTO_CC_PSK_OK, "psk_lookups", "result=\"ok\"" },
	{ PROTO_CC_PSK_REFUSED, "psk_lookups", "result=\"refused\"" },
	{ PROTO_CC_RATE_LIMITED, "refused", "reason=\"rate_limited\"" },
	{ PROTO_CC_TOO_LARGE, "refused", "reason=\"body_too_large\"" },
	{ PROTO_CC_BODIES_REFUSED, "refused", "reason=\"block1_budget\"" },
	{ PROTO_CC_BUSY, "refused", "reason=\"exchanges_full\"" },
	{ PROTO_CC_BODIES_REAPED, "block1_reaped", NULL },
	{ PROTO_CC_REPLAYED, "retransmissions", "answer=\"cached\"" },
	{ PROTO_CC_DUP_INFLIGHT, "retransmissions", "answer=\"in_flight\"" },
	{ PROTO_CC_EVICTED, "exchanges_evicted", NULL },
	{ PROTO_CC_HELLO_PASSED, "client_hellos", "result=\"passed_unverified\"" },
	{ PROTO_CC_HELLO_COOKIE, "client_hellos", "result=\"passed_cookie\"" },
	{ PROTO_CC_HELLO_ANSWERED, "client_hellos", "result=\"hello_verify_sent\"" },
	{ PROTO_CC_HELLO_BAD, "client_hellos", "result=\"malformed\"" },
	{ PROTO_CC_SESSIONS_NEW, "sessions", NULL },
};

static const char *const coap_help[][2] = {
	{ "requests", "EST-coaps requests handled." },
	{ "enrolled", "Certificates returned over EST-coaps." },
	{ "errors", "EST-coaps requests answered with an error." },
	{ "handshakes", "DTLS handshakes, by result." },
	{ "psk_lookups", "DTLS PSK identities looked up in the engine, by "
	    "result." },
	{ "refused", "EST-coaps requests refused by a limit, by limit." },
	{ "block1_reaped", "Unfinished Block1 bodies dropped at a deadline." },
	{ "retransmissions", "Retransmitted requests kept from the engine, "
	    "by how they were answered." },
	{ "exchanges_evicted", "Answers pushed out of the retransmission "
	    "cache early." },
	{ "client_hellos", "DTLS ClientHellos from sources without a session, "
	    "by what the stateless cookie check did with them." },
	{ "sessions", "Sessions libcoap made for new sources." },
};

static void
render_coap(const struct proto_health_rep *h, struct evbuffer *b)
{
	size_t f, i;

	for (f = 0; f < sizeof(coap_help) / sizeof(coap_help[0]); f++) {
		evbuffer_add_printf(b, "# HELP signet_coap_%s_total %s\n"
		    "# TYPE signet_coap_%s_total counter\n", coap_help[f][0],
		    coap_help[f][1], coap_help[f][0]);
		for (i = 0; i < sizeof(coap_series) / sizeof(coap_series[0]);
		    i++) {
			if (strcmp(coap_series[i].family, coap_help[f][0]) != 0)
				continue;
			evbuffer_add_printf(b, "signet_coap_%s_total%s%s%s "
			    "%llu\n", coap_series[i].family,
			    coap_series[i].label ? "{" : "",
			    coap_series[i].label ? coap_series[i].label : "",
			    coap_series[i].label ? "}" : "",
			    (unsigned long long)h->coap[coap_series[i].c]);
		}
	}
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void
label_value(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

static void
target_labels(struct evbuffer *b, const struct proto_target_counts *t)
{
	evbuffer_add_printf(b, "{tenant=\"");
	label_value(b, t->tenant);
	evbuffer_add_printf(b, "\",profile=\"");
	label_value(b, t->profile);
	evbuffer_add_printf(b, "\"");
}

/*
 * Issue 19: per configured tenant and profile (the engine's names, so the
 * label set is the configuration's; "" for requests refused before a
 * target was resolved).
 */
static const char *const result_names[PROTO_R_MAX] = {
	[PROTO_R_OK] = "ok",
	[PROTO_R_BAD_REQUEST] = "bad_request",
	[PROTO_R_UNAUTHORIZED] = "unauthorized",
	[PROTO_R_FORBIDDEN] = "forbidden",
	[PROTO_R_NOT_FOUND] = "not_found",
	[PROTO_R_CONFLICT] = "conflict",
	[PROTO_R_RATE_LIMITED] = "rate_limited",
	[PROTO_R_UNAVAILABLE] = "unavailable",
	[PROTO_R_INTERNAL] = "internal",
};

static void
render_targets(const struct proto_health_rep *h, struct evbuffer *b)
{
	const struct proto_target_counts *t;
	size_t i, r;

	evbuffer_add_printf(b, "# HELP signet_certificates_issued_total "
	    "Certificates issued, by tenant and profile.\n"
	    "# TYPE signet_certificates_issued_total counter\n");
	for (i = 0; i < h->ntargets; i++) {
		t = &h->targets[i];
		evbuffer_add_printf(b, "signet_certificates_issued_total");
		target_labels(b, t);
		evbuffer_add_printf(b, "} %llu\n",
		    (unsigned long long)t->issued);
	}
	evbuffer_add_printf(b, "# HELP signet_certificates_revoked_total "
	    "Certificates revoked, by tenant and profile.\n"
	    "# TYPE signet_certificates_revoked_total counter\n");
	for (i = 0; i < h->ntargets; i++) {
		t = &h->targets[i];
		evbuffer_add_printf(b, "signet_certificates_revoked_total");
		target_labels(b, t);
		evbuffer_add_printf(b, "} %llu\n",
		    (unsigned long long)t->revoked);
	}
	evbuffer_add_printf(b, "# HELP signet_issuance_refused_total "
	    "Issuance requests refused, by tenant, profile and reason.\n"
	    "# TYPE signet_issuance_refused_total counter\n");
	for (i = 0; i < h->ntargets; i++)
		for (r = PROTO_R_OK + 1; r < PROTO_R_MAX; r++) {
			t = &h->targets[i];
			if (t->refused[r] == 0)
				continue;
			evbuffer_add_printf(b, "signet_issuance_refused_total");
			target_labels(b, t);
			evbuffer_add_printf(b, ",reason=\"%s\"} %llu\n",
			    result_names[r],
			    (unsigned long long)t->refused[r]);
		}
}

/* The token: state, faults and recoveries, sessions, signing times. */
static void
render_token(const struct proto_token_stats *t, struct evbuffer *b)
{
	static const char *const states[3] = { "up", "recovering", "failed" };
	uint64_t cum = 0;
	size_t i;

	evbuffer_add_printf(b, "# HELP signet_token_state The token's state "
	    "(1 for the current one).\n# TYPE signet_token_state gauge\n");
	for (i = 0; i < 3; i++)
		evbuffer_add_printf(b, "signet_token_state{state=\"%s\"} %d\n",
		    states[i], t->state == i);
	evbuffer_add_printf(b, "# HELP signet_token_faults_total Times the "
	    "token was marked down.\n# TYPE signet_token_faults_total counter\n"
	    "signet_token_faults_total %llu\n"
	    "# HELP signet_token_recoveries_total Times it came back, and "
	    "attempts.\n# TYPE signet_token_recoveries_total counter\n"
	    "signet_token_recoveries_total{result=\"ok\"} %llu\n"
	    "signet_token_recoveries_total{result=\"attempt\"} %llu\n"
	    "# HELP signet_token_sessions Token sessions in the pool, and "
	    "busy.\n# TYPE signet_token_sessions gauge\n"
	    "signet_token_sessions{state=\"pool\"} %u\n"
	    "signet_token_sessions{state=\"busy\"} %u\n",
	    (unsigned long long)t->faults, (unsigned long long)t->recoveries,
	    (unsigned long long)t->recovery_attempts, t->pool_size,
	    t->sessions_busy);
	evbuffer_add_printf(b, "# HELP signet_token_sign_seconds Time of a "
	    "token signature (certificates, CRLs, OCSP), session wait "
	    "included.\n# TYPE signet_token_sign_seconds histogram\n");
	for (i = 0; i < t->nbuckets; i++) {
		cum += t->count[i];
		if (t->le_us[i] == UINT64_MAX)
			evbuffer_add_printf(b, "signet_token_sign_seconds_bucket{"
			    "le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		else
			evbuffer_add_printf(b, "signet_token_sign_seconds_bucket{"
			    "le=\"%g\"} %llu\n", (double)t->le_us[i] / 1e6,
			    (unsigned long long)cum);
	}
	if (t->nbuckets == 0)
		evbuffer_add_printf(b, "signet_token_sign_seconds_bucket{"
		    "le=\"+Inf\"} 0\n");
	evbuffer_add_printf(b, "signet_token_sign_seconds_sum %.6f\n"
	    "signet_token_sign_seconds_count %llu\n",
	    (double)t->sum_us / 1e6, (unsigned long long)cum);
}

/* A histogram in seconds from microsecond buckets. */
static void
render_us_hist(struct evbuffer *b, const char *name, const char *help,
    const struct proto_hist *h)
{
	uint64_t cum = 0;
	size_t i;

	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name,
	    help, name);
	for (i = 0; i < h->nbuckets; i++) {
		cum += h->count[i];
		if (h->le_us[i] == UINT64_MAX)
			evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n",
			    name, (unsigned long long)cum);
		else
			evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %llu\n",
			    name, (double)h->le_us[i] / 1e6,
			    (unsigned long long)cum);
	}
	if (h->nbuckets == 0)
		evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} 0\n", name);
	evbuffer_add_printf(b, "%s_sum %.6f\n%s_count %llu\n", name,
	    (double)h->sum_us / 1e6, name, (unsigned long long)cum);
}

/* Ledger group commit, the OCSP answer cache, CRLs per issuer. */
static void
render_store(const struct proto_health_rep *h, struct evbuffer *b)
{
	size_t i;

	evbuffer_add_printf(b, "# HELP signet_ledger_operations_total Ledger "
	    "writes, and the transactions that committed them (their ratio "
	    "is the group-commit batch size).\n"
	    "# TYPE signet_ledger_operations_total counter\n"
	    "signet_ledger_operations_total %llu\n"
	    "# HELP signet_ledger_transactions_total Ledger transactions "
	    "committed.\n# TYPE signet_ledger_transactions_total counter\n"
	    "signet_ledger_transactions_total %llu\n",
	    (unsigned long long)h->ledger_ops,
	    (unsigned long long)h->ledger_transactions);
	render_us_hist(b, "signet_ledger_commit_seconds", "Time of a ledger "
	    "group commit, BEGIN to durable COMMIT.", &h->ledger_commit);
	evbuffer_add_printf(b, "# HELP signet_ledger_sqlite_memory_bytes "
	    "Heap SQLite holds in the engine: the page caches (storage."
	    "cache_kib per connection) and schema and statements; 0 with "
	    "another backend.\n"
	    "# TYPE signet_ledger_sqlite_memory_bytes gauge\n"
	    "signet_ledger_sqlite_memory_bytes %llu\n",
	    (unsigned long long)h->ledger_sqlite_mem);
	evbuffer_add_printf(b, "# HELP signet_ocsp_cache_total OCSP answer "
	    "cache lookups and changes, by event.\n"
	    "# TYPE signet_ocsp_cache_total counter\n"
	    "signet_ocsp_cache_total{event=\"hit\"} %llu\n"
	    "signet_ocsp_cache_total{event=\"miss\"} %llu\n"
	    "signet_ocsp_cache_total{event=\"eviction\"} %llu\n"
	    "# HELP signet_ocsp_signatures_total OCSP answers signed.\n"
	    "# TYPE signet_ocsp_signatures_total counter\n"
	    "signet_ocsp_signatures_total %llu\n"
	    "# HELP signet_ocsp_cache_entries OCSP answers cached.\n"
	    "# TYPE signet_ocsp_cache_entries gauge\n"
	    "signet_ocsp_cache_entries %llu\n",
	    (unsigned long long)h->ocsp_hits,
	    (unsigned long long)h->ocsp_misses,
	    (unsigned long long)h->ocsp_evictions,
	    (unsigned long long)h->ocsp_signatures,
	    (unsigned long long)h->ocsp_entries);
	evbuffer_add_printf(b, "# HELP signet_crl_age_seconds Time since the "
	    "current CRL's thisUpdate, by issuer.\n"
	    "# TYPE signet_crl_age_seconds gauge\n");
	for (i = 0; i < h->ncrls; i++) {
		evbuffer_add_printf(b, "signet_crl_age_seconds{issuer=\"");
		label_value(b, h->crls[i].issuer);
		evbuffer_add_printf(b, "\"} %llu\n",
		    (unsigned long long)h->crls[i].age);
	}
	evbuffer_add_printf(b, "# HELP signet_crl_bytes Size of the current "
	    "CRL, by issuer.\n# TYPE signet_crl_bytes gauge\n");
	for (i = 0; i < h->ncrls; i++) {
		evbuffer_add_printf(b, "signet_crl_bytes{issuer=\"");
		label_value(b, h->crls[i].issuer);
		evbuffer_add_printf(b, "\"} %llu\n",
		    (unsigned long long)h->crls[i].bytes);
	}
	evbuffer_add_printf(b, "# HELP signet_crl_entries Certificates the "
	    "current CRL lists, by issuer.\n# TYPE signet_crl_entries gauge\n");
	for (i = 0; i < h->ncrls; i++) {
		evbuffer_add_printf(b, "signet_crl_entries{issuer=\"");
		label_value(b, h->crls[i].issuer);
		evbuffer_add_printf(b, "\"} %llu\n",
		    (unsigned long long)h->crls[i].entries);
	}
}

/* Expiry notifications (issue 19, docs/notify.md). */
static void
render_notify(const struct proto_health_rep *h, struct evbuffer *b)
{
	int i;

	if (h->nexpiring == 0)
		return;
	evbuffer_add_printf(b, "# HELP signet_certificates_expiring "
	    "Certificates issued, not revoked and not expired that crossed a "
	    "notification threshold (window), by tenant and profile.\n"
	    "# TYPE signet_certificates_expiring gauge\n");
	for (i = 0; i < h->nexpiring && i < PROTO_MAX_EXPIRING; i++) {
		evbuffer_add_printf(b, "signet_certificates_expiring{tenant=\"");
		label_value(b, h->expiring[i].tenant);
		evbuffer_add_printf(b, "\",profile=\"");
		label_value(b, h->expiring[i].profile);
		evbuffer_add_printf(b, "\",window=\"");
		label_value(b, h->expiring[i].window);
		evbuffer_add_printf(b, "\"} %llu\n",
		    (unsigned long long)h->expiring[i].certificates);
	}
	evbuffer_add_printf(b, "# HELP signet_notify_deliveries Expiry "
	    "notifications in the ledger's queue, by state.\n"
	    "# TYPE signet_notify_deliveries gauge\n"
	    "signet_notify_deliveries{state=\"pending\"} %llu\n"
	    "signet_notify_deliveries{state=\"delivered\"} %llu\n"
	    "signet_notify_deliveries{state=\"failed\"} %llu\n",
	    (unsigned long long)h->notify_pending,
	    (unsigned long long)h->notify_delivered,
	    (unsigned long long)h->notify_failed);
}

void
https_metrics_engine(const struct proto_health_rep *h, struct evbuffer *b)
{
	int i;

	evbuffer_add_printf(b, "# HELP signet_engine_limit_total Events of "
	    "the engine's budgets, for every front end: refusals by rate "
	    "(identity, tenant, failing source), authentication failures, "
	    "failures folded into audit counts, log lines held back, OCSP "
	    "nonces signed and not echoed.\n"
	    "# TYPE signet_engine_limit_total counter\n");
	for (i = 0; i < PROTO_C_MAX; i++)
		if (!revocation_counter(i))
			evbuffer_add_printf(b, "signet_engine_limit_total{"
			    "event=\"%s\"} %llu\n", proto_counter_name(i),
			    (unsigned long long)h->counters[i]);
	evbuffer_add_printf(b, "# HELP signet_revocation_refresh_total CRLs "
	    "built by the background timer and by fetches that found theirs "
	    "due, cached OCSP answers re-signed by the timer.\n"
	    "# TYPE signet_revocation_refresh_total counter\n");
	for (i = 0; i < PROTO_C_MAX; i++)
		if (revocation_counter(i))
			evbuffer_add_printf(b, "signet_revocation_refresh_total{"
			    "event=\"%s\"} %llu\n", proto_counter_name(i),
			    (unsigned long long)h->counters[i]);
	render_coap(h, b);
	render_targets(h, b);
	render_token(&h->token, b);
	render_store(h, b);
	render_notify(h, b);
}
