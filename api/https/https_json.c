/*
 * A strict JSON (RFC 8259) parser for /v1 request bodies.  It accepts only
 * what those bodies need (one flat object, see https.h) and refuses
 * everything else, so the grammar we accept stays small enough to read.
 */
#include <string.h>

#include "https.h"

struct jp {
	const uint8_t	*in;
	size_t		 len;
	size_t		 off;
	char		*arena;
	size_t		 asize;
	size_t		 aused;
};

static void
jp_ws(struct jp *p)
{
	while (p->off < p->len && (p->in[p->off] == ' ' ||
	    p->in[p->off] == '\t' || p->in[p->off] == '\n' ||
	    p->in[p->off] == '\r'))
		p->off++;
}

static int
jp_peek(struct jp *p)
{
	jp_ws(p);
	return p->off < p->len ? p->in[p->off] : -1;
}

static int
jp_expect(struct jp *p, uint8_t c)
{
	if (jp_peek(p) != c)
		return HTTPS_E_SYNTAX;
	p->off++;
	return HTTPS_OK;
}

static int
jp_put(struct jp *p, uint8_t c)
{
	if (p->aused >= p->asize)
		return HTTPS_E_SPACE;
	p->arena[p->aused++] = (char)c;
	return HTTPS_OK;
}

static int
jp_hex4(struct jp *p, uint32_t *v)
{
	size_t i;
	uint8_t c;

	*v = 0;
	if (p->len - p->off < 4)
		return HTTPS_E_SYNTAX;
	for (i = 0; i < 4; i++) {
		c = p->in[p->off++];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v |= (c | 0x20) - 'a' + 10;
		else
			return HTTPS_E_SYNTAX;
	}
	return HTTPS_OK;
}

static int
jp_utf8_out(struct jp *p, uint32_t cp)
{
	int rc;

	if (cp < 0x80)
		return jp_put(p, (uint8_t)cp);
	if (cp < 0x800) {
		if ((rc = jp_put(p, 0xc0 | (cp >> 6))) != HTTPS_OK)
			return rc;
	} else if (cp < 0x10000) {
		if ((rc = jp_put(p, 0xe0 | (cp >> 12))) != HTTPS_OK ||
		    (rc = jp_put(p, 0x80 | ((cp >> 6) & 0x3f))) != HTTPS_OK)
			return rc;
	} else {
		if ((rc = jp_put(p, 0xf0 | (cp >> 18))) != HTTPS_OK ||
		    (rc = jp_put(p, 0x80 | ((cp >> 12) & 0x3f))) != HTTPS_OK ||
		    (rc = jp_put(p, 0x80 | ((cp >> 6) & 0x3f))) != HTTPS_OK)
			return rc;
	}
	return jp_put(p, 0x80 | (cp & 0x3f));
}

/* "\uXXXX", with a surrogate pair for code points above U+FFFF. */
static int
jp_unicode(struct jp *p)
{
	uint32_t cp, lo;
	int rc;

	if ((rc = jp_hex4(p, &cp)) != HTTPS_OK)
		return rc;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return HTTPS_E_SYNTAX;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p->len - p->off < 2 || p->in[p->off] != '\\' ||
		    p->in[p->off + 1] != 'u')
			return HTTPS_E_SYNTAX;
		p->off += 2;
		if ((rc = jp_hex4(p, &lo)) != HTTPS_OK)
			return rc;
		if (lo < 0xdc00 || lo > 0xdfff)
			return HTTPS_E_SYNTAX;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	/* Strings become C strings: an embedded NUL would cut them. */
	if (cp == 0)
		return HTTPS_E_SYNTAX;
	return jp_utf8_out(p, cp);
}

static int
jp_escape(struct jp *p)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint8_t c;

	if (p->off >= p->len)
		return HTTPS_E_SYNTAX;
	c = p->in[p->off++];
	if (c == 'u')
		return jp_unicode(p);
	if (c == '\0' || (e = strchr(from, c)) == NULL)
		return HTTPS_E_SYNTAX;
	return jp_put(p, (uint8_t)to[e - from]);
}

/* One well-formed UTF-8 sequence (RFC 3629: no overlongs, surrogates). */
static int
jp_utf8_in(struct jp *p)
{
	const uint8_t *s = p->in + p->off;
	size_t avail = p->len - p->off, n, i;
	uint32_t cp;
	int rc;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return HTTPS_E_SYNTAX;
	if (avail < n)
		return HTTPS_E_SYNTAX;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return HTTPS_E_SYNTAX;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return HTTPS_E_SYNTAX;
	for (i = 0; i < n; i++)
		if ((rc = jp_put(p, s[i])) != HTTPS_OK)
			return rc;
	p->off += n;
	return HTTPS_OK;
}

static int
jp_string(struct jp *p, const char **out, size_t *outlen)
{
	size_t start;
	uint8_t c;
	int rc;

	if ((rc = jp_expect(p, '"')) != HTTPS_OK)
		return rc;
	start = p->aused;
	for (;;) {
		if (p->off >= p->len)
			return HTTPS_E_SYNTAX;
		c = p->in[p->off];
		if (c == '"')
			break;
		if (c < 0x20)
			return HTTPS_E_SYNTAX;
		if (c == '\\') {
			p->off++;
			rc = jp_escape(p);
		} else if (c >= 0x80)
			rc = jp_utf8_in(p);
		else {
			p->off++;
			rc = jp_put(p, c);
		}
		if (rc != HTTPS_OK)
			return rc;
	}
	p->off++;
	if ((rc = jp_put(p, '\0')) != HTTPS_OK)
		return rc;
	*out = p->arena + start;
	*outlen = p->aused - start - 1;
	return HTTPS_OK;
}

/* A non-negative integer without leading zeros, fraction or exponent. */
static int
jp_number(struct jp *p, uint64_t *v)
{
	uint64_t n = 0;
	size_t start = p->off;
	uint8_t c;

	while (p->off < p->len && (c = p->in[p->off]) >= '0' && c <= '9') {
		if (n > (UINT64_MAX - (c - '0')) / 10)
			return HTTPS_E_TOOLONG;
		n = n * 10 + (c - '0');
		p->off++;
	}
	if (p->off == start || (p->in[start] == '0' && p->off - start > 1))
		return HTTPS_E_SYNTAX;
	if (p->off < p->len && (p->in[p->off] == '.' ||
	    (p->in[p->off] | 0x20) == 'e'))
		return HTTPS_E_SYNTAX;
	*v = n;
	return HTTPS_OK;
}

static int
jp_word(struct jp *p, const char *w)
{
	size_t n = strlen(w);

	if (p->len - p->off < n || memcmp(p->in + p->off, w, n) != 0)
		return HTTPS_E_SYNTAX;
	p->off += n;
	return HTTPS_OK;
}

static int
jp_array(struct jp *p, struct https_jmember *m)
{
	size_t slen;
	int rc;

	p->off++;
	m->type = HTTPS_J_ARRAY;
	if (jp_peek(p) == ']') {
		p->off++;
		return HTTPS_OK;
	}
	for (;;) {
		if (m->nitems == HTTPS_JSON_MAX_ITEMS)
			return HTTPS_E_TOOLONG;
		if (jp_peek(p) != '"')
			return HTTPS_E_TYPE;
		if ((rc = jp_string(p, &m->items[m->nitems], &slen)) !=
		    HTTPS_OK)
			return rc;
		m->nitems++;
		if (jp_peek(p) == ']') {
			p->off++;
			return HTTPS_OK;
		}
		if ((rc = jp_expect(p, ',')) != HTTPS_OK)
			return rc;
	}
}

static int
jp_value(struct jp *p, struct https_jmember *m)
{
	int c = jp_peek(p);

	switch (c) {
	case '"':
		m->type = HTTPS_J_STRING;
		return jp_string(p, &m->str, &m->slen);
	case '[':
		return jp_array(p, m);
	case 't':
		m->type = HTTPS_J_BOOL;
		m->boolean = 1;
		return jp_word(p, "true");
	case 'f':
		m->type = HTTPS_J_BOOL;
		return jp_word(p, "false");
	case 'n':
		m->type = HTTPS_J_NULL;
		return jp_word(p, "null");
	case '{':
		return HTTPS_E_TYPE;
	default:
		m->type = HTTPS_J_NUMBER;
		return jp_number(p, &m->num);
	}
}

static int
jp_member(struct jp *p, struct https_json *j)
{
	struct https_jmember *m;
	size_t nlen, i;
	int rc;

	if (j->n == HTTPS_JSON_MAX_MEMBERS)
		return HTTPS_E_TOOLONG;
	m = &j->m[j->n];
	if ((rc = jp_string(p, &m->name, &nlen)) != HTTPS_OK)
		return rc;
	for (i = 0; i < j->n; i++)
		if (strcmp(j->m[i].name, m->name) == 0)
			return HTTPS_E_SYNTAX;
	if ((rc = jp_expect(p, ':')) != HTTPS_OK ||
	    (rc = jp_value(p, m)) != HTTPS_OK)
		return rc;
	j->n++;
	return HTTPS_OK;
}

int
https_json_parse(const uint8_t *in, size_t len, char *arena,
    size_t arenasize, struct https_json *j)
{
	struct jp p = { in, len, 0, arena, arenasize, 0 };
	int rc;

	memset(j, 0, sizeof(*j));
	if (len > HTTPS_MAX_JSON)
		return HTTPS_E_TOOLONG;
	if ((rc = jp_expect(&p, '{')) != HTTPS_OK)
		goto out;
	if (jp_peek(&p) == '}')
		p.off++;
	else {
		for (;;) {
			if ((rc = jp_member(&p, j)) != HTTPS_OK)
				goto out;
			if (jp_peek(&p) == '}') {
				p.off++;
				break;
			}
			if ((rc = jp_expect(&p, ',')) != HTTPS_OK)
				goto out;
		}
	}
	jp_ws(&p);
	rc = p.off == p.len ? HTTPS_OK : HTTPS_E_SYNTAX;
out:
	if (rc != HTTPS_OK)
		memset(j, 0, sizeof(*j));
	return rc;
}

const struct https_jmember *
https_json_get(const struct https_json *j, const char *name)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		if (strcmp(j->m[i].name, name) == 0)
			return &j->m[i];
	return NULL;
}

int
https_json_str(const struct https_json *j, const char *name, const char **s)
{
	const struct https_jmember *m;

	*s = NULL;
	if ((m = https_json_get(j, name)) == NULL)
		return HTTPS_E_MISSING;
	if (m->type != HTTPS_J_STRING)
		return HTTPS_E_TYPE;
	*s = m->str;
	return HTTPS_OK;
}

int
https_json_u64(const struct https_json *j, const char *name, uint64_t *v)
{
	const struct https_jmember *m;

	*v = 0;
	if ((m = https_json_get(j, name)) == NULL)
		return HTTPS_E_MISSING;
	if (m->type != HTTPS_J_NUMBER)
		return HTTPS_E_TYPE;
	*v = m->num;
	return HTTPS_OK;
}
