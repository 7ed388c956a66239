/*
 * See provtest.h.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "provtest.h"

void
prov_fx_setup(struct prov_fx *f)
{
	struct hsm_config cfg = { 0 };
	char pin[] = TEST_USER_PIN;
	const char *tmp = getenv("TMPDIR");

	memset(f, 0, sizeof(*f));
	test_token_create(&f->tok, "signet-prov");
	cfg.module = f->tok.module;
	cfg.token_label = f->tok.label;
	assert_int_equal(hsm_open(&cfg, pin, strlen(pin), &f->h), HSM_OK);
	snprintf(f->dir, sizeof(f->dir), "%s/signet-prov.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
}

void
prov_fx_teardown(struct prov_fx *f)
{
	hsm_close(f->h);
	test_run("rm -rf '%s'", f->dir);
	test_token_destroy(&f->tok);
}

const char *
prov_path(struct prov_fx *f, char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", f->dir, rel);
	return buf;
}

/*
 * The child leaves with _exit(2) whichever way it exits (the verbs call
 * errx): LeakSanitizer's check at exit in the forked child of a threaded
 * process sees the parent's threads' memory as leaked (it cannot scan
 * their stacks) and failed the test now and then; the parent's own check
 * at its exit still covers the code.
 */
static void
child_exit(int status, void *arg)
{
	(void)arg;
	_exit(status);
}

int
prov_child(struct prov_fx *f, prov_fn fn, const void *arg, char *out,
    size_t size)
{
	char path[600];
	ssize_t n;
	pid_t pid;
	int fd, status;

	prov_path(f, path, sizeof(path), "child.out");
	fflush(stdout);
	fflush(stderr);
	assert_int_not_equal(fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600),
	    -1);
	assert_int_not_equal(pid = fork(), -1);
	if (pid == 0) {
		/* The token's recovery thread stayed in the parent. */
		hsm_fork_child(f->h);
		on_exit(child_exit, NULL);
		/* cmocka's handlers would run the remaining tests here. */
		signal(SIGABRT, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		dup2(fd, 1);
		dup2(fd, 2);
		setvbuf(stdout, NULL, _IONBF, 0);
		/* The token session is the parent's copy: SoftHSMv2 lives
		 * in this process, so it signs in the child as well. */
		exit(fn(f, arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	n = pread(fd, out, size - 1, 0);
	close(fd);
	unlink(path);
	out[n > 0 ? n : 0] = '\0';
	if (!WIFEXITED(status))
		fail_msg("the child died of signal %d:\n%s", WTERMSIG(status),
		    out);
	return WEXITSTATUS(status);
}

struct hsm_key *
prov_key(struct prov_fx *f, const char *label)
{
	struct hsm_keygen req = { .type = HSM_KEY_EC_P256, .label = label };
	struct hsm_key *k = NULL;

	if (hsm_key_find(f->h, label, NULL, 0, &k) == HSM_OK)
		return k;
	assert_int_equal(hsm_key_generate(f->h, &req, &k), HSM_OK);
	return k;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value));
	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
}

X509 *
prov_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *signer,
    const char *bc, const char *ku, const char *nc)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char serial[8];
	BIGNUM *bn;

	assert_non_null(x);
	assert_int_equal(RAND_bytes(serial, sizeof(serial)), 1);
	serial[0] = (serial[0] & 0x7f) | 1;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, X509_VERSION_3);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400);
	X509_set_pubkey(x, pub);
	add_ext(x, issuer, NID_basic_constraints, bc);
	add_ext(x, issuer, NID_key_usage, ku);
	if (nc != NULL)
		add_ext(x, issuer, NID_name_constraints, nc);
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier,
		    "keyid:always");
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	return x;
}

void
prov_write(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(PEM_write_X509(f, x));
	assert_int_equal(fclose(f), 0);
}

X509 *
prov_read(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		fail_msg("%s: not written", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

int
prov_verify(X509 *leaf, X509 *inter, X509 *root, int purpose)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	int rc;

	assert_true(X509_STORE_add_cert(st, root));
	if (inter != NULL)
		sk_X509_push(chain, inter);
	assert_true(X509_STORE_CTX_init(ctx, st, leaf, chain));
	X509_STORE_CTX_set_purpose(ctx, purpose);
	rc = X509_verify_cert(ctx) == 1 ? X509_V_OK
					: X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_free(chain);
	return rc;
}

int
prov_mode(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) == -1)
		return -1;
	return (int)(sb.st_mode & 07777);
}
