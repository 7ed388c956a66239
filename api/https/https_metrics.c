/*
 * Prometheus metrics (text format 0.0.4): requests by route and status,
 * a latency histogram per route, engine-call failures.  Counters are per
 * process; each series carries the worker's pid so that scrapes landing on
 * different workers are not read as counter resets.
 */
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
	[HTTPS_R_V1_HEALTH] = "v1_health",
	[HTTPS_R_CA] = "ca",
	[HTTPS_R_CRL] = "crl",
	[HTTPS_R_OCSP] = "ocsp",
	[HTTPS_R_METRICS] = "metrics",
	[HTTPS_R_ACME] = "acme",
	[HTTPS_R_V1_ACME_EAB] = "v1_acme_eab",
	[HTTPS_R_OTHER] = "other",
};

static const int codes[HTTPS_M_CODES] = {
	200, 204, 400, 401, 403, 404, 405, 409, 413, 415, 429, 431, 500, 501,
	503
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
	/* An unlisted code is counted as 500; there are none today. */
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
}
