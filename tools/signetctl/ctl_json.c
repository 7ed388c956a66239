/*
 * A strict, bounded JSON (RFC 8259) reader for the appliance's answers:
 * the whole grammar (nested objects and arrays, every number form, every
 * escape), well-formed UTF-8 only, at most CTL_JSON_MAX_NODES values and
 * CTL_JSON_MAX_DEPTH levels, so a hostile answer costs bounded memory and
 * stack.  Nodes are laid out in document order (see ctl.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct jr {
	const uint8_t	*in;
	size_t		 len;
	size_t		 off;
	struct ctl_json	*j;
	size_t		 cap;	/* nodes allocated */
	size_t		 aused;	/* arena bytes used */
};

static void
ws(struct jr *p)
{
	while (p->off < p->len && (p->in[p->off] == ' ' ||
	    p->in[p->off] == '\t' || p->in[p->off] == '\n' ||
	    p->in[p->off] == '\r'))
		p->off++;
}

static int
peek(struct jr *p)
{
	ws(p);
	return p->off < p->len ? p->in[p->off] : -1;
}

/* A new node at the end; *idx is its index. */
static int
node(struct jr *p, uint8_t type, size_t *idx)
{
	struct ctl_jnode *grown;
	size_t ncap;

	if (p->j->count == CTL_JSON_MAX_NODES)
		return CTL_E_TOOBIG;
	if (p->j->count == p->cap) {
		ncap = p->cap ? p->cap * 2 : 64;
		if (ncap > CTL_JSON_MAX_NODES)
			ncap = CTL_JSON_MAX_NODES;
		if ((grown = reallocarray(p->j->n, ncap, sizeof(*grown))) ==
		    NULL)
			return CTL_E_NOMEM;
		p->j->n = grown;
		p->cap = ncap;
	}
	*idx = p->j->count++;
	memset(&p->j->n[*idx], 0, sizeof(p->j->n[*idx]));
	p->j->n[*idx].type = type;
	return CTL_OK;
}

/* The arena holds at most len bytes: a decoded string never outgrows its
 * quoted form (see ctl_json_parse). */
static void
put(struct jr *p, uint8_t c)
{
	p->j->arena[p->aused++] = (char)c;
}

static int
hex4(struct jr *p, uint32_t *v)
{
	size_t i;
	uint8_t c;

	*v = 0;
	if (p->len - p->off < 4)
		return CTL_E_SYNTAX;
	for (i = 0; i < 4; i++) {
		c = p->in[p->off++];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v |= (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return CTL_E_SYNTAX;
	}
	return CTL_OK;
}

static void
utf8_out(struct jr *p, uint32_t cp)
{
	if (cp < 0x80)
		put(p, (uint8_t)cp);
	else if (cp < 0x800) {
		put(p, (uint8_t)(0xc0 | (cp >> 6)));
		put(p, (uint8_t)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		put(p, (uint8_t)(0xe0 | (cp >> 12)));
		put(p, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
		put(p, (uint8_t)(0x80 | (cp & 0x3f)));
	} else {
		put(p, (uint8_t)(0xf0 | (cp >> 18)));
		put(p, (uint8_t)(0x80 | ((cp >> 12) & 0x3f)));
		put(p, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
		put(p, (uint8_t)(0x80 | (cp & 0x3f)));
	}
}

/* "\uXXXX", a surrogate pair for code points above U+FFFF. */
static int
unicode(struct jr *p)
{
	uint32_t cp, lo;
	int rc;

	if ((rc = hex4(p, &cp)) != CTL_OK)
		return rc;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return CTL_E_SYNTAX;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p->len - p->off < 2 || p->in[p->off] != '\\' ||
		    p->in[p->off + 1] != 'u')
			return CTL_E_SYNTAX;
		p->off += 2;
		if ((rc = hex4(p, &lo)) != CTL_OK)
			return rc;
		if (lo < 0xdc00 || lo > 0xdfff)
			return CTL_E_SYNTAX;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	/* Strings become C strings: an embedded NUL would cut them. */
	if (cp == 0)
		return CTL_E_SYNTAX;
	utf8_out(p, cp);
	return CTL_OK;
}

static int
escape(struct jr *p)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint8_t c;

	if (p->off >= p->len)
		return CTL_E_SYNTAX;
	c = p->in[p->off++];
	if (c == 'u')
		return unicode(p);
	if (c == '\0' || (e = strchr(from, c)) == NULL)
		return CTL_E_SYNTAX;
	put(p, (uint8_t)to[e - from]);
	return CTL_OK;
}

/* One well-formed UTF-8 sequence (RFC 3629: no overlongs, surrogates). */
static int
utf8_in(struct jr *p)
{
	const uint8_t *s = p->in + p->off;
	size_t avail = p->len - p->off, n, i;
	uint32_t cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return CTL_E_SYNTAX;
	if (avail < n)
		return CTL_E_SYNTAX;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return CTL_E_SYNTAX;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return CTL_E_SYNTAX;
	for (i = 0; i < n; i++)
		put(p, s[i]);
	p->off += n;
	return CTL_OK;
}

static int
string(struct jr *p, size_t idx)
{
	size_t start = p->aused;
	uint8_t c;
	int rc;

	p->off++;	/* the opening quote */
	for (;;) {
		if (p->off >= p->len)
			return CTL_E_SYNTAX;
		c = p->in[p->off];
		if (c == '"')
			break;
		if (c < 0x20)
			return CTL_E_SYNTAX;
		if (c == '\\') {
			p->off++;
			rc = escape(p);
		} else if (c >= 0x80)
			rc = utf8_in(p);
		else {
			p->off++;
			put(p, c);
			rc = CTL_OK;
		}
		if (rc != CTL_OK)
			return rc;
	}
	p->off++;
	put(p, '\0');
	/* The arena does not move: its size is fixed before parsing. */
	p->j->n[idx].str = p->j->arena + start;
	p->j->n[idx].slen = p->aused - start - 1;
	return CTL_OK;
}

static int
digits(struct jr *p)
{
	size_t start = p->off;

	while (p->off < p->len && p->in[p->off] >= '0' &&
	    p->in[p->off] <= '9')
		p->off++;
	return p->off > start ? CTL_OK : CTL_E_SYNTAX;
}

/* RFC 8259 6: -? int frac? exp?; kept as written, and as int64 if it is
 * an integer that fits. */
static int
number(struct jr *p, size_t idx)
{
	struct ctl_jnode *n = &p->j->n[idx];
	size_t start = p->off, i, len;
	char buf[24], *end;
	long long v;

	if (p->in[p->off] == '-')
		p->off++;
	if (p->off < p->len && p->in[p->off] == '0')
		p->off++;
	else if (digits(p) != CTL_OK)
		return CTL_E_SYNTAX;
	n->integral = 1;
	if (p->off < p->len && p->in[p->off] == '.') {
		p->off++;
		if (digits(p) != CTL_OK)
			return CTL_E_SYNTAX;
		n->integral = 0;
	}
	if (p->off < p->len && (p->in[p->off] | 0x20) == 'e') {
		p->off++;
		if (p->off < p->len && (p->in[p->off] == '+' ||
		    p->in[p->off] == '-'))
			p->off++;
		if (digits(p) != CTL_OK)
			return CTL_E_SYNTAX;
		n->integral = 0;
	}
	len = p->off - start;
	for (i = 0; i < len; i++)
		put(p, p->in[start + i]);
	put(p, '\0');
	n->str = p->j->arena + p->aused - len - 1;
	n->slen = len;
	if (n->integral) {
		n->integral = 0;
		if (len < sizeof(buf)) {
			memcpy(buf, p->in + start, len);
			buf[len] = '\0';
			errno = 0;
			v = strtoll(buf, &end, 10);
			if (errno == 0 && *end == '\0') {
				n->num = v;
				n->integral = 1;
			}
		}
	}
	return CTL_OK;
}

static int
word(struct jr *p, const char *w)
{
	size_t n = strlen(w);

	if (p->len - p->off < n || memcmp(p->in + p->off, w, n) != 0)
		return CTL_E_SYNTAX;
	p->off += n;
	return CTL_OK;
}

static int value(struct jr *, int);

/* '[' value (',' value)* ']' or the object form with name ':' value. */
static int
container(struct jr *p, size_t idx, int depth, int obj)
{
	size_t name;
	int rc, close = obj ? '}' : ']';

	if (depth >= CTL_JSON_MAX_DEPTH)
		return CTL_E_TOOBIG;
	p->off++;
	if (peek(p) == close) {
		p->off++;
		return CTL_OK;
	}
	for (;;) {
		if (obj) {
			if (peek(p) != '"')
				return CTL_E_SYNTAX;
			if ((rc = node(p, CTL_J_STRING, &name)) != CTL_OK ||
			    (rc = string(p, name)) != CTL_OK)
				return rc;
			p->j->n[name].next = (uint32_t)p->j->count;
			if (peek(p) != ':')
				return CTL_E_SYNTAX;
			p->off++;
		}
		if ((rc = value(p, depth + 1)) != CTL_OK)
			return rc;
		p->j->n[idx].count++;
		if (peek(p) == close) {
			p->off++;
			return CTL_OK;
		}
		if (peek(p) != ',')
			return CTL_E_SYNTAX;
		p->off++;
	}
}

static int
value(struct jr *p, int depth)
{
	size_t idx;
	int c = peek(p), rc;

	if (c == -1)
		return CTL_E_SYNTAX;
	switch (c) {
	case '{':
	case '[':
		if ((rc = node(p, c == '{' ? CTL_J_OBJECT : CTL_J_ARRAY,
		    &idx)) != CTL_OK ||
		    (rc = container(p, idx, depth, c == '{')) != CTL_OK)
			return rc;
		break;
	case '"':
		if ((rc = node(p, CTL_J_STRING, &idx)) != CTL_OK ||
		    (rc = string(p, idx)) != CTL_OK)
			return rc;
		break;
	case 't':
	case 'f':
		if ((rc = node(p, CTL_J_BOOL, &idx)) != CTL_OK ||
		    (rc = word(p, c == 't' ? "true" : "false")) != CTL_OK)
			return rc;
		p->j->n[idx].boolean = c == 't';
		break;
	case 'n':
		if ((rc = node(p, CTL_J_NULL, &idx)) != CTL_OK ||
		    (rc = word(p, "null")) != CTL_OK)
			return rc;
		break;
	default:
		if (c != '-' && (c < '0' || c > '9'))
			return CTL_E_SYNTAX;
		if ((rc = node(p, CTL_J_NUMBER, &idx)) != CTL_OK ||
		    (rc = number(p, idx)) != CTL_OK)
			return rc;
		break;
	}
	p->j->n[idx].next = (uint32_t)p->j->count;
	return CTL_OK;
}

int
ctl_json_parse(const uint8_t *in, size_t len, struct ctl_json *j)
{
	struct jr p = { in, len, 0, j, 0, 0 };
	int rc;

	memset(j, 0, sizeof(*j));
	if (len > CTL_MAX_JSON)
		return CTL_E_TOOBIG;
	/*
	 * Every decoded string, with its NUL, is no longer than its quoted
	 * form; a number is copied with a NUL in place of the separator or
	 * end that follows it (hence + 1).
	 */
	if ((j->arena = malloc(len + 1)) == NULL)
		return CTL_E_NOMEM;
	if ((rc = value(&p, 0)) != CTL_OK)
		goto out;
	ws(&p);
	if (p.off != p.len)
		rc = CTL_E_SYNTAX;
out:
	if (rc != CTL_OK)
		ctl_json_free(j);
	return rc;
}

void
ctl_json_free(struct ctl_json *j)
{
	free(j->n);
	free(j->arena);
	memset(j, 0, sizeof(*j));
}

long
ctl_json_get(const struct ctl_json *j, long obj, const char *name)
{
	size_t i, end;

	if (obj < 0 || (size_t)obj >= j->count ||
	    j->n[obj].type != CTL_J_OBJECT)
		return -1;
	end = j->n[obj].next;
	for (i = (size_t)obj + 1; i < end; i = j->n[i + 1].next) {
		if (strcmp(j->n[i].str, name) == 0)
			return (long)i + 1;
	}
	return -1;
}

const char *
ctl_json_gets(const struct ctl_json *j, long obj, const char *name)
{
	long i = ctl_json_get(j, obj, name);

	return i >= 0 && j->n[i].type == CTL_J_STRING ? j->n[i].str : NULL;
}

long
ctl_json_first(const struct ctl_json *j, long arr)
{
	if (arr < 0 || (size_t)arr >= j->count ||
	    j->n[arr].type != CTL_J_ARRAY || j->n[arr].count == 0)
		return -1;
	return arr + 1;
}

long
ctl_json_next(const struct ctl_json *j, long arr, long i)
{
	if (i < 0 || j->n[i].next >= j->n[arr].next)
		return -1;
	return (long)j->n[i].next;
}
