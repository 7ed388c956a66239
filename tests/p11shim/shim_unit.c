/*
 * In-process checks of the PKCS#11 shim that pkcs11-tool cannot make:
 * thread-safe "count", invalidate_sessions, token_absent on live sessions,
 * recovery by re-initialising, and that a faked C_Sign failure leaves the
 * session usable.  Run by shim_selftest.sh with a token "t" (user PIN 1234)
 * holding an EC key with CKA_ID 01 and SOFTHSM2_CONF set.
 *
 * usage: shim_unit libsignet_p11shim.so control-file
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#define UNIT_THREADS	8
#define UNIT_PER_THREAD	500
#define UNIT_FAULTS	1000

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "shim_unit: %s:%d: check failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		exit(1);						\
	}								\
} while (0)

#define CHECK_RV(call, want) do {					\
	CK_RV rv_ = (call);						\
	if (rv_ != (CK_RV)(want)) {					\
		fprintf(stderr, "shim_unit: %s:%d: %s = 0x%lx, "	\
		    "expected %s\n", __FILE__, __LINE__, #call, rv_,	\
		    #want);						\
		exit(1);						\
	}								\
} while (0)

static CK_FUNCTION_LIST_PTR	 p11;
static CK_SLOT_ID		 slot;
static const char		*control;
static int			 thread_faults[UNIT_THREADS];

/* Replaces the control file in one step, as every test should. */
static void
set_control(const char *text)
{
	char tmp[4096];
	FILE *f;

	CHECK(snprintf(tmp, sizeof(tmp), "%s.new", control) < (int)sizeof(tmp));
	CHECK((f = fopen(tmp, "w")) != NULL);
	CHECK(fputs(text, f) >= 0);
	CHECK(fclose(f) == 0);
	CHECK(rename(tmp, control) == 0);
}

static void
initialize(void)
{
	CK_C_INITIALIZE_ARGS args;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	CHECK_RV(p11->C_Initialize(&args), CKR_OK);
}

/* Finds the slot of token "t" among the slots with a token. */
static CK_SLOT_ID
find_slot(void)
{
	CK_SLOT_ID slots[16];
	CK_TOKEN_INFO ti;
	CK_ULONG n = 16, i;

	CHECK_RV(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	for (i = 0; i < n; i++) {
		CHECK_RV(p11->C_GetTokenInfo(slots[i], &ti), CKR_OK);
		if (ti.label[0] == 't' && ti.label[1] == ' ')
			return slots[i];
	}
	CHECK(!"token t not found");
	return 0;
}

static CK_SESSION_HANDLE
open_session(void)
{
	CK_SESSION_HANDLE s;

	CHECK_RV(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &s), CKR_OK);
	return s;
}

static CK_OBJECT_HANDLE
find_key(CK_SESSION_HANDLE s)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_BYTE id[] = { 0x01 };
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, id, sizeof(id) },
	};
	CK_OBJECT_HANDLE key;
	CK_ULONG n = 0;

	CHECK_RV(p11->C_FindObjectsInit(s, tmpl, 2), CKR_OK);
	CHECK_RV(p11->C_FindObjects(s, &key, 1, &n), CKR_OK);
	CHECK_RV(p11->C_FindObjectsFinal(s), CKR_OK);
	CHECK(n == 1);
	return key;
}

static CK_RV
sign_once(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_BYTE hash[32], sig[128];
	CK_ULONG len = sizeof(sig);
	CK_RV rv;

	memset(hash, 0x5a, sizeof(hash));
	if ((rv = p11->C_SignInit(s, &mech, key)) != CKR_OK)
		return rv;
	return p11->C_Sign(s, hash, sizeof(hash), sig, &len);
}

static void *
random_worker(void *arg)
{
	int idx = *(int *)arg, i;
	CK_SESSION_HANDLE s = open_session();
	CK_BYTE buf[16];
	CK_RV rv;

	for (i = 0; i < UNIT_PER_THREAD; i++) {
		rv = p11->C_GenerateRandom(s, buf, sizeof(buf));
		if (rv == CKR_DEVICE_ERROR)
			thread_faults[idx]++;
		else
			CHECK_RV(rv, CKR_OK);
	}
	CHECK_RV(p11->C_CloseSession(s), CKR_OK);
	return NULL;
}

/* "count N" under contention: exactly N calls fail, no more, no fewer. */
static void
test_threaded_count(void)
{
	pthread_t th[UNIT_THREADS];
	int idx[UNIT_THREADS], i, total = 0;

	set_control("fail CKR_DEVICE_ERROR count 1000 func C_GenerateRandom\n");
	for (i = 0; i < UNIT_THREADS; i++) {
		idx[i] = i;
		CHECK(pthread_create(&th[i], NULL, random_worker, &idx[i]) == 0);
	}
	for (i = 0; i < UNIT_THREADS; i++) {
		CHECK(pthread_join(th[i], NULL) == 0);
		total += thread_faults[i];
	}
	CHECK(total == UNIT_FAULTS);
}

/* A faked C_Sign failure must leave the session ready for C_SignInit. */
static void
test_sign_fault(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
	set_control("fail CKR_DEVICE_ERROR count 1 func C_Sign\n");
	CHECK_RV(sign_once(s, key), CKR_DEVICE_ERROR);
	CHECK_RV(sign_once(s, key), CKR_OK);
	set_control("fail CKR_KEY_HANDLE_INVALID count 1 func C_SignInit\n");
	CHECK_RV(sign_once(s, key), CKR_KEY_HANDLE_INVALID);
	CHECK_RV(sign_once(s, key), CKR_OK);
}

static void
test_invalidate(CK_SESSION_HANDLE *s)
{
	CK_SESSION_INFO si;

	set_control("invalidate_sessions\n");
	CHECK_RV(p11->C_GetSessionInfo(*s, &si), CKR_SESSION_HANDLE_INVALID);
	/* One-shot: a new session survives while the file stays the same. */
	*s = open_session();
	CHECK_RV(p11->C_GetSessionInfo(*s, &si), CKR_OK);
	CHECK_RV(p11->C_Login(*s, CKU_USER, (CK_UTF8CHAR_PTR)"1234", 4),
	    CKR_OK);
	CHECK_RV(sign_once(*s, find_key(*s)), CKR_OK);
}

static void
test_token_absent(CK_SESSION_HANDLE s)
{
	CK_SESSION_HANDLE s2;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	CK_BYTE buf[8];

	set_control("token_absent\n");
	CHECK_RV(p11->C_GenerateRandom(s, buf, sizeof(buf)),
	    CKR_DEVICE_REMOVED);
	CHECK_RV(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	CHECK(n == 0);
	n = 16;
	CHECK_RV(p11->C_GetSlotList(CK_FALSE, slots, &n), CKR_OK);
	CHECK(n > 0);
	CHECK_RV(p11->C_GetSlotInfo(slot, &si), CKR_OK);
	CHECK((si.flags & CKF_TOKEN_PRESENT) == 0);
	CHECK_RV(p11->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT);
	CHECK_RV(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s2),
	    CKR_TOKEN_NOT_PRESENT);
	/* Back again: the old session went with the token, as on real ones. */
	set_control("\n");
	CHECK_RV(p11->C_GenerateRandom(s, buf, sizeof(buf)),
	    CKR_SESSION_HANDLE_INVALID);
}

/* Recovery: re-initialising fails while the token stays away. */
static void
test_reinit(void)
{
	CK_SESSION_HANDLE s;

	set_control("token_absent\nfail CKR_DEVICE_ERROR func C_Initialize\n");
	CHECK_RV(p11->C_Finalize(NULL), CKR_OK);
	CHECK_RV(p11->C_Initialize(NULL), CKR_DEVICE_ERROR);
	CHECK_RV(p11->C_Initialize(NULL), CKR_DEVICE_ERROR);
	set_control("# token is back\n");
	initialize();
	slot = find_slot();
	s = open_session();
	CHECK_RV(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"1234", 4),
	    CKR_OK);
	CHECK_RV(sign_once(s, find_key(s)), CKR_OK);
}

/* Prints the cost of the shim on a cheap call, for the record. */
static void
report_rate(CK_SESSION_HANDLE s)
{
	struct timespec a, b;
	CK_BYTE buf[16];
	double secs;
	int i, n = 20000;

	set_control("# pass-through\n");
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		CHECK_RV(p11->C_GenerateRandom(s, buf, sizeof(buf)), CKR_OK);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("shim_unit: %.0f C_GenerateRandom calls/s through the shim\n",
	    n / secs);
}

int
main(int argc, char **argv)
{
	CK_C_GetFunctionList get;
	CK_SESSION_HANDLE s;
	void *h;

	if (argc != 3) {
		fprintf(stderr, "usage: shim_unit libsignet_p11shim.so "
		    "control-file\n");
		return 2;
	}
	control = argv[2];
	set_control("");
	CHECK((h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) != NULL);
	CHECK((get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList")) !=
	    NULL);
	CHECK(dlsym(h, "C_Sign") == NULL);	/* only one export */
	CHECK_RV(get(&p11), CKR_OK);
	initialize();
	slot = find_slot();
	s = open_session();
	CHECK_RV(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"1234", 4),
	    CKR_OK);

	test_threaded_count();
	test_sign_fault(s, find_key(s));
	test_invalidate(&s);
	report_rate(s);
	test_token_absent(s);
	test_reinit();

	set_control("");
	CHECK_RV(p11->C_Finalize(NULL), CKR_OK);
	printf("shim_unit: all checks passed\n");
	return 0;
}
