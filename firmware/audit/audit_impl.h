/* Internal to the audit library: shared between its files only. */
#ifndef SIGNET_AUDIT_IMPL_H
#define SIGNET_AUDIT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <signet/audit.h>

/* actor, role, tenant, action, object, result, detail: in hash order. */
#define AUDIT_NFIELDS 7

int	audit_hash_fields(uint64_t seq, int64_t time,
	    const char *const field[AUDIT_NFIELDS],
	    const size_t len[AUDIT_NFIELDS], const uint8_t prev[AUDIT_HASH_LEN],
	    uint8_t out[AUDIT_HASH_LEN]);
void	audit_record_fields(const struct audit_record *rec,
	    const char *field[AUDIT_NFIELDS], size_t len[AUDIT_NFIELDS]);
int64_t	audit_now(void);

#endif
