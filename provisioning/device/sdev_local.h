/*
 * Internal interfaces of the device client.  The parsers here are pure
 * functions over (const uint8_t *, size_t) with fuzz targets in
 * tests/fuzz/sdev_*; tests include this header directly.
 */
#ifndef SDEV_LOCAL_H
#define SDEV_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "signet/sdev.h"

/* A span of caller memory. */
struct sdev_span {
	const uint8_t	*ptr;
	size_t		 len;
};

/* CoAP (RFC 7252) message types, codes and option numbers we use. */
#define SDEV_COAP_CON		0
#define SDEV_COAP_NON		1
#define SDEV_COAP_ACK		2
#define SDEV_COAP_RST		3
#define SDEV_COAP_CODE(c, d)	((uint8_t)(((c) << 5) | (d)))
#define SDEV_COAP_GET		SDEV_COAP_CODE(0, 1)
#define SDEV_COAP_POST		SDEV_COAP_CODE(0, 2)
#define SDEV_COAP_CONTINUE	SDEV_COAP_CODE(2, 31)
#define SDEV_OPT_URI_PATH	11
#define SDEV_OPT_CFORMAT	12
#define SDEV_OPT_ACCEPT		17
#define SDEV_OPT_BLOCK2		23
#define SDEV_OPT_BLOCK1		27
#define SDEV_OPT_SIZE1		60
/* RFC 9148 content formats. */
#define SDEV_CF_PKCS7_CERTS	281
#define SDEV_CF_PKCS10		286
#define SDEV_CF_PKIX_CERT	287
#define SDEV_COAP_MAX_TOKEN	8

struct sdev_coap_opt {
	uint16_t	 num;
	uint16_t	 len;
	const uint8_t	*val;
};

struct sdev_coap_msg {
	uint8_t		 type;
	uint8_t		 code;
	uint16_t	 mid;
	uint8_t		 tkl;
	uint8_t		 token[SDEV_COAP_MAX_TOKEN];
	size_t		 nopt;
	struct sdev_coap_opt opt[SDEV_COAP_MAX_OPTS];
	const uint8_t	*payload;
	size_t		 plen;
	/* Storage for integer option values added with sdev_coap_add_uint. */
	uint8_t		 ubuf[SDEV_COAP_MAX_OPTS][4];
	size_t		 nubuf;
};

struct sdev_block {
	uint32_t	num;
	int		more;
	unsigned	szx;	/* block size is 1 << (szx + 4) */
};

/*
 * Decodes one CoAP message; m points into buf.  Strict: version 1, token
 * length <= 8, no reserved option nibbles, no empty payload after the
 * marker, an empty message is exactly four bytes.
 */
int	sdev_coap_decode(const uint8_t *buf, size_t len,
	    struct sdev_coap_msg *m);
/* Encodes m (options in ascending order) into out. */
int	sdev_coap_encode(const struct sdev_coap_msg *m, uint8_t *out,
	    size_t size, size_t *outlen);
/* Adds an option keeping the list in ascending order (stable). */
int	sdev_coap_add_opt(struct sdev_coap_msg *m, uint16_t num,
	    const void *val, size_t len);
int	sdev_coap_add_uint(struct sdev_coap_msg *m, uint16_t num, uint32_t v);
/* The first option num as an unsigned integer (at most 4 bytes). */
int	sdev_coap_get_uint(const struct sdev_coap_msg *m, uint16_t num,
	    uint32_t *v);
/* Block1/Block2 values (RFC 7959 2.2); szx 7 is refused over UDP. */
int	sdev_coap_block_parse(uint32_t v, struct sdev_block *b);
uint32_t sdev_coap_block_value(const struct sdev_block *b);

/*
 * The certificates of a certs-only PKCS#7 SignedData (RFC 7030 4.1.3),
 * strict DER.  certs[] point into der; at most max are returned.
 */
int	sdev_pkcs7_certs(const uint8_t *der, size_t len,
	    struct sdev_span *certs, size_t max, size_t *n);

/* One HTTP/1.1 response, parsed from a complete buffer. */
struct sdev_http_resp {
	int		 status;
	struct sdev_span reason;
	struct sdev_span ctype;
	struct sdev_span cte;		/* Content-Transfer-Encoding */
	struct sdev_span body;
	int		 complete;	/* the whole body is in the buffer */
};

/*
 * Parses buf as an HTTP/1.1 response.  SDEV_OK with complete 0 means more
 * bytes are needed (eof says the peer closed: then the body runs to the
 * end without Content-Length).  Chunked transfer coding is refused.
 */
int	sdev_http_parse(const uint8_t *buf, size_t len, int eof,
	    struct sdev_http_resp *r);

/* Base64 with line breaks (RFC 7030 bodies) into out. */
int	sdev_b64_decode(const uint8_t *in, size_t len, uint8_t *out,
	    size_t size, size_t *outlen);

/* The PSK of an enrollment token "<id>.<secret>" (DESIGN decision). */
#define SDEV_PSK_LEN	32	/* DTLS PSK: 32 lowercase hex characters */
int	sdev_token_psk(const char *token, char *id, size_t idsize,
	    uint8_t psk[SDEV_PSK_LEN]);

#endif /* SDEV_LOCAL_H */
