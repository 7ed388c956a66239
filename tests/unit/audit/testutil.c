/* Helpers shared by the audit and ledger unit tests. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sqlite3.h>

#include "testutil.h"

void
tu_tmpdir(char *buf, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, size, "%s/signet-test-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(buf) == NULL) {
		fprintf(stderr, "mkdtemp %s failed\n", buf);
		abort();
	}
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path) != 0 ? -1 : 0;
}

void
tu_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

EVP_PKEY *
tu_p256(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (k == NULL)
		abort();
	return k;
}

void
tu_write_pub(EVP_PKEY *key, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || !PEM_write_PUBKEY(f, key))
		abort();
	fclose(f);
}

static int
sql_flags(const char *path, const char *sql, int flags)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

int
tu_sql(const char *path, const char *sql)
{
	return sql_flags(path, sql, SQLITE_OPEN_READWRITE);
}

int
tu_sql_create(const char *path, const char *sql)
{
	return sql_flags(path, sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
}

int
tu_sql_blob(const char *path, const char *sql, uint8_t *buf, size_t size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    (size_t)sqlite3_column_bytes(st, 0) <= size) {
		n = sqlite3_column_bytes(st, 0);
		memcpy(buf, sqlite3_column_blob(st, 0), (size_t)n);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

int64_t
tu_sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}
