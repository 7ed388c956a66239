/*
 * See certest.h.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "certest.h"

static int saved = -1, capture = -1;
static char said[8192];

void
cer_stderr_begin(void)
{
	char path[] = "/tmp/cer-stderr-XXXXXX";

	assert_int_equal(saved, -1);
	fflush(stderr);
	assert_int_not_equal(capture = mkstemp(path), -1);
	unlink(path);
	assert_int_not_equal(saved = dup(2), -1);
	assert_int_not_equal(dup2(capture, 2), -1);
}

const char *
cer_stderr_end(void)
{
	ssize_t n;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	saved = -1;
	n = pread(capture, said, sizeof(said) - 1, 0);
	close(capture);
	said[n > 0 ? n : 0] = '\0';
	return said;
}

void
cer_tmpdir(char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, size, "%s/cer-test.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
}

void
cer_rmdir(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

void
cer_put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

const char *
cer_get(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}
