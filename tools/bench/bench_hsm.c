/*
 * signet-bench-hsm: signatures per second through hsm/, beside raw
 * C_SignInit+C_Sign on the same SoftHSMv2 token in the same run.
 *
 * usage: signet-bench-hsm [-s seconds] [-m module]
 *
 * It makes a throwaway token in a temporary directory, generates the keys,
 * measures, and removes the token.
 */
#include <dlfcn.h>
#include <err.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include <signet/hsm.h>

#define MAX_THREADS 8
#define PIN "1234"

static double seconds = 3.0;
static const char *module = "/usr/lib/softhsm/libsofthsm2.so";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct job {
	/* raw */
	CK_FUNCTION_LIST_PTR p11;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	/* layer */
	struct hsm_key *hk;
	int mode; /* 0 raw, 1 hsm_key_sign_raw, 2 hsm_key_sign, 3 EVP,
		     4 raw CKM_ECDSA_SHA256 */
	double stop;
	unsigned long n;
	int err;
};

static void *
job_main(void *arg)
{
	struct job *j = arg;
	uint8_t dg[32], sig[HSM_MAX_SIG];
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_MECHANISM m256 = { CKM_ECDSA_SHA256, NULL, 0 };
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	CK_ULONG len;
	size_t slen;

	memset(dg, 0x5a, sizeof(dg));
	while (now() < j->stop) {
		int i;

		for (i = 0; i < 64; i++) {
			switch (j->mode) {
			case 0:
				len = sizeof(sig);
				if (j->p11->C_SignInit(j->s, &m, j->key) != CKR_OK ||
				    j->p11->C_Sign(j->s, dg, 32, sig, &len) !=
				    CKR_OK)
					j->err++;
				break;
			case 4:
				/* The token hashes: what hsm/ does not use. */
				len = sizeof(sig);
				if (j->p11->C_SignInit(j->s, &m256, j->key) !=
				    CKR_OK ||
				    j->p11->C_Sign(j->s, dg, 32, sig, &len) !=
				    CKR_OK)
					j->err++;
				break;
			case 1:
				slen = sizeof(sig);
				if (hsm_key_sign_raw(j->hk, dg, 32, sig, &slen))
					j->err++;
				break;
			case 2:
				slen = sizeof(sig);
				if (hsm_key_sign(j->hk, NULL, dg, 32, sig, &slen))
					j->err++;
				break;
			case 3:
				slen = sizeof(sig);
				if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(),
				    NULL, hsm_key_evp(j->hk)) != 1 ||
				    EVP_DigestSign(ctx, sig, &slen, dg, 32) != 1)
					j->err++;
				break;
			}
			j->n++;
		}
	}
	EVP_MD_CTX_free(ctx);
	return NULL;
}

static double
run(struct job *proto, int threads, CK_SESSION_HANDLE *sessions)
{
	pthread_t th[MAX_THREADS];
	struct job j[MAX_THREADS];
	unsigned long total = 0;
	double t0 = now();
	int i, errs = 0;

	for (i = 0; i < threads; i++) {
		j[i] = *proto;
		if (sessions)
			j[i].s = sessions[i];
		j[i].stop = t0 + seconds;
		pthread_create(&th[i], NULL, job_main, &j[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += j[i].n;
		errs += j[i].err;
	}
	if (errs)
		errx(1, "%d signing errors", errs);
	return (double)total / (now() - t0);
}

/*
 * Raw PKCS#11 on the same token, in the same process: our own sessions on
 * the module the layer has initialised (login state is per application),
 * so raw and layer rounds can alternate and see the same machine.
 */
struct raw {
	CK_FUNCTION_LIST_PTR p11;
	CK_SESSION_HANDLE s[MAX_THREADS];
	CK_OBJECT_HANDLE key;
	CK_SLOT_ID slot;
	void *dl;
};

static void
raw_open(struct raw *r, const char *label, int copy)
{
	CK_RV (*getlist)(CK_FUNCTION_LIST_PTR_PTR);
	CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_BBOOL f = CK_FALSE, t_ = CK_TRUE;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, &t_, sizeof(t_) },
		{ CKA_LABEL, (void *)label, strlen(label) } };
	CK_ATTRIBUTE ct[] = { { CKA_TOKEN, &f, sizeof(f) } };
	CK_OBJECT_HANDLE copyh;
	CK_RV rv;
	int i;

	if ((r->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL)
		errx(2, "dlopen %s", module);
	*(void **)(&getlist) = dlsym(r->dl, "C_GetFunctionList");
	if (getlist(&r->p11) != CKR_OK)
		errx(2, "raw: C_GetFunctionList");
	rv = r->p11->C_Initialize(&args);
	if ((rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) ||
	    r->p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n == 0)
		errx(2, "raw: no token");
	r->slot = slots[0];
	for (i = 0; i < MAX_THREADS; i++)
		if (r->p11->C_OpenSession(slots[0],
		    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
		    &r->s[i]) != CKR_OK)
			errx(2, "raw: open session");
	n = 0;
	r->p11->C_FindObjectsInit(r->s[0], t, 3);
	r->p11->C_FindObjects(r->s[0], &r->key, 1, &n);
	r->p11->C_FindObjectsFinal(r->s[0]);
	if (n != 1)
		errx(2, "raw: key %s not found", label);
	if (copy) {
		if (r->p11->C_CopyObject(r->s[0], r->key, ct, 1, &copyh) !=
		    CKR_OK)
			errx(2, "raw: copy");
		r->key = copyh;
	}
}

static void
raw_close(struct raw *r)
{
	int i;

	/* Closing our sessions destroys the session copy; the module stays
	 * initialised for the layer, which finalises it in hsm_close. */
	for (i = 0; i < MAX_THREADS; i++)
		r->p11->C_CloseSession(r->s[i]);
	dlclose(r->dl);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct hsm *
layer_open(const char *dir, int session_keys)
{
	struct hsm_config cfg = { .module = module, .token_label = "bench",
		.pool_size = MAX_THREADS, .session_keys = session_keys };
	struct hsm *h = NULL;
	char pin[] = PIN;
	int rc;

	(void)dir;
	if ((rc = hsm_open(&cfg, pin, 4, &h)) != HSM_OK)
		errx(2, "hsm_open: %s", hsm_strerror(rc));
	return h;
}

static void
row(const char *what, int threads, double rate, double base)
{
	printf("| %-44s | %7d | %12.0f | %5.1f%% |\n", what, threads, rate,
	    base > 0 ? 100.0 * rate / base : 100.0);
}

static void
other_types(void)
{
	static const struct {
		enum hsm_key_type t;
		const char *label;
	} types[] = { { HSM_KEY_EC_P384, "p384" }, { HSM_KEY_RSA_2048, "rsa" },
		{ HSM_KEY_ED25519, "ed" } };
	struct hsm *h = layer_open(NULL, 0);
	struct job j = { 0 };
	size_t i;

	for (i = 0; i < 3; i++) {
		struct hsm_key *k;
		struct hsm_keygen req = { .type = types[i].t,
			.label = types[i].label };
		char what[64];

		if (hsm_key_generate(h, &req, &k) != HSM_OK)
			errx(2, "keygen %s", types[i].label);
		j.hk = k;
		j.mode = 2;
		snprintf(what, sizeof(what), "hsm_key_sign %s (token key)",
		    hsm_key_type_name(types[i].t));
		row(what, 1, run(&j, 1, NULL), 0);
		hsm_key_free(k);
	}
	hsm_close(h);
}

#define ROUNDS 5

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/signet-bench-XXXXXX", conf[256], cmd[512];
	struct hsm_keygen req = { .type = HSM_KEY_EC_P256, .label = "p256" };
	static const char *modes[] = { "raw C_SignInit+C_Sign",
		"hsm_key_sign_raw", "hsm_key_sign (SHA-256 + DER)",
		"EVP_DigestSign via hsm_key_evp",
		"raw CKM_ECDSA_SHA256 (token hashes)" };
	struct hsm *h;
	struct hsm_key *k;
	struct raw r;
	CK_MECHANISM_INFO mi;
	int c, sk, th, m, i, nm = 4;
	FILE *f;

	while ((c = getopt(argc, argv, "s:m:")) != -1) {
		if (c == 's')
			seconds = strtod(optarg, NULL);
		else if (c == 'm')
			module = optarg;
		else
			errx(2, "usage: signet-bench-hsm [-s seconds] [-m module]");
	}
	if (mkdtemp(dir) == NULL)
		err(2, "mkdtemp");
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	snprintf(cmd, sizeof(cmd), "%s/tokens", dir);
	mkdir(cmd, 0700);
	if ((f = fopen(conf, "w")) == NULL)
		err(2, "%s", conf);
	fprintf(f, "directories.tokendir = %s/tokens\nlog.level = ERROR\n",
	    dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", conf, 1);
	if (hsm_token_init(module, "bench", "12345678", PIN) != HSM_OK)
		errx(2, "token init");
	h = layer_open(dir, 0);
	if (hsm_key_generate(h, &req, &k) != HSM_OK)
		errx(2, "keygen");
	hsm_key_free(k);
	hsm_close(h);

	printf("SoftHSMv2 P-256 signatures/s: median of %d alternating rounds "
	    "of %.1f s, %ld cores\n\n", ROUNDS, seconds,
	    sysconf(_SC_NPROCESSORS_ONLN));
	printf("| %-44s | threads | signatures/s | of raw |\n", "path");
	printf("|%s|---------|--------------|--------|\n",
	    "----------------------------------------------");
	for (sk = 0; sk <= 1; sk++) {
		h = layer_open(dir, sk);
		if (hsm_key_find(h, "p256", NULL, 0, &k) != HSM_OK)
			errx(2, "find");
		raw_open(&r, "p256", sk);
		/* The token hashing itself, where it offers that at all. */
		nm = r.p11->C_GetMechanismInfo(r.slot, CKM_ECDSA_SHA256, &mi) ==
		    CKR_OK && (mi.flags & CKF_SIGN) ? 5 : 4;
		for (th = 1; th <= 2; th++) {
			double rate[5][ROUNDS], med[5];

			/* Alternate the paths so drift hits them alike. */
			for (i = 0; i < ROUNDS; i++) {
				for (m = 0; m < nm; m++) {
					struct job j = { .p11 = r.p11,
						.key = r.key, .hk = k,
						.mode = m };

					rate[m][i] = run(&j, th, r.s);
				}
			}
			for (m = 0; m < nm; m++) {
				char what[96];

				qsort(rate[m], ROUNDS, sizeof(double),
				    cmp_double);
				med[m] = rate[m][ROUNDS / 2];
				snprintf(what, sizeof(what), "%s, %s", modes[m],
				    sk ? "session copy" : "token key");
				row(what, th, med[m], med[0]);
			}
		}
		raw_close(&r);
		hsm_key_free(k);
		hsm_close(h);
	}
	other_types();
	if (nm == 4)
		printf("\nraw CKM_ECDSA_SHA256 (the token hashing): not offered "
		    "by this token\n");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		warnx("could not remove %s", dir);
	return 0;
}
