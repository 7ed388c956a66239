/*
 * EST-coaps (RFC 9148) request mapping for the CoAP front end.
 *
 * These are the pure parts of api/coap: functions over (const uint8_t *,
 * size_t) that turn what a client sent (method, Uri-Path, Content-Format,
 * Accept, body, Block1 numbers) into either one engine operation or a CoAP
 * error code with a diagnostic.  They allocate nothing, touch no socket and
 * log nothing, so they can be fuzzed and unit-tested alone (STYLE.md 11).
 *
 * Codes are written as the decimal "class * 100 + detail" of RFC 7252
 * (205 for 2.05 Content, 413 for 4.13); COAP_RESPONSE_CODE() turns them
 * into the wire byte.
 */
#ifndef SIGNET_EC_H
#define SIGNET_EC_H

#include <stddef.h>
#include <stdint.h>

/* Content-Formats, RFC 9148 section 8.3 and RFC 7252 12.3. */
#define EC_CT_LINK_FORMAT	40	/* application/link-format */
#define EC_CT_PKCS7_CERTS	281	/* pkcs7-mime; smime-type=certs-only */
#define EC_CT_CSRATTRS		285	/* application/csrattrs */
#define EC_CT_PKCS10		286	/* application/pkcs10 */
#define EC_CT_PKIX_CERT		287	/* application/pkix-cert (RFC 9148 8.4) */

/* Limits on what a client can make us hold. */
#define EC_MAX_PATH		255	/* Uri-Path, segments joined by '/' */
#define EC_MAX_LABEL		63	/* the optional /est/<label>/ segment */
#define EC_MAX_BODY		16384	/* a CSR, whatever the config says */
#define EC_MAX_DIAG		128	/* diagnostic payload of an error */

/* Request methods as far as EST-coaps cares. */
enum ec_method {
	EC_M_GET = 1,
	EC_M_POST,
	EC_M_OTHER		/* PUT, DELETE, FETCH, ...: 4.05 */
};

/* The engine operation a request maps to. */
enum ec_op {
	EC_OP_NONE = 0,
	EC_OP_CRTS,		/* CACERTS */
	EC_OP_SEN,		/* ISSUE */
	EC_OP_SREN,		/* REISSUE */
	EC_OP_ATT		/* CSRATTRS */
};

/* What arrived, already split out of the CoAP options by the caller. */
struct ec_in {
	int		 method;	/* enum ec_method */
	const uint8_t	*path;		/* Uri-Path segments joined by '/' */
	size_t		 pathlen;
	int		 has_ct;
	unsigned	 ct;		/* Content-Format, if has_ct */
	int		 has_accept;
	unsigned	 accept;	/* Accept, if has_accept */
	const uint8_t	*body;		/* complete body (Block1 reassembled) */
	size_t		 bodylen;
	size_t		 max_body;	/* our cap, <= EC_MAX_BODY */
};

/*
 * The result: either op != EC_OP_NONE and code 0, or an error code with a
 * static diagnostic.  csr points into the input body.
 */
struct ec_out {
	int		 op;		/* enum ec_op */
	char		 label[EC_MAX_LABEL + 1]; /* "" for the default */
	unsigned	 rsp_ct;	/* Content-Format of the answer */
	const uint8_t	*csr;		/* SEN, SREN: the PKCS#10 DER */
	size_t		 csrlen;
	int		 code;		/* 0, or 400, 404, 405, 406, 413, 415 */
	const char	*diag;		/* why, for the diagnostic payload */
};

/*
 * Map one request.  Returns 0 with out->op set, or the CoAP error code
 * (also in out->code).  Paths: est/crts, est/sen, est/sren, est/att and
 * the same as est/<label>/<op>, label [A-Za-z0-9._-]{1,EC_MAX_LABEL}.
 */
int	ec_map(const struct ec_in *, struct ec_out *);

/*
 * A body must be one DER SEQUENCE with a definite length that spans it
 * exactly (a CSR); this is a cheap shape check, the engine parses it.
 */
int	ec_der_seq_ok(const uint8_t *p, size_t len);

/*
 * Block1 admission (RFC 7959) before a byte is stored.  offset and len
 * are those of the block that arrived, size1 the client's Size1 estimate
 * (0 if absent), have what is already stored for this transfer, max our
 * cap.  Returns EC_BLK_APPEND (store it at offset == have), EC_BLK_DUP (a
 * block already stored: answer, store nothing), 413 (over the cap, judged
 * on Size1 and on offset + len, never allocated) or 408 (a gap: RFC 7959
 * 2.9.2 Request Entity Incomplete).
 */
#define EC_BLK_APPEND	0
#define EC_BLK_DUP	1
int	ec_block1_check(uint64_t offset, size_t len, uint64_t size1,
	    size_t have, size_t max);

/*
 * RFC 6690 4.1 query filter of /.well-known/core for one link: every
 * rt= and href= parameter of q (qlen bytes, '&'-separated, from the
 * network) must match the link's rt (unquoted) and href ("/est/..."),
 * a trailing '*' matching any rest; other parameters pass.  Returns 1
 * if the link is listed.
 */
int	ec_link_filter(const uint8_t *q, size_t qlen, const char *rt,
	    const char *href);

#endif /* SIGNET_EC_H */
