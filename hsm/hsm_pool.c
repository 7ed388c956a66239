/*
 * The session pool, token health and background recovery.
 *
 * A signer checks a session out (hsm_op_begin), makes its PKCS#11 calls
 * without any lock held, and checks it back in with the result
 * (hsm_op_end).  A result that means the token or the session is gone marks
 * the token down: new calls fail at once, and the recovery thread waits for
 * the calls in flight to return, then re-initialises the module, logs in
 * again and re-finds the keys, backing off between attempts.  Each bring-up
 * starts a new generation; sessions of an older one are never reused.
 *
 * Besides the pool_size shared sessions, HSM_QUICK_SESSIONS are reserved
 * for quick operations (hsm_op_begin_quick: the HMAC of a DTLS handshake's
 * PSK lookup), which take a reserved session when one is free and a shared
 * one otherwise; nothing else ever takes a reserved session.  They are
 * opened, closed, faulted and recovered with the pool, of its generation.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "hsm_local.h"

int64_t
hsm_now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* The return values after which the session or the token cannot be
 * trusted until it has been brought up again.  CKR_GENERAL_ERROR is
 * PKCS#11's "unrecoverable error": re-initialising is the safe answer. */
int
hsm_ckr_is_fault(CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_GENERAL_ERROR:
	case CKR_DEVICE_ERROR:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_KEY_HANDLE_INVALID:
	case CKR_OBJECT_HANDLE_INVALID:
		return 1;
	default:
		return 0;
	}
}

int
hsm_ckr_to_rc(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return HSM_OK;
	case CKR_HOST_MEMORY:
		return HSM_ERR_NOMEM;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_EXPIRED:
	case CKR_PIN_LOCKED:
	case CKR_USER_PIN_NOT_INITIALIZED:
		return HSM_ERR_PIN;
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
	case CKR_KEY_TYPE_INCONSISTENT:
	case CKR_FUNCTION_NOT_SUPPORTED:
	case CKR_ATTRIBUTE_VALUE_INVALID:
	case CKR_DOMAIN_PARAMS_INVALID:
	case CKR_CURVE_NOT_SUPPORTED:
		return HSM_ERR_UNSUPPORTED;
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_SLOT_ID_INVALID:
		return HSM_ERR_NO_TOKEN;
	default:
		return hsm_ckr_is_fault(rv) ? HSM_ERR_DOWN : HSM_ERR_DEVICE;
	}
}

static void
deadline_after(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int
down_rc(const struct hsm *h)
{
	return h->state == HSM_STATE_FAILED ? HSM_ERR_FAILED : HSM_ERR_DOWN;
}

/*
 * Can a caller take a session now?  A quick one may take a reserved
 * session or a shared one; any other only a shared one, so that no
 * number of signatures in flight keeps a quick operation waiting.
 */
static int
can_take(const struct hsm *h, int quick)
{
	return h->nfree > 0 || (quick && h->nquickfree > 0);
}

static int
op_acquire(struct hsm *h, struct hsm_key *k, struct hsm_op *op, int quick)
{
	pthread_cond_t *cv = quick ? &h->quick_cv : &h->free_cv;
	struct timespec dl;
	int rc = HSM_OK, waited = 0, tw;

	pthread_mutex_lock(&h->mu);
	while (h->state == HSM_STATE_UP && !can_take(h, quick)) {
		if (!waited)
			deadline_after(&dl, h->acquire_ms);
		waited = 1;
		if (quick)
			h->quick_waiting++;
		tw = pthread_cond_timedwait(cv, &h->mu, &dl);
		if (quick)
			h->quick_waiting--;
		if (tw == ETIMEDOUT) {
			rc = HSM_ERR_BUSY;
			goto out;
		}
	}
	if (h->state != HSM_STATE_UP) {
		rc = down_rc(h);
		goto out;
	}
	/* A reserved session first: the shared ones are the signers'. */
	op->reserved = quick && h->nquickfree > 0;
	if (op->reserved) {
		op->s = h->quickfree[--h->nquickfree];
		h->quick_busy++;
	} else
		op->s = h->freelist[--h->nfree];
	op->gen = h->gen;
	op->obj = CK_INVALID_HANDLE;
	if (k != NULL)
		op->obj = k->sess_priv != CK_INVALID_HANDLE ? k->sess_priv :
		    k->priv;
	h->outstanding++;
out:
	pthread_mutex_unlock(&h->mu);
	return rc;
}

int
hsm_op_begin(struct hsm *h, struct hsm_key *k, struct hsm_op *op)
{
	return op_acquire(h, k, op, 0);
}

int
hsm_op_begin_quick(struct hsm *h, struct hsm_key *k, struct hsm_op *op)
{
	return op_acquire(h, k, op, 1);
}

/* Marks the token down; called with mu held. */
static void
mark_down(struct hsm *h, CK_RV rv, const char *func)
{
	if (h->state != HSM_STATE_UP)
		return;
	h->state = HSM_STATE_DOWN;
	h->faults++;
	h->last_ckr = rv;
	h->last_rc = hsm_ckr_to_rc(rv);
	h->last_func = func;
	h->down_since = hsm_now_sec();
	pthread_cond_broadcast(&h->free_cv);
	pthread_cond_broadcast(&h->quick_cv);
	pthread_cond_signal(&h->recover_cv);
}

int
hsm_op_end(struct hsm *h, struct hsm_op *op, CK_RV rv, const char *func)
{
	int fault = hsm_ckr_is_fault(rv);

	pthread_mutex_lock(&h->mu);
	/* A fault from a session of an older generation says nothing about
	 * the token as it is now. */
	if (fault && op->gen == h->gen)
		mark_down(h, rv, func);
	if (op->reserved)
		h->quick_busy--;
	if (!fault && op->gen == h->gen && h->state == HSM_STATE_UP) {
		if (op->reserved) {
			h->quickfree[h->nquickfree++] = op->s;
			pthread_cond_signal(&h->quick_cv);
		} else {
			h->freelist[h->nfree++] = op->s;
			pthread_cond_signal(&h->free_cv);
			/* Quick callers may take a shared session too; one
			 * woken for nothing waits again. */
			if (h->quick_waiting > 0)
				pthread_cond_signal(&h->quick_cv);
		}
	}
	if (--h->outstanding == 0)
		pthread_cond_broadcast(&h->idle_cv);
	pthread_mutex_unlock(&h->mu);
	if (rv == CKR_OK)
		return HSM_OK;
	return fault ? HSM_ERR_DOWN : hsm_ckr_to_rc(rv);
}

/* Sleeps up to ms unless hsm_close wakes us; called with mu held. */
static void
nap(struct hsm *h, unsigned ms)
{
	struct timespec dl;

	deadline_after(&dl, ms);
	while (!h->stopping &&
	    pthread_cond_timedwait(&h->recover_cv, &h->mu, &dl) != ETIMEDOUT)
		;
}

static void *
recovery_main(void *arg)
{
	struct hsm *h = arg;
	unsigned backoff = h->backoff_min_ms;
	int rc;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->stopping && h->state != HSM_STATE_DOWN)
			pthread_cond_wait(&h->recover_cv, &h->mu);
		if (h->stopping)
			break;
		/* Calls in flight return on their own; the module must not
		 * be finalised under them. */
		while (h->outstanding > 0)
			pthread_cond_wait(&h->idle_cv, &h->mu);
		nap(h, backoff);
		if (h->stopping)
			break;
		h->attempts++;
		pthread_mutex_unlock(&h->mu);
		pthread_mutex_lock(&h->keys_mu);
		rc = hsm_bringup(h);
		pthread_mutex_unlock(&h->keys_mu);
		pthread_mutex_lock(&h->mu);
		if (rc == HSM_OK) {
			h->gen++;
			h->state = HSM_STATE_UP;
			h->recoveries++;
			h->down_since = 0;
			backoff = h->backoff_min_ms;
			pthread_cond_broadcast(&h->free_cv);
			pthread_cond_broadcast(&h->quick_cv);
		} else if (rc == HSM_ERR_PIN) {
			/* Retrying a wrong PIN would lock the token. */
			h->state = HSM_STATE_FAILED;
			h->last_rc = rc;
		} else {
			h->last_rc = rc;
			backoff = backoff * 2 > h->backoff_max_ms ?
			    h->backoff_max_ms : backoff * 2;
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int
hsm_pool_start(struct hsm *h)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->free_cv, &ca);
	pthread_cond_init(&h->quick_cv, &ca);
	pthread_cond_init(&h->idle_cv, &ca);
	pthread_cond_init(&h->recover_cv, &ca);
	pthread_condattr_destroy(&ca);
	h->state = HSM_STATE_UP;
	h->gen = 1;
	if (pthread_create(&h->thr, NULL, recovery_main, h) != 0)
		return HSM_ERR_NOMEM;
	h->thr_started = 1;
	return HSM_OK;
}

void
hsm_fork_child(struct hsm *h)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->keys_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->free_cv, &ca);
	pthread_cond_init(&h->quick_cv, &ca);
	pthread_cond_init(&h->idle_cv, &ca);
	pthread_cond_init(&h->recover_cv, &ca);
	pthread_condattr_destroy(&ca);
	h->thr_started = 0;
}

void
hsm_pool_stop(struct hsm *h)
{
	if (!h->thr_started)
		return;
	pthread_mutex_lock(&h->mu);
	h->stopping = 1;
	pthread_cond_broadcast(&h->recover_cv);
	pthread_cond_broadcast(&h->free_cv);
	pthread_cond_broadcast(&h->quick_cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thr, NULL);
	h->thr_started = 0;
	pthread_cond_destroy(&h->free_cv);
	pthread_cond_destroy(&h->quick_cv);
	pthread_cond_destroy(&h->idle_cv);
	pthread_cond_destroy(&h->recover_cv);
}

void
hsm_status(struct hsm *h, struct hsm_status *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&h->mu);
	st->state = (enum hsm_state)h->state;
	st->last_ckr = h->last_ckr;
	st->last_rc = h->last_rc;
	st->last_func = h->last_func;
	st->faults = h->faults;
	st->recoveries = h->recoveries;
	st->recovery_attempts = h->attempts;
	st->down_since = h->down_since;
	st->pool_size = h->pool_size;
	st->sessions_busy = h->outstanding - h->quick_busy;
	st->quick_sessions = HSM_QUICK_SESSIONS;
	st->quick_busy = h->quick_busy;
	st->session_keys = h->session_keys;
	pthread_mutex_unlock(&h->mu);
	st->signatures = __atomic_load_n(&h->signatures, __ATOMIC_RELAXED);
	for (i = 0; i < HSM_SIGN_BUCKETS; i++) {
		st->sign_le_us[i] = hsm_sign_le_us[i];
		st->sign_count[i] = __atomic_load_n(&h->sign_count[i],
		    __ATOMIC_RELAXED);
	}
	st->sign_us_sum = __atomic_load_n(&h->sign_us_sum, __ATOMIC_RELAXED);
}
