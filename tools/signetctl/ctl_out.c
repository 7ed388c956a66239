/*
 * Output for people (aligned tables, "name: value" lines) and for
 * scripts (JSON string literals).  Text that came from the network is
 * made safe for a terminal before it is printed: a subject name must not
 * be able to move the cursor or retitle the window.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define CTL_MAX_CELL 512

struct ctl_table {
	size_t	  ncols;
	size_t	  nrows;
	size_t	  cap;
	char	**cells;	/* (nrows + 1) * ncols, heads first */
	size_t	 *width;
};

void
ctl_safe(char *buf, size_t size, const char *s)
{
	size_t n = 0;
	unsigned char c;

	if (size == 0)
		return;
	for (; s != NULL && *s != '\0' && n + 1 < size; s++) {
		c = (unsigned char)*s;
		/* C0, DEL, and the C1 controls as UTF-8 (U+0080..U+009F). */
		if (c < 0x20 || c == 0x7f)
			c = '?';
		else if (c == 0xc2 && (unsigned char)s[1] >= 0x80 &&
		    (unsigned char)s[1] <= 0x9f) {
			s++;
			c = '?';
		}
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static int
table_put(struct ctl_table *t, size_t row, const char *const *cells)
{
	char buf[CTL_MAX_CELL];
	size_t i, w;

	for (i = 0; i < t->ncols; i++) {
		ctl_safe(buf, sizeof(buf), cells[i] != NULL ? cells[i] : "-");
		if ((t->cells[row * t->ncols + i] = strdup(buf)) == NULL)
			return CTL_E_NOMEM;
		if ((w = width(buf)) > t->width[i])
			t->width[i] = w;
	}
	return CTL_OK;
}

struct ctl_table *
ctl_table_new(size_t ncols, const char *const *heads)
{
	struct ctl_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ncols = ncols;
	t->cap = 16;
	if ((t->cells = calloc(t->cap * ncols, sizeof(char *))) == NULL ||
	    (t->width = calloc(ncols, sizeof(size_t))) == NULL ||
	    table_put(t, 0, heads) != CTL_OK) {
		ctl_table_free(t);
		return NULL;
	}
	return t;
}

int
ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	char **grown;

	if (t->nrows + 2 > t->cap) {
		if ((grown = reallocarray(t->cells, t->cap * 2 * t->ncols,
		    sizeof(char *))) == NULL)
			return CTL_E_NOMEM;
		memset(grown + t->cap * t->ncols, 0,
		    t->cap * t->ncols * sizeof(char *));
		t->cells = grown;
		t->cap *= 2;
	}
	t->nrows++;
	return table_put(t, t->nrows, cells);
}

void
ctl_table_print(const struct ctl_table *t, FILE *f)
{
	const char *c;
	size_t r, i, pad;

	for (r = 0; r <= t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			c = t->cells[r * t->ncols + i];
			fputs(c, f);
			if (i + 1 == t->ncols)
				break;
			for (pad = width(c); pad < t->width[i] + 2; pad++)
				fputc(' ', f);
		}
		fputc('\n', f);
	}
}

void
ctl_table_free(struct ctl_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->cells != NULL)
		for (i = 0; i < t->cap * t->ncols; i++)
			free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}

void
ctl_kv_print(FILE *f, const char *const *names, const char *const *values,
    size_t n)
{
	char buf[CTL_MAX_CELL];
	size_t i, w = 0;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) > w)
			w = strlen(names[i]);
	for (i = 0; i < n; i++) {
		ctl_safe(buf, sizeof(buf), values[i] != NULL ? values[i] :
		    "-");
		fprintf(f, "%s:%*s %s\n", names[i],
		    (int)(w - strlen(names[i])), "", buf);
	}
}

void
ctl_json_write_str(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)(s != NULL ? s : ""); *p != '\0';
	    p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}
