/*
 * signetctl: the operator's command-line client of the appliance's /v1
 * API (mutual TLS), its CRL and OCSP publication (plain HTTP), and, off
 * line, of a ledger file and a configuration file.
 *
 * The pure parts (HTTP response parser, JSON reader, the settings file,
 * argument helpers, output) are in the signet_ctl library, over bytes
 * and without sockets, so that unit tests and fuzz targets link exactly
 * what the binary runs.  Every parser of bytes from the network has a
 * limit below (CTL_MAX_*) and a fuzz target under tests/fuzz/.
 *
 * Exit codes (STYLE.md 20, as signet-audit and signet-ceremony):
 * 0 ok; 1 refused, not found, not healthy, revoked or failed
 * verification; 2 an error (bad flag, unreachable server, malformed
 * answer, unreadable file).
 */
#ifndef SIGNET_CTL_H
#define SIGNET_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_EXIT_OK	0
#define CTL_EXIT_NO	1	/* refused, not found, revoked, unhealthy */
#define CTL_EXIT_ERR	2	/* usage, network, malformed answer */

#define CTL_MAX_HEAD	(16 * 1024)	    /* status line and headers */
#define CTL_MAX_BODY	(16 * 1024 * 1024)  /* a CRL of ~300k entries */
#define CTL_MAX_RESPONSE (CTL_MAX_HEAD + CTL_MAX_BODY)
#define CTL_MAX_JSON	CTL_MAX_BODY
#define CTL_JSON_MAX_NODES (256 * 1024)	    /* values and member names */
#define CTL_JSON_MAX_DEPTH 32
#define CTL_MAX_URL	2048
#define CTL_MAX_CONF	(64 * 1024)	    /* bytes of a settings file */
#define CTL_MAX_VALUE	1024		    /* bytes of one setting */
#define CTL_DEFAULT_TIMEOUT 30		    /* seconds for a whole request */
#define CTL_MAX_TIMEOUT	3600

enum ctl_rc {
	CTL_OK = 0,
	CTL_E_SYNTAX = -1,	/* malformed */
	CTL_E_TOOBIG = -2,	/* over a CTL_MAX_* limit */
	CTL_E_MORE = -3,	/* incomplete: read more */
	CTL_E_NOMEM = -4,
	CTL_E_ARG = -5,
};

const char *ctl_strerror(int rc);

/*
 * HTTP/1.1 responses (RFC 9112).  ctl_http_parse reads one whole
 * response from buf (what was read so far; eof when the peer closed) and
 * returns CTL_E_MORE while it is incomplete.  A body is framed by one
 * Content-Length, by chunked transfer coding (decoded into out, which
 * must hold len bytes), or by the end of the connection.  Pointers in
 * *r point into buf or out.
 */
struct ctl_http_resp {
	int		 status;	/* 100..599 */
	const uint8_t	*ctype;		/* Content-Type value, or NULL */
	size_t		 ctype_len;
	const uint8_t	*body;
	size_t		 body_len;
	unsigned	 retry_after;	/* seconds, 0 if absent */
};

int	ctl_http_parse(const uint8_t *buf, size_t len, int eof, uint8_t *out,
	    struct ctl_http_resp *r);

/*
 * A bounded, strict JSON (RFC 8259) reader.  ctl_json_parse validates the
 * whole text and lays it out as nodes in document order: a container's
 * children follow it, node[i].next is the index just past i's subtree,
 * and an object's children alternate name, value.  Strings are decoded
 * into an arena (NUL-terminated; a string holding U+0000 is refused).
 * ctl_json_free frees what parse allocated; ownership stays with j.
 */
enum ctl_jtype {
	CTL_J_NULL = 0, CTL_J_BOOL, CTL_J_NUMBER, CTL_J_STRING, CTL_J_ARRAY,
	CTL_J_OBJECT
};

struct ctl_jnode {
	uint8_t		 type;	/* enum ctl_jtype */
	uint8_t		 boolean;
	uint8_t		 integral; /* a number that fits int64 exactly */
	uint32_t	 next;	/* index past this node's subtree */
	uint32_t	 count;	/* members (pairs) or items */
	int64_t		 num;	/* when integral */
	const char	*str;	/* strings; numbers as written */
	size_t		 slen;
};

struct ctl_json {
	struct ctl_jnode *n;
	size_t		 count;
	char		*arena;
};

int	ctl_json_parse(const uint8_t *in, size_t len, struct ctl_json *j);
void	ctl_json_free(struct ctl_json *j);
/* Member name of object node obj; -1 when absent or obj no object. */
long	ctl_json_get(const struct ctl_json *j, long obj, const char *name);
/* The string of a member, or NULL when absent or not a string. */
const char *ctl_json_gets(const struct ctl_json *j, long obj,
	    const char *name);
/* Items of array node arr: first is arr + 1, then node[i].next. */
long	ctl_json_first(const struct ctl_json *j, long arr);
long	ctl_json_next(const struct ctl_json *j, long arr, long i);

/*
 * Settings: a small file of "name = value" lines ('#' starts a comment,
 * values may be double-quoted).  ctl_conf_parse calls set() for each
 * line; a line that is not a setting is CTL_E_SYNTAX with *line set.
 */
int	ctl_conf_parse(const uint8_t *in, size_t len,
	    int (*set)(void *arg, const char *name, const char *value),
	    void *arg, size_t *line);

/* URLs: http:// or https://, a host name, IPv4 or [IPv6], a port. */
struct ctl_url {
	int	 tls;
	char	 host[256];
	char	 port[8];
	char	 path[CTL_MAX_URL];	/* "/" when none */
};

int	ctl_url_parse(const char *s, struct ctl_url *u);
/* Appends s percent-encoded (RFC 3986 unreserved kept) to buf. */
int	ctl_pct_encode(char *buf, size_t size, const char *s);

/* Durations as signetd.conf writes them: "90", "30s", "15m", "25h", "7d". */
int64_t	ctl_duration(const char *s);
/*
 * Retrying a 503 or 429 (tidy): the seconds to wait before retry number
 * attempt (1, 2, ...): the answer's Retry-After when it gave one, else
 * 1, 2, 4, ... seconds; always 1..CTL_RETRY_MAX_WAIT.
 */
#define CTL_RETRY_MAX_WAIT	60
#define CTL_RETRY_DEFAULT	8	/* retries in a row, by default */
#define CTL_RETRY_MAX		100	/* --retries, at most */
unsigned	ctl_retry_wait(unsigned retry_after, unsigned attempt);
/* A serial in hex (an optional "0x" and ':' separators are dropped). */
int	ctl_serial_norm(const char *in, char *out, size_t size);

/*
 * Human tables: columns sized to their widest cell, two spaces apart.
 * Cells are copied and made safe for a terminal (control bytes become
 * '?'), since names in certificates come from requesters.
 */
struct ctl_table;

struct ctl_table *ctl_table_new(size_t ncols, const char *const *heads);
int	ctl_table_add(struct ctl_table *t, const char *const *cells);
void	ctl_table_print(const struct ctl_table *t, FILE *f);
void	ctl_table_free(struct ctl_table *t);
/* One "name: value" line per field, names aligned. */
void	ctl_kv_print(FILE *f, const char *const *names,
	    const char *const *values, size_t n);
/* Copies s into buf with control bytes replaced, for a terminal. */
void	ctl_safe(char *buf, size_t size, const char *s);
/* A JSON string literal of s on f (quotes and escapes). */
void	ctl_json_write_str(FILE *f, const char *s);

#endif
