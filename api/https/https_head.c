/*
 * Request framing checks done on raw bytes, before or beside libevent's
 * HTTP parser: where a request head ends (so that an oversized head is
 * answered 431 by us, RFC 6585 5, and not reset), and whether the
 * Content-Length fields of a request agree (RFC 9112 6.3: a proxy in
 * front of us may frame the message differently than we would).
 */
#include <string.h>

#include "https.h"

enum {
	HEAD_START = 0,		/* only empty lines so far (RFC 9112 2.2) */
	HEAD_LINE,		/* inside a line */
	HEAD_LINESTART		/* just after a line's LF */
};

void
https_head_init(struct https_head *h)
{
	memset(h, 0, sizeof(*h));
	h->state = HEAD_START;
}

int
https_head_scan(struct https_head *h, const uint8_t *p, size_t n,
    size_t max, size_t *used)
{
	size_t i;

	*used = 0;
	if (h->state > HEAD_LINESTART)
		return HTTPS_E_ARG;
	for (i = 0; i < n; i++) {
		if (h->len >= max)
			return HTTPS_E_TOOLONG;
		h->len++;
		/* A CR is part of CRLF; a bare LF ends a line too. */
		if (p[i] == '\r')
			continue;
		if (p[i] != '\n') {
			h->state = HEAD_LINE;
			continue;
		}
		if (h->state == HEAD_LINESTART) {
			*used = i + 1;
			return HTTPS_OK;
		}
		if (h->state == HEAD_LINE)
			h->state = HEAD_LINESTART;
	}
	*used = n;
	return HTTPS_E_MORE;
}

/* 1*DIGIT (RFC 9110 8.6), no sign, no list, at most 18 digits. */
static int
cl_value(const char *s, uint64_t *v)
{
	size_t i, n = strlen(s);

	/* The field value may carry optional whitespace around it. */
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (n == 0 || n > 18)
		return HTTPS_E_SYNTAX;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return HTTPS_E_SYNTAX;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return HTTPS_OK;
}

int
https_content_length(const char *const *vals, size_t n, uint64_t *len)
{
	uint64_t v;
	size_t i;

	*len = 0;
	if (n == 0)
		return HTTPS_E_MISSING;
	for (i = 0; i < n; i++) {
		if (vals[i] == NULL || cl_value(vals[i], &v) != HTTPS_OK)
			return HTTPS_E_SYNTAX;
		/* Repeated fields must all say the same (RFC 9112 6.3). */
		if (i > 0 && v != *len)
			return HTTPS_E_SYNTAX;
		*len = v;
	}
	return HTTPS_OK;
}
