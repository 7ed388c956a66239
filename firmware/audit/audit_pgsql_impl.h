/* Internal to the audit chain's PostgreSQL files (audit_pgsql*.c). */
#ifndef SIGNET_AUDIT_PGSQL_IMPL_H
#define SIGNET_AUDIT_PGSQL_IMPL_H

#include <signet/pgutil.h>

/* The audit_rc of a libpq fault (pgutil.h). */
int	apg_rc(enum pgu_fault f);

#endif
