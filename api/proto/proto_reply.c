/*
 * Reply codecs.  A reply is a status, then the payload of its request type
 * only if the status is OK: an error carries nothing a front end could
 * mistake for a result.
 */
#include <string.h>

#include "proto_local.h"

static int
status_get(struct proto_cur *c, struct proto_status *s)
{
	if (proto_get_u8(c, &s->result) == PROTO_OK &&
	    s->result >= PROTO_R_MAX)
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	proto_get_strbuf(c, s->message, sizeof(s->message));
	return proto_get_u32(c, &s->retry_after);
}

static int
status_put(struct proto_wbuf *w, const struct proto_status *s)
{
	if (w->err == PROTO_OK && s->result >= PROTO_R_MAX)
		w->err = PROTO_ERR_VALUE;
	proto_put_u8(w, s->result);
	proto_put_cstr(w, PROTO_MAX_STR, s->message);
	return proto_put_u32(w, s->retry_after);
}

static int
summary_get(struct proto_cur *c, struct proto_cert_summary *s)
{
	proto_serial_get(c, &s->serial);
	if (proto_get_u8(c, &s->status) == PROTO_OK &&
	    (s->status < PROTO_CS_VALID || s->status > PROTO_CS_EXPIRED))
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	proto_get_u64(c, &s->not_before);
	proto_get_u64(c, &s->not_after);
	proto_get_u64(c, &s->revoked_at);
	proto_get_strbuf(c, s->profile, sizeof(s->profile));
	proto_get_strbuf(c, s->subject, sizeof(s->subject));
	return proto_get_strbuf(c, s->authorized_by,
	    sizeof(s->authorized_by));
}

static int
summary_put(struct proto_wbuf *w, const struct proto_cert_summary *s)
{
	proto_serial_put(w, &s->serial);
	if (w->err == PROTO_OK &&
	    (s->status < PROTO_CS_VALID || s->status > PROTO_CS_EXPIRED))
		w->err = PROTO_ERR_VALUE;
	proto_put_u8(w, s->status);
	proto_put_u64(w, s->not_before);
	proto_put_u64(w, s->not_after);
	proto_put_u64(w, s->revoked_at);
	proto_put_cstr(w, PROTO_MAX_STR, s->profile);
	proto_put_cstr(w, PROTO_MAX_STR, s->subject);
	return proto_put_cstr(w, PROTO_MAX_AUTHBY, s->authorized_by);
}

/* A certificate field must hold something: an empty DER is never valid. */
static int
cert_get(struct proto_cur *c, struct proto_blob *b)
{
	if (proto_blob_get(c, PROTO_MAX_CERT, b) == PROTO_OK && b->len == 0)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	return c->err;
}

static int
cert_put(struct proto_wbuf *w, const struct proto_blob *b)
{
	if (w->err == PROTO_OK && b->len == 0)
		w->err = PROTO_ERR_VALUE;
	return proto_blob_put(w, PROTO_MAX_CERT, b);
}

static int
cert_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	cert_get(c, &r->u.cert.cert);
	return proto_chain_get(c, &r->u.cert.chain, 0);
}

static int
cert_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	cert_put(w, &r->u.cert.cert);
	return proto_chain_put(w, &r->u.cert.chain, 0);
}

static int
chain_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	return proto_chain_get(c, &r->u.chain, 1);
}

static int
chain_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	return proto_chain_put(w, &r->u.chain, 1);
}

static int
der_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	return proto_blob_get(c, PROTO_MAX_BLOB, &r->u.der);
}

static int
der_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	return proto_blob_put(w, PROTO_MAX_BLOB, &r->u.der);
}

static int
revoke_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	return proto_get_u64(c, &r->u.revoked_at);
}

static int
revoke_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	return proto_put_u64(w, r->u.revoked_at);
}

/*
 * A lookup answers what the ledger has: a certificate from a profile
 * with store = false has its row but no DER, so the blob may be empty
 * (issue 13; it was refused and the lookup answered 500).
 */
static int
get_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	summary_get(c, &r->u.get.sum);
	return proto_blob_get(c, PROTO_MAX_CERT, &r->u.get.cert);
}

static int
get_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	summary_put(w, &r->u.get.sum);
	return proto_blob_put(w, PROTO_MAX_CERT, &r->u.get.cert);
}

static int
list_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	struct proto_list_rep *m = &r->u.list;
	unsigned i;

	proto_get_u32(c, &m->total);
	if (proto_get_u16(c, &m->n) != PROTO_OK)
		return c->err;
	if (m->n > PROTO_MAX_LIST)
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; i < m->n && c->err == PROTO_OK; i++)
		summary_get(c, &m->items[i]);
	return c->err;
}

static int
list_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	const struct proto_list_rep *m = &r->u.list;
	unsigned i;

	if (w->err == PROTO_OK && m->n > PROTO_MAX_LIST)
		w->err = PROTO_ERR_VALUE;
	proto_put_u32(w, m->total);
	proto_put_u16(w, m->n);
	for (i = 0; i < m->n && w->err == PROTO_OK; i++)
		summary_put(w, &m->items[i]);
	return w->err;
}

static int
token_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	struct proto_token_rep *m = &r->u.token;

	proto_get_strbuf(c, m->id, sizeof(m->id));
	proto_get_strbuf(c, m->secret, sizeof(m->secret));
	return proto_get_u64(c, &m->expires_at);
}

static int
token_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	const struct proto_token_rep *m = &r->u.token;

	proto_put_cstr(w, PROTO_MAX_STR, m->id);
	proto_put_cstr(w, PROTO_MAX_TOKEN, m->secret);
	return proto_put_u64(w, m->expires_at);
}

static int
health_ok(const struct proto_health_rep *m)
{
	return m->state >= PROTO_STATE_STARTING &&
	    m->state <= PROTO_STATE_DRAINING && m->token_ok <= 1 &&
	    m->ledger_ok <= 1 && m->audit_ok <= 1;
}

/* One target's counts; the refusals are exactly this version's results. */
static int
target_counts_get(struct proto_cur *c, struct proto_target_counts *t)
{
	uint8_t n;
	size_t i;

	proto_get_strbuf(c, t->tenant, sizeof(t->tenant));
	proto_get_strbuf(c, t->profile, sizeof(t->profile));
	proto_get_u64(c, &t->issued);
	proto_get_u64(c, &t->revoked);
	if (proto_get_u8(c, &n) == PROTO_OK && n != PROTO_R_MAX)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; c->err == PROTO_OK && i < PROTO_R_MAX; i++)
		proto_get_u64(c, &t->refused[i]);
	return c->err;
}

static int
target_counts_put(struct proto_wbuf *w, const struct proto_target_counts *t)
{
	size_t i;

	proto_put_cstr(w, PROTO_MAX_STR, t->tenant);
	proto_put_cstr(w, PROTO_MAX_STR, t->profile);
	proto_put_u64(w, t->issued);
	proto_put_u64(w, t->revoked);
	proto_put_u8(w, PROTO_R_MAX);
	for (i = 0; i < PROTO_R_MAX; i++)
		proto_put_u64(w, t->refused[i]);
	return w->err;
}

/* Bounds strictly increasing, the last +Inf (UINT64_MAX). */
static int
bounds_ok(const uint64_t *le_us, size_t n)
{
	size_t i;

	if (n > PROTO_MAX_BUCKETS)
		return 0;
	for (i = 1; i < n; i++)
		if (le_us[i] <= le_us[i - 1])
			return 0;
	return n == 0 || le_us[n - 1] == UINT64_MAX;
}

static int
buckets_ok(const struct proto_token_stats *t)
{
	return bounds_ok(t->le_us, t->nbuckets);
}

static int
token_stats_get(struct proto_cur *c, struct proto_token_stats *t)
{
	size_t i;

	if (proto_get_u8(c, &t->state) == PROTO_OK && t->state > 2)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	proto_get_u64(c, &t->faults);
	proto_get_u64(c, &t->recoveries);
	proto_get_u64(c, &t->recovery_attempts);
	proto_get_u64(c, &t->signatures);
	proto_get_u32(c, &t->pool_size);
	proto_get_u32(c, &t->sessions_busy);
	if (proto_get_u8(c, &t->nbuckets) == PROTO_OK &&
	    t->nbuckets > PROTO_MAX_BUCKETS)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; c->err == PROTO_OK && i < t->nbuckets; i++) {
		proto_get_u64(c, &t->le_us[i]);
		proto_get_u64(c, &t->count[i]);
	}
	if (proto_get_u64(c, &t->sum_us) == PROTO_OK && !buckets_ok(t))
		proto_cur_fail(c, PROTO_ERR_VALUE);
	return c->err;
}

static int
token_stats_put(struct proto_wbuf *w, const struct proto_token_stats *t)
{
	size_t i;

	if (w->err == PROTO_OK && (t->state > 2 || !buckets_ok(t)))
		w->err = PROTO_ERR_VALUE;
	proto_put_u8(w, t->state);
	proto_put_u64(w, t->faults);
	proto_put_u64(w, t->recoveries);
	proto_put_u64(w, t->recovery_attempts);
	proto_put_u64(w, t->signatures);
	proto_put_u32(w, t->pool_size);
	proto_put_u32(w, t->sessions_busy);
	proto_put_u8(w, t->nbuckets);
	for (i = 0; i < t->nbuckets && i < PROTO_MAX_BUCKETS; i++) {
		proto_put_u64(w, t->le_us[i]);
		proto_put_u64(w, t->count[i]);
	}
	return proto_put_u64(w, t->sum_us);
}

static int
hist_get(struct proto_cur *c, struct proto_hist *h)
{
	size_t i;

	if (proto_get_u8(c, &h->nbuckets) == PROTO_OK &&
	    h->nbuckets > PROTO_MAX_BUCKETS)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; c->err == PROTO_OK && i < h->nbuckets; i++) {
		proto_get_u64(c, &h->le_us[i]);
		proto_get_u64(c, &h->count[i]);
	}
	if (proto_get_u64(c, &h->sum_us) == PROTO_OK &&
	    !bounds_ok(h->le_us, h->nbuckets))
		proto_cur_fail(c, PROTO_ERR_VALUE);
	return c->err;
}

static int
hist_put(struct proto_wbuf *w, const struct proto_hist *h)
{
	size_t i;

	if (w->err == PROTO_OK && !bounds_ok(h->le_us, h->nbuckets))
		w->err = PROTO_ERR_VALUE;
	proto_put_u8(w, h->nbuckets);
	for (i = 0; i < h->nbuckets && i < PROTO_MAX_BUCKETS; i++) {
		proto_put_u64(w, h->le_us[i]);
		proto_put_u64(w, h->count[i]);
	}
	return proto_put_u64(w, h->sum_us);
}

/* Ledger, OCSP cache and CRLs, after the token. */
static int
store_stats_get(struct proto_cur *c, struct proto_health_rep *m)
{
	size_t i;

	proto_get_u64(c, &m->ledger_ops);
	proto_get_u64(c, &m->ledger_transactions);
	proto_get_u64(c, &m->ocsp_hits);
	proto_get_u64(c, &m->ocsp_misses);
	proto_get_u64(c, &m->ocsp_signatures);
	proto_get_u64(c, &m->ocsp_evictions);
	proto_get_u64(c, &m->ocsp_entries);
	if (proto_get_u8(c, &m->ncrls) == PROTO_OK &&
	    m->ncrls > PROTO_MAX_CRLS)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; c->err == PROTO_OK && i < m->ncrls; i++) {
		proto_get_strbuf(c, m->crls[i].issuer,
		    sizeof(m->crls[i].issuer));
		proto_get_u64(c, &m->crls[i].age);
		proto_get_u64(c, &m->crls[i].bytes);
		proto_get_u64(c, &m->crls[i].entries);
	}
	return c->err;
}

static int
store_stats_put(struct proto_wbuf *w, const struct proto_health_rep *m)
{
	size_t i;

	if (w->err == PROTO_OK && m->ncrls > PROTO_MAX_CRLS)
		w->err = PROTO_ERR_VALUE;
	proto_put_u64(w, m->ledger_ops);
	proto_put_u64(w, m->ledger_transactions);
	proto_put_u64(w, m->ocsp_hits);
	proto_put_u64(w, m->ocsp_misses);
	proto_put_u64(w, m->ocsp_signatures);
	proto_put_u64(w, m->ocsp_evictions);
	proto_put_u64(w, m->ocsp_entries);
	proto_put_u8(w, m->ncrls);
	for (i = 0; i < m->ncrls && i < PROTO_MAX_CRLS; i++) {
		proto_put_cstr(w, PROTO_MAX_STR, m->crls[i].issuer);
		proto_put_u64(w, m->crls[i].age);
		proto_put_u64(w, m->crls[i].bytes);
		proto_put_u64(w, m->crls[i].entries);
	}
	return w->err;
}

static int
health_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	struct proto_health_rep *m = &r->u.health;
	uint8_t n;
	size_t i;

	proto_get_u8(c, &m->state);
	proto_get_u8(c, &m->token_ok);
	proto_get_u8(c, &m->ledger_ok);
	proto_get_u8(c, &m->audit_ok);
	proto_get_u64(c, &m->uptime);
	proto_get_u64(c, &m->issued);
	if (proto_get_strbuf(c, m->version, sizeof(m->version)) ==
	    PROTO_OK && !health_ok(m))
		proto_cur_fail(c, PROTO_ERR_VALUE);
	/* Exactly the counters this version knows, in enum order. */
	if (proto_get_u8(c, &n) == PROTO_OK && n != PROTO_C_MAX)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; c->err == PROTO_OK && i < PROTO_C_MAX; i++)
		proto_get_u64(c, &m->counters[i]);
	if (proto_get_u8(c, &n) == PROTO_OK && n != PROTO_CC_MAX)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; c->err == PROTO_OK && i < PROTO_CC_MAX; i++)
		proto_get_u64(c, &m->coap[i]);
	if (proto_get_u16(c, &m->ntargets) == PROTO_OK &&
	    m->ntargets > PROTO_MAX_TARGETS)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; c->err == PROTO_OK && i < m->ntargets; i++)
		target_counts_get(c, &m->targets[i]);
	if (c->err == PROTO_OK)
		token_stats_get(c, &m->token);
	if (c->err == PROTO_OK)
		store_stats_get(c, m);
	proto_failed_get(c, m->failed, &m->nfailed);
	if (c->err == PROTO_OK)
		hist_get(c, &m->ledger_commit);
	if (proto_get_u8(c, &m->nexpiring) == PROTO_OK &&
	    m->nexpiring > PROTO_MAX_EXPIRING)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	for (i = 0; c->err == PROTO_OK && i < m->nexpiring; i++) {
		proto_get_strbuf(c, m->expiring[i].tenant,
		    sizeof(m->expiring[i].tenant));
		proto_get_strbuf(c, m->expiring[i].profile,
		    sizeof(m->expiring[i].profile));
		proto_get_strbuf(c, m->expiring[i].window,
		    sizeof(m->expiring[i].window));
		proto_get_u64(c, &m->expiring[i].certificates);
	}
	proto_get_u64(c, &m->notify_pending);
	proto_get_u64(c, &m->notify_delivered);
	proto_get_u64(c, &m->notify_failed);
	proto_get_u64(c, &m->ledger_sqlite_mem);
	return c->err;
}

static int
health_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	const struct proto_health_rep *m = &r->u.health;
	size_t i;

	if (w->err == PROTO_OK && !health_ok(m))
		w->err = PROTO_ERR_VALUE;
	proto_put_u8(w, m->state);
	proto_put_u8(w, m->token_ok);
	proto_put_u8(w, m->ledger_ok);
	proto_put_u8(w, m->audit_ok);
	proto_put_u64(w, m->uptime);
	proto_put_u64(w, m->issued);
	proto_put_cstr(w, PROTO_MAX_STR, m->version);
	proto_put_u8(w, PROTO_C_MAX);
	for (i = 0; i < PROTO_C_MAX; i++)
		proto_put_u64(w, m->counters[i]);
	proto_put_u8(w, PROTO_CC_MAX);
	for (i = 0; i < PROTO_CC_MAX; i++)
		proto_put_u64(w, m->coap[i]);
	if (w->err == PROTO_OK && m->ntargets > PROTO_MAX_TARGETS)
		w->err = PROTO_ERR_VALUE;
	proto_put_u16(w, m->ntargets);
	for (i = 0; i < m->ntargets && i < PROTO_MAX_TARGETS; i++)
		target_counts_put(w, &m->targets[i]);
	token_stats_put(w, &m->token);
	store_stats_put(w, m);
	proto_failed_put(w, m->failed, m->nfailed);
	hist_put(w, &m->ledger_commit);
	if (w->err == PROTO_OK && m->nexpiring > PROTO_MAX_EXPIRING)
		w->err = PROTO_ERR_VALUE;
	proto_put_u8(w, m->nexpiring);
	for (i = 0; i < m->nexpiring && i < PROTO_MAX_EXPIRING; i++) {
		proto_put_cstr(w, PROTO_MAX_STR, m->expiring[i].tenant);
		proto_put_cstr(w, PROTO_MAX_STR, m->expiring[i].profile);
		proto_put_cstr(w, PROTO_MAX_WINDOW, m->expiring[i].window);
		proto_put_u64(w, m->expiring[i].certificates);
	}
	proto_put_u64(w, m->notify_pending);
	proto_put_u64(w, m->notify_delivered);
	proto_put_u64(w, m->notify_failed);
	proto_put_u64(w, m->ledger_sqlite_mem);
	return w->err;
}

/* COAP_STATS: the status says it all. */
static int
empty_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	return c->err;
}

static int
empty_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	return w->err;
}

/* The key is copied out so the caller can wipe it with the reply. */
static int
psk_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	const uint8_t *p;
	size_t len;

	if (proto_get_data(c, PROTO_MAX_PSK, &p, &len) != PROTO_OK)
		return c->err;
	if (len == 0)
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	memcpy(r->u.psk.key, p, len);
	r->u.psk.len = (uint8_t)len;
	if (proto_psk_handle_get(c, r->u.psk.handle) != PROTO_OK ||
	    proto_get_strbuf(c, r->u.psk.tenant, sizeof(r->u.psk.tenant)) !=
	    PROTO_OK)
		return c->err;
	return proto_get_strbuf(c, r->u.psk.profile,
	    sizeof(r->u.psk.profile));
}

static int
psk_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	if (w->err == PROTO_OK && (r->u.psk.len == 0 ||
	    r->u.psk.len > PROTO_MAX_PSK))
		w->err = PROTO_ERR_VALUE;
	proto_put_data(w, PROTO_MAX_PSK, r->u.psk.key, r->u.psk.len);
	proto_put_data(w, PROTO_PSK_HANDLE_LEN, r->u.psk.handle,
	    PROTO_PSK_HANDLE_LEN);
	proto_put_cstr(w, PROTO_MAX_STR, r->u.psk.tenant);
	return proto_put_cstr(w, PROTO_MAX_STR, r->u.psk.profile);
}

static int
acme_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	struct proto_acme_rep *m = &r->u.acme;

	proto_get_u16(c, &m->status);
	if (proto_get_u8(c, &m->ctype) == PROTO_OK &&
	    (m->ctype >= PROTO_ACME_CT_MAX || m->status < 100 ||
	    m->status > 599))
		return proto_cur_fail(c, PROTO_ERR_VALUE);
	proto_get_strbuf(c, m->id, sizeof(m->id));
	proto_get_strbuf(c, m->location, sizeof(m->location));
	proto_get_strbuf(c, m->up, sizeof(m->up));
	proto_get_strbuf(c, m->nonce, sizeof(m->nonce));
	proto_blob_get(c, PROTO_MAX_BLOB, &m->body);
	proto_get_strbuf(c, m->index, sizeof(m->index));
	proto_get_u32(c, &m->retry_after);
	return proto_get_strbuf(c, m->next, sizeof(m->next));
}

static int
acme_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	const struct proto_acme_rep *m = &r->u.acme;

	if (w->err == PROTO_OK && (m->ctype >= PROTO_ACME_CT_MAX ||
	    m->status < 100 || m->status > 599))
		w->err = PROTO_ERR_VALUE;
	proto_put_u16(w, m->status);
	proto_put_u8(w, m->ctype);
	proto_put_cstr(w, PROTO_MAX_STR, m->id);
	proto_put_cstr(w, PROTO_MAX_ACME_URL, m->location);
	proto_put_cstr(w, PROTO_MAX_ACME_URL, m->up);
	proto_put_cstr(w, PROTO_MAX_STR, m->nonce);
	proto_blob_put(w, PROTO_MAX_BLOB, &m->body);
	proto_put_cstr(w, PROTO_MAX_ACME_URL, m->index);
	proto_put_u32(w, m->retry_after);
	return proto_put_cstr(w, PROTO_MAX_ACME_URL, m->next);
}

static int
tidy_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	proto_get_u64(c, &r->u.tidy.certs);
	proto_get_u64(c, &r->u.tidy.tokens);
	proto_get_u64(c, &r->u.tidy.cutoff);
	if (proto_get_u8(c, &r->u.tidy.done) == PROTO_OK &&
	    r->u.tidy.done > 1)
		proto_cur_fail(c, PROTO_ERR_VALUE);
	return c->err;
}

static int
tidy_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	if (w->err == PROTO_OK && r->u.tidy.done > 1)
		w->err = PROTO_ERR_VALUE;
	proto_put_u64(w, r->u.tidy.certs);
	proto_put_u64(w, r->u.tidy.tokens);
	proto_put_u64(w, r->u.tidy.cutoff);
	return proto_put_u8(w, r->u.tidy.done);
}

static int
notify_rep_get(struct proto_cur *c, struct proto_reply *r)
{
	struct proto_notify_rep *m = &r->u.notify;

	proto_get_u64(c, &m->id);
	proto_get_u32(c, &m->attempt);
	proto_get_strbuf(c, m->url, sizeof(m->url));
	proto_get_strbuf(c, m->signature, sizeof(m->signature));
	return proto_blob_get(c, PROTO_MAX_NOTIFY_BODY, &m->body);
}

static int
notify_rep_put(struct proto_wbuf *w, const struct proto_reply *r)
{
	const struct proto_notify_rep *m = &r->u.notify;

	proto_put_u64(w, m->id);
	proto_put_u32(w, m->attempt);
	proto_put_cstr(w, PROTO_MAX_ACME_URL, m->url);
	proto_put_cstr(w, PROTO_MAX_STR, m->signature);
	return proto_blob_put(w, PROTO_MAX_NOTIFY_BODY, &m->body);
}

static const struct {
	int	(*get)(struct proto_cur *, struct proto_reply *);
	int	(*put)(struct proto_wbuf *, const struct proto_reply *);
} rep_codecs[PROTO_T_MAX] = {
	[PROTO_T_ISSUE] =	 { cert_rep_get, cert_rep_put },
	[PROTO_T_REISSUE] =	 { cert_rep_get, cert_rep_put },
	[PROTO_T_CACERTS] =	 { chain_rep_get, chain_rep_put },
	[PROTO_T_CSRATTRS] =	 { der_rep_get, der_rep_put },
	[PROTO_T_REVOKE] =	 { revoke_rep_get, revoke_rep_put },
	[PROTO_T_GET_CERT] =	 { get_rep_get, get_rep_put },
	[PROTO_T_LIST_CERTS] =	 { list_rep_get, list_rep_put },
	[PROTO_T_TOKEN_CREATE] = { token_rep_get, token_rep_put },
	[PROTO_T_HEALTH] =	 { health_rep_get, health_rep_put },
	[PROTO_T_OCSP] =	 { der_rep_get, der_rep_put },
	[PROTO_T_CRL] =		 { der_rep_get, der_rep_put },
	[PROTO_T_PSK_LOOKUP] =	 { psk_rep_get, psk_rep_put },
	[PROTO_T_ACME] =	 { acme_rep_get, acme_rep_put },
	[PROTO_T_ACME_EAB] =	 { token_rep_get, token_rep_put },
	[PROTO_T_ACME_VA] =	 { acme_rep_get, acme_rep_put },
	[PROTO_T_COAP_STATS] =	 { empty_rep_get, empty_rep_put },
	[PROTO_T_TIDY] =	 { tidy_rep_get, tidy_rep_put },
	[PROTO_T_NOTIFY] =	 { notify_rep_get, notify_rep_put },
	[PROTO_T_AUDIT_QUERY] =	 { proto_auditq_rep_get, proto_auditq_rep_put },
};

int
proto_reply_encode(const struct proto_reply *r, uint8_t *buf, size_t size,
    size_t *len)
{
	struct proto_wbuf w;

	*len = 0;
	if (r->type == 0 || r->type >= PROTO_T_MAX)
		return PROTO_ERR_TYPE;
	if (size > PROTO_MAX_BODY)
		size = PROTO_MAX_BODY;
	proto_wbuf_init(&w, buf, size);
	status_put(&w, &r->status);
	if (r->status.result == PROTO_R_OK)
		rep_codecs[r->type].put(&w, r);
	if (w.err != PROTO_OK)
		return w.err;
	*len = w.len;
	return PROTO_OK;
}

int
proto_reply_decode(uint16_t type, const uint8_t *body, size_t len,
    struct proto_reply *r)
{
	struct proto_cur c;
	int rc;

	memset(r, 0, sizeof(*r));
	/* Take the type with or without the reply bit, as on the wire. */
	type &= (uint16_t)~PROTO_T_REPLY;
	if (type == 0 || type >= PROTO_T_MAX)
		return PROTO_ERR_TYPE;
	r->type = type;
	proto_cur_init(&c, body, len);
	if (status_get(&c, &r->status) == PROTO_OK &&
	    r->status.result == PROTO_R_OK)
		rep_codecs[type].get(&c, r);
	if ((rc = proto_end(&c)) != PROTO_OK) {
		proto_wipe(r, sizeof(*r));
		r->type = type;
	}
	return rc;
}
