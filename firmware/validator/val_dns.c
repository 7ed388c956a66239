/*
 * DNS of the validator, all through one c-ares (Debian libc-ares)
 * channel asking the configured resolver (acme_dns_resolver,
 * "addr:port"; without it the servers of /etc/resolv.conf as read at
 * start, before the sandbox): dns-01 (RFC 8555 8.4, the TXT records at
 * _acme-challenge.<name>), the A and AAAA records of http-01 and
 * tls-alpn-01 targets (val_dns_addrs) and CAA (val_caa.c).  c-ares
 * parses the answers; for dns-01 this file only joins each record's
 * strings and hands the records to the engine, which compares them with
 * the key authorization's digest.  One query at a time, driven by poll
 * under the validation's deadline; no search domains, no /etc/hosts.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/nameser.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The calls used here (ares_query, ares_parse_txt_reply_ext,
 * ares_parse_caa_reply, ares_getsock) are the ones Debian 12's c-ares
 * 1.18 has; c-ares 1.34 (Debian 13) marks them deprecated in favour of
 * ares_query_dnsrec and ares_dns_parse, which 1.18 lacks.  They still work there; this keeps
 * one source for both platforms until bookworm is left behind.
 */
#define CARES_NO_DEPRECATED
#include <ares.h>

#include "signet_log.h"
#include "val_local.h"

struct val_txt {
	int	 done;
	int	 status;
	uint8_t	*out;
	size_t	 size;
	size_t	 n;
	size_t	 records;
	int	 truncated;
};

void *
val_dns_init(const struct sconf *c, char *err, size_t errlen)
{
	struct ares_options o;
	ares_channel ch = NULL;
	char csv[80];
	int rc;

	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	/* Absolute names only; retries inside the validation's deadline. */
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.timeout = 2000;
	o.tries = 3;
	o.ndots = 0;
	o.lookups = (char *)"b";
	if ((rc = ares_init_options(&ch, &o, ARES_OPT_FLAGS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
	    ARES_OPT_LOOKUPS)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		ares_library_cleanup();
		return NULL;
	}
	if (c->acme_dns_resolver != NULL) {
		snprintf(csv, sizeof(csv), "%s", c->acme_dns_resolver);
		if ((rc = ares_set_servers_ports_csv(ch, csv)) !=
		    ARES_SUCCESS) {
			snprintf(err, errlen, "acme_dns_resolver \"%s\": %s",
			    c->acme_dns_resolver, ares_strerror(rc));
			ares_destroy(ch);
			ares_library_cleanup();
			return NULL;
		}
	}
	/* docs/acme.md "The validator": no identities, nothing to match. */
	if (c->acme_caa_identities.n == 0)
		log_info("msg=\"CAA check off: acme_caa_identities is empty\"");
	else
		log_info("msg=\"CAA check on\" identities=%zu first=%s",
		    c->acme_caa_identities.n, c->acme_caa_identities.v[0]);
	return ch;
}

void
val_dns_free(void *dns)
{
	if (dns == NULL)
		return;
	ares_destroy(dns);
	ares_library_cleanup();
}

static void
val_put(struct val_txt *t, const void *p, size_t len)
{
	if (len > t->size - t->n) {
		len = t->size - t->n;
		t->truncated = 1;
	}
	memcpy(t->out + t->n, p, len);
	t->n += len;
}

static void
val_txt_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct val_txt *t = arg;
	struct ares_txt_ext *txt = NULL, *r;

	(void)timeouts;
	t->done = 1;
	t->status = status;
	if (status != ARES_SUCCESS)
		return;
	if ((t->status = ares_parse_txt_reply_ext(abuf, alen, &txt)) !=
	    ARES_SUCCESS)
		return;
	/* A record's strings are one value (RFC 7208 3.3 style joining). */
	for (r = txt; r != NULL; r = r->next) {
		if (r->record_start) {
			if (t->records++ >= VAL_MAX_TXT) {
				t->truncated = 1;
				break;
			}
			if (t->n > 0)
				val_put(t, "\n", 1);
		}
		val_put(t, r->txt, r->length);
	}
	ares_free_data(txt);
}

int
val_dns_wait(struct val_ctx *v, const int *done, uint64_t deadline)
{
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	uint64_t now;
	int bits, i, np, wait;
	struct timeval tv, *tvp;

	while (!*done) {
		bits = ares_getsock(v->dns, socks, ARES_GETSOCK_MAXNUM);
		for (i = np = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			if (!ARES_GETSOCK_READABLE(bits, i) &&
			    !ARES_GETSOCK_WRITABLE(bits, i))
				continue;
			pfd[np].fd = socks[i];
			pfd[np].events = (ARES_GETSOCK_READABLE(bits, i) ?
			    POLLIN : 0) | (ARES_GETSOCK_WRITABLE(bits, i) ?
			    POLLOUT : 0);
			pfd[np].revents = 0;
			np++;
		}
		now = val_now_ms();
		if (now >= deadline)
			break;
		tvp = ares_timeout(v->dns, NULL, &tv);
		wait = (int)(deadline - now);
		if (tvp != NULL && tvp->tv_sec * 1000 + tvp->tv_usec / 1000 <
		    wait)
			wait = (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000);
		if (poll(pfd, (nfds_t)np, wait) == -1 && errno != EINTR)
			break;
		if (np == 0) {
			ares_process_fd(v->dns, ARES_SOCKET_BAD,
			    ARES_SOCKET_BAD);
			continue;
		}
		for (i = 0; i < np; i++)
			ares_process_fd(v->dns, pfd[i].revents & (POLLIN |
			    POLLERR | POLLHUP) ? pfd[i].fd : ARES_SOCKET_BAD,
			    pfd[i].revents & POLLOUT ? pfd[i].fd :
			    ARES_SOCKET_BAD);
		/* a timeout with nothing readable: let c-ares retry */
		if (np > 0 && !*done)
			ares_process_fd(v->dns, ARES_SOCKET_BAD,
			    ARES_SOCKET_BAD);
	}
	if (*done)
		return 0;
	ares_cancel(v->dns);	/* runs the callbacks: ECANCELLED */
	return -1;
}

int
val_dns01(struct val_ctx *v, const char *url, uint8_t *out, size_t size,
    size_t *n, char *why, size_t whylen)
{
	struct val_txt t;
	uint64_t deadline = val_now_ms() + VAL_TOTAL_MS;
	const char *name;

	*n = 0;
	if (strncmp(url, "dns:", 4) != 0 || strlen(url + 4) > 253 ||
	    url[4] == '\0') {
		snprintf(why, whylen, "bad name");
		return -1;
	}
	if (v->dns == NULL) {
		snprintf(why, whylen, "no resolver");
		return -1;
	}
	name = url + 4;
	memset(&t, 0, sizeof(t));
	t.out = out;
	t.size = size;
	ares_query(v->dns, name, C_IN, T_TXT, val_txt_cb, &t);
	if (val_dns_wait(v, &t.done, deadline) != 0) {
		snprintf(why, whylen, "%s: no DNS answer in time", name);
		return -1;
	}
	if (t.status != ARES_SUCCESS) {
		snprintf(why, whylen, "%s: TXT lookup: %s", name,
		    ares_strerror(t.status));
		return -1;
	}
	if (t.truncated) {
		snprintf(why, whylen, "%s: more than %d TXT records or %zu "
		    "bytes", name, VAL_MAX_TXT, size);
		return -1;
	}
	*n = t.n;
	return 0;
}

struct val_addrs {
	int			 done;
	int			 status;
	struct sockaddr_storage	*out;
	size_t			 max;
	size_t			 n;
};

static void
val_addrs_cb(void *arg, int status, int timeouts,
    struct ares_addrinfo *res)
{
	struct val_addrs *r = arg;
	struct ares_addrinfo_node *ai;

	(void)timeouts;
	r->done = 1;
	r->status = status;
	if (status != ARES_SUCCESS || res == NULL)
		goto out;
	for (ai = res->nodes; ai != NULL && r->n < r->max; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    (size_t)ai->ai_addrlen > sizeof(r->out[0]))
			continue;
		memset(&r->out[r->n], 0, sizeof(r->out[0]));
		memcpy(&r->out[r->n++], ai->ai_addr, (size_t)ai->ai_addrlen);
	}
out:
	if (res != NULL)
		ares_freeaddrinfo(res);
}

int
val_dns_addrs(struct val_ctx *v, const char *name, uint64_t deadline,
    struct sockaddr_storage *out, size_t max, size_t *n, char *why,
    size_t whylen)
{
	struct ares_addrinfo_hints hints;
	struct val_addrs r;

	*n = 0;
	if (v->dns == NULL) {
		snprintf(why, whylen, "%s: no resolver", name);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.out = out;
	r.max = max;
	memset(&hints, 0, sizeof(hints));
	/* A and AAAA; no sorting (it would connect UDP sockets to each). */
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = ARES_AI_NOSORT;
	ares_getaddrinfo(v->dns, name, NULL, &hints, val_addrs_cb, &r);
	if (val_dns_wait(v, &r.done, deadline) != 0) {
		snprintf(why, whylen, "cannot resolve %s: no DNS answer in "
		    "time", name);
		return -1;
	}
	if (r.status != ARES_SUCCESS || r.n == 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", name,
		    r.status != ARES_SUCCESS ? ares_strerror(r.status) :
		    "no A or AAAA record");
		return -1;
	}
	*n = r.n;
	return 0;
}
