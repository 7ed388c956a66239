/*
 * The engine's event loop.  One thread polls the control channel, the
 * signal descriptor and every front end's channel; it reads whole
 * datagrams and queues them.  A few worker threads take requests off
 * the queue, run them through eng_engine_request and send the replies,
 * so concurrent issuances share the ledger's group commit and the
 * token's session pool.
 *
 * Quick reads (eng_quick: the DTLS handshake's PSK lookup, CA
 * certificates) are queued apart, and one more worker takes nothing else
 * (issue 14): the workers take both queues oldest first, so nothing
 * starves, but when every one of them is busy with issuances slowed by
 * the token or the ledger, a handshake's lookup (EC_PSK_TIMEOUT_MS) does
 * not wait behind the whole queue.
 *
 * A peer that sends something malformed or unpermitted has its channel
 * shut down by the worker that found out; the loop then closes it.  The
 * descriptor itself is closed only when the last job holding the peer
 * is done, so a worker never writes to a reused descriptor.
 *
 * One more thread is the revocation timer (issue 19): once a second it
 * rebuilds the CRLs that are due and re-signs OCSP answers about to go
 * stale (eng_rev_tick), so neither waits for a relying party to ask and
 * neither holds up the poll loop or a worker.
 *
 * And one is the tidy thread (issue 19, eng_tidy.c): once a second it
 * looks whether a scheduled tidy run is due, and runs it in small
 * batches beside issuance; drain stops it between two batches.
 *
 * SIGTERM or EOF on the control channel: stop reading, finish every
 * queued and running request, return.  SIGHUP: reload the configuration
 * through the caller's callback; on failure the old one stays.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "eng_engine_local.h"

struct eng_peer {
	int		 fd;
	int		 kind;
	int		 refs;		/* under srv->mu */
	atomic_int	 dead;
};

struct eng_job {
	struct eng_job	*next;
	uint64_t	 seq;		/* arrival, across both queues */
	struct eng_peer	*peer;
	struct proto_hdr hdr;
	const uint8_t	*body;
	uint8_t		 msg[];
};

struct eng_job_q {
	struct eng_job	*head, *tail;
};

#define ENG_Q_ANY	0	/* everything else */
#define ENG_Q_QUICK	1	/* eng_quick types */
#define ENG_QUICK_WORKERS	1	/* workers that take quick reads only */

struct eng_srv {
	struct eng_engine	*e;
	pthread_mutex_t		 mu;
	pthread_cond_t		 work, quick, idle, tick;
	struct eng_job_q	 q[2];		/* ENG_Q_ANY, ENG_Q_QUICK */
	uint64_t		 seq;
	size_t			 queued;
	size_t			 queued_peak;	/* since the timer looked */
	int			 busy;
	int			 stop;
	atomic_int		 halt;		/* stop, for the tidy run */
	struct eng_peer		*peers[ENG_ENGINE_MAX_PEERS];
	size_t			 npeers;
	uint8_t			*rbuf;		/* PROTO_MAX_MSG, the loop's */
};

static void
eng_peer_unref(struct eng_srv *s, struct eng_peer *p)
{
	int last;

	pthread_mutex_lock(&s->mu);
	last = --p->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (last) {
		close(p->fd);
		free(p);
	}
}

void
eng_serve_wake(struct eng_engine *e, int kind, uint16_t type)
{
	struct eng_srv *s = e->srv;
	struct eng_peer *to[ENG_ENGINE_MAX_PEERS];
	uint8_t hdr[PROTO_HDR_LEN];
	size_t i, n = 0;

	if (s == NULL || proto_hdr_write(hdr, type | PROTO_T_REPLY,
	    ENG_WAKE_ID, 0) != PROTO_OK)
		return;
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->npeers; i++)
		if (s->peers[i]->kind == kind && !s->peers[i]->dead) {
			s->peers[i]->refs++;
			to[n++] = s->peers[i];
		}
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < n; i++) {
		/* Never blocks a worker: a full queue has wakes in it. */
		(void)send(to[i]->fd, hdr, sizeof(hdr),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		eng_peer_unref(s, to[i]);
	}
}

static void
eng_peer_drop(struct eng_srv *s, size_t i, const char *why)
{
	struct eng_peer *p = s->peers[i];

	log_info("msg=\"closing front-end channel\" peer=%d reason=\"%s\"",
	    p->kind, why);
	s->peers[i] = s->peers[--s->npeers];
	shutdown(p->fd, SHUT_RDWR);
	eng_peer_unref(s, p);
}

static int
eng_srv_empty(const struct eng_srv *s)
{
	return s->q[ENG_Q_ANY].head == NULL && s->q[ENG_Q_QUICK].head == NULL;
}

/*
 * The next job for a worker; NULL if none it may take.  A quick-only
 * worker takes the quick queue's head, any other the older of the two
 * heads.  s->mu held.
 */
static struct eng_job *
eng_srv_take(struct eng_srv *s, int quick_only)
{
	struct eng_job_q *q = &s->q[ENG_Q_QUICK];
	struct eng_job *j;

	if (!quick_only && s->q[ENG_Q_ANY].head != NULL && (q->head == NULL ||
	    s->q[ENG_Q_ANY].head->seq < q->head->seq))
		q = &s->q[ENG_Q_ANY];
	if ((j = q->head) == NULL)
		return NULL;
	if ((q->head = j->next) == NULL)
		q->tail = NULL;
	s->queued--;
	return j;
}

struct eng_worker_arg {
	struct eng_srv	*s;
	int		 quick_only;
};

static void *
eng_worker(void *arg)
{
	struct eng_worker_arg *wa = arg;
	struct eng_srv *s = wa->s;
	struct eng_job *j;
	uint8_t *out;
	size_t outlen;

	if ((out = malloc(PROTO_MAX_BODY)) == NULL)
		fatalx("msg=\"out of memory\"");
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while ((j = eng_srv_take(s, wa->quick_only)) == NULL &&
		    !s->stop)
			pthread_cond_wait(wa->quick_only ? &s->quick :
			    &s->work, &s->mu);
		if (j == NULL)
			break;
		s->busy++;
		pthread_mutex_unlock(&s->mu);
		if (eng_engine_request(s->e, j->peer->kind, j->hdr.type,
		    j->body, j->hdr.len, out, PROTO_MAX_BODY, &outlen) != 0 ||
		    proto_send(j->peer->fd, j->hdr.type | PROTO_T_REPLY,
		    j->hdr.id, out, outlen) != PROTO_OK) {
			/* The loop sees the hang-up and closes the channel. */
			j->peer->dead = 1;
			shutdown(j->peer->fd, SHUT_RDWR);
		}
		eng_peer_unref(s, j->peer);
		/* What was received: header and body (issue 17: not 64 KiB). */
		explicit_bzero(j->msg, (size_t)(j->body - j->msg) + j->hdr.len);
		free(j);
		pthread_mutex_lock(&s->mu);
		s->busy--;
		if (eng_srv_empty(s) && s->busy == 0)
			pthread_cond_broadcast(&s->idle);
	}
	pthread_mutex_unlock(&s->mu);
	free(out);
	return NULL;
}

/*
 * The heap between two trims, from glibc's mallinfo2 once a round: the
 * most in use and the largest heap (both arenas and mmap) seen, so the
 * trim's log line says whether what the engine holds between trims is
 * in use or freed and kept (issue 14, the soak).
 */
struct eng_heap_watch {
	size_t	peak_used;
	size_t	peak_heap;
	size_t	queued;		/* most requests waiting, from srv */
};

static void
eng_heap_sample(struct eng_heap_watch *w)
{
	struct mallinfo2 mi = mallinfo2();
	size_t used = mi.uordblks + mi.hblkhd, heap = mi.arena + mi.hblkhd;

	if (used > w->peak_used)
		w->peak_used = used;
	if (heap > w->peak_heap)
		w->peak_heap = heap;
}

/* Trims, logs the minute's heap figures and starts a new minute. */
static void
eng_heap_trim(struct eng_heap_watch *w)
{
	struct mallinfo2 before, after;

	before = mallinfo2();
	malloc_trim(0);
	after = mallinfo2();
	/* A sanitizer's allocator answers nothing: no line. */
	if (w->peak_heap != 0)
			log_info("msg=\"heap trimmed\" peak_used_kib=%zu "
		    "peak_heap_kib=%zu used_kib=%zu free_kib=%zu "
		    "free_after_kib=%zu peak_queued=%zu",
		    w->peak_used / 1024, w->peak_heap / 1024,
		    (before.uordblks + before.hblkhd) / 1024,
		    before.fordblks / 1024, after.fordblks / 1024, w->queued);
	memset(w, 0, sizeof(*w));
}

/*
 * The revocation timer: one round a second until stop; once every
 * ENG_TRIM_EVERY rounds, the identity cache's dead entries are dropped
 * and what the workers freed goes back to the system (issue 14: glibc
 * keeps it in each arena otherwise).
 */
static void *
eng_refresher(void *arg)
{
	struct eng_srv *s = arg;
	struct eng_rt *rt;
	struct eng_heap_watch w;
	struct timespec ts;
	unsigned rounds = 0;
	int trim;

	memset(&w, 0, sizeof(w));
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		if (s->queued_peak > w.queued)
			w.queued = s->queued_peak;
		s->queued_peak = 0;
		pthread_mutex_unlock(&s->mu);
		trim = ++rounds % ENG_TRIM_EVERY == 0;
		if ((rt = eng_engine_rt(s->e)) != NULL) {
			eng_rev_tick(s->e, rt);
			if (trim)
				eng_idcache_sweep(rt, time(NULL));
			eng_rt_unref(rt);
		}
		eng_heap_sample(&w);
		if (trim)
			eng_heap_trim(&w);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec++;
		pthread_mutex_lock(&s->mu);
		if (!s->stop)
			pthread_cond_timedwait(&s->tick, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* The tidy thread: the schedule's look once a second until stop. */
static void *
eng_tidier(void *arg)
{
	struct eng_srv *s = arg;
	struct eng_rt *rt;
	struct timespec ts;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		pthread_mutex_unlock(&s->mu);
		if ((rt = eng_engine_rt(s->e)) != NULL) {
			eng_tidy_tick(s->e, rt, &s->halt);
			eng_notify_tick(s->e, rt, &s->halt);
			eng_rt_unref(rt);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec++;
		pthread_mutex_lock(&s->mu);
		if (!s->stop)
			pthread_cond_timedwait(&s->tick, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/*
 * Read one datagram from peer i and queue it; -1 closes the peer.  It
 * is read into the loop's buffer and queued in a copy of its own size:
 * a job the size of the largest datagram (64 KiB) for a request of a
 * few hundred bytes made the heap between two trims as large as the
 * deepest queue of the minute times 64 KiB (issue 14, the soak).
 */
static int
eng_read_peer(struct eng_srv *s, size_t i)
{
	struct eng_peer *p = s->peers[i];
	struct eng_job *j;
	struct eng_job_q *q;
	struct proto_hdr hdr;
	const uint8_t *body;
	size_t n;
	int perr;

	perr = proto_recv(p->fd, s->rbuf, PROTO_MAX_MSG, &hdr, &body);
	if (perr != PROTO_OK) {
		if (perr == PROTO_ERR_IO && (errno == EAGAIN || errno == EINTR))
			return 0;
		explicit_bzero(s->rbuf, PROTO_MAX_MSG);
		if (perr != PROTO_ERR_EOF)
			log_warnx("msg=\"bad datagram\" peer=%d error=\"%s\"",
			    p->kind, proto_strerror(perr));
		return -1;
	}
	n = (size_t)(body - s->rbuf) + hdr.len;
	j = malloc(sizeof(*j) + n);
	if (j != NULL) {
		memcpy(j->msg, s->rbuf, n);
		j->hdr = hdr;
		j->body = j->msg + (body - s->rbuf);
	}
	/* What was received: header and body (issue 17). */
	explicit_bzero(s->rbuf, n);
	if (j == NULL) {
		/* The front end's call times out, as for a lost reply. */
		log_warnx("msg=\"out of memory, request dropped\" peer=%d "
		    "type=%u", p->kind, hdr.type);
		return 0;
	}
	j->peer = p;
	j->next = NULL;
	q = &s->q[eng_quick(j->hdr.type) ? ENG_Q_QUICK : ENG_Q_ANY];
	pthread_mutex_lock(&s->mu);
	p->refs++;
	j->seq = s->seq++;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	if (++s->queued > s->queued_peak)
		s->queued_peak = s->queued;
	pthread_cond_signal(&s->work);
	if (q == &s->q[ENG_Q_QUICK])
		pthread_cond_signal(&s->quick);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void
eng_add_peer(struct eng_srv *s, int fd, uint8_t kind)
{
	struct eng_peer *p;

	if (kind < PROTO_PEER_HTTPS || kind > PROTO_PEER_LAST ||
	    s->npeers >= ENG_ENGINE_MAX_PEERS ||
	    (p = calloc(1, sizeof(*p))) == NULL) {
		log_warnx("msg=\"refusing front-end channel\" kind=%u",
		    kind);
		close(fd);
		return;
	}
	p->fd = fd;
	p->kind = kind;
	p->refs = 1;
	s->peers[s->npeers++] = p;
	log_info("msg=\"front-end channel\" peer=%u", kind);
}

/*
 * One datagram from signetd: a front end's channel (its kind, one byte,
 * with the descriptor) or the list of children signetd marked failed.
 */
static void
eng_control(struct eng_srv *s, const uint8_t *buf, size_t len, int fd)
{
	struct proto_failed f[PROTO_MAX_FAILED];
	uint8_t n;

	if (fd != -1) {
		if (len == 1)
			eng_add_peer(s, fd, buf[0]);
		else {
			log_warnx("msg=\"malformed control datagram\"");
			close(fd);
		}
		return;
	}
	if (proto_ctl_failed_decode(buf, len, f, &n) != PROTO_OK) {
		log_warnx("msg=\"malformed control datagram\"");
		return;
	}
	eng_engine_set_failed(s->e, f, n);
}

static void
eng_signal(struct eng_srv *s, int sfd, const struct eng_serve_opts *o,
    int *draining)
{
	struct signalfd_siginfo si;
	struct eng_rt *rt;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		if (o->reload != NULL && o->reload(o->arg, &rt) == 0) {
			eng_engine_swap(s->e, rt);
			log_info("msg=\"configuration reloaded\"");
		} else
			log_warnx("msg=\"reload failed, keeping the running"
			    " configuration\"");
		return;
	}
	log_info("msg=\"draining\" signal=%u", si.ssi_signo);
	*draining = 1;
}

/* One round of poll; returns 1 once draining has begun. */
static int
eng_poll(struct eng_srv *s, int sfd, int *ctl, const struct eng_serve_opts *o,
    int draining)
{
	struct pollfd pfd[2 + ENG_ENGINE_MAX_PEERS];
	uint8_t cbuf[PROTO_CTL_MAX];
	size_t i, n = 2, np, clen;
	int fd, r, full;

	pthread_mutex_lock(&s->mu);
	full = s->queued >= ENG_ENGINE_QUEUE;
	pthread_mutex_unlock(&s->mu);
	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = draining ? -1 : *ctl;
	pfd[1].events = POLLIN;
	np = draining ? 0 : s->npeers;
	for (i = 0; i < np; i++) {
		pfd[n].fd = s->peers[i]->fd;
		/* Backpressure: a full queue stops reading, not answering. */
		pfd[n++].events = full ? 0 : POLLIN;
	}
	if (poll(pfd, n, draining ? 100 : 1000) <= 0)
		return draining;
	if (pfd[0].revents & POLLIN)
		eng_signal(s, sfd, o, &draining);
	if (!draining && pfd[1].revents != 0) {
		if ((r = proto_recv_ctl(*ctl, cbuf, sizeof(cbuf), &clen,
		    &fd)) == 1)
			eng_control(s, cbuf, clen, fd);
		else if (r == 0 || (pfd[1].revents & (POLLHUP | POLLERR))) {
			log_info("msg=\"control channel closed, draining\"");
			draining = 1;
		} else
			log_warnx("msg=\"malformed control datagram\"");
	}
	/* Walk backwards: dropping a peer moves the last one into i. */
	for (i = np; i-- > 0;) {
		if (pfd[2 + i].revents == 0)
			continue;
		if (s->peers[i]->dead)
			eng_peer_drop(s, i, "protocol violation");
		else if (pfd[2 + i].revents & POLLIN) {
			if (eng_read_peer(s, i) != 0)
				eng_peer_drop(s, i, "closed or malformed");
		} else
			eng_peer_drop(s, i, "hang-up");
	}
	return draining;
}

static int
eng_drained(struct eng_srv *s)
{
	int done;

	pthread_mutex_lock(&s->mu);
	done = eng_srv_empty(s) && s->busy == 0;
	pthread_mutex_unlock(&s->mu);
	return done;
}

int
eng_serve(struct eng_engine *e, const struct eng_serve_opts *o)
{
	struct eng_srv s;
	struct eng_worker_arg wa[16 + ENG_QUICK_WORKERS];
	pthread_t th[16 + ENG_QUICK_WORKERS], timer, tidier;
	sigset_t set;
	int sfd, ctl = o->ctl_fd, draining = 0, n, i;

	memset(&s, 0, sizeof(s));
	s.e = e;
	n = o->workers > 0 ? o->workers : ENG_ENGINE_WORKERS;
	if (n > 16)
		n = 16;
	n += ENG_QUICK_WORKERS;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		return -1;
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.work, NULL);
	pthread_cond_init(&s.quick, NULL);
	pthread_cond_init(&s.idle, NULL);
	pthread_cond_init(&s.tick, NULL);
	if ((s.rbuf = malloc(PROTO_MAX_MSG)) == NULL)
		fatalx("msg=\"out of memory\"");
	/* Before the workers start: their creation orders the write. */
	e->srv = &s;
	for (i = 0; i < n; i++) {
		wa[i].s = &s;
		wa[i].quick_only = i < ENG_QUICK_WORKERS;
		if (pthread_create(&th[i], NULL, eng_worker, &wa[i]) != 0)
			fatalx("msg=\"cannot start worker\"");
	}
	if (pthread_create(&timer, NULL, eng_refresher, &s) != 0)
		fatalx("msg=\"cannot start the revocation timer\"");
	if (pthread_create(&tidier, NULL, eng_tidier, &s) != 0)
		fatalx("msg=\"cannot start the tidy thread\"");
	log_info("msg=serving workers=%d quick=%d", n - ENG_QUICK_WORKERS,
	    ENG_QUICK_WORKERS);
	while (!draining) {
		draining = eng_poll(&s, sfd, &ctl, o, 0);
		eng_engine_tick(e, 0);
	}
	eng_engine_drain(e);
	atomic_store(&s.halt, 1);
	while (!eng_drained(&s))
		eng_poll(&s, sfd, &ctl, o, 1);
	/* Counted failures are written before we go. */
	eng_engine_tick(e, 1);
	pthread_mutex_lock(&s.mu);
	s.stop = 1;
	pthread_cond_broadcast(&s.work);
	pthread_cond_broadcast(&s.quick);
	pthread_cond_broadcast(&s.tick);
	pthread_mutex_unlock(&s.mu);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_join(timer, NULL);
	pthread_join(tidier, NULL);
	e->srv = NULL;
	while (s.npeers > 0)
		eng_peer_drop(&s, s.npeers - 1, "shutdown");
	close(sfd);
	free(s.rbuf);
	pthread_cond_destroy(&s.tick);
	pthread_cond_destroy(&s.idle);
	pthread_cond_destroy(&s.quick);
	pthread_cond_destroy(&s.work);
	pthread_mutex_destroy(&s.mu);
	log_info("msg=drained");
	return 0;
}
