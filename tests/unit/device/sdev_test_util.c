/* Helpers shared by the device client's unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "sdev_test_util.h"

uint8_t *
tu_read_path(const char *path, size_t *len)
{
	FILE *f;
	uint8_t *b;
	long n;

	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return b;
}

uint8_t *
tu_read_data(const char *name, size_t *len)
{
	char path[1024];

	(void)snprintf(path, sizeof(path), "%s/%s", SDEV_TEST_DATA, name);
	return tu_read_path(path, len);
}

void
tu_tmpdir(char *buf, size_t size)
{
	const char *t = getenv("TMPDIR");

	(void)snprintf(buf, size, "%s/sdev-test-XXXXXX",
	    t != NULL ? t : "/tmp");
	assert_non_null(mkdtemp(buf));
}

void
tu_rmdir(const char *dir)
{
	char cmd[1200];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
tu_run(const char *cmd, char *out, size_t size)
{
	FILE *p;
	size_t n = 0, r;
	int st;

	p = popen(cmd, "r");
	assert_non_null(p);
	while (n + 1 < size && (r = fread(out + n, 1, size - 1 - n, p)) > 0)
		n += r;
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
