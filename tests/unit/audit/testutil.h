/* Helpers shared by the audit and ledger unit tests. */
#ifndef SIGNET_TEST_AUDIT_UTIL_H
#define SIGNET_TEST_AUDIT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* A fresh directory under $TMPDIR; aborts on failure. */
void	tu_tmpdir(char *buf, size_t size);
/* Remove a directory tree made by tu_tmpdir. */
void	tu_rmtree(const char *dir);
/* A software P-256 key standing in for the token's audit key. */
EVP_PKEY *tu_p256(void);
/* Write key's public half as PEM; aborts on failure. */
void	tu_write_pub(EVP_PKEY *key, const char *path);
/* Run SQL on a database with SQLite directly (tampering); SQLite rc. */
int	tu_sql(const char *db, const char *sql);
/* Like tu_sql, creating the database if missing. */
int	tu_sql_create(const char *db, const char *sql);
/* First column of the first row as a blob into buf; its length or -1. */
int	tu_sql_blob(const char *db, const char *sql, uint8_t *buf,
	    size_t size);
/* One integer from a query; -1 on error. */
int64_t	tu_sql_int(const char *db, const char *sql);

#endif
