/*
 * Fixtures for the PostgreSQL ledger tests.  They run under
 * tests/support/pgtest.sh, which starts a throwaway server and passes its
 * connection string in SIGNET_PG_CONNINFO; each test case gets a fresh
 * database on it.  Without a server the tests fail (never skip): CI
 * installs one with tools/install-deps.sh --cluster.
 */
#ifndef SIGNET_TEST_PGFX_H
#define SIGNET_TEST_PGFX_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include <signet/audit.h>
#include <signet/ledger.h>

struct pgfx {
	char		 db[64];	/* this case's database */
	char		 conninfo[1024]; /* the server's, with dbname */
	EVP_PKEY	*key;		/* audit checkpoint key */
};

/* Exit with a message unless a test server is there. */
void	pgfx_require(void);
/* A fresh database and key; aborts the case on failure. */
void	pgfx_init(struct pgfx *fx);
void	pgfx_fini(struct pgfx *fx);
/*
 * cmocka setup and teardown: *state is a struct pgfx made by pgfx_init
 * for the case and finished by pgfx_fini after it.
 */
int	pgfx_setup(void **state);
int	pgfx_teardown(void **state);
#define PGFX_TEST(f)	cmocka_unit_test_setup_teardown(f, pgfx_setup, \
			    pgfx_teardown)
/* The ledger target for node on fx's database. */
void	pgfx_target(const struct pgfx *fx, const char *node, char *buf,
	    size_t size);
/* Open the ledger as node (checkpoints every 4 records). */
struct ledger *pgfx_open(const struct pgfx *fx, const char *node,
	    int no_group_commit);
/* A direct connection to fx's database (checks and tampering). */
PGconn	*pgfx_connect(const struct pgfx *fx);
/* Run SQL directly; 0 on success. */
int	pgfx_sql(const struct pgfx *fx, const char *sql);
/* One integer from a query; -1 on error or NULL. */
int64_t	pgfx_int(const struct pgfx *fx, const char *sql);
/* Verify node's audit chain; fails the case unless it has records. */
void	pgfx_chain_ok(const struct pgfx *fx, const char *node,
	    uint64_t records);
/* pgtest.sh stop|up on the test server; 0 on success. */
int	pgfx_server(const char *verb);

#endif
