/*
 * Internal to api/proto: field groups shared by request and reply codecs.
 */
#ifndef SIGNET_PROTO_LOCAL_H
#define SIGNET_PROTO_LOCAL_H

#include "signet/proto.h"

/* A chain of min..PROTO_MAX_CHAIN_CERTS certificates within PROTO_MAX_CHAIN. */
int	proto_chain_get(struct proto_cur *, struct proto_chain *, unsigned min);
int	proto_chain_put(struct proto_wbuf *, const struct proto_chain *,
	    unsigned min);
/* A certificate serial: 1..PROTO_MAX_SERIAL bytes. */
int	proto_serial_get(struct proto_cur *, struct proto_blob *);
int	proto_serial_put(struct proto_wbuf *, const struct proto_blob *);
/* A data field into a blob. */
int	proto_blob_get(struct proto_cur *, size_t max, struct proto_blob *);
int	proto_blob_put(struct proto_wbuf *, size_t max,
	    const struct proto_blob *);
/* A one-time PSK handle: exactly PROTO_PSK_HANDLE_LEN bytes, copied. */
int	proto_psk_handle_get(struct proto_cur *,
	    uint8_t out[PROTO_PSK_HANDLE_LEN]);
/* The failed children (proto_ctl.c): u8 n, n x (str child, str error). */
int	proto_failed_get(struct proto_cur *, struct proto_failed *f,
	    uint8_t *n);
int	proto_failed_put(struct proto_wbuf *, const struct proto_failed *f,
	    size_t n);
/* AUDIT_QUERY request and reply bodies (proto_audit.c). */
int	proto_auditq_get(struct proto_cur *, struct proto_request *);
int	proto_auditq_put(struct proto_wbuf *, const struct proto_request *);
int	proto_auditq_rep_get(struct proto_cur *, struct proto_reply *);
int	proto_auditq_rep_put(struct proto_wbuf *, const struct proto_reply *);

#endif /* SIGNET_PROTO_LOCAL_H */
