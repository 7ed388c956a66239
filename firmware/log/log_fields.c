/*
 * Values for a log line: log_quote for untrusted strings (a CN, a PSK
 * identity, a path from a request), log_field* for lines whose fields
 * depend on the path taken.  A quoted value never ends a line early or
 * starts a forged one: control bytes, quotes and backslashes are escaped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "signet_log.h"
#include "log_local.h"

#define LOG_QUOTE_CUT	"..."

const char *
log_quote(const char *s)
{
	static _Thread_local char slot[LOG_QUOTE_SLOTS][LOG_QUOTE_MAX];
	static _Thread_local unsigned next;
	struct log_buf b;
	char *q;

	if (s == NULL)
		return "-";
	q = slot[next++ % LOG_QUOTE_SLOTS];
	/* Kept back: the cut marker, the closing quote and the NUL. */
	b.p = q;
	b.len = 0;
	b.cap = LOG_QUOTE_MAX - (sizeof(LOG_QUOTE_CUT) - 1) - 2;
	b.cut = 0;
	log_buf_put(&b, "\"", 1);
	log_buf_esc(&b, s, 1);
	if (b.cut) {
		memcpy(q + b.len, LOG_QUOTE_CUT, sizeof(LOG_QUOTE_CUT) - 1);
		b.len += sizeof(LOG_QUOTE_CUT) - 1;
	}
	q[b.len++] = '"';
	q[b.len] = '\0';
	return q;
}

void
log_fields_init(struct log_fields *f)
{
	f->buf[0] = '\0';
	f->len = 0;
	f->cut = 0;
}

/* Appends " key=value" whole, or marks the fields cut. */
static void
log_field_add(struct log_fields *f, const char *key, const char *val)
{
	size_t cap = sizeof(f->buf) - sizeof(LOG_TRUNCATED);
	int n;

	if (f->cut)
		return;
	n = snprintf(f->buf + f->len, cap - f->len, "%s%s=%s",
	    f->len > 0 ? " " : "", key, val);
	if (n < 0 || (size_t)n >= cap - f->len) {
		memcpy(f->buf + f->len, LOG_TRUNCATED, sizeof(LOG_TRUNCATED));
		f->len += sizeof(LOG_TRUNCATED) - 1;
		f->cut = 1;
		return;
	}
	f->len += (size_t)n;
}

void
log_field(struct log_fields *f, const char *key, const char *fmt, ...)
{
	char val[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	log_field_add(f, key, val);
}

void
log_field_str(struct log_fields *f, const char *key, const char *s)
{
	log_field_add(f, key, log_quote(s));
}

const char *
log_fields(const struct log_fields *f)
{
	return f->buf;
}
