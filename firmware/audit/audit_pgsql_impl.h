/* Internal to the audit chain's PostgreSQL files (audit_pgsql*.c). */
#ifndef SIGNET_AUDIT_PGSQL_IMPL_H
#define SIGNET_AUDIT_PGSQL_IMPL_H

#include <stdint.h>

#include <libpq-fe.h>

#define APG_MAXP 12	/* parameters of one statement */

/* Parameters of one statement: text, or binary bigint and bytea. */
struct apg_params {
	int		 n;
	const char	*val[APG_MAXP];
	int		 len[APG_MAXP];
	int		 fmt[APG_MAXP];
	uint8_t		 num[APG_MAXP][8];
};

void	apg_init(struct apg_params *p);
void	apg_text(struct apg_params *p, const char *s, size_t len);
void	apg_bytea(struct apg_params *p, const void *b, size_t n);
void	apg_int8(struct apg_params *p, int64_t v);

/* The audit_rc of a result that is not status want (res may be NULL). */
int	apg_check(PGconn *conn, const PGresult *res, ExecStatusType want);
/* A bigint column in binary format; 0 if null or the wrong size. */
int	apg_int8_col(const PGresult *r, int row, int col, int64_t *v);

#endif
