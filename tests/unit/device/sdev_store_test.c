/*
 * The POSIX key store: the key is 0600 whatever the umask, items are
 * replaced by rename (no temporary left behind), absent and oversized
 * items are reported as such.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "signet/sdev.h"
#include "sdev_test_util.h"

static int
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_key_mode(void **state)
{
	struct sdev_posix st;
	struct sdev_port p;
	char dir[512], path[600];
	struct stat sb;
	uint8_t buf[64];
	size_t len;
	mode_t old;

	tu_tmpdir(dir, sizeof(dir));
	assert_int_equal(sdev_port_posix(&p, &st, dir), SDEV_OK);
	/* A careless umask must not make the key readable by others. */
	old = umask(0);
	assert_int_equal(p.store(p.ctx, SDEV_ITEM_KEY, (const uint8_t *)"k1",
	    2), SDEV_OK);
	assert_int_equal(p.store(p.ctx, SDEV_ITEM_CERT, (const uint8_t *)"c1",
	    2), SDEV_OK);
	umask(old);
	(void)snprintf(path, sizeof(path), "%s/key.pem", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	(void)snprintf(path, sizeof(path), "%s/cert.pem", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0077, 0044);
	/* Replacing keeps the mode and leaves no temporary file. */
	assert_int_equal(p.store(p.ctx, SDEV_ITEM_KEY, (const uint8_t *)"k2xx",
	    4), SDEV_OK);
	(void)snprintf(path, sizeof(path), "%s/key.pem", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(count_files(dir), 2);
	assert_int_equal(p.load(p.ctx, SDEV_ITEM_KEY, buf, sizeof(buf), &len),
	    SDEV_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "k2xx", 4);
	tu_rmdir(dir);
}

static void
test_load_errors(void **state)
{
	struct sdev_posix st;
	struct sdev_port p;
	char dir[512];
	uint8_t buf[4];
	size_t len;

	tu_tmpdir(dir, sizeof(dir));
	assert_int_equal(sdev_port_posix(&p, &st, dir), SDEV_OK);
	assert_int_equal(p.load(p.ctx, SDEV_ITEM_CA, buf, sizeof(buf), &len),
	    SDEV_E_NOTFOUND);
	assert_int_equal(p.store(p.ctx, SDEV_ITEM_CA,
	    (const uint8_t *)"12345", 5), SDEV_OK);
	assert_int_equal(p.load(p.ctx, SDEV_ITEM_CA, buf, sizeof(buf), &len),
	    SDEV_E_TOOBIG);
	/* A store into a directory that is gone fails and says so. */
	tu_rmdir(dir);
	assert_int_equal(p.store(p.ctx, SDEV_ITEM_KEY, (const uint8_t *)"k",
	    1), SDEV_E_IO);
}

static void
test_two_ports(void **state)
{
	struct sdev_posix s1, s2;
	struct sdev_port p1, p2;
	struct sdev *c1 = NULL, *c2 = NULL;
	char d1[512], d2[512];
	uint8_t buf[8];
	size_t len;

	/* Two clients in one process keep separate stores. */
	tu_tmpdir(d1, sizeof(d1));
	tu_tmpdir(d2, sizeof(d2));
	assert_int_equal(sdev_port_posix(&p1, &s1, d1), SDEV_OK);
	assert_int_equal(sdev_port_posix(&p2, &s2, d2), SDEV_OK);
	assert_int_equal(sdev_new(&p1, &c1), SDEV_OK);
	assert_int_equal(sdev_new(&p2, &c2), SDEV_OK);
	assert_int_equal(p1.store(p1.ctx, SDEV_ITEM_CERT,
	    (const uint8_t *)"one", 3), SDEV_OK);
	assert_int_equal(p2.load(p2.ctx, SDEV_ITEM_CERT, buf, sizeof(buf),
	    &len), SDEV_E_NOTFOUND);
	sdev_free(c1);
	sdev_free(c2);
	tu_rmdir(d1);
	tu_rmdir(d2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_mode),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_two_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
