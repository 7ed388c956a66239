/*
 * signet-validator: ACME challenge validation (RFC 8555 8.3 http-01, 8.4
 * dns-01, RFC 8737 tls-alpn-01), the only Signet process that connects
 * out (docs/acme.md "The validator", Boulder's VA).  It holds no key, no
 * ledger handle and no TLS credentials; it asks the engine for
 * validations (ACME_VA VA_NEXT: a challenge id and what to fetch:
 * http://..., tls://host:port/sni or dns:name), fetches each under an
 * address policy, a deadline and a size cap, and reports what it got
 * (VA_RESULT: the body, the certificate, the TXT records).  The engine
 * judges that against the key authorization itself.
 *
 * VAL_INFLIGHT validations run at once, each in a thread of its own
 * (its own c-ares channel), so a target that hangs holds up only its
 * own challenge.  The main thread alone talks to the engine: it hands
 * out what VA_NEXT gives while a thread is free and reports what the
 * threads finished; a finished thread wakes it through a pipe, the
 * engine through a wake on the channel when it queues a challenge
 * (val_child.c).  The threads start before the sandbox (which allows no
 * new ones) and block every signal.
 *
 * signet-validator -f CONFIG -E ENGINEFD [-d]
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <signet/proto.h>
#include <signet/sconf.h>

#include "signet_log.h"
#include "val_child.h"
#include "val_local.h"

#define VAL_IDLE_MS	250	/* nothing to do: ask again after, at most */
#define VAL_INFLIGHT	8	/* validations at once */

enum val_state { VS_FREE, VS_RUN, VS_DONE };

/* One validation thread and what it works on; state under val.mu. */
struct val_slot {
	struct val_main		*m;
	pthread_t		 th;
	int			 started;
	pthread_cond_t		 go;
	enum val_state		 state;
	struct val_ctx		 v;	/* its own DNS channel */
	char			 chall[PROTO_MAX_STR + 1];
	char			 up[PROTO_MAX_ACME_URL + 1];
	char			 url[PROTO_MAX_ACME_URL + 1];
	char			 account[PROTO_MAX_ACME_URL + 1]; /* RFC 8657 */
	char			 why[PROTO_MAX_STR + 1];
	uint8_t			 got[VAL_MAX_BODY];
	size_t			 n;
};

struct val_main {
	struct val_ctx		 v;	/* policy, TLS context */
	pthread_mutex_t		 mu;
	int			 stop;
	int			 done[2];	/* a thread finished: a byte */
	struct val_slot		 slot[VAL_INFLIGHT];
};

/* One validation: CAA first (RFC 8659; `up` is the dns identifier). */
static void
val_run(struct val_slot *s)
{
	struct val_ctx *v = &s->v;
	int caa;

	s->n = 0;
	s->why[0] = '\0';
	caa = val_caa(v, s->up, s->account, s->url, s->why,
	    sizeof(s->why));
	if (caa != 0)
		s->n = 0;
	else if (strncmp(s->url, "http://", 7) == 0)
		val_http01(v, s->url, s->got, sizeof(s->got), &s->n, s->why,
		    sizeof(s->why));
	else if (strncmp(s->url, "tls://", 6) == 0)
		val_tlsalpn01(v, s->url, s->got, sizeof(s->got), &s->n,
		    s->why, sizeof(s->why));
	else if (strncmp(s->url, "dns:", 4) == 0)
		val_dns01(v, s->url, s->got, sizeof(s->got), &s->n, s->why,
		    sizeof(s->why));
	else
		snprintf(s->why, sizeof(s->why), "unknown validation");
	log_info("msg=validated challenge=%s url=\"%s\" bytes=%zu "
	    "error=\"%s\"", s->chall, s->url, s->n, s->why);
}

static void *
val_thread(void *arg)
{
	struct val_slot *s = arg;
	struct val_main *m = s->m;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&m->mu);
	for (;;) {
		while (s->state != VS_RUN && !m->stop)
			pthread_cond_wait(&s->go, &m->mu);
		if (m->stop)
			break;
		pthread_mutex_unlock(&m->mu);
		val_run(s);
		pthread_mutex_lock(&m->mu);
		s->state = VS_DONE;
		/* Full pipe (EAGAIN): the main thread has bytes to read. */
		if (write(m->done[1], "", 1) == -1 && errno != EAGAIN)
			log_warnx("msg=\"cannot wake the main thread\" "
			    "error=\"%s\"", strerror(errno));
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* VA_RESULT for a finished slot; what val_child_call returned. */
static int
val_report(struct val_slot *s, int efd, uint8_t *buf)
{
	struct proto_request req;
	struct proto_reply rep;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_ACME_VA;
	req.ev.peer = PROTO_PEER_VALIDATOR;
	req.u.acme.op = PROTO_ACME_VA_RESULT;
	snprintf(req.u.acme.id, sizeof(req.u.acme.id), "%s", s->chall);
	snprintf(req.u.acme.detail, sizeof(req.u.acme.detail), "%s", s->why);
	req.u.acme.body.ptr = s->got;
	req.u.acme.body.len = s->why[0] ? 0 : s->n;
	return val_child_call(efd, PROTO_T_ACME_VA, &req, buf, &rep);
}

/*
 * VA_NEXT into a free slot: 1 one taken (the slot runs), 0 none waits,
 * or what val_child_call returned when it failed.
 */
static int
val_take(struct val_slot *s, int efd, uint8_t *buf)
{
	struct proto_request req;
	struct proto_reply rep;
	int rc;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_ACME_VA;
	req.ev.peer = PROTO_PEER_VALIDATOR;
	req.u.acme.op = PROTO_ACME_VA_NEXT;
	if ((rc = val_child_call(efd, PROTO_T_ACME_VA, &req, buf,
	    &rep)) != 0)
		return rc < 0 ? rc : 0;
	if (rep.status.result != PROTO_R_OK || rep.u.acme.id[0] == '\0')
		return 0;
	snprintf(s->chall, sizeof(s->chall), "%s", rep.u.acme.id);
	snprintf(s->up, sizeof(s->up), "%s", rep.u.acme.up);
	snprintf(s->url, sizeof(s->url), "%s", rep.u.acme.location);
	snprintf(s->account, sizeof(s->account), "%s", rep.u.acme.index);
	return 1;
}

/*
 * Report what the threads finished, then hand out what waits while a
 * thread is free; 1 if anything was done, 0 nothing, -1 stop.
 */
static int
val_once(void *arg, const struct sconf *c, int efd, uint8_t *buf)
{
	struct val_main *m = arg;
	struct val_slot *s;
	enum val_state st;
	size_t i;
	int did = 0, rc;

	(void)c;
	for (i = 0; i < VAL_INFLIGHT; i++) {
		s = &m->slot[i];
		pthread_mutex_lock(&m->mu);
		st = s->state;
		pthread_mutex_unlock(&m->mu);
		if (st != VS_DONE)
			continue;
		/* A timeout loses the report: the engine hands it out again. */
		rc = val_report(s, efd, buf);
		pthread_mutex_lock(&m->mu);
		s->state = VS_FREE;
		pthread_mutex_unlock(&m->mu);
		if (rc < 0)
			return rc;
		did = 1;
	}
	for (i = 0; i < VAL_INFLIGHT; i++) {
		s = &m->slot[i];
		pthread_mutex_lock(&m->mu);
		st = s->state;
		pthread_mutex_unlock(&m->mu);
		if (st != VS_FREE)
			continue;
		if ((rc = val_take(s, efd, buf)) <= 0)
			return rc < 0 ? rc : did;
		pthread_mutex_lock(&m->mu);
		s->state = VS_RUN;
		pthread_cond_signal(&s->go);
		pthread_mutex_unlock(&m->mu);
		did = 1;
	}
	return did;
}

static int
val_wakefd(void *arg)
{
	struct val_main *m = arg;

	return m->done[0];
}

/* Before the sandbox: resolv.conf, OpenSSL's configuration, threads. */
static int
val_setup(void *arg, struct sconf *c, char *err, size_t errlen)
{
	struct val_main *m = arg;
	struct val_slot *s;
	size_t i;

	m->v.conf = c;
	if (val_policy_init(&m->v.pol, c, err, errlen) != 0 ||
	    (m->v.tls = val_tls_init(err, errlen)) == NULL)
		return -1;
	if (pipe2(m->done, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pthread_mutex_init(&m->mu, NULL);
	for (i = 0; i < VAL_INFLIGHT; i++) {
		s = &m->slot[i];
		s->m = m;
		s->v = m->v;
		pthread_cond_init(&s->go, NULL);
		if ((s->v.dns = val_dns_init(c, err, errlen)) == NULL)
			return -1;
		if (pthread_create(&s->th, NULL, val_thread, s) != 0) {
			snprintf(err, errlen, "cannot start a thread");
			return -1;
		}
		s->started = 1;
	}
	return 0;
}

static void
val_ready(void *arg, const struct sconf *c)
{
	struct val_main *m = arg;

	log_info("msg=ready http01_port=%d tlsalpn01_port=%d resolver=%s "
	    "allow=%zu loopback=%s inflight=%d", c->acme_http01_port,
	    c->acme_tlsalpn01_port, c->acme_dns_resolver ?
	    c->acme_dns_resolver : "resolv.conf", m->v.pol.nallow,
	    c->acme_validate_loopback ? "allowed" : "refused", VAL_INFLIGHT);
}

/* A validation under way ends by its deadline (VAL_TOTAL_MS). */
static void
val_cleanup(void *arg)
{
	struct val_main *m = arg;
	size_t i;

	pthread_mutex_lock(&m->mu);
	m->stop = 1;
	for (i = 0; i < VAL_INFLIGHT; i++)
		pthread_cond_signal(&m->slot[i].go);
	pthread_mutex_unlock(&m->mu);
	for (i = 0; i < VAL_INFLIGHT; i++) {
		if (m->slot[i].started)
			pthread_join(m->slot[i].th, NULL);
		if (m->slot[i].v.dns != NULL)
			val_dns_free(m->slot[i].v.dns);
	}
	val_tls_free(m->v.tls);
}

int
main(int argc, char *argv[])
{
	static struct val_main m;
	const struct val_child ch = { "signet-validator", SANDBOX_VALIDATOR,
		VAL_IDLE_MS, 0, val_setup, val_ready, val_once, val_cleanup,
		&m, val_wakefd };

	return val_child_main(argc, argv, &ch);
}
