#include "testtoken.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <signet/hsm.h>

#define DEFAULT_SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "testtoken: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

const char *
test_softhsm_module(void)
{
	const char *m = getenv("SIGNET_SOFTHSM_MODULE");

	if (m == NULL || *m == '\0' || strstr(m, "NOTFOUND") != NULL)
		m = DEFAULT_SOFTHSM;
	if (access(m, R_OK) != 0)
		die("SoftHSMv2 module %s is missing: run tools/install-deps.sh", m);
	return m;
}

const char *
test_shim_module(void)
{
	const char *m = getenv("SIGNET_SHIM_MODULE");

	if (m == NULL || access(m, R_OK) != 0)
		die("fault shim module missing (SIGNET_SHIM_MODULE=%s)",
		    m ? m : "unset");
	return m;
}

void
test_token_create(struct test_token *t, const char *label)
{
	const char *tmp = getenv("TMPDIR");
	FILE *f;
	int rc;

	memset(t, 0, sizeof(*t));
	t->module = test_softhsm_module();
	snprintf(t->dir, sizeof(t->dir), "%s/signet-token-XXXXXX",
	    tmp ? tmp : "/tmp");
	if (mkdtemp(t->dir) == NULL)
		die("mkdtemp %s failed", t->dir);
	snprintf(t->tokendir, sizeof(t->tokendir), "%s/tokens", t->dir);
	snprintf(t->conf, sizeof(t->conf), "%s/softhsm2.conf", t->dir);
	if (mkdir(t->tokendir, 0700) != 0)
		die("mkdir %s failed", t->tokendir);
	if ((f = fopen(t->conf, "w")) == NULL)
		die("cannot write %s", t->conf);
	fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = ERROR\nslots.removable = false\n", t->tokendir);
	fclose(f);
	setenv("SOFTHSM2_CONF", t->conf, 1);
	snprintf(t->label, sizeof(t->label), "%s", label);
	rc = hsm_token_init(t->module, t->label, TEST_SO_PIN, TEST_USER_PIN);
	if (rc != HSM_OK)
		die("token init failed: %s", hsm_strerror(rc));
}

void
test_token_destroy(struct test_token *t)
{
	if (t->dir[0] != '\0')
		test_run("rm -rf '%s'", t->dir);
	memset(t, 0, sizeof(*t));
}

static int __attribute__((format(printf, 3, 0)))
run_v(char *out, size_t size, const char *fmt, va_list ap)
{
	char cmd[8192];
	FILE *p;
	size_t n = 0;
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (out != NULL && size > 0) {
		n = fread(out, 1, size - 1, p);
		out[n] = '\0';
	}
	{
		char sink[4096];
		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
test_run(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = run_v(NULL, 0, fmt, ap);
	va_end(ap);
	return rc;
}

int
test_capture(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = run_v(out, size, fmt, ap);
	va_end(ap);
	return rc;
}
