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
/*
 * A query's page once its rows are handed out (audit.h): next is last
 * when the call stopped early or took limit rows (full), else the
 * window's end hi or the chain's last record tail, whichever comes
 * first, never below q->after; more says whether tail lies past it.
 */
void	audit_page_end(struct audit_page *page, const struct audit_query *q,
	    uint64_t hi, uint64_t tail, uint64_t last, int full);

/*
 * Checkpoints written inside a transaction that has not committed yet
 * (audit_export.c): added by the writer, handed to cfg->exported on
 * commit, dropped on rollback.
 */
struct audit_pending {
	struct audit_ckpt	*v;
	size_t			 n;
	size_t			 cap;
};
int	audit_pending_add(struct audit_pending *p, uint64_t seq, int64_t time,
	    const uint8_t head[AUDIT_HASH_LEN], const uint8_t *sig,
	    size_t siglen);
void	audit_pending_flush(struct audit_pending *p,
	    const struct audit_config *cfg, const char *node);
void	audit_pending_drop(struct audit_pending *p);
void	audit_pending_free(struct audit_pending *p);

#endif
