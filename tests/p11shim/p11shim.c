/*
 * Fault-injecting PKCS#11 shim (tests only).
 *
 * The module exports one symbol, C_GetFunctionList.  Its function list
 * wraps every entry of the real module named by SIGNET_SHIM_TARGET
 * (SoftHSMv2 by default), which it dlopen()s on first use.  Before each
 * call it consults the control file (p11shim_ctl.c) and may delay the
 * call, answer it with an injected CKR, or act as if the token had been
 * pulled.  Optional statistics go to SIGNET_SHIM_STATS.
 *
 * Everything but C_GetFunctionList is hidden (-fvisibility=hidden): a
 * global C_Sign of ours could otherwise be bound by the real module's own
 * relocations and recurse into the shim.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p11shim.h"

#define SHIM_DEFAULT_TARGET	"/usr/lib/softhsm/libsofthsm2.so"

#define SHIM_PASS	0
#define SHIM_ANSWER	1
#define SHIM_FAULT	2

static pthread_once_t		 shim_once = PTHREAD_ONCE_INIT;
static CK_FUNCTION_LIST_PTR	 shim_real;	/* NULL if loading failed */
static atomic_int		 shim_initialised;
static atomic_ulong		 shim_calls[SHIM_FN_COUNT];
static atomic_ulong		 shim_injected[SHIM_FN_COUNT];
static pthread_mutex_t		 shim_stats_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t		 shim_gate;	/* see shim_gate_enter */

static CK_FUNCTION_LIST		 shim_list;

/*
 * SoftHSM frees a session's state in C_CloseAllSessions even while another
 * thread is inside C_Sign on that session, and crashes.  A real token just
 * fails the other call, so the shim's own session closing (shim_close_all)
 * waits until no forwarded call is in flight: forwarded calls hold the gate
 * shared, closing holds it exclusively.  Writers are preferred, so a busy
 * signing loop cannot starve an invalidation.
 */
static void
shim_gate_init(void)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&shim_gate, &attr);
	pthread_rwlockattr_destroy(&attr);
}

/* C_WaitForSlotEvent may block for ever, so it stays outside the gate. */
static int
shim_gate_enter(enum shim_fn fn)
{
	if (fn == SHIM_FN_C_WaitForSlotEvent)
		return 0;
	pthread_rwlock_rdlock(&shim_gate);
	return 1;
}

static void
shim_gate_leave(int entered)
{
	if (entered)
		pthread_rwlock_unlock(&shim_gate);
}

static void
shim_load(void)
{
	const char *target = getenv("SIGNET_SHIM_TARGET");
	CK_C_GetFunctionList get;
	void *h;
	CK_RV rv;

	shim_gate_init();
	if (target == NULL || *target == '\0')
		target = SHIM_DEFAULT_TARGET;
	if ((h = dlopen(target, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		shim_complain("cannot load %s: %s", target, dlerror());
		return;
	}
	get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	if (get == NULL) {
		shim_complain("%s has no C_GetFunctionList", target);
		return;
	}
	/* A shim in front of itself would recurse forever. */
	if (get == C_GetFunctionList) {
		shim_complain("SIGNET_SHIM_TARGET %s is the shim itself", target);
		return;
	}
	if ((rv = get(&shim_real)) != CKR_OK || shim_real == NULL) {
		shim_complain("%s: C_GetFunctionList failed: 0x%lx", target, rv);
		shim_real = NULL;
	}
	/* The module stays loaded: unloading SoftHSM at exit is fragile. */
}

static void
shim_sleep_ms(unsigned long ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/*
 * Closes every session on every slot of the real module, so that the
 * handles the client holds become invalid for real (SoftHSM then answers
 * CKR_SESSION_HANDLE_INVALID on its own).
 */
static void
shim_close_all(void)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i;

	pthread_rwlock_wrlock(&shim_gate);
	if (shim_real->C_GetSlotList(CK_FALSE, NULL, &n) == CKR_OK && n > 0 &&
	    (slots = calloc(n, sizeof(*slots))) != NULL &&
	    shim_real->C_GetSlotList(CK_FALSE, slots, &n) == CKR_OK) {
		for (i = 0; i < n; i++)
			shim_real->C_CloseAllSessions(slots[i]);
	}
	pthread_rwlock_unlock(&shim_gate);
	free(slots);
}

/*
 * The prologue of every wrapper.  Returns SHIM_PASS if the wrapper should
 * go on, SHIM_ANSWER if the shim answers the call itself with *rv, and
 * SHIM_FAULT if that answer is an injected failure; *absent tells the
 * special wrappers that token_absent is in force.
 */
static int
shim_enter(enum shim_fn fn, int kind, int *absent, CK_RV *rv)
{
	struct shim_verdict v;
	int can_close;

	atomic_fetch_add_explicit(&shim_calls[fn], 1, memory_order_relaxed);
	pthread_once(&shim_once, shim_load);
	can_close = shim_real != NULL && atomic_load(&shim_initialised) &&
	    fn != SHIM_FN_C_Initialize && fn != SHIM_FN_C_Finalize &&
	    fn != SHIM_FN_C_GetFunctionList;
	shim_ctl_check(fn, can_close, &v);
	if (v.close_all)
		shim_close_all();
	if (v.delay_ms > 0)
		shim_sleep_ms(v.delay_ms);
	*absent = v.absent;
	if (!v.inject && v.absent && kind != SHIM_K_GLOBAL) {
		v.inject = 1;
		v.rv = kind == SHIM_K_SLOT ? CKR_TOKEN_NOT_PRESENT :
		    CKR_DEVICE_REMOVED;
	}
	if (!v.inject && shim_real == NULL) {
		*rv = CKR_GENERAL_ERROR;
		return SHIM_ANSWER;
	}
	if (v.inject) {
		atomic_fetch_add_explicit(&shim_injected[fn], 1,
		    memory_order_relaxed);
		*rv = v.rv;
		return v.absent ? SHIM_ANSWER : SHIM_FAULT;
	}
	return SHIM_PASS;
}

/*
 * A failed C_Sign (or Update, Final, ...) ends the session's operation,
 * and callers rely on that: they start the next one with C_SignInit.  The
 * real module never saw the faked failure, so end its operation here by
 * finishing it into a scratch buffer; the result is thrown away.
 */
static void
shim_abandon(enum shim_fn fn, CK_SESSION_HANDLE h, CK_BYTE_PTR in,
    CK_ULONG inlen)
{
	CK_FUNCTION_LIST_PTR r = shim_real;
	CK_BYTE *buf;
	CK_ULONG size, len;
	int gate;

	if (r == NULL || !atomic_load(&shim_initialised))
		return;
	/* Room for any signature, digest or padded ciphertext of the input. */
	size = inlen + 8192;
	if ((buf = calloc(1, size)) == NULL)
		return;
	len = size;
	gate = shim_gate_enter(fn);
	switch (fn) {
	case SHIM_FN_C_Encrypt:
		r->C_Encrypt(h, in, inlen, buf, &len);
		break;
	case SHIM_FN_C_Decrypt:
		r->C_Decrypt(h, in, inlen, buf, &len);
		break;
	case SHIM_FN_C_Digest:
		r->C_Digest(h, in, inlen, buf, &len);
		break;
	case SHIM_FN_C_Sign:
		r->C_Sign(h, in, inlen, buf, &len);
		break;
	case SHIM_FN_C_SignRecover:
		r->C_SignRecover(h, in, inlen, buf, &len);
		break;
	case SHIM_FN_C_Verify:
		/* An all-zero signature fails, which ends the operation. */
		r->C_Verify(h, in, inlen, buf, 64);
		break;
	case SHIM_FN_C_VerifyRecover:
		r->C_VerifyRecover(h, in, inlen, buf, &len);
		break;
	case SHIM_FN_C_EncryptUpdate:
	case SHIM_FN_C_EncryptFinal:
		r->C_EncryptFinal(h, buf, &len);
		break;
	case SHIM_FN_C_DecryptUpdate:
	case SHIM_FN_C_DecryptFinal:
		r->C_DecryptFinal(h, buf, &len);
		break;
	case SHIM_FN_C_DigestUpdate:
	case SHIM_FN_C_DigestKey:
	case SHIM_FN_C_DigestFinal:
		r->C_DigestFinal(h, buf, &len);
		break;
	case SHIM_FN_C_SignUpdate:
	case SHIM_FN_C_SignFinal:
		r->C_SignFinal(h, buf, &len);
		break;
	case SHIM_FN_C_VerifyUpdate:
	case SHIM_FN_C_VerifyFinal:
		r->C_VerifyFinal(h, buf, 64);
		break;
	default:
		break;
	}
	shim_gate_leave(gate);
	free(buf);
}

static void
shim_write_stats(void)
{
	const char *path = getenv("SIGNET_SHIM_STATS");
	char tmp[4096];
	unsigned long c, j;
	int fd, i, n;

	if (path == NULL || *path == '\0')
		return;
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return;
	pthread_mutex_lock(&shim_stats_mtx);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		pthread_mutex_unlock(&shim_stats_mtx);
		return;
	}
	for (i = 0; i < SHIM_FN_COUNT; i++) {
		c = atomic_load(&shim_calls[i]);
		j = atomic_load(&shim_injected[i]);
		if (c > 0)
			dprintf(fd, "calls %s %lu\n", shim_fn_name(i), c);
		if (j > 0)
			dprintf(fd, "injected %s %lu\n", shim_fn_name(i), j);
	}
	/* Readers see the old file or the new one, never half of one. */
	if (close(fd) == 0)
		rename(tmp, path);
	else
		unlink(tmp);
	pthread_mutex_unlock(&shim_stats_mtx);
}

static void __attribute__((destructor))
shim_fini(void)
{
	shim_write_stats();
}

/* The generated wrappers: count, consult the control file, forward. */
#define SHIM_WRAP_special(name, kind, params, args)
#define SHIM_WRAP_BODY(name, kind, args, abandon)			\
{									\
	CK_RV rv;							\
	int absent, gate;						\
									\
	switch (shim_enter(SHIM_FN_##name, kind, &absent, &rv)) {	\
	case SHIM_FAULT:						\
		abandon;						\
		return rv;						\
	case SHIM_ANSWER:						\
		return rv;						\
	}								\
	if (shim_real->name == NULL)					\
		return CKR_FUNCTION_NOT_SUPPORTED;			\
	gate = shim_gate_enter(SHIM_FN_##name);				\
	rv = shim_real->name args;					\
	shim_gate_leave(gate);						\
	return rv;							\
}
#define SHIM_WRAP_gen(name, kind, params, args)				\
static CK_RV shim_##name params						\
SHIM_WRAP_BODY(name, kind, args, (void)0)
#define SHIM_WRAP_ends1(name, kind, params, args)			\
static CK_RV shim_##name params						\
SHIM_WRAP_BODY(name, kind, args,					\
    shim_abandon(SHIM_FN_##name, hSession, pIn, ulInLen))
#define SHIM_WRAP_endsN(name, kind, params, args)			\
static CK_RV shim_##name params						\
SHIM_WRAP_BODY(name, kind, args,					\
    shim_abandon(SHIM_FN_##name, hSession, NULL, 0))
#define SHIM_WRAP(name, how, kind, params, args)			\
	SHIM_WRAP_##how(name, kind, params, args)
SHIM_FUNCTIONS(SHIM_WRAP)
#undef SHIM_WRAP

static CK_RV
shim_C_Initialize(CK_VOID_PTR pInitArgs)
{
	CK_RV rv;
	int absent, gate;

	if (shim_enter(SHIM_FN_C_Initialize, SHIM_K_GLOBAL, &absent, &rv) !=
	    SHIM_PASS)
		return rv;
	gate = shim_gate_enter(SHIM_FN_C_Initialize);
	rv = shim_real->C_Initialize(pInitArgs);
	shim_gate_leave(gate);
	if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
		atomic_store(&shim_initialised, 1);
	return rv;
}

static CK_RV
shim_C_Finalize(CK_VOID_PTR pReserved)
{
	CK_RV rv;
	int absent, gate;

	if (shim_enter(SHIM_FN_C_Finalize, SHIM_K_GLOBAL, &absent, &rv) !=
	    SHIM_PASS)
		return rv;
	gate = shim_gate_enter(SHIM_FN_C_Finalize);
	rv = shim_real->C_Finalize(pReserved);
	shim_gate_leave(gate);
	if (rv == CKR_OK || rv == CKR_CRYPTOKI_NOT_INITIALIZED)
		atomic_store(&shim_initialised, 0);
	shim_write_stats();
	return rv;
}

static CK_RV
shim_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppList)
{
	return C_GetFunctionList(ppList);
}

/* With the token pulled, the slot is still there but reports no token. */
static CK_RV
shim_C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
    CK_ULONG_PTR pulCount)
{
	CK_RV rv;
	int absent, gate;

	if (shim_enter(SHIM_FN_C_GetSlotList, SHIM_K_GLOBAL, &absent, &rv) !=
	    SHIM_PASS)
		return rv;
	if (absent && tokenPresent) {
		atomic_fetch_add_explicit(&shim_injected[SHIM_FN_C_GetSlotList],
		    1, memory_order_relaxed);
		if (pulCount == NULL)
			return CKR_ARGUMENTS_BAD;
		*pulCount = 0;
		return CKR_OK;
	}
	gate = shim_gate_enter(SHIM_FN_C_GetSlotList);
	rv = shim_real->C_GetSlotList(tokenPresent, pSlotList, pulCount);
	shim_gate_leave(gate);
	return rv;
}

static CK_RV
shim_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	CK_RV rv;
	int absent, gate;

	if (shim_enter(SHIM_FN_C_GetSlotInfo, SHIM_K_GLOBAL, &absent, &rv) !=
	    SHIM_PASS)
		return rv;
	gate = shim_gate_enter(SHIM_FN_C_GetSlotInfo);
	rv = shim_real->C_GetSlotInfo(slotID, pInfo);
	shim_gate_leave(gate);
	if (rv == CKR_OK && absent && pInfo != NULL) {
		atomic_fetch_add_explicit(&shim_injected[SHIM_FN_C_GetSlotInfo],
		    1, memory_order_relaxed);
		pInfo->flags &= ~(CK_FLAGS)CKF_TOKEN_PRESENT;
	}
	return rv;
}

#define SHIM_ENTRY(name, how, kind, params, args) .name = shim_##name,
static CK_FUNCTION_LIST shim_list = {
	.version = { 2, 40 },
	SHIM_FUNCTIONS(SHIM_ENTRY)
};
#undef SHIM_ENTRY

__attribute__((visibility("default"))) CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppList)
{
	CK_RV rv;
	int absent;

	if (shim_enter(SHIM_FN_C_GetFunctionList, SHIM_K_GLOBAL, &absent,
	    &rv) != SHIM_PASS)
		return rv;
	if (ppList == NULL)
		return CKR_ARGUMENTS_BAD;
	*ppList = &shim_list;
	return CKR_OK;
}
