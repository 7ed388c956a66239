/*
 * Renewal timing: renewal is due when a third of the lifetime remains;
 * before that `renew` sends nothing (the transport is never touched)
 * unless forced.  Also the status of a stored identity.  The clock is the
 * port's, so the test sets it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "signet/sdev.h"
#include "sdev_test_util.h"

/* The POSIX port's state first, so its file hooks work on this ctx. */
struct fake {
	struct sdev_posix	st;
	int64_t			now;
	int			connects;
};

static int64_t
fake_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

static int
fake_connect(void *ctx, enum sdev_net kind, const char *host,
    const char *port, struct sdev_conn **conn)
{
	((struct fake *)ctx)->connects++;
	return SDEV_E_NET;
}

static void
put(struct sdev_port *p, enum sdev_item item, const char *file)
{
	uint8_t *b;
	size_t len;

	b = tu_read_data(file, &len);
	assert_int_equal(p->store(p->ctx, item, b, len), SDEV_OK);
	free(b);
}

static void
setup_store(struct sdev_port *p, struct fake *f, char *dir, size_t size)
{
	memset(f, 0, sizeof(*f));
	tu_tmpdir(dir, size);
	assert_int_equal(sdev_port_posix(p, &f->st, dir), SDEV_OK);
	p->ctx = f;
	p->now = fake_now;
	p->connect = fake_connect;
	put(p, SDEV_ITEM_KEY, "leaf.key");
	put(p, SDEV_ITEM_CERT, "leaf.pem");
	put(p, SDEV_ITEM_CA, "ca.pem");
}

static void
test_renew_time(void **state)
{
	/* 30 days: due after 20. */
	assert_int_equal(sdev_renew_time(0, 30 * 86400), 20 * 86400);
	assert_int_equal(sdev_renew_time(1000, 1000 + 3 * 3600),
	    1000 + 2 * 3600);
	/* A broken validity is due at once. */
	assert_int_equal(sdev_renew_time(500, 400), 500);
}

static void
test_not_due_then_due(void **state)
{
	struct sdev_server srv = { SDEV_PROTO_COAPS, "127.0.0.1", "9", NULL };
	struct sdev_port p;
	struct sdev_info info;
	struct sdev *c = NULL;
	struct fake f;
	char dir[512];
	int renewed = 1;

	setup_store(&p, &f, dir, sizeof(dir));
	assert_int_equal(sdev_new(&p, &c), SDEV_OK);
	assert_int_equal(sdev_status(c, &info), SDEV_OK);
	assert_string_equal(info.subject, "CN=d1.example");
	assert_string_equal(info.serial, "07");
	assert_true(info.key_matches);
	assert_true(info.chain_ok);
	assert_int_equal(info.renew_at, sdev_renew_time(info.not_before,
	    info.not_after));

	/* Just before a third of the lifetime remains: nothing is sent. */
	f.now = info.renew_at - 1;
	assert_int_equal(sdev_renew(c, &srv, 0, &renewed), SDEV_OK);
	assert_false(renewed);
	assert_int_equal(f.connects, 0);

	/* At that point renewal starts: the transport is asked for. */
	f.now = info.renew_at;
	assert_int_equal(sdev_renew(c, &srv, 0, &renewed), SDEV_E_NET);
	assert_false(renewed);
	assert_int_equal(f.connects, 1);
	assert_non_null(strstr(sdev_errmsg(c), "cannot reach 127.0.0.1:9"));

	/* --force renews at any time. */
	f.now = info.not_before;
	assert_int_equal(sdev_renew(c, &srv, 1, &renewed), SDEV_E_NET);
	assert_int_equal(f.connects, 2);
	sdev_free(c);
	tu_rmdir(dir);
}

static void
test_status_mismatch(void **state)
{
	struct sdev_port p;
	struct sdev_info info;
	struct sdev *c = NULL;
	struct fake f;
	char dir[512];

	setup_store(&p, &f, dir, sizeof(dir));
	/* The CA's key is not the certificate's, and the CA did not sign it. */
	put(&p, SDEV_ITEM_KEY, "ca.key");
	put(&p, SDEV_ITEM_CA, "leaf.pem");
	assert_int_equal(sdev_new(&p, &c), SDEV_OK);
	assert_int_equal(sdev_status(c, &info), SDEV_OK);
	assert_false(info.key_matches);
	assert_false(info.chain_ok);
	sdev_free(c);
	tu_rmdir(dir);
}

static void
test_nothing_stored(void **state)
{
	struct sdev_server srv = { SDEV_PROTO_COAPS, "127.0.0.1", "9", NULL };
	struct sdev_posix st;
	struct sdev_port p;
	struct sdev_info info;
	struct sdev *c = NULL;
	char dir[512];
	int renewed;

	tu_tmpdir(dir, sizeof(dir));
	assert_int_equal(sdev_port_posix(&p, &st, dir), SDEV_OK);
	assert_int_equal(sdev_new(&p, &c), SDEV_OK);
	assert_int_equal(sdev_status(c, &info), SDEV_E_NOTFOUND);
	assert_non_null(strstr(sdev_errmsg(c), "enroll first"));
	assert_int_equal(sdev_renew(c, &srv, 1, &renewed), SDEV_E_NOTFOUND);
	sdev_free(c);
	tu_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_renew_time),
		cmocka_unit_test(test_not_due_then_due),
		cmocka_unit_test(test_status_mismatch),
		cmocka_unit_test(test_nothing_stored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
