/*
 * A strict JSON (RFC 8259) reader sized for ACME.  The whole document is
 * read into one allocation: a node array (every value takes at least one
 * input byte, so min(len, ACME_MAX_NODES) nodes are enough) and a string
 * arena of len + 1 bytes (a decoded string is never longer than its
 * quoted form, whose closing quote pays for the NUL; a number literal
 * keeps its text, and the one extra byte pays for a top-level number's
 * NUL).  No JSON library is a dependency of Signet (docs/decisions.md).
 */
#include <stdlib.h>
#include <string.h>

#include "acme.h"

struct acme_json {
	struct acme_jnode	*nodes;
	size_t			 nnodes;
	size_t			 maxnodes;
	char			*arena;
	size_t			 aused;
	size_t			 asize;
	const struct acme_jnode	*root;
};

struct jr {
	const uint8_t		*in;
	size_t			 len;
	size_t			 off;
	struct acme_json	*j;
};

static int	jr_value(struct jr *, int, struct acme_jnode **);

static void
jr_ws(struct jr *p)
{
	while (p->off < p->len && (p->in[p->off] == ' ' ||
	    p->in[p->off] == '\t' || p->in[p->off] == '\n' ||
	    p->in[p->off] == '\r'))
		p->off++;
}

static int
jr_peek(struct jr *p)
{
	jr_ws(p);
	return p->off < p->len ? p->in[p->off] : -1;
}

static int
jr_node(struct jr *p, enum acme_jtype t, struct acme_jnode **out)
{
	struct acme_jnode *n;

	if (p->j->nnodes >= p->j->maxnodes)
		return ACME_E_LIMIT;
	n = &p->j->nodes[p->j->nnodes++];
	memset(n, 0, sizeof(*n));
	n->type = t;
	*out = n;
	return ACME_OK;
}

static int
jr_put(struct jr *p, uint8_t c)
{
	/* Unreachable by the sizing argument above; kept as a guard. */
	if (p->j->aused >= p->j->asize)
		return ACME_E_LIMIT;
	p->j->arena[p->j->aused++] = (char)c;
	return ACME_OK;
}

static int
jr_hex4(struct jr *p, uint32_t *v)
{
	size_t i;
	uint8_t c;

	*v = 0;
	if (p->len - p->off < 4)
		return ACME_E_SYNTAX;
	for (i = 0; i < 4; i++) {
		c = p->in[p->off++];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v |= (c | 0x20) - 'a' + 10;
		else
			return ACME_E_SYNTAX;
	}
	return ACME_OK;
}

static int
jr_utf8_out(struct jr *p, uint32_t cp)
{
	uint8_t b[4];
	size_t n, i;
	int rc;

	if (cp < 0x80) {
		b[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | (cp >> 6);
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | (cp >> 12);
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | (cp >> 18);
		b[1] = 0x80 | ((cp >> 12) & 0x3f);
		b[2] = 0x80 | ((cp >> 6) & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	for (i = 0; i < n; i++)
		if ((rc = jr_put(p, b[i])) != ACME_OK)
			return rc;
	return ACME_OK;
}

/* "\uXXXX": a pair for code points above U+FFFF, never a lone half. */
static int
jr_unicode(struct jr *p)
{
	uint32_t cp, lo;
	int rc;

	if ((rc = jr_hex4(p, &cp)) != ACME_OK)
		return rc;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return ACME_E_UTF8;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p->len - p->off < 2 || p->in[p->off] != '\\' ||
		    p->in[p->off + 1] != 'u')
			return ACME_E_UTF8;
		p->off += 2;
		if ((rc = jr_hex4(p, &lo)) != ACME_OK)
			return rc;
		if (lo < 0xdc00 || lo > 0xdfff)
			return ACME_E_UTF8;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	/* Strings are C strings: an embedded NUL would cut them short. */
	if (cp == 0)
		return ACME_E_VALUE;
	return jr_utf8_out(p, cp);
}

static int
jr_escape(struct jr *p)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint8_t c;

	if (p->off >= p->len)
		return ACME_E_SYNTAX;
	c = p->in[p->off++];
	if (c == 'u')
		return jr_unicode(p);
	if (c == '\0' || (e = strchr(from, c)) == NULL)
		return ACME_E_SYNTAX;
	return jr_put(p, (uint8_t)to[e - from]);
}

/* One well-formed UTF-8 sequence (RFC 3629 4), copied to the arena. */
static int
jr_utf8_in(struct jr *p)
{
	const uint8_t *s = p->in + p->off;
	size_t avail = p->len - p->off, n, i;
	uint32_t cp, min;
	int rc;

	if (s[0] < 0x80)
		return ACME_E_UTF8;	/* caller handles ASCII */
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return ACME_E_UTF8;
	if (avail < n)
		return ACME_E_UTF8;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return ACME_E_UTF8;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return ACME_E_UTF8;
	for (i = 0; i < n; i++)
		if ((rc = jr_put(p, s[i])) != ACME_OK)
			return rc;
	p->off += n;
	return ACME_OK;
}

/* A string at p->off (the opening quote), decoded into the arena. */
static int
jr_string(struct jr *p, const char **out, size_t *outlen)
{
	size_t start;
	uint8_t c;
	int rc;

	if (p->off >= p->len || p->in[p->off] != '"')
		return ACME_E_SYNTAX;
	p->off++;
	start = p->j->aused;
	for (;;) {
		if (p->off >= p->len)
			return ACME_E_SYNTAX;
		c = p->in[p->off];
		if (c == '"') {
			p->off++;
			break;
		}
		if (c < 0x20)
			return ACME_E_SYNTAX;	/* RFC 8259 7: escape these */
		if (c == '\\') {
			p->off++;
			rc = jr_escape(p);
		} else if (c >= 0x80)
			rc = jr_utf8_in(p);
		else {
			p->off++;
			rc = jr_put(p, c);
		}
		if (rc != ACME_OK)
			return rc;
	}
	*out = p->j->arena + start;
	*outlen = p->j->aused - start;
	return jr_put(p, '\0');
}

static size_t
jr_digits(struct jr *p)
{
	size_t n = 0;

	while (p->off < p->len && p->in[p->off] >= '0' &&
	    p->in[p->off] <= '9') {
		p->off++;
		n++;
	}
	return n;
}

/* RFC 8259 6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
jr_number(struct jr *p, struct acme_jnode *n)
{
	size_t start = p->off, i;
	int rc;

	if (p->off < p->len && p->in[p->off] == '-')
		p->off++;
	if (p->off < p->len && p->in[p->off] == '0')
		p->off++;
	else if (jr_digits(p) == 0)
		return ACME_E_SYNTAX;
	if (p->off < p->len && p->in[p->off] == '.') {
		p->off++;
		if (jr_digits(p) == 0)
			return ACME_E_SYNTAX;
	}
	if (p->off < p->len && (p->in[p->off] | 0x20) == 'e') {
		p->off++;
		if (p->off < p->len && (p->in[p->off] == '+' ||
		    p->in[p->off] == '-'))
			p->off++;
		if (jr_digits(p) == 0)
			return ACME_E_SYNTAX;
	}
	n->str = p->j->arena + p->j->aused;
	n->len = p->off - start;
	for (i = start; i < p->off; i++)
		if ((rc = jr_put(p, p->in[i])) != ACME_OK)
			return rc;
	return jr_put(p, '\0');
}

static int
jr_literal(struct jr *p, const char *word, enum acme_jtype t,
    struct acme_jnode **out)
{
	size_t n = strlen(word);

	if (p->len - p->off < n || memcmp(p->in + p->off, word, n) != 0)
		return ACME_E_SYNTAX;
	p->off += n;
	return jr_node(p, t, out);
}

/* Appends `c` to `parent`'s children; `last` tracks the tail. */
static void
jr_link(struct acme_jnode *parent, struct acme_jnode **last,
    struct acme_jnode *c)
{
	if (*last == NULL)
		parent->child = c;
	else
		(*last)->next = c;
	*last = c;
	parent->n++;
}

static int
jr_array(struct jr *p, int depth, struct acme_jnode *a)
{
	struct acme_jnode *c, *last = NULL;
	int rc;

	p->off++;
	if (jr_peek(p) == ']') {
		p->off++;
		return ACME_OK;
	}
	for (;;) {
		if (a->n >= ACME_MAX_ITEMS)
			return ACME_E_LIMIT;
		if ((rc = jr_value(p, depth + 1, &c)) != ACME_OK)
			return rc;
		jr_link(a, &last, c);
		switch (jr_peek(p)) {
		case ',':
			p->off++;
			continue;
		case ']':
			p->off++;
			return ACME_OK;
		default:
			return ACME_E_SYNTAX;
		}
	}
}

static int
jr_member(struct jr *p, int depth, struct acme_jnode *o,
    struct acme_jnode **last)
{
	const struct acme_jnode *s;
	struct acme_jnode *c;
	const char *name;
	size_t namelen;
	int rc;

	if (o->n >= ACME_MAX_MEMBERS)
		return ACME_E_LIMIT;
	if (jr_peek(p) != '"')
		return ACME_E_SYNTAX;
	if ((rc = jr_string(p, &name, &namelen)) != ACME_OK)
		return rc;
	/* RFC 8259 4 leaves duplicates to the reader; RFC 7515 5.2 refuses. */
	for (s = o->child; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return ACME_E_DUP;
	if (jr_peek(p) != ':')
		return ACME_E_SYNTAX;
	p->off++;
	if ((rc = jr_value(p, depth + 1, &c)) != ACME_OK)
		return rc;
	c->name = name;
	jr_link(o, last, c);
	return ACME_OK;
}

static int
jr_object(struct jr *p, int depth, struct acme_jnode *o)
{
	struct acme_jnode *last = NULL;
	int rc;

	p->off++;
	if (jr_peek(p) == '}') {
		p->off++;
		return ACME_OK;
	}
	for (;;) {
		if ((rc = jr_member(p, depth, o, &last)) != ACME_OK)
			return rc;
		switch (jr_peek(p)) {
		case ',':
			p->off++;
			continue;
		case '}':
			p->off++;
			return ACME_OK;
		default:
			return ACME_E_SYNTAX;
		}
	}
}

static int
jr_value(struct jr *p, int depth, struct acme_jnode **out)
{
	struct acme_jnode *n;
	int c, rc;

	switch ((c = jr_peek(p))) {
	case '{':
	case '[':
		/* Depth counts containers: [[1]] is two deep. */
		if (depth > ACME_MAX_DEPTH)
			return ACME_E_LIMIT;
		if ((rc = jr_node(p, c == '{' ? ACME_J_OBJ : ACME_J_ARR,
		    &n)) != ACME_OK)
			return rc;
		rc = c == '{' ? jr_object(p, depth, n) : jr_array(p, depth, n);
		break;
	case '"':
		if ((rc = jr_node(p, ACME_J_STR, &n)) != ACME_OK)
			return rc;
		rc = jr_string(p, &n->str, &n->len);
		break;
	case 't':
		return jr_literal(p, "true", ACME_J_TRUE, out);
	case 'f':
		return jr_literal(p, "false", ACME_J_FALSE, out);
	case 'n':
		return jr_literal(p, "null", ACME_J_NULL, out);
	default:
		if (c != '-' && (c < '0' || c > '9'))
			return ACME_E_SYNTAX;
		if ((rc = jr_node(p, ACME_J_NUM, &n)) != ACME_OK)
			return rc;
		rc = jr_number(p, n);
		break;
	}
	if (rc == ACME_OK)
		*out = n;
	return rc;
}

int
acme_json_parse(const uint8_t *in, size_t len, struct acme_json **out)
{
	struct acme_json *j = NULL;
	struct acme_jnode *root;
	struct jr p;
	size_t maxnodes;
	int rc;

	*out = NULL;
	if (len == 0)
		return ACME_E_SYNTAX;
	if (len > ACME_MAX_BODY)
		return ACME_E_LIMIT;
	maxnodes = len < ACME_MAX_NODES ? len : ACME_MAX_NODES;
	if ((j = calloc(1, sizeof(*j) + maxnodes * sizeof(j->nodes[0]) +
	    len + 1)) == NULL)
		return ACME_E_MEM;
	j->nodes = (struct acme_jnode *)(j + 1);
	j->maxnodes = maxnodes;
	j->arena = (char *)(j->nodes + maxnodes);
	j->asize = len + 1;
	p.in = in;
	p.len = len;
	p.off = 0;
	p.j = j;
	if ((rc = jr_value(&p, 1, &root)) != ACME_OK)
		goto out;
	jr_ws(&p);
	if (p.off != len) {
		rc = ACME_E_SYNTAX;	/* trailing bytes */
		goto out;
	}
	j->root = root;
	*out = j;
	j = NULL;
 out:
	free(j);
	return rc;
}

void
acme_json_free(struct acme_json *j)
{
	free(j);
}

const struct acme_jnode *
acme_json_root(const struct acme_json *j)
{
	return j->root;
}

const struct acme_jnode *
acme_json_get(const struct acme_jnode *obj, const char *name)
{
	const struct acme_jnode *c;

	if (obj == NULL || obj->type != ACME_J_OBJ)
		return NULL;
	for (c = obj->child; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int
acme_json_str(const struct acme_jnode *obj, const char *name,
    const char **s, size_t *len)
{
	const struct acme_jnode *n;

	if ((n = acme_json_get(obj, name)) == NULL)
		return ACME_E_MISSING;
	if (n->type != ACME_J_STR)
		return ACME_E_TYPE;
	*s = n->str;
	if (len != NULL)
		*len = n->len;
	return ACME_OK;
}

int
acme_json_bool(const struct acme_jnode *obj, const char *name, int *v)
{
	const struct acme_jnode *n;

	if ((n = acme_json_get(obj, name)) == NULL)
		return ACME_E_MISSING;
	if (n->type != ACME_J_TRUE && n->type != ACME_J_FALSE)
		return ACME_E_TYPE;
	*v = n->type == ACME_J_TRUE;
	return ACME_OK;
}

/* A non-negative integer literal without fraction or exponent. */
int
acme_json_u64(const struct acme_jnode *obj, const char *name, uint64_t *v)
{
	const struct acme_jnode *n;
	uint64_t x = 0;
	size_t i;

	if ((n = acme_json_get(obj, name)) == NULL)
		return ACME_E_MISSING;
	if (n->type != ACME_J_NUM)
		return ACME_E_TYPE;
	for (i = 0; i < n->len; i++) {
		if (n->str[i] < '0' || n->str[i] > '9')
			return ACME_E_VALUE;
		if (x > (UINT64_MAX - (n->str[i] - '0')) / 10)
			return ACME_E_VALUE;
		x = x * 10 + (n->str[i] - '0');
	}
	*v = x;
	return ACME_OK;
}
