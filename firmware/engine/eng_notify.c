/*
 * Expiry notifications (issue 19, docs/notify.md).
 *
 * The schedule (eng_notify_tick, on the tidy thread): every
 * notify.interval, each threshold of each profile with webhooks queues
 * the certificates that crossed it (ledger_notify_enqueue: idempotent,
 * so a scan missed or repeated, here or on another node, changes
 * nothing).
 *
 * The delivery (NOTIFY, from signet-notify only): NEXT claims the
 * delivery due first for notify.lease seconds and hands out the body and
 * its signature, both made here: the delivery process holds no key and
 * cannot word a notification.  RESULT settles that claim: delivered on a
 * 2xx, else due again after notify.retry doubled per attempt (at most an
 * hour), given up after notify.max_attempts.  A claim never settled (the
 * engine or the delivery process died, the receiver hung) is offered
 * again when its lease ends: delivered at least once.
 *
 * The signature: X-Signet-Signature: sha256=<hex HMAC-SHA256 of the body>
 * under the key in notify.secret_file (the receivers hold the same file).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <signet/ledger_notify.h>

#include "eng_engine_local.h"

#define ENG_NOTIFY_BACKOFF_MAX	3600	/* seconds between attempts, max */
#define ENG_NOTIFY_KEY_MIN	16	/* bytes of HMAC key, at least */

/* Read notify.secret_file once: 0600 or stricter, 16..64 bytes. */
static int
eng_notify_key_load(struct eng_engine *e, const char *path)
{
	uint8_t buf[ENG_NOTIFY_KEY_MAX + 2];
	struct stat sb;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_warnx("msg=\"notify: cannot read secret_file\" file=%s "
		    "error=\"%s\"", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || (sb.st_mode & 077) != 0) {
		log_warnx("msg=\"notify: secret_file must be readable by its "
		    "owner only (chmod 600)\" file=%s", path);
		goto out;
	}
	n = read(fd, buf, sizeof(buf));
	/* A trailing newline is the editor's, not the key's. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n < ENG_NOTIFY_KEY_MIN || n > ENG_NOTIFY_KEY_MAX) {
		log_warnx("msg=\"notify: secret_file must hold %d to %d "
		    "bytes\" file=%s", ENG_NOTIFY_KEY_MIN, ENG_NOTIFY_KEY_MAX,
		    path);
		goto out;
	}
	memcpy(e->notify_key, buf, (size_t)n);
	e->notify_key_len = (size_t)n;
	atomic_store(&e->notify_key_ready, 1);
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* The thresholds of one profile, each to each of its webhooks. */
static void
eng_notify_scan(struct eng_engine *e, const struct sconf_tenant *t,
    const struct sconf_profile *p, int64_t now)
{
	struct ledger_notify_rule r;
	uint64_t added;
	size_t i, j;
	int rc;

	for (i = 0; i < p->notify_thresholds.n; i++) {
		memset(&r, 0, sizeof(r));
		r.tenant = t->name;
		r.profile = p->name;
		r.threshold = p->notify_thresholds.v[i];
		if (sconf_threshold(r.threshold, &r.secs, &r.permille) != 0)
			continue;	/* sconf refused it already */
		for (j = 0; j < p->notify_webhooks.n; j++) {
			r.webhook = p->notify_webhooks.v[j];
			rc = ledger_notify_enqueue(e->ledger, &r, now, &added);
			if (rc != LEDGER_OK)
				log_warnx("msg=\"notify: scan failed\" "
				    "tenant=%s profile=%s threshold=%s "
				    "error=\"%s\"", t->name, p->name,
				    r.threshold, ledger_strerror(rc));
			else if (added > 0)
				log_info("msg=\"notify: queued\" tenant=%s "
				    "profile=%s threshold=%s webhook=\"%s\" "
				    "certificates=%llu", t->name, p->name,
				    r.threshold, r.webhook,
				    (unsigned long long)added);
		}
	}
}

/*
 * The expiring gauge: one count per profile with webhooks and threshold,
 * made once per scan on the tidy thread (a COUNT each, which on a large
 * ledger HEALTH should not pay on every scrape), then published whole.
 * A count that fails keeps its row out until the next scan.
 */
static void
eng_notify_count(struct eng_engine *e, const struct sconf *c)
{
	struct proto_expiring v[PROTO_MAX_EXPIRING], *x;
	int64_t now = eng_engine_now(e), secs;
	size_t i, j, n, nv = 0;
	uint64_t count;
	int pm;

	for (i = 0; i < c->ntenants; i++) {
		const struct sconf_tenant *t = &c->tenants[i];

		for (j = 0; j < t->nprofiles; j++) {
			const struct sconf_profile *p = &t->profiles[j];

			for (n = 0; p->notify_webhooks.n > 0 &&
			    n < p->notify_thresholds.n; n++) {
				if (nv >= PROTO_MAX_EXPIRING ||
				    sconf_threshold(p->notify_thresholds.v[n],
				    &secs, &pm) != 0 ||
				    ledger_notify_expiring(e->ledger, t->name,
				    p->name, secs, pm, now, &count) !=
				    LEDGER_OK)
					continue;
				x = &v[nv++];
				memset(x, 0, sizeof(*x));
				eng_fmt(x->tenant, sizeof(x->tenant), "%s",
				    t->name);
				eng_fmt(x->profile, sizeof(x->profile), "%s",
				    p->name);
				eng_fmt(x->window, sizeof(x->window), "%s",
				    p->notify_thresholds.v[n]);
				x->certificates = count;
			}
		}
	}
	pthread_mutex_lock(&e->lock);
	memcpy(e->expiring, v, nv * sizeof(v[0]));
	e->nexpiring = (uint8_t)nv;
	pthread_mutex_unlock(&e->lock);
}

void
eng_notify_tick(struct eng_engine *e, const struct eng_rt *rt,
    const atomic_int *stop)
{
	const struct sconf *c = rt->conf;
	time_t now = time(NULL);
	size_t i, j;

	if (!sconf_notify_wanted(c))
		return;
	if (!e->notify_key_tried) {
		e->notify_key_tried = 1;
		eng_notify_key_load(e, c->notify_secret_file);
	}
	/* After a reload, at once: the gauge is empty until counted. */
	if (atomic_exchange(&e->notify_rescan, 0))
		e->notify_next = 0;
	if (now < e->notify_next)
		return;
	e->notify_next = now + c->notify_interval;
	for (i = 0; i < c->ntenants && !atomic_load(stop); i++)
		for (j = 0; j < c->tenants[i].nprofiles; j++)
			if (c->tenants[i].profiles[j].notify_webhooks.n > 0)
				eng_notify_scan(e, &c->tenants[i],
				    &c->tenants[i].profiles[j],
				    eng_engine_now(e));
	if (!atomic_load(stop))
		eng_notify_count(e, c);
}

/* s as a JSON string (RFC 8259 7) at the end of buf; 0, or -1 if full. */
static int
eng_json_str(char *buf, size_t size, size_t *off, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = *off;
	unsigned char ch;

	if (o + 1 >= size)
		return -1;
	buf[o++] = '"';
	for (; n > 0; s++, n--) {
		ch = (unsigned char)*s;
		if (o + 7 >= size)
			return -1;
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20) {
			memcpy(buf + o, "\\u00", 4);
			buf[o + 4] = hex[ch >> 4];
			buf[o + 5] = hex[ch & 15];
			o += 6;
		} else
			buf[o++] = (char)ch;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	*off = o;
	return 0;
}

/* Append a formatted piece; 0, or -1 if it did not fit. */
static int
eng_json_raw(char *buf, size_t size, size_t *off, const char *s)
{
	size_t n = strlen(s);

	if (*off + n >= size)
		return -1;
	memcpy(buf + *off, s, n + 1);
	*off += n;
	return 0;
}

static void
eng_rfc3339(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		eng_fmt(out, size, "%lld", (long long)t);
}

/*
 * The notification: {"id", "attempt", "tenant", "profile", "serial",
 * "names": [...], "not_before", "not_after", "threshold", "sent_at"}.
 */
static int
eng_notify_body(const struct ledger_notify *n, int64_t now, char *buf,
    size_t size, size_t *len)
{
	char serial[2 * LEDGER_SERIAL_MAX + 1], nb[32], na[32], sent[32];
	char num[64];
	const char *p, *q;
	size_t off = 0;
	int rc = 0;

	if (ledger_serial_hex(&n->serial, serial, sizeof(serial)) != 0)
		return -1;
	eng_rfc3339(n->not_before, nb, sizeof(nb));
	eng_rfc3339(n->not_after, na, sizeof(na));
	eng_rfc3339(now, sent, sizeof(sent));
	eng_fmt(num, sizeof(num), "{\"id\":%lld,\"attempt\":%u,\"tenant\":",
	    (long long)n->id, n->attempts);
	rc |= eng_json_raw(buf, size, &off, num);
	rc |= eng_json_str(buf, size, &off, n->tenant, strlen(n->tenant));
	rc |= eng_json_raw(buf, size, &off, ",\"profile\":");
	rc |= eng_json_str(buf, size, &off, n->profile, strlen(n->profile));
	rc |= eng_json_raw(buf, size, &off, ",\"serial\":");
	rc |= eng_json_str(buf, size, &off, serial, strlen(serial));
	rc |= eng_json_raw(buf, size, &off, ",\"names\":[");
	for (p = n->names; rc == 0 && *p != '\0'; p = *q ? q + 1 : q) {
		q = p + strcspn(p, ",");
		if (p != n->names)
			rc |= eng_json_raw(buf, size, &off, ",");
		rc |= eng_json_str(buf, size, &off, p, (size_t)(q - p));
	}
	rc |= eng_json_raw(buf, size, &off, "],\"not_before\":");
	rc |= eng_json_str(buf, size, &off, nb, strlen(nb));
	rc |= eng_json_raw(buf, size, &off, ",\"not_after\":");
	rc |= eng_json_str(buf, size, &off, na, strlen(na));
	rc |= eng_json_raw(buf, size, &off, ",\"threshold\":");
	rc |= eng_json_str(buf, size, &off, n->threshold,
	    strlen(n->threshold));
	rc |= eng_json_raw(buf, size, &off, ",\"sent_at\":");
	rc |= eng_json_str(buf, size, &off, sent, strlen(sent));
	rc |= eng_json_raw(buf, size, &off, "}");
	*len = off;
	return rc == 0 ? 0 : -1;
}

static int
eng_notify_next(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_reply *r)
{
	struct proto_notify_rep *m = &r->rep.u.notify;
	struct ledger_notify *n = NULL;
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0, i;
	char *body = NULL;
	size_t len = 0, off;
	int64_t now = eng_engine_now(e);
	int rc;

	/* Polled while idle: no line per poll. */
	r->quiet = 1;
	if (!atomic_load(&e->notify_key_ready))
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE,
		    "no notification key (notify.secret_file)");
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (body = malloc(PROTO_MAX_NOTIFY_BODY)) == NULL) {
		free(n);
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE, "out of memory");
	}
	rc = ledger_notify_claim(e->ledger, now, rt->conf->notify_lease, n);
	if (rc == LEDGER_ERR_NOTFOUND) {
		free(n);
		free(body);
		return PROTO_R_OK;	/* id 0: nothing due */
	}
	if (rc != LEDGER_OK) {
		free(n);
		free(body);
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE, "ledger: %s",
		    ledger_strerror(rc));
	}
	if (eng_notify_body(n, now, body, PROTO_MAX_NOTIFY_BODY, &len) != 0 ||
	    HMAC(EVP_sha256(), e->notify_key, (int)e->notify_key_len,
	    (const uint8_t *)body, len, mac, &maclen) == NULL) {
		/* Cannot happen within the limits: give the row up. */
		ledger_notify_settle(e->ledger, n->id, n->attempts, 0, 0,
		    "notification does not fit");
		free(n);
		free(body);
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE,
		    "notification does not fit");
	}
	m->id = (uint64_t)n->id;
	m->attempt = n->attempts;
	eng_fmt(m->url, sizeof(m->url), "%s", n->webhook);
	off = (size_t)snprintf(m->signature, sizeof(m->signature), "sha256=");
	for (i = 0; i < maclen && off + 2 < sizeof(m->signature); i++, off += 2)
		snprintf(m->signature + off, 3, "%02x", mac[i]);
	m->body.ptr = (const uint8_t *)body;
	m->body.len = len;
	r->mem[0] = body;
	r->quiet = 0;
	log_info("msg=\"notify: handed out\" id=%lld attempt=%u tenant=%s "
	    "profile=%s threshold=%s webhook=\"%s\"", (long long)n->id,
	    n->attempts, n->tenant, n->profile, n->threshold, n->webhook);
	free(n);
	return PROTO_R_OK;
}

static int
eng_notify_result(struct eng_engine *e, const struct eng_rt *rt,
    const struct proto_notify_req *q, struct eng_reply *r)
{
	const struct sconf *c = rt->conf;
	int ok = q->status >= 200 && q->status < 300 && q->detail[0] == '\0';
	int64_t next = 0, delay = c->notify_retry;
	uint32_t i;
	int rc;

	if (q->id == 0 || q->id > INT64_MAX || q->attempt == 0)
		return eng_reply_fail(r, PROTO_R_BAD_REQUEST, "no such claim");
	if (!ok && q->attempt < (uint64_t)c->notify_max_attempts) {
		for (i = 1; i < q->attempt && delay < ENG_NOTIFY_BACKOFF_MAX;
		    i++)
			delay *= 2;
		if (delay > ENG_NOTIFY_BACKOFF_MAX)
			delay = ENG_NOTIFY_BACKOFF_MAX;
		/* Whole seconds: + 1 makes the wait at least delay. */
		next = eng_engine_now(e) + delay + 1;
	}
	rc = ledger_notify_settle(e->ledger, (int64_t)q->id, q->attempt, ok,
	    next, ok ? NULL : q->detail);
	if (rc == LEDGER_ERR_STATE) {
		log_warnx("msg=\"notify: late result\" id=%llu attempt=%u "
		    "delivered=%d: the lease ran out, another attempt has "
		    "it", (unsigned long long)q->id, q->attempt, ok);
		return PROTO_R_OK;
	}
	if (rc != LEDGER_OK)
		return eng_reply_fail(r, PROTO_R_UNAVAILABLE, "ledger: %s",
		    ledger_strerror(rc));
	if (ok)
		log_info("msg=\"notify: delivered\" id=%llu attempt=%u "
		    "status=%u", (unsigned long long)q->id, q->attempt,
		    q->status);
	else
		log_warnx("msg=\"notify: %s\" id=%llu attempt=%u status=%u "
		    "error=\"%s\" retry_in=%lld", next ? "delivery failed" :
		    "given up", (unsigned long long)q->id, q->attempt,
		    q->status, q->detail, (long long)(next ? delay : 0));
	return PROTO_R_OK;
}

/* NOTIFY: only signet-notify takes deliveries and reports them. */
int
eng_h_notify(struct eng_engine *e, const struct eng_rt *rt,
    struct eng_ident *id, const struct proto_request *req,
    struct eng_reply *r)
{
	(void)id;
	if (req->u.notify.op == PROTO_NOTIFY_NEXT)
		return eng_notify_next(e, rt, r);
	return eng_notify_result(e, rt, &req->u.notify, r);
}

void
eng_notify_wipe(struct eng_engine *e)
{
	OPENSSL_cleanse(e->notify_key, sizeof(e->notify_key));
	e->notify_key_len = 0;
}

/*
 * For /metrics: per profile with webhooks and per threshold, the
 * certificates that crossed it and have not expired (the gauge
 * signet_certificates_expiring{tenant,profile,window}), counted by the
 * tidy thread after each scan (eng_notify_count), and the queue.  Label
 * values are the configuration's names only (bounded).
 */
void
eng_notify_health(struct eng_engine *e, const struct eng_rt *rt,
    struct proto_health_rep *h)
{
	struct ledger_notify_counts k;

	if (!sconf_notify_wanted(rt->conf))
		return;
	pthread_mutex_lock(&e->lock);
	h->nexpiring = e->nexpiring;
	memcpy(h->expiring, e->expiring, e->nexpiring * sizeof(h->expiring[0]));
	pthread_mutex_unlock(&e->lock);
	if (ledger_notify_counts(e->ledger, &k) == LEDGER_OK) {
		h->notify_pending = k.pending;
		h->notify_delivered = k.delivered;
		h->notify_failed = k.failed;
	}
}
